/*
 * `letterbox init DIR [--hostname NAME] [--port-base N] [--admin EMAIL]`: a
 * working instance in DIR: letterbox.conf, the SQLite directory with the
 * seed schema, the spool, the Maildir base, an aliases file (postmaster ->
 * root -> EMAIL) and a self-signed certificate.  Run by root it also creates
 * the mail owner (vmail, uid/gid 5000 as in the classic guide, or the next
 * free system id) and the setgid group letterbox-drop, refuses a DIR the
 * owner cannot reach, lays out ownership as perms.c says (root keeps what
 * root reads) and installs the setgid DIR/bin/sendmail with its maildrop.
 * Nothing is overwritten: an existing config is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/conf_check.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#if __has_include("net/tls.h")
#include "net/tls.h"
#define HAVE_TLS_H 1
#endif

extern char **environ;

static const struct { const char *key; int port; } init_ports[] = {
	{ "smtp_listen", 25 }, { "submission_listen", 587 }, { "submissions_listen", 465 },
	{ "imap_listen", 143 }, { "imaps_listen", 993 }, { "pop3_listen", 110 },
	{ "pop3s_listen", 995 },
};

static int
run_cmd(char *const argv[])
{
	pid_t	pid;
	int	status;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Create the mail owner like the classic guide: groupadd -g 5000 vmail; useradd -u 5000 ... */
static int
ensure_owner(const char *owner)
{
	char	 id[16] = "5000";
	bool	 idfree = getpwuid(5000) == NULL && getgrgid(5000) == NULL;

	if (getpwnam(owner) != NULL)
		return 0;
	if (getgrnam(owner) == NULL) {
		char *ga[] = { "groupadd", "-g", id, (char *)owner, NULL };
		char *gs[] = { "groupadd", "-r", (char *)owner, NULL };
		/* another init running at the same time may have made it meanwhile */
		if (run_cmd(idfree ? ga : gs) < 0 && getgrnam(owner) == NULL)
			return cli_err(-1, "cannot create group %s (groupadd failed)", owner);
	}
	{
		char *ua[] = { "useradd", "-u", id, "-g", (char *)owner, "-M", "-d", "/nonexistent",
		    "-s", "/usr/sbin/nologin", (char *)owner, NULL };
		char *us[] = { "useradd", "-r", "-g", (char *)owner, "-M", "-d", "/nonexistent",
		    "-s", "/usr/sbin/nologin", (char *)owner, NULL };
		if (run_cmd(idfree ? ua : us) < 0) {
			if (getpwnam(owner) != NULL)	/* a concurrent init made it */
				return 0;
			return cli_err(-1, "cannot create user %s (useradd failed)", owner);
		}
	}
	fprintf(stderr, "letterbox: created user and group %s\n", owner);
	return 0;
}

/* The setgid group of bin/sendmail (Postfix's postdrop): a system group, no members. */
static int
ensure_group(const char *group, gid_t *gid_r)
{
	struct group	*gr;
	char		*ga[] = { "groupadd", "-r", (char *)group, NULL };

	if ((gr = getgrnam(group)) == NULL) {
		/* its failure may be a concurrent init that made it first: look again */
		(void)run_cmd(ga);
		if ((gr = getgrnam(group)) == NULL)
			return cli_err(-1, "cannot create group %s (groupadd failed)", group);
		fprintf(stderr, "letterbox: created group %s\n", group);
	}
	if (gr->gr_gid == 0)
		return cli_err(-1, "setgid_group %s is group 0", group);
	*gid_r = gr->gr_gid;
	return 0;
}

/*
 * DIR/bin/sendmail: a copy of this binary, setgid setgid_group, so that any
 * local user can drop mail into QDIR/maildrop (README "Local submission").
 * It finds DIR/letterbox.conf by its own location.
 */
