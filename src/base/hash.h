/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: hashing through OpenSSL 3 EVP with message digests fetched once. */
#ifndef TPA_HASH_H
#define TPA_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The fetched EVP_MD for a TPM hash algorithm, NULL when unknown or not
 * provided by this OpenSSL.  The object lives for the whole process. */
const EVP_MD *tpa_md(uint16_t alg);

/* out = H(data); out must hold tpa_alg_digest_size(alg) bytes. */
int tpa_hash(uint16_t alg, const uint8_t *data, size_t len, uint8_t *out);
/* out = H(a || b) with a reusable context; ctx may be NULL. */
int tpa_hash2(EVP_MD_CTX *ctx, uint16_t alg, const uint8_t *a, size_t alen, const uint8_t *b,
              size_t blen, uint8_t *out);

/*
 * Reusable digest contexts, one per algorithm, for code that hashes many
 * small inputs (replay, digest checks): OpenSSL 3 spends more on setting up
 * a context than on hashing 64 bytes.  Zero-initialise; free with
 * tpa_hctx_free.
 */
typedef struct tpa_hctx {
	EVP_MD_CTX *ctx[8];
} tpa_hctx;

/* out = H(a || b); b may be NULL with blen 0. */
int tpa_hctx_digest(tpa_hctx *h, uint16_t alg, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, uint8_t *out);
void tpa_hctx_free(tpa_hctx *h);

#endif
