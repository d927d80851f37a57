/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The evidence reader (docs/evidence.md) and the PCR values reader on top of
 * the strict JSON reader: a genuine document, then each way of making it
 * mean two things to two readers, every one refused.
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

static const uint8_t attest[] = {0xff, 0x54, 0x43, 0x47};            /* "/1RDRw==" */
static const uint8_t sig[] = {0x00, 0x18, 0x00, 0x0b, 0x01};         /* "ABgACwE=" */
static const uint8_t akpub[] = {0x00, 0x04, 0x00, 0x01, 0x00, 0x0b}; /* "AAQAAQAL" */

/* The document every test starts from, plain (no spaces). */
static char *genuine(void)
{
	tpa_evidence *ev;
	tpa_pcrs *p;
	uint8_t nonce[32], d32[32], d20[20];
	char *json;
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	memset(d32, 0xab, sizeof(d32));
	memset(d20, 0xcd, sizeof(d20));
	assert_int_equal(tpa_evidence_new(&ev), TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_NONCE, nonce, sizeof(nonce)), TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_AK_PUBLIC, akpub, sizeof(akpub)), TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_AK_NAME, d20, 4), TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_QUOTE_ATTEST, attest, sizeof(attest)),
	                 TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_QUOTE_SIGNATURE, sig, sizeof(sig)), TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_COUNTER_ATTEST, attest, sizeof(attest)),
	                 TPA_OK);
	assert_int_equal(tpa_evidence_set(ev, TPA_PART_COUNTER_SIGNATURE, sig, sizeof(sig)),
	                 TPA_OK);
	tpa_evidence_set_handles(ev, 0x8100abcd, 0x01000100);
	tpa_evidence_set_counter(ev, 17);
	assert_int_equal(tpa_pcrs_new(&p), TPA_OK);
	assert_int_equal(tpa_pcrs_set(p, TPA_ALG_SHA256, 0, d32, 32), TPA_OK);
	assert_int_equal(tpa_pcrs_set(p, TPA_ALG_SHA1, 7, d20, 20), TPA_OK);
	assert_int_equal(tpa_evidence_set_pcrs(ev, &p), TPA_OK);
	assert_int_equal(tpa_evidence_to_json(ev, 0, &json), TPA_OK);
	tpa_evidence_free(&ev);
	return json;
}

/* doc with the first `from` replaced by `to`; fails the test if absent. */
static char *edit(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	size_t fl = strlen(from), tl = strlen(to), dl = strlen(doc);
	char *s;
	if (!at)
		fail_msg("\"%s\" is not in %s", from, doc);
	assert_non_null(s = malloc(dl - fl + tl + 1));
	memcpy(s, doc, (size_t)(at - doc));
	memcpy(s + (at - doc), to, tl);
	memcpy(s + (at - doc) + tl, at + fl, dl - (size_t)(at - doc) - fl + 1);
	return s;
}

static int read_doc(const char *doc, tpa_evidence **ev)
{
	return tpa_evidence_from_json(doc, strlen(doc), ev);
}

/* The edit of the genuine document must be refused with want. */
static void refused(const char *from, const char *to, int want)
{
	char *doc = genuine(), *bad = edit(doc, from, to);
	tpa_evidence *ev = NULL;
	int r = read_doc(bad, &ev);
	if (r != want)
		fail_msg("%s -> %s: want %d, got %d in %s", from, to, want, r, bad);
	assert_null(ev);
	free(bad);
	free(doc);
}

/* The edit must be accepted; returns the evidence. */
static tpa_evidence *accepted(const char *from, const char *to)
{
	char *doc = genuine(), *ok = edit(doc, from, to);
	tpa_evidence *ev = NULL;
	int r = read_doc(ok, &ev);
	if (r != TPA_OK)
		fail_msg("%s -> %s: refused with %d: %s", from, to, r, ok);
	free(ok);
	free(doc);
	return ev;
}

