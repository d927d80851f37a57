/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One HTTPS request and its answer, for the attester's and the admin's
 * commands (docs/api.md).  libevent evhttp over bufferevent_openssl; the
 * server is verified against --ca only (never the system store), by name
 * (SNI and SSL_set1_host) or by IP address for an IP literal.  Plain
 * http:// only to a loopback address literal, for debugging.
 */
#ifndef TPA_CLI_HTTP_CLIENT_H
#define TPA_CLI_HTTP_CLIENT_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#define HTTP_DEFAULT_TIMEOUT 30      /* seconds: connect, TLS and the whole answer */
#define HTTP_MAX_BODY (64u << 20)    /* the largest answer read */
#define HTTP_MAX_HEADERS (64u << 10) /* the largest header block read */
#define HTTP_MAX_WANT 4              /* response headers a caller may ask for */

struct http_opts {
	const char *url;  /* https://HOST[:PORT][/PREFIX] (--server) */
	const char *ca;   /* PEM file of the CA(s) that issue the server's certificate */
	const char *cert; /* optional client certificate chain (PEM), with key */
	const char *key;  /* its private key (PEM) */
	int timeout;      /* seconds for the whole request; 0: HTTP_DEFAULT_TIMEOUT */
	size_t max_body;  /* 0: HTTP_MAX_BODY */
};

struct http_response {
	int status; /* the HTTP status code */
	char *body; /* malloc'd, NUL-terminated (a NUL inside is possible) */
	size_t body_len;
	const char *want[HTTP_MAX_WANT]; /* header names to keep, NULL-terminated (caller's) */
	char *value[HTTP_MAX_WANT];      /* their values (malloc'd) or NULL when absent */
};

/*
 * Checks the options as a usage matter (URL shape and scheme, --ca given
 * for https, --cert and --key together) without connecting.  Reports the
 * problem once and returns EXIT_USAGE, else EXIT_OK.
 */
int http_check_opts(const struct http_opts *o, const char *cmd);

/*
 * method path (under the URL's prefix, starting with "/") with body (NULL
 * for none; sent as application/json) and extra request headers (name,
 * value, ..., NULL).  EXIT_OK with *resp filled (any status: the caller
 * judges it), or EXIT_USAGE / EXIT_ENV after reporting once why, naming
 * the URL: bad URL or unreadable --ca/--cert/--key, connection refused,
 * TLS failure (the certificate verification error), timeout, an answer
 * above the cap.  resp->want is the caller's; everything else in *resp is
 * written by the call and released with http_response_clear.
 */
int http_request(const struct http_opts *o, const char *cmd, const char *method, const char *path,
                 const char *const *headers, const void *body, size_t body_len,
                 struct http_response *resp);

void http_response_clear(struct http_response *resp);

/*
 * The answer's body as JSON, read strictly (tpa_json_parse).  NULL when it
 * is not JSON (or is the document null).
 */
struct json_object *http_json(const struct http_response *resp);

/* For an error answer ({"error","reason","check"}): a one-line reason
 * (the server's error code, check and reason, escaped), in buf. */
const char *http_error_text(const struct http_response *resp, char *buf, size_t len);

/* Writes s to f with every byte outside printable ASCII escaped (\n, \t,
 * \\, \xHH), so that a server or a machine name cannot put control
 * characters on a terminal. */
void print_escaped(FILE *f, const char *s);
/* The same into buf (truncated, always NUL-terminated). */
void escape_into(char *buf, size_t len, const char *s);

/* Maps an answer's status to an exit status for errors: 400 and 413
 * malformed (3), 401/403/404/409 a definite no (1), 429/5xx and anything
 * else environment (4). */
int http_exit_for_status(int status);

#endif
