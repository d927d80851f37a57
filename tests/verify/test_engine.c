/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The engine on synthetic attestations signed by a software key that the
 * test builds as a TPM AK would be: every field under the test's control, so
 * each check can be driven to its exact failure (clock and counter
 * sequences, selections, signature edge cases, single-byte changes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

static EVP_PKEY *key;
static uint8_t nonce[32];
/* An EK for the AK to sit under, and the qualified name that gives it. */
static uint8_t ek_buf[sizeof(TPM2B_PUBLIC)];
static size_t ek_len;
static uint8_t ak_qn[34];

/* ---- building blocks ---- */

static TPMT_PUBLIC ak_public(uint32_t attrs, uint16_t name_alg, uint16_t hash)
{
	TPMT_PUBLIC p;
	uint8_t pt[65];
	size_t ptlen = 0;
	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_ECC;
	p.nameAlg = name_alg;
	p.objectAttributes = attrs;
	p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = hash;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	assert_true(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
	                                            &ptlen));
	assert_int_equal(ptlen, 65);
	p.unique.ecc.x.size = 32;
	memcpy(p.unique.ecc.x.buffer, pt + 1, 32);
	p.unique.ecc.y.size = 32;
	memcpy(p.unique.ecc.y.buffer, pt + 33, 32);
	return p;
}

#define AK_ATTRS                                                                    \
	(TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM | \
	 TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)

static tpa_ak *make_ak(uint32_t attrs, uint16_t name_alg, uint16_t hash)
{
	TPM2B_PUBLIC p = {.publicArea = ak_public(attrs, name_alg, hash)};
	uint8_t buf[sizeof(p)];
	size_t off = 0;
	tpa_ak *ak = NULL;
	char why[128];
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	assert_int_equal(tpa_ak_parse(buf, off, &ak, why, sizeof(why)), TPA_OK);
	return ak;
}

static void sha256_2(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 32;
	assert_true(EVP_DigestInit_ex2(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, a, al) &&
	            EVP_DigestUpdate(c, b, bl) && EVP_DigestFinal_ex(c, out, &n));
	EVP_MD_CTX_free(c);
}

/* Name = 000b || SHA-256(TPMT_PUBLIC) */
static void name_of(const TPMT_PUBLIC *p, uint8_t out[34])
{
	uint8_t buf[sizeof(*p)];
	size_t off = 0;
	assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	out[0] = 0x00;
	out[1] = 0x0b;
	sha256_2(buf, off, NULL, 0, out + 2);
}

/* QN(AK) under an EK whose primary sits in the hierarchy `hierarchy`. */
static void make_qn(uint32_t hierarchy, uint8_t out[34])
{
	TPM2B_PUBLIC ek = {.publicArea = ak_public(TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
	                                                   TPMA_OBJECT_FIXEDTPM |
	                                                   TPMA_OBJECT_FIXEDPARENT |
	                                                   TPMA_OBJECT_SENSITIVEDATAORIGIN,
	                                           TPM2_ALG_SHA256, TPM2_ALG_SHA256)};
	TPMT_PUBLIC ak = ak_public(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	uint8_t h[4] = {(uint8_t)(hierarchy >> 24), (uint8_t)(hierarchy >> 16),
	                (uint8_t)(hierarchy >> 8), (uint8_t)hierarchy};
	uint8_t ekn[34], akn[34], qn_ek[34];
	size_t off = 0;
	ek.publicArea.unique.ecc.x.buffer[0] ^= 0x55; /* a different key from the AK's */
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&ek, ek_buf, sizeof(ek_buf), &off),
	                 TSS2_RC_SUCCESS);
	ek_len = off;
	name_of(&ek.publicArea, ekn);
	name_of(&ak, akn);
	qn_ek[0] = 0x00;
	qn_ek[1] = 0x0b;
	sha256_2(h, 4, ekn, 34, qn_ek + 2);
	out[0] = 0x00;
	out[1] = 0x0b;
	sha256_2(qn_ek, 34, akn, 34, out + 2);
}

/* A quote of sha256 PCRs 0-3 (values 0x10+i) or what the caller changes. */
struct q {
	TPMS_ATTEST a;
	uint8_t vals[4][32];
	uint8_t attest[1024];
	size_t attest_len;
	uint8_t sig[512]; /* RSA-2048's TPMT_SIGNATURE too */
	size_t sig_len;
};

static void quote_init(struct q *q)
{
	memset(q, 0, sizeof(*q));
	q->a.magic = TPM2_GENERATED_VALUE;
	q->a.type = TPM2_ST_ATTEST_QUOTE;
	q->a.qualifiedSigner.size = 34;
	memcpy(q->a.qualifiedSigner.name, ak_qn, 34);
	q->a.extraData.size = sizeof(nonce);
	memcpy(q->a.extraData.buffer, nonce, sizeof(nonce));
	q->a.clockInfo.clock = 100000;
	q->a.clockInfo.resetCount = 5;
	q->a.clockInfo.restartCount = 2;
	q->a.clockInfo.safe = TPM2_YES;
	q->a.attested.quote.pcrSelect.count = 1;
	q->a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	q->a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	q->a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x0f;
	for (int i = 0; i < 4; i++)
		memset(q->vals[i], 0x10 + i, 32);
}

static void digest_values(struct q *q, int n)
{
	unsigned dl = 32;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_true(EVP_DigestInit_ex2(c, EVP_sha256(), NULL));
	for (int i = 0; i < n; i++)
		assert_true(EVP_DigestUpdate(c, q->vals[i], 32));
	assert_true(EVP_DigestFinal_ex(c, q->a.attested.quote.pcrDigest.buffer, &dl));
	q->a.attested.quote.pcrDigest.size = 32;
	EVP_MD_CTX_free(c);
}

