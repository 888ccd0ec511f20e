/*
 * notify-listen: plays systemd's side of sd_notify(3) for
 * tests/notify-systemd.exp.  It binds a datagram socket at the path it is
 * given, says "bound", then prints each notification it receives as one
 * line: milliseconds since it started, then the datagram's fields joined
 * by ';'.  It exits after 120 s, or 30 s without a datagram.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long
ms_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		return 0;
	}
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char buf[4096];
	long long t0 = ms_now();
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify-listen socket-path\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, argv[1], sizeof(sun.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "notify-listen: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	printf("bound %s\n", argv[1]);
	fflush(stdout);
	while (ms_now() - t0 < 120 * 1000) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, 30 * 1000);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "notify-listen: recv: %s\n",
			    strerror(errno));
			return 1;
		}
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				buf[i] = ';';
			} else if (buf[i] < ' ' || buf[i] == 0x7f) {
				buf[i] = '?';
			}
		}
		printf("%lld %s\n", ms_now() - t0, buf);
		fflush(stdout);
	}
	(void)unlink(argv[1]);
	return 0;
}