static int
install_sendmail(const char *abs, gid_t drop_gid)
{
	char		*bin = xasprintf("%s/bin", abs), *dst = xasprintf("%s/bin/sendmail", abs);
	int		 in = -1, out = -1, r = -1;
	struct stat	 st;

	if (mkdir(bin, 0755) != 0 || (in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) != 0 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700)) < 0 ||
	    fs_copy_range(in, 0, st.st_size, out) != 0 || fchown(out, 0, drop_gid) != 0 ||
	    fchmod(out, 02755) != 0 || fsync(out) != 0)
		cli_err(-1, "%s: %s", dst, strerror(errno));
	else
		r = 0;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && r == 0)
		r = cli_err(-1, "%s: %s", dst, strerror(errno));
	free(bin);
	free(dst);
	return r;
}

static int
write_new_file(const char *path, const char *text, mode_t mode)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t	len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd);
}

static int
chown_tree(const char *path, uid_t uid, gid_t gid)
{
	char *argv[] = { "chown", "-R", NULL, (char *)path, NULL };
	char  who[64];

	snprintf(who, sizeof(who), "%u:%u", (unsigned)uid, (unsigned)gid);
	argv[2] = who;
	return run_cmd(argv);
}

struct init_args {
	const char	*dir, *host, *admin;
	long		 base;
};

static int
init_parse_args(int argc, char **argv, struct init_args *a)
{
	int		 i;
	uint64_t	 v;
	const char	**dir = &a->dir, **host = &a->host;
	long		*base = &a->base;

	memset(a, 0, sizeof(*a));
	*base = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hostname") == 0 && i + 1 < argc)
			*host = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
			a->admin = argv[++i];
		else if (strcmp(argv[i], "--port-base") == 0 && i + 1 < argc) {
			if (parse_u64(argv[i + 1], strlen(argv[i + 1]), 64000, &v) < 0)
				return cli_err(EX_USAGE, "--port-base wants a number from 0 to 64000");
			*base = (long)v;
			i++;
		} else if (argv[i][0] == '-' || *dir != NULL)
			return cli_usage("init");
		else
			*dir = argv[i];
	}
	if (*dir == NULL)
		return cli_usage("init");
	return 0;
}

static char *
init_conf_text(const char *host, long base)
{
	struct buf	 b;
	time_t		 now = time(NULL);
	char		 date[64];
	size_t		 i;

	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&now));
	buf_init(&b, 65536);
	buf_addf(&b,
	    "# letterbox configuration, made by `letterbox init` on %s.\n"
	    "# Syntax as Postfix's main.cf: key = value, # comments, a line that starts\n"
	    "# with white space continues the previous one, $key expands another key.\n"
	    "# `letterbox -c THIS config check` lists every key with its value.\n\n"
	    "myhostname = %s\n"
	    "mydestination = $myhostname, localhost\n"
	    "mynetworks = 127.0.0.0/8 [::1]/128\n\n"
	    "# Paths (relative to this file's directory through $config_directory)\n"
	    "queue_directory = $config_directory/spool\n"
	    "virtual_mailbox_base = $config_directory/vmail\n"
	    "database = sqlite:$config_directory/letterbox.db\n"
	    "alias_maps = $config_directory/aliases\n"
	    "smtpd_tls_cert_file = $config_directory/tls/cert.pem\n"
	    "smtpd_tls_key_file = $config_directory/tls/key.pem\n\n"
	    "# Listeners%s\n", date, host,
	    base >= 0 ? " (port base + the standard port)" : "");
	for (i = 0; i < sizeof(init_ports) / sizeof(init_ports[0]); i++)
		buf_addf(&b, "%s = 127.0.0.1:%ld\n", init_ports[i].key,
		    (base >= 0 ? base : 0) + init_ports[i].port);
	return buf_take(&b, NULL);
}

/*
 * The aliases file: postmaster -> root -> the admin address (RFC 5321 4.5.1:
 * postmaster must work).  Without --admin root stays unmapped and we say so.
 */
