// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated host: configuration, processes, file descriptors and the
 * generic VFS file operations (fs/read_write.c, fs/open.c, fs/ioctl.c) that
 * run before or instead of guest_memfd's own.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define GM_FD_FIRST 3		/* 0-2 are the standard streams */
#define GM_FD_MAX 1048576	/* RLIMIT_NOFILE hard cap (nr_open) */

static const char *const gm_profile_names[GM_PROFILE_MAX] = {
	[GM_PROFILE_MAINLINE] = "mainline",
	[GM_PROFILE_INPLACE] = "inplace",
	[GM_PROFILE_HUGETLB] = "hugetlb",
};

static const char *const gm_vm_type_names[GM_VM_TYPE_MAX] = {
	[GM_VM_DEFAULT] = "default",
	[GM_VM_SW_PROTECTED] = "sw_protected",
	[GM_VM_SNP] = "snp",
	[GM_VM_TDX] = "tdx",
	[GM_VM_PKVM] = "pkvm",
};

void gm_config_init(struct gm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->profile = GM_PROFILE_MAINLINE;
	cfg->vm_types = GM_VM_TYPES_ALL;
	cfg->vm_attributes = -1;
	/* the trace contract's default pool: 2M:1024,1G:64 */
	cfg->hugetlb_pool_2m = 1024;
	cfg->hugetlb_pool_1g = 64;
	cfg->policy = GM_POLICY_EAGER;
	cfg->lazy_ops = 8;
}

const char *gm_profile_name(enum gm_profile profile)
{
	if ((unsigned int)profile >= GM_PROFILE_MAX)
		return "?";
	return gm_profile_names[profile];
}

