/*
 * The users file read into a table: parsing UserRecords.csv (one line
 * at a time, every error with its line number), the index by name, the
 * dummy hash an unknown user is checked against.  A table never changes
 * once built; the live table that is swapped when the file changes, and
 * password checks against it, are in userdb.c.  Every copy of the
 * file's bytes is wiped before it is freed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"
#include "userdb.h"
#include "userdb_int.h"
#include "util.h"

#define LINE_MAX_LEN	8192
#define FIELDS_MAX	3
#define PLAINTEXT_WARN_MAX 10
#define HEADER_TEXT	"username,password,role"

struct field {
	const char *s;			/* NUL-terminated, in scratch */
	size_t len;
};

bool
userdb_valid_name(const char *name)
{
	size_t i;
	unsigned char c;

	if (name == NULL || name[0] == '\0' || name[0] == '-' ||
	    name[0] == '.') {
		return false;
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= USER_NAME_MAX) {
			return false;
		}
		c = (unsigned char)name[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' &&
		    c != '-') {
			return false;
		}
	}
	return true;
}

/*
 * Split one line (no newline, at most LINE_MAX_LEN bytes) into at most
 * FIELDS_MAX fields, RFC 4180 style.  Blanks around a field are dropped;
 * inside quotes everything is kept and "" is a quote.  The fields are
 * copied, NUL-terminated, into scratch (LINE_MAX_LEN + FIELDS_MAX + 1
 * bytes).  Returns NULL, or why the line cannot be split.
 */
static const char *
split_fields(const char *line, size_t len, char *scratch, struct field *f,
    size_t *nfp)
{
	size_t i = 0, nf = 0, start, end;
	char *out = scratch;

	for (;;) {
		if (nf == FIELDS_MAX) {
			return "too many fields";
		}
		while (i < len && (line[i] == ' ' || line[i] == '\t')) {
			i++;
		}
		f[nf].s = out;
		if (i < len && line[i] == '"') {
			for (i++;; i++) {
				if (i == len) {
					return "unterminated quote";
				}
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						*out++ = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				*out++ = line[i];
			}
			while (i < len && (line[i] == ' ' || line[i] == '\t')) {
				i++;
			}
			if (i < len && line[i] != ',') {
				return "text after a closing quote "
				    "(write a quote inside quotes as \"\")";
			}
		} else {
			start = i;
			while (i < len && line[i] != ',') {
				i++;
			}
			end = i;
			while (end > start &&
			    (line[end - 1] == ' ' || line[end - 1] == '\t')) {
				end--;
			}
			memcpy(out, line + start, end - start);
			out += end - start;
		}
		f[nf].len = (size_t)(out - f[nf].s);
		*out++ = '\0';
		nf++;
		if (i == len) {
			break;
		}
		i++;				/* the comma */
	}
	*nfp = nf;
	return NULL;
}

static bool
is_header(const struct field *f, size_t nf)
{
	return (nf == 2 || nf == 3) && ascii_casecmp(f[0].s, "username") == 0 &&
	    ascii_casecmp(f[1].s, "password") == 0 &&
	    (nf == 2 || ascii_casecmp(f[2].s, "role") == 0);
}

/*
 * Checks one user line; fills u (strings still in scratch) or sets why.
 * A '!' before the password locks the account, as in /etc/shadow.
 */
static bool
parse_user(const struct field *f, size_t nf, struct user *u, char *why,
    size_t whylen)
{
	const char *pw;
	size_t pwlen;
	char esc[200];

	memset(u, 0, sizeof(*u));
	if (f[0].len == 0) {
		set_err(why, whylen, "missing user name");
		return false;
	}
	if (!userdb_valid_name(f[0].s)) {
		escape_for_msg(f[0].s, f[0].len, esc, sizeof(esc));
		set_err(why, whylen, "bad user name '%s' (1 to %d of A-Z a-z "
		    "0-9 _ . -, not starting with . or -)", esc,
		    USER_NAME_MAX);
		return false;
	}
	if (nf < 2) {
		set_err(why, whylen, "missing password");
		return false;
	}
	pw = f[1].s;
	pwlen = f[1].len;
	if (pwlen > 0 && pw[0] == '!') {
		u->locked = true;
		pw++;
		pwlen--;
		if (pwlen == 0) {
			set_err(why, whylen, "empty password after the lock "
			    "mark '!'");
			return false;
		}
		if (pw[0] == '!') {
			set_err(why, whylen, "password starts with '!!' "
			    "(one '!' locks an account)");
			return false;
		}
	}
	if (pwlen == 0) {
		set_err(why, whylen, "empty password");
		return false;
	}
	if (pwlen > PASSWORD_MAX) {
		set_err(why, whylen, "password too long (over %d bytes)",
		    PASSWORD_MAX);
		return false;
	}
	if (pw[0] == '$') {
		if (!passwd_hash_usable(pw, why, whylen)) {
			return false;
		}
	} else {
		u->plaintext = true;
	}
	u->role = ROLE_USER;
	if (nf == 3 && f[2].len > 0) {
		if (ascii_casecmp(f[2].s, "admin") == 0) {
			u->role = ROLE_ADMIN;
		} else if (ascii_casecmp(f[2].s, "user") != 0) {
			escape_for_msg(f[2].s, f[2].len, esc, sizeof(esc));
			set_err(why, whylen, "unknown role '%s' "
			    "(user or admin)", esc);
			return false;
		}
	}
	u->name = (char *)f[0].s;
	u->password = (char *)pw;
	return true;
}

