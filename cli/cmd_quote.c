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

#include <tpmattest/eventlog.h>

#include "cmd_tpm.h"

static const char quote_usage[] =
        "usage: tpmattest quote --nonce HEX --out FILE [--pcrs LIST] [--eventlog PATH|none]\n"
        "                       [--raw-dir DIR] [--ak-alg ecc|rsa] [--ak-handle H]\n"
        "                       [--nv-index I] [--json] [--tcti SPEC]\n"
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
        "  --nv-index I      NV counter index (default 0x01000100)\n"
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
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	tpa_quote_opts qo = {0};
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
		case 'h': fputs(quote_usage, stdout); return EXIT_OK;
		default: return usage_error(quote_usage, "quote: bad option");
		}
	}
	if (optind < argc)
		return usage_error(quote_usage, "quote: unexpected argument '%s'", argv[optind]);
	if (!nonce_hex)
		return usage_error(quote_usage, "quote: --nonce HEX is required");
	if (!out)
		return usage_error(quote_usage, "quote: --out FILE is required");
	if (parse_hex(nonce_hex, &nonce, &nonce_len) != TPA_OK)
		return usage_error(quote_usage, "quote: --nonce '%s' is not hex", nonce_hex);
	if (nonce_len < 1 || nonce_len > TPA_EVIDENCE_MAX_NONCE) {
		free(nonce);
		return usage_error(quote_usage, "quote: --nonce must be 1 to %d bytes, not %zu",
		                   TPA_EVIDENCE_MAX_NONCE, nonce_len);
	}
	qo.nonce = nonce;
	qo.nonce_len = nonce_len;

	/* the log first: a bad explicit path must not cost a counter increment */
	if ((rc = load_eventlog(logpath, log_explicit, &log, &log_len)) != EXIT_OK)
		goto done;
	if ((rc = tpm_connect("quote", tcti, &tpm)) != EXIT_OK)
		goto done;
	if ((r = tpa_tpm_quote(tpm, &qo, &ev)) != TPA_OK) {
		rc = tpm_report("quote", tpm, r);
		goto done;
	}
	tpm_disconnect(&tpm);
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
	if (json) {
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
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		                                               JSON_C_TO_STRING_SPACED |
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
