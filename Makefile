# SPDX-License-Identifier: GPL-2.0
#
# gmemsim: one non-recursive Makefile.
#
# One source list per component is compiled into a separate object directory
# per build flavour, so flavours never share objects:
#
#   release  build/obj/    -O2                      -> build/gmemsim
#   asan     build/asan/   ASan + UBSan              -> build/asan/gmemtest,
#                                                       build/asan/fuzz-replay
#   cov      build/cov/    --coverage -O0            -> build/cov/gmemtest,
#                                                       build/cov/gmemsim
#   fuzz     build/fuzz/   afl-clang-fast            -> build/fuzz/fuzz_trace
#   tsan     build/tsan/   ThreadSanitizer           -> build/tsan/gmemtest,
#                                                       build/tsan/gmemsim
#
# Every flavour builds libgmem.a (model/) and libgmemtrace.a (traces/ without
# main.c).  Everything the build writes is under build/.  `make help` lists
# the targets; docs/testing.md explains the test layers.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

# ---------------------------------------------------------------- settings

# CC and AR keep make's defaults (cc, ar) unless set on the command line.
AFL_CC		?= afl-clang-fast
CLANG_FORMAT	?= clang-format
GCOVR		?= gcovr

BUILD		:= build

BASE_CPPFLAGS	:= -D_GNU_SOURCE -Imodel/include -Imodel -Itraces -Isim
BASE_CFLAGS	:= -std=gnu11 -g -O2 -Wall -Wextra -Werror
SAN_FLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all
COV_FLAGS	:= --coverage -O0
TSAN_FLAGS	:= -fsanitize=thread -fno-omit-frame-pointer
# sim/ runs vCPU threads; every link gets pthreads.
SYS_LIBS	:= -lpthread

# User additions (make CFLAGS=... LDFLAGS=... LDLIBS=...) go after ours.
CFLAGS		?=
CPPFLAGS	?=
LDFLAGS		?=
LDLIBS		?=

# Run-time knobs.
FUZZ_SECONDS	?= 60
SEEDS		?= 10000
DIFF_OPS	?= 200
DIFF_BATCH	?= 500
TEST_DIFF_SEEDS	:= 300
TEST_INV_SEEDS	:= 300
PROFILE		?= inplace
TEST_SIM_SEEDS	:= 300
TEST_STRESS_SECONDS := 10
TSAN_STRESS_SECONDS := 5
COVERAGE_MIN	?= 90

# The kernel steps run when this device is a character device we can read
# and write.
KVM_DEV		?= /dev/kvm
KVM_USABLE	= { [ -c $(KVM_DEV) ] && [ -r $(KVM_DEV) ] && [ -w $(KVM_DEV) ]; }

# Sanitizer run-time options for every binary of the asan flavour.
SAN_ENV		:= ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Debian packages each target needs (installed by scripts/deps.sh).
DEPS_BUILD	:= gcc libc6-dev
DEPS_TEST	:= $(DEPS_BUILD) libcunit1-dev
DEPS_COVERAGE	:= $(DEPS_TEST) gcovr
DEPS_FUZZ	:= $(DEPS_BUILD) clang afl++
DEPS_FORMAT	:= clang-format

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ----------------------------------------------------------------- sources

