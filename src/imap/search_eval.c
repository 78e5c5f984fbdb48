/*
 * SEARCH evaluation; see search_eval.h.  Two passes over the key tree:
 * the first uses only what the view knows, with three-valued logic (a
 * content key is "unknown"); only when that leaves the answer open are
 * the message's bytes fetched, parsed once, and the tree evaluated again.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/search_eval.h"
#include "imap/threadid.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "mime/mime.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"
#include "store/store.h"

enum tri { T_NO, T_YES, T_UNKNOWN };

/* The message's content, loaded on the first key that needs it. */
struct ev {
	const struct search_ctx	*ctx;
	const struct search_msg	*m;
	bool			 full;		/* second pass: content keys are evaluated */
	bool			 loaded, failed;
	const char		*data;
	size_t			 len;
	size_t			 hdr_len;	/* the top-level header block */
	struct mime_part	*root;		/* parsed only for BODY and TEXT */
};

/* ---- case folding ---------------------------------------------------- */

/*
 * Lower-case one code point of the two-byte UTF-8 range: Latin-1,
 * Latin Extended-A, Greek and Cyrillic capitals.  Each maps to a code
 * point of the same encoded length, so folding never moves bytes.
 */
static unsigned
fold_cp(unsigned cp)
{
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB &&
	    cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if (cp == 0x3C2)		/* final sigma */
		return 0x3C3;
	if (cp == 0x178)
		return 0xFF;
	/* Latin Extended-A: pairs, capital first; 0x139-0x148 and 0x179-0x17E start odd */
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return (cp & 1) ? cp + 1 : cp;
	return cp;
}

/* Fold p[0..n) into out[0..n) (same length; idempotent). */
static void
fold(const char *p, size_t n, char *out)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i;
	unsigned		 cp;

	for (i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z') {
			out[i] = (char)(s[i] + 32);
			continue;
		}
		if (s[i] >= 0xC2 && s[i] <= 0xDF && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
			cp = fold_cp(((unsigned)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F));
			out[i] = (char)(0xC0 | (cp >> 6));
			out[i + 1] = (char)(0x80 | (cp & 0x3F));
			i++;
			continue;
		}
		out[i] = (char)s[i];
	}
}

bool
search_text_match(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	char	*h, *nd;
	bool	 r;

	if (nlen == 0)
		return true;
	if (hlen < nlen)
		return false;
	h = malloc(hlen + nlen);
	if (h == NULL)
		abort();
	nd = h + hlen;
	fold(hay, hlen, h);
	fold(needle, nlen, nd);
	r = memmem(h, hlen, nd, nlen) != NULL;
	free(h);
	return r;
}

/* ---- streamed text (BODY, TEXT) ---------------------------------------- */

/* A window over the decoded text: the new chunk plus the tail of the last. */
struct scan {
	struct buf	 win;
	char		*needle;	/* folded */
	size_t		 nlen;
};

static int
scan_cb(const char *text, size_t len, void *arg)
{
	struct scan	*s = arg;
	size_t		 keep;

	if (buf_add(&s->win, text, len) < 0)
		return -1;
	/* Refolding the kept tail is harmless: folding is idempotent. */
	fold(s->win.data, s->win.len, s->win.data);
	if (memmem(s->win.data, s->win.len, s->needle, s->nlen) != NULL)
		return 1;
	/* keep what could start a match, plus a split UTF-8 sequence */
	keep = s->nlen - 1 + 3;
	if (s->win.len > keep)
		buf_consume(&s->win, s->win.len - keep);
	return 0;
}

static enum tri
text_key(struct ev *e, const struct search_key *k, int what)
{
	struct scan	 s;
	int		 r;

	if (k->len == 0)
		return T_YES;
	s.nlen = k->len;
	s.needle = malloc(k->len);
	if (s.needle == NULL)
		abort();
	fold(k->str, k->len, s.needle);
	buf_init(&s.win, k->len + 3 + 64 * 1024);
	/* the whole MIME walk only for text keys: header keys need the header */
	if (e->root == NULL)
		e->root = mime_parse(e->data, e->len);
	r = mime_search_text(e->root, what, scan_cb, &s);
	buf_clear(&s.win);
	free(s.needle);
	return r == 1 ? T_YES : T_NO;
}

/* ---- header keys ------------------------------------------------------- */

/*
 * An address field also matches on its parsed addresses written as
 * "name <mailbox@host>", so comments and spaces inside the address
 * ("<user (c)@ (c) example.org>") do not hide it (as Dovecot matches).
 */