/* Marshals a.attest and signs it: ECDSA with hash, r and s as given by the
 * key unless zero_rs. */
static void sign(struct q *q, uint16_t hash, uint16_t sig_alg, int zero_rs)
{
	TPMT_SIGNATURE s;
	uint8_t der[128];
	size_t derlen = sizeof(der), off = 0;
	const unsigned char *p = der;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	const BIGNUM *r, *ss;

	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&q->a, q->attest, sizeof(q->attest), &off),
	                 TSS2_RC_SUCCESS);
	q->attest_len = off;
	assert_true(EVP_DigestSignInit_ex(c, NULL, hash == TPM2_ALG_SHA1 ? "SHA1" : "SHA256", NULL,
	                                  NULL, key, NULL));
	assert_true(EVP_DigestSign(c, der, &derlen, q->attest, q->attest_len));
	EVP_MD_CTX_free(c);
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)derlen));
	ECDSA_SIG_get0(es, &r, &ss);
	memset(&s, 0, sizeof(s));
	s.sigAlg = sig_alg;
	s.signature.ecdsa.hash = hash;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	if (!zero_rs) {
		BN_bn2binpad(r, s.signature.ecdsa.signatureR.buffer, 32);
		BN_bn2binpad(ss, s.signature.ecdsa.signatureS.buffer, 32);
	}
	ECDSA_SIG_free(es);
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, q->sig, sizeof(q->sig), &off),
	                 TSS2_RC_SUCCESS);
	q->sig_len = off;
}

static tpa_pcrs *claimed(struct q *q, int n, uint16_t alg)
{
	tpa_pcrs *p = NULL;
	assert_int_equal(tpa_pcrs_new(&p), TPA_OK);
	for (int i = 0; i < n; i++)
		assert_int_equal(
		        tpa_pcrs_set(p, alg, (unsigned)i, q->vals[i], tpa_alg_digest_size(alg)),
		        TPA_OK);
	return p;
}

/* A counter certification with the given value and index-name byte. */
static void counter_init(struct q *q, uint64_t v, uint8_t name_byte)
{
	memset(q, 0, sizeof(*q));
	q->a.magic = TPM2_GENERATED_VALUE;
	q->a.type = TPM2_ST_ATTEST_NV;
	q->a.extraData.size = sizeof(nonce);
	memcpy(q->a.extraData.buffer, nonce, sizeof(nonce));
	q->a.attested.nv.indexName.size = 34;
	q->a.attested.nv.indexName.name[0] = 0x00;
	q->a.attested.nv.indexName.name[1] = 0x0b;
	memset(q->a.attested.nv.indexName.name + 2, name_byte, 32);
	q->a.attested.nv.offset = 0;
	q->a.attested.nv.nvContents.size = 8;
	for (int i = 0; i < 8; i++)
		q->a.attested.nv.nvContents.buffer[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Runs the engine and returns the verdict; *status gets the named check's. */
static int run(tpa_ak *ak, struct q *q, tpa_pcrs *pcrs, struct q *ctr, const tpa_state *prev,
               unsigned require, const char *check, tpa_check_status *status, tpa_state *next)
{
	tpa_verify_input in;
	tpa_result *res = NULL;
	int r;
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.attest = q->attest;
	in.attest_len = q->attest_len;
	in.signature = q->sig;
	in.signature_len = q->sig_len;
	in.pcrs = pcrs;
	if (ctr) {
		in.counter_attest = ctr->attest;
		in.counter_attest_len = ctr->attest_len;
		in.counter_signature = ctr->sig;
		in.counter_signature_len = ctr->sig_len;
	}
	in.previous = prev;
	in.require = require;
	in.ek_public = ek_buf;
	in.ek_public_len = ek_len;
	r = tpa_verify(&in, &res);
	assert_non_null(res);
	assert_int_equal(tpa_result_verdict(res), r);
	if (check)
		assert_int_equal(tpa_result_find(res, check, status, NULL), TPA_OK);
	if (next)
		*next = *tpa_result_next_state(res);
	tpa_result_free(&res);
	return r;
}

/* ---- tests ---- */

static void test_genuine(void **st)
{
	struct q q;
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_pcrs *p;
	tpa_check_status s;
	(void)st;
	quote_init(&q);
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_digest", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_PASS);
	/* fails closed when the caller requires inputs it did not give */
	assert_int_equal(run(ak, &q, p, NULL, NULL, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_ROLLBACK);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	assert_int_equal(
	        run(ak, &q, p, NULL, NULL, TPA_REQUIRE_EVENTLOG, "eventlog_replay", &s, NULL),
	        TPA_E_REPLAY);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

/* Real GCE quotes sign SHA-1 banks with SHA-256: the digest follows the
 * signing hash, not the bank's. */
static void test_sha1_bank_signed_with_sha256(void **st)
{
	struct q q;
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_pcrs *p;
	unsigned dl = 32;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	(void)st;
	quote_init(&q);
	q.a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA1;
	assert_true(EVP_DigestInit_ex2(c, EVP_sha256(), NULL));
	for (int i = 0; i < 4; i++)
		assert_true(EVP_DigestUpdate(c, q.vals[i], 20));
	assert_true(EVP_DigestFinal_ex(c, q.a.attested.quote.pcrDigest.buffer, &dl));
	EVP_MD_CTX_free(c);
	q.a.attested.quote.pcrDigest.size = 32;
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA1);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, NULL, NULL, NULL), TPA_OK);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

static void test_selection_rules(void **st)
{
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_check_status s;
	struct q q;
	tpa_pcrs *p;
	(void)st;

	/* sha256 listed twice */
	quote_init(&q);
	q.a.attested.quote.pcrSelect.count = 2;
	q.a.attested.quote.pcrSelect.pcrSelections[1] =
	        q.a.attested.quote.pcrSelect.pcrSelections[0];
	q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x03;
	q.a.attested.quote.pcrSelect.pcrSelections[1].pcrSelect[0] = 0x0c;
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_selection", &s, NULL), TPA_E_SELECTION);
	assert_int_equal(s, TPA_CHECK_FAIL);
	tpa_pcrs_free(&p);

	/* an empty bank entry next to a real one */
	quote_init(&q);
	q.a.attested.quote.pcrSelect.count = 2;
	q.a.attested.quote.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA1;
	q.a.attested.quote.pcrSelect.pcrSelections[1].sizeofSelect = 3;
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_selection", &s, NULL), TPA_E_SELECTION);
	tpa_pcrs_free(&p);

	/* PCR 24 selected (a fourth select byte) */
	quote_init(&q);
	q.a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 4;
	q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[3] = 0x01;
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_selection", &s, NULL), TPA_E_SELECTION);
	tpa_pcrs_free(&p);

	/* claimed values in a bank the quote does not cover */
	quote_init(&q);
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(tpa_pcrs_set(p, TPA_ALG_SHA1, 0, q.vals[0], 20), TPA_OK);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_selection", &s, NULL), TPA_E_SELECTION);
	tpa_pcrs_free(&p);

	/* fewer claimed values than selected */
	p = claimed(&q, 3, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "pcr_selection", &s, NULL), TPA_E_SELECTION);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

static void test_signature_pinning(void **st)
{
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_check_status s;
	struct q q;
	tpa_pcrs *p;
	(void)st;
	quote_init(&q);
	digest_values(&q, 4);
	p = claimed(&q, 4, TPA_ALG_SHA256);

	sign(&q, TPM2_ALG_SHA1, TPM2_ALG_ECDSA, 0); /* valid SHA-1 signature */
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "signature", &s, NULL), TPA_E_BAD_SIGNATURE);
	assert_int_equal(s, TPA_CHECK_FAIL);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 1); /* r = s = 0 */
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "signature", &s, NULL), TPA_E_BAD_SIGNATURE);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECSCHNORR, 0); /* another scheme */
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, "signature", &s, NULL), TPA_E_BAD_SIGNATURE);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

