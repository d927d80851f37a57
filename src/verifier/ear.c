/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EAR attestation results (<tpmattest/ear.h>): the verifier's P-256 key,
 * its JWK, a result signed as an ES256 JWT, and its strict check.
 *
 * Names and profile.  The claims are EAR's as the Veraison profile
 * "tag:github.com,2023:veraison/ear" writes them ("ear.status",
 * "ear.trustworthiness-vector", "ear.appraisal-policy-id",
 * "ear.verifier-id"; draft-fv-rats-ear, github.com/veraison/ear), which
 * Veraison's tools and libraries read.  draft-ietf-rats-ear-03 (3, 3.1)
 * has since renamed them ("ear_status", ...) under its own profile tag;
 * the meaning (3.1: an appraisal's ear.status is no better than its worst
 * trustworthiness claim) is the same, and tpa_ear_verify enforces it.
 *
 * Values (draft-ietf-rats-ar4si-09, 2.3.2 tiers, 2.3.4 claims): 0 no
 * claim, 1 evidence the verifier cannot evaluate, -1 verifier malfunction;
 * 2..31 affirming, 32..95 warning, 96..127 contraindicated.  Per claim
 * (2.3.4) the ones used here:
 *   instance-identity  2 recognized, not known to be compromised;
 *                      96 recognized, but not trustworthy; 97 not
 *                      recognized though it should be
 *   hardware           2 genuine (passed its verifications)
 *   executables        3 only approved executables loaded during boot;
 *                      32 genuine, but the verifier cannot vouch for all of
 *                      them (known vulnerabilities); 33 unrecognized
 *                      executables; 96 contraindicated executables
 *   configuration      2 known and approved; 32 exposes known
 *                      vulnerabilities; 36 elements relevant to security
 *                      unavailable to the verifier; 96 unsupportable
 * When several apply, the worst tier wins (2.3.3: contraindicated, then
 * warning, then affirming); within a tier the higher value.
 *
 * Which check sets what (the verdict document's "checks"; "not_run"
 * counts as failed for its claim, "skipped" is ignored):
 *
 *   check                         fails / not_run      all passed
 *   ---------------------------   ------------------   --------------------
 *   magic, type, decode,          instance-identity    instance-identity 2
 *   signature, nonce,             97, hardware 0       and hardware 2 (the
 *   qualified_signer, ak                               EK chain was checked
 *                                                      at enrollment), when
 *                                                      signature and nonce
 *                                                      passed
 *   clock, counter,               instance-identity    -
 *   enrolled_counter              96 (a replayed quote
 *                                 or a rolled-back TPM)
 *   eventlog_replay,              executables 96 (the  executables 3 when a
 *   eventlog_rules                log contradicts the  policy ruled and
 *                                 quote)               eventlog_replay
 *                                                      passed, else 0
 *   policy_events                 executables 33
 *   policy_secure_boot            executables 32 (1)
 *   pcr_digest                    configuration 96     configuration 2 when
 *   pcr_selection                 configuration 36     a policy ruled and
 *   policy_pcrs                   configuration 36 (2) pcr_digest passed,
 *   policy_pcr_values             configuration 32 (3) else 0
 *   policy                        configuration 36
 *   any other name                configuration 96 (fail closed)
 *
 * (1) Secure boot off, or PK/KEK/db/dbx other than the policy's: what was
 *     measured may be the approved boot chain, but the platform would also
 *     run what it should refuse (an outdated dbx lets revoked, vulnerable
 *     boot loaders in): ar4si's "cannot vouch for a subset due to known
 *     vulnerabilities", not "unrecognized" (33, which policy_events is).
 * (2) The policy needs a PCR the quote does not cover: the element is
 *     unavailable to the verifier.
 * (3) A PCR value the policy does not allow: not the approved
 *     configuration; ar4si has no "unrecognized configuration", and 32 is
 *     the warning value a relying party handles as "not approved".
 *
 * ear.status: no verdict document "none" (every claim 0); verdict fail, or
 * a failed check in the document, "contraindicated"; pass with a policy
 * that ruled, counter_kind "authorized" and the vector 2/2/3/2
 * "affirming"; any other pass "warning".  ear.appraisal-policy-id:
 * "tpmattest:policy/NAME@sha256:HEX" ("(default)" is "default"; documents
 * from before the policy's digest was kept give "tpmattest:policy/NAME"),
 * "tpmattest:policy/none" when no policy ruled.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <json-c/json.h>

#include <tpmattest/ear.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"
#include "verifier/ear_internal.h"

#define COORD 32               /* P-256 coordinate and scalar bytes */
#define SIG_LEN (2 * COORD)    /* ES256: r || s (RFC 7518 3.4) */
#define SIG_B64 86             /* its base64url */
#define KID_LEN 43             /* base64url of a SHA-256 digest */
#define PEM_MAX (16u * 1024)   /* a P-256 private key in PEM is ~250 bytes */
#define JWK_MAX (8u * 1024)    /* a JWK as we write it is ~200 bytes */
#define HEADER_MAX 1024        /* the JOSE header, decoded */
#define VERDICT_MAX (4u << 20) /* a verdict document */
#define VERDICT_VALUES 200000u /* its values (PCRs, checks) */
#define PAYLOAD_VALUES 100000u /* a result's values */
#define CHECKS_MAX 256         /* checks in one verdict document */
#define CHECK_NAME_MAX 63      /* fits tpa_ear_claims.failed[].name */
#define POLICY_NAME_MAX 64     /* docs/api.md: 1..64 of [A-Za-z0-9._-] */
#define POLICY_PREFIX "tpmattest:policy/"

struct tpa_result_key {
	EVP_PKEY *pkey;
	char kid[KID_LEN + 1];
};

struct tpa_result_pub {
	EVP_PKEY *pkey;
	char kid[KID_LEN + 1];
};

__attribute__((format(printf, 3, 4))) static void setwhy(char *why, size_t whylen, const char *fmt,
                                                         ...)
{
	va_list ap;
	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Untrusted text quoted in a why: printable ASCII only, at most 40 bytes. */
static const char *shown(const char *s, char buf[48])
{
	size_t i;
	for (i = 0; s[i] && i < 40; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	if (s[i])
		snprintf(buf + i, 48 - i, "...");
	return buf;
}

/* ---- base64url without padding (RFC 7515 2, RFC 4648 5) ---- */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64u_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* out holds b64u_len(n) + 1 bytes; NUL-terminated. */
static void b64u_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i, o = 0;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
	}
	out[o] = '\0';
}

static char *b64u_encode_alloc(const uint8_t *p, size_t n)
{
	char *s = malloc(b64u_len(n) + 1);
	if (s)
		b64u_encode(p, n, s);
	return s;
}

static int b64u_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Exactly the canonical encoding: only the alphabet, no padding, no length
 * of 1 mod 4, the unused low bits of the last character zero.  At most max
 * bytes into out; 0, or -1 (not base64url, or longer than max).
 */
static int b64u_decode(const char *s, size_t n, uint8_t *out, size_t max, size_t *outlen)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > max)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64u_val(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	*outlen = o;
	return 0;
}

