// SPDX-License-Identifier: GPL-2.0
/*
 * Range-based memory: the model's own memory must follow the number of
 * distinct ranges touched, never the span of the file.  Probe A2 ("nothing
 * is reserved (64 x 1 TiB on one VM all succeed)"), A6 (no size check at
 * mmap), A10 (1 GiB slot at 1<<39 of a 1 TiB gmem), §3.3.1 (allocate), and
 * house-style rule 16 (every test frees what it made).
 *
 * The figures are printed so they can be quoted; the bound asserted is
 * 1 MiB for 1,000 touched pages (about 1 KiB per page, a quarter of the
 * page itself, so the model cannot be storing whole pages).
 */
#include <inttypes.h>
#include <stdio.h>

#include "test_util.h"

#define NPAGES_TIB (TiB / PAGE)		/* 2^28 */
#define NR_SCATTER 1000
#define BUDGET MiB

/* the i-th scattered page: an odd multiplier is a bijection mod 2^28 */
static uint64_t scatter(unsigned int i)
{
	return ((uint64_t)i * 2654435761ULL + 12345) & (NPAGES_TIB - 1);
}

/*
 * A 1 TiB gmem (MMAP|INIT_SHARED) mapped whole, 1,000 scattered pages each
 * written once through the mapping: < 1 MiB of model memory.
 */
static void test_1tib_scattered_writes_cost_under_1mib(void)
{
	size_t before = mem_cur(fx.h), after;
	int g = gmem_create(TiB, FL_BOTH);
	uint64_t a = map_shared(g, TiB, 0);
	unsigned int bad = 0;

	for (unsigned int i = 0; i < NR_SCATTER; i++) {
		uint64_t off = scatter(i) * PAGE + (i % PAGE);

		if (t_store(fx.p, a + off, (uint8_t)(i | 1)) != 0)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	after = mem_cur(fx.h);
	printf("\n    1 TiB gmem, %u scattered pages written once: "
	       "%zu bytes of model memory (%zu per page)\n    ",
	       NR_SCATTER, after - before, (after - before) / NR_SCATTER);
	CU_ASSERT(after - before < BUDGET);
	EXPECT_EQ(gmem_info(g).nr_uptodate, NR_SCATTER);
	EXPECT_EQ(gmem_info(g).nr_present, NR_SCATTER);
	/* every byte written reads back; its neighbours read 0 */
	for (unsigned int i = 0; i < NR_SCATTER; i++) {
		uint64_t off = scatter(i) * PAGE + (i % PAGE);
		uint8_t v = 0, w = 0xff;

		if (t_load(fx.p, a + off, &v) != 0 || v != (uint8_t)(i | 1))
			bad++;
		if (t_load(fx.p, a + (off ^ 1), &w) != 0 || w != 0)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	CU_ASSERT(mem_cur(fx.h) - before < BUDGET);
	GM_OK(gm_munmap(fx.p, a, TiB));
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(mem_cur(fx.h), before);
}

/*
 * §3.3.1 over the whole 1 TiB: 2^28 folios become present (stale) in
 * O(ranges) memory; the punch of the whole file removes them.
 */
static void test_1tib_fallocate_is_range_based(void)
{
	size_t before = mem_cur(fx.h), after;
	int g = gmem_create(TiB, FL_BOTH);
	uint64_t a;

	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, TiB));
	after = mem_cur(fx.h);
	printf("\n    fallocate of 1 TiB: %zu bytes of model memory\n    ",
	       after - before);
	CU_ASSERT(after - before < BUDGET);
	EXPECT_EQ(gmem_info(g).nr_present, NPAGES_TIB);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 0);
	/* then 1,000 scattered writes split the one range into many */
	a = map_shared(g, TiB, 0);
	for (unsigned int i = 0; i < NR_SCATTER; i++)
		CU_ASSERT(t_store(fx.p, a + scatter(i) * PAGE, 1) == 0);
	EXPECT_EQ(gmem_info(g).nr_uptodate, NR_SCATTER);
	EXPECT_EQ(gmem_info(g).nr_present, NPAGES_TIB);
	CU_ASSERT(mem_cur(fx.h) - before < BUDGET);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, TiB));
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 0);
	GM_OK(gm_munmap(fx.p, a, TiB));
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(mem_cur(fx.h), before);
}

