/*
 * libFuzzer harness for the command line: command_split() on any bytes,
 * and command_run() with the real command table and the real handlers,
 * from a chat session (ssh login or exec request) or from the admin
 * socket (sshchatctl: no session).
 *
 * Set up once in LLVMFuzzerInitialize, in a private directory on
 * /dev/shm (or $TMPDIR): the options' defaults, server.log and
 * server_events.log, a users file with alice (user), bob (admin), carol
 * (locked) and d.ve-x_1 (plaintext), yescrypt cost 1 so edits and
 * password checks are cheap, an SQLite message store
 * (synchronous=NORMAL), and four sessions in the router: alice and bob,
 * each with a terminal and as an exec request.  The sessions are plain
 * struct session values (no ssh connection, no shell); each has a real
 * mailbox writing records into a SOCK_SEQPACKET socketpair, whose far end the harness reads as the shell would.  The
 * harness's emit() does what session.c's emit_to_session() does
 * (mailbox_push to the invoking session) and also checks the text
 * before it is queued.  The terminal sessions take colour (as with a
 * pty, TERM set and no NO_COLOR), the exec sessions do not.  Only
 * daemon_request_shutdown() is replaced (link-time --wrap): it sends
 * SIGTERM to the process.  After each input the users file, the store
 * (messages, room lines, settings), the preferences cache (prefs_reset),
 * the sessions and both logs are put back as they were, so an input
 * replays the same way on its own.
 *
 * Input: byte 0 is flags, the rest command lines.
 *   bit 0      chat: bob (admin) instead of alice (user)
 *   bit 1      admin socket: user "root", admin, no session
 *   bits 2-4   secrets given when a command asks (CMD_ASK): see secrets[]
 *   bit 5      the rest is one line, NUL bytes included; otherwise the
 *              rest is up to 16 lines separated by NUL bytes, run in turn
 *   bit 6      MaxLineLength 64 instead of the default
 *   bit 7      chat: the exec session (no terminal); socket: JSON output
 *
 * Properties:
 *  - command_split() agrees with an independent tokenizer (words are
 *    maximal runs of non-blanks; the last of max words is the rest of
 *    the line minus trailing blanks) and never leaves the buffer.
 *  - Every REC_TEXT/REC_ERROR emitted is valid UTF-8 with no control
 *    byte but '\n', no DEL, C1, bidi control or zero-width character,
 *    and no flood of combining marks; every REC_ASK is a non-empty list
 *    of NUL-terminated prompts that pass the same checks without
 *    newlines.  No other record type is emitted.
 *  - Every record any session's shell receives (replies, chat messages
 *    and room lines from others, broadcasts, the REC_EXIT of
 *    kick/logout/userdel/lock) passes the same checks: what the terminal
 *    gets is safe, not only what the command produced.  The only control
 *    bytes allowed are the daemon's own: complete SGR colour sequences
 *    (terminal sessions, colour reset by the end of the record) and one
 *    BEL as the last byte (the bell on a private message).
 *  - command_run() returns 0, 1 or CMD_ASK; CMD_ASK exactly when one
 *    REC_ASK was emitted, and never again once the secrets are given.
 *  - Every line of server.log and server_events.log is valid UTF-8
 *    without control bytes and starts with a time stamp and a level or
 *    event name: no input can forge or split a log line.
 *
 * Not covered: the session thread itself (libssh, the shell process,
 * rate limits, idle timeouts), which needs a real connection.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "command.h"
#include "conf.h"
#include "log.h"
#include "mailbox.h"
#include "prefs.h"
#include "record.h"
#include "router.h"
#include "online.h"
#include "store.h"
#include "passwd.h"
#include "userdb.h"
#include "util.h"

#include "fuzz-check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __wrap_daemon_request_shutdown(const char *message);

#define MAX_LINES 16
#define NSESS 4

/* alice with a terminal, alice by exec, bob likewise. */
static struct session sess[NSESS];
static int shell_fd[NSESS] = { -1, -1, -1, -1 };
static int daemon_fd[NSESS] = { -1, -1, -1, -1 };
static char *rbuf;

