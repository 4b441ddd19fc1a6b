# qmig build.  `./configure` first (it writes config.mak).
#   make              build/qmig
#   make check        unit tests (cmocka) + process tests (pytest); last line
#                     "N passed, N failed"
#   make check-asan   the same suite built with ASan and UBSan
#   make check-tsan   the threaded parts' tests under ThreadSanitizer
#   make demo         a real source -> destination migration on loopback
#   make bench        benchmarks under tests/bench/

-include config.mak
ifeq ($(wildcard config.mak),)
$(error run ./configure first)
endif

BUILD ?= build
VERSION = 0.1.0
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) -DQMIG_VERSION=\"$(VERSION)\" $(CFLAGS) $(SANITIZE_FLAGS) $(COVER_FLAGS) \
             -I. -D_GNU_SOURCE -pthread
# zlib (reference deflate), libdeflate and ISA-L igzip (faster page
# compressors, codec/page_deflate.c), libzstd (multifd-compression zstd),
# readline, jansson.
LIBS = -lz -lreadline -ljansson -ldeflate -lisal -lzstd -lpthread -lm
LDFLAGS_ALL = $(SANITIZE_FLAGS) $(COVER_FLAGS) -pthread

LIB_SRCS = $(wildcard util/*.c codec/*.c ram/*.c machine/*.c migration/*.c monitor/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
# Helpers the unit tests share (tests/unit/lib/), as an archive: a test
# links only what it uses.  inject.c is not in it (see INJECT_TESTS).
UNIT_LIB_SRCS = $(filter-out tests/unit/lib/inject.c,$(wildcard tests/unit/lib/*.c))
UNIT_LIB = $(BUILD)/tests/unit/libunit.a
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_NAMES:%=build-fuzz/fuzz_%)
REPLAY_BINS = $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)

.PHONY: all check check-unit check-process check-asan check-tsan demo bench \
        fuzz clean docs
all: $(BUILD)/qmig

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libqmig.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/qmig: $(BUILD)/qmig.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(UNIT_LIB): $(UNIT_LIB_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_LIB) $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) $(UNIT_LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# Failure injection (tests/unit/lib/inject.h): in these binaries every call
# that qmig's objects and the test make to the functions below goes through
# inject.c first (GNU ld --wrap), which fails it when the test says so.
INJECT_SYMS = malloc calloc mmap deflateInit_ deflate inflateInit_ inflate \
	      libdeflate_alloc_compressor libdeflate_alloc_decompressor \
	      libdeflate_zlib_decompress_ex
INJECT_TESTS = $(BUILD)/tests/unit/test_alloc_failures \
	       $(BUILD)/tests/unit/test_zlib_failures
$(INJECT_TESTS): $(BUILD)/tests/unit/lib/inject.o
$(INJECT_TESTS): UNIT_LDFLAGS = $(INJECT_SYMS:%=-Wl,--wrap=%)

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# The sanitizer of this build, for the process tests: their deadlines scale
# by it (tests/process/harness/timing.py).
QMIG_SANITIZER ?= $(if $(findstring thread,$(SANITIZE_FLAGS)),thread,$(if \
		  $(findstring address,$(SANITIZE_FLAGS)),address))

check: $(BUILD)/qmig $(UNIT_BINS) $(REPLAY_BINS)
	@QMIG=$(BUILD)/qmig PYTHON=$(PYTHON) QEMU=$(QEMU) BUILD=$(BUILD) \
		QMIG_SANITIZER="$(QMIG_SANITIZER)" \
		REPLAY_BINS="$(REPLAY_BINS)" sh tests/run-all.sh $(UNIT_BINS)

check-asan:
	$(MAKE) BUILD=build-asan SANITIZE_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" check

check-tsan:
	$(MAKE) BUILD=build-tsan CC=clang SANITIZE_FLAGS="-fsanitize=thread" \
		TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" check

demo: $(BUILD)/qmig
	$(PYTHON) tests/demo.py --qmig $(BUILD)/qmig

bench: $(BUILD)/qmig $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	$(PYTHON) tests/bench/bench_migration.py --qmig $(BUILD)/qmig
	$(PYTHON) tests/bench/bench_multifd.py --qmig $(BUILD)/qmig
	$(PYTHON) tests/bench/bench_convergence.py --qmig $(BUILD)/qmig
	$(PYTHON) tests/bench/bench_downtime.py --qmig $(BUILD)/qmig

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing (libFuzzer needs clang) ----
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer entry point with a seed corpus
# in tests/fuzz/corpus/NAME/.
#   make fuzz [FUZZ_SECONDS=60]   runs every target in turn; new inputs go
#                                 to build-fuzz/corpus/NAME
#   make fuzz-replay              replays the seed corpora with $(CC), no
#                                 libFuzzer (`make check` does this, and
#                                 check-asan with the sanitizers)
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=undefined

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	$(MAKE) --no-print-directory BUILD=build-fuzz/obj CC=$(FUZZ_CC) \
		SANITIZE_FLAGS="$(FUZZ_FLAGS)" build-fuzz/obj/libqmig.a
	$(FUZZ_CC) -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-o $@ $< build-fuzz/obj/libqmig.a $(LIBS)

fuzz: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "== fuzz $$n for $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
			build-fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/replay_main.o \
		$(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

fuzz-replay: $(REPLAY_BINS)
	@for n in $(FUZZ_NAMES); do \
		$(BUILD)/tests/fuzz/replay_$$n tests/fuzz/corpus/$$n || exit 1; \
	done
.PHONY: fuzz-replay

.SECONDARY:
