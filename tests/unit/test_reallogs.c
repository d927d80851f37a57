/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Real machines' logs from ../shared/eventlogs (path in argv[1]; exit 77,
 * skip, when absent):
 *  - two logs cut at every byte: a cut at a record boundary is a shorter
 *    valid log, a cut inside a record is truncated or malformed unless what
 *    is left of the record is all zeros (then it is padding);
 *  - the same logs with each byte changed in turn: a clean parse error, or
 *    a log that replays and decodes;
 *  - every log with NAME.expected.json replays to those values, except
 *    ebs_event_missing_eventlog whose PCR5 must differ;
 *  - the derived logs behave as MANIFEST.json's expected_outcome says;
 *  - every other log parses and replays, except the known-malformed ones.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <tpmattest/eventlog.h>

static char logs_dir[4096];

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!f) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

static void path_of(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", logs_dir, rel);
	assert_true(n > 0 && (size_t)n < cap);
}

static tpa_eventlog *parse_file(const char *rel)
{
	char p[4352];
	size_t len;
	uint8_t *buf;
	tpa_eventlog *log = NULL;
	tpa_parse_error err = {0};
	int r;
	path_of(p, sizeof(p), rel);
	buf = slurp(p, &len);
	r = tpa_eventlog_parse(buf, len, &log, &err);
	if (r != TPA_OK)
		print_error("%s: %s at %zu: %s\n", rel, tpa_strerror(r), err.offset, err.reason);
	assert_int_equal(r, TPA_OK);
	free(buf);
	return log;
}

static tpa_pcrs *load_expected(const char *rel)
{
	char p[4352];
	size_t len;
	uint8_t *buf;
	tpa_pcrs *pcrs = NULL;
	path_of(p, sizeof(p), rel);
	buf = slurp(p, &len);
	assert_int_equal(tpa_pcrs_from_json((const char *)buf, len, &pcrs, NULL), TPA_OK);
	free(buf);
	return pcrs;
}

/* ---- cut at every byte ---- */

static void cut_everywhere(const char *rel, tpa_eventlog_format format)
{
	char p[4352];
	size_t len, n, *bound;
	uint8_t *buf;
	tpa_eventlog *full = NULL;

	path_of(p, sizeof(p), rel);
	buf = slurp(p, &len);
	assert_int_equal(tpa_eventlog_parse(buf, len, &full, NULL), TPA_OK);
	assert_int_equal(tpa_eventlog_get_format(full), format);
	n = tpa_eventlog_count(full);
	assert_true(n > 10);
	assert_int_equal(tpa_eventlog_size(full), len);
	/* bound[i]: where record i starts; bound[n]: the end */
	bound = calloc(n + 1, sizeof(*bound));
	assert_non_null(bound);
	for (size_t i = 0; i < n; i++)
		bound[i] = tpa_event_offset(tpa_eventlog_get(full, i));
	bound[n] = len;

	size_t rec = 0; /* records wholly before the cut */
	for (size_t k = 0; k <= len; k++) {
		/* a copy of exactly k bytes, so reads past the cut are caught */
		uint8_t *cut = malloc(k ? k : 1);
		tpa_eventlog *log = NULL;
		tpa_parse_error err = {0};
		int r, in_header, zeros = 1;
		size_t start;

		assert_non_null(cut);
		memcpy(cut, buf, k);
		while (rec < n && bound[rec + 1] <= k)
			rec++;
		/* before the first event: inside the Spec ID header (agile) or
		 * the first record (SHA-1) */
		in_header = k < bound[0];
		start = in_header ? 0 : bound[rec];
		for (size_t i = start; i < k; i++)
			zeros &= buf[i] == 0;
		r = tpa_eventlog_parse(cut, k, &log, &err);
		if (k == 0) {
			assert_int_equal(r, TPA_E_MALFORMED);
		} else if (!in_header && k == bound[rec]) {
			/* at a boundary: exactly the records before it */
			if (r != TPA_OK)
				print_error("%s cut at %zu: %s\n", rel, k, err.reason);
			assert_int_equal(r, TPA_OK);
			assert_int_equal(tpa_eventlog_count(log), rec);
			assert_int_equal(tpa_eventlog_size(log), k);
			assert_int_equal(tpa_eventlog_get_format(log), format);
			for (size_t i = 0; i < rec; i++)
				assert_int_equal(tpa_event_offset(tpa_eventlog_get(log, i)),
				                 bound[i]);
		} else if (zeros) {
			/* what is left of the record is zeros: padding */
			if (r != TPA_OK)
				print_error("%s cut at %zu: %s\n", rel, k, err.reason);
			assert_int_equal(r, TPA_OK);
			assert_int_equal(tpa_eventlog_count(log), in_header ? 0 : rec);
		} else {
			if (r != TPA_E_TRUNCATED && r != TPA_E_MALFORMED)
				print_error("%s cut at %zu (record at %zu): got %d\n", rel, k,
				            start, r);
			assert_true(r == TPA_E_TRUNCATED || r == TPA_E_MALFORMED);
			assert_null(log);
			assert_true(err.offset >= start && err.offset <= k);
		}
		tpa_eventlog_free(&log);
		free(cut);
	}
	free(bound);
	tpa_eventlog_free(&full);
	free(buf);
}

