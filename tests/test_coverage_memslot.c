// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots without guest_memfd and the edges of KVM's memslot and fault
 * code: MOVE and FLAGS_ONLY (upstream-semantics §3.10 step 14c), GPA
 * overlap on MOVE (step 15), the MMU's maximum gfn (step 18, x86
 * kvm_mmu_max_gfn()), read-only slots on the fault path, allocation
 * failures and the model's introspection calls on wrong fds.
 *
 * The fixture offers every VM type; its VM is DEFAULT.  Plain slots are
 * backed by host memory of their own (hva_backing: a shared gmem mapping,
 * probe A10 "a gmem mmap can back a normal slot").
 */
#include <string.h>

#include "test_util.h"

#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)
#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define D GM_INTENT_DEFAULT

static struct gm_guest_fault g_acc(int vm, uint64_t gpa, enum gm_access acc,
				   uint8_t v)
{
	return guest(fx.p, vm, gpa, acc, D, v);
}

/*
 * §3.10 step 14c (base gfn differs -> MOVE), §3.11/§3.17 ("memslot
 * DELETE/MOVE: whole slot, all" mappings zapped): after a MOVE the old
 * GPA has no slot (shared access -> emulated MMIO, §3.13 step 4), the new
 * GPA reaches the same host memory, and the old stage-2 mappings are gone.
 */
static void test_move_plain_slot(void)
{
	struct hva_backing b;
	struct gm_guest_fault f;

	hva_backing_make(&b, 4 * PAGE);
	CU_ASSERT(t_store(fx.p, b.addr + PAGE + 3, 0x6a) == 0);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr));
	f = g_acc(fx.vm, GPA0 + PAGE + 3, GM_ACCESS_READ, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x6a);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1),
		  GM_SPTE_PRESENT | GM_SPTE_WRITABLE);

	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0 + 64 * PAGE, 4 * PAGE,
			    b.addr));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 1);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_stage2_pages, 0);
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0 + PAGE, GM_ACCESS_READ, 0),
		       GM_GUEST_MMIO);
	f = g_acc(fx.vm, GPA0 + 65 * PAGE + 3, GM_ACCESS_READ, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x6a);

	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §3.10 step 15: a MOVE whose GPA range overlaps another slot -> EEXIST
 * and nothing changes; overlapping only its own old range is no overlap
 * (kvm_check_memslot_overlap skips the slot being changed).
 */
static void test_move_overlap(void)
{
	struct hva_backing b;

	hva_backing_make(&b, 4 * PAGE);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr));
	GM_OK(__set_region1(fx.p, fx.vm, 2, 0, GPA0 + 8 * PAGE, 4 * PAGE,
			    b.addr));
	GM_ERR(__set_region1(fx.p, fx.vm, 1, 0, GPA0 + 6 * PAGE, 4 * PAGE,
			     b.addr),
	       -EEXIST);
	GM_ERR(__set_region1(fx.p, fx.vm, 1, 0, GPA0 + 11 * PAGE, 4 * PAGE,
			     b.addr),
	       -EEXIST);
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0), GM_GUEST_OK);
	/* onto [1, 5): overlaps only itself */
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0 + PAGE, 4 * PAGE, b.addr));
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0), GM_GUEST_MMIO);
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0 + 4 * PAGE, GM_ACCESS_READ, 0),
		       GM_GUEST_OK);
	GM_OK(__set_region1(fx.p, fx.vm, 2, 0, 0, 0, 0));
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §3.10 step 14b: on an existing slot a different userspace_addr or size,
 * or toggling READONLY -> EINVAL; step 14c: the same gfn with other flags
 * (LOG_DIRTY_PAGES on and off) is FLAGS_ONLY -> 0, and an identical
 * request -> 0; the slot keeps working throughout.
 */
static void test_flags_only_and_immutable_fields(void)
{
	struct hva_backing b;

	hva_backing_make(&b, 8 * PAGE);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr));
	GM_ERR(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr + PAGE),
	       -EINVAL);
	GM_ERR(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 8 * PAGE, b.addr),
	       -EINVAL);
	GM_ERR(__set_region1(fx.p, fx.vm, 1, KVM_MEM_READONLY, GPA0, 4 * PAGE,
			     b.addr),
	       -EINVAL);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr));
	GM_OK(__set_region1(fx.p, fx.vm, 1, KVM_MEM_LOG_DIRTY_PAGES, GPA0,
			    4 * PAGE, b.addr));
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0, GM_ACCESS_WRITE, 1), GM_GUEST_OK);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 4 * PAGE, b.addr));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 1);
	EXPECT_EQ(g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0).value, 1);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §3.10 step 18 (x86: gfn range beyond the MMU's max gfn -> EINVAL, for
 * CREATE and MOVE), with the host MAXPHYADDR of the config: 36 bits here.
 */
