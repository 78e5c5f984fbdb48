/*
 * Retry schedule (src/queue/sched.h): doubling from minimal_backoff_time,
 * capped at maximal_backoff_time and at the expiry, lifetimes, delay warning.
 */
#include "queue/sched.h"
#include "lib/conf.h"
#include "t.h"

int
main(void)
{
	struct sched_conf sc = { 300, 4000, 5 * 86400, 2 * 86400, 4 * 3600 };
	time_t arr = 1000000, now = arr + 60;
	static const struct { unsigned attempts; time_t delay; } table[] = {
		{ 0, 300 }, { 1, 300 }, { 2, 600 }, { 3, 1200 }, { 4, 2400 }, { 5, 4000 },
		{ 6, 4000 }, { 100, 4000 }, { 4000000000u, 4000 },
	};
	struct conf *c;

	t_begin("sched");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		t_int(sched_next_retry(table[i].attempts, arr, now, false, &sc) - now, table[i].delay);
	/* Near expiry: the next try is at the expiry itself. */
	now = arr + 5 * 86400 - 100;
	t_int(sched_next_retry(5, arr, now, false, &sc), arr + 5 * 86400);
	t_ok(!sched_expired(arr, now, false, &sc));
	t_ok(sched_expired(arr, arr + 5 * 86400, false, &sc));
	/* Null sender: bounce_queue_lifetime. */
	t_ok(sched_expired(arr, arr + 2 * 86400, true, &sc));
	t_ok(!sched_expired(arr, arr + 2 * 86400 - 1, true, &sc));
	t_int(sched_expiry(arr, true, &sc), arr + 2 * 86400);
	/* Lifetime 0: one attempt only. */
	sc.queue_lifetime = 0;
	t_ok(sched_expired(arr, arr, false, &sc));
	sc.queue_lifetime = 5 * 86400;

	/* Delay warning: once, on the attempt that crosses arrival + 4h. */
	t_ok(!sched_delay_warning_due(arr, arr + 3600, arr + 3 * 3600, false, &sc));
	t_ok(sched_delay_warning_due(arr, arr + 3 * 3600, arr + 4 * 3600 + 5, false, &sc));
	t_ok(sched_delay_warning_due(arr, 0, arr + 4 * 3600, false, &sc));
	t_ok(!sched_delay_warning_due(arr, arr + 4 * 3600 + 5, arr + 5 * 3600, false, &sc));
	t_ok(!sched_delay_warning_due(arr, arr + 3 * 3600, arr + 4 * 3600 + 5, true, &sc));
	sc.delay_warning = 0;
	t_ok(!sched_delay_warning_due(arr, 0, arr + 100 * 3600, false, &sc));

	/* From the config defaults. */
	c = conf_defaults("/tmp");
	sched_conf_load(&sc, c);
	t_int(sc.min_backoff, 300);
	t_int(sc.max_backoff, 4000);
	t_int(sc.queue_lifetime, 5 * 86400);
	t_int(sc.delay_warning, 0);
	conf_free(&c);
	return t_end();
}
