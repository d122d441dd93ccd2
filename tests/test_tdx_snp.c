// SPDX-License-Identifier: GPL-2.0
/*
 * VM types other than DEFAULT in the mainline profile: the split-root
 * stage-2 of TDX (upstream-semantics §3.17: the invalidation filter only
 * matters where private and shared mappings live in separate roots),
 * read-only memslots on VMs with protected state (SNP, TDX), and the
 * arm64 protected VM's memslot rules (§3.10 step 18).
 *
 * The fixture offers every VM type (a DEFAULT VM); each test makes the VM
 * it is about on the fixture's /dev/kvm.
 *
 * Not expressible: the hardware side of TDX/SNP (S-EPT, RMP); the model
 * only keeps which kind of mapping exists for a gfn.
 */
#include <string.h>

#include "test_util.h"

#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)
#define D GM_INTENT_DEFAULT

static int make_vm(enum gm_vm_type type)
{
	return GM_FD(
		gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, gm_vm_type_to_kvm(type)));
}

/*
 * A "hybrid" slot (§3.13): a guest_memfd without MMAP for private faults,
 * userspace_addr (here a shared gmem mapping of another VM) for shared
 * ones.  Page 0 is shared, page 1 private; the guest maps both.
 */
struct hybrid {
	int vm;
	int gmem;
	struct hva_backing b;
};

static void hybrid_make(struct hybrid *x, enum gm_vm_type type)
{
	struct gm_guest_fault f;

	x->vm = make_vm(type);
	x->gmem = GM_FD(__gmem_create(fx.p, x->vm, 4 * PAGE, 0));
	hva_backing_make(&x->b, 4 * PAGE);
	GM_OK(__set_region2(fx.p, x->vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 4 * PAGE,
			    x->b.addr, x->gmem, 0));
	GM_OK(__set_attrs(fx.p, x->vm, GPA0 + PAGE, PAGE, PRIV, 0));
	f = guest(fx.p, x->vm, GPA0, GM_ACCESS_WRITE, D, 0x51);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	f = guest(fx.p, x->vm, GPA0 + PAGE, GM_ACCESS_WRITE, D, 0x52);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, x->vm, GFN0),
		  GM_SPTE_PRESENT | GM_SPTE_WRITABLE);
	EXPECT_EQ(stage2(fx.p, x->vm, GFN0 + 1),
		  GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_WRITABLE |
			  GM_SPTE_PRIVATE);
}

static void hybrid_free(struct hybrid *x)
{
	GM_OK(__set_region2(fx.p, x->vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1,
			    0));
	hva_backing_free(&x->b);
	GM_OK(gm_close(fx.p, x->gmem));
	GM_OK(gm_close(fx.p, x->vm));
}

/*
 * §3.3.2 step 2 (filter = PRIVATE for a file without INIT_SHARED), §3.17:
 * on TDX a punch zaps only the private mappings of the range; the shared
 * mapping of the same gfn range (through userspace_addr) stays.
 */
static void test_tdx_punch_zaps_only_private(void)
{
	struct hybrid x;
	uint64_t seq0;

	hybrid_make(&x, GM_VM_TDX);
	seq0 = vm_info(fx.p, x.vm).mmu_invalidate_seq;
	GM_OK(gm_fallocate(fx.p, x.gmem, PUNCH, 0, 4 * PAGE));
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0 + 1), 0);
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0), GM_SPTE_PRESENT | GM_SPTE_WRITABLE);
	EXPECT_EQ(vm_info(fx.p, x.vm).mmu_invalidate_seq, seq0 + 1);
	/* the shared page is untouched, the private one refaults zeroed */
	EXPECT_EQ(guest(fx.p, x.vm, GPA0, GM_ACCESS_READ, D, 0).value, 0x51);
	EXPECT_EQ(guest(fx.p, x.vm, GPA0 + PAGE, GM_ACCESS_READ, D, 0).value,
		  0);
	hybrid_free(&x);
}

/*
 * §3.17 ("On every other VM type ... the filter is ignored and all
 * stage-2 mappings in the gfn range are zapped"): the same punch on
 * SW_PROTECTED and SNP zaps the shared mapping too.
 */
