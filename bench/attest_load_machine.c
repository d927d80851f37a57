/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The emulated TPMs of attest-load-gen: keys derived from the fleet's seed
 * and the machine's index, public areas byte for byte as a TPM and
 * `tpmattest init` make them, an EK certificate from the bench CA, software
 * TPM2_ActivateCredential, and quotes and NV certifications as TPM2_Quote
 * and TPM2_NV_Certify return them, signed with the AK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/enroll.h>
#include <tpmattest/eventlog.h>
#include <tpmattest/evidence.h>

#include "attest_load.h"
#include "base/hash.h"
#include "enroll/makecred_internal.h"
#include "verifier/attest.h"
#include "verifier/ek.h"

/* src/tpm/tpm.c: the AK tpmattest init creates, and its counter. */
#define AK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define NV_ATTRS                                                                             \
	((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
	 TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
/* 2026-01-01T00:00:00Z */
#define EPOCH_2026 1767225600u
/* what a TPM reports as TPM_PT_FIRMWARE_VERSION_1/2 */
#define FIRMWARE_VERSION 0x2019102300163636ull
/* The appended event's signature (PFP 1.05, 10.4.5: EV_NO_ACTION data starts
 * with 16 bytes naming its kind). */
static const char suffix_sig[16] = "tpmattest-load";

uint64_t al_now_ms_since_2026(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((uint64_t)ts.tv_sec < EPOCH_2026)
		return 1;
	return ((uint64_t)ts.tv_sec - EPOCH_2026) * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A P-256 key pair whose scalar is H(seed || label || index || ctr), the first
 * in [1, n-1]: the same machine at every run. */
static int derive_key(const uint8_t seed[static 32], const char *label, uint32_t index,
                      EVP_PKEY **out, uint8_t x[static 32], uint8_t y[static 32])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *d = NULL;
	EC_POINT *pt = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t h[32], oct[65];
	int r = TPA_E_CRYPTO;

	if (!g || !(d = BN_new()) || !(pt = EC_POINT_new(g)))
		goto out;
	for (uint32_t ctr = 0;; ctr++) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		uint8_t be[8] = {(uint8_t)(index >> 24), (uint8_t)(index >> 16),
		                 (uint8_t)(index >> 8),  (uint8_t)index,
		                 (uint8_t)(ctr >> 24),   (uint8_t)(ctr >> 16),
		                 (uint8_t)(ctr >> 8),    (uint8_t)ctr};
		int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
		         EVP_DigestUpdate(c, seed, 32) &&
		         EVP_DigestUpdate(c, label, strlen(label) + 1) &&
		         EVP_DigestUpdate(c, be, sizeof(be)) && EVP_DigestFinal_ex(c, h, NULL);
		EVP_MD_CTX_free(c);
		if (!ok || !BN_bin2bn(h, 32, d))
			goto out;
		if (!BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0)
			break;
	}
	if (!EC_POINT_mul(g, pt, d, NULL, NULL, NULL) ||
	    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof(oct), NULL) != 65)
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof(oct)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
		goto out;
	memcpy(x, oct + 1, 32);
	memcpy(y, oct + 33, 32);
	*out = pk;
	pk = NULL;
	r = TPA_OK;
out:
	OPENSSL_cleanse(h, sizeof(h));
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pt);
	BN_clear_free(d);
	EC_GROUP_free(g);
	ERR_clear_error();
	return r;
}

int al_ca_key(const uint8_t seed[static 32], EVP_PKEY **out)
{
	uint8_t x[32], y[32];
	return derive_key(seed, "bench-ca", 0, out, x, y);
}

static int add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;
	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	if (!(e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)))
		return 0;
	ok = X509_add_ext(subject, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static int set_validity(X509 *x, long years)
{
	time_t now = time(NULL);
	return ASN1_TIME_set(X509_getm_notBefore(x), now - 86400) &&
	       ASN1_TIME_adj(X509_getm_notAfter(x), now, (int)(years * 366), 0);
}

int al_ca_cert(EVP_PKEY *key, X509 **out)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	int ok = x && n && X509_set_version(x, X509_VERSION_3) &&
	         ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	         X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	                                    (const unsigned char *)"tpmattest bench", -1, -1, 0) &&
	         X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                                    (const unsigned char *)"attest-load bench EK root CA",
	                                    -1, -1, 0) &&
	         X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) && set_validity(x, 20) &&
	         X509_set_pubkey(x, key) &&
	         add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
	         add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
	         add_ext(x, x, NID_subject_key_identifier, "hash") &&
	         X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		ERR_clear_error();
		return TPA_E_CRYPTO;
	}
	*out = x;
	return TPA_OK;
}

