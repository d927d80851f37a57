/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Between store.c and the backends (sqlite.c, postgres.c): the table of a
 * backend's functions, and the checks of arguments every backend shares.
 * Not for the server: it includes store.h only.
 *
 * store.c checks that s is not NULL before it calls a backend; each
 * backend checks the other arguments with the sto_* helpers below (so a
 * bound is the same in both) and keeps every rule of store.h.
 */
#ifndef TPA_SERVER_STORE_IMPL_H
#define TPA_SERVER_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_ops {
	int (*open)(const char *spec, store **out, char *why, size_t whylen);
	void (*close)(store **s);
	int (*ping)(store *s, char *why, size_t whylen);
	int (*schema_version)(store *s, int *version);
	int (*machine_get)(store *s, const char *id, store_machine *out, char *why, size_t whylen);
	int (*machine_get_light)(store *s, const char *id, store_machine *out, char *why,
	                         size_t whylen);
	int (*machine_record)(store *s, const char *id,
	                      const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], char **record_json,
	                      char *why, size_t whylen);
	int (*machine_list)(store *s, const char *after_id, size_t limit, store_machine *out,
	                    size_t *n, char *why, size_t whylen);
	int (*machine_delete)(store *s, const char *id, char *why, size_t whylen);
	int (*machine_set_policy)(store *s, const char *id, const char *policy, char *why,
	                          size_t whylen);
	int (*eventlog_get)(store *s, const char *id, const uint8_t sha256[32], uint8_t **log,
	                    size_t *len, char *why, size_t whylen);
	int (*pending_put)(store *s, const store_pending *p, char *why, size_t whylen);
	int (*pending_take)(store *s, const uint8_t id[STORE_CHALLENGE_ID_LEN], store_pending *out,
	                    char *why, size_t whylen);
	int (*machine_add)(store *s, const char *id, const char *name, int64_t enrolled_at,
	                   const char *record_json, char *why, size_t whylen);
	int (*nonce_key)(store *s, uint8_t key[STORE_NONCE_KEY_LEN], char *why, size_t whylen);
	int (*nonce_used)(store *s, const uint8_t nonce[STORE_NONCE_LEN], char *why, size_t whylen);
	int (*counter_auth_issue)(store *s, const char *id,
	                          const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
	                          int64_t *auths_before, char **state_json, char *why,
	                          size_t whylen);
	int (*counter_key)(store *s, char **pem, char *why, size_t whylen);
	int (*attest_commit_many)(store *s, const store_attestation *a, size_t n, int *res,
	                          int64_t *seq, char *why, size_t whylen);
	int (*history)(store *s, const char *id, int64_t before, size_t limit, store_verdict *out,
	               size_t *n, char *why, size_t whylen);
	int (*policy_put)(store *s, const char *name, const char *doc, int64_t now, char *why,
	                  size_t whylen);
	int (*policy_get)(store *s, const char *name, char **doc, int64_t *updated, char *why,
	                  size_t whylen);
	int (*policy_list)(store *s, char (*names)[STORE_POLICY_NAME_MAX], int64_t *updated,
	                   size_t limit, size_t *n, char *why, size_t whylen);
	int (*stats_get)(store *s, int64_t now, store_stats *out, char *why, size_t whylen);
};

/* Every handle starts with this (the backend's own struct embeds it first). */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;
#ifdef TPA_HAVE_POSTGRES
extern const struct store_ops store_postgres_ops;
#endif

/* How long a consumed nonce is kept past its expiry before a commit drops
 * it.  An attestation checks its nonce's expiry at the clock it read when
 * it started: dropped at a later commit's clock, the nonce of one still
 * being read would be found unconsumed and taken again (a quote judged
 * FAIL re-sent with another log: tests/attack/test-nonce-purge.sh).  And a
 * server whose clock is behind another's by less than this (several
 * servers on one database) still finds it consumed.  docs/api.md. */
#define STORE_NONCE_GRACE 300

__attribute__((format(printf, 3, 4))) void sto_setwhy(char *why, size_t whylen, const char *fmt,
                                                      ...);
/* TPA_E_INVALID_ARG, why = what */
int sto_bad_arg(const char *what, char *why, size_t whylen);
/* 64 lowercase hex digits, what every machine id is */
int sto_id_ok(const char *id);
/* 1..STORE_NAME_MAX - 1 bytes */
int sto_name_ok(const char *name);
/* docs/api.md: 1..64 of [A-Za-z0-9._-] */
int sto_policy_name_ok(const char *p);
/* str is not NULL and shorter than size */
int sto_fits(const char *str, size_t size);
/* What store_attest_commit refuses before it touches the store. */
int sto_attestation_ok(const store_attestation *a, char *why, size_t whylen);
/* What store_counter_auth_issue refuses before it touches the store. */
int sto_counter_auth_ok(const char *id, const uint8_t *enrollment, const int64_t *auths_before,
                        char *const *state_json, char *why, size_t whylen);
/* A key made for a new schema version 3: tpa_counter_key_generate as PEM
 * (*pem malloc'd, the caller cleanses and frees it), or TPA_E_CRYPTO /
 * TPA_E_NOMEM with why. */
int sto_counter_key_make(char **pem, char *why, size_t whylen);
/* Wipes and frees a PEM key (NULL: nothing). */
void sto_pem_free(char *pem);

#endif
