/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tiny builder of event logs for tests: SHA-1 format (TCG_PCR_EVENT) and
 * crypto-agile (Spec ID Event03, then TCG_PCR_EVENT2), PFP 1.05, 10.2.
 * Header-only so each test program gets its own copy.
 */
#ifndef TPA_TEST_LOGBUILD_H
#define TPA_TEST_LOGBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <tpmattest/eventlog.h>

#define LB_CAP (64 * 1024)

typedef struct lb {
	uint8_t buf[LB_CAP];
	size_t len;
	size_t nalgs;
	uint16_t alg[8];
	uint16_t size[8];
} lb;

static inline lb *lb_new(void)
{
	lb *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	return b;
}

static inline void lb_put(lb *b, const void *p, size_t n)
{
	if (n > LB_CAP - b->len)
		abort();
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static inline void lb_u8(lb *b, uint8_t v)
{
	lb_put(b, &v, 1);
}
static inline void lb_u16(lb *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	lb_put(b, x, 2);
}
static inline void lb_u32(lb *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	lb_put(b, x, 4);
}
static inline void lb_u64(lb *b, uint64_t v)
{
	lb_u32(b, (uint32_t)v);
	lb_u32(b, (uint32_t)(v >> 32));
}
static inline void lb_zeros(lb *b, size_t n)
{
	static const uint8_t z[64];
	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		lb_put(b, z, k);
		n -= k;
	}
}

