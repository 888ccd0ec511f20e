/*
 * The admin socket: the accept thread and one thread per sshchatctl
 * connection.  This module decides who may connect (file mode 0600 and
 * SO_PEERCRED: root or the daemon's own user), frames records and runs
 * each command line through command_run() with the admin role.  It
 * knows nothing about what the commands do and never touches a chat
 * session itself; the audit line is written by command_run().
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "command.h"
#include "log.h"
#include "messages.h"
#include "record.h"
#include "runner.h"
#include "userdb.h"
#include "util.h"

#define ADMIN_STACK (256 * 1024)
#define STOP_WAIT_MS 10000	/* admin_stop waits this long for commands */
#define SEND_TIMEOUT_S 5	/* a client that stops reading is dropped */

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	char user[64];
	char origin[64];
	bool json;
	bool broken;		/* a send failed: the client is gone */
	struct runner run;	/* its lines, and one waiting for answers */
	char *buf;		/* RECORD_MAX + 1 bytes */
};

static struct {
	int fd;			/* the listening socket */
	int stop_fd;		/* eventfd: written once by admin_stop */
	char *path;
	dev_t dev;		/* the socket file we made, so that */
	ino_t ino;		/* admin_stop removes no other one */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int nconns;		/* connection threads running */
} adm = {
	.fd = -1,
	.stop_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* Does a server answer on the socket at sa?  1 yes, 0 no (stale), -1. */
static int
socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0) {
		return -1;
	}
	/* NOLINTNEXTLINE(bugprone-branch-clone): "in use" for two reasons */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		rc = 1;
	} else if (errno == ECONNREFUSED || errno == ENOENT) {
		rc = 0;
	} else if (errno == EAGAIN || errno == EPROTOTYPE) {
		/* A full backlog, or a socket of another type: in use. */
		rc = 1;
	} else {
		rc = -1;
	}
	close(fd);
	return rc;
}

