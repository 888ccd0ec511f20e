/*
 * Admission before authentication, like sshd's MaxStartups and
 * PerSourcePenalties: a cap on unauthenticated connections (global, with
 * random early drop, and per source address or IPv6 /64) and penalties
 * for sources whose connections fail to authenticate.  Bounded memory
 * whatever the number of sources.
 */
#ifndef GATE_H
#define GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One admitted, unauthenticated connection. */
struct gate_conn;

/*
 * Check the limits from options (MaxStartups, PerSourceNetBlockSize) and
 * draw the table's hash key; -1 with err on a bad value.
 */
int gate_configure(char *err, size_t errlen);

/*
 * A connection from ip arrives: admit it (and count it as
 * unauthenticated) or refuse it (NULL), with the reason in why.  When
 * the MaxStartups slots are full it may evict an older connection that
 * has not finished its key exchange instead of refusing.
 */
struct gate_conn *gate_admit(const char *ip, char *why, size_t whylen);
/*
 * The eventfd to write to when c is evicted (-1: none).  The fd must
 * stay open until c is released.
 */
void gate_attach(struct gate_conn *c, int wake_fd);
/* Was c evicted?  Its session should end (gate_unauthenticated). */
bool gate_evicted(struct gate_conn *c);
/* c finished its key exchange; false if it was evicted first. */
bool gate_kex_done(struct gate_conn *c);
/*
 * A password for user failed on c.  It costs c's source its penalty
 * now, whatever happens later on the connection, and more when user is
 * under attack (AccountAttackRate).
 */
void gate_auth_failed(struct gate_conn *c, const char *user);
/* c authenticated: it no longer counts.  Frees c. */
void gate_authenticated(struct gate_conn *c);
/*
 * c ended without authenticating: adds the source's penalty (at least
 * the time it held its slot if it never finished its key exchange).
 * Frees c.
 */
void gate_unauthenticated(struct gate_conn *c);

/* Unauthenticated connections now, for stats. */
unsigned gate_unauth_count(void);
/* Refusals since the last call, for an aggregate log line. */
unsigned long gate_take_refusals(void);
/* The penalty ip's source has left, in ms (0: none), for tests. */
int64_t gate_penalty_left_ms(const char *ip);

#endif
