// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION(2) with guest_memfd: probe A10 (every row and
 * the error-order list); selftest V1-V4, P1-P7, O1-O4, X1
 * (upstream-semantics §4.2); §3.10, §3.11.
 *
 * The kernel suite runs on the probe machine's configuration (a type-0 VM,
 * only the DEFAULT type offered); the P and O rows need a SW_PROTECTED VM
 * (set_memory_region_test.c runs them only there) and run in the swprot
 * suite.
 *
 * Probe A10 rows not expressible: "uaddr in kernel space" is expressed as
 * an address above the x86-64 user limit; nothing else is skipped.
 */
#include "test_util.h"

#define SZ8 (8 * MiB)
#define SLOT_GMEM KVM_MEM_GUEST_MEMFD
#define UADDR_KERNEL 0xffff800000000000ULL

static long r2(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
	       uint64_t uaddr, int gfd, uint64_t off)
{
	return __set_region2(fx.p, fx.vm, slot, flags, gpa, size, uaddr, gfd,
			     off);
}

/* gmem-slot request with the usual uaddr */
static long g2(uint32_t slot, uint64_t gpa, uint64_t size, int gfd,
	       uint64_t off)
{
	return r2(slot, SLOT_GMEM, gpa, size, UADDR_ANON, gfd, off);
}

/* probe A10: slot0 gpa 0, 2 MiB, gmemA off 0 -> 0; slot1 on [2M, 4M) -> 0 */
static void test_bind_adjacent_ranges_ok(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_OK(g2(1, 4 * MiB, 2 * MiB, a, 2 * MiB));
	EXPECT_EQ(gmem_info(a).nr_bindings, 2);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 2);
	delete_slot(0);
	delete_slot(1);
	EXPECT_EQ(gmem_info(a).nr_bindings, 0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: a second slot overlapping a bound gmem range (partially,
 * identically, or by 1 page) -> EINVAL (6.18; EEXIST only after 7.0)
 */
static void test_bind_gmem_range_overlap_einval(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 0, 2 * MiB, a, 2 * MiB));
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a, 2 * MiB), -EINVAL);	/* identical */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a, MiB), -EINVAL);	/* partial */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a, 3 * MiB), -EINVAL);	/* partial */
	GM_ERR(g2(1, 16 * MiB, PAGE, a, 4 * MiB - PAGE), -EINVAL); /* 1 page */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a, 4 * MiB - PAGE), -EINVAL);
	GM_ERR(g2(1, 16 * MiB, 6 * MiB, a, 0), -EINVAL);	/* covers */
	/* the pages just outside are free */
	GM_OK(g2(1, 16 * MiB, 2 * MiB, a, 0));
	GM_OK(g2(2, 32 * MiB, 2 * MiB, a, 4 * MiB));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 3);
	delete_slot(0);
	delete_slot(1);
	delete_slot(2);
	GM_OK(gm_close(fx.p, a));
}

/* probe A10: a slot whose GPA overlaps an existing slot -> EEXIST */
static void test_bind_gpa_overlap_eexist(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 4 * MiB, 2 * MiB, a, 0));
	GM_ERR(g2(1, 4 * MiB, 2 * MiB, a, 2 * MiB), -EEXIST);
	GM_ERR(g2(1, 5 * MiB, 2 * MiB, a, 2 * MiB), -EEXIST);
	GM_ERR(g2(1, 3 * MiB, 2 * MiB, a, 2 * MiB), -EEXIST);
	GM_ERR(g2(1, 6 * MiB - PAGE, PAGE, a, 2 * MiB), -EEXIST);
	/* a plain slot overlapping it, too */
	GM_ERR(r2(1, 0, 5 * MiB, 2 * MiB, UADDR_ANON, -1, 0), -EEXIST);
	GM_OK(g2(1, 6 * MiB, 2 * MiB, a, 2 * MiB));
	delete_slot(0);
	delete_slot(1);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: gmem offset 4097 -> EINVAL; offset 4096 (not 2 MiB-aligned)
 * -> 0; gpa 16 MiB+4K with offset 0 -> 0 (no gpa/offset alignment rule)
 */
