/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The store on PostgreSQL (store.h; README.md in this folder gives the
 * schema, the migrations and the transactions), through libpq only.  It
 * mirrors sqlite.c function by function: the same tables, the same
 * statements, the same transactions.
 *
 * One connection per handle: the server opens a handle per thread (its
 * workers and its committer), which makes the handles the connection pool
 * and its bound.  Every statement is a constant in stmt_sql[], prepared
 * lazily on the connection (again after a reconnect) and executed with
 * binary parameters: no caller string ever becomes SQL text.  Every
 * function that writes runs BEGIN ... COMMIT (ROLLBACK on any error);
 * every function that only reads is a single SELECT, atomic on its own.
 * Outputs are filled only after the commit (or the read) succeeded.
 *
 * Isolation is READ COMMITTED: an UPDATE that waited for another
 * transaction's row lock evaluates its WHERE again on the row as that
 * transaction left it, so the conditional updates of an attestation (id,
 * enrollment and state_gen) cannot both succeed for two racing writers.
 * The one place a count decides (store_pending_put's caps) takes an
 * advisory lock first.
 *
 * A lost connection fails the call with TPA_E_IO ("the database is
 * unreachable"); the next call tries PQreset once, bounded by the URL's
 * connect_timeout (5 s when it gives none).  A write is never retried here:
 * its caller decides.  A statement timeout bounds every wait on a lock.
 */
#include <endian.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include <tpmattest/enroll.h>

#include "store.h"
#include "store_impl.h"

#define PG(s) ((struct pg *)(s))

/* The type oids of the parameters and columns we use (pg_type.dat: fixed
 * since PostgreSQL 7; libpq installs no header for them). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

/* The oldest server with everything the schema uses (identity columns,
 * EXECUTE FUNCTION in CREATE TRIGGER). */
#define SERVER_VERSION_MIN 110000

/* Advisory lock keys, one per purpose ("tpa-migr", "tpa-pend" in ASCII),
 * held to the end of the transaction that takes them. */
#define LOCK_MIGRATE ((int64_t)0x7470612d6d696772)
#define LOCK_PENDING ((int64_t)0x7470612d70656e64)

/* Set on every connection: the longest a statement may run or wait for a
 * lock, so a row held by a stuck writer cannot hang a worker; durability
 * at every commit even when the server's default says otherwise. */
#define SESSION_SQL                                                  \
	"SET statement_timeout = '5s'; SET synchronous_commit = on;" \
	" SET client_encoding = 'UTF8'; SET bytea_output = 'hex';"   \
	" SET default_transaction_isolation = 'read committed'"

#define MAX_PARAMS 9

/* Constant text, run as one simple query: the statements of the
 * transactions, the steps of the schema. */
#define SQL_BEGIN "BEGIN ISOLATION LEVEL READ COMMITTED"
#define SQL_SAVEPOINT "SAVEPOINT item"
#define SQL_RELEASE "RELEASE SAVEPOINT item"
#define SQL_ROLLBACK_TO "ROLLBACK TO SAVEPOINT item"

static int put_nonce_key(store *s, char *why, size_t whylen);
static int put_counter_key(store *s, char *why, size_t whylen);

/*
 * The schema, one step per entry: from version `from` to `to`, in one
 * transaction.  A step is never edited once released; changes are new
 * steps.  A fresh database goes to version 2 at once: no PostgreSQL store
 * of version 1 was ever released, so the 0 -> 1 -> 2 history of sqlite.c
 * has no counterpart here.  From 2 on, the steps are sqlite.c's.
 *
 * Translated from sqlite.c: BLOB is BYTEA, INTEGER is BIGINT, AUTOINCREMENT
 * and rowid are identity columns, the append-only triggers raise from
 * PL/pgSQL.  Text keys are COLLATE "C" so that they compare and order by
 * bytes as SQLite's do (store_machine_list pages, store_policy_list).  A
 * machine's name is BYTEA: store.h allows any bytes but NUL, which a TEXT
 * column of a UTF8 database would refuse.
 */
static const struct migration {
	int64_t from, to;
	const char *sql;
	/* then what SQL text must not do: values made here, bound */
	int (*then)(store *s, char *why, size_t whylen);
} migrations[] = {
        {0, 2,
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
         " FOR EACH STATEMENT EXECUTE FUNCTION verdicts_append_only();",
         put_nonce_key},
        /* the verifier authorizes each increment of a machine's TPM counter
         * (<tpmattest/counterauth.h>) and counts those it issued since the
         * last accepted state; its signing key is the store's, like the
         * nonce key, so every server on the database signs with the same
         * one.  The PEM is made in C and bound.  A fresh database takes
         * this step after 0 -> 2, in a transaction of its own under the
         * same lock. */
        {2, 3,
         "ALTER TABLE machines ADD COLUMN counter_auths BIGINT NOT NULL DEFAULT 0;"
         "CREATE TABLE counter_key ("
         " one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),"
         " pem TEXT NOT NULL"
         ");",
         put_counter_key},
};

#define MACHINE_COLS_AROUND(record)                                                        \
	"id, name, enrolled_at, " record ", policy, state_json, state_gen, last_verdict, " \
	"last_error, last_at, last_seq, eventlog_sha256, enrollment, counter_auths"
#define MACHINE_COLS MACHINE_COLS_AROUND("record_json")

enum stmt_id {
	ST_LOCK,
	ST_VERSION_EXISTS,
	ST_VERSION,
	ST_VERSION_SET,
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
        [ST_LOCK] = "SELECT pg_advisory_xact_lock($1)",
        [ST_VERSION_EXISTS] = "SELECT to_regclass('schema_version') IS NOT NULL",
        [ST_VERSION] = "SELECT version FROM schema_version",
        [ST_VERSION_SET] = "INSERT INTO schema_version (one, version) VALUES (TRUE, $1)"
                           " ON CONFLICT (one) DO UPDATE SET version = excluded.version",
        [ST_PING] = "SELECT 1 FROM machines LIMIT 1",
        [ST_MACHINE_EXISTS] = "SELECT 1 FROM machines WHERE id = $1",
        /* 2 when the enrollment and generation are still the ones the
         * caller verified against, 1 when only the enrollment is, 0 when
         * the machine was enrolled again, no row when it is gone */
        [ST_MACHINE_CURRENT] =
                "SELECT (enrollment = $2)::int + (enrollment = $2 AND state_gen = $3)::int"
                " FROM machines WHERE id = $1",
        [ST_NAME_OWNER] = "SELECT id FROM machines WHERE name = $1",
        [ST_MACHINE_GET] = "SELECT " MACHINE_COLS " FROM machines WHERE id = $1",
        [ST_MACHINE_GET_LIGHT] =
                "SELECT " MACHINE_COLS_AROUND("NULL") " FROM machines WHERE id = $1",
        [ST_MACHINE_RECORD] = "SELECT record_json FROM machines WHERE id = $1 AND enrollment = $2",
        [ST_MACHINE_LIST] =
                "SELECT " MACHINE_COLS " FROM machines WHERE id > $1 ORDER BY id LIMIT $2",
        [ST_MACHINE_INSERT] = "INSERT INTO machines (id, name, enrolled_at, record_json,"
                              " enrollment) VALUES ($1, $2, $3, $4, $5)",
        [ST_MACHINE_DELETE] = "DELETE FROM machines WHERE id = $1",
        /* the policy that rules a machine moves its generation: an
         * attestation judged by the one before is not committed */
        [ST_MACHINE_SET_POLICY] =
                "UPDATE machines SET policy = $2, state_gen = state_gen + 1 WHERE id = $1",
        /* the updates of an attestation, each conditional on the
         * enrollment and generation it was verified against; the last
         * parameter (counter_auths_used) is taken off the count in the same
         * row update, so only when the update takes effect */
        [ST_MACHINE_SET_LAST] = "UPDATE machines SET last_verdict = $2, last_error = $3,"
                                " last_at = $4, last_seq = $5,"
                                " counter_auths = GREATEST(counter_auths - $8, 0)"
                                " WHERE id = $1 AND state_gen = $6 AND enrollment = $7",
        [ST_MACHINE_SET_STATE] = "UPDATE machines SET state_json = $2, state_gen = state_gen + 1,"
                                 " counter_auths = GREATEST(counter_auths - $5, 0)"
                                 " WHERE id = $1 AND state_gen = $3 AND enrollment = $4",
        [ST_MACHINE_SET_LAST_STATE] =
                "UPDATE machines SET last_verdict = $2, last_error = $3, last_at = $4,"
                " last_seq = $5, state_json = $6, state_gen = state_gen + 1,"
                " counter_auths = GREATEST(counter_auths - $9, 0)"
                " WHERE id = $1 AND state_gen = $7 AND enrollment = $8",
        [ST_MACHINE_SET_EVENTLOG] = "UPDATE machines SET eventlog_sha256 = $2 WHERE id = $1",
        [ST_EVENTLOG_PUT] = "INSERT INTO eventlogs (machine_id, data) VALUES ($1, $2)"
                            " ON CONFLICT (machine_id) DO UPDATE SET data = excluded.data",
        [ST_EVENTLOG_GET] = "SELECT e.data FROM eventlogs e JOIN machines m ON m.id = e.machine_id"
                            " WHERE m.id = $1 AND m.eventlog_sha256 = $2",
        /* FOR SHARE: an assignment waits for a PUT of the policy under way
         * (pg_machine_set_policy) */
        [ST_POLICY_EXISTS] = "SELECT 1 FROM policies WHERE name = $1 FOR SHARE",
        [ST_POLICY_PUT] = "INSERT INTO policies (name, doc, updated) VALUES ($1, $2, $3)"
                          " ON CONFLICT (name) DO UPDATE SET doc = excluded.doc,"
                          " updated = excluded.updated",
        /* a document replaced moves the generation of every machine it
         * rules (as ST_MACHINE_SET_POLICY does) */
        [ST_POLICY_BUMP] = "UPDATE machines SET state_gen = state_gen + 1 WHERE policy = $1",
        [ST_POLICY_GET] = "SELECT doc, updated FROM policies WHERE name = $1",
        [ST_POLICY_LIST] = "SELECT name, updated FROM policies ORDER BY name LIMIT $1",
        [ST_PENDING_EXPIRE] = "DELETE FROM pending WHERE expires < $1",
        [ST_PENDING_COUNT_MACHINE] = "SELECT count(*) FROM pending WHERE machine_id = $1",
        [ST_PENDING_EVICT] = "DELETE FROM pending WHERE ord IN (SELECT ord FROM pending"
                             " WHERE machine_id = $1 ORDER BY ord LIMIT $2)",
        [ST_PENDING_COUNT] = "SELECT count(*) FROM pending",
        [ST_PENDING_INSERT] = "INSERT INTO pending (id, machine_id, name, expires, pending_json)"
                              " VALUES ($1, $2, $3, $4, $5)",
        [ST_PENDING_TAKE] = "DELETE FROM pending WHERE id = $1"
                            " RETURNING machine_id, name, expires, pending_json",
        [ST_KEY_PUT] = "INSERT INTO settings (name, value) VALUES ('nonce_key', $1)",
        [ST_KEY_GET] = "SELECT value FROM settings WHERE name = 'nonce_key'",
        /* rows another commit is dropping at the same time are left to it
         * (or to the next commit, if it rolls back): a nonce kept longer
         * is safe, and two batches never wait on each other here */
        [ST_NONCE_EXPIRE] = "DELETE FROM consumed_nonces WHERE nonce IN (SELECT nonce FROM"
                            " consumed_nonces WHERE expires < $1 FOR UPDATE SKIP LOCKED)",
        [ST_NONCE_USED] = "SELECT 1 FROM consumed_nonces WHERE nonce = $1",
        /* a nonce there already changes no row; one another transaction
         * is inserting makes this wait for it, then change no row (or
         * insert, if that one rolled back) */
        [ST_NONCE_CONSUME] = "INSERT INTO consumed_nonces (nonce, machine_id, expires)"
                             " VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING",
        /* one statement: the count and the state it returns are the ones
         * this very update saw (RETURNING gives the row as updated).  Two
         * at once on one machine: the second waits for the first's row
         * lock, then adds to the count the first committed (READ
         * COMMITTED evaluates the update again on that row). */
        [ST_COUNTER_ISSUE] = "UPDATE machines SET counter_auths = counter_auths + 1"
                             " WHERE id = $1 AND enrollment = $2 AND counter_auths < $3"
                             " RETURNING counter_auths - 1, state_json",
        /* why ST_COUNTER_ISSUE changed no row: no row here, the machine is
         * gone; false, enrolled again; true, the count is at its bound */
        [ST_COUNTER_WHY] = "SELECT enrollment = $2 FROM machines WHERE id = $1",
        [ST_COUNTER_KEY_PUT] = "INSERT INTO counter_key (one, pem) VALUES (TRUE, $1)",
        [ST_COUNTER_KEY_GET] = "SELECT pem FROM counter_key WHERE one",
        [ST_VERDICT_INSERT] = "INSERT INTO verdicts (machine_id, at, verdict, error, result_json)"
                              " VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        [ST_HISTORY] = "SELECT seq, at, verdict, error, result_json FROM verdicts"
                       " WHERE machine_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        [ST_STATS] = "SELECT (SELECT count(*) FROM machines),"
                     " (SELECT count(*) FROM consumed_nonces WHERE expires >= $1),"
                     " (SELECT count(*) FROM pending)",
};

struct pg {
	struct store base; /* first: the handle store.c dispatches on */
	PGconn *conn;
	/* which statements this connection has prepared (cleared by a reset) */
	unsigned char prepared[ST_COUNT];
	/* inside our BEGIN: no reconnect until it ends */
	int in_tx;
	/* SESSION_SQL ran on this connection (not after a reset until it did) */
	int configured;
	/* of the last statement that failed ("" when it was not the server's
	 * error), for the few errors a caller maps */
	char sqlstate[6];
	char constraint[64];
};

/* libpq's message on one line: whitespace runs (its "\n\t" continuation
 * lines, the trailing newline) become one space. */
static const char *tidy(const char *msg, char *buf, size_t size)
{
	size_t i = 0;
	int space = 0;

	if (!msg)
		msg = "";
	for (; *msg && i + 1 < size; msg++) {
		if (*msg == '\n' || *msg == '\t' || *msg == '\r' || *msg == ' ') {
			space = i > 0;
			continue;
		}
		if (space && i + 2 < size)
			buf[i++] = ' ';
		space = 0;
		buf[i++] = *msg;
	}
	buf[i] = '\0';
	return buf;
}

static int unreachable(store *s, char *why, size_t whylen)
{
	char msg[512];

	sto_setwhy(why, whylen, "postgresql: the database is unreachable: %s",
	           tidy(PQerrorMessage(PG(s)->conn), msg, sizeof(msg)));
	return TPA_E_IO;
}

/*
 * The store failed: TPA_E_IO, res cleared.  why is the server's primary
 * message (never its DETAIL, which quotes the values of a key), or, for a
 * value the server refused (SQLSTATE class 22, whose messages quote the
 * value), only the code.
 */
static int db_fail(store *s, PGresult *res, char *why, size_t whylen)
{
	struct pg *h = PG(s);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[512];

	snprintf(h->sqlstate, sizeof(h->sqlstate), "%s", state ? state : "");
	snprintf(h->constraint, sizeof(h->constraint), "%s", constraint ? constraint : "");
	if (PQstatus(h->conn) != CONNECTION_OK)
		unreachable(s, why, whylen);
	else if (state && strncmp(state, "22", 2) == 0)
		sto_setwhy(why, whylen, "postgresql: a value the database refused (SQLSTATE %s)",
		           state);
	else if (primary)
		sto_setwhy(why, whylen, "postgresql: %s", tidy(primary, msg, sizeof(msg)));
	else
		sto_setwhy(why, whylen, "postgresql: %s",
		           tidy(PQerrorMessage(h->conn), msg, sizeof(msg)));
	PQclear(res);
	return TPA_E_IO;
}

static int corrupt(PGresult *res, const char *what, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "postgresql: %s out of bounds in the database", what);
	PQclear(res);
	return TPA_E_IO;
}

static int nomem(PGresult *res, char *why, size_t whylen)
{
	sto_setwhy(why, whylen, "out of memory reading the store");
	PQclear(res);
	return TPA_E_NOMEM;
}

/* Constant SQL as one simple query (no parameters, no rows wanted). */
static int exec_const(store *s, const char *sql, char *why, size_t whylen)
{
	PGresult *res = PQexec(PG(s)->conn, sql);

	PG(s)->sqlstate[0] = '\0';
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_fail(s, res, why, whylen);
	PQclear(res);
	return TPA_OK;
}

static int session(store *s, char *why, size_t whylen)
{
	int r = exec_const(s, SESSION_SQL, why, whylen);

	PG(s)->configured = r == TPA_OK;
	return r;
}

/* Before the first statement of a call: a connection found bad is reset
 * once (the statements are prepared again as they are used). */
static int ready(store *s, char *why, size_t whylen)
{
	struct pg *h = PG(s);

	if (PQstatus(h->conn) == CONNECTION_OK)
		return h->configured ? TPA_OK : session(s, why, whylen);
	PQreset(h->conn);
	memset(h->prepared, 0, sizeof(h->prepared));
	h->configured = 0;
	if (PQstatus(h->conn) != CONNECTION_OK)
		return unreachable(s, why, whylen);
	return session(s, why, whylen);
}

/*
 * Runs statement id, prepared on first use, with parameters from types: 'T'
 * a text (NULL binds NULL), 'I' an int64_t, 'B' bytes and their size_t
 * length (NULL binds NULL).  The oids come from types, so a statement is
 * always called with the same types.  TPA_OK with *out (NULL: cleared), or
 * TPA_E_IO with why.
 */
static int vq(store *s, enum stmt_id id, PGresult **out, char *why, size_t whylen,
              const char *types, va_list ap)
{
	struct pg *h = PG(s);
	const char *vals[MAX_PARAMS];
	int lens[MAX_PARAMS], fmts[MAX_PARAMS];
	Oid oids[MAX_PARAMS];
	uint64_t ints[MAX_PARAMS];
	char name[16];
	PGresult *res;
	int i, n = (int)strlen(types), r;

	h->sqlstate[0] = '\0';
	h->constraint[0] = '\0';
	if (n > MAX_PARAMS) {
		sto_setwhy(why, whylen, "postgresql: too many parameters for statement %d", id);
		return TPA_E_IO;
	}
	/* never inside a transaction: what was done in it is gone with the
	 * connection, and the rest must not run outside it */
	if (!h->in_tx && (r = ready(s, why, whylen)) != TPA_OK)
		return r;
	for (i = 0; i < n; i++) {
		const char *t;
		const void *b;
		size_t len;

		fmts[i] = 1;
		switch (types[i]) {
		case 'T':
			t = va_arg(ap, const char *);
			oids[i] = OID_TEXT;
			vals[i] = t;
			len = t ? strlen(t) : 0;
			break;
		case 'I':
			oids[i] = OID_INT8;
			ints[i] = htobe64((uint64_t)va_arg(ap, int64_t));
			vals[i] = (const char *)&ints[i];
			len = sizeof(ints[i]);
			break;
		case 'B':
			b = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			oids[i] = OID_BYTEA;
			/* a non-NULL pointer keeps zero bytes distinct from NULL */
			vals[i] = b ? (len ? b : "") : NULL;
			break;
		default:
			sto_setwhy(why, whylen, "postgresql: bad parameter type for statement %d",
			           id);
			return TPA_E_IO;
		}
		if (len > INT_MAX) {
			sto_setwhy(why, whylen, "postgresql: a parameter of %zu bytes", len);
			return TPA_E_LIMIT;
		}
		lens[i] = (int)len;
	}
	snprintf(name, sizeof(name), "tpa%d", (int)id);
	if (!h->prepared[id]) {
		res = PQprepare(h->conn, name, stmt_sql[id], n, oids);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return db_fail(s, res, why, whylen);
		PQclear(res);
		h->prepared[id] = 1;
	}
	res = PQexecPrepared(h->conn, name, n, vals, lens, fmts, 1);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_fail(s, res, why, whylen);
	if (out)
		*out = res;
	else
		PQclear(res);
	return TPA_OK;
}

/* A statement whose rows are read: TPA_OK with *res to clear. */
static int q(store *s, PGresult **res, char *why, size_t whylen, enum stmt_id id, const char *types,
             ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = vq(s, id, res, why, whylen, types, ap);
	va_end(ap);
	return r;
}

/* A statement whose rows are not read: TPA_OK and, when changed is not
 * NULL, the number of rows it inserted, updated or deleted. */
static int run(store *s, int64_t *changed, char *why, size_t whylen, enum stmt_id id,
               const char *types, ...)
{
	PGresult *res = NULL;
	va_list ap;
	int r;

	va_start(ap, types);
	r = vq(s, id, &res, why, whylen, types, ap);
	va_end(ap);
	if (r != TPA_OK)
		return r;
	if (changed)
		*changed = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return TPA_OK;
}

/* A statement to its first row: TPA_OK with *res to read and clear,
 * TPA_E_NOT_FOUND without one, TPA_E_IO. */
static int first_row(store *s, PGresult **res, char *why, size_t whylen, enum stmt_id id,
                     const char *types, ...)
{
	PGresult *rs = NULL;
	va_list ap;
	int r;

	va_start(ap, types);
	r = vq(s, id, &rs, why, whylen, types, ap);
	va_end(ap);
	if (r != TPA_OK)
		return r;
	if (PQntuples(rs) < 1) {
		PQclear(rs);
		return TPA_E_NOT_FOUND;
	}
	*res = rs;
	return TPA_OK;
}

/* An integer column (bigint, int, smallint or boolean, as binary): 1 and
 * *v, or 0 when it is NULL or of another type. */
static int col_int(const PGresult *res, int row, int col, int64_t *v)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
	int len = PQgetlength(res, row, col);
	uint64_t u = 0;
	int i;

	if (PQgetisnull(res, row, col))
		return 0;
	switch (PQftype(res, col)) {
	case OID_INT8:
		if (len != 8)
			return 0;
		break;
	case OID_INT4:
		if (len != 4)
			return 0;
		break;
	case OID_INT2:
		if (len != 2)
			return 0;
		break;
	case OID_BOOL:
		if (len != 1)
			return 0;
		*v = p[0] != 0;
		return 1;
	default: return 0;
	}
	for (i = 0; i < len; i++)
		u = (u << 8) | p[i];
	/* sign-extend the narrower ones */
	if (len < 8 && (p[0] & 0x80))
		u |= ~(uint64_t)0 << (len * 8);
	*v = (int64_t)u;
	return 1;
}

