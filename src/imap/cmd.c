/*
 * The command table and dispatch (RFC 3501 §6, RFC 9051 §6): name, the
 * states a command is allowed in, flags for the mailbox-view rules
 * (client.h IMAP_CF_*), handler.  Dispatch checks the state, copies the
 * tag (an asynchronous command outlives the parse) and runs the handler;
 * imap_tagged() ends the command.  The capability list lives here too, so
 * that what is advertised and what the table holds change together.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/notify.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"

#define ANY		(IMAP_ST(IMAP_S_NOT_AUTH) | IMAP_ST(IMAP_S_AUTH) | IMAP_ST(IMAP_S_SELECTED))
#define NOT_AUTH	IMAP_ST(IMAP_S_NOT_AUTH)
#define AUTHED		(IMAP_ST(IMAP_S_AUTH) | IMAP_ST(IMAP_S_SELECTED))
#define SELECTED	IMAP_ST(IMAP_S_SELECTED)

static const struct imap_command commands[] = {
	/* any state (RFC 3501 §6.1) */
	{ "CAPABILITY",		ANY,		0,	cmd_capability },
	{ "NOOP",		ANY,		0,	cmd_noop },
	{ "LOGOUT",		ANY,		0,	cmd_logout },
	{ "ID",			ANY,		0,	cmd_id },
	/* not authenticated (§6.2) */
	{ "STARTTLS",		NOT_AUTH,	0,	cmd_starttls },
	{ "LOGIN",		NOT_AUTH,	0,	cmd_login },
	{ "AUTHENTICATE",	NOT_AUTH,	0,	cmd_authenticate },
	/* authenticated (§6.3) */
	{ "UNAUTHENTICATE",	AUTHED,		0,	cmd_unauthenticate },	/* RFC 8437 */
	{ "ENABLE",		AUTHED,		0,	cmd_enable },
	{ "NAMESPACE",		AUTHED,		0,	cmd_namespace },
	{ "SELECT",		AUTHED,		0,	cmd_select },
	{ "EXAMINE",		AUTHED,		0,	cmd_select },
	{ "CREATE",		AUTHED,		0,	cmd_create },
	{ "DELETE",		AUTHED,		0,	cmd_delete },
	{ "RENAME",		AUTHED,		0,	cmd_rename },
	{ "SUBSCRIBE",		AUTHED,		0,	cmd_subscribe },
	{ "UNSUBSCRIBE",	AUTHED,		0,	cmd_subscribe },
	{ "LIST",		AUTHED,		0,	cmd_list },
	{ "LSUB",		AUTHED,		0,	cmd_list },
	{ "STATUS",		AUTHED,		0,	cmd_status },
	{ "APPEND",		AUTHED,		0,	cmd_append },
	{ "COMPRESS",		AUTHED,		0,	cmd_compress },
	{ "GETQUOTAROOT",	AUTHED,		0,	cmd_getquotaroot },
	{ "GETQUOTA",		AUTHED,		0,	cmd_getquota },
	{ "SETQUOTA",		AUTHED,		0,	cmd_setquota },
	/* selected (§6.4) */
	{ "UNSELECT",		SELECTED,	0,	cmd_unselect },
	{ "UID",		SELECTED,	0,	cmd_uid },
	{ "STORE",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_store },
	{ "COPY",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_copy },
	{ "MOVE",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_BREAKS_SEQS | IMAP_CF_UID,
				    cmd_copy },
	{ "EXPUNGE",		SELECTED,	IMAP_CF_BREAKS_SEQS | IMAP_CF_UID, cmd_expunge },
	{ "CLOSE",		SELECTED,	0,	cmd_close },
	{ "CHECK",		SELECTED,	0,	cmd_check },
	{ "IDLE",		AUTHED,		0,	cmd_idle },
	{ "NOTIFY",		AUTHED,		0,	cmd_notify },
	{ "FETCH",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_fetch },
	{ "SEARCH",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_search },
	{ "SORT",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_sort },
	{ "THREAD",		SELECTED,	IMAP_CF_USES_SEQS | IMAP_CF_UID, cmd_thread },
};

