/*
 * The zygote (sshchat-shell -Z): one process that loaded and set up
 * readline, common terminal types and the locale once, and forks a
 * shell per session from it, so that the children share those pages
 * copy-on-write.  It owns the tuning that keeps what an idle child
 * copies small (~70 KB): its heap's holes filled and what a child
 * writes packed into few pages before each fork, and the choice of the
 * terminal type readline is set up for.  It calls into the shell only
 * through shell.h, and the shell knows nothing of it; it must not touch
 * a session's fds beyond handing them to the child, nor decide anything
 * about a session.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <wchar.h>

#include <readline/readline.h>
#include <term.h>

#include "record.h"
#include "shell.h"
#include "util.h"
#include "zygote.h"

/*
 * Terminal types the zygote sets readline up for: a child on the one it
 * is set up for (see zygote_use_term) shares the terminfo entry and
 * readline's copy of its strings instead of loading its own.  Each is
 * loaded once at start (the most common last), so the key maps hold the
 * keys of all of them whatever the order of the logins, and switching
 * between them builds nothing new.
 */
static const char *const preload_terms[] = {
	"xterm", "screen-256color", "tmux-256color", "screen", "tmux",
	"rxvt-unicode-256color", "linux", "vt220", "vt100",
	"xterm-256color",
};
#define NPRELOAD (sizeof(preload_terms) / sizeof(preload_terms[0]))

static struct zygote {
	void *plugs;		/* the heap's plugs, linked: see plug_heap() */
	bool preloaded[NPRELOAD];	/* terminfo has preload_terms[i] */
	bool forked;		/* a child was forked */
	const char *wanted;	/* the TERM asked for, not loaded */
	int times;		/* asked for that many times in a row */
} zy;

/*
 * The zygote fills the holes in its heap (what readline, ncurses and the
 * locale freed at start-up, what a switch of terminal type freed) before
 * it forks, so that a child's allocations come from the top of the heap,
 * packed in pages of its own, instead of being spread over the zygote's
 * pages, each of which the child would then copy.  The plugs are linked
 * through their first word and freed before the next switch, which then
 * reuses the space: the heap does not grow with the number of switches.
 */
static void
plug(void *p)
{
	*(void **)p = zy.plugs;
	zy.plugs = p;
}

static void
unplug_heap(void)
{
	while (zy.plugs != NULL) {
		void *next = *(void **)zy.plugs;

		free(zy.plugs);
		zy.plugs = next;
	}
}

/*
 * Cut every free chunk into plugs, large ones first: allocate each size
 * until an allocation comes from the top of the heap (given back when it
 * is too large for a fast bin: it then merges into the top again).  The
 * daemon starts the zygote with glibc's per-thread cache off
 * (GLIBC_TUNABLES, see spawn.c), so every free chunk is in the bins,
 * where malloc() looks before the top.
 */
static void
plug_heap(void)
{
#ifdef GLIBC_MALLOC
	static const size_t sizes[] = { 16384, 1024, 64, 16 };
	struct mallinfo2 mi;
	uintptr_t top;
	size_t budget;
	void *p;

	malloc_trim(0);	/* fast bins into the bins; free pages back */
	mi = mallinfo2();
	top = (uintptr_t)sbrk(0) - mi.keepcost;
	/* Each plug takes at least 32 bytes of what is free. */
	budget = mi.fordblks / 32 + 8;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		while (budget-- > 0 && (p = malloc(sizes[i])) != NULL) {
			if ((uintptr_t)p >= top) {
				if (sizes[i] > 64) {
					free(p);
				} else {
					plug(p);
				}
				break;
			}
			plug(p);
		}
	}
#endif
}

