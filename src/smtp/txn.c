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

#include <event2/buffer.h>
#include <event2/bufferevent.h>

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

static struct spool_syncer *syncer;

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
	if (s->mail.smtputf8)
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
	buf_addf(&b, "Received: from %s (unknown [%s])\r\n", helo[0] ? helo : "unknown", s->addr);
	if (s->tls[0] != '\0')
		buf_addf(&b, "\t(using %s)\r\n", s->tls);
	if (s->auth_user != NULL && conf_bool(c, CK_SMTPD_SASL_AUTHENTICATED_HEADER))
		buf_addf(&b, "\t(Authenticated sender: %s)\r\n", s->auth_user);
	buf_addf(&b, "\tby %s (letterbox) with %s id %s", conf_str(c, CK_MYHOSTNAME), protocol_name(s), qid);
	if (s->nrcpt == 1)
		buf_addf(&b, "\r\n\tfor <%s>", s->rcpts[0].addr);
	buf_addf(&b, "; %s\r\n", date);
	r = spool_write(s->w, b.data, b.len);
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

	s->hf_on = s->l->mode != SMTPD_MX;
	if (!s->hf_on)
		return;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(mid, sizeof(mid), "Message-ID: <%s.%s@%s>\r\n", stamp, qid, conf_str(c, CK_MYHOSTNAME));
	snprintf(dfield, sizeof(dfield), "Date: %s\r\n", date);
	hdrfix_init(&s->hf, mid, dfield);
}

