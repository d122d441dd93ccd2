// SPDX-License-Identifier: GPL-2.0
/*
 * Random trace generator for differential runs (gmemsim gen random).
 *
 * The generator mirrors the objects it creates (as the parser will bind
 * them) so that most ops act on live objects with sensible arguments, and
 * mixes in boundary and invalid values: 0, 1, page-1, page, the file size,
 * size+page, 1<<63, ~0, 0x7ffffffffffff000, -4096, odd flag bits.
 *
 * Generated traces are replayed on the real kernel too, so the generator
 * never asks for a large allocation: an fallocate that could succeed
 * allocates at most 8 MiB, and host accesses touch one page each.
 *
 * With --profile=inplace the trace is for the model alone: VMs are mostly
 * of the confidential types, and conversions, pins, guest accesses, state
 * queries and forked processes join the mix, each op followed by
 * `check -> ok` so that any invariant violation fails the replay.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "trace.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define GEN_PAGE 4096ULL
#define GEN_MAX_VMS 8
#define GEN_MAX_GMEMS 32
#define GEN_MAX_MAPS 32
#define GEN_SLOT_NAMES 4
#define GEN_MAX_ALLOC (8ULL << 20)

/*
 * "live" is the generator's guess that the object exists now: its creating
 * op should have succeeded and it was not closed or unmapped since.  Picks
 * prefer live objects so most ops do something; the rest exercise fd -1.
 */
struct gen_vm {
	unsigned int id;
	bool live;
	unsigned int slots; /* slot names probably bound on this VM */
};

struct gen_gmem {
	unsigned int id;
	int vm; /* index into vms[] at creation */
	uint64_t size;
	uint64_t flags;
	uint64_t huge; /* HugeTLB page size, 0 for 4K files */
	bool live;
};

struct gen_map {
	unsigned int id;
	uint64_t len;
	bool live;
};

struct gen {
	FILE *out;
	uint64_t state;
	unsigned int next_vm, next_gmem, next_map;
	struct gen_vm vms[GEN_MAX_VMS];
	struct gen_gmem gmems[GEN_MAX_GMEMS];
	struct gen_map maps[GEN_MAX_MAPS];
	unsigned int nr_vms, nr_gmems, nr_maps;
	unsigned int slots_bound; /* mask of slot names ever bound */
	int slot_vm[GEN_SLOT_NAMES]; /* VM of each name's newest binding */
	bool inplace;		/* profile inplace: model-only ops too */
	bool hugetlb;		/* profile hugetlb: HugeTLB files too */
	unsigned int nr_procs;	/* processes forked so far */
	bool proc_live[4];
};

/* splitmix64 */
static uint64_t gen_next(struct gen *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct gen *g, uint64_t n)
{
	return n ? gen_next(g) % n : 0;
}

static bool chance(struct gen *g, unsigned int percent)
{
	return rnd(g, 100) < percent;
}

#define PICK(g, arr) ((arr)[rnd(g, ARRAY_SIZE(arr))])

/* Values every size/offset/length field gets now and then. */
static const uint64_t wild_values[] = {
	0,
	1,
	GEN_PAGE - 1,
	GEN_PAGE + 1,
	2ULL << 20,
	1ULL << 30,
	1ULL << 40,
	1ULL << 62,
	1ULL << 63,
	~0ULL,
	0x7ffffffffffff000ULL,
	-4096ULL,
	0x7fffffffffffffffULL,
};

/* Numbers in the forms the parser accepts, for coverage of both. */
static const char *fmt_num(struct gen *g, uint64_t v, char *buf, size_t len)
{
	if (v == -4096ULL && chance(g, 50))
		snprintf(buf, len, "-4096");
	else if (v && !(v & ((1ULL << 20) - 1)) && v < (1ULL << 40) &&
		 chance(g, 40))
		snprintf(buf, len, "%" PRIu64 "M", v >> 20);
	else if (v && !(v & ((1ULL << 10) - 1)) && v < (1ULL << 20) &&
		 chance(g, 40))
		snprintf(buf, len, "%" PRIu64 "K", v >> 10);
	else if (v < 10 && chance(g, 50))
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "0x%" PRIx64, v);
	return buf;
}

