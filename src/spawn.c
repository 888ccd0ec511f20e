/*
 * posix_spawn of sshchat-shell with POSIX_SPAWN_SETSID, its terminal (or
 * pipes) on 0-2 and the record socket on fd 3.  Every other fd is closed
 * in the child, so no shell ever holds another user's socket or PTY.
 *
 * A chat shell's terminal is a PTY, its controlling terminal on fd 2:
 * its size (TIOCSWINSZ, SIGWINCH), its modes, and anything written to
 * fd 2.  The keys and the screen bytes go over a stream socket on fds 0
 * and 1 instead of through the PTY: Linux's pty driver hands every write
 * to a kworker thread (flush_to_ldisc) before the other end can read it,
 * two more thread switches for each typed line and its echo, which cost
 * a fifth of the throughput of `msg` (bench/RESULTS.md).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

/*
 * The socket's buffer each way, about what a PTY holds: flow control
 * (the SSH window, InputRate, the shell's own output limit) stays as
 * with a PTY, and a session that does not read pins little memory.
 */
#define TERM_SOCKBUF (16 * 1024)

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* The terminal's data socket: keys one way, screen bytes the other. */
static int
term_socket(int sv[2])
{
	int size = TERM_SOCKBUF;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		/* Best effort: the default is larger, never wrong. */
		(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof(size));
	}
	return 0;
}

/*
 * What every shell process gets: a session of its own, default signal
 * dispositions and an empty mask (the daemon blocks signals in every
 * thread), and no fd above 3.  The caller has set up fds 0-3.
 */
static void
spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr)
{
	sigset_t none, all;

#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	posix_spawn_file_actions_addclosefrom_np(fa, SHELL_FD + 1);
#endif
	posix_spawnattr_init(attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &all);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

/* Whether the process behind pidfd has ended, waiting up to ms. */
static bool
pidfd_ended(int pidfd, int ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int64_t deadline = now_ms() + ms;
	int n;

	for (;;) {
		n = poll(&pfd, 1, ms);
		if (n >= 0 || errno != EINTR) {
			return n != 0;
		}
		if ((ms = (int)(deadline - now_ms())) < 0) {
			ms = 0;
		}
	}
}

/*
 * Signal a shell and its process group (it is a session leader).  The
 * caller has just seen it alive through its pidfd: while it lives, its
 * pid cannot be anyone else's.  (pidfd_send_signal(2) would also close
 * the microseconds between that poll() and this kill(), but valgrind
 * 3.19, which runs tests/valgrind-smoke.sh, does not know it.)
 */
static void
signal_shell(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0) {
		(void)kill(pid, sig);
	}
}

/*
 * The zygote's reply: a record (type byte, the pid in text), with the
 * shell's pidfd attached when the zygote could open one, else *pidfd is
 * -1.  Returns the payload length, or -1.
 */
static ssize_t
recv_reply(int fd, char *buf, size_t size, int *type, int *pidfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, size - 1 };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	*pidfd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(pidfd, CMSG_DATA(cm), sizeof(int));
		}
	}
	if (n == 0) {
		close_fd(pidfd);
		return -1;
	}
	*type = (unsigned char)buf[0];
	memmove(buf, buf + 1, (size_t)n - 1);
	buf[n - 1] = '\0';
	return n - 1;
}

static pthread_mutex_t zlock = PTHREAD_MUTEX_INITIALIZER;
static int zygote_fd = -1;
static pid_t zygote_pid = -1;
static char *zygote_path;

