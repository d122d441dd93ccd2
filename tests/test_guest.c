// SPDX-License-Identifier: GPL-2.0
/*
 * Guest (stage-2) accesses: selftest G1-G4 (upstream-semantics §4.1) on a
 * DEFAULT VM, and with no kernel oracle here (the probe machine cannot run
 * a guest, probe "What this means" 1) the source reading of §3.3.2, §3.8,
 * §3.9, §3.11, §3.13, §3.14, §3.17 and the SW_PROTECTED selftests §4.3
 * (private_mem_conversions_test) and §4.4 (private_mem_kvm_exits_test).
 *
 * Not expressible: KVM_PRE_FAULT_MEMORY (§4.5, no vCPU ioctls); the exit's
 * gpa/size fields (the model reports flags and errno; the gpa is the one
 * the test asked for); the SNP/TDX hardware paths.
 */
#include <string.h>

#include "test_util.h"

#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)
#define MMIO_GPA 0xfee00000ULL

static struct gm_guest_fault g_rd(uint64_t gpa, enum gm_intent in)
{
	return guest(fx.p, fx.vm, gpa, GM_ACCESS_READ, in, 0);
}

static struct gm_guest_fault g_wr(uint64_t gpa, enum gm_intent in,
				  uint8_t v)
{
	return guest(fx.p, fx.vm, gpa, GM_ACCESS_WRITE, in, v);
}

#define D GM_INTENT_DEFAULT

static int gmem_slot(uint64_t size, uint64_t flags)
{
	int g = gmem_create(size, flags);

	bind_slot(0, GPA0, size, g, 0);
	return g;
}

/* ---- DEFAULT VM (the probe machine's configuration) ---- */

/* selftest G1: a default VM's flags cap includes MMAP and INIT_SHARED */
static void test_guest_g1_default_vm_flags(void)
{
	long cap = check_ext(fx.p, fx.vm, KVM_CAP_GUEST_MEMFD_FLAGS);

	EXPECT_EQ(cap & FL_BOTH, FL_BOTH);
}

/*
 * selftest G2-G4: gmem(PAGE, MMAP|INIT_SHARED) bound at 4 GiB (slot 1,
 * userspace_addr NULL); host mmap, memset 0xaa, munmap; the guest reads
 * 0xaa everywhere and writes 0xff; host re-mmaps and reads 0xff.
 */
static void test_guest_memfd_guest(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	uint64_t a;
	unsigned int bad = 0;

	GM_OK(__set_region2(fx.p, fx.vm, 1, KVM_MEM_GUEST_MEMFD, GPA0, PAGE, 0,
			    g, 0));					/* G2 */
	a = map_shared(g, PAGE, 0);
	EXPECT_FILL(fx.p, a, PAGE, 0xaa);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	for (uint64_t i = 0; i < PAGE; i++) {			/* G3 */
		struct gm_guest_fault f = g_rd(GPA0 + i, D);

		if (f.outcome != GM_GUEST_OK || f.value != 0xaa)
			bad++;
		f = g_wr(GPA0 + i, D, 0xff);
		if (f.outcome != GM_GUEST_OK)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	a = map_shared(g, PAGE, 0);					/* G4 */
	EXPECT_BYTES(fx.p, a, PAGE, 0xff);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	GM_OK(__set_region2(fx.p, fx.vm, 1, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1,
			    0));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 5: a DEFAULT VM gmem slot with MMAP (GMEM_ONLY) serves every
 * fault from gmem: shared, 4K, writable; §3.6: host and guest see the same
 * page both ways.
 */
static void test_guest_gmem_only_slot_shares_pages_with_host(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);
	struct gm_guest_fault f;
	uint8_t v = 0;

	f = g_wr(GPA0 + PAGE + 9, D, 0xff);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.order, 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1),
		  GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_WRITABLE);
	CU_ASSERT(t_load(fx.p, a + PAGE + 9, &v) == 0);
	EXPECT_EQ(v, 0xff);
	CU_ASSERT(t_store(fx.p, a + PAGE + 10, 0x61) == 0);
	f = g_rd(GPA0 + PAGE + 10, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x61);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.14 step 7: the guest fault zero-fills a fallocated (stale) folio */