/* A page-aligned value in [0, min(limit, 512 pages)). */
static uint64_t page_below(struct gen *g, uint64_t limit)
{
	uint64_t pages = limit / GEN_PAGE;

	if (pages > 512)
		pages = 512;
	return rnd(g, pages ? pages : 1) * GEN_PAGE;
}

static uint64_t pick_offset(struct gen *g, uint64_t size)
{
	if (chance(g, 75))
		return page_below(g, size);
	switch (rnd(g, 4)) {
	case 0:
		return size;
	case 1:
		return size + GEN_PAGE;
	case 2:
		return size >= GEN_PAGE ? size - GEN_PAGE : 0;
	default:
		return PICK(g, wild_values);
	}
}

static uint64_t pick_len(struct gen *g, uint64_t size)
{
	if (chance(g, 70)) {
		if (chance(g, 20) && size <= GEN_MAX_ALLOC)
			return size;
		return page_below(g, size) + GEN_PAGE;
	}
	switch (rnd(g, 3)) {
	case 0:
		return size;
	case 1:
		return size + GEN_PAGE;
	default:
		return PICK(g, wild_values);
	}
}

/* ---- objects ---- */

/*
 * An index below @nr, biased to the newest objects, preferring those
 * @live_at says are live (a few tries) most of the time.
 */
static int pick_obj(struct gen *g, unsigned int nr,
		    bool (*live_at)(const struct gen *g, unsigned int i))
{
	unsigned int i = 0, tries;

	for (tries = 0; tries < 6; tries++) {
		if (chance(g, 50))
			i = nr - 1 - (unsigned int)rnd(g, nr < 3 ? nr : 3);
		else
			i = (unsigned int)rnd(g, nr);
		if (live_at(g, i) || chance(g, 12))
			break;
	}
	return (int)i;
}

static bool vm_live(const struct gen *g, unsigned int i)
{
	return g->vms[i].live;
}

static bool gmem_live(const struct gen *g, unsigned int i)
{
	return g->gmems[i].live;
}

static bool map_live(const struct gen *g, unsigned int i)
{
	return g->maps[i].live;
}

static int pick_vm(struct gen *g)
{
	return pick_obj(g, g->nr_vms, vm_live);
}

static int pick_gmem(struct gen *g)
{
	return pick_obj(g, g->nr_gmems, gmem_live);
}

static int pick_map(struct gen *g)
{
	return pick_obj(g, g->nr_maps, map_live);
}

static bool any_live(const struct gen *g, unsigned int nr,
		     bool (*live_at)(const struct gen *g, unsigned int i))
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (live_at(g, i))
			return true;
	return false;
}

/* Slot in @arr for a new object: append, or replace one when full. */
static unsigned int new_slot(struct gen *g, unsigned int *nr, unsigned int max)
{
	if (*nr < max)
		return (*nr)++;
	return (unsigned int)rnd(g, max);
}

/* ---- ops ---- */

static void gen_vm(struct gen *g)
{
	static const char *const types[] = {
		"sw_protected", "snp", "tdx", "pkvm", "1", "2", "3", "7",
		"0x80000000",	"-1",
	};
	unsigned int i = new_slot(g, &g->nr_vms, GEN_MAX_VMS);

	g->vms[i].id = g->next_vm++;
	g->vms[i].live = true;
	g->vms[i].slots = 0;
	fprintf(g->out, "vm vm%u", g->vms[i].id);
	if (g->inplace && chance(g, 85)) {
		static const char *const coco[] = {
			"sw_protected", "snp", "tdx", "pkvm", "default",
		};

		fprintf(g->out, " type=%s", PICK(g, coco));
	} else if (chance(g, 10)) {
		fprintf(g->out, " type=default");
	} else if (chance(g, 12)) {
		fprintf(g->out, " type=%s", PICK(g, types));
		g->vms[i].live = false;
	}
	fputc('\n', g->out);
}

