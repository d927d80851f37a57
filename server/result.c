/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Results for relying parties (issue 13): the server's result key, its
 * public JWK, and EAR JWTs (<tpmattest/ear.h>) of the machines' verdicts.
 *
 * The key is a P-256 private key in a PEM file (--result-key), made on the
 * first start when the file does not exist: written to a temporary file of
 * mode 0600 in the same directory, synced, then linked to its name, so a
 * crash leaves either no key or a whole one, and two servers starting at
 * once on one file end up with the same key (the second link fails and it
 * loads the first's).  A key file that others may read or write, or that
 * is not a regular file of the server's user, is refused.
 *
 * Whoever may create a name in the key's directory can put something
 * else there, also between our open and our link: the name is opened
 * O_NOFOLLOW (a symbolic link is refused, ELOOP) and O_NONBLOCK (a FIFO
 * opens at once instead of waiting for a writer, and fstat refuses it);
 * the key is created under a mkstemp name (O_EXCL) and link(2), which
 * neither follows nor replaces what is at the name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/ear.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"
#include "server.h"
#include "verifier/ear_internal.h"

#define RESULT_KEY_FILE_MAX 16384

static int read_key_file(int fd, const char *path, char **out, char *why, size_t whylen)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "--result-key %s: %s", path, strerror(errno));
		return TPA_E_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "--result-key %s: not a regular file", path);
		return TPA_E_IO;
	}
	if (st.st_mode & 077) {
		snprintf(why, whylen,
		         "--result-key %s: group or others may read or write it (mode %04o): "
		         "chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		return TPA_E_IO;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "--result-key %s: owned by uid %u, not by this server's (%u)",
		         path, (unsigned)st.st_uid, (unsigned)geteuid());
		return TPA_E_IO;
	}
	if (st.st_size <= 0 || st.st_size > RESULT_KEY_FILE_MAX) {
		snprintf(why, whylen, "--result-key %s: %lld bytes, not a key (at most %d)", path,
		         (long long)st.st_size, RESULT_KEY_FILE_MAX);
		return TPA_E_MALFORMED;
	}
	if (!(buf = malloc((size_t)st.st_size + 1)))
		return TPA_E_NOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "--result-key %s: %s", path,
			         n < 0 ? strerror(errno) : "shorter than its size");
			OPENSSL_cleanse(buf, got);
			free(buf);
			return TPA_E_IO;
		}
		got += (size_t)n;
	}
	buf[got] = 0;
	*out = buf;
	return TPA_OK;
}

/* Writes a new key to path (which does not exist).  TPA_E_MISMATCH when
 * another process made it meanwhile (the caller loads that one). */
static int make_key_file(const char *path, char *why, size_t whylen)
{
	tpa_result_key *k = NULL;
	char *pem = NULL, *tmp = NULL, *dir = NULL, *slash;
	size_t plen = strlen(path), len;
	int fd = -1, r;

	if ((r = tpa_result_key_generate(&k)) != TPA_OK ||
	    (r = tpa_result_key_to_pem(k, &pem)) != TPA_OK) {
		tpa_result_key_free(&k);
		snprintf(why, whylen, "--result-key %s: cannot make a key: %s", path,
		         tpa_strerror(r));
		return r;
	}
	tpa_result_key_free(&k);
	len = strlen(pem);
	if (!(tmp = malloc(plen + 16)) || !(dir = strdup(path))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) { /* mode 0600 */
		snprintf(why, whylen, "--result-key %s: cannot create it: %s", path,
		         strerror(errno));
		r = TPA_E_IO;
		goto out_name;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, pem + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "--result-key %s: cannot write it: %s", path,
			         strerror(errno));
			r = TPA_E_IO;
			goto out_tmp;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		snprintf(why, whylen, "--result-key %s: cannot sync it: %s", path, strerror(errno));
		r = TPA_E_IO;
		goto out_tmp;
	}
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? TPA_E_MISMATCH : TPA_E_IO;
		if (r == TPA_E_IO)
			snprintf(why, whylen, "--result-key %s: cannot create it: %s", path,
			         strerror(errno));
		goto out_tmp;
	}
	/* the name, durable */
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		memcpy(dir, ".", 2); /* dir holds strlen(path) + 1 >= 2 bytes */
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	r = TPA_OK;
out_tmp:
	close(fd);
	unlink(tmp);
out_name:
out:
	free(tmp);
	free(dir);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return r;
}

