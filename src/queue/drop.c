/*
 * Local submission into the queue and the maildrop file format (see
 * drop.h).  A maildrop file is:
 *
 *	letterbox-maildrop 1\n
 *	S<sender>\n		exactly once; empty for the null sender
 *	R<recipient>\n		1 to DROP_RCPT_MAX times
 *	\n
 *	<the message, CRLF lines>
 *
 * The reader treats it as hostile input: every address is re-checked and
 * nothing in it can claim an origin, a login or a uid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "queue/drop.h"

#define DROP_MAGIC	"letterbox-maildrop 1\n"

int
drop_enqueue(const char *qdir, const char *myhostname, uid_t uid, const char *user,
    const struct drop_msg *m, char qid_r[SPOOL_QID_SIZE])
{
	struct spool_writer	*w;
	struct spool_envelope	 env;
	struct spool_rcpt	*rc;
	char			 date[64];
	struct buf		 hdr;
	time_t			 now = time(NULL);
	struct tm		 tm;
	size_t			 i;
	int			 ok, saved;

	if ((w = spool_create(qdir)) == NULL)
		return -1;
	rc = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof(*rc));
	memset(&env, 0, sizeof(env));
	env.sender = m->sender;
	env.body = SPOOL_BODY_8BITMIME;
	env.origin = "sendmail";
	env.client_addr = "127.0.0.1";
	env.auth_user = user;
	for (i = 0; i < m->nrcpt; i++) {
		rc[i].addr = m->rcpts[i];
		rc[i].parent = -1;
	}
	env.rcpts = rc;
	env.nrcpt = m->nrcpt;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	buf_init(&hdr, 4096);
	buf_addf(&hdr, "Received: by %s (letterbox, from userid %ld)\r\n\tid %s; %s\r\n",
	    myhostname, (long)uid, spool_writer_qid(w), date);
	ok = spool_write_envelope(w, &env) == 0 && spool_write(w, hdr.data, hdr.len) == 0 &&
	    spool_write(w, m->data, m->len) == 0;
	saved = errno;
	buf_clear(&hdr);
	free(rc);
	if (!ok) {
		spool_abort(&w);
		errno = saved;
		return -1;
	}
	return spool_commit(&w, NULL, qid_r);
}

int
drop_write(int fd, const struct drop_msg *m)
{
	struct buf	b;
	size_t		i;
	int		r;

	buf_init(&b, (size_t)DROP_RCPT_MAX * (SPOOL_ADDR_MAX + 2) + 4096);
	r = buf_addf(&b, "%sS%s\n", DROP_MAGIC, m->sender);
	for (i = 0; i < m->nrcpt && r == 0; i++)
		r = buf_addf(&b, "R%s\n", m->rcpts[i]);
	if (r == 0)
		r = buf_add(&b, "\n", 1);
	if (r == 0)
		r = fs_write_all(fd, b.data, b.len);
	else
		errno = EINVAL;
	buf_clear(&b);
	if (r == 0)
		r = fs_write_all(fd, m->data, m->len);
	return r;
}

/* One envelope address from an untrusted line; sender may be empty. */
static int
drop_addr(const char *p, size_t n, bool empty_ok, char **norm_r, const char **err_r)
{
	if (n == 0 && empty_ok) {
		*norm_r = xstrdup("");
		return 0;
	}
	if (n > SPOOL_ADDR_MAX || memchr(p, '\0', n) != NULL || memchr(p, '\r', n) != NULL) {
		*err_r = "bad address";
		return -1;
	}
	return addr_normalize(p, n, true, norm_r, err_r);
}

int
drop_parse(const char *data, size_t len, struct drop_msg *m_r, const char **err_r)
{
	size_t		 ml = strlen(DROP_MAGIC), pos, n;
	const char	*nl;
	char		*a;

	memset(m_r, 0, sizeof(*m_r));
	if (len < ml || memcmp(data, DROP_MAGIC, ml) != 0) {
		*err_r = "not a maildrop file";
		return -1;
	}
	for (pos = ml;; pos += n + 1) {
		if ((nl = memchr(data + pos, '\n', len - pos)) == NULL) {
			*err_r = "envelope not terminated";
			goto fail;
		}
		n = (size_t)(nl - (data + pos));
		if (n == 0)
			break;
		if (data[pos] == 'S' && m_r->sender == NULL) {
			if (drop_addr(data + pos + 1, n - 1, true, &a, err_r) < 0)
				goto fail;
			m_r->sender = a;
		} else if (data[pos] == 'R' && m_r->nrcpt < DROP_RCPT_MAX) {
			if (drop_addr(data + pos + 1, n - 1, false, &a, err_r) < 0)
				goto fail;
			m_r->rcpts = xreallocarray(m_r->rcpts, m_r->nrcpt + 1, sizeof(char *));
			m_r->rcpts[m_r->nrcpt++] = a;
		} else {
			*err_r = "bad envelope record";
			goto fail;
		}
	}
	if (m_r->sender == NULL || m_r->nrcpt == 0) {
		*err_r = "no sender or no recipient";
		goto fail;
	}
	m_r->data = data + pos + 1;
	m_r->len = len - pos - 1;
	return 0;
fail:
	drop_msg_clear(m_r);
	return -1;
}

void
drop_msg_clear(struct drop_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free((void *)m->sender);
	memset(m, 0, sizeof(*m));
}
