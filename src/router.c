/*
 * The online table: a hash of user name -> list of that user's sessions,
 * under one mutex.  Delivery pushes into mailboxes under the lock; since
 * pushes never block and removal takes the same lock, no session is
 * freed while a delivery holds a pointer to it.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "mailbox.h"
#include "messages.h"
#include "metrics.h"
#include "online.h"
#include "prefs.h"
#include "record.h"
#include "router.h"
#include "store.h"
#include "userdb.h"

#define BUCKETS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *table[BUCKETS];
static unsigned nsessions;
/* Admitted (router_admit) and not yet added: nothing is delivered to them. */
static struct session *admitted;
static unsigned nadmitted;

static void flush_notices_locked(void);

/*
 * Every session in the table; the lock is held.  (break ends a bucket.)
 * s names the loop variable, so it cannot be parenthesized.
 */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define FOR_EACH_SESSION(s)						\
	for (size_t b_ = 0; b_ < BUCKETS; b_++)				\
		for (struct session *s = table[b_]; s != NULL;		\
		    s = s->router_next)
/* NOLINTEND(bugprone-macro-parentheses) */

static unsigned
hash(const char *s)
{
	return str_hash(s) % BUCKETS;
}

/* Take s off the admitted list, if it is there; the lock is held. */
static void
unadmit_locked(struct session *s)
{
	for (struct session **pp = &admitted; *pp != NULL;
	    pp = &(*pp)->router_next) {
		if (*pp == s) {
			*pp = s->router_next;
			nadmitted--;
			return;
		}
	}
}

