/*
 * The durable spool, reading side (see spool.h): the bounded parser of queue
 * files (a corrupt file is moved aside, never trusted), recipient status
 * records (append-only, last record wins, torn or malformed ones ignored).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "spool/spool_int.h"

#define RBUF_SIZE	(64 * 1024)

/* ---- a bounded line reader over a file ---- */

struct lreader {
	int	 fd;
	char	*buf;
	size_t	 start, end;
	off_t	 off;		/* file offset of buf[0] */
	bool	 eof;
};

/*
 * Next LF-terminated line without its LF.  Returns 1 (line), 0 (end of
 * file; *torn_r when bytes without LF were left), -1 (errno; E2BIG when a
 * line passes SPOOL_LINE_MAX).
 */
static int
lr_next(struct lreader *r, const char **line_r, size_t *len_r, bool *torn_r)
{
	char	*nl;
	ssize_t	 n;

	*torn_r = false;
	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			*line_r = r->buf + r->start;
			*len_r = (size_t)(nl - (r->buf + r->start));
			r->start += *len_r + 1;
			if (*len_r > SPOOL_LINE_MAX) {
				errno = E2BIG;
				return -1;
			}
			return 1;
		}
		if (r->end - r->start > SPOOL_LINE_MAX) {
			errno = E2BIG;
			return -1;
		}
		if (r->eof) {
			*torn_r = r->end > r->start;
			return 0;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->off += (off_t)r->start;
			r->end -= r->start;
			r->start = 0;
		}
		n = read(r->fd, r->buf + r->end, RBUF_SIZE - r->end);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			r->eof = true;
		r->end += (size_t)n;
	}
}

/* Skip the rest of an over-long line (status file: ignore, go on). */
static int
lr_skip(struct lreader *r)
{
	char	*nl;
	ssize_t	 n;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			r->start = (size_t)(nl - r->buf) + 1;
			return 0;
		}
		r->off += (off_t)r->end;
		r->start = r->end = 0;
		if (r->eof)
			return 0;
		n = read(r->fd, r->buf, RBUF_SIZE);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			r->eof = true;
		r->end = (size_t)n;
	}
}

/* ---- reading ---- */

static void
rcpt_clear(struct spool_rcpt *rc)
{
	free((void *)rc->addr);
	free((void *)rc->orig);
	free((void *)rc->orcpt);
	free((void *)rc->reason);
	memset(rc, 0, sizeof(*rc));
}

void
spool_msg_free(struct spool_msg **msgp)
{
	struct spool_msg	*m = *msgp;
	size_t			 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->env.nrcpt; i++)
		rcpt_clear(&m->env.rcpts[i]);
	free(m->env.rcpts);
	free((void *)m->env.sender);
	free((void *)m->env.envid);
	free((void *)m->env.auth_user);
	free((void *)m->env.helo);
	free((void *)m->env.client_addr);
	free((void *)m->env.client_name);
	free((void *)m->env.origin);
	if (m->fd != -1)
		close(m->fd);
	if (m->stfd != -1)
		close(m->stfd);
	free(m->qdir);
	free(m);
	*msgp = NULL;
}

static struct spool_rcpt *
rcpt_push(struct spool_msg *m)
{
	struct spool_rcpt *rc;

	if (m->env.nrcpt == m->rcap) {
		m->rcap = m->rcap == 0 ? 8 : m->rcap * 2;
		m->env.rcpts = xreallocarray(m->env.rcpts, m->rcap, sizeof(*m->env.rcpts));
	}
	rc = &m->env.rcpts[m->env.nrcpt++];
	memset(rc, 0, sizeof(*rc));
	rc->parent = -1;
	return rc;
}

static bool
tok_next(const char **p, const char *end, const char **tok_r, size_t *len_r)
{
	const char *s = *p, *sp;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	sp = memchr(s, ' ', (size_t)(end - s));
	if (sp == NULL)
		sp = end;
	*tok_r = s;
	*len_r = (size_t)(sp - s);
	*p = sp;
	return true;
}

