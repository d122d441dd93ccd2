// SPDX-License-Identifier: GPL-2.0
/*
 * Profile inplace: in-place shared<->private conversion on the guest_memfd
 * (Ackerley Tng's series v8 as queued in linux-next; inflight-series.md
 * §2 and the model rules of §6.1).  Expectations are cited as "inflight
 * §2.4 step 3" (the algorithm), "§6.1.5" (rule 5 of §6.1) and "§2.8
 * <case>" for the guest_memfd_conversions_test cases.
 *
 * The fixture is a host in profile inplace offering every VM type, with a
 * SW_PROTECTED VM: the type guest_memfd_conversions_test runs on, which
 * preserves contents across conversions (§2.8).  Tests about another VM
 * type make that VM on the fixture's /dev/kvm.
 *
 * Conversion is KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd with
 * attributes KVM_MEMORY_ATTRIBUTE_PRIVATE (to private) or 0 (to shared).
 *
 * Not expressible: the LRU drain itself (the model's pins survive it, as
 * a vmsplice pin does); the EFAULT of a failed error_offset write-back
 * (arguments are model pointers); huge folios (§3, 4K series only).
 */
#include <string.h>

#include "test_util.h"

#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define SHARED 0ULL
#define GPA0 (1ULL << 32) /* the selftest maps at 4 GiB (§2.8) */
#define GFN0 (GPA0 >> 12)
#define D GM_INTENT_DEFAULT
#define SPTE_GMEM_RW (GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_WRITABLE)

static struct gm_guest_fault g_rd(uint64_t gpa)
{
	return guest(fx.p, fx.vm, gpa, GM_ACCESS_READ, D, 0);
}

static struct gm_guest_fault g_wr(uint64_t gpa, uint8_t v)
{
	return guest(fx.p, fx.vm, gpa, GM_ACCESS_WRITE, D, v);
}

/* A guest read that must succeed; returns the byte. */
static uint8_t g_val(uint64_t gpa)
{
	struct gm_guest_fault f = g_rd(gpa);

	EXPECT_OUTCOME(f, GM_GUEST_OK);
	return f.value;
}

/* A host load that must succeed; returns the byte. */
static uint8_t h_val(struct gm_proc *p, uint64_t addr)
{
	uint8_t v = 0;

	EXPECT_EQ(t_load(p, addr, &v), 0);
	return v;
}

/* gmem of @size with @flags bound at GPA0 through slot 0 of the fixture */
static int gmem_slot(uint64_t size, uint64_t flags)
{
	int g = gmem_create(size, flags);

	bind_slot(0, GPA0, size, g, 0);
	return g;
}

