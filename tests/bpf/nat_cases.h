// SPDX-License-Identifier: MIT
/*
 * NAT cases: every rewrite the four programs make, checked byte for byte
 * against a frame pktgen builds on its own from the translated addresses
 * and ports (with fresh checksums), and with every checksum of the output
 * recomputed from scratch by the verifier below (which shares nothing with
 * bpf/lib/csum.h). Each case also checks the cg_nat entries a translation
 * leaves, conntrack on wg0 (keyed by the tuple on the wire), the counters
 * that move, port allocation and its limits, ICMP errors about translated
 * flows, fragments, and the controller's NAT garbage collection.
 *
 * Included by bpf_test.c after its helpers; run after the ACL cases, each
 * case on a fresh NAT cell (nat_cell_build).
 */
#ifndef CG_TEST_NAT_CASES_H
#define CG_TEST_NAT_CASES_H

/* ---- the NAT cell: the fixture cell, plus ... --------------------------- */

#define UPLINK "203.0.113.1" /* the uplink's address */
#define REMOTE "198.51.100.7" /* a server on the internet */
#define REMOTE2 "198.51.100.8"
#define CLIENT "198.51.100.9" /* uses the forwards, inside allow_from */
#define CLIENT_EDGE "198.51.100.255" /* last address of allow_from */
#define CLIENT_OUT "198.51.101.9" /* just outside allow_from */
#define BLOCKED "192.0.2.5" /* far outside allow_from */
#define PATH_ROUTER "198.51.100.1" /* sends ICMP errors */
#define API "172.20.0.10" /* api's backend, on the bridge */
#define API2 "172.20.0.11" /* another bridge host */
#define WEB "172.20.0.30" /* forward 2's target, on the bridge */
#define DAVE "10.0.0.12" /* the peer forwards 1, 3 and 4 lead to */
#define CELL_HOST "10.0.1.1" /* in the linked cell 10.0.1.0/24 */
#define OTHER_ADDR "203.0.113.2" /* not the uplink's address */

enum nat_ident {
	ID_UNKNOWN = CG_IDENT_UNKNOWN,
	ID_ALICE = 1,
	ID_BOB = 2,
	ID_CAROL = 3,
	ID_DAVE = 4,
	ID_CELL = 10, /* the linked cell, written into cg_cells directly */
};

#define CELL_EPOCH 7
#define NAT_PORT_MIN 10000
#define NAT_PORT_MAX 65535
#define WG_PORT 51820 /* the router's WireGuard listen port */
/* The small range of the exhaustion cases: CG_NAT_TRIES ports. */
#define SMALL_MIN 60000
#define SMALL_MAX 60031

/* "api" (service id 4): a backend port and two ports of the wg address. */
static const char api_json[] =
	"{\"endpoints\":[{\"ip\":\"172.20.0.10\",\"proto\":\"tcp\","
	"\"port\":3000}],"
	"\"dnat\":[{\"proto\":\"tcp\",\"port\":3000,\"to_ip\":\"172.20.0.10\","
	"\"to_port\":3000},"
	"{\"proto\":\"udp\",\"port\":53,\"to_ip\":\"172.20.0.53\","
	"\"to_port\":53}]}";
static const char alice_api_json[] =
	"{\"service_access\":[\"calendar\",\"dns\",\"ping\",\"api\"]}";
static const char dave_json[] =
	"{\"name\":\"dave\",\"ip\":\"10.0.0.12\",\"service_access\":[],"
	"\"peer_to_peer\":false,\"internet_access\":false}";
/* Policy changes that matter to no flow of these tests but bump dave's
 * epoch, so his flows are re-judged (a PUT that changes nothing keeps
 * the epoch). Applied in turn: on, off. */
static const char dave_rejudge_json[] = "{\"peer_to_peer\":true}";
static const char dave_rejudge_back_json[] = "{\"peer_to_peer\":false}";

/* Port forwards, written as policy entries (their state code is not the
 * subject here). */
struct nat_forward {
	uint32_t id;
	uint8_t proto;
	uint16_t port;
	const char *to;
	uint16_t to_port;
	uint8_t snat_at_wg;
	const char *allow; /* allow_from network, or NULL: anyone */
	uint8_t allow_len;
};

static const struct nat_forward nat_forwards[] = {
	{ 1, IPPROTO_TCP, 22015, DAVE, 22, 1, NULL, 0 },
	{ 2, IPPROTO_TCP, 8080, WEB, 80, 0, "198.51.100.0", 24 },
	{ 3, IPPROTO_UDP, 5353, DAVE, 53, 1, NULL, 0 },
	{ 4, IPPROTO_TCP, 2222, DAVE, 22, 0, NULL, 0 }, /* snat never */
};

/* Identities whose counters every NAT case watches. */
#define NAT_N_IDENTS 6
static const uint32_t nat_ids[NAT_N_IDENTS] = { ID_UNKNOWN, ID_ALICE, ID_BOB,
						ID_CAROL,   ID_DAVE,  ID_CELL };
static const char *const nat_id_names[NAT_N_IDENTS] = { "unknown", "alice",
							"bob",	   "carol",
							"dave",	   "cell" };

/* ---- an independent checksum verifier (RFC 1071) ------------------------ */

static uint32_t v_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t v_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* Data with its checksum field in place sums to 0xffff (-0). */
static bool v_sums_ok(struct check *c, const char *what, uint32_t sum)
{
	if (v_fold(sum) == 0xffff)
		return true;
	return failf(c, "%s wrong: the sum over it is 0x%04x, not 0xffff", what,
		     v_fold(sum));
}

static bool v_ipv4(struct check *c, const char *where, const uint8_t *ip,
		   size_t avail, bool quoted);

/* The L4 checksum of an IPv4 packet whose L4 bytes are all there. */
static bool v_l4(struct check *c, const char *where, const uint8_t *ip,
		 const uint8_t *l4, size_t len, bool quoted)
{
	uint32_t pseudo = v_add(0, ip + 12, 8) + ip[9] + (uint32_t)len;
	char what[64];

	switch (ip[9]) {
	case IPPROTO_TCP:
		snprintf(what, sizeof(what), "%s TCP checksum", where);
		return len >= 20 ? v_sums_ok(c, what, v_add(pseudo, l4, len)) :
				   failf(c, "%s: TCP header cut", where);
	case IPPROTO_UDP:
		snprintf(what, sizeof(what), "%s UDP checksum", where);
		if (len < 8)
			return failf(c, "%s: UDP header cut", where);
		if (!l4[6] && !l4[7])
			return true; /* none (RFC 768) */
		return v_sums_ok(c, what, v_add(pseudo, l4, len));
	case IPPROTO_ICMP:
		snprintf(what, sizeof(what), "%s ICMP checksum", where);
		if (len < 8)
			return failf(c, "%s: ICMP header cut", where);
		if (!v_sums_ok(c, what, v_add(0, l4, len)))
			return false;
		if (quoted || (l4[0] != ICMP_T_UNREACH &&
			       l4[0] != ICMP_T_TIMXCEED && l4[0] != 12))
			return true;
		return v_ipv4(c, "inner", l4 + 8, len - 8, true);
	default:
		return true;
	}
}

/* Check an IPv4 packet's checksums from scratch. quoted: the packet an
 * ICMP error carries, cut short; its L4 checksum is checked only when all
 * of its L4 bytes are quoted. */
static bool v_ipv4(struct check *c, const char *where, const uint8_t *ip,
		   size_t avail, bool quoted)
{
	size_t hl, tot;
	char what[64];

	if (avail < 20 || ip[0] >> 4 != 4)
		return failf(c, "%s: not an IPv4 header", where);
	hl = (size_t)(ip[0] & 0xf) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	if (hl < 20 || hl > avail || tot < hl || (!quoted && tot != avail))
		return failf(c,
			     "%s: IPv4 lengths inconsistent (ihl %zu, "
			     "tot_len %zu, %zu bytes)",
			     where, hl, tot, avail);
	snprintf(what, sizeof(what), "%s IPv4 header checksum", where);
	if (!v_sums_ok(c, what, v_add(0, ip, hl)))
		return false;
	if ((ip[6] << 8 | ip[7]) & 0x1fff)
		return true; /* a later fragment: no L4 header */
	if (tot > avail)
		return true; /* quoted in part: the L4 sum is not checkable */
	return v_l4(c, where, ip, ip + hl, tot - hl, quoted);
}

static bool verify_frame(struct check *c, const uint8_t *f, size_t len)
{
	if (len < PKT_ETH_LEN + 20 || f[12] != 0x08 || f[13] != 0x00)
		return true; /* not IPv4: nothing to check */
	return v_ipv4(c, "output", f + PKT_ETH_LEN, len - PKT_ETH_LEN, false);
}

/* ---- comparing frames --------------------------------------------------- */

/* Name the header field at offset off of the IPv4 packet ip. */
static void field_name(const uint8_t *ip, size_t len, size_t off,
		       const char *pfx, char *buf, size_t n)
{
	static const struct {
		size_t end;
		const char *name;
	} iph[] = { { 1, "ver_ihl" },	{ 2, "tos" },	   { 4, "tot_len" },
		    { 6, "id" },	{ 8, "frag_off" }, { 9, "ttl" },
		    { 10, "protocol" }, { 12, "check" },   { 16, "saddr" },
		    { 20, "daddr" } };
	size_t hl = (size_t)(ip[0] & 0xf) * 4, l4 = off - hl, i;
	const char *name = "options";

	if (off < hl) {
		for (i = 0; i < ARRAY_SIZE(iph); i++)
			if (off < iph[i].end) {
				name = iph[i].name;
				break;
			}
		snprintf(buf, n, "%sip.%s", pfx, name);
		return;
	}
	if ((ip[6] << 8 | ip[7]) & 0x1fff) {
		snprintf(buf, n, "%sfragment data", pfx);
		return;
	}
	switch (ip[9]) {
	case IPPROTO_TCP:
		name = l4 < 2  ? "sport" :
		       l4 < 4  ? "dport" :
		       l4 < 8  ? "seq" :
		       l4 < 12 ? "ack" :
		       l4 < 14 ? "doff_flags" :
		       l4 < 16 ? "window" :
		       l4 < 18 ? "check" :
		       l4 < 20 ? "urg_ptr" :
				 "payload";
		snprintf(buf, n, "%stcp.%s", pfx, name);
		return;
	case IPPROTO_UDP:
		name = l4 < 2 ? "sport" :
		       l4 < 4 ? "dport" :
		       l4 < 6 ? "len" :
		       l4 < 8 ? "check" :
				"payload";
		snprintf(buf, n, "%sudp.%s", pfx, name);
		return;
	case IPPROTO_ICMP:
		if (l4 >= 8 && !*pfx && len > hl + 8 + 20 &&
		    (ip[hl] == ICMP_T_UNREACH || ip[hl] == ICMP_T_TIMXCEED)) {
			field_name(ip + hl + 8, len - hl - 8, l4 - 8, "inner ",
				   buf, n);
			return;
		}
		name = l4 < 1 ? "type" :
		       l4 < 2 ? "code" :
		       l4 < 4 ? "check" :
		       l4 < 6 ? "id" :
		       l4 < 8 ? "seq" :
				"payload";
		snprintf(buf, n, "%sicmp.%s", pfx, name);
		return;
	default:
		snprintf(buf, n, "%sl4 byte %zu", pfx, l4);
	}
}

