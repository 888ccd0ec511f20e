#!/bin/bash
# Fuzz the SSH surface after login (make check-stress; HACKING.md,
# "Fuzzing the SSH surface").  A daemon built with AddressSanitizer and
# UBSan (tests/stress/sshchatd-asan, and its shell) serves FUZZ_CLIENTS
# clients of tests/ssh-fuzz.py for FUZZ_SECONDS, each logging in again
# and again and sending random but well-framed SSH traffic, while a
# bystander (erin) keeps chatting and must get every answer within 20 s.
# Pass, afterwards:
#  - the daemon is up and a normal login (ssh carol@ who) works;
#  - no fuzz connection found its session hung (a global request left
#    unanswered for 10 s while the connection was up, or the session
#    still there 5 s after the connection closed);
#  - no session is left (sshchatctl stats: 0 sessions, 0 connections),
#    no shell is left under the zygote, the zygote is the one it started
#    with, the daemon's fds are back to the baseline and its threads
#    within the idle pool (32) of it;
#  - every LOGIN has its LOGOUT; no password in any log;
#  - none of the bugs the fuzzer found is back (tests/ssh-fuzz.py
#    cases, each done on purpose);
#  - SIGTERM stops it with status 0, and no sanitizer report (daemon,
#    zygote or shell: ASAN_OPTIONS=log_path) and no crash anywhere.
#
# Environment: FUZZ_SECONDS (140), FUZZ_CLIENTS (4), FUZZ_SEED (random,
# printed), FUZZ_REPLAY ("C:K ..."): instead of the timed run, replay
# connection K of client C for each pair, one after the other, under
# FUZZ_SEED; FUZZ_KEEP: keep the directory when the test passes.
# `tests/ssh-fuzz.py plan --seed S --client C --conn K`
# prints what such a connection sends.  On failure the state directory,
# the traces (one line per action) and the reports are kept and named.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
seconds=${FUZZ_SECONDS:-140}
clients=${FUZZ_CLIENTS:-4}
seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
replay=${FUZZ_REPLAY:-}
me=ssh-fuzz

# Debian's python3-paramiko is for /usr/bin/python3; a python3 earlier on
# PATH (pyenv, a venv) may not have it.
python=""
for p in /usr/bin/python3 "$(command -v python3)"; do
	if [ -x "$p" ] && "$p" -c 'import paramiko' 2>/dev/null; then
		python=$p
		break
	fi
done
if [ -z "$python" ]; then
	echo "SKIP: $me: python3 with paramiko (python3-paramiko) is not installed"
	exit 77
fi
for tool in ssh sshpass timeout; do
	command -v $tool >/dev/null ||
	    { echo "SKIP: $me: $tool is not installed"; exit 77; }
done
fuzzer=$top_srcdir/tests/ssh-fuzz.py
daemon=$top_builddir/tests/stress/sshchatd-asan
shell=$top_builddir/tests/stress/sshchat-shell-asan
ctl=${SSHCHATCTL:-$top_builddir/sshchatctl}
# make check-stress builds them; built here when the test runs alone.
make -s -C "$top_builddir" tests/stress/sshchatd-asan \
    tests/stress/sshchat-shell-asan >/dev/null ||
    { echo "FAIL: $me: cannot build the sanitizer daemon"; exit 1; }

unset SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY SSH_AUTH_SOCK
tmp=$(mktemp -d /tmp/sshchat-fuzz.XXXXXX)
dpid=""
pids=""
cleanup() {
	for p in $pids $dpid; do
		kill -KILL "$p" 2>/dev/null
	done
}
trap cleanup EXIT

fail() {
	echo "FAIL: $me: $*"
	echo "seed $seed: replay with FUZZ_SEED=$seed (and FUZZ_REPLAY=C:K for" \
	    "one connection K of client C, from the traces)"
	for f in "$tmp"/asan.* "$tmp"/ubsan.* "$tmp"/*/asan.* "$tmp"/*/ubsan.*; do
		[ -f "$f" ] && { echo "---- $f"; cat "$f"; }
	done
	echo "---- daemon stdout+stderr"; tail -50 "$tmp/daemon.out"
	echo "---- server.log (end)"; tail -60 "$tmp/state/server.log" 2>/dev/null
	for f in "$tmp"/trace-*.log; do
		[ -f "$f" ] && { echo "---- $f (end)"; tail -12 "$f" | cut -c1-300; }
	done
	echo "kept: $tmp (state/, trace-C.log per client, fuzz-C.out, asan.*)"
	trap - EXIT
	cleanup
	exit 1
}

