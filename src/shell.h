/*
 * The chat shell of one session (shell.c), as its two callers see it:
 * shell_main.c, which runs one shell directly, and the zygote (zygote.c),
 * which sets readline up once and forks a shell per session.  The shell
 * knows neither of them.
 */
#ifndef SHELL_H
#define SHELL_H

#include <stdbool.h>

#ifdef __GLIBC__
#include <malloc.h>
#if __GLIBC_PREREQ(2, 33)
#define GLIBC_MALLOC 1	/* malloc_trim(), mallinfo2() */
#endif
#endif

/*
 * Once per process, before anything else allocates: the key buffer
 * (allocated by the zygote for all its children, so that it lies in
 * the heap, not among the variables every shell writes).
 */
void shell_init(void);

/* The session's terminal type (TERM), or NULL for none. */
void shell_set_term(const char *name);

/* The line cap (-m), as decimal text; 0 or too large: RECORD_MAX - 1. */
void shell_set_max_line(const char *text);

/*
 * Run the shell on fds 0-3 (a PTY on fd 2 makes it interactive; command:
 * run that one line and exit) until it ends.  It never returns: it tells
 * the daemon its exit status (REC_STATUS) and exits.
 */
void shell_run(const char *command) __attribute__((noreturn));

/*
 * For the zygote.  Everything about readline that does not depend on
 * the session; then shell_load_term() sets it up for one terminal type,
 * whose name must outlive the process (a string constant): a shell run
 * later on that TERM only reads its size.
 */
void shell_setup_readline(void);
void shell_load_term(const char *name);
const char *shell_loaded_term(void);

/*
 * For the zygote's heap tuning: let readline allocate what its first
 * prompt allocates, without showing one; and allocate a new record
 * buffer, returning the old one (NULL at first) for the caller to free
 * when its place in the heap no longer matters.
 */
void shell_prime_readline(void);
char *shell_renew_rbuf(void);

#endif
