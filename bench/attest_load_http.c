/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal HTTP/1.1 client over TLS for attest-load-gen: one keep-alive
 * connection per client thread, the server's certificate verified against
 * --ca and the URL's host, every connect, read and write bounded by a
 * timeout.  Only what the verifier's API needs: a request with
 * Content-Length, an answer with Content-Length (or closed by the server).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "attest_load.h"

/* An answer's headers and body: the largest the API sends is a verdict
 * (a few KB) or an error; a body beyond this is refused. */
#define MAX_HEADERS (32u * 1024)
#define MAX_BODY (4u * 1024 * 1024)
/* A reused connection idle longer than this is replaced before a request
 * that must not be sent twice: the server closes idle ones after 10 s. */
#define STALE_SECONDS 5.0

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int al_target_init(al_target *t, const char *url, const char *ca, const char *port_file,
                   int timeout_ms, char *why, size_t whylen)
{
	const char *h = url, *colon, *slash;
	size_t hl;
	char *end;
	unsigned long port = 443;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "--url must start with https:// (got '%s')", url);
		return -1;
	}
	h += 8;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (slash && slash[1] != 0) {
		snprintf(why, whylen, "--url takes no path ('%s')", url);
		return -1;
	}
	if (colon && (!slash || colon < slash)) {
		hl = (size_t)(colon - h);
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || (*end && *end != '/') || port < 1 ||
		    port > 65535) {
			snprintf(why, whylen, "--url has no valid port ('%s')", url);
			return -1;
		}
	} else {
		hl = slash ? (size_t)(slash - h) : strlen(h);
	}
	if (!hl || hl >= sizeof(t->host)) {
		snprintf(why, whylen, "--url has no valid host ('%s')", url);
		return -1;
	}
	memcpy(t->host, h, hl);
	t->host[hl] = 0;
	t->port = (unsigned)port;
	t->port_file = port_file;
	t->timeout_ms = timeout_ms;
	if (!(t->ctx = SSL_CTX_new(TLS_client_method()))) {
		snprintf(why, whylen, "cannot make a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
		snprintf(why, whylen, "--ca %s: cannot read the CA certificate", ca);
		SSL_CTX_free(t->ctx);
		t->ctx = NULL;
		ERR_clear_error();
		return -1;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* every connection of a run may resume the session of another */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT);
	return 0;
}

void al_target_clear(al_target *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}

void al_conn_init(al_conn *c, const al_target *t)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->fd = -1;
}

void al_conn_close(al_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl); /* no close_notify: the peer may be gone */
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ERR_clear_error();
}

static unsigned current_port(const al_target *t)
{
	char buf[32];
	FILE *f;
	unsigned long p;
	char *end;
	size_t n;
	if (!t->port_file || !(f = fopen(t->port_file, "r")))
		return t->port;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strtoul(buf, &end, 10);
	if (end == buf || p < 1 || p > 65535)
		return t->port;
	return (unsigned)p;
}

/* Waits until fd is ready for what SSL wants, or the deadline. */
static int wait_io(int fd, int want_write, double deadline)
{
	struct pollfd p = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
	for (;;) {
		int ms = (int)((deadline - mono()) * 1000);
		int n;
		if (ms <= 0)
			return -1;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
		if (n == 0)
			return -1;
	}
}

static int conn_open(al_conn *c, char *why, size_t whylen)
{
	const al_target *t = c->t;
	struct addrinfo hints, *res = NULL;
	char port[8];
	double deadline = mono() + t->timeout_ms / 1000.0;
	int fd = -1, one = 1, r;
	X509_VERIFY_PARAM *vp;

	al_conn_close(c);
	snprintf(port, sizeof(port), "%u", current_port(t));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(t->host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "%s: %s", t->host, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (errno != EINPROGRESS || wait_io(fd, 1, deadline) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			snprintf(why, whylen, "connect to %s:%s: %s", t->host, port,
			         err                    ? strerror(err)
			         : errno == EINPROGRESS ? "timed out"
			                                : strerror(errno));
			freeaddrinfo(res);
			close(fd);
			return -1;
		}
	}
	freeaddrinfo(res);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	if (!(c->ssl = SSL_new(t->ctx)) || SSL_set_fd(c->ssl, fd) != 1) {
		snprintf(why, whylen, "cannot make a TLS connection");
		al_conn_close(c);
		return -1;
	}
	vp = SSL_get0_param(c->ssl);
	/* the certificate must name the host of the URL, address or name */
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, t->host) != 1) {
		ERR_clear_error();
		X509_VERIFY_PARAM_set1_host(vp, t->host, 0);
		SSL_set_tlsext_host_name(c->ssl, t->host);
	}
	for (;;) {
		int rc = SSL_connect(c->ssl), e;
		if (rc == 1)
			break;
		e = SSL_get_error(c->ssl, rc);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_io(fd, e == SSL_ERROR_WANT_WRITE, deadline) == 0)
			continue;
		{
			long vr = SSL_get_verify_result(c->ssl);
			unsigned long ee = ERR_peek_last_error();
			char eb[160] = "";
			if (ee)
				ERR_error_string_n(ee, eb, sizeof(eb));
			snprintf(why, whylen, "TLS handshake with %s:%s failed: %s", t->host, port,
			         vr != X509_V_OK ? X509_verify_cert_error_string(vr)
			         : eb[0]         ? eb
			         : e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
			                 ? "timed out"
			                 : "connection closed");
		}
		al_conn_close(c);
		return -1;
	}
	c->last_used = mono();
	return 0;
}

