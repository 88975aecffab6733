// SPDX-License-Identifier: MIT
/*
 * Healing what vanishes under a running controller. An operator's `ip link
 * del wg0`, a killed wireguard-go (its tun device goes with it), a
 * container's veth re-created, or another tool's filter put on our tc
 * handle would otherwise leave the cell open or dark until a restart.
 *
 * An rtnetlink socket subscribed to link events says at the next tick
 * (200 ms) that one of our interfaces changed; a check every second covers
 * events the kernel dropped (ENOBUFS) and hooks, which send no events.
 * Checks run without the lock (interface indexes, tc and XDP queries);
 * repairs take it: re-create the device and re-program every peer, the
 * routes and wg0's programs; re-attach the uplink's programs and re-read
 * its address.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apply.h"
#include "heal.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "ports.h"
#include "wg_iface.h"
#include "wgprog.h"

/* A check this often even without an event: hooks send none, and the
 * kernel drops events when our socket's buffer is full. */
#define HEAL_CHECK_INTERVAL_NS (1000ull * 1000000ull)
/* Receive buffer for link events: a burst of a few hundred links. */
#define HEAL_RCVBUF (256 * 1024)
/* Reads per tick: bounded, the rest waits for the next tick. */
#define HEAL_MAX_READS 64

static const char *const heal_names[HEAL__MAX] = {
	[HEAL_WIREGUARD] = "wireguard",
	[HEAL_UPLINK] = "uplink",
	[HEAL_BRIDGE] = "bridge",
	[HEAL_PROGRAM] = "program",
};

static int open_link_events(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int rcvbuf = HEAL_RCVBUF;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int ifindex_of(const char *ifname)
{
	return ifname[0] ? (int)if_nametoindex(ifname) : 0;
}

void ctl_heal_start(struct controller *c)
{
	struct ctl_heal *h = &c->heal;
	int fd = open_link_events();

	h->wg_ifindex = ifindex_of(c->cfg.wireguard.interface);
	h->up_ifindex = ifindex_of(c->cfg.uplink.interface);
	h->br_ifindex = ifindex_of(c->cfg.bridge.interface);
	h->leave_foreign = c->cfg.dataplane.leave_foreign;
	h->nl_fd = fd;
	if (fd < 0)
		log_warn("no link events (%s): interfaces are checked once a "
			 "second only",
			 strerror(-fd));
}

void ctl_heal_stop(struct controller *c)
{
	if (c->heal.nl_fd >= 0)
		close(c->heal.nl_fd);
	c->heal.nl_fd = -1;
}

/* Whether a link message names one of our interfaces. */
static bool about_ours(const struct controller *c, struct nlmsghdr *nh)
{
	const struct ctl_heal *h = &c->heal;
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)IFLA_PAYLOAD(nh);
	struct rtattr *rta;

	if (ifi->ifi_index == h->wg_ifindex ||
	    ifi->ifi_index == h->up_ifindex || ifi->ifi_index == h->br_ifindex)
		return true;
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		const char *name = RTA_DATA(rta);

		/* A port of the bridge (ports.c guards each). */
		if (rta->rta_type == IFLA_MASTER && h->br_ifindex &&
		    *(const int *)RTA_DATA(rta) == h->br_ifindex)
			return true;
		if (rta->rta_type != IFLA_IFNAME)
			continue;
		if (!strcmp(name, c->cfg.wireguard.interface) ||
		    !strcmp(name, c->cfg.uplink.interface) ||
		    !strcmp(name, c->cfg.bridge.interface))
			return true;
	}
	return false;
}

/* Read what the kernel said about links; mark dirty when it was ours (or
 * when events were lost). */
static void drain_events(struct controller *c)
{
	struct ctl_heal *h = &c->heal;
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int reads;

	for (reads = 0; h->nl_fd >= 0 && reads < HEAL_MAX_READS; reads++) {
		ssize_t n = recv(h->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *nh;

		if (n < 0 && errno == ENOBUFS) {
			h->dirty = true; /* lost some: look at everything */
			continue;
		}
		if (n <= 0)
			return;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if ((nh->nlmsg_type != RTM_NEWLINK &&
			     nh->nlmsg_type != RTM_DELLINK) ||
			    nh->nlmsg_len <
				    NLMSG_LENGTH(sizeof(struct ifinfomsg)))
				continue;
			if (about_ours(c, nh)) {
				h->events++;
				h->dirty = true;
			}
		}
	}
}