static void test_bind_offset_alignment(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_ERR(g2(0, 0, 2 * MiB, a, 4097), -EINVAL);
	GM_OK(g2(0, 0, 2 * MiB, a, 4096));
	GM_OK(g2(1, 16 * MiB + PAGE, 2 * MiB, a, 4 * MiB));
	delete_slot(0);
	delete_slot(1);
	GM_OK(g2(1, 16 * MiB + PAGE, 2 * MiB, a, 0));
	delete_slot(1);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: offset+size > file size, size > file, offset -4096,
 * offset 1<<63 -> EINVAL
 */
static void test_bind_range_past_file_einval(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_ERR(g2(0, 0, 2 * MiB, a, 7 * MiB), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, a, SZ8), -EINVAL);
	GM_ERR(g2(0, 0, 16 * MiB, a, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, a, (uint64_t)-4096), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, a, 1ULL << 63), -EINVAL);
	/* exactly the file */
	GM_OK(g2(0, 0, SZ8, a, 0));
	delete_slot(0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: memory_size 4097, gpa 4097, uaddr unaligned, uaddr in kernel
 * space, size 1<<44 -> EINVAL
 */
static void test_region_general_checks_einval(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int big = gmem_create(1ULL << 45, 0);

	GM_ERR(g2(0, 0, 4097, a, 0), -EINVAL);
	GM_ERR(g2(0, 4097, 2 * MiB, a, 0), -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM, 0, 2 * MiB, UADDR_ANON + 1, a, 0), -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM, 0, 2 * MiB, UADDR_KERNEL, a, 0), -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM, 0, 1ULL << 44, 0, big, 0), -EINVAL);
	/* and without the gmem flag */
	GM_ERR(r2(0, 0, 0, 4097, UADDR_ANON, -1, 0), -EINVAL);
	GM_ERR(r2(0, 0, 4097, 2 * MiB, UADDR_ANON, -1, 0), -EINVAL);
	GM_ERR(r2(0, 0, 0, 2 * MiB, UADDR_ANON + 1, -1, 0), -EINVAL);
	GM_ERR(r2(0, 0, 0, 2 * MiB, UADDR_KERNEL, -1, 0), -EINVAL);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	GM_OK(gm_close(fx.p, big));
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: gmem fd from another VM; memfd; /dev/null; /dev/kvm fd; VM fd
 * -> EINVAL
 */
static void test_bind_not_own_gmem_einval(void)
{
	int vm2 = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, 0));
	int other = GM_FD(__gmem_create(fx.p, vm2, SZ8, FL_BOTH));
	int mfd = GM_FD(gm_memfd_create(fx.p, SZ8));
	int nfd = GM_FD(gm_open_null(fx.p));

	GM_ERR(g2(0, 0, 2 * MiB, other, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, mfd, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, nfd, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, fx.kvm, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, fx.vm, 0), -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, vm2, 0), -EINVAL);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	EXPECT_EQ(gmem_info(other).nr_bindings, 0);
	GM_OK(gm_close(fx.p, nfd));
	GM_OK(gm_close(fx.p, mfd));
	GM_OK(gm_close(fx.p, other));
	GM_OK(gm_close(fx.p, vm2));
}

