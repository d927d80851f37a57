/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * attest-load-gen: N machines, emulated in software, enroll with and attest
 * to `tpmattest serve` over its HTTPS API, from C client threads with one
 * keep-alive connection each (bench/README.md, "Fleet under load").
 *
 *   attest-load-gen prepare --dir DIR [--log FILE]
 *   attest-load-gen run --url https://HOST:PORT --ca CA.pem --dir DIR
 *                       --machines N --clients C --seconds S [options]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <tpmattest/eventlog.h>
#include <tpmattest/evidence.h>

#include "attest_load.h"
#include "bench.h"

#define EXIT_USAGE 2
#define MAX_MACHINES 1000000u
#define MAX_CLIENTS 1024u
#define MAX_SECONDS 86400u
#define MAX_RECORD_LINES 100000u
#define MAX_LOG (16u * 1024 * 1024)
/* problems printed in full; the rest are only counted */
#define MAX_SHOWN 8
#define ENROLL_TRIES 5

#ifndef AL_SOURCE_ROOT
#define AL_SOURCE_ROOT "."
#endif

static const char usage_text[] =
        "usage: attest-load-gen prepare --dir DIR [--log FILE]\n"
        "       attest-load-gen run --url https://HOST:PORT --ca SERVER_CA.pem --dir DIR\n"
        "                           --machines N --clients C --seconds S [--full-log]\n"
        "                           [--server-pid PID] [--record FILE] [--json]\n"
        "                           [--port-file F] [--log FILE] [--same-log] [--timeout MS]\n"
        "                           [--rate R]\n"
        "\n"
        "prepare makes DIR/seed (the fleet's keys derive from it), DIR/ekroots/bench-ca.pem\n"
        "(give DIR/ekroots to `tpmattest serve --ek-roots`), DIR/eventlog.bin (the log every\n"
        "machine boots with) and DIR/sample-evidence.json (machine 0's evidence, for\n"
        "`tpmattest policy create`).\n"
        "run enrolls the machines not yet enrolled, attests each once with its log, then\n"
        "attests for S seconds and reports one summary line (see bench/README.md).\n"
        "  --full-log      send the event log in every evidence (default: its SHA-256)\n"
        "  --unique-logs   each machine's log ends with its own EV_NO_ACTION event (default)\n"
        "  --same-log      every machine sends the same log bytes\n"
        "  --server-pid P  the server's process, for its CPU time and VmRSS\n"
        "  --url U ...     up to 4 servers on one PostgreSQL store: each client sends\n"
        "                  its requests to them in turn (the nonce to one, the evidence\n"
        "                  to the next); give one --port-file and one --server-pid per\n"
        "                  server (CPU and VmRSS are then their sums)\n"
        "  --record F      append one JSON line per answered attestation (at most 100,000)\n"
        "  --port-file F   the server's port, re-read at every connection\n"
        "  --timeout MS    bound on every connect, read and write (default 10000)\n"
        "  --rate R        open loop: R attestations/s offered in all, each client's on a\n"
        "                  fixed schedule, latency counted from when each was due\n"
        "                  (default: closed loop, each client as fast as it is answered)\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "attest-load-gen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static uint8_t *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t got;
		if (n == cap) {
			uint8_t *nb;
			cap = cap ? 2 * cap : 65536;
			if (cap > max + 1)
				cap = max + 1;
			if (n == cap || !(nb = realloc(buf, cap + 1)))
				goto fail;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f) || n > max)
		goto fail;
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	FILE *f;
	int fd;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		return -1;
	if (!(f = fdopen(fd, "wb"))) {
		close(fd);
		return -1;
	}
	if (fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The default log: the 45 KB real UEFI log of the shared corpus next to the
 * repository, else the repository's own 23 KB example. */
static const char *default_log(char *buf, size_t cap)
{
	glob_t g;
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s/../shared/eventlogs/*/ubuntu-2404-amd-sevsnp.bin",
	         AL_SOURCE_ROOT);
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		snprintf(buf, cap, "%s", g.gl_pathv[0]);
		globfree(&g);
		return buf;
	}
	globfree(&g);
	snprintf(buf, cap, "%s/examples/cos-101-amd-sev.bin", AL_SOURCE_ROOT);
	fprintf(stderr,
	        "attest-load-gen: %s/../shared not found: using the repository's %s (23 KB) "
	        "instead of the 45 KB ubuntu-2404-amd-sevsnp log\n",
	        AL_SOURCE_ROOT, buf);
	return buf;
}

static int load_seed(const char *dir, uint8_t seed[static 32])
{
	char p[4096];
	size_t n = 0;
	uint8_t *b;
	snprintf(p, sizeof(p), "%s/seed", dir);
	if (!(b = slurp(p, 64, &n)) || n != 32) {
		fprintf(stderr,
		        "attest-load-gen: %s: %s (run `attest-load-gen prepare --dir %s`)\n", p,
		        b ? "not 32 bytes" : strerror(errno), dir);
		free(b);
		return -1;
	}
	memcpy(seed, b, 32);
	OPENSSL_cleanse(b, n);
	free(b);
	return 0;
}

/* The fleet of DIR: seed, CA (its key re-derived, its certificate read and
 * checked against the key), log. */
static int fleet_open(al_fleet *f, const char *dir, const char *logpath, int unique,
                      uint8_t **logbuf, size_t *loglen)
{
	char p[4096];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	if (load_seed(dir, f->seed) != 0)
		return -1;
	if (al_ca_key(f->seed, &f->ca_key) != TPA_OK) {
		fprintf(stderr, "attest-load-gen: cannot derive the CA key\n");
		return -1;
	}
	snprintf(p, sizeof(p), "%s/ekroots/bench-ca.pem", dir);
	if (!(fp = fopen(p, "r")) || !(f->ca_cert = PEM_read_X509(fp, NULL, NULL, NULL)) ||
	    X509_check_private_key(f->ca_cert, f->ca_key) != 1) {
		fprintf(stderr, "attest-load-gen: %s: %s\n", p,
		        !fp ? strerror(errno) : "not the bench CA of this seed");
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	if (!logpath) {
		snprintf(p, sizeof(p), "%s/eventlog.bin", dir);
		logpath = p;
	}
	if (!(*logbuf = slurp(logpath, MAX_LOG, loglen))) {
		fprintf(stderr, "attest-load-gen: %s: cannot read the event log (%s)\n", logpath,
		        errno ? strerror(errno) : "too large");
		return -1;
	}
	if (al_fleet_init(f, *logbuf, *loglen, unique) != TPA_OK) {
		fprintf(stderr, "attest-load-gen: %s: cannot be the fleet's event log\n", logpath);
		return -1;
	}
	return 0;
}

/* The appended event must leave the replay as it was: machine 0's whole
 * log replays to the values the fleet quotes. */
static int check_unique_log(const al_fleet *f, const al_machine *m)
{
	uint8_t *buf = malloc(f->log_len + AL_SUFFIX_MAX);
	tpa_eventlog *el = NULL;
	tpa_pcrs *rep = NULL;
	tpa_parse_error perr;
	size_t n;
	int ok = 0;
	if (!buf)
		return -1;
	memcpy(buf, f->log, f->log_len);
	n = f->log_len + al_machine_log_suffix(f, m, buf + f->log_len);
	memset(&perr, 0, sizeof(perr));
	if (tpa_eventlog_parse(buf, n, &el, &perr) == TPA_OK &&
	    tpa_eventlog_replay(el, &rep) == TPA_OK) {
		ok = 1;
		for (size_t b = 0; ok && b < f->nbanks; b++)
			for (unsigned k = 0; ok && k < 10; k++) {
				uint16_t alg = f->sel.pcrSelections[b].hash;
				const uint8_t *v;
				size_t vl, ds = tpa_alg_digest_size(alg);
				static const uint8_t zero[TPA_MAX_DIGEST];
				if (tpa_pcrs_get(rep, alg, k, &v, &vl) != TPA_OK) {
					v = zero;
					vl = ds;
				}
				ok = vl == ds && memcmp(v, f->pcr_val[b][k], ds) == 0;
			}
	}
	if (!ok)
		fprintf(stderr, "attest-load-gen: the per-machine log %s\n",
		        el ? "does not replay as the base log does" : "does not parse");
	tpa_pcrs_free(&rep);
	tpa_eventlog_free(&el);
	free(buf);
	return ok ? 0 : -1;
}

/* ---- prepare ---- */

static int cmd_prepare(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"dir", required_argument, NULL, 'd'},
	        {"log", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *logpath = NULL;
	char p[4096], lbuf[4096];
	uint8_t seed[32], *log = NULL, *flog = NULL, nonce[32];
	size_t loglen = 0, floglen = 0;
	al_fleet f;
	al_machine m0;
	EVP_PKEY *cakey = NULL;
	X509 *ca = NULL;
	tpa_evidence *ev = NULL;
	char *doc = NULL;
	struct stat st;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': logpath = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage("prepare: unknown option");
		}
	}
	if (optind < argc)
		return usage("prepare: unexpected argument '%s'", argv[optind]);
	if (!dir)
		return usage("prepare: --dir DIR is required");
	if (!logpath)
		logpath = default_log(lbuf, sizeof(lbuf));
	if (!(log = slurp(logpath, MAX_LOG, &loglen))) {
		fprintf(stderr, "attest-load-gen: --log %s: cannot read it (%s)\n", logpath,
		        errno ? strerror(errno) : "too large");
		return 1;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "attest-load-gen: --dir %s: %s\n", dir, strerror(errno));
		goto out;
	}
	snprintf(p, sizeof(p), "%s/ekroots", dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "attest-load-gen: %s: %s\n", p, strerror(errno));
		goto out;
	}
	/* the seed is kept once made: a database enrolled from it stays usable */
	snprintf(p, sizeof(p), "%s/seed", dir);
	if (stat(p, &st) != 0) {
		if (RAND_bytes(seed, sizeof(seed)) != 1 ||
		    write_file(p, seed, sizeof(seed), 0600) != 0) {
			fprintf(stderr, "attest-load-gen: %s: cannot write it\n", p);
			goto out;
		}
	} else if (load_seed(dir, seed) != 0) {
		goto out;
	}
	snprintf(p, sizeof(p), "%s/ekroots/bench-ca.pem", dir);
	if (stat(p, &st) != 0) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem;
		long pl;
		if (al_ca_key(seed, &cakey) != TPA_OK || al_ca_cert(cakey, &ca) != TPA_OK || !b ||
		    PEM_write_bio_X509(b, ca) != 1 || (pl = BIO_get_mem_data(b, &pem)) <= 0 ||
		    write_file(p, pem, (size_t)pl, 0644) != 0) {
			fprintf(stderr, "attest-load-gen: %s: cannot make the bench CA\n", p);
			BIO_free(b);
			goto out;
		}
		BIO_free(b);
	}
	snprintf(p, sizeof(p), "%s/eventlog.bin", dir);
	if (write_file(p, log, loglen, 0644) != 0) {
		fprintf(stderr, "attest-load-gen: %s: cannot write it\n", p);
		goto out;
	}
	if (fleet_open(&f, dir, NULL, 1, &flog, &floglen) != 0)
		goto out;
	if (al_machine_init(&f, &m0, 0) != TPA_OK) {
		fprintf(stderr, "attest-load-gen: cannot make machine 0\n");
		al_fleet_clear(&f);
		goto out;
	}
	{
		uint8_t *lb = malloc(f.log_len + AL_SUFFIX_MAX);
		int ok = lb && check_unique_log(&f, &m0) == 0 && RAND_bytes(nonce, 32) == 1 &&
		         al_machine_evidence(&f, &m0, nonce, 32, &ev) == TPA_OK &&
		         al_machine_set_log(&f, &m0, ev, lb) == TPA_OK &&
		         tpa_evidence_to_json(ev, 1, &doc) == TPA_OK;
		free(lb);
		snprintf(p, sizeof(p), "%s/sample-evidence.json", dir);
		if (ok && write_file(p, doc, strlen(doc), 0644) != 0)
			ok = 0;
		if (!ok)
			fprintf(stderr, "attest-load-gen: %s: cannot make machine 0's evidence\n",
			        p);
		else
			rc = 0;
	}
	if (rc == 0)
		printf("attest-load-gen: prepared %s: seed, ekroots/bench-ca.pem, eventlog.bin "
		       "(%s, %zu bytes, %zu banks quoted), sample-evidence.json (machine %s)\n",
		       dir, logpath, loglen, f.nbanks, m0.id);
	al_machine_clear(&m0);
	al_fleet_clear(&f);
