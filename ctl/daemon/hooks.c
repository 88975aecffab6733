// SPDX-License-Identifier: MIT
/*
 * cellgate's programs on their interfaces (wg0's tc hooks, the uplink's tc
 * egress and XDP) and the settings they read (cg_settings): at start, and
 * again when an interface comes back (heal.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_exits.h"
#include "hooks.h"
#include "log.h"

int ctl_qdisc_marker(const struct cg_config *cfg, const char *ifname,
		     char *path, size_t len)
{
	return path_fmt(path, len, "%s/clsact-created-%s", cfg->state_dir,
			ifname);
}

/* Remember that ifname's clsact qdisc is ours, so `cellgate detach` may
 * remove it (and only then). */
static int mark_qdisc_ours(struct controller *c, const char *ifname)
{
	char path[PATH_MAX];
	int ret = ctl_qdisc_marker(&c->cfg, ifname, path, sizeof(path));

	if (!ret)
		ret = write_file_atomic(path, "1\n", 2, 0600);
	if (ret)
		log_err("cannot write %s: %s", path, strerror(-ret));
	return ret;
}

/* The addresses translations use. The uplink's is read from the
 * interface, now and when it changes (DHCP). */
void ctl_settings_now(const struct controller *c, struct cg_settings *set)
{
	struct in_addr up = { 0 };
	uint8_t prefix;

	memset(set, 0, sizeof(*set));
	memcpy(set->wg_addr, &c->cfg.wireguard.address.s_addr, 4);
	if (c->cfg.uplink.interface[0] &&
	    net_get_ipv4(c->cfg.uplink.interface, &up, &prefix))
		up.s_addr = 0;
	memcpy(set->uplink_addr, &up.s_addr, 4);
	set->nat_port_min = c->cfg.nat.port_min;
	set->nat_port_max = c->cfg.nat.port_max;
	set->masquerade = c->cfg.nat.masquerade;
	set->wg_port = c->cfg.wireguard.listen_port;
}

int ctl_apply_settings(struct controller *c, const struct cg_settings *set)
{
	struct in_addr up;
	int ret;

	if (!memcmp(set, &c->settings, sizeof(*set)))
		return 0;
	ret = dp_write_settings(&c->dp, set);
	if (ret) {
		log_err("cannot write the NAT settings: %s", strerror(-ret));
		return ret;
	}
	if (memcmp(set->uplink_addr, c->settings.uplink_addr, 4)) {
		char ip[16];

		memcpy(&up.s_addr, set->uplink_addr, 4);
		log_info("uplink %s address: %s", c->cfg.uplink.interface,
			 up.s_addr ? ipv4_str(up, ip) :
				     "none (no masquerade "
				     "or forwards)");
	}
	c->settings = *set;
	return 0;
}

void ctl_settings6_now(const struct controller *c, struct cg_settings6 *set)
{
	const struct cg_config *cfg = &c->cfg;
	struct in6_addr up;
	uint8_t prefix;

	memset(set, 0, sizeof(*set));
	if (!cfg->wireguard.has_address6)
		return;
	memcpy(set->wg_addr, &cfg->wireguard.address6, 16);
	if (cfg->uplink.interface[0] &&
	    !net_get_ipv6(cfg->uplink.interface, &up, &prefix))
		memcpy(set->uplink_addr, &up, 16);
	if (cfg->uplink.has_prefix6) {
		memcpy(set->prefix, &cfg->uplink.prefix6.addr, 16);
		set->prefix_len = cfg->uplink.prefix6.prefix;
	}
}

int ctl_apply_settings6(struct controller *c, const struct cg_settings6 *set)
{
	char ip[CG_IP6_STRLEN];
	struct in6_addr up;
	int ret;

	/* c->settings6 starts zero: an IPv4-only cell writes it once. */
	if (c->settings6_written && !memcmp(set, &c->settings6, sizeof(*set)))
		return 0;
	ret = dp_write_settings6(&c->dp, set);
	if (ret) {
		log_err("cannot write the IPv6 settings: %s", strerror(-ret));
		return ret;
	}
	if (c->cfg.wireguard.has_address6 &&
	    memcmp(set->uplink_addr, c->settings6.uplink_addr, 16)) {
		memcpy(&up, set->uplink_addr, 16);
		log_info("uplink %s IPv6 address: %s", c->cfg.uplink.interface,
			 ipv6_is_zero(&up) ? "none (no NAT66)" :
					     ipv6_str(&up, ip));
	}
	c->settings6 = *set;
	c->settings6_written = true;
	return 0;
}

int ctl_refresh_settings(struct controller *c)
{
	struct cg_settings set;
	struct cg_settings6 set6;
	int ret;

	ctl_settings_now(c, &set);
	ctl_settings6_now(c, &set6);
	ret = ctl_apply_settings(c, &set);
	return ret ? ret : ctl_apply_settings6(c, &set6);
}

static int attach_tc(struct controller *c, const char *ifname, int in_fd,
		     int eg_fd)
{
	bool created;
	int ret = tc_attach(ifname, in_fd, eg_fd, &created);

	if (!ret && created)
		ret = mark_qdisc_ours(c, ifname);
	return ret;
}

int ctl_attach_wg(struct controller *c)
{
	return attach_tc(c, c->cfg.wireguard.interface,
			 dp_prog_fd_wg_ingress(&c->dp),
			 dp_prog_fd_wg_egress(&c->dp));
}

int ctl_attach_uplink(struct controller *c)
{
	const char *up = c->cfg.uplink.interface;
	int ret;

	if (!up[0])
		return 0;
	if (!if_nametoindex(up)) {
		log_warn("uplink %s does not exist: no masquerade and no port "
			 "forwards until it does",
			 up);
		return 0;
	}
	ret = attach_tc(c, up, -1, dp_prog_fd_uplink_egress(&c->dp));
	/* libxdp keeps its dispatcher's state on a bpffs; ours is one (and
	 * /sys/fs/bpf may not be mounted, e.g. under `ip netns exec`). */
	setenv("LIBXDP_BPFFS", c->cfg.bpffs, 0);
	if (!ret)
		ret = xdp_attach(up, dp_prog_fd_uplink_xdp(&c->dp),
				 DP_PROG_UPLINK_XDP, &c->xdp);
	return ret;
}

/* No marker for a port's clsact: container veths come and go by the
 * thousand under names of their own, and a marker each would pile up
 * in state_dir. detach leaves the (empty) qdisc on a port. */
int ctl_attach_port(struct controller *c, const char *ifname)
{
	bool created;

	return tc_attach(ifname, dp_prog_fd_bridge_port(&c->dp), -1, &created);
}

/* Exits' ingress programs (issue 20): a failure is the heal's to retry,
 * and no reason to stop; the kill switch does not depend on them. */
void ctl_attach_exits(struct controller *c)
{
	int ret = dp_exits_reattach(&c->dp);

	if (ret < 0)
		log_warn("exits: cannot attach every exit's ingress program: "
			 "%s (retried)",
			 strerror(-ret));
}

int ctl_attach_programs(struct controller *c)
{
	int ret = ctl_attach_wg(c);

	if (!ret)
		ret = ctl_attach_uplink(c);
	if (!ret)
		ctl_attach_exits(c);
	return ret;
}
