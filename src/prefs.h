/*
 * What the daemon knows about each user beyond the users file: settings
 * that persist (timestamps, bell, notices, color, the ignore list, the
 * last room line seen) and state that does not (away, who wrote last).
 * Loaded from the store at a user's first login and cached.
 */
#ifndef PREFS_H
#define PREFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum pref_flag {
	PREF_TIMESTAMPS = 0,	/* "HH:MM" before each message */
	PREF_BELL,		/* ring on a private message */
	PREF_NOTICES,		/* room join and leave notices */
	PREF_COLOR,		/* names in colour (terminals allowing it) */
	PREF_COUNT
};

/* Make sure user's settings are loaded from the store. */
void prefs_load(const char *user);
bool prefs_flag(const char *user, enum pref_flag f);

/*
 * The chat view (chat.h) of user from their settings now, on a terminal
 * that can (color_ok) show colour and is cols wide (0: unknown, lines
 * are not wrapped).
 */
struct chat_view;
void prefs_view(struct chat_view *v, const char *user, bool color_ok,
    int cols);
/*
 * set NAME VALUE: returns 0, or -1 with a message in err (unknown name,
 * bad value).  Persisted.
 */
int prefs_set(const char *user, const char *name, const char *value,
    char *err, size_t errlen);
/* "timestamps on, bell on, ..." */
void prefs_describe(const char *user, struct buf *out);
/* The names `set` accepts, NUL-separated (for completion and help). */
const char *prefs_names(void);

bool prefs_ignores(const char *user, const char *other);
/* Returns false if nothing changed (already ignored / not ignored). */
bool prefs_set_ignore(const char *user, const char *other, bool on);
void prefs_ignore_list(const char *user, struct buf *out);

/* away: reason NULL means back.  Returns false if nothing changed. */
bool prefs_set_away(const char *user, const char *reason);
/* Copies the away reason; false when not away. */
bool prefs_away(const char *user, char *reason, size_t len);
/* True once per away period for each sender: should they be told? */
bool prefs_away_tell(const char *user, const char *sender);

void prefs_set_last_from(const char *user, const char *from);
bool prefs_last_from(const char *user, char *out, size_t len);

int64_t prefs_room_seen(const char *user);
void prefs_set_room_seen(const char *user, int64_t id);

void prefs_reset(void);

#endif
