/*
 * main() of sshchat-shell: the options, then either the zygote (-Z) or
 * one shell on the fds it was started with.  It owns nothing else.
 */
#include "config.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shell.h"
#include "zygote.h"

int
main(int argc, char **argv)
{
	const char *command = NULL;
	bool zygote = false;
	int ch;

	while ((ch = getopt(argc, argv, "Zc:m:u:")) != -1) {
		switch (ch) {
		case 'Z':
			zygote = true;
			break;
		case 'c':
			command = optarg;
			break;
		case 'm':
			shell_set_max_line(optarg);
			break;
		case 'u':
			break;
		default:
			fprintf(stderr, "usage: sshchat-shell [-Z] [-u user] "
			    "[-m max_line] [-c command]\n");
			return 2;
		}
	}
	(void)setlocale(LC_ALL, "");	/* else the C locale: still usable */
	shell_set_term(getenv("TERM"));
	shell_init();
	if (zygote) {
		return zygote_main();
	}
	shell_run(command);
}