/* The program's output is exactly the frame of want. */
static bool expect_frame(struct check *c, const struct run *r,
			 const struct pkt_desc *want)
{
	uint8_t exp[PKT_MAX];
	size_t len = pkt_build(want, exp, sizeof(exp)), i, w;
	char field[64] = "ethernet";

	if (!len)
		return failf(c, "cannot build the expected packet");
	if (r->out_len != len)
		return failf(c, "output is %u bytes, expected %zu", r->out_len,
			     len);
	for (i = 0; i < len && r->out[i] == exp[i]; i++)
		;
	if (i == len)
		return true;
	if (i >= PKT_ETH_LEN)
		field_name(exp + PKT_ETH_LEN, len - PKT_ETH_LEN,
			   i - PKT_ETH_LEN, "", field, sizeof(field));
	w = (i - PKT_ETH_LEN) & ~(size_t)1; /* the 16-bit word, from L3 */
	w += PKT_ETH_LEN;
	return failf(c,
		     "output differs at byte %zu (%s): expected %02x got %02x "
		     "(word %04x, got %04x)",
		     i, field, exp[i], r->out[i], exp[w] << 8 | exp[w + 1],
		     r->out[w] << 8 | r->out[w + 1]);
}

/* ---- running packets through any hook ----------------------------------- */

struct nat_snapshot {
	struct cg_counters c[NAT_N_IDENTS];
};

static bool nat_snapshot(struct suite *s, struct check *c,
			 struct nat_snapshot *snap)
{
	size_t i;

	for (i = 0; i < NAT_N_IDENTS; i++)
		if (dp_counters(&s->dp, nat_ids[i], &snap->c[i]))
			return failf(c, "dp_counters(%u) failed", nat_ids[i]);
	return true;
}

enum nat_count {
	NC_NONE, /* nobody's counters move (the uplink programs) */
	NC_RX, /* rx of ident: wg0 ingress */
	NC_TX, /* tx of ident: wg0 egress */
	NC_DROP, /* drops[reason] of ident */
};

struct nat_expect {
	int verdict;
	enum nat_count count;
	uint32_t ident;
	enum cg_drop_reason reason;
};

#define NX_RX(id)                    \
	(&(const struct nat_expect){ \
		.verdict = TC_ACT_OK, .count = NC_RX, .ident = id })
#define NX_TX(id)                    \
	(&(const struct nat_expect){ \
		.verdict = TC_ACT_OK, .count = NC_TX, .ident = id })
#define NX_TC_PASS (&(const struct nat_expect){ .verdict = TC_ACT_OK })
#define NX_TC_DROP(why, id)                                  \
	(&(const struct nat_expect){ .verdict = TC_ACT_SHOT, \
				     .count = NC_DROP,       \
				     .ident = id,            \
				     .reason = why })
#define NX_XDP_PASS (&(const struct nat_expect){ .verdict = XDP_PASS })
#define NX_XDP_DROP (&(const struct nat_expect){ .verdict = XDP_DROP })

static bool hook_passes(enum hook hook, int verdict)
{
	return hook == UPLINK_XDP ? verdict == XDP_PASS : verdict == TC_ACT_OK;
}

static const char *nat_verdict_name(enum hook hook, int v)
{
	if (hook == UPLINK_XDP)
		return v == XDP_PASS ? "XDP_PASS" :
		       v == XDP_DROP ? "XDP_DROP" :
				       "other";
	return v == TC_ACT_OK	? "TC_ACT_OK" :
	       v == TC_ACT_SHOT ? "TC_ACT_SHOT" :
				  "other";
}

static bool nat_expect_counters(struct check *c, const struct nat_snapshot *a,
				const struct nat_snapshot *b,
				const struct nat_expect *e, uint64_t len)
{
	char what[96];
	size_t i;
	int r;

	for (i = 0; i < NAT_N_IDENTS; i++) {
		const struct cg_counters *x = &a->c[i], *y = &b->c[i];
		bool me = nat_ids[i] == e->ident;
		bool rx = me && e->count == NC_RX, tx = me && e->count == NC_TX;

#define NAT_DELTA(field, want)                                      \
	do {                                                        \
		snprintf(what, sizeof(what), "counters[%s].%s",     \
			 nat_id_names[i], #field);                  \
		if (!expect_eq(c, what, want, y->field - x->field)) \
			return false;                               \
	} while (0)
		NAT_DELTA(rx_packets, rx ? 1 : 0);
		NAT_DELTA(rx_bytes, rx ? len : 0);
		NAT_DELTA(tx_packets, tx ? 1 : 0);
		NAT_DELTA(tx_bytes, tx ? len : 0);
#undef NAT_DELTA
		for (r = 0; r < CG_DROP__MAX; r++) {
			uint64_t want = me && e->count == NC_DROP &&
					e->reason == (enum cg_drop_reason)r;

			snprintf(what, sizeof(what), "counters[%s].drops[%s]",
				 nat_id_names[i], drop_reason_name(r));
			if (!expect_eq(c, what, want,
				       y->drops[r] - x->drops[r]))
				return false;
		}
	}
	return true;
}

/* Run in through hook: the verdict and counters e says, and checksums
 * that hold on whatever passed. r gets the output. */
static bool nat_xmit(struct suite *s, struct check *c, const char *step,
		     enum hook hook, const struct pkt_desc *in,
		     const struct nat_expect *e, struct run *r)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(in, frame, sizeof(frame));
	struct nat_snapshot before, after;

	c->step = step;
	if (!len)
		return failf(c, "cannot build the packet");
	if (!nat_snapshot(s, c, &before) ||
	    !run_frame(s, c, hook, frame, len, r) ||
	    !nat_snapshot(s, c, &after))
		return false;
	if (r->verdict != e->verdict)
		return failf(c, "verdict: expected %s got %s (%d)",
			     nat_verdict_name(hook, e->verdict),
			     nat_verdict_name(hook, r->verdict), r->verdict);
	if (!nat_expect_counters(c, &before, &after, e, len - PKT_ETH_LEN))
		return false;
	return !hook_passes(hook, r->verdict) ||
	       verify_frame(c, r->out, r->out_len);
}

/* nat_xmit, and what passed is exactly out (NULL: in, untouched). */
static bool nat_send(struct suite *s, struct check *c, const char *step,
		     enum hook hook, const struct pkt_desc *in,
		     const struct nat_expect *e, const struct pkt_desc *out)
{
	struct run r;

	if (!nat_xmit(s, c, step, hook, in, e, &r))
		return false;
	return !hook_passes(hook, r.verdict) ||
	       expect_frame(c, &r, out ? out : in);
}

/* ---- cg_nat -------------------------------------------------------------- */

static int nat_fd(const struct suite *s)
{
	return s->dp.map_fd[DP_MAP_NAT];
}

static struct cg_ct_key key_of(const struct pkt_desc *d)
{
	struct cg_ct_key k;

	pkt_tuple(d, &k);
	return k;
}

static struct cg_ct_key key_rev(const struct cg_ct_key *k)
{
	struct cg_ct_key r;

	tuple_reverse(k, &r);
	return r;
}

static struct cg_ct_key tcp_key(const char *src, uint16_t sport,
				const char *dst, uint16_t dport)
{
	const struct pkt_desc d = TCP(src, sport, dst, dport, 0);

	return key_of(&d);
}

static const char *tuple_str(const struct cg_ct_key *k, char *buf, size_t n)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, k->saddr, a, sizeof(a));
	inet_ntop(AF_INET, k->daddr, b, sizeof(b));
	snprintf(buf, n, "proto %u %s:%u > %s:%u", k->proto, a, k->sport, b,
		 k->dport);
	return buf;
}

