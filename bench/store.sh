#!/bin/bash
# Store figures (issue 12): the table for 10k and 100k messages.
#   bench/store.sh [N ...]      (default: 10000 100000)
# Needs `make` (builds build/bench/store_bench).  The folders go to a
# temp directory under /var/tmp (a real file system: fsync costs count).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD:-build}/bench/store_bench
make -s "$BIN"
DIR=$(mktemp -d /var/tmp/lbstore.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
for n in "${@:-10000 100000}"; do
	for m in $n; do
		"$BIN" "$DIR/f$m" "$m"
		rm -rf "$DIR/f$m"
		echo
	done
done