static void test_guest_fault_zero_fills_stale_folio(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;

	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 2 * MiB));
	EXPECT_EQ(folio_flags(g, 3), GM_FOLIO_PRESENT);
	f = g_rd(GPA0 + 3 * PAGE + 100, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0);
	EXPECT_EQ(folio_flags(g, 3), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.13 step 4: no memslot, shared -> emulated MMIO exit */
static void test_guest_no_slot_shared_mmio(void)
{
	struct gm_guest_fault f = g_rd(MMIO_GPA, D);

	EXPECT_OUTCOME(f, GM_GUEST_MMIO);
	f = g_wr(MMIO_GPA + 8, GM_INTENT_SHARED, 1);
	EXPECT_OUTCOME(f, GM_GUEST_MMIO);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
}

/*
 * §3.9 steps 1-2, §3.14 step 1: releasing the gmem file zaps its stage-2
 * mappings; later faults on its slot -> error EFAULT; after deleting the
 * slot and binding a live gmem, faults work again (probe A10 row).
 */
static void test_guest_released_gmem_efault(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;
	int g2;

	EXPECT_OUTCOME(g_wr(GPA0, D, 3), GM_GUEST_OK);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 1);
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	f = g_rd(GPA0, D);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EFAULT);
	delete_slot(0);
	g2 = gmem_slot(2 * MiB, FL_BOTH);
	f = g_rd(GPA0, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g2));
}

/*
 * §3.3.2: punching a bound range zaps its stage-2 mappings and bumps
 * mmu_invalidate_seq (invalidate-end), leaving in_progress at 0; the next
 * guest access gets a fresh zero page.
 */
static void test_guest_punch_zaps_and_bumps_seq(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	uint64_t seq0;
	struct gm_guest_fault f;

	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, D, 0x44), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(GPA0 + 2 * PAGE, D, 0x45), GM_GUEST_OK);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	GM_OK(gm_fallocate(fx.p, g, PUNCH, PAGE, PAGE));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0 + 2) & GM_SPTE_PRESENT);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_in_progress, 0);
	f = g_rd(GPA0 + PAGE, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0);
	f = g_rd(GPA0 + 2 * PAGE, D);
	EXPECT_EQ(f.value, 0x45);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.3.2 steps 2 and 4: invalidate-start/end run only for files with a
 * binding in the punched range: punching an unbound range leaves
 * mmu_invalidate_seq alone.
 */
static void test_guest_punch_unbound_range_keeps_seq(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	uint64_t seq0;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 2 * MiB, 2 * MiB));
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 8 * MiB, PAGE));
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 7: a punch of the gfn between begin and finish -> RETRY with
 * nothing installed; the next attempt maps the page.
 */
static void test_guest_race_punch_retry(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	f.access = GM_ACCESS_WRITE;
	f.intent = D;
	f.byte = 0x11;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, PAGE));
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_RETRY);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	EXPECT_OUTCOME(g_wr(GPA0, D, 0x11), GM_GUEST_OK);
	EXPECT_EQ(g_rd(GPA0, D).value, 0x11);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 7 (mmu_invalidate_retry_gfn): any change of the sequence
 * since begin -> RETRY, also from an invalidation of another gfn.
 */
