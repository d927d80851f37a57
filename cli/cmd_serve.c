/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest serve: options and configuration file, the EK roots and the
 * default policy loaded, then the server (server/serve.h) runs.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/enroll.h>
#include <tpmattest/policy.h>

#include "cli.h"
#include "serve.h"

static const char usage_text[] =
        "usage: tpmattest serve --listen ADDR:PORT --db FILE|URL --tls-cert F --tls-key F\n"
        "                       --admin-ca F --ek-roots DIR [--ek-intermediates DIR]\n"
        "                       [--policy FILE] [--config FILE] [--insecure-http]\n"
        "                       [--check-time] [--port-file F] [--quiet]\n"
        "                       [--result-key F] [limits...]\n"
        "\n"
        "The verifier server (tpmattest-serve(8), docs/api.md): HTTPS API under /v1 for\n"
        "enrollment, nonces and attestations (authenticated by the TPM) and for admins\n"
        "(TLS client certificate from --admin-ca); state in a SQLite file, or in\n"
        "PostgreSQL shared by several servers (docs/api.md, \"Several servers\").\n"
        "  --listen ADDR:PORT        where to listen (port 0: any free port; see --port-file)\n"
        "  --db FILE|URL             the store (created, migrated): a SQLite file, or\n"
        "                            postgresql://USER@HOST:PORT/DB (libpq URL; the\n"
        "                            password from ~/.pgpass or PGPASSFILE, not the URL)\n"
        "  --tls-cert F, --tls-key F the server's certificate chain and key (PEM)\n"
        "  --admin-ca F              CA certificate(s) whose client certificates are admins\n"
        "  --ek-roots DIR            TPM manufacturer roots for enrollment\n"
        "  --ek-intermediates DIR    more EK intermediate CAs\n"
        "  --policy FILE             default policy for machines without one assigned;\n"
        "                            without it such verdicts say no policy ruled\n"
        "  --config FILE             KEY = VALUE lines, KEY an option's name without --;\n"
        "                            options on the command line win\n"
        "  --insecure-http           plain HTTP, only on a loopback address (no admin API)\n"
        "  --check-time              enforce the EK certificate chain's validity\n"
        "  --port-file F             write the port listened on to F once listening\n"
        "  --quiet                   no line per request on stderr\n"
        "  --legacy-counters         also enroll machines whose NV counter is the older kind,\n"
        "                            which anyone on the machine may increment: a rolled-\n"
        "                            back TPM pushed forward is then not caught (their\n"
        "                            verdicts say so); machines enrolled so before keep\n"
        "                            attesting either way\n"
        "  --result-key F            the P-256 key (PEM, mode 0600) verdicts are signed with\n"
        "                            for relying parties (EAR JWTs); made when F does not\n"
        "                            exist.  Default: the SQLite file's name + .result-key;\n"
        "                            required with PostgreSQL (give every server the same)\n"
        "limits: --max-body BYTES (4194304), --max-headers BYTES (16384),\n"
        "  --max-connections N (256), --request-timeout SECONDS (10),\n"
        "  --nonce-lifetime SECONDS (120), --challenge-lifetime SECONDS (600)\n"
        "  --workers N               event loops serving requests, 1..64 (one per CPU)\n"
        "Exit 0 after SIGINT/SIGTERM, 2 usage, 3 malformed configuration or policy,\n"
        "4 when it cannot start (port, files, store).\n";

enum {
	O_LISTEN = 256,
	O_DB,
	O_CERT,
	O_KEY,
	O_ADMIN_CA,
	O_ROOTS,
	O_INTER,
	O_POLICY,
	O_CONFIG,
	O_INSECURE,
	O_CHECK_TIME,
	O_PORT_FILE,
	O_QUIET,
	O_MAX_BODY,
	O_MAX_HEADERS,
	O_MAX_CONN,
	O_REQ_TIMEOUT,
	O_NONCE_LIFE,
	O_WORKERS,
	O_CHALLENGE_LIFE,
	O_LEGACY_COUNTERS,
	O_RESULT_KEY,
	O_LAST = O_RESULT_KEY,
};

static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"db", required_argument, NULL, O_DB},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"admin-ca", required_argument, NULL, O_ADMIN_CA},
        {"ek-roots", required_argument, NULL, O_ROOTS},
        {"ek-intermediates", required_argument, NULL, O_INTER},
        {"policy", required_argument, NULL, O_POLICY},
        {"config", required_argument, NULL, O_CONFIG},
        {"insecure-http", no_argument, NULL, O_INSECURE},
        {"check-time", no_argument, NULL, O_CHECK_TIME},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"max-headers", required_argument, NULL, O_MAX_HEADERS},
        {"max-connections", required_argument, NULL, O_MAX_CONN},
        {"request-timeout", required_argument, NULL, O_REQ_TIMEOUT},
        {"nonce-lifetime", required_argument, NULL, O_NONCE_LIFE},
        {"workers", required_argument, NULL, O_WORKERS},
        {"challenge-lifetime", required_argument, NULL, O_CHALLENGE_LIFE},
        {"legacy-counters", no_argument, NULL, O_LEGACY_COUNTERS},
        {"result-key", required_argument, NULL, O_RESULT_KEY},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* Strings from the configuration file live until exit. */
