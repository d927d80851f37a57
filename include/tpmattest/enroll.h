/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Enrollment: what a verifier learns once about a machine, without a TPM.
 * The EK is shown genuine (its certificate chains to a manufacturer root),
 * and the AK is shown to live in the same TPM as that EK (credential
 * activation).  The attester's side (TPM2_ActivateCredential) is in
 * <tpmattest-tpm/tpm.h>.  The library never prints and never exits.
 */
#ifndef TPMATTEST_ENROLL_H
#define TPMATTEST_ENROLL_H

#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- credential activation ---- */

/*
 * Software TPM2_MakeCredential (TPM 2.0 Part 1, 24 "Credential Protection";
 * Part 3, 12.6): a secret that only the TPM holding the EK can recover, and
 * only by naming a key loaded in it whose Name is the AK's.  The verifier
 * keeps the secret and accepts the AK when the machine gives it back.
 */

struct tpa_ak; /* <tpmattest/verify.h> */

/* The secret: at least this long (a guessable one would prove nothing), at
 * most the EK nameAlg's digest size (32 bytes for every TCG default EK).
 * Use 32 random bytes (tpa_credential_random). */
#define TPA_CREDENTIAL_MIN_SECRET 16
#define TPA_CREDENTIAL_MAX_SECRET 64
/* TPM2B_ID_OBJECT: size, TPM2B_DIGEST integrityHMAC, encIdentity. */
#define TPA_CREDENTIAL_MAX_ID_OBJECT (2 + 2 + 64 + 2 + 64)
/* TPM2B_ENCRYPTED_SECRET: size and an RSA-4096 ciphertext at most. */
#define TPA_CREDENTIAL_MAX_ENC_SECRET (2 + 512)

/* What TPM2_ActivateCredential takes, marshalled (Part 2, 12.4.3 and
 * 11.4.33): credentialBlob and secret.  Plain bytes, nothing to free. */
typedef struct tpa_credential {
	uint8_t id_object[TPA_CREDENTIAL_MAX_ID_OBJECT]; /* TPM2B_ID_OBJECT */
	size_t id_object_len;
	uint8_t encrypted_secret[TPA_CREDENTIAL_MAX_ENC_SECRET]; /* TPM2B_ENCRYPTED_SECRET */
	size_t encrypted_secret_len;
} tpa_credential;

/*
 * Whether ek_public (TPM2B_PUBLIC or bare TPMT_PUBLIC) is an EK made from
 * one of the TCG default templates that credential activation supports (TCG
 * EK Credential Profile 2.x, Annex B): L-1 (RSA 2048) and L-2
 * (ECC P-256), policy PolicySecret(TPM_RH_ENDORSEMENT); H-1 and H-2, the
 * same keys in the high range with userWithAuth and policy PolicyB.  Every
 * byte of the public area but the key itself must be the template's, so the
 * key is restricted, decrypt-only, fixedTPM and usable only under the
 * endorsement hierarchy's policy.  The key must be well formed (a 2048-bit
 * odd modulus; a P-256 point with 32-byte coordinates on the curve).
 * TPA_OK and *template_name ("L-1", "L-2", "H-1", "H-2"; may be NULL);
 * TPA_E_MALFORMED or TPA_E_TRAILING for bytes that do not decode or a key
 * that is not one; TPA_E_POLICY for a key that is not such an EK; the
 * reason in why.
 */
int tpa_credential_ek_check(const uint8_t *ek_public, size_t ek_public_len,
                            const char **template_name, char *why, size_t whylen);

/*
 * MakeCredential to the EK for the AK: the AK's Name is computed here from
 * its public area (tpa_ak_name), never taken from the machine, so the
 * credential opens only where that exact key is loaded.  The AK's own
 * checks (tpa_ak_check) are the caller's.  secret: TPA_CREDENTIAL_MIN_SECRET
 * up to the EK nameAlg's digest size.  RSA EKs: a random seed encrypted
 * with RSA-OAEP (label "IDENTITY"); ECC EKs: one-pass ECDH with a fresh
 * ephemeral key and KDFe.  TPA_OK and *out; TPA_E_INVALID_ARG (a secret of
 * the wrong size, an AK without its public area), the EK errors of
 * tpa_credential_ek_check, or TPA_E_CRYPTO / TPA_E_NOMEM; the reason in
 * why.  *out is untouched on failure.
 */
int tpa_credential_make(const uint8_t *ek_public, size_t ek_public_len, const struct tpa_ak *ak,
                        const uint8_t *secret, size_t secret_len, tpa_credential *out,
                        char *why, size_t whylen);

/* len bytes from OpenSSL's private DRBG, for a credential's secret. */
int tpa_credential_random(uint8_t *secret, size_t len);

/*
 * Whether the machine gave back the secret: TPA_OK, or TPA_E_MISMATCH.
 * The comparison takes the same time wherever the bytes differ, and
 * nothing about the expected value is returned; callers must not show it.
 */
int tpa_credential_check(const uint8_t *expected, size_t expected_len, const uint8_t *got,
                         size_t got_len);

#ifdef __cplusplus
}
#endif

#endif
