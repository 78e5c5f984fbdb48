/*
 * Per-folder facts and per-message ids (folder_meta.c): MAILBOXID made
 * once, kept by RENAME, new after DELETE + CREATE, damaged file replaced;
 * EMAILID from the base name, kept by store_copy (and a copy of a copy);
 * save date from the name, else the internal date; special use stored
 * with the folder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "t.h"
#include "store/store.h"
#include "store_t.h"

static const char *msg1 = "From: a@example.com\r\nSubject: one\r\n\r\nbody one\r\n";

static bool
id_ok(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-'))
			return false;
	return i > 0 && i < STORE_OBJID_SIZE;
}

static void
test_mailbox_id(void)
{
	char	root[512], a[STORE_OBJID_SIZE], b[STORE_OBJID_SIZE], c[STORE_OBJID_SIZE];
	char	path[1024];

	snprintf(root, sizeof(root), "%s/mbid", tmpdir);
	mkmaildir(root);
	t_int(store_mailbox_id(root, "INBOX", a), 0);
	t_ok(id_ok(a));
	t_int(store_mailbox_id(root, "INBOX", b), 0);
	t_str(a, b);
	t_int(store_folder_create(root, "Work"), 0);
	t_int(store_mailbox_id(root, "Work", b), 0);
	t_ok(id_ok(b));
	t_ok(strcmp(a, b) != 0);
	/* the id moves with the folder */
	t_int(store_folder_rename(root, "Work", "Play"), 0);
	t_int(store_mailbox_id(root, "Play", c), 0);
	t_str(b, c);
	/* delete + create: another id */
	t_int(store_folder_delete(root, "Play"), 0);
	t_int(store_folder_create(root, "Play"), 0);
	t_int(store_mailbox_id(root, "Play", c), 0);
	t_ok(strcmp(b, c) != 0);
	/* no folder: ENOENT, and nothing created */
	errno = 0;
	t_int(store_mailbox_id(root, "Nope", c), -1);
	t_int(errno, ENOENT);
	t_ok(!store_folder_exists(root, "Nope"));
	/* a damaged file is replaced by a valid id */
	snprintf(path, sizeof(path), "%s/letterbox-mailboxid", root);
	xwrite_file(path, "bad id!\n");
	t_int(store_mailbox_id(root, "INBOX", c), 0);
	t_ok(id_ok(c));
	t_ok(strcmp(c, "bad id!") != 0);
	t_int(store_mailbox_id(root, "INBOX", b), 0);
	t_str(b, c);
}

static void
emailid_of(const struct store_mailbox *mb, size_t idx, char id_r[STORE_OBJID_SIZE])
{
	struct store_msg	m = tmsg(mb, idx);

	store_msg_emailid(&m, id_r);
}