static void test_single_root_punch_zaps_every_mapping(void)
{
	static const enum gm_vm_type types[] = { GM_VM_SW_PROTECTED,
						 GM_VM_SNP };

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		struct hybrid x;

		hybrid_make(&x, types[i]);
		GM_OK(gm_fallocate(fx.p, x.gmem, PUNCH, 0, 4 * PAGE));
		EXPECT_EQ(stage2(fx.p, x.vm, GFN0), 0);
		EXPECT_EQ(stage2(fx.p, x.vm, GFN0 + 1), 0);
		EXPECT_EQ(vm_info(fx.p, x.vm).nr_stage2_pages, 0);
		hybrid_free(&x);
	}
}

/*
 * §3.8 (munmap / MADV_DONTNEED run KVM's mmu notifier with filter
 * SHARED), §3.17: on TDX, dropping the host PTEs behind userspace_addr
 * zaps the shared mapping and leaves the private one.
 */
static void test_tdx_hva_invalidation_zaps_only_shared(void)
{
	struct hybrid x;

	hybrid_make(&x, GM_VM_TDX);
	GM_OK(gm_madvise(fx.p, x.b.addr, 4 * PAGE, GMEM_MADV_DONTNEED));
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0), 0);
	CU_ASSERT(stage2(fx.p, x.vm, GFN0 + 1) & GM_SPTE_PRIVATE);
	/* the data behind the hva is kept (probe A7 MADV_DONTNEED) */
	EXPECT_EQ(guest(fx.p, x.vm, GPA0, GM_ACCESS_READ, D, 0).value, 0x51);
	hybrid_free(&x);
}

/*
 * §3.12 effect step 3 (the x86 pre-hook zaps the old kind: to PRIVATE
 * zaps SHARED mappings, to SHARED zaps PRIVATE ones), §3.17: on TDX a
 * conversion of both pages leaves the mapping of the kind not converted.
 */
static void test_tdx_attribute_change_zaps_old_kind(void)
{
	struct hybrid x;

	hybrid_make(&x, GM_VM_TDX);
	/* page 0 to private: its shared mapping goes */
	GM_OK(__set_attrs(fx.p, x.vm, GPA0, PAGE, PRIV, 0));
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0), 0);
	CU_ASSERT(stage2(fx.p, x.vm, GFN0 + 1) & GM_SPTE_PRESENT);
	/* page 1 to shared: its private mapping goes */
	GM_OK(__set_attrs(fx.p, x.vm, GPA0 + PAGE, PAGE, 0, 0));
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0 + 1), 0);
	GM_OK(__set_attrs(fx.p, x.vm, GPA0, PAGE, 0, 0));
	hybrid_free(&x);
}

/*
 * §3.11 (DELETE zaps all stage-2 mappings of the slot), §3.17 table
 * ("memslot DELETE/MOVE: whole slot, all"): on TDX both kinds go.
 */
static void test_tdx_delete_slot_zaps_both_kinds(void)
{
	struct hybrid x;

	hybrid_make(&x, GM_VM_TDX);
	GM_OK(__set_region2(fx.p, x.vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1,
			    0));
	EXPECT_EQ(vm_info(fx.p, x.vm).nr_stage2_pages, 0);
	/* re-create it for the common teardown */
	GM_OK(__set_region2(fx.p, x.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 4 * PAGE,
			    x.b.addr, x.gmem, 0));
	hybrid_free(&x);
}

/*
 * §3.16 (memory failure zaps with the file's filter), §3.17: on TDX a
 * poisoned private page loses its private mapping only.
 */
static void test_tdx_poison_zaps_only_private(void)
{
	struct hybrid x;

	hybrid_make(&x, GM_VM_TDX);
	GM_OK(gm_gmem_poison(fx.p, x.gmem, PAGE));
	EXPECT_EQ(stage2(fx.p, x.vm, GFN0 + 1), 0);
	CU_ASSERT(stage2(fx.p, x.vm, GFN0) & GM_SPTE_PRESENT);
	GM_OK(gm_fallocate(fx.p, x.gmem, PUNCH, PAGE, PAGE));
	hybrid_free(&x);
}

/*
 * §3.10 step 4, kvm_main.c check_memory_region_flags() with x86
 * kvm_arch_has_readonly_mem() = !has_protected_state: SNP and TDX VMs take
 * no KVM_MEM_READONLY slot (EINVAL) and report KVM_CAP_READONLY_MEM 0;
 * DEFAULT and SW_PROTECTED VMs take it and report 1, as does /dev/kvm
 * (x86.c: "r = kvm ? kvm_arch_has_readonly_mem(kvm) : 1").
 */