struct flag_choice {
	const char *text;
	uint64_t value;
};

static void gen_gmem(struct gen *g)
{
	static const uint64_t good_sizes[] = {
		GEN_PAGE,   2 * GEN_PAGE, 64 << 10,   2ULL << 20,
		2ULL << 20, 4ULL << 20,	  8ULL << 20,
	};
	static const uint64_t big_sizes[] = {
		1ULL << 30,
		1ULL << 40,
		0x7ffffffffffff000ULL,
	};
	static const uint64_t bad_sizes[] = {
		0, 1, GEN_PAGE - 1, GEN_PAGE + 1, 1ULL << 63, -4096ULL, ~0ULL,
	};
	static const struct flag_choice odd_flags[] = {
		{ "0", 0 },
		{ "mmap", 1 },
		{ "init_shared", 2 },
		{ "4", 4 },
		{ "5", 5 },
		{ "7", 7 },
		{ "8", 8 },
		{ "0x100", 0x100 },
		{ "0x100000000", 0x100000000ULL },
		{ "0x8000000000000000", 1ULL << 63 },
		{ "0xffffffffffffffff", ~0ULL },
		{ "no_direct_map", 4 },
		{ "hugetlb", 8 },
		{ "mmap|hugetlb", 9 },
		{ "mmap|init_shared|no_direct_map", 7 },
	};
	const struct flag_choice *fl = NULL;
	unsigned int i, vm;
	uint64_t size;
	char buf[32];

	vm = (unsigned int)pick_vm(g);
	if (g->hugetlb && chance(g, 60)) {
		/* a HugeTLB file: 2M pages mostly, a 1G one now and then */
		bool gig = chance(g, 10);

		size = gig ? 1ULL << 30 : (1 + rnd(g, 4)) * (2ULL << 20);
		i = new_slot(g, &g->nr_gmems, GEN_MAX_GMEMS);
		g->gmems[i].id = g->next_gmem++;
		g->gmems[i].vm = (int)vm;
		g->gmems[i].size = size;
		g->gmems[i].flags = 1;
		g->gmems[i].huge = gig ? 1ULL << 30 : 2ULL << 20;
		g->gmems[i].live = g->vms[vm].live;
		fprintf(g->out, "gmem g%u vm%u size=%s flags=mmap|hugetlb "
				"huge=%s\n",
			g->gmems[i].id, g->vms[vm].id,
			fmt_num(g, size, buf, sizeof(buf)), gig ? "1G" : "2M");
		return;
	}
	if (chance(g, 70))
		size = PICK(g, good_sizes);
	else if (chance(g, 40))
		size = PICK(g, big_sizes);
	else
		size = PICK(g, bad_sizes);
	if (!chance(g, 80))
		fl = &PICK(g, odd_flags);
	i = new_slot(g, &g->nr_gmems, GEN_MAX_GMEMS);
	g->gmems[i].id = g->next_gmem++;
	g->gmems[i].vm = (int)vm;
	g->gmems[i].size = size;
	g->gmems[i].flags = fl ? fl->value : 3;
	g->gmems[i].huge = 0;
	g->gmems[i].live = g->vms[vm].live && size && !(size % GEN_PAGE) &&
			   size < (1ULL << 63) && !(g->gmems[i].flags & ~3ULL);
	fprintf(g->out, "gmem g%u vm%u size=%s flags=%s", g->gmems[i].id,
		g->vms[vm].id, fmt_num(g, size, buf, sizeof(buf)),
		fl ? fl->text : "mmap|init_shared");
	if (chance(g, 2))
		fprintf(g->out, " huge=%s", chance(g, 50) ? "2M" : "1G");
	fputc('\n', g->out);
}

static void gen_close(struct gen *g)
{
	if (chance(g, 15)) {
		int i = pick_vm(g);

		g->vms[i].live = false;
		fprintf(g->out, "close vm%u\n", g->vms[i].id);
	} else {
		int i = pick_gmem(g);

		g->gmems[i].live = false;
		fprintf(g->out, "close g%u\n", g->gmems[i].id);
	}
}

