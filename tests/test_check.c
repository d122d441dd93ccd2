// SPDX-License-Identifier: GPL-2.0
/*
 * White-box tests of the consistency checker (model/check.c): every rule
 * of gm_host_check() must fire on the state it forbids, and say so.
 *
 * Each test builds a small valid state through the public API, corrupts
 * one field of one object directly (model/internal.h), asserts that
 * gm_host_check() returns -EUCLEAN and that its dump names the broken
 * rule, then restores the field and asserts the check passes again, so
 * the teardown (which checks and frees everything) runs on a sound state.
 * No GM_* macro runs while a field is corrupted: they check the host.
 *
 * The rules are the invariants of upstream-semantics.md §5 the checker
 * states (its comments name them) and, for the inplace profile, inflight
 * §6.1.1 ("attributes cover [0, size) at all times, coalesced") and
 * §6.1.7 (the host never maps a private page).  House-style rule 11: a
 * failing invariant dumps the object's state, so the dump is checked to
 * hold the object too.
 */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "internal.h"

#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)
#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE
#define DUMP_MAX 65536

/* A SW_PROTECTED VM beside the fixture's DEFAULT one (VM attributes). */
static int swprot_vm(void)
{
	return GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
			      gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
}

/* ---- access to the objects behind the fixture's fds ---- */

static struct gm_file *file_of(int fd)
{
	return fx.p->fds[fd];
}

static struct gmem_file *gf_of(int fd)
{
	return file_of(fd)->private_data;
}

static struct gmem_inode *inode_of(int fd)
{
	return gf_of(fd)->inode;
}

static struct kvm *kvm_of(int vm)
{
	return file_of(vm)->private_data;
}

static struct gm_vma *vma_at(struct gm_proc *p, uint64_t addr)
{
	struct gm_vma *vma;

	for (vma = p->vmas; vma; vma = vma->next)
		if (addr >= vma->vm_start && addr < vma->vm_end)
			return vma;
	CU_FAIL_FATAL("no vma at the address");
	return NULL;
}

/* ---- the check, its dump, and the assertions ---- */

/* gm_host_check() on the fixture host, its dump text in @buf. */
static int check_dump(char *buf, size_t len)
{
	FILE *f = tmpfile();
	size_t n;
	int r;

	CU_ASSERT_FATAL(f != NULL);
	r = gm_host_check(fx.h, f);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return r;
}

/*
 * The check fails, its first line names @rule and the dump that follows
 * shows @obj (the object's dump header).
 */
#define EXPECT_BROKEN(rule, obj) \
	t_expect_broken((rule), (obj), __FILE__, __LINE__)

static void t_expect_broken(const char *rule, const char *obj, const char *file,
			    int line)
{
	char *buf = malloc(DUMP_MAX);
	char msg[512];
	int r;

	CU_ASSERT_FATAL(buf != NULL);
	r = check_dump(buf, DUMP_MAX);
	if (r != -EUCLEAN) {
		snprintf(msg, sizeof(msg),
			 "gm_host_check() with \"%s\" broken: got %s, want "
			 "-EUCLEAN",
			 rule, t_errname(r));
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	} else if (!strstr(buf, "gmem check failed") || !strstr(buf, rule) ||
		   !strstr(buf, obj)) {
		snprintf(msg, sizeof(msg),
			 "dump should name \"%s\" and show \"%s\": %.300s",
			 rule, obj, buf);
		CU_assertImplementation(CU_FALSE, line, msg, file, "",
					CU_FALSE);
	} else {
		CU_assertImplementation(CU_TRUE, line, rule, file, "",
					CU_FALSE);
	}
	/* without a dump stream the verdict is the same, silently */
	if (gm_host_check(fx.h, NULL) != -EUCLEAN)
		CU_assertImplementation(CU_FALSE, line,
					"gm_host_check(h, NULL) != -EUCLEAN",
					file, "", CU_FALSE);
	free(buf);
}

/* After restoring: the check passes again. */
#define EXPECT_SOUND() check_host(fx.h)

#define INODE "gmem_inode ino="
#define KVM "  kvm "
#define PROC "proc pid="

/* ---- rmap well-formedness, on every map the checker walks ---- */

/*
 * Each of the four rmap rules (rmap.h: sorted, disjoint, non-empty,
 * coalesced) reported by name for @m, which holds at least two runs that
 * do not touch and hold the same value.
 */
