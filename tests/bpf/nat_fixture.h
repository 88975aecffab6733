// SPDX-License-Identifier: MIT
/*
 * The NAT cases' fixture, part 1 (nat_cases.h includes the parts in
 * order): the NAT cell's addresses and ports, an independent checksum
 * verifier (RFC 1071, sharing nothing with bpf/lib/csum.h), comparing
 * frames byte for byte, and running packets through any hook.
 */
#ifndef CG_TEST_NAT_FIXTURE_H
#define CG_TEST_NAT_FIXTURE_H

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

/* Check an IPv6 packet's L4 checksum (ICMPv6's too: it has a pseudo
 * header) from scratch, and an ICMPv6 error's quoted packet. Packets
 * with extension headers other than one Fragment header are not
 * checked; neither are fragments (their L4 sum spans the datagram). */
static bool v_ipv6(struct check *c, const char *where, const uint8_t *ip,
		   size_t avail, bool quoted)
{
	size_t plen;
	const uint8_t *l4 = ip + 40;
	uint32_t pseudo;
	char what[64];
	uint8_t nh;

	if (avail < 40 || ip[0] >> 4 != 6)
		return failf(c, "%s: not an IPv6 header", where);
	plen = (size_t)ip[4] << 8 | ip[5];
	if (!quoted && 40 + plen != avail)
		return failf(c, "%s: IPv6 payload length %zu, %zu bytes", where,
			     plen, avail - 40);
	nh = ip[6];
	if (nh == 44)
		return true; /* a fragment */
	if (40 + plen > avail)
		return true; /* quoted in part */
	pseudo = v_add(0, ip + 8, 32) + (uint32_t)plen + nh;
	switch (nh) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		snprintf(what, sizeof(what), "%s %s checksum (IPv6)", where,
			 nh == IPPROTO_TCP ? "TCP" : "UDP");
		return v_sums_ok(c, what, v_add(pseudo, l4, plen));
	case IPPROTO_ICMPV6:
		snprintf(what, sizeof(what), "%s ICMPv6 checksum", where);
		if (plen < 8)
			return failf(c, "%s: ICMPv6 header cut", where);
		if (!v_sums_ok(c, what, v_add(pseudo, l4, plen)))
			return false;
		if (quoted || l4[0] < 1 || l4[0] > 4)
			return true;
		return v_ipv6(c, "inner", l4 + 8, plen - 8, true);
	default:
		return true;
	}
}

static bool verify_frame(struct check *c, const uint8_t *f, size_t len)
{
	if (len >= PKT_ETH_LEN + 40 && f[12] == 0x86 && f[13] == 0xdd)
		return v_ipv6(c, "output", f + PKT_ETH_LEN, len - PKT_ETH_LEN,
			      false);
	if (len < PKT_ETH_LEN + 20 || f[12] != 0x08 || f[13] != 0x00)
		return true; /* neither IPv4 nor IPv6: nothing to check */
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

#endif
