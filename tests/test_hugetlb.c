// SPDX-License-Identifier: GPL-2.0
/*
 * Profile hugetlb: HugeTLB-backed guest_memfd files with huge folios of
 * order 9 (2M) and 18 (1G), their host pool, split/merge by a policy, the
 * HVO vmemmap cost of splits and the order KVM maps a gfn at.  Everything
 * is PROPOSED/WIP (inflight-series.md §3); expectations are cited as
 * "§3.2 <paragraph>" (the HugeTLB WIP), "§3.3" (HVO sizes), "§3.5" (TDX
 * huge pages), "§3.6 A-D" (the candidate algorithms behind the reference
 * policies eager, hier, lazy, nomerge) and "§6.2.N" (rule N of the
 * split/merge semantics).  Conversion rules of §6.1 still apply.
 *
 * The fixture (fx_setup_hugetlb): every VM type offered, a SW_PROTECTED VM
 * (contents kept across conversions, §6.1.9), a pool of 16 2M pages and 4
 * 1G pages, policy eager.  Tests about another policy or VM type remake
 * the fixture (fx_reinit) or make a VM on the fixture's /dev/kvm.
 *
 * Orders: 0 = 4K, 9 = 2M, 18 = 1G.  Statistics (gm_host_huge_stats())
 * index orders by level: 0 = 4K, 1 = 2M, 2 = 1G; splits[from][to].
 *
 * Not expressible: concurrency inside one call (rule 8 is checked with an
 * interleaving of fault begin/finish) and TDX demote/promote costs; the
 * accept-level inhibit (§6.2.7) is covered by
 * traces/corpus/hugetlb_rule7_tdx_accept.trace.
 */
#include <string.h>

#include "test_util.h"

#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define SHARED 0ULL
#define HUGETLB GUEST_MEMFD_FLAG_HUGETLB
#define HFL_2M (GUEST_MEMFD_FLAG_MMAP | HUGETLB | GUEST_MEMFD_HUGETLB_2MB)
#define HFL_1G (GUEST_MEMFD_FLAG_MMAP | HUGETLB | GUEST_MEMFD_HUGETLB_1GB)
#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)
#define N2M 512ULL /* 4K pages in a 2M page */
#define N1G 262144ULL /* 4K pages in a 1G page */
#define NO_FOLIO 0xfffU /* forder() where nothing is allocated */

/*
 * §3.3 (DERIVED): a struct page is 64 bytes; HVO keeps one 4 KiB page of
 * them per huge folio.  Splitting to 4K restores the rest; a 1G page split
 * to 2M folios keeps one page per 2M folio.
 */
#define VMEMMAP_2M_TO_4K (N2M * 64 - 4096) /* 28 KiB */
#define VMEMMAP_1G_TO_4K (N1G * 64 - 4096) /* ~16 MiB */
#define VMEMMAP_1G_TO_2M (512ULL * 4096 - 4096)

enum { L4K = 0, L2M = 1, L1G = 2 };

/* ---- helpers ---- */

static struct gm_huge_stats hst(void)
{
	struct gm_huge_stats st;

	memset(&st, 0xff, sizeof(st));
	gm_host_huge_stats(fx.h, &st);
	return st;
}

/* A HugeTLB guest_memfd on the fixture VM (fatal on failure). */
static int hfile(uint64_t size, uint64_t flags)
{
	return gmem_create(size, flags);
}

/* The same bound through slot @slot at @gpa over the whole file. */
static int hfile_slot(uint32_t slot, uint64_t gpa, uint64_t size,
		      uint64_t flags)
{
	int g = hfile(size, flags);

	bind_slot(slot, gpa, size, g, 0);
	return g;
}

/* Folio order at @index, without the per-call host check (for sampling). */
static unsigned int __forder(int g, uint64_t index)
{
	unsigned int f = 0;

	if (gm_gmem_folio_flags(fx.p, g, index, &f))
		return 0xdead;
	return f & GM_FOLIO_PRESENT ? GM_FOLIO_ORDER(f) : NO_FOLIO;
}

/* Folio order at @index; NO_FOLIO when nothing is allocated there. */
static unsigned int forder(int g, uint64_t index)
{
	unsigned int f = folio_flags(g, index);

	return f & GM_FOLIO_PRESENT ? GM_FOLIO_ORDER(f) : NO_FOLIO;
}

/*
 * Every 2M granule of [first, first + n) has folio order @order (one
 * sample at each granule's first and last index); counts mismatches.
 */
static void expect_forder_range(int g, uint64_t first, uint64_t n,
				unsigned int order, const char *what)
{
	struct t_tally t = { 0 };
	uint64_t i;

	for (i = first; i < first + n; i += N2M) {
		t_tally_expect(&t, __forder(g, i), order, "%s: index %#llx",
			       what, (unsigned long long)i);
		t_tally_expect(&t, __forder(g, i + N2M - 1), order,
			       "%s: index %#llx", what,
			       (unsigned long long)(i + N2M - 1));
	}
	TALLY_DONE(&t, what);
	check_host(fx.h);
}

/*
 * One private guest access, re-entered while KVM asks to retry (at most 8
 * times), as a vCPU does and as the replayer does (traces/backend_model.c).
 */
static struct gm_guest_fault gaccess(int vm, uint64_t gpa, enum gm_access acc,
				     uint8_t v)
{
	struct gm_guest_fault f;
	int tries = 0;

	do {
		f = guest(fx.p, vm, gpa, acc, GM_INTENT_PRIVATE, v);
	} while (f.outcome == GM_GUEST_RETRY && ++tries < 8);
	return f;
}

/* A private guest access that must map; returns the mapping order. */
static int gorder_vm(int vm, uint64_t gpa, enum gm_access acc, uint8_t v)
{
	struct gm_guest_fault f = gaccess(vm, gpa, acc, v);

	EXPECT_OUTCOME(f, GM_GUEST_OK);
	return f.outcome == GM_GUEST_OK ? f.order : -1;
}

static int gorder(uint64_t gpa)
{
	return gorder_vm(fx.vm, gpa, GM_ACCESS_READ, 0);
}

static int gorder_w(uint64_t gpa, uint8_t v)
{
	return gorder_vm(fx.vm, gpa, GM_ACCESS_WRITE, v);
}

/* A private guest read that must map at @order and read @val. */
static void expect_gread(uint64_t gpa, int order, uint8_t val, int line)
{
	struct gm_guest_fault f = gaccess(fx.vm, gpa, GM_ACCESS_READ, 0);

	t_expect_u64(f.outcome, GM_GUEST_OK, "guest read outcome", __FILE__,
		     line);
	t_expect_u64((uint64_t)f.order, (uint64_t)order, "guest read order",
		     __FILE__, line);
	t_expect_u64(f.value, val, "guest read value", __FILE__, line);
}
#define EXPECT_GREAD(gpa, order, val) \
	expect_gread((gpa), (order), (val), __LINE__)

