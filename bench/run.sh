#!/bin/bash
# bench/run.sh: run the standard sshchat benchmark scenarios against a fresh
# sshchatd per scenario (throwaway state directory, generated users file),
# optionally against OpenSSH's sshd too, and print one table.
#
#   bench/run.sh [--quick] [--plaintext] [--sshd] [--scale] [--no-stock]
#                [--json FILE] [--keep]
#
# It builds nothing: it runs $BENCH (default ./sshchat-bench, else
# /tmp/sshchat-bench) and $SSHCHATD (default ./sshchatd) from the top of the
# build tree.  Loopback only.  Every step is bounded in count and time.
#
#   --quick      the ~30-second subset (what `make bench-smoke` runs)
#   --plaintext  legacy plaintext passwords only (no yescrypt login rows)
#   --sshd       also run login and mem against OpenSSH's sshd on a spare
#                loopback port with its own config and throwaway users
#                (root only; installs openssh-server if it is missing)
#   --sshd-only  only the sshd rows
#   --scale      also hold 3,000 idle sessions (about 2-3 minutes more)
#   --no-stock   skip the stock ssh client time-to-prompt rows (expect)
#   --json FILE  write every result as one JSON object a line to FILE
#   --keep       keep the temporary directory (logs) for a post-mortem
#   --only RE    run only the rows whose label matches the regex RE
#
# Copyright the sshchat authors.  GPL-3.0-or-later.

# bash is needed (arrays, /dev/tcp, $RANDOM): `sh run.sh` re-runs itself.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

quick=0 plaintext_only=0 with_sshd=0 sshd_only=0 scale=0 stock=1 json_out="" keep=0 only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--plaintext) plaintext_only=1 ;;
	--sshd) with_sshd=1 ;;
	--sshd-only) with_sshd=1 sshd_only=1 ;;
	--scale) scale=1 ;;
	--no-stock) stock=0 ;;
	--json) json_out="$2"; shift ;;
	--keep) keep=1 ;;
	--only) only="$2"; shift ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done

# Programs: $BENCH, $SSHCHATD, $SSHCHAT_SHELL, else the current directory
# (the build directory under make), else the top of the source tree.
top=$(cd "$(dirname "$0")/.." && pwd)
find_prog() {	# name
	if [ -x "./$1" ]; then echo "$PWD/$1"
	elif [ -x "$top/$1" ]; then echo "$top/$1"
	elif [ "$1" = sshchat-bench ] && [ -x /tmp/sshchat-bench ]; then echo /tmp/sshchat-bench
	else echo "$top/$1"; fi
}
BENCH=${BENCH:-$(find_prog sshchat-bench)}
SSHCHATD=${SSHCHATD:-$(find_prog sshchatd)}
[ -x "$BENCH" ] || { echo "run.sh: no load generator at $BENCH (make sshchat-bench, or set BENCH)" >&2; exit 2; }
[ -x "$SSHCHATD" ] || { echo "run.sh: no daemon at $SSHCHATD (make, or set SSHCHATD)" >&2; exit 2; }

SSHCHAT_SHELL=${SSHCHAT_SHELL:-$(find_prog sshchat-shell)}
[ -x "$SSHCHAT_SHELL" ] || { echo "run.sh: no shell at $SSHCHAT_SHELL (make, or set SSHCHAT_SHELL)" >&2; exit 2; }

PW=benchpw
SSHD_PREFIX=sshchbench
SSHD_NUSERS=8
tmp=$(mktemp -d /tmp/sshchat-bench.XXXXXX)
results=$tmp/results.jsonl
: >"$results"
daemon_pid="" sshd_pid="" sshd_users=""

log() { printf '%s\n' "$*" >&2; }

