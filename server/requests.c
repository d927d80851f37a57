/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Readers of the untrusted parts of a request that the library's document
 * readers do not cover: paths, queries, the enrollment wrapper, the policy
 * assignment.  Each reads strictly and names what it refused; each has a
 * fuzz target (tests/fuzz/fuzz_server_requests.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/enroll.h>

#include "base/json.h"
#include "server.h"

static int is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int srv_parse_machine_id(const char *s, size_t len, char out[STORE_ID_HEX])
{
	if (len != STORE_ID_HEX - 1)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int srv_parse_policy_name(const char *s, size_t len, char out[STORE_POLICY_NAME_MAX])
{
	if (len == 0 || len >= STORE_POLICY_NAME_MAX || s[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int srv_parse_sha256_hex(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -1;
	return tpa_json_hex_decode(s, 64, out, 32) == TPA_OK ? 0 : -1;
}

/* Only the named members, each once (the strict reader refuses repeats). */
static int only_members(struct json_object *o, const char *const *names, size_t n, char *why,
                        size_t whylen)
{
	json_object_object_foreach (o, key, val) {
		size_t i;
		(void)val;
		for (i = 0; i < n; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (i == n) {
			char esc[80];
			srv_log_escape(key, strlen(key), esc, sizeof(esc));
			snprintf(why, whylen, "unknown member \"%s\"", esc);
			return -1;
		}
	}
	return 0;
}

void srv_enroll_body_clear(srv_enroll_body *b)
{
	if (!b)
		return;
	free(b->request_json);
	memset(b, 0, sizeof(*b));
}

int srv_read_enroll_body(const uint8_t *body, size_t len, srv_enroll_body *out, char *why,
                         size_t whylen)
{
	static const char *const members[] = {"name", "request"};
	struct json_object *root = NULL, *name, *request;
	srv_enroll_body b;
	const char *txt;
	int r;

	memset(&b, 0, sizeof(b));
	/* the request's own caps, and a value budget a request never needs
	 * more than a few dozen of: a 16 MiB body of a million members must
	 * cost a parse of 1 MiB, not seconds of the server's one thread */
	if ((r = tpa_json_parse_max((const char *)body, len, TPA_ENROLL_JSON_MAX + 4096,
	                            SRV_ENROLL_MAX_VALUES, &root, why, whylen)) != TPA_OK)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "not an object {\"name\":...,\"request\":{...}}");
		goto malformed;
	}
	if (only_members(root, members, 2, why, whylen) != 0)
		goto malformed;
	if (!json_object_object_get_ex(root, "request", &request) ||
	    !json_object_is_type(request, json_type_object)) {
		snprintf(why, whylen, "request: missing, or not an object");
		goto malformed;
	}
	if (json_object_object_get_ex(root, "name", &name) && name) {
		size_t nl;
		if (!json_object_is_type(name, json_type_string)) {
			snprintf(why, whylen, "name: not a string or null");
			goto malformed;
		}
		nl = (size_t)json_object_get_string_len(name);
		/* the strict reader refused NUL: strlen is the length */
		if (nl == 0 || nl >= STORE_NAME_MAX) {
			snprintf(why, whylen, "name: %zu bytes, not 1..%d", nl, STORE_NAME_MAX - 1);
			goto malformed;
		}
		memcpy(b.name, json_object_get_string(name), nl);
		b.name[nl] = '\0';
		b.has_name = 1;
	}
	txt = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!txt || !(b.request_json = strdup(txt))) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	json_object_put(root);
	*out = b;
	return TPA_OK;
malformed:
	json_object_put(root);
	return TPA_E_MALFORMED;
}

int srv_read_assign_body(const uint8_t *body, size_t len, char name[STORE_POLICY_NAME_MAX],
                         char *why, size_t whylen)
{
	static const char *const members[] = {"policy"};
	struct json_object *root = NULL, *p;
	char n[STORE_POLICY_NAME_MAX] = "";
	int r;
	if ((r = tpa_json_parse_max((const char *)body, len, 4096, 8, &root, why, whylen)) !=
	    TPA_OK)
		return r;
	if (!json_object_is_type(root, json_type_object) ||
	    only_members(root, members, 1, why, whylen) != 0 ||
	    !json_object_object_get_ex(root, "policy", &p)) {
		if (!why[0] || !json_object_is_type(root, json_type_object))
			snprintf(why, whylen, "not an object {\"policy\": NAME or null}");
		json_object_put(root);
		return TPA_E_MALFORMED;
	}
	if (p) {
		const char *s = json_object_get_string(p);
		if (!json_object_is_type(p, json_type_string) ||
		    srv_parse_policy_name(s, strlen(s), n) != 0) {
			snprintf(why, whylen,
			         "policy: not a policy name (1..64 of A-Z a-z 0-9 . _ -) or null");
			json_object_put(root);
			return TPA_E_MALFORMED;
		}
	}
	json_object_put(root);
	memcpy(name, n, sizeof(n));
	return TPA_OK;
}

int srv_split_path(const char *path, srv_path *out)
{
	srv_path p;
	const char *s = path;
	memset(&p, 0, sizeof(p));
	if (!s || *s != '/')
		return -1;
	while (*s) {
		const char *e;
		s++; /* the '/' */
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		if (e == s) {
			if (*e == '\0' && p.n > 0)
				break; /* one trailing slash */
			if (*e == '\0' && p.n == 0)
				break; /* "/" */
			return -1;
		}
		if (p.n == SRV_MAX_SEGMENTS)
			return -1;
		if ((e - s == 1 && s[0] == '.') || (e - s == 2 && s[0] == '.' && s[1] == '.'))
			return -1;
		for (const char *c = s; c < e; c++)
			if (*c == '%' || (unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
				return -1;
		p.seg[p.n] = s;
		p.len[p.n] = (size_t)(e - s);
		p.n++;
		s = e;
	}
	*out = p;
	return 0;
}

static int parse_decimal(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t v = 0;
	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int srv_parse_history_query(const char *query, size_t *limit, int64_t *before)
{
	size_t lim = 100;
	int64_t bef = 0, v;
	const char *s = query;
	while (s && *s) {
		const char *amp = strchr(s, '&'), *eq;
		size_t n = amp ? (size_t)(amp - s) : strlen(s);
		eq = memchr(s, '=', n);
		if (!eq)
			return -1;
		if ((size_t)(eq - s) == 5 && memcmp(s, "limit", 5) == 0) {
			if (parse_decimal(eq + 1, n - 6, 1000, &v) != 0 || v < 1)
				return -1;
			lim = (size_t)v;
		} else if ((size_t)(eq - s) == 6 && memcmp(s, "before", 6) == 0) {
			if (parse_decimal(eq + 1, n - 7, INT64_MAX / 2, &v) != 0)
				return -1;
			bef = v;
		} else {
			return -1;
		}
		if (amp && !amp[1])
			return -1; /* a trailing '&', like a leading or doubled one */
		s = amp ? amp + 1 : NULL;
	}
	*limit = lim;
	*before = bef;
	return 0;
}

int srv_parse_result_query(const char *query, char *nonce, int *has_nonce)
{
	size_t n;
	*has_nonce = 0;
	if (!query || !*query)
		return 0;
	if (strncmp(query, "nonce=", 6) != 0)
		return -1;
	query += 6;
	n = strlen(query);
	if (n < TPA_EAR_NONCE_HEX_MIN || n > TPA_EAR_NONCE_HEX_MAX || n % 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = query[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -1;
		nonce[i] = ch;
	}
	nonce[n] = 0;
	*has_nonce = 1;
	return 0;
}

int srv_parse_page_query(const char *query, int *verdict_out, char *after_out)
{
	int seen_v = 0, seen_a = 0, v = 0;
	char after[STORE_ID_HEX] = "";
	const char *s = query;
	while (s && *s) {
		const char *amp = strchr(s, '&'), *eq;
		size_t n = amp ? (size_t)(amp - s) : strlen(s);
		eq = memchr(s, '=', n);
		if (!eq)
			return -1;
		if ((size_t)(eq - s) == 7 && memcmp(s, "verdict", 7) == 0 && !seen_v) {
			static const char *const names[] = {"pass", "fail", "none"};
			size_t vn = n - 8;
			seen_v = 1;
			for (int k = 0; k < 3; k++)
				if (vn == strlen(names[k]) && memcmp(eq + 1, names[k], vn) == 0)
					v = k + 1;
			if (!v)
				return -1;
		} else if ((size_t)(eq - s) == 5 && memcmp(s, "after", 5) == 0 && !seen_a) {
			seen_a = 1;
			if (srv_parse_machine_id(eq + 1, n - 6, after) != 0)
				return -1;
		} else {
			return -1;
		}
		if (amp && !amp[1])
			return -1; /* a trailing '&', like a leading or doubled one */
		s = amp ? amp + 1 : NULL;
	}
	*verdict_out = v;
	memcpy(after_out, after, sizeof(after));
	return 0;
}
