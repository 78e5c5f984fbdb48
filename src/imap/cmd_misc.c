/*
 * Small extensions: ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342,
 * part of IMAP4rev2).
 */
#include <stdio.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/names.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "net/session.h"

/* RFC 2971 §3.3: at most 30 pairs, field names up to 30 and values up to 1024 octets. */
#define ID_PAIRS_MAX	30
#define ID_FIELD_MAX	30
#define ID_VALUE_MAX	1024

/* Keep "name/version" of the client for the log line. */
static void
id_note(struct imap_client *c, const char *field, size_t flen, const char *val, size_t vlen)
{
	size_t	have = strlen(c->client_id), i;
	char	*p;

	if (!str_ieq(field, flen, "name") && !str_ieq(field, flen, "version"))
		return;
	if (have + vlen + 2 >= sizeof(c->client_id))
		return;
	p = c->client_id + have;
	if (have > 0)
		*p++ = '/';
	for (i = 0; i < vlen; i++)
		*p++ = val[i] > ' ' && val[i] < 0x7f && val[i] != '"' && val[i] != '\\' ? val[i] : '_';
	*p = '\0';
}

void
cmd_id(struct imap_client *c, const struct imap_cmd *cmd)
{
	const struct imap_arg	*l;
	const char		*f, *v;
	size_t			 flen, vlen, i;

	if (cmd->nargs != 1 || (cmd->args[0].type != IMAP_ARG_NIL && !imap_arg_is_list(&cmd->args[0]))) {
		imap_tagged(c, "BAD", "ID needs a list or NIL.");
		return;
	}
	l = &cmd->args[0];
	if (l->type == IMAP_ARG_LIST) {
		if (l->count % 2 != 0 || l->count > 2 * ID_PAIRS_MAX) {
			imap_tagged(c, "BAD", "ID needs field/value pairs.");
			return;
		}
		c->client_id[0] = '\0';
		for (i = 0; i < l->count; i += 2) {
			if (!imap_arg_string(&l->list[i], &f, &flen) || flen > ID_FIELD_MAX ||
			    !imap_arg_nstring(&l->list[i + 1], &v, &vlen) || vlen > ID_VALUE_MAX) {
				imap_tagged(c, "BAD", "Invalid ID field.");
				return;
			}
			if (v != NULL)
				id_note(c, f, flen, v, vlen);
		}
		if (c->client_id[0] != '\0')
			log_info("imapd sid=%s: id \"%s\"", c->sid, c->client_id);
	}
	imap_untagged(c, "ID (\"name\" \"letterbox\")");
	imap_tagged(c, "OK", "ID completed.");
}

/* What ENABLE knows; advertised says whether the capability is shown yet. */
static const struct {
	const char	*name;
	unsigned	 bit;
	bool		 advertised;
} enables[] = {
	{ "UTF8=ACCEPT",	IMAP_E_UTF8,	true },
	{ "IMAP4rev2",		IMAP_E_REV2,	true },
	{ "CONDSTORE",		IMAP_E_CONDSTORE, true },
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
	{ "QRESYNC",		IMAP_E_QRESYNC | IMAP_E_CONDSTORE, true },
};

void
cmd_enable(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct buf	 b;
	const char	*s;
	size_t		 len, i, j;
	bool		 condstore = imap_condstore(c);

	if (cmd->nargs == 0) {
		imap_tagged(c, "BAD", "ENABLE needs capability names.");
		return;
	}
	for (i = 0; i < cmd->nargs; i++)
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_tagged(c, "BAD", "ENABLE takes capability names.");
			return;
		}
	buf_init(&b, 1024);
	(void)buf_addf(&b, "ENABLED");
	for (i = 0; i < cmd->nargs; i++) {
		s = cmd->args[i].str;
		len = cmd->args[i].len;
		/* RFC 5161 §3.1: unknown names are ignored, each known one listed once. */
		for (j = 0; j < sizeof(enables) / sizeof(enables[0]); j++) {
			if (!enables[j].advertised || !str_ieq(s, len, enables[j].name) ||
			    (c->enabled & enables[j].bit) == enables[j].bit)
				continue;
			c->enabled |= enables[j].bit;
			(void)buf_addf(&b, " %s", enables[j].name);
		}
	}
	imap_untagged(c, "%s", buf_str(&b));
	buf_clear(&b);
	/* Turned on now with a mailbox selected: its HIGHESTMODSEQ (RFC 7162 3.1). */
	if (!condstore && imap_condstore(c)) {
		c->enabled &= ~IMAP_E_CONDSTORE;
		imap_condstore_on(c);
	}
	imap_tagged(c, "OK", "ENABLE completed.");
}

/* The personal namespace of the configured view (names.h); no shared or other users'. */
void
cmd_namespace(struct imap_client *c, const struct imap_cmd *cmd)
{
	enum imap_ns ns = imap_ns_current();

	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "NAMESPACE takes no arguments.");
		return;
	}
	imap_untagged(c, "NAMESPACE ((\"%s\" \"%c\")) NIL NIL", imap_ns_prefix(ns),
	    imap_ns_sep(ns));
	imap_tagged(c, "OK", "NAMESPACE completed.");
}
