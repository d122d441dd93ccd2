/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmemtrace v1: parsed form of a trace (see docs/trace-format.md).
 *
 * The parser resolves every name to an object index: each creating op
 * (vm, gmem, mmap, memslot) makes a new struct trace_obj, and later ops refer
 * to the newest binding of the name.  Backends keep one handle per object
 * (an fd, an address, a slot id) and set it to "invalid" when the creating
 * op failed or the object was closed, so the fd -1 rules of the contract
 * live in one place per backend.
 */
#ifndef GMEM_TRACE_H
#define GMEM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gmem/model.h"

enum trace_opcode {
	TOP_ERROR = 0,		/* a line that did not parse */
	TOP_VM,
	TOP_GMEM,
	TOP_CLOSE,
	TOP_FALLOCATE,
	TOP_MMAP,
	TOP_MUNMAP,
	TOP_READ,
	TOP_WRITE,
	TOP_MEMSLOT,
	TOP_MEMSLOT_DELETE,
	TOP_ATTRIBUTES,
	TOP_CONVERT,
	TOP_GUEST,
	TOP_PIN,
	TOP_UNPIN,
	TOP_POISON,
	TOP_STATE,
	TOP_CHECK,
	TOP_FORK,		/* extension: a process forked from another */
	TOP_EXIT,		/* extension: the process exits */
	TOP_BARRIER,		/* extension: every thread catches up */
	TOP_MAX
};

const char *trace_opcode_name(enum trace_opcode code);

enum trace_obj_kind {
	TOBJ_VM = 0,
	TOBJ_GMEM,
	TOBJ_MAP,
	TOBJ_SLOT,
	TOBJ_PROC,		/* a process made by fork */
};

struct trace_obj {
	enum trace_obj_kind kind;
	char name[64];
	unsigned int line;	/* line of the creating op */
	/* TOBJ_SLOT: the VM object and the slot id on that VM */
	int vm;
	uint32_t slot_id;
	/* TOBJ_MAP: length in bytes, for offset checks */
	uint64_t map_len;
};

/* What an op produced, or what an expectation says it must produce. */
enum result_kind {
	RES_OK = 0,
	RES_ERRNO,		/* err holds the positive errno */
	RES_SIGBUS,
	RES_SIGSEGV,
	RES_EXIT,		/* KVM memory-fault exit */
	RES_MMIO,		/* emulated MMIO exit */
	RES_SHARED,		/* query answers */
	RES_PRIVATE,
	RES_MIXED,
	RES_SKIPPED,		/* the backend cannot run this op */
	RES_KIND_MAX
};

const char *result_kind_name(enum result_kind kind);
/* Expectation words ("ok", "SIGBUS", "exit", ...; not errnos): 0 or -EINVAL */
int result_kind_parse(const char *word, enum result_kind *kind);

/* Keys after the result token. */
#define RKEY_BYTE (1U << 0)
#define RKEY_ERROR_OFFSET (1U << 1)
#define RKEY_ORDER (1U << 2)

struct op_result {
	enum result_kind kind;
	int err;
	unsigned int keys;	/* RKEY_* present */
	uint8_t byte;
	uint64_t error_offset;
	int order;
	const char *skip_reason;	/* static string, for RES_SKIPPED */
};

/* "ok", "EINVAL", "SIGBUS", ... plus " key=value" for each key. */
void op_result_format(const struct op_result *r, char *buf, size_t len);
/* Does @actual satisfy @expect (kind, errno and every expected key)? */
bool op_result_matches(const struct op_result *expect,
		       const struct op_result *actual);

/* Alternatives of one expectation ("-> R1 | R2"), the first included. */
#define TRACE_MAX_EXPECT 4

const char *trace_errno_name(int err);
int trace_errno_parse(const char *name);	/* 0 when unknown */

#define TRACE_NO_OBJ (-1)

/*
 * gmem flags= words.  MMAP and INIT_SHARED are mainline's; the other two are
 * the proposed series' flags, which mainline does not define (the model
 * rejects them with EINVAL, like any unknown bit).  huge= is not encoded in
 * the flags: mainline backends ignore it.
 */
#define TRACE_GMEM_FLAG_MMAP GUEST_MEMFD_FLAG_MMAP
#define TRACE_GMEM_FLAG_INIT_SHARED GUEST_MEMFD_FLAG_INIT_SHARED
#define TRACE_GMEM_FLAG_NO_DIRECT_MAP (1ULL << 2)	/* proposed bit */
#define TRACE_GMEM_FLAG_HUGETLB (1ULL << 3)		/* our choice */

