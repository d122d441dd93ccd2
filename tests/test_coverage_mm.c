// SPDX-License-Identifier: GPL-2.0
/*
 * Host mappings beyond the probe tables: address-space placement (x86
 * arch/x86/kernel/sys_x86_64.c), do_mmap() argument checks (mm/mmap.c),
 * MAP_FIXED, partial munmap (split_vma), madvise walks (mm/madvise.c,
 * probe A8), mincore errors (mm/mincore.c), memfd (shmem) files, and
 * allocation failures on these paths.
 *
 * The fixture is the probe machine's (a DEFAULT VM); files are flags-3
 * guest_memfds unless a test says otherwise.
 */
#include <string.h>

#include "test_util.h"

#define MAP_SH GMEM_MAP_SHARED
#define MMAP_MIN 0x10000ULL /* vm.mmap_min_addr */
#define MMAP_BASE 0x00007f0000000000ULL /* model's mmap_base */
#define TASK_TOP 0x00007ffffffff000ULL /* TASK_SIZE_MAX, 4-level */

/*
 * arch_get_unmapped_area_topdown() searches below mmap_base; when nothing
 * fits there it falls back to the bottom-up search ("A failed mmap() very
 * likely causes application failure, so fall back to the bottom-up
 * function here"), which also covers the range above mmap_base; when that
 * fails too -> ENOMEM.  mmap does not check the file size (probe A6).
 */
static void test_mmap_topdown_then_bottomup(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	uint64_t all = 0, above = 0, none = 0;

	/* exactly the whole top-down range */
	GM_OK(__map(fx.p, MMAP_BASE - MMAP_MIN, RW, MAP_SH, g, 0, &all));
	EXPECT_EQ(all, MMAP_MIN);
	/* nothing below mmap_base is left: bottom-up finds the rest */
	GM_OK(__map(fx.p, 1 * GiB, RW, MAP_SH, g, 0, &above));
	EXPECT_EQ(above, MMAP_BASE);
	GM_ERR(__map(fx.p, TASK_TOP - MMAP_BASE, RW, MAP_SH, g, 0, &none),
	       -ENOMEM);
	EXPECT_EQ(none, 0);
	/* the first page of each still faults the file's page 0 */
	CU_ASSERT(t_store(fx.p, all, 0x21) == 0);
	EXPECT_BYTES(fx.p, above, 1, 0x21);
	GM_OK(gm_munmap(fx.p, above, 1 * GiB));
	GM_OK(gm_munmap(fx.p, all, MMAP_BASE - MMAP_MIN));
	GM_OK(gm_close(fx.p, g));
}

/*
 * do_mmap() / ksys_mmap_pgoff() argument checks, in order: MAP_HUGETLB on
 * a file that is not hugetlbfs -> EINVAL; len 0 -> EINVAL; len that
 * rounds past the address space -> ENOMEM; pgoff + pages wraps ->
 * EOVERFLOW; file_mmap_ok() (offset + len past MAX_LFS_FILESIZE for a
 * regular file) -> EOVERFLOW; MAP_FIXED outside the user range -> ENOMEM,
 * unaligned -> EINVAL; MAP_ANONYMOUS is not a file (model: EINVAL); a
 * closed fd -> EBADF.
 */
