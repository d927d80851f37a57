/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EAR results (<tpmattest/ear.h>, src/verifier/ear.c): the claims each kind
 * of verdict document gives, exactly; the round trip through the JWK; every
 * tampering refused with its error; JWTs signed here, with OpenSSL and
 * without the library's signer, for the header and payload checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <tpmattest/ear.h>

#define MID "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define MID2 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BUILD "tpmattest 0.1.0"
#define DEV "https://example.org/tpmattest"

#define C(n, s, r) "{\"name\":\"" n "\",\"status\":\"" s "\",\"reason\":\"" r "\"}"
#define IDENT_OK                                                                         \
	C("decode", "pass", "ok")                                                        \
	"," C("magic", "pass", "ok") "," C("type", "pass", "ok") "," C(                  \
	        "signature", "pass", "ok") "," C("nonce", "pass",                        \
	                                         "ok") "," C("qualified_signer", "pass", \
	                                                     "ok") "," C("ak", "pass", "ok")
#define QUOTE_OK                         \
	C("pcr_selection", "pass", "ok") \
	"," C("pcr_digest", "pass", "ok") "," C("clock", "pass", "ok")
#define LOG_OK C("eventlog_replay", "pass", "ok") "," C("eventlog_rules", "pass", "ok")
#define POLICY_OK                      \
	C("policy_pcrs", "pass", "ok") \
	"," C("policy_pcr_values", "pass", "ok") "," C("policy_events", "pass", "ok")

static const char doc_affirming[] =
        "{\"machine_id\":\"" MID "\",\"verdict\":\"pass\",\"seq\":17,\"at\":1700000000,"
        "\"policy\":{\"name\":\"golden\",\"ruled\":true,\"sha256\":\"" SHA "\"},"
        "\"counter_kind\":\"authorized\",\"pcrs\":{\"sha256\":{\"0\":\"" SHA "\"}},"
        "\"checks\":[" IDENT_OK "," QUOTE_OK
        "," C("counter", "pass", "ok") "," LOG_OK "," POLICY_OK
                                       "," C("enrolled_counter", "pass", "ok") "]}";

static const char doc_no_policy[] =
        "{\"verdict\":\"pass\",\"seq\":3,\"at\":1700000100,"
        "\"policy\":{\"name\":null,\"ruled\":false},\"counter_kind\":\"authorized\","
        "\"checks\":[" IDENT_OK "," QUOTE_OK "," C("counter", "pass", "ok") "]}";

/* kept from before issue 13: no counter_kind, no sha256, no pcrs */
static const char doc_older[] = "{\"verdict\":\"pass\",\"seq\":4,\"at\":1700000200,"
                                "\"policy\":{\"name\":\"(default)\",\"ruled\":true},"
                                "\"checks\":[" IDENT_OK "," QUOTE_OK
                                "," C("counter", "pass", "ok") "," LOG_OK "," POLICY_OK "]}";

static const char doc_replay_fail[] =
        "{\"verdict\":\"fail\",\"seq\":5,\"at\":1700000300,"
        "\"policy\":{\"name\":\"golden\",\"ruled\":true,\"sha256\":\"" SHA "\"},"
        "\"counter_kind\":\"authorized\",\"failed_check\":\"eventlog_replay\","
        "\"checks\":[" IDENT_OK "," QUOTE_OK "," C("counter", "pass", "ok") "," C(
                "eventlog_replay", "fail",
                "the log replays PCR 4 (sha256) to \\\"x\\\"\\n") "," C("policy", "not_run",
                                                                        "an earlier check "
                                                                        "failed") "]}";

static const char doc_counter_fail[] =
        "{\"verdict\":\"fail\",\"seq\":null,\"at\":1700000400,"
        "\"policy\":{\"name\":\"golden\",\"ruled\":true,\"sha256\":\"" SHA "\"},"
        "\"counter_kind\":\"authorized\",\"checks\":[" IDENT_OK "," QUOTE_OK
        "," C("counter", "fail", "the counter went back") "," LOG_OK "," POLICY_OK "]}";

static tpa_result_key *key1, *key2;
static tpa_result_pub *pub1;

