/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A verifier's counter key as an attester is given it: the JSON document
 * `tpmattest counter public` writes and GET /v1/counter-key answers,
 * {"public": base64 TPM2B_PUBLIC, "name": hex}: the key's Name, computed
 * here from the public area ("name", when present, must agree).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/counterauth.h>

#include "base/json.h"
#include "base/util.h"
#include "cli.h"

int cli_counter_key_from_doc(const char *what, const char *doc, size_t len,
                             uint8_t key_name[TPA_COUNTER_NAME_LEN])
{
	struct json_object *o = NULL, *v;
	uint8_t *pub = NULL, name[TPA_COUNTER_NAME_LEN], want[TPA_COUNTER_NAME_LEN];
	size_t pl = 0;
	char why[200] = "";
	int rc = EXIT_MALFORMED;

	if (tpa_json_parse(doc, len, &o, why, sizeof(why)) != TPA_OK ||
	    !json_object_is_type(o, json_type_object)) {
		errmsg("%s: not a counter key document: %s", what, why[0] ? why : "not an object");
		goto out;
	}
	json_object_object_foreach (o, key, val) {
		(void)val;
		if (strcmp(key, "public") && strcmp(key, "name")) {
			errmsg("%s: not a counter key document: unknown member \"%s\"", what, key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(o, "public", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    tpa_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	                   TPA_COUNTER_KEY_PUBLIC_MAX, &pub, &pl) != TPA_OK) {
		errmsg("%s: \"public\" is not base64 of a TPM2B_PUBLIC", what);
		goto out;
	}
	if (tpa_counter_key_public_check(pub, pl, name, why, sizeof(why)) != TPA_OK) {
		errmsg("%s: %s", what, why);
		goto out;
	}
	if (json_object_object_get_ex(o, "name", &v) &&
	    (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) != 68 ||
	     tpa_json_hex_decode(json_object_get_string(v), 68, want, sizeof(want)) != TPA_OK ||
	     CRYPTO_memcmp(want, name, sizeof(name)) != 0)) {
		errmsg("%s: \"name\" is not the Name of \"public\"", what);
		goto out;
	}
	memcpy(key_name, name, sizeof(name));
	rc = EXIT_OK;
out:
	free(pub);
	json_object_put(o);
	return rc;
}

int cli_counter_key_from_file(const char *path, uint8_t key_name[TPA_COUNTER_NAME_LEN])
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char what[300];
	int r = read_file(path, 65536, &buf, &len);

	if (r != TPA_OK) {
		errmsg("counter key %s: cannot read: %s", path,
		       r == TPA_E_LIMIT ? "larger than 64 KiB" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	snprintf(what, sizeof(what), "counter key %s", path);
	r = cli_counter_key_from_doc(what, (const char *)buf, len, key_name);
	free(buf);
	return r;
}
