/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One HTTPS request (http_client.h).  Each request is its own event base,
 * TLS context and connection: the commands make a handful of requests per
 * run (or per --interval round), so nothing is worth keeping between them,
 * and a fresh connection per request means a server restart between rounds
 * costs nothing.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/json.h"
#include "cli.h"
#include "http_client.h"

/* A parsed --server URL. */
struct target {
	struct evhttp_uri *uri;
	char host[256]; /* without IPv6 brackets */
	char hosthdr[270];
	int port;
	bool tls;
	bool ip; /* host is an IP literal: verified by address, no SNI */
	const char *prefix;
};

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int parse_target(const char *url, const char *cmd, struct target *t)
{
	const char *scheme, *host, *path;
	size_t hl;
	struct in_addr a4;
	struct in6_addr a6;

	memset(t, 0, sizeof(*t));
	if (!url || !(t->uri = evhttp_uri_parse(url))) {
		errmsg("%s: --server %s: not a URL (https://HOST[:PORT][/PREFIX])", cmd,
		       url ? url : "(none)");
		return EXIT_USAGE;
	}
	scheme = evhttp_uri_get_scheme(t->uri);
	host = evhttp_uri_get_host(t->uri);
	path = evhttp_uri_get_path(t->uri);
	if (!scheme || !host || !host[0]) {
		errmsg("%s: --server %s: not a URL (https://HOST[:PORT][/PREFIX])", cmd, url);
		goto bad;
	}
	if (evhttp_uri_get_userinfo(t->uri) || evhttp_uri_get_query(t->uri) ||
	    evhttp_uri_get_fragment(t->uri)) {
		errmsg("%s: --server %s: a server URL has no user, query or fragment", cmd, url);
		goto bad;
	}
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(t->host)) {
		errmsg("%s: --server %s: host name too long", cmd, url);
		goto bad;
	}
	memcpy(t->host, host, hl);
	t->host[hl] = 0;
	if (strcasecmp(scheme, "https") == 0) {
		t->tls = true;
	} else if (strcasecmp(scheme, "http") == 0) {
		/* a verdict or a machine list in clear text crosses no network */
		if (!is_loopback(t->host)) {
			errmsg("%s: --server %s: plain http:// only to a loopback address "
			       "(127.0.0.1, ::1); use https://",
			       cmd, url);
			goto bad;
		}
	} else {
		errmsg("%s: --server %s: scheme %s: use https://", cmd, url, scheme);
		goto bad;
	}
	t->ip = inet_pton(AF_INET, t->host, &a4) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1;
	t->port = evhttp_uri_get_port(t->uri);
	if (t->port < 0)
		t->port = t->tls ? 443 : 80;
	if (t->port == 0 || t->port > 65535) {
		errmsg("%s: --server %s: bad port", cmd, url);
		goto bad;
	}
	snprintf(t->hosthdr, sizeof(t->hosthdr), "%s%s%s:%d", strchr(t->host, ':') ? "[" : "",
	         t->host, strchr(t->host, ':') ? "]" : "", t->port);
	t->prefix = path ? path : "";
	return EXIT_OK;
bad:
	evhttp_uri_free(t->uri);
	t->uri = NULL;
	return EXIT_USAGE;
}

int http_check_opts(const struct http_opts *o, const char *cmd)
{
	struct target t;
	int rc;
	if (!o->url) {
		errmsg("%s: --server URL is required", cmd);
		return EXIT_USAGE;
	}
	if ((rc = parse_target(o->url, cmd, &t)) != EXIT_OK)
		return rc;
	if (t.tls && !o->ca) {
		errmsg("%s: --server %s: --ca FILE (the CA of the server's certificate) is "
		       "required",
		       cmd, o->url);
		rc = EXIT_USAGE;
	} else if (!o->cert != !o->key) {
		errmsg("%s: --cert and --key go together", cmd);
		rc = EXIT_USAGE;
	}
	evhttp_uri_free(t.uri);
	return rc;
}

/* ---- one exchange ---- */

struct exchange {
	const char *cmd, *url;
	struct event_base *base;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	struct http_response *resp;
	size_t max_body;
	bool done, timed_out, too_large, handshake_started, received;
	int alert; /* a TLS alert the server sent, -1 for none */
	bool with_cert, unframed;
	int req_error;     /* enum evhttp_request_error + 1, 0 for none */
	long verify_error; /* X509_V_OK when the chain verified or was not checked yet */
	int verify_depth;
	char verify_subject[256];
	int status;
	int rc;
};