static void break_rmap_each_way(struct rmap *m, const char *name,
				const char *obj)
{
	char rule[128];
	struct rmap_run r0 = m->r_runs[0], r1 = m->r_runs[1];
	uint32_t cap = m->r_cap;

	CU_ASSERT_FATAL(m->r_nr >= 2 && r0.end < r1.start);
	/* lower the recorded capacity: the dump still reads valid runs */
	m->r_cap = m->r_nr - 1;
	snprintf(rule, sizeof(rule), "%s: more runs than capacity", name);
	EXPECT_BROKEN(rule, obj);
	m->r_cap = cap;

	m->r_runs[0].end = r0.start;
	snprintf(rule, sizeof(rule), "%s: empty or inverted run", name);
	EXPECT_BROKEN(rule, obj);
	m->r_runs[0] = r0;

	m->r_runs[1].start = r0.end - 1;
	snprintf(rule, sizeof(rule), "%s: runs overlap or are unsorted", name);
	EXPECT_BROKEN(rule, obj);
	m->r_runs[1] = r1;

	if (m->r_coalesce) {
		m->r_runs[0].end = r1.start;
		m->r_runs[0].val = r1.val;
		snprintf(rule, sizeof(rule),
			 "%s: touching runs with equal values not coalesced",
			 name);
		EXPECT_BROKEN(rule, obj);
		m->r_runs[0] = r0;
	}
	EXPECT_SOUND();
}

/* §5.2 (folios), pins, orphaned pins: the inode's maps are well-formed */
static void test_check_inode_rmaps(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);

	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	GM_OK(gm_fallocate(fx.p, g, KEEP, 2 * PAGE, PAGE));
	GM_OK(gm_gmem_pin(fx.p, g, 4 * PAGE));
	GM_OK(gm_gmem_pin(fx.p, g, 6 * PAGE));
	EXPECT_SOUND();
	break_rmap_each_way(&inode_of(g)->pins, "pins", INODE);
	/* folio runs 0 and 1: the two allocated (not uptodate) pages */
	break_rmap_each_way(&inode_of(g)->folios, "folios", INODE);
	/* a punch orphans both pins */
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 4 * PAGE, 4 * PAGE));
	break_rmap_each_way(&inode_of(g)->orphan_pins, "orphan_pins", INODE);
	GM_OK(gm_gmem_unpin(fx.p, g, 4 * PAGE));
	GM_OK(gm_gmem_unpin(fx.p, g, 6 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* ---- gmem_inode ---- */

/* §5.1: the size is a positive multiple of the page size */
static void test_check_inode_size(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);

	inode->i_size = 4 * PAGE + 1;
	EXPECT_BROKEN("size not a positive multiple of the page size", INODE);
	inode->i_size = 0;
	EXPECT_BROKEN("size not a positive multiple of the page size", INODE);
	inode->i_size = 4 * PAGE;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §5.1: only MMAP and INIT_SHARED exist */
static void test_check_inode_flags(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);

	inode_of(g)->flags |= 1ULL << 2;
	EXPECT_BROKEN("unknown creation flags", INODE);
	inode_of(g)->flags &= ~(1ULL << 2);
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §5.2: folios lie inside the file */
static void test_check_folio_past_eof(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);

	CU_ASSERT_FATAL(rmap_store(&inode->folios, 4, 5, GM_FOLIO_PRESENT) ==
			0);
	EXPECT_BROKEN("folio at index 0x4 past EOF", INODE);
	CU_ASSERT_FATAL(rmap_erase(&inode->folios, 4, 5) == 0);
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §2.2: a folio run is PRESENT, with known bits only */
static void test_check_folio_state_bits(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);

	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	inode->folios.r_runs[0].val = GM_FOLIO_UPTODATE;
	EXPECT_BROKEN("folio run without PRESENT", INODE);
	inode->folios.r_runs[0].val = GM_FOLIO_PRESENT | 0x80;
	EXPECT_BROKEN("unknown folio bits 0x81", INODE);
	inode->folios.r_runs[0].val = GM_FOLIO_PRESENT;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/*
 * §5.3/§5.4/§5.6: a host PTE maps only an uptodate, healthy folio, and
 * never an index without one.
 */
static void test_check_pte_on_bad_folio(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gm_vma *vma = vma_at(fx.p, a);

	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	CU_ASSERT(t_store(fx.p, a + PAGE, 1) == 0);
	GM_OK(gm_gmem_poison(fx.p, g, PAGE));

	CU_ASSERT_FATAL(rmap_store(&vma->ptes, 0, 1, 1) == 0);
	EXPECT_BROKEN("host PTE maps index 0 whose folio is not uptodate",
		      INODE);
	CU_ASSERT_FATAL(rmap_erase(&vma->ptes, 0, 1) == 0);
	EXPECT_SOUND();

	CU_ASSERT_FATAL(rmap_store(&vma->ptes, 1, 2, 1) == 0);
	EXPECT_BROKEN("host PTE maps index 0x1 whose folio is hwpoisoned",
		      INODE);
	CU_ASSERT_FATAL(rmap_erase(&vma->ptes, 1, 2) == 0);
	EXPECT_SOUND();

	CU_ASSERT_FATAL(rmap_store(&vma->ptes, 3, 4, 1) == 0);
	EXPECT_BROKEN("host PTE maps index 0x3 which has no folio", INODE);
	CU_ASSERT_FATAL(rmap_erase(&vma->ptes, 3, 4) == 0);
	EXPECT_SOUND();

	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* §5.5 (mainline): host PTEs need MMAP and INIT_SHARED */
static void test_check_pte_on_unmappable_file(void)
{
	int g = gmem_create(4 * PAGE, FL_MMAP);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gmem_inode *inode = inode_of(g);
	struct gm_vma *vma = vma_at(fx.p, a);

	CU_ASSERT_FATAL(rmap_store(&inode->folios, 0, 1,
				   GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE) == 0);
	EXPECT_SOUND();
	CU_ASSERT_FATAL(rmap_store(&vma->ptes, 0, 1, 1) == 0);
	EXPECT_BROKEN("of a file the host cannot map", INODE);
	CU_ASSERT_FATAL(rmap_erase(&vma->ptes, 0, 1) == 0);
	EXPECT_SOUND();
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* inflight §2.7: no per-file attributes in VM-attribute (mainline) mode */
static void test_check_attrs_outside_inplace(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);

	CU_ASSERT_FATAL(rmap_store(&inode->attrs, 0, 4, PRIV) == 0);
	EXPECT_BROKEN("per-file attributes outside the inplace profile", INODE);
	CU_ASSERT_FATAL(rmap_erase(&inode->attrs, 0, 4) == 0);
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §2.2: written bytes exist only on an uptodate folio */
static void test_check_data_without_uptodate(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);
	struct gm_guest_fault f;

	bind_slot(0, GPA0, 4 * PAGE, g, 0);
	f = guest(fx.p, fx.vm, GPA0 + 2 * PAGE + 7, GM_ACCESS_WRITE,
		  GM_INTENT_DEFAULT, 0x99);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	inode->folios.r_runs[0].val = GM_FOLIO_PRESENT;
	EXPECT_BROKEN("data kept for index 0x2 without an uptodate folio",
		      INODE);
	inode->folios.r_runs[0].val = GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE;
	EXPECT_SOUND();
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* pins are positive counts on present folios */
static void test_check_pins(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);

	GM_OK(gm_gmem_pin(fx.p, g, 0));
	inode->pins.r_runs[0].val = 0;
	EXPECT_BROKEN("zero pin count", INODE);
	inode->pins.r_runs[0].val = 1;
	EXPECT_SOUND();
	CU_ASSERT_FATAL(rmap_store(&inode->pins, 5, 6, 1) == 0);
	EXPECT_BROKEN("pin on index 0x5 without a folio", INODE);
	CU_ASSERT_FATAL(rmap_erase(&inode->pins, 5, 6) == 0);
	EXPECT_SOUND();
	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	GM_OK(gm_close(fx.p, g));
}

/* §5.7: an inode lives while a file uses it; files are on their inode */
static void test_check_inode_file_list(void)
{
	int g1 = gmem_create(4 * PAGE, FL_BOTH);
	int g2 = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g1);
	struct gmem_file *list = inode->gmem_file_list;

	inode->gmem_file_list = NULL;
	EXPECT_BROKEN("inode alive without a file", INODE);
	inode->gmem_file_list = list;
	EXPECT_SOUND();

	gf_of(g1)->inode = inode_of(g2);
	EXPECT_BROKEN("file on the wrong inode's list", INODE);
	gf_of(g1)->inode = inode;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g2));
	GM_OK(gm_close(fx.p, g1));
}

