// SPDX-License-Identifier: GPL-2.0
/*
 * gmemtrace v1 parser (docs/trace-format.md).
 *
 * The parser never gives up on input: every line that does not parse
 * becomes a TOP_ERROR op carrying "what and why", and parsing goes on with
 * the next line.  Names are resolved here, once: each creating op that
 * parses makes a new struct trace_obj, and a later use of the name refers to
 * the newest binding.  A line that does not parse binds nothing.
 *
 * Robustness rules (the parser is fuzzed): every allocation is checked and
 * unwound, every number is overflow-checked, lines and tokens are bounded
 * only by memory, and the work per line is linear in its length (names go
 * through hash tables, not scans of every object).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TRACE_MAX_TOKENS 32
/* names other than tN, looked up by a scan: keep the scan short */
#define TRACE_MAX_THREAD_NAMES 256
#define TRACE_NAME_MAX (sizeof(((struct trace_obj *)0)->name) - 1)
#define TRACE_DEFAULT_HUGETLB_POOL "2M:1024,1G:64"

static const char *const opcode_names[TOP_MAX] = {
	[TOP_ERROR] = "error",
	[TOP_VM] = "vm",
	[TOP_GMEM] = "gmem",
	[TOP_CLOSE] = "close",
	[TOP_FALLOCATE] = "fallocate",
	[TOP_MMAP] = "mmap",
	[TOP_MUNMAP] = "munmap",
	[TOP_READ] = "read",
	[TOP_WRITE] = "write",
	[TOP_MEMSLOT] = "memslot",
	[TOP_MEMSLOT_DELETE] = "memslot_delete",
	[TOP_ATTRIBUTES] = "attributes",
	[TOP_CONVERT] = "convert",
	[TOP_GUEST] = "guest",
	[TOP_PIN] = "pin",
	[TOP_UNPIN] = "unpin",
	[TOP_POISON] = "poison",
	[TOP_STATE] = "state",
	[TOP_CHECK] = "check",
	[TOP_FORK] = "fork",
	[TOP_EXIT] = "exit",
	[TOP_BARRIER] = "barrier",
};

const char *trace_opcode_name(enum trace_opcode code)
{
	if ((unsigned int)code >= TOP_MAX)
		return "?";
	return opcode_names[code];
}

static const char *const obj_kind_names[] = {
	[TOBJ_VM] = "a VM",
	[TOBJ_GMEM] = "a guest_memfd",
	[TOBJ_MAP] = "a mapping",
	[TOBJ_SLOT] = "a memslot",
	[TOBJ_PROC] = "a process",
};

/* ---- flag words ---- */

struct flag_word {
	const char *word;
	uint64_t value;
};

static const struct flag_word gmem_flag_words[] = {
	{ "mmap", TRACE_GMEM_FLAG_MMAP },
	{ "init_shared", TRACE_GMEM_FLAG_INIT_SHARED },
	{ "no_direct_map", TRACE_GMEM_FLAG_NO_DIRECT_MAP },
	{ "hugetlb", TRACE_GMEM_FLAG_HUGETLB },
	{ NULL, 0 }
};

static const struct flag_word falloc_mode_words[] = {
	{ "keep_size", GMEM_FALLOC_FL_KEEP_SIZE },
	{ "punch_hole", GMEM_FALLOC_FL_PUNCH_HOLE },
	{ "no_hide_stale", GMEM_FALLOC_FL_NO_HIDE_STALE },
	{ "collapse_range", GMEM_FALLOC_FL_COLLAPSE_RANGE },
	{ "zero_range", GMEM_FALLOC_FL_ZERO_RANGE },
	{ "insert_range", GMEM_FALLOC_FL_INSERT_RANGE },
	{ "unshare_range", GMEM_FALLOC_FL_UNSHARE_RANGE },
	{ "write_zeroes", GMEM_FALLOC_FL_WRITE_ZEROES },
	{ NULL, 0 }
};

/* No raw numbers here: MAP_FIXED and friends would hit the replayer. */
static const struct flag_word mmap_flag_words[] = {
	{ "shared", GMEM_MAP_SHARED },
	{ "private", GMEM_MAP_PRIVATE },
	{ "shared_validate", GMEM_MAP_SHARED_VALIDATE },
	{ "sync", GMEM_MAP_SYNC },
	{ NULL, 0 }
};

static const struct flag_word prot_words[] = { { "none", GMEM_PROT_NONE },
					       { NULL, 0 } };

static const struct flag_word memslot_flag_words[] = {
	{ "log_dirty_pages", KVM_MEM_LOG_DIRTY_PAGES },
	{ "readonly", KVM_MEM_READONLY },
	{ "guest_memfd", KVM_MEM_GUEST_MEMFD },
	{ NULL, 0 }
};

/* ---- hash tables ---- */

/*
 * Open addressing, linear probing, power-of-two size, at most half full.
 * @key_obj is an object index whose name is the key; @vm is part of the key
 * in the memslot table (-1 in the name table).
 */
struct name_entry {
	int key_obj; /* -1: empty */
	int vm;
	int value;
};

struct name_table {
	struct name_entry *slots;
	size_t cap;
	size_t nr;
};

struct parser {
	struct trace *t;
	size_t ops_cap;
	size_t objs_cap;
	struct name_table names; /* name -> newest binding */
	struct name_table slots; /* (name, VM object) -> first binding */
	uint32_t *next_slot; /* per object: slot ids taken (VMs) */
	size_t next_slot_cap;
	char **threads; /* @THREAD names, by first use */
	size_t nr_threads;
	bool nomem;

	/* the line being parsed */
	unsigned int line;
	char *buf;
	size_t buf_cap;
	char *tok[TRACE_MAX_TOKENS];
	int nr_tok;
	char err[256];
	/* expectation alternatives after the first (op->expect) */
	struct op_result alt[TRACE_MAX_EXPECT - 1];
	unsigned int nr_alt;

	/* the binding the op makes when the whole line parses */
	struct {
		bool active;
		enum trace_obj_kind kind;
		const char *name;
		int vm;
		uint64_t map_len;
		bool slot_known;
		uint32_t slot_id;
	} bind;
};

static uint64_t name_hash(const char *s, int vm)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= (uint64_t)(uint32_t)vm;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static struct name_entry *name_table_find(struct parser *p,
					  struct name_table *tab,
					  const char *name, int vm)
{
	size_t i, mask;

	if (!tab->cap)
		return NULL;
	mask = tab->cap - 1;
	for (i = name_hash(name, vm) & mask;; i = (i + 1) & mask) {
		struct name_entry *e = &tab->slots[i];

		if (e->key_obj < 0)
			return e;
		if (e->vm == vm && !strcmp(p->t->objs[e->key_obj].name, name))
			return e;
	}
}

