#!/bin/sh
# Install the Debian packages a make target needs, only those missing.
#
#   scripts/deps.sh build|run|test|bench|fuzz ...
#
# Every external program a target calls is listed under that target, with
# the reason, so that a fresh Debian 12 (debootstrap minbase + build-essential,
# git, python3, ca-certificates; see scripts/test-fresh.sh) gets all of it.
# Runs as root (CI, fresh machines); as another user it uses sudo.
set -e

# Libraries the daemon links (pkg-config names in the Makefile's PKGS).
BUILD="build-essential pkg-config libevent-dev libssl-dev libsqlite3-dev libcrypt-dev
 libidn2-dev libmariadb-dev libpq-dev zlib1g-dev"

# make run: the build only (init makes the certificate with libssl).
RUN="$BUILD"

# make test: the clients and servers the end-to-end tests drive.
#   python3            tests/e2e (smtplib, poplib, ssl)
#   swaks + libnet-ssleay-perl   test_smtp/test_submission; swaks needs Net::SSLeay for --tls
#   curl               pop3:// and smtp:// with --ssl-reqd
#   openssl            s_client (STARTTLS injection, certificate checks)
#   sqlite3            test_admin inserts rows by hand, as an admin would
#   fail2ban           fail2ban-regex against contrib/fail2ban
#   mariadb-server, postgresql (with psql)   real servers started in temp dirs
#   clang, libclang-rt-14-dev   the libFuzzer smoke run of fuzz/
#   isync (mbsync), mutt + tmux, fetchmail   real IMAP clients (test_imap_clients)
#   libsasl2-modules   mbsync's SASL PLAIN (a Recommends, which --no-install-recommends skips;
#                      without it mbsync falls back to LOGIN)
TEST="$BUILD python3 swaks libnet-ssleay-perl curl openssl sqlite3 fail2ban
 mariadb-server mariadb-client postgresql postgresql-client clang libclang-rt-14-dev
 isync libsasl2-modules mutt tmux fetchmail"

# make bench: the peers measured in the same run (../shared/bench/), and the
# SQL servers for bench/sql.sh.  smtp-source comes with postfix.
BENCH="$BUILD python3 sqlite3 postfix postfix-sqlite dovecot-imapd dovecot-pop3d
 dovecot-sqlite mariadb-server mariadb-client postgresql postgresql-client"

# make fuzz: libFuzzer (clang + its runtime) over the same libraries.
FUZZ="$BUILD clang libclang-rt-14-dev"

[ $# -gt 0 ] || set -- build
PKGS=""
for t in "$@"; do
	case "$t" in
	build) PKGS="$PKGS $BUILD" ;;
	run) PKGS="$PKGS $RUN" ;;
	test) PKGS="$PKGS $TEST" ;;
	bench) PKGS="$PKGS $BENCH" ;;
	fuzz) PKGS="$PKGS $FUZZ" ;;
	*) echo "usage: $0 build|run|test|bench|fuzz ..." >&2; exit 64 ;;
	esac
done

missing=""
for p in $(echo $PKGS | tr ' ' '\n' | sort -u); do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo; install:$missing" >&2; exit 77; }
	SUDO="sudo"
fi
# Keep apt from starting system services (mariadb, postgresql, postfix,
# dovecot): the tests and benches start their own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# postfix asks debconf questions; answer them for a loopback-only peer.
if echo "$missing" | grep -q postfix; then
	printf 'postfix postfix/main_mailer_type select No configuration\n' | $SUDO debconf-set-selections
fi
# "env" works with or without sudo in front: `$SUDO -E apt-get` with an
# empty $SUDO would run a command named "-E".
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
