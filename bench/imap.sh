#!/bin/bash
# bench/imap.sh BIN SHARED - IMAP at scale (issue 15): letterbox and Dovecot
# 2.3 (SHARED/peer-up.sh) in one run, on the very same message files (hard
# links), through the same scripts (SHARED/imap.py, SHARED/idle.py and
# Dovecot's imaptest when it is built), printing both and the ratio
# letterbox / Dovecot (< 1 = letterbox faster or smaller).
#
#   1. a 10,000-message INBOX: SELECT cold, FETCH 1:* (FLAGS RFC822.SIZE
#      ENVELOPE BODYSTRUCTURE), FETCH 1:* BODY.PEEK[], UID SEARCH TEXT,
#      STORE 1:* +FLAGS, SELECT warm; the server's memory growth during it.
#      ROUNDS rounds, each on a fresh copy of the mailbox (hard links of one
#      corpus), both servers up, the order alternating (letterbox first in
#      odd rounds, Dovecot first in even ones); the report takes each step's
#      median and the largest memory growth.  4 rounds by default, so each
#      server goes first as often: on this VM the first client after a pause
#      pays for faulting in memory the guest had handed back to the host
#      (free page reporting: 3 GB touched took 5.3 s after an 8 s pause,
#      2.8-3.3 s right after the previous touch), i.e. a slower client
#   2. the same at 100,000 messages (BIG=1, the default; ~1 GB of mail)
#   3. IDLE sessions held at once (LOGIN, SELECT, IDLE): server RSS/PSS
#      per session, plaintext (both) and over implicit TLS (letterbox),
#      on empty INBOXes and on the 10k one
#   4. imaptest's default stress, 10 and 50 clients, 30 s each, when
#      IMAPTEST (default /work/imaptest-build/src/imaptest) exists
#   5. a Thunderbird-style full offline sync (offline_sync.py) of 240,000
#      messages in 100 folders (offline_corpus.py): LIST, STATUS of each,
#      SELECT, UID FETCH 1:* FLAGS, BODY.PEEK[] of all; the server's memory
#      growth and a probe session's NOOP round trips meanwhile
#
# Env: PARTS=steps,idle,stress,offline (which parts) OFFLINE_PER_FOLDER=2400 NMSG=10000 NMSG_BIG=100000 BIG=1 PEER=1 (0 = letterbox only)
#      ROUNDS=4 (1-4, rounds of the steps per mailbox size)
#      IDLE_COUNTS=1000,10000 (letterbox) PEER_IDLE_COUNTS=1000 (Dovecot: a
#      process each) TLS_IDLE_COUNTS=1000 (letterbox over IMAPS)
#      NOTIFY_IDLE_COUNTS=1000 (NOTIFY SET for all folders, then IDLE: idle_notify.py)
#      BIG_IDLE_COUNTS=200 (sessions idling on the 10k INBOX, both servers) STRESS_SECS=30 STRESS_CLIENTS=10,50
#      IMAP_PORT_BASE=33000 KEEP=0 (1 = keep the instance directory)
set -uo pipefail
BIN=${1:?usage: imap.sh BIN SHARED}
SHARED=${2:?usage: imap.sh BIN SHARED}
HERE=$(cd "$(dirname "$0")" && pwd)
NMSG=${NMSG:-10000}
NMSG_BIG=${NMSG_BIG:-100000}
BIG=${BIG:-1}
PEER=${PEER:-1}
IDLE_COUNTS=${IDLE_COUNTS:-1000,10000}
PEER_IDLE_COUNTS=${PEER_IDLE_COUNTS:-1000}
TLS_IDLE_COUNTS=${TLS_IDLE_COUNTS:-1000}
NOTIFY_IDLE_COUNTS=${NOTIFY_IDLE_COUNTS:-1000}
BIG_IDLE_COUNTS=${BIG_IDLE_COUNTS:-200}
PARTS=${PARTS:-steps,idle,stress,offline}
ROUNDS=${ROUNDS:-4}
OFFLINE_PER_FOLDER=${OFFLINE_PER_FOLDER:-2400}
STRESS_SECS=${STRESS_SECS:-30}
STRESS_CLIENTS=${STRESS_CLIENTS:-10,50}
IMAPTEST=${IMAPTEST:-/work/imaptest-build/src/imaptest}
PORT_BASE=${IMAP_PORT_BASE:-33000}
LB_PORT=$((PORT_BASE + 143))
DC_PORT=12143
PB_ROOT=/var/tmp/peerbench
PASS=pw
# Round r's mailboxes: a fresh copy each, so that every SELECT cold is cold.
SMALL_USERS=(u49 u46 u45 u44)	# the 10k mailbox
BIG_USERS=(u48 u43 u42 u41)	# the 100k mailbox
SMALL_USER=${SMALL_USERS[0]}
SYNC_USER=u47	# the 100-folder account of the offline sync
case $ROUNDS in 1|2|3|4) ;; *) echo "imap.sh: ROUNDS must be 1-4" >&2; exit 2;; esac

