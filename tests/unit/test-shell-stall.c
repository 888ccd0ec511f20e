/*
 * sshchat-shell on a terminal that does not drain (an SSH client that
 * stopped reading): it must neither drop output nor spin, and keys typed
 * meanwhile are handled once the terminal drains.  The real shell runs on
 * a PTY of ours with its record socket on fd 3; 2,000 lines are sent to
 * it while nobody reads the PTY.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "unit.h"
#include "util.h"

#define NLINES 2000

static struct buf out;		/* everything read from the PTY */

/* Read what the PTY has for up to ms; false at its end. */
static bool
read_pty(int master, int ms)
{
	struct pollfd pfd = { .fd = master, .events = POLLIN };
	char tmp[65536];
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0) {
		return true;
	}
	n = read(master, tmp, sizeof(tmp));
	if (n <= 0) {
		return false;
	}
	buf_append(&out, tmp, (size_t)n);
	return true;
}

static bool
wait_for(int master, const char *text, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (out.data == NULL || strstr(out.data, text) == NULL) {
		if (now_ms() > deadline || !read_pty(master, 50)) {
			return false;
		}
	}
	return true;
}

static long
cpu_ticks(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL) {
		return -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL ||
	    (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return (long)(ut + st);
}

/*
 * Read the shell's screen reports (REC_SCREEN) waiting in the socket, as
 * the daemon would: unread, they would fill the socket and stop the shell.
 * Returns the type of the first other record, or -1 when none waits.
 */
static int
read_reports(int fd, char *buf)
{
	for (;;) {
		int type;
		ssize_t n = record_recv(fd, &type, buf);

		if (n < 0 || (n == 0 && type == 0)) {
			return -1;
		}
		if (type != REC_SCREEN) {
			return type;
		}
	}
}

/* Send the next lines while the socket takes them. */
static void
send_some(int fd, int *next)
{
	char line[256];
	static char *rbuf;

	if (rbuf == NULL) {
		rbuf = xmalloc(RECORD_MAX + 1);
	}
	(void)read_reports(fd, rbuf);
	while (*next < NLINES) {
		snprintf(line, sizeof(line), "line %05d %0200d", *next, 0);
		if (record_send(fd, REC_TEXT, line, strlen(line)) < 0) {
			return;
		}
		(*next)++;
	}
}

int
main(void)
{
	const char *shell = getenv("SSHCHAT_SHELL");
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int master, slave, sv[2], next = 0, status, type, seen;
	long before, after;
	char *buf = xmalloc(RECORD_MAX + 1), *p;
	ssize_t n;
	pid_t pid;

	if (shell == NULL) {
		shell = "./sshchat-shell";
	}
	CHECK(openpty(&master, &slave, NULL, NULL, &ws) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		char *env[] = { "TERM=xterm", "LANG=C.UTF-8", "HOME=/", NULL };

		setsid();
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		dup2(sv[1], SHELL_FD);
		closefrom(SHELL_FD + 1);
		execle(shell, shell, "-u", "x", "-m", "4096", (char *)NULL,
		    env);
		_exit(127);
	}
	close(slave);
	close(sv[1]);
	CHECK(record_send(sv[0], REC_PROMPT, "x> ", 3) == 0);
	CHECK(wait_for(master, "x> ", 10000));
	set_nonblock(sv[0], true);

	/* Nobody reads the terminal: the shell fills it, then waits. */
	for (int i = 0; i < 10; i++) {
		send_some(sv[0], &next);
		usleep(50000);
	}
	CHECK(next < NLINES);	/* the shell stopped taking records */
	CHECK(write(master, "hello", 5) == 5);	/* keys typed meanwhile */
	usleep(200000);
	before = cpu_ticks(pid);
	sleep(2);
	send_some(sv[0], &next);
	after = cpu_ticks(pid);
	CHECK(before >= 0 && after >= 0 && after - before <= 10);
	if (after - before > 10) {
		fprintf(stderr, "the stalled shell used %ld ticks in 2 s\n",
		    after - before);
	}

	/* The terminal drains: every line arrives, in order, then the keys. */
	for (int64_t deadline = now_ms() + 30000;
	    next < NLINES && now_ms() < deadline;) {
		read_pty(master, 10);
		send_some(sv[0], &next);
	}
	CHECK(next == NLINES);
	/* The prompt and the keys are redrawn after the last line. */
	CHECK(wait_for(master, "line 01999", 30000));
	p = out.data != NULL ? strstr(out.data, "line 01999") : NULL;
	for (int64_t deadline = now_ms() + 10000; p != NULL &&
	    strstr(p, "x> hello") == NULL && now_ms() < deadline;) {
		size_t off = (size_t)(p - out.data);

		read_pty(master, 50);
		(void)read_reports(sv[0], buf);
		p = out.data + off;
	}
	CHECK(p != NULL && strstr(p, "x> hello") != NULL);
	seen = 0;
	for (p = out.data; (p = strstr(p, "line ")) != NULL; p += 5) {
		if (atoi(p + 5) == seen) {
			seen++;
		}
	}
	CHECK(seen == NLINES);
	if (seen != NLINES) {
		fprintf(stderr, "%d of %d lines in order\n", seen, NLINES);
	}

	/* And it still ends as it should. */
	(void)read_reports(sv[0], buf);
	set_nonblock(sv[0], false);
	CHECK(record_send(sv[0], REC_EXIT, "bye", 3) == 0);
	CHECK(wait_for(master, "bye", 10000));
	do {
		n = record_recv(sv[0], &type, buf);
	} while (n > 0 && type == REC_SCREEN);
	CHECK(n == 1 && type == REC_STATUS && buf[0] == '0');
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	close(master);
	close(sv[0]);
	buf_free(&out);
	free(buf);
	return unit_done("test-shell-stall");
}