static void test_mmap_argument_checks(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	uint64_t a = 0;

	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH | 0x40000, g, 0, &a), -EINVAL);
	GM_ERR(__map(fx.p, 0, RW, MAP_SH, g, 0, &a), -EINVAL);
	GM_ERR(__map(fx.p, ~0ULL, RW, MAP_SH, g, 0, &a), -ENOMEM);
	GM_ERR(__map(fx.p, 2 * PAGE, RW, MAP_SH, g, ~0ULL & ~(PAGE - 1), &a),
	       -EOVERFLOW);
	GM_ERR(__map(fx.p, 2 * PAGE, RW, MAP_SH, g, 1ULL << 63, &a),
	       -EOVERFLOW);
	a = TASK_TOP;
	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH | GMEM_MAP_FIXED, g, 0, &a),
	       -ENOMEM);
	a = MMAP_BASE + 1;
	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH | GMEM_MAP_FIXED, g, 0, &a),
	       -EINVAL);
	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH | GMEM_MAP_ANONYMOUS, -1, 0, &a),
	       -EINVAL);
	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH, 999, 0, &a), -EBADF);
	GM_ERR(__map(fx.p, PAGE, RW, 0x0f, g, 0, &a), -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

/*
 * mmap_region() with MAP_FIXED unmaps what was there first (do_munmap):
 * a FIXED mapping of file B over the middle of a mapping of file A splits
 * A; the two remaining pieces of A still reach A's pages, the middle
 * reaches B's.  A FIXED mapping above every other VMA is linked last.
 */
static void test_mmap_fixed_replaces_mapping(void)
{
	int ga = gmem_create(4 * PAGE, FL_BOTH);
	int gb = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(ga, 4 * PAGE, 0);
	uint64_t b = a + PAGE, hi = MMAP_BASE + 16 * PAGE;

	EXPECT_FILL(fx.p, a, 4 * PAGE, 0xaa);
	GM_OK(__map(fx.p, 2 * PAGE, RW, MAP_SH | GMEM_MAP_FIXED, gb, 0, &b));
	EXPECT_EQ(b, a + PAGE);
	EXPECT_BYTES(fx.p, a, PAGE, 0xaa);
	EXPECT_BYTES(fx.p, a + PAGE, 2 * PAGE, 0);
	EXPECT_BYTES(fx.p, a + 3 * PAGE, PAGE, 0xaa);
	CU_ASSERT(t_store(fx.p, a + PAGE, 0xbb) == 0);
	EXPECT_EQ(gmem_info(gb).nr_present, 2);
	EXPECT_EQ(gmem_info(ga).file_refs, 3); /* fd + two pieces */

	GM_OK(__map(fx.p, PAGE, RW, MAP_SH | GMEM_MAP_FIXED, gb, 0, &hi));
	EXPECT_EQ(hi, MMAP_BASE + 16 * PAGE);
	EXPECT_BYTES(fx.p, hi, 1, 0xbb);

	GM_OK(gm_munmap(fx.p, hi, PAGE));
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	EXPECT_EQ(gmem_info(ga).file_refs, 1);
	EXPECT_EQ(gmem_info(gb).file_refs, 1);
	GM_OK(gm_close(fx.p, gb));
	GM_OK(gm_close(fx.p, ga));
}

/*
 * munmap of the lower half of a VMA (split_vma): the upper half keeps its
 * PTEs and its data; munmapping the middle of the rest splits again; each
 * piece holds a file reference; the unmapped addresses SIGSEGV.
 */
static void test_partial_munmap_splits_vma(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 8 * PAGE, 0);

	for (unsigned int i = 0; i < 8; i++)
		CU_ASSERT(t_store(fx.p, a + i * PAGE, 0x30 + i) == 0);
	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	CU_ASSERT(!t_pte_present(fx.p, a));
	CU_ASSERT(t_pte_present(fx.p, a + 2 * PAGE));
	CU_ASSERT(t_pte_present(fx.p, a + 7 * PAGE));
	EXPECT_SIG(fx.p, a + PAGE, GM_ACCESS_READ, SIGSEGV);

	GM_OK(gm_munmap(fx.p, a + 4 * PAGE, 2 * PAGE));
	EXPECT_EQ(gmem_info(g).file_refs, 3);
	for (unsigned int i = 2; i < 8; i++) {
		uint8_t v = 0;
		int sig = t_load(fx.p, a + i * PAGE, &v);

		if (i == 4 || i == 5) {
			EXPECT_EQ(sig, SIGSEGV);
		} else {
			EXPECT_EQ(sig, 0);
			EXPECT_EQ(v, 0x30 + i);
		}
	}
	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	EXPECT_EQ(gmem_info(g).file_refs, 1);
	EXPECT_EQ(gmem_info(g).nr_present, 8);
	GM_OK(gm_close(fx.p, g));
}

