/*
 * Delivery status notifications, RFC 3464 / RFC 3461 / RFC 3834 (see
 * bounce.h).  The notice is written through the spool writer like any
 * other message; the original is copied from the spool file in chunks.
 * Every line ends CRLF, as the SMTP server stores messages.
 */
#include "queue/bounce.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/util.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define COPY_CHUNK	65536

bool
bounce_wanted(const struct spool_rcpt *r, enum bounce_kind kind)
{
	unsigned n = r->notify;

	if (n & SPOOL_NOTIFY_NEVER)
		return false;
	switch (kind) {
	case BOUNCE_FAILURE:
		return n == 0 || (n & SPOOL_NOTIFY_FAILURE);
	case BOUNCE_DELAY:
		/* RFC 3461 4.1: without NOTIFY, delay notices are allowed (Postfix sends them). */
		return n == 0 || (n & SPOOL_NOTIFY_DELAY);
	case BOUNCE_SUCCESS:
		return (n & SPOOL_NOTIFY_SUCCESS) != 0;
	}
	return false;
}

/* RFC 5322 3.3 date. */
static void
rfc5322_date(time_t t, char *out, size_t sz)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, sz, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		str_copy(out, "Thu, 01 Jan 1970 00:00:00 +0000", sz);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 3461 4: decode xtext into printable US-ASCII for a DSN field; a
 * byte that would not be printable is kept encoded (the field must stay
 * one clean line).
 */
static void
xtext_decode(const char *s, char *out, size_t sz)
{
	size_t o = 0;

	for (; *s != '\0' && o + 4 < sz; s++) {
		int hi, lo, v;

		if (*s == '+' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
			v = hi * 16 + lo;
			if (v > 0x20 && v < 0x7f) {
				out[o++] = (char)v;
				s += 2;
				continue;
			}
		}
		out[o++] = ((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f) ? *s : '?';
	}
	out[o] = '\0';
}

/* Copy text for a header/DSN field: printable ASCII only. */
static void
clean(const char *s, char *out, size_t sz)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < sz; s++)
		out[o++] = ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

/* Enhanced status code "c.d.d" at the start of s: length, or 0. */
static size_t
enhanced_len(const char *s)
{
	size_t i = 0, n;

	if (s[0] < '2' || s[0] > '5' || s[1] != '.')
		return 0;
	i = 2;
	for (n = 0; s[i] >= '0' && s[i] <= '9' && n < 3; i++, n++)
		;
	if (n == 0 || s[i] != '.')
		return 0;
	i++;
	for (n = 0; s[i] >= '0' && s[i] <= '9' && n < 3; i++, n++)
		;
	if (n == 0 || (s[i] != '\0' && s[i] != ' '))
		return 0;
	return i;
}

struct reason {
	char	 status[12];
	char	 text[SPOOL_REASON_MAX + 1];	/* the human text */
	char	 mta[300];			/* Remote-MTA host, "" = none */
	char	 diag[SPOOL_REASON_MAX + 1];	/* "550 5.1.1 ..." remote reply, "" = ours */
};

/*
 * Split a stored reason: "[ENHANCED ]text" where text may be the SMTP
 * client's "host H[A] said: NNN ... (in reply to X command)".
 */