/* The EK certificate: the TCG subjectAltName directoryName (EK Credential
 * Profile 2.0, 3.2.9) with the TPM attributes, keyUsage keyAgreement (an ECC
 * EK; docs/enrollment.md "Verifying the chain"). */
static int ek_cert(EVP_PKEY *ca_key, X509 *ca, EVP_PKEY *ek, uint32_t index, uint8_t **der,
                   size_t *der_len)
{
	static const char *const oid[3] = {"2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"};
	static const char *const val[3] = {"id:00001014", "attest-load", "id:20191023"};
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new(), *dir = X509_NAME_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	char cn[64];
	unsigned char *p = NULL;
	int ok, n;

	snprintf(cn, sizeof(cn), "attest-load EK m%u", index);
	ok = x && subj && dir && gens && gn && X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), 0x1000000ull + index) &&
	     X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                                0) &&
	     X509_set_subject_name(x, subj) && X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
	     set_validity(x, 10) && X509_set_pubkey(x, ek);
	for (int i = 0; ok && i < 3; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oid[i], 1);
		ok = o && X509_NAME_add_entry_by_OBJ(dir, o, MBSTRING_UTF8,
		                                     (const unsigned char *)val[i], -1, -1, 0);
		ASN1_OBJECT_free(o);
	}
	if (ok) {
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dir);
		dir = NULL;
		ok = sk_GENERAL_NAME_push(gens, gn) > 0;
		if (ok)
			gn = NULL;
	}
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 &&
	     add_ext(ca, x, NID_basic_constraints, "critical,CA:FALSE") &&
	     add_ext(ca, x, NID_key_usage, "critical,keyAgreement") &&
	     add_ext(ca, x, NID_authority_key_identifier, "keyid:always") &&
	     X509_sign(x, ca_key, EVP_sha256()) > 0 && (n = i2d_X509(x, &p)) > 0;
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(dir);
	X509_NAME_free(subj);
	X509_free(x);
	if (!ok) {
		OPENSSL_free(p);
		ERR_clear_error();
		return TPA_E_CRYPTO;
	}
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(p);
		return TPA_E_NOMEM;
	}
	memcpy(*der, p, (size_t)n);
	*der_len = (size_t)n;
	OPENSSL_free(p);
	return TPA_OK;
}

