/*
 * sshchatd: options and configuration, the checks done before serving
 * anyone (users file, state directory, host key, listening socket), then
 * the signal loop.  Signals arrive through a signalfd in this thread
 * only; every other thread runs with them blocked.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "admin.h"
#include "conf.h"
#include "daemon.h"
#include "gate.h"
#include "hostkey.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "notify.h"
#include "render.h"
#include "router.h"
#include "listener.h"
#include "session.h"
#include "spawn.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sshchatd.conf"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sshchatd [-DdehTtV] [-f config_file] [-l address] "
	    "[-o keyword=value]\n"
	    "                [-p port] [-S state_dir] [-u users_file]\n");
}


/* Make a relative path absolute against base_dir (the config file's). */
static void
absolutize(char **path, const char *base_dir)
{
	char *p;

	if ((*path)[0] == '/' || (*path)[0] == '\0') {
		return;
	}
	p = xasprintf("%s/%s", base_dir, *path);
	free(*path);
	*path = p;
}

static void
find_shell(const char *argv0)
{
	char self[PATH_MAX], *dir, *cand;
	ssize_t n;
	const char *env = getenv("SSHCHAT_SHELL");

	if (options.shell_path[0] != '\0') {
		return;
	}
	if (env != NULL && env[0] != '\0') {
		free(options.shell_path);
		options.shell_path = xstrdup(env);
		return;
	}
	/* Running from the build tree: the shell sits beside the daemon. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		cand = xasprintf("%s/sshchat-shell", dir);
		if (access(cand, X_OK) == 0) {
			free(options.shell_path);
			options.shell_path = cand;
			return;
		}
		free(cand);
	}
	free(options.shell_path);
	options.shell_path = xstrdup(LIBEXECDIR "/sshchat-shell");
}

/*
 * Going to the background: fork before any thread exists; the parent
 * relays what the child prints (errors, the listening line) and exits 0
 * once the child is serving, or 1 if it died during start-up.
 */
static void
detach_begin(void)
{
	int p[2], status;
	pid_t pid;
	char buf[512];
	ssize_t n;

	if (pipe(p) < 0) {
		fatal("pipe: %s", strerror(errno));
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fatal("fork: %s", strerror(errno));
	}
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], buf, sizeof(buf))) > 0 ||
		    (n < 0 && errno == EINTR)) {
			if (n > 0) {
				(void)!write(STDERR_FILENO, buf, (size_t)n);
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ?
			    WEXITSTATUS(status) : 1);
		}
		exit(0);
	}
	close(p[0]);
	setsid();
	dup2(p[1], STDOUT_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
}

static void
detach_finish(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (chdir("/") < 0) {
		warn("chdir /: %s", strerror(errno));
	}
}

/*
 * Started as root with User set: everything privileged is done (socket
 * bound, key and files open), so hand the state directory to the user
 * and become it.  A daemon that is not root has nothing to drop.
 */
static void
drop_privileges(const char *admin_path)
{
	static const char *const files[] = { "", "/server.log",
		"/server_events.log", "/messages.db", "/messages.db-wal",
		"/messages.db-shm", "/ssh_host_ed25519_key" };
	struct passwd *pw;

	if (options.user[0] == '\0' || geteuid() != 0) {
		return;
	}
	/*
	 * The one getpw*() call not made _r: the start-up thread, before
	 * any thread that could look a user up (admin.c uses getpwuid_r).
	 */
	/* cppcheck-suppress getpwnamCalled */
	pw = getpwnam(options.user);
	if (pw == NULL) {
		fatal("User %s: no such user (create it, e.g. useradd --system "
		    "%s)", options.user, options.user);
	}
	if (pw->pw_uid == 0) {
		warn("User %s: the daemon and the chat shells run as root",
		    options.user);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *p = xasprintf("%s%s", options.state_dir, files[i]);

		if (lchown(p, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
			fatal("chown %s: %s", p, strerror(errno));
		}
		free(p);
	}
	if (lchown(admin_path, pw->pw_uid, pw->pw_gid) < 0) {
		fatal("chown %s: %s", admin_path, strerror(errno));
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fatal("cannot become %s: %s", options.user, strerror(errno));
	}
	if (setuid(0) == 0) {
		fatal("dropping privileges to %s failed: root is still possible",
		    options.user);
	}
	info("running as %s (uid %ld)", options.user, (long)pw->pw_uid);
}

static void
check_state_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0 ||
		    stat(dir, &st) < 0) {
			fatal("state directory %s: %s", dir, strerror(errno));
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		fatal("state directory %s: not a directory", dir);
	}
	if ((st.st_mode & 022) != 0) {
		fatal("state directory %s: mode %04o is writable by others "
		    "(chmod 700 %s)", dir, (unsigned)(st.st_mode & 07777), dir);
	}
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
recovered(uint64_t id, const char *user, const char *addr, int64_t login_ms,
    void *arg)
{
	char sid[24];

	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	event_log("LOGOUT", "user", user, "session", sid, "reason",
	    "crash-recovered", (char *)NULL);
}

