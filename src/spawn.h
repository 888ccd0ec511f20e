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
	bool zygote;	/* forked by the zygote: not our child */
	int in_fd;	/* we write the user's input here (socket or pipe) */
	/* we read the shell's output here: in_fd's socket, or a pipe */
	int out_fd;
	/*
	 * The shell's stderr: a pipe, or with a PTY its master (the
	 * shell's controlling terminal, whose size we set).
	 */
	int err_fd;
	int core_fd;	/* our end of the record socket */
	int pidfd;	/* a zygote's child: the pidfd the zygote sent, or -1 */
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

/*
 * Start the zygote: one sshchat-shell that initializes readline once and
 * forks each session's shell, which then shares those pages.  Without it
 * (or when it fails) every shell is posix_spawn'ed.
 */
int spawn_zygote_start(const char *path, char *err, size_t errlen);
void spawn_zygote_stop(void);

int spawn_shell(const struct spawn_req *req, struct shell_proc *sp,
    char *err, size_t errlen);
/*
 * Close our fds of the shell (not core_fd), wait for it to end (killing
 * it after timeout_ms) and return its exit status; -1 when the shell was
 * forked by the zygote, whose status arrives as a REC_STATUS record.
 * Such a shell is not our child, and the kernel reaps it at once, so its
 * pid may be reused: it is watched through the pidfd the zygote opened
 * for it (Linux 5.3) and signalled only while that says it runs; by pid
 * alone where pidfds are missing.
 */
int spawn_reap(struct shell_proc *sp, int timeout_ms);

#endif
