/*
 * The listening socket and the listener thread: accept4(SOCK_CLOEXEC),
 * hand each connection to libssh and start its session thread.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <libssh/server.h>

/* Bind and listen; *port gets the real port.  Returns -1 with err set. */
int listener_listen(const char *addr, int port, const char *hostkey,
    int *bound_port, char *err, size_t errlen);
/* Check the algorithm keywords (KexAlgorithms); -1 with err naming it. */
int listener_check_algorithms(char *err, size_t errlen);
int listener_start(void);
/* Stop accepting; the listener thread exits and is joined. */
void listener_stop(void);
void listener_free(void);

#endif
