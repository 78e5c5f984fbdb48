/*
 * The section and partial grammar of BODY[...]<...> and BINARY[...]<...>
 * (RFC 9051 9: section, section-spec, section-binary, partial), used by
 * fetch_parse.c.  Internal to src/imap/.
 */
#ifndef LB_IMAP_FETCH_SECTION_H
#define LB_IMAP_FETCH_SECTION_H

#include "imap/fetch_parse.h"

/*
 * s[0..len) is what follows the item name: "[...]" and an optional
 * "<offset.count>".  Fills it (part, text, fields, partial, label; type
 * and peek are set by the caller).  Returns 0, or -1 with *err_r.
 */
int	 fetch_section_parse(struct imap_arena *a, struct fetch_item *it, const char *name,
	    const char *s, size_t len, const char **err_r);

#endif