static void gmem_slot_free(int g)
{
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* ---- §2.8: the eight guest_memfd_conversions_test cases ---- */

/*
 * §2.8 init_private: default private, host access SIGBUS, guest sees 0;
 * convert to shared -> host sees the guest's last value (SW_PROTECTED
 * preserves, §6.1.9); convert back -> host SIGBUS again.
 */
static void test_conv_init_private(void)
{
	int g = gmem_slot(PAGE, FL_MMAP);
	uint64_t a = map_shared(g, PAGE, 0);

	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, a, GM_ACCESS_WRITE, SIGBUS);
	EXPECT_EQ(g_val(GPA0 + 8), 0);
	EXPECT_OUTCOME(g_wr(GPA0 + 8, 0xa1), GM_GUEST_OK);

	gmem_convert(g, 0, PAGE, SHARED);
	EXPECT_EQ(h_val(fx.p, a + 8), 0xa1);
	CU_ASSERT(t_store(fx.p, a + 8, 0xb2) == 0);
	EXPECT_EQ(g_val(GPA0 + 8), 0xb2);

	gmem_convert(g, 0, PAGE, PRIV);
	EXPECT_SIG(fx.p, a + 8, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(g_val(GPA0 + 8), 0xb2);

	GM_OK(gm_munmap(fx.p, a, PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 init_shared: the same flow starting shared; MMAP|INIT_SHARED is
 * legal on an x86 CoCo (SW_PROTECTED) VM in per-file mode (§2.7).
 */
static void test_conv_init_shared(void)
{
	int g = gmem_slot(PAGE, FL_BOTH);
	uint64_t a = map_shared(g, PAGE, 0);

	EXPECT_EQ(h_val(fx.p, a + 16), 0);
	CU_ASSERT(t_store(fx.p, a + 16, 0xc3) == 0);
	EXPECT_EQ(g_val(GPA0 + 16), 0xc3);
	EXPECT_OUTCOME(g_wr(GPA0 + 16, 0xd4), GM_GUEST_OK);
	EXPECT_EQ(h_val(fx.p, a + 16), 0xd4);

	gmem_convert(g, 0, PAGE, PRIV);
	EXPECT_SIG(fx.p, a + 16, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(g_val(GPA0 + 16), 0xd4);
	EXPECT_OUTCOME(g_wr(GPA0 + 16, 0xe5), GM_GUEST_OK);

	gmem_convert(g, 0, PAGE, SHARED);
	EXPECT_EQ(h_val(fx.p, a + 16), 0xe5);

	GM_OK(gm_munmap(fx.p, a, PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 indexing (4 pages, each page in turn): converting one page affects
 * exactly that index; the others keep their state and values.
 */
static void test_conv_indexing(void)
{
	int g = gmem_slot(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);

	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT(t_store(fx.p, a + i * PAGE, 0x10 + i) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		gmem_convert(g, i * PAGE, PAGE, PRIV);
		for (unsigned int j = 0; j < 4; j++) {
			GM_VAL(gm_gmem_state(fx.p, g, j * PAGE, PAGE),
			       j == i ? GM_STATE_PRIVATE : GM_STATE_SHARED);
			if (j == i)
				EXPECT_SIG(fx.p, a + j * PAGE, GM_ACCESS_READ,
					   SIGBUS);
			else
				EXPECT_EQ(h_val(fx.p, a + j * PAGE), 0x10 + j);
			/* the guest's view follows each page's attribute */
			EXPECT_EQ(g_val(GPA0 + j * PAGE), 0x10 + j);
		}
		EXPECT_EQ(gmem_info(g).nr_private, 1);
		gmem_convert(g, i * PAGE, PAGE, SHARED);
		EXPECT_EQ(h_val(fx.p, a + i * PAGE), 0x10 + i);
	}
	EXPECT_EQ(gmem_info(g).nr_private, 0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 before_allocation_shared, §2.2: a conversion with no folio
 * allocated is recorded (and allocates nothing); the first fault honours
 * it: the host maps a zeroed page, a shared guest access works.
 */
static void test_conv_before_allocation_shared(void)
{
	int g = gmem_slot(PAGE, FL_MMAP);
	uint64_t a = map_shared(g, PAGE, 0);

	gmem_convert(g, 0, PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	GM_VAL(gm_gmem_state(fx.p, g, 0, PAGE), GM_STATE_SHARED);
	EXPECT_EQ(h_val(fx.p, a + 1), 0);
	EXPECT_EQ(folio_flags(g, 0), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	CU_ASSERT(t_store(fx.p, a + 1, 0x5c) == 0);
	EXPECT_EQ(g_val(GPA0 + 1), 0x5c);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 before_allocation_private: the mirror case; the host faults SIGBUS,
 * the guest's private access allocates a zeroed page (§6.1.8).
 */
static void test_conv_before_allocation_private(void)
{
	int g = gmem_slot(PAGE, FL_BOTH);
	uint64_t a = map_shared(g, PAGE, 0);

	gmem_convert(g, 0, PAGE, PRIV);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	GM_VAL(gm_gmem_state(fx.p, g, 0, PAGE), GM_STATE_PRIVATE);
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	EXPECT_EQ(g_val(GPA0 + 2), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	EXPECT_EQ(gmem_info(g).nr_present, 1);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 unallocated_folios (8 pages): conversions over ranges that mix
 * populated pages and holes; holes stay holes, populated pages keep their
 * bytes (SW_PROTECTED), and each page follows its attribute.
 *
 *   index  0 1 2 3 4 5 6 7
 *   folio  x . x . . x . .     (x: written by the host)
 */
static void test_conv_unallocated_folios(void)
{
	static const unsigned int pop[] = { 0, 2, 5 };
	int g = gmem_slot(8 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 8 * PAGE, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(pop); i++)
		CU_ASSERT(t_store(fx.p, a + pop[i] * PAGE, 0x40 + pop[i]) == 0);
	EXPECT_EQ(gmem_info(g).nr_present, 3);

	gmem_convert(g, 0, 8 * PAGE, PRIV);
	EXPECT_EQ(gmem_info(g).nr_present, 3);
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_SIG(fx.p, a + i * PAGE, GM_ACCESS_READ, SIGBUS);

	/* [1, 6) back to shared: holes 1, 3, 4 and populated 2, 5 */
	gmem_convert(g, PAGE, 5 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_present, 3);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 8 * PAGE), GM_STATE_MIXED);
	GM_VAL(gm_gmem_state(fx.p, g, PAGE, 5 * PAGE), GM_STATE_SHARED);
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, a + 6 * PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(h_val(fx.p, a + 2 * PAGE), 0x42);
	EXPECT_EQ(h_val(fx.p, a + 5 * PAGE), 0x45);
	EXPECT_EQ(h_val(fx.p, a + 3 * PAGE), 0);
	/* the private page 0 still holds its bytes for the guest */
	EXPECT_EQ(g_val(GPA0), 0x40);
	/* a private hole reads zero for the guest */
	EXPECT_EQ(g_val(GPA0 + 7 * PAGE), 0);

	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 truncate, §2.2: PUNCH_HOLE frees memory but keeps the attribute;
 * the refault is zeroed.  Both for a private page (guest refault) and a
 * shared one (host refault).
 */
static void test_conv_truncate(void)
{
	int g = gmem_slot(2 * PAGE, FL_MMAP);
	uint64_t a = map_shared(g, 2 * PAGE, 0);

	gmem_convert(g, PAGE, PAGE, SHARED);
	EXPECT_OUTCOME(g_wr(GPA0 + 3, 0x66), GM_GUEST_OK);
	CU_ASSERT(t_store(fx.p, a + PAGE + 3, 0x77) == 0);
	EXPECT_EQ(gmem_info(g).nr_present, 2);

	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	GM_VAL(gm_gmem_state(fx.p, g, 0, PAGE), GM_STATE_PRIVATE);
	GM_VAL(gm_gmem_state(fx.p, g, PAGE, PAGE), GM_STATE_SHARED);

	EXPECT_SIG(fx.p, a + 3, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(g_val(GPA0 + 3), 0);
	EXPECT_EQ(h_val(fx.p, a + PAGE + 3), 0);

	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 forked_accesses, §2.5: a forked child inherits the mapping and
 * sees the parent's bytes; to-private zaps host PTEs in every process, so
 * the child's access SIGBUSes as well as the parent's; back to shared both
 * see the (preserved) bytes again.
 */
static void test_conv_forked_accesses(void)
{
	int g = gmem_slot(PAGE, FL_BOTH);
	uint64_t a = map_shared(g, PAGE, 0);
	struct gm_proc *c;

	CU_ASSERT(t_store(fx.p, a + 5, 0x3e) == 0);
	c = fx_fork();
	EXPECT_EQ(h_val(c, a + 5), 0x3e);
	CU_ASSERT(t_pte_present(c, a));

	gmem_convert(g, 0, PAGE, PRIV);
	CU_ASSERT(!t_pte_present(c, a));
	CU_ASSERT(!t_pte_present(fx.p, a));
	EXPECT_SIG(c, a + 5, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(c, a + 5, GM_ACCESS_WRITE, SIGBUS);
	EXPECT_SIG(fx.p, a + 5, GM_ACCESS_READ, SIGBUS);

	gmem_convert(g, 0, PAGE, SHARED);
	EXPECT_EQ(h_val(c, a + 5), 0x3e);
	CU_ASSERT(t_store(c, a + 6, 0x3f) == 0);
	EXPECT_EQ(h_val(fx.p, a + 6), 0x3f);

	gm_proc_exit(c);
	check_host(fx.h);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	gmem_slot_free(g);
}

/*
 * §2.8 elevated_refcount (4 pages), §2.4 step 3, §2.3: a pinned page makes
 * bulk and single-page to-private conversion fail with EAGAIN and
 * error_offset = the pinned page's byte offset (the first one when
 * several are pinned); attributes stay unchanged; other pages convert;
 * after unpinning every conversion succeeds.
 */
static void test_conv_elevated_refcount(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gm_gmem_info i0;
	uint64_t eo = 0;

	GM_OK(gm_gmem_pin(fx.p, g, 2 * PAGE));
	i0 = gmem_info(g);

	GM_ERR(__gmem_convert(fx.p, g, 0, 4 * PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 2 * PAGE);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_SHARED);
	EXPECT_EQ(gmem_info(g).nr_conversions, i0.nr_conversions);

	eo = 0;
	GM_ERR(__gmem_convert(fx.p, g, 2 * PAGE, PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 2 * PAGE);
	GM_VAL(gm_gmem_state(fx.p, g, 2 * PAGE, PAGE), GM_STATE_SHARED);

	/* a request starting after a second pin reports its own first page */
	GM_OK(gm_gmem_pin(fx.p, g, 3 * PAGE));
	eo = 0;
	GM_ERR(__gmem_convert(fx.p, g, PAGE, 3 * PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 2 * PAGE);
	eo = 0;
	GM_ERR(__gmem_convert(fx.p, g, 3 * PAGE, PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 3 * PAGE);
	GM_OK(gm_gmem_unpin(fx.p, g, 3 * PAGE));

	gmem_convert(g, 0, PAGE, PRIV);
	gmem_convert(g, PAGE, PAGE, PRIV);
	gmem_convert(g, 3 * PAGE, PAGE, PRIV);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_MIXED);
	EXPECT_EQ(gmem_info(g).nr_private, 3);

	GM_OK(gm_gmem_unpin(fx.p, g, 2 * PAGE));
	gmem_convert(g, 2 * PAGE, PAGE, PRIV);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_PRIVATE);
	gmem_convert(g, 0, 4 * PAGE, SHARED);
	gmem_convert(g, 0, 4 * PAGE, PRIV);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_PRIVATE);
	GM_OK(gm_close(fx.p, g));
}

/* ---- §6.1.1: the per-file attribute map ---- */

/*
 * §2.2, §6.1.1: one run over [0, size) at creation, shared with
 * INIT_SHARED and private without; nothing is allocated for it per page.
 */
static void test_attr_initial_state(void)
{
	int gp = gmem_create(1 * GiB, FL_MMAP);
	int gs = gmem_create(1 * GiB, FL_BOTH);
	int g0 = gmem_create(PAGE, 0);

	EXPECT_EQ(gmem_info(gp).nr_attr_runs, 1);
	EXPECT_EQ(gmem_info(gp).nr_private, (1 * GiB) / PAGE);
	GM_VAL(gm_gmem_state(fx.p, gp, 0, 1 * GiB), GM_STATE_PRIVATE);
	EXPECT_EQ(gmem_info(gs).nr_attr_runs, 1);
	EXPECT_EQ(gmem_info(gs).nr_private, 0);
	GM_VAL(gm_gmem_state(fx.p, gs, 0, 1 * GiB), GM_STATE_SHARED);
	EXPECT_EQ(gmem_info(g0).nr_attr_runs, 1);
	GM_VAL(gm_gmem_state(fx.p, g0, 0, PAGE), GM_STATE_PRIVATE);
	EXPECT_EQ(gmem_info(gp).nr_conversions, 0);
	GM_OK(gm_close(fx.p, g0));
	GM_OK(gm_close(fx.p, gs));
	GM_OK(gm_close(fx.p, gp));
}

/*
 * §2.2, §6.1.1: equal neighbours are always coalesced: a checkerboard of
 * 8 pages is 8 runs; converting the odd pages back leaves 1 run, also
 * when the pages are converted back one at a time.
 *
 *   P P P P P P P P   -> 1 run
 *   P S P S P S P S   -> 8 runs
 *   P P P P P P P P   -> 1 run
 */
static void test_attr_map_coalesces(void)
{
	int g = gmem_create(8 * PAGE, FL_MMAP);

	for (unsigned int i = 1; i < 8; i += 2)
		gmem_convert(g, i * PAGE, PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 8);
	EXPECT_EQ(gmem_info(g).nr_private, 4);
	for (unsigned int i = 1; i < 8; i += 2)
		gmem_convert(g, i * PAGE, PAGE, PRIV);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 1);
	EXPECT_EQ(gmem_info(g).nr_private, 8);
	/* a middle range then its neighbours: 3 runs, then 1 */
	gmem_convert(g, 2 * PAGE, 4 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 3);
	gmem_convert(g, 0, 2 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 2);
	gmem_convert(g, 6 * PAGE, 2 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 1);
	EXPECT_EQ(gmem_info(g).nr_private, 0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.2, §6.1.1: attributes are independent of population and survive
 * PUNCH_HOLE: a checkerboard stays a checkerboard after the whole file is
 * punched (and after its pages were populated first).
 */
static void test_attr_map_survives_punch(void)
{
	int g = gmem_slot(8 * PAGE, FL_MMAP);

	for (unsigned int i = 0; i < 8; i++)
		EXPECT_OUTCOME(g_wr(GPA0 + i * PAGE, 0x11), GM_GUEST_OK);
	for (unsigned int i = 1; i < 8; i += 2)
		gmem_convert(g, i * PAGE, PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 8);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 8 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, 8);
	EXPECT_EQ(gmem_info(g).nr_private, 4);
	for (unsigned int i = 0; i < 8; i++)
		GM_VAL(gm_gmem_state(fx.p, g, i * PAGE, PAGE),
		       i & 1 ? GM_STATE_SHARED : GM_STATE_PRIVATE);
	gmem_slot_free(g);
}

/* ---- §6.1.2: validation ---- */

struct conv_case {
	const char *what;
	uint64_t offset, size, attrs, flags;
};

/*
 * §2.3 "Validation -> EINVAL", §6.1.2: non-zero flags, each reserved
 * word, unsupported attribute bits, size 0, offset+size overflow,
 * unaligned offset or size, a range not inside i_size -> EINVAL, before
 * any side effect: no attribute, counter, sequence, stage-2 or host
 * mapping changes.  The file is private with one page mapped by the guest
 * and the request would convert it to shared; the checks also precede the
 * no-op test of §2.4 step 1 (the "no-op" rows ask for PRIVATE).
 */
static void test_validate_einval_nothing_changed(void)
{
	const uint64_t sz = 4 * PAGE;
	const struct conv_case c[] = {
		{ "flags 1", 0, PAGE, SHARED, 1 },
		{ "flags 1<<63", 0, PAGE, SHARED, 1ULL << 63 },
		{ "attr 1<<0", 0, PAGE, 1ULL << 0, 0 },
		{ "attr 1<<1", 0, PAGE, 1ULL << 1, 0 },
		{ "attr 1<<4", 0, PAGE, 1ULL << 4, 0 },
		{ "attr PRIVATE|1", 0, PAGE, PRIV | 1, 0 },
		{ "size 0", 0, 0, SHARED, 0 },
		{ "offset+size wraps", 2 * PAGE, ~(PAGE - 1), SHARED, 0 },
		{ "offset+size wraps to 0", PAGE, 0 - PAGE, SHARED, 0 },
		{ "offset unaligned", 1, PAGE, SHARED, 0 },
		{ "size unaligned", 0, PAGE + 1, SHARED, 0 },
		{ "size below a page", 0, 100, SHARED, 0 },
		{ "end past i_size", sz - PAGE, 2 * PAGE, SHARED, 0 },
		{ "offset at i_size", sz, PAGE, SHARED, 0 },
		{ "offset far past i_size", 1ULL << 40, PAGE, SHARED, 0 },
		{ "no-op, flags 1", 0, PAGE, PRIV, 1 },
		{ "no-op, attr PRIVATE|1<<0", 0, PAGE, PRIV | 1, 0 },
		{ "no-op, unaligned size", 0, PAGE - 1, PRIV, 0 },
		{ "no-op, past i_size", 0, 2 * sz, PRIV, 0 },
	};
	int g = gmem_slot(sz, FL_MMAP);
	struct gm_gmem_info i0, i1;
	struct t_tally t = { 0 };
	uint64_t seq0;

	EXPECT_OUTCOME(g_wr(GPA0, 0x21), GM_GUEST_OK);
	i0 = gmem_info(g);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	for (unsigned int i = 0; i < ARRAY_SIZE(c) + 11; i++) {
		struct kvm_memory_attributes2 a;
		const char *what;

		memset(&a, 0, sizeof(a));
		if (i < ARRAY_SIZE(c)) {
			a.offset = c[i].offset;
			a.size = c[i].size;
			a.attributes = c[i].attrs;
			a.flags = c[i].flags;
			what = c[i].what;
		} else {
			/* each reserved word in turn, the rest valid */
			a.offset = 0;
			a.size = PAGE;
			a.attributes = SHARED;
			a.reserved[i - ARRAY_SIZE(c)] = 1;
			what = "reserved word";
		}
		t_tally_expect(&t,
			       gm_ioctl(fx.p, g, KVM_SET_MEMORY_ATTRIBUTES2,
					(unsigned long)&a),
			       -EINVAL, "%s (case %u)", what, i);
		i1 = gmem_info(g);
		t_tally_expect(&t,
			       i1.nr_private == i0.nr_private &&
				       i1.nr_attr_runs == i0.nr_attr_runs &&
				       i1.nr_conversions == i0.nr_conversions &&
				       i1.nr_make_shared == i0.nr_make_shared,
			       1, "%s: file unchanged", what);
		t_tally_expect(
			&t,
			(long)(vm_info(fx.p, fx.vm).mmu_invalidate_seq - seq0),
			0, "%s: seq unchanged", what);
		t_tally_expect(&t, stage2(fx.p, fx.vm, GFN0),
			       SPTE_GMEM_RW | GM_SPTE_PRIVATE,
			       "%s: stage-2 kept", what);
	}
	TALLY_DONE(&t, "KVM_SET_MEMORY_ATTRIBUTES2 validation");
	EXPECT_EQ(g_val(GPA0), 0x21);
	gmem_slot_free(g);
}

/*
 * §2.3, §6.1.2: supported attributes depend on the VM: on a DEFAULT VM
 * (no private memory, §2.7 "KVM reports PRIVATE support only where the
 * architecture really has private memory") PRIVATE -> EINVAL, while 0 on
 * an already shared range is a valid no-op.
 */
static void test_validate_default_vm_private_einval(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_DEFAULT)));
	int g = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_BOTH));

	GM_VAL(check_ext(fx.p, vm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
	GM_ERR(__gmem_convert(fx.p, g, 0, PAGE, PRIV, NULL), -EINVAL);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 2 * PAGE), GM_STATE_SHARED);
	GM_OK(__gmem_convert(fx.p, g, 0, 2 * PAGE, SHARED, NULL));
	EXPECT_EQ(gmem_info(g).nr_conversions, 0);
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §6.1.2 "EINVAL before any side effect" and §2.4 step 2 ("the only
 * allocation"): with the next allocation set to fail, an invalid request
 * still answers EINVAL; with a pinned page in the range it answers EINVAL,
 * not EAGAIN, and leaves the host PTEs alone.
 */
static void test_validate_precedes_alloc_and_unmap(void)
{
	int g = gmem_create(2 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 2 * PAGE, 0);
	struct kvm_memory_attributes2 bad;

	CU_ASSERT(t_store(fx.p, a, 0x12) == 0);
	CU_ASSERT(t_pte_present(fx.p, a));
	GM_OK(gm_gmem_pin(fx.p, g, 0));

	memset(&bad, 0, sizeof(bad));
	bad.size = 2 * PAGE;
	bad.attributes = PRIV;
	bad.flags = 1;
	gm_host_fail_alloc(fx.h, 1);
	GM_ERR(gm_ioctl(fx.p, g, KVM_SET_MEMORY_ATTRIBUTES2,
			(unsigned long)&bad),
	       -EINVAL);
	gm_host_fail_alloc(fx.h, 0);
	CU_ASSERT(t_pte_present(fx.p, a));
	GM_VAL(gm_gmem_state(fx.p, g, 0, 2 * PAGE), GM_STATE_SHARED);

	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* §2.3: the guest_memfd ioctl with a NULL argument -> EFAULT */
static void test_convert_null_arg_efault(void)
{
	int g = gmem_create(PAGE, FL_BOTH);

	GM_ERR(gm_ioctl(fx.p, g, KVM_SET_MEMORY_ATTRIBUTES2, 0), -EFAULT);
	GM_VAL(gm_gmem_state(fx.p, g, 0, PAGE), GM_STATE_SHARED);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.3: the guest_memfd gets exactly one ioctl; the VM-level number
 * (KVM_SET_MEMORY_ATTRIBUTES, write-only, 32 bytes) and others -> ENOTTY.
 */
static void test_convert_other_ioctls_enotty(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	struct kvm_memory_attributes a = { .size = PAGE };

	GM_ERR(gm_ioctl(fx.p, g, KVM_SET_MEMORY_ATTRIBUTES, (unsigned long)&a),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, g, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD),
	       -ENOTTY);
	GM_OK(gm_close(fx.p, g));
}

/* ---- §6.1.3: the no-op fast path ---- */

/*
 * §2.3 "No-op fast path", §2.4 step 1, §6.1.3: a range that already has
 * the target value returns 0 with no unmap, no zap, no refcount check and
 * no counter bumped: mmu_invalidate_seq, nr_conversions, the host PTE and
 * the stage-2 mapping are unchanged; a pinned page does not cause EAGAIN
 * and no allocation is attempted.
 */
static void test_noop_fast_path(void)
{
	int g = gmem_slot(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gm_gmem_info i0;
	unsigned char vec[4];
	uint64_t seq0;

	CU_ASSERT(t_store(fx.p, a, 0x31) == 0);
	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, 0x32), GM_GUEST_OK);
	gmem_convert(g, 3 * PAGE, PAGE, PRIV);
	EXPECT_OUTCOME(g_wr(GPA0 + 3 * PAGE, 0x33), GM_GUEST_OK);
	GM_OK(gm_gmem_pin(fx.p, g, 0));
	i0 = gmem_info(g);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	gm_host_fail_alloc(fx.h, 1);
	GM_OK(__gmem_convert(fx.p, g, 0, 3 * PAGE, SHARED, NULL));
	GM_OK(__gmem_convert(fx.p, g, 3 * PAGE, PAGE, PRIV, NULL));
	gm_host_fail_alloc(fx.h, 0);

	EXPECT_EQ(gmem_info(g).nr_conversions, i0.nr_conversions);
	EXPECT_EQ(gmem_info(g).nr_make_shared, i0.nr_make_shared);
	EXPECT_EQ(gmem_info(g).nr_attr_runs, i0.nr_attr_runs);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	CU_ASSERT(t_pte_present(fx.p, a));
	GM_OK(gm_mincore(fx.p, a, 4 * PAGE, vec));
	EXPECT_EQ(vec[0], 1);
	EXPECT_EQ(vec[1], 1);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), SPTE_GMEM_RW);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 3),
		  SPTE_GMEM_RW | GM_SPTE_PRIVATE);

	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	gmem_slot_free(g);
}

/* ---- §6.1.4: ENOMEM ---- */

/*
 * §2.3 "ENOMEM if the attribute tree cannot be preallocated (error_offset
 * = request start)", §2.4 step 2, §6.1.4: the allocation fails -> ENOMEM,
 * error_offset == offset, attributes, host PTEs and stage-2 untouched; the
 * same request then succeeds.
 */
static void test_enomem_leaves_state(void)
{
	int g = gmem_slot(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	uint64_t eo = 0, seq0;

	CU_ASSERT(t_store(fx.p, a + PAGE, 0x44) == 0);
	EXPECT_OUTCOME(g_rd(GPA0 + PAGE), GM_GUEST_OK);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	gm_host_fail_alloc(fx.h, 1);
	GM_ERR(__gmem_convert(fx.p, g, PAGE, 2 * PAGE, PRIV, &eo), -ENOMEM);
	gm_host_fail_alloc(fx.h, 0);
	EXPECT_EQ(eo, PAGE);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_SHARED);
	EXPECT_EQ(gmem_info(g).nr_conversions, 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	CU_ASSERT(t_pte_present(fx.p, a + PAGE));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), SPTE_GMEM_RW);

	gmem_convert(g, PAGE, 2 * PAGE, PRIV);
	GM_VAL(gm_gmem_state(fx.p, g, PAGE, 2 * PAGE), GM_STATE_PRIVATE);
	EXPECT_EQ(gmem_info(g).nr_conversions, 1);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	gmem_slot_free(g);
}

/*
 * §2.4 step 2 ("the only allocation; failure -> ENOMEM, nothing
 * changed"), §6.1.4: on SNP the memory the platform effect needs is part
 * of that preallocation: each allocation of the request failing in turn
 * gives ENOMEM with error_offset = offset, attributes and every byte
 * unchanged; then the request succeeds (and scrambles, §6.1.9).
 */
static void test_enomem_each_allocation_snp(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_SNP)));
	int g = GM_FD(__gmem_create(fx.p, vm, 4 * PAGE, FL_BOTH));
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct t_tally t = { 0 };
	long r = -ENOMEM;

	/* pages 0 and 2 hold bytes, page 1 is uptodate with none */
	CU_ASSERT(t_store(fx.p, a, 0x5a) == 0);
	CU_ASSERT(t_store(fx.p, a + 2 * PAGE + 9, 0x5b) == 0);
	EXPECT_BYTES(fx.p, a + PAGE, 1, 0);
	for (unsigned long n = 1; n < 16 && r == -ENOMEM; n++) {
		uint64_t eo = 0;

		gm_host_fail_alloc(fx.h, n);
		r = __gmem_convert(fx.p, g, 0, 4 * PAGE, PRIV, &eo);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		t_tally_expect(&t, r == 0 || r == -ENOMEM, 1, "n=%lu", n);
		if (r != -ENOMEM)
			continue;
		t_tally_expect(&t, (long)eo, 0, "n=%lu error_offset", n);
		t_tally_expect(&t, gm_gmem_state(fx.p, g, 0, 4 * PAGE),
			       GM_STATE_SHARED, "n=%lu state", n);
		t_tally_expect(&t, h_val(fx.p, a), 0x5a, "n=%lu page 0", n);
		t_tally_expect(&t, h_val(fx.p, a + 2 * PAGE + 9), 0x5b,
			       "n=%lu page 2", n);
	}
	TALLY_DONE(&t, "SNP conversion under allocation failure");
	EXPECT_EQ(r, 0);
	EXPECT_EQ(gmem_info(g).nr_conversions, 1);
	gmem_convert(g, 0, 4 * PAGE, SHARED);
	CU_ASSERT(h_val(fx.p, a) != 0x5a);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §2.2 (the attribute map is created with the file), inflight §2.3 and
 * upstream-semantics §3.2 step 4 ("allocation failures -> ENOMEM"):
 * KVM_CREATE_GUEST_MEMFD fails with ENOMEM at each of its allocations,
 * the attribute map's included, and leaves nothing behind.
 */
static void test_create_enomem_each_allocation(void)
{
	long r = -ENOMEM;

	for (unsigned long n = 1; n < 16 && r == -ENOMEM; n++) {
		size_t m0 = mem_cur(fx.h);

		gm_host_fail_alloc(fx.h, n);
		r = __gmem_create(fx.p, fx.vm, 8 * PAGE, FL_MMAP);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r >= 0 || r == -ENOMEM);
		if (r == -ENOMEM)
			EXPECT_EQ(mem_cur(fx.h), m0);
	}
	CU_ASSERT_FATAL(r >= 0);
	EXPECT_EQ(gmem_info((int)r).nr_attr_runs, 1);
	GM_OK(gm_close(fx.p, (int)r));
}

/* ---- §6.1.5: to-private revokes host access first ---- */

/*
 * §2.4 step 3, §2.5, §6.1.5: to-private unmaps the range's host PTEs in
 * every process (also in a second mapping of the same file), and only
 * that range.
 */
static void test_to_private_unmaps_all_processes(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	uint64_t b = map_shared(g, 2 * PAGE, 2 * PAGE);
	struct gm_proc *c;

	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT(t_store(fx.p, a + i * PAGE, 0x50 + i) == 0);
	EXPECT_EQ(h_val(fx.p, b), 0x52);
	c = fx_fork();
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(h_val(c, a + i * PAGE), 0x50 + i);

	gmem_convert(g, 2 * PAGE, PAGE, PRIV);
	CU_ASSERT(!t_pte_present(fx.p, a + 2 * PAGE));
	CU_ASSERT(!t_pte_present(c, a + 2 * PAGE));
	CU_ASSERT(!t_pte_present(fx.p, b));
	CU_ASSERT(t_pte_present(fx.p, a + PAGE));
	CU_ASSERT(t_pte_present(c, a + 3 * PAGE));
	EXPECT_SIG(fx.p, b, GM_ACCESS_READ, SIGBUS);

	gm_proc_exit(c);
	GM_OK(gm_munmap(fx.p, b, 2 * PAGE));
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.4 step 3 ("the earlier host unmapping is not undone; pages simply
 * refault if still shared"), §6.1.5: an EAGAIN conversion has already
 * unmapped the range in every process; a host access to a still-shared
 * page refaults and sees its bytes.
 */
static void test_eagain_keeps_host_unmapped(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gm_proc *c;
	uint64_t eo = 0;

	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT(t_store(fx.p, a + i * PAGE, 0x60 + i) == 0);
	c = fx_fork();
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(h_val(c, a + i * PAGE), 0x60 + i);
	GM_OK(gm_gmem_pin(fx.p, g, 3 * PAGE));

	GM_ERR(__gmem_convert(fx.p, g, 0, 4 * PAGE, PRIV, &eo), -EAGAIN);
	EXPECT_EQ(eo, 3 * PAGE);
	for (unsigned int i = 0; i < 4; i++) {
		CU_ASSERT(!t_pte_present(fx.p, a + i * PAGE));
		CU_ASSERT(!t_pte_present(c, a + i * PAGE));
	}
	GM_VAL(gm_gmem_state(fx.p, g, 0, 4 * PAGE), GM_STATE_SHARED);
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(h_val(fx.p, a + i * PAGE), 0x60 + i);
		EXPECT_EQ(h_val(c, a + i * PAGE), 0x60 + i);
	}
	CU_ASSERT(t_pte_present(c, a));

	GM_OK(gm_gmem_unpin(fx.p, g, 3 * PAGE));
	gm_proc_exit(c);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* ---- §6.1.6: the guest side ---- */

/*
 * §2.4 step 4, §2.6, §6.1.6: every conversion zaps the range's stage-2
 * mappings in the bound VM and bumps mmu_invalidate_seq once (no
 * invalidation left in progress); mappings outside the range stay; the
 * guest refaults with the new kind.
 */
static void test_conversion_zaps_stage2_and_bumps_seq(void)
{
	int g = gmem_slot(4 * PAGE, FL_MMAP);
	struct gm_vm_info v;
	uint64_t seq0;

	EXPECT_OUTCOME(g_wr(GPA0, 0x70), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, 0x71), GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	gmem_convert(g, 0, PAGE, SHARED);
	v = vm_info(fx.p, fx.vm);
	EXPECT_EQ(v.mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(v.mmu_invalidate_in_progress, 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1),
		  SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	EXPECT_EQ(g_val(GPA0), 0x70);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW);

	gmem_convert(g, 0, PAGE, PRIV);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 2);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 1);
	gmem_slot_free(g);
}

/*
 * §2.4 step 4 ("on every VM bound to the inode"), upstream-semantics
 * §3.3.2 steps 2 and 4 (invalidate-begin/end only for a VM with a memslot
 * on the range): converting a range no memslot binds changes no VM's
 * mmu_invalidate_seq, even while another range of the file is bound.
 */
static void test_conversion_unbound_range_keeps_seq(void)
{
	int g = gmem_create(4 * PAGE, FL_MMAP);
	uint64_t seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	gmem_convert(g, 0, 4 * PAGE, SHARED);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	bind_slot(0, GPA0, 2 * PAGE, g, 0);
	gmem_convert(g, 2 * PAGE, 2 * PAGE, PRIV);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	gmem_convert(g, 2 * PAGE, 2 * PAGE, SHARED);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	/* one bound page in the range: one invalidation */
	gmem_convert(g, PAGE, 2 * PAGE, PRIV);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(gmem_info(g).nr_conversions, 4);
	gmem_slot_free(g);
}

/*
 * §2.4 step 4 ("bump the invalidation sequence so in-flight guest faults
 * retry"), §6.1.6: a guest fault begun before a conversion of its page
 * finishes with RETRY and installs nothing.
 */
static void test_conversion_in_flight_fault_retries(void)
{
	int g = gmem_slot(2 * PAGE, FL_MMAP);
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0 + 10;
	f.access = GM_ACCESS_READ;
	f.intent = D;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	gmem_convert(g, 0, PAGE, SHARED);
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_RETRY);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	/* the retried fault sees the new attribute */
	EXPECT_OUTCOME(g_rd(GPA0 + 10), GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW);
	gmem_slot_free(g);
}

/*
 * §2.1 (linux-next "Invalidate both SHARED and PRIVATE mappings for
 * in-place conversions"), §2.4 step 4, upstream-semantics §3.17: on TDX,
 * where private and shared mappings live in separate roots, a conversion
 * in either direction zaps both kinds.
 */
static void test_conversion_zaps_both_kinds_on_tdx(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_TDX)));
	int g = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_MMAP));
	struct gm_guest_fault f;

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE,
			    UADDR_ANON, g, 0));
	gmem_convert(g, PAGE, PAGE, SHARED);
	f = guest(fx.p, vm, GPA0, GM_ACCESS_WRITE, D, 1);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	f = guest(fx.p, vm, GPA0 + PAGE, GM_ACCESS_WRITE, D, 2);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, vm, GFN0), SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	EXPECT_EQ(stage2(fx.p, vm, GFN0 + 1), SPTE_GMEM_RW);

	/* private page to shared: its private mapping goes */
	gmem_convert(g, 0, PAGE, SHARED);
	EXPECT_EQ(stage2(fx.p, vm, GFN0), 0);
	/* shared page to private: its shared mapping goes */
	gmem_convert(g, PAGE, PAGE, PRIV);
	EXPECT_EQ(stage2(fx.p, vm, GFN0 + 1), 0);
	EXPECT_EQ(vm_info(fx.p, vm).nr_stage2_pages, 0);

	/*
	 * a mixed range (page 0 shared, page 1 private) to shared: every
	 * mapping in the range goes, also the one already of the new kind
	 */
	f = guest(fx.p, vm, GPA0, GM_ACCESS_READ, D, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	f = guest(fx.p, vm, GPA0 + PAGE, GM_ACCESS_READ, D, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, vm, GFN0), SPTE_GMEM_RW);
	EXPECT_EQ(stage2(fx.p, vm, GFN0 + 1), SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	gmem_convert(g, 0, 2 * PAGE, SHARED);
	EXPECT_EQ(vm_info(fx.p, vm).nr_stage2_pages, 0);
	/* and the same to private */
	gmem_convert(g, PAGE, PAGE, PRIV);
	EXPECT_OUTCOME(guest(fx.p, vm, GPA0, GM_ACCESS_READ, D, 0),
		       GM_GUEST_OK);
	EXPECT_OUTCOME(guest(fx.p, vm, GPA0 + PAGE, GM_ACCESS_READ, D, 0),
		       GM_GUEST_OK);
	gmem_convert(g, 0, 2 * PAGE, PRIV);
	EXPECT_EQ(vm_info(fx.p, vm).nr_stage2_pages, 0);

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §2.4 step 5, §6.1.6: to-shared calls the arch make-shared hook on the
 * populated pages of the range only (holes have no PFN); to-private does
 * not call it.
 */
static void test_to_shared_make_shared_counts_populated(void)
{
	int g = gmem_slot(8 * PAGE, FL_MMAP);

	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, 1), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(GPA0 + 3 * PAGE, 3), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(GPA0 + 6 * PAGE, 6), GM_GUEST_OK);
	EXPECT_EQ(gmem_info(g).nr_make_shared, 0);

	gmem_convert(g, 0, 5 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_make_shared, 2);
	gmem_convert(g, 0, 5 * PAGE, PRIV);
	EXPECT_EQ(gmem_info(g).nr_make_shared, 2);
	gmem_convert(g, 0, 8 * PAGE, SHARED);
	EXPECT_EQ(gmem_info(g).nr_make_shared, 5);
	EXPECT_EQ(gmem_info(g).nr_conversions, 3);
	gmem_slot_free(g);
}