/* probe A10: fd 0xffffffff, fd 999 (not open), a closed fd number -> EBADF */
static void test_bind_bad_fd_ebadf(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int closed = gmem_create(SZ8, FL_BOTH);

	GM_OK(gm_close(fx.p, closed));
	GM_ERR(g2(0, 0, 2 * MiB, (int)0xffffffff, 0), -EBADF);
	GM_ERR(g2(0, 0, 2 * MiB, 999, 0), -EBADF);
	GM_ERR(g2(0, 0, 2 * MiB, closed, 0), -EBADF);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: GUEST_MEMFD|READONLY, GUEST_MEMFD|LOG_DIRTY_PAGES,
 * GUEST_MEMFD|(1<<3) -> EINVAL; selftest V3, V4.
 */
static void test_bind_bad_flags_einval(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_ERR(r2(0, SLOT_GMEM | KVM_MEM_READONLY, 0, 2 * MiB, UADDR_ANON, a,
		  0),
	       -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM | KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MiB,
		  UADDR_ANON, a, 0),
	       -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM | (1U << 3), 0, 2 * MiB, UADDR_ANON, a, 0),
	       -EINVAL);
	EXPECT_EQ(gmem_info(a).nr_bindings, 0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: uaddr = the gmem's own mmap -> 0; uaddr = 0 -> 0; gmem created
 * with flags 0 (not mmappable) -> 0
 */
static void test_bind_uaddr_and_flags0_ok(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int z = gmem_create(SZ8, 0);
	uint64_t m = map_shared(a, 2 * MiB, 0);

	GM_OK(r2(0, SLOT_GMEM, 0, 2 * MiB, m, a, 0));
	GM_OK(r2(1, SLOT_GMEM, 4 * MiB, 2 * MiB, 0, a, 2 * MiB));
	GM_OK(r2(2, SLOT_GMEM, 8 * MiB, 2 * MiB, UADDR_ANON, z, 0));
	EXPECT_EQ(gmem_info(z).nr_bindings, 1);
	delete_slot(0);
	delete_slot(1);
	delete_slot(2);
	GM_OK(gm_munmap(fx.p, m, 2 * MiB));
	GM_OK(gm_close(fx.p, z));
	GM_OK(gm_close(fx.p, a));
}

/* probe A10: 1 GiB slot at offset 1<<39 of a 1 TiB gmem -> 0 */
static void test_bind_1gib_slot_in_1tib_gmem(void)
{
	int a = gmem_create(TiB, FL_BOTH);

	GM_OK(g2(0, 4 * GiB, GiB, a, 1ULL << 39));
	EXPECT_EQ(gmem_info(a).nr_bindings, 1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, a));
}

/* probe A10: pad1 = 1, pad2[13] = 1 -> 0 (padding is ignored) */
static void test_bind_padding_ignored(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	struct kvm_userspace_memory_region2 r = {
		.slot = 0,
		.flags = SLOT_GMEM,
		.guest_phys_addr = 0,
		.memory_size = 2 * MiB,
		.userspace_addr = UADDR_ANON,
		.guest_memfd_offset = 0,
		.guest_memfd = (uint32_t)a,
		.pad1 = 1,
	};

	r.pad2[13] = 1;
	GM_OK(gm_ioctl(fx.p, fx.vm, KVM_SET_USER_MEMORY_REGION2,
		       (unsigned long)&r));
	delete_slot(0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: re-set an existing gmem slot with identical args; move gpa;
 * drop GUEST_MEMFD; set LOG_DIRTY; change offset -> EINVAL (§3.10 14a/b)
 */
static void test_gmem_slot_immutable(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_ERR(g2(0, 0, 2 * MiB, a, 0), -EINVAL);
	GM_ERR(g2(0, 16 * MiB, 2 * MiB, a, 0), -EINVAL);
	GM_ERR(r2(0, 0, 0, 2 * MiB, UADDR_ANON, a, 0), -EINVAL);
	GM_ERR(r2(0, SLOT_GMEM | KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MiB,
		  UADDR_ANON, a, 0),
	       -EINVAL);
	GM_ERR(r2(0, KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MiB, UADDR_ANON, a, 0),
	       -EINVAL);
	GM_ERR(g2(0, 0, 2 * MiB, a, 2 * MiB), -EINVAL);
	EXPECT_EQ(gmem_info(a).nr_bindings, 1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, a));
}

/* probe A10: fallocate punch/allocate on a bound range -> 0 */
static void test_fallocate_on_bound_range_ok(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_OK(gm_fallocate(fx.p, a, KEEP, 0, 2 * MiB));
	GM_OK(gm_fallocate(fx.p, a, PUNCH, 0, 2 * MiB));
	GM_OK(gm_fallocate(fx.p, a, KEEP, PAGE, PAGE));
	EXPECT_EQ(gmem_info(a).nr_bindings, 1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, a));
}