static void test_ak_rules(void **st)
{
	static const struct {
		uint32_t attrs;
		uint16_t name_alg, hash;
	} bad[] = {
	        {AK_ATTRS & ~TPMA_OBJECT_RESTRICTED, TPM2_ALG_SHA256, TPM2_ALG_SHA256},
	        {AK_ATTRS & ~TPMA_OBJECT_FIXEDTPM, TPM2_ALG_SHA256, TPM2_ALG_SHA256},
	        {AK_ATTRS & ~TPMA_OBJECT_FIXEDPARENT, TPM2_ALG_SHA256, TPM2_ALG_SHA256},
	        {AK_ATTRS & ~TPMA_OBJECT_SENSITIVEDATAORIGIN, TPM2_ALG_SHA256, TPM2_ALG_SHA256},
	        {AK_ATTRS | TPMA_OBJECT_DECRYPT, TPM2_ALG_SHA256, TPM2_ALG_SHA256},
	        {AK_ATTRS, TPM2_ALG_SHA1, TPM2_ALG_SHA256},
	        {AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA1},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tpa_ak *ak = make_ak(bad[i].attrs, bad[i].name_alg, bad[i].hash);
		char why[160] = "";
		assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_POLICY);
		assert_true(why[0] != '\0');
		tpa_ak_free(&ak);
	}
}

static void test_every_byte_change_refused(void **st)
{
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	struct q q, m;
	tpa_pcrs *p;
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	(void)st;
	quote_init(&q);
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, NULL, 0, NULL, NULL, NULL), TPA_OK);
	for (size_t i = 0; i < q.attest_len + q.sig_len; i++)
		for (size_t f = 0; f < sizeof(flips); f++) {
			m = q;
			if (i < q.attest_len)
				m.attest[i] ^= flips[f];
			else
				m.sig[i - q.attest_len] ^= flips[f];
			if (run(ak, &m, p, NULL, NULL, 0, NULL, NULL, NULL) == TPA_OK)
				fail_msg("byte %zu ^ 0x%02x accepted", i, flips[f]);
		}
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

