# Helpers shared by the expect tests.  Each test starts its own daemon on
# a port the kernel picks, in its own state directory, drives the real
# OpenSSH client, and scans the daemon's logs when it ends.  Every expect
# handles timeout and eof with a message saying what it waited for.

set timeout 10
log_user [expr {[info exists env(VERBOSE)] ? 1 : 0}]

set srcdir $env(top_srcdir)
set builddir $env(top_builddir)
set sshchatd $env(SSHCHATD)
set test_name [file rootname [file tail $argv0]]
set tmpdir ""
set daemon_pid 0
set daemon_id ""
set port 0
# The client as every test runs it: no configuration of the host's (-F
# /dev/null skips ~/.ssh/config and /etc/ssh/ssh_config), and no known
# hosts of the host's either: a key for [127.0.0.1]:port (or a wildcard,
# @revoked or @cert-authority line) in /etc/ssh/ssh_known_hosts would
# otherwise make ssh warn, refuse, or disable password authentication.
set ssh_opts [list -F /dev/null -o UserKnownHostsFile=/dev/null \
	-o GlobalKnownHostsFile=/dev/null \
	-o StrictHostKeyChecking=no -o PubkeyAuthentication=no \
	-o LogLevel=ERROR -o NumberOfPasswordPrompts=3 -o SetEnv=NO_COLOR=1]

# Nothing of the caller's session reaches the clients: with
# SSH_ASKPASS_REQUIRE=force (or SSH_ASKPASS and DISPLAY set and no
# terminal) ssh would ask a program for the password instead of the
# terminal expect and sshpass answer on; an agent is never used.
foreach v {SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY SSH_AUTH_SOCK} {
	unset -nocomplain env($v)
}

# Started as root, the daemon refuses to run the chat shells as root
# unless User says so (sshchatd.conf(5)): the tests, which run as root
# in CI, say so through a wrapper, so every way they start it does.
proc root_wrapper {} {
	global sshchatd
	if {[exec id -u] != 0} {
		return
	}
	set w [make_tmpdir]/sshchatd-as-root
	set fh [open $w w 0700]
	puts $fh "#!/bin/sh\nexec '$sshchatd' -o User=root \"\$@\""
	close $fh
	set sshchatd $w
}

proc make_tmpdir {} {
	global tmpdir
	if {$tmpdir eq ""} {
		set tmpdir [exec mktemp -d /tmp/sshchat-test.XXXXXX]
		file mkdir $tmpdir/state
		file attributes $tmpdir/state -permissions 0700
	}
	return $tmpdir
}

root_wrapper

# The test users file, copied so a test may edit it.
proc users_file {} {
	global srcdir
	set dir [make_tmpdir]
	if {![file exists $dir/users.csv]} {
		file copy $srcdir/tests/users.csv $dir/users.csv
		file attributes $dir/users.csv -permissions 0600
	}
	return $dir/users.csv
}

proc dump_logs {} {
	global tmpdir
	foreach f {server.log server_events.log} {
		if {$tmpdir ne "" && [file exists $tmpdir/state/$f]} {
			puts "---- $f ----"
			puts [read_file $tmpdir/state/$f]
		}
	}
}

proc read_file {path} {
	set fh [open $path r]
	set data [read $fh]
	close $fh
	return $data
}

proc fail {msg} {
	global test_name
	puts "FAIL: $test_name: $msg"
	dump_logs
	stop_daemon
	pg_stop
	exit 1
}

# Start sshchatd with extra arguments; sets ::port from its readiness line.
proc start_daemon {args} {
	global sshchatd daemon_pid daemon_id port
	set dir [make_tmpdir]
	set users [users_file]
	set daemon_pid [spawn $sshchatd -D -l 127.0.0.1 -p 0 -S $dir/state \
		-u $users {*}$args]
	set daemon_id $spawn_id
	expect {
		-i $daemon_id
		-re {listening on 127.0.0.1 port ([0-9]+)} {
			set port $expect_out(1,string)
		}
		timeout { fail "daemon did not say it was listening" }
		eof { fail "daemon exited at start: $expect_out(buffer)" }
	}
	return $daemon_id
}

# Stop the daemon with SIGTERM and wait for it; returns its exit status.
proc stop_daemon {} {
	global daemon_pid daemon_id
	if {$daemon_pid == 0} {
		return 0
	}
	set pid $daemon_pid
	set daemon_pid 0
	catch {exec kill -TERM $pid}
	set timeout 15
	expect {
		-i $daemon_id
		eof {}
		timeout { catch {exec kill -KILL $pid}; puts "daemon did not stop on SIGTERM" }
	}
	set status [wait -i $daemon_id]
	return [lindex $status 3]
}

# Log in with the stock ssh client on a terminal; returns the spawn id,
# positioned after the first prompt (login_seen, below, also returns what
# came before it).
proc login {user pass args} {
	return [lindex [login_seen $user $pass {*}$args] 0]
}

