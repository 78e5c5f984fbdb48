#!/bin/bash
# Build and run every test: C unit tests and end-to-end tests, first on the
# normal build (build/), then again under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan/).  Ends with one line
# "N passed, M failed" and exits non-zero when anything failed.
#
#   scripts/run-tests.sh                     both builds, unit + e2e
#   scripts/run-tests.sh --asan-only         only the sanitizer build
#   scripts/run-tests.sh --build DIR --only unit|e2e|fuzz
#   E2E_FILTER=smtp scripts/run-tests.sh     only e2e files whose name contains "smtp"
set -u
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
ASAN_FLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"

builds="build build-asan"
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--asan-only) builds="build-asan" ;;
	--build) builds="$2"; shift ;;
	--only) only="$2"; shift ;;
	*) echo "usage: $0 [--asan-only] [--build DIR] [--only unit|e2e|fuzz]" >&2; exit 64 ;;
	esac
	shift
done

passed=0
failed=0
count() {	# add up "...: N passed, M failed" lines from a log
	local p f
	p=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | awk '{s+=$3} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
}

# The folder include graph (no circle, src/lib includes nothing else): one
# test, run once, with the unit tests since it needs no build.
if [ "$only" != e2e ]; then
	echo "== layer check"
	log=$(mktemp)
	python3 scripts/check-layers.py >"$log" 2>&1 || echo "layers: 0 passed, 1 failed (exit status)" >>"$log"
	grep -E 'FAIL|passed' "$log"
	grep ' passed, ' "$log" | tail -1 >"$log.sum"
	count "$log.sum"
	rm -f "$log" "$log.sum"
fi

for b in $builds; do
	opt=()
	[ "$b" = build-asan ] && opt=(OPT="$ASAN_FLAGS")
	echo "== build $b"
	if ! make -s -j"$JOBS" BUILD="$b" "${opt[@]}" all tests; then
		echo "build $b: FAILED"
		failed=$((failed + 1))
		continue
	fi
	if [ -z "$only" ] || [ "$only" = unit ]; then
		echo "== unit tests ($b)"
		for t in "$b"/tests/test_*; do
			[ -x "$t" ] || continue
			log=$(mktemp)
			if ! timeout 300 "$t" >"$log" 2>&1; then
				grep -q ' passed, [0-9]* failed' "$log" || echo "unit $(basename "$t"): 0 passed, 1 failed (crashed)" >>"$log"
				grep -Eq ' [1-9][0-9]* failed' "$log" || echo "unit $(basename "$t"): 0 passed, 1 failed (exit status)" >>"$log"
				cat "$log"
			else
				grep ' passed, ' "$log"
			fi
			count "$log"
			rm -f "$log"
		done
	fi
	if [ -z "$only" ] || [ "$only" = e2e ]; then
		echo "== end-to-end tests ($b)"
		log=$(mktemp)
		LETTERBOX_BIN="$PWD/$b/letterbox" timeout 1200 python3 tests/e2e/run.py ${E2E_FILTER:+--filter "$E2E_FILTER"} 2>&1 | tee "$log"
		grep -q '^e2e: [0-9]* passed' "$log" || echo "e2e: 0 passed, 1 failed (runner died)" | tee -a "$log"
		grep '^e2e: ' "$log" > "$log.sum"
		count "$log.sum"
		rm -f "$log" "$log.sum"
	fi
done
# A short libFuzzer smoke of every harness (fuzz/); hours-long runs are `make fuzz`.
if [ -z "$only" ] || [ "$only" = fuzz ]; then
	if [ "$builds" != build-asan ] || [ "$only" = fuzz ]; then
		echo "== fuzz smoke (${FUZZ_SMOKE_TIME:-15} s each)"
		log=$(mktemp)
		if make -s -j"$JOBS" fuzz-build >"$log" 2>&1; then
			scripts/fuzz-smoke.sh --time "${FUZZ_SMOKE_TIME:-15}" | tee "$log"
		else
			cat "$log"
			echo "fuzz build: 0 passed, 1 failed" | tee "$log"
		fi
		count "$log"
		rm -f "$log"
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
