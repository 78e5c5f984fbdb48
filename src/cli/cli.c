/* Shared CLI helpers; see cli.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/str.h"

int
cli_err(int code, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, always. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "letterbox: %s\n", msg);
	return code;
}

int
cli_usage(const char *verb)
{
	const struct cli_verb *v;

	for (v = cli_verbs; v->name != NULL; v++)
		if (verb == NULL || strcmp(v->name, verb) == 0)
			fprintf(stderr, "usage: letterbox [-c CONF] %s\n", v->usage);
	return EX_USAGE;
}

struct conf *
cli_conf(struct cli *c)
{
	char *err = NULL;

	if (c->conf != NULL)
		return c->conf;
	if (c->conf_path == NULL)
		c->conf_path = getenv("LETTERBOX_CONF");
	if (c->conf_path == NULL)
		c->conf_path = "/etc/letterbox/letterbox.conf";
	c->conf = conf_load(c->conf_path, &err);
	if (c->conf == NULL) {
		cli_err(EX_CONFIG, "%s", err);
		free(err);
	}
	return c->conf;
}

int
cli_become_owner(const struct conf *conf)
{
	const char	*owner = conf_str(conf, "mail_owner");
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(owner)) == NULL) {
		cli_err(EX_NOUSER, "mail_owner \"%s\" does not exist (letterbox init creates it)", owner);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		cli_err(EX_OSERR, "cannot switch to user %s: %s", owner, strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_read_secret(char *buf, size_t sz)
{
	size_t n;

	if (fgets(buf, (int)sz, stdin) == NULL)
		return -1;
	n = strlen(buf);
	if (n == sz - 1 && buf[n - 1] != '\n')
		return -1;	/* too long */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}
