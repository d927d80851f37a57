/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server's store (server/store/store.h) against a real database: every
 * answer's exact code, what it wrote, and what a failed call left as it
 * was.  By default SQLite, a file in a fresh directory per test; with
 * TPA_TEST_STORE=postgresql://... (tests/store/with-pg.sh) PostgreSQL, a
 * fresh database per test made there.  The tests of what only one backend
 * has (SQLite's files, WAL, a full disk, its v1 schema; PostgreSQL's
 * connections and races between servers) are skipped on the other.
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
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#ifdef TPA_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

#include <tpmattest/counterauth.h>
#include <tpmattest/tpmattest.h>

#include "store.h"
#include "store_impl.h" /* STORE_NONCE_GRACE, sto_pem_free */

#define G STORE_NONCE_GRACE

#define NOW ((int64_t)1700000000)

/* postgresql://... when the tests run on PostgreSQL, else NULL */
static const char *pg_url;

#define SQLITE_ONLY(what)                                                   \
	do {                                                                \
		if (pg_url) {                                               \
			print_message("skipped on PostgreSQL: %s\n", what); \
			skip();                                             \
		}                                                           \
	} while (0)
#define POSTGRES_ONLY(what)                                             \
	do {                                                            \
		if (!pg_url) {                                          \
			print_message("skipped on SQLite: %s\n", what); \
			skip();                                         \
		}                                                       \
	} while (0)

struct fx {
	char dir[64];
	char path[512]; /* what store_open is given: a file, or a database's URL */
	char db[64];    /* PostgreSQL: the test's database */
	store *s;
};

#ifdef TPA_HAVE_POSTGRES
/* The URL of pg_url with its database replaced by db. */
static void url_for(const char *db, char *out, size_t size)
{
	const char *host = strstr(pg_url, "://");
	const char *path = host ? strchr(host + 3, '/') : NULL;
	const char *query = path ? strchr(path, '?') : NULL;
	int n;

	if (!path)
		fail_msg("TPA_TEST_STORE is not a URL with a database: %s", pg_url);
	n = snprintf(out, size, "%.*s/%s%s", (int)(path - pg_url), pg_url, db, query ? query : "");
	if (n < 0 || (size_t)n >= size)
		fail_msg("TPA_TEST_STORE is too long");
}

static PGconn *pg_connect(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connecting to %s: %s", url, PQerrorMessage(c));
	return c;
}

/* SQL on the database at url behind the store's back: the result's
 * status, or the SQLSTATE of its error in *state. */
static int pg_exec(const char *url, const char *sql, char state[6])
{
	PGconn *c = pg_connect(url);
	PGresult *res = PQexec(c, sql);
	int st = PQresultStatus(res);
	const char *e = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state)
		snprintf(state, 6, "%s", e ? e : "");
	PQclear(res);
	PQfinish(c);
	return st;
}

static void pg_exec_ok(const char *url, const char *sql)
{
	char state[6];
	int st = pg_exec(url, sql, state);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: SQLSTATE %s", sql, state);
}

/* A fresh empty database (its URL in url), dropped by drop_db. */
static void make_db(const char *db, char *url, size_t size)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	pg_exec_ok(pg_url, sql);
	url_for(db, url, size);
}

static void drop_db(const char *db)
{
	char sql[160];

	/* FORCE: a handle a failed test left open */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	pg_exec_ok(pg_url, sql);
}
#endif

static int setup(void **state)
{
	static unsigned seq;
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tpa-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		snprintf(f->db, sizeof(f->db), "tpa_test_%ld_%u", (long)getpid(), seq++);
		make_db(f->db, f->path, sizeof(f->path));
	}
#endif
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *ext[] = {"", "-wal", "-shm", "-journal"};
	char p[600];
	size_t i;

	store_close(&f->s);
#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		drop_db(f->db);
		snprintf(p, sizeof(p), "%s_other", f->db);
		drop_db(p);
	}
#endif
	if (!pg_url)
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

/* Whether nonce k was consumed: TPA_OK (not), TPA_E_MISMATCH (it was). */
static int used(store *s, int k)
{
	uint8_t n[STORE_NONCE_LEN];

	nonce_of(n, k);
	return store_nonce_used(s, n, NULL, 0);
}

/* The machine's enrollment id as stored now (zeros when there is no such
 * machine), for the attestations a test commits: a few at a time per
 * thread. */
static const uint8_t *enr(store *s, const char *id)
{
	static _Thread_local uint8_t ring[64][STORE_ENROLLMENT_ID_LEN];
	static _Thread_local unsigned next;
	uint8_t *e = ring[next++ % 64];
	store_machine m;

	memset(e, 0, STORE_ENROLLMENT_ID_LEN);
	if (store_machine_get_light(s, id, &m, NULL, 0) == TPA_OK) {
		memcpy(e, m.enrollment, STORE_ENROLLMENT_ID_LEN);
		store_machine_clear(&m);
	}
	return e;
}

/* Commits a recorded "pass" with nonce k (good for 60 s); the state moves
 * when state is not NULL. */
