/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The policy module in process, on logs built here: what learning rules,
 * what evaluation refuses (with which check and reason), that merging
 * accepts every input's own machine, that secure-boot variables are judged
 * only when they decode completely, and that documents which rule nothing
 * are refused.  The swtpm end-to-end cases are in policy-holes.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include <tpmattest/eventlog.h>
#include <tpmattest/policy.h>

#include "verifier/policy_internal.h"

/* ---- a crypto-agile log with SHA-256 only (PFP 1.05, 10.2) ---- */

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		assert_non_null(b->p = realloc(b->p, b->cap));
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void u32(buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(b, x, 4);
}

static void u64(buf *b, uint64_t v)
{
	u32(b, (uint32_t)v);
	u32(b, (uint32_t)(v >> 32));
}

static void log_start(buf *b)
{
	static const uint8_t specid[] = {'S', 'p', 'e', 'c', ' ', 'I', 'D',  ' ', 'E', 'v', 'e',
	                                 'n', 't', '0', '3', 0,   0,   0,    0,   0,   0,   2,
	                                 0,   2,   1,   0,   0,   0,   0x0b, 0,   32,  0,   0};
	uint8_t zero[20] = {0};
	b->n = 0;
	u32(b, 0);
	u32(b, 3);
	put(b, zero, 20);
	u32(b, sizeof(specid));
	put(b, specid, sizeof(specid));
}

/* An event whose SHA-256 digest is H(data) (or H(digest_of) when given). */
static void ev(buf *b, uint32_t pcr, uint32_t type, const void *data, size_t len,
               const char *digest_of)
{
	uint8_t d[32];
	if (digest_of)
		EVP_Digest(digest_of, strlen(digest_of), d, NULL, EVP_sha256(), NULL);
	else
		EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL);
	u32(b, pcr);
	u32(b, type);
	u32(b, 1);
	put(b, (const uint8_t[]){0x0b, 0}, 2);
	put(b, d, 32);
	u32(b, (uint32_t)len);
	put(b, data, len);
}

