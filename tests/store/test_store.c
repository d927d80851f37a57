/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server's store on SQLite (server/store/store.h), against a real
 * database file in a fresh directory per test: every answer's exact code,
 * what it wrote, and what a failed call left as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <tpmattest/tpmattest.h>

#include "store.h"

#define NOW ((int64_t)1700000000)

struct fx {
	char dir[64];
	char path[128];
	store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tpa-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *ext[] = {"", "-wal", "-shm", "-journal"};
	char p[160];
	size_t i;

	store_close(&f->s);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, ext[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static store *open_ok(const char *path)
{
	store *s = NULL;
	char why[256] = "";
	int r = store_open(path, &s, why, sizeof(why));

	if (r != TPA_OK)
		fail_msg("store_open: %d %s", r, why);
	assert_non_null(s);
	return s;
}

static void reopen(struct fx *f)
{
	store_close(&f->s);
	assert_null(f->s);
	f->s = open_ok(f->path);
}

/* A machine id of 64 copies of the hex digit c. */
static const char *mid(char c)
{
	static char ids[16][STORE_ID_HEX];
	const char *hex = "0123456789abcdef";
	const char *p = strchr(hex, c);
	size_t k = (size_t)(p - hex);

	memset(ids[k], c, 64);
	ids[k][64] = '\0';
	return ids[k];
}

static void nonce_of(uint8_t n[STORE_NONCE_LEN], int k)
{
	memset(n, 0, STORE_NONCE_LEN);
	n[0] = (uint8_t)k;
	n[31] = 0xa5;
}

static void add_ok(store *s, const char *id, const char *name)
{
	char why[256] = "";
	int r = store_machine_add(s, id, name, NOW, "{\"record\":1}", why, sizeof(why));

	if (r != TPA_OK)
		fail_msg("store_machine_add: %d %s", r, why);
}

static void nonce_ok(store *s, const char *id, int k, int64_t now, int64_t expires)
{
	uint8_t n[STORE_NONCE_LEN];
	char why[256] = "";
	int r;

	nonce_of(n, k);
	r = store_nonce_put(s, id, n, now, expires, 4, 1000, why, sizeof(why));
	if (r != TPA_OK)
		fail_msg("store_nonce_put: %d %s", r, why);
}

static int nonce_check(store *s, const char *id, int k, int64_t now)
{
	uint8_t n[STORE_NONCE_LEN];

	nonce_of(n, k);
	return store_nonce_check(s, id, n, now, NULL, 0);
}

/* Commits a recorded "pass" with nonce k; the state moves when state is
 * not NULL. */
static int commit(store *s, const char *id, int k, int64_t now, const char *state, int64_t gen,
                  int64_t *seq, char *why, size_t whylen)
{
	uint8_t n[STORE_NONCE_LEN];
	store_attestation a = {
	        .machine_id = id,
	        .nonce = n,
	        .now = now,
	        .record = 1,
	        .verdict = "pass",
	        .error = "",
	        .result_json = "{\"verdict\":\"pass\"}",
	        .next_state_json = state,
	        .expect_gen = gen,
	};

	nonce_of(n, k);
	return store_attest_commit(s, &a, seq, why, whylen);
}

static size_t history_n(store *s, const char *id)
{
	store_verdict v[16];
	size_t n = 0, i;

	assert_int_equal(store_history(s, id, 0, 16, v, &n, NULL, 0), TPA_OK);
	for (i = 0; i < n; i++)
		store_verdict_clear(&v[i]);
	return n;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Runs SQL on the file directly, behind the store's back. */
static int raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* ---- opening ---- */

static void test_open_create_reopen(void **state)
{
	struct fx *f = *state;
	store_machine m;
	store_verdict v[4];
	uint8_t sha[32], *log = NULL;
	uint8_t n[STORE_NONCE_LEN];
	const uint8_t bytes[] = {1, 2, 3, 0, 4};
	char *doc = NULL, wal[160];
	struct stat st;
	size_t len = 0, k = 0;
	int64_t seq = 0;
	int ver = 0;
	store_attestation a = {0};

	f->s = open_ok(f->path);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* WAL mode, and its files as private as the database */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, STORE_SCHEMA_VERSION);
	assert_int_equal(store_ping(f->s, NULL, 0), TPA_OK);

	add_ok(f->s, mid('a'), "alpha");
	assert_int_equal(store_policy_put(f->s, "golden", "{\"p\":1}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "golden", NULL, 0), TPA_OK);
	nonce_ok(f->s, mid('a'), 1, NOW, NOW + 120);
	nonce_ok(f->s, mid('a'), 2, NOW, NOW + 120);
	memset(sha, 0x5c, sizeof(sha));
	nonce_of(n, 1);
	a = (store_attestation){.machine_id = mid('a'),
	                        .nonce = n,
	                        .now = NOW + 1,
	                        .record = 1,
	                        .verdict = "fail",
	                        .error = "pcr",
	                        .result_json = "{\"r\":1}",
	                        .next_state_json = "{\"s\":1}",
	                        .expect_gen = 0,
	                        .eventlog = bytes,
	                        .eventlog_len = sizeof(bytes),
	                        .eventlog_sha256 = sha};
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 1);

	reopen(f);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.id, mid('a'));
	assert_true(m.has_name);
	assert_string_equal(m.name, "alpha");
	assert_int_equal(m.enrolled_at, NOW);
	assert_string_equal(m.record_json, "{\"record\":1}");
	assert_string_equal(m.policy, "golden");
	assert_string_equal(m.state_json, "{\"s\":1}");
	assert_int_equal(m.state_gen, 1);
	assert_string_equal(m.last_verdict, "fail");
	assert_string_equal(m.last_error, "pcr");
	assert_int_equal(m.last_at, NOW + 1);
	assert_int_equal(m.last_seq, 1);
	assert_true(m.has_eventlog);
	assert_memory_equal(m.eventlog_sha256, sha, 32);
	store_machine_clear(&m);
	assert_null(m.record_json);

	assert_int_equal(store_eventlog_get(f->s, mid('a'), sha, &log, &len, NULL, 0), TPA_OK);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(log, bytes, sizeof(bytes));
	free(log);
	assert_int_equal(store_policy_get(f->s, "golden", &doc, NULL, NULL, 0), TPA_OK);
	assert_string_equal(doc, "{\"p\":1}");
	free(doc);
	assert_int_equal(store_history(f->s, mid('a'), 0, 4, v, &k, NULL, 0), TPA_OK);
	assert_int_equal(k, 1);
	assert_int_equal(v[0].seq, 1);
	assert_string_equal(v[0].result_json, "{\"r\":1}");
	store_verdict_clear(&v[0]);
	/* the used nonce stays used, the other stays outstanding */
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW + 2), TPA_E_MISMATCH);
	assert_int_equal(nonce_check(f->s, mid('a'), 2, NOW + 2), TPA_OK);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	store *s = (store *)(uintptr_t)1;
	char why[256] = "";

