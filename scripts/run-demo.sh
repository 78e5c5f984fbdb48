#!/bin/sh
# make run: a demo instance serving on 127.0.0.1 with ports 10000 + standard.
# The instance lives in ./demo, unless root runs this in a checkout that the
# mail owner (vmail) could not reach (a clone under /root, mode 0700): then it
# goes to /var/lib/letterbox-demo, because the daemon drops to vmail and must
# still reach its Maildirs and queue.
set -e
BIN=${BIN:-build/letterbox}
DEMO=${DEMO:-}
reachable_by_others() {	# every directory from / down to $1 is o+x
	d=$(cd "$1" && pwd)
	while [ "$d" != / ]; do
		[ "$(( 0$(stat -c %a "$d") & 01 ))" -ne 0 ] || return 1
		d=$(dirname "$d")
	done
}
if [ -z "$DEMO" ]; then
	DEMO=demo
	if [ "$(id -u)" = 0 ] && ! reachable_by_others .; then
		DEMO=/var/lib/letterbox-demo
		echo "demo: $(pwd) is not reachable by the mail owner; using $DEMO"
	fi
fi
if [ ! -f "$DEMO/letterbox.conf" ]; then
	"$BIN" init "$DEMO" --hostname mail.example.test --port-base 10000 --admin demo@example.test
	"$BIN" -c "$DEMO/letterbox.conf" domain add example.test
	echo demo | "$BIN" -c "$DEMO/letterbox.conf" user add demo@example.test
fi
echo "demo: $DEMO; user demo@example.test, password demo; SMTP 127.0.0.1:10025, submission 10587, IMAP 10143/10993 (folders only so far), POP3 10110"
exec "$BIN" -c "$DEMO/letterbox.conf" serve