static int state(int g, uint64_t off, uint64_t len)
{
	return gm_gmem_state(fx.p, g, off, len);
}

static void to_shared(int g, uint64_t off, uint64_t len)
{
	gmem_convert(g, off, len, SHARED);
}

static void to_private(int g, uint64_t off, uint64_t len)
{
	gmem_convert(g, off, len, PRIV);
}

static void policy_fixture(enum gm_huge_policy policy, unsigned int lazy_ops)
{
	struct gm_config cfg;

	t_config_hugetlb(&cfg);
	cfg.policy = policy;
	if (lazy_ops)
		cfg.lazy_ops = lazy_ops;
	fx_reinit(&cfg, GM_VM_SW_PROTECTED);
}

/* ---- creation and the pool (§3.2 "Allocator") ---- */

/*
 * §3.2: creation takes the HUGETLB flag plus a page order (2M or 1G); the
 * size must be a multiple of the huge page size; INIT_SHARED is rejected
 * with HUGETLB.  All EINVAL, and a failed create reserves nothing.
 */
static void test_create_rules(void)
{
	static const struct {
		uint64_t size;
		uint64_t flags;
		long want;
	} cases[] = {
		{ 2 * MiB, HFL_2M, 0 },
		{ 32 * MiB, HFL_2M, 0 },
		{ 1 * GiB, HFL_1G, 0 },
		{ 3 * MiB, HFL_2M, -EINVAL }, /* not a multiple */
		{ 2 * MiB + PAGE, HFL_2M, -EINVAL },
		{ PAGE, HFL_2M, -EINVAL },
		{ 2 * MiB, HFL_1G, -EINVAL },
		{ 1 * GiB + 2 * MiB, HFL_1G, -EINVAL },
		{ 2 * MiB, HFL_2M | FL_SHARED, -EINVAL }, /* INIT_SHARED */
		{ 1 * GiB, HFL_1G | FL_SHARED, -EINVAL },
		/* a page order without the HUGETLB flag */
		{ 2 * MiB, FL_MMAP | GUEST_MEMFD_HUGETLB_2MB, -EINVAL },
		/* no hstate of that size (only 2M and 1G, §3.2) */
		{ 2 * MiB,
		  FL_MMAP | HUGETLB | (22ULL << GUEST_MEMFD_HUGETLB_SHIFT),
		  -EINVAL },
	};
	struct gm_huge_stats st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		long r = __gmem_create(fx.p, fx.vm, cases[i].size,
				       cases[i].flags);

		if (cases[i].want == 0) {
			CU_ASSERT(r >= 0);
			if (r >= 0)
				GM_OK(gm_close(fx.p, (int)r));
		} else {
			GM_ERR(r, cases[i].want);
		}
	}
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], 0);
	EXPECT_EQ(st.pool_reserved[1], 0);
	EXPECT_EQ(st.pool_total[0], T_HUGETLB_POOL_2M);
	EXPECT_EQ(st.pool_total[1], T_HUGETLB_POOL_1G);
}

/*
 * §3.2: a per-file subpool reserves every huge page at creation, with no
 * surplus pages: the pool is reserved, not allocated, and a file the pool
 * cannot cover fails (ENOMEM, hugetlb_reserve_pages()).
 */
static void test_create_reserves_pool(void)
{
	struct gm_huge_stats st;
	int a, b;

	a = hfile(10 * 2 * MiB, HFL_2M);
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], 10);
	EXPECT_EQ(st.pool_in_use[0], 0); /* nothing allocated yet */
	GM_ERR(__gmem_create(fx.p, fx.vm, 7 * 2 * MiB, HFL_2M), -ENOMEM);
	b = hfile(6 * 2 * MiB, HFL_2M); /* exactly the rest */
	GM_ERR(__gmem_create(fx.p, fx.vm, 2 * MiB, HFL_2M), -ENOMEM);
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], T_HUGETLB_POOL_2M);
	/* the 1G pool is separate, and 4K files use no pool */
	(void)hfile(4 * GiB, HFL_1G);
	GM_ERR(__gmem_create(fx.p, fx.vm, 1 * GiB, HFL_1G), -ENOMEM);
	(void)gmem_create(64 * MiB, FL_MMAP);
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], T_HUGETLB_POOL_2M);
	EXPECT_EQ(st.pool_reserved[1], T_HUGETLB_POOL_1G);
	EXPECT_EQ(st.pool_in_use[0], 0);
	EXPECT_EQ(st.pool_in_use[1], 0);
	(void)a;
	(void)b;
}

/*
 * §3.2 / §6.2.6: the reservation goes back with the inode, i.e. when the
 * last file reference goes (upstream-semantics §3.9): an fd and a VMA hold
 * the file, a memslot binding does not.  Allocated pages go back too, and
 * a split page gives its vmemmap back first (merges before freeing).
 */
static void test_release_returns_reservation(void)
{
	struct gm_huge_stats st;
	uint64_t a;
	int g;

	g = hfile_slot(0, GPA0, 16 * 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 16 * 2 * MiB));
	to_shared(g, PAGE, PAGE);
	a = map_shared(g, 2 * MiB, 0);
	st = hst();
	EXPECT_EQ(st.pool_in_use[0], 16);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	GM_OK(gm_close(fx.p, g));
	/* the VMA keeps the file */
	GM_ERR(__gmem_create(fx.p, fx.vm, 2 * MiB, HFL_2M), -ENOMEM);
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], 16);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	/* the memslot does not: everything is back */
	st = hst();
	EXPECT_EQ(st.pool_reserved[0], 0);
	EXPECT_EQ(st.pool_in_use[0], 0);
	EXPECT_EQ(st.vmemmap_bytes, 0);
	g = hfile(16 * 2 * MiB, HFL_2M);
	GM_OK(gm_close(fx.p, g));
	g = hfile(16 * 2 * MiB, HFL_2M);
	/* 1G: the same */
	g = hfile(4 * GiB, HFL_1G);
	GM_ERR(__gmem_create(fx.p, fx.vm, GiB, HFL_1G), -ENOMEM);
	GM_OK(gm_close(fx.p, g));
	g = hfile(4 * GiB, HFL_1G);
	delete_slot(0);
}

/*
 * §3.2 "Allocation": a huge folio is allocated for the whole aligned huge
 * range (from the file's reservation): pool pages in use count whole
 * pages, whether a guest fault or fallocate allocated them, and a punch
 * gives whole pages back (§6.2.6).
 */