static int name_table_grow(struct parser *p, struct name_table *tab)
{
	struct name_table old = *tab;
	size_t i, cap = old.cap ? old.cap * 2 : 64;

	tab->slots = malloc(cap * sizeof(*tab->slots));
	if (!tab->slots) {
		*tab = old;
		return -ENOMEM;
	}
	tab->cap = cap;
	tab->nr = 0;
	for (i = 0; i < cap; i++)
		tab->slots[i].key_obj = -1;
	for (i = 0; i < old.cap; i++) {
		struct name_entry *e = &old.slots[i], *n;

		if (e->key_obj < 0)
			continue;
		n = name_table_find(p, tab, p->t->objs[e->key_obj].name, e->vm);
		*n = *e;
		tab->nr++;
	}
	free(old.slots);
	return 0;
}

/* Insert or update; the key name is objs[@obj].name. */
static int name_table_set(struct parser *p, struct name_table *tab, int obj,
			  int vm, int value)
{
	struct name_entry *e;

	if ((tab->nr + 1) * 2 > tab->cap && name_table_grow(p, tab))
		return -ENOMEM;
	e = name_table_find(p, tab, p->t->objs[obj].name, vm);
	if (e->key_obj < 0) {
		e->key_obj = obj;
		e->vm = vm;
		tab->nr++;
	}
	e->value = value;
	return 0;
}

static int name_table_get(struct parser *p, struct name_table *tab,
			  const char *name, int vm)
{
	struct name_entry *e = name_table_find(p, tab, name, vm);

	return e && e->key_obj >= 0 ? e->value : -1;
}

/* ---- errors ---- */

static int __attribute__((format(printf, 2, 3)))
parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A token quoted for a message: at most 40 bytes of it. */
#define TOK_FMT "'%.40s%s'"
#define TOK_ARG(s) (s), strlen(s) > 40 ? "..." : ""

/* ---- lexical helpers ---- */

static bool is_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * [-](DIGITS|0xHEXDIGITS)[K|M|G|T], case-insensitive suffix.  A negative
 * number is the two's complement of its magnitude (at most 2^63).
 * Returns 0, -EINVAL (not a number) or -ERANGE (does not fit 64 bits).
 */
static int __parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	bool neg = false, any = false;
	unsigned int base = 10;
	int d;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++) {
		d = base == 16 ? hex_digit(*s) :
				 (*s >= '0' && *s <= '9' ? *s - '0' : -1);
		if (d < 0)
			break;
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			return -ERANGE;
		v = v * base + (unsigned int)d;
		any = true;
	}
	if (!any)
		return -EINVAL;
	switch (*s) {
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		break;
	case 't':
	case 'T':
		mul = 1ULL << 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*s && s[1])
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	v *= mul;
	if (neg) {
		if (v > (1ULL << 63))
			return -ERANGE;
		v = -v;
	}
	*out = v;
	return 0;
}

static int parse_number(struct parser *p, const char *what, const char *s,
			uint64_t *out)
{
	int ret = __parse_number(s, out);

	if (ret == -ERANGE)
		return parse_error(p, "%s " TOK_FMT " does not fit in 64 bits",
				   what, TOK_ARG(s));
	if (ret)
		return parse_error(p, "%s " TOK_FMT " is not a number", what,
				   TOK_ARG(s));
	return 0;
}

static int parse_byte(struct parser *p, const char *s, uint8_t *out)
{
	uint64_t v;

	if (__parse_number(s, &v) || v > 0xff)
		return parse_error(p,
				   "byte " TOK_FMT " is not a number 0..0xff",
				   TOK_ARG(s));
	*out = (uint8_t)v;
	return 0;
}

/* OFFSET+LENGTH */
static int parse_range(struct parser *p, char *s, uint64_t *off, uint64_t *len)
{
	char *plus = strchr(s, '+');
	int ret;

	if (!plus)
		return parse_error(p, "range " TOK_FMT " is not OFFSET+LENGTH",
				   TOK_ARG(s));
	*plus = '\0';
	ret = parse_number(p, "range offset", s, off);
	if (!ret)
		ret = parse_number(p, "range length", plus + 1, len);
	*plus = '+';
	return ret;
}

/* WORD|WORD|NUMBER...; numbers only when @numbers. */
static int parse_flags(struct parser *p, const char *what,
		       const struct flag_word *words, bool numbers, char *s,
		       uint64_t *out)
{
	uint64_t v = 0, n;
	char *part = s, *bar;
	const struct flag_word *w;

	for (;;) {
		bar = strchr(part, '|');
		if (bar)
			*bar = '\0';
		for (w = words; w->word; w++)
			if (!strcmp(w->word, part))
				break;
		if (w->word) {
			v |= w->value;
		} else if (numbers && !__parse_number(part, &n)) {
			v |= n;
		} else {
			parse_error(p, "unknown %s " TOK_FMT, what,
				    TOK_ARG(part));
			if (bar)
				*bar = '|';
			return -EINVAL;
		}
		if (!bar)
			break;
		*bar = '|';
		part = bar + 1;
	}
	*out = v;
	return 0;
}

/* ---- growing arrays ---- */

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * size);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static char *strdup_checked(struct parser *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->nomem = true;
	return d;
}

/* ---- names ---- */

static int lookup_obj(struct parser *p, const char *name,
		      enum trace_obj_kind kind, int *out)
{
	int idx;

	if (!is_name(name))
		return parse_error(p, TOK_FMT " is not a name", TOK_ARG(name));
	if (strlen(name) > TRACE_NAME_MAX)
		return parse_error(p, "name " TOK_FMT " is longer than %zu",
				   TOK_ARG(name), TRACE_NAME_MAX);
	idx = name_table_get(p, &p->names, name, -1);
	if (idx < 0)
		return parse_error(p, "'%s' is not bound", name);
	if (p->t->objs[idx].kind != kind)
		return parse_error(p, "'%s' is %s (line %u), not %s", name,
				   obj_kind_names[p->t->objs[idx].kind],
				   p->t->objs[idx].line, obj_kind_names[kind]);
	*out = idx;
	return 0;
}

/* Record the binding a creating op makes; committed when the line parses. */
static int bind_name(struct parser *p, const char *name,
		     enum trace_obj_kind kind)
{
	if (!is_name(name))
		return parse_error(p, TOK_FMT " is not a name", TOK_ARG(name));
	if (strlen(name) > TRACE_NAME_MAX)
		return parse_error(p, "name " TOK_FMT " is longer than %zu",
				   TOK_ARG(name), TRACE_NAME_MAX);
	p->bind.active = true;
	p->bind.kind = kind;
	p->bind.name = name;
	p->bind.vm = TRACE_NO_OBJ;
	p->bind.map_len = 0;
	p->bind.slot_known = false;
	p->bind.slot_id = 0;
	return 0;
}