static size_t nat_count(struct suite *s)
{
	struct cg_ct_key key, next;
	const void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(nat_fd(s), prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static bool expect_nat_count(struct suite *s, struct check *c, size_t want)
{
	return expect_eq(c, "cg_nat entries", want, nat_count(s));
}

static bool nat_get(struct suite *s, struct check *c, const struct cg_ct_key *k,
		    struct cg_nat_entry *e)
{
	char t[80];

	if (bpf_map_lookup_elem(nat_fd(s), k, e))
		return failf(c, "cg_nat: no entry for %s",
			     tuple_str(k, t, sizeof(t)));
	return true;
}

static bool expect_no_nat(struct suite *s, struct check *c,
			  const struct cg_ct_key *k)
{
	struct cg_nat_entry e;
	char t[80];

	if (bpf_map_lookup_elem(nat_fd(s), k, &e) == 0)
		return failf(c, "cg_nat: unexpected entry for %s (kind %u)",
			     tuple_str(k, t, sizeof(t)), e.kind);
	return true;
}

static bool expect_tuple(struct check *c, const char *what,
			 const struct cg_ct_key *want,
			 const struct cg_ct_key *got)
{
	char a[80], b[80];

	if (!memcmp(want, got, sizeof(*want)))
		return true;
	return failf(c, "%s: expected %s got %s", what,
		     tuple_str(want, a, sizeof(a)),
		     tuple_str(got, b, sizeof(b)));
}

struct nat_want {
	enum cg_nat_kind kind;
	uint32_t owner;
	uint8_t snat_at_wg;
	bool fresh; /* created by the last run: check its lifetime */
};

static bool expect_nat_entry(struct suite *s, struct check *c,
			     const char *which, const struct cg_ct_key *key,
			     enum cg_nat_dir dir, const struct cg_ct_key *to,
			     const struct nat_want *w)
{
	uint64_t life = (uint64_t)TCP_SYN_S * NSEC;
	struct cg_nat_entry e;
	char what[6][48];

	if (!nat_get(s, c, key, &e))
		return false;
	snprintf(what[0], sizeof(what[0]), "cg_nat %s .to", which);
	snprintf(what[1], sizeof(what[1]), "cg_nat %s .kind", which);
	snprintf(what[2], sizeof(what[2]), "cg_nat %s .dir", which);
	snprintf(what[3], sizeof(what[3]), "cg_nat %s .owner", which);
	snprintf(what[4], sizeof(what[4]), "cg_nat %s .snat_at_wg", which);
	snprintf(what[5], sizeof(what[5]), "cg_nat %s .expires_ns - now",
		 which);
	/* A new pair lives as long as an unanswered TCP flow. */
	return expect_tuple(c, what[0], to, &e.to) &&
	       expect_eq(c, what[1], w->kind, e.kind) &&
	       expect_eq(c, what[2], dir, e.dir) &&
	       expect_eq(c, what[3], w->owner, e.owner) &&
	       expect_eq(c, what[4], w->snat_at_wg, e.snat_at_wg) &&
	       (!w->fresh ||
		expect_range(c, what[5], life - COARSE_CLOCK_SLACK_NS,
			     life + (s->t1 - s->t0), e.expires_ns - s->t0));
}

/* The two entries of the translation of in into out. */
static bool expect_nat_pair(struct suite *s, struct check *c,
			    const struct pkt_desc *in,
			    const struct pkt_desc *out,
			    const struct nat_want *w)
{
	struct cg_ct_key orig = key_of(in), to = key_of(out);
	struct cg_ct_key rkey = key_rev(&to), rto = key_rev(&orig);

	return expect_nat_entry(s, c, "orig", &orig, CG_NAT_ORIG, &to, w) &&
	       expect_nat_entry(s, c, "reply", &rkey, CG_NAT_REPLY, &rto, w);
}

#define NAT_WANT(k, own, snat, new) \
	(&(const struct nat_want){  \
		.kind = k, .owner = own, .snat_at_wg = snat, .fresh = new })

/* The source port (ICMP: echo id) the flow opened by in was given, which
 * had to differ from old (taken) and come from the range. */
static bool nat_moved_port(struct suite *s, struct check *c,
			   const struct pkt_desc *in, uint16_t old,
			   uint16_t min, uint16_t max, uint16_t *port)
{
	struct cg_ct_key k = key_of(in);
	struct cg_nat_entry e;

	if (!nat_get(s, c, &k, &e))
		return false;
	*port = e.to.sport;
	if (e.to.sport == old)
		return failf(c, "NAT kept port %u, which was taken", old);
	return expect_range(c, "allocated port", min, max, e.to.sport);
}

/* Make a cg_nat entry look idle for too long. */
static bool nat_expire(struct suite *s, struct check *c,
		       const struct cg_ct_key *k)
{
	struct cg_nat_entry e;

	if (!nat_get(s, c, k, &e))
		return false;
	e.expires_ns = monotonic_ns() - NSEC;
	if (bpf_map_update_elem(nat_fd(s), k, &e, BPF_EXIST))
		return failf(c, "cg_nat: cannot rewrite entry: %s",
			     strerror(errno));
	return true;
}

/* Take every tuple src:sport > dst:[SMALL_MIN, SMALL_MAX] (TCP) with a
 * live reply entry, as other flows' translations would. */
static bool nat_fill_small_range(struct suite *s, struct check *c,
				 const char *src, uint16_t sport,
				 const char *dst)
{
	struct cg_nat_entry e = { .kind = CG_NAT_MASQ,
				  .dir = CG_NAT_REPLY,
				  .expires_ns = monotonic_ns() + 3600 * NSEC };
	uint32_t p;

	for (p = SMALL_MIN; p <= SMALL_MAX; p++) {
		struct cg_ct_key k = tcp_key(src, sport, dst, (uint16_t)p);

		e.to = key_rev(&k);
		if (bpf_map_update_elem(nat_fd(s), &k, &e, BPF_NOEXIST))
			return failf(c, "cg_nat: cannot fill port %u: %s", p,
				     strerror(errno));
	}
	return true;
}

/* ---- other maps ---------------------------------------------------------- */

static bool nat_stats(struct suite *s, struct check *c, struct cg_nat_stats *st)
{
	if (dp_nat_stats(&s->dp, st))
		return failf(c, "dp_nat_stats failed");
	return true;
}

static bool expect_stats(struct check *c, const struct cg_nat_stats *a,
			 const struct cg_nat_stats *b, uint64_t created,
			 uint64_t coll_min, uint64_t coll_max,
			 uint64_t exhausted)
{
	return expect_eq(c, "cg_nat_stats.created", created,
			 b->created - a->created) &&
	       expect_range(c, "cg_nat_stats.port_collisions", coll_min,
			    coll_max,
			    b->port_collisions - a->port_collisions) &&
	       expect_eq(c, "cg_nat_stats.exhausted", exhausted,
			 b->exhausted - a->exhausted) &&
	       expect_eq(c, "cg_nat_stats.orphans", 0, b->orphans - a->orphans);
}

static bool fwd_get(struct suite *s, struct check *c, uint32_t id,
		    struct cg_fwd_counters *f)
{
	if (dp_fwd_counters(&s->dp, id, f))
		return failf(c, "dp_fwd_counters(%u) failed", id);
	return true;
}

static bool expect_fwd(struct check *c, const struct cg_fwd_counters *a,
		       const struct cg_fwd_counters *b, uint64_t packets,
		       uint64_t bytes, uint64_t denied, uint64_t failed)
{
	return expect_eq(c, "cg_fwd_counters.packets", packets,
			 b->packets - a->packets) &&
	       expect_eq(c, "cg_fwd_counters.bytes", bytes,
			 b->bytes - a->bytes) &&
	       expect_eq(c, "cg_fwd_counters.denied", denied,
			 b->denied - a->denied) &&
	       expect_eq(c, "cg_fwd_counters.nat_failed", failed,
			 b->nat_failed - a->nat_failed);
}

/* The conntrack entry of the flow opened by d, identities by id. */
static bool expect_ct_ids(struct suite *s, struct check *c,
			  const struct pkt_desc *d, enum cg_ct_origin origin,
			  enum cg_ct_state state, uint32_t src, uint32_t dst,
			  bool seen_reply)
{
	struct cg_ct_entry e;

	return ct_read(s, c, d, &e) &&
	       expect_eq(c, "ct.origin", origin, e.origin) &&
	       expect_eq(c, "ct.state", state, e.state) &&
	       expect_eq(c, "ct.seen_reply", seen_reply, e.seen_reply) &&
	       expect_eq(c, "ct.src_ident", src, e.src_ident) &&
	       expect_eq(c, "ct.dst_ident", dst, e.dst_ident) &&
	       expect_eq(c, "ct.src_epoch", epoch_of(s, src), e.src_epoch) &&
	       expect_eq(c, "ct.dst_epoch", epoch_of(s, dst), e.dst_epoch);
}

/* ---- building the NAT cell ----------------------------------------------- */

static bool nat_write_settings(struct suite *s, struct check *c, uint16_t min,
			       uint16_t max)
{
	struct cg_settings set = { .nat_port_min = min,
				   .nat_port_max = max,
				   .masquerade = 1,
				   .wg_port = WG_PORT };
	int ret;

	inet_pton(AF_INET, ROUTER, set.wg_addr);
	inet_pton(AF_INET, UPLINK, set.uplink_addr);
	ret = dp_write_settings(&s->dp, &set);
	if (ret)
		return failf(c, "dp_write_settings: %s", strerror(-ret));
	return true;
}

static bool nat_sync_forwards(struct suite *s, struct check *c, bool on)
{
	struct policy_forward fwd[ARRAY_SIZE(nat_forwards)];
	struct policy_fwd_allow allow[ARRAY_SIZE(nat_forwards)];
	struct policy pol;
	size_t i;
	int ret;

	memset(&pol, 0, sizeof(pol));
	memset(fwd, 0, sizeof(fwd));
	memset(allow, 0, sizeof(allow));
	pol.forwards = fwd;
	pol.fwd_allow = allow;
	for (i = 0; on && i < ARRAY_SIZE(nat_forwards); i++) {
		const struct nat_forward *f = &nat_forwards[i];
		struct policy_forward *e = &fwd[pol.n_forwards++];
		struct policy_fwd_allow *a;

		e->key.port = f->port;
		e->key.proto = f->proto;
		inet_pton(AF_INET, f->to, e->value.target_addr);
		e->value.target_port = f->to_port;
		e->value.snat_at_wg = f->snat_at_wg;
		e->value.has_allow_from = f->allow != NULL;
		e->value.fwd_id = f->id;
		if (!f->allow)
			continue;
		a = &allow[pol.n_fwd_allow++];
		a->key.prefixlen = 32 + f->allow_len;
		a->key.fwd_id = htonl(f->id);
		inet_pton(AF_INET, f->allow, a->key.addr);
		a->value = 1;
	}
	ret = dp_sync_forwards(&s->dp, &pol);
	if (ret)
		return failf(c, "dp_sync_forwards: %s", strerror(-ret));
	return true;
}

/* The linked cell 10.0.1.0/24, as its identity will be written. */
static bool nat_link_cell(struct suite *s, struct check *c, bool on)
{
	struct cg_lpm_key k = { .prefixlen = 24 };
	struct cg_identity id = { .id = ID_CELL,
				  .epoch = CELL_EPOCH,
				  .kind = CG_KIND_CELL };
	uint32_t ident = ID_CELL, epoch = on ? CELL_EPOCH : 0;
	int fd = s->dp.map_fd[DP_MAP_CELLS];

	inet_pton(AF_INET, "10.0.1.0", k.addr);
	if ((on ? bpf_map_update_elem(fd, &k, &id, BPF_ANY) :
		  bpf_map_delete_elem(fd, &k) && errno != ENOENT) ||
	    bpf_map_update_elem(s->dp.map_fd[DP_MAP_EPOCHS], &ident, &epoch,
				BPF_ANY))
		return failf(c, "cg_cells: %s", strerror(errno));
	return true;
}

static bool nat_add_dave(struct suite *s, struct check *c)
{
	json_object *body = parse_json(c, dave_json);
	char b64[WG_KEY_B64_LEN + 1];
	struct cg_error err = { 0 };
	wg_key key;
	unsigned int i;
	int ret;

	if (!body)
		return false;
	for (i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(4 * 37 + i); /* as add_peer's 4th peer */
	key_to_base64(b64, key);
	json_object_object_add(body, "public_key", json_object_new_string(b64));
	ret = state_add_peer(&s->st, body, NULL, NULL, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_add_peer dave: %s", err.msg);
	return expect_eq(c, "dave's id", ID_DAVE,
			 state_peer(&s->st, "dave")->id);
}

/* The fixture cell, plus api (alice may use it), dave, the forwards, the
 * linked cell and the NAT settings; no flows, no translations. */
static bool nat_cell_build(struct suite *s, struct check *c)
{
	if (!cell_build(s, c) || !put_service(s, c, "api", api_json) ||
	    !update_peer(s, c, "alice", alice_api_json))
		return false;
	c->step = "NAT setup";
	if (!nat_add_dave(s, c) || !sync_all(s, c) ||
	    !nat_sync_forwards(s, c, true) || !nat_link_cell(s, c, true) ||
	    !nat_write_settings(s, c, NAT_PORT_MIN, NAT_PORT_MAX))
		return false;
	ct_flush(s);
	map_flush(nat_fd(s));
	c->step = NULL;
	return expect_nat_count(s, c, 0);
}

/* Back to the fixture cell's dataplane: no NAT. */
static void nat_cell_teardown(struct suite *s)
{
	struct cg_settings none = { 0 };
	struct check c = { 0 };

	nat_sync_forwards(s, &c, false);
	nat_link_cell(s, &c, false);
	dp_write_settings(&s->dp, &none);
	map_flush(nat_fd(s));
	ct_flush(s);
	if (c.failed)
		fprintf(stderr, "NAT teardown: %s\n", c.msg);
}

/* ---- packets with a chosen UDP checksum ------------------------------------ */

/* The UDP checksum field of d as pktgen builds it. */
static uint16_t built_udp_csum(const struct pkt_desc *d)
{
	uint8_t f[PKT_MAX];
	size_t len = pkt_build(d, f, sizeof(f));
	size_t off = PKT_ETH_LEN + 20 + d->opt_len + 6;

	return len > off + 1 ? (uint16_t)(f[off] << 8 | f[off + 1]) : 0;
}

/* Fill buf, d's payload (an even payload_len), so that the checksum of d
 * computes to 0, which goes on the wire as 0xffff (RFC 768): the last two
 * bytes make the one's complement sum 0xffff. */
static void craft_zero_csum(const struct pkt_desc *d, uint8_t *buf)
{
	uint8_t hdr[8] = { 0 }, addrs[8];
	size_t n = d->payload_len, i;
	uint16_t len = (uint16_t)(8 + n), w;
	uint32_t sum;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	buf[n - 2] = buf[n - 1] = 0;
	inet_pton(AF_INET, d->src, addrs);
	inet_pton(AF_INET, d->dst, addrs + 4);
	pkt_put16(hdr, d->sport);
	pkt_put16(hdr + 2, d->dport);
	pkt_put16(hdr + 4, len);
	sum = v_add(0, addrs, 8) + IPPROTO_UDP + len;
	sum = v_add(v_add(sum, hdr, 8), buf, n);
	w = (uint16_t)(0xffff - v_fold(sum));
	buf[n - 2] = (uint8_t)(w >> 8);
	buf[n - 1] = (uint8_t)w;
}

/* The crafted case means something: in's checksum is an ordinary one,
 * out's (as pktgen writes it) is 0xffff. */
static bool expect_crafted(struct check *c, const struct pkt_desc *in,
			   const struct pkt_desc *out)
{
	uint16_t a = built_udp_csum(in), b = built_udp_csum(out);

	if (!a || a == 0xffff || b != 0xffff)
		return failf(c, "fixture: crafted checksums %04x -> %04x", a,
			     b);
	return true;
}

/* ---- 0: the verifier itself ---------------------------------------------- */

/* d's frame passes the verifier; with byte off raised by one (and, when
 * comp, byte comp lowered by one, so that the sum over the ICMP message
 * stays what it was and only a quoted checksum can notice) it fails. */
static bool verifier_catches(struct check *c, const struct pkt_desc *d,
			     size_t off, size_t comp, const char *what)
{
	uint8_t f[PKT_MAX];
	size_t len = pkt_build(d, f, sizeof(f));
	struct check probe = { 0 };

	c->step = what;
	if (!len || off >= len || comp >= len)
		return failf(c, "fixture: cannot build the frame");
	if (!verify_frame(&probe, f, len))
		return failf(c, "rejects the frame as built: %s", probe.msg);
	f[off]++;
	if (comp)
		f[comp]--;
	memset(&probe, 0, sizeof(probe));
	if (verify_frame(&probe, f, len))
		return failf(c, "accepts it with byte %zu changed", off);
	return true;
}

static bool nat_verifier(struct suite *s, struct check *c)
{
	const struct pkt_desc tcp =
		TCP(BOB, 1, REMOTE, 2, TH_SYN, .payload_len = 9);
	const struct pkt_desc udp = UDP(BOB, 1, REMOTE, 2, .payload_len = 9);
	const struct pkt_desc echo =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 1, .payload_len = 9);
	const struct pkt_desc err = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					 .icmp_code = ICMP_C_FRAG_NEEDED,
					 .inner = &tcp, .quote_l4 = 20);
	const struct pkt_desc bare = TCP(BOB, 1, REMOTE, 2, TH_SYN);
	const struct pkt_desc err_bare =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &bare,
		     .quote_l4 = 20);
	const size_t ip = PKT_ETH_LEN, icmp = ip + 20, inner = icmp + 8;

	(void)s;
	/* The MTU field (icmp + 6, 0x0500) absorbs the compensation. */
	return verifier_catches(c, &tcp, ip + 12, 0, "IPv4 header") &&
	       verifier_catches(c, &tcp, ip + 20 + 20 + 3, 0, "TCP payload") &&
	       verifier_catches(c, &udp, ip + 20 + 8 + 3, 0, "UDP payload") &&
	       verifier_catches(c, &echo, ip + 20 + 8 + 3, 0, "ICMP payload") &&
	       verifier_catches(c, &err, inner + 20 + 4, 0, "ICMP error") &&
	       verifier_catches(c, &err, inner + 12, icmp + 6,
				"quoted IPv4 header") &&
	       verifier_catches(c, &err_bare, inner + 20 + 4, icmp + 6,
				"quoted TCP header, whole");
}

/* ---- 1: service DNAT on the wg address ------------------------------------ */

static bool nat_dnat_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(ALICE, 40000, ROUTER, 3000, TH_SYN);
	const struct pkt_desc syn_out = TCP(ALICE, 40000, API, 3000, TH_SYN);
	const struct pkt_desc synack =
		TCP(API, 3000, ALICE, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(ROUTER, 3000, ALICE, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(ALICE, 40000, ROUTER, 3000,
					 TH_ACK | TH_PSH, .payload_len = 101);
	const struct pkt_desc data_out = TCP(
		ALICE, 40000, API, 3000, TH_ACK | TH_PSH, .payload_len = 101);

	return nat_send(s, c, "SYN", INGRESS, &syn, NX_RX(ID_ALICE),
			&syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_SERVICE_DNAT, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false)) &&
	       expect_no_ct(s, c, &syn_out) &&
	       nat_send(s, c, "SYN-ACK", EGRESS, &synack, NX_TX(ID_ALICE),
			&synack_out) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_EST_S, true)) &&
	       nat_send(s, c, "data", INGRESS, &data, NX_RX(ID_ALICE),
			&data_out) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_dnat_denied(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CAROL, 40001, ROUTER, 3000, TH_SYN);
	const struct pkt_desc query = UDP(BOB, 41000, ROUTER, 53);

	return nat_send(s, c, "carol's SYN", INGRESS, &syn,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_CAROL), NULL) &&
	       expect_nat_count(s, c, 0) && expect_no_ct(s, c, &syn) &&
	       nat_send(s, c, "bob's query", INGRESS, &query,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_BOB), NULL) &&
	       expect_nat_count(s, c, 0) && expect_no_ct(s, c, &query);
}