static bool
addr_match(const char *value, size_t vlen, const char *str, size_t len)
{
	struct hdr_addr	*a = NULL;
	struct buf	 one;
	size_t		 n, i;
	bool		 hit = false;

	n = hdr_parse_addresses(value, vlen, 256, &a);
	buf_init(&one, 4 * HDR_VALUE_MAX);
	for (i = 0; i < n && !hit; i++) {
		if (a[i].mailbox == NULL || a[i].host == NULL)
			continue;	/* group start or end */
		buf_reset(&one);
		if (a[i].name != NULL)
			(void)rfc2047_decode(a[i].name, strlen(a[i].name), &one);
		(void)buf_addf(&one, " <%s@%s>", a[i].mailbox, a[i].host);
		hit = search_text_match(buf_str(&one), one.len, str, len);
	}
	buf_clear(&one);
	hdr_addrs_free(&a, n);
	return hit;
}

/*
 * Each field called name in the top-level header, unfolded and decoded;
 * addr: an address field (FROM, TO, CC, BCC), see addr_match().
 */
static enum tri
header_key(struct ev *e, const char *name, size_t name_len, const char *str, size_t len,
    bool addr)
{
	struct hdr_iter		 it;
	struct hdr_field	 f;
	struct buf		 unf, dec;
	enum tri		 r = T_NO;

	buf_init(&unf, HDR_VALUE_MAX);
	buf_init(&dec, 4 * HDR_VALUE_MAX);
	hdr_iter_init(&it, e->data, e->hdr_len);
	while (r == T_NO && hdr_next(&it, &f) == 1) {
		if (f.name_len != name_len || strncasecmp(f.name, name, name_len) != 0)
			continue;
		if (len == 0) {		/* RFC 3501: the field exists, whatever it holds */
			r = T_YES;
			break;
		}
		buf_reset(&unf);
		buf_reset(&dec);
		(void)hdr_unfold(f.value, f.value_len, &unf);
		/* a value cut at the buffer's max is still searched */
		(void)rfc2047_decode(buf_str(&unf), unf.len, &dec);
		if (search_text_match(buf_str(&dec), dec.len, str, len) ||
		    (addr && addr_match(buf_str(&unf), unf.len, str, len)))
			r = T_YES;
	}
	buf_clear(&unf);
	buf_clear(&dec);
	return r;
}

static int
month_of(const char *s)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char	 m[3];
	int	 i;

	for (i = 0; i < 3; i++)
		m[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	for (i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, m, 3) == 0)
			return i + 1;
	return 0;
}

/* RFC 5322 3.3 date-time: [day-of-week ","] day month year ...; obs-year too (4.3). */
int
search_parse_sent_date(const char *s, size_t len, uint32_t *yyyymmdd_r)
{
	const char	*comma = memchr(s, ',', len), *e = s + len;
	unsigned	 day = 0, year = 0, nd = 0, ny = 0;
	int		 mon;

	if (comma != NULL)
		s = comma + 1;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	for (; s < e && *s >= '0' && *s <= '9' && nd < 3; s++, nd++)
		day = day * 10 + (unsigned)(*s - '0');
	while (s < e && (*s == ' ' || *s == '\t' || *s == '-'))
		s++;
	if (nd == 0 || nd > 2 || day < 1 || day > 31 || e - s < 3 || (mon = month_of(s)) == 0)
		return -1;
	s += 3;
	while (s < e && (*s == ' ' || *s == '\t' || *s == '-'))
		s++;
	for (; s < e && *s >= '0' && *s <= '9' && ny < 5; s++, ny++)
		year = year * 10 + (unsigned)(*s - '0');
	if (ny < 2 || ny > 4)
		return -1;
	if (ny == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ny == 3)
		year += 1900;
	*yyyymmdd_r = year * 10000 + (unsigned)mon * 100 + day;
	return 0;
}

static enum tri
sent_key(struct ev *e, const struct search_key *k)
{
	struct hdr_field	 f;
	struct buf		 unf;
	uint32_t		 d;
	int			 r;

	if (!hdr_find(e->data, e->hdr_len, "Date", &f))
		return T_NO;
	buf_init(&unf, 1024);
	(void)hdr_unfold(f.value, f.value_len, &unf);
	r = search_parse_sent_date(buf_str(&unf), unf.len, &d);
	buf_clear(&unf);
	if (r < 0)
		return T_NO;
	switch (k->type) {
	case SEARCH_SENTBEFORE:
		return d < k->date ? T_YES : T_NO;
	case SEARCH_SENTON:
		return d == k->date ? T_YES : T_NO;
	default:
		return d >= k->date ? T_YES : T_NO;
	}
}

/* ---- the tree ---------------------------------------------------------- */

