// SPDX-License-Identifier: GPL-2.0
/*
 * Replay a parsed trace on a backend and judge its expectations, or run it
 * on two backends and compare them.
 *
 * Every entry point runs in two phases: exec every op of the trace, close
 * the backend, and only then look at the results.  A backend's exec() may
 * therefore return before its op has finished (the sim backend in
 * threads=concurrent mode queues a prefixed op to its thread), provided
 * that the result it was handed is final when close() returns; no result
 * is read, judged or printed before that.  The result array outlives
 * close().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define RESULT_BUF 128
/* every alternative of an expectation, " | " between them */
#define EXPECT_BUF (TRACE_MAX_EXPECT * RESULT_BUF)

static const char *replay_name(const struct trace *t,
			       const struct replay_opts *o)
{
	return o->name ? o->name : t->file;
}

int replay_run(const struct trace *t, const struct backend_ops *ops,
	       const struct trace_config *cfg, const struct backend_caps *caps,
	       struct op_result *res, char *why, size_t why_len)
{
	struct backend *be = NULL;
	size_t i;
	int ret;

	if (why_len)
		why[0] = '\0';
	ret = ops->open(t, cfg ? cfg : &t->cfg, caps, &be, why, why_len);
	for (i = 0; i < t->nr_ops; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (t->ops[i].code == TOP_ERROR) {
			res[i].kind = RES_SKIPPED;
			res[i].skip_reason = "parse error";
		} else if (ret) {
			res[i].kind = RES_SKIPPED;
			res[i].skip_reason = "backend unavailable";
		} else {
			ops->exec(be, t, &t->ops[i], &res[i]);
		}
	}
	if (!ret)
		ops->close(be);
	return ret;
}

static void report_open_error(const struct replay_opts *o,
			      struct replay_stats *st,
			      const struct backend_ops *ops, const char *why,
			      int err)
{
	if (!o->out || st->open_error_reported)
		return;
	st->open_error_reported = true;
	fprintf(o->out, "%s backend unavailable: %s\n", ops->name,
		why[0] ? why : strerror(-err));
}

int replay_trace(const struct trace *t, const struct backend_ops *ops,
		 const struct replay_opts *o, struct replay_stats *st)
{
	char why[256], want[EXPECT_BUF], got[RESULT_BUF];
	const char *file = replay_name(t, o);
	struct op_result *res;
	bool failed = false;
	size_t i;
	int err;

	res = calloc(t->nr_ops ? t->nr_ops : 1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	/* phase 1: exec every op, then close (results final from here) */
	err = replay_run(t, ops, o->cfg, o->caps, res, why, sizeof(why));
	if (err)
		report_open_error(o, st, ops, why, err);

	/* phase 2: judge and print in trace order */
	for (i = 0; i < t->nr_ops; i++) {
		const struct trace_op *op = &t->ops[i];
		const struct op_result *r = &res[i];

		if (op->code == TOP_ERROR) {
			st->failed++;
			failed = true;
			if (o->out)
				fprintf(o->out, "%s:%u: error: %s\n", file,
					op->line, op->error);
			continue;
		}
		op_result_format(r, got, sizeof(got));
		if (o->out && o->verbose)
			fprintf(o->out, "%s:%u: %s -> %s\n", file, op->line,
				op->text, got);
		if (!op->has_expect)
			continue;
		if (r->kind == RES_SKIPPED) {
			st->skipped++;
		} else if (op_expect_matches(op, r)) {
			st->passed++;
		} else {
			st->failed++;
			failed = true;
			op_expect_format(op, want, sizeof(want));
			if (o->out)
				fprintf(o->out,
					"%s:%u: %s: expected %s, got %s\n",
					file, op->line, op->text, want, got);
		}
	}
	if (o->annotate)
		replay_annotate(o->annotate, t, res);
	free(res);
	return failed ? 1 : 0;
}

static bool results_agree(const struct op_result *a, const struct op_result *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == RES_ERRNO && a->err != b->err)
		return false;
	if ((a->keys & b->keys & RKEY_BYTE) && a->byte != b->byte)
		return false;
	return true;
}

int replay_diff(const struct trace *t, const struct backend_ops *a,
		const struct backend_ops *b, const struct replay_opts *o,
		struct replay_stats *st)
{
	char why[256], ra[RESULT_BUF], rb[RESULT_BUF];
	const char *file = replay_name(t, o);
	struct op_result *res_a, *res_b;
	bool failed = false, reported = false;
	size_t i, n = t->nr_ops ? t->nr_ops : 1;
	int err;

