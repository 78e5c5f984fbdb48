/*
 * Mail addresses and domain names: validation and the one stored form.
 *
 * Stored form of a domain: lower case ASCII; an internationalized domain is
 * stored as its A-label form (xn--..., IDNA2008 via libidn2), which is what
 * arrives in SMTP without SMTPUTF8.  A U-label input is converted.
 * Address: LOCAL@DOMAIN where LOCAL is an RFC 5321 Dot-string (or a
 * Quoted-string) and may hold UTF-8 (RFC 6531); the local part keeps its case
 * (lookups decide on case folding), the domain takes the stored form.
 */
#ifndef LB_ADDR_H
#define LB_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 (octets) */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3 */

/*
 * Check a domain (ASCII or UTF-8 U-labels; no trailing dot, no address
 * literal).  Returns 0 and *norm_r (allocated, stored form) or -1 with
 * *err_r set to a static text.
 */
int	 domain_normalize(const char *s, char **norm_r, const char **err_r);

/*
 * Check "local@domain" (no angle brackets).  Returns 0 with *norm_r
 * allocated (local part as given, domain in stored form), or -1 with *err_r.
 * utf8: allow UTF-8 in the local part (SMTPUTF8 / admin input).
 */
int	 addr_normalize(const char *s, size_t len, bool utf8, char **norm_r, const char **err_r);

/* Check a local part alone (Dot-string or Quoted-string). */
bool	 addr_local_valid(const char *s, size_t len, bool utf8);

/* Split at the last '@'; returns a pointer to it or NULL. */
const char *addr_at(const char *addr);

/*
 * The lookup key for an address: the domain part in stored form and the
 * local part lower-cased unless case_sensitive.  Allocated.  NULL when
 * the address does not validate.
 */
char	*addr_lookup_key(const char *addr, bool case_sensitive);

#endif