static void
reason_parse(const char *stored, enum bounce_kind kind, struct reason *r)
{
	char		 buf[SPOOL_REASON_MAX + 1];
	const char	*t = buf, *said, *end;
	size_t		 el;

	memset(r, 0, sizeof(*r));
	clean(stored != NULL ? stored : "", buf, sizeof(buf));
	if ((el = enhanced_len(t)) > 0 && el < sizeof(r->status)) {
		memcpy(r->status, t, el);
		r->status[el] = '\0';
		t += el;
		while (*t == ' ')
			t++;
	}
	str_copy(r->text, t, sizeof(r->text));
	if (strncmp(t, "host ", 5) == 0 && (said = strstr(t, " said: ")) != NULL) {
		const char *h = t + 5, *br = memchr(h, '[', (size_t)(said - h));
		size_t hl = (size_t)((br != NULL ? br : said) - h);

		if (hl < sizeof(r->mta)) {
			memcpy(r->mta, h, hl);
			r->mta[hl] = '\0';
		}
		said += 7;
		end = strstr(said, " (in reply to ");
		hl = end != NULL ? (size_t)(end - said) : strlen(said);
		if (hl >= sizeof(r->diag))
			hl = sizeof(r->diag) - 1;
		memcpy(r->diag, said, hl);
		r->diag[hl] = '\0';
		/* "550 5.1.1 ..." : the reply's own enhanced code wins. */
		if (r->status[0] == '\0' && strlen(r->diag) > 4 &&
		    (el = enhanced_len(r->diag + 4)) > 0 && el < sizeof(r->status)) {
			memcpy(r->status, r->diag + 4, el);
			r->status[el] = '\0';
		}
	}
	if (r->status[0] == '\0')
		str_copy(r->status, kind == BOUNCE_FAILURE ? "5.0.0" :
		    kind == BOUNCE_DELAY ? "4.0.0" : "2.0.0", sizeof(r->status));
	/* The Status class must agree with the Action (RFC 3464 2.3.4). */
	if (kind == BOUNCE_FAILURE && r->status[0] != '5')
		r->status[0] = '5';
	else if (kind == BOUNCE_DELAY && r->status[0] != '4')
		r->status[0] = '4';
	else if (kind == BOUNCE_SUCCESS && r->status[0] != '2')
		str_copy(r->status, "2.0.0", sizeof(r->status));
	if (r->text[0] == '\0')
		str_copy(r->text, kind == BOUNCE_FAILURE ? "delivery failed" :
		    kind == BOUNCE_DELAY ? "delivery temporarily failed" : "delivered",
		    sizeof(r->text));
}

struct out {
	struct spool_writer	*w;
	struct buf		 b;
	int			 err;
};

static void
out_addf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_addf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->err)
		return;
	va_start(ap, fmt);
	if (buf_vaddf(&o->b, fmt, ap) < 0)
		o->err = E2BIG;
	va_end(ap);
	if (!o->err && o->b.len > 8192) {
		if (spool_write(o->w, o->b.data, o->b.len) < 0)
			o->err = errno ? errno : EIO;
		buf_reset(&o->b);
	}
}

static void
out_flush(struct out *o)
{
	if (!o->err && o->b.len > 0 && spool_write(o->w, o->b.data, o->b.len) < 0)
		o->err = errno ? errno : EIO;
	buf_reset(&o->b);
}

/*
 * Copy the original message (headers_only: up to and excluding the empty
 * line) from the spool file, making sure it ends with CRLF.
 */
static void
copy_original(struct out *o, const struct spool_msg *m, bool headers_only)
{
	char	*chunk = xmalloc(COPY_CHUNK);
	off_t	 pos = 0;
	size_t	 linelen = 0;	/* bytes of the current line so far, CR not counted */
	char	 last = '\n';
	bool	 stop = false;

	out_flush(o);
	while (!o->err && !stop && pos < m->msg_len) {
		size_t	 want = (size_t)(m->msg_len - pos) < COPY_CHUNK ?
		    (size_t)(m->msg_len - pos) : COPY_CHUNK, i, n;
		ssize_t	 r = pread(m->fd, chunk, want, m->msg_offset + pos);

		if (r <= 0) {
			o->err = r < 0 ? errno : EIO;
			break;
		}
		n = (size_t)r;
		if (headers_only) {
			for (i = 0; i < n; i++) {
				if (chunk[i] == '\n') {
					if (linelen == 0) {
						/* The empty line: stop before it. */
						n = i;
						/* Drop its CR too.  (When that CR ended the
						 * previous chunk it was written already; the
						 * fix-up below then adds one empty line.) */
						if (n > 0 && chunk[n - 1] == '\r')
							n--;
						stop = true;
						break;
					}
					linelen = 0;
				} else if (chunk[i] != '\r')
					linelen++;
			}
		}
		if (n > 0) {
			if (spool_write(o->w, chunk, n) < 0) {
				o->err = errno ? errno : EIO;
				break;
			}
			last = chunk[n - 1];
		}
		pos += r;
	}
	free(chunk);
	if (last != '\n')
		out_addf(o, "%s", last == '\r' ? "\n" : "\r\n");
}

