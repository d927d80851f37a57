/* SPDX-License-Identifier: BSD-2-Clause */
/* srv_run (serve.h): the store, the listener, the workers and the committer
 * (server.h, "Threads"), the signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include <tpmattest/enroll.h>
#include <tpmattest/eventlog.h>
#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "base/hash.h"

#include "serve.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	srv_core *c = arg;
	(void)what;
	fprintf(stderr, "tpmattest serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(c->workers[0].base, NULL);
}

/* The store's spec as it may be printed: a file path as it is; of a
 * PostgreSQL URL only scheme://[user@]host[:port]/dbname, everything else
 * (a password in the user part, any parameter: password=, sslpassword=,
 * percent-encoded names...) left out. */
static void db_display(const char *spec, char *out, size_t n)
{
	const char *rest, *at, *end, *user_end;
	size_t scheme_len, host_len;

	if (!spec) {
		snprintf(out, n, "(none)");
		return;
	}
	rest = strstr(spec, "://");
	if (!rest || strncmp(spec, "postgres", 8) != 0) {
		snprintf(out, n, "%s", spec);
		return;
	}
	scheme_len = (size_t)(rest - spec) + 3;
	rest += 3;
	end = rest + strcspn(rest, "/?#");
	at = memchr(rest, '@', (size_t)(end - rest));
	/* the user up to a ':' (what follows is its password) */
	user_end = at ? rest + strcspn(rest, ":@") : rest;
	host_len = (size_t)(end - (at ? at + 1 : rest));
	snprintf(out, n, "%.*s%.*s%s%.*s", (int)scheme_len, spec, (int)(user_end - rest), rest,
	         at ? "@" : "", (int)host_len, at ? at + 1 : rest);
	if (*end == '/') {
		size_t used = strlen(out), db = strcspn(end, "?#");
		snprintf(out + used, n > used ? n - used : 0, "%.*s", (int)db, end);
		end += db;
	}
	if (*end) {
		size_t used = strlen(out);
		snprintf(out + used, n > used ? n - used : 0, " (parameters not shown)");
	}
}

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096], buf[16];
	FILE *f;
	int n = snprintf(buf, sizeof(buf), "%u\n", port);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (!(f = fopen(tmp, "w")))
		return -1;
	if (fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void *worker_main(void *arg)
{
	srv *s = arg;
	if (event_base_dispatch(s->base) != 0)
		fprintf(stderr, "tpmattest serve: worker %zu: the event loop failed\n", s->index);
	return NULL;
}

/* A worker's loop, listener, store handle and caches. */
static int worker_init(srv_core *c, srv *s, size_t index, size_t n_logs, char *why, size_t whylen)
{
	int r;
	s->cfg = c->cfg;
	s->core = c;
	s->index = index;
	s->roots = c->roots;
	s->default_policy = c->default_policy;
	s->wake_fd = -1;
	/* the connection bound shared out, each worker at least one */
	s->max_connections = c->cfg.max_connections / c->n_workers;
	if (s->max_connections == 0)
		s->max_connections = 1;
	if (!(s->logs = calloc(n_logs, sizeof(*s->logs)))) {
		snprintf(why, whylen, "out of memory");
		return TPA_E_NOMEM;
	}
	s->n_logs = n_logs;
	s->n_machines = SRV_MACHINE_CACHE / c->n_workers & ~(size_t)1;
	if (s->n_machines < 2)
		s->n_machines = 2;
	if (!(s->machines = calloc(s->n_machines, sizeof(*s->machines)))) {
		snprintf(why, whylen, "out of memory");
		return TPA_E_NOMEM;
	}
	if ((r = store_open(c->cfg.db, &s->st, why, whylen)) != TPA_OK)
		return r;
	if (!(s->base = event_base_new())) {
		snprintf(why, whylen, "cannot create an event loop");
		return TPA_E_IO;
	}
	if (srv_worker_wake_setup(s) != 0) {
		snprintf(why, whylen, "cannot create a worker's wake-up: %s", strerror(errno));
		return TPA_E_IO;
	}
	return srv_http_start(s, why, whylen);
}

static void worker_free(srv *s)
{
	srv_http_stop(s);
	if (s->wake_ev)
		event_free(s->wake_ev);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	for (size_t i = 0; i < s->n_logs; i++)
		tpa_eventlog_free(&s->logs[i].log);
	free(s->logs);
	for (size_t i = 0; i < s->n_machines; i++) {
		tpa_ak_free(&s->machines[i].ak);
		tpa_log_memo_free(&s->machines[i].memo);
		free(s->machines[i].ek_public);
	}
	free(s->machines);
	for (size_t i = 0; i < SRV_POLICY_CACHE; i++)
		tpa_policy_free(&s->policies[i].policy);
	if (s->base)
		event_base_free(s->base);
	store_close(&s->st);
	pthread_mutex_destroy(&s->mlock);
	pthread_mutex_destroy(&s->done_lock);
}

/* The store's counter key, and what the attesters' counters are made
 * with (GET /v1/counter-key, enrollment's authPolicy check). */
static int load_counter_key(srv_core *c, char *why, size_t whylen)
{
	char *pem = NULL;
	int r = store_counter_key(c->commit_st, &pem, why, whylen);

	if (r != TPA_OK)
		return r;
	r = tpa_counter_key_from_pem(pem, strlen(pem), &c->counter_key, why, whylen);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (r == TPA_OK)
		r = tpa_counter_key_public(c->counter_key, c->counter_pub, sizeof(c->counter_pub),
		                           &c->counter_pub_len, c->counter_name);
	if (r != TPA_OK && !why[0])
		snprintf(why, whylen, "the store's counter key: %s", tpa_strerror(r));
	return r;
}

static size_t default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > SRV_MAX_WORKERS ? SRV_MAX_WORKERS : (size_t)n;
}