int srv_result_key_load(srv_core *c, char *why, size_t whylen)
{
	const char *path = c->cfg.result_key;
	char *pem = NULL;
	int fd, r, oerr, made = 0;

	/* a key made (by us or by another server) is opened next; one that is
	 * gone again twice is an error, reported as the last open saw it */
	for (int attempt = 0;; attempt++) {
		/* O_NONBLOCK stays set: a regular file reads the same */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		oerr = errno;
		if (fd >= 0 || oerr != ENOENT || attempt == 2)
			break;
		r = make_key_file(path, why, whylen);
		if (r != TPA_OK && r != TPA_E_MISMATCH)
			return r;
		made = r == TPA_OK;
	}
	if (fd < 0) {
		snprintf(why, whylen, "--result-key %s: %s", path, strerror(oerr));
		return TPA_E_IO;
	}
	r = read_key_file(fd, path, &pem, why, whylen);
	close(fd);
	if (r != TPA_OK)
		return r;
	r = tpa_result_key_from_pem(pem, strlen(pem), &c->result_key, why, whylen);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (r != TPA_OK) {
		char inner[512];
		snprintf(inner, sizeof(inner), "%s", why[0] ? why : tpa_strerror(r));
		snprintf(why, whylen, "--result-key %s: %s", path, inner);
		return r;
	}
	if ((r = tpa_result_key_jwk(c->result_key, &c->result_jwk)) != TPA_OK) {
		snprintf(why, whylen, "--result-key %s: its JWK: %s", path, tpa_strerror(r));
		return r;
	}
	c->result_key_made = made;
	return TPA_OK;
}

void srv_result_key_unload(srv_core *c)
{
	tpa_result_key_free(&c->result_key);
	free(c->result_jwk);
	c->result_jwk = NULL;
}

static void result_input(tpa_ear_input *in, const char *machine_id, const char *nonce_hex,
                         int64_t iat)
{
	memset(in, 0, sizeof(*in));
	in->machine_id = machine_id;
	in->iat = iat;
	in->nonce_hex = nonce_hex;
	in->build = "tpmattest " TPA_VERSION;
	in->developer = "tpmattest";
}

char *srv_result_sign(const srv_core *c, const char *verdict_json, const char *machine_id,
                      const char *nonce_hex, int64_t iat, char *why, size_t whylen)
{
	tpa_ear_input in;
	char *jwt = NULL;
	result_input(&in, machine_id, nonce_hex, iat);
	in.verdict_json = verdict_json;
	in.verdict_len = verdict_json ? strlen(verdict_json) : 0;
	if (tpa_ear_sign(c->result_key, &in, &jwt, why, whylen) != TPA_OK)
		return NULL;
	return jwt;
}

char *srv_result_sign_doc(const srv_core *c, struct json_object *doc, const char *machine_id,
                          const char *nonce_hex, int64_t iat, char *why, size_t whylen)
{
	tpa_ear_input in;
	char *jwt = NULL;
	result_input(&in, machine_id, nonce_hex, iat);
	if (tpa_ear_sign_doc(c->result_key, &in, doc, &jwt, why, whylen) != TPA_OK)
		return NULL;
	return jwt;
}

void srv_result_jwk_reply(srv *s, struct evhttp_request *req)
{
	srv_reply_text(s, req, 200, "application/jwk+json", s->core->result_jwk);
}

/*
 * Whether the policy that ruled a verdict (its document's "policy": name,
 * ruled, sha256) is still the machine's: the same name assigned (or the
 * same default) with the same document.  A verdict reached under a policy
 * replaced or unassigned since says nothing about the machine under the
 * rules of now, so it is not signed again (the result is none until the
 * machine attests).  1 yes, 0 no, -1 the store failed (why set).
 */
int srv_policy_still_rules(srv *s, const store_machine *m, struct json_object *doc, char *why,
                           size_t whylen)
{
	struct json_object *p, *v;
	const char *name = NULL, *sha = NULL;
	int ruled = 0, ruled_now;
	uint8_t now_sha[32];
	char now_hex[65];

	if (!json_object_object_get_ex(doc, "policy", &p) ||
	    !json_object_is_type(p, json_type_object))
		return 1; /* not a verdict document: tpa_ear_sign says why, nothing is signed */
	if (json_object_object_get_ex(p, "name", &v) && json_object_is_type(v, json_type_string))
		name = json_object_get_string(v);
	if (json_object_object_get_ex(p, "ruled", &v) && json_object_is_type(v, json_type_boolean))
		ruled = json_object_get_boolean(v);
	if (json_object_object_get_ex(p, "sha256", &v) && json_object_is_type(v, json_type_string))
		sha = json_object_get_string(v);
	if (m->policy[0]) {
		char *pdoc = NULL;
		int r = store_policy_get(s->st, m->policy, &pdoc, NULL, why, whylen);
		if (r == TPA_E_NOT_FOUND)
			return 0;
		if (r != TPA_OK)
			return -1;
		r = tpa_hash(TPA_ALG_SHA256, (const uint8_t *)pdoc, strlen(pdoc), now_sha);
		free(pdoc);
		if (r != TPA_OK) {
			snprintf(why, whylen, "cannot hash the policy");
			return -1;
		}
		ruled_now = 1;
		if (!name || strcmp(name, m->policy) != 0)
			return 0;
	} else {
		ruled_now = s->default_policy != NULL;
		memcpy(now_sha, s->core->default_policy_sha, 32);
		if (ruled_now && (!name || strcmp(name, "(default)") != 0))
			return 0;
	}
	if (ruled != ruled_now)
		return 0;
	if (!ruled)
		return 1;
	tpa_hex_encode(now_sha, 32, now_hex);
	return sha && strcmp(sha, now_hex) == 0;
}