static int commit_binding(struct parser *p)
{
	struct trace *t = p->t;
	struct trace_obj *o;
	int idx, vm = p->bind.vm;

	if (t->nr_objs >= (size_t)INT32_MAX)
		return -ENOMEM;
	if (grow((void **)&t->objs, &p->objs_cap, t->nr_objs + 1,
		 sizeof(*t->objs)))
		return -ENOMEM;
	idx = (int)t->nr_objs;
	o = &t->objs[idx];
	memset(o, 0, sizeof(*o));
	o->kind = p->bind.kind;
	strcpy(o->name, p->bind.name);
	o->line = p->line;
	o->vm = TRACE_NO_OBJ;
	o->map_len = p->bind.map_len;
	if (o->kind == TOBJ_SLOT) {
		o->vm = vm;
		o->slot_id = p->bind.slot_id;
	}
	t->nr_objs++;

	/* next_slot[] runs parallel to objs[] */
	if (grow((void **)&p->next_slot, &p->next_slot_cap, t->nr_objs,
		 sizeof(*p->next_slot)))
		return -ENOMEM;
	p->next_slot[idx] = 0;

	if (o->kind == TOBJ_SLOT && !p->bind.slot_known) {
		p->next_slot[vm]++;
		if (name_table_set(p, &p->slots, idx, vm, idx))
			return -ENOMEM;
	}
	return name_table_set(p, &p->names, idx, -1, idx);
}

/* ---- ops ---- */

/*
 * Remaining arguments are KEY=VALUE or WORD.  Each op's loop calls
 * split_key() and handles what it knows; anything else is an error.
 */
static char *split_key(char *tok)
{
	char *eq = strchr(tok, '=');

	if (!eq)
		return NULL;
	*eq = '\0';
	return eq + 1;
}

static int unknown_arg(struct parser *p, const char *op, const char *key,
		       const char *val)
{
	if (val)
		return parse_error(p, "%s: unknown key " TOK_FMT, op,
				   TOK_ARG(key));
	return parse_error(p, "%s: unexpected argument " TOK_FMT, op,
			   TOK_ARG(key));
}

static int dup_key(struct parser *p, const char *op, const char *key)
{
	return parse_error(p, "%s: '%s' given twice", op, key);
}

static int need_args(struct parser *p, const char *op, int nargs, int min,
		     const char *usage)
{
	if (nargs < min)
		return parse_error(p, "%s: missing arguments (usage: %s)", op,
				   usage);
	return 0;
}

static int op_vm(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool have_type = false;
	enum gm_vm_type t;
	char *val;
	int i;

	if (need_args(p, "vm", n, 1, "vm NAME [type=T]") ||
	    bind_name(p, arg[0], TOBJ_VM))
		return -EINVAL;
	op->u.vm.type = gm_vm_type_to_kvm(GM_VM_DEFAULT);
	op->u.vm.type_named = true;
	op->u.vm.vm_type = GM_VM_DEFAULT;
	for (i = 1; i < n; i++) {
		val = split_key(arg[i]);
		if (!val || strcmp(arg[i], "type"))
			return unknown_arg(p, "vm", arg[i], val);
		if (have_type)
			return dup_key(p, "vm", "type");
		have_type = true;
		if (!gm_vm_type_parse(val, &t)) {
			op->u.vm.type = gm_vm_type_to_kvm(t);
			op->u.vm.vm_type = t;
			continue;
		}
		if (__parse_number(val, &op->u.vm.type))
			return parse_error(p, "vm: unknown type " TOK_FMT,
					   TOK_ARG(val));
		op->u.vm.type_named = false;
		op->u.vm.vm_type = GM_VM_TYPE_MAX;
		for (t = 0; t < GM_VM_TYPE_MAX; t++)
			if (gm_vm_type_to_kvm(t) == op->u.vm.type)
				op->u.vm.vm_type = t;
	}
	return 0;
}

static int op_gmem(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool have_size = false, have_flags = false, have_huge = false;
	char *val;
	int i;

	if (need_args(p, "gmem", n, 2, "gmem NAME VM size=N [flags=F]") ||
	    lookup_obj(p, arg[1], TOBJ_VM, &op->obj2) ||
	    bind_name(p, arg[0], TOBJ_GMEM))
		return -EINVAL;
	for (i = 2; i < n; i++) {
		val = split_key(arg[i]);
		if (val && !strcmp(arg[i], "size")) {
			if (have_size)
				return dup_key(p, "gmem", "size");
			have_size = true;
			if (parse_number(p, "size", val, &op->u.gmem.size))
				return -EINVAL;
		} else if (val && !strcmp(arg[i], "flags")) {
			if (have_flags)
				return dup_key(p, "gmem", "flags");
			have_flags = true;
			if (parse_flags(p, "gmem flag", gmem_flag_words, true,
					val, &op->u.gmem.flags))
				return -EINVAL;
		} else if (val && !strcmp(arg[i], "huge")) {
			if (have_huge)
				return dup_key(p, "gmem", "huge");
			have_huge = true;
			if (parse_number(p, "huge", val, &op->u.gmem.huge))
				return -EINVAL;
			if (op->u.gmem.huge != (2ULL << 20) &&
			    op->u.gmem.huge != (1ULL << 30))
				return parse_error(
					p, "gmem: huge must be 2M or 1G");
		} else {
			return unknown_arg(p, "gmem", arg[i], val);
		}
	}
	if (!have_size)
		return parse_error(p, "gmem: size= is required");
	return 0;
}

static int op_close(struct parser *p, struct trace_op *op, char **arg, int n)
{
	int idx;

	if (need_args(p, "close", n, 1, "close NAME"))
		return -EINVAL;
	if (n > 1)
		return unknown_arg(p, "close", arg[1], NULL);
	if (!is_name(arg[0]))
		return parse_error(p, TOK_FMT " is not a name",
				   TOK_ARG(arg[0]));
	idx = strlen(arg[0]) > TRACE_NAME_MAX ?
		      -1 :
		      name_table_get(p, &p->names, arg[0], -1);
	if (idx < 0)
		return parse_error(p, "'%.63s' is not bound", arg[0]);
	if (p->t->objs[idx].kind != TOBJ_VM &&
	    p->t->objs[idx].kind != TOBJ_GMEM)
		return parse_error(p,
				   "close: '%s' is %s, not a VM or guest_memfd",
				   arg[0],
				   obj_kind_names[p->t->objs[idx].kind]);
	op->obj = idx;
	return 0;
}

static int op_fallocate(struct parser *p, struct trace_op *op, char **arg,
			int n)
{
	bool have_mode = false;
	char *val;
	int i;

	if (need_args(p, "fallocate", n, 2,
		      "fallocate G OFFSET+LEN [mode=M]") ||
	    lookup_obj(p, arg[0], TOBJ_GMEM, &op->obj) ||
	    parse_range(p, arg[1], &op->u.fallocate.offset,
			&op->u.fallocate.len))
		return -EINVAL;
	op->u.fallocate.mode = GMEM_FALLOC_FL_KEEP_SIZE;
	for (i = 2; i < n; i++) {
		val = split_key(arg[i]);
		if (!val || strcmp(arg[i], "mode"))
			return unknown_arg(p, "fallocate", arg[i], val);
		if (have_mode)
			return dup_key(p, "fallocate", "mode");
		have_mode = true;
		if (parse_flags(p, "fallocate mode", falloc_mode_words, true,
				val, &op->u.fallocate.mode))
			return -EINVAL;
	}
	return 0;
}

static int parse_prot(struct parser *p, char *s, int *prot)
{
	uint64_t v;
	int bits = 0;
	const char *c;

	if (!parse_flags(p, "prot", prot_words, false, s, &v)) {
		*prot = (int)v;
		return 0;
	}
	/* any of r, w, x, each at most once */
	for (c = s; *c; c++) {
		int bit = *c == 'r' ? GMEM_PROT_READ :
			  *c == 'w' ? GMEM_PROT_WRITE :
			  *c == 'x' ? GMEM_PROT_EXEC :
				      -1;

		if (bit < 0 || (bits & bit))
			break;
		bits |= bit;
	}
	if (!*c && c != s) {
		*prot = bits;
		return 0;
	}
	if (!__parse_number(s, &v) && v <= INT32_MAX) {
		*prot = (int)v;
		return 0;
	}
	return parse_error(p, "mmap: unknown prot " TOK_FMT, TOK_ARG(s));
}

static int op_mmap(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool have_prot = false, have_flags = false;
	uint64_t v;
	char *val;
	int i;

	if (need_args(p, "mmap", n, 3,
		      "mmap MAP G OFFSET+LEN [prot=P] [shared|private]") ||
	    lookup_obj(p, arg[1], TOBJ_GMEM, &op->obj2) ||
	    parse_range(p, arg[2], &op->u.mmap.offset, &op->u.mmap.len) ||
	    bind_name(p, arg[0], TOBJ_MAP))
		return -EINVAL;
	p->bind.map_len = op->u.mmap.len;
	op->u.mmap.prot = GMEM_PROT_READ | GMEM_PROT_WRITE;
	op->u.mmap.flags = GMEM_MAP_SHARED;
	for (i = 3; i < n; i++) {
		val = split_key(arg[i]);
		if (val && !strcmp(arg[i], "prot")) {
			if (have_prot)
				return dup_key(p, "mmap", "prot");
			have_prot = true;
			if (parse_prot(p, val, &op->u.mmap.prot))
				return -EINVAL;
		} else if (val && !strcmp(arg[i], "proc")) {
			if (op->proc != TRACE_NO_OBJ)
				return dup_key(p, "mmap", "proc");
			if (lookup_obj(p, val, TOBJ_PROC, &op->proc))
				return -EINVAL;
		} else if (!val) {
			if (have_flags)
				return dup_key(p, "mmap", "shared/private");
			have_flags = true;
			if (parse_flags(p, "mmap flag", mmap_flag_words, false,
					arg[i], &v))
				return -EINVAL;
			op->u.mmap.flags = (int)v;
		} else {
			return unknown_arg(p, "mmap", arg[i], val);
		}
	}
	return 0;
}

/* proc=P on an op that works on a mapping: run it in process P */
static int parse_proc_key(struct parser *p, const char *op_name,
			  struct trace_op *op, char *arg)
{
	char *val = split_key(arg);

	if (!val || strcmp(arg, "proc"))
		return unknown_arg(p, op_name, arg, val);
	if (op->proc != TRACE_NO_OBJ)
		return dup_key(p, op_name, "proc");
	return lookup_obj(p, val, TOBJ_PROC, &op->proc);
}

static int op_munmap(struct parser *p, struct trace_op *op, char **arg, int n)
{
	int i;

	if (need_args(p, "munmap", n, 1, "munmap MAP [proc=P]") ||
	    lookup_obj(p, arg[0], TOBJ_MAP, &op->obj))
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (parse_proc_key(p, "munmap", op, arg[i]))
			return -EINVAL;
	return 0;
}

/* fork P [from=Q]: a child of Q (default: the first process) */
static int op_fork(struct parser *p, struct trace_op *op, char **arg, int n)
{
	char *val;
	int i;

	if (need_args(p, "fork", n, 1, "fork PROC [from=PROC]"))
		return -EINVAL;
	for (i = 1; i < n; i++) {
		val = split_key(arg[i]);
		if (!val || strcmp(arg[i], "from"))
			return unknown_arg(p, "fork", arg[i], val);
		if (op->obj2 != TRACE_NO_OBJ)
			return dup_key(p, "fork", "from");
		if (lookup_obj(p, val, TOBJ_PROC, &op->obj2))
			return -EINVAL;
	}
	return bind_name(p, arg[0], TOBJ_PROC);
}

static int op_exit(struct parser *p, struct trace_op *op, char **arg, int n)
{
	if (need_args(p, "exit", n, 1, "exit PROC") ||
	    lookup_obj(p, arg[0], TOBJ_PROC, &op->obj))
		return -EINVAL;
	if (n > 1)
		return unknown_arg(p, "exit", arg[1], NULL);
	return 0;
}

static int check_map_offset(struct parser *p, const struct trace_op *op)
{
	uint64_t len = p->t->objs[op->obj].map_len;
	uint64_t ps = p->t->cfg.page_size;
	uint64_t pages = len / ps + (len % ps != 0);

	if (op->u.access.offset / ps >= pages)
		return parse_error(p,
				   "%s: offset 0x%" PRIx64 " is outside "
				   "mapping '%s' (0x%" PRIx64
				   " bytes, line %u)",
				   trace_opcode_name(op->code),
				   op->u.access.offset,
				   p->t->objs[op->obj].name, len,
				   p->t->objs[op->obj].line);
	return 0;
}

static int op_access(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool write = op->code == TOP_WRITE, have_byte = false;
	const char *name = write ? "write" : "read";
	char *val;
	int i;

	if (need_args(p, name, n, 2,
		      write ? "write MAP OFFSET [byte=V]" :
			      "read MAP OFFSET") ||
	    lookup_obj(p, arg[0], TOBJ_MAP, &op->obj) ||
	    parse_number(p, "offset", arg[1], &op->u.access.offset) ||
	    check_map_offset(p, op))
		return -EINVAL;
	op->u.access.byte = 0xa5;
	for (i = 2; i < n; i++) {
		if (!strncmp(arg[i], "proc=", 5)) {
			if (parse_proc_key(p, name, op, arg[i]))
				return -EINVAL;
			continue;
		}
		val = split_key(arg[i]);
		if (!write || !val || strcmp(arg[i], "byte"))
			return unknown_arg(p, name, arg[i], val);
		if (have_byte)
			return dup_key(p, name, "byte");
		have_byte = true;
		if (parse_byte(p, val, &op->u.access.byte))
			return -EINVAL;
	}
	return 0;
}