static const char *
action_name(enum bounce_kind kind, const struct spool_rcpt *r)
{
	switch (kind) {
	case BOUNCE_FAILURE:	return "failed";
	case BOUNCE_DELAY:	return "delayed";
	case BOUNCE_SUCCESS:	return r->state == SPOOL_R_RELAYED ? "relayed" : "delivered";
	}
	return "failed";
}

static void
write_notice(struct out *o, const struct spool_msg *m, const size_t *idx, size_t n,
    enum bounce_kind kind, const char *host, const char *to, const char *qid, bool dbl,
    const struct conf *c)
{
	char		 date[64], arr[64], bnd[160], addr[SPOOL_ADDR_MAX + 1];
	char		 orcpt[SPOOL_ADDR_MAX + 1], envid[256], retry[64];
	time_t		 now = time(NULL), arrival = (time_t)(m->env.arrival_us / 1000000);
	uint32_t	 rnd;
	bool		 full, eight = m->env.body != SPOOL_BODY_7BIT || m->env.smtputf8;
	const char	*subject;
	size_t		 i;
	struct reason	 rs;

	evutil_secure_rng_get_bytes(&rnd, sizeof(rnd));
	rfc5322_date(now, date, sizeof(date));
	rfc5322_date(arrival, arr, sizeof(arr));
	/* RFC 2046 5.1.1: at most 70 characters; random so it cannot occur inside. */
	snprintf(bnd, sizeof(bnd), "%s.%lld.%08x/letterbox", qid, (long long)now, rnd);
	full = m->env.ret == SPOOL_RET_FULL || (kind == BOUNCE_FAILURE &&
	    m->env.ret == SPOOL_RET_NONE && m->msg_len <= BOUNCE_FULL_MAX);
	subject = dbl ? "Postmaster Copy: Undelivered Mail" :
	    kind == BOUNCE_FAILURE ? "Undelivered Mail Returned to Sender" :
	    kind == BOUNCE_DELAY ? "Delayed Mail (still being retried)" :
	    "Successful Mail Delivery Report";

	out_addf(o, "Date: %s\r\n", date);
	out_addf(o, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n", host);
	out_addf(o, "Subject: %s\r\n", subject);
	clean(to, addr, sizeof(addr));
	out_addf(o, "To: <%s>\r\n", addr);
	out_addf(o, "Auto-Submitted: auto-replied\r\n");
	out_addf(o, "Message-ID: <%s.%lld.%08x@%s>\r\n", qid, (long long)now, rnd, host);
	out_addf(o, "MIME-Version: 1.0\r\n");
	out_addf(o, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n", bnd);
	if (eight)
		out_addf(o, "Content-Transfer-Encoding: 8bit\r\n");
	out_addf(o, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	/* 1. the human-readable part */
	out_addf(o, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n", bnd);
	out_addf(o, "This is the mail system at host %s.\r\n\r\n", host);
	if (kind == BOUNCE_FAILURE)
		out_addf(o, "I'm sorry to have to inform you that your message could not\r\n"
		    "be delivered to one or more recipients. It's attached below.\r\n\r\n"
		    "For further assistance, please send mail to postmaster.\r\n\r\n"
		    "If you do so, please include this problem report. You can\r\n"
		    "delete your own text from the attached returned message.\r\n\r\n");
	else if (kind == BOUNCE_DELAY)
		out_addf(o, "####################################################################\r\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
		    "####################################################################\r\n\r\n"
		    "Your message could not be delivered for more than %lld hour(s).\r\n"
		    "It will be retried until it is %lld day(s) old.\r\n\r\n",
		    (long long)((now - arrival) / 3600),
		    (long long)(conf_int(c, CK_MAXIMAL_QUEUE_LIFETIME) / 86400));
	else
		out_addf(o, "Your message was successfully delivered to the destination(s)\r\n"
		    "listed below. If the message was delivered to mailbox you will\r\n"
		    "receive no further notifications. Otherwise you may still receive\r\n"
		    "notifications of mail delivery errors from other systems.\r\n\r\n");
	for (i = 0; i < n; i++) {
		const struct spool_rcpt *r = &m->env.rcpts[idx[i]];

		reason_parse(r->reason, kind, &rs);
		clean(r->addr, addr, sizeof(addr));
		out_addf(o, "<%s>: %s\r\n", addr, rs.text);
	}
	out_addf(o, "\r\n");

	/* 2. message/delivery-status (RFC 3464 2.2 per message, 2.3 per recipient) */
	out_addf(o, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n", bnd);
	out_addf(o, "Reporting-MTA: dns; %s\r\n", host);
	out_addf(o, "X-Letterbox-Queue-ID: %s\r\n", m->qid);
	clean(m->env.sender, addr, sizeof(addr));
	out_addf(o, "X-Letterbox-Sender: rfc822; %s\r\n", addr);
	if (m->env.envid != NULL) {
		xtext_decode(m->env.envid, envid, sizeof(envid));
		out_addf(o, "Original-Envelope-Id: %s\r\n", envid);
	}
	out_addf(o, "Arrival-Date: %s\r\n", arr);
	for (i = 0; i < n; i++) {
		const struct spool_rcpt *r = &m->env.rcpts[idx[i]];

		reason_parse(r->reason, kind, &rs);
		clean(r->addr, addr, sizeof(addr));
		out_addf(o, "\r\nFinal-Recipient: rfc822; %s\r\n", addr);
		if (r->orcpt != NULL) {
			const char *semi = strchr(r->orcpt, ';');

			/* "type;xtext" -> "type; decoded" (RFC 3464 2.3.1) */
			xtext_decode(semi != NULL ? semi + 1 : r->orcpt, orcpt, sizeof(orcpt));
			if (semi != NULL) {
				char type[32];
				size_t tl = (size_t)(semi - r->orcpt);

				if (tl >= sizeof(type))
					tl = sizeof(type) - 1;
				memcpy(type, r->orcpt, tl);
				type[tl] = '\0';
				clean(type, type, sizeof(type));
				out_addf(o, "Original-Recipient: %s; %s\r\n", type, orcpt);
			} else
				out_addf(o, "Original-Recipient: rfc822; %s\r\n", orcpt);
		}
		out_addf(o, "Action: %s\r\n", action_name(kind, r));
		out_addf(o, "Status: %s\r\n", rs.status);
		if (rs.mta[0] != '\0')
			out_addf(o, "Remote-MTA: dns; %s\r\n", rs.mta);
		if (rs.diag[0] != '\0')
			out_addf(o, "Diagnostic-Code: smtp; %s\r\n", rs.diag);
		else
			out_addf(o, "Diagnostic-Code: X-Letterbox; %s\r\n", rs.text);
		if (r->updated > 0) {
			rfc5322_date(r->updated, date, sizeof(date));
			out_addf(o, "Last-Attempt-Date: %s\r\n", date);
		}
		if (kind == BOUNCE_DELAY) {
			rfc5322_date(arrival + (time_t)conf_int(c, CK_MAXIMAL_QUEUE_LIFETIME),
			    retry, sizeof(retry));
			out_addf(o, "Will-Retry-Until: %s\r\n", retry);
		}
	}
	out_addf(o, "\r\n");

	/* 3. the original: message/rfc822 or text/rfc822-headers */
	out_addf(o, "--%s\r\nContent-Description: %s\r\n", bnd,
	    kind == BOUNCE_FAILURE ? (full ? "Undelivered Message" :
	    "Undelivered Message Headers") : (full ? "Message" : "Message Headers"));
	out_addf(o, "Content-Type: %s\r\n", full ? "message/rfc822" : "text/rfc822-headers");
	if (eight)
		out_addf(o, "Content-Transfer-Encoding: 8bit\r\n");
	out_addf(o, "\r\n");
	copy_original(o, m, !full);
	out_addf(o, "\r\n--%s--\r\n", bnd);
	out_flush(o);
}

int
bounce_create(const char *qdir, const struct spool_msg *m, const size_t *idx, size_t n,
    enum bounce_kind kind, const struct conf *c, char qid_r[SPOOL_QID_SIZE], char **err_r)
{
	char			 host[256], to[SPOOL_ADDR_MAX + 1];
	const char		*h = conf_str(c, CK_MYHOSTNAME);
	bool			 dbl = false;
	struct spool_rcpt	 rc;
	struct spool_envelope	 env;
	struct out		 o;

	*err_r = NULL;
	qid_r[0] = '\0';
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= m->env.nrcpt) {
			*err_r = xstrdup("bounce: recipient index out of range");
			return -1;
		}
	if (*h != '\0')
		str_copy(host, h, sizeof(host));
	else if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';

	if (m->env.sender[0] == '\0') {
		/* Never to "<>" (RFC 3461 6.2, RFC 5321 6.1). */
		if (kind != BOUNCE_FAILURE)
			return 0;
		if (m->env.origin != NULL && strcmp(m->env.origin, BOUNCE_ORIGIN_DOUBLE) == 0) {
			log_warnx("bounce qid=%s: undeliverable postmaster notification"
			    " discarded", m->qid);
			return 0;
		}
		snprintf(to, sizeof(to), "postmaster@%s", host);
		dbl = true;
	} else
		str_copy(to, m->env.sender, sizeof(to));

	memset(&rc, 0, sizeof(rc));
	rc.addr = to;
	rc.parent = -1;
	memset(&env, 0, sizeof(env));
	env.sender = "";
	env.body = m->env.body == SPOOL_BODY_7BIT && m->env.smtputf8 ? SPOOL_BODY_8BITMIME :
	    m->env.body;
	env.smtputf8 = m->env.smtputf8;
	env.origin = dbl ? BOUNCE_ORIGIN_DOUBLE : BOUNCE_ORIGIN;
	env.helo = host;
	env.rcpts = &rc;
	env.nrcpt = 1;

	memset(&o, 0, sizeof(o));
	buf_init(&o.b, 64 * 1024);
	if ((o.w = spool_create(qdir)) == NULL) {
		*err_r = xasprintf("bounce: cannot create a queue file: %s", strerror(errno));
		buf_clear(&o.b);
		return -1;
	}
	if (spool_write_envelope(o.w, &env) < 0) {
		o.err = errno ? errno : EIO;
	} else
		write_notice(&o, m, idx, n, kind, host, to, spool_writer_qid(o.w), dbl, c);
	buf_clear(&o.b);
	if (o.err) {
		*err_r = xasprintf("bounce: cannot write the notice: %s", strerror(o.err));
		spool_abort(&o.w);
		return -1;
	}
	if (spool_commit(&o.w, NULL, qid_r) < 0) {
		*err_r = xasprintf("bounce: cannot queue the notice: %s", strerror(errno));
		return -1;
	}
	log_info("bounce qid=%s: sender %s notice: %s (%zu recipient%s)", m->qid,
	    kind == BOUNCE_FAILURE ? "non-delivery" : kind == BOUNCE_DELAY ? "delay" : "success",
	    qid_r, n, n == 1 ? "" : "s");
	return 1;
}