/*
 * split_vma() allocates (the new VMA and its page-table state), so a
 * partial munmap and a MAP_FIXED over part of a VMA can fail with ENOMEM;
 * they then leave the mapping exactly as it was.
 */
static void test_split_enomem_leaves_mapping(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 8 * PAGE, 0);
	long r = -ENOMEM;

	/* PTEs in several runs above the split point */
	for (unsigned int i = 2; i < 8; i += 2)
		CU_ASSERT(t_store(fx.p, a + i * PAGE, 0x40 + i) == 0);
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_munmap(fx.p, a, PAGE);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r)
			EXPECT_EQ(gmem_info(g).file_refs, 2);
	}
	EXPECT_EQ(r, 0);
	EXPECT_EQ(gmem_info(g).file_refs, 2);
	for (unsigned int i = 2; i < 8; i += 2)
		EXPECT_BYTES(fx.p, a + i * PAGE, 1, 0x40 + i);

	r = -ENOMEM;
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		uint64_t b = a + 4 * PAGE;

		gm_host_fail_alloc(fx.h, n);
		r = __map(fx.p, PAGE, RW, MAP_SH | GMEM_MAP_FIXED, g, 0, &b);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
	}
	EXPECT_EQ(r, 0);
	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * dup_mmap() allocates one VMA per mapping: a fork that cannot allocate
 * fails with ENOMEM and leaves nothing behind; the parent's mappings are
 * untouched.
 */