static void test_pool_in_use(void)
{
	struct gm_huge_stats st;
	int g, h;

	g = hfile_slot(0, GPA0, 8 * MiB, HFL_2M);
	EXPECT_EQ(gorder(GPA0 + 0x3000), 9);
	EXPECT_EQ(hst().pool_in_use[0], 1);
	EXPECT_EQ(forder(g, 0), 9);
	EXPECT_EQ(forder(g, N2M - 1), 9);
	EXPECT_EQ(forder(g, N2M), NO_FOLIO); /* the next page: not yet */
	/* fallocate of one 4K page allocates its whole huge page */
	GM_OK(gm_fallocate(fx.p, g, KEEP, 4 * MiB + 5 * PAGE, PAGE));
	EXPECT_EQ(hst().pool_in_use[0], 2);
	EXPECT_EQ(forder(g, 2 * N2M), 9);
	EXPECT_EQ(forder(g, 3 * N2M - 1), 9);
	/* again, and over what is there: no double count */
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 8 * MiB));
	st = hst();
	EXPECT_EQ(st.pool_in_use[0], 4);
	EXPECT_EQ(st.pool_reserved[0], 4);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 2 * MiB, 4 * MiB));
	EXPECT_EQ(hst().pool_in_use[0], 2);
	EXPECT_EQ(forder(g, N2M), NO_FOLIO);
	EXPECT_EQ(forder(g, 3 * N2M), 9);
	/* 1G */
	h = hfile_slot(1, 8 * GiB, 2 * GiB, HFL_1G);
	EXPECT_EQ(gorder(8 * GiB + GiB + 0x123000), 18);
	st = hst();
	EXPECT_EQ(st.pool_in_use[1], 1);
	EXPECT_EQ(st.pool_reserved[1], 2);
	EXPECT_EQ(st.pool_in_use[0], 2);
	GM_OK(gm_fallocate(fx.p, h, PUNCH, GiB, GiB));
	EXPECT_EQ(hst().pool_in_use[1], 0);
	delete_slot(1);
	delete_slot(0);
}

/*
 * §6.2.8: concurrent allocations within one huge page are serialized, so
 * pool accounting never overshoots: two faults in the same unallocated
 * huge page, both begun before either finishes, allocate it once.
 */
static void test_concurrent_faults_one_page(void)
{
	struct gm_guest_fault f1, f2;
	int g;

	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	memset(&f1, 0, sizeof(f1));
	memset(&f2, 0, sizeof(f2));
	f1.gpa = GPA0 + 0x1000;
	f2.gpa = GPA0 + 0x1ff000;
	f1.access = f2.access = GM_ACCESS_WRITE;
	f1.intent = f2.intent = GM_INTENT_PRIVATE;
	f1.byte = 1;
	f2.byte = 2;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f1));
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f2));
	EXPECT_EQ(hst().pool_in_use[0], 1);
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f2));
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f1));
	EXPECT_OUTCOME(f1, GM_GUEST_OK);
	EXPECT_OUTCOME(f2, GM_GUEST_OK);
	EXPECT_EQ(hst().pool_in_use[0], 1);
	EXPECT_EQ(forder(g, 0), 9);
	EXPECT_GREAD(GPA0 + 0x1000, 9, 1);
	EXPECT_GREAD(GPA0 + 0x1ff000, 9, 2);
	delete_slot(0);
}

/* ---- rule 1: huge only while the huge range is private ---- */

/*
 * §6.2.1, §3.2 "Allocation": a HUGETLB file starts private (no
 * INIT_SHARED); a conversion before allocation splits nothing (no folio),
 * and the huge folio allocated later over a range that is not all private
 * is split to 4K at once ("fresh folio split"), paying the vmemmap (§3.3).
 *
 *   index  0    1    2 ...  511 | 512 ...
 *          P    S    P      P   | P          (S: shared)
 *   fresh  [ order 0 x 512     ] [ order 9 ]
 */
static void test_fresh_split_at_allocation(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(state(g, 0, 4 * MiB), GM_STATE_PRIVATE);
	to_shared(g, PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.splits[L2M][L4K], 0);
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(st.pool_in_use[0], 0);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 4 * MiB));
	st = hst();
	EXPECT_EQ(st.pool_in_use[0], 2);
	EXPECT_EQ(st.splits[L2M][L4K], 1);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	expect_forder_range(g, 0, N2M, 0, "fresh split page");
	expect_forder_range(g, N2M, N2M, 9, "all-private page");
	EXPECT_EQ(gorder(GPA0), 0);
	EXPECT_EQ(gorder(GPA0 + 2 * MiB), 9);
	delete_slot(0);
}

/*
 * §6.2.1, §3.2 "To shared": one 4K page to shared splits the entire huge
 * folio to order 0 (no 2M step under eager, §3.6 A); the guest's 2M
 * mapping is zapped first (§6.2.3), and the split restores 28 KiB of
 * vmemmap (§3.3).  The other huge page is untouched.
 */
static void test_split_on_to_shared_2m(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x11), 9);
	EXPECT_EQ(gorder_w(GPA0 + 2 * MiB, 0x22), 9);
	st = hst();
	EXPECT_EQ(st.mapped[L2M], 2 * N2M);
	EXPECT_EQ(st.zaps, 0);
	to_shared(g, 0x80000, PAGE);
	st = hst();
	EXPECT_EQ(st.splits[L2M][L4K], 1);
	EXPECT_EQ(st.splits[L1G][L4K] + st.splits[L1G][L2M], 0);
	EXPECT_EQ(st.merges[L4K][L2M], 0);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(st.vmemmap_peak, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(st.zaps, 1);
	EXPECT_EQ(st.mapped[L2M], N2M); /* only the other page */
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + N2M - 1), 0);
	expect_forder_range(g, 0, N2M, 0, "split page");
	expect_forder_range(g, N2M, N2M, 9, "other page");
	EXPECT_GREAD(GPA0, 0, 0x11);
	EXPECT_GREAD(GPA0 + 2 * MiB, 9, 0x22);
	st = hst();
	EXPECT_EQ(st.mapped[L4K], 1);
	delete_slot(0);
}

/*
 * §6.2.1 with 1G pages under eager (§3.6 A): "a single scattered 4K share
 * kills 1G stage-2 mapping for 1 GiB", and the split restores the whole
 * 1G vmemmap, 262144 x 64 B - 4 KiB (§3.3).
 */
