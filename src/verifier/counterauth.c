/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Verifier-authorized counter increments: the verifier's key, the counter's
 * authPolicy, the approved policy of one authorization and its signatures
 * (<tpmattest/counterauth.h>).  Policy digests follow TPM 2.0 Part 3, 23:
 * PolicyUpdate for PolicySigned and PolicyAuthorize (H(H(old || cc ||
 * name) || policyRef)), PolicyCommandCode (H(old || cc || code)) and
 * PolicyNV (H(old || cc || H(operandB || offset || operation) || name)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include <json-c/json.h>

#include <tpmattest/counterauth.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"

struct tpa_counter_key {
	EVP_PKEY *pkey;
};

/* What the key's public area must be, exactly. */
#define KEY_ATTRS (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH)
#define PEM_MAX (16u * 1024)

static void setwhy(char *why, size_t whylen, const char *s)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", s);
}

static int is_p256(EVP_PKEY *k)
{
	char group[64] = "";
	size_t n = 0;
	if (!EVP_PKEY_is_a(k, "EC"))
		return 0;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                    &n))
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int tpa_counter_key_generate(tpa_counter_key **out)
{
	tpa_counter_key *k;
	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(k = calloc(1, sizeof(*k))))
		return TPA_E_NOMEM;
	if (!(k->pkey = EVP_EC_gen("P-256"))) {
		free(k);
		return TPA_E_CRYPTO;
	}
	*out = k;
	return TPA_OK;
}

int tpa_counter_key_from_pem(const char *pem, size_t len, tpa_counter_key **out, char *why,
                             size_t whylen)
{
	BIO *b;
	EVP_PKEY *p;
	tpa_counter_key *k;

	if (!pem || !out)
		return TPA_E_INVALID_ARG;
	if (len > PEM_MAX) {
		setwhy(why, whylen, "the counter key's PEM is larger than 16 KiB");
		return TPA_E_LIMIT;
	}
	if (!(b = BIO_new_mem_buf(pem, (int)len)))
		return TPA_E_NOMEM;
	p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!p) {
		setwhy(why, whylen, "not a PEM private key");
		return TPA_E_MALFORMED;
	}
	if (!is_p256(p)) {
		EVP_PKEY_free(p);
		setwhy(why, whylen, "the counter key is not an ECC NIST P-256 key");
		return TPA_E_UNSUPPORTED;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		EVP_PKEY_free(p);
		return TPA_E_NOMEM;
	}
	k->pkey = p;
	*out = k;
	return TPA_OK;
}

int tpa_counter_key_to_pem(const tpa_counter_key *k, char **out)
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
	BIO_free(b);
	*out = s;
	return TPA_OK;
}

void tpa_counter_key_free(tpa_counter_key **k)
{
	if (!k || !*k)
		return;
	EVP_PKEY_free((*k)->pkey);
	free(*k);
	*k = NULL;
}

/* Name = nameAlg (SHA-256) || SHA-256(TPMT_PUBLIC). */
static int public_name(const TPMT_PUBLIC *p, uint8_t name[TPA_COUNTER_NAME_LEN])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return TPA_E_CRYPTO;
	name[0] = 0x00;
	name[1] = 0x0b;
	return tpa_hash(TPM2_ALG_SHA256, buf, off, name + 2);
}

static void key_template(TPM2B_PUBLIC *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->publicArea.type = TPM2_ALG_ECC;
	pub->publicArea.nameAlg = TPM2_ALG_SHA256;
	pub->publicArea.objectAttributes = KEY_ATTRS;
	pub->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	pub->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

int tpa_counter_key_public(const tpa_counter_key *k, uint8_t *pubout, size_t cap, size_t *len,
                           uint8_t name[TPA_COUNTER_NAME_LEN])
{
	TPM2B_PUBLIC pub;
	BIGNUM *x = NULL, *y = NULL;
	size_t off = 0;
	int r = TPA_E_CRYPTO;

	if (!k || !pubout || !len || !name)
		return TPA_E_INVALID_ARG;
	key_template(&pub);
	if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, pub.publicArea.unique.ecc.x.buffer, 32) != 32 ||
	    BN_bn2binpad(y, pub.publicArea.unique.ecc.y.buffer, 32) != 32)
		goto out;
	pub.publicArea.unique.ecc.x.size = 32;
	pub.publicArea.unique.ecc.y.size = 32;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, pubout, cap, &off) != TSS2_RC_SUCCESS) {
		r = TPA_E_LIMIT;
		goto out;
	}
	if ((r = public_name(&pub.publicArea, name)) != TPA_OK)
		goto out;
	*len = off;
	r = TPA_OK;
