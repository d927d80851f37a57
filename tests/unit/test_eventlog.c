/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event log parser, replay and digest checks on small logs built in memory.
 * Each hostile case asserts the exact error and the byte offset reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "logbuild.h"

/* Offsets in a crypto-agile Spec ID record (PFP 1.05, 10.4.5.1): a 32-byte
 * TCG_PCR_EVENT header, then signature, platformClass, version, uintnSize,
 * numberOfAlgorithms, the algorithm list. */
#define SPEC_NALGS_OFF 56
#define SPEC_ALG_OFF(i) (60 + 4 * (i))

static const uint8_t sep0[4] = {0, 0, 0, 0};

static void expect_fail(const lb *b, int code, size_t offset)
{
	tpa_eventlog *log = (tpa_eventlog *)(uintptr_t)0x1; /* must stay untouched */
	tpa_parse_error err;
	memset(&err, 0xee, sizeof(err));
	int r = tpa_eventlog_parse(b->buf, b->len, &log, &err);
	if (r != code || err.offset != offset)
		print_error("parse: got %d (%s) at %zu, want %d at %zu: %s\n", r, tpa_strerror(r),
		            err.offset, code, offset, err.reason);
	assert_int_equal(r, code);
	assert_int_equal(err.offset, offset);
	assert_ptr_equal(log, (tpa_eventlog *)(uintptr_t)0x1);
	assert_non_null(memchr(err.reason, '\0', sizeof(err.reason)));
	assert_null(strchr(err.reason, '\n'));
	assert_true(strlen(err.reason) > 0);
}

static tpa_eventlog *expect_ok(const lb *b)
{
	tpa_eventlog *log = NULL;
	tpa_parse_error err = {0};
	int r = tpa_eventlog_parse(b->buf, b->len, &log, &err);
	if (r != TPA_OK)
		print_error("parse: %d at %zu: %s\n", r, err.offset, err.reason);
	assert_int_equal(r, TPA_OK);
	assert_non_null(log);
	return log;
}

static tpa_pcrs *replay(const tpa_eventlog *log)
{
	tpa_pcrs *p = NULL;
	assert_int_equal(tpa_eventlog_replay(log, &p), TPA_OK);
	assert_non_null(p);
	return p;
}

static void assert_pcr(const tpa_pcrs *p, uint16_t alg, unsigned pcr, const uint8_t *want)
{
	const uint8_t *v;
	size_t len;
	assert_int_equal(tpa_pcrs_get(p, alg, pcr, &v, &len), TPA_OK);
	assert_int_equal(len, tpa_alg_digest_size(alg));
	assert_memory_equal(v, want, len);
	assert_false(tpa_pcrs_is_incomplete(p, alg, pcr));
}

static void assert_no_pcr(const tpa_pcrs *p, uint16_t alg, unsigned pcr)
{
	const uint8_t *v;
	size_t len;
	assert_int_equal(tpa_pcrs_get(p, alg, pcr, &v, &len), TPA_E_NOT_FOUND);
	assert_false(tpa_pcrs_is_incomplete(p, alg, pcr));
}

/* ---- basic shapes ---- */

static void test_sha1_format(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	const tpa_event *ev;
	size_t len, o1;
	(void)state;

	lb_ev1(b, 0, TPA_EV_S_CRTM_VERSION, NULL, "v1.0", 4);
	o1 = lb_ev1(b, 7, TPA_EV_SEPARATOR, NULL, sep0, 4);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_get_format(log), TPA_EVENTLOG_SHA1);
	assert_int_equal(tpa_eventlog_count(log), 2);
	assert_int_equal(tpa_eventlog_size(log), b->len);
	assert_int_equal(tpa_eventlog_alg_count(log), 1);
	assert_int_equal(tpa_eventlog_alg(log, 0), TPA_ALG_SHA1);
	assert_int_equal(tpa_eventlog_alg_size(log, 0), 20);
	assert_int_equal(tpa_eventlog_alg(log, 1), 0);
	assert_int_equal(tpa_eventlog_platform_class(log), 0);
	ev = tpa_eventlog_get(log, 1);
	assert_non_null(ev);
	assert_null(tpa_eventlog_get(log, 2));
	assert_int_equal(tpa_event_index(ev), 1);
	assert_int_equal(tpa_event_offset(ev), o1);
	assert_int_equal(tpa_event_pcr(ev), 7);
	assert_int_equal(tpa_event_type(ev), TPA_EV_SEPARATOR);
	assert_memory_equal(tpa_event_data(ev, &len), sep0, 4);
	assert_int_equal(len, 4);
	assert_non_null(tpa_event_digest(ev, TPA_ALG_SHA1, &len));
	assert_int_equal(len, 20);
	assert_null(tpa_event_digest(ev, TPA_ALG_SHA256, NULL));
	assert_int_equal(tpa_event_digest_check(ev), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);
	assert_null(log);
	tpa_eventlog_free(&log); /* idempotent */
	tpa_eventlog_free(NULL);
	free(b);
}

static void test_agile_header(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	const tpa_event *ev;
	uint8_t maj = 9, min = 9, err = 9;
	size_t len, o0;
	(void)state;

	lb_specid_default(b);
	o0 = lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v1.0", 4);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_get_format(log), TPA_EVENTLOG_CRYPTO_AGILE);
	assert_int_equal(tpa_eventlog_count(log), 2);
	assert_int_equal(tpa_eventlog_size(log), b->len);
	assert_int_equal(tpa_eventlog_alg_count(log), 2);
	assert_int_equal(tpa_eventlog_alg(log, 0), TPA_ALG_SHA1);
	assert_int_equal(tpa_eventlog_alg(log, 1), TPA_ALG_SHA256);
	assert_int_equal(tpa_eventlog_alg_size(log, 1), 32);
	tpa_eventlog_spec_version(log, &maj, &min, &err);
	assert_int_equal(maj, 2);
	assert_int_equal(min, 0);
	assert_int_equal(err, 0);
	ev = tpa_eventlog_get(log, 0);
	assert_int_equal(tpa_event_index(ev), 0);
	assert_int_equal(tpa_event_offset(ev), o0);
	assert_int_equal(o0, 32 + 37);
	assert_non_null(tpa_event_digest(ev, TPA_ALG_SHA256, &len));
	assert_int_equal(len, 32);
	assert_null(tpa_event_digest(ev, TPA_ALG_SHA384, NULL));
	tpa_eventlog_free(&log);
	free(b);
}