static void test_split_on_to_shared_1g(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, GiB, HFL_1G);
	EXPECT_EQ(gorder_w(GPA0, 0x11), 18);
	EXPECT_EQ(hst().mapped[L1G], N1G);
	to_shared(g, 300 * MiB, PAGE);
	st = hst();
	EXPECT_EQ(st.splits[L1G][L4K], 1);
	EXPECT_EQ(st.splits[L1G][L2M] + st.splits[L2M][L4K], 0);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_1G_TO_4K);
	EXPECT_EQ(st.mapped[L1G], 0);
	expect_forder_range(g, 0, N1G, 0, "split 1G page");
	EXPECT_GREAD(GPA0, 0, 0x11);
	EXPECT_EQ(gorder(GPA0 + 2 * MiB), 0);
	EXPECT_EQ(gorder(GPA0 + GiB - PAGE), 0);
	delete_slot(0);
}

/* ---- rule 5: merge on to-private ---- */

/*
 * §6.2.5, §3.2 "To private" (eager): merge back to the huge order only
 * when every other page of the aligned huge range is already private;
 * the merge re-applies HVO (vmemmap freed, peak kept).
 */
static void test_merge_on_to_private(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	to_shared(g, PAGE, PAGE);
	to_shared(g, 3 * PAGE, PAGE);
	to_private(g, PAGE, PAGE); /* page 3 still shared */
	st = hst();
	EXPECT_EQ(st.merges[L4K][L2M], 0);
	EXPECT_EQ(forder(g, 0), 0);
	EXPECT_EQ(gorder(GPA0), 0);
	to_private(g, 3 * PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.merges[L4K][L2M], 1);
	EXPECT_EQ(st.splits[L2M][L4K], 1);
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(st.vmemmap_peak, VMEMMAP_2M_TO_4K);
	expect_forder_range(g, 0, N2M, 9, "merged page");
	EXPECT_GREAD(GPA0, 9, 0x42);
	delete_slot(0);
}

/* The same at 1G: 4K -> 1G in one step under eager (§3.6 A). */
static void test_merge_on_to_private_1g(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, GiB, HFL_1G);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 18);
	to_shared(g, 600 * MiB, 2 * PAGE);
	to_private(g, 600 * MiB, 2 * PAGE);
	st = hst();
	EXPECT_EQ(st.merges[L4K][L1G], 1);
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(st.vmemmap_peak, VMEMMAP_1G_TO_4K);
	expect_forder_range(g, 0, N1G, 18, "merged 1G page");
	EXPECT_GREAD(GPA0, 18, 0x42);
	delete_slot(0);
}

/*
 * §6.2.5 "and refcounts are safe": a pinned shared page cannot take part;
 * the to-private conversion over it fails with EAGAIN at the pinned page
 * (§6.1.5), changes no attribute and merges nothing (the EAGAIN is
 * counted, §3.7); after the unpin it converts and merges.
 */
static void test_merge_blocked_by_pin(void)
{
	struct gm_huge_stats st;
	uint64_t eo = 0;
	int g;

	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	to_shared(g, 0, 8 * PAGE);
	GM_OK(gm_gmem_pin(fx.p, g, 5 * PAGE));
	GM_ERR(__gmem_convert(fx.p, g, 0, 8 * PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 5 * PAGE);
	st = hst();
	EXPECT_EQ(st.eagain, 1);
	EXPECT_EQ(st.merges[L4K][L2M], 0);
	EXPECT_EQ(state(g, 0, 8 * PAGE), GM_STATE_SHARED);
	EXPECT_EQ(forder(g, 0), 0);
	/* everything but the pinned page: still no merge */
	to_private(g, 0, 5 * PAGE);
	to_private(g, 6 * PAGE, 2 * PAGE);
	EXPECT_EQ(hst().merges[L4K][L2M], 0);
	EXPECT_EQ(gorder(GPA0), 0);
	GM_OK(gm_gmem_unpin(fx.p, g, 5 * PAGE));
	to_private(g, 5 * PAGE, PAGE);
	EXPECT_EQ(hst().merges[L4K][L2M], 1);
	EXPECT_EQ(forder(g, 0), 9);
	EXPECT_GREAD(GPA0, 9, 0x42);
	delete_slot(0);
}

/*
 * §3.7 "split/merge ping-pong count on the same huge page": a split that
 * follows a merge of the same page.  The first split follows no merge.
 */
static void test_pingpong(void)
{
	int g, i;

	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 1), 9);
	EXPECT_EQ(gorder_w(GPA0 + 2 * MiB, 1), 9);
	to_shared(g, PAGE, PAGE); /* split */
	EXPECT_EQ(hst().pingpong, 0);
	to_private(g, PAGE, PAGE); /* merge */
	EXPECT_EQ(hst().pingpong, 0);
	to_shared(g, 2 * PAGE, PAGE); /* split again */
	EXPECT_EQ(hst().pingpong, 1);
	for (i = 0; i < 3; i++) {
		to_private(g, 2 * PAGE, PAGE);
		to_shared(g, 2 * PAGE, PAGE);
	}
	EXPECT_EQ(hst().pingpong, 4);
	/* another page: its first split is no ping-pong */
	to_shared(g, 2 * MiB, PAGE);
	EXPECT_EQ(hst().pingpong, 4);
	EXPECT_EQ(hst().splits[L2M][L4K], 6);
	EXPECT_EQ(hst().merges[L4K][L2M], 4);
	delete_slot(0);
}

/*
 * §3.3 HVO sizes, current and peak: each split 2M page holds 28 KiB of
 * restored vmemmap, each merge frees it; the peak remembers the most held
 * at once.
 */
static void test_vmemmap_accounting(void)
{
	struct gm_huge_stats st;
	int g;

	g = hfile_slot(0, GPA0, 8 * MiB, HFL_2M);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 8 * MiB));
	to_shared(g, PAGE, PAGE);
	to_shared(g, 2 * MiB + PAGE, PAGE);
	to_shared(g, 4 * MiB + PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.vmemmap_bytes, 3 * VMEMMAP_2M_TO_4K);
	EXPECT_EQ(st.vmemmap_peak, 3 * VMEMMAP_2M_TO_4K);
	/* a second shared page in a split page costs nothing more */
	to_shared(g, 2 * PAGE, PAGE);
	EXPECT_EQ(hst().vmemmap_bytes, 3 * VMEMMAP_2M_TO_4K);
	to_private(g, 2 * MiB + PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.vmemmap_bytes, 2 * VMEMMAP_2M_TO_4K);
	EXPECT_EQ(st.vmemmap_peak, 3 * VMEMMAP_2M_TO_4K);
	/* a punch merges before freeing (§6.2.6): the vmemmap goes too */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 4 * MiB, 2 * MiB));
	EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_2M_TO_4K);
	delete_slot(0);
}

/* ---- rule 3 and 4: the split's order and its cost ---- */

