// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/state_cell.c: link, relink, unlink, sharing,
 * ids shared with peers, pending invites. */
#include "cell_fixture.h"

START_TEST(test_link_ids_shared_with_peers)
{
	struct cg_cell_info info =
		cell("office", 20, "10.0.1.0/24", "office.cell");
	struct cg_cell_def linked, *c;
	uint8_t key[LINK_KEY_LEN];
	int64_t now = (int64_t)time(NULL);
	struct cg_peer_def gone;

	ck_assert_uint_eq(must_add_peer("alice", 1, "10.0.0.2"), 1);
	ck_assert_uint_eq(must_add_peer("bob", 2, "10.0.0.3"), 2);
	ck_assert_int_eq(link_cell(&info, 0xab, &linked), 0);
	ck_assert_uint_eq(linked.id, 3);
	ck_assert_uint_eq(st.n_cells, 1);
	c = state_cell(&st, "office");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(state_cell_by_key(&st, info.public_key), c);
	ck_assert_ptr_eq(state_cell_by_address(&st, info.wg_address), c);
	ck_assert_ptr_null(state_cell(&st, "lab"));
	ck_assert_uint_eq(c->id, 3);
	memset(key, 0xab, sizeof(key));
	ck_assert_mem_eq(c->link_key, key, LINK_KEY_LEN);
	ck_assert_uint_eq(c->inbound[0] | c->inbound[1], 0);
	ck_assert_uint_eq(c->n_outbound, 0);
	ck_assert(c->linked_at >= now && c->linked_at <= now + 5);
	ck_assert_uint_eq(c->info.wg_address.s_addr, ip("10.0.1.1"));
	/* The lowest free id, whoever freed it. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_delete_peer(&st, "alice", &gone, &err), 0);
	ck_assert_uint_eq(must_link("lab", 21, "10.0.2.0/24", "lab.cell"), 1);
	/* A peer skips the cells' ids too. */
	ck_assert_uint_eq(must_add_peer("carol", 3, "10.0.0.4"), 4);
	ck_assert_uint_eq(must_link("shop", 22, "10.0.3.0/24", "shop.cell"), 5);
	ck_assert_uint_eq(st.n_cells, 3);
}
END_TEST

