/*
 * Edits of the live users file for the admin commands: add a user,
 * change a password, lock, unlock, delete.  Edits run one at a time.
 * Each changes the bytes of one line, or adds or removes one, and
 * keeps every other byte (comments, blank lines, order, line ends, a
 * byte order mark); the result is checked with the parser and then
 * replaces the file atomically (new file, fsync, rename, fsync of the
 * directory), so the daemon, an admin's editor and a crash all see the
 * old file or the new one.  It never writes through a symbolic link,
 * and never keeps a plaintext password: each goes straight to
 * passwd_hash().  It does not decide who may edit: the command layer does.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "passwd.h"
#include "userdb.h"
#include "userdb_int.h"
#include "util.h"

#define BOM		"\xef\xbb\xbf"
#define TMP_TRIES	10
#define NAME_RULE	"1 to 32 of A-Z a-z 0-9 _ . -, not starting with " \
			". or -"

enum edit_op {
	OP_ADD,
	OP_PASSWORD,
	OP_LOCK,
	OP_UNLOCK,
	OP_DELETE,
};

/* The file as it was read, and the table parsed from it. */
struct users_file {
	char *path;
	char *data;
	size_t len;
	struct stat st;			/* the version data came from */
	struct userdb *db;
};

static pthread_mutex_t edit_mutex = PTHREAD_MUTEX_INITIALIZER;

static void
wipe_free(char *p, size_t len)
{
	if (p != NULL) {
		secure_zero(p, len);
		free(p);
	}
}

static void
users_file_free(struct users_file *f)
{
	free(f->path);
	wipe_free(f->data, f->len);
	userdb_free(f->db);
	memset(f, 0, sizeof(*f));
}

/*
 * Read and parse the live file.  Unlike the daemon's reads, this one
 * does not follow a symbolic link: the rename would replace the link,
 * not the file it points to.
 */
static int
read_current(struct users_file *f, char *err, size_t errlen)
{
	struct stat after;
	char why[1024];
	size_t cap;
	ssize_t r;
	int fd, rc = -1;

	memset(f, 0, sizeof(*f));
	f->path = userdb_path();
	if (f->path == NULL) {
		set_err(err, errlen, "the users table is not initialized");
		return -1;
	}
	fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ELOOP) {
		set_err(err, errlen, "%s is a symbolic link; not editing "
		    "through it (point UsersFile at the file itself)", f->path);
		return -1;
	}
	if (fd == -1) {
		set_err(err, errlen, "%s: %m", f->path);
		return -1;
	}
	if (fstat(fd, &f->st) == -1) {
		set_err(err, errlen, "%s: fstat: %m", f->path);
		goto out;
	}
	if (!S_ISREG(f->st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", f->path);
		goto out;
	}
	if ((f->st.st_mode & 0026) != 0) {
		set_err(err, errlen, "%s: mode %04o is too open; chmod 600 %s "
		    "(or 640)", f->path, (unsigned)(f->st.st_mode & 07777),
		    f->path);
		goto out;
	}
	if (f->st.st_size > FILE_MAX) {
		set_err(err, errlen, "%s: file too large (over 16 MiB)",
		    f->path);
		goto out;
	}
	/* One byte more than the size: reading it means the file grew. */
	cap = (size_t)f->st.st_size + 1;
	f->data = xmalloc(cap);
	while (f->len < cap) {
		r = read(fd, f->data + f->len, cap - f->len);
		if (r == -1 && errno == EINTR) {
			continue;
		}
		if (r == -1) {
			set_err(err, errlen, "%s: read: %m", f->path);
			goto out;
		}
		if (r == 0) {
			break;
		}
		f->len += (size_t)r;
	}
	if (fstat(fd, &after) == -1) {
		set_err(err, errlen, "%s: fstat: %m", f->path);
		goto out;
	}
	if (!stat_same_version(&f->st, &after) ||
	    (off_t)f->len != f->st.st_size) {
		set_err(err, errlen, "%s changed while being read; try again",
		    f->path);
		goto out;
	}
	f->db = userdb_parse(f->path, f->data, f->len, why, sizeof(why));
	if (f->db == NULL) {
		set_err(err, errlen, "%s; fix the file first", why);
		goto out;
	}
	rc = 0;
out:
	if (close(fd) == -1) {
		warn("%s: close: %m", f->path);
	}
	/* On failure the caller frees f, the buffer with it. */
	return rc;
}