static void gen_fallocate(struct gen *g)
{
	static const char *const odd_modes[] = {
		"0",
		"punch_hole",
		"zero_range",
		"collapse_range",
		"insert_range",
		"unshare_range",
		"no_hide_stale",
		"write_zeroes",
		"keep_size|zero_range",
		"keep_size|no_hide_stale",
		"keep_size|0x100",
		"-1",
		"keep_size|punch_hole|zero_range",
	};
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	uint64_t off = pick_offset(g, f->size), len = pick_len(g, f->size);
	const char *mode = NULL;
	char b1[32], b2[32];

	if (chance(g, 45))
		mode = "keep_size|punch_hole";
	else if (chance(g, 25))
		mode = PICK(g, odd_modes);
	else if (chance(g, 20))
		mode = "keep_size";

	/* HugeTLB files punch whole huge pages, mostly */
	if (f->huge && chance(g, 80)) {
		off = rnd(g, f->size / f->huge) * f->huge;
		len = f->huge;
	}
	/* an allocation that may succeed stays small */
	if ((!mode || !strcmp(mode, "keep_size")) && len > GEN_MAX_ALLOC &&
	    off <= f->size && len <= f->size - off)
		len = chance(g, 50) ? GEN_PAGE : 2ULL << 20;

	fprintf(g->out, "fallocate g%u %s+%s", f->id,
		fmt_num(g, off, b1, sizeof(b1)),
		fmt_num(g, len, b2, sizeof(b2)));
	if (mode)
		fprintf(g->out, " mode=%s", mode);
	fputc('\n', g->out);
}

static void gen_mmap(struct gen *g)
{
	static const char *const prots[] = { "none", "r",  "rwx", "w",
					     "x",    "rx", "7",	  "0" };
	static const char *const flags[] = { "private", "shared_validate",
					     "shared_validate|sync",
					     "shared|sync" };
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	const char *prot = NULL, *flag = NULL;
	bool sane = true;
	uint64_t off, len;
	unsigned int i;
	char b1[32], b2[32];

	if (chance(g, 85)) {
		off = chance(g, 60) ? 0 : page_below(g, f->size);
		if (f->size <= (64ULL << 20) && chance(g, 60))
			len = f->size - (off < f->size ? off : f->size);
		else
			len = page_below(g, f->size) + GEN_PAGE;
		if (!len)
			len = GEN_PAGE;
	} else {
		off = pick_offset(g, f->size);
		len = chance(g, 50) ? pick_len(g, f->size) :
				      PICK(g, wild_values);
		sane = false;
	}
	if (chance(g, 10)) {
		prot = PICK(g, prots);
		sane = sane && !strchr(prot, 'x') && strcmp(prot, "7");
	} else if (chance(g, 5)) {
		prot = "rw";
	}
	if (chance(g, 10)) {
		flag = PICK(g, flags);
		sane = sane && (!strcmp(flag, "shared_validate") ||
				!strcmp(flag, "shared|sync"));
	} else if (chance(g, 5)) {
		flag = "shared";
	}
	i = new_slot(g, &g->nr_maps, GEN_MAX_MAPS);
	g->maps[i].id = g->next_map++;
	g->maps[i].len = len;
	g->maps[i].live = sane && f->live && (f->flags & 1) && len &&
			  !(off % GEN_PAGE) && len < (1ULL << 46);
	fprintf(g->out, "mmap m%u g%u %s+%s", g->maps[i].id, f->id,
		fmt_num(g, off, b1, sizeof(b1)),
		fmt_num(g, len, b2, sizeof(b2)));
	if (prot)
		fprintf(g->out, " prot=%s", prot);
	if (flag)
		fprintf(g->out, " %s", flag);
	fputc('\n', g->out);
}

