// SPDX-License-Identifier: MIT
/* Unit tests for ctl/dataplane/mapview.c (`cellgate maps` rows) and the enum names
 * of ctl/common/abi_names.c. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "abi_names.h"
#include "cell.h"
#include "mapread.h"
#include "mapview.h"
#include "state.h"
#include "testutil.h"

#define NCPUS 3
#define SEC 1000000000ull

static struct cg_service_def services[2];
static struct cg_peer_def peers[1];
static struct cg_cell_def cells[1];
static struct cg_forward_def forwards[1];
static struct cg_state st;

static void setup(void)
{
	memset(&st, 0, sizeof(st));
	memset(services, 0, sizeof(services));
	strcpy(services[0].name, "calendar");
	services[0].id = 1;
	strcpy(services[1].name, "web");
	services[1].id = 70; /* in the second word of the bitmap */
	memset(peers, 0, sizeof(peers));
	strcpy(peers[0].name, "alice");
	peers[0].id = 4;
	memset(cells, 0, sizeof(cells));
	strcpy(cells[0].info.cell_name, "office");
	cells[0].id = 9;
	memset(forwards, 0, sizeof(forwards));
	strcpy(forwards[0].id, "ssh");
	forwards[0].slot = 3;
	st.services = services;
	st.n_services = 2;
	st.peers = peers;
	st.n_peers = 1;
	st.cells = cells;
	st.n_cells = 1;
	st.forwards = forwards;
	st.n_forwards = 1;
}

static const struct mapview_ctx ctx = { .st = &st,
					.now_ns = 1000 * SEC,
					.ncpus = NCPUS };

/* The rows view name makes of (key, value), as one JSON text. */
static json_object *rows_of(const char *view, const void *key,
			    const void *value)
{
	const struct mapview *v = mapview_find(view);
	json_object *rows = json_object_new_array();

	ck_assert_ptr_nonnull(v);
	v->rows(&ctx, key, value, rows);
	return rows;
}

static const char *field(json_object *rows, size_t i, const char *key)
{
	json_object *v = NULL;

	ck_assert(json_object_object_get_ex(json_object_array_get_idx(rows, i),
					    key, &v));
	return json_object_get_string(v);
}

/* Every pinned map has a view of its own name, and every column a view
 * declares is what its rows hold, in that order. */
START_TEST(test_views_match_maps)
{
	unsigned int i;
	char want[64];

	ck_assert_uint_eq(n_mapviews, DP_MAP__COUNT);
	for (i = 0; i < n_mapviews; i++) {
		snprintf(want, sizeof(want), "cg_%s", mapviews[i].name);
		ck_assert_str_eq(dp_map_name(mapviews[i].map), want);
		ck_assert_ptr_eq(mapview_find(want), &mapviews[i]);
		ck_assert_ptr_eq(mapview_find(mapviews[i].name), &mapviews[i]);
	}
	ck_assert_ptr_null(mapview_find("nosuch"));
	ck_assert_ptr_null(mapview_find("cg_"));
}
END_TEST

START_TEST(test_peer_row)
{
	struct cg_addr_key k = { { 10, 0, 0, 2 } };
	struct cg_identity v = { .id = 4, .epoch = 7, .internet_access = 1 };
	json_object *rows, *row;
	const struct mapview *view = mapview_find("peers");
	size_t i = 0;

	v.services[0] = 1ull << 1;
	v.services[1] = 1ull << (70 - 64);
	v.services[CG_SYNC_SERVICE_ID / 64] |= 1ull
					       << (CG_SYNC_SERVICE_ID % 64);
	v.services[0] |= 1ull << 5; /* an id no service has */
	rows = rows_of("peers", &k, &v);
	ck_assert_uint_eq(json_object_array_length(rows), 1);
	ck_assert_str_eq(field(rows, 0, "address"), "10.0.0.2");
	ck_assert_str_eq(field(rows, 0, "identity"), "alice");
	ck_assert_str_eq(field(rows, 0, "epoch"), "7");
	ck_assert_str_eq(field(rows, 0, "services"),
			 "calendar,#5,web," CG_SYNC_SERVICE_NAME);
	ck_assert_str_eq(field(rows, 0, "internet"), "true");
	ck_assert_str_eq(field(rows, 0, "peer_to_peer"), "false");
	/* The columns, in order. */
	row = json_object_array_get_idx(rows, 0);
	json_object_object_foreach(row, key, val) {
		(void)val;
		ck_assert_ptr_nonnull(view->columns[i]);
		ck_assert_str_eq(key, view->columns[i]);
		i++;
	}
	ck_assert_ptr_null(view->columns[i]);
	json_object_put(rows);
}
END_TEST

START_TEST(test_identity_names)
{
	char buf[80];

	ck_assert_str_eq(mapview_identity(&ctx, 0, buf, sizeof(buf)), "-");
	ck_assert_str_eq(mapview_identity(&ctx, 4, buf, sizeof(buf)), "alice");
	ck_assert_str_eq(mapview_identity(&ctx, 9, buf, sizeof(buf)),
			 "cell:office");
	ck_assert_str_eq(mapview_identity(&ctx, 12, buf, sizeof(buf)), "#12");
}
END_TEST