INST=$(mktemp -d /var/tmp/lbimap.XXXXXX)
chmod 755 "$INST"
LBPID=
PEER_UP=0
cleanup() {
	if [ -n "$LBPID" ]; then
		kill "$LBPID" 2>/dev/null
		wait "$LBPID" 2>/dev/null
	fi
	[ "$PEER_UP" = 1 ] && "$SHARED/peer-down.sh" >/dev/null 2>&1
	[ "${KEEP:-0}" = 1 ] && echo "imap: kept $INST" || rm -rf "$INST"
}
trap cleanup EXIT
# 5,000 sessions need 5,000 descriptors here and in the servers.
ulimit -n "$(ulimit -Hn)"

"$BIN" init "$INST/lb" --hostname bench.local --port-base "$PORT_BASE" >/dev/null 2>&1 || exit 1
CONF=$INST/lb/letterbox.conf
lb() { "$BIN" -c "$CONF" "$@"; }
lb domain add bench.test >/dev/null
for i in $(seq 0 49); do echo "$PASS" | lb user add "u$i@bench.test" >/dev/null; done
# The same hash scheme as the Dovecot side (SHA512-CRYPT): a login costs the
# same on both (yescrypt's ~0.1 s would dominate 5,000 IDLE logins).
python3 - "$INST/lb/letterbox.db" "$(openssl passwd -6 "$PASS")" <<'EOF' || exit 1
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE users SET password = ? WHERE email LIKE 'u%@bench.test'", (sys.argv[2],))
c.commit()
EOF
# Plain TCP on loopback as with Dovecot; every session comes from 127.0.0.1.
lb config set disable_plaintext_auth no >/dev/null
lb config set log_destination stderr >/dev/null
lb config set auth_failure_delay 0 >/dev/null
lb config set imap_max_connections 19000 >/dev/null
lb config set imaps_max_connections 19000 >/dev/null
lb config set imap_client_connection_count_limit 19000 >/dev/null
lb config get imap_user_connection_limit >/dev/null 2>&1 &&
	lb config set imap_user_connection_limit 19000 >/dev/null
OWNER=$(lb config get mail_owner)
LB_VMAIL=$INST/lb/vmail/bench.test
DC_VMAIL=$PB_ROOT/vmail/bench.test

