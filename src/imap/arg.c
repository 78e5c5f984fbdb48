/* Typed accessors for the IMAP argument tree; see arg.h. */
#include <stdint.h>

#include "imap/arg.h"
#include "lib/str.h"

bool
imap_arg_is_atom(const struct imap_arg *a, const char *lit)
{
	return a != NULL && a->type == IMAP_ARG_ATOM && str_ieq(a->str, a->len, lit);
}

bool
imap_arg_is_list(const struct imap_arg *a)
{
	return a != NULL && a->type == IMAP_ARG_LIST;
}

bool
imap_arg_astring(const struct imap_arg *a, const char **s_r, size_t *len_r)
{
	if (a == NULL)
		return false;
	switch (a->type) {
	case IMAP_ARG_NIL:
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*s_r = a->str;
		*len_r = a->len;
		return true;
	default:
		return false;
	}
}

bool
imap_arg_nstring(const struct imap_arg *a, const char **s_r, size_t *len_r)
{
	if (a != NULL && a->type == IMAP_ARG_NIL) {
		*s_r = NULL;
		*len_r = 0;
		return true;
	}
	return imap_arg_string(a, s_r, len_r);
}

bool
imap_arg_string(const struct imap_arg *a, const char **s_r, size_t *len_r)
{
	if (a == NULL || (a->type != IMAP_ARG_STRING && a->type != IMAP_ARG_LITERAL))
		return false;
	*s_r = a->str;
	*len_r = a->len;
	return true;
}

bool
imap_arg_number64(const struct imap_arg *a, uint64_t *v_r)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM || !a->numeric)
		return false;
	*v_r = a->num;
	return true;
}

bool
imap_arg_number(const struct imap_arg *a, uint32_t *v_r)
{
	uint64_t	 v;

	if (!imap_arg_number64(a, &v) || v > UINT32_MAX)
		return false;
	*v_r = (uint32_t)v;
	return true;
}

bool
imap_arg_nz_number(const struct imap_arg *a, uint32_t *v_r)
{
	return imap_arg_number(a, v_r) && *v_r != 0;
}