static void test_cut_agile(void **state)
{
	(void)state;
	cut_everywhere("go-tpm-tools/glinux-alex.bin", TPA_EVENTLOG_CRYPTO_AGILE);
}

static void test_cut_sha1(void **state)
{
	(void)state;
	cut_everywhere("go-tpm-tools/debian-10.bin", TPA_EVENTLOG_SHA1);
}

/* Every byte of a real log changed in turn: the parse fails cleanly with a
 * parse error or succeeds, and then replay and the decoding of the changed
 * record succeed too.  The fuzz targets go further; this runs everywhere. */
static void flip_everywhere(const char *rel, uint8_t mask)
{
	char p[4352];
	size_t len, ok = 0;
	uint8_t *buf;

	path_of(p, sizeof(p), rel);
	buf = slurp(p, &len);
	for (size_t k = 0; k < len; k++) {
		tpa_eventlog *log = NULL;
		tpa_parse_error err;
		int r;
		buf[k] ^= mask;
		r = tpa_eventlog_parse(buf, len, &log, &err);
		if (r == TPA_OK) {
			tpa_pcrs *pcrs = NULL;
			size_t n = tpa_eventlog_count(log);
			assert_int_equal(tpa_eventlog_replay(log, &pcrs), TPA_OK);
			tpa_pcrs_free(&pcrs);
			/* decode the record holding byte k, for one byte in 8
			 * (decoding certificates is what costs time here) */
			for (size_t i = n; k % 8 == 0 && i-- > 0;) {
				const tpa_event *ev = tpa_eventlog_get(log, i);
				tpa_field *f = NULL;
				if (tpa_event_offset(ev) > k)
					continue;
				assert_int_equal(tpa_event_decode(ev, &f), TPA_OK);
				assert_non_null(f);
				tpa_fields_free(&f);
				break;
			}
			ok++;
		} else {
			if (tpa_err_classify(r) != TPA_CLASS_MALFORMED)
				print_error("%s byte %zu ^ 0x%02x: %d\n", rel, k, mask, r);
			assert_int_equal(tpa_err_classify(r), TPA_CLASS_MALFORMED);
			assert_null(log);
			assert_true(err.offset <= len);
		}
		tpa_eventlog_free(&log);
		buf[k] ^= mask;
	}
	/* most bytes are digests and data, which parse either way */
	assert_true(ok > len / 2);
	free(buf);
}

static void test_flip_agile(void **state)
{
	(void)state;
	flip_everywhere("go-tpm-tools/glinux-alex.bin", 0xff);
}

static void test_flip_sha1(void **state)
{
	(void)state;
	flip_everywhere("go-tpm-tools/debian-10.bin", 0x01);
}

/* ---- expected values ---- */

static const uint16_t banks[] = {TPA_ALG_SHA1, TPA_ALG_SHA256, TPA_ALG_SHA384, TPA_ALG_SHA512};

/* Compares every (bank, PCR) both have; returns a bitmask per bank (index as
 * in banks[]) of the PCRs that differ, and counts the pairs that match. */
