/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest serve, inside: the configuration, the running server, and the
 * pieces each file provides.  server.c starts the workers and the
 * committer and handles signals, http.c is the transport (TLS, limits,
 * deadlines, admin authentication, answers), handlers.c the API
 * (docs/api.md), commit.c the group commit of attestations, nonce.c the
 * nonces, requests.c the readers of request bodies and paths (fuzzed),
 * metrics.c the Prometheus counters, logesc.c escaping of untrusted strings
 * for the log.
 *
 * Threads.  `workers` event loops, each a thread with its own libevent
 * base, evhttp, listener (all on one listening socket: the kernel hands a
 * connection to whichever loop accepts first), store handle (reads,
 * enrollment, admin writes) and caches: a connection stays with the worker
 * that accepted it, and a worker's state is touched only by its thread,
 * except its metrics (under mlock) and its list of finished commits (under
 * done_lock).  One committer thread with its own store handle writes the
 * attestations the workers hand it, as many as are waiting in one
 * transaction (group commit, store_attest_commit_many): one durable commit
 * for a batch instead of one per attestation, while the workers go on
 * verifying.  Each attestation is answered by its worker only after the
 * commit that holds it returned.
 */
#ifndef TPA_SERVER_H
#define TPA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/ear.h>
#include <tpmattest/tpmattest.h>

#include "store/store.h"

struct evhttp_request;
struct event_base;
struct tpa_policy;
struct tpa_ekstore;
struct tpa_eventlog;

/* Defaults (docs/api.md "Limits"). */
/* A client still sending its body holds up to max_body of memory for
 * request_timeout: the product with max_connections bounds what
 * unauthenticated clients can make the server hold (1 GiB by default). */
#define SRV_DEFAULT_MAX_BODY (4u << 20)
#define SRV_DEFAULT_MAX_HEADERS (16u << 10)
#define SRV_DEFAULT_MAX_CONNECTIONS 256
#define SRV_DEFAULT_REQUEST_TIMEOUT 10
#define SRV_DEFAULT_NONCE_LIFETIME 120
#define SRV_DEFAULT_CHALLENGE_LIFETIME 600
#define SRV_MAX_WORKERS 64
/* Parsed event logs kept in memory, one per machine, least recently used
 * dropped first: this many in all, shared out among the workers (a parsed
 * 45 KB log takes about 70 KB).  An attestation with an unchanged log, PCR
 * values and policy needs none (the machine's log memo stands for it). */
#define SRV_EVENTLOG_CACHE 64
#define SRV_POLICY_CACHE 64
/* Machines whose parsed record and log memo are kept, in all (about 3 KB
 * each): beyond, a machine's record is read and parsed again. */
#define SRV_MACHINE_CACHE 8192

typedef struct srv_config {
	const char *listen; /* ADDR:PORT; port 0 picks a free one */
	const char *db;
	const char *tls_cert, *tls_key, *admin_ca;
	const char *ek_roots, *ek_intermediates;
	const char *policy; /* default policy file */
	const char *port_file;
	bool insecure_http;
	bool check_time;
	bool quiet; /* no per-request log lines */
	size_t max_body, max_headers, max_connections;
	unsigned request_timeout;
	unsigned nonce_lifetime, challenge_lifetime;
	unsigned workers; /* event loops; 0: one per online CPU */
	/* enroll machines with the older counter, which anyone on the machine
	 * may increment (weaker rollback check) */
	bool legacy_counters;
	/* the result key's PEM file (made on the first start when absent) */
	const char *result_key;
} srv_config;

struct srv_eventlog_slot {
	char machine[STORE_ID_HEX];
	uint8_t sha256[32];
	struct tpa_eventlog *log;
	uint64_t used;
};

/* A machine's parsed record and the memo of its last log checks
 * (handlers.c, "mslot"). */
struct srv_machine_slot {
	char id[STORE_ID_HEX];
	uint8_t enrollment[STORE_ENROLLMENT_ID_LEN];
	struct tpa_ak *ak; /* NULL: the slot is free */
	uint8_t *ek_public;
	size_t ek_public_len;
	uint8_t counter_name[2 + 64];
	size_t counter_name_len;
	int counter_authorized; /* the verifier-authorized kind (counterauth.h) */
	struct tpa_log_memo *memo;
	uint8_t memo_key[32], memo_log_sha[32];
	uint64_t used;
};

