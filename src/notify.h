/*
 * Readiness and liveness for systemd (Type=notify): the sd_notify(3)
 * protocol spoken directly, without libsystemd.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

/*
 * Read NOTIFY_SOCKET and WATCHDOG_USEC (for this pid) and take them out
 * of the environment, so no shell inherits them.  Call once, before any
 * thread starts.  Without NOTIFY_SOCKET every call below does nothing.
 */
void notify_init(void);
/* Send one notification ("READY=1\nSTATUS=..."); a printf format. */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * How often, at least, to call notify_watchdog(), in milliseconds (a
 * quarter of WATCHDOG_USEC); 0: no watchdog.
 */
int64_t notify_watchdog_ms(void);
/* WATCHDOG=1 if half the watchdog interval passed since the last one. */
void notify_watchdog(void);

#endif
