/*
 * DSN generation (src/queue/bounce.h): spool a message, mark recipients,
 * generate notices, read them back from the spool and parse them with the
 * MIME parser: multipart/report structure, delivery-status fields, RET
 * handling, NOTIFY, no notice to <>, the double bounce to postmaster.
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "mime/mime.h"
#include "queue/bounce.h"
#include "spool/spool.h"
#include "t.h"

static char		 qdir[256];
static struct conf	*conf;

static const char *MSG =
    "Received: from client.test by mail.example.test\r\n"
    "From: Alice <alice@example.test>\r\n"
    "To: bob@remote.test\r\n"
    "Subject: hello\r\n"
    "Message-ID: <orig-1@example.test>\r\n"
    "\r\n"
    "The body line one.\r\n"
    ".A line with a dot\r\n";

/* Spool a message; returns its ID in qid. */
static void
spool_msg_new(const char *sender, const char *origin, enum spool_ret ret, const char *envid,
    const char *body, size_t bodyrep, char qid[SPOOL_QID_SIZE])
{
	struct spool_rcpt	 r[3];
	struct spool_envelope	 env;
	struct spool_writer	*w;

	memset(r, 0, sizeof(r));
	r[0].addr = "bob@remote.test";
	r[0].orcpt = "rfc822;bob+40remote.test";
	r[1].addr = "carol@remote.test";
	r[1].notify = SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE;
	r[2].addr = "dave@remote.test";
	r[2].notify = SPOOL_NOTIFY_NEVER;
	memset(&env, 0, sizeof(env));
	env.sender = sender;
	env.origin = origin;
	env.ret = ret;
	env.envid = envid;
	env.rcpts = r;
	env.nrcpt = 3;
	w = spool_create(qdir);
	t_ok(w != NULL);
	t_ok(spool_write_envelope(w, &env) == 0);
	t_ok(spool_write(w, MSG, strlen(MSG)) == 0);
	for (size_t i = 0; i < bodyrep; i++)
		t_ok(spool_write(w, body, strlen(body)) == 0);
	t_ok(spool_commit(&w, NULL, qid) == 0);
}

/* Read a queued message whole (test only). */
static char *
slurp(const char *qid, struct spool_msg **m_r, size_t *len_r)
{
	struct spool_msg	*m;
	char			*data;

	if (spool_open(qdir, qid, &m) < 0)
		return NULL;
	data = xmalloc((size_t)m->msg_len + 1);
	t_ok(pread(m->fd, data, (size_t)m->msg_len, m->msg_offset) == m->msg_len);
	data[m->msg_len] = '\0';
	*len_r = (size_t)m->msg_len;
	*m_r = m;
	return data;
}

static bool
has(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle)) != NULL;
}

static const struct mime_part *
child(const struct mime_part *p, unsigned n)
{
	const struct mime_part *c = p->children;

	while (c != NULL && n--)
		c = c->next;
	return c;
}

static void
body_of(const struct mime_part *p, const char **b, size_t *l)
{
	*b = p->data + p->body_off;
	*l = p->body_len;
}

