/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-policy [N_LEARN [N_EVENTS [N_ALLOWED [N_LOAD]]]]: the policy's worst cases
 * within the caps, which an attacker (the event count) or a large fleet (the
 * number of allowed values) chooses.  In process, CPU time of one call each:
 *   learn   tpa_policy_learn on a log of N_LEARN distinct events (PCR 8)
 *   load    tpa_policy_from_json of a policy learnt from N_LOAD distinct events
 *           (80,000 by default: the most whose notes fit TPA_JSON_MAX)
 *   merge   tpa_policy_merge of it with itself
 *   eval    N_EVENTS events (PCR 8) judged against N_ALLOWED allowed digests
 *   flood   learn and eval on 100,000 event digests chosen so that an unkeyed
 *           FNV-1a table (this module's first hashed version) probes one
 *           1,024-slot cluster for every one of them (adversarial review)
 * Uses only the API that every version of the policy module has, so
 * bench-policy.sh can build it against an older tree, side by side.
 * Last line: "policy: learn_s=... load_s=... merge_s=... eval_s=... json_mb=...".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <tpmattest/eventlog.h>
#include <tpmattest/policy.h>

/* bench-policy.sh also builds this against trees from before src/ had rooms */
#if __has_include("verifier/policy_internal.h")
#include "verifier/policy_internal.h"
#else
#include "policy_internal.h"
#endif

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		if (!(b->p = realloc(b->p, b->cap)))
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(b, x, 4);
}

/* A crypto-agile log (PFP 1.05, 10.2) with SHA-256 only: the Spec ID event,
 * then n EV_IPL events in PCR 8 whose data is the decimal i % distinct. */
/* The Spec ID event (PFP 1.05, 10.2): a crypto-agile log with SHA-256 only. */
static void log_start(struct buf *b)
{
	static const uint8_t specid[] = {'S', 'p', 'e', 'c', ' ', 'I', 'D',  ' ', 'E', 'v', 'e',
	                                 'n', 't', '0', '3', 0,   0,   0,    0,   0,   0,   2,
	                                 0,   2,   1,   0,   0,   0,   0x0b, 0,   32,  0,   0};
	uint8_t zero[20] = {0};
	b->n = 0;
	u32(b, 0);
	u32(b, 3); /* EV_NO_ACTION */
	put(b, zero, 20);
	u32(b, sizeof(specid));
	put(b, specid, sizeof(specid));
}

/* Digests whose home slot in a 2^18-slot table under FNV-1a-64 (h ^ h >> 31)
 * falls in [0, 1024): what an attacker could choose against an unkeyed hash. */
static uint8_t *fnv_cluster(size_t n)
{
	uint8_t *out = malloc(n * 32), d[32];
	uint64_t ctr = 0;
	size_t got = 0;
	if (!out)
		abort();
	memset(d, 0x5a, sizeof(d));
	while (got < n) {
		uint64_t h = 0xcbf29ce484222325ull;
		memcpy(d + 24, &ctr, 8);
		ctr++;
		for (size_t i = 0; i < 32; i++)
			h = (h ^ d[i]) * 0x100000001b3ull;
		if (((h ^ h >> 31) & ((1u << 18) - 1)) < 1024)
			memcpy(out + 32 * got++, d, 32);
	}
	return out;
}

static void build_log_digests(struct buf *b, size_t n, const uint8_t *digests);

static void build_log(struct buf *b, size_t n, size_t distinct)
{
	log_start(b);
	for (size_t i = 0; i < n; i++) {
		char data[48];
		uint8_t d[32];
		int len = snprintf(data, sizeof(data), "%zu", i % distinct);
		EVP_Digest(data, (size_t)len, d, NULL, EVP_sha256(), NULL);
		u32(b, 8);
		u32(b, 0xd); /* EV_IPL */
		u32(b, 1);
		put(b, (const uint8_t[]){0x0b, 0}, 2);
		put(b, d, 32);
		u32(b, (uint32_t)len);
		put(b, data, (size_t)len);
	}
}

/* The same shape with the given digests (the data is not their preimage:
 * a policy judges digests, not data, in PCR 8). */
static void build_log_digests(struct buf *b, size_t n, const uint8_t *digests)
{
	log_start(b);
	for (size_t i = 0; i < n; i++) {
		u32(b, 8);
		u32(b, 0xd);
		u32(b, 1);
		put(b, (const uint8_t[]){0x0b, 0}, 2);
		put(b, digests + 32 * i, 32);
		u32(b, 1);
		put(b, "x", 1);
	}
}

static int verdict_ok = 1;
static size_t nchecks;

static void sink(tpa_result *res, const char *name, int pass, int err, const char *reason)
{
	(void)res;
	(void)err;
	nchecks++;
	if (!pass) {
		verdict_ok = 0;
		fprintf(stderr, "bench-policy: %s failed: %s\n", name, reason);
	}
}

