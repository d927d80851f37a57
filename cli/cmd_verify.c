/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest verify: offline verification of an evidence document, or of raw
 * TPM structures as tpm2-tools and other stacks write them.  All decisions
 * are the engine's (tpa_verify); this file reads inputs and reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <json-c/json.h>

#include <tpmattest/enroll.h>
#include <tpmattest/evidence.h>
#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "cli.h"
#include "verifier/result_json.h"

static const char usage_text[] =
        "usage: tpmattest verify EVIDENCE --ak FILE --nonce HEX [--ek FILE] [--policy FILE]\n"
        "                        [--state FILE [--update-state]] [--json]\n"
        "       tpmattest verify EVIDENCE --enrollment MACHINE.json --nonce HEX [--policy FILE]\n"
        "                        [--state FILE [--update-state]] [--json]\n"
        "       tpmattest verify --attest FILE --signature FILE --ak FILE --nonce HEX\n"
        "                        --pcr-values FILE.json [--eventlog LOG] [--policy FILE] [--json]\n"
        "\n"
        "Checks a quote against the enrolled AK, the nonce this verifier issued, the\n"
        "machine's last state and a policy.  Exit 0 only when every check ran and\n"
        "passed; 1 for a \"no\" (the failing check is named); 2 usage; 3 malformed\n"
        "input; 4 I/O error.\n"
        "  --ak FILE            the enrolled AK: TPM2B_PUBLIC, TPMT_PUBLIC, or PEM/DER\n"
        "                       SubjectPublicKeyInfo\n"
        "  --trust-bare-ak      accept an --ak given as a bare public key (SPKI), whose TPM\n"
        "                       attributes cannot be checked, because enrollment vetted it\n"
        "  --enrollment FILE    the machine's enrollment record (tpmattest enroll finish):\n"
        "                       the AK, the EK and the counter's Name come from it, and\n"
        "                       the signer under the EK and the counter are always checked;\n"
        "                       instead of --ak and --ek\n"
        "  --nonce HEX          the nonce this verifier issued (1-64 bytes)\n"
        "  --ek FILE            the EK (TPM2B_PUBLIC) the AK was created under: checks\n"
        "                       that the quote's signer is in the endorsement hierarchy;\n"
        "                       required with --state\n"
        "  --policy FILE        golden measurements (tpmattest policy create)\n"
        "  --state FILE         the machine's last accepted state (clock, counter); a\n"
        "                       missing file means a first attestation.  Requires the\n"
        "                       certified counter in the evidence\n"
        "  --update-state       on success, write the next state to --state, under a lock\n"
        "                       (FILE.lock); the verdict is printed once the state is\n"
        "                       durably written, or else NOT RECORDED with exit 4\n"
        "  --attest FILE        TPMS_ATTEST (tpm2_quote -m)\n"
        "  --signature FILE     TPMT_SIGNATURE (tpm2_quote -s)\n"
        "  --pcr-values FILE    the PCR values the quote covers, {\"pcrs\":{\"sha256\":{...}}}\n"
        "  --eventlog LOG       the binary UEFI event log, which must replay to them\n"
        "  --json               machine-readable verdict on stdout\n";

#define MAX_TPM_FILE (1u << 20)