int al_fleet_init(al_fleet *f, const uint8_t *log, size_t log_len, int unique)
{
	tpa_eventlog *el = NULL;
	tpa_parse_error perr;
	tpa_pcrs *rep = NULL;
	EVP_MD_CTX *dc = NULL;
	int r;

	f->log = log;
	f->log_len = log_len;
	f->unique = unique;
	f->epoch_ms = al_now_ms_since_2026();
	memset(&perr, 0, sizeof(perr));
	if ((r = tpa_eventlog_parse(log, log_len, &el, &perr)) != TPA_OK) {
		fprintf(stderr, "attest-load-gen: the event log does not parse: %s\n", perr.reason);
		return r;
	}
	f->agile = tpa_eventlog_get_format(el) == TPA_EVENTLOG_CRYPTO_AGILE;
	f->nalgs = tpa_eventlog_alg_count(el);
	if (f->nalgs > 16) {
		tpa_eventlog_free(&el);
		return TPA_E_LIMIT;
	}
	for (size_t a = 0; a < f->nalgs; a++) {
		f->algs[a] = tpa_eventlog_alg(el, a);
		f->alg_size[a] = tpa_eventlog_alg_size(el, a);
	}
	if ((r = tpa_eventlog_replay(el, &rep)) != TPA_OK) {
		fprintf(stderr, "attest-load-gen: the event log does not replay: %s\n",
		        tpa_strerror(r));
		tpa_eventlog_free(&el);
		return r;
	}
	/* The emulated TPM has the banks the log was made in (its Spec ID event
	 * lists them) and quotes PCRs 0-9 of each, as `tpmattest quote` does
	 * by default on every allocated bank; a PCR no event touched is at its
	 * reset value (zero for PCRs 0-9). */
	memset(&f->sel, 0, sizeof(f->sel));
	f->nbanks = 0;
	for (size_t a = 0; a < f->nalgs && f->nbanks < TPA_MAX_BANKS; a++) {
		uint16_t alg = f->algs[a];
		size_t ds = tpa_alg_digest_size(alg);
		if (!ds || !tpa_alg_supported(alg))
			continue;
		for (unsigned k = 0; k < 10; k++) {
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_is_incomplete(rep, alg, k)) {
				fprintf(stderr,
				        "attest-load-gen: PCR %u of %s cannot be replayed from the "
				        "log (events without a digest in that bank)\n",
				        k, tpa_alg_name(alg));
				r = TPA_E_REPLAY;
				goto out;
			}
			if (tpa_pcrs_get(rep, alg, k, &v, &vl) == TPA_OK && vl == ds)
				memcpy(f->pcr_val[f->nbanks][k], v, ds);
			else
				memset(f->pcr_val[f->nbanks][k], 0, ds);
		}
		TPMS_PCR_SELECTION *s = &f->sel.pcrSelections[f->sel.count++];
		s->hash = alg;
		s->sizeofSelect = 3;
		s->pcrSelect[0] = 0xff;
		s->pcrSelect[1] = 0x03;
		f->nbanks++;
	}
	if (!f->nbanks) {
		fprintf(stderr, "attest-load-gen: the log has no bank this build can compute\n");
		r = TPA_E_UNSUPPORTED;
		goto out;
	}
	/* pcrDigest with the AK's scheme hash, SHA-256 (Part 3, 18.4) */
	r = TPA_E_CRYPTO;
	if (!(dc = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(dc, EVP_sha256(), NULL))
		goto out;
	for (size_t b = 0; b < f->nbanks; b++)
		for (unsigned k = 0; k < 10; k++)
			if (!EVP_DigestUpdate(dc, f->pcr_val[b][k],
			                      tpa_alg_digest_size(f->sel.pcrSelections[b].hash)))
				goto out;
	if (!EVP_DigestFinal_ex(dc, f->pcr_digest, NULL))
		goto out;
	if (!(f->log_prefix = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(f->log_prefix, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(f->log_prefix, log, log_len))
		goto out;
	r = TPA_OK;
out:
	EVP_MD_CTX_free(dc);
	tpa_pcrs_free(&rep);
	tpa_eventlog_free(&el);
	return r;
}

void al_fleet_clear(al_fleet *f)
{
	EVP_PKEY_free(f->ca_key);
	X509_free(f->ca_cert);
	EVP_MD_CTX_free(f->log_prefix);
	f->ca_key = NULL;
	f->ca_cert = NULL;
	f->log_prefix = NULL;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One EV_NO_ACTION record in PCR 0 with zero digests: it extends nothing
 * (PFP 1.05, 10.4.5), so the replay, the log rules and a policy learnt from
 * another machine are unaffected, while the log's bytes and SHA-256 are the
 * machine's own. */
size_t al_machine_log_suffix(const al_fleet *f, const al_machine *m, uint8_t *out)
{
	size_t o = 0;
	if (!f->unique)
		return 0;
	put_le32(out + o, 0);
	put_le32(out + o + 4, TPA_EV_NO_ACTION);
	o += 8;
	if (f->agile) {
		put_le32(out + o, (uint32_t)f->nalgs);
		o += 4;
		for (size_t a = 0; a < f->nalgs; a++) {
			out[o] = (uint8_t)f->algs[a];
			out[o + 1] = (uint8_t)(f->algs[a] >> 8);
			memset(out + o + 2, 0, f->alg_size[a]);
			o += 2 + f->alg_size[a];
		}
	} else {
		memset(out + o, 0, 20);
		o += 20;
	}
	put_le32(out + o, 24);
	o += 4;
	memcpy(out + o, suffix_sig, 16);
	for (int i = 0; i < 8; i++)
		out[o + 16 + i] = (uint8_t)((uint64_t)m->index >> (8 * i));
	return o + 24;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int sha256_name(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       uint8_t out[static AL_NAME_LEN])
{
	out[0] = 0x00;
	out[1] = 0x0b;
	return tpa_hash2(NULL, TPA_ALG_SHA256, a, alen, b, blen, out + 2);
}

int al_machine_init(const al_fleet *f, al_machine *m, uint32_t index)
{
	static const uint8_t endorsement[4] = {0x40, 0x00, 0x00, 0x0b}; /* TPM_RH_ENDORSEMENT */
	TPM2B_PUBLIC ek, ak;
	TPM2B_NV_PUBLIC nv;
	uint8_t ex[32], ey[32], ax[32], ay[32], name[2 + 64], qn_ek[AL_NAME_LEN], buf[128];
	uint8_t suffix[AL_SUFFIX_MAX], md[32];
	size_t nl, off = 0;
	EVP_MD_CTX *c = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	m->index = index;
	if ((r = derive_key(f->seed, "ek", index, &m->ek, ex, ey)) != TPA_OK ||
	    (r = derive_key(f->seed, "ak", index, &m->ak, ax, ay)) != TPA_OK)
		goto fail;
	r = TPA_E_CRYPTO;
	/* EK: TCG default template L-2 */
	tpa_ek_template(TPM2_ALG_ECC, &ek);
	memcpy(ek.publicArea.unique.ecc.x.buffer, ex, 32);
	memcpy(ek.publicArea.unique.ecc.y.buffer, ey, 32);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&ek, m->ek_pub, sizeof(m->ek_pub), &off) !=
	    TSS2_RC_SUCCESS)
		goto fail;
	m->ek_pub_len = off;
	/* AK: as src/tpm/tpm.c's ak_template for ECC */
	memset(&ak, 0, sizeof(ak));
	ak.publicArea.type = TPM2_ALG_ECC;
	ak.publicArea.nameAlg = TPM2_ALG_SHA256;
	ak.publicArea.objectAttributes = AK_ATTRS;
	ak.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	ak.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	ak.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	ak.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	ak.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	ak.publicArea.unique.ecc.x.size = 32;
	ak.publicArea.unique.ecc.y.size = 32;
	memcpy(ak.publicArea.unique.ecc.x.buffer, ax, 32);
	memcpy(ak.publicArea.unique.ecc.y.buffer, ay, 32);
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&ak, m->ak_pub, sizeof(m->ak_pub), &off) !=
	    TSS2_RC_SUCCESS)
		goto fail;
	m->ak_pub_len = off;
	/* Names and qualified names (Part 1, 16) */
	if (tpa_public_name(&ak.publicArea, name, &nl) != TPA_OK || nl != AL_NAME_LEN)
		goto fail;
	memcpy(m->ak_name, name, AL_NAME_LEN);
	if (tpa_public_name(&ek.publicArea, name, &nl) != TPA_OK || nl != AL_NAME_LEN ||
	    sha256_name(endorsement, 4, name, nl, qn_ek) != TPA_OK ||
	    sha256_name(qn_ek, AL_NAME_LEN, m->ak_name, AL_NAME_LEN, m->ak_qn) != TPA_OK)
		goto fail;
	/* the counter, written (it was incremented before enrollment) */
	memset(&nv, 0, sizeof(nv));
	nv.nvPublic.nvIndex = AL_NV_INDEX;
	nv.nvPublic.nameAlg = TPM2_ALG_SHA256;
	nv.nvPublic.attributes = NV_ATTRS | TPMA_NV_WRITTEN;
	nv.nvPublic.dataSize = 8;
	off = 0;
	if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(&nv, m->nv_pub, sizeof(m->nv_pub), &off) !=
	    TSS2_RC_SUCCESS)
		goto fail;
	m->nv_pub_len = off;
	off = 0;
	if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&nv.nvPublic, buf, sizeof(buf), &off) !=
	            TSS2_RC_SUCCESS ||
	    sha256_name(buf, off, NULL, 0, m->nv_name) != TPA_OK)
		goto fail;
	/* machine id: SHA-256 of the EK's TPM2B_PUBLIC */
	if (tpa_hash(TPA_ALG_SHA256, m->ek_pub, m->ek_pub_len, md) != TPA_OK)
		goto fail;
	hex(md, 32, m->id);
	/* this machine's log */
	nl = al_machine_log_suffix(f, m, suffix);
	if (!(c = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(c, f->log_prefix) ||
	    !EVP_DigestUpdate(c, suffix, nl) || !EVP_DigestFinal_ex(c, md, NULL))
		goto fail;
	hex(md, 32, m->log_sha);
	if ((r = ek_cert(f->ca_key, f->ca_cert, m->ek, index, &m->ek_cert, &m->ek_cert_len)) !=
	    TPA_OK)
		goto fail;
	/* Clock and counter go forward across runs: both start from the time. */
	m->clock = f->epoch_ms;
	m->counter = f->epoch_ms * 1000u;
	EVP_MD_CTX_free(c);
	return TPA_OK;
fail:
	EVP_MD_CTX_free(c);
	al_machine_clear(m);
	return r;
}

