/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The offline enrollment protocol (docs/enrollment.md, "The four steps"):
 * the request, challenge, pending, response and record documents, and the
 * verifier's two steps, tpa_enroll_challenge_make and tpa_enroll_finish.
 * Pure: bytes in, bytes out; no TPM, no files, no printing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"
#include "verifier/attest.h"

/* TPM 2.0 Part 2, 13.4 (TPMA_NV) and 13.2 (TPM_NT): the counter tpmattest
 * provisions (src/tpm/tpm.c, docs/evidence.md). */
#define NV_WRITTEN 0x20000000u
#define NV_TYPE_MASK 0x000000f0u
#define NV_TYPE_SHIFT 4
#define NT_COUNTER 0x1u
#define COUNTER_ATTRS                                                           \
	((NT_COUNTER << NV_TYPE_SHIFT) | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
	 TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
/* The verifier-authorized counter (<tpmattest/counterauth.h>): written only
 * under its authPolicy, never with an authValue or the owner's. */
#define AUTH_COUNTER_ATTRS                                                        \
	((NT_COUNTER << NV_TYPE_SHIFT) | TPMA_NV_POLICYWRITE | TPMA_NV_AUTHREAD | \
	 TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
/* TPM_RH_ENDORSEMENT: the qualified name of the endorsement hierarchy
 * (Part 1, 16.6). */
static const uint8_t rh_endorsement[4] = {0x40, 0x00, 0x00, 0x0b};

/* ---- encodings ---- */

/* ---- writing ---- */

struct wr {
	int err;
};

static void put(struct wr *w, struct json_object *o, const char *key, struct json_object *v)
{
	if (!v) {
		w->err = TPA_E_NOMEM;
		return;
	}
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		w->err = TPA_E_NOMEM;
	}
}

static void put_b64(struct wr *w, struct json_object *o, const char *key, const uint8_t *p,
                    size_t n)
{
	char *s = tpa_b64_encode(p, n);
	put(w, o, key, s ? json_object_new_string(s) : NULL);
	free(s);
}

static void put_hex(struct wr *w, struct json_object *o, const char *key, const uint8_t *p,
                    size_t n)
{
	char *s = malloc(2 * n + 1);
	if (s)
		tpa_hex_encode(p, n, s);
	put(w, o, key, s ? json_object_new_string(s) : NULL);
	free(s);
}

static void put_handle(struct wr *w, struct json_object *o, const char *key, uint32_t h)
{
	char s[16];
	snprintf(s, sizeof(s), "0x%08" PRIx32, h);
	put(w, o, key, json_object_new_string(s));
}

static struct json_object *doc_new(struct wr *w, const char *format)
{
	struct json_object *o = json_object_new_object();
	if (!o) {
		w->err = TPA_E_NOMEM;
		return NULL;
	}
	put(w, o, "format", json_object_new_string(format));
	put(w, o, "version", json_object_new_int(1));
	return o;
}

static struct json_object *obj_new(struct wr *w, struct json_object *parent, const char *key)
{
	struct json_object *o = json_object_new_object();
	put(w, parent, key, o);
	return w->err ? NULL : o;
}

static int doc_finish(struct wr *w, struct json_object *root, char **out)
{
	char *s = NULL;
	if (!w->err) {
		const char *t = json_object_to_json_string_ext(
		        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		                      JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!t || !(s = strdup(t)))
			w->err = TPA_E_NOMEM;
	}
	json_object_put(root);
	if (w->err)
		return w->err;
	*out = s;
	return TPA_OK;
}

static const char *alg_word(uint16_t alg)
{
	return alg == TPM2_ALG_RSA ? "rsa" : alg == TPM2_ALG_ECC ? "ecc" : NULL;
}

/* ---- reading ---- */

struct rd {
	char *why;
	size_t whylen;
};

static int refuse(struct rd *rd, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int refuse(struct rd *rd, int err, const char *fmt, ...)
{
	va_list ap;
	if (rd->why && rd->whylen) {
		va_start(ap, fmt);
		vsnprintf(rd->why, rd->whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Every member of o is in known (NULL-terminated). */
static int only_known(struct rd *rd, struct json_object *o, const char *where,
                      const char *const *known)
{
	json_object_object_foreach (o, key, val) {
		size_t i;
		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i]) {
			/* the name is the sender's: printable ASCII only, bounded */
			char safe[64];
			size_t k = 0;
			for (const char *c = key; *c && k < sizeof(safe) - 4; c++)
				safe[k++] = (*c >= 0x20 && *c < 0x7f && *c != '"') ? *c : '?';
			safe[k] = '\0';
			return refuse(rd, TPA_E_MALFORMED, "%s: unknown member \"%s%s\"", where,
			              safe, strlen(key) > k ? "..." : "");
		}
	}
	return TPA_OK;
}

static int get_member(struct rd *rd, struct json_object *o, const char *where, const char *key,
                      json_type type, struct json_object **v)
{
	static const char *const tn[] = {"null",      "a boolean", "a number", "an integer",
	                                 "an object", "an array",  "a string"};
	if (!json_object_object_get_ex(o, key, v))
		return refuse(rd, TPA_E_MALFORMED, "%s: no member \"%s\"", where, key);
	if (!json_object_is_type(*v, type))
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: not %s", where, key,
		              (unsigned)type < sizeof(tn) / sizeof(tn[0]) ? tn[type] : "right");
	return TPA_OK;
}

static int get_str(struct rd *rd, struct json_object *o, const char *where, const char *key,
                   const char **s, size_t *len)
{
	struct json_object *v;
	int r = get_member(rd, o, where, key, json_type_string, &v);
	if (r)
		return r;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return TPA_OK;
}

/* base64 of min..max bytes into buf. */
static int get_b64(struct rd *rd, struct json_object *o, const char *where, const char *key,
                   uint8_t *buf, size_t min, size_t max, size_t *len)
{
	const char *s;
	size_t sl, n;
	uint8_t *d = NULL;
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	if ((r = tpa_b64_decode(s, sl, max, &d, &n)) != TPA_OK) {
		if (r == TPA_E_LIMIT)
			return refuse(rd, r, "%s.%s: larger than %zu bytes", where, key, max);
		if (r == TPA_E_MALFORMED)
			return refuse(rd, r, "%s.%s: not canonical padded base64 (RFC 4648)", where,
			              key);
		return r;
	}
	if (n < min) {
		OPENSSL_cleanse(d, n);
		free(d);
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: shorter than %zu bytes", where, key,
		              min);
	}
	memcpy(buf, d, n);
	OPENSSL_cleanse(d, n);
	free(d);
	*len = n;
	return TPA_OK;
}

/* base64 into a malloc'd buffer of at most max bytes. */
static int get_b64_alloc(struct rd *rd, struct json_object *v, const char *where, size_t max,
                         uint8_t **out, size_t *len)
{
	int r;
	if (!json_object_is_type(v, json_type_string))
		return refuse(rd, TPA_E_MALFORMED, "%s: not a string", where);
	r = tpa_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), max,
	                   out, len);
	if (r == TPA_E_LIMIT)
		return refuse(rd, r, "%s: larger than %zu bytes", where, max);
	if (r == TPA_E_MALFORMED)
		return refuse(rd, r, "%s: not canonical padded base64 (RFC 4648)", where);
	return r;
}