static char dir[PATH_MAX];
static char *users_path, *store_path, *events_path, *server_path;
static char *users_text;
static struct stat users_st;
static struct store_options store_opts;
static sqlite3 *reset_db;	/* our own connection, to empty the store */

static int asks;
static bool secrets_given;
static bool verbose;		/* FUZZ_VERBOSE=1: print lines and records */
static unsigned shutdowns;

static const char *bob_password = "Bob-password-1";

/* Answers to CMD_ASK, by bits 2-4 of the flags; NULL: do not answer. */
static char s_good[] = "Fuzz-pass-1", s_good2[] = "Fuzz-pass-1";
static char s_other[] = "Fuzz-pass-2";
static char s_ctl[] = "pass\033]52;c;x\007", s_ctl2[] = "pass\033]52;c;x\007";
static char s_old[] = "Bob-password-1";
static char s_empty[] = "", s_empty2[] = "";
static char *sec_equal[] = { s_good, s_good2 };
static char *sec_differ[] = { s_good, s_other };
static char *sec_ctl[] = { s_ctl, s_ctl2 };
static char *sec_three[] = { s_old, s_good, s_good2 };
static char *sec_one[] = { s_good };
static char *sec_emptystr[] = { s_empty, s_empty2 };
static char *sec_none[] = { NULL };
static const struct {
	char **v;
	int n;
} secrets[8] = {
	{ NULL, 0 }, { sec_equal, 2 }, { sec_differ, 2 }, { sec_ctl, 2 },
	{ sec_three, 3 }, { sec_one, 1 }, { sec_none, 0 },
	{ sec_emptystr, 2 },
};

/* shutdown would SIGTERM the fuzzer; count it instead. */
void
__wrap_daemon_request_shutdown(const char *message)
{
	(void)message;
	shutdowns++;
}

static void
emit(struct cmd_ctx *ctx, int type, const char *text, size_t len)
{
	size_t off, l;

	FZ_CHECK(text != NULL, "emit: NULL text");
	/* As session.c's emit_to_session(). */
	if (ctx->session != NULL) {
		mailbox_push(ctx->session->mbox, type, text, len, 0);
	}
	if (verbose) {
		fprintf(stderr, "  %c: ", type);
		for (size_t i = 0; i < len; i++) {
			fputc(text[i] == '\0' ? '|' : text[i], stderr);
		}
		fputc('\n', stderr);
	}
	switch (type) {
	case REC_TEXT:
	case REC_ERROR:
		if (memchr(text, '\0', len) != NULL) {
			fz_hexdump("text", text, len);
			FZ_FAIL("emit: NUL byte inside a %c record", type);
		}
		fz_check_terminal(type == REC_TEXT ? "REC_TEXT" : "REC_ERROR",
		    text, len, ctx->session != NULL && ctx->session->color,
		    false);
		break;
	case REC_ASK:
		asks++;
		FZ_CHECK(!secrets_given, "emit: REC_ASK although the secrets "
		    "were given");
		FZ_CHECK(len > 0 && text[len - 1] == '\0',
		    "emit: REC_ASK payload not NUL-terminated (len %zu)", len);
		for (off = 0; off < len; off += l + 1) {
			l = strnlen(text + off, len - off);
			FZ_CHECK(l > 0, "emit: empty prompt in REC_ASK");
			fz_check_safe("REC_ASK prompt", text + off, l, false, 8);
		}
		break;
	default:
		FZ_FAIL("emit: unexpected record type %d", type);
	}
	(void)ctx;
}