/*
 * memslot without gmem=: the guest_memfd field of the ioctl is -1
 * (0xffffffff), so flags=guest_memfd without gmem= fails with EBADF.
 */
#define TRACE_MEMSLOT_NO_GMEM_FD (-1)

struct trace_op {
	enum trace_opcode code;
	unsigned int line;
	int thread;		/* @tN, or -1 */
	char *text;		/* the source line, without expectation */
	char *error;		/* TOP_ERROR: what and why */

	int obj;		/* object created or acted on */
	/*
	 * VM of gmem, gmem of mmap, gmem= of memslot (TRACE_NO_OBJ without
	 * gmem=; the memslot's VM is objs[obj].vm).
	 */
	int obj2;
	/* proc=P: a TOBJ_PROC, or TRACE_NO_OBJ for the first process */
	int proc;

	union {
		struct {
			uint64_t type;	/* KVM_CREATE_VM argument */
			bool type_named;
			enum gm_vm_type vm_type;
		} vm;
		struct {
			uint64_t size;
			uint64_t flags;
			uint64_t huge;	/* 0, 2M or 1G */
		} gmem;
		struct {
			uint64_t offset, len;
			uint64_t mode;
		} fallocate;
		struct {
			uint64_t offset, len;
			int prot;
			int flags;	/* GMEM_MAP_* */
		} mmap;
		struct {
			uint64_t offset;
			uint8_t byte;	/* write */
		} access;
		struct {
			uint64_t gpa, size;
			uint64_t offset;
			uint32_t flags;
			bool has_gmem;
		} memslot;
		struct {
			uint64_t offset, len;	/* gpa range for attributes */
			bool private;
		} range;
		struct {
			uint64_t gpa;
			enum gm_access access;
			enum gm_intent intent;
			uint8_t byte;
			bool has_byte;
			unsigned int accept;	/* accept=4K|2M: GM_ACCEPT_* */
		} guest;
		struct {
			uint64_t offset;
		} page;		/* pin, unpin, poison */
	} u;

	/*
	 * "-> R1 | R2 ...": op->expect is the first alternative (R1), the
	 * others are expect_alt[0..nr_expect_alt-1] (NULL when there are
	 * none).  The op passes when its result matches any of them:
	 * op_expect_matches().
	 */
	bool has_expect;
	struct op_result expect;
	unsigned int nr_expect_alt;	/* 0..TRACE_MAX_EXPECT-1 */
	struct op_result *expect_alt;
};

/* Does @actual match op->expect or any of op->expect_alt[]? */
bool op_expect_matches(const struct trace_op *op,
		       const struct op_result *actual);
/* Every alternative of @op's expectation: "ok byte=0x31 | exit". */
void op_expect_format(const struct trace_op *op, char *buf, size_t len);

struct trace_config {
	enum gm_profile profile;
	bool profile_set;
	uint64_t page_size;
	unsigned int vm_types;	/* mask of 1U << enum gm_vm_type */
	bool vm_types_set;
	char policy[32];
	unsigned int lazy_ops;	/* lazy_ops=N (policy lazy); 0: default */
	char hugetlb_pool[128];
	/*
	 * threads=ordered|concurrent: whether ops with an @THREAD prefix run
	 * in trace order (false, the default) or concurrently between
	 * barriers (true; only the sim backend honours it).
	 */
	bool concurrent;
	bool threads_set;
};

/* "ordered" -> false, "concurrent" -> true; 0, or -EINVAL when neither. */
int trace_threads_parse(const char *word, bool *concurrent);
const char *trace_threads_name(bool concurrent);

struct trace {
	char *file;
	char *src;		/* the trace text, NUL-terminated copy */
	size_t src_len;
	struct trace_config cfg;
	struct trace_op *ops;
	size_t nr_ops;
	struct trace_obj *objs;
	size_t nr_objs;
	unsigned int nr_errors;	/* TOP_ERROR lines */
	bool header_ok;
};

/*
 * Parse @len bytes of trace text.  Never fails on bad input: each bad line
 * becomes a TOP_ERROR op.  Returns NULL only when memory runs out.
 */
struct trace *trace_parse(const char *file, const char *text, size_t len);
struct trace *trace_parse_file(const char *path, int *err);
void trace_free(struct trace *t);

/* Print @op back as a trace line with "-> RESULT". */
void trace_op_print(FILE *out, const struct trace_op *op,
		    const struct op_result *res);

#endif /* GMEM_TRACE_H */
