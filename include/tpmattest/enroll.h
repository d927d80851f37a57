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
                        const uint8_t *secret, size_t secret_len, tpa_credential *out, char *why,
                        size_t whylen);

/* len bytes from OpenSSL's private DRBG, for a credential's secret. */
int tpa_credential_random(uint8_t *secret, size_t len);

/*
 * Whether the machine gave back the secret: TPA_OK, or TPA_E_MISMATCH.
 * The comparison takes the same time wherever the bytes differ, and
 * nothing about the expected value is returned; callers must not show it.
 */
int tpa_credential_check(const uint8_t *expected, size_t expected_len, const uint8_t *got,
                         size_t got_len);

/* ---- EK certificates ---- */

/*
 * An EK certificate as real TPMs ship it (docs/enrollment.md, "EK
 * certificates"): DER, PEM, or DER behind the TCG PC Client NV header
 * (10 01 00 <len16>, optionally followed by 10 02) and followed by NV
 * padding.  Padding is a run of one value, 00 or ff; anything else after
 * the DER is TPA_E_TRAILING.  Inputs above TPA_EKCERT_MAX_INPUT are
 * TPA_E_LIMIT.
 */
#define TPA_EKCERT_MAX_INPUT 65536
/* Longest chain built: the EK certificate, intermediates and the root. */
#define TPA_EKCERT_MAX_CHAIN 8
/* Size of every text field below, NUL included. */
#define TPA_EKCERT_TEXT_MAX 256
/* Size of the TPM attribute fields (tpmModel etc.), NUL included. */
#define TPA_EKCERT_ATTR_MAX 65

typedef struct tpa_ekcert tpa_ekcert;

typedef enum tpa_ekcert_key {
	TPA_EKCERT_KEY_UNKNOWN = 0,
	TPA_EKCERT_KEY_RSA = 1,
	TPA_EKCERT_KEY_ECC = 2,
	/* id-RSAES-OAEP (1.2.840.113549.1.1.7): the TPM 1.2 EK key type,
	 * which OpenSSL cannot decode; out of scope */
	TPA_EKCERT_KEY_RSAES_OAEP = 3,
} tpa_ekcert_key;

/* What a certificate says, whether or not it verifies.  Text fields hold
 * printable ASCII only (other bytes become '?'), NUL-terminated. */
typedef struct tpa_ekcert_info {
	/* How the DER was wrapped in the input: "DER", "PEM", "TCG NV header
	 * (7 bytes)", with ", 431 bytes of ff padding" appended, etc. */
	char wrapping[TPA_EKCERT_TEXT_MAX];
	size_t der_offset, der_len; /* where the DER sits in the input */
	/* TPM attributes of the subjectAltName directoryName (TCG EK
	 * Credential Profile 2.0, 3.2.9): tpmManufacturer (2.23.133.2.1),
	 * tpmModel (2.23.133.2.2), tpmVersion (2.23.133.2.3), as written;
	 * empty when absent.  has_san: the certificate has a SAN with them;
	 * san_critical: that extension is marked critical. */
	int has_san, san_critical;
	char manufacturer[TPA_EKCERT_ATTR_MAX]; /* "id:49465800" */
	char model[TPA_EKCERT_ATTR_MAX];
	char version[TPA_EKCERT_ATTR_MAX]; /* firmware version, "id:000D0005" */
	/* The TCG vendor ID the manufacturer encodes ("IFX"), empty when it is
	 * not printable ASCII, and its holder ("Infineon"), NULL when unknown. */
	char vendor_id[5];
	const char *vendor_name;
	tpa_ekcert_key key;
	unsigned key_bits;     /* RSA modulus or ECC field size in bits, 0 when unknown */
	const char *key_curve; /* "P-256" etc. for ECC, NULL otherwise */
	char subject[TPA_EKCERT_TEXT_MAX]; /* RFC 2253 form, "" when empty */
	char issuer[TPA_EKCERT_TEXT_MAX];
	char serial[TPA_EKCERT_TEXT_MAX]; /* hex, as encoded (may exceed 20 octets) */
	/* Validity, seconds since 1970 (UTC); 9999-12-31 is representable. */
	int64_t not_before, not_after;
} tpa_ekcert_info;

/*
 * Reads an EK certificate.  TPA_OK and *out, or TPA_E_MALFORMED,
 * TPA_E_TRUNCATED, TPA_E_TRAILING or TPA_E_LIMIT with the reason and the
 * byte offset in why; TPA_E_NOMEM.  *out is untouched on failure.
 */
