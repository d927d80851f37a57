/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server's store: one interface, backends behind it (SQLite now, the
 * embedded default; PostgreSQL later).  Everything the server must not
 * forget lives here: machines and their last state, pending enrollments,
 * the key nonces are made with and the nonces consumed, the key counter
 * increments are authorized with and how many were, policies, the
 * append-only verdict history.
 *
 * Rules every backend keeps:
 *  - Every statement is parameterized; no caller string reaches SQL text.
 *  - Each function is one transaction, durable when it returns
 *    (SQLite: WAL, synchronous=FULL).  store_attest_commit consumes the
 *    nonce, appends the verdict and stores the next state in one
 *    transaction; it writes only when the machine's enrollment and state
 *    generation are still the ones the caller verified against (a
 *    conditional update, never read-then-write), so two racing
 *    attestations cannot both win, and a verdict judged before a policy
 *    change or a re-enrollment is not committed after it.
 *  - Returns TPA_OK, TPA_E_NOT_FOUND, TPA_E_MISMATCH (a condition did not
 *    hold: nonce gone, generation moved, name or EK taken), TPA_E_LIMIT, or
 *    TPA_E_IO (the store failed; why says how).  Outputs are untouched on
 *    failure.  Also TPA_E_INVALID_ARG for an argument out of its bounds
 *    (a machine id that is not 64 lowercase hex digits, a name that is not
 *    1..256 bytes, a policy name that is not 1..64 of [A-Za-z0-9._-], a
 *    verdict or error longer than its field), TPA_E_NOMEM.
 *  - A nonce or a pending challenge is expired at now when expires < now:
 *    expires itself is the last second it is good for.
 *  - Single-threaded use per handle; several handles on one store may be
 *    used at once from several threads (the server's workers read on
 *    their own handles while its committer writes on another).
 */
#ifndef TPA_SERVER_STORE_H
#define TPA_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <tpmattest/tpmattest.h>

#define STORE_ID_HEX 65    /* 64 hex digits and NUL: a machine id */
#define STORE_NAME_MAX 257 /* a machine name: 1..256 bytes and NUL */
#define STORE_POLICY_NAME_MAX 65
#define STORE_NONCE_LEN 32
#define STORE_CHALLENGE_ID_LEN 16
#define STORE_VERDICT_MAX 16 /* "pass", "fail" */
#define STORE_ERROR_MAX 64   /* tpa_strerror name of the verdict */
#define STORE_NONCE_KEY_LEN 32
#define STORE_ENROLLMENT_ID_LEN 16
#define STORE_SCHEMA_VERSION 3
/* Pending enrollments: per EK (the oldest dropped beyond) and overall
 * (TPA_E_LIMIT beyond). */
#define STORE_PENDING_PER_MACHINE 4
#define STORE_PENDING_MAX 10000

typedef struct store store;

/* A machine as stored.  Strings are NUL-terminated; blobs malloc'd and
 * freed by store_machine_clear. */
typedef struct store_machine {
	char id[STORE_ID_HEX];
	char name[STORE_NAME_MAX]; /* "" when none */
	int has_name;
	int64_t enrolled_at;
	/* random, made by store_machine_add: another for every enrollment of
	 * the same EK (nonces are bound to it) */
	uint8_t enrollment[STORE_ENROLLMENT_ID_LEN];
	char *record_json;                  /* the enrollment record (tpa_enrollment_to_json) */
	char policy[STORE_POLICY_NAME_MAX]; /* "" when none assigned */
	/* tpa_state_to_json of the last accepted state, NULL before the first */
	char *state_json;
	/* 0 at enrollment, +1 by every state change, by every assignment of a
	 * policy and by every PUT of the policy assigned */
	int64_t state_gen;
	/* last verdict, "" before the first */
	char last_verdict[STORE_VERDICT_MAX];
	char last_error[STORE_ERROR_MAX];
	int64_t last_at;
	int64_t last_seq;
	/* SHA-256 of the event log held for the machine (has_eventlog) */
	int has_eventlog;
	uint8_t eventlog_sha256[32];
	/* the verifier's authorizations of a counter increment issued to this
	 * enrollment since its last accepted state was stored with
	 * counter_auths_used taken off (store_counter_auth_issue); 0 at
	 * enrollment */
	int64_t counter_auths;
} store_machine;

void store_machine_clear(store_machine *m);

/* What an enrollment keeps between challenge and activation. */
typedef struct store_pending {
	uint8_t id[STORE_CHALLENGE_ID_LEN];
	char machine_id[STORE_ID_HEX];
	char name[STORE_NAME_MAX];
	int has_name;
	int64_t expires;
	char *pending_json; /* tpa_enroll_pending_to_json: holds the secret */
} store_pending;

void store_pending_clear(store_pending *p);

/* One row of the history. */
typedef struct store_verdict {
	int64_t seq;
	int64_t at;
	char verdict[STORE_VERDICT_MAX];
	char error[STORE_ERROR_MAX];
	char *result_json; /* the verdict document the attester got */
} store_verdict;