static int ex_index = -1;

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct exchange *ex = ssl ? SSL_get_ex_data(ssl, ex_index) : NULL;
	if (!ok && ex && ex->verify_error == X509_V_OK) {
		X509 *c = X509_STORE_CTX_get_current_cert(ctx);
		ex->verify_error = X509_STORE_CTX_get_error(ctx);
		ex->verify_depth = X509_STORE_CTX_get_error_depth(ctx);
		if (c)
			X509_NAME_oneline(X509_get_subject_name(c), ex->verify_subject,
			                  sizeof(ex->verify_subject));
	}
	return ok;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct exchange *ex = SSL_get_ex_data(ssl, ex_index);
	(void)ret;
	if (ex && (where & SSL_CB_HANDSHAKE_START))
		ex->handshake_started = true;
}

/* Whether the server sent anything (else the connection never got that
 * far) and the alert it ended the connection with. */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
	struct exchange *ex = SSL_get_ex_data(ssl, ex_index);
	(void)version;
	(void)arg;
	if (!ex || write_p || content_type == SSL3_RT_HEADER ||
	    content_type == SSL3_RT_INNER_CONTENT_TYPE)
		return;
	ex->received = true;
	if (content_type == SSL3_RT_ALERT && len == 2 && ex->alert < 0)
		ex->alert = ((const unsigned char *)buf)[1];
}

static void keep_headers(struct exchange *ex, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	for (int i = 0; i < HTTP_MAX_WANT && ex->resp->want[i]; i++) {
		const char *v = evhttp_find_header(h, ex->resp->want[i]);
		if (v && !(ex->resp->value[i] = strdup(v)))
			ex->rc = EXIT_ENV;
	}
}

static void done_cb(struct evhttp_request *req, void *arg)
{
	struct exchange *ex = arg;
	struct evbuffer *in;
	size_t n;

	ex->done = true;
	event_base_loopbreak(ex->base);
	if (!req || evhttp_request_get_response_code(req) == 0) {
		ex->rc = EXIT_ENV;
		return;
	}
	ex->status = evhttp_request_get_response_code(req);
	{
		/* the end of the connection ends no answer (dirty shutdowns
		 * are allowed, below): only a length or chunks do */
		struct evkeyvalq *h = evhttp_request_get_input_headers(req);
		const char *te = evhttp_find_header(h, "Transfer-Encoding");
		if (!evhttp_find_header(h, "Content-Length") &&
		    !(te && strcasecmp(te, "chunked") == 0)) {
			ex->unframed = true;
			ex->rc = EXIT_ENV;
			return;
		}
	}
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	if (n > ex->max_body) {
		ex->too_large = true;
		ex->rc = EXIT_ENV;
		return;
	}
	if (!(ex->resp->body = malloc(n + 1))) {
		ex->rc = EXIT_ENV;
		return;
	}
	if (evbuffer_remove(in, ex->resp->body, n) != (int)n) {
		ex->rc = EXIT_ENV;
		return;
	}
	ex->resp->body[n] = 0;
	ex->resp->body_len = n;
	ex->rc = EXIT_OK;
	keep_headers(ex, req);
}

static void error_cb(enum evhttp_request_error e, void *arg)
{
	struct exchange *ex = arg;
	ex->req_error = (int)e + 1;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	(void)fd;
	(void)what;
	ex->timed_out = true;
	event_base_loopbreak(ex->base);
}

/*
 * Why a connection failed: libevent does not keep the connect error, so a
 * plain TCP connect to the same place (bounded, 5 s) finds it out.  0 when
 * that connect succeeds, else -1 and the reason in why.
 */
static int probe_connect(const struct target *t, char *why, size_t len)
{
	struct addrinfo hints, *ai = NULL, *a;
	char port[8];
	int r, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", t->port);
	if ((r = getaddrinfo(t->host, port, &hints, &ai)) != 0) {
		snprintf(why, len, "cannot resolve %s: %s", t->host, gai_strerror(r));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                a->ai_protocol);
		struct pollfd pfd;
		socklen_t el = sizeof(err);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			close(fd);
			freeaddrinfo(ai);
			return 0;
		}
		err = errno;
		if (err == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 5000) != 1)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
				err = errno;
		}
		close(fd);
		if (err == 0) {
			freeaddrinfo(ai);
			return 0;
		}
	}
	freeaddrinfo(ai);
	snprintf(why, len, "%s", strerror(err ? err : ECONNREFUSED));
	return -1;
}