MODEL_SRCS	:= $(sort $(wildcard model/*.c model/policy/*.c))
# sim/ (the model over real memory, docs/sim.md) is archived with traces/.
SIM_SRCS	:= $(sort $(wildcard sim/*.c))
TRACE_SRCS	:= $(sort $(filter-out traces/main.c,$(wildcard traces/*.c))) \
		   $(SIM_SRCS)
CLI_SRC		:= traces/main.c
TEST_SRCS	:= $(sort $(wildcard tests/*.c))
FUZZ_TARGET_SRC	:= tests/fuzz/fuzz_trace.c
FUZZ_MAIN_SRC	:= tests/fuzz/replay_main.c
FUZZ_DICT	:= tests/fuzz/trace.dict

CORPUS		:= $(sort $(wildcard traces/corpus/*.trace))
# Traces of model-only semantics start with model_ (other VM types, guest
# faults, poison) or inplace_ (profile inplace); the kernel runs the rest.
# Minimized fuzz findings and other regressions, each with a header.
REGRESS		:= $(sort $(wildcard traces/regress/*.trace))
KERNEL_CORPUS	:= $(filter-out traces/corpus/model_% traces/corpus/inplace_% \
				traces/corpus/hugetlb_%,$(CORPUS))
DEMO_TRACE	:= traces/demo.trace
# Every trace anywhere under traces/ seeds the fuzzers.
SEED_TRACES	:= $(sort $(shell find traces -name '*.trace' -type f 2>/dev/null))

FORMAT_SRCS	:= $(sort $(wildcard model/*.[ch] model/include/gmem/*.h \
			traces/*.[ch] sim/*.[ch] tests/*.[ch] tests/fuzz/*.[ch]))

# What `make test` cannot do without, checked up front so that a missing
# file fails the run loudly instead of skipping a step.
TEST_INPUTS	:= $(MODEL_SRCS) $(TRACE_SRCS) $(CLI_SRC) tests/test_main.c \
		   $(DEMO_TRACE) $(FUZZ_TARGET_SRC) $(FUZZ_MAIN_SRC)

# ---------------------------------------------------------------- flavours

CLI		:= $(BUILD)/gmemsim

# $(call flavour,NAME,DIR,CC,FLAGS,CLI-PATH)
#   FLAGS go to both compile and link; CLI-PATH is where gmemsim is linked.
define flavour
$(1)_CC		:= $(3)
$(1)_CFLAGS	:= $$(BASE_CPPFLAGS) $$(CPPFLAGS) $$(BASE_CFLAGS) $(4) $$(CFLAGS)
$(1)_LDFLAGS	:= $(4) $$(LDFLAGS)
$(1)_MODEL_OBJS	:= $$(MODEL_SRCS:%.c=$(2)/%.o)
$(1)_TRACE_OBJS	:= $$(TRACE_SRCS:%.c=$(2)/%.o)
$(1)_TEST_OBJS	:= $$(TEST_SRCS:%.c=$(2)/%.o)
$(1)_LIBS	:= $(2)/libgmemtrace.a $(2)/libgmem.a

# Rebuild everything of this flavour when its compiler or flags change.
$(2)/.flags: FORCE
	@mkdir -p $$(@D)
	@echo '$$($(1)_CC) $$($(1)_CFLAGS) $$($(1)_LDFLAGS) $$(LDLIBS)' | \
		cmp -s - $$@ || \
		echo '$$($(1)_CC) $$($(1)_CFLAGS) $$($(1)_LDFLAGS) $$(LDLIBS)' > $$@

# Re-archive when a source file is added or removed.
$(2)/.srcs: FORCE
	@mkdir -p $$(@D)
	@echo '$$(MODEL_SRCS) $$(TRACE_SRCS)' | cmp -s - $$@ || \
		echo '$$(MODEL_SRCS) $$(TRACE_SRCS)' > $$@

$(2)/%.o: %.c $(2)/.flags
	@mkdir -p $$(@D)
	$$(if $$(Q),@printf '  CC %-6s %s\n' $(1) $$<)
	$$(Q)$$($(1)_CC) $$($(1)_CFLAGS) -MMD -MP -c -o $$@ $$<

$(2)/libgmem.a: $$($(1)_MODEL_OBJS) $(2)/.srcs
	$$(if $$(Q),@printf '  AR %-6s %s\n' $(1) $$@)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$(filter %.o,$$^)

$(2)/libgmemtrace.a: $$($(1)_TRACE_OBJS) $(2)/.srcs
	$$(if $$(Q),@printf '  AR %-6s %s\n' $(1) $$@)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$(filter %.o,$$^)

$(5): $(2)/traces/main.o $$($(1)_LIBS) $(2)/.flags
	$$(if $$(Q),@printf '  LD %-6s %s\n' $(1) $$@)
	$$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) -o $$@ $$< $$($(1)_LIBS) $$(LDLIBS) \
		$$(SYS_LIBS)

$(2)/gmemtest: $$($(1)_TEST_OBJS) $$($(1)_LIBS) $(2)/.flags
	$$(if $$(Q),@printf '  LD %-6s %s\n' $(1) $$@)
	$$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) -o $$@ $$($(1)_TEST_OBJS) \
		$$($(1)_LIBS) -lcunit $$(LDLIBS) $$(SYS_LIBS)

$(2)/fuzz-replay: $(2)/tests/fuzz/replay_main.o $(2)/tests/fuzz/fuzz_trace.o \
		  $$($(1)_LIBS) $(2)/.flags
	$$(if $$(Q),@printf '  LD %-6s %s\n' $(1) $$@)
	$$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) -o $$@ $$(filter %.o,$$^) \
		$$($(1)_LIBS) $$(LDLIBS) $$(SYS_LIBS)
endef

$(eval $(call flavour,obj,$(BUILD)/obj,$(CC),,$(CLI)))
$(eval $(call flavour,asan,$(BUILD)/asan,$(CC),$(SAN_FLAGS),$(BUILD)/asan/gmemsim))
$(eval $(call flavour,cov,$(BUILD)/cov,$(CC),$(COV_FLAGS),$(BUILD)/cov/gmemsim))
$(eval $(call flavour,fuzz,$(BUILD)/fuzz,$(AFL_CC),,$(BUILD)/fuzz/gmemsim))
$(eval $(call flavour,tsan,$(BUILD)/tsan,$(CC),$(TSAN_FLAGS),$(BUILD)/tsan/gmemsim))

# The AFL++ target: afl-clang-fast links its libFuzzer-compatible driver.
FUZZ_BIN := $(BUILD)/fuzz/fuzz_trace
$(FUZZ_BIN): $(BUILD)/fuzz/tests/fuzz/fuzz_trace.o $(fuzz_LIBS) $(BUILD)/fuzz/.flags
	$(if $(Q),@printf '  LD %-6s %s\n' fuzz $@)
	$(Q)$(AFL_CC) $(fuzz_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(fuzz_LIBS) $(LDLIBS) \
		$(SYS_LIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Files other binaries are built from: say so plainly when one is missing.
$(CLI_SRC) tests/test_main.c $(FUZZ_TARGET_SRC) $(FUZZ_MAIN_SRC):
	@echo "gmemsim: missing source file $@" >&2; exit 1

# ----------------------------------------------------------------- targets

.PHONY: all test check test-inputs test-unit test-replay test-sim test-kernel \
	check-tsan check-hugetlb \
	test-fuzz-replay replay demo coverage coverage-run fuzz fuzz-run \
	bench difftest invariants format format-check clean help FORCE

all: $(CLI)

# `make test`: each step is its own make run so steps stay in order under -j
# while each one builds in parallel.
test:
	@echo "==> test [1/7] dependencies: $(DEPS_TEST)"
	@bash scripts/deps.sh $(DEPS_TEST)
	@$(MAKE) --no-print-directory test-inputs
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-replay
	@$(MAKE) --no-print-directory test-sim
	@$(MAKE) --no-print-directory test-kernel
	@$(MAKE) --no-print-directory test-fuzz-replay
	@echo "==> test: all steps passed"

check: test

test-inputs:
	@echo "==> test [2/7] inputs"
	@missing=""; \
	for f in $(TEST_INPUTS); do [ -f "$$f" ] || missing="$$missing $$f"; done; \
	[ -n "$(MODEL_SRCS)" ] || missing="$$missing model/*.c"; \
	[ -n "$(TRACE_SRCS)" ] || missing="$$missing traces/*.c"; \
	[ -n "$(CORPUS)" ] || missing="$$missing traces/corpus/*.trace"; \
	if [ -n "$$missing" ]; then \
		echo "gmemsim: make test: missing required files:$$missing" >&2; \
		exit 1; \
	fi; \
	echo "model: $(words $(MODEL_SRCS)) sources, traces: $(words $(TRACE_SRCS)), tests: $(words $(TEST_SRCS)), corpus: $(words $(CORPUS)) traces"

# Each step prints its header, builds what it runs, then runs it.
test-unit:
	@echo "==> test [3/7] CUnit suites, ASan+UBSan flavour ($(BUILD)/asan/gmemtest)"
	@$(MAKE) --no-print-directory $(BUILD)/asan/gmemtest
	@$(SAN_ENV) $(BUILD)/asan/gmemtest

test-replay:
	@echo "==> test [4/7] replay on the model: $(words $(CORPUS)) corpus traces + $(DEMO_TRACE), then $(TEST_INV_SEEDS) random inplace and $(TEST_INV_SEEDS) hugetlb traces with check after every op"
	@$(MAKE) --no-print-directory $(CLI)
	@$(CLI) replay --backend=model $(CORPUS) $(REGRESS) $(DEMO_TRACE)
	@bash scripts/difftest.sh -p inplace $(CLI) $(TEST_INV_SEEDS) $(DIFF_OPS) $(BUILD)/invariants $(DIFF_BATCH)
	@bash scripts/difftest.sh -p hugetlb $(CLI) $(TEST_INV_SEEDS) $(DIFF_OPS) $(BUILD)/invariants-hugetlb $(DIFF_BATCH)

# The model over real memory (docs/sim.md): the same traces, the same
# expectations, every host access really made and checked against the model.
test-sim:
	@echo "==> test [5/7] replay on the sim (model over memfd + userfaultfd): $(words $(CORPUS)) corpus + $(words $(REGRESS)) regress traces + $(DEMO_TRACE), then model vs sim diff over $(TEST_SIM_SEEDS) random traces per profile (mainline, inplace, hugetlb) and the inplace ones with @tN thread prefixes"
	@$(MAKE) --no-print-directory $(CLI)
	@GMEMSIM_SIM_STATS=1 $(CLI) replay --backend=sim $(CORPUS) $(REGRESS) $(DEMO_TRACE)
	@rm -rf $(BUILD)/simdiff && mkdir -p $(BUILD)/simdiff
	@for p in mainline inplace hugetlb; do \
		for s in $$(seq 1 $(TEST_SIM_SEEDS)); do \
			$(CLI) gen random --seed $$s --ops $(DIFF_OPS) \
				--profile=$$p > $(BUILD)/simdiff/$$p-$$s.trace; \
		done; \
	done
	@# the inplace traces again with every op on one of 4 trace threads:
	@# ordered mode must still give the model's results
	@for f in $(BUILD)/simdiff/inplace-*.trace; do \
		awk '/^[[:space:]]*(#|$$)/ || /^[[:space:]]*gmemtrace/ { print; next } \
		     { printf "@t%d %s\n", NR % 4, $$0 }' $$f \
			> $${f%.trace}-threads.trace; \
	done
	@GMEMSIM_SIM_STATS=1 $(CLI) diff --backend=sim $(BUILD)/simdiff/*.trace
	@echo "==> test [5/7] stress: $(TEST_STRESS_SECONDS) s, 2 vCPU + 2 converter threads, ASan+UBSan flavour; then the checker must catch an injected missing zap"
	@$(MAKE) --no-print-directory $(BUILD)/asan/gmemsim
	@$(SAN_ENV) $(BUILD)/asan/gmemsim stress --seconds $(TEST_STRESS_SECONDS) --vcpus 2 --converters 2
	@echo "stress, handler-thread fault mode (GMEMSIM_SIM_HANDLER=thread), 3 s:"
	@GMEMSIM_SIM_HANDLER=thread $(SAN_ENV) $(BUILD)/asan/gmemsim stress --seconds 3 --vcpus 2 --converters 2
	@out=$$($(CLI) stress --seconds 1 --size 256K --no-zap 2>&1) && \
		! grep -q 'violation' <<<"$$out" && ! grep -q SKIP <<<"$$out" && \
		{ echo "gmemsim: stress --no-zap found no violation: the checker does not bite" >&2; exit 1; }; \
		echo "stress --no-zap (fault injection, must fail): $$(tail -n 1 <<<"$$out")"

# ThreadSanitizer build of the sim suite, the sim replay and a short stress.
check-tsan:
	@echo "==> check-tsan: ThreadSanitizer flavour ($(BUILD)/tsan/): CUnit sim suites, corpus replay on --backend=sim (ordered, then every trace with --threads=concurrent), $(TSAN_STRESS_SECONDS) s stress, 3 s stress in handler-thread mode"
	@$(MAKE) --no-print-directory $(BUILD)/tsan/gmemtest $(BUILD)/tsan/gmemsim
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/gmemtest -s sim
	@TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/gmemsim replay --backend=sim $(CORPUS) $(REGRESS) $(DEMO_TRACE)
	@TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/gmemsim replay --backend=sim --threads=concurrent $(CORPUS) $(REGRESS) $(DEMO_TRACE)
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/gmemsim stress --seconds $(TSAN_STRESS_SECONDS) --vcpus 2 --converters 2
	GMEMSIM_SIM_HANDLER=thread TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/gmemsim stress --seconds 3 --vcpus 2 --converters 2

# Hugetlb backings on real 2 MiB pages (docs/sim.md, "Hugetlb backing"):
# raises vm.nr_hugepages for the run and restores it, so it needs root and
# is not part of `make test`; scripts/check-hugetlb.sh says what it does.
check-hugetlb:
	@echo "==> check-hugetlb: sim suites (ASan+UBSan), corpus replay on the sim and a hugetlb stress, with a temporary 2 MiB hugetlb pool"
	@$(MAKE) --no-print-directory $(BUILD)/asan/gmemtest $(CLI)
	@$(SAN_ENV) bash scripts/check-hugetlb.sh $(BUILD)/asan/gmemtest $(CLI)

test-kernel:
	@if $(KVM_USABLE); then \
		echo "==> test [6/7] kernel backend: corpus replay, then diff over $(TEST_DIFF_SEEDS) random traces"; \
	else \
		echo "==> test [6/7] kernel backend: skipped ($(KVM_DEV) is missing or not read/write for $$(id -un))"; \
	fi
	@if $(KVM_USABLE); then $(MAKE) --no-print-directory $(CLI); fi
	@if $(KVM_USABLE); then \
		echo "$(CLI) replay --backend=kernel ($(words $(KERNEL_CORPUS)) kernel-runnable corpus traces)"; \
		$(CLI) replay --backend=kernel $(KERNEL_CORPUS); \
		bash scripts/difftest.sh -k $(CLI) $(TEST_DIFF_SEEDS) $(DIFF_OPS) $(BUILD)/difftest $(DIFF_BATCH); \
	fi

test-fuzz-replay:
	@echo "==> test [7/7] fuzz target over the seed corpus, gcc ASan+UBSan ($(words $(SEED_TRACES)) traces under traces/)"
	@$(MAKE) --no-print-directory $(BUILD)/asan/fuzz-replay
	@$(SAN_ENV) $(BUILD)/asan/fuzz-replay $(SEED_TRACES)

# Corpus replay on the model only (no dependency step).
replay:
	@$(MAKE) --no-print-directory $(CLI)
	$(CLI) replay --backend=model $(CORPUS) $(REGRESS) $(DEMO_TRACE)

demo:
	@bash scripts/deps.sh $(DEPS_BUILD)
	@$(MAKE) --no-print-directory $(CLI)
	$(CLI) replay -v $(DEMO_TRACE)

coverage:
	@echo "==> coverage [1/3] dependencies: $(DEPS_COVERAGE)"
	@bash scripts/deps.sh $(DEPS_COVERAGE)
	@$(MAKE) --no-print-directory coverage-run

coverage-run:
	@echo "==> coverage [2/3] CUnit suites and corpus replay, gcov flavour ($(BUILD)/cov/)"
	@$(MAKE) --no-print-directory $(BUILD)/cov/gmemtest $(BUILD)/cov/gmemsim
	@find $(BUILD)/cov -name '*.gcda' -delete
	$(BUILD)/cov/gmemtest
	$(BUILD)/cov/gmemsim replay --backend=model $(CORPUS) $(REGRESS) $(DEMO_TRACE)
	@echo "==> coverage [3/3] gcovr over model/ (fails under $(COVERAGE_MIN)% of lines)"
	@mkdir -p $(BUILD)/coverage
	@echo "$(GCOVR) --root . --filter model/ --fail-under-line $(COVERAGE_MIN)"
	@$(GCOVR) --root . --filter 'model/' --object-directory $(BUILD)/cov \
		--txt --html-details $(BUILD)/coverage/index.html \
		--print-summary --fail-under-line $(COVERAGE_MIN)
	@echo "HTML report: $(BUILD)/coverage/index.html"

fuzz:
	@echo "==> fuzz [1/3] dependencies: $(DEPS_FUZZ)"
	@bash scripts/deps.sh $(DEPS_FUZZ)
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run:
	@echo "==> fuzz [2/3] AFL++ build ($(BUILD)/fuzz/), then afl-fuzz for $(FUZZ_SECONDS) s over $(words $(SEED_TRACES)) seed traces"
	@[ -f $(FUZZ_DICT) ] || { echo "gmemsim: make fuzz: missing $(FUZZ_DICT)" >&2; exit 1; }
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	bash scripts/fuzz.sh $(FUZZ_BIN) $(FUZZ_DICT) $(FUZZ_SECONDS) $(BUILD)/fuzz $(SEED_TRACES)

bench:
	@$(MAKE) --no-print-directory $(CLI)
	$(CLI) bench

# Invariant campaign: random inplace traces, `check -> ok` after every op.
invariants:
	@$(MAKE) --no-print-directory $(CLI)
	bash scripts/difftest.sh -p $(PROFILE) $(CLI) $(SEEDS) $(DIFF_OPS) $(BUILD)/invariants $(DIFF_BATCH)

difftest:
	@if ! $(KVM_USABLE); then \
		echo "gmemsim: make difftest needs a usable $(KVM_DEV) (missing or not read/write here)" >&2; \
		exit 1; \
	fi
	@$(MAKE) --no-print-directory $(CLI)
	bash scripts/difftest.sh $(CLI) $(SEEDS) $(DIFF_OPS) $(BUILD)/difftest $(DIFF_BATCH)

format:
	@bash scripts/deps.sh $(DEPS_FORMAT)
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	@bash scripts/deps.sh $(DEPS_FORMAT)
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

help:
	@echo "make [all]              build $(CLI) (release flavour, build/obj/)"
	@echo "make demo               install build deps, build, replay -v $(DEMO_TRACE)"
	@echo "make test               deps, CUnit (ASan+UBSan), corpus replay, kernel replay +"
	@echo "                        diff of $(TEST_DIFF_SEEDS) random traces (if /dev/kvm), fuzz seed replay"
	@echo "make coverage           gcov flavour: suites + corpus, gcovr report, fail < $(COVERAGE_MIN)% of model/ lines"
	@echo "make fuzz [FUZZ_SECONDS=$(FUZZ_SECONDS)]  AFL++ campaign on tests/fuzz/fuzz_trace.c, fail on crashes"
	@echo "make difftest [SEEDS=$(SEEDS)]  gmemsim diff over SEEDS random traces (needs /dev/kvm)"
	@echo "make invariants [SEEDS=$(SEEDS)] [PROFILE=inplace|hugetlb]  random traces, check after every op"
	@echo "make bench              $(CLI) bench"
	@echo "make test-sim           corpus replay on --backend=sim (memfd + userfaultfd, docs/sim.md)"
	@echo "make check-tsan         ThreadSanitizer build: sim suites + sim corpus replay (ordered, concurrent) + stress"
	@echo "make check-hugetlb      root: raise the 2 MiB hugetlb pool for the run (restored after), sim suites + hugetlb corpus on real huge pages"
	@echo "make replay             corpus replay on the model (no dependency step)"
	@echo "make format | format-check | clean"
	@echo "V=1 shows full compiler command lines."

FORCE:
