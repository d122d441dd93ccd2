// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated host: configuration names, host creation, processes,
 * file-descriptor tables (fs/file.c alloc_fd / expand_files) and the
 * generic VFS checks of fs/open.c (do_sys_ftruncate, vfs_fallocate,
 * vfs_fstat) that run before or instead of guest_memfd's own.
 *
 * Each fd-table test makes a host of its own so the table starts empty.
 */
#include <string.h>

#include "test_util.h"

/* a host of the probe machine's kind, its first process */
static struct gm_host *new_host(struct gm_proc **p)
{
	struct gm_config cfg;
	struct gm_host *h;

	gm_config_init(&cfg);
	h = t_host_create(&cfg);
	*p = gm_host_init_proc(h);
	CU_ASSERT_FATAL(*p != NULL);
	return h;
}

/*
 * The CLI and traces name profiles and VM types (docs, trace-format.md);
 * each name parses back to its value, unknown names -> EINVAL, and an
 * out-of-range value prints as "?".  KVM_CREATE_VM type numbers are the
 * uapi's: arch/x86/include/uapi/asm/kvm.h KVM_X86_*_VM and arm64's
 * KVM_VM_TYPE_ARM_PROTECTED.
 */
static void test_profile_and_vm_type_names(void)
{
	static const unsigned long kvm_type[GM_VM_TYPE_MAX] = {
		[GM_VM_DEFAULT] = 0, [GM_VM_SW_PROTECTED] = 1, [GM_VM_SNP] = 4,
		[GM_VM_TDX] = 5,     [GM_VM_PKVM] = 1UL << 31,
	};
	enum gm_profile prof = GM_PROFILE_MAX;
	enum gm_vm_type type = GM_VM_TYPE_MAX;

	for (unsigned int i = 0; i < GM_PROFILE_MAX; i++) {
		GM_OK(gm_profile_parse(gm_profile_name(i), &prof));
		EXPECT_EQ(prof, i);
	}
	CU_ASSERT_STRING_EQUAL(gm_profile_name(GM_PROFILE_MAINLINE),
			       "mainline");
	CU_ASSERT_STRING_EQUAL(gm_profile_name(GM_PROFILE_INPLACE), "inplace");
	CU_ASSERT_STRING_EQUAL(gm_profile_name(GM_PROFILE_MAX), "?");
	GM_ERR(gm_profile_parse("linux-next", &prof), -EINVAL);
	GM_ERR(gm_profile_parse("", &prof), -EINVAL);

	for (unsigned int i = 0; i < GM_VM_TYPE_MAX; i++) {
		GM_OK(gm_vm_type_parse(gm_vm_type_name(i), &type));
		EXPECT_EQ(type, i);
		EXPECT_EQ(gm_vm_type_to_kvm(i), kvm_type[i]);
	}
	CU_ASSERT_STRING_EQUAL(gm_vm_type_name(GM_VM_TDX), "tdx");
	CU_ASSERT_STRING_EQUAL(gm_vm_type_name(GM_VM_TYPE_MAX), "?");
	CU_ASSERT_STRING_EQUAL(gm_vm_type_name((enum gm_vm_type) - 1), "?");
	GM_ERR(gm_vm_type_parse("sev", &type), -EINVAL);
}

/*
 * model.h gm_host_create: a config with an unknown profile or VM type
 * bit -> EINVAL and no host; gm_host_destroy(NULL) does nothing.
 */
static void test_host_create_rejects_bad_config(void)
{
	struct gm_config cfg;
	struct gm_host *h = (struct gm_host *)&cfg;

	gm_config_init(&cfg);
	cfg.profile = GM_PROFILE_MAX;
	GM_ERR(gm_host_create(&cfg, &h), -EINVAL);
	CU_ASSERT(h == NULL);
	gm_config_init(&cfg);
	cfg.vm_types = GM_VM_TYPES_ALL + 1;
	h = (struct gm_host *)&cfg;
	GM_ERR(gm_host_create(&cfg, &h), -EINVAL);
	CU_ASSERT(h == NULL);
	gm_host_destroy(NULL);
}

/*
 * model.h: the first process is pid 0; fork makes a new pid; the child's
 * fd table is a copy (same numbers, same open files).
 */