static int setup(void **state)
{
	char *jwk = NULL;
	(void)state;
	if (tpa_result_key_generate(&key1) != TPA_OK || tpa_result_key_generate(&key2) != TPA_OK ||
	    tpa_result_key_jwk(key1, &jwk) != TPA_OK ||
	    tpa_result_pub_from_jwk(jwk, strlen(jwk), &pub1, NULL, 0) != TPA_OK)
		return -1;
	free(jwk);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tpa_result_key_free(&key1);
	tpa_result_key_free(&key2);
	tpa_result_pub_free(&pub1);
	assert_null(key1);
	assert_null(pub1);
	return 0;
}

static char *sign(const tpa_result_key *k, const char *doc, const char *nonce)
{
	tpa_ear_input in = {.verdict_json = doc,
	                    .verdict_len = doc ? strlen(doc) : 0,
	                    .machine_id = MID,
	                    .iat = 1700001000,
	                    .nonce_hex = nonce,
	                    .build = BUILD,
	                    .developer = DEV};
	char *jwt = NULL, why[256] = "";
	int r = tpa_ear_sign(k, &in, &jwt, why, sizeof(why));
	if (r != TPA_OK)
		fail_msg("tpa_ear_sign: %d %s", r, why);
	return jwt;
}

static void verified(const char *jwt, tpa_ear_claims *c)
{
	char why[256] = "";
	int r = tpa_ear_verify(pub1, jwt, strlen(jwt), c, why, sizeof(why));
	if (r != TPA_OK)
		fail_msg("tpa_ear_verify: %d %s", r, why);
}

static void refused(const char *jwt, size_t len, int want, const char *reason)
{
	tpa_ear_claims c;
	char why[256] = "";
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(tpa_ear_verify(pub1, jwt, len, &c, why, sizeof(why)), want);
	if (!strstr(why, reason))
		fail_msg("why \"%s\" does not name \"%s\"", why, reason);
	assert_int_equal(((const unsigned char *)&c)[0], 0x5a); /* untouched */
}

static void vector(const tpa_ear_claims *c, int ii, int hw, int ex, int cfg)
{
	assert_int_equal(c->instance_identity, ii);
	assert_int_equal(c->hardware, hw);
	assert_int_equal(c->executables, ex);
	assert_int_equal(c->configuration, cfg);
}

static void test_affirming(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, doc_affirming, "00112233AABBCCDD");
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_AFFIRMING);
	vector(&c, 2, 2, 3, 2);
	assert_int_equal(c.iat, 1700001000);
	assert_true(c.has_nonce);
	assert_string_equal(c.nonce_hex, "00112233aabbccdd");
	assert_string_equal(c.machine_id, MID);
	assert_string_equal(c.policy_id, "tpmattest:policy/golden@sha256:" SHA);
	assert_string_equal(c.verdict, "pass");
	assert_true(c.has_attested_at);
	assert_int_equal(c.attested_at, 1700000000);
	assert_int_equal(c.n_failed, 0);
	assert_false(c.has_exp);
	assert_string_equal(
	        c.claims_json,
	        "{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1700001000,"
	        "\"ear.verifier-id\":{\"build\":\"" BUILD "\",\"developer\":\"" DEV "\"},"
	        "\"eat_nonce\":\"00112233aabbccdd\",\"submods\":{\"" MID "\":{"
	        "\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{"
	        "\"instance-identity\":2,\"hardware\":2,\"executables\":3,\"configuration\":2},"
	        "\"ear.appraisal-policy-id\":\"tpmattest:policy/golden@sha256:" SHA "\","
	        "\"tpmattest.verdict\":\"pass\",\"tpmattest.attested-at\":1700000000,"
	        "\"tpmattest.seq\":17,\"tpmattest.failed-checks\":[]}}}");
	assert_string_equal(tpa_ear_status_name(c.status), "affirming");
	tpa_ear_claims_clear(&c);
	assert_null(c.claims_json);
	free(jwt);
}

static void test_header_exact(void **state)
{
	char *jwt = sign(key1, doc_affirming, NULL), *jwk = NULL, want[200], kid[64];
	const char *p;
	(void)state;
	assert_int_equal(tpa_result_key_jwk(key1, &jwk), TPA_OK);
	p = strstr(jwk, "\"kid\":\"");
	assert_non_null(p);
	assert_int_equal(sscanf(p + 7, "%63[^\"]", kid), 1);
	assert_int_equal(strlen(kid), 43);
	/* {"alg":"ES256","typ":"JWT","kid":"  is eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ij */
	snprintf(want, sizeof(want), "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6I");
	assert_memory_equal(jwt, want, strlen(want));
	/* the signature is 86 characters: 64 bytes */
	assert_int_equal(strlen(strrchr(jwt, '.') + 1), 86);
	free(jwk);
	free(jwt);
}