enum router_admit
router_admit(struct session *s, unsigned max_total, unsigned max_user)
{
	unsigned mine = 0;
	enum router_admit r = ROUTER_ADMITTED;

	pthread_mutex_lock(&lock);
	unadmit_locked(s);
	for (struct session *o = table[hash(s->user)]; o != NULL;
	    o = o->router_next) {
		mine += strcmp(o->user, s->user) == 0;
	}
	for (struct session *o = admitted; o != NULL; o = o->router_next) {
		mine += strcmp(o->user, s->user) == 0;
	}
	if (nsessions + nadmitted >= max_total) {
		r = ROUTER_FULL;
	} else if (mine >= max_user) {
		r = ROUTER_USER_FULL;
	} else {
		s->router_next = admitted;
		admitted = s;
		nadmitted++;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void
router_add(struct session *s)
{
	unsigned h = hash(s->user);

	pthread_mutex_lock(&lock);
	unadmit_locked(s);
	s->router_next = table[h];
	table[h] = s;
	nsessions++;
	metrics.sessions[s->kind]++;
	pthread_mutex_unlock(&lock);
}

void
router_remove(struct session *s)
{
	struct session **pp;

	pthread_mutex_lock(&lock);
	unadmit_locked(s);
	for (pp = &table[hash(s->user)]; *pp != NULL;
	    pp = &(*pp)->router_next) {
		if (*pp == s) {
			*pp = s->router_next;
			nsessions--;
			metrics.sessions[s->kind]--;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

/* Format m for session s and queue it; id is what mailbox_push takes. */
static void
push_formatted(struct session *s, const struct store_message *m, int64_t id)
{
	struct chat_view v;
	char *text;

	prefs_view(&v, s->user, s->color, chat_width(s->interactive, s->cols));
	text = chat_format_message(m, &v, false);
	mailbox_push(s->mbox, REC_TEXT, text, strlen(text), id);
	free(text);
}

int
router_deliver(const struct store_message *m)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	flush_notices_locked();
	for (struct session *s = table[hash(m->recipient)]; s != NULL;
	    s = s->router_next) {
		if (s->interactive && strcmp(s->user, m->recipient) == 0) {
			push_formatted(s, m, m->id);
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

int
router_room(const struct store_message *m)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	flush_notices_locked();
	FOR_EACH_SESSION(s) {
		if (s->interactive &&
		    !prefs_ignores(s->user, m->sender)) {
			push_formatted(s, m, MAILBOX_ROOM);
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

/*
 * Join and leave notices wait here (at most about a second) and go out
 * together: a login storm with N users online then costs N deliveries a
 * second, not N per login.  Any other delivery sends them first, so
 * they are never shown after what followed them.
 */
struct notice {
	struct notice *next;
	bool joined;
	char user[USER_NAME_MAX + 1];
};

static pthread_mutex_t notice_lock = PTHREAD_MUTEX_INITIALIZER;
static struct notice *notices, **notices_tail = &notices;

void
router_notice(const char *user, bool joined)
{
	struct notice *n = xcalloc(1, sizeof(*n));

	n->joined = joined;
	snprintf(n->user, sizeof(n->user), "%s", user);
	pthread_mutex_lock(&notice_lock);
	*notices_tail = n;
	notices_tail = &n->next;
	pthread_mutex_unlock(&notice_lock);
}

/*
 * Push the notices in list to s, as its user wants them: one line for
 * each run of joins or of leaves, without the user's own name or the
 * names the user ignores.  The router lock is held.
 */
static void
push_notices(struct session *s, const struct notice *list, size_t max)
{
	const char **names = xcalloc(max, sizeof(*names));
	struct chat_view v;

	prefs_view(&v, s->user, s->color, 0);
	for (const struct notice *n = list; n != NULL;) {
		bool joined = n->joined;
		size_t k = 0;

		for (; n != NULL && n->joined == joined; n = n->next) {
			if (strcmp(s->user, n->user) != 0 &&
			    !prefs_ignores(s->user, n->user)) {
				names[k++] = n->user;
			}
		}
		if (k > 0) {
			char *text = chat_format_notice(names, k, joined, &v);

			mailbox_push(s->mbox, REC_TEXT, text, strlen(text),
			    MAILBOX_ROOM);
			free(text);
		}
	}
	free(names);
}

/* Send the waiting notices; the router lock is held. */
static void
flush_notices_locked(void)
{
	struct notice *list;
	size_t count = 0;

	pthread_mutex_lock(&notice_lock);
	list = notices;
	notices = NULL;
	notices_tail = &notices;
	pthread_mutex_unlock(&notice_lock);
	if (list == NULL) {
		return;
	}
	for (struct notice *n = list; n != NULL; n = n->next) {
		count++;
	}
	FOR_EACH_SESSION(s) {
		if (s->interactive &&
		    prefs_flag(s->user, PREF_NOTICES)) {
			push_notices(s, list, count);
		}
	}
	while (list != NULL) {
		struct notice *next = list->next;

		free(list);
		list = next;
	}
}

void
router_flush_notices(void)
{
	pthread_mutex_lock(&lock);
	flush_notices_locked();
	pthread_mutex_unlock(&lock);
}

unsigned
router_user_sessions(const char *user)
{
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	for (struct session *s = table[hash(user)]; s != NULL;
	    s = s->router_next) {
		if (strcmp(s->user, user) == 0) {
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

bool
router_is_online(const char *user)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (struct session *s = table[hash(user)]; s != NULL;
	    s = s->router_next) {
		if (strcmp(s->user, user) == 0) {
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted unique names of online users matching prefix; caller frees. */
static size_t
collect(const char *prefix, const char ***out)
{
	const char **names;
	size_t n = 0, u = 0, plen = strlen(prefix);

	names = xcalloc(nsessions + 1, sizeof(*names));
	FOR_EACH_SESSION(s) {
		if (strncmp(s->user, prefix, plen) == 0) {
			names[n++] = s->user;
		}
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (u == 0 || strcmp(names[u - 1], names[i]) != 0) {
			names[u++] = names[i];
		}
	}
	*out = names;
	return u;
}

unsigned
router_online(struct buf *out)
{
	const char **names;
	size_t n;

	pthread_mutex_lock(&lock);
	n = collect("", &names);
	for (size_t i = 0; i < n; i++) {
		buf_appendf(out, "%s%s", i > 0 ? ", " : "", names[i]);
	}
	pthread_mutex_unlock(&lock);
	if (n == 0) {
		buf_append(out, "", 0);
	}
	free(names);
	return (unsigned)n;
}

void
router_complete(const char *prefix, struct buf *out)
{
	const char **names;
	size_t n;

	pthread_mutex_lock(&lock);
	n = collect(prefix, &names);
	for (size_t i = 0; i < n; i++) {
		buf_append(out, names[i], strlen(names[i]) + 1);
	}
	pthread_mutex_unlock(&lock);
	free(names);
}

int
router_end_sessions(const char *user, enum end_reason reason,
    const char *text)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (struct session *s = table[hash(user)]; s != NULL;
	    s = s->router_next) {
		if (strcmp(s->user, user) == 0) {
			online_request_end(s, reason, text);
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

int
router_broadcast(const char *text)
{
	size_t len = strlen(text);
	int n = 0;

	pthread_mutex_lock(&lock);
	flush_notices_locked();
	FOR_EACH_SESSION(s) {
		if (s->interactive &&
		    mailbox_push(s->mbox, REC_TEXT, text, len, 0)) {
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void
router_foreach(void (*fn)(struct session *, void *), void *arg)
{
	pthread_mutex_lock(&lock);
	FOR_EACH_SESSION(s) {
		fn(s, arg);
	}
	pthread_mutex_unlock(&lock);
}

unsigned
router_session_count(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = nsessions;
	pthread_mutex_unlock(&lock);
	return n;
}

void
router_check_accounts(void)
{
	static unsigned long checked;	/* under lock */
	struct userdb *db = userdb_acquire();

	if (db == NULL) {
		return;
	}
	pthread_mutex_lock(&lock);
	if (userdb_generation(db) != checked) {
		checked = userdb_generation(db);
		FOR_EACH_SESSION(s) {
			const struct user *u = userdb_find(db, s->user);

			if (u == NULL) {
				online_request_end(s, END_REMOVED,
				    MSG_ACCOUNT_DELETED);
			} else if (u->locked) {
				online_request_end(s, END_LOCKED,
				    MSG_ACCOUNT_LOCKED);
			}
		}
	}
	pthread_mutex_unlock(&lock);
	userdb_release(db);
}
