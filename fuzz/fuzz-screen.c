/*
 * libFuzzer harness for the screen model (src/screen.c): the payload of
 * a REC_SCREEN record exactly as a (compromised) shell could send it.
 *
 * Properties:
 *  - screen_parse() never reads outside the payload; a valid result has
 *    its erase length within the bytes it kept, and those bytes are the
 *    payload's tail after the header.
 *  - screen_compose() gives erase + text + redraw, of the sum length.
 *  - screen_decide() with the reported counts says SHOW; with one more
 *    input byte, STALE.
 *  - the header encoder's output for the parsed counts parses back to
 *    the same counts (the shell's side of the same format).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "screen.h"
#include "util.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct screen sc = { 0 }, back = { 0 };
	struct screen_counts now;
	struct buf b = { 0 };
	char *copy = malloc(size > 0 ? size : 1);
	char head[96 + 64];
	size_t n;

	if (copy == NULL) {
		return 0;
	}
	memcpy(copy, data, size);
	if (screen_parse(&sc, copy, size) && sc.valid) {
		if (sc.erase > sc.bytes.len || sc.bytes.len > size ||
		    memcmp(sc.bytes.data, copy + size - sc.bytes.len,
		    sc.bytes.len) != 0) {
			FZ_FAIL("erase %zu of %zu kept bytes, payload %zu",
			    sc.erase, sc.bytes.len, size);
		}
		screen_compose(&sc, "TEXT\r\n", 6, &b);
		if (b.len != sc.bytes.len + 6 ||
		    memcmp(b.data + sc.erase, "TEXT\r\n", 6) != 0) {
			FZ_FAIL("composed %zu bytes", b.len);
		}
		now = sc.at;
		if (now.cols >= 0 && screen_decide(&sc, &now) != SCREEN_SHOW) {
			FZ_FAIL("the reported counts are not SHOW");
		}
		now.in++;
		if (screen_decide(&sc, &now) != SCREEN_STALE) {
			FZ_FAIL("one more input byte is not STALE");
		}
		if (sc.at.cols >= 0 && sc.erase <= 64) {
			n = screen_report_head(head, sizeof(head) - 64,
			    &sc.at, sc.erase);
			memset(head + n, 'x', sc.erase);
			if (n == 0 || !screen_parse(&back, head, n + sc.erase) ||
			    !back.valid || back.at.in != sc.at.in ||
			    back.at.out != sc.at.out ||
			    back.at.recs != sc.at.recs ||
			    back.at.cols != sc.at.cols ||
			    back.erase != sc.erase) {
				FZ_FAIL("the encoder's header does not parse "
				    "back");
			}
		}
	}
	buf_free(&b);
	screen_free(&sc);
	screen_free(&back);
	free(copy);
	return 0;
}
