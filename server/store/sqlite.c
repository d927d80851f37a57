/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The store on SQLite (store.h; README.md in this folder gives the schema,
 * the migrations and the transactions).
 *
 * Every statement is a constant in stmt_sql[], prepared once per handle and
 * bound with sqlite3_bind_*: no caller string ever becomes SQL text.  Every
 * function that writes runs BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any
 * error); every function that only reads is a single SELECT, atomic on its
 * own.  Outputs are filled only after the commit (or the last row) succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <tpmattest/enroll.h>

#include "store.h"
#include "store_impl.h"

#define SQ(s) ((struct sq *)(s))

/* How long a writer waits for another process's write transaction. */
#define BUSY_TIMEOUT_MS 5000

/*
 * The schema, one step per version: migrations[v] takes a database from
 * version v to v + 1 (PRAGMA user_version), in one transaction.  A step is
 * never edited once released; changes are new steps.
 */
static int put_nonce_key(store *s, char *why, size_t whylen);
static int put_counter_key(store *s, char *why, size_t whylen);

static const struct migration {
	const char *sql;
	/* then what SQL text must not do: values made here, bound */
	int (*then)(store *s, char *why, size_t whylen);
} migrations[STORE_SCHEMA_VERSION] = {
        /* 0 -> 1 */
        {"CREATE TABLE policies ("
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
         " BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;",
         NULL},
        /* 1 -> 2: nonces are a MAC with the key (server/nonce.c), so the
         * outstanding ones are not kept; the consumed ones are, until they
         * expire, so none is accepted twice.  No foreign key: a machine
         * deleted and enrolled again (same EK, same id) must not get its
         * consumed nonces back. */
        {"DROP TABLE nonces;"
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
         "ALTER TABLE machines2 RENAME TO machines;",
         put_nonce_key},
        /* 2 -> 3: the verifier authorizes each increment of a machine's
         * TPM counter (<tpmattest/counterauth.h>) and counts those it
         * issued since the last accepted state; its signing key is the
         * store's, like the nonce key, so every server on the file signs
         * with the same one.  The PEM is made in C and bound. */
        {"ALTER TABLE machines ADD COLUMN counter_auths INTEGER NOT NULL DEFAULT 0;"
         "CREATE TABLE counter_key ("
         " one INTEGER PRIMARY KEY CHECK (one = 1),"
         " pem TEXT NOT NULL"
         ") STRICT;",
         put_counter_key},
};

#define MACHINE_COLS_AROUND(record)                                                        \
	"id, name, enrolled_at, " record ", policy, state_json, state_gen, last_verdict, " \
	"last_error, last_at, last_seq, eventlog_sha256, enrollment, counter_auths"
