#!/bin/bash
# The Debian package, end to end, as an operator meets it: build it from a
# copy of the tree (make distdir, dpkg-buildpackage -us -uc -b), lintian
# (no errors; every warning explained in debian/README.source), dpkg -i,
# check what the install made (system user, conffile, users file mode,
# unit enabled and not started, logrotate, fail2ban jail off), sshchatd -t
# with the packaged config, start the daemon the way the unit's ExecStart
# and User= would (no systemd here) from a copy of the packaged config on
# a free port, log a user in with the stock ssh, remove (state kept),
# purge (state gone), and check that nothing the package installed is
# left.  Root only (dpkg -i); it installs the tools it lacks with apt-get
# and skips (77) naming them when it cannot.  Never port 2222, never the
# build tree's daemon: a make check running beside it is not disturbed.
set -u

top_builddir=${top_builddir:-$PWD}
top_srcdir=${top_srcdir:-$top_builddir}
PKG=sshchat
STATE=/var/lib/sshchatd
UNIT=/lib/systemd/system/sshchatd.service
WANTS=/etc/systemd/system/multi-user.target.wants/sshchatd.service

fail() {
	echo "package: FAIL: $*"
	exit 1
}

skip() {
	echo "package: SKIP: $*"
	exit 77
}

step() {
	echo "package: $*"
}

# Tool -> the Debian package that has it.
declare -A tools=(
	[dpkg-buildpackage]=dpkg-dev [dpkg-checkbuilddeps]=dpkg-dev
	[dh]=debhelper [lintian]=lintian [fakeroot]=fakeroot
	[sshpass]=sshpass [ssh]=openssh-client [openssl]=openssl
	[setpriv]=util-linux [adduser]=adduser [timeout]=coreutils
)
missing=()
for t in "${!tools[@]}"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		missing+=("${tools[$t]}")
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	skip "dpkg -i needs root${missing[*]:+; missing too: ${missing[*]}}"
fi
if [ "${#missing[@]}" -gt 0 ]; then
	step "installing ${missing[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) \
	    >/dev/null || skip "apt-get install ${missing[*]} failed"
fi

# One package test at a time on this machine; never over an install that
# is not ours.
exec 9>/tmp/sshchat-package-test.lock
flock -w 600 9 || fail "another package test holds the lock for 10 minutes"
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed; then
	skip "package $PKG is already installed here; not touching it"
fi

# Run from make check, make's variables (TESTS=tests/package.sh among
# them, in MAKEFLAGS) would reach the package build's own make check-unit
# and run this test again inside it.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES TESTS

tmp=$(mktemp -d /tmp/sshchat-package.XXXXXX)
daemon_pid=
user_existed=no
if getent passwd _sshchat >/dev/null; then
	user_existed=yes
fi
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null |
	    grep -q 'installed\|config-files'; then
		dpkg --purge "$PKG" >/dev/null 2>&1
	fi
	if [ "$user_existed" = no ] && getent passwd _sshchat >/dev/null; then
		userdel _sshchat >/dev/null 2>&1
		getent group _sshchat >/dev/null && groupdel _sshchat
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

version=$("${SSHCHATD:-$top_builddir/sshchatd}" -V | awk '{print $2}')
[ -n "$version" ] || fail "sshchatd -V printed no version"

step "copying the tree (make distdir) to $tmp"
src=$tmp/$PKG-$version
make -s -C "$top_builddir" distdir distdir="$src" >"$tmp/distdir.log" 2>&1 ||
	{ cat "$tmp/distdir.log"; fail "make distdir"; }
cd "$src" || fail "cd $src"

if ! dpkg-checkbuilddeps >"$tmp/deps.log" 2>&1; then
	deps=$(sed -n 's/.*Unmet build dependencies: //p' "$tmp/deps.log" |
	    sed 's/([^)]*)//g; s/|[^ ]*//g')
	step "installing build dependencies: $deps"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $deps >/dev/null ||
		skip "build dependencies missing: $deps"
fi

step "dpkg-buildpackage -us -uc -b"
start=$(date +%s)
if ! timeout 900 dpkg-buildpackage -us -uc -b -j2 >"$tmp/build.log" 2>&1; then
	tail -40 "$tmp/build.log"
	for log in $(grep -l '^:test-result: \(FAIL\|ERROR\)' \
	    "$src"/tests/unit/*.trs 2>/dev/null); do
		cat "${log%.trs}.log"
	done
	fail "dpkg-buildpackage"
fi
step "built in $(($(date +%s) - start)) s"
deb=$(ls "$tmp"/${PKG}_"$version"-*_*.deb 2>/dev/null | head -1)
changes=$(ls "$tmp"/${PKG}_"$version"-*_*.changes 2>/dev/null | head -1)
[ -f "$deb" ] || fail "no ${PKG}_${version}-*.deb in $tmp"
case $deb in
*_"$(dpkg --print-architecture)".deb) ;;
*) fail "$deb: not for $(dpkg --print-architecture)" ;;
esac

step "lintian $(basename "$changes")"
lintian --tag-display-limit 0 "$changes" >"$tmp/lintian.log" 2>&1
cat "$tmp/lintian.log"
if grep -q '^E: ' "$tmp/lintian.log"; then
	fail "lintian reports errors"
fi
for tag in $(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$tmp/lintian.log" |
    sort -u); do
	grep -q -- "$tag" "$src/debian/README.source" ||
		fail "lintian warning $tag is neither fixed nor explained in debian/README.source"
done

step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "dpkg -i"; }
installed=$tmp/installed.list
dpkg -L "$PKG" | sort >"$installed"

# What the install made.
pw=$(getent passwd _sshchat) || fail "no system user _sshchat"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] || fail "_sshchat uid $uid is not a system uid"
[ "$home" = "$STATE" ] || fail "_sshchat home is $home, not $STATE"
[ "$shell" = /usr/sbin/nologin ] || fail "_sshchat shell is $shell"
dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q ' /etc/sshchat/sshchatd.conf ' ||
	fail "/etc/sshchat/sshchatd.conf is not a conffile"
[ "$(stat -c '%a %U %G' "$STATE")" = "700 _sshchat _sshchat" ] ||
	fail "$STATE: $(stat -c '%a %U %G' "$STATE")"
[ "$(stat -c '%a %U %G' "$STATE/UserRecords.csv")" = "600 _sshchat _sshchat" ] ||
	fail "UserRecords.csv: $(stat -c '%a %U %G' "$STATE/UserRecords.csv")"
[ "$(cat "$STATE/UserRecords.csv")" = username,password,role ] ||
	fail "UserRecords.csv is not empty (header only)"
[ -f "$UNIT" ] || fail "no $UNIT"
[ -L "$WANTS" ] || fail "the unit is not enabled ($WANTS)"
if pgrep -x sshchatd -u _sshchat >/dev/null; then
	fail "the install started the daemon (it must wait for a user)"
fi
[ -f /etc/logrotate.d/$PKG ] || fail "no /etc/logrotate.d/$PKG"
if command -v logrotate >/dev/null; then
	logrotate -d /etc/logrotate.d/$PKG >"$tmp/logrotate.log" 2>&1 ||
		{ cat "$tmp/logrotate.log"; fail "logrotate -d"; }
fi
[ -f /etc/fail2ban/filter.d/sshchatd.conf ] || fail "no fail2ban filter"
grep -q '^enabled *= *false' /etc/fail2ban/jail.d/sshchatd.conf ||
	fail "the fail2ban jail is not off by default"
for page in sshchatd.8 sshchatd.conf.5 sshchatctl.8 sshchat-users.5; do
	grep -q "/usr/share/man/.*/$page.gz$" "$installed" ||
		fail "man page $page not installed"
done

as_daemon() {
	setpriv --reuid=_sshchat --regid=_sshchat --init-groups "$@"
}

step "sshchatd -t with the packaged config"
out=$(as_daemon /usr/sbin/sshchatd -t -f /etc/sshchat/sshchatd.conf 2>&1) ||
	fail "sshchatd -t: $out"
echo "$out"
case $out in
*"configuration OK: 0 users in $STATE/UserRecords.csv"*) ;;
*) fail "sshchatd -t did not read the packaged users file" ;;
esac

# The operator adds a user (as README.md says) ...
pass=tester-pw-$RANDOM
hash=$(openssl passwd -6 "$pass") || fail "openssl passwd"
printf 'tester,%s,user\n' "$hash" >>"$STATE/UserRecords.csv"