static void test_guest_race_other_range_retry(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	f.access = GM_ACCESS_READ;
	f.intent = D;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
	GM_OK(gm_fallocate(fx.p, g, PUNCH, MiB, PAGE));
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_RETRY);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.13: begin + finish with nothing in between = one access */
static void test_guest_begin_finish_ok(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0 + 5 * PAGE + 1;
	f.access = GM_ACCESS_WRITE;
	f.intent = D;
	f.byte = 0x99;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
	/* no invalidation: an unrelated allocate does not invalidate */
	GM_OK(gm_fallocate(fx.p, g, KEEP, MiB, PAGE));
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(g_rd(GPA0 + 5 * PAGE + 1, D).value, 0x99);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.11: deleting the slot zaps all its stage-2 mappings; the gfn then has
 * no memslot (shared -> MMIO); the gmem folios stay.
 */
static void test_guest_delete_slot_zaps(void)
{
	int g = gmem_slot(2 * MiB, FL_BOTH);

	for (uint64_t i = 0; i < 4; i++)
		EXPECT_OUTCOME(g_wr(GPA0 + i * PAGE, D, 1), GM_GUEST_OK);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 4);
	delete_slot(0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	EXPECT_OUTCOME(g_rd(GPA0, D), GM_GUEST_MMIO);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 4);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 6: on a DEFAULT VM a gmem slot without MMAP (not GMEM_ONLY)
 * serves shared faults from userspace_addr; gmem stays untouched.
 */
static void test_guest_non_gmem_only_slot_uses_hva(void)
{
	struct hva_backing hb;
	int g = gmem_create(2 * MiB, 0);
	struct gm_guest_fault f;

	hva_backing_make(&hb, 2 * MiB);
	GM_OK(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			    hb.addr, g, 0));
	CU_ASSERT(t_store(fx.p, hb.addr + 20, 0x21) == 0);
	f = g_rd(GPA0 + 20, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x21);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0) &
			  (GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_PRIVATE),
		  GM_SPTE_PRESENT);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	delete_slot(0);
	hva_backing_free(&hb);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.8, §3.17: munmap of an hva range zaps the shared stage-2 mappings of
 * slots whose userspace_addr overlaps it; a later fault finds no hva
 * (GUP fails) and KVM_RUN fails with EFAULT.
 */
static void test_guest_munmap_zaps_hva_mappings(void)
{
	struct hva_backing hb;
	struct gm_guest_fault f;

	hva_backing_make(&hb, 2 * MiB);
	GM_OK(__set_region1(fx.p, fx.vm, 0, 0, GPA0, 2 * MiB, hb.addr));
	CU_ASSERT(t_store(fx.p, hb.addr + PAGE, 0x2b) == 0);
	f = g_rd(GPA0 + PAGE, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x2b);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0 + 1) & GM_SPTE_PRESENT);
	GM_OK(gm_munmap(fx.p, hb.addr, 2 * MiB));
	hb.addr = 0;
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	f = g_rd(GPA0 + PAGE, D);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EFAULT);
	GM_OK(__set_region1(fx.p, fx.vm, 0, 0, 0, 0, 0));
	hva_backing_free(&hb);
}

/*
 * §3.3.2 steps 2 and 4 (invalidate-start/end once per file with a binding
 * in the range): a punch across two slots bound from one file zaps both
 * ranges and bumps mmu_invalidate_seq once.
 */
static void test_guest_punch_two_slots_one_seq_bump(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	uint64_t gpa1 = GPA0 + GiB, seq0;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	bind_slot(1, gpa1, 2 * MiB, g, 2 * MiB);
	EXPECT_OUTCOME(g_wr(GPA0 + 2 * MiB - PAGE, D, 1), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(gpa1, D, 2), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(gpa1 + PAGE, D, 3), GM_GUEST_OK);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 2 * MiB - PAGE, 2 * PAGE));
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(stage2(fx.p, fx.vm, (GPA0 >> 12) + 511), 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, gpa1 >> 12), 0);
	CU_ASSERT(stage2(fx.p, fx.vm, (gpa1 >> 12) + 1) & GM_SPTE_PRESENT);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 1);
	delete_slot(0);
	delete_slot(1);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.9 step 2: the release zaps the stage-2 mappings of every binding of
 * the file and ends the invalidation once (seq + 1).
 */
static void test_guest_release_zaps_all_bindings(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	uint64_t gpa1 = GPA0 + GiB, seq0;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	bind_slot(1, gpa1, 2 * MiB, g, 2 * MiB);
	EXPECT_OUTCOME(g_wr(GPA0, D, 1), GM_GUEST_OK);
	EXPECT_OUTCOME(g_wr(gpa1 + 5 * PAGE, D, 2), GM_GUEST_OK);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_in_progress, 0);
	/* both slots stay, unbound (§3.9 step 1) */
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 2);
	EXPECT_EQ(g_rd(gpa1 + 5 * PAGE, D).err, EFAULT);
	delete_slot(0);
	delete_slot(1);
}

/*
 * §3.17 table: create, bind and allocate cause no invalidation
 * (mmu_invalidate_seq unchanged, nothing zapped).
 */
