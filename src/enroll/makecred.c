/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Software TPM2_MakeCredential, the verifier's half of credential activation
 * (TPM 2.0 Part 1, 24 "Credential Protection"; Part 3, 12.6).  No TPM: the
 * verifier wraps a secret to the machine's EK so that TPM2_ActivateCredential
 * releases it only inside that TPM, and only for a loaded key whose Name is
 * the AK's.
 *
 *   seed      RSA: random, nameAlg-digest bytes, sent RSA-OAEP(nameAlg,
 *             label "IDENTITY\0") encrypted; ECC: KDFe(nameAlg, Z,
 *             "IDENTITY", Qe.x, Qs.x) with Z the x coordinate of one-pass
 *             ECDH between a fresh ephemeral key and the EK (Part 1, C.6.1),
 *             and Qe sent as a TPMS_ECC_POINT
 *   symKey    KDFa(nameAlg, seed, "STORAGE", Name, -, EK symmetric keyBits)
 *   encId     AES-CFB(symKey, IV 0, TPM2B_DIGEST(secret))
 *   HMACkey   KDFa(nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   HMAC      HMAC_nameAlg(HMACkey, encId || Name)
 *   blob      TPM2B_ID_OBJECT: TPM2B_DIGEST(HMAC) || encId
 *
 * The EK public area comes from the machine, so it is checked first: an
 * "EK" that is not a TPM-resident restricted decryption key under the
 * endorsement policy would let software that holds its private key answer
 * the challenge.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

#include "base/hash.h"
#include "makecred_internal.h"
#include "verifier/attest.h"
#include "verifier/ek.h"

/* Labels of Part 1, 24.4 and 24.5; each is hashed with its NUL. */
#define LABEL_IDENTITY "IDENTITY"
#define LABEL_STORAGE "STORAGE"
#define LABEL_INTEGRITY "INTEGRITY"

#define P256_FIELD 32
#define RSA2048_BYTES 256

/* ---- KDFs ---- */

static void be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static const char *mac_digest_name(uint16_t hash)
{
	switch (hash) {
	case TPM2_ALG_SHA1: return "SHA1";
	case TPM2_ALG_SHA256: return "SHA2-256";
	case TPM2_ALG_SHA384: return "SHA2-384";
	case TPM2_ALG_SHA512: return "SHA2-512";
	default: return NULL;
	}
}

/* HMAC_hash(key, a || b || c), through a MAC fetched by the caller. */
static int hmac3(EVP_MAC *mac, uint16_t hash, const uint8_t *key, size_t keylen, const uint8_t *a,
                 size_t alen, const uint8_t *b, size_t blen, const uint8_t *c, size_t clen,
                 uint8_t *out, size_t outcap, size_t *outlen)
{
	const char *dn = mac_digest_name(hash);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	int ok;

	if (!dn)
		return TPA_E_UNSUPPORTED;
	if (!(ctx = EVP_MAC_CTX_new(mac)))
		return TPA_E_NOMEM;
	params[0] =
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)dn, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* OpenSSL refuses an empty HMAC key pointer; the length says it all */
	ok = EVP_MAC_init(ctx, keylen ? key : (const uint8_t *)"", keylen, params) &&
	     (!alen || EVP_MAC_update(ctx, a, alen)) && (!blen || EVP_MAC_update(ctx, b, blen)) &&
	     (!clen || EVP_MAC_update(ctx, c, clen)) && EVP_MAC_final(ctx, out, outlen, outcap);
	EVP_MAC_CTX_free(ctx);
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

static int kdfa_mac(EVP_MAC *mac, uint16_t hash, const uint8_t *key, size_t keylen,
                    const char *label, const uint8_t *u, size_t ulen, const uint8_t *v, size_t vlen,
                    size_t bits, uint8_t *out)
{
	size_t dsize = tpa_alg_digest_size(hash), want = bits / 8, done = 0, llen;
	uint8_t ctr[4], tail[4], block[TPA_MAX_DIGEST];
	uint8_t fixed[64 + 4];
	int r = TPA_OK;

	if (!dsize || !mac_digest_name(hash))
		return TPA_E_UNSUPPORTED;
	if (!bits || bits % 8 || want > TPA_KDF_MAX_BYTES || !label ||
	    (llen = strlen(label) + 1) > sizeof(fixed) - 4 || (ulen && !u) || (vlen && !v))
		return TPA_E_INVALID_ARG;
	/* label || 0x00, then contextU, contextV, [bits]_4 */
	memcpy(fixed, label, llen);
	be32(tail, (uint32_t)bits);
	for (uint32_t i = 1; done < want; i++) {
		size_t n = 0, take;
		EVP_MAC_CTX *ctx;
		OSSL_PARAM params[2];
		int ok;

		be32(ctr, i);
		if (!(ctx = EVP_MAC_CTX_new(mac)))
			return TPA_E_NOMEM;
		params[0] = OSSL_PARAM_construct_utf8_string(
		        OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)mac_digest_name(hash), 0);
		params[1] = OSSL_PARAM_construct_end();
		ok = EVP_MAC_init(ctx, keylen ? key : (const uint8_t *)"", keylen, params) &&
		     EVP_MAC_update(ctx, ctr, 4) && EVP_MAC_update(ctx, fixed, llen) &&
		     (!ulen || EVP_MAC_update(ctx, u, ulen)) &&
		     (!vlen || EVP_MAC_update(ctx, v, vlen)) && EVP_MAC_update(ctx, tail, 4) &&
		     EVP_MAC_final(ctx, block, &n, sizeof(block)) && n == dsize;
		EVP_MAC_CTX_free(ctx);
		if (!ok) {
			r = TPA_E_CRYPTO;
			break;
		}
		take = want - done < dsize ? want - done : dsize;
		memcpy(out + done, block, take);
		done += take;
	}
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

int tpa_kdfa(uint16_t hash, const uint8_t *key, size_t keylen, const char *label, const uint8_t *u,
             size_t ulen, const uint8_t *v, size_t vlen, size_t bits, uint8_t *out)
{
	EVP_MAC *mac;
	int r;
	if (!out || (keylen && !key))
		return TPA_E_INVALID_ARG;
	if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return TPA_E_CRYPTO;
	r = kdfa_mac(mac, hash, key, keylen, label, u, ulen, v, vlen, bits, out);
	EVP_MAC_free(mac);
	return r;
}

int tpa_kdfe(uint16_t hash, const uint8_t *z, size_t zlen, const char *label, const uint8_t *u,
             size_t ulen, const uint8_t *v, size_t vlen, size_t bits, uint8_t *out)
{
	const EVP_MD *md = tpa_md(hash);
	size_t dsize = tpa_alg_digest_size(hash), want = bits / 8, done = 0;
	uint8_t ctr[4], block[TPA_MAX_DIGEST];
	EVP_MD_CTX *ctx;
	int r = TPA_OK;

	if (!md || !dsize)
		return TPA_E_UNSUPPORTED;
	if (!out || !bits || bits % 8 || want > TPA_KDF_MAX_BYTES || !label || !z || !zlen ||
	    (ulen && !u) || (vlen && !v))
		return TPA_E_INVALID_ARG;
	if (!(ctx = EVP_MD_CTX_new()))
		return TPA_E_NOMEM;
	for (uint32_t i = 1; done < want; i++) {
		unsigned int n = 0;
		size_t take;
		be32(ctr, i);
		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, ctr, 4) ||
		    !EVP_DigestUpdate(ctx, z, zlen) ||
		    !EVP_DigestUpdate(ctx, label, strlen(label) + 1) ||
		    (ulen && !EVP_DigestUpdate(ctx, u, ulen)) ||
		    (vlen && !EVP_DigestUpdate(ctx, v, vlen)) ||
		    !EVP_DigestFinal_ex(ctx, block, &n) || n != dsize) {
			r = TPA_E_CRYPTO;
			break;
		}
		take = want - done < dsize ? want - done : dsize;
		memcpy(out + done, block, take);
		done += take;
	}
	OPENSSL_cleanse(block, sizeof(block));
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- the EK ---- */

