/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Group commit (server.h, "Threads").  Workers queue attestations; the
 * committer takes everything queued (up to STORE_BATCH_MAX), writes it in
 * one transaction with one durable commit, and hands each job back to its
 * worker, whose loop answers.  While a commit waits for the disk the
 * workers go on verifying, and what they queue meanwhile goes into the
 * next transaction: the batch grows with the load by itself, and a lone
 * attestation waits for nothing but its own commit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "server.h"

static void hand_back(srv_job *j)
{
	srv *s = j->s;
	uint64_t one = 1;
	pthread_mutex_lock(&s->done_lock);
	j->next = s->done;
	s->done = j;
	pthread_mutex_unlock(&s->done_lock);
	/* the counter only grows; a full one (never, in practice) still wakes */
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("tpmattest serve: waking a worker");
}

static void run_batch(srv_core *c, srv_job **jobs, size_t n)
{
	store_attestation sa[STORE_BATCH_MAX] = {{0}};
	int res[STORE_BATCH_MAX];
	int64_t seq[STORE_BATCH_MAX];
	char why[256] = "";
	int r;

	for (size_t i = 0; i < n; i++) {
		sa[i] = jobs[i]->sa;
		seq[i] = 0;
	}
	r = store_attest_commit_many(c->commit_st, sa, n, res, seq, why, sizeof(why));
	for (size_t i = 0; i < n; i++) {
		jobs[i]->res = r == TPA_OK ? res[i] : r;
		jobs[i]->seq = seq[i];
		snprintf(jobs[i]->why, sizeof(jobs[i]->why), "%s", why);
	}
}

static void *committer(void *arg)
{
	srv_core *c = arg;
	srv_job *jobs[STORE_BATCH_MAX];

	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&c->qlock);
		while (!c->queue && !c->stopping)
			pthread_cond_wait(&c->qcond, &c->qlock);
		if (!c->queue && c->stopping) {
			pthread_mutex_unlock(&c->qlock);
			return NULL;
		}
		while (c->queue && n < STORE_BATCH_MAX) {
			jobs[n++] = c->queue;
			c->queue = c->queue->next;
		}
		if (!c->queue)
			c->queue_tail = &c->queue;
		c->commit_metrics.commit_batches++;
		pthread_mutex_unlock(&c->qlock);

		run_batch(c, jobs, n);
		for (size_t i = 0; i < n; i++)
			hand_back(jobs[i]);
	}
}

int srv_committer_start(srv_core *c, char *why, size_t whylen)
{
	int r;
	c->queue = NULL;
	c->queue_tail = &c->queue;
	c->stopping = false;
	if ((r = pthread_create(&c->committer, NULL, committer, c)) != 0) {
		snprintf(why, whylen, "cannot start the committer thread: %s", strerror(r));
		return TPA_E_IO;
	}
	c->committer_running = true;
	return TPA_OK;
}

void srv_commit(srv_core *c, srv_job *job)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	job->queued_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	job->next = NULL;
	pthread_mutex_lock(&c->qlock);
	*c->queue_tail = job;
	c->queue_tail = &job->next;
	pthread_cond_signal(&c->qcond);
	pthread_mutex_unlock(&c->qlock);
}

void srv_committer_stop(srv_core *c)
{
	if (!c->committer_running)
		return;
	pthread_mutex_lock(&c->qlock);
	c->stopping = true;
	pthread_cond_signal(&c->qcond);
	pthread_mutex_unlock(&c->qlock);
	pthread_join(c->committer, NULL);
	c->committer_running = false;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	srv *s = arg;
	uint64_t v;
	(void)what;
	bool quit;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("tpmattest serve: a worker's wake-up");
	srv_worker_drain(s);
	pthread_mutex_lock(&s->done_lock);
	quit = s->quit;
	pthread_mutex_unlock(&s->done_lock);
	if (quit)
		event_base_loopexit(s->base, NULL);
}

void srv_worker_quit(srv *s)
{
	uint64_t one = 1;
	pthread_mutex_lock(&s->done_lock);
	s->quit = true;
	pthread_mutex_unlock(&s->done_lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("tpmattest serve: stopping a worker");
}

int srv_worker_wake_setup(srv *s)
{
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0)
		return -1;
	s->wake_ev = event_new(s->base, s->wake_fd, EV_READ | EV_PERSIST, on_wake, s);
	if (!s->wake_ev || event_add(s->wake_ev, NULL) != 0)
		return -1;
	return 0;
}

void srv_worker_drain(srv *s)
{
	srv_job *j, *rev = NULL;
	pthread_mutex_lock(&s->done_lock);
	j = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->done_lock);
	/* in the order they were committed */
	while (j) {
		srv_job *next = j->next;
		j->next = rev;
		rev = j;
		j = next;
	}
	while (rev) {
		srv_job *next = rev->next;
		rev->done(rev);
		rev = next;
	}
}
