#!/bin/bash
# make bench: figures, not pass/fail.  Runs the same load against letterbox
# and against Postfix/Dovecot from Debian (../shared/bench/ starts them on
# loopback), side by side in one run, and prints the ratios.
#
#   BENCH=smtp,submission,pop3,imap,sql N=5000 bench/run.sh
# Env: BENCH (which scenarios; default all), N (messages per SMTP run),
#      PEER=0 to skip the Postfix/Dovecot side.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared/bench}
BIN=$ROOT/build/letterbox
N=${N:-5000}
BENCH=${BENCH:-smtp,submission,pop3,imap,sql}
PEER=${PEER:-1}
PORT_BASE=${PORT_BASE:-30000}
export N

"$ROOT/scripts/deps.sh" bench

INST=$(mktemp -d /var/tmp/lbbench.XXXXXX)
chmod 755 "$INST"
cleanup() {
	[ -n "${LBPID:-}" ] && kill "$LBPID" 2>/dev/null && wait "$LBPID" 2>/dev/null
	[ "$PEER" = 1 ] && [ -f /var/tmp/peerbench/peer.pids ] && "$SHARED/peer-down.sh" >/dev/null 2>&1
	rm -rf "$INST"
}
trap cleanup EXIT

"$BIN" init "$INST/lb" --hostname bench.local --port-base "$PORT_BASE" --admin u0@bench.test >/dev/null
CONF=$INST/lb/letterbox.conf
"$BIN" -c "$CONF" domain add bench.test
for i in $(seq 0 49); do echo pw | "$BIN" -c "$CONF" user add "u$i@bench.test"; done
"$BIN" -c "$CONF" config set log_destination syslog >/dev/null
"$BIN" -c "$CONF" serve 2>"$INST/serve.log" &
LBPID=$!
sleep 1
SMTP_PORT=$((PORT_BASE + 25))
LB_VMAIL=$INST/lb/vmail/bench.test

rss() { awk '/VmHWM/ {print $2" kB"}' /proc/"$1"/status 2>/dev/null; }
rate_of() { sed -n 's/.*e2e_rate=\([0-9.]*\).*/\1/p'; }

if [[ $BENCH == *smtp* ]]; then
	echo "== SMTP: $N messages of ~4 KB to 50 hosted mailboxes"
	for s in 1 20; do
		n=$N; [ $s = 1 ] && n=$((N / 5))
		out=$(N=$n SESSIONS=$s "$SHARED/smtp.sh" 127.0.0.1 "$SMTP_PORT" bench.test "$LB_VMAIL" 2>&1 | tail -1)
		echo "letterbox: $out"
		eval "lb_$s=\$(echo \"\$out\" | rate_of)"
	done
	echo "letterbox peak RSS: $(rss $LBPID)"
	if [ "$PEER" = 1 ]; then
		"$SHARED/peer-up.sh" >/dev/null 2>&1 || echo "bench: peer-up failed"
		for s in 1 20; do
			n=$N; [ $s = 1 ] && n=$((N / 5))
			out=$(N=$n SESSIONS=$s "$SHARED/smtp.sh" 127.0.0.1 12525 bench.test /var/tmp/peerbench/vmail/bench.test 2>&1 | tail -1)
			echo "postfix:   $out"
			eval "pf_$s=\$(echo \"\$out\" | rate_of)"
		done
		"$SHARED/peer-down.sh" >/dev/null 2>&1
		python3 -c "
import sys
for s, lb, pf in ((1, '${lb_1:-0}', '${pf_1:-0}'), (20, '${lb_20:-0}', '${pf_20:-0}')):
    lb, pf = float(lb or 0), float(pf or 0)
    print('smtp e2e sessions=%d: letterbox %.1f msg/s, postfix %.1f msg/s, ratio %.2f' % (s, lb, pf, lb / pf if pf else 0))
"
	fi
fi
if [[ $BENCH == *submission* ]]; then
	echo "== submission over implicit TLS with AUTH PLAIN (letterbox only)"
	python3 "$ROOT/bench/submission.py" 127.0.0.1 $((PORT_BASE + 465)) u0@bench.test pw u1@bench.test 1000 10
fi
if [[ $BENCH == *pop3* ]] && [ -x "$ROOT/bench/pop3.sh" ]; then
	"$ROOT/bench/pop3.sh" "$BIN" "$SHARED"
fi
if [[ $BENCH == *imap* ]] && [ -x "$ROOT/bench/imap.sh" ]; then
	PEER=$PEER "$ROOT/bench/imap.sh" "$BIN" "$SHARED"
fi
if [[ $BENCH == *sql* ]]; then
	SQL_PORT_BASE=$((PORT_BASE + 2000)) "$ROOT/bench/sql.sh" "$BIN" "$SHARED"
fi