/* Lowercase hex of exactly n bytes. */
static int get_hex(struct rd *rd, struct json_object *o, const char *where, const char *key,
                   uint8_t *buf, size_t n)
{
	const char *s;
	size_t sl;
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	if (sl != 2 * n || tpa_json_hex_decode(s, sl, buf, n) != TPA_OK)
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: not %zu bytes of lowercase hex", where,
		              key, n);
	return TPA_OK;
}

/* A TPM Name: nameAlg (a known hash) || digest of its size. */
static int get_name(struct rd *rd, struct json_object *o, const char *where, const char *key,
                    uint8_t *buf, size_t *len)
{
	const char *s;
	size_t sl, n;
	uint16_t alg;
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	n = sl / 2;
	if (sl % 2 || n < 2 || n > TPA_ENROLL_MAX_NAME ||
	    tpa_json_hex_decode(s, sl, buf, n) != TPA_OK)
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: not a TPM Name in lowercase hex", where,
		              key);
	alg = (uint16_t)(buf[0] << 8 | buf[1]);
	if (!tpa_alg_digest_size(alg) || n != 2 + tpa_alg_digest_size(alg))
		return refuse(rd, TPA_E_MALFORMED,
		              "%s.%s: not nameAlg || digest for a known hash algorithm", where,
		              key);
	*len = n;
	return TPA_OK;
}

static int get_handle(struct rd *rd, struct json_object *o, const char *where, const char *key,
                      uint32_t *h)
{
	const char *s;
	size_t sl;
	uint8_t b[4];
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	if (sl != 10 || s[0] != '0' || s[1] != 'x' || tpa_json_hex_decode(s + 2, 8, b, 4))
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: not 0x and 8 lowercase hex digits",
		              where, key);
	*h = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return TPA_OK;
}

/* A non-negative integer no greater than max. */
static int get_uint(struct rd *rd, struct json_object *o, const char *where, const char *key,
                    uint64_t max, uint64_t *out)
{
	struct json_object *v;
	uint64_t u;
	int r = get_member(rd, o, where, key, json_type_int, &v);
	if (r)
		return r;
	if (json_object_get_int64(v) < 0)
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: negative", where, key);
	u = json_object_get_uint64(v);
	if (u > max || u == UINT64_MAX)
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: out of range", where, key);
	*out = u;
	return TPA_OK;
}

/* Printable ASCII of fewer than cap bytes. */
static int get_text(struct rd *rd, struct json_object *o, const char *where, const char *key,
                    char *buf, size_t cap)
{
	const char *s;
	size_t sl;
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	if (sl >= cap)
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: longer than %zu characters", where, key,
		              cap - 1);
	for (size_t i = 0; i < sl; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return refuse(rd, TPA_E_MALFORMED, "%s.%s: not printable ASCII", where,
			              key);
	memcpy(buf, s, sl + 1);
	return TPA_OK;
}

static int get_alg(struct rd *rd, struct json_object *o, const char *where, const char *key,
                   uint16_t *alg)
{
	const char *s;
	size_t sl;
	int r;
	if ((r = get_str(rd, o, where, key, &s, &sl)) != TPA_OK)
		return r;
	if (strcmp(s, "rsa") == 0)
		*alg = TPM2_ALG_RSA;
	else if (strcmp(s, "ecc") == 0)
		*alg = TPM2_ALG_ECC;
	else
		return refuse(rd, TPA_E_MALFORMED, "%s.%s: not \"rsa\" or \"ecc\"", where, key);
	return TPA_OK;
}

static int get_time(struct rd *rd, struct json_object *o, const char *where, const char *key,
                    int64_t *t)
{
	uint64_t u;
	int r = get_uint(rd, o, where, key, INT64_MAX, &u);
	if (!r)
		*t = (int64_t)u;
	return r;
}

/* Parses the document and checks format, version and members. */
static int doc_open(struct rd *rd, const char *json, size_t len, const char *format,
                    const char *const *known, struct json_object **root)
{
	struct json_object *o = NULL, *v;
	const char *f;
	size_t fl;
	int r;
	if (!json)
		return TPA_E_INVALID_ARG;
	if (len > TPA_ENROLL_JSON_MAX)
		return refuse(rd, TPA_E_LIMIT, "larger than %u bytes", TPA_ENROLL_JSON_MAX);
	/* a few dozen values each: a budget keeps a 1 MiB document of a
	 * million tiny values cheap to refuse */
	if ((r = tpa_json_parse_max(json, len, TPA_ENROLL_JSON_MAX, TPA_ENROLL_JSON_MAX_VALUES, &o,
	                            rd->why, rd->whylen)) != TPA_OK)
		return r;
	r = TPA_E_MALFORMED;
	if (!json_object_is_type(o, json_type_object)) {
		refuse(rd, r, "not a JSON object");
		goto fail;
	}
	if ((r = get_str(rd, o, format, "format", &f, &fl)) != TPA_OK)
		goto fail;
	if (strcmp(f, format) != 0) {
		r = refuse(rd, TPA_E_MALFORMED, "format: not \"%s\"", format);
		goto fail;
	}
	if ((r = get_member(rd, o, format, "version", json_type_int, &v)) != TPA_OK)
		goto fail;
	if (json_object_get_int64(v) != 1) {
		r = refuse(rd, TPA_E_MALFORMED, "version: not 1");
		goto fail;
	}
	if ((r = only_known(rd, o, format, known)) != TPA_OK)
		goto fail;
	*root = o;
	return TPA_OK;
fail:
	json_object_put(o);
	return r;
}

/* A TPM2B whose size prefix is the rest of the buffer. */
static int tpm2b_whole(const uint8_t *p, size_t n)
{
	return n >= 2 && (size_t)(p[0] << 8 | p[1]) == n - 2;
}

/* ---- request ---- */

#define FMT_REQUEST "tpmattest-enroll-request"
#define FMT_CHALLENGE "tpmattest-enroll-challenge"
#define FMT_PENDING "tpmattest-enroll-pending"
#define FMT_RESPONSE "tpmattest-enroll-response"
#define FMT_RECORD "tpmattest-enrollment"

void tpa_enroll_request_clear(tpa_enroll_request *req)
{
	if (!req)
		return;
	free(req->ek_rsa.cert);
	free(req->ek_ecc.cert);
	for (size_t i = 0; i < req->n_chain && i < TPA_ENROLL_MAX_CHAIN; i++)
		free(req->chain[i]);
	memset(req, 0, sizeof(*req));
}

static void put_ek(struct wr *w, struct json_object *eks, const char *key, const tpa_enroll_ek *e)
{
	struct json_object *o;
	if (!e->present || !(o = obj_new(w, eks, key)))
		return;
	put_b64(w, o, "public", e->public_area, e->public_len);
	if (e->cert)
		put_b64(w, o, "certificate", e->cert, e->cert_len);
	else
		/* json-c's null is the NULL object */
		if (json_object_object_add(o, "certificate", NULL) != 0)
			w->err = TPA_E_NOMEM;
}

