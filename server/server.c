/* SPDX-License-Identifier: BSD-2-Clause */
/* srv_run (serve.h): the store, the listener, the loop, the signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <tpmattest/enroll.h>
#include <tpmattest/eventlog.h>
#include <tpmattest/policy.h>

#include "serve.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	(void)what;
	fprintf(stderr, "tpmattest serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(base, NULL);
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

int srv_run(const srv_config *cfg, struct tpa_ekstore *roots, struct tpa_policy *default_policy)
{
	srv *s = calloc(1, sizeof(*s));
	char why[1024] = "";
	struct event *sigint = NULL, *sigterm = NULL;
	int rc = 4, r;

	if (!s) {
		fprintf(stderr, "tpmattest serve: out of memory\n");
		tpa_ekstore_free(&roots);
		tpa_policy_free(&default_policy);
		return 4;
	}
	s->cfg = *cfg;
	s->roots = roots;
	s->default_policy = default_policy;
	signal(SIGPIPE, SIG_IGN);
	/* a store at its file size limit fails its write (EFBIG: 503, nothing
	 * recorded) instead of killing the server */
	signal(SIGXFSZ, SIG_IGN);
	if ((r = store_open(cfg->db, &s->st, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: --db %s: %s\n", cfg->db,
		        why[0] ? why : tpa_strerror(r));
		goto out;
	}
	if (!(s->base = event_base_new())) {
		fprintf(stderr, "tpmattest serve: cannot create the event loop\n");
		goto out;
	}
	if ((r = srv_http_start(s, why, sizeof(why))) != TPA_OK) {
		fprintf(stderr, "tpmattest serve: %s\n", why);
		rc = r == TPA_E_INVALID_ARG ? 2 : 4;
		goto out;
	}
	sigint = evsignal_new(s->base, SIGINT, on_signal, s->base);
	sigterm = evsignal_new(s->base, SIGTERM, on_signal, s->base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL)) {
		fprintf(stderr, "tpmattest serve: cannot handle signals\n");
		goto out;
	}
	if (cfg->port_file && write_port_file(cfg->port_file, s->port) != 0) {
		fprintf(stderr, "tpmattest serve: --port-file %s: %s\n", cfg->port_file,
		        strerror(errno));
		goto out;
	}
	fprintf(stderr, "tpmattest serve: listening on %s (port %u, %s), store %s\n", cfg->listen,
	        s->port, cfg->insecure_http ? "plain HTTP" : "HTTPS", cfg->db);
	if (event_base_dispatch(s->base) != 0) {
		fprintf(stderr, "tpmattest serve: the event loop failed\n");
		goto out;
	}
	rc = 0;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	srv_http_stop(s);
	for (size_t i = 0; i < SRV_EVENTLOG_CACHE; i++)
		tpa_eventlog_free(&s->logs[i].log);
	for (size_t i = 0; i < SRV_POLICY_CACHE; i++)
		tpa_policy_free(&s->policies[i].policy);
	if (s->base)
		event_base_free(s->base);
	store_close(&s->st);
	tpa_ekstore_free(&s->roots);
	tpa_policy_free(&s->default_policy);
	free(s);
	return rc;
}
