// SPDX-License-Identifier: GPL-2.0
/*
 * Robustness: boundary values (0, 1, 4095, 4096, size, size+4096, 1<<63,
 * ~0, negative) at every entry point, in nested loops.  The only
 * expectation is model.h's contract ("every function returns 0 (or a
 * non-negative value where the system call returns one) or a negative
 * errno; nothing here aborts on input") plus gm_host_check() after each
 * call.  Mappings and fds that a call happens to create are released again.
 *
 * Limits (to keep the test from overrunning its own buffers, not the
 * model's): gm_mincore only gets lengths its vec can hold, gm_read /
 * gm_write / gm_pread / gm_pwrite only lengths their buffer can hold.
 */
#include <limits.h>
#include <string.h>

#include "test_util.h"

#define SZ (4 * MiB)
#define GPA0 (1ULL << 32)

static const uint64_t vals[] = {
	0,
	1,
	4095,
	4096,
	SZ,
	SZ + 4096,
	1ULL << 40,
	1ULL << 63,
	~0ULL,
	(uint64_t)-4096,
	(uint64_t)LLONG_MAX,
};

#define NV ARRAY_SIZE(vals)

/* big enough for any ioctl struct, zeroed */
static union {
	uint8_t raw[4096];
	struct kvm_create_guest_memfd cg;
	struct kvm_userspace_memory_region2 r2;
	struct kvm_memory_attributes at;
} argbuf;

struct rb {
	int gmem;		/* flags 3 */
	int gmem1;		/* flags 1 */
	int gmem0;		/* flags 0 */
	int mfd;
	int nul;
	int closed;
	uint64_t map;		/* mapping of gmem */
	uint64_t map1;		/* mapping of gmem1 */
};

static void rb_make(struct rb *r)
{
	r->gmem = gmem_create(SZ, FL_BOTH);
	r->gmem1 = gmem_create(SZ, FL_MMAP);
	r->gmem0 = gmem_create(SZ, 0);
	r->mfd = GM_FD(gm_memfd_create(fx.p, SZ));
	r->nul = GM_FD(gm_open_null(fx.p));
	r->closed = gmem_create(SZ, 0);
	GM_OK(gm_close(fx.p, r->closed));
	r->map = map_shared(r->gmem, SZ, 0);
	r->map1 = map_shared(r->gmem1, SZ, 0);
	bind_slot(0, GPA0, SZ, r->gmem, 0);
}

static void rb_free(struct rb *r)
{
	GM_SANE(gm_munmap(fx.p, r->map, SZ));
	GM_SANE(gm_munmap(fx.p, r->map1, SZ));
	GM_SANE(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0,
			      -1, 0));
	GM_SANE(gm_close(fx.p, r->gmem));
	GM_SANE(gm_close(fx.p, r->gmem1));
	GM_SANE(gm_close(fx.p, r->gmem0));
	GM_SANE(gm_close(fx.p, r->mfd));
	GM_SANE(gm_close(fx.p, r->nul));
}

static int rb_fds(const struct rb *r, int *fds)
{
	int n = 0;

	fds[n++] = r->gmem;
	fds[n++] = r->gmem1;
	fds[n++] = r->gmem0;
	fds[n++] = r->mfd;
	fds[n++] = r->nul;
	fds[n++] = r->closed;
	fds[n++] = fx.kvm;
	fds[n++] = fx.vm;
	fds[n++] = -1;
	fds[n++] = 999;
	fds[n++] = INT_MAX;
	fds[n++] = INT_MIN;
	return n;
}

/* addresses: the boundary values, plus the mappings and their ends */
static int rb_addrs(const struct rb *r, uint64_t *a)
{
	int n = 0;

	for (unsigned int i = 0; i < NV; i++)
		a[n++] = vals[i];
	a[n++] = r->map;
	a[n++] = r->map + 1;
	a[n++] = r->map + SZ - PAGE;
	a[n++] = r->map + SZ;
	a[n++] = r->map - PAGE;
	a[n++] = r->map1;
	return n;
}

