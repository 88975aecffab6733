// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/policy.c: what the identity, service and local-net
 * maps will hold. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct policy pol;

static void setup(void)
{
	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	state_init(&st, &cfg);
	memset(&pol, 0, sizeof(pol));
}

static void teardown(void)
{
	policy_free(&pol);
	state_free(&st);
}

static void put_svc(const char *name, const char *body)
{
	json_object *o = tu_json(body);
	struct cg_error err = { 0 };

	ck_assert_msg(state_put_service(&st, name, o, &err) == 0, "%s: %s",
		      err.field, err.msg);
	json_object_put(o);
}

static uint32_t add_peer(const char *name, unsigned int seed, const char *addr,
			 const char *extra)
{
	char key[WG_KEY_B64_LEN + 1], body[512];
	struct cg_error err = { 0 };
	struct cg_peer_def added;
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"%s\", \"public_key\": \"%s\", \"ip\": \"%s\"%s}",
		 name, key, addr, extra ? extra : "");
	o = tu_json(body);
	ck_assert_msg(state_add_peer(&st, o, NULL, &added, &err) == 0, "%s: %s",
		      err.field, err.msg);
	json_object_put(o);
	return added.id;
}

static struct cg_addr_key addr_key(const char *s)
{
	struct cg_addr_key k;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(inet_pton(AF_INET, s, k.addr), 1);
	return k;
}

static const struct policy_peer *find(const char *addr)
{
	struct cg_addr_key k = addr_key(addr);

	return policy_find_peer(&pol, &k);
}

static bool bit(const __u64 *words, uint32_t n)
{
	return words[n / 64] & (1ull << (n % 64));
}

/* calendar 0, files 1, mail 2; dnat entries make no service entries. */
static void services(void)
{
	put_svc("calendar",
		"{\"endpoints\": [{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\","
		" \"port\": 80}], \"dnat\": [{\"proto\": \"tcp\", \"port\": "
		"5232, \"to_ip\": \"172.20.0.21\", \"to_port\": 5232}]}");
	put_svc("files", "{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			 "\"proto\": \"any\"}]}");
	put_svc("mail", "{\"endpoints\": [{\"ip\": \"172.20.0.23\", "
			"\"proto\": \"tcp\", \"port\": 25}, {\"ip\": "
			"\"172.20.0.23\", \"proto\": \"udp\", \"port\": 0}, "
			"{\"ip\": \"172.20.0.24\", \"proto\": \"icmp\"}]}");
}

