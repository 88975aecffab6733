// SPDX-License-Identifier: MIT
/* Unit tests for ctl/dataplane/migrate.c: converting map entries between
 * layouts by member name, with type information built here. */
#include <bpf/btf.h>
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "migrate.h"
#include "testutil.h"

static struct btf *ob, *nb;
static int o_u64, o_u32, o_u16, n_u64, n_u32, n_u16;
static struct mig_plan p;
static char why[160];

static void setup(void)
{
	ob = btf__new_empty();
	nb = btf__new_empty();
	ck_assert_ptr_nonnull(ob);
	ck_assert_ptr_nonnull(nb);
	o_u64 = btf__add_int(ob, "u64", 8, 0);
	o_u32 = btf__add_int(ob, "u32", 4, 0);
	o_u16 = btf__add_int(ob, "u16", 2, 0);
	n_u64 = btf__add_int(nb, "u64", 8, 0);
	n_u32 = btf__add_int(nb, "u32", 4, 0);
	n_u16 = btf__add_int(nb, "u16", 2, 0);
}

static void teardown(void)
{
	btf__free(ob);
	btf__free(nb);
}

/* The old entry: a u64, b u32, c u32 (16 bytes). */
static int old_entry(void)
{
	int id = btf__add_struct(ob, "entry", 16);

	btf__add_field(ob, "a", o_u64, 0, 0);
	btf__add_field(ob, "b", o_u32, 64, 0);
	btf__add_field(ob, "c", o_u32, 96, 0);
	return id;
}

START_TEST(test_same_layout_is_identity)
{
	int oid = old_entry();
	int nid = btf__add_struct(nb, "entry", 16);

	btf__add_field(nb, "a", n_u64, 0, 0);
	btf__add_field(nb, "b", n_u32, 64, 0);
	btf__add_field(nb, "c", n_u32, 96, 0);
	ck_assert(
		mig_plan_types(ob, oid, 16, nb, nid, 16, &p, why, sizeof(why)));
	ck_assert(p.identity);
}
END_TEST

/* A member added first: every other one moves, and the new is zero. */
START_TEST(test_member_added_first)
{
	struct {
		uint64_t a;
		uint32_t b, c;
	} o = { 0x1122334455667788ull, 7, 9 };
	struct {
		uint64_t probe, a;
		uint32_t b, c;
	} n;
	int oid = old_entry();
	int nid = btf__add_struct(nb, "entry", 24);

	btf__add_field(nb, "probe", n_u64, 0, 0);
	btf__add_field(nb, "a", n_u64, 64, 0);
	btf__add_field(nb, "b", n_u32, 128, 0);
	btf__add_field(nb, "c", n_u32, 160, 0);
	ck_assert_msg(
		mig_plan_types(ob, oid, 16, nb, nid, 24, &p, why, sizeof(why)),
		"%s", why);
	ck_assert(!p.identity);
	ck_assert_uint_eq(p.n, 1); /* a, b, c: one run, moved by 8 */
	memset(&n, 0xff, sizeof(n));
	mig_convert(&p, &o, &n);
	ck_assert_uint_eq(n.probe, 0);
	ck_assert_uint_eq(n.a, o.a);
	ck_assert_uint_eq(n.b, 7);
	ck_assert_uint_eq(n.c, 9);
}
END_TEST

/* Reordered and one removed: each by its name. */
START_TEST(test_reordered_and_removed)
{
	struct {
		uint64_t a;
		uint32_t b, c;
	} o = { 42, 7, 9 };
	struct {
		uint32_t c, b;
	} n;
	int oid = old_entry();
	int nid = btf__add_struct(nb, "entry", 8);

	btf__add_field(nb, "c", n_u32, 0, 0);
	btf__add_field(nb, "b", n_u32, 32, 0);
	ck_assert(
		mig_plan_types(ob, oid, 16, nb, nid, 8, &p, why, sizeof(why)));
	mig_convert(&p, &o, &n);
	ck_assert_uint_eq(n.c, 9);
	ck_assert_uint_eq(n.b, 7);
}
END_TEST

