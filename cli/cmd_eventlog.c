/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest eventlog show|replay|check [LOG]
 *
 * Reads a binary UEFI event log (default: the kernel's), parses it strictly
 * and prints its events, the PCR values it yields, or how those compare with
 * values a user expects.  Malformed input exits 3 naming the byte offset.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/eventlog.h>

#include "cli.h"

static const char usage_text[] =
        "usage: tpmattest eventlog show [--json] [LOG]\n"
        "       tpmattest eventlog replay [--json] [LOG]\n"
        "       tpmattest eventlog check [--json] [LOG] --pcrs FILE.json\n"
        "       tpmattest eventlog extend [--force] [--tcti SPEC] [LOG]\n"
        "\n"
        "LOG defaults to " DEFAULT_EVENTLOG ".\n"
        "  show     decoded events, with whether each digest matches its data\n"
        "  replay   the PCR values the log yields, per bank\n"
        "  check    compare the replay with expected values "
        "({\"pcrs\":{\"sha256\":{\"0\":\"hex\"}}});\n"
        "           exit 1 naming the first PCR and bank that differ\n"
        "  extend   extend a (simulated) TPM's PCRs with the log's events\n"
        "Options:\n"
        "  --json         machine-readable output on stdout\n"
        "  --pcrs FILE    expected PCR values (check)\n"
        "  -h, --help     this text\n";

/* Reads and parses a log; on failure reports it once and returns the exit
 * status. */
static int load_log(const char *path, tpa_eventlog **log)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	tpa_parse_error perr;
	int r = read_file(path, TPA_EVENTLOG_MAX_SIZE, &buf, &len);

	if (r == TPA_E_LIMIT) {
		errmsg("%s: larger than the %u-byte limit for an event log", path,
		       TPA_EVENTLOG_MAX_SIZE);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("%s: cannot read: %s", path, strerror(errno));
		return EXIT_ENV;
	}
	r = tpa_eventlog_parse(buf, len, log, &perr);
	free(buf);
	if (r != TPA_OK) {
		errmsg("%s: malformed event log at byte offset %zu: %s", path, perr.offset,
		       perr.reason);
		return exit_for(r);
	}
	return EXIT_OK;
}

/* ---- show ---- */

static struct json_object *field_to_json(const tpa_field *f)
{
	char hex[2 * 4096 + 1];
	switch (f->kind) {
	case TPA_FIELD_STRING: return json_object_new_string(f->str);
	case TPA_FIELD_UINT: return json_object_new_uint64(f->u);
	case TPA_FIELD_GUID: tpa_guid_to_string(f->bytes, hex); return json_object_new_string(hex);
	case TPA_FIELD_HEX: {
		char *h = malloc(2 * f->len + 1);
		struct json_object *o;
		if (!h)
			return NULL;
		for (size_t i = 0; i < f->len; i++)
			snprintf(h + 2 * i, 3, "%02x", f->bytes[i]);
		h[2 * f->len] = '\0';
		o = json_object_new_string(h);
		free(h);
		return o;
	}
	case TPA_FIELD_OBJECT: {
		struct json_object *o = json_object_new_object();
		for (const tpa_field *c = f->child; c && o; c = c->next)
			json_object_object_add(o, c->name ? c->name : "?", field_to_json(c));
		return o;
	}
	case TPA_FIELD_ARRAY: {
		struct json_object *a = json_object_new_array();
		for (const tpa_field *c = f->child; c && a; c = c->next)
			json_object_array_add(a, field_to_json(c));
		return a;
	}
	}
	return NULL;
}

static void print_field_value(FILE *o, const tpa_field *f)
{
	char g[37];
	switch (f->kind) {
	case TPA_FIELD_STRING: fprintf(o, "\"%s\"", f->str); break;
	case TPA_FIELD_UINT:
		fprintf(o, "%llu (0x%llx)", (unsigned long long)f->u, (unsigned long long)f->u);
		break;
	case TPA_FIELD_GUID:
		tpa_guid_to_string(f->bytes, g);
		fputs(g, o);
		break;
	case TPA_FIELD_HEX:
		if (f->len > 64) {
			print_hex(o, f->bytes, 32);
			fprintf(o, "... (%zu bytes)", f->len);
		} else {
			print_hex(o, f->bytes, f->len);
		}
		break;
	default: break;
	}
}

