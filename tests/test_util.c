// SPDX-License-Identifier: GPL-2.0
/*
 * Shared fixtures and assertion helpers for the CUnit suites
 * (see test_util.h for the conventions).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* white-box helpers (t_pte_present) */
#include "internal.h"

struct fixture fx = { .kvm = -1, .vm = -1 };

/* ---- host registry for the consistency check ---- */

#define T_MAX_HOSTS 8

static struct gm_host *t_hosts[T_MAX_HOSTS];
/* Report only the first few check failures of a test (each dumps state). */
static unsigned int t_check_failures;

static void t_host_register(struct gm_host *h)
{
	for (unsigned int i = 0; i < T_MAX_HOSTS; i++) {
		if (!t_hosts[i]) {
			t_hosts[i] = h;
			return;
		}
	}
	CU_FAIL("too many hosts for the test registry");
}

static void t_host_unregister(struct gm_host *h)
{
	for (unsigned int i = 0; i < T_MAX_HOSTS; i++)
		if (t_hosts[i] == h)
			t_hosts[i] = NULL;
}

const char *t_errname(long err)
{
	static __thread char buf[32];
	const char *n;

	if (err >= 0) {
		snprintf(buf, sizeof(buf), "%ld", err);
		return buf;
	}
	n = -err < 4096 ? strerrorname_np((int)-err) : NULL;
	if (n)
		snprintf(buf, sizeof(buf), "-%s", n);
	else
		snprintf(buf, sizeof(buf), "%ld", err);
	return buf;
}

void t_check_one(struct gm_host *h, const char *file, int line)
{
	char msg[256];
	int r;

	if (!h)
		return;
	r = gm_host_check(h, t_check_failures < 3 ? stderr : NULL);
	if (r == 0)
		return;
	t_check_failures++;
	if (t_check_failures > 3)
		return;
	snprintf(msg, sizeof(msg), "gm_host_check() == 0 (got %s)",
		 t_errname(r));
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

void t_check_hosts(const char *what, const char *file, int line)
{
	char msg[320];

	for (unsigned int i = 0; i < T_MAX_HOSTS; i++) {
		int r;

		if (!t_hosts[i])
			continue;
		r = gm_host_check(t_hosts[i],
				  t_check_failures < 3 ? stderr : NULL);
		if (r == 0)
			continue;
		t_check_failures++;
		if (t_check_failures > 3)
			continue;
		snprintf(msg, sizeof(msg),
			 "gm_host_check() == 0 after %.200s (got %s)", what,
			 t_errname(r));
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	}
}

/* ---- result assertions ---- */

long t_expect_ret(long got, long want, const char *expr, const char *file,
		  int line, bool fatal)
{
	char msg[512];

	if (got == want) {
		CU_assertImplementation(CU_TRUE, line, expr, file, "",
					CU_FALSE);
	} else {
		snprintf(msg, sizeof(msg), "%.380s: got %s", expr,
			 t_errname(got));
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
			 ", want %s", t_errname(want));
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	}
	t_check_hosts(expr, file, line);
	if (got != want && fatal)
		CU_assertImplementation(CU_FALSE, line, "(fatal)", file, "",
					CU_TRUE);
	return got;
}

long t_expect_fd(long got, const char *expr, const char *file, int line,
		 bool fatal)
{
	char msg[512];

	if (got >= 0) {
		CU_assertImplementation(CU_TRUE, line, expr, file, "",
					CU_FALSE);
	} else {
		snprintf(msg, sizeof(msg), "%.400s: got %s, want an fd", expr,
			 t_errname(got));
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	}
	t_check_hosts(expr, file, line);
	if (got < 0 && fatal)
		CU_assertImplementation(CU_FALSE, line, "(fatal)", file, "",
					CU_TRUE);
	return got;
}

