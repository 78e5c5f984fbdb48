/*
 * A bump allocator for objects that live and die together: the argument
 * tree of one IMAP command, a parsed SEARCH query, a FETCH item list.
 * Allocation cannot fail (xmalloc); imap_arena_reset() keeps the first
 * block for the next command, imap_arena_free() releases everything.
 */
#ifndef LB_IMAP_ARENA_H
#define LB_IMAP_ARENA_H

#include <stddef.h>

struct imap_arena_block;

struct imap_arena {
	struct imap_arena_block	*head;		/* newest block first */
	size_t			 used;		/* bytes handed out since the last reset */
};

void	 imap_arena_init(struct imap_arena *a);
void	 imap_arena_reset(struct imap_arena *a);	/* forget every object, keep one block */
void	 imap_arena_free(struct imap_arena *a);		/* imap_arena_init state again */
/* n zeroed bytes aligned for any object; valid until reset/free. */
void	*imap_arena_alloc(struct imap_arena *a, size_t n);
/* Copy of p[0..n) followed by a NUL. */
char	*imap_arena_strndup(struct imap_arena *a, const void *p, size_t n);

#endif
