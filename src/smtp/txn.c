/*
 * The message of a transaction: the spool writer with the envelope and our
 * Received: header (RFC 5321 4.4), DATA decoding (data.c) and BDAT chunks
 * (RFC 3030) streamed into it, and the commit on the worker pool; the 250
 * reply goes out only once the spool file is durable (DESIGN.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "queue/manager.h"
#include "smtp/headers.h"
#include "smtp/session.h"
#include "spool/spool.h"

#define SPOOL_FLUSH	(64 * 1024)

void
smtpd_txn_init(struct smtpd_txn *t)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->out, 1 << 20);
	buf_init(&t->hf_out, SMTPD_HF_CHUNK + HDRFIX_NAME_MAX + 2 * HDRFIX_FIELD_MAX + 4);
}

void
smtpd_txn_clear(struct smtpd_txn *t)
{
	size_t i;

	spool_abort(&t->w);
	for (i = 0; i < t->nrcpt; i++) {
		free(t->rcpts[i].addr);
		free(t->rcpts[i].key);
		free(t->rcpts[i].orcpt);
	}
	free(t->rcpts);
	buf_clear(&t->out);
	buf_clear(&t->hf_out);
	smtpd_txn_init(t);
}

static const char *
protocol_name(const struct smtpd_session *s)
{
	/* RFC 3848 "with" values */
	static const char *names[] = { "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "UTF8SMTP",
	    "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA" };
	int i;

	if (!s->esmtp)
		return names[0];
	i = 1 + (s->tls[0] != '\0' ? 1 : 0) + (s->auth_user != NULL ? 2 : 0);
	if (s->txn.mail.smtputf8)
		i += 4;
	return names[i];
}

static int
write_received(struct smtpd_session *s, const char *qid)
{
	const struct conf	*c = conf_current();
	struct buf		 b;
	char			 date[64], helo[300];
	time_t			 now = time(NULL);
	struct tm		 tm;
	int			 r;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
	buf_init(&b, 8192);
	buf_addf(&b, "Received: from %s (unknown [%s])\r\n", helo[0] ? helo : "unknown", s->ss->addr);
	if (s->tls[0] != '\0')
		buf_addf(&b, "\t(using %s)\r\n", s->tls);
	if (s->auth_user != NULL && conf_bool(c, CK_SMTPD_SASL_AUTHENTICATED_HEADER))
		buf_addf(&b, "\t(Authenticated sender: %s)\r\n", s->auth_user);
	buf_addf(&b, "\tby %s (letterbox) with %s id %s", conf_str(c, CK_MYHOSTNAME), protocol_name(s), qid);
	if (s->txn.nrcpt == 1)
		buf_addf(&b, "\r\n\tfor <%s>", s->txn.rcpts[0].addr);
	buf_addf(&b, "; %s\r\n", date);
	r = spool_write(s->txn.w, b.data, b.len);
	buf_clear(&b);
	return r;
}

/*
 * RFC 6409 8.2, 8.3: a submission server may add Message-ID: and Date:
 * when the client left them out (many scripts and some clients do), as
 * Postfix does for its submission service (local_header_rewrite_clients
 * = permit_sasl_authenticated).  Port 25 mail is passed on untouched.
 */
static void
hdrfix_start(struct smtpd_session *s, const char *qid)
{
	const struct conf	*c = conf_current();
	char			 stamp[32], date[64], mid[HDRFIX_FIELD_MAX], dfield[HDRFIX_FIELD_MAX];
	time_t			 now = time(NULL);
	struct tm		 tm;

	s->txn.hf_on = s->mode != SMTPD_MX;
	if (!s->txn.hf_on)
		return;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(mid, sizeof(mid), "Message-ID: <%s.%s@%s>\r\n", stamp, qid, conf_str(c, CK_MYHOSTNAME));
	snprintf(dfield, sizeof(dfield), "Date: %s\r\n", date);
	hdrfix_init(&s->txn.hf, mid, dfield);
}