	assert_int_equal(raw_sql(f->path, "CREATE TABLE t (x); PRAGMA user_version = 2;"),
	                 SQLITE_OK);
	assert_int_equal(store_open(f->path, &s, why, sizeof(why)), TPA_E_UNSUPPORTED);
	assert_ptr_equal(s, (store *)(uintptr_t)1);
	assert_non_null(strstr(why, "schema version 2"));
}

static void test_migrate_empty_file(void **state)
{
	struct fx *f = *state;
	int fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	int ver = 0;

	assert_true(fd >= 0);
	close(fd);
	f->s = open_ok(f->path);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 1);
	add_ok(f->s, mid('1'), NULL);
	reopen(f);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 1);
}

static void test_not_a_database(void **state)
{
	struct fx *f = *state;
	store *s = NULL;
	char why[256] = "";
	char junk[4096];
	int fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);

	assert_true(fd >= 0);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(store_open(f->path, &s, why, sizeof(why)), TPA_E_IO);
	assert_null(s);
	assert_true(starts(why, "sqlite: "));
	assert_int_equal(store_open("postgres://db/x", &s, why, sizeof(why)), TPA_E_UNSUPPORTED);
}

/* ---- machines ---- */

static void test_machines(void **state)
{
	struct fx *f = *state;
	store_machine m, page[2];
	const char digits[] = "13579";
	char why[256] = "";
	size_t n = 99, i;

	f->s = open_ok(f->path);
	for (i = 0; i < 5; i++)
		add_ok(f->s, mid(digits[4 - i]), NULL);
	assert_int_equal(store_machine_add(f->s, mid('3'), NULL, NOW, "{}", why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_true(starts(why, "already enrolled"));

	memset(&m, 0x77, sizeof(m));
	assert_int_equal(store_machine_get(f->s, mid('2'), &m, why, sizeof(why)), TPA_E_NOT_FOUND);
	assert_int_equal(m.state_gen, 0x7777777777777777); /* untouched */
	assert_int_equal(store_machine_get(f->s, "ABC", &m, NULL, 0), TPA_E_INVALID_ARG);
	assert_int_equal(store_machine_get(f->s, mid('1'), &m, NULL, 0), TPA_OK);
	assert_false(m.has_name);
	assert_string_equal(m.name, "");
	assert_string_equal(m.policy, "");
	assert_null(m.state_json);
	assert_int_equal(m.state_gen, 0);
	assert_string_equal(m.last_verdict, "");
	assert_int_equal(m.last_seq, 0);
	assert_false(m.has_eventlog);
	store_machine_clear(&m);

	/* pages in id order */
	const char *after = "";
	char last[STORE_ID_HEX];
	for (i = 0; i < 3; i++) {
		size_t want = i < 2 ? 2 : 1, j;

		assert_int_equal(store_machine_list(f->s, after, 2, page, &n, NULL, 0), TPA_OK);
		assert_int_equal(n, want);
		for (j = 0; j < n; j++) {
			assert_string_equal(page[j].id, mid(digits[i * 2 + j]));
			assert_string_equal(page[j].record_json, "{\"record\":1}");
		}
		snprintf(last, sizeof(last), "%s", page[n - 1].id);
		for (j = 0; j < n; j++)
			store_machine_clear(&page[j]);
		after = last;
	}
	assert_int_equal(store_machine_list(f->s, after, 2, page, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_machine_list(f->s, "", 0, NULL, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 0);

	/* deleting keeps the history */
	nonce_ok(f->s, mid('5'), 1, NOW, NOW + 60);
	assert_int_equal(commit(f->s, mid('5'), 1, NOW, NULL, 0, NULL, NULL, 0), TPA_OK);
	nonce_ok(f->s, mid('5'), 2, NOW, NOW + 60);
	assert_int_equal(store_machine_delete(f->s, mid('5'), NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get(f->s, mid('5'), &m, NULL, 0), TPA_E_NOT_FOUND);
	assert_int_equal(store_machine_delete(f->s, mid('5'), why, sizeof(why)), TPA_E_NOT_FOUND);
	assert_int_equal(history_n(f->s, mid('5')), 1);
	/* its nonces went with it */
	assert_int_equal(nonce_check(f->s, mid('5'), 2, NOW), TPA_E_MISMATCH);
	/* and it may enroll again */
	add_ok(f->s, mid('5'), NULL);
	assert_int_equal(store_machine_list(f->s, "", 2, page, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 2);
	store_machine_clear(&page[0]);
	store_machine_clear(&page[1]);
}

static void test_names(void **state)
{
	struct fx *f = *state;
	char long_name[STORE_NAME_MAX + 1];
	const char *names[] = {
	        "'); DROP TABLE machines;--",
	        "quote \" and apostrophe ' and backtick `",
	        "line\nbreak\r\n\ttab",
	        "\xff\xfe not UTF-8 \x80",
	        "%s%n%x",
	        long_name,
	};
	const char ids[] = "0123456";
	store_machine m;
	char why[256] = "";
	size_t i;

	memset(long_name, 'N', 256);
	long_name[256] = '\0';
	f->s = open_ok(f->path);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_ok(f->s, mid(ids[i]), names[i]);
	reopen(f);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(store_machine_get(f->s, mid(ids[i]), &m, NULL, 0), TPA_OK);
		assert_true(m.has_name);
		assert_string_equal(m.name, names[i]);
		store_machine_clear(&m);
		/* the same name for another machine */
		why[0] = '\0';
		assert_int_equal(
		        store_machine_add(f->s, mid('f'), names[i], NOW, "{}", why, sizeof(why)),
		        TPA_E_MISMATCH);
		assert_true(starts(why, "name taken"));
	}
	/* 257 bytes, and the empty name */
	long_name[256] = 'N';
	long_name[257] = '\0';
	assert_int_equal(store_machine_add(f->s, mid('f'), long_name, NOW, "{}", NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_machine_add(f->s, mid('f'), "", NOW, "{}", NULL, 0),
	                 TPA_E_INVALID_ARG);
	/* names differ by bytes: no case folding, no trimming */
	add_ok(f->s, mid('e'), "'); drop table machines;--");
	add_ok(f->s, mid('d'), "line\nbreak\r\n\ttab ");
	/* a deleted machine's name is free again */
	assert_int_equal(store_machine_delete(f->s, mid('0'), NULL, 0), TPA_OK);
	add_ok(f->s, mid('f'), names[0]);
	assert_int_equal(store_machine_get(f->s, mid('f'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.name, names[0]);
	store_machine_clear(&m);
}

/* ---- enrollment ---- */

static store_pending pending(uint8_t k, const char *id, const char *name, int64_t expires)
{
	store_pending p;

	memset(&p, 0, sizeof(p));
	memset(p.id, k, sizeof(p.id));
	snprintf(p.machine_id, sizeof(p.machine_id), "%s", id);
	if (name) {
		snprintf(p.name, sizeof(p.name), "%s", name);
		p.has_name = 1;
	}
	p.expires = expires;
	p.pending_json = (char *)(uintptr_t) "{\"secret\":\"s\"}";
	return p;
}

static void test_pending(void **state)
{
	struct fx *f = *state;
	int64_t later = (int64_t)time(NULL) + 3600;
	store_pending p = pending(1, mid('a'), "n'1\n", later), got;
	char why[256] = "";

	f->s = open_ok(f->path);
	assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	reopen(f);
	assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_OK);
	assert_memory_equal(got.id, p.id, sizeof(p.id));
	assert_string_equal(got.machine_id, mid('a'));
	assert_true(got.has_name);
	assert_string_equal(got.name, "n'1\n");
	assert_int_equal(got.expires, later);
	assert_string_equal(got.pending_json, "{\"secret\":\"s\"}");
	store_pending_clear(&got);
	assert_null(got.pending_json);
	/* one try */
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_pending_take(f->s, p.id, &got, why, sizeof(why)), TPA_E_NOT_FOUND);
	assert_int_equal(got.expires, 0x5555555555555555); /* untouched */

	/* an expired challenge is dropped by the next put */
	p = pending(2, mid('b'), NULL, 1);
	assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	p = pending(3, mid('c'), NULL, later);
	assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	p = pending(2, mid('b'), NULL, 1);
	assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_E_NOT_FOUND);
	p = pending(3, mid('c'), NULL, later);
	assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_OK);
	assert_false(got.has_name);
	store_pending_clear(&got);

	/* already enrolled, name taken */
	add_ok(f->s, mid('d'), "taken");
	p = pending(4, mid('d'), NULL, later);
	assert_int_equal(store_pending_put(f->s, &p, why, sizeof(why)), TPA_E_MISMATCH);
	assert_true(starts(why, "already enrolled"));
	p = pending(5, mid('e'), "taken", later);
	assert_int_equal(store_pending_put(f->s, &p, why, sizeof(why)), TPA_E_MISMATCH);
	assert_true(starts(why, "name taken"));
	p = pending(4, mid('d'), NULL, later);
	assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_E_NOT_FOUND);

	/* the name was free at put, taken before the activation */
	p = pending(6, mid('6'), "late", later);
	assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	p = pending(7, mid('7'), "late", later);
	assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	add_ok(f->s, mid('7'), "late");
	assert_int_equal(store_machine_add(f->s, mid('6'), "late", NOW, "{}", why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_true(starts(why, "name taken"));
	assert_int_equal(store_machine_add(f->s, mid('7'), NULL, NOW, "{}", why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_true(starts(why, "already enrolled"));
}

/* ---- nonces ---- */

/* A replayed request: at most STORE_PENDING_PER_MACHINE per EK, the oldest
 * dropped; STORE_PENDING_MAX overall. */
static void test_pending_bounded(void **state)
{
	struct fx *f = *state;
	int64_t later = (int64_t)time(NULL) + 3600;
	store_pending p, got;
	char why[256] = "";

	f->s = open_ok(f->path);
	for (uint8_t k = 1; k <= STORE_PENDING_PER_MACHINE + 2; k++) {
		p = pending(k, mid('a'), NULL, later);
		assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	}
	/* the two oldest are gone, the newest PER_MACHINE are there */
	for (uint8_t k = 1; k <= 2; k++) {
		p = pending(k, mid('a'), NULL, later);
		assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_E_NOT_FOUND);
	}
	for (uint8_t k = 3; k <= STORE_PENDING_PER_MACHINE + 2; k++) {
		p = pending(k, mid('a'), NULL, later);
		assert_int_equal(store_pending_take(f->s, p.id, &got, NULL, 0), TPA_OK);
		store_pending_clear(&got);
	}
	/* overall: fill to the cap over many EKs, one more is refused */
	for (unsigned i = 0; i < STORE_PENDING_MAX; i++) {
		char id[STORE_ID_HEX];
		snprintf(id, sizeof(id), "%064x", i);
		p = pending(0, id, NULL, later);
		memcpy(p.id, &i, sizeof(i));
		assert_int_equal(store_pending_put(f->s, &p, NULL, 0), TPA_OK);
	}
	p = pending(9, mid('b'), NULL, later);
	assert_int_equal(store_pending_put(f->s, &p, why, sizeof(why)), TPA_E_LIMIT);
	assert_non_null(strstr(why, "enrollments pending"));
}

static void test_nonces(void **state)
{
	struct fx *f = *state;
	uint8_t n[STORE_NONCE_LEN];
	store_stats st;
	char why[256] = "";
	int64_t seq = -7;
	int k;

	f->s = open_ok(f->path);
	nonce_of(n, 1);
	assert_int_equal(
	        store_nonce_put(f->s, mid('a'), n, NOW, NOW + 60, 4, 100, why, sizeof(why)),
	        TPA_E_NOT_FOUND);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);

	/* single use; A's nonce is not B's */
	nonce_ok(f->s, mid('a'), 1, NOW, NOW + 60);
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW), TPA_OK);
	assert_int_equal(nonce_check(f->s, mid('b'), 1, NOW), TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('b'), 1, NOW, NULL, 0, &seq, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_int_equal(seq, -7);
	assert_int_equal(history_n(f->s, mid('b')), 0);
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW), TPA_OK);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, NULL, 0, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW), TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, NULL, 0, &seq, NULL, 0), TPA_E_MISMATCH);
	assert_int_equal(history_n(f->s, mid('a')), 1);

	/* valid up to and including expires, refused after */
	nonce_ok(f->s, mid('a'), 2, NOW, NOW + 10);
	assert_int_equal(nonce_check(f->s, mid('a'), 2, NOW + 10), TPA_OK);
	assert_int_equal(nonce_check(f->s, mid('a'), 2, NOW + 11), TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW + 11, NULL, 0, NULL, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW + 10, NULL, 0, NULL, NULL, 0), TPA_OK);

	/* per machine: the fifth evicts the first */
	for (k = 10; k < 15; k++)
		nonce_ok(f->s, mid('b'), k, NOW, NOW + 60);
	assert_int_equal(nonce_check(f->s, mid('b'), 10, NOW), TPA_E_MISMATCH);
	for (k = 11; k < 15; k++)
		assert_int_equal(nonce_check(f->s, mid('b'), k, NOW), TPA_OK);
	assert_int_equal(store_stats_get(f->s, NOW, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 4);
	assert_int_equal(st.machines, 2);
	assert_int_equal(st.pending, 0);

	/* overall: 4 of b's and 1 of a's fill a cap of 5 */
	nonce_of(n, 20);
	assert_int_equal(store_nonce_put(f->s, mid('a'), n, NOW, NOW + 60, 4, 5, NULL, 0), TPA_OK);
	nonce_of(n, 21);
	assert_int_equal(store_nonce_put(f->s, mid('a'), n, NOW, NOW + 60, 4, 5, why, sizeof(why)),
	                 TPA_E_LIMIT);
	assert_int_equal(nonce_check(f->s, mid('a'), 21, NOW), TPA_E_MISMATCH);
	/* a machine at its own cap still evicts its oldest before the overall
	 * cap counts */
	nonce_of(n, 22);
	assert_int_equal(store_nonce_put(f->s, mid('b'), n, NOW, NOW + 60, 4, 5, NULL, 0), TPA_OK);
	assert_int_equal(nonce_check(f->s, mid('b'), 11, NOW), TPA_E_MISMATCH);
	/* once they expire they stop counting */
	nonce_of(n, 21);
	assert_int_equal(store_nonce_put(f->s, mid('a'), n, NOW + 61, NOW + 120, 4, 5, NULL, 0),
	                 TPA_OK);
	assert_int_equal(store_stats_get(f->s, NOW + 61, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 1);
	assert_int_equal(store_nonce_put(f->s, mid('a'), n, NOW, NOW + 60, 0, 5, NULL, 0),
	                 TPA_E_INVALID_ARG);
}

/* ---- attestations ---- */

static void test_attest_atomic(void **state)
{
	struct fx *f = *state;
	uint8_t n[STORE_NONCE_LEN];
	store_attestation a = {0};
	store_machine m;
	char why[256] = "";
	int64_t seq = -7;

	f->s = open_ok(f->path);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, NULL, 0, &seq, NULL, 0), TPA_E_NOT_FOUND);
	add_ok(f->s, mid('a'), NULL);
	nonce_ok(f->s, mid('a'), 1, NOW, NOW + 60);

	/* the generation moved: nothing is written, the nonce included */
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 1, &seq, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_int_equal(seq, -7);
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 0);
	assert_null(m.state_json);
	assert_string_equal(m.last_verdict, "");
	assert_int_equal(m.last_seq, 0);
	store_machine_clear(&m);

	assert_int_equal(commit(f->s, mid('a'), 1, NOW + 5, "{\"s\":1}", 0, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 1);
	assert_string_equal(m.state_json, "{\"s\":1}");
	assert_string_equal(m.last_verdict, "pass");
	assert_string_equal(m.last_error, "");
	assert_int_equal(m.last_at, NOW + 5);
	assert_int_equal(m.last_seq, 1);
	store_machine_clear(&m);

	/* a stale generation loses; the fresh one wins */
	nonce_ok(f->s, mid('a'), 2, NOW, NOW + 60);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":2}", 0, &seq, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":2}", 1, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 2);

	/* not recorded (an unauthenticated verdict): the nonce goes, nothing else */
	nonce_ok(f->s, mid('a'), 3, NOW, NOW + 60);
	nonce_of(n, 3);
	a.machine_id = mid('a');
	a.nonce = n;
	a.now = NOW;
	seq = -7;
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, -7);
	assert_int_equal(nonce_check(f->s, mid('a'), 3, NOW), TPA_E_MISMATCH);
	assert_int_equal(history_n(f->s, mid('a')), 2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 2);
	assert_int_equal(m.last_seq, 2);
	assert_string_equal(m.state_json, "{\"s\":2}");
	store_machine_clear(&m);

	/* two handles (two server processes) racing from generation 2: one wins */
	store *s2 = open_ok(f->path);
	nonce_ok(f->s, mid('a'), 4, NOW, NOW + 60);
	nonce_ok(s2, mid('a'), 5, NOW, NOW + 60);
	assert_int_equal(commit(s2, mid('a'), 5, NOW, "{\"s\":3}", 2, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(commit(f->s, mid('a'), 4, NOW, "{\"s\":4}", 2, &seq, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(nonce_check(f->s, mid('a'), 4, NOW), TPA_OK);
	store_close(&s2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 3);
	assert_string_equal(m.state_json, "{\"s\":3}");
	store_machine_clear(&m);

	/* the history cannot be rewritten, even behind the store's back */
	assert_int_equal(raw_sql(f->path, "UPDATE verdicts SET verdict = 'pass'"),
	                 SQLITE_CONSTRAINT);
	assert_int_equal(raw_sql(f->path, "DELETE FROM verdicts"), SQLITE_CONSTRAINT);
}

static void test_history(void **state)
{
	struct fx *f = *state;
	store_verdict v[8];
	size_t n = 0, i;
	int k;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	/* a: seq 1, 3, 5, 7, 9; b: 2, 4, 6, 8, 10 */
	for (k = 0; k < 10; k++) {
		const char *id = mid(k % 2 ? 'b' : 'a');

		nonce_ok(f->s, id, k, NOW, NOW + 60);
		assert_int_equal(commit(f->s, id, k, NOW + k, NULL, 0, NULL, NULL, 0), TPA_OK);
	}
	assert_int_equal(store_history(f->s, mid('a'), 0, 8, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i].seq, 9 - 2 * (int64_t)i);
		assert_int_equal(v[i].at, NOW + 8 - 2 * (int64_t)i);
		assert_string_equal(v[i].verdict, "pass");
		assert_string_equal(v[i].error, "");
		store_verdict_clear(&v[i]);
	}
	assert_int_equal(store_history(f->s, mid('a'), 0, 2, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, 9);
	assert_int_equal(v[1].seq, 7);
	store_verdict_clear(&v[0]);
	store_verdict_clear(&v[1]);
	assert_int_equal(store_history(f->s, mid('a'), 7, 2, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, 5);
	assert_int_equal(v[1].seq, 3);
	store_verdict_clear(&v[0]);
	store_verdict_clear(&v[1]);
	assert_int_equal(store_history(f->s, mid('b'), 3, 8, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].seq, 2);
	store_verdict_clear(&v[0]);
	assert_int_equal(store_history(f->s, mid('a'), 1, 8, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_history(f->s, mid('c'), 0, 8, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_history(f->s, mid('a'), -1, 8, v, &n, NULL, 0), TPA_E_INVALID_ARG);
}

/* ---- policies ---- */

static void test_policies(void **state)
{
	struct fx *f = *state;
	char names[4][STORE_POLICY_NAME_MAX];
	int64_t updated[4], up = 0;
	store_machine m;
	char *doc = NULL, why[256] = "";
	size_t n = 0;

	f->s = open_ok(f->path);
	assert_int_equal(store_policy_put(f->s, "b-2", "{\"b\":1}", NOW + 2, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_put(f->s, "a.1", "{\"a\":1}", NOW + 1, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_put(f->s, "c_3", "{\"c\":1}", NOW + 3, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_put(f->s, "b-2", "{\"b\":2}", NOW + 4, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_get(f->s, "b-2", &doc, &up, NULL, 0), TPA_OK);
	assert_string_equal(doc, "{\"b\":2}");
	assert_int_equal(up, NOW + 4);
	free(doc);
	doc = NULL;
	assert_int_equal(store_policy_get(f->s, "zzz", &doc, &up, why, sizeof(why)),
	                 TPA_E_NOT_FOUND);
	assert_null(doc);
	assert_int_equal(store_policy_put(f->s, "bad name", "{}", NOW, NULL, 0), TPA_E_INVALID_ARG);
	assert_int_equal(store_policy_put(f->s, "", "{}", NOW, NULL, 0), TPA_E_INVALID_ARG);

	assert_int_equal(store_policy_list(f->s, names, updated, 4, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.1");
	assert_string_equal(names[1], "b-2");
	assert_string_equal(names[2], "c_3");
	assert_int_equal(updated[0], NOW + 1);
	assert_int_equal(updated[1], NOW + 4);
	assert_int_equal(store_policy_list(f->s, names, NULL, 2, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 2);

	add_ok(f->s, mid('a'), NULL);
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "nope", why, sizeof(why)),
	                 TPA_E_NOT_FOUND);
	assert_non_null(strstr(why, "policy"));
	assert_int_equal(store_machine_set_policy(f->s, mid('b'), "a.1", why, sizeof(why)),
	                 TPA_E_NOT_FOUND);
	assert_non_null(strstr(why, "machine"));
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "a.1", NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.policy, "a.1");
	store_machine_clear(&m);
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "", NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.policy, "");
	store_machine_clear(&m);
}

/* ---- event logs ---- */

static void test_eventlog(void **state)
{
	struct fx *f = *state;
	uint8_t n[STORE_NONCE_LEN], sha[32], other[32], *log = (uint8_t *)(uintptr_t)1;
	uint8_t big[4096];
	store_attestation a = {0};
	size_t len = 7;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	memset(sha, 0x11, sizeof(sha));
	memset(other, 0x22, sizeof(other));
	memset(big, 0xee, sizeof(big));
	assert_int_equal(store_eventlog_get(f->s, mid('a'), sha, &log, &len, NULL, 0),
	                 TPA_E_NOT_FOUND);
	nonce_ok(f->s, mid('a'), 1, NOW, NOW + 60);
	nonce_of(n, 1);
	a = (store_attestation){.machine_id = mid('a'),
	                        .nonce = n,
	                        .now = NOW,
	                        .eventlog = big,
	                        .eventlog_len = sizeof(big),
	                        .eventlog_sha256 = sha};
	assert_int_equal(store_attest_commit(f->s, &a, NULL, NULL, 0), TPA_OK);
	assert_int_equal(store_eventlog_get(f->s, mid('a'), other, &log, &len, NULL, 0),
	                 TPA_E_NOT_FOUND);
	assert_ptr_equal(log, (uint8_t *)(uintptr_t)1);
	assert_int_equal(len, 7);
	assert_int_equal(store_eventlog_get(f->s, mid('b'), sha, &log, &len, NULL, 0),
	                 TPA_E_NOT_FOUND);
	assert_int_equal(store_eventlog_get(f->s, mid('a'), sha, &log, &len, NULL, 0), TPA_OK);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(log, big, sizeof(big));
	free(log);

	/* a commit without a log keeps the one held */
	nonce_ok(f->s, mid('a'), 2, NOW, NOW + 60);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{}", 0, NULL, NULL, 0), TPA_OK);
	assert_int_equal(store_eventlog_get(f->s, mid('a'), sha, &log, &len, NULL, 0), TPA_OK);
	free(log);
}

/* ---- a full disk ---- */

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* In a child whose files may not grow, a commit that must grow them fails
 * with TPA_E_IO; reopened without the limit, nothing of it is there. */
static void test_disk_full(void **state)
{
	struct fx *f = *state;
	static uint8_t big[1 << 20];
	uint8_t sha[32];
	char wal[160];
	store_machine m;
	pid_t pid;
	int status = 0;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	nonce_ok(f->s, mid('a'), 1, NOW, NOW + 60);
	store_close(&f->s);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	memset(big, 0x3c, sizeof(big));
	memset(sha, 0x44, sizeof(sha));

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t n[STORE_NONCE_LEN];
		store_attestation a = {0};
		struct rlimit rl;
		store *s = NULL;
		char why[256] = "";
		off_t lim;
		int64_t seq = -7;
		int r;

		if (store_open(f->path, &s, why, sizeof(why)) != TPA_OK)
			_exit(10);
		lim = file_size(f->path) > file_size(wal) ? file_size(f->path) : file_size(wal);
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = (rlim_t)lim + 8192;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		nonce_of(n, 1);
		a = (store_attestation){.machine_id = mid('a'),
		                        .nonce = n,
		                        .now = NOW,
		                        .record = 1,
		                        .verdict = "pass",
		                        .error = "",
		                        .result_json = "{}",
		                        .next_state_json = "{\"s\":1}",
		                        .expect_gen = 0,
		                        .eventlog = big,
		                        .eventlog_len = sizeof(big),
		                        .eventlog_sha256 = sha};
		r = store_attest_commit(s, &a, &seq, why, sizeof(why));
		store_close(&s);
		if (r != TPA_E_IO)
			_exit(12);
		if (!starts(why, "sqlite: ") || seq != -7)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	f->s = open_ok(f->path);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 0);
	assert_null(m.state_json);
	assert_int_equal(m.last_seq, 0);
	assert_false(m.has_eventlog);
	store_machine_clear(&m);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(nonce_check(f->s, mid('a'), 1, NOW), TPA_OK);
	/* and the store works on */
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_create_reopen, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_empty_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_machines, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending_bounded, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attest_atomic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eventlog, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