corpus() {	# N SEED USER...: one corpus, linked into each USER's Maildir of both servers
	local n=$1 seed=$2 src u
	shift 2
	src=$INST/pristine/$1
	python3 - "$SHARED" "$src" "$n" "$seed" "$1@bench.test" "$OWNER" <<'EOF' || exit 1
import os, sys, time
t0 = time.time()
sys.path.insert(0, sys.argv[1])
import mailgen
md, n, seed, to, owner = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
b = mailgen.populate_maildir(md, n, seed, to)
mailgen.chown_tree(md, owner)
print("corpus: %d messages, %.1f MB in %s/new (%.1f s)" % (n, b / 1e6, md, time.time() - t0))
EOF
	for u in "$@"; do
		# The same files for both servers, linked before either renames them.
		mkdir -p "$LB_VMAIL/$u" "$INST/dc/$u"
		cp -al "$src/new" "$LB_VMAIL/$u/new"
		mkdir -p "$LB_VMAIL/$u/cur" "$LB_VMAIL/$u/tmp"
		chown "$OWNER" "$LB_VMAIL/$u" "$LB_VMAIL/$u/cur" "$LB_VMAIL/$u/tmp"
		cp -al "$src/new" "$INST/dc/$u/new"
	done
	# On disk before either server starts, as imap.py's own populate does
	# (os.sync): else the first server's SELECT cold, right after the
	# corpus, runs during the writeback of its ~100 MB (and its fsyncs
	# wait for that), while the second finds it written.
	sync
}

echo "== IMAP: letterbox and Dovecot on the same Maildirs"
[[ $PARTS == *steps* ]] || BIG=0
[[ $PARTS == *steps* ]] && corpus "$NMSG" 1 "${SMALL_USERS[@]:0:$ROUNDS}"
[ "$BIG" = 1 ] && corpus "$NMSG_BIG" 1 "${BIG_USERS[@]:0:$ROUNDS}"
if [[ $PARTS == *offline* ]]; then
	python3 "$HERE/offline_corpus.py" "$SHARED" "$LB_VMAIL/$SYNC_USER" "$OFFLINE_PER_FOLDER" \
	    "$SYNC_USER@bench.test" "$OWNER" || exit 1
	# Dovecot's copy: the same files, linked before letterbox renames them.
	mkdir -p "$INST/dc/$SYNC_USER"
	cp -al "$LB_VMAIL/$SYNC_USER/." "$INST/dc/$SYNC_USER/"
	sync	# as after corpus(): letterbox syncs first and must not meet the writeback
fi
# Every other user an empty Maildir, as after a first delivery (the IDLE
# sessions and imaptest use u0..u39).
for i in $(seq 0 46); do
	[ -d "$LB_VMAIL/u$i" ] && continue	# a round's copy of a corpus
	mkdir -p "$LB_VMAIL/u$i/cur" "$LB_VMAIL/u$i/new" "$LB_VMAIL/u$i/tmp"
	chown -R "$OWNER" "$LB_VMAIL/u$i"
done

RES=$INST/results.jsonl
: >"$RES"

