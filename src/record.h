/*
 * The record protocol between the daemon and sshchat-shell on fd 3: a
 * SOCK_SEQPACKET socket, one record per packet, a type byte then the
 * payload.  Records keep message boundaries, so a pasted block with
 * embedded newlines is one LINE record.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <sys/types.h>

#define RECORD_MAX 65536	/* largest record, type byte included */
#define SHELL_FD 3		/* the shell's end of the socket */

enum record_type {
	/* shell -> daemon */
	REC_LINE = 'L',		/* a line the user entered */
	REC_LOGOUT = 'Q',	/* Ctrl-D on an empty line, or end of input */
	REC_STATUS = 'Z',	/* the shell is exiting with this status */
	REC_COMPLETE = 'C',	/* completion request: payload is the word */
	REC_SECRETS = 'S',	/* answers to REC_ASK, NUL-separated */
	REC_OPTIONS = 'O',	/* admin socket: "json" asks for JSON output */
	/*
	 * The shell is idle: "IN OUT RECS COLS ERASE\n" (decimal: bytes read
	 * from the terminal, bytes written to it, records read, its width,
	 * the length of the erase bytes), then the bytes that erase the
	 * prompt and the line being edited, then the bytes that draw them
	 * again.  Text written between the two shows above the line.  An
	 * empty one: the shell cannot report (its terminal is not raw).
	 * Until the first report the daemon keeps the user's keys.
	 */
	REC_SCREEN = 'R',
	/* daemon -> shell */
	REC_TEXT = 'T',		/* rendered text to print, one or more lines */
	REC_ERROR = 'E',	/* like TEXT; stderr when there is no terminal */
	REC_PROMPT = 'P',	/* the prompt; the first one starts line editing */
	REC_COMMANDS = 'K',	/* command names, NUL-separated */
	REC_COMPLETIONS = 'c',	/* answer to REC_COMPLETE, NUL-separated */
	REC_DONE = 'D',		/* a command finished: payload is its status */
	REC_EXIT = 'X',		/* print the payload and exit */
	REC_ASK = 'A',		/* read secrets without echo: NUL-separated prompts */
};

/* Send one record; returns 0, or -1 with errno set. */
int record_send(int fd, int type, const void *data, size_t len);
/* The same, but fails with EAGAIN instead of waiting for room. */
int record_send_nowait(int fd, int type, const void *data, size_t len);
/*
 * Receive one record into buf (RECORD_MAX bytes).  Returns the payload
 * length and sets *type, 0 with *type = 0 at end of stream, or -1 with
 * errno set.  The payload is NUL-terminated in buf (after the type byte
 * is removed), so buf needs room for RECORD_MAX + 1 bytes.
 */
ssize_t record_recv(int fd, int *type, char *buf);

/*
 * The items of a NUL-separated list payload (REC_COMMANDS,
 * REC_COMPLETIONS) of len bytes, as malloc'd copies, empty items
 * skipped; a missing NUL after the last item is allowed.  Returns a
 * NULL-terminated array (never NULL; { NULL } for no items) and sets *n
 * to the number of items.  Free with record_free_list().
 */
char **record_split_list(const char *data, size_t len, size_t *n);
void record_free_list(char **list);

/*
 * Split, in place, the answers of a REC_SECRETS payload (or the prompts
 * of a REC_ASK) as record_recv() returns it: len bytes followed by a NUL.
 * Empty items are kept (an empty answer is an answer); a trailing NUL
 * ends the last item and does not start a new one.  Stores at most max
 * pointers into data in out and returns how many.
 */
size_t record_split_answers(char *data, size_t len, char **out, size_t max);

#endif
