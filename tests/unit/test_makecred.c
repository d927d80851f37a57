/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Software MakeCredential (src/enroll/makecred.c) without a TPM: KDFa
 * against the known answers TPM self-tests use, the high-range EK policy
 * recomputed from its parts, credentials opened again by an independent
 * software ActivateCredential (the EK private keys are made here), and every
 * EK public area that is not a default EK refused with the check that says
 * so.  tests/integration/test-makecred.sh does the same against swtpm.
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
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

#include "base/hash.h"
#include "enroll/makecred_internal.h"
#include "verifier/ek.h"

/* ---- KDFa known answers ---- */

/* The KDFa self-test vector of the TPM reference code and libtpms
 * (KdfTestData.h): a 20-byte key, label "KDFSELFTESTLABEL", two 8-byte
 * contexts, 160 bits out, one answer per hash. */
static const uint8_t kdf_key[20] = {0x27, 0x1F, 0xA0, 0x8B, 0xBD, 0xC5, 0x06, 0x0E, 0xC3, 0xDF,
                                    0xA9, 0x28, 0xFF, 0x9B, 0x73, 0x12, 0x3A, 0x12, 0xDA, 0x0C};
static const uint8_t kdf_u[8] = {0xCE, 0x24, 0x4F, 0x39, 0x5D, 0xCA, 0x73, 0x91};
static const uint8_t kdf_v[8] = {0xDA, 0x50, 0x40, 0x31, 0xDD, 0xF1, 0x2E, 0x83};

static void test_kdfa_known_answers(void **state)
{
	static const struct {
		uint16_t alg;
		uint8_t out[20];
	} kat[] = {
	        {TPA_ALG_SHA1, {0x55, 0xb5, 0xa7, 0x18, 0x4a, 0xa0, 0x74, 0x23, 0xc4, 0x7d,
	                        0xae, 0x76, 0x6c, 0x26, 0xa2, 0x37, 0x7d, 0x7c, 0xf8, 0x51}},
	        {TPA_ALG_SHA256, {0xbb, 0x02, 0x59, 0xe1, 0xc8, 0xba, 0x60, 0x7e, 0x6a, 0x2c,
	                          0xd7, 0x04, 0xb6, 0x9a, 0x90, 0x2e, 0x9a, 0xde, 0x84, 0xc4}},
	        {TPA_ALG_SHA384, {0x1d, 0xce, 0x70, 0xc9, 0x11, 0x3e, 0xb2, 0xdb, 0xa4, 0x7b,
	                          0xd9, 0xcf, 0xc7, 0x2b, 0xf4, 0x6f, 0x45, 0xb0, 0x93, 0x12}},
	        {TPA_ALG_SHA512, {0x8b, 0xe2, 0xc1, 0xb8, 0x5b, 0x78, 0x56, 0x9b, 0x9f, 0xa7,
	                          0x59, 0xf5, 0x85, 0x7c, 0x56, 0xd6, 0x84, 0x81, 0x0f, 0xd3}},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		uint8_t out[20];
		memset(out, 0, sizeof(out));
		assert_int_equal(tpa_kdfa(kat[i].alg, kdf_key, sizeof(kdf_key), "KDFSELFTESTLABEL",
		                          kdf_u, sizeof(kdf_u), kdf_v, sizeof(kdf_v), 160, out),
		                 TPA_OK);
		assert_memory_equal(out, kat[i].out, sizeof(out));
	}
}

