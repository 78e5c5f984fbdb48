/*
 * letterbox: argv -> serve | admin verb | sendmail (also when invoked by
 * the name "sendmail").
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/log.h"

#define LETTERBOX_VERSION "0.1"

static void
usage_all(FILE *f)
{
	const struct cli_verb *v;

	fprintf(f, "letterbox %s — mail server for virtual domains\n", LETTERBOX_VERSION);
	fprintf(f, "usage: letterbox [-c CONF] [-d] VERB ...   (CONF also from $LETTERBOX_CONF)\n");
	for (v = cli_verbs; v->name != NULL; v++)
		fprintf(f, "  %s\n", v->usage);
}

static int
run_verb(struct cli *c, const char *name, int argc, char **argv)
{
	const struct cli_verb *v;

	for (v = cli_verbs; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v->fn(c, argc, argv);
	cli_err(EX_USAGE, "unknown verb \"%s\" (letterbox --help lists them)", name);
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct cli	 c = { 0 };
	const char	*base = strrchr(argv[0], '/');
	int		 i = 1, r;
	/* First: a setgid run holds its group only where it needs it. */
	bool		 setgid_run = cli_priv_init();

	log_init("letterbox", LOG_TO_STDERR, false);
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "sendmail") == 0) {
		argv[0] = "sendmail";
		r = run_verb(&c, "sendmail", argc, argv);
		conf_free(&c.conf);
		return r;
	}
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			c.conf_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-d") == 0) {
			c.debug = true;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_all(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("letterbox %s\n", LETTERBOX_VERSION);
			return 0;
		} else {
			usage_all(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage_all(stderr);
		return EX_USAGE;
	}
	if (setgid_run && strcmp(argv[i], "sendmail") != 0)
		return cli_err(EX_NOPERM, "this setgid copy of letterbox runs only the sendmail verb");
	r = run_verb(&c, argv[i], argc - i, argv + i);
	conf_free(&c.conf);
	return r;
}