void al_machine_clear(al_machine *m)
{
	EVP_PKEY_free(m->ek);
	EVP_PKEY_free(m->ak);
	free(m->ek_cert);
	m->ek = m->ak = NULL;
	m->ek_cert = NULL;
}

int al_machine_request(const al_machine *m, char **out)
{
	tpa_enroll_request q;
	memset(&q, 0, sizeof(q));
	q.ek_ecc.present = 1;
	memcpy(q.ek_ecc.public_area, m->ek_pub, m->ek_pub_len);
	q.ek_ecc.public_len = m->ek_pub_len;
	q.ek_ecc.cert = m->ek_cert; /* borrowed: q is not cleared */
	q.ek_ecc.cert_len = m->ek_cert_len;
	q.ak_handle = AL_AK_HANDLE;
	memcpy(q.ak_public, m->ak_pub, m->ak_pub_len);
	q.ak_public_len = m->ak_pub_len;
	memcpy(q.ak_qualified_name, m->ak_qn, AL_NAME_LEN);
	q.ak_qualified_name_len = AL_NAME_LEN;
	q.counter_index = AL_NV_INDEX;
	memcpy(q.counter_public, m->nv_pub, m->nv_pub_len);
	q.counter_public_len = m->nv_pub_len;
	snprintf(q.tpm_manufacturer, sizeof(q.tpm_manufacturer), "IBM");
	snprintf(q.tpm_vendor, sizeof(q.tpm_vendor), "attest-load");
	q.tpm_firmware1 = (uint32_t)(FIRMWARE_VERSION >> 32);
	q.tpm_firmware2 = (uint32_t)FIRMWARE_VERSION;
	return tpa_enroll_request_to_json(&q, out);
}