START_TEST(test_link_conflicts)
{
	struct cg_cell_info c;

	must_link("office", 20, "10.0.1.0/24", "office.cell");
	/* Our WireGuard subnet (10.0.0.0/24): containing, inside, equal. */
	c = cell("lab", 21, "10.0.0.0/16", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.128/25", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Our bridge subnet (172.20.0.0/24). */
	c = cell("lab", 21, "172.20.0.0/16", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "172.20.0.64/26", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Another cell's (10.0.1.0/24). */
	c = cell("lab", 21, "10.0.1.128/25", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.0/8", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Our domain, in any case, and another cell's. */
	c = cell("lab", 21, "10.0.2.0/24", "home.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("lab", 21, "10.0.2.0/24", "HOME.Cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("lab", 21, "10.0.2.0/24", "office.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	/* A linked cell's name with another key. */
	c = cell("office", 21, "10.0.2.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
	/* Next to them all, fine. */
	ck_assert_uint_eq(must_link("lab", 21, "10.0.2.0/24", "lab.cell"), 2);
	ck_assert_uint_eq(st.n_cells, 2);
}
END_TEST

START_TEST(test_link_cells_exhausted)
{
	char name[16], net[24], dom[24];
	struct cg_cell_info c;
	unsigned int i;

	/* 16 identity ids (limits.max_peers), two taken by peers. */
	must_add_peer("alice", 1, "10.0.0.2");
	must_add_peer("bob", 2, "10.0.0.3");
	for (i = 0; i < 14; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		snprintf(net, sizeof(net), "10.1.%u.0/24", i);
		snprintf(dom, sizeof(dom), "c%u.cell", i);
		ck_assert_uint_eq(must_link(name, 30 + i, net, dom), 3 + i);
	}
	c = cell("one-more", 99, "10.2.0.0/24", "more.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
}
END_TEST

START_TEST(test_relink_same_key)
{
	struct cg_cell_info c =
		cell("office", 20, "10.0.1.0/24", "office.cell");
	struct cg_cell_def linked, *cur;
	uint8_t key[LINK_KEY_LEN];
	int64_t linked_at;
	uint32_t id;

	three_services();
	must_add_peer("alice", 1, "10.0.0.2");
	id = must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"calendar\": true, "
				     "\"mail\": true}}",
				     NULL),
			 0);
	cur = state_cell(&st, "office");
	str_copy(cur->outbound[0], sizeof(cur->outbound[0]), "web");
	cur->n_outbound = 1;
	linked_at = cur->linked_at = 1600000000;
	/* The same key: new endpoint, subnet, router, domain, ports. */
	c = cell("office", 20, "10.0.5.0/24", "branch.cell");
	str_copy(c.endpoint, sizeof(c.endpoint), "192.0.2.55:51999");
	c.wg_address.s_addr = ip("10.0.5.9");
	c.sync_port = 9001;
	ck_assert_int_eq(link_cell(&c, 0xcd, &linked), 0);
	ck_assert_uint_eq(st.n_cells, 2);
	cur = state_cell(&st, "office");
	ck_assert_ptr_nonnull(cur);
	ck_assert_uint_eq(cur->id, id);
	ck_assert_uint_eq(linked.id, id);
	ck_assert_str_eq(cur->info.endpoint, "192.0.2.55:51999");
	ck_assert_uint_eq(cur->info.vpn_subnet.addr.s_addr, ip("10.0.5.0"));
	ck_assert_uint_eq(cur->info.wg_address.s_addr, ip("10.0.5.9"));
	ck_assert_str_eq(cur->info.domain, "branch.cell");
	ck_assert_uint_eq(cur->info.sync_port, 9001);
	memset(key, 0xcd, sizeof(key));
	ck_assert_mem_eq(cur->link_key, key, LINK_KEY_LEN);
	/* What each side shares, and when it was linked, are kept. */
	ck_assert_uint_eq(cur->inbound[0], (1u << 0) | (1u << 2));
	ck_assert_uint_eq(cur->n_outbound, 1);
	ck_assert_str_eq(cur->outbound[0], "web");
	ck_assert_int_eq(cur->linked_at, linked_at);
	/* Its old subnet is free for others now. */
	ck_assert_uint_eq(must_link("shop", 22, "10.0.1.0/24", "shop.cell"), 4);
	/* The same key may not take another cell's subnet or domain, nor
	 * our own; its own are no conflict with itself. */
	c = cell("office", 20, "10.0.2.0/25", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("office", 20, "10.0.5.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("office", 20, "10.0.0.0/24", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 20, "10.0.5.0/24", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
	c = cell("office", 20, "10.0.5.0/24", "branch.cell");
	ck_assert_int_eq(link_cell(&c, 0xcd, NULL), 0);
	/* Renamed by its own invite: the same link. */
	c = cell("branch", 20, "10.0.5.0/24", "branch.cell");
	ck_assert_int_eq(link_cell(&c, 0xcd, NULL), 0);
	ck_assert_ptr_null(state_cell(&st, "office"));
	ck_assert_uint_eq(state_cell(&st, "branch")->id, id);
	ck_assert_uint_eq(st.n_cells, 3);
}
END_TEST

START_TEST(test_unlink)
{
	struct cg_cell_def removed;
	uint32_t id;

	REJECTS(unlink_cell("office", NULL), 404, "name");
	ck_assert_str_eq(err.msg, "no cell 'office'");
	id = must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	REJECTS(unlink_cell("nosuch", &removed), 404, "name");
	ck_assert_int_eq(unlink_cell("office", &removed), 0);
	ck_assert_str_eq(removed.info.cell_name, "office");
	ck_assert_uint_eq(removed.id, id);
	ck_assert_uint_eq(st.n_cells, 1);
	ck_assert_ptr_null(state_cell(&st, "office"));
	ck_assert_ptr_nonnull(state_cell(&st, "lab"));
	REJECTS(unlink_cell("office", NULL), 404, "name");
	/* Its id, subnet, domain and name are free again. */
	ck_assert_uint_eq(must_link("office", 23, "10.0.1.0/24", "office.cell"),
			  id);
	ck_assert_int_eq(unlink_cell("lab", NULL), 0);
	ck_assert_int_eq(unlink_cell("office", NULL), 0);
	ck_assert_uint_eq(st.n_cells, 0);
}
END_TEST

START_TEST(test_inbound)
{
	struct cg_cell_def updated;
	struct cg_cell_def *c;

	three_services();
	must_link("office", 20, "10.0.1.0/24", "office.cell");
	REJECTS(set_inbound("nosuch", "{\"inbound\": {}}", NULL), 404, "name");
	REJECTS(set_inbound("office", "{\"inbound\": {\"web\": true}}", NULL),
		400, "inbound.web");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true, \"web\": "
			    "false}}",
			    NULL),
		400, "inbound.web");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": 1}}", NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": \"yes\"}}",
			    NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": null}}",
			    NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"outbound\": "
			    "{}}",
			    NULL),
		400, "outbound");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"outbound\": "
			    "{\"web\": true}}",
			    NULL),
		400, "outbound");
	REJECTS(set_inbound("office", "{\"inbound\": [\"calendar\"]}", NULL),
		400, "inbound");
	REJECTS(set_inbound("office", "{}", NULL), 400, "inbound");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"share\": 1}",
			    NULL),
		400, "share");
	/* Bits by service id: calendar 0, files 1, mail 2. */
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"calendar\": true, "
				     "\"files\": false, \"mail\": true}}",
				     &updated),
			 0);
	c = state_cell(&st, "office");
	ck_assert_uint_eq(c->inbound[0], 0x5);
	ck_assert_uint_eq(c->inbound[1], 0);
	ck_assert_uint_eq(updated.inbound[0], 0x5);
	ck_assert_str_eq(updated.info.cell_name, "office");
	/* The whole set each time: absent means not shared. */
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"files\": "
				     "true}}",
				     NULL),
			 0);
	ck_assert_uint_eq(c->inbound[0], 0x2);
	ck_assert_int_eq(set_inbound("office", "{\"inbound\": {}}", NULL), 0);
	ck_assert_uint_eq(c->inbound[0], 0);
	/* A service's id, not its position: mail keeps id 2 when files
	 * goes. */
	ck_assert_int_eq(del_svc("files"), 0);
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"mail\": "
				     "true}}",
				     NULL),
			 0);
	ck_assert_uint_eq(c->inbound[0], 0x4);
}
END_TEST