/* ---- the key ---- */

static int is_p256(EVP_PKEY *k)
{
	char group[64] = "";
	size_t n = 0;
	if (!EVP_PKEY_is_a(k, "EC"))
		return 0;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                    &n))
		return 0;
	return strcmp(group, SN_X9_62_prime256v1) == 0 || strcmp(group, "P-256") == 0;
}

static int point_xy(EVP_PKEY *k, uint8_t x[static COORD], uint8_t y[static COORD])
{
	BIGNUM *bx = NULL, *by = NULL;
	int ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
	         EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
	         BN_bn2binpad(bx, x, COORD) == COORD && BN_bn2binpad(by, y, COORD) == COORD;
	BN_free(bx);
	BN_free(by);
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

/* RFC 7638 3.2: the required members only, sorted, no whitespace. */
static int thumbprint(const uint8_t x[static COORD], const uint8_t y[static COORD],
                      char kid[static KID_LEN + 1])
{
	char bx[KID_LEN + 1], by[KID_LEN + 1], json[160];
	uint8_t d[32];
	int n;
	b64u_encode(x, COORD, bx);
	b64u_encode(y, COORD, by);
	n = snprintf(json, sizeof(json),
	             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", bx, by);
	if (n < 0 || (size_t)n >= sizeof(json))
		return TPA_E_CRYPTO;
	if (tpa_hash(TPA_ALG_SHA256, (const uint8_t *)json, (size_t)n, d) != TPA_OK)
		return TPA_E_CRYPTO;
	b64u_encode(d, sizeof(d), kid);
	return TPA_OK;
}

static int key_kid(EVP_PKEY *k, char kid[static KID_LEN + 1])
{
	uint8_t x[COORD], y[COORD];
	int r = point_xy(k, x, y);
	return r == TPA_OK ? thumbprint(x, y, kid) : r;
}

static int key_wrap(EVP_PKEY *p, tpa_result_key **out)
{
	tpa_result_key *k = calloc(1, sizeof(*k));
	int r;
	if (!k) {
		EVP_PKEY_free(p);
		return TPA_E_NOMEM;
	}
	k->pkey = p;
	if ((r = key_kid(p, k->kid)) != TPA_OK) {
		tpa_result_key_free(&k);
		return r;
	}
	*out = k;
	return TPA_OK;
}

int tpa_result_key_generate(tpa_result_key **out)
{
	EVP_PKEY *p;
	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(p = EVP_EC_gen("P-256")))
		return TPA_E_CRYPTO;
	return key_wrap(p, out);
}

/* Never a passphrase prompt: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

int tpa_result_key_from_pem(const char *pem, size_t len, tpa_result_key **out, char *why,
                            size_t whylen)
{
	BIO *b;
	EVP_PKEY *p;
	if (!pem || !out)
		return TPA_E_INVALID_ARG;
	if (len > PEM_MAX) {
		setwhy(why, whylen, "result key: the PEM is larger than 16 KiB");
		return TPA_E_LIMIT;
	}
	if (!(b = BIO_new_mem_buf(pem, (int)len)))
		return TPA_E_NOMEM;
	p = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (!p) {
		setwhy(why, whylen,
		       "result key: not a PEM private key (PKCS#8 or SEC1, unencrypted)");
		return TPA_E_MALFORMED;
	}
	if (!is_p256(p)) {
		EVP_PKEY_free(p);
		setwhy(why, whylen, "result key: not an ECC NIST P-256 key (ES256 needs one)");
		return TPA_E_UNSUPPORTED;
	}
	return key_wrap(p, out);
}

int tpa_result_key_to_pem(const tpa_result_key *k, char **out)
{
	BIO *b;
	char *data, *s;
	long n;
	if (!k || !out)
		return TPA_E_INVALID_ARG;
	if (!(b = BIO_new(BIO_s_secmem())))
		return TPA_E_NOMEM;
	if (!PEM_write_bio_PKCS8PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return TPA_E_CRYPTO;
	}
	n = BIO_get_mem_data(b, &data);
	if (n <= 0 || !(s = malloc((size_t)n + 1))) {
		BIO_free(b);
		return TPA_E_NOMEM;
	}
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(b); /* a secure-memory BIO: cleansed as it is freed */
	*out = s;
	return TPA_OK;
}

int tpa_result_key_jwk(const tpa_result_key *k, char **jwk)
{
	uint8_t x[COORD], y[COORD];
	char bx[KID_LEN + 1], by[KID_LEN + 1];
	int r, n;
	size_t cap = 256;
	char *s;
	if (!k || !jwk)
		return TPA_E_INVALID_ARG;
	if ((r = point_xy(k->pkey, x, y)) != TPA_OK)
		return r;
	b64u_encode(x, COORD, bx);
	b64u_encode(y, COORD, by);
	if (!(s = malloc(cap)))
		return TPA_E_NOMEM;
	n = snprintf(
	        s, cap,
	        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"alg\":\"ES256\","
	        "\"use\":\"sig\",\"kid\":\"%s\"}",
	        bx, by, k->kid);
	if (n < 0 || (size_t)n >= cap) {
		free(s);
		return TPA_E_CRYPTO;
	}
	*jwk = s;
	return TPA_OK;
}

void tpa_result_key_free(tpa_result_key **k)
{
	if (!k || !*k)
		return;
	EVP_PKEY_free((*k)->pkey);
	free(*k);
	*k = NULL;
}

/* ---- the public key from a JWK ---- */

/* An EVP_PKEY from the affine coordinates; NULL when the point is not on
 * P-256 (EC_POINT_oct2point and EVP_PKEY_public_check refuse it). */