/* §5.7/§2.3: a gmem file holds its VM and a reference */
static void test_check_file_vm_and_refs(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct gmem_file *f = gf_of(g);
	struct gm_file *file = file_of(g);
	struct kvm *kvm = f->kvm;

	f->kvm = NULL;
	EXPECT_BROKEN("file's VM is gone", INODE);
	f->kvm = kvm;
	EXPECT_SOUND();

	/* out of the fd table, so that the fd rule does not fire first */
	fx.p->fds[g] = NULL;
	file->f_count = 0;
	EXPECT_BROKEN("file on the list with no reference", INODE);
	file->f_count = 1;
	fx.p->fds[g] = file;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §5.9: bindings are well-formed and agree with their slots */
static void test_check_bindings(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	struct gmem_file *f = gf_of(g);
	struct kvm_memory_slot *slot;
	struct rmap_run r0;

	bind_slot(0, GPA0, 2 * PAGE, g, 0);
	bind_slot(1, GPA0 + 4 * PAGE, 2 * PAGE, g, 4 * PAGE);
	r0 = f->bindings.r_runs[0];
	f->bindings.r_runs[0].end = r0.start;
	EXPECT_BROKEN("bindings: empty or inverted run", INODE);
	f->bindings.r_runs[0] = r0;
	EXPECT_SOUND();

	slot = kvm_of(fx.vm)->slots[0];
	slot->gmem.pgoff++;
	EXPECT_BROKEN("binding [0,0x2) disagrees with its slot", INODE);
	slot->gmem.pgoff--;
	EXPECT_SOUND();
	delete_slot(1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* ---- kvm ---- */

/* the VM's maps (slot gfns, attributes, stage-2) are well-formed */
static void test_check_kvm_rmaps(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	int vm2 = swprot_vm();
	struct kvm *kvm = kvm_of(fx.vm);

	bind_slot(0, GPA0, 2 * PAGE, g, 0);
	bind_slot(1, GPA0 + 4 * PAGE, 2 * PAGE, g, 4 * PAGE);
	GM_OK(__set_attrs(fx.p, vm2, 0, PAGE, PRIV, 0));
	GM_OK(__set_attrs(fx.p, vm2, 4 * PAGE, PAGE, PRIV, 0));
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0 + 5 * PAGE, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	EXPECT_SOUND();
	break_rmap_each_way(&kvm_of(vm2)->mem_attr, "mem_attr", KVM);
	break_rmap_each_way(&kvm->sptes, "sptes", KVM);
	/* two slots' runs, made to touch with one value for the last rule */
	break_rmap_each_way(&kvm->slot_gfns, "slot_gfns", KVM);
	delete_slot(1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, vm2));
	GM_OK(gm_close(fx.p, g));
}

/* §5.17: invalidations are balanced between operations */
static void test_check_invalidation_in_progress(void)
{
	struct kvm *kvm = kvm_of(fx.vm);

	kvm->mmu_invalidate_in_progress = 1;
	EXPECT_BROKEN("invalidation left in progress", KVM);
	kvm->mmu_invalidate_in_progress = 0;
	EXPECT_SOUND();
}

/* §3.10: slots sorted by id, non-empty, user ids only, in the gfn map */
static void test_check_slot_table(void)
{
	struct hva_backing b;
	struct kvm *kvm = kvm_of(fx.vm);
	struct kvm_memory_slot *s0, *s1;
	struct rmap_run run;

	hva_backing_make(&b, 4 * PAGE);
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, GPA0, 2 * PAGE, b.addr));
	GM_OK(__set_region1(fx.p, fx.vm, 2, 0, GPA0 + 2 * PAGE, 2 * PAGE,
			    b.addr + 2 * PAGE));
	s0 = kvm->slots[0];
	s1 = kvm->slots[1];

	kvm->slots[0] = s1;
	kvm->slots[1] = s0;
	EXPECT_BROKEN("slots not sorted by id", KVM);
	kvm->slots[0] = s0;
	kvm->slots[1] = s1;
	EXPECT_SOUND();

	s0->npages = 0;
	EXPECT_BROKEN("slot 1 empty or out of range", KVM);
	s0->npages = 2;
	s1->id = KVM_USER_MEM_SLOTS;
	EXPECT_BROKEN("slot 32764 empty or out of range", KVM);
	s1->id = 2;
	EXPECT_SOUND();

	CU_ASSERT_FATAL(rmap_lookup_run(&kvm->slot_gfns, GFN0, &run));
	CU_ASSERT_FATAL(rmap_erase(&kvm->slot_gfns, GFN0, GFN0 + 1) == 0);
	EXPECT_BROKEN("slot 1 not in the gfn map", KVM);
	CU_ASSERT_FATAL(rmap_store(&kvm->slot_gfns, GFN0, GFN0 + 1, run.val) ==
			0);
	EXPECT_SOUND();

	kvm->nr_memslot_pages++;
	EXPECT_BROKEN("nr_memslot_pages 5, slots hold 4", KVM);
	kvm->nr_memslot_pages--;
	EXPECT_SOUND();

	/* a run beyond every slot, pointing at a live slot */
	CU_ASSERT_FATAL(rmap_store(&kvm->slot_gfns, GFN0 + 100, GFN0 + 101,
				   (uintptr_t)s0) == 0);
	EXPECT_BROKEN("gfn map holds pages of no slot", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->slot_gfns, GFN0 + 100, GFN0 + 101) ==
			0);
	EXPECT_SOUND();

	/* the right pages, but pointing at a slot that is not listed */
	kvm->slot_gfns.r_runs[0].val = (uintptr_t)&run;
	EXPECT_BROKEN("gfn map points at a deleted slot", KVM);
	kvm->slot_gfns.r_runs[0].val = (uintptr_t)s0;
	EXPECT_SOUND();

	GM_OK(__set_region1(fx.p, fx.vm, 2, 0, 0, 0, 0));
	GM_OK(__set_region1(fx.p, fx.vm, 1, 0, 0, 0, 0));
	hva_backing_free(&b);
}

