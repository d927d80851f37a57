/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest: TPM 2.0 measured-boot and remote-attestation library.
 *
 * One error space for the whole library.  Every function that can fail
 * returns an int that is TPA_OK (0) or one of the negative tpa_err values.
 * Only TPA_OK means "succeeded" (and, for a verification, "verified").
 * Details of a failed verification live in a result object, never in the
 * return value.  The library never prints and never exits.
 */
#ifndef TPMATTEST_TPMATTEST_H
#define TPMATTEST_TPMATTEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tpa_err {
	TPA_OK = 0,

	/* usage: the caller passed something the API cannot work with */
	TPA_E_INVALID_ARG = -1,
	TPA_E_UNSUPPORTED = -2,
	TPA_E_NOT_FOUND = -3,

	/* environment */
	TPA_E_NOMEM = -10,
	TPA_E_IO = -11,
	TPA_E_TPM = -12,
	TPA_E_CRYPTO = -13,

	/* malformed input */
	TPA_E_MALFORMED = -20,
	TPA_E_TRUNCATED = -21,
	TPA_E_TRAILING = -22,
	TPA_E_LIMIT = -23,

	/* verdict: a definite "no" */
	TPA_E_BAD_SIGNATURE = -30,
	TPA_E_NONCE = -31,
	TPA_E_SELECTION = -32,
	TPA_E_PCR = -33,
	TPA_E_REPLAY = -34,
	TPA_E_ROLLBACK = -35,
	TPA_E_POLICY = -36,
	TPA_E_MISMATCH = -37,
} tpa_err;

/* A static, human-readable description of an error code. */
const char *tpa_strerror(int err);

/* Error classes, in the order of the CLI's exit statuses. */
typedef enum tpa_err_class {
	TPA_CLASS_OK = 0,
	TPA_CLASS_VERDICT = 1,
	TPA_CLASS_USAGE = 2,
	TPA_CLASS_MALFORMED = 3,
	TPA_CLASS_ENVIRONMENT = 4,
} tpa_err_class;

tpa_err_class tpa_err_classify(int err);

/* TPM_ALG_ID values of the hash algorithms the library knows (TPM 2.0
 * Part 2, 6.3). */
enum {
	TPA_ALG_SHA1 = 0x0004,
	TPA_ALG_SHA256 = 0x000B,
	TPA_ALG_SHA384 = 0x000C,
	TPA_ALG_SHA512 = 0x000D,
	TPA_ALG_SM3_256 = 0x0012,
	TPA_ALG_SHA3_256 = 0x0027,
	TPA_ALG_SHA3_384 = 0x0028,
	TPA_ALG_SHA3_512 = 0x0029,
};

#define TPA_MAX_DIGEST 64
#define TPA_PCR_COUNT 24
#define TPA_MAX_BANKS 8

/* Digest size of a known hash algorithm, 0 when unknown. */
size_t tpa_alg_digest_size(uint16_t alg);
/* "sha256" etc., NULL when unknown. */
const char *tpa_alg_name(uint16_t alg);
/* Inverse of tpa_alg_name; accepts "sha256", "SHA256", "sha-256". */
int tpa_alg_from_name(const char *name, uint16_t *alg);
/* Whether this build can compute the algorithm (OpenSSL provider). */
int tpa_alg_supported(uint16_t alg);

/*
 * A set of PCR values, per bank.  Used for values replayed from an event
 * log, read from a TPM, or expected by a user.  A (bank, PCR) pair is either
 * absent, present with a value, or "incomplete": the log has events for that
 * PCR but not every one of them carries a digest in that bank, so no value is
 * claimed.
 */
typedef struct tpa_pcrs tpa_pcrs;

int tpa_pcrs_new(tpa_pcrs **out);
void tpa_pcrs_free(tpa_pcrs **pcrs);
/* Sets the value of (alg, pcr); len must be the algorithm's digest size. */
int tpa_pcrs_set(tpa_pcrs *pcrs, uint16_t alg, unsigned pcr, const uint8_t *value, size_t len);
/* Marks (alg, pcr) incomplete (it then has no value). */
int tpa_pcrs_set_incomplete(tpa_pcrs *pcrs, uint16_t alg, unsigned pcr);
/* TPA_OK and a borrowed pointer, TPA_E_NOT_FOUND when absent or incomplete. */
int tpa_pcrs_get(const tpa_pcrs *pcrs, uint16_t alg, unsigned pcr, const uint8_t **value,
                 size_t *len);
int tpa_pcrs_is_incomplete(const tpa_pcrs *pcrs, uint16_t alg, unsigned pcr);
size_t tpa_pcrs_bank_count(const tpa_pcrs *pcrs);
/* Banks in the order they were first set. */
uint16_t tpa_pcrs_bank_alg(const tpa_pcrs *pcrs, size_t i);

/*
 * JSON form, as DESIGN.md: {"pcrs":{"sha256":{"0":"hex",...},...}}.
 * tpa_pcrs_from_json also accepts the bare {"sha256":{...}} object, ignores
 * banks it does not know (reported in *unknown_banks if non-NULL), and
 * refuses anything else malformed.  It reads strict JSON (src/base/json.h), and
 * a bank given twice under two spellings is malformed.  tpa_pcrs_to_json returns a malloc'd
 * NUL-terminated string; incomplete pairs are listed under "incomplete".
 */
int tpa_pcrs_from_json(const char *json, size_t len, tpa_pcrs **out, size_t *unknown_banks);
int tpa_pcrs_to_json(const tpa_pcrs *pcrs, int pretty, char **out);

#ifdef __cplusplus
}
#endif

#endif
