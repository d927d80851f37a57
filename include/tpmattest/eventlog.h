/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TCG PC Client Platform Firmware Profile event logs (PFP 1.05, section 10):
 * the SHA-1 format (TCG_PCR_EVENT records) and the crypto-agile format (a
 * TCG_PCR_EVENT carrying the Spec ID Event03, then TCG_PCR_EVENT2 records).
 *
 * Pure: bytes in, records, decoded fields and PCR values out.  No TPM, no
 * files, no logging.
 */
#ifndef TPMATTEST_EVENTLOG_H
#define TPMATTEST_EVENTLOG_H

#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caps on what an untrusted log may make the parser do.  Real firmware logs
 * are tens of kilobytes with a few hundred events; these leave ample room. */
#define TPA_EVENTLOG_MAX_SIZE (64u * 1024 * 1024)
#define TPA_EVENTLOG_MAX_EVENTS 200000u
#define TPA_EVENTLOG_MAX_EVENT_SIZE (16u * 1024 * 1024)
#define TPA_EVENTLOG_MAX_ALGS 16u

/* Event types (PFP 1.05, 10.4.1). */
enum {
	TPA_EV_PREBOOT_CERT = 0x0,
	TPA_EV_POST_CODE = 0x1,
	TPA_EV_UNUSED = 0x2,
	TPA_EV_NO_ACTION = 0x3,
	TPA_EV_SEPARATOR = 0x4,
	TPA_EV_ACTION = 0x5,
	TPA_EV_EVENT_TAG = 0x6,
	TPA_EV_S_CRTM_CONTENTS = 0x7,
	TPA_EV_S_CRTM_VERSION = 0x8,
	TPA_EV_CPU_MICROCODE = 0x9,
	TPA_EV_PLATFORM_CONFIG_FLAGS = 0xa,
	TPA_EV_TABLE_OF_DEVICES = 0xb,
	TPA_EV_COMPACT_HASH = 0xc,
	TPA_EV_IPL = 0xd,
	TPA_EV_IPL_PARTITION_DATA = 0xe,
	TPA_EV_NONHOST_CODE = 0xf,
	TPA_EV_NONHOST_CONFIG = 0x10,
	TPA_EV_NONHOST_INFO = 0x11,
	TPA_EV_OMIT_BOOT_DEVICE_EVENTS = 0x12,
	TPA_EV_POST_CODE2 = 0x13,
	TPA_EV_EFI_EVENT_BASE = 0x80000000,
	TPA_EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001,
	TPA_EV_EFI_VARIABLE_BOOT = 0x80000002,
	TPA_EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003,
	TPA_EV_EFI_BOOT_SERVICES_DRIVER = 0x80000004,
	TPA_EV_EFI_RUNTIME_SERVICES_DRIVER = 0x80000005,
	TPA_EV_EFI_GPT_EVENT = 0x80000006,
	TPA_EV_EFI_ACTION = 0x80000007,
	TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000008,
	TPA_EV_EFI_HANDOFF_TABLES = 0x80000009,
	TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000a,
	TPA_EV_EFI_HANDOFF_TABLES2 = 0x8000000b,
	TPA_EV_EFI_VARIABLE_BOOT2 = 0x8000000c,
	TPA_EV_EFI_GPT_EVENT2 = 0x8000000d,
	TPA_EV_EFI_HCRTM_EVENT = 0x80000010,
	TPA_EV_EFI_VARIABLE_AUTHORITY = 0x800000e0,
	TPA_EV_EFI_SPDM_FIRMWARE_BLOB = 0x800000e1,
	TPA_EV_EFI_SPDM_FIRMWARE_CONFIG = 0x800000e2,
};

/* "EV_SEPARATOR" etc., NULL for unknown types. */
const char *tpa_event_type_name(uint32_t type);

typedef enum tpa_eventlog_format {
	TPA_EVENTLOG_SHA1 = 1,        /* TCG_PCR_EVENT records only */
	TPA_EVENTLOG_CRYPTO_AGILE = 2 /* Spec ID Event03 + TCG_PCR_EVENT2 */
} tpa_eventlog_format;

/* Whether an event's digests are the hash of its data. */
typedef enum tpa_digest_check {
	TPA_DIGEST_NOT_APPLICABLE = 0, /* the type does not define the digest as H(data) */
	TPA_DIGEST_VERIFIED = 1,       /* every digest of a known bank equals H(data) */
	TPA_DIGEST_MISMATCH = 2,       /* at least one does not */
} tpa_digest_check;

typedef struct tpa_eventlog tpa_eventlog;
typedef struct tpa_event tpa_event;

/* Where and why a parse failed. */
typedef struct tpa_parse_error {
	size_t offset;    /* byte offset in the log of the offending field */
	size_t event;     /* index of the record being parsed */
	char reason[160]; /* NUL-terminated, no newline */
} tpa_parse_error;

/*
 * Parses a whole log.  The log keeps its own copy of the bytes.  On failure
 * returns TPA_E_MALFORMED, TPA_E_TRUNCATED, TPA_E_TRAILING or TPA_E_LIMIT,
 * fills *err if non-NULL, and leaves *out untouched.
 *
 * End of log: a record with type 0 and size 0, or an all-zero tail (as
 * firmware tables are zero-filled).  Bytes after a type-0/size-0 record must
 * also be zero.  Any other leftover is malformed.
 */
int tpa_eventlog_parse(const uint8_t *buf, size_t len, tpa_eventlog **out, tpa_parse_error *err);
void tpa_eventlog_free(tpa_eventlog **log);

