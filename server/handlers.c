/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The API (docs/api.md).  Each handler reads its request with the strict
 * readers, calls the library for every decision (enrollment:
 * tpa_enroll_challenge_make and tpa_enroll_finish; attestation:
 * tpa_verify_evidence), commits what must not be forgotten in one store
 * transaction, and only then answers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tpmattest/enroll.h>
#include <tpmattest/evidence.h>
#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"
#include "page.h"
#include "server.h"
#include "verifier/result_json.h"

#define JSON_OUT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void reply_obj(srv *s, struct evhttp_request *req, int code, struct json_object *o)
{
	const char *txt = o ? json_object_to_json_string_ext(o, JSON_OUT) : NULL;
	if (!txt)
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
	else
		srv_reply_json(s, req, code, txt);
	json_object_put(o);
}

static void reply_store_error(srv *s, struct evhttp_request *req, const char *why)
{
	srv_reply_error(s, req, 503, "store", NULL, "the store failed, nothing was recorded: %s",
	                why);
}

static struct json_object *jstr_or_null(int has, const char *str)
{
	return has ? json_object_new_string(str) : NULL;
}

/* ---- caches: parsed policies and event logs ---- */

static int load_machine_light(srv *s, struct evhttp_request *req, const char *id, store_machine *m);

static const tpa_policy *policy_for(srv *s, const char *name, uint8_t digest_out[32], char *why,
                                    size_t whylen, int *err)
{
	struct srv_policy_slot *slot = NULL, *victim = &s->policies[0];
	char *doc = NULL;
	uint8_t digest[32];
	tpa_policy *p = NULL;
	int r;

	*err = TPA_OK;
	/* The stored document may have been replaced since it was parsed, in
	 * the same second too: the cache is keyed by the document's digest. */
	if ((r = store_policy_get(s->st, name, &doc, NULL, why, whylen)) != TPA_OK) {
		*err = r;
		return NULL;
	}
	if ((r = tpa_hash(TPA_ALG_SHA256, (const uint8_t *)doc, strlen(doc), digest)) != TPA_OK) {
		free(doc);
		*err = r;
		snprintf(why, whylen, "cannot hash the policy");
		return NULL;
	}
	for (size_t i = 0; i < SRV_POLICY_CACHE; i++) {
		struct srv_policy_slot *e = &s->policies[i];
		if (e->policy && strcmp(e->name, name) == 0 &&
		    CRYPTO_memcmp(e->digest, digest, sizeof(digest)) == 0) {
			slot = e;
			break;
		}
		if (!e->policy || e->used < victim->used)
			victim = e;
	}
	memcpy(digest_out, digest, sizeof(digest));
	if (slot) {
		free(doc);
		slot->used = ++s->tick;
		return slot->policy;
	}
	r = tpa_policy_from_json(doc, strlen(doc), &p, why, whylen);
	free(doc);
	if (r != TPA_OK) {
		*err = r;
		return NULL;
	}
	tpa_policy_free(&victim->policy);
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	memcpy(victim->digest, digest, sizeof(digest));
	victim->policy = p;
	victim->used = ++s->tick;
	return p;
}

static struct srv_eventlog_slot *log_slot(srv *s, const char *machine)
{
	struct srv_eventlog_slot *victim = &s->logs[0];
	for (size_t i = 0; i < s->n_logs; i++) {
		struct srv_eventlog_slot *e = &s->logs[i];
		if (e->log && strcmp(e->machine, machine) == 0)
			return e;
		if (!e->log || e->used < victim->used)
			victim = e;
	}
	tpa_eventlog_free(&victim->log);
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->machine, sizeof(victim->machine), "%s", machine);
	return victim;
}

static void log_forget(srv *s, const char *machine)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (s->logs[i].log && strcmp(s->logs[i].machine, machine) == 0) {
			tpa_eventlog_free(&s->logs[i].log);
			memset(&s->logs[i], 0, sizeof(s->logs[i]));
		}
}

/* The machine's enrollment record as an attestation needs it (the AK
 * parsed, the EK public area, the counter's Name) and the memo of its last
 * log checks: a 2-way set-associative cache keyed by the machine and its
 * enrollment id, so a machine enrolled again never meets its old entry. */
static unsigned mslot_set(const srv *s, const char *id)
{
	/* the id is SHA-256 in hex: its first digits are uniform */
	unsigned h = 0;
	for (int i = 0; i < 8; i++)
		h = h << 4 | (unsigned)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	return (unsigned)(h % (s->n_machines / 2));
}

static void mslot_clear(struct srv_machine_slot *e)
{
	tpa_ak_free(&e->ak);
	tpa_log_memo_free(&e->memo);
	free(e->ek_public);
	memset(e, 0, sizeof(*e));
}

static struct srv_machine_slot *mslot_find(srv *s, const char *id,
                                           const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN])
{
	struct srv_machine_slot *set = &s->machines[2 * mslot_set(s, id)];
	for (int i = 0; i < 2; i++)
		if (set[i].ak && strcmp(set[i].id, id) == 0 &&
		    memcmp(set[i].enrollment, enrollment, STORE_ENROLLMENT_ID_LEN) == 0) {
			set[i].used = ++s->tick;
			return &set[i];
		}
	return NULL;
}

/* The slot for the machine, read from the store and parsed on a miss.  0,
 * or -1 after answering. */
static int mslot_get(srv *s, struct evhttp_request *req, const store_machine *m,
                     struct srv_machine_slot **out)
{
	struct srv_machine_slot *set, *e;
	tpa_enrollment *rec;
	char *json = NULL, why[512] = "";
	int r;

	if ((*out = mslot_find(s, m->id, m->enrollment)) != NULL)
		return 0;
	r = store_machine_record(s->st, m->id, m->enrollment, &json, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 409, "conflict", NULL,
		                "machine %s was deleted or enrolled again meanwhile", m->id);
		return -1;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return -1;
	}
	set = &s->machines[2 * mslot_set(s, m->id)];
	e = set[0].used <= set[1].used ? &set[0] : &set[1];
	mslot_clear(e);
	if (!(rec = calloc(1, sizeof(*rec)))) {
		free(json);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return -1;
	}
	if (tpa_enrollment_from_json(json, strlen(json), rec, why, sizeof(why)) != TPA_OK ||
	    tpa_ak_parse(rec->ak_public, rec->ak_public_len, &e->ak, why, sizeof(why)) != TPA_OK) {
		free(json);
		free(rec);
		mslot_clear(e);
		srv_reply_error(s, req, 500, "internal", NULL, "the enrollment record: %s", why);
		return -1;
	}
	free(json);
	if (!(e->ek_public = malloc(rec->ek_public_len))) {
		free(rec);
		mslot_clear(e);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return -1;
	}
	memcpy(e->ek_public, rec->ek_public, rec->ek_public_len);
	e->ek_public_len = rec->ek_public_len;
	memcpy(e->counter_name, rec->counter_name, rec->counter_name_len);
	e->counter_name_len = rec->counter_name_len;
	e->counter_authorized = rec->counter_authorized;
	free(rec);
	snprintf(e->id, sizeof(e->id), "%s", m->id);
	memcpy(e->enrollment, m->enrollment, STORE_ENROLLMENT_ID_LEN);
	e->used = ++s->tick;
	*out = e;
	return 0;
}

/* ---- enrollment ---- */

