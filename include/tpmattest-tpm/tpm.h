/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The attester's TPM client (tpm2-tss ESAPI).  One tpa_tpm is one TCTI
 * connection.  Every transient object and session a call creates is flushed
 * before the call returns, on every path, so the client works on a TPM with
 * no resource manager, run after run.
 *
 * Errors: TPA_E_TPM for anything the TPM or the TCTI refused (including a
 * TPM that is absent or stops answering, and objects at our handles that are
 * not what they should be); tpa_tpm_error() then holds a one-line reason
 * with the TPM response code decoded.  The library never prints.
 */
#ifndef TPMATTEST_TPM_H
#define TPMATTEST_TPM_H

#include <tpmattest/counterauth.h>
#include <tpmattest/evidence.h>
#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Default locations of what tpmattest provisions.  Both are in the owner
 * ranges of the TCG handle registry (persistent objects 0x81000000-0x8100FFFF,
 * NV indices 0x01000000-0x013FFFFF), clear of the SRK (0x81000001), the TCG
 * EK handles (0x81010001 RSA, 0x81010002 ECC) and the EK certificate indices
 * (0x01C0xxxx).
 */
#define TPA_TPM_DEFAULT_AK_HANDLE 0x81000100u
#define TPA_TPM_DEFAULT_NV_INDEX 0x01000100u
/* The verifier-authorized counter (<tpmattest/counterauth.h>) has its own
 * default, so that the older counter of a machine enrolled before stays
 * where it is, untouched. */
#define TPA_TPM_DEFAULT_AUTH_NV_INDEX 0x01000101u
/* EK certificate indices (TCG EK Credential Profile 2.0, 2.2.1.5). */
#define TPA_TPM_EK_CERT_RSA_INDEX 0x01C00002u
#define TPA_TPM_EK_CERT_ECC_INDEX 0x01C0000Au

/* Key types (TPM_ALG_ID). */
enum {
	TPA_KEY_ANY = 0,
	TPA_KEY_RSA = 0x0001,
	TPA_KEY_ECC = 0x0023,
};

typedef struct tpa_tpm tpa_tpm;

/*
 * Connects.  tcti: a tpm2-tss TCTI spec ("swtpm:host=127.0.0.1,port=2321",
 * "device:/dev/tpmrm0"); NULL means tpm2-tss's default.  On failure the
 * reason goes to errbuf.
 */
int tpa_tpm_open(const char *tcti, tpa_tpm **out, char *errbuf, size_t errlen);
void tpa_tpm_close(tpa_tpm **tpm);
/* Reason of the last failure on this connection ("" if none). */
const char *tpa_tpm_error(const tpa_tpm *tpm);

/* Allocated PCR banks (TPM2_GetCapability(TPM_CAP_PCRS)), in TPM order;
 * banks with no PCR allocated are left out. */
int tpa_tpm_banks(tpa_tpm *tpm, uint16_t algs[TPA_MAX_BANKS], size_t *n);

/* Values of the PCRs in pcr_mask (bit i = PCR i) in every allocated bank. */
int tpa_tpm_read_pcrs(tpa_tpm *tpm, uint32_t pcr_mask, tpa_pcrs **out);

typedef struct tpa_tpm_info {
	char manufacturer[5]; /* TPM_PT_MANUFACTURER as 4 characters */
	char vendor[17];      /* TPM_PT_VENDOR_STRING_1..4 */
	uint32_t firmware1, firmware2;
	int is_simulator; /* see tpa_tpm_info_get() */
} tpa_tpm_info;

/*
 * Fixed properties.  is_simulator: TPM_PT_MANUFACTURER is "IBM" (libtpms,
 * hence swtpm, and the IBM reference simulator report it; IBM makes no
 * discrete TPM 2.0) or "MSFT" (the Microsoft reference simulator), or
 * TPM_PT_VENDOR_STRING_1 is "SW  " (both simulators' "SW TPM").  A hardware
 * TPM could lie; the rule protects against accidents, not against an
 * adversary, who owns the platform anyway.
 */
int tpa_tpm_info_get(tpa_tpm *tpm, tpa_tpm_info *info);

/* TPM2_PCR_Extend of one PCR with one digest per listed bank. */
int tpa_tpm_extend(tpa_tpm *tpm, unsigned pcr, size_t n, const uint16_t *algs,
                   const uint8_t *const *digests);

