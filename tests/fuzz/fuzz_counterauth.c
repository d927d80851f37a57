/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for what the verifier-authorized counter reads from
 * others (<tpmattest/counterauth.h>): the first byte picks the reader: 0 an
 * authorization (the attester reads the server's), 1 a counter key's
 * TPM2B_PUBLIC (GET /v1/counter-key), 2 a state document with counter_auths
 * (verify --state), 3 a PEM counter key.  Whatever a reader accepts must
 * write out and read back the same; an accepted key gives a policy, an
 * accepted authorization an approved policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *doc = data + 1;
	size_t len;
	char why[256];

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 4) {
	case 0: {
		tpa_counter_auth *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
		uint8_t dig[32], name[TPA_COUNTER_NAME_LEN] = {0x00, 0x0b};
		char *j1 = NULL, *j2 = NULL;
		if (!a || !b)
			abort();
		if (tpa_counter_auth_from_json((const char *)doc, len, a, why, sizeof(why)) ==
		    TPA_OK) {
			if (tpa_counter_auth_to_json(a, &j1) != TPA_OK ||
			    tpa_counter_auth_from_json(j1, strlen(j1), b, NULL, 0) != TPA_OK ||
			    tpa_counter_auth_to_json(b, &j2) != TPA_OK || strcmp(j1, j2) != 0)
				abort();
			/* its key was checked: the approved policy can be computed */
			if (tpa_counter_approved_policy(a, name, sizeof(name), dig) != TPA_OK)
				abort();
		}
		free(j1);
		free(j2);
		free(a);
		free(b);
		break;
	}
	case 1: {
		uint8_t name[TPA_COUNTER_NAME_LEN], pol[32], mid[TPA_COUNTER_MACHINE_LEN] = {1};
		if (tpa_counter_key_public_check(doc, len, name, why, sizeof(why)) == TPA_OK &&
		    tpa_counter_policy(name, mid, pol) != TPA_OK)
			abort();
		break;
	}
	case 2: {
		tpa_state a, b;
		char *j1 = NULL, *j2 = NULL;
		if (tpa_state_from_json((const char *)doc, len, &a, why, sizeof(why)) == TPA_OK) {
			if (tpa_state_to_json(&a, &j1) != TPA_OK ||
			    tpa_state_from_json(j1, strlen(j1), &b, NULL, 0) != TPA_OK ||
			    tpa_state_to_json(&b, &j2) != TPA_OK || strcmp(j1, j2) != 0 ||
			    a.counter_auths != b.counter_auths)
				abort();
		}
		free(j1);
		free(j2);
		break;
	}
	case 3: {
		tpa_counter_key *k = NULL;
		uint8_t pub[TPA_COUNTER_KEY_PUBLIC_MAX], name[TPA_COUNTER_NAME_LEN], name2[34];
		size_t pl = 0;
		if (tpa_counter_key_from_pem((const char *)doc, len, &k, why, sizeof(why)) ==
		    TPA_OK) {
			if (tpa_counter_key_public(k, pub, sizeof(pub), &pl, name) != TPA_OK ||
			    tpa_counter_key_public_check(pub, pl, name2, NULL, 0) != TPA_OK ||
			    memcmp(name, name2, sizeof(name)) != 0)
				abort();
			tpa_counter_key_free(&k);
		}
		break;
	}
	}
	return 0;
}
