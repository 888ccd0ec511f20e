/*
 * posix_spawn of sshchat-shell with POSIX_SPAWN_SETSID, its terminal (or
 * pipes) on 0-2 and the record socket on fd 3.  Every other fd is closed
 * in the child, so no shell ever holds another user's socket or PTY.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "record.h"
#include "spawn.h"
#include "util.h"

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int
spawn_shell(const struct spawn_req *req, struct shell_proc *sp, char *err,
    size_t errlen)
{
	int sv[2] = { -1, -1 }, in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int errp[2] = { -1, -1 }, master = -1, slave = -1, rc = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *envp[8], *argv[10], maxline[16];
	int argc = 0, envc = 0;

	snprintf(maxline, sizeof(maxline), "%d", req->max_line);
	memset(sp, 0, sizeof(*sp));
	sp->in_fd = sp->out_fd = sp->err_fd = sp->core_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (req->pty) {
		struct winsize ws = { .ws_row = (unsigned short)req->rows,
			.ws_col = (unsigned short)req->cols };

		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			snprintf(err, errlen, "openpty: %s", strerror(errno));
			goto out;
		}
		set_cloexec(master);
		set_cloexec(slave);
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}

	posix_spawn_file_actions_init(&fa);
	if (req->pty) {
		posix_spawn_file_actions_adddup2(&fa, slave, 0);
		posix_spawn_file_actions_adddup2(&fa, slave, 1);
		posix_spawn_file_actions_adddup2(&fa, slave, 2);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	}
	posix_spawn_file_actions_adddup2(&fa, sv[1], SHELL_FD);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	posix_spawn_file_actions_addclosefrom_np(&fa, SHELL_FD + 1);
#endif
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	argv[argc++] = (char *)req->path;
	argv[argc++] = (char *)"-u";
	argv[argc++] = (char *)req->user;
	argv[argc++] = (char *)"-m";
	argv[argc++] = maxline;
	if (req->command != NULL) {
		argv[argc++] = (char *)"-c";
		argv[argc++] = (char *)req->command;
	}
	argv[argc] = NULL;
	envp[envc++] = xasprintf("TERM=%s",
	    req->term != NULL && req->term[0] ? req->term : "dumb");
	envp[envc++] = xstrdup("LANG=C.UTF-8");
	envp[envc++] = xstrdup("HOME=/");
	envp[envc++] = xasprintf("USER=%s", req->user);
	envp[envc] = NULL;

	rc = posix_spawn(&sp->pid, req->path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (int i = 0; i < envc; i++) {
		free(envp[i]);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot start %s: %s", req->path,
		    strerror(rc));
		rc = -1;
		goto out;
	}
	sp->pty = req->pty;
	sp->core_fd = sv[0];
	sv[0] = -1;
	if (req->pty) {
		sp->in_fd = master;
		sp->out_fd = dup(master);
		set_cloexec(sp->out_fd);
		master = -1;
	} else {
		sp->in_fd = in[1];
		sp->out_fd = out[0];
		sp->err_fd = errp[0];
		in[1] = out[0] = errp[0] = -1;
	}
	set_nonblock(sp->in_fd, true);
	set_nonblock(sp->out_fd, true);
	if (sp->err_fd >= 0) {
		set_nonblock(sp->err_fd, true);
	}
	rc = 0;
out:
	close_fd(&sv[0]);
	close_fd(&sv[1]);
	close_fd(&master);
	close_fd(&slave);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	return rc;
}

int
spawn_reap(struct shell_proc *sp, int timeout_ms)
{
	int status = 0, waited = 0;
	pid_t r;

	close_fd(&sp->in_fd);
	close_fd(&sp->out_fd);
	close_fd(&sp->err_fd);
	if (sp->pid <= 0) {
		return -1;
	}
	for (;;) {
		r = waitpid(sp->pid, &status, WNOHANG);
		if (r == sp->pid || (r < 0 && errno != EINTR)) {
			break;
		}
		if (waited >= timeout_ms) {
			/* A hung-up shell that does not exit is killed. */
			kill(-sp->pid, SIGKILL);
			kill(sp->pid, SIGKILL);
			while (waitpid(sp->pid, &status, 0) < 0 &&
			    errno == EINTR) {
			}
			break;
		}
		if (waited == 0) {
			kill(-sp->pid, SIGHUP);
		}
		struct timespec ts = { 0, 10 * 1000000 };

		nanosleep(&ts, NULL);
		waited += 10;
	}
	sp->pid = -1;
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
