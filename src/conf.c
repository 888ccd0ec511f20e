/*
 * sshchatd.conf: "Keyword value" lines, '#' comments, keywords matched
 * case-insensitively as in sshd_config.  Every setting lives in the one
 * table below with its default and bounds; command-line options go
 * through conf_set() too, so both are validated the same way.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "util.h"

struct options options;

enum conf_type {
	CONF_STRING,
	CONF_INT,
	CONF_CHOICE,	/* one of the words in choices */
};

/* Fields in table order, not packed: 8 bytes a row, 35 rows. */
struct keyword { /* NOLINT(clang-analyzer-optin.performance.Padding) */
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def;
	long min, max;
	const char *choices;	/* CONF_CHOICE: "a b c" */
	bool reload;		/* a reload applies it (else: restart) */
};

#define OPT(f) offsetof(struct options, f)

static const struct keyword keywords[] = {
	{ "ListenAddress", CONF_STRING, OPT(listen_address), "127.0.0.1", 0, 0 },
	{ "Port", CONF_INT, OPT(port), "2222", 0, 65535 },
	{ "UsersFile", CONF_STRING, OPT(users_file), "UserRecords.csv", 0, 0 },
	{ "StateDirectory", CONF_STRING, OPT(state_dir),
	    LOCALSTATEDIR "/lib/sshchatd", 0, 0 },
	{ "HostKey", CONF_STRING, OPT(host_key), "", 0, 0 },
	{ "AdminSocket", CONF_STRING, OPT(admin_socket), "", 0, 0 },
	{ "ShellPath", CONF_STRING, OPT(shell_path), "", 0, 0 },
	{ "LogLevel", CONF_CHOICE, OPT(log_level), "info", 0, 0,
	    "error warn info debug" },
	/* libssh's list less ecdh-sha2-nistp*, which ssh-audit fails. */
	{ "KexAlgorithms", CONF_STRING, OPT(kex_algorithms),
	    "curve25519-sha256,curve25519-sha256@libssh.org,"
	    "diffie-hellman-group18-sha512,diffie-hellman-group16-sha512,"
	    "diffie-hellman-group-exchange-sha256,"
	    "diffie-hellman-group14-sha256", 0, 0 },
	{ "KexTimeout", CONF_INT, OPT(kex_timeout), "10", 1, 3600,
	    NULL, true },
	{ "LoginGraceTime", CONF_INT, OPT(login_grace_time), "60", 1, 3600,
	    NULL, true },
	{ "MaxAuthTries", CONF_INT, OPT(max_auth_tries), "3", 1, 100,
	    NULL, true },
	{ "AuthFailureDelay", CONF_INT, OPT(auth_failure_delay), "250", 0,
	    10000, NULL, true },
	{ "ChannelGraceTime", CONF_INT, OPT(channel_grace_time), "10", 1, 3600,
	    NULL, true },
	{ "MaxLineLength", CONF_INT, OPT(max_line_length), "4096", 64, 60000,
	    NULL, true },
	{ "MailboxSize", CONF_INT, OPT(mailbox_size), "256", 8, 1000000,
	    NULL, true },
	{ "ShutdownGraceTime", CONF_INT, OPT(shutdown_grace), "3", 0, 600,
	    NULL, true },
	{ "Store", CONF_CHOICE, OPT(store), "sqlite", 0, 0,
	    "sqlite postgresql" },
	{ "StoreURL", CONF_STRING, OPT(store_url), "", 0, 0 },
	{ "StoreSync", CONF_CHOICE, OPT(store_sync), "full", 0, 0,
	    "full normal" },
	{ "DeliverBeforeSync", CONF_CHOICE, OPT(deliver_before_sync), "yes",
	    0, 0, "yes no" },
	{ "MaxQueuedMessages", CONF_INT, OPT(max_queued), "1000", 0, 10000000 },
	{ "MaxQueuedPerSender", CONF_INT, OPT(max_queued_per_sender), "100", 0,
	    10000000 },
	{ "MessageRetentionDays", CONF_INT, OPT(retention_days), "0", 0,
	    36500 },
	{ "RoomHistoryMax", CONF_INT, OPT(room_history_max), "100000", 0,
	    100000000 },
	{ "MaxStartups", CONF_STRING, OPT(max_startups), "10:30:100", 0, 0 },
	{ "PerSourceMaxStartups", CONF_INT, OPT(per_source_max_startups), "10",
	    1, 100000, NULL, true },
	{ "PenaltyAuthFail", CONF_INT, OPT(penalty_authfail), "5", 0, 3600,
	    NULL, true },
	{ "PenaltyNoAuth", CONF_INT, OPT(penalty_noauth), "1", 0, 3600, NULL,
	    true },
	{ "PenaltyMin", CONF_INT, OPT(penalty_min), "15", 1, 86400, NULL,
	    true },
	{ "PenaltyMax", CONF_INT, OPT(penalty_max), "600", 1, 86400, NULL,
	    true },
	{ "PerSourceNetBlockSize", CONF_STRING, OPT(per_source_netblock),
	    "32:64", 0, 0 },
	{ "AccountAttackRate", CONF_INT, OPT(account_attack_rate), "10", 0,
	    100000, NULL, true },
	{ "PenaltyAccountAttack", CONF_INT, OPT(penalty_account_attack), "60",
	    0, 86400, NULL, true },
	{ "MaxSessions", CONF_INT, OPT(max_sessions), "4096", 1, 1000000, NULL,
	    true },
	{ "MaxSessionsPerUser", CONF_INT, OPT(max_sessions_per_user), "16", 1,
	    100000, NULL, true },
	{ "IdleTimeout", CONF_INT, OPT(idle_timeout), "0", 0, 31536000, NULL,
	    true },
	{ "ClientAliveInterval", CONF_INT, OPT(client_alive_interval), "15", 0,
	    3600 },
	{ "ClientAliveCountMax", CONF_INT, OPT(client_alive_count_max), "3", 1,
	    100 },
	{ "MessageRate", CONF_INT, OPT(message_rate), "10", 0, 1000000, NULL,
	    true },
	{ "InputRate", CONF_INT, OPT(input_rate), "65536", 0, 1073741824,
	    NULL, true },
	{ "InputBurst", CONF_INT, OPT(input_burst), "1048576", 4096,
	    1073741824, NULL, true },
	{ "InputWindowSlack", CONF_INT, OPT(input_window_slack), "65536", 0,
	    16777216, NULL, true },
	{ "MessageBurst", CONF_INT, OPT(message_burst), "30", 1, 1000000,
	    NULL, true },
	{ "MotdFile", CONF_STRING, OPT(motd_file), SYSCONFDIR "/sshchat-motd",
	    0, 0 },
	{ "MetricsFile", CONF_STRING, OPT(metrics_file), "", 0, 0 },
	{ "MetricsInterval", CONF_INT, OPT(metrics_interval), "15", 1, 86400,
	    NULL, true },
	{ "User", CONF_STRING, OPT(user), "", 0, 0 },
	{ "ShellZygote", CONF_CHOICE, OPT(shell_zygote), "yes", 0, 0,
	    "yes no" },
};

