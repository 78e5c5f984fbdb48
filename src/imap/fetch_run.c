/*
 * FETCH responses on a worker (see fetch_run.h): per message, everything
 * that can fail (the file, the cache, \Seen) is done before its first
 * byte is written, so a message expunged by another session is skipped
 * whole (RFC 2180 4.1.2) instead of leaving half a response.  Then the
 * items go out in request order; literals through fetch_lit.c, in CRLF
 * form whatever the file holds, so sizes agree with RFC822.SIZE and with
 * the cached BODYSTRUCTURE (computed on the CRLF form too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap/date.h"
#include "imap/fetch_part.h"
#include "imap/fetch_run.h"
#include "imap/quote.h"
#include "imap/threadid.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/mime.h"
#include "mime/rfc5322.h"
#include "store/store.h"

#define LIT_ROOM_MIN	4096	/* literal bytes read at least per call */
#define OUT_MAX		(FETCH_BATCH + 80 * 1024 * 1024)	/* a batch + cached strings */

struct fetch_run *
fetch_run_new(struct imap_client *c, struct store_mailbox *mb, struct fetch_attrs *fa,
    struct seqset *set, bool set_seen)
{
	struct fetch_run *r = xcalloc(1, sizeof(*r));

	r->c = c;
	r->mb = mb;
	r->fa = fa;
	r->set = *set;
	seqset_init(set);
	r->set_seen = set_seen;
	buf_init(&r->out, OUT_MAX);
	return r;
}

static void
msg_end(struct fetch_run *r)
{
	if (r->lit != NULL) {
		fetch_lit_clear(r->lit);
		free(r->lit);
		r->lit = NULL;
	}
	mime_free(&r->root);
	fblob_release(&r->file);
	r->data = NULL;
	r->in_msg = r->in_lit = false;
}

void
fetch_run_free(struct fetch_run **rp)
{
	struct fetch_run *r = *rp;

	if (r == NULL)
		return;
	msg_end(r);
	fblob_clear(&r->file);
	if (r->own_mb)
		store_close(&r->mb);
	fetch_attrs_free(&r->fa);
	seqset_clear(&r->set);
	buf_clear(&r->out);
	free(r->holes);
	free(r);
	*rp = NULL;
}

/*
 * Append to the batch.  OUT_MAX leaves room for a whole batch plus the
 * four cached strings (each at most 16 MiB), so this cannot fail.
 */
static void
put(struct fetch_run *r, const void *p, size_t n)
{
	if (buf_add(&r->out, p, n) < 0)
		fatalx("imapd: fetch batch overflow");
}

static void
puts_(struct fetch_run *r, const char *s)
{
	put(r, s, strlen(s));
}

/* A number without printf (several a message on FETCH's hot path). */
static void
put_u64(struct fetch_run *r, uint64_t v)
{
	char	t[STR_U64_MAX];

	put(r, t, str_u64(t, v));
}

/* ---- per message: what can fail, first ---- */

static bool
want(const struct fetch_run *r, enum fetch_item_type t)
{
	return (r->fa->want & FETCH_WANT(t)) != 0;
}

/* Does the message file have to be read?  For a literal, or THREADID's header. */
static bool
needs_file(const struct fetch_run *r)
{
	unsigned lits = FETCH_WANT(FETCH_RFC822) | FETCH_WANT(FETCH_RFC822_HEADER) |
	    FETCH_WANT(FETCH_RFC822_TEXT) | FETCH_WANT(FETCH_BODY_SECTION) |
	    FETCH_WANT(FETCH_BINARY) | FETCH_WANT(FETCH_BINARY_SIZE) |
	    FETCH_WANT(FETCH_THREADID);

	return (r->fa->want & lits) != 0;
}

/*
 * Files up to this size are read into the run's buffer, larger ones
 * mapped (lib/fblob.h says why): a batch's worth, so a run holds at most
 * about two batches whatever the messages weigh.
 */
#define READ_MAX	FETCH_BATCH