static EVP_PKEY *pub_from_xy(const uint8_t x[static COORD], const uint8_t y[static COORD])
{
	uint8_t pt[1 + SIG_LEN];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *p = NULL;

	pt[0] = 0x04; /* SEC 1 2.3.3: uncompressed */
	memcpy(pt + 1, x, COORD);
	memcpy(pt + 1 + COORD, y, COORD);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1,
	                                     0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if (!(chk = EVP_PKEY_CTX_new_from_pkey(NULL, p, NULL)) || EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(p);
		p = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return p;
}

/* A string member, or NULL when absent; -1 when present and not a string. */
static int get_str(struct json_object *o, const char *name, const char **s)
{
	struct json_object *v;
	*s = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	return 0;
}

static int jwk_coord(struct json_object *o, const char *name, uint8_t c[static COORD], char *why,
                     size_t whylen)
{
	const char *s;
	size_t n;
	if (get_str(o, name, &s) != 0 || !s) {
		setwhy(why, whylen, "JWK: %s: missing or not a string", name);
		return TPA_E_MALFORMED;
	}
	if (b64u_decode(s, strlen(s), c, COORD, &n) != 0 || n != COORD) {
		setwhy(why, whylen, "JWK: %s: not the base64url of 32 bytes (RFC 7518 6.2.1)",
		       name);
		return TPA_E_MALFORMED;
	}
	return TPA_OK;
}

int tpa_result_pub_from_jwk(const char *jwk, size_t len, tpa_result_pub **out, char *why,
                            size_t whylen)
{
	struct json_object *o = NULL;
	const char *kty, *crv, *alg, *use, *kid;
	uint8_t x[COORD], y[COORD];
	char jwhy[160] = "", buf[48];
	tpa_result_pub *k = NULL;
	EVP_PKEY *p;
	int r;

	if (!jwk || !out)
		return TPA_E_INVALID_ARG;
	if (len > JWK_MAX) {
		setwhy(why, whylen, "JWK: larger than 8 KiB");
		return TPA_E_LIMIT;
	}
	if ((r = tpa_json_parse_max(jwk, len, JWK_MAX, 64, &o, jwhy, sizeof(jwhy))) != TPA_OK) {
		setwhy(why, whylen, "JWK: not JSON: %s", jwhy);
		return r == TPA_E_NOMEM ? r : TPA_E_MALFORMED;
	}
	r = TPA_E_MALFORMED;
	if (!json_object_is_type(o, json_type_object)) {
		setwhy(why, whylen, "JWK: not a JSON object");
		goto out;
	}
	if (get_str(o, "kty", &kty) != 0 || get_str(o, "crv", &crv) != 0 ||
	    get_str(o, "alg", &alg) != 0 || get_str(o, "use", &use) != 0 ||
	    get_str(o, "kid", &kid) != 0) {
		setwhy(why, whylen, "JWK: kty, crv, alg, use and kid are strings");
		goto out;
	}
	if (!kty || !crv) {
		setwhy(why, whylen, "JWK: kty and crv are required (RFC 7518 6.2)");
		goto out;
	}
	r = TPA_E_UNSUPPORTED;
	if (strcmp(kty, "EC") != 0 || strcmp(crv, "P-256") != 0) {
		char buf2[48];
		setwhy(why, whylen, "JWK: kty \"%s\" crv \"%s\": only an EC P-256 key (ES256)",
		       shown(kty, buf), shown(crv, buf2));
		goto out;
	}
	if (alg && strcmp(alg, "ES256") != 0) {
		setwhy(why, whylen, "JWK: alg \"%s\": only ES256", shown(alg, buf));
		goto out;
	}
	if (use && strcmp(use, "sig") != 0) {
		setwhy(why, whylen, "JWK: use \"%s\": not a signature key", shown(use, buf));
		goto out;
	}
	r = TPA_E_MALFORMED;
	if (json_object_object_get_ex(o, "d", NULL)) {
		setwhy(why, whylen, "JWK: holds the private key (d); give the public JWK");
		goto out;
	}
	if ((r = jwk_coord(o, "x", x, why, whylen)) != TPA_OK ||
	    (r = jwk_coord(o, "y", y, why, whylen)) != TPA_OK)
		goto out;
	if (!(p = pub_from_xy(x, y))) {
		setwhy(why, whylen, "JWK: x, y is not a point on P-256");
		r = TPA_E_MALFORMED;
		goto out;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		EVP_PKEY_free(p);
		r = TPA_E_NOMEM;
		goto out;
	}
	k->pkey = p;
	if ((r = thumbprint(x, y, k->kid)) != TPA_OK)
		goto out;
	if (kid && strcmp(kid, k->kid) != 0) {
		setwhy(why, whylen, "JWK: kid \"%s\" is not the key's RFC 7638 thumbprint (%s)",
		       shown(kid, buf), k->kid);
		r = TPA_E_MALFORMED;
		goto out;
	}
	*out = k;
	k = NULL;
	r = TPA_OK;
out:
	tpa_result_pub_free(&k);
	json_object_put(o);
	return r;
}

void tpa_result_pub_free(tpa_result_pub **k)
{
	if (!k || !*k)
		return;
	EVP_PKEY_free((*k)->pkey);
	free(*k);
	*k = NULL;
}

/* ---- ES256 ---- */

static int es256_sign(EVP_PKEY *k, const char *msg, size_t len, uint8_t sig[static SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t dlen = sizeof(der);
	const unsigned char *dp = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int ok = 0;

	if (!ctx)
		return TPA_E_NOMEM;
	if (EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL) != 1 ||
	    EVP_DigestSign(ctx, der, &dlen, (const unsigned char *)msg, len) != 1)
		goto out;
	/* DER ECDSA-Sig-Value to r || s, each left-padded (RFC 7518 3.4) */
	if (!(es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen)) || dp != der + dlen)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, COORD) == COORD && BN_bn2binpad(s, sig + COORD, COORD) == COORD;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

/* 1 verifies, 0 does not; -1 out of memory. */
static int es256_verify(EVP_PKEY *k, const char *msg, size_t len, const uint8_t sig[static SIG_LEN])
{
	static const uint8_t zero[COORD];
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int dlen, ok = -1;

	/* OpenSSL refuses r or s of 0 or >= n; zero is refused here first */
	if (CRYPTO_memcmp(sig, zero, COORD) == 0 || CRYPTO_memcmp(sig + COORD, zero, COORD) == 0)
		return 0;
	if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, COORD, NULL)) ||
	    !(s = BN_bin2bn(sig + COORD, COORD, NULL)))
		goto out;
	if (!ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	if (!(ctx = EVP_MD_CTX_new()))
		goto out;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL) != 1) {
		ok = 0;
		goto out;
	}
	ok = EVP_DigestVerify(ctx, der, (size_t)dlen, (const unsigned char *)msg, len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ok;
}

/* ---- making a result ---- */

enum claim { C_II, C_HW, C_EXEC, C_CFG, C_N };
static const char *const claim_names[C_N] = {"instance-identity", "hardware", "executables",
                                             "configuration"};

static const struct check_rule {
	const char *name;
	enum claim claim;
	int fail; /* the claim's value when the check failed or did not run */
} rules[] = {
        {"magic", C_II, 97},
        {"type", C_II, 97},
        {"decode", C_II, 97},
        {"signature", C_II, 97},
        {"nonce", C_II, 97},
        {"qualified_signer", C_II, 97},
        {"ak", C_II, 97},
        {"clock", C_II, 96},
        {"counter", C_II, 96},
        {"enrolled_counter", C_II, 96},
        {"eventlog_replay", C_EXEC, 96},
        {"eventlog_rules", C_EXEC, 96},
        {"policy_events", C_EXEC, 33},
        {"policy_secure_boot", C_EXEC, 32},
        {"pcr_digest", C_CFG, 96},
        {"pcr_selection", C_CFG, 36},
        {"policy_pcrs", C_CFG, 36},
        {"policy_pcr_values", C_CFG, 32},
        {"policy", C_CFG, 36},
};