static int
byname_cmp(const void *a, const void *b)
{
	const struct user *ua = *(const struct user *const *)a;
	const struct user *ub = *(const struct user *const *)b;
	int c = ascii_casecmp(ua->name, ub->name);

	if (c != 0) {
		return c;
	}
	return ua->line < ub->line ? -1 : ua->line > ub->line;
}

/* What a failed login costs: the dummy and floor from db's hashes. */
static void
build_cost(struct userdb *db)
{
	const char **h;
	size_t i, n = 0;

	h = xcalloc(db->n == 0 ? 1 : db->n, sizeof(*h));
	for (i = 0; i < db->n; i++) {
		if (!db->users[i].plaintext) {
			h[n++] = db->users[i].password;
		}
	}
	passwd_cost_build(&db->cost, h, n);
	free(h);
}

/* Sorts db->byname; returns false with a message on a duplicate name. */
static bool
index_names(struct userdb *db, const char *name, char *err, size_t errlen)
{
	const struct user *dup = NULL, *first = NULL;
	size_t i, j;

	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	db->byname = xcalloc(db->n, sizeof(*db->byname));
	for (i = 0; i < db->n; i++) {
		db->byname[i] = &db->users[i];
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(db->byname, db->n, sizeof(*db->byname), byname_cmp);
	/* Equal names sort by line: report the earliest repetition. */
	for (i = 0; i < db->n; i = j) {
		for (j = i + 1; j < db->n &&
		    ascii_casecmp(db->byname[i]->name,
		    db->byname[j]->name) == 0;
		    j++) {
			;
		}
		if (j > i + 1 &&
		    (dup == NULL || db->byname[i + 1]->line < dup->line)) {
			first = db->byname[i];
			dup = db->byname[i + 1];
		}
	}
	if (dup == NULL) {
		return true;
	}
	if (strcmp(dup->name, first->name) == 0) {
		set_err(err, errlen, "%s:%u: duplicate user '%s' "
		    "(first on line %u)", name, dup->line, dup->name,
		    first->line);
	} else {
		set_err(err, errlen, "%s:%u: duplicate user '%s' "
		    "(first on line %u as '%s'; names must differ in more "
		    "than case)", name, dup->line, dup->name, first->line,
		    first->name);
	}
	return false;
}

static void
warn_plaintext(const struct userdb *db, const char *name)
{
	size_t i, count = 0;

	for (i = 0; i < db->n; i++) {
		if (!db->users[i].plaintext) {
			continue;
		}
		if (count++ < PLAINTEXT_WARN_MAX) {
			warn("%s:%u: plaintext password; replace it with a "
			    "hash (mkpasswd -m yescrypt)", name,
			    db->users[i].line);
		}
	}
	if (count > PLAINTEXT_WARN_MAX) {
		warn("%s: %zu more plaintext passwords", name,
		    count - PLAINTEXT_WARN_MAX);
	}
}

void
userdb_free(struct userdb *db)
{
	size_t i;

	if (db == NULL) {
		return;
	}
	for (i = 0; i < db->n; i++) {
		secure_zero(db->users[i].password,
		    strlen(db->users[i].password));
		free(db->users[i].password);
		free(db->users[i].name);
	}
	passwd_cost_free(&db->cost);
	free(db->users);
	free(db->byname);
	free(db);
}

struct userdb *
userdb_parse(const char *name, const char *data, size_t len, char *err,
    size_t errlen)
{
	struct userdb *db;
	struct field f[FIELDS_MAX];
	struct user u;
	const char *p, *end, *nl, *why;
	char *scratch, reason[300];
	size_t ll, nf, cap = 0, i;
	unsigned line = 0;
	bool have_header = false, ok = false;

	if (name == NULL) {
		name = "users file";
	}
	if (len > FILE_MAX) {
		set_err(err, errlen, "%s: file too large (over 16 MiB)", name);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	scratch = xmalloc(LINE_MAX_LEN + FIELDS_MAX + 1);
	p = data;
	end = data + len;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
	}
	for (; p < end; p = nl == NULL ? end : nl + 1) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		if (ll > 0 && p[ll - 1] == '\r') {
			ll--;
		}
		if (ll > LINE_MAX_LEN) {
			set_err(err, errlen, "%s:%u: line too long (over %d "
			    "bytes)", name, line, LINE_MAX_LEN);
			goto out;
		}
		if (memchr(p, '\0', ll) != NULL) {
			set_err(err, errlen, "%s:%u: NUL byte in line", name,
			    line);
			goto out;
		}
		for (i = 0; i < ll && (p[i] == ' ' || p[i] == '\t'); i++) {
			;
		}
		if (i == ll || p[i] == '#') {
			continue;
		}
		why = split_fields(p, ll, scratch, f, &nf);
		if (why != NULL) {
			set_err(err, errlen, "%s:%u: %s", name, line, why);
			goto out;
		}
		if (!have_header) {
			if (!is_header(f, nf)) {
				set_err(err, errlen, "%s:%u: expected the "
				    "header line '" HEADER_TEXT "' first", name,
				    line);
				goto out;
			}
			have_header = true;
			continue;
		}
		if (!parse_user(f, nf, &u, reason, sizeof(reason))) {
			set_err(err, errlen, "%s:%u: %s", name, line, reason);
			goto out;
		}
		u.line = line;
		u.name = xstrdup(u.name);
		u.password = xstrdup(u.password);
		if (db->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			db->users = xrealloc(db->users,
			    cap * sizeof(*db->users));
		}
		db->users[db->n++] = u;
	}
	if (!have_header) {
		set_err(err, errlen, "%s: no header line '" HEADER_TEXT "'",
		    name);
		goto out;
	}
	if (!index_names(db, name, err, errlen)) {
		goto out;
	}
	build_cost(db);
	ok = true;
out:
	secure_zero(scratch, LINE_MAX_LEN + FIELDS_MAX + 1);
	free(scratch);
	if (!ok) {
		userdb_free(db);
		return NULL;
	}
	return db;
}