int tpa_enroll_request_to_json(const tpa_enroll_request *req, char **out)
{
	struct wr w = {0};
	struct json_object *root, *o, *a;
	if (!req || !out)
		return TPA_E_INVALID_ARG;
	if (!(root = doc_new(&w, FMT_REQUEST)))
		return w.err;
	put(&w, root, "tool", json_object_new_string("tpmattest"));
	if ((o = obj_new(&w, root, "ek"))) {
		put_ek(&w, o, "rsa", &req->ek_rsa);
		put_ek(&w, o, "ecc", &req->ek_ecc);
	}
	if ((a = json_object_new_array())) {
		for (size_t i = 0; i < req->n_chain; i++) {
			char *s = tpa_b64_encode(req->chain[i], req->chain_len[i]);
			if (!s || json_object_array_add(a, json_object_new_string(s)) != 0)
				w.err = TPA_E_NOMEM;
			free(s);
		}
	}
	put(&w, root, "ek_chain", a);
	if ((o = obj_new(&w, root, "ak"))) {
		put_handle(&w, o, "handle", req->ak_handle);
		put_b64(&w, o, "public", req->ak_public, req->ak_public_len);
		put_hex(&w, o, "qualified_name", req->ak_qualified_name,
		        req->ak_qualified_name_len);
	}
	if ((o = obj_new(&w, root, "counter"))) {
		put_handle(&w, o, "index", req->counter_index);
		put_b64(&w, o, "public", req->counter_public, req->counter_public_len);
	}
	if ((o = obj_new(&w, root, "tpm"))) {
		put(&w, o, "manufacturer", json_object_new_string(req->tpm_manufacturer));
		put(&w, o, "vendor", json_object_new_string(req->tpm_vendor));
		put(&w, o, "firmware1", json_object_new_int64(req->tpm_firmware1));
		put(&w, o, "firmware2", json_object_new_int64(req->tpm_firmware2));
	}
	return doc_finish(&w, root, out);
}

static int read_ek(struct rd *rd, struct json_object *eks, const char *key, tpa_enroll_ek *e)
{
	static const char *const known[] = {"public", "certificate", NULL};
	struct json_object *o, *c;
	char where[16];
	int r;
	if (!json_object_object_get_ex(eks, key, &o))
		return TPA_OK;
	snprintf(where, sizeof(where), "ek.%s", key);
	if (!json_object_is_type(o, json_type_object))
		return refuse(rd, TPA_E_MALFORMED, "%s: not an object", where);
	if ((r = only_known(rd, o, where, known)) != TPA_OK ||
	    (r = get_b64(rd, o, where, "public", e->public_area, 2, sizeof(e->public_area),
	                 &e->public_len)) != TPA_OK)
		return r;
	if (!tpm2b_whole(e->public_area, e->public_len))
		return refuse(rd, TPA_E_MALFORMED, "%s.public: not one TPM2B_PUBLIC", where);
	if (!json_object_object_get_ex(o, "certificate", &c))
		return refuse(rd, TPA_E_MALFORMED, "%s: no member \"certificate\" (null: none)",
		              where);
	if (!json_object_is_type(c, json_type_null)) {
		char w2[32];
		snprintf(w2, sizeof(w2), "%s.certificate", where);
		if ((r = get_b64_alloc(rd, c, w2, TPA_EKCERT_MAX_INPUT, &e->cert, &e->cert_len)) !=
		    TPA_OK)
			return r;
	}
	e->present = 1;
	return TPA_OK;
}

int tpa_enroll_request_from_json(const char *json, size_t len, tpa_enroll_request *out, char *why,
                                 size_t whylen)
{
	static const char *const known[] = {"format", "version", "tool", "ek", "ek_chain",
	                                    "ak",     "counter", "tpm",  NULL};
	static const char *const known_ek[] = {"rsa", "ecc", NULL};
	static const char *const known_ak[] = {"handle", "public", "qualified_name", NULL};
	static const char *const known_ctr[] = {"index", "public", NULL};
	static const char *const known_tpm[] = {"manufacturer", "vendor", "firmware1", "firmware2",
	                                        NULL};
	struct rd rd = {why, whylen};
	struct json_object *root = NULL, *o, *v;
	tpa_enroll_request *req;
	uint64_t u;
	int r;

	if (!out)
		return TPA_E_INVALID_ARG;
	if ((r = doc_open(&rd, json, len, FMT_REQUEST, known, &root)) != TPA_OK)
		return r;
	if (!(req = calloc(1, sizeof(*req)))) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	if (json_object_object_get_ex(root, "tool", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		r = refuse(&rd, TPA_E_MALFORMED, "tool: not a string");
		goto fail;
	}
	if ((r = get_member(&rd, root, "request", "ek", json_type_object, &o)) != TPA_OK ||
	    (r = only_known(&rd, o, "ek", known_ek)) != TPA_OK ||
	    (r = read_ek(&rd, o, "rsa", &req->ek_rsa)) != TPA_OK ||
	    (r = read_ek(&rd, o, "ecc", &req->ek_ecc)) != TPA_OK)
		goto fail;
	if (!req->ek_rsa.present && !req->ek_ecc.present) {
		r = refuse(&rd, TPA_E_MALFORMED, "ek: neither \"rsa\" nor \"ecc\"");
		goto fail;
	}
	if ((r = get_member(&rd, root, "request", "ek_chain", json_type_array, &o)) != TPA_OK)
		goto fail;
	if (json_object_array_length(o) > TPA_ENROLL_MAX_CHAIN) {
		r = refuse(&rd, TPA_E_LIMIT, "ek_chain: more than %d certificates",
		           TPA_ENROLL_MAX_CHAIN);
		goto fail;
	}
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		char where[40];
		snprintf(where, sizeof(where), "ek_chain[%zu]", i);
		if ((r = get_b64_alloc(&rd, json_object_array_get_idx(o, i), where,
		                       TPA_EKCERT_MAX_INPUT, &req->chain[i], &req->chain_len[i])) !=
		    TPA_OK)
			goto fail;
		req->n_chain = i + 1;
	}
	if ((r = get_member(&rd, root, "request", "ak", json_type_object, &o)) != TPA_OK ||
	    (r = only_known(&rd, o, "ak", known_ak)) != TPA_OK ||
	    (r = get_handle(&rd, o, "ak", "handle", &req->ak_handle)) != TPA_OK ||
	    (r = get_b64(&rd, o, "ak", "public", req->ak_public, 2, sizeof(req->ak_public),
	                 &req->ak_public_len)) != TPA_OK ||
	    (r = get_name(&rd, o, "ak", "qualified_name", req->ak_qualified_name,
	                  &req->ak_qualified_name_len)) != TPA_OK)
		goto fail;
	if (!tpm2b_whole(req->ak_public, req->ak_public_len)) {
		r = refuse(&rd, TPA_E_MALFORMED, "ak.public: not one TPM2B_PUBLIC");
		goto fail;
	}
	if ((r = get_member(&rd, root, "request", "counter", json_type_object, &o)) != TPA_OK ||
	    (r = only_known(&rd, o, "counter", known_ctr)) != TPA_OK ||
	    (r = get_handle(&rd, o, "counter", "index", &req->counter_index)) != TPA_OK ||
	    (r = get_b64(&rd, o, "counter", "public", req->counter_public, 2,
	                 sizeof(req->counter_public), &req->counter_public_len)) != TPA_OK)
		goto fail;
	if (!tpm2b_whole(req->counter_public, req->counter_public_len)) {
		r = refuse(&rd, TPA_E_MALFORMED, "counter.public: not one TPM2B_NV_PUBLIC");
		goto fail;
	}
	if ((r = get_member(&rd, root, "request", "tpm", json_type_object, &o)) != TPA_OK ||
	    (r = only_known(&rd, o, "tpm", known_tpm)) != TPA_OK ||
	    (r = get_text(&rd, o, "tpm", "manufacturer", req->tpm_manufacturer,
	                  sizeof(req->tpm_manufacturer))) != TPA_OK ||
	    (r = get_text(&rd, o, "tpm", "vendor", req->tpm_vendor, sizeof(req->tpm_vendor))) !=
	            TPA_OK ||
	    (r = get_uint(&rd, o, "tpm", "firmware1", UINT32_MAX, &u)) != TPA_OK)
		goto fail;
	req->tpm_firmware1 = (uint32_t)u;
	if ((r = get_uint(&rd, o, "tpm", "firmware2", UINT32_MAX, &u)) != TPA_OK)
		goto fail;
	req->tpm_firmware2 = (uint32_t)u;
	json_object_put(root);
	*out = *req;
	free(req);
	return TPA_OK;
fail:
	json_object_put(root);
	tpa_enroll_request_clear(req);
	free(req);
	return r;
}