/*
 * probe A10: delete slot (size 0, flags GUEST_MEMFD or 0) then rebind the
 * same range -> 0 / 0 (§3.11: the range becomes bindable again)
 */
static void test_delete_and_rebind(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_OK(r2(0, SLOT_GMEM, 0, 0, 0, -1, 0));
	EXPECT_EQ(gmem_info(a).nr_bindings, 0);
	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_OK(r2(0, 0, 0, 0, 0, -1, 0));
	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	/* another slot id over the same gmem range after deleting */
	delete_slot(0);
	GM_OK(g2(5, 32 * MiB, 2 * MiB, a, 0));
	delete_slot(5);
	GM_OK(gm_close(fx.p, a));
}

/* §3.10 step 12: deleting a slot that does not exist -> EINVAL */
static void test_delete_missing_slot_einval(void)
{
	GM_ERR(r2(7, SLOT_GMEM, 0, 0, 0, -1, 0), -EINVAL);
	GM_ERR(r2(7, 0, 0, 0, 0, -1, 0), -EINVAL);
}

/*
 * probe A10: dup(gmemA) overlapping a range bound through the original ->
 * EINVAL; dup(gmemB) range, then the same range through the original gmemB
 * -> EINVAL (same binding table)
 */
static void test_dup_shares_binding_table(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int b = gmem_create(SZ8, FL_BOTH);
	int a2 = GM_FD(gm_dup(fx.p, a));
	int b2 = GM_FD(gm_dup(fx.p, b));

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a2, MiB), -EINVAL);
	GM_OK(g2(2, 32 * MiB, 2 * MiB, b2, 0));
	GM_ERR(g2(3, 48 * MiB, 2 * MiB, b, 0), -EINVAL);
	EXPECT_EQ(gmem_info(a2).nr_bindings, 1);
	EXPECT_EQ(gmem_info(b).nr_bindings, 1);
	delete_slot(0);
	delete_slot(2);
	GM_OK(gm_close(fx.p, a2));
	GM_OK(gm_close(fx.p, b2));
	GM_OK(gm_close(fx.p, a));
	GM_OK(gm_close(fx.p, b));
}

/*
 * probe A10: close the gmem while bound -> 0; deleting that slot -> 0;
 * re-creating the slot with another gmem -> 0 (§3.9: the slot stays)
 */
static void test_close_gmem_while_bound(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int b;

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	GM_OK(gm_close(fx.p, a));
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 1);
	/* the slot still occupies its GPA range */
	b = gmem_create(SZ8, FL_BOTH);
	GM_ERR(g2(1, 0, 2 * MiB, b, 0), -EEXIST);
	delete_slot(0);
	GM_OK(g2(0, 0, 2 * MiB, b, 0));
	delete_slot(0);
	GM_OK(gm_close(fx.p, b));
}

/* probe A10: slot 32763 / 32764 / address space 1 -> 0 / EINVAL / EINVAL */
static void test_slot_id_limits(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_OK(g2(32763, 0, 2 * MiB, a, 0));
	GM_ERR(g2(32764, 16 * MiB, 2 * MiB, a, 2 * MiB), -EINVAL);
	GM_ERR(g2(65535, 16 * MiB, 2 * MiB, a, 2 * MiB), -EINVAL);
	GM_ERR(g2(1U << 16, 16 * MiB, 2 * MiB, a, 2 * MiB), -EINVAL);
	GM_ERR(g2((1U << 16) | 5, 16 * MiB, 2 * MiB, a, 2 * MiB), -EINVAL);
	delete_slot(32763);
	GM_OK(gm_close(fx.p, a));
}

/* probe A10, selftest V1: v1 KVM_SET_USER_MEMORY_REGION with GUEST_MEMFD */
static void test_v1_rejects_guest_memfd_einval(void)
{
	GM_ERR(__set_region1(fx.p, fx.vm, 0, SLOT_GMEM, 0, 2 * MiB, UADDR_ANON),
	       -EINVAL);
}

/*
 * selftest V1: the v1 ioctl with each flag bit that is unsupported or
 * v2-only -> EINVAL; the supported ones (LOG_DIRTY_PAGES, READONLY: probe A1
 * READONLY_MEM = 1) create a slot.
 */
static void test_v1_flag_bits(void)
{
	struct t_tally t = { 0 };

	for (unsigned int b = 0; b < 32; b++) {
		long want = b <= 1 ? 0 : -EINVAL;
		long r = __set_region1(fx.p, fx.vm, 0, 1U << b, 0, 2 * MiB,
				       UADDR_ANON);

		check_host(fx.h);
		t_tally_expect(&t, r, want, "v1 flag bit %u", b);
		if (r == 0)
			GM_OK(__set_region1(fx.p, fx.vm, 0, 0, 0, 0, 0));
	}
	TALLY_DONE(&t, "selftest V1");
}

/*
 * selftest V2: the v2 ioctl with each unsupported flag bit (guest_memfd 0,
 * offset 0) -> EINVAL.  Bit 2 (GUEST_MEMFD) would bind fd 0 and is covered
 * elsewhere.
 */
static void test_v2_flag_bits(void)
{
	struct t_tally t = { 0 };

	for (unsigned int b = 0; b < 32; b++) {
		long want = b <= 1 ? 0 : -EINVAL;
		long r;

		if (b == 2)
			continue;
		r = r2(0, 1U << b, 0, 2 * MiB, UADDR_ANON, 0, 0);
		check_host(fx.h);
		t_tally_expect(&t, r, want, "v2 flag bit %u", b);
		if (r == 0)
			GM_OK(r2(0, 0, 0, 0, 0, 0, 0));
	}
	TALLY_DONE(&t, "selftest V2");
}

/*
 * probe A10: v1 plain slot (also READONLY) with uaddr = a gmem mmap -> 0;
 * region2 plain slot with a garbage guest_memfd/offset -> 0
 */
static void test_plain_slots_ok(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	uint64_t m = map_shared(a, 4 * MiB, 0);

	GM_OK(__set_region1(fx.p, fx.vm, 0, 0, 0, 2 * MiB, m));
	GM_OK(__set_region1(fx.p, fx.vm, 1, KVM_MEM_READONLY, 4 * MiB, 2 * MiB,
			    m + 2 * MiB));
	GM_OK(r2(2, 0, 8 * MiB, 2 * MiB, UADDR_ANON, 999, 12345));
	EXPECT_EQ(gmem_info(a).nr_bindings, 0);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 3);
	for (uint32_t s = 0; s < 3; s++)
		GM_OK(r2(s, 0, 0, 0, 0, -1, 0));
	GM_OK(gm_munmap(fx.p, m, 4 * MiB));
	GM_OK(gm_close(fx.p, a));
}

/* §3.10 step 1: NULL args -> EFAULT (v1 and v2) */
static void test_region_null_args_efault(void)
{
	GM_ERR(gm_ioctl(fx.p, fx.vm, KVM_SET_USER_MEMORY_REGION2, 0), -EFAULT);
	GM_ERR(gm_ioctl(fx.p, fx.vm, KVM_SET_USER_MEMORY_REGION, 0), -EFAULT);
}

/*
 * probe A10 error order: flags -> alignment -> slot id -> GPA overlap
 * (EEXIST) -> fd (EBADF / EINVAL) -> range vs size -> gmem-range overlap
 * (EINVAL); a GPA overlap combined with a gmem-range overlap -> EEXIST.
 */