static void test_kdf_arguments(void **state)
{
	uint8_t out[TPA_KDF_MAX_BYTES + 1];
	(void)state;
	/* whole bytes only, bounded, known hashes */
	assert_int_equal(tpa_kdfa(TPA_ALG_SHA256, kdf_key, 20, "X", NULL, 0, NULL, 0, 0, out),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(tpa_kdfa(TPA_ALG_SHA256, kdf_key, 20, "X", NULL, 0, NULL, 0, 12, out),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(tpa_kdfa(TPA_ALG_SHA256, kdf_key, 20, "X", NULL, 0, NULL, 0,
	                          8 * (TPA_KDF_MAX_BYTES + 1), out),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(tpa_kdfa(0x0042, kdf_key, 20, "X", NULL, 0, NULL, 0, 128, out),
	                 TPA_E_UNSUPPORTED);
	assert_int_equal(tpa_kdfe(TPA_ALG_SHA256, NULL, 0, "X", NULL, 0, NULL, 0, 128, out),
	                 TPA_E_INVALID_ARG);
	/* longer than one block: the blocks are counter mode, so the first
	 * block of a 2-block output is HMAC over counter 1 with bits = 512 */
	assert_int_equal(tpa_kdfa(TPA_ALG_SHA256, kdf_key, 20, "X", NULL, 0, NULL, 0, 8 * 128, out),
	                 TPA_OK);
	assert_int_equal(tpa_kdfe(TPA_ALG_SHA256, kdf_key, 20, "X", NULL, 0, NULL, 0, 8 * 128, out),
	                 TPA_OK);
}

/* ---- the EK policies ---- */

static void policy_extend(uint8_t d[32], uint32_t cc, const uint8_t *arg, size_t alen)
{
	uint8_t buf[32 + 4 + 256];
	memcpy(buf, d, 32);
	buf[32] = (uint8_t)(cc >> 24);
	buf[33] = (uint8_t)(cc >> 16);
	buf[34] = (uint8_t)(cc >> 8);
	buf[35] = (uint8_t)cc;
	memcpy(buf + 36, arg, alen);
	assert_int_equal(tpa_hash(TPA_ALG_SHA256, buf, 36 + alen, d), TPA_OK);
}

/* PolicyB = PolicyOR(PolicyA, PolicyC), from the Part 3 rules for each
 * command (PolicySecret 23.4, PolicyAuthorizeNV 23.22, PolicyOR 23.6). */
static void policy_b(uint8_t b[32], uint8_t a_out[32])
{
	static const uint8_t endorsement[4] = {0x40, 0x00, 0x00, 0x0B};
	/* Name of NV index 0x01C07F01 (EK Credential Profile, Annex B) */
	static const uint8_t nv_name[34] = {0x00, 0x0b, 0x0c, 0x9d, 0x71, 0x7e, 0x9c, 0x3f, 0xe6,
	                                    0x9f, 0xda, 0x41, 0x76, 0x94, 0x50, 0xbb, 0x14, 0x59,
	                                    0x57, 0xf8, 0xb3, 0x61, 0x0e, 0x08, 0x4d, 0xbf, 0x65,
	                                    0x59, 0x1a, 0x5d, 0x11, 0xec, 0xd8, 0x3f};
	uint8_t a[32] = {0}, c[32] = {0}, ac[64];
	/* PolicySecret: H(H(0 || CC || authName) || policyRef), policyRef empty */
	policy_extend(a, 0x00000151, endorsement, sizeof(endorsement));
	assert_int_equal(tpa_hash(TPA_ALG_SHA256, a, 32, a), TPA_OK);
	policy_extend(c, 0x00000192, nv_name, sizeof(nv_name));
	memcpy(ac, a, 32);
	memcpy(ac + 32, c, 32);
	memset(b, 0, 32);
	policy_extend(b, 0x00000171, ac, sizeof(ac));
	memcpy(a_out, a, 32);
}

/* ---- EK and AK public areas made here, with their private keys ---- */

static EVP_PKEY *rsa_key, *ecc_key;

static int setup(void **state)
{
	(void)state;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ecc_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa_key && ecc_key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ecc_key);
	return 0;
}

/* The default template of alg with key's public part; high: H-1/H-2. */
static void ek_public(uint16_t alg, int high, TPM2B_PUBLIC *p)
{
	tpa_ek_template(alg, p);
	if (high) {
		uint8_t a[32];
		p->publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
		policy_b(p->publicArea.authPolicy.buffer, a);
	}
	if (alg == TPM2_ALG_RSA) {
		BIGNUM *n = NULL;
		assert_true(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n));
		assert_int_equal(BN_bn2binpad(n, p->publicArea.unique.rsa.buffer, 256), 256);
		p->publicArea.unique.rsa.size = 256;
		BN_free(n);
	} else {
		BIGNUM *x = NULL, *y = NULL;
		assert_true(EVP_PKEY_get_bn_param(ecc_key, OSSL_PKEY_PARAM_EC_PUB_X, &x));
		assert_true(EVP_PKEY_get_bn_param(ecc_key, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
		assert_int_equal(BN_bn2binpad(x, p->publicArea.unique.ecc.x.buffer, 32), 32);
		assert_int_equal(BN_bn2binpad(y, p->publicArea.unique.ecc.y.buffer, 32), 32);
		p->publicArea.unique.ecc.x.size = p->publicArea.unique.ecc.y.size = 32;
		BN_free(x);
		BN_free(y);
	}
}

static size_t marshal(const TPM2B_PUBLIC *p, uint8_t *buf, size_t cap)
{
	size_t off = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, cap, &off), TSS2_RC_SUCCESS);
	return off;
}

/* ---- an independent ActivateCredential, in software ---- */

static void rsa_seed(const uint8_t *enc, size_t enclen, uint8_t seed[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rsa_key, NULL);
	unsigned char *label = OPENSSL_memdup("IDENTITY", 9);
	uint8_t out[256];
	size_t n = sizeof(out);
	assert_non_null(ctx);
	assert_true(EVP_PKEY_decrypt_init(ctx) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", NULL) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", NULL) > 0);
	assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 9) > 0);
	assert_true(EVP_PKEY_decrypt(ctx, out, &n, enc, enclen) > 0);
	assert_int_equal(n, 32);
	memcpy(seed, out, 32);
	EVP_PKEY_CTX_free(ctx);
}

