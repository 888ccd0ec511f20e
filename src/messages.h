/*
 * Every string a chat user or an operator reads, in one place, so that
 * the code, the tests and the man pages stay in step.
 */
#ifndef MESSAGES_H
#define MESSAGES_H

/* Shown once a shell starts: name, count, list. */
#define MSG_WELCOME "Welcome to sshchat, %s. %u %s online: %s. Type 'help'."
#define MSG_PROMPT "%s> "
#define MSG_GOODBYE "Goodbye, %s."
#define MSG_SHUTDOWN "The server is shutting down. Goodbye, %s."

#define MSG_SENT "[to %s] %s"
#define MSG_RECEIVED "[from %s] %s"
/* A message read back from the store: sender, time (UTC), text. */
#define MSG_RECEIVED_AT "[from %s, %s] %s"
#define MSG_QUEUED "[to %s, queued] %s"
#define MSG_OFFLINE "%s is offline; the message will be delivered when they log in."
#define MSG_WAITING "%lld %s while you were away:"
#define MSG_HISTORY_SENT "%s [to %s] %s"
#define MSG_HISTORY_RECEIVED "%s [from %s] %s"
#define MSG_HISTORY_EMPTY "no messages yet"
#define MSG_WHO "%u %s online: %s"

#define ERR_NO_SUCH_USER "error: no such user '%s'"
#define ERR_NOT_SENT "error: not sent: %s"
#define ERR_QUEUE_FULL "error: not sent: %s already has %d messages waiting"
#define ERR_UNKNOWN_COMMAND "error: unknown command '%s' (type 'help' for a list)"
#define ERR_USAGE "usage: %s"
#define ERR_TOO_LONG "error: line too long (at most %u bytes)"
#define ERR_EMPTY_MESSAGE "error: empty message"
#define ERR_HISTORY_COUNT "error: count must be between 1 and %d"
#define ERR_STORE_READ "error: the message store cannot be read right now"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

#define MSG_HELP_HEADER "Commands:"
#define MSG_HELP_FOOTER "Ctrl-D logs out, Ctrl-C clears the line, Tab completes."

#endif