static int
write_aliases(const char *abs, const char *admin)
{
	char	*path = xasprintf("%s/aliases", abs);
	char	*text = xasprintf("# Aliases for the host's own names (mydestination), /etc/aliases format.\n"
	    "# Re-read when it changes; no newaliases step.  postmaster@ every hosted\n"
	    "# domain comes here too.\n"
	    "postmaster: root\n"
	    "%s%s\n", admin ? "root: " : "# root: you@example.com", admin ? admin : "");
	int	 r = 0;

	if (write_new_file(path, text, 0644) < 0)
		r = cli_err(EX_CANTCREAT, "%s: %s", path, strerror(errno));
	else if (admin == NULL)
		fprintf(stderr, "letterbox: warning: no --admin EMAIL: mail to root and postmaster has"
		    " nowhere to go until you set \"root: you@example.com\" in %s\n", path);
	free(path);
	free(text);
	return r;
}

/* Everything below the config: spool, Maildir base, aliases, database, certificate. */
static int
init_files(const struct conf *conf, const char *abs, const struct init_args *a, bool root)
{
	struct directory	*d;
	char			*e = NULL, *md;
	int			 r = 0;

	if (mkdir(conf_str(conf, CK_QUEUE_DIRECTORY), 0700) != 0 ||
	    mkdir(conf_str(conf, CK_VIRTUAL_MAILBOX_BASE), 0700) != 0)
		return cli_err(EX_CANTCREAT, "cannot create spool or vmail in %s: %s", abs, strerror(errno));
	md = xasprintf("%s/maildrop", conf_str(conf, CK_QUEUE_DIRECTORY));
	if (root && mkdir(md, 0700) != 0)
		r = cli_err(EX_CANTCREAT, "%s: %s", md, strerror(errno));
	free(md);
	if (r == 0)
		r = write_aliases(abs, a->admin);
	if (r != 0)
		return r;
	if ((d = dir_open(conf, &e)) == NULL || dir_create_schema(d, &e) < 0) {
		dir_close(&d);
		r = cli_err(EX_CANTCREAT, "database: %s", e ? e : "cannot create");
		free(e);
		return r;
	}
	dir_close(&d);
#ifdef HAVE_TLS_H
	if (tls_cert_create(conf_str(conf, CK_SMTPD_TLS_CERT_FILE), conf_str(conf, CK_SMTPD_TLS_KEY_FILE),
	    a->host, &e) < 0) {
		r = cli_err(EX_CANTCREAT, "certificate: %s", e);
		free(e);
	}
#endif
	return r;
}

/* Run by root: the mail owner gets the spool and the Maildirs, root keeps the rest (perms.c). */
static int
init_owners(const struct conf *conf, const char *abs, const char *conf_path, const struct passwd *pw,
    gid_t drop_gid)
{
	char	*e = NULL;
	int	 r;

	if (chown_tree(conf_str(conf, CK_QUEUE_DIRECTORY), pw->pw_uid, pw->pw_gid) < 0 ||
	    chown_tree(conf_str(conf, CK_VIRTUAL_MAILBOX_BASE), pw->pw_uid, pw->pw_gid) < 0)
		return cli_err(EX_OSERR, "cannot give the spool and vmail in %s to %s", abs, pw->pw_name);
	if (perms_init(conf, conf_path, pw, drop_gid, &e) < 0) {
		r = cli_err(EX_OSERR, "%s", e);
		free(e);
		return r;
	}
	return install_sendmail(abs, drop_gid) < 0 ? EX_CANTCREAT : 0;
}

/*
 * Inits running at once (a script setting up several instances, parallel
 * tests) take turns at creating the users and groups: else one sees uid
 * 5000 taken by the group another just made and makes a system user, and
 * the two instances end up with different owners.  -1 when no lock file
 * can be had (then unserialised, as before).
 */