static void ecc_seed(const uint8_t *enc, size_t enclen, const TPMT_PUBLIC *ek, uint8_t seed[32])
{
	TPMS_ECC_POINT qe;
	uint8_t pt[65], z[32];
	size_t off = 0, zlen = sizeof(z);
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *dctx;
	EVP_PKEY *peer = NULL;

	assert_int_equal(Tss2_MU_TPMS_ECC_POINT_Unmarshal(enc, enclen, &off, &qe), TSS2_RC_SUCCESS);
	assert_int_equal(off, enclen);
	assert_int_equal(qe.x.size, 32);
	assert_int_equal(qe.y.size, 32);
	pt[0] = 0x04;
	memcpy(pt + 1, qe.x.buffer, 32);
	memcpy(pt + 33, qe.y.buffer, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	assert_true(EVP_PKEY_fromdata_init(kctx) > 0);
	assert_true(EVP_PKEY_fromdata(kctx, &peer, EVP_PKEY_PUBLIC_KEY, params) > 0);
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, ecc_key, NULL);
	assert_true(EVP_PKEY_derive_init(dctx) > 0);
	assert_true(EVP_PKEY_derive_set_peer(dctx, peer) > 0);
	assert_true(EVP_PKEY_derive(dctx, z, &zlen) > 0);
	assert_int_equal(zlen, 32);
	assert_int_equal(tpa_kdfe(TPA_ALG_SHA256, z, 32, "IDENTITY", qe.x.buffer, 32,
	                          ek->unique.ecc.x.buffer, ek->unique.ecc.x.size, 256, seed),
	                 TPA_OK);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(peer);
}

/* Part 1, 24.6 (the TPM's side): TPA_OK and the secret, or
 * TPA_E_MISMATCH when the integrity HMAC does not hold for name. */