struct srv_policy_slot {
	char name[STORE_POLICY_NAME_MAX];
	uint8_t digest[32]; /* SHA-256 of the stored document */
	struct tpa_policy *policy;
	uint64_t used;
};

typedef struct srv srv;

/* ---- metrics.c ---- */

#define SRV_HIST_BUCKETS 12
typedef struct srv_hist {
	uint64_t bucket[SRV_HIST_BUCKETS + 1]; /* the last is +Inf */
	uint64_t count;
	double sum;
} srv_hist;

typedef struct srv_metrics {
	uint64_t attest_pass, attest_fail, attest_refused, attest_error;
	srv_hist attest_seconds, commit_seconds;
	uint64_t http_2xx, http_4xx, http_5xx;
	uint64_t enrollments;
	uint64_t commit_batches; /* transactions the committer ran */
} srv_metrics;

void srv_hist_add(srv_hist *h, double seconds);
/* Adds every counter and bucket of b to a. */
void srv_metrics_sum(srv_metrics *a, const srv_metrics *b);
/* The Prometheus text (malloc'd). */
char *srv_metrics_text(const srv_metrics *m, const store_stats *st, size_t connections_open,
                       size_t workers);

/* ---- the running server ---- */

struct srv_job; /* an attestation waiting for its commit (commit.c) */
struct srv_core;

/* One worker (an event loop and what only its thread touches). */
struct srv {
	srv_config cfg;
	struct srv_core *core;
	size_t index;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct ssl_ctx_st *ssl; /* the core's, shared (NULL: plain HTTP) */
	int ssl_conn_index;     /* SSL ex_data index of a connection's bookkeeping */
	size_t max_connections; /* this worker's share */
	bool listener_paused;
	store *st;
	const struct tpa_ekstore *roots;
	const struct tpa_policy *default_policy;
	struct srv_eventlog_slot *logs; /* n_logs slots */
	size_t n_logs;
	struct srv_machine_slot *machines; /* n_machines slots, 2 per set */
	size_t n_machines;
	struct srv_policy_slot policies[SRV_POLICY_CACHE];
	uint64_t tick;
	/* under mlock: read by whichever worker answers /metrics */
	pthread_mutex_t mlock;
	srv_metrics metrics;
	size_t connections_open;
	/* finished commits, handed back by the committer (under done_lock);
	 * wake_fd (an eventfd) tells the loop */
	pthread_mutex_t done_lock;
	struct srv_job *done;
	bool quit;
	int wake_fd;
	struct event *wake_ev;
	uint16_t port; /* bound */
};

/* What the workers share: read-only while they run, but the committer's
 * queue (under qlock). */
typedef struct srv_core {
	srv_config cfg;
	size_t n_workers;
	srv *workers;
	struct ssl_ctx_st *ssl;
	int ssl_conn_index;
	int listen_fd;
	uint16_t port;
	uint8_t nonce_key[STORE_NONCE_KEY_LEN];
	/* the store's counter key (store_counter_key), its TPM2B_PUBLIC and
	 * Name (a machine's counter policy is PolicyAuthorize by it, with the
	 * machine's id as policyRef) */
	struct tpa_counter_key *counter_key;
	uint8_t counter_pub[TPA_COUNTER_KEY_PUBLIC_MAX];
	size_t counter_pub_len;
	uint8_t counter_name[TPA_COUNTER_NAME_LEN];
	/* the key verdicts are signed with for relying parties (result.c) and
	 * its public JWK */
	struct tpa_result_key *result_key;
	char *result_jwk;
	int result_key_made; /* made by this start */
	struct tpa_ekstore *roots;
	struct tpa_policy *default_policy;
	uint8_t default_policy_sha[32]; /* of its JSON, for log memos */
	/* the committer */
	store *commit_st;
	pthread_t committer;
	bool committer_running;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct srv_job *queue, **queue_tail;
	bool stopping;
	srv_metrics commit_metrics; /* under qlock: commit_batches */
} srv_core;