/* What store_attest_commit records. */
typedef struct store_attestation {
	const char *machine_id;
	/* STORE_ENROLLMENT_ID_LEN bytes: the enrollment of the machine that
	 * was verified against; another (deleted and enrolled again since) is
	 * TPA_E_MISMATCH and nothing is written */
	const uint8_t *enrollment;
	/* STORE_NONCE_LEN bytes, consumed here: kept until nonce_expires (the
	 * caller checked its MAC and that it has not expired); when it was
	 * consumed already, TPA_E_MISMATCH and nothing is written */
	const uint8_t *nonce;
	int64_t nonce_expires;
	int64_t now;
	int record;          /* append to history and set the last verdict */
	const char *verdict; /* "pass" / "fail" */
	const char *error;   /* "" on pass */
	const char *result_json;
	/* the machine's state_gen when it was read for the verification:
	 * written only if it still is (else TPA_E_MISMATCH, nothing written),
	 * so neither a state accepted meanwhile nor a policy assigned or
	 * replaced meanwhile is overtaken by a verdict judged before it */
	int64_t expect_gen;
	/* on pass: the next state */
	const char *next_state_json; /* NULL: the state does not change */
	/* the event log to hold from now on (NULL: keep what is held) */
	const uint8_t *eventlog;
	size_t eventlog_len;
	const uint8_t *eventlog_sha256; /* 32 bytes, with eventlog */
	/* taken off the machine's counter_auths (never below 0), in the same
	 * conditional update that writes the state or the verdict (so only
	 * when this attestation takes effect): the authorizations the newly
	 * accepted counter used up (its value minus the last one's); those
	 * still outstanding stay counted.  0..INT64_MAX; with neither
	 * next_state_json nor record there is no such update, and a non-zero
	 * value is TPA_E_INVALID_ARG. */
	int64_t counter_auths_used;
} store_attestation;

/* Counts for /metrics and /healthz. */
typedef struct store_stats {
	int64_t machines;
	int64_t nonces; /* consumed and kept, not yet expired */
	int64_t pending;
} store_stats;

/*
 * Opens (creating, migrating to STORE_SCHEMA_VERSION) the store at spec: a
 * file path is SQLite.  A database with a newer schema than this build
 * knows is refused (TPA_E_UNSUPPORTED).
 */
int store_open(const char *spec, store **out, char *why, size_t whylen);
void store_close(store **s);
/* A cheap query: TPA_OK when the store answers. */
int store_ping(store *s, char *why, size_t whylen);
int store_schema_version(store *s, int *version);

/* ---- machines ---- */

int store_machine_get(store *s, const char *id, store_machine *out, char *why, size_t whylen);
/* The same without the enrollment record (record_json NULL): what an
 * attestation reads each time when it holds the record parsed already. */
int store_machine_get_light(store *s, const char *id, store_machine *out, char *why, size_t whylen);
/* The enrollment record (malloc'd) of that enrollment of the machine:
 * TPA_E_NOT_FOUND when the machine is gone or enrolled again since. */
int store_machine_record(store *s, const char *id,
                         const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], char **record_json,
                         char *why, size_t whylen);
/* Machines in id order, after after_id ("" for the first page), at most
 * limit; *n set.  out is an array the caller clears element by element. */
int store_machine_list(store *s, const char *after_id, size_t limit, store_machine *out, size_t *n,
                       char *why, size_t whylen);
/* TPA_E_NOT_FOUND when there is none; the history stays. */
int store_machine_delete(store *s, const char *id, char *why, size_t whylen);
/* policy "" unassigns; TPA_E_NOT_FOUND for no such machine or policy. */
int store_machine_set_policy(store *s, const char *id, const char *policy, char *why,
                             size_t whylen);
/* The event log held for the machine (malloc'd), when its hash is sha256. */
int store_eventlog_get(store *s, const char *id, const uint8_t sha256[32], uint8_t **log,
                       size_t *len, char *why, size_t whylen);

/* ---- enrollment ---- */

/* Keeps a pending challenge.  TPA_E_MISMATCH with why when machine_id is
 * enrolled already, or the name belongs to another machine (why says
 * which: it starts with "already enrolled" or "name taken").  Drops the
 * pending challenges expired at time(NULL) (the one place the store reads
 * the clock).  Beyond STORE_PENDING_PER_MACHINE for this EK the oldest is
 * dropped; at STORE_PENDING_MAX overall, TPA_E_LIMIT. */
int store_pending_put(store *s, const store_pending *p, char *why, size_t whylen);
/* Takes the pending challenge out (deleted whatever follows: one try).
 * TPA_E_NOT_FOUND when there is none.  An expired one is returned as well
 * (if no put dropped it first): the caller checks expires. */
int store_pending_take(store *s, const uint8_t id[STORE_CHALLENGE_ID_LEN], store_pending *out,
                       char *why, size_t whylen);