static bool
load(struct ev *e)
{
	if (!e->loaded) {
		e->loaded = true;
		if (e->ctx->content == NULL ||
		    e->ctx->content(e->ctx->arg, e->m, &e->data, &e->len) < 0)
			e->failed = true;
		else
			e->hdr_len = hdr_block_len(e->data, e->len);
	}
	return !e->failed;
}

static enum tri
content_key(struct ev *e, const struct search_key *k)
{
	static const char *const names[] = {
		[SEARCH_BCC] = "Bcc", [SEARCH_CC] = "Cc", [SEARCH_FROM] = "From",
		[SEARCH_TO] = "To", [SEARCH_SUBJECT] = "Subject",
	};
	char	tid[THREADID_SIZE];

	if (!e->full)
		return T_UNKNOWN;
	if (!load(e))
		return T_NO;
	switch (k->type) {
	case SEARCH_BODY:
		return text_key(e, k, MIME_TEXT_BODY);
	case SEARCH_TEXT:
		return text_key(e, k, MIME_TEXT_HEADERS | MIME_TEXT_BODY);
	case SEARCH_HEADER:
		return header_key(e, k->field, k->field_len, k->str, k->len, false);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		return sent_key(e, k);
	case SEARCH_THREADID:
		return threadid_of_header(e->data, e->hdr_len, e->m->emailid, tid) &&
		    strcmp(tid, k->str) == 0 ? T_YES : T_NO;
	default:
		return header_key(e, names[k->type], strlen(names[k->type]), k->str, k->len,
		    k->type != SEARCH_SUBJECT);
	}
}

static enum tri
yes(bool b)
{
	return b ? T_YES : T_NO;
}

static enum tri
set_key(struct ev *e, const struct search_key *k, uint32_t v)
{
	if (k->set.saved)
		return yes(e->ctx->saved != NULL && seqset_contains(e->ctx->saved, e->m->uid));
	return yes(seqset_contains(&k->set, v));
}

static enum tri
keyword_key(struct ev *e, const struct search_key *k)
{
	int i = e->ctx->keyword_index != NULL ? e->ctx->keyword_index(e->ctx->arg, k->str) : -1;

	return yes(i >= 0 && i < 32 && (e->m->keywords & (1u << i)));
}

static enum tri eval_key(struct ev *e, const struct search_key *k);

/* AND of a list linked by next: NO wins, then UNKNOWN. */
static enum tri
eval_and(struct ev *e, const struct search_key *k)
{
	enum tri r = T_YES, t;

	for (; k != NULL; k = k->next) {
		if ((t = eval_key(e, k)) == T_NO)
			return T_NO;
		if (t == T_UNKNOWN)
			r = T_UNKNOWN;
	}
	return r;
}

