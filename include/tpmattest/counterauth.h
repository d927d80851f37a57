/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Verifier-authorized counter increments (issue 12).
 *
 * The machine's NV counter is defined with TPMA_NV_POLICYWRITE (no
 * authwrite, no ownerwrite) and an authPolicy only the verifier can
 * satisfy:
 *
 *   authPolicy = PolicyAuthorize(verifier key, policyRef = machine id)
 *
 * where the machine id is SHA-256 of the machine's ECC EK TPM2B_PUBLIC (the
 * id enrollment gives it), so that every machine's counter has its own
 * policy, hence its own Name, and an approval for one machine is no use on
 * another.  For each increment the verifier signs, for the attester's
 * policy session, an approved policy (TPM 2.0 Part 3, 23):
 *
 *   PolicySigned(verifier key, nonceTPM, expiration 0, no cpHash, no ref)
 *   PolicyCommandCode(TPM_CC_NV_Increment)
 *   PolicyNV(counter >= low)    (unsigned, offset 0)   \ or, for the first
 *   PolicyNV(counter <= high)   (unsigned, offset 0)   / increment,
 *                                                        PolicyNvWritten(NO)
 *
 * and the approval (TPM2_VerifySignature, then PolicyAuthorize) covers
 * SHA-256(approvedPolicy || machine id).  The verifier issues low = high =
 * the last value it accepted: an authorization works only while the
 * counter is exactly there.
 * PolicySigned binds the authorization to that session's nonceTPM, so it
 * works once; the PolicyNV bounds make it usable only while the counter is
 * within [low, high], the last value the verifier accepted: a TPM rolled
 * back below it can never be incremented again, not even with
 * authorizations saved in policy sessions at the snapshot (they were for
 * the value then, and one at most can be used), and a counter index
 * deleted and defined again (unwritten) can only take a "first"
 * authorization, which the verifier issues only before it accepted any
 * counter of the machine, and which PolicyNvWritten(NO) keeps from writing
 * a counter written already.  The verifier counts the authorizations it
 * issued since its last accepted value L and accepts a counter V only when
 * L < V <= L + authorizations (tpa_verify_evidence, tpa_state.counter_auths).
 *
 * The verifier's key is ECC NIST P-256, signatures ECDSA with SHA-256.
 * Pure: no TPM, no files.
 */
#ifndef TPMATTEST_COUNTERAUTH_H
#define TPMATTEST_COUNTERAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPA_COUNTER_KEY_PUBLIC_MAX 256 /* a marshalled TPM2B_PUBLIC of a P-256 key */
#define TPA_COUNTER_NAME_LEN 34        /* SHA-256 Names: 0x000b || digest */
#define TPA_COUNTER_NONCE_MIN 16       /* nonceTPM, bytes */
#define TPA_COUNTER_NONCE_MAX 64
#define TPA_COUNTER_SIG_MAX 128 /* a marshalled ECDSA P-256 TPMT_SIGNATURE */

/* The verifier's signing key (private). */
typedef struct tpa_counter_key tpa_counter_key;

/* A fresh P-256 key (OpenSSL's DRBG). */
int tpa_counter_key_generate(tpa_counter_key **out);
/* From a PEM private key (PKCS#8 or SEC1): TPA_E_MALFORMED when it is not
 * one, TPA_E_UNSUPPORTED when it is not P-256. */
int tpa_counter_key_from_pem(const char *pem, size_t len, tpa_counter_key **out, char *why,
                             size_t whylen);
/* PKCS#8 PEM, malloc'd, NUL-terminated. */
int tpa_counter_key_to_pem(const tpa_counter_key *k, char **out);
void tpa_counter_key_free(tpa_counter_key **k);
/* The key as the TPM loads it (TPM2_LoadExternal): a marshalled
 * TPM2B_PUBLIC (ECC, nameAlg SHA-256, sign|userWithAuth, ECDSA-SHA256,
 * NIST P-256), and its Name. */