/* Why an exchange failed, reported once. */
static void report_failure(struct exchange *ex, const struct target *t, int timeout)
{
	char tls[256] = "", why[300];
	unsigned long e;
	if (ex->bev)
		while ((e = bufferevent_get_openssl_error(ex->bev)) != 0)
			/* libevent files SSL_get_error()'s code (a socket error)
			 * as lib 0: that is no TLS error */
			if (!tls[0] && ERR_GET_LIB(e) != 0 &&
			    /* OpenSSL 3's name for an EOF without close_notify:
			     * reported as the cut it is, below */
			    ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
				ERR_error_string_n(e, tls, sizeof(tls));
	if (ex->verify_error != X509_V_OK) {
		errmsg("%s: %s: the server's certificate is not accepted (--ca): %s (certificate "
		       "at depth %d, %s)",
		       ex->cmd, ex->url, X509_verify_cert_error_string(ex->verify_error),
		       ex->verify_depth, ex->verify_subject[0] ? ex->verify_subject : "?");
	} else if (ex->timed_out || ex->req_error == EVREQ_HTTP_TIMEOUT + 1) {
		errmsg("%s: %s: no complete answer within %d s (%s)", ex->cmd, ex->url, timeout,
		       !ex->handshake_started && t->tls ? "connecting"
		       : t->tls                         ? "TLS handshake or answer"
		                                        : "answer");
	} else if (ex->too_large || ex->req_error == EVREQ_HTTP_DATA_TOO_LONG + 1) {
		errmsg("%s: %s: the answer is larger than %zu bytes (or its headers than %u): "
		       "refused",
		       ex->cmd, ex->url, ex->max_body, HTTP_MAX_HEADERS);
	} else if (ex->unframed) {
		errmsg("%s: %s: the answer has neither a Content-Length nor chunks: a cut one "
		       "could not be told from a whole one",
		       ex->cmd, ex->url);
	} else if (ex->alert >= 0 && ex->alert != SSL_AD_CLOSE_NOTIFY) {
		bool cert = ex->alert == SSL_AD_UNKNOWN_CA || ex->alert == SSL_AD_BAD_CERTIFICATE ||
		            ex->alert == SSL_AD_CERTIFICATE_REQUIRED ||
		            ex->alert == SSL_AD_ACCESS_DENIED;
		errmsg("%s: %s: the server ended the TLS connection: %s%s", ex->cmd, ex->url,
		       SSL_alert_desc_string_long(ex->alert),
		       cert ? " (it does not accept the client certificate, --cert)" : "");
	} else if (tls[0]) {
		errmsg("%s: %s: TLS: %s", ex->cmd, ex->url, tls);
	} else if (ex->req_error == EVREQ_HTTP_INVALID_HEADER + 1) {
		errmsg("%s: %s: the answer is not HTTP", ex->cmd, ex->url);
	} else if (!ex->received && probe_connect(t, why, sizeof(why)) != 0) {
		errmsg("%s: %s: cannot connect to %s: %s", ex->cmd, ex->url, t->hosthdr, why);
	} else if (t->tls && !ex->received) {
		errmsg("%s: %s: the server at %s closed the connection before the TLS handshake",
		       ex->cmd, ex->url, t->hosthdr);
	} else {
		errmsg("%s: %s: the connection closed before a complete answer%s", ex->cmd, ex->url,
		       ex->with_cert ? " (a server that does not accept the client certificate, "
		                       "--cert, may close so)"
		                     : "");
	}
}

static SSL_CTX *make_ctx(const struct http_opts *o, const char *cmd)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256];
	if (!ctx) {
		errmsg("%s: cannot create a TLS context", cmd);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	ERR_clear_error();
	if (SSL_CTX_load_verify_file(ctx, o->ca) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		errmsg("%s: --ca %s: cannot read CA certificates: %s", cmd, o->ca, why);
		goto fail;
	}
	if (o->cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
			ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
			errmsg("%s: --cert %s: cannot read the client certificate: %s", cmd,
			       o->cert, why);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
				errmsg("%s: --key %s: not the key of --cert %s", cmd, o->key,
				       o->cert);
				goto fail;
			}
			ERR_error_string_n(e, why, sizeof(why));
			errmsg("%s: --key %s: cannot read the private key: %s", cmd, o->key, why);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			errmsg("%s: --key %s: not the key of --cert %s", cmd, o->key, o->cert);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL *make_ssl(SSL_CTX *ctx, const struct target *t, struct exchange *ex)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	SSL_set_ex_data(ssl, ex_index, ex);
	if (t->ip) {
		/* an address is checked against the certificate's iPAddress SANs */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host) != 1)
			goto fail;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, t->host) != 1 || SSL_set_tlsext_host_name(ssl, t->host) != 1)
			goto fail;
	}
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