static void handle_enroll(srv *s, struct evhttp_request *req)
{
	srv_enroll_body body;
	tpa_enroll_request er;
	tpa_enroll_challenge ch;
	tpa_enroll_pending pend;
	tpa_enroll_verdict v;
	tpa_enroll_opts opts = {0};
	store_pending sp;
	uint8_t id[32];
	char why[1024] = "", *chjson = NULL, *pjson = NULL;
	size_t len;
	const uint8_t *b = srv_body(req, &len);
	struct json_object *o = NULL, *cho = NULL;
	int r;

	memset(&er, 0, sizeof(er));
	if ((r = srv_read_enroll_body(b, len, &body, why, sizeof(why))) != TPA_OK) {
		srv_reply_error(s, req, r == TPA_E_NOMEM ? 500 : 400, "malformed", NULL,
		                "enrollment body: %s", why);
		return;
	}
	r = tpa_enroll_request_from_json(body.request_json, strlen(body.request_json), &er, why,
	                                 sizeof(why));
	if (r != TPA_OK) {
		srv_reply_error(s, req, 400, "malformed", NULL, "request: %s", why);
		goto out;
	}
	opts.check_time = s->cfg.check_time;
	opts.lifetime = s->cfg.challenge_lifetime;
	opts.counter_key_name = s->core->counter_name;
	opts.allow_legacy_counter = s->cfg.legacy_counters;
	r = tpa_enroll_challenge_make(&er, s->roots, &opts, &ch, &pend, &v);
	if (r == TPA_E_NOMEM || r == TPA_E_CRYPTO) {
		srv_reply_error(s, req, 500, "internal", NULL, "enrollment: %s", tpa_strerror(r));
		goto out;
	}
	if (r == TPA_E_MALFORMED) {
		srv_reply_error(s, req, 400, "malformed", v.check[0] ? v.check : NULL,
		                "request: %s", v.why);
		goto out;
	}
	if (r != TPA_OK) {
		SRV_METRIC(s, s->metrics.attest_refused++);
		srv_reply_error(s, req, 403, "refused", v.check, "%s", v.why);
		goto out;
	}
	if (tpa_hash(TPA_ALG_SHA256, pend.ek_public, pend.ek_public_len, id) != TPA_OK ||
	    tpa_enroll_pending_to_json(&pend, &pjson) != TPA_OK ||
	    tpa_enroll_challenge_to_json(&ch, &chjson) != TPA_OK) {
		srv_reply_error(s, req, 500, "internal", NULL,
		                "enrollment: cannot write documents");
		goto out;
	}
	/* One TPM, one machine: the TPM's other EK (RSA or ECC) may not be
	 * enrolled already.  Only as good as the request, which names the
	 * EKs the TPM has; docs/api.md says what remains. */
	for (int k = 0; k < 2; k++) {
		const tpa_enroll_ek *ek = k ? &er.ek_ecc : &er.ek_rsa;
		uint8_t other[32];
		char ohex[STORE_ID_HEX];
		store_machine om;
		if (!ek->present ||
		    tpa_hash(TPA_ALG_SHA256, ek->public_area, ek->public_len, other) != TPA_OK ||
		    CRYPTO_memcmp(other, id, 32) == 0)
			continue;
		hex(other, 32, ohex);
		memset(&om, 0, sizeof(om));
		r = store_machine_get(s->st, ohex, &om, why, sizeof(why));
		store_machine_clear(&om);
		if (r == TPA_OK) {
			srv_reply_error(s, req, 409, "already_enrolled", NULL,
			                "this TPM is enrolled already under its other EK");
			goto out;
		}
		if (r != TPA_E_NOT_FOUND) {
			reply_store_error(s, req, why);
			goto out;
		}
	}
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.id, pend.id, sizeof(sp.id));
	hex(id, 32, sp.machine_id);
	sp.has_name = body.has_name;
	memcpy(sp.name, body.name, sizeof(sp.name));
	sp.expires = pend.expires;
	sp.pending_json = pjson;
	r = store_pending_put(s->st, &sp, why, sizeof(why));
	if (r == TPA_E_MISMATCH) {
		srv_reply_error(s, req, 409,
		                strncmp(why, "name", 4) == 0 ? "name_taken" : "already_enrolled",
		                NULL, "%s", why);
		goto out;
	}
	if (r == TPA_E_LIMIT) {
		srv_reply_error(s, req, 429, "busy", NULL, "%s: try again later", why);
		goto out;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		goto out;
	}
	if (tpa_json_parse(chjson, strlen(chjson), &cho, NULL, 0) != TPA_OK ||
	    !(o = json_object_new_object())) {
		srv_reply_error(s, req, 500, "internal", NULL, "enrollment: out of memory");
		json_object_put(cho);
		goto out;
	}
	json_object_object_add(o, "machine_id", json_object_new_string(sp.machine_id));
	json_object_object_add(o, "challenge", cho);
	reply_obj(s, req, 200, o);
out:
	if (pjson)
		OPENSSL_cleanse(pjson, strlen(pjson));
	free(pjson);
	free(chjson);
	OPENSSL_cleanse(&pend, sizeof(pend));
	tpa_enroll_request_clear(&er);
	srv_enroll_body_clear(&body);
}

static void handle_activate(srv *s, struct evhttp_request *req)
{
	tpa_enroll_response resp;
	tpa_enroll_pending pend;
	tpa_enrollment *rec = NULL;
	tpa_enroll_verdict v;
	store_pending sp;
	char why[1024] = "", *recjson = NULL, id[STORE_ID_HEX];
	size_t len;
	const uint8_t *b = srv_body(req, &len);
	struct json_object *o;
	int64_t now = (int64_t)time(NULL);
	int r;

	memset(&sp, 0, sizeof(sp));
	if ((r = tpa_enroll_response_from_json((const char *)b, len, &resp, why, sizeof(why))) !=
	    TPA_OK) {
		srv_reply_error(s, req, 400, "malformed", NULL, "activation body: %s", why);
		return;
	}
	r = store_pending_take(s->st, resp.id, &sp, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", "challenge", "%s",
		                "no pending challenge with this id (unknown, answered already, or "
		                "expired): enroll again");
		goto out;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		goto out;
	}
	r = tpa_enroll_pending_from_json(sp.pending_json, strlen(sp.pending_json), &pend, why,
	                                 sizeof(why));
	if (r != TPA_OK) {
		srv_reply_error(s, req, 500, "internal", NULL, "stored challenge: %s", why);
		goto out;
	}
	if (!(rec = calloc(1, sizeof(*rec)))) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		goto out;
	}
	r = tpa_enroll_finish(&pend, &resp, now, rec, &v);
	OPENSSL_cleanse(&pend, sizeof(pend));
	if (r == TPA_E_NOMEM) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		goto out;
	}
	if (r != TPA_OK) {
		SRV_METRIC(s, s->metrics.attest_refused++);
		srv_reply_error(s, req, 403, "refused", v.check, "%s", v.why);
		goto out;
	}
	hex(rec->machine_id, 32, id);
	if (strcmp(id, sp.machine_id) != 0 || tpa_enrollment_to_json(rec, &recjson) != TPA_OK) {
		srv_reply_error(s, req, 500, "internal", NULL, "enrollment record");
		goto out;
	}
	r = store_machine_add(s->st, id, sp.has_name ? sp.name : NULL, now, recjson, why,
	                      sizeof(why));
	if (r == TPA_E_MISMATCH) {
		srv_reply_error(s, req, 409,
		                strncmp(why, "name", 4) == 0 ? "name_taken" : "already_enrolled",
		                NULL, "%s", why);
		goto out;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		goto out;
	}
	SRV_METRIC(s, s->metrics.enrollments++);
	o = json_object_new_object();
	json_object_object_add(o, "machine_id", json_object_new_string(id));
	json_object_object_add(o, "name", jstr_or_null(sp.has_name, sp.name));
	json_object_object_add(o, "enrolled_at", json_object_new_int64(now));
	reply_obj(s, req, 200, o);
out:
	OPENSSL_cleanse(&resp, sizeof(resp));
	if (sp.pending_json)
		OPENSSL_cleanse(sp.pending_json, strlen(sp.pending_json));
	store_pending_clear(&sp);
	free(recjson);
	free(rec);
}

/* ---- nonces and attestations ---- */

static int load_machine(srv *s, struct evhttp_request *req, const char *id, store_machine *m)
{
	char why[512] = "";
	int r = store_machine_get(s->st, id, m, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no machine %s is enrolled", id);
		return -1;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return -1;
	}
	return 0;
}