/* An integer column that must be there; *ok set to 0 when it is not. */
static int64_t int_or(const PGresult *res, int row, int col, int *ok)
{
	int64_t v = 0;

	if (!col_int(res, row, col, &v))
		*ok = 0;
	return v;
}

/* Copies a text or bytea column into a fixed buffer; 0 when it does not
 * fit or holds a NUL (NULL reads as ""). */
static int col_copy(const PGresult *res, int row, int col, char *buf, size_t size)
{
	const char *t = PQgetvalue(res, row, col);
	size_t n = (size_t)PQgetlength(res, row, col);

	if (PQgetisnull(res, row, col)) {
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
static int col_dup(const PGresult *res, int row, int col, char **out)
{
	const char *t = PQgetvalue(res, row, col);
	size_t n = (size_t)PQgetlength(res, row, col);
	char *p;

	*out = NULL;
	if (PQgetisnull(res, row, col))
		return TPA_OK;
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

/* A single count(*) or 1: TPA_OK and *v (0 without a row). */
static int one_int(store *s, int64_t *v, char *why, size_t whylen, enum stmt_id id,
                   const char *types, ...)
{
	PGresult *res = NULL;
	int64_t x = 0;
	va_list ap;
	int r;

	va_start(ap, types);
	r = vq(s, id, &res, why, whylen, types, ap);
	va_end(ap);
	if (r != TPA_OK)
		return r;
	if (PQntuples(res) > 0 && !col_int(res, 0, 0, &x))
		return corrupt(res, "a count", why, whylen);
	PQclear(res);
	*v = x;
	return TPA_OK;
}

static int tx_begin(store *s, char *why, size_t whylen)
{
	int r = ready(s, why, whylen);

	if (r == TPA_OK)
		r = exec_const(s, SQL_BEGIN, why, whylen);
	if (r == TPA_OK)
		PG(s)->in_tx = 1;
	return r;
}

/*
 * Commits, or rolls back and fails.  A COMMIT that fails, or whose answer
 * is lost with the connection (it may or may not have committed), is
 * TPA_E_IO: the caller answers an error, never a verdict.
 */
static int tx_end(store *s, int r, char *why, size_t whylen)
{
	struct pg *h = PG(s);

	if (r == TPA_OK) {
		PGresult *res = PQexec(h->conn, "COMMIT");

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			r = db_fail(s, res, why, whylen);
		} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			/* the server answers ROLLBACK to the COMMIT of a failed
			 * transaction; none should reach here, and none may pass */
			sto_setwhy(why, whylen, "postgresql: the transaction was rolled back");
			PQclear(res);
			r = TPA_E_IO;
		} else {
			PQclear(res);
		}
	}
	if (r != TPA_OK && PQstatus(h->conn) == CONNECTION_OK &&
	    PQtransactionStatus(h->conn) != PQTRANS_IDLE)
		PQclear(PQexec(h->conn, "ROLLBACK"));
	h->in_tx = 0;
	return r;
}

/* A row of an MACHINE_COLS select into *m (cleared on failure); res is
 * cleared on failure only. */
static int row_machine(PGresult *res, int row, store_machine *m, int with_record, char *why,
                       size_t whylen)
{
	int ok = 1, r;

	memset(m, 0, sizeof(*m));
	if (!col_copy(res, row, 0, m->id, sizeof(m->id)))
		return corrupt(res, "a machine id", why, whylen);
	if (!col_copy(res, row, 1, m->name, sizeof(m->name)))
		return corrupt(res, "a machine name", why, whylen);
	m->has_name = !PQgetisnull(res, row, 1);
	m->enrolled_at = int_or(res, row, 2, &ok);
	if (!col_copy(res, row, 4, m->policy, sizeof(m->policy)) ||
	    !col_copy(res, row, 7, m->last_verdict, sizeof(m->last_verdict)) ||
	    !col_copy(res, row, 8, m->last_error, sizeof(m->last_error)))
		return corrupt(res, "a machine's policy or last verdict", why, whylen);
	m->state_gen = int_or(res, row, 6, &ok);
	m->last_at = int_or(res, row, 9, &ok);
	m->last_seq = int_or(res, row, 10, &ok);
	if (!ok)
		return corrupt(res, "a machine's counters", why, whylen);
	if (!PQgetisnull(res, row, 11)) {
		if (PQgetlength(res, row, 11) != 32)
			return corrupt(res, "an event log hash", why, whylen);
		memcpy(m->eventlog_sha256, PQgetvalue(res, row, 11), 32);
		m->has_eventlog = 1;
	}
	if (PQgetisnull(res, row, 12) || PQgetlength(res, row, 12) != STORE_ENROLLMENT_ID_LEN)
		return corrupt(res, "a machine's enrollment id", why, whylen);
	memcpy(m->enrollment, PQgetvalue(res, row, 12), STORE_ENROLLMENT_ID_LEN);
	if (!col_int(res, row, 13, &m->counter_auths))
		return corrupt(res, "a machine's counters", why, whylen);
	r = col_dup(res, row, 3, &m->record_json);
	if (r == TPA_OK)
		r = col_dup(res, row, 5, &m->state_json);
	if (r == TPA_OK && with_record && !m->record_json)
		r = TPA_E_IO;
	if (r != TPA_OK) {
		store_machine_clear(m);
		return r == TPA_E_NOMEM ? nomem(res, why, whylen)
		                        : corrupt(res, "a machine's JSON", why, whylen);
	}
	return TPA_OK;
}

/* ---- opening ---- */

/* The nonce key, made once, when the schema is created: from OpenSSL's
 * DRBG and bound. */
static int put_nonce_key(store *s, char *why, size_t whylen)
{
	uint8_t key[STORE_NONCE_KEY_LEN];
	int r;

	if (tpa_credential_random(key, sizeof(key)) != TPA_OK) {
		sto_setwhy(why, whylen,
		           "no random bytes for the nonce key (OpenSSL's DRBG failed)");
		return TPA_E_CRYPTO;
	}
	r = run(s, NULL, why, whylen, ST_KEY_PUT, "B", (const void *)key, sizeof(key));
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
	r = run(s, NULL, why, whylen, ST_COUNTER_KEY_PUT, "T", pem);
	sto_pem_free(pem);
	return r;
}

/* The version inside the caller's transaction: 0 for a database without
 * our tables. */
static int schema_version(store *s, int64_t *v, char *why, size_t whylen)
{
	PGresult *res = NULL;
	int64_t have = 0;
	int r = one_int(s, &have, why, whylen, ST_VERSION_EXISTS, "");

	if (r != TPA_OK)
		return r;
	if (!have) {
		*v = 0;
		return TPA_OK;
	}
	r = first_row(s, &res, why, whylen, ST_VERSION, "");
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "postgresql: the table schema_version holds no version");
		return TPA_E_IO;
	}
	if (r != TPA_OK)
		return r;
	if (!col_int(res, 0, 0, v))
		return corrupt(res, "the schema version", why, whylen);
	PQclear(res);
	return TPA_OK;
}

