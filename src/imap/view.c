/*
 * The selected mailbox as this client knows it: see view.h.  Sequence
 * sets are resolved here and flags are written and parsed here, so that
 * FETCH, STORE, SEARCH, COPY and the untagged updates agree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap/arg.h"
#include "imap/client.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "store/store.h"

void
imap_view_done(struct imap_client *c, const char *status, const char *fmt, ...)
{
	char	text[512];
	va_list	ap;

	/* First cut: no sync yet; the view's updates come with NOOP/IDLE work. */
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	imap_tagged(c, status, "%s", text);
}

int
imap_view_resolve(const struct imap_client *c, const struct seqset *in, bool uid,
    struct seqset *out)
{
	size_t		 n = c->mb != NULL ? store_count(c->mb) : 0, i, lo, hi;
	struct seqset	 tmp;
	uint32_t	 maxuid;

	seqset_reset(out);
	seqset_init(&tmp);
	for (i = 0; i < in->n; i++)
		seqset_add_range(&tmp, in->r[i].lo, in->r[i].hi);
	if (!uid) {
		seqset_resolve(&tmp, (uint32_t)n);
		if (tmp.n > 0 && tmp.r[tmp.n - 1].hi > n) {
			seqset_clear(&tmp);
			return -1;
		}
		for (i = 0; i < tmp.n; i++)
			seqset_add_range(out, tmp.r[i].lo, tmp.r[i].hi);
		seqset_clear(&tmp);
		return 0;
	}
	maxuid = n > 0 ? store_msg(c->mb, n - 1)->uid : 0;
	seqset_resolve(&tmp, maxuid);
	for (i = 0; i < tmp.n; i++) {
		/* The view is UID-ordered: each UID range is one index range. */
		lo = store_lower_bound(c->mb, tmp.r[i].lo);
		hi = tmp.r[i].hi == UINT32_MAX ? n : store_lower_bound(c->mb, tmp.r[i].hi + 1);
		if (lo < hi)
			seqset_add_range(out, (uint32_t)lo + 1, (uint32_t)hi);
	}
	seqset_normalize(out);
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
	const struct store_msg	*m = store_msg(c->mb, idx);
	const char		*sep = "", *kw;
	size_t			 i;

	for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
		if (m->flags & sysflags[i].bit) {
			(void)buf_addf(out, "%s%s", sep, sysflags[i].name);
			sep = " ";
		}
	if (m->recent) {
		(void)buf_addf(out, "%s\\Recent", sep);
		sep = " ";
	}
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		if ((m->keywords & (1u << i)) &&
		    (kw = store_keyword_name(c->mb, (unsigned)i)) != NULL) {
			(void)buf_addf(out, "%s%s", sep, kw);
			sep = " ";
		}
}

static int
one_flag(struct imap_client *c, const struct imap_arg *a, bool create, uint32_t *flags,
    uint32_t *kws, const char **err_r)
{
	size_t	i;
	int	k;

	if (a->type != IMAP_ARG_ATOM) {
		*err_r = "Invalid flag.";
		return -1;
	}
	if (a->str[0] == '\\') {
		for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
			if (strcasecmp(a->str, sysflags[i].name) == 0) {
				*flags |= sysflags[i].bit;
				return 0;
			}
		*err_r = strcasecmp(a->str, "\\Recent") == 0 ?
		    "The \\Recent flag can't be changed." : "Invalid system flag.";
		return -1;
	}
	if ((k = store_keyword_index(c->mb, a->str, create)) >= 0) {
		*kws |= 1u << k;
		return 0;
	}
	if (errno == ENOENT)		/* !create: an unknown keyword matches nothing */
		return 0;
	*err_r = errno == ENOSPC ? "Too many keywords in this mailbox." : "Invalid keyword.";
	return -1;
}

int
imap_flags_parse(struct imap_client *c, const struct imap_arg *a, bool create,
    uint32_t *flags_r, uint32_t *keywords_r, const char **err_r)
{
	size_t i;

	*flags_r = 0;
	*keywords_r = 0;
	if (!imap_arg_is_list(a))
		return one_flag(c, a, create, flags_r, keywords_r, err_r);
	for (i = 0; i < a->count; i++)
		if (one_flag(c, &a->list[i], create, flags_r, keywords_r, err_r) < 0)
			return -1;
	return 0;
}
