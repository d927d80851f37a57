/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The transport: libevent's evhttp over bufferevent_openssl, one event
 * loop.  Nothing here decides a verdict.
 *
 * Limits (docs/api.md "Limits").  evhttp caps the body and the headers and
 * times out idle reads and writes.  What it lacks in libevent 2.1 is done
 * here, per connection, with the bookkeeping hung on the connection's SSL
 * object (ex_data, whose free callback runs when evhttp frees the
 * connection):
 *  - a deadline: the TLS handshake and each request must be read within
 *    request_timeout of the connection opening or of the previous answer,
 *    so a client sending one byte a second cannot hold a connection; on
 *    expiry the socket is shut down and evhttp frees the connection;
 *  - a bound on open connections: at max_connections the listener is
 *    paused and further clients wait in the kernel's backlog.
 * A slow client costs one connection slot, never the loop: nothing blocks
 * on a socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server.h"

struct conn {
	srv *s;
	struct event *deadline;
	struct bufferevent *bev;
};

static void ssl_err(char *why, size_t whylen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, whylen, "%s %s: %s", what, path, buf);
	ERR_clear_error();
}

/* Accept any client certificate at the handshake; the admin endpoints
 * look at the verification result (srv_require_admin).  Attesters come
 * without one. */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
	struct conn *c = ptr;
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return;
	if (c->deadline)
		event_free(c->deadline);
	SRV_METRIC(c->s, c->s->connections_open--);
	if (c->s->listener_paused && c->s->connections_open < c->s->max_connections) {
		evconnlistener_enable(c->s->listener);
		c->s->listener_paused = false;
	}
	free(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	evutil_socket_t sock = bufferevent_getfd(c->bev);
	(void)fd;
	(void)what;
	/* evhttp sees end of file and frees the connection (and so c) */
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

static void arm_deadline(struct conn *c)
{
	struct timeval tv = {(time_t)c->s->cfg.request_timeout, 0};
	if (c->deadline)
		event_add(c->deadline, &tv);
}

static struct conn *conn_of(srv *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;
	if (!evcon || !(bev = evhttp_connection_get_bufferevent(evcon)) || !s->ssl ||
	    !(ssl = bufferevent_openssl_get_ssl(bev)))
		return NULL;
	return SSL_get_ex_data(ssl, s->ssl_conn_index);
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	srv *s = arg;
	SSL *ssl;
	struct conn *c;
	struct bufferevent *bev;

	if (!(ssl = SSL_new(s->ssl)))
		return NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		SSL_free(ssl);
		return NULL;
	}
	c->s = s;
	/* from here SSL_free frees c and gives its slot back */
	SRV_METRIC(s, s->connections_open++);
	if (!SSL_set_ex_data(ssl, s->ssl_conn_index, c)) {
		SRV_METRIC(s, s->connections_open--);
		free(c);
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	c->bev = bev;
	c->deadline = evtimer_new(base, deadline_cb, c);
	arm_deadline(c);
	if (s->connections_open >= s->max_connections && !s->listener_paused) {
		evconnlistener_disable(s->listener);
		s->listener_paused = true;
	}
	return bev;
}

static int tls_setup(srv_core *s, char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509_NAME) * names;
	if (!ctx) {
		ssl_err(why, whylen, "TLS", "context");
		return TPA_E_CRYPTO;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* every connection's client certificate is verified afresh */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, s->cfg.tls_cert) != 1) {
		ssl_err(why, whylen, "--tls-cert", s->cfg.tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, s->cfg.tls_key, SSL_FILETYPE_PEM) != 1) {
		ssl_err(why, whylen, "--tls-key", s->cfg.tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(why, whylen, "--tls-key", "does not match --tls-cert:");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, s->cfg.admin_ca, NULL) != 1) {
		ssl_err(why, whylen, "--admin-ca", s->cfg.admin_ca);
		goto fail;
	}
	if ((names = SSL_load_client_CA_file(s->cfg.admin_ca)) != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
	SSL_CTX_set_verify_depth(ctx, 4);
	s->ssl_conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free_cb);
	if (s->ssl_conn_index < 0) {
		ssl_err(why, whylen, "TLS", "ex_data");
		goto fail;
	}
	s->ssl = ctx;
	return TPA_OK;
fail:
	SSL_CTX_free(ctx);
	return TPA_E_IO;
}

