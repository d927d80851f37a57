/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The strict JSON reader (src/base/json.h): exactly RFC 8259, no NUL, no
 * duplicate member names, bounded depth; each refusal with its error code
 * and the byte offset the reason names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tpmattest/tpmattest.h>

#include "base/json.h"
#include "base/util.h"

/* A sentinel *out must keep when the parse fails. */
static int sentinel;
#define untouched ((struct json_object *)(void *)&sentinel)

/* Parses n bytes of s; on failure checks that why starts with "byte AT:"
 * and contains reason, and that *out was left alone. */
static void refused_n(const char *s, size_t n, int want, size_t at, const char *reason)
{
	struct json_object *o = untouched;
	char why[256], prefix[32];
	int r = tpa_json_parse(s, n, &o, why, sizeof(why));
	if (r != want)
		fail_msg("%.60s: want %d, got %d (%s)", s, want, r, r ? why : "accepted");
	assert_ptr_equal(o, untouched);
	snprintf(prefix, sizeof(prefix), "byte %zu: ", at);
	if (strncmp(why, prefix, strlen(prefix)) != 0 || !strstr(why, reason))
		fail_msg("%.60s: want \"%s...%s\", got \"%s\"", s, prefix, reason, why);
}

static void refused(const char *s, int want, size_t at, const char *reason)
{
	refused_n(s, strlen(s), want, at, reason);
}

/* Parses n bytes of s, which must be accepted; returns the tree. */
static struct json_object *accepted_n(const char *s, size_t n)
{
	struct json_object *o = untouched;
	char why[256] = "";
	int r = tpa_json_parse(s, n, &o, why, sizeof(why));
	if (r != TPA_OK)
		fail_msg("%.60s: refused with %d: %s", s, r, why);
	assert_ptr_not_equal(o, untouched);
	return o;
}

static struct json_object *accepted(const char *s)
{
	return accepted_n(s, strlen(s));
}

static void accept_and_put(const char *s)
{
	struct json_object *o = accepted(s);
	json_object_put(o);
}

static void test_grammar_refusals(void **state)
{
	(void)state;
	refused("{'a':1}", TPA_E_MALFORMED, 1, "single quote");
	refused("['a']", TPA_E_MALFORMED, 1, "single quote");
	refused("{\"a\":'b'}", TPA_E_MALFORMED, 5, "single quote");
	refused("/* c */ {}", TPA_E_MALFORMED, 0, "comment");
	refused("{} // c", TPA_E_MALFORMED, 3, "data after the JSON document");
	refused("{\"a\":1 /* c */}", TPA_E_MALFORMED, 7, "comment");
	refused("{\"a\":1,}", TPA_E_MALFORMED, 7, "trailing comma");
	refused("[1,2,]", TPA_E_MALFORMED, 5, "trailing comma");
	refused("[1, ]", TPA_E_MALFORMED, 4, "trailing comma");
	refused("[,1]", TPA_E_MALFORMED, 1, "expected a value");
	refused("[1,,2]", TPA_E_MALFORMED, 3, "expected a value");
	refused("{,}", TPA_E_MALFORMED, 1, "expected a member name");
	refused("{a:1}", TPA_E_MALFORMED, 1, "expected a member name");
	refused("{1:1}", TPA_E_MALFORMED, 1, "expected a member name");
	refused("{\"a\" 1}", TPA_E_MALFORMED, 5, "expected ':'");
	refused("{\"a\":1 \"b\":2}", TPA_E_MALFORMED, 7, "expected ',' or '}'");
	refused("[1 2]", TPA_E_MALFORMED, 3, "expected ',' or ']'");
	refused("[1}", TPA_E_MALFORMED, 2, "expected ',' or ']'");
	refused("{\"a\":1]", TPA_E_MALFORMED, 6, "expected ',' or '}'");
	refused("", TPA_E_MALFORMED, 0, "unexpected end");
	refused("   ", TPA_E_MALFORMED, 3, "unexpected end");
	refused("[", TPA_E_MALFORMED, 1, "unexpected end");
	refused("{\"a\":", TPA_E_MALFORMED, 5, "unexpected end");
	refused("[1", TPA_E_MALFORMED, 2, "unexpected end");
	refused("[] []", TPA_E_MALFORMED, 3, "data after the JSON document");
	refused("{}x", TPA_E_MALFORMED, 2, "data after the JSON document");
	/* only space, tab, CR and LF are whitespace */
	refused("\f[]", TPA_E_MALFORMED, 0, "byte 0x0c");
	refused("[\v1]", TPA_E_MALFORMED, 1, "byte 0x0b");
	refused("[]\f", TPA_E_MALFORMED, 2, "data after");
	refused("\xef\xbb\xbf[]", TPA_E_MALFORMED, 0, "byte 0xef"); /* no byte-order mark */
	refused("\xc2\xa0[]", TPA_E_MALFORMED, 0, "byte 0xc2");     /* NBSP */
}