/*
 * §5.9-§5.11: a guest_memfd slot has neither LOG nor RO, is in its file's
 * bindings, belongs to the file's VM, and is GMEM_ONLY iff the file has
 * MMAP.
 */
static void test_check_gmem_slot(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	int vm2 = swprot_vm();
	struct gmem_file *f = gf_of(g);
	struct kvm_memory_slot *slot, fake;
	uint64_t val;

	bind_slot(0, GPA0, 4 * PAGE, g, 0);
	slot = kvm_of(fx.vm)->slots[0];

	slot->flags |= KVM_MEM_READONLY;
	EXPECT_BROKEN("guest_memfd slot 0 with LOG/RO", KVM);
	slot->flags &= ~KVM_MEM_READONLY;
	EXPECT_SOUND();

	/* the binding names a twin of the slot: the file agrees, KVM not */
	fake = *slot;
	val = f->bindings.r_runs[0].val;
	f->bindings.r_runs[0].val = (uintptr_t)&fake;
	EXPECT_BROKEN("slot 0 not in its file's bindings", KVM);
	f->bindings.r_runs[0].val = val;
	EXPECT_SOUND();

	f->kvm = kvm_of(vm2);
	EXPECT_BROKEN("slot 0 bound to another VM's file", KVM);
	f->kvm = kvm_of(fx.vm);
	EXPECT_SOUND();

	slot->flags &= ~KVM_MEMSLOT_GMEM_ONLY;
	EXPECT_BROKEN("slot 0 GMEM_ONLY disagrees with MMAP", KVM);
	slot->flags |= KVM_MEMSLOT_GMEM_ONLY;
	EXPECT_SOUND();

	delete_slot(0);
	GM_OK(gm_close(fx.p, vm2));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §5.13, §3.12 step 3: stored VM attributes are supported, non-zero
 * values: PRIVATE only on a VM with private memory, never on DEFAULT.
 */
static void test_check_vm_attribute_unsupported(void)
{
	int vm2 = swprot_vm();
	struct kvm *kvm = kvm_of(vm2);

	GM_OK(__set_attrs(fx.p, vm2, GPA0, PAGE, PRIV, 0));
	kvm->mem_attr.r_runs[0].val = 1;
	EXPECT_BROKEN("attribute 0x1 not supported", KVM);
	kvm->mem_attr.r_runs[0].val = PRIV;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, vm2));

	kvm = kvm_of(fx.vm);
	CU_ASSERT_FATAL(rmap_store(&kvm->mem_attr, GFN0, GFN0 + 1, PRIV) == 0);
	EXPECT_BROKEN("attribute 0x8 not supported", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->mem_attr, GFN0, GFN0 + 1) == 0);
	EXPECT_SOUND();
}