/* PolicyB of the EK Credential Profile (Annex B, "Computing PolicyB"), the
 * authPolicy of the SHA-256 high-range templates H-1 and H-2:
 * PolicyOR(PolicyA = PolicySecret(TPM_RH_ENDORSEMENT),
 *          PolicyC = PolicyAuthorizeNV(0x01C07F01)).
 * tests/unit/test_makecred.c recomputes it from PolicyA and PolicyC. */
static const uint8_t policy_b_sha256[32] = {
        0xca, 0x3d, 0x0a, 0x99, 0xa2, 0xb9, 0x39, 0x06, 0xf7, 0xa3, 0x34,
        0x24, 0x14, 0xef, 0xcf, 0xb3, 0xa3, 0x85, 0xd4, 0x4c, 0xd1, 0xfd,
        0x45, 0x90, 0x89, 0xd1, 0x9b, 0x50, 0x71, 0xc0, 0xb7, 0xa0,
};

/* H-1 and H-2: L-1 and L-2 with userWithAuth set, PolicyB, and an empty
 * unique field (which only seeds the key's derivation). */
static void ek_template_high(uint16_t alg, TPM2B_PUBLIC *p)
{
	tpa_ek_template(alg, p);
	p->publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	memcpy(p->publicArea.authPolicy.buffer, policy_b_sha256, sizeof(policy_b_sha256));
	p->publicArea.authPolicy.size = sizeof(policy_b_sha256);
}

