/*
 * `config get KEY`, `config set KEY VALUE`, `config check`: read and write
 * the config file through the one key table (lib/conf_keys.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/xmalloc.h"

/* Warnings about the environment (not errors): paths that do not exist yet. */
static int
check_paths(const struct conf *conf)
{
	static const char *paths[] = { "queue_directory", "virtual_mailbox_base",
	    "smtpd_tls_cert_file", "smtpd_tls_key_file", NULL };
	struct stat	 st;
	int		 i, warned = 0;

	for (i = 0; paths[i] != NULL; i++) {
		const char *p = conf_str(conf, paths[i]);

		if (*p != '\0' && stat(p, &st) != 0) {
			fprintf(stderr, "letterbox: warning: %s: %s does not exist\n", paths[i], p);
			warned++;
		}
	}
	return warned;
}

int
cmd_config(struct cli *c, int argc, char **argv)
{
	const struct conf_key	*k;
	struct conf		*conf;
	char			*err = NULL;
	unsigned		 n, i;

	if (argc < 2)
		return cli_usage("config");
	if (strcmp(argv[1], "set") == 0) {
		if (argc != 4)
			return cli_usage("config");
		if (c->conf_path == NULL)
			c->conf_path = getenv("LETTERBOX_CONF");
		if (c->conf_path == NULL)
			return cli_err(EX_USAGE, "no config file (use -c CONF or $LETTERBOX_CONF)");
		if (conf_set_file(c->conf_path, argv[2], argv[3], &err) < 0) {
			int code = conf_key_find(argv[2]) == NULL ? EX_USAGE : EX_DATAERR;
			cli_err(code, "%s", err);
			free(err);
			return code;
		}
		return 0;
	}
	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	if (strcmp(argv[1], "get") == 0) {
		if (argc != 3)
			return cli_usage("config");
		if (conf_key_find(argv[2]) == NULL)
			return cli_err(EX_USAGE, "unknown parameter \"%s\"", argv[2]);
		printf("%s\n", conf_str(conf, argv[2]));
		return 0;
	}
	if (strcmp(argv[1], "check") == 0) {
		if (argc != 2)
			return cli_usage("config");
		k = conf_keys(&n);
		for (i = 0; i < n; i++)
			printf("%s = %s\n", k[i].name, conf_str(conf, k[i].name));
		check_paths(conf);
		return 0;
	}
	return cli_usage("config");
}