static int op_memslot(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool have_gpa = false, have_size = false, have_offset = false;
	bool have_flags = false;
	uint64_t flags = 0;
	char *val;
	int i, vm, first;

	if (need_args(
		    p, "memslot", n, 2,
		    "memslot SLOT VM gpa=A size=N [gmem=G offset=O] [flags=F]") ||
	    lookup_obj(p, arg[1], TOBJ_VM, &vm) ||
	    bind_name(p, arg[0], TOBJ_SLOT))
		return -EINVAL;
	op->obj2 = TRACE_NO_OBJ;
	for (i = 2; i < n; i++) {
		val = split_key(arg[i]);
		if (!val)
			return unknown_arg(p, "memslot", arg[i], val);
		if (!strcmp(arg[i], "gpa")) {
			if (have_gpa)
				return dup_key(p, "memslot", "gpa");
			have_gpa = true;
			if (parse_number(p, "gpa", val, &op->u.memslot.gpa))
				return -EINVAL;
		} else if (!strcmp(arg[i], "size")) {
			if (have_size)
				return dup_key(p, "memslot", "size");
			have_size = true;
			if (parse_number(p, "size", val, &op->u.memslot.size))
				return -EINVAL;
		} else if (!strcmp(arg[i], "gmem")) {
			if (op->u.memslot.has_gmem)
				return dup_key(p, "memslot", "gmem");
			if (lookup_obj(p, val, TOBJ_GMEM, &op->obj2))
				return -EINVAL;
			op->u.memslot.has_gmem = true;
		} else if (!strcmp(arg[i], "offset")) {
			if (have_offset)
				return dup_key(p, "memslot", "offset");
			have_offset = true;
			if (parse_number(p, "offset", val,
					 &op->u.memslot.offset))
				return -EINVAL;
		} else if (!strcmp(arg[i], "flags")) {
			if (have_flags)
				return dup_key(p, "memslot", "flags");
			have_flags = true;
			if (parse_flags(p, "memslot flag", memslot_flag_words,
					true, val, &flags))
				return -EINVAL;
			if (flags > UINT32_MAX)
				return parse_error(
					p,
					"memslot: flags do not fit in 32 bits");
		} else {
			return unknown_arg(p, "memslot", arg[i], val);
		}
	}
	if (!have_gpa || !have_size)
		return parse_error(p, "memslot: gpa= and size= are required");
	if (op->u.memslot.has_gmem)
		flags |= KVM_MEM_GUEST_MEMFD;
	op->u.memslot.flags = (uint32_t)flags;

	p->bind.vm = vm;
	first = name_table_get(p, &p->slots, arg[0], vm);
	if (first >= 0) {
		p->bind.slot_known = true;
		p->bind.slot_id = p->t->objs[first].slot_id;
	} else {
		p->bind.slot_id = p->next_slot[vm];
	}
	return 0;
}

static int op_memslot_delete(struct parser *p, struct trace_op *op, char **arg,
			     int n)
{
	if (need_args(p, "memslot_delete", n, 1, "memslot_delete SLOT") ||
	    lookup_obj(p, arg[0], TOBJ_SLOT, &op->obj))
		return -EINVAL;
	if (n > 1)
		return unknown_arg(p, "memslot_delete", arg[1], NULL);
	return 0;
}

static int parse_intent(struct parser *p, const char *op, const char *s,
			bool *private)
{
	if (!strcmp(s, "private"))
		*private = true;
	else if (!strcmp(s, "shared"))
		*private = false;
	else
		return parse_error(
			p, "%s: expected private or shared, not " TOK_FMT, op,
			TOK_ARG(s));
	return 0;
}

/* attributes VM RANGE private|shared; convert G RANGE private|shared */
static int op_attr(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool vm = op->code == TOP_ATTRIBUTES;
	const char *name = trace_opcode_name(op->code);

	if (need_args(p, name, n, 3,
		      vm ? "attributes VM GPA+LEN private|shared" :
			   "convert G OFFSET+LEN private|shared") ||
	    lookup_obj(p, arg[0], vm ? TOBJ_VM : TOBJ_GMEM, &op->obj) ||
	    parse_range(p, arg[1], &op->u.range.offset, &op->u.range.len) ||
	    parse_intent(p, name, arg[2], &op->u.range.private))
		return -EINVAL;
	if (n > 3)
		return unknown_arg(p, name, arg[3], strchr(arg[3], '='));
	return 0;
}

static int op_guest(struct parser *p, struct trace_op *op, char **arg, int n)
{
	bool have_intent = false, private;
	char *val;
	int i;

	if (need_args(p, "guest", n, 3,
		      "guest VM GPA r|w|x [private|shared] [byte=V]") ||
	    lookup_obj(p, arg[0], TOBJ_VM, &op->obj) ||
	    parse_number(p, "gpa", arg[1], &op->u.guest.gpa))
		return -EINVAL;
	if (!strcmp(arg[2], "r"))
		op->u.guest.access = GM_ACCESS_READ;
	else if (!strcmp(arg[2], "w"))
		op->u.guest.access = GM_ACCESS_WRITE;
	else if (!strcmp(arg[2], "x"))
		op->u.guest.access = GM_ACCESS_EXEC;
	else
		return parse_error(
			p, "guest: access must be r, w or x, not " TOK_FMT,
			TOK_ARG(arg[2]));
	op->u.guest.intent = GM_INTENT_DEFAULT;
	op->u.guest.byte = 0xa5;
	for (i = 3; i < n; i++) {
		val = split_key(arg[i]);
		if (!val) {
			if (have_intent)
				return dup_key(p, "guest", "private/shared");
			have_intent = true;
			if (parse_intent(p, "guest", arg[i], &private))
				return -EINVAL;
			op->u.guest.intent = private ? GM_INTENT_PRIVATE :
						       GM_INTENT_SHARED;
		} else if (!strcmp(arg[i], "byte")) {
			if (op->u.guest.has_byte)
				return dup_key(p, "guest", "byte");
			if (op->u.guest.access != GM_ACCESS_WRITE)
				return parse_error(
					p, "guest: byte= is only for w");
			op->u.guest.has_byte = true;
			if (parse_byte(p, val, &op->u.guest.byte))
				return -EINVAL;
		} else if (!strcmp(arg[i], "accept")) {
			if (op->u.guest.accept)
				return dup_key(p, "guest", "accept");
			if (!strcasecmp(val, "4K"))
				op->u.guest.accept = GM_ACCEPT_4K;
			else if (!strcasecmp(val, "2M"))
				op->u.guest.accept = GM_ACCEPT_2M;
			else
				return parse_error(
					p, "guest: accept must be 4K or 2M");
		} else {
			return unknown_arg(p, "guest", arg[i], val);
		}
	}
	return 0;
}

static int op_page(struct parser *p, struct trace_op *op, char **arg, int n)
{
	const char *name = trace_opcode_name(op->code);

	if (need_args(p, name, n, 2, "pin|unpin|poison G OFFSET") ||
	    lookup_obj(p, arg[0], TOBJ_GMEM, &op->obj) ||
	    parse_number(p, "offset", arg[1], &op->u.page.offset))
		return -EINVAL;
	if (n > 2)
		return unknown_arg(p, name, arg[2], strchr(arg[2], '='));
	return 0;
}