out:
	tpa_evidence_free(&ev);
	free(doc);
	free(flog);
	free(log);
	EVP_PKEY_free(cakey);
	X509_free(ca);
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
}

/* ---- run ---- */

struct run;

/* --url given more than once: several servers on one store (PostgreSQL).
 * Each client keeps a connection to each and sends its requests to them in
 * turn, so a nonce is asked of one server and the evidence sent to the
 * next, and enrollments and activations land on different ones too. */
#define AL_MAX_TARGETS 4

struct worker {
	struct run *run;
	unsigned id;
	pthread_t th;
	al_conn conn[AL_MAX_TARGETS];
	double down_until[AL_MAX_TARGETS]; /* a server that failed: skipped 1 s */
	unsigned turn;
	uint8_t *logbuf;
	double *lat; /* ms, timed phase */
	size_t nlat, caplat;
	uint64_t pass, fail, errors; /* timed phase */
	unsigned backoff;
	uint64_t k; /* attestations scheduled (--rate) */
};

struct run {
	al_fleet f;
	al_machine *m;
	size_t n;
	unsigned clients;
	al_target t[AL_MAX_TARGETS];
	unsigned nt;
	int full_log;
	int timed_seconds;
	double deadline, start;
	double rate; /* --rate: attestations/s offered in all, 0: as fast as answered */
	int in_timed;
	pthread_barrier_t b1, b2;
	pthread_mutex_t lock;
	FILE *record;
	size_t record_lines;
	int record_full_noted;
	unsigned shown;
	atomic_size_t inited, enrolled, already, enroll_errors, first_done, first_errors,
	        first_fail, ready;
};

