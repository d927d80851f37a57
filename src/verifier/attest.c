/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/tpmattest.h>

#include "attest.h"
#include "base/hash.h"

int tpa_attest_decode(const uint8_t *buf, size_t len, TPMS_ATTEST *out)
{
	size_t off = 0;
	TPMS_ATTEST a;
	memset(&a, 0, sizeof(a));
	if (!buf || Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, &a) != TSS2_RC_SUCCESS)
		return TPA_E_MALFORMED;
	if (off != len)
		return TPA_E_TRAILING;
	*out = a;
	return TPA_OK;
}

int tpa_signature_decode(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out)
{
	size_t off = 0;
	TPMT_SIGNATURE s;
	memset(&s, 0, sizeof(s));
	if (!buf || Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &off, &s) != TSS2_RC_SUCCESS)
		return TPA_E_MALFORMED;
	if (off != len)
		return TPA_E_TRAILING;
	*out = s;
	return TPA_OK;
}

int tpa_public_decode(const uint8_t *buf, size_t len, TPMT_PUBLIC *out)
{
	size_t off = 0;
	TPM2B_PUBLIC p;
	TPMT_PUBLIC t;
	if (!buf || len < 2)
		return TPA_E_MALFORMED;
	memset(&p, 0, sizeof(p));
	/* A TPM2B_PUBLIC's size prefix covers the rest exactly; a bare
	 * TPMT_PUBLIC starts with its type, which never equals that. */
	if ((size_t)(buf[0] << 8 | buf[1]) == len - 2) {
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &p) != TSS2_RC_SUCCESS)
			return TPA_E_MALFORMED;
		if (off != len)
			return TPA_E_TRAILING;
		*out = p.publicArea;
		return TPA_OK;
	}
	memset(&t, 0, sizeof(t));
	if (Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, len, &off, &t) != TSS2_RC_SUCCESS)
		return TPA_E_MALFORMED;
	if (off != len)
		return TPA_E_TRAILING;
	*out = t;
	return TPA_OK;
}

int tpa_public_name(const TPMT_PUBLIC *pub, uint8_t name[static 2 + 64], size_t *len)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0, dsize = tpa_alg_digest_size(pub->nameAlg);
	int r;
	if (!dsize)
		return TPA_E_UNSUPPORTED;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return TPA_E_MALFORMED;
	name[0] = (uint8_t)(pub->nameAlg >> 8);
	name[1] = (uint8_t)pub->nameAlg;
	if ((r = tpa_hash(pub->nameAlg, buf, off, name + 2)) != TPA_OK)
		return r;
	*len = 2 + dsize;
	return TPA_OK;
}

static int rsa_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint32_t exp =
	        pub->parameters.rsaDetail.exponent ? pub->parameters.rsaDetail.exponent : 65537;
	int r = TPA_E_CRYPTO;

	if (!bld || !(n = BN_bin2bn(pub->unique.rsa.buffer, (int)pub->unique.rsa.size, NULL)) ||
	    !(e = BN_new()) || !BN_set_word(e, exp) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	r = TPA_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static const char *curve_name(uint16_t curve, size_t *field)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256: *field = 32; return "P-256";
	case TPM2_ECC_NIST_P384: *field = 48; return "P-384";
	default: return NULL;
	}
}

static int ecc_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	size_t field;
	const char *cn = curve_name(pub->parameters.eccDetail.curveID, &field);
	const TPMS_ECC_POINT *pt = &pub->unique.ecc;
	uint8_t point[1 + 2 * 48];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	int r = TPA_E_CRYPTO;

	if (!cn)
		return TPA_E_UNSUPPORTED;
	if (pt->x.size > field || pt->y.size > field)
		return TPA_E_MALFORMED;
	/* Uncompressed SEC1 point; coordinates left-padded to the field size. */
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + field - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(point + 1 + 2 * field - pt->y.size, pt->y.buffer, pt->y.size);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)(uintptr_t)cn, 0);
	params[1] =
	        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field);
	params[2] = OSSL_PARAM_construct_end();
	if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	r = TPA_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int tpa_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;
	int r;
	if (pub->type == TPM2_ALG_RSA)
		r = rsa_pkey(pub, &k);
	else if (pub->type == TPM2_ALG_ECC)
		r = ecc_pkey(pub, &k);
	else
		r = TPA_E_UNSUPPORTED;
	if (r == TPA_OK)
		*out = k;
	return r;
}

static const char *md_name(uint16_t hash)
{
	switch (hash) {
	case TPM2_ALG_SHA256: return "SHA256";
	case TPM2_ALG_SHA384: return "SHA384";
	case TPM2_ALG_SHA512: return "SHA512";
	default: return NULL;
	}
}