/* The verdict document of the machine's last verdict, with the history
 * row's number put in (the stored document was made before the commit
 * gave it one).  NULL with *code 0: no verdict yet, or one the policy of
 * now did not rule; NULL with *code set: an error answered by the caller. */
static char *last_verdict_doc(srv *s, const store_machine *m, int *code, char *why, size_t whylen)
{
	store_verdict v;
	size_t n = 0;
	struct json_object *o = NULL;
	char *out = NULL;
	const char *txt;
	int r;

	*code = 0;
	if (!m->last_verdict[0] || m->last_seq <= 0)
		return NULL;
	memset(&v, 0, sizeof(v));
	/* the row is the machine's last verdict exactly: the rows of an
	 * earlier enrollment of the same EK stay in the history */
	r = store_history(s->st, m->id, m->last_seq + 1, 1, &v, &n, why, whylen);
	if (r != TPA_OK) {
		*code = 503;
		return NULL;
	}
	if (n != 1 || v.seq != m->last_seq || !v.result_json) {
		if (n == 1)
			store_verdict_clear(&v);
		snprintf(why, whylen, "the history has no row %lld for this machine",
		         (long long)m->last_seq);
		*code = 500;
		return NULL;
	}
	if (tpa_json_parse(v.result_json, strlen(v.result_json), &o, why, whylen) != TPA_OK ||
	    !json_object_is_type(o, json_type_object)) {
		store_verdict_clear(&v);
		json_object_put(o);
		*code = 500;
		return NULL;
	}
	store_verdict_clear(&v);
	switch (srv_policy_still_rules(s, m, o, why, whylen)) {
	case 1: break;
	case 0: json_object_put(o); return NULL; /* none: *code 0 */
	default:
		json_object_put(o);
		*code = 503;
		return NULL;
	}
	json_object_object_add(o, "seq", json_object_new_int64(m->last_seq));
	if ((txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) != NULL)
		out = strdup(txt);
	json_object_put(o);
	if (!out) {
		snprintf(why, whylen, "out of memory");
		*code = 500;
	}
	return out;
}

void srv_result_get(srv *s, struct evhttp_request *req, const char *id)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	char nonce[TPA_EAR_NONCE_HEX_MAX + 1], why[512] = "";
	int has_nonce = 0, code, r;
	store_machine m;
	char *doc, *jwt;

	if (srv_parse_result_query(query, nonce, &has_nonce) != 0) {
		srv_reply_error(s, req, 400, "malformed", NULL,
		                "query: only nonce=HEX (%d..%d hex digits) is understood",
		                TPA_EAR_NONCE_HEX_MIN, TPA_EAR_NONCE_HEX_MAX);
		return;
	}
	memset(&m, 0, sizeof(m));
	r = store_machine_get_light(s->st, id, &m, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		srv_reply_error(s, req, 404, "not_found", NULL, "no machine %s is enrolled", id);
		return;
	}
	if (r != TPA_OK) {
		srv_reply_error(s, req, 503, "store", NULL, "the store failed: %s", why);
		return;
	}
	doc = last_verdict_doc(s, &m, &code, why, sizeof(why));
	store_machine_clear(&m);
	if (!doc && code) {
		if (code == 503)
			srv_reply_error(s, req, 503, "store", NULL, "the store failed: %s", why);
		else
			srv_reply_error(s, req, 500, "internal", NULL, "the last verdict: %s", why);
		return;
	}
	jwt = srv_result_sign(s->core, doc, id, has_nonce ? nonce : NULL, (int64_t)time(NULL), why,
	                      sizeof(why));
	free(doc);
	if (!jwt) {
		srv_reply_error(s, req, 500, "internal", NULL, "cannot sign the result: %s", why);
		return;
	}
	srv_reply_text(s, req, 200, "application/jwt", jwt);
	free(jwt);
}