static int op_state(struct parser *p, struct trace_op *op, char **arg, int n)
{
	if (need_args(p, "state", n, 2, "state G OFFSET+LEN") ||
	    lookup_obj(p, arg[0], TOBJ_GMEM, &op->obj) ||
	    parse_range(p, arg[1], &op->u.range.offset, &op->u.range.len))
		return -EINVAL;
	if (n > 2)
		return unknown_arg(p, "state", arg[2], strchr(arg[2], '='));
	return 0;
}

static int op_check(struct parser *p, struct trace_op *op, char **arg, int n)
{
	(void)op;
	if (n > 0)
		return unknown_arg(p, "check", arg[0], strchr(arg[0], '='));
	return 0;
}

static int op_barrier(struct parser *p, struct trace_op *op, char **arg,
		      int n)
{
	(void)op;
	if (n > 0)
		return unknown_arg(p, "barrier", arg[0], strchr(arg[0], '='));
	return 0;
}

typedef int (*op_parse_fn)(struct parser *p, struct trace_op *op, char **arg,
			   int n);

static const op_parse_fn op_parsers[TOP_MAX] = {
	[TOP_VM] = op_vm,	    [TOP_GMEM] = op_gmem,
	[TOP_CLOSE] = op_close,	    [TOP_FALLOCATE] = op_fallocate,
	[TOP_MMAP] = op_mmap,	    [TOP_MUNMAP] = op_munmap,
	[TOP_READ] = op_access,	    [TOP_WRITE] = op_access,
	[TOP_MEMSLOT] = op_memslot, [TOP_MEMSLOT_DELETE] = op_memslot_delete,
	[TOP_ATTRIBUTES] = op_attr, [TOP_CONVERT] = op_attr,
	[TOP_GUEST] = op_guest,	    [TOP_PIN] = op_page,
	[TOP_UNPIN] = op_page,	    [TOP_POISON] = op_page,
	[TOP_STATE] = op_state,	    [TOP_CHECK] = op_check,
	[TOP_FORK] = op_fork,	    [TOP_EXIT] = op_exit,
	[TOP_BARRIER] = op_barrier,
};

/* ---- expectations ---- */

/* One alternative: RESULT {KEY=VALUE}, already split into @n tokens. */
static int parse_result(struct parser *p, struct op_result *r, char **tok,
			int n)
{
	uint64_t v;
	char *val;
	int i;

	memset(r, 0, sizeof(*r));
	if (!n)
		return parse_error(p, "'->' without a result");
	if (!result_kind_parse(tok[0], &r->kind)) {
		/* kind set */
	} else if ((r->err = trace_errno_parse(tok[0]))) {
		r->kind = RES_ERRNO;
	} else {
		return parse_error(p, "unknown result " TOK_FMT,
				   TOK_ARG(tok[0]));
	}
	for (i = 1; i < n; i++) {
		val = split_key(tok[i]);
		if (!val)
			return parse_error(p,
					   "unexpected " TOK_FMT
					   " after the result",
					   TOK_ARG(tok[i]));
		if (!strcmp(tok[i], "byte")) {
			if (r->keys & RKEY_BYTE)
				return dup_key(p, "result", "byte");
			if (parse_byte(p, val, &r->byte))
				return -EINVAL;
			r->keys |= RKEY_BYTE;
		} else if (!strcmp(tok[i], "error_offset")) {
			if (r->keys & RKEY_ERROR_OFFSET)
				return dup_key(p, "result", "error_offset");
			if (parse_number(p, "error_offset", val,
					 &r->error_offset))
				return -EINVAL;
			r->keys |= RKEY_ERROR_OFFSET;
		} else if (!strcmp(tok[i], "order")) {
			if (r->keys & RKEY_ORDER)
				return dup_key(p, "result", "order");
			if (__parse_number(val, &v) || v > 63)
				return parse_error(p,
						   "order " TOK_FMT
						   " is not a number 0..63",
						   TOK_ARG(val));
			r->order = (int)v;
			r->keys |= RKEY_ORDER;
		} else {
			return parse_error(p, "unknown result key " TOK_FMT,
					   TOK_ARG(tok[i]));
		}
	}
	return 0;
}

/*
 * Split the text after "->" in place into tokens at spaces and tabs, and
 * at every '|', spaced or glued ("ok|exit", "ok byte=1|exit"): no result
 * or key contains one.  A '|' becomes a NULL token; it counts toward the
 * TRACE_MAX_TOKENS limit like any other token.
 */
static int tokenize_expect(struct parser *p, char *s, char **tok, int *nr)
{
	int n = 0;

	*nr = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == TRACE_MAX_TOKENS)
			return parse_error(p, "more than %d tokens",
					   TRACE_MAX_TOKENS);
		if (*s == '|') {
			tok[n++] = NULL;
			s++;
			continue;
		}
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '|')
			s++;
		if (*s == '|') {
			/* the '|' is overwritten: emit its token now */
			*s++ = '\0';
			if (n == TRACE_MAX_TOKENS)
				return parse_error(p, "more than %d tokens",
						   TRACE_MAX_TOKENS);
			tok[n++] = NULL;
		} else if (*s) {
			*s++ = '\0';
		}
	}
	*nr = n;
	return 0;
}

/*
 * "-> R1 | R2 ...": up to TRACE_MAX_EXPECT alternatives, each a result
 * with its keys.  The first goes to op->expect, the others to p->alt[]
 * (copied out when the whole line has parsed).
 */
static int parse_expect(struct parser *p, struct trace_op *op, char **tok,
			int n)
{
	unsigned int nr_alt = 1, alt = 0;
	char first[sizeof(p->err)];
	struct op_result *r;
	int i, start = 0;

	if (!n)
		return parse_error(p, "'->' without a result");
	for (i = 0; i < n; i++)
		if (!tok[i])
			nr_alt++;
	if (nr_alt > TRACE_MAX_EXPECT)
		return parse_error(p, "%u alternatives after '->' (at most %d)",
				   nr_alt, TRACE_MAX_EXPECT);
	for (i = 0; i <= n; i++) {
		if (i < n && tok[i])
			continue;
		/* tok[start, i) is alternative alt */
		if (i == start)
			return parse_error(p,
					   "empty alternative %u after '->' "
					   "('|' needs a result on each side)",
					   alt + 1);
		r = alt ? &p->alt[alt - 1] : &op->expect;
		if (parse_result(p, r, tok + start, i - start)) {
			if (nr_alt == 1)
				return -EINVAL;
			strcpy(first, p->err);
			return parse_error(p, "alternative %u: %s", alt + 1,
					   first);
		}
		alt++;
		start = i + 1;
	}
	p->nr_alt = nr_alt - 1;
	return 0;
}

/* ---- header ---- */

int trace_threads_parse(const char *word, bool *concurrent)
{
	if (!strcmp(word, "ordered"))
		*concurrent = false;
	else if (!strcmp(word, "concurrent"))
		*concurrent = true;
	else
		return -EINVAL;
	return 0;
}

const char *trace_threads_name(bool concurrent)
{
	return concurrent ? "concurrent" : "ordered";
}