int http_request(const struct http_opts *o, const char *cmd, const char *method, const char *path,
                 const char *const *headers, const void *body, size_t body_len,
                 struct http_response *resp)
{
	struct target t;
	struct exchange ex;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	struct evhttp_request *req;
	struct evkeyvalq *oh;
	struct event *deadline = NULL;
	enum evhttp_cmd_type type;
	int timeout = o->timeout > 0 ? o->timeout : HTTP_DEFAULT_TIMEOUT;
	char *fullpath = NULL;
	size_t pl;
	int rc;

	resp->status = 0;
	resp->body = NULL;
	resp->body_len = 0;
	for (int i = 0; i < HTTP_MAX_WANT; i++)
		resp->value[i] = NULL;
	if (strcmp(method, "GET") == 0)
		type = EVHTTP_REQ_GET;
	else if (strcmp(method, "POST") == 0)
		type = EVHTTP_REQ_POST;
	else if (strcmp(method, "PUT") == 0)
		type = EVHTTP_REQ_PUT;
	else if (strcmp(method, "DELETE") == 0)
		type = EVHTTP_REQ_DELETE;
	else
		return EXIT_USAGE;
	if ((rc = http_check_opts(o, cmd)) != EXIT_OK)
		return rc;
	if ((rc = parse_target(o->url, cmd, &t)) != EXIT_OK)
		return rc;
	/* a server that closes while we write must not kill the process */
	signal(SIGPIPE, SIG_IGN);

	memset(&ex, 0, sizeof(ex));
	ex.cmd = cmd;
	ex.url = o->url;
	ex.resp = resp;
	ex.max_body = o->max_body ? o->max_body : HTTP_MAX_BODY;
	ex.verify_error = X509_V_OK;
	ex.alert = -1;
	ex.with_cert = o->cert != NULL;
	ex.rc = EXIT_ENV;
	rc = EXIT_ENV;

	pl = strlen(t.prefix);
	while (pl && t.prefix[pl - 1] == '/')
		pl--;
	if (!(fullpath = malloc(pl + strlen(path) + 1)))
		goto nomem;
	memcpy(fullpath, t.prefix, pl);
	memcpy(fullpath + pl, path, strlen(path) + 1);

