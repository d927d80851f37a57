/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The verification engine: a pure function from evidence, the enrolled AK,
 * the nonce this verifier issued, the machine's previous state and a policy,
 * to a verdict, the list of checks with their reasons, and the machine's
 * next state.  No I/O, no TPM.  Each row of THREATS.md "Quote and key" and
 * "Event log" is one of its checks.
 *
 * Fail closed: tpa_verify returns TPA_OK only when every check that applies
 * ran and passed.
 *
 * TPM structures are decoded with tpm2-tss's libtss2-mu, which logs refused
 * input to stderr unless TSS2_LOG says otherwise ("all+NONE"): the library
 * itself never prints.  A check that could not run (an input missing, a check it
 * depends on failed) is a failure.
 */
#ifndef TPMATTEST_VERIFY_H
#define TPMATTEST_VERIFY_H

#include <tpmattest/eventlog.h>
#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- attestation keys ---- */

typedef struct tpa_ak tpa_ak;

/*
 * Reads an AK from a TPM2B_PUBLIC, a bare TPMT_PUBLIC, or a DER or PEM
 * SubjectPublicKeyInfo.  With a TPM public area the key's attributes and
 * name are known and checked; a bare public key can only be trusted as far
 * as the enrollment that produced it.  why gets the reason on failure.
 */
int tpa_ak_parse(const uint8_t *buf, size_t len, tpa_ak **out, char *why, size_t whylen);
void tpa_ak_free(tpa_ak **ak);
int tpa_ak_has_public_area(const tpa_ak *ak);
/*
 * An AK must be a TPM-resident attestation key: restricted, sign,
 * fixedTPM, fixedParent, sensitiveDataOrigin, not decrypt, nameAlg SHA-256
 * or better, RSA >= 2048 or ECC P-256/P-384, and a signing scheme that is
 * not SHA-1.  TPA_OK, TPA_E_POLICY with the reason, or TPA_E_NOT_FOUND when
 * the key came without its public area.
 */
int tpa_ak_check(const tpa_ak *ak, char *why, size_t whylen);
/* The AK's TPM name (nameAlg || digest); TPA_E_NOT_FOUND without a public area. */
int tpa_ak_name(const tpa_ak *ak, const uint8_t **name, size_t *len);

/*
 * The public area (TPM2B_PUBLIC, malloc'd) of an EK made from a TCG default
 * template (L-1 RSA 2048, L-2 ECC P-256), rebuilt from its certificate's key.
 * It gives the EK's name, hence the AK's qualified name, without a TPM.
 * TPA_E_UNSUPPORTED for keys no default template produces.
 */
int tpa_ek_public_from_cert(const uint8_t *der, size_t len, uint8_t **out, size_t *outlen);

/* ---- a machine's freshness state ---- */

/* What a verifier remembers of a machine between attestations: the TPM's
 * clock info from the last accepted quote and the last accepted value of
 * its certified NV counter. */
typedef struct tpa_state {
	int has_clock;
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	int safe;
	int has_counter;
	uint64_t counter;
	uint8_t counter_name[2 + TPA_MAX_DIGEST];
	size_t counter_name_len;
	/* Verifier-authorized counters (<tpmattest/counterauth.h>): how many
	 * increments this verifier authorized since it accepted counter (since
	 * enrollment before the first) that the counter has not used up.  A
	 * next state keeps those its counter did not use (previous count minus
	 * the counter's step), 0 after a first value. */
	uint64_t counter_auths;
} tpa_state;

/* {"version":1,"clock":{"clock":N,"reset_count":N,"restart_count":N,"safe":bool},
 *  "counter":{"value":N,"name":"hex"},"counter_auths":N}, read strictly (tpa_json_parse): the
 * integer 1 as version, unknown members at any level refused (a misspelt
 * "countr" would otherwise turn the rollback check off), every member of
 * "clock" and "counter" present with its type, integers in range, and a
 * counter name that is nameAlg || digest for a known hash (never
 * TPM_ALG_NULL).  "clock" and "counter" themselves may be absent (nothing
 * remembered yet).  TPA_OK and *out, or TPA_E_MALFORMED / TPA_E_LIMIT with
 * the reason, naming the member, in why; *out is untouched on failure. */
int tpa_state_from_json(const char *json, size_t len, tpa_state *out, char *why, size_t whylen);
int tpa_state_to_json(const tpa_state *st, char **out);

/* ---- verification ---- */

struct tpa_policy;

