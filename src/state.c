/* SPDX-License-Identifier: BSD-2-Clause */
/* A machine's freshness state as JSON (docs/verify.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/verify.h>

#include "util.h"

int tpa_state_to_json(const tpa_state *st, char **out)
{
	struct json_object *root = json_object_new_object();
	char *s;
	if (!root)
		return TPA_E_NOMEM;
	json_object_object_add(root, "version", json_object_new_int(1));
	if (st->has_clock) {
		struct json_object *c = json_object_new_object();
		json_object_object_add(c, "clock", json_object_new_uint64(st->clock));
		json_object_object_add(c, "reset_count", json_object_new_uint64(st->reset_count));
		json_object_object_add(c, "restart_count",
		                       json_object_new_uint64(st->restart_count));
		json_object_object_add(c, "safe", json_object_new_boolean(st->safe));
		json_object_object_add(root, "clock", c);
	}
	if (st->has_counter) {
		struct json_object *c = json_object_new_object();
		char hex[2 * (2 + TPA_MAX_DIGEST) + 1];
		tpa_hex_encode(st->counter_name, st->counter_name_len, hex);
		json_object_object_add(c, "value", json_object_new_uint64(st->counter));
		json_object_object_add(c, "name", json_object_new_string(hex));
		json_object_object_add(root, "counter", c);
	}
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                                        JSON_C_TO_STRING_SPACED));
	json_object_put(root);
	if (!s)
		return TPA_E_NOMEM;
	*out = s;
	return TPA_OK;
}

static int get_u64(struct json_object *o, const char *key, uint64_t max, uint64_t *v)
{
	struct json_object *x;
	if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
		return -1;
	/* json-c keeps non-negative integers up to 2^64-1 exactly. */
	if (json_object_get_int64(x) < 0 && json_object_get_uint64(x) <= INT64_MAX)
		return -1;
	*v = json_object_get_uint64(x);
	return *v > max ? -1 : 0;
}

int tpa_state_from_json(const char *json, size_t len, tpa_state *out)
{
	struct json_tokener *tok;
	struct json_object *root, *c, *v;
	tpa_state st;
	uint64_t x;
	int r = TPA_E_MALFORMED;

	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if (len > TPA_JSON_MAX)
		return TPA_E_LIMIT;
	memset(&st, 0, sizeof(st));
	if (!(tok = json_tokener_new_ex(TPA_JSON_MAX_DEPTH)))
		return TPA_E_NOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(root, json_type_object))
		goto out;
	if (!json_object_object_get_ex(root, "version", &v) || json_object_get_int(v) != 1)
		goto out;
	if (json_object_object_get_ex(root, "clock", &c)) {
		if (!json_object_is_type(c, json_type_object) ||
		    get_u64(c, "clock", UINT64_MAX, &st.clock) ||
		    get_u64(c, "reset_count", UINT32_MAX, &x))
			goto out;
		st.reset_count = (uint32_t)x;
		if (get_u64(c, "restart_count", UINT32_MAX, &x))
			goto out;
		st.restart_count = (uint32_t)x;
		if (!json_object_object_get_ex(c, "safe", &v) ||
		    !json_object_is_type(v, json_type_boolean))
			goto out;
		st.safe = json_object_get_boolean(v);
		st.has_clock = 1;
	}
	if (json_object_object_get_ex(root, "counter", &c)) {
		const char *hex;
		size_t n;
		if (!json_object_is_type(c, json_type_object) ||
		    get_u64(c, "value", UINT64_MAX, &st.counter) ||
		    !json_object_object_get_ex(c, "name", &v) ||
		    !json_object_is_type(v, json_type_string))
			goto out;
		hex = json_object_get_string(v);
		n = strlen(hex) / 2;
		if (n < 4 || n > sizeof(st.counter_name) ||
		    tpa_hex_decode(hex, st.counter_name, n) != TPA_OK)
			goto out;
		st.counter_name_len = n;
		st.has_counter = 1;
	}
	*out = st;
	r = TPA_OK;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}