int
spawn_zygote_start(const char *path, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { (char *)path, (char *)"-Z", NULL };
	/*
	 * No per-thread malloc cache in the zygote and its children: the
	 * zygote fills the holes in its heap before forking (zygote.c,
	 * plug_heap) and needs every free chunk where malloc() finds it.
	 * Every symbol bound at start (LD_BIND_NOW), in the zygote: a child
	 * would otherwise run the lazy binder, whose deep stack frame costs
	 * it a page of its own (96 instead of 100 KB per shell).
	 */
	char *envp[] = { (char *)"LANG=C.UTF-8", (char *)"HOME=/",
		(char *)"GLIBC_TUNABLES=glibc.malloc.tcache_count=0",
		(char *)"LD_BIND_NOW=1", NULL };
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], SHELL_FD);
	spawn_setup(&fa, &attr);
	rc = posix_spawn(&zygote_pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		snprintf(err, errlen, "cannot start %s -Z: %s", path,
		    strerror(rc));
		return -1;
	}
	zygote_fd = sv[0];
	if (zygote_path != path) {
		free(zygote_path);
		zygote_path = xstrdup(path);
	}
	return 0;
}

/*
 * The zygote failed a request: end it and reap it (no zombie left), and
 * start a new one for the shells after this one.  zlock is held.
 */
static void
zygote_restart(void)
{
	char err[256];

	close(zygote_fd);
	zygote_fd = -1;
	(void)kill(zygote_pid, SIGKILL);
	while (waitpid(zygote_pid, NULL, 0) < 0 && errno == EINTR) {
	}
	zygote_pid = -1;
	if (spawn_zygote_start(zygote_path, err, sizeof(err)) < 0) {
		error("the shell zygote failed and cannot be restarted (%s); "
		    "starting shells directly", err);
	} else {
		error("the shell zygote failed; restarted it (pid %ld)",
		    (long)zygote_pid);
	}
}

void
spawn_zygote_stop(void)
{
	pthread_mutex_lock(&zlock);
	if (zygote_fd >= 0) {
		close(zygote_fd);
		zygote_fd = -1;
		while (waitpid(zygote_pid, NULL, 0) < 0 && errno == EINTR) {
		}
		zygote_pid = -1;
	}
	free(zygote_path);
	zygote_path = NULL;
	pthread_mutex_unlock(&zlock);
}

/*
 * Ask the zygote for a shell on fds (stdin, stdout, stderr, record
 * socket).  Returns its pid, or -1 (the zygote is gone or refused).
 */
static pid_t
zygote_fork(const struct spawn_req *req, const int fds[4], int *pidfd)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], reply[64];
	struct buf b = { 0 };
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	pid_t pid = -1;
	ssize_t n;
	int type;
	bool refused = false;

	buf_appendf(&b, "%s", req->user);
	buf_append(&b, "", 1);
	buf_appendf(&b, "%s", req->term != NULL ? req->term : "");
	buf_append(&b, "", 1);
	buf_appendf(&b, "%d", req->max_line);
	buf_append(&b, "", 1);
	buf_appendf(&b, "%s", req->command != NULL ? req->command : "");
	buf_append(&b, "", 1);
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(4 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, 4 * sizeof(int));
	/* One request at a time: the reply must be ours. */
	pthread_mutex_lock(&zlock);
	if (b.len + 1 >= RECORD_MAX) {
		/* Too big for one request: this shell starts directly. */
		pthread_mutex_unlock(&zlock);
		buf_free(&b);
		return -1;
	}
	if (zygote_fd >= 0 &&
	    sendmsg(zygote_fd, &mh, MSG_NOSIGNAL) == (ssize_t)b.len) {
		n = recv_reply(zygote_fd, reply, sizeof(reply), &type, pidfd);
		if (n > 0 && type == REC_DONE) {
			pid = (pid_t)strtol(reply, NULL, 10);
		}
		if (pid <= 0) {
			close_fd(pidfd);
		}
		/* It answered: it refused this one, and serves the next. */
		refused = n > 0 && type == REC_ERROR;
	}
	if (pid <= 0 && zygote_fd >= 0 && !refused) {
		zygote_restart();
	} else if (refused) {
		error("the shell zygote refused a request (%s); starting this "
		    "shell directly", reply);
	}
	pthread_mutex_unlock(&zlock);
	buf_free(&b);
	return pid;
}

