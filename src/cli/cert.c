/*
 * `cert create [--hostname NAME]`: a new self-signed certificate and key
 * (net/tls.c) at smtpd_tls_cert_file / smtpd_tls_key_file, for NAME or
 * myhostname.  Existing files are replaced atomically; the daemon picks the
 * new pair up on SIGHUP or restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "net/tls.h"

int
cmd_cert(struct cli *c, int argc, char **argv)
{
	struct conf	*conf;
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
		host = conf_str(conf, CK_MYHOSTNAME);
	cert = conf_str(conf, CK_SMTPD_TLS_CERT_FILE);
	key = conf_str(conf, CK_SMTPD_TLS_KEY_FILE);
	if (tls_cert_create(cert, key, host, &err) < 0) {
		int code = cli_err(strstr(err, "host name") ? EX_USAGE : EX_CANTCREAT, "%s", err);

		free(err);
		return code;
	}
	/*
	 * Run by root, the files stay root's (a new file replaced the old
	 * one): serve reads the key as root before it drops privileges, and
	 * the mail owner must never be able to write what root reads.
	 */
	printf("letterbox: certificate for %s in %s, key in %s\n", host, cert, key);
	return 0;
}
