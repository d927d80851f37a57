/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest result verify: a relying party's offline check of a signed
 * attestation result (EAR JWT, <tpmattest/ear.h>) with the verifier's
 * public JWK.  The library checks the signature and the claims' shape; the
 * decisions a relying party makes (status, nonce, machine, freshness) are
 * here, each refusal named.
 *
 * Freshness is the verdict's as well as the signature's: the server signs
 * a machine's last verdict when it is asked for it (iat = now, over the
 * relying party's nonce), so a machine that passed once and stopped
 * attesting has fresh results for as long as the server runs.  --max-age
 * therefore bounds tpmattest.attested-at too, and a result without it is
 * not fresh.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <tpmattest/ear.h>

#include "cli.h"

#define KEY_FILE_MAX (64u * 1024)
#define CLOCK_SKEW 300 /* seconds an iat may be ahead of this clock */
/* --max-age: at most 10 years (365-day), so now - max_age cannot overflow */
#define MAX_AGE_MAX (10LL * 365 * 86400)
/* --max-age when none is given: a result is fresh or refused, unless the
 * caller says --any-age */
#define MAX_AGE_DEFAULT 600

static const char usage_text[] =
        "usage: tpmattest result verify JWT --key JWK_FILE [--nonce HEX] [--machine ID]\n"
        "                               [--max-age SECONDS | --any-age] [--allow-warning]\n"
        "                               [--json]\n"
        "\n"
        "Checks a signed attestation result (an EAR JWT, ES256) offline.  JWT is a file,\n"
        "or - for standard input; trailing whitespace is ignored.  JWK_FILE is the\n"
        "verifier's public key as a JWK.  Accepted (exit 0) only when the signature\n"
        "verifies, the claims are an EAR of the tpmattest profile, the nonce is HEX\n"
        "(--nonce), the machine is ID (--machine), iat (when the result was signed)\n"
        "and tpmattest.attested-at (when the verdict was reached) are not more than\n"
        "300 s ahead of this clock, exp (if any) has not passed, and ear.status is\n"
        "affirming (or warning, with --allow-warning).\n"
        "  --max-age SECONDS  refuse a result signed more than SECONDS ago (iat) or\n"
        "           whose verdict is older than that (tpmattest.attested-at; a result\n"
        "           without it is refused): the server signs a machine's last verdict\n"
        "           when asked, so a fresh iat says nothing about how old the verdict\n"
        "           is.  At most 315360000 (10 years).  Default 600.\n"
        "  --any-age  no bound on either age (an archived result; a replayed old\n"
        "           result is then accepted unless --nonce is given)\n"
        "  --json   {\"valid_signature\", \"status\", \"machine_id\", \"claims\", \"accepted\",\n"
        "           \"reason\"} instead of one line\n"
        "Exit: 0 accepted, 1 refused, 2 usage, 3 malformed JWT or JWK, 4 unreadable file.\n"
        "See tpmattest-result(1).\n";

struct opts {
	const char *jwt, *key;
	char nonce[TPA_EAR_NONCE_HEX_MAX + 1];
	char machine[65];
	bool has_nonce, has_machine, has_max_age, any_age, allow_warning, json;
	long long max_age;
};