static int commit(store *s, const char *id, int k, int64_t now, const char *state, int64_t gen,
                  int64_t *seq, char *why, size_t whylen)
{
	uint8_t n[STORE_NONCE_LEN];
	store_attestation a = {
	        .machine_id = id,
	        .enrollment = enr(s, id),
	        .nonce = n,
	        .nonce_expires = now + 60,
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

/* What raw_sql says: done, refused by a constraint or a trigger, or an
 * error of another kind. */
enum { RAW_OK, RAW_REFUSED, RAW_ERROR };

/* Runs SQL on the store directly, behind its back (spec as f->path). */
static int raw_sql(const char *spec, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		char state[6];

		rc = pg_exec(spec, sql, state);
		if (rc == PGRES_COMMAND_OK || rc == PGRES_TUPLES_OK)
			return RAW_OK;
		/* P0001: RAISE EXCEPTION, the append-only triggers */
		return strcmp(state, "P0001") == 0 || strncmp(state, "23", 2) == 0 ? RAW_REFUSED
		                                                                   : RAW_ERROR;
	}
#endif
	rc = sqlite3_open(spec, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	if (rc == SQLITE_OK)
		return RAW_OK;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? RAW_REFUSED : RAW_ERROR;
}

/* The integer of a query's first row and column, -1 when there is none. */
static int64_t raw_count(const char *spec, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		PGconn *c = pg_connect(spec);
		PGresult *res = PQexec(c, sql);

		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
		    !PQgetisnull(res, 0, 0))
			v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(c);
		return v;
	}
#endif
	if (sqlite3_open(spec, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
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
	char *doc = NULL, wal[600];
	struct stat st;
	size_t len = 0, k = 0;
	int64_t seq = 0;
	int ver = 0;
	store_attestation a = {0};

	f->s = open_ok(f->path);
	if (!pg_url) {
		assert_int_equal(stat(f->path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* WAL mode, and its files as private as the database */
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		assert_int_equal(stat(wal, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, STORE_SCHEMA_VERSION);
	assert_int_equal(store_ping(f->s, NULL, 0), TPA_OK);

	add_ok(f->s, mid('a'), "alpha");
	assert_int_equal(store_policy_put(f->s, "golden", "{\"p\":1}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "golden", NULL, 0), TPA_OK);
	memset(sha, 0x5c, sizeof(sha));
	nonce_of(n, 1);
	a = (store_attestation){.machine_id = mid('a'),
	                        .enrollment = enr(f->s, mid('a')),
	                        .nonce = n,
	                        .nonce_expires = NOW + 120,
	                        .now = NOW + 1,
	                        .record = 1,
	                        .verdict = "fail",
	                        .error = "pcr",
	                        .result_json = "{\"r\":1}",
	                        .next_state_json = "{\"s\":1}",
	                        .expect_gen = 1, /* the policy assigned moved it */
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
	assert_int_equal(m.state_gen, 2);
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
	/* the consumed nonce stays consumed across a reopen, no other is */
	assert_int_equal(used(f->s, 1), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 2), TPA_OK);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	store *s = (store *)(uintptr_t)1;
	char why[256] = "";

	/* as a newer tpmattest would leave it: the version where each
	 * backend keeps it */
	assert_int_equal(raw_sql(f->path, pg_url ? "CREATE TABLE schema_version ("
	                                           " one BOOLEAN PRIMARY KEY DEFAULT TRUE"
	                                           " CHECK (one), version BIGINT NOT NULL);"
	                                           " INSERT INTO schema_version VALUES (TRUE, 4)"
	                                         : "CREATE TABLE t (x); PRAGMA user_version = 4;"),
	                 RAW_OK);
	assert_int_equal(store_open(f->path, &s, why, sizeof(why)), TPA_E_UNSUPPORTED);
	assert_ptr_equal(s, (store *)(uintptr_t)1);
	assert_non_null(strstr(why, "schema version 4"));
}

static void test_migrate_empty_file(void **state)
{
	struct fx *f = *state;
	int ver = 0;

	/* PostgreSQL: the test's database is empty already */
	if (!pg_url) {
		int fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);

		assert_true(fd >= 0);
		close(fd);
	}
	f->s = open_ok(f->path);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
	add_ok(f->s, mid('1'), NULL);
	reopen(f);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM counter_key"), 1);
}

static void test_not_a_database(void **state)
{
	struct fx *f = *state;
	store *s = NULL;
	char why[256] = "";
	char junk[4096];
	int fd;

	SQLITE_ONLY("a file that is not a database");
	fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(store_open(f->path, &s, why, sizeof(why)), TPA_E_IO);
	assert_null(s);
	assert_true(starts(why, "sqlite: "));
}

/* A PostgreSQL URL: refused by a build without it; with it, a server that
 * does not answer is TPA_E_IO naming the database, and a URL libpq cannot
 * read is refused without quoting it (it may hold a password). */
static void test_postgres_spec(void **state)
{
	store *s = NULL;
	char why[256] = "";

	(void)state;
#ifdef TPA_HAVE_POSTGRES
	assert_int_equal(store_open("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2", &s,
	                            why, sizeof(why)),
	                 TPA_E_IO);
	assert_null(s);
	assert_true(starts(why, "postgresql: the database is unreachable: "));
	assert_null(strstr(why, "secret"));
	assert_int_equal(store_open("postgres://u:secret@h/x?nosuchoption=1", &s, why, sizeof(why)),
	                 TPA_E_INVALID_ARG);
	assert_null(s);
	assert_true(starts(why, "postgresql: "));
	assert_null(strstr(why, "secret"));
#else
	assert_int_equal(store_open("postgres://db/x", &s, why, sizeof(why)), TPA_E_UNSUPPORTED);
	assert_null(s);
#endif
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
	assert_int_equal(commit(f->s, mid('5'), 1, NOW, NULL, 0, NULL, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_delete(f->s, mid('5'), NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get(f->s, mid('5'), &m, NULL, 0), TPA_E_NOT_FOUND);
	assert_int_equal(store_machine_delete(f->s, mid('5'), why, sizeof(why)), TPA_E_NOT_FOUND);
	assert_int_equal(history_n(f->s, mid('5')), 1);
	/* and it may enroll again, without getting its consumed nonce back,
	 * under another enrollment id (the nonces issued before are void) */
	{
		uint8_t first[STORE_ENROLLMENT_ID_LEN];
		add_ok(f->s, mid('5'), NULL);
		assert_int_equal(store_machine_get(f->s, mid('5'), &m, NULL, 0), TPA_OK);
		memcpy(first, m.enrollment, sizeof(first));
		store_machine_clear(&m);
		assert_int_equal(store_machine_delete(f->s, mid('5'), NULL, 0), TPA_OK);
		add_ok(f->s, mid('5'), NULL);
		assert_int_equal(store_machine_get(f->s, mid('5'), &m, NULL, 0), TPA_OK);
		assert_memory_not_equal(m.enrollment, first, sizeof(first));
		store_machine_clear(&m);
	}
	assert_int_equal(used(f->s, 1), TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('5'), 1, NOW, NULL, 0, NULL, NULL, 0), TPA_E_MISMATCH);
	assert_int_equal(history_n(f->s, mid('5')), 1);
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

	/* the generation moved: nothing is written, the nonce included */
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 1, &seq, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_int_equal(seq, -7);
	assert_int_equal(used(f->s, 1), TPA_OK);
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
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":2}", 0, &seq, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":2}", 1, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 2);

	/* not recorded (an unauthenticated verdict): the nonce goes, nothing else */
	nonce_of(n, 3);
	a.machine_id = mid('a');
	a.enrollment = enr(f->s, mid('a'));
	a.nonce = n;
	a.nonce_expires = NOW + 60;
	a.now = NOW;
	a.expect_gen = 2;
	seq = -7;
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, -7);
	assert_int_equal(used(f->s, 3), TPA_E_MISMATCH);
	assert_int_equal(history_n(f->s, mid('a')), 2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 2);
	assert_int_equal(m.last_seq, 2);
	assert_string_equal(m.state_json, "{\"s\":2}");
	store_machine_clear(&m);

	/* two handles (two server processes) racing from generation 2: one wins */
	store *s2 = open_ok(f->path);
	assert_int_equal(commit(s2, mid('a'), 5, NOW, "{\"s\":3}", 2, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(commit(f->s, mid('a'), 4, NOW, "{\"s\":4}", 2, &seq, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 4), TPA_OK);
	assert_int_equal(used(s2, 5), TPA_E_MISMATCH);
	store_close(&s2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 3);
	assert_string_equal(m.state_json, "{\"s\":3}");
	store_machine_clear(&m);

	/* the history cannot be rewritten, even behind the store's back */
	assert_int_equal(raw_sql(f->path, "UPDATE verdicts SET verdict = 'pass'"), RAW_REFUSED);
	assert_int_equal(raw_sql(f->path, "DELETE FROM verdicts"), RAW_REFUSED);
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
	nonce_of(n, 1);
	a = (store_attestation){.machine_id = mid('a'),
	                        .enrollment = enr(f->s, mid('a')),
	                        .nonce = n,
	                        .nonce_expires = NOW + 60,
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
	char wal[600];
	store_machine m;
	pid_t pid;
	int status = 0;

	SQLITE_ONLY("a full disk through RLIMIT_FSIZE on the database file");

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
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
		                        .enrollment = enr(s, mid('a')),
		                        .nonce = n,
		                        .nonce_expires = NOW + 60,
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
	assert_int_equal(used(f->s, 1), TPA_OK);
	/* and the store works on */
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);
}

/* ---- nonces ---- */

static int nonce_key(store *s, uint8_t key[STORE_NONCE_KEY_LEN])
{
	char why[256] = "";
	int r = store_nonce_key(s, key, why, sizeof(why));

	if (r != TPA_OK)
		fail_msg("store_nonce_key: %d %s", r, why);
	return r;
}

/* store_counter_key, which must succeed: the PEM (the caller frees it),
 * checked to be a key tpa_counter_key_from_pem reads. */
static char *counter_key(store *s)
{
	tpa_counter_key *k = NULL;
	char why[256] = "", *pem = NULL;
	int r = store_counter_key(s, &pem, why, sizeof(why));

	if (r != TPA_OK)
		fail_msg("store_counter_key: %d %s", r, why);
	assert_non_null(pem);
	assert_true(starts(pem, "-----BEGIN PRIVATE KEY-----\n"));
	assert_int_equal(tpa_counter_key_from_pem(pem, strlen(pem), &k, why, sizeof(why)), TPA_OK);
	tpa_counter_key_free(&k);
	return pem;
}

/* One key per store: the same on every handle and after a reopen; another
 * store has another. */
static void test_nonce_key(void **state)
{
	struct fx *f = *state;
	uint8_t k1[STORE_NONCE_KEY_LEN], k2[STORE_NONCE_KEY_LEN], k3[STORE_NONCE_KEY_LEN];
	uint8_t zero[STORE_NONCE_KEY_LEN] = {0}, keep[STORE_NONCE_KEY_LEN];
	char other[512], why[256] = "";
	store *s2, *s3;
	size_t i;

	f->s = open_ok(f->path);
	s2 = open_ok(f->path);
	nonce_key(f->s, k1);
	nonce_key(s2, k2);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_memory_not_equal(k1, zero, sizeof(k1));
	store_close(&s2);
	reopen(f);
	nonce_key(f->s, k2);
	assert_memory_equal(k1, k2, sizeof(k1));

	snprintf(other, sizeof(other), "%s/other.db", f->dir);
#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		char db[80];

		/* teardown drops it */
		snprintf(db, sizeof(db), "%s_other", f->db);
		make_db(db, other, sizeof(other));
	}
#endif
	s3 = open_ok(other);
	nonce_key(s3, k3);
	assert_memory_not_equal(k1, k3, sizeof(k1));
	store_close(&s3);
	for (i = 0; !pg_url && i < 3; i++) {
		const char *ext[] = {"", "-wal", "-shm"};
		char p[600];

		snprintf(p, sizeof(p), "%s%s", other, ext[i]);
		unlink(p);
	}

	/* a key of another length is refused, and the output left alone */
	assert_int_equal(raw_sql(f->path, pg_url ? "UPDATE settings SET value = '\\x0102'::bytea"
	                                           " WHERE name = 'nonce_key'"
	                                         : "UPDATE settings SET value = x'0102'"
	                                           " WHERE name = 'nonce_key'"),
	                 RAW_OK);
	memset(keep, 0x5a, sizeof(keep));
	memcpy(k2, keep, sizeof(k2));
	assert_int_equal(store_nonce_key(f->s, k2, why, sizeof(why)), TPA_E_MISMATCH);
	assert_string_equal(why, "the store's nonce key is 2 bytes, not 32");
	assert_memory_equal(k2, keep, sizeof(k2));
	assert_int_equal(raw_sql(f->path, "DELETE FROM settings"), RAW_OK);
	assert_int_equal(store_nonce_key(f->s, k2, why, sizeof(why)), TPA_E_MISMATCH);
	assert_string_equal(why, "the store holds no nonce key");
	assert_memory_equal(k2, keep, sizeof(k2));
	assert_int_equal(store_nonce_key(f->s, NULL, NULL, 0), TPA_E_INVALID_ARG);
}

/* Used once a commit consumed it, by whichever machine; a second commit of
 * it writes nothing. */
static void test_nonce_used(void **state)
{
	struct fx *f = *state;
	char why[256] = "";
	int64_t seq = -7;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	assert_int_equal(used(f->s, 1), TPA_OK);
	assert_int_equal(used(f->s, 2), TPA_OK);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, NULL, 0, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(
	        store_nonce_used(f->s, (const uint8_t[STORE_NONCE_LEN]){0}, why, sizeof(why)),
	        TPA_OK);
	assert_int_equal(used(f->s, 1), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 2), TPA_OK);

	/* again, by the same machine or another: refused, nothing written */
	seq = -7;
	assert_int_equal(commit(f->s, mid('a'), 1, NOW + 1, "{\"s\":1}", 0, &seq, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_non_null(strstr(why, "consumed already"));
	assert_int_equal(commit(f->s, mid('b'), 1, NOW + 1, NULL, 0, &seq, NULL, 0),
	                 TPA_E_MISMATCH);
	assert_int_equal(seq, -7);
	assert_int_equal(history_n(f->s, mid('a')), 1);
	assert_int_equal(history_n(f->s, mid('b')), 0);
	store_machine m;
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 0);
	assert_int_equal(m.last_seq, 1);
	store_machine_clear(&m);

	/* a machine that is not enrolled consumes nothing */
	assert_int_equal(commit(f->s, mid('c'), 2, NOW, NULL, 0, &seq, NULL, 0), TPA_E_NOT_FOUND);
	assert_int_equal(used(f->s, 2), TPA_OK);
	assert_int_equal(store_nonce_used(f->s, NULL, NULL, 0), TPA_E_INVALID_ARG);
}

/* A verdict judged before a re-enrollment or a policy change is not
 * committed after it (tests/attack/test-reenroll-inflight.sh and
 * test-policy-inflight.sh found both, through the server). */
static void test_attest_current(void **state)
{
	struct fx *f = *state;
	uint8_t n[STORE_NONCE_LEN], old[STORE_ENROLLMENT_ID_LEN];
	store_attestation a;
	store_machine m;
	char why[256] = "";
	int64_t seq = -7;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	memcpy(old, enr(f->s, mid('a')), sizeof(old));

	/* deleted and enrolled again: same id, generation 0 again, another
	 * enrollment; the old one's attestation writes nothing */
	assert_int_equal(store_machine_delete(f->s, mid('a'), NULL, 0), TPA_OK);
	add_ok(f->s, mid('a'), NULL);
	assert_memory_not_equal(enr(f->s, mid('a')), old, sizeof(old));
	nonce_of(n, 1);
	a = (store_attestation){.machine_id = mid('a'),
	                        .enrollment = old,
	                        .nonce = n,
	                        .nonce_expires = NOW + 60,
	                        .now = NOW,
	                        .record = 1,
	                        .verdict = "pass",
	                        .error = "",
	                        .result_json = "{}",
	                        .next_state_json = "{\"s\":1}",
	                        .expect_gen = 0};
	assert_int_equal(store_attest_commit(f->s, &a, &seq, why, sizeof(why)), TPA_E_MISMATCH);
	assert_non_null(strstr(why, "enrolled again"));
	a.next_state_json = NULL; /* a fail, too */
	a.verdict = "fail";
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_E_MISMATCH);
	a.record = 0; /* and an unrecorded one */
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_E_MISMATCH);
	assert_int_equal(seq, -7);
	assert_int_equal(used(f->s, 1), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_null(m.state_json);
	assert_string_equal(m.last_verdict, "");
	store_machine_clear(&m);
	/* without the enrollment: refused before the store is touched */
	a.enrollment = NULL;
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_E_INVALID_ARG);

	/* a policy assigned moves the generation; so does a PUT of the policy
	 * assigned, and not a PUT of another */
	assert_int_equal(store_policy_put(f->s, "p1", "{\"v\":1}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_put(f->s, "p2", "{\"v\":2}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "p1", NULL, 0), TPA_OK);
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":1}", 0, &seq, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_non_null(strstr(why, "policy"));
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":1}", 1, &seq, NULL, 0), TPA_OK);
	assert_int_equal(store_policy_put(f->s, "p2", "{\"v\":3}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get_light(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 2);
	store_machine_clear(&m);
	assert_int_equal(store_policy_put(f->s, "p1", "{\"v\":4}", NOW, NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get_light(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 3);
	store_machine_clear(&m);
	/* machine b, under no policy, did not move */
	assert_int_equal(store_machine_get_light(f->s, mid('b'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 0);
	store_machine_clear(&m);
	/* a fail without a next state, judged at generation 2, is not
	 * recorded at 3 either */
	nonce_of(n, 3);
	a = (store_attestation){.machine_id = mid('a'),
	                        .enrollment = enr(f->s, mid('a')),
	                        .nonce = n,
	                        .nonce_expires = NOW + 60,
	                        .now = NOW,
	                        .record = 1,
	                        .verdict = "fail",
	                        .error = "policy",
	                        .result_json = "{}",
	                        .expect_gen = 2};
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_E_MISMATCH);
	assert_int_equal(history_n(f->s, mid('a')), 1);
	a.expect_gen = 3;
	assert_int_equal(store_attest_commit(f->s, &a, &seq, NULL, 0), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 2);
	/* unassigning moves it too */
	assert_int_equal(store_machine_set_policy(f->s, mid('a'), "", NULL, 0), TPA_OK);
	assert_int_equal(store_machine_get_light(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 4);
	store_machine_clear(&m);
}

static int commit_exp(store *s, const char *id, int k, int64_t now, int64_t expires)
{
	uint8_t n[STORE_NONCE_LEN];
	store_attestation a = {.machine_id = id,
	                       .enrollment = enr(s, id),
	                       .nonce = n,
	                       .nonce_expires = expires,
	                       .now = now};

	nonce_of(n, k);
	return store_attest_commit(s, &a, NULL, NULL, 0);
}

/* Consumed nonces are kept up to and including their expiry, counted
 * while they have not expired, and dropped by the first commit more than
 * STORE_NONCE_GRACE seconds after (G below: another server on the same
 * database whose clock is behind by less still finds them). */
static void test_nonce_expiry(void **state)
{
	struct fx *f = *state;
	store_stats st;
	char why[256] = "";

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	assert_int_equal(commit_exp(f->s, mid('a'), 1, NOW, NOW + 10), TPA_OK);
	assert_int_equal(commit_exp(f->s, mid('a'), 2, NOW, NOW + 20), TPA_OK);
	/* good to the second it expires, refused after */
	assert_int_equal(commit_exp(f->s, mid('a'), 3, NOW + 5, NOW + 5), TPA_OK);
	assert_int_equal(store_stats_get(f->s, NOW, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 3);
	assert_int_equal(st.machines, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(store_stats_get(f->s, NOW + 10, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 2);
	assert_int_equal(store_stats_get(f->s, NOW + 11, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 1);
	/* counted no more, but kept until a commit drops them */
	assert_int_equal(used(f->s, 1), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 3), TPA_E_MISMATCH);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 3);

	/* within the grace, a commit drops none */
	assert_int_equal(commit_exp(f->s, mid('a'), 5, NOW + 5 + G, NOW + 5 + G), TPA_OK);
	assert_int_equal(used(f->s, 3), TPA_E_MISMATCH);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 4);
	/* a commit at NOW + 10 + G drops 3 (expired at NOW + 5), keeps 1 */
	assert_int_equal(commit_exp(f->s, mid('a'), 4, NOW + 10 + G, NOW + 70 + G), TPA_OK);
	assert_int_equal(used(f->s, 3), TPA_OK);
	assert_int_equal(used(f->s, 1), TPA_E_MISMATCH);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 4);
	/* one at NOW + 21 + G drops 1 and 2; a refused commit drops them too */
	assert_int_equal(commit_exp(f->s, mid('a'), 4, NOW + 21 + G, NOW + 70 + G), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 1), TPA_OK);
	assert_int_equal(used(f->s, 2), TPA_OK);
	assert_int_equal(used(f->s, 4), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 5), TPA_E_MISMATCH);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 2);
	assert_int_equal(store_stats_get(f->s, NOW + 21 + G, &st, NULL, 0), TPA_OK);
	assert_int_equal(st.nonces, 1);
	/* an expired nonce is refused (and is not kept); the commit still drops
	 * what expired at its now */
	assert_int_equal(store_attest_commit(f->s,
	                                     &(store_attestation){.machine_id = mid('a'),
	                                                          .enrollment = enr(f->s, mid('a')),
	                                                          .nonce = (const uint8_t[32]){9},
	                                                          .nonce_expires = NOW + 70 + 2 * G,
	                                                          .now = NOW + 71 + 2 * G},
	                                     NULL, why, sizeof(why)),
	                 TPA_E_MISMATCH);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(store_nonce_used(f->s, (const uint8_t[32]){9}, NULL, 0), TPA_OK);
	assert_int_equal(used(f->s, 4), TPA_OK);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 0);
	/* the drop goes through the index */
	assert_int_equal(
	        raw_count(f->path, pg_url ? "SELECT count(*) FROM pg_indexes WHERE"
	                                    " indexname = 'consumed_nonces_expires'"
	                                  : "SELECT count(*) FROM sqlite_schema WHERE type ="
	                                    " 'index' AND name = 'consumed_nonces_expires'"),
	        1);
}

/* The schema of version 1 (migrations[0] as of a00c4f8), as released. */
static const char v1_schema[] =
        "CREATE TABLE policies ("
        " name TEXT PRIMARY KEY NOT NULL,"
        " doc TEXT NOT NULL,"
        " updated INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE machines ("
        " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),"
        " name TEXT UNIQUE,"
        " enrolled_at INTEGER NOT NULL,"
        " record_json TEXT NOT NULL,"
        " policy TEXT REFERENCES policies (name),"
        " state_json TEXT,"
        " state_gen INTEGER NOT NULL DEFAULT 0,"
        " last_verdict TEXT NOT NULL DEFAULT '',"
        " last_error TEXT NOT NULL DEFAULT '',"
        " last_at INTEGER NOT NULL DEFAULT 0,"
        " last_seq INTEGER NOT NULL DEFAULT 0,"
        " eventlog_sha256 BLOB CHECK (eventlog_sha256 IS NULL OR length(eventlog_sha256) = 32),"
        " eventlog BLOB,"
        " CHECK ((eventlog IS NULL) = (eventlog_sha256 IS NULL))"
        ") STRICT;"
        "CREATE TABLE pending ("
        " id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
        " machine_id TEXT NOT NULL,"
        " name TEXT,"
        " expires INTEGER NOT NULL,"
        " pending_json TEXT NOT NULL"
        ") STRICT;"
        "CREATE INDEX pending_expires ON pending (expires);"
        /* rowid orders a machine's nonces by issue (oldest first) */
        "CREATE TABLE nonces ("
        " nonce BLOB PRIMARY KEY NOT NULL CHECK (length(nonce) = 32),"
        " machine_id TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,"
        " issued_at INTEGER NOT NULL,"
        " expires INTEGER NOT NULL"
        ") STRICT;"
        "CREATE INDEX nonces_machine ON nonces (machine_id);"
        "CREATE INDEX nonces_expires ON nonces (expires);"
        /* no foreign key: the history outlives the machine */
        "CREATE TABLE verdicts ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " machine_id TEXT NOT NULL,"
        " at INTEGER NOT NULL,"
        " verdict TEXT NOT NULL,"
        " error TEXT NOT NULL,"
        " result_json TEXT NOT NULL"
        ") STRICT;"
        "CREATE INDEX verdicts_machine ON verdicts (machine_id, seq);"
        "CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts"
        " BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;"
        "CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts"
        " BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;";

/* The step from version 1 to 2 (migrations[1] as of f3f139a), as
 * released: with v1_schema, the schema of version 2. */
static const char v1_to_v2[] =
        "DROP TABLE nonces;"
        "CREATE TABLE consumed_nonces ("
        " nonce BLOB PRIMARY KEY NOT NULL CHECK (length(nonce) = 32),"
        " machine_id TEXT NOT NULL,"
        " expires INTEGER NOT NULL"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX consumed_nonces_expires ON consumed_nonces (expires);"
        "CREATE TABLE settings ("
        " name TEXT PRIMARY KEY NOT NULL,"
        " value BLOB NOT NULL"
        ") STRICT;"
        /* The machines table again, with each enrollment's own random
         * id (nonces are bound to it: a machine deleted and enrolled
         * again gets another, so the nonces issued before are void;
         * uniqueness, not secrecy, so randomblob) and without the event
         * log, which moves to a table of its own: SQLite rewrites a whole
         * row on every update, and with a 45 KB log in it each
         * attestation's state update wrote the log again. */
        "CREATE TABLE machines2 ("
        " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),"
        " name TEXT UNIQUE,"
        " enrolled_at INTEGER NOT NULL,"
        " enrollment BLOB NOT NULL CHECK (length(enrollment) = 16),"
        " policy TEXT REFERENCES policies (name),"
        " state_gen INTEGER NOT NULL DEFAULT 0,"
        " last_verdict TEXT NOT NULL DEFAULT '',"
        " last_error TEXT NOT NULL DEFAULT '',"
        " last_at INTEGER NOT NULL DEFAULT 0,"
        " last_seq INTEGER NOT NULL DEFAULT 0,"
        " eventlog_sha256 BLOB CHECK (eventlog_sha256 IS NULL OR length(eventlog_sha256) = 32),"
        " state_json TEXT,"
        " record_json TEXT NOT NULL"
        ") STRICT;"
        "INSERT INTO machines2 (id, name, enrolled_at, enrollment, policy, state_gen,"
        " last_verdict, last_error, last_at, last_seq, eventlog_sha256, state_json, record_json)"
        " SELECT id, name, enrolled_at, randomblob(16), policy, state_gen, last_verdict,"
        " last_error, last_at, last_seq, eventlog_sha256, state_json, record_json FROM machines;"
        "CREATE TABLE eventlogs ("
        " machine_id TEXT PRIMARY KEY NOT NULL REFERENCES machines2 (id) ON DELETE CASCADE,"
        " data BLOB NOT NULL"
        ") STRICT;"
        "INSERT INTO eventlogs (machine_id, data)"
        " SELECT id, eventlog FROM machines WHERE eventlog IS NOT NULL;"
        "DROP TABLE machines;"
        "ALTER TABLE machines2 RENAME TO machines;";

/* PostgreSQL's schema of version 2 (migrations[0] as of f3f139a), as
 * released. */
static const char pg_v2_schema[] =
        "CREATE TABLE schema_version ("
        " one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),"
        " version BIGINT NOT NULL"
        ");"
        "CREATE TABLE policies ("
        " name TEXT COLLATE \"C\" PRIMARY KEY,"
        " doc TEXT NOT NULL,"
        " updated BIGINT NOT NULL"
        ");"
        /* each enrollment's own random id: nonces are bound to it, so a
         * machine deleted and enrolled again voids the nonces issued
         * before (uniqueness, not secrecy) */
        "CREATE TABLE machines ("
        " id TEXT COLLATE \"C\" CONSTRAINT machines_pkey PRIMARY KEY"
        "  CHECK (length(id) = 64),"
        " name BYTEA CONSTRAINT machines_name_key UNIQUE,"
        " enrolled_at BIGINT NOT NULL,"
        " enrollment BYTEA NOT NULL CHECK (length(enrollment) = 16),"
        " policy TEXT COLLATE \"C\" REFERENCES policies (name),"
        " state_gen BIGINT NOT NULL DEFAULT 0,"
        " last_verdict TEXT NOT NULL DEFAULT '',"
        " last_error TEXT NOT NULL DEFAULT '',"
        " last_at BIGINT NOT NULL DEFAULT 0,"
        " last_seq BIGINT NOT NULL DEFAULT 0,"
        " eventlog_sha256 BYTEA"
        "  CHECK (eventlog_sha256 IS NULL OR length(eventlog_sha256) = 32),"
        " state_json TEXT,"
        " record_json TEXT NOT NULL"
        ");"
        /* store_policy_put moves the machines a policy rules */
        "CREATE INDEX machines_policy ON machines (policy);"
        "CREATE TABLE eventlogs ("
        " machine_id TEXT COLLATE \"C\" PRIMARY KEY"
        "  REFERENCES machines (id) ON DELETE CASCADE,"
        " data BYTEA NOT NULL"
        ");"
        /* ord orders a machine's challenges by issue (oldest first), as
         * rowid does in SQLite */
        "CREATE TABLE pending ("
        " id BYTEA PRIMARY KEY CHECK (length(id) = 16),"
        " ord BIGINT GENERATED ALWAYS AS IDENTITY,"
        " machine_id TEXT COLLATE \"C\" NOT NULL,"
        " name BYTEA,"
        " expires BIGINT NOT NULL,"
        " pending_json TEXT NOT NULL"
        ");"
        "CREATE INDEX pending_expires ON pending (expires);"
        "CREATE INDEX pending_machine ON pending (machine_id, ord);"
        /* no foreign key: a machine deleted and enrolled again (same
         * EK, same id) must not get its consumed nonces back */
        "CREATE TABLE consumed_nonces ("
        " nonce BYTEA PRIMARY KEY CHECK (length(nonce) = 32),"
        " machine_id TEXT COLLATE \"C\" NOT NULL,"
        " expires BIGINT NOT NULL"
        ");"
        "CREATE INDEX consumed_nonces_expires ON consumed_nonces (expires);"
        "CREATE TABLE settings ("
        " name TEXT COLLATE \"C\" PRIMARY KEY,"
        " value BYTEA NOT NULL"
        ");"
        /* no foreign key: the history outlives the machine */
        "CREATE TABLE verdicts ("
        " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " machine_id TEXT COLLATE \"C\" NOT NULL,"
        " at BIGINT NOT NULL,"
        " verdict TEXT NOT NULL,"
        " error TEXT NOT NULL,"
        " result_json TEXT NOT NULL"
        ");"
        "CREATE INDEX verdicts_machine ON verdicts (machine_id, seq);"
        "CREATE FUNCTION verdicts_append_only() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'verdicts are append-only'; END$$;"
        "CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts"
        " FOR EACH ROW EXECUTE FUNCTION verdicts_append_only();"
        "CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts"
        " FOR EACH ROW EXECUTE FUNCTION verdicts_append_only();"
        "CREATE TRIGGER verdicts_no_truncate BEFORE TRUNCATE ON verdicts"
        " FOR EACH STATEMENT EXECUTE FUNCTION verdicts_append_only();";

/* A version 1 store with what a running server had in it upgrades keeping
 * all of it but the outstanding nonces, and gets a key. */
#define SHA32 "abababababababababababababababababababababababababababababababab"
static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	uint8_t key[STORE_NONCE_KEY_LEN];
	store_verdict v[2];
	store_pending p;
	store_machine m;
	char sql[8192];
	size_t n = 0;
	int ver = 0, len;

	SQLITE_ONLY("the released v1 schema is SQLite's");

	assert_int_equal(raw_sql(f->path, "PRAGMA journal_mode = WAL"), RAW_OK);
	len = snprintf(
	        sql, sizeof(sql),
	        "BEGIN; %s"
	        "INSERT INTO policies VALUES ('golden', '{\"p\":1}', %lld);"
	        "INSERT INTO machines (id, name, enrolled_at, record_json, policy, state_json,"
	        " state_gen, last_verdict, last_error, last_at, last_seq, eventlog_sha256, "
	        "eventlog)"
	        " VALUES ('%s', 'alpha', %lld, '{\"record\":1}', 'golden', '{\"s\":1}', 3,"
	        " 'pass', '', %lld, 1, x'" SHA32 "', x'6c6f67');"
	        "INSERT INTO verdicts (machine_id, at, verdict, error, result_json)"
	        " VALUES ('%s', %lld, 'pass', '', '{\"v\":1}');"
	        "INSERT INTO pending VALUES (zeroblob(16), '%s', NULL, %lld, '{\"secret\":1}');"
	        "INSERT INTO nonces VALUES (x'01000000000000000000000000000000"
	        "000000000000000000000000000000a5', '%s', %lld, %lld);"
	        "PRAGMA user_version = 1; COMMIT;",
	        v1_schema, (long long)NOW, mid('a'), (long long)NOW, (long long)NOW + 1, mid('a'),
	        (long long)NOW + 1, mid('b'), (long long)NOW + 3600, mid('a'), (long long)NOW,
	        (long long)NOW + 60);
	assert_true(len > 0 && (size_t)len < sizeof(sql));
	assert_int_equal(raw_sql(f->path, sql), RAW_OK);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM nonces"), 1);

	f->s = open_ok(f->path);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.name, "alpha");
	assert_int_equal(m.counter_auths, 0);
	assert_string_equal(m.policy, "golden");
	assert_string_equal(m.state_json, "{\"s\":1}");
	assert_int_equal(m.state_gen, 3);
	assert_string_equal(m.last_verdict, "pass");
	assert_int_equal(m.last_seq, 1);
	/* its event log moved to the table of logs */
	{
		uint8_t sha[32], *log = NULL;
		size_t loglen = 0;
		assert_true(m.has_eventlog);
		memset(sha, 0xab, sizeof(sha));
		assert_memory_equal(m.eventlog_sha256, sha, 32);
		assert_int_equal(store_eventlog_get(f->s, mid('a'), sha, &log, &loglen, NULL, 0),
		                 TPA_OK);
		assert_int_equal(loglen, 3);
		assert_memory_equal(log, "log", 3);
		free(log);
		assert_int_equal(raw_count(f->path,
		                           "SELECT count(*) FROM pragma_table_info('machines')"
		                           " WHERE name = 'eventlog'"),
		                 0);
	}
	/* the migration gave it an enrollment id */
	{
		static const uint8_t zero[STORE_ENROLLMENT_ID_LEN];
		assert_memory_not_equal(m.enrollment, zero, sizeof(zero));
	}
	store_machine_clear(&m);
	assert_int_equal(store_history(f->s, mid('a'), 0, 2, v, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].seq, 1);
	assert_int_equal(v[0].at, NOW + 1);
	assert_string_equal(v[0].result_json, "{\"v\":1}");
	store_verdict_clear(&v[0]);
	memset(p.id, 0, sizeof(p.id));
	assert_int_equal(store_pending_take(f->s, p.id, &p, NULL, 0), TPA_OK);
	assert_string_equal(p.machine_id, mid('b'));
	assert_string_equal(p.pending_json, "{\"secret\":1}");
	store_pending_clear(&p);
	nonce_key(f->s, key);
	/* and on through 2 -> 3: the counter key */
	sto_pem_free(counter_key(f->s));
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sqlite_schema WHERE name"
	                                    " IN ('nonces', 'nonces_machine', 'nonces_expires')"),
	                 0);
	/* the outstanding nonce is not a consumed one: a v2 server may take it
	 * (its MAC will not verify, it was not made with the key) */
	assert_int_equal(used(f->s, 1), TPA_OK);
	/* the history goes on from where it was, and stays append-only */
	int64_t seq = 0;
	assert_int_equal(commit(f->s, mid('a'), 1, NOW + 2, "{\"s\":2}", 3, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(raw_sql(f->path, "DELETE FROM verdicts"), RAW_REFUSED);
	reopen(f);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
}

/* ---- group commit ---- */

static store_attestation att(store *s, const char *id, uint8_t n[STORE_NONCE_LEN], int k,
                             int64_t now, const char *state, int64_t gen)
{
	nonce_of(n, k);
	return (store_attestation){
	        .machine_id = id,
	        .enrollment = enr(s, id),
	        .nonce = n,
	        .nonce_expires = now + 60,
	        .now = now,
	        .record = 1,
	        .verdict = "pass",
	        .error = "",
	        .result_json = "{\"verdict\":\"pass\"}",
	        .next_state_json = state,
	        .expect_gen = gen,
	};
}

/* Each item takes effect or not as it would alone, earlier items of the
 * same batch included. */
static void test_batch(void **state)
{
	struct fx *f = *state;
	uint8_t n[6][STORE_NONCE_LEN];
	store_attestation a[6];
	int res[6];
	int64_t seq[6] = {-7, -7, -7, -7, -7, -7};
	char why[256] = "";
	store_machine m;
	store_verdict v[4];
	size_t k = 0;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	add_ok(f->s, mid('c'), NULL);
	a[0] = att(f->s, mid('a'), n[0], 10, NOW, "{\"s\":1}", 0);
	a[1] = att(f->s, mid('b'), n[1], 11, NOW, NULL, 0);
	/* item 0's nonce again */
	a[2] = att(f->s, mid('c'), n[2], 10, NOW, NULL, 0);
	/* a's state moved to 1 by item 0 */
	a[3] = att(f->s, mid('a'), n[3], 13, NOW, "{\"s\":2}", 0);
	a[4] = att(f->s, mid('c'), n[4], 14, NOW + 1, "{\"c\":1}", 0);
	assert_int_equal(store_attest_commit_many(f->s, a, 5, res, seq, why, sizeof(why)), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(res[1], TPA_OK);
	assert_int_equal(res[2], TPA_E_MISMATCH);
	assert_int_equal(res[3], TPA_E_MISMATCH);
	assert_int_equal(res[4], TPA_OK);
	/* why: the first that failed */
	assert_non_null(strstr(why, "consumed already"));
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 2);
	assert_int_equal(seq[2], -7);
	assert_int_equal(seq[3], -7);
	assert_int_equal(seq[4], 3);
	assert_int_equal(seq[5], -7);

	reopen(f);
	assert_int_equal(history_n(f->s, mid('a')), 1);
	assert_int_equal(history_n(f->s, mid('b')), 1);
	assert_int_equal(store_history(f->s, mid('c'), 0, 4, v, &k, NULL, 0), TPA_OK);
	assert_int_equal(k, 1);
	assert_int_equal(v[0].seq, 3);
	assert_int_equal(v[0].at, NOW + 1);
	store_verdict_clear(&v[0]);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 1);
	assert_string_equal(m.state_json, "{\"s\":1}");
	assert_int_equal(m.last_seq, 1);
	store_machine_clear(&m);
	assert_int_equal(store_machine_get(f->s, mid('c'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 1);
	assert_string_equal(m.state_json, "{\"c\":1}");
	assert_int_equal(m.last_seq, 3);
	store_machine_clear(&m);
	assert_int_equal(used(f->s, 10), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 11), TPA_E_MISMATCH);
	/* the failed item's nonce was not consumed: its savepoint went */
	assert_int_equal(used(f->s, 13), TPA_OK);
	assert_int_equal(used(f->s, 14), TPA_E_MISMATCH);

	/* an invalid item, an unknown machine and an unrecorded one among good
	 * ones */
	a[0] = att(f->s, mid('a'), n[0], 20, NOW, "{\"s\":2}", 1);
	a[1] = att(f->s, "ABC", n[1], 21, NOW, NULL, 0);
	a[2] = att(f->s, mid('d'), n[2], 22, NOW, NULL, 0);
	a[3] = att(f->s, mid('b'), n[3], 23, NOW, NULL, 0);
	a[3].record = 0;
	a[4] = att(f->s, mid('a'), n[4], 24, NOW, "{\"s\":3}", 2);
	a[5] = att(f->s, mid('b'), n[5], 25, NOW, NULL, 0);
	a[5].eventlog = (const uint8_t *)"x";
	a[5].eventlog_len = 1;
	memset(seq, 0x11, sizeof(seq));
	assert_int_equal(store_attest_commit_many(f->s, a, 6, res, seq, why, sizeof(why)), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(res[1], TPA_E_INVALID_ARG);
	assert_int_equal(res[2], TPA_E_NOT_FOUND);
	assert_int_equal(res[3], TPA_OK);
	assert_int_equal(res[4], TPA_OK);
	assert_int_equal(res[5], TPA_E_INVALID_ARG);
	assert_string_equal(why, "a machine id is 64 lowercase hex digits");
	assert_int_equal(seq[0], 4);
	assert_int_equal(seq[1], 0x1111111111111111);
	assert_int_equal(seq[2], 0x1111111111111111);
	assert_int_equal(seq[3], 0x1111111111111111);
	assert_int_equal(seq[4], 5);
	assert_int_equal(used(f->s, 22), TPA_OK);
	assert_int_equal(used(f->s, 23), TPA_E_MISMATCH);
	assert_int_equal(used(f->s, 25), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 3);
	assert_int_equal(history_n(f->s, mid('b')), 1);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 3);
	assert_string_equal(m.state_json, "{\"s\":3}");
	store_machine_clear(&m);

	/* every item refused before the store is touched */
	a[0] = att(f->s, "ABC", n[0], 30, NOW, NULL, 0);
	res[0] = 99;
	assert_int_equal(store_attest_commit_many(f->s, a, 1, res, NULL, NULL, 0), TPA_OK);
	assert_int_equal(res[0], TPA_E_INVALID_ARG);
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_E_INVALID_ARG);
}

static void test_batch_bounds(void **state)
{
	struct fx *f = *state;
	static uint8_t n[STORE_BATCH_MAX + 1][STORE_NONCE_LEN];
	static store_attestation a[STORE_BATCH_MAX + 1];
	static int res[STORE_BATCH_MAX + 1];
	static int64_t seq[STORE_BATCH_MAX + 1];
	char why[256] = "";
	size_t i;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	for (i = 0; i <= STORE_BATCH_MAX; i++) {
		a[i] = att(f->s, mid('a'), n[i], 0, NOW, NULL, 0);
		n[i][1] = (uint8_t)(i >> 8);
		n[i][2] = (uint8_t)i;
		res[i] = 99;
	}
	assert_int_equal(store_attest_commit_many(f->s, a, 0, res, seq, why, sizeof(why)),
	                 TPA_E_INVALID_ARG);
	assert_string_equal(why, "a batch is 1..256 attestations");
	assert_int_equal(
	        store_attest_commit_many(f->s, a, STORE_BATCH_MAX + 1, res, seq, why, sizeof(why)),
	        TPA_E_INVALID_ARG);
	assert_string_equal(why, "a batch is 1..256 attestations");
	for (i = 0; i <= STORE_BATCH_MAX; i++)
		assert_int_equal(res[i], 99);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(store_attest_commit_many(f->s, NULL, 1, res, seq, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_attest_commit_many(f->s, a, 1, NULL, seq, NULL, 0),
	                 TPA_E_INVALID_ARG);

	/* the most there may be, in one commit */
	assert_int_equal(
	        store_attest_commit_many(f->s, a, STORE_BATCH_MAX, res, seq, why, sizeof(why)),
	        TPA_OK);
	for (i = 0; i < STORE_BATCH_MAX; i++) {
		assert_int_equal(res[i], TPA_OK);
		assert_int_equal(seq[i], (int64_t)i + 1);
	}
	store_verdict v[1];
	size_t k = 0;
	assert_int_equal(store_history(f->s, mid('a'), 0, 1, v, &k, NULL, 0), TPA_OK);
	assert_int_equal(k, 1);
	assert_int_equal(v[0].seq, STORE_BATCH_MAX);
	store_verdict_clear(&v[0]);
}

/* The disk fills during a batch: nothing of it is written, every item
 * says so. */
static void test_batch_disk_full(void **state)
{
	struct fx *f = *state;
	static uint8_t big[4][256 << 10];
	char wal[600];
	store_machine m;
	pid_t pid;
	int status = 0;
	size_t i;

	SQLITE_ONLY("a full disk through RLIMIT_FSIZE on the database file");

	f->s = open_ok(f->path);
	for (i = 0; i < 4; i++)
		add_ok(f->s, mid((char)('a' + i)), NULL);
	store_close(&f->s);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	for (i = 0; i < 4; i++)
		memset(big[i], 0x30 + (int)i, sizeof(big[i]));

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t n[4][STORE_NONCE_LEN], sha[32];
		store_attestation a[4];
		int res[4] = {99, 99, 99, 99};
		int64_t seq[4] = {-7, -7, -7, -7};
		struct rlimit rl;
		store *s = NULL;
		char why[256] = "";
		off_t lim;
		int r;

		memset(sha, 0x44, sizeof(sha));
		if (store_open(f->path, &s, why, sizeof(why)) != TPA_OK)
			_exit(10);
		for (i = 0; i < 4; i++) {
			a[i] = att(s, mid((char)('a' + i)), n[i], (int)i + 1, NOW, "{\"s\":1}", 0);
			a[i].eventlog = big[i];
			a[i].eventlog_len = sizeof(big[i]);
			a[i].eventlog_sha256 = sha;
		}
		lim = file_size(f->path) > file_size(wal) ? file_size(f->path) : file_size(wal);
		signal(SIGXFSZ, SIG_IGN);
		/* room for one item's log, not for four */
		rl.rlim_cur = rl.rlim_max = (rlim_t)lim + (300 << 10);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		r = store_attest_commit_many(s, a, 4, res, seq, why, sizeof(why));
		store_close(&s);
		if (r != TPA_E_IO)
			_exit(12);
		if (!starts(why, "sqlite: "))
			_exit(13);
		for (i = 0; i < 4; i++)
			if (res[i] != TPA_E_IO || seq[i] != -7)
				_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	f->s = open_ok(f->path);
	for (i = 0; i < 4; i++) {
		assert_int_equal(store_machine_get(f->s, mid((char)('a' + i)), &m, NULL, 0),
		                 TPA_OK);
		assert_int_equal(m.state_gen, 0);
		assert_null(m.state_json);
		assert_int_equal(m.last_seq, 0);
		assert_false(m.has_eventlog);
		store_machine_clear(&m);
		assert_int_equal(history_n(f->s, mid((char)('a' + i))), 0);
		assert_int_equal(used(f->s, (int)i + 1), TPA_OK);
	}
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), 0);
	/* and the store works on */
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);
}

/* The write lock held past the busy timeout: BEGIN fails, the batch with it. */
static void test_batch_busy(void **state)
{
	struct fx *f = *state;
	uint8_t n[2][STORE_NONCE_LEN];
	store_attestation a[2];
	int res[2] = {99, 99};
	int64_t seq[2] = {-7, -7};
	char why[256] = "";
	sqlite3 *db = NULL;
	time_t t0;

	SQLITE_ONLY("SQLite's write lock and busy timeout (test_pg_row_locked on PostgreSQL)");

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	a[0] = att(f->s, mid('a'), n[0], 1, NOW, NULL, 0);
	a[1] = att(f->s, mid('a'), n[1], 2, NOW, NULL, 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	t0 = time(NULL);
	assert_int_equal(store_attest_commit_many(f->s, a, 2, res, seq, why, sizeof(why)),
	                 TPA_E_IO);
	/* it waited for the busy timeout (5 s) first */
	assert_true(time(NULL) - t0 >= 4);
	assert_string_equal(why, "sqlite: database is locked");
	assert_int_equal(res[0], TPA_E_IO);
	assert_int_equal(res[1], TPA_E_IO);
	assert_int_equal(seq[0], -7);
	assert_int_equal(seq[1], -7);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(used(f->s, 1), TPA_OK);
	assert_int_equal(store_attest_commit_many(f->s, a, 2, res, seq, NULL, 0), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(res[1], TPA_OK);
	assert_int_equal(seq[1], 2);
}

/* ---- counter authorizations ---- */

#define HEX16(b) b b b b b b b b b b b b b b b b
#define ENR_V2 HEX16("11")
#define NONCE_KEY_V2 HEX16("42") HEX16("42")

/* A version 2 store as a v2 server left it: machine a (name alpha, policy
 * golden, state {"s":1} at generation 3, enrollment 16 bytes of 0x11, one
 * verdict) and the nonce key, 32 bytes of 0x42. */
static void make_v2(const char *spec)
{
	char sql[16384];
	int len;

	if (pg_url) {
		len = snprintf(
		        sql, sizeof(sql),
		        "%s"
		        "INSERT INTO schema_version VALUES (TRUE, 2);"
		        "INSERT INTO settings VALUES ('nonce_key', '\\x" NONCE_KEY_V2 "'::bytea);"
		        "INSERT INTO policies VALUES ('golden', '{\"p\":1}', %lld);"
		        "INSERT INTO machines (id, name, enrolled_at, enrollment, policy, "
		        "state_gen,"
		        " last_verdict, last_error, last_at, last_seq, state_json, record_json)"
		        " VALUES ('%s', 'alpha'::bytea, %lld, '\\x" ENR_V2 "'::bytea, 'golden', 3,"
		        " 'pass', '', %lld, 1, '{\"s\":1}', '{\"record\":1}');"
		        "INSERT INTO verdicts (machine_id, at, verdict, error, result_json)"
		        " VALUES ('%s', %lld, 'pass', '', '{\"v\":1}');",
		        pg_v2_schema, (long long)NOW, mid('a'), (long long)NOW, (long long)NOW + 1,
		        mid('a'), (long long)NOW + 1);
	} else {
		assert_int_equal(raw_sql(spec, "PRAGMA journal_mode = WAL"), RAW_OK);
		len = snprintf(
		        sql, sizeof(sql),
		        "BEGIN; %s %s"
		        "INSERT INTO settings VALUES ('nonce_key', x'" NONCE_KEY_V2 "');"
		        "INSERT INTO policies VALUES ('golden', '{\"p\":1}', %lld);"
		        "INSERT INTO machines (id, name, enrolled_at, enrollment, policy, "
		        "state_gen,"
		        " last_verdict, last_error, last_at, last_seq, state_json, record_json)"
		        " VALUES ('%s', 'alpha', %lld, x'" ENR_V2 "', 'golden', 3,"
		        " 'pass', '', %lld, 1, '{\"s\":1}', '{\"record\":1}');"
		        "INSERT INTO verdicts (machine_id, at, verdict, error, result_json)"
		        " VALUES ('%s', %lld, 'pass', '', '{\"v\":1}');"
		        "PRAGMA user_version = 2; COMMIT;",
		        v1_schema, v1_to_v2, (long long)NOW, mid('a'), (long long)NOW,
		        (long long)NOW + 1, mid('a'), (long long)NOW + 1);
	}
	assert_true(len > 0 && (size_t)len < sizeof(sql));
	assert_int_equal(raw_sql(spec, sql), RAW_OK);
}

/* store_counter_auth_issue, which must succeed: the count before it; the
 * state it saw, when state is not NULL, must be that ("" for none). */
static int64_t issue_ok(store *s, const char *id, const char *state)
{
	char why[256] = "", *seen = (char *)(uintptr_t)1;
	int64_t before = -7;
	int r = store_counter_auth_issue(s, id, enr(s, id), &before, &seen, why, sizeof(why));

	if (r != TPA_OK)
		fail_msg("store_counter_auth_issue: %d %s", r, why);
	if (state && !*state)
		assert_null(seen);
	else if (state)
		assert_string_equal(seen, state);
	free(seen);
	return before;
}

static int64_t auths_of(store *s, const char *id)
{
	store_machine m;
	int64_t n;

	assert_int_equal(store_machine_get_light(s, id, &m, NULL, 0), TPA_OK);
	n = m.counter_auths;
	store_machine_clear(&m);
	return n;
}

/* The migration to version 3 keeps the machines as they were, counts no
 * authorization yet, keeps the nonce key and makes the counter key. */
static void test_migrate_v2(void **state)
{
	struct fx *f = *state;
	static const uint8_t enr_v2[STORE_ENROLLMENT_ID_LEN] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	                                                        0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	                                                        0x11, 0x11, 0x11, 0x11};
	uint8_t key[STORE_NONCE_KEY_LEN], want[STORE_NONCE_KEY_LEN];
	store_machine m, page[2];
	char *pem, *pem2, *seen = NULL;
	int64_t before = -7, seq = 0;
	size_t n = 0;
	int ver = 0;

	make_v2(f->path);
	f->s = open_ok(f->path);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_string_equal(m.name, "alpha");
	assert_string_equal(m.policy, "golden");
	assert_string_equal(m.state_json, "{\"s\":1}");
	assert_string_equal(m.record_json, "{\"record\":1}");
	assert_int_equal(m.state_gen, 3);
	assert_int_equal(m.last_seq, 1);
	assert_memory_equal(m.enrollment, enr_v2, sizeof(enr_v2));
	assert_int_equal(m.counter_auths, 0);
	store_machine_clear(&m);
	assert_int_equal(store_machine_list(f->s, "", 2, page, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(page[0].counter_auths, 0);
	store_machine_clear(&page[0]);
	assert_int_equal(history_n(f->s, mid('a')), 1);
	/* the nonce key is the one it had: nonces issued before still verify */
	memset(want, 0x42, sizeof(want));
	nonce_key(f->s, key);
	assert_memory_equal(key, want, sizeof(key));
	pem = counter_key(f->s);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM counter_key"), 1);

	/* it works on: an authorization counted against the old enrollment,
	 * with the state it had, and an attestation resets the count */
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), enr_v2, &before, &seen, NULL, 0),
	                 TPA_OK);
	assert_int_equal(before, 0);
	assert_string_equal(seen, "{\"s\":1}");
	free(seen);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW + 2, "{\"s\":2}", 3, &seq, NULL, 0), TPA_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(auths_of(f->s, mid('a')), 1);

	reopen(f);
	assert_int_equal(store_schema_version(f->s, &ver), TPA_OK);
	assert_int_equal(ver, 3);
	pem2 = counter_key(f->s);
	assert_string_equal(pem, pem2);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM counter_key"), 1);
	sto_pem_free(pem);
	sto_pem_free(pem2);
}

/* Each issue counts one up from 0 and returns the count and the state its
 * own statement saw; the state's generation does not move. */
static void test_counter_auth_issue(void **state)
{
	struct fx *f = *state;
	uint8_t old[STORE_ENROLLMENT_ID_LEN];
	char why[256] = "", want[128], *seen = (char *)(uintptr_t)1;
	int64_t before = -7;
	store_machine m, page[3];
	size_t n = 0, i;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 1);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);
	/* a commit without counter_auths_used leaves the count */
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":1}"), 2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.counter_auths, 3);
	assert_int_equal(m.state_gen, 1);
	store_machine_clear(&m);
	assert_int_equal(store_machine_list(f->s, "", 3, page, &n, NULL, 0), TPA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(page[0].counter_auths, 3);
	assert_int_equal(page[1].counter_auths, 0);
	for (i = 0; i < n; i++)
		store_machine_clear(&page[i]);
	/* the other machine counts on its own */
	assert_int_equal(issue_ok(f->s, mid('b'), ""), 0);
	assert_int_equal(auths_of(f->s, mid('b')), 1);
	assert_int_equal(auths_of(f->s, mid('a')), 3);

	/* no such machine, or another enrollment of it: TPA_E_NOT_FOUND,
	 * nothing counted, outputs untouched */
	assert_int_equal(store_counter_auth_issue(f->s, mid('c'), enr(f->s, mid('a')), &before,
	                                          &seen, why, sizeof(why)),
	                 TPA_E_NOT_FOUND);
	snprintf(want, sizeof(want), "no machine %s", mid('c'));
	assert_string_equal(why, want);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), enr(f->s, mid('b')), &before,
	                                          &seen, why, sizeof(why)),
	                 TPA_E_NOT_FOUND);
	assert_non_null(strstr(why, "enrolled again"));
	assert_int_equal(before, -7);
	assert_ptr_equal(seen, (char *)(uintptr_t)1);
	assert_int_equal(auths_of(f->s, mid('a')), 3);
	assert_int_equal(auths_of(f->s, mid('b')), 1);
	memcpy(old, enr(f->s, mid('a')), sizeof(old));
	assert_int_equal(store_machine_delete(f->s, mid('a'), NULL, 0), TPA_OK);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), old, &before, &seen, NULL, 0),
	                 TPA_E_NOT_FOUND);
	add_ok(f->s, mid('a'), NULL);
	assert_int_equal(
	        store_counter_auth_issue(f->s, mid('a'), old, &before, &seen, why, sizeof(why)),
	        TPA_E_NOT_FOUND);
	assert_non_null(strstr(why, "enrolled again"));
	/* the new enrollment counts from 0 */
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 0);

	/* arguments */
	assert_int_equal(store_counter_auth_issue(NULL, mid('a'), old, &before, &seen, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_counter_auth_issue(f->s, "A", old, &before, &seen, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), NULL, &before, &seen, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), old, NULL, &seen, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), old, &before, NULL, NULL, 0),
	                 TPA_E_INVALID_ARG);
	assert_int_equal(before, -7);

	/* the count is on disk */
	reopen(f);
	assert_int_equal(auths_of(f->s, mid('a')), 1);
	assert_int_equal(auths_of(f->s, mid('b')), 1);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 1);

	/* the bound: the count goes up to INT64_MAX - 1, no further */
	assert_int_equal(
	        raw_sql(f->path, "UPDATE machines SET counter_auths = 9223372036854775805"),
	        RAW_OK);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), INT64_MAX - 2);
	assert_int_equal(auths_of(f->s, mid('a')), INT64_MAX - 1);
	assert_int_equal(store_counter_auth_issue(f->s, mid('a'), enr(f->s, mid('a')), &before,
	                                          &seen, why, sizeof(why)),
	                 TPA_E_LIMIT);
	assert_non_null(strstr(why, "the most there may be"));
	assert_int_equal(before, -7);
	assert_ptr_equal(seen, (char *)(uintptr_t)1);
	assert_int_equal(auths_of(f->s, mid('a')), INT64_MAX - 1);
	assert_int_equal(store_machine_get_light(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, 0);
	store_machine_clear(&m);
}