static void compare(const tpa_pcrs *got, const tpa_pcrs *want, uint32_t diff[4], size_t *same)
{
	*same = 0;
	for (size_t b = 0; b < 4; b++) {
		diff[b] = 0;
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *g, *w;
			size_t gl, wl;
			if (tpa_pcrs_get(want, banks[b], k, &w, &wl) != TPA_OK)
				continue;
			/* the log has no events for that PCR: not covered */
			if (tpa_pcrs_get(got, banks[b], k, &g, &gl) != TPA_OK) {
				assert_false(tpa_pcrs_is_incomplete(got, banks[b], k));
				continue;
			}
			assert_int_equal(gl, wl);
			if (memcmp(g, w, gl) != 0)
				diff[b] |= 1u << k;
			else
				(*same)++;
		}
	}
}

static void test_expected_values(void **state)
{
	static const char *const dirs[] = {"go-tpm-tools", "go-attestation", "tpm2-tss",
	                                   "tpm2-tools",   "ibmtss",         "keylime"};
	size_t checked = 0;
	(void)state;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dp[4352];
		DIR *dir;
		struct dirent *e;
		path_of(dp, sizeof(dp), dirs[d]);
		if (!(dir = opendir(dp)))
			continue;
		while ((e = readdir(dir))) {
			const char *suffix = ".expected.json";
			size_t nl = strlen(e->d_name), sl = strlen(suffix), same;
			char rel[1024], bin[1024];
			tpa_eventlog *log;
			tpa_pcrs *want, *got = NULL;
			uint32_t diff[4];
			int ebs;

			if (nl <= sl || strcmp(e->d_name + nl - sl, suffix) != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], e->d_name);
			snprintf(bin, sizeof(bin), "%s/%.*s.bin", dirs[d], (int)(nl - sl),
			         e->d_name);
			ebs = strstr(e->d_name, "ebs_event_missing") != NULL;
			log = parse_file(bin);
			want = load_expected(rel);
			assert_int_equal(tpa_eventlog_replay(log, &got), TPA_OK);
			compare(got, want, diff, &same);
			for (size_t b = 0; b < 4; b++) {
				uint32_t allowed = ebs ? 1u << 5 : 0;
				if (diff[b] != allowed &&
				    !(ebs && diff[b] == 0 &&
				      tpa_pcrs_get(want, banks[b], 5, NULL, NULL) != TPA_OK))
					print_error("%s: bank %s differs in PCRs 0x%x\n", bin,
					            tpa_alg_name(banks[b]), diff[b]);
				if (ebs) {
					/* PCR5 must differ where the file has it */
					if (tpa_pcrs_get(want, banks[b], 5, NULL, NULL) == TPA_OK)
						assert_int_equal(diff[b], 1u << 5);
					else
						assert_int_equal(diff[b], 0);
				} else {
					assert_int_equal(diff[b], 0);
				}
			}
			if (ebs) {
				/* the log lacks the ExitBootServices events and appending
				 * them explains the value */
				const uint8_t *v;
				size_t vl;
				assert_int_equal(tpa_pcrs_get(want, TPA_ALG_SHA1, 5, &v, &vl),
				                 TPA_OK);
				assert_int_equal(tpa_eventlog_ebs_missing(log, TPA_ALG_SHA1, v, vl),
				                 1);
			} else {
				assert_true(same > 0);
			}
			checked++;
			tpa_pcrs_free(&got);
			tpa_pcrs_free(&want);
			tpa_eventlog_free(&log);
		}
		closedir(dir);
	}
	/* 9 go-tpm-tools, 2 go-attestation, 1 tpm2-tss at the time of writing */
	assert_true(checked >= 12);
}

/* ---- every other log ---- */