static int
owner_lock(void)
{
	static const char *const paths[] = { "/run/lock/letterbox-init.lock",
		"/var/lock/letterbox-init.lock", "/tmp/letterbox-init.lock" };
	size_t	i;
	int	fd = -1;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && fd < 0; i++)
		fd = open(paths[i], O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Root: the mail owner and the setgid group exist, and the owner can reach DIR.  0 or exit code. */
static int
init_root_checks(const char *abs, bool made, struct passwd **pw_r, gid_t *drop_gid_r)
{
	char	*msg;
	int	 lock = owner_lock(), r;

	r = ensure_owner("vmail");
	if (r == 0)
		r = ensure_group("letterbox-drop", drop_gid_r);
	if (lock >= 0)
		close(lock);
	if (r < 0)
		return EX_OSERR;
	if ((*pw_r = getpwnam("vmail")) == NULL || (*pw_r)->pw_uid == 0 || (*pw_r)->pw_gid == 0)
		return cli_err(EX_NOUSER, "user vmail is missing or has uid/gid 0");
	if ((msg = cli_path_unreachable(abs, *pw_r)) != NULL) {
		if (made)
			rmdir(abs);
		cli_err(EX_NOPERM, "%s", msg);
		free(msg);
		return EX_NOPERM;
	}
	return 0;
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	struct init_args a;
	const char	*err;
	char		 hostbuf[256], abs[PATH_MAX];
	char		*text, *path = NULL, *e = NULL, *norm = NULL;
	struct conf	*conf = NULL;
	struct passwd	*pw = NULL;
	gid_t		 drop_gid = 0;
	bool		 made;
	int		 r;

	if ((r = init_parse_args(argc, argv, &a)) != 0)
		return r;
	if (a.host == NULL) {
		if (gethostname(hostbuf, sizeof(hostbuf)) != 0)
			str_copy(hostbuf, "localhost", sizeof(hostbuf));
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		a.host = hostbuf;
	}
	if ((err = conf_check_hostname(a.host)) != NULL || *a.host == '\0')
		return cli_err(EX_USAGE, "--hostname: %s", err ? err : "empty");
	if (a.admin != NULL && (strchr(a.admin, '@') == NULL ||
	    addr_normalize(a.admin, strlen(a.admin), true, &norm, &err) < 0))
		return cli_err(EX_USAGE, "--admin wants an address like you@example.com: %s",
		    norm == NULL && strchr(a.admin, '@') ? err : "no domain");
	a.admin = norm;
	made = mkdir(a.dir, 0755) == 0;
	if (!made && errno != EEXIST)
		r = cli_err(EX_CANTCREAT, "%s: %s", a.dir, strerror(errno));
	else if (realpath(a.dir, abs) == NULL)
		r = cli_err(EX_CANTCREAT, "%s: %s", a.dir, strerror(errno));
	if (r != 0)
		goto out;
	path = xasprintf("%s/letterbox.conf", abs);
	if (access(path, F_OK) == 0) {
		r = cli_err(EX_CANTCREAT, "%s already exists; not overwriting", path);
		goto out;
	}
	if (geteuid() == 0 && (r = init_root_checks(abs, made, &pw, &drop_gid)) != 0)
		goto out;
	text = init_conf_text(a.host, a.base);
	if (write_new_file(path, text, 0644) < 0) {
		r = cli_err(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		free(text);
		goto out;
	}
	free(text);
	if ((conf = conf_load(path, &e)) == NULL) {
		r = cli_err(EX_SOFTWARE, "%s", e);
		goto out;
	}
	if ((r = init_files(conf, abs, &a, pw != NULL)) != 0 ||
	    (pw != NULL && (r = init_owners(conf, abs, path, pw, drop_gid)) != 0))
		goto out;
	printf("letterbox: instance created in %s\n", abs);
	printf("  config:   %s/letterbox.conf\n", abs);
	printf("  start:    letterbox -c %s/letterbox.conf serve\n", abs);
	if (pw != NULL)
		printf("  sendmail: %s/bin/sendmail (setgid letterbox-drop; link it as /usr/sbin/sendmail)\n", abs);
	r = 0;
out:
	free(e);
	free(path);
	free(norm);
	conf_free(&conf);
	return r;
}