static int
load_file(struct fetch_run *r, const struct store_msg *m)
{
	int	 fd, rc, saved;

	if ((fd = store_msg_open(r->mb, r->idx)) == -1)
		return -1;
	/* the index's size spares an fstat (0: not known small, the fstat way) */
	rc = fblob_load_expect(&r->file, fd, READ_MAX, m->size < READ_MAX ? (size_t)m->size : 0);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc == -1)
		return -1;
	r->data = r->file.data;
	r->len = r->file.len;
	return 0;
}

/*
 * RFC822.SIZE, the size of the CRLF form FETCH sends: ",W=" in the file
 * name when there is one; else counted from the bytes when they are
 * loaded anyway; else the cache's whole-message part (computed on the
 * CRLF form when the cache record was made), so a FETCH of sizes reads
 * no message file once the cache holds the mailbox (Dovecot keeps the
 * "virtual size" in its cache the same way).
 */
static int
load_vsize(struct fetch_run *r, const struct store_msg *m)
{
	const struct store_part	*parts;
	struct store_msg	 msg;
	size_t			 nparts;

	if (m->vsize != m->size) {
		r->vsize = m->vsize;
		return 0;
	}
	if (r->data != NULL) {
		r->vsize = r->len + fetch_bare_lfs(r->data, 0, r->len);
		return 0;
	}
	if (store_msg_parts(r->mb, r->idx, &parts, &nparts) == -1)
		return -1;
	if (nparts > 0) {
		r->vsize = parts[0].hdr_vsize + parts[0].body_vsize;
		return 0;
	}
	msg = *m;
	if (store_msg_size(r->mb, r->idx, &msg) == -1)
		return -1;
	r->vsize = msg.size;
	return 0;
}

static int
load_cached(struct fetch_run *r)
{
	static const enum fetch_item_type types[4] = { FETCH_ENVELOPE, FETCH_BODY,
		FETCH_BODYSTRUCTURE, FETCH_PREVIEW };
	int	i;

	for (i = 0; i < 4; i++) {
		r->cached[i] = NULL;
		if (want(r, types[i]) && store_msg_cached(r->mb, r->idx,
		    (enum store_cache_field)i, &r->cached[i], &r->cached_len[i]) == -1)
			return -1;
	}
	return 0;
}

static const struct mime_part *
item_part(struct fetch_run *r, const struct fetch_item *it, bool *as_msg_r)
{
	if (r->root == NULL)
		r->root = mime_parse(r->data, r->len);
	return fetch_part_find(r->root, it->part, it->nparts, as_msg_r);
}

/* Any BINARY item on a part with an unknown encoding?  Checked before output. */
static bool
binary_refused(struct fetch_run *r)
{
	const struct mime_part	*x;
	enum xfer_kind		 k;
	bool			 as_msg;
	size_t			 i;

	for (i = 0; i < r->fa->n; i++) {
		const struct fetch_item *it = &r->fa->items[i];

		if ((it->type != FETCH_BINARY && it->type != FETCH_BINARY_SIZE) ||
		    it->nparts == 0)
			continue;
		if ((x = item_part(r, it, &as_msg)) != NULL && fetch_cte_kind(x->encoding, &k) < 0)
			return true;
	}
	return false;
}

/*
 * Start message seq: 1 when it is ready to write, 0 when it is skipped
 * (gone or unreadable, counted), -1 when the command must stop.
 */