/* counter_auths_used is taken off the count when, and only when, the
 * attestation takes effect. */
static void test_counter_auth_reset(void **state)
{
	struct fx *f = *state;
	uint8_t n[3][STORE_NONCE_LEN];
	store_attestation a[3];
	int res[3];
	int64_t seq[3];
	char why[256] = "";

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 1);
	assert_int_equal(issue_ok(f->s, mid('a'), ""), 2);

	/* the generation moved: nothing written, the count stays */
	a[0] = att(f->s, mid('a'), n[0], 1, NOW, "{\"s\":1}", 5);
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_E_MISMATCH);
	assert_int_equal(auths_of(f->s, mid('a')), 3);
	/* taking effect: 0, in the update that stores the state */
	a[0] = att(f->s, mid('a'), n[0], 1, NOW, "{\"s\":1}", 0);
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":1}"), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":1}"), 1);
	/* the nonce consumed already: the count stays */
	a[0] = att(f->s, mid('a'), n[0], 1, NOW, "{\"s\":2}", 1);
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, why, sizeof(why)), TPA_E_MISMATCH);
	assert_non_null(strstr(why, "consumed already"));
	assert_int_equal(auths_of(f->s, mid('a')), 2);
	/* a state not recorded (the update of the state alone) resets too */
	a[0] = att(f->s, mid('a'), n[0], 2, NOW, "{\"s\":2}", 1);
	a[0].record = 0;
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":2}"), 0);
	/* and a verdict recorded without a state (the update of the last
	 * verdict) */
	a[0] = att(f->s, mid('a'), n[0], 3, NOW, NULL, 2);
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	/* with no update to ride on, refused before the store is touched */
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":2}"), 0);
	a[0] = att(f->s, mid('a'), n[0], 4, NOW, NULL, 2);
	a[0].record = 0;
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_E_INVALID_ARG);
	assert_int_equal(used(f->s, 4), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 1);
	/* without counter_auths_used, a state stored leaves the count */
	a[0] = att(f->s, mid('a'), n[0], 5, NOW, "{\"s\":3}", 2);
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 1);
	/* some used: those are taken off, the others stay (2 issued more, 3
	 * in all, 2 used: 1); more used than counted: 0, never below */
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":3}"), 1);
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":3}"), 2);
	a[0] = att(f->s, mid('a'), n[0], 9, NOW, "{\"s\":3}", 3);
	a[0].counter_auths_used = 2;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 1);
	a[0] = att(f->s, mid('a'), n[0], 10, NOW, "{\"s\":3}", 4);
	a[0].counter_auths_used = 5;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_OK);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	a[0] = att(f->s, mid('a'), n[0], 11, NOW, "{\"s\":3}", 5);
	a[0].counter_auths_used = -1;
	assert_int_equal(store_attest_commit(f->s, &a[0], NULL, NULL, 0), TPA_E_INVALID_ARG);
	assert_int_equal(issue_ok(f->s, mid('a'), "{\"s\":3}"), 0);

	/* in a batch: each item's reset goes with it */
	assert_int_equal(issue_ok(f->s, mid('b'), ""), 0);
	assert_int_equal(issue_ok(f->s, mid('b'), ""), 1);
	a[0] = att(f->s, mid('a'), n[0], 6, NOW, "{\"s\":4}", 5);
	a[0].counter_auths_used = INT64_MAX;
	/* item 0's nonce again, for machine b: not taken, b keeps its count */
	a[1] = att(f->s, mid('b'), n[1], 6, NOW, "{\"s\":1}", 0);
	a[1].counter_auths_used = INT64_MAX;
	/* b at a generation it never had: stale */
	a[2] = att(f->s, mid('b'), n[2], 7, NOW, "{\"s\":1}", 9);
	a[2].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit_many(f->s, a, 3, res, seq, NULL, 0), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(res[1], TPA_E_MISMATCH);
	assert_int_equal(res[2], TPA_E_MISMATCH);
	assert_int_equal(auths_of(f->s, mid('a')), 0);
	assert_int_equal(auths_of(f->s, mid('b')), 2);
	a[0] = att(f->s, mid('b'), n[0], 8, NOW, "{\"s\":1}", 0);
	a[0].counter_auths_used = INT64_MAX;
	assert_int_equal(store_attest_commit_many(f->s, a, 1, res, seq, NULL, 0), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(auths_of(f->s, mid('b')), 0);
}

