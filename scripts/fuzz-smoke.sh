#!/bin/bash
# Run every libFuzzer harness (build-fuzz/fuzz_*) for a bounded time and
# report one "fuzz NAME: N passed, M failed" line each, for scripts/run-tests.sh.
# A crash, leak, sanitizer report or timeout is a failure; the input that
# triggered it is kept in the work directory and named in the output.
#
#   scripts/fuzz-smoke.sh [--build DIR] [--time SECONDS] [--corpus DIR]
# Without --corpus each harness starts from an empty temporary corpus that is
# removed afterwards; with it, the corpus grows across runs (make fuzz).
set -u
cd "$(dirname "$0")/.."
BUILD=build-fuzz
TIME=10
CORPUS=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift ;;
	--time) TIME=$2; shift ;;
	--corpus) CORPUS=$2; shift ;;
	*) echo "usage: $0 [--build DIR] [--time SECONDS] [--corpus DIR]" >&2; exit 64 ;;
	esac
	shift
done
rc=0
for f in "$BUILD"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	if [ -n "$CORPUS" ]; then
		dir=$CORPUS/$name
		mkdir -p "$dir"
	else
		dir=$work/corpus
		mkdir -p "$dir"
	fi
	log=$work/log
	# -rss_limit_mb: harnesses must stay small; -timeout: one input may not hang.
	if (cd "$work" && timeout $((TIME + 60)) "$OLDPWD/$f" -max_total_time="$TIME" \
		-rss_limit_mb=1024 -timeout=10 -print_final_stats=1 "$(realpath "$dir")") >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz $name: 1 passed, 0 failed (${execs:-?} runs in ${TIME} s)"
		rm -rf "$work"
	else
		echo "fuzz $name: 0 passed, 1 failed; kept $work"
		grep -E "ERROR|SUMMARY|crash-|leak-|timeout-" "$log" | head -8
		rc=1
	fi
done
exit $rc