out:
	BN_free(x);
	BN_free(y);
	return r;
}

int tpa_counter_key_public_check(const uint8_t *pub, size_t len, uint8_t name[TPA_COUNTER_NAME_LEN],
                                 char *why, size_t whylen)
{
	TPM2B_PUBLIC p, want;
	size_t off = 0;

	if (!pub || !name)
		return TPA_E_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p) != TSS2_RC_SUCCESS || off != len) {
		setwhy(why, whylen, "the counter key is not one TPM2B_PUBLIC");
		return TPA_E_MALFORMED;
	}
	key_template(&want);
	if (p.publicArea.type != TPM2_ALG_ECC || p.publicArea.nameAlg != TPM2_ALG_SHA256 ||
	    p.publicArea.objectAttributes != KEY_ATTRS || p.publicArea.authPolicy.size != 0 ||
	    memcmp(&p.publicArea.parameters.eccDetail, &want.publicArea.parameters.eccDetail,
	           sizeof(want.publicArea.parameters.eccDetail)) != 0 ||
	    p.publicArea.unique.ecc.x.size != 32 || p.publicArea.unique.ecc.y.size != 32) {
		setwhy(why, whylen,
		       "the counter key is not an ECC NIST P-256 ECDSA-SHA256 signing key with "
		       "nameAlg SHA-256, sign|userWithAuth and no policy");
		return TPA_E_UNSUPPORTED;
	}
	return public_name(&p.publicArea, name);
}

/* ---- policy digests ---- */

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* d = H(d || cc || a) */
static int extend(uint8_t d[32], uint32_t cc, const uint8_t *a, size_t alen)
{
	uint8_t buf[32 + 4 + 128];
	if (alen > 128)
		return TPA_E_INVALID_ARG;
	memcpy(buf, d, 32);
	be32(buf + 32, cc);
	if (alen)
		memcpy(buf + 36, a, alen);
	return tpa_hash(TPM2_ALG_SHA256, buf, 36 + alen, d);
}

/* PolicyUpdate: H(H(d || cc || name) || policyRef) */
static int update(uint8_t d[32], uint32_t cc, const uint8_t *name, size_t len, const uint8_t *ref,
                  size_t reflen)
{
	uint8_t buf[32 + TPA_COUNTER_MACHINE_LEN];
	int r = extend(d, cc, name, len);
	if (r != TPA_OK)
		return r;
	if (reflen > TPA_COUNTER_MACHINE_LEN)
		return TPA_E_INVALID_ARG;
	memcpy(buf, d, 32);
	if (reflen)
		memcpy(buf + 32, ref, reflen);
	return tpa_hash(TPM2_ALG_SHA256, buf, 32 + reflen, d);
}

int tpa_counter_policy(const uint8_t key_name[TPA_COUNTER_NAME_LEN],
                       const uint8_t machine_id[TPA_COUNTER_MACHINE_LEN], uint8_t policy[32])
{
	if (!key_name || !machine_id || !policy)
		return TPA_E_INVALID_ARG;
	memset(policy, 0, 32);
	return update(policy, TPM2_CC_PolicyAuthorize, key_name, TPA_COUNTER_NAME_LEN, machine_id,
	              TPA_COUNTER_MACHINE_LEN);
}

int tpa_counter_machine_id(const uint8_t *ek_public, size_t len,
                           uint8_t machine_id[TPA_COUNTER_MACHINE_LEN])
{
	if (!ek_public || !len || !machine_id)
		return TPA_E_INVALID_ARG;
	return tpa_hash(TPM2_ALG_SHA256, ek_public, len, machine_id);
}

static int policy_nv(uint8_t d[32], uint64_t operand, uint16_t op, const uint8_t *name,
                     size_t namelen)
{
	uint8_t args[12], a[32 + 2 + TPM2_MAX_DIGEST_BUFFER];
	int r;
	for (int i = 0; i < 8; i++)
		args[i] = (uint8_t)(operand >> (56 - 8 * i));
	args[8] = 0; /* offset 0 */
	args[9] = 0;
	args[10] = (uint8_t)(op >> 8);
	args[11] = (uint8_t)op;
	if (namelen > sizeof(a) - 32)
		return TPA_E_INVALID_ARG;
	if ((r = tpa_hash(TPM2_ALG_SHA256, args, sizeof(args), a)) != TPA_OK)
		return r;
	memcpy(a + 32, name, namelen);
	return extend(d, TPM2_CC_PolicyNV, a, 32 + namelen);
}