int tpa_ekcert_parse(const uint8_t *buf, size_t len, tpa_ekcert **out, char *why, size_t whylen);
void tpa_ekcert_free(tpa_ekcert **cert);
const tpa_ekcert_info *tpa_ekcert_get_info(const tpa_ekcert *cert);
/* The certificate's DER, without header or padding (borrowed). */
const uint8_t *tpa_ekcert_der(const tpa_ekcert *cert, size_t *len);

/*
 * Trust: anchors and intermediates.  tpa_ekstore_add reads one DER
 * certificate, or one or more PEM certificates, from buf.  As
 * TPA_EKSTORE_ROOT, a self-signed certificate (its own signature checked)
 * becomes a trust anchor; a certificate that is not self-signed is kept as
 * an intermediate, so a folder of vendor CAs that mixes roots and
 * intermediates can be given as roots.  As TPA_EKSTORE_INTERMEDIATE nothing
 * becomes an anchor.  A certificate OpenSSL cannot parse is TPA_E_MALFORMED
 * with the reason (the caller decides whether to skip the file).
 */
typedef struct tpa_ekstore tpa_ekstore;

enum { TPA_EKSTORE_ROOT = 1, TPA_EKSTORE_INTERMEDIATE = 2 };

int tpa_ekstore_new(tpa_ekstore **out);
void tpa_ekstore_free(tpa_ekstore **store);
int tpa_ekstore_add(tpa_ekstore *store, int role, const uint8_t *buf, size_t len, char *why,
                    size_t whylen);
/* Anchors and intermediates held so far. */
size_t tpa_ekstore_count(const tpa_ekstore *store, int role);

typedef enum tpa_ekcert_reason {
	TPA_EKCERT_VERIFIED = 0,
	TPA_EKCERT_UNKNOWN_ISSUER, /* no certificate with the issuer's name and key */
	TPA_EKCERT_SELF_SIGNED,    /* the "EK" certificate signs itself */
	TPA_EKCERT_BAD_SIGNATURE,  /* the issuer's key does not verify the signature */
	TPA_EKCERT_NOT_CA,         /* an issuer is not a CA (basicConstraints, keyUsage) */
	TPA_EKCERT_EXPIRED,        /* only with check_time */
	TPA_EKCERT_NOT_YET_VALID,  /* only with check_time */
	TPA_EKCERT_OUT_OF_SCOPE,   /* TPM 1.2 EK certificate (RSAES-OAEP key) */
	TPA_EKCERT_CRITICAL_EXT,   /* a critical extension no check handles */
	TPA_EKCERT_REFUSED,        /* any other refusal by the path validation */
	TPA_EKCERT_WEAK,           /* a SHA-1 signature, or an RSA key under 1024 bits */
	TPA_EKCERT_NOT_EK,         /* a CA certificate (cA TRUE) given as the EK certificate */
} tpa_ekcert_reason;

/* "verified", "unknown-issuer", ... (stable, for JSON); NULL when unknown. */
const char *tpa_ekcert_reason_name(tpa_ekcert_reason reason);

typedef enum tpa_ekcert_validity {
	TPA_EKCERT_TIME_VALID = 0,
	TPA_EKCERT_TIME_EXPIRED = 1,
	TPA_EKCERT_TIME_NOT_YET_VALID = 2,
} tpa_ekcert_validity;

typedef struct tpa_ekcert_verdict {
	tpa_ekcert_reason reason;
	/* position in the chain the reason concerns: 0 is the EK certificate */
	int depth;
	char why[TPA_EKCERT_TEXT_MAX];
	/* The EK certificate's own validity at the time checked, always
	 * computed; chain_time: every certificate of the built chain valid
	 * then (only meaningful when a chain was built). */
	tpa_ekcert_validity validity;
	int chain_time_valid;
	int time_enforced;
	/* The chain built, subjects from the EK certificate (0) to the root;
	 * on failure, as far as it got.  chain_len 0 when none was built. */
	size_t chain_len;
	char chain[TPA_EKCERT_MAX_CHAIN][TPA_EKCERT_TEXT_MAX];
} tpa_ekcert_verdict;

typedef struct tpa_ekcert_opts {
	/* Enforce notBefore/notAfter on every certificate of the chain. */
	int check_time;
	/* The time checked, seconds since 1970; 0 is now. */
	int64_t at;
	/* Further intermediates for this certificate only (from the evidence,
	 * or the TPM's NV chain indices 0x01C00100-0x01C001FF, TCG EK
	 * Credential Profile 2.5, 2.2.1.5.2), each read as tpa_ekcert_parse
	 * reads (NV header and padding allowed).  Never anchors. */
	const uint8_t *const *chain;
	const size_t *chain_len;
	size_t n_chain;
} tpa_ekcert_opts;