static bool nat_dnat_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP(ALICE, 41000, ROUTER, 53, .payload_len = 32);
	const struct pkt_desc q_out =
		UDP(ALICE, 41000, DNS, 53, .payload_len = 32);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41000, .payload_len = 81);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41000, .payload_len = 81);

	return nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       expect_nat_pair(s, c, &q, &q_out,
			       NAT_WANT(CG_NAT_SERVICE_DNAT, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       expect_ct(s, c, &q,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, UDP_S,
			       false)) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out) &&
	       expect_ct(s, c, &q,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       UDP_EST_S, true)) &&
	       nat_send(s, c, "second query", INGRESS, &q, NX_RX(ID_ALICE),
			&q_out) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_dnat_udp_no_csum(struct suite *s, struct check *c)
{
	const struct pkt_desc q = UDP(ALICE, 41001, ROUTER, 53,
				      .payload_len = 32, .udp_no_csum = true);
	const struct pkt_desc q_out = UDP(
		ALICE, 41001, DNS, 53, .payload_len = 32, .udp_no_csum = true);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41001, .payload_len = 80,
				      .udp_no_csum = true);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41001, .payload_len = 80,
		    .udp_no_csum = true);

	return nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out);
}

static bool nat_dnat_udp_csum_zero(struct suite *s, struct check *c)
{
	uint8_t qp[32], ap[64];
	const struct pkt_desc q = UDP(ALICE, 41002, ROUTER, 53,
				      .payload_len = sizeof(qp), .payload = qp);
	const struct pkt_desc q_out =
		UDP(ALICE, 41002, DNS, 53, .payload_len = sizeof(qp),
		    .payload = qp);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41002,
				      .payload_len = sizeof(ap), .payload = ap);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41002, .payload_len = sizeof(ap),
		    .payload = ap);

	craft_zero_csum(&q_out, qp);
	craft_zero_csum(&a_out, ap);
	return expect_crafted(c, &q, &q_out) && expect_crafted(c, &a, &a_out) &&
	       nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out);
}

/* ---- 2: masquerade on the uplink ------------------------------------------ */

static bool nat_masq_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc syn_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc synack =
		TCP(REMOTE, 443, UPLINK, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(REMOTE, 443, BOB, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(BOB, 45000, REMOTE, 443,
					 TH_ACK | TH_PSH, .payload_len = 200);
	const struct pkt_desc data_out =
		TCP(UPLINK, 45000, REMOTE, 443, TH_ACK | TH_PSH,
		    .payload_len = 200);
	const struct pkt_desc reply = TCP(REMOTE, 443, UPLINK, 45000,
					  TH_ACK | TH_PSH, .payload_len = 301);
	const struct pkt_desc reply_out = TCP(
		REMOTE, 443, BOB, 45000, TH_ACK | TH_PSH, .payload_len = 301);
	const struct pkt_desc opts = TCP(BOB, 45000, REMOTE, 443, TH_ACK,
					 .opt_len = 12, .payload_len = 20);
	const struct pkt_desc opts_out = TCP(UPLINK, 45000, REMOTE, 443, TH_ACK,
					     .opt_len = 12, .payload_len = 20);
	const struct pkt_desc opts_back =
		TCP(REMOTE, 443, UPLINK, 45000, TH_ACK, .opt_len = 40);
	const struct pkt_desc opts_back_out =
		TCP(REMOTE, 443, BOB, 45000, TH_ACK, .opt_len = 40);
	struct cg_nat_stats a, b;

	return nat_stats(s, c, &a) &&
	       nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
			&syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       nat_send(s, c, "SYN-ACK", UPLINK_XDP, &synack, NX_XDP_PASS,
			&synack_out) &&
	       nat_send(s, c, "data", UPLINK_EGRESS, &data, NX_TC_PASS,
			&data_out) &&
	       nat_send(s, c, "reply", UPLINK_XDP, &reply, NX_XDP_PASS,
			&reply_out) &&
	       nat_send(s, c, "with IP options", UPLINK_EGRESS, &opts,
			NX_TC_PASS, &opts_out) &&
	       nat_send(s, c, "back with 40 bytes of options", UPLINK_XDP,
			&opts_back, NX_XDP_PASS, &opts_back_out) &&
	       expect_nat_count(s, c, 2) && nat_stats(s, c, &b) &&
	       expect_stats(c, &a, &b, 1, 0, 0, 0);
}

/* Both halves of key's pair live at most FIN_S more seconds, and are
 * marked closing. */
static bool expect_closing(struct suite *s, struct check *c, const char *which,
			   const struct cg_ct_key *key)
{
	struct cg_nat_entry e;
	char what[2][48];
	uint64_t now = monotonic_ns();

	if (!nat_get(s, c, key, &e))
		return false;
	snprintf(what[0], sizeof(what[0]), "cg_nat %s .closing", which);
	snprintf(what[1], sizeof(what[1]), "cg_nat %s life left (s)", which);
	return expect_eq(c, what[0], 1, e.closing) &&
	       expect_range(c, what[1], 1, TCP_FIN_S,
			    (e.expires_ns - now) / NSEC + 1);
}

/* A FIN in one direction closes the pair: the other half is cut too, and
 * the last ACKs after the FINs do not stretch either back to hours (which
 * kept closed flows' ports reserved for TCP_EST_S). */
static bool nat_masq_close(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45100, REMOTE, 443, TH_SYN);
	const struct pkt_desc syn_out = TCP(UPLINK, 45100, REMOTE, 443, TH_SYN);
	const struct pkt_desc synack =
		TCP(REMOTE, 443, UPLINK, 45100, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(REMOTE, 443, BOB, 45100, TH_SYN | TH_ACK);
	const struct pkt_desc fin =
		TCP(REMOTE, 443, UPLINK, 45100, TH_FIN | TH_ACK);
	const struct pkt_desc fin_out =
		TCP(REMOTE, 443, BOB, 45100, TH_FIN | TH_ACK);
	const struct pkt_desc ack = TCP(BOB, 45100, REMOTE, 443, TH_ACK);
	const struct pkt_desc ack_out = TCP(UPLINK, 45100, REMOTE, 443, TH_ACK);
	const struct pkt_desc ack2 = TCP(REMOTE, 443, UPLINK, 45100, TH_ACK);
	const struct pkt_desc ack2_out = TCP(REMOTE, 443, BOB, 45100, TH_ACK);
	struct cg_ct_key orig = key_of(&syn), reply = key_of(&synack);

	return nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
			&syn_out) &&
	       nat_send(s, c, "SYN-ACK", UPLINK_XDP, &synack, NX_XDP_PASS,
			&synack_out) &&
	       nat_send(s, c, "ACK", UPLINK_EGRESS, &ack, NX_TC_PASS,
			&ack_out) &&
	       nat_send(s, c, "server's FIN", UPLINK_XDP, &fin, NX_XDP_PASS,
			&fin_out) &&
	       expect_closing(s, c, "reply", &reply) &&
	       expect_closing(s, c, "orig (the FIN's twin)", &orig) &&
	       nat_send(s, c, "client's last ACK", UPLINK_EGRESS, &ack,
			NX_TC_PASS, &ack_out) &&
	       nat_send(s, c, "server's late ACK", UPLINK_XDP, &ack2,
			NX_XDP_PASS, &ack2_out) &&
	       expect_closing(s, c, "orig after ACK", &orig) &&
	       expect_closing(s, c, "reply after ACK", &reply);
}

