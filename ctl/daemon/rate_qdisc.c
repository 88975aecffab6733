// SPDX-License-Identifier: MIT
/*
 * The fq qdisc on wg0 for download rate limits (issue 18), checked every
 * second by heal.c: put there while a peer's effective download limit
 * (its own or a group's) is set, again after wg0 is re-created; removed
 * when no limit remains and at a clean stop, only if it is still ours
 * (ctl/wg/wg_qdisc.c checks its kind and handle). On a kernel without
 * sch_fq the download degrades to a policer (the 2 s horizon of
 * bpf/lib/rate.h): the log and GET /api/status say so.
 */
#include <errno.h>
#include <string.h>

#include "heal.h"
#include "log.h"
#include "rate_qdisc.h"
#include "wg_iface.h"

/* Does some peer have a download limit, its own or a group's? O(peers
 * + groups' settings): a field each, then a count from the group
 * index. */
static bool download_limited(const struct cg_state *st)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		if (st->peers[i].down_mbit)
			return true;
	for (i = 0; i < st->n_groups; i++)
		if (st->groups[i].down_mbit &&
		    state_group_size(st, st->groups[i].name))
			return true;
	return false;
}

static void log_change(const char *wg, int ret)
{
	if (ret == 1)
		log_info("%s: fq qdisc added for download rate limits", wg);
	else if (ret == -EEXIST)
		log_warn(
			"%s has a root qdisc cellgate did not create: download "
			"rate limits are not shaped (they need fq)",
			wg);
	else if (ret == -ENOENT)
		/* "Specified qdisc kind is unknown": CONFIG_NET_SCH_FQ off. */
		log_warn(
			"%s: this kernel has no fq qdisc: download rate limits "
			"are policed (a 2 s bucket), not shaped",
			wg);
	else if (ret < 0)
		log_warn("%s: cannot add the fq qdisc: %s", wg, strerror(-ret));
}

/* No limit left: our fq goes (once; a qdisc that is not ours stays). */
static void remove_ours(struct controller *c)
{
	const char *wg = c->cfg.wireguard.interface;
	int ret;

	if (c->heal.fq_state == FQ_NOT_NEEDED)
		return;
	ret = net_remove_fq(wg);
	if (ret == 1)
		log_info("%s: fq qdisc removed: no download rate limit left",
			 wg);
	else if (ret < 0)
		log_warn("%s: cannot remove our fq qdisc: %s", wg,
			 strerror(-ret));
	if (ret >= 0)
		c->heal.fq_state = FQ_NOT_NEEDED;
}

void ctl_rate_qdisc_check(struct controller *c)
{
	const char *wg = c->cfg.wireguard.interface;
	struct ctl_heal *h = &c->heal;
	bool wanted;
	int ret;

	pthread_mutex_lock(&c->lock);
	wanted = download_limited(&c->state);
	pthread_mutex_unlock(&c->lock);
	if (!wanted) {
		remove_ours(c);
		return;
	}
	ret = net_ensure_fq(wg);
	if (ret == h->fq_state || (ret == 0 && h->fq_state == 1))
		return;
	h->fq_state = ret;
	log_change(wg, ret);
}

void ctl_rate_qdisc_stop(struct controller *c)
{
	int ret = net_remove_fq(c->cfg.wireguard.interface);

	if (ret == 1)
		log_info("%s: fq qdisc removed at stop",
			 c->cfg.wireguard.interface);
	else if (ret < 0)
		log_warn("%s: cannot remove our fq qdisc at stop: %s",
			 c->cfg.wireguard.interface, strerror(-ret));
}

json_object *ctl_rate_qdisc_json(const struct controller *c)
{
	json_object *o = json_object_new_object();
	int s = c->heal.fq_state;
	const char *fq = s == FQ_NOT_NEEDED ? "none" :
			 s == 0 || s == 1   ? "installed" :
			 s == -ENOENT	    ? "missing" :
			 s == -EEXIST	    ? "foreign" :
					      "error";
	const char *down = s == FQ_NOT_NEEDED ? "unlimited" :
			   s == 0 || s == 1   ? "shaped" :
						"policed";

	json_object_object_add(o, "fq", json_object_new_string(fq));
	json_object_object_add(o, "download", json_object_new_string(down));
	return o;
}