/* Clock info across attestations (THREATS "reboot, clear or swapped TPM"). */
static void test_clock_sequence(void **st)
{
	static const struct {
		uint64_t clock;
		uint32_t reset, restart;
		uint8_t safe;
		int want;
	} seq[] = {
	        {100000, 5, 2, TPM2_YES, TPA_OK},         /* clock advanced */
	        {100000, 5, 2, TPM2_YES, TPA_E_ROLLBACK}, /* same clock within one boot */
	        {99999, 5, 2, TPM2_YES, TPA_E_ROLLBACK},  /* clock went back */
	        {99999, 5, 2, TPM2_NO, TPA_OK},           /* not safe: the clock may repeat */
	        {200000, 4, 9, TPM2_YES, TPA_E_ROLLBACK}, /* resetCount went back */
	        {200000, 5, 1, TPM2_YES, TPA_E_ROLLBACK}, /* restartCount went back */
	        {150000, 6, 0, TPM2_YES, TPA_OK},         /* a new boot: counts restart */
	        {500, 6, 0, TPM2_YES,
	         TPA_E_ROLLBACK},             /* a new boot with a safe clock from the past */
	        {500, 6, 0, TPM2_NO, TPA_OK}, /* ... unless the TPM says it is not safe */
	        {100, 5, 3, TPM2_YES,
	         TPA_E_ROLLBACK},               /* a restart with a safe clock from the past */
	        {99999, 5, 3, TPM2_NO, TPA_OK}, /* a restart, clock not safe */
	};
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_state prev = {
	        .has_clock = 1, .clock = 99000, .reset_count = 5, .restart_count = 2, .safe = 1};
	(void)st;
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct q q;
		tpa_pcrs *p;
		tpa_check_status s;
		tpa_state next;
		tpa_state base = i == 0 ? prev
		                        : (tpa_state){.has_clock = 1,
		                                      .clock = 100000,
		                                      .reset_count = 5,
		                                      .restart_count = 2,
		                                      .safe = 1};
		quote_init(&q);
		q.a.clockInfo.clock = seq[i].clock;
		q.a.clockInfo.resetCount = seq[i].reset;
		q.a.clockInfo.restartCount = seq[i].restart;
		q.a.clockInfo.safe = seq[i].safe;
		digest_values(&q, 4);
		sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
		p = claimed(&q, 4, TPA_ALG_SHA256);
		if (run(ak, &q, p, NULL, &base, 0, "clock", &s, &next) != seq[i].want)
			fail_msg("clock step %zu: want %d", i, seq[i].want);
		assert_int_equal(s, seq[i].want == TPA_OK ? TPA_CHECK_PASS : TPA_CHECK_FAIL);
		if (seq[i].want == TPA_OK) {
			assert_int_equal(next.clock, seq[i].clock);
			assert_int_equal(next.reset_count, seq[i].reset);
		}
		tpa_pcrs_free(&p);
	}
	tpa_ak_free(&ak);
}

