/*
 * Allocation that cannot fail: out of memory is fatal (STYLE.md §4.7).
 * Limits on untrusted input keep peers from driving us there.
 */
#ifndef LB_XMALLOC_H
#define LB_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *p, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
void	*xmemdup(const void *p, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* free(*p) and set *p = NULL; accepts p == NULL and *p == NULL. */
#define xfree(pp)	do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
