/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attestation results for relying parties (issue 13): EAR, IETF RATS "EAT
 * Attestation Results" (draft-ietf-rats-ear), as a JWT (RFC 7519, JWS
 * compact serialization, RFC 7515) signed with ES256 (ECDSA P-256 with
 * SHA-256, the signature as the 64 bytes r || s, RFC 7518 3.4).
 *
 * One result is made from one verdict document, the JSON the server
 * answers an attestation with and keeps in its history (docs/api.md,
 * "POST /v1/machines/ID/attest"): its "verdict", "checks", "failed_check",
 * "reason", "policy" ({"name", "ruled", "sha256"}), "counter_kind"
 * ("authorized": the verifier-authorized counter; "older", or absent in
 * documents kept from before: the older counter), "at" and "seq".  The
 * claims:
 *
 *   {"eat_profile": TPA_EAR_PROFILE,
 *    "iat": SECONDS,                        when this result was signed
 *    "ear.verifier-id": {"build": "tpmattest 0.x.y", "developer": "..."},
 *    "eat_nonce": "HEX",                    only when the relying party gave one
 *    "submods": {"MACHINE_ID": {
 *        "ear.status": "affirming" | "warning" | "contraindicated" | "none",
 *        "ear.trustworthiness-vector": {"instance-identity": N,
 *            "hardware": N, "executables": N, "configuration": N},
 *        "ear.appraisal-policy-id": "tpmattest:policy/NAME@sha256:HEX"
 *            (or "tpmattest:policy/none" when no policy ruled),
 *        "tpmattest.verdict": "pass" | "fail" | null,
 *        "tpmattest.attested-at": SECONDS | null,   when the verdict was reached
 *        "tpmattest.seq": N | null,                 its history row
 *        "tpmattest.failed-checks": [{"name": "...", "status": "fail" |
 *                                     "not_run", "reason": "..."}, ...]}}}
 *
 * ear.status: "contraindicated" whenever the verdict is fail; "affirming"
 * only when it is pass, a policy ruled on the machine and nothing weaker
 * than the full checks was used; "warning" for a pass without a ruling
 * policy or with the older counter (counter_kind not "authorized");
 * "none" when there is no verdict yet.  The trustworthiness-vector values
 * are AR4SI's (draft-ietf-rats-ar4si) as EAR's draft uses them; ear.c says
 * which check sets which claim to which value.
 *
 * Pure: no files, no clock (iat is given), no printing.
 */
#ifndef TPMATTEST_EAR_H
#define TPMATTEST_EAR_H

#include <stddef.h>
#include <stdint.h>

#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPA_EAR_PROFILE "tag:github.com,2023:veraison/ear"
#define TPA_EAR_NONCE_HEX_MIN 16 /* eat_nonce: 8..32 bytes as hex */
#define TPA_EAR_NONCE_HEX_MAX 64
#define TPA_EAR_JWT_MAX (256 * 1024) /* a JWT longer than this is refused */
#define TPA_EAR_KID_MAX 64           /* RFC 7638 SHA-256 thumbprint, base64url: 43 chars */
/* "tpmattest:policy/" + a 64-character name + "@sha256:" + 64 hex digits is 153 */
#define TPA_EAR_POLICY_ID_MAX 192
#define TPA_EAR_CHECK_MAX 32 /* failed checks kept by tpa_ear_verify */
/* iat, exp and tpmattest.attested-at are seconds in 0..this
 * (9999-12-31T23:59:59Z): a relying party subtracts them from its clock */
#define TPA_EAR_TIME_MAX INT64_C(253402300799)

/* ---- the verifier's signing key (ECC P-256) ---- */

typedef struct tpa_result_key tpa_result_key;

/* A fresh key from OpenSSL's DRBG. */
int tpa_result_key_generate(tpa_result_key **out);
/* A PEM private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"), P-256
 * only: TPA_E_MALFORMED (not a PEM key), TPA_E_UNSUPPORTED (another type or
 * curve), why says which. */
int tpa_result_key_from_pem(const char *pem, size_t len, tpa_result_key **out, char *why,
                            size_t whylen);
/* The private key as PKCS#8 PEM (malloc'd, NUL-terminated; the caller
 * cleanses and frees it). */
int tpa_result_key_to_pem(const tpa_result_key *k, char **pem);
/* The public key as a JWK (RFC 7517, 7518 6.2), malloc'd JSON:
 * {"kty":"EC","crv":"P-256","x":B64URL,"y":B64URL,"alg":"ES256","use":"sig","kid":KID}
 * where KID is the RFC 7638 SHA-256 thumbprint, base64url. */
int tpa_result_key_jwk(const tpa_result_key *k, char **jwk);
void tpa_result_key_free(tpa_result_key **k);