/* Capabilities beyond IMAP4rev1, with the states they are shown in. */
static const struct {
	const char	*name;
	unsigned	 states;
} capas[] = {
	{ "SASL-IR",		NOT_AUTH },
	{ "LITERAL+",		ANY },
	{ "ID",			ANY },
	{ "ENABLE",		ANY },
	{ "NAMESPACE",		ANY },
	{ "UTF8=ACCEPT",	AUTHED },
	{ "CHILDREN",		ANY },
	{ "UNSELECT",		ANY },
	{ "UIDPLUS",		AUTHED },
	{ "MOVE",		AUTHED },
	{ "IDLE",		AUTHED },
	{ "NOTIFY",		AUTHED },	/* RFC 5465 (notify.c) */
	{ "BINARY",		AUTHED },	/* RFC 3516: FETCH BINARY; APPEND takes ~{n} */
	{ "ESEARCH",		AUTHED },
	{ "SEARCHRES",		AUTHED },
	{ "SORT",		AUTHED },	/* RFC 5256 */
	{ "SORT=DISPLAY",	AUTHED },	/* RFC 5957 */
	{ "ESORT",		AUTHED },	/* RFC 5267: SORT RETURN (...) */
	{ "THREAD=ORDEREDSUBJECT", AUTHED },
	{ "THREAD=REFERENCES",	AUTHED },
	{ "WITHIN",		AUTHED },	/* RFC 5032: OLDER / YOUNGER */
	{ "MULTIAPPEND",	AUTHED },
	{ "IMAP4rev2",		ANY },
	{ "LIST-EXTENDED",	AUTHED },
	{ "LIST-STATUS",	AUTHED },
	{ "SPECIAL-USE",	AUTHED },
	{ "STATUS=SIZE",	AUTHED },
	{ "CONDSTORE",		AUTHED },	/* RFC 7162 3.1 */
	{ "QRESYNC",		AUTHED },	/* RFC 7162 3.2 */
	{ "COMPRESS=DEFLATE",	AUTHED },	/* RFC 4978 */
	{ "UNAUTHENTICATE",	AUTHED },	/* RFC 8437 */
	{ "QUOTA",		AUTHED },	/* RFC 9208: one root "", STORAGE only */
	{ "QUOTA=RES-STORAGE",	AUTHED },
	{ "CREATE-SPECIAL-USE",	AUTHED },	/* RFC 6154 §5.2: CREATE ... (USE (...)) */
	{ "OBJECTID",		AUTHED },	/* RFC 8474: MAILBOXID, EMAILID, THREADID */
	{ "SAVEDATE",		AUTHED },	/* RFC 8514: the time in the file name */
	{ "PREVIEW",		AUTHED },	/* RFC 8970: cached with the structure */
};

const struct imap_command *
imap_command_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (str_ieq(name, len, commands[i].name))
			return &commands[i];
	return NULL;
}

void
imap_capability_list(enum imap_state st, bool tls_offer, bool plaintext_ok, struct buf *out)
{
	size_t i;

	(void)buf_addf(out, "IMAP4rev1");
	for (i = 0; i < sizeof(capas) / sizeof(capas[0]); i++)
		if (capas[i].states & IMAP_ST(st))
			(void)buf_addf(out, " %s", capas[i].name);
	if (st != IMAP_S_NOT_AUTH)
		return;
	if (tls_offer)
		(void)buf_addf(out, " STARTTLS");
	/* RFC 3501 §6.2.3: LOGINDISABLED where plaintext logins are refused. */
	if (plaintext_ok)
		(void)buf_addf(out, " AUTH=PLAIN AUTH=LOGIN");
	else
		(void)buf_addf(out, " LOGINDISABLED");
}

void
imap_capabilities(const struct imap_client *c, struct buf *out)
{
	imap_capability_list(c->state, imap_tls_available(c), imap_plaintext_ok(c), out);
	/* RFC 7889: the largest APPEND the parser lets through (from the config) */
	if (c->state != IMAP_S_NOT_AUTH)
		(void)buf_addf(out, " APPENDLIMIT=%lld",
		    (long long)conf_int(conf_current(), CK_MESSAGE_SIZE_LIMIT));
}

/* ---- replies ------------------------------------------------------- */

