/*
 * IMAP sequence sets (RFC 3501 / RFC 9051 sequence-set, RFC 5182 "$"):
 * "1:5,7,9:*" parsed to ranges of uint32 numbers (0 is invalid, so the
 * parsed form uses 0 for "*" until seqset_resolve()), normalised, tested,
 * iterated and written back compactly (UIDPLUS COPYUID/APPENDUID, RFC 7162
 * VANISHED).  A struct seqset owns its range array.
 */
#ifndef LB_IMAP_SEQSET_H
#define LB_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define SEQ_STAR	0		/* "*" in a parsed, unresolved set */

struct seq_range {
	uint32_t	 lo, hi;	/* lo <= hi once resolved */
};

struct seqset {
	struct seq_range *r;
	size_t		 n, cap;
	bool		 saved;		/* it was "$": use the saved SEARCH result (RFC 5182) */
};

/* seqset_parse() flags */
#define SEQSET_NO_STAR	0x01		/* "*" not allowed (QRESYNC known-uids, RFC 7162) */
#define SEQSET_NO_SAVED	0x02		/* "$" not allowed */

void	 seqset_init(struct seqset *s);
void	 seqset_clear(struct seqset *s);		/* frees; seqset_init state again */
void	 seqset_reset(struct seqset *s);		/* empty, keeps memory */
void	 seqset_copy(struct seqset *dst, const struct seqset *src);	/* dst = src's ranges */

/*
 * Parse text[0..len) into s (emptied first).  Ranges are kept as written
 * ("7:3" stays 7..3, "*" is SEQ_STAR); call seqset_resolve() before use.
 * Returns 0, or -1 with *err_r a static message (s is then empty).
 */
int	 seqset_parse(struct seqset *s, const char *text, size_t len, unsigned flags,
	    const char **err_r);
/* Does text look like a sequence set (for SEARCH keys)?  Cheap, no parse. */
bool	 seqset_syntax_start(const char *text, size_t len);

/*
 * Replace "*" by max (the highest sequence number or UID in use; 0 for an
 * empty mailbox, where ranges with "*" drop out), order each range, sort
 * and merge.  "5:*" with max 3 is 3:5, as RFC 9051 6.4.8 requires.
 */
void	 seqset_resolve(struct seqset *s, uint32_t max);
/* Sort and merge overlapping and adjacent ranges (needs no "*"). */
void	 seqset_normalize(struct seqset *s);

/* Add lo..hi (any order, no "*"); seqset_append extends the last range when
 * v follows it, keeping insertion order (COPYUID pairs sets by position). */
void	 seqset_add_range(struct seqset *s, uint32_t lo, uint32_t hi);
void	 seqset_append(struct seqset *s, uint32_t v);

/* On a normalised set: */
bool	 seqset_contains(const struct seqset *s, uint32_t v);	/* binary search */
uint64_t seqset_count(const struct seqset *s);
uint32_t seqset_max(const struct seqset *s);			/* 0 when empty */

/* Iterate in range order: it starts zeroed; returns false at the end. */
struct seqset_iter {
	size_t		 i;
	uint64_t	 next;		/* 0: start of range i */
};
bool	 seqset_next(const struct seqset *s, struct seqset_iter *it, uint32_t *v_r);

/* Append "1:5,7,9:*" (ranges in their order; SEQ_STAR as "*") to out. -1 if
 * out is full. */
int	 seqset_format(const struct seqset *s, struct buf *out);

#endif
