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
 *
 * The last tests are about the trace layer's robustness (traces/parse.c,
 * traces/result.c, traces/replay.c; docs/trace-format.md): expectation
 * alternatives ("-> R1 | R2", spaced or glued, their errors and their
 * matching), the threads= header setting, and the replayer's two phases
 * (exec every op, close, then judge) checked with a backend that finishes
 * its ops only in close().
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "replay.h"
#include "test_util.h"
#include "trace.h"

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

/* ---- trace layer: expectation alternatives, threads=, two phases ---- */

#define TR_HDR "gmemtrace 1 profile=mainline\n"
/* a mapped page holding 0x31: a read of m0 0x1000 answers ok byte=0x31 */
#define TR_BODY                                              \
	"vm vm0\n"                                           \
	"gmem g0 vm0 size=2M flags=mmap|init_shared -> ok\n" \
	"mmap m0 g0 0+2M -> ok\n"                            \
	"write m0 0x1000 byte=0x31 -> ok\n"
#define TR_SETUP TR_HDR TR_BODY

static struct trace *tr_parse(const char *text)
{
	struct trace *t = trace_parse("t.trace", text, strlen(text));

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

/* The only op of a header + one-line trace (with TR_SETUP: the last). */
static const struct trace_op *tr_last(const struct trace *t)
{
	CU_ASSERT_FATAL(t->nr_ops > 0);
	return &t->ops[t->nr_ops - 1];
}

static void tr_expect_kind(const struct op_result *r, enum result_kind kind,
			   unsigned int keys)
{
	EXPECT_EQ(r->kind, kind);
	EXPECT_EQ(r->keys, keys);
}

/* "-> ok byte=0x31 | exit" and the like: every alternative lands. */
static void test_trace_expect_alt_spaced(void)
{
	const struct trace_op *op;
	struct trace *t;

	t = tr_parse(TR_SETUP "read m0 0x1000 -> ok byte=0x31 | exit\n");
	EXPECT_EQ(t->nr_errors, 0);
	op = tr_last(t);
	CU_ASSERT(op->has_expect);
	tr_expect_kind(&op->expect, RES_OK, RKEY_BYTE);
	EXPECT_EQ(op->expect.byte, 0x31);
	EXPECT_EQ(op->nr_expect_alt, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(op->expect_alt);
	tr_expect_kind(&op->expect_alt[0], RES_EXIT, 0);
	trace_free(t);

	/* the maximum: 4 alternatives, each with its own keys */
	t = tr_parse(TR_HDR "vm vm0\ngmem g0 vm0 size=2M\n"
			    "convert g0 0+4K private -> ok | ENOTTY | "
			    "EAGAIN error_offset=0x1000 | EINVAL\n");
	EXPECT_EQ(t->nr_errors, 0);
	op = tr_last(t);
	tr_expect_kind(&op->expect, RES_OK, 0);
	EXPECT_EQ(op->nr_expect_alt, TRACE_MAX_EXPECT - 1);
	tr_expect_kind(&op->expect_alt[0], RES_ERRNO, 0);
	EXPECT_EQ(op->expect_alt[0].err, ENOTTY);
	tr_expect_kind(&op->expect_alt[1], RES_ERRNO, RKEY_ERROR_OFFSET);
	EXPECT_EQ(op->expect_alt[1].err, EAGAIN);
	EXPECT_EQ(op->expect_alt[1].error_offset, 0x1000);
	tr_expect_kind(&op->expect_alt[2], RES_ERRNO, 0);
	EXPECT_EQ(op->expect_alt[2].err, EINVAL);
	trace_free(t);

	/* one result: no alternatives, nothing allocated */
	t = tr_parse(TR_SETUP "read m0 0x1000 -> ok byte=0x31\n");
	op = tr_last(t);
	EXPECT_EQ(op->nr_expect_alt, 0);
	CU_ASSERT_PTR_NULL(op->expect_alt);
	trace_free(t);
}

/* '|' needs no blanks around it: all of these are "ok byte=0x01 | exit". */
static void test_trace_expect_alt_glued(void)
{
	static const char *const rhs[] = {
		"ok byte=1|exit",
		"ok byte=1 |exit",
		"ok byte=1| exit",
		"ok byte=1 | exit",
		"\tok byte=0x01\t|\texit\t",
		"ok byte=1|exit # comment",
	};
	const struct trace_op *op;
	struct trace *t;
	char text[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rhs); i++) {
		snprintf(text, sizeof(text), "%sread m0 0x1000 ->%s\n",
			 TR_SETUP, rhs[i]);
		t = tr_parse(text);
		EXPECT_EQ(t->nr_errors, 0);
		op = tr_last(t);
		EXPECT_EQ(op->code, TOP_READ);
		tr_expect_kind(&op->expect, RES_OK, RKEY_BYTE);
		EXPECT_EQ(op->expect.byte, 1);
		EXPECT_EQ(op->nr_expect_alt, 1);
		tr_expect_kind(&op->expect_alt[0], RES_EXIT, 0);
		trace_free(t);
	}

	/* glued to the arrow, both ways round */
	t = tr_parse(TR_SETUP "read m0 0x1000->exit|ok\n");
	op = tr_last(t);
	EXPECT_EQ(t->nr_errors, 0);
	tr_expect_kind(&op->expect, RES_EXIT, 0);
	EXPECT_EQ(op->nr_expect_alt, 1);
	tr_expect_kind(&op->expect_alt[0], RES_OK, 0);
	trace_free(t);

	/* before "->" a '|' stays inside its token (flags) */
	t = tr_parse(TR_HDR "vm vm0\n"
			    "gmem g0 vm0 size=2M flags=mmap|init_shared "
			    "-> ok|EINVAL\n");
	EXPECT_EQ(t->nr_errors, 0);
	op = tr_last(t);
	EXPECT_EQ(op->u.gmem.flags,
		  TRACE_GMEM_FLAG_MMAP | TRACE_GMEM_FLAG_INIT_SHARED);
	EXPECT_EQ(op->nr_expect_alt, 1);
	trace_free(t);
}

/* Each bad expectation is a parse error on its line, saying why. */
static void test_trace_expect_alt_errors(void)
{
	static const struct {
		const char *rhs;
		const char *error;
	} bad[] = {
		{ "ok |", "empty alternative 2 after '->'" },
		{ "ok|", "empty alternative 2 after '->'" },
		{ "| ok", "empty alternative 1 after '->'" },
		{ "|", "empty alternative 1 after '->'" },
		{ "ok || exit", "empty alternative 2 after '->'" },
		{ "ok | exit | | mmio", "empty alternative 3 after '->'" },
		{ "ok|exit|mmio|SIGBUS|EINVAL",
		  "5 alternatives after '->' (at most 4)" },
		{ "ok | exit | mmio | SIGBUS | EINVAL | EFAULT",
		  "6 alternatives after '->' (at most 4)" },
		{ "ok | EBOGUS", "alternative 2: unknown result 'EBOGUS'" },
		{ "ok | exit byte", "alternative 2: unexpected 'byte' after" },
		{ "ok byte=1 byte=2 | exit",
		  "alternative 1: result: 'byte' given twice" },
		{ "", "'->' without a result" },
		{ "EBOGUS", "unknown result 'EBOGUS'" },
	};
	const struct trace_op *op;
	struct trace *t;
	char text[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "%sread m0 0x1000 -> %s\n",
			 TR_SETUP, bad[i].rhs);
		t = tr_parse(text);
		EXPECT_EQ(t->nr_errors, 1);
		op = tr_last(t);
		EXPECT_EQ(op->code, TOP_ERROR);
		EXPECT_EQ(op->line, 6);
		CU_ASSERT_PTR_NOT_NULL_FATAL(op->error);
		if (!strstr(op->error, bad[i].error))
			printf("\n  '-> %s': got '%s' ", bad[i].rhs, op->error);
		CU_ASSERT_PTR_NOT_NULL(strstr(op->error, bad[i].error));
		CU_ASSERT_PTR_NULL(op->expect_alt);
		trace_free(t);
	}
}

