/*
 * APPEND (RFC 3501 6.3.11, RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502),
 * LITERAL+/LITERAL- (RFC 7888), APPENDLIMIT (RFC 7889: the parser refuses
 * a larger literal with NO [TOOBIG]), UIDPLUS's [APPENDUID] (RFC 4315),
 * [TRYCREATE] and [OVERQUOTA] (RFC 9208, virtual_mailbox_limit).
 *
 * The parser streams each message literal (parser.h): at its "{n}" the
 * read loop asks imap_append_literal(), which checks the mailbox and the
 * quota on the worker pool before the "+" (a synchronising literal is
 * refused without the client sending it), then opens a temp file
 * (store_append_begin).  The bytes come through imap_append_data() and
 * are written on the pool in blocks.  At the end of the command line
 * cmd_append() commits every message, or none (RFC 3502 atomicity).
 * A refused non-synchronising literal is read and dropped, and the NO
 * comes at the end of the line.
 *
 * While a job runs, the job owns the struct imap_append (c->append is
 * NULL): a session freed meanwhile leaves the job to clean up alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/date.h"
#include "imap/names.h"
#include "imap/notify.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

/* Pending bytes written to the temp file in blocks of this size. */
#define APPEND_BLOCK	(256 * 1024)
/* Messages of one MULTIAPPEND (each an open temp file). */
#define APPEND_MAX_MSGS	1000

enum append_op { A_BEGIN, A_WRITE, A_COMMIT };

struct append_msg {
	struct store_append	*sa;
	uint32_t		 flags, keywords, uid;
	int64_t			 idate;
	bool			 binary;	/* sent as literal8 (RFC 3516 4.4) */
};

struct imap_append {
	char			*tag;		/* the APPEND's tag (early replies) */
	char			*name;		/* target mailbox, store form */
	char			*login, *base, *root;
	uint64_t		 limit;		/* virtual_mailbox_limit, 0 = none */
	struct store_mailbox	*mb;		/* the target, our own handle */
	struct append_msg	*msgs;
	size_t			 n, cap;
	uint64_t		 declared;	/* bytes of all literals so far (quota) */
	uint64_t		 next_size;	/* the literal to begin */
	bool			 next_raw;	/* it is a literal8 (~{n}): stored raw */
	struct buf		 pending;	/* data not yet in the temp file */
	int			 err;		/* refused: errno, IMAP_E*; data dropped */
	bool			 sync;		/* the literal being checked is synchronising */
	bool			 begun;		/* the current literal has its temp file */
	uint32_t		 uidvalidity;
};

struct append_job {
	struct session_job	 sj;
	enum append_op		 op;
	struct imap_append	*a;
};

static void
append_free(struct imap_append **ap)
{
	struct imap_append	*a = *ap;
	size_t			 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		store_append_abort(&a->msgs[i].sa);
	free(a->msgs);
	store_close(&a->mb);
	buf_clear(&a->pending);
	free(a->tag);
	free(a->name);
	free(a->login);
	free(a->base);
	free(a->root);
	free(a);
	*ap = NULL;
}

void
imap_append_abort(struct imap_client *c)
{
	append_free(&c->append);
}

/* ---- on a worker ---- */

static int
begin_msg(struct imap_append *a)
{
	int r;

	if (a->root == NULL && (r = imap_find_root(a->login, a->base, &a->root)) != 0)
		return r;
	if (a->mb == NULL) {
		/* A new user's INBOX may not exist on disk yet.  The new
		 * messages are \Recent for the session that selects the
		 * folder next (RFC 3501 2.3.2), so this handle never claims. */
		if ((a->mb = store_open(a->root, a->name, STORE_O_NO_RECENT |
		    (strcmp(a->name, "INBOX") == 0 ? STORE_O_CREATE : 0))) == NULL)
			return errno;
		/* UIDVALIDITY and the keywords come with the first sync */
		if (store_sync(a->mb, NULL, NULL) < 0)
			return errno;
		a->uidvalidity = store_uidvalidity(a->mb);
		a->limit = imap_quota_limit(a->login);
	}
	a->declared += a->next_size;
	if (store_quota_check(a->root, a->limit, a->declared) < 0)
		return errno;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		a->msgs = xreallocarray(a->msgs, a->cap, sizeof(*a->msgs));
	}
	memset(&a->msgs[a->n], 0, sizeof(a->msgs[a->n]));
	if ((a->msgs[a->n].sa = store_append_begin(a->mb)) == NULL)
		return errno;
	if (a->next_raw)	/* literal8: binary content, its CRs and LFs are data */
		store_append_raw(a->msgs[a->n].sa);
	a->n++;
	return 0;
}

