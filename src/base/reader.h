/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounds-checked reader over untrusted bytes, after OpenBSD's CBS: a borrowed
 * view that only moves forward.  Every getter is all-or-nothing: on failure
 * (not enough bytes) it returns false and changes neither the reader nor the
 * output.  Little-endian getters are for the event log, big-endian ones for
 * TPM structures.  Nothing here allocates.
 */
#ifndef TPA_READER_H
#define TPA_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tpa_rd {
	const uint8_t *base; /* start of the whole buffer, for offsets */
	const uint8_t *p;
	size_t len;
} tpa_rd;

static inline void tpa_rd_init(tpa_rd *r, const uint8_t *buf, size_t len)
{
	r->base = buf;
	r->p = buf;
	r->len = len;
}

static inline size_t tpa_rd_left(const tpa_rd *r)
{
	return r->len;
}
static inline size_t tpa_rd_offset(const tpa_rd *r)
{
	return (size_t)(r->p - r->base);
}
static inline const uint8_t *tpa_rd_ptr(const tpa_rd *r)
{
	return r->p;
}

static inline bool tpa_rd_skip(tpa_rd *r, size_t n)
{
	if (n > r->len)
		return false;
	r->p += n;
	r->len -= n;
	return true;
}

/* Borrows n bytes. */
static inline bool tpa_rd_bytes(tpa_rd *r, size_t n, const uint8_t **out)
{
	if (n > r->len)
		return false;
	*out = r->p;
	r->p += n;
	r->len -= n;
	return true;
}

static inline bool tpa_rd_copy(tpa_rd *r, void *dst, size_t n)
{
	if (n > r->len)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	r->len -= n;
	return true;
}

/* A sub-view of the next n bytes; offsets stay relative to the same base. */
static inline bool tpa_rd_sub(tpa_rd *r, size_t n, tpa_rd *sub)
{
	if (n > r->len)
		return false;
	sub->base = r->base;
	sub->p = r->p;
	sub->len = n;
	r->p += n;
	r->len -= n;
	return true;
}

static inline bool tpa_rd_u8(tpa_rd *r, uint8_t *v)
{
	if (r->len < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->len--;
	return true;
}

static inline bool tpa_rd_u16le(tpa_rd *r, uint16_t *v)
{
	if (r->len < 2)
		return false;
	*v = (uint16_t)(r->p[0] | (uint16_t)r->p[1] << 8);
	r->p += 2;
	r->len -= 2;
	return true;
}

static inline bool tpa_rd_u32le(tpa_rd *r, uint32_t *v)
{
	if (r->len < 4)
		return false;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
	     (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->len -= 4;
	return true;
}

static inline bool tpa_rd_u64le(tpa_rd *r, uint64_t *v)
{
	if (r->len < 8)
		return false;
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | r->p[i];
	*v = x;
	r->p += 8;
	r->len -= 8;
	return true;
}

static inline bool tpa_rd_u16be(tpa_rd *r, uint16_t *v)
{
	if (r->len < 2)
		return false;
	*v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->len -= 2;
	return true;
}

static inline bool tpa_rd_u32be(tpa_rd *r, uint32_t *v)
{
	if (r->len < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	     (uint32_t)r->p[3];
	r->p += 4;
	r->len -= 4;
	return true;
}

static inline bool tpa_rd_u64be(tpa_rd *r, uint64_t *v)
{
	if (r->len < 8)
		return false;
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | r->p[i];
	*v = x;
	r->p += 8;
	r->len -= 8;
	return true;
}

/* TPM2B_*: a big-endian 16-bit size, then that many bytes. */
static inline bool tpa_rd_tpm2b(tpa_rd *r, tpa_rd *sub)
{
	tpa_rd save = *r;
	uint16_t n;
	if (!tpa_rd_u16be(r, &n) || !tpa_rd_sub(r, n, sub)) {
		*r = save;
		return false;
	}
	return true;
}

/* Whether every remaining byte is zero. */
static inline bool tpa_rd_all_zero(const tpa_rd *r)
{
	for (size_t i = 0; i < r->len; i++)
		if (r->p[i] != 0)
			return false;
	return true;
}

/* Loads from bytes already bounds-checked by the caller. */
static inline uint16_t tpa_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t tpa_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tpa_le64(const uint8_t *p)
{
	return (uint64_t)tpa_le32(p) | (uint64_t)tpa_le32(p + 4) << 32;
}

#endif