# Expect exact text (must) or a regexp (must_re) on spawn id, or fail
# saying what was awaited.
proc must {id text what} {
	expect {
		-i $id
		-ex $text {}
		timeout { fail "timed out waiting for $what" }
		eof { fail "connection closed waiting for $what" }
	}
}

proc must_re {id pattern what} {
	expect {
		-i $id
		-re $pattern {}
		timeout { fail "timed out waiting for $what" }
		eof { fail "connection closed waiting for $what" }
	}
}

# Type a line as a person would.
proc type {id text} {
	send -i $id "$text\r"
}

proc logout {id user} {
	type $id "logout"
	must $id "Goodbye, $user." "goodbye for $user"
	expect {
		-i $id
		eof {}
		timeout { fail "session of $user did not close after logout" }
	}
	catch {wait -i $id}
}

# Run one command through ssh without a terminal; returns
# {exit_status stdout+stderr}.
proc ssh_exec {user pass args} {
	global ssh_opts port
	set rc [catch {exec sshpass -p $pass ssh {*}$ssh_opts -p $port \
		$user@127.0.0.1 {*}$args 2>@1} out opts]
	set status 0
	if {$rc != 0} {
		set status [lindex [dict get $opts -errorcode] 2]
		if {$status eq ""} { set status 1 }
	}
	return [list $status $out]
}

proc events {} {
	global tmpdir
	return [read_file $tmpdir/state/server_events.log]
}

proc server_log {} {
	global tmpdir
	return [read_file $tmpdir/state/server.log]
}

# Wait (bounded) until the events log matches a regexp.
proc wait_event {re what} {
	for {set i 0} {$i < 100} {incr i} {
		if {[regexp -- $re [events]]} {
			return
		}
		after 50
	}
	fail "no event matching $what"
}

# Stop the daemon, check its logs for crashes and passwords, clean up.
proc pass {} {
	global tmpdir test_name
	set st [stop_daemon]
	if {$st != 0} {
		fail "daemon exit status $st after SIGTERM"
	}
	set log [server_log]
	foreach bad {AddressSanitizer LeakSanitizer "runtime error" "Segmentation"} {
		if {[string first $bad $log] >= 0} {
			fail "server.log shows '$bad'"
		}
	}
	set all "$log[events]"
	foreach pw {alice-pw bob-pw carol-pw dave-pw erin-pw frank-pw} {
		if {[string first $pw $all] >= 0} {
			fail "a password ($pw) appears in a log"
		}
	}
	pg_stop
	exec rm -rf $tmpdir
	puts "PASS: $test_name"
	exit 0
}

