/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest eventlog extend [--force] [--tcti SPEC] [LOG]
 *
 * Puts a test TPM in the state a real machine's boot left its TPM in, by
 * extending every measured event's digests.  Refusals, all exit 4, before
 * any PCR is touched:
 *  - the TPM is not a simulator (tpa_tpm_info_get's rule) and no --force:
 *    extending a real TPM's PCRs breaks its attestation until reboot;
 *  - the log starts PCR0 at locality 3 (StartupLocality) or 4 (H-CRTM): an
 *    extend from locality 0 cannot reproduce that, so the result would
 *    silently differ from the log;
 *  - events in PCRs a locality-0 extend cannot reach (17-22);
 *  - a PCR the log extends is not at its reset value (all zero).
 * A bank the TPM has but the log lacks is left alone, with a warning.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/eventlog.h>

#include "cmd_tpm.h"

static const char extend_usage[] =
        "usage: tpmattest eventlog extend [--force] [--json] [--tcti SPEC] [LOG]\n"
        "\n"
        "Extends the TPM's PCRs with every event of LOG (default " DEFAULT_EVENTLOG "),\n"
        "in every bank the TPM has allocated and the log carries, so that a test TPM\n"
        "ends up in the state of the machine that wrote the log.  Refuses a TPM that is\n"
        "not a simulator (manufacturer \"IBM\" or \"MSFT\", or vendor string \"SW\"),\n"
        "a log whose PCR0 starts at locality 3 or 4, and PCRs not at their reset value.\n"
        "Options:\n"
        "  --force        extend even a TPM that is not a simulator\n"
        "  --json         print a JSON summary\n" TCTI_HELP "  -h, --help     this text\n";

static const uint8_t zeros[TPA_MAX_DIGEST];

int cmd_eventlog_extend(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"force", no_argument, NULL, 'f'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *tcti = NULL, *path = DEFAULT_EVENTLOG;
	bool force = false, json = false;
	tpa_eventlog *log = NULL;
	tpa_tpm *tpm = NULL;
	tpa_tpm_info info;
	tpa_pcrs *now = NULL;
	tpa_parse_error perr;
	uint16_t algs[TPA_MAX_BANKS];
	size_t nbanks = 0, extended = 0, skipped = 0;
	uint32_t touched = 0;
	int used[TPA_MAX_BANKS] = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	int c, r, rc = EXIT_ENV;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'h': fputs(extend_usage, stdout); return EXIT_OK;
		default: return usage_error(extend_usage, "eventlog extend: bad option");
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		return usage_error(extend_usage, "eventlog extend: unexpected argument '%s'",
		                   argv[optind]);

	r = read_file(path, TPA_EVENTLOG_MAX_SIZE, &buf, &len);
	if (r == TPA_E_LIMIT) {
		errmsg("eventlog extend: %s: larger than the %u-byte limit for an event log", path,
		       TPA_EVENTLOG_MAX_SIZE);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("eventlog extend: %s: cannot read: %s", path, strerror(errno));
		return EXIT_ENV;
	}
	r = tpa_eventlog_parse(buf, len, &log, &perr);
	free(buf);
	if (r != TPA_OK) {
		errmsg("eventlog extend: %s: malformed event log at byte offset %zu: %s", path,
		       perr.offset, perr.reason);
		return exit_for(r);
	}
	if ((r = tpa_eventlog_pcr0_locality(log)) != 0) {
		errmsg("eventlog extend: %s: PCR0 starts at locality %d (%s); extends from "
		       "locality 0 "
		       "cannot reproduce that, so the TPM would not match the log: refusing",
		       path, r, r == 3 ? "StartupLocality event" : "H-CRTM");
		goto out;
	}
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint32_t pcr = tpa_event_pcr(ev);
		if (tpa_event_type(ev) == TPA_EV_NO_ACTION)
			continue;
		if (pcr >= TPA_PCR_COUNT || (pcr >= 17 && pcr <= 22)) {
			errmsg("eventlog extend: %s: event %zu extends PCR%u, which locality 0 "
			       "cannot "
			       "extend: refusing",
			       path, i, pcr);
			goto out;
		}
		touched |= 1u << pcr;
	}

	if ((rc = tpm_connect("eventlog extend", tcti, &tpm)) != EXIT_OK)
		goto out;
	rc = EXIT_ENV;
	if ((r = tpa_tpm_info_get(tpm, &info)) != TPA_OK) {
		rc = tpm_report("eventlog extend", tpm, r);
		goto out;
	}
	if (!info.is_simulator && !force) {
		errmsg("eventlog extend: the TPM (manufacturer \"%s\", vendor \"%s\") is not a "
		       "simulator; extending its PCRs would break its attestations until the next "
		       "reboot: refusing (--force to do it anyway)",
		       info.manufacturer, info.vendor);
		goto out;
	}
	if ((r = tpa_tpm_banks(tpm, algs, &nbanks)) != TPA_OK ||
	    (touched && (r = tpa_tpm_read_pcrs(tpm, touched, &now)) != TPA_OK)) {
		rc = tpm_report("eventlog extend", tpm, r);
		goto out;
	}
	for (size_t b = 0; b < nbanks; b++)
		for (unsigned pcr = 0; pcr < TPA_PCR_COUNT; pcr++) {
			const uint8_t *v;
			size_t vlen;
			if (!(touched & (1u << pcr)) ||
			    tpa_pcrs_get(now, algs[b], pcr, &v, &vlen) != TPA_OK)
				continue;
			if (memcmp(v, zeros, vlen) != 0) {
				errmsg("eventlog extend: PCR%u in bank %s is not at its reset "
				       "value; "
				       "extending would not give the log's values: refusing "
				       "(restart "
				       "the TPM first)",
				       pcr, tpa_alg_name(algs[b]) ? tpa_alg_name(algs[b]) : "?");
				goto out;
			}
		}

	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint16_t ealgs[TPA_MAX_BANKS];
		const uint8_t *dig[TPA_MAX_BANKS];
		size_t n = 0;
		if (tpa_event_type(ev) == TPA_EV_NO_ACTION)
			continue;
		for (size_t b = 0; b < nbanks; b++) {
			size_t dlen = 0;
			const uint8_t *d = tpa_event_digest(ev, algs[b], &dlen);
			if (!d || dlen != tpa_alg_digest_size(algs[b]))
				continue;
			ealgs[n] = algs[b];
			dig[n++] = d;
			used[b] = 1;
		}
		if (!n) {
			skipped++;
			continue;
		}
		if ((r = tpa_tpm_extend(tpm, tpa_event_pcr(ev), n, ealgs, dig)) != TPA_OK) {
			errmsg("eventlog extend: %s: event %zu: %s", path, i, tpa_tpm_error(tpm));
			errmsg("eventlog extend: %zu events were extended before the failure; the "
			       "TPM "
			       "no longer matches any prefix of the log's PCR0..23 state you can "
			       "trust",
			       extended);
			rc = exit_for(r);
			goto out;
		}
		extended++;
	}
	for (size_t b = 0; b < nbanks; b++)
		if (!used[b] && extended)
			errmsg("warning: %s has no %s digests; that bank was not extended and will "
			       "not "
			       "match the log",
			       path, tpa_alg_name(algs[b]) ? tpa_alg_name(algs[b]) : "?");
	if (json) {
		struct json_object *o = json_object_new_object(), *banks = json_object_new_array();
		for (size_t b = 0; b < nbanks; b++)
			if (used[b])
				json_object_array_add(banks, json_object_new_string(
				                                     tpa_alg_name(algs[b])
				                                             ? tpa_alg_name(algs[b])
				                                             : "?"));
		json_object_object_add(o, "extended", json_object_new_uint64(extended));
		json_object_object_add(o, "skipped", json_object_new_uint64(skipped));
		json_object_object_add(o, "banks", banks);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		                                               JSON_C_TO_STRING_SPACED));
		json_object_put(o);
	} else {
		printf("%zu events extended", extended);
		if (skipped)
			printf(", %zu skipped (no digest in an allocated bank)", skipped);
		putchar('\n');
	}
	rc = EXIT_OK;
out:
	tpa_pcrs_free(&now);
	tpm_disconnect(&tpm);
	tpa_eventlog_free(&log);
	return rc;
}
