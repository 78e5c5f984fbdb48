/*
 * Thread pool: a mutex-protected FIFO of jobs for the workers and a second
 * list of finished jobs that one libevent event (activated from the worker
 * with event_active, which is thread-safe with evthread pthreads) drains on
 * the loop thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"

struct job {
	struct job	*next;
	void		(*work)(void *);
	void		(*done)(void *);
	void		*arg;
};

struct jobq {
	struct job	*head, *tail;
};

struct pool {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct jobq	 todo, finished;
	pthread_t	*threads;
	int		 nthreads;
	bool		 stopping;
	unsigned	 pending;
	struct event	*ev_done;
};

static void
jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *
jobq_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return j;
}

static void *
pool_worker(void *arg)
{
	struct pool	*p = arg;
	struct job	*j;

	for (;;) {
		pthread_mutex_lock(&p->mtx);
		while (p->todo.head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mtx);
		j = jobq_pop(&p->todo);
		pthread_mutex_unlock(&p->mtx);
		if (j == NULL)
			return NULL;	/* stopping and drained */
		j->work(j->arg);
		pthread_mutex_lock(&p->mtx);
		jobq_push(&p->finished, j);
		pthread_mutex_unlock(&p->mtx);
		event_active(p->ev_done, EV_READ, 0);
	}
}

static void
pool_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = arg;
	struct jobq	 q;
	struct job	*j;

	pthread_mutex_lock(&p->mtx);
	q = p->finished;
	p->finished.head = p->finished.tail = NULL;
	pthread_mutex_unlock(&p->mtx);
	while ((j = jobq_pop(&q)) != NULL) {
		p->pending--;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

struct pool *
pool_new(struct event_base *base, int nthreads)
{
	struct pool	*p = xcalloc(1, sizeof(*p));
	int		 i;

	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->ev_done = event_new(base, -1, 0, pool_done_cb, p);
	if (p->ev_done == NULL)
		fatalx("pool: event_new failed");
	p->nthreads = nthreads;
	p->threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0)
			fatalx("pool: cannot start worker thread");
	return p;
}

void
pool_submit(struct pool *p, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->work = work;
	j->done = done;
	j->arg = arg;
	p->pending++;
	pthread_mutex_lock(&p->mtx);
	jobq_push(&p->todo, j);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

unsigned
pool_pending(const struct pool *p)
{
	return p->pending;
}

void
pool_free(struct pool **pp)
{
	struct pool	*p = *pp;
	int		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pool_done_cb(-1, 0, p);
	event_free(p->ev_done);
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	xfree(pp);
}
