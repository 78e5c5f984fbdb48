/*
 * The selected mailbox as this client knows it: see view.h.  The sync
 * runs on the worker pool with the store handle lent to the job; the
 * store's callbacks only collect (sequence numbers of expunges, indexes of
 * messages whose flags others changed), and the untagged responses are
 * written on the loop from the handle once it is back.  Sequence sets are
 * resolved here and flags are written and parsed here, so that FETCH,
 * STORE, SEARCH, COPY and the untagged updates agree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/arg.h"
#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/notify.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct imap_view {
	uint32_t	 uidvalidity;	/* as selected: a change ends the session */
	uint32_t	 recent;	/* RECENT last reported */
	bool		 modseq_code;	/* the next reply tells HIGHESTMODSEQ (QRESYNC) */
	uint32_t	 kw_told;	/* keywords (bit i = keyword i) the last FLAGS listed */
};

/* ---- lending the handle to a pool job ------------------------------ */

struct view_job {
	struct session_job	 sj;
	struct store_mailbox	*mb;		/* lent by the session, or ours once it ended */
	void			(*work)(struct store_mailbox *, void *);
	void			(*done)(struct imap_client *, void *);
	void			(*free_arg)(void *);
	void			*arg;
};

static void
view_job_work(void *p)
{
	struct view_job *j = p;

	j->work(j->mb, j->arg);
}

static void
view_job_done(void *p)
{
	struct view_job		*j = p;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_client	*c;

	if (ss == NULL) {
		store_close(&j->mb);
		j->free_arg(j->arg);
		free(j);
		return;
	}
	c = ss->ctx;
	c->mb = j->mb;
	j->done(c, j->arg);
	free(j);
}

void
imap_view_run(struct imap_client *c, void (*work)(struct store_mailbox *, void *),
    void (*done)(struct imap_client *, void *), void (*free_arg)(void *), void *arg)
{
	struct view_job *j = xcalloc(1, sizeof(*j));

	j->mb = c->mb;
	c->mb = NULL;
	j->work = work;
	j->done = done;
	j->free_arg = free_arg;
	j->arg = arg;
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, view_job_work, view_job_done, j);
}

/* ---- the sync ------------------------------------------------------ */

struct view_sync {
	/* the command's tagged reply (NULL: IDLE's sync, then done) */
	char		*status, *text;
	void		(*done)(struct imap_client *);

	/* from the worker */
	int		 err;
	size_t		 before;	/* messages in the view before the sync */
	uint32_t	*exp;		/* "* N EXPUNGE" numbers, in order */
	size_t		 nexp, capexp;
	struct seqset	 vanished;	/* their UIDs (QRESYNC: "* VANISHED") */
	size_t		*chg;		/* indexes whose flags others changed */
	size_t		 nchg, capchg;
};

static void
sync_free(void *p)
{
	struct view_sync *s = p;

	free(s->status);
	free(s->text);
	free(s->exp);
	free(s->chg);
	seqset_clear(&s->vanished);
	free(s);
}

static void
on_expunged(void *arg, size_t idx, uint32_t uid)
{
	struct view_sync *s = arg;

	if (s->nexp == s->capexp) {
		s->capexp = s->capexp ? s->capexp * 2 : 16;
		s->exp = xreallocarray(s->exp, s->capexp, sizeof(*s->exp));
	}
	s->exp[s->nexp++] = (uint32_t)idx + 1;
	seqset_append(&s->vanished, uid);
}

static void
on_changed(void *arg, size_t idx)
{
	struct view_sync *s = arg;

	if (s->nchg == s->capchg) {
		s->capchg = s->capchg ? s->capchg * 2 : 16;
		s->chg = xreallocarray(s->chg, s->capchg, sizeof(*s->chg));
	}
	s->chg[s->nchg++] = idx;
}

static void
sync_work(struct store_mailbox *mb, void *arg)
{
	static const struct store_sync_cb cb = { on_expunged, on_changed };
	struct view_sync *s = arg;

	s->before = store_count(mb);
	s->err = store_sync(mb, &cb, s) < 0 ? errno : 0;
}

static uint32_t
count_recent(const struct store_mailbox *mb)
{
	size_t		 i, n = store_count(mb);
	uint32_t	 r = 0;

	for (i = 0; i < n; i++)
		if (store_msg_recent(mb, i))
			r++;
	return r;
}