typedef struct tpa_provision_opts {
	uint16_t ak_alg;    /* TPA_KEY_ANY (accept the existing AK, create ECC), RSA or ECC */
	uint32_t ak_handle; /* 0: TPA_TPM_DEFAULT_AK_HANDLE */
	uint32_t nv_index;  /* 0: TPA_TPM_DEFAULT_NV_INDEX, or with counter_policy
	                       TPA_TPM_DEFAULT_AUTH_NV_INDEX */
	/* 32 bytes (tpa_counter_policy): the counter is the verifier-authorized
	 * kind: TPM_NT_COUNTER, TPMA_NV_POLICYWRITE | AUTHREAD | OWNERREAD |
	 * NO_DA (no authwrite, no ownerwrite), nameAlg SHA-256, this
	 * authPolicy; defined when absent, and an index there of another kind
	 * or another policy is TPA_E_TPM.  NULL: the older kind (authwrite |
	 * authread | ownerwrite | ownerread | no_da, no policy). */
	const uint8_t *counter_policy;
} tpa_provision_opts;

typedef struct tpa_provision_info {
	int ak_created, nv_created;
	uint16_t ak_alg;
	uint32_t ak_handle, nv_index;
	uint8_t ak_public[1024]; /* marshalled TPM2B_PUBLIC */
	size_t ak_public_len;
	uint8_t ak_name[2 + TPA_MAX_DIGEST];
	size_t ak_name_len;
} tpa_provision_info;

/*
 * Finds or creates the AK and the NV counter.  Existing objects are checked
 * (AK: type, scheme, attributes, name algorithm; NV: counter type and
 * attributes); anything else at the handle is TPA_E_TPM, never replaced.
 * A new AK is created under the ECC P-256 EK (TCG default template L-2) in
 * the endorsement hierarchy and made persistent.  An AK found at the handle
 * must also be a child of the default ECC or RSA EK (its qualified name is
 * recomputed; tpa_tpm_quote skips this, it costs an EK derivation).  info
 * may be NULL.
 */
int tpa_tpm_provision(tpa_tpm *tpm, const tpa_provision_opts *opts, tpa_provision_info *info);

/* An EK from a TCG default template (RSA 2048 L-1 or ECC P-256 L-2): its
 * TPM2B_PUBLIC and, when the TPM holds one, its certificate.  Creates the
 * primary key (slow for RSA) and flushes it. */
int tpa_tpm_ek(tpa_tpm *tpm, uint16_t alg, uint8_t **pub, size_t *pub_len, uint8_t **cert,
               size_t *cert_len);

/*
 * TPM2_ActivateCredential (TPM 2.0 Part 3, 12.5): recovers the secret a
 * verifier wrapped with MakeCredential (tpa_credential_make) to this TPM's
 * default EK of ek_alg (TPA_KEY_RSA or TPA_KEY_ECC, re-created from its
 * template, used under a PolicySecret(TPM_RH_ENDORSEMENT) session) for the
 * key at ak_handle (0: TPA_TPM_DEFAULT_AK_HANDLE, its empty password).
 * id_object and encrypted_secret are the marshalled TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET, each exactly (TPA_E_MALFORMED otherwise).  A
 * credential made for another EK or another key's Name is TPA_E_TPM, with
 * the response code in tpa_tpm_error(), which says "the TPM refused the
 * credential" for the codes Part 3 gives such a credential (TPM_RC_INTEGRITY,
 * _VALUE, _SIZE, _ECC_POINT; libtpms answers an RSA seed that does not
 * decrypt with TPM_RC_FAILURE instead, docs/enrollment.md).  The secret
 * goes to secret (at most secret_cap bytes; the TPM returns at most 64,
 * TPA_TPM_MAX_CREDENTIAL).
 */
#define TPA_TPM_MAX_CREDENTIAL 64
int tpa_tpm_activate_credential(tpa_tpm *tpm, uint16_t ek_alg, uint32_t ak_handle,
                                const uint8_t *id_object, size_t id_object_len,
                                const uint8_t *encrypted_secret, size_t encrypted_secret_len,
                                uint8_t *secret, size_t secret_cap, size_t *secret_len);