START_TEST(test_peer_entries)
{
	const struct policy_peer *e;
	struct policy_peer one;
	uint32_t alice, bob, carol;
	size_t i;

	services();
	/* Added out of address order. */
	carol = add_peer("carol", 3, "10.0.0.200", ", \"peer_to_peer\": true");
	alice = add_peer("alice", 1, "10.0.0.2",
			 ", \"service_access\": [\"calendar\", \"mail\"], "
			 "\"internet_access\": true");
	bob = add_peer("bob", 2, "10.0.0.3",
		       ", \"service_access\": [\"files\"], \"peer_to_peer\": "
		       "true, \"internet_access\": true");
	add_peer("dave", 4, "10.0.0.100", NULL);
	add_peer("erin", 5, "10.0.0.20", NULL);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_peers, 5);

	/* Sorted by key, so the dataplane loader and bsearch agree. */
	for (i = 1; i < pol.n_peers; i++)
		ck_assert_int_lt(memcmp(&pol.peers[i - 1].key,
					&pol.peers[i].key,
					sizeof(struct cg_addr_key)),
				 0);

	e = find("10.0.0.2");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->key.addr[0], 10);
	ck_assert_uint_eq(e->key.addr[1], 0);
	ck_assert_uint_eq(e->key.addr[2], 0);
	ck_assert_uint_eq(e->key.addr[3], 2);
	ck_assert_uint_eq(e->value.id, alice);
	ck_assert_uint_eq(e->value.id, 2);
	ck_assert_int_eq(e->value.kind, CG_KIND_PEER);
	ck_assert_uint_eq(e->value.epoch, 0);
	ck_assert_uint_eq(e->value.internet_access, 1);
	ck_assert_uint_eq(e->value.peer_to_peer, 0);
	ck_assert(bit(e->value.services, state_service(&st, "calendar")->id));
	ck_assert(bit(e->value.services, state_service(&st, "mail")->id));
	ck_assert(!bit(e->value.services, state_service(&st, "files")->id));
	ck_assert_uint_eq(e->value.services[0], (1ull << 0) | (1ull << 2));
	/* Every peer may reach its own API: that kept id's bit, no other. */
	for (i = 1; i < CG_SERVICE_WORDS; i++)
		ck_assert_uint_eq(
			e->value.services[i],
			i == CG_PEER_API_SERVICE_ID / 64 ?
				1ull << (CG_PEER_API_SERVICE_ID % 64) :
				0);

	e = find("10.0.0.3");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value.id, bob);
	ck_assert_int_eq(e->value.kind, CG_KIND_PEER);
	ck_assert_uint_eq(e->value.internet_access, 1);
	ck_assert_uint_eq(e->value.peer_to_peer, 1);
	ck_assert_uint_eq(e->value.services[0], 1ull << 1);

	e = find("10.0.0.200");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value.id, carol);
	ck_assert_uint_eq(e->value.id, 1);
	ck_assert_uint_eq(e->value.internet_access, 0);
	ck_assert_uint_eq(e->value.peer_to_peer, 1);
	ck_assert_uint_eq(e->value.services[0], 0);

	ck_assert_uint_eq(find("10.0.0.100")->value.id, 4);
	ck_assert_uint_eq(find("10.0.0.20")->value.id, 5);
	/* Addresses no peer has. */
	ck_assert_ptr_null(find("10.0.0.4"));
	ck_assert_ptr_null(find("10.0.0.1"));
	ck_assert_ptr_null(find("10.0.0.0"));
	ck_assert_ptr_null(find("10.0.0.255"));
	ck_assert_ptr_null(find("2.0.0.10"));
	ck_assert_ptr_null(find("172.20.0.21"));

	/* policy_peer_entry makes the same entry on its own. */
	policy_peer_entry(&st, state_peer(&st, "bob"), &one);
	e = find("10.0.0.3");
	ck_assert_mem_eq(&one, e, sizeof(one));
}
END_TEST

START_TEST(test_peer_entries_many)
{
	char name[16], addr[16];
	struct cg_addr_key k;
	unsigned int i;

	/* A /16 so that the order of every byte matters. */
	tu_config(&cfg, "{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			"\"wireguard\": {\"address\": \"10.7.0.1/16\"}, "
			"\"bridge\": {\"interface\": \"br0\"}}");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		/* A scattered walk over 10.7.x.y. */
		snprintf(addr, sizeof(addr), "10.7.%u.%u", (i * 37) % 256,
			 (i * 101) % 253 + 2);
		add_peer(name, i + 10, addr, NULL);
	}
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_peers, 300);
	for (i = 0; i < st.n_peers; i++) {
		const struct cg_peer_def *p = &st.peers[i];
		const struct policy_peer *e;

		memcpy(k.addr, &p->ip.s_addr, 4);
		e = policy_find_peer(&pol, &k);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->value.id, p->id);
	}
	ck_assert_ptr_null(find("10.7.0.1"));
	ck_assert_ptr_null(find("10.8.0.2"));
}
END_TEST