static void test_empty(void **state)
{
	tpa_eventlog *log = NULL;
	tpa_parse_error err;
	uint8_t one = 0;
	(void)state;
	assert_int_equal(tpa_eventlog_parse(&one, 0, &log, &err), TPA_E_MALFORMED);
	assert_int_equal(err.offset, 0);
	assert_null(log);
	assert_int_equal(tpa_eventlog_parse(NULL, 0, &log, NULL), TPA_E_MALFORMED);
	assert_int_equal(tpa_eventlog_parse(NULL, 5, &log, NULL), TPA_E_INVALID_ARG);
	assert_int_equal(tpa_eventlog_parse(&one, 1, NULL, NULL), TPA_E_INVALID_ARG);
	assert_null(log);
}

/* ---- lengths that lie ---- */

static void test_event_size_huge(void **state)
{
	lb *b = lb_new();
	size_t o;
	(void)state;

	/* crypto-agile: pcr, type, count, 2 digests, then the size */
	lb_specid_default(b);
	o = lb_ev2(b, 4, TPA_EV_EFI_ACTION, "abc", 3);
	b->len = o;
	lb_ev2(b, 4, TPA_EV_EFI_ACTION, "", 0);
	b->len -= 4;
	lb_u32(b, 0xffffffffu);
	lb_put(b, "abc", 3);
	/* TPA_EVENTLOG_MAX_SIZE is far below 4 GiB: a parser that allocated by
	 * the size field would fail here under ASan's allocation limit */
	expect_fail(b, TPA_E_TRUNCATED, o + 12 + 2 + 20 + 2 + 32);
	free(b);

	/* SHA-1 format */
	b = lb_new();
	lb_ev1(b, 0, TPA_EV_POST_CODE, NULL, "x", 1);
	o = b->len;
	lb_u32(b, 0);
	lb_u32(b, TPA_EV_POST_CODE);
	lb_zeros(b, 20);
	lb_u32(b, 0xffffffffu);
	lb_zeros(b, 7);
	expect_fail(b, TPA_E_TRUNCATED, o + 28);
	free(b);
}

static void test_digest_count_huge(void **state)
{
	lb *b = lb_new();
	size_t o;
	(void)state;
	lb_specid_default(b);
	o = b->len;
	lb_u32(b, 0);
	lb_u32(b, TPA_EV_POST_CODE);
	lb_u32(b, 0xffffffffu);
	lb_zeros(b, 64);
	lb_put(b, "\x01", 1);
	expect_fail(b, TPA_E_MALFORMED, o + 8);
	/* one more than declared */
	b->len = o;
	lb_u32(b, 0);
	lb_u32(b, TPA_EV_POST_CODE);
	lb_u32(b, 3);
	lb_zeros(b, 64);
	lb_put(b, "\x01", 1);
	expect_fail(b, TPA_E_MALFORMED, o + 8);
	free(b);
}

/* Cut a two-event agile log inside each field of the last record. */
static void test_truncation(void **state)
{
	lb *b = lb_new();
	size_t o, full;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v", 1);
	o = lb_ev2(b, 4, TPA_EV_EFI_ACTION, "Calling EFI Application", 23);
	full = b->len;

	struct {
		size_t cut; /* bytes of the last record kept */
		size_t at;  /* reported offset, relative to the record */
	} cases[] = {
	        {1, 0},             /* in the PCR index */
	        {7, 0},             /* in the type */
	        {10, 8},            /* in the digest count */
	        {13, 12},           /* in the first algorithm id */
	        {20, 14},           /* in the SHA-1 digest */
	        {12 + 22 + 1, 34},  /* in the second algorithm id */
	        {12 + 22 + 10, 36}, /* in the SHA-256 digest */
	        {12 + 56 + 2, 68},  /* in the event size */
	        {12 + 56 + 4, 68},  /* no data at all */
	        {full - o - 1, 68}, /* data one byte short */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b->len = o + cases[i].cut;
		/* nonzero bytes must be cut, or the tail reads as padding */
		assert_false(b->buf[o] == 0 && cases[i].cut < 4);
		expect_fail(b, TPA_E_TRUNCATED, o + cases[i].at);
	}
	/* cut in the Spec ID header: not recognised as crypto-agile, then
	 * read as a SHA-1 log whose first record runs past the end */
	b->len = 40;
	expect_fail(b, TPA_E_TRUNCATED, 28);
	free(b);
}

/* tpa_parse_error.event counts records, the Spec ID header included. */
static void test_error_record_index(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log = NULL;
	tpa_parse_error err;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v", 1);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	b->len--;
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, &err), TPA_E_TRUNCATED);
	assert_int_equal(err.event, 2);
	b->len = 0;
	lb_ev1(b, 0, TPA_EV_S_CRTM_VERSION, NULL, "v", 1);
	lb_ev1(b, 7, TPA_EV_SEPARATOR, NULL, sep0, 4);
	b->len--;
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, &err), TPA_E_TRUNCATED);
	assert_int_equal(err.event, 1);
	/* a bad Spec ID is record 0 */
	b->len = 0;
	lb_specid(b, 0, NULL, NULL);
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, &err), TPA_E_MALFORMED);
	assert_int_equal(err.event, 0);
	assert_null(log);
	free(b);
}

