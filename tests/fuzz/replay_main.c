// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-replay: run a fuzz target's LLVMFuzzerTestOneInput over files, without
 * a fuzzing engine, so CI and coverage builds (plain gcc, ASan/UBSan or
 * --coverage) replay the seed corpus and saved crashes.
 *
 *   fuzz-replay [-v] PATH...
 *
 * Each PATH is a file or a directory; directories are walked recursively
 * (up to REPLAY_MAX_DEPTH levels, entries in name order, names starting with
 * '.' skipped), so both traces/corpus/ and an AFL++ output queue work.  Every
 * regular file is read whole and handed to the target once.
 *
 * A file passes when the target returns (0, or -1 for "not a trace"); a
 * crash or abort() ends the process with the sanitizer's report instead.  A
 * file that cannot be read counts as failed.  The last line is always
 *
 *   fuzz-replay: N passed, N failed
 *
 * and the exit status is 0 when nothing failed, 1 otherwise (2 for usage).
 * When the target aborts, faults or trips ASan, "fuzz-replay: crashed on
 * FILE" is written to stderr (from ASan's death callback, or a handler for
 * signals nobody else handles), so a CI log names the input even without
 * -v.  A UBSan halt does not run the callback; its report has the source
 * line, and -v names each file before it runs.
 *
 * Only the gcc build links this file; libFuzzer and AFL++ bring their own
 * main.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf(), scandir() */
#endif
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLAY_MAX_DEPTH 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sanitizer runtime hook, when one is linked in */
extern void __sanitizer_set_death_callback(void (*callback)(void))
	__attribute__((weak));

struct replay_ctx {
	int verbose;
	unsigned long passed;
	unsigned long failed;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fuzz-replay [-v] PATH...\n"
		"  Run the fuzz target once on every file; directories are\n"
		"  walked recursively.  -v prints one line per file.\n");
}

/* ---- naming the input that crashed ---- */

static const char *volatile replay_current;

static void write_all(const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len) {
		n = write(STDERR_FILENO, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Async-signal-safe: only write(2) on strings that already exist. */
static void replay_report_crash(void)
{
	const char *path = replay_current;

	if (!path)
		return;
	replay_current = NULL;
	write_all("fuzz-replay: crashed on ");
	write_all(path);
	write_all("\n");
}

static void replay_crash_signal(int sig)
{
	replay_report_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * abort() (the target's own verdict) and, in a build without sanitizers,
 * the fatal signals; a signal a sanitizer already handles keeps its
 * handler, whose report ends in the death callback instead.
 */
static void replay_catch_crashes(void)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	struct sigaction sa, old;
	size_t i;

	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(replay_report_crash);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = replay_crash_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) || old.sa_handler != SIG_DFL)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* ---- files and directories ---- */

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	size_t cap = 0, n;
	uint8_t *buf = NULL, *nbuf;
	FILE *f;
	int err = 0;

	*out = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f)
		return errno;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				err = ENOMEM;
				break;
			}
			buf = nbuf;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0) {
			if (ferror(f))
				err = EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free(buf);
		*len = 0;
		return err;
	}
	*out = buf;
	return 0;
}

static void replay_file(struct replay_ctx *c, const char *path)
{
	uint8_t *buf;
	size_t len;
	int err, ret;

	err = read_file(path, &buf, &len);
	if (err) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(err));
		c->failed++;
		return;
	}
	if (c->verbose) {
		printf("fuzz-replay: %s (%zu bytes)\n", path, len);
		fflush(stdout);
	}
	/* never hand the target a NULL pointer, even for an empty file */
	replay_current = path;
	ret = LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", len);
	replay_current = NULL;
	free(buf);
	if (c->verbose > 1)
		printf("fuzz-replay: %s: returned %d\n", path, ret);
	c->passed++;
}

static int skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void replay_path(struct replay_ctx *c, const char *path, int depth)
{
	struct dirent **ents;
	struct stat st;
	char *sub;
	int i, n;

	if (stat(path, &st)) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		c->failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode) || depth == 0)
			replay_file(c, path);
		return;
	}
	if (depth >= REPLAY_MAX_DEPTH) {
		fprintf(stderr,
			"fuzz-replay: %s: deeper than %d levels, skipped\n",
			path, REPLAY_MAX_DEPTH);
		return;
	}
	n = scandir(path, &ents, skip_entry, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		c->failed++;
		return;
	}
	for (i = 0; i < n; i++) {
		if (asprintf(&sub, "%s/%s", path, ents[i]->d_name) < 0) {
			fprintf(stderr, "fuzz-replay: %s: out of memory\n",
				path);
			c->failed++;
		} else {
			replay_path(c, sub, depth + 1);
			free(sub);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	struct replay_ctx c = { 0 };
	bool paths_only = false;
	int i, nr_paths = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (paths_only || a[0] != '-' || !a[1]) {
			nr_paths++;
		} else if (!strcmp(a, "--")) {
			paths_only = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[strspn(a + 1, "v") + 1] == '\0') {
			c.verbose += (int)strlen(a + 1);
		} else {
			fprintf(stderr, "fuzz-replay: unknown option '%s'\n",
				a);
			usage(stderr);
			return 2;
		}
	}
	if (!nr_paths) {
		usage(stderr);
		return 2;
	}

	replay_catch_crashes();
	paths_only = false;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!paths_only && !strcmp(a, "--")) {
			paths_only = true;
			continue;
		}
		if (!paths_only && a[0] == '-' && a[1])
			continue;
		replay_path(&c, a, 0);
	}

	printf("fuzz-replay: %lu passed, %lu failed\n", c.passed, c.failed);
	return c.failed ? 1 : 0;
}