/* The certified NV counter must grow, and stay the enrolled index. */
static void test_counter_sequence(void **st)
{
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	struct q q, c;
	tpa_pcrs *p;
	tpa_state prev, next;
	tpa_check_status s;
	(void)st;
	quote_init(&q);
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);

	counter_init(&c, 7, 0xaa);
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, NULL, TPA_REQUIRE_COUNTER, "counter", &s, &next),
	                 TPA_OK);
	assert_true(next.has_counter);
	assert_int_equal(next.counter, 7);
	prev = next;
	prev.has_clock = 0;

	counter_init(&c, 8, 0xaa); /* grew by one */
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_OK);
	counter_init(&c, 7, 0xaa); /* replayed */
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_ROLLBACK);
	assert_int_equal(s, TPA_CHECK_FAIL);
	counter_init(&c, 3, 0xaa); /* rolled back */
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_ROLLBACK);
	counter_init(&c, 9, 0xbb); /* another index */
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_ROLLBACK);
	counter_init(&c, 9, 0xaa); /* certified over another nonce */
	c.a.extraData.buffer[0] ^= 1;
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_NONCE);
	counter_init(&c, 9, 0xaa); /* a quote presented as a certification */
	c.a.type = TPM2_ST_ATTEST_QUOTE;
	c.a.attested.quote = q.a.attested.quote;
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_BAD_SIGNATURE);
	counter_init(&c, 9, 0xaa); /* only part of the counter certified */
	c.a.attested.nv.nvContents.size = 4;
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_ROLLBACK);
	counter_init(&c, 9, 0xaa); /* an index name longer than any name */
	c.a.attested.nv.indexName.size = sizeof(c.a.attested.nv.indexName.name);
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_MALFORMED);
	/* no certification at all, though one is pinned: not silently dropped */
	assert_int_equal(run(ak, &q, p, NULL, &prev, 0, "counter", &s, NULL), TPA_E_ROLLBACK);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	counter_init(&c, 9, 0xaa); /* signature by the AK, then one byte changed */
	sign(&c, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	c.attest[c.attest_len - 1] ^= 1;
	assert_int_equal(run(ak, &q, p, &c, &prev, TPA_REQUIRE_COUNTER, "counter", &s, NULL),
	                 TPA_E_BAD_SIGNATURE);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

/* THREATS: an AK under the owner hierarchy (obfuscated counters) is refused. */
static void test_signer_outside_endorsement(void **st)
{
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_state prev = {
	        .has_clock = 1, .clock = 1, .reset_count = 0, .restart_count = 0, .safe = 1};
	tpa_check_status s;
	struct q q;
	tpa_pcrs *p;
	(void)st;
	quote_init(&q);
	make_qn(TPM2_RH_OWNER, q.a.qualifiedSigner.name);
	make_qn(TPM2_RH_ENDORSEMENT, ak_qn); /* the EK the verifier knows */
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	assert_int_equal(run(ak, &q, p, NULL, &prev, 0, "qualified_signer", &s, NULL),
	                 TPA_E_BAD_SIGNATURE);
	assert_int_equal(s, TPA_CHECK_FAIL);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
}

static void test_state_json(void **st)
{
	tpa_state a = {.has_clock = 1,
	               .clock = UINT64_MAX - 1,
	               .reset_count = 7,
	               .restart_count = 1,
	               .safe = 1,
	               .has_counter = 1,
	               .counter = 1ull << 40,
	               .counter_name_len = 34};
	tpa_state b;
	char *s = NULL, why[200];
	(void)st;
	memset(a.counter_name, 0x5a, 34);
	a.counter_name[0] = 0x00;
	a.counter_name[1] = 0x0b;
	assert_int_equal(tpa_state_to_json(&a, &s), TPA_OK);
	assert_int_equal(tpa_state_from_json(s, strlen(s), &b, why, sizeof(why)), TPA_OK);
	assert_int_equal(b.clock, a.clock);
	assert_int_equal(b.counter, a.counter);
	assert_int_equal(b.counter_name_len, 34);
	assert_memory_equal(b.counter_name, a.counter_name, 34);
	free(s);
	/* nothing remembered yet */
	assert_int_equal(tpa_state_from_json("{\"version\":1}", 13, &b, why, sizeof(why)), TPA_OK);
	assert_false(b.has_clock);
	assert_false(b.has_counter);
}

/* The state is read strictly: each document is refused as malformed with a
 * reason that names the member (issue 7, item 9). */
static void test_state_json_strict(void **st)
{
#define CLK "\"clock\":{\"clock\":5,\"reset_count\":1,\"restart_count\":0,\"safe\":true}"
#define NAME_TAIL "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define NAME "000b" NAME_TAIL
#define CTR "\"counter\":{\"value\":7,\"name\":\"" NAME "\"}"
	static const struct {
		const char *doc, *why;
	} bad[] = {
	        {"{\"version\":\"1\"," CLK "," CTR "}", "\"version\" is not the integer 1"},
	        {"{\"version\":true," CLK "," CTR "}", "\"version\" is not the integer 1"},
	        {"{\"version\":1.9," CLK "," CTR "}", "\"version\" is not the integer 1"},
	        {"{\"version\":1.0," CLK "," CTR "}", "\"version\" is not the integer 1"},
	        {"{\"version\":2," CLK "," CTR "}", "\"version\" is not the integer 1"},
	        {"{" CLK "," CTR "}", "no member \"version\""},
	        /* a misspelt counter must not mean "no counter" */
	        {"{\"version\":1," CLK ",\"countr\":{\"value\":7,\"name\":\"" NAME "\"}}",
	         "state: unknown member \"countr\""},
	        {"{\"version\":1,\"clock\":{\"clock\":5,\"reset_count\":1,\"restart_count\":0,"
	         "\"safe\":true,\"sfae\":false}," CTR "}",
	         "clock: unknown member \"sfae\""},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"" NAME
	         "\",\"vaule\":9}}",
	         "counter: unknown member \"vaule\""},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":\"7\",\"name\":\"" NAME "\"}}",
	         "counter: \"value\" is not an integer"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7.5,\"name\":\"" NAME "\"}}",
	         "counter: \"value\" is not an integer"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":-1,\"name\":\"" NAME "\"}}",
	         "counter: \"value\" is negative"},
	        {"{\"version\":1," CLK ",\"counter\":{\"name\":\"" NAME "\"}}",
	         "counter: no member \"value\""},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7}}",
	         "counter: no member \"name\""},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":7}}",
	         "counter: \"name\" is not a string"},
	        {"{\"version\":1," CLK ",\"counter\":[7]}", "\"counter\" is not an object"},
	        {"{\"version\":1,\"clock\":{\"clock\":5,\"reset_count\":1,\"restart_count\":0,"
	         "\"safe\":1}," CTR "}",
	         "clock: \"safe\" is not true or false"},
	        {"{\"version\":1,\"clock\":{\"clock\":5,\"reset_count\":4294967296,"
	         "\"restart_count\":0,\"safe\":true}," CTR "}",
	         "clock: \"reset_count\" is out of range"},
	        {"{\"version\":1,\"clock\":{\"clock\":-1,\"reset_count\":1,\"restart_count\":0,"
	         "\"safe\":true}," CTR "}",
	         "clock: \"clock\" is negative"},
	        {"{\"version\":1,\"clock\":{\"reset_count\":1,\"restart_count\":0,\"safe\":true}"
	         "," CTR "}",
	         "clock: no member \"clock\""},
	        {"{\"version\":1,\"clock\":true," CTR "}", "\"clock\" is not an object"},
	        /* Name = nameAlg || digest of that hash's length */
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"0010\"}}",
	         "nameAlg TPM_ALG_NULL (0x0010)"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"0010" NAME "\"}}",
	         "nameAlg TPM_ALG_NULL (0x0010)"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"00995a5a5a5a\"}}",
	         "nameAlg 0x0099, not a known hash"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"000b5a5a5a5a\"}}",
	         "a 4-byte digest, not the 32 bytes of its nameAlg 0x000b"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"" NAME "5\"}}",
	         "counter: \"name\" is not a TPM name in lowercase hex"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"" NAME "zz\"}}",
	         "counter: \"name\" is not a TPM name in lowercase hex"},
	        {"{\"version\":1," CLK ",\"counter\":{\"value\":7,\"name\":\"000B" NAME_TAIL "\"}}",
	         "counter: \"name\" is not a TPM name in lowercase hex"},
	        {"[]", "not a JSON object"},
	        {"null", "not a JSON object"},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tpa_state out, keep;
		char why[200] = "";
		int r;
		memset(&out, 0xee, sizeof(out));
		keep = out;
		r = tpa_state_from_json(bad[i].doc, strlen(bad[i].doc), &out, why, sizeof(why));
		if (r != TPA_E_MALFORMED || !strstr(why, bad[i].why))
			fail_msg("%s: want MALFORMED \"%s\", got %d \"%s\"", bad[i].doc, bad[i].why,
			         r, why);
		assert_memory_equal(&out, &keep, sizeof(out)); /* untouched on failure */
	}
	/* an integer json-c would clamp to UINT64_MAX: refused by the strict
	 * reader, or else by the state reader */
	{
		const char *doc = "{\"version\":1,\"counter\":{\"value\":99999999999999999999999,"
		                  "\"name\":\"" NAME "\"}}";
		tpa_state out;
		char why[200] = "";
		int r = tpa_state_from_json(doc, strlen(doc), &out, why, sizeof(why));
		if (!((r == TPA_E_LIMIT || r == TPA_E_MALFORMED) && strstr(why, "out of range")))
			fail_msg("overflowing counter: got %d \"%s\"", r, why);
	}
	/* the same documents, corrected, are read */
	{
		const char *good = "{\"version\":1," CLK "," CTR "}";
		tpa_state out;
		char why[200] = "";
		assert_int_equal(tpa_state_from_json(good, strlen(good), &out, why, sizeof(why)),
		                 TPA_OK);
		assert_true(out.has_counter && out.counter == 7 && out.counter_name_len == 34);
		assert_true(out.has_clock && out.clock == 5 && out.safe);
	}
