/* Validators for config values (conf_keys.c); each returns NULL or an error text. */
#ifndef LB_CONF_CHECK_H
#define LB_CONF_CHECK_H

const char	*conf_check_hostname(const char *v);
const char	*conf_check_networks(const char *v);
const char	*conf_check_database(const char *v);
const char	*conf_check_logdest(const char *v);
const char	*conf_check_listen(const char *v);
const char	*conf_check_restrictions(const char *v);

#endif