static const char *
parse_rcpt(struct spool_msg *m, const char *v, size_t len)
{
	struct spool_rcpt	*rc;
	const char		*p = v, *end = v + len, *tok, *eq;
	size_t			 tlen;
	uint64_t		 n;

	if (m->env.nrcpt >= SPOOL_RCPT_MAX)
		return "too many recipients";
	rc = rcpt_push(m);
	while (tok_next(&p, end, &tok, &tlen)) {
		const char	**dst = NULL;
		size_t		  klen;

		eq = memchr(tok, '=', tlen);
		if (eq == NULL)
			return "recipient token without '='";
		klen = (size_t)(eq - tok);
		eq++;
		if (str_ieq(tok, klen, "to"))
			dst = &rc->addr;
		else if (str_ieq(tok, klen, "orig"))
			dst = &rc->orig;
		else if (str_ieq(tok, klen, "orcpt"))
			dst = &rc->orcpt;
		else if (str_ieq(tok, klen, "notify")) {
			if (parse_u64(eq, tlen - klen - 1, 0x0f, &n) == -1)
				return "bad notify";
			rc->notify = (unsigned)n;
			continue;
		} else
			continue;	/* a later version's field */
		if (*dst != NULL)
			return "duplicate recipient field";
		if ((*dst = spool_unesc(eq, tlen - klen - 1, SPOOL_ADDR_MAX)) == NULL)
			return "bad recipient value";
	}
	if (rc->addr == NULL || rc->addr[0] == '\0')
		return "recipient without address";
	return NULL;
}

/* Parse one envelope line; returns NULL or why it is corrupt. */
static const char *
parse_env_line(struct spool_msg *m, const char *line, size_t len, unsigned *seen)
{
	const char	**dst = NULL;
	const char	 *v = line + 2;
	size_t		  vlen = len >= 2 ? len - 2 : 0;
	uint64_t	  n;
	char		  key = line[0];

	if (len == 0)
		return "empty line";
	if (len >= 2 && line[1] != ' ')
		return "malformed line";
	if (key >= 'A' && key <= 'Z') {
		if (key != 'R' && (*seen & (1u << (key - 'A'))))
			return "duplicate field";
		*seen |= 1u << (key - 'A');
	}
	switch (key) {
	case 'T':
		if (parse_u64(v, vlen, (uint64_t)INT64_MAX, &n) == -1)
			return "bad arrival time";
		m->env.arrival_us = (int64_t)n;
		return NULL;
	case 'S': dst = &m->env.sender; break;
	case 'E': dst = &m->env.envid; break;
	case 'A': dst = &m->env.auth_user; break;
	case 'H': dst = &m->env.helo; break;
	case 'I': dst = &m->env.client_addr; break;
	case 'D': dst = &m->env.client_name; break;
	case 'O': dst = &m->env.origin; break;
	case 'N':
		if (str_ieq(v, vlen, "FULL"))
			m->env.ret = SPOOL_RET_FULL;
		else if (str_ieq(v, vlen, "HDRS"))
			m->env.ret = SPOOL_RET_HDRS;
		else
			return "bad RET";
		return NULL;
	case 'B':
		if (str_ieq(v, vlen, "7BIT"))
			m->env.body = SPOOL_BODY_7BIT;
		else if (str_ieq(v, vlen, "8BITMIME"))
			m->env.body = SPOOL_BODY_8BITMIME;
		else if (str_ieq(v, vlen, "BINARYMIME"))
			m->env.body = SPOOL_BODY_BINARYMIME;
		else
			return "bad body type";
		return NULL;
	case 'U':
		if (len != 1)
			return "bad SMTPUTF8 flag";
		m->env.smtputf8 = true;
		return NULL;
	case 'R':
		return parse_rcpt(m, v, vlen);
	default:
		return NULL;	/* a later version's field */
	}
	/* 'S' may be empty (null sender); every other value must not be. */
	if (len < 2 || (vlen == 0 && key != 'S'))
		return "empty value";
	if ((*dst = spool_unesc(v, vlen, SPOOL_ADDR_MAX)) == NULL)
		return "bad value";
	return NULL;
}

static const char	read_error[] = "read error";

