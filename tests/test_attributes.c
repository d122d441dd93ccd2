// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_MEMORY_ATTRIBUTES: probe A11 (the probe machine: ioctl not built)
 * and, with no kernel oracle here (the probe machine has no SW_PROTECTED
 * VMs), the source reading of upstream-semantics §3.12 / §3.17 and §5
 * invariants 13, 16, 18 on a SW_PROTECTED VM.
 *
 * Probe A11 rows not expressible: KVM_CREATE_VCPU / VCPU_MMAP_SIZE and
 * KVM_PRE_FAULT_MEMORY (no vCPU entry points in the model).
 */
#include <string.h>

#include "test_util.h"

#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define GPA0 (1ULL << 32)		/* 4 GiB, as the selftests use */
#define GFN0 (GPA0 >> 12)

/* ---- the probe machine: DEFAULT type only, attributes not built ---- */

/* probe A11: PRIVATE, shared, size 0, flags 1 on the VM fd -> ENOTTY */
static void test_attrs_not_built_enotty(void)
{
	GM_ERR(__set_attrs(fx.p, fx.vm, 0, PAGE, PRIV, 0), -ENOTTY);
	GM_ERR(__set_attrs(fx.p, fx.vm, 0, PAGE, 0, 0), -ENOTTY);
	GM_ERR(__set_attrs(fx.p, fx.vm, 0, 0, 0, 0), -ENOTTY);
	GM_ERR(__set_attrs(fx.p, fx.vm, 0, PAGE, 0, 1), -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fx.vm, KVM_SET_MEMORY_ATTRIBUTES, 0), -ENOTTY);
}

/* probe A11: the same on the /dev/kvm fd -> EINVAL */
static void test_attrs_on_dev_kvm_einval(void)
{
	GM_ERR(__set_attrs(fx.p, fx.kvm, 0, PAGE, PRIV, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.kvm, 0, PAGE, 0, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.kvm, 0, 0, 0, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.kvm, 0, PAGE, 0, 1), -EINVAL);
}

/* probe A1: KVM_CAP_MEMORY_ATTRIBUTES is 0 there, on both fds */
static void test_attrs_cap_zero_when_not_built(void)
{
	GM_VAL(check_ext(fx.p, fx.kvm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
	GM_VAL(check_ext(fx.p, fx.vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
}

CU_TestInfo attributes_kernel_tests[] = {
	{ "test_attrs_not_built_enotty", test_attrs_not_built_enotty },
	{ "test_attrs_on_dev_kvm_einval", test_attrs_on_dev_kvm_einval },
	{ "test_attrs_cap_zero_when_not_built",
	  test_attrs_cap_zero_when_not_built },
	CU_TEST_INFO_NULL,
};

/* ---- SW_PROTECTED VM ---- */

/* §3.12 step 1: NULL args -> EFAULT */
static void test_attrs_null_efault(void)
{
	GM_ERR(gm_ioctl(fx.p, fx.vm, KVM_SET_MEMORY_ATTRIBUTES, 0), -EFAULT);
}

/* §3.12 step 2: flags != 0 -> EINVAL */
static void test_attrs_flags_einval(void)
{
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV, 1), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE, 0, 1ULL << 63), -EINVAL);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0), 0);
}

/* §3.12 step 3: attributes outside the supported set (PRIVATE) -> EINVAL */
static void test_attrs_unsupported_bits_einval(void)
{
	struct t_tally t = { 0 };

	for (unsigned int b = 0; b < 64; b++) {
		long r;

		if ((1ULL << b) == PRIV)
			continue;
		r = __set_attrs(fx.p, fx.vm, GPA0, PAGE, 1ULL << b, 0);
		check_host(fx.h);
		t_tally_expect(&t, r, -EINVAL, "attribute bit %u", b);
	}
	TALLY_DONE(&t, "unsupported attribute bits");
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV | 1, 0), -EINVAL);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, 0);
}

/* §3.12 step 4: size 0 or address + size wrapping -> EINVAL */
static void test_attrs_size_zero_or_wrap_einval(void)
{
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, 0, PRIV, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.vm, ~0ULL - PAGE + 1, 2 * PAGE, PRIV, 0),
	       -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.vm, PAGE, ~0ULL - PAGE + 1, PRIV, 0),
	       -EINVAL);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, 0);
}

/* §3.12 step 5: address or size not page-aligned -> EINVAL */
static void test_attrs_unaligned_einval(void)
{
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0 + 1, PAGE, PRIV, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, PAGE + 1, PRIV, 0), -EINVAL);
	GM_ERR(__set_attrs(fx.p, fx.vm, GPA0, 1, PRIV, 0), -EINVAL);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, 0);
}

/*
 * §3.12: the gfn range [address>>12, (address+size)>>12) takes the value;
 * no memslot is needed (attributes may be set on any GPA).
 */