#undef CLK
#undef NAME
#undef NAME_TAIL
#undef CTR
}

/* An RSA AK as a TPM2B_PUBLIC around the modulus of key k, declaring
 * key_bits. */
static tpa_ak *rsa_ak(EVP_PKEY *k, uint16_t key_bits, int *parse_rc, char *why, size_t whylen)
{
	TPM2B_PUBLIC p;
	uint8_t buf[sizeof(p)];
	size_t off = 0;
	BIGNUM *n = NULL;
	tpa_ak *ak = NULL;
	memset(&p, 0, sizeof(p));
	p.publicArea.type = TPM2_ALG_RSA;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = AK_ATTRS;
	p.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	p.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	p.publicArea.parameters.rsaDetail.keyBits = key_bits;
	assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n));
	p.publicArea.unique.rsa.size = (uint16_t)BN_num_bytes(n);
	BN_bn2bin(n, p.publicArea.unique.rsa.buffer);
	BN_free(n);
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	*parse_rc = tpa_ak_parse(buf, off, &ak, why, whylen);
	return ak;
}

/* A quote signed RSASSA-SHA256 by k, checked against ak with the "ak" check's
 * outcome returned. */
static int rsa_verify(tpa_ak *ak, EVP_PKEY *k, tpa_check_status *status, char *reason,
                      size_t reasonlen)
{
	struct q q;
	TPMT_SIGNATURE s;
	size_t siglen = sizeof(s.signature.rsassa.sig.buffer), off = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	tpa_verify_input in;
	tpa_result *res = NULL;
	tpa_pcrs *p;
	const char *why;
	int r;
	quote_init(&q);
	digest_values(&q, 4);
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&q.a, q.attest, sizeof(q.attest), &off),
	                 TSS2_RC_SUCCESS);
	q.attest_len = off;
	memset(&s, 0, sizeof(s));
	s.sigAlg = TPM2_ALG_RSASSA;
	s.signature.rsassa.hash = TPM2_ALG_SHA256;
	assert_true(EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, k, NULL));
	assert_true(
	        EVP_DigestSign(c, s.signature.rsassa.sig.buffer, &siglen, q.attest, q.attest_len));
	EVP_MD_CTX_free(c);
	s.signature.rsassa.sig.size = (uint16_t)siglen;
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, q.sig, sizeof(q.sig), &off),
	                 TSS2_RC_SUCCESS);
	q.sig_len = off;
	p = claimed(&q, 4, TPA_ALG_SHA256);
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.attest = q.attest;
	in.attest_len = q.attest_len;
	in.signature = q.sig;
	in.signature_len = q.sig_len;
	in.pcrs = p;
	r = tpa_verify(&in, &res);
	assert_non_null(res);
	assert_int_equal(tpa_result_find(res, "ak", status, &why), TPA_OK);
	snprintf(reason, reasonlen, "%s", why);
	tpa_result_free(&res);
	tpa_pcrs_free(&p);
	return r;
}

/* The "ak" check reads the key size from the modulus, not from keyBits
 * (issue 7, item 11). */
static void test_ak_rsa_modulus_size(void **st)
{
	EVP_PKEY *k1024 = EVP_RSA_gen(1024), *k2048 = EVP_RSA_gen(2048);
	tpa_check_status s;
	char why[200] = "", reason[200] = "";
	tpa_ak *ak;
	int rc;
	(void)st;
	assert_non_null(k1024);
	assert_non_null(k2048);

	/* the genuine article passes */
	ak = rsa_ak(k2048, 2048, &rc, why, sizeof(why));
	assert_int_equal(rc, TPA_OK);
	assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_OK);
	assert_int_equal(rsa_verify(ak, k2048, &s, reason, sizeof(reason)), TPA_OK);
	assert_int_equal(s, TPA_CHECK_PASS);
	tpa_ak_free(&ak);

	/* declares 2048 bits around a 1024-bit modulus */
	ak = rsa_ak(k1024, 2048, &rc, why, sizeof(why));
	assert_int_equal(rc, TPA_OK);
	assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_POLICY);
	assert_string_equal(why, "the key declares RSA-2048 but its modulus is 1024 bits");
	assert_int_equal(rsa_verify(ak, k1024, &s, reason, sizeof(reason)), TPA_E_POLICY);
	assert_int_equal(s, TPA_CHECK_FAIL);
	assert_string_equal(reason, "the key declares RSA-2048 but its modulus is 1024 bits");
	tpa_ak_free(&ak);

	/* says what it is, and is too small */
	ak = rsa_ak(k1024, 1024, &rc, why, sizeof(why));
	assert_int_equal(rc, TPA_OK);
	assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_POLICY);
	assert_string_equal(why, "the RSA modulus is 1024 bits: an AK must be RSA-2048 or larger");
	tpa_ak_free(&ak);

	/* declares less than it has */
	ak = rsa_ak(k2048, 1024, &rc, why, sizeof(why));
	assert_int_equal(rc, TPA_OK);
	assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_POLICY);
	assert_string_equal(why, "the key declares RSA-1024 but its modulus is 2048 bits");
	tpa_ak_free(&ak);

	/* a bare SubjectPublicKeyInfo cannot show TPM attributes, but its size
	 * still counts: a 1024-bit key is refused, not merely "not found" */
	{
		unsigned char *der = NULL;
		int dl = i2d_PUBKEY(k1024, &der);
		assert_true(dl > 0);
		assert_int_equal(tpa_ak_parse(der, (size_t)dl, &ak, why, sizeof(why)), TPA_OK);
		assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_POLICY);
		assert_string_equal(
		        why, "the RSA modulus is 1024 bits: an AK must be RSA-2048 or larger");
		tpa_ak_free(&ak);
		OPENSSL_free(der);
		der = NULL;
		dl = i2d_PUBKEY(k2048, &der);
		assert_true(dl > 0);
		assert_int_equal(tpa_ak_parse(der, (size_t)dl, &ak, why, sizeof(why)), TPA_OK);
		assert_int_equal(tpa_ak_check(ak, why, sizeof(why)), TPA_E_NOT_FOUND);
		tpa_ak_free(&ak);
		OPENSSL_free(der);
	}
	EVP_PKEY_free(k1024);
	EVP_PKEY_free(k2048);
}