static int ek_key_material(const TPMT_PUBLIC *p, char *why, size_t whylen)
{
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *x = NULL, *y = NULL;
	BN_CTX *bc = NULL;
	int r = TPA_E_NOMEM;

	if (p->type == TPM2_ALG_RSA) {
		const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
		if (n->size != RSA2048_BYTES || !(n->buffer[0] & 0x80) ||
		    !(n->buffer[n->size - 1] & 1)) {
			snprintf(why, whylen,
			         "the EK's RSA modulus (%u bytes) is not a 2048-bit odd number",
			         n->size);
			return TPA_E_MALFORMED;
		}
		return TPA_OK;
	}
	/* A TPM writes both coordinates at the field size; partyVInfo of KDFe
	 * is the EK's x exactly as the TPM holds it. */
	if (p->unique.ecc.x.size != P256_FIELD || p->unique.ecc.y.size != P256_FIELD) {
		snprintf(why, whylen,
		         "the EK's ECC point has %u- and %u-byte coordinates; P-256 needs 32",
		         p->unique.ecc.x.size, p->unique.ecc.y.size);
		return TPA_E_MALFORMED;
	}
	if (!(grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) ||
	    !(pt = EC_POINT_new(grp)) || !(bc = BN_CTX_new()) ||
	    !(x = BN_bin2bn(p->unique.ecc.x.buffer, P256_FIELD, NULL)) ||
	    !(y = BN_bin2bn(p->unique.ecc.y.buffer, P256_FIELD, NULL)))
		goto out;
	if (!EC_POINT_set_affine_coordinates(grp, pt, x, y, bc) ||
	    EC_POINT_is_on_curve(grp, pt, bc) != 1) {
		snprintf(why, whylen, "the EK's ECC point is not on the P-256 curve");
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

/* Whether p equals template t in every byte but the key. */
static int matches_template(const TPMT_PUBLIC *p, const TPM2B_PUBLIC *t)
{
	uint8_t a[sizeof(TPMT_PUBLIC)], b[sizeof(TPMT_PUBLIC)];
	size_t alen = 0, blen = 0;
	TPMT_PUBLIC want = t->publicArea;

	want.unique = p->unique;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(p, a, sizeof(a), &alen) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&want, b, sizeof(b), &blen) != TSS2_RC_SUCCESS)
		return 0;
	return alen == blen && memcmp(a, b, alen) == 0;
}