static inline const EVP_MD *lb_md(uint16_t alg)
{
	switch (alg) {
	case TPA_ALG_SHA1: return EVP_sha1();
	case TPA_ALG_SHA256: return EVP_sha256();
	case TPA_ALG_SHA384: return EVP_sha384();
	case TPA_ALG_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* An independent hash for the tests' expected values.  SM3 through its
 * name, as OpenSSL may or may not provide it. */
static inline int lb_hash(uint16_t alg, const void *p, size_t n, uint8_t *out)
{
	EVP_MD *fetched = NULL;
	const EVP_MD *md = lb_md(alg);
	unsigned int len = 0;
	int ok;
	if (!md && alg == TPA_ALG_SM3_256)
		md = fetched = EVP_MD_fetch(NULL, "SM3", NULL);
	if (!md)
		return 0;
	ok = EVP_Digest(p, n, out, &len, md, NULL);
	EVP_MD_free(fetched);
	return ok && len > 0;
}

/* H(a || b), as a PCR extend. */
static inline void lb_extend(uint16_t alg, uint8_t *pcr, size_t n, const uint8_t *d)
{
	uint8_t cat[2 * 64];
	memcpy(cat, pcr, n);
	memcpy(cat + n, d, n);
	if (!lb_hash(alg, cat, 2 * n, pcr))
		abort();
}

/* One SHA-1 format record; digest NULL means SHA-1 of the data. */
static inline size_t lb_ev1(lb *b, uint32_t pcr, uint32_t type, const uint8_t *digest,
                            const void *data, uint32_t len)
{
	size_t off = b->len;
	uint8_t d[20];
	if (!digest) {
		lb_hash(TPA_ALG_SHA1, data, len, d);
		digest = d;
	}
	lb_u32(b, pcr);
	lb_u32(b, type);
	lb_put(b, digest, 20);
	lb_u32(b, len);
	lb_put(b, data, len);
	return off;
}

/* The Spec ID Event03 header record declaring algs/sizes, with an optional
 * vendorInfo. */
static inline size_t lb_specid_vendor(lb *b, size_t n, const uint16_t *algs, const uint16_t *sizes,
                                      const uint8_t *vendor, uint8_t vlen)
{
	size_t off = b->len;
	lb_u32(b, 0);
	lb_u32(b, TPA_EV_NO_ACTION);
	lb_zeros(b, 20);
	lb_u32(b, (uint32_t)(16 + 4 + 4 + 4 + 4 * n + 1 + vlen));
	lb_put(b, "Spec ID Event03", 16);
	lb_u32(b, 0); /* platformClass */
	lb_u8(b, 0);  /* specVersionMinor */
	lb_u8(b, 2);  /* specVersionMajor */
	lb_u8(b, 0);  /* specErrata */
	lb_u8(b, 2);  /* uintnSize */
	lb_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		lb_u16(b, algs[i]);
		lb_u16(b, sizes[i]);
		if (b->nalgs < 8) {
			b->alg[b->nalgs] = algs[i];
			b->size[b->nalgs] = sizes[i];
			b->nalgs++;
		}
	}
	lb_u8(b, vlen);
	lb_put(b, vendor, vlen);
	return off;
}

static inline size_t lb_specid(lb *b, size_t n, const uint16_t *algs, const uint16_t *sizes)
{
	return lb_specid_vendor(b, n, algs, sizes, NULL, 0);
}

/* The usual header: SHA-1 and SHA-256. */
static inline size_t lb_specid_default(lb *b)
{
	static const uint16_t a[] = {TPA_ALG_SHA1, TPA_ALG_SHA256};
	static const uint16_t s[] = {20, 32};
	return lb_specid(b, 2, a, s);
}

/* A TCG_PCR_EVENT2 with one digest per declared algorithm: the hash of the
 * data where computable, else a fixed pattern. */
static inline size_t lb_ev2(lb *b, uint32_t pcr, uint32_t type, const void *data, uint32_t len)
{
	size_t off = b->len;
	lb_u32(b, pcr);
	lb_u32(b, type);
	lb_u32(b, (uint32_t)b->nalgs);
	for (size_t i = 0; i < b->nalgs; i++) {
		uint8_t d[64];
		memset(d, 0x5a, sizeof(d));
		lb_hash(b->alg[i], data, len, d);
		lb_u16(b, b->alg[i]);
		lb_put(b, d, b->size[i]);
	}
	lb_u32(b, len);
	lb_put(b, data, len);
	return off;
}

/* A TCG_PCR_EVENT2 whose digests are all filled with one byte value. */
static inline size_t lb_ev2_fill(lb *b, uint32_t pcr, uint32_t type, uint8_t fill, const void *data,
                                 uint32_t len)
{
	size_t off = b->len;
	lb_u32(b, pcr);
	lb_u32(b, type);
	lb_u32(b, (uint32_t)b->nalgs);
	for (size_t i = 0; i < b->nalgs; i++) {
		uint8_t d[64];
		memset(d, fill, sizeof(d));
		lb_u16(b, b->alg[i]);
		lb_put(b, d, b->size[i]);
	}
	lb_u32(b, len);
	lb_put(b, data, len);
	return off;
}

/* UEFI_VARIABLE_DATA (PFP 1.05, 10.4.3) with an ASCII name written as
 * UTF-16LE; returns the length written into out. */
static inline size_t lb_vardata(uint8_t *out, size_t cap, const uint8_t guid[16], const char *name,
                                const void *data, size_t dlen)
{
	size_t nl = strlen(name), o = 0;
	if (16 + 16 + 2 * nl + dlen > cap)
		abort();
	memcpy(out, guid, 16);
	o = 16;
	for (int i = 0; i < 8; i++)
		out[o++] = (uint8_t)((uint64_t)nl >> (8 * i));
	for (int i = 0; i < 8; i++)
		out[o++] = (uint8_t)((uint64_t)dlen >> (8 * i));
	for (size_t i = 0; i < nl; i++) {
		out[o++] = (uint8_t)name[i];
		out[o++] = 0;
	}
	if (dlen)
		memcpy(out + o, data, dlen);
	return o + dlen;
}

/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c, in EFI_GUID order. */
static const uint8_t lb_efi_global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                               0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
/* EFI_IMAGE_SECURITY_DATABASE_GUID d719b2cb-3d3a-4596-a3bc-dad00e67656f. */
static const uint8_t lb_efi_imgsec_guid[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                               0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};

#endif