int tpa_counter_approved_policy(const tpa_counter_auth *au, const uint8_t *counter_name,
                                size_t counter_name_len, uint8_t digest[32])
{
	uint8_t key_name[TPA_COUNTER_NAME_LEN], cc[4];
	int r;

	if (!au || !digest || (!au->first && (!counter_name || counter_name_len < 2)))
		return TPA_E_INVALID_ARG;
	if ((r = tpa_counter_key_public_check(au->key_public, au->key_public_len, key_name, NULL,
	                                      0)) != TPA_OK)
		return r;
	memset(digest, 0, 32);
	be32(cc, TPM2_CC_NV_Increment);
	if ((r = update(digest, TPM2_CC_PolicySigned, key_name, sizeof(key_name), NULL, 0)) !=
	            TPA_OK ||
	    (r = extend(digest, TPM2_CC_PolicyCommandCode, cc, sizeof(cc))) != TPA_OK)
		return r;
	if (au->first) {
		/* PolicyNvWritten(NO): H(d || cc || writtenSet) */
		const uint8_t no = 0;
		return extend(digest, TPM2_CC_PolicyNvWritten, &no, 1);
	}
	if ((r = policy_nv(digest, au->low, TPM2_EO_UNSIGNED_GE, counter_name, counter_name_len)) !=
	    TPA_OK)
		return r;
	return policy_nv(digest, au->high, TPM2_EO_UNSIGNED_LE, counter_name, counter_name_len);
}

/* ---- signatures ---- */

/* ECDSA over a SHA-256 digest, as a marshalled TPMT_SIGNATURE. */
static int sign_digest(EVP_PKEY *k, const uint8_t dig[32], uint8_t *out, size_t cap, size_t *len)
{
	EVP_PKEY_CTX *c = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	const unsigned char *p;
	unsigned char der[80];
	size_t derlen = sizeof(der), off = 0;
	TPMT_SIGNATURE sig;
	int ret = TPA_E_CRYPTO;

	if (!(c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) || EVP_PKEY_sign_init(c) <= 0 ||
	    EVP_PKEY_sign(c, der, &derlen, dig, 32) <= 0)
		goto out;
	p = der;
	if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)))
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	memset(&sig, 0, sizeof(sig));
	sig.sigAlg = TPM2_ALG_ECDSA;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	if (BN_bn2binpad(r, sig.signature.ecdsa.signatureR.buffer, 32) != 32 ||
	    BN_bn2binpad(s, sig.signature.ecdsa.signatureS.buffer, 32) != 32)
		goto out;
	sig.signature.ecdsa.signatureR.size = 32;
	sig.signature.ecdsa.signatureS.size = 32;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, cap, &off) != TSS2_RC_SUCCESS)
		goto out;
	*len = off;
	ret = TPA_OK;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(c);
	return ret;
}

