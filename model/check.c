// SPDX-License-Identifier: GPL-2.0
/*
 * Consistency checkers, one per object, for the invariants of
 * upstream-semantics.md §5 that the model can state.  Each recomputes what
 * it can from first principles (reference counts from the fd tables and
 * VMAs, page counts from the slots) and, on failure, prints the rule and
 * the object's state, like MT_BUG_ON() dumping the tree.
 *
 * gm_host_check() runs them all; tests call it after every mutation.
 */
#include <signal.h>

#include "internal.h"

#define GM_DUMP_RUNS 16U

struct check_ctx {
	struct gm_host *h;
	FILE *dump;
	int failed;
};

static void dump_rmap(FILE *out, const char *name, const struct rmap *m)
{
	uint32_t i;

	fprintf(out, "    %s: %u runs", name, m->r_nr);
	/* a corrupted count must not make the dump read past the array */
	for (i = 0; i < m->r_nr && i < m->r_cap && i < GM_DUMP_RUNS; i++)
		fprintf(out, " [%#llx,%#llx)=%#llx",
			(unsigned long long)m->r_runs[i].start,
			(unsigned long long)m->r_runs[i].end,
			(unsigned long long)m->r_runs[i].val);
	if (m->r_nr > GM_DUMP_RUNS)
		fprintf(out, " ...");
	fprintf(out, "\n");
}

static void dump_inode(FILE *out, const struct gmem_inode *inode)
{
	const struct gmem_file *f;

	fprintf(out, "  gmem_inode ino=%llu size=%#llx flags=%#llx\n",
		(unsigned long long)inode->i_ino,
		(unsigned long long)inode->i_size,
		(unsigned long long)inode->flags);
	dump_rmap(out, "folios", &inode->folios);
	dump_rmap(out, "pins", &inode->pins);
	dump_rmap(out, "orphan_pins", &inode->orphan_pins);
	dump_rmap(out, "attrs", &inode->attrs);
	fprintf(out, "    pages with data: %u\n", gm_pages_nr(inode));
	for (f = inode->gmem_file_list; f; f = f->next) {
		fprintf(out, "    gmem_file %p kvm=%p refs=%u\n", (void *)f,
			(void *)f->kvm, f->file->f_count);
		dump_rmap(out, "  bindings", &f->bindings);
	}
}

static void dump_kvm(FILE *out, const struct kvm *kvm)
{
	uint32_t i;

	fprintf(out,
		"  kvm %p type=%s users=%u seq=%llu in_progress=%ld "
		"range=[%#llx,%#llx) gen=%llu\n",
		(void *)kvm, gm_vm_type_name(kvm->type), kvm->users,
		(unsigned long long)kvm->mmu_invalidate_seq,
		kvm->mmu_invalidate_in_progress,
		(unsigned long long)kvm->mmu_invalidate_range_start,
		(unsigned long long)kvm->mmu_invalidate_range_end,
		(unsigned long long)kvm->memslots_gen);
	for (i = 0; i < kvm->nr_slots; i++) {
		const struct kvm_memory_slot *s = kvm->slots[i];

		fprintf(out,
			"    slot %u gfn=[%#llx,+%#llx) flags=%#x uaddr=%#llx "
			"gmem=%p pgoff=%#llx\n",
			s->id, (unsigned long long)s->base_gfn,
			(unsigned long long)s->npages, s->flags,
			(unsigned long long)s->userspace_addr,
			(void *)s->gmem.file,
			(unsigned long long)s->gmem.pgoff);
	}
	dump_rmap(out, "slot_gfns", &kvm->slot_gfns);
	dump_rmap(out, "mem_attr", &kvm->mem_attr);
	dump_rmap(out, "sptes", &kvm->sptes);
}

static void dump_proc(FILE *out, const struct gm_proc *p)
{
	const struct gm_vma *vma;
	unsigned int fd;

	fprintf(out, "  proc pid=%u\n", p->pid);
	for (fd = 0; fd < p->nr_fds; fd++)
		if (p->fds[fd])
			fprintf(out, "    fd %u -> file %p kind=%d refs=%u\n", fd,
				(void *)p->fds[fd], p->fds[fd]->f_kind,
				p->fds[fd]->f_count);
	for (vma = p->vmas; vma; vma = vma->next) {
		fprintf(out,
			"    vma [%#llx,%#llx) pgoff=%#llx prot=%d file=%p\n",
			(unsigned long long)vma->vm_start,
			(unsigned long long)vma->vm_end,
			(unsigned long long)vma->vm_pgoff, vma->vm_prot,
			(void *)vma->vm_file);
		dump_rmap(out, "  ptes", &vma->ptes);
	}
}