/* Open the message store and close what a crash left open. */
static void
open_store(void)
{
	struct store_options so = {
		.engine = options.store,
		.sync_full = strcmp(options.store_sync, "full") == 0,
		.show_before_sync =
		    strcmp(options.deliver_before_sync, "yes") == 0,
		.max_queued = options.max_queued,
		.max_queued_per_sender = options.max_queued_per_sender,
		.room_history_max = options.room_history_max,
		.retention_days = options.retention_days,
	};
	char *where = strcmp(options.store, "postgresql") == 0 ?
	    xstrdup(options.store_url) :
	    xasprintf("%s/messages.db", options.state_dir);
	char err[1024];
	int n;

	if (store_open(where, &so, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	free(where);
	n = store_recover_sessions(recovered, NULL);
	if (n > 0) {
		warn("%d sessions were left open by a crash; logged them out", n);
	}
	info("message store: %lld messages, %lld undelivered",
	    (long long)store_count_messages(),
	    (long long)store_count_undelivered(NULL));
	session_set_first_id((unsigned long)store_max_session_id() + 1);
}

static void
shutdown_session(struct session *s, void *arg)
{
	const char *why = arg;
	char *bye = why != NULL ? xasprintf(MSG_SHUTDOWN_WHY, why, s->user) :
	    xasprintf(MSG_SHUTDOWN, s->user);

	online_request_end(s, END_SHUTDOWN, bye);
	free(bye);
}

/*
 * glibc keeps, per thread, up to seven freed chunks of each small size
 * for that thread's next malloc() (the tcache).  A session thread frees
 * what its key exchange and login allocated and then may sleep for
 * hours: its cache pins those chunks, scattered over the heap, and with
 * them ~15 KB of pages per idle session (63 -> 48 KB of daemon memory
 * per session at 200 sessions).  The cache can only be turned off before
 * the process starts (GLIBC_TUNABLES), so the daemon runs itself again,
 * once, with it off.  A tcache setting of the administrator's own is
 * left alone, and so is a malloc() that is not glibc's (LD_PRELOAD:
 * valgrind, heaptrack; a sanitizer).  Without /proc the daemon carries
 * on as it is.
 */
#define TCACHE_OFF "glibc.malloc.tcache_count=0"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define MALLOC_REPLACED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_REPLACED 1
#endif

static void
malloc_tune(char **argv)
{
#if defined(__GLIBC__) && !defined(MALLOC_REPLACED)
	const char *old = getenv("GLIBC_TUNABLES");
	char *saved, *val, self[PATH_MAX];
	ssize_t n;

	if (getenv("LD_PRELOAD") != NULL ||
	    (old != NULL && strstr(old, "glibc.malloc.tcache_count") != NULL)) {
		return;
	}
	saved = old != NULL ? xstrdup(old) : NULL;
	val = saved != NULL && saved[0] != '\0' ?
	    xasprintf("%s:%s", saved, TCACHE_OFF) : xstrdup(TCACHE_OFF);
	/*
	 * By the file's own name: run as /proc/self/exe, the process would
	 * be called "exe" (ps, pgrep, pidof).
	 */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && (size_t)n < sizeof(self) - 1 &&
	    setenv("GLIBC_TUNABLES", val, 1) == 0) {
		self[n] = '\0';
		execv(self, argv);
		/* Not run again: as before. */
		if (saved != NULL) {
			(void)setenv("GLIBC_TUNABLES", saved, 1);
		} else {
			(void)unsetenv("GLIBC_TUNABLES");
		}
	}
	free(val);
	free(saved);
#else
	(void)argv;
#endif
}

int
main(int argc, char **argv)
{
	const char *config = NULL, *cl_key[64], *cl_val[64];
	bool foreground = false, test_only = false, dump = false;
	bool log_stderr = false;
	int ncl = 0, ch, sfd, bound_port;
	char err[1024], fp[128], cwd[PATH_MAX], *config_dir, *hostkey;
	char *admin_path;
	struct signalfd_siginfo si;
	sigset_t mask;

	fatal_setup("sshchatd", NULL, NULL);
	malloc_tune(argv);
	while ((ch = getopt(argc, argv, "DdeTtVf:hl:o:p:S:u:")) != -1) {
		if (ncl >= (int)ARRAY_SIZE(cl_key)) {
			fatal("too many options");
		}
		switch (ch) {
		case 'D':
			foreground = true;
			break;
		case 'd':
			cl_key[ncl] = "LogLevel";
			cl_val[ncl++] = "debug";
			foreground = true;
			log_stderr = true;
			break;
		case 'e':
			log_stderr = true;
			break;
		case 'T':
			dump = true;
			break;
		case 't':
			test_only = true;
			break;
		case 'V':
			printf("sshchatd %s (libssh %s)\n", PACKAGE_VERSION,
			    ssh_version(0));
			return 0;
		case 'f':
			config = optarg;
			break;
		case 'l':
			cl_key[ncl] = "ListenAddress";
			cl_val[ncl++] = optarg;
			break;
		case 'o': {
			/* -o Keyword=value, as in sshd. */
			char *eq = strchr(optarg, '=');

			if (eq == NULL) {
				eq = strchr(optarg, ' ');
			}
			if (eq == NULL) {
				fatal("-o %s: expected keyword=value", optarg);
			}
			*eq = '\0';
			cl_key[ncl] = optarg;
			cl_val[ncl++] = eq + 1;
			break;
		}
		case 'p':
			cl_key[ncl] = "Port";
			cl_val[ncl++] = optarg;
			break;
		case 'S':
			cl_key[ncl] = "StateDirectory";
			cl_val[ncl++] = optarg;
			break;
		case 'u':
			cl_key[ncl] = "UsersFile";
			cl_val[ncl++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/*
	 * Before any thread exists: every thread inherits this mask, and the
	 * signals arrive only through the signalfd read in this thread.
	 */
	(void)signal(SIGPIPE, SIG_IGN);	/* cannot fail */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	notify_init();
	umask(077);
	conf_defaults();
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		fatal("getcwd: %s", strerror(errno));
	}
	config_dir = xstrdup(cwd);
	if (config == NULL && access(DEFAULT_CONFIG, F_OK) == 0) {
		config = DEFAULT_CONFIG;
	}
	if (config != NULL) {
		char *tmp = xstrdup(config);

		if (conf_load(config, err, sizeof(err)) < 0) {
			fatal("%s", err);
		}
		free(config_dir);
		config_dir = xstrdup(dirname(tmp));
		free(tmp);
		absolutize(&options.users_file, config_dir);
		absolutize(&options.state_dir, config_dir);
		absolutize(&options.host_key, config_dir);
		absolutize(&options.admin_socket, config_dir);
		absolutize(&options.shell_path, config_dir);
		absolutize(&options.motd_file, config_dir);
		absolutize(&options.metrics_file, config_dir);
	}
	for (int i = 0; i < ncl; i++) {
		if (conf_set(cl_key[i], cl_val[i], err, sizeof(err)) < 0) {
			fatal("%s", err);
		}
	}
	absolutize(&options.users_file, cwd);
	absolutize(&options.state_dir, cwd);
	absolutize(&options.host_key, cwd);
	absolutize(&options.motd_file, cwd);
	absolutize(&options.metrics_file, cwd);
	absolutize(&options.admin_socket, cwd);
	free(config_dir);
	if (gate_configure(err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	find_shell(argv[0]);
	if (options.host_key[0] == '\0') {
		free(options.host_key);
		options.host_key = xasprintf("%s/ssh_host_ed25519_key",
		    options.state_dir);
	}
	hostkey = options.host_key;
	admin_path = options.admin_socket[0] != '\0' ?
	    xstrdup(options.admin_socket) :
	    xasprintf("%s/" ADMIN_SOCKET_NAME, options.state_dir);
	log_set_level(strcmp(options.log_level, "debug") == 0 ? LOG_DEBUG :
	    strcmp(options.log_level, "warn") == 0 ? LOG_WARN :
	    strcmp(options.log_level, "error") == 0 ? LOG_ERROR : LOG_INFO);
	if (dump) {
		conf_dump(stdout);
		free(admin_path);
		conf_free();
		return 0;
	}

	/* Everything is checked before anyone is served. */
	log_set_stderr(true);
	if (userdb_init(options.users_file, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	if (access(options.shell_path, X_OK) < 0) {
		fatal("chat shell %s: %s", options.shell_path, strerror(errno));
	}
	if (listener_check_algorithms(err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	if (geteuid() == 0 && options.user[0] == '\0') {
		/* Else every chat shell would run as root, silently. */
		fatal("started as root with no User: the chat shells would run "
		    "as root; set User to an unprivileged account (the Debian "
		    "package's is _sshchat), or to root to run them as root");
	}
	if (store_check(options.store, options.store_url, err,
	    sizeof(err)) < 0) {
		fatal("%s", err);
	}
	if (test_only) {
		struct userdb *db = userdb_acquire();

		printf("configuration OK: %zu users in %s\n", userdb_count(db),
		    options.users_file);
		userdb_release(db);
		userdb_shutdown();
		free(admin_path);
		conf_free();
		return 0;
	}
	if (!foreground) {
		detach_begin();
	}
	check_state_dir(options.state_dir);
	if (log_open(options.state_dir, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	log_set_stderr(log_stderr);
	/*
	 * The admin socket doubles as the state directory's lock: a second
	 * daemon stops here, before it opens the store.
	 */
	if (admin_listen(admin_path, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	if (hostkey_ensure(hostkey, fp, sizeof(fp), err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	open_store();
	raise_fd_limit();
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fatal("signalfd: %s", strerror(errno));
	}
	ssh_init();
	log_ssh_thread_init(0);
	if (listener_listen(options.listen_address, options.port, hostkey,
	    &bound_port, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	info("host key %s %s", hostkey, fp);
	drop_privileges(admin_path);
	if (strcmp(options.shell_zygote, "yes") == 0 &&
	    spawn_zygote_start(options.shell_path, err, sizeof(err)) < 0) {
		warn("%s; shells will be started one by one", err);
	}
	/* Before the listener, which writes MetricsFile with the uptime. */
	metrics.started = time(NULL);
	if (listener_start() < 0) {
		fatal("cannot start the listener: %s", strerror(errno));
	}
	if (admin_start(admin_path, err, sizeof(err)) < 0) {
		fatal("%s", err);
	}
	info("listening on %s port %d", options.listen_address, bound_port);
	{
		char port[16];

		snprintf(port, sizeof(port), "%d", bound_port);
		event_log("SERVER", "action", "start", "version",
		    PACKAGE_VERSION, "address", options.listen_address, "port",
		    port, (char *)NULL);
	}
	/* The readiness line: tests and scripts wait for it. */
	printf("sshchatd listening on %s port %d\n", options.listen_address,
	    bound_port);
	fflush(stdout);
	/* systemd's readiness: every check passed, the port is listening. */
	notify_send("READY=1\nSTATUS=listening on %s port %d, 0 sessions",
	    options.listen_address, bound_port);
	if (!foreground) {
		detach_finish();
	}

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			error("signalfd read: %s", strerror(errno));
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			struct buf report = { 0 };

			daemon_reload(&report);
			buf_free(&report);
			continue;
		}
		info("signal %d: shutting down", (int)si.ssi_signo);
		break;
	}

	notify_send("STOPPING=1\nSTATUS=stopping: ending %u sessions",
	    router_session_count());
	listener_stop();
	admin_stop();
	free(admin_path);
	{
		const char *why = daemon_shutdown_message();
		char *safe = why != NULL ? render_text(why, strlen(why)) : NULL;

		router_foreach(shutdown_session, safe);
		free(safe);
	}
	session_wait_all((options.shutdown_grace + 5) * 1000);
	if (session_threads() > 0) {
		/* Thousands of sessions take a while to say goodbye. */
		session_wait_all(60 * 1000);
	}
	if (session_threads() > 0) {
		/*
		 * Tearing down the store, libssh and the logs under running
		 * session threads would crash them: leave as it is; the next
		 * start closes what is left open as crash-recovered.
		 */
		warn("%u sessions did not end in time; exiting without them",
		    session_threads());
		event_log("SERVER", "action", "stop", "unfinished", "yes",
		    (char *)NULL);
		_exit(0);
	}
	session_pool_close();
	event_log("SERVER", "action", "stop", (char *)NULL);
	info("stopped");
	listener_free();
	spawn_zygote_stop();
	store_close();
	userdb_shutdown();
	ssh_finalize();
	log_close();
	conf_free();
	close(sfd);
	return 0;
}