static const struct check_rule unknown_rule = {NULL, C_CFG, 96};

static const struct check_rule *rule_for(const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return &unknown_rule;
}

/* AR4SI 2.3.2's tiers, ordered by trust: none 0, affirming 1, warning 2,
 * contraindicated 3. */
static int tier_of(int v)
{
	if (v == 0 || v == 1 || v == -1)
		return 0;
	if ((v >= 2 && v <= 31) || (v <= -2 && v >= -32))
		return 1;
	if ((v >= 32 && v <= 95) || (v <= -33 && v >= -96))
		return 2;
	return 3;
}

/* 2.3.3: the worst tier wins; within one, the higher value. */
static void worsen(int *cur, int v)
{
	int tc = tier_of(*cur), tv = tier_of(v);
	if (tv > tc || (tv == tc && v > *cur))
		*cur = v;
}

static const char *const status_names[] = {"none", "affirming", "warning", "contraindicated"};

const char *tpa_ear_status_name(tpa_ear_status s)
{
	switch (s) {
	case TPA_EAR_NONE: return "none";
	case TPA_EAR_AFFIRMING: return "affirming";
	case TPA_EAR_WARNING: return "warning";
	case TPA_EAR_CONTRAINDICATED: return "contraindicated";
	}
	return "?";
}

struct appraisal {
	tpa_ear_status status;
	int vec[C_N];
	char policy_id[TPA_EAR_POLICY_ID_MAX + 1];
	const char *verdict; /* NULL: none */
	bool has_at, has_seq;
	int64_t at, seq;
	struct json_object *failed; /* the array, owned */
};

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

/* An integer that fits int64 (the strict reader lets UINT64_MAX in). */
static bool get_i64(struct json_object *v, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out != INT64_MAX || json_object_get_uint64(v) == (uint64_t)INT64_MAX;
}

/* A time claim: seconds since 1970 up to the end of 9999, so that a
 * relying party's now - t neither overflows nor goes negative. */
static bool time_ok(int64_t t)
{
	return t >= 0 && t <= TPA_EAR_TIME_MAX;
}

/* An optional integer or null member. */
static int get_opt_i64(struct json_object *o, const char *name, bool *has, int64_t *v)
{
	struct json_object *m;
	*has = false;
	if (!json_object_object_get_ex(o, name, &m) || !m)
		return 0;
	if (!get_i64(m, v))
		return -1;
	*has = true;
	return 0;
}