static const struct migration *step_from(int64_t v)
{
	size_t i;

	for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
		if (migrations[i].from == v)
			return &migrations[i];
	return NULL;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION, one transaction per step.
 * Each takes the migration's advisory lock before it reads the version, so
 * two servers opening the same empty database migrate it once: the second
 * waits for the first's commit, then reads the version it left.
 */
static int migrate(store *s, char *why, size_t whylen)
{
	for (;;) {
		const struct migration *m = NULL;
		int64_t v = 0;
		int r = tx_begin(s, why, whylen);

		if (r != TPA_OK)
			return r;
		r = run(s, NULL, why, whylen, ST_LOCK, "I", LOCK_MIGRATE);
		if (r == TPA_OK)
			r = schema_version(s, &v, why, whylen);
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
		if (r == TPA_OK && !(m = step_from(v))) {
			sto_setwhy(why, whylen,
			           "postgresql: no migration from schema version %lld (no such "
			           "PostgreSQL store was released)",
			           (long long)v);
			r = TPA_E_UNSUPPORTED;
		}
		if (r == TPA_OK)
			r = exec_const(s, m->sql, why, whylen);
		if (r == TPA_OK && m->then)
			r = m->then(s, why, whylen);
		if (r == TPA_OK)
			r = run(s, NULL, why, whylen, ST_VERSION_SET, "I", m->to);
		r = tx_end(s, r, why, whylen);
		if (r != TPA_OK)
			return r;
	}
}

static void pg_close(store **sp);

static int pg_open(const char *spec, store **out, char *why, size_t whylen)
{
	/* connect_timeout first: the URL's own, when it gives one, overrides
	 * it (expand_dbname); client_encoding after it: ours, always */
	const char *const keys[] = {"connect_timeout", "dbname", "fallback_application_name",
	                            "client_encoding", NULL};
	const char *vals[] = {"5", spec, "tpmattest", "UTF8", NULL};
	PQconninfoOption *opts;
	char *err = NULL;
	struct pg *h;
	store *s;
	int r;

	if (!spec || !*spec || !out)
		return sto_bad_arg("no store given", why, whylen);
	/* handles are used from several threads at once (each by one) */
	if (!PQisthreadsafe()) {
		sto_setwhy(why, whylen,
		           "postgresql: this libpq is not thread-safe, and the store "
		           "is used from several threads");
		return TPA_E_UNSUPPORTED;
	}
	/* libpq's complaint would quote the URL, which may hold a password */
	opts = PQconninfoParse(spec, &err);
	PQfreemem(err);
	if (!opts)
		return sto_bad_arg("postgresql: the store's URL is not a valid connection URI", why,
		                   whylen);
	PQconninfoFree(opts);
	h = calloc(1, sizeof(*h));
	if (!h) {
		sto_setwhy(why, whylen, "out of memory");
		return TPA_E_NOMEM;
	}
	h->base.ops = &store_postgres_ops;
	s = &h->base;
	h->conn = PQconnectdbParams(keys, vals, 1);
	if (!h->conn) {
		free(h);
		sto_setwhy(why, whylen, "postgresql: out of memory");
		return TPA_E_NOMEM;
	}
	if (PQstatus(h->conn) != CONNECTION_OK) {
		r = unreachable(s, why, whylen);
	} else if (PQserverVersion(h->conn) < SERVER_VERSION_MIN) {
		sto_setwhy(why, whylen,
		           "postgresql: server version %d, the store needs %d or later",
		           PQserverVersion(h->conn), SERVER_VERSION_MIN);
		r = TPA_E_UNSUPPORTED;
	} else {
		r = session(s, why, whylen);
	}
	if (r == TPA_OK)
		r = migrate(s, why, whylen);
	if (r != TPA_OK) {
		pg_close(&s);
		return r;
	}
	*out = s;
	return TPA_OK;
}

static void pg_close(store **sp)
{
	store *s;

	if (!sp || !*sp)
		return;
	s = *sp;
	PQfinish(PG(s)->conn);
	free(PG(s));
	*sp = NULL;
}

static int pg_ping(store *s, char *why, size_t whylen)
{
	return run(s, NULL, why, whylen, ST_PING, "");
}

static int pg_schema_version(store *s, int *version)
{
	PGresult *res = NULL;
	int64_t v;
	int r;

	if (!s || !version)
		return TPA_E_INVALID_ARG;
	r = first_row(s, &res, NULL, 0, ST_VERSION, "");
	if (r == TPA_E_NOT_FOUND)
		return TPA_E_IO;
	if (r != TPA_OK)
		return r;
	if (!col_int(res, 0, 0, &v) || v < 0 || v > INT_MAX)
		return corrupt(res, "the schema version", NULL, 0);
	PQclear(res);
	*version = (int)v;
	return TPA_OK;
}

/* ---- machines ---- */

static int machine_get(store *s, const char *id, store_machine *out, int with_record, char *why,
                       size_t whylen)
{
	PGresult *res = NULL;
	store_machine m;
	int r;

	if (!s || !out)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	r = first_row(s, &res, why, whylen, with_record ? ST_MACHINE_GET : ST_MACHINE_GET_LIGHT,
	              "T", id);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s", id);
	if (r != TPA_OK)
		return r;
	r = row_machine(res, 0, &m, with_record, why, whylen);
	if (r != TPA_OK)
		return r;
	PQclear(res);
	*out = m;
	return TPA_OK;
}

static int pg_machine_get(store *s, const char *id, store_machine *out, char *why, size_t whylen)
{
	return machine_get(s, id, out, 1, why, whylen);
}

static int pg_machine_get_light(store *s, const char *id, store_machine *out, char *why,
                                size_t whylen)
{
	return machine_get(s, id, out, 0, why, whylen);
}

static int pg_machine_record(store *s, const char *id,
                             const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], char **record_json,
                             char *why, size_t whylen)
{
	PGresult *res = NULL;
	char *rec;
	int r;

	if (!s || !enrollment || !record_json)
		return sto_bad_arg("no store, enrollment or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	r = first_row(s, &res, why, whylen, ST_MACHINE_RECORD, "TB", id, (const void *)enrollment,
	              (size_t)STORE_ENROLLMENT_ID_LEN);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s under this enrollment", id);
	if (r != TPA_OK)
		return r;
	r = col_dup(res, 0, 0, &rec);
	if (r == TPA_OK && !rec)
		return corrupt(res, "a machine's record", why, whylen);
	if (r == TPA_E_NOMEM)
		return nomem(res, why, whylen);
	if (r != TPA_OK)
		return corrupt(res, "a machine's record", why, whylen);
	PQclear(res);
	*record_json = rec;
	return TPA_OK;
}

