/*
 * PROPOSED: to be moved into src/record.c (declarations into
 * src/record.h, see record-list.h).  record_split_list() replaces
 * parse_list() in src/shell.c; record_split_answers() the two copies of
 * the same loop in run_pending() (src/session.c) and answer_pending()
 * (src/admin.c), and the prompt loop of ask_secrets() in src/shell.c.
 * Offsets, not pointers, walk the payload: "p += l + 1" past the last,
 * unterminated item points beyond the end of the array.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "record-list.h"

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
