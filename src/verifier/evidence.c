/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Evidence documents: the byte strings the attester collected, and their
 * JSON form (docs/evidence.md).  TPM structures stay as marshalled by the
 * TPM; this module never interprets them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include <tpmattest/evidence.h>

#include "base/json.h"
#include "base/pcrs_internal.h"
#include "base/util.h"

struct tpa_evidence {
	struct {
		uint8_t *data;
		size_t len;
		int present;
	} part[TPA_PART_COUNT_];
	tpa_pcrs *pcrs;
	uint32_t ak_handle, nv_index;
	uint64_t counter;
	char *tool;
};

int tpa_evidence_new(tpa_evidence **out)
{
	tpa_evidence *ev;
	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(ev = calloc(1, sizeof(*ev))))
		return TPA_E_NOMEM;
	*out = ev;
	return TPA_OK;
}

void tpa_evidence_free(tpa_evidence **ev)
{
	if (!ev || !*ev)
		return;
	for (size_t i = 0; i < TPA_PART_COUNT_; i++)
		free((*ev)->part[i].data);
	tpa_pcrs_free(&(*ev)->pcrs);
	free((*ev)->tool);
	free(*ev);
	*ev = NULL;
}

int tpa_evidence_set(tpa_evidence *ev, tpa_evidence_part part, const uint8_t *data, size_t len)
{
	uint8_t *copy;
	if (!ev || (unsigned)part >= TPA_PART_COUNT_ || (!data && len) ||
	    len > TPA_EVIDENCE_MAX_PART)
		return TPA_E_INVALID_ARG;
	/* +1: a zero-length part is still "present" and needs a non-NULL pointer */
	if (!(copy = malloc(len + 1)))
		return TPA_E_NOMEM;
	if (len)
		memcpy(copy, data, len);
	free(ev->part[part].data);
	ev->part[part].data = copy;
	ev->part[part].len = len;
	ev->part[part].present = 1;
	return TPA_OK;
}

const uint8_t *tpa_evidence_get(const tpa_evidence *ev, tpa_evidence_part part, size_t *len)
{
	if (!ev || (unsigned)part >= TPA_PART_COUNT_ || !ev->part[part].present)
		return NULL;
	if (len)
		*len = ev->part[part].len;
	return ev->part[part].data;
}

int tpa_evidence_set_pcrs(tpa_evidence *ev, tpa_pcrs **pcrs)
{
	if (!ev || !pcrs || !*pcrs)
		return TPA_E_INVALID_ARG;
	tpa_pcrs_free(&ev->pcrs);
	ev->pcrs = *pcrs;
	*pcrs = NULL;
	return TPA_OK;
}

const tpa_pcrs *tpa_evidence_pcrs(const tpa_evidence *ev)
{
	return ev ? ev->pcrs : NULL;
}

void tpa_evidence_set_handles(tpa_evidence *ev, uint32_t ak_handle, uint32_t nv_index)
{
	ev->ak_handle = ak_handle;
	ev->nv_index = nv_index;
}

uint32_t tpa_evidence_ak_handle(const tpa_evidence *ev)
{
	return ev->ak_handle;
}
uint32_t tpa_evidence_nv_index(const tpa_evidence *ev)
{
	return ev->nv_index;
}
void tpa_evidence_set_counter(tpa_evidence *ev, uint64_t value)
{
	ev->counter = value;
}
uint64_t tpa_evidence_counter(const tpa_evidence *ev)
{
	return ev->counter;
}

int tpa_evidence_set_tool(tpa_evidence *ev, const char *tool)
{
	char *copy;
	if (!ev || !tool)
		return TPA_E_INVALID_ARG;
	if (!(copy = strdup(tool)))
		return TPA_E_NOMEM;
	free(ev->tool);
	ev->tool = copy;
	return TPA_OK;
}

const char *tpa_evidence_tool(const tpa_evidence *ev)
{
	return ev->tool;
}

/* ---- JSON ---- */

