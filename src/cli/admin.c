/*
 * Admin verbs over the directory: domain, user, forward, transport
 * (INTERFACE.md "Administration").  Each loads the config, becomes the mail
 * owner (so SQLite's -wal/-shm stay the daemon's), validates its arguments
 * and makes one transactional write; on any error nothing is written and
 * one line "letterbox: ..." says why.
 *
 * Exit codes (sysexits): 0 ok; 64 usage; 65 invalid input, an existing
 * entry, a domain still in use; 67 the named entry does not exist; 69 the
 * database cannot be opened; 75 the database failed mid-way (locked, I/O);
 * 77 `user check`: wrong password, unknown user or unusable hash; 78 config.
 * List verbs print one item per line, fields separated by a tab.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "cli/cli.h"
#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"

#define ADMIN_SECRET_MAX	1024	/* one password line */

static int
admin_usage(const char *verb)
{
	const struct cli_verb *v;

	for (v = cli_verbs; v->name != NULL; v++)
		if (strcmp(v->name, verb) == 0)
			return cli_err(EX_USAGE, "usage: letterbox [-c CONF] %s", v->usage);
	return cli_err(EX_USAGE, "usage error");
}

/* Load the config, become the mail owner, open the directory.  0 or an exit code. */
static int
admin_open(struct cli *c, struct directory **d_r)
{
	struct conf	*conf;
	char		*err = NULL;

	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	if (cli_become_owner(conf) < 0)
		return EX_NOPERM;
	if ((*d_r = dir_open_existing(conf, &err)) == NULL) {
		cli_err(EX_UNAVAILABLE, "%s", err);
		free(err);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* Takes err by address: `wres_exit(dir_x(..., &err), &err)` must read it after the call. */
static int
wres_exit(enum dir_wresult r, char **errp)
{
	char	*err = *errp;
	int	 code;

	*errp = NULL;
	switch (r) {
	case DIR_W_OK:
		free(err);
		return 0;
	case DIR_W_NOTFOUND:
		code = EX_NOUSER;
		break;
	case DIR_W_FAIL:
		code = EX_TEMPFAIL;
		break;
	default:	/* INVALID, EXISTS, INUSE */
		code = EX_DATAERR;
		break;
	}
	cli_err(code, "%s", err != NULL ? err : "failed");
	free(err);
	return code;
}

/* One row per line, tab-separated; a tab or newline inside a value becomes a space. */
static void
print_row(void *arg, const char *const *cols, int ncols)
{
	const char	*p;
	int		 i;

	for (i = 0; i < ncols; i++) {
		if (i > 0)
			putchar('\t');
		for (p = cols[i]; *p != '\0'; p++)
			putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
	}
	putchar('\n');
}

static int
list_exit(int rc, char **errp)
{
	char *err = *errp;

	*errp = NULL;
	if (rc < 0) {
		cli_err(EX_TEMPFAIL, "%s", err != NULL ? err : "list failed");
		free(err);
		return EX_TEMPFAIL;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_err(EX_IOERR, "cannot write the list");
	return 0;
}

/* Reject a malformed address before asking for a password. */
static int
check_addr(const char *email)
{
	const char	*why;
	char		*norm, shown[160];

	if (email[0] == '\0' || addr_normalize(email, strlen(email), true, &norm, &why) < 0)
		return cli_err(EX_DATAERR, "invalid address \"%s\": %s",
		    log_escape(shown, sizeof(shown), email, strlen(email)),
		    email[0] == '\0' ? "empty" : why);
	free(norm);
	return 0;
}

/* One line from stdin; no echo when it is a terminal.  0 or an exit code (printed). */
static int
read_password(const char *prompt, char *buf, size_t sz)
{
	struct termios	 old, quiet;
	bool		 tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	int		 rc;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = cli_read_secret(buf, sz);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc < 0)
		return cli_err(EX_DATAERR, "no password on stdin (one line, at most %zu bytes)",
		    sz - 2);
	return 0;
}

/* ---------------------------------------------------------------- domain */

static int
domain_verb(struct cli *c, int argc, char **argv)
{
	struct directory	*d = NULL;
	enum dir_wresult	 r;
	char			*err = NULL;
	int			 rc;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = list_exit(dir_domain_list(d, print_row, NULL, &err), &err);
	} else if (argc == 3 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "del") == 0)) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		if (argv[1][0] == 'a')
			r = dir_domain_add(d, argv[2], &err);
		else
			r = dir_domain_del(d, argv[2], &err);
		rc = wres_exit(r, &err);
	} else
		return admin_usage("domain");
	dir_close(&d);
	return rc;
}

/* ---------------------------------------------------------------- user */

/* user add / user passwd: a new yescrypt hash from stdin. */
static int
user_setpw(struct cli *c, bool add, const char *email)
{
	struct directory	*d = NULL;
	char			 pw[ADMIN_SECRET_MAX], *hash = NULL, *err = NULL;
	int			 rc;

	if ((rc = check_addr(email)) != 0)
		return rc;
	if ((rc = read_password("New password: ", pw, sizeof(pw))) != 0)
		goto out;
	if (pw[0] == '\0') {
		rc = cli_err(EX_DATAERR, "empty password");
		goto out;
	}
	if ((hash = passwd_hash(pw)) == NULL) {
		rc = cli_err(EX_SOFTWARE, "cannot hash the password (crypt failed)");
		goto out;
	}
	if ((rc = admin_open(c, &d)) != 0)
		goto out;
	if (add)
		rc = wres_exit(dir_user_add(d, email, hash, &err), &err);
	else
		rc = wres_exit(dir_user_passwd(d, email, hash, &err), &err);
out:
	explicit_bzero(pw, sizeof(pw));
	free(hash);
	dir_close(&d);
	return rc;
}