static void gen_munmap(struct gen *g)
{
	struct gen_map *m = &g->maps[pick_map(g)];

	m->live = false;
	fprintf(g->out, "munmap m%u\n", m->id);
}

/* read/write: the offset must lie inside the mapping (rounded to pages). */
static const char *gen_proc_key(struct gen *g, char *buf, size_t len);

static bool gen_access(struct gen *g, bool write)
{
	const struct gen_map *m = &g->maps[pick_map(g)];
	uint64_t pages = m->len / GEN_PAGE + (m->len % GEN_PAGE != 0);
	uint64_t off;
	char buf[32];

	if (!pages)
		return false;
	switch (rnd(g, 6)) {
	case 0:
		off = 0;
		break;
	case 1:
		off = (pages - 1) * GEN_PAGE + GEN_PAGE - 1; /* last byte */
		break;
	case 2:
		off = m->len ? m->len - 1 : 0;
		break;
	default:
		off = rnd(g, pages < 64 ? pages : 64) * GEN_PAGE +
		      (chance(g, 20) ? rnd(g, GEN_PAGE) : 0);
		break;
	}
	fprintf(g->out, "%s m%u %s", write ? "write" : "read", m->id,
		fmt_num(g, off, buf, sizeof(buf)));
	if (write && chance(g, 80))
		fprintf(g->out, " byte=0x%02x", (unsigned int)rnd(g, 256));
	if (g->inplace)
		fputs(gen_proc_key(g, buf, sizeof(buf)), g->out);
	fputc('\n', g->out);
	return true;
}

static void gen_memslot(struct gen *g)
{
	static const uint64_t odd_gpas[] = {
		GEN_PAGE - 1, 4097,	  1ULL << 40, 1ULL << 52,
		~0ULL << 12,  1ULL << 63, -4096ULL,
	};
	static const char *const odd_flags[] = {
		"readonly",    "log_dirty_pages",	   "8",
		"guest_memfd", "readonly|log_dirty_pages", "0xffffffff",
		"0",
	};
	unsigned int vm = (unsigned int)pick_vm(g);
	unsigned int slot = (unsigned int)rnd(g, GEN_SLOT_NAMES);
	const struct gen_gmem *f = NULL;
	uint64_t gpa, size, off = 0;
	char b1[32], b2[32], b3[32];
	bool fits = false;
	unsigned int i;

	/* gmem slots cannot be changed: mostly take a free slot name */
	for (i = 0; i < 4 && (g->vms[vm].slots & (1U << slot)) && chance(g, 80);
	     i++)
		slot = (unsigned int)rnd(g, GEN_SLOT_NAMES);

	if (g->nr_gmems && chance(g, 85)) {
		f = &g->gmems[pick_gmem(g)];
		/* mostly a live file of this VM, newest first */
		for (i = g->nr_gmems; i-- > 0 && chance(g, 90);) {
			const struct gen_gmem *c = &g->gmems[i];

			if (c->vm == (int)vm && c->live) {
				f = c;
				break;
			}
		}
	}
	gpa = chance(g, 88) ? rnd(g, 16) * (2ULL << 20) : PICK(g, odd_gpas);
	if (f && chance(g, 70)) {
		/* a range that fits the file, at a multiple of its size */
		if (f->size && f->size <= (1ULL << 30) && chance(g, 30))
			size = f->size;
		else
			size = chance(g, 50) ? GEN_PAGE : 2ULL << 20;
		if (size <= f->size)
			off = rnd(g,
				  f->size / size < 64 ? f->size / size : 64) *
			      size;
		fits = f->live && size <= f->size;
	} else if (chance(g, 60)) {
		size = chance(g, 50) ? GEN_PAGE : 2ULL << 20;
		if (f)
			off = pick_offset(g, f->size);
		else
			fits = true;
	} else {
		size = PICK(g, wild_values);
		if (f)
			off = chance(g, 50) ? 0 : pick_offset(g, f->size);
	}
	g->slots_bound |= 1U << slot;
	g->slot_vm[slot] = (int)vm;
	if (fits && !(gpa % GEN_PAGE))
		g->vms[vm].slots |= 1U << slot;
	fprintf(g->out, "memslot s%u vm%u gpa=%s size=%s", slot, g->vms[vm].id,
		fmt_num(g, gpa, b1, sizeof(b1)),
		fmt_num(g, size, b2, sizeof(b2)));
	if (f) {
		fprintf(g->out, " gmem=g%u", f->id);
		if (off || chance(g, 30))
			fprintf(g->out, " offset=%s",
				fmt_num(g, off, b3, sizeof(b3)));
	}
	if (chance(g, 10))
		fprintf(g->out, " flags=%s", PICK(g, odd_flags));
	fputc('\n', g->out);
}