/*
 * §6.2.3, §3.2 "Ordering rule": the stage-2 mapping size must never exceed
 * the folio size, so guest mappings go before the folio is split; the
 * guest refaults at 4K.  The check after the conversion (GM_OK runs it)
 * would catch a 2M (or 1G) leaf over the split folio.
 */
static void test_stage2_zapped_before_split(void)
{
	int g, h;

	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0 + 0x1000, 1), 9);
	EXPECT_EQ(GM_SPTE_ORDER(stage2(fx.p, fx.vm, GFN0)), 9);
	to_shared(g, 0x100000, PAGE);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + N2M - 1), 0);
	EXPECT_EQ(hst().zaps, 1);
	EXPECT_EQ(gorder(GPA0 + 0x1000), 0);
	EXPECT_EQ(GM_SPTE_ORDER(stage2(fx.p, fx.vm, GFN0 + 1)), 0);

	h = hfile_slot(1, 8 * GiB, GiB, HFL_1G);
	EXPECT_EQ(gorder_w(8 * GiB, 1), 18);
	to_shared(h, GiB - PAGE, PAGE);
	EXPECT_EQ(stage2(fx.p, fx.vm, (8 * GiB) >> 12), 0);
	EXPECT_EQ(hst().zaps, 2);
	EXPECT_EQ(gorder(8 * GiB), 0);
	delete_slot(1);
	delete_slot(0);
}

/*
 * §6.2.4 "either [allocation] can fail with ENOMEM", §6.2.3 "a failed folio
 * split leaves the attribute unchanged", §6.1.4 "ENOMEM ... error_offset =
 * request start" (per batch in the WIP: the batch start, §3.2): for every
 * allocation of a to-shared conversion that splits, failing it gives
 * -ENOMEM, error_offset = the batch start, the attribute unchanged, the
 * folio unsplit, no vmemmap taken and a clean check; the retry succeeds.
 * (nth = 1 is the §6.1.4 preallocation, which touches nothing.)
 */
static void test_enomem_on_split(void)
{
	struct gm_huge_stats st;
	struct gm_config cfg;
	unsigned long n;
	uint64_t eo;
	long r = -ENOMEM;
	int g = -1;

	t_config_hugetlb(&cfg);
	for (n = 1; n < 64 && r == -ENOMEM; n++) {
		fx_reinit(&cfg, GM_VM_SW_PROTECTED);
		g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
		EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
		eo = 0xdead;
		gm_host_fail_alloc(fx.h, n);
		r = __gmem_convert(fx.p, g, 0x10000, PAGE, SHARED, &eo);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		if (r == 0)
			break;
		GM_ERR(r, -ENOMEM);
		EXPECT_EQ(eo, 0x10000);
		EXPECT_EQ(state(g, 0, 2 * MiB), GM_STATE_PRIVATE);
		EXPECT_EQ(forder(g, 0), 9);
		EXPECT_EQ(forder(g, 0x10), 9);
		st = hst();
		EXPECT_EQ(st.splits[L2M][L4K], 0);
		EXPECT_EQ(st.vmemmap_bytes, 0);
		EXPECT_EQ(st.vmemmap_peak, 0);
		EXPECT_EQ(st.zaps, 0);
		/* the guest still reads its data (refaulting if need be) */
		EXPECT_GREAD(GPA0, 9, 0x42);
		EXPECT_GREAD(GPA0 + 0x10000, 9, 0);
		/* and the retry converts */
		to_shared(g, 0x10000, PAGE);
		EXPECT_EQ(forder(g, 0), 0);
		EXPECT_GREAD(GPA0, 0, 0x42);
	}
	CU_ASSERT(n > 1); /* n = 1 must fail: it allocates */
	GM_OK(r);
	EXPECT_EQ(state(g, 0x10000, PAGE), GM_STATE_SHARED);
	st = hst();
	EXPECT_EQ(st.splits[L2M][L4K], 1);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(forder(g, 0), 0);
	EXPECT_GREAD(GPA0, 0, 0x42);
	delete_slot(0);
}

/*
 * §3.2 "an error in a later batch leaves earlier batches converted" with
 * an ENOMEM split in the second batch: error_offset = that batch's start
 * (§6.1.4 per batch), the first huge page converted (split), the second
 * unchanged and unsplit.  Each round starts from a fresh host, so that
 * the nth allocation is the same one every time.
 */
static void test_enomem_in_second_batch(void)
{
	struct gm_config cfg;
	unsigned long n;
	bool seen = false;
	uint64_t eo;
	long r = -ENOMEM;
	int g = -1;

	t_config_hugetlb(&cfg);
	/* until a success after a failure in the second batch */
	for (n = 1; n < 64; n++) {
		fx_reinit(&cfg, GM_VM_SW_PROTECTED);
		g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
		GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 4 * MiB));
		eo = 0xdead;
		gm_host_fail_alloc(fx.h, n);
		r = __gmem_convert(fx.p, g, 2 * MiB - PAGE, 2 * PAGE, SHARED,
				   &eo);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		if (r == 0 && seen)
			break;
		if (r == 0)
			continue; /* the nth was not a failure point */
		GM_ERR(r, -ENOMEM);
		if (state(g, 2 * MiB - PAGE, PAGE) == GM_STATE_PRIVATE) {
			/* failed in the first batch: nothing changed */
			EXPECT_EQ(eo, 2 * MiB - PAGE);
			EXPECT_EQ(forder(g, 0), 9);
			EXPECT_EQ(forder(g, N2M), 9);
			continue;
		}
		seen = true;
		EXPECT_EQ(eo, 2 * MiB);
		EXPECT_EQ(forder(g, 0), 0);
		EXPECT_EQ(state(g, 2 * MiB, 2 * MiB), GM_STATE_PRIVATE);
		EXPECT_EQ(forder(g, N2M), 9);
		EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_2M_TO_4K);
		EXPECT_EQ(hst().splits[L2M][L4K], 1);
	}
	CU_ASSERT(seen);
	GM_OK(r);
	EXPECT_EQ(state(g, 2 * MiB - PAGE, 2 * PAGE), GM_STATE_SHARED);
	EXPECT_EQ(hst().vmemmap_bytes, 2 * VMEMMAP_2M_TO_4K);
	delete_slot(0);
}

/*
 * §6.2.4 at allocation: the fresh split of a huge page that is not all
 * private needs the vmemmap too; when it cannot have it the allocation
 * fails with ENOMEM and nothing stays allocated (pool pages in use
 * unchanged, no folio), then succeeds.
 */
