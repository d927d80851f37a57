/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the strict JSON reader (tpa_json_parse) every
 * document goes through.  Oracles: what it accepts holds no NUL in any
 * string or name; json-c never refuses what the scanner let through (that
 * would be the two readers disagreeing); and json-c's serialisation of the
 * tree, plain and pretty, is accepted again as an equal tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/tpmattest.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recursion bounded by TPA_JSON_MAX_DEPTH: the tree was parsed under it. */
static void check_strings(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		if (strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
			abort();
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_strings(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach (o, key, v) {
			(void)key; /* json-c keys are C strings: a NUL would cut them */
			check_strings(v);
		}
		break;
	}
	default: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int styles[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_PRETTY,
	                             JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE};
	struct json_object *a = NULL, *b = NULL;
	char why[256] = "";
	int r = tpa_json_parse((const char *)data, size, &a, why, sizeof(why));

	if (r != TPA_OK) {
		if (a || strstr(why, "json-c refused"))
			abort();
		return 0;
	}
	check_strings(a);
	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
		size_t len;
		const char *s = json_object_to_json_string_length(a, styles[i], &len);
		if (!s || tpa_json_parse(s, len, &b, why, sizeof(why)) != TPA_OK)
			abort();
		if ((a || b) && !json_object_equal(a, b))
			abort();
		json_object_put(b);
		b = NULL;
	}
	json_object_put(a);
	return 0;
}
