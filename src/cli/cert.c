/*
 * `cert create [--hostname NAME]`: a new self-signed certificate and key
 * (net/tls.c) at smtpd_tls_cert_file / smtpd_tls_key_file, for NAME or
 * myhostname.  Existing files are replaced atomically; the daemon picks the
 * new pair up on SIGHUP or restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "net/tls.h"

/*
 * Give a file to uid/gid without following a symlink planted in its place.
 * Returns 0 or -1/errno.
 */
static int
chown_file(const char *path, uid_t uid, gid_t gid)
{
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	r = fchown(fd, uid, gid);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
cmd_cert(struct cli *c, int argc, char **argv)
{
	struct conf	*conf;
	struct passwd	*pw;
	const char	*host = NULL, *cert, *key;
	char		*err = NULL;
	int		 i;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage("cert");
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--hostname") == 0 && i + 1 < argc)
			host = argv[++i];
		else
			return cli_usage("cert");
	}
	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	if (host == NULL)
		host = conf_str(conf, "myhostname");
	cert = conf_str(conf, "smtpd_tls_cert_file");
	key = conf_str(conf, "smtpd_tls_key_file");
	if (tls_cert_create(cert, key, host, &err) < 0) {
		int code = cli_err(strstr(err, "host name") ? EX_USAGE : EX_CANTCREAT, "%s", err);

		free(err);
		return code;
	}
	/*
	 * Run by root, the files go to mail_owner.  serve reads the key as
	 * root before it drops privileges, so root:root 0600 would do for a
	 * cold start; but a SIGHUP reload happens after the drop, and admin
	 * verbs and test instances run as the owner, so the owner must be
	 * able to read the key.  Mode stays 0600: nobody else can.
	 */
	if (geteuid() == 0) {
		if ((pw = getpwnam(conf_str(conf, "mail_owner"))) == NULL)
			fprintf(stderr, "letterbox: warning: mail_owner %s does not exist; "
			    "%s stays owned by root\n", conf_str(conf, "mail_owner"), key);
		else if (chown_file(key, pw->pw_uid, pw->pw_gid) != 0 ||
		    chown_file(cert, pw->pw_uid, pw->pw_gid) != 0)
			return cli_err(EX_OSERR, "cannot give %s and %s to %s: %s", key, cert,
			    pw->pw_name, strerror(errno));
	}
	printf("letterbox: certificate for %s in %s, key in %s\n", host, cert, key);
	return 0;
}