static void
test_emailid_copy(void)
{
	char			 root[512], e1[STORE_OBJID_SIZE], e2[STORE_OBJID_SIZE];
	char			 e3[STORE_OBJID_SIZE], e4[STORE_OBJID_SIZE];
	struct store_mailbox	*in, *f1, *f2;
	uint32_t		 uid;

	snprintf(root, sizeof(root), "%s/emailid", tmpdir);
	mkmaildir(root);
	t_int(store_folder_create(root, "A"), 0);
	t_int(store_folder_create(root, "B"), 0);
	in = store_open(root, "INBOX", 0);
	f1 = store_open(root, "A", 0);
	f2 = store_open(root, "B", 0);
	t_int(store_append(in, msg1, strlen(msg1), 0, 0, 0, &uid), 0);
	t_int(store_append(in, msg1, strlen(msg1), 0, 0, 0, &uid), 0);
	t_int(store_sync(in, NULL, NULL), 0);
	t_int(store_count(in), 2);
	emailid_of(in, 0, e1);
	emailid_of(in, 1, e2);
	t_ok(id_ok(e1) && e1[0] == 'M' && strlen(e1) == 17);
	t_ok(strcmp(e1, e2) != 0);	/* same bytes, two messages */
	/* a flag change renames the file: the id stays */
	t_int(store_set_flags(in, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	emailid_of(in, 0, e3);
	t_str(e1, e3);
	/* a copy, and a copy of the copy, keep it */
	t_int(store_copy(in, 0, f1, &uid), 0);
	t_int(store_sync(f1, NULL, NULL), 0);
	emailid_of(f1, 0, e3);
	t_str(e1, e3);
	t_int(store_copy(f1, 0, f2, &uid), 0);
	t_int(store_sync(f2, NULL, NULL), 0);
	emailid_of(f2, 0, e4);
	t_str(e1, e4);
	/* a second copy into the same folder: another file, still the same id */
	t_int(store_copy(in, 0, f2, &uid), 0);
	t_int(store_sync(f2, NULL, NULL), 0);
	t_int(store_count(f2), 2);
	emailid_of(f2, 1, e4);
	t_str(e1, e4);
	store_close(&in);
	store_close(&f1);
	store_close(&f2);
}

static void
test_savedate(void)
{
	char			 root[512], path[1024];
	struct store_mailbox	*mb, *f;
	time_t			 t0 = time(NULL);
	uint32_t		 uid;
	int64_t			 sd;
	struct timeval		 tv[2] = { { 978343200, 0 }, { 978343200, 0 } };

	snprintf(root, sizeof(root), "%s/savedate", tmpdir);
	mkmaildir(root);
	t_int(store_folder_create(root, "F"), 0);
	/* delivered by another program, with a time in the name */
	put_msg(root, "new", "1600000000.M1P2.host", msg1);
	/* a name with no time: the internal date (the mtime) */
	put_msg(root, "new", "oddname", msg1);
	snprintf(path, sizeof(path), "%s/new/oddname", root);
	t_int(utimes(path, tv), 0);
	mb = store_open(root, "INBOX", 0);
	/* APPEND with an old internal date: saved now */
	t_int(store_append(mb, msg1, strlen(msg1), 0, 0, 946684800, &uid), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 3);
	/* new mail is numbered by the time in its name: "oddname" (none) first */
	t_int(store_msg_savedate(mb, 0), 978343200);
	t_int(store_msg_savedate(mb, 1), 1600000000);
	sd = store_msg_savedate(mb, 2);
	t_ok(sd >= t0 && sd <= time(NULL));
	t_int(store_msg_idate(mb, 2), 946684800);
	/* COPY: saved in F now, whatever the original's date */
	f = store_open(root, "F", 0);
	t_int(store_copy(mb, 1, f, &uid), 0);
	t_int(store_sync(f, NULL, NULL), 0);
	sd = store_msg_savedate(f, 0);
	t_ok(sd >= t0 && sd <= time(NULL));
	store_close(&f);
	store_close(&mb);
}

static void
test_special_use(void)
{
	char	root[512], use[128];

	snprintf(root, sizeof(root), "%s/use", tmpdir);
	mkmaildir(root);
	t_int(store_folder_create(root, "Out"), 0);
	t_int(store_folder_special_use(root, "Out", use, sizeof(use)), 0);
	t_int(store_folder_set_special_use(root, "Out", "\\Sent \\Archive"), 0);
	t_int(store_folder_special_use(root, "Out", use, sizeof(use)), 1);
	t_str(use, "\\Sent \\Archive");
	t_int(store_folder_rename(root, "Out", "Gone"), 0);
	t_int(store_folder_special_use(root, "Gone", use, sizeof(use)), 1);
	t_str(use, "\\Sent \\Archive");
	t_int(store_folder_set_special_use(root, "Gone", "\\Drafts"), 0);
	t_int(store_folder_special_use(root, "Gone", use, sizeof(use)), 1);
	t_str(use, "\\Drafts");
	errno = 0;
	t_int(store_folder_set_special_use(root, "Gone", "a\nb"), -1);
	t_int(errno, EINVAL);
	t_int(store_folder_set_special_use(root, "Missing", "\\Sent"), -1);
	t_int(errno, ENOENT);
	t_int(store_folder_special_use(root, "INBOX", use, sizeof(use)), 0);
}

int
main(void)
{
	t_begin("store_meta");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-store-meta-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_mailbox_id();
	test_emailid_copy();
	test_savedate();
	test_special_use();
	rm_tree(tmpdir);
	return t_end();
}
