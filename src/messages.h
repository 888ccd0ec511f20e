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
#define MSG_SHUTDOWN_WHY "The server is shutting down: %s. Goodbye, %s."

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
#define ERR_CHAT_ONLY "error: '%s' works in a chat session (log in with ssh)"
#define ERR_PERMISSION "error: permission denied: '%s' is for administrators"
#define ERR_TOO_LONG "error: line too long (at most %u bytes)"
#define ERR_LINE_DISCARDED "error: line too long (at most %zu bytes); it was not sent"
#define ERR_EMPTY_MESSAGE "error: empty message"
#define ERR_HISTORY_COUNT "error: count must be between 1 and %d"
#define ERR_STORE_READ "error: the message store cannot be read right now"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

#define PROMPT_OLD_PASSWORD "Current password: "
#define PROMPT_NEW_PASSWORD "New password: "
#define PROMPT_RETYPE "Retype new password: "
#define MSG_PASSWORD_CHANGED "password changed for %s"
#define ERR_PASSWORD_MISMATCH "error: the passwords do not match; nothing changed"
#define ERR_WRONG_PASSWORD "error: wrong password; nothing changed"

#define MSG_BROADCAST "*** %s (broadcast from %s)"
#define MSG_KICKED "You have been disconnected by an administrator%s%s."
#define MSG_KICK_DONE "%s: %d %s ended"
#define MSG_ACCOUNT_DELETED "Your account has been deleted."
#define MSG_ACCOUNT_LOCKED "Your account has been locked."
#define MSG_LOCKED_LOGIN "Your account is locked. Ask an administrator to unlock it."
#define MSG_USER_ADDED "user %s added (%s)"
#define MSG_USER_DELETED "user %s deleted"
#define MSG_USER_LOCKED "user %s locked"
#define MSG_USER_UNLOCKED "user %s unlocked"
#define MSG_SHUTTING_DOWN "shutting down"
#define ERR_NOT_ONLINE "error: %s is not online"
#define ERR_RATE_LIMIT "error: slow down: at most %d lines a second (bursts of %d); that line was not run"
#define ERR_SERVER_FULL "The server is full (%d sessions). Try again later."
#define ERR_TOO_MANY_SESSIONS "Too many sessions for %s (at most %d). Log out of one first."
#define MSG_IDLE_WARNING "You have been idle for a while; you will be disconnected in %lld seconds unless you type something."
#define MSG_IDLE_END "Disconnected after %d seconds without input."

#define MSG_HELP_HEADER "Commands:"
#define MSG_HELP_FOOTER "Ctrl-D logs out, Ctrl-C clears the line, Tab completes."

#endif