/* The keywords the folder defines, as a mask (bit i = keyword i). */
static uint32_t
kw_defined(const struct store_mailbox *mb)
{
	uint32_t	 m = 0;
	unsigned	 i;

	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		if (store_keyword_name(mb, i) != NULL)
			m |= 1u << i;
	return m;
}

void
imap_view_flag_lists(struct imap_client *c, const struct store_mailbox *mb, bool ro)
{
	static const char sys[] = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
	struct buf	 kw;
	uint32_t	 m = kw_defined(mb);
	unsigned	 i;

	buf_init(&kw, 64 * 1024);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		if (m & (1u << i))
			(void)buf_addf(&kw, " %s", store_keyword_name(mb, i));
	imap_untagged(c, "FLAGS (%s%s)", sys, buf_str(&kw));
	if (ro)
		imap_untagged(c, "OK [PERMANENTFLAGS ()] Read-only mailbox.");
	else
		imap_untagged(c, "OK [PERMANENTFLAGS (%s%s \\*)] Flags permitted.", sys,
		    buf_str(&kw));
	buf_clear(&kw);
	if (c->view != NULL)
		c->view->kw_told = m;
}

void
imap_view_tell_keywords(struct imap_client *c)
{
	if (c->view != NULL && kw_defined(c->mb) & ~c->view->kw_told)
		imap_view_flag_lists(c, c->mb, c->mb_readonly);
}

/*
 * RFC 7162 3.1: once CONDSTORE is on, every FETCH a flag change causes
 * carries UID and MODSEQ.  flags false: just those (STORE .SILENT).
 */
static void
write_fetch(struct imap_client *c, size_t idx, bool uid, bool flags)
{
	bool			 cs = (c->enabled & IMAP_E_CONDSTORE) != 0;
	struct buf		 b;

	buf_init(&b, 64 * 1024);
	(void)buf_addf(&b, "* %zu FETCH (", idx + 1);
	if (uid || cs)
		(void)buf_addf(&b, "UID %u%s", store_msg_uid(c->mb, idx), flags || cs ? " " : "");
	if (flags) {
		(void)buf_addf(&b, "FLAGS (");
		imap_view_flags(c, idx, &b);
		(void)buf_addf(&b, ")%s", cs ? " " : "");
	}
	if (cs)
		(void)buf_addf(&b, "MODSEQ (%llu)",
		    (unsigned long long)store_msg_modseq(c->mb, idx));
	(void)buf_addf(&b, ")\r\n");
	imap_write(c, b.data, b.len);
	buf_clear(&b);
}

void
imap_view_write_flags(struct imap_client *c, size_t idx, bool uid)
{
	write_fetch(c, idx, uid, true);
}

void
imap_view_write_modseq(struct imap_client *c, size_t idx)
{
	write_fetch(c, idx, true, false);
}

/*
 * The untagged updates of a finished sync, in RFC 3501 7.4.1 order:
 * expunges, flag changes of the messages that stayed, then EXISTS (and
 * RECENT for rev1 clients) for new ones.  Returns -1 when the
 * UIDVALIDITY changed: the session is then closed.
 */
static int
report(struct imap_client *c, const struct view_sync *s)
{
	struct imap_view	*v = c->view;
	size_t			 i, stayed, n;
	uint32_t		 r;

	if (s->err != 0) {
		log_warnx("imapd sid=%s: sync %s: %s", c->sid, store_name(c->mb), strerror(s->err));
		return 0;
	}
	if (store_uidvalidity(c->mb) != v->uidvalidity) {
		log_info("imapd sid=%s: UIDVALIDITY of %s changed, closing", c->sid,
		    store_name(c->mb));
		imap_untagged(c, "BYE [UIDVALIDITY] Mailbox UIDVALIDITY changed, select it again.");
		imap_log_end(c, "uidvalidity-changed");
		imap_close(c);
		return -1;
	}
	imap_view_tell_keywords(c);
	/* RFC 7162 3.2.10: with QRESYNC on, VANISHED (by UID) replaces EXPUNGE. */
	if (c->enabled & IMAP_E_QRESYNC) {
		/* the store reports them in ascending UID order: already normalised */
		imap_vanished_write(c, false, &s->vanished);
		if (s->nexp > 0)
			v->modseq_code = true;
	} else
		for (i = 0; i < s->nexp; i++)
			imap_untagged(c, "%u EXPUNGE", s->exp[i]);
	stayed = s->before - s->nexp;
	for (i = 0; i < s->nchg; i++)
		if (s->chg[i] < stayed)
			imap_view_write_flags(c, s->chg[i], c->cmd_uid);
	n = store_count(c->mb);
	if (n > stayed) {
		imap_untagged(c, "%zu EXISTS", n);
		imap_notify_new(c, store_msg_uid(c->mb, stayed));
		r = count_recent(c->mb);
		if (!(c->enabled & IMAP_E_REV2))
			imap_untagged(c, "%u RECENT", r);
		v->recent = r;
	}
	return 0;
}