# ... and the daemon runs as the unit runs it, from a copy of the
# packaged config that listens on a free port (Port 0: the daemon picks
# one and says which).
cp /etc/sshchat/sshchatd.conf "$tmp/test.conf"
printf '\nPort 0\n' >>"$tmp/test.conf"
chmod 755 "$tmp"
chmod 644 "$tmp/test.conf"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
[ -n "$exec_start" ] || fail "no ExecStart in $UNIT"
umask_unit=$(sed -n 's/^UMask=//p' "$UNIT")
read -r -a cmd <<<"${exec_start//\/etc\/sshchat\/sshchatd.conf/$tmp/test.conf}"
[ "${cmd[0]}" = /usr/sbin/sshchatd ] || fail "ExecStart runs ${cmd[0]}"
step "starting ${cmd[*]} as _sshchat"
(umask "${umask_unit:-0077}" && exec setpriv --reuid=_sshchat \
    --regid=_sshchat --init-groups "${cmd[@]}") >"$tmp/daemon.out" 2>&1 &
daemon_pid=$!
port=
for _ in $(seq 300); do
	port=$(sed -n 's/^sshchatd listening on .* port \([0-9]*\)$/\1/p' \
	    "$tmp/daemon.out")
	[ -n "$port" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/daemon.out"; fail "no listening line in 30 s"; }
[ "$port" != 2222 ] || fail "listening on 2222"
step "listening on port $port"
[ "$(stat -c %U /proc/"$daemon_pid")" = _sshchat ] ||
	fail "the daemon does not run as _sshchat"

step "ssh tester@127.0.0.1 -p $port who"
out=$(SSHPASS=$pass timeout 30 sshpass -e ssh -F /dev/null \
    -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no \
    -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
    -o BatchMode=no -p "$port" tester@127.0.0.1 who 2>&1) ||
	fail "ssh who: $out"
echo "$out"
case $out in
*tester*) ;;
*) fail "who did not list tester" ;;
esac
grep -q ' LOGIN user=tester ' "$STATE/server_events.log" ||
	fail "no LOGIN line in server_events.log"
if grep -rqF "$pass" "$STATE"/*.log; then
	fail "the password is in a log"
fi
[ "$(stat -c '%a %U' "$STATE/ssh_host_ed25519_key")" = "600 _sshchat" ] ||
	fail "host key: $(stat -c '%a %U' "$STATE/ssh_host_ed25519_key")"

kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
[ "$rc" -eq 0 ] || { cat "$tmp/daemon.out"; fail "the daemon exited $rc on SIGTERM"; }

step "dpkg --remove: the state stays"
dpkg --remove "$PKG" >"$tmp/remove.log" 2>&1 ||
	{ cat "$tmp/remove.log"; fail "dpkg --remove"; }
for f in UserRecords.csv messages.db ssh_host_ed25519_key server_events.log; do
	[ -e "$STATE/$f" ] || fail "remove deleted $STATE/$f"
done
[ -f /etc/sshchat/sshchatd.conf ] || fail "remove deleted the conffile"
[ ! -e /usr/sbin/sshchatd ] || fail "remove left /usr/sbin/sshchatd"

step "dpkg --purge: nothing left but the system user"
dpkg --purge "$PKG" >"$tmp/purge.log" 2>&1 ||
	{ cat "$tmp/purge.log"; fail "dpkg --purge"; }
for p in "$STATE" /etc/sshchat "$WANTS" /etc/logrotate.d/$PKG \
    /etc/fail2ban/filter.d/sshchatd.conf /etc/fail2ban/jail.d/sshchatd.conf \
    /var/lib/systemd/deb-systemd-helper-enabled/sshchatd.service.dsh-also; do
	[ ! -e "$p" ] && [ ! -L "$p" ] || fail "purge left $p"
done
while read -r f; do
	# Directories other packages share (/usr/bin, /etc/fail2ban ...) stay.
	if [ -e "$f" ] && [ ! -d "$f" ]; then
		fail "purge left $f"
	fi
	if [ -d "$f" ] && ! dpkg -S "$f" >/dev/null 2>&1 &&
	    [ -z "$(ls -A "$f")" ]; then
		fail "purge left the empty directory $f"
	fi
done <"$installed"
getent passwd _sshchat >/dev/null ||
	fail "purge removed the system user (Debian keeps it)"
step "PASS"
exit 0
