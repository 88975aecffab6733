// SPDX-License-Identifier: MIT
/*
 * Kernel back end: generic netlink family "wireguard" (linux/wireguard.h)
 * through libnl-genl-3.
 *
 * GET is a dump: the kernel spreads a device over as many messages as its
 * peers need and, when a peer's allowed IPs do not fit, continues that
 * peer in the next message under the same public key; we merge those.
 *
 * SET takes one message per buffer's worth of peers: the device
 * attributes go in the first message only, and each following message
 * names the device again and carries the next peers. A cellgate peer
 * (at most WG_MAX_ALLOWED_IPS IPv4 ranges, about 300 bytes) always fits
 * an empty message, so we split between peers and never inside one.
 */
#include <errno.h>
#include <string.h>

#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "log.h"
#include "wg_iface.h"
#include "wg_internal.h"

/* Like wg(8): a page-sized request is accepted by every kernel. */
#define NL_SET_MSG_SIZE 8192
/* A dump is restarted when the peer list changes under it; not forever. */
#define NL_DUMP_TRIES 3

struct nl_ctx {
	struct nl_sock *sk;
	int family;
	int kerr; /* kernel errno of the last NLMSG_ERROR, negative */
};

static void nlc_close(struct nl_ctx *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	c->sk = NULL;
}

static int nlc_open(struct nl_ctx *c, const char *ifname, const char *op)
{
	int ret;

	c->sk = nlsock_open(NETLINK_GENERIC, &c->kerr);
	if (!c->sk) {
		ret = -errno;
		log_err("wg %s: %s: cannot open generic netlink socket: %s",
			ifname, op, strerror(-ret));
		return ret;
	}
	c->family = genl_ctrl_resolve(c->sk, WG_GENL_NAME);
	if (c->family < 0) {
		log_err("wg %s: %s: family %s not found (no kernel WireGuard)",
			ifname, op, WG_GENL_NAME);
		nlc_close(c);
		return -EPROTONOSUPPORT;
	}
	c->kerr = 0;
	return 0;
}

static struct nl_msg *nl_request(struct nl_ctx *c, size_t size, int flags,
				 uint8_t cmd, const char *ifname)
{
	struct nl_msg *msg = nlmsg_alloc_size(size);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, flags,
			 cmd, WG_GENL_VERSION) ||
	    nla_put_string(msg, WGDEVICE_A_IFNAME, ifname)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Reading: WG_CMD_GET_DEVICE. */

struct dump_state {
	struct wg_device *dev;
	size_t cap;
	size_t dropped_ips; /* beyond WG_MAX_ALLOWED_IPS in a peer */
	int err;
};

static struct nla_policy device_policy[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX] = { .type = NLA_U32 },
	[WGDEVICE_A_PRIVATE_KEY] = { .minlen = WG_KEY_LEN },
	[WGDEVICE_A_PUBLIC_KEY] = { .minlen = WG_KEY_LEN },
	[WGDEVICE_A_FLAGS] = { .type = NLA_U32 },
	[WGDEVICE_A_LISTEN_PORT] = { .type = NLA_U16 },
	[WGDEVICE_A_FWMARK] = { .type = NLA_U32 },
	[WGDEVICE_A_PEERS] = { .type = NLA_NESTED },
};

static struct nla_policy peer_policy[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY] = { .minlen = WG_KEY_LEN },
	[WGPEER_A_PRESHARED_KEY] = { .minlen = WG_KEY_LEN },
	[WGPEER_A_FLAGS] = { .type = NLA_U32 },
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { .type = NLA_U16 },
	[WGPEER_A_RX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_TX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_ALLOWEDIPS] = { .type = NLA_NESTED },
	[WGPEER_A_PROTOCOL_VERSION] = { .type = NLA_U32 },
};

static struct nla_policy allowedip_policy[WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY] = { .type = NLA_U16 },
	[WGALLOWEDIP_A_CIDR_MASK] = { .type = NLA_U8 },
};

static int parse_allowedip(struct dump_state *st, struct wg_peer *p,
			   struct nlattr *attr)
{
	struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	struct wg_allowed_ip *aip;
	uint16_t family;
	int len;