static void test_pcr_index(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	size_t o;
	(void)state;

	static const uint32_t bad[] = {24, 32, 0xffffffffu, 0x80000000u};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b->len = 0;
		b->nalgs = 0;
		lb_specid_default(b);
		lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v", 1);
		o = lb_ev2(b, bad[i], TPA_EV_SEPARATOR, sep0, 4);
		expect_fail(b, TPA_E_MALFORMED, o);
		/* and in the SHA-1 format */
		b->len = 0;
		lb_ev1(b, 0, TPA_EV_S_CRTM_VERSION, NULL, "v", 1);
		o = lb_ev1(b, bad[i], TPA_EV_SEPARATOR, NULL, sep0, 4);
		expect_fail(b, TPA_E_MALFORMED, o);
	}

	/* EV_NO_ACTION may use 0xFFFFFFFF (Windows), not 24 */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_ev2(b, 23, TPA_EV_SEPARATOR, sep0, 4);
	lb_ev2(b, 0xffffffffu, TPA_EV_NO_ACTION, "Windows!", 8);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(log), 2);
	assert_int_equal(tpa_event_pcr(tpa_eventlog_get(log, 1)), 0xffffffffu);
	p = replay(log);
	assert_int_equal(tpa_pcrs_get(p, TPA_ALG_SHA256, 23, NULL, NULL), TPA_OK);
	assert_int_equal(tpa_pcrs_bank_count(p), 2);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);

	o = lb_ev2(b, 24, TPA_EV_NO_ACTION, "x", 1);
	expect_fail(b, TPA_E_MALFORMED, o);
	free(b);
}

/* The caps: log size, event size, event count. */
static void test_limits(void **state)
{
	static const uint8_t one = 1;
	const size_t big = TPA_EVENTLOG_MAX_EVENT_SIZE + 64;
	uint8_t *buf = calloc(1, big > 32u * (TPA_EVENTLOG_MAX_EVENTS + 1)
	                                 ? big
	                                 : 32u * (TPA_EVENTLOG_MAX_EVENTS + 1));
	tpa_eventlog *log = NULL;
	tpa_parse_error err;
	(void)state;
	assert_non_null(buf);

	/* the length is refused before a byte is read */
	assert_int_equal(tpa_eventlog_parse(&one, (size_t)TPA_EVENTLOG_MAX_SIZE + 1, &log, &err),
	                 TPA_E_LIMIT);
	assert_int_equal(err.offset, 0);
	assert_null(log);

	/* an event larger than the cap, though the log holds it */
	buf[4] = TPA_EV_POST_CODE;
	buf[24] = 1; /* nonzero digest byte */
	buf[28] = (uint8_t)(TPA_EVENTLOG_MAX_EVENT_SIZE + 1);
	buf[29] = (uint8_t)((TPA_EVENTLOG_MAX_EVENT_SIZE + 1) >> 8);
	buf[30] = (uint8_t)((TPA_EVENTLOG_MAX_EVENT_SIZE + 1) >> 16);
	buf[31] = (uint8_t)((TPA_EVENTLOG_MAX_EVENT_SIZE + 1) >> 24);
	assert_int_equal(tpa_eventlog_parse(buf, 32 + TPA_EVENTLOG_MAX_EVENT_SIZE + 1, &log, &err),
	                 TPA_E_LIMIT);
	assert_int_equal(err.offset, 28);

	/* one event more than the cap: 32-byte SHA-1 records with no data */
	memset(buf, 0, 32 + TPA_EVENTLOG_MAX_EVENT_SIZE + 1);
	for (size_t i = 0; i <= TPA_EVENTLOG_MAX_EVENTS; i++) {
		buf[32 * i] = 1; /* PCR 1 */
		buf[32 * i + 4] = TPA_EV_POST_CODE;
	}
	assert_int_equal(tpa_eventlog_parse(buf, 32u * (TPA_EVENTLOG_MAX_EVENTS + 1), &log, &err),
	                 TPA_E_LIMIT);
	assert_int_equal(err.offset, 32u * TPA_EVENTLOG_MAX_EVENTS);
	assert_null(log);
	/* exactly the cap is fine */
	assert_int_equal(tpa_eventlog_parse(buf, 32u * TPA_EVENTLOG_MAX_EVENTS, &log, &err),
	                 TPA_OK);
	assert_int_equal(tpa_eventlog_count(log), TPA_EVENTLOG_MAX_EVENTS);
	tpa_eventlog_free(&log);
	free(buf);
}

/* ---- header games ---- */

static void test_specid_alg_count_zero(void **state)
{
	lb *b = lb_new();
	(void)state;
	lb_specid(b, 0, NULL, NULL);
	lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v", 1);
	expect_fail(b, TPA_E_MALFORMED, SPEC_NALGS_OFF);
	free(b);
}

static void test_specid_alg_count_limit(void **state)
{
	lb *b = lb_new();
	uint16_t a[17], s[17];
	(void)state;
	for (int i = 0; i < 17; i++) {
		a[i] = (uint16_t)(0x1000 + i);
		s[i] = 32;
	}
	lb_specid(b, 17, a, s);
	expect_fail(b, TPA_E_LIMIT, SPEC_NALGS_OFF);
	free(b);
}

static void test_specid_bad_size(void **state)
{
	static const uint16_t a[] = {TPA_ALG_SHA1, TPA_ALG_SHA256};
	static const uint16_t s[] = {20, 20};
	static const uint16_t a0[] = {0x1234};
	static const uint16_t s0[] = {0};
	static const uint16_t s65[] = {65};
	lb *b = lb_new();
	(void)state;
	lb_specid(b, 2, a, s);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(1));
	b->len = 0;
	lb_specid(b, 1, a0, s0);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(0));
	b->len = 0;
	lb_specid(b, 1, a0, s65);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(0));
	free(b);
}

/* A Spec ID event whose declared size ends inside its own fields.  The
 * parser calls the first case malformed and the other two truncated,
 * though in all three the log has the bytes and the event's size is what
 * is short. */