	res_a = calloc(n, sizeof(*res_a));
	res_b = calloc(n, sizeof(*res_b));
	if (!res_a || !res_b) {
		free(res_a);
		free(res_b);
		return -ENOMEM;
	}

	for (i = 0; i < t->nr_ops; i++) {
		if (t->ops[i].code != TOP_ERROR)
			continue;
		failed = true;
		if (o->out)
			fprintf(o->out, "%s:%u: error: %s\n", file,
				t->ops[i].line, t->ops[i].error);
	}

	err = replay_run(t, b, o->cfg, o->caps, res_b, why, sizeof(why));
	if (err) {
		report_open_error(o, st, b, why, err);
		goto out;
	}
	err = replay_run(t, a, o->cfg, o->caps, res_a, why, sizeof(why));
	if (err) {
		if (o->out)
			fprintf(o->out, "%s: error: %s backend: %s\n", file,
				a->name, why[0] ? why : strerror(-err));
		failed = true;
		goto out;
	}

	for (i = 0; i < t->nr_ops; i++) {
		const struct trace_op *op = &t->ops[i];
		bool skip, same;

		if (op->code == TOP_ERROR)
			continue;
		skip = res_a[i].kind == RES_SKIPPED ||
		       res_b[i].kind == RES_SKIPPED;
		same = skip || results_agree(&res_a[i], &res_b[i]);
		if (!(o->out && (o->verbose || (!same && !reported))))
			goto next;
		op_result_format(&res_a[i], ra, sizeof(ra));
		op_result_format(&res_b[i], rb, sizeof(rb));
		fprintf(o->out, "%s:%u: %s: %s %s, %s %s%s\n", file, op->line,
			op->text, a->name, ra, b->name, rb,
			o->verbose && !same ? "  <- differs" : "");
next:
		if (!same) {
			failed = true;
			reported = true;
		}
	}
out:
	if (err && !failed)
		st->skipped++;
	else if (failed)
		st->failed++;
	else
		st->passed++;
	if (o->annotate && !err)
		replay_annotate(o->annotate, t, res_a);
	free(res_a);
	free(res_b);
	return failed ? 1 : 0;
}

void replay_stats_print(FILE *out, const char *what,
			const struct replay_stats *st)
{
	fprintf(out, "%s: %lu passed, %lu failed, %lu skipped\n", what,
		st->passed, st->failed, st->skipped);
}

/* The comment of a source line ("# ..."), trimmed, or NULL. */
static const char *line_comment(const char *s, size_t len, size_t *clen)
{
	const char *hash = memchr(s, '#', len);

	if (!hash)
		return NULL;
	*clen = len - (size_t)(hash - s);
	while (*clen && (hash[*clen - 1] == ' ' || hash[*clen - 1] == '\t'))
		(*clen)--;
	return hash;
}

#define ANNOTATE_COLUMN 45

static void annotate_op(FILE *out, const struct trace_op *op,
			const struct op_result *r, const char *comment,
			size_t clen)
{
	char buf[RESULT_BUF];
	int n;

	n = fprintf(out, "%s", op->text);
	if (n < 0)
		n = 0;
	if (r->kind == RES_SKIPPED) {
		fprintf(out, "  # skipped: %s",
			r->skip_reason ? r->skip_reason : "unsupported");
		if (comment) {
			fputs("; ", out);
			fwrite(comment + 1, 1, clen - 1, out);
		}
		fputc('\n', out);
		return;
	}
	op_result_format(r, buf, sizeof(buf));
	fprintf(out, "%*s-> %s", n < ANNOTATE_COLUMN ? ANNOTATE_COLUMN - n : 1,
		"", buf);
	if (comment) {
		fputs("  ", out);
		fwrite(comment, 1, clen, out);
	}
	fputc('\n', out);
}

void replay_annotate(FILE *out, const struct trace *t,
		     const struct op_result *res)
{
	const char *s = t->src, *end = t->src + t->src_len, *nl, *comment;
	unsigned int line = 0;
	size_t i = 0, len, clen = 0;
	bool printed;

	while (s < end) {
		line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		len = (size_t)(nl - s);
		if (len && s[len - 1] == '\r')
			len--;
		while (i < t->nr_ops && t->ops[i].line < line)
			i++;
		printed = false;
		for (; i < t->nr_ops && t->ops[i].line == line; i++) {
			const struct trace_op *op = &t->ops[i];

			/* lines that do not parse are printed as they are */
			if (op->code == TOP_ERROR)
				continue;
			comment = line_comment(s, len, &clen);
			annotate_op(out, op, &res[i], comment, clen);
			printed = true;
		}
		if (!printed) {
			fwrite(s, 1, len, out);
			fputc('\n', out);
		}
		s = nl + 1;
	}
}