/* fallocate: mode x offset x len on every kind of fd */
static void test_robust_fallocate(void)
{
	static const int modes[] = {
		0, KEEP, PUNCH, GMEM_FALLOC_FL_PUNCH_HOLE,
		GMEM_FALLOC_FL_ZERO_RANGE, KEEP | 0x100, -1, INT_MIN,
	};
	struct rb r;
	int fds[16], nfd;

	rb_make(&r);
	nfd = rb_fds(&r, fds);
	for (int f = 0; f < nfd; f++)
		for (unsigned int m = 0; m < ARRAY_SIZE(modes); m++) {
			/* a memfd would really grow to 1<<40: not here */
			if (fds[f] == r.mfd)
				continue;
			for (unsigned int o = 0; o < NV; o++)
				for (unsigned int l = 0; l < NV; l++)
					GM_SANE(gm_fallocate(fx.p, fds[f],
							     modes[m],
							     (int64_t)vals[o],
							     (int64_t)vals[l]));
		}
	rb_free(&r);
}

/* mmap: len x offset x prot x flags on every kind of fd; munmap successes */
static void test_robust_mmap(void)
{
	static const int prots[] = { 0, RW, GMEM_PROT_READ | GMEM_PROT_EXEC,
				     0x7f, -1 };
	static const int flags[] = {
		GMEM_MAP_SHARED, GMEM_MAP_PRIVATE, GMEM_MAP_SHARED_VALIDATE,
		GMEM_MAP_SHARED | GMEM_MAP_FIXED, GMEM_MAP_ANONYMOUS |
		GMEM_MAP_PRIVATE, GMEM_MAP_SHARED | GMEM_MAP_POPULATE, 0, -1,
	};
	struct rb r;
	int fds[16], nfd;

	rb_make(&r);
	nfd = rb_fds(&r, fds);
	for (int f = 0; f < nfd; f++)
		for (unsigned int p = 0; p < ARRAY_SIZE(prots); p++)
			for (unsigned int fl = 0; fl < ARRAY_SIZE(flags); fl++)
				for (unsigned int l = 0; l < NV; l++)
					for (unsigned int o = 0; o < NV;
					     o += 2) {
						uint64_t a = vals[o];
						long ret;

						ret = gm_mmap(fx.p, vals[l],
							      prots[p],
							      flags[fl],
							      fds[f], vals[o],
							      &a);
						GM_SANE(ret);
						if (ret == 0)
							GM_SANE(gm_munmap(
								fx.p, a,
								vals[l]));
					}
	rb_free(&r);
}

/* munmap / madvise / mincore: address x len (x advice) */
static void test_robust_munmap_madvise_mincore(void)
{
	static const int advice[] = {
		GMEM_MADV_NORMAL,	GMEM_MADV_DONTNEED,
		GMEM_MADV_FREE,		GMEM_MADV_REMOVE,
		GMEM_MADV_POPULATE_READ, GMEM_MADV_POPULATE_WRITE,
		GMEM_MADV_COLLAPSE,	GMEM_MADV_HUGEPAGE,
		GMEM_MADV_WIPEONFORK,	-1,
		1000,
	};
	static unsigned char vec[(2 * SZ + 2 * PAGE) / PAGE];
	struct rb r;
	uint64_t addrs[32];
	int na;

	rb_make(&r);
	na = rb_addrs(&r, addrs);
	for (int a = 0; a < na; a++)
		for (unsigned int l = 0; l < NV; l++) {
			for (unsigned int v = 0; v < ARRAY_SIZE(advice); v++)
				GM_SANE(gm_madvise(fx.p, addrs[a], vals[l],
						   advice[v]));
			if (vals[l] <= 2 * SZ + PAGE)
				GM_SANE(gm_mincore(fx.p, addrs[a], vals[l],
						   vec));
		}
	/* munmap last: it takes the mappings away */
	for (int a = 0; a < na; a++)
		for (unsigned int l = 0; l < NV; l++)
			GM_SANE(gm_munmap(fx.p, addrs[a], vals[l]));
	rb_free(&r);
}

/* host accesses at every address, every access kind */
static void test_robust_host_access(void)
{
	struct rb r;
	uint64_t addrs[32];
	int na;

	rb_make(&r);
	na = rb_addrs(&r, addrs);
	for (int i = 0; i < na; i++)
		for (int acc = 0; acc <= GM_ACCESS_MAX; acc++) {
			uint8_t b = 0x5a;
			int sig = -1;

			GM_SANE(gm_host_access(fx.p, addrs[i],
					       (enum gm_access)acc, &b, &sig));
			CU_ASSERT(sig == 0 || sig == SIGBUS || sig == SIGSEGV ||
				  sig == -1);
		}
	rb_free(&r);
}