static void test_guest_create_bind_allocate_do_not_invalidate(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	int g2;
	uint64_t seq0;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	EXPECT_OUTCOME(g_wr(GPA0, D, 1), GM_GUEST_OK);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	g2 = gmem_create(4 * MiB, FL_BOTH);
	bind_slot(1, GPA0 + GiB, 2 * MiB, g2, 0);
	bind_slot(2, GPA0 + 2 * GiB, 2 * MiB, g, 2 * MiB);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 4 * MiB));
	GM_OK(gm_fallocate(fx.p, g2, KEEP, 0, 4 * MiB));
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0) & GM_SPTE_PRESENT);
	EXPECT_EQ(g_rd(GPA0, D).value, 1);
	delete_slot(0);
	delete_slot(1);
	delete_slot(2);
	GM_OK(gm_close(fx.p, g2));
	GM_OK(gm_close(fx.p, g));
}

/* model.h: guest access on a fd that is not a VM -> EBADF / error */
static void test_guest_bad_vm_fd(void)
{
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	GM_ERR(gm_guest_access(fx.p, 999, &f), -EBADF);
	GM_ERR(gm_guest_access(fx.p, -1, &f), -EBADF);
}

CU_TestInfo guest_tests[] = {
	{ "test_guest_g1_default_vm_flags", test_guest_g1_default_vm_flags },
	{ "test_guest_memfd_guest", test_guest_memfd_guest },
	{ "test_guest_gmem_only_slot_shares_pages_with_host",
	  test_guest_gmem_only_slot_shares_pages_with_host },
	{ "test_guest_fault_zero_fills_stale_folio",
	  test_guest_fault_zero_fills_stale_folio },
	{ "test_guest_no_slot_shared_mmio", test_guest_no_slot_shared_mmio },
	{ "test_guest_released_gmem_efault", test_guest_released_gmem_efault },
	{ "test_guest_punch_zaps_and_bumps_seq",
	  test_guest_punch_zaps_and_bumps_seq },
	{ "test_guest_punch_unbound_range_keeps_seq",
	  test_guest_punch_unbound_range_keeps_seq },
	{ "test_guest_race_punch_retry", test_guest_race_punch_retry },
	{ "test_guest_race_other_range_retry",
	  test_guest_race_other_range_retry },
	{ "test_guest_begin_finish_ok", test_guest_begin_finish_ok },
	{ "test_guest_delete_slot_zaps", test_guest_delete_slot_zaps },
	{ "test_guest_non_gmem_only_slot_uses_hva",
	  test_guest_non_gmem_only_slot_uses_hva },
	{ "test_guest_munmap_zaps_hva_mappings",
	  test_guest_munmap_zaps_hva_mappings },
	{ "test_guest_punch_two_slots_one_seq_bump",
	  test_guest_punch_two_slots_one_seq_bump },
	{ "test_guest_release_zaps_all_bindings",
	  test_guest_release_zaps_all_bindings },
	{ "test_guest_create_bind_allocate_do_not_invalidate",
	  test_guest_create_bind_allocate_do_not_invalidate },
	{ "test_guest_bad_vm_fd", test_guest_bad_vm_fd },
	CU_TEST_INFO_NULL,
};

/* ---- SW_PROTECTED VM ---- */

static long set_priv(uint64_t gpa, uint64_t size, bool priv)
{
	return __set_attrs(fx.p, fx.vm, gpa, size, priv ? PRIV : 0, 0);
}

/*
 * §3.13 steps 1, 5; §3.14: on SW_PROTECTED a PRIVATE gfn faults through
 * gmem: mapping PRESENT|PRIVATE|GMEM, writable, 4K; data round-trips.
 */
static void test_guest_private_fault_maps_gmem(void)
{
	int g = gmem_slot(2 * MiB, 0);
	struct gm_guest_fault f;

	GM_OK(set_priv(GPA0, 2 * MiB, true));
	f = g_wr(GPA0 + 7, D, 0x5a);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.order, 0);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0),
		  GM_SPTE_PRESENT | GM_SPTE_PRIVATE | GM_SPTE_GMEM |
			  GM_SPTE_WRITABLE);
	EXPECT_EQ(folio_flags(g, 0), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	f = g_rd(GPA0 + 7, GM_INTENT_PRIVATE);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x5a);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 3: a private access to a shared gfn -> KVM_EXIT_MEMORY_FAULT
 * with flags PRIVATE, KVM_RUN -> EFAULT; nothing is mapped.
 */