static void test_readonly_slots_need_unprotected_state(void)
{
	static const struct {
		enum gm_vm_type type;
		long ro;
	} c[] = {
		{ GM_VM_DEFAULT, 1 },
		{ GM_VM_SW_PROTECTED, 1 },
		{ GM_VM_SNP, 0 },
		{ GM_VM_TDX, 0 },
	};
	struct hva_backing b;

	hva_backing_make(&b, 2 * PAGE);
	GM_VAL(check_ext(fx.p, fx.kvm, KVM_CAP_READONLY_MEM), 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		int vm = make_vm(c[i].type);

		GM_VAL(check_ext(fx.p, vm, KVM_CAP_READONLY_MEM), c[i].ro);
		GM_ERR(__set_region1(fx.p, vm, 0, KVM_MEM_READONLY, GPA0,
				     2 * PAGE, b.addr),
		       c[i].ro ? 0 : -EINVAL);
		GM_ERR(__set_region2(fx.p, vm, 1, KVM_MEM_READONLY,
				     GPA0 + 2 * PAGE, 2 * PAGE, b.addr, 0, 0),
		       c[i].ro ? 0 : -EINVAL);
		/* a writable plain slot is fine everywhere */
		GM_OK(__set_region1(fx.p, vm, 2, 0, GPA0 + 4 * PAGE, 2 * PAGE,
				    b.addr));
		EXPECT_EQ(vm_info(fx.p, vm).nr_memslots, c[i].ro ? 3 : 1);
		GM_OK(gm_close(fx.p, vm));
	}
	hva_backing_free(&b);
}

/*
 * §3.10 step 18 (arm64 kvm_arch_prepare_memory_region): a guest_memfd
 * slot must be GMEM_ONLY, i.e. its file has MMAP -> EINVAL otherwise; a
 * file with MMAP binds.
 */
static void test_pkvm_gmem_slot_needs_mmap(void)
{
	int vm = make_vm(GM_VM_PKVM);
	int g0 = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, 0));
	int g1 = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_MMAP));

	GM_ERR(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE,
			     0, g0, 0),
	       -EINVAL);
	EXPECT_EQ(gmem_info(g0).nr_bindings, 0);
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * PAGE, 0,
			    g1, 0));
	EXPECT_EQ(gmem_info(g1).nr_bindings, 1);
	/* §3.1: arm64 offers INIT_SHARED on every VM (weak default) */
	GM_VAL(check_ext(fx.p, vm, KVM_CAP_GUEST_MEMFD_FLAGS) & FL_BOTH,
	       FL_BOTH);
	/* §3.12: the VM attributes ioctl is x86 only */
	GM_ERR(__set_attrs(fx.p, vm, GPA0, PAGE, 0, 0), -ENOTTY);
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g1));
	GM_OK(gm_close(fx.p, g0));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §3.10 step 18, arm64 kvm_arch_prepare_memory_region(): "Prevent
 * userspace from creating a memory region outside of the IPA space" ->
 * EFAULT, checked before the GMEM_ONLY rule.  1 << 52 is beyond every
 * arm64 IPA size (at most 52 bits).
 */
static void test_pkvm_slot_beyond_ipa_efault(void)
{
	int vm = make_vm(GM_VM_PKVM);
	int g0 = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, 0));
	int g1 = GM_FD(__gmem_create(fx.p, vm, 2 * PAGE, FL_MMAP));

	GM_ERR(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 1ULL << 52,
			     2 * PAGE, 0, g1, 0),
	       -EFAULT);
	GM_ERR(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 1ULL << 52,
			     2 * PAGE, 0, g0, 0),
	       -EFAULT);
	EXPECT_EQ(vm_info(fx.p, vm).nr_memslots, 0);
	EXPECT_EQ(gmem_info(g1).nr_bindings, 0);
	GM_OK(gm_close(fx.p, g1));
	GM_OK(gm_close(fx.p, g0));
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §3.3.2 (a punch zaps the stage-2 range, then truncates; neither can
 * fail once the punch has begun) under allocation failure: zapping the
 * middle of a run of mappings may need memory; the punch then fails with
 * ENOMEM before anything changed, or succeeds with the punched page's
 * mapping gone (over-zapping is allowed: the guest refaults).  Never does
 * a mapping of a punched page survive (the checker runs every round).
 * TDX takes the filtered zap, SW_PROTECTED the plain one (§3.17).
 */