/* guest accesses: gpa x access x intent, and the begin/finish pair */
static void test_robust_guest_access(void)
{
	static const int intents[] = { GM_INTENT_DEFAULT, GM_INTENT_SHARED,
				       GM_INTENT_PRIVATE, 7 };
	struct rb r;
	uint64_t gpas[NV + 3];
	unsigned int ng = 0;

	rb_make(&r);
	for (unsigned int i = 0; i < NV; i++)
		gpas[ng++] = vals[i];
	gpas[ng++] = GPA0;
	gpas[ng++] = GPA0 + SZ - 1;
	gpas[ng++] = GPA0 + SZ;
	for (unsigned int g = 0; g < ng; g++)
		for (int acc = 0; acc <= GM_ACCESS_MAX; acc++)
			for (unsigned int in = 0; in < ARRAY_SIZE(intents);
			     in++) {
				struct gm_guest_fault f;
				long ret;

				memset(&f, 0, sizeof(f));
				f.gpa = gpas[g];
				f.access = (enum gm_access)acc;
				f.intent = (enum gm_intent)intents[in];
				ret = gm_guest_access(fx.p, fx.vm, &f);
				GM_SANE(ret);
				if (ret == 0)
					CU_ASSERT(f.outcome >= GM_GUEST_OK &&
						  f.outcome <= GM_GUEST_RETRY);
				memset(&f, 0, sizeof(f));
				f.gpa = gpas[g];
				f.access = (enum gm_access)acc;
				f.intent = (enum gm_intent)intents[in];
				GM_SANE(gm_guest_fault_begin(fx.p, fx.vm, &f));
				GM_SANE(gm_fallocate(fx.p, r.gmem, PUNCH, 0,
						     PAGE));
				GM_SANE(gm_guest_fault_finish(fx.p, fx.vm,
							      &f));
			}
	/* finish without begin, on other fds */
	for (unsigned int g = 0; g < ng; g++) {
		struct gm_guest_fault f;

		memset(&f, 0, sizeof(f));
		f.gpa = gpas[g];
		GM_SANE(gm_guest_fault_finish(fx.p, fx.vm, &f));
		GM_SANE(gm_guest_access(fx.p, r.gmem, &f));
		GM_SANE(gm_guest_access(fx.p, fx.kvm, &f));
	}
	rb_free(&r);
}

/* KVM_SET_USER_MEMORY_REGION2: slot x gpa x size x offset x flags */
static void test_robust_memslot(void)
{
	static const uint32_t slots[] = { 0, 1, 32763, 32764, 1U << 16,
					  ~0U };
	static const uint32_t flags[] = { 0, KVM_MEM_GUEST_MEMFD,
					  KVM_MEM_GUEST_MEMFD |
						  KVM_MEM_READONLY,
					  ~0U };
	struct rb r;

	rb_make(&r);
	for (unsigned int s = 0; s < ARRAY_SIZE(slots); s++)
		for (unsigned int fl = 0; fl < ARRAY_SIZE(flags); fl++)
			for (unsigned int g = 0; g < NV; g++)
				for (unsigned int z = 0; z < NV; z++)
					for (unsigned int o = 0; o < NV;
					     o += 3) {
						long ret = __set_region2(
							fx.p, fx.vm, slots[s],
							flags[fl], vals[g],
							vals[z], UADDR_ANON,
							r.gmem0, vals[o]);

						GM_SANE(ret);
					}
	/* v1 as well */
	for (unsigned int s = 0; s < ARRAY_SIZE(slots); s++)
		for (unsigned int g = 0; g < NV; g++)
			for (unsigned int z = 0; z < NV; z++)
				GM_SANE(__set_region1(fx.p, fx.vm, slots[s], 0,
						      vals[g], vals[z],
						      vals[z]));
	rb_free(&r);
}

/* KVM_SET_MEMORY_ATTRIBUTES: address x size x attributes x flags */
static void test_robust_attributes(void)
{
	static const uint64_t attrs[] = { 0, KVM_MEMORY_ATTRIBUTE_PRIVATE, 1,
					  ~0ULL };
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	int vms[3] = { vm, fx.vm, fx.kvm };

	for (unsigned int v = 0; v < 3; v++)
		for (unsigned int a = 0; a < NV; a++)
			for (unsigned int s = 0; s < NV; s++)
				for (unsigned int t = 0; t < ARRAY_SIZE(attrs);
				     t++) {
					GM_SANE(__set_attrs(fx.p, vms[v],
							    vals[a], vals[s],
							    attrs[t], 0));
					GM_SANE(__set_attrs(fx.p, vms[v],
							    vals[a], vals[s],
							    attrs[t], 1));
				}
	for (unsigned int a = 0; a < NV; a++) {
		uint64_t at = 0;
		unsigned int fl = 0;

		GM_SANE(gm_vm_attributes(fx.p, vm, vals[a], &at));
		GM_SANE(gm_vm_stage2_flags(fx.p, vm, vals[a], &fl));
	}
	GM_OK(gm_close(fx.p, vm));
}

