/*
 * FETCH attribute parser; see fetch_parse.h.  Plain items come from a
 * table; items with a "[" go to fetch_section.c.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/fetch_parse.h"
#include "imap/fetch_section.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

static const struct {
	const char		*name;
	enum fetch_item_type	 type;
} plain[] = {
	{ "ENVELOPE", FETCH_ENVELOPE },
	{ "FLAGS", FETCH_FLAGS },
	{ "INTERNALDATE", FETCH_INTERNALDATE },
	{ "RFC822", FETCH_RFC822 },
	{ "RFC822.HEADER", FETCH_RFC822_HEADER },
	{ "RFC822.SIZE", FETCH_RFC822_SIZE },
	{ "RFC822.TEXT", FETCH_RFC822_TEXT },
	{ "BODY", FETCH_BODY },
	{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
	{ "UID", FETCH_UID },
	{ "MODSEQ", FETCH_MODSEQ },
	{ "EMAILID", FETCH_EMAILID },
	{ "THREADID", FETCH_THREADID },
	{ "SAVEDATE", FETCH_SAVEDATE },
	{ "PREVIEW", FETCH_PREVIEW },
};

/* Items with a section: prefix before "[", type, peek, reply name. */
static const struct {
	const char		*prefix;
	enum fetch_item_type	 type;
	bool			 peek;
	const char		*label;
} sectioned[] = {
	{ "BODY", FETCH_BODY_SECTION, false, "BODY" },
	{ "BODY.PEEK", FETCH_BODY_SECTION, true, "BODY" },
	{ "BINARY", FETCH_BINARY, false, "BINARY" },
	{ "BINARY.PEEK", FETCH_BINARY, true, "BINARY" },
	{ "BINARY.SIZE", FETCH_BINARY_SIZE, true, "BINARY.SIZE" },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct fetch_item *
add_item(struct fetch_attrs *fa, size_t cap, enum fetch_item_type type)
{
	struct fetch_item	*it;

	if (fa->n == cap)
		return NULL;	/* cannot happen: cap counts every possible item */
	it = &fa->items[fa->n++];
	memset(it, 0, sizeof(*it));
	it->type = type;
	fa->want |= FETCH_WANT(type);
	if (type == FETCH_RFC822 || type == FETCH_RFC822_TEXT)
		fa->sets_seen = true;
	return it;
}

static int
parse_item(struct fetch_attrs *fa, size_t cap, const struct imap_arg *a, const char **err_r)
{
	struct fetch_item	*it;
	const char		*br;
	size_t			 i, plen;

	*err_r = "Invalid fetch attribute";
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	for (i = 0; i < NELEM(plain); i++)
		if (str_ieq(a->str, a->len, plain[i].name))
			return add_item(fa, cap, plain[i].type) ? 0 : -1;
	if ((br = memchr(a->str, '[', a->len)) == NULL)
		return -1;
	plen = (size_t)(br - a->str);
	for (i = 0; i < NELEM(sectioned); i++) {
		if (!str_ieq(a->str, plen, sectioned[i].prefix))
			continue;
		if ((it = add_item(fa, cap, sectioned[i].type)) == NULL)
			return -1;
		it->peek = sectioned[i].peek;
		if (!it->peek)
			fa->sets_seen = true;
		return fetch_section_parse(&fa->arena, it, sectioned[i].label, br,
		    a->len - plen, err_r);
	}
	return -1;
}

static int
macro(struct fetch_attrs *fa, size_t cap, const struct imap_arg *a)
{
	static const enum fetch_item_type fast[] = { FETCH_FLAGS, FETCH_INTERNALDATE,
		FETCH_RFC822_SIZE, FETCH_ENVELOPE, FETCH_BODY };
	size_t	 n, i;

	if (imap_arg_is_atom(a, "FAST"))
		n = 3;
	else if (imap_arg_is_atom(a, "ALL"))
		n = 4;
	else if (imap_arg_is_atom(a, "FULL"))
		n = 5;
	else
		return 0;
	for (i = 0; i < n; i++)
		add_item(fa, cap, fast[i]);
	return 1;
}

/*
 * RFC 8970 3.1: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], the
 * only modifier LAZY.  A preview is always had from the cache (made with
 * the message's structure), so LAZY changes nothing here.
 */
static bool
preview_mods(const struct imap_arg *list)
{
	size_t	i;

	if (!imap_arg_is_list(list) || list->count == 0)
		return false;
	for (i = 0; i < list->count; i++)
		if (!imap_arg_is_atom(&list->list[i], "LAZY"))
			return false;
	return true;
}

static bool
is_preview(const struct fetch_attrs *fa)
{
	return fa->n > 0 && fa->items[fa->n - 1].type == FETCH_PREVIEW;
}

/* (CHANGEDSINCE modseq [VANISHED]) in any order: RFC 7162 3.1.4, 3.2.6 */
static int
modifiers(struct fetch_attrs *fa, const struct imap_arg *list, bool uid, const char **err_r)
{
	size_t	 i;

	*err_r = "Invalid fetch modifier";
	if (!imap_arg_is_list(list))
		return -1;
	for (i = 0; i < list->count; i++) {
		const struct imap_arg *m = &list->list[i];

		if (imap_arg_is_atom(m, "CHANGEDSINCE") && !fa->changedsince &&
		    i + 1 < list->count &&
		    imap_arg_number64(&list->list[i + 1], &fa->changedsince_modseq)) {
			fa->changedsince = true;
			i++;
		} else if (imap_arg_is_atom(m, "VANISHED") && uid && !fa->vanished)
			fa->vanished = true;
		else
			return -1;
	}
	if (fa->vanished && !fa->changedsince) {
		*err_r = "VANISHED requires CHANGEDSINCE";
		return -1;
	}
	return 0;
}

int
fetch_parse(const struct imap_arg *args, size_t nargs, bool uid, struct fetch_attrs **fa_r,
    const char **err_r)
{
	struct fetch_attrs	*fa = xcalloc(1, sizeof(*fa));
	const struct imap_arg	*a = nargs > 0 ? &args[0] : NULL;
	size_t			 cap, i;

	fa->refs = 1;
	imap_arena_init(&fa->arena);
	*err_r = "Missing fetch attributes";
	if (a == NULL || nargs > 2)
		goto fail;
	/* every item the list can add, plus a macro's five, UID and MODSEQ */
	cap = (a->type == IMAP_ARG_LIST ? a->count : 0) + 7;
	fa->items = imap_arena_alloc(&fa->arena, cap * sizeof(*fa->items));
	if (a->type == IMAP_ARG_LIST) {
		if (a->count == 0)
			goto fail;
		for (i = 0; i < a->count; i++) {
			if (a->list[i].type == IMAP_ARG_LIST && is_preview(fa) &&
			    preview_mods(&a->list[i]))
				continue;
			if (parse_item(fa, cap, &a->list[i], err_r) < 0)
				goto fail;
		}
	} else if (macro(fa, cap, a) == 0 && parse_item(fa, cap, a, err_r) < 0)
		goto fail;
	/* FETCH 1 PREVIEW (LAZY): the list is the item's, not fetch modifiers */
	if (nargs == 2 && !(a->type != IMAP_ARG_LIST && is_preview(fa) &&
	    preview_mods(&args[1])) && modifiers(fa, &args[1], uid, err_r) < 0)
		goto fail;
	if (uid && !(fa->want & FETCH_WANT(FETCH_UID)))
		add_item(fa, cap, FETCH_UID);
	if (fa->changedsince && !(fa->want & FETCH_WANT(FETCH_MODSEQ)))
		add_item(fa, cap, FETCH_MODSEQ);
	*fa_r = fa;
	return 0;
fail:
	fetch_attrs_free(&fa);
	return -1;
}

struct fetch_attrs *
fetch_attrs_ref(struct fetch_attrs *fa)
{
	fa->refs++;
	return fa;
}

void
fetch_attrs_free(struct fetch_attrs **fap)
{
	struct fetch_attrs	*fa = *fap;

	if (fa == NULL)
		return;
	*fap = NULL;
	if (--fa->refs > 0)
		return;
	imap_arena_free(&fa->arena);
	free(fa);
	*fap = NULL;
}