cleanup() {
	local u pids
	[ -n "$daemon_pid" ] && stop_daemon
	if [ -n "$sshd_pid" ]; then
		kill -TERM "$sshd_pid" 2>/dev/null
		wait "$sshd_pid" 2>/dev/null
		sshd_pid=""
	fi
	for u in $sshd_users; do
		# sessions the bench opened as this throwaway user, by pid
		pids=$(pgrep -u "$u" 2>/dev/null | tr '\n' ' ')
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		userdel "$u" 2>/dev/null || log "run.sh: could not remove user $u"
	done
	sshd_users=""
	if [ "$keep" = 1 ]; then
		log "run.sh: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One fd per session in the daemon (socket, PTY master, shell socket), a
# few per session here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ---- snapshot the programs: the tree may be rebuilt while this runs,
# and one run must measure one build.
mkdir -p "$tmp/bin"
cp "$SSHCHATD" "$tmp/bin/sshchatd" && cp "$SSHCHAT_SHELL" "$tmp/bin/sshchat-shell" &&
    cp "$BENCH" "$tmp/bin/sshchat-bench" || { echo "run.sh: cannot copy the programs" >&2; exit 2; }
SSHCHATD=$tmp/bin/sshchatd BENCH=$tmp/bin/sshchat-bench

# ---- users files: generate the hash once, reuse it for every account.
if [ $quick = 1 ]; then nusers=200; else nusers=1000; fi
[ $scale = 1 ] && nusers=3000
if command -v mkpasswd >/dev/null 2>&1; then
	HASH=$(printf '%s\n' "$PW" | mkpasswd -m yescrypt -s)
	hashname=yescrypt
else
	HASH=$(openssl passwd -6 "$PW")
	hashname=sha512crypt
	log "run.sh: mkpasswd (Debian package whois) not found; using openssl passwd -6"
fi
make_users() {	# file password
	{
		echo "username,password,role"
		awk -v n="$nusers" -v pw="$2" 'BEGIN {
			for (i = 0; i < n; i++) printf "bench%d,%s,user\n", i, pw
			printf "benchadmin,%s,admin\n", pw }'
	} >"$1"
	chmod 600 "$1"
}
make_users "$tmp/users-hash.csv" "$HASH"
make_users "$tmp/users-plain.csv" "$PW"

# ---- daemon config: raise only the limits a load from one loopback
# address trips over (pre-auth caps, per-user message rate), and only
# keywords this daemon knows.
known=$("$SSHCHATD" -T -f /dev/null 2>/dev/null | awk '{print $1}')
: >"$tmp/sshchatd.conf"
for kv in "ShellPath $tmp/bin/sshchat-shell" "ShutdownGraceTime 0" \
    "MaxStartups 200:30:400" "PerSourceMaxStartups 200" \
    "PenaltyNoAuth 0" "PenaltyAuthFail 0" "MaxSessions 10000" \
    "MessageRate 1000000" "MessageBurst 1000000"; do
	if printf '%s\n' "$known" | grep -qx "${kv%% *}"; then
		echo "$kv" >>"$tmp/sshchatd.conf"
	fi
done

# As root, today's daemon wants User named; one from before that change
# (a base to compare with) refuses User root instead: ask the binary.
as_root=()
if [ "$(id -u)" -eq 0 ] && grep -q 'started as root with no User' "$SSHCHATD"; then
	as_root=(-o User=root)
fi
run_no=0
start_daemon() {	# users-file; sets daemon_pid, port
	local i
	run_no=$((run_no + 1))
	local dir=$tmp/d$run_no
	mkdir -p "$dir"
	"$SSHCHATD" -D -p 0 -S "$dir/state" -u "$1" -l 127.0.0.1 \
	    -f "$tmp/sshchatd.conf" "${as_root[@]}" >"$dir/out" 2>&1 &
	daemon_pid=$!
	port=""
	for i in $(seq 100); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$dir/out" | head -1)
		[ -n "$port" ] && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	log "run.sh: sshchatd did not start:"; tail -5 "$dir/out" >&2
	daemon_pid=""
	return 1
}