static void print_fields(FILE *o, const tpa_field *obj, int depth)
{
	size_t i = 0;
	for (const tpa_field *f = obj->child; f; f = f->next, i++) {
		fprintf(o, "%*s", depth * 2, "");
		if (f->name)
			fprintf(o, "%s: ", f->name);
		else if (obj->kind == TPA_FIELD_ARRAY)
			fprintf(o, "[%zu] ", i);
		if (f->kind == TPA_FIELD_OBJECT || f->kind == TPA_FIELD_ARRAY) {
			fputc('\n', o);
			print_fields(o, f, depth + 1);
		} else {
			print_field_value(o, f);
			fputc('\n', o);
		}
	}
}

static const char *check_name(tpa_digest_check c)
{
	return c == TPA_DIGEST_VERIFIED   ? "verified"
	       : c == TPA_DIGEST_MISMATCH ? "MISMATCH"
	                                  : "n/a";
}

static void type_label(uint32_t type, char buf[static 40])
{
	const char *n = tpa_event_type_name(type);
	if (n)
		snprintf(buf, 40, "%s", n);
	else
		snprintf(buf, 40, "0x%08x", type);
}

static int show(const tpa_eventlog *log, bool json)
{
	size_t n = tpa_eventlog_count(log), nalgs = tpa_eventlog_alg_count(log);
	struct json_object *root = NULL, *events = NULL;

	tpa_eventlog_check_digests(log);

	if (json) {
		struct json_object *algs = json_object_new_array();
		root = json_object_new_object();
		events = json_object_new_array();
		json_object_object_add(
		        root, "format",
		        json_object_new_string(tpa_eventlog_get_format(log) == TPA_EVENTLOG_SHA1
		                                       ? "sha1"
		                                       : "crypto-agile"));
		for (size_t a = 0; a < nalgs; a++) {
			struct json_object *ao = json_object_new_object();
			uint16_t alg = tpa_eventlog_alg(log, a);
			json_object_object_add(ao, "alg",
			                       tpa_alg_name(alg)
			                               ? json_object_new_string(tpa_alg_name(alg))
			                               : json_object_new_int(alg));
			json_object_object_add(ao, "digest_size",
			                       json_object_new_int(tpa_eventlog_alg_size(log, a)));
			json_object_array_add(algs, ao);
		}
		json_object_object_add(root, "algorithms", algs);
		json_object_object_add(root, "pcr0_locality",
		                       json_object_new_int(tpa_eventlog_pcr0_locality(log)));
		json_object_object_add(root, "events", events);
	} else {
		printf("format: %s, %zu events, banks:",
		       tpa_eventlog_get_format(log) == TPA_EVENTLOG_SHA1 ? "SHA-1" : "crypto-agile",
		       n);
		for (size_t a = 0; a < nalgs; a++) {
			uint16_t alg = tpa_eventlog_alg(log, a);
			if (tpa_alg_name(alg))
				printf(" %s", tpa_alg_name(alg));
			else
				printf(" 0x%04x(%u bytes, not replayed)", alg,
				       tpa_eventlog_alg_size(log, a));
		}
		printf("\n");
	}
	for (size_t i = 0; i < n; i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		tpa_field *fields = NULL;
		char tl[40];
		int r = tpa_event_decode(ev, &fields);
		if (r != TPA_OK) {
			json_object_put(root);
			errmsg("decoding event %zu: %s", i, tpa_strerror(r));
			return exit_for(r);
		}
		type_label(tpa_event_type(ev), tl);
		if (json) {
			struct json_object *eo = json_object_new_object(),
			                   *dg = json_object_new_object();
			tpa_digest_check c = tpa_event_digest_check(ev);
			json_object_object_add(eo, "index", json_object_new_uint64(i));
			json_object_object_add(eo, "offset",
			                       json_object_new_uint64(tpa_event_offset(ev)));
			json_object_object_add(
			        eo, "pcr",
			        json_object_new_int64(tpa_event_pcr(ev) == UINT32_MAX
			                                      ? -1
			                                      : (int64_t)tpa_event_pcr(ev)));
			json_object_object_add(eo, "type", json_object_new_string(tl));
			json_object_object_add(eo, "type_value",
			                       json_object_new_uint64(tpa_event_type(ev)));
			for (size_t a = 0; a < nalgs; a++) {
				uint16_t alg = tpa_eventlog_alg(log, a);
				size_t dl;
				const uint8_t *d = tpa_event_digest(ev, alg, &dl);
				char hex[2 * TPA_MAX_DIGEST + 1], key[16];
				if (!d)
					continue;
				for (size_t k = 0; k < dl; k++)
					snprintf(hex + 2 * k, 3, "%02x", d[k]);
				if (tpa_alg_name(alg))
					snprintf(key, sizeof(key), "%s", tpa_alg_name(alg));
				else
					snprintf(key, sizeof(key), "0x%04x", alg);
				json_object_object_add(dg, key, json_object_new_string(hex));
			}
			json_object_object_add(eo, "digests", dg);
			json_object_object_add(
			        eo, "digest_verified",
			        c == TPA_DIGEST_NOT_APPLICABLE
			                ? NULL
			                : json_object_new_boolean(c == TPA_DIGEST_VERIFIED));
			size_t dlen;
			tpa_event_data(ev, &dlen);
			json_object_object_add(eo, "data_size", json_object_new_uint64(dlen));
			json_object_object_add(eo, "data", field_to_json(fields));
			json_object_array_add(events, eo);
		} else {
			size_t dl;
			const uint8_t *d = NULL;
			uint16_t shown = 0;
			for (size_t a = nalgs; a-- > 0;) {
				uint16_t alg = tpa_eventlog_alg(log, a);
				const uint8_t *x = tpa_event_digest(ev, alg, &dl);
				if (x && tpa_alg_name(alg) && (!d || alg == TPA_ALG_SHA256)) {
					d = x;
					shown = alg;
				}
			}
			if (tpa_event_pcr(ev) == UINT32_MAX)
				printf("#%-4zu PCR-1  %-34s", i, tl);
			else
				printf("#%-4zu PCR%-2u  %-34s", i, tpa_event_pcr(ev), tl);
			if (d) {
				printf(" %s:", tpa_alg_name(shown));
				print_hex(stdout, d, 8);
				printf("..");
			}
			printf(" digest:%s\n", check_name(tpa_event_digest_check(ev)));
			print_fields(stdout, fields, 3);
		}
		tpa_fields_free(&fields);
	}
	if (json) {
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                  JSON_C_TO_STRING_SPACED));
		json_object_put(root);
	}
	return EXIT_OK;
}