/* Runs stmt with the worker's metrics locked. */
#define SRV_METRIC(s, stmt)                        \
	do {                                       \
		pthread_mutex_lock(&(s)->mlock);   \
		stmt;                              \
		pthread_mutex_unlock(&(s)->mlock); \
	} while (0)

/* ---- commit.c ---- */

/* An attestation handed to the committer: the worker fills sa (pointing
 * into memory it owns through ctx) and done; the committer fills res, seq
 * and why, then hands the job back to s, whose loop calls done(job). */
typedef struct srv_job {
	srv *s;
	store_attestation sa;
	int res;
	int64_t seq;
	char why[256];
	double queued_at;
	void (*done)(struct srv_job *job);
	void *ctx;
	struct srv_job *next;
} srv_job;

int srv_committer_start(srv_core *c, char *why, size_t whylen);
/* Queues the job; its done runs on the job's worker after the commit. */
void srv_commit(srv_core *c, srv_job *job);
/* Commits what is queued, stops the thread; finished jobs not yet handed
 * back to their worker stay on its done list (srv_worker_drain). */
void srv_committer_stop(srv_core *c);
/* The worker's side: an event on wake_fd that runs finished jobs' done. */
int srv_worker_wake_setup(srv *s);
void srv_worker_drain(srv *s);
/* From another thread: the worker's loop ends after what it is doing. */
void srv_worker_quit(srv *s);

/* ---- nonce.c ---- */

/*
 * Nonces the server recognises without storing them: 8 bytes of expiry
 * (seconds, big-endian), 8 random bytes, and 16 bytes of HMAC-SHA256 with
 * the store's nonce key over a label, the machine id, its enrollment's
 * random id (store_machine.enrollment: deleting a machine and enrolling it
 * again voids the nonces issued before) and the first 16 bytes.  So a nonce is bound
 * to one enrollment of one machine and one expiry, cannot be forged or
 * altered without the key, and asking for one writes nothing; single use
 * is the store's (store_attest_commit keeps consumed nonces until they
 * expire).
 */
int srv_nonce_make(const srv_core *c, const char *machine_id,
                   const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN], int64_t expires,
                   uint8_t nonce[STORE_NONCE_LEN]);
/* TPA_OK and *expires when the nonce is this server's for the machine and
 * not expired at now; TPA_E_NONCE otherwise (why says which). */
int srv_nonce_check(const srv_core *c, const char *machine_id,
                    const uint8_t enrollment[STORE_ENROLLMENT_ID_LEN],
                    const uint8_t nonce[STORE_NONCE_LEN], int64_t now, int64_t *expires, char *why,
                    size_t whylen);

/* ---- server.c ---- */

/* Runs the server until SIGINT or SIGTERM (serve.h). */

/* ---- http.c ---- */

/* TLS (unless insecure) and the listening socket, once, for every worker. */
int srv_http_listen(srv_core *c, char *why, size_t whylen);
void srv_http_unlisten(srv_core *c);
/* The worker's listener (on the core's socket) and evhttp on s->base. */
int srv_http_start(srv *s, char *why, size_t whylen);
void srv_http_stop(srv *s);
/* 0 when the request carries a client certificate that chains to
 * --admin-ca; otherwise answers 401/403 and returns -1. */
