/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict JSON reading (see json.h). */
#include <stdio.h>
#include <string.h>

#include <tpmattest/tpmattest.h>

#include "json.h"
#include "util.h"

/* A NUL byte, or the escape \u0000, anywhere in the text.  Outside strings
 * a backslash is a syntax error anyway, so walking escapes pairwise over
 * the whole text is exact. */
static int find_nul(const char *s, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0') {
			*at = i;
			return 1;
		}
		if (s[i] != '\\')
			continue;
		if (i + 5 < n && s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' &&
		    s[i + 4] == '0' && s[i + 5] == '0') {
			*at = i;
			return 1;
		}
		i++; /* the escaped character */
	}
	return 0;
}

int tpa_json_parse(const char *json, size_t len, struct json_object **out, char *why,
                   size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t at, end;
	enum json_tokener_error err;

	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if (len > TPA_JSON_MAX) {
		snprintf(why, whylen, "larger than %u bytes", TPA_JSON_MAX);
		return TPA_E_LIMIT;
	}
	if (find_nul(json, len, &at)) {
		snprintf(why, whylen, "byte %zu: NUL in the document", at);
		return TPA_E_MALFORMED;
	}
	if (!(tok = json_tokener_new_ex(TPA_JSON_MAX_DEPTH)))
		return TPA_E_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, json, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || err != json_tokener_success) {
		snprintf(why, whylen, "byte %zu: not strict JSON: %s", end,
		         err == json_tokener_continue ? "unexpected end"
		                                      : json_tokener_error_desc(err));
		json_object_put(root);
		return err == json_tokener_error_depth ? TPA_E_LIMIT : TPA_E_MALFORMED;
	}
	for (size_t i = end; i < len; i++)
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\r' && json[i] != '\n') {
			snprintf(why, whylen, "byte %zu: data after the JSON document", i);
			json_object_put(root);
			return TPA_E_MALFORMED;
		}
	*out = root;
	return TPA_OK;
}
