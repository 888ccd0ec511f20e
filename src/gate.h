/*
 * Admission before authentication, like sshd's MaxStartups and
 * PerSourcePenalties: a cap on unauthenticated connections (global, with
 * random early drop, and per source address) and penalties for sources
 * whose connections fail to authenticate.  Bounded memory whatever the
 * number of sources.
 */
#ifndef GATE_H
#define GATE_H

#include <stdbool.h>
#include <stddef.h>

/* Check the limits from options; -1 with err on a bad MaxStartups. */
int gate_configure(char *err, size_t errlen);

/*
 * A connection from ip arrives: admit it (and count it as
 * unauthenticated) or refuse it, with the reason in why.
 */
bool gate_admit(const char *ip, char *why, size_t whylen);
/* An admitted connection authenticated: it no longer counts. */
void gate_authenticated(const char *ip);
/*
 * An admitted connection ended without authenticating; auth_failed when
 * it tried passwords that were wrong.  Adds the source's penalty.
 */
void gate_unauthenticated(const char *ip, bool auth_failed);

/* Unauthenticated connections now, for stats. */
unsigned gate_unauth_count(void);
/* Refusals since the last call, for an aggregate log line. */
unsigned long gate_take_refusals(void);

#endif