static bool policy_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > POLICY_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int appraise_policy(struct json_object *doc, struct appraisal *a, bool *ruled, char *why,
                           size_t whylen)
{
	struct json_object *p, *v;
	const char *name, *sha;
	*ruled = false;
	snprintf(a->policy_id, sizeof(a->policy_id), POLICY_PREFIX "none");
	if (!json_object_object_get_ex(doc, "policy", &p) || !p)
		return TPA_OK;
	if (!json_object_is_type(p, json_type_object) ||
	    !json_object_object_get_ex(p, "ruled", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		setwhy(why, whylen,
		       "verdict document: policy: not an object with ruled true|false");
		return TPA_E_MALFORMED;
	}
	if (!json_object_get_boolean(v))
		return TPA_OK;
	if (get_str(p, "name", &name) != 0 || get_str(p, "sha256", &sha) != 0 || !name) {
		setwhy(why, whylen,
		       "verdict document: policy: a ruling policy's name and sha256 "
		       "are strings");
		return TPA_E_MALFORMED;
	}
	if (strcmp(name, "(default)") == 0)
		name = "default";
	else if (!policy_name_ok(name)) {
		setwhy(why, whylen, "verdict document: policy: name: not 1..64 of [A-Za-z0-9._-]");
		return TPA_E_MALFORMED;
	}
	if (sha && (strlen(sha) != 64 || !is_lower_hex(sha, 64))) {
		setwhy(why, whylen,
		       "verdict document: policy: sha256: not 64 lowercase hex digits");
		return TPA_E_MALFORMED;
	}
	if (sha)
		snprintf(a->policy_id, sizeof(a->policy_id), POLICY_PREFIX "%s@sha256:%s", name,
		         sha);
	else /* kept from before the policy's digest was in the document */
		snprintf(a->policy_id, sizeof(a->policy_id), POLICY_PREFIX "%s", name);
	*ruled = true;
	return TPA_OK;
}

static int add_failed(struct json_object *arr, const char *name, const char *status,
                      const char *reason)
{
	struct json_object *c = json_object_new_object();
	if (!c || json_object_array_add(arr, c) != 0) {
		json_object_put(c);
		return TPA_E_NOMEM;
	}
	if (json_object_object_add(c, "name", json_object_new_string(name)) != 0 ||
	    json_object_object_add(c, "status", json_object_new_string(status)) != 0 ||
	    json_object_object_add(c, "reason", json_object_new_string(reason)) != 0)
		return TPA_E_NOMEM;
	return TPA_OK;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > CHECK_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* The appraisal of one verdict document (the table at the top). */
static int appraise(struct json_object *doc, const char *machine_id, struct appraisal *a, char *why,
                    size_t whylen)
{
	struct json_object *checks;
	const char *verdict, *kind, *mid;
	bool ruled, any_failed = false, sig_ok = false, nonce_ok = false, replay_ok = false,
	            digest_ok = false, ident_failed = false;
	size_t n;
	int r;

	if (!json_object_is_type(doc, json_type_object)) {
		setwhy(why, whylen, "verdict document: not a JSON object");
		return TPA_E_MALFORMED;
	}
	if (get_str(doc, "machine_id", &mid) != 0) {
		setwhy(why, whylen, "verdict document: machine_id: not a string");
		return TPA_E_MALFORMED;
	}
	if (mid && strcmp(mid, machine_id) != 0) {
		setwhy(why, whylen, "machine id: the verdict document is another machine's");
		return TPA_E_INVALID_ARG;
	}
	if (get_str(doc, "verdict", &verdict) != 0 || !verdict ||
	    (strcmp(verdict, "pass") != 0 && strcmp(verdict, "fail") != 0)) {
		setwhy(why, whylen, "verdict document: verdict: not \"pass\" or \"fail\"");
		return TPA_E_MALFORMED;
	}
	a->verdict = strcmp(verdict, "pass") == 0 ? "pass" : "fail";
	if (get_opt_i64(doc, "at", &a->has_at, &a->at) != 0 ||
	    get_opt_i64(doc, "seq", &a->has_seq, &a->seq) != 0) {
		setwhy(why, whylen, "verdict document: at and seq are integers or null");
		return TPA_E_MALFORMED;
	}
	/* it becomes tpmattest.attested-at, which tpa_ear_verify bounds */
	if (a->has_at && !time_ok(a->at)) {
		setwhy(why, whylen, "verdict document: at: not a time in 0..%lld (1970 to 9999)",
		       (long long)TPA_EAR_TIME_MAX);
		return TPA_E_MALFORMED;
	}
	if (get_str(doc, "counter_kind", &kind) != 0) {
		setwhy(why, whylen, "verdict document: counter_kind: not a string");
		return TPA_E_MALFORMED;
	}
	if ((r = appraise_policy(doc, a, &ruled, why, whylen)) != TPA_OK)
		return r;
	if (!json_object_object_get_ex(doc, "checks", &checks) ||
	    !json_object_is_type(checks, json_type_array)) {
		setwhy(why, whylen, "verdict document: checks: missing or not an array");
		return TPA_E_MALFORMED;
	}
	if ((n = json_object_array_length(checks)) > CHECKS_MAX) {
		setwhy(why, whylen, "verdict document: more than %d checks", CHECKS_MAX);
		return TPA_E_LIMIT;
	}
	if (!(a->failed = json_object_new_array()))
		return TPA_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(checks, i);
		const char *name, *st, *reason;
		const struct check_rule *rule;
		bool failed;
		if (!json_object_is_type(c, json_type_object) || get_str(c, "name", &name) != 0 ||
		    get_str(c, "status", &st) != 0 || get_str(c, "reason", &reason) != 0 || !name ||
		    !st) {
			setwhy(why, whylen,
			       "verdict document: checks[%zu]: not {\"name\", \"status\", "
			       "\"reason\"} "
			       "strings",
			       i);
			return TPA_E_MALFORMED;
		}
		if (!name_ok(name)) {
			setwhy(why, whylen,
			       "verdict document: checks[%zu]: name: not 1..63 of [a-z0-9_]", i);
			return TPA_E_MALFORMED;
		}
		if (strcmp(st, "skipped") == 0)
			continue;
		failed = strcmp(st, "fail") == 0 || strcmp(st, "not_run") == 0;
		if (!failed && strcmp(st, "pass") != 0) {
			setwhy(why, whylen,
			       "verdict document: checks[%zu]: status: not pass, fail, not_run or "
			       "skipped",
			       i);
			return TPA_E_MALFORMED;
		}
		rule = rule_for(name);
		if (failed) {
			any_failed = true;
			worsen(&a->vec[rule->claim], rule->fail);
			ident_failed |= rule->claim == C_II && rule->fail == 97;
			if ((r = add_failed(a->failed, name, st, reason ? reason : "")) != TPA_OK)
				return r;
			continue;
		}
		sig_ok |= strcmp(name, "signature") == 0;
		nonce_ok |= strcmp(name, "nonce") == 0;
		replay_ok |= strcmp(name, "eventlog_replay") == 0;
		digest_ok |= strcmp(name, "pcr_digest") == 0;
	}
	if (!ident_failed && sig_ok && nonce_ok) {
		worsen(&a->vec[C_II], 2);
		a->vec[C_HW] = 2;
	}
	if (ruled && replay_ok)
		worsen(&a->vec[C_EXEC], 3);
	if (ruled && digest_ok)
		worsen(&a->vec[C_CFG], 2);

	if (strcmp(a->verdict, "fail") == 0 || any_failed)
		a->status = TPA_EAR_CONTRAINDICATED;
	else if (ruled && kind && strcmp(kind, "authorized") == 0 && a->vec[C_II] == 2 &&
	         a->vec[C_HW] == 2 && a->vec[C_EXEC] == 3 && a->vec[C_CFG] == 2)
		a->status = TPA_EAR_AFFIRMING;
	else
		a->status = TPA_EAR_WARNING;
	return TPA_OK;
}

static int status_index(tpa_ear_status s)
{
	switch (s) {
	case TPA_EAR_NONE: return 0;
	case TPA_EAR_AFFIRMING: return 1;
	case TPA_EAR_WARNING: return 2;
	case TPA_EAR_CONTRAINDICATED: return 3;
	}
	return 3;
}

/* json-c's adders take the value even when they fail: one check at the end. */
static int claims_json(const tpa_ear_input *in, const struct appraisal *a, struct json_object **out)
{
	struct json_object *root = json_object_new_object(), *vid = json_object_new_object(),
	                   *submods = json_object_new_object(), *sub = json_object_new_object(),
	                   *vec = json_object_new_object();
	int bad = !root || !vid || !submods || !sub || !vec;
	char nonce[TPA_EAR_NONCE_HEX_MAX + 1];

	if (bad) {
		json_object_put(root);
		json_object_put(vid);
		json_object_put(submods);
		json_object_put(sub);
		json_object_put(vec);
		return TPA_E_NOMEM;
	}
	bad |= json_object_object_add(root, "eat_profile", json_object_new_string(TPA_EAR_PROFILE));
	bad |= json_object_object_add(root, "iat", json_object_new_int64(in->iat));
	bad |= json_object_object_add(vid, "build", json_object_new_string(in->build));
	bad |= json_object_object_add(vid, "developer", json_object_new_string(in->developer));
	bad |= json_object_object_add(root, "ear.verifier-id", vid);
	if (in->nonce_hex) {
		size_t i, n = strlen(in->nonce_hex);
		for (i = 0; i < n; i++)
			nonce[i] = (char)(in->nonce_hex[i] >= 'A' && in->nonce_hex[i] <= 'F'
			                          ? in->nonce_hex[i] - 'A' + 'a'
			                          : in->nonce_hex[i]);
		nonce[n] = '\0';
		bad |= json_object_object_add(root, "eat_nonce", json_object_new_string(nonce));
	}
	bad |= json_object_object_add(
	        sub, "ear.status", json_object_new_string(status_names[status_index(a->status)]));
	for (int c = 0; c < C_N; c++)
		bad |= json_object_object_add(vec, claim_names[c], json_object_new_int(a->vec[c]));
	bad |= json_object_object_add(sub, "ear.trustworthiness-vector", vec);
	bad |= json_object_object_add(sub, "ear.appraisal-policy-id",
	                              json_object_new_string(a->policy_id));
	bad |= json_object_object_add(sub, "tpmattest.verdict",
	                              a->verdict ? json_object_new_string(a->verdict) : NULL);
	bad |= json_object_object_add(sub, "tpmattest.attested-at",
	                              a->has_at ? json_object_new_int64(a->at) : NULL);
	bad |= json_object_object_add(sub, "tpmattest.seq",
	                              a->has_seq ? json_object_new_int64(a->seq) : NULL);
	bad |= json_object_object_add(sub, "tpmattest.failed-checks",
	                              a->failed ? json_object_get(a->failed)
	                                        : json_object_new_array());
	bad |= json_object_object_add(submods, in->machine_id, sub);
	bad |= json_object_object_add(root, "submods", submods);
	if (bad) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	*out = root;
	return TPA_OK;
}

static bool hex_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static int nonce_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= TPA_EAR_NONCE_HEX_MIN && n <= TPA_EAR_NONCE_HEX_MAX && n % 2 == 0 &&
	       hex_ok(s, n);
}

