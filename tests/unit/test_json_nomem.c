/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocation failure injection for the strict readers: the library's
 * malloc, calloc, realloc and strdup are wrapped (-Wl,--wrap) so that the
 * Nth one fails.  For every N until the call succeeds, tpa_json_parse,
 * tpa_evidence_from_json and tpa_pcrs_from_json return TPA_E_NOMEM with the
 * output untouched, never TPA_E_MALFORMED, and leak nothing (ASan builds).
 * json-c's own allocations are not affected: it is a shared library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tpmattest/evidence.h>

#include "base/json.h"

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

static int fail_now(void)
{
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
	return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n)
{
	return fail_now() ? NULL : __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

/* Escaped names (the arena), enough members to grow the name table, and a
 * number that goes through strtod. */
static char *doc_with_everything(size_t *len)
{
	size_t cap = 8192, l = 0;
	char *s = __real_malloc(cap);
	assert_non_null(s);
	l += (size_t)snprintf(s + l, cap - l, "{\"\\u0061\":0.1e309,\"big\":1e308,\"o\":{");
	for (int i = 0; i < 200; i++)
		l += (size_t)snprintf(s + l, cap - l, "%s\"k\\u00e9%d\":[%d]", i ? "," : "", i, i);
	l += (size_t)snprintf(s + l, cap - l, "}}");
	*len = l;
	return s;
}

static void test_json_parse(void **state)
{
	size_t len;
	char *doc = doc_with_everything(&len);
	(void)state;
	for (long n = 0;; n++) {
		struct json_object *o = NULL;
		int r;
		injected = 0;
		countdown = n;
		r = tpa_json_parse(doc, len, &o, NULL, 0);
		countdown = -1;
		if (!injected) {
			assert_int_equal(r, TPA_OK);
			json_object_put(o);
			/* the name table grew twice, the arena, two strtod copies */
			assert_true(n >= 5);
			break;
		}
		assert_int_equal(r, TPA_E_NOMEM);
		assert_null(o);
	}
	free(doc);
}

static const char evidence[] =
        "{\"format\":\"tpmattest-evidence\",\"version\":1,\"tool\":\"t\",\"nonce\":\"a0a1\","
        "\"ak\":{\"handle\":\"0x81000100\",\"public\":\"AAQAAQAL\",\"name\":\"000b\"},"
        "\"quote\":{\"attest\":\"/1RDRw==\",\"signature\":\"ABgACwE=\"},"
        "\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\"}},"
        "\"counter\":{\"index\":\"0x01000100\",\"name\":\"000b\",\"value\":1,"
        "\"attest\":\"/1RDRw==\",\"signature\":\"ABgACwE=\"},\"eventlog\":\"AAAA\","
        "\"ek_certificates\":{\"rsa\":\"AAAA\",\"ecc\":\"AAAA\"}}";

static void test_evidence(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		tpa_evidence *ev = NULL;
		int r;
		injected = 0;
		countdown = n;
		r = tpa_evidence_from_json(evidence, strlen(evidence), &ev);
		countdown = -1;
		if (!injected) {
			assert_int_equal(r, TPA_OK);
			tpa_evidence_free(&ev);
			assert_true(n >= 12); /* one per part at least */
			break;
		}
		assert_int_equal(r, TPA_E_NOMEM);
		assert_null(ev);
	}
}

static void test_pcrs(void **state)
{
	static const char pcrs[] =
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0x0000000000000000000000000000000000000000\"}}}";
	(void)state;
	for (long n = 0;; n++) {
		tpa_pcrs *p = NULL;
		int r;
		injected = 0;
		countdown = n;
		r = tpa_pcrs_from_json(pcrs, strlen(pcrs), &p, NULL);
		countdown = -1;
		if (!injected) {
			assert_int_equal(r, TPA_OK);
			tpa_pcrs_free(&p);
			assert_true(n >= 2);
			break;
		}
		assert_int_equal(r, TPA_E_NOMEM);
		assert_null(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_parse),
	        cmocka_unit_test(test_evidence),
	        cmocka_unit_test(test_pcrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