/* One key per store: the same on every handle and after a reopen; another
 * store has another; a store without one says so. */
static void test_counter_key(void **state)
{
	struct fx *f = *state;
	char other[512], why[256] = "", *k1, *k2, *k3, *keep = (char *)(uintptr_t)1;
	store *s2, *s3;
	size_t i;

	f->s = open_ok(f->path);
	s2 = open_ok(f->path);
	k1 = counter_key(f->s);
	k2 = counter_key(s2);
	assert_string_equal(k1, k2);
	sto_pem_free(k2);
	store_close(&s2);
	reopen(f);
	k2 = counter_key(f->s);
	assert_string_equal(k1, k2);
	sto_pem_free(k2);

	snprintf(other, sizeof(other), "%s/other.db", f->dir);
#ifdef TPA_HAVE_POSTGRES
	if (pg_url) {
		char db[80];

		/* teardown drops it */
		snprintf(db, sizeof(db), "%s_other", f->db);
		make_db(db, other, sizeof(other));
	}
#endif
	s3 = open_ok(other);
	k3 = counter_key(s3);
	assert_string_not_equal(k1, k3);
	sto_pem_free(k3);
	store_close(&s3);
	for (i = 0; !pg_url && i < 3; i++) {
		const char *ext[] = {"", "-wal", "-shm"};
		char p[600];

		snprintf(p, sizeof(p), "%s%s", other, ext[i]);
		unlink(p);
	}
	sto_pem_free(k1);

	assert_int_equal(raw_sql(f->path, "DELETE FROM counter_key"), RAW_OK);
	assert_int_equal(store_counter_key(f->s, &keep, why, sizeof(why)), TPA_E_MISMATCH);
	assert_string_equal(why, "the store holds no counter-authorization key");
	assert_ptr_equal(keep, (char *)(uintptr_t)1);
	assert_int_equal(store_counter_key(f->s, NULL, NULL, 0), TPA_E_INVALID_ARG);
	assert_int_equal(store_counter_key(NULL, &keep, NULL, 0), TPA_E_INVALID_ARG);
	/* a second key cannot be put beside the first */
	assert_int_equal(raw_sql(f->path, pg_url ? "INSERT INTO counter_key VALUES (FALSE, 'x')"
	                                         : "INSERT INTO counter_key VALUES (2, 'x')"),
	                 RAW_REFUSED);
}