static int write_all(al_conn *c, const char *p, size_t n, double deadline)
{
	while (n) {
		int w = SSL_write(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n), e;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		e = SSL_get_error(c->ssl, w);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_io(c->fd, e == SSL_ERROR_WANT_WRITE, deadline) == 0)
			continue;
		return -1;
	}
	return 0;
}

/* Reads more into c->buf: >0 bytes, 0 at EOF, -1 on error or timeout. */
static int read_more(al_conn *c, size_t limit, double deadline)
{
	if (c->len + 1 >= c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 16384;
		char *nb;
		if (nc > limit + 1)
			nc = limit + 1;
		if (c->len + 1 >= nc || !(nb = realloc(c->buf, nc)))
			return -1;
		c->buf = nb;
		c->cap = nc;
	}
	for (;;) {
		int n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len - 1)), e;
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = 0;
			return n;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_io(c->fd, e == SSL_ERROR_WANT_WRITE, deadline) == 0)
			continue;
		/* an EOF without close_notify is how a killed server ends */
		return e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? 0 : -1;
	}
}

static const char *find_header(const char *hdrs, const char *end, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = hdrs; p && p < end;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol || eol > end)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = eol + 2;
	}
	return NULL;
}

/* One exchange on an open connection.  Returns 0, -1 (error, nothing
 * received: *got_any 0 when the connection was found closed), -2 other. */
static int exchange(al_conn *c, const char *head, size_t headlen, const char *body, size_t len,
                    al_resp *r, int *got_any, char *why, size_t whylen)
{
	double deadline = mono() + c->t->timeout_ms / 1000.0;
	char *hend = NULL;
	const char *v;
	size_t hlen, need;
	long status;
	int close_after = 0, n;

	*got_any = 0;
	c->len = 0;
	if (write_all(c, head, headlen, deadline) != 0 ||
	    (len && write_all(c, body, len, deadline) != 0)) {
		snprintf(why, whylen, "sending the request failed (connection closed?)");
		return -1;
	}
	while (!(c->len && (hend = strstr(c->buf, "\r\n\r\n")))) {
		n = read_more(c, MAX_HEADERS, deadline);
		if (n <= 0) {
			snprintf(why, whylen, "%s",
			         n == 0 ? "the server closed the connection before answering"
			         : mono() >= deadline ? "no answer within the timeout"
			                              : "reading the answer failed");
			return c->len ? -2 : -1;
		}
		*got_any = 1;
	}
	hlen = (size_t)(hend - c->buf) + 4;
	if (strncmp(c->buf, "HTTP/1.", 7) != 0 || c->buf[8] != ' ' ||
	    (status = strtol(c->buf + 9, NULL, 10)) < 100 || status > 599) {
		snprintf(why, whylen, "the answer is not HTTP/1.x");
		return -2;
	}
	if ((v = find_header(c->buf, hend + 2, "Connection")) && strncasecmp(v, "close", 5) == 0)
		close_after = 1;
	if ((v = find_header(c->buf, hend + 2, "Transfer-Encoding")) &&
	    strncasecmp(v, "identity", 8) != 0) {
		snprintf(why, whylen,
		         "the answer has Transfer-Encoding, which this client does "
		         "not read");
		return -2;
	}
	if ((v = find_header(c->buf, hend + 2, "Content-Length"))) {
		char *e;
		unsigned long cl = strtoul(v, &e, 10);
		if (e == v || cl > MAX_BODY) {
			snprintf(why, whylen, "the answer's Content-Length is not one");
			return -2;
		}
		need = hlen + cl;
		while (c->len < need) {
			n = read_more(c, MAX_HEADERS + MAX_BODY, deadline);
			if (n <= 0) {
				snprintf(why, whylen, "the answer ended before its body did");
				return -2;
			}
		}
		if (c->len > need) {
			snprintf(why, whylen, "the server sent more than the answer");
			return -2;
		}
	} else {
		/* no length: the body runs to the end of the connection */
		while ((n = read_more(c, MAX_HEADERS + MAX_BODY, deadline)) > 0)
			;
		if (n < 0) {
			snprintf(why, whylen, "reading the answer failed");
			return -2;
		}
		close_after = 1;
	}
	r->status = (int)status;
	r->body = c->buf + hlen;
	r->body_len = c->len - hlen;
	if (close_after)
		al_conn_close(c);
	else
		c->last_used = mono();
	return 0;
}

int al_http(al_conn *c, const char *method, const char *path, const char *hdr, const char *body,
            size_t len, int retry_stale, al_resp *r, char *why, size_t whylen)
{
	char head[1024];
	int hl, rc, got_any, reused;
	unsigned port;

	if (c->ssl && !retry_stale && mono() - c->last_used > STALE_SECONDS)
		al_conn_close(c);
	for (int attempt = 0; attempt < 2; attempt++) {
		reused = c->ssl != NULL;
		if (!reused && conn_open(c, why, whylen) != 0)
			return -1;
		port = current_port(c->t);
		hl = snprintf(head, sizeof(head),
		              "%s %s HTTP/1.1\r\nHost: %s:%u\r\n%s%s%sContent-Length: %zu\r\n\r\n",
		              method, path, c->t->host, port,
		              len ? "Content-Type: application/json\r\n" : "", hdr ? hdr : "",
		              hdr ? "\r\n" : "", len);
		if (hl < 0 || (size_t)hl >= sizeof(head)) {
			snprintf(why, whylen, "request head too long");
			return -1;
		}
		rc = exchange(c, head, (size_t)hl, body, len, r, &got_any, why, whylen);
		if (rc == 0)
			return 0;
		al_conn_close(c);
		/* a keep-alive connection the server had closed: once more */
		if (!(rc == -1 && !got_any && reused && retry_stale))
			return -1;
	}
	return -1;
}