static void test_max_gfn_bounds_create_and_move(void)
{
	struct gm_config cfg;
	struct gm_host *h;
	struct gm_proc *p;
	struct gm_gmem_info gi;
	int kvm, vm, g;
	uint64_t a = 0;

	gm_config_init(&cfg);
	cfg.max_gpa_bits = 36;
	h = t_host_create(&cfg);
	p = gm_host_init_proc(h);
	kvm = GM_FD(gm_open_kvm(p));
	vm = GM_FD(gm_ioctl(p, kvm, KVM_CREATE_VM, 0));
	g = GM_FD(__gmem_create(p, vm, 4 * PAGE, FL_BOTH));
	GM_OK(gm_mmap(p, 4 * PAGE, RW, GMEM_MAP_SHARED, g, 0, &a));

	/* the last page below 64 GiB is fine, the next one is not */
	GM_OK(__set_region1(p, vm, 1, 0, (1ULL << 36) - PAGE, PAGE, a));
	GM_ERR(__set_region1(p, vm, 2, 0, 1ULL << 36, 2 * PAGE, a), -EINVAL);
	GM_ERR(__set_region2(p, vm, 3, KVM_MEM_GUEST_MEMFD,
			     (1ULL << 36) + 4 * PAGE, PAGE, 0, g, 0),
	       -EINVAL);
	GM_OK(gm_gmem_info(p, g, &gi));
	EXPECT_EQ(gi.nr_bindings, 0);
	GM_OK(__set_region1(p, vm, 2, 0, 0, 2 * PAGE, a));
	GM_ERR(__set_region1(p, vm, 2, 0, 1ULL << 36, 2 * PAGE, a), -EINVAL);
	GM_OK(__set_region1(p, vm, 2, 0, 1ULL << 35, 2 * PAGE, a));
	EXPECT_EQ(vm_info(p, vm).nr_memslots, 2);

	GM_OK(gm_munmap(p, a, 4 * PAGE));
	GM_OK(gm_close(p, g));
	GM_OK(gm_close(p, vm));
	GM_OK(gm_close(p, kvm));
	t_host_destroy(h);
}

/*
 * model.h gm_config.max_gpa_bits: the host MAXPHYADDR bounds the GPA; a
 * value past the 64-bit address width is taken as 63 bits, so a slot at
 * 2^62 fits and one reaching 2^63 does not.
 */
static void test_max_gpa_bits_clamped(void)
{
	struct gm_config cfg;
	struct gm_host *h;
	struct gm_proc *p;
	int kvm, vm;

	gm_config_init(&cfg);
	cfg.max_gpa_bits = 64;
	h = t_host_create(&cfg);
	p = gm_host_init_proc(h);
	kvm = GM_FD(gm_open_kvm(p));
	vm = GM_FD(gm_ioctl(p, kvm, KVM_CREATE_VM, 0));
	GM_OK(__set_region1(p, vm, 1, 0, 1ULL << 62, PAGE, 0));
	GM_ERR(__set_region1(p, vm, 2, 0, (1ULL << 63) - PAGE, 2 * PAGE, 0),
	       -EINVAL);
	GM_OK(gm_close(p, vm));
	GM_OK(gm_close(p, kvm));
	t_host_destroy(h);
}

/*
 * KVM api.rst on KVM_MEM_READONLY ("writes will be posted to userspace as
 * KVM_EXIT_MMIO exits"), §3.13 step 6: a guest write to a read-only plain
 * slot is an MMIO exit; a read maps the page without write permission.
 */