/* Like xrealloc, but wipes the old copy: the buffer holds passwords. */
static char *
grow_secret(char *old, size_t len, size_t newcap)
{
	char *p = xmalloc(newcap);

	memcpy(p, old, len);
	secure_zero(old, len);
	free(old);
	return p;
}

/*
 * Read and parse path.  *retry is set when the file changed while it
 * was read (a writer is busy): nothing is known to be wrong with it
 * yet, so the caller tries again later instead of reporting it.
 */
struct userdb *
userdb_read_file(const char *path, bool *retry, char *err, size_t errlen)
{
	struct userdb *db = NULL;
	struct stat before, after;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t r;
	int fd;

	*retry = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		set_err(err, errlen, "%s: %m", path);
		return NULL;
	}
	if (fstat(fd, &before) == -1) {
		set_err(err, errlen, "%s: fstat: %m", path);
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((before.st_mode & 0026) != 0) {
		set_err(err, errlen, "%s: mode %04o is too open; chmod 600 %s "
		    "(or 640)", path, (unsigned)(before.st_mode & 07777), path);
		goto out;
	}
	if (before.st_size > FILE_MAX) {
		set_err(err, errlen, "%s: file too large (over 16 MiB)", path);
		goto out;
	}
	cap = (size_t)before.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > FILE_MAX) {
				set_err(err, errlen, "%s: file too large "
				    "(over 16 MiB)", path);
				goto out;
			}
			buf = grow_secret(buf, len, cap * 2);
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR) {
			continue;
		}
		if (r == -1) {
			set_err(err, errlen, "%s: read: %m", path);
			goto out;
		}
		if (r == 0) {
			break;
		}
		len += (size_t)r;
	}
	if (fstat(fd, &after) == -1) {
		set_err(err, errlen, "%s: fstat: %m", path);
		goto out;
	}
	if (after.st_size != before.st_size ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
	    (off_t)len != before.st_size) {
		set_err(err, errlen, "%s: changed while being read", path);
		*retry = true;
		goto out;
	}
	db = userdb_parse(path, buf, len, err, errlen);
	if (db != NULL) {
		warn_plaintext(db, path);
	}
out:
	if (buf != NULL) {
		secure_zero(buf, len);
		free(buf);
	}
	if (close(fd) == -1) {
		warn("%s: close: %m", path);
	}
	return db;
}

struct userdb *
userdb_load(const char *path, char *err, size_t errlen)
{
	bool retry;

	return userdb_read_file(path, &retry, err, errlen);
}

size_t
userdb_count(const struct userdb *db)
{
	return db == NULL ? 0 : db->n;
}

const struct user *
userdb_get(const struct userdb *db, size_t i)
{
	if (db == NULL || i >= db->n) {
		return NULL;
	}
	return &db->users[i];
}

static int
find_cmp(const void *key, const void *elem)
{
	const struct user *u = *(const struct user *const *)elem;

	return ascii_casecmp(key, u->name);
}

const struct user *
userdb_find(const struct userdb *db, const char *name)
{
	const struct user *const *up;

	if (db == NULL || name == NULL || db->n == 0) {
		return NULL;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	up = bsearch(name, db->byname, db->n, sizeof(*db->byname), find_cmp);
	if (up == NULL || strcmp((*up)->name, name) != 0) {
		return NULL;
	}
	return *up;
}