static int
flush(struct imap_append *a)
{
	int r = 0;

	if (a->pending.len > 0 && a->n > 0)
		r = store_append_write(a->msgs[a->n - 1].sa, a->pending.data, a->pending.len);
	buf_reset(&a->pending);
	return r < 0 ? errno : 0;
}

/* Commit every message; on a failure take back those already in (RFC 3502). */
static int
commit_all(struct imap_append *a)
{
	uint32_t	*uids = xcalloc(a->n + 1, sizeof(*uids));
	size_t		 i, done = 0;
	int		 err = 0;

	for (i = 0; i < a->n && err == 0; i++) {
		if (store_append_commit(&a->msgs[i].sa, a->msgs[i].flags, a->msgs[i].keywords,
		    a->msgs[i].idate, &a->msgs[i].uid) < 0)
			err = errno;
		else
			uids[done++] = a->msgs[i].uid;
	}
	if (err != 0 && done > 0)
		(void)store_expunge(a->mb, uids, done);
	free(uids);
	return err;
}

static void
append_work(void *arg)
{
	struct append_job	*j = arg;
	struct imap_append	*a = j->a;

	switch (j->op) {
	case A_BEGIN:
		/* the previous message's tail goes to its own file first */
		if ((a->err = flush(a)) == 0)
			a->err = begin_msg(a);
		break;
	case A_WRITE:
		a->err = flush(a);
		break;
	case A_COMMIT:
		if ((a->err = flush(a)) == 0)
			a->err = commit_all(a);
		break;
	}
}

/* ---- on the loop ---- */

static void append_done(void *arg);

static void
submit(struct imap_client *c, enum append_op op)
{
	struct append_job *j = xcalloc(1, sizeof(*j));

	j->op = op;
	j->a = c->append;
	c->append = NULL;
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, append_work, append_done, j);
}

/* The tagged NO for a refused APPEND (tag given: before the command ran). */
static void
refuse(struct imap_client *c, const char *tag, int err)
{
	const char *text;

	switch (err) {
	case IMAP_EDIRTEMP:
		text = "[UNAVAILABLE] Temporary failure, try again later.";
		break;
	case ENOENT:
	case IMAP_ENOMAILBOX:
		text = "[TRYCREATE] Mailbox doesn't exist.";
		break;
	case EDQUOT:
		text = "[OVERQUOTA] Quota exceeded.";
		break;
	case EINVAL:
		text = "[CANNOT] Invalid mailbox name.";
		break;
	case ENOSPC:
		text = "[LIMIT] Too many keywords or no space left.";
		break;
	case E2BIG:
		text = "[LIMIT] Too many messages in one APPEND.";
		break;
	default:
		log_warnx("imapd sid=%s: append: %s", c->sid, strerror(err));
		text = "[SERVERBUG] Internal error.";
		break;
	}
	if (tag != NULL)
		imap_tagged_to(c, tag, "NO", "%s", text);
	else
		imap_view_done(c, "NO", "%s", text);
}