/* ---- §6.1.7: host faults ---- */

/*
 * §2.5, §6.1.7: private index -> SIGBUS; beyond EOF -> SIGBUS (an
 * oversize mapping); shared index -> a zeroed page is allocated and
 * mapped.  mmap needs MMAP (else ENODEV) and MAP_SHARED (else EINVAL).
 */
static void test_host_fault_rules(void)
{
	int g = gmem_create(2 * PAGE, FL_MMAP);
	int g0 = gmem_create(2 * PAGE, 0);
	uint64_t a = map_shared(g, 3 * PAGE, 0);
	uint64_t x = 0;

	gmem_convert(g, PAGE, PAGE, SHARED);
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, a + 2 * PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	EXPECT_EQ(h_val(fx.p, a + PAGE + 9), 0);
	EXPECT_EQ(folio_flags(g, 1), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(folio_flags(g, 0), 0);

	GM_ERR(__map(fx.p, PAGE, RW, GMEM_MAP_SHARED, g0, 0, &x), -ENODEV);
	GM_ERR(__map(fx.p, PAGE, RW, GMEM_MAP_PRIVATE, g, 0, &x), -EINVAL);

	GM_OK(gm_munmap(fx.p, a, 3 * PAGE));
	GM_OK(gm_close(fx.p, g0));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.5 (a shared index of a non-INIT_SHARED file is host-faultable) with
 * §3.6 step 2 of mainline replaced: GUP (a pin) follows the attribute: a
 * private page -> EFAULT, the same page after to-shared -> pinned.
 */
static void test_pin_follows_attribute(void)
{
	int g = gmem_create(2 * PAGE, FL_MMAP);

	GM_ERR(gm_gmem_pin(fx.p, g, 0), -EFAULT);
	gmem_convert(g, 0, PAGE, SHARED);
	GM_OK(gm_gmem_pin(fx.p, g, 0));
	EXPECT_EQ(gmem_info(g).nr_pins, 1);
	GM_ERR(gm_gmem_pin(fx.p, g, PAGE), -EFAULT);
	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	GM_OK(gm_close(fx.p, g));
}

/* ---- §6.1.8: guest faults ---- */

/*
 * §2.6, §6.1.8, upstream-semantics §3.13 step 3: an access whose kind
 * differs from the attribute exits to the VMM with KVM_EXIT_MEMORY_FAULT
 * (flag PRIVATE for a private access to a shared gfn, none for the other
 * way), KVM_RUN failing with EFAULT; a matching access maps the page.
 */
static void test_guest_fault_mismatch_exits(void)
{
	int g = gmem_slot(2 * PAGE, FL_MMAP);
	struct gm_guest_fault f;

	gmem_convert(g, PAGE, PAGE, SHARED);
	/* private access to the shared gfn 1 */
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ, GM_INTENT_PRIVATE,
		  0);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_EQ(f.err, EFAULT);
	/* shared access to the private gfn 0 */
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_WRITE, GM_INTENT_SHARED, 9);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, 0);
	EXPECT_EQ(f.err, EFAULT);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	/* matching accesses */
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ, GM_INTENT_PRIVATE, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ, GM_INTENT_SHARED,
		  0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW | GM_SPTE_PRIVATE);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), SPTE_GMEM_RW);
	gmem_slot_free(g);
}

