/*
 * The sd_notify(3) protocol: one datagram per notification to the
 * AF_UNIX socket named by NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace).  Written out here (as OpenSSH 9.8 does) rather than linked
 * from libsystemd, which would bring its compression libraries into a
 * network daemon for sixty lines of work.  It owns the socket; it must
 * not decide when the daemon is ready (sshchatd.c, daemon.c and
 * listener.c say so).  A notification that cannot be sent is dropped: a
 * daemon never stops serving because its service manager went away.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "util.h"

static int notify_fd = -1;
static int64_t watchdog_ms;
static _Atomic int64_t last_ping;

void
notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;

	if (usec != NULL && (wpid == NULL ||
	    strtol(wpid, NULL, 10) == (long)getpid())) {
		long long us = strtoll(usec, NULL, 10);

		/* At most half the interval apart (sd_watchdog_enabled(3)). */
		watchdog_ms = us >= 2000 ? us / 2000 : 0;
	}
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sun.sun_path) || n < 2) {
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
	}
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0) {
		warn("NOTIFY_SOCKET %s: socket: %s", path, strerror(errno));
	} else if (connect(notify_fd, (struct sockaddr *)&sun, len) < 0) {
		warn("NOTIFY_SOCKET %s: %s", path, strerror(errno));
		close(notify_fd);
		notify_fd = -1;
	}
out:
	if (notify_fd < 0) {
		watchdog_ms = 0;
	}
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
	last_ping = now_ms();
}

void
notify_send(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (notify_fd < 0) {
		return;
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
		debug("sd_notify: %s", strerror(errno));
	}
	free(msg);
}

int64_t
notify_watchdog_ms(void)
{
	return watchdog_ms / 2;
}

void
notify_watchdog(void)
{
	int64_t now;

	if (watchdog_ms <= 0) {
		return;
	}
	/*
	 * Called at least every watchdog_ms / 2 (the listener's poll
	 * timeout): pinging once half of that passed keeps two pings at
	 * most watchdog_ms apart.
	 */
	now = now_ms();
	if (now - last_ping >= watchdog_ms / 2) {
		last_ping = now;
		notify_send("WATCHDOG=1");
	}
}