/* §5.14-§5.16: every stage-2 mapping is in a slot and of the right kind */
static void test_check_spte_kind(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct kvm *kvm = kvm_of(fx.vm);
	int vm2, g2;

	bind_slot(0, GPA0, 4 * PAGE, g, 0);
	CU_ASSERT_FATAL(rmap_store(&kvm->sptes, 5, 6, GM_SPTE_PRESENT) == 0);
	EXPECT_BROKEN("spte for gfn 0x5 outside slots", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->sptes, 5, 6) == 0);
	EXPECT_SOUND();

	CU_ASSERT_FATAL(rmap_store(&kvm->sptes, GFN0, GFN0 + 1,
				   GM_SPTE_PRESENT | GM_SPTE_PRIVATE) == 0);
	EXPECT_BROKEN("private spte on shared gfn", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->sptes, GFN0, GFN0 + 1) == 0);
	EXPECT_SOUND();

	/* a SW_PROTECTED VM: a private gfn mapped shared */
	vm2 = swprot_vm();
	g2 = GM_FD(__gmem_create(fx.p, vm2, 4 * PAGE, FL_MMAP));
	GM_OK(__set_region2(fx.p, vm2, 0, KVM_MEM_GUEST_MEMFD, GPA0, 4 * PAGE,
			    UADDR_ANON, g2, 0));
	GM_OK(__set_attrs(fx.p, vm2, GPA0 + PAGE, PAGE, PRIV, 0));
	CU_ASSERT_FATAL(rmap_store(&kvm_of(vm2)->sptes, GFN0 + 1, GFN0 + 2,
				   GM_SPTE_PRESENT) == 0);
	EXPECT_BROKEN("shared spte on private gfn 0x100001", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm_of(vm2)->sptes, GFN0 + 1, GFN0 + 2) ==
			0);
	EXPECT_SOUND();
	GM_OK(__set_region2(fx.p, vm2, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g2));
	GM_OK(gm_close(fx.p, vm2));

	/* a gmem mapping of an index without an uptodate folio */
	CU_ASSERT_FATAL(rmap_store(&kvm->sptes, GFN0 + 2, GFN0 + 3,
				   GM_SPTE_PRESENT | GM_SPTE_GMEM) == 0);
	EXPECT_BROKEN("maps index 0x2 with folio state 0", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->sptes, GFN0 + 2, GFN0 + 3) == 0);
	EXPECT_SOUND();

	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.9, §3.13 step 5: a gmem mapping needs the slot's file; a shared gmem
 * mapping needs a GMEM_ONLY slot (mainline: a hybrid slot's shared faults
 * go through userspace_addr).
 */