/* KVM_CREATE_GUEST_MEMFD: size x flags (x reserved) */
static void test_robust_create(void)
{
	static const uint64_t flags[] = { 0, 1, 2, 3, 4, 1ULL << 63, ~0ULL };

	for (unsigned int s = 0; s < NV; s++)
		for (unsigned int f = 0; f < ARRAY_SIZE(flags); f++) {
			struct kvm_create_guest_memfd c = {
				.size = vals[s],
				.flags = flags[f],
			};
			long ret;

			c.reserved[3] = vals[s];
			ret = gm_ioctl(fx.p, fx.vm, KVM_CREATE_GUEST_MEMFD,
				       (unsigned long)&c);
			GM_SANE_FD(ret);
			if (ret >= 0)
				GM_OK(gm_close(fx.p, (int)ret));
		}
}

/* file ops on every kind of fd with boundary offsets and lengths */
static void test_robust_fileops(void)
{
	static const size_t lens[] = { 0, 1, 64 };
	char buf[64];
	struct rb r;
	int fds[16], nfd;

	rb_make(&r);
	nfd = rb_fds(&r, fds);
	for (int f = 0; f < nfd; f++) {
		struct gm_stat st;
		long d;

		for (unsigned int l = 0; l < ARRAY_SIZE(lens); l++) {
			GM_SANE_FD(gm_read(fx.p, fds[f], buf, lens[l]));
			GM_SANE_FD(gm_write(fx.p, fds[f], buf, lens[l]));
			for (unsigned int o = 0; o < NV; o++) {
				GM_SANE_FD(gm_pread(fx.p, fds[f], buf, lens[l],
						    (int64_t)vals[o]));
				GM_SANE_FD(gm_pwrite(fx.p, fds[f], buf,
						     lens[l],
						     (int64_t)vals[o]));
			}
		}
		for (unsigned int o = 0; o < NV; o++) {
			for (int wh = -1; wh <= 5; wh++) {
				int64_t ret = gm_lseek(fx.p, fds[f],
						       (int64_t)vals[o], wh);

				CU_ASSERT(ret >= -4095);
				check_host(fx.h);
			}
			/* never shrink the memfd: it stays small */
			if (fds[f] != r.mfd)
				GM_SANE(gm_ftruncate(fx.p, fds[f],
						     (int64_t)vals[o] &
							     (SZ * 2 - 1)));
		}
		GM_SANE(gm_fchmod(fx.p, fds[f], 0));
		GM_SANE(gm_fchmod(fx.p, fds[f], ~0U));
		GM_SANE(gm_fsync(fx.p, fds[f]));
		GM_SANE(gm_fstat(fx.p, fds[f], &st));
		d = gm_dup(fx.p, fds[f]);
		GM_SANE_FD(d);
		if (d >= 0)
			GM_OK(gm_close(fx.p, (int)d));
	}
	rb_free(&r);
}

/* ioctl: every fd x every command x {NULL, zeroed buffer, small ints} */
static void test_robust_ioctl(void)
{
	static const unsigned long cmds[] = {
		KVM_GET_API_VERSION,	  KVM_CREATE_VM,
		KVM_CHECK_EXTENSION,	  KVM_SET_USER_MEMORY_REGION,
		KVM_SET_USER_MEMORY_REGION2, KVM_SET_MEMORY_ATTRIBUTES,
		KVM_CREATE_GUEST_MEMFD,	  0,
		~0UL,			  0x541B,
	};
	static const unsigned long ints[] = { 0, 1, 3, 234, 244, 1UL << 31,
					      ~0UL };
	struct rb r;
	int fds[16], nfd;

	rb_make(&r);
	nfd = rb_fds(&r, fds);
	for (int f = 0; f < nfd; f++)
		for (unsigned int c = 0; c < ARRAY_SIZE(cmds); c++) {
			bool ptr = cmds[c] == KVM_SET_USER_MEMORY_REGION ||
				   cmds[c] == KVM_SET_USER_MEMORY_REGION2 ||
				   cmds[c] == KVM_SET_MEMORY_ATTRIBUTES ||
				   cmds[c] == KVM_CREATE_GUEST_MEMFD ||
				   cmds[c] == 0x541B;
			long ret;

			memset(&argbuf, 0, sizeof(argbuf));
			ret = gm_ioctl(fx.p, fds[f], cmds[c],
				       (unsigned long)&argbuf);
			GM_SANE_FD(ret);
			if (ret > 0 && (cmds[c] == KVM_CREATE_VM ||
					cmds[c] == KVM_CREATE_GUEST_MEMFD))
				GM_OK(gm_close(fx.p, (int)ret));
			for (unsigned int i = 0; i < ARRAY_SIZE(ints); i++) {
				/* pointer commands only get NULL */
				if (ptr && ints[i] != 0)
					continue;
				ret = gm_ioctl(fx.p, fds[f], cmds[c], ints[i]);
				GM_SANE_FD(ret);
				if (ret > 0 && cmds[c] == KVM_CREATE_VM)
					GM_OK(gm_close(fx.p, (int)ret));
			}
		}
	rb_free(&r);
}