static void test_attrs_set_and_read_back(void)
{
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + 16 * PAGE, 4 * PAGE, PRIV, 0));
	for (uint64_t g = GFN0 + 14; g < GFN0 + 22; g++)
		EXPECT_EQ(attrs_of(fx.p, fx.vm, g),
			  g >= GFN0 + 16 && g < GFN0 + 20 ? PRIV : 0);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + 17 * PAGE, PAGE, 0, 0));
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0 + 16), PRIV);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0 + 17), 0);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0 + 18), PRIV);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
}

/* §5 invariant 13: absent entry <=> value 0 (clearing leaves no entry) */
static void test_attrs_absent_is_zero(void)
{
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 8 * PAGE, PRIV, 0));
	CU_ASSERT(vm_info(fx.p, fx.vm).nr_attr_runs >= 1);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + 2 * PAGE, 2 * PAGE, 0, 0));
	CU_ASSERT(vm_info(fx.p, fx.vm).nr_attr_runs >= 2);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 8 * PAGE, 0, 0));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, 0);
}

/* a gmem slot at GPA0 (gmem flags 0: a CoCo "hybrid" slot) */
static int private_slot(uint64_t size, uint64_t uaddr)
{
	int g = gmem_create(size, 0);

	GM_OK(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, size,
			    uaddr, g, 0));
	return g;
}

/*
 * §3.12 effect 1: when every gfn already has the value, return 0 and do
 * nothing else (mmu_invalidate_seq unchanged); a real change over a range
 * with a memslot runs invalidate-start/end (seq moves).
 */
static void test_attrs_noop_fast_path_keeps_seq(void)
{
	int g = private_slot(2 * MiB, UADDR_ANON);
	uint64_t seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	uint64_t seq1, runs1;

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, 0, 0));	/* no-op */
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, PRIV, 0));
	seq1 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	CU_ASSERT(seq1 > seq0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_in_progress, 0);
	runs1 = vm_info(fx.p, fx.vm).nr_attr_runs;
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, PRIV, 0));	/* no-op */
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + PAGE, PAGE, PRIV, 0));	/* no-op */
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq1);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_attr_runs, runs1);
	/* partly changed: not a no-op */
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + 2 * MiB - PAGE, 2 * PAGE, PRIV,
			  0));
	CU_ASSERT(vm_info(fx.p, fx.vm).mmu_invalidate_seq > seq1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.12: with no memslot overlapping the range, steps 3 and 5 do nothing
 * and only the store happens (no invalidation: seq unchanged).
 */
static void test_attrs_without_slot_keeps_seq(void)
{
	uint64_t seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, PRIV, 0));
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0), PRIV);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, 0, 0));
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0);
}

/*
 * §3.12 step 3, §3.17 (SW_PROTECTED is not split-root: every mapping in
 * the range is zapped), §5 invariant 16: converting to SHARED zaps the
 * PRIVATE stage-2 mapping, converting to PRIVATE zaps the SHARED one.
 */
static void test_attrs_conversion_zaps_stage2(void)
{
	struct hva_backing hb;
	struct gm_guest_fault f;
	int g;

	hva_backing_make(&hb, 2 * MiB);
	g = private_slot(2 * MiB, hb.addr);

	/* private: from gmem */
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV, 0));
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_WRITE, GM_INTENT_DEFAULT, 1);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0) & (GM_SPTE_PRESENT |
					       GM_SPTE_PRIVATE | GM_SPTE_GMEM),
		  GM_SPTE_PRESENT | GM_SPTE_PRIVATE | GM_SPTE_GMEM);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, PAGE, 0, 0));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);

	/* shared: from the hva */
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0) & (GM_SPTE_PRESENT |
					       GM_SPTE_PRIVATE | GM_SPTE_GMEM),
		  GM_SPTE_PRESENT);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV, 0));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);

	delete_slot(0);
	hva_backing_free(&hb);
	GM_OK(gm_close(fx.p, g));
}

/* §3.12 step 3: only the requested range is zapped */
static void test_attrs_zap_limited_to_range(void)
{
	int g = private_slot(2 * MiB, UADDR_ANON);

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 4 * PAGE, PRIV, 0));
	for (uint64_t i = 0; i < 4; i++)
		EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0 + i * PAGE,
				     GM_ACCESS_WRITE, GM_INTENT_DEFAULT, 7),
			       GM_GUEST_OK);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 4);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0 + PAGE, PAGE, 0, 0));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0) & GM_SPTE_PRESENT);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0 + 2) & GM_SPTE_PRESENT);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0 + 3) & GM_SPTE_PRESENT);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 3);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.12 "Conversion never touches guest_memfd", §5 invariant 18: no folio
 * is freed, zeroed or moved; the private data is still there after a
 * round trip through shared.
 */
