/*
 * libFuzzer harness for the server side SASL mechanisms (src/auth/sasl.h),
 * which see the client's base64 before any login: the first byte picks
 * the mechanism and whether an initial response is given, the rest is
 * split at LF into response lines (each copied to an exact-size buffer so
 * ASan catches a read past it) fed to sasl_start() / sasl_step() while the
 * exchange continues.  After SASL_DONE the credentials must be
 * NUL-terminated strings with no NUL inside their length; after anything
 * else, an error text must be there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl		 s;
	enum sasl_status	 st;
	const char		*p, *end, *nl, *ch, *err;
	char			*line;
	size_t			 len;
	unsigned		 mode, steps = 0;
	bool			 first = true;

	if (size < 1 || size > 4 * SASL_RESPONSE_MAX)
		return 0;
	mode = data[0];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	sasl_init(&s, (mode & 1) ? SASL_LOGIN : SASL_PLAIN);
	if (!(mode & 2)) {
		/* No initial response: the mechanism asks first. */
		ch = err = NULL;
		st = sasl_start(&s, NULL, 0, &ch, &err);
		if (st != SASL_CONTINUE || ch == NULL)
			abort();
		first = false;
	} else
		st = SASL_CONTINUE;
	while (st == SASL_CONTINUE && steps++ < 16) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl != NULL ? nl : end) - p);
		if ((line = malloc(len ? len : 1)) == NULL)
			break;
		memcpy(line, p, len);
		ch = err = NULL;
		if (first)
			st = sasl_start(&s, line, len, &ch, &err);
		else
			st = sasl_step(&s, line, len, &ch, &err);
		first = false;
		free(line);
		if (st == SASL_CONTINUE && ch == NULL)
			abort();
		if (st == SASL_ERROR && err == NULL)
			abort();
		if (nl == NULL) {
			p = end;
			if (st == SASL_CONTINUE)
				break;
		} else
			p = nl + 1;
	}
	if (st == SASL_DONE) {
		if (sasl_login(&s) == NULL || sasl_password(&s) == NULL)
			abort();
		if (strlen(sasl_login(&s)) > SASL_LOGIN_MAX + SASL_RESPONSE_MAX)
			abort();
		(void)strlen(sasl_password(&s));
	}
	sasl_clear(&s);
	sasl_clear(&s);		/* must be safe twice */
	return 0;
}