/* Is word one of the blank-separated words in list? */
static bool
one_of(const char *word, const char *list)
{
	size_t n = strlen(word);
	const char *p = list;

	while (n > 0 && (p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
			return true;
		}
		p += n;
	}
	return false;
}

static const struct keyword *
find_keyword(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strcasecmp(keywords[i].name, name) == 0) {
			return &keywords[i];
		}
	}
	return NULL;
}

static char *loaded_path;	/* the file conf_load read, for reloads */
static struct options file_opts;	/* its values as read, for reloads */
static bool from_cmdline[ARRAY_SIZE(keywords)];	/* a reload keeps them */

static int
set_value(struct options *o, const struct keyword *k, const char *value,
    char *err, size_t errlen)
{
	void *field = (char *)o + k->offset;
	char *end;
	long v;

	switch (k->type) {
	case CONF_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_CHOICE:
		if (!one_of(value, k->choices)) {
			snprintf(err, errlen, "%s: '%s' is not one of: %s",
			    k->name, value, k->choices);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			snprintf(err, errlen, "%s: '%s' is not a number",
			    k->name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %ld is out of range (%ld-%ld)",
			    k->name, v, k->min, k->max);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	}
	return -1;
}

static void set_defaults(struct options *o);

void
conf_defaults(void)
{
	set_defaults(&options);
}

int
conf_set(const char *keyword, const char *value, char *err, size_t errlen)
{
	const struct keyword *k = find_keyword(keyword);

	if (k == NULL) {
		snprintf(err, errlen, "unknown keyword '%s'", keyword);
		return -1;
	}
	from_cmdline[k - keywords] = true;
	return set_value(&options, k, value, err, errlen);
}

static int
parse_file(const char *path, struct options *o, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	unsigned lineno = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *key, *val, *end;
		const struct keyword *k;
		char why[256];

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			(void)fclose(fp);	/* read only */
			return -1;
		}
		p += strspn(p, " \t");
		if (*p == '#' || *p == '\0' || *p == '\n' || *p == '\r') {
			continue;
		}
		key = p;
		p += strcspn(p, " \t=\r\n");
		if (*p != '\0') {
			*p++ = '\0';
		}
		p += strspn(p, " \t=");
		val = p;
		end = val + strlen(val);
		while (end > val && (end[-1] == '\n' || end[-1] == '\r' ||
		    end[-1] == ' ' || end[-1] == '\t')) {
			*--end = '\0';
		}
		if (*val == '\0') {
			snprintf(err, errlen, "%s:%u: %s: missing value", path,
			    lineno, key);
			(void)fclose(fp);	/* read only */
			return -1;
		}
		if (end - val >= 2 && val[0] == '"' && end[-1] == '"') {
			/* As in sshd_config; "" is the empty value, as -T prints. */
			*--end = '\0';
			val++;
		}
		k = find_keyword(key);
		if (k == NULL) {
			snprintf(err, errlen, "%s:%u: unknown keyword '%s'", path,
			    lineno, key);
			(void)fclose(fp);	/* read only */
			return -1;
		}
		if (set_value(o, k, val, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			(void)fclose(fp);	/* read only */
			return -1;
		}
	}
	if (ferror(fp)) {
		/* Not the end of the file: half a configuration is none. */
		snprintf(err, errlen, "%s: read error after line %u", path,
		    lineno);
		(void)fclose(fp);	/* read only */
		return -1;
	}
	(void)fclose(fp);		/* read only */
	return 0;
}