static void test_readonly_slot_write_is_mmio(void)
{
	struct hva_backing b;
	struct gm_guest_fault f;

	hva_backing_make(&b, 2 * PAGE);
	CU_ASSERT(t_store(fx.p, b.addr, 0x7c) == 0);
	GM_OK(__set_region1(fx.p, fx.vm, 1, KVM_MEM_READONLY, GPA0, 2 * PAGE,
			    b.addr));
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0, GM_ACCESS_WRITE, 9), GM_GUEST_MMIO);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	f = g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0x7c);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), GM_SPTE_PRESENT);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §3.13 step 6 (the hva path faults the page through the VMM's mapping):
 * a plain slot whose userspace_addr is not mapped -> KVM_RUN fails with
 * EFAULT; a host PTE is not needed (the fault makes one).
 */
static void test_hva_slot_without_mapping_efault(void)
{
	struct gm_guest_fault f;

	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 2 * PAGE, UADDR_ANON));
	f = g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EFAULT);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
}

/*
 * §3.10 step 16 (allocations -> ENOMEM) and step 19 (commit): many slots
 * can be created, in any id order; a creation whose allocations fail
 * leaves the table unchanged, and the same request then succeeds.
 */
static void test_many_slots_and_enomem(void)
{
	static const uint32_t ids[] = { 9,  3, 17, 1,  12, 5,  30, 7,
					22, 2, 15, 11, 8,  25, 4,  19 };
	struct hva_backing b;
	unsigned int failed = 0;
	long r = -ENOMEM;

	hva_backing_make(&b, PAGE);
	for (unsigned int i = 0; i < ARRAY_SIZE(ids); i++)
		GM_OK(__set_region1(fx.p, fx.vm, ids[i], 0,
				    GPA0 + ids[i] * PAGE, PAGE, b.addr));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, ARRAY_SIZE(ids));
	for (unsigned int i = 0; i < ARRAY_SIZE(ids); i++) {
		struct gm_guest_fault f =
			g_acc(fx.vm, GPA0 + ids[i] * PAGE, GM_ACCESS_READ, 0);

		if (f.outcome != GM_GUEST_OK)
			failed++;
	}
	EXPECT_EQ(failed, 0);

	/* the 17th slot grows the table: each allocation may fail */
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		gm_host_fail_alloc(fx.h, n);
		r = __set_region1(fx.p, fx.vm, 100, 0, GPA0 + 100 * PAGE, PAGE,
				  b.addr);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots,
			  ARRAY_SIZE(ids) + (r == 0));
	}
	EXPECT_EQ(r, 0);
	GM_OK(__set_region1(fx.p, fx.vm, 100, 0, 0, 0, 0));
	for (unsigned int i = 0; i < ARRAY_SIZE(ids); i++)
		GM_OK(__set_region1(fx.p, fx.vm, ids[i], 0, 0, 0, 0));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	hva_backing_free(&b);
}

/*
 * §3.12 effect step 2 ("Reserve storage for every gfn (ENOMEM possible;
 * nothing changed yet)"): with the allocation failing the attributes and
 * the stage-2 mappings stay as they were.
 */
static void test_vm_attributes_enomem(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	uint64_t seq0 = vm_info(fx.p, vm).mmu_invalidate_seq;

	gm_host_fail_alloc(fx.h, 1);
	GM_ERR(__set_attrs(fx.p, vm, GPA0, 4 * PAGE, PRIV, 0), -ENOMEM);
	gm_host_fail_alloc(fx.h, 0);
	EXPECT_EQ(attrs_of(fx.p, vm, GFN0), 0);
	EXPECT_EQ(vm_info(fx.p, vm).nr_attr_runs, 0);
	EXPECT_EQ(vm_info(fx.p, vm).mmu_invalidate_seq, seq0);
	GM_OK(__set_attrs(fx.p, vm, GPA0, 4 * PAGE, PRIV, 0));
	EXPECT_EQ(attrs_of(fx.p, vm, GFN0 + 3), PRIV);
	GM_OK(gm_close(fx.p, vm));
}

/*
 * §3.13 step 6 / §3.6 step 3 (a fault that cannot allocate -> ENOMEM):
 * the hva path's host fault fails, KVM_RUN returns ENOMEM and nothing is
 * mapped; the next access succeeds.
 */
static void test_hva_fault_enomem(void)
{
	struct hva_backing b;
	struct gm_guest_fault f;

	hva_backing_make(&b, 2 * PAGE);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 2 * PAGE, b.addr));
	gm_host_fail_alloc(fx.h, 1);
	f = g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0);
	gm_host_fail_alloc(fx.h, 0);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, ENOMEM);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	EXPECT_OUTCOME(g_acc(fx.vm, GPA0, GM_ACCESS_READ, 0), GM_GUEST_OK);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §3.13 step 7 (the mapping is installed at the end of the fault): when
 * installing it cannot allocate, the fault fails with ENOMEM and nothing
 * is mapped; the fault can be retried.
 */