/*
 * §2.5 ("zero page while getting pfn"), §6.1.8: a guest fault zeroes a
 * fallocated (not yet uptodate) folio on first use, shared or private.
 */
static void test_guest_fault_zeroes_on_first_use(void)
{
	int g = gmem_slot(2 * PAGE, FL_MMAP);

	gmem_convert(g, PAGE, PAGE, SHARED);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 2 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_uptodate, 0);
	EXPECT_EQ(g_val(GPA0 + 5), 0);
	EXPECT_EQ(g_val(GPA0 + PAGE + 5), 0);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 2);
	gmem_slot_free(g);
}

/*
 * §2.1 (linux-next "Always fault from guest_memfd if in-place conversion
 * is enabled"): a slot on a guest_memfd without MMAP (not GMEM_ONLY)
 * serves shared faults from guest_memfd too, not from userspace_addr.
 */
static void test_guest_shared_fault_from_gmem_without_mmap(void)
{
	int g = gmem_create(2 * PAGE, 0);
	struct gm_guest_fault f;

	GM_OK(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE,
			    0, g, 0));
	EXPECT_OUTCOME(g_wr(GPA0, 0x81), GM_GUEST_OK);
	gmem_convert(g, 0, PAGE, SHARED);
	f = g_rd(GPA0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x81);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), SPTE_GMEM_RW);
	gmem_slot_free(g);
}

