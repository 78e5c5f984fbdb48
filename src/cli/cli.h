/*
 * The admin CLI: one function per verb, a shared context and helpers for
 * loading the config, acting as the mail owner and reporting errors as one
 * line starting with "letterbox: " with a sysexits(3) code.
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stdbool.h>
#include <sysexits.h>

struct conf;

struct cli {
	const char	*conf_path;	/* -c, $LETTERBOX_CONF, or NULL */
	struct conf	*conf;		/* loaded by cli_conf() */
	bool		 debug;
};

struct cli_verb {
	const char	*name;
	int		(*fn)(struct cli *c, int argc, char **argv);	/* argv[0] = verb */
	const char	*usage;
};

extern const struct cli_verb cli_verbs[];

/* Print "letterbox: MSG" on stderr; returns code (for `return cli_err(EX_USAGE, ...)`). */
int	 cli_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int	 cli_usage(const char *verb);	/* usage line(s) for verb, EX_USAGE */

/*
 * Load the config (once).  On failure prints the error and returns NULL;
 * the caller returns EX_CONFIG.
 */
struct conf *cli_conf(struct cli *c);

/*
 * Run as the mail owner: when root, switch group and user to mail_owner
 * (which must exist); otherwise do nothing.  0 or -1 (error printed).
 */
int	 cli_become_owner(const struct conf *conf);

/* Read one line (the password) from stdin into buf; strips CR/LF.  0 or -1. */
int	 cli_read_secret(char *buf, size_t sz);

/* Verbs */
int	 cmd_init(struct cli *c, int argc, char **argv);
int	 cmd_config(struct cli *c, int argc, char **argv);
int	 cmd_serve(struct cli *c, int argc, char **argv);
int	 cmd_sendmail(struct cli *c, int argc, char **argv);
int	 cmd_queue(struct cli *c, int argc, char **argv);
int	 cmd_domain(struct cli *c, int argc, char **argv);	/* admin.c */
int	 cmd_user(struct cli *c, int argc, char **argv);
int	 cmd_forward(struct cli *c, int argc, char **argv);
int	 cmd_transport(struct cli *c, int argc, char **argv);
int	 cmd_cert(struct cli *c, int argc, char **argv);
int	 cmd_import_postfix(struct cli *c, int argc, char **argv);	/* import_postfix.c */

#endif