typedef struct tpa_quote_opts {
	const uint8_t *nonce; /* 1..TPA_EVIDENCE_MAX_NONCE bytes */
	size_t nonce_len;
	uint32_t pcr_mask; /* 0: PCRs 0-9 */
	tpa_provision_opts provision;
	unsigned retries; /* read/quote attempts when PCRs move; 0: 3 */
	/*
	 * The verifier-authorized counter (provision.counter_policy set): the
	 * nonce comes from the verifier together with its authorization for
	 * the increment.  tpa_tpm_quote starts the policy session, calls ask
	 * with its nonceTPM (nonce above is then ignored), and ask fills the
	 * nonce (1..TPA_EVIDENCE_MAX_NONCE bytes) and, when the verifier gave
	 * one, the authorization (*have_auth 1).  With it the counter is
	 * incremented under it (PolicySigned, PolicyCommandCode, PolicyNV x2
	 * unless first, VerifySignature and PolicyAuthorize with the key
	 * loaded by TPM2_LoadExternal in the owner hierarchy); a TPM that
	 * refuses the PolicyNV bounds (its counter is below what the verifier
	 * last accepted: rolled back) is not incremented and the quote goes on,
	 * so the verifier sees and records the rollback.  Without one the
	 * counter is certified as it is.  An ask that fails ends the quote with
	 * its error.  The session is flushed before tpa_tpm_quote returns.
	 */
	int (*ask)(void *ctx, const uint8_t *nonce_tpm, size_t nonce_tpm_len, uint8_t *nonce,
	           size_t nonce_cap, size_t *nonce_len, tpa_counter_auth *auth, int *have_auth);
	void *ask_ctx;
	/* optional outputs: 1 when the counter was incremented, else 0; and
	 * when the TPM refused an authorized increment, why (the command and
	 * its response code), "" otherwise.  Both are written whenever
	 * provisioning was attempted, on failure too (a quote that fails after
	 * the increment reports incremented 1).  A refusal is only TPM_RC_POLICY
	 * or TPM_RC_NV_UNINITIALIZED from a PolicyNV bound; any other failure
	 * of the authorized increment (PolicySigned of an authorization for
	 * another session's nonceTPM: TPM_RC_SIGNATURE) is TPA_E_TPM. */
	int *incremented;
	char *refused;
	size_t refused_len;
} tpa_quote_opts;

/*
 * One attestation: provisions if needed, increments the counter, reads the
 * PCRs and quotes them in every allocated bank with the nonce as
 * qualifyingData (retrying when the values read do not hash to the quote's
 * pcrDigest), certifies the counter with the same nonce, and reads the EK
 * certificates.  The event log is the caller's to add.
 */
int tpa_tpm_quote(tpa_tpm *tpm, const tpa_quote_opts *opts, tpa_evidence **out);

/*
 * Hierarchy authorizations (TPM2_HierarchyChangeAuth), for `tpmattest
 * init`: which is TPA_HIERARCHY_OWNER, _ENDORSEMENT or _LOCKOUT.  set_auth
 * tells this connection the current value (Esys_TR_SetAuth), for every
 * command that then uses the hierarchy: NV_DefineSpace and EvictControl
 * (owner), the EK's CreatePrimary and PolicySecret (endorsement).
 * change_auth sets a new value (the current one set before, if any);
 * len 0 clears it.  Values are at most 32 bytes (TPA_E_INVALID_ARG).
 */
enum { TPA_HIERARCHY_OWNER = 1, TPA_HIERARCHY_ENDORSEMENT = 2, TPA_HIERARCHY_LOCKOUT = 3 };
#define TPA_TPM_MAX_AUTH 32
int tpa_tpm_set_auth(tpa_tpm *tpm, int which, const uint8_t *auth, size_t len);
int tpa_tpm_change_auth(tpa_tpm *tpm, int which, const uint8_t *auth, size_t len);

/* ---- enrollment (tpmattest enroll request) ---- */

/* TPM2_ReadPublic of the key at handle: its TPM2B_PUBLIC, marshalled, and
 * its qualified name (which says who its parents are). */
int tpa_tpm_read_public(tpa_tpm *tpm, uint32_t handle, uint8_t *pub, size_t pub_cap,
                        size_t *pub_len, uint8_t *qn, size_t qn_cap, size_t *qn_len);
/* TPM2_NV_ReadPublic of index: its TPM2B_NV_PUBLIC, marshalled. */
int tpa_tpm_nv_public(tpa_tpm *tpm, uint32_t index, uint8_t *pub, size_t cap, size_t *len);
/* The EK certificate chain indices (TCG EK Credential Profile 2.5,
 * 2.2.1.5.2: 0x01C00100-0x01C001FF) that exist, in index order, read
 * whole; at most max of them (more is TPA_E_LIMIT).  blobs[i] malloc'd. */
#define TPA_TPM_EK_CHAIN_FIRST 0x01C00100u
#define TPA_TPM_EK_CHAIN_COUNT 0x100u
int tpa_tpm_ek_chain(tpa_tpm *tpm, uint8_t **blobs, size_t *lens, size_t max, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