static void test_fork_enomem(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 2 * PAGE, 0);
	uint64_t b = map_shared(g, 2 * PAGE, 2 * PAGE);
	struct gm_proc *c = NULL;
	int r = -ENOMEM;

	CU_ASSERT(t_store(fx.p, a, 0x11) == 0);
	for (unsigned long n = 1; n < 16 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_proc_fork(fx.p, &c);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r) {
			CU_ASSERT(c == NULL);
			EXPECT_EQ(gmem_info(g).file_refs, 3);
		}
	}
	EXPECT_EQ(r, 0);
	if (c) {
		fx.procs[fx.nr_procs++] = c;
		EXPECT_EQ(gmem_info(g).file_refs, 6);
		EXPECT_BYTES(c, a, 1, 0x11);
		gm_proc_exit(c);
	}
	GM_OK(gm_munmap(fx.p, b, 2 * PAGE));
	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * mm/madvise.c: a range that covers unmapped addresses still applies the
 * advice to the mapped parts and then fails with ENOMEM ("just ignore
 * them, but return -ENOMEM at the end"); an unknown advice, an unaligned
 * start or a length wrapping the address space -> EINVAL; length 0 -> 0.
 */
static void test_madvise_range_rules(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 8 * PAGE, 0);

	EXPECT_FILL(fx.p, a, 8 * PAGE, 0x5d);
	GM_OK(gm_munmap(fx.p, a + 2 * PAGE, 2 * PAGE));
	/* [a, a+8P) has a hole at [2, 4): DONTNEED still zaps the rest */
	GM_ERR(gm_madvise(fx.p, a, 8 * PAGE, GMEM_MADV_DONTNEED), -ENOMEM);
	CU_ASSERT(!t_pte_present(fx.p, a));
	CU_ASSERT(!t_pte_present(fx.p, a + 7 * PAGE));
	EXPECT_BYTES(fx.p, a + 7 * PAGE, 1, 0x5d);
	/* starting in the hole */
	GM_ERR(gm_madvise(fx.p, a + 2 * PAGE, 3 * PAGE, GMEM_MADV_WILLNEED),
	       -ENOMEM);
	/* entirely unmapped */
	GM_ERR(gm_madvise(fx.p, a + 2 * PAGE, 2 * PAGE, GMEM_MADV_NORMAL),
	       -ENOMEM);
	GM_ERR(gm_madvise(fx.p, a, PAGE, 77), -EINVAL);
	GM_ERR(gm_madvise(fx.p, a + 1, PAGE, GMEM_MADV_NORMAL), -EINVAL);
	GM_ERR(gm_madvise(fx.p, a, ~0ULL, GMEM_MADV_NORMAL), -EINVAL);
	GM_ERR(gm_madvise(fx.p, a, ~0ULL - 2 * PAGE, GMEM_MADV_NORMAL),
	       -EINVAL);
	GM_OK(gm_madvise(fx.p, a, 0, GMEM_MADV_DONTNEED));
	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A8: FREE, WIPEONFORK and COLLAPSE -> EINVAL on a gmem mapping;
 * on an address that is not mapped at all the VMA lookup fails first ->
 * ENOMEM.
 */
static void test_madvise_anon_only_advice(void)
{
	static const int adv[] = { GMEM_MADV_FREE, GMEM_MADV_WIPEONFORK,
				   GMEM_MADV_COLLAPSE };
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(adv); i++) {
		GM_ERR(gm_madvise(fx.p, a, 4 * PAGE, adv[i]), -EINVAL);
		GM_ERR(gm_madvise(fx.p, MMAP_MIN, PAGE, adv[i]), -ENOMEM);
	}
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A8 REMOVE (punches), mm/madvise.c madvise_remove(): the punch
 * covers exactly the advised range of the file, through a mapping at an
 * offset; with a bound slot it zaps the guest mapping too (§3.3.2).
 */
static void test_madv_remove_at_offset(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 4 * PAGE);
	struct gm_guest_fault f;

	bind_slot(0, 1ULL << 32, 8 * PAGE, g, 0);
	EXPECT_FILL(fx.p, a, 4 * PAGE, 0x66);
	f = guest(fx.p, fx.vm, (1ULL << 32) + 5 * PAGE, GM_ACCESS_READ,
		  GM_INTENT_DEFAULT, 0);
	EXPECT_EQ(f.value, 0x66);
	GM_OK(gm_madvise(fx.p, a + PAGE, 2 * PAGE, GMEM_MADV_REMOVE));
	EXPECT_EQ(folio_flags(g, 4), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(folio_flags(g, 5), 0);
	EXPECT_EQ(folio_flags(g, 6), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, ((1ULL << 32) >> 12) + 5), 0);
	EXPECT_BYTES(fx.p, a + PAGE, 2 * PAGE, 0);
	EXPECT_BYTES(fx.p, a + 3 * PAGE, PAGE, 0x66);
	delete_slot(0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * mm/gup.c __get_user_pages() with FOLL_MADV_POPULATE ("MADV_POPULATE_
 * (READ|WRITE) wants to handle VMA lookups+error reporting differently"):
 * a permission problem (POPULATE_WRITE on a read-only mapping,
 * POPULATE_READ on PROT_NONE) is check_vma_flags() -> EINVAL, while
 * SIGBUS during the fault is EFAULT (probe A7) and a hole is ENOMEM.
 */
static void test_madv_populate_permissions_einval(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t ro = 0, none = 0;

	GM_OK(__map(fx.p, 4 * PAGE, GMEM_PROT_READ, MAP_SH, g, 0, &ro));
	GM_OK(__map(fx.p, 4 * PAGE, GMEM_PROT_NONE, MAP_SH, g, 0, &none));
	GM_ERR(gm_madvise(fx.p, ro, 4 * PAGE, GMEM_MADV_POPULATE_WRITE),
	       -EINVAL);
	GM_ERR(gm_madvise(fx.p, none, 4 * PAGE, GMEM_MADV_POPULATE_READ),
	       -EINVAL);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	GM_OK(gm_madvise(fx.p, ro, 4 * PAGE, GMEM_MADV_POPULATE_READ));
	EXPECT_EQ(gmem_info(g).nr_uptodate, 4);
	GM_OK(gm_munmap(fx.p, none, 4 * PAGE));
	GM_OK(gm_munmap(fx.p, ro, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * mm/mincore.c: an unaligned start -> EINVAL; a range outside the user
 * address space -> ENOMEM; a range with an unmapped page -> ENOMEM; a bad
 * vector -> EFAULT (copy_to_user).
 */
static void test_mincore_errors(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	unsigned char vec[8];

	GM_ERR(gm_mincore(fx.p, a + 1, PAGE, vec), -EINVAL);
	GM_ERR(gm_mincore(fx.p, TASK_TOP + PAGE, PAGE, vec), -ENOMEM);
	GM_ERR(gm_mincore(fx.p, a, ~0ULL - PAGE, vec), -ENOMEM);
	GM_ERR(gm_mincore(fx.p, a, 5 * PAGE, vec), -ENOMEM);
	GM_ERR(gm_mincore(fx.p, a, PAGE, NULL), -EFAULT);
	GM_OK(gm_mincore(fx.p, a, 4 * PAGE, vec));
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * A memfd (shmem) mapping, the comparison column of probe A4/A5: every
 * page in the file is faultable and zero-filled; ftruncate shrinks
 * (dropping the pages past the new size: access -> SIGBUS) and grows;
 * fallocate without KEEP_SIZE grows the file (shmem_fallocate), other
 * modes -> EOPNOTSUPP; punch zeroes a page; mincore shows faulted pages.
 */
static void test_memfd_mapping_lifecycle(void)
{
	int m = GM_FD(gm_memfd_create(fx.p, 4 * PAGE));
	uint64_t a = 0;
	unsigned char vec[4];

	GM_OK(__map(fx.p, 4 * PAGE, RW, MAP_SH, m, 0, &a));
	EXPECT_FILL(fx.p, a, 4 * PAGE, 0x3c);
	GM_OK(gm_mincore(fx.p, a, 4 * PAGE, vec));
	EXPECT_EQ(vec[0] + vec[1] + vec[2] + vec[3], 4);

	GM_OK(gm_fallocate(fx.p, m, PUNCH, PAGE, PAGE));
	EXPECT_BYTES(fx.p, a + PAGE, PAGE, 0);
	EXPECT_BYTES(fx.p, a, PAGE, 0x3c);

	GM_OK(gm_ftruncate(fx.p, m, 2 * PAGE + 1));
	EXPECT_EQ(fstat_of(m).size, 2 * PAGE + 1);
	EXPECT_BYTES(fx.p, a + 2 * PAGE, 1, 0x3c);
	EXPECT_SIG(fx.p, a + 3 * PAGE, GM_ACCESS_READ, SIGBUS);
	GM_OK(gm_ftruncate(fx.p, m, 4 * PAGE));
	EXPECT_BYTES(fx.p, a + 3 * PAGE, PAGE, 0);

	GM_OK(gm_fallocate(fx.p, m, 0, 0, 8 * PAGE));
	EXPECT_EQ(fstat_of(m).size, 8 * PAGE);
	GM_OK(gm_fallocate(fx.p, m, KEEP, 0, 16 * PAGE));
	EXPECT_EQ(fstat_of(m).size, 8 * PAGE);
	GM_ERR(gm_fallocate(fx.p, m, GMEM_FALLOC_FL_ZERO_RANGE, 0, PAGE),
	       -EOPNOTSUPP);

	GM_OK(gm_madvise(fx.p, a, 4 * PAGE, GMEM_MADV_DONTNEED));
	EXPECT_BYTES(fx.p, a, PAGE, 0x3c);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, m));
}

/*
 * mm/madvise.c madvise_remove(): REMOVE punches the backing file through
 * vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) ("Currently, only shmfs/tmpfs is
 * supported"), so on a memfd (shmem) mapping -> 0 and the data is gone.
 */
static void test_memfd_madv_remove_punches(void)
{
	int m = GM_FD(gm_memfd_create(fx.p, 4 * PAGE));
	uint64_t a = 0;

	GM_OK(__map(fx.p, 4 * PAGE, RW, MAP_SH, m, 0, &a));
	EXPECT_FILL(fx.p, a, 4 * PAGE, 0x3d);
	GM_OK(gm_madvise(fx.p, a + PAGE, PAGE, GMEM_MADV_REMOVE));
	EXPECT_BYTES(fx.p, a + PAGE, PAGE, 0);
	EXPECT_BYTES(fx.p, a, PAGE, 0x3d);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, m));
}

/*
 * The fault and populate paths allocate (the folio, its uptodate state,
 * the PTE): a host access that cannot allocate reports ENOMEM (the
 * kernel's VM_FAULT_OOM, §3.6 step 3) and stores nothing; so does
 * MADV_POPULATE_WRITE, which then returns ENOMEM ("-ENOMEM: No VMA or out
 * of memory", madvise_populate); MADV_DONTNEED splitting the page-table
 * state may fail the same way and is then a no-op.
 */
static void test_host_fault_enomem(void)
{
	int g = gmem_create(16 * PAGE, FL_BOTH);
	int m = GM_FD(gm_memfd_create(fx.p, 16 * PAGE));
	uint64_t a = map_shared(g, 16 * PAGE, 0), b = 0;
	uint8_t v = 1;
	int sig = -1, r = -ENOMEM;

	GM_OK(__map(fx.p, 16 * PAGE, RW, MAP_SH, m, 0, &b));
	/* four allocated-but-stale runs fill the folio array */
	for (unsigned int i = 0; i < 4; i++)
		GM_OK(gm_fallocate(fx.p, g, KEEP, 4 * i * PAGE, 3 * PAGE));
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_host_access(fx.p, a + PAGE, GM_ACCESS_WRITE, &v, &sig);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		/* a failed store stored nothing */
		if (r)
			EXPECT_BYTES(fx.p, a + PAGE, 1, 0);
	}
	EXPECT_EQ(r, 0);
	EXPECT_EQ(sig, 0);
	/* map the rest of the four runs: four PTE runs */
	for (unsigned int i = 0; i < 16; i++)
		if (i % 4 != 3 && i != 1)
			EXPECT_BYTES(fx.p, a + i * PAGE, 1, 0);

	r = -ENOMEM;
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_madvise(fx.p, b, 16 * PAGE, GMEM_MADV_POPULATE_WRITE);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
	}
	EXPECT_EQ(r, 0);

	r = -ENOMEM;
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_madvise(fx.p, a + 5 * PAGE, PAGE, GMEM_MADV_DONTNEED);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
	}
	EXPECT_EQ(r, 0);
	CU_ASSERT(!t_pte_present(fx.p, a + 5 * PAGE));
	CU_ASSERT(t_pte_present(fx.p, a + 6 * PAGE));
	GM_OK(gm_munmap(fx.p, b, 16 * PAGE));
	GM_OK(gm_munmap(fx.p, a, 16 * PAGE));
	GM_OK(gm_close(fx.p, m));
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo mm_more_tests[] = {
	{ "test_mmap_topdown_then_bottomup", test_mmap_topdown_then_bottomup },
	{ "test_mmap_argument_checks", test_mmap_argument_checks },
	{ "test_mmap_fixed_replaces_mapping",
	  test_mmap_fixed_replaces_mapping },
	{ "test_partial_munmap_splits_vma", test_partial_munmap_splits_vma },
	{ "test_split_enomem_leaves_mapping",
	  test_split_enomem_leaves_mapping },
	{ "test_fork_enomem", test_fork_enomem },
	{ "test_madvise_range_rules", test_madvise_range_rules },
	{ "test_madvise_anon_only_advice", test_madvise_anon_only_advice },
	{ "test_madv_remove_at_offset", test_madv_remove_at_offset },
	{ "test_madv_populate_permissions_einval",
	  test_madv_populate_permissions_einval },
	{ "test_mincore_errors", test_mincore_errors },
	{ "test_memfd_mapping_lifecycle", test_memfd_mapping_lifecycle },
	{ "test_memfd_madv_remove_punches", test_memfd_madv_remove_punches },
	{ "test_host_fault_enomem", test_host_fault_enomem },
	CU_TEST_INFO_NULL,
};
