/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for EAR results (<tpmattest/ear.h>), what a relying
 * party reads from others and what the verifier signs.  The first byte
 * picks: 0 a JWT checked with a fixed key (the seeds are signed by it, so
 * the claims reader is reached); 1 a JWK, and when accepted a JWT checked
 * with it; 2 a verdict document signed as a result, which must then verify
 * with the key's own JWK, for the same machine, with a status and a vector
 * that agree (contraindicated whenever the document has verdict fail).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/ear.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a test key: the seeds of corpus/ear are signed with it */
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIKOMJuPKUzZe4X5V\n"
                              "GfPQhZ3zc/HhT7jA1UCvrxJqESihRANCAAQNQYBVIy+tv4K7PqNkHHc1OwLoJTyL\n"
                              "NAPFU9baYkE2vPFvNjAd3k0p+ooB2H6P7osSrwM0GKbk0zNf1tSO9uo7\n"
                              "-----END PRIVATE KEY-----\n";
static const char key_jwk[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"DUGAVSMvrb-Cuz6jZBx3NTsC6CU8izQDxVPW2mJBNrw\","
        "\"y\":\"8W82MB3eTSn6igHYfo_uixKvAzQYpuTTM1_W1I726js\",\"alg\":\"ES256\",\"use\":\"sig\","
        "\"kid\":\"ORCkU8id6QfiX1AOEzFROYhydzHv9P56oHUgL23cytI\"}";
#define MID "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c"

static tpa_result_key *key;
static tpa_result_pub *pub;
static char *signed_jwt; /* one result of the key, for mode 1 */

static void init(void)
{
	tpa_ear_input in = {.machine_id = MID, .iat = 1, .build = "b", .developer = "d"};
	char *jwk = NULL;
	if (key)
		return;
	if (tpa_result_key_from_pem(key_pem, strlen(key_pem), &key, NULL, 0) != TPA_OK ||
	    tpa_result_pub_from_jwk(key_jwk, strlen(key_jwk), &pub, NULL, 0) != TPA_OK ||
	    tpa_result_key_jwk(key, &jwk) != TPA_OK || strcmp(jwk, key_jwk) != 0 ||
	    tpa_ear_sign(key, &in, &signed_jwt, NULL, 0) != TPA_OK)
		abort();
	free(jwk);
}

static int tier(int v)
{
	return v >= 96 ? 3 : v >= 32 ? 2 : v >= 2 ? 1 : 0;
}

static void check_claims(const tpa_ear_claims *c)
{
	int worst = 0, v[4] = {c->instance_identity, c->hardware, c->executables, c->configuration};
	if (!c->claims_json || strlen(c->machine_id) != 64 || c->n_failed > TPA_EAR_CHECK_MAX ||
	    c->n_failed > c->n_failed_all || strlen(c->policy_id) > TPA_EAR_POLICY_ID_MAX)
		abort();
	for (int i = 0; i < 4; i++) {
		if (v[i] < -128 || v[i] > 127)
			abort();
		if (v[i] >= 0 && tier(v[i]) > worst)
			worst = tier(v[i]);
	}
	/* no better than the worst claim (draft-ietf-rats-ear 3.1) */
	if ((c->status == TPA_EAR_AFFIRMING && worst > 1) ||
	    (c->status == TPA_EAR_WARNING && worst > 2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len;
	char why[256];
	tpa_ear_claims c;

	if (size < 1)
		return 0;
	init();
	len = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (tpa_ear_verify(pub, in, len, &c, why, sizeof(why)) == TPA_OK) {
			check_claims(&c);
			tpa_ear_claims_clear(&c);
		}
		break;
	case 1: {
		tpa_result_pub *p = NULL;
		if (tpa_result_pub_from_jwk(in, len, &p, why, sizeof(why)) != TPA_OK)
			break;
		if (tpa_ear_verify(p, signed_jwt, strlen(signed_jwt), &c, why, sizeof(why)) ==
		    TPA_OK) {
			check_claims(&c);
			tpa_ear_claims_clear(&c);
		}
		tpa_result_pub_free(&p);
		if (p)
			abort();
		break;
	}
	case 2: {
		tpa_ear_input ei = {.verdict_json = in,
		                    .verdict_len = len,
		                    .machine_id = MID,
		                    .iat = 1700000000,
		                    .nonce_hex = "00112233445566778899AABBCCDDEEFF",
		                    .build = "tpmattest fuzz",
		                    .developer = "fuzz"};
		char *jwt = NULL;
		if (tpa_ear_sign(key, &ei, &jwt, why, sizeof(why)) != TPA_OK)
			break;
		if (tpa_ear_verify(pub, jwt, strlen(jwt), &c, why, sizeof(why)) != TPA_OK ||
		    strcmp(c.machine_id, MID) != 0 || c.iat != 1700000000 || !c.has_nonce ||
		    strcmp(c.nonce_hex, "00112233445566778899aabbccddeeff") != 0 ||
		    c.status == TPA_EAR_NONE ||
		    (strcmp(c.verdict, "fail") == 0 && c.status != TPA_EAR_CONTRAINDICATED))
			abort();
		check_claims(&c);
		tpa_ear_claims_clear(&c);
		free(jwt);
		break;
	}
	}
	return 0;
}
