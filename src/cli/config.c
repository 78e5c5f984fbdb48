/*
 * `config get KEY`, `config set KEY VALUE`, `config check`: read and write
 * the config file through the one key table (lib/conf_keys.c).
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "deliver/aliases.h"
#include "directory/directory.h"
#include "lib/conf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* Warnings about the environment (not errors): paths that do not exist yet. */
static int
check_paths(const struct conf *conf)
{
	static const enum conf_id paths[] = { CK_QUEUE_DIRECTORY, CK_VIRTUAL_MAILBOX_BASE,
	    CK_SMTPD_TLS_CERT_FILE, CK_SMTPD_TLS_KEY_FILE };
	const struct conf_key *k = conf_keys(NULL);
	struct stat	 st;
	size_t		 i;
	int		 warned = 0;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = conf_str(conf, paths[i]);

		if (*p != '\0' && stat(p, &st) != 0) {
			fprintf(stderr, "letterbox: warning: %s: %s does not exist\n", k[paths[i]].name, p);
			warned++;
		}
	}
	return warned;
}

/*
 * RFC 5321 4.5.1: postmaster must reach a person.  Follow postmaster (and
 * root, where the default aliases file sends it) through the aliases file
 * to an address with a domain; warn when there is none.
 */
static int
check_admin(const struct conf *conf)
{
	const char	*file = conf_str(conf, CK_ALIAS_MAPS);
	char		 name[256] = "postmaster", *t = NULL, *p;
	int		 depth;
	bool		 found = false;

	for (depth = 0; depth < 10 && !found; depth++) {
		if (aliases_lookup(file, name, &t) != ALIAS_FOUND)
			break;
		/* The first local name leads on; any address with a domain is an admin. */
		found = strchr(t, '@') != NULL;
		p = t + strspn(t, " \t,");
		str_copy(name, p, sizeof(name));
		name[strcspn(name, " \t,")] = '\0';
		free(t);
		t = NULL;
	}
	if (found)
		return 0;
	fprintf(stderr, "letterbox: warning: no admin address: postmaster and root lead to no mailbox;"
	    " add \"root: you@example.com\" to %s (letterbox init --admin does)\n", file);
	return 1;
}

static void
check_warn(void *arg, const char *msg)
{
	int *n = arg;

	fprintf(stderr, "letterbox: warning: %s\n", msg);
	(*n)++;
}

/*
 * Warnings about the database: it does not answer, a table or *_query
 * override does not run, users.password is too narrow for modern hashes.
 * A database that cannot be opened is a warning too: the config itself may
 * be right and the server merely down (or not installed yet).
 */
static int
check_directory(const struct conf *conf)
{
	struct directory	*d;
	const char		*owner = conf_str(conf, CK_MAIL_OWNER);
	char			*err = NULL;
	int			 n = 0;

	/*
	 * As the mail owner, like the daemon and the admin verbs: the password
	 * file must be readable by it, and SQLite's -wal/-shm must stay its own.
	 */
	if (geteuid() == 0 && getpwnam(owner) == NULL) {
		fprintf(stderr, "letterbox: warning: database not checked: mail_owner \"%s\""
		    " does not exist\n", owner);
		return 1;
	}
	if (cli_become_owner(conf) < 0)
		return 1;
	if ((d = dir_open_existing(conf, &err)) == NULL) {
		if (err == NULL)
			err = xstrdup("cannot be opened");
		fprintf(stderr, "letterbox: warning: %s%s\n",
		    strncmp(err, "database", 8) == 0 ? "" : "database: ", err);
		free(err);
		return 1;
	}
	dir_check(d, check_warn, &n);
	dir_close(&d);
	return n;
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
		enum conf_id id;

		if (!conf_id_find(argv[2], &id))
			return cli_err(EX_USAGE, "unknown parameter \"%s\"", argv[2]);
		printf("%s\n", conf_str(conf, id));
		return 0;
	}
	if (strcmp(argv[1], "check") == 0) {
		struct passwd *pw = getpwnam(conf_str(conf, CK_MAIL_OWNER));

		if (argc != 2)
			return cli_usage("config");
		/* As Postfix: a mail owner that is root makes every privilege drop void. */
		if (pw != NULL && (pw->pw_uid == 0 || pw->pw_gid == 0) &&
		    cli_owner_lookup(conf, &err) == NULL) {
			cli_err(EX_CONFIG, "%s", err);
			free(err);
			return EX_CONFIG;
		}
		k = conf_keys(&n);
		for (i = 0; i < n; i++)
			printf("%s = %s\n", k[i].name, conf_str(conf, (enum conf_id)i));
		if (fflush(stdout) != 0)
			return cli_err(EX_IOERR, "cannot write the settings");
		check_paths(conf);
		check_admin(conf);
		check_directory(conf);
		return 0;
	}
	return cli_usage("config");
}
