# letterbox — GNU make build.  `make` builds build/letterbox; see README.md.
#
# Every src/**/*.c except src/main.c goes into a static library that the
# binary and each unit test (tests/unit/test_*.c) link against, so a test
# exercises exactly the code the daemon runs.

BUILD	?= build
CC	?= cc
PKGS	 = libevent libevent_openssl libevent_pthreads libevent_extra openssl sqlite3 libxcrypt libidn2 \
	   libmariadb libpq zlib
OPT	?= -O2 -g
CFLAGS	+= -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -Wformat=2 -Wno-format-nonliteral $(OPT) -Isrc -I$(BUILD)/gen \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

SRCS	 = $(sort $(wildcard src/*/*.c))
OBJS	 = $(SRCS:%.c=$(BUILD)/%.o)
TESTS	 = $(sort $(wildcard tests/unit/test_*.c))
TBINS	 = $(TESTS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ	 = $(sort $(wildcard fuzz/fuzz_*.c))

.PHONY: all deps run test test-fresh fuzz-build test-unit test-e2e test-asan clean bench fuzz
all: $(BUILD)/letterbox

# lib/conf_ids.h: one enum constant per config key, generated from the key
# table (src/lib/conf_keys.c), so a misspelt key fails the build.
GEN	 = $(BUILD)/gen/lib/conf_ids.h
$(BUILD)/gen/lib/conf_ids.h $(BUILD)-fuzz/gen/lib/conf_ids.h: src/lib/conf_keys.c scripts/gen-conf-ids.py
	@mkdir -p $(dir $@)
	@python3 scripts/gen-conf-ids.py $< $@

$(BUILD)/%.o: %.c | $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libletterbox.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/letterbox: $(BUILD)/src/main.o $(BUILD)/libletterbox.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libletterbox.a | $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libletterbox.a $(LDLIBS)

-include $(OBJS:.o=.d) $(BUILD)/src/main.d

deps:
	@scripts/deps.sh build

# A demo instance (./demo, see scripts/run-demo.sh), serving on 127.0.0.1 with ports 10000 + standard.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@BIN=$(BUILD)/letterbox scripts/run-demo.sh

# `make test`: unit + end-to-end on the normal build, then the whole suite again
# under ASan+UBSan; one summary line "N passed, M failed" at the end.
test:
	@scripts/deps.sh test
	@scripts/run-tests.sh

# What CI runs: `make test` on a fresh clone of HEAD inside a bare Debian 12
# root (debootstrap, cached under /var/tmp/letterbox-ci).  Needs root.
test-fresh:
	@scripts/test-fresh.sh

test-unit: $(BUILD)/letterbox $(TBINS)
	@scripts/run-tests.sh --build $(BUILD) --only unit

test-e2e: $(BUILD)/letterbox
	@scripts/run-tests.sh --build $(BUILD) --only e2e

test-asan:
	@scripts/run-tests.sh --asan-only

tests: $(TBINS)

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/store_bench
	@bench/run.sh
	@bench/store.sh

$(BUILD)/bench/%: bench/%.c $(BUILD)/libletterbox.a | $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libletterbox.a $(LDLIBS)

# libFuzzer: the library is compiled once with clang and coverage
# instrumentation (build-fuzz/), each harness links against it.
# `make fuzz` runs every harness for FUZZ_TIME seconds (corpus in fuzz/corpus/NAME,
# kept out of git); `make test` runs a short smoke of each (scripts/fuzz-smoke.sh).
FUZZ_TIME ?= 60
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -Isrc -I$(BUILD)-fuzz/gen $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FOBJS	 = $(SRCS:%.c=$(BUILD)-fuzz/%.o)
FBINS	 = $(FUZZ:fuzz/%.c=$(BUILD)-fuzz/%)

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz-smoke.sh --build $(BUILD)-fuzz --time $(FUZZ_TIME) --corpus fuzz/corpus

fuzz-build: $(FBINS)

$(BUILD)-fuzz/src/%.o: src/%.c | $(BUILD)-fuzz/gen/lib/conf_ids.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)-fuzz/libletterbox.a: $(FOBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)-fuzz/%: fuzz/%.c $(BUILD)-fuzz/libletterbox.a | $(BUILD)-fuzz/gen/lib/conf_ids.h
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)-fuzz/libletterbox.a $(LDLIBS)

-include $(FOBJS:.o=.d)

clean:
	rm -rf build build-asan build-fuzz