START_TEST(test_shared_service_not_deleted)
{
	three_services();
	must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	ck_assert_int_eq(set_inbound("lab",
				     "{\"inbound\": {\"calendar\": "
				     "true}}",
				     NULL),
			 0);
	REJECTS(del_svc("calendar"), 409, "name");
	ck_assert_msg(strstr(err.msg, "lab") != NULL, "%s", err.msg);
	/* Not shared, it goes. */
	ck_assert_int_eq(del_svc("files"), 0);
	ck_assert_int_eq(set_inbound("lab",
				     "{\"inbound\": {\"calendar\": "
				     "false}}",
				     NULL),
			 0);
	ck_assert_int_eq(del_svc("calendar"), 0);
	ck_assert_ptr_null(state_service(&st, "calendar"));
}
END_TEST

/* ---- invites ------------------------------------------------------------- */

START_TEST(test_invites_limit)
{
	struct cg_invite inv;
	unsigned int i;

	for (i = 0; i < CG_MAX_INVITES; i++) {
		inv = invite(100000 + i);
		ck_assert_int_eq(add_invite(&inv), 0);
		ck_assert_uint_eq(st.n_invites, i + 1);
		ck_assert_str_eq(st.invites[i].secret, inv.secret);
		ck_assert_int_eq(st.invites[i].expires_at, 100000 + i);
	}
	inv = invite(200000);
	REJECTS(add_invite(&inv), 409, "");
	ck_assert_uint_eq(st.n_invites, CG_MAX_INVITES);
	/* One used up: room for one more. The last takes its place and
	 * the slot it left holds no secret. */
	state_drop_invite(&st, 3);
	ck_assert_uint_eq(st.n_invites, CG_MAX_INVITES - 1);
	ck_assert_int_eq(st.invites[3].expires_at, 100000 + CG_MAX_INVITES - 1);
	for (i = 0; i < sizeof(st.invites[0]); i++)
		ck_assert_uint_eq(
			((unsigned char *)&st.invites[CG_MAX_INVITES - 1])[i],
			0);
	ck_assert_int_eq(add_invite(&inv), 0);
	REJECTS(add_invite(&inv), 409, "");
}
END_TEST

START_TEST(test_invites_expire)
{
	static const int64_t when[] = { 500, 100, 300, 200, 400, 201, 199 };
	struct cg_invite inv[ARRAY_SIZE(when)];
	bool seen[ARRAY_SIZE(when)] = { false };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(when); i++) {
		inv[i] = invite(when[i]);
		ck_assert_int_eq(add_invite(&inv[i]), 0);
	}
	ck_assert_uint_eq(state_expire_invites(&st, 99), 0);
	ck_assert_uint_eq(st.n_invites, ARRAY_SIZE(when));
	/* Expired at expires_at itself: 100, 200 and 199 go. */
	ck_assert_uint_eq(state_expire_invites(&st, 200), 3);
	ck_assert_uint_eq(st.n_invites, 4);
	for (i = 0; i < st.n_invites; i++) {
		for (j = 0; j < ARRAY_SIZE(when); j++)
			if (!strcmp(st.invites[i].secret, inv[j].secret))
				break;
		ck_assert_uint_lt(j, ARRAY_SIZE(when));
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_int_eq(st.invites[i].expires_at, when[j]);
		ck_assert_int_gt(when[j], 200);
	}
	ck_assert_uint_eq(state_expire_invites(&st, 200), 0);
	ck_assert_uint_eq(state_expire_invites(&st, 1000), 4);
	ck_assert_uint_eq(st.n_invites, 0);
}
END_TEST

/* Invites are listed and revoked by an id derived from the secret: the
 * same for the same secret, never the secret or a part of it. */
START_TEST(test_invite_ids)
{
	char ids[3][INVITE_ID_LEN + 1], again[INVITE_ID_LEN + 1];
	struct cg_invite inv[3];
	size_t i, j;

	for (i = 0; i < 3; i++) {
		inv[i] = invite(1000 + (int64_t)i);
		ck_assert_int_eq(add_invite(&inv[i]), 0);
		ck_assert_int_eq(invite_id(ids[i], inv[i].secret), 0);
		ck_assert_uint_eq(strlen(ids[i]), INVITE_ID_LEN);
		ck_assert_uint_eq(strspn(ids[i], "0123456789abcdef"),
				  INVITE_ID_LEN);
		ck_assert_int_eq(invite_id(again, inv[i].secret), 0);
		ck_assert_str_eq(again, ids[i]);
		/* No 8 characters of the secret show in the id. */
		for (j = 0; j + 8 <= strlen(inv[i].secret); j++) {
			char part[9];

			memcpy(part, inv[i].secret + j, 8);
			part[8] = '\0';
			ck_assert_ptr_null(strstr(ids[i], part));
		}
	}
	ck_assert_str_ne(ids[0], ids[1]);
	ck_assert_str_ne(ids[1], ids[2]);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(state_find_invite(&st, ids[i]), (int)i);
	ck_assert_int_eq(state_find_invite(&st, "0000000000000000"), -1);
	ck_assert_int_eq(state_find_invite(&st, ""), -1);
	ck_assert_int_eq(state_find_invite(&st, inv[0].secret), -1);
	/* Revoked: gone, the others still found. */
	state_drop_invite(&st, (size_t)state_find_invite(&st, ids[1]));
	ck_assert_int_eq(state_find_invite(&st, ids[1]), -1);
	ck_assert_int_ge(state_find_invite(&st, ids[0]), 0);
	ck_assert_int_ge(state_find_invite(&st, ids[2]), 0);
}
END_TEST

static Suite *cell_suite(void)
{
	Suite *s = suite_create("cell_link");
	TCase *link = tcase_create("link");
	TCase *inv = tcase_create("invites");

	tcase_add_checked_fixture(link, setup, teardown);
	tcase_add_checked_fixture(inv, setup, teardown);
	tcase_add_test(link, test_link_ids_shared_with_peers);
	tcase_add_test(link, test_link_conflicts);
	tcase_add_test(link, test_link_cells_exhausted);
	tcase_add_test(link, test_relink_same_key);
	tcase_add_test(link, test_unlink);
	tcase_add_test(link, test_inbound);
	tcase_add_test(link, test_shared_service_not_deleted);
	tcase_add_test(inv, test_invites_limit);
	tcase_add_test(inv, test_invites_expire);
	tcase_add_test(inv, test_invite_ids);
	suite_add_tcase(s, link);
	suite_add_tcase(s, inv);
	return s;
}

int main(void)
{
	return tu_run(cell_suite());
}
