/* SPDX-License-Identifier: BSD-2-Clause */
/* A machine's freshness state as JSON (docs/verify.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/verify.h>

#include "base/json.h"
#include "base/util.h"

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
	/* written when there are some, so states without stay as they were */
	if (st->counter_auths)
		json_object_object_add(root, "counter_auths",
		                       json_object_new_uint64(st->counter_auths));
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                                        JSON_C_TO_STRING_SPACED));
	json_object_put(root);
	if (!s)
		return TPA_E_NOMEM;
	*out = s;
	return TPA_OK;
}

/* TPM_ALG_NULL (TPM 2.0 Part 2, 6.3) */
#define ALG_NULL 0x0010

/* Why, and TPA_E_MALFORMED: every refusal of the reader below. */
#define BAD(...)                                    \
	do {                                        \
		snprintf(why, whylen, __VA_ARGS__); \
		return TPA_E_MALFORMED;             \
	} while (0)

/* Every member of o is one of the names in known (NULL-terminated): a
 * misspelt "countr" must not read as "no counter" (THREATS, parser
 * differentials). */
static int only_known(struct json_object *o, const char *where, const char *const *known, char *why,
                      size_t whylen)
{
	json_object_object_foreach (o, key, val) {
		size_t i;
		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i])
			BAD("%s: unknown member \"%s\"", where, key);
	}
	return TPA_OK;
}

/* A non-negative integer member, at most max.  json-c clamps integers that
 * overflow to INT64_MIN or UINT64_MAX without an error, so UINT64_MAX itself
 * cannot be told from overflow and is refused. */
static int get_uint(struct json_object *o, const char *where, const char *key, uint64_t max,
                    uint64_t *v, char *why, size_t whylen)
{
	struct json_object *x;
	uint64_t u;
	if (!json_object_object_get_ex(o, key, &x))
		BAD("%s: no member \"%s\"", where, key);
	if (!json_object_is_type(x, json_type_int))
		BAD("%s: \"%s\" is not an integer", where, key);
	if (json_object_get_int64(x) < 0)
		BAD("%s: \"%s\" is negative", where, key);
	u = json_object_get_uint64(x);
	if (u > max || u == UINT64_MAX)
		BAD("%s: \"%s\" is out of range", where, key);
	*v = u;
	return TPA_OK;
}

static int read_clock(struct json_object *c, tpa_state *st, char *why, size_t whylen)
{
	static const char *const known[] = {"clock", "reset_count", "restart_count", "safe", NULL};
	struct json_object *v;
	uint64_t x;
	int r;
	if (!json_object_is_type(c, json_type_object))
		BAD("\"clock\" is not an object");
	if ((r = only_known(c, "clock", known, why, whylen)) != TPA_OK ||
	    (r = get_uint(c, "clock", "clock", UINT64_MAX, &st->clock, why, whylen)) != TPA_OK ||
	    (r = get_uint(c, "clock", "reset_count", UINT32_MAX, &x, why, whylen)) != TPA_OK)
		return r;
	st->reset_count = (uint32_t)x;
	if ((r = get_uint(c, "clock", "restart_count", UINT32_MAX, &x, why, whylen)) != TPA_OK)
		return r;
	st->restart_count = (uint32_t)x;
	if (!json_object_object_get_ex(c, "safe", &v))
		BAD("clock: no member \"safe\"");
	if (!json_object_is_type(v, json_type_boolean))
		BAD("clock: \"safe\" is not true or false");
	st->safe = json_object_get_boolean(v);
	st->has_clock = 1;
	return TPA_OK;
}

/* The counter's NV index name: nameAlg (2 bytes, big-endian) || digest
 * (TPM 2.0 Part 1, 16), so nameAlg is a hash this library knows and the
 * digest has its length.  TPM_ALG_NULL (a name without a digest) is never
 * an NV index's. */
static int read_counter(struct json_object *c, tpa_state *st, char *why, size_t whylen)
{
	static const char *const known[] = {"value", "name", NULL};
	struct json_object *v;
	const char *hex;
	size_t n, hl;
	uint16_t alg;
	int r;
	if (!json_object_is_type(c, json_type_object))
		BAD("\"counter\" is not an object");
	if ((r = only_known(c, "counter", known, why, whylen)) != TPA_OK ||
	    (r = get_uint(c, "counter", "value", UINT64_MAX, &st->counter, why, whylen)) != TPA_OK)
		return r;
	if (!json_object_object_get_ex(c, "name", &v))
		BAD("counter: no member \"name\"");
	if (!json_object_is_type(v, json_type_string))
		BAD("counter: \"name\" is not a string");
	hex = json_object_get_string(v);
	hl = (size_t)json_object_get_string_len(v);
	n = hl / 2;
	/* lowercase, as written, like every document's hex (tpa_json_hex_decode) */
	if (hl % 2 || n < 2 || n > sizeof(st->counter_name) ||
	    tpa_json_hex_decode(hex, hl, st->counter_name, n) != TPA_OK)
		BAD("counter: \"name\" is not a TPM name in lowercase hex");
	alg = (uint16_t)(st->counter_name[0] << 8 | st->counter_name[1]);
	if (alg == ALG_NULL)
		BAD("counter: \"name\" has nameAlg TPM_ALG_NULL (0x0010): not an NV index's name");
	if (!tpa_alg_digest_size(alg))
		BAD("counter: \"name\" has nameAlg 0x%04x, not a known hash", alg);
	if (n != 2 + tpa_alg_digest_size(alg))
		BAD("counter: \"name\" has a %zu-byte digest, not the %zu bytes of its nameAlg "
		    "0x%04x",
		    n - 2, tpa_alg_digest_size(alg), alg);
	st->counter_name_len = n;
	st->has_counter = 1;
	return TPA_OK;
}

int tpa_state_from_json(const char *json, size_t len, tpa_state *out, char *why, size_t whylen)
{
	static const char *const known[] = {"version", "clock", "counter", "counter_auths", NULL};
	struct json_object *root = NULL, *c, *v;
	tpa_state st;
	int r;

	if (!json || !out)
		return TPA_E_INVALID_ARG;
	memset(&st, 0, sizeof(st));
	if ((r = tpa_json_parse(json, len, &root, why, whylen)) != TPA_OK)
		return r;
	r = TPA_E_MALFORMED;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	if ((r = only_known(root, "state", known, why, whylen)) != TPA_OK)
		goto out;
	r = TPA_E_MALFORMED;
	if (!json_object_object_get_ex(root, "version", &v)) {
		snprintf(why, whylen, "no member \"version\"");
		goto out;
	}
	/* the integer 1: not "1", true or 1.9, which json-c would convert */
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1) {
		snprintf(why, whylen, "\"version\" is not the integer 1");
		goto out;
	}
	if (json_object_object_get_ex(root, "clock", &c) &&
	    (r = read_clock(c, &st, why, whylen)) != TPA_OK)
		goto out;
	if (json_object_object_get_ex(root, "counter", &c) &&
	    (r = read_counter(c, &st, why, whylen)) != TPA_OK)
		goto out;
	/* absent: none issued (and states written before issue 12) */
	if (json_object_object_get_ex(root, "counter_auths", NULL) &&
	    (r = get_uint(root, "state", "counter_auths", UINT64_MAX, &st.counter_auths, why,
	                  whylen)) != TPA_OK)
		goto out;
	*out = st;
	r = TPA_OK;
out:
	json_object_put(root);
	return r;
}
