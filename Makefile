# letterbox — GNU make build.  `make` builds build/letterbox; see README.md.
#
# Every src/**/*.c except src/main.c goes into a static library that the
# binary and each unit test (tests/unit/test_*.c) link against, so a test
# exercises exactly the code the daemon runs.

BUILD	?= build
CC	?= cc
PKGS	 = libevent libevent_openssl libevent_pthreads libevent_extra openssl sqlite3 libxcrypt libidn2 \
	   libmariadb libpq
OPT	?= -O2 -g
CFLAGS	+= -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -Wformat=2 -Wno-format-nonliteral $(OPT) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

SRCS	 = $(sort $(wildcard src/*/*.c))
OBJS	 = $(SRCS:%.c=$(BUILD)/%.o)
TESTS	 = $(sort $(wildcard tests/unit/test_*.c))
TBINS	 = $(TESTS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ	 = $(sort $(wildcard fuzz/fuzz_*.c))

.PHONY: all deps run test test-unit test-e2e test-asan clean bench fuzz
all: $(BUILD)/letterbox

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libletterbox.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/letterbox: $(BUILD)/src/main.o $(BUILD)/libletterbox.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libletterbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libletterbox.a $(LDLIBS)

-include $(OBJS:.o=.d) $(BUILD)/src/main.d

deps:
	@scripts/deps.sh

# A demo instance under ./demo, serving on 127.0.0.1 with ports 10000 + standard.
run: deps all
	@if [ ! -f demo/letterbox.conf ]; then \
	  $(BUILD)/letterbox init demo --hostname mail.example.test --port-base 10000 && \
	  $(BUILD)/letterbox -c demo/letterbox.conf domain add example.test && \
	  echo demo | $(BUILD)/letterbox -c demo/letterbox.conf user add demo@example.test && \
	  echo "demo: user demo@example.test, password demo; SMTP 127.0.0.1:10025, POP3 10110"; fi
	$(BUILD)/letterbox -c demo/letterbox.conf serve

# `make test`: unit + end-to-end on the normal build, then the whole suite again
# under ASan+UBSan; one summary line "N passed, M failed" at the end.
test: deps
	@scripts/run-tests.sh

test-unit: $(BUILD)/letterbox $(TBINS)
	@scripts/run-tests.sh --build $(BUILD) --only unit

test-e2e: $(BUILD)/letterbox
	@scripts/run-tests.sh --build $(BUILD) --only e2e

test-asan:
	@scripts/run-tests.sh --asan-only

tests: $(TBINS)

bench: deps all $(BUILD)/bench/store_bench
	@bench/run.sh
	@bench/store.sh

$(BUILD)/bench/%: bench/%.c $(BUILD)/libletterbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libletterbox.a $(LDLIBS)

fuzz: $(FUZZ:fuzz/%.c=$(BUILD)-fuzz/%)
$(BUILD)-fuzz/%: fuzz/%.c $(SRCS)
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
	  $(shell pkg-config --cflags $(PKGS)) -o $@ $< $(filter-out src/main.c,$(SRCS)) $(LDLIBS)

clean:
	rm -rf build build-asan build-fuzz