static void test_proc_pids_and_fork_fds(void)
{
	struct gm_proc *c;
	int g = gmem_create(PAGE, FL_BOTH);
	struct gm_stat st;

	EXPECT_EQ(gm_proc_pid(fx.p), 0);
	c = fx_fork();
	CU_ASSERT(gm_proc_pid(c) != 0);
	GM_OK(gm_fstat(c, g, &st));
	EXPECT_EQ(st.ino, fstat_of(g).ino);
	EXPECT_EQ(gmem_info(g).file_refs, 2);
	gm_proc_exit(c);
	EXPECT_EQ(gmem_info(g).file_refs, 1);
	GM_OK(gm_close(fx.p, g));
}

/*
 * fs/file.c alloc_fd(): the lowest free number, from 3 (0-2 are the
 * standard streams); the table grows past its first 16 and 32 entries;
 * a closed number is reused first; dup takes the lowest free number too
 * and shares the open file.
 */
static void test_fd_numbers_and_table_growth(void)
{
	struct gm_proc *p;
	struct gm_host *h = new_host(&p);
	int fds[50], d;

	for (unsigned int i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = gm_open_null(p);
		EXPECT_EQ(fds[i], 3 + i);
	}
	GM_OK(gm_close(p, 10));
	GM_OK(gm_close(p, 7));
	d = gm_dup(p, 20);
	EXPECT_EQ(d, 7);
	EXPECT_EQ(gm_open_null(p), 10);
	EXPECT_EQ(gm_open_null(p), 53);
	GM_ERR(gm_dup(p, 999), -EBADF);
	GM_ERR(gm_dup(p, -1), -EBADF);
	check_host(h);
	t_host_destroy(h);
}

/* Fill a fresh process's fd table so that the next fd needs it to grow. */
static void fill_fd_table(struct gm_proc *p)
{
	int fd;

	do {
		fd = gm_open_null(p);
	} while (fd >= 0 && fd < 15);
	EXPECT_EQ(fd, 15);
}

/*
 * Every call that installs an fd may fail with ENOMEM (fs/file.c
 * expand_files), after its other allocations (§3.2 step 4: "allocation
 * failures -> ENOMEM"): each allocation in turn fails, the call returns
 * ENOMEM and leaves the model holding what it held before; then the call
 * succeeds.
 */
static long op_open_null(struct gm_proc *p, int a, int b)
{
	(void)a;
	(void)b;
	return gm_open_null(p);
}

static long op_open_kvm(struct gm_proc *p, int a, int b)
{
	(void)a;
	(void)b;
	return gm_open_kvm(p);
}

static long op_memfd(struct gm_proc *p, int a, int b)
{
	(void)a;
	(void)b;
	return gm_memfd_create(p, 4 * PAGE);
}

static long op_dup(struct gm_proc *p, int a, int b)
{
	(void)b;
	return gm_dup(p, a);
}

static long op_create_vm(struct gm_proc *p, int a, int b)
{
	(void)b;
	return gm_ioctl(p, a, KVM_CREATE_VM, 0);
}

static long op_create_gmem(struct gm_proc *p, int a, int b)
{
	(void)a;
	return __gmem_create(p, b, 4 * PAGE, FL_BOTH);
}

static void test_fd_install_enomem(void)
{
	static const struct {
		const char *name;
		long (*op)(struct gm_proc *p, int kvm, int vm);
		unsigned long fails; /* allocations the call makes */
	} ops[] = {
		{ "open /dev/null", op_open_null, 2 },
		{ "open /dev/kvm", op_open_kvm, 2 },
		{ "memfd_create", op_memfd, 3 },
		{ "dup", op_dup, 1 },
		{ "KVM_CREATE_VM", op_create_vm, 3 },
		{ "KVM_CREATE_GUEST_MEMFD", op_create_gmem, 4 },
	};
	struct t_tally t = { 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++) {
		struct gm_proc *p;
		struct gm_host *h = new_host(&p);
		int kvm = GM_FD(gm_open_kvm(p));
		int vm = GM_FD(gm_ioctl(p, kvm, KVM_CREATE_VM, 0));
		long r = -ENOMEM;

		fill_fd_table(p);
		for (unsigned long n = 1; n <= ops[i].fails + 1; n++) {
			struct gm_mem_stats s0, s1;

			gm_host_mem_stats(h, &s0);
			gm_host_fail_alloc(h, n);
			r = ops[i].op(p, kvm, vm);
			gm_host_fail_alloc(h, 0);
			gm_host_mem_stats(h, &s1);
			check_host(h);
			if (n <= ops[i].fails) {
				t_tally_expect(&t, r, -ENOMEM, "%s, n=%lu",
					       ops[i].name, n);
				t_tally_expect(&t, (long)s1.cur_bytes,
					       (long)s0.cur_bytes,
					       "%s, n=%lu: memory", ops[i].name,
					       n);
			} else {
				t_tally_expect(&t, r, 16, "%s, n=%lu",
					       ops[i].name, n);
			}
		}
		t_host_destroy(h);
	}
	TALLY_DONE(&t, "fd install under allocation failure");
}