int tpa_credential_ek_decode(const uint8_t *ek_public, size_t len, TPMT_PUBLIC *out,
                             const char **template_name, char *why, size_t whylen)
{
	const uint32_t need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
	                      TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
	TPM2B_PUBLIC low, high;
	TPMT_PUBLIC p;
	const char *name;
	int r;

	if (!ek_public || !out)
		return TPA_E_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	if ((r = tpa_public_decode(ek_public, len, &p)) != TPA_OK) {
		snprintf(why, whylen,
		         r == TPA_E_TRAILING
		                 ? "bytes after the EK's public area"
		                 : "the EK public is not a TPM2B_PUBLIC or TPMT_PUBLIC");
		return r;
	}
	if (p.type != TPM2_ALG_RSA && p.type != TPM2_ALG_ECC) {
		snprintf(why, whylen, "the EK is of type 0x%04x: an EK is an RSA or ECC key",
		         p.type);
		return TPA_E_POLICY;
	}
	/* The attributes on their own first, for a reason that says what is
	 * wrong; the whole-template comparison below decides. */
	if ((p.objectAttributes & need) != need ||
	    (p.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
		snprintf(why, whylen,
		         "the EK's attributes 0x%08x are not those of an EK "
		         "(restricted|decrypt|fixedTPM|fixedParent|sensitiveDataOrigin, not sign)",
		         p.objectAttributes);
		return TPA_E_POLICY;
	}
	tpa_ek_template(p.type, &low);
	ek_template_high(p.type, &high);
	if (matches_template(&p, &low))
		name = p.type == TPM2_ALG_RSA ? "L-1" : "L-2";
	else if (matches_template(&p, &high))
		name = p.type == TPM2_ALG_RSA ? "H-1" : "H-2";
	else {
		snprintf(why, whylen,
		         "the %s EK's public area is not a TCG default EK template's (L-%d or "
		         "H-%d: SHA-256, %s, AES-128-CFB, the default EK policy)",
		         p.type == TPM2_ALG_RSA ? "RSA" : "ECC", p.type == TPM2_ALG_RSA ? 1 : 2,
		         p.type == TPM2_ALG_RSA ? 1 : 2,
		         p.type == TPM2_ALG_RSA ? "RSA 2048, exponent 65537" : "NIST P-256");
		return TPA_E_POLICY;
	}
	if ((r = ek_key_material(&p, why, whylen)) != TPA_OK)
		return r;
	*out = p;
	if (template_name)
		*template_name = name;
	return TPA_OK;
}

int tpa_credential_ek_check(const uint8_t *ek_public, size_t ek_public_len,
                            const char **template_name, char *why, size_t whylen)
{
	TPMT_PUBLIC p;
	return tpa_credential_ek_decode(ek_public, ek_public_len, &p, template_name, why, whylen);
}

/* ---- the seed ---- */

static int seed_rsa(const TPMT_PUBLIC *ek, uint8_t *seed, size_t seedlen,
                    TPM2B_ENCRYPTED_SECRET *enc)
{
	static const char label[] = LABEL_IDENTITY; /* sizeof includes the NUL */
	const char *mdn = mac_digest_name(ek->nameAlg);
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *lab = NULL;
	size_t outlen = sizeof(enc->secret);
	int r = TPA_E_CRYPTO;

	if ((r = tpa_public_to_pkey(ek, &pk)) != TPA_OK)
		return r == TPA_E_NOMEM ? r : TPA_E_CRYPTO;
	r = TPA_E_CRYPTO;
	if (RAND_priv_bytes(seed, (int)seedlen) != 1)
		goto out;
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) ||
	    EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, mdn, NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, mdn, NULL) <= 0)
		goto out;
	if (!(lab = OPENSSL_memdup(label, sizeof(label)))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, sizeof(label)) <= 0) {
		OPENSSL_free(lab);
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, enc->secret, &outlen, seed, seedlen) <= 0 ||
	    outlen != RSA2048_BYTES)
		goto out;
	enc->size = (UINT16)outlen;
	r = TPA_OK;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

static int seed_ecc(const TPMT_PUBLIC *ek, uint8_t *seed, size_t seedlen,
                    TPM2B_ENCRYPTED_SECRET *enc)
{
	EVP_PKEY *pk = NULL, *eph = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *x = NULL, *y = NULL;
	TPMS_ECC_POINT qe;
	uint8_t z[P256_FIELD];
	size_t zlen = sizeof(z), off = 0;
	int r;

	if ((r = tpa_public_to_pkey(ek, &pk)) != TPA_OK)
		return r == TPA_E_NOMEM ? r : TPA_E_CRYPTO;
	r = TPA_E_CRYPTO;
	memset(&qe, 0, sizeof(qe));
	if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ||
	    !(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) ||
	    EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx, pk, 1) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != sizeof(z) ||
	    !EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, qe.x.buffer, P256_FIELD) != P256_FIELD ||
	    BN_bn2binpad(y, qe.y.buffer, P256_FIELD) != P256_FIELD)
		goto out;
	qe.x.size = qe.y.size = P256_FIELD;
	/* seed = KDFe(nameAlg, Z, "IDENTITY", Qe.x, Qs.x, digest bits) */
	if ((r = tpa_kdfe(ek->nameAlg, z, zlen, LABEL_IDENTITY, qe.x.buffer, qe.x.size,
	                  ek->unique.ecc.x.buffer, ek->unique.ecc.x.size, seedlen * 8, seed)) !=
	    TPA_OK)
		goto out;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&qe, enc->secret, sizeof(enc->secret), &off) !=
	    TSS2_RC_SUCCESS) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	enc->size = (UINT16)off;
	r = TPA_OK;