/* Checks in's fields other than the verdict document. */
static int input_ok(const tpa_result_key *k, const tpa_ear_input *in, char **jwt, char *why,
                    size_t whylen)
{
	if (!k || !in || !jwt || !in->machine_id || !in->build || !in->developer)
		return TPA_E_INVALID_ARG;
	if (strlen(in->machine_id) != 64 || !is_lower_hex(in->machine_id, 64)) {
		setwhy(why, whylen, "machine id: not 64 lowercase hex digits");
		return TPA_E_INVALID_ARG;
	}
	if (!time_ok(in->iat)) {
		setwhy(why, whylen, "iat: not a time in 0..%lld (1970 to 9999)",
		       (long long)TPA_EAR_TIME_MAX);
		return TPA_E_INVALID_ARG;
	}
	if (in->nonce_hex && !nonce_ok(in->nonce_hex)) {
		setwhy(why, whylen, "nonce: not %d..%d hex digits (8..32 bytes)",
		       TPA_EAR_NONCE_HEX_MIN, TPA_EAR_NONCE_HEX_MAX);
		return TPA_E_INVALID_ARG;
	}
	return TPA_OK;
}

int tpa_ear_sign_doc(const tpa_result_key *k, const tpa_ear_input *in, struct json_object *doc,
                     char **jwt, char *why, size_t whylen)
{
	struct appraisal a = {.status = TPA_EAR_NONE};
	struct json_object *claims = NULL;
	char header[128], *h64 = NULL, *p64 = NULL, *s = NULL, s64[SIG_B64 + 1];
	const char *payload;
	uint8_t sig[SIG_LEN];
	size_t hn, pn, total;
	int r, n;

	if ((r = input_ok(k, in, jwt, why, whylen)) != TPA_OK)
		return r;
	snprintf(a.policy_id, sizeof(a.policy_id), POLICY_PREFIX "none");
	if (doc && (r = appraise(doc, in->machine_id, &a, why, whylen)) != TPA_OK)
		goto out;
	if ((r = claims_json(in, &a, &claims)) != TPA_OK)
		goto out;
	r = TPA_E_NOMEM;
	if (!(payload = json_object_to_json_string_ext(
	              claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)))
		goto out;
	n = snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	             k->kid);
	if (n < 0 || (size_t)n >= sizeof(header)) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	if (!(h64 = b64u_encode_alloc((const uint8_t *)header, (size_t)n)) ||
	    !(p64 = b64u_encode_alloc((const uint8_t *)payload, strlen(payload))))
		goto out;
	hn = strlen(h64);
	pn = strlen(p64);
	total = hn + 1 + pn + 1 + SIG_B64;
	if (total > TPA_EAR_JWT_MAX) {
		setwhy(why, whylen, "the result would be longer than %d bytes", TPA_EAR_JWT_MAX);
		r = TPA_E_LIMIT;
		goto out;
	}
	if (!(s = malloc(total + 1)))
		goto out;
	memcpy(s, h64, hn);
	s[hn] = '.';
	memcpy(s + hn + 1, p64, pn);
	if ((r = es256_sign(k->pkey, s, hn + 1 + pn, sig)) != TPA_OK) {
		setwhy(why, whylen, "ES256 signing failed (OpenSSL)");
		goto out;
	}
	b64u_encode(sig, SIG_LEN, s64);
	s[hn + 1 + pn] = '.';
	memcpy(s + hn + 2 + pn, s64, SIG_B64 + 1);
	*jwt = s;
	s = NULL;
	r = TPA_OK;
out:
	free(s);
	free(h64);
	free(p64);
	json_object_put(claims);
	json_object_put(a.failed);
	return r;
}

int tpa_ear_sign(const tpa_result_key *k, const tpa_ear_input *in, char **jwt, char *why,
                 size_t whylen)
{
	struct json_object *doc = NULL;
	char jwhy[160] = "";
	int r;

	if ((r = input_ok(k, in, jwt, why, whylen)) != TPA_OK)
		return r;
	if (in->verdict_json) {
		r = tpa_json_parse_max(in->verdict_json, in->verdict_len, VERDICT_MAX,
		                       VERDICT_VALUES, &doc, jwhy, sizeof(jwhy));
		if (r != TPA_OK) {
			setwhy(why, whylen, "verdict document: %s",
			       jwhy[0] ? jwhy : tpa_strerror(r));
			return r == TPA_E_NOMEM ? r : TPA_E_MALFORMED;
		}
		/* "null" parses to no object: a document given is one, never
		 * "no verdict yet" */
		if (!doc) {
			setwhy(why, whylen, "verdict document: null, not an object");
			return TPA_E_MALFORMED;
		}
	}
	r = tpa_ear_sign_doc(k, in, doc, jwt, why, whylen);
	json_object_put(doc);
	return r;
}

/* ---- checking a result ---- */

/* The JOSE header (RFC 7515 4): alg ES256, typ JWT or absent, kid the
 * key's or absent, nothing else (crit included: no extension is
 * understood, 4.1.11). */
static int check_header(const tpa_result_pub *k, const char *h, size_t n, char *why, size_t whylen)
{
	uint8_t raw[HEADER_MAX];
	size_t len;
	struct json_object *o = NULL;
	char jwhy[160] = "", buf[48];
	int r;

	if (b64u_decode(h, n, raw, sizeof(raw), &len) != 0) {
		setwhy(why, whylen, "header: not base64url (without padding) of at most %d bytes",
		       HEADER_MAX);
		return TPA_E_MALFORMED;
	}
	if ((r = tpa_json_parse_max((const char *)raw, len, HEADER_MAX, 32, &o, jwhy,
	                            sizeof(jwhy))) != TPA_OK) {
		setwhy(why, whylen, "header: not JSON: %s", jwhy);
		return r == TPA_E_NOMEM ? r : TPA_E_MALFORMED;
	}
	r = TPA_E_MALFORMED;
	if (!json_object_is_type(o, json_type_object)) {
		setwhy(why, whylen, "header: not a JSON object");
		goto out;
	}
	{
		const char *alg, *typ, *kid;
		if (get_str(o, "alg", &alg) != 0 || !alg) {
			setwhy(why, whylen, "header: alg: missing or not a string");
			goto out;
		}
		if (strcmp(alg, "ES256") != 0) {
			setwhy(why, whylen, "header: alg \"%s\": only ES256 is accepted",
			       shown(alg, buf));
			r = TPA_E_UNSUPPORTED;
			goto out;
		}
		json_object_object_foreach (o, name, val) {
			(void)val;
			if (strcmp(name, "alg") == 0 || strcmp(name, "typ") == 0 ||
			    strcmp(name, "kid") == 0)
				continue;
			setwhy(why, whylen, "header: %s \"%s\" is not understood",
			       strcmp(name, "crit") == 0 ? "the critical extension list"
			                                 : "parameter",
			       shown(name, buf));
			r = TPA_E_UNSUPPORTED;
			goto out;
		}
		if (get_str(o, "typ", &typ) != 0 || (typ && strcmp(typ, "JWT") != 0)) {
			setwhy(why, whylen, "header: typ: not \"JWT\"");
			goto out;
		}
		if (get_str(o, "kid", &kid) != 0) {
			setwhy(why, whylen, "header: kid: not a string");
			goto out;
		}
		if (kid && strcmp(kid, k->kid) != 0) {
			setwhy(why, whylen, "header: kid \"%s\" is not this key's (%s)",
			       shown(kid, buf), k->kid);
			r = TPA_E_BAD_SIGNATURE;
			goto out;
		}
	}
	r = TPA_OK;
out:
	json_object_put(o);
	return r;
}