static void test_warning_no_policy(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, doc_no_policy, NULL);
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_WARNING);
	vector(&c, 2, 2, 0, 0);
	assert_false(c.has_nonce);
	assert_string_equal(c.policy_id, "tpmattest:policy/none");
	assert_non_null(strstr(c.claims_json, "\"tpmattest.seq\":3,"));
	tpa_ear_claims_clear(&c);
	free(jwt);
}

static void test_warning_older(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, doc_older, NULL);
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_WARNING);
	vector(&c, 2, 2, 3, 2);
	assert_string_equal(c.policy_id, "tpmattest:policy/default");
	tpa_ear_claims_clear(&c);
	free(jwt);
}

static void test_contraindicated_replay(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, doc_replay_fail, NULL);
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_CONTRAINDICATED);
	vector(&c, 2, 2, 96, 36);
	assert_string_equal(c.verdict, "fail");
	assert_int_equal(c.n_failed, 2);
	assert_int_equal(c.n_failed_all, 2);
	assert_string_equal(c.failed[0].name, "eventlog_replay");
	assert_string_equal(c.failed[0].status, "fail");
	assert_string_equal(c.failed[1].name, "policy");
	assert_string_equal(c.failed[1].status, "not_run");
	/* the reason as a JSON string, escaped */
	assert_non_null(strstr(c.claims_json,
	                       "\"tpmattest.failed-checks\":[{\"name\":\"eventlog_replay\","
	                       "\"status\":\"fail\",\"reason\":\"the log replays PCR 4 (sha256) "
	                       "to \\\"x\\\"\\n\"},{\"name\":\"policy\",\"status\":\"not_run\","
	                       "\"reason\":\"an earlier check failed\"}]"));
	tpa_ear_claims_clear(&c);
	free(jwt);
}

static void test_contraindicated_counter(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, doc_counter_fail, NULL);
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_CONTRAINDICATED);
	vector(&c, 96, 2, 3, 2);
	assert_int_equal(c.n_failed, 1);
	assert_string_equal(c.failed[0].name, "counter");
	assert_non_null(strstr(c.claims_json, "\"tpmattest.seq\":null"));
	tpa_ear_claims_clear(&c);
	free(jwt);
}

static void test_mapping_details(void **state)
{
	static const struct {
		const char *checks;
		int ii, hw, ex, cfg;
	} cases[] = {
	        {C("signature", "fail", "x") "," C("nonce", "pass", "") "," C("counter", "fail",
	                                                                      ""),
	         97, 0, 0, 0},
	        {C("signature", "pass", "") "," C("nonce", "pass", "") "," C("clock", "not_run",
	                                                                     ""),
	         96, 2, 0, 0},
	        {C("signature", "pass", "") "," C("nonce", "pass", "") "," C("pcr_digest", "fail",
	                                                                     ""),
	         2, 2, 0, 96},
	        {C("eventlog_replay", "pass", "") "," C("policy_secure_boot", "fail", ""), 0, 0, 32,
	         0},
	        {C("eventlog_replay", "pass", "") "," C("policy_events", "fail", ""), 0, 0, 33, 0},
	        {C("pcr_digest", "pass", "") "," C("policy_pcrs", "fail", ""), 0, 0, 0, 36},
	        {C("pcr_digest", "pass", "") "," C("policy_pcr_values", "fail", ""), 0, 0, 0, 32},
	        {C("pcr_digest", "pass", "") "," C("brand_new_check", "fail", ""), 0, 0, 0, 96},
	        {C("pcr_digest", "pass", "") "," C("policy_pcrs", "skipped", ""), 0, 0, 0, 2},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char doc[2048], *jwt;
		tpa_ear_claims c;
		snprintf(doc, sizeof(doc),
		         "{\"verdict\":\"fail\",\"policy\":{\"name\":\"p\",\"ruled\":true},"
		         "\"checks\":[%s]}",
		         cases[i].checks);
		jwt = sign(key1, doc, NULL);
		verified(jwt, &c);
		assert_int_equal(c.status, TPA_EAR_CONTRAINDICATED);
		vector(&c, cases[i].ii, cases[i].hw, cases[i].ex, cases[i].cfg);
		tpa_ear_claims_clear(&c);
		free(jwt);
	}
}