/* A member whose size changed cannot be carried: refused, named. */
START_TEST(test_size_change_refused)
{
	int oid = old_entry();
	int nid = btf__add_struct(nb, "entry", 14);

	btf__add_field(nb, "a", n_u64, 0, 0);
	btf__add_field(nb, "b", n_u16, 64, 0);
	btf__add_field(nb, "c", n_u32, 80, 0);
	ck_assert(!mig_plan_types(ob, oid, 16, nb, nid, 14, &p, why,
				  sizeof(why)));
	ck_assert_msg(strstr(why, ".b") != NULL, "why: %s", why);
	(void)o_u16;
}
END_TEST

/* Padding may shrink as a field is carved out of it (key_rev from pad). */
START_TEST(test_padding_shrinks)
{
	struct {
		uint32_t a;
		uint8_t pad[4];
	} o = { 5, { 9, 9, 9, 9 } };
	struct {
		uint32_t a;
		uint8_t key_rev;
		uint8_t pad[3];
	} n;
	int o_u8 = btf__add_int(ob, "u8", 1, 0);
	int n_u8 = btf__add_int(nb, "u8", 1, 0);
	int arr_o = btf__add_array(ob, o_u32, o_u8, 4);
	int arr_n = btf__add_array(nb, n_u32, n_u8, 3);
	int oid = btf__add_struct(ob, "entry", 8), nid;

	/* (fields go to the struct added last) */
	btf__add_field(ob, "a", o_u32, 0, 0);
	btf__add_field(ob, "pad", arr_o, 32, 0);
	nid = btf__add_struct(nb, "entry", 8);
	btf__add_field(nb, "a", n_u32, 0, 0);
	btf__add_field(nb, "key_rev", n_u8, 32, 0);
	btf__add_field(nb, "pad", arr_n, 40, 0);
	ck_assert_msg(
		mig_plan_types(ob, oid, 8, nb, nid, 8, &p, why, sizeof(why)),
		"%s", why);
	mig_convert(&p, &o, &n);
	ck_assert_uint_eq(n.a, 5);
	ck_assert_uint_eq(n.key_rev, 0);
	ck_assert_uint_eq(n.pad[0], 0);
}
END_TEST

/* A nested struct is matched member by member too. */
START_TEST(test_nested)
{
	struct inner {
		uint32_t x, y;
	};
	struct {
		struct inner in;
		uint64_t t;
	} o = { { 1, 2 }, 3 };
	struct {
		uint64_t t;
		struct {
			uint32_t y, x;
		} in;
	} n;
	int oi = btf__add_struct(ob, "inner", 8), oid, ni, nid;

	btf__add_field(ob, "x", o_u32, 0, 0);
	btf__add_field(ob, "y", o_u32, 32, 0);
	oid = btf__add_struct(ob, "outer", 16);
	btf__add_field(ob, "in", oi, 0, 0);
	btf__add_field(ob, "t", o_u64, 64, 0);
	ni = btf__add_struct(nb, "inner", 8);
	btf__add_field(nb, "y", n_u32, 0, 0);
	btf__add_field(nb, "x", n_u32, 32, 0);
	nid = btf__add_struct(nb, "outer", 16);
	btf__add_field(nb, "t", n_u64, 0, 0);
	btf__add_field(nb, "in", ni, 64, 0);
	ck_assert(
		mig_plan_types(ob, oid, 16, nb, nid, 16, &p, why, sizeof(why)));
	mig_convert(&p, &o, &n);
	ck_assert_uint_eq(n.t, 3);
	ck_assert_uint_eq(n.in.x, 1);
	ck_assert_uint_eq(n.in.y, 2);
}
END_TEST

/* Without type information only the same size is carried, as is. */
START_TEST(test_without_btf)
{
	ck_assert(mig_plan_types(NULL, 0, 16, nb, 1, 16, &p, why, sizeof(why)));
	ck_assert(p.identity);
	ck_assert(!mig_plan_types(NULL, 0, 8, nb, 1, 16, &p, why, sizeof(why)));
	ck_assert(mig_plan_types(NULL, 0, 0, NULL, 0, 0, &p, why, sizeof(why)));
	ck_assert(p.identity); /* a ring buffer: nothing to carry */
}
END_TEST

static Suite *migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_layout_is_identity);
	tcase_add_test(tc, test_member_added_first);
	tcase_add_test(tc, test_reordered_and_removed);
	tcase_add_test(tc, test_size_change_refused);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_padding_shrinks);
	tcase_add_test(tc, test_without_btf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(migrate_suite());
}