static bool any_slot(const struct gen *g)
{
	unsigned int i;

	for (i = 0; i < g->nr_vms; i++)
		if (g->vms[i].slots)
			return true;
	return false;
}

static void gen_memslot_delete(struct gen *g)
{
	unsigned int s, tries = 0;
	struct gen_vm *vm;

	/* a name bound before; mostly one that still holds a slot */
	do {
		s = (unsigned int)rnd(g, GEN_SLOT_NAMES);
		vm = &g->vms[g->slot_vm[s]];
		if ((g->slots_bound & (1U << s)) &&
		    ((vm->slots & (1U << s)) || ++tries > 4 || chance(g, 15)))
			break;
	} while (true);
	vm->slots &= ~(1U << s);
	fprintf(g->out, "memslot_delete s%u\n", s);
}

static void gen_attributes(struct gen *g)
{
	unsigned int vm = (unsigned int)pick_vm(g);
	uint64_t gpa = chance(g, 80) ? rnd(g, 8) * (2ULL << 20) :
				       PICK(g, wild_values);
	uint64_t len = chance(g, 80) ? page_below(g, 4ULL << 20) + GEN_PAGE :
				       PICK(g, wild_values);
	char b1[32], b2[32];

	fprintf(g->out, "attributes vm%u %s+%s %s\n", g->vms[vm].id,
		fmt_num(g, gpa, b1, sizeof(b1)),
		fmt_num(g, len, b2, sizeof(b2)),
		chance(g, 50) ? "private" : "shared");
}

/* ---- profile inplace: model-only ops ---- */

static const char *gen_proc_key(struct gen *g, char *buf, size_t len)
{
	unsigned int p;

	buf[0] = '\0';
	if (!g->nr_procs || chance(g, 60))
		return buf;
	p = (unsigned int)rnd(g, g->nr_procs);
	snprintf(buf, len, " proc=p%u", p);
	return buf;
}

static void gen_convert(struct gen *g)
{
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	uint64_t off, len;
	char b1[32], b2[32];

	if (chance(g, 85)) {
		off = page_below(g, f->size);
		len = chance(g, 50) ? GEN_PAGE :
				      page_below(g, f->size - off) + GEN_PAGE;
	} else {
		off = pick_offset(g, f->size);
		len = pick_len(g, f->size);
	}
	fprintf(g->out, "convert g%u %s+%s %s\n", f->id,
		fmt_num(g, off, b1, sizeof(b1)),
		fmt_num(g, len, b2, sizeof(b2)),
		chance(g, 50) ? "private" : "shared");
}

static void gen_pin(struct gen *g)
{
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	char b[32];

	fprintf(g->out, "%s g%u %s\n", chance(g, 55) ? "pin" : "unpin", f->id,
		fmt_num(g, chance(g, 90) ? page_below(g, f->size) :
					   pick_offset(g, f->size),
			b, sizeof(b)));
}