START_TEST(test_conntrack_row)
{
	struct cg_ct_key k = { { 10, 0, 0, 2 }, { 172, 20, 0, 30 },
			       40000,		80,
			       IPPROTO_TCP,	{ 0 } };
	struct cg_ct_entry v = { .expires_ns = 1120 * SEC,
				 .src_ident = 4,
				 .dst_ident = 0,
				 .origin = CG_CT_FROM_WG,
				 .state = CG_CT_ESTABLISHED,
				 .seen_reply = 1 };
	json_object *rows = rows_of("ct_tcp", &k, &v);

	ck_assert_str_eq(field(rows, 0, "proto"), "tcp");
	ck_assert_str_eq(field(rows, 0, "source"), "10.0.0.2:40000");
	ck_assert_str_eq(field(rows, 0, "destination"), "172.20.0.30:80");
	ck_assert_str_eq(field(rows, 0, "state"), "established");
	ck_assert_str_eq(field(rows, 0, "origin"), "from_wg");
	ck_assert_str_eq(field(rows, 0, "from"), "alice");
	ck_assert_str_eq(field(rows, 0, "to"), "-");
	ck_assert_str_eq(field(rows, 0, "expires_s"), "120");
	json_object_put(rows);

	/* A canonical key that is the flow reversed shows the flow as it
	 * was opened. */
	v.key_rev = 1;
	rows = rows_of("ct_tcp", &k, &v);
	ck_assert_str_eq(field(rows, 0, "source"), "172.20.0.30:80");
	ck_assert_str_eq(field(rows, 0, "destination"), "10.0.0.2:40000");
	json_object_put(rows);
	v.key_rev = 0;

	/* ICMP: no ports; an expired entry shows a negative life. */
	k.proto = IPPROTO_ICMP;
	v.expires_ns = 990 * SEC;
	rows = rows_of("ct_other", &k, &v);
	ck_assert_str_eq(field(rows, 0, "source"), "10.0.0.2");
	ck_assert_str_eq(field(rows, 0, "expires_s"), "-10");
	json_object_put(rows);
}
END_TEST

START_TEST(test_conntrack6_row)
{
	struct cg_ct6_key k = { .sport = 40000,
				.dport = 443,
				.proto = IPPROTO_TCP };
	struct cg_ct_entry v = { .expires_ns = 1120 * SEC,
				 .src_ident = 4,
				 .origin = CG_CT_FROM_WG,
				 .state = CG_CT_ESTABLISHED,
				 .seen_reply = 1,
				 .key_rev = 1 };
	json_object *rows;

	inet_pton(AF_INET6, "fd10::2", k.saddr);
	inet_pton(AF_INET6, "fd20::30", k.daddr);
	/* Canonical key reversed: shown as opened. */
	rows = rows_of("ct6_tcp", &k, &v);
	ck_assert_str_eq(field(rows, 0, "proto"), "tcp");
	ck_assert_str_eq(field(rows, 0, "source"), "[fd20::30]:443");
	ck_assert_str_eq(field(rows, 0, "destination"), "[fd10::2]:40000");
	ck_assert_str_eq(field(rows, 0, "state"), "established");
	ck_assert_str_eq(field(rows, 0, "to"), "-");
	ck_assert_str_eq(field(rows, 0, "from"), "alice");
	ck_assert_str_eq(field(rows, 0, "expires_s"), "120");
	json_object_put(rows);

	/* ICMPv6: the address alone. */
	k.proto = IPPROTO_ICMPV6;
	v.key_rev = 0;
	rows = rows_of("cg_ct6_other", &k, &v);
	ck_assert_str_eq(field(rows, 0, "proto"), "icmp6");
	ck_assert_str_eq(field(rows, 0, "source"), "fd10::2");
	json_object_put(rows);
}
END_TEST

/* Per-CPU values are summed; identities with nothing counted are left
 * out; drops are named. */
START_TEST(test_counters_rows)
{
	uint8_t percpu[NCPUS][sizeof(struct cg_counters)];
	struct cg_counters *c;
	uint32_t id = 9;
	json_object *rows;
	int i;

	memset(percpu, 0, sizeof(percpu));
	rows = rows_of("counters", &id, percpu);
	ck_assert_uint_eq(json_object_array_length(rows), 0);
	json_object_put(rows);
	for (i = 0; i < NCPUS; i++) {
		c = (struct cg_counters *)percpu[i];
		c->rx_bytes = 100u << i;
		c->drops[CG_DROP_SERVICE_DENIED] = 1;
	}
	c = (struct cg_counters *)percpu[2];
	c->drops[CG_DROP_NO_INTERNET] = 2;
	rows = rows_of("counters", &id, percpu);
	ck_assert_str_eq(field(rows, 0, "identity"), "cell:office");
	ck_assert_str_eq(field(rows, 0, "rx_bytes"), "700");
	ck_assert_str_eq(field(rows, 0, "drops"),
			 "service_denied=3,no_internet=2");
	json_object_put(rows);
}
END_TEST

