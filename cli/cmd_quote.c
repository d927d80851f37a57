/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest quote --nonce HEX --out FILE
 *
 * One attestation in one process: provisioning if needed, counter
 * increment, PCR read + quote (every allocated bank), counter certification,
 * event log.  Output is written only once everything succeeded, and each
 * file atomically, so a failure leaves no partial evidence behind.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/eventlog.h>

/* the library's strict JSON reader (an internal header) */
#include "../src/base/json.h"
#include "cmd_tpm.h"

/* In cmd_tpm.c (they belong in cmd_tpm.h). */
int tpm_load_counter_key(const char *cmd, const char *path, uint8_t name[TPA_COUNTER_NAME_LEN]);
int tpm_counter_machine_policy(const char *cmd, tpa_tpm *tpm,
                               const uint8_t key_name[TPA_COUNTER_NAME_LEN],
                               uint8_t machine_id[TPA_COUNTER_MACHINE_LEN], uint8_t policy[32]);
int tpm_counter_policy_of(const char *cmd, tpa_tpm *tpm, uint32_t index, uint8_t policy[32],
                          bool *found);

static const char quote_usage[] =
        "usage: tpmattest quote --nonce HEX --out FILE [--pcrs LIST] [--eventlog PATH|none]\n"
        "                       [--raw-dir DIR] [--ak-alg ecc|rsa] [--ak-handle H]\n"
        "                       [--nv-index I] [--json] [--tcti SPEC]\n"
        "                       [--owner-auth FILE] [--endorsement-auth FILE]\n"
        "       tpmattest quote --exchange [--counter-key PUB] --out FILE [options above]\n"
        "\n"
        "Writes an evidence document (docs/evidence.md) for the verifier's nonce: a quote\n"
        "of every allocated PCR bank, the PCR values, the NV counter (incremented, then\n"
        "certified with the same nonce), the event log and the EK certificates.\n"
        "Provisions the AK and the counter first if they are missing (see tpmattest init).\n"
        "Options:\n"
        "  --nonce HEX       qualifying data, 1 to 64 bytes (verifiers should send 32 random)\n"
        "  --out FILE        evidence JSON, written atomically (\"-\": stdout)\n"
        "  --pcrs LIST       PCRs to quote: \"0-9\" (default), \"0,2,4-7\", \"all\"\n"
        "  --eventlog PATH   event log to include (default " DEFAULT_EVENTLOG ";\n"
        "                    missing default: warning, no log; missing PATH: error); none: no log\n"
        "  --raw-dir DIR     also write ak.pub (TPM2B_PUBLIC), quote.attest (TPMS_ATTEST),\n"
        "                    quote.sig (TPMT_SIGNATURE), pcrs.json, counter.attest, counter.sig\n"
        "  --ak-alg ALG      ecc (default) or rsa, when the AK has to be created\n"
        "  --ak-handle H     persistent AK handle (default 0x81000100)\n"
        "  --nv-index I      NV counter index (default 0x01000100; with --exchange\n"
        "                    0x01000101)\n"
        "  --exchange        the verifier-authorized counter: print {\"nonce_tpm\":HEX} on\n"
        "                    stdout, read {\"nonce\":HEX,\"counter_authorization\":{..}|null}\n"
        "                    on stdin (one line each), then quote; see tpmattest-quote(1).\n"
        "                    Without a verifier-authorized counter at the index (a machine\n"
        "                    enrolled with the older one): {\"nonce_tpm\":null}, and the\n"
        "                    older counter at --nv-index (default 0x01000100)\n"
        "  --counter-key PUB with --exchange: the verifier's key (`tpmattest counter public`\n"
        "                    JSON, base64 TPM2B_PUBLIC, or PEM), to define the counter\n"
        "                    if missing; default: the policy of the counter there\n"
        "  --owner-auth FILE, --endorsement-auth FILE\n"
        "                    hierarchy authorizations, when set (tpmattest init\n"
        "                    --set-owner-auth); default $TPMATTEST_OWNER_AUTH_FILE,\n"
        "                    $TPMATTEST_ENDORSEMENT_AUTH_FILE\n"
        "  --json            print a JSON summary on stdout\n" TCTI_HELP_AT(
                "       ", "                    ") "  -h, --help        this text\n";