/* Report a broken rule once per object; returns -EUCLEAN. */
#define CHECK(ctx, cond, dumpfn, obj, ...)                                  \
	do {                                                                \
		if (!(cond)) {                                              \
			if ((ctx)->dump) {                                  \
				fprintf((ctx)->dump,                        \
					"gmem check failed: %s:%d: ",       \
					__FILE__, __LINE__);                \
				fprintf((ctx)->dump, __VA_ARGS__);          \
				fprintf((ctx)->dump, "\n");                 \
				dumpfn((ctx)->dump, obj);                   \
			}                                                   \
			(ctx)->failed = 1;                                  \
			return -EUCLEAN;                                    \
		}                                                           \
	} while (0)

static bool kvm_alive(struct gm_host *h, const struct kvm *kvm)
{
	const struct kvm *it;

	for (it = h->vms; it; it = it->next)
		if (it == kvm)
			return true;
	return false;
}

static bool pte_mapped(struct gm_host *h, const struct gmem_inode *inode,
		       uint64_t start, uint64_t end, uint64_t *bad)
{
	const struct gm_proc *p;
	const struct gm_vma *vma;
	uint32_t i;

	for (p = h->procs; p; p = p->next) {
		for (vma = p->vmas; vma; vma = vma->next) {
			const struct gmem_file *f = file_to_gmem(vma->vm_file);

			if (!f || f->inode != inode)
				continue;
			i = rmap_first_after(&vma->ptes, start);
			if (i < vma->ptes.r_nr &&
			    vma->ptes.r_runs[i].start < end) {
				*bad = vma->ptes.r_runs[i].start > start ?
					       vma->ptes.r_runs[i].start :
					       start;
				return true;
			}
		}
	}
	return false;
}

static int check_rmap(struct check_ctx *c, const struct rmap *m,
		      const char *name, const struct gmem_inode *inode)
{
	const char *why = "";

	CHECK(c, rmap_consistent(m, &why), dump_inode, inode, "%s: %s", name,
	      why);
	return 0;
}