/* Z = x of d_EK * Qe (Part 1, C.6.1, one-pass ECDH, the TPM's side). */
static int ecdh(EVP_PKEY *ek, const TPMS_ECC_POINT *qe, uint8_t z[static 32])
{
	uint8_t oct[65];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL, *dc = NULL;
	EVP_PKEY *peer = NULL;
	size_t zl = 32;
	int ok;

	if (qe->x.size != 32 || qe->y.size != 32)
		return TPA_E_MALFORMED;
	oct[0] = 0x04;
	memcpy(oct + 1, qe->x.buffer, 32);
	memcpy(oct + 33, qe->y.buffer, 32);
	ok = (bld = OSSL_PARAM_BLD_new()) &&
	     OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof(oct)) &&
	     (params = OSSL_PARAM_BLD_to_param(bld)) &&
	     (pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
	     EVP_PKEY_fromdata_init(pc) > 0 &&
	     EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, params) > 0 &&
	     (dc = EVP_PKEY_CTX_new_from_pkey(NULL, ek, NULL)) && EVP_PKEY_derive_init(dc) > 0 &&
	     EVP_PKEY_derive_set_peer_ex(dc, peer, 1) > 0 && EVP_PKEY_derive(dc, z, &zl) > 0 &&
	     zl == 32;
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