/*
 * A VANISHED carries no modseq, so under QRESYNC the client is told the
 * HIGHESTMODSEQ it has now seen everything up to (RFC 7162 3.2.10): in
 * the tagged OK when it has no response code yet, else (or with no tagged
 * reply: IDLE) as an untagged OK.  True when it is left for the tagged OK.
 */
static bool
modseq_news(struct imap_client *c, const char *status, const char *text)
{
	if (c->view == NULL || !c->view->modseq_code || c->mb == NULL)
		return false;
	c->view->modseq_code = false;
	if (status != NULL && strcmp(status, "OK") == 0 && text[0] != '[')
		return true;
	imap_highestmodseq_write(c);
	return false;
}

static void
tagged_end(struct imap_client *c, const char *status, const char *text)
{
	if (modseq_news(c, status, text))
		imap_tagged(c, status, "[HIGHESTMODSEQ %llu] %s",
		    (unsigned long long)imap_highestmodseq(c->mb), text);
	else
		imap_tagged(c, status, "%s", text);
}

static void
sync_done(struct imap_client *c, void *arg)
{
	struct view_sync *s = arg;

	if (report(c, s) == 0) {
		if (s->done != NULL) {
			(void)modseq_news(c, NULL, NULL);
			s->done(c);
		} else {
			tagged_end(c, s->status, s->text);
			imap_resume(c);
		}
	}
	sync_free(s);
}

/*
 * May this command's end sync?  Not after FETCH, STORE, SEARCH (COPY) by
 * sequence number: an EXPUNGE then would shift the numbers the client
 * just used (RFC 3501 7.4.1).  Their UID forms may, and so may the
 * commands that expunge themselves (EXPUNGE, MOVE).
 */
static bool
may_sync(const struct imap_client *c)
{
	const struct imap_command *def = c->cmd;

	if (c->cmd_uid || def == NULL)
		return true;
	return !(def->flags & IMAP_CF_USES_SEQS) || (def->flags & IMAP_CF_BREAKS_SEQS);
}

