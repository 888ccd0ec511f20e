/*
 * The documentation check: every row of the command table, every
 * configuration keyword and every sshchatd option has its entry in the
 * man pages (and every keyword its line in examples/sshchatd.conf), no
 * entry is left for a command or keyword that is gone, and mandoc finds
 * no warning or error in any page under man/.  The tables are read from
 * the code itself, so a row added without its documentation fails here.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "conf.h"
#include "unit.h"
#include "util.h"

/* The options sshchatd takes, as in its getopt string. */
#define OPTIONS "DdeTtVf:hl:p:S:u:"

/*
 * Keywords documented before conf.c has their row (being added in
 * parallel); tolerated only while the table lacks them.
 */

struct page {
	char *path;
	char **lines;
	size_t n;
};

static const char *srcdir;

static bool
load(struct page *p, const char *rel)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	memset(p, 0, sizeof(*p));
	p->path = xasprintf("%s/%s", srcdir, rel);
	fp = fopen(p->path, "r");
	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", p->path, strerror(errno));
		return false;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		while (len > 0 &&
		    (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		if (p->n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			p->lines =
			    xrealloc(p->lines, alloc * sizeof(*p->lines));
		}
		p->lines[p->n++] = xstrdup(line);
	}
	free(line);
	fclose(fp);
	return true;
}

static void
unload(struct page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->lines[i]);
	}
	free(p->lines);
	free(p->path);
}

/*
 * Does line start with macro (".It Ic") and then the word name, ended
 * by a blank or the end of the line?
 */