/* Count a repair's outcome; log a failure once per outage. */
static void outcome(struct controller *c, enum heal_what what, int ret,
		    bool *failing)
{
	if (!ret) {
		c->heal.repaired[what]++;
		*failing = false;
		return;
	}
	c->heal.failed[what]++;
	if (!*failing)
		log_err("heal %s: repair failed (%s); retrying every second",
			heal_names[what], strerror(-ret));
	*failing = true;
}

/* The device, its peers, wg0's programs, the routes to cells. */
static int rebuild_wireguard(struct controller *c)
{
	uint64_t t0 = monotonic_ns();
	int ret = ctl_wg_setup(c);

	if (!ret)
		ret = ctl_attach_wg(c);
	if (!ret)
		ret = ctl_wg_sync(c, false);
	if (!ret)
		ret = ctl_route_cells(c);
	if (!ret)
		log_info("wireguard %s: back (device, %zu peers, programs, "
			 "routes) in %.1f ms",
			 c->cfg.wireguard.interface, c->state.n_peers,
			 (double)(monotonic_ns() - t0) / 1e6);
	return ret;
}

static void check_wireguard(struct controller *c)
{
	static bool failing;
	struct ctl_heal *h = &c->heal;
	const char *wg = c->cfg.wireguard.interface;
	int idx = ifindex_of(wg);
	int ret;

	if (idx && idx == h->wg_ifindex)
		return;
	if (!failing)
		log_warn("wireguard %s: %s; re-creating it and re-programming "
			 "its peers",
			 wg,
			 idx ? "re-created by someone else" :
			       "device gone (deleted, or its wireguard-go "
			       "exited)");
	pthread_mutex_lock(&c->lock);
	ret = rebuild_wireguard(c);
	pthread_mutex_unlock(&c->lock);
	if (!ret)
		h->wg_ifindex = ifindex_of(wg);
	outcome(c, HEAL_WIREGUARD, ret, &failing);
}

static void check_uplink(struct controller *c)
{
	static bool failing;
	struct ctl_heal *h = &c->heal;
	const char *up = c->cfg.uplink.interface;
	int idx = ifindex_of(up);
	int ret;

	if (!up[0] || idx == h->up_ifindex)
		return;
	if (!idx) {
		log_warn("uplink %s: gone; masquerade and port forwards stop "
			 "until it is back",
			 up);
		h->up_ifindex = 0;
		return;
	}
	log_info("uplink %s: back (ifindex %d); attaching the programs", up,
		 idx);
	pthread_mutex_lock(&c->lock);
	ret = ctl_attach_uplink(c);
	if (!ret)
		ret = ctl_refresh_settings(c);
	pthread_mutex_unlock(&c->lock);
	if (!ret)
		h->up_ifindex = idx;
	outcome(c, HEAL_UPLINK, ret, &failing);
}

/* The bridge device itself holds no program of ours: its coming back is
 * logged and counted (its addresses and routes are the operator's); its
 * ports get the anti-spoofing program from ctl_ports_check. */
static void check_bridge(struct controller *c)
{
	struct ctl_heal *h = &c->heal;
	const char *br = c->cfg.bridge.interface;
	int idx = ifindex_of(br);

	if (!br[0] || idx == h->br_ifindex)
		return;
	if (!idx)
		log_warn("bridge %s: gone; services are unreachable until it "
			 "is back",
			 br);
	else {
		log_info("bridge %s: back (ifindex %d)", br, idx);
		h->repaired[HEAL_BRIDGE]++;
	}
	h->br_ifindex = idx;
}

/* A hook and what is on it. */
struct hook {
	const char *what; /* "wg0 ingress" for the log */
	uint32_t found; /* program on it, 0: none */
	bool ours;
};

/* The tc hook ifname/dir: whether our program (our_fd) is on it. */
static void look_tc(struct hook *k, const char *ifname, bool ingress,
		    int our_fd)
{
	if (tc_prog_id(ifname, ingress, &k->found))
		k->ours = true; /* no interface: check_* deal with it */
	else
		k->ours = k->found == prog_id_of_fd(our_fd);
}

/* Put our programs back on hooks that lost them (removed, or replaced by
 * another program: then it stays when the config says so). XDP through
 * libxdp never displaces another program (attach.c). */
