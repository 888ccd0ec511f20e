/*
 * Framing of the daemon <-> shell records.  The socket type keeps the
 * boundaries; this module only adds and strips the type byte.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "record.h"
#include "util.h"

static int
send_record(int fd, int type, const void *data, size_t len, int flags)
{
	unsigned char t = (unsigned char)type;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;

	if (len + 1 > RECORD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	iov[0].iov_base = &t;
	iov[0].iov_len = 1;
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int
record_send(int fd, int type, const void *data, size_t len)
{
	return send_record(fd, type, data, len, 0);
}

int
record_send_nowait(int fd, int type, const void *data, size_t len)
{
	return send_record(fd, type, data, len, MSG_DONTWAIT);
}

ssize_t
record_recv(int fd, int *type, char *buf)
{
	ssize_t n;

	do {
		n = recv(fd, buf, RECORD_MAX, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -1;
	}
	if (n == 0) {
		*type = 0;
		return 0;
	}
	*type = (unsigned char)buf[0];
	memmove(buf, buf + 1, (size_t)n - 1);
	buf[n - 1] = '\0';
	return n - 1;
}

char **
record_split_list(const char *data, size_t len, size_t *n)
{
	size_t off, l, count = 0, i = 0;
	char **list;

	for (off = 0; off < len; off += l + 1) {
		l = strnlen(data + off, len - off);
		count += l > 0;
	}
	list = xcalloc(count + 1, sizeof(*list));
	for (off = 0; off < len; off += l + 1) {
		l = strnlen(data + off, len - off);
		if (l > 0) {
			list[i++] = xstrndup(data + off, l);
		}
	}
	*n = count;
	return list;
}

void
record_free_list(char **list)
{
	if (list == NULL) {
		return;
	}
	for (size_t i = 0; list[i] != NULL; i++) {
		free(list[i]);
	}
	free(list);
}

size_t
record_split_answers(char *data, size_t len, char **out, size_t max)
{
	size_t off = 0, n = 0;

	while (off < len && n < max) {
		out[n++] = data + off;
		off += strnlen(data + off, len - off) + 1;
	}
	return n;
}
