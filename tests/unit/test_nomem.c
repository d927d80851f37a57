/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocation failure injection: the library's malloc, calloc, realloc and
 * strdup are wrapped (-Wl,--wrap) so that the Nth one fails.  For every N
 * until the call succeeds, parse, replay and decode must return
 * TPA_E_NOMEM with the output untouched, and leak nothing (ASan builds).
 * OpenSSL's own allocations are not affected: libcrypto is a shared library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "logbuild.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1; /* allocations left before one fails; -1: never */
static int injected;
static size_t largest; /* the largest single request seen */

static int fail_now(size_t n)
{
	if (n > largest)
		largest = n;
	if (countdown < 0)
		return 0;
	if (countdown-- == 0) {
		injected = 1;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return fail_now(n) ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n)
{
	return fail_now(k > SIZE_MAX / (n ? n : 1) ? SIZE_MAX : k * n) ? NULL : __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n)
{
	return fail_now(n) ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
	return fail_now(strlen(s) + 1) ? NULL : __real_strdup(s);
}

static void arm(long n)
{
	injected = 0;
	countdown = n;
}

static void disarm(void)
{
	countdown = -1;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static size_t utf16(uint8_t *out, const char *s)
{
	size_t n = 0;
	do {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	} while (*s++);
	return n;
}

/* PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,...)/\EFI\BOOT\BOOTX64.EFI */
static size_t devpath(uint8_t *p)
{
	size_t o = 0, pn;
	memcpy(p, "\x02\x01\x0c\x00\xd0\x41\x03\x0a\x00\x00\x00\x00", 12);
	o = 12;
	memcpy(p + o, "\x01\x01\x06\x00\x00\x03", 6);
	o += 6;
	memset(p + o, 0, 42);
	memcpy(p + o, "\x04\x01\x2a\x00\x01", 5);
	p[o + 40] = 2;
	p[o + 41] = 2;
	o += 42;
	pn = utf16(p + o + 4, "\\EFI\\BOOT\\BOOTX64.EFI");
	memcpy(p + o, "\x04\x04", 2);
	put_le(p + o + 2, 4 + pn, 2);
	o += 4 + pn;
	memcpy(p + o, "\x7f\xff\x04\x00", 4);
	return o + 4;
}

/* A log with one event of each type that decodes into many fields. */
static lb *rich_log(void)
{
	static const uint8_t sep[4] = {0};
	lb *b = lb_new();
	uint8_t d[2048], v[2048], dp[128];
	size_t n, dpn = devpath(dp);
	const uint8_t one = 1;

	lb_specid_default(b);
	lb_ev2(b, 0, TPA_EV_NO_ACTION, "StartupLocality\0\3", 17);
	n = utf16(d, "1.0");
	lb_ev2(b, 0, TPA_EV_S_CRTM_VERSION, d, (uint32_t)n);
	put_le(d, 0x820000, 8);
	put_le(d + 8, 0xe0000, 8);
	lb_ev2(b, 0, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, d, 16);
	d[0] = 3;
	memcpy(d + 1, "Fv1", 3);
	put_le(d + 4, 1, 8);
	memset(d + 12, 0x11, 16);
	put_le(d + 28, 0x1000, 8);
	lb_ev2(b, 1, TPA_EV_EFI_HANDOFF_TABLES2, d, 36);
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "SecureBoot", &one, 1);
	lb_ev2(b, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, (uint32_t)n);
	/* db: one EFI_SIGNATURE_LIST of three SHA-256 hashes */
	memcpy(d, "\x26\x16\xc4\xc1\x4c\x50\x92\x40\xac\xa9\x41\xf9\x36\x93\x43\x28", 16);
	put_le(d + 16, 28 + 3 * 48, 4);
	put_le(d + 20, 0, 4);
	put_le(d + 24, 48, 4);
	memset(d + 28, 0x5c, 3 * 48);
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "db", d, 28 + 3 * 48);
	lb_ev2(b, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, (uint32_t)n);
	/* Boot0001 */
	put_le(d, 1, 4);
	put_le(d + 4, dpn, 2);
	n = 6 + utf16(d + 6, "Linux Boot Manager");
	memcpy(d + n, dp, dpn);
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001", d, n + dpn);
	lb_ev2(b, 1, TPA_EV_EFI_VARIABLE_BOOT, v, (uint32_t)n);
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "BootOrder", "\x01\x00\x02\x00", 4);
	lb_ev2(b, 1, TPA_EV_EFI_VARIABLE_BOOT, v, (uint32_t)n);
	for (uint32_t p = 0; p < 8; p++)
		lb_ev2(b, p, TPA_EV_SEPARATOR, sep, 4);
	/* GPT with one partition */
	memset(d, 0, 92 + 8 + 128);
	memcpy(d, "EFI PART", 8);
	put_le(d + 12, 92, 4);
	put_le(d + 84, 128, 4);
	put_le(d + 92, 1, 8);
	n = utf16(d + 100 + 56, "root");
	lb_ev2(b, 5, TPA_EV_EFI_GPT_EVENT, d, 92 + 8 + 128);
	put_le(d, 0x7e000000, 8);
	put_le(d + 8, 0x1000, 8);
	put_le(d + 16, 0, 8);
	put_le(d + 24, dpn, 8);
	memcpy(d + 32, dp, dpn);
	lb_ev2(b, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, d, (uint32_t)(32 + dpn));
	lb_ev2(b, 8, TPA_EV_IPL, "grub_cmd: linux /vmlinuz\n", 26);
	lb_ev2(b, 5, TPA_EV_EFI_ACTION, "Exit Boot Services Invocation", 29);
	put_le(d, 7, 4);
	put_le(d + 4, 3, 4);
	memcpy(d + 8, "abc", 3);
	lb_ev2(b, 6, TPA_EV_EVENT_TAG, d, 11);
	lb_ev2(b, 9, 0x4242, "opaque", 6);
	/* many events, so the event array grows more than once */
	for (int i = 0; i < 150; i++)
		lb_ev2_fill(b, 10, TPA_EV_POST_CODE, (uint8_t)i, "", 0);
	return b;
}

