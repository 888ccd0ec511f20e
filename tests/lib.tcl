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
set ssh_opts [list -F /dev/null -o UserKnownHostsFile=/dev/null \
	-o StrictHostKeyChecking=no -o PubkeyAuthentication=no \
	-o LogLevel=ERROR -o NumberOfPasswordPrompts=3]

proc make_tmpdir {} {
	global tmpdir
	if {$tmpdir eq ""} {
		set tmpdir [exec mktemp -d /tmp/sshchat-test.XXXXXX]
		file mkdir $tmpdir/state
		file attributes $tmpdir/state -permissions 0700
	}
	return $tmpdir
}

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
# positioned after the first prompt.
proc login {user pass args} {
	global ssh_opts port
	spawn ssh {*}$ssh_opts -p $port {*}$args $user@127.0.0.1
	set id $spawn_id
	expect {
		-i $id
		"password:" { send -i $id "$pass\r" }
		timeout { fail "no password prompt for $user" }
		eof { fail "ssh for $user exited before the password prompt" }
	}
	expect {
		-i $id
		"$user> " {}
		"Permission denied" { fail "login of $user refused" }
		timeout { fail "no prompt for $user" }
		eof { fail "ssh for $user exited before the prompt" }
	}
	return $id
}

# Expect pattern (a glob, or -re) on spawn id, or fail with what.
proc must {id pattern what} {
	expect {
		-i $id
		$pattern {}
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
	exec rm -rf $tmpdir
	puts "PASS: $test_name"
	exit 0
}