/* An ECC AK whose point is off its curve is malformed input, not a crypto
 * library failure (issue 7, item 13): every byte of the point, flipped. */
static void test_ak_point_off_curve(void **st)
{
	TPM2B_PUBLIC p = {.publicArea = ak_public(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256)};
	uint8_t buf[sizeof(p)];
	size_t off = 0;
	tpa_ak *ak = NULL;
	char why[200] = "";
	(void)st;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	assert_int_equal(tpa_ak_parse(buf, off, &ak, why, sizeof(why)), TPA_OK);
	tpa_ak_free(&ak);
	for (size_t i = 0; i < 64; i++) {
		TPM2B_PUBLIC m = p;
		uint8_t *b = i < 32 ? &m.publicArea.unique.ecc.x.buffer[i]
		                    : &m.publicArea.unique.ecc.y.buffer[i - 32];
		int r;
		*b ^= 0x01;
		off = 0;
		assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&m, buf, sizeof(buf), &off),
		                 TSS2_RC_SUCCESS);
		why[0] = '\0';
		r = tpa_ak_parse(buf, off, &ak, why, sizeof(why));
		if (r != TPA_E_MALFORMED || strcmp(why, "the ECC point is not on the P-256 curve"))
			fail_msg("point byte %zu flipped: want MALFORMED, got %d \"%s\"", i, r,
			         why);
		assert_null(ak);
	}
}

/* ---- the log's checks remembered (tpa_log_memo) ---- */

/* Verifies q over pcrs with a log or a memo; returns the result. */
static tpa_result *run_log(tpa_ak *ak, struct q *q, tpa_pcrs *pcrs, const tpa_eventlog *log,
                           const tpa_log_memo *memo, const uint8_t *log_sha,
                           const struct tpa_policy *policy, const uint8_t *policy_sha)
{
	tpa_verify_input in;
	tpa_result *res = NULL;
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.attest = q->attest;
	in.attest_len = q->attest_len;
	in.signature = q->sig;
	in.signature_len = q->sig_len;
	in.pcrs = pcrs;
	in.eventlog = log;
	in.memo = memo;
	in.memo_log_sha256 = log_sha;
	in.memo_policy_sha256 = policy_sha;
	in.policy = policy;
	in.require = TPA_REQUIRE_EVENTLOG;
	tpa_verify(&in, &res);
	assert_non_null(res);
	return res;
}

static void assert_same_checks(const tpa_result *a, const tpa_result *b)
{
	assert_int_equal(tpa_result_count(a), tpa_result_count(b));
	for (size_t i = 0; i < tpa_result_count(a); i++) {
		const char *na, *nb, *ra, *rb;
		tpa_check_status sa, sb;
		assert_int_equal(tpa_result_check(a, i, &na, &sa, &ra), TPA_OK);
		assert_int_equal(tpa_result_check(b, i, &nb, &sb, &rb), TPA_OK);
		assert_string_equal(na, nb);
		assert_int_equal(sa, sb);
		assert_string_equal(ra, rb);
	}
}

/* A real log (the repository's GCE example) replayed into the quoted
 * sha256 PCRs 0-3: verified with the log, then with the memo of that
 * verification (the same checks, reasons and verdict), and the memo
 * refused for another claimed PCR value, another log hash, another policy
 * digest or none at all. */