static enum tri
eval_key(struct ev *e, const struct search_key *k)
{
	const struct search_msg	*m = e->m;
	enum tri		 a, b;

	switch (k->type) {
	case SEARCH_ALL:		return T_YES;
	case SEARCH_ANSWERED:		return yes(m->flags & STORE_F_ANSWERED);
	case SEARCH_DELETED:		return yes(m->flags & STORE_F_DELETED);
	case SEARCH_DRAFT:		return yes(m->flags & STORE_F_DRAFT);
	case SEARCH_FLAGGED:		return yes(m->flags & STORE_F_FLAGGED);
	case SEARCH_SEEN:		return yes(m->flags & STORE_F_SEEN);
	case SEARCH_UNANSWERED:		return yes(!(m->flags & STORE_F_ANSWERED));
	case SEARCH_UNDELETED:		return yes(!(m->flags & STORE_F_DELETED));
	case SEARCH_UNDRAFT:		return yes(!(m->flags & STORE_F_DRAFT));
	case SEARCH_UNFLAGGED:		return yes(!(m->flags & STORE_F_FLAGGED));
	case SEARCH_UNSEEN:		return yes(!(m->flags & STORE_F_SEEN));
	case SEARCH_NEW:		return yes(m->recent && !(m->flags & STORE_F_SEEN));
	case SEARCH_OLD:		return yes(!m->recent);
	case SEARCH_RECENT:		return yes(m->recent);
	/* RFC 8514: every message has a save date (store_msg_savedate) */
	case SEARCH_SAVEDATESUPPORTED:	return T_YES;
	case SEARCH_KEYWORD:		return keyword_key(e, k);
	case SEARCH_UNKEYWORD:		return keyword_key(e, k) == T_YES ? T_NO : T_YES;
	/* RFC 8474: ids compare exactly; THREADID needs the header (content_key) */
	case SEARCH_EMAILID:		return yes(m->emailid != NULL && strcmp(m->emailid, k->str) == 0);
	case SEARCH_BEFORE:		return yes(m->iday < k->date);
	case SEARCH_ON:			return yes(m->iday == k->date);
	case SEARCH_SINCE:		return yes(m->iday >= k->date);
	case SEARCH_SAVEDBEFORE:	return yes(m->sday < k->date);
	case SEARCH_SAVEDON:		return yes(m->sday == k->date);
	case SEARCH_SAVEDSINCE:		return yes(m->sday >= k->date);
	case SEARCH_LARGER:		return yes(m->size > k->num);
	case SEARCH_SMALLER:		return yes(m->size < k->num);
	/* RFC 5032 3 */
	case SEARCH_OLDER:		return yes(m->idate < e->ctx->now - (int64_t)k->num);
	case SEARCH_YOUNGER:		return yes(m->idate >= e->ctx->now - (int64_t)k->num);
	case SEARCH_MODSEQ:		return yes(m->modseq >= k->num);
	case SEARCH_SEQSET:		return set_key(e, k, m->seq);
	case SEARCH_UIDSET:		return set_key(e, k, m->uid);
	case SEARCH_AND:		return eval_and(e, k->child);
	case SEARCH_NOT:
		a = eval_key(e, k->child);
		return a == T_UNKNOWN ? T_UNKNOWN : a == T_YES ? T_NO : T_YES;
	case SEARCH_OR:
		if ((a = eval_key(e, k->child)) == T_YES ||
		    (b = eval_key(e, k->child->next)) == T_YES)
			return T_YES;
		return a == T_UNKNOWN || b == T_UNKNOWN ? T_UNKNOWN : T_NO;
	case SEARCH_BCC: case SEARCH_CC: case SEARCH_FROM: case SEARCH_TO:
	case SEARCH_SUBJECT: case SEARCH_BODY: case SEARCH_TEXT: case SEARCH_HEADER:
	case SEARCH_SENTBEFORE: case SEARCH_SENTON: case SEARCH_SENTSINCE:
	case SEARCH_THREADID:
		return content_key(e, k);
	}
	return T_NO;
}

enum search_result
search_eval(const struct search_query *q, const struct search_ctx *ctx,
    const struct search_msg *m)
{
	struct ev	 e = { .ctx = ctx, .m = m };
	enum tri	 r;

	if ((r = eval_key(&e, q->root)) == T_UNKNOWN) {
		e.full = true;
		r = eval_key(&e, q->root);
		/* unreadable (expunged meanwhile): it matches nothing, NOT BODY either */
		if (e.failed)
			r = T_NO;
	}
	mime_free(&e.root);
	return r == T_YES ? SEARCH_YES : SEARCH_NO;
}

static bool
is_content_key(enum search_key_type t)
{
	switch (t) {
	case SEARCH_BCC: case SEARCH_CC: case SEARCH_FROM: case SEARCH_TO:
	case SEARCH_SUBJECT: case SEARCH_BODY: case SEARCH_TEXT: case SEARCH_HEADER:
	case SEARCH_SENTBEFORE: case SEARCH_SENTON: case SEARCH_SENTSINCE:
	case SEARCH_THREADID:
		return true;
	default:
		return false;
	}
}

static bool
is_idate_key(enum search_key_type t)
{
	return t == SEARCH_BEFORE || t == SEARCH_ON || t == SEARCH_SINCE ||
	    t == SEARCH_OLDER || t == SEARCH_YOUNGER;
}

static bool
is_size_key(enum search_key_type t)
{
	return t == SEARCH_LARGER || t == SEARCH_SMALLER;
}

/* Is there a key of the kind is() says anywhere in the list k? */
static bool
has_key(const struct search_key *k, bool (*is)(enum search_key_type))
{
	for (; k != NULL; k = k->next) {
		if (is(k->type))
			return true;
		/* OR: child->next is its second key, the list walk covers both */
		if ((k->type == SEARCH_AND || k->type == SEARCH_NOT || k->type == SEARCH_OR) &&
		    has_key(k->child, is))
			return true;
	}
	return false;
}

bool
search_needs_content(const struct search_query *q)
{
	return has_key(q->root, is_content_key);
}

bool
search_needs_idate(const struct search_query *q)
{
	return has_key(q->root, is_idate_key);
}

bool
search_needs_size(const struct search_query *q)
{
	return has_key(q->root, is_size_key);
}

void
search_eval_prepare(struct search_query *q, uint32_t max_seq, uint32_t max_uid)
{
	struct search_key *k;

	for (k = q->sets; k != NULL; k = k->set_next)
		if (!k->set.saved)
			seqset_resolve(&k->set, k->type == SEARCH_SEQSET ? max_seq : max_uid);
}
