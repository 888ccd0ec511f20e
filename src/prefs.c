/*
 * The per-user cache behind prefs.h: one hash table under one mutex,
 * bounded by the number of accounts that log in.  Persistent settings
 * are written through to the store's settings table (keys "timestamps",
 * "bell", "notices", "color", "room.seen", "ignore.NAME").
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "prefs.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

#define BUCKETS 1024
#define AWAY_MAX 200

struct ustate {
	struct ustate *next;
	char user[USER_NAME_MAX + 1];
	bool flags[PREF_COUNT];
	char **ignores;
	size_t nignores;
	char *away;		/* NULL: not away */
	char **told;		/* senders told about the away reason */
	size_t ntold;
	char last_from[USER_NAME_MAX + 1];
	int64_t room_seen;
};

static const char *const flag_names[PREF_COUNT] = {
	[PREF_TIMESTAMPS] = "timestamps",
	[PREF_BELL] = "bell",
	[PREF_NOTICES] = "notices",
	[PREF_COLOR] = "color",
};
static const bool flag_defaults[PREF_COUNT] = { true, true, true, true };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ustate *table[BUCKETS];

static unsigned
hash(const char *s)
{
	return str_hash(s) % BUCKETS;
}

static void
add_name(char ***list, size_t *n, const char *name)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(name);
}

static bool
remove_name(char ***list, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*list)[i], name) == 0) {
			free((*list)[i]);
			(*list)[i] = (*list)[--*n];
			return true;
		}
	}
	return false;
}

static bool
has_name(char **list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], name) == 0) {
			return true;
		}
	}
	return false;
}

static void
free_names(char ***list, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*list)[i]);
	}
	free(*list);
	*list = NULL;
	*n = 0;
}

static void
apply_setting(const char *key, const char *value, void *arg)
{
	struct ustate *u = arg;

	for (int f = 0; f < PREF_COUNT; f++) {
		if (strcmp(key, flag_names[f]) == 0) {
			u->flags[f] = strcmp(value, "on") == 0;
			return;
		}
	}
	if (strncmp(key, "ignore.", 7) == 0 &&
	    !has_name(u->ignores, u->nignores, key + 7)) {
		add_name(&u->ignores, &u->nignores, key + 7);
	} else if (strcmp(key, "room.seen") == 0) {
		u->room_seen = strtoll(value, NULL, 10);
	}
}

/* The entry for user, created (and loaded) if needed; lock held. */
static struct ustate *
get(const char *user)
{
	unsigned h = hash(user);
	struct ustate *u;

	for (u = table[h]; u != NULL; u = u->next) {
		if (strcmp(u->user, user) == 0) {
			return u;
		}
	}
	u = xcalloc(1, sizeof(*u));
	snprintf(u->user, sizeof(u->user), "%s", user);
	memcpy(u->flags, flag_defaults, sizeof(u->flags));
	/* A read of the store under our lock: rare (first login) and short. */
	store_settings(user, apply_setting, u);
	u->next = table[h];
	table[h] = u;
	return u;
}

void
prefs_load(const char *user)
{
	pthread_mutex_lock(&lock);
	get(user);
	pthread_mutex_unlock(&lock);
}

bool
prefs_flag(const char *user, enum pref_flag f)
{
	bool v;

	pthread_mutex_lock(&lock);
	v = get(user)->flags[f];
	pthread_mutex_unlock(&lock);
	return v;
}

int
prefs_set(const char *user, const char *name, const char *value, char *err,
    size_t errlen)
{
	int f;
	bool on;

	for (f = 0; f < PREF_COUNT; f++) {
		if (strcmp(name, flag_names[f]) == 0) {
			break;
		}
	}
	if (f == PREF_COUNT) {
		snprintf(err, errlen, "no setting '%.40s' (settings: "
		    "timestamps, bell, notices, color)", name);
		return -1;
	}
	if (strcmp(value, "on") == 0) {
		on = true;
	} else if (strcmp(value, "off") == 0) {
		on = false;
	} else {
		snprintf(err, errlen, "%s is on or off", name);
		return -1;
	}
	pthread_mutex_lock(&lock);
	get(user)->flags[f] = on;
	pthread_mutex_unlock(&lock);
	store_setting_set(user, name, on ? "on" : "off");
	return 0;
}

