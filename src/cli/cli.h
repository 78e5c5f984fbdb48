/*
 * The admin CLI: one function per verb, a shared context and helpers for
 * loading the config, acting as the mail owner and reporting errors as one
 * line starting with "letterbox: " with a sysexits(3) code.
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include <sysexits.h>

struct passwd;

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
 * Run as the mail owner: when root, check that mail_owner can reach the
 * instance (cli_owner_unreachable), then switch group and user to it;
 * otherwise do nothing.  A mail_owner with uid or gid 0 is refused either
 * way.  0 or -1 (error printed).
 */
int	 cli_become_owner(const struct conf *conf);

/*
 * mail_owner's account, or NULL with *err_r allocated: it does not exist,
 * or its uid or gid is 0 (a mail owner must never be root, as in Postfix).
 * The result is getpwnam()'s static storage.
 */
struct passwd *cli_owner_lookup(const struct conf *conf, char **err_r);

/*
 * NULL when pw can reach every directory the instance uses (the config's
 * directory, queue_directory, virtual_mailbox_base, an SQLite database's
 * directory); else one allocated line naming the blocking directory and
 * the remedy.
 */
char	*cli_owner_unreachable(const struct conf *conf, const struct passwd *pw);

/* One line naming the directory that keeps pw from dir, or NULL (allocated). */
char	*cli_path_unreachable(const char *dir, const struct passwd *pw);

/*
 * Become pw for good: groups, gid, uid, then PR_SET_NO_NEW_PRIVS so that
 * nothing run later can gain privileges back.  0 or -1/errno.
 */
int	 cli_drop_to(const struct passwd *pw);

/*
 * Setgid operation (the instance's bin/sendmail, group setgid_group):
 * main() calls cli_priv_init() first; it lowers the effective gid to the
 * real one and returns true when the binary runs setgid.  enter/leave
 * raise and lower it around single system calls on the maildrop; drop
 * gives it up for good.  All are no-ops without the setgid bit.
 */
bool	 cli_priv_init(void);
void	 cli_priv_enter(void);
void	 cli_priv_leave(void);
void	 cli_priv_drop(void);

/* Read one line (the password) from stdin into buf; strips CR/LF.  0 or -1. */
int	 cli_read_secret(char *buf, size_t sz);

/*
 * Ownership and modes of an instance that root runs (perms.c): the config,
 * aliases and TLS key root's and not writable by the mail owner pw; the
 * database (0600), spool and Maildirs the owner's; QDIR/maildrop
 * owner:drop_gid 1730.  perms_init: set them (init).  0 or -1 (*err_r).
 * perms_fix: repair an older instance at `serve` start, logging each change.
 */
int	 perms_init(const struct conf *c, const char *conf_path, const struct passwd *pw,
	    gid_t drop_gid, char **err_r);
void	 perms_fix(const struct conf *c, const char *conf_path, const struct passwd *pw);

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
