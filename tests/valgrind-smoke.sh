#!/bin/sh
# Valgrind smoke run: the daemon under memcheck serves a few logins,
# messages and an admin command, then stops on SIGTERM.  Fails on any
# memcheck error or definite leak in the daemon.  Run by .ci/run.
#
#   tests/valgrind-smoke.sh [BUILDDIR]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top}
command -v valgrind >/dev/null || { echo "valgrind-smoke: valgrind missing: SKIP"; exit 77; }
command -v sshpass >/dev/null || { echo "valgrind-smoke: sshpass missing: SKIP"; exit 77; }

# The client uses neither the host's ssh configuration (-F /dev/null, no
# known hosts files) nor the caller's askpass program or agent.
unset SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY SSH_AUTH_SOCK

tmp=$(mktemp -d /tmp/sshchat-vg.XXXXXX)
trap 'kill -KILL $vpid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/state"
cp "$top/tests/users.csv" "$tmp/users.csv"
chmod 600 "$tmp/users.csv"

valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --error-exitcode=99 --log-file="$tmp/vg.log" \
    "$build/sshchatd" -D -l 127.0.0.1 -p 0 -S "$tmp/state" -u "$tmp/users.csv" \
    -o LogLevel=debug $([ "$(id -u)" -eq 0 ] && echo -o User=root) \
    >"$tmp/out" 2>&1 &
vpid=$!
port=""
i=0
while [ $i -lt 600 ] && [ -z "$port" ]; do
	port=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' "$tmp/out")
	i=$((i + 1))
	sleep 0.1
done
if [ -z "$port" ]; then
	echo "valgrind-smoke: the daemon did not start"; cat "$tmp/out" "$tmp/vg.log"
	exit 1
fi

ssh_as() {
	user=$1 pass=$2
	shift 2
	timeout 120 sshpass -p "$pass" ssh -F /dev/null -o UserKnownHostsFile=/dev/null \
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o PubkeyAuthentication=no -o LogLevel=ERROR \
	    -p "$port" "$user@127.0.0.1" "$@"
}

fail=0
# Plaintext legacy account: no yescrypt under valgrind, which is slow.
ssh_as olduser olduser-pw who >"$tmp/r1" 2>&1 || fail=1
ssh_as olduser olduser-pw msg alice hello from valgrind >"$tmp/r2" 2>&1 || fail=1
printf 'who\nmsg alice second\nhistory\nbogus\n' |
    ssh_as olduser olduser-pw -T >"$tmp/r3" 2>&1
ssh_as olduser wrong who >/dev/null 2>&1 && fail=1
timeout 60 "$build/sshchatctl" -S "$tmp/state" stats >"$tmp/r4" 2>&1 || fail=1
grep -q "queued" "$tmp/r2" || { echo "valgrind-smoke: msg not acknowledged"; cat "$tmp/r2"; fail=1; }

kill -TERM $vpid
wait $vpid
status=$?
vpid=""
if [ $status -ne 0 ] || [ -s "$tmp/vg.log" ]; then
	echo "valgrind-smoke: daemon exit status $status"
	cat "$tmp/vg.log"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "valgrind-smoke: FAIL"
	cat "$tmp/r1" "$tmp/r2" "$tmp/r3" "$tmp/r4"
	exit 1
fi
echo "valgrind-smoke: PASS (no memcheck errors, no definite leaks)"
