/* Login failure throttling: growth, cap, expiry, reset, bound, IPv6 /64. */
#include <stdio.h>

#include "auth/throttle.h"
#include "t.h"

static void
test_growth(void)
{
	struct throttle	*t = throttle_new(100, 900);
	static const unsigned want[] = { 1000, 2000, 4000, 8000, 8000, 8000 };
	size_t		 i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		t_int(throttle_fail(t, "192.0.2.7", 1000 + (time_t)i, 1000), want[i]);
	t_int(throttle_failures(t, "192.0.2.7", 1010), 6);
	/* Another address is independent. */
	t_int(throttle_fail(t, "192.0.2.8", 1010, 1000), 1000);
	/* Base 0 disables the delay but still counts. */
	t_int(throttle_fail(t, "192.0.2.9", 1010, 0), 0);
	t_int(throttle_failures(t, "192.0.2.9", 1010), 1);
	/* Success forgets. */
	throttle_success(t, "192.0.2.7");
	t_int(throttle_failures(t, "192.0.2.7", 1010), 0);
	t_int(throttle_fail(t, "192.0.2.7", 1011, 1000), 1000);
	throttle_success(t, "198.51.100.1");	/* unknown: harmless */
	throttle_free(&t);
	t_ok(t == NULL);
	throttle_free(&t);
}

static void
test_expiry(void)
{
	struct throttle *t = throttle_new(100, 900);

	throttle_fail(t, "192.0.2.1", 1000, 1000);
	throttle_fail(t, "192.0.2.1", 1100, 1000);
	throttle_fail(t, "192.0.2.2", 1500, 1000);
	/* 900 s after the *last* failure. */
	t_int(throttle_failures(t, "192.0.2.1", 1999), 2);
	t_int(throttle_failures(t, "192.0.2.1", 2000), 0);
	t_int(throttle_size(t), 1);
	t_int(throttle_failures(t, "192.0.2.2", 2399), 1);
	t_int(throttle_fail(t, "192.0.2.2", 2400, 1000), 1000);	/* expired: starts over */
	throttle_free(&t);
}

static void
test_bound(void)
{
	struct throttle	*t = throttle_new(50, 900);
	char		 a[32];
	int		 i;

	for (i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 256, i % 256);
		throttle_fail(t, a, 1000 + i, 1000);
	}
	t_int(throttle_size(t), 50);
	/* The oldest went first; the newest are still there. */
	t_int(throttle_failures(t, "10.0.0.0", 1300), 0);
	t_int(throttle_failures(t, "10.0.0.149", 1300), 0);
	t_int(throttle_failures(t, "10.0.0.150", 1300), 1);
	t_int(throttle_failures(t, "10.0.0.199", 1300), 1);
	/* A repeat failure moves an entry to the young end. */
	throttle_fail(t, "10.0.0.150", 1300, 1000);
	for (i = 0; i < 49; i++) {
		snprintf(a, sizeof(a), "172.16.0.%d", i);
		throttle_fail(t, a, 1301, 1000);
	}
	t_int(throttle_failures(t, "10.0.0.150", 1302), 2);
	t_int(throttle_failures(t, "10.0.0.151", 1302), 0);
	throttle_free(&t);
}

static void
test_ipv6(void)
{
	struct throttle *t = throttle_new(100, 900);

	throttle_fail(t, "2001:db8:1:2::1", 1000, 1000);
	t_int(throttle_fail(t, "2001:db8:1:2:ffff::9", 1001, 1000), 2000);	/* same /64 */
	t_int(throttle_fail(t, "2001:db8:1:3::1", 1002, 1000), 1000);		/* another /64 */
	t_int(throttle_failures(t, "2001:0db8:0001:0002::", 1003), 2);
	/* Junk is a key like any other. */
	t_int(throttle_fail(t, "not an address", 1004, 1000), 1000);
	t_int(throttle_fail(t, "", 1004, 1000), 1000);
	throttle_free(&t);
}

int
main(void)
{
	t_begin("throttle");
	test_growth();
	test_expiry();
	test_bound();
	test_ipv6();
	return t_end();
}