/*
 * The zygote before forking: plug the holes, then let readline allocate
 * what its first prompt allocates (line and display buffers, the locale
 * name it frees and copies each time) above the plugs, where the child's
 * own allocations follow, then plug what that freed.
 *
 * A child copies every page it writes, however little it writes there,
 * so what it writes is packed together at the top of the heap, from the
 * start of a page: readline's line buffer (allocated when readline was
 * set up, among what ncurses and the locale left; each prompt clears
 * it) moves up before the prompt's allocations, then come CHILD_RESERVE
 * bytes, freed last, where the child's first allocations go (the prompt,
 * the command list, its stdio stream: ~2 KB), then rbuf, where each
 * record lands (its header and first bytes; the rest of its 64 KiB
 * stays untouched and shared).  The old line buffer and rbuf are
 * plugged with the other holes.
 */
#define CHILD_RESERVE 2560

/* Plug the heap up to the next page boundary. */
static void
align_heap_top(void)
{
#ifdef GLIBC_MALLOC
	struct mallinfo2 mi = mallinfo2();
	uintptr_t top = (uintptr_t)sbrk(0) - mi.keepcost;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), gap = pg - top % pg;
	void *p;

	if (gap == pg) {
		return;
	}
	if (gap < 32) {
		gap += pg;	/* the smallest chunk is 32 bytes */
	}
	/* A request of n bytes takes a chunk of n + 8, rounded up to 16. */
	if ((p = malloc(gap - 8)) != NULL) {
		plug(p);
	}
#endif
}

static void
zygote_settle(void)
{
	char *old_line = NULL, *old_rbuf;
	void *reserve;

	plug_heap();
	align_heap_top();
#ifdef GLIBC_MALLOC
	if (rl_line_buffer != NULL) {
		/* Its length is not public: all of its chunk. */
		size_t len = malloc_usable_size(rl_line_buffer);

		old_line = rl_line_buffer;
		rl_line_buffer = xmalloc(len);
		memcpy(rl_line_buffer, old_line, len);
	}
#endif
	shell_prime_readline();
	/* Only its place matters (see above): freed unused, deliberately. */
	/* cppcheck-suppress unusedAllocatedMemory */
	reserve = xmalloc(CHILD_RESERVE);
	old_rbuf = shell_renew_rbuf();
	free(old_line);
	free(old_rbuf);
	plug_heap();
	free(reserve);
}

/* The zygote: set readline up for each of preload_terms. */
static void
zygote_preload(void)
{
	mbstate_t st;
	wchar_t wc;

	/*
	 * glibc loads the locale's character conversion at the first
	 * mbrtowc() and links it from the locale's data: readline's first
	 * redisplay would do that in each child.
	 */
	memset(&st, 0, sizeof(st));
	(void)mbrtowc(&wc, "\xc3\xa9", 2, &st);

	/*
	 * Initialised for no TERM, as the zygote always was: that leaves
	 * bracketed paste off in its children (readline turns it off for a
	 * "dumb" terminal and never back on), and /etc/inputrc's "$if term="
	 * tests see no terminal.
	 */
	shell_setup_readline();
	for (size_t i = 0; i < NPRELOAD; i++) {
		if (tgetent(NULL, preload_terms[i]) > 0) {
			shell_load_term(preload_terms[i]);
			zy.preloaded[i] = true;
		}
	}
}

/*
 * The zygote, before forking a shell for term: switch readline to it, if
 * it is one of preload_terms, before the first fork or once it was asked
 * for SWITCH_AFTER times in a row.  A switch rewrites pages the zygote's
 * living children still share with it: they keep the old ones (shared
 * among them, no longer with the zygote) and the zygote gets copies.  So
 * it switches seldom, when the terminals of those logging in changed,
 * and never back and forth in a mix.
 */
#define SWITCH_AFTER 16

