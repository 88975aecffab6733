// SPDX-License-Identifier: MIT
#include "apply.h"
#include "cells.h"
#include "policy.h"
#include "wgprog.h"

int ctl_sync_maps(struct controller *c)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	if (ret)
		return ret;
	ret = dp_sync(&c->dp, &pol);
	policy_free(&pol);
	return ret;
}

int ctl_route_cells(struct controller *c)
{
	return cells_route(c->cfg.wireguard.interface, &c->state);
}

int ctl_apply_cells(struct controller *c)
{
	int ret = ctl_sync_maps(c);

	if (!ret)
		ret = ctl_wg_sync(c, false);
	if (!ret)
		ret = ctl_route_cells(c);
	return ret;
}