#define MACHINE_COLS MACHINE_COLS_AROUND("record_json")

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_VERSION,
	ST_PING,
	ST_MACHINE_EXISTS,
	ST_MACHINE_CURRENT,
	ST_NAME_OWNER,
	ST_MACHINE_GET,
	ST_MACHINE_GET_LIGHT,
	ST_MACHINE_RECORD,
	ST_MACHINE_LIST,
	ST_MACHINE_INSERT,
	ST_MACHINE_DELETE,
	ST_MACHINE_SET_POLICY,
	ST_MACHINE_SET_LAST,
	ST_MACHINE_SET_STATE,
	ST_MACHINE_SET_LAST_STATE,
	ST_MACHINE_SET_EVENTLOG,
	ST_EVENTLOG_PUT,
	ST_EVENTLOG_GET,
	ST_POLICY_EXISTS,
	ST_POLICY_PUT,
	ST_POLICY_BUMP,
	ST_POLICY_GET,
	ST_POLICY_LIST,
	ST_PENDING_EXPIRE,
	ST_PENDING_INSERT,
	ST_PENDING_TAKE,
	ST_PENDING_COUNT_MACHINE,
	ST_PENDING_EVICT,
	ST_PENDING_COUNT,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_KEY_PUT,
	ST_KEY_GET,
	ST_NONCE_EXPIRE,
	ST_NONCE_USED,
	ST_NONCE_CONSUME,
	ST_COUNTER_ISSUE,
	ST_COUNTER_WHY,
	ST_COUNTER_KEY_PUT,
	ST_COUNTER_KEY_GET,
	ST_VERDICT_INSERT,
	ST_HISTORY,
	ST_STATS,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_VERSION] = "PRAGMA user_version",
        [ST_PING] = "SELECT 1 FROM machines LIMIT 1",
        [ST_MACHINE_EXISTS] = "SELECT 1 FROM machines WHERE id = ?1",
        /* 2 when the enrollment and generation are still the ones the
         * caller verified against, 1 when only the enrollment is, 0 when
         * the machine was enrolled again, no row when it is gone */
        [ST_MACHINE_CURRENT] = "SELECT (enrollment = ?2) + (enrollment = ?2 AND state_gen = ?3)"
                               " FROM machines WHERE id = ?1",
        [ST_NAME_OWNER] = "SELECT id FROM machines WHERE name = ?1",
        [ST_MACHINE_GET] = "SELECT " MACHINE_COLS " FROM machines WHERE id = ?1",
        [ST_MACHINE_GET_LIGHT] =
                "SELECT " MACHINE_COLS_AROUND("NULL") " FROM machines WHERE id = ?1",
        [ST_MACHINE_RECORD] = "SELECT record_json FROM machines WHERE id = ?1 AND enrollment = ?2",
        [ST_MACHINE_LIST] =
                "SELECT " MACHINE_COLS " FROM machines WHERE id > ?1 ORDER BY id LIMIT ?2",
        [ST_MACHINE_INSERT] = "INSERT INTO machines (id, name, enrolled_at, record_json,"
                              " enrollment) VALUES (?1, ?2, ?3, ?4, randomblob(16))",
        [ST_MACHINE_DELETE] = "DELETE FROM machines WHERE id = ?1",
        /* the policy that rules a machine moves its generation: an
         * attestation judged by the one before is not committed */
        [ST_MACHINE_SET_POLICY] =
                "UPDATE machines SET policy = ?2, state_gen = state_gen + 1 WHERE id = ?1",
        /* the updates of an attestation, each conditional on the
         * enrollment and generation it was verified against; the last
         * parameter (counter_auths_used) is taken off the count in the same
         * row update, so only when the update takes effect */
        [ST_MACHINE_SET_LAST] = "UPDATE machines SET last_verdict = ?2, last_error = ?3,"
                                " last_at = ?4, last_seq = ?5,"
                                " counter_auths = max(counter_auths - ?8, 0)"
                                " WHERE id = ?1 AND state_gen = ?6 AND enrollment = ?7",
        [ST_MACHINE_SET_STATE] = "UPDATE machines SET state_json = ?2, state_gen = state_gen + 1,"
                                 " counter_auths = max(counter_auths - ?5, 0)"
                                 " WHERE id = ?1 AND state_gen = ?3 AND enrollment = ?4",
        [ST_MACHINE_SET_LAST_STATE] =
                "UPDATE machines SET last_verdict = ?2, last_error = ?3, last_at = ?4,"
                " last_seq = ?5, state_json = ?6, state_gen = state_gen + 1,"
                " counter_auths = max(counter_auths - ?9, 0)"
                " WHERE id = ?1 AND state_gen = ?7 AND enrollment = ?8",
        [ST_MACHINE_SET_EVENTLOG] = "UPDATE machines SET eventlog_sha256 = ?2 WHERE id = ?1",
        [ST_EVENTLOG_PUT] = "INSERT INTO eventlogs (machine_id, data) VALUES (?1, ?2)"
                            " ON CONFLICT (machine_id) DO UPDATE SET data = excluded.data",
        [ST_EVENTLOG_GET] = "SELECT e.data FROM eventlogs e JOIN machines m ON m.id = e.machine_id"
                            " WHERE m.id = ?1 AND m.eventlog_sha256 = ?2",
        [ST_POLICY_EXISTS] = "SELECT 1 FROM policies WHERE name = ?1",
        [ST_POLICY_PUT] = "INSERT INTO policies (name, doc, updated) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (name) DO UPDATE SET doc = excluded.doc,"
                          " updated = excluded.updated",
        /* a document replaced moves the generation of every machine it
         * rules (as ST_MACHINE_SET_POLICY does) */
        [ST_POLICY_BUMP] = "UPDATE machines SET state_gen = state_gen + 1 WHERE policy = ?1",
        [ST_POLICY_GET] = "SELECT doc, updated FROM policies WHERE name = ?1",
        [ST_POLICY_LIST] = "SELECT name, updated FROM policies ORDER BY name LIMIT ?1",
        [ST_PENDING_EXPIRE] = "DELETE FROM pending WHERE expires < ?1",
        [ST_PENDING_COUNT_MACHINE] = "SELECT count(*) FROM pending WHERE machine_id = ?1",
        [ST_PENDING_EVICT] = "DELETE FROM pending WHERE rowid IN (SELECT rowid FROM pending"
                             " WHERE machine_id = ?1 ORDER BY rowid LIMIT ?2)",
        [ST_PENDING_COUNT] = "SELECT count(*) FROM pending",
        [ST_PENDING_INSERT] = "INSERT INTO pending (id, machine_id, name, expires, pending_json)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_PENDING_TAKE] = "DELETE FROM pending WHERE id = ?1"
                            " RETURNING machine_id, name, expires, pending_json",
        /* one savepoint name: items of a batch are not nested */
        [ST_SAVEPOINT] = "SAVEPOINT item",
        [ST_RELEASE] = "RELEASE item",
        [ST_ROLLBACK_TO] = "ROLLBACK TO item",
        [ST_KEY_PUT] = "INSERT INTO settings (name, value) VALUES ('nonce_key', ?1)",
        [ST_KEY_GET] = "SELECT value FROM settings WHERE name = 'nonce_key'",
        [ST_NONCE_EXPIRE] = "DELETE FROM consumed_nonces WHERE expires < ?1",
        [ST_NONCE_USED] = "SELECT 1 FROM consumed_nonces WHERE nonce = ?1",
        /* a nonce there already changes no row */
        [ST_NONCE_CONSUME] = "INSERT INTO consumed_nonces (nonce, machine_id, expires)"
                             " VALUES (?1, ?2, ?3) ON CONFLICT (nonce) DO NOTHING",
        /* one statement: the count and the state it returns are the ones
         * this very update saw (RETURNING gives the row as updated) */
        [ST_COUNTER_ISSUE] = "UPDATE machines SET counter_auths = counter_auths + 1"
                             " WHERE id = ?1 AND enrollment = ?2 AND counter_auths < ?3"
                             " RETURNING counter_auths - 1, state_json",
        /* why ST_COUNTER_ISSUE changed no row: no row here, the machine is
         * gone; 0, enrolled again; 1, the count is at its bound */
        [ST_COUNTER_WHY] = "SELECT enrollment = ?2 FROM machines WHERE id = ?1",
        [ST_COUNTER_KEY_PUT] = "INSERT INTO counter_key (one, pem) VALUES (1, ?1)",
        [ST_COUNTER_KEY_GET] = "SELECT pem FROM counter_key WHERE one = 1",
        [ST_VERDICT_INSERT] = "INSERT INTO verdicts (machine_id, at, verdict, error, result_json)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_HISTORY] = "SELECT seq, at, verdict, error, result_json FROM verdicts"
                       " WHERE machine_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        [ST_STATS] = "SELECT (SELECT count(*) FROM machines),"
                     " (SELECT count(*) FROM consumed_nonces WHERE expires >= ?1),"
                     " (SELECT count(*) FROM pending)",
};

struct sq {
	struct store base; /* first: the handle store.c dispatches on */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

/* The store failed: the why is SQLite's message (never a bound value). */
static int db_fail(store *s, sqlite3_stmt *st, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "sqlite: %s", sqlite3_errmsg(SQ(s)->db));
	if (st)
		sqlite3_reset(st);
	return TPA_E_IO;
}

static int corrupt(store *s, sqlite3_stmt *st, const char *what, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "sqlite: %s out of bounds in the database", what);
	sqlite3_reset(st);
	return TPA_E_IO;
}

/*
 * The statement id, prepared once and bound from types: 'T' a text (NULL
 * binds NULL), 'I' an int64_t, 'B' a blob and its size_t length (NULL binds
 * NULL).  NULL when preparing or binding failed (sqlite3_errmsg says why).
 */