static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sl, char *why,
                        size_t whylen)
{
	char host[64];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hl;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || !colon[1])
		goto bad;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || colon[1] < '0' || colon[1] > '9')
		goto bad;
	if (h == spec + 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*sl = sizeof(*in);
	}
	return 0;
bad:
	snprintf(why, whylen,
	         "--listen %s: not ADDR:PORT (an IPv4 address or [IPv6], a port 0..65535)", spec);
	return -1;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

int srv_http_listen(srv_core *c, char *why, size_t whylen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sl, bl = sizeof(bound);
	int r, one = 1, fd;

	c->listen_fd = -1;
	if (parse_listen(c->cfg.listen, &ss, &sl, why, whylen) != 0)
		return TPA_E_INVALID_ARG;
	if (c->cfg.insecure_http && !is_loopback(&ss)) {
		snprintf(why, whylen,
		         "--insecure-http: %s is not a loopback address; plain HTTP would carry "
		         "admin requests and verdicts unprotected",
		         c->cfg.listen);
		return TPA_E_INVALID_ARG;
	}
	if (!c->cfg.insecure_http && (r = tls_setup(c, why, whylen)) != TPA_OK)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 512) != 0) {
		snprintf(why, whylen, "--listen %s: cannot listen: %s", c->cfg.listen,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return TPA_E_IO;
	}
	/* Answers go out in more than one segment (TLS records); with Nagle
	 * each waits for the client's delayed ACK, 40 ms.  Linux gives
	 * accepted sockets the listener's TCP_NODELAY. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
		c->port = ntohs(bound.ss_family == AF_INET6
		                        ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                        : ((struct sockaddr_in *)&bound)->sin_port);
	c->listen_fd = fd;
	return TPA_OK;
}

void srv_http_unlisten(srv_core *c)
{
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = -1;
	if (c->ssl)
		SSL_CTX_free(c->ssl);
	c->ssl = NULL;
}

int srv_http_start(srv *s, char *why, size_t whylen)
{
	/* each worker's listener on its own descriptor of the one socket */
	int fd = fcntl(s->core->listen_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(why, whylen, "--listen %s: %s", s->cfg.listen, strerror(errno));
		return TPA_E_IO;
	}
	s->ssl = s->core->ssl;
	s->ssl_conn_index = s->core->ssl_conn_index;
	s->port = s->core->port;
	s->listener = evconnlistener_new(s->base, NULL, NULL,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!s->listener) {
		close(fd);
		snprintf(why, whylen, "--listen %s: cannot take the socket", s->cfg.listen);
		return TPA_E_IO;
	}
	if (!(s->http = evhttp_new(s->base))) {
		snprintf(why, whylen, "evhttp: out of memory");
		return TPA_E_NOMEM;
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)s->cfg.max_body);
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)s->cfg.max_headers);
	evhttp_set_timeout(s->http, (int)s->cfg.request_timeout);
	/* every method reaches the router, which answers 405 in JSON (evhttp
	 * would answer 501 in HTML) */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(s->http, "application/json");
	if (s->ssl)
		evhttp_set_bevcb(s->http, bevcb, s);
	evhttp_set_gencb(s->http, srv_route, s);
	if (!evhttp_bind_listener(s->http, s->listener)) {
		evconnlistener_free(s->listener);
		s->listener = NULL;
		snprintf(why, whylen, "evhttp: cannot take the listener");
		return TPA_E_IO;
	}
	/* evhttp owns and frees it now */
	return TPA_OK;
}

void srv_http_stop(srv *s)
{
	/* connections freed below must not wake the listener evhttp frees */
	s->listener_paused = false;
	if (s->http)
		evhttp_free(s->http);
	else if (s->listener)
		evconnlistener_free(s->listener);
	s->http = NULL;
	s->listener = NULL;
	s->ssl = NULL;
}

int srv_require_admin(srv *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = (bev && s->ssl) ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *peer;
	long vr;

	if (!ssl) {
		/* --insecure-http on loopback: no certificates to look at */
		srv_reply_error(s, req, 401, "admin_certificate_required", NULL,
		                "admin endpoints need a TLS client certificate from --admin-ca; "
		                "this server runs plain HTTP");
		return -1;
	}
	if (!(peer = SSL_get0_peer_certificate(ssl))) {
		srv_reply_error(s, req, 401, "admin_certificate_required", NULL,
		                "this endpoint needs a TLS client certificate from the admin CA");
		return -1;
	}
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		srv_reply_error(s, req, 403, "admin_certificate_refused", NULL,
		                "the client certificate does not chain to the admin CA: %s",
		                X509_verify_cert_error_string(vr));
		return -1;
	}
	return 0;
}

