/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replaying parsed traces on a backend, and comparing two backends
 * (docs/trace-format.md, "Replaying").  Used by the gmemsim CLI, the unit
 * tests and the fuzz harness.
 */
#ifndef GMEM_REPLAY_H
#define GMEM_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"
#include "trace.h"

struct replay_opts {
	/* file name in messages; NULL: the trace's own */
	const char *name;
	/* header after command-line overrides; NULL: the trace's header */
	const struct trace_config *cfg;
	/* what KVM must offer (see struct backend_ops.open); may be NULL */
	const struct backend_caps *caps;
	/* failed expectations, parse errors, -v lines; NULL: silent */
	FILE *out;
	/* when non-NULL, the trace is printed back here with results */
	FILE *annotate;
	/* print every op with its result to @out */
	bool verbose;
};

/*
 * Counters, accumulated (+=) over calls so one struct sums a run.
 *
 * replay_trace() counts expectations: passed, failed (a parse error counts
 * as one failure) and skipped (the backend returned RES_SKIPPED, or could
 * not open).  replay_diff() counts traces.
 */
struct replay_stats {
	unsigned long passed;
	unsigned long failed;
	unsigned long skipped;
	/* a backend open failure was reported once already (then quiet) */
	bool open_error_reported;
};

/*
 * Run every op of @t on a fresh @ops backend and store op i's result in
 * @res[i], then close the backend: the results are final only when this
 * returns (a backend may finish an op asynchronously, before close()).
 * TOP_ERROR ops and, when the backend cannot open, every op get
 * RES_SKIPPED.  Returns 0, or the backend's negative errno from open with
 * its reason in @why.
 */
int replay_run(const struct trace *t, const struct backend_ops *ops,
	       const struct trace_config *cfg, const struct backend_caps *caps,
	       struct op_result *res, char *why, size_t why_len);

/*
 * Replay @t on @ops (replay_run()) and then, the backend closed, judge
 * every expectation in trace order (an op passes when its result matches
 * any alternative, op_expect_matches()), printing what struct replay_opts
 * asks for.  Returns 0 when nothing failed, 1 when something did, -ENOMEM
 * when out of memory.
 */
int replay_trace(const struct trace *t, const struct backend_ops *ops,
		 const struct replay_opts *o, struct replay_stats *st);

/*
 * Replay @t on @a and on @b (each fresh, both opened with o->caps) and
 * compare every op's result: kind, errno, and the byte key when both have
 * it; ops either backend skipped are not compared.  Prints the first
 * divergence as "FILE:LINE: OP: A-NAME X, B-NAME Y".  Counts the trace as
 * passed, failed (divergence or parse error) or skipped (@b cannot open).
 * Returns 0, 1 (failed) or -ENOMEM.
 */
int replay_diff(const struct trace *t, const struct backend_ops *a,
		const struct backend_ops *b, const struct replay_opts *o,
		struct replay_stats *st);

/* "replay: N passed, N failed, N skipped" with @what for "replay". */
void replay_stats_print(FILE *out, const char *what,
			const struct replay_stats *st);

/* Print @t back, each op with its result (comments and header kept). */
void replay_annotate(FILE *out, const struct trace *t,
		     const struct op_result *res);

#endif /* GMEM_REPLAY_H */