static void test_check_gmem_spte_slot(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	int h = gmem_create(4 * PAGE, 0);
	struct kvm *kvm = kvm_of(fx.vm);
	struct gmem_file *f = gf_of(g);
	struct kvm_memory_slot *slot;
	uint32_t nr;

	bind_slot(0, GPA0, 4 * PAGE, g, 0);
	bind_slot(1, GPA0 + 4 * PAGE, 4 * PAGE, h, 0);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	slot = kvm->slots[0];

	/* the slot loses its file, its binding goes with it */
	nr = f->bindings.r_nr;
	f->bindings.r_nr = 0;
	slot->gmem.file = NULL;
	EXPECT_BROKEN("gmem spte for gfn 0x100000 of a slot without a file",
		      KVM);
	slot->gmem.file = f;
	f->bindings.r_nr = nr;
	EXPECT_SOUND();

	CU_ASSERT_FATAL(rmap_store(&kvm->sptes, GFN0 + 4, GFN0 + 5,
				   GM_SPTE_PRESENT | GM_SPTE_GMEM) == 0);
	EXPECT_BROKEN("shared gmem spte on a hybrid slot", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->sptes, GFN0 + 4, GFN0 + 5) == 0);
	EXPECT_SOUND();

	delete_slot(1);
	delete_slot(0);
	GM_OK(gm_close(fx.p, h));
	GM_OK(gm_close(fx.p, g));
}

/*
 * The stage-2 walk of the checker is bounded per run (it visits 4097 gfns
 * of a run): a valid run longer than that checks clean.
 */