START_TEST(test_service_entries)
{
	const struct cg_service_def *svc;
	size_t i, n_any = 0;

	services();
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	/* calendar 1, files 3 (any), mail 3: tcp/25, udp/0, icmp; then the
	 * sync listener and the peer API, last. */
	ck_assert_uint_eq(pol.n_services, 7 + 2);
	for (i = 0; i < pol.n_services - 2; i++) {
		const struct policy_service *e = &pol.services[i];

		ck_assert_uint_eq(e->key.pad, 0);
		ck_assert_uint_eq(e->key.addr[0], 172);
		ck_assert_uint_eq(e->key.addr[1], 20);
		ck_assert_uint_eq(e->key.addr[2], 0);
		switch (e->key.addr[3]) {
		case 21:
			ck_assert_uint_eq(e->key.proto, IPPROTO_TCP);
			ck_assert_uint_eq(e->key.port, 80);
			ck_assert_uint_eq(e->value.service_id, 0);
			break;
		case 22:
			ck_assert_uint_eq(e->key.port, 0);
			ck_assert_uint_eq(e->value.service_id, 1);
			if (e->key.proto == IPPROTO_TCP)
				n_any |= 1;
			else if (e->key.proto == IPPROTO_UDP)
				n_any |= 2;
			else if (e->key.proto == IPPROTO_ICMP)
				n_any |= 4;
			else
				ck_abort_msg("proto %u", e->key.proto);
			break;
		case 23:
			ck_assert_uint_eq(e->value.service_id, 2);
			if (e->key.proto == IPPROTO_TCP) {
				ck_assert_uint_eq(e->key.port, 25);
			} else {
				ck_assert_uint_eq(e->key.proto, IPPROTO_UDP);
				ck_assert_uint_eq(e->key.port, 0);
			}
			break;
		case 24:
			ck_assert_uint_eq(e->value.service_id, 2);
			ck_assert_uint_eq(e->key.proto, IPPROTO_ICMP);
			ck_assert_uint_eq(e->key.port, 0);
			break;
		default:
			ck_abort_msg("unexpected entry for .%u",
				     e->key.addr[3]);
		}
	}
	/* "any" became exactly tcp, udp and icmp. */
	ck_assert_uint_eq(n_any, 7);

	/* One service on its own, in endpoint order. */
	{
		struct policy_service out[POLICY_MAX_SERVICE_ENTRIES];

		svc = state_service(&st, "files");
		ck_assert_uint_eq(policy_service_entries(svc, out, 8), 3);
		ck_assert_uint_eq(out[0].key.proto, IPPROTO_TCP);
		ck_assert_uint_eq(out[1].key.proto, IPPROTO_UDP);
		ck_assert_uint_eq(out[2].key.proto, IPPROTO_ICMP);
		for (i = 0; i < 3; i++) {
			ck_assert_uint_eq(out[i].key.port, 0);
			ck_assert_uint_eq(out[i].value.service_id, 1);
			ck_assert_uint_eq(out[i].key.addr[3], 22);
		}
		/* The cap is respected. */
		memset(out, 0xee, sizeof(out));
		ck_assert_uint_eq(policy_service_entries(svc, out, 2), 2);
		ck_assert_uint_eq(out[2].key.proto, 0xee);
		ck_assert_uint_eq(policy_service_entries(svc, out, 0), 0);
		svc = state_service(&st, "calendar");
		ck_assert_uint_eq(policy_service_entries(svc, out, 8), 1);
		ck_assert_uint_eq(out[0].key.port, 80);
	}
}
END_TEST

START_TEST(test_service_ids_in_bitmaps)
{
	char name[16], body[128];
	const struct policy_peer *e;
	int i;

	/* Ids past the first bitmap word. */
	for (i = 0; i < 130; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(body, sizeof(body),
			 "{\"endpoints\": [{\"ip\": \"172.21.0.%d\", "
			 "\"proto\": \"tcp\"}]}",
			 i + 1);
		put_svc(name, body);
	}
	add_peer("alice", 1, "10.0.0.2",
		 ", \"service_access\": [\"s0\", \"s63\", \"s64\", \"s129\"]");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	/* + the sync listener and the peer API */
	ck_assert_uint_eq(pol.n_services, 130 + 2);
	e = find("10.0.0.2");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value.services[0], 1ull | (1ull << 63));
	ck_assert_uint_eq(e->value.services[1], 1ull);
	ck_assert_uint_eq(e->value.services[2], 1ull << 1);
	/* Peers never get the sync listener's bit (id 255, word 3), only
	 * the peer API's (254). */
	ck_assert_uint_eq(e->value.services[3],
			  1ull << (CG_PEER_API_SERVICE_ID % 64));
	for (i = 0; i < (int)pol.n_services - 2; i++)
		ck_assert_uint_eq(pol.services[i].value.service_id,
				  (unsigned int)pol.services[i].key.addr[3] -
					  1);
}
END_TEST

