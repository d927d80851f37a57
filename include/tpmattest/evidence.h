/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Evidence: what the attester sends a verifier, as one versioned JSON
 * document (docs/evidence.md describes every field).  The TPM structures are
 * kept exactly as the TPM produced them (marshalled bytes), so a verifier
 * checks signatures over the bytes that were signed, never over a
 * re-encoding.
 */
#ifndef TPMATTEST_EVIDENCE_H
#define TPMATTEST_EVIDENCE_H

#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the JSON document; bumped on any incompatible change. */
#define TPA_EVIDENCE_VERSION 1
/* Caps on what a document may hold (also checked when reading one). */
#define TPA_EVIDENCE_MAX_NONCE 64
#define TPA_EVIDENCE_MAX_PART (64u * 1024 * 1024)
/* A whole document: a 64 MiB event log in base64 (85.4 MiB) and the rest. */
#define TPA_EVIDENCE_JSON_MAX (96u * 1024 * 1024)
/* Values in it: the document has a fixed shape of a few dozen, and PCR
 * values (24 PCRs in up to 8 banks) are the largest part. */
#define TPA_EVIDENCE_JSON_MAX_VALUES 4096u

typedef struct tpa_evidence tpa_evidence;

/* The byte strings an evidence document carries. */
typedef enum tpa_evidence_part {
	TPA_PART_NONCE = 0,         /* the verifier's nonce, as given */
	TPA_PART_AK_PUBLIC,         /* TPM2B_PUBLIC of the AK (with its size prefix) */
	TPA_PART_AK_NAME,           /* TPM2B_NAME.name of the AK (nameAlg || digest) */
	TPA_PART_QUOTE_ATTEST,      /* TPMS_ATTEST of TPM2_Quote (TPM2B_ATTEST contents) */
	TPA_PART_QUOTE_SIGNATURE,   /* TPMT_SIGNATURE of TPM2_Quote */
	TPA_PART_COUNTER_NAME,      /* TPM2B_NAME.name of the NV counter index */
	TPA_PART_COUNTER_ATTEST,    /* TPMS_ATTEST of TPM2_NV_Certify */
	TPA_PART_COUNTER_SIGNATURE, /* TPMT_SIGNATURE of TPM2_NV_Certify */
	TPA_PART_EVENTLOG,          /* the binary UEFI event log, as read */
	TPA_PART_EK_RSA_CERT,       /* DER EK certificate from NV 0x01C00002 */
	TPA_PART_EK_ECC_CERT,       /* DER EK certificate from NV 0x01C0000A */
	TPA_PART_COUNT_
} tpa_evidence_part;

int tpa_evidence_new(tpa_evidence **out);
void tpa_evidence_free(tpa_evidence **ev);

/* Copies len bytes into the part (replacing what it held). */
int tpa_evidence_set(tpa_evidence *ev, tpa_evidence_part part, const uint8_t *data, size_t len);
/* Borrowed bytes of a part, NULL when absent. */
const uint8_t *tpa_evidence_get(const tpa_evidence *ev, tpa_evidence_part part, size_t *len);

/* Takes ownership of *pcrs (and NULLs it) on success. */
int tpa_evidence_set_pcrs(tpa_evidence *ev, tpa_pcrs **pcrs);
const tpa_pcrs *tpa_evidence_pcrs(const tpa_evidence *ev);

void tpa_evidence_set_handles(tpa_evidence *ev, uint32_t ak_handle, uint32_t nv_index);
uint32_t tpa_evidence_ak_handle(const tpa_evidence *ev);
uint32_t tpa_evidence_nv_index(const tpa_evidence *ev);
void tpa_evidence_set_counter(tpa_evidence *ev, uint64_t value);
uint64_t tpa_evidence_counter(const tpa_evidence *ev);
/* Free text naming the producer ("tpmattest 0.1.0"); copied. */
int tpa_evidence_set_tool(tpa_evidence *ev, const char *tool);
const char *tpa_evidence_tool(const tpa_evidence *ev);

/*
 * JSON form (docs/evidence.md).  to_json returns a malloc'd NUL-terminated
 * string.  from_json reads exactly len bytes (no NUL terminator needed) and
 * is strict, as docs/evidence.md "Strict reading" lists: anything but RFC
 * 8259 JSON, a NUL in any string, a member name twice in one object, an
 * unknown version or member, a missing required member (eventlog included:
 * null when there is none), base64 that is not canonical padded RFC 4648,
 * hex that is not lowercase, or wrong types are TPA_E_MALFORMED; what is
 * over a cap (size, depth, number range, part size) is TPA_E_LIMIT.  It
 * checks the shape of the document only, never what the TPM structures say.
 */
int tpa_evidence_to_json(const tpa_evidence *ev, int pretty, char **out);
int tpa_evidence_from_json(const char *json, size_t len, tpa_evidence **out);
/* The same, with the reason for a refusal in why (if non-NULL): the byte
 * offset for a JSON error, the member's path ("ak.public: ...") for the
 * rest.  Quotes none of the document's strings. */
int tpa_evidence_from_json_why(const char *json, size_t len, tpa_evidence **out, char *why,
                               size_t whylen);

#ifdef __cplusplus
}
#endif

#endif