#define ISSUES 20

struct issuer {
	const char *spec;
	pthread_barrier_t *go;
	int64_t before[ISSUES];
	int failed;
	char why[256];
};

/* ISSUES authorizations for machine a on a handle of its own. */
static void *issue_many(void *arg)
{
	struct issuer *w = arg;
	store *s = NULL;
	int i, r;

	r = store_open(w->spec, &s, w->why, sizeof(w->why));
	pthread_barrier_wait(w->go);
	if (r != TPA_OK) {
		w->failed = 1;
		return NULL;
	}
	for (i = 0; i < ISSUES && !w->failed; i++) {
		char *seen = NULL;

		if (store_counter_auth_issue(s, mid('a'), enr(s, mid('a')), &w->before[i], &seen,
		                             w->why, sizeof(w->why)) != TPA_OK)
			w->failed = 2;
		else if (!seen || strcmp(seen, "{\"s\":1}") != 0)
			w->failed = 3;
		free(seen);
	}
	store_close(&s);
	return NULL;
}

/* Two handles (two servers) issuing at once: every one counted once, each
 * told a count no other was told. */
static void test_counter_auth_threads(void **state)
{
	struct fx *f = *state;
	struct issuer w[2];
	pthread_barrier_t go;
	pthread_t t[2];
	int seen[2 * ISSUES] = {0};
	int i, k;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);
	memset(w, 0, sizeof(w));
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		w[i].spec = f->path;
		w[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, issue_many, &w[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (i = 0; i < 2; i++)
		if (w[i].failed)
			fail_msg("issuer %d: %d %s", i, w[i].failed, w[i].why);
	for (i = 0; i < 2; i++)
		for (k = 0; k < ISSUES; k++) {
			int64_t b = w[i].before[k];

			assert_true(b >= 0 && b < 2 * ISSUES);
			seen[b]++;
			/* each handle's own are in the order it issued them */
			if (k)
				assert_true(b > w[i].before[k - 1]);
		}
	for (i = 0; i < 2 * ISSUES; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(auths_of(f->s, mid('a')), 2 * ISSUES);
	assert_int_equal(raw_count(f->path, "SELECT counter_auths FROM machines"), 2 * ISSUES);
}

/* ---- several handles, several threads ---- */

#define ROUNDS 200
#define BATCH 4

struct worker {
	const char *path;
	char first; /* the writer's machines: first .. first + BATCH - 1 */
	int base;   /* its nonces: base + round * BATCH + i */
	int failed;
	char why[256];
};

/* Commits ROUNDS batches of BATCH on its own handle, each moving a state. */
static void *batch_writer(void *arg)
{
	struct worker *w = arg;
	store *s = NULL;
	int i, round;

	if (store_open(w->path, &s, w->why, sizeof(w->why)) != TPA_OK) {
		w->failed = 1;
		return NULL;
	}
	for (round = 0; round < ROUNDS && !w->failed; round++) {
		uint8_t n[BATCH][STORE_NONCE_LEN];
		store_attestation a[BATCH];
		int res[BATCH];
		int64_t seq[BATCH];

		for (i = 0; i < BATCH; i++) {
			a[i] = att(s, mid((char)(w->first + i)), n[i], 0, NOW + round, "{\"s\":1}",
			           round);
			n[i][1] = (uint8_t)w->base;
			n[i][2] = (uint8_t)round;
			n[i][3] = (uint8_t)i;
		}
		if (store_attest_commit_many(s, a, BATCH, res, seq, w->why, sizeof(w->why)) !=
		    TPA_OK)
			w->failed = 2;
		for (i = 0; i < BATCH && !w->failed; i++)
			if (res[i] != TPA_OK) {
				snprintf(w->why, sizeof(w->why), "round %d item %d: %d", round, i,
				         res[i]);
				w->failed = 3;
			}
	}
	store_close(&s);
	return NULL;
}

/* Reads the machines ROUNDS times on its own handle. */
static void *reader(void *arg)
{
	struct worker *w = arg;
	store_machine page[8];
	store_stats st;
	store *s = NULL;
	size_t n, i;
	int round;

	if (store_open(w->path, &s, w->why, sizeof(w->why)) != TPA_OK) {
		w->failed = 1;
		return NULL;
	}
	for (round = 0; round < ROUNDS && !w->failed; round++) {
		if (store_machine_list(s, "", 8, page, &n, w->why, sizeof(w->why)) != TPA_OK) {
			w->failed = 2;
			break;
		}
		if (n != 8)
			w->failed = 3;
		for (i = 0; i < n; i++) {
			if (page[i].state_gen < 0 || page[i].state_gen > ROUNDS)
				w->failed = 4;
			store_machine_clear(&page[i]);
		}
		if (!w->failed && store_stats_get(s, NOW, &st, w->why, sizeof(w->why)) != TPA_OK)
			w->failed = 5;
	}
	store_close(&s);
	return NULL;
}

static void run_workers(struct fx *f, struct worker *w, void *(**fn)(void *), size_t k)
{
	pthread_t t[4];
	size_t i;

	for (i = 0; i < k; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn[i], &w[i]), 0);
	for (i = 0; i < k; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < k; i++)
		if (w[i].failed)
			fail_msg("worker %zu: %d %s", i, w[i].failed, w[i].why);
}

static void add_eight(struct fx *f)
{
	const char ids[] = "01234567";
	size_t i;

	f->s = open_ok(f->path);
	for (i = 0; i < 8; i++)
		add_ok(f->s, mid(ids[i]), NULL);
}

/* A writer on one handle while another handle reads (WAL: neither waits
 * for the other). */
static void test_threads_read_write(void **state)
{
	struct fx *f = *state;
	struct worker w[2] = {{.path = f->path, .first = '0', .base = 1}, {.path = f->path}};
	void *(*fn[2])(void *) = {batch_writer, reader};
	store_machine m;

	add_eight(f);
	run_workers(f, w, fn, 2);
	assert_int_equal(store_machine_get(f->s, mid('3'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, ROUNDS);
	assert_int_equal(m.last_seq, (int64_t)ROUNDS * BATCH);
	store_machine_clear(&m);
	assert_int_equal(history_n(f->s, mid('0')), 16); /* the page holds 16 */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM verdicts"),
	                 (int64_t)ROUNDS * BATCH);
}

/* Two writers on two handles at once: one waits on the busy timeout for
 * the other, neither fails. */
static void test_threads_two_writers(void **state)
{
	struct fx *f = *state;
	struct worker w[3] = {{.path = f->path, .first = '0', .base = 1},
	                      {.path = f->path, .first = '4', .base = 2},
	                      {.path = f->path}};
	void *(*fn[3])(void *) = {batch_writer, batch_writer, reader};
	store_machine m;

	add_eight(f);
	run_workers(f, w, fn, 3);
	assert_int_equal(store_machine_get(f->s, mid('7'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, ROUNDS);
	store_machine_clear(&m);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM verdicts"),
	                 (int64_t)ROUNDS * BATCH * 2);
	/* each writer's last commit (at NOW + ROUNDS - 1) dropped the nonces of
	 * both that expired more than the grace before it: none (ROUNDS < G) */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"),
	                 (int64_t)ROUNDS * BATCH * 2);
}

/* ---- PostgreSQL: several servers on one database ---- */

#ifdef TPA_HAVE_POSTGRES
#define RACE_ROUNDS 20

struct racer {
	store *s;
	pthread_barrier_t *go;
	store_attestation a;
	int r;
	char why[256];
};

static void *race_commit(void *arg)
{
	struct racer *w = arg;

	pthread_barrier_wait(w->go);
	w->r = store_attest_commit(w->s, &w->a, NULL, w->why, sizeof(w->why));
	return NULL;
}

/* Both racers at once, each on its own handle (its own connection). */
static void race(struct racer w[2])
{
	pthread_barrier_t go;
	pthread_t t[2];
	int i;

	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		w[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, race_commit, &w[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
}
#endif

/* Two servers attest the same machine at the same generation at once:
 * exactly one wins each round, the loser's nonce is not consumed. */
static void test_pg_race_generation(void **state)
{
	POSTGRES_ONLY("two connections racing on one database");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	uint8_t n[2][STORE_NONCE_LEN];
	struct racer w[2];
	store *s2;
	store_machine m;
	int round, wins = 0;

	f->s = open_ok(f->path);
	s2 = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	for (round = 0; round < RACE_ROUNDS; round++) {
		memset(w, 0, sizeof(w));
		w[0].s = f->s;
		w[1].s = s2;
		w[0].a = att(f->s, mid('a'), n[0], 2 * round + 1, NOW, "{\"s\":0}", round);
		w[1].a = att(s2, mid('a'), n[1], 2 * round + 2, NOW, "{\"s\":1}", round);
		race(w);
		if (!((w[0].r == TPA_OK && w[1].r == TPA_E_MISMATCH) ||
		      (w[0].r == TPA_E_MISMATCH && w[1].r == TPA_OK)))
			fail_msg("round %d: %d (%s) and %d (%s)", round, w[0].r, w[0].why, w[1].r,
			         w[1].why);
		wins++;
		/* the winner's nonce consumed, the loser's not */
		assert_int_equal(used(f->s, 2 * round + 1),
		                 w[0].r == TPA_OK ? TPA_E_MISMATCH : TPA_OK);
		assert_int_equal(used(f->s, 2 * round + 2),
		                 w[1].r == TPA_OK ? TPA_E_MISMATCH : TPA_OK);
	}
	store_close(&s2);
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, NULL, 0), TPA_OK);
	assert_int_equal(m.state_gen, wins);
	store_machine_clear(&m);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM verdicts"), RACE_ROUNDS);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), RACE_ROUNDS);
#endif
}

/* One nonce committed by two servers at once (for two machines, so that
 * only the nonce is shared): one TPA_OK, one TPA_E_MISMATCH. */
static void test_pg_race_nonce(void **state)
{
	POSTGRES_ONLY("two connections racing on one database");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	uint8_t n[2][STORE_NONCE_LEN];
	struct racer w[2];
	store *s2;
	int round;

	f->s = open_ok(f->path);
	s2 = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	for (round = 0; round < RACE_ROUNDS; round++) {
		memset(w, 0, sizeof(w));
		w[0].s = f->s;
		w[1].s = s2;
		w[0].a = att(f->s, mid('a'), n[0], 100 + round, NOW, NULL, 0);
		w[1].a = att(s2, mid('b'), n[1], 100 + round, NOW, NULL, 0);
		race(w);
		if (!((w[0].r == TPA_OK && w[1].r == TPA_E_MISMATCH) ||
		      (w[0].r == TPA_E_MISMATCH && w[1].r == TPA_OK)))
			fail_msg("round %d: %d (%s) and %d (%s)", round, w[0].r, w[0].why, w[1].r,
			         w[1].why);
		assert_non_null(strstr(w[w[0].r == TPA_OK ? 1 : 0].why, "consumed already"));
		assert_int_equal(used(s2, 100 + round), TPA_E_MISMATCH);
	}
	store_close(&s2);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM verdicts"), RACE_ROUNDS);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM consumed_nonces"), RACE_ROUNDS);
#endif
}

