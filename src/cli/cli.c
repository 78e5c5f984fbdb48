/* Shared CLI helpers; see cli.h. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

static gid_t	priv_gid = (gid_t)-1;	/* the setgid group while it may be raised */

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

/*
 * The instance's own setgid bin/sendmail (or a link to it, e.g. from
 * /usr/sbin/sendmail) finds its config without -c: DIR/bin/X -> DIR/letterbox.conf.
 */
static const char *
exe_conf(void)
{
	static char	 path[PATH_MAX];
	char		 exe[PATH_MAX], *s;
	ssize_t		 n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if ((s = strrchr(exe, '/')) == NULL)
		return NULL;
	*s = '\0';
	if ((s = strrchr(exe, '/')) == NULL || strcmp(s + 1, "bin") != 0)
		return NULL;
	*s = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/letterbox.conf", exe) >= sizeof(path) ||
	    access(path, R_OK) != 0)
		return NULL;
	return path;
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
		c->conf_path = exe_conf();
	if (c->conf_path == NULL)
		c->conf_path = "/etc/letterbox/letterbox.conf";
	c->conf = conf_load(c->conf_path, &err);
	if (c->conf == NULL) {
		cli_err(EX_CONFIG, "%s", err);
		free(err);
	}
	return c->conf;
}

struct passwd *
cli_owner_lookup(const struct conf *conf, char **err_r)
{
	const char	*owner = conf_str(conf, CK_MAIL_OWNER);
	struct passwd	*pw = getpwnam(owner);

	if (pw == NULL) {
		*err_r = xasprintf("mail_owner \"%s\" does not exist (letterbox init creates it)", owner);
		return NULL;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		*err_r = xasprintf("mail_owner \"%s\" has uid %u and gid %u: the mail owner must not be"
		    " root or in group 0 (use the vmail account that letterbox init creates)", owner,
		    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		return NULL;
	}
	return pw;
}

char *
cli_path_unreachable(const char *dir, const struct passwd *pw)
{
	char		 blocked[PATH_MAX];
	struct stat	 st;
	int		 r;

	r = fs_search_blocked(dir, pw->pw_uid, pw->pw_gid, NULL, 0, blocked, sizeof(blocked));
	if (r == 0)
		return NULL;
	if (r < 0)
		return xasprintf("%s: %s", dir, strerror(errno));
	if (stat(blocked, &st) != 0)
		memset(&st, 0, sizeof(st));
	return xasprintf("the mail owner %s (uid %u) cannot reach %s: %s is mode %04o, owner %u:%u;"
	    " make it traversable (chmod o+x %s) or put the instance elsewhere", pw->pw_name,
	    (unsigned)pw->pw_uid, dir, blocked, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
	    (unsigned)st.st_gid, blocked);
}

char *
cli_owner_unreachable(const struct conf *conf, const struct passwd *pw)
{
	static const enum conf_id keys[] = { CK_CONFIG_DIRECTORY, CK_QUEUE_DIRECTORY,
	    CK_VIRTUAL_MAILBOX_BASE };
	const char	*db = conf_str(conf, CK_DATABASE);
	char		*msg = NULL, *dbdir, *slash;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && msg == NULL; i++)
		if (*conf_str(conf, keys[i]) != '\0')
			msg = cli_path_unreachable(conf_str(conf, keys[i]), pw);
	if (msg == NULL && strncmp(db, "sqlite:", 7) == 0 && db[7] == '/') {
		dbdir = xstrdup(db + 7);
		if ((slash = strrchr(dbdir, '/')) != NULL && slash != dbdir) {
			*slash = '\0';
			msg = cli_path_unreachable(dbdir, pw);
		}
		free(dbdir);
	}
	return msg;
}

int
cli_drop_to(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return -1;
	/* Nothing executed from here on may gain privileges (setuid binaries, file caps). */
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int
cli_become_owner(const struct conf *conf)
{
	struct passwd	*pw;
	char		*err = NULL;

	if (geteuid() != 0) {
		/* Nothing to switch; a mail_owner of root is still a wrong config. */
		pw = getpwnam(conf_str(conf, CK_MAIL_OWNER));
		if (pw != NULL && (pw->pw_uid == 0 || pw->pw_gid == 0) && cli_owner_lookup(conf, &err) == NULL)
			goto fail;
		return 0;
	}
	if ((pw = cli_owner_lookup(conf, &err)) == NULL || (err = cli_owner_unreachable(conf, pw)) != NULL)
		goto fail;
	if (cli_drop_to(pw) != 0) {
		cli_err(EX_OSERR, "cannot switch to user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	return 0;
fail:
	cli_err(EX_NOPERM, "%s", err);
	free(err);
	return -1;
}

bool
cli_priv_init(void)
{
	gid_t rgid = getgid();

	if (getegid() == rgid)
		return false;
	priv_gid = getegid();
	if (setegid(rgid) != 0) {
		cli_err(EX_OSERR, "setegid: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	/* Every exit path gives the group up (and so runs the sanitizers' leak check). */
	atexit(cli_priv_drop);
	return true;
}

void
cli_priv_enter(void)
{
	/* On failure the next call simply runs without the group and fails. */
	if (priv_gid != (gid_t)-1)
		(void)!setegid(priv_gid);
}

void
cli_priv_leave(void)
{
	if (priv_gid != (gid_t)-1 && setegid(getgid()) != 0) {
		cli_err(EX_OSERR, "setegid: %s", strerror(errno));
		_exit(EX_OSERR);
	}
}

void
cli_priv_drop(void)
{
	gid_t g = getgid();

	if (priv_gid == (gid_t)-1)
		return;
	if (setresgid(g, g, g) != 0) {
		cli_err(EX_OSERR, "setresgid: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	priv_gid = (gid_t)-1;
	/* Plain user again: let the sanitizers' leak check (and core dumps) work. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
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