static void test_punch_zap_under_allocation_failure(void)
{
	static const enum gm_vm_type types[] = { GM_VM_TDX,
						 GM_VM_SW_PROTECTED };
	struct t_tally t = { 0 };

	for (unsigned int ty = 0; ty < ARRAY_SIZE(types); ty++) {
		for (unsigned long n = 1; n <= 6; n++) {
			int vm = make_vm(types[ty]);
			int g = GM_FD(__gmem_create(fx.p, vm, 16 * PAGE, 0));
			unsigned int mapped = 0;
			long r;

			GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD,
					    GPA0, 16 * PAGE, 0, g, 0));
			GM_OK(__set_attrs(fx.p, vm, GPA0, 16 * PAGE, PRIV, 0));
			/* four runs of three private mappings */
			for (unsigned int i = 0; i < 16; i++)
				if (i % 4 != 3)
					mapped +=
						guest(fx.p, vm, GPA0 + i * PAGE,
						      GM_ACCESS_READ, D, 0)
							.outcome == GM_GUEST_OK;
			t_tally_expect(&t, mapped, 12, "%s setup",
				       gm_vm_type_name(types[ty]));
			gm_host_fail_alloc(fx.h, n);
			r = gm_fallocate(fx.p, g, PUNCH, 5 * PAGE, PAGE);
			gm_host_fail_alloc(fx.h, 0);
			check_host(fx.h);
			t_tally_expect(&t, r == 0 || r == -ENOMEM, 1,
				       "%s n=%lu result",
				       gm_vm_type_name(types[ty]), n);
			t_tally_expect(&t, folio_flags(g, 5) != 0, r != 0,
				       "%s n=%lu folio",
				       gm_vm_type_name(types[ty]), n);
			t_tally_expect(&t, stage2(fx.p, vm, GFN0 + 5) != 0,
				       r != 0, "%s n=%lu mapping",
				       gm_vm_type_name(types[ty]), n);
			GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0,
					    0, 0, -1, 0));
			GM_OK(gm_close(fx.p, g));
			GM_OK(gm_close(fx.p, vm));
		}
	}
	TALLY_DONE(&t, "punch under allocation failure");
}

/*
 * §3.3.2 step 2 and §3.17: a punch of one page on a TDX file without
 * INIT_SHARED zaps the private mapping of exactly that page's gfn; the
 * private mappings of its neighbours (one run with it) stay.
 */
static void test_tdx_punch_middle_of_run(void)
{
	int vm = make_vm(GM_VM_TDX);
	int g = GM_FD(__gmem_create(fx.p, vm, 4 * PAGE, 0));

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 4 * PAGE, 0,
			    g, 0));
	GM_OK(__set_attrs(fx.p, vm, GPA0, 4 * PAGE, PRIV, 0));
	for (unsigned int i = 0; i < 3; i++)
		EXPECT_OUTCOME(guest(fx.p, vm, GPA0 + i * PAGE, GM_ACCESS_READ,
				     D, 0),
			       GM_GUEST_OK);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, PAGE, PAGE));
	EXPECT_EQ(stage2(fx.p, vm, GFN0 + 1), 0);
	CU_ASSERT(stage2(fx.p, vm, GFN0) & GM_SPTE_PRIVATE);
	CU_ASSERT(stage2(fx.p, vm, GFN0 + 2) & GM_SPTE_PRIVATE);
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

CU_TestInfo tdx_snp_tests[] = {
	{ "test_tdx_punch_zaps_only_private",
	  test_tdx_punch_zaps_only_private },
	{ "test_single_root_punch_zaps_every_mapping",
	  test_single_root_punch_zaps_every_mapping },
	{ "test_tdx_hva_invalidation_zaps_only_shared",
	  test_tdx_hva_invalidation_zaps_only_shared },
	{ "test_tdx_attribute_change_zaps_old_kind",
	  test_tdx_attribute_change_zaps_old_kind },
	{ "test_tdx_delete_slot_zaps_both_kinds",
	  test_tdx_delete_slot_zaps_both_kinds },
	{ "test_tdx_poison_zaps_only_private",
	  test_tdx_poison_zaps_only_private },
	{ "test_readonly_slots_need_unprotected_state",
	  test_readonly_slots_need_unprotected_state },
	{ "test_tdx_punch_middle_of_run", test_tdx_punch_middle_of_run },
	{ "test_punch_zap_under_allocation_failure",
	  test_punch_zap_under_allocation_failure },
	{ "test_pkvm_gmem_slot_needs_mmap", test_pkvm_gmem_slot_needs_mmap },
	{ "test_pkvm_slot_beyond_ipa_efault",
	  test_pkvm_slot_beyond_ipa_efault },
	CU_TEST_INFO_NULL,
};