static void
finish(struct imap_client *c, struct imap_append *a)
{
	struct seqset	 set;
	struct buf	 b;
	size_t		 i;
	char		 name[128];

	seqset_init(&set);
	buf_init(&b, 64 * 1024);
	for (i = 0; i < a->n; i++)
		seqset_append(&set, a->msgs[i].uid);
	(void)seqset_format(&set, &b);
	log_info("imapd sid=%s: append user=%s mailbox=%s uids=%s size=%llu", c->sid, c->user,
	    log_escape(name, sizeof(name), a->name, strlen(a->name)), buf_str(&b),
	    (unsigned long long)a->declared);
	imap_notify_own(c, a->name, &set);
	imap_view_done(c, "OK", "[APPENDUID %u %s] APPEND completed.", a->uidvalidity,
	    buf_str(&b));
	buf_clear(&b);
	seqset_clear(&set);
}

static void
append_done(void *arg)
{
	struct append_job	*j = arg;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_append	*a = j->a;
	enum append_op		 op = j->op;
	struct imap_client	*c;

	free(j);
	if (ss == NULL) {
		append_free(&a);
		return;
	}
	c = ss->ctx;
	switch (op) {
	case A_BEGIN:
		if (a->sync) {
			a->begun = a->err == 0;
			/* RFC 3501 7.5: "+" only for a literal we will keep */
			if (a->err != 0) {
				refuse(c, a->tag, a->err);
				imap_parser_reset(c->parser);
				append_free(&a);
				break;
			}
			imap_write(c, "+ OK\r\n", 6);
			imap_parser_continue(c->parser);
		}
		c->append = a;
		break;
	case A_WRITE:
		c->append = a;
		break;
	case A_COMMIT:
		if (a->err != 0)
			refuse(c, NULL, a->err);
		else
			finish(c, a);
		append_free(&a);
		break;
	}
	/* view_done may go asynchronous; it then resumes the session itself */
	if (op != A_COMMIT || c->cmd == NULL)
		imap_resume(c);
}

/*
 * The mailbox argument in the store's form, or NULL: the namespace's
 * prefix and separator and the wire charset undone as for every other
 * command (names.c), so APPEND "INBOX.Sent" under Courier's view lands in
 * the folder that view LISTs as INBOX.Sent.
 */
static char *
mailbox_name(struct imap_client *c, const struct imap_arg *a)
{
	const char	*s;
	size_t		 len;
	struct buf	 b;
	char		*name = NULL;

	if (!imap_arg_astring(a, &s, &len) || str_has_nul(s, len))
		return NULL;
	buf_init(&b, 4096);
	if (imap_name_from_wire(imap_ns_current(), imap_name_flags(c), s, len, &b) == 0)
		name = buf_take(&b, NULL);
	buf_clear(&b);
	return name;
}

bool
imap_append_literal(struct imap_client *c, bool sync)
{
	const struct imap_cmd		*cmd = imap_parser_command(c->parser);
	const struct imap_literal_info	*li = imap_parser_literal(c->parser);
	struct imap_append		*a = c->append;

	if (!li->stream || !str_ieq(cmd->name, cmd->name_len, "APPEND") ||
	    c->state == IMAP_S_NOT_AUTH || c->state == IMAP_S_LOGOUT)
		return false;
	if (a == NULL) {
		a = c->append = xcalloc(1, sizeof(*a));
		a->tag = xstrndup(cmd->tag, cmd->tag_len);
		buf_init(&a->pending, APPEND_BLOCK + IMAP_IN_MAX);
		a->login = xstrdup(c->user);
		a->base = xstrdup(conf_str(conf_current(), CK_VIRTUAL_MAILBOX_BASE));
		a->root = c->root != NULL ? xstrdup(c->root) : NULL;
		if ((a->name = mailbox_name(c, cmd->nargs > 0 ? &cmd->args[0] : NULL)) == NULL)
			a->err = EINVAL;
	}
	if (!sync && a->begun) {
		/* the synchronising literal checked at its "+" starts now */
		a->begun = false;
		return true;
	}
	if (a->err == 0 && a->n >= APPEND_MAX_MSGS)
		a->err = E2BIG;
	if (a->err != 0) {
		if (!sync)		/* LITERAL+: its bytes come anyway; NO at the end */
			return true;
		refuse(c, a->tag, a->err);
		imap_parser_reset(c->parser);
		imap_append_abort(c);
		return true;
	}
	a->sync = sync;
	a->next_size = li->size;
	a->next_raw = li->literal8;
	submit(c, A_BEGIN);
	return true;
}

