// SPDX-License-Identifier: MIT
/*
 * The fixture cell over IPv6 (issue 17): the same peers, services and
 * identities as fixtures.h, with IPv6 addresses in the IPv6 maps
 * (cg_settings6, cg_local_nets6, cg_peers6, cg_services6), and the
 * conntrack helpers for cg_ct6_tcp / cg_ct6_other.
 *
 * The controller's side of IPv6 (address6, a peer's ip6) is another
 * change; until it lands, the tests write the IPv6 maps themselves: each
 * peer's cg_peers6 value is a copy of its cg_peers value (the same struct
 * cg_identity: one policy, two families), copied again after every
 * change the controller makes (v6_mirror).
 *
 * Included by bpf_test.c after its helpers (through v6_cases.h).
 */
#ifndef CG_TEST_V6_FIXTURE_H
#define CG_TEST_V6_FIXTURE_H

#define ROUTER6 "fd10::1"
#define ALICE6 "fd10::2"
#define BOB6 "fd10::3"
#define CAROL6 "fd10::4"
#define STRANGER6 "fd10::99" /* in the wg subnet6, no peer */
#define NOBODY6 "fd10::200" /* egress only: no identity at all */
#define CALENDAR6 "fd20::21"
#define FILES6 "fd20::22"
#define DNS6 "fd20::53"
#define INTERNET6 "2001:db8::8"
#define OUTSIDER6 "2001:db8::5"
#define LINKLOCAL6 "fe80::1"
#define ALLNODES6 "ff02::1"
#define SOLICITED6 "ff02::1:ff00:2"

/* The IPv6 maps, by their pins (ctl/dataplane knows no IPv6 map yet). */
enum v6_map {
	V6_SETTINGS,
	V6_LOCAL_NETS,
	V6_PEERS,
	V6_SERVICES,
	V6_CT_TCP,
	V6_CT_OTHER,
	V6_FRAGS,
	V6_CELLS,
	V6__COUNT
};

static const char *const v6_map_names[V6__COUNT] = {
	"cg_settings6", "cg_local_nets6", "cg_peers6", "cg_services6",
	"cg_ct6_tcp",	"cg_ct6_other",	  "cg_frags6", "cg_cells6",
};

static int v6_fd[V6__COUNT];

static bool v6_open_maps(struct check *c)
{
	char path[128];
	int i;

	for (i = 0; i < V6__COUNT; i++) {
		if (v6_fd[i] > 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs_dir,
			 v6_map_names[i]);
		v6_fd[i] = bpf_obj_get(path);
		if (v6_fd[i] < 0)
			return failf(c, "open %s: %s", path, strerror(errno));
	}
	return true;
}

static void v6_close_maps(void)
{
	int i;

	for (i = 0; i < V6__COUNT; i++)
		if (v6_fd[i] > 0)
			close(v6_fd[i]);
}

static void v6_ct_flush(void)
{
	map_flush(v6_fd[V6_CT_TCP]);
	map_flush(v6_fd[V6_CT_OTHER]);
	map_flush(v6_fd[V6_FRAGS]);
}

/* cg_settings6: the cell's wg address6, or all zero (IPv4-only). */
static bool v6_set_enabled(struct check *c, bool on)
{
	struct cg_settings6 set = { 0 };
	uint32_t zero = 0;

	if (on)
		inet_pton(AF_INET6, ROUTER6, set.wg_addr);
	if (bpf_map_update_elem(v6_fd[V6_SETTINGS], &zero, &set, BPF_ANY))
		return failf(c, "cg_settings6: %s", strerror(errno));
	return true;
}

static bool v6_put_net(struct check *c, const char *prefix, uint32_t len,
		       enum cg_net_kind kind)
{
	struct cg_lpm6_key k = { .prefixlen = len };
	struct cg_local_net v = { .kind = kind };

	inet_pton(AF_INET6, prefix, k.addr);
	if (bpf_map_update_elem(v6_fd[V6_LOCAL_NETS], &k, &v, BPF_ANY))
		return failf(c, "cg_local_nets6 %s: %s", prefix,
			     strerror(errno));
	return true;
}

static bool v6_put_service(struct check *c, const char *ip, uint8_t proto,
			   uint16_t port, uint32_t id)
{
	struct cg_service6_key k = { .port = port, .proto = proto };
	struct cg_service v = { .service_id = id };

	inet_pton(AF_INET6, ip, k.addr);
	if (bpf_map_update_elem(v6_fd[V6_SERVICES], &k, &v, BPF_ANY))
		return failf(c, "cg_services6 %s: %s", ip, strerror(errno));
	return true;
}

/* Each peer's IPv6 identity is its IPv4 one: copied, or deleted when the
 * controller removed the peer. */
static bool v6_mirror(struct suite *s, struct check *c)
{
	static const char *const ip4[] = { ALICE, BOB, CAROL };
	static const char *const ip6[] = { ALICE6, BOB6, CAROL6 };
	struct cg_identity id;
	struct cg_addr_key k4;
	struct cg_addr6_key k6;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ip4); i++) {
		inet_pton(AF_INET, ip4[i], k4.addr);
		inet_pton(AF_INET6, ip6[i], k6.addr);
		if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_PEERS], &k4, &id)) {
			bpf_map_delete_elem(v6_fd[V6_PEERS], &k6);
			continue;
		}
		if (bpf_map_update_elem(v6_fd[V6_PEERS], &k6, &id, BPF_ANY))
			return failf(c, "cg_peers6: %s", strerror(errno));
	}
	return true;
}