/* Message bytes to the spool, through the header fix-up while it still looks. */
static int
spool_put(struct smtpd_session *s, const char *p, size_t len)
{
	size_t n;

	if (s->hdr_too_big)
		return 0;	/* refused at the end (552 5.3.4): store nothing more */
	if (hdrlen_feed(&s->hl, p, len) < 0) {
		s->hdr_too_big = true;
		log_info("smtpd sid=%s: header section larger than header_size_limit %llu: reading to the end",
		    s->sid, (unsigned long long)s->hl.max);
		return 0;
	}
	while (s->hf_on && !hdrfix_done(&s->hf) && len > 0) {
		n = len < SMTPD_HF_CHUNK ? len : SMTPD_HF_CHUNK;
		buf_reset(&s->hf_out);
		if (hdrfix_feed(&s->hf, p, n, &s->hf_out) < 0 ||
		    spool_write(s->w, s->hf_out.data, s->hf_out.len) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return len > 0 ? spool_write(s->w, p, len) : 0;
}

int
smtpd_txn_begin(struct smtpd_session *s)
{
	struct spool_envelope	 env;
	struct spool_rcpt	*rc;
	size_t			 i;
	int			 r;

	if (syncer == NULL)
		syncer = spool_syncer_new(conf_str(conf_current(), CK_QUEUE_DIRECTORY));
	if ((s->w = spool_create(conf_str(conf_current(), CK_QUEUE_DIRECTORY))) == NULL) {
		log_warn("smtpd sid=%s: cannot create a queue file", s->sid);
		return -1;
	}
	memset(&env, 0, sizeof(env));
	env.sender = s->mail.path;
	env.envid = s->mail.envid[0] ? s->mail.envid : NULL;
	env.ret = s->mail.ret == SMTP_RET_FULL ? SPOOL_RET_FULL : s->mail.ret == SMTP_RET_HDRS ?
	    SPOOL_RET_HDRS : SPOOL_RET_NONE;
	env.body = s->mail.body == SMTP_BODY_8BITMIME ? SPOOL_BODY_8BITMIME :
	    s->mail.body == SMTP_BODY_BINARYMIME ? SPOOL_BODY_BINARYMIME : SPOOL_BODY_7BIT;
	env.smtputf8 = s->mail.smtputf8;
	env.auth_user = s->auth_user;
	env.helo = s->helo[0] ? s->helo : NULL;
	env.client_addr = s->addr;
	env.origin = smtpd_mode_name(s->l->mode);
	rc = xcalloc(s->nrcpt, sizeof(*rc));
	for (i = 0; i < s->nrcpt; i++) {
		rc[i].addr = s->rcpts[i].addr;
		rc[i].orcpt = s->rcpts[i].orcpt;
		rc[i].notify = s->rcpts[i].notify;
		rc[i].parent = -1;
	}
	env.rcpts = rc;
	env.nrcpt = s->nrcpt;
	r = spool_write_envelope(s->w, &env);
	free(rc);
	if (r == 0)
		r = write_received(s, spool_writer_qid(s->w));
	if (r == 0)
		hdrfix_start(s, spool_writer_qid(s->w));
	if (r < 0) {
		log_warn("smtpd sid=%s: queue file write", s->sid);
		spool_abort(&s->w);
		return -1;
	}
	s->size = 0;
	s->too_big = false;
	s->hdr_too_big = false;
	hdrlen_init(&s->hl, (uint64_t)conf_int(conf_current(), CK_HEADER_SIZE_LIMIT));
	s->w_failed = false;
	return 0;
}

static void
flush_out(struct smtpd_session *s)
{
	if (s->out.len == 0)
		return;
	if (s->w != NULL && !s->w_failed && !s->too_big && spool_put(s, s->out.data, s->out.len) < 0) {
		log_warn("smtpd sid=%s: queue file write", s->sid);
		s->w_failed = true;
	}
	buf_reset(&s->out);
}

static bool
check_size(struct smtpd_session *s)
{
	uint64_t limit = (uint64_t)conf_int(conf_current(), CK_MESSAGE_SIZE_LIMIT);

	if (s->size > limit && !s->too_big) {
		s->too_big = true;
		log_info("smtpd sid=%s: message larger than message_size_limit %llu: reading to the end",
		    s->sid, (unsigned long long)limit);
	}
	if (s->size > 2 * limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_txn_reset(s);
		smtpd_close(s);
		return false;
	}
	return true;
}

void
smtpd_data_input(struct smtpd_session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v[1];
	int			 n;
	bool			 done = false;

	/* One contiguous chunk per call; smtpd_process() calls again while bytes remain. */
	n = evbuffer_peek(in, -1, NULL, v, 1);
	if (n >= 1) {
		size_t off = 0;

		while (off < v[0].iov_len && !done) {
			size_t chunk = v[0].iov_len - off, used;

			if (chunk > SPOOL_FLUSH)
				chunk = SPOOL_FLUSH;
			used = smtp_data_feed(&s->dec, (const char *)v[0].iov_base + off, chunk, &s->out, &done);
			off += used;
			s->size = s->dec.out;
			if (s->out.len >= SPOOL_FLUSH || done)
				flush_out(s);
		}
		evbuffer_drain(in, off);
		if (!check_size(s))
			return;
	}
	if (done) {
		if (s->dec.bare)
			log_info("smtpd sid=%s: bare CR or LF in message data normalised", s->sid);
		smtpd_txn_finish(s);
	}
}

void
smtpd_bdat_input(struct smtpd_session *s)
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	size_t		 avail = evbuffer_get_length(in);

	while (s->bdat_left > 0 && avail > 0) {
		struct evbuffer_iovec	 v;
		size_t			 take;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		take = v.iov_len < s->bdat_left ? v.iov_len : (size_t)s->bdat_left;
		if (s->w != NULL && !s->w_failed && !s->too_big && spool_put(s, v.iov_base, take) < 0) {
			log_warn("smtpd sid=%s: queue file write", s->sid);
			s->w_failed = true;
		}
		evbuffer_drain(in, take);
		s->bdat_left -= take;
		s->size += take;
		avail -= take;
		if (!check_size(s))
			return;
	}
	if (s->bdat_left > 0)
		return;
	if (!s->have_mail || s->nrcpt == 0) {
		smtpd_set_state(s, s->have_mail ? SMTPD_S_RCPT : SMTPD_S_MAIL);
		smtpd_reply(s, s->have_mail ? "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->bdat_last) {
		smtpd_txn_finish(s);
		return;
	}
	smtpd_set_state(s, SMTPD_S_RCPT);
	smtpd_reply(s, "250 2.0.0 Ok: %llu octets received", (unsigned long long)s->size);
}

static void
commit_work(void *arg)
{
	struct smtpd_job *j = arg;

	j->result = spool_commit(&j->w, syncer, j->qid);
	j->err = errno;
}

static void
commit_done(void *arg)
{
	struct smtpd_job	*j = arg;
	struct smtpd_session	*s = j->s;

	if (j->result == 0) {
		log_info("smtpd sid=%s qid=%s: accepted from=<%s> size=%llu nrcpt=%zu", s ? s->sid : "-",
		    j->qid, j->from, (unsigned long long)j->size, j->nrcpt);
		qmgr_submit(qmgr_global, j->qid);
	} else {
		errno = j->err;
		log_warn("smtpd sid=%s: queue file commit failed", s ? s->sid : "-");
	}
	if (s != NULL) {
		s->job = NULL;
		if (j->result == 0) {
			s->errors = 0;	/* Postfix: the error limits count errors "without delivering mail" */
			smtpd_reply(s, "250 2.0.0 Ok: queued as %s", j->qid);
		}
		else
			smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		smtpd_resume(s);
	}
	free(j->from);
	free(j);
}

void
smtpd_txn_finish(struct smtpd_session *s)
{
	struct smtpd_job *j;

	if (s->hdr_too_big && !s->too_big) {
		/* Issue 10: refused rather than cut (README "Limits"). */
		smtpd_reply(s, "552 5.3.4 Message header size exceeds limit");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	if (s->too_big) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	if (s->w != NULL && !s->w_failed && s->hf_on) {
		buf_reset(&s->hf_out);
		if (hdrfix_finish(&s->hf, &s->hf_out) < 0 ||
		    spool_write(s->w, s->hf_out.data, s->hf_out.len) < 0) {
			log_warn("smtpd sid=%s: queue file write", s->sid);
			s->w_failed = true;
		}
	}
	if (s->w_failed || s->w == NULL) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		smtpd_set_state(s, SMTPD_S_MAIL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->w = s->w;
	s->w = NULL;
	j->size = s->size;
	j->nrcpt = s->nrcpt;
	j->from = xstrdup(s->mail.path);
	s->job = j;
	s->waiting = true;
	pool_submit(smtpd_srv(s)->pool, commit_work, commit_done, j);
}
