/*
 * Listener.  It owns the ssh_bind; it is the only thread that calls
 * ssh_bind_accept_fd, and it passes each new ssh_session to a session
 * thread that owns it from then on.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "conf.h"
#include "daemon.h"
#include "gate.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "ratelimit.h"
#include "router.h"
#include "listener.h"
#include "session.h"
#include "util.h"


static ssh_bind sshbind;
static int stop_fd = -1;
static pthread_t listener;
static bool listener_running;
static int listen_port;

/*
 * KexAlgorithms on a bind.  libssh drops the names it does not know
 * from a list without a word, so each name is tried alone first: a
 * misspelt one stops the daemon instead of quietly narrowing the list.
 */
static int
set_algorithms(ssh_bind b, char *err, size_t errlen)
{
	const char *list = options.kex_algorithms;
	char *copy, *name, *save = NULL;
	ssh_bind probe;
	int rc = 0;

	if (list[0] == '\0') {
		snprintf(err, errlen, "KexAlgorithms: the list is empty");
		return -1;
	}
	probe = ssh_bind_new();
	if (probe == NULL) {
		snprintf(err, errlen, "cannot create the SSH listener");
		return -1;
	}
	copy = xstrdup(list);
	for (name = strtok_r(copy, ",", &save); name != NULL && rc == 0;
	    name = strtok_r(NULL, ",", &save)) {
		if (ssh_bind_options_set(probe, SSH_BIND_OPTIONS_KEY_EXCHANGE,
		    name) < 0) {
			snprintf(err, errlen, "KexAlgorithms: '%s' is not a key "
			    "exchange algorithm this libssh (%s) supports",
			    name, ssh_version(0));
			rc = -1;
		}
	}
	if (rc == 0 && (strstr(list, ",,") != NULL || list[0] == ',' ||
	    list[strlen(list) - 1] == ',')) {
		snprintf(err, errlen, "KexAlgorithms: empty name in '%s'",
		    list);
		rc = -1;
	}
	free(copy);
	ssh_bind_free(probe);
	if (rc == 0 && ssh_bind_options_set(b, SSH_BIND_OPTIONS_KEY_EXCHANGE,
	    list) < 0) {
		snprintf(err, errlen, "KexAlgorithms: %s", ssh_get_error(b));
		rc = -1;
	}
	return rc;
}

int
listener_check_algorithms(char *err, size_t errlen)
{
	ssh_bind b = ssh_bind_new();
	int rc;

	if (b == NULL) {
		snprintf(err, errlen, "cannot create the SSH listener");
		return -1;
	}
	rc = set_algorithms(b, err, errlen);
	ssh_bind_free(b);
	return rc;
}

int
listener_listen(const char *addr, int port, const char *hostkey,
    int *bound_port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	bool no = false;
	int fd;

	memset(&ss, 0, sizeof(ss));	/* for clang-analyzer */
	sshbind = ssh_bind_new();
	if (sshbind == NULL) {
		snprintf(err, errlen, "cannot create the SSH listener");
		return -1;
	}
	/* No system-wide libssh config may change our algorithms. */
	if (ssh_bind_options_set(sshbind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
	    &no) < 0 ||
	    ssh_bind_options_set(sshbind, SSH_BIND_OPTIONS_BINDADDR, addr) < 0 ||
	    ssh_bind_options_set(sshbind, SSH_BIND_OPTIONS_BINDPORT, &port) < 0 ||
	    ssh_bind_options_set(sshbind, SSH_BIND_OPTIONS_HOSTKEY,
	    hostkey) < 0) {
		snprintf(err, errlen, "listener options: %s",
		    ssh_get_error(sshbind));
		return -1;
	}
	if (set_algorithms(sshbind, err, errlen) < 0) {
		return -1;
	}
	if (ssh_bind_listen(sshbind) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", addr,
		    port, ssh_get_error(sshbind));
		return -1;
	}
	fd = ssh_bind_get_fd(sshbind);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	*bound_port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	set_cloexec(fd);
	listen_port = *bound_port;
	return 0;
}

static void
format_addr(const struct sockaddr_storage *ss, char *out, size_t outlen,
    char *ip, size_t iplen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, outlen, "%s:%d", host, port);
	snprintf(ip, iplen, "%s", host);
}

/*
 * TCP keepalive finds peers that vanished without a FIN; the user
 * timeout drops a peer that stops acknowledging what we send.
 */
