// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes: close / dup / fork, release of the gmem file, the VM kept
 * alive by its gmem files.  Probe A2 (fork and VM-fd rows), A3 (dup), A7
 * (fork); selftest H3 of §4.3; §2.3, §3.9.
 *
 * Not expressible: SCM_RIGHTS fd passing, FD_CLOEXEC across exec (no exec
 * in the model), O_PATH reopen.
 */
#include <string.h>

#include "test_util.h"

#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)

/*
 * §3.9 / §2.3: closing the fd while an mmap exists does not release the
 * file (the VMA holds it): fallocate still works through a dup, the data
 * stays reachable; munmap of the last mapping then releases it.
 */
static void test_close_mmapped_gmem_keeps_file_alive(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	int d = GM_FD(gm_dup(fx.p, g));
	uint64_t a = map_shared(g, 2 * MiB, 0);
	unsigned int refs0 = vm_info(fx.p, fx.vm).refs;

	EXPECT_EQ(gmem_info(g).file_refs, 3);	/* two fds + the VMA */
	EXPECT_FILL(fx.p, a, 8, 0x4d);
	GM_OK(gm_close(fx.p, g));
	EXPECT_EQ(gmem_info(d).file_refs, 2);
	GM_OK(gm_fallocate(fx.p, d, KEEP, PAGE, PAGE));
	GM_OK(gm_fallocate(fx.p, d, PUNCH, 2 * PAGE, PAGE));
	GM_OK(gm_close(fx.p, d));
	/* only the VMA is left: the file is alive, the data reachable */
	EXPECT_EQ(vm_info(fx.p, fx.vm).refs, refs0);
	EXPECT_BYTES(fx.p, a, 8, 0x4d);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	/* released: the VM lost the file's reference */
	EXPECT_EQ(vm_info(fx.p, fx.vm).refs, refs0 - 1);
}

/*
 * §3.9 steps 1-3: the release after the last munmap unbinds the slot
 * (guest faults then fail with EFAULT) and zaps its stage-2 mappings.
 */
static void test_munmap_last_reference_releases_binding(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);
	struct gm_guest_fault f;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_WRITE,
			     GM_INTENT_DEFAULT, 2),
		       GM_GUEST_OK);
	GM_OK(gm_close(fx.p, g));
	/* still bound through the live file */
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 2);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0), 0);
	f = guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ, GM_INTENT_DEFAULT, 0);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EFAULT);
	delete_slot(0);
}

/*
 * probe A2 "fallocate on a gmem after its VM fd was closed: works";
 * selftest H3 (§4.3): PUNCH the whole gmem then allocate it; §2.3: the VM
 * lives until its last gmem file is released.
 */
static void test_gmem_keeps_vm_alive(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	uint64_t a;

	bind_slot(0, GPA0, 4 * MiB, g, 0);
	GM_OK(gm_close(fx.p, fx.vm));
	fx.vm = -1;
	CU_ASSERT(gmem_info(g).vm_alive);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 4 * MiB));
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 4 * MiB));
	EXPECT_EQ(gmem_info(g).nr_present, 1024);
	a = map_shared(g, 4 * MiB, 0);
	EXPECT_FILL(fx.p, a + MiB, 4, 0x88);
	EXPECT_BYTES(fx.p, a + MiB, 4, 0x88);
	GM_OK(gm_munmap(fx.p, a, 4 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.3: closing the VM fd and then the gmem frees everything of both
 * (compared after one identical warm-up round, so that capacity the host
 * keeps, like its fd table, is part of the baseline).
 */
static void vm_gmem_round(size_t *alive)
{
	struct kvm_create_guest_memfd c = { .size = 2 * MiB, .flags = FL_BOTH };
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, 0));
	int g = GM_FD(gm_ioctl(fx.p, vm, KVM_CREATE_GUEST_MEMFD,
			       (unsigned long)&c));

	GM_OK(__set_region2(fx.p, vm, 3, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB, 0,
			    g, 0));
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 2 * MiB));
	EXPECT_OUTCOME(guest(fx.p, vm, GPA0, GM_ACCESS_WRITE,
			     GM_INTENT_DEFAULT, 1),
		       GM_GUEST_OK);
	GM_OK(gm_close(fx.p, vm));
	*alive = mem_cur(fx.h);
	GM_OK(gm_close(fx.p, g));
}

