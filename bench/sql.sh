#!/bin/bash
# bench/sql.sh BIN SHARED: the SMTP scenario of bench/run.sh (SHARED/smtp.sh,
# 50 mailboxes u0..u49@bench.test, ~4 KB messages) on each directory backend
# -- SQLite, MariaDB, PostgreSQL (started in temporary directories by
# bench/sqlservers.py) -- one after the other in one run, and the ratio of
# each to SQLite.  Every RCPT and every delivery is a directory lookup, so
# this is what a network round trip per lookup costs.
#
# Env: N (messages, default 5000), SESSIONS (concurrent senders, default 20),
#      SQL_PORT_BASE (letterbox --port-base, default PORT_BASE+2000 or 32000;
#      bench/pop3.sh uses 31000).
set -uo pipefail
BIN=${1:?BIN}; SHARED=${2:?SHARED}
HERE=$(cd "$(dirname "$0")" && pwd)
N=${N:-5000}; SESSIONS=${SESSIONS:-20}
SQL_PORT_BASE=${SQL_PORT_BASE:-$(( ${PORT_BASE:-30000} + 2000 ))}

WORK=$(mktemp -d /var/tmp/lbsqlbench.XXXXXX)
chmod 755 "$WORK"
LBPID=
cleanup() {
	[ -n "$LBPID" ] && kill "$LBPID" 2>/dev/null && wait "$LBPID" 2>/dev/null
	# EOF on its stdin stops the database servers and removes their directories.
	if [ -n "${DB_PID:-}" ]; then
		[ -n "${DB[1]:-}" ] && eval "exec ${DB[1]}>&-"
		wait "$DB_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "== SMTP per directory backend: $N messages of ~4 KB, $SESSIONS senders"
coproc DB { exec python3 "$HERE/sqlservers.py" 2>"$WORK/sqlservers.log"; }
declare -A URL
while read -r -u "${DB[0]}" kind url; do
	[ "$kind" = ready ] && break
	URL[$kind]=$url
done
[ ${#URL[@]} -eq 0 ] && { echo "bench: no SQL server started"; cat "$WORK/sqlservers.log"; }

# run_backend NAME DATABASE: a fresh instance on that database, the smtp.sh rate (msg/s) on stdout.
run_backend() {
	local name=$1 database=$2 dir=$WORK/$1 conf out
	"$BIN" init "$dir" --hostname bench.local --port-base "$SQL_PORT_BASE" >/dev/null || return 1
	conf=$dir/letterbox.conf
	if [ "$database" != sqlite ]; then
		"$BIN" -c "$conf" config set database "$database" >/dev/null || return 1
	fi
	"$BIN" -c "$conf" domain add bench.test >/dev/null || return 1
	for i in $(seq 0 49); do
		echo pw | "$BIN" -c "$conf" user add "u$i@bench.test" || return 1
	done
	"$BIN" -c "$conf" config set log_destination syslog >/dev/null
	"$BIN" -c "$conf" serve >/dev/null 2>"$dir/serve.log" &
	LBPID=$!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$((SQL_PORT_BASE + 25))") 2>/dev/null && break
		sleep 0.1
	done
	# Not someone else's listener on our ports: serve exits when it cannot bind.
	if ! kill -0 "$LBPID" 2>/dev/null; then
		echo "letterbox/$name: serve exited: $(tail -2 "$dir/serve.log")" >&2
		LBPID=
		return 1
	fi
	N=$N SESSIONS=$SESSIONS "$SHARED/smtp.sh" 127.0.0.1 $((SQL_PORT_BASE + 25)) \
	    bench.test "$dir/vmail/bench.test" >"$dir/smtp.out" 2>&1
	out=$(grep -E '^smtp sessions=' "$dir/smtp.out" | tail -1)
	[ -n "$out" ] || { out="failed"; tail -5 "$dir/smtp.out" >&2; }
	kill "$LBPID" 2>/dev/null; wait "$LBPID" 2>/dev/null; LBPID=
	echo "letterbox/$name: $out" >&2
	echo "$out" | sed -n 's/.*e2e_rate=\([0-9.]*\).*/\1/p'
}

rates=""
for b in sqlite mysql pgsql; do
	if [ $b = sqlite ]; then db=sqlite; else db=${URL[$b]:-}; fi
	[ -z "$db" ] && continue
	r=$(run_backend $b "$db")
	rates="$rates $b=${r:-0}"
done
python3 -c "
import sys
rates = dict(kv.split('=') for kv in sys.argv[1:])
base = float(rates.get('sqlite') or 0)
for b, r in rates.items():
    r = float(r or 0)
    print('smtp e2e sessions=$SESSIONS backend=%s: %.1f msg/s, ratio to sqlite %.2f'
          % (b, r, r / base if base else 0))
" $rates