static const uint8_t global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                        0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
static const uint8_t imagesec_guid[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                          0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
static const uint8_t cert_sha256_guid[16] = {0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                             0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28};

/* EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7: UEFI_VARIABLE_DATA (PFP 10.4.3);
 * nlen is the name's length in UTF-16 units as written (it may lie). */
static void var(buf *b, const uint8_t guid[16], const char *name, size_t nlen, const uint8_t *data,
                size_t dlen, long dlen_claim)
{
	buf v = {0};
	put(&v, guid, 16);
	u64(&v, nlen);
	u64(&v, dlen_claim >= 0 ? (uint64_t)dlen_claim : dlen);
	for (size_t i = 0; i < nlen; i++)
		put(&v, (const uint8_t[]){(uint8_t)name[i], 0}, 2);
	put(&v, data, dlen);
	ev(b, 7, 0x80000001, v.p, v.n, NULL);
	free(v.p);
}

/* An EFI_SIGNATURE_LIST of n SHA-256 entries, entry i = {seed+i, ...}. */
static void sha_list(buf *b, size_t n, uint8_t seed, uint32_t ssize, uint32_t hsize)
{
	put(b, cert_sha256_guid, 16);
	u32(b, 28 + hsize + (uint32_t)n * ssize);
	u32(b, hsize);
	u32(b, ssize);
	for (uint32_t i = 0; i < hsize; i++)
		put(b, "h", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t e[64] = {0};
		e[16] = seed;
		e[17] = (uint8_t)i;
		e[18] = (uint8_t)(i >> 8);
		e[19] = (uint8_t)(i >> 16);
		put(b, e, ssize);
	}
}

static const uint8_t sep[4] = {0};

/* A boot: PCR 4 with two applications, PCR 7 with its variables (db given),
 * PCR 8 with a command line, separators in 0-7. */
static void boot(buf *b, const buf *db, int sb_on, int with_cmdline)
{
	uint8_t one = (uint8_t)sb_on;
	buf pk = {0}, dbx = {0};
	sha_list(&pk, 1, 0xa0, 48, 0);
	sha_list(&dbx, 3, 0xd0, 48, 0);
	log_start(b);
	/* sb_on < 0: measured with no data, as firmware without the variable */
	var(b, global_guid, "SecureBoot", 10, &one, sb_on < 0 ? 0 : 1, -1);
	var(b, global_guid, "PK", 2, pk.p, pk.n, -1);
	var(b, global_guid, "KEK", 3, pk.p, pk.n, -1);
	var(b, imagesec_guid, "db", 2, db->p, db->n, -1);
	var(b, imagesec_guid, "dbx", 3, dbx.p, dbx.n, -1);
	for (uint32_t k = 0; k < 8; k++)
		ev(b, k, 4, sep, 4, NULL);
	ev(b, 4, 0x80000003, "shim", 4, NULL);
	ev(b, 4, 0x80000003, "grub", 4, NULL);
	ev(b, 8, 0xd, "grub_cmd: linux /vmlinuz", 25, NULL);
	if (with_cmdline)
		ev(b, 8, 0xd, "kernel_cmdline: /vmlinuz ro", 27, NULL);
	free(pk.p);
	free(dbx.p);
}

static tpa_eventlog *parse(const buf *b)
{
	tpa_eventlog *log = NULL;
	tpa_parse_error pe;
	assert_int_equal(tpa_eventlog_parse(b->p, b->n, &log, &pe), TPA_OK);
	return log;
}

/* Quoted values: PCRs 0-9 in SHA-256, PCR k = {k+1, ...}, PCR 9 empty. */
static tpa_pcrs *quoted(uint8_t salt)
{
	tpa_pcrs *q = NULL;
	assert_int_equal(tpa_pcrs_new(&q), TPA_OK);
	for (unsigned k = 0; k < 10; k++) {
		uint8_t v[32] = {0};
		if (k != 9) {
			v[0] = (uint8_t)(k + 1);
			v[1] = salt;
		}
		assert_int_equal(tpa_pcrs_set(q, TPA_ALG_SHA256, k, v, 32), TPA_OK);
	}
	return q;
}

/* ---- evaluation through a recording sink ---- */

static char failed[64], reason[700];
static int nfail, npass;

static void sink(tpa_result *res, const char *name, int pass, int err, const char *why)
{
	(void)res;
	(void)err;
	if (pass) {
		npass++;
		return;
	}
	if (!nfail++) {
		snprintf(failed, sizeof(failed), "%s", name);
		snprintf(reason, sizeof(reason), "%s", why);
	}
}

/* "" when p accepts (q, log), else the first failing check's name. */
static const char *judge(const tpa_policy *p, const tpa_pcrs *q, const tpa_eventlog *log)
{
	nfail = npass = 0;
	failed[0] = reason[0] = '\0';
	tpa_policy_evaluate(p, q, log, NULL, sink);
	if (!nfail)
		assert_true(npass > 0);
	return failed;
}

static tpa_policy *learn(const tpa_pcrs *q, const tpa_eventlog *log)
{
	tpa_policy *p = NULL;
	char why[300] = "";
	int r = tpa_policy_learn(q, log, &p, why, sizeof(why));
	if (r != TPA_OK)
		fail_msg("learn: %d %s", r, why);
	return p;
}

static tpa_policy *roundtrip(const tpa_policy *p)
{
	char *s = NULL, why[300] = "";
	tpa_policy *back = NULL;
	assert_int_equal(tpa_policy_to_json(p, &s), TPA_OK);
	if (tpa_policy_from_json(s, strlen(s), &back, why, sizeof(why)) != TPA_OK)
		fail_msg("a learnt policy does not load: %s\n%s", why, s);
	free(s);
	return back;
}

struct machine {
	buf b;
	tpa_eventlog *log;
	tpa_pcrs *q;
	tpa_policy *p;
};

static void machine(struct machine *m, uint8_t dbseed, uint8_t salt, int sb_on)
{
	buf db = {0};
	memset(m, 0, sizeof(*m));
	sha_list(&db, 2, dbseed, 48, 0);
	boot(&m->b, &db, sb_on, 1);
	m->log = parse(&m->b);
	m->q = quoted(salt);
	m->p = learn(m->q, m->log);
	free(db.p);
}

static void machine_free(struct machine *m)
{
	tpa_policy_free(&m->p);
	tpa_pcrs_free(&m->q);
	tpa_eventlog_free(&m->log);
	free(m->b.p);
}

static void test_learnt_rules_everything(void **st)
{
	struct machine m;
	char *s = NULL;
	(void)st;
	machine(&m, 0x10, 0, 1);
	assert_string_equal(judge(m.p, m.q, m.log), "");
	assert_int_equal(tpa_policy_to_json(m.p, &s), TPA_OK);
	/* PCR 9 had no events: pinned by its reset value; PCR 0 by value */
	{
		struct json_object *root = json_tokener_parse(s), *x;
		assert_non_null(root);
		assert_true(json_pointer_get(root, "/pcr_values/sha256/9/0", &x) == 0);
		assert_string_equal(
		        json_object_get_string(x),
		        "0000000000000000000000000000000000000000000000000000000000000000");
		assert_true(json_pointer_get(root, "/pcr_values/sha256/0/0", &x) == 0);
		assert_true(json_pointer_get(root, "/pcr_values/sha256/4", &x) != 0);
		assert_true(json_pointer_get(root,
		                             "/event_counts/4/EV_EFI_BOOT_SERVICES_APPLICATION",
		                             &x) == 0);
		assert_int_equal(json_object_get_int(x), 2);
		assert_true(json_pointer_get(root, "/events/sha256/8/1/required", &x) == 0);
		assert_true(json_object_get_boolean(x));
		assert_true(json_pointer_get(root, "/secure_boot/dbx", &x) == 0);
		assert_int_equal(json_object_array_length(x), 3);
		assert_true(json_pointer_get(root, "/secure_boot/enabled", &x) == 0);
		assert_true(json_object_get_boolean(x));
		json_object_put(root);
	}
	free(s);
	tpa_policy *back = roundtrip(m.p);
	assert_string_equal(judge(back, m.q, m.log), "");
	tpa_policy_free(&back);
	machine_free(&m);
}

static void test_presence(void **st)
{
	struct machine m;
	buf db = {0}, b = {0};
	tpa_eventlog *log;
	(void)st;
	machine(&m, 0x10, 0, 1);
	sha_list(&db, 2, 0x10, 48, 0);
	boot(&b, &db, 1, 0); /* no kernel command line */
	log = parse(&b);
	assert_string_equal(judge(m.p, m.q, log), "policy_events");
	assert_non_null(strstr(reason, "PCR 8 lacks a required event"));
	assert_non_null(strstr(reason, "kernel_cmdline"));
	tpa_eventlog_free(&log);
	free(db.p);
	free(b.p);
	machine_free(&m);
}

/* db variants that do not decode completely, each holding an attacker's
 * entry: all refused by policy_secure_boot, naming why. */
static void test_db_that_does_not_decode(void **st)
{
	struct machine m;
	static const struct {
		const char *what, *why;
		int n;
		uint32_t ssize, hsize;
		size_t cut, junk;
	} cases[] = {
	        {"trailing byte",
	         "does not decode completely: an EFI_SIGNATURE_LIST header is truncated", 3, 48, 0,
	         0, 1},
	        {"truncated list",
	         "does not decode completely: an EFI_SIGNATURE_LIST's size runs past", 3, 48, 0, 5,
	         0},
	        {"short entries", "signature size does not fit", 3, 47, 0, 0, 0},
	        {"a header", "has a header", 3, 48, 4, 0, 0},
	        {"no entry", "signature size does not fit its type or its list", 0, 48, 0, 0, 0},
	};
	(void)st;
	machine(&m, 0x10, 0, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf db = {0}, b = {0};
		tpa_eventlog *log;
		sha_list(&db, 2, 0x10, 48, 0);
		sha_list(&db, (size_t)cases[i].n, 0xee, cases[i].ssize, cases[i].hsize);
		db.n -= cases[i].cut;
		for (size_t j = 0; j < cases[i].junk; j++)
			put(&db, "\x01", 1);
		boot(&b, &db, 1, 1);
		log = parse(&b);
		if (strcmp(judge(m.p, m.q, log), "policy_secure_boot") != 0 ||
		    !strstr(reason, cases[i].why))
			fail_msg("db with %s: %s: %s", cases[i].what, failed, reason);
		tpa_eventlog_free(&log);
		free(db.p);
		free(b.p);
	}
	machine_free(&m);
}

static void test_db_above_old_cap_and_at_limit(void **st)
{
	struct machine m;
	buf db = {0}, b = {0};
	tpa_eventlog *log;
	tpa_policy *big;
	(void)st;
	machine(&m, 0x10, 0, 1);
	/* 5000 entries, one an attacker's: read in full, refused */
	sha_list(&db, 2, 0x10, 48, 0);
	sha_list(&db, 5000, 0xee, 48, 0);
	boot(&b, &db, 1, 1);
	log = parse(&b);
	assert_string_equal(judge(m.p, m.q, log), "policy_secure_boot");
	assert_non_null(strstr(reason, "is not in the rule's allowed list"));
	/* and a policy learnt from that db accepts it: 5002 entries decode */
	big = learn(m.q, log);
	assert_string_equal(judge(big, m.q, log), "");
	tpa_policy_free(&big);
	tpa_eventlog_free(&log);
	/* one more than TPA_POLICY_MAX_SIGNATURES: cannot be judged */
	db.n = 0;
	b.n = 0;
	sha_list(&db, TPA_POLICY_MAX_SIGNATURES + 1, 0x10, 48, 0);
	boot(&b, &db, 1, 1);
	log = parse(&b);
	assert_string_equal(judge(m.p, m.q, log), "policy_secure_boot");
	assert_non_null(strstr(reason, "more entries than TPA_POLICY_MAX_SIGNATURES"));
	tpa_eventlog_free(&log);
	free(db.p);
	free(b.p);
	machine_free(&m);
}

/* "SecureBoot\0X" (nlen 12) is not SecureBoot, to learning and judging alike */
static void test_one_reading_of_secureboot(void **st)
{
	buf db = {0}, b = {0};
	tpa_eventlog *log;
	tpa_pcrs *q = quoted(0);
	tpa_policy *p;
	char *s = NULL;
	static const char name[] = "SecureBoot\0X";
	uint8_t on = 1;
	(void)st;
	sha_list(&db, 2, 0x10, 48, 0);
	boot(&b, &db, 0, 1);
	var(&b, global_guid, name, 12, &on, 1, -1);
	log = parse(&b);
	p = learn(q, log);
	assert_int_equal(tpa_policy_to_json(p, &s), TPA_OK);
	assert_non_null(strstr(s, "\"enabled\": false"));
	assert_string_equal(judge(p, q, log), "");
	free(s);
	tpa_policy_free(&p);
	tpa_eventlog_free(&log);
	tpa_pcrs_free(&q);
	free(db.p);
	free(b.p);
}

/* A variable whose declared length does not fit its data: refused when
 * learning, and when judging. */
static void test_variable_length_lies(void **st)
{
	struct machine m;
	buf db = {0}, b = {0};
	tpa_eventlog *log;
	tpa_policy *p = NULL;
	char why[300] = "";
	uint8_t one = 1;
	(void)st;
	machine(&m, 0x10, 0, 1);
	sha_list(&db, 2, 0x10, 48, 0);
	log_start(&b);
	var(&b, global_guid, "SecureBoot", 10, &one, 1, 2);
	log = parse(&b);
	assert_int_equal(tpa_policy_learn(m.q, log, &p, why, sizeof(why)), TPA_E_POLICY);
	assert_non_null(strstr(why, "SecureBoot): the variable's length does not match its data"));
	tpa_eventlog_free(&log);
	free(db.p);
	free(b.p);
	machine_free(&m);
}

/* Firmware that does not have SecureBoot measures it with no data (edk2):
 * that is secure boot off, learnt and judged so (adversarial review, F1). */
static void test_secureboot_without_data(void **st)
{
	struct machine on;
	buf db = {0}, b = {0};
	tpa_eventlog *log;
	tpa_policy *p;
	char *s = NULL;
	(void)st;
	machine(&on, 0x10, 0, 1);
	sha_list(&db, 2, 0x10, 48, 0);
	boot(&b, &db, -1, 1);
	log = parse(&b);
	p = learn(on.q, log);
	assert_int_equal(tpa_policy_to_json(p, &s), TPA_OK);
	assert_non_null(strstr(s, "\"enabled\": false"));
	assert_string_equal(judge(p, on.q, log), "");
	/* a policy requiring secure boot on refuses it */
	assert_string_equal(judge(on.p, on.q, log), "policy_secure_boot");
	assert_non_null(strstr(reason, "secure boot is off, the rule requires it on"));
	free(s);
	tpa_policy_free(&p);
	tpa_eventlog_free(&log);
	free(db.p);
	free(b.p);
	machine_free(&on);
}

/* merge accepts every input's own machine, and no more than their union */
static void test_merge_accepts_each_input(void **st)
{
	struct machine a, b, sboff;
	tpa_policy *values = NULL, *m1 = NULL, *m2 = NULL, *m3 = NULL;
	char why[300] = "";
	(void)st;
	machine(&a, 0x10, 0, 1);
	machine(&b, 0x20, 7, 1);
	machine(&sboff, 0x10, 0, 0);
	{
		/* its PCR 7 differs from a's (secure boot is off), the rest not */
		uint8_t v7[32] = {0x77};
		assert_int_equal(tpa_pcrs_set(sboff.q, TPA_ALG_SHA256, 7, v7, 32), TPA_OK);
	}
	/* a values-only policy of machine a (learnt without its log) */
	values = learn(a.q, NULL);
	assert_string_equal(judge(values, a.q, a.log), "");
	assert_int_equal(tpa_policy_merge(a.p, values, &m1, why, sizeof(why)), TPA_OK);
	assert_string_equal(judge(m1, a.q, a.log), "");
	assert_int_equal(tpa_policy_merge(values, b.p, &m2, why, sizeof(why)), TPA_OK);
	assert_string_equal(judge(m2, a.q, a.log), "");
	assert_string_equal(judge(m2, b.q, b.log), "");
	assert_int_equal(tpa_policy_merge(m2, a.p, &m3, why, sizeof(why)), TPA_OK);
	assert_string_equal(judge(m3, a.q, a.log), "");
	assert_string_equal(judge(m3, b.q, b.log), "");
	tpa_policy *back = roundtrip(m3);
	assert_string_equal(judge(back, b.q, b.log), "");
	tpa_policy_free(&back);
	/* machine a's db on b's firmware values: refused (neither input has it) */
	assert_string_equal(judge(a.p, b.q, b.log), "policy_pcr_values");
	assert_string_equal(judge(m2, sboff.q, sboff.log), "policy_secure_boot");
	/* on and off do not merge */
	tpa_policy_free(&m1);
	assert_int_equal(tpa_policy_merge(a.p, sboff.p, &m1, why, sizeof(why)), TPA_E_POLICY);
	assert_non_null(strstr(why, "one policy requires secure boot on, the other off"));
	tpa_policy_free(&values);
	tpa_policy_free(&m2);
	tpa_policy_free(&m3);
	machine_free(&a);
	machine_free(&b);
	machine_free(&sboff);
}

static void test_vacuous_documents(void **st)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
	        {"{\"version\":2,\"pcrs\":{}}", "pcrs: not an object with at least one bank"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[]}}", "pcrs.sha256: no PCR"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[3]}}",
	         "pcrs: PCR 3 must be quoted but no rule judges it"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[3,3]}}",
	         "pcrs.sha256[1]: PCR 3 given twice"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[7]},\"events\":{\"sha256\":{\"7\":[{"
	         "\"digest\":"
	         "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}},"
	         "\"secure_boot\":{}}",
	         "secure_boot.enabled is required"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[7]},\"events\":{\"sha256\":{\"7\":[{"
	         "\"digest\":"
	         "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}},"
	         "\"secure_boot\":{\"enabled\":true,\"pk\":[],\"kek\":[],\"db\":[]}}",
	         "secure_boot.dbx is required"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"pcr_values\":{\"sha256\":{\"0\":["
	         "\"0000000000000000000000000000000000000000000000000000000000000000\"]}},"
	         "\"secure_boot\":{\"enabled\":null,\"pk\":null,\"kek\":null,\"db\":null,\"dbx\":"
	         "null}}",
	         "secure_boot: PCR 7 has no events rule"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"pcr_values\":{\"sha256\":{\"0\":["
	         "\"0000000000000000000000000000000000000000000000000000000000000000\"]}},"
	         "\"event_counts\":{\"0\":{\"EV_SEPARATOR\":1}}}",
	         "event_counts.0: PCR 0 has no events rule"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"events\":{\"sha256\":{\"0\":[{"
	         "\"digest\":"
	         "\"0000000000000000000000000000000000000000000000000000000000000000\","
	         "\"required\":1}]}}}",
	         "events.sha256.0[0].required: not a boolean"},
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"events\":{\"sha256\":{\"0\":[{"
	         "\"digest\":"
	         "\"00000000000000000000000000000000000000000000000000000000000000\"}]}}}",
	         "events.sha256.0[0]: not 32 bytes of lowercase hex"},
	        {"{\"version\":1,\"pcrs\":{\"sha256\":[0]}}", "\"version\" 1 policies could leave"},
	        {"{\"version\":\"2\",\"pcrs\":{\"sha256\":[0]}}", "\"version\" must be 2"},
	        /* one bank under two spellings would be read two ways (F6) */
	        {"{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"pcr_values\":{\"SHA-256\":{\"0\":["
	         "\"0000000000000000000000000000000000000000000000000000000000000000\"]}}}",
	         "pcr_values: unknown bank \"SHA-256\""},
	        {"{\"version\":2,\"pcrs\":{\"SHA256\":[0]}}", "pcrs: unknown bank \"SHA256\""},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tpa_policy *p = NULL;
		char why[300] = "";
		int r = tpa_policy_from_json(cases[i].json, strlen(cases[i].json), &p, why,
		                             sizeof(why));
		if (r != TPA_E_MALFORMED || !strstr(why, cases[i].why))
			fail_msg("%s: %d %s", cases[i].json, r, why);
		assert_null(p);
	}
}