out:
	ERR_clear_error();
	OPENSSL_cleanse(z, sizeof(z));
	BN_free(x);
	BN_free(y);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(pk);
	return r;
}

/* ---- MakeCredential ---- */

static int name_ok(const uint8_t *name, size_t len)
{
	size_t d;
	if (!name || len < 2)
		return 0;
	d = tpa_alg_digest_size((uint16_t)(name[0] << 8 | name[1]));
	return d && len == 2 + d;
}

int tpa_credential_make_name(const uint8_t *ek_public, size_t ek_public_len, const uint8_t *name,
                             size_t name_len, const uint8_t *secret, size_t secret_len,
                             tpa_credential *out, char *why, size_t whylen)
{
	TPMT_PUBLIC ek;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_ID_OBJECT id;
	TPM2B_DIGEST cred, hm;
	uint8_t seed[TPA_MAX_DIGEST], symkey[32], hmackey[TPA_MAX_DIGEST];
	uint8_t plain[sizeof(TPM2B_DIGEST)], *encid;
	size_t dsize, plen = 0, keybits, hlen = 0, off = 0;
	tpa_credential res;
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *cctx = NULL;
	EVP_MAC *mac = NULL;
	char cname[16];
	int r, n1 = 0, n2 = 0;

	if (!ek_public || !out || (!secret && secret_len))
		return TPA_E_INVALID_ARG;
	if (!name_ok(name, name_len)) {
		snprintf(why, whylen, "the AK name is not nameAlg || digest of a known hash");
		return TPA_E_INVALID_ARG;
	}
	if ((r = tpa_credential_ek_decode(ek_public, ek_public_len, &ek, NULL, why, whylen)) !=
	    TPA_OK)
		return r;
	dsize = tpa_alg_digest_size(ek.nameAlg);
	/* Part 3, 12.6.1: the credential may not be longer than the EK's
	 * name digest */
	if (secret_len < TPA_CREDENTIAL_MIN_SECRET || secret_len > dsize) {
		snprintf(why, whylen, "a %zu-byte secret: it must be %d to %zu bytes", secret_len,
		         TPA_CREDENTIAL_MIN_SECRET, dsize);
		return TPA_E_INVALID_ARG;
	}
	keybits = ek.type == TPM2_ALG_RSA ? ek.parameters.rsaDetail.symmetric.keyBits.aes
	                                  : ek.parameters.eccDetail.symmetric.keyBits.aes;
	if (keybits != 128 && keybits != 192 && keybits != 256) {
		/* the templates checked above are AES-128 */
		snprintf(why, whylen, "AES-%zu", keybits);
		return TPA_E_UNSUPPORTED;
	}

	memset(&enc, 0, sizeof(enc));
	r = ek.type == TPM2_ALG_RSA ? seed_rsa(&ek, seed, dsize, &enc)
	                            : seed_ecc(&ek, seed, dsize, &enc);
	if (r != TPA_OK)
		goto out;
	if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	if ((r = kdfa_mac(mac, ek.nameAlg, seed, dsize, LABEL_STORAGE, name, name_len, NULL, 0,
	                  keybits, symkey)) != TPA_OK ||
	    (r = kdfa_mac(mac, ek.nameAlg, seed, dsize, LABEL_INTEGRITY, NULL, 0, NULL, 0,
	                  dsize * 8, hmackey)) != TPA_OK)
		goto out;

	/* encIdentity = CFB(symKey, 0, TPM2B_DIGEST(secret)) */
	memset(&cred, 0, sizeof(cred));
	cred.size = (UINT16)secret_len;
	memcpy(cred.buffer, secret, secret_len);
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&cred, plain, sizeof(plain), &plen) != TSS2_RC_SUCCESS) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	memset(&id, 0, sizeof(id));
	encid = id.credential + 2 + dsize; /* after the integrity TPM2B_DIGEST */
	snprintf(cname, sizeof(cname), "AES-%zu-CFB", keybits);
	r = TPA_E_CRYPTO;
	{
		static const uint8_t iv[16];
		if (!(cipher = EVP_CIPHER_fetch(NULL, cname, NULL)) ||
		    !(cctx = EVP_CIPHER_CTX_new()) ||
		    !EVP_EncryptInit_ex2(cctx, cipher, symkey, iv, NULL) ||
		    !EVP_EncryptUpdate(cctx, encid, &n1, plain, (int)plen) ||
		    !EVP_EncryptFinal_ex(cctx, encid + n1, &n2) || (size_t)(n1 + n2) != plen)
			goto out;
	}
	/* integrityHMAC = HMAC(HMACkey, encIdentity || Name) */
	memset(&hm, 0, sizeof(hm));
	if ((r = hmac3(mac, ek.nameAlg, hmackey, dsize, encid, plen, name, name_len, NULL, 0,
	               hm.buffer, sizeof(hm.buffer), &hlen)) != TPA_OK)
		goto out;
	if (hlen != dsize) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	hm.size = (UINT16)hlen;
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&hm, id.credential, 2 + dsize, &off) != TSS2_RC_SUCCESS ||
	    off != 2 + dsize) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	id.size = (UINT16)(2 + dsize + plen);

	memset(&res, 0, sizeof(res));
	off = 0;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, res.id_object, sizeof(res.id_object), &off) !=
	    TSS2_RC_SUCCESS) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	res.id_object_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&enc, res.encrypted_secret,
	                                           sizeof(res.encrypted_secret),
	                                           &off) != TSS2_RC_SUCCESS) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	res.encrypted_secret_len = off;
	*out = res;
	r = TPA_OK;