/* ---- chain summary ---- */

static void put_chain(struct wr *w, struct json_object *parent, const tpa_enroll_chain *c)
{
	struct json_object *o = obj_new(w, parent, "ek_certificate");
	if (!o)
		return;
	put(w, o, "manufacturer", json_object_new_string(c->manufacturer));
	put(w, o, "vendor", json_object_new_string(c->vendor));
	put(w, o, "model", json_object_new_string(c->model));
	put(w, o, "version", json_object_new_string(c->version));
	put(w, o, "issuer", json_object_new_string(c->issuer));
	put(w, o, "root", json_object_new_string(c->root));
	put(w, o, "serial", json_object_new_string(c->serial));
	put(w, o, "chain_length", json_object_new_int64((int64_t)c->length));
}

static int read_chain(struct rd *rd, struct json_object *root, tpa_enroll_chain *c)
{
	static const char *const known[] = {"manufacturer", "vendor",       "model",
	                                    "version",      "issuer",       "root",
	                                    "serial",       "chain_length", NULL};
	static const char *const w = "ek_certificate";
	struct json_object *o;
	uint64_t u;
	int r;
	if ((r = get_member(rd, root, "document", w, json_type_object, &o)) != TPA_OK ||
	    (r = only_known(rd, o, w, known)) != TPA_OK ||
	    (r = get_text(rd, o, w, "manufacturer", c->manufacturer, sizeof(c->manufacturer))) ||
	    (r = get_text(rd, o, w, "vendor", c->vendor, sizeof(c->vendor))) ||
	    (r = get_text(rd, o, w, "model", c->model, sizeof(c->model))) ||
	    (r = get_text(rd, o, w, "version", c->version, sizeof(c->version))) ||
	    (r = get_text(rd, o, w, "issuer", c->issuer, sizeof(c->issuer))) ||
	    (r = get_text(rd, o, w, "root", c->root, sizeof(c->root))) ||
	    (r = get_text(rd, o, w, "serial", c->serial, sizeof(c->serial))) ||
	    (r = get_uint(rd, o, w, "chain_length", TPA_EKCERT_MAX_CHAIN, &u)))
		return r;
	c->length = (size_t)u;
	return TPA_OK;
}

/* ---- challenge ---- */

int tpa_enroll_challenge_to_json(const tpa_enroll_challenge *c, char **out)
{
	struct wr w = {0};
	struct json_object *root;
	if (!c || !out || !alg_word(c->ek_alg))
		return TPA_E_INVALID_ARG;
	if (!(root = doc_new(&w, FMT_CHALLENGE)))
		return w.err;
	put_hex(&w, root, "id", c->id, sizeof(c->id));
	put(&w, root, "ek", json_object_new_string(alg_word(c->ek_alg)));
	put_handle(&w, root, "ak_handle", c->ak_handle);
	put_b64(&w, root, "id_object", c->credential.id_object, c->credential.id_object_len);
	put_b64(&w, root, "encrypted_secret", c->credential.encrypted_secret,
	        c->credential.encrypted_secret_len);
	return doc_finish(&w, root, out);
}

int tpa_enroll_challenge_from_json(const char *json, size_t len, tpa_enroll_challenge *out,
                                   char *why, size_t whylen)
{
	static const char *const known[] = {
	        "format",    "version",          "id", "ek", "ak_handle",
	        "id_object", "encrypted_secret", NULL};
	struct rd rd = {why, whylen};
	struct json_object *root = NULL;
	tpa_enroll_challenge c;
	int r;
	if (!out)
		return TPA_E_INVALID_ARG;
	memset(&c, 0, sizeof(c));
	if ((r = doc_open(&rd, json, len, FMT_CHALLENGE, known, &root)) != TPA_OK)
		return r;
	if ((r = get_hex(&rd, root, "challenge", "id", c.id, sizeof(c.id))) ||
	    (r = get_alg(&rd, root, "challenge", "ek", &c.ek_alg)) ||
	    (r = get_handle(&rd, root, "challenge", "ak_handle", &c.ak_handle)) ||
	    (r = get_b64(&rd, root, "challenge", "id_object", c.credential.id_object, 2,
	                 sizeof(c.credential.id_object), &c.credential.id_object_len)) ||
	    (r = get_b64(&rd, root, "challenge", "encrypted_secret", c.credential.encrypted_secret,
	                 2, sizeof(c.credential.encrypted_secret),
	                 &c.credential.encrypted_secret_len)))
		goto out;
	if (!tpm2b_whole(c.credential.id_object, c.credential.id_object_len)) {
		r = refuse(&rd, TPA_E_MALFORMED, "id_object: not one TPM2B_ID_OBJECT");
		goto out;
	}
	if (!tpm2b_whole(c.credential.encrypted_secret, c.credential.encrypted_secret_len)) {
		r = refuse(&rd, TPA_E_MALFORMED,
		           "encrypted_secret: not one TPM2B_ENCRYPTED_SECRET");
		goto out;
	}
	*out = c;
out:
	json_object_put(root);
	return r;
}

/* ---- response ---- */

int tpa_enroll_response_to_json(const tpa_enroll_response *resp, char **out)
{
	struct wr w = {0};
	struct json_object *root;
	if (!resp || !out || resp->secret_len > sizeof(resp->secret))
		return TPA_E_INVALID_ARG;
	if (!(root = doc_new(&w, FMT_RESPONSE)))
		return w.err;
	put_hex(&w, root, "id", resp->id, sizeof(resp->id));
	put_b64(&w, root, "secret", resp->secret, resp->secret_len);
	return doc_finish(&w, root, out);
}