static int64_t limit64(size_t limit)
{
	return limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/* One row into one element: TPA_OK, or an error already reported in why
 * (res then cleared) with the element left holding nothing to free. */
typedef int (*row_fn)(PGresult *res, int row, void *elem, char *why, size_t whylen);

/* The rows of res, at most limit, through row into out (elements of elem
 * bytes), all or nothing: on failure the rows read are cleared and out is
 * untouched.  res is cleared. */
static int read_rows(PGresult *res, size_t limit, size_t elem, row_fn row, void (*clear)(void *),
                     void *out, size_t *n, char *why, size_t whylen)
{
	size_t rows = (size_t)PQntuples(res), k, i;
	unsigned char *tmp = NULL;
	int r = TPA_OK;

	if (rows > limit)
		rows = limit;
	if (rows && (rows > SIZE_MAX / elem || !(tmp = calloc(rows, elem))))
		return nomem(res, why, whylen);
	for (k = 0; k < rows; k++) {
		r = row(res, (int)k, tmp + k * elem, why, whylen);
		if (r != TPA_OK)
			break;
	}
	if (r != TPA_OK) {
		/* row() cleared res */
		for (i = 0; clear && i < k; i++)
			clear(tmp + i * elem);
		free(tmp);
		return r;
	}
	PQclear(res);
	if (k)
		memcpy(out, tmp, k * elem);
	free(tmp);
	*n = k;
	return TPA_OK;
}

static int row_machine_any(PGresult *res, int row, void *elem, char *why, size_t whylen)
{
	return row_machine(res, row, elem, 1, why, whylen);
}

static void clear_machine_any(void *m)
{
	store_machine_clear(m);
}

static int pg_machine_list(store *s, const char *after_id, size_t limit, store_machine *out,
                           size_t *n, char *why, size_t whylen)
{
	PGresult *res = NULL;
	int r;

	if (!s || !after_id || !n || (limit && !out))
		return sto_bad_arg("no store or output", why, whylen);
	if (strnlen(after_id, STORE_ID_HEX) >= STORE_ID_HEX)
		return sto_bad_arg("after_id is longer than a machine id", why, whylen);
	r = q(s, &res, why, whylen, ST_MACHINE_LIST, "TI", after_id, limit64(limit));
	if (r != TPA_OK)
		return r;
	return read_rows(res, limit, sizeof(*out), row_machine_any, clear_machine_any, out, n, why,
	                 whylen);
}

static int pg_machine_delete(store *s, const char *id, char *why, size_t whylen)
{
	int64_t changed = 0;
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
	r = run(s, &changed, why, whylen, ST_MACHINE_DELETE, "T", id);
	if (r == TPA_OK && changed != 1) {
		sto_setwhy(why, whylen, "no machine %s", id);
		r = TPA_E_NOT_FOUND;
	}
	return tx_end(s, r, why, whylen);
}

static int pg_machine_set_policy(store *s, const char *id, const char *policy, char *why,
                                 size_t whylen)
{
	int64_t have, changed = 0;
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
	/* No policy is ever deleted, so one seen here is there at the update
	 * (and the foreign key would refuse it otherwise).  The row is locked
	 * (FOR SHARE) until this commits: a PUT of that policy under way
	 * commits first, or waits, so its bump of the generations it rules
	 * (ST_POLICY_BUMP, from a snapshot taken when it runs) never misses
	 * this machine.  Without the lock, an attestation could read the
	 * machine assigned, then the document before the PUT, and commit
	 * after the PUT answered (tests/attack/test-pg-policy-assign-race.sh). */
	if (*policy) {
		r = one_int(s, &have, why, whylen, ST_POLICY_EXISTS, "T", policy);
		if (r == TPA_OK && !have) {
			sto_setwhy(why, whylen, "no policy %s", policy);
			r = TPA_E_NOT_FOUND;
		}
	}
	if (r == TPA_OK)
		r = run(s, &changed, why, whylen, ST_MACHINE_SET_POLICY, "TT", id,
		        *policy ? policy : NULL);
	if (r == TPA_OK && changed != 1) {
		sto_setwhy(why, whylen, "no machine %s", id);
		r = TPA_E_NOT_FOUND;
	}
	return tx_end(s, r, why, whylen);
}

static int pg_eventlog_get(store *s, const char *id, const uint8_t sha256[32], uint8_t **log,
                           size_t *len, char *why, size_t whylen)
{
	PGresult *res = NULL;
	uint8_t *p;
	size_t n;
	int r;

	if (!s || !sha256 || !log || !len)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	r = first_row(s, &res, why, whylen, ST_EVENTLOG_GET, "TB", id, (const void *)sha256,
	              (size_t)32);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no event log with that SHA-256 held for machine %s", id);
	if (r != TPA_OK)
		return r;
	n = (size_t)PQgetlength(res, 0, 0);
	p = malloc(n ? n : 1);
	if (!p)
		return nomem(res, why, whylen);
	if (n)
		memcpy(p, PQgetvalue(res, 0, 0), n);
	PQclear(res);
	*log = p;
	*len = n;
	return TPA_OK;
}

/* ---- enrollment ---- */

static size_t name_len(const char *name)
{
	return name ? strlen(name) : 0;
}

/* Whether id or name is taken (TPA_E_MISMATCH with the why store.h
 * promises), inside the caller's transaction. */
static int enrollable(store *s, const char *id, const char *name, char *why, size_t whylen)
{
	PGresult *res = NULL;
	int64_t have;
	int r, named = 0;

	/* The name first, then the id: under READ COMMITTED each statement
	 * sees what was committed before it began, so a concurrent enrollment
	 * of this very id that took the name before the first query is seen
	 * by the second, and is reported as what it is. */
	if (name) {
		r = first_row(s, &res, why, whylen, ST_NAME_OWNER, "B", (const void *)name,
		              name_len(name));
		if (r != TPA_OK && r != TPA_E_NOT_FOUND)
			return r;
		named = r == TPA_OK;
		if (named)
			PQclear(res);
	}
	r = one_int(s, &have, why, whylen, ST_MACHINE_EXISTS, "T", id);
	if (r != TPA_OK)
		return r;
	if (have) {
		sto_setwhy(why, whylen, "already enrolled: machine %s", id);
		return TPA_E_MISMATCH;
	}
	if (!named)
		return TPA_OK;
	/* Neither the name (any bytes) nor its owner's id goes into why: the
	 * answer reaches unauthenticated callers, who must not learn which
	 * machine holds a name. */
	sto_setwhy(why, whylen, "name taken by another machine");
	return TPA_E_MISMATCH;
}

static int pg_pending_put(store *s, const store_pending *p, char *why, size_t whylen)
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
	/* The caps are a count, then an insert: two servers putting at once
	 * would both count under the cap and both insert.  This lock makes
	 * the puts of all servers on the database take turns (each statement
	 * after it, in READ COMMITTED, sees what the one before committed);
	 * store_pending_take only lowers the counts, and needs none. */
	r = run(s, NULL, why, whylen, ST_LOCK, "I", LOCK_PENDING);
	/* the one place the store reads the clock: store_pending_put has no
	 * now, and an expired challenge is refused by its taker anyway */
	if (r == TPA_OK)
		r = run(s, NULL, why, whylen, ST_PENDING_EXPIRE, "I", (int64_t)time(NULL));
	if (r == TPA_OK)
		r = enrollable(s, p->machine_id, name, why, whylen);
	/* Anyone can replay a real machine's (public) request: bounded per
	 * EK, oldest dropped, and overall. */
	if (r == TPA_OK)
		r = one_int(s, &count, why, whylen, ST_PENDING_COUNT_MACHINE, "T", p->machine_id);
	if (r == TPA_OK && count >= STORE_PENDING_PER_MACHINE)
		r = run(s, NULL, why, whylen, ST_PENDING_EVICT, "TI", p->machine_id,
		        count - (int64_t)STORE_PENDING_PER_MACHINE + 1);
	if (r == TPA_OK)
		r = one_int(s, &count, why, whylen, ST_PENDING_COUNT, "");
	if (r == TPA_OK && count >= STORE_PENDING_MAX) {
		sto_setwhy(why, whylen, "%lld enrollments pending, the most there may be",
		           (long long)count);
		r = TPA_E_LIMIT;
	}
	if (r == TPA_OK)
		r = run(s, NULL, why, whylen, ST_PENDING_INSERT, "BTBIT", (const void *)p->id,
		        (size_t)STORE_CHALLENGE_ID_LEN, p->machine_id, (const void *)name,
		        name_len(name), p->expires, p->pending_json);
	return tx_end(s, r, why, whylen);
}

