/*
 * Starting a session's sshchat-shell.  The one function that creates the
 * process, so the later fork-server design replaces only this.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct shell_proc {
	pid_t pid;
	bool pty;
	int in_fd;	/* we write the user's input here (PTY master or pipe) */
	int out_fd;	/* we read the shell's output here (PTY master or pipe) */
	int err_fd;	/* the shell's stderr without a PTY, else -1 */
	int core_fd;	/* our end of the record socket */
};

struct spawn_req {
	const char *path;	/* sshchat-shell */
	const char *user;
	bool pty;
	const char *term;	/* TERM from pty-req */
	int cols, rows;
	const char *command;	/* exec request, or NULL */
	int max_line;		/* MaxLineLength, for the shell's cap */
};

int spawn_shell(const struct spawn_req *req, struct shell_proc *sp,
    char *err, size_t errlen);
/* Close our fds of the shell (not core_fd) and reap it; returns status. */
int spawn_reap(struct shell_proc *sp, int timeout_ms);

#endif