int gm_inode_check(struct gm_host *h, struct gmem_inode *inode, FILE *dump)
{
	struct check_ctx c = { h, dump, 0 };
	const uint64_t nr_pages = inode->i_size >> PAGE_SHIFT;
	const struct gmem_file *f;
	uint64_t bad;
	uint32_t i;

	/* §5.1: size and flags */
	CHECK(&c, inode->i_size && PAGE_ALIGNED(inode->i_size), dump_inode,
	      inode, "size not a positive multiple of the page size");
	CHECK(&c,
	      !(inode->flags &
		~(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
		  (kvm_gmem_is_hugetlb(inode) ?
			   GUEST_MEMFD_FLAG_HUGETLB | GUEST_MEMFD_HUGETLB_MASK :
			   0))),
	      dump_inode, inode, "unknown creation flags");
	if (check_rmap(&c, &inode->folios, "folios", inode) ||
	    check_rmap(&c, &inode->pins, "pins", inode) ||
	    check_rmap(&c, &inode->orphan_pins, "orphan_pins", inode))
		return -EUCLEAN;

	/* §5.2: folios inside the file, well-formed state */
	for (i = 0; i < inode->folios.r_nr; i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];

		/*
		 * 6.18 lets a binding wrap past EOF (kvm_gmem_bind() adds
		 * offset and size as signed loff_t), and get_pfn then
		 * allocates there; the model keeps that kernel behaviour, so
		 * a folio past EOF is only wrong if no binding ever wrapped.
		 */
		CHECK(&c, r->end <= nr_pages || inode->bound_past_eof,
		      dump_inode, inode, "folio at index %#llx past EOF",
		      (unsigned long long)(r->end - 1));
		CHECK(&c, r->val & GM_FOLIO_PRESENT, dump_inode, inode,
		      "folio run without PRESENT");
		CHECK(&c,
		      !(r->val & ~(uint64_t)(GM_FOLIO_PRESENT |
					     GM_FOLIO_UPTODATE |
					     GM_FOLIO_HWPOISON |
					     (0xffU << GM_FOLIO_ORDER_SHIFT))),
		      dump_inode, inode, "unknown folio bits %#llx",
		      (unsigned long long)r->val);
		/* §5.3/§5.4/§5.6: only uptodate, healthy folios are mapped */
		if (!(r->val & GM_FOLIO_UPTODATE) ||
		    r->val & GM_FOLIO_HWPOISON)
			CHECK(&c, !pte_mapped(h, inode, r->start, r->end, &bad),
			      dump_inode, inode,
			      "host PTE maps index %#llx whose folio is %s",
			      (unsigned long long)bad,
			      r->val & GM_FOLIO_HWPOISON ? "hwpoisoned" :
							   "not uptodate");
	}
	/* §5.6: no host PTE where no folio is */
	for (i = 0; i <= inode->folios.r_nr; i++) {
		uint64_t s = i ? inode->folios.r_runs[i - 1].end : 0;
		uint64_t e = i < inode->folios.r_nr ?
				     inode->folios.r_runs[i].start :
				     UINT64_MAX;

		CHECK(&c, !pte_mapped(h, inode, s, e, &bad), dump_inode, inode,
		      "host PTE maps index %#llx which has no folio",
		      (unsigned long long)bad);
	}
	/* §5.5: host PTEs need MMAP and INIT_SHARED */
	if (!kvm_gmem_supports_mmap(inode) ||
	    (!kvm_gmem_in_place(h) && !kvm_gmem_init_shared(inode)))
		CHECK(&c, !pte_mapped(h, inode, 0, UINT64_MAX, &bad),
		      dump_inode, inode,
		      "host PTE at index %#llx of a file the host cannot map",
		      (unsigned long long)bad);

	/* inplace §6.1.1: attributes cover [0, size) exactly, coalesced */
	if (kvm_gmem_in_place(h)) {
		const char *why = "";

		CHECK(&c, rmap_consistent(&inode->attrs, &why), dump_inode,
		      inode, "attrs: %s", why);
		CHECK(&c,
		      rmap_count(&inode->attrs, 0, UINT64_MAX) == nr_pages &&
			      inode->attrs.r_nr &&
			      inode->attrs.r_runs[0].start == 0 &&
			      inode->attrs.r_runs[inode->attrs.r_nr - 1].end ==
				      nr_pages,
		      dump_inode, inode,
		      "attributes do not cover exactly [0, size)");
		for (i = 0; i < inode->attrs.r_nr; i++) {
			const struct rmap_run *r = &inode->attrs.r_runs[i];

			CHECK(&c,
			      r->val == 0 ||
				      r->val == KVM_MEMORY_ATTRIBUTE_PRIVATE,
			      dump_inode, inode, "attribute %#llx",
			      (unsigned long long)r->val);
			/* §6.1.7: the host never maps a private page */
			if (r->val)
				CHECK(&c,
				      !pte_mapped(h, inode, r->start, r->end,
						  &bad),
				      dump_inode, inode,
				      "host PTE maps private index %#llx",
				      (unsigned long long)bad);
		}
	} else {
		CHECK(&c, rmap_empty(&inode->attrs), dump_inode, inode,
		      "per-file attributes outside the inplace profile");
	}

	/* §6.2: orders, alignment, huge folios only over private pages */
	{
		const char *why = "";

		CHECK(&c, !kvm_gmem_huge_check(h, inode, &why, &bad),
		      dump_inode, inode, "huge folio at index %#llx: %s",
		      (unsigned long long)bad, why);
	}

	/* contents exist only on uptodate folios */
	CHECK(&c, !gm_pages_find_stale(inode, &bad), dump_inode, inode,
	      "data kept for index %#llx without an uptodate folio",
	      (unsigned long long)bad);
	/* pins hold present folios (orphans hold removed ones) */
	for (i = 0; i < inode->pins.r_nr; i++) {
		const struct rmap_run *r = &inode->pins.r_runs[i];

		CHECK(&c, r->val > 0, dump_inode, inode, "zero pin count");
		CHECK(&c,
		      rmap_count(&inode->folios, r->start, r->end) ==
			      r->end - r->start,
		      dump_inode, inode, "pin on index %#llx without a folio",
		      (unsigned long long)r->start);
	}

	/* §5.7-§5.9: files, their VM, their bindings */
	CHECK(&c, inode->gmem_file_list, dump_inode, inode,
	      "inode alive without a file");
	for (f = inode->gmem_file_list; f; f = f->next) {
		const char *why = "";

		CHECK(&c, f->inode == inode, dump_inode, inode,
		      "file on the wrong inode's list");
		CHECK(&c, f->kvm && kvm_alive(h, f->kvm), dump_inode, inode,
		      "file's VM is gone");
		CHECK(&c, f->file->f_count > 0, dump_inode, inode,
		      "file on the list with no reference");
		CHECK(&c, rmap_consistent(&f->bindings, &why), dump_inode,
		      inode, "bindings: %s", why);
		for (i = 0; i < f->bindings.r_nr; i++) {
			const struct rmap_run *r = &f->bindings.r_runs[i];
			const struct kvm_memory_slot *slot =
				(const void *)(uintptr_t)r->val;

			CHECK(&c,
			      slot->gmem.file == f &&
				      slot->gmem.pgoff == r->start &&
				      slot->gmem.pgoff + slot->npages ==
					      r->end,
			      dump_inode, inode,
			      "binding [%#llx,%#llx) disagrees with its slot",
			      (unsigned long long)r->start,
			      (unsigned long long)r->end);
		}
	}
	return 0;
}

