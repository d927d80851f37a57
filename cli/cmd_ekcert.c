/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest ekcert verify: EK certificates as TPMs ship them, and their
 * chains to the manufacturer roots in a folder.  The checks are the
 * library's (tpa_ekcert_verify); this file reads the files and reports.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include <tpmattest/enroll.h>

#include "cli.h"

static const char usage_text[] =
        "usage: tpmattest ekcert verify CERT... --roots DIR [--intermediates DIR]\n"
        "                               [--check-time] [--json]\n"
        "\n"
        "Checks that each EK certificate chains to a manufacturer root.  CERT is DER, PEM,\n"
        "or DER as read from TPM NV (TCG NV header, trailing 00 or ff padding).  Prints the\n"
        "TPM vendor, model and firmware version from the certificate's subjectAltName, the\n"
        "key type, and the chain.  Exit 0 when every certificate verifies, 1 when one does\n"
        "not (the reason is named), 2 usage, 3 when one cannot be read as a certificate,\n"
        "4 I/O error.\n"
        "  --roots DIR          trust anchors: the self-signed certificates among the PEM\n"
        "                       (one or more certificates each) and DER files in DIR;\n"
        "                       the others there serve as intermediates.  Required\n"
        "  --intermediates DIR  more intermediate CA certificates (never anchors)\n"
        "  --check-time         refuse certificates outside their validity now; by default\n"
        "                       validity is reported, not enforced\n"
        "  --json               a JSON array, one object per CERT, on stdout\n";

#define MAX_CERT_FILE (1u << 20)

/* Loads every regular file of dir (sorted, dot files skipped) into store.
 * A file that does not read as certificates is skipped with a warning: a
 * trust store can only lose anchors that way, never gain one. */
