/*
 * MIME header extensions: RFC 2047 encoded words ("=?charset?B|Q?...?=")
 * decoded to UTF-8, and MIME parameters (RFC 2045 5.1) with RFC 2231
 * continuations ("name*0*=", "name*1=") merged.  Conversion to UTF-8 goes
 * through decode.h (glibc iconv); a word in an unknown charset or with a
 * broken encoding stays as written.
 */
#ifndef LB_MIME_RFC2047_H
#define LB_MIME_RFC2047_H

#include <stddef.h>

#include "lib/buf.h"

/*
 * Append s[0..len) to out with encoded words decoded to UTF-8 and the
 * white space between two adjacent encoded words removed (RFC 2047 6.2).
 * Other text is copied as is (callers unfold first).  Returns -1 only
 * when out reaches its maximum.
 */
int	 rfc2047_decode(const char *s, size_t len, struct buf *out);

struct mime_param {
	char	*name;		/* as written; "name*" for RFC 2231 values */
	char	*value;		/* unquoted */
};

/* Parameters kept per header field; more are dropped (hostile input). */
#define MIME_PARAMS_MAX	64
/* A merged parameter value is cut at this length. */
#define HDR_PARAM_VALUE_MAX	(64 * 1024)

/*
 * Parse a structured MIME value `token *(";" attribute "=" value)`
 * (Content-Type, Content-Disposition).  *token_r is the leading token
 * (e.g. "text/plain"), NULL if empty; *params_r an array of the returned
 * count.  RFC 2231 continuations of one attribute are merged into a single
 * parameter, as Dovecot does: if any segment was extended ("*") the result
 * is called "name*" and keeps the charset'lang'%XX form (with plain
 * segments %-escaped), else "name" with the segments joined.  Parameters
 * without "=" are skipped.  Both results belong to the caller:
 * free(*token_r), mime_params_free().
 */
size_t	 mime_params_parse(const char *v, size_t len, char **token_r,
	    struct mime_param **params_r);
void	 mime_params_free(struct mime_param **params, size_t n);

/*
 * Decode an RFC 2231 extended value "charset'lang'%XX..." to UTF-8 and
 * append it.  Returns 0, 1 when the charset was unknown (bytes appended
 * raw after %-decoding), -1 when out is full.
 */
int	 rfc2231_decode(const char *v, size_t len, struct buf *out);

#endif
