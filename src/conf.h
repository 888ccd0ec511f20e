/*
 * The daemon's settings: one table of keywords (name, type, default,
 * bounds) serves the config file, -T output and the man page check.
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct options {
	char *listen_address;
	int port;
	char *users_file;
	char *state_dir;
	char *host_key;		/* empty: STATE_DIR/ssh_host_ed25519_key */
	char *admin_socket;	/* empty: STATE_DIR/sshchatd.sock */
	char *shell_path;	/* empty: found at start */
	char *log_level;
	int kex_timeout;	/* seconds */
	char *kex_algorithms;	/* comma-separated, offered in this order */
	int login_grace_time;	/* seconds */
	int auth_failure_delay;	/* milliseconds, times the failures */
	int channel_grace_time;	/* seconds from login to a shell request */
	int max_auth_tries;
	int max_line_length;	/* bytes */
	int mailbox_size;	/* records queued per session */
	int shutdown_grace;	/* seconds */
	char *store;		/* sqlite or postgresql */
	char *store_url;	/* postgresql: libpq's conninfo */
	char *store_sync;	/* full or normal */
	char *deliver_before_sync;	/* yes or no */
	int max_queued;		/* undelivered messages per recipient */
	int max_queued_per_sender;	/* of those, from one sender */
	int room_history_max;	/* room lines kept in the store; 0: all */
	int retention_days;	/* 0: keep delivered messages forever */
	char *max_startups;	/* "start:rate:full" unauthenticated */
	int per_source_max_startups;
	int penalty_authfail;	/* seconds added per failed connection */
	int penalty_noauth;	/* seconds added per silent connection */
	int penalty_min;	/* enforced once a penalty reaches this */
	int penalty_max;
	char *per_source_netblock;	/* "ipv4bits:ipv6bits" */
	int account_attack_rate;	/* failed passwords a minute; 0: off */
	int penalty_account_attack;	/* seconds, instead of authfail */
	int max_sessions;
	int max_sessions_per_user;
	int idle_timeout;	/* seconds; 0: never */
	int client_alive_interval;	/* seconds; 0: no keepalive */
	int client_alive_count_max;
	int message_rate;	/* lines a second; 0: no limit */
	int message_burst;
	int input_rate;		/* bytes a second per session; 0: no limit */
	int input_burst;
	int input_window_slack;	/* bytes past the channel window */
	char *motd_file;	/* message of the day; missing: none */
	char *metrics_file;	/* Prometheus text, rewritten; empty: none */
	int metrics_interval;	/* seconds between MetricsFile writes */
	char *user;		/* started as root: serve as this user */
	char *shell_zygote;	/* yes: fork shells from one zygote */
};

extern struct options options;

/* Set every keyword to its default. */
void conf_defaults(void);
/* Read a config file; returns -1 with "FILE:LINE: reason" in err. */
int conf_load(const char *path, char *err, size_t errlen);
/*
 * Re-read the file conf_load read: on success numeric settings take
 * effect at once and report says which other changes need a restart;
 * on error (err set) nothing changes.
 */
struct buf;
int conf_reload(struct buf *report, char *err, size_t errlen);
/* Set one keyword from a string (also used for command-line options). */
int conf_set(const char *keyword, const char *value, char *err,
    size_t errlen);
/* Print the effective configuration as "keyword value" lines. */
void conf_dump(FILE *fp);
/* Keyword names, for the documentation check. */
size_t conf_keyword_count(void);
const char *conf_keyword_name(size_t i);
void conf_free(void);

#endif