	if (nla_parse_nested(tb, WGALLOWEDIP_A_MAX, attr, allowedip_policy))
		return -EPROTO;
	if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] ||
	    !tb[WGALLOWEDIP_A_CIDR_MASK])
		return -EPROTO;
	family = nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	len = family == AF_INET6 ? 16 : 4;
	if ((family != AF_INET && family != AF_INET6) ||
	    nla_len(tb[WGALLOWEDIP_A_IPADDR]) != len ||
	    nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]) > len * 8)
		return -EPROTO;
	if (p->n_allowed_ips == WG_MAX_ALLOWED_IPS) {
		st->dropped_ips++;
		return 0;
	}
	aip = &p->allowed_ips[p->n_allowed_ips++];
	memset(aip, 0, sizeof(*aip));
	aip->v6 = family == AF_INET6;
	memcpy(aip->v6 ? (void *)&aip->addr6 : (void *)&aip->addr,
	       nla_data(tb[WGALLOWEDIP_A_IPADDR]), (size_t)len);
	aip->cidr = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	return 0;
}

/* The peer a dump entry describes: the last one again when the kernel
 * continues it, else a new one. */
static struct wg_peer *dump_peer(struct dump_state *st, const uint8_t *key)
{
	struct wg_device *dev = st->dev;
	struct wg_peer *p;

	if (dev->n_peers &&
	    !memcmp(dev->peers[dev->n_peers - 1].public_key, key, WG_KEY_LEN))
		return &dev->peers[dev->n_peers - 1];
	p = wg_device_add_peer(dev, &st->cap);
	if (p)
		memcpy(p->public_key, key, WG_KEY_LEN);
	return p;
}

static void parse_peer_endpoint(struct wg_peer *p, struct nlattr *attr)
{
	struct sockaddr_in sin;

	/* An IPv6 endpoint is a sockaddr_in6 and not ours: skipped. */
	if (nla_len(attr) != sizeof(sin))
		return;
	memcpy(&sin, nla_data(attr), sizeof(sin));
	if (sin.sin_family != AF_INET)
		return;
	p->endpoint = sin;
	p->has_endpoint = true;
}

static int parse_peer(struct dump_state *st, struct nlattr *attr)
{
	struct nlattr *tb[WGPEER_A_MAX + 1], *pos;
	struct __kernel_timespec ts;
	struct wg_peer *p;
	int rem, ret;

	if (nla_parse_nested(tb, WGPEER_A_MAX, attr, peer_policy) ||
	    !tb[WGPEER_A_PUBLIC_KEY] ||
	    nla_len(tb[WGPEER_A_PUBLIC_KEY]) != WG_KEY_LEN)
		return -EPROTO;
	p = dump_peer(st, nla_data(tb[WGPEER_A_PUBLIC_KEY]));
	if (!p)
		return -ENOMEM;
	if (tb[WGPEER_A_ENDPOINT])
		parse_peer_endpoint(p, tb[WGPEER_A_ENDPOINT]);
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
		p->persistent_keepalive =
			nla_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
	if (tb[WGPEER_A_LAST_HANDSHAKE_TIME] &&
	    nla_len(tb[WGPEER_A_LAST_HANDSHAKE_TIME]) == sizeof(ts)) {
		memcpy(&ts, nla_data(tb[WGPEER_A_LAST_HANDSHAKE_TIME]),
		       sizeof(ts));
		p->last_handshake_sec = ts.tv_sec;
	}
	if (tb[WGPEER_A_RX_BYTES])
		p->rx_bytes = nla_get_u64(tb[WGPEER_A_RX_BYTES]);
	if (tb[WGPEER_A_TX_BYTES])
		p->tx_bytes = nla_get_u64(tb[WGPEER_A_TX_BYTES]);
	if (!tb[WGPEER_A_ALLOWEDIPS])
		return 0;
	nla_for_each_nested(pos, tb[WGPEER_A_ALLOWEDIPS], rem)
	{
		ret = parse_allowedip(st, p, pos);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_device(struct dump_state *st, struct nlattr **tb)
{
	struct wg_device *dev = st->dev;
	struct nlattr *pos;
	int rem, ret;

	if (tb[WGDEVICE_A_LISTEN_PORT])
		dev->listen_port = nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
	/* Sent only when the device has a key (and we may see it). */
	if (tb[WGDEVICE_A_PRIVATE_KEY]) {
		if (nla_len(tb[WGDEVICE_A_PRIVATE_KEY]) != WG_KEY_LEN)
			return -EPROTO;
		memcpy(dev->private_key, nla_data(tb[WGDEVICE_A_PRIVATE_KEY]),
		       WG_KEY_LEN);
		dev->has_private_key = true;
	}
	if (!tb[WGDEVICE_A_PEERS])
		return 0;
	nla_for_each_nested(pos, tb[WGDEVICE_A_PEERS], rem)
	{
		ret = parse_peer(st, pos);
		if (ret)
			return ret;
	}
	return 0;
}

static int dump_cb(struct nl_msg *msg, void *arg)
{
	struct dump_state *st = arg;
	struct nlattr *tb[WGDEVICE_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, WGDEVICE_A_MAX, device_policy))
		st->err = -EPROTO;
	else
		st->err = parse_device(st, tb);
	return st->err ? NL_STOP : NL_OK;
}

static int dump_once(struct nl_ctx *c, const char *ifname,
		     struct dump_state *st)
{
	struct nl_msg *msg;
	int rc;

	msg = nl_request(c, 256, NLM_F_DUMP, WG_CMD_GET_DEVICE, ifname);
	if (!msg)
		return -ENOMEM;
	c->kerr = 0;
	rc = nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, st);
	if (!rc)
		rc = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (rc >= 0)
		rc = nl_recvmsgs_default(c->sk);
	if (rc < 0)
		return nlsock_errno(rc, &c->kerr);
	return st->err;
}