out:
	if (r == TPA_E_CRYPTO || r == TPA_E_NOMEM)
		snprintf(why, whylen, "%s while making the credential",
		         r == TPA_E_NOMEM ? "out of memory" : "the crypto library failed");
	ERR_clear_error();
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(symkey, sizeof(symkey));
	OPENSSL_cleanse(hmackey, sizeof(hmackey));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(&cred, sizeof(cred));
	OPENSSL_cleanse(&res, sizeof(res));
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	EVP_MAC_free(mac);
	return r;
}

int tpa_credential_make(const uint8_t *ek_public, size_t ek_public_len, const struct tpa_ak *ak,
                        const uint8_t *secret, size_t secret_len, tpa_credential *out, char *why,
                        size_t whylen)
{
	const uint8_t *name;
	size_t name_len;

	if (!ak)
		return TPA_E_INVALID_ARG;
	if (tpa_ak_name(ak, &name, &name_len) != TPA_OK) {
		snprintf(why, whylen,
		         "the AK came without its TPM public area, so its Name is unknown");
		return TPA_E_INVALID_ARG;
	}
	return tpa_credential_make_name(ek_public, ek_public_len, name, name_len, secret,
	                                secret_len, out, why, whylen);
}

int tpa_credential_random(uint8_t *secret, size_t len)
{
	if (!secret || !len || len > TPA_CREDENTIAL_MAX_SECRET)
		return TPA_E_INVALID_ARG;
	return RAND_priv_bytes(secret, (int)len) == 1 ? TPA_OK : TPA_E_CRYPTO;
}

int tpa_credential_check(const uint8_t *expected, size_t expected_len, const uint8_t *got,
                         size_t got_len)
{
	/* The length is not secret (the verifier chose it); the bytes are
	 * compared whole, in constant time. */
	if (!expected || !got || !expected_len || expected_len != got_len)
		return TPA_E_MISMATCH;
	return CRYPTO_memcmp(expected, got, expected_len) == 0 ? TPA_OK : TPA_E_MISMATCH;
}
