/* Validators for config values (conf_keys.c); each returns NULL or an error text. */
#ifndef LB_CONF_CHECK_H
#define LB_CONF_CHECK_H

const char	*conf_check_hostname(const char *v);
const char	*conf_check_networks(const char *v);
const char	*conf_check_database(const char *v);
const char	*conf_check_logdest(const char *v);
const char	*conf_check_imap_namespace(const char *v);
const char	*conf_check_mail_fsync(const char *v);
const char	*conf_check_listen(const char *v);
const char	*conf_check_restrictions(const char *v);
const char	*conf_check_tls_protocols(const char *v);

/* ">=TLSv1.2" (or "TLSv1.2") as 0x0302 style minor: 1 (1.0), 2 (1.1), 3 (1.2), 4 (1.3); -1 if bad. */
int		 conf_tls_min_minor(const char *v);

#endif
