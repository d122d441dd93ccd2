// SPDX-License-Identifier: GPL-2.0
/*
 * Page contents: a guest_memfd page holds what was last stored at each
 * offset, through any mapping and through the guest (upstream-semantics
 * §3.6: "Writes through the host mapping are visible to the guest for any
 * stage-2 mapping of the same index (same pfn)"; probe A7: two mappings
 * are coherent, a fresh page reads 0x00, a punch gives a fresh 0x00 page).
 *
 * The model keeps contents sparsely (content.c): these tests store enough
 * distinct bytes in one page, and bytes in enough pages, that every
 * representation is used, and check that what is read back never depends
 * on it.  Costs are checked where the model promises them (model.h: "a
 * 1 TiB file with a few bytes written per touched page costs bytes per
 * page").
 */
#include <string.h>

#include "test_util.h"

#define GPA0 (1ULL << 32)

static uint8_t pattern(unsigned int off)
{
	return (uint8_t)(1 + (off * 37) % 251);
}

/*
 * probe A7 (stores are kept, two mappings coherent): 200 distinct
 * non-zero bytes at scattered offsets of one page read back exactly
 * through a second mapping and through the guest; so do later overwrites
 * and zero stores; the untouched offsets read 0.
 */
static void test_dense_page_reads_back(void)
{
	int g = gmem_create(2 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 2 * PAGE, 0);
	uint64_t b = map_shared(g, 2 * PAGE, 0);
	struct t_tally t = { 0 };
	struct gm_guest_fault f;

	bind_slot(0, GPA0, 2 * PAGE, g, 0);
	for (unsigned int i = 0; i < 200; i++)
		t_tally_expect(&t, t_store(fx.p, a + i * 19, pattern(i * 19)),
			       0, "store %u", i);
	for (unsigned int off = 0; off < PAGE; off++) {
		uint8_t v = 0xee;
		uint8_t want = off % 19 == 0 && off / 19 < 200 ? pattern(off) :
								 0;

		t_tally_expect(&t, t_load(fx.p, b + off, &v), 0, "load %u",
			       off);
		t_tally_expect(&t, v, want, "offset %u", off);
	}
	/* overwrite, zero and re-store in the full page */
	CU_ASSERT(t_store(fx.p, a + 19, 0x99) == 0);
	CU_ASSERT(t_store(fx.p, a + 38, 0) == 0);
	CU_ASSERT(t_store(fx.p, a + 4095, 0x42) == 0);
	f = guest(fx.p, fx.vm, GPA0 + 19, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	t_tally_expect(&t, f.value, 0x99, "guest read 19");
	f = guest(fx.p, fx.vm, GPA0 + 38, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	t_tally_expect(&t, f.value, 0, "guest read 38");
	f = guest(fx.p, fx.vm, GPA0 + 4095, GM_ACCESS_READ, GM_INTENT_DEFAULT,
		  0);
	t_tally_expect(&t, f.value, 0x42, "guest read 4095");
	TALLY_DONE(&t, "dense page");
	/* the neighbour page is untouched */
	EXPECT_BYTES(fx.p, b + PAGE, PAGE, 0);
	delete_slot(0);
	GM_OK(gm_munmap(fx.p, b, 2 * PAGE));
	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * A store of 0 is a store: over a written byte it reads 0 again and the
 * neighbours keep their bytes; over a byte never written it changes
 * nothing; on a page that holds no data the model keeps nothing for it.
 */
static void test_zero_stores(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	size_t m0;

	CU_ASSERT(t_store(fx.p, a + 10, 0x10) == 0);
	CU_ASSERT(t_store(fx.p, a + 11, 0x11) == 0);
	CU_ASSERT(t_store(fx.p, a + 12, 0x12) == 0);
	CU_ASSERT(t_store(fx.p, a + 11, 0) == 0);
	EXPECT_BYTES(fx.p, a + 10, 1, 0x10);
	EXPECT_BYTES(fx.p, a + 11, 1, 0);
	EXPECT_BYTES(fx.p, a + 12, 1, 0x12);
	CU_ASSERT(t_store(fx.p, a + 13, 0) == 0);
	CU_ASSERT(t_store(fx.p, a + 5, 0) == 0);
	EXPECT_BYTES(fx.p, a + 10, 1, 0x10);
	EXPECT_BYTES(fx.p, a + 12, 1, 0x12);
	/* zero everything written: the page reads 0 everywhere */
	CU_ASSERT(t_store(fx.p, a + 10, 0) == 0);
	CU_ASSERT(t_store(fx.p, a + 12, 0) == 0);
	EXPECT_BYTES(fx.p, a, PAGE, 0);

	/* zero stores to a fresh page cost nothing */
	EXPECT_BYTES(fx.p, a + PAGE, 1, 0);
	m0 = mem_cur(fx.h);
	EXPECT_FILL(fx.p, a + PAGE, 64, 0);
	EXPECT_EQ(mem_cur(fx.h), m0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A7 / §3.3.2 (a punch drops exactly the punched pages' data): 300
 * pages each hold a byte; punches of a few pages and of large ranges
 * (also ranges with pages never written) leave exactly the other pages'
 * bytes.
 */
static void test_many_written_pages_and_punches(void)
{
	const unsigned int n = 300;
	int g = gmem_create(n * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, n * PAGE, 0);
	struct t_tally t = { 0 };
	static bool gone[300];

	memset(gone, 0, sizeof(gone));
	for (unsigned int i = 0; i < n; i++)
		t_tally_expect(&t,
			       t_store(fx.p, a + i * PAGE + i % 97, pattern(i)),
			       0, "store page %u", i);
	/* a small punch: pages 7, 8 */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 7 * PAGE, 2 * PAGE));
	gone[7] = gone[8] = true;
	/* large punches: [100, 250) and [290, 300) */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 100 * PAGE, 150 * PAGE));
	for (unsigned int i = 100; i < 250; i++)
		gone[i] = true;
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 290 * PAGE, 10 * PAGE));
	for (unsigned int i = 290; i < 300; i++)
		gone[i] = true;
	/* a punch past every written page */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 300 * PAGE, 1000 * PAGE));
	for (unsigned int i = 0; i < n; i++) {
		uint8_t v = 0xee;

		t_tally_expect(&t, t_load(fx.p, a + i * PAGE + i % 97, &v), 0,
			       "load page %u", i);
		t_tally_expect(&t, v, gone[i] ? 0 : pattern(i), "page %u", i);
	}
	TALLY_DONE(&t, "300 written pages");
	GM_OK(gm_munmap(fx.p, a, n * PAGE));
	GM_OK(gm_close(fx.p, g));
	/* everything the contents used is freed with the file */
}