static void test_none(void **state)
{
	tpa_ear_claims c;
	char *jwt = sign(key1, NULL, NULL);
	(void)state;
	verified(jwt, &c);
	assert_int_equal(c.status, TPA_EAR_NONE);
	vector(&c, 0, 0, 0, 0);
	assert_string_equal(c.verdict, "");
	assert_false(c.has_attested_at);
	assert_string_equal(c.policy_id, "tpmattest:policy/none");
	assert_non_null(strstr(c.claims_json,
	                       "{\"ear.status\":\"none\",\"ear.trustworthiness-vector\":{"
	                       "\"instance-identity\":0,\"hardware\":0,\"executables\":0,"
	                       "\"configuration\":0},\"ear.appraisal-policy-id\":\"tpmattest:"
	                       "policy/none\",\"tpmattest.verdict\":null,\"tpmattest.attested-at\":"
	                       "null,\"tpmattest.seq\":null,\"tpmattest.failed-checks\":[]}"));
	tpa_ear_claims_clear(&c);
	free(jwt);
}

static void test_sign_refusals(void **state)
{
	tpa_ear_input in = {.machine_id = MID, .iat = 1, .build = BUILD, .developer = DEV};
	char *jwt = NULL, why[256] = "";
	(void)state;
	in.machine_id = "A1B2";
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_non_null(strstr(why, "machine id"));
	in.machine_id = MID;
	in.nonce_hex = "0011";
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_non_null(strstr(why, "nonce"));
	in.nonce_hex = "00112233445566zz";
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	in.nonce_hex = NULL;
	in.verdict_json = "{\"verdict\":\"maybe\",\"checks\":[]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	assert_non_null(strstr(why, "verdict"));
	/* "null" is a document that is not one, not "no verdict yet" (fuzz_ear) */
	in.verdict_json = "null";
	in.verdict_len = 4;
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	assert_non_null(strstr(why, "null"));
	in.verdict_json = "{\"verdict\":\"pass\",\"checks\":[],\"checks\":[]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	in.verdict_json = "{\"verdict\":\"pass\",\"checks\":[{\"name\":\"x\",\"status\":\"ok\"}]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	assert_non_null(strstr(why, "status"));
	in.verdict_json = "{\"machine_id\":\"" MID2 "\",\"verdict\":\"pass\",\"checks\":[]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_non_null(strstr(why, "another machine"));
	in.verdict_json = "{\"verdict\":\"pass\",\"checks\":[],\"policy\":{\"name\":\"a/b\","
	                  "\"ruled\":true}}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	/* times tpa_ear_verify would refuse are not signed */
	in.verdict_json = "{\"verdict\":\"pass\",\"at\":-1,\"checks\":[]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	assert_non_null(strstr(why, "verdict document: at: not a time"));
	in.verdict_json = "{\"verdict\":\"pass\",\"at\":253402300800,\"checks\":[]}";
	in.verdict_len = strlen(in.verdict_json);
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_MALFORMED);
	in.verdict_json = NULL;
	in.verdict_len = 0;
	in.iat = -1;
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_non_null(strstr(why, "iat: not a time"));
	in.iat = INT64_MIN;
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	in.iat = TPA_EAR_TIME_MAX + 1;
	assert_int_equal(tpa_ear_sign(key1, &in, &jwt, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_null(jwt);
}

/* A copy of jwt with the character at i changed to another of the alphabet. */
static char *flip(const char *jwt, size_t i)
{
	char *t = strdup(jwt);
	assert_non_null(t);
	t[i] = t[i] == 'A' ? 'B' : 'A';
	return t;
}

static void test_tampering(void **state)
{
	char *jwt = sign(key1, doc_affirming, NULL), *t, *d1, *d2;
	size_t len = strlen(jwt), h, p;
	(void)state;
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');
	h = (size_t)(d1 - jwt);
	p = (size_t)(d2 - jwt);
	/* another header, valid and without kid: {"alg":"ES256","typ":"JWT"} */
	t = malloc(len + 1);
	assert_non_null(t);
	snprintf(t, len + 1, "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9%s", d1);
	refused(t, strlen(t), TPA_E_BAD_SIGNATURE, "does not verify");
	free(t);
	/* payload characters, the first and in the middle */
	t = flip(jwt, h + 1);
	refused(t, len, TPA_E_BAD_SIGNATURE, "does not verify");
	free(t);
	t = flip(jwt, (h + p) / 2);
	refused(t, len, TPA_E_BAD_SIGNATURE, "does not verify");
	free(t);
	/* the signature: r and s */
	t = flip(jwt, p + 1);
	refused(t, len, TPA_E_BAD_SIGNATURE, "does not verify");
	free(t);
	t = flip(jwt, p + 50);
	refused(t, len, TPA_E_BAD_SIGNATURE, "does not verify");
	free(t);
	/* 84 characters: 63 bytes */
	refused(jwt, len - 2, TPA_E_BAD_SIGNATURE, "63 bytes");
	/* nothing after the second dot */
	refused(jwt, p + 1, TPA_E_BAD_SIGNATURE, "0 bytes");
	/* 85 characters: not base64url */
	refused(jwt, len - 1, TPA_E_MALFORMED, "signature");
	free(jwt);
}

static void test_kid_and_other_key(void **state)
{
	char *jwt = sign(key2, doc_affirming, NULL);
	(void)state;
	refused(jwt, strlen(jwt), TPA_E_BAD_SIGNATURE, "kid");
	free(jwt);
}

static void test_junk(void **state)
{
	static const char *const junk[] = {"",
	                                   "hello",
	                                   "a.b",
	                                   "a.b.c.d",
	                                   "!!!.e30.AAAA",
	                                   "eyJhbGciOiJFUzI1NiJ9=.e30.AAAA",
	                                   "e30.e30.AAAA",
	                                   "W10.e30.AAAA",
	                                   "eyJhbGciOjF9.e30.AAAA",
	                                   "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpPU0UifQ.e30.AAAA"};
	static const char *const reasons[] = {"three",  "three", "three",  "three", "header",
	                                      "header", "alg",   "object", "alg",   "typ"};
	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		refused(junk[i], strlen(junk[i]), TPA_E_MALFORMED, reasons[i]);
	/* a NUL inside */
	refused("e30\0.e30.AAAA", 13, TPA_E_MALFORMED, "header");
}

/* ---- JWTs signed here, not by the library ---- */

static char *b64u(const void *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *b = p;
	char *s = malloc(n / 3 * 4 + 5), *o = s;
	size_t i;
	assert_non_null(s);
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = a[b[i] >> 2];
		*o++ = a[(b[i] & 3) << 4 | b[i + 1] >> 4];
		*o++ = a[(b[i + 1] & 15) << 2 | b[i + 2] >> 6];
		*o++ = a[b[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = a[b[i] >> 2];
		*o++ = a[(b[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = a[b[i] >> 2];
		*o++ = a[(b[i] & 3) << 4 | b[i + 1] >> 4];
		*o++ = a[(b[i + 1] & 15) << 2];
	}
	*o = '\0';
	return s;
}

/* header.payload signed with key1's private key through OpenSSL. */
static char *raw_jwt(const char *header, const char *payload)
{
	char *pem = NULL, *h = b64u(header, strlen(header)), *p = b64u(payload, strlen(payload));
	char *input, *sig64, *out;
	BIO *b;
	EVP_PKEY *k;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[128], rs[64];
	size_t dlen = sizeof(der);
	const unsigned char *dp = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	assert_int_equal(tpa_result_key_to_pem(key1, &pem), TPA_OK);
	b = BIO_new_mem_buf(pem, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	assert_non_null(k);
	size_t in_len = strlen(h) + strlen(p) + 2, out_len;
	input = malloc(in_len);
	if (!input)
		abort();
	snprintf(input, in_len, "%s.%s", h, p);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &dlen, (uint8_t *)input, strlen(input)), 1);
	es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen);
	if (!es)
		abort();
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, rs, 32);
	BN_bn2binpad(s, rs + 32, 32);
	sig64 = b64u(rs, 64);
	out_len = strlen(input) + strlen(sig64) + 2;
	out = malloc(out_len);
	if (!out)
		abort();
	snprintf(out, out_len, "%s.%s", input, sig64);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	BIO_free(b);
	free(pem);
	free(h);
	free(p);
	free(input);
	free(sig64);
	return out;
}

#define SUB(status, ii, hw, ex, cfg)                                                               \
	"\"submods\":{\"" MID "\":{\"ear.status\":\"" status "\",\"ear.trustworthiness-vector\":{" \
	"\"instance-identity\":" #ii ",\"hardware\":" #hw ",\"executables\":" #ex                  \
	",\"configuration\":" #cfg "}}}"
#define HEAD                                                                       \
	"\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1700000000," \
	"\"ear.verifier-id\":{\"build\":\"b\",\"developer\":\"d\"},"

static void test_foreign(void **state)
{
	static const struct {
		const char *header, *payload;
		int want;
		const char *reason;
	} cases[] = {
	        /* accepted: no kid, no typ, no tpmattest claims */
	        {"{\"alg\":\"ES256\"}", "{" HEAD SUB("affirming", 2, 2, 3, 2) "}", TPA_OK, ""},
	        {"{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
	         "{" HEAD "\"exp\":1700000600," SUB("warning", 2, 2, 33, 0) "}", TPA_OK, ""},
	        {"{\"alg\":\"none\"}", "{" HEAD SUB("affirming", 2, 2, 3, 2) "}", TPA_E_UNSUPPORTED,
	         "alg \"none\""},
	        {"{\"alg\":\"HS256\"}", "{}", TPA_E_UNSUPPORTED, "only ES256"},
	        {"{\"alg\":\"ES256\",\"kid\":\"another\"}", "{}", TPA_E_BAD_SIGNATURE,
	         "kid \"another\" is not this key's"},
	        {"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "{}", TPA_E_UNSUPPORTED,
	         "critical"},
	        {"{\"alg\":\"ES256\",\"jwk\":{}}", "{}", TPA_E_UNSUPPORTED, "jwk"},
	        {"{\"alg\":\"ES256\"}", "[]", TPA_E_MALFORMED, "payload: not a JSON object"},
	        {"{\"alg\":\"ES256\"}", "{\"eat_profile\":\"x\"}", TPA_E_UNSUPPORTED,
	         "eat_profile"},
	        {"{\"alg\":\"ES256\"}",
	         "{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1.5}",
	         TPA_E_MALFORMED, "iat"},
	        {"{\"alg\":\"ES256\"}",
	         "{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1," SUB(
	                 "affirming", 2, 2, 3, 2) "}",
	         TPA_E_MALFORMED, "ear.verifier-id"},
	        {"{\"alg\":\"ES256\"}", "{" HEAD SUB("affirming", 2, 2, 96, 2) "}", TPA_E_MALFORMED,
	         "worst claim"},
	        {"{\"alg\":\"ES256\"}", "{" HEAD SUB("maybe", 2, 2, 3, 2) "}", TPA_E_MALFORMED,
	         "ear.status"},
	        {"{\"alg\":\"ES256\"}", "{" HEAD SUB("warning", 2, 2, 3, 200) "}", TPA_E_MALFORMED,
	         "configuration"},
	        {"{\"alg\":\"ES256\"}", "{" HEAD "\"submods\":{}}", TPA_E_MALFORMED,
	         "0 submodules"},
	        {"{\"alg\":\"ES256\"}",
	         "{" HEAD "\"submods\":{\"PSA\":{\"ear.status\":\"affirming\"}}}", TPA_E_MALFORMED,
	         "machine id"},
	        {"{\"alg\":\"ES256\"}",
	         "{" HEAD "\"eat_nonce\":\"00\"," SUB("none", 0, 0, 0, 0) "}", TPA_E_MALFORMED,
	         "eat_nonce"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *jwt = raw_jwt(cases[i].header, cases[i].payload);
		if (cases[i].want == TPA_OK) {
			tpa_ear_claims c;
			verified(jwt, &c);
			assert_string_equal(c.claims_json, cases[i].payload);
			assert_int_equal(c.n_failed, 0);
			assert_int_equal(c.has_exp, i == 1);
			tpa_ear_claims_clear(&c);
		} else {
			refused(jwt, strlen(jwt), cases[i].want, cases[i].reason);
		}
		free(jwt);
	}
}

/* iat, exp and tpmattest.attested-at outside 1970..9999: a relying party's
 * now - iat would overflow (INT64_MIN) or a negative age pass a bound. */
#define PRE "\"eat_profile\":\"tag:github.com,2023:veraison/ear\","
#define VID "\"ear.verifier-id\":{\"build\":\"b\",\"developer\":\"d\"},"
#define SUB_AT(at)                                                                                \
	"\"submods\":{\"" MID "\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{" \
	"\"instance-identity\":2,\"hardware\":2,\"executables\":3,\"configuration\":2},"          \
	"\"tpmattest.attested-at\":" at "}}"

static void test_time_bounds(void **state)
{
	static const struct {
		const char *payload;
		int want;
		const char *reason;
	} cases[] = {
	        {"{" PRE "\"iat\":0," VID SUB_AT("0") "}", TPA_OK, ""},
	        {"{" PRE
	         "\"iat\":253402300799,\"exp\":253402300799," VID SUB_AT("253402300799") "}",
	         TPA_OK, ""},
	        {"{" PRE "\"iat\":-1," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: iat: -1 is not a time in 0..253402300799"},
	        {"{" PRE "\"iat\":-9223372036854775808," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: iat: -9223372036854775808 is not a time"},
	        {"{" PRE "\"iat\":-4611686018427387904," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: iat: -4611686018427387904 is not a time"},
	        {"{" PRE "\"iat\":253402300800," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: iat: 253402300800 is not a time"},
	        {"{" PRE "\"iat\":9223372036854775807," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: iat: 9223372036854775807 is not a time"},
	        {"{" PRE "\"iat\":1,\"exp\":-1," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: exp: -1 is not a time"},
	        {"{" PRE "\"iat\":1,\"exp\":-9223372036854775808," VID SUB_AT("1") "}",
	         TPA_E_MALFORMED, "payload: exp: -9223372036854775808 is not a time"},
	        {"{" PRE "\"iat\":1,\"exp\":253402300800," VID SUB_AT("1") "}", TPA_E_MALFORMED,
	         "payload: exp: 253402300800 is not a time"},
	        {"{" PRE "\"iat\":1," VID SUB_AT("-1") "}", TPA_E_MALFORMED,
	         "payload: tpmattest.attested-at: -1 is not a time"},
	        {"{" PRE "\"iat\":1," VID SUB_AT("-9223372036854775808") "}", TPA_E_MALFORMED,
	         "payload: tpmattest.attested-at: -9223372036854775808 is not a time"},
	        {"{" PRE "\"iat\":1," VID SUB_AT("253402300800") "}", TPA_E_MALFORMED,
	         "payload: tpmattest.attested-at: 253402300800 is not a time"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *jwt = raw_jwt("{\"alg\":\"ES256\"}", cases[i].payload);
		if (cases[i].want == TPA_OK) {
			tpa_ear_claims c;
			verified(jwt, &c);
			assert_true(c.has_attested_at);
			assert_int_equal(c.iat, c.attested_at);
			tpa_ear_claims_clear(&c);
		} else {
			refused(jwt, strlen(jwt), cases[i].want, cases[i].reason);
		}
		free(jwt);
	}
}

/* ---- keys ---- */

static void test_pem_roundtrip(void **state)
{
	char *pem = NULL, *j1 = NULL, *j2 = NULL, why[200] = "";
	tpa_result_key *k = NULL;
	EVP_PKEY *p;
	BIO *b;
	char *data;
	long n;
	(void)state;
	assert_int_equal(tpa_result_key_to_pem(key1, &pem), TPA_OK);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(tpa_result_key_from_pem(pem, strlen(pem), &k, why, sizeof(why)), TPA_OK);
	assert_int_equal(tpa_result_key_jwk(key1, &j1), TPA_OK);
	assert_int_equal(tpa_result_key_jwk(k, &j2), TPA_OK);
	assert_string_equal(j1, j2);
	tpa_result_key_free(&k);
	free(j2);
	free(pem);

	/* SEC 1 "EC PRIVATE KEY" */
	p = EVP_EC_gen("P-256");
	b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, p, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &data);
	assert_non_null(strstr(data, "EC PRIVATE KEY"));
	assert_int_equal(tpa_result_key_from_pem(data, (size_t)n, &k, why, sizeof(why)), TPA_OK);
	tpa_result_key_free(&k);
	BIO_free(b);
	EVP_PKEY_free(p);

	/* P-384: another curve */
	p = EVP_EC_gen("P-384");
	b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(b, p, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &data);
	assert_int_equal(tpa_result_key_from_pem(data, (size_t)n, &k, why, sizeof(why)),
	                 TPA_E_UNSUPPORTED);
	assert_non_null(strstr(why, "P-256"));
	assert_null(k);
	BIO_free(b);
	EVP_PKEY_free(p);

	assert_int_equal(tpa_result_key_from_pem("hello", 5, &k, why, sizeof(why)),
	                 TPA_E_MALFORMED);
	assert_non_null(strstr(why, "PEM"));
	free(j1);
}

static void jwk_refused(const char *jwk, int want, const char *reason)
{
	tpa_result_pub *p = NULL;
	char why[256] = "";
	assert_int_equal(tpa_result_pub_from_jwk(jwk, strlen(jwk), &p, why, sizeof(why)), want);
	if (!strstr(why, reason))
		fail_msg("why \"%s\" does not name \"%s\"", why, reason);
	assert_null(p);
}

static void test_jwk(void **state)
{
	char *jwk = NULL, x[64], y[64], kid[64], buf[512];
	const char *px, *py, *pk;
	tpa_result_pub *p = NULL;
	(void)state;
	assert_int_equal(tpa_result_key_jwk(key1, &jwk), TPA_OK);
	assert_memory_equal(jwk, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"", 31);
	px = strstr(jwk, "\"x\":\"");
	py = strstr(jwk, "\"y\":\"");
	pk = strstr(jwk, "\"kid\":\"");
	assert_int_equal(sscanf(px + 5, "%63[^\"]", x), 1);
	assert_int_equal(sscanf(py + 5, "%63[^\"]", y), 1);
	assert_int_equal(sscanf(pk + 7, "%63[^\"]", kid), 1);
	assert_int_equal(strlen(x), 43);
	assert_non_null(strstr(jwk, "\"alg\":\"ES256\",\"use\":\"sig\",\"kid\":\""));

	/* the members only, in another order */
	snprintf(buf, sizeof(buf), "{\"y\":\"%s\",\"x\":\"%s\",\"crv\":\"P-256\",\"kty\":\"EC\"}",
	         y, x);
	assert_int_equal(tpa_result_pub_from_jwk(buf, strlen(buf), &p, NULL, 0), TPA_OK);
	tpa_result_pub_free(&p);

	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
	         "\"kid\":\"abc\"}",
	         x, y);
	jwk_refused(buf, TPA_E_MALFORMED, "thumbprint");
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}",
	         x, y);
	jwk_refused(buf, TPA_E_UNSUPPORTED, "P-256");
	snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
	         x, y);
	jwk_refused(buf, TPA_E_UNSUPPORTED, "RSA");
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
	         "\"alg\":\"ES384\"}",
	         x, y);
	jwk_refused(buf, TPA_E_UNSUPPORTED, "ES384");
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
	         "\"d\":\"%s\"}",
	         x, y, x);
	jwk_refused(buf, TPA_E_MALFORMED, "private");
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s=\",\"y\":\"%s\"}",
	         x, y);
	jwk_refused(buf, TPA_E_MALFORMED, "x:");
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%.42s\",\"y\":\"%s\"}", x, y);
	jwk_refused(buf, TPA_E_MALFORMED, "32 bytes");
	/* a point not on the curve: y's first character changed */
	y[0] = y[0] == 'A' ? 'B' : 'A';
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
	         x, y);
	jwk_refused(buf, TPA_E_MALFORMED, "not a point on P-256");
	jwk_refused("{\"kty\":\"EC\"", TPA_E_MALFORMED, "not JSON");
	jwk_refused("[1]", TPA_E_MALFORMED, "object");
	free(jwk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_affirming),
	        cmocka_unit_test(test_header_exact),
	        cmocka_unit_test(test_warning_no_policy),
	        cmocka_unit_test(test_warning_older),
	        cmocka_unit_test(test_contraindicated_replay),
	        cmocka_unit_test(test_contraindicated_counter),
	        cmocka_unit_test(test_mapping_details),
	        cmocka_unit_test(test_none),
	        cmocka_unit_test(test_sign_refusals),
	        cmocka_unit_test(test_tampering),
	        cmocka_unit_test(test_kid_and_other_key),
	        cmocka_unit_test(test_junk),
	        cmocka_unit_test(test_foreign),
	        cmocka_unit_test(test_time_bounds),
	        cmocka_unit_test(test_pem_roundtrip),
	        cmocka_unit_test(test_jwk),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
