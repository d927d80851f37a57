/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the server's own readers of request parts
 * (server/requests.c): the first byte picks one, the rest is its input.
 *   0 the enrollment body {"name":...,"request":{...}}, whose request is
 *     then read as the enrollment request document it must be
 *   1 the policy assignment {"policy": NAME|null}
 *   2 a request path (split into segments), then a machine id and a policy
 *     name from each segment
 *   3 a history query (?limit=N&before=N)
 *   4 the event log hash header
 *   5 the log escaper, whose output must be printable ASCII
 * (Evidence and policy bodies go through the library's readers, fuzzed by
 * fuzz_evidence and fuzz_policy.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/enroll.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + 1;
	size_t n;
	char why[256];
	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 6) {
	case 0: {
		srv_enroll_body b;
		if (srv_read_enroll_body(in, n, &b, why, sizeof(why)) == TPA_OK) {
			tpa_enroll_request *r = calloc(1, sizeof(*r));
			if (!r || !b.request_json || (b.has_name && !b.name[0]) ||
			    strlen(b.name) >= STORE_NAME_MAX)
				abort();
			if (tpa_enroll_request_from_json(b.request_json, strlen(b.request_json), r,
			                                 why, sizeof(why)) == TPA_OK)
				tpa_enroll_request_clear(r);
			free(r);
			srv_enroll_body_clear(&b);
		}
		break;
	}
	case 1: {
		char name[STORE_POLICY_NAME_MAX];
		if (srv_read_assign_body(in, n, name, why, sizeof(why)) == TPA_OK && name[0] &&
		    srv_parse_policy_name(name, strlen(name), name) != 0)
			abort();
		break;
	}
	case 2: {
		char *s = cstr(in, n), id[STORE_ID_HEX], name[STORE_POLICY_NAME_MAX];
		srv_path p;
		if (srv_split_path(s, &p) == 0) {
			if (p.n > SRV_MAX_SEGMENTS)
				abort();
			for (size_t i = 0; i < p.n; i++) {
				if (!p.len[i] || p.seg[i] < s || p.seg[i] + p.len[i] > s + n)
					abort();
				if (srv_parse_machine_id(p.seg[i], p.len[i], id) == 0 &&
				    strlen(id) != 64)
					abort();
				if (srv_parse_policy_name(p.seg[i], p.len[i], name) == 0 &&
				    strlen(name) != p.len[i])
					abort();
			}
		}
		free(s);
		break;
	}
	case 3: {
		char *s = cstr(in, n);
		size_t limit;
		int64_t before;
		char nonce[TPA_EAR_NONCE_HEX_MAX + 1];
		int has = 0;
		if (srv_parse_history_query(s, &limit, &before) == 0 &&
		    (limit < 1 || limit > 1000 || before < 0))
			abort();
		/* the other query reader: GET /v1/machines/ID/result?nonce=HEX */
		if (srv_parse_result_query(s, nonce, &has) == 0 && has &&
		    (strlen(nonce) < TPA_EAR_NONCE_HEX_MIN ||
		     strlen(nonce) > TPA_EAR_NONCE_HEX_MAX ||
		     strspn(nonce, "0123456789abcdef") != strlen(nonce)))
			abort();
		/* and the status page's: GET /?verdict=fail&after=ID */
		{
			int verdict;
			char after[STORE_ID_HEX];
			if (srv_parse_page_query(s, &verdict, after) == 0 &&
			    (verdict < 0 || verdict > 3 ||
			     (after[0] && (strlen(after) != STORE_ID_HEX - 1 ||
			                   strspn(after, "0123456789abcdef") != strlen(after)))))
				abort();
		}
		free(s);
		break;
	}
	case 4: {
		char *s = cstr(in, n);
		uint8_t sha[32];
		(void)srv_parse_sha256_hex(s, sha);
		free(s);
		break;
	}
	case 5: {
		char out[128];
		srv_log_escape((const char *)in, n, out, sizeof(out));
		for (const char *c = out; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				abort();
		if (strlen(out) >= sizeof(out))
			abort();
		break;
	}
	}
	return 0;
}