# Was this sshchatd built with the PostgreSQL message store (libpq)?
proc have_libpq {} {
	global builddir
	return [regexp {#define HAVE_LIBPQ 1} [read_file $builddir/config.h]]
}

# A private PostgreSQL cluster for this test (tests/pg-cluster.sh);
# returns a conninfo for its "postgres" database.  pass and fail stop
# it, and so does its watchdog should this process die first.  Skips
# the test (77) without libpq or PostgreSQL's server.
set pg_dir ""
proc pg_start {} {
	global srcdir pg_dir test_name
	if {![have_libpq]} {
		puts "SKIP: $test_name: sshchatd was built without libpq"
		exit 77
	}
	if {[catch {exec bash $srcdir/tests/pg-cluster.sh start [pid] \
	    2>@1} out opts]} {
		set ec [dict get $opts -errorcode]
		if {[lindex $ec 0] eq "CHILDSTATUS" && [lindex $ec 2] == 77} {
			puts "SKIP: $test_name: $out"
			exit 77
		}
		fail "cannot start PostgreSQL: $out"
	}
	set pg_dir [lindex [split [string trim $out] "\n"] end]
	return "host=$pg_dir port=5432 user=sshchat dbname=postgres"
}

# Stop the cluster's server (the data kept), and start it again.
proc pg_down {} {
	global srcdir pg_dir
	if {[catch {exec bash $srcdir/tests/pg-cluster.sh down $pg_dir 2>@1} \
	    out]} {
		fail "cannot stop PostgreSQL: $out"
	}
}

proc pg_up {} {
	global srcdir pg_dir
	if {[catch {exec bash $srcdir/tests/pg-cluster.sh up $pg_dir 2>@1} \
	    out]} {
		fail "cannot start PostgreSQL again: $out"
	}
}

proc pg_stop {} {
	global srcdir pg_dir
	if {$pg_dir ne ""} {
		catch {exec bash $srcdir/tests/pg-cluster.sh stop $pg_dir}
		set pg_dir ""
	}
}

# ---------------------------------------------------------------------
# More helpers: running ssh without a terminal, signalling the daemon,
# failed logins, and a small terminal screen to read what a user sees.

# Run ssh without a terminal; extra ssh options in opts, stdin text (or
# "" for /dev/null), the command in args.  Returns {exit_status stdout
# stderr}; exit_status is "hung" when ssh had not ended after
# $ssh_run_limit seconds.
set ssh_run_limit 10
proc ssh_run {user pass opts stdin args} {
	global ssh_opts port ssh_run_limit
	set dir [make_tmpdir]
	set n [clock microseconds]
	set outfile $dir/ssh-stdout.$n
	set errfile $dir/ssh-stderr.$n
	# Bounded: an ssh that does not end is killed ("hung").
	set cmd [list exec -ignorestderr timeout -k 2 $ssh_run_limit \
		sshpass -p $pass ssh {*}$opts \
		{*}$ssh_opts -p $port $user@127.0.0.1 {*}$args \
		> $outfile 2> $errfile]
	if {$stdin ne ""} {
		lappend cmd << $stdin
	} else {
		lappend cmd < /dev/null
	}
	set rc [catch $cmd msg opts_]
	set status 0
	if {$rc != 0} {
		set ec [dict get $opts_ -errorcode]
		if {[lindex $ec 0] eq "CHILDSTATUS"} {
			set status [lindex $ec 2]
			if {$status == 124 || $status == 137} {
				set status hung
			}
		} else {
			set status "error: $msg"
		}
	}
	set out [read_file $outfile]
	set err [read_file $errfile]
	file delete $outfile $errfile
	# Like exec: one trailing newline dropped.
	regsub {\n$} $out {} out
	return [list $status $out $err]
}

# Run several ssh commands (each a list of words) at the same time, as
# user, without a terminal; returns a list of {exit_status stdout stderr},
# one per command, exit_status "hung" as for ssh_run.
proc ssh_run_parallel {user pass cmds} {
	global ssh_opts port ssh_run_limit
	set dir [make_tmpdir]
	set jobs {}
	set i 0
	foreach c $cmds {
		set base $dir/ssh-par.[clock microseconds].$i
		set fh [open "|[list timeout -k 2 $ssh_run_limit sshpass -p $pass \
			ssh {*}$ssh_opts -p $port $user@127.0.0.1 {*}$c \
			2> $base.err < /dev/null]" r]
		lappend jobs $fh $base
		incr i
	}
	set results {}
	foreach {fh base} $jobs {
		set status 0
		set out [read $fh]
		if {[catch {close $fh} msg opts_]} {
			set ec [dict get $opts_ -errorcode]
			if {[lindex $ec 0] eq "CHILDSTATUS"} {
				set status [lindex $ec 2]
				if {$status == 124 || $status == 137} {
					set status hung
				}
			} else {
				set status "error: $msg"
			}
		}
		regsub {\n$} $out {} out
		lappend results [list $status $out [read_file $base.err]]
		file delete $base.err
	}
	return $results
}

# Send a signal to the daemon.
proc signal_daemon {sig} {
	global daemon_pid
	if {$daemon_pid == 0} {
		fail "no daemon to signal"
	}
	exec kill -$sig $daemon_pid
}

# Wait (bounded) for the daemon to exit by itself; returns its exit
# status.  Afterwards pass no longer stops it.
proc wait_daemon_exit {{secs 15}} {
	global daemon_pid daemon_id
	set pid $daemon_pid
	set timeout $secs
	expect {
		-i $daemon_id
		eof {}
		timeout {
			catch {exec kill -KILL $pid}
			set daemon_pid 0
			catch {wait -i $daemon_id}
			fail "daemon did not exit within $secs s"
		}
	}
	set daemon_pid 0
	set st [wait -i $daemon_id]
	if {[lindex $st 2] != 0} {
		return "error [lrange $st 3 end]"
	}
	if {[llength $st] > 4} {
		return "signal [lrange $st 4 end]"
	}
	return [lindex $st 3]
}

# Wait (bounded) for eof on a spawned ssh; returns its exit status.
proc wait_exit {id what} {
	expect {
		-i $id
		eof {}
		timeout { fail "$what: ssh did not exit" }
	}
	set st [wait -i $id]
	if {[llength $st] > 4} {
		return "signal [lrange $st 4 end]"
	}
	return [lindex $st 3]
}

# The daemon's own clock: the time (ms since the epoch, the clock
# [clock milliseconds] reads) of the nth line of text matching re (the
# first unless told), from the line's timestamp
# (2026-12-07T13:21:08.790Z), or -1.  A time measured from what the
# daemon logged does not grow when the machine is busy and the test's
# client sees things late.
proc log_line_ms {text re {nth 1}} {
	foreach line [split $text "\n"] {
		if {[regexp -- $re $line] && [incr nth -1] == 0 && [regexp \
		    {^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\.([0-9]{3})Z } \
		    $line -> secs ms]} {
			set t [clock scan $secs -format %Y-%m-%dT%H:%M:%S -gmt 1]
			return [expr {$t * 1000 + [scan $ms %d]}]
		}
	}
	return -1
}

# The same for the events log and for server.log.
proc event_ms {re {nth 1}} {
	return [log_line_ms [events] $re $nth]
}

proc server_log_ms {re {nth 1}} {
	return [log_line_ms [server_log] $re $nth]
}

# Number of lines in the events log matching a regexp.
proc count_events {re} {
	set n 0
	foreach line [split [events] "\n"] {
		if {[regexp -- $re $line]} {
			incr n
		}
	}
	return $n
}

# Index of the first events log line matching re, or -1.
proc event_index {re} {
	set i 0
	foreach line [split [events] "\n"] {
		if {[regexp -- $re $line]} {
			return $i
		}
		incr i
	}
	return -1
}

# Try to log in on a terminal with each password in turn, answering
# password prompts until the list runs out, then wait (bounded) for ssh to
# exit.  Returns {exit_status transcript prompts_seen}: everything ssh
# printed and how many password prompts it showed.  exit_status is
# "hung" when ssh was still running after the wait (it is then killed).
proc failed_login {user passwords args} {
	global ssh_opts port
	set pid [spawn ssh {*}$args {*}$ssh_opts -p $port $user@127.0.0.1]
	set id $spawn_id
	set t ""
	set prompts 0
	set left $passwords
	set hung 0
	expect {
		-i $id
		-re {.+} {
			append t $expect_out(0,string)
			if {[regexp {password: $} $t]} {
				incr prompts
				if {[llength $left] > 0} {
					send -i $id "[lindex $left 0]\r"
					set left [lrange $left 1 end]
				}
			}
			exp_continue
		}
		timeout { set hung 1 }
		eof {}
	}
	if {$hung} {
		catch {exec kill -TERM $pid}
		catch {close -i $id}
		catch {wait -i $id}
		return [list hung $t $prompts]
	}
	set st [wait -i $id]
	return [list [lindex $st 3] $t $prompts]
}

# --- A small terminal screen ------------------------------------------
# Enough of xterm to replay what readline draws: printable text, CR, LF,
# BS, TAB, autowrap with xterm's deferred wrap, CSI cursor moves, erases,
# insert and delete.  Other escape sequences are consumed and ignored.
# The screen keeps its scrollback, so a test can read all it showed.

proc vt_init {id cols rows} {
	upvar #0 vt_$id t
	array unset t
	array set t [list cols $cols rows $rows lines [list ""] r 0 c 0 \
		top 0 wrap 0 pending "" sr 0 sc 0]
}

proc vt_put_line {id row text} {
	upvar #0 vt_$id t
	while {[llength $t(lines)] <= $row} {
		lappend t(lines) ""
	}
	lset t(lines) $row $text
}

proc vt_line {id row} {
	upvar #0 vt_$id t
	if {$row < [llength $t(lines)]} {
		return [lindex $t(lines) $row]
	}
	return ""
}

proc vt_down {id} {
	upvar #0 vt_$id t
	incr t(r)
	while {[llength $t(lines)] <= $t(r)} {
		lappend t(lines) ""
	}
	if {$t(r) >= $t(top) + $t(rows)} {
		set t(top) [expr {$t(r) - $t(rows) + 1}]
	}
}

proc vt_putc {id ch} {
	upvar #0 vt_$id t
	if {$t(wrap)} {
		set t(wrap) 0
		set t(c) 0
		vt_down $id
	}
	set line [vt_line $id $t(r)]
	set l [string length $line]
	if {$l < $t(c)} {
		append line [string repeat " " [expr {$t(c) - $l}]]
		set l $t(c)
	}
	if {$l == $t(c)} {
		append line $ch
	} else {
		set line [string replace $line $t(c) $t(c) $ch]
	}
	vt_put_line $id $t(r) $line
	if {$t(c) >= $t(cols) - 1} {
		set t(c) [expr {$t(cols) - 1}]
		set t(wrap) 1
	} else {
		incr t(c)
	}
}

proc vt_csi {id params final} {
	upvar #0 vt_$id t
	set priv [expr {[string index $params 0] in {? > = <}}]
	if {$priv} {
		return
	}
	set p [split $params ";"]
	set p0 [lindex $p 0]
	set n [expr {$p0 eq "" || $p0 == 0 ? 1 : $p0}]
	set t(wrap) 0
	switch -- $final {
		A { set t(r) [expr {max($t(top), $t(r) - $n)}] }
		B - e {
			for {set i 0} {$i < $n && $t(r) < $t(top) + $t(rows) - 1} {incr i} {
				vt_down $id
			}
		}
		C - a { set t(c) [expr {min($t(cols) - 1, $t(c) + $n)}] }
		D { set t(c) [expr {max(0, $t(c) - $n)}] }
		G - ` { set t(c) [expr {min($t(cols) - 1, $n - 1)}] }
		H - f {
			set row [lindex $p 0]
			set col [lindex $p 1]
			if {$row eq "" || $row == 0} { set row 1 }
			if {$col eq "" || $col == 0} { set col 1 }
			set t(r) [expr {$t(top) + min($row, $t(rows)) - 1}]
			while {[llength $t(lines)] <= $t(r)} { lappend t(lines) "" }
			set t(c) [expr {min($col, $t(cols)) - 1}]
		}
		K {
			set line [vt_line $id $t(r)]
			switch -- [expr {$p0 eq "" ? 0 : $p0}] {
				0 { set line [string range $line 0 [expr {$t(c) - 1}]] }
				1 {
					set line "[string repeat " " [expr {$t(c) + 1}]][string range $line [expr {$t(c) + 1}] end]"
				}
				2 { set line "" }
			}
			vt_put_line $id $t(r) $line
		}
		J {
			switch -- [expr {$p0 eq "" ? 0 : $p0}] {
				0 {
					vt_put_line $id $t(r) [string range [vt_line $id $t(r)] 0 [expr {$t(c) - 1}]]
					set t(lines) [lrange $t(lines) 0 $t(r)]
				}
				1 - 2 - 3 {
					for {set i $t(top)} {$i < [llength $t(lines)]} {incr i} {
						lset t(lines) $i ""
					}
				}
			}
		}
		P {
			set line [vt_line $id $t(r)]
			vt_put_line $id $t(r) [string replace $line $t(c) [expr {$t(c) + $n - 1}]]
		}
		X {
			set line [vt_line $id $t(r)]
			if {[string length $line] > $t(c)} {
				set e [expr {min([string length $line], $t(c) + $n) - 1}]
				set line [string replace $line $t(c) $e [string repeat " " [expr {$e - $t(c) + 1}]]]
				vt_put_line $id $t(r) $line
			}
		}
		@ {
			set line [vt_line $id $t(r)]
			if {[string length $line] > $t(c)} {
				set line "[string range $line 0 [expr {$t(c) - 1}]][string repeat " " $n][string range $line $t(c) end]"
				vt_put_line $id $t(r) [string range $line 0 [expr {$t(cols) - 1}]]
			}
		}
		d {
			set t(r) [expr {$t(top) + min($n, $t(rows)) - 1}]
			while {[llength $t(lines)] <= $t(r)} { lappend t(lines) "" }
		}
		default {}
	}
}

# Feed output from the remote side into the screen.
proc vt_feed {id data} {
	upvar #0 vt_$id t
	set s "$t(pending)$data"
	set t(pending) ""
	set len [string length $s]
	set i 0
	while {$i < $len} {
		set ch [string index $s $i]
		if {$ch eq "\x1b"} {
			set rest [string range $s $i end]
			if {[regexp {^\x1b\[([0-?]*)[ -/]*([@-~])} $rest m params final]} {
				vt_csi $id $params $final
				incr i [string length $m]
				continue
			}
			if {[regexp {^\x1b\][^\x07\x1b]*(\x07|\x1b\\)} $rest m]} {
				incr i [string length $m]
				continue
			}
			if {[regexp {^\x1b[ -/]*[0-~]} $rest m]} {
				if {$m eq "\x1b7"} {
					set t(sr) $t(r); set t(sc) $t(c)
				} elseif {$m eq "\x1b8"} {
					set t(r) $t(sr); set t(c) $t(sc); set t(wrap) 0
				} elseif {$m eq "\x1bM"} {
					if {$t(r) > $t(top)} { incr t(r) -1 }
				}
				incr i [string length $m]
				continue
			}
			if {[string length $rest] < 64} {
				# an incomplete sequence: wait for the rest
				set t(pending) $rest
				return
			}
			# garbage: show the ESC as a visible mark
			vt_putc $id "^"
			incr i
			continue
		}
		switch -- $ch {
			"\r" { set t(c) 0; set t(wrap) 0 }
			"\n" { vt_down $id; set t(wrap) 0 }
			"\b" {
				if {$t(wrap)} {
					set t(wrap) 0
					set t(c) [expr {max(0, $t(cols) - 2)}]
				} elseif {$t(c) > 0} {
					incr t(c) -1
				}
			}
			"\t" {
				set t(c) [expr {min($t(cols) - 1, ($t(c) / 8 + 1) * 8)}]
			}
			"\x07" - "\x00" {}
			default {
				if {[string is control $ch]} {
					# other controls draw nothing on xterm
				} else {
					vt_putc $id $ch
				}
			}
		}
		incr i
	}
}

# The visible screen (or, with all, the scrollback too) as text: lines
# without trailing blanks, trailing empty lines dropped.
proc vt_text {id {all 0}} {
	upvar #0 vt_$id t
	set first [expr {$all ? 0 : $t(top)}]
	set out {}
	foreach line [lrange $t(lines) $first end] {
		lappend out [string trimright $line]
	}
	while {[llength $out] > 0 && [lindex $out end] eq ""} {
		set out [lrange $out 0 end-1]
	}
	return [join $out "\n"]
}

# Cursor position {row col}, row counted from the top of the screen.
proc vt_cursor {id} {
	upvar #0 vt_$id t
	set c $t(c)
	if {$t(wrap)} {
		set c $t(cols)
	}
	return [list [expr {$t(r) - $t(top)}] $c]
}

# Read output (bounded) until the screen text matches re.
proc vt_wait {id re what {all 0}} {
	global timeout
	set deadline [expr {[clock milliseconds] + $timeout * 1000}]
	while {![regexp -- $re [vt_text $id $all]]} {
		set left [expr {$deadline - [clock milliseconds]}]
		if {$left <= 0} {
			fail "timed out waiting for $what; the screen shows:\n[vt_text $id]"
		}
		set t [expr {($left + 999) / 1000}]
		expect {
			-i $id
			-timeout $t
			-re {.+} { vt_feed $id $expect_out(0,string) }
			timeout {}
			eof {
				fail "connection closed waiting for $what;\
					the screen shows:\n[vt_text $id]"
			}
		}
	}
}

# Resize the terminal of a vt_login session (ssh sends a window-change);
# the screen is not reflowed, as xterm without reflow would not.
proc vt_resize {id cols rows} {
	upvar #0 vt_$id t
	set t(cols) $cols
	set t(rows) $rows
	stty columns $cols rows $rows < $::vt_slave($id)
}

# Log in on a terminal of cols x rows (TERM=xterm), replaying everything
# after the password into a screen; returns the spawn id at the prompt.
proc vt_login {user pass cols rows args} {
	global ssh_opts port env
	set env(TERM) xterm
	spawn ssh {*}$ssh_opts -p $port {*}$args $user@127.0.0.1
	set id $spawn_id
	stty columns $cols rows $rows < $spawn_out(slave,name)
	vt_init $id $cols $rows
	set ::vt_slave($id) $spawn_out(slave,name)
	expect {
		-i $id
		"password:" { send -i $id "$pass\r" }
		timeout { fail "no password prompt for $user" }
		eof { fail "ssh for $user exited before the password prompt" }
	}
	vt_wait $id "(^|\n)$user>\$" "the first prompt of $user"
	return $id
}

# Expect an exact string (no glob or regexp specials) on a spawn id.
proc must_see {id text what} {
	expect {
		-i $id
		-ex $text {}
		timeout { fail "timed out waiting for $what" }
		eof { fail "connection closed waiting for $what" }
	}
}

# A regexp matching text literally.
proc re_quote {text} {
	return [regsub -all {[][\\.^$*+?(){}|]} $text {\\&}]
}

# The rows a line of text occupies on a terminal cols wide (ASCII text).
proc wrap_rows {text cols} {
	set rows {}
	for {set i 0} {$i < [string length $text]} {incr i $cols} {
		lappend rows [string range $text $i [expr {$i + $cols - 1}]]
	}
	return $rows
}

# ---------------------------------------------------------------------
# Store and crash helpers (tests/store-*.exp): SIGKILL, reading the
# message database with the sqlite3 CLI, session ids, memory.

# Kill the daemon with SIGKILL and reap it; returns what wait_daemon_exit
# returns ("signal CHILDKILLED ... SIGKILL ..." when the kill did it).
# start_daemon may then start a new one on the same state directory.
proc kill9_daemon {} {
	global daemon_pid
	if {$daemon_pid == 0} {
		fail "no daemon to kill"
	}
	exec kill -KILL $daemon_pid
	return [wait_daemon_exit]
}

# Run SQL on the state directory's messages.db, read-only (so the CLI
# never recovers a crashed WAL itself); returns the rows, one a line,
# columns separated by |.
proc store_query {sql} {
	global tmpdir
	if {[catch {exec sqlite3 -readonly -batch -noheader \
		$tmpdir/state/messages.db $sql} out]} {
		fail "sqlite3 \"$sql\": $out"
	}
	return $out
}

# The session id of user's last LOGIN in the events log, or "".
proc last_session_id {user} {
	set sid ""
	foreach line [split [events] "\n"] {
		if {[regexp " LOGIN user=$user addr=\[^ \]+ session=(\[0-9\]+)" \
			$line -> s]} {
			set sid $s
		}
	}
	return $sid
}

# Wait (bounded) until the store has committed an open sessions row for
# session id sid.
proc wait_session_row {sid what} {
	for {set i 0} {$i < 100} {incr i} {
		if {[store_query "SELECT count(*) FROM sessions WHERE id = $sid\
			AND logout_at IS NULL"] == 1} {
			return
		}
		after 50
	}
	fail "no open sessions row for $what (session $sid)"
}

# Resident memory of a process in kB (VmRSS from /proc), or -1.
proc rss_kb {pid} {
	if {[catch {read_file /proc/$pid/status} st] ||
		![regexp {VmRSS:\s+([0-9]+) kB} $st -> kb]} {
		return -1
	}
	return $kb
}

# Skip the test (exit 77) when a program it needs is not installed.
proc require_tools {args} {
	global test_name
	foreach tool $args {
		if {[auto_execok $tool] eq ""} {
			puts "SKIP: $test_name: $tool is not installed"
			exit 77
		}
	}
}

# ssh_run bounded in time: ssh is killed after secs seconds, and the
# status is then "timeout" (stdout and stderr as far as they got).
proc ssh_run_timed {secs user pass opts stdin args} {
	global ssh_run_limit
	set saved $ssh_run_limit
	set ssh_run_limit $secs
	set r [ssh_run $user $pass $opts $stdin {*}$args]
	set ssh_run_limit $saved
	if {[lindex $r 0] eq "hung"} {
		lset r 0 timeout
	}
	return $r
}

# ---------------------------------------------------------------------
# sshchatctl helpers (tests/ctl-*.exp): the admin client run against the
# test daemon's admin socket, $tmpdir/state/sshchatd.sock.

set sshchatctl [expr {[info exists env(SSHCHATCTL)] ? $env(SSHCHATCTL) :
	"$builddir/sshchatctl"}]

proc admin_socket {} {
	global tmpdir
	return $tmpdir/state/sshchatd.sock
}

# Run sshchatctl without a terminal: under the command prefix (a list,
# such as a setpriv invocation, or {}), with stdin as its standard input
# ("" for /dev/null) and args as its arguments.  Returns {exit_status
# stdout stderr}, one trailing newline dropped from each.
proc ctl_exec {prefix stdin args} {
	global sshchatctl
	set dir [make_tmpdir]
	set n [clock microseconds]
	set outfile $dir/ctl-stdout.$n
	set errfile $dir/ctl-stderr.$n
	set cmd [list exec -ignorestderr {*}$prefix $sshchatctl {*}$args \
		> $outfile 2> $errfile]
	if {$stdin ne ""} {
		lappend cmd << $stdin
	} else {
		lappend cmd < /dev/null
	}
	set rc [catch $cmd msg opts]
	set status 0
	if {$rc != 0} {
		set ec [dict get $opts -errorcode]
		if {[lindex $ec 0] eq "CHILDSTATUS"} {
			set status [lindex $ec 2]
		} else {
			set status "error: $msg"
		}
	}
	set out [read_file $outfile]
	set err [read_file $errfile]
	file delete $outfile $errfile
	regsub {\n$} $out {} out
	regsub {\n$} $err {} err
	return [list $status $out $err]
}

# sshchatctl -S STATE_DIR args..., as root, stdin from /dev/null.
proc ctl {args} {
	global tmpdir
	return [ctl_exec {} "" -S $tmpdir/state {*}$args]
}

# The same with text on its standard input.
proc ctl_stdin {stdin args} {
	global tmpdir
	return [ctl_exec {} $stdin -S $tmpdir/state {*}$args]
}

# Check a ctl result: the exit status, and regexps that stdout and
# stderr must match ("" means the stream must be empty).
proc ctl_check {result what status out_re err_re} {
	lassign $result st out err
	if {$st ne $status} {
		fail "$what: exit status $st, expected $status\
			(stdout: '$out', stderr: '$err')"
	}
	foreach {name text re} [list stdout $out $out_re stderr $err $err_re] {
		if {$re eq ""} {
			if {$text ne ""} {
				fail "$what: unexpected $name '$text'"
			}
		} elseif {![regexp -- $re $text]} {
			fail "$what: $name '$text' does not match '$re'"
		}
	}
}

# Spawn the interactive console on a terminal (HOME in the test's
# directory, for the history file); returns the spawn id at the prompt.
proc ctl_console {args} {
	global sshchatctl tmpdir
	spawn env HOME=$tmpdir TERM=dumb $sshchatctl -S $tmpdir/state {*}$args
	set id $spawn_id
	must $id "sshchatctl> " "the sshchatctl prompt"
	return $id
}

# End a test that cannot run here (automake's SKIP status).
proc skip {msg} {
	global tmpdir test_name
	puts "SKIP: $test_name: $msg"
	stop_daemon
	if {$tmpdir ne ""} {
		exec rm -rf $tmpdir
	}
	exit 77
}

# ---------------------------------------------------------------------
# Raw TCP helpers for the pre-authentication limit tests (limit-*.exp,
# auth-*.exp): a client that connects and says nothing, or only part of
# the protocol, and a bounded wait for the server to close it.

# Open a TCP connection to the test daemon (from local address myaddr,
# such as 127.0.0.2, when given); returns the channel, binary and
# non-blocking.
proc tcp_connect {{myaddr ""}} {
	global port
	if {$myaddr ne ""} {
		set ch [socket -myaddr $myaddr 127.0.0.1 $port]
	} else {
		set ch [socket 127.0.0.1 $port]
	}
	fconfigure $ch -translation binary -blocking 0 -buffering none
	return $ch
}

# Read from a raw connection until the server closes it or secs seconds
# pass.  Returns {closed|open elapsed_ms bytes}: what the server sent in
# that time.  A reset counts as closed.
proc tcp_wait_close {ch secs} {
	set start [clock milliseconds]
	set got ""
	while {1} {
		if {[catch {read $ch} data]} {
			return [list closed [expr {[clock milliseconds] - $start}] $got]
		}
		append got $data
		if {[eof $ch]} {
			return [list closed [expr {[clock milliseconds] - $start}] $got]
		}
		if {[clock milliseconds] - $start >= $secs * 1000} {
			return [list open [expr {[clock milliseconds] - $start}] $got]
		}
		after 20
	}
}

# Read (bounded) until the server's SSH identification line has come;
# returns it, or "" if the connection closed or secs passed first.
proc tcp_read_banner {ch secs} {
	set start [clock milliseconds]
	set got ""
	while {[clock milliseconds] - $start < $secs * 1000} {
		if {[catch {read $ch} data]} {
			return ""
		}
		append got $data
		if {[regexp {^(SSH-2\.0-[^\r\n]*)\r?\n} $got -> line]} {
			return $line
		}
		if {[eof $ch]} {
			return ""
		}
		after 20
	}
	return ""
}

# Number of open file descriptors of a process, or -1.
proc fd_count {pid} {
	if {[catch {glob -nocomplain /proc/$pid/fd/*} fds]} {
		return -1
	}
	return [llength $fds]
}

# ---------------------------------------------------------------------
# Chat helpers (room-*.exp, reply.exp, away.exp, ignore.exp, set.exp,
# color.exp, motd.exp, ...).

# Log in like login, and also return what the session showed up to and
# including its first prompt (welcome, message of the day, missed room
# lines, waiting messages): {spawn_id text}.
proc login_seen {user pass args} {
	global ssh_opts port
	spawn ssh {*}$ssh_opts -p $port {*}$args $user@127.0.0.1
	set id $spawn_id
	# A terminal wider than any line the tests send: these sessions read
	# whole lines, not a screen (vt_login models one, at a given size).
	# Without a size the daemon would assume 80 columns and wrap.
	stty columns 9999 rows 50 < $spawn_out(slave,name)
	expect {
		-i $id
		"password:" { send -i $id "$pass\r" }
		timeout { fail "no password prompt for $user" }
		eof { fail "ssh for $user exited before the password prompt" }
	}
	expect {
		-i $id
		"$user> " { set seen $expect_out(buffer) }
		"Permission denied" { fail "login of $user refused" }
		timeout { fail "no prompt for $user" }
		eof { fail "ssh for $user exited before the prompt" }
	}
	return [list $id $seen]
}

# Read from id until the exact text sync arrives; fail if the exact text
# bad comes first (or anywhere before sync's end).  Returns what was read.
proc must_not_before {id bad sync what} {
	expect {
		-i $id
		-ex $bad { fail "$what: saw '$bad'" }
		-ex $sync { set got $expect_out(buffer) }
		timeout { fail "$what: timed out waiting for '$sync'" }
		eof { fail "$what: connection closed waiting for '$sync'" }
	}
	if {[string first $bad $got] >= 0} {
		fail "$what: saw '$bad'"
	}
	return $got
}

# What a terminal shows for raw output: CSI sequences dropped, each line
# only what follows its last CR (the shell redraws its prompt with CR and
# erase-line), empty lines dropped; lines joined with "\n".
proc screen_lines {raw} {
	regsub -all {\x1b\[[0-?]*[ -/]*[@-~]} $raw "" raw
	set out {}
	foreach line [split $raw "\n"] {
		set line [string trimright $line "\r"]
		set cr [string last "\r" $line]
		if {$cr >= 0} {
			set line [string range $line [expr {$cr + 1}] end]
		}
		if {$line ne ""} {
			lappend out $line
		}
	}
	return [join $out "\n"]
}

# Type a command, then `set` (whose "Settings: ..." line marks the end,
# as a session runs its commands in order); returns what the command
# printed, as screen_lines shows it, without the prompts.
proc run_cmd {id user cmd what} {
	type $id $cmd
	type $id "set"
	expect {
		-i $id
		-re "[re_quote $cmd]\r\n(.*?)Settings: \[^\r\n\]*\r\n" {
			set raw $expect_out(1,string)
		}
		timeout { fail "timed out waiting for the output of '$cmd' ($what)" }
		eof { fail "connection closed waiting for the output of '$cmd' ($what)" }
	}
	# The sentinel is typed ahead, so its echo may be drawn (and redrawn
	# around the output) in pieces: drop the prompt and "set" echo lines,
	# whole or in part.
	set out {}
	foreach line [split [screen_lines $raw] "\n"] {
		if {$line ne "$user> " &&
		    ![regexp "^([re_quote $user]> )?(s|se|set)\$" $line]} {
			lappend out $line
		}
	}
	return [join $out "\n"]
}

# must_re that returns the match and its groups (expect_out(0..9,string)
# as a list).
proc must_re_groups {id pattern what} {
	expect {
		-i $id
		-re $pattern {
			set r {}
			for {set i 0} {[info exists expect_out($i,string)]} {incr i} {
				lappend r $expect_out($i,string)
			}
			return $r
		}
		timeout { fail "timed out waiting for $what" }
		eof { fail "connection closed waiting for $what" }
	}
}

# Memory bounds for tests that measure the daemon's RSS.  Under
# AddressSanitizer freed memory waits in a quarantine (256 MB by default)
# and every allocation has red zones: keep the quarantine small for the
# daemon this test starts, and return how much more RSS to allow (a
# factor for the bound).
proc rss_test_setup {} {
	global env sshchatd
	set opts [expr {[info exists env(ASAN_OPTIONS)] ? $env(ASAN_OPTIONS) : ""}]
	set env(ASAN_OPTIONS) [string trimleft \
		"$opts:quarantine_size_mb=1:thread_local_quarantine_size_kb=64" :]
	if {![catch {exec ldd $env(SSHCHATD)} libs] && [string match *libasan* $libs]} {
		return 2
	}
	return 1
}