static void test_close_vm_then_gmem_frees_all(void)
{
	size_t before, alive;

	vm_gmem_round(&alive);
	before = mem_cur(fx.h);
	vm_gmem_round(&alive);
	CU_ASSERT(alive > before);	/* the gmem kept the VM alive */
	EXPECT_EQ(mem_cur(fx.h), before);
}

/* probe A3: closing the dup leaves the original usable (and vice versa) */
static void test_close_dup_keeps_original(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	int d = GM_FD(gm_dup(fx.p, g));

	GM_OK(gm_close(fx.p, d));
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	d = GM_FD(gm_dup(fx.p, g));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_fallocate(fx.p, d, PUNCH, 0, PAGE));
	EXPECT_EQ(gmem_info(d).file_refs, 1);
	GM_OK(gm_close(fx.p, d));
}

/* probe A2: forked child: fallocate / mmap+write on an inherited gmem fd */
static void test_fork_child_fallocate_and_mmap(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	struct gm_proc *c = fx_fork();
	uint64_t a = 0, b;

	GM_OK(gm_fallocate(c, g, KEEP, 0, 4 * PAGE));
	GM_OK(gm_fallocate(c, g, PUNCH, PAGE, PAGE));
	GM_OK(gm_mmap(c, 2 * MiB, RW, GMEM_MAP_SHARED, g, 0, &a));
	EXPECT_FILL(c, a + 2 * PAGE, 16, 0x6c);
	/* the parent sees the child's data through its own mapping */
	b = map_shared(g, 2 * MiB, 0);
	EXPECT_BYTES(fx.p, b + 2 * PAGE, 16, 0x6c);
	GM_OK(gm_munmap(c, a, 2 * MiB));
	GM_OK(gm_munmap(fx.p, b, 2 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A2: forked child: CREATE_GUEST_MEMFD or CHECK_EXTENSION on the
 * parent's VM fd -> EIO; §3.2 pre-dispatch: every VM ioctl from another
 * mm -> EIO; model.h: a guest access from another process -> EIO.
 */
static void test_fork_child_vm_ioctl_eio(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	struct gm_proc *c = fx_fork();
	struct gm_guest_fault f;

	GM_ERR(__gmem_create(c, fx.vm, PAGE, 0), -EIO);
	GM_ERR(check_ext(c, fx.vm, KVM_CAP_GUEST_MEMFD), -EIO);
	GM_ERR(__set_region2(c, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			     0, g, 0),
	       -EIO);
	GM_ERR(__set_attrs(c, fx.vm, GPA0, PAGE, 0, 0), -EIO);
	memset(&f, 0, sizeof(f));
	f.gpa = GPA0;
	GM_ERR(gm_guest_access(c, fx.vm, &f), -EIO);
	/* the /dev/kvm fd is not tied to an mm */
	GM_VAL(check_ext(c, fx.kvm, KVM_CAP_GUEST_MEMFD), 1);
	/* nothing happened in the parent's VM */
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §2.3: fds are per process: the child's close does not affect the
 * parent; the file lives until the last reference of either goes.
 */
static void test_fork_child_close_keeps_parent_fd(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	struct gm_proc *c = fx_fork();

	EXPECT_EQ(gmem_info(g).file_refs, 2);
	GM_OK(gm_close(c, g));
	EXPECT_EQ(gmem_info(g).file_refs, 1);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	GM_ERR(gm_fallocate(c, g, KEEP, 0, PAGE), -EBADF);
	GM_OK(gm_close(fx.p, g));
}

/*
 * gm_proc_exit: the child's exit closes its fds and unmaps its mappings;
 * the parent's objects are unaffected.
 */
static void test_proc_exit_closes_child_refs(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	struct gm_proc *c = fx_fork();
	uint64_t a = 0;

	GM_OK(gm_mmap(c, 2 * MiB, RW, GMEM_MAP_SHARED, g, 0, &a));
	EXPECT_FILL(c, a, 4, 0x17);
	EXPECT_EQ(gmem_info(g).file_refs, 3);
	gm_proc_exit(c);
	check_host(fx.h);
	EXPECT_EQ(gmem_info(g).file_refs, 1);
	EXPECT_EQ(gmem_info(g).nr_uptodate, 1);
	GM_OK(gm_close(fx.p, g));
}

/* §2.3: closing /dev/kvm does not affect VMs made through it */
static void test_close_dev_kvm_keeps_vm(void)
{
	int g;

	GM_OK(gm_close(fx.p, fx.kvm));
	fx.kvm = -1;
	g = gmem_create(2 * MiB, FL_BOTH);
	bind_slot(0, GPA0, 2 * MiB, g, 0);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * house-style rule 16: a create / bind / fault / unbind / close cycle
 * frees what it made: after one warm-up round the model's memory and live
 * allocation count are the same after every further round.
 */
static void lifecycle_round(void)
{
	int g = gmem_create(4 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 4 * MiB, 0);
	int d = GM_FD(gm_dup(fx.p, g));

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	bind_slot(1, GPA0 + 2 * MiB, 2 * MiB, d, 2 * MiB);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 8 * PAGE));
	EXPECT_FILL(fx.p, a + 3 * PAGE, 2, 0x5f);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0 + 2 * MiB, GM_ACCESS_WRITE,
			     GM_INTENT_DEFAULT, 1),
		       GM_GUEST_OK);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, 4 * PAGE));
	delete_slot(0);
	delete_slot(1);
	GM_OK(gm_munmap(fx.p, a, 4 * MiB));
	GM_OK(gm_close(fx.p, d));
	GM_OK(gm_close(fx.p, g));
}

