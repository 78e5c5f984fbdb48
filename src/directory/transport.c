/*
 * The syntax of a transport table value (dir_transport_normalize, see
 * directory.h): what `transport set` accepts and stores, in Postfix's
 * syntax.  Pure: no database, no I/O; mta/route.c reads the stored form.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* ---------------------------------------------------------------- transports */

/* Text of error:/discard: — printable, no control characters (it ends up in a reply). */
static bool
transport_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* smtp:/relay: next hop: "", host, host:port, [host], [host]:port.  Appends to out. */
static int
transport_nexthop(const char *s, struct buf *out, const char **err_r)
{
	const char	*hostp, *end, *colon;
	char		*host, *norm;
	unsigned char	 a[sizeof(struct in6_addr)];
	uint64_t	 port;
	bool		 bracket = s[0] == '[';
	int		 rc = 0;

	if (*s == '\0')
		return 0;	/* the recipient domain's MX */
	if (bracket) {
		hostp = s + 1;
		if ((end = strchr(hostp, ']')) == NULL) {
			*err_r = "missing ']'";
			return -1;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			*err_r = "junk after ']'";
			return -1;
		}
	} else {
		hostp = s;
		colon = strchr(s, ':');
		end = colon != NULL ? colon : s + strlen(s);
	}
	if (colon != NULL && (parse_u64(colon + 1, strlen(colon + 1), 65535, &port) < 0 ||
	    port == 0)) {
		*err_r = "bad port (want 1-65535)";
		return -1;
	}
	host = xstrndup(hostp, (size_t)(end - hostp));
	if (bracket && (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)) {
		rc = buf_adds(out, "[") < 0 || buf_adds(out, host) < 0 || buf_adds(out, "]") < 0 ?
		    -1 : 0;
	} else if (domain_normalize(host, &norm, err_r) < 0) {
		rc = -1;
	} else {
		rc = (bracket && buf_adds(out, "[") < 0) || buf_adds(out, norm) < 0 ||
		    (bracket && buf_adds(out, "]") < 0) ? -1 : 0;
		free(norm);
	}
	free(host);
	if (rc == 0 && colon != NULL && buf_addf(out, ":%llu", (unsigned long long)port) < 0)
		rc = -1;
	if (rc < 0 && *err_r == NULL)
		*err_r = "too long";
	return rc;
}

int
dir_transport_normalize(const char *t, char **norm_r, const char **err_r)
{
	static const struct { const char *name; enum { T_HOP, T_NONE, T_TEXT } arg; } names[] = {
		{ "smtp", T_HOP }, { "relay", T_HOP }, { "virtual", T_NONE }, { "local", T_NONE },
		{ "error", T_TEXT }, { "discard", T_TEXT },
	};
	const char	*colon = strchr(t, ':'), *rest;
	struct buf	 out;
	size_t		 i, nlen;

	*err_r = NULL;
	if (colon == NULL) {
		*err_r = "want NAME:NEXTHOP (smtp:[host]:port, smtp:host, relay:..., virtual:,"
		    " local:, error:text, discard:)";
		return -1;
	}
	nlen = (size_t)(colon - t);
	rest = colon + 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(t, nlen, names[i].name))
			break;
	if (i == sizeof(names) / sizeof(names[0])) {
		*err_r = "unsupported transport (want smtp:, relay:, virtual:, local:, error:, discard:)";
		return -1;
	}
	buf_init(&out, 512);
	if (buf_adds(&out, names[i].name) < 0 || buf_addc(&out, ':') < 0)
		goto toolong;
	switch (names[i].arg) {
	case T_NONE:
		if (*rest != '\0') {
			*err_r = "this transport takes no next hop";
			goto fail;
		}
		break;
	case T_TEXT:
		if (!transport_text_ok(rest)) {
			*err_r = "control characters in the text";
			goto fail;
		}
		if (buf_adds(&out, rest) < 0)
			goto toolong;
		break;
	case T_HOP:
		if (transport_nexthop(rest, &out, err_r) < 0)
			goto fail;
		break;
	}
	*norm_r = buf_take(&out, NULL);
	return 0;
toolong:
	*err_r = "too long";
fail:
	buf_clear(&out);
	return -1;
}