/* ---- replay ---- */

static int replay(const tpa_eventlog *log, bool json)
{
	tpa_pcrs *p = NULL;
	int r = tpa_eventlog_replay(log, &p);
	if (r != TPA_OK) {
		errmsg("replay: %s", tpa_strerror(r));
		return exit_for(r);
	}
	if (json) {
		char *s = NULL;
		if ((r = tpa_pcrs_to_json(p, 1, &s)) != TPA_OK) {
			tpa_pcrs_free(&p);
			errmsg("replay: %s", tpa_strerror(r));
			return exit_for(r);
		}
		puts(s);
		free(s);
	} else {
		for (size_t b = 0; b < tpa_pcrs_bank_count(p); b++) {
			uint16_t alg = tpa_pcrs_bank_alg(p, b);
			printf("%s:\n", tpa_alg_name(alg));
			for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
				const uint8_t *v;
				size_t vl;
				if (tpa_pcrs_get(p, alg, k, &v, &vl) == TPA_OK) {
					printf("  %2u: ", k);
					print_hex(stdout, v, vl);
					printf("\n");
				} else if (tpa_pcrs_is_incomplete(p, alg, k)) {
					printf("  %2u: (incomplete: some events lack a %s "
					       "digest)\n",
					       k, tpa_alg_name(alg));
				}
			}
		}
	}
	tpa_pcrs_free(&p);
	return EXIT_OK;
}

/* ---- check ---- */