int tpa_enroll_response_from_json(const char *json, size_t len, tpa_enroll_response *out, char *why,
                                  size_t whylen)
{
	static const char *const known[] = {"format", "version", "id", "secret", NULL};
	struct rd rd = {why, whylen};
	struct json_object *root = NULL;
	tpa_enroll_response resp;
	int r;
	if (!out)
		return TPA_E_INVALID_ARG;
	memset(&resp, 0, sizeof(resp));
	if ((r = doc_open(&rd, json, len, FMT_RESPONSE, known, &root)) != TPA_OK)
		return r;
	if (!(r = get_hex(&rd, root, "response", "id", resp.id, sizeof(resp.id))) &&
	    !(r = get_b64(&rd, root, "response", "secret", resp.secret, 1, sizeof(resp.secret),
	                  &resp.secret_len)))
		*out = resp;
	OPENSSL_cleanse(&resp, sizeof(resp));
	json_object_put(root);
	return r;
}

/* ---- pending and record ---- */

/* What pending and record share: EK, AK, counter. */
struct binding {
	uint16_t *ek_alg;
	char *ek_template;
	uint8_t *ek_public;
	size_t *ek_public_len;
	uint32_t *ak_handle;
	uint8_t *ak_public;
	size_t *ak_public_len;
	uint8_t *ak_name;
	size_t *ak_name_len;
	uint32_t *counter_index;
	uint8_t *counter_name;
	size_t *counter_name_len;
	int *counter_authorized;
	uint8_t *counter_policy;
	tpa_enroll_chain *chain;
};

#define BINDING(x)                                                                             \
	{                                                                                      \
		&(x)->ek_alg, (x)->ek_template, (x)->ek_public, &(x)->ek_public_len,           \
		        &(x)->ak_handle, (x)->ak_public, &(x)->ak_public_len, (x)->ak_name,    \
		        &(x)->ak_name_len, &(x)->counter_index, (x)->counter_name,             \
		        &(x)->counter_name_len, &(x)->counter_authorized, (x)->counter_policy, \
		        &(x)->chain                                                            \
	}

static void put_binding(struct wr *w, struct json_object *root, const struct binding *b)
{
	struct json_object *o;
	if ((o = obj_new(w, root, "ek"))) {
		put(w, o, "alg",
		    alg_word(*b->ek_alg) ? json_object_new_string(alg_word(*b->ek_alg)) : NULL);
		put(w, o, "template", json_object_new_string(b->ek_template));
		put_b64(w, o, "public", b->ek_public, *b->ek_public_len);
	}
	put_chain(w, root, b->chain);
	if ((o = obj_new(w, root, "ak"))) {
		put_handle(w, o, "handle", *b->ak_handle);
		put_b64(w, o, "public", b->ak_public, *b->ak_public_len);
		put_hex(w, o, "name", b->ak_name, *b->ak_name_len);
	}
	if ((o = obj_new(w, root, "counter"))) {
		put_handle(w, o, "index", *b->counter_index);
		put_hex(w, o, "name", b->counter_name, *b->counter_name_len);
		/* absent for the older counter, as in records made before */
		if (*b->counter_authorized)
			put_hex(w, o, "authorized_by_policy", b->counter_policy, 32);
	}
}

static int read_binding(struct rd *rd, struct json_object *root, const struct binding *b)
{
	static const char *const known_ek[] = {"alg", "template", "public", NULL};
	static const char *const known_ak[] = {"handle", "public", "name", NULL};
	static const char *const known_ctr[] = {"index", "name", "authorized_by_policy", NULL};
	struct json_object *o, *pol;
	int r;
	if ((r = get_member(rd, root, "document", "ek", json_type_object, &o)) ||
	    (r = only_known(rd, o, "ek", known_ek)) ||
	    (r = get_alg(rd, o, "ek", "alg", b->ek_alg)) ||
	    (r = get_text(rd, o, "ek", "template", b->ek_template, 4)) ||
	    (r = get_b64(rd, o, "ek", "public", b->ek_public, 2, TPA_ENROLL_MAX_PUBLIC,
	                 b->ek_public_len)))
		return r;
	if (!tpm2b_whole(b->ek_public, *b->ek_public_len))
		return refuse(rd, TPA_E_MALFORMED, "ek.public: not one TPM2B_PUBLIC");
	if ((r = read_chain(rd, root, b->chain)))
		return r;
	if ((r = get_member(rd, root, "document", "ak", json_type_object, &o)) ||
	    (r = only_known(rd, o, "ak", known_ak)) ||
	    (r = get_handle(rd, o, "ak", "handle", b->ak_handle)) ||
	    (r = get_b64(rd, o, "ak", "public", b->ak_public, 2, TPA_ENROLL_MAX_PUBLIC,
	                 b->ak_public_len)) ||
	    (r = get_name(rd, o, "ak", "name", b->ak_name, b->ak_name_len)))
		return r;
	if (!tpm2b_whole(b->ak_public, *b->ak_public_len))
		return refuse(rd, TPA_E_MALFORMED, "ak.public: not one TPM2B_PUBLIC");
	if ((r = get_member(rd, root, "document", "counter", json_type_object, &o)) ||
	    (r = only_known(rd, o, "counter", known_ctr)) ||
	    (r = get_handle(rd, o, "counter", "index", b->counter_index)) ||
	    (r = get_name(rd, o, "counter", "name", b->counter_name, b->counter_name_len)))
		return r;
	*b->counter_authorized = 0;
	if (json_object_object_get_ex(o, "authorized_by_policy", &pol)) {
		if (!json_object_is_type(pol, json_type_string) ||
		    json_object_get_string_len(pol) != 64 ||
		    tpa_json_hex_decode(json_object_get_string(pol), 64, b->counter_policy, 32) !=
		            TPA_OK)
			return refuse(
			        rd, TPA_E_MALFORMED,
			        "counter.authorized_by_policy: not 32 bytes in lowercase hex");
		*b->counter_authorized = 1;
	}
	return TPA_OK;
}

int tpa_enroll_pending_to_json(const tpa_enroll_pending *p, char **out)
{
	struct wr w = {0};
	struct json_object *root;
	tpa_enroll_pending *q = (tpa_enroll_pending *)(uintptr_t)p;
	struct binding b = BINDING(q);
	if (!p || !out)
		return TPA_E_INVALID_ARG;
	if (!(root = doc_new(&w, FMT_PENDING)))
		return w.err;
	put_hex(&w, root, "id", p->id, sizeof(p->id));
	put_b64(&w, root, "secret", p->secret, sizeof(p->secret));
	put(&w, root, "created", json_object_new_int64(p->created));
	put(&w, root, "expires", json_object_new_int64(p->expires));
	put_binding(&w, root, &b);
	return doc_finish(&w, root, out);
}

int tpa_enroll_pending_from_json(const char *json, size_t len, tpa_enroll_pending *out, char *why,
                                 size_t whylen)
{
	static const char *const known[] = {"format",  "version", "id", "secret",
	                                    "created", "expires", "ek", "ek_certificate",
	                                    "ak",      "counter", NULL};
	struct rd rd = {why, whylen};
	struct json_object *root = NULL;
	tpa_enroll_pending *p;
	size_t sl = 0;
	int r;
	if (!out)
		return TPA_E_INVALID_ARG;
	if ((r = doc_open(&rd, json, len, FMT_PENDING, known, &root)) != TPA_OK)
		return r;
	if (!(p = calloc(1, sizeof(*p)))) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	{
		struct binding b = BINDING(p);
		if (!(r = get_hex(&rd, root, "pending", "id", p->id, sizeof(p->id))) &&
		    !(r = get_b64(&rd, root, "pending", "secret", p->secret, sizeof(p->secret),
		                  sizeof(p->secret), &sl)) &&
		    !(r = get_time(&rd, root, "pending", "created", &p->created)) &&
		    !(r = get_time(&rd, root, "pending", "expires", &p->expires)) &&
		    !(r = read_binding(&rd, root, &b)))
			*out = *p;
	}
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
	json_object_put(root);
	return r;
}