/*
 * upstream-semantics §3.13 step 1 (x86: on a DEFAULT_VM fault.is_private
 * is always false; the series changes only the attribute lookup, §2.6):
 * a DEFAULT VM guest access through a guest_memfd whose pages are private
 * (no INIT_SHARED, so never shared: PRIVATE is not supported there) is
 * never a private access: no PRIVATE stage-2 mapping, no exit flagged
 * PRIVATE.
 */
static void test_guest_default_vm_never_private(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_DEFAULT)));
	int g = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_MMAP));
	struct gm_guest_fault f;

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE,
			    UADDR_ANON, g, 0));
	f = guest(fx.p, vm, GPA0, GM_ACCESS_READ, D, 0);
	CU_ASSERT(f.outcome == GM_GUEST_OK || f.outcome == GM_GUEST_EXIT);
	if (f.outcome == GM_GUEST_EXIT)
		EXPECT_EQ(f.exit_flags, 0);
	EXPECT_EQ(stage2(fx.p, vm, GFN0) & GM_SPTE_PRIVATE, 0);
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §2.7 ("KVM's internal 'is this GFN private' query is switched ...
 * (memslot -> file -> index)"): a gfn of a slot without guest_memfd, or
 * of no slot, has no per-file attribute and is shared: a shared access
 * through a plain slot maps it, a private one exits flagged PRIVATE.
 */
static void test_guest_plain_slot_is_shared(void)
{
	struct hva_backing b;
	struct gm_guest_fault f;

	hva_backing_make(&b, 2 * PAGE);
	CU_ASSERT(t_store(fx.p, b.addr, 0x2f) == 0);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 2 * PAGE, b.addr));
	f = g_rd(GPA0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x2f);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0),
		  GM_SPTE_PRESENT | GM_SPTE_WRITABLE);
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ, GM_INTENT_PRIVATE,
		  0);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_OUTCOME(g_rd(GPA0 + 64 * PAGE), GM_GUEST_MMIO);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/* ---- §6.1.11 and §2.7: one attribute mode per module ---- */