/*
 * probe A10 (1 TiB gmem slots are fine) with guest accesses: 1,000
 * scattered guest writes into a 1 TiB GMEM_ONLY slot stay < 1 MiB.
 */
static void test_1tib_guest_scattered_faults(void)
{
	struct kvm_create_guest_memfd c = { .size = TiB, .flags = FL_BOTH };
	size_t before = mem_cur(fx.h), after;
	const uint64_t gpa0 = 1ULL << 41;
	unsigned int bad = 0;
	int vm, g;

	/* a VM of its own, so that closing it frees all it grew */
	vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, 0));
	g = GM_FD(gm_ioctl(fx.p, vm, KVM_CREATE_GUEST_MEMFD,
			   (unsigned long)&c));
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, gpa0, TiB, 0, g,
			    0));
	for (unsigned int i = 0; i < NR_SCATTER; i++) {
		struct gm_guest_fault f;

		f = guest(fx.p, vm, gpa0 + scatter(i) * PAGE, GM_ACCESS_WRITE,
			  GM_INTENT_DEFAULT, 0x42);
		if (f.outcome != GM_GUEST_OK)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	after = mem_cur(fx.h);
	printf("\n    1 TiB slot, %u scattered guest writes: %zu bytes\n    ",
	       NR_SCATTER, after - before);
	CU_ASSERT(after - before < BUDGET);
	EXPECT_EQ(vm_info(fx.p, vm).nr_stage2_pages, NR_SCATTER);
	EXPECT_EQ(gmem_info(g).nr_uptodate, NR_SCATTER);
	/* punching everything zaps every stage-2 mapping */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, TiB));
	EXPECT_EQ(vm_info(fx.p, vm).nr_stage2_pages, 0);
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, vm));
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(mem_cur(fx.h), before);
}

/*
 * probe A2: the largest size (0x7ffffffffffff000) is accepted; allocating
 * and punching at its far end works and costs nothing extra.
 */
static void test_max_size_gmem_far_end(void)
{
	const uint64_t max = 0x7ffffffffffff000ULL;
	size_t before = mem_cur(fx.h);
	int g = gmem_create(max, FL_BOTH);

	GM_OK(gm_fallocate(fx.p, g, KEEP, max - 2 * PAGE, 2 * PAGE));
	/* probe A4 order 3: offset+len past LLONG_MAX -> EFBIG (VFS) */
	GM_ERR(gm_fallocate(fx.p, g, KEEP, max - PAGE, 2 * PAGE), -EFBIG);
	/* ... also when offset+len is exactly 1<<63 */
	GM_ERR(gm_fallocate(fx.p, g, KEEP, max, PAGE), -EFBIG);
	EXPECT_EQ(gmem_info(g).nr_present, 2);
	EXPECT_EQ(folio_flags(g, max / PAGE - 1), GM_FOLIO_PRESENT);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 1ULL << 40));
	CU_ASSERT(mem_cur(fx.h) - before < BUDGET);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, max));
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(mem_cur(fx.h), before);
}

CU_TestInfo memory_tests[] = {
	{ "test_1tib_scattered_writes_cost_under_1mib",
	  test_1tib_scattered_writes_cost_under_1mib },
	{ "test_1tib_fallocate_is_range_based",
	  test_1tib_fallocate_is_range_based },
	{ "test_1tib_guest_scattered_faults", test_1tib_guest_scattered_faults },
	{ "test_max_size_gmem_far_end", test_max_size_gmem_far_end },
	CU_TEST_INFO_NULL,
};