static void gen_guest(struct gen *g)
{
	unsigned int vm = (unsigned int)pick_vm(g);
	/* slots sit at multiples of 2 MiB: mostly aim at their first pages */
	uint64_t gpa = rnd(g, 16) * (2ULL << 20) +
		       (chance(g, 60) ? rnd(g, 4) * GEN_PAGE :
					page_below(g, 2ULL << 20)) +
		       rnd(g, GEN_PAGE);
	static const char *const acc[] = { "r", "w", "x" };
	static const char *const intent[] = { "", " private", " shared" };
	char b[32];

	const char *a = PICK(g, acc);

	fprintf(g->out, "guest vm%u %s %s%s", g->vms[vm].id,
		fmt_num(g, gpa, b, sizeof(b)), a, PICK(g, intent));
	if (!strcmp(a, "w"))
		fprintf(g->out, " byte=%u", (unsigned int)rnd(g, 256));
	if (g->hugetlb && chance(g, 5))
		fprintf(g->out, " accept=%s", chance(g, 70) ? "4K" : "2M");
	fputc('\n', g->out);
}

static void gen_state(struct gen *g)
{
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	uint64_t off = page_below(g, f->size);
	char b1[32], b2[32];

	fprintf(g->out, "state g%u %s+%s\n", f->id,
		fmt_num(g, off, b1, sizeof(b1)),
		fmt_num(g, chance(g, 90) ? page_below(g, f->size - off) +
						   GEN_PAGE :
					   pick_len(g, f->size),
			b2, sizeof(b2)));
}

static void gen_proc(struct gen *g)
{
	unsigned int p;

	if (g->nr_procs < 4 && (chance(g, 70) || !g->nr_procs)) {
		p = g->nr_procs++;
		g->proc_live[p] = true;
		fprintf(g->out, "fork p%u\n", p);
		return;
	}
	p = (unsigned int)rnd(g, g->nr_procs);
	g->proc_live[p] = false;
	fprintf(g->out, "exit p%u\n", p);
}

static void gen_poison(struct gen *g)
{
	const struct gen_gmem *f = &g->gmems[pick_gmem(g)];
	char b[32];

	fprintf(g->out, "poison g%u %s\n", f->id,
		fmt_num(g, page_below(g, f->size), b, sizeof(b)));
}

enum gen_op {
	GEN_VM,
	GEN_GMEM,
	GEN_CLOSE,
	GEN_FALLOCATE,
	GEN_MMAP,
	GEN_MUNMAP,
	GEN_READ,
	GEN_WRITE,
	GEN_MEMSLOT,
	GEN_MEMSLOT_DELETE,
	GEN_ATTRIBUTES,
	GEN_NR_OPS,
	/* profile inplace only */
	GEN_CONVERT = GEN_NR_OPS,
	GEN_PIN,
	GEN_GUEST,
	GEN_STATE,
	GEN_PROC,
	GEN_POISON,
	GEN_NR_ALL
};

/* Percent weights of the inplace extras, taken before the base mix. */
static const unsigned int gen_inplace_weights[GEN_NR_ALL - GEN_NR_OPS] = {
	[GEN_CONVERT - GEN_NR_OPS] = 22, [GEN_PIN - GEN_NR_OPS] = 5,
	[GEN_GUEST - GEN_NR_OPS] = 14,	 [GEN_STATE - GEN_NR_OPS] = 3,
	[GEN_PROC - GEN_NR_OPS] = 2,	 [GEN_POISON - GEN_NR_OPS] = 1,
};

/* Percent weights; they sum to 100. */
static const unsigned int gen_weights[GEN_NR_OPS] = {
	[GEN_VM] = 3,	      [GEN_GMEM] = 9,
	[GEN_CLOSE] = 3,      [GEN_FALLOCATE] = 16,
	[GEN_MMAP] = 10,      [GEN_MUNMAP] = 4,
	[GEN_READ] = 14,      [GEN_WRITE] = 15,
	[GEN_MEMSLOT] = 16,   [GEN_MEMSLOT_DELETE] = 5,
	[GEN_ATTRIBUTES] = 5,
};

static enum gen_op pick_op(struct gen *g)
{
	unsigned int r = (unsigned int)rnd(g, 100), i;

