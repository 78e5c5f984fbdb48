/*
 * IMAP dates (RFC 3501 / RFC 9051 section 9: date, date-time): the SEARCH
 * date "d-Mon-yyyy" and the APPEND / INTERNALDATE date-time
 * "dd-Mon-yyyy hh:mm:ss +zzzz".  Pure arithmetic: no time zone database,
 * no locale.
 */
#ifndef LB_IMAP_DATE_H
#define LB_IMAP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* date-text: d-Mon-yyyy or dd-Mon-yyyy, month any case, a real day of a
 * real month.  0 and *yyyymmdd_r (compare as integers), or -1. */
int	 imap_parse_date(const char *s, size_t len, uint32_t *yyyymmdd_r);

/*
 * date-time without its quotes (as imap_arg_string() gives it): exactly
 * "dd-Mon-yyyy hh:mm:ss +zzzz", the day may be " d".  0 with *utc_r
 * (seconds since 1970, may be negative) and *zone_min_r (the offset in
 * minutes, -1439..1439), or -1.
 */
int	 imap_parse_datetime(const char *s, size_t len, int64_t *utc_r, int *zone_min_r);

/*
 * An RFC 5322 3.3 date-time (a Date: header value, unfolded), with the
 * obsolete forms of 4.3: two- and three-digit years, named zones (UT, GMT,
 * EST...; military letters count as +0000), comments, missing seconds.
 * The day of the week is skipped, not checked.  0 with *utc_r (seconds
 * since 1970), or -1 when it is not a date (RFC 5256 SORT then falls back
 * to the internal date).
 */
int	 imap_parse_rfc5322_date(const char *s, size_t len, int64_t *utc_r);

#define IMAP_DATETIME_LEN	26	/* without the quotes and the NUL */

/* Format utc shown in zone_min as date-time (no quotes) into out[27]. */
void	 imap_format_datetime(int64_t utc, int zone_min, char out[IMAP_DATETIME_LEN + 1]);

#endif
