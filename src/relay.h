/*
 * The byte relay between a session's SSH channel and its shell
 * (relay.c).  The session thread owns it and calls it with the session's
 * lock held; so does the mailbox thread (relay_read_output) while the
 * session thread runs a command.
 */
#ifndef RELAY_H
#define RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "ratelimit.h"
#include "spawn.h"
#include "util.h"

struct session;

struct relay {
	ssh_session ssh;
	ssh_channel chan;	/* NULL until the channel is open */
	ssh_event ev;		/* the session's event loop */
	struct shell_proc *sp;	/* the session's shell */
	struct session *pub;	/* whose bytes: user, address, mailbox */
	/* Keys wait for the chat shell's first screen report (not raw yet). */
	bool hold_input;
	bool chan_closed, client_eof, stdin_closed;
	/*
	 * Input was left in libssh's channel buffer.  Only then is it
	 * worth asking ssh_channel_poll(), which polls the socket itself.
	 */
	bool input_held;
	/* The client sent past its window; nothing more is taken from it. */
	bool window_overrun;
	bool out_open, err_open;	/* the shell's output fds */
	/* What each fd is polled for (relay_watch); 0: not. */
	short in_events, out_events, err_events;
	short term_events;	/* in_fd == out_fd (a socket): both ways */
	struct buf inbuf;	/* input the shell has not taken yet */
	size_t inoff;
	/* InputRate/InputBurst: bytes given to the shell. */
	struct token_bucket in_budget;
	bool in_slowed;		/* input waits for the budget */
	int64_t in_told_ms;	/* when the user and the log were last told */
	uint64_t in_slowed_count;	/* episodes since then */
	/* Bytes through the shell's terminal socket, for the screen model. */
	uint64_t in_written, out_read;
	/*
	 * For relay_after_write: the bytes libssh read from the connection
	 * (ssh_set_counters), and a count of the event loop's fd callbacks
	 * run (relay.c's and the session's own).
	 */
	struct ssh_counter_struct sock;
	unsigned long cb_gen;
};

void relay_init(struct relay *r, struct session *pub, struct shell_proc *sp);

/*
 * After a write to the channel from a thread other than the session
 * thread (the mailbox thread, under the session's lock): let libssh see
 * the socket writable again, which it needs before it sends the next
 * write.  True when the session thread must look after all: something
 * else came in meanwhile, or the write is still buffered.
 */
bool relay_after_write(struct relay *r);
void relay_free(struct relay *r);

/*
 * Channel data (len: everything libssh holds unread, this packet
 * included): returns how much was taken; the rest stays in libssh and
 * holds the window shut.  A client past its window is marked
 * (window_overrun) and its data dropped.
 */
int relay_take(struct relay *r, const void *data, uint32_t len,
    bool is_stderr);
/* Give the shell what waits for it, as the budget allows. */
void relay_flush_input(struct relay *r);
/* Take input left in libssh, all of it at once, when there is room. */
void relay_pull_input(struct relay *r);
/* Add or remove the shell's fds from the event loop as they can move. */
void relay_update_polling(struct relay *r);
/* The fds relay_update_polling() watches, for poll(2): at most 4. */
size_t relay_pollfds(const struct relay *r, struct pollfd *pfd);
/* Relay the shell's output now, until out_read reaches upto (bounded). */
void relay_read_output(struct relay *r, uint64_t upto);
/* Stop polling every fd of the shell's. */
void relay_unwatch(struct relay *r);
/* Poll fd for want (cb, arg), or not at all (0); *cur: what it is now. */
void relay_watch(struct relay *r, int fd, short want, short *cur,
    ssh_event_callback cb, void *arg);

#endif