static void
zygote_use_term(const char *term)
{
	const char *loaded = shell_loaded_term();

	for (size_t i = 0; i < NPRELOAD; i++) {
		const char *t = preload_terms[i];

		if (!zy.preloaded[i] || strcmp(term, t) != 0) {
			continue;
		}
		if (t == loaded) {
			zy.times = 0;
		} else if (t == zy.wanted) {
			zy.times++;
		} else {
			zy.wanted = t;
			zy.times = 1;
		}
		if (t != loaded && (!zy.forked || zy.times >= SWITCH_AFTER)) {
			unplug_heap();
			shell_load_term(t);
			zygote_settle();
			zy.times = 0;
		}
		break;
	}
	zy.forked = true;
}

/*
 * A pidfd for the child just forked (pidfd_open(2), Linux 5.3), or -1.
 * Opened here, at once, it is the child's for sure (the kernel reaps it
 * the moment it exits, and only then may its pid be handed out again):
 * the daemon watches and signals the shell through it.
 */
static int
open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

/* The zygote's reply: a record, with pidfd attached if there is one. */
static void
zygote_reply(int type, const char *text, int pidfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], t = (char)type;
	struct iovec iov[2] = { { &t, 1 }, { (void *)text, strlen(text) } };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (pidfd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
	}
	while (sendmsg(SHELL_FD, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
	}
	if (pidfd >= 0) {
		close(pidfd);
	}
}

/*
 * Zygote mode (-Z): the daemon starts one sshchat-shell that has loaded
 * and initialized readline and the locale once, then forks a child per
 * session from it; the children share those pages copy-on-write.  A
 * request is one record on fd 3 with the session's fds attached
 * (SCM_RIGHTS): stdin, stdout, stderr, its record socket.
 */
int
zygote_main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);	/* children are reaped by the kernel */
	zygote_preload();
	/* rbuf too: shared by every child until written. */
	zygote_settle();
	for (;;) {
		/* A request as long as a record: a command never cut. */
		static char buf[RECORD_MAX + 1];
		char cbuf[CMSG_SPACE(4 * sizeof(int))];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh;
		struct cmsghdr *cm;
		int fds[4] = { -1, -1, -1, -1 }, nfds = 0;
		const char *user, *term, *maxl, *cmd, *end;
		ssize_t n;
		pid_t pid;
		char reply[32];

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(SHELL_FD, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return 0;	/* the daemon is gone */
		}
		buf[n] = '\0';
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) /
				    sizeof(int));
				if (nfds > 4) {
					nfds = 4;
				}
				memcpy(fds, CMSG_DATA(cm), (size_t)nfds *
				    sizeof(int));
			}
		}
		/* user \0 TERM \0 max_line \0 command-or-empty \0 */
		end = buf + n;
		user = buf;
		term = user + strlen(user) + 1;
		maxl = term < end ? term + strlen(term) + 1 : end;
		cmd = maxl < end ? maxl + strlen(maxl) + 1 : end;
		if (nfds != 4 || cmd >= end || (mh.msg_flags & MSG_TRUNC)) {
			for (int i = 0; i < nfds; i++) {
				close(fds[i]);
			}
			(void)record_send(SHELL_FD, REC_ERROR, "bad request",
			    11);
			continue;
		}
		zygote_use_term(term);
		pid = fork();
		if (pid == 0) {
			sigset_t none;

			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(SIGCHLD, &sa, NULL);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			setsid();
			for (int i = 0; i < 4; i++) {
				if (dup2(fds[i], i) < 0) {
					_exit(127);
				}
			}
			closefrom(4);
			/*
			 * No setenv(): the environment is the zygote's, and
			 * changing it would copy its pages.
			 */
			shell_set_term(term[0] ? term : "dumb");
			shell_set_max_line(maxl);
			shell_run(cmd[0] != '\0' ? cmd : NULL);
		}
		for (int i = 0; i < 4; i++) {
			close(fds[i]);
		}
		snprintf(reply, sizeof(reply), "%ld", (long)pid);
		zygote_reply(pid > 0 ? REC_DONE : REC_ERROR, reply,
		    pid > 0 ? open_pidfd(pid) : -1);
	}
}

