/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest serve, inside: the configuration, the running server, and the
 * pieces each file provides.  serve.c reads options and runs the loop,
 * http.c is the transport (TLS, limits, deadlines, admin authentication,
 * answers), handlers.c the API (docs/api.md), requests.c the readers of
 * request bodies and paths (fuzzed), metrics.c the Prometheus counters,
 * logesc.c escaping of untrusted strings for the log.
 */
#ifndef TPA_SERVER_H
#define TPA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#define SRV_DEFAULT_NONCES_PER_MACHINE 4
#define SRV_DEFAULT_MAX_NONCES 100000
#define SRV_DEFAULT_CHALLENGE_LIFETIME 600
/* Parsed event logs kept in memory, one per machine, least recently used
 * dropped first. */
#define SRV_EVENTLOG_CACHE 256
#define SRV_POLICY_CACHE 64

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
	unsigned nonce_lifetime, nonces_per_machine, max_nonces, challenge_lifetime;
} srv_config;

struct srv_eventlog_slot {
	char machine[STORE_ID_HEX];
	uint8_t sha256[32];
	struct tpa_eventlog *log;
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
} srv_metrics;

void srv_hist_add(srv_hist *h, double seconds);
/* The Prometheus text (malloc'd). */
char *srv_metrics_text(const srv_metrics *m, const store_stats *st, size_t connections_open);

/* ---- the running server ---- */

struct srv {
	srv_config cfg;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct ssl_ctx_st *ssl;
	int ssl_conn_index; /* SSL ex_data index of a connection's bookkeeping */
	size_t connections_open;
	bool listener_paused;
	store *st;
	struct tpa_ekstore *roots;
	struct tpa_policy *default_policy;
	struct srv_eventlog_slot logs[SRV_EVENTLOG_CACHE];
	struct srv_policy_slot policies[SRV_POLICY_CACHE];
	uint64_t tick;
	srv_metrics metrics;
	uint16_t port; /* bound */
};

/* ---- server.c ---- */

/* Runs the server until SIGINT or SIGTERM (serve.h). */

/* ---- http.c ---- */

/* Sets up TLS (unless insecure), the listener and evhttp on s->base. */
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

/* ---- logesc.c ---- */

/* Writes s (len bytes, any content) into out as printable ASCII: \n, \t,
 * \", \\ and \xNN for everything else outside 0x20..0x7e; truncated with
 * "..." to fit outlen.  Always NUL-terminates. */
void srv_log_escape(const char *s, size_t len, char *out, size_t outlen);

#endif
