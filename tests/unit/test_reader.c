/* SPDX-License-Identifier: BSD-2-Clause */
/* The bounds-checked reader (src/base/reader.h): every getter is all-or-nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/reader.h"

static const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};

/* The reader has not moved. */
static void assert_at(const tpa_rd *r, size_t off, size_t left)
{
	assert_int_equal(tpa_rd_offset(r), off);
	assert_int_equal(tpa_rd_left(r), left);
	assert_ptr_equal(tpa_rd_ptr(r), buf + off);
}

static void test_init(void **state)
{
	tpa_rd r;
	(void)state;
	tpa_rd_init(&r, buf, sizeof(buf));
	assert_at(&r, 0, 10);
	tpa_rd_init(&r, buf, 0);
	assert_int_equal(tpa_rd_left(&r), 0);
	assert_true(tpa_rd_all_zero(&r));
}

static void test_le(void **state)
{
	tpa_rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	(void)state;

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_u8(&r, &u8));
	assert_int_equal(u8, 0x01);
	assert_true(tpa_rd_u16le(&r, &u16));
	assert_int_equal(u16, 0x0302);
	assert_true(tpa_rd_u32le(&r, &u32));
	assert_int_equal(u32, 0x07060504);
	assert_at(&r, 7, 3);

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_u64le(&r, &u64));
	assert_true(u64 == 0x0807060504030201ull);
	assert_at(&r, 8, 2);
}

static void test_be(void **state)
{
	tpa_rd r;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	(void)state;

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_u16be(&r, &u16));
	assert_int_equal(u16, 0x0102);
	assert_true(tpa_rd_u32be(&r, &u32));
	assert_int_equal(u32, 0x03040506);
	assert_at(&r, 6, 4);

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_u64be(&r, &u64));
	assert_true(u64 == 0x0102030405060708ull);
	assert_at(&r, 8, 2);
}

/* High bytes must not sign-extend. */
static void test_high_bytes(void **state)
{
	static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0x80};
	tpa_rd r;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	(void)state;

	tpa_rd_init(&r, ff, 8);
	assert_true(tpa_rd_u32le(&r, &u32));
	assert_true(u32 == 0xfcfdfeffu);
	tpa_rd_init(&r, ff, 8);
	assert_true(tpa_rd_u64le(&r, &u64));
	assert_true(u64 == 0x80f9fafbfcfdfeffull);
	tpa_rd_init(&r, ff, 8);
	assert_true(tpa_rd_u64be(&r, &u64));
	assert_true(u64 == 0xfffefdfcfbfaf980ull);
	tpa_rd_init(&r, ff, 8);
	assert_true(tpa_rd_u16be(&r, &u16));
	assert_int_equal(u16, 0xfffe);
	assert_true(tpa_le64(ff) == 0x80f9fafbfcfdfeffull);
	assert_true(tpa_le32(ff) == 0xfcfdfeffu);
	assert_int_equal(tpa_le16(ff), 0xfeff);
}

/* Each getter, one byte short: false, reader and output unchanged. */
static void test_short_all_or_nothing(void **state)
{
	tpa_rd r;
	uint8_t u8 = 0xaa, copy[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	uint16_t u16 = 0xaaaa;
	uint32_t u32 = 0xaaaaaaaa;
	uint64_t u64 = 0xaaaaaaaaaaaaaaaaull;
	const uint8_t *p = (const uint8_t *)"sentinel";
	const uint8_t *p0 = p;
	tpa_rd sub = {NULL, NULL, 12345};
	(void)state;

	/* positioned at offset 9: one byte left */
	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_skip(&r, 9));
	assert_at(&r, 9, 1);

	assert_false(tpa_rd_u16le(&r, &u16));
	assert_false(tpa_rd_u16be(&r, &u16));
	assert_int_equal(u16, 0xaaaa);
	assert_false(tpa_rd_u32le(&r, &u32));
	assert_false(tpa_rd_u32be(&r, &u32));
	assert_true(u32 == 0xaaaaaaaau);
	assert_false(tpa_rd_u64le(&r, &u64));
	assert_false(tpa_rd_u64be(&r, &u64));
	assert_true(u64 == 0xaaaaaaaaaaaaaaaaull);
	assert_false(tpa_rd_bytes(&r, 2, &p));
	assert_ptr_equal(p, p0);
	assert_false(tpa_rd_copy(&r, copy, 2));
	assert_int_equal(copy[0], 0xaa);
	assert_int_equal(copy[1], 0xaa);
	assert_false(tpa_rd_sub(&r, 2, &sub));
	assert_null(sub.base);
	assert_int_equal(sub.len, 12345);
	assert_false(tpa_rd_skip(&r, 2));
	assert_false(tpa_rd_skip(&r, SIZE_MAX));
	assert_false(tpa_rd_bytes(&r, SIZE_MAX, &p));
	assert_at(&r, 9, 1);

	/* the last byte is still there */
	assert_true(tpa_rd_u8(&r, &u8));
	assert_int_equal(u8, 0x0a);
	assert_at(&r, 10, 0);
	u8 = 0x55;
	assert_false(tpa_rd_u8(&r, &u8));
	assert_int_equal(u8, 0x55);
	assert_at(&r, 10, 0);
	/* zero-length reads at the end succeed */
	assert_true(tpa_rd_skip(&r, 0));
	assert_true(tpa_rd_bytes(&r, 0, &p));
	assert_ptr_equal(p, buf + 10);
	assert_at(&r, 10, 0);
}