START_TEST(test_nat_row)
{
	struct cg_ct_key k = { { 10, 0, 0, 3 }, { 198, 51, 100, 7 },
			       45000,		443,
			       IPPROTO_TCP,	{ 0 } };
	struct cg_nat_entry v = { .to = k,
				  .expires_ns = 1060 * SEC,
				  .kind = CG_NAT_FORWARD,
				  .dir = CG_NAT_REPLY,
				  .owner = 3 };
	json_object *rows;

	memcpy(v.to.saddr, (uint8_t[]){ 203, 0, 113, 1 }, 4);
	v.to.sport = 10001;
	rows = rows_of("nat", &k, &v);
	ck_assert_str_eq(field(rows, 0, "kind"), "forward");
	ck_assert_str_eq(field(rows, 0, "dir"), "reply");
	ck_assert_str_eq(field(rows, 0, "to_source"), "203.0.113.1:10001");
	ck_assert_str_eq(field(rows, 0, "forward"), "ssh");
	ck_assert_str_eq(field(rows, 0, "expires_s"), "60");
	json_object_put(rows);
}
END_TEST

/* One row per table and slot. */
START_TEST(test_table_stats_rows)
{
	uint8_t percpu[NCPUS][sizeof(struct cg_table_stats)];
	struct cg_table_stats *t;
	uint32_t slot = CG_STATS_CONTROLLER;
	json_object *rows;
	int i;

	memset(percpu, 0, sizeof(percpu));
	for (i = 0; i < NCPUS; i++) {
		t = (struct cg_table_stats *)percpu[i];
		t->created[CG_TABLE_NAT] = 2;
		t->removed[CG_TABLE_NAT] = 1;
	}
	rows = rows_of("table_stats", &slot, percpu);
	ck_assert_uint_eq(json_object_array_length(rows), CG_TABLE__MAX);
	ck_assert_str_eq(field(rows, CG_TABLE_NAT, "table"), "nat");
	ck_assert_str_eq(field(rows, CG_TABLE_NAT, "counted_by"), "controller");
	ck_assert_str_eq(field(rows, CG_TABLE_NAT, "created"), "6");
	ck_assert_str_eq(field(rows, CG_TABLE_NAT, "removed"), "3");
	json_object_put(rows);
}
END_TEST

/* Without a state file, ids stand in for names. */
START_TEST(test_no_state)
{
	struct mapview_ctx bare = { .st = NULL, .ncpus = 1 };
	struct cg_service_key k = { { 172, 20, 0, 21 }, 0, IPPROTO_UDP, 0 };
	struct cg_service v = { .service_id = 1 };
	json_object *rows = json_object_new_array();
	char buf[32];

	mapview_find("services")->rows(&bare, &k, &v, rows);
	ck_assert_str_eq(field(rows, 0, "service"), "#1");
	ck_assert_str_eq(field(rows, 0, "port"), "0");
	ck_assert_str_eq(mapview_identity(&bare, 4, buf, sizeof(buf)), "#4");
	json_object_put(rows);
}
END_TEST

START_TEST(test_enum_names)
{
	int r;

	for (r = 1; r < CG_DROP__MAX; r++)
		ck_assert_int_eq(drop_reason_parse(drop_reason_name(r)), r);
	ck_assert_int_eq(drop_reason_parse("nosuch"), -1);
	ck_assert_str_eq(drop_reason_name(CG_DROP__MAX), "unknown");
	ck_assert_str_eq(hook_name(CG_HOOK_UPLINK_XDP), "uplink_xdp");
	ck_assert_str_eq(hook_direction(CG_HOOK_WG_INGRESS), "in");
	ck_assert_str_eq(hook_direction(CG_HOOK_WG_EGRESS), "out");
	ck_assert_str_eq(hook_name(99), "unknown");
	ck_assert_str_eq(nat_kind_name(CG_NAT_NONE), "unknown");
	ck_assert_str_eq(event_kind_name(CG_EVENT_NEW_FLOW), "new_flow");
}
END_TEST

static Suite *mapview_suite(void)
{
	Suite *s = suite_create("mapview");
	TCase *tc = tcase_create("rows");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_views_match_maps);
	tcase_add_test(tc, test_peer_row);
	tcase_add_test(tc, test_identity_names);
	tcase_add_test(tc, test_conntrack_row);
	tcase_add_test(tc, test_conntrack6_row);
	tcase_add_test(tc, test_counters_rows);
	tcase_add_test(tc, test_nat_row);
	tcase_add_test(tc, test_table_stats_rows);
	tcase_add_test(tc, test_no_state);
	tcase_add_test(tc, test_enum_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(mapview_suite());
}
