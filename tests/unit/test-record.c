/* The daemon <-> shell record framing over a real SOCK_SEQPACKET pair. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "record.h"
#include "unit.h"
#include "util.h"

int
main(void)
{
	int sv[2], type;
	char *buf = xmalloc(RECORD_MAX + 1), *big;
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);

	/* Boundaries are kept, embedded newlines and NULs included. */
	CHECK(record_send(sv[0], REC_LINE, "msg bob a\nb", 11) == 0);
	CHECK(record_send(sv[0], REC_COMMANDS, "a\0b\0", 4) == 0);
	CHECK(record_send(sv[0], REC_LOGOUT, NULL, 0) == 0);
	n = record_recv(sv[1], &type, buf);
	CHECK(n == 11 && type == REC_LINE);
	CHECK(memcmp(buf, "msg bob a\nb", 11) == 0 && buf[11] == '\0');
	n = record_recv(sv[1], &type, buf);
	CHECK(n == 4 && type == REC_COMMANDS && memcmp(buf, "a\0b\0", 4) == 0);
	n = record_recv(sv[1], &type, buf);
	CHECK(n == 0 && type == REC_LOGOUT);

	/* The largest record passes; one byte more is refused. */
	big = xmalloc(RECORD_MAX);
	memset(big, 'x', RECORD_MAX);
	CHECK(record_send(sv[0], REC_TEXT, big, RECORD_MAX - 1) == 0);
	n = record_recv(sv[1], &type, buf);
	CHECK(n == RECORD_MAX - 1 && type == REC_TEXT);
	CHECK(record_send(sv[0], REC_TEXT, big, RECORD_MAX) == -1 &&
	    errno == EMSGSIZE);

	/* End of stream is type 0. */
	close(sv[0]);
	n = record_recv(sv[1], &type, buf);
	CHECK(n == 0 && type == 0);
	close(sv[1]);
	free(big);
	free(buf);
	return unit_done("test-record");
}
