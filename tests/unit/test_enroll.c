/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The enrollment protocol's library half (src/enroll/enrollment.c) on the
 * five documents of one real enrollment on swtpm (tests/data/enroll, with
 * the throwaway CA's root): each reader accepts its document and refuses
 * what is near it, with the member named and the output untouched; the
 * challenge checks on the real request and on requests changed in one
 * place; finish with the right secret, another, another challenge's, late.
 * argv[1] is tests/data/enroll.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tpmattest/enroll.h>

static const char *dir;

static char *slurp(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* doc with the first occurrence of from replaced by to (malloc'd) */
static char *replace(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	char *out;
	assert_non_null(at);
	out = malloc(strlen(doc) - strlen(from) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, doc, (size_t)(at - doc));
	strcpy(out + (at - doc), to);
	strcat(out, at + strlen(from));
	return out;
}

typedef int (*reader_fn)(const char *, size_t, void *, char *, size_t);

/* the reader refuses doc with err, why mentioning want, out untouched */
static void refuses(reader_fn rd, size_t outsize, const char *doc, int err, const char *want)
{
	uint8_t *out = malloc(outsize), *copy = malloc(outsize);
	char why[256] = "";
	assert_non_null(out);
	assert_non_null(copy);
	memset(out, 0xa5, outsize);
	memcpy(copy, out, outsize);
	assert_int_equal(rd(doc, strlen(doc), out, why, sizeof(why)), err);
	if (!strstr(why, want))
		fail_msg("why \"%s\" does not say \"%s\"", why, want);
	assert_memory_equal(out, copy, outsize);
	free(out);
	free(copy);
}

static int rd_request(const char *j, size_t l, void *o, char *w, size_t wl)
{
	return tpa_enroll_request_from_json(j, l, o, w, wl);
}
static int rd_challenge(const char *j, size_t l, void *o, char *w, size_t wl)
{
	return tpa_enroll_challenge_from_json(j, l, o, w, wl);
}
static int rd_pending(const char *j, size_t l, void *o, char *w, size_t wl)
{
	return tpa_enroll_pending_from_json(j, l, o, w, wl);
}
static int rd_response(const char *j, size_t l, void *o, char *w, size_t wl)
{
	return tpa_enroll_response_from_json(j, l, o, w, wl);
}
static int rd_record(const char *j, size_t l, void *o, char *w, size_t wl)
{
	return tpa_enrollment_from_json(j, l, o, w, wl);
}

static const struct {
	const char *file;
	reader_fn rd;
	size_t size;
	const char *format;
} docs[] = {
        {"request.json", rd_request, sizeof(tpa_enroll_request), "tpmattest-enroll-request"},
        {"challenge.json", rd_challenge, sizeof(tpa_enroll_challenge),
         "tpmattest-enroll-challenge"},
        {"pending.json", rd_pending, sizeof(tpa_enroll_pending), "tpmattest-enroll-pending"},
        {"response.json", rd_response, sizeof(tpa_enroll_response), "tpmattest-enroll-response"},
        {"record.json", rd_record, sizeof(tpa_enrollment), "tpmattest-enrollment"},
};

static void test_readers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		size_t len;
		char *doc = slurp(docs[i].file, &len), *bad, fmt[64];
		void *out = calloc(1, docs[i].size);
		char why[256] = "";
		assert_non_null(out);
		if (docs[i].rd(doc, len, out, why, sizeof(why)) != TPA_OK)
			fail_msg("%s: %s", docs[i].file, why);
		if (docs[i].rd == rd_request)
			tpa_enroll_request_clear(out);
		free(out);
		/* version, format, an unknown member, a truncation, a NUL */
		bad = replace(doc, "\"version\": 1", "\"version\": 2");
		refuses(docs[i].rd, docs[i].size, bad, TPA_E_MALFORMED, "version");
		free(bad);
		snprintf(fmt, sizeof(fmt), "\"%s\"", docs[i].format);
		bad = replace(doc, fmt, "\"tpmattest-evidence\"");
		refuses(docs[i].rd, docs[i].size, bad, TPA_E_MALFORMED, "format");
		free(bad);
		bad = replace(doc, "\"version\": 1", "\"version\": 1, \"versoin\": 1");
		refuses(docs[i].rd, docs[i].size, bad, TPA_E_MALFORMED,
		        "unknown member \"versoin\"");
		free(bad);
		doc[len / 2] = 0;
		refuses(docs[i].rd, docs[i].size, doc, TPA_E_MALFORMED, "byte");
		free(doc);
	}
}

/* hex and base64 spelt another way */
static void test_spellings(void **state)
{
	size_t len;
	char *doc = slurp("response.json", &len), *bad;
	tpa_enroll_response r;
	char why[128];
	const char *id, *sec;
	char idup[64], secbad[128];
	(void)state;
	assert_int_equal(tpa_enroll_response_from_json(doc, len, &r, why, sizeof(why)), TPA_OK);
	assert_int_equal(r.secret_len, 32);
	/* the id in uppercase */
	id = strstr(doc, "\"id\": \"") + 7;
	snprintf(idup, sizeof(idup), "%.32s", id);
	for (char *p = idup; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	if (strcmp(idup, "") != 0 && strpbrk(idup, "ABCDEF")) {
		char orig[64];
		snprintf(orig, sizeof(orig), "%.32s", id);
		bad = replace(doc, orig, idup);
		refuses(rd_response, sizeof(r), bad, TPA_E_MALFORMED,
		        "id: not 16 bytes of lowercase hex");
		free(bad);
	}
	/* the secret without its padding, and with a line break */
	sec = strstr(doc, "\"secret\": \"") + 11;
	snprintf(secbad, sizeof(secbad), "%.*s", (int)(strchr(sec, '"') - sec), sec);
	assert_true(secbad[strlen(secbad) - 1] == '=');
	{
		char nopad[128], crlf[160];
		snprintf(nopad, sizeof(nopad), "%.*s", (int)strlen(secbad) - 1, secbad);
		snprintf(crlf, sizeof(crlf), "%.20s\\n%s", secbad, secbad + 20);
		bad = replace(doc, secbad, nopad);
		refuses(rd_response, sizeof(r), bad, TPA_E_MALFORMED,
		        "not canonical padded base64");
		free(bad);
		bad = replace(doc, secbad, crlf);
		refuses(rd_response, sizeof(r), bad, TPA_E_MALFORMED,
		        "not canonical padded base64");
		free(bad);
	}
	free(doc);
}

static tpa_ekstore *root_store(void)
{
	size_t len;
	char *pem = slurp("root.pem", &len), why[256] = "";
	tpa_ekstore *s = NULL;
	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	assert_int_equal(
	        tpa_ekstore_add(s, TPA_EKSTORE_ROOT, (uint8_t *)pem, len, why, sizeof(why)),
	        TPA_OK);
	free(pem);
	return s;
}

/* challenge_make on the request with from replaced by to */
static int challenge(const char *from, const char *to, const tpa_ekstore *store,
                     tpa_enroll_verdict *v, tpa_enroll_pending *p, tpa_enroll_challenge *c)
{
	size_t len;
	char *doc = slurp("request.json", &len), *d = from ? replace(doc, from, to) : doc, why[256];
	tpa_enroll_request req;
	int r;
	if (tpa_enroll_request_from_json(d, strlen(d), &req, why, sizeof(why)) != TPA_OK)
		fail_msg("request: %s", why);
	r = tpa_enroll_challenge_make(&req, store, NULL, c, p, v);
	tpa_enroll_request_clear(&req);
	if (d != doc)
		free(d);
	free(doc);
	return r;
}

static void test_challenge(void **state)
{
	tpa_ekstore *store = root_store(), *empty = NULL;
	tpa_enroll_pending *p = calloc(1, sizeof(*p)), *copy = malloc(sizeof(*p));
	tpa_enroll_challenge c;
	tpa_enroll_verdict v;
	size_t len;
	char *req = slurp("request.json", &len), qn[80], *at;
	(void)state;
	assert_non_null(p);
	assert_non_null(copy);
	assert_int_equal(challenge(NULL, NULL, store, &v, p, &c), TPA_OK);
	assert_string_equal(v.check, "");
	assert_int_equal(c.ek_alg, 0x0023);
	assert_string_equal(p->ek_template, "L-2");
	assert_string_equal(p->chain.root, "CN=swtpm-localca-rootca");
	assert_int_equal(p->chain.length, 3);
	assert_int_equal(p->counter_name_len, 34);
	/* the issuer comes from the request's NV chain; without anchors, none */
	assert_int_equal(tpa_ekstore_new(&empty), TPA_OK);
	memset(p, 0x5a, sizeof(*p));
	memcpy(copy, p, sizeof(*p));
	assert_int_equal(challenge(NULL, NULL, empty, &v, p, &c), TPA_E_POLICY);
	assert_string_equal(v.check, "ek_certificate");
	assert_memory_equal(p, copy, sizeof(*p));
	/* no chain: unknown issuer */
	at = strstr(req, "\"ek_chain\": [");
	assert_non_null(at);
	{
		char *end = strchr(at, ']'), *chain = malloc((size_t)(end - at) + 2);
		memcpy(chain, at, (size_t)(end - at) + 1);
		chain[end - at + 1] = 0;
		assert_int_equal(challenge(chain, "\"ek_chain\": []", store, &v, p, &c),
		                 TPA_E_POLICY);
		assert_string_equal(v.check, "ek_certificate");
		assert_non_null(strstr(v.why, "unknown-issuer"));
		free(chain);
	}
	/* another qualified name: no parent among the EKs */
	at = strstr(req, "\"qualified_name\": \"") + 19;
	snprintf(qn, sizeof(qn), "%.68s", at);
	{
		char other[80];
		snprintf(other, sizeof(other), "%s", qn);
		other[10] = other[10] == '0' ? '1' : '0';
		assert_int_equal(challenge(qn, other, store, &v, p, &c), TPA_E_POLICY);
		assert_string_equal(v.check, "ak_parent");
	}
	/* the counter's index differs from what its public area says */
	assert_int_equal(challenge("\"index\": \"0x01000100\"", "\"index\": \"0x01000101\"", store,
	                           &v, p, &c),
	                 TPA_E_POLICY);
	assert_string_equal(v.check, "counter");
	free(req);
	free(p);
	free(copy);
	tpa_ekstore_free(&store);
	tpa_ekstore_free(&empty);
}

static void test_finish(void **state)
{
	size_t len;
	char *pj = slurp("pending.json", &len), why[256] = "", hex[65];
	tpa_enroll_pending *p = calloc(1, sizeof(*p));
	tpa_enrollment *e = calloc(1, sizeof(*e)), *copy = malloc(sizeof(*e));
	tpa_enroll_response r;
	tpa_enroll_verdict v;
	(void)state;
	assert_non_null(p);
	assert_non_null(e);
	assert_non_null(copy);
	assert_int_equal(tpa_enroll_pending_from_json(pj, len, p, why, sizeof(why)), TPA_OK);
	memset(&r, 0, sizeof(r));
	memcpy(r.id, p->id, sizeof(r.id));
	memcpy(r.secret, p->secret, 32);
	r.secret_len = 32;
	assert_int_equal(tpa_enroll_finish(p, &r, p->created + 1, e, &v), TPA_OK);
	assert_int_equal(e->enrolled_at, p->created + 1);
	assert_memory_equal(e->counter_name, p->counter_name, p->counter_name_len);
	/* a wrong secret: nothing of the expected one comes back */
	memset(e, 0x33, sizeof(*e));
	memcpy(copy, e, sizeof(*e));
	r.secret[31] ^= 1;
	assert_int_equal(tpa_enroll_finish(p, &r, p->created + 1, e, &v), TPA_E_MISMATCH);
	assert_string_equal(v.check, "secret");
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", p->secret[i]);
	assert_null(strstr(v.why, hex));
	assert_memory_equal(e, copy, sizeof(*e));
	r.secret_len = 31;
	assert_int_equal(tpa_enroll_finish(p, &r, p->created + 1, e, &v), TPA_E_MISMATCH);
	r.secret[31] ^= 1;
	r.secret_len = 32;
	/* another challenge's response, a late one */
	r.id[0] ^= 1;
	assert_int_equal(tpa_enroll_finish(p, &r, p->created + 1, e, &v), TPA_E_MISMATCH);
	assert_string_equal(v.check, "challenge");
	r.id[0] ^= 1;
	assert_int_equal(tpa_enroll_finish(p, &r, p->expires + 1, e, &v), TPA_E_POLICY);
	assert_string_equal(v.check, "expired");
	assert_memory_equal(e, copy, sizeof(*e));
	free(pj);
	free(p);
	free(e);
	free(copy);
}

/* the record's own consistency */
static void test_record(void **state)
{
	size_t len;
	char *doc = slurp("record.json", &len), *bad, id[80];
	const char *at = strstr(doc, "\"machine_id\": \"") + 15;
	(void)state;
	snprintf(id, sizeof(id), "%.64s", at);
	bad = replace(doc, id, "0000000000000000000000000000000000000000000000000000000000000000");
	refuses(rd_record, sizeof(tpa_enrollment), bad, TPA_E_MALFORMED,
	        "machine_id: not SHA-256 of ek.public");
	free(bad);
	at = strstr(doc, "\"name\": \"000b") + 13;
	snprintf(id, sizeof(id), "%.64s", at);
	bad = replace(doc, id, "1111111111111111111111111111111111111111111111111111111111111111");
	refuses(rd_record, sizeof(tpa_enrollment), bad, TPA_E_MALFORMED,
	        "ak.name: not the Name of ak.public");
	free(bad);
	free(doc);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_readers),   cmocka_unit_test(test_spellings),
	        cmocka_unit_test(test_challenge), cmocka_unit_test(test_finish),
	        cmocka_unit_test(test_record),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_enroll tests/data/enroll\n");
		return 2;
	}
	dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