static void test_bytes_copy_skip(void **state)
{
	tpa_rd r;
	const uint8_t *p;
	uint8_t out[3];
	(void)state;

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_skip(&r, 2));
	assert_true(tpa_rd_bytes(&r, 3, &p));
	assert_ptr_equal(p, buf + 2);
	assert_true(tpa_rd_copy(&r, out, 3));
	assert_memory_equal(out, buf + 5, 3);
	assert_at(&r, 8, 2);
	assert_true(tpa_rd_skip(&r, 2));
	assert_at(&r, 10, 0);
}

static void test_sub(void **state)
{
	tpa_rd r, sub, subsub;
	uint32_t v;
	uint16_t v16 = 0x5555;
	uint8_t u8;
	(void)state;

	tpa_rd_init(&r, buf, sizeof(buf));
	assert_true(tpa_rd_skip(&r, 2));
	assert_true(tpa_rd_sub(&r, 5, &sub));
	assert_at(&r, 7, 3);
	/* offsets in the sub-view are relative to the whole buffer */
	assert_int_equal(tpa_rd_offset(&sub), 2);
	assert_int_equal(tpa_rd_left(&sub), 5);
	assert_true(tpa_rd_u32le(&sub, &v));
	assert_int_equal(v, 0x06050403);
	assert_int_equal(tpa_rd_offset(&sub), 6);
	/* a sub-view cannot read past its own end, though the parent has more */
	assert_false(tpa_rd_u16le(&sub, &v16));
	assert_int_equal(v16, 0x5555);
	assert_true(tpa_rd_sub(&sub, 1, &subsub));
	assert_int_equal(tpa_rd_offset(&subsub), 6);
	assert_true(tpa_rd_u8(&subsub, &u8));
	assert_int_equal(u8, 0x07);
	assert_false(tpa_rd_u8(&subsub, &u8));
	assert_int_equal(tpa_rd_left(&sub), 0);
	/* the parent is unaffected by reads of the sub-view */
	assert_at(&r, 7, 3);
}

static void test_tpm2b(void **state)
{
	static const uint8_t t[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0x00, 0x05, 'x'};
	tpa_rd r, sub, sub0 = {NULL, NULL, 777};
	const uint8_t *p;
	(void)state;

	tpa_rd_init(&r, t, sizeof(t));
	assert_true(tpa_rd_tpm2b(&r, &sub));
	assert_int_equal(tpa_rd_left(&sub), 3);
	assert_int_equal(tpa_rd_offset(&sub), 2);
	assert_true(tpa_rd_bytes(&sub, 3, &p));
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(tpa_rd_offset(&r), 5);
	/* an empty TPM2B */
	assert_true(tpa_rd_tpm2b(&r, &sub));
	assert_int_equal(tpa_rd_left(&sub), 0);
	assert_int_equal(tpa_rd_offset(&r), 7);
	/* size 5 with 2 bytes left: all-or-nothing, the size is not consumed */
	sub = sub0;
	assert_false(tpa_rd_tpm2b(&r, &sub));
	assert_int_equal(tpa_rd_offset(&r), 7);
	assert_int_equal(tpa_rd_left(&r), 3);
	assert_null(sub.base);
	assert_int_equal(sub.len, 777);
	/* a lone size byte */
	assert_true(tpa_rd_skip(&r, 2));
	assert_false(tpa_rd_tpm2b(&r, &sub));
	assert_int_equal(tpa_rd_offset(&r), 9);
}

static void test_all_zero(void **state)
{
	static const uint8_t z[] = {1, 0, 0, 0, 0, 2, 0};
	tpa_rd r;
	(void)state;
	tpa_rd_init(&r, z, sizeof(z));
	assert_false(tpa_rd_all_zero(&r));
	assert_true(tpa_rd_skip(&r, 1));
	assert_false(tpa_rd_all_zero(&r)); /* the 2 further on counts */
	assert_true(tpa_rd_skip(&r, 5));
	assert_true(tpa_rd_all_zero(&r));
	/* all_zero does not move the reader */
	assert_int_equal(tpa_rd_offset(&r), 6);
	tpa_rd_init(&r, z + 1, 4);
	assert_true(tpa_rd_all_zero(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_init),
	        cmocka_unit_test(test_le),
	        cmocka_unit_test(test_be),
	        cmocka_unit_test(test_high_bytes),
	        cmocka_unit_test(test_short_all_or_nothing),
	        cmocka_unit_test(test_bytes_copy_skip),
	        cmocka_unit_test(test_sub),
	        cmocka_unit_test(test_tpm2b),
	        cmocka_unit_test(test_all_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
