/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The project's own fixtures (tests/data, made by gen_fixtures.py): each
 * NAME.bin with NAME.expected.json replays to exactly those values (values
 * computed by the generator with hashlib, not by this library), and each
 * bad-*.bin fails with its exact error.  argv[1] is the fixtures folder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tpmattest/eventlog.h>

static const char *dir;

static uint8_t *slurp(const char *name, size_t *len)
{
	char p[4096];
	FILE *f;
	uint8_t *buf;
	long n;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!(f = fopen(p, "rb"))) {
		print_error("%s: %s\n", p, strerror(errno));
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static tpa_eventlog *parse(const char *name, int want, size_t want_offset)
{
	size_t len;
	uint8_t *buf = slurp(name, &len);
	tpa_eventlog *log = NULL;
	tpa_parse_error err = {0};
	int r = tpa_eventlog_parse(buf, len, &log, &err);
	free(buf);
	if (r != want || (r != TPA_OK && err.offset != want_offset))
		print_error("%s: got %s at %zu (%s), want %s at %zu\n", name, tpa_strerror(r),
		            err.offset, err.reason, tpa_strerror(want), want_offset);
	assert_int_equal(r, want);
	if (r != TPA_OK)
		assert_int_equal(err.offset, want_offset);
	return log;
}

/* Replays name.bin and compares every (bank, PCR) with name.expected.json,
 * both ways. */
static tpa_pcrs *replay_exact(const char *name)
{
	static const uint16_t banks[] = {TPA_ALG_SHA1, TPA_ALG_SHA256};
	char bin[256], js[256];
	size_t len;
	uint8_t *json;
	tpa_eventlog *log;
	tpa_pcrs *want = NULL, *got = NULL;

	snprintf(bin, sizeof(bin), "%s.bin", name);
	snprintf(js, sizeof(js), "%s.expected.json", name);
	log = parse(bin, TPA_OK, 0);
	json = slurp(js, &len);
	assert_int_equal(tpa_pcrs_from_json((const char *)json, len, &want, NULL), TPA_OK);
	free(json);
	assert_int_equal(tpa_eventlog_replay(log, &got), TPA_OK);
	for (size_t b = 0; b < 2; b++)
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *g, *w;
			size_t gl, wl;
			int hw = tpa_pcrs_get(want, banks[b], k, &w, &wl) == TPA_OK;
			int hg = tpa_pcrs_get(got, banks[b], k, &g, &gl) == TPA_OK;
			if (hw != hg)
				print_error("%s: %s PCR%u: expected %s, replay %s\n", name,
				            tpa_alg_name(banks[b]), k, hw ? "has it" : "not",
				            hg ? "has it" : "not");
			assert_int_equal(hw, hg);
			if (hw) {
				assert_int_equal(gl, wl);
				assert_memory_equal(g, w, gl);
			}
		}
	tpa_pcrs_free(&want);
	tpa_eventlog_free(&log);
	return got;
}

static void test_agile_locality3(void **state)
{
	tpa_pcrs *p;
	(void)state;
	p = replay_exact("agile-locality3");
	tpa_pcrs_free(&p);
}

static void test_agile_hcrtm(void **state)
{
	tpa_pcrs *p;
	tpa_eventlog *log;
	(void)state;
	p = replay_exact("agile-hcrtm");
	tpa_pcrs_free(&p);
	log = parse("agile-hcrtm.bin", TPA_OK, 0);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 4);
	tpa_eventlog_free(&log);
}

static void test_agile_missing_bank(void **state)
{
	tpa_pcrs *p;
	(void)state;
	p = replay_exact("agile-missing-bank");
	assert_true(tpa_pcrs_is_incomplete(p, TPA_ALG_SHA256, 4));
	assert_false(tpa_pcrs_is_incomplete(p, TPA_ALG_SHA256, 7));
	assert_false(tpa_pcrs_is_incomplete(p, TPA_ALG_SHA1, 4));
	tpa_pcrs_free(&p);
}

static void test_sha1_small(void **state)
{
	tpa_pcrs *p;
	(void)state;
	p = replay_exact("sha1-small");
	tpa_pcrs_free(&p);
}

/* The bad ones share one valid prefix: the Spec ID record (32 + 37 bytes)
 * and one separator record (12 + 22 + 34 + 4 + 4 bytes). */
#define PREFIX (69 + 76)

static void test_bad(void **state)
{
	static const struct {
		const char *name;
		int err;
		size_t offset;
	} bad[] = {
	        {"bad-truncated.bin", TPA_E_TRUNCATED, 69 + 68},
	        {"bad-pcr24.bin", TPA_E_MALFORMED, PREFIX},
	        {"bad-second-specid.bin", TPA_E_MALFORMED, PREFIX},
	        {"bad-trailing.bin", TPA_E_TRAILING, PREFIX + 76 - 4},
	        {"bad-huge-eventsize.bin", TPA_E_TRUNCATED, PREFIX + 12},
	        {"bad-digest-twice.bin", TPA_E_MALFORMED, PREFIX + 12 + 22},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(parse(bad[i].name, bad[i].err, bad[i].offset));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_agile_locality3),
	        cmocka_unit_test(test_agile_hcrtm),
	        cmocka_unit_test(test_agile_missing_bank),
	        cmocka_unit_test(test_sha1_small),
	        cmocka_unit_test(test_bad),
	};
	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