static const char *
parse_envelope(struct spool_msg *m, struct lreader *r)
{
	const char	*line, *why;
	size_t		 len;
	bool		 torn;
	unsigned	 seen = 0;
	uint64_t	 ver;
	int		 n;

	n = lr_next(r, &line, &len, &torn);
	if (n != 1)
		return n == 0 ? "empty file" : errno == E2BIG ? "not a spool file" : read_error;
	if (len < 9 || memcmp(line, "LBSPOOL ", 8) != 0 ||
	    parse_u64(line + 8, len - 8, 1000000, &ver) == -1)
		return "not a spool file";
	if (ver != SPOOL_VERSION)
		return "unsupported spool version";
	for (;;) {
		n = lr_next(r, &line, &len, &torn);
		if (n == -1)
			return errno == E2BIG ? "line too long" : read_error;
		if (n == 0)
			return "envelope not terminated";
		if (len == 0)
			break;
		if (str_has_nul(line, len))
			return "NUL in envelope";
		if ((why = parse_env_line(m, line, len, &seen)) != NULL)
			return why;
	}
	if (!(seen & (1u << ('T' - 'A'))) || m->env.sender == NULL)
		return "envelope without arrival time or sender";
	if (m->env.nrcpt == 0)
		return "no recipients";
	m->msg_offset = r->off + (off_t)r->start;
	return NULL;
}

static bool
parse_state(const char *s, size_t len, enum spool_rcpt_state *st_r)
{
	size_t i;

	for (i = 0; i < SPOOL_NSTATES; i++)
		if (spool_state_names[i] != NULL && str_ieq(s, len, spool_state_names[i])) {
			*st_r = (enum spool_rcpt_state)i;
			return true;
		}
	return false;
}

/* Apply one status record; malformed ones are ignored (returns false). */
static bool
apply_status(struct spool_msg *m, const char *line, size_t len)
{
	const char		*p = line + 1, *end = line + len, *tok;
	const char		*f[7];
	size_t			 fl[7], nf = 0, tlen;
	uint64_t		 idx, a, b, c;
	enum spool_rcpt_state	 st;
	struct spool_rcpt	*rc;

	if (len < 3 || line[1] != ' ')
		return false;
	/* At most 6 fields: the reason is the last and contains no space. */
	while (nf < 7 && tok_next(&p, end, &tok, &tlen)) {
		f[nf] = tok;
		fl[nf++] = tlen;
	}
	/* nf == 0: "S   " (only spaces) has no index; f[0] is unset. */
	if (nf == 0 || nf == 7 || parse_u64(f[0], fl[0], SPOOL_RCPT_MAX, &idx) == -1)
		return false;
	switch (line[0]) {
	case 'S':
		if (nf < 5 || idx >= m->env.nrcpt || !parse_state(f[1], fl[1], &st) ||
		    parse_u64(f[2], fl[2], (uint64_t)INT64_MAX, &a) == -1 ||
		    parse_u64(f[3], fl[3], (uint64_t)INT64_MAX, &b) == -1 ||
		    parse_u64(f[4], fl[4], UINT32_MAX, &c) == -1)
			return false;
		rc = &m->env.rcpts[idx];
		rc->state = st;
		rc->updated = (time_t)a;
		rc->next_retry = (time_t)b;
		rc->attempts = (unsigned)c;
		free((void *)rc->reason);
		rc->reason = nf == 6 ? spool_unesc(f[5], fl[5], SPOOL_REASON_MAX) : NULL;
		return true;
	case 'A': {
		char	*addr;
		size_t	 i;

		/* "A idx parent addr": idx must be the next one, so a record
		 * lost in a crash cannot shift later indexes. */
		if (nf != 3 || idx != m->env.nrcpt || idx >= SPOOL_RCPT_MAX ||
		    parse_u64(f[1], fl[1], SPOOL_RCPT_MAX, &a) == -1 || a >= m->env.nrcpt)
			return false;
		if ((addr = spool_unesc(f[2], fl[2], SPOOL_ADDR_MAX)) == NULL || addr[0] == '\0') {
			free(addr);
			return false;
		}
		i = (size_t)a;
		rc = rcpt_push(m);
		rc->addr = addr;
		rc->parent = (int)i;
		rc->notify = m->env.rcpts[i].notify;
		if (m->env.rcpts[i].orcpt != NULL)
			rc->orcpt = xstrdup(m->env.rcpts[i].orcpt);
		rc->orig = xstrdup(m->env.rcpts[i].orig != NULL ? m->env.rcpts[i].orig :
		    m->env.rcpts[i].addr);
		return true;
	}
	case 'N':
		if (nf != 1 || idx >= m->env.nrcpt)
			return false;
		m->env.rcpts[idx].dsn_sent = true;
		return true;
	default:
		return false;
	}
}