int cli_load_ekstore_dir(tpa_ekstore *store, int role, const char *dir)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort), rc = EXIT_OK;

	if (n < 0) {
		errmsg("%s: cannot read folder: %s", dir, strerror(errno));
		return EXIT_ENV;
	}
	for (int i = 0; i < n; i++) {
		char path[4096], why[TPA_EKCERT_TEXT_MAX] = "";
		struct stat st;
		uint8_t *buf = NULL;
		size_t len = 0;
		int r;
		if (rc != EXIT_OK || ents[i]->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) >=
		    sizeof(path))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		r = read_file(path, MAX_CERT_FILE, &buf, &len);
		if (r == TPA_E_IO) {
			errmsg("%s: cannot read: %s", path, strerror(errno));
			rc = EXIT_ENV;
			continue;
		}
		if (r == TPA_OK)
			r = tpa_ekstore_add(store, role, buf, len, why, sizeof(why));
		free(buf);
		if (r == TPA_E_NOMEM) {
			errmsg("out of memory");
			rc = EXIT_ENV;
		} else if (r != TPA_OK) {
			errmsg("warning: %s: skipped: %s", path, why[0] ? why : tpa_strerror(r));
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

static const char *validity_name(tpa_ekcert_validity v)
{
	switch (v) {
	case TPA_EKCERT_TIME_VALID: return "valid";
	case TPA_EKCERT_TIME_EXPIRED: return "expired";
	case TPA_EKCERT_TIME_NOT_YET_VALID: return "not-yet-valid";
	}
	return "?";
}

static void key_text(const tpa_ekcert_info *in, char *buf, size_t len)
{
	switch (in->key) {
	case TPA_EKCERT_KEY_RSA: snprintf(buf, len, "RSA %u", in->key_bits); break;
	case TPA_EKCERT_KEY_ECC:
		snprintf(buf, len, "ECC %s", in->key_curve ? in->key_curve : "unknown curve");
		break;
	case TPA_EKCERT_KEY_RSAES_OAEP: snprintf(buf, len, "RSAES-OAEP (TPM 1.2)"); break;
	default: snprintf(buf, len, "unknown"); break;
	}
}

static void vendor_text(const tpa_ekcert_info *in, char *buf, size_t len)
{
	if (!in->manufacturer[0])
		snprintf(buf, len, "unknown (no tpmManufacturer in the subjectAltName)");
	else if (in->vendor_id[0])
		snprintf(buf, len, "%s (%s, %s)", in->vendor_name ? in->vendor_name : "unknown",
		         in->vendor_id, in->manufacturer);
	else
		snprintf(buf, len, "%s (%s)", in->vendor_name ? in->vendor_name : "unknown",
		         in->manufacturer);
}

static void print_text(const char *path, const tpa_ekcert_info *in, const tpa_ekcert_verdict *v,
                       int r)
{
	char key[64], vendor[160], nb[40], na[40];
	key_text(in, key, sizeof(key));
	vendor_text(in, vendor, sizeof(vendor));
	fmt_time(in->not_before, nb, sizeof(nb));
	fmt_time(in->not_after, na, sizeof(na));
	if (r == TPA_OK)
		printf("%s: verified\n", path);
	else
		printf("%s: NOT VERIFIED: %s\n", path, v->why);
	printf("  vendor:   %s\n", vendor);
	printf("  model:    %s\n", in->model[0] ? in->model : "(none)");
	printf("  firmware: %s\n", in->version[0] ? in->version : "(none)");
	printf("  key:      %s\n", key);
	printf("  subject:  %s\n", in->subject[0] ? in->subject : "(empty)");
	printf("  issuer:   %s\n", in->issuer);
	printf("  serial:   %s\n", in->serial);
	printf("  validity: %s to %s, %s now%s\n", nb, na, validity_name(v->validity),
	       v->time_enforced ? "" : " (not enforced)");
	if (v->chain_len > 1)
		printf("  chain validity: %s\n",
		       v->chain_time_valid ? "every certificate valid now"
		                           : "a certificate of the chain is outside its validity");
	printf("  format:   %s\n", in->wrapping);
	for (size_t i = 0; i < v->chain_len; i++)
		printf("  %s [%zu] %s\n", i ? "        " : "chain:", i,
		       v->chain[i][0] ? v->chain[i] : "(empty subject)");
}

static struct json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *to_json(const char *path, const tpa_ekcert_info *in,
                                   const tpa_ekcert_verdict *v, int r)
{
	struct json_object *o = json_object_new_object(), *chain = json_object_new_array();
	char key[64], nb[40], na[40];
	key_text(in, key, sizeof(key));
	fmt_time(in->not_before, nb, sizeof(nb));
	fmt_time(in->not_after, na, sizeof(na));
	json_object_object_add(o, "file", jstr(path));
	json_object_object_add(o, "verified", json_object_new_boolean(r == TPA_OK));
	json_object_object_add(o, "reason", jstr(tpa_ekcert_reason_name(v->reason)));
	json_object_object_add(o, "why", jstr(v->why));
	json_object_object_add(o, "depth", json_object_new_int(v->depth));
	json_object_object_add(o, "vendor_id", jstr(in->vendor_id));
	json_object_object_add(o, "vendor", jstr(in->vendor_name));
	json_object_object_add(o, "manufacturer", jstr(in->manufacturer));
	json_object_object_add(o, "model", jstr(in->model));
	json_object_object_add(o, "firmware", jstr(in->version));
	json_object_object_add(o, "san_critical", json_object_new_boolean(in->san_critical));
	json_object_object_add(o, "key", jstr(key));
	json_object_object_add(o, "key_type",
	                       jstr(in->key == TPA_EKCERT_KEY_RSA          ? "rsa"
	                            : in->key == TPA_EKCERT_KEY_ECC        ? "ecc"
	                            : in->key == TPA_EKCERT_KEY_RSAES_OAEP ? "rsaes-oaep"
	                                                                   : "unknown"));
	json_object_object_add(o, "key_bits", json_object_new_int((int)in->key_bits));
	json_object_object_add(o, "curve", jstr(in->key_curve));
	json_object_object_add(o, "subject", jstr(in->subject));
	json_object_object_add(o, "issuer", jstr(in->issuer));
	json_object_object_add(o, "serial", jstr(in->serial));
	json_object_object_add(o, "not_before", jstr(nb));
	json_object_object_add(o, "not_after", jstr(na));
	json_object_object_add(o, "validity", jstr(validity_name(v->validity)));
	json_object_object_add(o, "time_enforced", json_object_new_boolean(v->time_enforced));
	if (v->chain_len > 1)
		json_object_object_add(o, "chain_time_valid",
		                       json_object_new_boolean(v->chain_time_valid));
	json_object_object_add(o, "format", jstr(in->wrapping));
	for (size_t i = 0; i < v->chain_len; i++)
		json_object_array_add(chain, jstr(v->chain[i]));
	json_object_object_add(o, "chain", chain);
	return o;
}

/* Worse statuses win: environment, malformed, then a "no". */
static int worse(int a, int b)
{
	static const int rank[] = {[EXIT_OK] = 0,
	                           [EXIT_NO] = 1,
	                           [EXIT_USAGE] = 2,
	                           [EXIT_MALFORMED] = 3,
	                           [EXIT_ENV] = 4};
	return rank[b] > rank[a] ? b : a;
}

static int verify_one(const char *path, const tpa_ekstore *store, const tpa_ekcert_opts *opts,
                      struct json_object *arr)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	tpa_ekcert *cert = NULL;
	tpa_ekcert_verdict v;
	char why[TPA_EKCERT_TEXT_MAX] = "";
	int r = read_file(path, MAX_CERT_FILE, &buf, &len), rc;

	if (r != TPA_OK) {
		const char *e = r == TPA_E_LIMIT ? "larger than 1 MiB" : strerror(errno);
		errmsg("%s: cannot read: %s", path, e);
		if (arr) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "file", jstr(path));
			json_object_object_add(o, "verified", json_object_new_boolean(0));
			json_object_object_add(o, "reason", jstr("unreadable"));
			json_object_object_add(o, "why", jstr(e));
			json_object_array_add(arr, o);
		}
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	r = tpa_ekcert_parse(buf, len, &cert, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("%s: not a readable EK certificate: %s: %s", path, tpa_strerror(r),
		       why[0] ? why : "?");
		if (arr) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "file", jstr(path));
			json_object_object_add(o, "verified", json_object_new_boolean(0));
			json_object_object_add(o, "reason", jstr("malformed"));
			json_object_object_add(o, "error", jstr(tpa_strerror(r)));
			json_object_object_add(o, "why", jstr(why));
			json_object_array_add(arr, o);
		}
		return exit_for(r);
	}
	r = tpa_ekcert_verify(cert, store, opts, &v);
	rc = exit_for(r);
	if (arr)
		json_object_array_add(arr, to_json(path, tpa_ekcert_get_info(cert), &v, r));
	else
		print_text(path, tpa_ekcert_get_info(cert), &v, r);
	if (r != TPA_OK && tpa_err_classify(r) != TPA_CLASS_VERDICT)
		errmsg("%s: %s", path, v.why);
	tpa_ekcert_free(&cert);
	return rc;
}

