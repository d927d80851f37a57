/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: decoding of the TPM structures a verifier receives (TPM 2.0
 * Part 2: TPMS_ATTEST 10.12.12, TPMT_SIGNATURE 11.3.4, TPMT_PUBLIC 12.2.4)
 * with tss2-mu, each required to fill its buffer exactly, and signature
 * checks with OpenSSL 3.
 */
#ifndef TPA_ATTEST_H
#define TPA_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* TPMS_ATTEST bytes, exactly. */
int tpa_attest_decode(const uint8_t *buf, size_t len, TPMS_ATTEST *out);
/* TPMT_SIGNATURE bytes, exactly. */
int tpa_signature_decode(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out);
/* TPM2B_PUBLIC or bare TPMT_PUBLIC bytes, exactly. */
int tpa_public_decode(const uint8_t *buf, size_t len, TPMT_PUBLIC *out);
/* Name = nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1, 16). */
int tpa_public_name(const TPMT_PUBLIC *pub, uint8_t name[static 2 + 64], size_t *len);
/* The public key as an OpenSSL key; RSA and ECC P-256/P-384 only. */
int tpa_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out);

/* Signature scheme and hash a verifier accepts for a key, decided from the
 * key, never from the signature. */
typedef struct tpa_sigpin {
	uint16_t scheme; /* TPM2_ALG_RSASSA, TPM2_ALG_RSAPSS or TPM2_ALG_ECDSA */
	uint16_t hash;   /* TPM2_ALG_SHA256, SHA384 or SHA512 */
} tpa_sigpin;

/*
 * Verifies sig over data with pkey under the pinned scheme.  Returns TPA_OK,
 * TPA_E_BAD_SIGNATURE (with a reason in why) for any signature that is not a
 * valid signature of data in exactly the pinned scheme and hash.
 */
int tpa_signature_verify(EVP_PKEY *pkey, const tpa_sigpin *pin, const TPMT_SIGNATURE *sig,
                         const uint8_t *data, size_t len, char *why, size_t whylen);

#endif
