/* SPDX-License-Identifier: BSD-2-Clause */
/* A verification result as JSON (result_json.h). */
#include <tpmattest/tpmattest.h>

#include "verifier/result_json.h"

const char *tpa_check_status_name(tpa_check_status s)
{
	switch (s) {
	case TPA_CHECK_PASS: return "pass";
	case TPA_CHECK_FAIL: return "fail";
	case TPA_CHECK_NOT_RUN: return "not_run";
	case TPA_CHECK_SKIPPED: return "skipped";
	}
	return "?";
}

static int add_not_covered(struct json_object *root, const tpa_result *res)
{
	const tpa_pcrs *q = tpa_result_quoted_pcrs(res);
	struct json_object *nc;
	if (!q)
		return TPA_OK;
	if (!(nc = json_object_new_object()))
		return TPA_E_NOMEM;
	for (size_t b = 0; b < tpa_pcrs_bank_count(q); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(q, b);
		uint32_t m = tpa_result_uncovered_pcrs(res, alg);
		struct json_object *a;
		if (!m)
			continue;
		if (!(a = json_object_new_array()) ||
		    json_object_object_add(nc, tpa_alg_name(alg), a) != 0) {
			json_object_put(a);
			json_object_put(nc);
			return TPA_E_NOMEM;
		}
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if (m >> k & 1 &&
			    json_object_array_add(a, json_object_new_int((int)k)) != 0) {
				json_object_put(nc);
				return TPA_E_NOMEM;
			}
	}
	if (json_object_object_add(root, "not_covered", nc) != 0) {
		json_object_put(nc);
		return TPA_E_NOMEM;
	}
	return TPA_OK;
}

int tpa_result_json_add(struct json_object *root, const tpa_result *res)
{
	struct json_object *checks;
	size_t n = tpa_result_count(res);
	int r;
	if ((r = add_not_covered(root, res)) != TPA_OK)
		return r;
	if (!(checks = json_object_new_array()))
		return TPA_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name, *reason;
		tpa_check_status st;
		struct json_object *c = json_object_new_object();
		if (!c || json_object_array_add(checks, c) != 0) {
			json_object_put(c);
			json_object_put(checks);
			return TPA_E_NOMEM;
		}
		tpa_result_check(res, i, &name, &st, &reason);
		if (json_object_object_add(c, "name", json_object_new_string(name)) != 0 ||
		    json_object_object_add(
		            c, "status", json_object_new_string(tpa_check_status_name(st))) != 0 ||
		    json_object_object_add(c, "reason", json_object_new_string(reason)) != 0) {
			json_object_put(checks);
			return TPA_E_NOMEM;
		}
	}
	if (json_object_object_add(root, "checks", checks) != 0) {
		json_object_put(checks);
		return TPA_E_NOMEM;
	}
	return TPA_OK;
}