static int
load_status(struct spool_msg *m, const char *path)
{
	struct lreader	 r = { .fd = -1 };
	const char	*line;
	size_t		 len, i, j, nchild;
	bool		 torn = false;
	int		 n;

	r.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r.fd == -1)
		return errno == ENOENT ? 0 : -1;
	r.buf = xmalloc(RBUF_SIZE);
	for (;;) {
		n = lr_next(&r, &line, &len, &torn);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == E2BIG && lr_skip(&r) == 0)
				continue;
			break;
		}
		if (!str_has_nul(line, len) && !apply_status(m, line, len))
			log_debug("spool qid=%s: ignored a malformed status record", m->qid);
	}
	if (torn)
		log_info("spool qid=%s: ignored a torn status record", m->qid);
	close(r.fd);
	free(r.buf);
	if (n == -1)
		return -1;
	/* EXPANDED records the number of children in attempts; if some
	 * child's "A" record was lost, expand again (spool_rcpt_add finds
	 * the children that exist, so their indexes stay). */
	for (i = 0; i < m->env.nrcpt; i++) {
		if (m->env.rcpts[i].state != SPOOL_R_EXPANDED)
			continue;
		for (nchild = 0, j = i + 1; j < m->env.nrcpt; j++)
			nchild += m->env.rcpts[j].parent == (int)i;
		if (nchild < m->env.rcpts[i].attempts)
			m->env.rcpts[i].state = SPOOL_R_PENDING;
	}
	return 0;
}

static void
move_corrupt(const char *qdir, const char *qid, const char *why)
{
	char	*from, *to;

	log_warnx("spool qid=%s: corrupt queue file moved to corrupt/: %s", qid, why);
	from = spool_path(qdir, "queue", qid, NULL);
	to = spool_path(qdir, "corrupt", qid, NULL);
	(void)spool_ensure_dirs(qdir);
	if (rename(from, to) == -1)
		log_warn("spool qid=%s: rename to corrupt/", qid);
	free(from);
	free(to);
	from = spool_path(qdir, "queue", qid, ".st");
	to = spool_path(qdir, "corrupt", qid, ".st");
	(void)rename(from, to);
	free(from);
	free(to);
}

