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
/* Shown to its recipients when committed, then the sync to disk failed. */
#define ERR_NOT_SAVED "error: delivered but not saved: %s"
#define ERR_QUEUE_FULL "error: not sent: %s already has %d messages waiting"
#define ERR_SHARE_FULL "error: not sent: %s already has %d messages from you waiting; more when they log in and read them"
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
#define ERR_EXEC_EMPTY "sshchat: empty command (try: help)"
#define ERR_EXEC_TOO_LONG "sshchat: command too long (%zu bytes; at most %d, MaxLineLength)"
#define ERR_TOO_MANY_SESSIONS "Too many sessions for %s (at most %d). Log out of one first."
#define MSG_INPUT_SLOWED "note: input is arriving faster than %d bytes a second; reading it more slowly (nothing is lost)"
#define MSG_IDLE_WARNING "You have been idle for a while; you will be disconnected in %lld s unless you type something."
#define MSG_IDLE_END "Disconnected after %d seconds without input."

#define ERR_SAY_HINT "; to talk to everyone: say %s"
#define ERR_TOO_MANY_RECIPIENTS "error: at most %d recipients"
#define ERR_NOBODY_TO_REPLY "error: nobody has written to you yet"
#define MSG_SAID "[to the room] %s"
#define MSG_AWAY_NOTICE "%s is away: %s"
#define MSG_AWAY_SET "You are away (%s). Type 'back' when you return."
#define MSG_BACK "Welcome back."
#define ERR_NOT_AWAY "error: you are not away"
#define MSG_IGNORE_LIST "You ignore: %s"
#define MSG_IGNORE_NONE "You ignore nobody."
#define ERR_IGNORE_SELF "error: you cannot ignore yourself"
#define ERR_ALREADY_IGNORED "error: you already ignore %s"
#define ERR_NOT_IGNORED "error: you do not ignore '%s'"
#define MSG_IGNORING "Ignoring %s: their messages and room lines are hidden (unignore %s to undo)."
#define MSG_UNIGNORED "No longer ignoring %s."
#define MSG_SETTINGS "Settings: %s"
#define MSG_SET_DONE "%s is now %s"
#define MSG_WHOIS_ONLINE "%s: online since %s (%zu %s), idle %s"
#define MSG_WHOIS_OFFLINE "%s: offline, last login %s"
#define MSG_WHOIS_AWAY ", away: %s"
#define MSG_ROOM_MISSED "Room, while you were away (last %d %s):"
#define ROOM_MISSED_MAX 20
#define MSG_JOINED "joined"
#define MSG_LEFT "left"
#define MSG_NOTICE_OTHERS " and %zu others"
#define MSG_ROOM_DROPPED "(%lu room lines were not shown: your terminal was not keeping up)"

#define MSG_HELP_HEADER "Commands:"
#define MSG_HELP_FOOTER "Ctrl-D logs out, Ctrl-C clears the line, Tab completes."

/* What an sshchatctl user reads. */
#define ERR_ADMIN_DENIED "error: permission denied: uid %u may not use " \
	"the admin socket (only root and uid %u may)"
#define ERR_ADMIN_BUSY "error: too many admin connections (at most %d); " \
	"try again later"
#define ERR_ADMIN_TOO_LONG "error: record too long (at most %d bytes)"
#define ERR_ADMIN_CANCELLED "error: cancelled"
#define ERR_ADMIN_NO_ANSWERS "error: not enough answers"
#define ERR_ADMIN_UNASKED "error: answers sent, but no command asked for any"

#endif