static int parse_vm_types(struct parser *p, char *s, unsigned int *mask)
{
	char *part = s, *comma;
	enum gm_vm_type t;
	unsigned int m = 0;
	int ret = 0;

	for (;;) {
		comma = strchr(part, ',');
		if (comma)
			*comma = '\0';
		if (gm_vm_type_parse(part, &t))
			ret = parse_error(p,
					  "vm_types: unknown VM type " TOK_FMT,
					  TOK_ARG(part));
		else
			m |= 1U << t;
		if (!comma)
			break;
		*comma = ',';
		part = comma + 1;
		if (ret)
			break;
	}
	if (!ret)
		*mask = m;
	return ret;
}

/* SIZE:COUNT[,SIZE:COUNT] */
static int check_hugetlb_pool(struct parser *p, char *s)
{
	char *part = s, *comma, *colon;
	uint64_t v;
	int ret = 0;

	for (;;) {
		comma = strchr(part, ',');
		if (comma)
			*comma = '\0';
		colon = strchr(part, ':');
		if (!colon) {
			ret = parse_error(p,
					  "hugetlb_pool: " TOK_FMT
					  " is not SIZE:COUNT",
					  TOK_ARG(part));
		} else {
			*colon = '\0';
			if (__parse_number(part, &v) ||
			    (v != (2ULL << 20) && v != (1ULL << 30)))
				ret = parse_error(p, "hugetlb_pool: size must "
						     "be 2M or 1G");
			else if (__parse_number(colon + 1, &v))
				ret = parse_error(
					p, "hugetlb_pool: bad count " TOK_FMT,
					TOK_ARG(colon + 1));
			*colon = ':';
		}
		if (comma)
			*comma = ',';
		if (!comma || ret)
			break;
		part = comma + 1;
	}
	return ret;
}

/* One error per header line: the first problem; good keys still apply. */
static int parse_header(struct parser *p)
{
	struct trace_config *cfg = &p->t->cfg;
	char first[sizeof(p->err)] = "";
	uint64_t v;
	char *val;
	int i;

	if (p->nr_tok < 2 || strcmp(p->tok[1], "1")) {
		parse_error(p,
			    "unsupported trace version (want 'gmemtrace 1')");
		strcpy(first, p->err);
	} else {
		p->t->header_ok = true;
	}
	for (i = 2; i < p->nr_tok; i++) {
		char *key = p->tok[i];
		int r = 0;

		val = split_key(key);
		if (!val) {
			r = parse_error(p,
					"header: " TOK_FMT " is not key=value",
					TOK_ARG(key));
		} else if (!strcmp(key, "profile")) {
			if (gm_profile_parse(val, &cfg->profile))
				r = parse_error(p,
						"header: profile " TOK_FMT
						" is not implemented",
						TOK_ARG(val));
			else
				cfg->profile_set = true;
		} else if (!strcmp(key, "page_size")) {
			if (__parse_number(val, &v) || v != GM_PAGE_SIZE)
				r = parse_error(p,
						"header: page_size " TOK_FMT
						" is not supported (only %llu)",
						TOK_ARG(val), GM_PAGE_SIZE);
			else
				cfg->page_size = v;
		} else if (!strcmp(key, "vm_types")) {
			r = parse_vm_types(p, val, &cfg->vm_types);
			if (!r)
				cfg->vm_types_set = true;
		} else if (!strcmp(key, "hugetlb_pool")) {
			r = check_hugetlb_pool(p, val);
			if (!r && strlen(val) >= sizeof(cfg->hugetlb_pool))
				r = parse_error(
					p, "header: hugetlb_pool is too long");
			if (!r)
				strcpy(cfg->hugetlb_pool, val);
		} else if (!strcmp(key, "policy")) {
			if (!is_name(val) || strlen(val) >= sizeof(cfg->policy))
				r = parse_error(p,
						"header: policy " TOK_FMT
						" is not a name",
						TOK_ARG(val));
			else
				strcpy(cfg->policy, val);
		} else if (!strcmp(key, "threads")) {
			if (trace_threads_parse(val, &cfg->concurrent))
				r = parse_error(p,
						"header: threads " TOK_FMT
						" is not ordered or concurrent",
						TOK_ARG(val));
			else
				cfg->threads_set = true;
		} else if (!strcmp(key, "lazy_ops")) {
			uint64_t v;

			if (__parse_number(val, &v) || !v || v > 1000000)
				r = parse_error(p,
						"header: lazy_ops " TOK_FMT
						" is not 1..1000000",
						TOK_ARG(val));
			else
				cfg->lazy_ops = (unsigned int)v;
		} else {
			r = parse_error(p, "header: unknown key " TOK_FMT,
					TOK_ARG(key));
		}
		if (r && !first[0])
			strcpy(first, p->err);
	}
	if (!first[0])
		return 0;
	strcpy(p->err, first);
	return -EINVAL;
}

/* ---- lines ---- */

static int add_op(struct parser *p, const struct trace_op *op)
{
	struct trace *t = p->t;

	if (grow((void **)&t->ops, &p->ops_cap, t->nr_ops + 1, sizeof(*t->ops)))
		return -ENOMEM;
	t->ops[t->nr_ops++] = *op;
	return 0;
}

static int add_error(struct parser *p, unsigned int line, const char *text)
{
	struct trace_op op;

	memset(&op, 0, sizeof(op));
	op.code = TOP_ERROR;
	op.line = line;
	op.thread = -1;
	op.obj = TRACE_NO_OBJ;
	op.obj2 = TRACE_NO_OBJ;
	op.text = strdup(text);
	op.error = strdup(p->err);
	if (!op.text || !op.error || add_op(p, &op)) {
		free(op.text);
		free(op.error);
		return -ENOMEM;
	}
	p->t->nr_errors++;
	return 0;
}