static void test_parse(void **state)
{
	lb *b = rich_log();
	tpa_eventlog *const sentinel = (tpa_eventlog *)(uintptr_t)1;
	long n;
	(void)state;
	for (n = 0;; n++) {
		tpa_eventlog *log = sentinel;
		int r;
		arm(n);
		r = tpa_eventlog_parse(b->buf, b->len, &log, NULL);
		disarm();
		if (!injected) {
			assert_int_equal(r, TPA_OK);
			assert_int_equal(tpa_eventlog_count(log), 172);
			tpa_eventlog_free(&log);
			break;
		}
		assert_int_equal(r, TPA_E_NOMEM);
		assert_ptr_equal(log, sentinel);
	}
	assert_true(n >= 3); /* the log, its bytes, the event array and its growth */
	free(b);
}

static void test_replay(void **state)
{
	lb *b = rich_log();
	tpa_eventlog *log = NULL;
	tpa_pcrs *const sentinel = (tpa_pcrs *)(uintptr_t)1;
	long n;
	(void)state;
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, NULL), TPA_OK);
	for (n = 0;; n++) {
		tpa_pcrs *p = sentinel;
		int r;
		arm(n);
		r = tpa_eventlog_replay(log, &p);
		disarm();
		if (!injected) {
			assert_int_equal(r, TPA_OK);
			assert_int_equal(tpa_pcrs_get(p, TPA_ALG_SHA256, 10, NULL, NULL), TPA_OK);
			tpa_pcrs_free(&p);
			break;
		}
		assert_int_equal(r, TPA_E_NOMEM);
		assert_ptr_equal(p, sentinel);
	}
	assert_true(n >= 1);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_decode(void **state)
{
	lb *b = rich_log();
	tpa_eventlog *log = NULL;
	tpa_field *const sentinel = (tpa_field *)(uintptr_t)1;
	long total = 0;
	(void)state;
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, NULL), TPA_OK);
	for (size_t i = 0; i < 25; i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		for (long n = 0;; n++) {
			tpa_field *f = sentinel;
			int r;
			arm(n);
			r = tpa_event_decode(ev, &f);
			disarm();
			if (!injected) {
				assert_int_equal(r, TPA_OK);
				assert_non_null(f);
				assert_null(tpa_field_get(f, "decode_error"));
				tpa_fields_free(&f);
				total += n;
				break;
			}
			if (r != TPA_E_NOMEM)
				print_error("event %zu (type 0x%x), allocation %ld: %d\n", i,
				            tpa_event_type(ev), n, r);
			assert_int_equal(r, TPA_E_NOMEM);
			assert_ptr_equal(f, sentinel);
		}
	}
	print_message("%ld allocation failures injected\n", total);
	assert_true(total > 100);
	tpa_eventlog_free(&log);
	free(b);
}

/* Sizes that lie (event size, digest count 0xFFFFFFFF) size no allocation:
 * the parser allocates its copy of the log and a small event array. */
static void test_no_allocation_from_lengths(void **state)
{
	lb *b = lb_new();
	size_t base;
	(void)state;
	lb_specid_default(b);
	lb_ev2_fill(b, 4, TPA_EV_POST_CODE, 1, "x", 1);
	base = b->len;
	for (int variant = 0; variant < 2; variant++) {
		tpa_eventlog *log = NULL;
		b->len = base;
		lb_u32(b, 4);
		lb_u32(b, TPA_EV_POST_CODE);
		if (variant == 0) {
			lb_u32(b, 0xffffffffu); /* digest count */
		} else {
			lb_u32(b, 0); /* no digests, then the event size */
			lb_u32(b, 0xffffffffu);
		}
		lb_zeros(b, 16);
		largest = 0;
		assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, NULL),
		                 variant == 0 ? TPA_E_MALFORMED : TPA_E_TRUNCATED);
		assert_null(log);
		assert_true(largest > 0);
		/* nothing near the 4 GiB (or 4G digests) the fields claim */
		assert_true(largest <= 1u << 20);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_replay),
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_no_allocation_from_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