stop_daemon() {
	local i
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null
	for i in $(seq 150); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=""
	# Its shells may still be exiting (1,000 after fanout): the next
	# row starts once they are gone, not while the kernel reaps them.
	for i in $(seq 100); do
		pgrep -f "^$tmp/bin/sshchat-shell" >/dev/null || break
		sleep 0.1
	done
}

# Wait (at most 30 s) until the CPUs were at least 90% idle over half a
# second: what the last row left behind (its sessions' exits, sshd's 200
# logouts, the last run's) must not be measured with this one.
quiet() {
	local i a b
	for i in $(seq 60); do
		a=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
		sleep 0.5
		b=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
		set -- $a $b
		if [ $(($4 - $2)) -gt 0 ] &&
		    [ $(( ($3 - $1) * 100 / ($4 - $2) )) -ge 90 ]; then
			return 0
		fi
	done
	log "run.sh: the CPUs did not go quiet within 30 s; measuring anyway"
}

# Is the row LABEL wanted (--only)?
want() {
	[ -z "$only" ] || printf '%s\n' "$1" | grep -Eq -- "$only"
}

# bench LABEL SCENARIO ARGS...: against the running sshchatd or sshd.
bench() {
	local label=$1; shift
	local out
	want "$label" || return 0
	quiet
	log "run.sh: $label: $BENCH $*"
	if out=$("$BENCH" "$@" --label "$label" --json); then
		printf '%s\n' "$out" >>"$results"
	else
		log "run.sh: $label failed"
		printf '{"scenario":"%s","label":"%s","run_failed":1}\n' "$1" \
		    "$label" >>"$results"
	fi
}

# bench_chat LABEL USERSFILE SCENARIO ARGS...: a fresh sshchatd for it.
bench_chat() {
	local label=$1 users=$2; shift 2
	want "$label" || return 0
	if start_daemon "$users"; then
		bench "$label" "$@" -P "$port" --pid "$daemon_pid"
		stop_daemon
	fi
}

# ---- stock OpenSSH client: time from `ssh` to the first prompt.
stock_prompt() {	# label port user-prefix nusers count
	local label=$1 p=$2 prefix=$3 nu=$4 count=$5
	want "$label" || return 0
	command -v expect >/dev/null && command -v ssh >/dev/null || {
		log "run.sh: no expect/ssh: skipping $label"; return 0; }
	quiet
	log "run.sh: $label: stock ssh client, $count logins"
	expect - "$label" "$p" "$prefix" "$nu" "$count" "$PW" >>"$results" <<'EOF'
log_user 0
set timeout 20
lassign $argv label port prefix nu count pw
set tot {}; set pre {}; set post {}; set fails 0
for {set i 0} {$i < $count} {incr i} {
	set user $prefix[expr {$i % $nu}]
	set t0 [clock microseconds]
	spawn ssh -F /dev/null -p $port -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
	    -o PubkeyAuthentication=no -o PreferredAuthentications=password \
	    -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR -t $user@127.0.0.1
	set ok 0
	expect {
		-nocase "password:" {
			set t1 [clock microseconds]
			send -- "$pw\r"
			expect {
				"$user> " { set ok 1 }
				timeout {} eof {}
			}
		}
		timeout {} eof {}
	}
	set t2 [clock microseconds]
	if {$ok} {
		lappend tot [expr {($t2 - $t0) / 1000.0}]
		lappend pre [expr {($t1 - $t0) / 1000.0}]
		lappend post [expr {($t2 - $t1) / 1000.0}]
	} else {
		incr fails
	}
	catch {close}
	catch {wait}
}
proc pct {l q} {
	if {[llength $l] == 0} { return null }
	set s [lsort -real $l]
	set i [expr {int(ceil($q / 100.0 * [llength $s])) - 1}]
	if {$i < 0} { set i 0 }
	return [format %.2f [lindex $s $i]]
}
puts [format {{"scenario":"stock-ssh","label":"%s","logins":%d,"failed":%d,"prompt_p50_ms":%s,"prompt_max_ms":%s,"to_password_prompt_p50_ms":%s,"password_to_prompt_p50_ms":%s}} \
    $label [llength $tot] $fails [pct $tot 50] [pct $tot 100] [pct $pre 50] [pct $post 50]]
EOF
}