void
prefs_describe(const char *user, struct buf *out)
{
	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		for (int f = 0; f < PREF_COUNT; f++) {
			buf_appendf(out, "%s%s %s", f > 0 ? ", " : "",
			    flag_names[f], u->flags[f] ? "on" : "off");
		}
	}
	pthread_mutex_unlock(&lock);
}

const char *
prefs_names(void)
{
	return "timestamps\0bell\0notices\0color\0";
}

bool
prefs_ignores(const char *user, const char *other)
{
	bool v;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		v = has_name(u->ignores, u->nignores, other);
	}
	pthread_mutex_unlock(&lock);
	return v;
}

bool
prefs_set_ignore(const char *user, const char *other, bool on)
{
	char *key = xasprintf("ignore.%s", other);
	bool changed;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		if (on) {
			changed = !has_name(u->ignores, u->nignores, other);
			if (changed) {
				add_name(&u->ignores, &u->nignores, other);
			}
		} else {
			changed = remove_name(&u->ignores, &u->nignores, other);
		}
	}
	pthread_mutex_unlock(&lock);
	if (changed) {
		store_setting_set(user, key, on ? "1" : NULL);
	}
	free(key);
	return changed;
}

void
prefs_ignore_list(const char *user, struct buf *out)
{
	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		for (size_t i = 0; i < u->nignores; i++) {
			buf_appendf(out, "%s%s", i > 0 ? ", " : "",
			    u->ignores[i]);
		}
	}
	pthread_mutex_unlock(&lock);
}

bool
prefs_set_away(const char *user, const char *reason)
{
	bool changed;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		changed = (u->away != NULL) != (reason != NULL) ||
		    (reason != NULL && strcmp(u->away, reason) != 0);
		free(u->away);
		u->away = reason != NULL ? xstrndup(reason, AWAY_MAX) : NULL;
		free_names(&u->told, &u->ntold);
	}
	pthread_mutex_unlock(&lock);
	return changed;
}

bool
prefs_away(const char *user, char *reason, size_t len)
{
	bool away;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		away = u->away != NULL;
		if (away && reason != NULL) {
			snprintf(reason, len, "%s", u->away);
		}
	}
	pthread_mutex_unlock(&lock);
	return away;
}

bool
prefs_away_tell(const char *user, const char *sender)
{
	bool tell = false;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		if (u->away != NULL && !has_name(u->told, u->ntold, sender)) {
			add_name(&u->told, &u->ntold, sender);
			tell = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return tell;
}

void
prefs_set_last_from(const char *user, const char *from)
{
	pthread_mutex_lock(&lock);
	snprintf(get(user)->last_from, USER_NAME_MAX + 1, "%s", from);
	pthread_mutex_unlock(&lock);
}

bool
prefs_last_from(const char *user, char *out, size_t len)
{
	bool ok;

	pthread_mutex_lock(&lock);
	{
		struct ustate *u = get(user);

		ok = u->last_from[0] != '\0';
		snprintf(out, len, "%s", u->last_from);
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

int64_t
prefs_room_seen(const char *user)
{
	int64_t v;

	pthread_mutex_lock(&lock);
	v = get(user)->room_seen;
	pthread_mutex_unlock(&lock);
	return v;
}

void
prefs_set_room_seen(const char *user, int64_t id)
{
	char v[24];

	pthread_mutex_lock(&lock);
	get(user)->room_seen = id;
	pthread_mutex_unlock(&lock);
	snprintf(v, sizeof(v), "%lld", (long long)id);
	store_setting_set(user, "room.seen", v);
}

void
prefs_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		while (table[i] != NULL) {
			struct ustate *u = table[i];

			table[i] = u->next;
			free_names(&u->ignores, &u->nignores);
			free_names(&u->told, &u->ntold);
			free(u->away);
			free(u);
		}
	}
	pthread_mutex_unlock(&lock);
}

void
prefs_view(struct chat_view *v, const char *user, bool color_ok, int cols)
{
	v->user = user;
	v->cols = cols;
	v->color = color_ok && prefs_flag(user, PREF_COLOR);
	v->timestamps = prefs_flag(user, PREF_TIMESTAMPS);
	v->bell = prefs_flag(user, PREF_BELL);
}