static void specid_cut(lb *b, size_t keep)
{
	static const uint16_t a[] = {TPA_ALG_SHA1, TPA_ALG_SHA256};
	static const uint16_t sz[] = {20, 32};
	b->len = 0;
	b->nalgs = 0;
	lb_specid(b, 2, a, sz);
	/* the event keeps `keep` bytes of its data; a record follows */
	b->buf[28] = (uint8_t)keep;
	b->len = 32 + keep;
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
}

static void test_specid_short(void **state)
{
	lb *b = lb_new();
	(void)state;
	specid_cut(b, 16 + 4);
	expect_fail(b, TPA_E_MALFORMED, 52);
	specid_cut(b, SPEC_ALG_OFF(1) + 2 - 32);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(1));
	specid_cut(b, SPEC_ALG_OFF(2) - 32);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(2));
	/* uintnSize 3 */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	b->buf[55] = 3;
	expect_fail(b, TPA_E_MALFORMED, 55);
	free(b);
}

static void test_specid_alg_twice(void **state)
{
	static const uint16_t a[] = {TPA_ALG_SHA256, TPA_ALG_SHA1, TPA_ALG_SHA256};
	static const uint16_t s[] = {32, 20, 32};
	lb *b = lb_new();
	(void)state;
	lb_specid(b, 3, a, s);
	expect_fail(b, TPA_E_MALFORMED, SPEC_ALG_OFF(2));
	free(b);
}

static void test_specid_unknown_alg_skipped(void **state)
{
	static const uint16_t a[] = {TPA_ALG_SHA1, 0x1234, TPA_ALG_SHA256};
	static const uint16_t s[] = {20, 32, 32};
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	const tpa_event *ev;
	const uint8_t *d;
	size_t len;
	uint8_t want[32] = {0}, h[32];
	(void)state;

	lb_specid(b, 3, a, s);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_alg_count(log), 3);
	assert_int_equal(tpa_eventlog_alg(log, 1), 0x1234);
	assert_int_equal(tpa_eventlog_alg_size(log, 1), 32);
	ev = tpa_eventlog_get(log, 0);
	/* the unknown digest was skipped by its declared size: the SHA-256
	 * digest after it is read where it is */
	d = tpa_event_digest(ev, 0x1234, &len);
	assert_non_null(d);
	assert_int_equal(len, 32);
	assert_int_equal(d[0], 0x5a);
	assert_int_equal(tpa_event_digest_check(ev), TPA_DIGEST_VERIFIED);
	p = replay(log);
	assert_int_equal(tpa_pcrs_bank_count(p), 2);
	lb_hash(TPA_ALG_SHA256, sep0, 4, h);
	lb_extend(TPA_ALG_SHA256, want, 32, h);
	assert_pcr(p, TPA_ALG_SHA256, 7, want);
	assert_no_pcr(p, 0x1234, 7);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_specid_sm3(void **state)
{
	static const uint16_t a[] = {TPA_ALG_SHA256, TPA_ALG_SM3_256};
	static const uint16_t s[] = {32, 32};
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t want[32] = {0}, h[32];
	(void)state;

	lb_specid(b, 2, a, s);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_alg(log, 1), TPA_ALG_SM3_256);
	p = replay(log);
	lb_hash(TPA_ALG_SHA256, sep0, 4, h);
	lb_extend(TPA_ALG_SHA256, want, 32, h);
	assert_pcr(p, TPA_ALG_SHA256, 7, want);
	if (lb_hash(TPA_ALG_SM3_256, sep0, 4, h)) {
		/* this OpenSSL has SM3: the bank is replayed and checked */
		memset(want, 0, sizeof(want));
		lb_extend(TPA_ALG_SM3_256, want, 32, h);
		assert_pcr(p, TPA_ALG_SM3_256, 7, want);
		assert_int_equal(tpa_event_digest_check(tpa_eventlog_get(log, 0)),
		                 TPA_DIGEST_VERIFIED);
	} else {
		assert_no_pcr(p, TPA_ALG_SM3_256, 7);
	}
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_specid_vendor_info(void **state)
{
	static const uint16_t a[] = {TPA_ALG_SHA256};
	static const uint16_t s[] = {32};
	static const uint8_t vendor[5] = {1, 2, 3, 4, 5};
	lb *b = lb_new();
	tpa_eventlog *log;
	size_t vo;
	(void)state;

	lb_specid_vendor(b, 1, a, s, vendor, 5);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(log), 1);
	tpa_eventlog_free(&log);

	/* vendorInfoSize 6 with 5 bytes left in the event */
	vo = SPEC_ALG_OFF(1);
	assert_int_equal(b->buf[vo], 5);
	b->buf[vo] = 6;
	expect_fail(b, TPA_E_MALFORMED, vo);
	/* vendorInfoSize 4: a byte left over inside the Spec ID event */
	b->buf[vo] = 4;
	expect_fail(b, TPA_E_MALFORMED, vo + 1 + 4);
	free(b);
}

static void test_digest_twice(void **state)
{
	lb *b = lb_new();
	uint8_t d[32] = {0};
	size_t o;
	(void)state;
	lb_specid_default(b);
	o = b->len;
	lb_u32(b, 4);
	lb_u32(b, TPA_EV_POST_CODE);
	lb_u32(b, 2);
	lb_u16(b, TPA_ALG_SHA256);
	lb_put(b, d, 32);
	lb_u16(b, TPA_ALG_SHA256);
	lb_put(b, d, 32);
	lb_u32(b, 0);
	expect_fail(b, TPA_E_MALFORMED, o + 12 + 34);
	free(b);
}