void t_expect_u64(uint64_t got, uint64_t want, const char *expr,
		  const char *file, int line)
{
	char msg[512];

	if (got == want) {
		CU_assertImplementation(CU_TRUE, line, expr, file, "",
					CU_FALSE);
		return;
	}
	snprintf(msg, sizeof(msg), "%.400s: got %#llx, want %#llx", expr,
		 (unsigned long long)got, (unsigned long long)want);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

void t_expect_sane(long got, bool fd_ok, const char *expr, const char *file,
		   int line)
{
	char msg[512];
	bool ok = got == 0 || (got < 0 && got > -4096) || (fd_ok && got > 0);

	if (ok) {
		CU_assertImplementation(CU_TRUE, line, expr, file, "",
					CU_FALSE);
	} else {
		snprintf(msg, sizeof(msg),
			 "%.400s: got %ld, want 0%s or a negative errno", expr,
			 got, fd_ok ? "/an fd" : "");
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	}
	t_check_hosts(expr, file, line);
}

void t_tally_expect(struct t_tally *t, long got, long want, const char *fmt,
		    ...)
{
	va_list ap;
	size_t n;

	t->runs++;
	if (got == want)
		return;
	if (t->bad++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(t->first, sizeof(t->first), fmt, ap);
	va_end(ap);
	n = strlen(t->first);
	snprintf(t->first + n, sizeof(t->first) - n, ": got %s",
		 t_errname(got));
	n = strlen(t->first);
	snprintf(t->first + n, sizeof(t->first) - n, ", want %s",
		 t_errname(want));
}

void t_tally_done(struct t_tally *t, const char *what, const char *file,
		  int line)
{
	char msg[512];

	if (!t->bad)
		return;
	snprintf(msg, sizeof(msg), "%.100s: %lu of %lu cases wrong, first: %s",
		 what, t->bad, t->runs, t->first);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

/* ---- fixture ---- */

void t_config_kernel(struct gm_config *cfg)
{
	gm_config_init(cfg);
	cfg->vm_types = 1U << GM_VM_DEFAULT;
	cfg->vm_attributes = -1;
}

struct gm_host *t_host_create(const struct gm_config *cfg)
{
	struct gm_host *h = NULL;
	int r = gm_host_create(cfg, &h);

	CU_ASSERT_FATAL(r == 0 && h != NULL);
	t_host_register(h);
	t_check_one(h, __FILE__, __LINE__);
	return h;
}

void t_host_destroy(struct gm_host *h)
{
	if (!h)
		return;
	t_check_one(h, __FILE__, __LINE__);
	t_host_unregister(h);
	gm_host_destroy(h);
}

int fx_init(const struct gm_config *cfg, enum gm_vm_type type)
{
	int fds[64];
	long r;

	memset(&fx, 0, sizeof(fx));
	fx.kvm = -1;
	fx.vm = -1;
	fx.cfg = *cfg;
	fx.type = type;
	t_check_failures = 0;
	r = gm_host_create(cfg, &fx.h);
	if (r)
		return (int)r;
	t_host_register(fx.h);
	fx.p = gm_host_init_proc(fx.h);
	/*
	 * Grow the fd table once so that its capacity is part of the
	 * baseline: the teardown compares the model's memory with it.
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(fds); i++)
		fds[i] = gm_open_null(fx.p);
	for (unsigned int i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			gm_close(fx.p, fds[i]);
	gm_host_mem_stats(fx.h, &fx.base);
	r = gm_open_kvm(fx.p);
	if (r < 0)
		return (int)r;
	fx.kvm = (int)r;
	r = gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM, gm_vm_type_to_kvm(type));
	if (r < 0)
		return (int)r;
	fx.vm = (int)r;
	return gm_host_check(fx.h, stderr);
}

void fx_fini(void)
{
	struct gm_mem_stats st;
	char msg[256];

	if (!fx.h)
		return;
	t_check_hosts("the test", __FILE__, __LINE__);
	for (unsigned int i = 0; i < fx.nr_procs; i++)
		gm_proc_exit(fx.procs[i]);
	gm_proc_exit(fx.p);
	t_check_one(fx.h, __FILE__, __LINE__);
	gm_host_mem_stats(fx.h, &st);
	/* rule 16: every test frees what it made */
	if (!fx.no_leak_check && fx.nr_procs == 0 &&
	    st.cur_bytes > fx.base.cur_bytes) {
		snprintf(msg, sizeof(msg),
			 "model memory after closing everything: %zu bytes "
			 "in %zu allocations, %zu bytes (%zu) right after "
			 "the host was made",
			 st.cur_bytes, st.nr_live, fx.base.cur_bytes,
			 fx.base.nr_live);
		CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
					CU_FALSE);
	}
	/* forget hosts a failed test left behind */
	for (unsigned int i = 0; i < T_MAX_HOSTS; i++) {
		if (t_hosts[i] && t_hosts[i] != fx.h) {
			gm_host_destroy(t_hosts[i]);
			t_hosts[i] = NULL;
		}
	}
	t_host_unregister(fx.h);
	gm_host_destroy(fx.h);
	memset(&fx, 0, sizeof(fx));
	fx.kvm = -1;
	fx.vm = -1;
}

static void fx_setup(const struct gm_config *cfg, enum gm_vm_type type)
{
	char msg[128];
	int r = fx_init(cfg, type);

	if (r) {
		snprintf(msg, sizeof(msg), "fixture (vm type %s): %s",
			 gm_vm_type_name(type), t_errname(r));
		CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
					CU_FALSE);
	}
}

void fx_setup_kernel(void)
{
	struct gm_config cfg;

	t_config_kernel(&cfg);
	fx_setup(&cfg, GM_VM_DEFAULT);
}

void fx_setup_all(void)
{
	struct gm_config cfg;

	gm_config_init(&cfg);
	fx_setup(&cfg, GM_VM_DEFAULT);
}

void fx_setup_swprot(void)
{
	struct gm_config cfg;

	gm_config_init(&cfg);
	fx_setup(&cfg, GM_VM_SW_PROTECTED);
}

void fx_setup_inplace(void)
{
	struct gm_config cfg;

	gm_config_init(&cfg);
	cfg.profile = GM_PROFILE_INPLACE;
	fx_setup(&cfg, GM_VM_SW_PROTECTED);
}

void t_config_hugetlb(struct gm_config *cfg)
{
	gm_config_init(cfg);
	cfg->profile = GM_PROFILE_HUGETLB;
	cfg->hugetlb_pool_2m = T_HUGETLB_POOL_2M;
	cfg->hugetlb_pool_1g = T_HUGETLB_POOL_1G;
	cfg->policy = GM_POLICY_EAGER;
}

void fx_setup_hugetlb(void)
{
	struct gm_config cfg;

	t_config_hugetlb(&cfg);
	fx_setup(&cfg, GM_VM_SW_PROTECTED);
}

void fx_reinit(const struct gm_config *cfg, enum gm_vm_type type)
{
	fx_fini();
	GM_OK_FATAL(fx_init(cfg, type));
}

void fx_teardown(void)
{
	fx_fini();
}

struct gm_proc *fx_fork(void)
{
	struct gm_proc *c = NULL;

	CU_ASSERT_FATAL(fx.nr_procs < FX_MAX_PROCS);
	GM_OK_FATAL(gm_proc_fork(fx.p, &c));
	CU_ASSERT_FATAL(c != NULL);
	fx.procs[fx.nr_procs++] = c;
	return c;
}

/* ---- model call helpers ---- */

long __gmem_create(struct gm_proc *p, int vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd args = { .size = size, .flags = flags };

	return gm_ioctl(p, vm, KVM_CREATE_GUEST_MEMFD, (unsigned long)&args);
}

int gmem_create(uint64_t size, uint64_t flags)
{
	return GM_FD(__gmem_create(fx.p, fx.vm, size, flags));
}

long __set_region2(struct gm_proc *p, int vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, uint64_t uaddr, int gfd,
		   uint64_t off)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
		.guest_memfd_offset = off,
		.guest_memfd = (uint32_t)gfd,
	};

	return gm_ioctl(p, vm, KVM_SET_USER_MEMORY_REGION2, (unsigned long)&r);
}