int
admin_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, alive;

	if (adm.fd >= 0) {
		if (strcmp(path, adm.path) == 0) {
			return 0;
		}
		snprintf(err, errlen, "admin socket: already listening on %s",
		    adm.path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "admin socket %s: the path must be 1 to "
		    "%zu bytes long", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "admin socket %s: the file "
			    "exists and is not a socket", path);
			return -1;
		}
		alive = socket_alive(&sa);
		if (alive > 0) {
			snprintf(err, errlen, "admin socket %s: another daemon "
			    "is listening there (is sshchatd already running "
			    "with this state directory?)", path);
			return -1;
		}
		if (alive < 0) {
			snprintf(err, errlen, "admin socket %s: cannot tell "
			    "whether it is in use: %s", path, strerror(errno));
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "admin socket %s: cannot remove "
			    "the stale socket: %s", path, strerror(errno));
			return -1;
		}
		info("admin socket %s: removed a stale socket", path);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "admin socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "admin socket: socket: %s",
		    strerror(errno));
		return -1;
	}
	/*
	 * On Linux bind() gives the file the mode of the socket's inode
	 * (less the umask): owner-only from its first instant, with no
	 * process-wide umask change while other threads run.
	 */
	if (fchmod(fd, 0600) < 0) {
		snprintf(err, errlen, "admin socket: fchmod: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "admin socket %s: cannot bind: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0 ||
	    listen(fd, ADMIN_MAX_CONNECTIONS) < 0) {
		snprintf(err, errlen, "admin socket %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	adm.dev = st.st_dev;
	adm.ino = st.st_ino;
	adm.fd = fd;
	adm.path = xstrdup(path);
	return 0;
}

static void
send_record(struct conn *c, int type, const char *data, size_t len)
{
	if (c->broken) {
		return;
	}
	if (record_send(c->fd, type, data, len) < 0) {
		debug("admin connection (%s): send: %s", c->origin,
		    strerror(errno));
		c->broken = true;
	}
}

static void
send_done(struct conn *c, int status)
{
	char st[16];

	snprintf(st, sizeof(st), "%d", status);
	send_record(c, REC_DONE, st, strlen(st));
}

static void
send_error(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_error(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	send_record(c, REC_ERROR, text, strlen(text));
	free(text);
}

/* cmd_ctx.emit: one record to the sshchatctl client. */
static void
emit(struct cmd_ctx *ctx, int type, const char *text, size_t len)
{
	struct conn *c = ctx->arg;

	/* command.c hands us pieces that fit in a record. */
	send_record(c, type, text, len);
}

static void
line_done(struct runner *r, int status)
{
	send_done(r->ctx.arg, status);
}

static void
line_refused(struct runner *r, const char *why)
{
	send_error(r->ctx.arg, "%s", why);
}

static void
cancel_pending(struct conn *c)
{
	if (runner_cancel(&c->run)) {
		send_error(c, ERR_ADMIN_CANCELLED);
		send_done(c, 1);
	}
}

/*
 * One record into c->buf.  A record longer than RECORD_MAX arrives cut
 * short on a SEQPACKET socket: *truncated says so.
 */
static ssize_t
recv_record(struct conn *c, int *type, bool *truncated)
{
	struct iovec iov = { .iov_base = c->buf, .iov_len = RECORD_MAX };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	do {
		/* No control buffer: any file descriptors sent are dropped. */
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	*truncated = false;
	if (n <= 0) {
		*type = 0;
		return n;
	}
	*truncated = (mh.msg_flags & MSG_TRUNC) != 0;
	*type = (unsigned char)c->buf[0];
	memmove(c->buf, c->buf + 1, (size_t)n - 1);
	c->buf[n - 1] = '\0';
	return n - 1;
}

static void
peer_name(uid_t uid, char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		snprintf(out, outlen, "%s", pw.pw_name);
	} else {
		snprintf(out, outlen, "uid %u", (unsigned)uid);
	}
}

/* Handle one record; returns false when the connection should end. */
static bool
handle_record(struct conn *c, int type, char *data, size_t len)
{
	struct buf b = { 0 };
	bool was_pending = runner_waiting(&c->run);

	if (was_pending && type != REC_SECRETS) {
		cancel_pending(c);
	}
	switch (type) {
	case REC_OPTIONS:
		c->json = strcmp(data, "json") == 0;
		c->run.ctx.json = c->json;
		break;
	case REC_LINE:
		runner_line(&c->run, data, len);
		break;
	case REC_SECRETS:
		if (!runner_answers(&c->run, data, len)) {
			send_error(c, ERR_ADMIN_UNASKED);
		}
		break;
	case REC_COMPLETE:
		command_complete(data, ROLE_ADMIN, &b);
		send_record(c, REC_COMPLETIONS, b.data != NULL ? b.data : "",
		    b.len);
		buf_free(&b);
		break;
	case REC_LOGOUT:
		/* A cancel (done above), or the client saying goodbye. */
		return was_pending;
	default:
		debug("admin connection (%s): unknown record type %d",
		    c->origin, type);
		break;
	}
	return true;
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	bool truncated;
	int type;

	(void)pthread_setname_np(pthread_self(), "ctl");
	peer_name(c->uid, c->user, sizeof(c->user));
	c->run = (struct runner){
		.ctx = {
			.user = c->user,
			.origin = c->origin,
			.role = ROLE_ADMIN,
			.json = c->json,
			.emit = emit,
			.arg = c,
		},
		.done = line_done,
		.on_refused = line_refused,
	};
	debug("admin connection from %s (%s)", c->origin, c->user);
	while (!c->broken) {
		enum wait_result w = wait_or_stop(c->fd, adm.stop_fd, -1);
		ssize_t n;

		if (w == WAIT_ERROR) {
			error("poll: %s", strerror(errno));
		}
		if (w != WAIT_READY) {
			break;
		}
		n = recv_record(c, &type, &truncated);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				continue;
			}
			debug("admin connection (%s): %s", c->origin,
			    strerror(errno));
			break;
		}
		if (n == 0 && type == 0) {
			break;
		}
		if (truncated) {
			secure_zero(c->buf, (size_t)n);
			cancel_pending(c);
			warn("admin connection (%s): record longer than %d "
			    "bytes refused", c->origin, RECORD_MAX);
			send_error(c, ERR_ADMIN_TOO_LONG, RECORD_MAX - 1);
			if (type == REC_LINE || type == REC_SECRETS) {
				send_done(c, 1);
			}
			continue;
		}
		if (!handle_record(c, type, c->buf, (size_t)n)) {
			break;
		}
	}
	runner_free(&c->run);
	debug("admin connection closed (%s)", c->origin);
	close(c->fd);
	secure_zero(c->buf, RECORD_MAX + 1);
	free(c->buf);
	free(c);

	pthread_mutex_lock(&adm.lock);
	adm.nconns--;
	pthread_cond_broadcast(&adm.cond);
	pthread_mutex_unlock(&adm.lock);
	return NULL;
}

/*
 * Refuse a connection with a reason.  What the client already sent is
 * read first: closing a socket with unread data would make the client
 * see ECONNRESET instead of the reason.
 */
static void
refuse(int fd, const char *text)
{
	char junk[512];

	set_nonblock(fd, true);
	(void)record_send(fd, REC_ERROR, text, strlen(text));
	shutdown(fd, SHUT_WR);
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_TRUNC) > 0) {
	}
	close(fd);
}