static void test_fault_install_enomem(void)
{
	int g = gmem_create(64 * PAGE, FL_BOTH);
	struct gm_guest_fault f;
	long r = -ENOMEM;

	bind_slot(0, GPA0, 64 * PAGE, g, 0);
	/* four separate mappings fill the first stage-2 array */
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_OUTCOME(g_acc(fx.vm, GPA0 + 2 * i * PAGE, GM_ACCESS_READ,
				     0),
			       GM_GUEST_OK);
	for (unsigned long n = 1; n < 8 && r == -ENOMEM; n++) {
		memset(&f, 0, sizeof(f));
		f.gpa = GPA0 + 20 * PAGE;
		f.intent = D;
		GM_OK(gm_guest_fault_begin(fx.p, fx.vm, &f));
		gm_host_fail_alloc(fx.h, n);
		r = gm_guest_fault_finish(fx.p, fx.vm, &f);
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 20) != 0, r == 0);
	}
	EXPECT_EQ(r, 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * model.h: the guest and introspection calls take a VM fd: an fd that is
 * not open -> EBADF, another kind of file -> ENOTTY for the fault path
 * (an ioctl the file does not have) and EINVAL for introspection; finish
 * without begin and an unknown access kind -> EINVAL.
 */
static void test_vm_fd_calls_on_wrong_fds(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	struct gm_guest_fault f;
	struct gm_vm_info vi;
	unsigned int fl;
	uint64_t at;

	memset(&f, 0, sizeof(f));
	GM_ERR(gm_guest_fault_begin(fx.p, 999, &f), -EBADF);
	GM_ERR(gm_guest_fault_begin(fx.p, g, &f), -ENOTTY);
	GM_ERR(gm_guest_fault_finish(fx.p, 999, &f), -EBADF);
	GM_ERR(gm_guest_fault_finish(fx.p, fx.vm, &f), -EINVAL);
	f.access = GM_ACCESS_MAX;
	GM_ERR(gm_guest_fault_begin(fx.p, fx.vm, &f), -EINVAL);

	GM_ERR(gm_vm_info(fx.p, 999, &vi), -EBADF);
	GM_ERR(gm_vm_info(fx.p, g, &vi), -EINVAL);
	GM_ERR(gm_vm_stage2_flags(fx.p, 999, GFN0, &fl), -EBADF);
	GM_ERR(gm_vm_stage2_flags(fx.p, g, GFN0, &fl), -EINVAL);
	GM_ERR(gm_vm_attributes(fx.p, 999, GFN0, &at), -EBADF);
	GM_ERR(gm_vm_attributes(fx.p, g, GFN0, &at), -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A2 "VM ioctls are tied to the mm that created the VM" (EIO) also
 * for the fault path: a forked child cannot run the parent's VM.
 */
static void test_guest_access_from_child_eio(void)
{
	struct gm_proc *c = fx_fork();
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	GM_ERR(gm_guest_access(c, fx.vm, &f), -EIO);
	gm_proc_exit(c);
}

CU_TestInfo memslot_more_tests[] = {
	{ "test_move_plain_slot", test_move_plain_slot },
	{ "test_move_overlap", test_move_overlap },
	{ "test_flags_only_and_immutable_fields",
	  test_flags_only_and_immutable_fields },
	{ "test_max_gfn_bounds_create_and_move",
	  test_max_gfn_bounds_create_and_move },
	{ "test_max_gpa_bits_clamped", test_max_gpa_bits_clamped },
	{ "test_readonly_slot_write_is_mmio",
	  test_readonly_slot_write_is_mmio },
	{ "test_hva_slot_without_mapping_efault",
	  test_hva_slot_without_mapping_efault },
	{ "test_many_slots_and_enomem", test_many_slots_and_enomem },
	{ "test_vm_attributes_enomem", test_vm_attributes_enomem },
	{ "test_hva_fault_enomem", test_hva_fault_enomem },
	{ "test_fault_install_enomem", test_fault_install_enomem },
	{ "test_vm_fd_calls_on_wrong_fds", test_vm_fd_calls_on_wrong_fds },
	{ "test_guest_access_from_child_eio",
	  test_guest_access_from_child_eio },
	CU_TEST_INFO_NULL,
};