# ---- OpenSSH sshd on a spare loopback port, throwaway users.
spare_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return 0; }
	done
	return 1
}

start_sshd() {	# sets sshd_pid, sshd_port
	local d=$tmp/sshd i u
	if [ "$(id -u)" != 0 ]; then
		log "run.sh: --sshd needs root (it adds throwaway users): skipped"
		return 1
	fi
	if [ ! -x /usr/sbin/sshd ]; then
		log "run.sh: installing openssh-server"
		DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-server >&2 || return 1
	fi
	for i in $(seq 0 $((SSHD_NUSERS - 1))); do
		if id "$SSHD_PREFIX$i" >/dev/null 2>&1; then
			log "run.sh: user $SSHD_PREFIX$i exists already; not touching it, sshd skipped"
			return 1
		fi
	done
	mkdir -p "$d/home" /run/sshd
	chmod 755 "$tmp" "$d" "$d/home"
	chmod 755 /run/sshd
	for i in $(seq 0 $((SSHD_NUSERS - 1))); do
		u=$SSHD_PREFIX$i
		useradd -M -N -d "$d/home" -s /bin/sh -p "$HASH" "$u" || return 1
		sshd_users="$sshd_users $u"
	done
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey" || return 1
	sshd_port=$(spare_port) || return 1
	cat >"$d/sshd_config" <<EOF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $d/hostkey
PidFile $d/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
AllowUsers $SSHD_PREFIX*
PrintMotd no
PrintLastLog no
UseDNS no
StrictModes no
MaxStartups 200:30:400
LoginGraceTime 30
LogLevel ERROR
ForceCommand env PS1="\$USER> " /bin/sh -i
EOF
	/usr/sbin/sshd -t -f "$d/sshd_config" || return 1
	/usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/log" &
	sshd_pid=$!
	for i in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/$sshd_port) 2>/dev/null && return 0
		sleep 0.1
	done
	log "run.sh: sshd did not start"; cat "$d/log" >&2
	return 1
}

# Typed once at the first prompt by every bench user where the label says
# notices-off (only if this daemon has the setting).
# (A daemon without the setting answers with an error line: harmless.)
QUIET=(--setup "set notices off")

# ---- the scenarios
T0=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ $quick = 1 ]; then
	P=$tmp/users-plain.csv
	bench_chat "login c=1 plaintext" "$P" login -n 6 -c 1 -T 15
	bench_chat "login c=4 plaintext" "$P" login -n 8 -c 4 -T 15
	bench_chat "mem K=10" "$P" mem -k 10 -c 4 --settle 1 -T 20
	bench_chat "latency N=10 P=5 R=50/s" "$P" latency -u 10 -p 5 -r 50 -d 3 -c 4 -T 20
	bench_chat "fanout N=16" "$P" fanout -u 16 -k 5 -g 100 -c 4 -T 20
	bench_chat "durable S=8" "$P" durable -s 8 -m 50 -c 4 -T 20