tpa_eventlog_format tpa_eventlog_get_format(const tpa_eventlog *log);
/* Bytes consumed by records, including the Spec ID header record. */
size_t tpa_eventlog_size(const tpa_eventlog *log);
/* Number of records after the Spec ID header (for SHA-1 logs: all records). */
size_t tpa_eventlog_count(const tpa_eventlog *log);
const tpa_event *tpa_eventlog_get(const tpa_eventlog *log, size_t i);

/* Algorithms the header declares (SHA-1 logs: just SHA-1), in header
 * order, including ones this library cannot compute. */
size_t tpa_eventlog_alg_count(const tpa_eventlog *log);
uint16_t tpa_eventlog_alg(const tpa_eventlog *log, size_t i);
uint16_t tpa_eventlog_alg_size(const tpa_eventlog *log, size_t i);
/* Spec ID header fields; 0 for SHA-1 logs. */
uint32_t tpa_eventlog_platform_class(const tpa_eventlog *log);
void tpa_eventlog_spec_version(const tpa_eventlog *log, uint8_t *major, uint8_t *minor,
                               uint8_t *errata);

size_t tpa_event_index(const tpa_event *ev);
size_t tpa_event_offset(const tpa_event *ev);
uint32_t tpa_event_pcr(const tpa_event *ev);
uint32_t tpa_event_type(const tpa_event *ev);
const uint8_t *tpa_event_data(const tpa_event *ev, size_t *len);
/* Borrowed digest in bank alg, NULL when the record carries none. */
const uint8_t *tpa_event_digest(const tpa_event *ev, uint16_t alg, size_t *len);
/* Computed on the first call and remembered (safe from several threads);
 * a digest that cannot be computed reads as TPA_DIGEST_MISMATCH. */
tpa_digest_check tpa_event_digest_check(const tpa_event *ev);
/* Computes every event's digest check at once (cheaper than one by one when
 * all are wanted, as `eventlog show` does). */
void tpa_eventlog_check_digests(const tpa_eventlog *log);

/*
 * Replay: the PCR values the log yields, per bank the library can compute.
 * EV_NO_ACTION never extends.  A StartupLocality EV_NO_ACTION event in PCR0
 * before PCR0's first extend sets PCR0's initial value to 00..00||locality;
 * an EV_EFI_HCRTM_EVENT first in PCR0 means the H-CRTM sequence ran, so
 * PCR0 started at 00..04.  Only PCRs that have events get a value; a PCR
 * with an event lacking that bank's digest is marked incomplete.
 */
int tpa_eventlog_replay(const tpa_eventlog *log, tpa_pcrs **out);
/* The same, for the listed banks only (a verifier needs the quoted ones). */
int tpa_eventlog_replay_banks(const tpa_eventlog *log, const uint16_t *algs, size_t nalgs,
                              tpa_pcrs **out);

/* Why PCR0 starts where it does: 0, 3 (StartupLocality 3) or 4 (H-CRTM). */
int tpa_eventlog_pcr0_locality(const tpa_eventlog *log);

/*
 * Explains a PCR5 mismatch: 1 when the log has no "Exit Boot Services"
 * EV_EFI_ACTION events and appending the two the firmware should have logged
 * turns the replayed PCR5 in bank alg into `expected`.  An explanation only:
 * the mismatch stands.
 */
int tpa_eventlog_ebs_missing(const tpa_eventlog *log, uint16_t alg, const uint8_t *expected,
                             size_t len);

/* ---- decoded event data (PFP 1.05, 10.2 and 10.4) ---- */

typedef enum tpa_field_kind {
	TPA_FIELD_STRING = 1, /* UTF-8, NUL-terminated */
	TPA_FIELD_UINT = 2,
	TPA_FIELD_HEX = 3,    /* bytes, printed as hex */
	TPA_FIELD_GUID = 4,   /* 16 bytes in EFI_GUID (mixed-endian) order */
	TPA_FIELD_OBJECT = 5, /* a nested list of fields */
	TPA_FIELD_ARRAY = 6,  /* a list of objects or values, names unused */
} tpa_field_kind;

typedef struct tpa_field tpa_field;
struct tpa_field {
	const char *name;
	tpa_field_kind kind;
	char *str;      /* STRING */
	uint64_t u;     /* UINT */
	uint8_t *bytes; /* HEX, GUID */
	size_t len;
	tpa_field *child; /* OBJECT, ARRAY: first child */
	tpa_field *next;  /* sibling */
	tpa_field *last_; /* internal: last child, for appending in constant time */
};

/*
 * Decodes an event's data into a tree of named fields.  Unknown types, and
 * data a decoder cannot read completely, decode to a single "raw" hex field
 * (and "decode_error" with the reason); a decode failure is never an error
 * of the call.  Free with tpa_fields_free.
 */
int tpa_event_decode(const tpa_event *ev, tpa_field **out);
/* Flags for tpa_event_decode_ex. */
#define TPA_DECODE_NO_X509 0x1u /* certificates get their SHA-256 only, no subject/issuer */
int tpa_event_decode_ex(const tpa_event *ev, unsigned flags, tpa_field **out);
void tpa_fields_free(tpa_field **f);
/* First child of obj named name, NULL if none. */
const tpa_field *tpa_field_get(const tpa_field *obj, const char *name);
/* Formats a 16-byte EFI_GUID as 8-4-4-4-12 text. */
void tpa_guid_to_string(const uint8_t guid[static 16], char out[static 37]);

#ifdef __cplusplus
}
#endif

#endif
