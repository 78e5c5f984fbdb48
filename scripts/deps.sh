#!/bin/sh
# Install the Debian packages letterbox needs to build and test, only those missing.
# Runs as root (CI, fresh machines); as another user it uses sudo when available.
set -e
PKGS="build-essential pkg-config libevent-dev libssl-dev libsqlite3-dev libcrypt-dev libidn2-dev
 openssl python3 swaks curl clang libclang-rt-14-dev fail2ban dnsmasq-base
 libmariadb-dev mariadb-server postgresql libpq-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# Keep apt from starting system services (mariadb, postgresql, dnsmasq): the
# tests start their own servers in temporary directories.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# "env" works with or without sudo in front: `$SUDO -E apt-get` with an
# empty $SUDO would run a command named "-E".
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