elif [ $sshd_only = 0 ]; then
	H=$tmp/users-hash.csv P=$tmp/users-plain.csv
	if [ $plaintext_only = 0 ]; then
		bench_chat "login c=1 $hashname" "$H" login -n 16 -c 1 -T 60
		bench_chat "login c=4 $hashname" "$H" login -n 32 -c 4 -T 60
	fi
	# 100 logins: CPU time comes in 10 ms ticks, ~3 ms a login.
	bench_chat "login c=1 plaintext" "$P" login -n 100 -c 1 -T 60
	bench_chat "login c=4 plaintext" "$P" login -n 100 -c 4 -T 60
	bench_chat "login c=1 plaintext client-NODELAY" "$P" login -n 100 -c 1 --nodelay -T 60
	bench_chat "login c=4 plaintext 200 online" "$P" login -n 32 -c 4 -b 200 -T 120
	if [ $stock = 1 ]; then
		if [ $plaintext_only = 0 ] && start_daemon "$H"; then
			stock_prompt "stock ssh to prompt $hashname" "$port" bench 100 8
			stop_daemon
		fi
		if start_daemon "$P"; then
			stock_prompt "stock ssh to prompt plaintext" "$port" bench 100 8
			stop_daemon
		fi
	fi
	bench_chat "mem K=200" "$P" mem -k 200 -c 8 -T 120
	bench_chat "latency N=200 P=50 R=200/s" "$P" latency -u 200 -p 50 -r 200 -d 8 -c 8 -T 120
	# Join notices cost O(online) per login; the ramp-up of 1,000 users
	# would be O(N^2), so these users turn them off (the "200 online" login
	# row above measures that cost).  The broadcast itself is unaffected.
	bench_chat "fanout N=1000 notices-off" "$P" fanout -u 1000 -k 20 -c 8 -T 240 "${QUIET[@]}"
	bench_chat "durable S=50" "$P" durable -s 50 -m 200 -c 8 -T 60
	if [ $scale = 1 ]; then
		bench_chat "mem K=3000 notices-off" "$P" mem -k 3000 -c 8 -T 600 --settle 5 "${QUIET[@]}"
		bench_chat "latency N=2000 P=50 R=200/s notices-off" "$P" latency -u 2000 -p 50 -r 200 -d 10 -c 8 -T 600 "${QUIET[@]}"
		bench_chat "login c=4 plaintext 2000 online notices-off" "$P" login -n 32 -c 4 -b 2000 -T 600 "${QUIET[@]}"
	fi
fi
if [ $quick = 0 ] && [ $with_sshd = 1 ]; then
	if start_sshd; then
		S="-P $sshd_port --pid $sshd_pid --prefix $SSHD_PREFIX --nusers $SSHD_NUSERS"
		bench "sshd login c=1 $hashname" login -n 16 -c 1 -T 60 $S
		bench "sshd login c=4 $hashname" login -n 32 -c 4 -T 60 $S
		[ $stock = 1 ] && stock_prompt "sshd stock ssh to prompt $hashname" "$sshd_port" "$SSHD_PREFIX" "$SSHD_NUSERS" 8
		bench "sshd mem K=200" mem -k 200 -c 8 -T 180 $S
	fi
fi
elapsed=$(( $(date +%s) - T0 ))
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table
[ -n "$json_out" ] && cp "$results" "$json_out"
awk -v elapsed="$elapsed" -v load0="$load0" -v load1="$load1" \
    -v ncpu="$(nproc)" '