void
imap_view_done(struct imap_client *c, const char *status, const char *fmt, ...)
{
	struct view_sync	*s;
	struct buf		 text;
	va_list			 ap;

	/* not a fixed array: a COPYUID may be megabytes (IMAP_REPLY_MAX) */
	buf_init(&text, IMAP_REPLY_MAX);
	va_start(ap, fmt);
	(void)buf_vaddf(&text, fmt, ap);
	va_end(ap);
	if (c->state != IMAP_S_SELECTED || c->mb == NULL || c->view == NULL ||
	    session_closing(c->ss) || !may_sync(c)) {
		tagged_end(c, status, buf_str(&text));
		buf_clear(&text);
		/* From a stream's last piece: stream.c resumes once the output drained. */
		if (!imap_streaming(c))
			imap_resume(c);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->status = xstrdup(status);
	s->text = xstrdup(buf_str(&text));
	buf_clear(&text);
	imap_view_run(c, sync_work, sync_done, sync_free, s);
}

void
imap_view_modseq_code(struct imap_client *c)
{
	if (c->view != NULL)
		c->view->modseq_code = true;
}

void
imap_view_sync(struct imap_client *c, void (*done)(struct imap_client *))
{
	struct view_sync *s = xcalloc(1, sizeof(*s));

	s->done = done;
	imap_view_run(c, sync_work, sync_done, sync_free, s);
}

/* ---- work after a sync ---------------------------------------------- */

struct synced_job {
	struct view_sync	 s;
	void			(*work)(struct store_mailbox *, void *);
	void			(*done)(struct imap_client *, void *);
	void			(*free_arg)(void *);
	void			*arg;
};

static void
synced_free(void *p)
{
	struct synced_job *j = p;

	j->free_arg(j->arg);
	free(j->s.exp);
	free(j->s.chg);
	seqset_clear(&j->s.vanished);
	free(j);
}

static void
synced_work(struct store_mailbox *mb, void *p)
{
	struct synced_job *j = p;

	sync_work(mb, &j->s);
	j->work(mb, j->arg);
}

static void
synced_done(struct imap_client *c, void *p)
{
	struct synced_job *j = p;

	if (report(c, &j->s) == 0) {
		j->done(c, j->arg);
		j->arg = NULL;
		j->free_arg = free;	/* done owned it: nothing left to free */
	}
	synced_free(j);
}

void
imap_view_run_synced(struct imap_client *c, void (*work)(struct store_mailbox *, void *),
    void (*done)(struct imap_client *, void *), void (*free_arg)(void *), void *arg)
{
	struct synced_job *j = xcalloc(1, sizeof(*j));

	j->work = work;
	j->done = done;
	j->free_arg = free_arg;
	j->arg = arg;
	imap_view_run(c, synced_work, synced_done, synced_free, j);
}

void
imap_view_selected(struct imap_client *c)
{
	imap_view_free(c);
	c->view = xcalloc(1, sizeof(*c->view));
	c->view->uidvalidity = store_uidvalidity(c->mb);
	c->view->recent = count_recent(c->mb);
	c->view->kw_told = kw_defined(c->mb);
	imap_notify_new(c, 0);
}

void
imap_view_free(struct imap_client *c)
{
	free(c->view);
	c->view = NULL;
}

/* A normalised UID set to the sequence numbers of those in the view, into out. */
static void
uids_to_seqs(const struct imap_client *c, const struct seqset *uids, struct seqset *out)
{
	size_t	n = c->mb != NULL ? store_count(c->mb) : 0, i, lo, hi;

	for (i = 0; i < uids->n && n > 0; i++) {
		/* The view is UID-ordered: each UID range is one index range. */
		lo = store_lower_bound(c->mb, uids->r[i].lo);
		hi = uids->r[i].hi == UINT32_MAX ? n : store_lower_bound(c->mb, uids->r[i].hi + 1);
		if (lo < hi)
			seqset_add_range(out, (uint32_t)lo + 1, (uint32_t)hi);
	}
	seqset_normalize(out);
}

int
imap_view_resolve(const struct imap_client *c, const struct seqset *in, bool uid,
    struct seqset *out)
{
	size_t		 n = c->mb != NULL ? store_count(c->mb) : 0, i;
	struct seqset	 tmp;
	uint32_t	 max, a, b;

	seqset_reset(out);
	/* RFC 5182 "$": the saved result, kept as UIDs, so the messages it
	 * named whatever the numbering now (expunged ones drop out); in the
	 * UID and the sequence number forms alike.  None saved: empty. */
	if (in->saved) {
		if (c->search_saved != NULL)
			uids_to_seqs(c, c->search_saved, out);
		return 0;
	}
	seqset_init(&tmp);
	/* "*" is the last message, or the highest UID in use (RFC 9051 6.4.8). */
	max = !uid ? (uint32_t)n : n > 0 ? store_msg_uid(c->mb, n - 1) : 0;
	for (i = 0; i < in->n; i++) {
		a = in->r[i].lo == SEQ_STAR ? max : in->r[i].lo;
		b = in->r[i].hi == SEQ_STAR ? max : in->r[i].hi;
		seqset_add_range(&tmp, a, b);	/* drops "*" of an empty mailbox */
	}
	seqset_normalize(&tmp);
	if (!uid) {
		if (tmp.n > 0 && tmp.r[tmp.n - 1].hi > n) {
			seqset_clear(&tmp);
			return -1;
		}
		for (i = 0; i < tmp.n; i++)
			seqset_add_range(out, tmp.r[i].lo, tmp.r[i].hi);
		seqset_clear(&tmp);
		return 0;
	}
	uids_to_seqs(c, &tmp, out);
	seqset_clear(&tmp);
	return 0;
}

static const struct {
	uint32_t	 bit;
	const char	*name;
} sysflags[] = {
	{ STORE_F_ANSWERED,	"\\Answered" },
	{ STORE_F_FLAGGED,	"\\Flagged" },
	{ STORE_F_DELETED,	"\\Deleted" },
	{ STORE_F_SEEN,		"\\Seen" },
	{ STORE_F_DRAFT,	"\\Draft" },
};

void
imap_view_flags(const struct imap_client *c, size_t idx, struct buf *out)
{
	uint32_t	 flags = store_msg_flags(c->mb, idx);
	uint32_t	 keywords = store_msg_keywords(c->mb, idx);
	const char	*sep = "", *kw;
	size_t		 i;

	for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
		if (flags & sysflags[i].bit) {
			(void)buf_addf(out, "%s%s", sep, sysflags[i].name);
			sep = " ";
		}
	if (store_msg_recent(c->mb, idx)) {
		(void)buf_addf(out, "%s\\Recent", sep);
		sep = " ";
	}
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		if ((keywords & (1u << i)) &&
		    (kw = store_keyword_name(c->mb, (unsigned)i)) != NULL) {
			(void)buf_addf(out, "%s%s", sep, kw);
			sep = " ";
		}
}

static int
one_name(const struct imap_arg *a, struct imap_flag_names *fn, const char **err_r)
{
	size_t i;

	/* NIL is an atom too: a keyword named "NIL" (as Dovecot takes it) */
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) {
		*err_r = "Invalid flag.";
		return -1;
	}
	if (a->str[0] == '\\') {
		for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
			if (strcasecmp(a->str, sysflags[i].name) == 0) {
				fn->flags |= sysflags[i].bit;
				return 0;
			}
		*err_r = strcasecmp(a->str, "\\Recent") == 0 ?
		    "The \\Recent flag can't be changed." : "Invalid system flag.";
		return -1;
	}
	/* Bounded: more names than keyword slots cannot all fit anyway. */
	if (fn->nkw >= 4 * STORE_MAX_KEYWORDS) {
		*err_r = "Too many keywords.";
		return -1;
	}
	fn->kw = xreallocarray(fn->kw, fn->nkw + 1, sizeof(*fn->kw));
	fn->kw[fn->nkw++] = xstrndup(a->str, a->len);
	return 0;
}