/* Replay @text on the model; the messages go to *@out (caller frees). */
static int tr_replay(const char *text, struct replay_stats *st, char **out,
		     bool verbose)
{
	struct replay_opts o;
	struct trace *t;
	size_t len;
	FILE *f;
	int ret;

	t = tr_parse(text);
	f = open_memstream(out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memset(st, 0, sizeof(*st));
	memset(&o, 0, sizeof(o));
	o.out = f;
	o.verbose = verbose;
	ret = replay_trace(t, &backend_model_ops, &o, st);
	fclose(f);
	trace_free(t);
	return ret;
}

/* An op passes when any alternative matches; a failure lists them all. */
static void test_trace_expect_alt_match(void)
{
	struct replay_stats st;
	char *out = NULL;

	/* the second (and the last) alternative matches */
	EXPECT_EQ(tr_replay(TR_SETUP
			    "read m0 0x1000 -> exit | ok byte=0x31\n"
			    "read m0 0x1000 -> SIGBUS | exit | EFAULT | ok\n",
			    &st, &out, false),
		  0);
	EXPECT_EQ(st.passed, 5);
	EXPECT_EQ(st.failed, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);

	/* none matches: one failure naming every alternative */
	EXPECT_EQ(tr_replay(TR_SETUP
			    "read m0 0x1000 -> ok byte=0x32 | exit | EFAULT\n",
			    &st, &out, false),
		  1);
	EXPECT_EQ(st.passed, 3);
	EXPECT_EQ(st.failed, 1);
	CU_ASSERT_STRING_EQUAL(out,
			       "t.trace:6: read m0 0x1000: expected ok "
			       "byte=0x32 | exit | EFAULT, got ok byte=0x31\n");
	free(out);

	/* the helpers themselves */
	{
		struct op_result alt[2] = {
			{ .kind = RES_EXIT },
			{ .kind = RES_ERRNO, .err = EFAULT },
		};
		struct op_result got = { .kind = RES_ERRNO, .err = EFAULT };
		struct trace_op op = {
			.has_expect = true,
			.expect = { .kind = RES_OK },
			.nr_expect_alt = 2,
			.expect_alt = alt,
		};
		char buf[64];

		CU_ASSERT(op_expect_matches(&op, &got));
		got.err = EINVAL;
		CU_ASSERT(!op_expect_matches(&op, &got));
		got.kind = RES_OK;
		CU_ASSERT(op_expect_matches(&op, &got));
		op_expect_format(&op, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, "ok | exit | EFAULT");
		/* truncated, still terminated */
		op_expect_format(&op, buf, 8);
		CU_ASSERT_STRING_EQUAL(buf, "ok | ex");
		op.nr_expect_alt = 0;
		op_expect_format(&op, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, "ok");
	}
}

/* threads=ordered|concurrent: default, both values, a bad value. */
static void test_trace_header_threads(void)
{
	bool conc = true;
	struct trace *t;

	t = tr_parse(TR_HDR "vm vm0\n");
	EXPECT_EQ(t->nr_errors, 0);
	CU_ASSERT(!t->cfg.concurrent);
	CU_ASSERT(!t->cfg.threads_set);
	trace_free(t);

	t = tr_parse("gmemtrace 1 threads=concurrent\nvm vm0\n");
	EXPECT_EQ(t->nr_errors, 0);
	CU_ASSERT(t->cfg.concurrent);
	CU_ASSERT(t->cfg.threads_set);
	trace_free(t);

	t = tr_parse("gmemtrace 1 threads=ordered profile=inplace\n");
	EXPECT_EQ(t->nr_errors, 0);
	CU_ASSERT(!t->cfg.concurrent);
	CU_ASSERT(t->cfg.threads_set);
	EXPECT_EQ(t->cfg.profile, GM_PROFILE_INPLACE);
	trace_free(t);

	/* a bad value: an error on the header line, other keys still apply */
	t = tr_parse("gmemtrace 1 threads=parallel profile=inplace\nvm vm0\n");
	EXPECT_EQ(t->nr_errors, 1);
	EXPECT_EQ(t->ops[0].code, TOP_ERROR);
	EXPECT_EQ(t->ops[0].line, 1);
	CU_ASSERT_STRING_EQUAL(t->ops[0].error,
			       "header: threads 'parallel' is not ordered "
			       "or concurrent");
	CU_ASSERT(!t->cfg.threads_set);
	CU_ASSERT(!t->cfg.concurrent);
	EXPECT_EQ(t->cfg.profile, GM_PROFILE_INPLACE);
	trace_free(t);

	t = tr_parse("gmemtrace 1 threads=\n");
	EXPECT_EQ(t->nr_errors, 1);
	CU_ASSERT(!t->cfg.threads_set);
	trace_free(t);

	/* given twice: the last wins, as for every header key */
	t = tr_parse("gmemtrace 1 threads=concurrent threads=ordered\n");
	EXPECT_EQ(t->nr_errors, 0);
	CU_ASSERT(!t->cfg.concurrent);
	trace_free(t);

	/* what --threads= of replay and diff parses with */
	GM_OK(trace_threads_parse("concurrent", &conc));
	CU_ASSERT(conc);
	GM_OK(trace_threads_parse("ordered", &conc));
	CU_ASSERT(!conc);
	GM_ERR(trace_threads_parse("Ordered", &conc), -EINVAL);
	GM_ERR(trace_threads_parse("", &conc), -EINVAL);
	CU_ASSERT(!conc);
	CU_ASSERT_STRING_EQUAL(trace_threads_name(true), "concurrent");
	CU_ASSERT_STRING_EQUAL(trace_threads_name(false), "ordered");
}

/*
 * A backend that finishes every op only in close(), as the sim may in
 * threads=concurrent mode: exec() records where the result goes and
 * close() fills each in (read: ok byte=0x31, anything else: ok), writing a
 * marker to the replay's stream first.  The replayer must judge after
 * close(): every expectation passes, and no line comes before the marker.
 */
#define TR_LATE_MAX 16

struct tr_late {
	const struct trace *t;
	const struct trace_op *op[TR_LATE_MAX];
	struct op_result *res[TR_LATE_MAX];
	unsigned int nr;
	bool concurrent;
};

static struct tr_late tr_late;
static FILE *tr_late_out;

static int tr_late_open(const struct trace *t, const struct trace_config *cfg,
			const struct backend_caps *caps, struct backend **out,
			char *why, size_t why_len)
{
	(void)caps;
	(void)why;
	(void)why_len;
	memset(&tr_late, 0, sizeof(tr_late));
	tr_late.t = t;
	tr_late.concurrent = cfg->concurrent;
	*out = (struct backend *)&tr_late;
	return 0;
}

static void tr_late_exec(struct backend *be, const struct trace *t,
			 const struct trace_op *op, struct op_result *res)
{
	struct tr_late *l = (struct tr_late *)be;

	CU_ASSERT_PTR_EQUAL(t, l->t);
	CU_ASSERT_FATAL(l->nr < TR_LATE_MAX);
	/* a result nobody may look at yet */
	res->kind = RES_KIND_MAX;
	l->op[l->nr] = op;
	l->res[l->nr++] = res;
}

static void tr_late_close(struct backend *be)
{
	struct tr_late *l = (struct tr_late *)be;
	unsigned int i;

	fputs("closed\n", tr_late_out);
	for (i = 0; i < l->nr; i++) {
		memset(l->res[i], 0, sizeof(*l->res[i]));
		l->res[i]->kind = RES_OK;
		if (l->op[i]->code == TOP_READ) {
			l->res[i]->keys = RKEY_BYTE;
			l->res[i]->byte = 0x31;
		}
	}
}

static const struct backend_ops tr_late_ops = {
	.name = "late",
	.open = tr_late_open,
	.exec = tr_late_exec,
	.close = tr_late_close,
};

static void test_trace_replay_judges_after_close(void)
{
	struct trace_config cfg;
	struct replay_stats st;
	struct replay_opts o;
	struct trace *t;
	char *out = NULL;
	size_t len;

	t = tr_parse("gmemtrace 1 threads=concurrent\n" TR_BODY
		     "@t1 read m0 0x1000 -> ok byte=0x31 | exit\n"
		     "@t2 read m0 0x1000 -> exit | ok byte=0x31\n"
		     "bogus line\n"
		     "barrier -> ok\n"
		     "@t1 read m0 0x1000 -> ok byte=0x32\n");
	EXPECT_EQ(t->nr_errors, 1);
	tr_late_out = open_memstream(&out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tr_late_out);
	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	o.out = tr_late_out;
	o.verbose = true;
	/* the command-line override reaches the backend through o.cfg */
	cfg = t->cfg;
	CU_ASSERT(cfg.concurrent);
	cfg.concurrent = false;
	o.cfg = &cfg;
	EXPECT_EQ(replay_trace(t, &tr_late_ops, &o, &st), 1);
	fclose(tr_late_out);
	tr_late_out = NULL;
	CU_ASSERT(!tr_late.concurrent);
	EXPECT_EQ(tr_late.nr, 8);
	EXPECT_EQ(st.passed, 6);
	EXPECT_EQ(st.failed, 2); /* a parse error, an expectation */
	EXPECT_EQ(st.skipped, 0);
	CU_ASSERT_STRING_EQUAL(
		out,
		"closed\n"
		"t.trace:2: vm vm0 -> ok\n"
		"t.trace:3: gmem g0 vm0 size=2M flags=mmap|init_shared -> ok\n"
		"t.trace:4: mmap m0 g0 0+2M -> ok\n"
		"t.trace:5: write m0 0x1000 byte=0x31 -> ok\n"
		"t.trace:6: @t1 read m0 0x1000 -> ok byte=0x31\n"
		"t.trace:7: @t2 read m0 0x1000 -> ok byte=0x31\n"
		"t.trace:8: error: unknown op 'bogus'\n"
		"t.trace:9: barrier -> ok\n"
		"t.trace:10: @t1 read m0 0x1000 -> ok byte=0x31\n"
		"t.trace:10: @t1 read m0 0x1000: expected ok byte=0x32, got "
		"ok byte=0x31\n");
	free(out);
	trace_free(t);
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
	{ "test_trace_expect_alt_spaced", test_trace_expect_alt_spaced },
	{ "test_trace_expect_alt_glued", test_trace_expect_alt_glued },
	{ "test_trace_expect_alt_errors", test_trace_expect_alt_errors },
	{ "test_trace_expect_alt_match", test_trace_expect_alt_match },
	{ "test_trace_header_threads", test_trace_header_threads },
	{ "test_trace_replay_judges_after_close",
	  test_trace_replay_judges_after_close },
	CU_TEST_INFO_NULL,
};