/* The optional body of a nonce request: {"nonce_tpm": HEX}, the attester's
 * policy session for an authorized increment.  0 with *len (0: none), or
 * -1 after answering. */
static int nonce_body(srv *s, struct evhttp_request *req, uint8_t nt[TPA_COUNTER_NONCE_MAX],
                      size_t *len)
{
	size_t bl;
	const uint8_t *b = srv_body(req, &bl);
	struct json_object *o = NULL, *v;
	const char *h;
	size_t hl;
	char why[200] = "";

	*len = 0;
	if (!b || bl == 0)
		return 0;
	if (tpa_json_parse((const char *)b, bl, &o, why, sizeof(why)) != TPA_OK ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		srv_reply_error(s, req, 400, "malformed", NULL, "nonce request body: %s",
		                why[0] ? why : "not a JSON object");
		return -1;
	}
	json_object_object_foreach (o, key, val) {
		(void)val;
		if (strcmp(key, "nonce_tpm") != 0) {
			json_object_put(o);
			srv_reply_error(s, req, 400, "malformed", NULL,
			                "nonce request body: unknown member (only \"nonce_tpm\")");
			return -1;
		}
	}
	if (json_object_object_get_ex(o, "nonce_tpm", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (hl = (size_t)json_object_get_string_len(v)) % 2 ||
		    hl / 2 < TPA_COUNTER_NONCE_MIN || hl / 2 > TPA_COUNTER_NONCE_MAX ||
		    !(h = json_object_get_string(v)) ||
		    tpa_json_hex_decode(h, hl, nt, hl / 2) != TPA_OK) {
			json_object_put(o);
			srv_reply_error(s, req, 400, "malformed", NULL,
			                "nonce_tpm: not %d..%d bytes in lowercase hex",
			                TPA_COUNTER_NONCE_MIN, TPA_COUNTER_NONCE_MAX);
			return -1;
		}
		*len = hl / 2;
	}
	json_object_put(o);
	return 0;
}

/*
 * One authorization of one increment of the machine's counter, counted in
 * the store before it is given out (store_counter_auth_issue), for the
 * state that same statement saw: the first increment before any counter
 * was accepted, else one within [last accepted, last + issued before it].
 * NULL after answering.
 */
static struct json_object *counter_authorization(srv *s, struct evhttp_request *req,
                                                 const store_machine *m,
                                                 const struct srv_machine_slot *slot,
                                                 const uint8_t *nt, size_t ntlen)
{
	tpa_counter_auth au;
	tpa_state st;
	uint8_t mid[32];
	int64_t before = 0;
	char *sj = NULL, *aj = NULL, why[512] = "";
	struct json_object *o = NULL;
	int r;

	r = store_counter_auth_issue(s->st, m->id, m->enrollment, &before, &sj, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 409, "conflict", NULL,
		                "machine %s was deleted or enrolled again meanwhile", m->id);
		return NULL;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	if (sj && tpa_state_from_json(sj, strlen(sj), &st, why, sizeof(why)) != TPA_OK) {
		free(sj);
		srv_reply_error(s, req, 500, "internal", NULL, "the stored state: %s", why);
		return NULL;
	}
	free(sj);
	if (st.has_counter && st.counter > UINT64_MAX - 2) {
		srv_reply_error(s, req, 500, "internal", NULL, "the counter is at its end");
		return NULL;
	}
	(void)before;
	if (tpa_json_hex_decode(m->id, 64, mid, sizeof(mid)) != TPA_OK) {
		srv_reply_error(s, req, 500, "internal", NULL, "the machine id");
		return NULL;
	}
	/* Only while the counter is exactly the last accepted value: an
	 * authorization saved for a value before it (a session kept in a
	 * snapshot) is of no use once it moved on, and of the ones saved for
	 * one value at most one can be used.  A lost attestation left the
	 * counter above: the TPM refuses this one, the quote certifies the
	 * counter as it is, and that value is new to the verifier. */
	r = tpa_counter_authorize(s->core->counter_key, mid, slot->counter_name,
	                          slot->counter_name_len, nt, ntlen, !st.has_counter, st.counter,
	                          st.counter, &au);
	if (r != TPA_OK || tpa_counter_auth_to_json(&au, &aj) != TPA_OK ||
	    tpa_json_parse(aj, strlen(aj), &o, NULL, 0) != TPA_OK) {
		free(aj);
		srv_reply_error(s, req, 500, "internal", NULL,
		                "cannot sign the counter authorization: %s", tpa_strerror(r));
		return NULL;
	}
	free(aj);
	return o;
}

static void handle_nonce(srv *s, struct evhttp_request *req, const char *id)
{
	store_machine m;
	struct srv_machine_slot *slot = NULL;
	uint8_t nonce[STORE_NONCE_LEN], nt[TPA_COUNTER_NONCE_MAX];
	size_t ntlen = 0;
	char nhex[2 * STORE_NONCE_LEN + 1], lhex[65];
	int64_t now = (int64_t)time(NULL), exp = now + s->cfg.nonce_lifetime;
	struct json_object *o, *auth = NULL, *ctr;

	memset(&m, 0, sizeof(m));
	if (nonce_body(s, req, nt, &ntlen) != 0)
		return;
	if (load_machine_light(s, req, id, &m) != 0)
		return;
	if (mslot_get(s, req, &m, &slot) != 0)
		goto out;
	/* the nonce itself writes nothing: it is recognised by its MAC
	 * (nonce.c); an authorization is counted first */
	if (slot->counter_authorized && ntlen &&
	    !(auth = counter_authorization(s, req, &m, slot, nt, ntlen)))
		goto out;
	if (srv_nonce_make(s->core, id, m.enrollment, exp, nonce) != TPA_OK) {
		json_object_put(auth);
		srv_reply_error(s, req, 500, "internal", NULL, "cannot make a nonce");
		goto out;
	}
	hex(nonce, sizeof(nonce), nhex);
	o = json_object_new_object();
	json_object_object_add(o, "nonce", json_object_new_string(nhex));
	json_object_object_add(o, "expires_at", json_object_new_int64(exp));
	if (m.has_eventlog)
		hex(m.eventlog_sha256, 32, lhex);
	json_object_object_add(o, "eventlog_sha256", jstr_or_null(m.has_eventlog, lhex));
	ctr = json_object_new_object();
	json_object_object_add(ctr, "authorized",
	                       json_object_new_boolean(slot->counter_authorized));
	json_object_object_add(o, "counter", ctr);
	json_object_object_add(o, "counter_authorization", auth);
	reply_obj(s, req, 200, o);
out:
	store_machine_clear(&m);
}