static sqlite3_stmt *q(store *s, enum stmt_id id, const char *types, ...)
{
	sqlite3_stmt *st = SQ(s)->st[id];
	va_list ap;
	int i, rc = SQLITE_OK;

	if (!st) {
		if (sqlite3_prepare_v3(SQ(s)->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
		                       NULL) != SQLITE_OK)
			return NULL;
		SQ(s)->st[id] = st;
	}
	va_start(ap, types);
	for (i = 0; types[i] && rc == SQLITE_OK; i++) {
		const char *t;
		const void *b;
		size_t n;

		switch (types[i]) {
		case 'T':
			t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(st, i + 1, t, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i + 1);
			break;
		case 'I': rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
		case 'B':
			b = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			/* a non-NULL pointer keeps a zero-length blob distinct from NULL */
			rc = b ? sqlite3_bind_blob64(st, i + 1, n ? b : "", n, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i + 1);
			break;
		default: rc = SQLITE_MISUSE; break;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

/* Steps a statement that returns no rows (or whose rows are not read). */
static int run(store *s, sqlite3_stmt *st, char *why, size_t whylen)
{
	int rc;

	if (!st)
		return db_fail(s, NULL, why, whylen);
	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE)
		return db_fail(s, st, why, whylen);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return TPA_OK;
}

/* Steps a statement to its first row: TPA_OK with the row to read (the
 * caller resets), TPA_E_NOT_FOUND without one, TPA_E_IO. */
static int first_row(store *s, sqlite3_stmt *st, char *why, size_t whylen)
{
	int rc;

	if (!st)
		return db_fail(s, NULL, why, whylen);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return TPA_OK;
	if (rc != SQLITE_DONE)
		return db_fail(s, st, why, whylen);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return TPA_E_NOT_FOUND;
}

static void release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* A single count(*) or 1: TPA_OK and *v. */
static int one_int(store *s, sqlite3_stmt *st, int64_t *v, char *why, size_t whylen)
{
	int r = first_row(s, st, why, whylen);

	if (r == TPA_E_NOT_FOUND) {
		*v = 0;
		return TPA_OK;
	}
	if (r != TPA_OK)
		return r;
	*v = sqlite3_column_int64(st, 0);
	release(st);
	return TPA_OK;
}

static int tx_begin(store *s, char *why, size_t whylen)
{
	return run(s, q(s, ST_BEGIN, ""), why, whylen);
}

static void tx_rollback(store *s)
{
	/* SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR) */
	if (!sqlite3_get_autocommit(SQ(s)->db))
		run(s, q(s, ST_ROLLBACK, ""), NULL, 0);
}

/* Commits, or rolls back and fails. */
static int tx_end(store *s, int r, char *why, size_t whylen)
{
	if (r == TPA_OK)
		r = run(s, q(s, ST_COMMIT, ""), why, whylen);
	if (r != TPA_OK)
		tx_rollback(s);
	return r;
}

/* Copies a text column into a fixed buffer; 0 when it does not fit or
 * holds a NUL (NULL reads as ""). */
static int col_copy(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (!t) {
		if (sqlite3_column_type(st, col) != SQLITE_NULL)
			return 0; /* out of memory converting */
		buf[0] = '\0';
		return 1;
	}
	if (n >= size || memchr(t, '\0', n))
		return 0;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return 1;
}

/* A malloc'd copy of a text column (*out NULL for NULL).  TPA_OK,
 * TPA_E_NOMEM, or TPA_E_IO for a NUL inside. */
static int col_dup(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	char *p;

	*out = NULL;
	if (!t)
		return sqlite3_column_type(st, col) == SQLITE_NULL ? TPA_OK : TPA_E_NOMEM;
	if (memchr(t, '\0', n))
		return TPA_E_IO;
	p = malloc(n + 1);
	if (!p)
		return TPA_E_NOMEM;
	memcpy(p, t, n);
	p[n] = '\0';
	*out = p;
	return TPA_OK;
}

static int nomem(store *s, sqlite3_stmt *st, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "out of memory reading the store");
	if (st)
		release(st);
	return TPA_E_NOMEM;
}

/* The current row of an MACHINE_COLS select into *m (cleared on failure). */
static int row_machine(store *s, sqlite3_stmt *st, store_machine *m, int with_record, char *why,
                       size_t whylen)
{
	const void *h;
	int r;

	memset(m, 0, sizeof(*m));
	if (!col_copy(st, 0, m->id, sizeof(m->id)))
		return corrupt(s, st, "a machine id", why, whylen);
	if (!col_copy(st, 1, m->name, sizeof(m->name)))
		return corrupt(s, st, "a machine name", why, whylen);
	m->has_name = sqlite3_column_type(st, 1) != SQLITE_NULL;
	m->enrolled_at = sqlite3_column_int64(st, 2);
	if (!col_copy(st, 4, m->policy, sizeof(m->policy)) ||
	    !col_copy(st, 7, m->last_verdict, sizeof(m->last_verdict)) ||
	    !col_copy(st, 8, m->last_error, sizeof(m->last_error)))
		return corrupt(s, st, "a machine's policy or last verdict", why, whylen);
	m->state_gen = sqlite3_column_int64(st, 6);
	m->last_at = sqlite3_column_int64(st, 9);
	m->last_seq = sqlite3_column_int64(st, 10);
	h = sqlite3_column_blob(st, 11);
	if (h) {
		if (sqlite3_column_bytes(st, 11) != 32)
			return corrupt(s, st, "an event log hash", why, whylen);
		memcpy(m->eventlog_sha256, h, 32);
		m->has_eventlog = 1;
	}
	h = sqlite3_column_blob(st, 12);
	if (!h || sqlite3_column_bytes(st, 12) != STORE_ENROLLMENT_ID_LEN)
		return corrupt(s, st, "a machine's enrollment id", why, whylen);
	memcpy(m->enrollment, h, STORE_ENROLLMENT_ID_LEN);
	m->counter_auths = sqlite3_column_int64(st, 13);
	r = col_dup(st, 3, &m->record_json);
	if (r == TPA_OK)
		r = col_dup(st, 5, &m->state_json);
	if (r == TPA_OK && with_record && !m->record_json)
		r = TPA_E_IO;
	if (r != TPA_OK) {
		store_machine_clear(m);
		return r == TPA_E_NOMEM ? nomem(s, st, why, whylen)
		                        : corrupt(s, st, "a machine's JSON", why, whylen);
	}
	return TPA_OK;
}

/* ---- opening ---- */

static int exec_const(store *s, const char *sql, char *why, size_t whylen)
{
	if (sqlite3_exec(SQ(s)->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, NULL, why, whylen);
	return TPA_OK;
}

/* The nonce key, made once, in the migration to version 2: from OpenSSL's
 * DRBG and bound (randomblob() is SQLite's own generator, not one we
 * audit). */
static int put_nonce_key(store *s, char *why, size_t whylen)
{
	uint8_t key[STORE_NONCE_KEY_LEN];
	int r;

	if (tpa_credential_random(key, sizeof(key)) != TPA_OK) {
		sto_setwhy(why, whylen,
		           "no random bytes for the nonce key (OpenSSL's DRBG failed)");
		return TPA_E_CRYPTO;
	}
	/* SQLITE_STATIC: the statement is reset (and its bindings cleared)
	 * before key goes out of scope */
	r = run(s, q(s, ST_KEY_PUT, "B", (const void *)key, sizeof(key)), why, whylen);
	explicit_bzero(key, sizeof(key));
	return r;
}

/* The counter-authorization key, made once, in the migration to version
 * 3 (<tpmattest/counterauth.h>), and bound. */
static int put_counter_key(store *s, char *why, size_t whylen)
{
	char *pem = NULL;
	int r = sto_counter_key_make(&pem, why, whylen);

	if (r != TPA_OK)
		return r;
	/* SQLITE_STATIC: run() resets the statement and clears its bindings
	 * before pem is wiped */
	r = run(s, q(s, ST_COUNTER_KEY_PUT, "T", pem), why, whylen);
	sto_pem_free(pem);
	return r;
}

static int user_version(store *s, int64_t *v, char *why, size_t whylen)
{
	return one_int(s, q(s, ST_VERSION, ""), v, why, whylen);
}

/* Brings the schema to STORE_SCHEMA_VERSION, one transaction per step; the
 * version is read inside each transaction, so two processes opening the
 * same new file migrate it once. */
static int migrate(store *s, char *why, size_t whylen)
{
	for (;;) {
		int64_t v = 0;
		char set[64];
		int r = tx_begin(s, why, whylen);

		if (r != TPA_OK)
			return r;
		r = user_version(s, &v, why, whylen);
		if (r == TPA_OK && (v < 0 || v > STORE_SCHEMA_VERSION)) {
			sto_setwhy(
			        why, whylen,
			        "the store's schema version %lld is not one this build knows (%d "
			        "and older): a newer tpmattest wrote it",
			        (long long)v, STORE_SCHEMA_VERSION);
			r = TPA_E_UNSUPPORTED;
		}
		if (r == TPA_OK && v == STORE_SCHEMA_VERSION)
			return tx_end(s, r, why, whylen);
		if (r == TPA_OK)
			r = exec_const(s, migrations[v].sql, why, whylen);
		if (r == TPA_OK && migrations[v].then)
			r = migrations[v].then(s, why, whylen);
		/* PRAGMA takes no parameters; v + 1 is our own integer */
		if (r == TPA_OK) {
			snprintf(set, sizeof(set), "PRAGMA user_version = %lld", (long long)v + 1);
			r = exec_const(s, set, why, whylen);
		}
		r = tx_end(s, r, why, whylen);
		if (r != TPA_OK)
			return r;
	}
}

static int configure(store *s, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	int r, rc, wal;

	sqlite3_extended_result_codes(SQ(s)->db, 1);
	sqlite3_busy_timeout(SQ(s)->db, BUSY_TIMEOUT_MS);
	/* no writable_schema or other ways of corrupting the file through SQL */
	sqlite3_db_config(SQ(s)->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(SQ(s)->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* journal_mode answers with the mode it is in: a file that cannot be
	 * WAL (another process holds it in rollback mode) must be refused */
	if (sqlite3_prepare_v2(SQ(s)->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, NULL, why, whylen);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = db_fail(s, st, why, whylen);
		sqlite3_finalize(st);
		return r;
	}
	wal = sqlite3_column_text(st, 0) &&
	      strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (!wal) {
		sto_setwhy(why, whylen, "sqlite: the database could not be put in WAL mode");
		return TPA_E_IO;
	}
	/* secure_delete: consumed nonces and pending secrets are overwritten
	 * in the file, not just unlinked from the b-tree */
	return exec_const(s,
	                  "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	                  " PRAGMA secure_delete = ON;",
	                  why, whylen);
}

static void sq_close(store **sp);

static int sq_open(const char *spec, store **out, char *why, size_t whylen)
{
	struct sq *h;
	store *s;
	int fd, r;

	if (!spec || !*spec || !out)
		return sto_bad_arg("no store given", why, whylen);
	/* handles on one file are used from several threads at once (each
	 * handle by one): SQLite's shared state needs its mutexes for that */
	if (sqlite3_threadsafe() == 0) {
		sto_setwhy(
		        why, whylen,
		        "sqlite: this SQLite was built with SQLITE_THREADSAFE=0, and the store is "
		        "used from several threads");
		return TPA_E_UNSUPPORTED;
	}
	/* create it ourselves: SQLite would create it 0644 under a usual
	 * umask, and its -wal and -shm files copy the database's mode */
	fd = open(spec, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		sto_setwhy(why, whylen, "%s: %s", spec, strerror(errno));
		return TPA_E_IO;
	}
	close(fd);
	h = calloc(1, sizeof(*h));
	if (!h) {
		sto_setwhy(why, whylen, "out of memory");
		return TPA_E_NOMEM;
	}
	h->base.ops = &store_sqlite_ops;
	s = &h->base;
	if (sqlite3_open_v2(spec, &SQ(s)->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		if (SQ(s)->db)
			sto_setwhy(why, whylen, "sqlite: %s: %s", spec, sqlite3_errmsg(SQ(s)->db));
		else
			sto_setwhy(why, whylen, "sqlite: out of memory");
		sqlite3_close(SQ(s)->db);
		free(h);
		return TPA_E_IO;
	}
	r = configure(s, why, whylen);
	if (r == TPA_OK)
		r = migrate(s, why, whylen);
	if (r != TPA_OK) {
		sq_close(&s);
		return r;
	}
	*out = s;
	return TPA_OK;
}

static void sq_close(store **sp)
{
	store *s;
	size_t i;

	if (!sp || !*sp)
		return;
	s = *sp;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(SQ(s)->st[i]);
	sqlite3_close(SQ(s)->db);
	free(SQ(s));
	*sp = NULL;
}

static int sq_ping(store *s, char *why, size_t whylen)
{
	return run(s, q(s, ST_PING, ""), why, whylen);
}

static int sq_schema_version(store *s, int *version)
{
	int64_t v;
	int r;

	if (!s || !version)
		return TPA_E_INVALID_ARG;
	r = user_version(s, &v, NULL, 0);
	if (r == TPA_OK)
		*version = (int)v;
	return r;
}

/* ---- machines ---- */

static int machine_get(store *s, const char *id, store_machine *out, int with_record, char *why,
                       size_t whylen)
{
	sqlite3_stmt *st;
	store_machine m;
	int r;

	if (!s || !out)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	st = q(s, with_record ? ST_MACHINE_GET : ST_MACHINE_GET_LIGHT, "T", id);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s", id);
	if (r != TPA_OK)
		return r;
	r = row_machine(s, st, &m, with_record, why, whylen);
	if (r != TPA_OK)
		return r;
	release(st);
	*out = m;
	return TPA_OK;
}

static int sq_machine_get(store *s, const char *id, store_machine *out, char *why, size_t whylen)
{
	return machine_get(s, id, out, 1, why, whylen);
}

static int sq_machine_get_light(store *s, const char *id, store_machine *out, char *why,
                                size_t whylen)
{
	return machine_get(s, id, out, 0, why, whylen);
}

static int sq_machine_record(store *s, const char *id,
                             const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], char **record_json,
                             char *why, size_t whylen)
{
	sqlite3_stmt *st;
	int r;

	if (!s || !enrollment || !record_json)
		return sto_bad_arg("no store, enrollment or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	st = q(s, ST_MACHINE_RECORD, "TB", id, (const void *)enrollment,
	       (size_t)STORE_ENROLLMENT_ID_LEN);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s under this enrollment", id);
	if (r != TPA_OK)
		return r;
	r = col_dup(st, 0, record_json);
	if (r == TPA_OK && !*record_json)
		return corrupt(s, st, "a machine's record", why, whylen);
	if (r != TPA_OK)
		return nomem(s, st, why, whylen);
	release(st);
	return TPA_OK;
}

/* Grows a temporary array by doubling, up to limit elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t limit, size_t elem)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 1;
	n = *cap ? *cap * 2 : 16;
	if (n > limit)
		n = limit;
	if (n < need || n > SIZE_MAX / elem)
		return 0;
	p = realloc(*arr, n * elem);
	if (!p)
		return 0;
	*arr = p;
	*cap = n;
	return 1;
}

static int64_t limit64(size_t limit)
{
	return limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/* One row into one element: TPA_OK, or an error already reported in why
 * with the element left holding nothing to free. */
typedef int (*row_fn)(store *s, sqlite3_stmt *st, void *elem, char *why, size_t whylen);

/* The rows of st, at most limit, through row into out (elements of elem
 * bytes), all or nothing: on failure the rows read are cleared and out is
 * untouched.  The statement is released. */
static int read_rows(store *s, sqlite3_stmt *st, size_t limit, size_t elem, row_fn row,
                     void (*clear)(void *), void *out, size_t *n, char *why, size_t whylen)
{
	unsigned char *tmp = NULL;
	size_t k = 0, cap = 0;
	int r = TPA_OK, rc = SQLITE_DONE;

	if (!st)
		return db_fail(s, NULL, why, whylen);
	while (r == TPA_OK && k < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!grow((void **)&tmp, &cap, k + 1, limit, elem)) {
			r = nomem(s, st, why, whylen);
			break;
		}
		memset(tmp + k * elem, 0, elem);
		r = row(s, st, tmp + k * elem, why, whylen);
		if (r == TPA_OK)
			k++;
	}
	if (r == TPA_OK && k < limit && rc != SQLITE_DONE)
		r = db_fail(s, st, why, whylen);
	if (r != TPA_OK) {
		for (size_t i = 0; clear && i < k; i++)
			clear(tmp + i * elem);
		free(tmp);
		return r;
	}
	release(st);
	if (k)
		memcpy(out, tmp, k * elem);
	free(tmp);
	*n = k;
	return TPA_OK;
}

static int row_machine_any(store *s, sqlite3_stmt *st, void *elem, char *why, size_t whylen)
{
	return row_machine(s, st, elem, 1, why, whylen);
}

static void clear_machine_any(void *m)
{
	store_machine_clear(m);
}

static int sq_machine_list(store *s, const char *after_id, size_t limit, store_machine *out,
                           size_t *n, char *why, size_t whylen)
{
	if (!s || !after_id || !n || (limit && !out))
		return sto_bad_arg("no store or output", why, whylen);
	if (strnlen(after_id, STORE_ID_HEX) >= STORE_ID_HEX)
		return sto_bad_arg("after_id is longer than a machine id", why, whylen);
	return read_rows(s, q(s, ST_MACHINE_LIST, "TI", after_id, limit64(limit)), limit,
	                 sizeof(*out), row_machine_any, clear_machine_any, out, n, why, whylen);
}

static int sq_machine_delete(store *s, const char *id, char *why, size_t whylen)
{
	int r;

	if (!s)
		return sto_bad_arg("no store", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	/* verdicts stay, and so do its consumed nonces: enrolled again (the
	 * same EK, the same id), it must not be able to replay them */
	r = run(s, q(s, ST_MACHINE_DELETE, "T", id), why, whylen);
	if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
		sto_setwhy(why, whylen, "no machine %s", id);
		r = TPA_E_NOT_FOUND;
	}
	return tx_end(s, r, why, whylen);
}

static int sq_machine_set_policy(store *s, const char *id, const char *policy, char *why,
                                 size_t whylen)
{
	int64_t have;
	int r;

	if (!s || !policy)
		return sto_bad_arg("no store or policy", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (*policy && !sto_policy_name_ok(policy))
		return sto_bad_arg("a policy name is 1..64 of [A-Za-z0-9._-]", why, whylen);
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	if (*policy) {
		r = one_int(s, q(s, ST_POLICY_EXISTS, "T", policy), &have, why, whylen);
		if (r == TPA_OK && !have) {
			sto_setwhy(why, whylen, "no policy %s", policy);
			r = TPA_E_NOT_FOUND;
		}
	}
	if (r == TPA_OK)
		r = run(s, q(s, ST_MACHINE_SET_POLICY, "TT", id, *policy ? policy : NULL), why,
		        whylen);
	if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
		sto_setwhy(why, whylen, "no machine %s", id);
		r = TPA_E_NOT_FOUND;
	}
	return tx_end(s, r, why, whylen);
}

static int sq_eventlog_get(store *s, const char *id, const uint8_t sha256[32], uint8_t **log,
                           size_t *len, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	const void *b;
	uint8_t *p;
	size_t n;
	int r;

	if (!s || !sha256 || !log || !len)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	st = q(s, ST_EVENTLOG_GET, "TB", id, (const void *)sha256, (size_t)32);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no event log with that SHA-256 held for machine %s", id);
	if (r != TPA_OK)
		return r;
	b = sqlite3_column_blob(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (!b && n)
		return nomem(s, st, why, whylen);
	p = malloc(n ? n : 1);
	if (!p)
		return nomem(s, st, why, whylen);
	if (n)
		memcpy(p, b, n);
	release(st);
	*log = p;
	*len = n;
	return TPA_OK;
}

/* ---- enrollment ---- */

/* Whether id or name is taken (TPA_E_MISMATCH with the why store.h
 * promises), inside the caller's transaction. */
static int enrollable(store *s, const char *id, const char *name, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	int64_t have;
	int r;

	r = one_int(s, q(s, ST_MACHINE_EXISTS, "T", id), &have, why, whylen);
	if (r != TPA_OK)
		return r;
	if (have) {
		sto_setwhy(why, whylen, "already enrolled: machine %s", id);
		return TPA_E_MISMATCH;
	}
	if (!name)
		return TPA_OK;
	st = q(s, ST_NAME_OWNER, "T", name);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		return TPA_OK;
	if (r != TPA_OK)
		return r;
	/* Neither the name (any bytes) nor its owner's id goes into why: the
	 * answer reaches unauthenticated callers, who must not learn which
	 * machine holds a name. */
	sto_setwhy(why, whylen, "name taken by another machine");
	release(st);
	return TPA_E_MISMATCH;
}

static int sq_pending_put(store *s, const store_pending *p, char *why, size_t whylen)
{
	const char *name;
	int64_t count = 0;
	int r;

	if (!s || !p || !p->pending_json)
		return sto_bad_arg("no store or pending challenge", why, whylen);
	if (!sto_id_ok(p->machine_id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (p->has_name && !sto_name_ok(p->name))
		return sto_bad_arg("a machine name is 1..256 bytes", why, whylen);
	name = p->has_name ? p->name : NULL;
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	/* the one place the store reads the clock: store_pending_put has no
	 * now, and an expired challenge is refused by its taker anyway */
	r = run(s, q(s, ST_PENDING_EXPIRE, "I", (int64_t)time(NULL)), why, whylen);
	if (r == TPA_OK)
		r = enrollable(s, p->machine_id, name, why, whylen);
	/* Anyone can replay a real machine's (public) request: bounded per
	 * EK, oldest dropped, and overall. */
	if (r == TPA_OK)
		r = one_int(s, q(s, ST_PENDING_COUNT_MACHINE, "T", p->machine_id), &count, why,
		            whylen);
	if (r == TPA_OK && count >= STORE_PENDING_PER_MACHINE)
		r = run(s,
		        q(s, ST_PENDING_EVICT, "TI", p->machine_id,
		          count - (int64_t)STORE_PENDING_PER_MACHINE + 1),
		        why, whylen);
	if (r == TPA_OK)
		r = one_int(s, q(s, ST_PENDING_COUNT, ""), &count, why, whylen);
	if (r == TPA_OK && count >= STORE_PENDING_MAX) {
		sto_setwhy(why, whylen, "%lld enrollments pending, the most there may be",
		           (long long)count);
		r = TPA_E_LIMIT;
	}
	if (r == TPA_OK)
		r = run(s,
		        q(s, ST_PENDING_INSERT, "BTTIT", (const void *)p->id,
		          (size_t)STORE_CHALLENGE_ID_LEN, p->machine_id, name, p->expires,
		          p->pending_json),
		        why, whylen);
	return tx_end(s, r, why, whylen);
}

static int sq_pending_take(store *s, const uint8_t id[STORE_CHALLENGE_ID_LEN], store_pending *out,
                           char *why, size_t whylen)
{
	sqlite3_stmt *st;
	store_pending p;
	int r;

	if (!s || !id || !out)
		return sto_bad_arg("no store, challenge id or output", why, whylen);
	memset(&p, 0, sizeof(p));
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	st = q(s, ST_PENDING_TAKE, "B", (const void *)id, (size_t)STORE_CHALLENGE_ID_LEN);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no such pending challenge");
	if (r == TPA_OK) {
		memcpy(p.id, id, STORE_CHALLENGE_ID_LEN);
		p.expires = sqlite3_column_int64(st, 2);
		p.has_name = sqlite3_column_type(st, 1) != SQLITE_NULL;
		if (!col_copy(st, 0, p.machine_id, sizeof(p.machine_id)) ||
		    !col_copy(st, 1, p.name, sizeof(p.name)))
			r = corrupt(s, st, "a pending challenge", why, whylen);
	}
	if (r == TPA_OK) {
		r = col_dup(st, 3, &p.pending_json);
		if (r == TPA_OK && !p.pending_json)
			r = TPA_E_IO;
		if (r == TPA_E_NOMEM)
			r = nomem(s, st, why, whylen);
		else if (r != TPA_OK)
			r = corrupt(s, st, "a pending challenge", why, whylen);
	}
	if (r == TPA_OK) {
		/* RETURNING: the delete completes when the statement is stepped to
		 * its end, before the commit */
		r = run(s, st, why, whylen);
	}
	r = tx_end(s, r, why, whylen);
	if (r != TPA_OK) {
		store_pending_clear(&p);
		return r;
	}
	*out = p;
	return TPA_OK;
}

static int sq_machine_add(store *s, const char *id, const char *name, int64_t enrolled_at,
                          const char *record_json, char *why, size_t whylen)
{
	int r;

	if (!s || !record_json)
		return sto_bad_arg("no store or record", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (name && !sto_name_ok(name))
		return sto_bad_arg("a machine name is 1..256 bytes", why, whylen);
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	r = enrollable(s, id, name, why, whylen);
	if (r == TPA_OK)
		r = run(s, q(s, ST_MACHINE_INSERT, "TTIT", id, name, enrolled_at, record_json), why,
		        whylen);
	return tx_end(s, r, why, whylen);
}

/* ---- nonces ---- */

static int sq_nonce_key(store *s, uint8_t key[STORE_NONCE_KEY_LEN], char *why, size_t whylen)
{
	sqlite3_stmt *st;
	const void *b;
	int r;

	if (!s || !key)
		return sto_bad_arg("no store or output", why, whylen);
	st = q(s, ST_KEY_GET, "");
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "the store holds no nonce key");
		return TPA_E_MISMATCH;
	}
	if (r != TPA_OK)
		return r;
	b = sqlite3_column_blob(st, 0);
	if (sqlite3_column_bytes(st, 0) != STORE_NONCE_KEY_LEN || !b) {
		/* the length only: the bytes are secret */
		sto_setwhy(why, whylen, "the store's nonce key is %d bytes, not %d",
		           sqlite3_column_bytes(st, 0), STORE_NONCE_KEY_LEN);
		release(st);
		return TPA_E_MISMATCH;
	}
	memcpy(key, b, STORE_NONCE_KEY_LEN);
	release(st);
	return TPA_OK;
}

static int sq_nonce_used(store *s, const uint8_t nonce[STORE_NONCE_LEN], char *why, size_t whylen)
{
	int64_t have;
	int r;

	if (!s || !nonce)
		return sto_bad_arg("no store or nonce", why, whylen);
	r = one_int(s, q(s, ST_NONCE_USED, "B", (const void *)nonce, (size_t)STORE_NONCE_LEN),
	            &have, why, whylen);
	if (r == TPA_OK && have) {
		sto_setwhy(why, whylen, "the nonce was consumed already");
		r = TPA_E_MISMATCH;
	}
	return r;
}

/* ---- counter authorizations ---- */

static int sq_counter_auth_issue(store *s, const char *id,
                                 const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                                 int64_t *auths_before, char **state_json, char *why, size_t whylen)
{
	const size_t elen = STORE_ENROLLMENT_ID_LEN;
	sqlite3_stmt *st;
	int64_t before = 0, same = 0;
	char *state = NULL;
	int r;

	if (!s)
		return sto_bad_arg("no store", why, whylen);
	r = sto_counter_auth_ok(id, enrollment, auths_before, state_json, why, whylen);
	if (r != TPA_OK)
		return r;
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	st = q(s, ST_COUNTER_ISSUE, "TBI", id, (const void *)enrollment, elen,
	       (int64_t)STORE_COUNTER_AUTHS_MAX);
	r = first_row(s, st, why, whylen);
	if (r == TPA_OK) {
		before = sqlite3_column_int64(st, 0);
		r = col_dup(st, 1, &state);
		if (r == TPA_E_NOMEM)
			r = nomem(s, st, why, whylen);
		else if (r != TPA_OK)
			r = corrupt(s, st, "a machine's state", why, whylen);
		else if (before < 0)
			r = corrupt(s, st, "a machine's count of counter authorizations", why,
			            whylen);
	}
	/* RETURNING: the update completes when the statement is stepped to its
	 * end, before the commit */
	if (r == TPA_OK)
		r = run(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND) {
		/* in the same transaction: only why it changed no row */
		st = q(s, ST_COUNTER_WHY, "TB", id, (const void *)enrollment, elen);
		r = first_row(s, st, why, whylen);
		if (r == TPA_E_NOT_FOUND)
			sto_setwhy(why, whylen, "no machine %s", id);
		if (r == TPA_OK) {
			same = sqlite3_column_int64(st, 0);
			release(st);
			if (same) {
				sto_setwhy(why, whylen,
				           "machine %s has %lld counter authorizations, the most "
				           "there may be",
				           id, (long long)STORE_COUNTER_AUTHS_MAX);
				r = TPA_E_LIMIT;
			} else {
				sto_setwhy(why, whylen,
				           "machine %s was deleted and enrolled again since it was "
				           "read",
				           id);
				r = TPA_E_NOT_FOUND;
			}
		}
	}
	r = tx_end(s, r, why, whylen);
	if (r != TPA_OK) {
		free(state);
		return r;
	}
	*auths_before = before;
	*state_json = state;
	return TPA_OK;
}

static int sq_counter_key(store *s, char **pem, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	char *p;
	int n, r;

	if (!s || !pem)
		return sto_bad_arg("no store or output", why, whylen);
	st = q(s, ST_COUNTER_KEY_GET, "");
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "the store holds no counter-authorization key");
		return TPA_E_MISMATCH;
	}
	if (r != TPA_OK)
		return r;
	t = sqlite3_column_text(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if (!t)
		return nomem(s, st, why, whylen);
	/* STRICT TEXT NOT NULL: a string, maybe with a NUL put there from
	 * outside; not a PEM then (and never quoted: it is secret) */
	if (n < 1 || memchr(t, '\0', (size_t)n))
		return corrupt(s, st, "the counter-authorization key", why, whylen);
	p = malloc((size_t)n + 1);
	if (!p)
		return nomem(s, st, why, whylen);
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	release(st);
	*pem = p;
	return TPA_OK;
}

/* ---- attestations ---- */

/* One attestation inside the caller's transaction (and savepoint): TPA_OK
 * and *seq, TPA_E_NOT_FOUND or TPA_E_MISMATCH with nothing to keep, or a
 * failure of the store. */
static int attest_one(store *s, const store_attestation *a, int64_t *seq, char *why, size_t whylen)
{
	const void *e = a->enrollment;
	const size_t elen = STORE_ENROLLMENT_ID_LEN;
	const int64_t reset = a->counter_auths_used;
	int64_t cur = 0, n = 0;
	int r;
	/* For the reason only: the updates below are conditional themselves. */
	sqlite3_stmt *st = q(s, ST_MACHINE_CURRENT, "TBI", a->machine_id, e, elen, a->expect_gen);

	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s", a->machine_id);
	if (r == TPA_OK) {
		cur = sqlite3_column_int64(st, 0);
		release(st);
		if (cur == 0)
			sto_setwhy(
			        why, whylen,
			        "machine %s was deleted and enrolled again since it was verified",
			        a->machine_id);
		else if (cur == 1)
			sto_setwhy(why, whylen,
			           "the state of machine %s or the policy that rules it moved past "
			           "generation %lld meanwhile",
			           a->machine_id, (long long)a->expect_gen);
		if (cur != 2)
			r = TPA_E_MISMATCH;
	}
	/* The caller refuses expired nonces; one that slipped through would be
	 * dropped by the next commit and could then be consumed again. */
	if (r == TPA_OK && a->nonce_expires < a->now) {
		sto_setwhy(why, whylen, "the nonce for machine %s expired before now",
		           a->machine_id);
		r = TPA_E_MISMATCH;
	}
	if (r == TPA_OK)
		r = run(s,
		        q(s, ST_NONCE_CONSUME, "BTI", (const void *)a->nonce,
		          (size_t)STORE_NONCE_LEN, a->machine_id, a->nonce_expires),
		        why, whylen);
	if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
		sto_setwhy(why, whylen, "the nonce for machine %s was consumed already",
		           a->machine_id);
		r = TPA_E_MISMATCH;
	}
	if (r == TPA_OK && a->record) {
		r = run(s,
		        q(s, ST_VERDICT_INSERT, "TITTT", a->machine_id, a->now, a->verdict,
		          a->error, a->result_json),
		        why, whylen);
		n = sqlite3_last_insert_rowid(SQ(s)->db);
		/* the last verdict and the next state in one row update (the
		 * state conditional on the generation, as below) */
		if (r == TPA_OK && a->next_state_json) {
			r = run(s,
			        q(s, ST_MACHINE_SET_LAST_STATE, "TTTIITIBI", a->machine_id,
			          a->verdict, a->error, a->now, n, a->next_state_json,
			          a->expect_gen, e, elen, reset),
			        why, whylen);
			if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
				sto_setwhy(why, whylen,
				           "the state of machine %s moved past generation %lld "
				           "meanwhile",
				           a->machine_id, (long long)a->expect_gen);
				r = TPA_E_MISMATCH;
			}
		} else if (r == TPA_OK) {
			r = run(s,
			        q(s, ST_MACHINE_SET_LAST, "TTTIIIBI", a->machine_id, a->verdict,
			          a->error, a->now, n, a->expect_gen, e, elen, reset),
			        why, whylen);
			if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
				sto_setwhy(why, whylen,
				           "machine %s moved past generation %lld meanwhile",
				           a->machine_id, (long long)a->expect_gen);
				r = TPA_E_MISMATCH;
			}
		}
	}
	/* conditional on the generation the caller verified against: of two
	 * racing attestations, the second finds it moved */
	if (r == TPA_OK && a->next_state_json && !a->record) {
		r = run(s,
		        q(s, ST_MACHINE_SET_STATE, "TTIBI", a->machine_id, a->next_state_json,
		          a->expect_gen, e, elen, reset),
		        why, whylen);
		if (r == TPA_OK && sqlite3_changes(SQ(s)->db) != 1) {
			sto_setwhy(why, whylen,
			           "the state of machine %s moved past generation %lld meanwhile",
			           a->machine_id, (long long)a->expect_gen);
			r = TPA_E_MISMATCH;
		}
	}
	if (r == TPA_OK && a->eventlog)
		r = run(s,
		        q(s, ST_EVENTLOG_PUT, "TB", a->machine_id, (const void *)a->eventlog,
		          a->eventlog_len),
		        why, whylen);
	if (r == TPA_OK && a->eventlog)
		r = run(s,
		        q(s, ST_MACHINE_SET_EVENTLOG, "TB", a->machine_id,
		          (const void *)a->eventlog_sha256, (size_t)32),
		        why, whylen);
	if (r == TPA_OK)
		*seq = n;
	return r;
}

/* An outcome that belongs to the one attestation (its savepoint is rolled
 * back, the batch goes on); anything else is the store failing, and the
 * whole batch goes. */
static int item_outcome(int r)
{
	return r == TPA_OK || r == TPA_E_NOT_FOUND || r == TPA_E_MISMATCH || r == TPA_E_INVALID_ARG;
}

static int sq_attest_commit_many(store *s, const store_attestation *a, size_t n, int *res,
                                 int64_t *seq, char *why, size_t whylen)
{
	int out[STORE_BATCH_MAX];
	int64_t rows[STORE_BATCH_MAX], oldest = INT64_MAX;
	size_t i, valid = 0;
	int r, told = 0;

	if (!s || !a || !res)
		return sto_bad_arg("no store, attestations or results", why, whylen);
	if (n < 1 || n > STORE_BATCH_MAX) {
		sto_setwhy(why, whylen, "a batch is 1..%d attestations", STORE_BATCH_MAX);
		return TPA_E_INVALID_ARG;
	}
	/* why tells of the first attestation that fails */
	for (i = 0; i < n; i++) {
		rows[i] = 0;
		out[i] = sto_attestation_ok(&a[i], told ? NULL : why, whylen);
		if (out[i] != TPA_OK) {
			told = 1;
			continue;
		}
		valid++;
		if (a[i].now < oldest)
			oldest = a[i].now;
	}
	if (!valid)
		goto done;
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		goto fail;
	/* at the earliest now of the batch (a later one would drop a nonce
	 * an earlier attestation still counts as good, and could be replayed),
	 * less the grace another server's clock may be behind ours */
	r = run(s, q(s, ST_NONCE_EXPIRE, "I", oldest - STORE_NONCE_GRACE), why, whylen);
	for (i = 0; r == TPA_OK && i < n; i++) {
		char iwhy[512] = "";
		int k;

		if (out[i] != TPA_OK)
			continue;
		r = run(s, q(s, ST_SAVEPOINT, ""), why, whylen);
		if (r != TPA_OK)
			break;
		k = attest_one(s, &a[i], &rows[i], iwhy, sizeof(iwhy));
		if (!item_outcome(k) || (k != TPA_OK && !told))
			sto_setwhy(why, whylen, "%s", iwhy);
		if (!item_outcome(k)) {
			r = k;
			break;
		}
		out[i] = k;
		if (k != TPA_OK) {
			told = 1;
			r = run(s, q(s, ST_ROLLBACK_TO, ""), why, whylen);
		}
		if (r == TPA_OK)
			r = run(s, q(s, ST_RELEASE, ""), why, whylen);
	}
	r = tx_end(s, r, why, whylen);
	if (r != TPA_OK)
		goto fail;
done:
	for (i = 0; i < n; i++) {
		res[i] = out[i];
		if (out[i] == TPA_OK && a[i].record && seq)
			seq[i] = rows[i];
	}
	return TPA_OK;
fail:
	for (i = 0; i < n; i++)
		res[i] = r;
	return r;
}

static int row_verdict(store *s, sqlite3_stmt *st, void *elem, char *why, size_t whylen)
{
	store_verdict *v = elem;
	int r;

	v->seq = sqlite3_column_int64(st, 0);
	v->at = sqlite3_column_int64(st, 1);
	if (!col_copy(st, 2, v->verdict, sizeof(v->verdict)) ||
	    !col_copy(st, 3, v->error, sizeof(v->error)))
		return corrupt(s, st, "a verdict", why, whylen);
	r = col_dup(st, 4, &v->result_json);
	if (r == TPA_OK && !v->result_json)
		r = TPA_E_IO;
	if (r == TPA_E_NOMEM)
		return nomem(s, st, why, whylen);
	if (r != TPA_OK)
		return corrupt(s, st, "a verdict", why, whylen);
	return TPA_OK;
}

static void clear_verdict_any(void *v)
{
	store_verdict_clear(v);
}

static int sq_history(store *s, const char *id, int64_t before, size_t limit, store_verdict *out,
                      size_t *n, char *why, size_t whylen)
{
	if (!s || !n || (limit && !out))
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (before < 0)
		return sto_bad_arg("before is a sequence number, or 0", why, whylen);
	return read_rows(s,
	                 q(s, ST_HISTORY, "TII", id, before ? before : INT64_MAX, limit64(limit)),
	                 limit, sizeof(*out), row_verdict, clear_verdict_any, out, n, why, whylen);
}

/* ---- policies ---- */

static int sq_policy_put(store *s, const char *name, const char *doc, int64_t now, char *why,
                         size_t whylen)
{
	int r;

	if (!s || !doc)
		return sto_bad_arg("no store or document", why, whylen);
	if (!sto_policy_name_ok(name))
		return sto_bad_arg("a policy name is 1..64 of [A-Za-z0-9._-]", why, whylen);
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	r = run(s, q(s, ST_POLICY_PUT, "TTI", name, doc, now), why, whylen);
	if (r == TPA_OK)
		r = run(s, q(s, ST_POLICY_BUMP, "T", name), why, whylen);
	return tx_end(s, r, why, whylen);
}

static int sq_policy_get(store *s, const char *name, char **doc, int64_t *updated, char *why,
                         size_t whylen)
{
	sqlite3_stmt *st;
	char *d;
	int r;

	if (!s || !doc)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_policy_name_ok(name))
		return sto_bad_arg("a policy name is 1..64 of [A-Za-z0-9._-]", why, whylen);
	st = q(s, ST_POLICY_GET, "T", name);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no policy %s", name);
	if (r != TPA_OK)
		return r;
	r = col_dup(st, 0, &d);
	if (r == TPA_OK && !d)
		r = TPA_E_IO;
	if (r == TPA_E_NOMEM)
		return nomem(s, st, why, whylen);
	if (r != TPA_OK)
		return corrupt(s, st, "a policy", why, whylen);
	if (updated)
		*updated = sqlite3_column_int64(st, 1);
	release(st);
	*doc = d;
	return TPA_OK;
}

