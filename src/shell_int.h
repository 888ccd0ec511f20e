/*
 * Private to sshchat-shell's two files: shell.c (readline, the records
 * from the daemon, the screen report, the main loops) and shell_term.c
 * (the terminal: the output buffer, the key buffer, raw mode and size).
 * The state is three structs, one instance each, defined in shell.c
 * (readline's callbacks take no argument).
 */
#ifndef SHELL_INT_H
#define SHELL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

/*
 * The terminal: fd 2 (a PTY, the controlling terminal) for its size and
 * modes; with a PTY, fds 0 and 1 are a socket to the daemon that carries
 * the keys and the screen bytes (spawn.c says why).
 *
 * Terminal output (interactive mode only): stdout, stderr and readline's
 * rl_outstream all are tty.out, an unbuffered stream whose writes land in
 * obuf, so readline's own fflush() calls cost nothing.  flush_out()
 * writes obuf to the terminal (non-blocking): the main loop calls it when
 * nothing more is ready to read, or when OUT_HIGH bytes are waiting.  A
 * terminal that does not drain keeps the rest in obuf (POLLOUT); above
 * OUT_HIGH the shell reads neither keys nor records until it drains, so
 * obuf stays within OUT_HIGH plus what one key or one record prints.
 *
 * raw: the terminal was made raw, so the counts of the screen report are
 * what the daemon counts on its end.
 */
#define TTY_FD STDERR_FILENO
#define OUT_HIGH 16384
#define OUT_KEEP 4096		/* a larger obuf is freed once empty */

struct tty {
	const char *name;	/* the session's TERM */
	const char *loaded;	/* readline is set up for this TERM */
	bool raw;
	int cols;		/* the width readline was last given */
	FILE *out;
	struct buf obuf;
	size_t ooff;		/* written so far */
	bool blocked;		/* the terminal said EAGAIN: wait for POLLOUT */
	uint64_t written;	/* bytes put in obuf for it */
	struct buf *capture;	/* out goes here instead while reporting */
};
extern struct tty tty;

/*
 * Keystrokes reach readline through a buffer of the shell's own
 * (rl_getc_function), so the shell can cap a line: past the cap, input
 * is skipped in bulk up to the end of the line or paste, and a 10 MiB
 * line without a newline costs a memchr, not 10 MiB of line editing.
 *
 * The buffer is allocated once, at start (by the zygote for all its
 * children), not in the program's data: there it lay across two pages
 * among the variables every shell writes, so that even a shell nobody
 * types in copied both.  Now only typing costs a shell a page of it.
 */
#define KEYS_SIZE 4096
#define PASSWORD_LINE_MAX 1024

struct input {
	unsigned char *keys;	/* KEYS_SIZE bytes, keys[pos..len) unread */
	size_t pos, len;
	uint64_t read_total;	/* bytes read from the terminal */
	bool eof;
	size_t max_line;	/* the line cap */
	size_t line_bytes;	/* given to readline since the line began */
	bool overflow;		/* this line went over the cap */
	size_t paste_seen;	/* skip_overflow(): bytes of paste_end seen */
	bool ready;		/* readline is set up (setup_readline) */
	bool installed;		/* the readline handler is installed */
	char *prompt;		/* the prompt readline shows */
	char **commands;	/* NUL-separated list from the daemon */
	size_t ncommands;
	char **matches;		/* completion candidates being offered */
	size_t nmatches;
	size_t match_pos;	/* generate(): the next candidate */
};
extern struct input in;

/* Records held back while completion waits for its answer. */
struct pending {
	struct pending *next;
	int type;
	size_t len;
	char data[];
};

/*
 * fd 3, the record socket to the daemon: where records land, what waits,
 * how many were read, and the screen as last reported.
 */
struct link {
	char *rbuf;		/* RECORD_MAX + 1 bytes */
	struct pending *head, *tail;
	uint64_t recs;		/* records read from the daemon */
	struct {
		uint64_t in, out, recs;
		int cols;
		bool sent;
	} reported;
	bool logging_out;
	int exit_status;	/* the status REC_EXIT exits with */
};
extern struct link server;

/* shell_term.c: terminal output (interactive mode only). */
size_t tty_pending(void);
/* Write what obuf holds, as far as the terminal takes it. */
void tty_flush(void);
/* Write all of obuf, waiting for the terminal: the shell is ending. */
void tty_drain(void);
void tty_open_out(void);
void tty_note_size(void);
/* Raw mode, the controlling terminal, readline for the session's TERM. */
void tty_setup(void);

/* shell_term.c: keys. */
bool keys_read(void);
bool keys_fill(void);
int keys_getc(FILE *fp);
int keys_available(void);
bool keys_read_line(struct buf *b, size_t cap, bool *too_long);
bool keys_read_secret(struct buf *b, size_t cap);

#endif