static int
msg_start(struct fetch_run *r)
{
	struct store_msg	 msg, *m = &msg;

	r->idx = r->seq - 1;
	if (store_msg_get(r->mb, r->idx, m) == -1)
		return 0;	/* cannot happen: the set was resolved on this view */
	r->item = 0;
	r->in_msg = true;
	/* Expunged by another session (still in this view until its sync):
	 * skipped like a vanished file, never told with made-up dates. */
	if (m->name[0] == '\0') {
		errno = ENOENT;
		goto skip;
	}
	r->seen_added = false;
	if ((needs_file(r) && load_file(r, m) == -1) || load_cached(r) == -1 ||
	    (want(r, FETCH_RFC822_SIZE) && load_vsize(r, m) == -1))
		goto skip;
	if (r->data != NULL) {
		if (binary_refused(r)) {
			r->unknown_cte = true;
			msg_end(r);
			return -1;
		}
	}
	if (r->set_seen && !(m->flags & STORE_F_SEEN)) {
		/*
		 * The batch's first \Seen opens a store batch that
		 * fetch_run_fill() closes: one lock and one index commit for
		 * the batch's messages, not one each (FETCH 1:* BODY[] of 10k
		 * unseen messages made 10k commits).  The lock is held from
		 * here to the batch's end, the reads of its last files too.
		 */
		if (!r->seen_batch && store_update_begin(r->mb) == 0)
			r->seen_batch = true;
		if (store_set_flags(r->mb, r->idx, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0) == -1)
			goto skip;
		r->seen_added = true;
	}
	return 1;
skip:
	if (errno == ENOENT)
		r->expunged++;
	else {
		log_warn("imapd: fetch uid=%u", m->uid);
		r->failed++;
	}
	msg_end(r);
	return 0;
}

/* ---- items ---- */

static void
hole(struct fetch_run *r)
{
	if (r->nholes == r->capholes) {
		r->capholes = r->capholes ? 2 * r->capholes : 64;
		r->holes = xreallocarray(r->holes, r->capholes, sizeof(*r->holes));
	}
	r->holes[r->nholes].off = r->out.len;
	r->holes[r->nholes++].idx = r->idx;
}

static void
put_flags(struct fetch_run *r)
{
	puts_(r, "FLAGS (");
	hole(r);
	puts_(r, ")");
}

/* INTERNALDATE or SAVEDATE (RFC 8514) t */
static void
put_date(struct fetch_run *r, const char *label, int64_t t)
{
	char		 s[IMAP_DATETIME_LEN + 1];
	time_t		 tt = (time_t)t;
	struct tm	 tm;
	int		 zone = 0;

	/* shown in the server's zone, as Dovecot and Courier do */
	if (localtime_r(&tt, &tm) != NULL)
		zone = (int)(tm.tm_gmtoff / 60);
	imap_format_datetime(t, zone, s);
	(void)buf_addf(&r->out, "%s \"%s\"", label, s);
}

/* The byte range and transform of a BODY/BINARY item, into a new r->lit. */
static void
lit_open(struct fetch_run *r, const struct fetch_item *it, bool *binary_r)
{
	struct fetch_range	 rg = { true, 0, r->len, NULL };
	enum xfer_kind		 k = XFER_IDENT;
	unsigned		 fl = FETCH_LIT_CRLF | FETCH_LIT_NONUL;
	bool			 bin, as_msg;
	struct buf		 b;

	r->lit = xmalloc(sizeof(*r->lit));
	bin = it->type == FETCH_BINARY || it->type == FETCH_BINARY_SIZE;
	if (it->nparts > 0 || it->text != FETCH_SEC_ALL) {
		(void)item_part(r, it, &as_msg);	/* parses the message once */
		fetch_section_range(r->root, it, &rg);
	}
	/* RFC 3516: BINARY is the content with its encoding undone, NULs and all */
	if (bin) {
		fl &= ~FETCH_LIT_NONUL;
		if (rg.body != NULL && fetch_cte_kind(rg.body->encoding, &k) == 0 &&
		    k != XFER_IDENT)
			fl |= FETCH_LIT_DECODE;
		/* binary content has no lines: its bytes go as stored (an APPEND
		 * of a literal8 is stored raw, store_append_raw) */
		if (rg.body != NULL && rg.body->encoding != NULL &&
		    strcasecmp(rg.body->encoding, "binary") == 0)
			fl &= ~FETCH_LIT_CRLF;
	}
	if (it->text == FETCH_SEC_HEADER_FIELDS || it->text == FETCH_SEC_HEADER_FIELDS_NOT) {
		/* the fields, a line end the last one may lack, the empty line */
		buf_init(&b, rg.len + 8);
		if (rg.found)
			(void)fetch_header_filter(r->data + rg.off, rg.len, it->fields,
			    it->nfields, it->text == FETCH_SEC_HEADER_FIELDS_NOT, &b);
		rg.len = b.len;
		fetch_lit_init_own(r->lit, buf_take(&b, NULL), rg.len, fl);
		buf_clear(&b);
	} else
		fetch_lit_init(r->lit, r->data, rg.off, rg.len, fl, k);
	if (it->partial)
		fetch_lit_window(r->lit, it->offset, it->count);
	*binary_r = bin;
}

