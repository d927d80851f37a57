/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the enrollment documents (docs/enrollment.md, "The
 * four steps").  The first byte picks the reader: 0 request, 1 challenge,
 * 2 pending, 3 response, 4 record; the rest is the document.  Whatever a
 * reader accepts must write out and read back to the same document; an
 * accepted request also goes through the verifier's checks (against a store
 * without anchors, so it is refused, never crashes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/enroll.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* to_json, from_json, to_json: the two texts are equal */
#define ROUND_TRIP(type, to, from, first)                                                 \
	do {                                                                              \
		type *b = calloc(1, sizeof(type));                                        \
		char *j1 = NULL, *j2 = NULL;                                              \
		if (!b || to(first, &j1) != TPA_OK ||                                     \
		    from(j1, strlen(j1), b, NULL, 0) != TPA_OK || to(b, &j2) != TPA_OK || \
		    strcmp(j1, j2) != 0)                                                  \
			abort();                                                          \
		free(j1);                                                                 \
		free(j2);                                                                 \
		free(b);                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data + 1;
	size_t len;
	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 5) {
	case 0: {
		tpa_enroll_request *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
		char *j1 = NULL, *j2 = NULL;
		if (!a || !b)
			abort();
		if (tpa_enroll_request_from_json(doc, len, a, NULL, 0) == TPA_OK) {
			tpa_ekstore *store = NULL;
			tpa_enroll_challenge ch;
			tpa_enroll_pending *p = calloc(1, sizeof(*p));
			tpa_enroll_verdict v;
			if (tpa_enroll_request_to_json(a, &j1) != TPA_OK ||
			    tpa_enroll_request_from_json(j1, strlen(j1), b, NULL, 0) != TPA_OK ||
			    tpa_enroll_request_to_json(b, &j2) != TPA_OK || strcmp(j1, j2) != 0)
				abort();
			if (!p || tpa_ekstore_new(&store) != TPA_OK)
				abort();
			if (tpa_enroll_challenge_make(a, store, NULL, &ch, p, &v) == TPA_OK)
				abort(); /* no anchors: nothing can verify */
			tpa_ekstore_free(&store);
			free(p);
		}
		tpa_enroll_request_clear(a);
		tpa_enroll_request_clear(b);
		free(a);
		free(b);
		free(j1);
		free(j2);
		break;
	}
	case 1: {
		tpa_enroll_challenge c;
		if (tpa_enroll_challenge_from_json(doc, len, &c, NULL, 0) == TPA_OK)
			ROUND_TRIP(tpa_enroll_challenge, tpa_enroll_challenge_to_json,
			           tpa_enroll_challenge_from_json, &c);
		break;
	}
	case 2: {
		tpa_enroll_pending *p = calloc(1, sizeof(*p));
		if (!p)
			abort();
		if (tpa_enroll_pending_from_json(doc, len, p, NULL, 0) == TPA_OK)
			ROUND_TRIP(tpa_enroll_pending, tpa_enroll_pending_to_json,
			           tpa_enroll_pending_from_json, p);
		free(p);
		break;
	}
	case 3: {
		tpa_enroll_response r;
		if (tpa_enroll_response_from_json(doc, len, &r, NULL, 0) == TPA_OK)
			ROUND_TRIP(tpa_enroll_response, tpa_enroll_response_to_json,
			           tpa_enroll_response_from_json, &r);
		break;
	}
	default: {
		tpa_enrollment *e = calloc(1, sizeof(*e));
		if (!e)
			abort();
		if (tpa_enrollment_from_json(doc, len, e, NULL, 0) == TPA_OK)
			ROUND_TRIP(tpa_enrollment, tpa_enrollment_to_json, tpa_enrollment_from_json,
			           e);
		free(e);
		break;
	}
	}
	return 0;
}