static void
set_keepalive(int fd)
{
	int on = 1, idle = options.client_alive_interval;
	int cnt = options.client_alive_count_max;
	unsigned timeout = (unsigned)(idle * cnt) * 1000u;

	if (idle <= 0) {
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
	    sizeof(timeout));
}

/*
 * Refusals are logged at most once a second, with how many there were;
 * flush_refusals() (each second from the listener's poll) logs the rest.
 */
static char last_ip[64], last_why[128];
static int64_t last_logged;

static void
flush_refusals(void)
{
	unsigned long n;

	if (now_ms() - last_logged < 1000) {
		return;
	}
	n = gate_take_refusals();
	if (n > 0) {
		info("refused %lu connection%s; latest from %s: %s", n,
		    n == 1 ? "" : "s", last_ip, last_why);
		last_logged = now_ms();
	}
}

static void
log_refusal(const char *ip, const char *why)
{
	snprintf(last_ip, sizeof(last_ip), "%s", ip);
	snprintf(last_why, sizeof(last_why), "%s", why);
	flush_refusals();
}

static void
accept_one(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64], ip[64], why[128];
	struct gate_conn *gc;
	ssh_session ssh;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));	/* for clang-analyzer */
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of fds: back off instead of spinning. */
			error("accept: %s", strerror(errno));
			(void)poll(NULL, 0, 100);
		}
		return;
	}
	format_addr(&ss, addr, sizeof(addr), ip, sizeof(ip));
	gc = gate_admit(ip, why, sizeof(why));
	if (gc == NULL) {
		log_refusal(ip, why);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_keepalive(fd);
	ssh = ssh_new();
	if (ssh == NULL) {
		gate_unauthenticated(gc);
		close(fd);
		return;
	}
	if (ssh_bind_accept_fd(sshbind, ssh, fd) != SSH_OK) {
		error("accept from %s: %s", addr, ssh_get_error(sshbind));
		gate_unauthenticated(gc);
		ssh_free(ssh);
		close(fd);
		return;
	}
	if (session_start(ssh, addr, ip, gc) < 0) {
		gate_unauthenticated(gc);
		ssh_disconnect(ssh);
		ssh_free(ssh);
	}
}

/*
 * systemd: the watchdog ping comes from this loop, so a listener that
 * hangs is restarted; STATUS= says how many sessions there are.
 */
static void
notify_alive(void)
{
	static unsigned shown;	/* READY=1 said 0 */
	unsigned n = router_session_count();

	notify_watchdog();
	if (n != shown) {
		shown = n;
		notify_send("STATUS=listening on %s port %d, %u session%s",
		    options.listen_address, listen_port, n, n == 1 ? "" : "s");
	}
}

static void *
listener_main(void *arg)
{
	int fd = ssh_bind_get_fd(sshbind);
	int64_t wd = notify_watchdog_ms();
	int wake = wd > 0 && wd < 1000 ? (int)wd : 1000;

	(void)pthread_setname_np(pthread_self(), "listener");
	log_ssh_thread_init(0);
	while (!server_shutting_down) {
		enum wait_result w;

		/* Wake each second to log what was counted meanwhile. */
		flush_refusals();
		ratelimit_report();
		router_flush_notices();
		router_check_accounts();
		notify_alive();
		metrics_tick();
		w = wait_or_stop(fd, stop_fd, wake);
		if (w == WAIT_ERROR) {
			error("poll: %s", strerror(errno));
		}
		if (w == WAIT_ERROR || w == WAIT_STOP) {
			break;
		}
		if (w == WAIT_READY) {
			accept_one(fd);
		}
	}
	return NULL;
}

int
listener_start(void)
{
	pthread_attr_t attr;
	int rc;

	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0) {
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&listener, &attr, listener_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	listener_running = true;
	return 0;
}

void
listener_stop(void)
{
	uint64_t one = 1;

	server_shutting_down = true;
	if (listener_running) {
		(void)!write(stop_fd, &one, sizeof(one));
		pthread_join(listener, NULL);
		listener_running = false;
	}
}

void
listener_free(void)
{
	if (sshbind != NULL) {
		ssh_bind_free(sshbind);
		sshbind = NULL;
	}
	if (stop_fd >= 0) {
		close(stop_fd);
		stop_fd = -1;
	}
}