/* Split @s in place at spaces and tabs. */
static int tokenize(struct parser *p, char *s)
{
	p->nr_tok = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return 0;
		if (p->nr_tok == TRACE_MAX_TOKENS)
			return parse_error(p, "more than %d tokens",
					   TRACE_MAX_TOKENS);
		p->tok[p->nr_tok++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int thread_id(struct parser *p, const char *name, int *id)
{
	const char *s;
	long v = 0;
	size_t i;
	char **n;

	if (!is_name(name))
		return parse_error(p, "@" TOK_FMT " is not a thread name",
				   TOK_ARG(name));
	/* @tN is thread N */
	if (name[0] == 't' && name[1] >= '0' && name[1] <= '9') {
		for (s = name + 1; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (*s - '0');
			if (v > 0xffff)
				break;
		}
		if (!*s) {
			*id = (int)v;
			return 0;
		}
	}
	/* any other name: 0x10000 + order of first use */
	for (i = 0; i < p->nr_threads; i++) {
		if (!strcmp(p->threads[i], name)) {
			*id = 0x10000 + (int)i;
			return 0;
		}
	}
	if (p->nr_threads >= TRACE_MAX_THREAD_NAMES)
		return parse_error(p, "more than %d thread names",
				   TRACE_MAX_THREAD_NAMES);
	n = realloc(p->threads, (p->nr_threads + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->threads = n;
	n[p->nr_threads] = strdup(name);
	if (!n[p->nr_threads])
		return -ENOMEM;
	*id = 0x10000 + (int)p->nr_threads++;
	return 0;
}

static int __parse_op(struct parser *p, struct trace_op *op, char *lhs,
		      char *rhs)
{
	char *ex_tok[TRACE_MAX_TOKENS];
	int i, first = 0, nr_ex, ret;
	op_parse_fn fn = NULL;

	/* the expectation first: its tokens are kept apart */
	if (rhs) {
		if (tokenize_expect(p, rhs, ex_tok, &nr_ex))
			return -EINVAL;
		ret = parse_expect(p, op, ex_tok, nr_ex);
		if (ret)
			return ret;
		op->has_expect = true;
	}
	if (tokenize(p, lhs))
		return -EINVAL;
	if (p->nr_tok && p->tok[0][0] == '@') {
		ret = thread_id(p, p->tok[0] + 1, &op->thread);
		if (ret)
			return ret;
		first = 1;
	}
	if (first >= p->nr_tok)
		return parse_error(p, "missing op after @thread");
	for (i = 1; i < TOP_MAX; i++) {
		if (!strcmp(opcode_names[i], p->tok[first])) {
			op->code = i;
			fn = op_parsers[i];
			break;
		}
	}
	if (!fn) {
		if (!strcmp(p->tok[first], "gmemtrace"))
			return parse_error(p,
					   "the header must be the first line");
		return parse_error(p, "unknown op " TOK_FMT,
				   TOK_ARG(p->tok[first]));
	}
	return fn(p, op, p->tok + first + 1, p->nr_tok - first - 1);
}

static int parse_op_line(struct parser *p, char *s)
{
	struct trace_op op;
	char *arrow, *line, *text = NULL;
	int ret = -ENOMEM;

	memset(&op, 0, sizeof(op));
	op.line = p->line;
	op.thread = -1;
	op.obj = TRACE_NO_OBJ;
	op.obj2 = TRACE_NO_OBJ;
	op.proc = TRACE_NO_OBJ;
	p->bind.active = false;
	p->nr_alt = 0;

	line = strdup_checked(p, s);
	if (!line)
		return -ENOMEM;
	arrow = strstr(s, "->");
	if (arrow)
		*arrow = '\0';
	text = strdup_checked(p, trim(s));
	if (!text)
		goto out;

	ret = __parse_op(p, &op, s, arrow ? arrow + 2 : NULL);
	if (ret == -ENOMEM)
		goto out;
	if (ret) {
		ret = add_error(p, p->line, line);
		goto out;
	}
	if (p->bind.active) {
		ret = commit_binding(p);
		if (ret)
			goto out;
		op.obj = (int)p->t->nr_objs - 1;
	}
	if (p->nr_alt) {
		op.expect_alt = malloc(p->nr_alt * sizeof(*op.expect_alt));
		if (!op.expect_alt) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(op.expect_alt, p->alt,
		       p->nr_alt * sizeof(*op.expect_alt));
		op.nr_expect_alt = p->nr_alt;
	}
	op.text = text;
	ret = add_op(p, &op);
	if (!ret) {
		text = NULL;
		op.expect_alt = NULL;	/* the trace owns it now */
	}
out:
	free(op.expect_alt);
	free(text);
	free(line);
	return ret;
}

static int parse_line(struct parser *p, const char *line, size_t len,
		      bool *seen_first)
{
	char *s, *hash;
	int ret;

	if (len && line[len - 1] == '\r')
		len--;
	if (grow((void **)&p->buf, &p->buf_cap, len + 1, 1))
		return -ENOMEM;
	memcpy(p->buf, line, len);
	p->buf[len] = '\0';
	if (memchr(line, '\0', len)) {
		parse_error(p, "NUL byte in line");
		return add_error(p, p->line, "");
	}
	hash = strchr(p->buf, '#');
	if (hash)
		*hash = '\0';
	s = trim(p->buf);
	if (!*s)
		return 0;

	if (!*seen_first) {
		*seen_first = true;
		if (!strncmp(s, "gmemtrace", 9) &&
		    (s[9] == '\0' || s[9] == ' ' || s[9] == '\t')) {
			ret = tokenize(p, s);
			if (!ret)
				ret = parse_header(p);
			if (ret)
				return add_error(p, p->line, s);
			return 0;
		}
		parse_error(p, "missing header 'gmemtrace 1'");
		ret = add_error(p, 1, "");
		if (ret)
			return ret;
	}
	return parse_op_line(p, s);
}

static void parser_release(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nr_threads; i++)
		free(p->threads[i]);
	free(p->threads);
	free(p->names.slots);
	free(p->slots.slots);
	free(p->next_slot);
	free(p->buf);
}

static void trace_config_default(struct trace_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->profile = GM_PROFILE_MAINLINE;
	cfg->page_size = GM_PAGE_SIZE;
	cfg->vm_types = GM_VM_TYPES_ALL;
	strcpy(cfg->hugetlb_pool, TRACE_DEFAULT_HUGETLB_POOL);
}

struct trace *trace_parse(const char *file, const char *text, size_t len)
{
	struct parser p;
	bool seen_first = false;
	const char *nl, *end = text + len;
	struct trace *t;

	memset(&p, 0, sizeof(p));
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	p.t = t;
	trace_config_default(&t->cfg);
	t->file = strdup(file ? file : "-");
	t->src = malloc(len + 1);
	if (!t->file || !t->src)
		goto err_free;
	if (len)
		memcpy(t->src, text, len);
	t->src[len] = '\0';
	t->src_len = len;

	while (text < end) {
		if (p.line == UINT32_MAX)
			break;
		p.line++;
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		if (parse_line(&p, text, (size_t)(nl - text), &seen_first))
			goto err_free;
		if (p.nomem)
			goto err_free;
		text = nl + 1;
	}
	if (!seen_first) {
		parse_error(&p, "missing header 'gmemtrace 1'");
		if (add_error(&p, 1, ""))
			goto err_free;
	}
	parser_release(&p);
	return t;

err_free:
	parser_release(&p);
	trace_free(t);
	return NULL;
}

struct trace *trace_parse_file(const char *path, int *err)
{
	size_t len = 0, cap = 0, n;
	struct trace *t;
	char *buf = NULL;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		*err = errno;
		return NULL;
	}
	for (;;) {
		if (grow((void **)&buf, &cap, len + 65536, 1)) {
			*err = ENOMEM;
			goto err_close;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		*err = EIO;
		goto err_close;
	}
	if (f != stdin)
		fclose(f);
	t = trace_parse(path, buf ? buf : "", len);
	free(buf);
	if (!t)
		*err = ENOMEM;
	return t;

err_close:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

void trace_free(struct trace *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr_ops; i++) {
		free(t->ops[i].text);
		free(t->ops[i].error);
		free(t->ops[i].expect_alt);
	}
	free(t->ops);
	free(t->objs);
	free(t->file);
	free(t->src);
	free(t);
}