/* Message bytes to the spool, through the header fix-up while it still looks. */
static int
spool_put(struct smtpd_session *s, const char *p, size_t len)
{
	size_t n;

	if (s->txn.hdr_too_big)
		return 0;	/* refused at the end (552 5.3.4): store nothing more */
	if (hdrlen_feed(&s->txn.hl, p, len) < 0) {
		s->txn.hdr_too_big = true;
		log_info("smtpd sid=%s: header section larger than header_size_limit %llu: reading to the end",
		    s->sid, (unsigned long long)s->txn.hl.max);
		return 0;
	}
	while (s->txn.hf_on && !hdrfix_done(&s->txn.hf) && len > 0) {
		n = len < SMTPD_HF_CHUNK ? len : SMTPD_HF_CHUNK;
		buf_reset(&s->txn.hf_out);
		if (hdrfix_feed(&s->txn.hf, p, n, &s->txn.hf_out) < 0 ||
		    spool_write(s->txn.w, s->txn.hf_out.data, s->txn.hf_out.len) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return len > 0 ? spool_write(s->txn.w, p, len) : 0;
}

int
smtpd_txn_begin(struct smtpd_session *s)
{
	struct spool_envelope	 env;
	struct spool_rcpt	*rc;
	size_t			 i;
	int			 r;

	if ((s->txn.w = spool_create(conf_str(conf_current(), CK_QUEUE_DIRECTORY))) == NULL) {
		log_warn("smtpd sid=%s: cannot create a queue file", s->sid);
		return -1;
	}
	memset(&env, 0, sizeof(env));
	env.sender = s->txn.mail.path;
	env.envid = s->txn.mail.envid[0] ? s->txn.mail.envid : NULL;
	env.ret = s->txn.mail.ret == SMTP_RET_FULL ? SPOOL_RET_FULL : s->txn.mail.ret == SMTP_RET_HDRS ?
	    SPOOL_RET_HDRS : SPOOL_RET_NONE;
	env.body = s->txn.mail.body == SMTP_BODY_8BITMIME ? SPOOL_BODY_8BITMIME :
	    s->txn.mail.body == SMTP_BODY_BINARYMIME ? SPOOL_BODY_BINARYMIME : SPOOL_BODY_7BIT;
	env.smtputf8 = s->txn.mail.smtputf8;
	env.auth_user = s->auth_user;
	env.helo = s->helo[0] ? s->helo : NULL;
	env.client_addr = s->ss->addr;
	env.origin = smtpd_mode_name(s->mode);
	rc = xcalloc(s->txn.nrcpt, sizeof(*rc));
	for (i = 0; i < s->txn.nrcpt; i++) {
		rc[i].addr = s->txn.rcpts[i].addr;
		rc[i].orcpt = s->txn.rcpts[i].orcpt;
		rc[i].notify = s->txn.rcpts[i].notify;
		rc[i].parent = -1;
	}
	env.rcpts = rc;
	env.nrcpt = s->txn.nrcpt;
	r = spool_write_envelope(s->txn.w, &env);
	free(rc);
	if (r == 0)
		r = write_received(s, spool_writer_qid(s->txn.w));
	if (r == 0)
		hdrfix_start(s, spool_writer_qid(s->txn.w));
	if (r < 0) {
		log_warn("smtpd sid=%s: queue file write", s->sid);
		spool_abort(&s->txn.w);
		return -1;
	}
	s->txn.size = 0;
	s->txn.too_big = false;
	s->txn.hdr_too_big = false;
	hdrlen_init(&s->txn.hl, (uint64_t)conf_int(conf_current(), CK_HEADER_SIZE_LIMIT));
	s->txn.w_failed = false;
	return 0;
}

static void
flush_out(struct smtpd_session *s)
{
	if (s->txn.out.len == 0)
		return;
	if (s->txn.w != NULL && !s->txn.w_failed && !s->txn.too_big && spool_put(s, s->txn.out.data, s->txn.out.len) < 0) {
		log_warn("smtpd sid=%s: queue file write", s->sid);
		s->txn.w_failed = true;
	}
	buf_reset(&s->txn.out);
}

static bool
check_size(struct smtpd_session *s)
{
	uint64_t limit = (uint64_t)conf_int(conf_current(), CK_MESSAGE_SIZE_LIMIT);

	if (s->txn.size > limit && !s->txn.too_big) {
		s->txn.too_big = true;
		log_info("smtpd sid=%s: message larger than message_size_limit %llu: reading to the end",
		    s->sid, (unsigned long long)limit);
	}
	if (s->txn.size > 2 * limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_txn_reset(s);
		smtpd_close(s);
		return false;
	}
	return true;
}

size_t
smtpd_data_input(struct smtpd_session *s, const unsigned char *p, size_t n)
{
	struct smtpd_txn	*t = &s->txn;
	size_t			 off = 0;
	bool			 done = false;

	while (off < n && !done) {
		size_t chunk = n - off;

		if (chunk > SPOOL_FLUSH)
			chunk = SPOOL_FLUSH;
		off += smtp_data_feed(&t->dec, (const char *)p + off, chunk, &t->out, &done);
		t->size = t->dec.out;
		if (t->out.len >= SPOOL_FLUSH || done)
			flush_out(s);
	}
	if (!check_size(s))
		return off;
	if (done) {
		/* The bytes after CRLF.CRLF are the next command. */
		session_read_lines(s->ss);
		if (t->dec.bare)
			log_info("smtpd sid=%s: bare CR or LF in message data normalised", s->sid);
		smtpd_txn_finish(s);
	}
	return off;
}

void
smtpd_bdat_input(struct smtpd_session *s, const unsigned char *p, size_t n)
{
	struct smtpd_txn *t = &s->txn;

	if (t->w != NULL && !t->w_failed && !t->too_big && spool_put(s, (const char *)p, n) < 0) {
		log_warn("smtpd sid=%s: queue file write", s->sid);
		t->w_failed = true;
	}
	t->bdat_left -= n;
	t->size += n;
	if (check_size(s) && t->bdat_left == 0)
		smtpd_bdat_end(s);
}

void
smtpd_bdat_end(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;

	if (!t->have_mail || t->nrcpt == 0) {
		smtpd_set_state(s, t->have_mail ? SMTPD_S_RCPT : SMTPD_S_MAIL);
		smtpd_reply(s, t->have_mail ? "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (t->bdat_last) {
		smtpd_txn_finish(s);
		return;
	}
	smtpd_set_state(s, SMTPD_S_RCPT);
	smtpd_reply(s, "250 2.0.0 Ok: %llu octets received", (unsigned long long)t->size);
}

static void
commit_work(void *arg)
{
	struct smtpd_job *j = arg;

	j->result = spool_commit(&j->w, j->syncer, j->qid);
	j->err = errno;
}

static void
commit_done(void *arg)
{
	struct smtpd_job	*j = arg;
	struct smtpd_session	*s = smtpd_job_end(j);

	if (j->result == 0) {
		log_info("smtpd sid=%s qid=%s: accepted from=<%s> size=%llu nrcpt=%zu", j->sid,
		    j->qid, j->from, (unsigned long long)j->size, j->nrcpt);
		qmgr_submit(j->qmgr, j->qid);
	} else {
		errno = j->err;
		log_warn("smtpd sid=%s: queue file commit failed", j->sid);
	}
	if (s != NULL) {
		if (j->result == 0) {
			s->errors = 0;	/* Postfix: the error limits count errors "without delivering mail" */
			smtpd_reply(s, "250 2.0.0 Ok: queued as %s", j->qid);
		}
		else
			smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		session_resume(s->ss);
	}
	free(j->from);
	free(j);
}

void
smtpd_txn_finish(struct smtpd_session *s)
{
	struct smtpd_job *j;

	if (s->txn.hdr_too_big && !s->txn.too_big) {
		/* Issue 10: refused rather than cut (README "Limits"). */
		smtpd_reply(s, "552 5.3.4 Message header size exceeds limit");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	if (s->txn.too_big) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	if (s->txn.w != NULL && !s->txn.w_failed && s->txn.hf_on) {
		buf_reset(&s->txn.hf_out);
		if (hdrfix_finish(&s->txn.hf, &s->txn.hf_out) < 0 ||
		    spool_write(s->txn.w, s->txn.hf_out.data, s->txn.hf_out.len) < 0) {
			log_warn("smtpd sid=%s: queue file write", s->sid);
			s->txn.w_failed = true;
		}
	}
	if (s->txn.w_failed || s->txn.w == NULL) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->w = s->txn.w;
	s->txn.w = NULL;
	/* The queue manager's syncer follows a SIGHUP that moves queue_directory. */
	j->qmgr = s->d->srv->qmgr;
	j->syncer = qmgr_syncer(j->qmgr);
	j->size = s->txn.size;
	j->nrcpt = s->txn.nrcpt;
	j->from = xstrdup(s->txn.mail.path);
	smtpd_job_submit(s, j, commit_work, commit_done);
}