/* Independent tokenizer for command_split(). */
static void
check_split(const uint8_t *data, size_t size)
{
	char *line, *orig, *argv[CMD_MAX_ARGS + 1];
	size_t len, starts[CMD_MAX_ARGS + 2], ends[CMD_MAX_ARGS + 2], i;
	int max, argc, ntok = 0;

	if (size == 0) {
		return;
	}
	max = 1 + data[0] % CMD_MAX_ARGS;
	orig = xstrndup((const char *)data + 1, size - 1);
	line = xstrdup(orig);
	len = strlen(orig);
	/* Reference: the first max tokens, and the end of the last one. */
	for (i = 0; i < len;) {
		while (i < len && (orig[i] == ' ' || orig[i] == '\t')) {
			i++;
		}
		if (i == len) {
			break;
		}
		if (ntok < max) {
			starts[ntok] = i;
		}
		while (i < len && orig[i] != ' ' && orig[i] != '\t') {
			i++;
		}
		if (ntok < max) {
			ends[ntok] = i;
		} else {
			ends[max - 1] = i;	/* the rest of the line */
		}
		ntok++;
	}
	argc = command_split(line, argv, max);
	if (argc != (ntok < max ? ntok : max)) {
		fz_hexdump("line", orig, len);
		FZ_FAIL("command_split(max %d) = %d words, reference has %d "
		    "tokens", max, argc, ntok);
	}
	for (int j = 0; j < argc; j++) {
		size_t wl = ends[j] - starts[j];

		if (argv[j] != line + starts[j] || strlen(argv[j]) != wl ||
		    memcmp(argv[j], orig + starts[j], wl) != 0) {
			fz_hexdump("line", orig, len);
			FZ_FAIL("command_split(max %d): word %d is '%s', "
			    "expected %zu bytes at offset %zu", max, j,
			    argv[j], wl, starts[j]);
		}
	}
	free(line);
	free(orig);
}

static void
run_line(struct cmd_ctx *ctx, const char *line, size_t len, int mode)
{
	int rc;

	asks = 0;
	secrets_given = false;
	ctx->secrets = NULL;
	ctx->nsecrets = 0;
	if (verbose) {
		fprintf(stderr, "%s (%s)> %.*s\n", ctx->user,
		    ctx->role == ROLE_ADMIN ? "admin" : "user", (int)len, line);
	}
	rc = command_run(ctx, line, len);
	FZ_CHECK(rc == 0 || rc == 1 || rc == CMD_ASK,
	    "command_run returned %d", rc);
	FZ_CHECK((rc == CMD_ASK) == (asks == 1) && asks <= 1,
	    "command_run returned %d after %d REC_ASK records", rc, asks);
	if (rc != CMD_ASK || secrets[mode].v == NULL) {
		return;
	}
	/* As session.c and admin.c do: run the same line with the answers. */
	asks = 0;
	secrets_given = true;
	ctx->secrets = secrets[mode].v;
	ctx->nsecrets = secrets[mode].n;
	if (verbose) {
		fprintf(stderr, "  (again with %d secrets)\n", ctx->nsecrets);
	}
	rc = command_run(ctx, line, len);
	FZ_CHECK(rc == 0 || rc == 1, "command_run with secrets returned %d",
	    rc);
	secrets_given = false;
}

static void
write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		FZ_FAIL("writing %s: %s", path, strerror(errno));
	}
	free(tmp);
}