int gm_profile_parse(const char *name, enum gm_profile *profile)
{
	unsigned int i;

	for (i = 0; i < GM_PROFILE_MAX; i++) {
		if (!strcmp(name, gm_profile_names[i])) {
			*profile = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *gm_vm_type_name(enum gm_vm_type type)
{
	if ((unsigned int)type >= GM_VM_TYPE_MAX)
		return "?";
	return gm_vm_type_names[type];
}

int gm_vm_type_parse(const char *name, enum gm_vm_type *type)
{
	unsigned int i;

	for (i = 0; i < GM_VM_TYPE_MAX; i++) {
		if (!strcmp(name, gm_vm_type_names[i])) {
			*type = i;
			return 0;
		}
	}
	return -EINVAL;
}

unsigned long gm_vm_type_to_kvm(enum gm_vm_type type)
{
	switch (type) {
	case GM_VM_SW_PROTECTED:
		return KVM_X86_SW_PROTECTED_VM;
	case GM_VM_SNP:
		return KVM_X86_SNP_VM;
	case GM_VM_TDX:
		return KVM_X86_TDX_VM;
	case GM_VM_PKVM:
		return KVM_VM_TYPE_ARM_PROTECTED;
	default:
		return KVM_X86_DEFAULT_VM;
	}
}

static int gm_proc_alloc(struct gm_host *h, struct gm_proc **out)
{
	struct gm_proc *p;

	p = gm_zalloc(host_alloc(h), sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->host = h;
	p->pid = h->next_pid++;
	p->next = h->procs;
	h->procs = p;
	*out = p;
	return 0;
}

int gm_host_create(const struct gm_config *cfg, struct gm_host **out)
{
	struct gm_proc *p;
	struct gm_host *h;
	unsigned int private_types;
	int ret;

	*out = NULL;
	if ((unsigned int)cfg->profile >= GM_PROFILE_MAX ||
	    cfg->vm_types & ~GM_VM_TYPES_ALL ||
	    (unsigned int)cfg->policy >= GM_POLICY_MAX)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->next_ino = 1;
	h->pool_free[0] = cfg->hugetlb_pool_2m;
	h->pool_free[1] = cfg->hugetlb_pool_1g;
	private_types = (1U << GM_VM_SW_PROTECTED) | (1U << GM_VM_SNP) |
			(1U << GM_VM_TDX);
	if (cfg->vm_attributes < 0)
		h->vm_attributes = cfg->vm_types & private_types;
	else
		h->vm_attributes = cfg->vm_attributes;
	ret = gm_proc_alloc(h, &p);
	if (ret) {
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

struct gm_proc *gm_host_init_proc(struct gm_host *h)
{
	struct gm_proc *p;

	for (p = h->procs; p; p = p->next)
		if (p->pid == 0)
			return p;
	return NULL;
}

unsigned int gm_proc_pid(const struct gm_proc *p)
{
	return p->pid;
}

void get_file(struct gm_file *file)
{
	file->f_count++;
}

struct gm_file *gm_file_alloc(struct gm_host *h, enum gm_file_kind kind)
{
	struct gm_file *file = gm_zalloc(host_alloc(h), sizeof(*file));

	if (!file)
		return NULL;
	file->f_kind = kind;
	file->f_count = 1;
	file->f_ino = h->next_ino++;
	return file;
}

/* __fput(): the last reference is gone, run ->release. */
static void __fput(struct gm_host *h, struct gm_file *file)
{
	switch (file->f_kind) {
	case GM_FILE_VM:
		kvm_put_kvm(h, file->private_data);
		break;
	case GM_FILE_GMEM:
		kvm_gmem_release(h, file->private_data);
		break;
	case GM_FILE_MEMFD:
		shmem_inode_free(h, file->private_data);
		break;
	default:
		break;
	}
	gm_free(host_alloc(h), file);
}

void fput(struct gm_host *h, struct gm_file *file)
{
	if (--file->f_count == 0)
		__fput(h, file);
}

struct gm_file *fget(struct gm_proc *p, int fd)
{
	if (fd < 0 || (unsigned int)fd >= p->nr_fds)
		return NULL;
	return p->fds[fd];
}

/* Takes over the caller's reference; lowest free number, like the kernel. */
int fd_install(struct gm_proc *p, struct gm_file *file)
{
	struct gm_host *h = p->host;
	struct gm_file **fds;
	unsigned int fd, nr;

	for (fd = GM_FD_FIRST; fd < p->nr_fds; fd++)
		if (!p->fds[fd])
			goto found;
	if (p->nr_fds >= GM_FD_MAX)
		return -EMFILE;
	nr = p->nr_fds ? p->nr_fds * 2 : 16;
	fds = gm_realloc(host_alloc(h), p->fds, nr * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	p->fds = fds;
	p->nr_fds = nr;
found:
	p->fds[fd] = file;
	return (int)fd;
}

static int gm_open_kind(struct gm_proc *p, enum gm_file_kind kind,
			uint64_t size)
{
	struct gm_file *file;
	int fd;

	file = gm_file_alloc(p->host, kind);
	if (!file)
		return -ENOMEM;
	file->f_size = size;
	fd = fd_install(p, file);
	if (fd < 0)
		fput(p->host, file);
	return fd;
}

int gm_open_kvm(struct gm_proc *p)
{
	return gm_open_kind(p, GM_FILE_KVM_DEV, 0);
}

int gm_open_null(struct gm_proc *p)
{
	return gm_open_kind(p, GM_FILE_NULL, 0);
}

/* memfd_create() + ftruncate(size) */
int gm_memfd_create(struct gm_proc *p, uint64_t size)
{
	struct gmem_inode *inode;
	struct gm_file *file;
	int fd, ret;

	if (size > (uint64_t)GM_LLONG_MAX)
		return -EINVAL;
	ret = shmem_inode_create(p->host, size, &inode);
	if (ret)
		return ret;
	file = gm_file_alloc(p->host, GM_FILE_MEMFD);
	if (!file) {
		shmem_inode_free(p->host, inode);
		return -ENOMEM;
	}
	file->f_size = size;
	file->private_data = inode;
	fd = fd_install(p, file);
	if (fd < 0)
		fput(p->host, file);
	return fd;
}

int gm_close(struct gm_proc *p, int fd)
{
	struct gm_file *file = fget(p, fd);

	if (!file)
		return -EBADF;
	p->fds[fd] = NULL;
	fput(p->host, file);
	return 0;
}

int gm_dup(struct gm_proc *p, int fd)
{
	struct gm_file *file = fget(p, fd);
	int nfd;

	if (!file)
		return -EBADF;
	get_file(file);
	nfd = fd_install(p, file);
	if (nfd < 0)
		fput(p->host, file);
	return nfd;
}

/* A child that never ran: undo gm_proc_alloc() entirely. */
static void gm_proc_free(struct gm_proc *c)
{
	struct gm_host *h = c->host;
	struct gm_proc **pp;

	gm_proc_exit(c);
	for (pp = &h->procs; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	gm_free(host_alloc(h), c);
}

int gm_proc_fork(struct gm_proc *parent, struct gm_proc **child)
{
	struct gm_host *h = parent->host;
	struct gm_proc *c;
	unsigned int fd;
	int ret;

	*child = NULL;
	ret = gm_proc_alloc(h, &c);
	if (ret)
		return ret;
	if (parent->nr_fds) {
		c->fds = gm_zalloc(host_alloc(h),
				   parent->nr_fds * sizeof(*c->fds));
		if (!c->fds) {
			ret = -ENOMEM;
			goto err_proc;
		}
		c->nr_fds = parent->nr_fds;
		for (fd = 0; fd < parent->nr_fds; fd++) {
			c->fds[fd] = parent->fds[fd];
			if (c->fds[fd])
				get_file(c->fds[fd]);
		}
	}
	ret = gm_proc_dup_mmap(parent, c);
	if (ret)
		goto err_proc;
	*child = c;
	return 0;

err_proc:
	gm_proc_free(c);
	return ret;
}

void gm_proc_exit(struct gm_proc *p)
{
	unsigned int fd;

	gm_proc_unmap_all(p);
	for (fd = 0; fd < p->nr_fds; fd++)
		if (p->fds[fd])
			gm_close(p, (int)fd);
	gm_free(host_alloc(p->host), p->fds);
	p->fds = NULL;
	p->nr_fds = 0;
}

void gm_host_destroy(struct gm_host *h)
{
	struct gm_proc *p, *next;

	if (!h)
		return;
	for (p = h->procs; p; p = p->next)
		gm_proc_exit(p);
	for (p = h->procs; p; p = next) {
		next = p->next;
		gm_free(host_alloc(h), p);
	}
	free(h);
}

void gm_host_mem_stats(const struct gm_host *h, struct gm_mem_stats *st)
{
	st->cur_bytes = h->alloc.cur;
	st->peak_bytes = h->alloc.peak;
	st->nr_live = h->alloc.nr_live;
	st->nr_allocs = h->alloc.nr_allocs;
}

void gm_host_fail_alloc(struct gm_host *h, unsigned long nth)
{
	h->alloc.fail_nth = nth;
}

/* ---- generic file operations ---- */

/*
 * guest_memfd, the VM file and /dev/kvm have no read/write methods: the VFS
 * answers EINVAL.  None is seekable (FMODE_LSEEK is not set on anon inodes
 * and pseudo files), so positional I/O and lseek answer ESPIPE.
 */
long gm_read(struct gm_proc *p, int fd, void *buf, size_t len)
{
	struct gm_file *file = fget(p, fd);

	(void)buf;
	(void)len;
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_NULL)
		return 0;
	if (file->f_kind == GM_FILE_MEMFD)
		return 0;
	return -EINVAL;
}

long gm_write(struct gm_proc *p, int fd, const void *buf, size_t len)
{
	struct gm_file *file = fget(p, fd);

	(void)buf;
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_NULL || file->f_kind == GM_FILE_MEMFD)
		return (long)len;
	return -EINVAL;
}

long gm_pread(struct gm_proc *p, int fd, void *buf, size_t len, int64_t off)
{
	struct gm_file *file;

	(void)buf;
	(void)len;
	/* ksys_pread64(): the position before the fd */
	if (off < 0)
		return -EINVAL;
	file = fget(p, fd);
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_NULL || file->f_kind == GM_FILE_MEMFD)
		return 0;
	return -ESPIPE;
}

long gm_pwrite(struct gm_proc *p, int fd, const void *buf, size_t len,
	       int64_t off)
{
	struct gm_file *file;

	(void)buf;
	if (off < 0)
		return -EINVAL;
	file = fget(p, fd);
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_NULL || file->f_kind == GM_FILE_MEMFD)
		return (long)len;
	return -ESPIPE;
}

int64_t gm_lseek(struct gm_proc *p, int fd, int64_t off, int whence)
{
	struct gm_file *file = fget(p, fd);

	(void)off;
	(void)whence;
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_NULL)
		return 0;
	if (file->f_kind == GM_FILE_MEMFD)
		return off < 0 ? -EINVAL : off;
	return -ESPIPE;
}

/* kvm_gmem_setattr() rejects every attribute change. */
int gm_ftruncate(struct gm_proc *p, int fd, int64_t len)
{
	struct gm_file *file;

	/* do_sys_ftruncate(): the length before the fd */
	if (len < 0)
		return -EINVAL;
	file = fget(p, fd);
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_MEMFD) {
		struct gmem_inode *inode = file->private_data;
		uint64_t pages = ((uint64_t)len + PAGE_SIZE - 1) >> PAGE_SHIFT;
		int ret = shmem_truncate_range(p->host, inode, pages,
					       UINT64_MAX);

		if (ret)
			return ret;
		file->f_size = (uint64_t)len;
		inode->i_size = pages << PAGE_SHIFT;
		return 0;
	}
	return -EINVAL;
}

int gm_fchmod(struct gm_proc *p, int fd, unsigned int mode)
{
	struct gm_file *file = fget(p, fd);

	(void)mode;
	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_GMEM)
		return -EINVAL;
	return 0;
}

/* No ->fsync method: vfs_fsync_range() answers EINVAL. */
int gm_fsync(struct gm_proc *p, int fd)
{
	struct gm_file *file = fget(p, fd);

	if (!file)
		return -EBADF;
	if (file->f_kind == GM_FILE_MEMFD)
		return 0;
	return -EINVAL;
}

int gm_fstat(struct gm_proc *p, int fd, struct gm_stat *st)
{
	struct gm_file *file = fget(p, fd);
	struct gmem_file *f;

	if (!file)
		return -EBADF;
	if (!st)
		return -EFAULT;
	memset(st, 0, sizeof(*st));
	st->blksize = PAGE_SIZE;
	st->ino = file->f_ino;
	st->mode = 0600;
	switch (file->f_kind) {
	case GM_FILE_GMEM:
		f = file->private_data;
		st->size = f->inode->i_size;
		st->ino = f->inode->i_ino;
		st->mode = 0100600;	/* S_IFREG | 0600 */
		st->blocks = 0;		/* probe A3: always 0 */
		break;
	case GM_FILE_MEMFD:
		st->size = file->f_size;
		st->mode = 0100777;
		break;
	case GM_FILE_KVM_DEV:
	case GM_FILE_NULL:
		st->mode = 0020666;	/* S_IFCHR */
		break;
	default:
		break;
	}
	return 0;
}

/*
 * vfs_fallocate(): the generic checks, in the kernel's order (probe A4),
 * then the file's ->fallocate.
 */
int gm_fallocate(struct gm_proc *p, int fd, int mode, int64_t offset,
		 int64_t len)
{
	const int known = GMEM_FALLOC_FL_KEEP_SIZE | GMEM_FALLOC_FL_PUNCH_HOLE |
			  GMEM_FALLOC_FL_COLLAPSE_RANGE |
			  GMEM_FALLOC_FL_ZERO_RANGE |
			  GMEM_FALLOC_FL_INSERT_RANGE |
			  GMEM_FALLOC_FL_UNSHARE_RANGE |
			  GMEM_FALLOC_FL_WRITE_ZEROES;
	struct gm_file *file = fget(p, fd);
	uint64_t sum;

	if (!file)
		return -EBADF;
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~known)
		return -EOPNOTSUPP;
	/* the modes are exclusive; KEEP_SIZE is a flag beside them */
	switch (mode & ~GMEM_FALLOC_FL_KEEP_SIZE) {
	case 0:
	case GMEM_FALLOC_FL_UNSHARE_RANGE:
	case GMEM_FALLOC_FL_ZERO_RANGE:
		break;
	case GMEM_FALLOC_FL_PUNCH_HOLE:
		if (!(mode & GMEM_FALLOC_FL_KEEP_SIZE))
			return -EOPNOTSUPP;
		break;
	case GMEM_FALLOC_FL_COLLAPSE_RANGE:
	case GMEM_FALLOC_FL_INSERT_RANGE:
	case GMEM_FALLOC_FL_WRITE_ZEROES:
		if (mode & GMEM_FALLOC_FL_KEEP_SIZE)
			return -EOPNOTSUPP;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (file->f_kind == GM_FILE_KVM_DEV || file->f_kind == GM_FILE_NULL ||
	    file->f_kind == GM_FILE_VM)
		return -ENODEV;	/* not a regular file */
	sum = (uint64_t)offset + (uint64_t)len;
	if (sum > (uint64_t)GM_LLONG_MAX)
		return -EFBIG;
	if (file->f_kind == GM_FILE_MEMFD) {
		struct gmem_inode *inode = file->private_data;

		/* shmem_fallocate: only KEEP_SIZE and PUNCH_HOLE */
		if (mode & ~(GMEM_FALLOC_FL_KEEP_SIZE |
			     GMEM_FALLOC_FL_PUNCH_HOLE))
			return -EOPNOTSUPP;
		if (mode & GMEM_FALLOC_FL_PUNCH_HOLE)
			return shmem_truncate_range(
				p->host, inode,
				((uint64_t)offset + PAGE_SIZE - 1) >> PAGE_SHIFT,
				(uint64_t)sum >> PAGE_SHIFT);
		if (!(mode & GMEM_FALLOC_FL_KEEP_SIZE) && sum > file->f_size) {
			file->f_size = sum;
			inode->i_size = (sum + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		}
		return 0;
	}
	return kvm_gmem_fallocate(p->host, file, mode, offset, len);
}

/* ---- ioctl ---- */

long gm_ioctl(struct gm_proc *p, int fd, unsigned long cmd, unsigned long arg)
{
	struct gm_file *file = fget(p, fd);

	if (!file)
		return -EBADF;
	switch (file->f_kind) {
	case GM_FILE_KVM_DEV:
		return kvm_dev_ioctl(p, file, cmd, arg);
	case GM_FILE_VM:
		return kvm_vm_ioctl(p, file, cmd, arg);
	case GM_FILE_GMEM:
		return kvm_gmem_ioctl(p, file, cmd, arg);
	default:
		/* memfd and /dev/null have no ->unlocked_ioctl */
		return -ENOTTY;
	}
}