/* ---- making a result ---- */

typedef struct tpa_ear_input {
	/* the verdict document (docs/api.md), or NULL: the machine has no
	 * verdict yet (ear.status "none", every claim 0) */
	const char *verdict_json;
	size_t verdict_len;
	const char *machine_id; /* 64 lowercase hex digits: the submodule's name */
	int64_t iat;            /* 0..TPA_EAR_TIME_MAX */
	/* the relying party's nonce: TPA_EAR_NONCE_HEX_MIN..MAX hex digits,
	 * put lowercase into eat_nonce; NULL: none */
	const char *nonce_hex;
	const char *build;     /* ear.verifier-id build: "tpmattest VERSION" */
	const char *developer; /* ear.verifier-id developer */
} tpa_ear_input;

/* The claims above, signed: *jwt malloc'd (header {"alg":"ES256",
 * "typ":"JWT","kid":KID}).  TPA_E_INVALID_ARG for a bad machine id, nonce
 * or iat, or a verdict document of another machine; TPA_E_MALFORMED when
 * the verdict document is not one (its "at" outside 0..TPA_EAR_TIME_MAX,
 * or larger than the reader's cap, included; why says what); TPA_E_LIMIT
 * for more than 256 checks in the document or a result longer than
 * TPA_EAR_JWT_MAX; TPA_E_NOMEM; TPA_E_CRYPTO: what tpa_ear_verify would
 * refuse is not signed. */
int tpa_ear_sign(const tpa_result_key *k, const tpa_ear_input *in, char **jwt, char *why,
                 size_t whylen);

/* ---- checking a result (the relying party's side) ---- */

typedef struct tpa_result_pub tpa_result_pub;

/* A public JWK as tpa_result_key_jwk writes it (kty EC, crv P-256, x and y
 * of 32 bytes each, on the curve; alg, use, kid optional and checked when
 * present).  TPA_E_MALFORMED / TPA_E_UNSUPPORTED with why. */
int tpa_result_pub_from_jwk(const char *jwk, size_t len, tpa_result_pub **out, char *why,
                            size_t whylen);
void tpa_result_pub_free(tpa_result_pub **k);

typedef enum tpa_ear_status {
	TPA_EAR_NONE = 0,
	TPA_EAR_AFFIRMING = 2,
	TPA_EAR_WARNING = 32,
	TPA_EAR_CONTRAINDICATED = 96,
} tpa_ear_status;

const char *tpa_ear_status_name(tpa_ear_status s);

typedef struct tpa_ear_claims {
	int64_t iat;
	int has_nonce;
	char nonce_hex[TPA_EAR_NONCE_HEX_MAX + 1];
	char machine_id[65]; /* the one submodule's name */
	tpa_ear_status status;
	int instance_identity, hardware, executables, configuration;
	char policy_id[TPA_EAR_POLICY_ID_MAX + 1]; /* "" when absent */
	char verdict[8];                           /* "pass", "fail" or "" */
	int has_attested_at;
	int64_t attested_at;
	size_t n_failed;
	struct {
		char name[64];
		char status[16];
	} failed[TPA_EAR_CHECK_MAX];
	char *claims_json; /* the payload as signed, malloc'd, for printing */
	int has_exp;       /* "exp" (RFC 7519 4.1.4): the caller refuses it after then */
	int64_t exp;
	size_t n_failed_all; /* failed checks in the payload (failed[] keeps the first 32) */
} tpa_ear_claims;

/*
 * TPA_OK when jwt is a JWS compact serialization whose header is exactly
 * alg ES256 (any other alg, "none" included, is refused) with typ JWT or
 * absent and kid, when present, the key's; whose signature verifies with
 * k; and whose payload has eat_profile TPA_EAR_PROFILE, an integer iat,
 * ear.verifier-id, and exactly one submodule with a known ear.status and
 * the vector's values as integers; iat, exp and tpmattest.attested-at, when
 * present, in 0..TPA_EAR_TIME_MAX (so that now - iat cannot overflow).
 * TPA_E_BAD_SIGNATURE: the signature does not verify (a tampered header,
 * payload or signature, another key).  TPA_E_MALFORMED: not three
 * base64url parts, not JSON, a claim missing, of the wrong type or a time
 * out of range (why names it).  TPA_E_UNSUPPORTED: another alg.  No
 * policy decision here: the caller looks at status, nonce, iat and
 * attested-at.  *out filled on TPA_OK only (tpa_ear_claims_clear frees
 * it).
 */
int tpa_ear_verify(const tpa_result_pub *k, const char *jwt, size_t len, tpa_ear_claims *out,
                   char *why, size_t whylen);
void tpa_ear_claims_clear(tpa_ear_claims *c);

#ifdef __cplusplus
}
#endif

#endif