static const char *scheme_name(uint16_t s)
{
	switch (s) {
	case TPM2_ALG_RSASSA: return "RSASSA";
	case TPM2_ALG_RSAPSS: return "RSAPSS";
	case TPM2_ALG_ECDSA: return "ECDSA";
	case TPM2_ALG_ECSCHNORR: return "ECSCHNORR";
	case TPM2_ALG_SM2: return "SM2";
	case TPM2_ALG_HMAC: return "HMAC";
	case TPM2_ALG_NULL: return "NULL";
	default: return "unknown";
	}
}

/* DER ECDSA-Sig-Value from r and s, after checking both are in [1, n-1]. */
static int ecdsa_der(EVP_PKEY *pkey, const TPMS_SIGNATURE_ECC *e, uint8_t **der, int *derlen,
                     char *why, size_t whylen)
{
	char gname[32];
	size_t glen = 0;
	EC_GROUP *grp = NULL;
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	const BIGNUM *order;
	int ret = TPA_E_BAD_SIGNATURE;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, gname, sizeof(gname),
	                                    &glen) ||
	    !(grp = EC_GROUP_new_by_curve_name(OBJ_sn2nid(gname) != NID_undef
	                                               ? OBJ_sn2nid(gname)
	                                               : EC_curve_nist2nid(gname)))) {
		snprintf(why, whylen, "cannot load the key's curve");
		ret = TPA_E_CRYPTO;
		goto out;
	}
	order = EC_GROUP_get0_order(grp);
	if (!(r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL)) ||
	    !(s = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL))) {
		ret = TPA_E_NOMEM;
		goto out;
	}
	if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, order) >= 0 || BN_cmp(s, order) >= 0) {
		snprintf(why, whylen, "ECDSA r or s outside [1, n-1]");
		goto out;
	}
	if (!(sig = ECDSA_SIG_new()) || !ECDSA_SIG_set0(sig, r, s)) {
		ret = TPA_E_NOMEM;
		goto out;
	}
	r = s = NULL;
	*der = NULL;
	if ((*derlen = i2d_ECDSA_SIG(sig, der)) <= 0) {
		ret = TPA_E_CRYPTO;
		goto out;
	}
	ret = TPA_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	EC_GROUP_free(grp);
	return ret;
}

int tpa_signature_verify(EVP_PKEY *pkey, const tpa_sigpin *pin, const TPMT_SIGNATURE *sig,
                         const uint8_t *data, size_t len, char *why, size_t whylen)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const uint8_t *sb;
	uint8_t *der = NULL;
	size_t sl;
	uint16_t hash;
	int r = TPA_E_BAD_SIGNATURE, derlen = 0;

	if (sig->sigAlg != pin->scheme) {
		snprintf(why, whylen, "signature scheme %s, but the key is pinned to %s",
		         scheme_name(sig->sigAlg), scheme_name(pin->scheme));
		return TPA_E_BAD_SIGNATURE;
	}
	switch (sig->sigAlg) {
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		hash = sig->signature.rsassa.hash;
		sb = sig->signature.rsassa.sig.buffer;
		sl = sig->signature.rsassa.sig.size;
		break;
	case TPM2_ALG_ECDSA: hash = sig->signature.ecdsa.hash; break;
	default:
		snprintf(why, whylen, "unsupported signature scheme %s", scheme_name(sig->sigAlg));
		return TPA_E_BAD_SIGNATURE;
	}
	if (hash != pin->hash || !md_name(hash)) {
		snprintf(why, whylen, "signature hash %s, but the key is pinned to %s",
		         tpa_alg_name(hash) ? tpa_alg_name(hash) : "unknown",
		         tpa_alg_name(pin->hash) ? tpa_alg_name(pin->hash) : "unknown");
		return TPA_E_BAD_SIGNATURE;
	}
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		if ((r = ecdsa_der(pkey, &sig->signature.ecdsa, &der, &derlen, why, whylen)) !=
		    TPA_OK)
			return r;
		sb = der;
		sl = (size_t)derlen;
		r = TPA_E_BAD_SIGNATURE;
	}
	if (!(mctx = EVP_MD_CTX_new())) {
		r = TPA_E_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, md_name(hash), NULL, NULL, pkey, NULL) <= 0) {
		snprintf(why, whylen, "the key cannot verify %s signatures",
		         scheme_name(sig->sigAlg));
		goto out;
	}
	if (sig->sigAlg == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	if (EVP_DigestVerify(mctx, sb, sl, data, len) != 1) {
		snprintf(why, whylen, "the %s-%s signature does not verify with the key",
		         scheme_name(sig->sigAlg), tpa_alg_name(hash));
		goto out;
	}
	r = TPA_OK;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	return r;
}
