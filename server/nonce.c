/* SPDX-License-Identifier: BSD-2-Clause */
/* Nonces made and recognised without a write (server.h, "nonce.c"). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <tpmattest/enroll.h>

#include "server.h"

#define NONCE_LABEL "tpmattest nonce v1"
#define NONCE_BODY 16 /* expiry and random bytes: what the MAC covers */
#define NONCE_MAC (STORE_NONCE_LEN - NONCE_BODY)

static int mac(const srv_core *c, const char *machine_id,
               const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], const uint8_t body[NONCE_BODY],
               uint8_t out[NONCE_MAC])
{
	uint8_t in[sizeof(NONCE_LABEL) + STORE_ID_HEX - 1 + STORE_ENROLLMENT_ID_LEN + NONCE_BODY],
	        md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t idlen = strlen(machine_id);
	if (idlen != STORE_ID_HEX - 1)
		return -1;
	/* the label with its NUL, so no id can run into it */
	memcpy(in, NONCE_LABEL, sizeof(NONCE_LABEL));
	memcpy(in + sizeof(NONCE_LABEL), machine_id, idlen);
	memcpy(in + sizeof(NONCE_LABEL) + idlen, enrollment, STORE_ENROLLMENT_ID_LEN);
	memcpy(in + sizeof(NONCE_LABEL) + idlen + STORE_ENROLLMENT_ID_LEN, body, NONCE_BODY);
	if (!HMAC(EVP_sha256(), c->nonce_key, STORE_NONCE_KEY_LEN, in, sizeof(in), md, &mdlen) ||
	    mdlen < NONCE_MAC)
		return -1;
	memcpy(out, md, NONCE_MAC);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int srv_nonce_make(const srv_core *c, const char *machine_id,
                   const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], int64_t expires,
                   uint8_t nonce[STORE_NONCE_LEN])
{
	uint64_t e = (uint64_t)expires;
	if (expires < 0)
		return TPA_E_INVALID_ARG;
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(e >> (56 - 8 * i));
	if (tpa_credential_random(nonce + 8, NONCE_BODY - 8) != TPA_OK)
		return TPA_E_CRYPTO;
	if (mac(c, machine_id, enrollment, nonce, nonce + NONCE_BODY) != 0)
		return TPA_E_CRYPTO;
	return TPA_OK;
}

int srv_nonce_check(const srv_core *c, const char *machine_id,
                    const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                    const uint8_t nonce[STORE_NONCE_LEN], int64_t now, int64_t *expires, char *why,
                    size_t whylen)
{
	uint8_t want[NONCE_MAC];
	uint64_t e = 0;
	if (mac(c, machine_id, enrollment, nonce, want) != 0) {
		snprintf(why, whylen, "the nonce cannot be checked");
		return TPA_E_NONCE;
	}
	if (CRYPTO_memcmp(want, nonce + NONCE_BODY, NONCE_MAC) != 0) {
		snprintf(why, whylen,
		         "the nonce was not issued by this server to this enrollment of the "
		         "machine");
		return TPA_E_NONCE;
	}
	for (int i = 0; i < 8; i++)
		e = e << 8 | nonce[i];
	/* issued by us, so e fits; expires is the last second it is good for */
	if (e > (uint64_t)INT64_MAX || (int64_t)e < now) {
		snprintf(why, whylen, "the nonce expired");
		return TPA_E_NONCE;
	}
	*expires = (int64_t)e;
	return TPA_OK;
}