static void test_guest_mismatch_private_intent_exits(void)
{
	int g = gmem_slot(2 * MiB, 0);
	struct gm_guest_fault f = g_rd(GPA0, GM_INTENT_PRIVATE);

	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_EQ(f.err, EFAULT);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.13 step 3: a shared access to a private gfn -> exit, flags 0 */
static void test_guest_mismatch_shared_intent_exits(void)
{
	int g = gmem_slot(2 * MiB, 0);
	struct gm_guest_fault f;

	GM_OK(set_priv(GPA0, PAGE, true));
	f = g_wr(GPA0, GM_INTENT_SHARED, 1);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, 0);
	EXPECT_EQ(f.err, EFAULT);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 4, selftest E1: a private gfn with no memslot -> memory-fault
 * exit with flags PRIVATE (no emulated MMIO for private); shared -> MMIO.
 */
static void test_guest_no_slot_private_exits(void)
{
	int g = gmem_slot(PAGE, 0);
	struct gm_guest_fault f;

	GM_OK(set_priv(0xC0000000ULL, PAGE, true));
	f = g_rd(0xC0000000ULL, D);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_EQ(f.err, EFAULT);
	/* E1: the gfn was served until its slot went away */
	GM_OK(set_priv(GPA0, PAGE, true));
	EXPECT_OUTCOME(g_rd(GPA0, D), GM_GUEST_OK);
	delete_slot(0);
	f = g_rd(GPA0, D);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_OUTCOME(g_rd(GPA0 + PAGE, D), GM_GUEST_MMIO);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 5, selftest E2: a private gfn on a slot without GUEST_MEMFD ->
 * memory-fault exit, flags PRIVATE, EFAULT.
 */
static void test_guest_private_on_plain_slot_exits(void)
{
	struct hva_backing hb;
	struct gm_guest_fault f;

	hva_backing_make(&hb, PAGE);
	GM_OK(__set_region1(fx.p, fx.vm, 0, 0, 0xC0000000ULL, PAGE, hb.addr));
	GM_OK(set_priv(0xC0000000ULL, PAGE, true));
	f = g_rd(0xC0000000ULL, D);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	EXPECT_EQ(f.err, EFAULT);
	GM_OK(__set_region1(fx.p, fx.vm, 0, 0, 0, 0, 0));
	hva_backing_free(&hb);
}

/*
 * selftest C1-C5 (§4.3): shared accesses use the hva backing, private ones
 * the gmem; the two are distinct and each survives a round trip.
 */
static void test_guest_private_and_shared_backings_distinct(void)
{
	struct hva_backing hb;
	int g = gmem_create(2 * MiB, 0);
	struct gm_guest_fault f;
	uint64_t hva;
	uint8_t v = 0;

	hva_backing_make(&hb, 2 * MiB);
	hva = hb.addr;
	GM_OK(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			    hva, g, 0));
	/* C1: shared by default; the host sees the guest's data */
	EXPECT_OUTCOME(g_wr(GPA0, D, 0x01), GM_GUEST_OK);
	CU_ASSERT(t_load(fx.p, hva, &v) == 0);
	EXPECT_EQ(v, 0x01);
	/* C2: private; the guest sees its p2, the host still p1 */
	GM_OK(set_priv(GPA0, PAGE, true));
	EXPECT_OUTCOME(g_wr(GPA0, D, 0x02), GM_GUEST_OK);
	EXPECT_EQ(g_rd(GPA0, D).value, 0x02);
	CU_ASSERT(t_load(fx.p, hva, &v) == 0);
	EXPECT_EQ(v, 0x01);
	/* C3: back to shared; p1 preserved; host writes p3, guest reads it */
	GM_OK(set_priv(GPA0, PAGE, false));
	f = g_rd(GPA0, D);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x01);
	CU_ASSERT(t_store(fx.p, hva, 0x03) == 0);
	EXPECT_EQ(g_rd(GPA0, D).value, 0x03);
	/* and the private p2 is still in gmem (conversion kept it) */
	GM_OK(set_priv(GPA0, PAGE, true));
	EXPECT_EQ(g_rd(GPA0, D).value, 0x02);
	delete_slot(0);
	hva_backing_free(&hb);
	GM_OK(gm_close(fx.p, g));
}