/*
 * TPM2_ActivateCredential (Part 1, 24; Part 3, 12.5) with the EK's private
 * key: seed from the ECDH point, the integrity HMAC checked over encIdentity
 * || Name(AK) before anything is decrypted, then the secret.
 */
int al_machine_activate(const al_machine *m, const char *challenge, size_t len, char **out,
                        char *why, size_t whylen)
{
	tpa_enroll_challenge ch;
	tpa_enroll_response resp;
	TPM2B_ID_OBJECT ido;
	TPM2B_ENCRYPTED_SECRET es;
	TPMS_ECC_POINT qe;
	TPM2B_DIGEST hm;
	uint8_t z[32], seed[32], hkey[32], skey[16], mac[32], buf[sizeof(ido.credential) + 34];
	uint8_t plain[sizeof(ido.credential)];
	const uint8_t *enc;
	size_t off = 0, enclen, maclen = 0;
	EVP_CIPHER_CTX *cc = NULL;
	int r, outl = 0, finl = 0;

	if ((r = tpa_enroll_challenge_from_json(challenge, len, &ch, why, whylen)) != TPA_OK)
		return r;
	if (ch.ek_alg != TPM2_ALG_ECC || ch.ak_handle != AL_AK_HANDLE) {
		snprintf(why, whylen, "the challenge is for another EK or AK handle");
		return TPA_E_MISMATCH;
	}
	memset(&ido, 0, sizeof(ido));
	memset(&es, 0, sizeof(es));
	memset(&qe, 0, sizeof(qe));
	memset(&hm, 0, sizeof(hm));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(ch.credential.id_object, ch.credential.id_object_len,
	                                      &off, &ido) != TSS2_RC_SUCCESS ||
	    off != ch.credential.id_object_len) {
		snprintf(why, whylen, "id_object is not one TPM2B_ID_OBJECT");
		return TPA_E_MALFORMED;
	}
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(ch.credential.encrypted_secret,
	                                             ch.credential.encrypted_secret_len, &off,
	                                             &es) != TSS2_RC_SUCCESS ||
	    off != ch.credential.encrypted_secret_len) {
		snprintf(why, whylen, "encrypted_secret is not one TPM2B_ENCRYPTED_SECRET");
		return TPA_E_MALFORMED;
	}
	off = 0;
	if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(es.secret, es.size, &off, &qe) != TSS2_RC_SUCCESS ||
	    off != es.size) {
		snprintf(why, whylen, "the encrypted secret is not one TPMS_ECC_POINT");
		return TPA_E_MALFORMED;
	}
	off = 0;
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(ido.credential, ido.size, &off, &hm) !=
	            TSS2_RC_SUCCESS ||
	    hm.size != 32 || off >= ido.size) {
		snprintf(why, whylen, "the credential blob has no SHA-256 integrity HMAC");
		return TPA_E_MALFORMED;
	}
	enc = ido.credential + off;
	enclen = ido.size - off;
	if ((r = ecdh(m->ek, &qe, z)) != TPA_OK) {
		snprintf(why, whylen, "ECDH with the challenge's point failed (TPM_RC_ECC_POINT)");
		return r;
	}
	r = TPA_E_CRYPTO;
	if (tpa_kdfe(TPA_ALG_SHA256, z, 32, "IDENTITY", qe.x.buffer, 32,
	             m->ek_pub + m->ek_pub_len - 66, 32, 256, seed) != TPA_OK ||
	    tpa_kdfa(TPA_ALG_SHA256, seed, 32, "INTEGRITY", NULL, 0, NULL, 0, 256, hkey) !=
	            TPA_OK ||
	    tpa_kdfa(TPA_ALG_SHA256, seed, 32, "STORAGE", m->ak_name, AL_NAME_LEN, NULL, 0, 128,
	             skey) != TPA_OK)
		goto out;
	memcpy(buf, enc, enclen);
	memcpy(buf + enclen, m->ak_name, AL_NAME_LEN);
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hkey, 32, buf, enclen + AL_NAME_LEN, mac,
	               sizeof(mac), &maclen) ||
	    maclen != 32)
		goto out;
	if (CRYPTO_memcmp(mac, hm.buffer, 32) != 0) {
		snprintf(why, whylen,
		         "the credential's integrity HMAC does not verify for this EK and AK "
		         "(TPM_RC_INTEGRITY)");
		r = TPA_E_MISMATCH;
		goto out;
	}
	{
		static const uint8_t iv[16] = {0};
		if (!(cc = EVP_CIPHER_CTX_new()) ||
		    !EVP_DecryptInit_ex(cc, EVP_aes_128_cfb128(), NULL, skey, iv) ||
		    !EVP_DecryptUpdate(cc, plain, &outl, enc, (int)enclen) ||
		    !EVP_DecryptFinal_ex(cc, plain + outl, &finl))
			goto out;
	}
	outl += finl;
	if (outl < 2 || (size_t)((plain[0] << 8 | plain[1]) + 2) != (size_t)outl ||
	    outl - 2 > TPA_CREDENTIAL_MAX_SECRET) {
		snprintf(why, whylen, "the decrypted credential is not one TPM2B_DIGEST");
		r = TPA_E_MALFORMED;
		goto out;
	}
	memset(&resp, 0, sizeof(resp));
	memcpy(resp.id, ch.id, sizeof(resp.id));
	memcpy(resp.secret, plain + 2, (size_t)outl - 2);
	resp.secret_len = (size_t)outl - 2;
	r = tpa_enroll_response_to_json(&resp, out);
	OPENSSL_cleanse(&resp, sizeof(resp));