static int soft_activate(const TPM2B_PUBLIC *ek, const tpa_credential *c, const uint8_t *name,
                         size_t name_len, uint8_t *secret, size_t *secret_len)
{
	TPM2B_ID_OBJECT id;
	TPM2B_ENCRYPTED_SECRET es;
	TPM2B_DIGEST hm, cred;
	uint8_t seed[32], hkey[32], skey[16], mac[32], plain[sizeof(TPM2B_DIGEST)];
	uint8_t macin[sizeof(id.credential) + 66];
	size_t off = 0, enclen;
	const uint8_t *encid;
	int n1 = 0, n2 = 0;
	EVP_CIPHER_CTX *cx;
	static const uint8_t iv[16];

	assert_int_equal(
	        Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(c->id_object, c->id_object_len, &off, &id),
	        TSS2_RC_SUCCESS);
	assert_int_equal(off, c->id_object_len);
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(
	                         c->encrypted_secret, c->encrypted_secret_len, &off, &es),
	                 TSS2_RC_SUCCESS);
	assert_int_equal(off, c->encrypted_secret_len);
	if (ek->publicArea.type == TPM2_ALG_RSA)
		rsa_seed(es.secret, es.size, seed);
	else
		ecc_seed(es.secret, es.size, &ek->publicArea, seed);
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(id.credential, id.size, &off, &hm),
	                 TSS2_RC_SUCCESS);
	assert_int_equal(hm.size, 32);
	encid = id.credential + off;
	enclen = id.size - off;
	assert_int_equal(
	        tpa_kdfa(TPA_ALG_SHA256, seed, 32, "INTEGRITY", NULL, 0, NULL, 0, 256, hkey),
	        TPA_OK);
	memcpy(macin, encid, enclen);
	memcpy(macin + enclen, name, name_len);
	{
		size_t mlen = 0;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hkey, 32, macin,
		                          enclen + name_len, mac, sizeof(mac), &mlen));
		assert_int_equal(mlen, 32);
	}
	if (memcmp(mac, hm.buffer, 32) != 0)
		return TPA_E_MISMATCH;
	assert_int_equal(
	        tpa_kdfa(TPA_ALG_SHA256, seed, 32, "STORAGE", name, name_len, NULL, 0, 128, skey),
	        TPA_OK);
	assert_non_null(cx = EVP_CIPHER_CTX_new());
	assert_true(EVP_DecryptInit_ex2(cx, EVP_aes_128_cfb128(), skey, iv, NULL));
	assert_true(EVP_DecryptUpdate(cx, plain, &n1, encid, (int)enclen));
	assert_true(EVP_DecryptFinal_ex(cx, plain + n1, &n2));
	EVP_CIPHER_CTX_free(cx);
	assert_int_equal((size_t)(n1 + n2), enclen);
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, enclen, &off, &cred),
	                 TSS2_RC_SUCCESS);
	assert_int_equal(off, enclen);
	memcpy(secret, cred.buffer, cred.size);
	*secret_len = cred.size;
	return TPA_OK;
}