static void test_words_and_numbers(void **state)
{
	(void)state;
	refused("[tru]", TPA_E_MALFORMED, 1, "bare word");
	refused("[nul]", TPA_E_MALFORMED, 1, "bare word");
	refused("[undefined]", TPA_E_MALFORMED, 1, "bare word");
	refused("[True]", TPA_E_MALFORMED, 1, "unexpected 'T'");
	refused("[truex]", TPA_E_MALFORMED, 5, "expected ',' or ']'");
	refused("[NaN]", TPA_E_MALFORMED, 1, "NaN and Infinity");
	refused("[Infinity]", TPA_E_MALFORMED, 1, "NaN and Infinity");
	refused("[-Infinity]", TPA_E_MALFORMED, 1, "number without digits");
	refused("[01]", TPA_E_MALFORMED, 1, "leading zero");
	refused("[-01]", TPA_E_MALFORMED, 1, "leading zero");
	refused("[00]", TPA_E_MALFORMED, 1, "leading zero");
	refused("[1.]", TPA_E_MALFORMED, 1, "no digit after '.'");
	refused("[1.e5]", TPA_E_MALFORMED, 1, "no digit after '.'");
	refused("[.5]", TPA_E_MALFORMED, 1, "unexpected '.'");
	refused("[+1]", TPA_E_MALFORMED, 1, "unexpected '+'");
	refused("[-]", TPA_E_MALFORMED, 1, "number without digits");
	refused("[1e]", TPA_E_MALFORMED, 1, "empty exponent");
	refused("[1e+]", TPA_E_MALFORMED, 1, "empty exponent");
	refused("[0x10]", TPA_E_MALFORMED, 2, "unexpected 'x'");
	refused("[1_000]", TPA_E_MALFORMED, 2, "unexpected '_'");
	/* what json-c would clamp or make infinite */
	refused("[18446744073709551616]", TPA_E_LIMIT, 1, "integer out of range");
	refused("[99999999999999999999999]", TPA_E_LIMIT, 1, "integer out of range");
	refused("[-9223372036854775809]", TPA_E_LIMIT, 1, "integer out of range");
	refused("[1e309]", TPA_E_LIMIT, 1, "number out of range");
	refused("[-1.7976931348623159e308]", TPA_E_LIMIT, 1, "number out of range");
	refused("[1e999999999999999999999]", TPA_E_LIMIT, 1, "number out of range");

	accept_and_put("[18446744073709551615, -9223372036854775808, 0, -0, 1.5e-400]");
	accept_and_put("[1.7976931348623157e308, 0.1e309, 0.000e99999, 1E+2, 1e-2, -0.0e-0]");
	accept_and_put("[true, false, null]");
}