static int load_pcrs(const char *path, tpa_pcrs **out)
{
	uint8_t *buf = NULL;
	size_t len = 0, unknown = 0;
	int r = read_file(path, 16u << 20, &buf, &len);
	if (r == TPA_E_LIMIT) {
		errmsg("%s: too large for a PCR values file", path);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("%s: cannot read: %s", path, strerror(errno));
		return EXIT_ENV;
	}
	r = tpa_pcrs_from_json((const char *)buf, len, out, &unknown);
	free(buf);
	if (r != TPA_OK) {
		errmsg("%s: not a PCR values document "
		       "({\"pcrs\":{\"sha256\":{\"0\":\"hex\",...}}}): %s",
		       path, tpa_strerror(r));
		return exit_for(r);
	}
	return EXIT_OK;
}

static bool log_has_events(const tpa_eventlog *log, unsigned pcr)
{
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		if (tpa_event_pcr(ev) == pcr && tpa_event_type(ev) != TPA_EV_NO_ACTION)
			return true;
	}
	return false;
}

static void print_pcr_events(const tpa_eventlog *log, unsigned pcr, uint16_t alg)
{
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		size_t dl;
		const uint8_t *d;
		char tl[40];
		if (tpa_event_pcr(ev) != pcr)
			continue;
		type_label(tpa_event_type(ev), tl);
		printf("    #%-4zu %-34s", i, tl);
		if ((d = tpa_event_digest(ev, alg, &dl))) {
			printf(" %s:", tpa_alg_name(alg));
			print_hex(stdout, d, dl);
		} else {
			printf(" (no %s digest)", tpa_alg_name(alg));
		}
		printf("%s\n", tpa_event_type(ev) == TPA_EV_NO_ACTION ? " (not extended)" : "");
	}
}

