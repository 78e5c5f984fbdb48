#!/bin/bash
# Run the README's `make test` on a fresh clone inside a bare Debian 12 root,
# as a new user or a fresh hosted CI runner would see it.  This is what CI
# runs (.ci/run) and what `make test-fresh` runs by hand; the last line is the
# suite's own "N passed, M failed".
#
# The bare root is debootstrap's minbase plus build-essential, git, python3 and
# ca-certificates, nothing else: every other package must come from the repo's
# own scripts/deps.sh, so a missing install step fails here.  The root is built
# once and cached under /var/tmp/letterbox-ci/, keyed by everything that goes
# into it (suite, mirror, package list); each run works on a throw-away overlay
# of it (or a copy where overlayfs is unavailable), so no run sees another's
# installs.
#
#   scripts/test-fresh.sh [REPO]     REPO defaults to this checkout; its HEAD is tested
# Env: LB_CI_CACHE (cache dir), LB_CI_KEEP=1 (keep the run's root for a look),
#      LB_CI_CMD (command run in the clone; default "make test").
set -euo pipefail

REPO=$(cd "${1:-$(dirname "$0")/..}" && pwd)
SUITE=bookworm
INCLUDE=build-essential,git,python3,ca-certificates
CACHE=${LB_CI_CACHE:-/var/tmp/letterbox-ci}
CMD=${LB_CI_CMD:-make test}

[ "$(id -u)" = 0 ] || { echo "test-fresh: needs root (debootstrap, chroot, mounts)" >&2; exit 77; }

log() { echo "test-fresh: $*" >&2; }

# The Debian mirror (and security mirror) this machine's own apt uses, from
# either one-line sources.list entries or deb822 .sources files.
apt_uris() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
}
MIRROR=$(apt_uris | grep -E '/debian/?$' | head -1 || true)
SECURITY=$(apt_uris | grep -E '/debian-security/?$' | head -1 || true)
MIRROR=${MIRROR%/}
SECURITY=${SECURITY%/}
[ -n "$MIRROR" ] || { log "no Debian mirror in /etc/apt/sources*"; exit 69; }

if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap on the host"
	env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

KEY=$(printf '%s\n' "$SUITE" minbase "$INCLUDE" "$MIRROR" "$SECURITY" v2 | sha256sum | cut -c1-16)
BASE=$CACHE/base-$KEY
mkdir -p "$CACHE"

# Build the cached base root once: debootstrap into a temporary name, then
# rename, so an interrupted build is never mistaken for a finished one.
if [ ! -e "$BASE/.complete" ]; then
	log "building the bare $SUITE root ($INCLUDE) from $MIRROR"
	rm -rf "$BASE.tmp" "$BASE"
	t0=$(date +%s)
	if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$BASE.tmp" "$MIRROR" \
		>"$CACHE/debootstrap-$KEY.log" 2>&1; then
		tail -20 "$CACHE/debootstrap-$KEY.log" >&2
		log "debootstrap failed"
		exit 69
	fi
	{
		echo "deb $MIRROR $SUITE main"
		echo "deb $MIRROR $SUITE-updates main"
		[ -z "$SECURITY" ] || echo "deb $SECURITY $SUITE-security main"
	} >"$BASE.tmp/etc/apt/sources.list"
	# The host's apt settings for reaching its mirror (proxies, a snapshot
	# mirror whose Release files are past Valid-Until), nothing else.
	for f in /etc/apt/apt.conf.d/*; do
		[ -f "$f" ] && grep -qE 'Acquire::|Proxy' "$f" && cp "$f" "$BASE.tmp/etc/apt/apt.conf.d/"
	done
	rm -rf "$BASE.tmp"/var/cache/apt/archives/*.deb
	touch "$BASE.tmp/.complete"
	mv "$BASE.tmp" "$BASE"
	log "bare root ready in $(( $(date +%s) - t0 )) s: $BASE"
fi

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
ROOT=$RUN/root
mkdir -p "$ROOT" "$RUN/upper" "$RUN/work"
mounts=()
cleanup() {
	local rc=$? pid m i
	# Anything still running inside the root was started by this run.
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		[ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "$pid" 2>/dev/null
	done
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		m=${mounts[$i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if [ "${LB_CI_KEEP:-0}" = 1 ]; then
		log "kept $RUN"
	else
		rm -rf "$RUN"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$RUN/upper,workdir=$RUN/work" "$ROOT" 2>/dev/null; then
	mounts+=("$ROOT")
else
	log "no overlayfs here; copying the root"
	cp -a "$BASE/." "$ROOT/"
fi
mount -t proc proc "$ROOT/proc" && mounts+=("$ROOT/proc")
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys" && mounts+=("$ROOT/sys")
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev" && mounts+=("$ROOT/dev")
mkdir -p "$ROOT/dev/shm"
mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm" && mounts+=("$ROOT/dev/shm")
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp /etc/hosts "$ROOT/etc/hosts"

# A fresh clone of the committed HEAD, as a new user would get it.
rev=$(git -C "$REPO" rev-parse HEAD)
git clone -q --no-hardlinks "$REPO" "$ROOT/root/letterbox"
git -C "$ROOT/root/letterbox" checkout -q "$rev"
log "testing $rev in a bare $SUITE root: $CMD"

set +e
chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -c "cd /root/letterbox && $CMD" </dev/null
rc=$?
set -e
exit $rc