static int pg_pending_take(store *s, const uint8_t id[STORE_CHALLENGE_ID_LEN], store_pending *out,
                           char *why, size_t whylen)
{
	PGresult *res = NULL;
	store_pending p;
	int ok = 1, r;

	if (!s || !id || !out)
		return sto_bad_arg("no store, challenge id or output", why, whylen);
	memset(&p, 0, sizeof(p));
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	r = first_row(s, &res, why, whylen, ST_PENDING_TAKE, "B", (const void *)id,
	              (size_t)STORE_CHALLENGE_ID_LEN);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no such pending challenge");
	if (r == TPA_OK) {
		memcpy(p.id, id, STORE_CHALLENGE_ID_LEN);
		p.expires = int_or(res, 0, 2, &ok);
		p.has_name = !PQgetisnull(res, 0, 1);
		if (!ok || !col_copy(res, 0, 0, p.machine_id, sizeof(p.machine_id)) ||
		    !col_copy(res, 0, 1, p.name, sizeof(p.name)))
			r = corrupt(res, "a pending challenge", why, whylen);
	}
	if (r == TPA_OK) {
		r = col_dup(res, 0, 3, &p.pending_json);
		if (r == TPA_OK && !p.pending_json)
			r = TPA_E_IO;
		if (r == TPA_E_NOMEM)
			r = nomem(res, why, whylen);
		else if (r != TPA_OK)
			r = corrupt(res, "a pending challenge", why, whylen);
		else
			PQclear(res);
	}
	r = tx_end(s, r, why, whylen);
	if (r != TPA_OK) {
		store_pending_clear(&p);
		return r;
	}
	*out = p;
	return TPA_OK;
}