static void test_region_error_order(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	int mfd = GM_FD(gm_memfd_create(fx.p, SZ8));

	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	/* 1: READONLY|GUEST_MEMFD with fd 999 -> EINVAL (not EBADF) */
	GM_ERR(r2(1, SLOT_GMEM | KVM_MEM_READONLY, 16 * MiB, 2 * MiB,
		  UADDR_ANON, 999, 0),
	       -EINVAL);
	/* 1 before 4: bad flags with a GPA overlap -> EINVAL */
	GM_ERR(r2(1, SLOT_GMEM | KVM_MEM_READONLY, 0, 2 * MiB, UADDR_ANON, a,
		  2 * MiB),
	       -EINVAL);
	/* 2 before 4: unaligned size with a GPA overlap -> EINVAL */
	GM_ERR(g2(1, 0, 4097, a, 2 * MiB), -EINVAL);
	/* 2 before 5: unaligned gmem offset with fd 999 -> EINVAL */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, 999, 4097), -EINVAL);
	/* 2 before 5: unaligned gpa with fd 999 -> EINVAL */
	GM_ERR(g2(1, 16 * MiB + 1, 2 * MiB, 999, 0), -EINVAL);
	/* 3 before 4/5: slot id 32764 with a GPA overlap / fd 999 -> EINVAL */
	GM_ERR(g2(32764, 0, 2 * MiB, a, 2 * MiB), -EINVAL);
	GM_ERR(g2(32764, 16 * MiB, 2 * MiB, 999, 0), -EINVAL);
	GM_ERR(g2(1U << 16, 16 * MiB, 2 * MiB, 999, 0), -EINVAL);
	/* 4 before 5: a GPA overlap with fd 999 -> EEXIST */
	GM_ERR(g2(1, MiB, 2 * MiB, 999, 0), -EEXIST);
	/* 5 before 6: fd 999 with a range past the file -> EBADF */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, 999, 1ULL << 40), -EBADF);
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, 999, 1ULL << 63), -EBADF);
	/* 5: not a gmem with a range past its size -> EINVAL */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, mfd, 1ULL << 40), -EINVAL);
	/* 6 before 7: past the file and overlapping a binding -> EINVAL */
	GM_ERR(g2(1, 16 * MiB, 16 * MiB, a, 0), -EINVAL);
	/* 7: gmem-range overlap alone -> EINVAL */
	GM_ERR(g2(1, 16 * MiB, 2 * MiB, a, MiB), -EINVAL);
	/* a GPA overlap combined with a gmem-range overlap -> EEXIST */
	GM_ERR(g2(1, MiB, 2 * MiB, a, MiB), -EEXIST);
	GM_ERR(g2(1, 0, 2 * MiB, a, 0), -EEXIST);
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 1);
	EXPECT_EQ(gmem_info(a).nr_bindings, 1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, mfd));
	GM_OK(gm_close(fx.p, a));
}

/*
 * selftest X1 (model-only, 6.18 column): a non-GPA-overlapping slot whose
 * gmem range overlaps an existing binding of the same file -> EINVAL on
 * 6.18 (probe A10); EEXIST only after 7.0.
 */
static void test_x1_gmem_overlap_is_einval_on_6_18(void)
{
	int a = gmem_create(SZ8, 0);

	GM_OK(g2(10, 3 * GiB, 4 * MiB, a, 0));
	GM_ERR(g2(11, 6 * GiB, 4 * MiB, a, 2 * MiB), -EINVAL);
	delete_slot(10);
	GM_OK(gm_close(fx.p, a));
}

/*
 * §5 invariant 12 / §3.10 step 17: binding never changes the file's
 * contents; §3.11: unbinding frees no memory and leaves host mappings.
 */
static void test_bind_unbind_keep_contents(void)
{
	int a = gmem_create(SZ8, FL_BOTH);
	uint64_t m = map_shared(a, 2 * MiB, 0);
	struct gm_gmem_info before;

	EXPECT_FILL(fx.p, m, 2 * PAGE, 0x3c);
	GM_OK(gm_fallocate(fx.p, a, KEEP, 4 * PAGE, 4 * PAGE));
	before = gmem_info(a);
	GM_OK(g2(0, 0, 2 * MiB, a, 0));
	EXPECT_EQ(gmem_info(a).nr_present, before.nr_present);
	EXPECT_EQ(gmem_info(a).nr_uptodate, before.nr_uptodate);
	delete_slot(0);
	EXPECT_EQ(gmem_info(a).nr_present, before.nr_present);
	EXPECT_EQ(gmem_info(a).nr_uptodate, before.nr_uptodate);
	EXPECT_BYTES(fx.p, m, 2 * PAGE, 0x3c);
	GM_OK(gm_munmap(fx.p, m, 2 * MiB));
	GM_OK(gm_close(fx.p, a));
}

