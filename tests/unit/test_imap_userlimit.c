/* Sessions per user (imap/userlimit.c): counts, the limit, release, growth. */
#include <stdio.h>

#include "imap/userlimit.h"
#include "t.h"

int
main(void)
{
	char name[64];
	int i;

	t_begin("imap_userlimit");
	t_int(imap_user_count("a@x"), 0);
	imap_user_release("a@x");		/* never counted: no effect */
	t_ok(imap_user_take("a@x", 2));
	t_ok(imap_user_take("a@x", 2));
	t_ok(!imap_user_take("a@x", 2));	/* the third is refused */
	t_int(imap_user_count("a@x"), 2);
	t_ok(imap_user_take("b@x", 2));		/* other users have their own count */
	imap_user_release("a@x");
	t_ok(imap_user_take("a@x", 2));		/* room again */
	t_ok(imap_user_take("a@x", 0));		/* 0: no limit */
	t_int(imap_user_count("a@x"), 3);
	for (i = 0; i < 3; i++)
		imap_user_release("a@x");
	t_int(imap_user_count("a@x"), 0);
	t_int(imap_user_count("b@x"), 1);
	/* Many users: the table grows and every count survives the rehash. */
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "u%d@x", i);
		t_ok(imap_user_take(name, 1) && !imap_user_take(name, 1));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "u%d@x", i);
		if (imap_user_count(name) != 1)
			break;
		imap_user_release(name);
	}
	t_int(i, 5000);
	t_int(imap_user_count("u17@x"), 0);
	imap_user_release("b@x");
	t_int(imap_user_count("b@x"), 0);
	return t_end();
}
