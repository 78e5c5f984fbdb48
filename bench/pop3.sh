#!/bin/bash
# bench/pop3.sh BIN SHARED - POP3 benchmark (issue 5): LIST, UIDL and RETR of
# every message of a 10,000-message INBOX, and the store's index rebuild time
# for that mailbox, on letterbox and on Dovecot (SHARED/peer-up.sh) with the
# very same message files (hard links), in one run.  Prints figures and the
# ratio letterbox / Dovecot per step (< 1 = letterbox faster).
#
# Corpus: SHARED/mailgen.py (deterministic, seed 2), written into the
# user's Maildir new/ as an MTA would; u0@bench.test, password pw.
# Each server gets one cold pass (first access: its index is built during
# the login) and RUNS warm passes (median reported).
#
# Env: NMSG=10000 RUNS=3 PEER=1 (0 = letterbox only) POP3_PORT_BASE=31000
#      KEEP=0 (1 = keep the letterbox instance directory)
set -uo pipefail
BIN=${1:?usage: pop3.sh BIN SHARED}
SHARED=${2:?usage: pop3.sh BIN SHARED}
NMSG=${NMSG:-10000}
RUNS=${RUNS:-3}
PEER=${PEER:-1}
PORT_BASE=${POP3_PORT_BASE:-31000}
USER_ADDR=u0@bench.test
PASS=pw
SEED=2
LB_PORT=$((PORT_BASE + 110))
PB_ROOT=/var/tmp/peerbench
DC_PORT=12110

INST=$(mktemp -d /var/tmp/lbpop3.XXXXXX)
chmod 755 "$INST"
LBPID=
PEER_UP=0
cleanup() {
	if [ -n "$LBPID" ]; then
		kill "$LBPID" 2>/dev/null
		wait "$LBPID" 2>/dev/null
	fi
	[ "$PEER_UP" = 1 ] && "$SHARED/peer-down.sh" >/dev/null 2>&1
	[ "${KEEP:-0}" = 1 ] && echo "pop3: kept $INST" || rm -rf "$INST"
}
trap cleanup EXIT

"$BIN" init "$INST/lb" --hostname bench.local --port-base "$PORT_BASE" >/dev/null || exit 1
CONF=$INST/lb/letterbox.conf
lb() { "$BIN" -c "$CONF" "$@"; }
lb domain add bench.test >/dev/null
echo "$PASS" | lb user add "$USER_ADDR" >/dev/null
# The same hash scheme as the Dovecot side (SHA512-CRYPT), so a login costs
# the same on both and the rebuild figures compare (yescrypt costs ~0.1 s).
python3 - "$INST/lb/letterbox.db" "$USER_ADDR" "$(openssl passwd -6 "$PASS")" <<'EOF' || exit 1
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("UPDATE users SET password = ? WHERE email = ?", (sys.argv[3], sys.argv[2])).rowcount
c.commit()
sys.exit(0 if n == 1 else 1)
EOF
# The benchmark logs in over plain TCP on loopback, as it does with Dovecot.
lb config set disable_plaintext_auth no >/dev/null
lb config set log_destination stderr >/dev/null
OWNER=$(lb config get mail_owner)
LB_MD=$INST/lb/vmail/bench.test/u0
DC_MD=$PB_ROOT/vmail/bench.test/u0

echo "== POP3: $NMSG-message INBOX ($USER_ADDR), LIST / UIDL / RETR all"
python3 - "$SHARED" "$LB_MD" "$NMSG" "$SEED" "$USER_ADDR" "$OWNER" <<'EOF' || exit 1
import os, sys, time
t0 = time.time()
sys.path.insert(0, sys.argv[1])
import mailgen
md, n, seed, to, owner = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
b = mailgen.populate_maildir(md, n, seed, to)
mailgen.chown_tree(os.path.dirname(os.path.dirname(md)), owner)
print("corpus: %d messages, %.1f MB in %s/new (%.1f s)" % (n, b / 1e6, md, time.time() - t0))
EOF

# One pop3.py pass: prints its JSON line.
pass() {	# PORT
	HOST=127.0.0.1 PORT=$1 POP_USER=$USER_ADDR PASS=$PASS NMSG=$NMSG POPULATE=none \
	    python3 "$SHARED/pop3.py"
}

# Login + STAT only (the first access after the index was deleted).
login_stat() {	# PORT
	python3 - 127.0.0.1 "$1" "$USER_ADDR" "$PASS" <<'EOF'
import poplib, sys, time, json
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=600)
t0 = time.perf_counter()
p.user(sys.argv[3]); p.pass_(sys.argv[4])
n, _ = p.stat()
dt = time.perf_counter() - t0
p.quit()
print(json.dumps({"login_stat": round(dt, 4), "stat_n": n}))
EOF
}