static struct json_object *b64_new(const uint8_t *p, size_t len)
{
	struct json_object *o;
	char *s;
	if (len > TPA_EVIDENCE_MAX_PART || !(s = tpa_b64_encode(p, len)))
		return NULL;
	o = json_object_new_string(s);
	free(s);
	return o;
}

static struct json_object *hex_new(const uint8_t *p, size_t len)
{
	struct json_object *o;
	char *s;
	if (!(s = malloc(2 * len + 1)))
		return NULL;
	tpa_hex_encode(p, len, s);
	o = json_object_new_string(s);
	free(s);
	return o;
}

static struct json_object *handle_new(uint32_t h)
{
	char s[16];
	snprintf(s, sizeof(s), "0x%08" PRIx32, h);
	return json_object_new_string(s);
}

/* Adds key -> v to obj, taking v; fails (and frees v) when v is NULL. */
static int add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (!v)
		return TPA_E_NOMEM;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return TPA_E_NOMEM;
	}
	return TPA_OK;
}

static int add_part_b64(struct json_object *obj, const char *key, const tpa_evidence *ev,
                        tpa_evidence_part part)
{
	if (!ev->part[part].present)
		return TPA_OK;
	return add(obj, key, b64_new(ev->part[part].data, ev->part[part].len));
}

static int add_part_hex(struct json_object *obj, const char *key, const tpa_evidence *ev,
                        tpa_evidence_part part)
{
	if (!ev->part[part].present)
		return TPA_OK;
	return add(obj, key, hex_new(ev->part[part].data, ev->part[part].len));
}

/* The parts a document cannot do without. */
static const tpa_evidence_part required[] = {
        TPA_PART_NONCE,           TPA_PART_AK_PUBLIC,      TPA_PART_QUOTE_ATTEST,
        TPA_PART_QUOTE_SIGNATURE, TPA_PART_COUNTER_ATTEST, TPA_PART_COUNTER_SIGNATURE,
};

int tpa_evidence_to_json(const tpa_evidence *ev, int pretty, char **out)
{
	struct json_object *root = NULL, *ak, *quote, *counter, *ekc, *pcrs = NULL;
	char *pcrs_json = NULL, *s;
	int r;

	if (!ev || !out || !ev->pcrs)
		return TPA_E_INVALID_ARG;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!ev->part[required[i]].present)
			return TPA_E_INVALID_ARG;

	/* The PCR values reuse tpa_pcrs' JSON so they read exactly like
	 * `eventlog replay --json`. */
	if ((r = tpa_pcrs_to_json(ev->pcrs, 0, &pcrs_json)) != TPA_OK)
		return r;
	r = tpa_json_parse(pcrs_json, strlen(pcrs_json), &pcrs, NULL, 0);
	free(pcrs_json);
	if (r != TPA_OK)
		return r;

	r = TPA_E_NOMEM;
	if (!(root = json_object_new_object()))
		goto out;
	if (add(root, "format", json_object_new_string("tpmattest-evidence")) ||
	    add(root, "version", json_object_new_int(TPA_EVIDENCE_VERSION)) ||
	    add(root, "tool", json_object_new_string(ev->tool ? ev->tool : "tpmattest")) ||
	    add_part_hex(root, "nonce", ev, TPA_PART_NONCE))
		goto out;

	if (add(root, "ak", ak = json_object_new_object()) ||
	    add(ak, "handle", handle_new(ev->ak_handle)) ||
	    add_part_b64(ak, "public", ev, TPA_PART_AK_PUBLIC) ||
	    add_part_hex(ak, "name", ev, TPA_PART_AK_NAME))
		goto out;

	if (add(root, "quote", quote = json_object_new_object()) ||
	    add_part_b64(quote, "attest", ev, TPA_PART_QUOTE_ATTEST) ||
	    add_part_b64(quote, "signature", ev, TPA_PART_QUOTE_SIGNATURE))
		goto out;

	{
		struct json_object *inner = NULL;
		json_object_object_get_ex(pcrs, "pcrs", &inner);
		if (!inner || add(root, "pcrs", json_object_get(inner)))
			goto out;
	}

	if (add(root, "counter", counter = json_object_new_object()) ||
	    add(counter, "index", handle_new(ev->nv_index)) ||
	    add_part_hex(counter, "name", ev, TPA_PART_COUNTER_NAME) ||
	    add(counter, "value", json_object_new_uint64(ev->counter)) ||
	    add_part_b64(counter, "attest", ev, TPA_PART_COUNTER_ATTEST) ||
	    add_part_b64(counter, "signature", ev, TPA_PART_COUNTER_SIGNATURE))
		goto out;

	/* null, not absent: says the attester sent no log on purpose */
	if (ev->part[TPA_PART_EVENTLOG].present) {
		if (add_part_b64(root, "eventlog", ev, TPA_PART_EVENTLOG))
			goto out;
	} else if (json_object_object_add(root, "eventlog", NULL) != 0)
		goto out;

	if (add(root, "ek_certificates", ekc = json_object_new_object()) ||
	    add_part_b64(ekc, "rsa", ev, TPA_PART_EK_RSA_CERT) ||
	    add_part_b64(ekc, "ecc", ev, TPA_PART_EK_ECC_CERT))
		goto out;

	s = strdup(json_object_to_json_string_ext(
	        root, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
	                      JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!s)
		goto out;
	*out = s;
	r = TPA_OK;
out:
	json_object_put(pcrs);
	json_object_put(root);
	return r;
}