/* GET /v1/counter-key: what an attester defines its counter with. */
static void handle_counter_key(srv *s, struct evhttp_request *req)
{
	const srv_core *c = s->core;
	struct json_object *o = json_object_new_object();
	char *b64 = tpa_b64_encode(c->counter_pub, c->counter_pub_len);
	char hx[2 * TPA_COUNTER_NAME_LEN + 1];

	if (!o || !b64) {
		free(b64);
		json_object_put(o);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	json_object_object_add(o, "public", json_object_new_string(b64));
	free(b64);
	hex(c->counter_name, TPA_COUNTER_NAME_LEN, hx);
	json_object_object_add(o, "name", json_object_new_string(hx));
	reply_obj(s, req, 200, o);
}

/* What one attestation holds while it is checked. */
struct attempt {
	store_machine m;
	tpa_evidence *ev;
	tpa_result *res;
	tpa_eventlog *fresh_log; /* parsed from this evidence */
	const tpa_eventlog *log;
	uint8_t log_sha[32];
	int have_log_sha;
	tpa_state prev;
	int has_prev;
	const tpa_policy *policy;
	uint8_t policy_sha[32]; /* of the policy's document, with policy */
	char policy_name[STORE_POLICY_NAME_MAX];
	int policy_default;
	struct srv_machine_slot *slot; /* the machine's parsed record, borrowed */
	int counter_authorized;        /* the slot's, kept: the slot is let go */
	const tpa_log_memo *memo;      /* the log's checks remembered, used */
	tpa_log_memo *new_memo;        /* this verification's, kept after the commit */
	char *result_json;
	/* the recorded verdict's document, kept parsed for its answer */
	struct json_object *result_obj;
	/* while the commit is under way */
	srv_job job;
	struct evhttp_request *req;
	char id[STORE_ID_HEX];
	char *next_json;
	int verdict, recorded;
	int64_t now;
	double t0;
};

static void attempt_clear(struct attempt *a)
{
	store_machine_clear(&a->m);
	tpa_evidence_free(&a->ev);
	tpa_result_free(&a->res);
	tpa_eventlog_free(&a->fresh_log);
	free(a->result_json);
	json_object_put(a->result_obj);
	free(a->next_json);
	tpa_log_memo_free(&a->new_memo);
}

/* The event log the attestation is checked against: the evidence's, or
 * the one held for the machine when the attester sent only its hash.
 * 0, or -1 after answering. */
static int attempt_log(srv *s, struct evhttp_request *req, struct attempt *a)
{
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                     "Tpmattest-Eventlog-Sha256");
	const uint8_t *raw;
	size_t rawlen;
	char why[512] = "";
	int r;

	raw = tpa_evidence_get(a->ev, TPA_PART_EVENTLOG, &rawlen);
	if (hdr) {
		struct srv_eventlog_slot *slot;
		uint8_t *held = NULL;
		size_t heldlen = 0;
		tpa_parse_error perr;
		if (srv_parse_sha256_hex(hdr, a->log_sha) != 0) {
			srv_reply_error(s, req, 400, "malformed", NULL,
			                "Tpmattest-Eventlog-Sha256: not 64 lowercase hex digits");
			return -1;
		}
		if (raw) {
			srv_reply_error(s, req, 400, "malformed", NULL,
			                "the evidence carries an event log and the "
			                "Tpmattest-Eventlog-Sha256 header: send one or the other");
			return -1;
		}
		if (!a->m.has_eventlog ||
		    CRYPTO_memcmp(a->m.eventlog_sha256, a->log_sha, 32) != 0) {
			srv_reply_error(s, req, 409, "eventlog_unknown", NULL,
			                "the server holds no event log with this SHA-256 for the "
			                "machine: send the log");
			return -1;
		}
		slot = log_slot(s, a->m.id);
		if (slot->log && CRYPTO_memcmp(slot->sha256, a->log_sha, 32) == 0) {
			slot->used = ++s->tick;
			a->log = slot->log;
			a->have_log_sha = 1;
			return 0;
		}
		r = store_eventlog_get(s->st, a->m.id, a->log_sha, &held, &heldlen, why,
		                       sizeof(why));
		if (r == TPA_E_NOT_FOUND) {
			srv_reply_error(s, req, 409, "eventlog_unknown", NULL,
			                "the server holds no event log with this SHA-256 for the "
			                "machine: send the log");
			return -1;
		}
		if (r != TPA_OK) {
			reply_store_error(s, req, why);
			return -1;
		}
		tpa_eventlog_free(&slot->log);
		r = tpa_eventlog_parse(held, heldlen, &slot->log, &perr);
		free(held);
		if (r != TPA_OK) {
			srv_reply_error(s, req, 500, "internal", NULL,
			                "the stored event log does not parse: %s", perr.reason);
			return -1;
		}
		memcpy(slot->sha256, a->log_sha, 32);
		slot->used = ++s->tick;
		a->log = slot->log;
		a->have_log_sha = 1;
		return 0;
	}
	if (!raw) {
		srv_reply_error(s, req, 400, "malformed", NULL,
		                "the evidence carries no event log: send the log, or only its "
		                "SHA-256 in the Tpmattest-Eventlog-Sha256 header");
		return -1;
	}
	{
		tpa_parse_error perr;
		if (tpa_eventlog_parse(raw, rawlen, &a->fresh_log, &perr) != TPA_OK) {
			srv_reply_error(
			        s, req, 400, "malformed", NULL,
			        "the evidence's event log is malformed at byte offset %zu: %s",
			        perr.offset, perr.reason);
			return -1;
		}
	}
	if (tpa_hash(TPA_ALG_SHA256, raw, rawlen, a->log_sha) != TPA_OK) {
		srv_reply_error(s, req, 500, "internal", NULL, "cannot hash the event log");
		return -1;
	}
	a->log = a->fresh_log;
	return 0;
}

/* The log's checks as remembered from the machine's last attestation that
 * passed, when the attester sent only the hash of that same log and the
 * same PCR values under the same policy (verify.h, tpa_log_memo): the log
 * is then neither read nor parsed.  1 when it applies, 0 when the log is
 * needed, -1 after answering. */
static int attempt_memo(srv *s, struct evhttp_request *req, struct attempt *a)
{
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                     "Tpmattest-Eventlog-Sha256");
	const struct srv_machine_slot *e = a->slot;
	uint8_t sha[32], key[32];
	size_t rawlen;

	(void)s;
	if (!hdr || !e->memo || tpa_evidence_get(a->ev, TPA_PART_EVENTLOG, &rawlen) ||
	    srv_parse_sha256_hex(hdr, sha) != 0)
		return 0; /* attempt_log answers what is wrong */
	if (!a->m.has_eventlog || CRYPTO_memcmp(a->m.eventlog_sha256, sha, 32) != 0 ||
	    CRYPTO_memcmp(e->memo_log_sha, sha, 32) != 0 ||
	    tpa_log_memo_key(sha, a->policy ? a->policy_sha : NULL, tpa_evidence_pcrs(a->ev),
	                     key) != TPA_OK ||
	    CRYPTO_memcmp(key, e->memo_key, 32) != 0)
		return 0;
	memcpy(a->log_sha, sha, 32);
	a->have_log_sha = 1;
	a->memo = e->memo;
	(void)req;
	return 1;
}

static int load_machine_light(srv *s, struct evhttp_request *req, const char *id, store_machine *m)
{
	char why[512] = "";
	int r = store_machine_get_light(s->st, id, m, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no machine %s is enrolled", id);
		return -1;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return -1;
	}
	return 0;
}

static int attempt_policy(srv *s, struct evhttp_request *req, struct attempt *a)
{
	char why[512] = "";
	int err;
	if (!a->m.policy[0]) {
		a->policy = s->default_policy;
		a->policy_default = s->default_policy != NULL;
		memcpy(a->policy_sha, s->core->default_policy_sha, 32);
		return 0;
	}
	snprintf(a->policy_name, sizeof(a->policy_name), "%s", a->m.policy);
	if (!(a->policy = policy_for(s, a->m.policy, a->policy_sha, why, sizeof(why), &err))) {
		/* a policy assigned but unusable is not "no policy": refuse */
		if (err == TPA_E_IO)
			reply_store_error(s, req, why);
		else
			srv_reply_error(s, req, 500, "internal", NULL,
			                "the machine's policy \"%s\" cannot be used: %s",
			                a->m.policy, why);
		return -1;
	}
	return 0;
}

/* "pcrs": the quoted PCR values, bank -> PCR -> hex (tpa_pcrs_to_json's
 * shape, without its "incomplete": quoted values are never incomplete),
 * built here rather than written and read back. */