void
imap_write(struct imap_client *c, const void *p, size_t n)
{
	session_write(c->ss, p, n);
}

void
imap_untagged(struct imap_client *c, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	buf_init(&b, IMAP_REPLY_MAX);
	(void)buf_addf(&b, "* ");
	va_start(ap, fmt);
	(void)buf_vaddf(&b, fmt, ap);
	va_end(ap);
	(void)buf_addf(&b, "\r\n");
	imap_write(c, b.data, b.len);
	buf_clear(&b);
}

static void
vtagged(struct imap_client *c, const char *tag, const char *status, const char *fmt,
    va_list ap)
{
	struct buf b;

	buf_init(&b, IMAP_REPLY_MAX);
	(void)buf_addf(&b, "%s %s ", tag, status);
	(void)buf_vaddf(&b, fmt, ap);
	(void)buf_addf(&b, "\r\n");
	imap_write(c, b.data, b.len);
	buf_clear(&b);
	/* A client that keeps sending garbage is closed; any good command forgives. */
	if (strcmp(status, "BAD") != 0)
		c->bad = 0;
	else if (++c->bad >= IMAP_BAD_LIMIT && !session_closing(c->ss)) {
		imap_untagged(c, "BYE Too many invalid commands.");
		imap_log_end(c, "too-many-errors");
		imap_close(c);
	}
}

void
imap_tagged_to(struct imap_client *c, const char *tag, const char *status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vtagged(c, tag, status, fmt, ap);
	va_end(ap);
}

void
imap_tagged(struct imap_client *c, const char *status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vtagged(c, c->tag != NULL ? c->tag : "*", status, fmt, ap);
	va_end(ap);
	c->cmd = NULL;
	xfree(&c->tag);
	/* Between commands: pending NOTIFY pushes may go out. */
	imap_notify_idle_point(c);
}

/* ---- dispatch ------------------------------------------------------ */

bool
imap_command_allowed(struct imap_client *c, const struct imap_command *def)
{
	if (!(def->states & IMAP_ST(c->state))) {
		imap_tagged(c, "BAD", "%s", c->state == IMAP_S_NOT_AUTH ?
		    "Command not allowed before login." : c->state == IMAP_S_AUTH &&
		    (def->states & IMAP_ST(IMAP_S_SELECTED)) ? "No mailbox selected." :
		    "Command not allowed in this state.");
		return false;
	}
	/*
	 * IMAP_CF_USES_SEQS / IMAP_CF_NO_PENDING: commands run one at a time
	 * and the view syncs whole at a command's end (view.c), so no EXPUNGE
	 * is ever pending between commands: nothing to hold back here.  The
	 * flags decide at the end whether the sync may run (imap_view_done).
	 */
	return true;
}

/*
 * UID FETCH, UID STORE... (RFC 3501 6.4.8): the sub-command's handler
 * runs with cmd as it is (name "UID", args[0] the sub-command's name) and
 * tells the forms apart by the name.  c->cmd stays the UID row: a UID
 * command does not use sequence numbers, so EXPUNGE may be sent.
 */
void
cmd_uid(struct imap_client *c, const struct imap_cmd *cmd)
{
	const struct imap_command *sub = NULL;

	if (cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_ATOM)
		sub = imap_command_find(cmd->args[0].str, cmd->args[0].len);
	if (sub == NULL || !(sub->flags & IMAP_CF_UID)) {
		imap_tagged(c, "BAD", "Unknown UID command.");
		return;
	}
	sub->fn(c, cmd);
}

void
imap_dispatch(struct imap_client *c, const struct imap_cmd *cmd)
{
	const struct imap_command *def = imap_command_find(cmd->name, cmd->name_len);

	free(c->tag);
	c->tag = xstrndup(cmd->tag, cmd->tag_len);
	if (def == NULL) {
		log_debug("imapd sid=%s: unknown command %.*s", c->sid,
		    (int)(cmd->name_len > 32 ? 32 : cmd->name_len), cmd->name);
		imap_tagged(c, "BAD", "Unknown command.");
		return;
	}
	c->cmd = def;
	c->cmd_uid = def->fn == cmd_uid;
	if (!imap_command_allowed(c, def))
		return;
	def->fn(c, cmd);
}