/* §3.2 pre-dispatch: memslot ioctls on the /dev/kvm fd are not VM ioctls */
static void test_region_on_dev_kvm_einval(void)
{
	int a = gmem_create(SZ8, FL_BOTH);

	GM_ERR(__set_region2(fx.p, fx.kvm, 0, SLOT_GMEM, 0, 2 * MiB,
			     UADDR_ANON, a, 0),
	       -EINVAL);
	GM_OK(gm_close(fx.p, a));
}

CU_TestInfo memslot_tests[] = {
	{ "test_bind_adjacent_ranges_ok", test_bind_adjacent_ranges_ok },
	{ "test_bind_gmem_range_overlap_einval",
	  test_bind_gmem_range_overlap_einval },
	{ "test_bind_gpa_overlap_eexist", test_bind_gpa_overlap_eexist },
	{ "test_bind_offset_alignment", test_bind_offset_alignment },
	{ "test_bind_range_past_file_einval",
	  test_bind_range_past_file_einval },
	{ "test_region_general_checks_einval",
	  test_region_general_checks_einval },
	{ "test_bind_not_own_gmem_einval", test_bind_not_own_gmem_einval },
	{ "test_bind_bad_fd_ebadf", test_bind_bad_fd_ebadf },
	{ "test_bind_bad_flags_einval", test_bind_bad_flags_einval },
	{ "test_bind_uaddr_and_flags0_ok", test_bind_uaddr_and_flags0_ok },
	{ "test_bind_1gib_slot_in_1tib_gmem", test_bind_1gib_slot_in_1tib_gmem },
	{ "test_bind_padding_ignored", test_bind_padding_ignored },
	{ "test_gmem_slot_immutable", test_gmem_slot_immutable },
	{ "test_fallocate_on_bound_range_ok", test_fallocate_on_bound_range_ok },
	{ "test_delete_and_rebind", test_delete_and_rebind },
	{ "test_delete_missing_slot_einval", test_delete_missing_slot_einval },
	{ "test_dup_shares_binding_table", test_dup_shares_binding_table },
	{ "test_close_gmem_while_bound", test_close_gmem_while_bound },
	{ "test_slot_id_limits", test_slot_id_limits },
	{ "test_v1_rejects_guest_memfd_einval",
	  test_v1_rejects_guest_memfd_einval },
	{ "test_v1_flag_bits", test_v1_flag_bits },
	{ "test_v2_flag_bits", test_v2_flag_bits },
	{ "test_plain_slots_ok", test_plain_slots_ok },
	{ "test_region_null_args_efault", test_region_null_args_efault },
	{ "test_region_error_order", test_region_error_order },
	{ "test_x1_gmem_overlap_is_einval_on_6_18",
	  test_x1_gmem_overlap_is_einval_on_6_18 },
	{ "test_bind_unbind_keep_contents", test_bind_unbind_keep_contents },
	{ "test_region_on_dev_kvm_einval", test_region_on_dev_kvm_einval },
	CU_TEST_INFO_NULL,
};

/* ---- SW_PROTECTED VM: selftest P1-P7, O1-O4 ---- */

#define MR_GPA 0xC0000000ULL
#define MR_SIZE (2 * MiB)
#define MR_SLOT 10

/* selftest P1-P3: /dev/kvm fd, VM fd, a regular memfd as guest_memfd */
static void test_private_bind_non_gmem_einval(void)
{
	int mfd = GM_FD(gm_memfd_create(fx.p, MR_SIZE));

	GM_ERR(g2(MR_SLOT, MR_GPA, MR_SIZE, fx.kvm, 0), -EINVAL);	/* P1 */
	GM_ERR(g2(MR_SLOT, MR_GPA, MR_SIZE, fx.vm, 0), -EINVAL);	/* P2 */
	GM_ERR(g2(MR_SLOT, MR_GPA, MR_SIZE, mfd, 0), -EINVAL);		/* P3 */
	GM_OK(gm_close(fx.p, mfd));
}