static void test_lifecycle_frees_what_it_made(void)
{
	struct gm_mem_stats s0, s;

	lifecycle_round();
	gm_host_mem_stats(fx.h, &s0);
	for (int i = 0; i < 3; i++) {
		lifecycle_round();
		gm_host_mem_stats(fx.h, &s);
		EXPECT_EQ(s.cur_bytes, s0.cur_bytes);
		EXPECT_EQ(s.nr_live, s0.nr_live);
	}
}

CU_TestInfo lifetime_tests[] = {
	{ "test_close_mmapped_gmem_keeps_file_alive",
	  test_close_mmapped_gmem_keeps_file_alive },
	{ "test_munmap_last_reference_releases_binding",
	  test_munmap_last_reference_releases_binding },
	{ "test_gmem_keeps_vm_alive", test_gmem_keeps_vm_alive },
	{ "test_close_vm_then_gmem_frees_all",
	  test_close_vm_then_gmem_frees_all },
	{ "test_close_dup_keeps_original", test_close_dup_keeps_original },
	{ "test_fork_child_fallocate_and_mmap",
	  test_fork_child_fallocate_and_mmap },
	{ "test_fork_child_vm_ioctl_eio", test_fork_child_vm_ioctl_eio },
	{ "test_fork_child_close_keeps_parent_fd",
	  test_fork_child_close_keeps_parent_fd },
	{ "test_proc_exit_closes_child_refs", test_proc_exit_closes_child_refs },
	{ "test_close_dev_kvm_keeps_vm", test_close_dev_kvm_keeps_vm },
	{ "test_lifecycle_frees_what_it_made",
	  test_lifecycle_frees_what_it_made },
	CU_TEST_INFO_NULL,
};
