/*
 * libFuzzer harness for the users file parser, userdb_parse(), on any
 * bytes (the whole file: BOM, CRLF, comments, quotes, any line length).
 *
 * Properties:
 *  - On failure: err is a non-empty "NAME:LINE: reason" or "NAME:
 *    reason" of printable ASCII only (the file's bytes are escaped, so an
 *    error shown by reload or logged cannot carry a control sequence).
 *  - On success, for every user: the name passes userdb_valid_name() and
 *    an independent check of the rule; userdb_find() of the name returns
 *    that very user, and of the name with its letters' case flipped
 *    returns nothing unless that is the same string (lookups are exact,
 *    duplicates that differ only in case are refused); the password is
 *    1..PASSWORD_MAX bytes, does not start with '!', and is a hash
 *    exactly when it starts with '$'; the role is user or admin; line
 *    numbers are past the header and strictly increasing in file order.
 *  - userdb_valid_name() on the first bytes of the input agrees with an
 *    independent implementation of the documented rule.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "userdb.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "users.csv"

/* "1..32 of [A-Za-z0-9_.-], not starting with - or ." */
static bool
ref_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > USER_NAME_MAX || s[0] == '-' || s[0] == '.') {
		return false;
	}
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void
check_error(const uint8_t *data, size_t size, const char *err)
{
	size_t n = strlen(err), i;

	if (n == 0) {
		fz_hexdump("input", data, size);
		FZ_FAIL("userdb_parse failed with an empty message");
	}
	if (strncmp(err, NAME ":", strlen(NAME ":")) != 0) {
		FZ_FAIL("userdb_parse error does not start with the file "
		    "name: '%s'", err);
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)err[i];

		if (c < 0x20 || c >= 0x7f) {
			fz_hexdump("input", data, size);
			fz_hexdump("error", err, n);
			FZ_FAIL("userdb_parse error has byte 0x%02x at %zu", c,
			    i);
		}
	}
}

static void
check_user(const struct userdb *db, const struct user *u, size_t i)
{
	char flipped[USER_NAME_MAX + 1];
	const struct user *f;
	size_t nl, pl;

	FZ_CHECK(u != NULL, "userdb_get(%zu) is NULL", i);
	FZ_CHECK(u->name != NULL && u->password != NULL,
	    "user %zu: NULL name or password", i);
	nl = strlen(u->name);
	if (!userdb_valid_name(u->name) || !ref_valid_name(u->name)) {
		fz_hexdump("name", u->name, nl);
		FZ_FAIL("user %zu (line %u): invalid name accepted", i,
		    u->line);
	}
	pl = strlen(u->password);
	FZ_CHECK(pl >= 1 && pl <= PASSWORD_MAX,
	    "user '%s': password of %zu bytes", u->name, pl);
	FZ_CHECK(u->password[0] != '!', "user '%s': password starts with "
	    "'!'", u->name);
	FZ_CHECK(u->plaintext == (u->password[0] != '$'),
	    "user '%s': plaintext=%d for a password starting with '%c'",
	    u->name, u->plaintext, u->password[0]);
	FZ_CHECK(u->role == ROLE_USER || u->role == ROLE_ADMIN,
	    "user '%s': role %d", u->name, (int)u->role);
	FZ_CHECK(u->line >= 2, "user '%s' on line %u, before any header",
	    u->name, u->line);

	f = userdb_find(db, u->name);
	FZ_CHECK(f == u, "userdb_find('%s') = %p, not the user %p", u->name,
	    (const void *)f, (const void *)u);
	memcpy(flipped, u->name, nl + 1);
	for (size_t j = 0; j < nl; j++) {
		char c = flipped[j];

		if (c >= 'a' && c <= 'z') {
			flipped[j] = (char)(c - 'a' + 'A');
		} else if (c >= 'A' && c <= 'Z') {
			flipped[j] = (char)(c - 'A' + 'a');
		}
	}
	f = userdb_find(db, flipped);
	if (strcmp(flipped, u->name) == 0) {
		FZ_CHECK(f == u, "userdb_find('%s') lost the user", flipped);
	} else {
		FZ_CHECK(f == NULL, "userdb_find('%s') found '%s': lookups "
		    "must be exact", flipped, f->name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], name[48];
	struct userdb *db;
	unsigned prev_line = 0;
	size_t n, nl;

	/* The name rule on its own. */
	nl = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, nl);
	name[nl] = '\0';
	if (userdb_valid_name(name) != ref_valid_name(name)) {
		fz_hexdump("name", name, strlen(name));
		FZ_FAIL("userdb_valid_name = %d, the rule says %d",
		    userdb_valid_name(name), ref_valid_name(name));
	}

	memset(err, 0, sizeof(err));
	db = userdb_parse(NAME, (const char *)data, size, err, sizeof(err));
	if (db == NULL) {
		check_error(data, size, err);
		return 0;
	}
	n = userdb_count(db);
	FZ_CHECK(n <= size / 4 + 1, "%zu users from %zu bytes", n, size);
	for (size_t i = 0; i < n; i++) {
		const struct user *u = userdb_get(db, i);

		check_user(db, u, i);
		FZ_CHECK(u->line > prev_line, "user '%s' on line %u after line "
		    "%u", u->name, u->line, prev_line);
		prev_line = u->line;
	}
	FZ_CHECK(userdb_get(db, n) == NULL, "userdb_get past the end");
	FZ_CHECK(userdb_find(db, "") == NULL, "userdb_find(\"\") found one");
	userdb_free(db);
	return 0;
}