static void test_all_logs_parse(void **state)
{
	static const struct {
		const char *file;
		int err;
	} bad[] = {
	        {"tpm2-tools/specid-vendordata.bin", TPA_E_MALFORMED},
	        /* ASCII text: the first record's size field runs past the end */
	        {"keylime/binary_bios_measurements-bogus.bin", TPA_E_TRUNCATED},
	        {"keylime/binary_bios_measurements-empty.bin", TPA_E_MALFORMED},
	};
	static const char *const dirs[] = {"go-tpm-tools", "go-attestation", "tpm2-tss",
	                                   "tpm2-tools",   "ibmtss",         "keylime"};
	size_t ok = 0;
	(void)state;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dp[4352];
		DIR *dir;
		struct dirent *e;
		path_of(dp, sizeof(dp), dirs[d]);
		if (!(dir = opendir(dp)))
			continue;
		while ((e = readdir(dir))) {
			size_t nl = strlen(e->d_name), len;
			char rel[1024], p[4352];
			uint8_t *buf;
			tpa_eventlog *log = NULL;
			tpa_pcrs *pcrs = NULL;
			tpa_parse_error err = {0};
			int want = TPA_OK, r;

			if (nl < 5 || strcmp(e->d_name + nl - 4, ".bin") != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], e->d_name);
			for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
				if (strcmp(rel, bad[i].file) == 0)
					want = bad[i].err;
			path_of(p, sizeof(p), rel);
			buf = slurp(p, &len);
			r = tpa_eventlog_parse(buf, len, &log, &err);
			if (r != want)
				print_error("%s: got %s, want %s (%s at %zu)\n", rel,
				            tpa_strerror(r), tpa_strerror(want), err.reason,
				            err.offset);
			assert_int_equal(r, want);
			if (r == TPA_OK) {
				int measured = 0;
				for (size_t i = 0; i < tpa_eventlog_count(log); i++)
					measured |= tpa_event_type(tpa_eventlog_get(log, i)) !=
					            TPA_EV_NO_ACTION;
				assert_int_equal(tpa_eventlog_replay(log, &pcrs), TPA_OK);
				/* a bank for each PCR with a measured event */
				assert_int_equal(tpa_pcrs_bank_count(pcrs) > 0, measured);
				ok++;
			}
			tpa_pcrs_free(&pcrs);
			tpa_eventlog_free(&log);
			free(buf);
		}
		closedir(dir);
	}
	assert_true(ok >= 30);
}

/* Logs with a known shape (MANIFEST.json notes). */
static void test_known_shapes(void **state)
{
	tpa_eventlog *log;
	const tpa_event *ev;
	tpa_pcrs *p = NULL;
	(void)state;

	/* 49 bytes: one StartupLocality record, read as a SHA-1 format log */
	log = parse_file("go-attestation/short_no_action_eventlog.bin");
	assert_int_equal(tpa_eventlog_get_format(log), TPA_EVENTLOG_SHA1);
	assert_int_equal(tpa_eventlog_count(log), 1);
	assert_int_equal(tpa_event_type(tpa_eventlog_get(log, 0)), TPA_EV_NO_ACTION);
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 3);
	assert_int_equal(tpa_eventlog_replay(log, &p), TPA_OK);
	assert_int_equal(tpa_pcrs_bank_count(p), 0);
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);

	/* Windows: EV_NO_ACTION records in PCR 0xFFFFFFFF */
	log = parse_file("go-attestation/option_rom_eventlog.bin");
	{
		size_t minus1 = 0;
		for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
			ev = tpa_eventlog_get(log, i);
			if (tpa_event_pcr(ev) == 0xffffffffu) {
				assert_int_equal(tpa_event_type(ev), TPA_EV_NO_ACTION);
				minus1++;
			}
		}
		assert_true(minus1 > 0);
	}
	tpa_eventlog_free(&log);

	/* StartupLocality 3 */
	log = parse_file("go-tpm-tools/glinux-alex.bin");
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 3);
	tpa_eventlog_free(&log);

	/* H-CRTM, with an SM3 bank declared */
	log = parse_file("tpm2-tss/binary_measurements_hcrtm.bin");
	assert_int_equal(tpa_eventlog_pcr0_locality(log), 4);
	{
		int sm3 = 0;
		for (size_t a = 0; a < tpa_eventlog_alg_count(log); a++)
			sm3 |= tpa_eventlog_alg(log, a) == TPA_ALG_SM3_256;
		assert_true(sm3);
	}
	tpa_eventlog_free(&log);

	/* gdc-host: the S-CRTM version's digest is not H(data) */
	log = parse_file("go-tpm-tools/gdc-host.bin");
	{
		size_t crtm = 0;
		for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
			ev = tpa_eventlog_get(log, i);
			if (tpa_event_type(ev) != TPA_EV_S_CRTM_VERSION)
				continue;
			assert_int_equal(tpa_event_digest_check(ev), TPA_DIGEST_MISMATCH);
			crtm++;
		}
		assert_true(crtm > 0);
	}
	tpa_eventlog_free(&log);
}

/* ---- derived cases, driven by MANIFEST.json ---- */