int
spool_open(const char *qdir, const char *qid, struct spool_msg **msg_r)
{
	struct spool_msg	*m;
	struct lreader		 r = { .fd = -1 };
	struct stat		 st;
	const char		*why;
	char			*path;
	int			 saved;

	*msg_r = NULL;
	if (!spool_qid_valid(qid, strlen(qid))) {
		errno = EINVAL;
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	m->fd = m->stfd = -1;
	m->qdir = xstrdup(qdir);
	memcpy(m->qid, qid, SPOOL_QID_SIZE);
	path = spool_path(qdir, "queue", qid, NULL);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (m->fd == -1 || fstat(m->fd, &st) == -1)
		goto fail;
	r.fd = m->fd;
	r.buf = xmalloc(RBUF_SIZE);
	why = parse_envelope(m, &r);
	free(r.buf);
	if (why != NULL) {
		if (why == read_error) {
			/* An I/O error is not corruption: leave the file. */
			log_warn("spool qid=%s: read", qid);
			goto fail;
		}
		move_corrupt(qdir, qid, why);
		errno = EBADMSG;
		goto fail;
	}
	m->msg_len = st.st_size - m->msg_offset;
	path = spool_path(qdir, "queue", qid, ".st");
	if (load_status(m, path) == -1)
		log_warn("spool qid=%s: status file unreadable, retrying every recipient", qid);
	free(path);
	*msg_r = m;
	return 0;
fail:
	saved = errno;
	spool_msg_free(&m);
	errno = saved;
	return -1;
}

/* ---- status updates ---- */

static int
st_append(struct spool_msg *m, const struct buf *b)
{
	char	*path;

	if (m->stfd == -1) {
		path = spool_path(m->qdir, "queue", m->qid, ".st");
		m->stfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (m->stfd != -1)
			m->st_new = true;
		else if (errno == EEXIST)
			m->stfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		free(path);
		if (m->stfd == -1)
			return -1;
	}
	if (fs_write_all(m->stfd, b->data, b->len) == -1)
		return -1;
	m->st_dirty = true;
	return 0;
}

int
spool_rcpt_set(struct spool_msg *m, size_t idx, enum spool_rcpt_state state,
    time_t next_retry, const char *reason)
{
	struct spool_rcpt	*rc;
	struct buf		 b;
	size_t			 i, nchild = 0;
	int			 r;

	if (idx >= m->env.nrcpt || (size_t)state >= SPOOL_NSTATES) {
		errno = EINVAL;
		return -1;
	}
	rc = &m->env.rcpts[idx];
	rc->state = state;
	rc->updated = time(NULL);
	rc->next_retry = next_retry < 0 ? 0 : next_retry;
	if (state == SPOOL_R_DEFERRED || state == SPOOL_R_DELIVERED ||
	    state == SPOOL_R_RELAYED || state == SPOOL_R_FAILED)
		rc->attempts++;
	if (state == SPOOL_R_EXPANDED) {
		/* Store the child count, checked on load (load_status). */
		for (i = idx + 1; i < m->env.nrcpt; i++)
			nchild += m->env.rcpts[i].parent == (int)idx;
		rc->attempts = (unsigned)nchild;
	}
	free((void *)rc->reason);
	rc->reason = NULL;
	if (reason != NULL) {
		size_t n = strlen(reason);

		rc->reason = xstrndup(reason, n > SPOOL_REASON_MAX ? SPOOL_REASON_MAX : n);
	}
	buf_init(&b, SPOOL_LINE_MAX);
	r = buf_addf(&b, "S %zu %s %lld %lld %u", idx, spool_state_names[state],
	    (long long)rc->updated, (long long)rc->next_retry, rc->attempts);
	if (r == 0 && rc->reason != NULL && rc->reason[0] != '\0')
		r = buf_addc(&b, ' ') | spool_esc_add(&b, rc->reason, SPOOL_REASON_MAX);
	if (r == 0)
		r = buf_addc(&b, '\n');
	if (r == 0)
		r = st_append(m, &b);
	buf_clear(&b);
	return r;
}

int
spool_rcpt_dsn_sent(struct spool_msg *m, size_t idx)
{
	struct buf	b;
	int		r;

	if (idx >= m->env.nrcpt) {
		errno = EINVAL;
		return -1;
	}
	m->env.rcpts[idx].dsn_sent = true;
	buf_init(&b, 64);
	r = buf_addf(&b, "N %zu\n", idx);
	if (r == 0)
		r = st_append(m, &b);
	buf_clear(&b);
	return r;
}

int
spool_rcpt_add(struct spool_msg *m, size_t parent, const char *addr, size_t *idx_r)
{
	struct spool_rcpt	*rc, *pr;
	struct buf		 b;
	size_t			 i, alen;
	int			 r;

	alen = addr != NULL ? strlen(addr) : 0;
	if (parent >= m->env.nrcpt || alen == 0 || alen > SPOOL_ADDR_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Re-expansion after a crash finds the children it made before. */
	for (i = parent + 1; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].parent == (int)parent &&
		    strcmp(m->env.rcpts[i].addr, addr) == 0) {
			*idx_r = i;
			return 0;
		}
	if (m->env.nrcpt >= SPOOL_RCPT_MAX) {
		errno = E2BIG;
		return -1;
	}
	buf_init(&b, SPOOL_LINE_MAX);
	r = buf_addf(&b, "A %zu %zu ", m->env.nrcpt, parent);
	if (r == 0)
		r = spool_esc_add(&b, addr, SPOOL_ADDR_MAX) | buf_addc(&b, '\n');
	if (r == 0)
		r = st_append(m, &b);
	buf_clear(&b);
	if (r == -1)
		return -1;
	rc = rcpt_push(m);
	pr = &m->env.rcpts[parent];	/* after the push: rcpts may have moved */
	rc->addr = xstrdup(addr);
	rc->parent = (int)parent;
	rc->notify = pr->notify;
	rc->orcpt = pr->orcpt != NULL ? xstrdup(pr->orcpt) : NULL;
	rc->orig = xstrdup(pr->orig != NULL ? pr->orig : pr->addr);
	*idx_r = m->env.nrcpt - 1;
	return 0;
}

int
spool_status_sync(struct spool_msg *m)
{
	if (m->stfd == -1 || !m->st_dirty)
		return 0;
	if (fdatasync(m->stfd) == -1)
		return -1;
	m->st_dirty = false;
	if (m->st_new) {
		/* The file's name must survive a power loss too. */
		char	*dir = spool_path(m->qdir, "queue", NULL, NULL);
		int	 r = fs_fsync_dir(dir);

		free(dir);
		if (r == -1)
			return -1;
		m->st_new = false;
	}
	return 0;
}

bool
spool_msg_done(const struct spool_msg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == SPOOL_R_PENDING ||
		    m->env.rcpts[i].state == SPOOL_R_DEFERRED)
			return false;
	return true;
}