static const uint8_t name_x[34] = {0x00, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t name_y[34] = {0x00, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 10};

static void roundtrip(uint16_t alg, int high)
{
	TPM2B_PUBLIC ek;
	uint8_t buf[sizeof(TPM2B_PUBLIC)], secret[32], got[64];
	size_t len, got_len = 0;
	tpa_credential c;
	const char *tmpl = NULL;
	char why[256] = "";

	ek_public(alg, high, &ek);
	len = marshal(&ek, buf, sizeof(buf));
	assert_int_equal(tpa_credential_ek_check(buf, len, &tmpl, why, sizeof(why)), TPA_OK);
	assert_string_equal(tmpl,
	                    alg == TPM2_ALG_RSA ? (high ? "H-1" : "L-1") : (high ? "H-2" : "L-2"));
	assert_int_equal(tpa_credential_random(secret, sizeof(secret)), TPA_OK);
	assert_int_equal(tpa_credential_make_name(buf, len, name_x, sizeof(name_x), secret,
	                                          sizeof(secret), &c, why, sizeof(why)),
	                 TPA_OK);
	/* TPM2B_ID_OBJECT: 2 + (2 + 32) + (2 + 32) */
	assert_int_equal(c.id_object_len, 70);
	/* TPM2B_ENCRYPTED_SECRET: an RSA-2048 block or a TPMS_ECC_POINT */
	assert_int_equal(c.encrypted_secret_len, alg == TPM2_ALG_RSA ? 2 + 256 : 2 + 68);
	assert_int_equal(soft_activate(&ek, &c, name_x, sizeof(name_x), got, &got_len), TPA_OK);
	assert_int_equal(got_len, sizeof(secret));
	assert_memory_equal(got, secret, sizeof(secret));
	assert_int_equal(tpa_credential_check(secret, sizeof(secret), got, got_len), TPA_OK);
	/* the same credential for another key's Name does not open */
	assert_int_equal(soft_activate(&ek, &c, name_y, sizeof(name_y), got, &got_len),
	                 TPA_E_MISMATCH);
}

static void test_roundtrip_rsa(void **state)
{
	(void)state;
	roundtrip(TPM2_ALG_RSA, 0);
	roundtrip(TPM2_ALG_RSA, 1);
}

static void test_roundtrip_ecc(void **state)
{
	(void)state;
	roundtrip(TPM2_ALG_ECC, 0);
	roundtrip(TPM2_ALG_ECC, 1);
}

/* Two credentials for the same inputs share nothing: fresh seed, fresh
 * ephemeral key. */
static void test_fresh(void **state)
{
	TPM2B_PUBLIC ek;
	uint8_t buf[sizeof(TPM2B_PUBLIC)], secret[32] = {7};
	size_t len;
	tpa_credential a, b;
	char why[256];
	(void)state;
	for (int k = 0; k < 2; k++) {
		ek_public(k ? TPM2_ALG_ECC : TPM2_ALG_RSA, 0, &ek);
		len = marshal(&ek, buf, sizeof(buf));
		assert_int_equal(tpa_credential_make_name(buf, len, name_x, 34, secret, 32, &a, why,
		                                          sizeof(why)),
		                 TPA_OK);
		assert_int_equal(tpa_credential_make_name(buf, len, name_x, 34, secret, 32, &b, why,
		                                          sizeof(why)),
		                 TPA_OK);
		assert_memory_not_equal(a.encrypted_secret, b.encrypted_secret,
		                        a.encrypted_secret_len);
		assert_memory_not_equal(a.id_object, b.id_object, a.id_object_len);
	}
}

/* With the AK given as itself: its Name computed from its public area. */
static void test_make_with_ak(void **state)
{
	TPM2B_PUBLIC ek, akp;
	uint8_t buf[sizeof(TPM2B_PUBLIC)], akbuf[sizeof(TPM2B_PUBLIC)], secret[32] = {1, 2, 3};
	uint8_t got[64];
	size_t len, aklen, got_len = 0;
	const uint8_t *name;
	size_t name_len;
	tpa_credential c;
	tpa_ak *ak = NULL;
	char why[256];
	(void)state;

	/* an ECC signing key shaped as tpmattest's AK, with the P-256 key */
	ek_public(TPM2_ALG_ECC, 0, &akp);
	akp.publicArea.objectAttributes =
	        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	akp.publicArea.authPolicy.size = 0;
	akp.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	akp.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	akp.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	aklen = marshal(&akp, akbuf, sizeof(akbuf));
	assert_int_equal(tpa_ak_parse(akbuf, aklen, &ak, why, sizeof(why)), TPA_OK);
	assert_int_equal(tpa_ak_name(ak, &name, &name_len), TPA_OK);

	ek_public(TPM2_ALG_RSA, 0, &ek);
	len = marshal(&ek, buf, sizeof(buf));
	assert_int_equal(tpa_credential_make(buf, len, ak, secret, 32, &c, why, sizeof(why)),
	                 TPA_OK);
	assert_int_equal(soft_activate(&ek, &c, name, name_len, got, &got_len), TPA_OK);
	assert_memory_equal(got, secret, 32);
	assert_int_equal(tpa_credential_make(buf, len, NULL, secret, 32, &c, why, sizeof(why)),
	                 TPA_E_INVALID_ARG);
	tpa_ak_free(&ak);
	/* a bare public key has no Name to bind the credential to */
	{
		unsigned char *der = NULL;
		int dlen = i2d_PUBKEY(ecc_key, &der);
		assert_true(dlen > 0);
		assert_int_equal(tpa_ak_parse(der, (size_t)dlen, &ak, why, sizeof(why)), TPA_OK);
		OPENSSL_free(der);
		assert_int_equal(
		        tpa_credential_make(buf, len, ak, secret, 32, &c, why, sizeof(why)),
		        TPA_E_INVALID_ARG);
		assert_non_null(strstr(why, "without its TPM public area"));
		tpa_ak_free(&ak);
	}
}

/* ---- refusals ---- */

/* make with buf: the error, with *out untouched */
static int make_err(const uint8_t *buf, size_t len, const uint8_t *secret, size_t slen,
                    const char *want_why)
{
	tpa_credential c;
	char why[256] = "";
	int r;
	memset(&c, 0xAA, sizeof(c));
	r = tpa_credential_make_name(buf, len, name_x, sizeof(name_x), secret, slen, &c, why,
	                             sizeof(why));
	if (r != TPA_OK) {
		for (size_t i = 0; i < sizeof(c); i++)
			assert_int_equal(((uint8_t *)&c)[i], 0xAA);
		if (want_why && !strstr(why, want_why))
			fail_msg("reason '%s' lacks '%s'", why, want_why);
	}
	return r;
}

static int ek_err(const TPM2B_PUBLIC *p, const char *want_why)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)], secret[32] = {0};
	size_t len = marshal(p, buf, sizeof(buf));
	int r = make_err(buf, len, secret, sizeof(secret), want_why);
	char why[256];
	assert_int_equal(tpa_credential_ek_check(buf, len, NULL, why, sizeof(why)), r);
	return r;
}