static void test_string_refusals(void **state)
{
	(void)state;
	refused("[\"a\x01\"]", TPA_E_MALFORMED, 3, "control character 0x01");
	refused("[\"a\tb\"]", TPA_E_MALFORMED, 3, "control character 0x09");
	refused("[\"a\nb\"]", TPA_E_MALFORMED, 3, "control character 0x0a");
	refused("[\"\x1f\"]", TPA_E_MALFORMED, 2, "control character 0x1f");
	refused("[\"\\x41\"]", TPA_E_MALFORMED, 2, "bad escape");
	refused("[\"\\a\"]", TPA_E_MALFORMED, 2, "bad escape");
	refused("[\"\\'\"]", TPA_E_MALFORMED, 2, "bad escape");
	refused("[\"\\u12\"]", TPA_E_MALFORMED, 2, "four hex digits");
	refused("[\"\\u12g4\"]", TPA_E_MALFORMED, 2, "four hex digits");
	refused("[\"\\U0041\"]", TPA_E_MALFORMED, 2, "bad escape");
	refused("[\"abc", TPA_E_MALFORMED, 1, "string not terminated");
	refused("[\"abc\\", TPA_E_MALFORMED, 1, "string not terminated");
	refused("[\"abc\\\"]", TPA_E_MALFORMED, 1, "string not terminated");
	/* surrogates */
	refused("[\"\\ud800\"]", TPA_E_MALFORMED, 2, "lone high surrogate \\ud800");
	refused("[\"\\udbff x\"]", TPA_E_MALFORMED, 2, "lone high surrogate");
	refused("[\"\\ud800\\u0041\"]", TPA_E_MALFORMED, 2, "lone high surrogate");
	refused("[\"\\ud800\\ud800\"]", TPA_E_MALFORMED, 2, "lone high surrogate");
	refused("[\"\\udc00\"]", TPA_E_MALFORMED, 2, "lone low surrogate \\udc00");
	refused("[\"\\ud83d\\ude00\\ude00\"]", TPA_E_MALFORMED, 14, "lone low surrogate");
	/* UTF-8: overlongs, encoded surrogates, above U+10FFFF, truncated */
	refused("[\"\xc0\x80\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xc1\xbf\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xe0\x80\xaf\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xf0\x80\x80\xaf\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xed\xa0\x80\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xed\xbf\xbf\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xf4\x90\x80\x80\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xf5\x80\x80\x80\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xff\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"a\x80\"]", TPA_E_MALFORMED, 3, "not UTF-8");
	refused("[\"\xc3\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\"\xe2\x82\"]", TPA_E_MALFORMED, 2, "not UTF-8");
	refused_n("[\"\xe2\x82", 4, TPA_E_MALFORMED, 2, "not UTF-8");
	refused("[\xc3\xa9]", TPA_E_MALFORMED, 1, "byte 0xc3"); /* outside a string */

	accept_and_put(
	        "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xee\x80\x80\x7f\"]");
	accept_and_put(
	        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9\\ud83d\\ude00\\uDBFF\\uDFFF\"]");
}

static void test_nul(void **state)
{
	static const char raw[] = "{\"a\":\"x\0y\"}";
	static const char rawkey[] = "{\"a\0\":1}";
	static const char outside[] = "[1,\0 2]";
	struct json_object *o, *v;
	(void)state;
	refused_n(raw, sizeof(raw) - 1, TPA_E_MALFORMED, 7, "NUL byte in a string");
	refused_n(rawkey, sizeof(rawkey) - 1, TPA_E_MALFORMED, 3, "NUL byte in a string");
	refused_n(outside, sizeof(outside) - 1, TPA_E_MALFORMED, 3, "NUL byte");
	refused("{\"format\":\"tpmattest-evidence\\u0000v9\"}", TPA_E_MALFORMED, 29,
	        "\\u0000 in a string");
	refused("{\"a\\u0000\":1}", TPA_E_MALFORMED, 3, "\\u0000 in a string");
	refused("[\"AAAA\\u0000junk\"]", TPA_E_MALFORMED, 6, "\\u0000 in a string");

	/* an escaped backslash followed by u0000 is six ordinary characters */
	o = accepted("[\"\\\\u0000\"]");
	v = json_object_array_get_idx(o, 0);
	assert_string_equal(json_object_get_string(v), "\\u0000");
	assert_int_equal(json_object_get_string_len(v), 6);
	json_object_put(o);
	/* \u0001 is not NUL, and its strlen is its length */
	o = accepted("[\"\\u0001\"]");
	v = json_object_array_get_idx(o, 0);
	assert_int_equal(json_object_get_string_len(v), 1);
	assert_int_equal(strlen(json_object_get_string(v)), 1);
	json_object_put(o);
}