int tpa_counter_key_public(const tpa_counter_key *k, uint8_t *pub, size_t cap, size_t *len,
                           uint8_t name[TPA_COUNTER_NAME_LEN]);

/* A public key in that form, checked to be one (what the attester gets from
 * the verifier): its Name.  TPA_E_MALFORMED / TPA_E_UNSUPPORTED. */
int tpa_counter_key_public_check(const uint8_t *pub, size_t len, uint8_t name[TPA_COUNTER_NAME_LEN],
                                 char *why, size_t whylen);

#define TPA_COUNTER_MACHINE_LEN 32 /* the policyRef: the machine id */

/* The counter index's authPolicy for the verifier key of that Name and the
 * machine of that id (SHA-256 of its ECC EK's TPM2B_PUBLIC). */
int tpa_counter_policy(const uint8_t key_name[TPA_COUNTER_NAME_LEN],
                       const uint8_t machine_id[TPA_COUNTER_MACHINE_LEN], uint8_t policy[32]);
/* The machine id as the attester computes it: SHA-256 of the ECC EK's
 * marshalled TPM2B_PUBLIC. */
int tpa_counter_machine_id(const uint8_t *ek_public, size_t len,
                           uint8_t machine_id[TPA_COUNTER_MACHINE_LEN]);

/* One authorization, as the verifier issues it and the attester uses it. */
typedef struct tpa_counter_auth {
	uint8_t key_public[TPA_COUNTER_KEY_PUBLIC_MAX]; /* TPM2B_PUBLIC of the verifier key */
	size_t key_public_len;
	/* the machine it is for: PolicyAuthorize's policyRef */
	uint8_t machine_id[TPA_COUNTER_MACHINE_LEN];
	uint8_t nonce_tpm[TPA_COUNTER_NONCE_MAX]; /* the session's nonceTPM it is for */
	size_t nonce_tpm_len;
	int first;          /* the counter's first increment: PolicyNvWritten(NO) */
	uint64_t low, high; /* otherwise: low <= counter <= high before it */
	/* TPMT_SIGNATURE over aHash = SHA-256(nonceTPM || 00000000) for
	 * TPM2_PolicySigned */
	uint8_t session_sig[TPA_COUNTER_SIG_MAX];
	size_t session_sig_len;
	/* TPMT_SIGNATURE over SHA-256(approvedPolicy || machine id) for
	 * TPM2_VerifySignature and TPM2_PolicyAuthorize */
	uint8_t policy_sig[TPA_COUNTER_SIG_MAX];
	size_t policy_sig_len;
} tpa_counter_auth;

/*
 * The approved policy digest of an authorization (as above) for the
 * counter whose Name (with TPMA_NV_WRITTEN, as enrolled) is counter_name.
 */
int tpa_counter_approved_policy(const tpa_counter_auth *a, const uint8_t *counter_name,
                                size_t counter_name_len, uint8_t digest[32]);

/*
 * Issues one: the key signs for that nonceTPM, the first increment
 * (first) or one within [low, high].  TPA_E_INVALID_ARG for a nonceTPM
 * outside TPA_COUNTER_NONCE_MIN..MAX bytes or low > high; TPA_E_CRYPTO.
 */
int tpa_counter_authorize(const tpa_counter_key *k,
                          const uint8_t machine_id[TPA_COUNTER_MACHINE_LEN],
                          const uint8_t *counter_name, size_t counter_name_len,
                          const uint8_t *nonce_tpm, size_t nonce_tpm_len, int first, uint64_t low,
                          uint64_t high, tpa_counter_auth *out);

/* {"key":B64,"machine_id":HEX,"nonce_tpm":HEX,"first":bool,"low":N,"high":N,
 *  "session_signature":B64,"policy_signature":B64} ("low"/"high" absent
 * when first), read strictly. */
int tpa_counter_auth_to_json(const tpa_counter_auth *a, char **out);
int tpa_counter_auth_from_json(const char *json, size_t len, tpa_counter_auth *out, char *why,
                               size_t whylen);

#ifdef __cplusplus
}
#endif

#endif