function num(k,   v) { v = f[k]; return v == "" || v == "null" ? "-" : v }
function row(server, what, figs) {
	printf "%-9s %-40s %s\n", server, what, figs
}
{
	delete f
	line = $0
	gsub(/^\{|\}$/, "", line)
	n = split(line, kv, ",")
	for (i = 1; i <= n; i++) {
		split(kv[i], p, ":")
		k = p[1]; gsub(/"/, "", k)
		v = substr(kv[i], length(p[1]) + 2); gsub(/"/, "", v)
		f[k] = v
	}
	lab = f["label"]; sc = f["scenario"]
	server = "sshchatd"
	if (lab ~ /^sshd /) { server = "sshd"; sub(/^sshd /, "", lab) }
	if (f["run_failed"] == 1) { row(server, lab, "FAILED"); next }
	if (sc == "login") {
		row(server, lab, sprintf("%s logins/s  p50 %s ms  p99 %s ms  cpu/login %s ms  (kex %s, auth %s, shell->prompt %s ms)",
		    num("logins_per_s"), num("login_p50_ms"), num("login_p99_ms"),
		    num("server_cpu_per_login_ms"), num("tcp_kex_p50_ms"),
		    num("auth_p50_ms"), num("to_prompt_p50_ms")))
		cpu[server, lab] = f["server_cpu_per_login_ms"]; rate[server, lab] = f["logins_per_s"]
	} else if (sc == "stock-ssh") {
		row(server, lab, sprintf("p50 %s ms  max %s ms  (to password prompt %s, password to prompt %s ms; %s ok, %s failed)",
		    num("prompt_p50_ms"), num("prompt_max_ms"),
		    num("to_password_prompt_p50_ms"), num("password_to_prompt_p50_ms"),
		    num("logins"), num("failed")))
		stockp[server] = f["prompt_p50_ms"]
	} else if (sc == "mem") {
		row(server, lab, sprintf("%s KB/session PSS (marginal %s; server %s + children %s KB/session; %s sessions)",
		    num("pss_per_session_kb"), num("pss_marginal_per_session_kb"),
		    num("daemon_pss_per_session_kb"), num("child_pss_per_session_kb"),
		    num("sessions")))
		mem[server, lab] = f["pss_per_session_kb"]
	} else if (sc == "latency") {
		row(server, lab, sprintf("p50 %s  p90 %s  p99 %s  max %s ms  (%s sent, %s lost, %s errors; server %s us/msg; bench %s%% cpu)",
		    num("lat_p50_ms"), num("lat_p90_ms"), num("lat_p99_ms"),
		    num("lat_max_ms"), num("sent"), num("lost"), num("errors"),
		    num("server_cpu_per_msg_us"), num("bench_cpu_pct")))
	} else if (sc == "fanout") {
		row(server, lab, sprintf("last receiver p50 %s  p99 %s  max %s ms  (first %s ms; %s rounds, %s incomplete; server %s us/delivery)",
		    num("fanout_p50_ms"), num("fanout_p99_ms"), num("fanout_max_ms"),
		    num("first_recv_p50_ms"), num("rounds"), num("incomplete_rounds"),
		    num("server_cpu_per_delivery_us")))
	} else if (sc == "durable") {
		row(server, lab, sprintf("%s acked msgs/s  ack p50 %s  p99 %s ms  (%s acked, %s errors; server %s us/msg)",
		    num("acked_per_s"), num("ack_p50_ms"), num("ack_p99_ms"),
		    num("acked"), num("errors"), num("server_cpu_per_msg_us")))
	}
}
END {
	for (key in cpu) {
		split(key, a, SUBSEP)
		if (a[1] == "sshd" && ("sshchatd", a[2]) in cpu && cpu[key] > 0 && cpu["sshchatd", a[2]] > 0)
			ratios = ratios sprintf("  %s: server CPU/login sshd/sshchatd = %.1fx, logins/s sshchatd/sshd = %.1fx\n",
			    a[2], cpu[key] / cpu["sshchatd", a[2]], rate["sshchatd", a[2]] / rate[key])
	}
	for (key in mem) {
		split(key, a, SUBSEP)
		if (a[1] == "sshd" && ("sshchatd", a[2]) in mem && mem["sshchatd", a[2]] > 0)
			ratios = ratios sprintf("  %s: PSS/session sshd/sshchatd = %.1fx\n", a[2], mem[key] / mem["sshchatd", a[2]])
	}
	if (ratios != "") printf "ratios (one run, one machine):\n%s", ratios
	printf "(run took %d s; load average %s at the start, %s at the end, %d cpus)\n", elapsed, load0, load1, ncpu
	split(load0, l0, " "); split(load1, l1, " ")
	if (l0[1] > ncpu || l1[1] > ncpu)
		printf "warning: the machine was busy with other work; absolute figures are noisy, ratios less so\n"
}' "$results"