static int check(const char *logpath, const tpa_eventlog *log, const char *pcrs_path, bool json)
{
	tpa_pcrs *got = NULL, *want = NULL;
	struct json_object *root = NULL, *mism = NULL, *nc = NULL;
	size_t compared = 0, bad = 0;
	int r, rc;

	if ((rc = load_pcrs(pcrs_path, &want)) != EXIT_OK)
		return rc;
	if ((r = tpa_eventlog_replay(log, &got)) != TPA_OK) {
		tpa_pcrs_free(&want);
		errmsg("replay: %s", tpa_strerror(r));
		return exit_for(r);
	}
	if (json) {
		root = json_object_new_object();
		mism = json_object_new_array();
		nc = json_object_new_array();
	}
	for (size_t b = 0; b < tpa_pcrs_bank_count(want); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(want, b);
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *w, *g;
			size_t wl, gl;
			const char *why = NULL;
			if (tpa_pcrs_get(want, alg, k, &w, &wl) != TPA_OK)
				continue;
			if (!log_has_events(log, k))
				why = "no events in the log";
			else if (tpa_pcrs_is_incomplete(got, alg, k))
				why = "some of its events lack a digest in this bank";
			else if (tpa_pcrs_get(got, alg, k, &g, &gl) != TPA_OK)
				why = "the log has no such bank";
			if (why) {
				if (json) {
					struct json_object *o = json_object_new_object();
					json_object_object_add(o, "pcr",
					                       json_object_new_int((int)k));
					json_object_object_add(
					        o, "bank",
					        json_object_new_string(tpa_alg_name(alg)));
					json_object_object_add(o, "reason",
					                       json_object_new_string(why));
					json_object_array_add(nc, o);
				} else {
					printf("PCR%u %s: not covered (%s)\n", k, tpa_alg_name(alg),
					       why);
				}
				continue;
			}
			compared++;
			if (CRYPTO_memcmp(g, w, wl) == 0) {
				if (!json)
					printf("PCR%u %s: match\n", k, tpa_alg_name(alg));
				continue;
			}
			bad++;
			bool ebs = k == 5 && tpa_eventlog_ebs_missing(log, alg, w, wl);
			if (json) {
				struct json_object *o = json_object_new_object(),
				                   *evs = json_object_new_array();
				char hex[2 * TPA_MAX_DIGEST + 1];
				json_object_object_add(o, "pcr", json_object_new_int((int)k));
				json_object_object_add(o, "bank",
				                       json_object_new_string(tpa_alg_name(alg)));
				for (size_t i = 0; i < wl; i++)
					snprintf(hex + 2 * i, 3, "%02x", g[i]);
				json_object_object_add(o, "replayed", json_object_new_string(hex));
				for (size_t i = 0; i < wl; i++)
					snprintf(hex + 2 * i, 3, "%02x", w[i]);
				json_object_object_add(o, "expected", json_object_new_string(hex));
				for (size_t i = 0; i < tpa_eventlog_count(log); i++)
					if (tpa_event_pcr(tpa_eventlog_get(log, i)) == k)
						json_object_array_add(evs,
						                      json_object_new_uint64(i));
				json_object_object_add(o, "events", evs);
				if (ebs)
					json_object_object_add(
					        o, "explanation",
					        json_object_new_string(
					                "exit_boot_services_events_missing"));
				json_object_array_add(mism, o);
			} else {
				printf("PCR%u %s: MISMATCH\n  replayed: ", k, tpa_alg_name(alg));
				print_hex(stdout, g, gl);
				printf("\n  expected: ");
				print_hex(stdout, w, wl);
				printf("\n  events in PCR%u:\n", k);
				print_pcr_events(log, k, alg);
				if (ebs)
					printf("  The log lacks the two \"Exit Boot Services\" "
					       "EV_EFI_ACTION events;\n"
					       "  with them appended PCR5 would match: the "
					       "firmware extended them\n"
					       "  without logging them.  The log does not account "
					       "for the PCR value.\n");
			}
		}
	}
	if (json) {
		json_object_object_add(root, "result",
		                       json_object_new_string(bad        ? "mismatch"
		                                              : compared ? "match"
		                                                         : "nothing_compared"));
		json_object_object_add(root, "compared", json_object_new_uint64(compared));
		json_object_object_add(root, "mismatches", mism);
		json_object_object_add(root, "not_covered", nc);
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                  JSON_C_TO_STRING_SPACED));
		json_object_put(root);
	}
	tpa_pcrs_free(&got);
	tpa_pcrs_free(&want);
	if (bad) {
		errmsg("%s: %zu of %zu PCR values differ from %s", logpath, bad, compared,
		       pcrs_path);
		return EXIT_NO;
	}
	if (!compared) {
		errmsg("%s: no PCR in %s has events in the log: nothing was compared", logpath,
		       pcrs_path);
		return EXIT_NO;
	}
	if (!json)
		printf("%zu PCR values match\n", compared);
	return EXIT_OK;
}

int cmd_eventlog(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"pcrs", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *sub, *pcrs = NULL, *path = DEFAULT_EVENTLOG;
	bool json = false;
	tpa_eventlog *log = NULL;
	int c, rc;

	if (argc < 2)
		return usage_error(usage_text, "eventlog: missing subcommand");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(sub, "extend") == 0)
		return cmd_eventlog_extend(argc - 1, argv + 1);
	if (strcmp(sub, "show") && strcmp(sub, "replay") && strcmp(sub, "check"))
		return usage_error(usage_text, "eventlog: unknown subcommand '%s'", sub);
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'p': pcrs = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "eventlog %s: bad option", sub);
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		return usage_error(usage_text, "eventlog %s: unexpected argument '%s'", sub,
		                   argv[optind]);
	if (strcmp(sub, "check") == 0 && !pcrs)
		return usage_error(usage_text, "eventlog check: --pcrs FILE.json is required");
	if (strcmp(sub, "check") && pcrs)
		return usage_error(usage_text, "eventlog %s: --pcrs is only for check", sub);
	/* These commands only compute SHA digests, on which the system OpenSSL
	 * configuration (providers, TLS policy) has no bearing; not reading it
	 * saves a quarter of a millisecond per process, which matters to
	 * verifiers that run this per attestation. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	if ((rc = load_log(path, &log)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "show") == 0)
		rc = show(log, json);
	else if (strcmp(sub, "replay") == 0)
		rc = replay(log, json);
	else
		rc = check(path, log, pcrs, json);
	tpa_eventlog_free(&log);
	return rc;
}
