// SPDX-License-Identifier: GPL-2.0
/*
 * gmemsim: replay, diff and generate gmemtrace v1 traces.
 *
 *   gmemsim replay [--backend=model|kernel|sim] [--profile=P]
 *                  [--threads=ordered|concurrent] [-a] [-v] FILE...
 *   gmemsim diff [--backend=kernel|sim] [--profile=P]
 *                [--threads=ordered|concurrent] [-a] [-v] FILE...
 *   gmemsim gen random --seed S --ops N [--profile=P]
 *   gmemsim bench [--ops=N]
 *   gmemsim stress [--seconds=T] [--vcpus=N] [--converters=M] [--seed=S]
 *
 * Exit status: 0 when nothing failed, 1 when something did, 2 on a usage
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench.h"
#include "gen.h"
#include "replay.h"
#include "sim.h"
#include "stats.h"
#include "trace.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage_main[] =
	"usage: gmemsim COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"commands:\n"
	"  replay   run traces on a backend and check their expectations\n"
	"  diff     run traces on the model and the kernel and compare\n"
	"  gen      generate a trace (gen random)\n"
	"  bench    model vs kernel throughput, sparse memory cost\n"
	"  compare  split/merge policies side by side (profile hugetlb)\n"
	"  stress   vCPU and converter threads over real memory (sim)\n"
	"  help     this text, or 'gmemsim help COMMAND'\n"
	"\n"
	"Traces are gmemtrace v1 (docs/trace-format.md); FILE '-' is stdin.\n"
	"Exit status: 0 nothing failed, 1 something failed, 2 usage error.\n";

static const char usage_replay[] =
	"usage: gmemsim replay [--backend=model|kernel|sim] [--profile=P]\n"
	"                      [--threads=MODE] [-a] [-v] FILE...\n"
	"\n"
	"Replay each FILE on a fresh backend and check every expectation.\n"
	"Prints 'FILE:LINE: OP: expected X, got Y' per failed expectation and\n"
	"ends with 'replay: N passed, N failed, N skipped'.\n"
	"\n"
	"  -b, --backend=NAME  model (default), kernel (/dev/kvm) or sim (the\n"
	"                      model over real memory, docs/sim.md)\n"
	"  -p, --profile=P     model profile, overrides the trace header\n"
	"  -a, --annotate      print each trace back with '-> RESULT' on every\n"
	"                      op (stdout; messages and summary go to stderr)\n"
	"  -v, --verbose       print every op with its result\n"
	"      --policy=P      split/merge policy (profile hugetlb): eager,\n"
	"                      hier, lazy, nomerge; overrides the header\n"
	"      --pool=SPEC     hugetlb pool, e.g. 2M:8,1G:1; overrides the\n"
	"                      header\n"
	"      --threads=MODE  ordered (trace order) or concurrent (@THREAD\n"
	"                      ops race between barriers; sim backend only);\n"
	"                      overrides the header\n"
	"      --stats[=json|series]  print the huge page metrics (model);\n"
	"                      series: after every op, 'FILE:LINE mapped 4K 2M\n"
	"                      1G mappable 4K 2M 1G' (guest pages)\n"
	"  -h, --help          this text\n";

static const char usage_diff[] =
	"usage: gmemsim diff [--backend=kernel|sim] [--profile=P]\n"
	"                    [--threads=MODE] [-a] [-v] FILE...\n"
	"\n"
	"Run each FILE on the model (set up with what the running kernel offers)\n"
	"and on the kernel backend, and compare every op's result.  Prints the\n"
	"first divergence per trace, 'FILE:LINE: OP: model X, kernel Y', and\n"
	"ends with 'diff: N passed, N failed, N skipped' (counting traces).\n"
	"\n"
	"  -b, --backend=NAME  kernel (default) or sim: compare the model with\n"
	"                      the model over real memory (no /dev/kvm needed)\n"
	"  -p, --profile=P     model profile, overrides the trace header\n"
	"      --threads=MODE  ordered (trace order) or concurrent (@THREAD\n"
	"                      ops race between barriers; sim backend only);\n"
	"                      overrides the header\n"
	"  -a, --annotate      print each trace back with the model's results\n"
	"  -v, --verbose       print every op with both results\n"
	"  -h, --help          this text\n";

static const char usage_compare_short[] =
	"usage: gmemsim compare [--policies=P,P...] TRACE...\n"
	"\n"
	"Replay each hugetlb TRACE once per split/merge policy (eager, hier,\n"
	"lazy, nomerge) and print their metrics side by side.\n";

static const char usage_bench[] =
	"usage: gmemsim bench [--ops=N]\n"
	"\n"
	"Replay generated traces of N ops (default 1000000) on the model and on\n"
	"the kernel in one run; print ops/s for each and their ratio, and the\n"
	"model's memory for a 1 TiB guest_memfd with 1000 pages written.\n";

static const char usage_gen[] =
	"usage: gmemsim gen random --seed S --ops N [--profile=P]\n"
	"\n"
	"Print a random trace (no expectations) to stdout, the same for the\n"
	"same seed.  It uses the ops the kernel backend runs, with arguments\n"
	"biased to boundaries, for 'gmemsim diff'.\n"
	"\n"
	"  -s, --seed=S        PRNG seed (decimal or 0x hex)\n"
	"  -n, --ops=N         number of ops\n"
	"  -p, --profile=P     header profile (default mainline)\n"
	"  -h, --help          this text\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	if (fmt) {
		fputs("gmemsim: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(usage, stderr);
	return EXIT_USAGE;
}

static bool parse_u64_arg(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* Options shared by replay and diff. */
struct run_args {
	const struct backend_ops *backend;
	bool profile_set;
	enum gm_profile profile;
	bool annotate;
	bool verbose;
	const char *policy;	/* --policy: overrides the header */
	const char *pool;	/* --pool=2M:N,1G:M: overrides the header */
	int stats;		/* --stats: 1 text, 2 json, 3 series */
	bool threads_set;	/* --threads: overrides the header */
	bool concurrent;
};