/* Reads the event log; *buf stays NULL when there is none to send. */
static int load_eventlog(const char *path, bool explicit_, uint8_t **buf, size_t *len)
{
	int r;
	*buf = NULL;
	*len = 0;
	if (strcmp(path, "none") == 0)
		return EXIT_OK;
	r = read_file(path, TPA_EVENTLOG_MAX_SIZE, buf, len);
	if (r == TPA_E_LIMIT) {
		errmsg("quote: %s: larger than the %u-byte limit for an event log", path,
		       TPA_EVENTLOG_MAX_SIZE);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		if (explicit_) {
			errmsg("quote: %s: cannot read the event log: %s", path, strerror(errno));
			return EXIT_ENV;
		}
		errmsg("warning: %s: cannot read the event log (%s); the evidence carries no log",
		       path, strerror(errno));
		*buf = NULL;
		*len = 0;
	}
	return EXIT_OK;
}

static int write_out(const char *path, const void *data, size_t len)
{
	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			errmsg("quote: writing to stdout: %s", strerror(errno));
			return EXIT_ENV;
		}
		return EXIT_OK;
	}
	if (write_file_atomic(path, data, len) != TPA_OK) {
		errmsg("quote: %s: cannot write: %s", path, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int write_raw(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		errmsg("quote: %s/%s: path too long", dir, name);
		return EXIT_ENV;
	}
	return write_out(path, data, len);
}

static int write_raw_dir(const char *dir, const tpa_evidence *ev)
{
	static const struct {
		const char *name;
		tpa_evidence_part part;
	} files[] = {
	        {"ak.pub", TPA_PART_AK_PUBLIC},
	        {"quote.attest", TPA_PART_QUOTE_ATTEST},
	        {"quote.sig", TPA_PART_QUOTE_SIGNATURE},
	        {"counter.attest", TPA_PART_COUNTER_ATTEST},
	        {"counter.sig", TPA_PART_COUNTER_SIGNATURE},
	};
	char *pcrs = NULL;
	int rc, r;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		errmsg("quote: %s: cannot create the directory: %s", dir, strerror(errno));
		return EXIT_ENV;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len = 0;
		const uint8_t *p = tpa_evidence_get(ev, files[i].part, &len);
		if ((rc = write_raw(dir, files[i].name, p, len)) != EXIT_OK)
			return rc;
	}
	if ((r = tpa_pcrs_to_json(tpa_evidence_pcrs(ev), 1, &pcrs)) != TPA_OK) {
		errmsg("quote: pcrs.json: %s", tpa_strerror(r));
		return exit_for(r);
	}
	rc = write_raw(dir, "pcrs.json", pcrs, strlen(pcrs));
	free(pcrs);
	return rc;
}

/* ---- --exchange ---- */

#define EXCHANGE_LINE_MAX 8192

struct exchange {
	const uint8_t *policy; /* the counter's authPolicy */
	int failed_rc;         /* the exit status of a failure reported here */
	tpa_tpm *tpm;          /* for this machine's id, when it is needed */
	bool have_machine_id;
	uint8_t machine_id[TPA_COUNTER_MACHINE_LEN];
};

/* One line of stdin, without its newline, at most EXCHANGE_LINE_MAX bytes. */
static int read_line(char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int ch;
	while ((ch = getchar()) != EOF && ch != '\n') {
		if (n + 1 >= cap)
			return TPA_E_LIMIT;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && (ferror(stdin) || n == 0))
		return TPA_E_IO;
	buf[n] = 0;
	*len = n;
	return TPA_OK;
}