static void test_refuse_non_ek(void **state)
{
	TPM2B_PUBLIC p;
	(void)state;
	for (int k = 0; k < 2; k++) {
		uint16_t alg = k ? TPM2_ALG_ECC : TPM2_ALG_RSA;

		ek_public(alg, 0, &p);
		assert_int_equal(ek_err(&p, NULL), TPA_OK);
		/* a signing key */
		p.publicArea.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
		assert_int_equal(ek_err(&p, "are not those of an EK"), TPA_E_POLICY);
		/* not restricted: would decrypt anything for anyone */
		ek_public(alg, 0, &p);
		p.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
		assert_int_equal(ek_err(&p, "are not those of an EK"), TPA_E_POLICY);
		/* a key that may leave the TPM */
		ek_public(alg, 0, &p);
		p.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
		assert_int_equal(ek_err(&p, "are not those of an EK"), TPA_E_POLICY);
		/* usable with its own password: the L templates' policy only */
		ek_public(alg, 0, &p);
		p.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		/* another policy (any user could satisfy an empty one) */
		ek_public(alg, 0, &p);
		p.publicArea.authPolicy.buffer[0] ^= 1;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		ek_public(alg, 0, &p);
		p.publicArea.authPolicy.size = 0;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		/* the H policy with the L attributes */
		ek_public(alg, 1, &p);
		p.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		/* SHA-1 names, AES-256, no symmetric, a scheme */
		ek_public(alg, 0, &p);
		p.publicArea.nameAlg = TPM2_ALG_SHA1;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		ek_public(alg, 0, &p);
		p.publicArea.parameters.asymDetail.symmetric.keyBits.aes = 256;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		ek_public(alg, 0, &p);
		p.publicArea.parameters.asymDetail.symmetric.mode.aes = TPM2_ALG_CBC;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
		ek_public(alg, 0, &p);
		p.publicArea.parameters.asymDetail.scheme.scheme =
		        alg == TPM2_ALG_RSA ? TPM2_ALG_OAEP : TPM2_ALG_ECDH;
		p.publicArea.parameters.asymDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA256;
		assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
	}
	/* RSA: another size or exponent */
	ek_public(TPM2_ALG_RSA, 0, &p);
	p.publicArea.parameters.rsaDetail.keyBits = 3072;
	assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
	ek_public(TPM2_ALG_RSA, 0, &p);
	p.publicArea.parameters.rsaDetail.exponent = 3;
	assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
	/* ECC: another curve, a KDF */
	ek_public(TPM2_ALG_ECC, 0, &p);
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
	ek_public(TPM2_ALG_ECC, 0, &p);
	p.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_KDF1_SP800_56A;
	p.publicArea.parameters.eccDetail.kdf.details.kdf1_sp800_56a.hashAlg = TPM2_ALG_SHA256;
	assert_int_equal(ek_err(&p, "not a TCG default EK template"), TPA_E_POLICY);
	/* other types */
	memset(&p, 0, sizeof(p));
	p.publicArea.type = TPM2_ALG_KEYEDHASH;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	assert_int_equal(ek_err(&p, "an EK is an RSA or ECC key"), TPA_E_POLICY);
}