void
imap_append_data(struct imap_client *c, const void *p, size_t n)
{
	struct imap_append *a = c->append;

	if (a->err != 0 || a->n == 0)
		return;
	if (buf_add(&a->pending, p, n) < 0) {
		a->err = ENOMEM;
		return;
	}
	if (a->pending.len >= APPEND_BLOCK)
		submit(c, A_WRITE);
}

/*
 * The message at args[*i]: a literal, or after ENABLE UTF8=ACCEPT the
 * RFC 6855 4 form UTF8 (~{n}).  Moves *i past it.
 */
static bool
message_at(const struct imap_client *c, const struct imap_cmd *cmd, size_t *i, bool *binary_r)
{
	const struct imap_arg *a = *i < cmd->nargs ? &cmd->args[*i] : NULL;

	*binary_r = false;
	if (a != NULL && a->type == IMAP_ARG_LITERAL_SIZE) {
		/* ~{n} is binary content; UTF8 (~{n}) below is text (RFC 6855 4) */
		*binary_r = a->literal8;
		*i += 1;
		return true;
	}
	if ((c->enabled & IMAP_E_UTF8) && imap_arg_is_atom(a, "UTF8") && *i + 1 < cmd->nargs &&
	    imap_arg_is_list(a + 1) && a[1].count == 1 &&
	    a[1].list[0].type == IMAP_ARG_LITERAL_SIZE) {
		*i += 2;
		return true;
	}
	return false;
}

/* Flags and date of each message from the whole command line. */
static int
parse_messages(struct imap_client *c, struct imap_append *a, const struct imap_cmd *cmd,
    const char **err_r)
{
	struct store_mailbox	*sel = c->mb;
	size_t			 i = 1, k = 0;
	const char		*s;
	size_t			 len;
	int			 zone, r = 0;

	/* imap_flags_parse creates keywords in c->mb: point it at the target */
	c->mb = a->mb;
	while (r == 0 && i < cmd->nargs) {
		if (k >= a->n) {
			*err_r = "Unexpected arguments.";
			r = -1;
			break;
		}
		if (imap_arg_is_list(&cmd->args[i]) && a->mb != NULL)
			r = imap_flags_parse(c, &cmd->args[i++], true, &a->msgs[k].flags,
			    &a->msgs[k].keywords, err_r);
		if (r == 0 && i < cmd->nargs && imap_arg_string(&cmd->args[i], &s, &len)) {
			i++;
			if (imap_parse_datetime(s, len, &a->msgs[k].idate, &zone) < 0) {
				*err_r = "Invalid date-time.";
				r = -1;
			}
		}
		if (r == 0 && !message_at(c, cmd, &i, &a->msgs[k].binary)) {
			*err_r = "Expected a message literal.";
			r = -1;
		}
		k++;
	}
	c->mb = sel;
	if (r == 0 && k != a->n) {
		*err_r = "Expected a message literal.";
		r = -1;
	}
	return r;
}

void
cmd_append(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct imap_append	*a = c->append;
	const char		*err = NULL;

	if (a == NULL) {
		imap_view_done(c, "BAD", "Expected a mailbox and a message literal.");
		return;
	}
	if (a->err != 0) {
		refuse(c, NULL, a->err);
		imap_append_abort(c);
		return;
	}
	errno = 0;
	if (parse_messages(c, a, cmd, &err) < 0) {
		imap_append_abort(c);
		/* a 27th keyword is a limit of the mailbox, not a client error */
		if (errno == ENOSPC)
			imap_view_done(c, "NO", "[LIMIT] %s", err);
		else
			imap_view_done(c, "BAD", "%s", err);
		return;
	}
	submit(c, A_COMMIT);
}