static void test_genuine(void **state)
{
	char *doc = genuine(), *again;
	tpa_evidence *ev = NULL;
	const uint8_t *p;
	size_t len;
	(void)state;
	/* the strings the other tests edit */
	assert_non_null(
	        strstr(doc, "\"quote\":{\"attest\":\"/1RDRw==\",\"signature\":\"ABgACwE=\"}"));
	assert_non_null(strstr(doc, "\"public\":\"AAQAAQAL\""));
	assert_non_null(strstr(doc, "\"handle\":\"0x8100abcd\""));
	assert_non_null(strstr(doc, "\"nonce\":\"a0a1a2a3"));
	assert_non_null(strstr(doc, "\"eventlog\":null"));
	assert_int_equal(read_doc(doc, &ev), TPA_OK);
	assert_non_null(p = tpa_evidence_get(ev, TPA_PART_QUOTE_ATTEST, &len));
	assert_int_equal(len, sizeof(attest));
	assert_memory_equal(p, attest, len);
	assert_non_null(p = tpa_evidence_get(ev, TPA_PART_QUOTE_SIGNATURE, &len));
	assert_int_equal(len, sizeof(sig));
	assert_memory_equal(p, sig, len);
	assert_int_equal(tpa_evidence_ak_handle(ev), 0x8100abcd);
	assert_int_equal(tpa_evidence_counter(ev), 17);
	assert_null(tpa_evidence_get(ev, TPA_PART_EVENTLOG, NULL));
	assert_int_equal(tpa_evidence_to_json(ev, 1, &again), TPA_OK);
	tpa_evidence_free(&ev);
	assert_int_equal(read_doc(again, &ev), TPA_OK); /* pretty is fine too */
	tpa_evidence_free(&ev);
	free(again);
	free(doc);
}

/* What json-c's lenient mode took. */
static void test_json_syntax(void **state)
{
	(void)state;
	refused("\"format\":\"tpmattest-evidence\"", "\"format\":\"tpmattest-evidence\\u0000v9\"",
	        TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RDRw==\\u0000junk\"", TPA_E_MALFORMED);
	refused("\"version\":1,", "\"version\":1,/* v2 */", TPA_E_MALFORMED);
	refused("\"version\":1,", "\"version\":1,// v2\n", TPA_E_MALFORMED);
	refused("\"signature\":\"ABgACwE=\"}", "\"signature\":\"ABgACwE=\",}", TPA_E_MALFORMED);
	refused("\"format\"", "'format'", TPA_E_MALFORMED);
	refused("\"tpmattest-evidence\"", "'tpmattest-evidence'", TPA_E_MALFORMED);
	refused("\"nonce\":", "\"nonce\":\"00\",\"nonce\":", TPA_E_MALFORMED);
	refused("\"nonce\":", "\"n\\u006fnce\":\"00\",\"nonce\":", TPA_E_MALFORMED);
	refused("{", "\xef\xbb\xbf{", TPA_E_MALFORMED);
	refused("\"version\":1", "\"version\":01", TPA_E_MALFORMED);
}

static void test_base64(void **state)
{
	tpa_evidence *ev;
	size_t len;
	(void)state;
	refused("\"/1RDRw==\"", "\"/1RDRw\"", TPA_E_MALFORMED);       /* padding missing */
	refused("\"/1RDRw==\"", "\"/1RDRw=\"", TPA_E_MALFORMED);      /* half of it */
	refused("\"/1RDRw==\"", "\"/1RDRw===\"", TPA_E_MALFORMED);    /* too much */
	refused("\"/1RDRw==\"", "\"/1RDRw==AAAA\"", TPA_E_MALFORMED); /* data after it */
	refused("\"/1RDRw==\"", "\"/1RD=w==\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RDR===\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"====\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RD Rw==\"", TPA_E_MALFORMED); /* no whitespace */
	refused("\"/1RDRw==\"", "\"/1RD\\nRw==\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RDRw==\\r\\n\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\" /1RDRw==\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"_1RDRw==\"", TPA_E_MALFORMED); /* base64url */
	refused("\"AAQAAQAL\"", "\"AAQAAQ-L\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RDRw%3D%3D\"", TPA_E_MALFORMED);
	/* unused bits set: the same bytes under another spelling */
	refused("\"/1RDRw==\"", "\"/1RDRx==\"", TPA_E_MALFORMED);
	refused("\"/1RDRw==\"", "\"/1RDR/==\"", TPA_E_MALFORMED);
	refused("\"ABgACwE=\"", "\"ABgACwF=\"", TPA_E_MALFORMED);
	refused("\"ABgACwE=\"", "\"ABgACwH=\"", TPA_E_MALFORMED);
	/* escapes decode to the same characters, which is JSON's business */
	ev = accepted("\"/1RDRw==\"", "\"\\/1RDRw\\u003d=\"");
	tpa_evidence_free(&ev);
	/* a null optional part is absent; an empty one is zero bytes */
	ev = accepted("\"eventlog\":null", "\"eventlog\":\"\"");
	assert_non_null(tpa_evidence_get(ev, TPA_PART_EVENTLOG, &len));
	assert_int_equal(len, 0);
	tpa_evidence_free(&ev);
}

