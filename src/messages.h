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
#define MSG_WHO "%u %s online: %s"

#define ERR_NO_SUCH_USER "error: no such user '%s'"
#define ERR_NOT_ONLINE "error: %s is not online; the message was not sent"
#define ERR_UNKNOWN_COMMAND "error: unknown command '%s' (type 'help' for a list)"
#define ERR_USAGE "usage: %s"
#define ERR_TOO_LONG "error: line too long (at most %u bytes)"
#define ERR_EMPTY_MESSAGE "error: empty message"

#define MSG_HELP_HEADER "Commands:"
#define MSG_HELP_FOOTER "Ctrl-D logs out, Ctrl-C clears the line, Tab completes."

#endif
