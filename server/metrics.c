/* SPDX-License-Identifier: BSD-2-Clause */
/* /metrics: counters and histograms in the Prometheus text format 0.0.4. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const double bounds[SRV_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

void srv_hist_add(srv_hist *h, double seconds)
{
	size_t i = 0;
	while (i < SRV_HIST_BUCKETS && seconds > bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

void srv_metrics_sum(srv_metrics *a, const srv_metrics *b)
{
	const srv_hist *hb[2] = {&b->attest_seconds, &b->commit_seconds};
	srv_hist *ha[2] = {&a->attest_seconds, &a->commit_seconds};
	a->attest_pass += b->attest_pass;
	a->attest_fail += b->attest_fail;
	a->attest_refused += b->attest_refused;
	a->attest_error += b->attest_error;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i <= SRV_HIST_BUCKETS; i++)
			ha[k]->bucket[i] += hb[k]->bucket[i];
		ha[k]->count += hb[k]->count;
		ha[k]->sum += hb[k]->sum;
	}
	a->http_2xx += b->http_2xx;
	a->http_4xx += b->http_4xx;
	a->http_5xx += b->http_5xx;
	a->enrollments += b->enrollments;
	a->commit_batches += b->commit_batches;
}

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = o->cap * 2 + (size_t)n;
			char *b = realloc(o->buf, cap);
			if (!b) {
				o->failed = 1;
				return;
			}
			o->buf = b;
			o->cap = cap;
		}
	}
}

static void hist(struct out *o, const char *name, const char *help, const srv_hist *h)
{
	uint64_t cum = 0;
	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < SRV_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
	}
	cum += h->bucket[SRV_HIST_BUCKETS];
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
	    (unsigned long long)cum, name, h->sum, name, (unsigned long long)h->count);
}

char *srv_metrics_text(const srv_metrics *m, const store_stats *st, size_t connections_open,
                       size_t workers)
{
	struct out o = {malloc(4096), 0, 4096, 0};
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	put(&o,
	    "# HELP tpmattest_attestations_total Attestations answered, by verdict (refused: "
	    "nonce or request refused before a verdict; error: not recorded)\n"
	    "# TYPE tpmattest_attestations_total counter\n"
	    "tpmattest_attestations_total{verdict=\"pass\"} %llu\n"
	    "tpmattest_attestations_total{verdict=\"fail\"} %llu\n"
	    "tpmattest_attestations_total{verdict=\"refused\"} %llu\n"
	    "tpmattest_attestations_total{verdict=\"error\"} %llu\n",
	    (unsigned long long)m->attest_pass, (unsigned long long)m->attest_fail,
	    (unsigned long long)m->attest_refused, (unsigned long long)m->attest_error);
	hist(&o, "tpmattest_attestation_seconds",
	     "Time from a complete attestation request to its answer", &m->attest_seconds);
	hist(&o, "tpmattest_store_commit_seconds",
	     "Time from an attestation's verdict to its commit (waiting for the committer, and "
	     "the group commit's transaction)",
	     &m->commit_seconds);
	put(&o,
	    "# HELP tpmattest_store_commits_total Store transactions of attestations (group "
	    "commits: each holds every attestation waiting)\n"
	    "# TYPE tpmattest_store_commits_total counter\n"
	    "tpmattest_store_commits_total %llu\n"
	    "# HELP tpmattest_workers Event loops serving requests\n"
	    "# TYPE tpmattest_workers gauge\n"
	    "tpmattest_workers %zu\n",
	    (unsigned long long)m->commit_batches, workers);
	put(&o,
	    "# HELP tpmattest_machines_enrolled Machines in the store\n"
	    "# TYPE tpmattest_machines_enrolled gauge\n"
	    "tpmattest_machines_enrolled %lld\n"
	    "# HELP tpmattest_nonces_consumed Nonces used and kept until they expire (issued "
	    "nonces are not stored)\n"
	    "# TYPE tpmattest_nonces_consumed gauge\n"
	    "tpmattest_nonces_consumed %lld\n"
	    "# HELP tpmattest_enrollments_pending Challenges not answered yet\n"
	    "# TYPE tpmattest_enrollments_pending gauge\n"
	    "tpmattest_enrollments_pending %lld\n"
	    "# HELP tpmattest_enrollments_total Enrollments completed\n"
	    "# TYPE tpmattest_enrollments_total counter\n"
	    "tpmattest_enrollments_total %llu\n"
	    "# HELP tpmattest_http_requests_total Answers, by status class\n"
	    "# TYPE tpmattest_http_requests_total counter\n"
	    "tpmattest_http_requests_total{code=\"2xx\"} %llu\n"
	    "tpmattest_http_requests_total{code=\"4xx\"} %llu\n"
	    "tpmattest_http_requests_total{code=\"5xx\"} %llu\n"
	    "# HELP tpmattest_connections_open Client connections open now\n"
	    "# TYPE tpmattest_connections_open gauge\n"
	    "tpmattest_connections_open %zu\n",
	    (long long)st->machines, (long long)st->nonces, (long long)st->pending,
	    (unsigned long long)m->enrollments, (unsigned long long)m->http_2xx,
	    (unsigned long long)m->http_4xx, (unsigned long long)m->http_5xx, connections_open);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