int srv_require_admin(srv *s, struct evhttp_request *req);
/* Answers with a JSON body (copied). */
void srv_reply_json(srv *s, struct evhttp_request *req, int code, const char *json);
/* {"error":code,"reason":reason[,"check":check]} */
void srv_reply_error(srv *s, struct evhttp_request *req, int status, const char *code,
                     const char *check, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void srv_reply_text(srv *s, struct evhttp_request *req, int code, const char *ctype,
                    const char *body);
/* 0, or -1 after answering 400 and closing: more than one Content-Length,
 * or Content-Length with Transfer-Encoding (RFC 9112 6.3). */
int srv_framing_ok(srv *s, struct evhttp_request *req);
/* The request body, contiguous (borrowed until the answer). */
const uint8_t *srv_body(struct evhttp_request *req, size_t *len);

/* ---- handlers.c ---- */

/* evhttp's generic callback: routes every request. */
void srv_route(struct evhttp_request *req, void *arg);

/* ---- requests.c: readers of untrusted request parts ---- */

/* A machine id: exactly 64 lowercase hex digits.  0 or -1. */
int srv_parse_machine_id(const char *s, size_t len, char out[STORE_ID_HEX]);
/* A policy name: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int srv_parse_policy_name(const char *s, size_t len, char out[STORE_POLICY_NAME_MAX]);
/* 64 lowercase hex digits into 32 bytes.  0 or -1. */
int srv_parse_sha256_hex(const char *s, uint8_t out[32]);

/* Values an enrollment body may hold: the request document has a few
 * dozen, its NV chain (8 certificates) included. */
#define SRV_ENROLL_MAX_VALUES 512
/* POST /v1/enroll: {"name": STRING|null, "request": {...}}.  *request_json
 * is the request document re-serialized (malloc'd). */
typedef struct srv_enroll_body {
	int has_name;
	char name[STORE_NAME_MAX];
	char *request_json;
} srv_enroll_body;
int srv_read_enroll_body(const uint8_t *body, size_t len, srv_enroll_body *out, char *why,
                         size_t whylen);
void srv_enroll_body_clear(srv_enroll_body *b);

/* PUT /v1/machines/ID/policy: {"policy": NAME|null}; name "" for null. */
int srv_read_assign_body(const uint8_t *body, size_t len, char name[STORE_POLICY_NAME_MAX],
                         char *why, size_t whylen);

/* A path split into at most 5 segments (no empty ones, no "." or "..",
 * no percent-escapes, which no endpoint needs). */
#define SRV_MAX_SEGMENTS 5
typedef struct srv_path {
	size_t n;
	const char *seg[SRV_MAX_SEGMENTS];
	size_t len[SRV_MAX_SEGMENTS];
} srv_path;
int srv_split_path(const char *path, srv_path *out);
/* ?limit=N&before=N (each optional, decimal, bounded).  0 or -1. */
int srv_parse_history_query(const char *query, size_t *limit, int64_t *before);

/* ?nonce=HEX (optional; TPA_EAR_NONCE_HEX_MIN..MAX hex digits, put
 * lowercase into nonce, which holds TPA_EAR_NONCE_HEX_MAX + 1).  0 or -1. */
int srv_parse_result_query(const char *query, char *nonce, int *has_nonce);

/* The fleet page's ?verdict=pass|fail|none&after=ID (each optional, at
 * most once, any order): *verdict 0 (all), 1 pass, 2 fail, 3 none; after
 * (STORE_ID_HEX bytes) "" or a machine id; neither is written on -1.  0 or -1. */
int srv_parse_page_query(const char *query, int *verdict, char *after);

/* ---- result.c ---- */

/* Loads cfg.result_key, making it first when the file does not exist. */
int srv_result_key_load(srv_core *c, char *why, size_t whylen);
void srv_result_key_unload(srv_core *c);
/* The EAR JWT of a verdict document (NULL: no verdict yet), malloc'd;
 * NULL with why on failure. */
char *srv_result_sign(const srv_core *c, const char *verdict_json, const char *machine_id,
                      const char *nonce_hex, int64_t iat, char *why, size_t whylen);
/* Whether the policy that ruled a verdict (its document's "policy") still
 * rules the machine: the same name assigned, or the same default, with
 * the same document.  1 yes (or doc is no verdict document: the signer
 * refuses it), 0 no, -1 the store failed (why set). */
struct json_object;
int srv_policy_still_rules(srv *s, const store_machine *m, struct json_object *doc, char *why,
                           size_t whylen);
/* The same for a verdict document the server built and holds parsed. */
struct json_object;
char *srv_result_sign_doc(const srv_core *c, struct json_object *doc, const char *machine_id,
                          const char *nonce_hex, int64_t iat, char *why, size_t whylen);
/* GET /v1/.well-known/result-key */
void srv_result_jwk_reply(srv *s, struct evhttp_request *req);
/* GET /v1/machines/ID/result[?nonce=HEX] */
void srv_result_get(srv *s, struct evhttp_request *req, const char *id);

/* ---- logesc.c ---- */

/* Writes s (len bytes, any content) into out as printable ASCII: \n, \t,
 * \", \\ and \xNN for everything else outside 0x20..0x7e; truncated with
 * "..." to fit outlen.  Always NUL-terminates. */
void srv_log_escape(const char *s, size_t len, char *out, size_t outlen);

#endif