static void
set_defaults(struct options *o)
{
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (set_value(o, &keywords[i], keywords[i].def, err,
		    sizeof(err)) < 0) {
			abort();
		}
	}
}

int
conf_load(const char *path, char *err, size_t errlen)
{
	if (parse_file(path, &options, err, errlen) < 0) {
		return -1;
	}
	set_defaults(&file_opts);
	if (parse_file(path, &file_opts, err, errlen) < 0) {
		return -1;
	}
	free(loaded_path);
	loaded_path = xstrdup(path);
	return 0;
}

static void
free_strings(struct options *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (keywords[i].type != CONF_INT) {
			char **f = (char **)((char *)o + keywords[i].offset);

			free(*f);
			*f = NULL;
		}
	}
}

int
conf_reload(struct buf *report, char *err, size_t errlen)
{
	struct options fresh;
	bool restart = false, applied = false;

	if (loaded_path == NULL) {
		buf_appendf(report, "no configuration file in use");
		return 0;
	}
	memset(&fresh, 0, sizeof(fresh));
	set_defaults(&fresh);
	if (parse_file(loaded_path, &fresh, err, errlen) < 0) {
		free_strings(&fresh);
		return -1;
	}
	buf_appendf(report, "%s", loaded_path);
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		const struct keyword *k = &keywords[i];
		void *was = (char *)&file_opts + k->offset;
		void *now = (char *)&fresh + k->offset;
		bool changed = k->type == CONF_INT ?
		    *(int *)was != *(int *)now :
		    strcmp(*(char **)was, *(char **)now) != 0;

		if (!changed || from_cmdline[i]) {
			continue;
		}
		if (k->reload) {
			*(int *)((char *)&options + k->offset) = *(int *)now;
			buf_appendf(report, "%s %s", applied ? "," :
			    "; applied:", k->name);
			applied = true;
		} else {
			restart = true;
		}
	}
	if (restart) {
		buf_appendf(report, "; a restart is needed for:");
		for (size_t i = 0, n = 0; i < ARRAY_SIZE(keywords); i++) {
			const struct keyword *k = &keywords[i];
			void *was = (char *)&file_opts + k->offset;
			void *now = (char *)&fresh + k->offset;
			bool changed = k->type == CONF_INT ?
			    *(int *)was != *(int *)now :
			    strcmp(*(char **)was, *(char **)now) != 0;

			if (changed && !k->reload && !from_cmdline[i]) {
				buf_appendf(report, "%s %s", n++ ? "," : "",
				    k->name);
			}
		}
	}
	if (!applied && !restart) {
		buf_appendf(report, ": no changes");
	}
	free_strings(&file_opts);
	file_opts = fresh;
	return 0;
}

void
conf_dump(FILE *fp)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		const struct keyword *k = &keywords[i];
		void *field = (char *)&options + k->offset;

		if (k->type == CONF_INT) {
			fprintf(fp, "%s %d\n", k->name, *(int *)field);
		} else {
			const char *s = *(char **)field;

			fprintf(fp, "%s %s\n", k->name, s[0] ? s : "\"\"");
		}
	}
}

size_t
conf_keyword_count(void)
{
	return ARRAY_SIZE(keywords);
}

const char *
conf_keyword_name(size_t i)
{
	return i < ARRAY_SIZE(keywords) ? keywords[i].name : NULL;
}

void
conf_free(void)
{
	free_strings(&options);
	free_strings(&file_opts);
	free(loaded_path);
	loaded_path = NULL;
}
