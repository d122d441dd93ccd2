// SPDX-License-Identifier: GPL-2.0
/*
 * Op results: names, formatting and matching (docs/trace-format.md,
 * "Results and expectations").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct errno_name {
	int err;
	const char *name;
};

/*
 * Linux errno names.  The first entry for a value is its canonical name
 * (what results are printed as); later entries are parse-only aliases.
 */
static const struct errno_name errno_names[] = {
	{ EPERM, "EPERM" },
	{ ENOENT, "ENOENT" },
	{ ESRCH, "ESRCH" },
	{ EINTR, "EINTR" },
	{ EIO, "EIO" },
	{ ENXIO, "ENXIO" },
	{ E2BIG, "E2BIG" },
	{ ENOEXEC, "ENOEXEC" },
	{ EBADF, "EBADF" },
	{ ECHILD, "ECHILD" },
	{ EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },
	{ EFAULT, "EFAULT" },
	{ ENOTBLK, "ENOTBLK" },
	{ EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },
	{ EXDEV, "EXDEV" },
	{ ENODEV, "ENODEV" },
	{ ENOTDIR, "ENOTDIR" },
	{ EISDIR, "EISDIR" },
	{ EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" },
	{ EMFILE, "EMFILE" },
	{ ENOTTY, "ENOTTY" },
	{ ETXTBSY, "ETXTBSY" },
	{ EFBIG, "EFBIG" },
	{ ENOSPC, "ENOSPC" },
	{ ESPIPE, "ESPIPE" },
	{ EROFS, "EROFS" },
	{ EMLINK, "EMLINK" },
	{ EPIPE, "EPIPE" },
	{ EDOM, "EDOM" },
	{ ERANGE, "ERANGE" },
	{ EDEADLK, "EDEADLK" },
	{ ENAMETOOLONG, "ENAMETOOLONG" },
	{ ENOLCK, "ENOLCK" },
	{ ENOSYS, "ENOSYS" },
	{ ENOTEMPTY, "ENOTEMPTY" },
	{ ELOOP, "ELOOP" },
	{ ENOMSG, "ENOMSG" },
	{ EIDRM, "EIDRM" },
	{ ENODATA, "ENODATA" },
	{ ETIME, "ETIME" },
	{ EOVERFLOW, "EOVERFLOW" },
	{ EBADFD, "EBADFD" },
	{ EILSEQ, "EILSEQ" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ ENOBUFS, "ENOBUFS" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ EALREADY, "EALREADY" },
	{ EINPROGRESS, "EINPROGRESS" },
	{ ESTALE, "ESTALE" },
	{ EUCLEAN, "EUCLEAN" },
	{ EDQUOT, "EDQUOT" },
	{ ECANCELED, "ECANCELED" },
	{ EOWNERDEAD, "EOWNERDEAD" },
	{ ENOTRECOVERABLE, "ENOTRECOVERABLE" },
	{ EHWPOISON, "EHWPOISON" },
	/* aliases */
	{ EAGAIN, "EWOULDBLOCK" },
	{ EOPNOTSUPP, "ENOTSUP" },
	{ EDEADLK, "EDEADLOCK" },
};

const char *trace_errno_name(int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return NULL;
}

/*
 * An errno name from the table, or "E" followed by a decimal number
 * (1..4095) for a value without a name.  Returns 0 when unknown.
 */
int trace_errno_parse(const char *name)
{
	const char *s;
	int v = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (!strcmp(errno_names[i].name, name))
			return errno_names[i].err;
	if (name[0] != 'E' || name[1] < '1' || name[1] > '9')
		return 0;
	for (s = name + 1; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
		if (v > 4095)
			return 0;
	}
	return v;
}

static const char *const result_kind_names[RES_KIND_MAX] = {
	[RES_OK] = "ok",	 [RES_ERRNO] = "errno",
	[RES_SIGBUS] = "SIGBUS", [RES_SIGSEGV] = "SIGSEGV",
	[RES_EXIT] = "exit",	 [RES_MMIO] = "mmio",
	[RES_SHARED] = "shared", [RES_PRIVATE] = "private",
	[RES_MIXED] = "mixed",	 [RES_SKIPPED] = "skipped",
};

const char *result_kind_name(enum result_kind kind)
{
	if ((unsigned int)kind >= RES_KIND_MAX)
		return "?";
	return result_kind_names[kind];
}

int result_kind_parse(const char *word, enum result_kind *kind)
{
	unsigned int i;

	for (i = 0; i < RES_KIND_MAX; i++) {
		/* neither a bare "errno" nor "skipped" can be expected */
		if (i == RES_ERRNO || i == RES_SKIPPED)
			continue;
		if (!strcmp(result_kind_names[i], word)) {
			*kind = i;
			return 0;
		}
	}
	return -EINVAL;
}

void op_result_format(const struct op_result *r, char *buf, size_t len)
{
	const char *name;
	size_t n;
	int ret;

	if (!len)
		return;
	if (r->kind == RES_ERRNO) {
		name = trace_errno_name(r->err);
		if (name)
			ret = snprintf(buf, len, "%s", name);
		else
			ret = snprintf(buf, len, "E%d", r->err);
	} else {
		ret = snprintf(buf, len, "%s", result_kind_name(r->kind));
	}
	if (ret < 0)
		ret = 0;
	n = (size_t)ret;
	if (n >= len)
		return;
	if (r->keys & RKEY_BYTE) {
		ret = snprintf(buf + n, len - n, " byte=0x%02x", r->byte);
		n = ret < 0 ? n : n + (size_t)ret;
		if (n >= len)
			return;
	}
	if (r->keys & RKEY_ERROR_OFFSET) {
		ret = snprintf(buf + n, len - n, " error_offset=0x%" PRIx64,
			       r->error_offset);
		n = ret < 0 ? n : n + (size_t)ret;
		if (n >= len)
			return;
	}
	if (r->keys & RKEY_ORDER)
		snprintf(buf + n, len - n, " order=%d", r->order);
}

bool op_result_matches(const struct op_result *expect,
		       const struct op_result *actual)
{
	if (expect->kind != actual->kind)
		return false;
	if (expect->kind == RES_ERRNO && expect->err != actual->err)
		return false;
	if ((expect->keys & actual->keys) != expect->keys)
		return false;
	if ((expect->keys & RKEY_BYTE) && expect->byte != actual->byte)
		return false;
	if ((expect->keys & RKEY_ERROR_OFFSET) &&
	    expect->error_offset != actual->error_offset)
		return false;
	if ((expect->keys & RKEY_ORDER) && expect->order != actual->order)
		return false;
	return true;
}

bool op_expect_matches(const struct trace_op *op,
		       const struct op_result *actual)
{
	unsigned int i;

	if (op_result_matches(&op->expect, actual))
		return true;
	for (i = 0; i < op->nr_expect_alt; i++)
		if (op_result_matches(&op->expect_alt[i], actual))
			return true;
	return false;
}

void op_expect_format(const struct trace_op *op, char *buf, size_t len)
{
	unsigned int i;
	size_t n;

	if (!len)
		return;
	op_result_format(&op->expect, buf, len);
	for (i = 0; i < op->nr_expect_alt; i++) {
		n = strlen(buf);
		/* room for " | " and at least one byte of the result */
		if (n + 4 >= len)
			return;
		memcpy(buf + n, " | ", 4);
		op_result_format(&op->expect_alt[i], buf + n + 3, len - n - 3);
	}
}

/* Column the "->" of an annotated op line is aligned to. */
#define TRACE_EXPECT_COLUMN 45

void trace_op_print(FILE *out, const struct trace_op *op,
		    const struct op_result *res)
{
	char buf[128];
	int n;

	n = fprintf(out, "%s", op->text ? op->text : "");
	if (!res || op->code == TOP_ERROR) {
		if (op->code == TOP_ERROR && op->error)
			fprintf(out, "%s# error: %s", n ? "  " : "", op->error);
		fputc('\n', out);
		return;
	}
	if (res->kind == RES_SKIPPED) {
		fprintf(out, "  # skipped: %s\n",
			res->skip_reason ? res->skip_reason : "unsupported");
		return;
	}
	op_result_format(res, buf, sizeof(buf));
	if (n < 0)
		n = 0;
	fprintf(out, "%*s-> %s\n",
		n < TRACE_EXPECT_COLUMN ? TRACE_EXPECT_COLUMN - n : 1, "", buf);
}