static void test_refuse_bad_key(void **state)
{
	TPM2B_PUBLIC p;
	(void)state;
	/* RSA: short, even, or with a leading zero */
	ek_public(TPM2_ALG_RSA, 0, &p);
	p.publicArea.unique.rsa.size = 255;
	assert_int_equal(ek_err(&p, "not a 2048-bit odd number"), TPA_E_MALFORMED);
	ek_public(TPM2_ALG_RSA, 0, &p);
	p.publicArea.unique.rsa.buffer[255] &= 0xfe;
	assert_int_equal(ek_err(&p, "not a 2048-bit odd number"), TPA_E_MALFORMED);
	ek_public(TPM2_ALG_RSA, 0, &p);
	p.publicArea.unique.rsa.buffer[0] = 0;
	assert_int_equal(ek_err(&p, "not a 2048-bit odd number"), TPA_E_MALFORMED);
	/* ECC: off the curve, short coordinates, the point at "0, 0" */
	ek_public(TPM2_ALG_ECC, 0, &p);
	p.publicArea.unique.ecc.y.buffer[31] ^= 1;
	assert_int_equal(ek_err(&p, "not on the P-256 curve"), TPA_E_MALFORMED);
	ek_public(TPM2_ALG_ECC, 0, &p);
	memset(p.publicArea.unique.ecc.x.buffer, 0, 32);
	memset(p.publicArea.unique.ecc.y.buffer, 0, 32);
	assert_int_equal(ek_err(&p, "not on the P-256 curve"), TPA_E_MALFORMED);
	ek_public(TPM2_ALG_ECC, 0, &p);
	p.publicArea.unique.ecc.x.size = 31;
	assert_int_equal(ek_err(&p, "32"), TPA_E_MALFORMED);
	ek_public(TPM2_ALG_ECC, 0, &p);
	p.publicArea.unique.ecc.y.size = 0;
	assert_int_equal(ek_err(&p, "32"), TPA_E_MALFORMED);
}

static void test_refuse_bytes(void **state)
{
	TPM2B_PUBLIC p;
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 1], secret[32] = {0};
	size_t len;
	(void)state;
	for (int k = 0; k < 2; k++) {
		ek_public(k ? TPM2_ALG_ECC : TPM2_ALG_RSA, 0, &p);
		len = marshal(&p, buf, sizeof(buf));
		/* every truncation refused, never read past */
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			int r;
			memcpy(copy, buf, cut);
			r = make_err(copy, cut, secret, sizeof(secret), NULL);
			assert_true(r == TPA_E_MALFORMED || r == TPA_E_TRAILING ||
			            r == TPA_E_POLICY);
			free(copy);
		}
		/* a byte after it */
		buf[len] = 0;
		{
			int r = make_err(buf, len + 1, secret, sizeof(secret), NULL);
			assert_true(r == TPA_E_MALFORMED || r == TPA_E_TRAILING);
		}
	}
	assert_int_equal(make_err(NULL, 0, secret, sizeof(secret), NULL), TPA_E_INVALID_ARG);
}