static void
accept_one(int fd)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	char *msg;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		error("admin socket: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if (cr.uid != 0 && cr.uid != geteuid()) {
		warn("admin socket: refused uid %u pid %ld (only root and uid "
		    "%u may connect)", (unsigned)cr.uid, (long)cr.pid,
		    (unsigned)geteuid());
		msg = xasprintf(ERR_ADMIN_DENIED, (unsigned)cr.uid,
		    (unsigned)geteuid());
		refuse(fd, msg);
		free(msg);
		return;
	}
	pthread_mutex_lock(&adm.lock);
	if (adm.nconns >= ADMIN_MAX_CONNECTIONS) {
		pthread_mutex_unlock(&adm.lock);
		warn("admin socket: refused uid %u pid %ld: %d connections "
		    "already", (unsigned)cr.uid, (long)cr.pid, adm.nconns);
		msg = xasprintf(ERR_ADMIN_BUSY, ADMIN_MAX_CONNECTIONS);
		refuse(fd, msg);
		free(msg);
		return;
	}
	adm.nconns++;
	pthread_mutex_unlock(&adm.lock);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		warn("admin socket: SO_SNDTIMEO: %s", strerror(errno));
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->buf = xmalloc(RECORD_MAX + 1);
	snprintf(c->origin, sizeof(c->origin), "socket uid=%u pid=%ld",
	    (unsigned)cr.uid, (long)cr.pid);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, ADMIN_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		error("admin socket: pthread_create: %s", strerror(rc));
		close(fd);
		free(c->buf);
		free(c);
		pthread_mutex_lock(&adm.lock);
		adm.nconns--;
		pthread_cond_broadcast(&adm.cond);
		pthread_mutex_unlock(&adm.lock);
	}
}

static void *
accept_main(void *arg)
{
	(void)pthread_setname_np(pthread_self(), "ctl-accept");
	for (;;) {
		enum wait_result w = wait_or_stop(adm.fd, adm.stop_fd, -1);
		int fd;

		if (w == WAIT_ERROR) {
			error("poll: %s", strerror(errno));
		}
		if (w != WAIT_READY) {
			break;
		}
		/* cppcheck's gnu.cfg says addrlen must not be NULL: it may. */
		/* cppcheck-suppress nullPointer */
		fd = accept4(adm.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ECONNABORTED) {
				continue;
			}
			error("admin socket: accept: %s", strerror(errno));
			/* Out of fds or memory: do not spin. */
			poll(NULL, 0, 100);
			continue;
		}
		accept_one(fd);
	}
	return NULL;
}

int
admin_start(const char *path, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int rc;

	if (adm.started) {
		return 0;
	}
	if (admin_listen(path, err, errlen) < 0) {
		return -1;
	}
	adm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (adm.stop_fd < 0) {
		snprintf(err, errlen, "admin socket: eventfd: %s",
		    strerror(errno));
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, ADMIN_STACK);
	rc = pthread_create(&adm.thread, &attr, accept_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "admin socket: pthread_create: %s",
		    strerror(rc));
		close(adm.stop_fd);
		adm.stop_fd = -1;
		return -1;
	}
	adm.started = true;
	info("admin socket %s", adm.path);
	return 0;
}

void
admin_stop(void)
{
	struct timespec ts;
	struct stat st;
	uint64_t one = 1;
	int left;

	if (adm.started) {
		/* Never read: every poller sees it from now on. */
		(void)!write(adm.stop_fd, &one, sizeof(one));
		pthread_join(adm.thread, NULL);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STOP_WAIT_MS / 1000;
		pthread_mutex_lock(&adm.lock);
		while (adm.nconns > 0) {
			if (pthread_cond_timedwait(&adm.cond, &adm.lock,
			    &ts) != 0) {
				break;
			}
		}
		left = adm.nconns;
		pthread_mutex_unlock(&adm.lock);
		if (left > 0) {
			/* They still poll stop_fd: leave it open. */
			warn("%d admin connections did not end in time", left);
		} else {
			close(adm.stop_fd);
			adm.stop_fd = -1;
		}
		adm.started = false;
	}
	if (adm.fd >= 0) {
		close(adm.fd);
		adm.fd = -1;
		if (lstat(adm.path, &st) == 0 && st.st_dev == adm.dev &&
		    st.st_ino == adm.ino && unlink(adm.path) < 0) {
			warn("admin socket %s: unlink: %s", adm.path,
			    strerror(errno));
		}
		free(adm.path);
		adm.path = NULL;
	}
}