static void count_status(srv *s, int code)
{
	pthread_mutex_lock(&s->mlock);
	if (code < 300)
		s->metrics.http_2xx++;
	else if (code < 500)
		s->metrics.http_4xx++;
	else
		s->metrics.http_5xx++;
	pthread_mutex_unlock(&s->mlock);
}

static void log_request(srv *s, struct evhttp_request *req, int code)
{
	char esc[512];
	const char *uri = evhttp_request_get_uri(req);
	const char *m;
	if (s->cfg.quiet)
		return;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: m = "GET"; break;
	case EVHTTP_REQ_POST: m = "POST"; break;
	case EVHTTP_REQ_PUT: m = "PUT"; break;
	case EVHTTP_REQ_DELETE: m = "DELETE"; break;
	case EVHTTP_REQ_HEAD: m = "HEAD"; break;
	case EVHTTP_REQ_OPTIONS: m = "OPTIONS"; break;
	case EVHTTP_REQ_TRACE: m = "TRACE"; break;
	case EVHTTP_REQ_CONNECT: m = "CONNECT"; break;
	case EVHTTP_REQ_PATCH: m = "PATCH"; break;
	default: m = "?"; break;
	}
	srv_log_escape(uri ? uri : "", uri ? strlen(uri) : 0, esc, sizeof(esc));
	fprintf(stderr, "tpmattest serve: %s \"%s\" %d\n", m, esc, code);
}

void srv_reply_text(srv *s, struct evhttp_request *req, int code, const char *ctype,
                    const char *body)
{
	struct evbuffer *b = evbuffer_new();
	struct conn *c = conn_of(s, req);
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Content-Type", ctype);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	/* every answer, JSON and errors included, is data to a browser that
	 * comes to it: never sniffed as HTML, never framed, nothing loaded
	 * (the status page sets its own, wider policy) */
	if (!evhttp_find_header(oh, "X-Content-Type-Options"))
		evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	if (!evhttp_find_header(oh, "Content-Security-Policy"))
		evhttp_add_header(oh, "Content-Security-Policy",
		                  "default-src 'none'; frame-ancestors 'none'");
	if (b)
		evbuffer_add(b, body, strlen(body));
	count_status(s, code);
	log_request(s, req, code);
	evhttp_send_reply(req, code, NULL, b);
	if (b)
		evbuffer_free(b);
	/* the next request on this connection has its own deadline */
	if (c)
		arm_deadline(c);
}

void srv_reply_json(srv *s, struct evhttp_request *req, int code, const char *json)
{
	srv_reply_text(s, req, code, "application/json", json);
}

void srv_reply_error(srv *s, struct evhttp_request *req, int status, const char *code,
                     const char *check, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;
	struct json_object *o = json_object_new_object();
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!o) {
		srv_reply_json(s, req, 500, "{\"error\":\"nomem\"}");
		return;
	}
	json_object_object_add(o, "error", json_object_new_string(code));
	if (check)
		json_object_object_add(o, "check", json_object_new_string(check));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	srv_reply_json(s, req, status,
	               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int srv_framing_ok(srv *s, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	unsigned cl = 0, te = 0;
	for (kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
		if (evutil_ascii_strcasecmp(kv->key, "Content-Length") == 0)
			cl++;
		else if (evutil_ascii_strcasecmp(kv->key, "Transfer-Encoding") == 0)
			te++;
	}
	if (cl <= 1 && te + cl <= 1)
		return 0;
	/* RFC 9112 6.3: a message whose length is ambiguous is refused, and
	 * the connection closed (what follows on it cannot be framed) */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	srv_reply_error(s, req, 400, "malformed", NULL, "%s: the body's length is ambiguous",
	                cl > 1 ? "more than one Content-Length"
	                       : "Content-Length and Transfer-Encoding");
	return -1;
}

const uint8_t *srv_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = in ? evbuffer_get_length(in) : 0;
	static const uint8_t empty[1] = {0};
	*len = n;
	if (!n)
		return empty;
	return evbuffer_pullup(in, -1);
}