/* Make a failed message, bounce it, return the notice (parsed). */
static void
check_failure(enum spool_ret ret, size_t bodyrep, bool want_full)
{
	char			 qid[SPOOL_QID_SIZE], bq[SPOOL_QID_SIZE], *err = NULL, *data;
	struct spool_msg	*m, *bm;
	struct mime_part	*root;
	const struct mime_part	*p;
	const char		*b;
	size_t			 len, bl, idx[2] = { 0, 1 };

	spool_msg_new("alice@example.test", "smtp", ret, "env+2Bid", "0123456789abcdef\r\n",
	    bodyrep, qid);
	t_ok(spool_open(qdir, qid, &m) == 0);
	t_ok(spool_rcpt_set(m, 0, SPOOL_R_FAILED, 0, "5.1.1 host mx.remote.test[192.0.2.3]"
	    " said: 550 5.1.1 <bob@remote.test>: user unknown (in reply to RCPT TO command)") == 0);
	t_ok(spool_rcpt_set(m, 1, SPOOL_R_FAILED, 0,
	    "5.4.4 Host or domain name not found") == 0);
	t_int(bounce_create(qdir, m, idx, 2, BOUNCE_FAILURE, conf, bq, &err), 1);
	t_ok(err == NULL);
	spool_msg_free(&m);

	data = slurp(bq, &bm, &len);
	t_ok(data != NULL);
	if (data == NULL)
		return;
	/* The envelope: from <>, to the sender, origin bounce. */
	t_str(bm->env.sender, "");
	t_int(bm->env.nrcpt, 1);
	t_str(bm->env.rcpts[0].addr, "alice@example.test");
	t_str(bm->env.origin, BOUNCE_ORIGIN);

	t_ok(has(data, len, "From: MAILER-DAEMON@mail.example.test"));
	t_ok(has(data, len, "To: <alice@example.test>\r\n"));
	t_ok(has(data, len, "Auto-Submitted: auto-replied\r\n"));
	t_ok(has(data, len, "Message-ID: <"));
	t_ok(has(data, len, "\r\nDate: ") || strncmp(data, "Date: ", 6) == 0);

	root = mime_parse(data, len);
	t_str(root->type, "multipart");
	t_str(root->subtype, "report");
	t_int(root->nchildren, 3);
	{
		bool rt = false;

		for (size_t i = 0; i < root->nparams; i++)
			if (strcasecmp(root->params[i].name, "report-type") == 0 &&
			    strcmp(root->params[i].value, "delivery-status") == 0)
				rt = true;
		t_ok(rt);
	}
	p = child(root, 0);
	t_ok(p != NULL && strcmp(p->type, "text") == 0 && strcmp(p->subtype, "plain") == 0);
	body_of(p, &b, &bl);
	t_ok(has(b, bl, "<bob@remote.test>: host mx.remote.test[192.0.2.3] said: 550"));

	p = child(root, 1);
	t_ok(p != NULL && strcmp(p->type, "message") == 0 &&
	    strcmp(p->subtype, "delivery-status") == 0);
	body_of(p, &b, &bl);
	t_ok(has(b, bl, "Reporting-MTA: dns; mail.example.test\r\n"));
	t_ok(has(b, bl, "Original-Envelope-Id: env+id\r\n"));
	t_ok(has(b, bl, "Arrival-Date: "));
	t_ok(has(b, bl, "\r\n\r\nFinal-Recipient: rfc822; bob@remote.test\r\n"
	    "Original-Recipient: rfc822; bob@remote.test\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\nRemote-MTA: dns; mx.remote.test\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: user unknown\r\n"
	    "Last-Attempt-Date: "));
	t_ok(has(b, bl, "Final-Recipient: rfc822; carol@remote.test\r\nAction: failed\r\n"
	    "Status: 5.4.4\r\nDiagnostic-Code: X-Letterbox; Host or domain name not found\r\n"));
	t_ok(!has(b, bl, "dave@"));
	t_ok(!has(b, bl, "Will-Retry-Until"));

	p = child(root, 2);
	t_ok(p != NULL);
	if (p != NULL) {
		body_of(p, &b, &bl);
		if (want_full) {
			t_str(p->type, "message");
			t_str(p->subtype, "rfc822");
			t_ok(p->flags & MIME_F_MESSAGE);
			t_ok(has(b, bl, "Subject: hello\r\n"));
			/* the body, byte for byte (no dot-stuffing in the spool) */
			t_ok(has(b, bl, "\r\n\r\nThe body line one.\r\n.A line with a dot\r\n"));
		} else {
			t_str(p->type, "text");
			t_str(p->subtype, "rfc822-headers");
			t_ok(has(b, bl, "Subject: hello\r\nMessage-ID: <orig-1@example.test>\r\n"));
			t_ok(!has(b, bl, "The body line one"));
		}
	}
	t_ok(has(data, len, "--\r\n"));		/* closing boundary */
	mime_free(&root);
	free(data);
	spool_msg_free(&bm);
}

static void
test_wanted(void)
{
	static const struct { unsigned notify; bool f, d, s; } cases[] = {
		{ 0, true, true, false },
		{ SPOOL_NOTIFY_NEVER, false, false, false },
		{ SPOOL_NOTIFY_SUCCESS, false, false, true },
		{ SPOOL_NOTIFY_FAILURE, true, false, false },
		{ SPOOL_NOTIFY_DELAY, false, true, false },
		{ SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE | SPOOL_NOTIFY_DELAY, true, true, true },
	};
	struct spool_rcpt r;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.notify = cases[i].notify;
		t_int(bounce_wanted(&r, BOUNCE_FAILURE), cases[i].f);
		t_int(bounce_wanted(&r, BOUNCE_DELAY), cases[i].d);
		t_int(bounce_wanted(&r, BOUNCE_SUCCESS), cases[i].s);
	}
}