START_TEST(test_nets_example)
{
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	/* Nothing for an empty state but the WireGuard subnet, the sync
	 * listener (the wg address, tcp 8471, the default, its own id) and
	 * the peer API (tcp 8470). */
	ck_assert_uint_eq(pol.n_peers, 0);
	ck_assert_uint_eq(pol.n_services, 2);
	ck_assert_uint_eq(pol.services[1].key.port, 8470);
	ck_assert_uint_eq(pol.services[1].value.service_id,
			  CG_PEER_API_SERVICE_ID);
	ck_assert_uint_eq(pol.services[0].key.addr[0], 10);
	ck_assert_uint_eq(pol.services[0].key.addr[3], 1);
	ck_assert_uint_eq(pol.services[0].key.port, 8471);
	ck_assert_uint_eq(pol.services[0].key.proto, IPPROTO_TCP);
	ck_assert_uint_eq(pol.services[0].value.service_id, CG_SYNC_SERVICE_ID);
	ck_assert_ptr_null(find("10.0.0.2"));
	ck_assert_uint_eq(pol.n_nets, 1);
	ck_assert_uint_eq(pol.nets[0].key.prefixlen, 24);
	ck_assert_uint_eq(pol.nets[0].key.addr[0], 10);
	ck_assert_uint_eq(pol.nets[0].key.addr[1], 0);
	ck_assert_uint_eq(pol.nets[0].key.addr[2], 0);
	ck_assert_uint_eq(pol.nets[0].key.addr[3], 0);
	ck_assert_int_eq(pol.nets[0].value.kind, CG_NET_WG_SUBNET);
}
END_TEST

/* The bridge's allowed sources: service endpoints and dnat backends,
 * forward targets, the operator's /32s; prefixes apart. */
START_TEST(test_bridge_sources)
{
	size_t i;

	tu_config(&cfg, "{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			"\"wireguard\": {\"address\": \"10.0.0.1/24\"}, "
			"\"bridge\": {\"interface\": \"br0\", "
			"\"allowed_sources\": [\"172.20.0.50\", "
			"\"172.20.0.64/28\", \"172.20.0.21\"]}}");
	services();
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	/* .21 .22 .23 .24 from services (.21 once), .50 from the config. */
	ck_assert_uint_eq(pol.n_bridge_src, 5);
	for (i = 0; i < pol.n_bridge_src; i++) {
		const struct policy_bridge_src *e = &pol.bridge_src[i];

		ck_assert_uint_eq(e->key.addr[0], 172);
		ck_assert_int_eq(e->value.kind, e->key.addr[3] == 50 ?
							CG_BRSRC_OPERATOR :
							CG_BRSRC_SERVICE);
	}
	ck_assert_uint_eq(pol.n_bridge_nets, 1);
	ck_assert_uint_eq(pol.bridge_nets[0].key.prefixlen, 28);
	ck_assert_uint_eq(pol.bridge_nets[0].key.addr[3], 64);
	ck_assert_uint_eq(pol.n_bridge_src6, 0);

	/* IPv6: endpoints on the bridge and the operator's entries. */
	policy_free(&pol);
	cfg.bridge.allowed_sources6[0].prefix = 128;
	ck_assert(parse_ipv6("fd20::50", &cfg.bridge.allowed_sources6[0].addr));
	cfg.bridge.allowed_sources6[1].prefix = 64;
	ck_assert(parse_ipv6("fd21::", &cfg.bridge.allowed_sources6[1].addr));
	cfg.bridge.n_allowed_sources6 = 2;
	cfg.wireguard.has_address6 = true;
	ck_assert(parse_cidr6("fd10::/64", &cfg.wireguard.subnet6.addr,
			      &cfg.wireguard.subnet6.prefix, false));
	put_svc("cal6", "{\"endpoints\": [{\"ip\": \"fd20::21\", "
			"\"proto\": \"tcp\", \"port\": 80}]}");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_bridge_src, 5);
	ck_assert_uint_eq(pol.n_bridge_src6, 2);
	ck_assert_uint_eq(pol.bridge_src6[0].key.addr[15], 0x21);
	ck_assert_int_eq(pol.bridge_src6[0].value.kind, CG_BRSRC_SERVICE);
	ck_assert_uint_eq(pol.bridge_src6[1].key.addr[15], 0x50);
	ck_assert_int_eq(pol.bridge_src6[1].value.kind, CG_BRSRC_OPERATOR);
	ck_assert_uint_eq(pol.n_bridge_nets6, 1);
	ck_assert_uint_eq(pol.bridge_nets6[0].key.prefixlen, 64);

	/* A backend in the WireGuard subnet (a peer) is no bridge host: a
	 * bridge host must not be able to send as it. */
	policy_free(&pol);
	put_svc("onpeer", "{\"endpoints\": [{\"ip\": \"10.0.0.9\", "
			  "\"proto\": \"tcp\", \"port\": 22}]}");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_bridge_src, 5);

	/* Off: nothing to enforce. */
	policy_free(&pol);
	cfg.bridge.anti_spoofing = false;
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_bridge_src, 0);
	ck_assert_uint_eq(pol.n_bridge_nets, 0);
	ck_assert_uint_eq(pol.n_bridge_src6, 0);
	ck_assert_uint_eq(pol.n_bridge_nets6, 0);
}
END_TEST