static void test_enomem_on_fresh_split(void)
{
	unsigned long n;
	long r = -ENOMEM;
	int g;

	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	to_shared(g, PAGE, PAGE);
	for (n = 1; n < 64 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = gm_fallocate(fx.p, g, KEEP, 0, 2 * MiB);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		if (r == 0)
			break;
		GM_ERR(r, -ENOMEM);
		EXPECT_EQ(hst().pool_in_use[0], 0);
		EXPECT_EQ(hst().vmemmap_bytes, 0);
		EXPECT_EQ(forder(g, 0), NO_FOLIO);
	}
	CU_ASSERT(n > 1);
	GM_OK(r);
	EXPECT_EQ(hst().pool_in_use[0], 1);
	EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(forder(g, 0), 0);
	delete_slot(0);
}

/* ---- rule 6: punch hole ---- */

/*
 * §6.2.6: punch hole must be huge-page aligned (EINVAL), unsafe refcounts
 * give EAGAIN (counted, §3.7), neither frees anything; a whole huge page
 * punch frees it (pool page back in the file's reservation), and the next
 * fault gets a fresh folio, zeroed whole (§3.2), at the huge order.
 */
static void test_punch_rules(void)
{
	static const struct {
		uint64_t off, len;
	} bad[] = {
		{ PAGE, PAGE },	   { 0, PAGE },	     { 0, 2 * MiB + PAGE },
		{ PAGE, 2 * MiB }, { MiB, 2 * MiB }, { 2 * MiB, MiB },
	};
	struct gm_huge_stats st;
	unsigned int i;
	int g, h;

	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	EXPECT_EQ(gorder_w(GPA0 + 2 * MiB, 0x43), 9);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		GM_ERR(gm_fallocate(fx.p, g, PUNCH, (int64_t)bad[i].off,
				    (int64_t)bad[i].len),
		       -EINVAL);
	EXPECT_EQ(hst().pool_in_use[0], 2);
	EXPECT_GREAD(GPA0, 9, 0x42);
	/* a pin in the second page */
	to_shared(g, 2 * MiB + PAGE, PAGE);
	GM_OK(gm_gmem_pin(fx.p, g, 2 * MiB + PAGE));
	GM_ERR(gm_fallocate(fx.p, g, PUNCH, 2 * MiB, 2 * MiB), -EAGAIN);
	GM_ERR(gm_fallocate(fx.p, g, PUNCH, 0, 4 * MiB), -EAGAIN);
	st = hst();
	EXPECT_EQ(st.eagain, 2);
	EXPECT_EQ(st.pool_in_use[0], 2);
	EXPECT_GREAD(GPA0, 9, 0x42); /* nothing freed */
	GM_OK(gm_gmem_unpin(fx.p, g, 2 * MiB + PAGE));
	/* whole pages */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * MiB));
	st = hst();
	EXPECT_EQ(st.pool_in_use[0], 1);
	EXPECT_EQ(st.pool_reserved[0], 2);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(forder(g, 0), NO_FOLIO);
	EXPECT_GREAD(GPA0, 9, 0);
	EXPECT_EQ(hst().pool_in_use[0], 2);
	/* the split page: merged before freeing (vmemmap back, §6.2.5/6) */
	EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_2M_TO_4K);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 2 * MiB, 2 * MiB));
	st = hst();
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(st.pool_in_use[0], 1);
	/* 1G pages need 1G alignment */
	h = hfile_slot(1, 8 * GiB, GiB, HFL_1G);
	EXPECT_EQ(gorder_w(8 * GiB, 7), 18);
	GM_ERR(gm_fallocate(fx.p, h, PUNCH, 0, 2 * MiB), -EINVAL);
	GM_ERR(gm_fallocate(fx.p, h, PUNCH, 2 * MiB, GiB - 2 * MiB), -EINVAL);
	GM_OK(gm_fallocate(fx.p, h, PUNCH, 0, GiB));
	EXPECT_EQ(hst().pool_in_use[1], 0);
	EXPECT_EQ(gorder(8 * GiB), 18);
	delete_slot(1);
	delete_slot(0);
}

/*
 * §6.1.1 attributes survive PUNCH_HOLE, so a punched huge page whose range
 * is still mixed is split again when it is next allocated (§3.2 fresh
 * split); once all private, the refault is huge (§6.2.1).  Under every
 * policy this is the only way back for nomerge (§3.6 D).
 */
static void test_punch_then_refault_order(void)
{
	int g;

	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 1), 9);
	to_shared(g, 7 * PAGE, PAGE);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * MiB));
	EXPECT_EQ(state(g, 7 * PAGE, PAGE), GM_STATE_SHARED);
	EXPECT_GREAD(GPA0, 0, 0);
	EXPECT_EQ(forder(g, 0), 0);
	to_private(g, 7 * PAGE, PAGE);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * MiB));
	EXPECT_GREAD(GPA0, 9, 0);
	EXPECT_EQ(forder(g, 0), 9);
	delete_slot(0);
}

/* ---- rule 2: the mapping level ---- */

/*
 * §6.2.2 mapping level <= min(folio order, aligned uniformly private
 * range, memslot base/offset congruence, arch cap); §3.2 "Memslots whose
 * base GFN and guest_memfd offset are misaligned get huge pages
 * disallowed"; §3.4 the huge page must be fully inside the memslot.  The
 * stats count stage-2 pages by the level they are mapped at (§3.7).
 */
static void test_mapping_level(void)
{
	struct gm_huge_stats st;
	int a, b, c, d;

	/* folio order */
	a = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(gorder(GPA0 + 0x5000), 9);
	b = hfile_slot(1, 4 * GiB + GiB, GiB, HFL_1G);
	EXPECT_EQ(gorder(5 * GiB + 0x5000), 18);
	st = hst();
	EXPECT_EQ(st.mapped[L2M], N2M);
	EXPECT_EQ(st.mapped[L1G], N1G);
	/* gpa and offset not congruent mod 2M: 4K */
	c = hfile(4 * MiB, HFL_2M);
	bind_slot(2, 8 * GiB, 2 * MiB, c, PAGE);
	EXPECT_EQ(gorder(8 * GiB), 0);
	EXPECT_EQ(gorder(8 * GiB + MiB), 0);
	/* 2M-congruent, not 1G-congruent: a 1G folio maps at 2M */
	d = hfile(GiB, HFL_1G);
	bind_slot(3, 16 * GiB, GiB - 2 * MiB, d, 2 * MiB);
	EXPECT_EQ(gorder(16 * GiB), 9);
	EXPECT_EQ(gorder(17 * GiB - 4 * MiB), 9);
	EXPECT_EQ(forder(d, N2M), 18); /* the folio itself is whole */
	/* a private range that is not uniform: 4K */
	to_shared(a, 2 * MiB + PAGE, PAGE);
	EXPECT_EQ(gorder(GPA0 + 2 * MiB), 0);
	EXPECT_EQ(gorder(GPA0), 9);
	/* a shared fault maps 4K */
	{
		struct gm_guest_fault f =
			guest(fx.p, fx.vm, GPA0 + 2 * MiB + PAGE,
			      GM_ACCESS_READ, GM_INTENT_SHARED, 0);

		EXPECT_OUTCOME(f, GM_GUEST_OK);
		EXPECT_EQ(f.order, 0);
	}
	(void)b;
	delete_slot(3);
	delete_slot(2);
	delete_slot(1);
	delete_slot(0);
}