int tpa_enrollment_to_json(const tpa_enrollment *e, char **out)
{
	struct wr w = {0};
	struct json_object *root;
	tpa_enrollment *q = (tpa_enrollment *)(uintptr_t)e;
	struct binding b = BINDING(q);
	if (!e || !out)
		return TPA_E_INVALID_ARG;
	if (!(root = doc_new(&w, FMT_RECORD)))
		return w.err;
	put_hex(&w, root, "machine_id", e->machine_id, sizeof(e->machine_id));
	put(&w, root, "enrolled_at", json_object_new_int64(e->enrolled_at));
	put_binding(&w, root, &b);
	return doc_finish(&w, root, out);
}

static int ak_name_of(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len)
{
	TPMT_PUBLIC t;
	uint8_t n[2 + 64];
	size_t nl;
	if (tpa_public_decode(pub, len, &t) != TPA_OK || tpa_public_name(&t, n, &nl) != TPA_OK ||
	    nl > TPA_ENROLL_MAX_NAME)
		return TPA_E_MALFORMED;
	memcpy(name, n, nl);
	*name_len = nl;
	return TPA_OK;
}

int tpa_enrollment_from_json(const char *json, size_t len, tpa_enrollment *out, char *why,
                             size_t whylen)
{
	static const char *const known[] = {"format",      "version", "machine_id",
	                                    "enrolled_at", "ek",      "ek_certificate",
	                                    "ak",          "counter", NULL};
	struct rd rd = {why, whylen};
	struct json_object *root = NULL;
	tpa_enrollment *e;
	uint8_t id[32], name[TPA_ENROLL_MAX_NAME];
	size_t nl;
	int r;
	if (!out)
		return TPA_E_INVALID_ARG;
	if ((r = doc_open(&rd, json, len, FMT_RECORD, known, &root)) != TPA_OK)
		return r;
	if (!(e = calloc(1, sizeof(*e)))) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	{
		struct binding b = BINDING(e);
		if ((r = get_hex(&rd, root, "record", "machine_id", e->machine_id, 32)) ||
		    (r = get_time(&rd, root, "record", "enrolled_at", &e->enrolled_at)) ||
		    (r = read_binding(&rd, root, &b)))
			goto out;
	}
	if ((r = tpa_hash(TPA_ALG_SHA256, e->ek_public, e->ek_public_len, id)) != TPA_OK)
		goto out;
	if (CRYPTO_memcmp(id, e->machine_id, 32) != 0) {
		r = refuse(&rd, TPA_E_MALFORMED, "machine_id: not SHA-256 of ek.public");
		goto out;
	}
	if (ak_name_of(e->ak_public, e->ak_public_len, name, &nl) != TPA_OK) {
		r = refuse(&rd, TPA_E_MALFORMED, "ak.public: not a TPM public area");
		goto out;
	}
	if (nl != e->ak_name_len || CRYPTO_memcmp(name, e->ak_name, nl) != 0) {
		r = refuse(&rd, TPA_E_MALFORMED, "ak.name: not the Name of ak.public");
		goto out;
	}
	*out = *e;
out:
	free(e);
	json_object_put(root);
	return r;
}

/* ---- the verifier's steps ---- */