static int
user_check(struct cli *c, const char *email)
{
	struct directory	*d = NULL;
	char			 pw[ADMIN_SECRET_MAX], *hash = NULL, who[160];
	int			 rc;

	if ((rc = check_addr(email)) != 0)
		return rc;
	log_escape(who, sizeof(who), email, strlen(email));
	if ((rc = read_password("Password: ", pw, sizeof(pw))) != 0)
		goto out;
	if ((rc = admin_open(c, &d)) != 0)
		goto out;
	switch (dir_password(d, email, &hash)) {
	case DIR_FOUND:
		switch (passwd_verify(pw, hash, conf_bool(c->conf, CK_ALLOW_PLAINTEXT_PASSWORDS))) {
		case PASSWD_MATCH:
			rc = 0;
			break;
		case PASSWD_MISMATCH:
			rc = cli_err(EX_NOPERM, "wrong password for %s", who);
			break;
		default:
			rc = cli_err(EX_NOPERM, "the stored hash of %s has an unsupported scheme",
			    who);
			break;
		}
		break;
	case DIR_NOTFOUND:
		rc = cli_err(EX_NOPERM, "no user %s", who);
		break;
	default:
		rc = cli_err(EX_TEMPFAIL, "directory lookup failed (see the log line above)");
		break;
	}
out:
	explicit_bzero(pw, sizeof(pw));
	if (hash != NULL)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	dir_close(&d);
	return rc;
}

static int
user_verb(struct cli *c, int argc, char **argv)
{
	struct directory	*d = NULL;
	char			*err = NULL;
	int			 rc;

	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return user_setpw(c, true, argv[2]);
	if (argc == 3 && strcmp(argv[1], "passwd") == 0)
		return user_setpw(c, false, argv[2]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return user_check(c, argv[2]);
	if (argc == 3 && strcmp(argv[1], "del") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = wres_exit(dir_user_del(d, argv[2], &err), &err);
	} else if ((argc == 2 || argc == 3) && strcmp(argv[1], "list") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = dir_user_list(d, argc == 3 ? argv[2] : NULL, print_row, NULL, &err);
		if (rc < 0 && argc == 3 && err != NULL && strncmp(err, "invalid", 7) == 0) {
			rc = cli_err(EX_DATAERR, "%s", err);
			free(err);
		} else
			rc = list_exit(rc, &err);
	} else
		return admin_usage("user");
	dir_close(&d);
	return rc;
}

/* ---------------------------------------------------------------- forward */

static int
forward_verb(struct cli *c, int argc, char **argv)
{
	struct directory	*d = NULL;
	struct buf		 dest;
	char			*err = NULL;
	int			 rc, i;

	if (argc >= 4 && strcmp(argv[1], "add") == 0) {
		/* "forward add S a@x b@y" is "a@x,b@y": the shell split it, not the user. */
		buf_init(&dest, 1024 * 1024);
		for (i = 3; i < argc; i++)
			if ((i > 3 && buf_addc(&dest, ',') < 0) || buf_adds(&dest, argv[i]) < 0) {
				buf_clear(&dest);
				return cli_err(EX_DATAERR, "destination list too long");
			}
		if ((rc = admin_open(c, &d)) == 0)
			rc = wres_exit(dir_forward_add(d, argv[2], buf_str(&dest), &err), &err);
		buf_clear(&dest);
	} else if (argc == 3 && strcmp(argv[1], "del") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = wres_exit(dir_forward_del(d, argv[2], &err), &err);
	} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = list_exit(dir_forward_list(d, print_row, NULL, &err), &err);
	} else
		return admin_usage("forward");
	dir_close(&d);
	return rc;
}

/* ---------------------------------------------------------------- transport */

static int
transport_verb(struct cli *c, int argc, char **argv)
{
	struct directory	*d = NULL;
	char			*err = NULL;
	int			 rc;

	/* "add" is accepted as a synonym: set replaces an existing entry. */
	if (argc == 4 && (strcmp(argv[1], "set") == 0 || strcmp(argv[1], "add") == 0)) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = wres_exit(dir_transport_set(d, argv[2], argv[3], &err), &err);
	} else if (argc == 3 && strcmp(argv[1], "del") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = wres_exit(dir_transport_del(d, argv[2], &err), &err);
	} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((rc = admin_open(c, &d)) != 0)
			return rc;
		rc = list_exit(dir_transport_list(d, print_row, NULL, &err), &err);
	} else
		return admin_usage("transport");
	dir_close(&d);
	return rc;
}

/* ---------------------------------------------------------------- entry points */

/* The verbs free the config they loaded: main() does not, and LSan checks every run. */
int
cmd_domain(struct cli *c, int argc, char **argv)
{
	int rc = domain_verb(c, argc, argv);

	conf_free(&c->conf);
	return rc;
}

int
cmd_user(struct cli *c, int argc, char **argv)
{
	int rc = user_verb(c, argc, argv);

	conf_free(&c->conf);
	return rc;
}

int
cmd_forward(struct cli *c, int argc, char **argv)
{
	int rc = forward_verb(c, argc, argv);

	conf_free(&c->conf);
	return rc;
}

int
cmd_transport(struct cli *c, int argc, char **argv)
{
	int rc = transport_verb(c, argc, argv);

	conf_free(&c->conf);
	return rc;
}