/* Check every line of a log file, then empty it. */
static void
check_log(const char *path, bool events)
{
	static const char *const levels[] = { "error", "warn", "info",
		"debug" };
	struct buf b = { 0 };
	char chunk[65536], *p, *nl, *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		FZ_FAIL("%s: %s", path, strerror(errno));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (b.len == 0) {
		return;
	}
	FZ_CHECK(b.data[b.len - 1] == '\n', "%s: no newline at the end", path);
	end = b.data + b.len;
	for (p = b.data; p < end; p = nl + 1) {
		size_t ll, i;
		bool ok = false;

		nl = memchr(p, '\n', (size_t)(end - p));
		ll = (size_t)(nl - p);
		fz_check_safe(events ? "server_events.log line" :
		    "server.log line", p, ll, false, 0);
		/* 2026-11-24T02:00:00.123Z NAME ... */
		ok = ll > 25;
		for (i = 0; ok && i < 24; i++) {
			char c = p[i];

			ok = i == 4 || i == 7 ? c == '-' : i == 10 ? c == 'T' :
			    i == 13 || i == 16 ? c == ':' : i == 19 ? c == '.' :
			    i == 23 ? c == 'Z' : c >= '0' && c <= '9';
		}
		ok = ok && p[24] == ' ';
		if (ok && events) {
			for (i = 25; i < ll && p[i] != ' '; i++) {
				ok = ok && ((p[i] >= 'A' && p[i] <= 'Z') ||
				    p[i] == '_');
			}
		} else if (ok) {
			ok = false;
			for (i = 0; i < ARRAY_SIZE(levels); i++) {
				size_t l = strlen(levels[i]);

				if (ll >= 25 + l + 1 && memcmp(p + 25,
				    levels[i], l) == 0 && p[25 + l] == ' ') {
					ok = true;
				}
			}
		}
		if (!ok) {
			fz_hexdump("log line", p, ll);
			FZ_FAIL("%s: a line that does not start with a time "
			    "stamp and %s", path, events ? "an event name" :
			    "a level");
		}
	}
	buf_free(&b);
	if (truncate(path, 0) < 0) {
		FZ_FAIL("truncate %s: %s", path, strerror(errno));
	}
}

static void
open_store(void)
{
	char err[512];
	const char *suffix[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char *p = xasprintf("%s%s", store_path, suffix[i]);

		(void)unlink(p);
		free(p);
	}
	if (store_open(store_path, &store_opts, err, sizeof(err)) < 0) {
		FZ_FAIL("store_open: %s", err);
	}
}

/* Put the users file, the store and the logs back as they were. */
static void
restore(void)
{
	struct stat st;
	char err[512];

	if (stat(users_path, &st) < 0 || st.st_ino != users_st.st_ino ||
	    st.st_size != users_st.st_size ||
	    st.st_mtim.tv_sec != users_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != users_st.st_mtim.tv_nsec) {
		write_file(users_path, users_text);
		if (userdb_reload(err, sizeof(err)) < 0) {
			FZ_FAIL("userdb_reload: %s", err);
		}
		if (stat(users_path, &users_st) < 0) {
			FZ_FAIL("stat %s: %s", users_path, strerror(errno));
		}
	}
	/*
	 * The store: messages, room lines and settings.  A synchronous
	 * append first, so that no asynchronous write (settings, delivery
	 * marks) lands after the reset.  Ids are INTEGER PRIMARY KEY
	 * without AUTOINCREMENT, so they start again from 1.  DELETE is
	 * much cheaper than store_close() and store_open() under ASan; if
	 * the schema changes, this says so.
	 */
	{
		char *msg = NULL, e[256];
		int64_t id;

		if (store_append("fuzz", "fuzz", "barrier", 7, &id, NULL, NULL,
		    e, sizeof(e)) != STORE_OK) {
			FZ_FAIL("store_append: %s", e);
		}
		if (sqlite3_exec(reset_db, "DELETE FROM messages; "
		    "DELETE FROM settings", NULL, NULL, &msg) != SQLITE_OK) {
			FZ_FAIL("emptying the store: %s", msg);
		}
	}
	/* Settings, ignore lists, away, last sender: reloaded from the
	 * (now empty) store on first use. */
	prefs_reset();
	check_log(events_path, true);
	check_log(server_path, false);
}

/* New mailboxes for every session. */
static void
start_mailboxes(void)
{
	for (int i = 0; i < NSESS; i++) {
		atomic_store(&sess[i].end_request, END_NONE);
		sess[i].mbox = mailbox_new(daemon_fd[i], sess[i].wake_fd,
		    sess[i].user,
		    (size_t)options.mailbox_size, sess[i].color, NULL);
	}
}

