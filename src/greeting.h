/*
 * The login greeting of an interactive session (greeting.c).
 */
#ifndef GREETING_H
#define GREETING_H

struct session;

/* Push the greeting and the first prompt into s's mailbox. */
void greeting_send(struct session *s);

#endif