static void test_digest_undeclared(void **state)
{
	lb *b = lb_new();
	uint8_t d[48] = {0};
	size_t o;
	(void)state;
	lb_specid_default(b);
	o = b->len;
	lb_u32(b, 4);
	lb_u32(b, TPA_EV_POST_CODE);
	lb_u32(b, 2);
	lb_u16(b, TPA_ALG_SHA1);
	lb_put(b, d, 20);
	lb_u16(b, TPA_ALG_SHA384);
	lb_put(b, d, 48);
	lb_u32(b, 0);
	expect_fail(b, TPA_E_MALFORMED, o + 12 + 22);
	free(b);
}

/* An event without a SHA-256 digest: that bank of that PCR is incomplete,
 * nothing else is. */
static void test_missing_bank(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t d1[20], d256[32], w1[20] = {0}, w256[32] = {0}, w1b[20] = {0};
	uint8_t sha1_only[20];
	const tpa_event *ev;
	(void)state;

	lb_specid_default(b);
	lb_ev2(b, 5, TPA_EV_SEPARATOR, sep0, 4);
	/* PCR 4: one complete event, one with only SHA-1 */
	lb_ev2(b, 4, TPA_EV_SEPARATOR, sep0, 4);
	memset(sha1_only, 0x11, 20);
	lb_u32(b, 4);
	lb_u32(b, TPA_EV_EFI_BOOT_SERVICES_APPLICATION);
	lb_u32(b, 1);
	lb_u16(b, TPA_ALG_SHA1);
	lb_put(b, sha1_only, 20);
	lb_u32(b, 0);

	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(log), 3);
	ev = tpa_eventlog_get(log, 2);
	assert_null(tpa_event_digest(ev, TPA_ALG_SHA256, NULL));
	assert_non_null(tpa_event_digest(ev, TPA_ALG_SHA1, NULL));
	p = replay(log);
	lb_hash(TPA_ALG_SHA1, sep0, 4, d1);
	lb_hash(TPA_ALG_SHA256, sep0, 4, d256);
	lb_extend(TPA_ALG_SHA1, w1, 20, d1);
	lb_extend(TPA_ALG_SHA256, w256, 32, d256);
	/* PCR 5 complete in both banks */
	assert_pcr(p, TPA_ALG_SHA1, 5, w1);
	assert_pcr(p, TPA_ALG_SHA256, 5, w256);
	/* PCR 4: SHA-1 has a value, SHA-256 is incomplete */
	lb_extend(TPA_ALG_SHA1, w1b, 20, d1);
	lb_extend(TPA_ALG_SHA1, w1b, 20, sha1_only);
	assert_pcr(p, TPA_ALG_SHA1, 4, w1b);
	assert_true(tpa_pcrs_is_incomplete(p, TPA_ALG_SHA256, 4));
	assert_int_equal(tpa_pcrs_get(p, TPA_ALG_SHA256, 4, NULL, NULL), TPA_E_NOT_FOUND);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_second_specid(void **state)
{
	lb *b = lb_new();
	uint8_t spec[32] = "Spec ID Event03";
	size_t o;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, "v", 1);
	o = lb_ev2(b, 0, TPA_EV_NO_ACTION, spec, sizeof(spec));
	expect_fail(b, TPA_E_MALFORMED, o);
	free(b);
}

static void test_specid_not_pcr0(void **state)
{
	lb *b = lb_new();
	(void)state;
	lb_specid_default(b);
	b->buf[0] = 1;
	expect_fail(b, TPA_E_MALFORMED, 0);
	free(b);
}

/* ---- end of log ---- */

static void test_terminator(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	size_t o, end;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	o = b->len;
	/* type 0, size 0, digests present */
	lb_ev2_fill(b, 0, 0, 0x77, NULL, 0);
	end = b->len;
	assert_int_equal(end - o, 12 + 22 + 34 + 4);
	lb_zeros(b, 40);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(log), 1);
	assert_int_equal(tpa_eventlog_size(log), end);
	tpa_eventlog_free(&log);

	/* just the terminator, nothing after it */
	b->len = end;
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(log), 1);
	tpa_eventlog_free(&log);

	/* nonzero after the terminator */
	b->len = end;
	lb_zeros(b, 10);
	lb_u8(b, 1);
	lb_zeros(b, 3);
	expect_fail(b, TPA_E_TRAILING, end);
	free(b);
}

static void test_zero_tail(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	size_t end;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	end = b->len;
	for (size_t n = 1; n <= 100; n += 33) {
		b->len = end;
		lb_zeros(b, n);
		log = expect_ok(b);
		assert_int_equal(tpa_eventlog_count(log), 1);
		assert_int_equal(tpa_eventlog_size(log), end);
		tpa_eventlog_free(&log);
	}
	free(b);
}

static void test_garbage_tail(void **state)
{
	lb *b = lb_new();
	size_t end;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	end = b->len;
	/* 0xab...: an impossible digest count */
	memset(b->buf + end, 0xab, 40);
	b->len = end + 40;
	expect_fail(b, TPA_E_MALFORMED, end + 8);
	/* three bytes: too short for a record header */
	b->len = end + 3;
	expect_fail(b, TPA_E_TRUNCATED, end);
	assert_int_equal(tpa_err_classify(TPA_E_TRUNCATED), TPA_CLASS_MALFORMED);
	/* zeros then a stray byte: the zeros read as a terminator (type 0,
	 * no digests, size 0) and the stray byte is trailing data */
	memset(b->buf + end, 0, 40);
	b->buf[end + 39] = 1;
	b->len = end + 40;
	expect_fail(b, TPA_E_TRAILING, end + 16);
	free(b);
}

/* ---- replay ---- */