/* ---- reading ---- */

/* What the reader is in, for the reason it gives when it refuses. */
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

/* A string member; tpa_json_parse refused NULs, so *len is strlen(*s).
 * name is the member's path, for the reason. */
static int get_string(struct rd *rd, struct json_object *obj, const char *key, const char *name,
                      int required_, const char **s, size_t *len)
{
	struct json_object *v;
	*s = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return required_ ? refuse(rd, TPA_E_MALFORMED, "%s: missing", name) : TPA_OK;
	if (!json_object_is_type(v, json_type_string))
		return refuse(rd, TPA_E_MALFORMED, "%s: not a string", name);
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return TPA_OK;
}

static int read_part(struct rd *rd, tpa_evidence *ev, struct json_object *obj, const char *key,
                     const char *name, int required_, int hex, tpa_evidence_part part)
{
	const char *s;
	uint8_t *buf = NULL;
	size_t slen = 0, len = 0;
	int r;
	if ((r = get_string(rd, obj, key, name, required_, &s, &slen)) != TPA_OK || !s)
		return r;
	if (hex) {
		len = slen / 2;
		if (len > TPA_EVIDENCE_MAX_PART)
			return refuse(rd, TPA_E_LIMIT, "%s: larger than %u bytes", name,
			              TPA_EVIDENCE_MAX_PART);
		if (!(buf = malloc(len + 1)))
			return TPA_E_NOMEM;
		if (slen % 2 || tpa_json_hex_decode(s, slen, buf, len) != TPA_OK) {
			free(buf);
			return refuse(rd, TPA_E_MALFORMED,
			              "%s: not an even number of lowercase hex digits", name);
		}
	} else if ((r = tpa_b64_decode(s, slen, TPA_EVIDENCE_MAX_PART, &buf, &len)) != TPA_OK) {
		if (r == TPA_E_LIMIT)
			return refuse(rd, r, "%s: larger than %u bytes", name,
			              TPA_EVIDENCE_MAX_PART);
		if (r == TPA_E_MALFORMED)
			return refuse(rd, r, "%s: not canonical padded base64 (RFC 4648)", name);
		return r;
	}
	r = tpa_evidence_set(ev, part, buf, len);
	free(buf);
	return r;
}

static int get_object(struct rd *rd, struct json_object *obj, const char *key,
                      struct json_object **v)
{
	if (!json_object_object_get_ex(obj, key, v))
		return refuse(rd, TPA_E_MALFORMED, "%s: missing", key);
	if (!json_object_is_type(*v, json_type_object))
		return refuse(rd, TPA_E_MALFORMED, "%s: not an object", key);
	return TPA_OK;
}