/*
 * kernel/fork.c copy_process(): a fork that cannot allocate its task or
 * its fd table (dup_fd) fails with ENOMEM, gives no child and frees what
 * it allocated (the bad_fork_* unwinding), so the model holds what it
 * held before.
 */
static void test_fork_process_enomem(void)
{
	struct gm_proc *c = (struct gm_proc *)&fx;
	size_t before = mem_cur(fx.h);

	gm_host_fail_alloc(fx.h, 1);
	GM_ERR(gm_proc_fork(fx.p, &c), -ENOMEM);
	gm_host_fail_alloc(fx.h, 0);
	CU_ASSERT(c == NULL);
	EXPECT_EQ(mem_cur(fx.h), before);
	c = (struct gm_proc *)&fx;
	gm_host_fail_alloc(fx.h, 2);
	GM_ERR(gm_proc_fork(fx.p, &c), -ENOMEM);
	gm_host_fail_alloc(fx.h, 0);
	CU_ASSERT(c == NULL);
	EXPECT_EQ(mem_cur(fx.h), before);
}

/*
 * fs/open.c do_sys_ftruncate(): a negative length -> EINVAL before the fd
 * is looked up; vfs_fstat with a bad buffer -> EFAULT (copy_to_user);
 * memfd_create + ftruncate beyond MAX_LFS_FILESIZE -> EINVAL.
 */
static void test_vfs_argument_checks(void)
{
	int g = gmem_create(PAGE, FL_BOTH);

	GM_ERR(gm_ftruncate(fx.p, 999, -1), -EINVAL);
	GM_ERR(gm_ftruncate(fx.p, g, -1), -EINVAL);
	GM_ERR(gm_ftruncate(fx.p, 999, 0), -EBADF);
	GM_ERR(gm_fstat(fx.p, g, NULL), -EFAULT);
	GM_ERR(gm_memfd_create(fx.p, 1ULL << 63), -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

/*
 * fs/open.c vfs_fallocate(): the modes are exclusive ("switch (mode &
 * FALLOC_FL_MODE_MASK) ... default: return -EOPNOTSUPP"): PUNCH_HOLE with
 * ZERO_RANGE, COLLAPSE with INSERT, PUNCH with COLLAPSE -> EOPNOTSUPP, on
 * a guest_memfd and on a memfd alike.
 */
static void test_fallocate_mixed_modes_eopnotsupp(void)
{
	static const int modes[] = {
		GMEM_FALLOC_FL_PUNCH_HOLE | GMEM_FALLOC_FL_ZERO_RANGE | KEEP,
		GMEM_FALLOC_FL_COLLAPSE_RANGE | GMEM_FALLOC_FL_INSERT_RANGE,
		GMEM_FALLOC_FL_PUNCH_HOLE | GMEM_FALLOC_FL_COLLAPSE_RANGE,
		GMEM_FALLOC_FL_UNSHARE_RANGE | GMEM_FALLOC_FL_ZERO_RANGE,
	};
	int g = gmem_create(4 * PAGE, FL_BOTH);
	int m = GM_FD(gm_memfd_create(fx.p, 4 * PAGE));

	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
		GM_ERR(gm_fallocate(fx.p, g, modes[i], 0, PAGE), -EOPNOTSUPP);
		GM_ERR(gm_fallocate(fx.p, m, modes[i], 0, PAGE), -EOPNOTSUPP);
	}
	GM_OK(gm_close(fx.p, m));
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo host_more_tests[] = {
	{ "test_profile_and_vm_type_names", test_profile_and_vm_type_names },
	{ "test_host_create_rejects_bad_config",
	  test_host_create_rejects_bad_config },
	{ "test_proc_pids_and_fork_fds", test_proc_pids_and_fork_fds },
	{ "test_fd_numbers_and_table_growth",
	  test_fd_numbers_and_table_growth },
	{ "test_fd_install_enomem", test_fd_install_enomem },
	{ "test_fork_process_enomem", test_fork_process_enomem },
	{ "test_vfs_argument_checks", test_vfs_argument_checks },
	{ "test_fallocate_mixed_modes_eopnotsupp",
	  test_fallocate_mixed_modes_eopnotsupp },
	CU_TEST_INFO_NULL,
};