int tpa_counter_authorize(const tpa_counter_key *k,
                          const uint8_t machine_id[TPA_COUNTER_MACHINE_LEN],
                          const uint8_t *counter_name, size_t counter_name_len,
                          const uint8_t *nonce_tpm, size_t nonce_tpm_len, int first, uint64_t low,
                          uint64_t high, tpa_counter_auth *out)
{
	tpa_counter_auth a;
	uint8_t name[TPA_COUNTER_NAME_LEN], ahash_in[TPA_COUNTER_NONCE_MAX + 4], dig[32];
	uint8_t ref_in[32 + TPA_COUNTER_MACHINE_LEN];
	int r;

	if (!k || !out || !machine_id || !nonce_tpm || nonce_tpm_len < TPA_COUNTER_NONCE_MIN ||
	    nonce_tpm_len > TPA_COUNTER_NONCE_MAX || (!first && low > high) ||
	    (!first && (!counter_name || counter_name_len < 2)))
		return TPA_E_INVALID_ARG;
	memset(&a, 0, sizeof(a));
	if ((r = tpa_counter_key_public(k, a.key_public, sizeof(a.key_public), &a.key_public_len,
	                                name)) != TPA_OK)
		return r;
	memcpy(a.machine_id, machine_id, TPA_COUNTER_MACHINE_LEN);
	memcpy(a.nonce_tpm, nonce_tpm, nonce_tpm_len);
	a.nonce_tpm_len = nonce_tpm_len;
	a.first = !!first;
	a.low = first ? 0 : low;
	a.high = first ? 0 : high;
	/* PolicySigned: aHash = H(nonceTPM || expiration (INT32, 0)), no
	 * cpHashA, no policyRef */
	memcpy(ahash_in, nonce_tpm, nonce_tpm_len);
	memset(ahash_in + nonce_tpm_len, 0, 4);
	if ((r = tpa_hash(TPM2_ALG_SHA256, ahash_in, nonce_tpm_len + 4, dig)) != TPA_OK ||
	    (r = sign_digest(k->pkey, dig, a.session_sig, sizeof(a.session_sig),
	                     &a.session_sig_len)) != TPA_OK)
		return r;
	/* PolicyAuthorize: aHash = H(approvedPolicy || policyRef), policyRef
	 * the machine id, so an approval for one machine is no use on another */
	if ((r = tpa_counter_approved_policy(&a, counter_name, counter_name_len, ref_in)) != TPA_OK)
		return r;
	memcpy(ref_in + 32, machine_id, TPA_COUNTER_MACHINE_LEN);
	if ((r = tpa_hash(TPM2_ALG_SHA256, ref_in, sizeof(ref_in), dig)) != TPA_OK ||
	    (r = sign_digest(k->pkey, dig, a.policy_sig, sizeof(a.policy_sig),
	                     &a.policy_sig_len)) != TPA_OK)
		return r;
	*out = a;
	return TPA_OK;
}

/* ---- JSON ---- */

static int add_b64(struct json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = tpa_b64_encode(p, n);
	if (!s)
		return TPA_E_NOMEM;
	json_object_object_add(o, key, json_object_new_string(s));
	free(s);
	return TPA_OK;
}

int tpa_counter_auth_to_json(const tpa_counter_auth *a, char **out)
{
	struct json_object *o;
	char hex[2 * TPA_COUNTER_NONCE_MAX + 1];
	const char *s;
	int r;

	if (!a || !out || a->nonce_tpm_len > TPA_COUNTER_NONCE_MAX)
		return TPA_E_INVALID_ARG;
	if (!(o = json_object_new_object()))
		return TPA_E_NOMEM;
	tpa_hex_encode(a->nonce_tpm, a->nonce_tpm_len, hex);
	if ((r = add_b64(o, "key", a->key_public, a->key_public_len)) != TPA_OK)
		goto out;
	{
		char mh[2 * TPA_COUNTER_MACHINE_LEN + 1];
		tpa_hex_encode(a->machine_id, TPA_COUNTER_MACHINE_LEN, mh);
		json_object_object_add(o, "machine_id", json_object_new_string(mh));
	}
	json_object_object_add(o, "nonce_tpm", json_object_new_string(hex));
	json_object_object_add(o, "first", json_object_new_boolean(a->first));
	if (!a->first) {
		json_object_object_add(o, "low", json_object_new_uint64(a->low));
		json_object_object_add(o, "high", json_object_new_uint64(a->high));
	}
	if ((r = add_b64(o, "session_signature", a->session_sig, a->session_sig_len)) != TPA_OK ||
	    (r = add_b64(o, "policy_signature", a->policy_sig, a->policy_sig_len)) != TPA_OK)
		goto out;
	s = json_object_to_json_string_ext(o,
	                                   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || !(*out = strdup(s)))
		r = TPA_E_NOMEM;
out:
	json_object_put(o);
	return r;
}

#define BAD(...)                                                                      \
	do {                                                                          \
		if (why && whylen)                                                    \
			snprintf(why, whylen, "counter authorization: " __VA_ARGS__); \
		return TPA_E_MALFORMED;                                               \
	} while (0)

static int get_str(struct json_object *o, const char *key, const char **s, size_t *n, char *why,
                   size_t whylen)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		BAD("no member \"%s\"", key);
	if (!json_object_is_type(v, json_type_string))
		BAD("\"%s\" is not a string", key);
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return TPA_OK;
}

