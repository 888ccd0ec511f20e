/*
 * The zygote (zygote.c): sshchat-shell -Z, which forks a shell per
 * session for the daemon (spawn.c).
 */
#ifndef ZYGOTE_H
#define ZYGOTE_H

/*
 * Set readline up once, then serve the daemon's requests on fd 3 (one
 * record each, the session's four fds attached) by forking a shell for
 * each.  Returns 0 when the daemon closes the socket.
 */
int zygote_main(void);

#endif