static void test_duplicates(void **state)
{
	struct json_object *o;
	(void)state;
	refused("{\"a\":1,\"a\":2}", TPA_E_MALFORMED, 7, "member name already used at byte 1");
	refused("{\"a\":1,\"b\":2,\"a\":1}", TPA_E_MALFORMED, 13, "already used at byte 1");
	/* compared decoded */
	refused("{\"a\":1,\"\\u0061\":2}", TPA_E_MALFORMED, 7, "already used at byte 1");
	refused("{\"\\u0061\":1,\"a\":2}", TPA_E_MALFORMED, 12, "already used at byte 1");
	refused("{\"\\/\":1,\"/\":2}", TPA_E_MALFORMED, 8, "already used at byte 1");
	refused("{\"\\u00e9\":1,\"\xc3\xa9\":2}", TPA_E_MALFORMED, 12, "already used at byte 1");
	refused("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", TPA_E_MALFORMED, 18,
	        "already used at byte 1");
	refused("{\"\":1,\"\":2}", TPA_E_MALFORMED, 6, "already used at byte 1");
	/* at any depth, even when the outer object is fine */
	refused("{\"x\":[{\"b\":1,\"b\":2}]}", TPA_E_MALFORMED, 13, "already used at byte 7");
	refused("{\"x\":{\"y\":1},\"x\":{}}", TPA_E_MALFORMED, 13, "already used at byte 1");

	/* the same name in different objects, and names that only look alike */
	o = accepted("{\"a\":{\"a\":1},\"b\":{\"a\":{\"a\":2}},\"c\":[{\"a\":1},{\"a\":2}]}");
	json_object_put(o);
	accept_and_put("{\"a\":1,\"A\":2,\"a \":3,\"ab\":4,\"\\u00e9\":5,\"e\\u0301\":6}");
	accept_and_put("{\"\\\\u0061\":1,\"a\":2}");
}

/* A document of n members named k0..k{n-1}, the last one named dup if
 * dup >= 0. */
static char *members(size_t n, long dup, size_t *len)
{
	size_t cap = 32 * n + 16, l = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[l++] = '{';
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(s + l, cap - l, "%s\"k%zu\":%zu", i ? "," : "",
		                      dup >= 0 && i == n - 1 ? (size_t)dup : i, i);
	s[l++] = '}';
	*len = l;
	return s;
}

static void test_many_members(void **state)
{
	size_t len;
	char *s;
	struct json_object *o;
	(void)state;
	s = members(100000, -1, &len);
	o = accepted_n(s, len);
	assert_int_equal(json_object_object_length(o), 100000);
	json_object_put(o);
	free(s);
	s = members(100000, 3, &len);
	/* {"k0":0,"k1":1,"k2":2,"k3":3,...,"k3":99999}: the first "k3" is at 22 */
	refused_n(s, len, TPA_E_MALFORMED, len - 1 - strlen("\"k3\":99999"),
	          "already used at byte 22");
	free(s);
}

static char *nest(unsigned depth, const char *inner, size_t *len)
{
	size_t il = strlen(inner), l = 0;
	char *s = malloc(2 * depth + il + 1);
	assert_non_null(s);
	for (unsigned i = 0; i < depth; i++)
		s[l++] = '[';
	memcpy(s + l, inner, il);
	l += il;
	for (unsigned i = 0; i < depth; i++)
		s[l++] = ']';
	s[l] = '\0';
	*len = l;
	return s;
}