#ifdef TPA_HAVE_POSTGRES
/* Ends every other connection to the test's database (the handles'),
 * waiting until they are gone. */
static void terminate_others(struct fx *f, int64_t want)
{
	/* MATERIALIZED: the planner may not call pg_terminate_backend on our
	 * own pid before the filter drops it */
	assert_int_equal(raw_count(f->path,
	                           "WITH o AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
	                           " WHERE datname = current_database()"
	                           " AND backend_type = 'client backend'"
	                           " AND pid <> pg_backend_pid())"
	                           " SELECT count(*) FROM o"
	                           " WHERE pg_terminate_backend(pid, 5000)"),
	                 want);
}

/* tests/pg/pg.sh CMD DIR (from with-pg.sh's environment), run without a
 * shell: its exit status, -1 when it could not run. */
static int pg_sh(const char *cmd)
{
	const char *sh = getenv("TPA_TEST_PG_SH"), *dir = getenv("TPA_TEST_PG_DIR");
	int st = 0;
	pid_t pid;

	if (!sh || !dir)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(sh, sh, cmd, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}
#endif

/* The connection lost: the call that finds it is TPA_E_IO naming the
 * database, the next reconnects; a commit that fails so writes nothing.
 * Then the server itself killed (kill -9) and started again. */
static void test_pg_reconnect(void **state)
{
	POSTGRES_ONLY("a lost connection");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	uint8_t n[STORE_NONCE_LEN];
	store_attestation a;
	store_machine m;
	char why[256] = "";

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	assert_int_equal(commit(f->s, mid('a'), 1, NOW, "{\"s\":1}", 0, NULL, NULL, 0), TPA_OK);

	terminate_others(f, 1);
	assert_int_equal(store_ping(f->s, why, sizeof(why)), TPA_E_IO);
	assert_true(starts(why, "postgresql: the database is unreachable: "));
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, why, sizeof(why)), TPA_OK);
	assert_int_equal(m.state_gen, 1);
	store_machine_clear(&m);

	/* a commit on a lost connection: refused, nothing of it written (the
	 * attestation made before: commit() reads the enrollment first) */
	a = att(f->s, mid('a'), n, 2, NOW, "{\"s\":2}", 1);
	terminate_others(f, 1);
	why[0] = '\0';
	assert_int_equal(store_attest_commit(f->s, &a, NULL, why, sizeof(why)), TPA_E_IO);
	assert_true(starts(why, "postgresql: the database is unreachable: "));
	assert_int_equal(used(f->s, 2), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 1);
	/* the statements are prepared again on the new connection */
	assert_int_equal(commit(f->s, mid('a'), 2, NOW, "{\"s\":2}", 1, NULL, why, sizeof(why)),
	                 TPA_OK);

	if (!getenv("TPA_TEST_PG_DIR") || !getenv("TPA_TEST_PG_SH"))
		return;
	/* kill -9 of the server: every call fails while it is down (the
	 * reconnect is refused), and works again once it is back */
	a = att(f->s, mid('a'), n, 3, NOW, "{\"s\":3}", 2);
	assert_int_equal(pg_sh("kill"), 0);
	why[0] = '\0';
	assert_int_equal(store_ping(f->s, why, sizeof(why)), TPA_E_IO);
	assert_true(starts(why, "postgresql: the database is unreachable: "));
	why[0] = '\0';
	assert_int_equal(store_attest_commit(f->s, &a, NULL, why, sizeof(why)), TPA_E_IO);
	assert_true(starts(why, "postgresql: the database is unreachable: "));
	/* the killed postmaster's socket lock may outlive it a moment (until
	 * its parent reaps it): pg.sh restart is refused until then */
	for (int i = 0; pg_sh("restart") != 0; i++) {
		if (i == 40)
			fail_msg("tests/pg/pg.sh restart: PostgreSQL did not start again");
		usleep(250 * 1000);
	}
	assert_int_equal(store_machine_get(f->s, mid('a'), &m, why, sizeof(why)), TPA_OK);
	/* what committed before the crash is there; the commit during the
	 * outage is not */
	assert_int_equal(m.state_gen, 2);
	assert_string_equal(m.state_json, "{\"s\":2}");
	store_machine_clear(&m);
	assert_int_equal(used(f->s, 3), TPA_OK);
	assert_int_equal(history_n(f->s, mid('a')), 2);
	assert_int_equal(commit(f->s, mid('a'), 3, NOW, "{\"s\":3}", 2, NULL, why, sizeof(why)),
	                 TPA_OK);