/*
 * Builds and checks the path from cert to an anchor of store: signatures,
 * basicConstraints cA and keyUsage keyCertSign on every issuer, path
 * length, name chaining with the authority/subject key identifiers, no
 * SHA-1 signatures (OpenSSL security level 1), at most
 * TPA_EKCERT_MAX_CHAIN certificates.  Time only with opts->check_time.
 * opts may be NULL.  Returns TPA_OK only when the chain verified;
 * TPA_E_BAD_SIGNATURE for a bad signature, TPA_E_POLICY for every other
 * refusal (v->reason says which), TPA_E_MALFORMED for an unreadable
 * opts->chain entry, TPA_E_NOMEM or TPA_E_CRYPTO.  *v is always filled.
 */
int tpa_ekcert_verify(const tpa_ekcert *cert, const tpa_ekstore *store, const tpa_ekcert_opts *opts,
                      tpa_ekcert_verdict *v);

/*
 * Whether ek_public (TPM2B_PUBLIC or bare TPMT_PUBLIC, every byte used) holds
 * the certificate's key: the same RSA modulus and exponent (0 meaning
 * 65537), or the same NIST curve and point.  Only the key: whether the
 * public area is an EK (its template, attributes and policy) is
 * tpa_credential_ek_check's.  TPA_OK; TPA_E_MISMATCH with the reason;
 * TPA_E_MALFORMED or TPA_E_TRAILING for a public area that does not
 * decode; TPA_E_UNSUPPORTED for an RSAES-OAEP certificate.
 */
int tpa_ekcert_key_matches(const tpa_ekcert *cert, const uint8_t *ek_public, size_t len, char *why,
                           size_t whylen);

/* ---- enrollment protocol ---- */

/*
 * The four documents of an offline enrollment (docs/enrollment.md, "The four
 * steps"): the attester's request, the verifier's challenge (and what it
 * keeps, the pending document), the attester's response, and the record.
 * JSON, read strictly (tpa_json_parse: unknown members refused at every
 * level, lowercase hex, canonical padded base64), each with its "format"
 * and the integer version 1.  Readers check the shape of a document only;
 * tpa_enroll_challenge_make and tpa_enroll_finish decide.
 */

/* Caps on what the documents carry. */
#define TPA_ENROLL_JSON_MAX (1u << 20)
/* values (scalars and containers) in one document: each has a few dozen */
#define TPA_ENROLL_JSON_MAX_VALUES 1024u
#define TPA_ENROLL_MAX_PUBLIC 640   /* TPM2B_PUBLIC */
#define TPA_ENROLL_MAX_NV_PUBLIC 96 /* TPM2B_NV_PUBLIC */
#define TPA_ENROLL_MAX_NAME (2 + 64)
#define TPA_ENROLL_MAX_CHAIN 8 /* NV chain certificates (0x01C00100-0x01C001FF) */
#define TPA_ENROLL_ID_LEN 16   /* a challenge's random identifier */
#define TPA_ENROLL_SECRET_LEN 32
/* A challenge is answered within this many seconds unless told otherwise. */
#define TPA_ENROLL_DEFAULT_LIFETIME 600

/* One EK of the request, as the TPM gave it. */
typedef struct tpa_enroll_ek {
	int present;
	uint8_t public_area[TPA_ENROLL_MAX_PUBLIC]; /* TPM2B_PUBLIC */
	size_t public_len;
	uint8_t *cert; /* as read from NV (header, padding); NULL: none */
	size_t cert_len;
} tpa_enroll_ek;

/* Step 1, the attester's (tpmattest enroll request).  Blobs are malloc'd;
 * tpa_enroll_request_clear frees them. */