/*
 * §2.7, §6.1.11: in per-file mode the VM ioctl KVM_SET_MEMORY_ATTRIBUTES
 * -> ENOTTY and KVM_CAP_MEMORY_ATTRIBUTES reports 0, while
 * KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES reports PRIVATE on SW_PROTECTED.
 */
static void test_mode_inplace_vm_ioctl_enotty(void)
{
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV, 0), -ENOTTY);
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE, 0, 0), -ENOTTY);
	GM_VAL(check_ext(fx.p, fx.vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
	GM_VAL(check_ext(fx.p, fx.vm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
	       PRIV);
	GM_VAL(check_ext(fx.p, fx.kvm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, 0);
}

/*
 * §2.3 "ENOTTY if the kernel is in VM-level attribute mode", §2.7,
 * §6.1.11: in the mainline profile the guest_memfd ioctl -> ENOTTY and the
 * new capability reports 0 (while the VM-level ioctl works).
 */
static void test_mode_mainline_gmem_ioctl_enotty(void)
{
	struct gm_config cfg;
	struct gm_host *h;
	struct gm_proc *p;
	int kvm, vm, g;

	gm_config_init(&cfg);
	h = t_host_create(&cfg);
	p = gm_host_init_proc(h);
	kvm = GM_FD(gm_open_kvm(p));
	vm = GM_FD(gm_ioctl(p, kvm, KVM_CREATE_VM,
			    gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	g = GM_FD(__gmem_create(p, vm, 2 * PAGE, FL_MMAP));
	GM_ERR(__gmem_convert(p, g, 0, PAGE, SHARED, NULL), -ENOTTY);
	GM_ERR(__gmem_convert(p, g, 0, PAGE, PRIV, NULL), -ENOTTY);
	GM_VAL(check_ext(p, vm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
	GM_VAL(check_ext(p, kvm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
	GM_VAL(check_ext(p, vm, KVM_CAP_MEMORY_ATTRIBUTES), PRIV);
	GM_OK(__set_attrs(p, vm, GPA0, PAGE, PRIV, 0));
	/* mainline: no per-index state, INIT_SHARED decides (§3.12) */
	GM_VAL(gm_gmem_state(p, g, 0, 2 * PAGE), GM_STATE_PRIVATE);
	GM_OK(gm_close(p, g));
	GM_OK(gm_close(p, vm));
	GM_OK(gm_close(p, kvm));
	t_host_destroy(h);
}

/*
 * §2.7 ("INIT_SHARED becomes legal for x86 CoCo VMs only in per-file
 * mode"): KVM_CAP_GUEST_MEMFD_FLAGS on SW_PROTECTED, SNP and TDX VMs
 * includes INIT_SHARED, and creating with it works.
 */
static void test_caps_flags_init_shared_on_coco(void)
{
	static const enum gm_vm_type types[] = { GM_VM_SW_PROTECTED, GM_VM_SNP,
						 GM_VM_TDX };

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
					gm_vm_type_to_kvm(types[i])));
		int g;

		GM_VAL(check_ext(fx.p, vm, KVM_CAP_GUEST_MEMFD_FLAGS) & FL_BOTH,
		       FL_BOTH);
		g = GM_FD(__gmem_create(fx.p, vm, PAGE, FL_BOTH));
		GM_OK(gm_close(fx.p, g));
		g = GM_FD(__gmem_create(fx.p, vm, PAGE, FL_SHARED));
		GM_OK(gm_close(fx.p, g));
		GM_OK(gm_close(fx.p, vm));
	}
}

/* ---- §6.1.9: contents across conversion per VM type ---- */

enum content_rule {
	CONTENT_PRESERVE, /* SW_PROTECTED, pKVM */
	CONTENT_ZERO, /* TDX */
	CONTENT_SCRAMBLE, /* SNP: never the old byte */
};

static const unsigned int content_offs[] = { 0, 1, 100, 2048, 4095 };

static uint8_t content_byte(unsigned int page, unsigned int i)
{
	return (uint8_t)(0x11 + 0x20 * page + i);
}

static void content_expect(struct t_tally *t, uint8_t got, uint8_t old,
			   enum content_rule rule, const char *what,
			   unsigned int off)
{
	switch (rule) {
	case CONTENT_PRESERVE:
		t_tally_expect(t, got, old, "%s, offset %u", what, off);
		break;
	case CONTENT_ZERO:
		t_tally_expect(t, got, 0, "%s, offset %u", what, off);
		break;
	case CONTENT_SCRAMBLE:
		t_tally_expect(t, got != old, 1, "%s, offset %u changed", what,
			       off);
		break;
	}
}

/*
 * One VM of @type; a 2-page guest_memfd bound at GPA0 and mapped.
 *   private -> shared: the guest writes (private), the host reads;
 *   shared -> private: the host writes (shared), the guest reads.
 */
static void content_round(enum gm_vm_type type, enum content_rule rule)
{
	int vm = GM_FD(
		gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, gm_vm_type_to_kvm(type)));
	int g = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_MMAP));
	struct t_tally t = { 0 };
	uint64_t a;

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE,
			    UADDR_ANON, g, 0));
	a = map_shared(g, 2 * PAGE, 0);

	/* private -> shared */
	for (unsigned int pg = 0; pg < 2; pg++)
		for (unsigned int i = 0; i < ARRAY_SIZE(content_offs); i++) {
			struct gm_guest_fault f = guest(
				fx.p, vm, GPA0 + pg * PAGE + content_offs[i],
				GM_ACCESS_WRITE, D, content_byte(pg, i));

			t_tally_expect(&t, f.outcome, GM_GUEST_OK,
				       "guest write");
		}
	gmem_convert(g, 0, 2 * PAGE, SHARED);
	for (unsigned int pg = 0; pg < 2; pg++)
		for (unsigned int i = 0; i < ARRAY_SIZE(content_offs); i++) {
			uint8_t v = 0;

			t_tally_expect(&t,
				       t_load(fx.p,
					      a + pg * PAGE + content_offs[i],
					      &v),
				       0, "host read");
			content_expect(&t, v, content_byte(pg, i), rule,
				       "to shared", content_offs[i]);
		}

	/* shared -> private */
	for (unsigned int pg = 0; pg < 2; pg++)
		for (unsigned int i = 0; i < ARRAY_SIZE(content_offs); i++)
			t_tally_expect(&t,
				       t_store(fx.p,
					       a + pg * PAGE + content_offs[i],
					       content_byte(pg, i) ^ 0xff),
				       0, "host write");
	gmem_convert(g, 0, 2 * PAGE, PRIV);
	for (unsigned int pg = 0; pg < 2; pg++)
		for (unsigned int i = 0; i < ARRAY_SIZE(content_offs); i++) {
			struct gm_guest_fault f = guest(
				fx.p, vm, GPA0 + pg * PAGE + content_offs[i],
				GM_ACCESS_READ, D, 0);

			t_tally_expect(&t, f.outcome, GM_GUEST_OK,
				       "guest read");
			content_expect(&t, f.value, content_byte(pg, i) ^ 0xff,
				       rule, "to private", content_offs[i]);
		}
	TALLY_DONE(&t, gm_vm_type_name(type));

	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/* §6.1.9: SW_PROTECTED preserves contents both ways (§2.8 preamble) */
static void test_content_sw_protected_preserves(void)
{
	content_round(GM_VM_SW_PROTECTED, CONTENT_PRESERVE);
}

/*
 * §6.1.9, §5.2 "pKVM (arm64, in-place) ... contents are preserved on both
 * directions"; the arm64 protected VM has no VM-level attributes ioctl
 * (upstream-semantics §3.12 "x86 only") -> ENOTTY.
 */
static void test_content_pkvm_preserves(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_PKVM)));

	GM_ERR(__set_attrs(fx.p, vm, GPA0, PAGE, PRIV, 0), -ENOTTY);
	GM_ERR(__set_attrs(fx.p, vm, GPA0, PAGE, 0, 0), -ENOTTY);
	GM_OK(gm_close(fx.p, vm));
	content_round(GM_VM_PKVM, CONTENT_PRESERVE);
}