/* A slot smaller than the huge page, or not covering an aligned block. */
static void test_mapping_level_slot_bounds(void)
{
	int a, b;

	a = hfile(2 * MiB, HFL_2M);
	bind_slot(0, GPA0, MiB, a, 0);
	EXPECT_EQ(gorder(GPA0), 0);
	EXPECT_EQ(forder(a, 0), 9);
	/* congruent but unaligned: only whole blocks inside map at 2M */
	b = hfile(6 * MiB, HFL_2M);
	bind_slot(1, 8 * GiB + PAGE, 4 * MiB - PAGE, b, PAGE);
	EXPECT_EQ(gorder(8 * GiB + PAGE), 0);
	EXPECT_EQ(gorder(8 * GiB + 2 * MiB), 9);
	delete_slot(1);
	delete_slot(0);
}

/*
 * §3.5: TDX S-EPT leaves are at most 2M: a 1G folio maps at 9 on a TDX VM
 * (the folio stays 1G), and at 18 on the fixture's SW_PROTECTED VM.
 */
static void test_tdx_caps_at_2m(void)
{
	struct gm_huge_stats st;
	int td, g;

	td = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
			    gm_vm_type_to_kvm(GM_VM_TDX)));
	g = GM_FD(__gmem_create(fx.p, td, GiB, HFL_1G));
	GM_OK(__set_region2(fx.p, td, 0, KVM_MEM_GUEST_MEMFD, GPA0, GiB,
			    UADDR_ANON, g, 0));
	EXPECT_EQ(gorder_vm(td, GPA0, GM_ACCESS_WRITE, 1), 9);
	EXPECT_EQ(gorder_vm(td, GPA0 + GiB - PAGE, GM_ACCESS_READ, 0), 9);
	EXPECT_EQ(forder(g, 0), 18);
	st = hst();
	EXPECT_EQ(st.mapped[L1G], 0);
	EXPECT_EQ(st.mapped[L2M], 2 * N2M);
	/* the same file size on sw_protected maps at 18 */
	(void)hfile_slot(0, GPA0, GiB, HFL_1G);
	EXPECT_EQ(gorder(GPA0), 18);
	delete_slot(0);
}

/* ---- policies ---- */

/*
 * §3.6 B (hier): one shared 4K page in a 1G page splits it 1G -> 2M and
 * only the 2M block holding the page -> 4K: the other blocks keep 2M
 * folios and map at 9 (§6.2.2).  Vmemmap: 512 2M folios keep one page
 * each (512 x 4 KiB - 4 KiB) plus the 28 KiB of the block split to 4K
 * (§3.3).  Merging back goes up to 1G when the whole page is private.
 */
static void test_hier_splits_one_block(void)
{
	struct gm_huge_stats st;
	int g;

	policy_fixture(GM_POLICY_HIER, 0);
	g = hfile_slot(0, GPA0, GiB, HFL_1G);
	EXPECT_EQ(gorder_w(GPA0 + 2 * MiB, 0x22), 18);
	to_shared(g, 2 * MiB + PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_1G_TO_2M + VMEMMAP_2M_TO_4K);
	expect_forder_range(g, 0, N2M, 9, "block 0");
	expect_forder_range(g, N2M, N2M, 0, "block 1 (shared page)");
	expect_forder_range(g, 2 * N2M, N1G - 2 * N2M, 9, "blocks 2..511");
	EXPECT_GREAD(GPA0 + 2 * MiB, 0, 0x22);
	EXPECT_EQ(gorder(GPA0), 9);
	EXPECT_EQ(gorder(GPA0 + GiB - PAGE), 9);
	/* a second block: another 28 KiB */
	to_shared(g, 100 * MiB, PAGE);
	EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_1G_TO_2M + 2 * VMEMMAP_2M_TO_4K);
	EXPECT_EQ(gorder(GPA0 + 100 * MiB + PAGE), 0);
	EXPECT_EQ(gorder(GPA0 + 102 * MiB), 9);
	/* back: 4K -> 2M for one block, then 2M -> 1G */
	to_private(g, 2 * MiB + PAGE, PAGE);
	EXPECT_EQ(hst().vmemmap_bytes, VMEMMAP_1G_TO_2M + VMEMMAP_2M_TO_4K);
	EXPECT_EQ(forder(g, N2M), 9);
	EXPECT_GREAD(GPA0 + 2 * MiB, 9, 0x22);
	to_private(g, 100 * MiB, PAGE);
	st = hst();
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(st.vmemmap_peak, VMEMMAP_1G_TO_2M + 2 * VMEMMAP_2M_TO_4K);
	expect_forder_range(g, 0, N1G, 18, "merged 1G page");
	EXPECT_GREAD(GPA0 + 2 * MiB, 18, 0x22);
	delete_slot(0);
}

/* §3.6 B on 2M files: nothing between 2M and 4K, the same as eager. */
static void test_hier_2m_like_eager(void)
{
	struct gm_huge_stats st;
	int g;

	policy_fixture(GM_POLICY_HIER, 0);
	g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 1), 9);
	to_shared(g, PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.splits[L2M][L4K], 1);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(gorder(GPA0), 0);
	to_private(g, PAGE, PAGE);
	EXPECT_EQ(hst().merges[L4K][L2M], 1);
	EXPECT_EQ(gorder(GPA0), 9);
	delete_slot(0);
}

/*
 * §3.6 C (lazy): split as eager, but the merge waits (lazy_ops
 * conversions on the file, default 8): right after the to-private
 * conversion the folio is still split and the gfns map at 4K (§6.2.2),
 * the vmemmap still held; after 8 more conversions it has merged.
 */
