#!/bin/sh
# A cron job: each morning, mail yourself the last day's conversation
# with one person, read from sshchat over plain ssh.
#
#   crontab: 0 7 * * *  SSHPASS=... /usr/local/share/doc/sshchat/examples/cron-digest.sh bob
set -eu
peer=${1:?usage: cron-digest.sh USER [COUNT]}
count=${2:-200}
host=${SSHCHAT_HOST:-localhost}
port=${SSHCHAT_PORT:-2222}
user=${SSHCHAT_USER:-$(id -un)}

# history prints oldest first, one line each, with UTC dates; no colour
# or prompt without a terminal.
# shellcheck disable=SC2086
sshpass -e ssh -T -p "$port" ${SSHCHAT_SSH_OPTS:-} "$user@$host" "history $peer $count" |
    mail -s "sshchat: $user and $peer" "$user"