static int deny(tpa_enroll_verdict *v, const char *check, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int deny(tpa_enroll_verdict *v, const char *check, int err, const char *fmt, ...)
{
	va_list ap;
	v->check = check;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return err;
}

/* QN = nameAlg || H_nameAlg(parent QN || Name) (Part 1, 16.6). */
static int qualify(const uint8_t *parent, size_t plen, const uint8_t *name, size_t nlen,
                   uint8_t *out, size_t *outlen)
{
	uint8_t buf[4 + 2 * TPA_ENROLL_MAX_NAME];
	uint16_t alg = (uint16_t)(name[0] << 8 | name[1]);
	size_t ds = tpa_alg_digest_size(alg);
	if (plen > TPA_ENROLL_MAX_NAME || nlen > TPA_ENROLL_MAX_NAME || !ds)
		return TPA_E_INVALID_ARG;
	memcpy(buf, parent, plen);
	memcpy(buf + plen, name, nlen);
	out[0] = name[0];
	out[1] = name[1];
	*outlen = 2 + ds;
	return tpa_hash(alg, buf, plen + nlen, out + 2);
}

/* Whether the AK with this Name is, as its qualified name says, a child of
 * the EK with this public area under the endorsement hierarchy. */
static int is_parent(const tpa_enroll_ek *ek, const uint8_t *ak_name, size_t ak_name_len,
                     const uint8_t *qn, size_t qn_len)
{
	uint8_t ekn[TPA_ENROLL_MAX_NAME], qek[TPA_ENROLL_MAX_NAME], qak[TPA_ENROLL_MAX_NAME];
	size_t ekl, qekl, qakl;
	if (!ek->present || ak_name_of(ek->public_area, ek->public_len, ekn, &ekl) != TPA_OK ||
	    qualify(rh_endorsement, sizeof(rh_endorsement), ekn, ekl, qek, &qekl) != TPA_OK ||
	    qualify(qek, qekl, ak_name, ak_name_len, qak, &qakl) != TPA_OK)
		return 0;
	return qakl == qn_len && CRYPTO_memcmp(qak, qn, qn_len) == 0;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* The counter: TPM_NT_COUNTER with the attributes of one of tpmattest's two
 * kinds, its Name with TPMA_NV_WRITTEN (set by the first increment, and
 * always set when NV_Certify shows it).  The verifier-authorized kind must
 * have this verifier's authPolicy; the older kind is accepted only when
 * the verifier knows no other or allows it. */
static int counter_check(const tpa_enroll_request *req, const tpa_enroll_opts *o,
                         const uint8_t *ek_public, size_t ek_public_len, tpa_enroll_pending *p,
                         tpa_enroll_verdict *v)
{
	uint8_t mid[TPA_COUNTER_MACHINE_LEN], want[32];
	TPM2B_NV_PUBLIC nv;
	uint8_t buf[sizeof(TPMS_NV_PUBLIC) + 8];
	size_t off = 0;
	uint32_t type, attrs;
	int authorized;

	memset(&nv, 0, sizeof(nv));
	if (Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(req->counter_public, req->counter_public_len, &off,
	                                      &nv) != TSS2_RC_SUCCESS ||
	    off != req->counter_public_len)
		return deny(v, "counter", TPA_E_MALFORMED,
		            "the counter's public area is not one TPM2B_NV_PUBLIC");
	if (nv.nvPublic.nvIndex != req->counter_index)
		return deny(v, "counter", TPA_E_POLICY,
		            "the counter's public area is NV index 0x%08x, not 0x%08x",
		            nv.nvPublic.nvIndex, req->counter_index);
	type = (nv.nvPublic.attributes & NV_TYPE_MASK) >> NV_TYPE_SHIFT;
	if (type != NT_COUNTER)
		return deny(v, "counter", TPA_E_POLICY,
		            "NV index 0x%08x is not a counter (TPM_NT_COUNTER): its type is %u",
		            req->counter_index, type);
	attrs = nv.nvPublic.attributes & ~NV_WRITTEN;
	if (attrs == AUTH_COUNTER_ATTRS) {
		authorized = 1;
	} else if (attrs == COUNTER_ATTRS) {
		authorized = 0;
	} else {
		return deny(
		        v, "counter", TPA_E_POLICY,
		        "NV index 0x%08x has attributes 0x%08x, neither "
		        "policywrite|authread|ownerread|no_da (the verifier-authorized counter) "
		        "nor authread|authwrite|ownerread|ownerwrite|no_da",
		        req->counter_index, nv.nvPublic.attributes);
	}
	if (nv.nvPublic.nameAlg != TPM2_ALG_SHA256 || nv.nvPublic.dataSize != 8)
		return deny(v, "counter", TPA_E_POLICY,
		            "NV index 0x%08x is not an 8-byte counter with nameAlg SHA-256",
		            req->counter_index);
	if (authorized) {
		if (!o->counter_key_name)
			return deny(v, "counter", TPA_E_POLICY,
			            "NV index 0x%08x is a verifier-authorized counter, and this "
			            "verifier was given no counter key to authorize it with",
			            req->counter_index);
		/* this machine's: PolicyAuthorize(key, policyRef = its id) */
		if (tpa_counter_machine_id(ek_public, ek_public_len, mid) != TPA_OK ||
		    tpa_counter_policy(o->counter_key_name, mid, want) != TPA_OK)
			return deny(v, "counter", TPA_E_CRYPTO, "cannot hash");
		if (nv.nvPublic.authPolicy.size != 32 ||
		    CRYPTO_memcmp(nv.nvPublic.authPolicy.buffer, want, 32) != 0)
			return deny(
			        v, "counter", TPA_E_POLICY,
			        "NV index 0x%08x: its authPolicy is not this verifier's for this "
			        "machine (made for another verifier key, or another machine's EK?)",
			        req->counter_index);
	} else {
		if (nv.nvPublic.authPolicy.size != 0)
			return deny(v, "counter", TPA_E_POLICY,
			            "NV index 0x%08x: the older counter has no policy",
			            req->counter_index);
		if (o->counter_key_name && !o->allow_legacy_counter)
			return deny(
			        v, "counter", TPA_E_POLICY,
			        "NV index 0x%08x is the older counter, which anyone on the "
			        "machine may increment (a rolled-back TPM pushed forward would "
			        "not be caught): provision the verifier-authorized counter "
			        "(tpmattest enroll --server, or init --counter-key), or let this "
			        "verifier accept the older one",
			        req->counter_index);
	}
	nv.nvPublic.attributes |= NV_WRITTEN;
	off = 0;
	if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&nv.nvPublic, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return deny(v, "counter", TPA_E_CRYPTO, "cannot marshal the counter's public area");
	p->counter_name[0] = 0x00;
	p->counter_name[1] = 0x0b;
	if (tpa_hash(TPA_ALG_SHA256, buf, off, p->counter_name + 2) != TPA_OK)
		return deny(v, "counter", TPA_E_CRYPTO, "cannot hash");
	p->counter_name_len = 34;
	p->counter_authorized = authorized;
	memset(p->counter_policy, 0, sizeof(p->counter_policy));
	if (authorized)
		memcpy(p->counter_policy, nv.nvPublic.authPolicy.buffer, 32);
	return TPA_OK;
}

int tpa_enroll_challenge_make(const tpa_enroll_request *req, const tpa_ekstore *roots,
                              const tpa_enroll_opts *opts, tpa_enroll_challenge *ch,
                              tpa_enroll_pending *pending, tpa_enroll_verdict *v)
{
	tpa_enroll_opts o = {0};
	tpa_ak *ak = NULL;
	tpa_ekcert *cert = NULL;
	const tpa_enroll_ek *ek = NULL;
	tpa_enroll_pending *p = NULL;
	tpa_enroll_challenge c;
	tpa_ekcert_opts co;
	const uint8_t *name;
	const char *tmpl = NULL;
	char why[TPA_EKCERT_TEXT_MAX] = "";
	size_t name_len;
	int r;

	if (!v)
		return TPA_E_INVALID_ARG;
	memset(v, 0, sizeof(*v));
	v->check = "";
	if (!req || !roots || !ch || !pending)
		return TPA_E_INVALID_ARG;
	if (opts)
		o = *opts;
	if (!o.now)
		o.now = (int64_t)time(NULL);
	if (!o.lifetime)
		o.lifetime = TPA_ENROLL_DEFAULT_LIFETIME;
	if (o.lifetime < 0 || o.now < 0 || o.now > INT64_MAX - o.lifetime)
		return TPA_E_INVALID_ARG;
	memset(&c, 0, sizeof(c));
	if (!(p = calloc(1, sizeof(*p))))
		return TPA_E_NOMEM;

	/* the AK: a restricted signing key of this TPM, and its parent */
	if ((r = tpa_ak_parse(req->ak_public, req->ak_public_len, &ak, why, sizeof(why))) !=
	    TPA_OK) {
		r = deny(v, "ak", r == TPA_E_NOMEM ? r : TPA_E_MALFORMED, "the AK: %s", why);
		goto out;
	}
	if ((r = tpa_ak_check(ak, why, sizeof(why))) != TPA_OK) {
		r = deny(v, "ak", TPA_E_POLICY, "the AK is not an attestation key: %s", why);
		goto out;
	}
	if (tpa_ak_name(ak, &name, &name_len) != TPA_OK || name_len > sizeof(p->ak_name)) {
		r = deny(v, "ak", TPA_E_MALFORMED, "the AK has no Name");
		goto out;
	}
	if (is_parent(&req->ek_ecc, name, name_len, req->ak_qualified_name,
	              req->ak_qualified_name_len))
		ek = &req->ek_ecc, c.ek_alg = TPM2_ALG_ECC;
	else if (is_parent(&req->ek_rsa, name, name_len, req->ak_qualified_name,
	                   req->ak_qualified_name_len))
		ek = &req->ek_rsa, c.ek_alg = TPM2_ALG_RSA;
	else {
		r = deny(
		        v, "ak_parent", TPA_E_POLICY,
		        "the AK's qualified name is not that of a child of the request's %s in the "
		        "endorsement hierarchy",
		        req->ek_ecc.present && req->ek_rsa.present ? "ECC or RSA EK"
		        : req->ek_ecc.present                      ? "ECC EK"
		                                                   : "RSA EK");
		goto out;
	}

	/* the EK: a default EK whose certificate chains to a root */
	if ((r = tpa_credential_ek_check(ek->public_area, ek->public_len, &tmpl, why,
	                                 sizeof(why))) != TPA_OK) {
		r = deny(v, "ek", r, "the %s EK: %s", alg_word(c.ek_alg), why);
		goto out;
	}
	/* L-1 and H-1 are RSA, L-2 and H-2 ECC: the slot the request put the
	 * EK in must be its own type, or the record would misname it */
	if (!tmpl || (tmpl[2] == '1') != (c.ek_alg == TPM2_ALG_RSA)) {
		r = deny(v, "ek", TPA_E_POLICY, "the request's %s EK is a %s template (%s)",
		         alg_word(c.ek_alg), tmpl && tmpl[2] == '1' ? "RSA" : "ECC",
		         tmpl ? tmpl : "none");
		goto out;
	}
	if (!ek->cert) {
		r = deny(v, "ek_certificate", TPA_E_POLICY,
		         "the %s EK (the AK's parent) has no certificate", alg_word(c.ek_alg));
		goto out;
	}
	if ((r = tpa_ekcert_parse(ek->cert, ek->cert_len, &cert, why, sizeof(why))) != TPA_OK) {
		r = deny(v, "ek_certificate", r, "the %s EK certificate: %s", alg_word(c.ek_alg),
		         why);
		goto out;
	}
	memset(&co, 0, sizeof(co));
	co.check_time = o.check_time;
	co.at = o.now;
	co.chain = (const uint8_t *const *)req->chain;
	co.chain_len = req->chain_len;
	co.n_chain = req->n_chain;
	r = tpa_ekcert_verify(cert, roots, &co, &v->cert);
	v->has_cert = 1;
	if (r != TPA_OK) {
		r = deny(v, "ek_certificate", r, "the %s EK certificate: %s: %s",
		         alg_word(c.ek_alg),
		         tpa_ekcert_reason_name(v->cert.reason)
		                 ? tpa_ekcert_reason_name(v->cert.reason)
		                 : "refused",
		         v->cert.why);
		goto out;
	}
	if ((r = tpa_ekcert_key_matches(cert, ek->public_area, ek->public_len, why, sizeof(why))) !=
	    TPA_OK) {
		r = deny(v, "ek_public", r == TPA_E_MISMATCH ? TPA_E_POLICY : r,
		         "the %s EK public area does not hold its certificate's key: %s",
		         alg_word(c.ek_alg), why);
		goto out;
	}

	/* the counter */
	if ((r = counter_check(req, &o, ek->public_area, ek->public_len, p, v)) != TPA_OK)
		goto out;

	/* the challenge */
	if ((r = tpa_credential_random(p->secret, sizeof(p->secret))) != TPA_OK ||
	    (r = tpa_credential_random(c.id, sizeof(c.id))) != TPA_OK) {
		r = deny(v, "challenge", r, "no random bytes");
		goto out;
	}
	if ((r = tpa_credential_make(ek->public_area, ek->public_len, ak, p->secret,
	                             sizeof(p->secret), &c.credential, why, sizeof(why))) !=
	    TPA_OK) {
		r = deny(v, "challenge", r, "MakeCredential: %s", why);
		goto out;
	}
	c.ak_handle = req->ak_handle;
	memcpy(p->id, c.id, sizeof(c.id));
	p->created = o.now;
	p->expires = o.now + o.lifetime;
	p->ek_alg = c.ek_alg;
	copy_text(p->ek_template, sizeof(p->ek_template), tmpl);
	memcpy(p->ek_public, ek->public_area, ek->public_len);
	p->ek_public_len = ek->public_len;
	p->ak_handle = req->ak_handle;
	memcpy(p->ak_public, req->ak_public, req->ak_public_len);
	p->ak_public_len = req->ak_public_len;
	memcpy(p->ak_name, name, name_len);
	p->ak_name_len = name_len;
	p->counter_index = req->counter_index;
	{
		const tpa_ekcert_info *info = tpa_ekcert_get_info(cert);
		tpa_enroll_chain *s = &p->chain;
		copy_text(s->manufacturer, sizeof(s->manufacturer), info->manufacturer);
		copy_text(s->vendor, sizeof(s->vendor), info->vendor_name);
		copy_text(s->model, sizeof(s->model), info->model);
		copy_text(s->version, sizeof(s->version), info->version);
		copy_text(s->issuer, sizeof(s->issuer), info->issuer);
		copy_text(s->serial, sizeof(s->serial), info->serial);
		s->length = v->cert.chain_len;
		if (v->cert.chain_len)
			copy_text(s->root, sizeof(s->root), v->cert.chain[v->cert.chain_len - 1]);
	}
	*ch = c;
	*pending = *p;
	r = TPA_OK;
out:
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
	OPENSSL_cleanse(&c, sizeof(c));
	tpa_ekcert_free(&cert);
	tpa_ak_free(&ak);
	return r;
}

int tpa_enroll_finish(const tpa_enroll_pending *pending, const tpa_enroll_response *resp,
                      int64_t now, tpa_enrollment *out, tpa_enroll_verdict *v)
{
	tpa_enrollment *e;
	int r;
	if (!v)
		return TPA_E_INVALID_ARG;
	memset(v, 0, sizeof(*v));
	v->check = "";
	if (!pending || !resp || !out || resp->secret_len > sizeof(resp->secret))
		return TPA_E_INVALID_ARG;
	if (!now)
		now = (int64_t)time(NULL);
	if (CRYPTO_memcmp(pending->id, resp->id, sizeof(resp->id)) != 0)
		return deny(v, "challenge", TPA_E_MISMATCH,
		            "the response answers another challenge (its id differs)");
	if (now > pending->expires)
		return deny(v, "expired", TPA_E_POLICY,
		            "the challenge expired %" PRId64 " seconds ago; enroll again",
		            now - pending->expires);
	if (tpa_credential_check(pending->secret, sizeof(pending->secret), resp->secret,
	                         resp->secret_len) != TPA_OK)
		return deny(v, "secret", TPA_E_MISMATCH,
		            "the secret returned is not the one the challenge wrapped: the AK and "
		            "the EK are not shown to be in one TPM");
	if (!(e = calloc(1, sizeof(*e))))
		return TPA_E_NOMEM;
	if ((r = tpa_hash(TPA_ALG_SHA256, pending->ek_public, pending->ek_public_len,
	                  e->machine_id)) != TPA_OK) {
		free(e);
		return deny(v, "record", r, "cannot hash the EK");
	}
	e->enrolled_at = now;
	e->ek_alg = pending->ek_alg;
	memcpy(e->ek_template, pending->ek_template, sizeof(e->ek_template));
	memcpy(e->ek_public, pending->ek_public, sizeof(e->ek_public));
	e->ek_public_len = pending->ek_public_len;
	e->chain = pending->chain;
	e->ak_handle = pending->ak_handle;
	memcpy(e->ak_public, pending->ak_public, sizeof(e->ak_public));
	e->ak_public_len = pending->ak_public_len;
	memcpy(e->ak_name, pending->ak_name, sizeof(e->ak_name));
	e->ak_name_len = pending->ak_name_len;
	e->counter_index = pending->counter_index;
	memcpy(e->counter_name, pending->counter_name, sizeof(e->counter_name));
	e->counter_name_len = pending->counter_name_len;
	e->counter_authorized = pending->counter_authorized;
	memcpy(e->counter_policy, pending->counter_policy, sizeof(e->counter_policy));
	*out = *e;
	free(e);
	return TPA_OK;
}
