/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/verify.h>

#include "ek.h"

/* TPM2_PolicySecret(TPM_RH_ENDORSEMENT) digest, the authPolicy of the TCG
 * default EK templates (EK Credential Profile 2.0, B.3.3). */
static const uint8_t ek_policy[32] = {
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC,
        0x8D, 0x46, 0xA5, 0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52,
        0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
};

#define EK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

void tpa_ek_template(uint16_t alg, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = alg;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = EK_ATTRS;
	p->publicArea.authPolicy.size = sizeof(ek_policy);
	memcpy(p->publicArea.authPolicy.buffer, ek_policy, sizeof(ek_policy));
	if (alg == TPM2_ALG_RSA) {
		TPMS_RSA_PARMS *r = &p->publicArea.parameters.rsaDetail;
		r->symmetric.algorithm = TPM2_ALG_AES;
		r->symmetric.keyBits.aes = 128;
		r->symmetric.mode.aes = TPM2_ALG_CFB;
		r->scheme.scheme = TPM2_ALG_NULL;
		r->keyBits = 2048;
		r->exponent = 0;
		p->publicArea.unique.rsa.size = 256;
	} else {
		TPMS_ECC_PARMS *e = &p->publicArea.parameters.eccDetail;
		e->symmetric.algorithm = TPM2_ALG_AES;
		e->symmetric.keyBits.aes = 128;
		e->symmetric.mode.aes = TPM2_ALG_CFB;
		e->scheme.scheme = TPM2_ALG_NULL;
		e->curveID = TPM2_ECC_NIST_P256;
		e->kdf.scheme = TPM2_ALG_NULL;
		p->publicArea.unique.ecc.x.size = 32;
		p->publicArea.unique.ecc.y.size = 32;
	}
}

int tpa_ek_public_from_cert(const uint8_t *der, size_t len, uint8_t **out, size_t *outlen)
{
	const unsigned char *q = der;
	X509 *x = NULL;
	EVP_PKEY *k;
	TPM2B_PUBLIC p;
	uint8_t *buf = NULL;
	size_t off = 0;
	int r = TPA_E_MALFORMED;

	if (!der || !out || !outlen)
		return TPA_E_INVALID_ARG;
	if (!(x = d2i_X509(NULL, &q, (long)len)) || q != der + len || !(k = X509_get0_pubkey(x)))
		goto done;
	if (EVP_PKEY_is_a(k, "EC")) {
		uint8_t pt[65];
		size_t ptlen = 0;
		char group[32];
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), NULL) ||
		    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) ||
		    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
		                                     &ptlen) ||
		    ptlen != 65 || pt[0] != 0x04) {
			r = TPA_E_UNSUPPORTED;
			goto done;
		}
		tpa_ek_template(TPM2_ALG_ECC, &p);
		memcpy(p.publicArea.unique.ecc.x.buffer, pt + 1, 32);
		memcpy(p.publicArea.unique.ecc.y.buffer, pt + 33, 32);
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;
		int ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) &&
		         EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) &&
		         BN_num_bytes(n) == 256 && BN_is_word(e, 65537);
		if (ok) {
			tpa_ek_template(TPM2_ALG_RSA, &p);
			BN_bn2binpad(n, p.publicArea.unique.rsa.buffer, 256);
		}
		BN_free(n);
		BN_free(e);
		if (!ok) {
			r = TPA_E_UNSUPPORTED;
			goto done;
		}
	} else {
		r = TPA_E_UNSUPPORTED;
		goto done;
	}
	if (!(buf = malloc(sizeof(TPM2B_PUBLIC)))) {
		r = TPA_E_NOMEM;
		goto done;
	}
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof(TPM2B_PUBLIC), &off) != TSS2_RC_SUCCESS) {
		free(buf);
		goto done;
	}
	*out = buf;
	*outlen = off;
	r = TPA_OK;
done:
	X509_free(x);
	return r;
}
