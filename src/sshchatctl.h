/*
 * Private to sshchatctl's two files: sshchatctl.c (options, the
 * connection, records, passwords, one command or a script) and
 * sshchatctl_console.c (the interactive readline console).
 */
#ifndef SSHCHATCTL_H
#define SSHCHATCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

extern int sock;		/* the admin socket */
extern char *rbuf;		/* RECORD_MAX + 1: the last record read */
extern bool rl_installed;	/* the console's readline handler */
extern bool quitting;
extern bool lost;		/* the daemon closed the connection */
/* Signals: the handler only restores the terminal, sets flags, wakes. */
extern int sig_pipe[2];
extern volatile sig_atomic_t got_sigint, got_sigwinch;
extern volatile sig_atomic_t console_saved;	/* stdin's modes saved */
extern struct termios console_termios;

/* Async-signal-safe: put the terminal back as it was. */
void restore_terminal(void);
void drain_sig_pipe(void);
/* Print a record's text, ending it with a newline if it has none. */
void print_payload(FILE *fp, const char *data, size_t len);
bool send_record(int type, const void *data, size_t len);
bool recv_record(int *type, size_t *len);
/*
 * Run one command line on the daemon and print what it answers.
 * Returns the command's status, or -1 when the connection was lost.
 */
int run_command(const char *line, size_t len);
bool is_blank_line(const char *line);
/* "quit" or "exit" alone on the line: leave, without asking the daemon. */
bool is_quit(const char *line);

/* sshchatctl_console.c: the console on a terminal; its exit status. */
int console(void);

#endif
