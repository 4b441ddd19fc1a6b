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
# compressors, migration/page_deflate.c), readline, jansson.
LIBS = -lz -lreadline -ljansson -ldeflate -lisal -lpthread -lm
LDFLAGS_ALL = $(SANITIZE_FLAGS) $(COVER_FLAGS) -pthread

LIB_SRCS = $(wildcard util/*.c ram/*.c migration/*.c monitor/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)

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

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

check: $(BUILD)/qmig $(UNIT_BINS)
	@QMIG=$(BUILD)/qmig PYTHON=$(PYTHON) QEMU=$(QEMU) BUILD=$(BUILD) \
		sh tests/run-all.sh $(UNIT_BINS)

check-asan:
	$(MAKE) BUILD=build-asan SANITIZE_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" check

check-tsan:
	$(MAKE) BUILD=build-tsan CC=clang SANITIZE_FLAGS="-fsanitize=thread" \
		TSAN_OPTIONS="halt_on_error=1" check

demo: $(BUILD)/qmig
	$(PYTHON) tests/demo.py --qmig $(BUILD)/qmig

bench: $(BUILD)/qmig $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing: XBZRLE decoder (libFuzzer needs clang) ----
#   make fuzz [FUZZ_SECONDS=60]   run the fuzzer; new inputs go to
#                                 build-fuzz/corpus/xbzrle_decode
#   make fuzz-replay              replay the seed corpus with $(CC) (no
#                                 libFuzzer); use BUILD=build-asan and
#                                 SANITIZE_FLAGS for a sanitized replay
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_CFLAGS = -std=gnu11 -g -O1 -I. -D_GNU_SOURCE \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CORPUS = tests/fuzz/corpus/xbzrle_decode

build-fuzz/fuzz_xbzrle_decode: tests/fuzz/fuzz_xbzrle_decode.c migration/xbzrle.c migration/xbzrle.h
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_xbzrle_decode.c migration/xbzrle.c

fuzz: build-fuzz/fuzz_xbzrle_decode
	@mkdir -p build-fuzz/corpus/xbzrle_decode
	build-fuzz/fuzz_xbzrle_decode -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		build-fuzz/corpus/xbzrle_decode $(FUZZ_CORPUS)

$(BUILD)/tests/fuzz/replay_xbzrle_decode: $(BUILD)/tests/fuzz/replay_main.o \
		$(BUILD)/tests/fuzz/fuzz_xbzrle_decode.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

fuzz-replay: $(BUILD)/tests/fuzz/replay_xbzrle_decode
	$(BUILD)/tests/fuzz/replay_xbzrle_decode $(FUZZ_CORPUS)
.PHONY: fuzz-replay

.SECONDARY:

# ---- fuzzing: QMP input (tests/fuzz/fuzz_qmp_input.c) ----
#   make fuzz-qmp [FUZZ_SECONDS=60]   run the fuzzer; new inputs go to
#                                     build-fuzz/corpus/qmp_input
#   make fuzz-replay-qmp              replay the seed corpus (part of check)
QMP_FUZZ_CORPUS = tests/fuzz/corpus/qmp_input

build-fuzz/fuzz_qmp_input: tests/fuzz/fuzz_qmp_input.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DQMIG_VERSION=\"$(VERSION)\" -pthread -o $@ \
		tests/fuzz/fuzz_qmp_input.c $(LIB_SRCS) $(LIBS)

fuzz-qmp: build-fuzz/fuzz_qmp_input
	@mkdir -p build-fuzz/corpus/qmp_input
	build-fuzz/fuzz_qmp_input -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		build-fuzz/corpus/qmp_input $(QMP_FUZZ_CORPUS)

$(BUILD)/tests/fuzz/replay_qmp_input: $(BUILD)/tests/fuzz/replay_main.o \
		$(BUILD)/tests/fuzz/fuzz_qmp_input.o $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

fuzz-replay-qmp: $(BUILD)/tests/fuzz/replay_qmp_input
	@$(BUILD)/tests/fuzz/replay_qmp_input $(QMP_FUZZ_CORPUS) > $(BUILD)/fuzz-replay-qmp.tap || \
		{ cat $(BUILD)/fuzz-replay-qmp.tap; exit 1; }
	@echo "fuzz-replay-qmp: $$(grep -c '^ok' $(BUILD)/fuzz-replay-qmp.tap) corpus files replayed"

check: fuzz-replay-qmp
.PHONY: fuzz-qmp fuzz-replay-qmp