# Sanitizer reports go to files, one per process (daemon, zygote,
# shells); an abort() is reported too.  Ours last: they win over the
# caller's.
asan_opts="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:handle_abort=1"
ubsan_opts="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1"
export SSHCHAT_SHELL=$shell
# Penalties and pre-auth caps off: what is fuzzed is after login.  A
# session the daemon lost track of before its shell (as in the bugs
# below) ends at LoginGraceTime at the latest: 20 s, not 60, so that the
# check for sessions left waits less.  As root it must be told to run
# the shells as root (sshchatd.conf(5), User).
grace=20

# serve DIR: a daemon on a port the kernel picks, its state in DIR/state,
# its output in DIR/daemon.out, the sanitizer reports of it and its
# shells in DIR/asan.PID; sets dpid and port.
serve() {
	local dir=$1
	mkdir -p -m 700 "$dir/state"
	cp "$top_srcdir/tests/users.csv" "$dir/users.csv"
	chmod 600 "$dir/users.csv"
	ASAN_OPTIONS="$asan_opts:log_path=$dir/asan" \
	UBSAN_OPTIONS="$ubsan_opts:log_path=$dir/ubsan" \
	"$daemon" -D -l 127.0.0.1 -p 0 -S "$dir/state" -u "$dir/users.csv" \
	    $([ "$(id -u)" -eq 0 ] && echo -o User=root) \
	    -o PenaltyAuthFail=0 -o PenaltyNoAuth=0 -o AccountAttackRate=0 \
	    -o MaxStartups=200 -o PerSourceMaxStartups=200 \
	    -o LoginGraceTime=$grace \
	    >"$dir/daemon.out" 2>&1 &
	dpid=$!
	port=""
	for _ in $(seq 300); do
		port=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' \
		    "$dir/daemon.out" 2>/dev/null)
		[ -n "$port" ] && return 0
		kill -0 $dpid 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

serve "$tmp" || fail "the daemon did not start"
echo "$me: seed $seed, $clients clients, ${seconds} s, port $port," \
    "daemon $daemon"

ssh_as() {
	local user=$1
	shift
	timeout -k 2 60 sshpass -p "$user-pw" ssh -F /dev/null \
	    -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
	    -o StrictHostKeyChecking=no -o PubkeyAuthentication=no \
	    -o LogLevel=ERROR -o NumberOfPasswordPrompts=1 -p "$port" \
	    "$user@127.0.0.1" "$@" </dev/null
}
# The number from "key":N in sshchatctl --json stats, or "".
ctl_stat() {
	timeout 20 "$ctl" -S "$tmp/state" --json stats 2>/dev/null |
	    sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
# Wait (bounded: LoginGraceTime and its jitter, and some) until no session
# and no connection is left.
drained() {
	local i s c
	for i in $(seq $(((grace * 11 / 10 + 10) * 4))); do
		s=$(ctl_stat sessions)
		c=$(ctl_stat connections)
		[ "$s" = 0 ] && [ "$c" = 0 ] && return 0
		sleep 0.25
	done
	echo "sessions ${s:-?}, connections ${c:-?}"
	return 1
}
fds() { ls "/proc/$dpid/fd" 2>/dev/null | wc -l; }
threads() { sed -n 's/^Threads:[[:space:]]*//p' "/proc/$dpid/status"; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$dpid/status"; }
zygote() { pgrep -P "$dpid" | head -1; }

# The baseline, once a message was stored (the store keeps its files open
# from then on).
out=$(ssh_as olduser msg bob warm-up 2>&1) || fail "warm-up login: $out"
why=$(drained) || fail "after the warm-up: $why"
fd0=$(fds)
thr0=$(threads)
rss0=$(rss)
zyg0=$(zygote)

# bystander DIR SECS: erin chatting until DIR/stop exists (or SECS);
# sets bpid once it logged in.
bystander() {
	"$python" "$fuzzer" bystander --port "$port" --seconds "$2" \
	    --stop "$1/stop" --limit 20 >"$1/bystander.out" 2>&1 &
	bpid=$!
	pids="$pids $bpid"
	for _ in $(seq 600); do
		grep -q "logged in" "$1/bystander.out" && return 0
		kill -0 $bpid 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
bystander "$tmp" $((seconds + 300)) ||
    fail "the bystander did not log in: $(cat "$tmp/bystander.out")"

t0=$(date +%s)
fpids=""
if [ -n "$replay" ]; then
	(
		for ck in $replay; do
			"$python" "$fuzzer" fuzz --port "$port" --seed "$seed" \
			    --client "${ck%%:*}" --conn "${ck#*:}" \
			    --server-log "$tmp/state/server.log" \
			    --trace "$tmp/trace-${ck%%:*}.log" || exit 1
		done
	) >"$tmp/fuzz-replay.out" 2>&1 &
	fpids=$!
else
	for c in $(seq 0 $((clients - 1))); do
		timeout -k 5 $((seconds + 120)) "$python" "$fuzzer" fuzz \
		    --port "$port" --seed "$seed" --client "$c" \
		    --seconds "$seconds" --trace "$tmp/trace-$c.log" \
		    --server-log "$tmp/state/server.log" \
		    >"$tmp/fuzz-$c.out" 2>&1 &
		fpids="$fpids $!"
	done
fi
pids="$pids $fpids"
fuzz_failed=0
for p in $fpids; do
	wait "$p" || fuzz_failed=1
done
t1=$(date +%s)
cat "$tmp"/fuzz-*.out
kill -0 $dpid 2>/dev/null || fail "the daemon died during the fuzz"
[ "$fuzz_failed" = 0 ] || fail "a fuzz client failed (above)"
touch "$tmp/stop"
wait $bpid
bst=$?
cat "$tmp/bystander.out"
[ "$bst" = 0 ] || fail "the bystander stopped getting answers"

# The bugs the fuzzer found, each done on purpose (tests/ssh-fuzz.py,
# BUGS): a fixed one that comes back fails; an open one (reported, not
# fixed yet) is reported.
open_bugs=""
replays=""
cases=$("$python" "$fuzzer" cases) || fail "cannot list the cases"
while read -r case state kind how; do
	if [ "$kind" = replay ]; then
		replays="$replays $case:$state:$how"
		continue
	fi
	"$python" "$fuzzer" case "$case" --port "$port" --pid "$dpid" \
	    --server-log "$tmp/state/server.log" >"$tmp/case-$case.out" 2>&1
	cst=$?
	cat "$tmp/case-$case.out"
	case $cst:$state in
	0:*) ;;
	2:open) open_bugs="$open_bugs $case" ;;
	2:*) fail "case $case: the bug is back" ;;
	*) fail "case $case did not run" ;;
	esac
done <<EOF
$cases
EOF
out=$(ssh_as carol who 2>&1) || fail "a normal login after the fuzz: $out"
case $out in
*carol*) ;;
*) fail "who after the fuzz shows no carol: $out" ;;
esac
why=$(drained) || fail "sessions left after the fuzz: $why"
for _ in $(seq 60); do
	[ -z "$(pgrep -P "${zyg0:-0}")" ] && break
	sleep 0.25
done
left=$(pgrep -P "${zyg0:-0}" | tr '\n' ' ')
[ -z "$left" ] || fail "shells left under the zygote: $left"
[ "$(zygote)" = "$zyg0" ] ||
    fail "the zygote changed: $zyg0 before, $(zygote) after"
for _ in $(seq 60); do
	[ "$(fds)" -le "$fd0" ] && break
	sleep 0.25
done
fd1=$(fds)
[ "$fd1" -le "$fd0" ] || {
	ls -l "/proc/$dpid/fd"
	fail "the daemon has $fd1 fds open, $fd0 before the fuzz"
}
thr1=$(threads)
[ "$thr1" -le $((thr0 + 32)) ] ||
    fail "the daemon has $thr1 threads, $thr0 before (idle pool: 32)"
rss1=$(rss)
logins=$(ctl_stat logins)

kill -TERM $dpid
st=0
wait $dpid || st=$?
dpid=""
[ "$st" = 0 ] || fail "daemon exit status $st after SIGTERM"
for f in "$tmp"/asan.* "$tmp"/ubsan.*; do
	[ -f "$f" ] && fail "a sanitizer report: $f"
