/*
 * The admin socket: a UNIX SOCK_SEQPACKET socket (mode 0600) that
 * sshchatctl talks to with the record protocol of record.h.  Only root
 * and the daemon's own user may connect (SO_PEERCRED).
 *
 * On a connection the client sends:
 *   REC_OPTIONS  "json": later commands answer in JSON (send it first);
 *   REC_LINE     one command line, run as command_run() does for a chat
 *                session, with the admin role; the daemon answers with
 *                REC_TEXT / REC_ERROR records and then REC_DONE carrying
 *                the decimal status (0 ok, 1 failed);
 *   REC_SECRETS  the answers to a REC_ASK, NUL-separated: a command that
 *                needs a password sends REC_ASK (NUL-separated prompts)
 *                and no REC_DONE; the client answers and the same line
 *                runs again with the answers, then REC_DONE follows;
 *   REC_LOGOUT   while a command waits for answers: cancel it (REC_ERROR
 *                and REC_DONE 1 follow); otherwise: close the connection;
 *   REC_COMPLETE the line up to the cursor; the answer, REC_COMPLETIONS,
 *                lists (NUL-separated) command names when the last word
 *                is the first one of the line (or follows "help"), and
 *                account and online user names otherwise.
 * Any other record sent while a command waits for answers cancels it
 * first, as REC_LOGOUT does.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <stddef.h>

#define ADMIN_SOCKET_NAME "sshchatd.sock"	/* in the state directory */
#define ADMIN_MAX_CONNECTIONS 16

/*
 * Create the socket at path and listen, without starting any thread, so
 * it can run before daemon(3) forks and report problems on stderr.  A
 * stale socket (nothing answers on it) is replaced; a live one means
 * another daemon uses it, and admin_listen fails.  Returns 0, or -1 with
 * a reason in err.
 */
int admin_listen(const char *path, char *err, size_t errlen);

/*
 * Start the accept thread, after admin_listen(path) (if it was not
 * called, admin_start calls it).  Threads inherit the caller's signal
 * mask: block the daemon's signals first.  Returns 0, or -1 with err.
 */
int admin_start(const char *path, char *err, size_t errlen);

/*
 * Stop accepting, let the commands that are running finish (a few
 * seconds at most), close every admin connection and remove the socket.
 * Safe to call when admin_start was never called.
 */
void admin_stop(void);

/*
 * The answer to a REC_COMPLETE on the admin socket, for the line up to
 * the cursor, appended to out as NUL-separated words.  Public so that
 * a unit test can call it without a socket.
 */
struct buf;

#endif