static double mono(void)
{
	return bench_now();
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void sleep_s(double sec)
{
	struct timespec ts;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The first few problems in full, with the server's reason. */
/* One request to the worker's next server: the servers in turn, each
 * worker starting at another, as a load balancer would, and as one would
 * it skips for a second a server that failed (a refused connection, a
 * timeout), unless every one did.  al_http's result. */
static int worker_http(struct worker *w, const char *method, const char *path, const char *hdr,
                       const char *body, size_t len, int retry_stale, al_resp *a, char *why,
                       size_t whylen)
{
	unsigned nt = w->run->nt, k = 0, i;
	double now = mono();

	for (i = 0; i < nt; i++) {
		k = (w->id + w->turn++) % nt;
		if (w->down_until[k] <= now)
			break;
	}
	if (al_http(&w->conn[k], method, path, hdr, body, len, retry_stale, a, why, whylen) == 0)
		return 0;
	if (nt > 1)
		w->down_until[k] = mono() + 1.0;
	return -1;
}

static void show(struct run *r, const al_machine *m, const char *what, int status, const char *body,
                 size_t blen)
{
	pthread_mutex_lock(&r->lock);
	if (r->shown < MAX_SHOWN) {
		const char *reason = NULL, *code = NULL, *check = NULL;
		json_object *o = NULL;
		if (body && blen) {
			json_tokener *tok = json_tokener_new();
			if (tok) {
				o = json_tokener_parse_ex(tok, body, (int)blen);
				json_tokener_free(tok);
			}
		}
		if (o) {
			json_object *v;
			if (json_object_object_get_ex(o, "reason", &v))
				reason = json_object_get_string(v);
			if (json_object_object_get_ex(o, "error", &v))
				code = json_object_get_string(v);
			if (json_object_object_get_ex(o, "failed_check", &v) ||
			    json_object_object_get_ex(o, "check", &v))
				check = json_object_get_string(v);
		}
		fprintf(stderr, "attest-load: machine %u (%.16s): %s", m->index, m->id, what);
		if (status)
			fprintf(stderr, ": HTTP %d", status);
		if (code)
			fprintf(stderr, " %s", code);
		if (check)
			fprintf(stderr, " [%s]", check);
		if (reason)
			fprintf(stderr, ": %s", reason);
		else if (body && blen && !o)
			fprintf(stderr, ": %.200s", body);
		fputc('\n', stderr);
		if (++r->shown == MAX_SHOWN)
			fprintf(stderr, "attest-load: (further problems are only counted)\n");
		json_object_put(o);
	}
	pthread_mutex_unlock(&r->lock);
}

static json_object *parse_body(const al_resp *a)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL;
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, a->body, (int)a->body_len);
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int enroll_one(struct worker *w, al_machine *m)
{
	struct run *r = w->run;
	char *req = NULL, *body = NULL, *resp = NULL, why[256];
	al_resp a;
	int rc = -1;

	if (al_machine_request(m, &req) != TPA_OK) {
		show(r, m, "cannot make the enrollment request", 0, NULL, 0);
		return -1;
	}
	if (!(body = malloc(strlen(req) + 64)))
		goto out;
	sprintf(body, "{\"name\":\"load m%u\",\"request\":%s}", m->index, req);
	for (int tries = 0; tries < ENROLL_TRIES && rc != 0; tries++) {
		json_object *o = NULL, *ch;
		const char *id, *cs;
		if (tries)
			sleep_ms(100u << tries);
		if (worker_http(w, "POST", "/v1/enroll", NULL, body, strlen(body), 1, &a, why,
		                sizeof(why)) != 0) {
			show(r, m, why, 0, NULL, 0);
			continue;
		}
		if (a.status == 409) {
			o = parse_body(&a);
			if ((cs = jstr(o, "error")) && strcmp(cs, "already_enrolled") == 0) {
				json_object_put(o);
				atomic_fetch_add(&r->already, 1);
				rc = 0;
				break;
			}
			json_object_put(o);
		}
		if (a.status != 200) {
			show(r, m, "POST /v1/enroll refused", a.status, a.body, a.body_len);
			if (a.status != 429 && a.status != 503 && a.status < 500)
				break;
			continue;
		}
		o = parse_body(&a);
		if (!(id = jstr(o, "machine_id")) || strcmp(id, m->id) != 0 ||
		    !json_object_object_get_ex(o, "challenge", &ch) ||
		    !(cs = json_object_to_json_string_ext(
		              ch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) {
			show(r, m, "POST /v1/enroll: not {machine_id (this EK's), challenge}",
			     a.status, a.body, a.body_len);
			json_object_put(o);
			break;
		}
		free(resp);
		resp = NULL;
		if (al_machine_activate(m, cs, strlen(cs), &resp, why, sizeof(why)) != TPA_OK) {
			show(r, m, why, 0, NULL, 0);
			json_object_put(o);
			break;
		}
		json_object_put(o);
		if (worker_http(w, "POST", "/v1/enroll/activate", NULL, resp, strlen(resp), 0, &a,
		                why, sizeof(why)) != 0) {
			show(r, m, why, 0, NULL, 0);
			continue;
		}
		if (a.status != 200) {
			show(r, m, "POST /v1/enroll/activate refused", a.status, a.body,
			     a.body_len);
			if (a.status != 429 && a.status != 503 && a.status < 500)
				break;
			continue;
		}
		rc = 0;
	}
out:
	if (resp)
		OPENSSL_cleanse(resp, strlen(resp));
	free(resp);
	free(body);
	free(req);
	return rc;
}

/* One JSON line: what was sent and what came back. */
static void record(struct run *r, const al_machine *m, int status, const char *verdict,
                   const char *error, long long seq, const char *nonce, const char *sha,
                   const char *doc)
{
	char sq[32], er[80];
	struct timespec now;
	if (!r->record)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (seq >= 0)
		snprintf(sq, sizeof(sq), "%lld", seq);
	else
		snprintf(sq, sizeof(sq), "null");
	/* the error code of a refusal: [a-z_] from the server, checked here */
	if (error && strlen(error) < 64 &&
	    strspn(error, "abcdefghijklmnopqrstuvwxyz_") == strlen(error))
		snprintf(er, sizeof(er), "\"%s\"", error);
	else
		snprintf(er, sizeof(er), "null");
	pthread_mutex_lock(&r->lock);
	if (r->record_lines < MAX_RECORD_LINES) {
		fprintf(r->record,
		        "{\"machine_id\":\"%s\",\"status\":%d,\"verdict\":%s%s%s,\"error\":%s,"
		        "\"seq\":%s,\"counter\":%llu,\"nonce\":\"%s\",\"eventlog_sha256\":%s%s%s,"
		        "\"at\":%.3f,\"evidence\":%s}\n",
		        m->id, status, verdict ? "\"" : "", verdict ? verdict : "null",
		        verdict ? "\"" : "", er, sq, (unsigned long long)m->counter, nonce,
		        sha ? "\"" : "", sha ? sha : "null", sha ? "\"" : "",
		        (double)now.tv_sec + (double)now.tv_nsec / 1e9, doc);
		fflush(r->record);
		r->record_lines++;
	} else if (!r->record_full_noted) {
		r->record_full_noted = 1;
		fprintf(stderr, "attest-load: --record holds %u lines: no more are written\n",
		        MAX_RECORD_LINES);
	}
	pthread_mutex_unlock(&r->lock);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == 0 ? 0 : -1;
}

enum outcome { O_PASS, O_FAIL, O_ERROR, O_TRANSPORT };

/* One attestation: nonce, evidence, verdict.  first: the log goes along
 * whatever the mode (the server learns it). */
static enum outcome attest_one(struct worker *w, al_machine *m, int first, double *ms)
{
	struct run *r = w->run;
	char path[128], why[256], nonce_hex[65], held[65] = "", hdr[128];
	uint8_t nonce[32];
	al_resp a;
	json_object *o = NULL;
	tpa_evidence *ev = NULL;
	char *thin = NULL, *full = NULL;
	const char *s, *sent;
	int use_hash;
	enum outcome out = O_ERROR;
	double t0 = mono();

	snprintf(path, sizeof(path), "/v1/machines/%s/nonce", m->id);
	if (worker_http(w, "POST", path, NULL, NULL, 0, 1, &a, why, sizeof(why)) != 0) {
		show(r, m, why, 0, NULL, 0);
		return O_TRANSPORT;
	}
	if (a.status != 200) {
		show(r, m, "POST nonce refused", a.status, a.body, a.body_len);
		return O_ERROR;
	}
	o = parse_body(&a);
	if (!(s = jstr(o, "nonce")) || strlen(s) != 64 || unhex(s, nonce, 32) != 0) {
		show(r, m, "POST nonce: no 32-byte nonce", a.status, a.body, a.body_len);
		json_object_put(o);
		return O_ERROR;
	}
	memcpy(nonce_hex, s, 65);
	if ((s = jstr(o, "eventlog_sha256")) && strlen(s) == 64)
		memcpy(held, s, 65);
	json_object_put(o);
	o = NULL;

	if (al_machine_evidence(&r->f, m, nonce, 32, &ev) != TPA_OK) {
		show(r, m, "cannot make the evidence", 0, NULL, 0);
		return O_ERROR;
	}
	use_hash = !first && !r->full_log && strcmp(held, m->log_sha) == 0;
	if (use_hash && tpa_evidence_to_json(ev, 0, &thin) != TPA_OK)
		goto nomem;
	snprintf(path, sizeof(path), "/v1/machines/%s/attest", m->id);
	if (use_hash) {
		snprintf(hdr, sizeof(hdr), "Tpmattest-Eventlog-Sha256: %s", m->log_sha);
		sent = thin;
		if (worker_http(w, "POST", path, hdr, thin, strlen(thin), 0, &a, why,
		                sizeof(why)) != 0) {
			show(r, m, why, 0, NULL, 0);
			out = O_TRANSPORT;
			goto done;
		}
		if (a.status == 409 && (o = parse_body(&a)) && (s = jstr(o, "error")) &&
		    strcmp(s, "eventlog_unknown") == 0)
			use_hash =
			        0; /* the nonce is still unused: the same evidence, with its log */
		json_object_put(o);
		o = NULL;
	}
	if (!use_hash) {
		if (al_machine_set_log(&r->f, m, ev, w->logbuf) != TPA_OK ||
		    tpa_evidence_to_json(ev, 0, &full) != TPA_OK)
			goto nomem;
		sent = full;
		if (worker_http(w, "POST", path, NULL, full, strlen(full), 0, &a, why,
		                sizeof(why)) != 0) {
			show(r, m, why, 0, NULL, 0);
			out = O_TRANSPORT;
			goto done;
		}
	}
	*ms = (mono() - t0) * 1000.0;
	if (a.status == 200) {
		json_object *v;
		long long seq = -1;
		o = parse_body(&a);
		s = jstr(o, "verdict");
		if (o && json_object_object_get_ex(o, "seq", &v) &&
		    json_object_is_type(v, json_type_int))
			seq = json_object_get_int64(v);
		if (s && strcmp(s, "pass") != 0 && strcmp(s, "fail") != 0)
			s = NULL;
		record(r, m, 200, s, NULL, seq, nonce_hex, use_hash ? m->log_sha : NULL, sent);
		if (s && strcmp(s, "pass") == 0) {
			out = O_PASS;
		} else if (s && strcmp(s, "fail") == 0) {
			out = O_FAIL;
			show(r, m, "verdict FAIL", 0, a.body, a.body_len);
		} else {
			show(r, m, "POST attest: 200 without a verdict", 200, a.body, a.body_len);
		}
	} else {
		o = parse_body(&a);
		record(r, m, a.status, NULL, jstr(o, "error"), -1, nonce_hex,
		       use_hash ? m->log_sha : NULL, sent);
		show(r, m, "POST attest refused", a.status, a.body, a.body_len);
	}
	goto done;
nomem:
	show(r, m, "cannot write the evidence (out of memory?)", 0, NULL, 0);
done:
	json_object_put(o);
	tpa_evidence_free(&ev);
	free(thin);
	free(full);
	return out;
}

static void backoff(struct worker *w, enum outcome o)
{
	if (o == O_PASS || o == O_FAIL) {
		w->backoff = 0;
		return;
	}
	/* the server is down, restarting or cannot store (503): 25 ms,
	 * doubling up to 400 ms */
	sleep_ms(25u << (w->backoff < 4 ? w->backoff : 4));
	if (w->backoff < 4)
		w->backoff++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	size_t i;

	for (i = w->id; i < r->n; i += r->clients) {
		if (al_machine_init(&r->f, &r->m[i], (uint32_t)i) != TPA_OK) {
			fprintf(stderr, "attest-load: cannot make machine %zu\n", i);
			continue;
		}
		atomic_fetch_add(&r->inited, 1);
	}
	for (i = w->id; i < r->n; i += r->clients) {
		if (!r->m[i].ek)
			continue;
		if (enroll_one(w, &r->m[i]) == 0) {
			r->m[i].enrolled = 1;
			atomic_fetch_add(&r->enrolled, 1);
		} else {
			atomic_fetch_add(&r->enroll_errors, 1);
		}
	}
	for (i = w->id; i < r->n; i += r->clients) {
		double ms;
		enum outcome o;
		if (!r->m[i].enrolled)
			continue;
		o = attest_one(w, &r->m[i], 1, &ms);
		if (o == O_FAIL)
			atomic_fetch_add(&r->first_fail, 1);
		else if (o != O_PASS)
			atomic_fetch_add(&r->first_errors, 1);
		atomic_fetch_add(&r->first_done, 1);
	}
	atomic_fetch_add(&r->ready, 1);
	pthread_barrier_wait(&r->b1);
	pthread_barrier_wait(&r->b2);
	i = w->id;
	while (r->timed_seconds > 0 && mono() < r->deadline) {
		double ms = 0;
		enum outcome o;
		size_t tries = 0;
		/* round-robin over this thread's enrolled machines */
		while (!r->m[i].enrolled && tries++ < r->n / r->clients + 1)
			if ((i += r->clients) >= r->n)
				i = w->id;
		if (!r->m[i].enrolled)
			break;
		if (r->rate > 0) {
			/* open loop: this client's k-th attestation is due at a fixed
			 * time, whatever the earlier ones took; its latency counts
			 * from then (a late start is the server's delay too) */
			double period = (double)r->clients / r->rate;
			double due =
			        r->start + ((double)w->id / r->clients + (double)w->k++) * period;
			double now = mono();
			if (due >= r->deadline)
				break;
			if (due > now)
				sleep_s(due - now);
			o = attest_one(w, &r->m[i], 0, &ms);
			ms = (mono() - due) * 1000.0;
		} else {
			o = attest_one(w, &r->m[i], 0, &ms);
		}
		if ((i += r->clients) >= r->n)
			i = w->id;
		if (o == O_PASS || o == O_FAIL) {
			if (w->nlat == w->caplat) {
				size_t nc = w->caplat ? 2 * w->caplat : 1024;
				double *nl = realloc(w->lat, nc * sizeof(*nl));
				if (nl) {
					w->lat = nl;
					w->caplat = nc;
				}
			}
			if (w->nlat < w->caplat)
				w->lat[w->nlat++] = ms;
			if (o == O_PASS)
				w->pass++;
			else
				w->fail++;
		} else {
			w->errors++;
		}
		backoff(w, o);
	}
	for (unsigned k = 0; k < w->run->nt; k++)
		al_conn_close(&w->conn[k]);
	return NULL;
}

/* utime + stime of a process, microseconds; -1 when unknown. */
static long long proc_cpu_us(long pid)
{
	char p[64], buf[2048], *q;
	FILE *f;
	size_t n;
	unsigned long long ut = 0, st = 0;
	if (pid <= 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	if (!(f = fopen(p, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (!(q = strrchr(buf, ')')))
		return -1;
	/* after the name: state (3), ..., utime (14), stime (15) */
	if (sscanf(q + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static long long proc_rss_kb(long pid);

/* The sum over the servers given (--server-pid, once per server); -1 when
 * one is unknown. */
static long long servers_sum(const unsigned long *pid, unsigned n, long long (*f)(long))
{
	long long sum = 0;

	if (n == 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		long long v = f((long)pid[i]);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

static long long servers_cpu_us(const unsigned long *pid, unsigned n)
{
	return servers_sum(pid, n, proc_cpu_us);
}

static long long servers_rss_kb(const unsigned long *pid, unsigned n)
{
	return servers_sum(pid, n, proc_rss_kb);
}

static long long proc_rss_kb(long pid)
{
	char p[64], line[256];
	FILE *f;
	long long kb = -1;
	if (pid <= 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/%ld/status", pid);
	if (!(f = fopen(p, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double self_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
	return bench_cmp_double(a, b);
}

static double pct(const double *v, size_t n, double p)
{
	size_t k;
	if (!n)
		return 0;
	k = (size_t)(p * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

static int cmd_run(int argc, char **argv)
{
	enum {
		O_URL = 256,
		O_CA,
		O_DIR,
		O_MACH,
		O_CLI,
		O_SEC,
		O_FULL,
		O_PID,
		O_REC,
		O_JSON,
		O_PORTF,
		O_LOG,
		O_UNIQ,
		O_SAME,
		O_TMO,
		O_RATE
	};
	static const struct option opts[] = {
	        {"url", required_argument, NULL, O_URL},
	        {"ca", required_argument, NULL, O_CA},
	        {"dir", required_argument, NULL, O_DIR},
	        {"machines", required_argument, NULL, O_MACH},
	        {"clients", required_argument, NULL, O_CLI},
	        {"seconds", required_argument, NULL, O_SEC},
	        {"full-log", no_argument, NULL, O_FULL},
	        {"server-pid", required_argument, NULL, O_PID},
	        {"record", required_argument, NULL, O_REC},
	        {"json", no_argument, NULL, O_JSON},
	        {"port-file", required_argument, NULL, O_PORTF},
	        {"log", required_argument, NULL, O_LOG},
	        {"unique-logs", no_argument, NULL, O_UNIQ},
	        {"same-log", no_argument, NULL, O_SAME},
	        {"timeout", required_argument, NULL, O_TMO},
	        {"rate", required_argument, NULL, O_RATE},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *url[AL_MAX_TARGETS] = {0}, *portf[AL_MAX_TARGETS] = {0}, *ca = NULL,
	           *dir = NULL, *recpath = NULL, *logpath = NULL;
	unsigned long machines = 0, clients = 0, seconds = 0, pid[AL_MAX_TARGETS] = {0},
	              tmo = 10000, offered = 0;
	unsigned nurl = 0, nportf = 0, npid = 0;
	int have_m = 0, have_c = 0, have_s = 0, json = 0, unique = 1, full_log = 0, c, rc = 1;
	struct run *r = NULL;
	struct worker *w = NULL;
	uint8_t *log = NULL;
	size_t loglen = 0;
	char why[256];
	long long rss0, rss1, scpu0 = -1, scpu1 = -1;
	double t0, t1, gcpu0, gcpu1, elapsed;
	uint64_t pass = 0, fail = 0, errors = 0;
	double *lat = NULL;
	size_t nlat = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_URL:
			if (nurl == AL_MAX_TARGETS)
				return usage("run: at most %d --url", AL_MAX_TARGETS);
			url[nurl++] = optarg;
			break;
		case O_CA: ca = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_MACH:
			if (parse_uint(optarg, 1, MAX_MACHINES, &machines) != 0)
				return usage("run: --machines must be 1..%u, not '%s'",
				             MAX_MACHINES, optarg);
			have_m = 1;
			break;
		case O_CLI:
			if (parse_uint(optarg, 1, MAX_CLIENTS, &clients) != 0)
				return usage("run: --clients must be 1..%u, not '%s'", MAX_CLIENTS,
				             optarg);
			have_c = 1;
			break;
		case O_SEC:
			if (parse_uint(optarg, 0, MAX_SECONDS, &seconds) != 0)
				return usage("run: --seconds must be 0..%u, not '%s'", MAX_SECONDS,
				             optarg);
			have_s = 1;
			break;
		case O_FULL: full_log = 1; break;
		case O_PID:
			if (npid == AL_MAX_TARGETS)
				return usage("run: at most %d --server-pid", AL_MAX_TARGETS);
			if (parse_uint(optarg, 1, 1ul << 22, &pid[npid++]) != 0)
				return usage("run: --server-pid must be a process id, not '%s'",
				             optarg);
			break;
		case O_REC: recpath = optarg; break;
		case O_JSON: json = 1; break;
		case O_PORTF:
			if (nportf == AL_MAX_TARGETS)
				return usage("run: at most %d --port-file", AL_MAX_TARGETS);
			portf[nportf++] = optarg;
			break;
		case O_LOG: logpath = optarg; break;
		case O_UNIQ: unique = 1; break;
		case O_SAME: unique = 0; break;
		case O_RATE:
			if (parse_uint(optarg, 1, 1000000, &offered) != 0)
				return usage(
				        "run: --rate must be 1..1000000 attestations/s, not '%s'",
				        optarg);
			break;
		case O_TMO:
			if (parse_uint(optarg, 100, 600000, &tmo) != 0)
				return usage("run: --timeout must be 100..600000 ms, not '%s'",
				             optarg);
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage("run: unknown option");
		}
	}
	if (optind < argc)
		return usage("run: unexpected argument '%s'", argv[optind]);
	if (!nurl)
		return usage("run: --url https://HOST:PORT is required");
	if (nportf && nportf != nurl)
		return usage("run: one --port-file per --url, in the same order");
	if (!ca)
		return usage("run: --ca SERVER_CA.pem is required");
	if (!dir)
		return usage("run: --dir DIR is required");
	if (!have_m)
		return usage("run: --machines N is required");
	if (!have_c)
		return usage("run: --clients C is required");
	if (!have_s)
		return usage("run: --seconds S is required");
	if (clients > machines)
		clients = machines; /* one machine per thread at most */
	signal(SIGPIPE, SIG_IGN);

	if (!(r = calloc(1, sizeof(*r))))
		return 1;
	r->full_log = full_log;
	for (r->nt = 0; r->nt < nurl; r->nt++) {
		if (al_target_init(&r->t[r->nt], url[r->nt], ca, portf[r->nt], (int)tmo, why,
		                   sizeof(why)) != 0) {
			const char *bad = url[r->nt];
			while (r->nt > 0)
				al_target_clear(&r->t[--r->nt]);
			free(r);
			return usage("run: --url %s: %s", bad, why);
		}
	}
	if (fleet_open(&r->f, dir, logpath, unique, &log, &loglen) != 0)
		goto out;
	r->n = machines;
	r->clients = (unsigned)clients;
	r->timed_seconds = (int)seconds;
	r->rate = (double)offered;
	if (!(r->m = calloc(r->n, sizeof(*r->m))) || !(w = calloc(clients, sizeof(*w))))
		goto out;
	if (recpath && !(r->record = fopen(recpath, "a"))) {
		fprintf(stderr, "attest-load-gen: --record %s: %s\n", recpath, strerror(errno));
		goto out;
	}
	{
		al_machine m0;
		if (al_machine_init(&r->f, &m0, 0) != TPA_OK || check_unique_log(&r->f, &m0) != 0) {
			al_machine_clear(&m0);
			goto out;
		}
		al_machine_clear(&m0);
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_barrier_init(&r->b1, NULL, (unsigned)clients + 1);
	pthread_barrier_init(&r->b2, NULL, (unsigned)clients + 1);

	rss0 = servers_rss_kb(pid, npid);
	fprintf(stderr,
	        "attest-load: %zu machines, %u clients, %s, log %zu bytes (%s), %zu banks x PCRs "
	        "0-9 quoted; server VmRSS before enrollment: %lld kB (-1: unknown)\n",
	        r->n, r->clients, r->full_log ? "full-log" : "hash", loglen,
	        unique ? "unique per machine" : "the same for all", r->f.nbanks, rss0);
	t0 = mono();
	for (unsigned i = 0; i < clients; i++) {
		w[i].run = r;
		w[i].id = i;
		for (unsigned k = 0; k < r->nt; k++)
			al_conn_init(&w[i].conn[k], &r->t[k]);
		if (!(w[i].logbuf = malloc(loglen + AL_SUFFIX_MAX)) ||
		    pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "attest-load-gen: cannot start client thread %u\n", i);
			exit(1); /* the threads started wait at a barrier that cannot fill */
		}
	}
	{
		double last = mono();
		size_t last_n = 0;
		while (atomic_load(&r->ready) < clients) {
			sleep_ms(100);
			if (mono() - last >= 3.0) {
				/* steps per second: enrollments (or give-ups) and first
				 * attestations */
				size_t e = atomic_load(&r->enrolled) +
				           atomic_load(&r->enroll_errors) +
				           atomic_load(&r->first_done);
				fprintf(stderr,
				        "attest-load: made %zu/%zu, enrolled %zu/%zu, first "
				        "attestations "
				        "%zu/%zu (%.0f steps/s)\n",
				        atomic_load(&r->inited), r->n, atomic_load(&r->enrolled),
				        r->n, atomic_load(&r->first_done), r->n,
				        (double)(e - last_n) / (mono() - last));
				last_n = e;
				last = mono();
			}
		}
	}
	pthread_barrier_wait(&r->b1);
	fprintf(stderr,
	        "attest-load: enrolled %zu machines (%zu already), %zu errors, in %.1f s; first "
	        "attestations with the log: %zu, %zu FAIL, %zu errors\n",
	        atomic_load(&r->enrolled), atomic_load(&r->already), atomic_load(&r->enroll_errors),
	        mono() - t0, atomic_load(&r->first_done), atomic_load(&r->first_fail),
	        atomic_load(&r->first_errors));
	scpu0 = servers_cpu_us(pid, npid);
	gcpu0 = self_cpu_us();
	t0 = mono();
	r->start = t0;
	r->deadline = t0 + (double)seconds;
	pthread_barrier_wait(&r->b2);
	for (unsigned i = 0; i < clients; i++)
		pthread_join(w[i].th, NULL);
	t1 = mono();
	gcpu1 = self_cpu_us();
	scpu1 = servers_cpu_us(pid, npid);
	rss1 = servers_rss_kb(pid, npid);
	elapsed = seconds ? t1 - t0 : 0;

	for (unsigned i = 0; i < clients; i++) {
		pass += w[i].pass;
		fail += w[i].fail;
		errors += w[i].errors;
		nlat += w[i].nlat;
	}
	if (nlat && (lat = malloc(nlat * sizeof(*lat)))) {
		size_t k = 0;
		for (unsigned i = 0; i < clients; i++) {
			memcpy(lat + k, w[i].lat, w[i].nlat * sizeof(*lat));
			k += w[i].nlat;
		}
		qsort(lat, nlat, sizeof(*lat), cmp_double);
	} else {
		nlat = 0;
	}
	{
		uint64_t k = pass + fail;
		double rate = elapsed > 0 ? (double)k / elapsed : 0;
		double p50 = pct(lat, nlat, 0.50), p99 = pct(lat, nlat, 0.99),
		       mx = nlat ? lat[nlat - 1] : 0;
		long long cpu = scpu0 >= 0 && scpu1 >= 0 && k ? (scpu1 - scpu0) / (long long)k : 0;
		long long gcpu = k ? (long long)((gcpu1 - gcpu0) / (double)k) : 0;
		long long rpm = rss0 >= 0 && rss1 >= 0 ? (rss1 - rss0) * 1024 / (long long)r->n : 0;
		FILE *hum = json ? stderr : stdout;
		const char *mode = r->full_log ? "full-log" : "hash";

		fprintf(hum,
		        "attest-load: timed phase %.1f s: %llu verdicts (%llu PASS, %llu FAIL), "
		        "%llu errors; %.1f attestations/s\n",
		        elapsed, (unsigned long long)k, (unsigned long long)pass,
		        (unsigned long long)fail, (unsigned long long)errors, rate);
		fprintf(hum,
		        "attest-load: latency (nonce + attest) p50 %.1f ms, p99 %.1f ms, max %.1f "
		        "ms\n",
		        p50, p99, mx);
		if (npid)
			fprintf(hum,
			        "attest-load: server CPU %lld us per attestation, VmRSS %lld kB at "
			        "the "
			        "end, %lld kB before enrollment: %lld bytes per machine\n",
			        cpu, rss1, rss0, rpm);
		else
			fprintf(hum,
			        "attest-load: no --server-pid: the server's CPU and memory are "
			        "not measured (0 below)\n");
		fprintf(hum, "attest-load: generator CPU %lld us per attestation\n", gcpu);
		if (json)
			printf("{\"machines\":%zu,\"clients\":%u,\"mode\":\"%s\",\"offered\":%.0f,"
			       "\"attestations\":%"
			       "llu,"
			       "\"rate\":%.1f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,"
			       "\"cpu_us\":%lld,\"gen_cpu_us\":%lld,\"rss_kb\":%lld,"
			       "\"rss_before_kb\":%lld,\"rss_per_machine_b\":%lld,\"pass\":%llu,"
			       "\"fail\":%llu,\"errors\":%llu,\"enroll_errors\":%zu,"
			       "\"first_fail\":%zu,\"first_errors\":%zu}\n",
			       r->n, r->clients, mode, r->rate, (unsigned long long)k, rate, p50,
			       p99, mx, cpu, gcpu, rss1 > 0 ? rss1 : 0, rss0 > 0 ? rss0 : 0, rpm,
			       (unsigned long long)pass, (unsigned long long)fail,
			       (unsigned long long)errors, atomic_load(&r->enroll_errors),
			       atomic_load(&r->first_fail), atomic_load(&r->first_errors));
		else
			printf("attest-load: machines=%zu clients=%u mode=%s offered=%.0f "
			       "attestations=%llu "
			       "rate=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f cpu_us=%lld "
			       "gen_cpu_us=%lld rss_kb=%lld rss_per_machine_b=%lld pass=%llu "
			       "fail=%llu "
			       "errors=%llu\n",
			       r->n, r->clients, mode, r->rate, (unsigned long long)k, rate, p50,
			       p99, mx, cpu, gcpu, rss1 > 0 ? rss1 : 0, rpm,
			       (unsigned long long)pass, (unsigned long long)fail,
			       (unsigned long long)errors);
		fflush(stdout);
		{
			uint64_t bad = fail + errors + atomic_load(&r->enroll_errors) +
			               atomic_load(&r->first_fail) + atomic_load(&r->first_errors);
			if (bad && !recpath) {
				fprintf(stderr,
				        "attest-load: BROKEN: %llu FAIL verdicts or errors "
				        "(enrollment "
				        "and first attestations included); a fleet that cannot "
				        "pass "
				        "measures nothing\n",
				        (unsigned long long)bad);
				rc = 1;
			} else {
				rc = 0;
			}
		}
	}
	if (r->record)
		fflush(r->record);
out:
	if (r) {
		for (size_t i = 0; r->m && i < r->n; i++)
			al_machine_clear(&r->m[i]);
		free(r->m);
		if (r->record)
			fclose(r->record);
		al_fleet_clear(&r->f);
		for (unsigned k = 0; k < r->nt; k++)
			al_target_clear(&r->t[k]);
		free(r);
	}
	for (unsigned i = 0; w && i < clients; i++) {
		free(w[i].lat);
		free(w[i].logbuf);
		for (unsigned k = 0; k < AL_MAX_TARGETS; k++)
			free(w[i].conn[k].buf);
	}
	free(w);
	free(lat);
	free(log);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("a command is required (prepare or run)");
	if (strcmp(argv[1], "prepare") == 0)
		return cmd_prepare(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	return usage("unknown command '%s' (prepare or run)", argv[1]);
}