static void test_depth(void **state)
{
	size_t len;
	char *s;
	(void)state;
	/* the document is depth 1: 32 arrays, the innermost empty */
	s = nest(TPA_JSON_MAX_DEPTH - 1, "[]", &len);
	json_object_put(accepted_n(s, len));
	free(s);
	s = nest(TPA_JSON_MAX_DEPTH, "[]", &len);
	refused_n(s, len, TPA_E_LIMIT, TPA_JSON_MAX_DEPTH, "nested deeper than 32");
	free(s);
	/* a scalar is a value too */
	s = nest(TPA_JSON_MAX_DEPTH - 1, "1", &len);
	json_object_put(accepted_n(s, len));
	free(s);
	s = nest(TPA_JSON_MAX_DEPTH, "1", &len);
	refused_n(s, len, TPA_E_LIMIT, TPA_JSON_MAX_DEPTH, "nested deeper");
	free(s);
	s = nest(TPA_JSON_MAX_DEPTH - 1, "{\"a\":{}}", &len);
	refused_n(s, len, TPA_E_LIMIT, TPA_JSON_MAX_DEPTH + 4, "nested deeper");
	free(s);
	/* far too deep is refused at the cap, without recursion */
	s = nest(100000, "", &len);
	refused_n(s, len, TPA_E_LIMIT, TPA_JSON_MAX_DEPTH, "nested deeper");
	free(s);
}

static void test_whitespace_and_scalars(void **state)
{
	struct json_object *o;
	(void)state;
	o = accepted(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n, \"b\" : { } } \t\r\n");
	assert_int_equal(json_object_object_length(o), 2);
	json_object_put(o);
	/* any value is a document (RFC 8259 2); json-c has null as NULL */
	o = accepted(" 17 ");
	assert_int_equal(json_object_get_int64(o), 17);
	json_object_put(o);
	o = accepted("-0");
	assert_true(json_object_is_type(o, json_type_int));
	json_object_put(o);
	o = accepted("\"x\"");
	assert_string_equal(json_object_get_string(o), "x");
	json_object_put(o);
	o = accepted("true");
	assert_true(json_object_get_boolean(o));
	json_object_put(o);
	o = accepted("null");
	assert_null(o);
	accept_and_put("[]");
	accept_and_put("{}");
	accept_and_put("{\"\":\"\"}");
}

/* Exactly len bytes are read: the text need not end in NUL, and what
 * follows it does not count. */
static void test_length_not_strlen(void **state)
{
	static const char buf[] = "[1,2]garbage";
	static const char num[] = "123456";
	struct json_object *o;
	(void)state;
	o = accepted_n(buf, 5);
	assert_int_equal(json_object_array_length(o), 2);
	json_object_put(o);
	refused_n(buf, 4, TPA_E_MALFORMED, 4, "unexpected end");
	o = accepted_n(num, 3);
	assert_int_equal(json_object_get_int64(o), 123);
	json_object_put(o);
}

static void test_size_and_args(void **state)
{
	char *big;
	struct json_object *o = untouched;
	char why[64];
	(void)state;
	assert_non_null(big = malloc(TPA_JSON_MAX + 1));
	memset(big, ' ', TPA_JSON_MAX + 1);
	big[0] = '[';
	big[TPA_JSON_MAX - 1] = ']';
	o = accepted_n(big, TPA_JSON_MAX);
	json_object_put(o);
	o = untouched;
	assert_int_equal(tpa_json_parse(big, TPA_JSON_MAX + 1, &o, why, sizeof(why)), TPA_E_LIMIT);
	assert_non_null(strstr(why, "larger than"));
	assert_ptr_equal(o, untouched);
	free(big);

	assert_int_equal(tpa_json_parse(NULL, 0, &o, why, sizeof(why)), TPA_E_INVALID_ARG);
	assert_int_equal(tpa_json_parse("{}", 2, NULL, why, sizeof(why)), TPA_E_INVALID_ARG);
	/* why is optional, and a short one is cut, not overrun */
	assert_int_equal(tpa_json_parse("[1,]", 4, &o, NULL, 0), TPA_E_MALFORMED);
	assert_int_equal(tpa_json_parse("[1,]", 4, &o, why, 6), TPA_E_MALFORMED);
	assert_string_equal(why, "byte ");
	assert_ptr_equal(o, untouched);
}