/* hex, 2n lowercase or uppercase digits, 1 <= n <= cap */
static int hex_field(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *n)
{
	if (!slen || slen % 2 || slen / 2 > cap)
		return 0;
	for (size_t i = 0; i < slen; i += 2) {
		int v = 0;
		for (size_t j = i; j < i + 2; j++) {
			char c = s[j];
			int d = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			                               : -1;
			if (d < 0)
				return 0;
			v = v << 4 | d;
		}
		out[i / 2] = (uint8_t)v;
	}
	*n = slen / 2;
	return 1;
}

/*
 * tpa_quote_opts.ask: the session's nonceTPM out on stdout, the verifier's
 * answer in on stdin, read strictly.  Failures are reported here, once.
 */
static int exchange_ask(void *ctx, const uint8_t *nonce_tpm, size_t nonce_tpm_len, uint8_t *nonce,
                        size_t nonce_cap, size_t *nonce_len, tpa_counter_auth *auth, int *have_auth)
{
	struct exchange *x = ctx;
	char hex[2 * TPA_COUNTER_NONCE_MAX + 1], why[200] = "";
	char *line = NULL;
	size_t len = 0;
	struct json_object *o = NULL, *jn = NULL, *ja = NULL;
	int r;

	x->failed_rc = EXIT_MALFORMED;
	if (nonce_tpm_len > TPA_COUNTER_NONCE_MAX)
		return TPA_E_INVALID_ARG;
	/* the older counter has no session: null, and no authorization back */
	if (nonce_tpm)
		hex_string(nonce_tpm, nonce_tpm_len, hex);
	if ((nonce_tpm ? printf("{\"nonce_tpm\":\"%s\"}\n", hex)
	               : printf("{\"nonce_tpm\":null}\n")) < 0 ||
	    fflush(stdout) != 0) {
		errmsg("quote --exchange: writing the nonceTPM to stdout: %s", strerror(errno));
		x->failed_rc = EXIT_ENV;
		return TPA_E_IO;
	}
	if (!(line = malloc(EXCHANGE_LINE_MAX + 1))) {
		errmsg("quote --exchange: out of memory");
		x->failed_rc = EXIT_ENV;
		return TPA_E_NOMEM;
	}
	if ((r = read_line(line, EXCHANGE_LINE_MAX + 1, &len)) != TPA_OK) {
		errmsg("quote --exchange: the verifier's answer on stdin: %s",
		       r == TPA_E_LIMIT ? "a line longer than 8 KiB" : "no line (end of input)");
		x->failed_rc = r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
		goto out;
	}
	if ((r = tpa_json_parse(line, len, &o, why, sizeof(why))) != TPA_OK || !o ||
	    !json_object_is_type(o, json_type_object)) {
		errmsg("quote --exchange: the verifier's answer is not a JSON object%s%s",
		       why[0] ? ": " : "", why);
		r = TPA_E_MALFORMED;
		goto out;
	}
	r = TPA_E_MALFORMED;
	json_object_object_foreach (o, key, val) {
		(void)val;
		if (strcmp(key, "nonce") != 0 && strcmp(key, "counter_authorization") != 0) {
			errmsg("quote --exchange: the verifier's answer has an unknown member "
			       "\"%s\" (want nonce, counter_authorization)",
			       key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(o, "nonce", &jn) ||
	    !json_object_is_type(jn, json_type_string) ||
	    !hex_field(json_object_get_string(jn), (size_t)json_object_get_string_len(jn), nonce,
	               nonce_cap < TPA_EVIDENCE_MAX_NONCE ? nonce_cap : TPA_EVIDENCE_MAX_NONCE,
	               nonce_len)) {
		errmsg("quote --exchange: the verifier's answer has no \"nonce\" of 1 to %d bytes "
		       "of hex",
		       TPA_EVIDENCE_MAX_NONCE);
		goto out;
	}
	if (!json_object_object_get_ex(o, "counter_authorization", &ja)) {
		errmsg("quote --exchange: the verifier's answer has no \"counter_authorization\" "
		       "(an object, or null)");
		goto out;
	}
	*have_auth = 0;
	if (ja) {
		const char *js;
		uint8_t name[TPA_COUNTER_NAME_LEN], pol[32];
		if (!json_object_is_type(ja, json_type_object)) {
			errmsg("quote --exchange: \"counter_authorization\" is neither an object "
			       "nor null");
			goto out;
		}
		if (!x->policy) {
			errmsg("quote --exchange: a counter authorization for the older counter, "
			       "which takes none");
			goto out;
		}
		js = json_object_to_json_string_ext(ja, JSON_C_TO_STRING_PLAIN |
		                                                JSON_C_TO_STRING_NOSLASHESCAPE);
		why[0] = 0;
		if (!js || (r = tpa_counter_auth_from_json(js, strlen(js), auth, why,
		                                           sizeof(why))) != TPA_OK) {
			errmsg("quote --exchange: %s",
			       why[0] ? why : "counter_authorization: malformed");
			r = TPA_E_MALFORMED;
			goto out;
		}
		/* Another key: the TPM would refuse it too (TPM_RC_POLICY_FAIL on
		 * NV_Increment), after the work; the words are clearer here.  The
		 * policy with the authorization's machine id, else with this
		 * machine's (its ECC EK, asked for only then): an authorization by
		 * the right key for another machine id goes to the TPM, which
		 * refuses it (no increment, the quote goes on). */
		r = TPA_E_MALFORMED;
		if (tpa_counter_key_public_check(auth->key_public, auth->key_public_len, name, why,
		                                 sizeof(why)) != TPA_OK ||
		    tpa_counter_policy(name, auth->machine_id, pol) != TPA_OK) {
			errmsg("quote --exchange: the counter authorization's key: %s",
			       why[0] ? why : "malformed");
			goto out;
		}
		if (CRYPTO_memcmp(pol, x->policy, sizeof(pol)) != 0) {
			int rc;
			if (!x->have_machine_id) {
				if ((rc = tpm_counter_machine_policy("quote --exchange", x->tpm,
				                                     NULL, x->machine_id, NULL)) !=
				    EXIT_OK) {
					x->failed_rc = rc;
					r = TPA_E_TPM;
					goto out;
				}
				x->have_machine_id = true;
			}
			if (tpa_counter_policy(name, x->machine_id, pol) != TPA_OK ||
			    CRYPTO_memcmp(pol, x->policy, sizeof(pol)) != 0) {
				errmsg("quote --exchange: the counter authorization is signed by a "
				       "key that is not the one of the counter's policy");
				x->failed_rc = EXIT_NO;
				goto out;
			}
		}
		*have_auth = 1;
	}
	r = TPA_OK;
	x->failed_rc = EXIT_OK;
out:
	json_object_put(o);
	free(line);
	return r;
}

int cmd_quote(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"nonce", required_argument, NULL, 'N'},
	        {"out", required_argument, NULL, 'o'},
	        {"pcrs", required_argument, NULL, 'p'},
	        {"eventlog", required_argument, NULL, 'e'},
	        {"raw-dir", required_argument, NULL, 'r'},
	        {"ak-alg", required_argument, NULL, 'a'},
	        {"ak-handle", required_argument, NULL, 'k'},
	        {"nv-index", required_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"exchange", no_argument, NULL, 'X'},
	        {"counter-key", required_argument, NULL, 'K'},
	        {"owner-auth", required_argument, NULL, 'O'},
	        {"endorsement-auth", required_argument, NULL, 'D'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	tpa_quote_opts qo = {0};
	struct exchange x = {0};
	bool exchange = false, have_policy = false;
	const char *counter_key = NULL;
	uint8_t policy[32], key_name[TPA_COUNTER_NAME_LEN];
	char refused[320] = "";
	int incremented = 0;
	const char *tcti = NULL, *out = NULL, *logpath = DEFAULT_EVENTLOG, *rawdir = NULL,
	           *nonce_hex = NULL;
	bool json = false, log_explicit = false;
	uint8_t *nonce = NULL, *log = NULL;
	size_t nonce_len = 0, log_len = 0;
	tpa_tpm *tpm = NULL;
	tpa_evidence *ev = NULL;
	char *doc = NULL;
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'N': nonce_hex = optarg; break;
		case 'o': out = optarg; break;
		case 'e':
			logpath = optarg;
			log_explicit = true;
			break;
		case 'r': rawdir = optarg; break;
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'p':
			if (!parse_pcr_list(optarg, &qo.pcr_mask) || !qo.pcr_mask)
				return usage_error(quote_usage, "quote: bad PCR list '%s'", optarg);
			break;
		case 'a':
			if (!parse_key_alg(optarg, &qo.provision.ak_alg))
				return usage_error(quote_usage,
				                   "quote: --ak-alg must be ecc or rsa, not '%s'",
				                   optarg);
			break;
		case 'k':
			if (!parse_u32(optarg, &qo.provision.ak_handle))
				return usage_error(quote_usage, "quote: bad --ak-handle '%s'",
				                   optarg);
			break;
		case 'n':
			if (!parse_u32(optarg, &qo.provision.nv_index))
				return usage_error(quote_usage, "quote: bad --nv-index '%s'",
				                   optarg);
			break;
		case 'X': exchange = true; break;
		case 'K': counter_key = optarg; break;
		/* read by tpm_connect, like the variables they stand for */
		case 'O': setenv("TPMATTEST_OWNER_AUTH_FILE", optarg, 1); break;
		case 'D': setenv("TPMATTEST_ENDORSEMENT_AUTH_FILE", optarg, 1); break;
		case 'h': fputs(quote_usage, stdout); return EXIT_OK;
		default: return usage_error(quote_usage, "quote: bad option");
		}
	}
	if (optind < argc)
		return usage_error(quote_usage, "quote: unexpected argument '%s'", argv[optind]);
	if (!out)
		return usage_error(quote_usage, "quote: --out FILE is required");
	if (counter_key && !exchange)
		return usage_error(quote_usage, "quote: --counter-key goes with --exchange");
	if (exchange) {
		if (nonce_hex)
			return usage_error(quote_usage, "quote: --exchange takes the nonce from "
			                                "the verifier's answer, not --nonce");
		if (strcmp(out, "-") == 0)
			return usage_error(quote_usage, "quote: --exchange talks on stdout; "
			                                "--out must be a file");
		if (counter_key &&
		    (rc = tpm_load_counter_key("quote", counter_key, key_name)) != EXIT_OK)
			return rc;
	} else {
		if (!nonce_hex)
			return usage_error(quote_usage, "quote: --nonce HEX is required");
		if (parse_hex(nonce_hex, &nonce, &nonce_len) != TPA_OK)
			return usage_error(quote_usage, "quote: --nonce '%s' is not hex",
			                   nonce_hex);
		if (nonce_len < 1 || nonce_len > TPA_EVIDENCE_MAX_NONCE) {
			free(nonce);
			return usage_error(quote_usage,
			                   "quote: --nonce must be 1 to %d bytes, not %zu",
			                   TPA_EVIDENCE_MAX_NONCE, nonce_len);
		}
	}
	qo.nonce = nonce;
	qo.nonce_len = nonce_len;

	/* the log first: a bad explicit path must not cost a counter increment */
	if ((rc = load_eventlog(logpath, log_explicit, &log, &log_len)) != EXIT_OK)
		goto done;
	if ((rc = tpm_connect("quote", tcti, &tpm)) != EXIT_OK)
		goto done;
	if (exchange) {
		uint32_t idx = qo.provision.nv_index ? qo.provision.nv_index
		                                     : TPA_TPM_DEFAULT_AUTH_NV_INDEX;
		x.tpm = tpm;
		if (counter_key) {
			/* this machine's policy for that key: its ECC EK first */
			if ((rc = tpm_counter_machine_policy("quote", tpm, key_name, x.machine_id,
			                                     policy)) != EXIT_OK)
				goto done;
			x.have_machine_id = true;
			have_policy = true;
		} else if ((rc = tpm_counter_policy_of("quote", tpm, idx, policy, &have_policy)) !=
		           EXIT_OK) {
			goto done;
		}
		if (have_policy) {
			qo.provision.counter_policy = policy;
			x.policy = policy;
			qo.ask = exchange_ask;
			qo.ask_ctx = &x;
		} else {
			/* No verifier-authorized counter there: the older one (at
			 * --nv-index, else its own default), a machine enrolled
			 * before.  The exchange still gives the nonce. */
			int have_auth = 0;
			tpa_counter_auth unused;
			if (!(nonce = malloc(TPA_EVIDENCE_MAX_NONCE))) {
				rc = EXIT_ENV;
				goto done;
			}
			if (exchange_ask(&x, NULL, 0, nonce, TPA_EVIDENCE_MAX_NONCE, &nonce_len,
			                 &unused, &have_auth) != TPA_OK) {
				rc = x.failed_rc ? x.failed_rc : EXIT_ENV;
				goto done;
			}
			qo.nonce = nonce;
			qo.nonce_len = nonce_len;
		}
	}
	qo.incremented = &incremented;
	qo.refused = refused;
	qo.refused_len = sizeof(refused);
	if ((r = tpa_tpm_quote(tpm, &qo, &ev)) != TPA_OK) {
		/* a failed exchange was reported as it failed */
		rc = x.failed_rc ? x.failed_rc : tpm_report("quote", tpm, r);
		goto done;
	}
	tpm_disconnect(&tpm);
	if (refused[0])
		errmsg("quote: warning: the counter was not incremented: %s", refused);
	if ((log && (r = tpa_evidence_set(ev, TPA_PART_EVENTLOG, log, log_len)) != TPA_OK) ||
	    (r = tpa_evidence_set_tool(ev, "tpmattest " TPA_VERSION)) != TPA_OK ||
	    (r = tpa_evidence_to_json(ev, 1, &doc)) != TPA_OK) {
		errmsg("quote: building the evidence: %s", tpa_strerror(r));
		rc = exit_for(r);
		goto done;
	}
	if (rawdir && (rc = write_raw_dir(rawdir, ev)) != EXIT_OK)
		goto done;
	{
		size_t n = strlen(doc);
		doc[n] = '\n'; /* the NUL is replaced, the length below says where to stop */
		rc = write_out(out, doc, n + 1);
		doc[n] = 0;
		if (rc != EXIT_OK)
			goto done;
	}
	if (json || exchange) {
		struct json_object *o = json_object_new_object();
		size_t nlen = 0;
		const uint8_t *name = tpa_evidence_get(ev, TPA_PART_AK_NAME, &nlen);
		char hex[2 * (2 + TPA_MAX_DIGEST) + 1];
		hex_string(name, nlen <= 2 + TPA_MAX_DIGEST ? nlen : 0, hex);
		json_object_object_add(o, "out", json_object_new_string(out));
		json_object_object_add(o, "counter",
		                       json_object_new_uint64(tpa_evidence_counter(ev)));
		json_object_object_add(o, "ak_name", json_object_new_string(hex));
		json_object_object_add(o, "eventlog", json_object_new_boolean(log != NULL));
		json_object_object_add(o, "incremented", json_object_new_boolean(incremented));
		json_object_object_add(o, "refused",
		                       refused[0] ? json_object_new_string(refused) : NULL);
		/* with --exchange, stdout is a line protocol: the summary is one line */
		puts(json_object_to_json_string_ext(
		        o, (exchange ? JSON_C_TO_STRING_PLAIN
		                     : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) |
		                   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (strcmp(out, "-") != 0) {
		printf("evidence written to %s (counter %llu%s)\n", out,
		       (unsigned long long)tpa_evidence_counter(ev), log ? "" : ", no event log");
	}
	rc = EXIT_OK;
done:
	tpm_disconnect(&tpm);
	tpa_evidence_free(&ev);
	free(doc);
	free(log);
	OPENSSL_cleanse(nonce, nonce_len);
	free(nonce);
	return rc;
}