int cmd_ekcert(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"roots", required_argument, NULL, 'r'},
	        {"intermediates", required_argument, NULL, 'i'},
	        {"check-time", no_argument, NULL, 't'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *roots = NULL, *inter = NULL;
	tpa_ekcert_opts vo;
	tpa_ekstore *store = NULL;
	struct json_object *arr = NULL;
	bool json = false;
	int c, rc = EXIT_OK;

	memset(&vo, 0, sizeof(vo));
	if (argc < 2)
		return usage_error(usage_text, "ekcert: missing subcommand");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "verify") != 0)
		return usage_error(usage_text, "ekcert: unknown subcommand '%s'", argv[1]);
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': roots = optarg; break;
		case 'i': inter = optarg; break;
		case 't': vo.check_time = 1; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "ekcert verify: bad option");
		}
	}
	if (optind >= argc)
		return usage_error(usage_text, "ekcert verify: no certificate given");
	if (!roots)
		return usage_error(
		        usage_text,
		        "ekcert verify: --roots DIR is required (no roots are built in)");
	if (tpa_ekstore_new(&store) != TPA_OK) {
		errmsg("out of memory");
		return EXIT_ENV;
	}
	if ((rc = cli_load_ekstore_dir(store, TPA_EKSTORE_ROOT, roots)) != EXIT_OK)
		goto out;
	if (inter && (rc = cli_load_ekstore_dir(store, TPA_EKSTORE_INTERMEDIATE, inter)) != EXIT_OK)
		goto out;
	if (tpa_ekstore_count(store, TPA_EKSTORE_ROOT) == 0) {
		rc = usage_error(usage_text,
		                 "ekcert verify: %s holds no self-signed root certificate", roots);
		goto out;
	}
	if (json)
		arr = json_object_new_array();
	for (int i = optind; i < argc; i++)
		rc = worse(rc, verify_one(argv[i], store, &vo, arr));
	if (arr)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(arr);
	tpa_ekstore_free(&store);
	return rc;
}