/*
 * §6.1.9: TDX yields zeroed pages after to-shared (page removal clears
 * them) and after the guest re-accepts on to-private.
 */
static void test_content_tdx_zeroes(void)
{
	content_round(GM_VM_TDX, CONTENT_ZERO);
}

/*
 * §6.1.9: SNP yields undefined contents (ciphertext); the model shows a
 * scrambled pattern, never the old bytes.
 */
static void test_content_snp_scrambles(void)
{
	content_round(GM_VM_SNP, CONTENT_SCRAMBLE);
}

/*
 * §6.1.9 "Generic guest_memfd code performs no copy and no zeroing on
 * conversion": a hole stays a hole on every VM type (nothing is
 * allocated), and a fallocated, never-used folio stays not uptodate.
 */
static void test_content_conversion_allocates_nothing(void)
{
	static const enum gm_vm_type types[] = { GM_VM_SW_PROTECTED, GM_VM_SNP,
						 GM_VM_TDX, GM_VM_PKVM };

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
					gm_vm_type_to_kvm(types[i])));
		int g = GM_FD(__gmem_create(fx.p, vm, 4 * PAGE, FL_MMAP));

		GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
		GM_OK(__gmem_convert(fx.p, g, 0, 4 * PAGE, SHARED, NULL));
		GM_OK(__gmem_convert(fx.p, g, 0, 4 * PAGE, PRIV, NULL));
		EXPECT_EQ(gmem_info(g).nr_present, 1);
		EXPECT_EQ(gmem_info(g).nr_uptodate, 0);
		GM_OK(gm_close(fx.p, g));
		GM_OK(gm_close(fx.p, vm));
	}
}