/* selftest P4, P5: another VM's gmem -> EINVAL; in its own VM -> ok */
static void test_private_bind_other_vm_gmem(void)
{
	int vm2 = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				 gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	int g = GM_FD(__gmem_create(fx.p, vm2, MR_SIZE, 0));

	GM_ERR(g2(MR_SLOT, MR_GPA, MR_SIZE, g, 0), -EINVAL);		/* P4 */
	GM_OK(__set_region2(fx.p, vm2, MR_SLOT, SLOT_GMEM, MR_GPA, MR_SIZE,
			    UADDR_ANON, g, 0));				/* P5 */
	GM_OK(__set_region2(fx.p, vm2, MR_SLOT, SLOT_GMEM, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm2));
}

/* selftest P6, P7: offsets 1..PAGE-1 -> EINVAL each; offset 0 -> ok */
static void test_private_bind_offsets(void)
{
	int g = gmem_create(2 * MR_SIZE, 0);
	struct t_tally t = { 0 };

	for (uint64_t off = 1; off < PAGE; off++) {
		long r = g2(MR_SLOT, MR_GPA, MR_SIZE, g, off);

		check_host(fx.h);
		t_tally_expect(&t, r, -EINVAL, "offset %llu",
			       (unsigned long long)off);
		if (r == 0)
			delete_slot(MR_SLOT);
	}
	TALLY_DONE(&t, "selftest P6");
	GM_OK(g2(MR_SLOT, MR_GPA, MR_SIZE, g, 0));			/* P7 */
	delete_slot(MR_SLOT);
	GM_OK(gm_close(fx.p, g));
}

/*
 * selftest O1-O4: gmem(8 MiB); slot10 @3 GiB 4 MiB off 0, slot11 @6 GiB
 * 4 MiB off 4 MiB -> ok; delete slot10 -> ok; recreate slot10 @6 GiB-2 MiB
 * or @6 GiB+2 MiB, 4 MiB off 0 -> EEXIST (GPA overlap with slot11).
 */
static void test_private_overlapping_regions(void)
{
	int g = gmem_create(SZ8, 0);

	GM_OK(g2(10, 3 * GiB, 4 * MiB, g, 0));				/* O1 */
	GM_OK(g2(11, 6 * GiB, 4 * MiB, g, 4 * MiB));
	GM_OK(r2(10, SLOT_GMEM, 0, 0, 0, -1, 0));			/* O2 */
	GM_ERR(g2(10, 6 * GiB - 2 * MiB, 4 * MiB, g, 0), -EEXIST);	/* O3 */
	GM_ERR(g2(10, 6 * GiB + 2 * MiB, 4 * MiB, g, 0), -EEXIST);	/* O4 */
	delete_slot(11);
	GM_OK(gm_close(fx.p, g));
}

/* selftest V3, V4 on a SW_PROTECTED VM */
static void test_private_bind_bad_flags_einval(void)
{
	int g = gmem_create(MR_SIZE, 0);

	GM_ERR(r2(MR_SLOT, SLOT_GMEM | KVM_MEM_LOG_DIRTY_PAGES, MR_GPA,
		  MR_SIZE, UADDR_ANON, g, 0),
	       -EINVAL);
	GM_ERR(r2(MR_SLOT, SLOT_GMEM | KVM_MEM_READONLY, MR_GPA, MR_SIZE,
		  UADDR_ANON, g, 0),
	       -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo memslot_swprot_tests[] = {
	{ "test_private_bind_non_gmem_einval",
	  test_private_bind_non_gmem_einval },
	{ "test_private_bind_other_vm_gmem", test_private_bind_other_vm_gmem },
	{ "test_private_bind_offsets", test_private_bind_offsets },
	{ "test_private_overlapping_regions",
	  test_private_overlapping_regions },
	{ "test_private_bind_bad_flags_einval",
	  test_private_bind_bad_flags_einval },
	CU_TEST_INFO_NULL,
};