/* The machine, from an enrollment record.  TPA_E_MISMATCH when the id is
 * enrolled already or the name was taken meanwhile (why as above). */
int store_machine_add(store *s, const char *id, const char *name /* NULL: none */,
                      int64_t enrolled_at, const char *record_json, char *why, size_t whylen);

/* ---- nonces ----
 *
 * The server makes nonces it recognises without storing them (a MAC with
 * the store's nonce key over the machine and the expiry, server/nonce.c),
 * so asking for one writes nothing; the store keeps only the nonces
 * consumed, each until it expires, so none is accepted twice.
 */

/* The nonce key: STORE_NONCE_KEY_LEN random bytes (OpenSSL's DRBG) made
 * when the schema is created or migrated to version 2, the same for every
 * handle and every server on the store.  TPA_E_IO when unreadable, or
 * TPA_E_MISMATCH with why when the stored key is not 32 bytes. */
int store_nonce_key(store *s, uint8_t key[STORE_NONCE_KEY_LEN], char *why, size_t whylen);
/* TPA_OK when the nonce has not been consumed (or was consumed and expired
 * and dropped: its caller refuses expired nonces first); TPA_E_MISMATCH
 * when it has. */
int store_nonce_used(store *s, const uint8_t nonce[STORE_NONCE_LEN], char *why, size_t whylen);

/* ---- counter authorizations (<tpmattest/counterauth.h>) ---- */

/* The most authorizations counted for one machine: beyond, TPA_E_LIMIT. */
#define STORE_COUNTER_AUTHS_MAX (INT64_MAX - 1)

/* One more verifier authorization of a counter increment, issued to this
 * enrollment of the machine: counter_auths + 1 in one statement (a
 * conditional UPDATE on id and enrollment, never read-then-write), durable
 * when it returns.  *auths_before gets the count before this one, and
 * *state_json (malloc'd; NULL before the first accepted state) the
 * machine's last accepted state, both as that same statement saw them, so
 * the caller's authorization bounds agree with the count.  TPA_E_NOT_FOUND
 * when the machine is gone or enrolled again since (another enrollment id).
 * TPA_E_LIMIT when the count would pass STORE_COUNTER_AUTHS_MAX (nothing
 * written).  Does not move state_gen. */
int store_counter_auth_issue(store *s, const char *id,
                             const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                             int64_t *auths_before, char **state_json, char *why, size_t whylen);
/* The verifier's counter-authorization key, a PEM private key (malloc'd,
 * NUL-terminated; the caller cleanses and frees it), the same for every
 * handle and server on the store: made (tpa_counter_key_generate) when the
 * schema is created or migrated to version 3.  TPA_E_IO when unreadable,
 * TPA_E_MISMATCH when absent. */
int store_counter_key(store *s, char **pem, char *why, size_t whylen);

/* ---- attestations ---- */

/* One transaction (see store_attestation).  *seq gets the history row's
 * number when recorded.  Also drops the consumed nonces expired at a->now. */
int store_attest_commit(store *s, const store_attestation *a, int64_t *seq, char *why,
                        size_t whylen);
/*
 * Group commit: n attestations (1..STORE_BATCH_MAX) in one transaction and
 * one durable commit, each in its own savepoint, so each takes effect or
 * not exactly as store_attest_commit alone would (one whose nonce was
 * consumed or whose machine's state moved, by an earlier one of the batch
 * too, is TPA_E_MISMATCH and writes nothing; the others stand).  res[i] and
 * seq[i] get each one's outcome and history row.  Returns TPA_OK when the
 * transaction committed: res[] then says which took effect.  Any other
 * return (TPA_E_IO: the disk full, the database locked beyond the busy
 * timeout) means nothing of the batch was written, and every res[i] is set
 * to it; why says how.
 */
#define STORE_BATCH_MAX 256
int store_attest_commit_many(store *s, const store_attestation *a, size_t n, int *res, int64_t *seq,
                             char *why, size_t whylen);
/* History newest first, rows with seq < before (0: from the newest), at
 * most limit.  The rows of a deleted machine stay; an id with none gives
 * TPA_OK and *n = 0 (the caller tells an unknown machine by
 * store_machine_get). */
int store_history(store *s, const char *id, int64_t before, size_t limit, store_verdict *out,
                  size_t *n, char *why, size_t whylen);
void store_verdict_clear(store_verdict *v);

/* ---- policies ---- */

int store_policy_put(store *s, const char *name, const char *doc, int64_t now, char *why,
                     size_t whylen);
/* *doc malloc'd; *updated may be NULL. */
int store_policy_get(store *s, const char *name, char **doc, int64_t *updated, char *why,
                     size_t whylen);
/* Names in order, at most limit (each STORE_POLICY_NAME_MAX), with when stored. */
int store_policy_list(store *s, char (*names)[STORE_POLICY_NAME_MAX], int64_t *updated,
                      size_t limit, size_t *n, char *why, size_t whylen);

int store_stats_get(store *s, int64_t now, store_stats *out, char *why, size_t whylen);

#endif
