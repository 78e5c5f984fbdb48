/*
 * `letterbox init DIR [--hostname NAME] [--port-base N]`: a working
 * instance in DIR: letterbox.conf, the SQLite directory with the seed
 * schema, the spool, the Maildir base, an aliases file and a self-signed
 * certificate.  Run by root it also creates the mail owner (vmail, uid/gid
 * 5000 as in the classic guide, or the next free system id) and gives the
 * instance to it.  Nothing is overwritten: an existing config is an error.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/conf_check.h"
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
		if (run_cmd(idfree ? ga : gs) < 0)
			return cli_err(-1, "cannot create group %s (groupadd failed)", owner);
	}
	{
		char *ua[] = { "useradd", "-u", id, "-g", (char *)owner, "-M", "-d", "/nonexistent",
		    "-s", "/usr/sbin/nologin", (char *)owner, NULL };
		char *us[] = { "useradd", "-r", "-g", (char *)owner, "-M", "-d", "/nonexistent",
		    "-s", "/usr/sbin/nologin", (char *)owner, NULL };
		if (run_cmd(idfree ? ua : us) < 0)
			return cli_err(-1, "cannot create user %s (useradd failed)", owner);
	}
	fprintf(stderr, "letterbox: created user and group %s\n", owner);
	return 0;
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

static int
init_parse_args(int argc, char **argv, const char **dir, const char **host, long *base)
{
	int		 i;
	uint64_t	 v;

	*dir = NULL;
	*host = NULL;
	*base = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hostname") == 0 && i + 1 < argc)
			*host = argv[++i];
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

int
cmd_init(struct cli *c, int argc, char **argv)
{
	const char	*dir, *host, *err;
	long		 base;
	char		 hostbuf[256], abs[PATH_MAX];
	char		*text, *path, *e = NULL;
	struct conf	*conf;
	struct directory *d;
	struct passwd	*pw = NULL;
	int		 r;

	if ((r = init_parse_args(argc, argv, &dir, &host, &base)) != 0)
		return r;
	if (host == NULL) {
		if (gethostname(hostbuf, sizeof(hostbuf)) != 0)
			str_copy(hostbuf, "localhost", sizeof(hostbuf));
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = hostbuf;
	}
	if ((err = conf_check_hostname(host)) != NULL || *host == '\0')
		return cli_err(EX_USAGE, "--hostname: %s", err ? err : "empty");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return cli_err(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
	if (realpath(dir, abs) == NULL)
		return cli_err(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
	path = xasprintf("%s/letterbox.conf", abs);
	if (access(path, F_OK) == 0) {
		cli_err(EX_CANTCREAT, "%s already exists; not overwriting", path);
		free(path);
		return EX_CANTCREAT;
	}
	if (geteuid() == 0) {
		if (ensure_owner("vmail") < 0) {
			free(path);
			return EX_OSERR;
		}
		pw = getpwnam("vmail");
	}
	text = init_conf_text(host, base);
	if (write_new_file(path, text, 0644) < 0) {
		r = cli_err(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		free(text);
		free(path);
		return r;
	}
	free(text);
	if ((conf = conf_load(path, &e)) == NULL) {
		r = cli_err(EX_SOFTWARE, "%s", e);
		goto out;
	}
	free(path);
	path = NULL;

	if (mkdir(conf_str(conf, "queue_directory"), 0700) != 0 ||
	    mkdir(conf_str(conf, "virtual_mailbox_base"), 0700) != 0) {
		r = cli_err(EX_CANTCREAT, "cannot create spool or vmail in %s: %s", abs, strerror(errno));
		goto out;
	}
	path = xasprintf("%s/aliases", abs);
	if (write_new_file(path, "# Aliases for the host's own names (mydestination), /etc/aliases format.\n"
	    "# Re-read when it changes; no newaliases step.\n"
	    "postmaster: root\n"
	    "# root: you@example.com\n", 0644) < 0) {
		r = cli_err(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((d = dir_open(conf, &e)) == NULL || dir_create_schema(d, &e) < 0) {
		dir_close(&d);
		r = cli_err(EX_CANTCREAT, "database: %s", e ? e : "cannot create");
		goto out;
	}
	dir_close(&d);
#ifdef HAVE_TLS_H
	if (tls_cert_create(conf_str(conf, "smtpd_tls_cert_file"), conf_str(conf, "smtpd_tls_key_file"),
	    host, &e) < 0) {
		r = cli_err(EX_CANTCREAT, "certificate: %s", e);
		goto out;
	}
#endif
	if (pw != NULL && chown_tree(abs, pw->pw_uid, pw->pw_gid) < 0) {
		r = cli_err(EX_OSERR, "cannot give %s to %s", abs, pw->pw_name);
		goto out;
	}
	printf("letterbox: instance created in %s\n", abs);
	printf("  config:   %s/letterbox.conf\n", abs);
	printf("  start:    letterbox -c %s/letterbox.conf serve\n", abs);
	r = 0;
out:
	free(e);
	free(path);
	conf_free(&conf);
	return r;
}