static void
test_null_sender(void)
{
	char			 qid[SPOOL_QID_SIZE], bq[SPOOL_QID_SIZE], bq2[SPOOL_QID_SIZE];
	char			*err = NULL, *data;
	struct spool_msg	*m, *bm;
	size_t			 idx[1] = { 0 }, len;

	/* A null-sender message fails: never a notice to <>, only delay/success: none. */
	spool_msg_new("", "smtp", SPOOL_RET_NONE, NULL, "", 0, qid);
	t_ok(spool_open(qdir, qid, &m) == 0);
	t_ok(spool_rcpt_set(m, 0, SPOOL_R_FAILED, 0, "5.1.1 user unknown") == 0);
	t_int(bounce_create(qdir, m, idx, 1, BOUNCE_DELAY, conf, bq, &err), 0);
	t_int(bounce_create(qdir, m, idx, 1, BOUNCE_SUCCESS, conf, bq, &err), 0);
	/* FAILURE: a double bounce, to postmaster. */
	t_int(bounce_create(qdir, m, idx, 1, BOUNCE_FAILURE, conf, bq, &err), 1);
	spool_msg_free(&m);
	data = slurp(bq, &bm, &len);
	t_ok(data != NULL);
	if (data == NULL)
		return;
	t_str(bm->env.sender, "");
	t_str(bm->env.rcpts[0].addr, "postmaster@mail.example.test");
	t_str(bm->env.origin, BOUNCE_ORIGIN_DOUBLE);
	t_ok(has(data, len, "Subject: Postmaster Copy: Undelivered Mail"));
	free(data);

	/* The double bounce fails in turn: dropped, no third message. */
	t_ok(spool_rcpt_set(bm, 0, SPOOL_R_FAILED, 0, "5.1.1 no postmaster") == 0);
	t_int(bounce_create(qdir, bm, idx, 1, BOUNCE_FAILURE, conf, bq2, &err), 0);
	t_str(bq2, "");
	spool_msg_free(&bm);

	/* A bounce we generated (origin bounce) that fails: one double bounce. */
	spool_msg_new("", BOUNCE_ORIGIN, SPOOL_RET_NONE, NULL, "", 0, qid);
	t_ok(spool_open(qdir, qid, &m) == 0);
	t_int(bounce_create(qdir, m, idx, 1, BOUNCE_FAILURE, conf, bq, &err), 1);
	spool_msg_free(&m);
	t_ok(bounce_create(qdir, m = NULL, idx, 0, BOUNCE_FAILURE, conf, bq, &err) == 0);
}

static void
test_delay_success(void)
{
	char			 qid[SPOOL_QID_SIZE], bq[SPOOL_QID_SIZE], *err = NULL, *data;
	struct spool_msg	*m, *bm;
	struct mime_part	*root;
	const struct mime_part	*p;
	const char		*b;
	size_t			 idx[1] = { 0 }, idx1[1] = { 1 }, len, bl;

	spool_msg_new("alice@example.test", "smtp", SPOOL_RET_NONE, NULL, "", 0, qid);
	t_ok(spool_open(qdir, qid, &m) == 0);
	t_ok(spool_rcpt_set(m, 0, SPOOL_R_DEFERRED, 0, "4.4.1 connect to mx.remote.test"
	    "[192.0.2.3]:25: Connection refused") == 0);
	t_int(bounce_create(qdir, m, idx, 1, BOUNCE_DELAY, conf, bq, &err), 1);
	data = slurp(bq, &bm, &len);
	t_ok(data != NULL);
	t_ok(has(data, len, "Subject: Delayed Mail (still being retried)"));
	root = mime_parse(data, len);
	p = child(root, 1);
	body_of(p, &b, &bl);
	t_ok(has(b, bl, "Action: delayed\r\nStatus: 4.4.1\r\n"));
	t_ok(has(b, bl, "Will-Retry-Until: "));
	p = child(root, 2);
	t_str(p->subtype, "rfc822-headers");	/* delay notices: headers only */
	mime_free(&root);
	free(data);
	spool_msg_free(&bm);

	t_ok(spool_rcpt_set(m, 1, SPOOL_R_RELAYED, 0, "2.0.0 host mx.remote.test[192.0.2.3]"
	    " said: 250 2.0.0 Ok: queued as X (in reply to end of DATA command)") == 0);
	t_int(bounce_create(qdir, m, idx1, 1, BOUNCE_SUCCESS, conf, bq, &err), 1);
	data = slurp(bq, &bm, &len);
	root = mime_parse(data, len);
	p = child(root, 1);
	body_of(p, &b, &bl);
	t_ok(has(b, bl, "Final-Recipient: rfc822; carol@remote.test\r\nAction: relayed\r\n"
	    "Status: 2.0.0\r\nRemote-MTA: dns; mx.remote.test\r\n"));
	mime_free(&root);
	free(data);
	spool_msg_free(&bm);
	spool_msg_free(&m);
}

int
main(void)
{
	char	 path[300], *err = NULL;
	FILE	*f;

	t_begin("bounce");
	log_init("test_bounce", LOG_TO_STDERR, false);
	snprintf(qdir, sizeof(qdir), "/tmp/lbbounce.XXXXXX");
	if (mkdtemp(qdir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/letterbox.conf", qdir);
	f = fopen(path, "w");
	fprintf(f, "myhostname = mail.example.test\n");
	fclose(f);
	conf = conf_load(path, &err);
	if (conf == NULL) {
		printf("conf: %s\n", err);
		return 1;
	}
	test_wanted();
	check_failure(SPOOL_RET_NONE, 1, true);		/* small: full message */
	check_failure(SPOOL_RET_HDRS, 1, false);	/* RET=HDRS */
	check_failure(SPOOL_RET_NONE, 5000, false);	/* 90 KB, RET not given: headers */
	check_failure(SPOOL_RET_FULL, 5000, true);	/* RET=FULL: even when large */
	test_null_sender();
	test_delay_success();
	conf_free(&conf);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
		if (system(cmd) != 0)
			printf("cannot remove %s\n", qdir);
	}
	return t_end();
}