static void test_refuse_secret_and_name(void **state)
{
	TPM2B_PUBLIC p;
	uint8_t buf[sizeof(TPM2B_PUBLIC)], secret[TPA_CREDENTIAL_MAX_SECRET + 1] = {0};
	size_t len;
	tpa_credential c;
	char why[256];
	(void)state;
	for (int k = 0; k < 2; k++) {
		ek_public(k ? TPM2_ALG_ECC : TPM2_ALG_RSA, 0, &p);
		len = marshal(&p, buf, sizeof(buf));
		/* longer than the EK's SHA-256: the TPM would refuse it */
		assert_int_equal(make_err(buf, len, secret, 33, "it must be 16 to 32 bytes"),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(make_err(buf, len, secret, 65, "it must be 16 to 32 bytes"),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(make_err(buf, len, secret, 15, "it must be 16 to 32 bytes"),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(make_err(buf, len, secret, 0, "it must be 16 to 32 bytes"),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(make_err(buf, len, secret, 16, NULL), TPA_OK);
		assert_int_equal(make_err(buf, len, secret, 32, NULL), TPA_OK);
		/* a name that is not nameAlg || digest */
		assert_int_equal(tpa_credential_make_name(buf, len, name_x, 33, secret, 32, &c, why,
		                                          sizeof(why)),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(tpa_credential_make_name(buf, len, (const uint8_t *)"\x00\x42xx",
		                                          4, secret, 32, &c, why, sizeof(why)),
		                 TPA_E_INVALID_ARG);
		assert_int_equal(tpa_credential_make_name(buf, len, NULL, 0, secret, 32, &c, why,
		                                          sizeof(why)),
		                 TPA_E_INVALID_ARG);
	}
	assert_int_equal(tpa_credential_random(secret, 0), TPA_E_INVALID_ARG);
	assert_int_equal(tpa_credential_random(secret, TPA_CREDENTIAL_MAX_SECRET + 1),
	                 TPA_E_INVALID_ARG);
}

static void test_check(void **state)
{
	uint8_t a[32], b[32];
	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 1);
	memcpy(b, a, sizeof(a));
	assert_int_equal(tpa_credential_check(a, 32, b, 32), TPA_OK);
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		assert_int_equal(tpa_credential_check(a, 32, b, 32), TPA_E_MISMATCH);
		b[i] ^= 0x80;
	}
	assert_int_equal(tpa_credential_check(a, 32, b, 31), TPA_E_MISMATCH);
	assert_int_equal(tpa_credential_check(a, 31, b, 32), TPA_E_MISMATCH);
	assert_int_equal(tpa_credential_check(a, 0, b, 0), TPA_E_MISMATCH);
	assert_int_equal(tpa_credential_check(a, 32, NULL, 32), TPA_E_MISMATCH);
}

/* The constant in makecred.c is the policy the profile describes: an H-1
 * public area built with the recomputed PolicyB is accepted (roundtrip),
 * and PolicyA is the L templates' policy. */
static void test_policies(void **state)
{
	TPM2B_PUBLIC l;
	uint8_t b[32], a[32];
	static const uint8_t b_published[32] = {0xca, 0x3d, 0x0a, 0x99, 0xa2, 0xb9, 0x39, 0x06,
	                                        0xf7, 0xa3, 0x34, 0x24, 0x14, 0xef, 0xcf, 0xb3,
	                                        0xa3, 0x85, 0xd4, 0x4c, 0xd1, 0xfd, 0x45, 0x90,
	                                        0x89, 0xd1, 0x9b, 0x50, 0x71, 0xc0, 0xb7, 0xa0};
	(void)state;
	policy_b(b, a);
	assert_memory_equal(b, b_published, 32);
	tpa_ek_template(TPM2_ALG_RSA, &l);
	assert_int_equal(l.publicArea.authPolicy.size, 32);
	assert_memory_equal(a, l.publicArea.authPolicy.buffer, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kdfa_known_answers),
	        cmocka_unit_test(test_kdf_arguments),
	        cmocka_unit_test(test_policies),
	        cmocka_unit_test(test_roundtrip_rsa),
	        cmocka_unit_test(test_roundtrip_ecc),
	        cmocka_unit_test(test_fresh),
	        cmocka_unit_test(test_make_with_ak),
	        cmocka_unit_test(test_refuse_non_ek),
	        cmocka_unit_test(test_refuse_bad_key),
	        cmocka_unit_test(test_refuse_bytes),
	        cmocka_unit_test(test_refuse_secret_and_name),
	        cmocka_unit_test(test_check),
	};
	setenv("TSS2_LOG", "all+NONE", 1);
	return cmocka_run_group_tests(tests, setup, teardown);
}