int
imap_flag_names_parse(const struct imap_arg *args, size_t n, struct imap_flag_names *out,
    const char **err_r)
{
	size_t i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (!imap_arg_is_list(&args[i])) {
			if (one_name(&args[i], out, err_r) < 0)
				goto fail;
			continue;
		}
		for (k = 0; k < args[i].count; k++)
			if (one_name(&args[i].list[k], out, err_r) < 0)
				goto fail;
	}
	return 0;
fail:
	imap_flag_names_clear(out);
	return -1;
}

int
imap_flag_names_resolve(struct store_mailbox *mb, const struct imap_flag_names *fn,
    bool create, uint32_t *keywords_r, const char **err_r)
{
	size_t	i;
	int	k;

	*keywords_r = 0;
	for (i = 0; i < fn->nkw; i++) {
		if ((k = store_keyword_index(mb, fn->kw[i], create)) >= 0) {
			*keywords_r |= 1u << k;
			continue;
		}
		if (errno == ENOENT && !create)	/* an unknown keyword matches nothing */
			continue;
		*err_r = errno == ENOSPC ? "[LIMIT] Too many keywords in this mailbox." :
		    errno == EINVAL ? "Invalid keyword." : "[SERVERBUG] Keywords unavailable.";
		return -1;
	}
	return 0;
}

void
imap_flag_names_clear(struct imap_flag_names *fn)
{
	size_t i;

	for (i = 0; i < fn->nkw; i++)
		free(fn->kw[i]);
	free(fn->kw);
	memset(fn, 0, sizeof(*fn));
}

int
imap_flags_parse(struct imap_client *c, const struct imap_arg *a, bool create,
    uint32_t *flags_r, uint32_t *keywords_r, const char **err_r)
{
	struct imap_flag_names	fn;
	int			rc;

	*flags_r = 0;
	*keywords_r = 0;
	if (imap_flag_names_parse(a, 1, &fn, err_r) < 0)
		return -1;
	*flags_r = fn.flags;
	rc = imap_flag_names_resolve(c->mb, &fn, create, keywords_r, err_r);
	imap_flag_names_clear(&fn);
	return rc;
}
