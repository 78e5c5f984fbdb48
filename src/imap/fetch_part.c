/*
 * FETCH section to byte range: see fetch_part.h.
 */
#include <strings.h>

#include "imap/fetch_part.h"
#include "mime/mime.h"

const struct mime_part *
fetch_part_find(const struct mime_part *root, const uint32_t *part, size_t n, bool *as_msg_r)
{
	const struct mime_part	*x = root, *ch;
	bool			 as_msg = true;
	size_t			 i;
	uint32_t		 k;

	for (i = 0; i < n; i++) {
		/* a message/rfc822 part's numbers go on inside its message */
		if (!as_msg && (x->flags & MIME_F_MESSAGE) && x->children != NULL) {
			x = x->children;
			as_msg = true;
		}
		if (x->flags & MIME_F_MULTIPART) {
			for (ch = x->children, k = 1; ch != NULL && k < part[i]; ch = ch->next)
				k++;
			if (ch == NULL)
				return NULL;
			x = ch;
		} else if (!as_msg || part[i] != 1)
			return NULL;	/* a single-part body has only part 1 */
		as_msg = false;
	}
	*as_msg_r = as_msg;
	return x;
}

void
fetch_section_range(const struct mime_part *root, const struct fetch_item *it,
    struct fetch_range *r)
{
	const struct mime_part	*x;
	bool			 as_msg = true;

	r->found = false;
	r->off = r->len = 0;
	r->body = NULL;
	if ((x = fetch_part_find(root, it->part, it->nparts, &as_msg)) == NULL)
		return;
	/* HEADER, TEXT, HEADER.FIELDS of a part: of its message/rfc822 */
	if (!as_msg && it->text != FETCH_SEC_ALL && it->text != FETCH_SEC_MIME) {
		if (!(x->flags & MIME_F_MESSAGE) || x->children == NULL)
			return;
		x = x->children;
		as_msg = true;
	}
	r->found = true;
	switch (it->text) {
	case FETCH_SEC_MIME:
	case FETCH_SEC_HEADER:
	case FETCH_SEC_HEADER_FIELDS:
	case FETCH_SEC_HEADER_FIELDS_NOT:
		r->off = x->hdr_off;
		r->len = x->hdr_len;
		return;
	case FETCH_SEC_TEXT:
		r->off = x->body_off;
		r->len = x->body_len;
		return;
	case FETCH_SEC_ALL:
		break;
	}
	if (as_msg) {
		r->off = x->hdr_off;
		r->len = x->hdr_len + x->body_len;
	} else {
		r->off = x->body_off;
		r->len = x->body_len;
		r->body = x;
	}
}

int
fetch_cte_kind(const char *cte, enum xfer_kind *k_r)
{
	if (cte == NULL || strcasecmp(cte, "7bit") == 0 || strcasecmp(cte, "8bit") == 0 ||
	    strcasecmp(cte, "binary") == 0)
		*k_r = XFER_IDENT;
	else if (strcasecmp(cte, "base64") == 0)
		*k_r = XFER_BASE64;
	else if (strcasecmp(cte, "quoted-printable") == 0)
		*k_r = XFER_QP;
	else
		return -1;
	return 0;
}
