/*
 * Growable byte buffer with a hard maximum (STYLE.md §3).  data is always
 * NUL-terminated at data[len], so text users may treat it as a C string;
 * binary users carry len.  An append that would pass max fails and leaves
 * the buffer unchanged.
 */
#ifndef LB_BUF_H
#define LB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len, cap;
	size_t	 max;		/* appends that would pass this fail */
};

void	 buf_init(struct buf *b, size_t max);
void	 buf_clear(struct buf *b);		/* frees; buf_init state again */
void	 buf_reset(struct buf *b);		/* len = 0, keeps memory */
/* buf_add and buf_addc when the bytes do not fit the memory there is (below). */
int	 buf_add_grow(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int	 buf_adds(struct buf *b, const char *s) __attribute__((warn_unused_result));
int	 buf_addc_grow(struct buf *b, char c) __attribute__((warn_unused_result));
int	 buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int	 buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Room for n more bytes to write in place (NULL when that passes max);
 * buf_commit() then appends the k <= n bytes written there. */
char	*buf_space(struct buf *b, size_t n);
void	 buf_commit(struct buf *b, size_t k);
const char *buf_str(const struct buf *b);	/* "" when empty; borrowed */
char	*buf_take(struct buf *b, size_t *len_r);	/* caller owns; b is reset */
void	 buf_consume(struct buf *b, size_t n);	/* drop n bytes from the front */

/*
 * Appends with room to spare, inline: building ENVELOPE, BODYSTRUCTURE
 * and FETCH responses appends ~100 times a message, and the call (and
 * buf_reserve's checks) cost more than the copy.
 */
__attribute__((warn_unused_result)) static inline int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n < b->cap - b->len && n <= b->max - b->len) {
		if (n)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add_grow(b, p, n);
}

__attribute__((warn_unused_result)) static inline int
buf_addc(struct buf *b, char c)
{
	if (b->len < b->max && b->cap - b->len >= 2) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_addc_grow(b, c);
}

#endif