/* Forget what an interrupted dump read, keeping only the name. */
static void dump_reset(struct wg_device *dev, struct dump_state *st)
{
	char ifname[IF_NAMESIZE];

	memcpy(ifname, dev->ifname, sizeof(ifname));
	wg_device_free(dev);
	memcpy(dev->ifname, ifname, sizeof(ifname));
	st->cap = 0;
	st->dropped_ips = 0;
	st->err = 0;
}

int nl_get(const char *ifname, struct wg_device *dev)
{
	struct dump_state st = { .dev = dev };
	struct nl_ctx c;
	int ret, tries;

	ret = nlc_open(&c, ifname, "get");
	if (ret)
		return ret;
	for (tries = 0; tries < NL_DUMP_TRIES; tries++) {
		ret = dump_once(&c, ifname, &st);
		if (ret != -EINTR)
			break;
		/* The peer set changed during the dump: read it again on a
		 * fresh socket, so no stale part of the old dump remains. */
		log_debug("wg %s: get: peers changed during dump; retrying",
			  ifname);
		dump_reset(dev, &st);
		nlc_close(&c);
		ret = nlc_open(&c, ifname, "get");
		if (ret)
			return ret;
	}
	if (!ret && st.dropped_ips)
		log_warn("wg %s: get: ignored %zu allowed IPs over %d per peer",
			 ifname, st.dropped_ips, WG_MAX_ALLOWED_IPS);
	if (ret)
		log_err("wg %s: get: %s", ifname,
			ret == -EPROTO ? "malformed netlink reply" :
					 strerror(-ret));
	nlc_close(&c);
	return ret;
}

/* Writing: WG_CMD_SET_DEVICE. */

