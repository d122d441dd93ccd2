// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CREATE_GUEST_MEMFD and capabilities: probe A1, A2; selftest F1, M1,
 * S1 (upstream-semantics §4.1); §3.1, §3.2.
 *
 * Probe rows not expressible with the model API, and why:
 *  - "args unmapped -> EFAULT": the model takes a pointer it dereferences,
 *    there is no unmapped user memory; NULL (arg 0) is tested instead.
 *  - "new fd has FD_CLOEXEC: no": there is no fcntl(F_GETFD).
 *  - "forked child: ... EIO", "fallocate after VM fd closed": in
 *    test_lifetime.c.
 */
#include <string.h>

#include "test_util.h"

/* probe A2: size 0, 1, 4095, 4097, >= 1<<63, -4096, -1 -> EINVAL */
static void test_create_invalid_sizes_einval(void)
{
	static const uint64_t sizes[] = {
		0, 1, 4095, 4097, 1ULL << 63, (uint64_t)-4096, (uint64_t)-1,
		0x8000000000001000ULL,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++)
		GM_ERR(__gmem_create(fx.p, fx.vm, sizes[i], 0), -EINVAL);
}

/* probe A2: size 4096 ... 0x7ffffffffffff000 -> fd, fstat size = requested */
static void test_create_valid_sizes(void)
{
	static const uint64_t sizes[] = {
		4096, 8192, 2 * MiB, GiB, 1ULL << 40, 1ULL << 50, 1ULL << 62,
		0x7ffffffffffff000ULL,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		int fd = GM_FD(__gmem_create(fx.p, fx.vm, sizes[i], 0));

		EXPECT_EQ(fstat_of(fd).size, sizes[i]);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A2: flags 0, 1 (MMAP), 3 (MMAP|INIT_SHARED), 2 -> fd */
static void test_create_flags_accepted(void)
{
	static const uint64_t flags[] = { 0, FL_MMAP, FL_BOTH, FL_SHARED };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = GM_FD(__gmem_create(fx.p, fx.vm, 4096, flags[i]));

		EXPECT_EQ(gmem_info(fd).flags, flags[i]);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A2: flags 4, 5, 7, 8, 1<<8, 1<<32, 1<<63, ~0 -> EINVAL */
static void test_create_flags_rejected(void)
{
	static const uint64_t flags[] = {
		4, 5, 7, 8, 1ULL << 8, 1ULL << 32, 1ULL << 63, ~0ULL,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++)
		GM_ERR(__gmem_create(fx.p, fx.vm, 4096, flags[i]), -EINVAL);
}

/* probe A2: flags 2 (INIT_SHARED without MMAP) accepted; mmap -> ENODEV */
static void test_create_init_shared_without_mmap_not_mappable(void)
{
	int fd = gmem_create(2 * MiB, FL_SHARED);
	uint64_t addr = 0;

	GM_ERR(gm_mmap(fx.p, PAGE, RW, GMEM_MAP_SHARED, fd, 0, &addr),
	       -ENODEV);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A2: reserved[0] or reserved[5] non-zero -> accepted (ignored) */
static void test_create_reserved_ignored(void)
{
	for (unsigned int i = 0; i < 6; i++) {
		struct kvm_create_guest_memfd a = { .size = PAGE };
		int fd;

		a.reserved[i] = ~0ULL;
		fd = GM_FD(gm_ioctl(fx.p, fx.vm, KVM_CREATE_GUEST_MEMFD,
				    (unsigned long)&a));
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A2: ioctl on the /dev/kvm fd -> EINVAL */
static void test_create_on_dev_kvm_einval(void)
{
	GM_ERR(__gmem_create(fx.p, fx.kvm, PAGE, 0), -EINVAL);
}

/* probe A2: ioctl on a memfd -> ENOTTY */
static void test_create_on_memfd_enotty(void)
{
	int mfd = GM_FD(gm_memfd_create(fx.p, 2 * MiB));

	GM_ERR(__gmem_create(fx.p, mfd, PAGE, 0), -ENOTTY);
	GM_OK(gm_close(fx.p, mfd));
}

/* probe A2: args NULL -> EFAULT */
static void test_create_null_args_efault(void)
{
	GM_ERR(gm_ioctl(fx.p, fx.vm, KVM_CREATE_GUEST_MEMFD, 0), -EFAULT);
}

/* probe A2: ioctl number encoding a 16-byte struct -> ENOTTY */
static void test_create_wrong_ioctl_size_enotty(void)
{
	struct kvm_create_guest_memfd a = { .size = PAGE };
	unsigned long cmd = GMEM_IOC(3U, KVMIO, 0xd4, 16);

	GM_ERR(gm_ioctl(fx.p, fx.vm, cmd, (unsigned long)&a), -ENOTTY);
}

/*
 * selftest F1: for every single bit b, gmem(PAGE, 1<<b) succeeds iff b is
 * in the VM's KVM_CAP_GUEST_MEMFD_FLAGS (probe A1: 3 on a type-0 VM).
 */
static void __test_flag_bits(uint64_t want_cap)
{
	struct t_tally t = { 0 };
	long cap = check_ext(fx.p, fx.vm, KVM_CAP_GUEST_MEMFD_FLAGS);

	EXPECT_EQ(cap, want_cap);
	for (unsigned int b = 0; b < 64; b++) {
		long r = __gmem_create(fx.p, fx.vm, PAGE, 1ULL << b);

		check_host(fx.h);
		if (r >= 0) {
			t_tally_expect(&t, 0, (want_cap >> b) & 1 ? 0 : -EINVAL,
				       "flag bit %u", b);
			GM_OK(gm_close(fx.p, (int)r));
		} else {
			t_tally_expect(&t, r, (want_cap >> b) & 1 ? 0 : -EINVAL,
				       "flag bit %u", b);
		}
	}
	TALLY_DONE(&t, "single flag bits");
}

static void test_create_single_flag_bits(void)
{
	__test_flag_bits(FL_BOTH);
}

/* selftest M1: gmem(PAGE) then gmem(2*PAGE); sizes kept, inodes differ */
static void test_create_multiple(void)
{
	int fd1 = gmem_create(PAGE, 0);
	int fd2 = gmem_create(2 * PAGE, 0);
	struct gm_stat s1 = fstat_of(fd1), s2 = fstat_of(fd2);

	EXPECT_EQ(s1.size, PAGE);
	EXPECT_EQ(s2.size, 2 * PAGE);
	EXPECT_EQ(fstat_of(fd1).size, PAGE);
	CU_ASSERT(s1.ino != s2.ino);
	GM_OK(gm_close(fx.p, fd2));
	GM_OK(gm_close(fx.p, fd1));
}

/* selftest S1: gmem(s, flags) for s = 1..PAGE-1 -> EINVAL, each flags set */
static void test_create_sizes_below_page_einval(void)
{
	static const uint64_t flags[] = { 0, FL_MMAP, FL_BOTH };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		struct t_tally t = { 0 };

		for (uint64_t s = 1; s < PAGE; s++) {
			long r = __gmem_create(fx.p, fx.vm, s, flags[i]);

			check_host(fx.h);
			t_tally_expect(&t, r, -EINVAL, "size %llu flags %llu",
				       (unsigned long long)s,
				       (unsigned long long)flags[i]);
			if (r >= 0)
				GM_OK(gm_close(fx.p, (int)r));
		}
		TALLY_DONE(&t, "sizes 1..PAGE-1");
	}
}

/* §3.2: a new gmem holds nothing; probe A3: st_blocks 0 */
static void test_create_allocates_nothing(void)
{
	int fd = gmem_create(1ULL << 40, FL_BOTH);
	struct gm_gmem_info i = gmem_info(fd);

	EXPECT_EQ(i.size, 1ULL << 40);
	EXPECT_EQ(i.flags, FL_BOTH);
	EXPECT_EQ(i.nr_present, 0);
	EXPECT_EQ(i.nr_uptodate, 0);
	EXPECT_EQ(i.nr_bindings, 0);
	EXPECT_EQ(i.nr_files, 1);
	EXPECT_EQ(i.file_refs, 1);
	CU_ASSERT(i.vm_alive);
	EXPECT_EQ(fstat_of(fd).blocks, 0);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A1: capability values on the /dev/kvm fd */
static void __test_caps(int fd)
{
	static const struct {
		long cap;
		long val;
	} caps[] = {
		{ KVM_CAP_GUEST_MEMFD, 1 },
		{ KVM_CAP_GUEST_MEMFD_FLAGS, 3 },
		{ KVM_CAP_USER_MEMORY2, 1 },
		{ KVM_CAP_MEMORY_FAULT_INFO, 1 },
		{ KVM_CAP_MEMORY_ATTRIBUTES, 0 },
		{ KVM_CAP_VM_TYPES, 1 },
		{ KVM_CAP_PRE_FAULT_MEMORY, 0 },
		{ KVM_CAP_NR_MEMSLOTS, 32764 },
		{ KVM_CAP_MULTI_ADDRESS_SPACE, 0 },
		{ KVM_CAP_READONLY_MEM, 1 },
	};
	struct t_tally t = { 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(caps); i++)
		t_tally_expect(&t, check_ext(fx.p, fd, caps[i].cap),
			       caps[i].val, "cap %ld", caps[i].cap);
	check_host(fx.h);
	TALLY_DONE(&t, "capabilities");
}

static void test_caps_dev_kvm(void)
{
	__test_caps(fx.kvm);
}

/* probe A1: the same values on a type-0 VM fd */
static void test_caps_vm(void)
{
	__test_caps(fx.vm);
}

/* probe A1: KVM_CREATE_VM with type 1..5 -> EINVAL on a DEFAULT-only KVM */
static void test_create_vm_types_not_offered_einval(void)
{
	for (unsigned long type = 1; type <= 5; type++)
		GM_ERR(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, type), -EINVAL);
}

/* uapi: KVM_GET_API_VERSION -> KVM_API_VERSION (12) */
static void test_api_version(void)
{
	GM_VAL(gm_ioctl(fx.p, fx.kvm, KVM_GET_API_VERSION, 0),
	       KVM_API_VERSION);
}

/* probe A2 "64 x 1 TiB on one VM all succeed": nothing is reserved */
static void test_create_64_times_1tib(void)
{
	int fds[64];
	size_t before = mem_cur(fx.h);

	for (unsigned int i = 0; i < 64; i++)
		fds[i] = gmem_create(TiB, FL_BOTH);
	/* no per-page state: well under 64 KiB per file */
	CU_ASSERT(mem_cur(fx.h) - before < 64 * 64 * KiB);
	for (unsigned int i = 0; i < 64; i++)
		GM_OK(gm_close(fx.p, fds[i]));
}

CU_TestInfo create_tests[] = {
	{ "test_create_invalid_sizes_einval", test_create_invalid_sizes_einval },
	{ "test_create_valid_sizes", test_create_valid_sizes },
	{ "test_create_flags_accepted", test_create_flags_accepted },
	{ "test_create_flags_rejected", test_create_flags_rejected },
	{ "test_create_init_shared_without_mmap_not_mappable",
	  test_create_init_shared_without_mmap_not_mappable },
	{ "test_create_reserved_ignored", test_create_reserved_ignored },
	{ "test_create_on_dev_kvm_einval", test_create_on_dev_kvm_einval },
	{ "test_create_on_memfd_enotty", test_create_on_memfd_enotty },
	{ "test_create_null_args_efault", test_create_null_args_efault },
	{ "test_create_wrong_ioctl_size_enotty",
	  test_create_wrong_ioctl_size_enotty },
	{ "test_create_single_flag_bits", test_create_single_flag_bits },
	{ "test_create_multiple", test_create_multiple },
	{ "test_create_sizes_below_page_einval",
	  test_create_sizes_below_page_einval },
	{ "test_create_allocates_nothing", test_create_allocates_nothing },
	{ "test_caps_dev_kvm", test_caps_dev_kvm },
	{ "test_caps_vm", test_caps_vm },
	{ "test_create_vm_types_not_offered_einval",
	  test_create_vm_types_not_offered_einval },
	{ "test_api_version", test_api_version },
	{ "test_create_64_times_1tib", test_create_64_times_1tib },
	CU_TEST_INFO_NULL,
};

/* ---- every VM type offered (gm_config_init default) ---- */

static long vm_of(enum gm_vm_type type)
{
	return gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, gm_vm_type_to_kvm(type));
}

/* §3.1 matrix: KVM_CAP_GUEST_MEMFD_FLAGS per VM type and on /dev/kvm */
static void test_caps_flags_per_vm_type(void)
{
	static const struct {
		enum gm_vm_type type;
		long flags;
	} rows[] = {
		{ GM_VM_DEFAULT, 3 },	{ GM_VM_SW_PROTECTED, 1 },
		{ GM_VM_SNP, 1 },	{ GM_VM_TDX, 1 },
		{ GM_VM_PKVM, 3 },
	};

	GM_VAL(check_ext(fx.p, fx.kvm, KVM_CAP_GUEST_MEMFD_FLAGS), 3);
	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		int vm = GM_FD(vm_of(rows[i].type));

		GM_VAL(check_ext(fx.p, vm, KVM_CAP_GUEST_MEMFD_FLAGS),
		       rows[i].flags);
		/* §6: KVM_CAP_GUEST_MEMFD is 1 from 6.18 on, any VM */
		GM_VAL(check_ext(fx.p, vm, KVM_CAP_GUEST_MEMFD), 1);
		GM_OK(gm_close(fx.p, vm));
	}
}

/* §1, §3.1: KVM_CAP_MEMORY_ATTRIBUTES: PRIVATE on /dev/kvm and private VMs */
static void test_caps_memory_attributes_per_vm_type(void)
{
	static const struct {
		enum gm_vm_type type;
		long attrs;
	} rows[] = {
		{ GM_VM_DEFAULT, 0 },
		{ GM_VM_SW_PROTECTED, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ GM_VM_SNP, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ GM_VM_TDX, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ GM_VM_PKVM, 0 },
	};

	GM_VAL(check_ext(fx.p, fx.kvm, KVM_CAP_MEMORY_ATTRIBUTES),
	       KVM_MEMORY_ATTRIBUTE_PRIVATE);
	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		int vm = GM_FD(vm_of(rows[i].type));

		GM_VAL(check_ext(fx.p, vm, KVM_CAP_MEMORY_ATTRIBUTES),
		       rows[i].attrs);
		GM_OK(gm_close(fx.p, vm));
	}
}

/* selftest F1 on a SW_PROTECTED VM: only MMAP (§3.1: flags cap 0x1) */
static void test_create_single_flag_bits_sw_protected(void)
{
	int vm = GM_FD(vm_of(GM_VM_SW_PROTECTED));
	int def = fx.vm;

	fx.vm = vm;
	__test_flag_bits(FL_MMAP);
	fx.vm = def;
	GM_OK(gm_close(fx.p, vm));
}

/* §3.2 step 2: INIT_SHARED on a VM with private memory -> EINVAL */
static void test_create_init_shared_on_private_vm_einval(void)
{
	static const enum gm_vm_type types[] = {
		GM_VM_SW_PROTECTED, GM_VM_SNP, GM_VM_TDX,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		int vm = GM_FD(vm_of(types[i]));
		int fd;

		GM_ERR(__gmem_create(fx.p, vm, PAGE, FL_BOTH), -EINVAL);
		GM_ERR(__gmem_create(fx.p, vm, PAGE, FL_SHARED), -EINVAL);
		fd = GM_FD(__gmem_create(fx.p, vm, PAGE, FL_MMAP));
		GM_OK(gm_close(fx.p, fd));
		fd = GM_FD(__gmem_create(fx.p, vm, PAGE, 0));
		GM_OK(gm_close(fx.p, fd));
		GM_OK(gm_close(fx.p, vm));
	}
}

/* §6 (6.18 column): creating a gmem fd is not VM-type-gated (flags 0) */
static void test_create_every_vm_type_gets_gmem(void)
{
	for (unsigned int t = 0; t < GM_VM_TYPE_MAX; t++) {
		int vm = GM_FD(vm_of((enum gm_vm_type)t));
		int fd = GM_FD(__gmem_create(fx.p, vm, 2 * MiB, 0));

		EXPECT_EQ(fstat_of(fd).size, 2 * MiB);
		GM_OK(gm_close(fx.p, fd));
		GM_OK(gm_close(fx.p, vm));
	}
}

CU_TestInfo create_all_tests[] = {
	{ "test_caps_flags_per_vm_type", test_caps_flags_per_vm_type },
	{ "test_caps_memory_attributes_per_vm_type",
	  test_caps_memory_attributes_per_vm_type },
	{ "test_create_single_flag_bits_sw_protected",
	  test_create_single_flag_bits_sw_protected },
	{ "test_create_init_shared_on_private_vm_einval",
	  test_create_init_shared_on_private_vm_einval },
	{ "test_create_every_vm_type_gets_gmem",
	  test_create_every_vm_type_gets_gmem },
	CU_TEST_INFO_NULL,
};
