#!/bin/sh
# sshchat quick start.
#
#   ./quickstart.sh          install what is missing, build, and run the
#                            server on 127.0.0.1:2222 with the demo users
#   ./quickstart.sh check    the same set-up, then run the whole test suite
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the script prints the apt-get line to run and stops.
set -eu

cd "$(dirname "$0")"
mode=${1:-run}
case $mode in
run|check) ;;
*) echo "usage: $0 [check]" >&2; exit 2 ;;
esac

# Build tools, libraries, and what the tests drive (the real ssh client).
# libpq-dev gives the daemon Store postgresql (configure finds it).
packages="build-essential autoconf automake pkg-config libssh-dev \
libreadline-dev libsqlite3-dev libssl-dev libcrypt-dev libncurses-dev \
libpq-dev \
expect openssh-client sshpass mandoc sqlite3 iproute2 procps ssh-audit \
python3-paramiko"
# What only the test suite needs and a plain run does not: promtool
# (tests/metrics.exp) comes in the large prometheus package, and the
# PostgreSQL server for the tests' private clusters (tests/pg-cluster.sh)
# in postgresql.
if [ "$mode" = check ]; then
	packages="$packages prometheus postgresql"
fi

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "quickstart: installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing
	else
		echo "quickstart: missing packages; run as root:" >&2
		echo "  apt-get install$missing" >&2
		exit 1
	fi
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] ||
    [ Makefile.am -nt Makefile.in ]; then
	./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	./configure ${CONFIGURE_FLAGS:-}
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"

if [ "$mode" = check ]; then
	exec make -j"$jobs" check
fi

# The demo users file must not be readable by others.
chmod 600 UserRecords.csv
mkdir -p state
chmod 700 state
echo "quickstart: demo users alice/wonderland, bob/builder, carol/christmas"
echo "quickstart: try: ssh -p 2222 alice@localhost   (Ctrl-C here stops the server)"
# As root the daemon wants User named (sshchatd.conf(5)): this demo on
# the loopback address runs its shells as you; a real server names an
# unprivileged account (the Debian package's is _sshchat).
as_user=""
if [ "$(id -u)" -eq 0 ]; then
	as_user="-o User=root"
fi
# shellcheck disable=SC2086
exec ./sshchatd -D -l 127.0.0.1 -p 2222 -u UserRecords.csv -S state $as_user