static int pg_machine_add(store *s, const char *id, const char *name, int64_t enrolled_at,
                          const char *record_json, char *why, size_t whylen)
{
	uint8_t enrollment[STORE_ENROLLMENT_ID_LEN];
	int r;

	if (!s || !record_json)
		return sto_bad_arg("no store or record", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (name && !sto_name_ok(name))
		return sto_bad_arg("a machine name is 1..256 bytes", why, whylen);
	if (tpa_credential_random(enrollment, sizeof(enrollment)) != TPA_OK) {
		sto_setwhy(why, whylen,
		           "no random bytes for the enrollment id (OpenSSL's DRBG failed)");
		return TPA_E_CRYPTO;
	}
	r = tx_begin(s, why, whylen);
	if (r != TPA_OK)
		return r;
	r = enrollable(s, id, name, why, whylen);
	if (r == TPA_OK)
		r = run(s, NULL, why, whylen, ST_MACHINE_INSERT, "TBITB", id, (const void *)name,
		        name_len(name), enrolled_at, record_json, (const void *)enrollment,
		        sizeof(enrollment));
	/* Another server enrolled the id or took the name after our check
	 * (READ COMMITTED did not show it yet): the unique index waited for
	 * its commit and refused ours, as store.h promises. */
	if (r == TPA_E_IO && strcmp(PG(s)->sqlstate, "23505") == 0) {
		if (strcmp(PG(s)->constraint, "machines_pkey") == 0) {
			sto_setwhy(why, whylen, "already enrolled: machine %s", id);
			r = TPA_E_MISMATCH;
		} else if (strcmp(PG(s)->constraint, "machines_name_key") == 0) {
			sto_setwhy(why, whylen, "name taken by another machine");
			r = TPA_E_MISMATCH;
			/* PostgreSQL may check the name's index before the id's:
			 * when the winner enrolled this very id, say so (its
			 * commit is visible to a new transaction now) */
			(void)tx_end(s, r, why, whylen);
			if (tx_begin(s, why, whylen) != TPA_OK) {
				sto_setwhy(why, whylen, "name taken by another machine");
				return TPA_E_MISMATCH;
			}
			if (enrollable(s, id, NULL, why, whylen) != TPA_E_MISMATCH)
				sto_setwhy(why, whylen, "name taken by another machine");
			return tx_end(s, TPA_E_MISMATCH, why, whylen);
		}
	}
	return tx_end(s, r, why, whylen);
}

/* ---- nonces ---- */

static int pg_nonce_key(store *s, uint8_t key[STORE_NONCE_KEY_LEN], char *why, size_t whylen)
{
	PGresult *res = NULL;
	int r, n;

	if (!s || !key)
		return sto_bad_arg("no store or output", why, whylen);
	r = first_row(s, &res, why, whylen, ST_KEY_GET, "");
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "the store holds no nonce key");
		return TPA_E_MISMATCH;
	}
	if (r != TPA_OK)
		return r;
	n = PQgetlength(res, 0, 0);
	if (n != STORE_NONCE_KEY_LEN) {
		/* the length only: the bytes are secret */
		sto_setwhy(why, whylen, "the store's nonce key is %d bytes, not %d", n,
		           STORE_NONCE_KEY_LEN);
		PQclear(res);
		return TPA_E_MISMATCH;
	}
	memcpy(key, PQgetvalue(res, 0, 0), STORE_NONCE_KEY_LEN);
	/* libpq's copy of the key, before it is freed */
	explicit_bzero(PQgetvalue(res, 0, 0), STORE_NONCE_KEY_LEN);
	PQclear(res);
	return TPA_OK;
}