wait_port() {	# PORT
	for _ in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" \
		    2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# imap.py on one mailbox with the server's memory sampled meanwhile.
steps() {	# SERVER PORT USER N ROOTPID ROUND
	local name=$1 port=$2 user=$3 n=$4 root=$5 round=$6 w r mem b p ba pa
	[[ $PARTS == *steps* ]] || return 0
	rm -f "$INST/mem"
	python3 "$HERE/memwatch.py" "$INST/mem" "$root" &
	w=$!
	sleep 0.3
	r=$(HOST=127.0.0.1 PORT=$port IMAP_USER=$user@bench.test PASS=$PASS NMSG=$n \
	    POPULATE=none python3 "$SHARED/imap.py" 2>"$INST/imap.err")
	kill -TERM "$w"; wait "$w"
	if [ -z "$r" ]; then
		echo "$name: imap.py failed ($n): $(tail -1 "$INST/imap.err")"
		return 1
	fi
	read -r b p ba pa <"$INST/mem"
	mem=$((p - b))
	echo "$name $n round $round: $r (server memory +${mem} kB, +$((pa - ba)) kB not mapped files)"
	echo "{\"server\": \"$name\", \"kind\": \"steps\", \"n\": $n, \"round\": $round, \"mem_kb\": $mem, \"anon_kb\": $((pa - ba)), \"r\": $r}" >>"$RES"
}

idle() {	# SERVER KIND(idle|idle_tls) PORT COUNTS ROOTPID...
	local name=$1 kind=$2 port=$3 counts=$4 line script=("$SHARED/idle.py") first=0 nusers=40
	shift 4
	[[ $PARTS == *idle* ]] || return 0
	[ "$kind" = idle_tls ] && script=("$HERE/idle_tls.py" "$SHARED")
	[ "$kind" = idle_notify ] && script=("$HERE/idle_notify.py" "$SHARED")
	# idle_10k: every session selects the 10k INBOX (what a session keeps of a big folder)
	[ "$kind" = idle_10k ] && { first=${SMALL_USER#u}; nusers=1; }
	HOST=127.0.0.1 PORT=$port USER_FIRST=$first NUSERS=$nusers COUNTS=$counts \
	    SERVER_PIDS="$*" SETTLE=2 \
	    timeout 900 python3 "${script[@]}" | while read -r line; do
		echo "$name $kind: $line"
		echo "{\"server\": \"$name\", \"kind\": \"$kind\", \"r\": $line}" >>"$RES"
	done
}

# imaptest's default random command mix with state checking (Dovecot's tool;
# not in the repo: built by hand, see README).
stress() {	# SERVER PORT
	local name=$1 port=$2 n out
	[[ $PARTS == *stress* ]] || return 0
	if [ ! -x "$IMAPTEST" ]; then
		echo "$name stress: skipped: no imaptest at $IMAPTEST (see README, Benchmarks)"
		return 0
	fi
	for n in ${STRESS_CLIENTS//,/ }; do
		out=$(LD_LIBRARY_PATH=/usr/lib/dovecot timeout $((STRESS_SECS + 60)) "$IMAPTEST" \
		    host=127.0.0.1 port="$port" user='u%d@bench.test' users=40 pass="$PASS" \
		    clients="$n" secs="$STRESS_SECS" box=INBOX \
		    mbox="$(dirname "$IMAPTEST")/tests/default.mbox" 2>&1)
		python3 "$HERE/imaptest_sum.py" "$name" "$n" "$STRESS_SECS" <<<"$out" | tee -a "$RES" |
		    sed "s/^/$name stress: /"
	done
}

# The full offline sync with the server's memory sampled meanwhile.
offline() {	# SERVER PORT ROOTPID
	local name=$1 port=$2 root=$3 w r b p
	[[ $PARTS == *offline* ]] || return 0
	rm -f "$INST/mem"
	python3 "$HERE/memwatch.py" "$INST/mem" "$root" &
	w=$!
	sleep 0.3
	r=$(HOST=127.0.0.1 PORT=$port SYNC_USER=$SYNC_USER@bench.test PROBE_USER=u0@bench.test \
	    PASS=$PASS timeout 1800 python3 "$HERE/offline_sync.py" 2>"$INST/offline.err")
	kill -TERM "$w"; wait "$w"
	if [ -z "$r" ]; then
		echo "$name offline: offline_sync.py failed: $(tail -1 "$INST/offline.err")"
		return 1
	fi
	read -r b p _ <"$INST/mem"
	echo "$name offline: $r (server memory +$((p - b)) kB)"
	echo "{\"server\": \"$name\", \"kind\": \"offline\", \"mem_kb\": $((p - b)), \"r\": $r}" >>"$RES"
}

lb_start() {
	"$BIN" -c "$CONF" serve 2>>"$INST/serve.log" &
	LBPID=$!
	wait_port "$LB_PORT" || { echo "imap: letterbox did not start"; tail -5 "$INST/serve.log"; exit 1; }
}
lb_stop() {
	kill "$LBPID"; wait "$LBPID" 2>/dev/null; LBPID=
}
# Each kind of IDLE sessions on a fresh letterbox process, as each Dovecot
# session is a fresh process: else the heap the previous kind freed (kept
# by malloc) holds the next kind's sessions and its growth reads ~0.
lb_idle() {	# KIND PORT COUNTS
	[[ $PARTS == *idle* ]] || return 0
	lb_stop
	lb_start
	idle letterbox "$1" "$2" "$3" "$LBPID"
}

# Both servers up from here; the Dovecot side only with PEER=1.
lb_start
DCPID=
if [ "$PEER" = 1 ]; then
	if [ -f "$PB_ROOT/peer.pids" ]; then
		echo "imap: a peer instance is already up ($PB_ROOT/peer.pids): skipping Dovecot"
	elif ! "$SHARED/peer-up.sh" >"$INST/peer-up.log" 2>&1; then
		echo "imap: peer-up failed:"; tail -5 "$INST/peer-up.log"
	else
		PEER_UP=1
		DCPID=$(tr -d ' \n' <"$PB_ROOT/dovecot/run/master.pid")
		# Dovecot makes the other users' Maildirs on their first login.
		mkdir -p "$DC_VMAIL"
		chown vmail:vmail "$DC_VMAIL"
		for d in "$INST"/dc/*; do
			[ -d "$d" ] || continue
			u=$(basename "$d")
			rm -rf "${DC_VMAIL:?}/$u"
			mv "$d" "$DC_VMAIL/$u"
			mkdir -p "$DC_VMAIL/$u/cur" "$DC_VMAIL/$u/tmp"
			chown -R vmail:vmail "$DC_VMAIL/$u"
		done
		wait_port "$DC_PORT" || { echo "imap: Dovecot did not start"; DCPID=; }
	fi
fi
echo "-- letterbox (127.0.0.1:$LB_PORT)${DCPID:+ and dovecot (127.0.0.1:$DC_PORT)}"

# The steps, round by round, the order alternating between the servers.
steps_rounds() {	# N USER...
	local n=$1 r=0 u
	shift
	for u in "$@"; do
		r=$((r + 1))
		if [ $((r % 2)) = 1 ] || [ -z "$DCPID" ]; then
			steps letterbox "$LB_PORT" "$u" "$n" "$LBPID" "$r"
			[ -n "$DCPID" ] && steps dovecot "$DC_PORT" "$u" "$n" "$DCPID" "$r"
		else
			steps dovecot "$DC_PORT" "$u" "$n" "$DCPID" "$r"
			steps letterbox "$LB_PORT" "$u" "$n" "$LBPID" "$r"
		fi
	done
}
steps_rounds "$NMSG" "${SMALL_USERS[@]:0:$ROUNDS}"
[ "$BIG" = 1 ] && steps_rounds "$NMSG_BIG" "${BIG_USERS[@]:0:$ROUNDS}"

[[ $PARTS == *steps* ]] &&
	echo "letterbox peak RSS after the steps: $(awk '/VmHWM/ {print $2" kB"}' /proc/$LBPID/status)"
lb_idle idle "$LB_PORT" "$IDLE_COUNTS"
lb_idle idle_tls "$((PORT_BASE + 993))" "$TLS_IDLE_COUNTS"
lb_idle idle_notify "$LB_PORT" "$NOTIFY_IDLE_COUNTS"
[[ $PARTS == *steps* ]] && lb_idle idle_10k "$LB_PORT" "$BIG_IDLE_COUNTS"
stress letterbox "$LB_PORT"
offline letterbox "$LB_PORT" "$LBPID"
echo "letterbox peak RSS: $(awk '/VmHWM/ {print $2" kB"}' /proc/$LBPID/status)"
lb_stop

if [ -n "$DCPID" ]; then
	idle dovecot idle "$DC_PORT" "$PEER_IDLE_COUNTS" "$DCPID"
	idle dovecot idle_notify "$DC_PORT" "$PEER_IDLE_COUNTS" "$DCPID"
	[[ $PARTS == *steps* ]] && idle dovecot idle_10k "$DC_PORT" "$BIG_IDLE_COUNTS" "$DCPID"
	stress dovecot "$DC_PORT"
	offline dovecot "$DC_PORT" "$DCPID"
fi
if [ "$PEER_UP" = 1 ]; then
	"$SHARED/peer-down.sh" >/dev/null 2>&1
	PEER_UP=0
	for u in "${SMALL_USERS[@]}" "${BIG_USERS[@]}" "$SYNC_USER"; do
		rm -rf "${DC_VMAIL:?}/$u"
	done
fi

python3 "$HERE/imap_report.py" "$RES"