/* "0x" and exactly 8 lowercase hex digits, as tpa_evidence_to_json writes. */
static int read_handle(struct rd *rd, struct json_object *obj, const char *key, const char *name,
                       uint32_t *h)
{
	const char *s;
	size_t len;
	uint8_t b[4];
	int r;
	if ((r = get_string(rd, obj, key, name, 1, &s, &len)) != TPA_OK)
		return r;
	if (len != 10 || s[0] != '0' || s[1] != 'x' || tpa_json_hex_decode(s + 2, 8, b, 4))
		return refuse(rd, TPA_E_MALFORMED, "%s: not 0x and 8 lowercase hex digits", name);
	*h = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return TPA_OK;
}

/* Every member of obj is one of names: a misspelt member is not silently
 * the absence of the intended one.  The reason does not quote the unknown
 * name: it is the sender's text. */
static int only_members(struct rd *rd, struct json_object *obj, const char *where,
                        const char *const *names, size_t n)
{
	size_t k = 0;
	json_object_object_foreach (obj, key, v) {
		size_t i = 0;
		(void)v;
		while (i < n && strcmp(key, names[i]) != 0)
			i++;
		if (i == n)
			return refuse(rd, TPA_E_MALFORMED,
			              "%s: member %zu is not one of version %d's", where, k + 1,
			              TPA_EVIDENCE_VERSION);
		k++;
	}
	return TPA_OK;
}