/* Reads a whole file or reports why not; returns an exit status. */
static int slurp(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int r = read_file(path, max, buf, len);
	if (r == TPA_E_LIMIT) {
		errmsg("%s %s: larger than %zu bytes", what, path, max);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("%s %s: cannot read: %s", what, path, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

int cli_load_ak(const char *path, tpa_ak **ak)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[200] = "";
	int rc = slurp("AK", path, MAX_TPM_FILE, &buf, &len), r;
	if (rc != EXIT_OK)
		return rc;
	r = tpa_ak_parse(buf, len, ak, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("AK %s: %s", path, why[0] ? why : tpa_strerror(r));
		return exit_for(r) == EXIT_ENV ? EXIT_ENV : EXIT_MALFORMED;
	}
	return EXIT_OK;
}

int cli_load_policy(const char *path, tpa_policy **p)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[200] = "";
	int rc = slurp("policy", path, 16u << 20, &buf, &len), r;
	if (rc != EXIT_OK)
		return rc;
	r = tpa_policy_from_json((const char *)buf, len, p, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("policy %s: %s", path, why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	return EXIT_OK;
}

int cli_load_evidence(const char *path, tpa_evidence **ev, tpa_eventlog **log)
{
	uint8_t *buf = NULL;
	size_t len = 0, llen = 0;
	const uint8_t *lb;
	tpa_parse_error perr;
	int rc = slurp("evidence", path, 128u << 20, &buf, &len), r;
	if (rc != EXIT_OK)
		return rc;
	char why[200] = "";
	r = tpa_evidence_from_json_why((const char *)buf, len, ev, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("evidence %s: not a tpmattest evidence document: %s", path,
		       why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	*log = NULL;
	if ((lb = tpa_evidence_get(*ev, TPA_PART_EVENTLOG, &llen)) != NULL) {
		r = tpa_eventlog_parse(lb, llen, log, &perr);
		if (r != TPA_OK) {
			errmsg("evidence %s: its event log is malformed at byte offset %zu: %s",
			       path, perr.offset, perr.reason);
			tpa_evidence_free(ev);
			return exit_for(r);
		}
	}
	return EXIT_OK;
}

static const char *status_word(tpa_check_status s)
{
	switch (s) {
	case TPA_CHECK_PASS: return "pass";
	case TPA_CHECK_FAIL: return "FAIL";
	case TPA_CHECK_NOT_RUN: return "NOT RUN";
	case TPA_CHECK_SKIPPED: return "skipped";
	}
	return "?";
}

/* With --update-state, whether the verdict was recorded in the state. */
enum recorded { REC_NONE, REC_YES, REC_NO };

/*
 * Prints the verdict and every check.  unrecorded, when set, is why the
 * next state could not be written: the evidence then counts as not
 * accepted (a verdict the state does not remember could be obtained again
 * with the same evidence), so nothing printed claims success.
 */
static void report(const tpa_result *res, int verdict, bool json, enum recorded rec,
                   const char *unrecorded, FILE *out)
{
	size_t n = tpa_result_count(res);
	bool ok = verdict == TPA_OK && !unrecorded;
	if (json) {
		struct json_object *root = json_object_new_object();
		json_object_object_add(root, "verified", json_object_new_boolean(ok));
		if (rec != REC_NONE)
			json_object_object_add(root, "recorded",
			                       json_object_new_boolean(rec == REC_YES));
		json_object_object_add(root, "verdict",
		                       json_object_new_string(unrecorded ? "not recorded"
		                                              : ok       ? "verified"
		                                                         : tpa_strerror(verdict)));
		if (unrecorded)
			json_object_object_add(root, "error", json_object_new_string(unrecorded));
		/* "not_covered": per quoted bank, the PCRs (8-23) extended without
		 * UEFI log events, which only a policy rule judges; "checks" */
		tpa_result_json_add(root, res);
		fprintf(out, "%s\n",
		        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                     JSON_C_TO_STRING_SPACED));
		json_object_put(root);
		return;
	}
	if (unrecorded) {
		fprintf(out, "NOT RECORDED: %s: the evidence is not accepted\n", unrecorded);
	} else if (ok) {
		fprintf(out, "VERIFIED\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			const char *name, *reason;
			tpa_check_status st;
			tpa_result_check(res, i, &name, &st, &reason);
			if (st == TPA_CHECK_FAIL || st == TPA_CHECK_NOT_RUN) {
				fprintf(out, "NOT VERIFIED: %s: %s\n", name, reason);
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *name, *reason;
		tpa_check_status st;
		tpa_result_check(res, i, &name, &st, &reason);
		fprintf(out, "  %-8s %-18s %s\n", status_word(st), name, reason);
	}
}

void cli_report(const tpa_result *res, int verdict, bool json, FILE *out)
{
	report(res, verdict, json, REC_NONE, NULL, out);
}

/*
 * Serializes read-check-write of one state file between verifiers: an
 * exclusive flock on FILE.lock, held until exit.  Without it two processes
 * both read the old state, so one evidence is accepted twice and the later
 * writer may put an older counter back (THREATS, concurrent
 * verifications).  The lock file is never removed: removing it would let a
 * process lock a new file while another holds the old one.
 */
int cli_lock_state(const char *path, int *lockfd)
{
	char lp[PATH_MAX];
	int fd;
	if (snprintf(lp, sizeof(lp), "%s.lock", path) >= (int)sizeof(lp)) {
		errmsg("state %s: path too long", path);
		return EXIT_ENV;
	}
	if ((fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		errmsg("state %s: cannot open the lock %s: %s", path, lp, strerror(errno));
		return EXIT_ENV;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		errmsg("state %s: cannot lock %s: %s", path, lp, strerror(errno));
		close(fd);
		return EXIT_ENV;
	}
	*lockfd = fd;
	return EXIT_OK;
}

int cli_load_state(const char *path, tpa_state *st, bool *have)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[200] = "";
	int r = read_file(path, 1u << 20, &buf, &len);
	*have = false;
	if (r == TPA_E_IO && errno == ENOENT)
		return EXIT_OK; /* first attestation of this machine */
	if (r != TPA_OK) {
		errmsg("state %s: cannot read: %s", path,
		       r == TPA_E_LIMIT ? "too large" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	r = tpa_state_from_json((const char *)buf, len, st, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("state %s: not a tpmattest state document: %s", path,
		       why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	/* Before a first counter, `counter authorize` writes only the count */
	if (!st->has_counter && !st->has_clock && st->counter_auths)
		return EXIT_OK;
	/* Every state verify writes has both: one without is not ours, and
	 * without "counter" the rollback check would be off. */
	if (!st->has_counter || !st->has_clock) {
		errmsg("state %s: not a tpmattest state document: no member \"%s\" (remove the "
		       "file to start over from a first attestation)",
		       path, st->has_counter ? "clock" : "counter");
		return EXIT_MALFORMED;
	}
	*have = true;
	return EXIT_OK;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"ak", required_argument, NULL, 'a'},
	        {"enrollment", required_argument, NULL, 'E'},
	        {"nonce", required_argument, NULL, 'n'},
	        {"policy", required_argument, NULL, 'p'},
	        {"ek", required_argument, NULL, 'k'},
	        {"trust-bare-ak", no_argument, NULL, 'B'},
	        {"state", required_argument, NULL, 's'},
	        {"update-state", no_argument, NULL, 'u'},
	        {"attest", required_argument, NULL, 'm'},
	        {"signature", required_argument, NULL, 'g'},
	        {"pcr-values", required_argument, NULL, 'v'},
	        {"eventlog", required_argument, NULL, 'e'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *ak_path = NULL, *nonce_hex = NULL, *policy_path = NULL, *state_path = NULL,
	           *attest_path = NULL, *sig_path = NULL, *ek_path = NULL, *pcrs_path = NULL,
	           *log_path = NULL, *ev_path = NULL, *enr_path = NULL;
	tpa_enrollment *rec = NULL;
	bool json = false, update = false, have_prev = false, bare_ak = false;
	tpa_ak *ak = NULL;
	tpa_policy *policy = NULL;
	tpa_evidence *ev = NULL;
	tpa_eventlog *log = NULL;
	tpa_pcrs *pcrs = NULL;
	tpa_result *res = NULL;
	tpa_state prev;
	uint8_t *nonce = NULL, *attest = NULL, *sig = NULL, *ekbuf = NULL;
	size_t nonce_len = 0, attest_len = 0, sig_len = 0, ek_len = 0;
	tpa_machine machine;
	tpa_verification v;
	char why[256] = "";
	int c, rc = EXIT_OK, r, lockfd = -1;

	memset(&machine, 0, sizeof(machine));
	memset(&v, 0, sizeof(v));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': ak_path = optarg; break;
		case 'E': enr_path = optarg; break;
		case 'n': nonce_hex = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'k': ek_path = optarg; break;
		case 'B': bare_ak = true; break;
		case 's': state_path = optarg; break;
		case 'u': update = true; break;
		case 'm': attest_path = optarg; break;
		case 'g': sig_path = optarg; break;
		case 'v': pcrs_path = optarg; break;
		case 'e': log_path = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "verify: bad option");
		}
	}
	if (optind < argc)
		ev_path = argv[optind++];
	if (optind < argc)
		return usage_error(usage_text, "verify: unexpected argument '%s'", argv[optind]);
	if (enr_path && (ak_path || ek_path || bare_ak))
		return usage_error(usage_text, "verify: --enrollment replaces --ak, --ek and "
		                               "--trust-bare-ak; give one or the other");
	if (enr_path && !ev_path)
		return usage_error(usage_text, "verify: --enrollment needs an evidence document "
		                               "(with its certified counter)");
	if ((!ak_path && !enr_path) || !nonce_hex)
		return usage_error(usage_text,
		                   "verify: --ak (or --enrollment) and --nonce are required");
	if (ev_path && (attest_path || sig_path || pcrs_path || log_path))
		return usage_error(usage_text, "verify: give either an evidence document or "
		                               "--attest/--signature, not both");
	if (!ev_path && (!attest_path || !sig_path || !pcrs_path))
		return usage_error(usage_text, "verify: give an evidence document, or --attest, "
		                               "--signature and --pcr-values");
	if (update && !state_path)
		return usage_error(usage_text, "verify: --update-state needs --state FILE");
	if (state_path && !ev_path)
		return usage_error(
		        usage_text,
		        "verify: --state needs an evidence document (with its certified counter)");
	if (parse_hex(nonce_hex, &nonce, &nonce_len) != TPA_OK || nonce_len == 0 ||
	    nonce_len > 64) {
		free(nonce);
		return usage_error(usage_text, "verify: --nonce must be 1 to 64 bytes of hex");
	}

	if (enr_path) {
		uint8_t *eb = NULL;
		size_t el = 0;
		char ewhy[256] = "";
		if ((rc = slurp("enrollment record", enr_path, TPA_ENROLL_JSON_MAX, &eb, &el)) !=
		    EXIT_OK)
			goto out;
		if (!(rec = calloc(1, sizeof(*rec)))) {
			free(eb);
			rc = EXIT_ENV;
			goto out;
		}
		r = tpa_enrollment_from_json((const char *)eb, el, rec, ewhy, sizeof(ewhy));
		free(eb);
		if (r == TPA_OK)
			r = tpa_ak_parse(rec->ak_public, rec->ak_public_len, &ak, ewhy,
			                 sizeof(ewhy));
		if (r != TPA_OK) {
			errmsg("enrollment record %s: not a tpmattest enrollment record: %s",
			       enr_path, ewhy[0] ? ewhy : tpa_strerror(r));
			rc = exit_for(r) == EXIT_ENV ? EXIT_ENV : EXIT_MALFORMED;
			goto out;
		}
		machine.counter_name = rec->counter_name;
		machine.counter_name_len = rec->counter_name_len;
		machine.counter_authorized = rec->counter_authorized;
	} else if ((rc = cli_load_ak(ak_path, &ak)) != EXIT_OK)
		goto out;
	if (policy_path && (rc = cli_load_policy(policy_path, &policy)) != EXIT_OK)
		goto out;
	if (update && (rc = cli_lock_state(state_path, &lockfd)) != EXIT_OK)
		goto out;
	if (state_path && (rc = cli_load_state(state_path, &prev, &have_prev)) != EXIT_OK)
		goto out;
	if (ek_path && (rc = slurp("EK", ek_path, MAX_TPM_FILE, &ekbuf, &ek_len)) != EXIT_OK)
		goto out;

	if (ev_path) {
		if ((rc = cli_load_evidence(ev_path, &ev, &log)) != EXIT_OK)
			goto out;
	} else {
		/* tpm2-tools' raw files, made into evidence without a counter */
		char *pj;
		size_t pl, unknown = 0;
		if ((rc = slurp("attest", attest_path, MAX_TPM_FILE, &attest, &attest_len)) !=
		            EXIT_OK ||
		    (rc = slurp("signature", sig_path, MAX_TPM_FILE, &sig, &sig_len)) != EXIT_OK ||
		    (rc = slurp("PCR values", pcrs_path, 16u << 20, (uint8_t **)&pj, &pl)) !=
		            EXIT_OK)
			goto out;
		r = tpa_pcrs_from_json(pj, pl, &pcrs, &unknown);
		free(pj);
		if (r != TPA_OK) {
			errmsg("PCR values %s: not {\"pcrs\":{\"sha256\":{\"0\":\"hex\",...}}}: %s",
			       pcrs_path, tpa_strerror(r));
			rc = exit_for(r);
			goto out;
		}
		if (log_path) {
			uint8_t *lb;
			size_t ll;
			tpa_parse_error perr;
			if ((rc = slurp("event log", log_path, TPA_EVENTLOG_MAX_SIZE, &lb, &ll)) !=
			    EXIT_OK)
				goto out;
			r = tpa_eventlog_parse(lb, ll, &log, &perr);
			free(lb);
			if (r != TPA_OK) {
				errmsg("event log %s: malformed at byte offset %zu: %s", log_path,
				       perr.offset, perr.reason);
				rc = exit_for(r);
				goto out;
			}
		}
		if ((r = tpa_evidence_new(&ev)) != TPA_OK ||
		    (r = tpa_evidence_set(ev, TPA_PART_QUOTE_ATTEST, attest, attest_len)) !=
		            TPA_OK ||
		    (r = tpa_evidence_set(ev, TPA_PART_QUOTE_SIGNATURE, sig, sig_len)) != TPA_OK ||
		    (r = tpa_evidence_set_pcrs(ev, &pcrs)) != TPA_OK) {
			errmsg("verify: %s", tpa_strerror(r));
			rc = exit_for(r);
			goto out;
		}
	}
	machine.ak = ak;
	machine.ek_public = rec ? rec->ek_public : ekbuf;
	machine.ek_public_len = rec ? rec->ek_public_len : ek_len;
	machine.trust_bare_ak = bare_ak;
	v.evidence = ev;
	v.eventlog = log;
	v.machine = &machine;
	v.nonce = nonce;
	v.nonce_len = nonce_len;
	v.previous = have_prev ? &prev : NULL;
	v.keep_state = state_path != NULL;
	v.policy = policy;
	r = tpa_verify_evidence(&v, &res, why, sizeof(why));
	if (!res) {
		if (why[0])
			errmsg("evidence %s: %s", ev_path ? ev_path : attest_path, why);
		else
			errmsg("verify: %s", tpa_strerror(r));
		rc = exit_for(r);
		goto out;
	}
	if (r == TPA_OK && update) {
		/* The verdict is printed only once the state remembers it. */
		char *s = NULL, err[PATH_MAX + 100];
		int wr = tpa_state_to_json(tpa_result_next_state(res), &s);
		if (wr == TPA_OK && (wr = write_file_atomic(state_path, s, strlen(s))) != TPA_OK)
			snprintf(err, sizeof(err), "state %s: cannot write: %s", state_path,
			         strerror(errno));
		else if (wr != TPA_OK)
			snprintf(err, sizeof(err), "state %s: cannot encode the next state: %s",
			         state_path, tpa_strerror(wr));
		free(s);
		if (wr != TPA_OK) {
			errmsg("%s: the verdict is NOT RECORDED", err);
			report(res, r, json, REC_NO, err, stdout);
			rc = EXIT_ENV;
			goto out;
		}
	}
	report(res, r, json, !update ? REC_NONE : r == TPA_OK ? REC_YES : REC_NO, NULL, stdout);
	rc = exit_for(r);
out:
	tpa_result_free(&res);
	tpa_pcrs_free(&pcrs);
	tpa_eventlog_free(&log);
	tpa_evidence_free(&ev);
	tpa_policy_free(&policy);
	tpa_ak_free(&ak);
	free(nonce);
	free(attest);
	free(sig);
	free(ekbuf);
	free(rec);
	if (lockfd >= 0)
		close(lockfd); /* releases the lock, after the state is written */
	return rc;
}
