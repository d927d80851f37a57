/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest policy create|merge: golden measurements learnt from known-good
 * machines.  A policy is only learnt from evidence that verifies: values a
 * quote does not cover, or a log that does not replay, teach nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/evidence.h>
#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "cli.h"

static const char usage_text[] =
        "usage: tpmattest policy create EVIDENCE [--ak FILE] [--nonce HEX] [--out FILE]\n"
        "       tpmattest policy merge POLICY... [--out FILE]\n"
        "\n"
        "  create   learn a policy from a known-good machine's evidence.  The quote must\n"
        "           verify (against --ak, by default the evidence's own AK, and --nonce,\n"
        "           by default the evidence's own nonce) and its event log must replay.\n"
        "  merge    one policy accepting what any of the given policies accepts\n"
        "  --out FILE   write the policy there (atomically) instead of to stdout\n"
        "See docs/policy.md for the format.\n";

static int emit(const tpa_policy *p, const char *out)
{
	char *s = NULL;
	tpa_policy *back = NULL;
	char why[200] = "";
	int r = tpa_policy_to_json(p, &s);
	if (r != TPA_OK) {
		errmsg("policy: %s", tpa_strerror(r));
		return exit_for(r);
	}
	/* Never write a policy that verify would refuse to load. */
	if ((r = tpa_policy_from_json(s, strlen(s), &back, why, sizeof(why))) != TPA_OK) {
		errmsg("policy: the result would not load (%s), so none is written",
		       why[0] ? why : tpa_strerror(r));
		free(s);
		return r == TPA_E_NOMEM ? EXIT_ENV : EXIT_MALFORMED;
	}
	tpa_policy_free(&back);
	if (!out) {
		puts(s);
	} else if (write_file_atomic(out, s, strlen(s)) != TPA_OK) {
		errmsg("%s: cannot write: %s", out, strerror(errno));
		free(s);
		return EXIT_ENV;
	}
	free(s);
	return EXIT_OK;
}

static int create(const char *ev_path, const char *ak_path, const char *nonce_hex, const char *out)
{
	tpa_evidence *ev = NULL;
	tpa_eventlog *log = NULL;
	tpa_ak *ak = NULL;
	tpa_result *res = NULL;
	tpa_policy *p = NULL;
	tpa_verify_input in;
	uint8_t *nonce = NULL;
	const uint8_t *x;
	size_t xl;
	char why[200] = "";
	int rc, r;

	memset(&in, 0, sizeof(in));
	if ((rc = cli_load_evidence(ev_path, &ev, &log)) != EXIT_OK)
		return rc;
	if (ak_path) {
		if ((rc = cli_load_ak(ak_path, &ak)) != EXIT_OK)
			goto out;
	} else if (!(x = tpa_evidence_get(ev, TPA_PART_AK_PUBLIC, &xl)) ||
	           (r = tpa_ak_parse(x, xl, &ak, why, sizeof(why))) != TPA_OK) {
		errmsg("evidence %s: no usable AK: %s", ev_path, why);
		rc = EXIT_MALFORMED;
		goto out;
	}
	if (nonce_hex) {
		if (parse_hex(nonce_hex, &nonce, &in.nonce_len) != TPA_OK || !in.nonce_len ||
		    in.nonce_len > 64) {
			rc = usage_error(usage_text,
			                 "policy create: --nonce must be 1 to 64 bytes of hex");
			goto out;
		}
		in.nonce = nonce;
	} else if ((in.nonce = tpa_evidence_get(ev, TPA_PART_NONCE, &in.nonce_len)) &&
	           (!in.nonce_len || in.nonce_len > 64)) {
		errmsg("evidence %s: its nonce is %zu bytes, not 1 to 64", ev_path, in.nonce_len);
		rc = EXIT_MALFORMED;
		goto out;
	}
	in.ak = ak;
	in.attest = tpa_evidence_get(ev, TPA_PART_QUOTE_ATTEST, &in.attest_len);
	in.signature = tpa_evidence_get(ev, TPA_PART_QUOTE_SIGNATURE, &in.signature_len);
	in.pcrs = tpa_evidence_pcrs(ev);
	in.eventlog = log;
	if (!in.nonce || !in.attest || !in.signature || !in.pcrs) {
		errmsg("evidence %s: no quote, nonce or PCR values", ev_path);
		rc = EXIT_MALFORMED;
		goto out;
	}
	r = tpa_verify(&in, &res);
	if (r != TPA_OK) {
		errmsg("evidence %s does not verify, so no policy is learnt from it:", ev_path);
		if (res)
			cli_report(res, r, false, stderr);
		rc = exit_for(r);
		goto out;
	}
	if (!log)
		errmsg("warning: evidence %s has no event log: the policy pins whole PCR values "
		       "only",
		       ev_path);
	r = tpa_policy_learn(tpa_result_quoted_pcrs(res), log, &p, why, sizeof(why));
	if (r != TPA_OK) {
		errmsg("policy create: %s", why[0] ? why : tpa_strerror(r));
		rc = exit_for(r);
		goto out;
	}
	rc = emit(p, out);
out:
	tpa_policy_free(&p);
	tpa_result_free(&res);
	tpa_ak_free(&ak);
	tpa_eventlog_free(&log);
	tpa_evidence_free(&ev);
	free(nonce);
	return rc;
}

static int merge(int n, char **paths, const char *out)
{
	tpa_policy *acc = NULL;
	int rc = EXIT_OK;
	for (int i = 0; i < n; i++) {
		tpa_policy *p = NULL, *m = NULL;
		char why[200] = "";
		int r;
		if ((rc = cli_load_policy(paths[i], &p)) != EXIT_OK)
			break;
		if (!acc) {
			acc = p;
			continue;
		}
		r = tpa_policy_merge(acc, p, &m, why, sizeof(why));
		tpa_policy_free(&p);
		if (r != TPA_OK) {
			errmsg("policy merge: %s: %s", paths[i], why[0] ? why : tpa_strerror(r));
			rc = r == TPA_E_POLICY ? EXIT_NO : exit_for(r);
			break;
		}
		tpa_policy_free(&acc);
		acc = m;
	}
	if (rc == EXIT_OK)
		rc = emit(acc, out);
	tpa_policy_free(&acc);
	return rc;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"ak", required_argument, NULL, 'a'},  {"nonce", required_argument, NULL, 'n'},
	        {"out", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},      {0},
	};
	const char *sub, *ak = NULL, *nonce = NULL, *out = NULL;
	int c;

	if (argc < 2)
		return usage_error(usage_text, "policy: missing subcommand");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(sub, "create") && strcmp(sub, "merge"))
		return usage_error(usage_text, "policy: unknown subcommand '%s'", sub);
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': ak = optarg; break;
		case 'n': nonce = optarg; break;
		case 'o': out = optarg; break;
		case 'j': break; /* policies are JSON already */
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "policy %s: bad option", sub);
		}
	}
	if (strcmp(sub, "create") == 0) {
		if (argc - optind != 1)
			return usage_error(usage_text,
			                   "policy create: give exactly one evidence document");
		return create(argv[optind], ak, nonce, out);
	}
	if (ak || nonce)
		return usage_error(usage_text, "policy merge: --ak and --nonce are for create");
	if (argc - optind < 1)
		return usage_error(usage_text, "policy merge: give at least one policy");
	return merge(argc - optind, argv + optind, out);
}