static void test_attrs_do_not_touch_gmem(void)
{
	int g = private_slot(2 * MiB, UADDR_ANON);
	struct gm_gmem_info before;
	struct gm_guest_fault f;

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * PAGE, PRIV, 0));
	f = guest(fx.p, fx.vm, GPA0 + 5, GM_ACCESS_WRITE, GM_INTENT_DEFAULT,
		  0x9c);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 8 * PAGE, 2 * PAGE));
	before = gmem_info(g);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * MiB, 0, 0));
	EXPECT_EQ(gmem_info(g).nr_present, before.nr_present);
	EXPECT_EQ(gmem_info(g).nr_uptodate, before.nr_uptodate);
	EXPECT_EQ(folio_flags(g, 0), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(gm_gmem_state(fx.p, g, 0, 2 * MiB), GM_STATE_PRIVATE);
	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * PAGE, PRIV, 0));
	f = guest(fx.p, fx.vm, GPA0 + 5, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x9c);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.12: attributes persist across memslot delete / recreate */
static void test_attrs_persist_across_slot_delete(void)
{
	int g = private_slot(2 * MiB, UADDR_ANON);

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, 2 * PAGE, PRIV, 0));
	delete_slot(0);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0), PRIV);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0 + 1), PRIV);
	GM_OK(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			    UADDR_ANON, g, 0));
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0), PRIV);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0) & GM_SPTE_PRIVATE);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.12 step 3 on a DEFAULT VM of a KVM that builds the ioctl: supported
 * attributes are 0, so only attributes == 0 passes.
 */
static void test_attrs_default_vm_only_zero(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_DEFAULT)));

	GM_ERR(__set_attrs(fx.p, vm, GPA0, PAGE, PRIV, 0), -EINVAL);
	GM_OK(__set_attrs(fx.p, vm, GPA0, PAGE, 0, 0));
	GM_ERR(__set_attrs(fx.p, vm, GPA0, PAGE, 0, 1), -EINVAL);
	EXPECT_EQ(attrs_of(fx.p, vm, GFN0), 0);
	GM_OK(gm_close(fx.p, vm));
}

/* probe A11 analogue: a KVM built without the ioctl -> ENOTTY on any VM */
static void test_attrs_forced_off_enotty(void)
{
	struct gm_config cfg;
	struct gm_host *h;
	struct gm_proc *p;
	int kvm, vm;

	gm_config_init(&cfg);
	cfg.vm_attributes = 0;
	h = t_host_create(&cfg);
	p = gm_host_init_proc(h);
	kvm = GM_FD(gm_open_kvm(p));
	vm = GM_FD(gm_ioctl(p, kvm, KVM_CREATE_VM,
			    gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	GM_ERR(__set_attrs(p, vm, GPA0, PAGE, PRIV, 0), -ENOTTY);
	GM_ERR(__set_attrs(p, vm, GPA0, PAGE, 0, 0), -ENOTTY);
	GM_OK(gm_close(p, vm));
	GM_OK(gm_close(p, kvm));
	t_host_destroy(h);
}

/* §3.12: attributes are per VM */
static void test_attrs_are_per_vm(void)
{
	int vm2 = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				 gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));

	GM_OK(__set_attrs(fx.p, fx.vm, GPA0, PAGE, PRIV, 0));
	EXPECT_EQ(attrs_of(fx.p, vm2, GFN0), 0);
	EXPECT_EQ(attrs_of(fx.p, fx.vm, GFN0), PRIV);
	GM_OK(gm_close(fx.p, vm2));
}

CU_TestInfo attributes_tests[] = {
	{ "test_attrs_null_efault", test_attrs_null_efault },
	{ "test_attrs_flags_einval", test_attrs_flags_einval },
	{ "test_attrs_unsupported_bits_einval",
	  test_attrs_unsupported_bits_einval },
	{ "test_attrs_size_zero_or_wrap_einval",
	  test_attrs_size_zero_or_wrap_einval },
	{ "test_attrs_unaligned_einval", test_attrs_unaligned_einval },
	{ "test_attrs_set_and_read_back", test_attrs_set_and_read_back },
	{ "test_attrs_absent_is_zero", test_attrs_absent_is_zero },
	{ "test_attrs_noop_fast_path_keeps_seq",
	  test_attrs_noop_fast_path_keeps_seq },
	{ "test_attrs_without_slot_keeps_seq",
	  test_attrs_without_slot_keeps_seq },
	{ "test_attrs_conversion_zaps_stage2",
	  test_attrs_conversion_zaps_stage2 },
	{ "test_attrs_zap_limited_to_range", test_attrs_zap_limited_to_range },
	{ "test_attrs_do_not_touch_gmem", test_attrs_do_not_touch_gmem },
	{ "test_attrs_persist_across_slot_delete",
	  test_attrs_persist_across_slot_delete },
	{ "test_attrs_default_vm_only_zero", test_attrs_default_vm_only_zero },
	{ "test_attrs_forced_off_enotty", test_attrs_forced_off_enotty },
	{ "test_attrs_are_per_vm", test_attrs_are_per_vm },
	CU_TEST_INFO_NULL,
};