static bool nat_masq_collision(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol = TCP(CAROL, 45000, REMOTE, 443, TH_SYN);
	struct pkt_desc carol_out = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	struct pkt_desc to_carol = TCP(REMOTE, 443, UPLINK, 0, TH_SYN | TH_ACK);
	const struct pkt_desc to_carol_out =
		TCP(REMOTE, 443, CAROL, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob =
		TCP(REMOTE, 443, UPLINK, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob_out =
		TCP(REMOTE, 443, BOB, 45000, TH_SYN | TH_ACK);
	struct cg_nat_stats a, b;
	uint16_t port;
	struct run r;

	if (!nat_stats(s, c, &a) ||
	    !nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_xmit(s, c, "carol's SYN", UPLINK_EGRESS, &carol, NX_TC_PASS,
		      &r) ||
	    !nat_moved_port(s, c, &carol, 45000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	carol_out.sport = port;
	to_carol.dport = port;
	/* One collision, two if the random try hit 45000 as well. */
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       expect_nat_count(s, c, 4) && nat_stats(s, c, &b) &&
	       expect_stats(c, &a, &b, 2, 1, 2, 0) &&
	       nat_send(s, c, "reply to carol", UPLINK_XDP, &to_carol,
			NX_XDP_PASS, &to_carol_out) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out);
}

static bool nat_masq_icmp(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = ICMP(BOB, REMOTE, ICMP_T_ECHO,
					 .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc bob_out = ICMP(UPLINK, REMOTE, ICMP_T_ECHO,
					     .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc to_bob = ICMP(REMOTE, UPLINK, ICMP_T_ECHOREPLY,
					    .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc to_bob_out =
		ICMP(REMOTE, BOB, ICMP_T_ECHOREPLY, .icmp_id = 77,
		     .payload_len = 56);
	const struct pkt_desc carol = ICMP(CAROL, REMOTE, ICMP_T_ECHO,
					   .icmp_id = 77, .payload_len = 57);
	struct pkt_desc carol_out =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .payload_len = 57);
	struct pkt_desc to_carol =
		ICMP(REMOTE, UPLINK, ICMP_T_ECHOREPLY, .payload_len = 57);
	const struct pkt_desc to_carol_out =
		ICMP(REMOTE, CAROL, ICMP_T_ECHOREPLY, .icmp_id = 77,
		     .payload_len = 57);
	uint16_t id;
	struct run r;

	if (!nat_send(s, c, "bob's request", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !expect_nat_pair(s, c, &bob, &bob_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, true)) ||
	    !nat_send(s, c, "bob's reply", UPLINK_XDP, &to_bob, NX_XDP_PASS,
		      &to_bob_out) ||
	    !nat_xmit(s, c, "carol's request, same id", UPLINK_EGRESS, &carol,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &carol, 77, NAT_PORT_MIN, NAT_PORT_MAX, &id))
		return false;
	carol_out.icmp_id = id;
	to_carol.icmp_id = id;
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       nat_send(s, c, "carol's reply", UPLINK_XDP, &to_carol,
			NX_XDP_PASS, &to_carol_out) &&
	       expect_nat_count(s, c, 4);
}

/* UDP both ways, with checksum 0 (kept) and one computing to 0 (0xffff),
 * on a flow whose port moved: two incremental updates in a row. */
static bool nat_masq_udp(struct suite *s, struct check *c)
{
	uint8_t p_in[40], p_out[60], p_bob[50];
	const struct pkt_desc bob =
		UDP(BOB, 45010, REMOTE, 53, .payload_len = 40);
	const struct pkt_desc bob_out =
		UDP(UPLINK, 45010, REMOTE, 53, .payload_len = 40);
	const struct pkt_desc to_bob =
		UDP(REMOTE, 53, UPLINK, 45010, .payload_len = 33);
	const struct pkt_desc to_bob_out =
		UDP(REMOTE, 53, BOB, 45010, .payload_len = 33);
	/* Only the address changes: the 4-byte update must yield 0xffff. */
	const struct pkt_desc to_bob0 =
		UDP(REMOTE, 53, UPLINK, 45010, .payload_len = sizeof(p_bob),
		    .payload = p_bob);
	const struct pkt_desc to_bob0_out =
		UDP(REMOTE, 53, BOB, 45010, .payload_len = sizeof(p_bob),
		    .payload = p_bob);
	const struct pkt_desc carol =
		UDP(CAROL, 45010, REMOTE, 53, .payload_len = 40,
		    .udp_no_csum = true);
	struct pkt_desc carol_out = UDP(UPLINK, 0, REMOTE, 53,
					.payload_len = 40, .udp_no_csum = true);
	struct pkt_desc to_carol0 = UDP(REMOTE, 53, UPLINK, 0,
					.payload_len = 60, .udp_no_csum = true);
	const struct pkt_desc to_carol0_out =
		UDP(REMOTE, 53, CAROL, 45010, .payload_len = 60,
		    .udp_no_csum = true);
	/* Crafted so that the translated checksums compute to 0. */
	const struct pkt_desc carol2 =
		UDP(CAROL, 45010, REMOTE, 53, .payload_len = sizeof(p_in),
		    .payload = p_in);
	struct pkt_desc carol2_out =
		UDP(UPLINK, 0, REMOTE, 53, .payload_len = sizeof(p_in),
		    .payload = p_in);
	struct pkt_desc to_carol =
		UDP(REMOTE, 53, UPLINK, 0, .payload_len = sizeof(p_out),
		    .payload = p_out);
	const struct pkt_desc to_carol_out =
		UDP(REMOTE, 53, CAROL, 45010, .payload_len = sizeof(p_out),
		    .payload = p_out);
	uint16_t port;
	struct run r;

	craft_zero_csum(&to_bob0_out, p_bob);
	if (!expect_crafted(c, &to_bob0, &to_bob0_out) ||
	    !nat_send(s, c, "bob's query", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_send(s, c, "bob's answer", UPLINK_XDP, &to_bob, NX_XDP_PASS,
		      &to_bob_out) ||
	    !nat_send(s, c, "bob's answer, checksum to 0", UPLINK_XDP, &to_bob0,
		      NX_XDP_PASS, &to_bob0_out) ||
	    !nat_xmit(s, c, "carol's query, no checksum", UPLINK_EGRESS, &carol,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &carol, 45010, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	carol_out.sport = to_carol0.dport = port;
	carol2_out.sport = to_carol.dport = port;
	craft_zero_csum(&carol2_out, p_in);
	craft_zero_csum(&to_carol_out, p_out);
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       nat_send(s, c, "carol's answer, no checksum", UPLINK_XDP,
			&to_carol0, NX_XDP_PASS, &to_carol0_out) &&
	       expect_crafted(c, &carol2, &carol2_out) &&
	       expect_crafted(c, &to_carol, &to_carol_out) &&
	       nat_send(s, c, "carol's query, checksum to 0", UPLINK_EGRESS,
			&carol2, NX_TC_PASS, &carol2_out) &&
	       nat_send(s, c, "carol's answer, checksum to 0", UPLINK_XDP,
			&to_carol, NX_XDP_PASS, &to_carol_out);
}

/* WireGuard's own port on the uplink: its packets pass both hooks
 * without a lookup and leave no state, and masquerade never hands the
 * port out: a peer's UDP from it is moved, so no reply XDP translates can
 * be one of WireGuard's. Positive control: another port is kept. */
static bool nat_wg_port(struct suite *s, struct check *c)
{
	const struct pkt_desc wg_out =
		UDP(UPLINK, WG_PORT, REMOTE, 51821, .payload_len = 32);
	const struct pkt_desc wg_in =
		UDP(REMOTE, 51821, UPLINK, WG_PORT, .payload_len = 48);
	const struct pkt_desc kept =
		UDP(BOB, 45020, REMOTE, 53, .payload_len = 20);
	const struct pkt_desc kept_out =
		UDP(UPLINK, 45020, REMOTE, 53, .payload_len = 20);
	const struct pkt_desc bob =
		UDP(BOB, WG_PORT, REMOTE, 53, .payload_len = 20);
	struct pkt_desc bob_out = UDP(UPLINK, 0, REMOTE, 53, .payload_len = 20);
	struct pkt_desc to_bob = UDP(REMOTE, 53, UPLINK, 0, .payload_len = 24);
	const struct pkt_desc to_bob_out =
		UDP(REMOTE, 53, BOB, WG_PORT, .payload_len = 24);
	uint16_t port;
	struct run r;

	if (!nat_send(s, c, "WireGuard's packet out", UPLINK_EGRESS, &wg_out,
		      NX_TC_PASS, NULL) ||
	    !nat_send(s, c, "WireGuard's packet in", UPLINK_XDP, &wg_in,
		      NX_XDP_PASS, NULL) ||
	    !expect_nat_count(s, c, 0) ||
	    !nat_send(s, c, "bob from another port", UPLINK_EGRESS, &kept,
		      NX_TC_PASS, &kept_out) ||
	    !nat_xmit(s, c, "bob from WireGuard's port", UPLINK_EGRESS, &bob,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob, WG_PORT, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	bob_out.sport = to_bob.dport = port;
	return expect_frame(c, &r, &bob_out) && expect_nat_count(s, c, 4) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out);
}

/* The router's reservation of the reply tuple of own. */
static bool expect_host_entry(struct suite *s, struct check *c,
			      const struct pkt_desc *own)
{
	struct cg_ct_key k = key_of(own), r = key_rev(&k);
	static const struct nat_want host = { .kind = CG_NAT_HOST };
	struct cg_nat_entry e;

	if (!expect_nat_entry(s, c, "host", &r, CG_NAT_REPLY, &r, &host) ||
	    !nat_get(s, c, &r, &e))
		return false;
	if (e.expires_ns <= monotonic_ns())
		return failf(
			c, "cg_nat host entry: expired %llu ns ago",
			(unsigned long long)(monotonic_ns() - e.expires_ns));
	return true;
}

static bool nat_router_flow(struct suite *s, struct check *c)
{
	const struct pkt_desc own = TCP(UPLINK, 50000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own_reply =
		TCP(REMOTE, 443, UPLINK, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc ping =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .icmp_id = 5000);
	const struct pkt_desc bob = TCP(BOB, 50000, REMOTE, 443, TH_SYN);
	struct pkt_desc bob_out = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	struct pkt_desc to_bob = TCP(REMOTE, 443, UPLINK, 0, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob_out =
		TCP(REMOTE, 443, BOB, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc bob_ping =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 5000);
	uint16_t port, id;
	struct run r;

	if (!nat_send(s, c, "router's SYN", UPLINK_EGRESS, &own, NX_TC_PASS,
		      NULL) ||
	    !expect_host_entry(s, c, &own) || !expect_nat_count(s, c, 1) ||
	    !nat_send(s, c, "its SYN-ACK", UPLINK_XDP, &own_reply, NX_XDP_PASS,
		      NULL) ||
	    !nat_send(s, c, "router's ping", UPLINK_EGRESS, &ping, NX_TC_PASS,
		      NULL) ||
	    !expect_host_entry(s, c, &ping) || !expect_nat_count(s, c, 2) ||
	    !nat_xmit(s, c, "bob's SYN on the router's port", UPLINK_EGRESS,
		      &bob, NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob, 50000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	bob_out.sport = to_bob.dport = port;
	if (!expect_frame(c, &r, &bob_out) ||
	    !nat_xmit(s, c, "bob's ping with the router's id", UPLINK_EGRESS,
		      &bob_ping, NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob_ping, 5000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &id))
		return false;
	return expect_nat_count(s, c, 6) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out) &&
	       nat_send(s, c, "router's reply still its own", UPLINK_XDP,
			&own_reply, NX_XDP_PASS, NULL);
}

static bool nat_router_conflict(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);

	return nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_send(s, c, "router's SYN on bob's tuple", UPLINK_EGRESS,
			&own, NX_TC_DROP(CG_DROP_NAT_CONFLICT, ID_UNKNOWN),
			NULL) &&
	       expect_nat_count(s, c, 2) &&
	       expect_nat_pair(s, c, &bob, &bob_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

/* A reservation that expired (and was not collected yet) is renewed by
 * the router's next packet, as a translation's entry would be: until the
 * router stops using the tuple, masquerade must not hand it out. */
static bool nat_router_renew(struct suite *s, struct check *c)
{
	const struct pkt_desc own = TCP(UPLINK, 50000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own_ack = TCP(UPLINK, 50000, REMOTE, 443, TH_ACK);
	const struct pkt_desc bob = TCP(BOB, 50000, REMOTE, 443, TH_SYN);
	struct cg_ct_key k = key_of(&own), r = key_rev(&k);
	uint16_t port;
	struct run out;

	return nat_send(s, c, "router's SYN", UPLINK_EGRESS, &own, NX_TC_PASS,
			NULL) &&
	       nat_expire(s, c, &r) &&
	       nat_send(s, c, "router's ACK after idling", UPLINK_EGRESS,
			&own_ack, NX_TC_PASS, NULL) &&
	       expect_host_entry(s, c, &own) &&
	       nat_xmit(s, c, "bob's SYN on the router's port", UPLINK_EGRESS,
			&bob, NX_TC_PASS, &out) &&
	       nat_moved_port(s, c, &bob, 50000, NAT_PORT_MIN, NAT_PORT_MAX,
			      &port);
}

/* ---- 3: port allocation limits ------------------------------------------- */

/* 32 flows take the 32 ports of the range; the 33rd tries all 32 and is
 * dropped, leaving no entry behind. */
static bool nat_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc carol =
		TCP(CAROL, SMALL_MIN, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol2 =
		TCP(CAROL, SMALL_MIN, REMOTE2, 443, TH_SYN);
	const struct pkt_desc carol2_out =
		TCP(UPLINK, SMALL_MIN, REMOTE2, 443, TH_SYN);
	struct cg_ct_key k = key_of(&carol);
	struct cg_nat_stats a, b;
	char step[48];
	uint32_t p;

	if (!nat_write_settings(s, c, SMALL_MIN, SMALL_MAX))
		return false;
	for (p = SMALL_MIN; p <= SMALL_MAX; p++) {
		const struct pkt_desc bob =
			TCP(BOB, (uint16_t)p, REMOTE, 443, TH_SYN);
		const struct pkt_desc out =
			TCP(UPLINK, (uint16_t)p, REMOTE, 443, TH_SYN);

		snprintf(step, sizeof(step), "bob's SYN from %u", p);
		if (!nat_send(s, c, step, UPLINK_EGRESS, &bob, NX_TC_PASS,
			      &out))
			return false;
	}
	return expect_nat_count(s, c, 64) && nat_stats(s, c, &a) &&
	       nat_send(s, c, "carol's SYN, every port taken", UPLINK_EGRESS,
			&carol, NX_TC_DROP(CG_DROP_NAT_EXHAUSTED, ID_CAROL),
			NULL) &&
	       nat_stats(s, c, &b) && expect_stats(c, &a, &b, 0, 32, 32, 1) &&
	       expect_no_nat(s, c, &k) && expect_nat_count(s, c, 64) &&
	       nat_send(s, c, "carol's SYN to another server", UPLINK_EGRESS,
			&carol2, NX_TC_PASS, &carol2_out) &&
	       expect_nat_count(s, c, 66);
}

static bool nat_forward_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP(CLIENT, SMALL_MIN, UPLINK, 8080, TH_SYN);
	struct cg_ct_key k = key_of(&syn);
	struct cg_fwd_counters fa, fb;
	struct cg_nat_stats a, b;

	return nat_write_settings(s, c, SMALL_MIN, SMALL_MAX) &&
	       nat_fill_small_range(s, c, WEB, 80, CLIENT) &&
	       nat_stats(s, c, &a) && fwd_get(s, c, 2, &fa) &&
	       nat_send(s, c, "SYN to forward 2", UPLINK_XDP, &syn, NX_XDP_DROP,
			NULL) &&
	       nat_stats(s, c, &b) && fwd_get(s, c, 2, &fb) &&
	       expect_stats(c, &a, &b, 0, 32, 32, 1) &&
	       expect_fwd(c, &fa, &fb, 0, 0, 0, 1) && expect_no_nat(s, c, &k) &&
	       expect_nat_count(s, c, 32);
}

static bool nat_wg_snat_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP(API, SMALL_MIN, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc wire =
		TCP(ROUTER, SMALL_MIN, CELL_HOST, 3000, TH_SYN);
	struct cg_ct_key k = key_of(&syn);

	return nat_write_settings(s, c, SMALL_MIN, SMALL_MAX) &&
	       nat_fill_small_range(s, c, CELL_HOST, 3000, ROUTER) &&
	       nat_send(s, c, "bridge SYN to the cell", EGRESS, &syn,
			NX_TC_DROP(CG_DROP_NAT_EXHAUSTED, ID_CELL), NULL) &&
	       expect_no_nat(s, c, &k) && expect_nat_count(s, c, 32) &&
	       expect_no_ct(s, c, &syn) && expect_no_ct(s, c, &wire);
}

/* ---- 4: ICMP errors about masqueraded flows -------------------------------- */

/* The whole path: bob's SYN in over wg0, out masqueraded; the error comes
 * back to the uplink, is turned toward bob and leaves on wg0 as related. */
static bool nat_icmp_err_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc sent = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &syn);
	const struct pkt_desc err20 = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					   .icmp_code = ICMP_C_FRAG_NEEDED,
					   .inner = &sent, .quote_l4 = 20);
	const struct pkt_desc err20_out = ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
					       .icmp_code = ICMP_C_FRAG_NEEDED,
					       .inner = &syn, .quote_l4 = 20);
	/* IP options in the error's header and in the quoted one. */
	const struct pkt_desc sent_opts =
		TCP(UPLINK, 45000, REMOTE, 443, TH_SYN, .opt_len = 8);
	const struct pkt_desc syn_opts =
		TCP(BOB, 45000, REMOTE, 443, TH_SYN, .opt_len = 8);
	const struct pkt_desc err_opts =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent_opts,
		     .quote_l4 = 20, .opt_len = 4);
	const struct pkt_desc err_opts_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &syn_opts,
		     .quote_l4 = 20, .opt_len = 4);

	return nat_send(s, c, "SYN on wg0", INGRESS, &syn, NX_RX(ID_BOB),
			NULL) &&
	       nat_send(s, c, "SYN on the uplink", UPLINK_EGRESS, &syn,
			NX_TC_PASS, &sent) &&
	       nat_send(s, c, "frag-needed, 8 bytes quoted", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out) &&
	       nat_send(s, c, "frag-needed to bob on wg0", EGRESS, &err_out,
			NX_TX(ID_BOB), NULL) &&
	       nat_send(s, c, "frag-needed, 20 bytes quoted", UPLINK_XDP,
			&err20, NX_XDP_PASS, &err20_out) &&
	       nat_send(s, c, "the same to bob on wg0", EGRESS, &err20_out,
			NX_TX(ID_BOB), NULL) &&
	       nat_send(s, c, "frag-needed with IP options", UPLINK_XDP,
			&err_opts, NX_XDP_PASS, &err_opts_out);
}

/* carol's flow was given another port: the quoted port and the checksums
 * covering it change as well. */
static bool nat_icmp_err_tcp_moved(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol = TCP(CAROL, 45000, REMOTE, 443, TH_SYN);
	struct pkt_desc sent = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &carol);
	const struct pkt_desc err20 = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					   .icmp_code = ICMP_C_FRAG_NEEDED,
					   .inner = &sent, .quote_l4 = 20);
	const struct pkt_desc err20_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &carol,
		     .quote_l4 = 20);
	struct run r;

	return nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_xmit(s, c, "carol's SYN", UPLINK_EGRESS, &carol, NX_TC_PASS,
			&r) &&
	       nat_moved_port(s, c, &carol, 45000, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.sport) &&
	       expect_frame(c, &r, &sent) &&
	       nat_send(s, c, "frag-needed, 8 bytes quoted", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out) &&
	       nat_send(s, c, "frag-needed, 20 bytes quoted", UPLINK_XDP,
			&err20, NX_XDP_PASS, &err20_out);
}

/* The quoted UDP header holds its checksum: updated, or kept 0. */
static bool nat_icmp_err_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = UDP(BOB, 45010, REMOTE, 53);
	const struct pkt_desc bob_out = UDP(UPLINK, 45010, REMOTE, 53);
	const struct pkt_desc bob0 =
		UDP(BOB, 45011, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc bob0_out =
		UDP(UPLINK, 45011, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc carol = UDP(CAROL, 45010, REMOTE, 53);
	const struct pkt_desc carol0 =
		UDP(CAROL, 45011, REMOTE, 53, .udp_no_csum = true);
	struct pkt_desc sent = UDP(UPLINK, 0, REMOTE, 53);
	struct pkt_desc sent0 = UDP(UPLINK, 0, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc err =
		ICMP(REMOTE, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(REMOTE, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &carol);
	const struct pkt_desc err0 =
		ICMP(REMOTE, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &sent0);
	const struct pkt_desc err0_out =
		ICMP(REMOTE, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &carol0);
	struct run r;

	return nat_send(s, c, "bob's datagram", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_send(s, c, "bob's datagram, no checksum", UPLINK_EGRESS,
			&bob0, NX_TC_PASS, &bob0_out) &&
	       nat_xmit(s, c, "carol's datagram", UPLINK_EGRESS, &carol,
			NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol, 45010, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.sport) &&
	       expect_frame(c, &r, &sent) &&
	       nat_xmit(s, c, "carol's datagram, no checksum", UPLINK_EGRESS,
			&carol0, NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol0, 45011, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent0.sport) &&
	       expect_frame(c, &r, &sent0) &&
	       nat_send(s, c, "port unreachable", UPLINK_XDP, &err, NX_XDP_PASS,
			&err_out) &&
	       nat_send(s, c, "port unreachable, no inner checksum", UPLINK_XDP,
			&err0, NX_XDP_PASS, &err0_out);
}

/* The quoted echo request gets its identifier back, and the quoted ICMP
 * checksum with it. */
static bool nat_icmp_err_echo(struct suite *s, struct check *c)
{
	const struct pkt_desc bob =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	const struct pkt_desc bob_out =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	const struct pkt_desc carol =
		ICMP(CAROL, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	struct pkt_desc sent = ICMP(UPLINK, REMOTE, ICMP_T_ECHO);
	const struct pkt_desc err_bob =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_TIMXCEED, .inner = &bob_out);
	const struct pkt_desc err_bob_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_TIMXCEED, .inner = &bob);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_TIMXCEED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_TIMXCEED, .inner = &carol);
	struct run r;

	return nat_send(s, c, "bob's request", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_xmit(s, c, "carol's request, same id", UPLINK_EGRESS, &carol,
			NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol, 77, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.icmp_id) &&
	       expect_frame(c, &r, &sent) &&
	       nat_send(s, c, "time exceeded about bob's", UPLINK_XDP, &err_bob,
			NX_XDP_PASS, &err_bob_out) &&
	       nat_send(s, c, "time exceeded about carol's", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out);
}

static bool nat_icmp_err_unrelated(struct suite *s, struct check *c)
{
	const struct pkt_desc stray = TCP(UPLINK, 45999, REMOTE, 443, TH_SYN);
	const struct pkt_desc err = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					 .icmp_code = ICMP_C_FRAG_NEEDED,
					 .inner = &stray, .quote_l4 = 20);

	return nat_send(s, c, "frag-needed about no flow", UPLINK_XDP, &err,
			NX_XDP_PASS, NULL) &&
	       expect_nat_count(s, c, 0);
}

/* ---- 5: port forwards ------------------------------------------------------ */

static bool nat_fwd_bridge(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc syn_out = TCP(CLIENT, 50000, WEB, 80, TH_SYN);
	const struct pkt_desc synack =
		TCP(WEB, 80, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 8080, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(CLIENT, 50000, UPLINK, 8080,
					 TH_ACK | TH_PSH, .payload_len = 60);
	const struct pkt_desc data_out =
		TCP(CLIENT, 50000, WEB, 80, TH_ACK | TH_PSH, .payload_len = 60);
	struct cg_fwd_counters a, mid, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn,
			NX_XDP_PASS, &syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_FORWARD, 2, 0, true)) &&
	       expect_nat_count(s, c, 2) && fwd_get(s, c, 2, &mid) &&
	       expect_fwd(c, &a, &mid, 1, 40, 0, 0) &&
	       nat_send(s, c, "SYN-ACK from the bridge", UPLINK_EGRESS, &synack,
			NX_TC_PASS, &synack_out) &&
	       nat_send(s, c, "data at the uplink", UPLINK_XDP, &data,
			NX_XDP_PASS, &data_out) &&
	       expect_nat_count(s, c, 2) && fwd_get(s, c, 2, &b) &&
	       expect_fwd(c, &a, &b, 2, 40 + 100, 0, 0);
}

static bool nat_fwd_denied(struct suite *s, struct check *c)
{
	const struct pkt_desc blocked =
		TCP(BLOCKED, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc outside =
		TCP(CLIENT_OUT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc edge =
		TCP(CLIENT_EDGE, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc edge_out =
		TCP(CLIENT_EDGE, 50000, WEB, 80, TH_SYN);
	struct cg_fwd_counters a, mid, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "SYN from 192.0.2.5", UPLINK_XDP, &blocked,
			NX_XDP_DROP, NULL) &&
	       nat_send(s, c, "SYN from 198.51.101.9", UPLINK_XDP, &outside,
			NX_XDP_DROP, NULL) &&
	       expect_nat_count(s, c, 0) && fwd_get(s, c, 2, &mid) &&
	       expect_fwd(c, &a, &mid, 0, 0, 2, 0) &&
	       nat_send(s, c, "SYN from 198.51.100.255", UPLINK_XDP, &edge,
			NX_XDP_PASS, &edge_out) &&
	       fwd_get(s, c, 2, &b) && expect_fwd(c, &mid, &b, 1, 40, 0, 0) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_fwd_none(struct suite *s, struct check *c)
{
	const struct pkt_desc port = TCP(CLIENT, 50001, UPLINK, 9999, TH_SYN);
	const struct pkt_desc proto = UDP(CLIENT, 50001, UPLINK, 8080);
	const struct pkt_desc addr =
		TCP(CLIENT, 50001, OTHER_ADDR, 8080, TH_SYN);
	struct cg_fwd_counters a, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "tcp to port 9999", UPLINK_XDP, &port,
			NX_XDP_PASS, NULL) &&
	       nat_send(s, c, "udp to port 8080", UPLINK_XDP, &proto,
			NX_XDP_PASS, NULL) &&
	       nat_send(s, c, "tcp 8080 of another address", UPLINK_XDP, &addr,
			NX_XDP_PASS, NULL) &&
	       expect_nat_count(s, c, 0) && fwd_get(s, c, 2, &b) &&
	       expect_fwd(c, &a, &b, 0, 0, 0, 0);
}

/* Forward 1 leads to a peer: the destination is rewritten in XDP, the
 * source on wg0 egress; dave's reply is turned back in two steps. */
static bool nat_fwd_peer_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50000, UPLINK, 22015, TH_SYN);
	const struct pkt_desc to_wg = TCP(CLIENT, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc wire = TCP(ROUTER, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc synack =
		TCP(DAVE, 22, ROUTER, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_in =
		TCP(DAVE, 22, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 22015, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc ack = TCP(CLIENT, 50000, UPLINK, 22015, TH_ACK);
	const struct pkt_desc ack_wg = TCP(CLIENT, 50000, DAVE, 22, TH_ACK);
	const struct pkt_desc ack_wire = TCP(ROUTER, 50000, DAVE, 22, TH_ACK);
	struct cg_fwd_counters a, b;

	return fwd_get(s, c, 1, &a) &&
	       nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn,
			NX_XDP_PASS, &to_wg) &&
	       expect_nat_pair(s, c, &syn, &to_wg,
			       NAT_WANT(CG_NAT_FORWARD, 1, 1, true)) &&
	       expect_nat_count(s, c, 2) &&
	       nat_send(s, c, "SYN on wg0", EGRESS, &to_wg, NX_TX(ID_DAVE),
			&wire) &&
	       expect_nat_pair(s, c, &to_wg, &wire,
			       NAT_WANT(CG_NAT_WG_SNAT, 1, 0, true)) &&
	       expect_nat_count(s, c, 4) &&
	       expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			     ID_DAVE, false) &&
	       expect_no_ct(s, c, &to_wg) &&
	       nat_send(s, c, "dave's SYN-ACK on wg0", INGRESS, &synack,
			NX_RX(ID_DAVE), &synack_in) &&
	       expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			     ID_UNKNOWN, ID_DAVE, true) &&
	       nat_send(s, c, "SYN-ACK at the uplink", UPLINK_EGRESS,
			&synack_in, NX_TC_PASS, &synack_out) &&
	       nat_send(s, c, "ACK at the uplink", UPLINK_XDP, &ack,
			NX_XDP_PASS, &ack_wg) &&
	       nat_send(s, c, "ACK on wg0", EGRESS, &ack_wg, NX_TX(ID_DAVE),
			&ack_wire) &&
	       expect_nat_count(s, c, 4) && fwd_get(s, c, 1, &b) &&
	       expect_fwd(c, &a, &b, 2, 80, 0, 0);
}

static bool nat_fwd_peer_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP(CLIENT, 50003, UPLINK, 5353, .payload_len = 30);
	const struct pkt_desc q_wg =
		UDP(CLIENT, 50003, DAVE, 53, .payload_len = 30);
	const struct pkt_desc q_wire =
		UDP(ROUTER, 50003, DAVE, 53, .payload_len = 30);
	const struct pkt_desc a =
		UDP(DAVE, 53, ROUTER, 50003, .payload_len = 91);
	const struct pkt_desc a_in =
		UDP(DAVE, 53, CLIENT, 50003, .payload_len = 91);
	const struct pkt_desc a_out =
		UDP(UPLINK, 5353, CLIENT, 50003, .payload_len = 91);

	return nat_send(s, c, "query at the uplink", UPLINK_XDP, &q,
			NX_XDP_PASS, &q_wg) &&
	       expect_nat_pair(s, c, &q, &q_wg,
			       NAT_WANT(CG_NAT_FORWARD, 3, 1, true)) &&
	       nat_send(s, c, "query on wg0", EGRESS, &q_wg, NX_TX(ID_DAVE),
			&q_wire) &&
	       expect_nat_pair(s, c, &q_wg, &q_wire,
			       NAT_WANT(CG_NAT_WG_SNAT, 3, 0, true)) &&
	       expect_ct_ids(s, c, &q_wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			     ID_DAVE, false) &&
	       nat_send(s, c, "dave's answer on wg0", INGRESS, &a,
			NX_RX(ID_DAVE), &a_in) &&
	       expect_ct_ids(s, c, &q_wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			     ID_UNKNOWN, ID_DAVE, true) &&
	       nat_send(s, c, "answer at the uplink", UPLINK_EGRESS, &a_in,
			NX_TC_PASS, &a_out) &&
	       expect_nat_count(s, c, 4);
}

/* Forward 4 keeps the client's address: wg0 egress admits the flow as
 * forwarded while the forward's translation lives, not after. */
static bool nat_fwd_snat_never(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50002, UPLINK, 2222, TH_SYN);
	const struct pkt_desc to_wg = TCP(CLIENT, 50002, DAVE, 22, TH_SYN);
	const struct pkt_desc synack =
		TCP(DAVE, 22, CLIENT, 50002, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 2222, CLIENT, 50002, TH_SYN | TH_ACK);
	const struct pkt_desc ack = TCP(CLIENT, 50002, DAVE, 22, TH_ACK);

	if (!nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn, NX_XDP_PASS,
		      &to_wg) ||
	    !expect_nat_pair(s, c, &syn, &to_wg,
			     NAT_WANT(CG_NAT_FORWARD, 4, 0, true)) ||
	    !nat_send(s, c, "SYN on wg0", EGRESS, &to_wg, NX_TX(ID_DAVE),
		      NULL) ||
	    !expect_nat_count(s, c, 2) ||
	    !expect_ct_ids(s, c, &to_wg, CG_CT_FORWARDED, CG_CT_NEW, ID_UNKNOWN,
			   ID_DAVE, false) ||
	    !nat_send(s, c, "dave's SYN-ACK on wg0", INGRESS, &synack,
		      NX_RX(ID_DAVE), NULL) ||
	    !nat_send(s, c, "SYN-ACK at the uplink", UPLINK_EGRESS, &synack,
		      NX_TC_PASS, &synack_out) ||
	    !update_peer(s, c, "dave", dave_rejudge_json) ||
	    !nat_send(s, c, "ACK after a re-judge", EGRESS, &ack,
		      NX_TX(ID_DAVE), NULL) ||
	    !expect_ct_ids(s, c, &to_wg, CG_CT_FORWARDED, CG_CT_ESTABLISHED,
			   ID_UNKNOWN, ID_DAVE, true))
		return false;
	c->step = "dp_forget_owner(4)";
	return expect_eq(c, "dp_forget_owner(4)", 2,
			 (uint64_t)dp_forget_owner(&s->dp, 4)) &&
	       expect_nat_count(s, c, 0) &&
	       update_peer(s, c, "dave", dave_rejudge_back_json) &&
	       nat_send(s, c, "ACK once the forward is gone", EGRESS, &ack,
			NX_TC_DROP(CG_DROP_UNSOLICITED, ID_DAVE), NULL) &&
	       expect_no_ct(s, c, &to_wg);
}

/* ---- 6: bridge to a linked cell ------------------------------------------- */

static bool nat_bridge_cell(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(API, 40000, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc wire =
		TCP(ROUTER, 40000, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc synack =
		TCP(CELL_HOST, 3000, ROUTER, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(CELL_HOST, 3000, API, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc ack =
		TCP(API, 40000, CELL_HOST, 3000, TH_ACK, .payload_len = 10);
	const struct pkt_desc ack_wire =
		TCP(ROUTER, 40000, CELL_HOST, 3000, TH_ACK, .payload_len = 10);
	const struct pkt_desc syn2 = TCP(API2, 40000, CELL_HOST, 3000, TH_SYN);
	struct pkt_desc wire2 = TCP(ROUTER, 0, CELL_HOST, 3000, TH_SYN);
	struct pkt_desc synack2 =
		TCP(CELL_HOST, 3000, ROUTER, 0, TH_SYN | TH_ACK);
	const struct pkt_desc synack2_out =
		TCP(CELL_HOST, 3000, API2, 40000, TH_SYN | TH_ACK);
	struct run r;

	if (!nat_send(s, c, "bridge SYN", EGRESS, &syn, NX_TX(ID_CELL),
		      &wire) ||
	    !expect_nat_pair(s, c, &syn, &wire,
			     NAT_WANT(CG_NAT_BRIDGE_SNAT, 0, 0, true)) ||
	    !expect_nat_count(s, c, 2) ||
	    !expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			   ID_CELL, false) ||
	    !expect_no_ct(s, c, &syn) ||
	    !nat_send(s, c, "the cell's SYN-ACK", INGRESS, &synack,
		      NX_RX(ID_CELL), &synack_out) ||
	    !expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			   ID_UNKNOWN, ID_CELL, true) ||
	    !nat_send(s, c, "bridge ACK", EGRESS, &ack, NX_TX(ID_CELL),
		      &ack_wire) ||
	    !nat_xmit(s, c, "another bridge host, same port", EGRESS, &syn2,
		      NX_TX(ID_CELL), &r) ||
	    !nat_moved_port(s, c, &syn2, 40000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &wire2.sport))
		return false;
	synack2.dport = wire2.sport;
	return expect_frame(c, &r, &wire2) &&
	       nat_send(s, c, "the cell's SYN-ACK to it", INGRESS, &synack2,
			NX_RX(ID_CELL), &synack2_out) &&
	       expect_nat_count(s, c, 4);
}

static bool nat_bridge_peer(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(API, 40001, ALICE, 8443, TH_SYN);

	return nat_send(s, c, "bridge SYN to alice", EGRESS, &syn,
			NX_TX(ID_ALICE), NULL) &&
	       expect_nat_count(s, c, 0) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", TCP_SYN_S,
			       false));
}

/* ---- 7: fragments ---------------------------------------------------------- */

/* carol's datagram was given another port, so a program that wrote ports
 * or an L4 checksum into a later fragment would change its data. */
static bool nat_fragments(struct suite *s, struct check *c)
{
	const struct pkt_desc bob =
		UDP(BOB, 45020, REMOTE, 4500, .payload_len = 16);
	const struct pkt_desc bob_out =
		UDP(UPLINK, 45020, REMOTE, 4500, .payload_len = 16);
	const struct pkt_desc first =
		UDP(CAROL, 45020, REMOTE, 4500, .ip_id = 999, .mf = true,
		    .payload_len = 64);
	struct pkt_desc first_out = UDP(UPLINK, 0, REMOTE, 4500, .ip_id = 999,
					.mf = true, .payload_len = 64);
	const struct pkt_desc later =
		UDP(CAROL, 45020, REMOTE, 4500, .ip_id = 999, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc later_out =
		UDP(UPLINK, 0, REMOTE, 0, .ip_id = 999, .frag_off = 9,
		    .payload_len = 40);
	struct pkt_desc back_first = UDP(REMOTE, 4500, UPLINK, 0, .ip_id = 555,
					 .mf = true, .payload_len = 64);
	const struct pkt_desc back_first_out =
		UDP(REMOTE, 4500, CAROL, 45020, .ip_id = 555, .mf = true,
		    .payload_len = 64);
	const struct pkt_desc back_later =
		UDP(REMOTE, 0, UPLINK, 0, .ip_id = 555, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc back_later_out =
		UDP(REMOTE, 0, CAROL, 0, .ip_id = 555, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc orphan =
		UDP(CAROL, 45021, REMOTE, 4500, .ip_id = 4242, .frag_off = 9,
		    .payload_len = 40);
	struct run r;

	if (!nat_send(s, c, "bob's datagram", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_xmit(s, c, "carol's first fragment", UPLINK_EGRESS, &first,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &first, 45020, NAT_PORT_MIN, NAT_PORT_MAX,
			    &first_out.sport))
		return false;
	back_first.dport = first_out.sport;
	return expect_frame(c, &r, &first_out) &&
	       nat_send(s, c, "carol's later fragment", UPLINK_EGRESS, &later,
			NX_TC_PASS, &later_out) &&
	       nat_send(s, c, "first fragment back", UPLINK_XDP, &back_first,
			NX_XDP_PASS, &back_first_out) &&
	       nat_send(s, c, "later fragment back", UPLINK_XDP, &back_later,
			NX_XDP_PASS, &back_later_out) &&
	       expect_nat_count(s, c, 4) &&
	       /* A later fragment whose first was never seen has no
		* translation: dropped, not sent with carol's address. */
	       nat_send(s, c, "orphan later fragment", UPLINK_EGRESS, &orphan,
			NX_TC_DROP(CG_DROP_FRAGMENT, ID_CAROL), NULL) &&
	       expect_nat_count(s, c, 4);
}

/* ---- 8: the controller's side ---------------------------------------------- */

static bool nat_gc_pairs(struct suite *s, struct check *c)
{
	const struct pkt_desc a = TCP(BOB, 45030, REMOTE, 443, TH_SYN);
	const struct pkt_desc a_out = TCP(UPLINK, 45030, REMOTE, 443, TH_SYN);
	const struct pkt_desc b = TCP(CAROL, 45031, REMOTE, 443, TH_SYN);
	const struct pkt_desc b_out = TCP(UPLINK, 45031, REMOTE, 443, TH_SYN);
	const struct pkt_desc d = TCP(BOB, 45032, REMOTE, 443, TH_SYN);
	const struct pkt_desc d_out = TCP(UPLINK, 45032, REMOTE, 443, TH_SYN);
	struct cg_ct_key ka = key_of(&a), kb = key_of(&b);
	struct cg_ct_key ka_out = key_of(&a_out), kb_out = key_of(&b_out);
	struct cg_ct_key kd_out = key_of(&d_out);
	struct cg_ct_key ka_r = key_rev(&ka_out), kb_r = key_rev(&kb_out);
	struct cg_ct_key kd_r = key_rev(&kd_out);

	/* a: both halves expired; b: only the original; d: only the
	 * reply. */
	if (!nat_send(s, c, "flow a", UPLINK_EGRESS, &a, NX_TC_PASS, &a_out) ||
	    !nat_send(s, c, "flow b", UPLINK_EGRESS, &b, NX_TC_PASS, &b_out) ||
	    !nat_send(s, c, "flow d", UPLINK_EGRESS, &d, NX_TC_PASS, &d_out) ||
	    !expect_nat_count(s, c, 6) || !nat_expire(s, c, &ka) ||
	    !nat_expire(s, c, &ka_r) || !nat_expire(s, c, &kb) ||
	    !nat_expire(s, c, &kd_r))
		return false;
	c->step = "dp_gc";
	if (!expect_eq(c, "dp_gc deleted", 2,
		       (uint64_t)dp_gc(&s->dp, monotonic_ns())) ||
	    !expect_no_nat(s, c, &ka) || !expect_no_nat(s, c, &ka_r) ||
	    !expect_nat_pair(s, c, &b, &b_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, false)) ||
	    !expect_nat_pair(s, c, &d, &d_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, false)) ||
	    !expect_nat_count(s, c, 4) || !nat_expire(s, c, &kb_r))
		return false;
	c->step = "dp_gc, b's reply expired too";
	return expect_eq(c, "dp_gc deleted", 2,
			 (uint64_t)dp_gc(&s->dp, monotonic_ns())) &&
	       expect_no_nat(s, c, &kb) && expect_no_nat(s, c, &kb_r) &&
	       expect_nat_count(s, c, 2) &&
	       expect_nat_pair(s, c, &d, &d_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

static bool nat_forget_owner(struct suite *s, struct check *c)
{
	const struct pkt_desc f1 = TCP(CLIENT, 50000, UPLINK, 22015, TH_SYN);
	const struct pkt_desc f1_wg = TCP(CLIENT, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc f1_wire = TCP(ROUTER, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc f2 = TCP(CLIENT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc f2_out = TCP(CLIENT, 50000, WEB, 80, TH_SYN);
	const struct pkt_desc f3 = UDP(CLIENT, 50003, UPLINK, 5353);
	const struct pkt_desc f3_out = UDP(CLIENT, 50003, DAVE, 53);
	const struct pkt_desc m = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc m_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	struct cg_ct_key k1 = key_of(&f1), k1_wg = key_of(&f1_wg);
	struct cg_ct_key k1_wire = key_of(&f1_wire);
	struct cg_ct_key k1_r = key_rev(&k1_wg), k1_wire_r = key_rev(&k1_wire);

	if (!nat_send(s, c, "forward 1 at the uplink", UPLINK_XDP, &f1,
		      NX_XDP_PASS, &f1_wg) ||
	    !nat_send(s, c, "forward 1 on wg0", EGRESS, &f1_wg, NX_TX(ID_DAVE),
		      &f1_wire) ||
	    !nat_send(s, c, "forward 2", UPLINK_XDP, &f2, NX_XDP_PASS,
		      &f2_out) ||
	    !nat_send(s, c, "forward 3", UPLINK_XDP, &f3, NX_XDP_PASS,
		      &f3_out) ||
	    !nat_send(s, c, "masquerade", UPLINK_EGRESS, &m, NX_TC_PASS,
		      &m_out) ||
	    !expect_nat_count(s, c, 10))
		return false;
	c->step = "dp_forget_owner(1)";
	return expect_eq(c, "dp_forget_owner(1)", 4,
			 (uint64_t)dp_forget_owner(&s->dp, 1)) &&
	       expect_nat_count(s, c, 6) && expect_no_nat(s, c, &k1) &&
	       expect_no_nat(s, c, &k1_r) && expect_no_nat(s, c, &k1_wg) &&
	       expect_no_nat(s, c, &k1_wire_r) &&
	       expect_nat_pair(s, c, &f2, &f2_out,
			       NAT_WANT(CG_NAT_FORWARD, 2, 0, false)) &&
	       expect_nat_pair(s, c, &f3, &f3_out,
			       NAT_WANT(CG_NAT_FORWARD, 3, 1, false)) &&
	       expect_nat_pair(s, c, &m, &m_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

/* ---- the table ------------------------------------------------------------- */

static const struct flow nat_flows[] = {
	{ "nat: the checksum verifier catches what it must", nat_verifier },
	{ "nat: service DNAT tcp 3000 on wg0, both ways", nat_dnat_tcp },
	{ "nat: no access to api: denied, nothing installed", nat_dnat_denied },
	{ "nat: service DNAT udp 53 on wg0, both ways", nat_dnat_udp },
	{ "nat: DNAT keeps a UDP checksum of 0", nat_dnat_udp_no_csum },
	{ "nat: DNAT sends a UDP checksum computing to 0 as 0xffff",
	  nat_dnat_udp_csum_zero },
	{ "nat: masquerade tcp keeps the port; reply in XDP", nat_masq_tcp },
	{ "nat: a FIN closes both halves; late ACKs keep them short",
	  nat_masq_close },
	{ "nat: masquerade moves a taken port; replies to each",
	  nat_masq_collision },
	{ "nat: masquerade ICMP echo, id kept and moved", nat_masq_icmp },
	{ "nat: masquerade udp, checksums 0 and 0xffff", nat_masq_udp },
	{ "nat: WireGuard's port: no lookup, never masquerade's", nat_wg_port },
	{ "nat: router's own flow passes and reserves its tuple",
	  nat_router_flow },
	{ "nat: router's flow on a masqueraded tuple is a conflict",
	  nat_router_conflict },
	{ "nat: router's next packet renews an expired reservation",
	  nat_router_renew },
	{ "nat: 32 ports taken: NAT_EXHAUSTED, nothing half-installed",
	  nat_exhausted },
	{ "nat: forward with no free port: XDP drop, nat_failed",
	  nat_forward_exhausted },
	{ "nat: bridge -> cell with no free port: NAT_EXHAUSTED",
	  nat_wg_snat_exhausted },
	{ "nat: frag-needed about a masqueraded tcp flow, to its peer",
	  nat_icmp_err_tcp },
	{ "nat: frag-needed about a flow whose port moved",
	  nat_icmp_err_tcp_moved },
	{ "nat: port unreachable about masqueraded udp flows",
	  nat_icmp_err_udp },
	{ "nat: time exceeded about masqueraded echo requests",
	  nat_icmp_err_echo },
	{ "nat: ICMP error about no flow passes untouched",
	  nat_icmp_err_unrelated },
	{ "nat: forward 8080 -> bridge, reply on the uplink", nat_fwd_bridge },
	{ "nat: forward allow_from drops other sources", nat_fwd_denied },
	{ "nat: ports without a forward pass XDP untouched", nat_fwd_none },
	{ "nat: forward 22015 -> peer with SNAT on wg0, both ways",
	  nat_fwd_peer_tcp },
	{ "nat: forward udp 5353 -> peer with SNAT on wg0, both ways",
	  nat_fwd_peer_udp },
	{ "nat: forward without SNAT: FORWARDED until forgotten",
	  nat_fwd_snat_never },
	{ "nat: bridge -> linked cell gets the wg address", nat_bridge_cell },
	{ "nat: bridge -> peer keeps its source", nat_bridge_peer },
	{ "nat: later fragments get addresses only", nat_fragments },
	{ "nat: dp_gc deletes a pair only when both halves expired",
	  nat_gc_pairs },
	{ "nat: dp_forget_owner removes exactly forward 1's entries",
	  nat_forget_owner },
};

static void run_nat_cases(struct suite *s)
{
	struct check c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nat_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (nat_cell_build(s, &c))
			nat_flows[i].run(s, &c);
		report(s, nat_flows[i].name, &c);
	}
	nat_cell_teardown(s);
}

#endif