/*
 * The event log's checks, remembered.  What tpa_verify decides from the
 * event log with the quoted PCR values and the policy (eventlog_replay,
 * eventlog_rules and the policy's checks, and which PCRs the log does not
 * cover) is a function of those three alone.  A verifier that sees a
 * machine again with the same log, the same claimed PCR values and the
 * same policy (an unchanged boot, the attester sending only its log's
 * hash) may hand in the memo of the last verification that passed instead
 * of the log: those checks are then added with the outcome and reasons
 * they had, without the log being parsed, replayed or judged again.  Every
 * other check (signature, nonce, selection, PCR digest, signer, clock,
 * counter) runs as always, so a memo cannot make a quote fresh or genuine.
 * A memo whose key is not the one computed for this verification is not
 * used: the log's checks then fail (not run).
 */
typedef struct tpa_log_memo tpa_log_memo;

/* The key: SHA-256 over a label, the log's SHA-256, the policy's SHA-256
 * (of its document; NULL: no policy, hashed apart from any digest) and
 * every claimed (bank, PCR, value) in order. */
int tpa_log_memo_key(const uint8_t log_sha256[32], const uint8_t *policy_sha256,
                     const tpa_pcrs *pcrs, uint8_t key[32]);
void tpa_log_memo_free(tpa_log_memo **memo);
/* Bytes it holds (for a cache's budget). */
size_t tpa_log_memo_size(const tpa_log_memo *memo);

typedef struct tpa_verify_input {
	const tpa_ak *ak;     /* required: the enrolled AK */
	const uint8_t *nonce; /* required: what this verifier issued, 1..64 bytes */
	size_t nonce_len;
	const uint8_t *attest; /* required: TPMS_ATTEST of TPM2_Quote */
	size_t attest_len;
	const uint8_t *signature; /* required: its TPMT_SIGNATURE */
	size_t signature_len;
	const tpa_pcrs *pcrs;          /* required: the claimed PCR values; their (bank, PCR)
					      set is the selection the quote must sign */
	const tpa_eventlog *eventlog;  /* optional: must replay to the quoted values */
	const uint8_t *counter_attest; /* optional: TPMS_ATTEST of TPM2_NV_Certify */
	size_t counter_attest_len;
	const uint8_t *counter_signature; /* its TPMT_SIGNATURE */
	size_t counter_signature_len;
	/* optional: TPM2B_PUBLIC of the EK the AK was created under; the
	 * quote's qualifiedSigner must then be the AK's qualified name in the
	 * endorsement hierarchy */
	const uint8_t *ek_public;
	size_t ek_public_len;
	/* optional: the machine's last accepted state; with it the quote's clock
	 * is only trusted from an AK under the EK, so ek_public is required */
	const tpa_state *previous;
	const struct tpa_policy *policy; /* optional */
	unsigned require;                /* TPA_REQUIRE_*: inputs whose absence fails */
	/* the counter is the verifier-authorized kind: after the first, a
	 * counter is accepted only within (last, last + previous->counter_auths] */
	int counter_authorized;
	/* the counter is known (enrolled) to be the older kind: its check says so */
	int counter_older;
	/* optional, instead of eventlog: an earlier verification's memo, with
	 * the SHA-256 of the log it stands for and of the policy given (NULL:
	 * none); used only when its key is tpa_log_memo_key of these and pcrs */
	const tpa_log_memo *memo;
	const uint8_t *memo_log_sha256;
	const uint8_t *memo_policy_sha256;
} tpa_verify_input;

#define TPA_REQUIRE_EVENTLOG 0x1u
#define TPA_REQUIRE_COUNTER 0x2u
/* the quote's signer must be shown to be under the EK (ek_public) */
#define TPA_REQUIRE_SIGNER 0x4u
/* Accept an AK given as a bare public key (SubjectPublicKeyInfo), whose TPM
 * attributes cannot be checked, because enrollment already proved it a
 * restricted TPM key.  Without it such an AK fails the "ak" check. */
#define TPA_ALLOW_BARE_AK 0x8u

typedef enum tpa_check_status {
	TPA_CHECK_PASS = 0,
	TPA_CHECK_FAIL = 1,
	TPA_CHECK_NOT_RUN = 2, /* could not run: counts as a failure */
	TPA_CHECK_SKIPPED = 3, /* not asked for (an optional input was not given) */
} tpa_check_status;

typedef struct tpa_result tpa_result;

/*
 * Runs every check.  Returns TPA_OK only if all applicable checks passed;
 * otherwise the verdict error of the first failed check (TPA_E_BAD_SIGNATURE,
 * TPA_E_NONCE, TPA_E_SELECTION, TPA_E_PCR, TPA_E_REPLAY, TPA_E_ROLLBACK,
 * TPA_E_POLICY), TPA_E_MALFORMED for inputs that do not decode, or an
 * environment error.  *out is filled whenever a result could be built, so a
 * "no" always comes with its reasons.
 */
int tpa_verify(const tpa_verify_input *in, tpa_result **out);
void tpa_result_free(tpa_result **res);

