/*
 * libFuzzer harness for the daemon <-> shell records (src/record.c) and
 * the NUL-separated lists inside them.  The input is one SEQPACKET
 * packet exactly as a (compromised) peer could send it: type byte and
 * payload, any length up to a little over RECORD_MAX.
 *
 * Properties:
 *  - record_recv() of the raw packet over a real socketpair returns
 *    min(size, RECORD_MAX) - 1 payload bytes, the first byte as *type,
 *    the payload intact and NUL-terminated in a RECORD_MAX + 1 buffer;
 *    a longer packet is cut, and its tail is not left behind to be read
 *    as another record.  An empty packet reads as end of stream (0 and
 *    *type 0): documented in the report, checked so a change is seen.
 *  - record_send() then record_recv() give the same type and payload
 *    back; a payload of RECORD_MAX bytes or more is refused (EMSGSIZE)
 *    and nothing is sent.
 *  - record_split_list() (the shell's list parsing) on the received
 *    payload agrees with an independent scan: the non-empty items in
 *    order, each NUL-free, the array NULL-terminated.
 *  - record_split_answers() (secrets and prompts) keeps empty items,
 *    honours max, and its pointers are NUL-terminated items of the
 *    payload in order.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "util.h"

#include "fuzz-check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAW_MAX (RECORD_MAX + 4096)
#define GUARD 0xa5

static int sv[2] = { -1, -1 };
static char *buf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sz = 4 * RECORD_MAX;

	(void)argc;
	(void)argv;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		FZ_FAIL("socketpair: %s", strerror(errno));
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* Exactly RECORD_MAX + 1 bytes, so ASan sees any overrun. */
	buf = xmalloc(RECORD_MAX + 1);
	return 0;
}

/* Nothing may be left queued after one record was read. */
static void
check_drained(const char *what)
{
	char c;
	ssize_t n = recv(sv[1], &c, 1, MSG_DONTWAIT);

	if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		FZ_FAIL("%s: another %zd-byte packet was left queued", what,
		    n);
	}
}

static void
check_recv(const char *what, const uint8_t *pkt, size_t size)
{
	size_t want;
	ssize_t n;
	int type = -1;

	memset(buf, GUARD, RECORD_MAX + 1);
	n = record_recv(sv[1], &type, buf);
	if (size == 0) {
		FZ_CHECK(n == 0 && type == 0, "%s: empty packet gave %zd, "
		    "type %d", what, n, type);
		check_drained(what);
		return;
	}
	want = (size < RECORD_MAX ? size : RECORD_MAX) - 1;
	if (n < 0 || (size_t)n != want) {
		FZ_FAIL("%s: record_recv = %zd for a %zu-byte packet, expected "
		    "%zu", what, n, size, want);
	}
	FZ_CHECK(type == pkt[0], "%s: type %d, sent %d", what, type, pkt[0]);
	FZ_CHECK(memcmp(buf, pkt + 1, want) == 0, "%s: payload changed",
	    what);
	FZ_CHECK(buf[want] == '\0', "%s: payload not NUL-terminated", what);
	check_drained(what);
}

static void
check_lists(const char *payload, size_t len)
{
	char **list, **ans, *copy;
	size_t n, off, l, i = 0, na, max, items = 0;

	list = record_split_list(payload, len, &n);
	FZ_CHECK(list != NULL, "record_split_list returned NULL");
	for (off = 0; off < len; off += l + 1) {
		l = strnlen(payload + off, len - off);
		if (l == 0) {
			continue;
		}
		FZ_CHECK(i < n, "record_split_list: %zu items, more in the "
		    "payload", n);
		FZ_CHECK(list[i] != NULL && strlen(list[i]) == l &&
		    memcmp(list[i], payload + off, l) == 0,
		    "record_split_list: item %zu differs", i);
		i++;
	}
	FZ_CHECK(i == n, "record_split_list: %zu items, payload has %zu", n,
	    i);
	FZ_CHECK(list[n] == NULL, "record_split_list: not NULL-terminated");
	record_free_list(list);

	/* Answers: in place, on a copy followed by a NUL like rbuf. */
	copy = xmalloc(len + 1);
	memcpy(copy, payload, len);
	copy[len] = '\0';
	for (off = 0; off < len; off += l + 1) {
		l = strnlen(copy + off, len - off);
		items++;
	}
	max = len > 0 ? (unsigned char)payload[0] % 10 : 3;
	ans = xcalloc(max + 1, sizeof(*ans));
	na = record_split_answers(copy, len, ans, max);
	FZ_CHECK(na == (items < max ? items : max),
	    "record_split_answers: %zu answers, expected %zu (max %zu)", na,
	    items < max ? items : max, max);
	FZ_CHECK(ans[max] == NULL, "record_split_answers wrote past max");
	for (i = 0, off = 0; i < na; i++) {
		l = strnlen(copy + off, len - off);
		FZ_CHECK(ans[i] == copy + off && strlen(ans[i]) == l,
		    "record_split_answers: answer %zu is not the item at %zu",
		    i, off);
		off += l + 1;
	}
	free(ans);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssize_t n;
	int rc;

	if (size > RAW_MAX) {
		return -1;	/* not added to the corpus */
	}
	/* 1. The raw packet, as any peer may send it. */
	n = send(sv[0], data, size, 0);
	if (n < 0 || (size_t)n != size) {
		FZ_FAIL("send of %zu bytes: %zd (%s)", size, n,
		    strerror(errno));
	}
	check_recv("raw packet", data, size);
	if (size > 0) {
		size_t len = size < RECORD_MAX ? size - 1 : RECORD_MAX - 1;

		check_lists(buf, len);
	}

	/* 2. Through record_send(). */
	if (size == 0) {
		return 0;
	}
	errno = 0;
	rc = record_send(sv[0], data[0], data + 1, size - 1);
	if (size > RECORD_MAX) {
		FZ_CHECK(rc == -1 && errno == EMSGSIZE, "record_send of a "
		    "%zu-byte payload: %d (%s)", size - 1, rc, strerror(errno));
		check_drained("record_send refused");
		return 0;
	}
	FZ_CHECK(rc == 0, "record_send: %s", strerror(errno));
	check_recv("record_send", data, size);
	return 0;
}
