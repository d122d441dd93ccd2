// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target over the gmemtrace v1 text format (docs/trace-format.md).
 *
 * One LLVMFuzzerTestOneInput built three ways (house style rule 23):
 *
 *   libFuzzer  clang -fsanitize=fuzzer,address,undefined ... fuzz_trace.c
 *   AFL++      afl-clang-fast -fsanitize=fuzzer ... fuzz_trace.c
 *   gcc        gcc ... fuzz_trace.c replay_main.c  (CI corpus replay)
 *
 * Each input is parsed as a trace and run on a fresh model backend, exactly
 * as `gmemsim replay --backend=model` would, except that the harness drives
 * the backend op by op so that it can run the model's consistency checker
 * (gm_host_check(), through a synthetic `check` op) after every op.  A
 * check that answers EUCLEAN is a model bug: the checker has already dumped
 * the offending object to stderr, and the harness names the trace line and
 * calls abort() so the fuzzer records a crash.  Everything else an input
 * can provoke (parse errors, failed expectations, any errno) is a normal
 * outcome; only sanitizer reports, crashes and EUCLEAN are findings.
 *
 * Expectations are judged and formatted (traces/result.c) and the trace is
 * annotated into a discarding stream (traces/replay.c), so the replayer's
 * own text paths are fuzzed along with the parser and the model.
 *
 * The target keeps no state between inputs apart from the discarding
 * stream, opened once at start-up: the trace, the result array and the backend (with its gm_host)
 * are created and freed per input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie() */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "backend.h"
#include "replay.h"
#include "trace.h"

/* Work caps: larger inputs are ignored (return 0), not judged. */
#define FUZZ_MAX_INPUT (64 * 1024)
#define FUZZ_MAX_OPS 4096

#define FUZZ_RESULT_BUF 128
/* every alternative of an expectation (traces/replay.c EXPECT_BUF) */
#define FUZZ_EXPECT_BUF (TRACE_MAX_EXPECT * FUZZ_RESULT_BUF)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a FILE that swallows everything, without a file descriptor ---- */

static ssize_t discard_write(void *cookie, const char *buf, size_t len)
{
	(void)cookie;
	(void)buf;
	return (ssize_t)len;
}

static FILE *fuzz_discard;

/*
 * Opened before the first input (static initialiser, so the gcc replay
 * build gets it too) and kept for the life of the process, so every input
 * takes the same path: AFL++ counts a first-input-only branch as
 * instability.
 */
static void __attribute__((constructor)) fuzz_discard_open(void)
{
	static const cookie_io_functions_t io = { .write = discard_write };

	fuzz_discard = fopencookie(NULL, "w", io);
}

/* ---- the checks ---- */

static void __attribute__((noreturn))
fuzz_bug(const struct trace_op *op, const char *what)
{
	fprintf(stderr, "fuzz_trace: %s after line %u: %s\n", what, op->line,
		op->text ? op->text : "(synthetic check)");
	fflush(stderr);
	abort();
}

/*
 * Run the model's checker through the backend, as a `check` op that the
 * trace did not contain.  @after is the op just run (for the message).
 */
static void fuzz_check(struct backend *be, const struct trace *t,
		       const struct trace_op *after)
{
	static char check_text[] = "check";
	struct trace_op chk;
	struct op_result res;

	memset(&chk, 0, sizeof(chk));
	chk.code = TOP_CHECK;
	chk.line = after->line;
	chk.thread = -1;
	chk.text = check_text;
	chk.obj = TRACE_NO_OBJ;
	chk.obj2 = TRACE_NO_OBJ;

	backend_model_ops.exec(be, t, &chk, &res);
	if (res.kind == RES_ERRNO && res.err == EUCLEAN)
		fuzz_bug(after, "model inconsistent (gm_host_check EUCLEAN)");
}

/*
 * Format and judge what the replayer would, every alternative of the
 * expectation included; nothing is printed.
 */
static void fuzz_judge(const struct trace_op *op, const struct op_result *res)
{
	char got[FUZZ_RESULT_BUF], want[FUZZ_EXPECT_BUF];

	op_result_format(res, got, sizeof(got));
	if (!op->has_expect || res->kind == RES_SKIPPED)
		return;
	op_expect_format(op, want, sizeof(want));
	(void)op_expect_matches(op, res);
}

static void fuzz_run(const struct trace *t, struct op_result *res)
{
	struct backend *be = NULL;
	char why[256];
	size_t i;

	why[0] = '\0';
	if (backend_model_ops.open(t, &t->cfg, NULL, &be, why, sizeof(why))) {
		/*
		 * The model opens for any parsed header; failing to is only
		 * possible when memory runs out, which is not a finding.
		 */
		for (i = 0; i < t->nr_ops; i++) {
			res[i].kind = RES_SKIPPED;
			res[i].skip_reason = "backend unavailable";
		}
		return;
	}

	for (i = 0; i < t->nr_ops; i++) {
		const struct trace_op *op = &t->ops[i];

		if (op->code == TOP_ERROR) {
			res[i].kind = RES_SKIPPED;
			res[i].skip_reason = "parse error";
			continue;
		}
		backend_model_ops.exec(be, t, op, &res[i]);
		fuzz_judge(op, &res[i]);
		if (op->code != TOP_CHECK)
			fuzz_check(be, t, op);
		else if (res[i].kind == RES_ERRNO && res[i].err == EUCLEAN)
			fuzz_bug(op, "model inconsistent (check -> EUCLEAN)");
	}
	backend_model_ops.close(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_result *res;
	struct trace *t;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	t = trace_parse("fuzz-input", (const char *)data, size);
	if (!t)
		return 0; /* out of memory */
	if (!t->header_ok) {
		/* not a trace at all: keep it out of the corpus */
		trace_free(t);
		return -1;
	}
	if (t->nr_ops > FUZZ_MAX_OPS) {
		trace_free(t);
		return 0;
	}

	res = calloc(t->nr_ops ? t->nr_ops : 1, sizeof(*res));
	if (!res) {
		trace_free(t);
		return 0;
	}
	fuzz_run(t, res);

	if (fuzz_discard) {
		replay_annotate(fuzz_discard, t, res);
		fflush(fuzz_discard);
	}

	free(res);
	trace_free(t);
	return 0;
}