out:
	EVP_CIPHER_CTX_free(cc);
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(skey, sizeof(skey));
	OPENSSL_cleanse(plain, sizeof(plain));
	return r;
}

/* TPMT_SIGNATURE (Part 2, 11.3.4): ECDSA-SHA256 by the AK over the SHA-256
 * of the marshalled TPMS_ATTEST, r and s as 32-byte TPM2Bs. */
static int sign(EVP_PKEY *ak, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                size_t *outlen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t der[80];
	const unsigned char *p = der;
	size_t dl = sizeof(der), off = 0;
	ECDSA_SIG *es = NULL;
	TPMT_SIGNATURE s;
	int ok;

	ok = c && EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, ak, NULL) > 0 &&
	     EVP_DigestSign(c, der, &dl, data, len) > 0 &&
	     (es = d2i_ECDSA_SIG(NULL, &p, (long)dl)) != NULL;
	EVP_MD_CTX_free(c);
	if (ok) {
		memset(&s, 0, sizeof(s));
		s.sigAlg = TPM2_ALG_ECDSA;
		s.signature.ecdsa.hash = TPM2_ALG_SHA256;
		s.signature.ecdsa.signatureR.size = 32;
		s.signature.ecdsa.signatureS.size = 32;
		ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), s.signature.ecdsa.signatureR.buffer, 32) ==
		             32 &&
		     BN_bn2binpad(ECDSA_SIG_get0_s(es), s.signature.ecdsa.signatureS.buffer, 32) ==
		             32 &&
		     Tss2_MU_TPMT_SIGNATURE_Marshal(&s, out, cap, &off) == TSS2_RC_SUCCESS;
	}
	ECDSA_SIG_free(es);
	ERR_clear_error();
	if (!ok)
		return TPA_E_CRYPTO;
	*outlen = off;
	return TPA_OK;
}

int al_machine_set_log(const al_fleet *f, const al_machine *m, tpa_evidence *ev, uint8_t *logbuf)
{
	size_t n;
	memcpy(logbuf, f->log, f->log_len);
	n = f->log_len + al_machine_log_suffix(f, m, logbuf + f->log_len);
	return tpa_evidence_set(ev, TPA_PART_EVENTLOG, logbuf, n);
}