static void test_hex_and_handles(void **state)
{
	(void)state;
	refused("\"nonce\":\"a0a1", "\"nonce\":\"A0a1", TPA_E_MALFORMED);
	refused("\"nonce\":\"a0a1", "\"nonce\":\"0xa0a1", TPA_E_MALFORMED);
	refused("\"nonce\":\"a0a1", "\"nonce\":\"a0a", TPA_E_MALFORMED);
	refused("\"nonce\":\"a0a1", "\"nonce\":\" a0a1", TPA_E_MALFORMED);
	refused("\"nonce\":\"a0a1", "\"nonce\":\"\",\"x\":\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0x8100ABCD\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0X8100abcd\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0xabcd\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"8100abcd\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0x08100abcd\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0x 8100abc\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":\"0x-100abcd\"", TPA_E_MALFORMED);
	refused("\"handle\":\"0x8100abcd\"", "\"handle\":2164304845", TPA_E_MALFORMED);
	refused("\"index\":\"0x01000100\"", "\"index\":\"0x1000100\"", TPA_E_MALFORMED);
}

static void test_nonce_length(void **state)
{
	char *doc = genuine(), *bad, to[200];
	const char *from = "\"nonce\":\"";
	tpa_evidence *ev = NULL;
	(void)state;
	/* the genuine nonce is 32 bytes: 32 more is the cap
	 * (TPA_EVIDENCE_MAX_NONCE), 33 more is over it */
	memset(to, 0, sizeof(to));
	memcpy(to, from, strlen(from));
	memset(to + strlen(from), 'b', 64);
	bad = edit(doc, from, to);
	assert_int_equal(read_doc(bad, &ev), TPA_OK);
	tpa_evidence_free(&ev);
	free(bad);
	memset(to + strlen(from), 'b', 66);
	bad = edit(doc, from, to);
	assert_int_equal(read_doc(bad, &ev), TPA_E_MALFORMED);
	assert_null(ev);
	free(bad);
	free(doc);
	/* and an empty one is no nonce */
	refused("\"nonce\":\"a0a1", "\"nonce\":\"\",\"_\":\"a0a1", TPA_E_MALFORMED);
}

static void test_members(void **state)
{
	tpa_evidence *ev;
	(void)state;
	/* unknown or misspelt members, at every level */
	refused("\"version\":1,", "\"version\":1,\"extra\":true,", TPA_E_MALFORMED);
	refused("\"ek_certificates\"", "\"ek_certificate\"", TPA_E_MALFORMED);
	refused("\"handle\":", "\"hand1e\":\"0x81000100\",\"handle\":", TPA_E_MALFORMED);
	refused("\"quote\":{", "\"quote\":{\"pcrs\":{},", TPA_E_MALFORMED);
	refused("\"index\":", "\"nv_index\":\"0x01000100\",\"index\":", TPA_E_MALFORMED);
	refused("\"ek_certificates\":{", "\"ek_certificates\":{\"rsa2\":\"\",", TPA_E_MALFORMED);
	/* the event log is null when there is none, never left out */
	refused("\"eventlog\":null,", "", TPA_E_MALFORMED);
	refused("\"eventlog\":null", "\"eventlog\":false", TPA_E_MALFORMED);
	/* types */
	refused("\"version\":1", "\"version\":\"1\"", TPA_E_MALFORMED);
	refused("\"version\":1", "\"version\":1.0", TPA_E_MALFORMED);
	refused("\"version\":1", "\"version\":2", TPA_E_MALFORMED);
	refused("\"value\":17", "\"value\":-1", TPA_E_MALFORMED);
	refused("\"value\":17", "\"value\":17.0", TPA_E_MALFORMED);
	refused("\"value\":17", "\"value\":18446744073709551616", TPA_E_LIMIT);
	ev = accepted("\"value\":17", "\"value\":18446744073709551615");
	assert_true(tpa_evidence_counter(ev) == UINT64_MAX);
	tpa_evidence_free(&ev);
	/* format compared in full */
	refused("\"tpmattest-evidence\"", "\"tpmattest-evidence \"", TPA_E_MALFORMED);
	refused("\"tpmattest-evidence\"", "\"tpmattest-evidencev9\"", TPA_E_MALFORMED);
	refused("\"tpmattest-evidence\"", "\"TPMATTEST-EVIDENCE\"", TPA_E_MALFORMED);
}

static void test_pcrs_in_evidence(void **state)
{
	tpa_evidence *ev;
	(void)state;
	/* lowercase hex without a prefix, bank names as tpa_alg_name has them */
	refused("\"0\":\"abab", "\"0\":\"ABab", TPA_E_MALFORMED);
	refused("\"0\":\"abab", "\"0\":\"0xabab", TPA_E_MALFORMED);
	refused("\"sha256\":{", "\"SHA256\":{", TPA_E_MALFORMED);
	refused("\"sha256\":{", "\"sha-256\":{", TPA_E_MALFORMED);
	refused("\"sha256\":{", "\"sha256\":{\"00\":\"ab\",", TPA_E_MALFORMED);
	refused("\"sha256\":{", "\"sha256\":{\"0\":\"ab\",", TPA_E_MALFORMED);
	refused("\"sha256\":{", "\"meta\":1,\"sha256\":{", TPA_E_MALFORMED);
	/* a bank this verifier does not know is skipped */
	ev = accepted("\"sha256\":{", "\"md5\":{\"0\":\"00\"},\"sha256\":{");
	tpa_evidence_free(&ev);
}