static void test_replay_extend(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t w1[20] = {0}, w256[32] = {0}, w7[32] = {0}, f1[20], f256[32];
	(void)state;

	lb_specid_default(b);
	for (uint8_t i = 1; i <= 3; i++)
		lb_ev2_fill(b, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, i, "img", 3);
	lb_ev2_fill(b, 4, TPA_EV_NO_ACTION, 0x99, "never", 5);
	lb_ev2_fill(b, 9, TPA_EV_NO_ACTION, 0x99, "never", 5);
	lb_ev2_fill(b, 7, TPA_EV_EFI_VARIABLE_AUTHORITY, 0x42, "", 0);
	log = expect_ok(b);
	p = replay(log);
	for (uint8_t i = 1; i <= 3; i++) {
		memset(f1, i, 20);
		memset(f256, i, 32);
		lb_extend(TPA_ALG_SHA1, w1, 20, f1);
		lb_extend(TPA_ALG_SHA256, w256, 32, f256);
	}
	assert_pcr(p, TPA_ALG_SHA1, 4, w1);
	assert_pcr(p, TPA_ALG_SHA256, 4, w256);
	memset(f256, 0x42, 32);
	lb_extend(TPA_ALG_SHA256, w7, 32, f256);
	assert_pcr(p, TPA_ALG_SHA256, 7, w7);
	/* only PCRs with measured events get a value */
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
		if (k == 4 || k == 7)
			continue;
		assert_no_pcr(p, TPA_ALG_SHA1, k);
		assert_no_pcr(p, TPA_ALG_SHA256, k);
	}
	assert_int_equal(tpa_pcrs_bank_count(p), 2);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 0);
	tpa_pcrs_free(&p);
	assert_int_equal(tpa_eventlog_replay(log, NULL), TPA_E_INVALID_ARG);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_replay_sha1_format(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t d[20], w[20] = {0};
	(void)state;
	memset(d, 0x33, 20);
	lb_ev1(b, 2, TPA_EV_EFI_BOOT_SERVICES_DRIVER, d, "drv", 3);
	lb_ev1(b, 2, TPA_EV_NO_ACTION, d, "drv", 3);
	lb_ev1(b, 2, TPA_EV_EFI_BOOT_SERVICES_DRIVER, d, "drv", 3);
	log = expect_ok(b);
	p = replay(log);
	lb_extend(TPA_ALG_SHA1, w, 20, d);
	lb_extend(TPA_ALG_SHA1, w, 20, d);
	assert_pcr(p, TPA_ALG_SHA1, 2, w);
	assert_no_pcr(p, TPA_ALG_SHA1, 0);
	assert_int_equal(tpa_pcrs_bank_count(p), 1);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	free(b);
}

static const uint8_t startup_loc3[17] = "StartupLocality\0\3";

/* PCR0's value when it starts at 00..0||init and gets one extend of fill. */
static void pcr0_after(uint16_t alg, size_t n, uint8_t init, uint8_t fill, uint8_t *out)
{
	uint8_t d[64];
	memset(out, 0, n);
	out[n - 1] = init;
	memset(d, fill, n);
	lb_extend(alg, out, n, d);
}

static void test_replay_startup_locality(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t w1[20], w256[32];
	(void)state;

	lb_specid_default(b);
	lb_ev2_fill(b, 0, TPA_EV_NO_ACTION, 0, startup_loc3, sizeof(startup_loc3));
	lb_ev2_fill(b, 0, TPA_EV_S_CRTM_VERSION, 0x21, "v", 1);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 3);
	p = replay(log);
	pcr0_after(TPA_ALG_SHA1, 20, 3, 0x21, w1);
	pcr0_after(TPA_ALG_SHA256, 32, 3, 0x21, w256);
	assert_pcr(p, TPA_ALG_SHA1, 0, w1);
	assert_pcr(p, TPA_ALG_SHA256, 0, w256);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);

	/* the same event in PCR1 does not move PCR0's start */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_ev2_fill(b, 1, TPA_EV_NO_ACTION, 0, startup_loc3, sizeof(startup_loc3));
	lb_ev2_fill(b, 0, TPA_EV_S_CRTM_VERSION, 0x21, "v", 1);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 0);
	p = replay(log);
	pcr0_after(TPA_ALG_SHA256, 32, 0, 0x21, w256);
	assert_pcr(p, TPA_ALG_SHA256, 0, w256);
	assert_no_pcr(p, TPA_ALG_SHA256, 1);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);

	/* after PCR0's first extend it is too late */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_ev2_fill(b, 0, TPA_EV_S_CRTM_VERSION, 0x21, "v", 1);
	lb_ev2_fill(b, 0, TPA_EV_NO_ACTION, 0, startup_loc3, sizeof(startup_loc3));
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 0);
	p = replay(log);
	assert_pcr(p, TPA_ALG_SHA256, 0, w256);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_replay_hcrtm(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	tpa_pcrs *p;
	uint8_t w256[32], d[32];
	(void)state;

	lb_specid_default(b);
	lb_ev2_fill(b, 0, TPA_EV_EFI_HCRTM_EVENT, 0x21, "HCRTM", 5);
	lb_ev2_fill(b, 0, TPA_EV_S_CRTM_VERSION, 0x22, "v", 1);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 4);
	p = replay(log);
	pcr0_after(TPA_ALG_SHA256, 32, 4, 0x21, w256);
	memset(d, 0x22, 32);
	lb_extend(TPA_ALG_SHA256, w256, 32, d);
	assert_pcr(p, TPA_ALG_SHA256, 0, w256);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);

	/* an H-CRTM event that is not PCR0's first measurement changes nothing */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_ev2_fill(b, 0, TPA_EV_S_CRTM_VERSION, 0x22, "v", 1);
	lb_ev2_fill(b, 0, TPA_EV_EFI_HCRTM_EVENT, 0x21, "HCRTM", 5);
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 0);
	tpa_eventlog_free(&log);
	free(b);
}

/* tpa_eventlog_ebs_missing: explains a PCR5 value by the two Exit Boot
 * Services actions the firmware extended but did not log. */