static void check_hooks(struct controller *c)
{
	static bool failing;
	struct ctl_heal *h = &c->heal;
	const char *wg = c->cfg.wireguard.interface;
	const char *up = c->cfg.uplink.interface;
	struct hook k[3] = { { .what = "wg ingress", .ours = true },
			     { .what = "wg egress", .ours = true },
			     { .what = "uplink egress", .ours = true } };
	struct xdp_state xs = { .attached = true };
	bool foreign = false, wg_ok, up_ok;
	int i, ret = 0;

	look_tc(&k[0], wg, true, dp_prog_fd_wg_ingress(&c->dp));
	look_tc(&k[1], wg, false, dp_prog_fd_wg_egress(&c->dp));
	if (up[0] && h->up_ifindex) {
		look_tc(&k[2], up, false, dp_prog_fd_uplink_egress(&c->dp));
		if (xdp_query(up, DP_PROG_UPLINK_XDP, &xs))
			xs.attached = true; /* cannot tell: leave it */
	}
	for (i = 0; i < 3; i++)
		foreign |= !k[i].ours && k[i].found;
	wg_ok = k[0].ours && k[1].ours;
	up_ok = k[2].ours && xs.attached;
	if (wg_ok && up_ok) {
		h->foreign_warned = false;
		return;
	}
	if (foreign && !h->foreign_warned)
		h->foreign_seen++;
	if (foreign && h->leave_foreign) {
		if (!h->foreign_warned)
			log_warn("another program holds one of cellgate's "
				 "hooks (wg ingress %u, egress %u, uplink "
				 "egress %u); left alone as configured "
				 "(dataplane.foreign_programs): the cell's "
				 "policy is NOT enforced there",
				 k[0].found, k[1].found, k[2].found);
		h->foreign_warned = true;
		return;
	}
	for (i = 0; i < 3; i++)
		if (!k[i].ours)
			log_warn("%s: %s; putting ours back", k[i].what,
				 k[i].found ? "another program replaced ours" :
					      "our program is gone");
	if (!xs.attached)
		log_warn("uplink xdp: our program is gone; putting it back");
	h->foreign_warned = foreign;
	pthread_mutex_lock(&c->lock);
	if (!wg_ok)
		ret = ctl_attach_wg(c);
	if (!ret && !up_ok)
		ret = ctl_attach_uplink(c);
	pthread_mutex_unlock(&c->lock);
	outcome(c, HEAL_PROGRAM, ret, &failing);
}

/* Download limits need fq on wg0 (ctl/wg/wg_qdisc.c): put it there
 * while a peer has one, and again after wg0 is re-created. */
static void check_rate_qdisc(struct controller *c)
{
	const char *wg = c->cfg.wireguard.interface;
	struct ctl_heal *h = &c->heal;
	bool wanted = false;
	size_t i;
	int ret;

	for (i = 0; i < c->state.n_peers && !wanted; i++)
		wanted = c->state.peers[i].down_mbit != 0;
	if (!wanted)
		return;
	ret = net_ensure_fq(wg);
	if (ret == h->fq_state || (ret == 0 && h->fq_state == 1))
		return;
	h->fq_state = ret;
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

void ctl_heal_tick(struct controller *c, uint64_t now_ns)
{
	struct ctl_heal *h = &c->heal;

	drain_events(c);
	if (!h->dirty && now_ns - h->last_check_ns < HEAL_CHECK_INTERVAL_NS)
		return;
	h->dirty = false;
	h->last_check_ns = now_ns;
	check_wireguard(c);
	check_bridge(c);
	check_uplink(c);
	if (h->wg_ifindex)
		check_hooks(c);
	ctl_ports_check(c);
	check_rate_qdisc(c);
	pthread_mutex_lock(&c->lock);
	ctl_attach_exits(c); /* an exit's filter someone removed */
	pthread_mutex_unlock(&c->lock);
}

void ctl_heal_metrics(const struct controller *c, struct metrics *m)
{
	const struct ctl_heal *h = &c->heal;
	int i;

	metrics_family(m, "cellgate_heal_total", "counter",
		       "Repairs after an interface or a hook lost what "
		       "cellgate put there (wireguard: device re-created and "
		       "peers re-programmed; uplink, bridge: back; program: "
		       "ours put back on a hook).");
	for (i = 0; i < HEAL__MAX; i++)
		metrics_u64(m, h->repaired[i], "what", heal_names[i], NULL);
	metrics_family(m, "cellgate_heal_failures_total", "counter",
		       "Repairs tried and failed (retried every second).");
	for (i = 0; i < HEAL__MAX; i++)
		metrics_u64(m, h->failed[i], "what", heal_names[i], NULL);
	metrics_family(m, "cellgate_foreign_programs_total", "counter",
		       "Times another program was found on one of cellgate's "
		       "tc hooks.");
	metrics_u64(m, h->foreign_seen, NULL);
	metrics_family(m, "cellgate_link_events_total", "counter",
		       "Link events (rtnetlink) about cellgate's interfaces.");
	metrics_u64(m, h->events, NULL);
}
