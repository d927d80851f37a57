/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <tpmattest/tpmattest.h>

#include "hash.h"

const char *tpa_strerror(int err)
{
	switch (err) {
	case TPA_OK: return "success";
	case TPA_E_INVALID_ARG: return "invalid argument";
	case TPA_E_UNSUPPORTED: return "not supported";
	case TPA_E_NOT_FOUND: return "not found";
	case TPA_E_NOMEM: return "out of memory";
	case TPA_E_IO: return "input/output error";
	case TPA_E_TPM: return "TPM error";
	case TPA_E_CRYPTO: return "cryptographic library error";
	case TPA_E_MALFORMED: return "malformed input";
	case TPA_E_TRUNCATED: return "truncated input";
	case TPA_E_TRAILING: return "trailing data after the input";
	case TPA_E_LIMIT: return "input exceeds a limit";
	case TPA_E_BAD_SIGNATURE: return "bad signature";
	case TPA_E_NONCE: return "nonce mismatch";
	case TPA_E_SELECTION: return "PCR selection mismatch";
	case TPA_E_PCR: return "PCR value mismatch";
	case TPA_E_REPLAY: return "event log does not replay to the PCR values";
	case TPA_E_ROLLBACK: return "counter or clock went back";
	case TPA_E_POLICY: return "policy violated";
	case TPA_E_MISMATCH: return "values differ";
	}
	return "unknown error";
}

tpa_err_class tpa_err_classify(int err)
{
	if (err == TPA_OK)
		return TPA_CLASS_OK;
	if (err <= -30)
		return TPA_CLASS_VERDICT;
	if (err <= -20)
		return TPA_CLASS_MALFORMED;
	if (err <= -10)
		return TPA_CLASS_ENVIRONMENT;
	return TPA_CLASS_USAGE;
}

static const struct alg_info {
	uint16_t alg;
	uint16_t size;
	const char *name;
	const char *ossl; /* OpenSSL fetch name */
} algs[] = {
        {TPA_ALG_SHA1, 20, "sha1", "SHA1"},
        {TPA_ALG_SHA256, 32, "sha256", "SHA256"},
        {TPA_ALG_SHA384, 48, "sha384", "SHA384"},
        {TPA_ALG_SHA512, 64, "sha512", "SHA512"},
        {TPA_ALG_SM3_256, 32, "sm3_256", "SM3"},
        {TPA_ALG_SHA3_256, 32, "sha3_256", "SHA3-256"},
        {TPA_ALG_SHA3_384, 48, "sha3_384", "SHA3-384"},
        {TPA_ALG_SHA3_512, 64, "sha3_512", "SHA3-512"},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))
_Static_assert(NALGS <= 8, "tpa_hctx holds one context per algorithm");

static const struct alg_info *alg_find(uint16_t alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

size_t tpa_alg_digest_size(uint16_t alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->size : 0;
}

const char *tpa_alg_name(uint16_t alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->name : NULL;
}

int tpa_alg_from_name(const char *name, uint16_t *alg)
{
	char norm[16];
	size_t n = 0;
	if (!name || !alg)
		return TPA_E_INVALID_ARG;
	for (const char *s = name; *s; s++) {
		if (*s == '-' || *s == '_')
			continue;
		if (n + 1 >= sizeof(norm))
			return TPA_E_NOT_FOUND;
		norm[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s - 'A' + 'a' : *s);
	}
	norm[n] = '\0';
	for (size_t i = 0; i < NALGS; i++) {
		char an[16];
		size_t m = 0;
		for (const char *s = algs[i].name; *s; s++)
			if (*s != '_')
				an[m++] = *s;
		an[m] = '\0';
		if (strcmp(an, norm) == 0) {
			*alg = algs[i].alg;
			return TPA_OK;
		}
	}
	return TPA_E_NOT_FOUND;
}

/* Fetched on first use, one algorithm at a time: a process that only needs
 * SHA-256 should not pay for loading SM3 or SHA-3.  A fetch that loses a race
 * is freed. */
static _Atomic(EVP_MD *) mds[NALGS];
static char md_unavailable_tag;
#define md_unavailable ((EVP_MD *)(void *)&md_unavailable_tag)

const EVP_MD *tpa_md(uint16_t alg)
{
	for (size_t i = 0; i < NALGS; i++) {
		EVP_MD *md, *expected = NULL;
		if (algs[i].alg != alg)
			continue;
		if ((md = atomic_load(&mds[i])) != NULL)
			return md == md_unavailable ? NULL : md;
		if (!(md = EVP_MD_fetch(NULL, algs[i].ossl, NULL)))
			md = md_unavailable;
		if (!atomic_compare_exchange_strong(&mds[i], &expected, md)) {
			if (md != md_unavailable)
				EVP_MD_free(md);
			md = expected;
		}
		return md == md_unavailable ? NULL : md;
	}
	return NULL;
}

int tpa_alg_supported(uint16_t alg)
{
	return tpa_md(alg) != NULL;
}

int tpa_hash(uint16_t alg, const uint8_t *data, size_t len, uint8_t *out)
{
	const EVP_MD *md = tpa_md(alg);
	if (!md)
		return TPA_E_UNSUPPORTED;
	if (!EVP_Digest(data, len, out, NULL, md, NULL))
		return TPA_E_CRYPTO;
	return TPA_OK;
}

int tpa_hash2(EVP_MD_CTX *ctx, uint16_t alg, const uint8_t *a, size_t alen, const uint8_t *b,
              size_t blen, uint8_t *out)
{
	const EVP_MD *md = tpa_md(alg);
	EVP_MD_CTX *own = NULL;
	int ok;
	if (!md)
		return TPA_E_UNSUPPORTED;
	if (!ctx && !(ctx = own = EVP_MD_CTX_new()))
		return TPA_E_NOMEM;
	ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, a, alen) &&
	     EVP_DigestUpdate(ctx, b, blen) && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(own);
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

int tpa_hctx_digest(tpa_hctx *h, uint16_t alg, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, uint8_t *out)
{
	const EVP_MD *md = tpa_md(alg);
	size_t i;
	EVP_MD_CTX *ctx;
	if (!md)
		return TPA_E_UNSUPPORTED;
	for (i = 0; i < NALGS && algs[i].alg != alg; i++)
		;
	if (!(ctx = h->ctx[i]) && !(ctx = h->ctx[i] = EVP_MD_CTX_new()))
		return TPA_E_NOMEM;
	if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
	    (blen && !EVP_DigestUpdate(ctx, b, blen)) || !EVP_DigestFinal_ex(ctx, out, NULL))
		return TPA_E_CRYPTO;
	return TPA_OK;
}

void tpa_hctx_free(tpa_hctx *h)
{
	for (size_t i = 0; i < NALGS; i++) {
		EVP_MD_CTX_free(h->ctx[i]);
		h->ctx[i] = NULL;
	}
}