/* gmem-only operations and introspection with boundary offsets */
static void test_robust_gmem_ops(void)
{
	struct rb r;
	int fds[16], nfd;

	rb_make(&r);
	nfd = rb_fds(&r, fds);
	for (int f = 0; f < nfd; f++)
		for (unsigned int o = 0; o < NV; o++) {
			struct gm_gmem_info info;
			unsigned int fl;

			GM_SANE(gm_gmem_pin(fx.p, fds[f], vals[o]));
			GM_SANE(gm_gmem_unpin(fx.p, fds[f], vals[o]));
			GM_SANE(gm_gmem_unpin(fx.p, fds[f], vals[o]));
			GM_SANE(gm_gmem_poison(fx.p, fds[f], vals[o]));
			GM_SANE(gm_gmem_folio_flags(fx.p, fds[f], vals[o],
						    &fl));
			GM_SANE(gm_gmem_info(fx.p, fds[f], &info));
			for (unsigned int l = 0; l < NV; l++)
				/* an enum gm_share_state or -errno */
				GM_SANE_FD(gm_gmem_state(fx.p, fds[f],
							 vals[o], vals[l]));
		}
	/* accesses after the poisonings above */
	for (uint64_t off = 0; off < 2 * PAGE; off += PAGE) {
		uint8_t b = 0;
		int sig = -1;

		GM_SANE(gm_host_access(fx.p, r.map + off, GM_ACCESS_READ, &b,
				       &sig));
	}
	rb_free(&r);
}

/* fd table operations with odd fds, fork of a busy process */
static void test_robust_fds_and_fork(void)
{
	static const int odd[] = { -1, 0, 1, 2, 63, 64, 999, INT_MAX,
				   INT_MIN };
	struct rb r;
	struct gm_proc *c;
	uint8_t b = 1;
	int sig;

	rb_make(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(odd); i++) {
		struct gm_vm_info vi;
		long d = gm_dup(fx.p, odd[i]);

		GM_SANE_FD(d);
		if (d >= 0)
			GM_OK(gm_close(fx.p, (int)d));
		GM_SANE(gm_vm_info(fx.p, odd[i], &vi));
	}
	c = fx_fork();
	GM_SANE(gm_host_access(c, r.map, GM_ACCESS_WRITE, &b, &sig));
	GM_SANE(gm_fallocate(c, r.gmem, PUNCH, 0, SZ));
	gm_proc_exit(c);
	check_host(fx.h);
	/* an exited process can be asked anything */
	GM_SANE(gm_close(c, r.gmem));
	GM_SANE(gm_host_access(c, r.map, GM_ACCESS_READ, &b, &sig));
	GM_SANE_FD(gm_open_kvm(c));
	gm_proc_exit(c);
	check_host(fx.h);
	rb_free(&r);
}

CU_TestInfo robust_tests[] = {
	{ "test_robust_fallocate", test_robust_fallocate },
	{ "test_robust_mmap", test_robust_mmap },
	{ "test_robust_munmap_madvise_mincore",
	  test_robust_munmap_madvise_mincore },
	{ "test_robust_host_access", test_robust_host_access },
	{ "test_robust_guest_access", test_robust_guest_access },
	{ "test_robust_memslot", test_robust_memslot },
	{ "test_robust_attributes", test_robust_attributes },
	{ "test_robust_create", test_robust_create },
	{ "test_robust_fileops", test_robust_fileops },
	{ "test_robust_ioctl", test_robust_ioctl },
	{ "test_robust_gmem_ops", test_robust_gmem_ops },
	{ "test_robust_fds_and_fork", test_robust_fds_and_fork },
	CU_TEST_INFO_NULL,
};