done
for f in "$tmp/daemon.out" "$tmp/state/server.log"; do
	if grep -E -a -q 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation|SUMMARY: .*Sanitizer' "$f"; then
		fail "$f shows a sanitizer report or a crash"
	fi
done
ev=$tmp/state/server_events.log
ins=$(sed -n 's/^[^ ]* LOGIN .* session=\([0-9]*\).*/\1/p' "$ev" | sort -u)
outs=$(sed -n 's/^[^ ]* LOGOUT .*session=\([0-9]*\).*/\1/p' "$ev" | sort -u)
[ "$ins" = "$outs" ] || fail "LOGIN without LOGOUT (or the other way):" \
    "$(comm -3 <(echo "$ins") <(echo "$outs") | tr '\n\t' '  ')"
for pw in alice-pw bob-pw carol-pw dave-pw erin-pw frank-pw olduser-pw; do
	grep -a -q -- "$pw" "$ev" "$tmp/state/server.log" &&
	    fail "a password ($pw) appears in a log"
done

# The crashes that need a whole fuzz connection's timing: that
# connection again, against a fresh daemon after a warm-up login and with
# the bystander, up to three times.  Returns 2 when the daemon crashed.
replay_case() {
	local name=$1 seed_=$2 client=$3 conn=$4 i d st
	for i in 1 2 3; do
		d=$tmp/case-$name-$i
		serve "$d" || fail "case $name: the daemon did not start"
		ssh_as olduser msg bob warm-up >/dev/null 2>&1
		bystander "$d" 120 || fail "case $name: no bystander"
		sleep 2		# its first answers, as when it was found
		"$python" "$fuzzer" fuzz --port "$port" --seed "$seed_" \
		    --client "$client" --conn "$conn" --trace "$d/trace.log" \
		    >"$d/fuzz.out" 2>&1
		sleep 1
		touch "$d/stop"
		if kill -0 $dpid 2>/dev/null; then
			wait $bpid
			kill -TERM $dpid
			wait $dpid
			dpid=""
			if ! ls "$d"/asan.* "$d"/ubsan.* >/dev/null 2>&1; then
				continue
			fi
		else
			wait $dpid
			dpid=""
			kill $bpid 2>/dev/null
			wait $bpid
		fi
		echo "case $name, attempt $i: the daemon crashed:"
		cat "$d"/asan.* "$d"/ubsan.* 2>/dev/null | grep -a -m 12 \
		    -E 'ERROR: |SUMMARY|^    #[0-9] '
		return 2
	done
	echo "case $name: no crash in $((i)) attempts"
	return 0
}
for r in $replays; do
	IFS=: read -r case state rs rc rk <<EOF
$r
EOF
	replay_case "$case" "$rs" "$rc" "$rk"
	case $?:$state in
	0:*) ;;
	2:open) open_bugs="$open_bugs $case" ;;
	*) fail "case $case: the bug is back (replay: FUZZ_SEED=$rs" \
	    "FUZZ_REPLAY=$rc:$rk)" ;;
	esac
done
[ -z "$open_bugs" ] ||
    echo "$me: OPEN BUGS reproduced:$open_bugs (tests/ssh-fuzz.py, BUGS" \
        "and OPEN; HACKING.md, \"Fuzzing the SSH surface\")"
echo "$me: PASS: seed $seed, $((t1 - t0)) s of fuzz, $logins logins," \
    "$(echo "$ins" | grep -c .) sessions logged in and out;" \
    "daemon fds $fd0 -> $fd1, threads $thr0 -> $thr1, RSS ${rss0} -> ${rss1} kB"
trap - EXIT
if [ -n "${FUZZ_KEEP:-}" ]; then
	echo "kept: $tmp"
else
	rm -rf "$tmp"
fi
exit 0