	if (g->inplace) {
		for (i = GEN_NR_OPS; i < GEN_NR_ALL; i++) {
			if (r < gen_inplace_weights[i - GEN_NR_OPS])
				return i;
			r -= gen_inplace_weights[i - GEN_NR_OPS];
		}
		r = (unsigned int)rnd(g, 100);
	}
	for (i = 0; i < GEN_NR_OPS; i++) {
		if (r < gen_weights[i])
			return i;
		r -= gen_weights[i];
	}
	return GEN_WRITE;
}

static void gen_one(struct gen *g)
{
	enum gen_op op = pick_op(g);
	bool need_gmem, need_map;

	/* what the op needs first: mostly live objects, always some */
	need_gmem = op != GEN_VM && op != GEN_MEMSLOT && op != GEN_ATTRIBUTES &&
		    op != GEN_MEMSLOT_DELETE && op != GEN_GUEST &&
		    op != GEN_PROC;
	need_map = op == GEN_READ || op == GEN_WRITE || op == GEN_MUNMAP;
	if (!g->nr_vms || (!any_live(g, g->nr_vms, vm_live) && chance(g, 80)))
		op = GEN_VM;
	else if (need_gmem &&
		 (!g->nr_gmems ||
		  (!any_live(g, g->nr_gmems, gmem_live) && chance(g, 80))))
		op = GEN_GMEM;
	else if (need_map &&
		 (!g->nr_maps ||
		  (!any_live(g, g->nr_maps, map_live) && chance(g, 80))))
		op = GEN_MMAP;
	if (op == GEN_MEMSLOT_DELETE &&
	    (!g->slots_bound || (!any_slot(g) && chance(g, 80))))
		op = GEN_MEMSLOT;

	switch (op) {
	case GEN_VM:
		gen_vm(g);
		break;
	case GEN_GMEM:
		gen_gmem(g);
		break;
	case GEN_CLOSE:
		gen_close(g);
		break;
	case GEN_FALLOCATE:
		gen_fallocate(g);
		break;
	case GEN_MMAP:
		gen_mmap(g);
		break;
	case GEN_MUNMAP:
		gen_munmap(g);
		break;
	case GEN_READ:
	case GEN_WRITE:
		if (!gen_access(g, op == GEN_WRITE))
			gen_mmap(g);
		break;
	case GEN_MEMSLOT:
		gen_memslot(g);
		break;
	case GEN_MEMSLOT_DELETE:
		gen_memslot_delete(g);
		break;
	case GEN_CONVERT:
		gen_convert(g);
		break;
	case GEN_PIN:
		gen_pin(g);
		break;
	case GEN_GUEST:
		gen_guest(g);
		break;
	case GEN_STATE:
		gen_state(g);
		break;
	case GEN_PROC:
		gen_proc(g);
		break;
	case GEN_POISON:
		gen_poison(g);
		break;
	case GEN_ATTRIBUTES:
	default:
		gen_attributes(g);
		break;
	}
	if (g->inplace)
		fprintf(g->out, "check -> ok\n");
}

int trace_gen_random(FILE *out, uint64_t seed, unsigned long nr_ops,
		     const char *profile)
{
	struct gen g;
	unsigned long i;

	memset(&g, 0, sizeof(g));
	g.out = out;
	g.state = seed;
	g.hugetlb = profile && !strcmp(profile, "hugetlb");
	g.inplace = g.hugetlb || (profile && !strcmp(profile, "inplace"));
	fprintf(out, "# gmemsim gen random --seed %" PRIu64 " --ops %lu%s%s\n",
		seed, nr_ops, profile ? " --profile=" : "",
		profile ? profile : "");
	fprintf(out, "gmemtrace 1 profile=%s vm_types=%s",
		profile ? profile : "mainline",
		g.inplace ? "default,sw_protected,snp,tdx,pkvm" : "default");
	if (g.hugetlb) {
		static const char *const policies[] = {
			"eager", "hier", "lazy", "nomerge",
		};

		fprintf(out, " hugetlb_pool=2M:64,1G:2 policy=%s",
			policies[seed % 4]);
	}
	fputc('\n', out);
	for (i = 0; i < nr_ops; i++)
		gen_one(&g);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}