struct policy_row {
	char name[STORE_POLICY_NAME_MAX];
	int64_t updated;
};

static int row_policy(store *s, sqlite3_stmt *st, void *elem, char *why, size_t whylen)
{
	struct policy_row *p = elem;
	if (!col_copy(st, 0, p->name, sizeof(p->name)))
		return corrupt(s, st, "a policy name", why, whylen);
	p->updated = sqlite3_column_int64(st, 1);
	return TPA_OK;
}

static int sq_policy_list(store *s, char (*names)[STORE_POLICY_NAME_MAX], int64_t *updated,
                          size_t limit, size_t *n, char *why, size_t whylen)
{
	struct policy_row *rows;
	size_t k = 0;
	int r;

	if (!s || !n || (limit && !names))
		return sto_bad_arg("no store or output", why, whylen);
	if (limit && !(rows = calloc(limit, sizeof(*rows))))
		return nomem(s, NULL, why, whylen);
	if (!limit)
		rows = NULL;
	r = read_rows(s, q(s, ST_POLICY_LIST, "I", limit64(limit)), limit, sizeof(*rows),
	              row_policy, NULL, rows, &k, why, whylen);
	if (r == TPA_OK) {
		for (size_t i = 0; i < k; i++) {
			memcpy(names[i], rows[i].name, sizeof(names[i]));
			if (updated)
				updated[i] = rows[i].updated;
		}
		*n = k;
	}
	free(rows);
	return r;
}