static tpa_eventlog *parse_log(struct buf *b)
{
	tpa_eventlog *log = NULL;
	tpa_parse_error pe;
	if (tpa_eventlog_parse(b->p, b->n, &log, &pe) != TPA_OK) {
		fprintf(stderr, "bench-policy: the generated log does not parse\n");
		exit(1);
	}
	return log;
}

int main(int argc, char **argv)
{
	size_t nlearn = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t nevents = argc > 2 ? strtoul(argv[2], NULL, 10) : 199999;
	size_t nallowed = argc > 3 ? strtoul(argv[3], NULL, 10) : 20000;
	size_t nload = argc > 4 ? strtoul(argv[4], NULL, 10) : 80000;
	struct buf b = {0};
	tpa_eventlog *log;
	tpa_pcrs *q = NULL;
	tpa_policy *p = NULL, *p2 = NULL, *m = NULL, *pe = NULL;
	uint8_t v[32];
	char why[300] = "", *json = NULL;
	double t, learn_s, load_s, merge_s, eval_s, flood_learn_s, flood_eval_s;
	size_t json_len;

	memset(v, 0x5a, sizeof(v));
	if (tpa_pcrs_new(&q) != TPA_OK || tpa_pcrs_set(q, TPA_ALG_SHA256, 8, v, 32) != TPA_OK)
		return 1;

	build_log(&b, nlearn, nlearn);
	log = parse_log(&b);
	t = cpu_now();
	if (tpa_policy_learn(q, log, &p, why, sizeof(why)) != TPA_OK) {
		fprintf(stderr, "bench-policy: learn: %s\n", why);
		return 1;
	}
	learn_s = cpu_now() - t;
	tpa_eventlog_free(&log);
	tpa_policy_free(&p);
	build_log(&b, nload, nload);
	log = parse_log(&b);
	if (tpa_policy_learn(q, log, &p, why, sizeof(why)) != TPA_OK)
		return 1;
	tpa_eventlog_free(&log);
	if (tpa_policy_to_json(p, &json) != TPA_OK)
		return 1;
	json_len = strlen(json);
	t = cpu_now();
	if (tpa_policy_from_json(json, json_len, &p2, why, sizeof(why)) != TPA_OK) {
		fprintf(stderr, "bench-policy: load: %s\n", why);
		return 1;
	}
	load_s = cpu_now() - t;
	t = cpu_now();
	if (tpa_policy_merge(p, p2, &m, why, sizeof(why)) != TPA_OK) {
		fprintf(stderr, "bench-policy: merge: %s\n", why);
		return 1;
	}
	merge_s = cpu_now() - t;

	build_log(&b, nallowed, nallowed);
	log = parse_log(&b);
	if (tpa_policy_learn(q, log, &pe, why, sizeof(why)) != TPA_OK)
		return 1;
	tpa_eventlog_free(&log);
	build_log(&b, nevents, nallowed);
	log = parse_log(&b);
	t = cpu_now();
	tpa_policy_evaluate(pe, q, log, NULL, sink);
	eval_s = cpu_now() - t;
	if (!verdict_ok || !nchecks) {
		fprintf(stderr, "bench-policy: the evaluation did not pass\n");
		return 1;
	}
	{
		uint8_t *fl = fnv_cluster(100000);
		tpa_policy *pf = NULL;
		build_log_digests(&b, 100000, fl);
		tpa_eventlog_free(&log);
		log = parse_log(&b);
		t = cpu_now();
		if (tpa_policy_learn(q, log, &pf, why, sizeof(why)) != TPA_OK) {
			fprintf(stderr, "bench-policy: flood learn: %s\n", why);
			return 1;
		}
		flood_learn_s = cpu_now() - t;
		t = cpu_now();
		tpa_policy_evaluate(pf, q, log, NULL, sink);
		flood_eval_s = cpu_now() - t;
		tpa_policy_free(&pf);
		free(fl);
	}
	printf("learn: %zu distinct events, %.3f s CPU\n", nlearn, learn_s);
	printf("load:  %zu-value policy (%.1f MB of JSON), %.3f s CPU\n", nload, json_len / 1e6,
	       load_s);
	printf("merge: that policy with itself, %.3f s CPU\n", merge_s);
	printf("eval:  %zu events against %zu allowed digests, %.3f s CPU\n", nevents, nallowed,
	       eval_s);
	printf("flood: 100000 digests clustered under FNV-1a: learn %.3f s, eval %.3f s CPU\n",
	       flood_learn_s, flood_eval_s);
	printf("policy: learn_s=%.4f load_s=%.4f merge_s=%.4f eval_s=%.4f flood_learn_s=%.4f "
	       "flood_eval_s=%.4f json_mb=%.2f\n",
	       learn_s, load_s, merge_s, eval_s, flood_learn_s, flood_eval_s, json_len / 1e6);
	tpa_eventlog_free(&log);
	tpa_policy_free(&p);
	tpa_policy_free(&p2);
	tpa_policy_free(&m);
	tpa_policy_free(&pe);
	tpa_pcrs_free(&q);
	free(json);
	free(b.p);
	return 0;
}