static void check_derived(const char *file, const char *from, const char *outcome)
{
	char p[4352], base_json[1024];
	size_t len;
	uint8_t *buf;
	tpa_eventlog *log = NULL, *base;
	tpa_parse_error err = {0};
	int r;

	path_of(p, sizeof(p), file);
	buf = slurp(p, &len);
	r = tpa_eventlog_parse(buf, len, &log, &err);
	free(buf);
	if (strncmp(outcome, "PARSE_ERROR", 11) == 0) {
		int want = strstr(outcome, "truncated") || strstr(outcome, "event size > remaining")
		                   ? TPA_E_TRUNCATED
		                   : TPA_E_MALFORMED;
		if (r != want)
			print_error("%s: got %s, want %s\n", file, tpa_strerror(r),
			            tpa_strerror(want));
		assert_int_equal(r, want);
		assert_null(log);
		return;
	}
	if (r != TPA_OK)
		print_error("%s: %s at %zu\n", file, err.reason, err.offset);
	assert_int_equal(r, TPA_OK);

	/* compare with the base log's expected values */
	snprintf(base_json, sizeof(base_json), "%.*s.expected.json", (int)(strlen(from) - 4), from);
	tpa_pcrs *want = load_expected(base_json), *got = NULL;
	uint32_t diff[4], expect_diff[4] = {0};
	size_t same;
	base = parse_file(from);
	assert_int_equal(tpa_eventlog_replay(log, &got), TPA_OK);
	compare(got, want, diff, &same);
	if (strncmp(outcome, "OK", 2) == 0) {
		assert_int_equal(tpa_eventlog_count(log), tpa_eventlog_count(base));
	} else {
		const char *m = strstr(outcome, "REPLAY_MISMATCH on PCR");
		unsigned pcr;
		assert_non_null(m);
		assert_int_equal(sscanf(m, "REPLAY_MISMATCH on PCR%u", &pcr), 1);
		assert_true(pcr < TPA_PCR_COUNT);
		for (size_t b = 0; b < 4; b++)
			if (tpa_pcrs_get(want, banks[b], pcr, NULL, NULL) == TPA_OK)
				expect_diff[b] = 1u << pcr;
		if (strstr(outcome, "only first bank for agile") &&
		    tpa_eventlog_get_format(log) == TPA_EVENTLOG_CRYPTO_AGILE)
			for (size_t b = 0; b < 4; b++)
				if (banks[b] != tpa_eventlog_alg(log, 0))
					expect_diff[b] = 0;
	}
	for (size_t b = 0; b < 4; b++) {
		if (diff[b] != expect_diff[b])
			print_error("%s: bank %s differs in PCRs 0x%x, want 0x%x\n", file,
			            tpa_alg_name(banks[b]), diff[b], expect_diff[b]);
		assert_int_equal(diff[b], expect_diff[b]);
	}
	assert_true(same > 0);
	tpa_pcrs_free(&got);
	tpa_pcrs_free(&want);
	tpa_eventlog_free(&base);
	tpa_eventlog_free(&log);
}

static void test_derived(void **state)
{
	char p[4352];
	json_object *m;
	size_t n = 0;
	(void)state;
	path_of(p, sizeof(p), "MANIFEST.json");
	m = json_object_from_file(p);
	assert_non_null(m);
	assert_true(json_object_is_type(m, json_type_array));
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		json_object *e = json_object_array_get_idx(m, i), *f, *from, *out;
		if (!json_object_object_get_ex(e, "expected_outcome", &out))
			continue;
		assert_true(json_object_object_get_ex(e, "file", &f));
		assert_true(json_object_object_get_ex(e, "derived_from", &from));
		check_derived(json_object_get_string(f), json_object_get_string(from),
		              json_object_get_string(out));
		n++;
	}
	json_object_put(m);
	assert_true(n >= 7);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cut_agile),       cmocka_unit_test(test_cut_sha1),
	        cmocka_unit_test(test_flip_agile),      cmocka_unit_test(test_flip_sha1),
	        cmocka_unit_test(test_expected_values), cmocka_unit_test(test_all_logs_parse),
	        cmocka_unit_test(test_derived),         cmocka_unit_test(test_known_shapes),
	};
	struct stat st;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
		return 2;
	}
	n = snprintf(logs_dir, sizeof(logs_dir), "%s/eventlogs", argv[1]);
	if (n < 0 || (size_t)n >= sizeof(logs_dir))
		return 2;
	if (stat(logs_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("skip: %s not found (the shared real-log collection)\n", logs_dir);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