static void test_ebs_missing(void **state)
{
	static const char *const ebs[] = {"Exit Boot Services Invocation",
	                                  "Exit Boot Services Returned with Success"};
	lb *b = lb_new();
	tpa_eventlog *log;
	uint8_t want[32] = {0}, d[32];
	(void)state;

	lb_specid_default(b);
	lb_ev2(b, 5, TPA_EV_SEPARATOR, sep0, 4);
	log = expect_ok(b);
	lb_hash(TPA_ALG_SHA256, sep0, 4, d);
	lb_extend(TPA_ALG_SHA256, want, 32, d);
	for (int i = 0; i < 2; i++) {
		lb_hash(TPA_ALG_SHA256, ebs[i], strlen(ebs[i]), d);
		lb_extend(TPA_ALG_SHA256, want, 32, d);
	}
	assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA256, want, 32), 1);
	/* any other value is not explained */
	want[0] ^= 1;
	assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA256, want, 32), 0);
	want[0] ^= 1;
	assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA256, want, 20), 0);
	assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA384, want, 32), 0);
	tpa_eventlog_free(&log);

	/* a log that has the events needs no explanation */
	lb_ev2(b, 5, TPA_EV_EFI_ACTION, ebs[0], (uint32_t)strlen(ebs[0]));
	log = expect_ok(b);
	assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA256, want, 32), 0);
	tpa_eventlog_free(&log);
	free(b);
}

/* ---- digest verification ---- */

static const tpa_event *only_event(tpa_eventlog **log, lb *b)
{
	*log = expect_ok(b);
	assert_int_equal(tpa_eventlog_count(*log), 1);
	return tpa_eventlog_get(*log, 0);
}

static void test_digest_separator(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	size_t o;
	(void)state;

	lb_specid_default(b);
	o = lb_ev2(b, 7, TPA_EV_SEPARATOR, sep0, 4);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);
	/* flip one bit of the SHA-1 digest, then of the SHA-256 digest */
	b->buf[o + 14] ^= 1;
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_MISMATCH);
	tpa_eventlog_free(&log);
	b->buf[o + 14] ^= 1;
	b->buf[o + 12 + 22 + 2 + 31] ^= 0x80;
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_MISMATCH);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_digest_secureboot(void **state)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	uint8_t v0[64], v1[64], d1[20], d256[32];
	size_t n0, n1;
	const uint8_t zero = 0, one = 1;
	(void)state;

	n0 = lb_vardata(v0, sizeof(v0), lb_efi_global_guid, "SecureBoot", &zero, 1);
	n1 = lb_vardata(v1, sizeof(v1), lb_efi_global_guid, "SecureBoot", &one, 1);
	lb_specid_default(b);
	lb_ev2(b, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v1, (uint32_t)n1);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);

	/* data says 1, the digests are those of 0 */
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_hash(TPA_ALG_SHA1, v0, n0, d1);
	lb_hash(TPA_ALG_SHA256, v0, n0, d256);
	lb_u32(b, 7);
	lb_u32(b, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG);
	lb_u32(b, 2);
	lb_u16(b, TPA_ALG_SHA1);
	lb_put(b, d1, 20);
	lb_u16(b, TPA_ALG_SHA256);
	lb_put(b, d256, 32);
	lb_u32(b, (uint32_t)n1);
	lb_put(b, v1, n1);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_MISMATCH);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_digest_variable_boot(void **state)
{
	static const uint8_t opt[] = {1, 0, 0, 0, 4, 0, 'X', 0, 0, 0, 0x7f, 0xff, 4, 0};
	lb *b = lb_new();
	tpa_eventlog *log;
	uint8_t v[128], d1[20], d256[32];
	size_t n;
	(void)state;

	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001", opt, sizeof(opt));
	/* H(whole UEFI_VARIABLE_DATA), as PFP says */
	lb_specid_default(b);
	lb_ev2(b, 1, TPA_EV_EFI_VARIABLE_BOOT, v, (uint32_t)n);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);

	/* H(VariableData), as edk2 does */
	for (int variant = 0; variant < 2; variant++) {
		const uint8_t *src = variant == 0 ? opt : (const uint8_t *)"not the data....";
		b->len = 0;
		b->nalgs = 0;
		lb_specid_default(b);
		lb_hash(TPA_ALG_SHA1, src, sizeof(opt), d1);
		lb_hash(TPA_ALG_SHA256, src, sizeof(opt), d256);
		lb_u32(b, 1);
		lb_u32(b, TPA_EV_EFI_VARIABLE_BOOT);
		lb_u32(b, 2);
		lb_u16(b, TPA_ALG_SHA1);
		lb_put(b, d1, 20);
		lb_u16(b, TPA_ALG_SHA256);
		lb_put(b, d256, 32);
		lb_u32(b, (uint32_t)n);
		lb_put(b, v, n);
		assert_int_equal(tpa_event_digest_check(only_event(&log, b)),
		                 variant == 0 ? TPA_DIGEST_VERIFIED : TPA_DIGEST_MISMATCH);
		tpa_eventlog_free(&log);
	}
	/* H(VariableData) does not cover the name: a Boot0001 relabelled
	 * Boot0002 still verifies (PFP 1.05 wants H(whole), edk2 does not) */
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0002", opt, sizeof(opt));
	b->len -= n;
	lb_put(b, v, n);
	lb_hash(TPA_ALG_SHA1, opt, sizeof(opt), b->buf + b->len - n - 4 - 32 - 2 - 20);
	lb_hash(TPA_ALG_SHA256, opt, sizeof(opt), b->buf + b->len - n - 4 - 32);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_digest_not_applicable(void **state)
{
	static const uint32_t types[] = {TPA_EV_POST_CODE,
	                                 TPA_EV_EFI_BOOT_SERVICES_APPLICATION,
	                                 TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB,
	                                 TPA_EV_NO_ACTION,
	                                 TPA_EV_EFI_HANDOFF_TABLES,
	                                 0x12345678};
	lb *b = lb_new();
	tpa_eventlog *log;
	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		/* whether the digest matches the data or not */
		for (int match = 0; match < 2; match++) {
			b->len = 0;
			b->nalgs = 0;
			lb_specid_default(b);
			if (match)
				lb_ev2(b, 2, types[i], "0123456789abcdef", 16);
			else
				lb_ev2_fill(b, 2, types[i], 0x44, "0123456789abcdef", 16);
			assert_int_equal(tpa_event_digest_check(only_event(&log, b)),
			                 TPA_DIGEST_NOT_APPLICABLE);
			tpa_eventlog_free(&log);
		}
	}
	free(b);
}