int srv_run(const srv_config *cfg, struct tpa_ekstore *roots, struct tpa_policy *default_policy)
{
	srv_core *c = calloc(1, sizeof(*c));
	char why[1024] = "", dbname[1024];
	struct event *sigint = NULL, *sigterm = NULL;
	pthread_t threads[SRV_MAX_WORKERS];
	size_t started = 0, inited = 0, n_logs;
	int rc = 4, r;

	if (!c) {
		fprintf(stderr, "tpmattest serve: out of memory\n");
		tpa_ekstore_free(&roots);
		tpa_policy_free(&default_policy);
		return 4;
	}
	c->cfg = *cfg;
	c->roots = roots;
	c->default_policy = default_policy;
	c->listen_fd = -1;
	if (default_policy) {
		char *json = NULL;
		if (tpa_policy_to_json(default_policy, &json) != TPA_OK ||
		    tpa_hash(TPA_ALG_SHA256, (const uint8_t *)json, strlen(json),
		             c->default_policy_sha) != TPA_OK) {
			fprintf(stderr, "tpmattest serve: cannot digest the default policy\n");
			free(json);
			free(c);
			tpa_ekstore_free(&roots);
			tpa_policy_free(&default_policy);
			return 4;
		}
		free(json);
	}
	c->n_workers = cfg->workers ? cfg->workers : default_workers();
	if (c->n_workers > SRV_MAX_WORKERS)
		c->n_workers = SRV_MAX_WORKERS;
	pthread_mutex_init(&c->qlock, NULL);
	pthread_cond_init(&c->qcond, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a store at its file size limit fails its write (EFBIG: 503, nothing
	 * recorded) instead of killing the server */
	signal(SIGXFSZ, SIG_IGN);
	db_display(cfg->db, dbname, sizeof(dbname));
	/* the first handle creates or migrates the store, alone */
	if ((r = store_open(cfg->db, &c->commit_st, why, sizeof(why))) != TPA_OK ||
	    (r = store_nonce_key(c->commit_st, c->nonce_key, why, sizeof(why))) != TPA_OK ||
	    (r = load_counter_key(c, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: --db %s: %s\n", dbname,
		        why[0] ? why : tpa_strerror(r));
		goto out;
	}
	if ((r = srv_result_key_load(c, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: %s\n", why[0] ? why : tpa_strerror(r));
		rc = r == TPA_E_MALFORMED || r == TPA_E_UNSUPPORTED ? 3 : 4;
		goto out;
	}
	if (c->result_key_made)
		fprintf(stderr, "tpmattest serve: made a new result key in %s\n", cfg->result_key);
	if ((r = srv_http_listen(c, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: %s\n", why);
		rc = r == TPA_E_INVALID_ARG ? 2 : 4;
		goto out;
	}
	if (!(c->workers = calloc(c->n_workers, sizeof(*c->workers)))) {
		fprintf(stderr, "tpmattest serve: out of memory\n");
		goto out;
	}
	n_logs = SRV_EVENTLOG_CACHE / c->n_workers;
	if (n_logs == 0)
		n_logs = 1;
	for (; inited < c->n_workers; inited++) {
		srv *s = &c->workers[inited];
		pthread_mutex_init(&s->mlock, NULL);
		pthread_mutex_init(&s->done_lock, NULL);
		if ((r = worker_init(c, s, inited, n_logs, why, sizeof(why))) != TPA_OK) {
			inited++;
			fprintf(stderr, "tpmattest serve: %s\n", why);
			goto out;
		}
	}
	sigint = evsignal_new(c->workers[0].base, SIGINT, on_signal, c);
	sigterm = evsignal_new(c->workers[0].base, SIGTERM, on_signal, c);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL)) {
		fprintf(stderr, "tpmattest serve: cannot handle signals\n");
		goto out;
	}
	if ((r = srv_committer_start(c, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: %s\n", why);
		goto out;
	}
	for (; started + 1 < c->n_workers; started++) {
		if ((r = pthread_create(&threads[started], NULL, worker_main,
		                        &c->workers[started + 1])) != 0) {
			fprintf(stderr, "tpmattest serve: cannot start a worker: %s\n",
			        strerror(r));
			goto out;
		}
	}
	if (cfg->port_file && write_port_file(cfg->port_file, c->port) != 0) {
		fprintf(stderr, "tpmattest serve: --port-file %s: %s\n", cfg->port_file,
		        strerror(errno));
		goto out;
	}
	fprintf(stderr, "tpmattest serve: listening on %s (port %u, %s), store %s, %zu workers\n",
	        cfg->listen, c->port, cfg->insecure_http ? "plain HTTP" : "HTTPS", dbname,
	        c->n_workers);
	if (event_base_dispatch(c->workers[0].base) != 0) {
		fprintf(stderr, "tpmattest serve: the event loop failed\n");
		goto out;
	}
	rc = 0;
out:
	/* the other loops end, then the committer commits what is queued,
	 * then what it finished is answered (or freed with its connection) */
	for (size_t i = 1; i < inited; i++)
		if (c->workers[i].wake_ev)
			srv_worker_quit(&c->workers[i]);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	srv_committer_stop(c);
	for (size_t i = 0; i < inited; i++)
		srv_worker_drain(&c->workers[i]);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	for (size_t i = 0; i < inited; i++)
		worker_free(&c->workers[i]);
	free(c->workers);
	srv_http_unlisten(c);
	store_close(&c->commit_st);
	OPENSSL_cleanse(c->nonce_key, sizeof(c->nonce_key));
	tpa_counter_key_free(&c->counter_key);
	srv_result_key_unload(c);
	pthread_mutex_destroy(&c->qlock);
	pthread_cond_destroy(&c->qcond);
	tpa_ekstore_free(&c->roots);
	tpa_policy_free(&c->default_policy);
	free(c);
	return rc;
}