/* Label and literal header of a section item; the bytes follow in fill(). */
static void
put_section(struct fetch_run *r, const struct fetch_item *it, const char *label)
{
	uint64_t	 n;
	bool		 bin, nul = false;

	lit_open(r, it, &bin);
	n = fetch_lit_size(r->lit, bin ? &nul : NULL);
	if (it->type == FETCH_BINARY_SIZE) {
		(void)buf_addf(&r->out, "%s %llu", label, (unsigned long long)n);
		fetch_lit_clear(r->lit);
		free(r->lit);
		r->lit = NULL;
		return;
	}
	/* RFC 3516 4.3: literal8 when the decoded data holds a NUL */
	(void)buf_addf(&r->out, "%s %s{%llu}\r\n", label, nul ? "~" : "",
	    (unsigned long long)n);
	r->in_lit = true;
}

/* Write item i; a literal leaves r->in_lit set for fill() to stream. */
static void
put_item(struct fetch_run *r, const struct fetch_item *it)
{
	static const char *const cached_names[] = { "ENVELOPE ", "BODY ", "BODYSTRUCTURE " };
	struct store_msg	 msg, *m = &msg;
	struct fetch_item	 tmp;
	char			 id[STORE_OBJID_SIZE], tid[THREADID_SIZE];
	int			 f;

	(void)store_msg_get(r->mb, r->idx, m);	/* msg_start checked idx */
	switch (it->type) {
	case FETCH_FLAGS:
		put_flags(r);
		break;
	case FETCH_UID:
		(void)buf_addf(&r->out, "UID %u", m->uid);
		break;
	case FETCH_INTERNALDATE:
		put_date(r, "INTERNALDATE", store_msg_idate(r->mb, r->idx));
		break;
	case FETCH_SAVEDATE:
		put_date(r, "SAVEDATE", store_msg_savedate(r->mb, r->idx));
		break;
	case FETCH_EMAILID:
		store_msg_emailid(m, id);
		(void)buf_addf(&r->out, "EMAILID (%s)", id);
		break;
	case FETCH_PREVIEW:
		/* RFC 8970: a string, UTF-8 (a literal when 8-bit), "" for none */
		puts_(r, "PREVIEW ");
		if (imap_write_string(&r->out, r->cached[STORE_CACHE_PREVIEW],
		    r->cached_len[STORE_CACHE_PREVIEW], 0) < 0)
			fatalx("imapd: fetch batch overflow");
		break;
	case FETCH_THREADID:
		store_msg_emailid(m, id);
		if (threadid_of_header(r->data, hdr_block_len(r->data, r->len), id, tid))
			(void)buf_addf(&r->out, "THREADID (%s)", tid);
		else
			puts_(r, "THREADID NIL");
		break;
	case FETCH_RFC822_SIZE:
		puts_(r, "RFC822.SIZE ");
		put_u64(r, r->vsize);
		break;
	case FETCH_MODSEQ:
		(void)buf_addf(&r->out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		break;
	case FETCH_ENVELOPE:
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
		f = it->type == FETCH_ENVELOPE ? STORE_CACHE_ENVELOPE : it->type == FETCH_BODY ?
		    STORE_CACHE_BODY : STORE_CACHE_BODYSTRUCTURE;
		puts_(r, cached_names[f]);
		put(r, r->cached[f], r->cached_len[f]);
		break;
	case FETCH_RFC822:
	case FETCH_RFC822_HEADER:
	case FETCH_RFC822_TEXT:
		/* RFC 3501 6.4.5: BODY[], BODY.PEEK[HEADER], BODY[TEXT] */
		memset(&tmp, 0, sizeof(tmp));
		tmp.type = FETCH_BODY_SECTION;
		tmp.text = it->type == FETCH_RFC822 ? FETCH_SEC_ALL :
		    it->type == FETCH_RFC822_HEADER ? FETCH_SEC_HEADER : FETCH_SEC_TEXT;
		put_section(r, &tmp, it->type == FETCH_RFC822 ? "RFC822" :
		    it->type == FETCH_RFC822_HEADER ? "RFC822.HEADER" : "RFC822.TEXT");
		break;
	case FETCH_BODY_SECTION:
	case FETCH_BINARY:
	case FETCH_BINARY_SIZE:
		put_section(r, it, it->label);
		break;
	default:
		/* refused by cmd_fetch before a run starts */
		puts_(r, "NIL");
		break;
	}
}

/* " UID u" / " MODSEQ (m)" the request did not ask for. */
static void
put_item_type(struct fetch_run *r, enum fetch_item_type t)
{
	struct fetch_item it = { .type = t };

	puts_(r, " ");
	put_item(r, &it);
}

/*
 * Stream the open literal into out, read in place up to the batch's end
 * (no bounce buffer: one copy less of every byte); true when it is complete.
 */
static bool
put_lit_bytes(struct fetch_run *r)
{
	char	*dst;
	size_t	 n, room;

	while (r->out.len < FETCH_BATCH) {
		room = FETCH_BATCH - r->out.len;
		if (room < LIT_ROOM_MIN)
			room = LIT_ROOM_MIN;
		if ((dst = buf_space(&r->out, room)) == NULL)
			fatalx("imapd: fetch batch overflow");
		if ((n = fetch_lit_read(r->lit, dst, room)) == 0) {
			fetch_lit_clear(r->lit);
			free(r->lit);
			r->lit = NULL;
			r->in_lit = false;
			return true;
		}
		buf_commit(&r->out, n);
	}
	return false;
}

/* Messages left in the set: the next one into r->seq. */
static bool
next_msg(struct fetch_run *r)
{
	return seqset_next(&r->set, &r->it, &r->seq);
}

void
fetch_run_fill(struct fetch_run *r)
{
	int	 s;

	buf_reset(&r->out);
	r->nholes = 0;
	store_msg_dirs_hold(r->mb);
	while (!r->done && r->out.len < FETCH_BATCH) {
		if (!r->in_msg) {
			if (!next_msg(r)) {
				r->done = true;
				break;
			}
			if ((s = msg_start(r)) < 0)
				r->done = true;
			else if (s > 0) {
				puts_(r, "* ");
				put_u64(r, r->seq);
				puts_(r, " FETCH (");
			}
			continue;
		}
		if (r->in_lit) {
			if (put_lit_bytes(r))
				r->item++;
			continue;
		}
		if (r->item < r->fa->n) {
			if (r->item > 0)
				puts_(r, " ");
			put_item(r, &r->fa->items[r->item]);
			if (!r->in_lit)
				r->item++;
			continue;
		}
		/* RFC 3501 6.4.5: a \Seen set by this fetch is reported */
		if (r->seen_added && !want(r, FETCH_FLAGS)) {
			puts_(r, " ");
			put_flags(r);
		}
		if (r->seen_added && r->condstore) {
			if (!want(r, FETCH_UID))
				put_item_type(r, FETCH_UID);
			if (!want(r, FETCH_MODSEQ))
				put_item_type(r, FETCH_MODSEQ);
		}
		puts_(r, ")\r\n");
		msg_end(r);
	}
	if (r->seen_batch) {
		r->seen_batch = false;
		/* the files are renamed already; the index catches up at the next sync */
		if (store_update_end(r->mb) == -1) {
			log_warn("imapd: fetch: \\Seen not committed to the index");
			r->failed++;
		}
	}
	store_msg_dirs_release(r->mb);
}