#endif
}

#ifdef TPA_HAVE_POSTGRES
struct opener {
	const char *spec;
	pthread_barrier_t *go;
	store *s;
	int r;
	char why[256];
};

static void *race_open(void *arg)
{
	struct opener *o = arg;

	pthread_barrier_wait(o->go);
	o->r = store_open(o->spec, &o->s, o->why, sizeof(o->why));
	return NULL;
}
#endif

/* Two servers opening one empty database at once, or one a v2 server
 * left: both succeed, the schema, the nonce key and the counter key are
 * made once (both read the same). */
static void test_pg_open_race(void **state)
{
	POSTGRES_ONLY("two servers creating the schema at once");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	uint8_t k[2][STORE_NONCE_KEY_LEN];
	char db[80], url[512], *pem[2];
	int round, i;

	for (round = 0; round < 10; round++) {
		struct opener o[2];
		pthread_barrier_t go;
		pthread_t t[2];

		snprintf(db, sizeof(db), "%s_other", f->db);
		make_db(db, url, sizeof(url));
		/* odd rounds: from version 2 (2 -> 3 only) */
		if (round % 2)
			make_v2(url);
		memset(o, 0, sizeof(o));
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			o[i].spec = url;
			o[i].go = &go;
			assert_int_equal(pthread_create(&t[i], NULL, race_open, &o[i]), 0);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		pthread_barrier_destroy(&go);
		for (i = 0; i < 2; i++)
			if (o[i].r != TPA_OK)
				fail_msg("round %d, opener %d: %d %s", round, i, o[i].r, o[i].why);
		nonce_key(o[0].s, k[0]);
		nonce_key(o[1].s, k[1]);
		assert_memory_equal(k[0], k[1], sizeof(k[0]));
		pem[0] = counter_key(o[0].s);
		pem[1] = counter_key(o[1].s);
		assert_string_equal(pem[0], pem[1]);
		sto_pem_free(pem[0]);
		sto_pem_free(pem[1]);
		store_close(&o[0].s);
		store_close(&o[1].s);
		assert_int_equal(raw_count(url, "SELECT count(*) FROM schema_version"), 1);
		assert_int_equal(raw_count(url, "SELECT version FROM schema_version"), 3);
		assert_int_equal(raw_count(url, "SELECT count(*) FROM settings"), 1);
		assert_int_equal(raw_count(url, "SELECT count(*) FROM counter_key"), 1);
		assert_int_equal(raw_count(url, "SELECT count(*) FROM machines"), round % 2);
		drop_db(db);
	}
#endif
}