/* The reason names where: the byte for JSON, the member for the rest. */
static void why_is(const char *from, const char *to, int want, const char *reason)
{
	char *doc = genuine(), *bad = edit(doc, from, to), why[256];
	tpa_evidence *ev = NULL;
	int r = tpa_evidence_from_json_why(bad, strlen(bad), &ev, why, sizeof(why));
	if (r != want || strcmp(why, reason) != 0)
		fail_msg("%s -> %s: want %d \"%s\", got %d \"%s\"", from, to, want, reason, r, why);
	assert_null(ev);
	free(bad);
	free(doc);
}

static void test_why(void **state)
{
	char *doc = genuine(), why[64] = "x";
	tpa_evidence *ev = NULL;
	(void)state;
	why_is("{\"format\"", "{'format'", TPA_E_MALFORMED,
	       "byte 1: single quote, expected a member name in double quotes");
	why_is("\"nonce\":", "\"nonce\":\"00\",\"nonce\":", TPA_E_MALFORMED,
	       "byte 75: member name already used at byte 62");
	why_is("\"/1RDRw==\"", "\"/1RDRx==\"", TPA_E_MALFORMED,
	       "quote.attest: not canonical padded base64 (RFC 4648)");
	why_is("\"handle\":\"0x8100abcd\"", "\"handle\":\"0x8100ABCD\"", TPA_E_MALFORMED,
	       "ak.handle: not 0x and 8 lowercase hex digits");
	why_is("\"nonce\":\"a0", "\"nonce\":\"A0", TPA_E_MALFORMED,
	       "nonce: not an even number of lowercase hex digits");
	why_is("\"ek_certificates\"", "\"ek_certificate\"", TPA_E_MALFORMED,
	       "the document: member 10 is not one of version 1's");
	why_is("\"eventlog\":null,", "", TPA_E_MALFORMED,
	       "eventlog: missing (null when there is no log)");
	why_is("\"value\":17", "\"value\":-17", TPA_E_MALFORMED,
	       "counter.value: not a non-negative integer");
	why_is("\"sha256\":{", "\"SHA256\":{", TPA_E_MALFORMED,
	       "pcrs: not {\"sha256\":{\"0\":\"lowercase hex\",...},...} with each bank once");
	/* success leaves why empty */
	assert_int_equal(tpa_evidence_from_json_why(doc, strlen(doc), &ev, why, sizeof(why)),
	                 TPA_OK);
	assert_string_equal(why, "");
	tpa_evidence_free(&ev);
	free(doc);
}

/* User PCR files keep their tolerance of 0x and uppercase, but are read as
 * strictly as any JSON, and a bank may not be given twice. */
static void test_pcrs_file(void **state)
{
	static const char *const ok[] = {
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0x0000000000000000000000000000000000000000\"}}}",
	        "{\"sha1\":{\"0\":\"ABABABABABABABABABABABABABABABABABABABAB\"},\"note\":\"x\"}",
	};
	static const char *const bad[] = {
	        "{\"pcrs\":{\"sha1\":{\"0\":\"" /* comment */
	        "0000000000000000000000000000000000000000\"}},/**/}",
	        "{\"pcrs\":{'sha1':{\"0\":\"0000000000000000000000000000000000000000\"}}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\",}}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\","
	        "\"0\":\"1111111111111111111111111111111111111111\"}}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\"},"
	        "\"SHA-1\":{\"0\":\"1111111111111111111111111111111111111111\"}}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\\u0000\"}}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\"}},"
	        "\"pcrs\":{}}",
	        "{\"pcrs\":{\"sha1\":{\"0\":\"0000000000000000000000000000000000000000\"},\"x\":1}"
	        "}",
	};
	tpa_pcrs *p = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (tpa_pcrs_from_json(ok[i], strlen(ok[i]), &p, NULL) != TPA_OK)
			fail_msg("refused: %s", ok[i]);
		tpa_pcrs_free(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = tpa_pcrs_from_json(bad[i], strlen(bad[i]), &p, NULL);
		if (r != TPA_E_MALFORMED)
			fail_msg("want %d, got %d: %s", TPA_E_MALFORMED, r, bad[i]);
		assert_null(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_genuine),
	        cmocka_unit_test(test_json_syntax),
	        cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_hex_and_handles),
	        cmocka_unit_test(test_nonce_length),
	        cmocka_unit_test(test_members),
	        cmocka_unit_test(test_pcrs_in_evidence),
	        cmocka_unit_test(test_pcrs_file),
	        cmocka_unit_test(test_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
