/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attestation keys as a verifier reads them.  A TPM public area tells what
 * the key is (TPM 2.0 Part 2, 12.2.4); a bare SubjectPublicKeyInfo tells
 * only the key, so its signing scheme is pinned from its type: RSASSA or
 * ECDSA with SHA-256, the schemes tpmattest's attester and tpm2_createak use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tpmattest/verify.h>

#include "ak_internal.h"
#include "attest.h"

void tpa_ak_free(tpa_ak **pak)
{
	if (!pak || !*pak)
		return;
	EVP_PKEY_free((*pak)->pkey);
	free(*pak);
	*pak = NULL;
}

static int pin_from_public(const TPMT_PUBLIC *p, tpa_sigpin *pin)
{
	const TPMT_SIG_SCHEME *s = NULL;
	TPMT_SIG_SCHEME rs;
	if (p->type == TPM2_ALG_RSA) {
		rs.scheme = p->parameters.rsaDetail.scheme.scheme;
		rs.details.any.hashAlg = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
		s = &rs;
	} else if (p->type == TPM2_ALG_ECC) {
		rs.scheme = p->parameters.eccDetail.scheme.scheme;
		rs.details.any.hashAlg = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
		s = &rs;
	} else {
		return TPA_E_UNSUPPORTED;
	}
	if (s->scheme == TPM2_ALG_NULL) {
		/* No scheme in the key: the TPM would take one from the command.
		 * Pin the conventional one for the key type with the name hash. */
		pin->scheme = p->type == TPM2_ALG_RSA ? TPM2_ALG_RSASSA : TPM2_ALG_ECDSA;
		pin->hash = p->nameAlg;
	} else {
		pin->scheme = s->scheme;
		pin->hash = s->details.any.hashAlg;
	}
	return TPA_OK;
}

static int from_spki(const uint8_t *buf, size_t len, tpa_ak *ak, char *why, size_t whylen)
{
	const unsigned char *q = buf;
	EVP_PKEY *k = NULL;
	BIO *bio;

	if (len > 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
		if (!(bio = BIO_new_mem_buf(buf, (int)len)))
			return TPA_E_NOMEM;
		k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		k = d2i_PUBKEY(NULL, &q, (long)len);
		if (k && q != buf + len) {
			EVP_PKEY_free(k);
			snprintf(why, whylen, "%zu bytes after the SubjectPublicKeyInfo",
			         (size_t)(buf + len - q));
			return TPA_E_TRAILING;
		}
	}
	if (!k) {
		snprintf(why, whylen,
		         "neither a TPM2B_PUBLIC, a TPMT_PUBLIC nor a SubjectPublicKeyInfo");
		return TPA_E_MALFORMED;
	}
	if (EVP_PKEY_is_a(k, "RSA")) {
		ak->pin.scheme = TPM2_ALG_RSASSA;
	} else if (EVP_PKEY_is_a(k, "EC")) {
		ak->pin.scheme = TPM2_ALG_ECDSA;
	} else {
		EVP_PKEY_free(k);
		snprintf(why, whylen, "the key is neither RSA nor ECC");
		return TPA_E_UNSUPPORTED;
	}
	ak->pin.hash = TPM2_ALG_SHA256;
	ak->pkey = k;
	return TPA_OK;
}

/*
 * The key material of a TPM public area, before OpenSSL sees it: a point
 * that is not on its curve, or an empty or even modulus, is a malformed AK
 * (exit 3 in the CLI), not a failure of the crypto library.
 */
static int check_key_material(const TPMT_PUBLIC *p, char *why, size_t whylen)
{
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *x = NULL, *y = NULL;
	BN_CTX *bc = NULL;
	const char *cn;
	size_t field;
	int nid, r = TPA_E_NOMEM;

	if (p->type == TPM2_ALG_RSA) {
		const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
		if (n->size == 0 || n->buffer[0] == 0 || !(n->buffer[n->size - 1] & 1)) {
			snprintf(why, whylen,
			         "the RSA modulus (%u bytes) is empty, has a leading zero byte or "
			         "is even",
			         n->size);
			return TPA_E_MALFORMED;
		}
		return TPA_OK;
	}
	if (p->type != TPM2_ALG_ECC)
		return TPA_OK; /* refused as unsupported by the caller */
	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: nid = NID_X9_62_prime256v1, cn = "P-256", field = 32; break;
	case TPM2_ECC_NIST_P384: nid = NID_secp384r1, cn = "P-384", field = 48; break;
	default: return TPA_OK; /* refused as unsupported by the caller */
	}
	if (p->unique.ecc.x.size > field || p->unique.ecc.y.size > field) {
		snprintf(why, whylen, "the ECC point's coordinates are longer than %s's %zu bytes",
		         cn, field);
		return TPA_E_MALFORMED;
	}
	if (!(grp = EC_GROUP_new_by_curve_name(nid)) || !(pt = EC_POINT_new(grp)) ||
	    !(bc = BN_CTX_new()) ||
	    !(x = BN_bin2bn(p->unique.ecc.x.buffer, p->unique.ecc.x.size, NULL)) ||
	    !(y = BN_bin2bn(p->unique.ecc.y.buffer, p->unique.ecc.y.size, NULL)))
		goto out;
	/* set_affine_coordinates refuses points off the curve; is_on_curve
	 * says so again without relying on that */
	if (!EC_POINT_set_affine_coordinates(grp, pt, x, y, bc) ||
	    EC_POINT_is_on_curve(grp, pt, bc) != 1) {
		snprintf(why, whylen, "the ECC point is not on the %s curve", cn);
		r = TPA_E_MALFORMED;
		goto out;
	}
	r = TPA_OK;