#define BAD(...)                                  \
	do {                                      \
		setwhy(why, whylen, __VA_ARGS__); \
		return TPA_E_MALFORMED;           \
	} while (0)

static int read_vector(struct json_object *vec, tpa_ear_claims *c, int *worst, char *why,
                       size_t whylen)
{
	static const char *const others[] = {"file-system", "runtime-opaque", "storage-opaque",
	                                     "sourced-data"};
	int *dst[C_N] = {&c->instance_identity, &c->hardware, &c->executables, &c->configuration};
	bool seen[C_N] = {false};
	char buf[48];
	*worst = 0;
	json_object_object_foreach (vec, name, val) {
		int64_t v;
		int i, known = 0;
		if (!get_i64(val, &v) || v < -128 || v > 127)
			BAD("payload: ear.trustworthiness-vector: %s: not an integer in -128..127",
			    shown(name, buf));
		for (i = 0; i < C_N; i++)
			if (strcmp(name, claim_names[i]) == 0) {
				*dst[i] = (int)v;
				seen[i] = true;
				known = 1;
			}
		for (i = 0; i < 4; i++)
			known |= strcmp(name, others[i]) == 0;
		if (!known)
			BAD("payload: ear.trustworthiness-vector: %s is not an AR4SI claim",
			    shown(name, buf));
		if (tier_of((int)v) > *worst)
			*worst = tier_of((int)v);
	}
	for (int i = 0; i < C_N; i++)
		if (!seen[i])
			BAD("payload: ear.trustworthiness-vector: %s is missing", claim_names[i]);
	return TPA_OK;
}

static int read_failed(struct json_object *arr, tpa_ear_claims *c, char *why, size_t whylen)
{
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		const char *name, *st, *reason;
		if (!json_object_is_type(e, json_type_object) || get_str(e, "name", &name) != 0 ||
		    get_str(e, "status", &st) != 0 || get_str(e, "reason", &reason) != 0 || !name ||
		    !st || !reason)
			BAD("payload: tpmattest.failed-checks[%zu]: not {\"name\", \"status\", "
			    "\"reason\"} strings",
			    i);
		if (!name_ok(name))
			BAD("payload: tpmattest.failed-checks[%zu]: name: not 1..63 of [a-z0-9_]",
			    i);
		if (strcmp(st, "fail") != 0 && strcmp(st, "not_run") != 0)
			BAD("payload: tpmattest.failed-checks[%zu]: status: not fail or not_run",
			    i);
		if (c->n_failed < TPA_EAR_CHECK_MAX) {
			snprintf(c->failed[c->n_failed].name, sizeof(c->failed[0].name), "%s",
			         name);
			snprintf(c->failed[c->n_failed].status, sizeof(c->failed[0].status), "%s",
			         st);
			c->n_failed++;
		}
	}
	c->n_failed_all = n;
	return TPA_OK;
}

static int parse_status(const char *s, tpa_ear_status *st)
{
	static const tpa_ear_status v[] = {TPA_EAR_NONE, TPA_EAR_AFFIRMING, TPA_EAR_WARNING,
	                                   TPA_EAR_CONTRAINDICATED};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*st = v[i];
			return 0;
		}
	return -1;
}

static int read_submod(const char *name, struct json_object *sub, tpa_ear_claims *c, char *why,
                       size_t whylen)
{
	struct json_object *v;
	const char *s, *pid, *verdict;
	bool has;
	int64_t seq;
	int worst, r;

	if (strlen(name) != 64 || !is_lower_hex(name, 64))
		BAD("payload: submods: the submodule's name is not a machine id (64 lowercase hex "
		    "digits)");
	memcpy(c->machine_id, name, 65);
	if (!json_object_is_type(sub, json_type_object))
		BAD("payload: submods: the submodule is not an object");
	if (get_str(sub, "ear.status", &s) != 0 || !s || parse_status(s, &c->status) != 0)
		BAD("payload: ear.status: missing or not affirming, warning, contraindicated or "
		    "none");
	if (!json_object_object_get_ex(sub, "ear.trustworthiness-vector", &v) ||
	    !json_object_is_type(v, json_type_object))
		BAD("payload: ear.trustworthiness-vector: missing or not an object");
	if ((r = read_vector(v, c, &worst, why, whylen)) != TPA_OK)
		return r;
	/* draft-ietf-rats-ear-03 3.1: no better than the worst claim */
	if (status_index(c->status) != 0 && status_index(c->status) < worst)
		BAD("payload: ear.status \"%s\" is better than its vector's worst claim (%s)", s,
		    status_names[worst]);
	if (get_str(sub, "ear.appraisal-policy-id", &pid) != 0 ||
	    (pid && strlen(pid) > TPA_EAR_POLICY_ID_MAX))
		BAD("payload: ear.appraisal-policy-id: not a string of at most %d bytes",
		    TPA_EAR_POLICY_ID_MAX);
	if (pid)
		memcpy(c->policy_id, pid, strlen(pid) + 1);
	if (json_object_object_get_ex(sub, "tpmattest.verdict", &v) && v) {
		if (!json_object_is_type(v, json_type_string))
			BAD("payload: tpmattest.verdict: not \"pass\", \"fail\" or null");
		verdict = json_object_get_string(v);
		if (strcmp(verdict, "pass") != 0 && strcmp(verdict, "fail") != 0)
			BAD("payload: tpmattest.verdict: not \"pass\", \"fail\" or null");
		memcpy(c->verdict, verdict, strlen(verdict) + 1);
	}
	if (get_opt_i64(sub, "tpmattest.attested-at", &has, &c->attested_at) != 0)
		BAD("payload: tpmattest.attested-at: not an integer or null");
	if (has && !time_ok(c->attested_at))
		BAD("payload: tpmattest.attested-at: %lld is not a time in 0..%lld (1970 to 9999)",
		    (long long)c->attested_at, (long long)TPA_EAR_TIME_MAX);
	c->has_attested_at = has;
	if (get_opt_i64(sub, "tpmattest.seq", &has, &seq) != 0)
		BAD("payload: tpmattest.seq: not an integer or null");
	if (json_object_object_get_ex(sub, "tpmattest.failed-checks", &v)) {
		if (!json_object_is_type(v, json_type_array))
			BAD("payload: tpmattest.failed-checks: not an array");
		if ((r = read_failed(v, c, why, whylen)) != TPA_OK)
			return r;
	}
	return TPA_OK;
}

