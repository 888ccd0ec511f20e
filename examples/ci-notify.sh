#!/bin/sh
# Tell people in sshchat how a CI build ended.  Run at the end of a CI
# job; the account (here "ci") needs a password, given in SSHPASS (use a
# secret variable) with sshpass, or use an ssh agent-less batch setup of
# your choice.
#
#   SSHCHAT_HOST=chat.example.org SSHPASS=... ci-notify.sh passed "main 1a2b3c"
set -eu
status=${1:?usage: ci-notify.sh passed|failed DESCRIPTION}
what=${2:-}
host=${SSHCHAT_HOST:-localhost}
port=${SSHCHAT_PORT:-2222}
user=${SSHCHAT_USER:-ci}
to=${SSHCHAT_TO:-}          # comma-separated users; empty: the room

if [ -n "$to" ]; then
	line="msg $to build $status: $what"
else
	line="say build $status: $what"
fi
# One command per ssh: exit status 0 when it was sent (or queued for
# people who are offline), 1 with the reason on stderr otherwise.
# SSHCHAT_SSH_OPTS: extra ssh options (e.g. -o UserKnownHostsFile=...).
# shellcheck disable=SC2086
exec sshpass -e ssh -p "$port" ${SSHCHAT_SSH_OPTS:-} -o NumberOfPasswordPrompts=1 \
    "$user@$host" "$line"