/* Check every record a shell received. */
static void
read_shell(int i)
{
	ssize_t n;
	int type;

	for (;;) {
		n = recv(shell_fd[i], rbuf, RECORD_MAX, MSG_DONTWAIT | MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		n = record_recv(shell_fd[i], &type, rbuf);
		if (n < 0) {
			FZ_FAIL("shell %d: record_recv: %s", i, strerror(errno));
		}
		switch (type) {
		case REC_TEXT:
		case REC_ERROR:
		case REC_EXIT:
			if (verbose) {
				fprintf(stderr, "  [%s%s] %c: %s\n", sess[i].user,
				    sess[i].interactive ? "" : " exec", type,
				    rbuf);
			}
			if (memchr(rbuf, '\0', (size_t)n) != NULL) {
				fz_hexdump("record", rbuf, (size_t)n);
				FZ_FAIL("shell of %s: NUL inside a %c record",
				    sess[i].user, type);
			}
			fz_check_terminal("record to a shell", rbuf, (size_t)n,
			    sess[i].color, sess[i].interactive);
			break;
		case REC_ASK:
			break;		/* checked in emit() */
		default:
			FZ_FAIL("shell of %s: unexpected record type %d",
			    sess[i].user, type);
		}
	}
}

/* Let every mailbox write out what it holds, read and check it all. */
static void
drain_mailboxes(void)
{
	uint64_t count;

	for (int i = 0; i < NSESS; i++) {
		/* The socket buffer may hold less than the queue: read
		 * while the mailbox writes, as a session thread would. */
		while (mailbox_flush(sess[i].mbox) == MAILBOX_FULL ||
		    mailbox_pending(sess[i].mbox) > 0) {
			read_shell(i);
		}
		mailbox_free(sess[i].mbox);
		sess[i].mbox = NULL;
		read_shell(i);
		(void)!read(sess[i].wake_fd, &count, sizeof(count));
	}
}

static void
setup_sessions(void)
{
	for (int i = 0; i < NSESS; i++) {
		struct session *s = &sess[i];
		int sv[2], sz = 1 << 20;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) < 0) {
			FZ_FAIL("socketpair: %s", strerror(errno));
		}
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		daemon_fd[i] = sv[0];
		shell_fd[i] = sv[1];
		s->id = (unsigned long)i + 1;
		snprintf(s->user, sizeof(s->user), "%s", i < 2 ? "alice" :
		    "bob");
		s->role = i < 2 ? ROLE_USER : ROLE_ADMIN;
		snprintf(s->addr, sizeof(s->addr), "192.0.2.%d:%d", i + 1,
		    40000 + i);
		snprintf(s->ip, sizeof(s->ip), "192.0.2.%d", i + 1);
		s->login_time = 1700000000;
		s->login_ms = now_ms();
		atomic_store(&s->last_input_ms, s->login_ms);
		s->interactive = i % 2 == 0;
		s->color = s->interactive;	/* a pty, TERM set, no NO_COLOR */
		atomic_store(&s->cols, s->interactive ? 80 : 0);
		atomic_store(&s->rows, s->interactive ? 24 : 0);
		s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->wake_fd < 0) {
			FZ_FAIL("eventfd: %s", strerror(errno));
		}
		router_add(s);
	}
	rbuf = xmalloc(RECORD_MAX + 1);
}