static void test_lazy_defers_merge(void)
{
	struct gm_huge_stats st;
	int g, i;

	policy_fixture(GM_POLICY_LAZY, 0);
	EXPECT_EQ(fx.cfg.lazy_ops, 8);
	g = hfile_slot(0, GPA0, 8 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	to_shared(g, PAGE, PAGE);
	to_private(g, PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.merges[L4K][L2M], 0);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(forder(g, 0), 0);
	EXPECT_GREAD(GPA0, 0, 0x42);
	for (i = 1; i <= 3; i++)
		to_shared(g, 6 * MiB + (uint64_t)i * PAGE, PAGE);
	EXPECT_EQ(hst().merges[L4K][L2M], 0);
	EXPECT_EQ(gorder(GPA0), 0);
	for (i = 4; i <= 11; i++)
		to_shared(g, 6 * MiB + (uint64_t)i * PAGE, PAGE);
	st = hst();
	EXPECT_EQ(st.merges[L4K][L2M], 1);
	EXPECT_EQ(st.vmemmap_bytes, 0);
	EXPECT_EQ(forder(g, 0), 9);
	EXPECT_GREAD(GPA0, 9, 0x42);
	delete_slot(0);
}

/*
 * §3.6 C "avoids merge/split ping-pong": a page that goes shared ->
 * private -> shared within the deferral is never merged, so the second
 * split does not happen and counts no ping-pong; eager pays both.
 */
static void test_lazy_avoids_pingpong(void)
{
	static const enum gm_huge_policy pol[] = { GM_POLICY_EAGER,
						   GM_POLICY_LAZY };
	static const uint64_t want_pp[] = { 3, 0 };
	static const uint64_t want_splits[] = { 4, 1 };
	struct gm_huge_stats st;
	unsigned int p;
	int g, i;

	for (p = 0; p < ARRAY_SIZE(pol); p++) {
		policy_fixture(pol[p], 0);
		g = hfile_slot(0, GPA0, 2 * MiB, HFL_2M);
		EXPECT_EQ(gorder_w(GPA0, 1), 9);
		for (i = 0; i < 4; i++) {
			to_shared(g, PAGE, PAGE);
			if (i < 3)
				to_private(g, PAGE, PAGE);
		}
		st = hst();
		EXPECT_EQ(st.pingpong, want_pp[p]);
		EXPECT_EQ(st.splits[L2M][L4K], want_splits[p]);
		delete_slot(0);
	}
}

/*
 * §3.6 D (nomerge, TDX "merge (promote) is disallowed", §3.5): once split
 * a page stays split, however long it is all private; only a punch and a
 * refault bring a huge folio back (§6.2.6, §3.2 "Allocation").
 */
static void test_nomerge_until_punched(void)
{
	struct gm_huge_stats st;
	int g, i;

	policy_fixture(GM_POLICY_NOMERGE, 0);
	g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
	EXPECT_EQ(gorder_w(GPA0, 0x42), 9);
	to_shared(g, PAGE, PAGE);
	to_private(g, PAGE, PAGE);
	for (i = 0; i < 20; i++) {
		to_shared(g, 2 * MiB + (uint64_t)i * PAGE, PAGE);
		to_private(g, 2 * MiB + (uint64_t)i * PAGE, PAGE);
	}
	st = hst();
	EXPECT_EQ(st.merges[L4K][L2M], 0);
	EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
	EXPECT_EQ(forder(g, 0), 0);
	EXPECT_GREAD(GPA0, 0, 0x42);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * MiB));
	EXPECT_EQ(hst().vmemmap_bytes, 0);
	EXPECT_GREAD(GPA0, 9, 0);
	EXPECT_EQ(forder(g, 0), 9);
	EXPECT_EQ(hst().merges[L4K][L2M], 0);
	delete_slot(0);
}

/*
 * The policies agree where §6.2 leaves no choice: a 2M page with a shared
 * page is split to 4K (§6.2.1) and maps at 0, and its neighbour keeps 9.
 */
static void test_policies_agree_on_split(void)
{
	static const enum gm_huge_policy pol[] = {
		GM_POLICY_EAGER,
		GM_POLICY_HIER,
		GM_POLICY_LAZY,
		GM_POLICY_NOMERGE,
	};
	struct gm_huge_stats st;
	unsigned int p;
	int g;

	for (p = 0; p < ARRAY_SIZE(pol); p++) {
		policy_fixture(pol[p], 0);
		g = hfile_slot(0, GPA0, 4 * MiB, HFL_2M);
		EXPECT_EQ(gorder_w(GPA0, 1), 9);
		EXPECT_EQ(gorder_w(GPA0 + 2 * MiB, 2), 9);
		to_shared(g, 5 * PAGE, PAGE);
		st = hst();
		EXPECT_EQ(st.splits[L2M][L4K], 1);
		EXPECT_EQ(st.vmemmap_bytes, VMEMMAP_2M_TO_4K);
		EXPECT_EQ(st.zaps, 1);
		EXPECT_GREAD(GPA0, 0, 1);
		EXPECT_GREAD(GPA0 + 2 * MiB, 9, 2);
		delete_slot(0);
	}
}

CU_TestInfo hugetlb_tests[] = {
	{ "test_create_rules", test_create_rules },
	{ "test_create_reserves_pool", test_create_reserves_pool },
	{ "test_release_returns_reservation",
	  test_release_returns_reservation },
	{ "test_pool_in_use", test_pool_in_use },
	{ "test_concurrent_faults_one_page", test_concurrent_faults_one_page },
	{ "test_fresh_split_at_allocation", test_fresh_split_at_allocation },
	{ "test_split_on_to_shared_2m", test_split_on_to_shared_2m },
	{ "test_split_on_to_shared_1g", test_split_on_to_shared_1g },
	{ "test_merge_on_to_private", test_merge_on_to_private },
	{ "test_merge_on_to_private_1g", test_merge_on_to_private_1g },
	{ "test_merge_blocked_by_pin", test_merge_blocked_by_pin },
	{ "test_pingpong", test_pingpong },
	{ "test_vmemmap_accounting", test_vmemmap_accounting },
	{ "test_stage2_zapped_before_split", test_stage2_zapped_before_split },
	{ "test_enomem_on_split", test_enomem_on_split },
	{ "test_enomem_in_second_batch", test_enomem_in_second_batch },
	{ "test_enomem_on_fresh_split", test_enomem_on_fresh_split },
	{ "test_punch_rules", test_punch_rules },
	{ "test_punch_then_refault_order", test_punch_then_refault_order },
	{ "test_mapping_level", test_mapping_level },
	{ "test_mapping_level_slot_bounds", test_mapping_level_slot_bounds },
	{ "test_tdx_caps_at_2m", test_tdx_caps_at_2m },
	{ "test_hier_splits_one_block", test_hier_splits_one_block },
	{ "test_hier_2m_like_eager", test_hier_2m_like_eager },
	{ "test_lazy_defers_merge", test_lazy_defers_merge },
	{ "test_lazy_avoids_pingpong", test_lazy_avoids_pingpong },
	{ "test_nomerge_until_punched", test_nomerge_until_punched },
	{ "test_policies_agree_on_split", test_policies_agree_on_split },
	CU_TEST_INFO_NULL,
};
