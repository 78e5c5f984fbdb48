/* DATA decoding; see data.h for the rules. */
#include <string.h>

#include "lib/buf.h"
#include "smtp/data.h"

void
smtp_data_init(struct smtp_data *d)
{
	memset(d, 0, sizeof(*d));
	d->start = 1;
}

static void
emit(struct smtp_data *d, struct buf *out, const char *p, size_t n)
{
	(void)!buf_add(out, p, n);	/* out->max is sized by the caller */
	d->out += n;
}

size_t
smtp_data_feed(struct smtp_data *d, const char *p, size_t len, struct buf *out, bool *done_r)
{
	size_t i = 0;

	*done_r = false;
	while (i < len) {
		char c = p[i];

		if (d->dot == 2) {		/* ".\r" at a line start */
			d->dot = 0;
			if (c == '\n') {
				i++;
				if (d->dot_eligible) {
					*done_r = true;
					return i;
				}
				emit(d, out, ".\r\n", 3);	/* a lone "." that is not the end */
				d->start = 1;
				continue;
			}
			/* ".\r" + other: a lone "." line ended by a bare CR: keep the
			 * dot as with ".\n" (outbound delivery stuffs it again). */
			emit(d, out, ".\r\n", 3);
			d->bare = true;
			d->start = 2;
			continue;		/* reprocess c */
		}
		if (d->dot == 1) {		/* "." at a line start */
			if (c == '\r') {
				d->dot = 2;
				i++;
				continue;
			}
			d->dot = 0;
			if (c == '\n') {	/* ".\n": bare LF, not the end */
				emit(d, out, ".\r\n", 3);
				d->bare = true;
				d->start = 2;
				i++;
				continue;
			}
			/* RFC 5321 4.5.2: delete the leading dot; c is ordinary text. */
			d->start = 0;
			continue;		/* reprocess c */
		}
		if (d->cr) {
			d->cr = false;
			emit(d, out, "\r\n", 2);
			if (c == '\n') {
				d->start = 1;
				i++;
				continue;
			}
			d->bare = true;		/* bare CR, normalised */
			d->start = 2;
			continue;		/* reprocess c */
		}
		if (d->start != 0 && c == '.') {
			d->dot = 1;
			d->dot_eligible = d->start == 1;
			i++;
			continue;
		}
		if (c == '\r') {
			d->cr = true;
			i++;
			continue;
		}
		if (c == '\n') {
			emit(d, out, "\r\n", 2);
			d->bare = true;
			d->start = 2;
			i++;
			continue;
		}
		/* A run of ordinary bytes: copy it in one go. */
		{
			size_t j = i + 1;

			while (j < len && p[j] != '\r' && p[j] != '\n')
				j++;
			emit(d, out, p + i, j - i);
			d->start = 0;
			i = j;
		}
	}
	return i;
}