static int read_claims(struct json_object *o, tpa_ear_claims *c, char *why, size_t whylen)
{
	struct json_object *v, *vid;
	const char *s, *b, *d;
	bool has;
	char buf[48];

	if (!json_object_is_type(o, json_type_object))
		BAD("payload: not a JSON object");
	if (get_str(o, "eat_profile", &s) != 0 || !s)
		BAD("payload: eat_profile: missing or not a string");
	if (strcmp(s, TPA_EAR_PROFILE) != 0) {
		setwhy(why, whylen, "payload: eat_profile \"%s\" is not %s", shown(s, buf),
		       TPA_EAR_PROFILE);
		return TPA_E_UNSUPPORTED;
	}
	if (!json_object_object_get_ex(o, "iat", &v) || !get_i64(v, &c->iat))
		BAD("payload: iat: missing or not an integer (RFC 7519 4.1.6)");
	if (!time_ok(c->iat))
		BAD("payload: iat: %lld is not a time in 0..%lld (1970 to 9999)", (long long)c->iat,
		    (long long)TPA_EAR_TIME_MAX);
	if (get_opt_i64(o, "exp", &has, &c->exp) != 0)
		BAD("payload: exp: not an integer (RFC 7519 4.1.4)");
	if (has && !time_ok(c->exp))
		BAD("payload: exp: %lld is not a time in 0..%lld (1970 to 9999)", (long long)c->exp,
		    (long long)TPA_EAR_TIME_MAX);
	c->has_exp = has;
	if (!json_object_object_get_ex(o, "ear.verifier-id", &vid) ||
	    !json_object_is_type(vid, json_type_object) || get_str(vid, "build", &b) != 0 ||
	    get_str(vid, "developer", &d) != 0 || !b || !d)
		BAD("payload: ear.verifier-id: not an object with build and developer strings");
	if (get_str(o, "eat_nonce", &s) != 0)
		BAD("payload: eat_nonce: not a string");
	if (s) {
		size_t n = strlen(s);
		if (n < TPA_EAR_NONCE_HEX_MIN || n > TPA_EAR_NONCE_HEX_MAX || n % 2 ||
		    !is_lower_hex(s, n))
			BAD("payload: eat_nonce: not %d..%d lowercase hex digits",
			    TPA_EAR_NONCE_HEX_MIN, TPA_EAR_NONCE_HEX_MAX);
		memcpy(c->nonce_hex, s, n + 1);
		c->has_nonce = 1;
	}
	if (get_str(o, "ear.status", &s) != 0 || (s && parse_status(s, &(tpa_ear_status){0}) != 0))
		BAD("payload: ear.status: not affirming, warning, contraindicated or none");
	if (!json_object_object_get_ex(o, "submods", &v) ||
	    !json_object_is_type(v, json_type_object))
		BAD("payload: submods: missing or not an object");
	if (json_object_object_length(v) != 1)
		BAD("payload: submods: %d submodules, not one machine's",
		    json_object_object_length(v));
	json_object_object_foreach (v, name, sub) {
		return read_submod(name, sub, c, why, whylen);
	}
	return TPA_E_MALFORMED; /* not reached */
}

int tpa_ear_verify(const tpa_result_pub *k, const char *jwt, size_t len, tpa_ear_claims *out,
                   char *why, size_t whylen)
{
	const char *d1, *d2;
	uint8_t sig[512], *payload = NULL;
	size_t slen, plen, pn;
	struct json_object *o = NULL;
	tpa_ear_claims c;
	char jwhy[160] = "";
	int r;

	if (!k || !jwt || !out)
		return TPA_E_INVALID_ARG;
	if (len > TPA_EAR_JWT_MAX) {
		setwhy(why, whylen, "longer than %d bytes", TPA_EAR_JWT_MAX);
		return TPA_E_LIMIT;
	}
	if (!(d1 = memchr(jwt, '.', len)) ||
	    !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt))) {
		setwhy(why, whylen,
		       "not a JWS compact serialization (three base64url parts "
		       "joined by '.')");
		return TPA_E_MALFORMED;
	}
	if ((r = check_header(k, jwt, (size_t)(d1 - jwt), why, whylen)) != TPA_OK)
		return r;
	if (b64u_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), sig, sizeof(sig), &slen) != 0) {
		setwhy(why, whylen,
		       "signature: not base64url (without padding) of at most 512 "
		       "bytes");
		return TPA_E_MALFORMED;
	}
	if (slen != SIG_LEN) {
		setwhy(why, whylen, "signature: %zu bytes, not ES256's 64 (r || s)", slen);
		return TPA_E_BAD_SIGNATURE;
	}
	/* the signature before anything in the payload is looked at */
	r = es256_verify(k->pkey, jwt, (size_t)(d2 - jwt), sig);
	if (r < 0)
		return TPA_E_NOMEM;
	if (r == 0) {
		setwhy(why, whylen, "the signature does not verify with this key (kid %s)", k->kid);
		return TPA_E_BAD_SIGNATURE;
	}
	pn = (size_t)(d2 - d1 - 1);
	if (!(payload = malloc(pn / 4 * 3 + 3)))
		return TPA_E_NOMEM;
	if (b64u_decode(d1 + 1, pn, payload, pn / 4 * 3 + 3, &plen) != 0) {
		setwhy(why, whylen, "payload: not base64url (without padding)");
		r = TPA_E_MALFORMED;
		goto out;
	}
	if ((r = tpa_json_parse_max((const char *)payload, plen, TPA_EAR_JWT_MAX, PAYLOAD_VALUES,
	                            &o, jwhy, sizeof(jwhy))) != TPA_OK) {
		setwhy(why, whylen, "payload: not JSON: %s", jwhy);
		if (r != TPA_E_NOMEM)
			r = TPA_E_MALFORMED;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	if ((r = read_claims(o, &c, why, whylen)) != TPA_OK)
		goto out;
	/* the payload as signed: the strict reader refused a NUL in it */
	if (!(c.claims_json = malloc(plen + 1))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	memcpy(c.claims_json, payload, plen);
	c.claims_json[plen] = '\0';
	*out = c;
	r = TPA_OK;
out:
	json_object_put(o);
	free(payload);
	return r;
}

void tpa_ear_claims_clear(tpa_ear_claims *c)
{
	if (!c)
		return;
	free(c->claims_json);
	memset(c, 0, sizeof(*c));
}