int tpa_result_verdict(const tpa_result *res);
size_t tpa_result_count(const tpa_result *res);
/* Check i: a stable identifier (e.g. "pcr_selection"), its status, and a
 * human reason (never NULL). */
int tpa_result_check(const tpa_result *res, size_t i, const char **name, tpa_check_status *status,
                     const char **reason);
/* Status of the check with this identifier; TPA_E_NOT_FOUND if absent. */
int tpa_result_find(const tpa_result *res, const char *name, tpa_check_status *status,
                    const char **reason);
/* The state to remember when the verdict is TPA_OK (undefined otherwise). */
const tpa_state *tpa_result_next_state(const tpa_result *res);
/* The PCR values the quote covers (signed selection, digest checked);
 * NULL unless those checks passed. */
const tpa_pcrs *tpa_result_quoted_pcrs(const tpa_result *res);
/*
 * Bit k set: PCR k (k >= 8) of bank alg is quoted, not at its reset value,
 * and the event log has no event for it ("not covered by the event log",
 * e.g. IMA's PCR 10).  eventlog_replay does not fail on these; only a policy
 * rule on them can.  Known whenever the log was checked against the quote
 * (even if eventlog_replay then failed on another PCR); 0 otherwise and for
 * banks not quoted.
 */
uint32_t tpa_result_uncovered_pcrs(const tpa_result *res, uint16_t alg);
/*
 * The memo of this verification's log checks (see tpa_log_memo), for the
 * next one: only of a verification that passed (TPA_OK), whose log checks
 * ran on a log (not from a memo) or came from a memo (passed on as it is);
 * log_sha256 and policy_sha256 as for the key, pcrs the claimed values the
 * verification was given.  TPA_E_POLICY when the verification did not pass
 * or ran no log checks; TPA_E_NOMEM.
 */
int tpa_result_memo(const tpa_result *res, const uint8_t log_sha256[32],
                    const uint8_t *policy_sha256, const tpa_pcrs *pcrs, tpa_log_memo **out);

/* ---- one verification, as `tpmattest verify` and the server run it ---- */

struct tpa_evidence; /* <tpmattest/evidence.h> */

/* What a verifier knows of a machine before its evidence arrives. */
typedef struct tpa_machine {
	const tpa_ak *ak; /* required: the enrolled AK */
	/* TPM2B_PUBLIC of the EK the AK was created under.  NULL: rebuilt from
	 * the evidence's ECC EK certificate (tpmattest makes its AK under the
	 * default ECC EK), when it has one. */
	const uint8_t *ek_public;
	size_t ek_public_len;
	int trust_bare_ak; /* the AK is a bare public key that enrollment vetted */
	/* The enrolled counter's Name (nameAlg || H(TPMS_NV_PUBLIC), with
	 * TPMA_NV_WRITTEN), from the enrollment record.  When set, the certified
	 * counter and the signer under the EK are required, and the evidence's
	 * certified NV index must have this Name ("enrolled_counter"). */
	const uint8_t *counter_name;
	size_t counter_name_len;
	/* the enrolled counter is the verifier-authorized kind
	 * (tpa_enrollment.counter_authorized); with counter_name only */
	int counter_authorized;
} tpa_machine;

typedef struct tpa_verification {
	const struct tpa_evidence *evidence; /* required */
	/* the evidence's event log, parsed; NULL: parsed here from the evidence */
	const tpa_eventlog *eventlog;
	const tpa_machine *machine; /* required */
	const uint8_t *nonce;       /* required: what this verifier issued, 1..64 bytes */
	size_t nonce_len;
	const tpa_state *previous; /* the last accepted state; NULL for a first attestation */
	/* the next state will be remembered: the certified counter and a signer
	 * shown to be under the EK are then required */
	int keep_state;
	const struct tpa_policy *policy; /* optional; with it an event log is required */
	/* optional, instead of an event log (tpa_verify_input's memo): the
	 * evidence must then carry none */
	const tpa_log_memo *memo;
	const uint8_t *memo_log_sha256;
	const uint8_t *memo_policy_sha256; /* of policy; NULL without one */
} tpa_verification;

/*
 * One verification: the evidence's quote, counter certification, PCR
 * values and event log, the machine's AK and EK, the nonce, the last state
 * and the policy go in; which checks are required is decided here (a policy
 * needs the log; keeping state needs the certified counter and the signer
 * under the EK), so every caller decides alike.  Returns tpa_verify's
 * verdict with *out filled (tpa_result_next_state: the state to remember on
 * TPA_OK).  Evidence that cannot be used at all (no quote or PCR values, an
 * event log or EK certificate that does not decode) is TPA_E_MALFORMED (or
 * TPA_E_LIMIT) with the reason in why and *out NULL.
 */
int tpa_verify_evidence(const tpa_verification *v, tpa_result **out, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif

#endif