/*
 * selftest H1, H2 (§4.3): all private; punching the whole area (attributes
 * unchanged) lets the guest write and read back a pattern on fresh pages;
 * punching the range again makes the guest read zeros.
 */
static void test_guest_private_punch_refaults_zero(void)
{
	int g = gmem_slot(2 * MiB, 0);

	GM_OK(set_priv(GPA0, 2 * MiB, true));
	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, D, 0x70), GM_GUEST_OK);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 2 * MiB));		/* H1 */
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0 + 1), PRIV);
	EXPECT_OUTCOME(g_wr(GPA0 + PAGE, D, 0x71), GM_GUEST_OK);
	EXPECT_EQ(g_rd(GPA0 + PAGE, D).value, 0x71);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, PAGE, PAGE));		/* H2 */
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	EXPECT_EQ(g_rd(GPA0 + PAGE, D).value, 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 7 with §3.12: a conversion of the gfn between begin and
 * finish -> RETRY, nothing installed; the retried access follows the new
 * attributes.
 */
static void test_guest_race_attributes_retry(void)
{
	int g = gmem_slot(2 * MiB, 0);
	struct gm_guest_fault f;

	GM_OK(set_priv(GPA0, PAGE, true));
	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	f.access = GM_ACCESS_WRITE;
	f.intent = GM_INTENT_PRIVATE;
	f.byte = 0x12;
	GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
	GM_OK(set_priv(GPA0, PAGE, false));
	GM_OK(gm_guest_fault_finish(fx.p, fx.vm, &f));
	EXPECT_OUTCOME(f, GM_GUEST_RETRY);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	f = g_wr(GPA0, GM_INTENT_PRIVATE, 0x12);
	EXPECT_OUTCOME(f, GM_GUEST_EXIT);
	EXPECT_EQ(f.exit_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.13 step 5: on a GMEM_ONLY slot (gmem with MMAP) of a SW_PROTECTED VM
 * shared faults are served from gmem as well (mapping GMEM, not PRIVATE).
 */
static void test_guest_private_vm_gmem_only_slot(void)
{
	int g = gmem_slot(2 * MiB, FL_MMAP);

	EXPECT_OUTCOME(g_wr(GPA0, D, 0x3e), GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0) &
			  (GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_PRIVATE),
		  GM_SPTE_PRESENT | GM_SPTE_GMEM);
	GM_OK(set_priv(GPA0, PAGE, true));
	EXPECT_EQ(g_rd(GPA0, D).value, 0x3e);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0) &
			  (GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_PRIVATE),
		  GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_PRIVATE);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.9 on a private slot: release -> private faults fail with EFAULT */
static void test_guest_private_released_gmem_efault(void)
{
	int g = gmem_slot(2 * MiB, 0);
	struct gm_guest_fault f;

	GM_OK(set_priv(GPA0, 2 * MiB, true));
	EXPECT_OUTCOME(g_wr(GPA0, D, 1), GM_GUEST_OK);
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	f = g_rd(GPA0, D);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EFAULT);
	delete_slot(0);
}

CU_TestInfo guest_swprot_tests[] = {
	{ "test_guest_private_fault_maps_gmem",
	  test_guest_private_fault_maps_gmem },
	{ "test_guest_mismatch_private_intent_exits",
	  test_guest_mismatch_private_intent_exits },
	{ "test_guest_mismatch_shared_intent_exits",
	  test_guest_mismatch_shared_intent_exits },
	{ "test_guest_no_slot_private_exits", test_guest_no_slot_private_exits },
	{ "test_guest_private_on_plain_slot_exits",
	  test_guest_private_on_plain_slot_exits },
	{ "test_guest_private_and_shared_backings_distinct",
	  test_guest_private_and_shared_backings_distinct },
	{ "test_guest_private_punch_refaults_zero",
	  test_guest_private_punch_refaults_zero },
	{ "test_guest_race_attributes_retry",
	  test_guest_race_attributes_retry },
	{ "test_guest_private_vm_gmem_only_slot",
	  test_guest_private_vm_gmem_only_slot },
	{ "test_guest_private_released_gmem_efault",
	  test_guest_private_released_gmem_efault },
	CU_TEST_INFO_NULL,
};