out:
	ERR_clear_error();
	BN_free(x);
	BN_free(y);
	BN_CTX_free(bc);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return r;
}

int tpa_ak_parse(const uint8_t *buf, size_t len, tpa_ak **out, char *why, size_t whylen)
{
	tpa_ak *ak;
	int r;
	if (!buf || !out)
		return TPA_E_INVALID_ARG;
	if (!(ak = calloc(1, sizeof(*ak))))
		return TPA_E_NOMEM;
	if (tpa_public_decode(buf, len, &ak->pub) == TPA_OK) {
		ak->has_public = 1;
		if ((r = check_key_material(&ak->pub, why, whylen)) != TPA_OK)
			goto bad;
		if ((r = tpa_public_to_pkey(&ak->pub, &ak->pkey)) != TPA_OK) {
			snprintf(why, whylen, "the TPM public area holds no usable RSA or ECC key");
			goto bad;
		}
		if ((r = pin_from_public(&ak->pub, &ak->pin)) != TPA_OK) {
			snprintf(why, whylen, "unsupported key type");
			goto bad;
		}
		if ((r = tpa_public_name(&ak->pub, ak->name, &ak->name_len)) != TPA_OK) {
			snprintf(why, whylen, "cannot compute the key's name (nameAlg 0x%04x)",
			         ak->pub.nameAlg);
			goto bad;
		}
	} else if ((r = from_spki(buf, len, ak, why, whylen)) != TPA_OK) {
		goto bad;
	}
	*out = ak;
	return TPA_OK;
bad:
	tpa_ak_free(&ak);
	return r;
}

int tpa_ak_has_public_area(const tpa_ak *ak)
{
	return ak && ak->has_public;
}

int tpa_ak_name(const tpa_ak *ak, const uint8_t **name, size_t *len)
{
	if (!ak || !ak->has_public)
		return TPA_E_NOT_FOUND;
	*name = ak->name;
	*len = ak->name_len;
	return TPA_OK;
}

int tpa_ak_check(const tpa_ak *ak, char *why, size_t whylen)
{
	static const struct {
		uint32_t bit;
		int want;
		const char *name;
	} attrs[] = {
	        {TPMA_OBJECT_RESTRICTED, 1, "restricted"},
	        {TPMA_OBJECT_SIGN_ENCRYPT, 1, "sign"},
	        {TPMA_OBJECT_FIXEDTPM, 1, "fixedTPM"},
	        {TPMA_OBJECT_FIXEDPARENT, 1, "fixedParent"},
	        {TPMA_OBJECT_SENSITIVEDATAORIGIN, 1, "sensitiveDataOrigin"},
	        {TPMA_OBJECT_DECRYPT, 0, "decrypt"},
	};
	const TPMT_PUBLIC *p;
	int bits;
	if (!ak)
		return TPA_E_INVALID_ARG;
	/* What the key itself shows, from the key OpenSSL holds: keyBits is
	 * only a declaration (a TPM makes the two agree; a crafted public area
	 * need not), and a bare key must be as strong as a TPM AK. */
	bits = EVP_PKEY_get_bits(ak->pkey);
	if (ak->has_public && ak->pub.type == TPM2_ALG_RSA &&
	    ak->pub.parameters.rsaDetail.keyBits != bits) {
		snprintf(why, whylen, "the key declares RSA-%u but its modulus is %d bits",
		         ak->pub.parameters.rsaDetail.keyBits, bits);
		return TPA_E_POLICY;
	}
	if (EVP_PKEY_is_a(ak->pkey, "RSA") && bits < 2048) {
		snprintf(why, whylen,
		         "the RSA modulus is %d bits: an AK must be RSA-2048 or larger", bits);
		return TPA_E_POLICY;
	}
	if (EVP_PKEY_is_a(ak->pkey, "EC") && bits != 256 && bits != 384) {
		snprintf(why, whylen, "an ECC key of %d bits: an AK must use P-256 or P-384", bits);
		return TPA_E_POLICY;
	}
	if (!ak->has_public)
		return TPA_E_NOT_FOUND;
	p = &ak->pub;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		int has = (p->objectAttributes & attrs[i].bit) != 0;
		if (has != attrs[i].want) {
			snprintf(why, whylen, "the key is %s%s: an AK must %sbe %s",
			         has ? "" : "not ", attrs[i].name, attrs[i].want ? "" : "not ",
			         attrs[i].name);
			return TPA_E_POLICY;
		}
	}
	if (p->nameAlg != TPM2_ALG_SHA256 && p->nameAlg != TPM2_ALG_SHA384 &&
	    p->nameAlg != TPM2_ALG_SHA512) {
		snprintf(why, whylen, "nameAlg 0x%04x: an AK's must be SHA-256 or better",
		         p->nameAlg);
		return TPA_E_POLICY;
	}
	if (p->type == TPM2_ALG_RSA && p->parameters.rsaDetail.keyBits < 2048) {
		snprintf(why, whylen, "RSA-%u: an AK must be RSA-2048 or larger",
		         p->parameters.rsaDetail.keyBits);
		return TPA_E_POLICY;
	}
	if (p->type == TPM2_ALG_ECC && p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
	    p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P384) {
		snprintf(why, whylen, "ECC curve 0x%04x: an AK must use P-256 or P-384",
		         p->parameters.eccDetail.curveID);
		return TPA_E_POLICY;
	}
	if (ak->pin.hash == TPM2_ALG_SHA1 || !tpa_alg_digest_size(ak->pin.hash) ||
	    ak->pin.hash == TPM2_ALG_SM3_256) {
		snprintf(why, whylen, "signing hash 0x%04x: SHA-1 and unknown hashes are refused",
		         ak->pin.hash);
		return TPA_E_POLICY;
	}
	return TPA_OK;
}