static int add_quoted_pcrs(struct json_object *o, const tpa_result *res)
{
	const tpa_pcrs *q = tpa_result_quoted_pcrs(res);
	struct json_object *pcrs;
	if (!q)
		return 0;
	if (!(pcrs = json_object_new_object()) || json_object_object_add(o, "pcrs", pcrs) != 0) {
		json_object_put(pcrs);
		return -1;
	}
	for (size_t i = 0; i < tpa_pcrs_bank_count(q); i++) {
		uint16_t alg = tpa_pcrs_bank_alg(q, i);
		const char *bname = tpa_alg_name(alg);
		struct json_object *bank;
		if (!bname)
			continue; /* no bank the quote can name */
		bank = json_object_new_object();
		if (!bank || json_object_object_add(pcrs, bname, bank) != 0) {
			json_object_put(bank);
			return -1;
		}
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t n;
			char key[4], hexv[2 * TPA_MAX_DIGEST + 1];
			if (tpa_pcrs_get(q, alg, k, &v, &n) != TPA_OK || n > TPA_MAX_DIGEST)
				continue;
			snprintf(key, sizeof(key), "%u", k);
			hex(v, n, hexv);
			struct json_object *hv = json_object_new_string(hexv);
			if (!hv || json_object_object_add(bank, key, hv) != 0) {
				json_object_put(hv);
				return -1;
			}
		}
	}
	return 0;
}

static struct json_object *verdict_obj(struct attempt *a, int verdict, int recorded, int64_t seq,
                                       int64_t at)
{
	struct json_object *o = json_object_new_object(), *p;
	if (!o)
		return NULL;
	json_object_object_add(o, "machine_id", json_object_new_string(a->m.id));
	json_object_object_add(o, "name", jstr_or_null(a->m.has_name, a->m.name));
	json_object_object_add(o, "verdict",
	                       json_object_new_string(verdict == TPA_OK ? "pass" : "fail"));
	json_object_object_add(o, "verified", json_object_new_boolean(verdict == TPA_OK));
	json_object_object_add(o, "error",
	                       verdict == TPA_OK ? NULL
	                                         : json_object_new_string(tpa_strerror(verdict)));
	if (verdict != TPA_OK) {
		/* the first check that failed or could not run: what the
		 * verdict is about */
		for (size_t i = 0; i < tpa_result_count(a->res); i++) {
			const char *name, *reason;
			tpa_check_status st;
			tpa_result_check(a->res, i, &name, &st, &reason);
			if (st == TPA_CHECK_FAIL || st == TPA_CHECK_NOT_RUN) {
				json_object_object_add(o, "failed_check",
				                       json_object_new_string(name));
				json_object_object_add(o, "reason", json_object_new_string(reason));
				break;
			}
		}
	}
	json_object_object_add(o, "recorded", json_object_new_boolean(recorded));
	json_object_object_add(o, "seq", recorded ? json_object_new_int64(seq) : NULL);
	json_object_object_add(o, "at", json_object_new_int64(at));
	p = json_object_new_object();
	json_object_object_add(p, "name",
	                       a->policy_name[0]   ? json_object_new_string(a->policy_name)
	                       : a->policy_default ? json_object_new_string("(default)")
	                                           : NULL);
	json_object_object_add(p, "ruled", json_object_new_boolean(a->policy != NULL));
	if (a->policy) {
		char hex[65];
		tpa_hex_encode(a->policy_sha, 32, hex);
		json_object_object_add(p, "sha256", json_object_new_string(hex));
	}
	json_object_object_add(o, "policy", p);
	json_object_object_add(
	        o, "counter_kind",
	        json_object_new_string(a->counter_authorized ? "authorized" : "older"));
	if (add_quoted_pcrs(o, a->res) != 0) {
		json_object_put(o);
		return NULL;
	}
	if (!a->policy)
		json_object_object_add(
		        o, "note",
		        json_object_new_string(
		                "no policy ruled on this machine: the verdict covers the "
		                "quote, the counter and the event log's consistency "
		                "with the quoted PCRs, not what was booted"));
	if (tpa_result_json_add(o, a->res) != TPA_OK) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static char *obj_text(struct json_object *o)
{
	const char *txt = o ? json_object_to_json_string_ext(o, JSON_OUT) : NULL;
	return txt ? strdup(txt) : NULL;
}

static char *verdict_json(struct attempt *a, int verdict, int recorded, int64_t seq, int64_t at)
{
	struct json_object *o = verdict_obj(a, verdict, recorded, seq, at);
	char *out = obj_text(o);
	json_object_put(o);
	return out;
}

static void attest_committed(srv_job *job);

static void handle_attest(srv *s, struct evhttp_request *req, const char *id)
{
	struct attempt *a = calloc(1, sizeof(*a));
	tpa_machine mach;
	tpa_verification v;
	const uint8_t *nonce, *body;
	size_t nonce_len, len;
	char why[1024] = "";
	int64_t nonce_expires = 0;
	int r;
	tpa_check_status sig, nst;
	store_attestation *sa;
	const uint8_t *raw;
	size_t rawlen;

	if (!a) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		SRV_METRIC(s, s->metrics.attest_error++);
		return;
	}
	a->now = (int64_t)time(NULL);
	a->t0 = now_mono();
	a->req = req;
	snprintf(a->id, sizeof(a->id), "%s", id);
	if (load_machine_light(s, req, id, &a->m) != 0)
		goto out;
	body = srv_body(req, &len);
	if ((r = tpa_evidence_from_json_why((const char *)body, len, &a->ev, why, sizeof(why))) !=
	    TPA_OK) {
		srv_reply_error(s, req, r == TPA_E_NOMEM ? 500 : 400, "malformed", NULL,
		                "evidence: %s", why[0] ? why : tpa_strerror(r));
		goto refused;
	}
	nonce = tpa_evidence_get(a->ev, TPA_PART_NONCE, &nonce_len);
	if (!nonce || nonce_len != STORE_NONCE_LEN) {
		srv_reply_error(s, req, 403, "nonce", NULL,
		                "the evidence's nonce is not one this server issues (%d bytes)",
		                STORE_NONCE_LEN);
		goto refused;
	}
	if (srv_nonce_check(s->core, id, a->m.enrollment, nonce, a->now, &nonce_expires, why,
	                    sizeof(why)) != TPA_OK) {
		srv_reply_error(s, req, 403, "nonce", NULL,
		                "the evidence's nonce was not issued to this machine, was used "
		                "already, or expired: ask for a new one");
		goto refused;
	}
	r = store_nonce_used(s->st, nonce, why, sizeof(why));
	if (r == TPA_E_MISMATCH) {
		srv_reply_error(s, req, 403, "nonce", NULL,
		                "the evidence's nonce was not issued to this machine, was used "
		                "already, or expired: ask for a new one");
		goto refused;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		goto error;
	}
	if (attempt_policy(s, req, a) != 0 || mslot_get(s, req, &a->m, &a->slot) != 0 ||
	    attempt_memo(s, req, a) < 0 || (!a->memo && attempt_log(s, req, a) != 0))
		goto refused;
	if (a->m.state_json) {
		if (tpa_state_from_json(a->m.state_json, strlen(a->m.state_json), &a->prev, why,
		                        sizeof(why)) != TPA_OK) {
			srv_reply_error(s, req, 500, "internal", NULL, "the stored state: %s", why);
			goto error;
		}
		a->has_prev = 1;
	}
	/* the authorizations issued since, counted apart from the state
	 * (store_counter_auth_issue) */
	a->prev.counter_auths = a->m.counter_auths > 0 ? (uint64_t)a->m.counter_auths : 0;
	memset(&mach, 0, sizeof(mach));
	mach.ak = a->slot->ak;
	mach.ek_public = a->slot->ek_public;
	mach.ek_public_len = a->slot->ek_public_len;
	mach.counter_name = a->slot->counter_name;
	mach.counter_name_len = a->slot->counter_name_len;
	mach.counter_authorized = a->slot->counter_authorized;
	a->counter_authorized = a->slot->counter_authorized;
	memset(&v, 0, sizeof(v));
	v.evidence = a->ev;
	v.eventlog = a->log;
	v.machine = &mach;
	v.nonce = nonce;
	v.nonce_len = nonce_len;
	v.previous = a->has_prev ? &a->prev : NULL;
	v.keep_state = 1;
	v.policy = a->policy;
	if (a->memo) {
		v.memo = a->memo;
		v.memo_log_sha256 = a->log_sha;
		v.memo_policy_sha256 = a->policy ? a->policy_sha : NULL;
	}
	a->verdict = tpa_verify_evidence(&v, &a->res, why, sizeof(why));
	a->slot = NULL; /* the slot may be reused before the commit returns */
	/* the log's checks remembered for the next attestation with this log,
	 * these PCR values and this policy (kept once committed) */
	if (a->verdict == TPA_OK && a->have_log_sha)
		tpa_result_memo(a->res, a->log_sha, a->policy ? a->policy_sha : NULL,
		                tpa_evidence_pcrs(a->ev), &a->new_memo);
	if (!a->res) {
		srv_reply_error(s, req, a->verdict == TPA_E_NOMEM ? 500 : 400, "malformed", NULL,
		                "evidence: %s", why[0] ? why : tpa_strerror(a->verdict));
		goto refused;
	}
	/* A verdict is the machine's only if its AK signed this quote over
	 * this nonce: an old genuine quote sent under a fresh nonce (anyone
	 * can ask for one) must not become the machine's last verdict. */
	a->recorded = tpa_result_find(a->res, "signature", &sig, NULL) == TPA_OK &&
	              sig == TPA_CHECK_PASS &&
	              tpa_result_find(a->res, "nonce", &nst, NULL) == TPA_OK &&
	              nst == TPA_CHECK_PASS;
	if (!a->recorded) {
		/* not the machine's: answered, and nothing written (not even the
		 * nonce consumed), so no one without the AK makes the store write */
		if (!(a->result_json = verdict_json(a, a->verdict, 0, 0, a->now))) {
			srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
			goto error;
		}
		SRV_METRIC(s, s->metrics.attest_fail++);
		srv_reply_json(s, req, 200, a->result_json);
		SRV_METRIC(s, srv_hist_add(&s->metrics.attest_seconds, now_mono() - a->t0));
		goto out;
	}
	if (a->verdict == TPA_OK) {
		/* the authorizations outstanding are the store's column
		 * (counter_auths_used below), not the state's */
		tpa_state ns = *tpa_result_next_state(a->res);
		ns.counter_auths = 0;
		if (tpa_state_to_json(&ns, &a->next_json) != TPA_OK) {
			srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
			goto error;
		}
	}
	if (!(a->result_obj = verdict_obj(a, a->verdict, 1, 0, a->now)) ||
	    !(a->result_json = obj_text(a->result_obj))) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		goto error;
	}
	sa = &a->job.sa;
	sa->machine_id = a->id;
	sa->enrollment = a->m.enrollment;
	sa->nonce = nonce;
	sa->nonce_expires = nonce_expires;
	sa->now = a->now;
	sa->record = 1;
	sa->verdict = a->verdict == TPA_OK ? "pass" : "fail";
	sa->error = a->verdict == TPA_OK ? "" : tpa_strerror(a->verdict);
	sa->result_json = a->result_json;
	sa->next_state_json = a->next_json;
	/* a new accepted counter: the authorizations it used up are no
	 * longer outstanding */
	if (a->next_json) {
		const tpa_state *ns = tpa_result_next_state(a->res);
		uint64_t had = a->prev.counter_auths;
		sa->counter_auths_used = had > ns->counter_auths
		                                 ? (int64_t)(had - ns->counter_auths > INT64_MAX
		                                                     ? INT64_MAX
		                                                     : had - ns->counter_auths)
		                                 : 0;
	}
	sa->expect_gen = a->m.state_gen;
	raw = tpa_evidence_get(a->ev, TPA_PART_EVENTLOG, &rawlen);
	/* the log is held from now on, unless it is the one held already */
	if (a->verdict == TPA_OK && raw && a->fresh_log &&
	    !(a->m.has_eventlog && CRYPTO_memcmp(a->m.eventlog_sha256, a->log_sha, 32) == 0)) {
		sa->eventlog = raw;
		sa->eventlog_len = rawlen;
		sa->eventlog_sha256 = a->log_sha;
	}
	/* the answer waits for the group commit (commit.c) */
	a->job.s = s;
	a->job.done = attest_committed;
	a->job.ctx = a;
	srv_commit(s->core, &a->job);
	return;