static int put_allowedips(struct nl_msg *msg, const struct wg_peer *p)
{
	struct nlattr *list, *one;
	size_t i;

	list = nla_nest_start(msg, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < p->n_allowed_ips; i++) {
		const struct wg_allowed_ip *a = &p->allowed_ips[i];

		one = nla_nest_start(msg, NLA_F_NESTED);
		if (!one ||
		    nla_put_u16(msg, WGALLOWEDIP_A_FAMILY,
				a->v6 ? AF_INET6 : AF_INET) ||
		    (a->v6 ? nla_put(msg, WGALLOWEDIP_A_IPADDR, 16, &a->addr6) :
			     nla_put(msg, WGALLOWEDIP_A_IPADDR, 4, &a->addr)) ||
		    nla_put_u8(msg, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
			return -EMSGSIZE;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

/* The fields of a SET: everything the peer should have, allowed IPs
 * replaced, so the result does not depend on what was there. */
static int put_peer_fields(struct nl_msg *msg, const struct wg_peer *p)
{
	struct sockaddr_in sin;

	if (nla_put_u32(msg, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS) ||
	    nla_put_u16(msg, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			p->persistent_keepalive))
		return -EMSGSIZE;
	if (p->has_endpoint) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr = p->endpoint.sin_addr;
		sin.sin_port = p->endpoint.sin_port;
		if (nla_put(msg, WGPEER_A_ENDPOINT, sizeof(sin), &sin))
			return -EMSGSIZE;
	}
	return put_allowedips(msg, p);
}

/* One peer, whole or not at all: -EMSGSIZE leaves msg as it was. */
static int put_peer(struct nl_msg *msg, const struct wg_peer_change *pc)
{
	struct nlattr *nest = nla_nest_start(msg, NLA_F_NESTED);
	int ret;

	if (!nest)
		return -EMSGSIZE;
	ret = nla_put(msg, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN,
		      pc->peer.public_key) ?
		      -EMSGSIZE :
		      0;
	if (!ret && pc->op == WG_PEER_REMOVE)
		ret = nla_put_u32(msg, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME) ?
			      -EMSGSIZE :
			      0;
	else if (!ret)
		ret = put_peer_fields(msg, &pc->peer);
	if (ret) {
		nla_nest_cancel(msg, nest);
		return ret;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_device(struct nl_msg *msg, const struct wg_change *change)
{
	if (change->has_private_key && nla_put(msg, WGDEVICE_A_PRIVATE_KEY,
					       WG_KEY_LEN, change->private_key))
		return -EMSGSIZE;
	if (change->has_listen_port &&
	    nla_put_u16(msg, WGDEVICE_A_LISTEN_PORT, change->listen_port))
		return -EMSGSIZE;
	return 0;
}

/* Fill msg with peers from *next on; at least one, or -EMSGSIZE. */
static int put_peers(struct nl_msg *msg, const struct wg_change *change,
		     size_t *next)
{
	struct nlattr *nest;
	size_t first = *next;

	nest = nla_nest_start(msg, WGDEVICE_A_PEERS | NLA_F_NESTED);
	if (!nest)
		return -EMSGSIZE;
	while (*next < change->n_peers && !put_peer(msg, &change->peers[*next]))
		(*next)++;
	if (*next == first) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int send_set(struct nl_ctx *c, struct nl_msg *msg)
{
	int rc;

	c->kerr = 0;
	rc = nl_send_auto(c->sk, msg);
	if (rc >= 0)
		rc = nl_wait_for_ack(c->sk);
	return rc < 0 ? nlsock_errno(rc, &c->kerr) : 0;
}

static void msg_wipe_free(struct nl_msg *msg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* The first message may carry the private key. */
	explicit_bzero(nlh, nlh->nlmsg_len);
	nlmsg_free(msg);
}

int nl_apply(const char *ifname, const struct wg_change *change)
{
	struct nl_ctx c;
	struct nl_msg *msg;
	size_t next = 0, done = 0, sent = 0;
	int ret;

	ret = nlc_open(&c, ifname, "set");
	if (ret)
		return ret;
	do {
		msg = nl_request(&c, NL_SET_MSG_SIZE, 0, WG_CMD_SET_DEVICE,
				 ifname);
		if (!msg) {
			ret = -ENOMEM;
			break;
		}
		ret = sent ? 0 : put_device(msg, change);
		if (!ret && next < change->n_peers)
			ret = put_peers(msg, change, &next);
		if (!ret)
			ret = send_set(&c, msg);
		msg_wipe_free(msg);
		sent++;
		if (!ret)
			done = next;
	} while (!ret && next < change->n_peers);
	if (ret)
		log_err("wg %s: set: message %zu (%zu of %zu peers done): %s",
			ifname, sent, done, change->n_peers, strerror(-ret));
	nlc_close(&c);
	return ret;
}