/* The fixture cell, dual stack: service ids as in fixtures.h (calendar
 * 0, files 1, dns 2, ping 3); ICMPv6 endpoints under protocol 58. */
static bool v6_cell_build(struct suite *s, struct check *c, bool enabled)
{
	if (!cell_build(s, c) || !v6_open_maps(c))
		return false;
	c->step = "setup v6";
	map_flush(v6_fd[V6_PEERS]);
	map_flush(v6_fd[V6_SERVICES]);
	map_flush(v6_fd[V6_LOCAL_NETS]);
	map_flush(v6_fd[V6_CELLS]);
	v6_ct_flush();
	if (!v6_set_enabled(c, enabled) ||
	    !v6_put_net(c, "fd10::", 64, CG_NET_WG_SUBNET) ||
	    !v6_put_net(c, "fd20::", 64, CG_NET_BRIDGE) ||
	    !v6_put_service(c, CALENDAR6, IPPROTO_TCP, 80, 0) ||
	    !v6_put_service(c, FILES6, IPPROTO_TCP, 0, 1) ||
	    !v6_put_service(c, DNS6, IPPROTO_UDP, 53, 2) ||
	    !v6_put_service(c, DNS6, IPPROTO_TCP, 53, 2) ||
	    !v6_put_service(c, CALENDAR6, IPPROTO_ICMPV6, 0, 3) ||
	    !v6_mirror(s, c))
		return false;
	c->step = NULL;
	return true;
}

/* ---- conntrack ----------------------------------------------------------- */

/* The tuple of an IPv6 packet, as lib/parse6.h builds it. */
static void pkt6_tuple(const struct pkt_desc *d, struct cg_ct6_key *k)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET6, d->src, k->saddr);
	inet_pton(AF_INET6, d->dst, k->daddr);
	k->proto = d->proto;
	if (d->proto == IPPROTO_TCP || d->proto == IPPROTO_UDP) {
		k->sport = d->sport;
		k->dport = d->dport;
	} else if (d->proto == IPPROTO_ICMPV6 && d->icmp_type == ICMP6_T_ECHO) {
		k->sport = d->icmp_id;
	} else if (d->proto == IPPROTO_ICMPV6 &&
		   d->icmp_type == ICMP6_T_ECHOREPLY) {
		k->dport = d->icmp_id;
	}
}

static void tuple6_reverse(const struct cg_ct6_key *k, struct cg_ct6_key *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->saddr, k->daddr, 16);
	memcpy(r->daddr, k->saddr, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
}

/* The canonical key, as cg_ct6_canon: addresses as two native 64-bit
 * words, then ports; *rev when it is d reversed. */
static void ct6_key_of(const struct pkt_desc *d, struct cg_ct6_key *k,
		       bool *rev)
{
	struct cg_ct6_key t;
	uint64_t s[2], a[2];

	pkt6_tuple(d, &t);
	memcpy(s, t.saddr, 16);
	memcpy(a, t.daddr, 16);
	*rev = a[0] < s[0] ||
	       (a[0] == s[0] &&
		(a[1] < s[1] || (a[1] == s[1] && t.dport < t.sport)));
	if (*rev)
		tuple6_reverse(&t, k);
	else
		*k = t;
}

static int ct6_map_of(uint8_t proto)
{
	return v6_fd[proto == IPPROTO_TCP ? V6_CT_TCP : V6_CT_OTHER];
}

static bool ct6_read(struct check *c, const struct pkt_desc *d,
		     struct cg_ct_entry *e)
{
	struct cg_ct6_key k;
	bool rev;

	ct6_key_of(d, &k, &rev);
	if (bpf_map_lookup_elem(ct6_map_of(d->proto), &k, e))
		return failf(c, "conntrack6: no entry in %s",
			     d->proto == IPPROTO_TCP ? "cg_ct6_tcp" :
						       "cg_ct6_other");
	return expect_eq(c, "ct6.key_rev", rev, e->key_rev);
}

/* No entry for d's flow in either IPv6 map, nor in IPv4's. */
static bool expect_no_ct6(struct check *c, const struct pkt_desc *d)
{
	struct cg_ct6_key k;
	bool rev;

	ct6_key_of(d, &k, &rev);
	if (map_has(v6_fd[V6_CT_TCP], &k) || map_has(v6_fd[V6_CT_OTHER], &k))
		return failf(c, "conntrack6: entry present, expected none");
	return true;
}

static bool expect_ct6(struct suite *s, struct check *c,
		       const struct pkt_desc *d, const struct ct_expect *x)
{
	struct cg_ct_entry e;

	if (!x->present)
		return expect_no_ct6(c, d);
	return ct6_read(c, d, &e) && expect_ct_fields(s, c, &e, x);
}

/* A packet through a hook, as send_pkt; a dropped one left no flow. */
static bool send6(struct suite *s, struct check *c, const char *step,
		  enum hook hook, const struct pkt_desc *d,
		  const struct expect *e)
{
	struct cg_ct6_key k;
	bool rev, tracked;

	ct6_key_of(d, &k, &rev);
	tracked = map_has(ct6_map_of(d->proto), &k);
	if (!send_pkt(s, c, step, hook, d, e))
		return false;
	return e->verdict == TC_ACT_OK || tracked || expect_no_ct6(c, d);
}

#endif