/* The value budget, not the size, bounds json-c's tree: "[{},{},...]" of
 * 16 MiB took 4.3 GB of memory before it (adversarial review). */
static void test_value_budget(void **state)
{
	size_t n = TPA_JSON_MAX_VALUES, len = 2 * n + 1;
	char *doc, why[96];
	struct json_object *o = untouched;
	(void)state;
	assert_non_null(doc = malloc(len));
	/* [0,0,...] with n - 1 zeros: n values, accepted */
	doc[0] = '[';
	for (size_t i = 0; i < n - 1; i++) {
		doc[1 + 2 * i] = '0';
		doc[2 + 2 * i] = ',';
	}
	doc[2 * (n - 1)] = ']';
	o = accepted_n(doc, 2 * (n - 1) + 1);
	json_object_put(o);
	/* one more: refused before json-c builds anything */
	o = untouched;
	doc[2 * (n - 1)] = ',';
	doc[2 * (n - 1) + 1] = '0';
	doc[2 * n] = ']';
	assert_int_equal(tpa_json_parse(doc, len, &o, why, sizeof(why)), TPA_E_LIMIT);
	assert_non_null(strstr(why, "more than 1200000 values"));
	assert_ptr_equal(o, untouched);
	/* a caller's own budget */
	assert_int_equal(tpa_json_parse_max("[[],{},1]", 9, 64, 3, &o, why, sizeof(why)),
	                 TPA_E_LIMIT);
	assert_string_equal(why, "byte 7: more than 3 values");
	o = NULL;
	assert_int_equal(tpa_json_parse_max("[[],{}]", 7, 64, 3, &o, why, sizeof(why)), TPA_OK);
	json_object_put(o);
	free(doc);
}

static void test_hex(void **state)
{
	uint8_t b[4];
	(void)state;
	assert_int_equal(tpa_json_hex_decode("0a1bff00", 8, b, 4), TPA_OK);
	assert_memory_equal(b, "\x0a\x1b\xff\x00", 4);
	assert_int_equal(tpa_json_hex_decode("", 0, b, 0), TPA_OK);
	assert_int_equal(tpa_json_hex_decode("0A1BFF00", 8, b, 4), TPA_E_MALFORMED);
	assert_int_equal(tpa_json_hex_decode("0a1bff0", 7, b, 4), TPA_E_MALFORMED);
	assert_int_equal(tpa_json_hex_decode("0a1bff00", 8, b, 3), TPA_E_MALFORMED);
	assert_int_equal(tpa_json_hex_decode("0x1bff00", 8, b, 4), TPA_E_MALFORMED);
	assert_int_equal(tpa_json_hex_decode("0a1b ff0", 8, b, 4), TPA_E_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_grammar_refusals),
	        cmocka_unit_test(test_words_and_numbers),
	        cmocka_unit_test(test_string_refusals),
	        cmocka_unit_test(test_nul),
	        cmocka_unit_test(test_duplicates),
	        cmocka_unit_test(test_many_members),
	        cmocka_unit_test(test_depth),
	        cmocka_unit_test(test_whitespace_and_scalars),
	        cmocka_unit_test(test_length_not_strlen),
	        cmocka_unit_test(test_size_and_args),
	        cmocka_unit_test(test_hex),
	        cmocka_unit_test(test_value_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