/*
 * A store that needs memory the model cannot get fails with ENOMEM
 * (§3.6 step 3, VM_FAULT_OOM) and changes nothing: the page then reads
 * exactly as before; the store succeeds once memory is available.
 */
static void test_store_enomem_changes_nothing(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	uint64_t a = map_shared(g, PAGE, 0);
	uint8_t v = 0xab;
	int sig = -1, r = -ENOMEM;

	/* 64 stored bytes: the next distinct offset needs a new buffer */
	for (unsigned int i = 0; i < 64; i++)
		CU_ASSERT(t_store(fx.p, a + i * 2, pattern(i)) == 0);
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_host_access(fx.p, a + 1001, GM_ACCESS_WRITE, &v, &sig);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r)
			EXPECT_BYTES(fx.p, a + 1001, 1, 0);
	}
	EXPECT_EQ(r, 0);
	EXPECT_BYTES(fx.p, a + 1001, 1, 0xab);
	for (unsigned int i = 0; i < 64; i++)
		EXPECT_BYTES(fx.p, a + i * 2, 1, pattern(i));
	GM_OK(gm_munmap(fx.p, a, PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * gm_gmem_peek() reads what the model keeps, as a load would see it, with
 * no side effect: a store through one mapping and a punch (probe A7: a
 * fresh page reads 0x00) show in it, across page boundaries and in both
 * representations; it faults nothing in (the file's pages stay absent)
 * and bad arguments are errors, never crashes.
 */
static void test_peek(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gm_gmem_info before, after;
	uint8_t buf[2 * PAGE];
	unsigned int i;

	CU_ASSERT_EQUAL(gm_gmem_info(fx.p, g, &before), 0);
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, 0, buf, sizeof(buf)), 0);
	for (i = 0; i < sizeof(buf) && !buf[i]; i++)
		;
	CU_ASSERT_EQUAL(i, sizeof(buf));
	CU_ASSERT_EQUAL(gm_gmem_info(fx.p, g, &after), 0);
	CU_ASSERT_EQUAL(after.nr_present, before.nr_present);
	CU_ASSERT_EQUAL(before.nr_present, 0);
	for (i = 0; i < 300; i++)
		CU_ASSERT(t_store(fx.p, a + PAGE - 150 + i * 3,
				  pattern(i)) == 0);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, PAGE - 150, buf, 900), 0);
	for (i = 0; i < 900; i++)
		CU_ASSERT_EQUAL(buf[i], i % 3 ? 0 : pattern(i / 3));
	CU_ASSERT(t_store(fx.p, a + 3 * PAGE + 7, 0x77) == 0);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, 3 * PAGE + 7, buf, 1), 0);
	CU_ASSERT_EQUAL(buf[0], 0x77);
	CU_ASSERT_EQUAL(gm_fallocate(fx.p, g,
				     GMEM_FALLOC_FL_KEEP_SIZE |
					     GMEM_FALLOC_FL_PUNCH_HOLE,
				     3 * PAGE, PAGE),
			0);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, 3 * PAGE + 7, buf, 1), 0);
	CU_ASSERT_EQUAL(buf[0], 0);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, 4 * PAGE, buf, 0), 0);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, 4 * PAGE - 1, buf, 2), -EINVAL);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, g, UINT64_MAX, buf, 2), -EINVAL);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, fx.vm, 0, buf, 1), -EINVAL);
	CU_ASSERT_EQUAL(gm_gmem_peek(fx.p, 9999, 0, buf, 1), -EBADF);
}

CU_TestInfo content_tests[] = {
	{ "test_dense_page_reads_back", test_dense_page_reads_back },
	{ "test_zero_stores", test_zero_stores },
	{ "test_many_written_pages_and_punches",
	  test_many_written_pages_and_punches },
	{ "test_store_enomem_changes_nothing",
	  test_store_enomem_changes_nothing },
	{ "test_peek", test_peek },
	CU_TEST_INFO_NULL,
};
