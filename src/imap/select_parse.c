/*
 * SELECT / EXAMINE parameters; see select_parse.h.  Grammar (RFC 7162 7):
 *	select-param =/ "CONDSTORE"
 *	select-param =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 *			 [SP known-uids] [SP seq-match-data] ")"
 *	seq-match-data = "(" known-sequence-set SP known-uid-set ")"
 */
#include <string.h>

#include "imap/select_parse.h"

void
select_params_init(struct select_params *p)
{
	memset(p, 0, sizeof(*p));
	seqset_init(&p->known_uids);
	seqset_init(&p->seq_match);
	seqset_init(&p->uid_match);
}

void
select_params_clear(struct select_params *p)
{
	seqset_clear(&p->known_uids);
	seqset_clear(&p->seq_match);
	seqset_clear(&p->uid_match);
	select_params_init(p);
}

/* A set without "*" or "$" (RFC 7162 3.2.5: known-uids never holds "*"). */
static bool
set_arg(const struct imap_arg *a, struct seqset *s)
{
	const char *err;

	return a->type == IMAP_ARG_ATOM &&
	    seqset_parse(s, a->str, a->len, SEQSET_NO_STAR | SEQSET_NO_SAVED, &err) == 0;
}

/* Numbers in a set as written ("7:3" counts 5); sets pair up by position. */
static uint64_t
count_as_written(const struct seqset *s)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < s->n; i++)
		n += (s->r[i].lo <= s->r[i].hi ? s->r[i].hi - s->r[i].lo :
		    s->r[i].lo - s->r[i].hi) + 1ull;
	return n;
}

static int
seq_match(const struct imap_arg *a, struct select_params *p, const char **err_r)
{
	*err_r = "Invalid QRESYNC sequence match data";
	if (a->type != IMAP_ARG_LIST || a->count != 2 ||
	    !set_arg(&a->list[0], &p->seq_match) || !set_arg(&a->list[1], &p->uid_match))
		return -1;
	/* Each known sequence number needs its UID. */
	if (count_as_written(&p->seq_match) != count_as_written(&p->uid_match))
		return -1;
	p->has_match = true;
	return 0;
}

static int
qresync(const struct imap_arg *a, struct select_params *p, const char **err_r)
{
	size_t k = 2;

	*err_r = "Invalid QRESYNC parameters";
	if (p->qresync || a == NULL || a->type != IMAP_ARG_LIST || a->count < 2 ||
	    a->count > 4 || !imap_arg_nz_number(&a->list[0], &p->uidvalidity) ||
	    !imap_arg_number64(&a->list[1], &p->modseq) || p->modseq == 0)
		return -1;
	if (k < a->count && a->list[k].type == IMAP_ARG_ATOM) {
		if (!set_arg(&a->list[k], &p->known_uids)) {
			*err_r = "Invalid QRESYNC known UIDs";
			return -1;
		}
		seqset_normalize(&p->known_uids);
		p->has_known = true;
		k++;
	}
	if (k < a->count && seq_match(&a->list[k++], p, err_r) < 0)
		return -1;
	if (k != a->count)
		return -1;
	p->qresync = p->condstore = true;
	return 0;
}

int
select_params_parse(const struct imap_arg *list, struct select_params *p, const char **err_r)
{
	size_t i;

	select_params_init(p);
	*err_r = "Invalid SELECT parameters";
	if (!imap_arg_is_list(list) || list->count == 0)
		return -1;
	for (i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (imap_arg_is_atom(a, "CONDSTORE"))
			p->condstore = true;
		else if (imap_arg_is_atom(a, "QRESYNC")) {
			if (qresync(i + 1 < list->count ? &list->list[i + 1] : NULL, p, err_r) < 0)
				goto fail;
			i++;
		} else
			goto fail;
	}
	return 0;
fail:
	select_params_clear(p);
	return -1;
}