int al_machine_evidence(const al_fleet *f, al_machine *m, const uint8_t *nonce, size_t nonce_len,
                        tpa_evidence **out)
{
	TPMS_ATTEST a;
	uint8_t qa[sizeof(TPMS_ATTEST)], ca[sizeof(TPMS_ATTEST)];
	uint8_t qs[sizeof(TPMT_SIGNATURE)], cs[sizeof(TPMT_SIGNATURE)];
	size_t qal = 0, cal = 0, qsl = 0, csl = 0;
	tpa_evidence *ev = NULL;
	tpa_pcrs *pcrs = NULL;
	uint64_t now = al_now_ms_since_2026();
	int r;

	if (nonce_len > sizeof(a.extraData.buffer))
		return TPA_E_INVALID_ARG;
	/* TPM2_NV_Increment, then the quote and the certification */
	m->counter++;
	m->clock = now > m->clock ? now : m->clock + 1;

	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner.size = AL_NAME_LEN;
	memcpy(a.qualifiedSigner.name, m->ak_qn, AL_NAME_LEN);
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo.clock = m->clock;
	a.clockInfo.resetCount = 1;
	a.clockInfo.restartCount = 0;
	a.clockInfo.safe = TPM2_YES;
	a.firmwareVersion = FIRMWARE_VERSION;
	a.attested.quote.pcrSelect = f->sel;
	a.attested.quote.pcrDigest.size = 32;
	memcpy(a.attested.quote.pcrDigest.buffer, f->pcr_digest, 32);
	if (Tss2_MU_TPMS_ATTEST_Marshal(&a, qa, sizeof(qa), &qal) != TSS2_RC_SUCCESS)
		return TPA_E_CRYPTO;

	a.type = TPM2_ST_ATTEST_NV;
	memset(&a.attested, 0, sizeof(a.attested));
	a.attested.nv.indexName.size = AL_NAME_LEN;
	memcpy(a.attested.nv.indexName.name, m->nv_name, AL_NAME_LEN);
	a.attested.nv.offset = 0;
	a.attested.nv.nvContents.size = 8;
	for (int i = 0; i < 8; i++)
		a.attested.nv.nvContents.buffer[i] = (uint8_t)(m->counter >> (56 - 8 * i));
	if (Tss2_MU_TPMS_ATTEST_Marshal(&a, ca, sizeof(ca), &cal) != TSS2_RC_SUCCESS)
		return TPA_E_CRYPTO;
	if ((r = sign(m->ak, qa, qal, qs, sizeof(qs), &qsl)) != TPA_OK ||
	    (r = sign(m->ak, ca, cal, cs, sizeof(cs), &csl)) != TPA_OK)
		return r;

	if ((r = tpa_pcrs_new(&pcrs)) != TPA_OK)
		return r;
	for (size_t b = 0; b < f->nbanks; b++) {
		uint16_t alg = f->sel.pcrSelections[b].hash;
		for (unsigned k = 0; k < 10; k++)
			if ((r = tpa_pcrs_set(pcrs, alg, k, f->pcr_val[b][k],
			                      tpa_alg_digest_size(alg))) != TPA_OK)
				goto out;
	}
	if ((r = tpa_evidence_new(&ev)) != TPA_OK)
		goto out;
	tpa_evidence_set_handles(ev, AL_AK_HANDLE, AL_NV_INDEX);
	tpa_evidence_set_counter(ev, m->counter);
	if ((r = tpa_evidence_set(ev, TPA_PART_NONCE, nonce, nonce_len)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_AK_PUBLIC, m->ak_pub, m->ak_pub_len)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_AK_NAME, m->ak_name, AL_NAME_LEN)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_QUOTE_ATTEST, qa, qal)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_QUOTE_SIGNATURE, qs, qsl)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_COUNTER_NAME, m->nv_name, AL_NAME_LEN)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_COUNTER_ATTEST, ca, cal)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_COUNTER_SIGNATURE, cs, csl)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_EK_ECC_CERT, m->ek_cert, m->ek_cert_len)) ||
	    (r = tpa_evidence_set_tool(ev, "attest-load-gen")) ||
	    (r = tpa_evidence_set_pcrs(ev, &pcrs)))
		goto out;
	*out = ev;
	ev = NULL;
out:
	tpa_pcrs_free(&pcrs);
	tpa_evidence_free(&ev);
	return r;
}
