// SPDX-License-Identifier: MIT
/*
 * The NAT cases' fixture, part 2 (after nat_fixture.h): reading and
 * expecting cg_nat entries and the other maps a translation moves,
 * building the NAT cell, packets with a chosen UDP checksum.
 */
#ifndef CG_TEST_NAT_MAPS_H
#define CG_TEST_NAT_MAPS_H

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

#endif