static void test_check_long_spte_run(void)
{
	const uint64_t n = 4200;
	int g = gmem_create(n * PAGE, FL_BOTH);
	struct kvm *kvm = kvm_of(fx.vm);
	unsigned int bad = 0;

	bind_slot(0, GPA0, n * PAGE, g, 0);
	for (uint64_t i = 0; i < n; i++) {
		struct gm_guest_fault f;

		memset(&f, 0, sizeof(f));
		f.gpa = GPA0 + i * PAGE;
		f.intent = GM_INTENT_DEFAULT;
		if (gm_guest_access(fx.p, fx.vm, &f) ||
		    f.outcome != GM_GUEST_OK)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(rmap_nr_runs(&kvm->sptes), 1);
	EXPECT_SOUND();
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* ---- gm_proc ---- */

/* an fd names a live file */
static void test_check_fd_dead_file(void)
{
	int g = gmem_create(PAGE, FL_BOTH);

	file_of(g)->f_count = 0;
	EXPECT_BROKEN("on a dead file", PROC);
	file_of(g)->f_count = 1;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* §3.5, mm: VMAs are page aligned, non-empty, user, sorted, disjoint */
static void test_check_vma_layout(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 2 * PAGE, 0);
	uint64_t b = map_shared(g, 2 * PAGE, 2 * PAGE);
	struct gm_vma *lo = vma_at(fx.p, a < b ? a : b);
	uint64_t end = lo->vm_end;

	CU_ASSERT_FATAL(lo->next != NULL);
	lo->vm_start += 1;
	EXPECT_BROKEN("vma bounds", PROC);
	lo->vm_start -= 1;
	EXPECT_SOUND();

	lo->vm_end = lo->next->vm_start + PAGE;
	EXPECT_BROKEN("vmas overlap or are unsorted", PROC);
	lo->vm_end = end;
	EXPECT_SOUND();

	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
	GM_OK(gm_munmap(fx.p, b, 2 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/* a VMA holds a live file; its PTEs are well-formed and inside it */
static void test_check_vma_file_and_ptes(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 2 * PAGE, 0);
	struct gm_vma *vma = vma_at(fx.p, a);
	struct rmap_run r0;

	CU_ASSERT(t_store(fx.p, a, 1) == 0);
	CU_ASSERT(t_store(fx.p, a + PAGE, 1) == 0);
	GM_OK(gm_close(fx.p, g));
	vma->vm_file->f_count = 0;
	EXPECT_BROKEN("vma on a dead file", PROC);
	vma->vm_file->f_count = 1;
	EXPECT_SOUND();

	r0 = vma->ptes.r_runs[0];
	vma->ptes.r_runs[0].end = r0.start;
	EXPECT_BROKEN("ptes: empty or inverted run", PROC);
	vma->ptes.r_runs[0] = r0;
	EXPECT_SOUND();

	/* index 2 is inside the file but outside this 2-page VMA */
	vma->ptes.r_runs[0].end = 3;
	EXPECT_BROKEN("PTE outside its vma", PROC);
	vma->ptes.r_runs[0] = r0;
	EXPECT_SOUND();
	GM_OK(gm_munmap(fx.p, a, 2 * PAGE));
}

/* ---- reference counts ---- */

/* §2.3: a file's count is its fds plus its VMAs */
static void test_check_file_refcounts(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gm_file *file = file_of(g);
	char rule[96];

	file->f_count++;
	snprintf(rule, sizeof(rule), "fd %d: file has 3 references, 2 expected",
		 g);
	EXPECT_BROKEN(rule, PROC);
	file->f_count--;
	EXPECT_SOUND();

	/* closed while mapped: the VMA alone keeps it */
	GM_OK(gm_close(fx.p, g));
	file->f_count++;
	snprintf(rule, sizeof(rule),
		 "vma %#llx: file has 2 references, 1 expected",
		 (unsigned long long)a);
	EXPECT_BROKEN(rule, PROC);
	file->f_count--;
	EXPECT_SOUND();
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
}

/* §5.7, §2.3: a VM's users are its VM files plus the gmem files on it */
static void test_check_vm_users(void)
{
	int g = gmem_create(PAGE, FL_BOTH);
	int dup = GM_FD(gm_dup(fx.p, fx.vm));
	struct kvm *kvm = kvm_of(fx.vm);

	kvm->users++;
	EXPECT_BROKEN("VM has 3 users, 2 expected", KVM);
	kvm->users--;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, dup));
	GM_OK(gm_close(fx.p, g));
}

/* ---- gm_host_dump ---- */

/*
 * House-style rule 11: the dump shows every object kind with its state:
 * the host line, each process with its fds and VMAs (and PTEs), each VM
 * with its slots and maps, each inode with its maps, files and bindings;
 * a map of more than 16 runs is cut with "...".
 */
static void test_host_dump_prints_every_object(void)
{
	static const char *const want[] = {
		"gmem host: profile=mainline vm_types=0x1f attributes=1",
		"  proc pid=0",
		"    fd 3 -> file",
		"    vma [",
		"      ptes: 1 runs",
		"type=default",
		"type=sw_protected",
		"    slot 0 gfn=[0x100000,+0x40) flags=0x20004",
		"    slot_gfns: 1 runs",
		"    mem_attr: 20 runs",
		"    mem_attr: 0 runs",
		"    sptes: 1 runs",
		"  gmem_inode ino=",
		"    folios: 1 runs",
		"    pins: 0 runs",
		"    orphan_pins: 0 runs",
		"    attrs: 0 runs",
		"    pages with data: 1",
		"    gmem_file 0x",
		"      bindings: 1 runs",
		" ...\n",
	};
	int g = gmem_create(64 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 64 * PAGE, 0);
	int vm2 = swprot_vm();
	char *buf = malloc(DUMP_MAX);
	FILE *f = tmpfile();
	size_t n;

	CU_ASSERT_FATAL(buf != NULL && f != NULL);
	bind_slot(0, GPA0, 64 * PAGE, g, 0);
	CU_ASSERT(t_store(fx.p, a, 0x42) == 0);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	/* 20 runs of VM attributes: cut after 16 */
	for (unsigned int i = 0; i < 20; i++)
		GM_OK(__set_attrs(fx.p, vm2, (1ULL << 40) + 2 * i * PAGE, PAGE,
				  PRIV, 0));

	gm_host_dump(fx.h, f);
	rewind(f);
	n = fread(buf, 1, DUMP_MAX - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(buf, want[i])) {
			char msg[160];

			snprintf(msg, sizeof(msg), "dump lacks \"%s\"",
				 want[i]);
			CU_assertImplementation(CU_FALSE, __LINE__, msg,
						__FILE__, "", CU_FALSE);
		}
	free(buf);
	GM_OK(gm_close(fx.p, vm2));
	delete_slot(0);
	GM_OK(gm_munmap(fx.p, a, 64 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo check_tests[] = {
	{ "test_check_inode_rmaps", test_check_inode_rmaps },
	{ "test_check_inode_size", test_check_inode_size },
	{ "test_check_inode_flags", test_check_inode_flags },
	{ "test_check_folio_past_eof", test_check_folio_past_eof },
	{ "test_check_folio_state_bits", test_check_folio_state_bits },
	{ "test_check_pte_on_bad_folio", test_check_pte_on_bad_folio },
	{ "test_check_pte_on_unmappable_file",
	  test_check_pte_on_unmappable_file },
	{ "test_check_attrs_outside_inplace",
	  test_check_attrs_outside_inplace },
	{ "test_check_data_without_uptodate",
	  test_check_data_without_uptodate },
	{ "test_check_pins", test_check_pins },
	{ "test_check_inode_file_list", test_check_inode_file_list },
	{ "test_check_file_vm_and_refs", test_check_file_vm_and_refs },
	{ "test_check_bindings", test_check_bindings },
	{ "test_check_kvm_rmaps", test_check_kvm_rmaps },
	{ "test_check_invalidation_in_progress",
	  test_check_invalidation_in_progress },
	{ "test_check_slot_table", test_check_slot_table },
	{ "test_check_gmem_slot", test_check_gmem_slot },
	{ "test_check_vm_attribute_unsupported",
	  test_check_vm_attribute_unsupported },
	{ "test_check_spte_kind", test_check_spte_kind },
	{ "test_check_gmem_spte_slot", test_check_gmem_spte_slot },
	{ "test_check_long_spte_run", test_check_long_spte_run },
	{ "test_check_fd_dead_file", test_check_fd_dead_file },
	{ "test_check_vma_layout", test_check_vma_layout },
	{ "test_check_vma_file_and_ptes", test_check_vma_file_and_ptes },
	{ "test_check_file_refcounts", test_check_file_refcounts },
	{ "test_check_vm_users", test_check_vm_users },
	{ "test_host_dump_prints_every_object",
	  test_host_dump_prints_every_object },
	CU_TEST_INFO_NULL,
};

/* ---- profile inplace ---- */

/*
 * inflight §2.2, §6.1.1: the attribute map is well-formed and coalesced,
 * covers exactly [0, size), and holds only 0 or PRIVATE.
 */
static void test_check_inplace_attrs(void)
{
	int g = gmem_create(8 * PAGE, FL_BOTH);
	struct gmem_inode *inode = inode_of(g);
	struct rmap *m = &inode->attrs;
	struct rmap_run r0;

	gmem_convert(g, 2 * PAGE, 2 * PAGE, PRIV);
	gmem_convert(g, 6 * PAGE, 2 * PAGE, PRIV);
	EXPECT_EQ(m->r_nr, 4);

	m->r_runs[1].start = m->r_runs[0].end - 1;
	EXPECT_BROKEN("attrs: runs overlap or are unsorted", INODE);
	m->r_runs[1].start = m->r_runs[0].end;
	EXPECT_SOUND();

	m->r_runs[3].end = 7;
	EXPECT_BROKEN("attributes do not cover exactly [0, size)", INODE);
	m->r_runs[3].end = 8;
	r0 = m->r_runs[0];
	m->r_runs[0].start = 1;
	EXPECT_BROKEN("attributes do not cover exactly [0, size)", INODE);
	m->r_runs[0] = r0;
	EXPECT_SOUND();

	m->r_runs[0].val = 1;
	EXPECT_BROKEN("attribute 0x1", INODE);
	m->r_runs[0].val = 0;
	EXPECT_SOUND();
	GM_OK(gm_close(fx.p, g));
}

/* inflight §2.5, §6.1.7: the host never maps a private index */
static void test_check_inplace_pte_on_private(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(g, 4 * PAGE, 0);
	struct gmem_inode *inode = inode_of(g);

	CU_ASSERT(t_store(fx.p, a + PAGE, 1) == 0);
	CU_ASSERT_FATAL(rmap_store(&inode->attrs, 1, 2, PRIV) == 0);
	EXPECT_BROKEN("host PTE maps private index 0x1", INODE);
	CU_ASSERT_FATAL(rmap_store(&inode->attrs, 1, 2, 0) == 0);
	EXPECT_SOUND();
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, g));
}

/*
 * inflight §2.7 (per-file mode: the VM-level ioctl is off) with the
 * mainline rule §5.14: in inplace the attribute a stage-2 mapping must
 * match is the file's, looked up through the memslot.
 */
static void test_check_inplace_spte_follows_file(void)
{
	int g = gmem_create(4 * PAGE, FL_BOTH);
	struct kvm *kvm = kvm_of(fx.vm);

	bind_slot(0, GPA0, 4 * PAGE, g, 0);
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	CU_ASSERT_FATAL(rmap_store(&inode_of(g)->attrs, 0, 1, PRIV) == 0);
	EXPECT_BROKEN("shared spte on private gfn 0x100000", KVM);
	CU_ASSERT_FATAL(rmap_store(&inode_of(g)->attrs, 0, 1, 0) == 0);
	EXPECT_SOUND();
	CU_ASSERT_FATAL(rmap_store(&kvm->sptes, GFN0 + 1, GFN0 + 2,
				   GM_SPTE_PRESENT | GM_SPTE_PRIVATE) == 0);
	EXPECT_BROKEN("private spte on shared gfn 0x100001", KVM);
	CU_ASSERT_FATAL(rmap_erase(&kvm->sptes, GFN0 + 1, GFN0 + 2) == 0);
	EXPECT_SOUND();
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

CU_TestInfo check_inplace_tests[] = {
	{ "test_check_inplace_attrs", test_check_inplace_attrs },
	{ "test_check_inplace_pte_on_private",
	  test_check_inplace_pte_on_private },
	{ "test_check_inplace_spte_follows_file",
	  test_check_inplace_spte_follows_file },
	CU_TEST_INFO_NULL,
};