/*
 * Line n (counted from 1 as userdb_parse counts, after a byte order
 * mark): its text is [*start, *end), without the line end, and the
 * next line starts at *next.
 */
static bool
find_line(const char *data, size_t len, unsigned n, size_t *start,
    size_t *end, size_t *next)
{
	const char *nl;
	size_t p = 0;
	unsigned line;

	if (len >= 3 && memcmp(data, BOM, 3) == 0) {
		p = 3;
	}
	for (line = 1; line < n; line++) {
		nl = memchr(data + p, '\n', len - p);
		if (nl == NULL) {
			return false;
		}
		p = (size_t)(nl - data) + 1;
	}
	if (p >= len) {
		return false;
	}
	nl = memchr(data + p, '\n', len - p);
	*start = p;
	*end = nl == NULL ? len : (size_t)(nl - data);
	*next = nl == NULL ? len : *end + 1;
	if (*end > p && data[*end - 1] == '\r') {
		(*end)--;
	}
	return true;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Where the password field's value is in a line the parser accepted:
 * [*a, *b), quotes included, blanks around it left out.
 */
static bool
password_span(const char *s, size_t len, size_t *a, size_t *b)
{
	size_t i = 0;

	while (i < len && is_blank(s[i])) {
		i++;
	}
	if (i < len && s[i] == '"') {
		for (i++; i < len; i++) {
			if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
				i++;
			} else if (s[i] == '"') {
				break;
			}
		}
	}
	while (i < len && s[i] != ',') {
		i++;
	}
	if (i == len) {
		return false;
	}
	for (i++; i < len && is_blank(s[i]); i++) {
		;
	}
	*a = i;
	if (i < len && s[i] == '"') {
		for (i++; i < len; i++) {
			if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
				i++;
			} else if (s[i] == '"') {
				*b = i + 1;
				return true;
			}
		}
		return false;
	}
	while (i < len && s[i] != ',') {
		i++;
	}
	while (i > *a && is_blank(s[i - 1])) {
		i--;
	}
	*b = i;
	return true;
}

/*
 * The password field for pw, '!' first when locked, quoted when the
 * parser would otherwise read it differently.  A hash never needs
 * quotes; a legacy plaintext password may.  The result is a secret.
 */
static char *
encode_password(bool locked, const char *pw, size_t *lenp)
{
	size_t len = strlen(pw), i, o = 0;
	bool quote;
	char *out;

	quote = strpbrk(pw, ",\"\r") != NULL ||
	    (len > 0 && (is_blank(pw[0]) || is_blank(pw[len - 1])));
	out = xmalloc(2 * len + 4);
	if (quote) {
		out[o++] = '"';
	}
	if (locked) {
		out[o++] = '!';
	}
	for (i = 0; i < len; i++) {
		if (pw[i] == '"') {
			out[o++] = '"';
		}
		out[o++] = pw[i];
	}
	if (quote) {
		out[o++] = '"';
	}
	out[o] = '\0';
	*lenp = o;
	return out;
}

/* The file's line end: CR LF when its first line ends so. */
static const char *
file_eol(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);

	return nl != NULL && nl > data && nl[-1] == '\r' ? "\r\n" : "\n";
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR) {
			continue;
		}
		if (w == -1) {
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The directory of path, for creating the new file and syncing. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		return xstrdup(".");
	}
	if (slash == path) {
		return xstrdup("/");
	}
	return xstrndup(path, (size_t)(slash - path));
}