#ifdef TPA_HAVE_POSTGRES
#define PUTS 20

struct putter {
	const char *spec;
	pthread_barrier_t *go;
	int base;    /* its challenge ids: base + i */
	int own_ids; /* each put for another machine, else all for mid('a') */
	int ok, limit, failed;
	char why[256];
};

static void *race_put(void *arg)
{
	struct putter *w = arg;
	int64_t later = (int64_t)time(NULL) + 3600;
	store *s = NULL;
	int i;

	if (store_open(w->spec, &s, w->why, sizeof(w->why)) != TPA_OK) {
		w->failed = 1;
		pthread_barrier_wait(w->go);
		return NULL;
	}
	pthread_barrier_wait(w->go);
	for (i = 0; i < PUTS; i++) {
		char id[STORE_ID_HEX];
		store_pending p;
		int r;

		snprintf(id, sizeof(id), "%064x", 0x100000 + w->base + i);
		p = pending((uint8_t)(w->base + i), w->own_ids ? id : mid('a'), NULL, later);
		r = store_pending_put(s, &p, w->why, sizeof(w->why));
		if (r == TPA_OK)
			w->ok++;
		else if (r == TPA_E_LIMIT)
			w->limit++;
		else
			w->failed = r;
	}
	store_close(&s);
	return NULL;
}

static void race_puts(struct fx *f, struct putter w[2])
{
	pthread_barrier_t go;
	pthread_t t[2];
	int i;

	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		w[i].spec = f->path;
		w[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, race_put, &w[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (i = 0; i < 2; i++)
		if (w[i].failed)
			fail_msg("putter %d: %d %s", i, w[i].failed, w[i].why);
}
#endif

/* store_pending_put's caps hold with two servers putting at once. */
static void test_pg_pending_race(void **state)
{
	POSTGRES_ONLY("two servers putting pending enrollments at once");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	struct putter w[2] = {{.base = 1}, {.base = 101}};
	char sql[512];

	/* one EK from both: never more than STORE_PENDING_PER_MACHINE */
	f->s = open_ok(f->path);
	race_puts(f, w);
	assert_int_equal(w[0].ok + w[1].ok, 2 * PUTS);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pending WHERE machine_id = '%s'",
	         mid('a'));
	assert_int_equal(raw_count(f->path, sql), STORE_PENDING_PER_MACHINE);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM pending"),
	                 STORE_PENDING_PER_MACHINE);

	/* 10 places left overall, 40 puts for 40 EKs: exactly 10 taken */
	assert_int_equal(raw_sql(f->path, "DELETE FROM pending"), RAW_OK);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO pending (id, machine_id, name, expires, pending_json)"
	         " SELECT decode(lpad(to_hex(g), 32, '0'), 'hex'), lpad(to_hex(g), 64, '0'),"
	         " NULL, %lld, '{}' FROM generate_series(1, %d) g",
	         (long long)time(NULL) + 3600, STORE_PENDING_MAX - 10);
	assert_int_equal(raw_sql(f->path, sql), RAW_OK);
	memset(w, 0, sizeof(w));
	w[0].base = 1;
	w[1].base = 101;
	w[0].own_ids = w[1].own_ids = 1;
	race_puts(f, w);
	assert_int_equal(w[0].ok + w[1].ok, 10);
	assert_int_equal(w[0].limit + w[1].limit, 2 * PUTS - 10);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM pending"), STORE_PENDING_MAX);
#endif
}

/* A row another transaction holds past the statement timeout: the batch
 * fails whole (TPA_E_IO) instead of hanging, and writes nothing. */
static void test_pg_row_locked(void **state)
{
	POSTGRES_ONLY("a row lock held past the statement timeout");
#ifdef TPA_HAVE_POSTGRES
	struct fx *f = *state;
	uint8_t n[2][STORE_NONCE_LEN];
	store_attestation a[2];
	int res[2] = {99, 99};
	int64_t seq[2] = {-7, -7};
	char why[256] = "", sql[256];
	PGconn *c;
	PGresult *r;
	time_t t0;

	f->s = open_ok(f->path);
	add_ok(f->s, mid('a'), NULL);
	add_ok(f->s, mid('b'), NULL);
	a[0] = att(f->s, mid('a'), n[0], 1, NOW, "{\"s\":1}", 0);
	a[1] = att(f->s, mid('b'), n[1], 2, NOW, "{\"s\":1}", 0);
	c = pg_connect(f->path);
	PQclear(PQexec(c, "BEGIN"));
	snprintf(sql, sizeof(sql), "SELECT 1 FROM machines WHERE id = '%s' FOR UPDATE", mid('b'));
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	t0 = time(NULL);
	assert_int_equal(store_attest_commit_many(f->s, a, 2, res, seq, why, sizeof(why)),
	                 TPA_E_IO);
	assert_true(time(NULL) - t0 >= 4);
	assert_string_equal(why, "postgresql: canceling statement due to statement timeout");
	assert_int_equal(res[0], TPA_E_IO);
	assert_int_equal(res[1], TPA_E_IO);
	assert_int_equal(seq[0], -7);
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	assert_int_equal(history_n(f->s, mid('a')), 0);
	assert_int_equal(used(f->s, 1), TPA_OK);
	assert_int_equal(store_attest_commit_many(f->s, a, 2, res, seq, NULL, 0), TPA_OK);
	assert_int_equal(res[0], TPA_OK);
	assert_int_equal(res[1], TPA_OK);
	/* seq 1 went with the rolled-back batch: an identity is not rolled
	 * back (SQLite's AUTOINCREMENT is); seq still orders the history */
	assert_true(seq[0] >= 1 && seq[1] > seq[0]);
#endif
}

int main(void)
{
	const char *spec = getenv("TPA_TEST_STORE");
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_create_reopen, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_empty_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_postgres_spec, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_machines, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending_bounded, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nonce_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nonce_used, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nonce_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attest_atomic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attest_current, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eventlog, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch_bounds, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch_disk_full, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch_busy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counter_auth_issue, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counter_auth_reset, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counter_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counter_auth_threads, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_threads_read_write, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_threads_two_writers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_race_generation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_race_nonce, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_open_race, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_pending_race, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_row_locked, setup, teardown),
	};

	if (spec && *spec) {
#ifdef TPA_HAVE_POSTGRES
		pg_url = spec;
#else
		fprintf(stderr, "TPA_TEST_STORE: this build has no PostgreSQL store\n");
		return 77;
#endif
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