static bool slot_listed(const struct kvm *kvm,
			const struct kvm_memory_slot *slot)
{
	uint32_t i;

	for (i = 0; i < kvm->nr_slots; i++)
		if (kvm->slots[i] == slot)
			return true;
	return false;
}

int gm_kvm_check(struct gm_host *h, struct kvm *kvm, FILE *dump)
{
	struct check_ctx c = { h, dump, 0 };
	uint64_t pages = 0, supported;
	const char *why = "";
	uint32_t i;

	CHECK(&c, rmap_consistent(&kvm->slot_gfns, &why), dump_kvm, kvm,
	      "slot_gfns: %s", why);
	CHECK(&c, rmap_consistent(&kvm->mem_attr, &why), dump_kvm, kvm,
	      "mem_attr: %s", why);
	CHECK(&c, rmap_consistent(&kvm->sptes, &why), dump_kvm, kvm,
	      "sptes: %s", why);
	/* §5.17: balanced invalidations between operations */
	CHECK(&c, kvm->mmu_invalidate_in_progress == 0, dump_kvm, kvm,
	      "invalidation left in progress");

	for (i = 0; i < kvm->nr_slots; i++) {
		const struct kvm_memory_slot *s = kvm->slots[i];

		CHECK(&c, !i || kvm->slots[i - 1]->id < s->id, dump_kvm, kvm,
		      "slots not sorted by id");
		CHECK(&c, s->npages && s->id < KVM_USER_MEM_SLOTS, dump_kvm,
		      kvm, "slot %u empty or out of range", s->id);
		CHECK(&c,
		      rmap_count(&kvm->slot_gfns, s->base_gfn,
				 s->base_gfn + s->npages) == s->npages,
		      dump_kvm, kvm, "slot %u not in the gfn map", s->id);
		pages += s->npages;
		if (!(s->flags & KVM_MEM_GUEST_MEMFD))
			continue;
		/* §5.11 */
		CHECK(&c,
		      !(s->flags & (KVM_MEM_LOG_DIRTY_PAGES |
				    KVM_MEM_READONLY)),
		      dump_kvm, kvm, "guest_memfd slot %u with LOG/RO",
		      s->id);
		if (s->gmem.file) {
			uint64_t val = 0;

			/* §5.9, §5.10 */
			CHECK(&c,
			      rmap_lookup(&s->gmem.file->bindings,
					  s->gmem.pgoff, &val) &&
				      val == (uintptr_t)s,
			      dump_kvm, kvm, "slot %u not in its file's bindings",
			      s->id);
			CHECK(&c, s->gmem.file->kvm == kvm, dump_kvm, kvm,
			      "slot %u bound to another VM's file", s->id);
			CHECK(&c,
			      !(s->flags & KVM_MEMSLOT_GMEM_ONLY) ==
				      !kvm_gmem_supports_mmap(
					      s->gmem.file->inode),
			      dump_kvm, kvm,
			      "slot %u GMEM_ONLY disagrees with MMAP", s->id);
		}
	}
	CHECK(&c, pages == kvm->nr_memslot_pages, dump_kvm, kvm,
	      "nr_memslot_pages %llu, slots hold %llu",
	      (unsigned long long)kvm->nr_memslot_pages,
	      (unsigned long long)pages);
	CHECK(&c, rmap_count(&kvm->slot_gfns, 0, UINT64_MAX) == pages,
	      dump_kvm, kvm, "gfn map holds pages of no slot");
	for (i = 0; i < kvm->slot_gfns.r_nr; i++)
		CHECK(&c,
		      slot_listed(kvm, (const void *)(uintptr_t)
					       kvm->slot_gfns.r_runs[i].val),
		      dump_kvm, kvm, "gfn map points at a deleted slot");

	/* §5.13: attribute values are supported ones */
	supported = kvm_arch_has_private_mem(kvm) ?
			    KVM_MEMORY_ATTRIBUTE_PRIVATE :
			    0;
	for (i = 0; i < kvm->mem_attr.r_nr; i++)
		CHECK(&c,
		      kvm->mem_attr.r_runs[i].val &&
			      !(kvm->mem_attr.r_runs[i].val & ~supported),
		      dump_kvm, kvm, "attribute %#llx not supported",
		      (unsigned long long)kvm->mem_attr.r_runs[i].val);

	/* §5.14-§5.16: every stage-2 mapping is backed and of the right kind */
	for (i = 0; i < kvm->sptes.r_nr; i++) {
		const struct rmap_run *r = &kvm->sptes.r_runs[i];
		uint64_t gfn;

		for (gfn = r->start; gfn < r->end; gfn++) {
			struct kvm_memory_slot *s;
			uint64_t val = 0, attr = 0;

			CHECK(&c, rmap_lookup(&kvm->slot_gfns, gfn, &val),
			      dump_kvm, kvm, "spte for gfn %#llx outside slots",
			      (unsigned long long)gfn);
			/* TDX: no huge leaf where a 4K accept inhibited it */
			CHECK(&c,
			      !GM_SPTE_ORDER(r->val) ||
				      !rmap_lookup(&kvm->lpage_inhibit,
						   gfn >> 9, NULL),
			      dump_kvm, kvm,
			      "huge spte at gfn %#llx in an inhibited range",
			      (unsigned long long)gfn);
			s = (void *)(uintptr_t)val;
			attr = kvm_gfn_is_private(h, kvm, gfn);
			if (r->val & GM_SPTE_PRIVATE)
				CHECK(&c, attr, dump_kvm, kvm,
				      "private spte on shared gfn %#llx",
				      (unsigned long long)gfn);
			else if (h->vm_attributes || kvm_gmem_in_place(h))
				CHECK(&c, !attr, dump_kvm, kvm,
				      "shared spte on private gfn %#llx",
				      (unsigned long long)gfn);
			if (r->val & GM_SPTE_GMEM) {
				uint64_t index, folio = 0;

				CHECK(&c, s->gmem.file, dump_kvm, kvm,
				      "gmem spte for gfn %#llx of a slot "
				      "without a file",
				      (unsigned long long)gfn);
				CHECK(&c,
				      r->val & GM_SPTE_PRIVATE ||
					      s->flags & KVM_MEMSLOT_GMEM_ONLY ||
					      kvm_gmem_in_place(h),
				      dump_kvm, kvm,
				      "shared gmem spte on a hybrid slot");
				index = gfn - s->base_gfn + s->gmem.pgoff;
				rmap_lookup(&s->gmem.file->inode->folios, index,
					    &folio);
				CHECK(&c,
				      (folio & (GM_FOLIO_UPTODATE |
						GM_FOLIO_HWPOISON)) ==
					      GM_FOLIO_UPTODATE,
				      dump_kvm, kvm,
				      "spte for gfn %#llx maps index %#llx "
				      "with folio state %#llx",
				      (unsigned long long)gfn,
				      (unsigned long long)index,
				      (unsigned long long)folio);
				/* §6.2.2: mapping level <= folio order */
				CHECK(&c,
				      GM_SPTE_ORDER(r->val) <=
					      GM_FOLIO_ORDER(folio),
				      dump_kvm, kvm,
				      "spte for gfn %#llx mapped at order %u "
				      "over a folio of order %u",
				      (unsigned long long)gfn,
				      (unsigned int)GM_SPTE_ORDER(r->val),
				      (unsigned int)GM_FOLIO_ORDER(folio));
			}
			if (gfn - r->start > 4096)
				break;	/* bound the cost of huge runs */
		}
	}
	return 0;
}