static void
cleanup(void)
{
	for (int i = 0; i < NSESS; i++) {
		if (sess[i].mbox != NULL) {
			mailbox_free(sess[i].mbox);
		}
	}
	store_close();
	sqlite3_close(reset_db);
	userdb_shutdown();
	log_close();
	if (dir[0] != '\0') {
		char *cmd = xasprintf("rm -rf '%s'", dir);

		(void)!system(cmd);
		free(cmd);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");
	char err[512], *h[3];
	const char *pw[3] = { "Alice-password-1", NULL, "Carol-password-1" };

	(void)argc;
	(void)argv;
	pw[1] = bob_password;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (access("/dev/shm", W_OK) == 0) {
		base = "/dev/shm";
	} else if (base == NULL) {
		base = "/tmp";
	}
	snprintf(dir, sizeof(dir), "%s/sshchat-fuzz-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		FZ_FAIL("mkdtemp %s: %s", dir, strerror(errno));
	}
	atexit(cleanup);
	conf_defaults();
	if (log_open(dir, err, sizeof(err)) < 0) {
		FZ_FAIL("log_open: %s", err);
	}
	log_set_level(LOG_DEBUG);
	events_path = xasprintf("%s/server_events.log", dir);
	server_path = xasprintf("%s/server.log", dir);
	users_path = xasprintf("%s/users.csv", dir);
	store_path = xasprintf("%s/messages.db", dir);

	passwd_set_cost(1);
	for (int i = 0; i < 3; i++) {
		h[i] = passwd_hash(pw[i], err, sizeof(err));
		if (h[i] == NULL) {
			FZ_FAIL("passwd_hash: %s", err);
		}
	}
	users_text = xasprintf("username,password,role\n"
	    "# a comment\n"
	    "alice,%s,user\n"
	    "bob,%s,admin\n"
	    "carol,!%s,user\n"
	    "d.ve-x_1,plain-text-pw\n", h[0], h[1], h[2]);
	for (int i = 0; i < 3; i++) {
		free(h[i]);
	}
	write_file(users_path, users_text);
	if (userdb_init(users_path, err, sizeof(err)) < 0) {
		FZ_FAIL("userdb_init: %s", err);
	}
	if (stat(users_path, &users_st) < 0) {
		FZ_FAIL("stat %s: %s", users_path, strerror(errno));
	}
	store_opts.sync_full = false;
	store_opts.max_queued = options.max_queued;
	store_opts.retention_days = 0;
	open_store();
	if (sqlite3_open_v2(store_path, &reset_db, SQLITE_OPEN_READWRITE,
	    NULL) != SQLITE_OK) {
		FZ_FAIL("sqlite3_open_v2 %s: %s", store_path,
		    sqlite3_errmsg(reset_db));
	}
	sqlite3_busy_timeout(reset_db, 10000);
	setup_sessions();
	start_mailboxes();
	drain_mailboxes();
	restore();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd_ctx ctx;
	const char *body;
	size_t blen, off, l;
	int saved_max, mode, lines = 0;
	uint8_t flags;

	check_split(data, size);
	if (size == 0) {
		return 0;
	}
	flags = data[0];
	body = (const char *)data + 1;
	blen = size - 1;
	mode = (flags >> 2) & 7;

	memset(&ctx, 0, sizeof(ctx));
	if (flags & 2) {
		/* The admin socket. */
		ctx.session = NULL;
		ctx.user = "root";
		ctx.role = ROLE_ADMIN;
		ctx.json = (flags & 0x80) != 0;
		ctx.origin = "socket";
	} else {
		struct session *s = &sess[((flags & 1) ? 2 : 0) +
		    ((flags & 0x80) ? 1 : 0)];

		ctx.session = s;
		ctx.user = s->user;
		ctx.role = s->role;
		ctx.origin = "session";
	}
	ctx.emit = emit;
	start_mailboxes();
	saved_max = options.max_line_length;
	if (flags & 0x40) {
		options.max_line_length = 64;
	}
	if (flags & 0x20) {
		run_line(&ctx, body, blen, mode);
	} else {
		for (off = 0; off < blen && lines < MAX_LINES; off += l + 1) {
			l = strnlen(body + off, blen - off);
			run_line(&ctx, body + off, l, mode);
			lines++;
		}
	}
	options.max_line_length = saved_max;
	drain_mailboxes();
	restore();
	return 0;
}