static int get_b64(struct json_object *o, const char *key, uint8_t *dst, size_t cap, size_t *len,
                   char *why, size_t whylen)
{
	const char *s;
	size_t n, got;
	uint8_t *buf = NULL;
	int r;
	if ((r = get_str(o, key, &s, &n, why, whylen)) != TPA_OK)
		return r;
	if (tpa_b64_decode(s, n, cap, &buf, &got) != TPA_OK || got == 0) {
		free(buf);
		BAD("\"%s\" is not base64 of at most %zu bytes", key, cap);
	}
	memcpy(dst, buf, got);
	*len = got;
	free(buf);
	return TPA_OK;
}

static int get_u64(struct json_object *o, const char *key, uint64_t *v, char *why, size_t whylen)
{
	struct json_object *x;
	if (!json_object_object_get_ex(o, key, &x))
		BAD("no member \"%s\"", key);
	if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0 ||
	    json_object_get_uint64(x) == UINT64_MAX)
		BAD("\"%s\" is not an integer in 0..2^64-2", key);
	*v = json_object_get_uint64(x);
	return TPA_OK;
}

static int auth_read(struct json_object *o, tpa_counter_auth *a, char *why, size_t whylen)
{
	static const char *const known[] = {
	        "key",  "machine_id",        "nonce_tpm",        "first", "low",
	        "high", "session_signature", "policy_signature", NULL};
	struct json_object *v;
	uint8_t name[TPA_COUNTER_NAME_LEN];
	const char *s;
	size_t n;
	int r;

	if (!json_object_is_type(o, json_type_object))
		BAD("not an object");
	json_object_object_foreach (o, key, val) {
		size_t i;
		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i])
			BAD("unknown member \"%s\"", key);
	}
	if ((r = get_b64(o, "key", a->key_public, sizeof(a->key_public), &a->key_public_len, why,
	                 whylen)) != TPA_OK)
		return r;
	if (tpa_counter_key_public_check(a->key_public, a->key_public_len, name, NULL, 0) != TPA_OK)
		BAD("\"key\" is not a P-256 verifier key's TPM2B_PUBLIC");
	if ((r = get_str(o, "machine_id", &s, &n, why, whylen)) != TPA_OK)
		return r;
	if (n != 2 * TPA_COUNTER_MACHINE_LEN ||
	    tpa_json_hex_decode(s, n, a->machine_id, TPA_COUNTER_MACHINE_LEN) != TPA_OK)
		BAD("\"machine_id\" is not 32 bytes in lowercase hex");
	if ((r = get_str(o, "nonce_tpm", &s, &n, why, whylen)) != TPA_OK)
		return r;
	if (n % 2 || n / 2 < TPA_COUNTER_NONCE_MIN || n / 2 > TPA_COUNTER_NONCE_MAX ||
	    tpa_json_hex_decode(s, n, a->nonce_tpm, n / 2) != TPA_OK)
		BAD("\"nonce_tpm\" is not %d..%d bytes in lowercase hex", TPA_COUNTER_NONCE_MIN,
		    TPA_COUNTER_NONCE_MAX);
	a->nonce_tpm_len = n / 2;
	if (!json_object_object_get_ex(o, "first", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		BAD("\"first\" is missing or not true or false");
	a->first = json_object_get_boolean(v);
	if (a->first) {
		if (json_object_object_get_ex(o, "low", NULL) ||
		    json_object_object_get_ex(o, "high", NULL))
			BAD("a first increment's authorization has no \"low\" or \"high\"");
	} else {
		if ((r = get_u64(o, "low", &a->low, why, whylen)) != TPA_OK ||
		    (r = get_u64(o, "high", &a->high, why, whylen)) != TPA_OK)
			return r;
		if (a->low > a->high)
			BAD("\"low\" is above \"high\"");
	}
	if ((r = get_b64(o, "session_signature", a->session_sig, sizeof(a->session_sig),
	                 &a->session_sig_len, why, whylen)) != TPA_OK ||
	    (r = get_b64(o, "policy_signature", a->policy_sig, sizeof(a->policy_sig),
	                 &a->policy_sig_len, why, whylen)) != TPA_OK)
		return r;
	return TPA_OK;
}

int tpa_counter_auth_from_json(const char *json, size_t len, tpa_counter_auth *out, char *why,
                               size_t whylen)
{
	struct json_object *o = NULL;
	tpa_counter_auth a;
	int r;

	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if ((r = tpa_json_parse_max(json, len, 8192, 64, &o, why, whylen)) != TPA_OK)
		return r;
	memset(&a, 0, sizeof(a));
	r = auth_read(o, &a, why, whylen);
	json_object_put(o);
	if (r == TPA_OK)
		*out = a;
	return r;
}