START_TEST(test_nets_bridge_and_local)
{
	tu_config(&cfg, "{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			"\"wireguard\": {\"address\": \"10.8.1.1/20\"}, "
			"\"bridge\": {\"interface\": \"br0\", \"subnet\": "
			"\"172.20.0.0/16\"}, \"local_networks\": "
			"[\"192.168.1.0/24\", \"10.200.0.0/14\"]}");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_nets, 4);
	/* The wg subnet with its host bits cleared. */
	ck_assert_uint_eq(pol.nets[0].key.prefixlen, 20);
	ck_assert_uint_eq(pol.nets[0].key.addr[0], 10);
	ck_assert_uint_eq(pol.nets[0].key.addr[1], 8);
	ck_assert_uint_eq(pol.nets[0].key.addr[2], 0);
	ck_assert_uint_eq(pol.nets[0].key.addr[3], 0);
	ck_assert_int_eq(pol.nets[0].value.kind, CG_NET_WG_SUBNET);
	ck_assert_uint_eq(pol.nets[1].key.prefixlen, 16);
	ck_assert_uint_eq(pol.nets[1].key.addr[0], 172);
	ck_assert_uint_eq(pol.nets[1].key.addr[1], 20);
	ck_assert_int_eq(pol.nets[1].value.kind, CG_NET_BRIDGE);
	ck_assert_uint_eq(pol.nets[2].key.prefixlen, 24);
	ck_assert_uint_eq(pol.nets[2].key.addr[0], 192);
	ck_assert_uint_eq(pol.nets[2].key.addr[2], 1);
	ck_assert_int_eq(pol.nets[2].value.kind, CG_NET_EXTRA);
	ck_assert_uint_eq(pol.nets[3].key.prefixlen, 14);
	ck_assert_uint_eq(pol.nets[3].key.addr[1], 200);
	ck_assert_int_eq(pol.nets[3].value.kind, CG_NET_EXTRA);

	/* Without a bridge subnet, the extras follow the wg subnet. */
	policy_free(&pol);
	tu_config(&cfg, "{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			"\"wireguard\": {\"address\": \"10.8.1.1/20\"}, "
			"\"bridge\": {\"interface\": \"br0\"}, "
			"\"local_networks\": [\"192.168.1.0/24\"]}");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_nets, 2);
	ck_assert_int_eq(pol.nets[0].value.kind, CG_NET_WG_SUBNET);
	ck_assert_int_eq(pol.nets[1].value.kind, CG_NET_EXTRA);
	ck_assert_uint_eq(pol.nets[1].key.prefixlen, 24);
}
END_TEST

START_TEST(test_recompile_after_changes)
{
	struct cg_error err = { 0 };

	services();
	add_peer("alice", 1, "10.0.0.2", ", \"service_access\": [\"files\"]");
	add_peer("bob", 2, "10.0.0.3", NULL);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_ptr_nonnull(find("10.0.0.2"));
	policy_free(&pol);
	ck_assert_uint_eq(pol.n_peers, 0);
	ck_assert_ptr_null(pol.peers);

	/* A deleted peer and service leave nothing behind. */
	ck_assert_int_eq(state_delete_peer(&st, "alice", NULL, &err), 0);
	ck_assert_int_eq(state_delete_service(&st, "files", &err), 0);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_peers, 1);
	ck_assert_ptr_null(find("10.0.0.2"));
	ck_assert_ptr_nonnull(find("10.0.0.3"));
	/* + the sync listener and the peer API */
	ck_assert_uint_eq(pol.n_services, 4 + 2);
	{
		size_t i;

		for (i = 0; i < pol.n_services; i++) {
			ck_assert_uint_ne(pol.services[i].key.addr[3], 22);
			ck_assert_uint_ne(pol.services[i].value.service_id, 1);
		}
	}
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("compile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_peer_entries);
	tcase_add_test(tc, test_peer_entries_many);
	tcase_add_test(tc, test_service_entries);
	tcase_add_test(tc, test_service_ids_in_bitmaps);
	tcase_add_test(tc, test_nets_example);
	tcase_add_test(tc, test_nets_bridge_and_local);
	tcase_add_test(tc, test_bridge_sources);
	tcase_add_test(tc, test_recompile_after_changes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(policy_suite());
}
