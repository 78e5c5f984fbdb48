/* Value validators for the config table; see conf_check.h. */
#include <string.h>
#include <sys/socket.h>

#include "lib/cidr.h"
#include "lib/conf_check.h"
#include "lib/str.h"

const char *
conf_check_hostname(const char *v)
{
	size_t i, label = 0;

	if (*v == '\0')
		return NULL;	/* computed default */
	if (strlen(v) > 253)
		return "host name longer than 253 characters";
	for (i = 0; v[i]; i++) {
		char c = v[i];
		if (c == '.') {
			if (label == 0)
				return "empty label in host name";
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return "host name may hold only letters, digits, '-' and '.'";
		if (++label > 63)
			return "host name label longer than 63 characters";
	}
	return NULL;
}

const char *
conf_check_networks(const char *v)
{
	const char	*err = NULL;
	struct netlist	*nl = netlist_parse(v, &err);

	netlist_free(&nl);
	return err;
}

const char *
conf_check_database(const char *v)
{
	if (strncmp(v, "sqlite:", 7) == 0 && v[7] != '\0')
		return NULL;
	if (strncmp(v, "mysql://", 8) == 0 || strncmp(v, "postgresql://", 13) == 0 ||
	    strncmp(v, "postgres://", 11) == 0)
		return NULL;
	return "want sqlite:PATH, mysql://USER:PASS@HOST[:PORT]/DB or postgresql://USER:PASS@HOST[:PORT]/DB";
}

const char *
conf_check_logdest(const char *v)
{
	if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0 || strcmp(v, "both") == 0)
		return NULL;
	return "want stderr, syslog or both";
}

const char *
conf_check_imap_namespace(const char *v)
{
	if (strcmp(v, "modern") == 0 || strcmp(v, "courier") == 0)
		return NULL;
	return "want modern or courier";
}

const char *
conf_check_mail_fsync(const char *v)
{
	if (strcmp(v, "optimized") == 0 || strcmp(v, "always") == 0)
		return NULL;
	return "want optimized or always";
}

static int
listen_item(const char *item, size_t len, void *arg)
{
	char			 tmp[128];
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, item, len);
	tmp[len] = '\0';
	return sockaddr_parse(tmp, &ss, &sl);
}

const char *
conf_check_listen(const char *v)
{
	if (str_each_item(v, listen_item, NULL) != 0)
		return "want ADDR:PORT or [V6ADDR]:PORT, comma-separated (empty disables)";
	return NULL;
}

static int
restriction_item(const char *item, size_t len, void *arg)
{
	static const char *known[] = {
		"permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination",
		"permit", "reject", "reject_unknown_recipient_domain", "permit_auth_destination",
		NULL,
	};
	int i;

	for (i = 0; known[i] != NULL; i++)
		if (str_ieq(item, len, known[i]))
			return 0;
	return -1;
}

const char *
conf_check_restrictions(const char *v)
{
	if (str_each_item(v, restriction_item, NULL) != 0)
		return "unknown restriction (known: permit_mynetworks, permit_sasl_authenticated, "
		    "reject_unauth_destination, permit_auth_destination, "
		    "reject_unknown_recipient_domain, permit, reject)";
	return NULL;
}

int
conf_tls_min_minor(const char *v)
{
	static const char *names[] = { "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" };
	size_t i;

	if (strncmp(v, ">=", 2) == 0)
		v += 2;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0)
			return (int)i + 1;
	return -1;
}

const char *
conf_check_tls_protocols(const char *v)
{
	return conf_tls_min_minor(v) < 0 ? "want >=TLSv1, >=TLSv1.1, >=TLSv1.2 or >=TLSv1.3" : NULL;
}