	if (!(ex.base = event_base_new())) {
		errmsg("%s: cannot create an event base", cmd);
		goto out;
	}
	if (t.tls) {
		if (ex_index < 0 &&
		    (ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0)
			goto nomem;
		if (!(ctx = make_ctx(o, cmd)))
			goto out;
		if (!(ssl = make_ssl(ctx, &t, &ex))) {
			errmsg("%s: %s: cannot set up TLS for %s", cmd, o->url, t.host);
			goto out;
		}
		ex.bev = bufferevent_openssl_socket_new(
		        ex.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (!ex.bev)
			goto nomem;
		ssl = NULL; /* the bufferevent's now */
		/* The server closes after its answer without a TLS close_notify
		 * (libevent frees the SSL); an answer must be framed by
		 * Content-Length or chunks (done_cb), which evhttp checks, so
		 * an EOF after it is no truncation. */
		bufferevent_openssl_set_allow_dirty_shutdown(ex.bev, 1);
	} else {
		ex.bev = bufferevent_socket_new(ex.base, -1,
		                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (!ex.bev)
			goto nomem;
	}
	ex.conn = evhttp_connection_base_bufferevent_new(ex.base, NULL, ex.bev, t.host,
	                                                 (unsigned short)t.port);
	if (!ex.conn) {
		bufferevent_free(ex.bev);
		ex.bev = NULL;
		errmsg("%s: %s: cannot create a connection", cmd, o->url);
		goto out;
	}
	evhttp_connection_set_timeout(ex.conn, timeout);
	evhttp_connection_set_retries(ex.conn, 0);
	evhttp_connection_set_max_body_size(ex.conn, (ev_ssize_t)ex.max_body);
	evhttp_connection_set_max_headers_size(ex.conn, HTTP_MAX_HEADERS);

	if (!(req = evhttp_request_new(done_cb, &ex)))
		goto nomem;
	evhttp_request_set_error_cb(req, error_cb);
	oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Host", t.hosthdr);
	evhttp_add_header(oh, "Accept", "application/json");
	evhttp_add_header(oh, "Connection", "close");
	evhttp_add_header(oh, "User-Agent", "tpmattest/" TPA_VERSION);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		evhttp_add_header(oh, headers[i], headers[i + 1]);
	if (body) {
		char cl[32];
		evhttp_add_header(oh, "Content-Type", "application/json");
		snprintf(cl, sizeof(cl), "%zu", body_len);
		evhttp_add_header(oh, "Content-Length", cl);
		if (evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len) != 0) {
			evhttp_request_free(req);
			goto nomem;
		}
	} else if (type == EVHTTP_REQ_POST || type == EVHTTP_REQ_PUT) {
		evhttp_add_header(oh, "Content-Length", "0");
	}
	/* the whole exchange, not each read, is bounded: a server that sends
	 * a byte every few seconds does not hold the attester forever */
	{
		struct timeval tv = {timeout, 0};
		if (!(deadline = evtimer_new(ex.base, deadline_cb, &ex)) ||
		    evtimer_add(deadline, &tv) != 0) {
			evhttp_request_free(req);
			goto nomem;
		}
	}
	if (evhttp_make_request(ex.conn, req, type, fullpath) != 0) {
		/* evhttp frees req on failure */
		errmsg("%s: %s: cannot start the request", cmd, o->url);
		goto out;
	}
	event_base_dispatch(ex.base);
	if (!ex.done) {
		/* the deadline: evhttp_connection_free below cancels the request
		 * without calling done_cb */
		ex.rc = EXIT_ENV;
		ex.timed_out = true;
	}
	if (ex.rc != EXIT_OK) {
		report_failure(&ex, &t, timeout);
		http_response_clear(resp);
		rc = EXIT_ENV;
		goto out;
	}
	resp->status = ex.status;
	rc = EXIT_OK;
	goto out;
nomem:
	errmsg("%s: %s: out of memory", cmd, o->url);
out:
	if (ex.conn)
		evhttp_connection_free(ex.conn);
	if (deadline)
		event_free(deadline);
	if (ex.base)
		event_base_free(ex.base);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	evhttp_uri_free(t.uri);
	free(fullpath);
	return rc;
}

void http_response_clear(struct http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	for (int i = 0; i < HTTP_MAX_WANT; i++) {
		free(resp->value[i]);
		resp->value[i] = NULL;
	}
}

struct json_object *http_json(const struct http_response *resp)
{
	struct json_object *o = NULL;
	if (!resp->body || tpa_json_parse(resp->body, resp->body_len, &o, NULL, 0) != TPA_OK)
		return NULL;
	return o;
}

void escape_into(char *buf, size_t len, const char *s)
{
	size_t n = 0;
	if (!len)
		return;
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		char tmp[8];
		const char *add = tmp;
		switch (*p) {
		case '\n': add = "\\n"; break;
		case '\r': add = "\\r"; break;
		case '\t': add = "\\t"; break;
		case '\\': add = "\\\\"; break;
		default:
			/* UTF-8 above ASCII passes: a name may be any UTF-8 (docs/api.md),
			 * and only C0/C1-free bytes reach the terminal */
			if (*p < 0x20 || *p == 0x7f)
				snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			else {
				tmp[0] = (char)*p;
				tmp[1] = 0;
			}
		}
		size_t al = strlen(add);
		if (n + al >= len)
			break;
		memcpy(buf + n, add, al);
		n += al;
	}
	buf[n] = 0;
}

void print_escaped(FILE *f, const char *s)
{
	char buf[1100];
	escape_into(buf, sizeof(buf), s);
	fputs(buf, f);
}

static const char *member_str(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *http_error_text(const struct http_response *resp, char *buf, size_t len)
{
	struct json_object *o = http_json(resp);
	const char *err = member_str(o, "error"), *reason = member_str(o, "reason"),
	           *check = member_str(o, "check");
	char e[80], r[600], c[80];
	if (!err) {
		snprintf(buf, len, "HTTP %d (the answer is not a tpmattest error document)",
		         resp->status);
		json_object_put(o);
		return buf;
	}
	escape_into(e, sizeof(e), err);
	escape_into(r, sizeof(r), reason ? reason : "");
	escape_into(c, sizeof(c), check ? check : "");
	snprintf(buf, len, "%s%s%s%s%s%s (HTTP %d)", e, check ? " (" : "", check ? c : "",
	         check ? ")" : "", reason ? ": " : "", reason ? r : "", resp->status);
	json_object_put(o);
	return buf;
}

int http_exit_for_status(int status)
{
	switch (status) {
	case 400:
	case 413: return EXIT_MALFORMED;
	case 401:
	case 403:
	case 404:
	case 409: return EXIT_NO;
	default: return status >= 200 && status < 300 ? EXIT_OK : EXIT_ENV;
	}
}