int
spawn_shell(const struct spawn_req *req, struct shell_proc *sp, char *err,
    size_t errlen)
{
	int sv[2] = { -1, -1 }, in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int errp[2] = { -1, -1 }, master = -1, slave = -1, rc = -1;
	int data[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *envp[8], *argv[10], maxline[16];
	int argc = 0, envc = 0;

	snprintf(maxline, sizeof(maxline), "%d", req->max_line);
	memset(sp, 0, sizeof(*sp));
	sp->in_fd = sp->out_fd = sp->err_fd = sp->core_fd = sp->pidfd = -1;
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
		if (term_socket(data) < 0) {
			snprintf(err, errlen, "socketpair: %s",
			    strerror(errno));
			goto out;
		}
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}

	if (zygote_fd >= 0) {
		int fds[4] = { req->pty ? data[1] : in[0],
			req->pty ? data[1] : out[1], req->pty ? slave : errp[1],
			sv[1] };

		sp->pid = zygote_fork(req, fds, &sp->pidfd);
		if (sp->pid > 0) {
			sp->zygote = true;
			goto started;
		}
	}
	posix_spawn_file_actions_init(&fa);
	if (req->pty) {
		posix_spawn_file_actions_adddup2(&fa, data[1], 0);
		posix_spawn_file_actions_adddup2(&fa, data[1], 1);
		posix_spawn_file_actions_adddup2(&fa, slave, 2);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	}
	posix_spawn_file_actions_adddup2(&fa, sv[1], SHELL_FD);
	spawn_setup(&fa, &attr);

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
started:
	sp->pty = req->pty;
	sp->core_fd = sv[0];
	sv[0] = -1;
	if (req->pty) {
		/* One fd both ways: a session costs six fds, not seven. */
		sp->in_fd = sp->out_fd = data[0];
		data[0] = -1;
		sp->err_fd = master;
		master = -1;
	} else {
		sp->in_fd = in[1];
		sp->out_fd = out[0];
		sp->err_fd = errp[0];
		in[1] = out[0] = errp[0] = -1;
	}
	set_nonblock(sp->in_fd, true);
	if (sp->out_fd != sp->in_fd) {
		set_nonblock(sp->out_fd, true);
	}
	if (sp->err_fd >= 0) {
		set_nonblock(sp->err_fd, true);
	}
	rc = 0;
out:
	close_fd(&sv[0]);
	close_fd(&sv[1]);
	close_fd(&master);
	close_fd(&slave);
	close_fd(&data[0]);
	close_fd(&data[1]);
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

	if (sp->out_fd == sp->in_fd) {
		sp->out_fd = -1;
	}
	close_fd(&sp->in_fd);
	close_fd(&sp->out_fd);
	close_fd(&sp->err_fd);
	if (sp->pid <= 0) {
		return -1;
	}
	if (sp->zygote && sp->pidfd >= 0) {
		/* Not our child: wait for it to end, then kill it. */
		if (!pidfd_ended(sp->pidfd, 0)) {
			signal_shell(sp->pid, SIGHUP);
			if (!pidfd_ended(sp->pidfd, timeout_ms)) {
				signal_shell(sp->pid, SIGKILL);
			}
		}
		close_fd(&sp->pidfd);
		sp->pid = -1;
		return -1;
	}
	if (sp->zygote) {
		/*
		 * The same by pid, without a pidfd (Linux < 5.3): the pid
		 * may have been reused meanwhile.
		 */
		for (; kill(sp->pid, 0) == 0 && waited < timeout_ms;
		    waited += 10) {
			struct timespec ts = { 0, 10 * 1000000 };

			if (waited == 0) {
				kill(-sp->pid, SIGHUP);
			}
			nanosleep(&ts, NULL);
		}
		if (kill(sp->pid, 0) == 0) {
			kill(-sp->pid, SIGKILL);
			kill(sp->pid, SIGKILL);
		}
		sp->pid = -1;
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