/* ---- §6.1.12: launch flow ---- */

/*
 * §2.7 launch flows, §6.1.12: create with MMAP, mmap, convert the range
 * shared, copy the image through the mapping, convert private, and the
 * (SW_PROTECTED) guest reads the image in place; the mapping stays and
 * faults SIGBUS meanwhile.
 */
static void test_launch_populate_in_place(void)
{
	int g = gmem_slot(4 * PAGE, FL_MMAP);
	uint64_t a = map_shared(g, 4 * PAGE, 0);

	gmem_convert(g, 0, 2 * PAGE, SHARED);
	EXPECT_FILL(fx.p, a, 2 * PAGE, 0x9d);
	gmem_convert(g, 0, 2 * PAGE, PRIV);
	EXPECT_SIG(fx.p, a + PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_EQ(g_val(GPA0), 0x9d);
	EXPECT_EQ(g_val(GPA0 + 2 * PAGE - 1), 0x9d);
	EXPECT_EQ(g_val(GPA0 + 2 * PAGE), 0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	gmem_slot_free(g);
}

/* ---- gm_gmem_state over ranges ---- */

/*
 * §2.2 (the attribute map), model.h gm_gmem_state: SHARED / PRIVATE when
 * the whole range has one value, MIXED otherwise; bad ranges -> EINVAL.
 *
 *   index  0 1 2 3 4 5 6 7
 *   attr   P P S S S P P P
 */
static void test_gmem_state_ranges(void)
{
	int g = gmem_create(8 * PAGE, FL_MMAP);

	gmem_convert(g, 2 * PAGE, 3 * PAGE, SHARED);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 2 * PAGE), GM_STATE_PRIVATE);
	GM_VAL(gm_gmem_state(fx.p, g, 2 * PAGE, 3 * PAGE), GM_STATE_SHARED);
	GM_VAL(gm_gmem_state(fx.p, g, 3 * PAGE, PAGE), GM_STATE_SHARED);
	GM_VAL(gm_gmem_state(fx.p, g, 5 * PAGE, 3 * PAGE), GM_STATE_PRIVATE);
	GM_VAL(gm_gmem_state(fx.p, g, PAGE, 2 * PAGE), GM_STATE_MIXED);
	GM_VAL(gm_gmem_state(fx.p, g, 4 * PAGE, 2 * PAGE), GM_STATE_MIXED);
	GM_VAL(gm_gmem_state(fx.p, g, 0, 8 * PAGE), GM_STATE_MIXED);
	GM_ERR(gm_gmem_state(fx.p, g, 0, 9 * PAGE), -EINVAL);
	GM_ERR(gm_gmem_state(fx.p, g, 0, 0), -EINVAL);
	GM_ERR(gm_gmem_state(fx.p, g, 1, PAGE), -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo inplace_tests[] = {
	{ "test_conv_init_private", test_conv_init_private },
	{ "test_conv_init_shared", test_conv_init_shared },
	{ "test_conv_indexing", test_conv_indexing },
	{ "test_conv_before_allocation_shared",
	  test_conv_before_allocation_shared },
	{ "test_conv_before_allocation_private",
	  test_conv_before_allocation_private },
	{ "test_conv_unallocated_folios", test_conv_unallocated_folios },
	{ "test_conv_truncate", test_conv_truncate },
	{ "test_conv_forked_accesses", test_conv_forked_accesses },
	{ "test_conv_elevated_refcount", test_conv_elevated_refcount },
	{ "test_attr_initial_state", test_attr_initial_state },
	{ "test_attr_map_coalesces", test_attr_map_coalesces },
	{ "test_attr_map_survives_punch", test_attr_map_survives_punch },
	{ "test_validate_einval_nothing_changed",
	  test_validate_einval_nothing_changed },
	{ "test_validate_default_vm_private_einval",
	  test_validate_default_vm_private_einval },
	{ "test_validate_precedes_alloc_and_unmap",
	  test_validate_precedes_alloc_and_unmap },
	{ "test_convert_null_arg_efault", test_convert_null_arg_efault },
	{ "test_convert_other_ioctls_enotty",
	  test_convert_other_ioctls_enotty },
	{ "test_noop_fast_path", test_noop_fast_path },
	{ "test_enomem_leaves_state", test_enomem_leaves_state },
	{ "test_enomem_each_allocation_snp", test_enomem_each_allocation_snp },
	{ "test_create_enomem_each_allocation",
	  test_create_enomem_each_allocation },
	{ "test_to_private_unmaps_all_processes",
	  test_to_private_unmaps_all_processes },
	{ "test_eagain_keeps_host_unmapped", test_eagain_keeps_host_unmapped },
	{ "test_conversion_zaps_stage2_and_bumps_seq",
	  test_conversion_zaps_stage2_and_bumps_seq },
	{ "test_conversion_unbound_range_keeps_seq",
	  test_conversion_unbound_range_keeps_seq },
	{ "test_conversion_in_flight_fault_retries",
	  test_conversion_in_flight_fault_retries },
	{ "test_conversion_zaps_both_kinds_on_tdx",
	  test_conversion_zaps_both_kinds_on_tdx },
	{ "test_to_shared_make_shared_counts_populated",
	  test_to_shared_make_shared_counts_populated },
	{ "test_host_fault_rules", test_host_fault_rules },
	{ "test_pin_follows_attribute", test_pin_follows_attribute },
	{ "test_guest_fault_mismatch_exits", test_guest_fault_mismatch_exits },
	{ "test_guest_fault_zeroes_on_first_use",
	  test_guest_fault_zeroes_on_first_use },
	{ "test_guest_shared_fault_from_gmem_without_mmap",
	  test_guest_shared_fault_from_gmem_without_mmap },
	{ "test_guest_plain_slot_is_shared", test_guest_plain_slot_is_shared },
	{ "test_guest_default_vm_never_private",
	  test_guest_default_vm_never_private },
	{ "test_mode_inplace_vm_ioctl_enotty",
	  test_mode_inplace_vm_ioctl_enotty },
	{ "test_mode_mainline_gmem_ioctl_enotty",
	  test_mode_mainline_gmem_ioctl_enotty },
	{ "test_caps_flags_init_shared_on_coco",
	  test_caps_flags_init_shared_on_coco },
	{ "test_content_sw_protected_preserves",
	  test_content_sw_protected_preserves },
	{ "test_content_pkvm_preserves", test_content_pkvm_preserves },
	{ "test_content_tdx_zeroes", test_content_tdx_zeroes },
	{ "test_content_snp_scrambles", test_content_snp_scrambles },
	{ "test_content_conversion_allocates_nothing",
	  test_content_conversion_allocates_nothing },
	{ "test_launch_populate_in_place", test_launch_populate_in_place },
	{ "test_gmem_state_ranges", test_gmem_state_ranges },
	CU_TEST_INFO_NULL,
};