void bind_slot(uint32_t slot, uint64_t gpa, uint64_t size, int gfd,
	       uint64_t off)
{
	GM_OK(__set_region2(fx.p, fx.vm, slot, KVM_MEM_GUEST_MEMFD, gpa, size,
			    UADDR_ANON, gfd, off));
}

void delete_slot(uint32_t slot)
{
	GM_OK(__set_region2(fx.p, fx.vm, slot, KVM_MEM_GUEST_MEMFD, 0, 0, 0,
			    -1, 0));
}

long __set_region1(struct gm_proc *p, int vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return gm_ioctl(p, vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r);
}

long __set_attrs(struct gm_proc *p, int vm, uint64_t addr, uint64_t size,
		 uint64_t attrs, uint64_t flags)
{
	struct kvm_memory_attributes a = {
		.address = addr,
		.size = size,
		.attributes = attrs,
		.flags = flags,
	};

	return gm_ioctl(p, vm, KVM_SET_MEMORY_ATTRIBUTES, (unsigned long)&a);
}

long check_ext(struct gm_proc *p, int fd, long cap)
{
	return gm_ioctl(p, fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
}

long __map(struct gm_proc *p, uint64_t len, int prot, int flags, int fd,
	   uint64_t off, uint64_t *addr)
{
	return gm_mmap(p, len, prot, flags, fd, off, addr);
}

uint64_t map_shared(int fd, uint64_t len, uint64_t off)
{
	uint64_t addr = 0;

	GM_OK_FATAL(gm_mmap(fx.p, len, RW, GMEM_MAP_SHARED, fd, off, &addr));
	return addr;
}

void hva_backing_make(struct hva_backing *b, uint64_t len)
{
	b->len = len;
	b->vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
			       gm_vm_type_to_kvm(GM_VM_DEFAULT)));
	b->gmem = GM_FD(__gmem_create(fx.p, b->vm, len, FL_BOTH));
	b->addr = map_shared(b->gmem, len, 0);
}

