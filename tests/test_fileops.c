// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd as a file: probe A3; selftest R1, Z1 (upstream-semantics
 * §4.1); §3.4.
 *
 * Probe A3 rows not expressible with the model API, and why:
 *  - fstatfs f_type, F_GETFL / F_SETFL, F_GET_SEALS / F_ADD_SEALS, flock:
 *    no fstatfs / fcntl / flock entry points.
 *  - splice, readahead, fadvise, sendfile, fdatasync, syncfs, fchown,
 *    futimens: no such entry points (fsync and fchmod stand for them).
 *  - readlink /proc/self/fd/N, /proc/self/fdinfo/N, open("/proc/self/fd/N")
 *    (ENXIO) and O_PATH: the model has no procfs.
 *  - /proc/self/maps name and VmFlags of a mapping: no procfs.
 *  - st_nlink, st_uid: struct gm_stat does not carry them.
 */
#include <string.h>

#include "test_util.h"

#define FIONREAD_CMD 0x541BUL
#define FS_IOC_GETFLAGS_CMD 0x80086601UL	/* _IOR('f', 1, long) */

#define SEEK_DATA_ 3
#define SEEK_HOLE_ 4

static const uint64_t all_flags[] = { 0, FL_MMAP, FL_BOTH };

/* probe A3: fstat size, st_mode 0100600, st_blksize 4096, st_blocks 0 */
static void test_fstat_fields(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	struct gm_stat st = fstat_of(fd);

	EXPECT_EQ(st.size, 2 * MiB);
	EXPECT_EQ(st.mode, 0100600);
	EXPECT_EQ(st.blksize, 4096);
	EXPECT_EQ(st.blocks, 0);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: st_blocks = 0 always, also after allocating (A4: and writing) */
static void test_fstat_blocks_zero_after_allocate(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t addr;

	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 2 * MiB));
	EXPECT_EQ(fstat_of(fd).blocks, 0);
	addr = map_shared(fd, 2 * MiB, 0);
	EXPECT_FILL(fx.p, addr + 5 * PAGE, 16, 0x77);
	EXPECT_EQ(fstat_of(fd).blocks, 0);
	EXPECT_EQ(fstat_of(fd).size, 2 * MiB);
	GM_OK(gm_munmap(fx.p, addr, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* selftest Z1: st_size = 4*PAGE, st_blksize = PAGE, for every flags set */
static void test_file_size(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(all_flags); i++) {
		int fd = gmem_create(4 * PAGE, all_flags[i]);
		struct gm_stat st = fstat_of(fd);

		EXPECT_EQ(st.size, 4 * PAGE);
		EXPECT_EQ(st.blksize, PAGE);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A3: lseek SET/CUR/END/DATA/HOLE -> ESPIPE (every whence) */
static void test_lseek_espipe(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);

	for (int whence = 0; whence <= SEEK_HOLE_; whence++) {
		GM_ERR(gm_lseek(fx.p, fd, 0, whence), -ESPIPE);
		GM_ERR(gm_lseek(fx.p, fd, PAGE, whence), -ESPIPE);
	}
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: read / write -> EINVAL; selftest R1: < 0, every flags set */
static void test_read_write_einval(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(all_flags); i++) {
		int fd = gmem_create(4 * PAGE, all_flags[i]);
		char buf[64];

		memset(buf, 0xaa, sizeof(buf));
		GM_ERR(gm_read(fx.p, fd, buf, sizeof(buf)), -EINVAL);
		GM_ERR(gm_write(fx.p, fd, buf, sizeof(buf)), -EINVAL);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A3: pread / pwrite -> ESPIPE; selftest R1: < 0, every flags set */
static void test_pread_pwrite_espipe(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(all_flags); i++) {
		int fd = gmem_create(4 * PAGE, all_flags[i]);
		char buf[64];

		memset(buf, 0xaa, sizeof(buf));
		GM_ERR(gm_pread(fx.p, fd, buf, sizeof(buf), 0), -ESPIPE);
		GM_ERR(gm_pwrite(fx.p, fd, buf, sizeof(buf), 0), -ESPIPE);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A3: fsync -> EINVAL */
static void test_fsync_einval(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);

	GM_ERR(gm_fsync(fx.p, fd), -EINVAL);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: ftruncate grow / shrink / same size / 0 -> EINVAL */
static void test_ftruncate_einval(void)
{
	static const int64_t lens[] = { 4 * MiB, MiB, 2 * MiB, 0 };
	int fd = gmem_create(2 * MiB, FL_BOTH);

	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++)
		GM_ERR(gm_ftruncate(fx.p, fd, lens[i]), -EINVAL);
	EXPECT_EQ(fstat_of(fd).size, 2 * MiB);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: fchmod -> EINVAL (§3.4: setattr rejects everything) */
static void test_fchmod_einval(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);

	GM_ERR(gm_fchmod(fx.p, fd, 0600), -EINVAL);
	GM_ERR(gm_fchmod(fx.p, fd, 0644), -EINVAL);
	EXPECT_EQ(fstat_of(fd).mode, 0100600);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: ioctl FIONREAD / FS_IOC_GETFLAGS / KVM_* on the gmem fd -> ENOTTY */
static void test_ioctl_on_gmem_enotty(void)
{
	struct kvm_create_guest_memfd c = { .size = PAGE };
	struct kvm_userspace_memory_region2 r = { 0 };
	struct kvm_memory_attributes a = { .size = PAGE };
	long v = 0;
	int fd = gmem_create(2 * MiB, FL_BOTH);

	GM_ERR(gm_ioctl(fx.p, fd, FIONREAD_CMD, (unsigned long)&v), -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, FS_IOC_GETFLAGS_CMD, (unsigned long)&v),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, KVM_CREATE_GUEST_MEMFD, (unsigned long)&c),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, KVM_SET_USER_MEMORY_REGION2,
			(unsigned long)&r),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, KVM_SET_MEMORY_ATTRIBUTES, (unsigned long)&a),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD),
	       -ENOTTY);
	GM_ERR(gm_ioctl(fx.p, fd, KVM_CREATE_VM, 0), -ENOTTY);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A3: dup shares the inode; closing the dup leaves the original usable */
static void test_dup_shares_inode(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	int fd2 = GM_FD(gm_dup(fx.p, fd));
	struct gm_gmem_info i;

	CU_ASSERT(fd2 != fd);
	EXPECT_EQ(fstat_of(fd2).ino, fstat_of(fd).ino);
	i = gmem_info(fd2);
	EXPECT_EQ(i.nr_files, 1);
	EXPECT_EQ(i.file_refs, 2);
	GM_OK(gm_close(fx.p, fd2));
	EXPECT_EQ(gmem_info(fd).file_refs, 1);
	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, PAGE));
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, 0, PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* §3.4 / probe A3: file ops on a closed gmem fd -> EBADF */
static void test_fileops_on_closed_fd_ebadf(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	struct gm_stat st;
	char buf[8];

	GM_OK(gm_close(fx.p, fd));
	GM_ERR(gm_close(fx.p, fd), -EBADF);
	GM_ERR(gm_fstat(fx.p, fd, &st), -EBADF);
	GM_ERR(gm_read(fx.p, fd, buf, sizeof(buf)), -EBADF);
	GM_ERR(gm_fallocate(fx.p, fd, KEEP, 0, PAGE), -EBADF);
	GM_ERR(gm_ftruncate(fx.p, fd, 0), -EBADF);
	GM_ERR(gm_dup(fx.p, fd), -EBADF);
}

CU_TestInfo fileops_tests[] = {
	{ "test_fstat_fields", test_fstat_fields },
	{ "test_fstat_blocks_zero_after_allocate",
	  test_fstat_blocks_zero_after_allocate },
	{ "test_file_size", test_file_size },
	{ "test_lseek_espipe", test_lseek_espipe },
	{ "test_read_write_einval", test_read_write_einval },
	{ "test_pread_pwrite_espipe", test_pread_pwrite_espipe },
	{ "test_fsync_einval", test_fsync_einval },
	{ "test_ftruncate_einval", test_ftruncate_einval },
	{ "test_fchmod_einval", test_fchmod_einval },
	{ "test_ioctl_on_gmem_enotty", test_ioctl_on_gmem_enotty },
	{ "test_dup_shares_inode", test_dup_shares_inode },
	{ "test_fileops_on_closed_fd_ebadf", test_fileops_on_closed_fd_ebadf },
	CU_TEST_INFO_NULL,
};