typedef struct tpa_enroll_request {
	tpa_enroll_ek ek_rsa, ek_ecc;
	uint8_t *chain[TPA_ENROLL_MAX_CHAIN]; /* NV chain certificates */
	size_t chain_len[TPA_ENROLL_MAX_CHAIN];
	size_t n_chain;
	uint32_t ak_handle;
	uint8_t ak_public[TPA_ENROLL_MAX_PUBLIC]; /* TPM2B_PUBLIC */
	size_t ak_public_len;
	/* TPM2_ReadPublic's qualifiedName: says which EK is the AK's parent */
	uint8_t ak_qualified_name[TPA_ENROLL_MAX_NAME];
	size_t ak_qualified_name_len;
	uint32_t counter_index;
	uint8_t counter_public[TPA_ENROLL_MAX_NV_PUBLIC]; /* TPM2B_NV_PUBLIC */
	size_t counter_public_len;
	/* claimed by the TPM, informational: TPM_PT_MANUFACTURER, vendor strings,
	 * firmware version (printable ASCII) */
	char tpm_manufacturer[5];
	char tpm_vendor[17];
	uint32_t tpm_firmware1, tpm_firmware2;
} tpa_enroll_request;

void tpa_enroll_request_clear(tpa_enroll_request *req);
int tpa_enroll_request_to_json(const tpa_enroll_request *req, char **out);
/* TPA_OK and *out (the caller clears it), or TPA_E_MALFORMED / TPA_E_LIMIT
 * with the member's path in why; *out is untouched on failure. */
int tpa_enroll_request_from_json(const char *json, size_t len, tpa_enroll_request *out, char *why,
                                 size_t whylen);

/* What the EK certificate chain showed, for the record. */
typedef struct tpa_enroll_chain {
	char manufacturer[TPA_EKCERT_ATTR_MAX]; /* tpmManufacturer, "id:00001014" */
	char vendor[TPA_EKCERT_TEXT_MAX];       /* its holder, "" when unknown */
	char model[TPA_EKCERT_ATTR_MAX];
	char version[TPA_EKCERT_ATTR_MAX];
	char issuer[TPA_EKCERT_TEXT_MAX];
	char root[TPA_EKCERT_TEXT_MAX]; /* subject of the trust anchor reached */
	char serial[TPA_EKCERT_TEXT_MAX];
	size_t length; /* certificates in the chain, the EK's and the root's included */
} tpa_enroll_chain;

/* Step 2, sent to the attester: the credential for the EK of ek_alg. */
typedef struct tpa_enroll_challenge {
	uint8_t id[TPA_ENROLL_ID_LEN];
	uint16_t ek_alg; /* 0x0001 RSA, 0x0023 ECC */
	uint32_t ak_handle;
	tpa_credential credential;
} tpa_enroll_challenge;

/* Step 2, kept by the verifier (mode 0600, single use): the secret and
 * everything the record will hold. */
typedef struct tpa_enroll_pending {
	uint8_t id[TPA_ENROLL_ID_LEN];
	uint8_t secret[TPA_ENROLL_SECRET_LEN];
	int64_t created, expires;
	uint16_t ek_alg;
	char ek_template[4]; /* "L-2" */
	uint8_t ek_public[TPA_ENROLL_MAX_PUBLIC];
	size_t ek_public_len;
	uint32_t ak_handle;
	uint8_t ak_public[TPA_ENROLL_MAX_PUBLIC];
	size_t ak_public_len;
	uint8_t ak_name[TPA_ENROLL_MAX_NAME];
	size_t ak_name_len;
	uint32_t counter_index;
	uint8_t counter_name[TPA_ENROLL_MAX_NAME];
	size_t counter_name_len;
	/* the counter is the verifier-authorized kind (<tpmattest/counterauth.h>)
	 * with this authPolicy; 0: the older kind, which anyone may increment */
	int counter_authorized;
	uint8_t counter_policy[32];
	tpa_enroll_chain chain;
} tpa_enroll_pending;

/* Step 3, the attester's answer. */
typedef struct tpa_enroll_response {
	uint8_t id[TPA_ENROLL_ID_LEN];
	uint8_t secret[TPA_CREDENTIAL_MAX_SECRET];
	size_t secret_len;
} tpa_enroll_response;

/* Step 4: the enrollment record.  machine_id = SHA-256(ek_public). */
typedef struct tpa_enrollment {
	uint8_t machine_id[32];
	int64_t enrolled_at;
	uint16_t ek_alg;
	char ek_template[4];
	uint8_t ek_public[TPA_ENROLL_MAX_PUBLIC];
	size_t ek_public_len;
	tpa_enroll_chain chain;
	uint32_t ak_handle;
	uint8_t ak_public[TPA_ENROLL_MAX_PUBLIC];
	size_t ak_public_len;
	uint8_t ak_name[TPA_ENROLL_MAX_NAME];
	size_t ak_name_len;
	uint32_t counter_index;
	uint8_t counter_name[TPA_ENROLL_MAX_NAME];
	size_t counter_name_len;
	/* as in tpa_enroll_pending; records written before issue 12 have the
	 * older counter (0) */
	int counter_authorized;
	uint8_t counter_policy[32];
} tpa_enrollment;