/* A new file beside f->path, with its mode and owner; -1 on failure. */
static int
create_beside(const struct users_file *f, char **tmpp, char *err,
    size_t errlen)
{
	unsigned char rnd[6];
	struct stat st;
	char *tmp = NULL;
	int fd = -1, i;

	*tmpp = NULL;
	for (i = 0; i < TMP_TRIES; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			error("RAND_bytes failed");
			set_err(err, errlen, "cannot name a new file; see "
			    "server.log");
			return -1;
		}
		tmp = xasprintf("%s.new-%02x%02x%02x%02x%02x%02x", f->path,
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, 0600);
		if (fd != -1) {
			break;
		}
		if (errno != EEXIST || i == TMP_TRIES - 1) {
			set_err(err, errlen, "%s: %m", tmp);
			free(tmp);
			return -1;
		}
		free(tmp);
	}
	*tmpp = tmp;
	if (geteuid() == 0) {
		if (fchown(fd, f->st.st_uid, f->st.st_gid) == -1) {
			set_err(err, errlen, "%s: fchown: %m", tmp);
			goto fail;
		}
	} else if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "%s: fstat: %m", tmp);
		goto fail;
	} else if (st.st_gid != f->st.st_gid &&
	    fchown(fd, (uid_t)-1, f->st.st_gid) == -1) {
		set_err(err, errlen, "%s: cannot keep its group %u: %m",
		    f->path, (unsigned)f->st.st_gid);
		goto fail;
	}
	if (fchmod(fd, f->st.st_mode & 07777) == -1) {
		set_err(err, errlen, "%s: fchmod: %m", tmp);
		goto fail;
	}
	return fd;
fail:
	if (close(fd) == -1) {
		warn("%s: close: %m", tmp);
	}
	return -1;
}

/*
 * Replace f->path by data, keeping its mode and owner.  Returns -1,
 * with f->path untouched, on any failure before the rename.
 */