void hva_backing_free(struct hva_backing *b)
{
	if (b->addr)
		GM_OK(gm_munmap(fx.p, b->addr, b->len));
	GM_OK(gm_close(fx.p, b->gmem));
	GM_OK(gm_close(fx.p, b->vm));
}

/* ---- host accesses ---- */

int t_load(struct gm_proc *p, uint64_t addr, uint8_t *val)
{
	uint8_t b = 0;
	int sig = -1;

	GM_OK(gm_host_access(p, addr, GM_ACCESS_READ, &b, &sig));
	if (val)
		*val = b;
	return sig;
}

int t_store(struct gm_proc *p, uint64_t addr, uint8_t val)
{
	uint8_t b = val;
	int sig = -1;

	GM_OK(gm_host_access(p, addr, GM_ACCESS_WRITE, &b, &sig));
	return sig;
}

static int __access(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		    uint8_t *b, bool check)
{
	int sig = -1;
	int r = gm_host_access(p, addr, acc, b, &sig);

	if (r != 0) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "gm_host_access(%#llx): got %s, want 0",
			 (unsigned long long)addr, t_errname(r));
		CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
					CU_FALSE);
		return -1;
	}
	if (check)
		t_check_hosts("gm_host_access", __FILE__, __LINE__);
	return sig;
}

int t_fill(struct gm_proc *p, uint64_t addr, uint64_t len, uint8_t val,
	   uint64_t *where)
{
	for (uint64_t a = addr; a < addr + len; a++) {
		uint8_t b = val;
		int sig = __access(p, a, GM_ACCESS_WRITE, &b, true);

		if (sig) {
			if (where)
				*where = a;
			return sig;
		}
	}
	return 0;
}

int t_verify(struct gm_proc *p, uint64_t addr, uint64_t len, uint8_t val,
	     uint64_t *bad, uint64_t *first_bad)
{
	uint64_t nbad = 0;

	if (first_bad)
		*first_bad = ~0ULL;
	for (uint64_t a = addr; a < addr + len; a++) {
		uint8_t b = 0;
		/* the first load of a page may fault it in: check after it */
		bool first = a == addr || (a & (PAGE - 1)) == 0;
		int sig = __access(p, a, GM_ACCESS_READ, &b, first);

		if (sig) {
			if (bad)
				*bad = nbad;
			if (first_bad && *first_bad == ~0ULL)
				*first_bad = a;
			return sig;
		}
		if (b != val) {
			if (!nbad && first_bad)
				*first_bad = a;
			nbad++;
		}
	}
	if (bad)
		*bad = nbad;
	return 0;
}