int gm_proc_check(struct gm_host *h, struct gm_proc *p, FILE *dump)
{
	struct check_ctx c = { h, dump, 0 };
	const struct gm_vma *vma;
	unsigned int fd;

	for (fd = 0; fd < p->nr_fds; fd++)
		if (p->fds[fd])
			CHECK(&c, p->fds[fd]->f_count > 0, dump_proc, p,
			      "fd %u on a dead file", fd);
	for (vma = p->vmas; vma; vma = vma->next) {
		const char *why = "";
		uint64_t nr = (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;

		CHECK(&c,
		      PAGE_ALIGNED(vma->vm_start) &&
			      PAGE_ALIGNED(vma->vm_end) &&
			      vma->vm_start < vma->vm_end &&
			      vma->vm_end <= GM_TASK_SIZE,
		      dump_proc, p, "vma bounds");
		CHECK(&c, !vma->next || vma->vm_end <= vma->next->vm_start,
		      dump_proc, p, "vmas overlap or are unsorted");
		CHECK(&c, vma->vm_file && vma->vm_file->f_count > 0,
		      dump_proc, p, "vma on a dead file");
		CHECK(&c, rmap_consistent(&vma->ptes, &why), dump_proc, p,
		      "ptes: %s", why);
		CHECK(&c,
		      !vma->ptes.r_nr ||
			      (vma->ptes.r_runs[0].start >= vma->vm_pgoff &&
			       vma->ptes.r_runs[vma->ptes.r_nr - 1].end <=
				       vma->vm_pgoff + nr),
		      dump_proc, p, "PTE outside its vma");
	}
	return 0;
}

/* Count the references each file should have, from fd tables and VMAs. */
static unsigned int file_expected_refs(struct gm_host *h,
				       const struct gm_file *file)
{
	const struct gm_proc *p;
	const struct gm_vma *vma;
	unsigned int fd, n = 0;

	for (p = h->procs; p; p = p->next) {
		for (fd = 0; fd < p->nr_fds; fd++)
			n += p->fds[fd] == file;
		for (vma = p->vmas; vma; vma = vma->next)
			n += vma->vm_file == file;
	}
	return n;
}

static int check_refs(struct gm_host *h, FILE *dump)
{
	struct check_ctx c = { h, dump, 0 };
	const struct gm_vma *vma;
	struct gm_proc *p;
	struct gmem_inode *inode;
	struct kvm *kvm;
	unsigned int fd;

	for (p = h->procs; p; p = p->next) {
		for (fd = 0; fd < p->nr_fds; fd++) {
			struct gm_file *file = p->fds[fd];

			if (!file)
				continue;
			CHECK(&c, file->f_count == file_expected_refs(h, file),
			      dump_proc, p,
			      "fd %u: file has %u references, %u expected", fd,
			      file->f_count, file_expected_refs(h, file));
		}
		/* files kept alive by a mapping alone (closed while mapped) */
		for (vma = p->vmas; vma; vma = vma->next)
			CHECK(&c,
			      vma->vm_file->f_count ==
				      file_expected_refs(h, vma->vm_file),
			      dump_proc, p,
			      "vma %#llx: file has %u references, %u expected",
			      (unsigned long long)vma->vm_start,
			      vma->vm_file->f_count,
			      file_expected_refs(h, vma->vm_file));
	}
	/* §5.7 and §2.3: VM users = its VM files + gmem files on it */
	for (kvm = h->vms; kvm; kvm = kvm->next) {
		unsigned int users = 0;
		struct gm_file *seen[64];
		unsigned int nseen = 0, k;
		bool dup;

		for (p = h->procs; p; p = p->next) {
			for (fd = 0; fd < p->nr_fds; fd++) {
				struct gm_file *file = p->fds[fd];

				if (!file || file->f_kind != GM_FILE_VM ||
				    file->private_data != kvm)
					continue;
				dup = false;
				for (k = 0; k < nseen; k++)
					dup |= seen[k] == file;
				if (dup)
					continue;
				if (nseen < 64)
					seen[nseen++] = file;
				users++;
			}
		}
		for (inode = h->inodes; inode; inode = inode->next) {
			struct gmem_file *f;

			for (f = inode->gmem_file_list; f; f = f->next)
				users += f->kvm == kvm;
		}
		CHECK(&c, nseen >= 64 || users == kvm->users, dump_kvm, kvm,
		      "VM has %u users, %u expected", kvm->users, users);
	}
	return 0;
}

/* The hugetlb pool: free + reserved by files == the pool, exactly. */
static int check_pool(struct gm_host *h, FILE *dump)
{
	uint64_t reserved[2] = { 0, 0 };
	struct gmem_inode *inode;
	bool any = false;

	for (inode = h->inodes; inode; inode = inode->next) {
		if (!kvm_gmem_is_hugetlb(inode))
			continue;
		any = true;
		reserved[inode->huge_order >= 18] += inode->nr_huge;
		if (rmap_count(&inode->folios, 0, UINT64_MAX) >>
			    inode->huge_order >
		    inode->nr_huge) {
			if (dump) {
				fprintf(dump, "gmem check failed: more huge "
					      "pages in use than reserved\n");
				dump_inode(dump, inode);
			}
			return -EUCLEAN;
		}
	}
	/* nothing leaked: no HugeTLB file left, no vmemmap restored */
	if (!any && h->huge.vmemmap_bytes) {
		if (dump)
			fprintf(dump,
				"gmem check failed: %llu vmemmap bytes restored "
				"with no HugeTLB file left\n",
				(unsigned long long)h->huge.vmemmap_bytes);
		return -EUCLEAN;
	}
	if (h->pool_free[0] + reserved[0] != h->cfg.hugetlb_pool_2m ||
	    h->pool_free[1] + reserved[1] != h->cfg.hugetlb_pool_1g) {
		if (dump)
			fprintf(dump,
				"gmem check failed: hugetlb pool 2M %llu+%llu "
				"of %lu, 1G %llu+%llu of %lu\n",
				(unsigned long long)h->pool_free[0],
				(unsigned long long)reserved[0],
				h->cfg.hugetlb_pool_2m,
				(unsigned long long)h->pool_free[1],
				(unsigned long long)reserved[1],
				h->cfg.hugetlb_pool_1g);
		return -EUCLEAN;
	}
	return 0;
}

int gm_host_check(struct gm_host *h, FILE *dump)
{
	struct gmem_inode *inode;
	struct gm_proc *p;
	struct kvm *kvm;

	for (p = h->procs; p; p = p->next)
		if (gm_proc_check(h, p, dump))
			return -EUCLEAN;
	for (inode = h->inodes; inode; inode = inode->next)
		if (gm_inode_check(h, inode, dump))
			return -EUCLEAN;
	for (kvm = h->vms; kvm; kvm = kvm->next)
		if (gm_kvm_check(h, kvm, dump))
			return -EUCLEAN;
	if (check_pool(h, dump))
		return -EUCLEAN;
	return check_refs(h, dump);
}

void gm_host_dump(struct gm_host *h, FILE *out)
{
	struct gmem_inode *inode;
	struct gm_proc *p;
	struct kvm *kvm;

	fprintf(out, "gmem host: profile=%s vm_types=%#x attributes=%d\n",
		gm_profile_name(h->cfg.profile), h->cfg.vm_types,
		h->vm_attributes);
	for (p = h->procs; p; p = p->next)
		dump_proc(out, p);
	for (kvm = h->vms; kvm; kvm = kvm->next)
		dump_kvm(out, kvm);
	for (inode = h->inodes; inode; inode = inode->next)
		dump_inode(out, inode);
}