static bool
is_entry(const char *line, const char *macro, const char *name)
{
	size_t m = strlen(macro), n = strlen(name);

	if (strncmp(line, macro, m) != 0 || line[m] != ' ') {
		return false;
	}
	line += m + 1;
	return strncmp(line, name, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ');
}

/* The word after macro in line, copied to out; false if not an entry. */
static bool
entry_name(const char *line, const char *macro, char *out, size_t outlen)
{
	size_t m = strlen(macro), n;

	if (strncmp(line, macro, m) != 0 || line[m] != ' ') {
		return false;
	}
	line += m + 1;
	n = strcspn(line, " ");
	if (n == 0 || n >= outlen) {
		return false;
	}
	memcpy(out, line, n);
	out[n] = '\0';
	return true;
}

/* Index of the first line in [from, to) equal to s, or to. */
static size_t
find_line(const struct page *p, size_t from, size_t to, const char *s)
{
	for (size_t i = from; i < to; i++) {
		if (strcmp(p->lines[i], s) == 0) {
			return i;
		}
	}
	return to;
}

/* The end of the section that starts at line i: the next .Sh or EOF. */
static size_t
section_end(const struct page *p, size_t i)
{
	for (i++; i < p->n; i++) {
		if (strncmp(p->lines[i], ".Sh ", 4) == 0) {
			break;
		}
	}
	return i;
}

/* The end of the entry at line i: the next line starting with macro. */
static size_t
entry_end(const struct page *p, size_t i, size_t to, const char *macro)
{
	size_t m = strlen(macro);

	for (i++; i < to; i++) {
		if (strncmp(p->lines[i], macro, m) == 0 ||
		    strncmp(p->lines[i], ".Ss ", 4) == 0) {
			break;
		}
	}
	return i;
}

static bool
range_contains(const struct page *p, size_t from, size_t to, const char *s)
{
	for (size_t i = from; i < to; i++) {
		if (strstr(p->lines[i], s) != NULL) {
			return true;
		}
	}
	return false;
}

/*
 * Every command has an ".It Ic name" entry in CHAT COMMANDS, in the
 * right group, naming its arguments and showing the table's example;
 * every entry there is a command.
 */
static void
test_commands(const struct page *p)
{
	size_t sh = find_line(p, 0, p->n, ".Sh CHAT COMMANDS");
	size_t end, admin;
	char name[64];

	CHECK(sh < p->n);
	if (sh == p->n) {
		fprintf(stderr, "%s: no CHAT COMMANDS section\n", p->path);
		return;
	}
	end = section_end(p, sh);
	admin = find_line(p, sh, end, ".Ss Administrators' commands");
	CHECK(admin < end);
	if (admin == end) {
		fprintf(stderr,
		    "%s: no \".Ss Administrators' commands\" "
		    "in CHAT COMMANDS\n",
		    p->path);
	}
	for (size_t i = 0; i < command_count(); i++) {
		const struct command *c = command_get(i);
		bool is_admin = (c->flags & CMD_ADMIN) != 0;
		size_t at, stop;
		char *usage, *word, *save = NULL, *ex;
		const char *args;

		for (at = sh; at < end; at++) {
			if (is_entry(p->lines[at], ".It Ic", c->name)) {
				break;
			}
		}
		CHECK(at < end);
		if (at == end) {
			fprintf(stderr,
			    "%s: command '%s' is not documented "
			    "(no '.It Ic %s' in CHAT COMMANDS)\n",
			    p->path, c->name, c->name);
			continue;
		}
		CHECK(is_admin == (at > admin));
		if (is_admin != (at > admin)) {
			fprintf(stderr,
			    "%s:%zu: '%s' is in the wrong group "
			    "(it is %san administrators' command)\n",
			    p->path, at + 1, c->name, is_admin ? "" : "not ");
		}
		/* Each argument of the usage is named on the entry's line. */
		args = p->lines[at] + strlen(".It Ic ") + strlen(c->name);
		usage = xstrdup(c->usage);
		for (word = strtok_r(usage, " ", &save); word != NULL;
		     word = strtok_r(NULL, " ", &save)) {
			word += strspn(word, "<[-");
			word[strcspn(word, ">]")] = '\0';
			if (*word == '\0') {
				continue;
			}
			CHECK(strstr(args, word) != NULL);
			if (strstr(args, word) == NULL) {
				fprintf(stderr,
				    "%s:%zu: '%s' lacks the argument "
				    "'%s' of its usage '%s'\n",
				    p->path, at + 1, c->name, word, c->usage);
			}
		}
		free(usage);
		/* The table's example, as typed at a prompt. */
		stop = entry_end(p, at, end, ".It Ic ");
		ex = xasprintf("> %s", c->example);
		CHECK(range_contains(p, at, stop, ex));
		if (!range_contains(p, at, stop, ex)) {
			fprintf(stderr,
			    "%s:%zu: '%s' lacks its example "
			    "'%s'\n",
			    p->path, at + 1, c->name, c->example);
		}
		free(ex);
	}
	for (size_t i = sh; i < end; i++) {
		if (entry_name(p->lines[i], ".It Ic", name, sizeof(name))) {
			CHECK(command_find(name) != NULL);
			if (command_find(name) == NULL) {
				fprintf(stderr,
				    "%s:%zu: '%s' is documented but "
				    "is not in the command table\n",
				    p->path, i + 1, name);
			}
		}
	}
}

static bool
is_keyword(const char *name)
{
	for (size_t i = 0; i < conf_keyword_count(); i++) {
		if (strcmp(conf_keyword_name(i), name) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * sshchatd.conf(5) has an ".It Cm Keyword" entry for every keyword that
 * ends "The default is ...", in alphabetical order, and no entry for a
 * keyword the table lacks; the sample config has every keyword.
 */
static void
test_keywords(const struct page *conf5, const struct page *sample)
{
	size_t sh = find_line(conf5, 0, conf5->n, ".Sh DESCRIPTION");
	size_t end = sh < conf5->n ? section_end(conf5, sh) : conf5->n;
	char name[64], prev[64] = "";

	CHECK(sh < conf5->n);
	for (size_t k = 0; k < conf_keyword_count(); k++) {
		const char *kw = conf_keyword_name(k);
		char *line = xasprintf("#%s ", kw);
		size_t at, stop;
		bool found = false;

		for (at = sh; at < end; at++) {
			if (is_entry(conf5->lines[at], ".It Cm", kw)) {
				break;
			}
		}
		CHECK(at < end);
		if (at == end) {
			fprintf(stderr,
			    "%s: keyword '%s' is not documented "
			    "(no '.It Cm %s')\n",
			    conf5->path, kw, kw);
		} else {
			stop = entry_end(conf5, at, end, ".It Cm ");
			CHECK(
			    range_contains(conf5, at, stop, "The default is"));
			if (!range_contains(
				conf5, at, stop, "The default is")) {
				fprintf(stderr,
				    "%s:%zu: '%s' does not say "
				    "\"The default is ...\"\n",
				    conf5->path, at + 1, kw);
			}
		}
		for (size_t i = 0; i < sample->n; i++) {
			if (strncmp(sample->lines[i], line, strlen(line)) ==
			    0) {
				found = true;
			}
		}
		CHECK(found);
		if (!found) {
			fprintf(stderr, "%s: no '%s...' line\n", sample->path,
			    line);
		}
		free(line);
	}
	for (size_t i = sh; i < end; i++) {
		if (!entry_name(
			conf5->lines[i], ".It Cm", name, sizeof(name))) {
			continue;
		}
		CHECK(is_keyword(name));
		if (!is_keyword(name)) {
			fprintf(stderr,
			    "%s:%zu: '%s' is documented but is "
			    "not a keyword\n",
			    conf5->path, i + 1, name);
		}
		CHECK(strcasecmp(prev, name) < 0);
		if (strcasecmp(prev, name) >= 0) {
			fprintf(stderr,
			    "%s:%zu: '%s' is out of alphabetical "
			    "order (after '%s')\n",
			    conf5->path, i + 1, name, prev);
		}
		snprintf(prev, sizeof(prev), "%s", name);
	}
}

/* The getopt string of src/sshchatd.c, or NULL. */
static char *
getopt_string(const struct page *src)
{
	const char *key = "getopt(argc, argv, \"";

	for (size_t i = 0; i < src->n; i++) {
		const char *s = strstr(src->lines[i], key);

		if (s != NULL) {
			s += strlen(key);
			return xstrndup(s, strcspn(s, "\""));
		}
	}
	return NULL;
}

/*
 * Every option is in the SYNOPSIS (a flag in the ".Op Fl" cluster, an
 * option with an argument as ".Op Fl X Ar") and has an ".It Fl X" entry
 * in DESCRIPTION.
 */
static void
check_options(const struct page *p, const char *opts)
{
	size_t syn = find_line(p, 0, p->n, ".Sh SYNOPSIS");
	size_t synend = syn < p->n ? section_end(p, syn) : p->n;
	size_t desc = find_line(p, 0, p->n, ".Sh DESCRIPTION");
	size_t descend = desc < p->n ? section_end(p, desc) : p->n;

	for (const char *o = opts; *o != '\0'; o++) {
		bool arg = o[1] == ':';
		char flag[2] = {*o, '\0'};
		bool in_synopsis = false, entry = false;

		if (*o == ':') {
			continue;
		}
		for (size_t i = syn; i < synend; i++) {
			const char *l = p->lines[i];
			char *want = xasprintf(".Op Fl %c Ar ", *o);

			if (arg) {
				in_synopsis |=
				    strncmp(l, want, strlen(want)) == 0;
			} else if (strncmp(l, ".Op Fl ", 7) == 0 &&
			    strchr(l + 7, ' ') == NULL) {
				in_synopsis |= strchr(l + 7, *o) != NULL;
			}
			free(want);
		}
		CHECK(in_synopsis);
		if (!in_synopsis) {
			fprintf(stderr, "%s: -%c is not in the SYNOPSIS\n",
			    p->path, *o);
		}
		for (size_t i = desc; i < descend; i++) {
			entry |= is_entry(p->lines[i], ".It Fl", flag);
		}
		CHECK(entry);
		if (!entry) {
			fprintf(stderr,
			    "%s: option -%c is not documented (no "
			    "'.It Fl %c')\n",
			    p->path, *o, *o);
		}
	}
}

static void
test_options(const struct page *p, const struct page *src)
{
	char *parsed = getopt_string(src);

	CHECK(parsed != NULL);
	if (parsed == NULL) {
		fprintf(stderr, "%s: no getopt string found\n", src->path);
	} else {
		check_options(p, parsed);
	}
	/* The list above still counts if the code moves or changes. */
	if (parsed == NULL || strcmp(parsed, OPTIONS) != 0) {
		check_options(p, OPTIONS);
	}
	free(parsed);
}

static char *
shell_quote(const char *s)
{
	struct buf b = {0};

	buf_append(&b, "'", 1);
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			buf_append(&b, "'\\''", 4);
		} else {
			buf_append(&b, s, 1);
		}
	}
	buf_append(&b, "'", 1);
	return b.data;
}

static bool
is_page(const char *name)
{
	size_t n = strlen(name);

	return n > 2 && name[n - 2] == '.' && name[n - 1] >= '1' &&
	    name[n - 1] <= '9';
}

/* mandoc -Tlint on every page: no WARNING, ERROR or worse. */
static void
test_mandoc(void)
{
	char *dir = xasprintf("%s/man", srcdir);
	DIR *d;
	struct dirent *e;
	int pages = 0;

	if (system("command -v mandoc >/dev/null 2>&1") != 0) {
		printf("mandoc not found: lint skipped\n");
		free(dir);
		return;
	}
	d = opendir(dir);
	CHECK(d != NULL);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *path, *q, *cmd, *line = NULL;
		size_t cap = 0;
		FILE *fp;
		int bad = 0;

		if (!is_page(e->d_name)) {
			continue;
		}
		pages++;
		path = xasprintf("%s/%s", dir, e->d_name);
		q = shell_quote(path);
		cmd = xasprintf("mandoc -Tlint -W warning %s 2>&1", q);
		fp = popen(cmd, "r");
		CHECK(fp != NULL);
		while (fp != NULL && getline(&line, &cap, fp) >= 0) {
			if (strstr(line, ": WARNING: ") != NULL ||
			    strstr(line, ": ERROR: ") != NULL ||
			    strstr(line, ": UNSUPP: ") != NULL ||
			    strstr(line, ": BADARG: ") != NULL ||
			    strstr(line, ": SYSERR: ") != NULL) {
				fputs(line, stderr);
				bad++;
			}
		}
		if (fp != NULL) {
			pclose(fp);
		}
		CHECK(bad == 0);
		free(line);
		free(cmd);
		free(q);
		free(path);
	}
	closedir(d);
	CHECK(pages > 0);
	free(dir);
}

int
main(void)
{
	struct page sshchatd8, conf5, sample, src;

	srcdir = getenv("top_srcdir");
	if (srcdir == NULL || srcdir[0] == '\0') {
		srcdir = ".";
	}
	CHECK(load(&sshchatd8, "man/sshchatd.8"));
	CHECK(load(&conf5, "man/sshchatd.conf.5"));
	CHECK(load(&sample, "examples/sshchatd.conf"));
	CHECK(load(&src, "src/sshchatd.c"));
	test_commands(&sshchatd8);
	test_keywords(&conf5, &sample);
	test_options(&sshchatd8, &src);
	test_mandoc();
	unload(&sshchatd8);
	unload(&conf5);
	unload(&sample);
	unload(&src);
	return unit_done("test-docs");
}
