#!/bin/bash
# A private PostgreSQL cluster for a test run: initdb into a temporary
# directory as an unprivileged user (initdb refuses root: as root the
# cluster belongs to "sshchat-test" if that user exists, else "nobody"),
# the server on a Unix socket in that directory only
# (listen_addresses=''), trust authentication for its superuser
# "sshchat", stopped and removed at the end.
#
#   pg-cluster.sh run CMD [ARG...]   start one, run CMD with
#                                    STORE_TEST_URL (a conninfo for the
#                                    "postgres" database) and PG_TEST_DIR
#                                    set, stop it on exit whatever
#                                    happens; CMD's status
#   pg-cluster.sh start [PID]        start one and print its directory
#                                    (host=DIR port=5432 user=sshchat);
#                                    with PID, it is stopped when that
#                                    process ends, if not before
#   pg-cluster.sh stop DIR           stop it and remove DIR
#   pg-cluster.sh down DIR           stop its server, keeping the data
#   pg-cluster.sh up DIR             start the server again
#
# Exit status 77 (skip) when PostgreSQL's server programs are missing:
# Debian's postgresql package, or PG_BINDIR.
set -u

PORT=5432

find_bindir() {
	local d
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	for d in /usr/lib/postgresql/15/bin $(printf '%s\n' \
	    /usr/lib/postgresql/*/bin | sort -t/ -k4 -rn); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	if command -v pg_config >/dev/null; then
		d=$(pg_config --bindir)
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return
		fi
	fi
}

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
	echo "pg-cluster: PostgreSQL's initdb and pg_ctl not found" \
	    "(apt-get install postgresql, or set PG_BINDIR): skipped" >&2
	exit 77
fi

# Run a command as the cluster's owner.
owner=""
as_owner() {
	if [ -z "$owner" ]; then
		"$@"
	elif command -v setpriv >/dev/null; then
		setpriv --reuid="$owner" --regid="$(id -g "$owner")" \
		    --clear-groups -- "$@"
	else
		# shellcheck disable=SC2016 # expanded by su's shell
		su -s /bin/sh "$owner" -c '"$0" "$@"' "$@"
	fi
}

pick_owner() {
	if [ "$(id -u)" -ne 0 ]; then
		owner=""
	elif id sshchat-test >/dev/null 2>&1; then
		owner=sshchat-test
	else
		owner=nobody
	fi
}

do_stop() {
	local dir=$1
	pick_owner
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w \
		    -t 30 stop >/dev/null 2>&1
	fi
	case $dir in
	*/sshchat-pg.*) rm -rf "$dir" ;;
	esac
}

# Start a cluster; prints its directory.  Its log is kept on failure.
do_start() {
	local dir
	pick_owner
	dir=$(mktemp -d "${TMPDIR:-/tmp}/sshchat-pg.XXXXXX") || return 1
	chmod 0700 "$dir"
	if [ -n "$owner" ]; then
		chown "$owner:$(id -g "$owner")" "$dir" || return 1
		# Its parent must let the owner in (a TMPDIR of root's 0700).
		if ! as_owner test -x "$dir"; then
			echo "pg-cluster: $owner cannot reach $dir" >&2
			rm -rf "$dir"
			return 1
		fi
	fi
	if ! (cd / && as_owner "$bindir/initdb" -D "$dir/data" -U sshchat \
	    --auth=trust -E UTF8 --locale=C --no-sync --no-instructions) \
	    >"$dir/initdb.log" 2>&1; then
		echo "pg-cluster: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		return 1
	fi
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$dir'
		unix_socket_permissions = 0700
		port = $PORT
		max_connections = 40
		shared_buffers = 16MB
		logging_collector = off
		log_min_messages = warning
	EOF
	if ! (cd / && as_owner "$bindir/pg_ctl" -D "$dir/data" \
	    -l "$dir/server.log" -w -t 60 start) >/dev/null 2>&1; then
		echo "pg-cluster: the server did not start:" >&2
		cat "$dir/server.log" >&2
		do_stop "$dir"
		return 1
	fi
	echo "$dir"
}

case ${1:-} in
run)
	shift
	dir=$(do_start) || exit 1
	trap 'do_stop "$dir"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	STORE_TEST_URL="host=$dir port=$PORT user=sshchat dbname=postgres"
	PG_TEST_DIR=$dir
	export STORE_TEST_URL PG_TEST_DIR
	"$@"
	exit $?
	;;
start)
	watch=${2:-}
	dir=$(do_start) || exit 1
	if [ -n "$watch" ]; then
		# Stopped when the test process ends, however it ends.
		(
			trap '' HUP INT
			while kill -0 "$watch" 2>/dev/null &&
			    [ -d "$dir" ]; do
				sleep 1
			done
			do_stop "$dir"
		) </dev/null >/dev/null 2>&1 &
	fi
	echo "$dir"
	;;
stop)
	[ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	do_stop "$2"
	;;
down | up)
	dir=${2:-}
	[ -d "$dir/data" ] || { echo "usage: $0 $1 DIR" >&2; exit 2; }
	pick_owner
	if [ "$1" = down ]; then
		args=(stop -m fast)
	else
		args=(start -l "$dir/server.log")
	fi
	(cd / && as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 \
	    "${args[@]}") >/dev/null 2>&1 ||
		{ echo "pg-cluster: pg_ctl ${args[0]} failed" >&2; exit 1; }
	;;
*)
	echo "usage: $0 run CMD [ARG...] | start [PID] | stop DIR |" \
	    "down DIR | up DIR" >&2
	exit 2
	;;
esac