static int
replace_file(const struct users_file *f, const char *data, size_t len,
    char *err, size_t errlen)
{
	struct stat now;
	char *tmp = NULL, *dir;
	int fd, dfd, rc = -1;

	if (geteuid() != 0 && f->st.st_uid != geteuid()) {
		set_err(err, errlen, "%s is owned by uid %u, and only root "
		    "can keep that owner", f->path, (unsigned)f->st.st_uid);
		return -1;
	}
	fd = create_beside(f, &tmp, err, errlen);
	if (fd == -1) {
		goto out;
	}
	if (write_all(fd, data, len) == -1) {
		set_err(err, errlen, "%s: write: %m", tmp);
		(void)close(fd);	/* the write error is the one to tell */
		goto out;
	}
	if (fsync(fd) == -1) {
		set_err(err, errlen, "%s: fsync: %m", tmp);
		(void)close(fd);
		goto out;
	}
	if (close(fd) == -1) {
		set_err(err, errlen, "%s: close: %m", tmp);
		goto out;
	}
	/* An edit made by hand since the read must not be lost. */
	if (lstat(f->path, &now) == -1 || !stat_same_version(&now, &f->st)) {
		set_err(err, errlen, "%s changed while being edited; nothing "
		    "was changed, try again", f->path);
		goto out;
	}
	if (rename(tmp, f->path) == -1) {
		set_err(err, errlen, "rename %s to %s: %m", tmp, f->path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
	/* The edit stands from here on; a failed sync is only logged. */
	dir = dir_of(f->path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		error("%s: %m; the rename of %s may not survive a crash", dir,
		    f->path);
	} else {
		if (fsync(dfd) == -1) {
			error("%s: fsync: %m; the rename of %s may not survive "
			    "a crash", dir, f->path);
		}
		if (close(dfd) == -1) {
			warn("%s: close: %m", dir);
		}
	}
	free(dir);
out:
	if (tmp != NULL) {
		if (unlink(tmp) == -1 && errno != ENOENT) {
			error("%s: unlink: %m; remove it by hand", tmp);
		}
		free(tmp);
	}
	return rc;
}

/* The user spelt exactly name, or NULL; *other: the same but for case. */
static const struct user *
find_user(const struct userdb *db, const char *name,
    const struct user **other)
{
	const struct user *u;
	size_t i;

	*other = NULL;
	for (i = 0; (u = userdb_get(db, i)) != NULL; i++) {
		if (strcmp(u->name, name) == 0) {
			return u;
		}
		if (ascii_casecmp(u->name, name) == 0) {
			*other = u;
		}
	}
	return NULL;
}

/* Whether the edited table says what the edit meant to say. */
static bool
edit_took(enum edit_op op, const struct userdb *old, const struct user *was,
    const struct userdb *db, const char *name, const char *hash,
    enum user_role role)
{
	const struct user *u = userdb_find(db, name);

	switch (op) {
	case OP_ADD:
		return userdb_count(db) == userdb_count(old) + 1 &&
		    u != NULL && u->role == role && !u->locked &&
		    strcmp(u->password, hash) == 0;
	case OP_PASSWORD:
		return userdb_count(db) == userdb_count(old) && u != NULL &&
		    u->role == was->role && u->locked == was->locked &&
		    strcmp(u->password, hash) == 0;
	case OP_LOCK:
	case OP_UNLOCK:
		return userdb_count(db) == userdb_count(old) && u != NULL &&
		    u->role == was->role && u->locked == (op == OP_LOCK) &&
		    strcmp(u->password, was->password) == 0;
	case OP_DELETE:
		return userdb_count(db) + 1 == userdb_count(old) && u == NULL;
	}
	return false;
}

/*
 * The new text of the file: [0, a) of the old one, then mid, then
 * [b, len) of the old one.  mid may hold a secret, so does the result.
 */
static char *
splice_text(const struct users_file *f, size_t a, size_t b, const char *mid,
    size_t midlen, size_t *lenp)
{
	char *out;

	*lenp = a + midlen + (f->len - b);
	out = xmalloc(*lenp + 1);
	memcpy(out, f->data, a);
	memcpy(out + a, mid, midlen);
	memcpy(out + a + midlen, f->data + b, f->len - b);
	out[*lenp] = '\0';
	return out;
}

/*
 * The bytes that replace [*a, *b) of the file for op, or NULL with err
 * set when op cannot be done to this user.
 */
static char *
edit_bytes(enum edit_op op, const struct users_file *f,
    const struct user *u, const char *name, const char *hash,
    enum user_role role, size_t *a, size_t *b, size_t *midlen, char *err,
    size_t errlen)
{
	size_t start, end, next, pa, pb, fieldlen;
	const char *eol;
	char *field, *mid;

	if (op == OP_ADD) {
		eol = file_eol(f->data, f->len);
		field = encode_password(false, hash, &fieldlen);
		mid = xasprintf("%s%s,%s,%s%s",
		    f->len > 0 && f->data[f->len - 1] != '\n' ? eol : "",
		    name, field, role == ROLE_ADMIN ? "admin" : "user", eol);
		wipe_free(field, fieldlen);
		*a = *b = f->len;
		*midlen = strlen(mid);
		return mid;
	}
	if (!find_line(f->data, f->len, u->line, &start, &end, &next)) {
		set_err(err, errlen, "internal error: line %u of %s not found",
		    u->line, f->path);
		return NULL;
	}
	if (op == OP_DELETE) {
		*a = start;
		*b = next;
		*midlen = 0;
		return xstrdup("");
	}
	if (!password_span(f->data + start, end - start, &pa, &pb)) {
		set_err(err, errlen, "internal error: no password field on "
		    "line %u of %s", u->line, f->path);
		return NULL;
	}
	*a = start + pa;
	*b = start + pb;
	if (op == OP_PASSWORD) {
		return encode_password(u->locked, hash, midlen);
	}
	return encode_password(op == OP_LOCK, u->password, midlen);
}

/* Checks that op makes sense for name in f; sets err if not. */
static bool
edit_allowed(enum edit_op op, const struct users_file *f, const char *name,
    const struct user **up, char *err, size_t errlen)
{
	const struct user *u, *other;
	char esc[200];

	escape_for_msg(name, strlen(name), esc, sizeof(esc));
	u = find_user(f->db, name, &other);
	*up = u;
	if (op == OP_ADD) {
		if (u != NULL) {
			set_err(err, errlen, "user '%s' already exists", esc);
			return false;
		}
		if (other != NULL) {
			set_err(err, errlen, "user '%s' already exists as '%s' "
			    "(names must differ in more than case)", esc,
			    other->name);
			return false;
		}
		return true;
	}
	if (u == NULL && other != NULL) {
		set_err(err, errlen, "user '%s' does not exist (did you mean "
		    "'%s'?)", esc, other->name);
		return false;
	}
	if (u == NULL) {
		set_err(err, errlen, "user '%s' does not exist", esc);
		return false;
	}
	if (op == OP_LOCK && u->locked) {
		set_err(err, errlen, "user '%s' is already locked", esc);
		return false;
	}
	if (op == OP_UNLOCK && !u->locked) {
		set_err(err, errlen, "user '%s' is not locked", esc);
		return false;
	}
	return true;
}

/*
 * One edit, under edit_mutex: read, change the bytes of one line,
 * check the result parses to what was meant, replace the file, reload.
 * hash is the new password hash for OP_ADD and OP_PASSWORD.
 */
static int
edit_file(enum edit_op op, const char *name, const char *hash,
    enum user_role role, char *err, size_t errlen)
{
	struct users_file f;
	struct userdb *db = NULL;
	const struct user *u;
	char *mid = NULL, *out = NULL, why[1024];
	size_t a, b, midlen = 0, outlen = 0;
	int rc = -1;

	if (!userdb_valid_name(name)) {
		escape_for_msg(name, strlen(name), why, sizeof(why));
		set_err(err, errlen, "bad user name '%s' (" NAME_RULE ")", why);
		return -1;
	}
	userdb_mutex_lock(&edit_mutex);
	if (read_current(&f, err, errlen) == -1) {
		goto out;
	}
	if (!edit_allowed(op, &f, name, &u, err, errlen)) {
		goto out;
	}
	mid = edit_bytes(op, &f, u, name, hash, role, &a, &b, &midlen, err,
	    errlen);
	if (mid == NULL) {
		goto out;
	}
	out = splice_text(&f, a, b, mid, midlen, &outlen);
	db = userdb_parse(f.path, out, outlen, why, sizeof(why));
	if (db == NULL || !edit_took(op, f.db, u, db, name, hash, role)) {
		error("%s: the edited file is not what was meant: %s", f.path,
		    db == NULL ? why : "wrong table");
		set_err(err, errlen, "internal error: the edit would damage "
		    "%s; nothing was changed (see server.log)", f.path);
		goto out;
	}
	if (replace_file(&f, out, outlen, err, errlen) == -1) {
		goto out;
	}
	rc = 0;
	/* The file is right; a failed reload is retried at the next login. */
	if (userdb_reload(why, sizeof(why)) == -1) {
		error("%s; the next login reads the file again", why);
	}
out:
	userdb_free(db);
	wipe_free(out, outlen);
	wipe_free(mid, midlen);
	users_file_free(&f);
	userdb_mutex_unlock(&edit_mutex);
	return rc;
}

int
userdb_add(const char *name, const char *password, enum user_role role,
    char *err, size_t errlen)
{
	char *hash;
	int rc;

	if (!userdb_valid_name(name)) {
		return edit_file(OP_ADD, name, NULL, role, err, errlen);
	}
	if (role != ROLE_USER && role != ROLE_ADMIN) {
		set_err(err, errlen, "unknown role (user or admin)");
		return -1;
	}
	/* Hash outside the lock: it is the slow part. */
	hash = passwd_hash(password, err, errlen);
	if (hash == NULL) {
		return -1;
	}
	rc = edit_file(OP_ADD, name, hash, role, err, errlen);
	wipe_free(hash, strlen(hash));
	return rc;
}

int
userdb_set_password(const char *name, const char *password, char *err,
    size_t errlen)
{
	char *hash;
	int rc;

	if (!userdb_valid_name(name)) {
		return edit_file(OP_PASSWORD, name, NULL, ROLE_USER, err,
		    errlen);
	}
	hash = passwd_hash(password, err, errlen);
	if (hash == NULL) {
		return -1;
	}
	rc = edit_file(OP_PASSWORD, name, hash, ROLE_USER, err, errlen);
	wipe_free(hash, strlen(hash));
	return rc;
}

int
userdb_delete(const char *name, char *err, size_t errlen)
{
	return edit_file(OP_DELETE, name, NULL, ROLE_USER, err, errlen);
}

int
userdb_set_locked(const char *name, bool locked, char *err, size_t errlen)
{
	return edit_file(locked ? OP_LOCK : OP_UNLOCK, name, NULL, ROLE_USER,
	    err, errlen);
}