/* Every reader below: TPA_OK and *out, or TPA_E_MALFORMED / TPA_E_LIMIT with
 * the member's path in why (never quoting a secret); *out untouched on
 * failure.  Writers return a malloc'd NUL-terminated string. */
int tpa_enroll_challenge_to_json(const tpa_enroll_challenge *c, char **out);
int tpa_enroll_challenge_from_json(const char *json, size_t len, tpa_enroll_challenge *out,
                                   char *why, size_t whylen);
int tpa_enroll_pending_to_json(const tpa_enroll_pending *p, char **out);
int tpa_enroll_pending_from_json(const char *json, size_t len, tpa_enroll_pending *out, char *why,
                                 size_t whylen);
int tpa_enroll_response_to_json(const tpa_enroll_response *r, char **out);
int tpa_enroll_response_from_json(const char *json, size_t len, tpa_enroll_response *out, char *why,
                                  size_t whylen);
int tpa_enrollment_to_json(const tpa_enrollment *e, char **out);
/* Also checks that machine_id is SHA-256 of the EK public and ak.name the
 * AK public's Name. */
int tpa_enrollment_from_json(const char *json, size_t len, tpa_enrollment *out, char *why,
                             size_t whylen);

typedef struct tpa_enroll_opts {
	int check_time;   /* enforce the EK chain's validity (tpa_ekcert_opts) */
	int64_t now;      /* seconds since 1970; 0: time(NULL) */
	int64_t lifetime; /* of the challenge, seconds; 0: TPA_ENROLL_DEFAULT_LIFETIME */
	/* TPA_COUNTER_NAME_LEN bytes: the Name of this verifier's counter key.
	 * A counter of the verifier-authorized kind must have the authPolicy
	 * tpa_counter_policy gives for it and the machine (its id, SHA-256 of
	 * the EK the AK is under); the older kind is then refused unless
	 * allow_legacy_counter.  NULL: only the older kind is known here and is
	 * accepted. */
	const uint8_t *counter_key_name;
	int allow_legacy_counter;
} tpa_enroll_opts;

/* Why a step refused: check is a stable name ("ek_certificate",
 * "ek_public", "ak", "ak_parent", "counter", "challenge", "expired",
 * "secret"), "" on success; why the reason, which never holds a secret. */
typedef struct tpa_enroll_verdict {
	const char *check;
	char why[2 * TPA_EKCERT_TEXT_MAX];
	int has_cert; /* cert holds the chain verdict */
	tpa_ekcert_verdict cert;
} tpa_enroll_verdict;

/*
 * Step 2: the AK's parent EK (from the qualified name, the one EK of the
 * request it matches) must have a certificate that chains to an anchor of
 * roots (tpa_ekcert_verify, the request's chain certificates as
 * intermediates), its public area must be a TCG default EK
 * (tpa_credential_ek_check) with the certificate's key; the AK must pass
 * tpa_ak_check; the counter's public area must be a TPM_NT_COUNTER with the
 * attributes tpmattest provisions, and its Name (with TPMA_NV_WRITTEN, as
 * NV_Certify shows it) is computed here.  Then MakeCredential to that EK
 * over the AK's Name computed here, with a fresh secret.  TPA_OK with *ch
 * and *pending; TPA_E_POLICY or TPA_E_BAD_SIGNATURE (v->check says which
 * check), TPA_E_MALFORMED for what does not decode, TPA_E_NOMEM /
 * TPA_E_CRYPTO.  Outputs untouched on failure; v always filled.
 */
int tpa_enroll_challenge_make(const tpa_enroll_request *req, const tpa_ekstore *roots,
                              const tpa_enroll_opts *opts, tpa_enroll_challenge *ch,
                              tpa_enroll_pending *pending, tpa_enroll_verdict *v);

/*
 * Step 4: TPA_OK and the record when the response answers this challenge
 * (its id) before it expired with the secret (tpa_credential_check);
 * TPA_E_MISMATCH for another secret or challenge, TPA_E_POLICY when
 * expired.  Nothing about the expected secret reaches v or *out.
 */
int tpa_enroll_finish(const tpa_enroll_pending *pending, const tpa_enroll_response *resp,
                      int64_t now, tpa_enrollment *out, tpa_enroll_verdict *v);

#ifdef __cplusplus
}
#endif

#endif