/* Lowercase hex of min..max digits, an even count, into out. */
static bool hex_arg(const char *s, size_t min, size_t max, char *out)
{
	size_t n = strlen(s);
	if (n < min || n > max || n % 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return true;
}

static int load(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int r = read_file(path, max, buf, len);
	if (r == TPA_OK)
		return EXIT_OK;
	if (r == TPA_E_LIMIT) {
		errmsg("%s %s: larger than %zu bytes", what, path, max);
		return EXIT_MALFORMED;
	}
	errmsg("%s %s: cannot read: %s", what, strcmp(path, "-") == 0 ? "(stdin)" : path,
	       strerror(errno));
	return EXIT_ENV;
}

static void when(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* A signed string for a terminal: bytes outside printable ASCII as '?'
 * (into buf, n bytes). */
static const char *printable(const char *s, char *buf, size_t n)
{
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

static void failed_list(const tpa_ear_claims *c, char *out, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	if (!c->n_failed) {
		snprintf(out, n, "none");
		return;
	}
	for (size_t i = 0; i < c->n_failed && o < n; i++) {
		char nb[sizeof(c->failed[i].name)];
		int w = snprintf(out + o, n - o, "%s%s", i ? ", " : "",
		                 printable(c->failed[i].name, nb, sizeof(nb)));
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (c->n_failed_all > c->n_failed && o < n)
		snprintf(out + o, n - o, " (and %zu more)", c->n_failed_all - c->n_failed);
}

/* NULL when accepted, else why not (into buf). */
static const char *decide(const struct opts *o, const tpa_ear_claims *c, char *buf, size_t n)
{
	int64_t now = (int64_t)time(NULL);
	char failed[1024];

	if (o->has_machine && strcmp(o->machine, c->machine_id) != 0) {
		snprintf(buf, n, "the result is for machine %s, not %s", c->machine_id, o->machine);
		return buf;
	}
	if (o->has_nonce && !c->has_nonce) {
		snprintf(buf, n, "the result has no eat_nonce, but --nonce was given");
		return buf;
	}
	if (o->has_nonce && strcmp(o->nonce, c->nonce_hex) != 0) {
		snprintf(buf, n, "eat_nonce %s is not the nonce given (%s)", c->nonce_hex,
		         o->nonce);
		return buf;
	}
	if (c->iat > now + CLOCK_SKEW) {
		snprintf(buf, n, "iat is %lld s in the future (more than the %d s allowed)",
		         (long long)(c->iat - now), CLOCK_SKEW);
		return buf;
	}
	/* iat and attested-at are in 0..TPA_EAR_TIME_MAX (tpa_ear_verify),
	 * max_age in 0..MAX_AGE_MAX: none of these subtractions overflows */
	if (o->has_max_age && c->iat < now - o->max_age) {
		snprintf(buf, n, "the result was signed %lld s ago (iat), more than --max-age %lld",
		         (long long)(now - c->iat), o->max_age);
		return buf;
	}
	if (c->has_attested_at && c->attested_at > now + CLOCK_SKEW) {
		snprintf(buf, n,
		         "the verdict was attested %lld s in the future (tpmattest.attested-at; "
		         "more than the %d s allowed)",
		         (long long)(c->attested_at - now), CLOCK_SKEW);
		return buf;
	}
	if (o->has_max_age && !c->has_attested_at) {
		snprintf(buf, n,
		         "the result has no tpmattest.attested-at: the age of its verdict is "
		         "unknown, and --max-age %lld bounds it",
		         o->max_age);
		return buf;
	}
	if (o->has_max_age && c->attested_at < now - o->max_age) {
		snprintf(buf, n,
		         "the verdict was attested %lld s ago (tpmattest.attested-at), more than "
		         "--max-age %lld",
		         (long long)(now - c->attested_at), o->max_age);
		return buf;
	}
	if (c->has_exp && now >= c->exp) {
		char t[32];
		when(c->exp, t);
		snprintf(buf, n, "expired at %s (exp)", t);
		return buf;
	}
	if (c->status == TPA_EAR_AFFIRMING || (c->status == TPA_EAR_WARNING && o->allow_warning))
		return NULL;
	failed_list(c, failed, sizeof(failed));
	snprintf(buf, n, "machine %s: status %s%s, failed checks: %s", c->machine_id,
	         tpa_ear_status_name(c->status),
	         c->status == TPA_EAR_WARNING ? " (--allow-warning accepts it)" : "", failed);
	return buf;
}

static void summary(const tpa_ear_claims *c, FILE *f)
{
	char at[32], failed[1024], pid[sizeof(c->policy_id)];
	failed_list(c, failed, sizeof(failed));
	if (c->has_attested_at)
		when(c->attested_at, at);
	else
		snprintf(at, sizeof(at), "never");
	fprintf(f, "%s: machine %s, verdict %s, attested at %s, policy %s, failed checks: %s\n",
	        tpa_ear_status_name(c->status), c->machine_id, c->verdict[0] ? c->verdict : "none",
	        at, c->policy_id[0] ? printable(c->policy_id, pid, sizeof(pid)) : "(none)", failed);
}

static int print_json(bool valid, const tpa_ear_claims *c, bool accepted, const char *reason)
{
	struct json_object *o = json_object_new_object();
	struct json_object *claims = valid ? json_tokener_parse(c->claims_json) : NULL;
	const char *s;
	if (!o || (valid && !claims)) {
		json_object_put(o);
		json_object_put(claims);
		errmsg("out of memory");
		return EXIT_ENV;
	}
	json_object_object_add(o, "valid_signature", json_object_new_boolean(valid));
	json_object_object_add(
	        o, "status", valid ? json_object_new_string(tpa_ear_status_name(c->status)) : NULL);
	json_object_object_add(o, "machine_id",
	                       valid ? json_object_new_string(c->machine_id) : NULL);
	json_object_object_add(o, "claims", claims);
	json_object_object_add(o, "accepted", json_object_new_boolean(accepted));
	json_object_object_add(o, "reason", reason ? json_object_new_string(reason) : NULL);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		puts(s);
	json_object_put(o);
	return s && fflush(stdout) == 0 ? EXIT_OK : EXIT_ENV;
}

static int do_verify(const struct opts *o)
{
	uint8_t *kbuf = NULL, *jbuf = NULL;
	size_t klen = 0, jlen = 0;
	tpa_result_pub *pub = NULL;
	tpa_ear_claims c;
	char why[512] = "", reason[1400];
	const char *jname = strcmp(o->jwt, "-") == 0 ? "(stdin)" : o->jwt, *no;
	int r, rc;

	memset(&c, 0, sizeof(c));
	if ((rc = load("key", o->key, KEY_FILE_MAX, &kbuf, &klen)) != EXIT_OK)
		return rc;
	if ((rc = load("result", o->jwt, TPA_EAR_JWT_MAX + 4096, &jbuf, &jlen)) != EXIT_OK)
		goto out;
	r = tpa_result_pub_from_jwk((const char *)kbuf, klen, &pub, why, sizeof(why));
	if (r != TPA_OK) {
		errmsg("key %s: %s", o->key, why[0] ? why : tpa_strerror(r));
		rc = r == TPA_E_NOMEM ? EXIT_ENV : EXIT_MALFORMED;
		goto out;
	}
	while (jlen && (jbuf[jlen - 1] == '\n' || jbuf[jlen - 1] == '\r' || jbuf[jlen - 1] == ' ' ||
	                jbuf[jlen - 1] == '\t'))
		jlen--;
	r = tpa_ear_verify(pub, (const char *)jbuf, jlen, &c, why, sizeof(why));
	if (r != TPA_OK) {
		/* a signature that does not verify, another alg or profile: a
		 * definite no; bytes that are no JWT: malformed */
		rc = r == TPA_E_BAD_SIGNATURE || r == TPA_E_UNSUPPORTED ? EXIT_NO
		     : r == TPA_E_NOMEM || r == TPA_E_CRYPTO            ? EXIT_ENV
		                                                        : EXIT_MALFORMED;
		snprintf(reason, sizeof(reason), "%s: %s; key %s", jname,
		         why[0] ? why : tpa_strerror(r), o->key);
		errmsg("%s", reason);
		if (o->json && print_json(false, NULL, false, reason) != EXIT_OK)
			rc = EXIT_ENV;
		goto out;
	}
	no = decide(o, &c, reason, sizeof(reason));
	rc = no ? EXIT_NO : EXIT_OK;
	if (o->json) {
		if (print_json(true, &c, !no, no) != EXIT_OK)
			rc = EXIT_ENV;
	} else {
		summary(&c, stdout);
		if (fflush(stdout) != 0)
			rc = EXIT_ENV;
	}
	if (no)
		errmsg("%s: refused: %s", jname, no);
out:
	tpa_ear_claims_clear(&c);
	tpa_result_pub_free(&pub);
	free(kbuf);
	free(jbuf);
	return rc;
}

int cmd_result(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"key", required_argument, NULL, 'k'},
	        {"nonce", required_argument, NULL, 'n'},
	        {"machine", required_argument, NULL, 'm'},
	        {"max-age", required_argument, NULL, 'a'},
	        {"allow-warning", no_argument, NULL, 'w'},
	        {"any-age", no_argument, NULL, 'A'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0, 0, 0, 0},
	};
	struct opts o = {0};
	int c;

	if (argc < 2)
		return usage_error(usage_text, "result: verify?");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "verify") != 0)
		return usage_error(usage_text, "result: unknown subcommand \"%s\"", argv[1]);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o.key = optarg; break;
		case 'n':
			if (!hex_arg(optarg, TPA_EAR_NONCE_HEX_MIN, TPA_EAR_NONCE_HEX_MAX, o.nonce))
				return usage_error(usage_text,
				                   "result verify: --nonce: not %d..%d hex digits "
				                   "(8..32 bytes)",
				                   TPA_EAR_NONCE_HEX_MIN, TPA_EAR_NONCE_HEX_MAX);
			o.has_nonce = true;
			break;
		case 'm':
			if (!hex_arg(optarg, 64, 64, o.machine))
				return usage_error(
				        usage_text,
				        "result verify: --machine: not a machine id (64 hex "
				        "digits, SHA-256 of the EK)");
			o.has_machine = true;
			break;
		case 'a': {
			char *end;
			errno = 0;
			o.max_age = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || o.max_age < 0 || optarg[0] == '+' ||
			    optarg[0] == ' ')
				return usage_error(
				        usage_text,
				        "result verify: --max-age: not a number of seconds");
			if (o.max_age > MAX_AGE_MAX)
				return usage_error(usage_text,
				                   "result verify: --max-age: more than %lld s (10 "
				                   "years)",
				                   MAX_AGE_MAX);
			o.has_max_age = true;
			break;
		}
		case 'w': o.allow_warning = true; break;
		case 'A': o.any_age = true; break;
		case 'j': o.json = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "result verify: unknown option");
		}
	}
	if (optind + 1 != argc)
		return usage_error(usage_text, "result verify: one JWT file (or -)");
	o.jwt = argv[optind];
	if (o.any_age && o.has_max_age)
		return usage_error(usage_text, "result verify: --max-age or --any-age, not both");
	if (!o.any_age && !o.has_max_age) {
		o.max_age = MAX_AGE_DEFAULT;
		o.has_max_age = true;
	}
	if (!o.key)
		return usage_error(usage_text, "result verify: --key JWK_FILE is required");
	if (strcmp(o.key, "-") == 0)
		return usage_error(usage_text,
		                   "result verify: --key is a file, not standard input");
	return do_verify(&o);
}