void t_expect_fill(struct gm_proc *p, uint64_t addr, uint64_t len,
		   uint8_t val, const char *file, int line)
{
	uint64_t where = 0;
	int sig = t_fill(p, addr, len, val, &where);
	char msg[160];

	if (!sig)
		return;
	snprintf(msg, sizeof(msg),
		 "store %#x to [%#llx, +%#llx): signal %d at %#llx", val,
		 (unsigned long long)addr, (unsigned long long)len, sig,
		 (unsigned long long)where);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

void t_expect_bytes(struct gm_proc *p, uint64_t addr, uint64_t len,
		    uint8_t val, const char *file, int line)
{
	uint64_t bad = 0, first = 0;
	int sig = t_verify(p, addr, len, val, &bad, &first);
	char msg[200];

	if (!sig && !bad)
		return;
	snprintf(msg, sizeof(msg),
		 "[%#llx, +%#llx) should read %#x: signal %d, %llu bytes "
		 "differ, first at %#llx",
		 (unsigned long long)addr, (unsigned long long)len, val, sig,
		 (unsigned long long)bad, (unsigned long long)first);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

void t_expect_sig(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		  int sig, const char *file, int line)
{
	uint8_t b = 0x5a;
	int got = __access(p, addr, acc, &b, true);
	char msg[160];

	if (got == sig)
		return;
	snprintf(msg, sizeof(msg), "%s at %#llx: signal %d, want %d",
		 acc == GM_ACCESS_READ ? "load" : "store",
		 (unsigned long long)addr, got, sig);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

/* ---- guest accesses ---- */

struct gm_guest_fault guest(struct gm_proc *p, int vm, uint64_t gpa,
			    enum gm_access acc, enum gm_intent intent,
			    uint8_t byte)
{
	struct gm_guest_fault f;

	memset(&f, 0, sizeof(f));
	f.gpa = gpa;
	f.access = acc;
	f.intent = intent;
	f.byte = byte;
	f.outcome = (enum gm_guest_outcome)-1;
	GM_OK(gm_guest_access(p, vm, &f));
	return f;
}

/* ---- introspection helpers ---- */

struct gm_gmem_info gmem_info(int fd)
{
	struct gm_gmem_info i;

	memset(&i, 0, sizeof(i));
	GM_OK(gm_gmem_info(fx.p, fd, &i));
	return i;
}

struct gm_vm_info vm_info(struct gm_proc *p, int vm)
{
	struct gm_vm_info i;

	memset(&i, 0, sizeof(i));
	GM_OK(gm_vm_info(p, vm, &i));
	return i;
}

unsigned int stage2(struct gm_proc *p, int vm, uint64_t gfn)
{
	unsigned int f = 0xdead;

	GM_OK(gm_vm_stage2_flags(p, vm, gfn, &f));
	return f;
}

unsigned int folio_flags(int fd, uint64_t index)
{
	unsigned int f = 0xdead;

	GM_OK(gm_gmem_folio_flags(fx.p, fd, index, &f));
	return f;
}

uint64_t attrs_of(struct gm_proc *p, int vm, uint64_t gfn)
{
	uint64_t a = 0xdead;

	GM_OK(gm_vm_attributes(p, vm, gfn, &a));
	return a;
}

struct gm_stat fstat_of(int fd)
{
	struct gm_stat st;

	memset(&st, 0, sizeof(st));
	GM_OK(gm_fstat(fx.p, fd, &st));
	return st;
}

size_t mem_cur(struct gm_host *h)
{
	struct gm_mem_stats st;

	gm_host_mem_stats(h, &st);
	return st.cur_bytes;
}

/* ---- profile inplace ---- */

long __gmem_convert(struct gm_proc *p, int gfd, uint64_t offset, uint64_t size,
		    uint64_t attrs, uint64_t *error_offset)
{
	struct kvm_memory_attributes2 a;
	long r;

	memset(&a, 0, sizeof(a));
	a.offset = offset;
	a.size = size;
	a.attributes = attrs;
	r = gm_ioctl(p, gfd, KVM_SET_MEMORY_ATTRIBUTES2, (unsigned long)&a);
	if (error_offset)
		*error_offset = a.error_offset;
	return r;
}

void gmem_convert(int gfd, uint64_t offset, uint64_t size, uint64_t attrs)
{
	GM_OK(__gmem_convert(fx.p, gfd, offset, size, attrs, NULL));
}

bool t_pte_present(struct gm_proc *p, uint64_t addr)
{
	const struct gm_vma *vma;

	for (vma = p->vmas; vma; vma = vma->next)
		if (addr >= vma->vm_start && addr < vma->vm_end)
			return rmap_lookup(&vma->ptes,
					   vma->vm_pgoff +
						   ((addr - vma->vm_start) >>
						    PAGE_SHIFT),
					   NULL);
	return false;
}