refused:
	SRV_METRIC(s, s->metrics.attest_refused++);
	goto out;
error:
	SRV_METRIC(s, s->metrics.attest_error++);
out:
	attempt_clear(a);
	free(a);
}

/* The recorded verdict's answer: its document with the history row's
 * number and "ear", the same verdict as an EAR JWT signed with the result
 * key (result.c) from the document as built, not read back from text.
 * NULL with why. */
static char *answer_with_result(srv *s, struct attempt *a, int64_t seq, char *why, size_t whylen)
{
	struct json_object *o = a->result_obj, *v = json_object_new_int64(seq);
	char *jwt = NULL, *out = NULL;
	if (!v || json_object_object_add(o, "seq", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (!(jwt = srv_result_sign_doc(s->core, o, a->id, NULL, a->now, why, whylen)))
		goto out;
	if (!(v = json_object_new_string(jwt)) || json_object_object_add(o, "ear", v) != 0) {
		json_object_put(v);
		goto out;
	}
	out = obj_text(o);
out:
	if (!out && !why[0])
		snprintf(why, whylen, "out of memory");
	free(jwt);
	return out;
}

/* On the worker, once the commit holding the attestation returned. */
static void attest_committed(srv_job *job)
{
	struct attempt *a = job->ctx;
	srv *s = job->s;
	struct evhttp_request *req = a->req;
	const store_attestation *sa = &job->sa;
	char *answer;

	SRV_METRIC(s, srv_hist_add(&s->metrics.commit_seconds, now_mono() - job->queued_at));
	if (job->res == TPA_E_MISMATCH) {
		srv_reply_error(s, req, 409, "conflict", NULL,
		                "another attestation of this machine was accepted, its policy "
		                "changed, it was enrolled again, or this nonce was used, "
		                "meanwhile: ask for a new nonce");
		SRV_METRIC(s, s->metrics.attest_refused++);
		goto out;
	}
	if (job->res != TPA_OK) {
		reply_store_error(s, req, job->why);
		SRV_METRIC(s, s->metrics.attest_error++);
		goto out;
	}
	if (a->new_memo) {
		struct srv_machine_slot *e = mslot_find(s, a->id, a->m.enrollment);
		if (e && tpa_log_memo_key(a->log_sha, a->policy ? a->policy_sha : NULL,
		                          tpa_evidence_pcrs(a->ev), e->memo_key) == TPA_OK) {
			tpa_log_memo_free(&e->memo);
			e->memo = a->new_memo;
			a->new_memo = NULL;
			memcpy(e->memo_log_sha, a->log_sha, 32);
		}
	}
	if (sa->eventlog) {
		/* the log held from now on, parsed once */
		struct srv_eventlog_slot *slot = log_slot(s, a->id);
		tpa_eventlog_free(&slot->log);
		slot->log = a->fresh_log;
		a->fresh_log = NULL;
		memcpy(slot->sha256, a->log_sha, 32);
		slot->used = ++s->tick;
	}
	/* the answer carries the history row's number */
	job->why[0] = 0;
	if (!(answer = answer_with_result(s, a, job->seq, job->why, sizeof(job->why)))) {
		srv_reply_error(
		        s, req, 500, "internal", NULL,
		        "the verdict was recorded as %s, but its result cannot be signed: %s",
		        sa->verdict, job->why);
		SRV_METRIC(s, s->metrics.attest_error++);
		goto out;
	}
	if (a->verdict == TPA_OK)
		SRV_METRIC(s, s->metrics.attest_pass++);
	else
		SRV_METRIC(s, s->metrics.attest_fail++);
	srv_reply_json(s, req, 200, answer);
	free(answer);
	SRV_METRIC(s, srv_hist_add(&s->metrics.attest_seconds, now_mono() - a->t0));
out:
	attempt_clear(a);
	free(a);
}

/* ---- admin ---- */

static struct json_object *state_obj(const char *state_json)
{
	struct json_object *o = NULL;
	if (state_json && tpa_json_parse(state_json, strlen(state_json), &o, NULL, 0) == TPA_OK)
		return o;
	return NULL;
}

static struct json_object *machine_summary(const store_machine *m)
{
	struct json_object *o = json_object_new_object();
	tpa_state st;
	char why[128];
	json_object_object_add(o, "machine_id", json_object_new_string(m->id));
	json_object_object_add(o, "name", jstr_or_null(m->has_name, m->name));
	json_object_object_add(o, "enrolled_at", json_object_new_int64(m->enrolled_at));
	json_object_object_add(o, "policy", jstr_or_null(m->policy[0] != 0, m->policy));
	json_object_object_add(o, "last_verdict",
	                       jstr_or_null(m->last_verdict[0] != 0, m->last_verdict));
	json_object_object_add(o, "last_error", jstr_or_null(m->last_error[0] != 0, m->last_error));
	json_object_object_add(o, "last_at",
	                       m->last_verdict[0] ? json_object_new_int64(m->last_at) : NULL);
	json_object_object_add(o, "counter_auths", json_object_new_int64(m->counter_auths));
	if (m->state_json && tpa_state_from_json(m->state_json, strlen(m->state_json), &st, why,
	                                         sizeof(why)) == TPA_OK) {
		json_object_object_add(o, "counter",
		                       st.has_counter ? json_object_new_uint64(st.counter) : NULL);
		json_object_object_add(o, "reset_count",
		                       st.has_clock ? json_object_new_int64(st.reset_count) : NULL);
	} else {
		json_object_object_add(o, "counter", NULL);
		json_object_object_add(o, "reset_count", NULL);
	}
	return o;
}

static void handle_machines_list(srv *s, struct evhttp_request *req)
{
	enum { PAGE = 256 };
	store_machine *page = calloc(PAGE, sizeof(*page));
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char after[STORE_ID_HEX] = "", why[512] = "";
	size_t n;
	if (!page || !o || !arr) {
		free(page);
		json_object_put(o);
		json_object_put(arr);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	json_object_object_add(o, "machines", arr);
	for (;;) {
		int r = store_machine_list(s->st, after, PAGE, page, &n, why, sizeof(why));
		if (r != TPA_OK) {
			free(page);
			json_object_put(o);
			reply_store_error(s, req, why);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			json_object_array_add(arr, machine_summary(&page[i]));
			store_machine_clear(&page[i]);
		}
		if (n < PAGE)
			break;
		snprintf(after, sizeof(after), "%s",
		         json_object_get_string(json_object_object_get(
		                 json_object_array_get_idx(arr, json_object_array_length(arr) - 1),
		                 "machine_id")));
	}
	free(page);
	reply_obj(s, req, 200, o);
}

static void handle_machine_show(srv *s, struct evhttp_request *req, const char *id)
{
	store_machine m;
	struct json_object *o, *rec = NULL;
	memset(&m, 0, sizeof(m));
	if (load_machine(s, req, id, &m) != 0)
		return;
	o = machine_summary(&m);
	if (tpa_json_parse(m.record_json, strlen(m.record_json), &rec, NULL, 0) == TPA_OK)
		json_object_object_add(o, "enrollment", rec);
	json_object_object_add(o, "state", state_obj(m.state_json));
	json_object_object_add(o, "last_seq",
	                       m.last_seq ? json_object_new_int64(m.last_seq) : NULL);
	store_machine_clear(&m);
	reply_obj(s, req, 200, o);
}

static void handle_history(srv *s, struct evhttp_request *req, const char *id)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	size_t limit, n = 0;
	int64_t before;
	store_machine m;
	store_verdict *rows;
	struct json_object *o, *arr;
	char why[512] = "";
	int r;

	if (srv_parse_history_query(u ? evhttp_uri_get_query(u) : NULL, &limit, &before) != 0) {
		srv_reply_error(s, req, 400, "malformed", NULL,
		                "query: only limit=1..1000 and before=SEQ are understood");
		return;
	}
	memset(&m, 0, sizeof(m));
	if (load_machine(s, req, id, &m) != 0)
		return;
	store_machine_clear(&m);
	if (!(rows = calloc(limit, sizeof(*rows)))) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	if ((r = store_history(s->st, id, before, limit, rows, &n, why, sizeof(why))) != TPA_OK) {
		free(rows);
		reply_store_error(s, req, why);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(o, "machine_id", json_object_new_string(id));
	json_object_object_add(o, "history", arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object(), *res = NULL;
		json_object_object_add(e, "seq", json_object_new_int64(rows[i].seq));
		json_object_object_add(e, "at", json_object_new_int64(rows[i].at));
		json_object_object_add(e, "verdict", json_object_new_string(rows[i].verdict));
		json_object_object_add(e, "error",
		                       jstr_or_null(rows[i].error[0] != 0, rows[i].error));
		if (rows[i].result_json &&
		    tpa_json_parse(rows[i].result_json, strlen(rows[i].result_json), &res, NULL,
		                   0) == TPA_OK &&
		    json_object_is_type(res, json_type_object))
			/* stored before its row had a number */
			json_object_object_add(res, "seq", json_object_new_int64(rows[i].seq));
		json_object_object_add(e, "result", res);
		json_object_array_add(arr, e);
		store_verdict_clear(&rows[i]);
	}
	free(rows);
	reply_obj(s, req, 200, o);
}

static void handle_machine_delete(srv *s, struct evhttp_request *req, const char *id)
{
	char why[512] = "";
	int r = store_machine_delete(s->st, id, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no machine %s is enrolled", id);
		return;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return;
	}
	log_forget(s, id);
	srv_reply_json(s, req, 200, "{\"deleted\":true}");
}

static void handle_assign(srv *s, struct evhttp_request *req, const char *id)
{
	char name[STORE_POLICY_NAME_MAX], why[512] = "";
	size_t len;
	const uint8_t *b = srv_body(req, &len);
	struct json_object *o;
	int r;
	if (srv_read_assign_body(b, len, name, why, sizeof(why)) != TPA_OK) {
		srv_reply_error(s, req, 400, "malformed", NULL, "policy assignment: %s", why);
		return;
	}
	r = store_machine_set_policy(s->st, id, name, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "%s",
		                why[0] ? why : "no such machine or policy");
		return;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "machine_id", json_object_new_string(id));
	json_object_object_add(o, "policy", jstr_or_null(name[0] != 0, name));
	reply_obj(s, req, 200, o);
}

static void handle_policy_put(srv *s, struct evhttp_request *req, const char *name)
{
	size_t len;
	const uint8_t *b = srv_body(req, &len);
	char why[1024] = "", *doc;
	tpa_policy *p = NULL;
	int r;
	/* stored only if `verify --policy` would read it */
	if ((r = tpa_policy_from_json((const char *)b, len, &p, why, sizeof(why))) != TPA_OK) {
		srv_reply_error(s, req, r == TPA_E_NOMEM ? 500 : 400, "malformed", NULL,
		                "policy: %s", why[0] ? why : tpa_strerror(r));
		return;
	}
	tpa_policy_free(&p);
	if (!(doc = malloc(len + 1))) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	memcpy(doc, b, len);
	doc[len] = '\0';
	r = store_policy_put(s->st, name, doc, (int64_t)time(NULL), why, sizeof(why));
	free(doc);
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return;
	}
	srv_reply_json(s, req, 200, "{\"stored\":true}");
}

static void handle_policy_get(srv *s, struct evhttp_request *req, const char *name)
{
	char *doc = NULL, why[512] = "";
	int r = store_policy_get(s->st, name, &doc, NULL, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no policy named %s", name);
		return;
	}
	if (r != TPA_OK) {
		reply_store_error(s, req, why);
		return;
	}
	srv_reply_json(s, req, 200, doc);
	free(doc);
}

static void handle_policy_list(srv *s, struct evhttp_request *req)
{
	enum { MAXP = 1000 };
	char(*names)[STORE_POLICY_NAME_MAX] = calloc(MAXP, sizeof(*names));
	int64_t *upd = calloc(MAXP, sizeof(*upd));
	size_t n = 0;
	char why[512] = "";
	struct json_object *o, *arr;
	if (!names || !upd) {
		free(names);
		free(upd);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	if (store_policy_list(s->st, names, upd, MAXP, &n, why, sizeof(why)) != TPA_OK) {
		free(names);
		free(upd);
		reply_store_error(s, req, why);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(o, "policies", arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(names[i]));
		json_object_object_add(e, "updated", json_object_new_int64(upd[i]));
		json_object_array_add(arr, e);
	}
	free(names);
	free(upd);
	reply_obj(s, req, 200, o);
}

static void handle_metrics(srv *s, struct evhttp_request *req)
{
	store_stats st;
	char why[512] = "", *txt;
	if (store_stats_get(s->st, (int64_t)time(NULL), &st, why, sizeof(why)) != TPA_OK) {
		reply_store_error(s, req, why);
		return;
	}
	{
		srv_core *c = s->core;
		srv_metrics sum;
		size_t conns = 0;
		memset(&sum, 0, sizeof(sum));
		for (size_t i = 0; i < c->n_workers; i++) {
			srv *w = &c->workers[i];
			pthread_mutex_lock(&w->mlock);
			srv_metrics_sum(&sum, &w->metrics);
			conns += w->connections_open;
			pthread_mutex_unlock(&w->mlock);
		}
		pthread_mutex_lock(&c->qlock);
		sum.commit_batches += c->commit_metrics.commit_batches;
		pthread_mutex_unlock(&c->qlock);
		txt = srv_metrics_text(&sum, &st, conns, c->n_workers);
	}
	if (!txt) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	srv_reply_text(s, req, 200, "text/plain; version=0.0.4", txt);
	free(txt);
}

static void handle_healthz(srv *s, struct evhttp_request *req)
{
	char why[512] = "";
	if (store_ping(s->st, why, sizeof(why)) != TPA_OK) {
		srv_reply_error(s, req, 503, "store", NULL, "%s", why);
		return;
	}
	srv_reply_json(s, req, 200, "{\"status\":\"ok\"}");
}

/* ---- routing ---- */

static int seg_is(const srv_path *p, size_t i, const char *lit)
{
	return i < p->n && p->len[i] == strlen(lit) && memcmp(p->seg[i], lit, p->len[i]) == 0;
}

static void not_allowed(srv *s, struct evhttp_request *req)
{
	srv_reply_error(s, req, 405, "method_not_allowed", NULL,
	                "this endpoint does not take this method");
}

void srv_route(struct evhttp_request *req, void *arg)
{
	srv *s = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	srv_path p;
	char id[STORE_ID_HEX], name[STORE_POLICY_NAME_MAX];

	if (srv_framing_ok(s, req) != 0)
		return;
	if (!path || srv_split_path(path, &p) != 0) {
		srv_reply_error(s, req, 400, "malformed", NULL,
		                "path: empty or dot segments, percent-escapes and bytes outside "
		                "printable ASCII are not accepted");
		return;
	}
	/* the fleet status page (page.c) */
	if (p.n == 0) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		if (srv_require_admin(s, req) != 0)
			return;
		return srv_page_fleet(s, req);
	}
	if (p.n == 1 && seg_is(&p, 0, "style.css")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		return srv_page_style(s, req);
	}
	if (p.n == 2 && seg_is(&p, 0, "machines")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		if (srv_require_admin(s, req) != 0)
			return;
		if (srv_parse_machine_id(p.seg[1], p.len[1], id) != 0) {
			srv_page_error(
			        s, req, 400, "bad machine id",
			        "machine id: not 64 lowercase hex digits (SHA-256 of the EK)");
			return;
		}
		return srv_page_machine(s, req, id);
	}
	if (p.n == 1 && seg_is(&p, 0, "healthz")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		return handle_healthz(s, req);
	}
	if (p.n == 1 && seg_is(&p, 0, "metrics")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		if (srv_require_admin(s, req) != 0)
			return;
		return handle_metrics(s, req);
	}
	if (p.n < 2 || !seg_is(&p, 0, "v1")) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no such endpoint");
		return;
	}
	/* the key results are signed with: public */
	if (p.n == 3 && seg_is(&p, 1, ".well-known") && seg_is(&p, 2, "result-key")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		return srv_result_jwk_reply(s, req);
	}
	/* attester endpoints: authenticated by the TPM */
	if (p.n == 2 && seg_is(&p, 1, "counter-key")) {
		if (m != EVHTTP_REQ_GET)
			return not_allowed(s, req);
		return handle_counter_key(s, req);
	}
	if (p.n == 2 && seg_is(&p, 1, "enroll")) {
		if (m != EVHTTP_REQ_POST)
			return not_allowed(s, req);
		return handle_enroll(s, req);
	}
	if (p.n == 3 && seg_is(&p, 1, "enroll") && seg_is(&p, 2, "activate")) {
		if (m != EVHTTP_REQ_POST)
			return not_allowed(s, req);
		return handle_activate(s, req);
	}
	if (seg_is(&p, 1, "machines") && p.n >= 3) {
		int attester = p.n == 4 && (seg_is(&p, 3, "nonce") || seg_is(&p, 3, "attest"));
		if (!attester && srv_require_admin(s, req) != 0)
			return;
		if (srv_parse_machine_id(p.seg[2], p.len[2], id) != 0) {
			srv_reply_error(
			        s, req, 400, "malformed", NULL,
			        "machine id: not 64 lowercase hex digits (SHA-256 of the EK)");
			return;
		}
		if (p.n == 4 && seg_is(&p, 3, "nonce")) {
			if (m != EVHTTP_REQ_POST)
				return not_allowed(s, req);
			return handle_nonce(s, req, id);
		}
		if (p.n == 4 && seg_is(&p, 3, "attest")) {
			if (m != EVHTTP_REQ_POST)
				return not_allowed(s, req);
			return handle_attest(s, req, id);
		}
	}
	/* everything else is the admin's */
	if (seg_is(&p, 1, "machines") && p.n <= 4) {
		if (p.n == 2) {
			if (m != EVHTTP_REQ_GET)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			return handle_machines_list(s, req);
		}
		if (p.n == 3) {
			if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_DELETE)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			if (m == EVHTTP_REQ_GET)
				return handle_machine_show(s, req, id);
			return handle_machine_delete(s, req, id);
		}
		if (seg_is(&p, 3, "result")) {
			if (m != EVHTTP_REQ_GET)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			return srv_result_get(s, req, id);
		}
		if (seg_is(&p, 3, "history")) {
			if (m != EVHTTP_REQ_GET)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			return handle_history(s, req, id);
		}
		if (seg_is(&p, 3, "policy")) {
			if (m != EVHTTP_REQ_PUT)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			return handle_assign(s, req, id);
		}
	}
	if (seg_is(&p, 1, "policies") && p.n <= 3) {
		if (p.n == 2) {
			if (m != EVHTTP_REQ_GET)
				return not_allowed(s, req);
			if (srv_require_admin(s, req) != 0)
				return;
			return handle_policy_list(s, req);
		}
		if (srv_require_admin(s, req) != 0)
			return;
		if (srv_parse_policy_name(p.seg[2], p.len[2], name) != 0) {
			srv_reply_error(
			        s, req, 400, "malformed", NULL,
			        "policy name: 1..64 of A-Z a-z 0-9 . _ - (not starting with .)");
			return;
		}
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_PUT)
			return not_allowed(s, req);
		if (m == EVHTTP_REQ_PUT)
			return handle_policy_put(s, req, name);
		return handle_policy_get(s, req, name);
	}
	srv_reply_error(s, req, 404, "not_found", NULL, "no such endpoint");
}
