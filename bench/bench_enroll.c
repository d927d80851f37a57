/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-enroll REQUEST.json ROOT.pem [N]: the verifier's CPU for one
 * enrollment in process: read the request, tpa_enroll_challenge_make (EK
 * chain, EK, AK, counter checks and MakeCredential), write challenge and
 * pending, read the pending back, tpa_enroll_finish with the right secret,
 * write the record.  The trust store is loaded once, as a verifier would.
 * Prints the median CPU per enrollment (CLOCK_PROCESS_CPUTIME_ID):
 * "enroll: inproc_us=N".  A benchmark: it asserts only that each run succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tpmattest/enroll.h>

#include "bench.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t rlen, clen;
	uint8_t *req_json, *root;
	tpa_ekstore *store = NULL;
	char why[256] = "";
	char *end = NULL;
	long n = argc > 3 ? strtol(argv[3], &end, 10) : 500;
	double *t;

	if (argc < 3 || n < 1 || n > 1000000 || (end && *end)) {
		fprintf(stderr, "usage: bench-enroll REQUEST.json ROOT.pem [N]\n");
		return 2;
	}
	if (!(req_json = bench_slurp(argv[1], &rlen)) || !(root = bench_slurp(argv[2], &clen)) ||
	    tpa_ekstore_new(&store) != TPA_OK ||
	    tpa_ekstore_add(store, TPA_EKSTORE_ROOT, root, clen, why, sizeof(why)) != TPA_OK ||
	    !(t = calloc((size_t)n, sizeof(*t)))) {
		fprintf(stderr, "bench-enroll: cannot load the inputs: %s\n", why);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		tpa_enroll_request req;
		tpa_enroll_challenge ch;
		tpa_enroll_pending *p = calloc(1, sizeof(*p)), *p2 = calloc(1, sizeof(*p2));
		tpa_enroll_response resp;
		tpa_enrollment *rec = calloc(1, sizeof(*rec));
		tpa_enroll_verdict v;
		char *chj = NULL, *pj = NULL, *rj = NULL;
		double t0 = cpu_now();
		if (!p || !p2 || !rec ||
		    tpa_enroll_request_from_json((const char *)req_json, rlen, &req, why,
		                                 sizeof(why)) != TPA_OK ||
		    tpa_enroll_challenge_make(&req, store, NULL, &ch, p, &v) != TPA_OK ||
		    tpa_enroll_challenge_to_json(&ch, &chj) != TPA_OK ||
		    tpa_enroll_pending_to_json(p, &pj) != TPA_OK ||
		    tpa_enroll_pending_from_json(pj, strlen(pj), p2, why, sizeof(why)) != TPA_OK) {
			fprintf(stderr, "bench-enroll: challenge failed: %s %s\n", why, v.why);
			return 1;
		}
		memset(&resp, 0, sizeof(resp));
		memcpy(resp.id, ch.id, sizeof(resp.id));
		memcpy(resp.secret, p->secret, sizeof(p->secret));
		resp.secret_len = sizeof(p->secret);
		if (tpa_enroll_finish(p2, &resp, 0, rec, &v) != TPA_OK ||
		    tpa_enrollment_to_json(rec, &rj) != TPA_OK) {
			fprintf(stderr, "bench-enroll: finish failed: %s\n", v.why);
			return 1;
		}
		t[i] = cpu_now() - t0;
		tpa_enroll_request_clear(&req);
		free(chj);
		free(pj);
		free(rj);
		free(p);
		free(p2);
		free(rec);
	}
	qsort(t, (size_t)n, sizeof(*t), bench_cmp_double);
	printf("enroll: inproc_us=%.1f (median of %ld; min %.1f)\n", t[n / 2] * 1e6, n, t[0] * 1e6);
	tpa_ekstore_free(&store);
	free(t);
	free(req_json);
	free(root);
	return 0;
}