static int parse_run_args(int argc, char **argv, bool diff, struct run_args *ra,
			  int *first_file)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "profile", required_argument, NULL, 'p' },
		{ "annotate", no_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "policy", required_argument, NULL, 'P' },
		{ "pool", required_argument, NULL, 'O' },
		{ "stats", optional_argument, NULL, 'S' },
		{ "threads", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char *usage = diff ? usage_diff : usage_replay;
	enum gm_huge_policy pol;
	int c;

	memset(ra, 0, sizeof(*ra));
	ra->backend = &backend_model_ops;
	optind = 1;
	opterr = 0;
	if (diff)
		ra->backend = &backend_kernel_ops;
	while ((c = getopt_long(argc, argv, "b:p:avh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			ra->backend = backend_find(optarg);
			if (diff && ra->backend == &backend_model_ops)
				return usage_error(usage, "diff: --backend=%s",
						   optarg);
			if (!ra->backend)
				return usage_error(
					usage, "unknown backend '%s'", optarg);
			break;
		case 'p':
			if (gm_profile_parse(optarg, &ra->profile))
				return usage_error(
					usage, "unknown profile '%s'", optarg);
			ra->profile_set = true;
			break;
		case 'a':
			ra->annotate = true;
			break;
		case 'v':
			ra->verbose = true;
			break;
		case 'P':
			if (gm_huge_policy_parse(optarg, &pol))
				return usage_error(usage,
						   "unknown policy '%s'",
						   optarg);
			ra->policy = optarg;
			break;
		case 'O':
			if (strlen(optarg) >= sizeof(((struct trace_config *)0)
							     ->hugetlb_pool))
				return usage_error(usage, "%s",
						   "--pool: too long");
			ra->pool = optarg;
			break;
		case 'S':
			if (diff || (optarg && strcmp(optarg, "json") &&
				     strcmp(optarg, "series")))
				return usage_error(
					usage, "%s",
					"--stats, --stats=json or --stats=series");
			ra->stats = !optarg ? 1 : !strcmp(optarg, "json") ? 2 : 3;
			break;
		case 'T':
			if (trace_threads_parse(optarg, &ra->concurrent))
				return usage_error(usage,
						   "--threads: '%s' is not "
						   "ordered or concurrent",
						   optarg);
			ra->threads_set = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return usage_error(usage, "bad option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(usage, "%s", "no trace file given");
	*first_file = optind;
	return 0;
}

/* The header of @t after the overrides both replay and diff take. */
static void run_config(const struct trace *t, const struct run_args *ra,
		       struct trace_config *cfg)
{
	*cfg = t->cfg;
	if (ra->profile_set) {
		cfg->profile = ra->profile;
		cfg->profile_set = true;
	}
	if (ra->threads_set) {
		cfg->concurrent = ra->concurrent;
		cfg->threads_set = true;
	}
}

static struct trace *load_trace(const char *path, FILE *msg,
				struct replay_stats *st)
{
	struct trace *t;
	int err = 0;

	t = trace_parse_file(path, &err);
	if (!t) {
		fprintf(msg, "%s: error: cannot read trace: %s\n", path,
			strerror(err));
		st->failed++;
	}
	return t;
}

static int cmd_replay(int argc, char **argv)
{
	struct trace_stats ts;
	struct replay_stats st;
	struct replay_opts o;
	struct run_args ra;
	struct trace_config cfg;
	FILE *msg;
	int i, first, ret;

	ret = parse_run_args(argc, argv, false, &ra, &first);
	if (ret)
		return ret < 0 ? 0 : ret;
	msg = ra.annotate ? stderr : stdout;
	memset(&st, 0, sizeof(st));
	stats_init(&ts);
	for (i = first; i < argc; i++) {
		struct trace *t = load_trace(argv[i], msg, &st);

		if (!t)
			continue;
		run_config(t, &ra, &cfg);
		if (ra.policy)
			snprintf(cfg.policy, sizeof(cfg.policy), "%s",
				 ra.policy);
		if (ra.pool)
			snprintf(cfg.hugetlb_pool, sizeof(cfg.hugetlb_pool),
				 "%s", ra.pool);
		if (ra.stats && stats_run_trace(t, &cfg, &ts,
						ra.stats == 3 ? msg : NULL))
			st.failed++;
		memset(&o, 0, sizeof(o));
		o.cfg = &cfg;
		o.out = msg;
		o.annotate = ra.annotate ? stdout : NULL;
		o.verbose = ra.verbose;
		ret = replay_trace(t, ra.backend, &o, &st);
		trace_free(t);
		if (ret < 0) {
			fprintf(msg, "%s: error: out of memory\n", argv[i]);
			st.failed++;
		}
	}
	if (ra.stats)
		stats_print(msg, &ts, ra.stats == 2);
	replay_stats_print(msg, "replay", &st);
	return st.failed ? EXIT_FAILED : 0;
}

static int cmd_diff(int argc, char **argv)
{
	struct backend_caps caps;
	struct replay_stats st;
	struct replay_opts o;
	struct run_args ra;
	struct trace_config cfg;
	bool have_kernel;
	char why[256];
	FILE *msg;
	int i, first, ret;

	ret = parse_run_args(argc, argv, true, &ra, &first);
	if (ret)
		return ret < 0 ? 0 : ret;
	msg = ra.annotate ? stderr : stdout;
	memset(&st, 0, sizeof(st));
	memset(&caps, 0, sizeof(caps));
	why[0] = '\0';
	if (ra.backend == &backend_sim_ops) {
		/* model vs sim: both set up from each trace's header */
		have_kernel = true;
	} else {
		ret = backend_kernel_probe(&caps, why, sizeof(why));
		have_kernel = !ret;
	}
	if (!have_kernel)
		fprintf(msg, "kernel backend unavailable: %s\n",
			why[0] ? why : strerror(-ret));

	for (i = first; i < argc; i++) {
		struct trace *t = load_trace(argv[i], msg, &st);

		if (!t)
			continue;
		if (!have_kernel) {
			/* still report what does not parse */
			size_t j;

			for (j = 0; j < t->nr_ops; j++)
				if (t->ops[j].code == TOP_ERROR)
					fprintf(msg, "%s:%u: error: %s\n",
						t->file, t->ops[j].line,
						t->ops[j].error);
			if (t->nr_errors)
				st.failed++;
			else
				st.skipped++;
			trace_free(t);
			continue;
		}
		run_config(t, &ra, &cfg);
		memset(&o, 0, sizeof(o));
		o.cfg = &cfg;
		o.caps = ra.backend == &backend_sim_ops ? NULL : &caps;
		o.out = msg;
		o.annotate = ra.annotate ? stdout : NULL;
		o.verbose = ra.verbose;
		ret = replay_diff(t, &backend_model_ops, ra.backend, &o, &st);
		trace_free(t);
		if (ret < 0) {
			fprintf(msg, "%s: error: out of memory\n", argv[i]);
			st.failed++;
		}
	}
	replay_stats_print(msg, "diff", &st);
	return st.failed ? EXIT_FAILED : 0;
}

static int cmd_gen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool have_seed = false, have_ops = false;
	const char *profile = NULL;
	enum gm_profile prof;
	uint64_t seed = 0, ops = 0;
	int c;

	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_gen, stdout);
		return 0;
	}
	if (argc < 2)
		return usage_error(usage_gen, "%s", "gen: what to generate?");
	if (strcmp(argv[1], "random"))
		return usage_error(usage_gen, "gen: unknown generator '%s'",
				   argv[1]);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:n:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_u64_arg(optarg, &seed))
				return usage_error(usage_gen, "bad seed '%s'",
						   optarg);
			have_seed = true;
			break;
		case 'n':
			if (!parse_u64_arg(optarg, &ops) || ops > 100000000)
				return usage_error(usage_gen,
						   "bad op count '%s'", optarg);
			have_ops = true;
			break;
		case 'p':
			if (gm_profile_parse(optarg, &prof))
				return usage_error(usage_gen,
						   "unknown profile '%s'",
						   optarg);
			profile = optarg;
			break;
		case 'h':
			fputs(usage_gen, stdout);
			return 0;
		default:
			return usage_error(usage_gen, "bad option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(usage_gen, "unexpected argument '%s'",
				   argv[optind]);
	if (!have_seed || !have_ops)
		return usage_error(usage_gen, "%s",
				   "gen random needs --seed and --ops");
	if (trace_gen_random(stdout, seed, (unsigned long)ops, profile)) {
		fprintf(stderr, "gmemsim: gen: write error\n");
		return EXIT_FAILED;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "replay", cmd_replay, usage_replay },
	{ "diff", cmd_diff, usage_diff },
	{ "gen", cmd_gen, usage_gen },
	{ "bench", bench_main, usage_bench },
	{ "compare", compare_main, usage_compare_short },
	{ "stress", stress_main, stress_usage },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage_error(usage_main, NULL, NULL);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (i = 0; i < sizeof(commands) / sizeof(commands[0]);
			     i++) {
				if (!strcmp(commands[i].name, argv[2])) {
					fputs(commands[i].usage, stdout);
					return 0;
				}
			}
			return usage_error(usage_main, "unknown command '%s'",
					   argv[2]);
		}
		fputs(usage_main, stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].fn(argc - 1, argv + 1);
	return usage_error(usage_main, "unknown command '%s'", argv[1]);
}
