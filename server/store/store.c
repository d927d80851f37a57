/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The store interface (store.h) over its backends (store_impl.h): the
 * backend is chosen by the spec store_open is given, and every function
 * goes to the one the handle was opened with.  Also what all backends
 * share: the checks of arguments and the freeing of outputs.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/tpmattest.h>

#include "store.h"
#include "store_impl.h"

void sto_setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int sto_bad_arg(const char *what, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "%s", what);
	return TPA_E_INVALID_ARG;
}

int sto_id_ok(const char *id)
{
	size_t i;

	if (!id)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[64] == '\0';
}

int sto_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return 0;
	n = strnlen(name, STORE_NAME_MAX);
	return n >= 1 && n <= (STORE_NAME_MAX - 1);
}

int sto_policy_name_ok(const char *p)
{
	size_t i;

	if (!p)
		return 0;
	for (i = 0; p[i]; i++) {
		if (i >= STORE_POLICY_NAME_MAX - 1)
			return 0;
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '_' || p[i] == '-'))
			return 0;
	}
	return i > 0;
}

int sto_fits(const char *str, size_t size)
{
	return str && strnlen(str, size) < size;
}

int sto_attestation_ok(const store_attestation *a, char *why, size_t whylen)
{
	if (!a->nonce)
		return sto_bad_arg("an attestation without its nonce", why, whylen);
	if (!a->enrollment)
		return sto_bad_arg("an attestation without the enrollment it was verified against",
		                   why, whylen);
	if (!sto_id_ok(a->machine_id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (a->record && (!sto_fits(a->verdict, STORE_VERDICT_MAX) ||
	                  !sto_fits(a->error, STORE_ERROR_MAX) || !a->result_json))
		return sto_bad_arg("a verdict, error and result to record", why, whylen);
	if (a->eventlog && !a->eventlog_sha256)
		return sto_bad_arg("an event log without its SHA-256", why, whylen);
	/* the reset rides on the conditional update of the state or verdict:
	 * without one it would take effect with no condition at all */
	if (a->counter_auths_used < 0 ||
	    (a->counter_auths_used && !a->next_state_json && !a->record))
		return sto_bad_arg("a reset of the counter authorizations with no state or verdict "
		                   "to write",
		                   why, whylen);
	return TPA_OK;
}

int sto_counter_auth_ok(const char *id, const uint8_t *enrollment, const int64_t *auths_before,
                        char *const *state_json, char *why, size_t whylen)
{
	if (!enrollment || !auths_before || !state_json)
		return sto_bad_arg("no enrollment or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	return TPA_OK;
}

int sto_counter_key_make(char **pem, char *why, size_t whylen)
{
	tpa_counter_key *k = NULL;
	char *p = NULL;
	int r;

	r = tpa_counter_key_generate(&k);
	if (r == TPA_OK)
		r = tpa_counter_key_to_pem(k, &p);
	tpa_counter_key_free(&k);
	if (r != TPA_OK) {
		sto_setwhy(why, whylen, "no counter-authorization key could be made: %s",
		           tpa_strerror(r));
		return r == TPA_E_NOMEM ? TPA_E_NOMEM : TPA_E_CRYPTO;
	}
	*pem = p;
	return TPA_OK;
}

void sto_pem_free(char *pem)
{
	if (!pem)
		return;
	explicit_bzero(pem, strlen(pem));
	free(pem);
}

void store_machine_clear(store_machine *m)
{
	if (!m)
		return;
	free(m->record_json);
	free(m->state_json);
	memset(m, 0, sizeof(*m));
}

void store_pending_clear(store_pending *p)
{
	if (!p)
		return;
	if (p->pending_json) {
		/* it holds the enrollment secret */
		explicit_bzero(p->pending_json, strlen(p->pending_json));
		free(p->pending_json);
	}
	memset(p, 0, sizeof(*p));
}

void store_verdict_clear(store_verdict *v)
{
	if (!v)
		return;
	free(v->result_json);
	memset(v, 0, sizeof(*v));
}

/* ---- dispatch ---- */

static int is_postgres(const char *spec)
{
	return strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0;
}

int store_open(const char *spec, store **out, char *why, size_t whylen)
{
	if (!spec || !*spec || !out)
		return sto_bad_arg("no store given", why, whylen);
	if (is_postgres(spec)) {
#ifdef TPA_HAVE_POSTGRES
		return store_postgres_ops.open(spec, out, why, whylen);
#else
		sto_setwhy(why, whylen, "this build has no PostgreSQL store: give a file path");
		return TPA_E_UNSUPPORTED;
#endif
	}
	return store_sqlite_ops.open(spec, out, why, whylen);
}

void store_close(store **s)
{
	if (s && *s)
		(*s)->ops->close(s);
}

int store_schema_version(store *s, int *version)
{
	if (!s || !version)
		return TPA_E_INVALID_ARG;
	return s->ops->schema_version(s, version);
}

int store_attest_commit(store *s, const store_attestation *a, int64_t *seq, char *why,
                        size_t whylen)
{
	int64_t row = 0;
	int r, res = TPA_E_IO;

	if (!s || !a)
		return sto_bad_arg("no store or attestation", why, whylen);
	r = s->ops->attest_commit_many(s, a, 1, &res, &row, why, whylen);
	if (r != TPA_OK)
		return r;
	if (res == TPA_OK && a->record && seq)
		*seq = row;
	return res;
}

int store_ping(store *s, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->ping(s, why, whylen);
}

int store_machine_get(store *s, const char *id, store_machine *out, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_get(s, id, out, why, whylen);
}

int store_machine_get_light(store *s, const char *id, store_machine *out, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_get_light(s, id, out, why, whylen);
}

int store_machine_record(store *s, const char *id,
                         const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], char **record_json,
                         char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_record(s, id, enrollment, record_json, why, whylen);
}

int store_machine_list(store *s, const char *after_id, size_t limit, store_machine *out, size_t *n,
                       char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_list(s, after_id, limit, out, n, why, whylen);
}

int store_machine_delete(store *s, const char *id, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_delete(s, id, why, whylen);
}

int store_machine_set_policy(store *s, const char *id, const char *policy, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_set_policy(s, id, policy, why, whylen);
}

int store_eventlog_get(store *s, const char *id, const uint8_t sha256[32], uint8_t **log,
                       size_t *len, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->eventlog_get(s, id, sha256, log, len, why, whylen);
}

int store_pending_put(store *s, const store_pending *p, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->pending_put(s, p, why, whylen);
}

int store_pending_take(store *s, const uint8_t id[STORE_CHALLENGE_ID_LEN], store_pending *out,
                       char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->pending_take(s, id, out, why, whylen);
}

int store_machine_add(store *s, const char *id, const char *name, int64_t enrolled_at,
                      const char *record_json, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->machine_add(s, id, name, enrolled_at, record_json, why, whylen);
}

int store_nonce_key(store *s, uint8_t key[STORE_NONCE_KEY_LEN], char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->nonce_key(s, key, why, whylen);
}

int store_nonce_used(store *s, const uint8_t nonce[STORE_NONCE_LEN], char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->nonce_used(s, nonce, why, whylen);
}

int store_counter_auth_issue(store *s, const char *id,
                             const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                             int64_t *auths_before, char **state_json, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->counter_auth_issue(s, id, enrollment, auths_before, state_json, why, whylen);
}

int store_counter_key(store *s, char **pem, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->counter_key(s, pem, why, whylen);
}

int store_attest_commit_many(store *s, const store_attestation *a, size_t n, int *res, int64_t *seq,
                             char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->attest_commit_many(s, a, n, res, seq, why, whylen);
}

int store_history(store *s, const char *id, int64_t before, size_t limit, store_verdict *out,
                  size_t *n, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->history(s, id, before, limit, out, n, why, whylen);
}

int store_policy_put(store *s, const char *name, const char *doc, int64_t now, char *why,
                     size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->policy_put(s, name, doc, now, why, whylen);
}

int store_policy_get(store *s, const char *name, char **doc, int64_t *updated, char *why,
                     size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->policy_get(s, name, doc, updated, why, whylen);
}

int store_policy_list(store *s, char (*names)[STORE_POLICY_NAME_MAX], int64_t *updated,
                      size_t limit, size_t *n, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->policy_list(s, names, updated, limit, n, why, whylen);
}

int store_stats_get(store *s, int64_t now, store_stats *out, char *why, size_t whylen)
{
	if (!s)
		return sto_bad_arg("no store", why, whylen);
	return s->ops->stats_get(s, now, out, why, whylen);
}