#define ONLY(rd, obj, where, ...)                                        \
	only_members(rd, obj, where, (const char *const[]){__VA_ARGS__}, \
	             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

int tpa_evidence_from_json_why(const char *json, size_t len, tpa_evidence **out, char *why,
                               size_t whylen)
{
	struct rd rd = {why, whylen};
	struct json_object *root = NULL, *v, *ak, *quote, *counter, *ekc;
	tpa_evidence *ev = NULL;
	tpa_pcrs *pcrs = NULL;
	const char *s;
	size_t slen, nlen;
	int r;

	if (why && whylen)
		why[0] = '\0';
	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if ((r = tpa_json_parse_max(json, len, TPA_EVIDENCE_JSON_MAX, TPA_EVIDENCE_JSON_MAX_VALUES,
	                            &root, why, whylen)) != TPA_OK)
		return r;

	if (!json_object_is_type(root, json_type_object)) {
		r = refuse(&rd, TPA_E_MALFORMED, "not a JSON object");
		goto out;
	}
	if ((r = ONLY(&rd, root, "the document", "format", "version", "tool", "nonce", "ak",
	              "quote", "pcrs", "counter", "eventlog", "ek_certificates")))
		goto out;
	if ((r = get_string(&rd, root, "format", "format", 1, &s, &slen)))
		goto out;
	if (slen != strlen("tpmattest-evidence") || memcmp(s, "tpmattest-evidence", slen) != 0) {
		r = refuse(&rd, TPA_E_MALFORMED, "format: not \"tpmattest-evidence\"");
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != TPA_EVIDENCE_VERSION) {
		r = refuse(&rd, TPA_E_MALFORMED, "version: not the integer %d",
		           TPA_EVIDENCE_VERSION);
		goto out;
	}
	if ((r = tpa_evidence_new(&ev)) != TPA_OK)
		goto out;
	if ((r = get_string(&rd, root, "tool", "tool", 0, &s, &slen)) ||
	    (s && (r = tpa_evidence_set_tool(ev, s))))
		goto out;
	if ((r = read_part(&rd, ev, root, "nonce", "nonce", 1, 1, TPA_PART_NONCE)))
		goto out;
	tpa_evidence_get(ev, TPA_PART_NONCE, &nlen);
	if (nlen < 1 || nlen > TPA_EVIDENCE_MAX_NONCE) {
		r = refuse(&rd, TPA_E_MALFORMED, "nonce: not 1 to %d bytes",
		           TPA_EVIDENCE_MAX_NONCE);
		goto out;
	}
	if ((r = get_object(&rd, root, "ak", &ak)) ||
	    (r = ONLY(&rd, ak, "ak", "handle", "public", "name")) ||
	    (r = read_handle(&rd, ak, "handle", "ak.handle", &ev->ak_handle)) ||
	    (r = read_part(&rd, ev, ak, "public", "ak.public", 1, 0, TPA_PART_AK_PUBLIC)) ||
	    (r = read_part(&rd, ev, ak, "name", "ak.name", 0, 1, TPA_PART_AK_NAME)))
		goto out;
	if ((r = get_object(&rd, root, "quote", &quote)) ||
	    (r = ONLY(&rd, quote, "quote", "attest", "signature")) ||
	    (r = read_part(&rd, ev, quote, "attest", "quote.attest", 1, 0,
	                   TPA_PART_QUOTE_ATTEST)) ||
	    (r = read_part(&rd, ev, quote, "signature", "quote.signature", 1, 0,
	                   TPA_PART_QUOTE_SIGNATURE)))
		goto out;
	if ((r = get_object(&rd, root, "counter", &counter)) ||
	    (r = ONLY(&rd, counter, "counter", "index", "name", "value", "attest", "signature")) ||
	    (r = read_handle(&rd, counter, "index", "counter.index", &ev->nv_index)) ||
	    (r = read_part(&rd, ev, counter, "name", "counter.name", 0, 1,
	                   TPA_PART_COUNTER_NAME)) ||
	    (r = read_part(&rd, ev, counter, "attest", "counter.attest", 1, 0,
	                   TPA_PART_COUNTER_ATTEST)) ||
	    (r = read_part(&rd, ev, counter, "signature", "counter.signature", 1, 0,
	                   TPA_PART_COUNTER_SIGNATURE)))
		goto out;
	/* json-c holds integers up to UINT64_MAX; a negative one reads as 0
	 * through json_object_get_uint64, so it is refused first */
	if (!json_object_object_get_ex(counter, "value", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		r = refuse(&rd, TPA_E_MALFORMED, "counter.value: not a non-negative integer");
		goto out;
	}
	ev->counter = json_object_get_uint64(v);
	/* null says the attester sent no log on purpose; absent is malformed */
	if (!json_object_object_get_ex(root, "eventlog", &v)) {
		r = refuse(&rd, TPA_E_MALFORMED, "eventlog: missing (null when there is no log)");
		goto out;
	}
	if ((r = read_part(&rd, ev, root, "eventlog", "eventlog", 0, 0, TPA_PART_EVENTLOG)))
		goto out;
	if (json_object_object_get_ex(root, "ek_certificates", &ekc) &&
	    ((r = get_object(&rd, root, "ek_certificates", &ekc)) ||
	     (r = ONLY(&rd, ekc, "ek_certificates", "rsa", "ecc")) ||
	     (r = read_part(&rd, ev, ekc, "rsa", "ek_certificates.rsa", 0, 0,
	                    TPA_PART_EK_RSA_CERT)) ||
	     (r = read_part(&rd, ev, ekc, "ecc", "ek_certificates.ecc", 0, 0,
	                    TPA_PART_EK_ECC_CERT))))
		goto out;
	if ((r = get_object(&rd, root, "pcrs", &v)))
		goto out;
	/* lowercase hex, canonical bank names: docs/evidence.md */
	if ((r = tpa_pcrs_from_object(v, TPA_PCRS_STRICT, &pcrs, NULL)) != TPA_OK) {
		if (r != TPA_E_NOMEM)
			refuse(&rd, r,
			       "pcrs: not {\"sha256\":{\"0\":\"lowercase hex\",...},...} with each "
			       "bank once");
		goto out;
	}
	ev->pcrs = pcrs;
	*out = ev;
	ev = NULL;
	r = TPA_OK;
out:
	tpa_evidence_free(&ev);
	json_object_put(root);
	return r;
}

int tpa_evidence_from_json(const char *json, size_t len, tpa_evidence **out)
{
	return tpa_evidence_from_json_why(json, len, out, NULL, 0);
}
