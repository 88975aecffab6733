// SPDX-License-Identifier: MIT
/*
 * Our program on every port of the service bridge (bpf/bridge_port.bpf.c,
 * which says why per port). Ports are found by rtnetlink (links whose
 * master is the bridge) at start, on link events (heal.c marks a link
 * enslaved to the bridge as ours) and every second. A port that appears
 * runs unfiltered until the next check: 200 ms after its link event, at
 * most a second if the event was lost. Addresses its host sends from in
 * that window are not bound to it, so they cannot take another port's.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "controller.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "ports.h"

static bool has_port(const struct dp_ports *p, int ifindex)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->ifindex[i] == ifindex)
			return true;
	return false;
}

/* Our program on one port, unless another one holds our hook and the
 * config says to leave it. Returns whether ours is there now. */
static bool guard_port(struct controller *c, int ifindex, uint32_t ours)
{
	struct ctl_ports *p = &c->ports;
	char name[IF_NAMESIZE];
	uint32_t found = 0;
	int ret;

	if (!if_indextoname((unsigned int)ifindex, name) ||
	    tc_prog_id(name, true, &found))
		return false; /* gone meanwhile */
	if (found == ours)
		return true;
	if (found && c->cfg.dataplane.leave_foreign) {
		if (!p->foreign_warned)
			log_warn("bridge port %s: another program (%u) holds "
				 "cellgate's hook; left alone as configured: "
				 "its host's sources are NOT checked",
				 name, found);
		p->foreign_warned = true;
		return false;
	}
	pthread_mutex_lock(&c->lock);
	ret = ctl_attach_port(c, name);
	pthread_mutex_unlock(&c->lock);
	if (ret) {
		p->failed++;
		return false;
	}
	p->attached++;
	if (found)
		log_warn("bridge port %s: another program (%u) replaced ours; "
			 "put back",
			 name, found);
	else
		log_info("bridge port %s: anti-spoofing attached", name);
	return true;
}

/* Anti-spoofing turned off: a filter a previous run left on a port
 * would drop everything (the maps are empty now), so it goes. */
static void unguard_all(struct controller *c)
{
	struct dp_ports now;
	char name[IF_NAMESIZE];
	uint32_t found;
	size_t i;

	if (link_ports(c->cfg.bridge.interface, now.ifindex, DP_MAX_PORTS,
		       &now.n))
		return;
	for (i = 0; i < now.n; i++) {
		if (!if_indextoname((unsigned int)now.ifindex[i], name) ||
		    tc_prog_id(name, true, &found) || !found)
			continue;
		tc_detach(name, false);
		log_info("bridge port %s: anti-spoofing off (config); "
			 "cellgate's filter removed",
			 name);
	}
}

void ctl_ports_check(struct controller *c)
{
	struct ctl_ports *p = &c->ports;
	struct dp_ports now;
	uint32_t ours, guarded = 0;
	bool gone = !p->have_seen;
	size_t i;
	int n;

	if (!c->cfg.bridge.interface[0])
		return;
	if (!c->cfg.bridge.anti_spoofing) {
		if (!p->have_seen)
			unguard_all(c);
		p->have_seen = true;
		return;
	}
	if (link_ports(c->cfg.bridge.interface, now.ifindex, DP_MAX_PORTS,
		       &now.n))
		return; /* no bridge: heal.c says so */
	ours = prog_id_of_fd(dp_prog_fd_bridge_port(&c->dp));
	for (i = 0; i < now.n; i++)
		guarded += guard_port(c, now.ifindex[i], ours);
	p->guarded = guarded;
	for (i = 0; !gone && i < p->seen.n; i++)
		gone = !has_port(&now, p->seen.ifindex[i]);
	p->seen = now;
	p->have_seen = true;
	if (!gone)
		return;
	pthread_mutex_lock(&c->lock);
	n = dp_bridge_unbind_gone(&c->dp, &now);
	pthread_mutex_unlock(&c->lock);
	if (n > 0) {
		p->unbound += (uint64_t)n;
		log_info("bridge: %d address binding(s) forgotten with their "
			 "port",
			 n);
	}
}

void ctl_ports_metrics(const struct controller *c, struct metrics *m)
{
	const struct ctl_ports *p = &c->ports;

	metrics_family(m, "cellgate_bridge_ports_guarded", "gauge",
		       "Ports of the service bridge with cellgate's "
		       "anti-spoofing program, at the last check.");
	metrics_u64(m, p->guarded, NULL);
	metrics_family(m, "cellgate_bridge_port_attaches_total", "counter",
		       "Anti-spoofing program attached to a bridge port (a "
		       "new port, or ours put back).");
	metrics_u64(m, p->attached, NULL);
	metrics_family(m, "cellgate_bridge_port_attach_failures_total",
		       "counter",
		       "Attaches to a bridge port that failed (retried every "
		       "second).");
	metrics_u64(m, p->failed, NULL);
	metrics_family(m, "cellgate_bridge_unbound_total", "counter",
		       "Address bindings forgotten because their bridge port "
		       "went.");
	metrics_u64(m, p->unbound, NULL);
}