static int pg_nonce_used(store *s, const uint8_t nonce[STORE_NONCE_LEN], char *why, size_t whylen)
{
	int64_t have;
	int r;

	if (!s || !nonce)
		return sto_bad_arg("no store or nonce", why, whylen);
	r = one_int(s, &have, why, whylen, ST_NONCE_USED, "B", (const void *)nonce,
	            (size_t)STORE_NONCE_LEN);
	if (r == TPA_OK && have) {
		sto_setwhy(why, whylen, "the nonce was consumed already");
		r = TPA_E_MISMATCH;
	}
	return r;
}

/* ---- counter authorizations ---- */

static int pg_counter_auth_issue(store *s, const char *id,
                                 const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                                 int64_t *auths_before, char **state_json, char *why, size_t whylen)
{
	const size_t elen = STORE_ENROLLMENT_ID_LEN;
	PGresult *res = NULL;
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
	r = first_row(s, &res, why, whylen, ST_COUNTER_ISSUE, "TBI", id, (const void *)enrollment,
	              elen, (int64_t)STORE_COUNTER_AUTHS_MAX);
	if (r == TPA_OK) {
		if (!col_int(res, 0, 0, &before) || before < 0) {
			r = corrupt(res, "a machine's count of counter authorizations", why,
			            whylen);
		} else {
			r = col_dup(res, 0, 1, &state);
			if (r == TPA_E_NOMEM)
				r = nomem(res, why, whylen);
			else if (r != TPA_OK)
				r = corrupt(res, "a machine's state", why, whylen);
			else
				PQclear(res);
		}
	}
	if (r == TPA_E_NOT_FOUND) {
		/* in the same transaction: only why it changed no row */
		r = first_row(s, &res, why, whylen, ST_COUNTER_WHY, "TB", id,
		              (const void *)enrollment, elen);
		if (r == TPA_E_NOT_FOUND)
			sto_setwhy(why, whylen, "no machine %s", id);
		if (r == TPA_OK) {
			if (!col_int(res, 0, 0, &same)) {
				r = corrupt(res, "a machine's enrollment id", why, whylen);
			} else {
				PQclear(res);
				if (same) {
					sto_setwhy(
					        why, whylen,
					        "machine %s has %lld counter authorizations, the "
					        "most there may be",
					        id, (long long)STORE_COUNTER_AUTHS_MAX);
					r = TPA_E_LIMIT;
				} else {
					sto_setwhy(
					        why, whylen,
					        "machine %s was deleted and enrolled again since "
					        "it was read",
					        id);
					r = TPA_E_NOT_FOUND;
				}
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

static int pg_counter_key(store *s, char **pem, char *why, size_t whylen)
{
	PGresult *res = NULL;
	char *p = NULL;
	int r;

	if (!s || !pem)
		return sto_bad_arg("no store or output", why, whylen);
	r = first_row(s, &res, why, whylen, ST_COUNTER_KEY_GET, "");
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "the store holds no counter-authorization key");
		return TPA_E_MISMATCH;
	}
	if (r != TPA_OK)
		return r;
	r = col_dup(res, 0, 0, &p);
	if (r == TPA_OK && (!p || !*p))
		r = TPA_E_IO;
	/* libpq's copy of the key, before it is freed */
	explicit_bzero(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	if (r != TPA_OK) {
		sto_pem_free(p);
		return r == TPA_E_NOMEM
		               ? nomem(res, why, whylen)
		               : corrupt(res, "the counter-authorization key", why, whylen);
	}
	PQclear(res);
	*pem = p;
	return TPA_OK;
}

/* ---- attestations ---- */

/* A serialization failure or a deadlock the server broke: the item lost a
 * race (its savepoint is rolled back, the batch goes on). */
static int lost_race(store *s)
{
	const char *st = PG(s)->sqlstate;

	return PQstatus(PG(s)->conn) == CONNECTION_OK &&
	       (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

/* One attestation inside the caller's transaction (and savepoint): TPA_OK
 * and *seq, TPA_E_NOT_FOUND or TPA_E_MISMATCH with nothing to keep, or a
 * failure of the store. */
static int attest_one(store *s, const store_attestation *a, int64_t *seq, char *why, size_t whylen)
{
	const void *e = a->enrollment;
	const size_t elen = STORE_ENROLLMENT_ID_LEN;
	const int64_t reset = a->counter_auths_used;
	PGresult *res = NULL;
	int64_t cur = 0, n = 0, changed = 0;
	int r;

	/* For the reason only: the updates below are conditional themselves. */
	r = first_row(s, &res, why, whylen, ST_MACHINE_CURRENT, "TBI", a->machine_id, e, elen,
	              a->expect_gen);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no machine %s", a->machine_id);
	if (r == TPA_OK) {
		if (!col_int(res, 0, 0, &cur))
			return corrupt(res, "a machine's generation", why, whylen);
		PQclear(res);
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
		r = run(s, &changed, why, whylen, ST_NONCE_CONSUME, "BTI", (const void *)a->nonce,
		        (size_t)STORE_NONCE_LEN, a->machine_id, a->nonce_expires);
	if (r == TPA_OK && changed != 1) {
		sto_setwhy(why, whylen, "the nonce for machine %s was consumed already",
		           a->machine_id);
		r = TPA_E_MISMATCH;
	}
	if (r == TPA_OK && a->record) {
		r = first_row(s, &res, why, whylen, ST_VERDICT_INSERT, "TITTT", a->machine_id,
		              a->now, a->verdict, a->error, a->result_json);
		if (r == TPA_E_NOT_FOUND) {
			sto_setwhy(why, whylen, "postgresql: no seq for the verdict inserted");
			r = TPA_E_IO;
		}
		if (r == TPA_OK) {
			if (!col_int(res, 0, 0, &n))
				return corrupt(res, "a verdict's seq", why, whylen);
			PQclear(res);
		}
		/* the last verdict and the next state in one row update (the
		 * state conditional on the generation, as below) */
		if (r == TPA_OK && a->next_state_json) {
			r = run(s, &changed, why, whylen, ST_MACHINE_SET_LAST_STATE, "TTTIITIBI",
			        a->machine_id, a->verdict, a->error, a->now, n, a->next_state_json,
			        a->expect_gen, e, elen, reset);
			if (r == TPA_OK && changed != 1) {
				sto_setwhy(why, whylen,
				           "the state of machine %s moved past generation %lld "
				           "meanwhile",
				           a->machine_id, (long long)a->expect_gen);
				r = TPA_E_MISMATCH;
			}
		} else if (r == TPA_OK) {
			r = run(s, &changed, why, whylen, ST_MACHINE_SET_LAST, "TTTIIIBI",
			        a->machine_id, a->verdict, a->error, a->now, n, a->expect_gen, e,
			        elen, reset);
			if (r == TPA_OK && changed != 1) {
				sto_setwhy(why, whylen,
				           "machine %s moved past generation %lld meanwhile",
				           a->machine_id, (long long)a->expect_gen);
				r = TPA_E_MISMATCH;
			}
		}
	}
	/* conditional on the generation the caller verified against: of two
	 * racing attestations, the second waits for the first's row lock,
	 * then finds the generation moved */
	if (r == TPA_OK && a->next_state_json && !a->record) {
		r = run(s, &changed, why, whylen, ST_MACHINE_SET_STATE, "TTIBI", a->machine_id,
		        a->next_state_json, a->expect_gen, e, elen, reset);
		if (r == TPA_OK && changed != 1) {
			sto_setwhy(why, whylen,
			           "the state of machine %s moved past generation %lld meanwhile",
			           a->machine_id, (long long)a->expect_gen);
			r = TPA_E_MISMATCH;
		}
	}
	if (r == TPA_OK && a->eventlog)
		r = run(s, NULL, why, whylen, ST_EVENTLOG_PUT, "TB", a->machine_id,
		        (const void *)a->eventlog, a->eventlog_len);
	if (r == TPA_OK && a->eventlog)
		r = run(s, NULL, why, whylen, ST_MACHINE_SET_EVENTLOG, "TB", a->machine_id,
		        (const void *)a->eventlog_sha256, (size_t)32);
	if (r == TPA_E_IO && lost_race(s))
		r = TPA_E_MISMATCH;
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

static int pg_attest_commit_many(store *s, const store_attestation *a, size_t n, int *res,
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
	r = run(s, NULL, why, whylen, ST_NONCE_EXPIRE, "I",
	        oldest < INT64_MIN + STORE_NONCE_GRACE ? INT64_MIN : oldest - STORE_NONCE_GRACE);
	for (i = 0; r == TPA_OK && i < n; i++) {
		char iwhy[512] = "";
		int k;

		if (out[i] != TPA_OK)
			continue;
		r = exec_const(s, SQL_SAVEPOINT, why, whylen);
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
			r = exec_const(s, SQL_ROLLBACK_TO, why, whylen);
		}
		if (r == TPA_OK)
			r = exec_const(s, SQL_RELEASE, why, whylen);
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

static int row_verdict(PGresult *res, int row, void *elem, char *why, size_t whylen)
{
	store_verdict *v = elem;
	int ok = 1, r;

	v->seq = int_or(res, row, 0, &ok);
	v->at = int_or(res, row, 1, &ok);
	if (!ok || !col_copy(res, row, 2, v->verdict, sizeof(v->verdict)) ||
	    !col_copy(res, row, 3, v->error, sizeof(v->error)))
		return corrupt(res, "a verdict", why, whylen);
	r = col_dup(res, row, 4, &v->result_json);
	if (r == TPA_OK && !v->result_json)
		r = TPA_E_IO;
	if (r == TPA_E_NOMEM)
		return nomem(res, why, whylen);
	if (r != TPA_OK)
		return corrupt(res, "a verdict", why, whylen);
	return TPA_OK;
}

static void clear_verdict_any(void *v)
{
	store_verdict_clear(v);
}

static int pg_history(store *s, const char *id, int64_t before, size_t limit, store_verdict *out,
                      size_t *n, char *why, size_t whylen)
{
	PGresult *res = NULL;
	int r;

	if (!s || !n || (limit && !out))
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_id_ok(id))
		return sto_bad_arg("a machine id is 64 lowercase hex digits", why, whylen);
	if (before < 0)
		return sto_bad_arg("before is a sequence number, or 0", why, whylen);
	r = q(s, &res, why, whylen, ST_HISTORY, "TII", id, before ? before : INT64_MAX,
	      limit64(limit));
	if (r != TPA_OK)
		return r;
	return read_rows(res, limit, sizeof(*out), row_verdict, clear_verdict_any, out, n, why,
	                 whylen);
}

/* ---- policies ---- */

static int pg_policy_put(store *s, const char *name, const char *doc, int64_t now, char *why,
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
	r = run(s, NULL, why, whylen, ST_POLICY_PUT, "TTI", name, doc, now);
	if (r == TPA_OK)
		r = run(s, NULL, why, whylen, ST_POLICY_BUMP, "T", name);
	return tx_end(s, r, why, whylen);
}

static int pg_policy_get(store *s, const char *name, char **doc, int64_t *updated, char *why,
                         size_t whylen)
{
	PGresult *res = NULL;
	int64_t up = 0;
	char *d;
	int r;

	if (!s || !doc)
		return sto_bad_arg("no store or output", why, whylen);
	if (!sto_policy_name_ok(name))
		return sto_bad_arg("a policy name is 1..64 of [A-Za-z0-9._-]", why, whylen);
	r = first_row(s, &res, why, whylen, ST_POLICY_GET, "T", name);
	if (r == TPA_E_NOT_FOUND)
		sto_setwhy(why, whylen, "no policy %s", name);
	if (r != TPA_OK)
		return r;
	if (!col_int(res, 0, 1, &up))
		return corrupt(res, "a policy", why, whylen);
	r = col_dup(res, 0, 0, &d);
	if (r == TPA_OK && !d)
		r = TPA_E_IO;
	if (r == TPA_E_NOMEM)
		return nomem(res, why, whylen);
	if (r != TPA_OK)
		return corrupt(res, "a policy", why, whylen);
	PQclear(res);
	if (updated)
		*updated = up;
	*doc = d;
	return TPA_OK;
}

struct policy_row {
	char name[STORE_POLICY_NAME_MAX];
	int64_t updated;
};

static int row_policy(PGresult *res, int row, void *elem, char *why, size_t whylen)
{
	struct policy_row *p = elem;

	if (!col_copy(res, row, 0, p->name, sizeof(p->name)) || !col_int(res, row, 1, &p->updated))
		return corrupt(res, "a policy name", why, whylen);
	return TPA_OK;
}

static int pg_policy_list(store *s, char (*names)[STORE_POLICY_NAME_MAX], int64_t *updated,
                          size_t limit, size_t *n, char *why, size_t whylen)
{
	struct policy_row *rows = NULL;
	PGresult *res = NULL;
	size_t k = 0, cap;
	int r;

	if (!s || !n || (limit && !names))
		return sto_bad_arg("no store or output", why, whylen);
	r = q(s, &res, why, whylen, ST_POLICY_LIST, "I", limit64(limit));
	if (r != TPA_OK)
		return r;
	cap = (size_t)PQntuples(res) < limit ? (size_t)PQntuples(res) : limit;
	if (cap && !(rows = calloc(cap, sizeof(*rows))))
		return nomem(res, why, whylen);
	r = read_rows(res, limit, sizeof(*rows), row_policy, NULL, rows, &k, why, whylen);
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

static int pg_stats_get(store *s, int64_t now, store_stats *out, char *why, size_t whylen)
{
	PGresult *res = NULL;
	store_stats st;
	int ok = 1, r;

	if (!s || !out)
		return sto_bad_arg("no store or output", why, whylen);
	r = first_row(s, &res, why, whylen, ST_STATS, "I", now);
	if (r == TPA_E_NOT_FOUND) {
		sto_setwhy(why, whylen, "postgresql: no row of counts");
		r = TPA_E_IO;
	}
	if (r != TPA_OK)
		return r;
	st.machines = int_or(res, 0, 0, &ok);
	st.nonces = int_or(res, 0, 1, &ok);
	st.pending = int_or(res, 0, 2, &ok);
	if (!ok)
		return corrupt(res, "a count", why, whylen);
	PQclear(res);
	*out = st;
	return TPA_OK;
}

const struct store_ops store_postgres_ops = {
        .open = pg_open,
        .close = pg_close,
        .ping = pg_ping,
        .schema_version = pg_schema_version,
        .machine_get = pg_machine_get,
        .machine_get_light = pg_machine_get_light,
        .machine_record = pg_machine_record,
        .machine_list = pg_machine_list,
        .machine_delete = pg_machine_delete,
        .machine_set_policy = pg_machine_set_policy,
        .eventlog_get = pg_eventlog_get,
        .pending_put = pg_pending_put,
        .pending_take = pg_pending_take,
        .machine_add = pg_machine_add,
        .nonce_key = pg_nonce_key,
        .nonce_used = pg_nonce_used,
        .counter_auth_issue = pg_counter_auth_issue,
        .counter_key = pg_counter_key,
        .attest_commit_many = pg_attest_commit_many,
        .history = pg_history,
        .policy_put = pg_policy_put,
        .policy_get = pg_policy_get,
        .policy_list = pg_policy_list,
        .stats_get = pg_stats_get,
};