static void test_digest_action_string(void **state)
{
	static const char act[] = "Calling EFI Application from Boot Option";
	lb *b = lb_new();
	tpa_eventlog *log;
	(void)state;
	lb_specid_default(b);
	lb_ev2(b, 4, TPA_EV_EFI_ACTION, act, sizeof(act) - 1);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_VERIFIED);
	tpa_eventlog_free(&log);
	b->len = 0;
	b->nalgs = 0;
	lb_specid_default(b);
	lb_ev2_fill(b, 4, TPA_EV_EFI_ACTION, 0x01, act, sizeof(act) - 1);
	assert_int_equal(tpa_event_digest_check(only_event(&log, b)), TPA_DIGEST_MISMATCH);
	tpa_eventlog_free(&log);
	free(b);
}

/* A NULL log is a usage error, not a crash. */
static void test_replay_null_log(void **state)
{
	tpa_pcrs *p = NULL;
	(void)state;
	assert_int_equal(tpa_eventlog_replay(NULL, &p), TPA_E_INVALID_ARG);
	assert_null(p);
}

/* EV_IPL: whole data (systemd-boot), or GRUB's string after its prefix,
 * with or without the NUL; anything else is not applicable, not a
 * mismatch (GRUB file measurements hash what is not in the log). */
static void ipl_case(const char *data, size_t len, const char *hashed, size_t hlen,
                     tpa_digest_check want)
{
	lb *b = lb_new();
	tpa_eventlog *log;
	uint8_t d1[20], d256[32];
	lb_specid_default(b);
	lb_hash(TPA_ALG_SHA1, hashed, hlen, d1);
	lb_hash(TPA_ALG_SHA256, hashed, hlen, d256);
	lb_u32(b, 8);
	lb_u32(b, TPA_EV_IPL);
	lb_u32(b, 2);
	lb_u16(b, TPA_ALG_SHA1);
	lb_put(b, d1, 20);
	lb_u16(b, TPA_ALG_SHA256);
	lb_put(b, d256, 32);
	lb_u32(b, (uint32_t)len);
	lb_put(b, data, len);
	log = expect_ok(b);
	if (tpa_event_digest_check(tpa_eventlog_get(log, 0)) != want)
		print_error("IPL \"%.*s\"\n", (int)len, data);
	assert_int_equal(tpa_event_digest_check(tpa_eventlog_get(log, 0)), want);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_digest_ipl(void **state)
{
	static const char cmd[] = "grub_cmd: linux /vmlinuz"; /* sizeof includes the NUL */
	static const char kcl[] = "kernel_cmdline: /vmlinuz root=/dev/sda1";
	static const char rh[] = "grub_kernel_cmdline (hd0,gpt2)/vmlinuz";
	(void)state;
	ipl_case(cmd, sizeof(cmd), cmd, sizeof(cmd), TPA_DIGEST_VERIFIED);
	ipl_case(cmd, sizeof(cmd), cmd + 10, sizeof(cmd) - 10, TPA_DIGEST_VERIFIED);
	ipl_case(cmd, sizeof(cmd), cmd + 10, sizeof(cmd) - 11, TPA_DIGEST_VERIFIED);
	ipl_case(kcl, sizeof(kcl), kcl + 16, sizeof(kcl) - 17, TPA_DIGEST_VERIFIED);
	ipl_case(rh, sizeof(rh) - 1, rh + 20, sizeof(rh) - 21, TPA_DIGEST_VERIFIED);
	/* the digest of another command line */
	ipl_case(cmd, sizeof(cmd), "linux /evil", 11, TPA_DIGEST_NOT_APPLICABLE);
	/* a prefix with nothing after it: the digest of the empty string */
	ipl_case("grub_cmd: ", 10, "", 0, TPA_DIGEST_VERIFIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sha1_format),
	        cmocka_unit_test(test_agile_header),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_event_size_huge),
	        cmocka_unit_test(test_digest_count_huge),
	        cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_error_record_index),
	        cmocka_unit_test(test_pcr_index),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_specid_alg_count_zero),
	        cmocka_unit_test(test_specid_alg_count_limit),
	        cmocka_unit_test(test_specid_bad_size),
	        cmocka_unit_test(test_specid_alg_twice),
	        cmocka_unit_test(test_specid_short),
	        cmocka_unit_test(test_specid_unknown_alg_skipped),
	        cmocka_unit_test(test_specid_sm3),
	        cmocka_unit_test(test_specid_vendor_info),
	        cmocka_unit_test(test_specid_not_pcr0),
	        cmocka_unit_test(test_digest_twice),
	        cmocka_unit_test(test_digest_undeclared),
	        cmocka_unit_test(test_missing_bank),
	        cmocka_unit_test(test_second_specid),
	        cmocka_unit_test(test_terminator),
	        cmocka_unit_test(test_zero_tail),
	        cmocka_unit_test(test_garbage_tail),
	        cmocka_unit_test(test_replay_extend),
	        cmocka_unit_test(test_replay_sha1_format),
	        cmocka_unit_test(test_replay_startup_locality),
	        cmocka_unit_test(test_replay_hcrtm),
	        cmocka_unit_test(test_ebs_missing),
	        cmocka_unit_test(test_digest_separator),
	        cmocka_unit_test(test_digest_secureboot),
	        cmocka_unit_test(test_digest_variable_boot),
	        cmocka_unit_test(test_digest_not_applicable),
	        cmocka_unit_test(test_digest_action_string),
	        cmocka_unit_test(test_digest_ipl),
	        cmocka_unit_test(test_replay_null_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