run_server() {	# NAME PORT OUTFILE MAILDIR INDEXFILES...
	local name=$1 port=$2 out=$3 md=$4 i
	shift 4
	echo "-- $name (127.0.0.1:$port)"
	for i in cold $(seq 1 "$RUNS"); do
		r=$(pass "$port") || { echo "$name: pass $i failed"; return 1; }
		echo "$name $i: $r"
		echo "{\"server\": \"$name\", \"pass\": \"$i\", \"r\": $r}" >>"$out"
	done
	# Store rebuild: delete the server's index, time login + STAT; the
	# same without deleting it is the baseline (password check, lookup).
	for i in 1 2 3; do
		r=$(login_stat "$port") || { echo "$name: login failed"; return 1; }
		echo "{\"server\": \"$name\", \"pass\": \"warmlogin\", \"r\": $r}" >>"$out"
	done
	for i in 1 2 3; do
		(cd "$md" && rm -f "$@")
		r=$(login_stat "$port") || { echo "$name: rebuild login failed"; return 1; }
		echo "$name rebuild $i: $r"
		echo "{\"server\": \"$name\", \"pass\": \"rebuild\", \"r\": $r}" >>"$out"
	done
}

RES=$INST/results.jsonl
: >"$RES"

"$BIN" -c "$CONF" serve 2>"$INST/serve.log" &
LBPID=$!
for i in $(seq 1 50); do
	python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $LB_PORT), 0.2)" \
	    2>/dev/null && break
	sleep 0.1
done
run_server letterbox "$LB_PORT" "$RES" "$LB_MD" letterbox-uidlist || exit 1
echo "letterbox peak RSS: $(awk '/VmHWM/ {print $2" kB"}' /proc/$LBPID/status)"
kill "$LBPID"; wait "$LBPID" 2>/dev/null; LBPID=

if [ "$PEER" = 1 ]; then
	if [ -f "$PB_ROOT/peer.pids" ]; then
		echo "pop3: a peer instance is already up ($PB_ROOT/peer.pids): skipping Dovecot"
	elif ! "$SHARED/peer-up.sh" >"$INST/peer-up.log" 2>&1; then
		echo "pop3: peer-up failed:"; tail -5 "$INST/peer-up.log"
	else
		PEER_UP=1
		# The same files, as hard links, in a fresh Maildir of Dovecot's own.
		rm -rf "$DC_MD"
		mkdir -p "$DC_MD/cur" "$DC_MD/tmp"
		cp -al "$LB_MD/new" "$DC_MD/new"
		chown -R vmail:vmail "$PB_ROOT/vmail/bench.test"
		run_server dovecot "$DC_PORT" "$RES" "$DC_MD" dovecot.index dovecot.index.cache \
		    dovecot.index.log dovecot.index.log.2 dovecot-uidlist || exit 1
		"$SHARED/peer-down.sh" >/dev/null 2>&1
		PEER_UP=0
		rm -rf "$DC_MD"
	fi
fi

python3 - "$RES" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(server, key, passes):
    v = [r["r"][key] for r in rows if r["server"] == server and r["pass"] in passes and key in r["r"]]
    return statistics.median(v) if v else None
warm = [str(i) for i in range(1, 100)]
steps = [("first login (index built)", "login_pass", ["cold"]),
         ("login (warm)", "login_pass", warm),
         ("LIST", "list", warm), ("UIDL", "uidl", warm), ("RETR all", "retr_all", warm),
         ("LIST (cold pass)", "list", ["cold"]), ("UIDL (cold pass)", "uidl", ["cold"]),
         ("RETR all (cold pass)", "retr_all", ["cold"]),
         ("login+STAT, index kept", "login_stat", ["warmlogin"]),
         ("login+STAT, index deleted (rebuild)", "login_stat", ["rebuild"])]
peer = any(r["server"] == "dovecot" for r in rows)
print("%-36s %12s %12s %8s" % ("step (seconds, median)", "letterbox", "dovecot", "ratio"))
verdict = []
for label, key, passes in steps:
    a, b = med("letterbox", key, passes), med("dovecot", key, passes)
    fa = "%.4f" % a if a is not None else "-"
    fb = "%.4f" % b if b is not None else "-"
    ra = "%.2f" % (a / b) if a is not None and b else "-"
    print("%-36s %12s %12s %8s" % (label, fa, fb, ra))
    if key in ("list", "uidl", "retr_all") and a is not None and b is not None:
        verdict.append((label, a < b))
for srv in ("letterbox", "dovecot"):
    a, b = med(srv, "login_stat", ["rebuild"]), med(srv, "login_stat", ["warmlogin"])
    if a is not None and b is not None:
        print("%s: index rebuild for %d messages: %.4f s (login+STAT difference)" %
              (srv, rows[0]["r"]["nmsg"], a - b))
if peer:
    bad = [l for l, ok in verdict if not ok]
    print("pop3 target (faster than Dovecot on each step, same run): %s" %
          ("MET" if not bad else "NOT MET: " + ", ".join(bad)))
EOF