static void test_log_memo(void **st)
{
	const char *path = getenv("TPA_EXAMPLE_LOG");
	uint8_t buf[1 << 16], sha[32], other[32], psha[32];
	size_t len;
	FILE *f;
	tpa_eventlog *log = NULL;
	tpa_parse_error perr;
	tpa_pcrs *rep = NULL, *p;
	tpa_ak *ak = make_ak(AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_SHA256);
	tpa_result *full, *again, *bad;
	tpa_log_memo *memo = NULL, *memo2 = NULL;
	struct tpa_policy *policy = NULL;
	tpa_check_status s;
	uint8_t key1[32], key2[32];
	struct q q;
	char why[256];
	(void)st;

	assert_non_null(path);
	assert_non_null(f = fopen(path, "rb"));
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(tpa_eventlog_parse(buf, len, &log, &perr), TPA_OK);
	assert_int_equal(tpa_eventlog_replay(log, &rep), TPA_OK);
	assert_true(EVP_Digest(buf, len, sha, NULL, EVP_sha256(), NULL));
	quote_init(&q);
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *v;
		size_t vl;
		assert_int_equal(tpa_pcrs_get(rep, TPA_ALG_SHA256, i, &v, &vl), TPA_OK);
		memcpy(q.vals[i], v, 32);
	}
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	p = claimed(&q, 4, TPA_ALG_SHA256);

	/* no memo of a verification that ran no log checks */
	full = run_log(ak, &q, p, NULL, NULL, NULL, NULL, NULL);
	assert_int_not_equal(tpa_result_verdict(full), TPA_OK);
	assert_int_equal(tpa_result_memo(full, sha, NULL, p, &memo), TPA_E_POLICY);
	assert_null(memo);
	tpa_result_free(&full);

	/* with the log, then with its memo: the same checks word for word */
	full = run_log(ak, &q, p, log, NULL, NULL, NULL, NULL);
	assert_int_equal(tpa_result_verdict(full), TPA_OK);
	assert_int_equal(tpa_result_find(full, "eventlog_replay", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_PASS);
	assert_int_equal(tpa_result_memo(full, sha, NULL, p, &memo), TPA_OK);
	assert_true(tpa_log_memo_size(memo) > 0);
	again = run_log(ak, &q, p, NULL, memo, sha, NULL, NULL);
	assert_int_equal(tpa_result_verdict(again), TPA_OK);
	assert_same_checks(full, again);
	/* and a memo made from a memo's verification stands for the same */
	assert_int_equal(tpa_result_memo(again, sha, NULL, p, &memo2), TPA_OK);
	tpa_result_free(&again);
	again = run_log(ak, &q, p, NULL, memo2, sha, NULL, NULL);
	assert_same_checks(full, again);
	tpa_result_free(&again);
	tpa_log_memo_free(&memo2);

	/* another log hash, or none */
	memcpy(other, sha, 32);
	other[31] ^= 1;
	bad = run_log(ak, &q, p, NULL, memo, other, NULL, NULL);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	assert_int_equal(tpa_result_find(bad, "eventlog_replay", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	tpa_result_free(&bad);
	bad = run_log(ak, &q, p, NULL, memo, NULL, NULL, NULL);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	tpa_result_free(&bad);

	/* a policy (and its digest) the memo was not made under */
	assert_int_equal(
	        tpa_policy_learn(tpa_result_quoted_pcrs(full), log, &policy, why, sizeof(why)),
	        TPA_OK);
	memset(psha, 0x5a, sizeof(psha));
	bad = run_log(ak, &q, p, NULL, memo, sha, policy, psha);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	assert_int_equal(tpa_result_find(bad, "policy", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	tpa_result_free(&bad);
	/* a policy without its digest: refused too */
	bad = run_log(ak, &q, p, NULL, memo, sha, policy, NULL);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	tpa_result_free(&bad);

	/* another claimed PCR value, quoted and signed as genuine: the memo is
	 * not this verification's (the log would not replay to it) */
	q.vals[2][0] ^= 1;
	digest_values(&q, 4);
	sign(&q, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, 0);
	tpa_pcrs_free(&p);
	p = claimed(&q, 4, TPA_ALG_SHA256);
	bad = run_log(ak, &q, p, NULL, memo, sha, NULL, NULL);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	assert_int_equal(tpa_result_find(bad, "eventlog_replay", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_NOT_RUN);
	tpa_result_free(&bad);
	/* with the log it fails on that PCR, as it must */
	bad = run_log(ak, &q, p, log, NULL, NULL, NULL, NULL);
	assert_int_equal(tpa_result_verdict(bad), TPA_E_REPLAY);
	assert_int_equal(tpa_result_find(bad, "eventlog_replay", &s, NULL), TPA_OK);
	assert_int_equal(s, TPA_CHECK_FAIL);
	tpa_result_free(&bad);

	/* the key: every input counts, no policy is not a zero digest */
	memset(psha, 0, sizeof(psha));
	assert_int_equal(tpa_log_memo_key(sha, NULL, p, key1), TPA_OK);
	assert_int_equal(tpa_log_memo_key(sha, psha, p, key2), TPA_OK);
	assert_memory_not_equal(key1, key2, 32);
	assert_int_equal(tpa_log_memo_key(other, NULL, p, key2), TPA_OK);
	assert_memory_not_equal(key1, key2, 32);
	assert_int_equal(tpa_log_memo_key(NULL, NULL, p, key2), TPA_E_INVALID_ARG);

	tpa_result_free(&full);
	tpa_log_memo_free(&memo);
	tpa_log_memo_free(&memo);
	tpa_policy_free(&policy);
	tpa_pcrs_free(&p);
	tpa_pcrs_free(&rep);
	tpa_eventlog_free(&log);
	tpa_ak_free(&ak);
}

static int setup(void **st)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	(void)st;
	if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_CTX_set_group_name(c, "P-256") <= 0 ||
	    EVP_PKEY_keygen(c, &key) <= 0)
		return -1;
	EVP_PKEY_CTX_free(c);
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	make_qn(TPM2_RH_ENDORSEMENT, ak_qn);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	EVP_PKEY_free(key);
	return 0;
}

int main(void)
{
	/* tss2-mu logs refused input to stderr; the test expects refusals. */
	setenv("TSS2_LOG", "all+NONE", 1);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_genuine),
	        cmocka_unit_test(test_sha1_bank_signed_with_sha256),
	        cmocka_unit_test(test_selection_rules),
	        cmocka_unit_test(test_signature_pinning),
	        cmocka_unit_test(test_ak_rules),
	        cmocka_unit_test(test_every_byte_change_refused),
	        cmocka_unit_test(test_clock_sequence),
	        cmocka_unit_test(test_counter_sequence),
	        cmocka_unit_test(test_signer_outside_endorsement),
	        cmocka_unit_test(test_state_json),
	        cmocka_unit_test(test_state_json_strict),
	        cmocka_unit_test(test_ak_rsa_modulus_size),
	        cmocka_unit_test(test_ak_point_off_curve),
	        cmocka_unit_test(test_log_memo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