static char *cfg_strings[64];
static size_t n_cfg_strings;

static int number(const char *opt, const char *v, unsigned long long min, unsigned long long max,
                  unsigned long long *out)
{
	char *end;
	unsigned long long n;
	errno = 0;
	if (!v[0] || v[0] == '-' || v[0] == '+')
		goto bad;
	n = strtoull(v, &end, 10);
	if (errno || *end || n < min || n > max)
		goto bad;
	*out = n;
	return 0;
bad:
	errmsg("serve: --%s %s: not a whole number in %llu..%llu", opt, v, min, max);
	return -1;
}

/* One option, from the command line or the configuration file.  0, or an
 * exit status. */
static int set_opt(srv_config *c, int id, const char *name, const char *v, bool *seen)
{
	unsigned long long n;
	if (id < O_LISTEN || id > O_LAST)
		return EXIT_USAGE;
	if (seen && seen[id - O_LISTEN])
		return 0; /* the command line gave it */
	switch (id) {
	case O_LISTEN: c->listen = v; break;
	case O_DB: c->db = v; break;
	case O_CERT: c->tls_cert = v; break;
	case O_KEY: c->tls_key = v; break;
	case O_ADMIN_CA: c->admin_ca = v; break;
	case O_ROOTS: c->ek_roots = v; break;
	case O_INTER: c->ek_intermediates = v; break;
	case O_POLICY: c->policy = v; break;
	case O_CONFIG: break;
	case O_PORT_FILE: c->port_file = v; break;
	case O_RESULT_KEY: c->result_key = v; break;
	case O_INSECURE:
	case O_CHECK_TIME:
	case O_LEGACY_COUNTERS:
	case O_QUIET: {
		bool on = !v || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
		          strcmp(v, "1") == 0;
		if (v && !on && strcmp(v, "false") && strcmp(v, "no") && strcmp(v, "0")) {
			errmsg("serve: %s = %s: not true or false", name, v);
			return EXIT_MALFORMED;
		}
		if (id == O_INSECURE)
			c->insecure_http = on;
		else if (id == O_CHECK_TIME)
			c->check_time = on;
		else if (id == O_LEGACY_COUNTERS)
			c->legacy_counters = on;
		else
			c->quiet = on;
		break;
	}
	default:
		if (number(name, v, 1,
		           id == O_MAX_BODY  ? (1ull << 31)
		           : id == O_WORKERS ? SRV_MAX_WORKERS
		                             : 100000000ull,
		           &n) != 0)
			return EXIT_USAGE;
		switch (id) {
		case O_MAX_BODY: c->max_body = (size_t)n; break;
		case O_MAX_HEADERS: c->max_headers = (size_t)n; break;
		case O_MAX_CONN: c->max_connections = (size_t)n; break;
		case O_REQ_TIMEOUT: c->request_timeout = (unsigned)n; break;
		case O_NONCE_LIFE: c->nonce_lifetime = (unsigned)n; break;
		case O_WORKERS: c->workers = (unsigned)n; break;
		case O_CHALLENGE_LIFE: c->challenge_lifetime = (unsigned)n; break;
		}
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int read_config(srv_config *c, const char *path, bool *seen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *line, *save = NULL;
	unsigned lineno = 0;
	int r = read_file(path, 1u << 20, &buf, &len), rc = 0;
	if (r != TPA_OK) {
		errmsg("serve: --config %s: cannot read: %s", path,
		       r == TPA_E_LIMIT ? "larger than 1 MiB" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	if (memchr(buf, 0, len)) {
		errmsg("serve: --config %s: holds a NUL byte", path);
		free(buf);
		return EXIT_MALFORMED;
	}
	{
		char *t = realloc(buf, len + 1);
		if (!t) {
			free(buf);
			errmsg("serve: out of memory");
			return EXIT_ENV;
		}
		buf = (uint8_t *)t;
		buf[len] = '\0';
	}
	for (line = strtok_r((char *)buf, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *val, *copy;
		const struct option *o;
		lineno++;
		line = trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		if (!(eq = strchr(line, '='))) {
			errmsg("serve: --config %s line %u: not KEY = VALUE", path, lineno);
			rc = EXIT_MALFORMED;
			break;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		for (o = opts; o->name; o++)
			if (strcmp(o->name, key) == 0)
				break;
		if (!o->name || o->val < O_LISTEN || o->val == O_CONFIG) {
			errmsg("serve: --config %s line %u: unknown key \"%s\"", path, lineno, key);
			rc = EXIT_MALFORMED;
			break;
		}
		if (n_cfg_strings == sizeof(cfg_strings) / sizeof(cfg_strings[0]) ||
		    !(copy = strdup(val))) {
			errmsg("serve: --config %s: too many keys", path);
			rc = EXIT_MALFORMED;
			break;
		}
		cfg_strings[n_cfg_strings++] = copy;
		if ((r = set_opt(c, o->val, key, copy, seen)) != 0) {
			errmsg("serve: --config %s line %u: refused", path, lineno);
			rc = r;
		}
	}
	free(buf);
	return rc;
}

static void free_cfg_strings(void)
{
	for (size_t i = 0; i < n_cfg_strings; i++)
		free(cfg_strings[i]);
	n_cfg_strings = 0;
}

int cmd_serve(int argc, char **argv)
{
	srv_config c;
	bool seen[O_LAST - O_LISTEN + 1] = {false};
	const char *config = NULL;
	struct tpa_ekstore *roots = NULL;
	struct tpa_policy *policy = NULL;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.max_body = SRV_DEFAULT_MAX_BODY;
	c.max_headers = SRV_DEFAULT_MAX_HEADERS;
	c.max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
	c.request_timeout = SRV_DEFAULT_REQUEST_TIMEOUT;
	c.nonce_lifetime = SRV_DEFAULT_NONCE_LIFETIME;
	c.challenge_lifetime = SRV_DEFAULT_CHALLENGE_LIFETIME;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(usage_text, stdout);
			return EXIT_OK;
		}
		if (ch == 'j')
			continue; /* the server speaks JSON; nothing to print */
		if (ch < O_LISTEN)
			return usage_error(usage_text, "serve: unknown option");
		if (ch == O_CONFIG) {
			config = optarg;
			continue;
		}
		{
			const struct option *o;
			for (o = opts; o->val != ch; o++)
				;
			if ((rc = set_opt(&c, ch, o->name, optarg, NULL)) != 0)
				return rc == EXIT_USAGE
				               ? usage_error(usage_text, "serve: bad --%s", o->name)
				               : rc;
		}
		seen[ch - O_LISTEN] = true;
	}
	if (optind < argc)
		return usage_error(usage_text, "serve: unexpected argument '%s'", argv[optind]);
	if (config && (rc = read_config(&c, config, seen)) != 0)
		goto out;
	rc = EXIT_USAGE;
	if (!c.listen || !c.db || !c.ek_roots) {
		usage_error(usage_text, "serve: --listen, --db and --ek-roots are required");
		goto out;
	}
	if (!c.result_key) {
		static char def[4096];
		if (strncmp(c.db, "postgresql://", 13) == 0 ||
		    strncmp(c.db, "postgres://", 11) == 0) {
			usage_error(usage_text,
			            "serve: --result-key FILE is required with a PostgreSQL store: "
			            "every server on it must sign results with the same key");
			goto out;
		}
		if ((size_t)snprintf(def, sizeof(def), "%s.result-key", c.db) >= sizeof(def)) {
			usage_error(usage_text, "serve: --db: too long a file name");
			goto out;
		}
		c.result_key = def;
	}
	if (!c.insecure_http && (!c.tls_cert || !c.tls_key || !c.admin_ca)) {
		usage_error(usage_text,
		            "serve: HTTPS needs --tls-cert, --tls-key and --admin-ca (plain HTTP "
		            "only with --insecure-http on a loopback address)");
		goto out;
	}
	if (tpa_ekstore_new(&roots) != TPA_OK) {
		errmsg("serve: out of memory");
		rc = EXIT_ENV;
		goto out;
	}
	if ((rc = cli_load_ekstore_dir(roots, TPA_EKSTORE_ROOT, c.ek_roots)) != EXIT_OK)
		goto out;
	if (c.ek_intermediates && (rc = cli_load_ekstore_dir(roots, TPA_EKSTORE_INTERMEDIATE,
	                                                     c.ek_intermediates)) != EXIT_OK)
		goto out;
	if (tpa_ekstore_count(roots, TPA_EKSTORE_ROOT) == 0) {
		errmsg("serve: --ek-roots %s holds no self-signed root certificate: no TPM could "
		       "enroll",
		       c.ek_roots);
		rc = EXIT_USAGE;
		goto out;
	}
	if (c.policy && (rc = cli_load_policy(c.policy, &policy)) != EXIT_OK)
		goto out;
	rc = srv_run(&c, roots, policy);
	roots = NULL;
	policy = NULL;
out:
	tpa_ekstore_free(&roots);
	tpa_policy_free(&policy);
	free_cfg_strings();
	return rc;
}