/* 200,000 allowed values: every one found, a near miss not */
static void test_large_sets(void **st)
{
	buf j = {0};
	tpa_policy *p = NULL;
	tpa_pcrs *q = NULL;
	char why[300] = "", hex[80];
	(void)st;
	static const char head[] =
	        "{\"version\":2,\"pcrs\":{\"sha256\":[0]},\"pcr_values\":{\"sha256\":{\"0\":[";
	put(&j, head, strlen(head));
	for (unsigned i = 0; i < 200000; i++) {
		snprintf(hex, sizeof(hex), "%s\"%08x%056x\"", i ? "," : "", i, 0u);
		put(&j, hex, strlen(hex));
	}
	put(&j, "]}}}", 4);
	assert_int_equal(tpa_policy_from_json((const char *)j.p, j.n, &p, why, sizeof(why)),
	                 TPA_OK);
	assert_int_equal(tpa_pcrs_new(&q), TPA_OK);
	for (unsigned i = 0; i < 200000; i += 9973) {
		uint8_t v[32] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
		                 (uint8_t)i};
		assert_int_equal(tpa_pcrs_set(q, TPA_ALG_SHA256, 0, v, 32), TPA_OK);
		assert_string_equal(judge(p, q, NULL), "");
		v[31] = 1;
		assert_int_equal(tpa_pcrs_set(q, TPA_ALG_SHA256, 0, v, 32), TPA_OK);
		assert_string_equal(judge(p, q, NULL), "policy_pcr_values");
	}
	tpa_pcrs_free(&q);
	tpa_policy_free(&p);
	free(j.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_learnt_rules_everything),
	        cmocka_unit_test(test_presence),
	        cmocka_unit_test(test_db_that_does_not_decode),
	        cmocka_unit_test(test_db_above_old_cap_and_at_limit),
	        cmocka_unit_test(test_one_reading_of_secureboot),
	        cmocka_unit_test(test_variable_length_lies),
	        cmocka_unit_test(test_secureboot_without_data),
	        cmocka_unit_test(test_merge_accepts_each_input),
	        cmocka_unit_test(test_vacuous_documents),
	        cmocka_unit_test(test_large_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
