/*
 * FETCH section grammar; see fetch_section.h.  The parser keeps
 * "BODY[HEADER.FIELDS (A "B")]<0.10>" as one atom, so this scans text:
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   section-text = section-msgtext / "MIME"
 */
#include <string.h>

#include "imap/fetch_section.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/str.h"

struct scan {
	const char	*s;
	size_t		 len, pos;
	struct imap_arena *a;
};

static bool
eat(struct scan *sc, const char *lit)
{
	size_t	 n = strlen(lit);

	if (sc->len - sc->pos < n || !str_ieq(sc->s + sc->pos, n, lit))
		return false;
	sc->pos += n;
	return true;
}

static bool
digit(const struct scan *sc)
{
	return sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9';
}

static int
number(struct scan *sc, uint64_t max, uint64_t *v_r)
{
	size_t	 start = sc->pos;

	while (digit(sc))
		sc->pos++;
	return parse_u64(sc->s + start, sc->pos - start, max, v_r);
}

/* header-fld-name = astring: an atom, or a quoted string (no literal here). */
static int
field_name(struct scan *sc, struct buf *b)
{
	unsigned char	 c;

	buf_reset(b);
	if (sc->pos < sc->len && sc->s[sc->pos] == '"') {
		for (sc->pos++; sc->pos < sc->len; sc->pos++) {
			c = (unsigned char)sc->s[sc->pos];
			if (c == '"') {
				sc->pos++;
				return b->len > 0 ? 0 : -1;
			}
			if (c == '\\' && ++sc->pos >= sc->len)
				return -1;
			if (buf_addc(b, sc->s[sc->pos]) < 0)
				return -1;
		}
		return -1;
	}
	while (sc->pos < sc->len) {
		c = (unsigned char)sc->s[sc->pos];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			break;
		if (buf_addc(b, (char)c) < 0)
			return -1;
		sc->pos++;
	}
	return b->len > 0 ? 0 : -1;
}

/* SP "(" header-fld-name *(SP header-fld-name) ")" */
static int
header_list(struct scan *sc, struct fetch_item *it)
{
	const char	**names, **grown;
	size_t		 n = 0, cap = 8;
	struct buf	 b;
	int		 r = -1;

	if (!eat(sc, " ("))
		return -1;
	buf_init(&b, sc->len);
	names = imap_arena_alloc(sc->a, cap * sizeof(*names));
	for (;;) {
		if (field_name(sc, &b) < 0)
			goto out;
		if (n == cap) {
			/* n is bounded by the atom's length */
			grown = imap_arena_alloc(sc->a, 2 * cap * sizeof(*names));
			memcpy(grown, names, n * sizeof(*names));
			names = grown;
			cap *= 2;
		}
		names[n++] = imap_arena_strndup(sc->a, b.data, b.len);
		if (eat(sc, ")"))
			break;
		if (!eat(sc, " "))
			goto out;
	}
	it->fields = names;
	it->nfields = n;
	r = 0;
out:
	buf_clear(&b);
	return r;
}

static int
section_text(struct scan *sc, struct fetch_item *it, bool have_part)
{
	if (eat(sc, "HEADER.FIELDS.NOT"))
		it->text = FETCH_SEC_HEADER_FIELDS_NOT;
	else if (eat(sc, "HEADER.FIELDS"))
		it->text = FETCH_SEC_HEADER_FIELDS;
	else if (eat(sc, "HEADER"))
		it->text = FETCH_SEC_HEADER;
	else if (eat(sc, "TEXT"))
		it->text = FETCH_SEC_TEXT;
	else if (have_part && eat(sc, "MIME"))
		it->text = FETCH_SEC_MIME;
	else
		return -1;
	if (it->text == FETCH_SEC_HEADER_FIELDS || it->text == FETCH_SEC_HEADER_FIELDS_NOT)
		return header_list(sc, it);
	return 0;
}

static int
section_spec(struct scan *sc, struct fetch_item *it)
{
	uint32_t	*part = imap_arena_alloc(sc->a, FETCH_MAX_PART_DEPTH * sizeof(*part));
	uint64_t	 v;
	bool		 binary = it->type != FETCH_BODY_SECTION;

	it->part = part;
	while (digit(sc)) {
		if (it->nparts == FETCH_MAX_PART_DEPTH || number(sc, UINT32_MAX, &v) < 0 ||
		    v == 0)
			return -1;
		part[it->nparts++] = (uint32_t)v;
		if (!eat(sc, "."))
			return 0;
		if (!digit(sc))
			return binary ? -1 : section_text(sc, it, true);
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == ']')
		return 0;
	/* BINARY sections are part numbers only (RFC 3516 / RFC 9051 section-binary) */
	return binary || it->nparts > 0 ? -1 : section_text(sc, it, false);
}

/* "BODY[1.HEADER.FIELDS (A B)]<0>": the reply's name; BODY.PEEK answers as BODY. */
static int
make_label(struct scan *sc, struct fetch_item *it, const char *name)
{
	static const char *const texts[] = { "", "HEADER", "HEADER.FIELDS",
		"HEADER.FIELDS.NOT", "TEXT", "MIME" };
	struct buf	 b;
	size_t		 i;
	int		 r = 0;

	buf_init(&b, 2 * sc->len + 64);
	r |= buf_addf(&b, "%s[", name);
	for (i = 0; i < it->nparts; i++)
		r |= buf_addf(&b, "%s%u", i ? "." : "", it->part[i]);
	if (it->text != FETCH_SEC_ALL)
		r |= buf_addf(&b, "%s%s", it->nparts ? "." : "", texts[it->text]);
	for (i = 0; i < it->nfields; i++) {
		r |= buf_adds(&b, i ? " " : " (");
		r |= imap_write_astring(&b, it->fields[i], strlen(it->fields[i]), 0);
	}
	r |= buf_adds(&b, it->nfields ? ")]" : "]");
	if (it->partial)
		r |= buf_addf(&b, "<%llu>", (unsigned long long)it->offset);
	if (r == 0)
		it->label = imap_arena_strndup(sc->a, b.data, b.len);
	buf_clear(&b);
	return r == 0 ? 0 : -1;
}

int
fetch_section_parse(struct imap_arena *a, struct fetch_item *it, const char *name,
    const char *s, size_t len, const char **err_r)
{
	struct scan	 sc = { s, len, 0, a };
	uint64_t	 off, cnt;

	*err_r = "Invalid section";
	if (!eat(&sc, "[") || section_spec(&sc, it) < 0 || !eat(&sc, "]"))
		return -1;
	if (eat(&sc, "<")) {
		*err_r = "Invalid partial";
		if (it->type == FETCH_BINARY_SIZE || number(&sc, IMAP_NUMBER64_MAX, &off) < 0 ||
		    !eat(&sc, ".") || number(&sc, IMAP_NUMBER64_MAX, &cnt) < 0 || cnt == 0 ||
		    !eat(&sc, ">"))
			return -1;
		it->partial = true;
		it->offset = off;
		it->count = cnt;
	}
	if (sc.pos != sc.len) {
		*err_r = "Invalid characters after section";
		return -1;
	}
	return make_label(&sc, it, name);
}