static int sq_stats_get(store *s, int64_t now, store_stats *out, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	int r;

	if (!s || !out)
		return sto_bad_arg("no store or output", why, whylen);
	st = q(s, ST_STATS, "I", now);
	r = first_row(s, st, why, whylen);
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "sqlite: no row of counts");
		r = TPA_E_IO;
	}
	if (r != TPA_OK)
		return r;
	out->machines = sqlite3_column_int64(st, 0);
	out->nonces = sqlite3_column_int64(st, 1);
	out->pending = sqlite3_column_int64(st, 2);
	release(st);
	return TPA_OK;
}

const struct store_ops store_sqlite_ops = {
        .open = sq_open,
        .close = sq_close,
        .ping = sq_ping,
        .schema_version = sq_schema_version,
        .machine_get = sq_machine_get,
        .machine_get_light = sq_machine_get_light,
        .machine_record = sq_machine_record,
        .machine_list = sq_machine_list,
        .machine_delete = sq_machine_delete,
        .machine_set_policy = sq_machine_set_policy,
        .eventlog_get = sq_eventlog_get,
        .pending_put = sq_pending_put,
        .pending_take = sq_pending_take,
        .machine_add = sq_machine_add,
        .nonce_key = sq_nonce_key,
        .nonce_used = sq_nonce_used,
        .counter_auth_issue = sq_counter_auth_issue,
        .counter_key = sq_counter_key,
        .attest_commit_many = sq_attest_commit_many,
        .history = sq_history,
        .policy_put = sq_policy_put,
        .policy_get = sq_policy_get,
        .policy_list = sq_policy_list,
        .stats_get = sq_stats_get,
};
