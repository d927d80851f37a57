/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest enroll request|challenge|activate|finish: the offline
 * enrollment (docs/enrollment.md, "The four steps").  challenge and finish
 * are the verifier's and need no TPM; request and activate are the
 * attester's and run in tpmattest-tpm (cmd_tpm_enroll.c).  The checks are
 * the library's (tpa_enroll_challenge_make, tpa_enroll_finish).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/enroll.h>

#include "cli.h"

static const char usage_text[] =
        "usage: tpmattest enroll request --out REQUEST.json [--ak-handle H] [--nv-index I]\n"
        "                                [--json] [--tcti SPEC]\n"
        "       tpmattest enroll challenge REQUEST.json --ek-roots DIR [--ek-intermediates DIR]\n"
        "                                [--check-time] [--lifetime SECONDS]\n"
        "                                [--counter-key PUB.json [--legacy-counters]]\n"
        "                                --out CHALLENGE.json --pending PENDING.json [--json]\n"
        "       tpmattest enroll activate CHALLENGE.json --out RESPONSE.json [--json]\n"
        "                                [--tcti SPEC]\n"
        "       tpmattest enroll finish PENDING.json RESPONSE.json --out MACHINE.json [--json]\n"
        "\n"
        "Binds the AK to a genuine TPM, offline, in four steps (tpmattest-enroll(1)):\n"
        "  request    (attester, TPM) the EKs and their certificates, the NV chain, the AK\n"
        "             and the counter's public areas, the TPM's vendor information\n"
        "  challenge  (verifier) checks the EK certificate chain, the EK, the AK and the\n"
        "             counter, and wraps a secret to the EK for the AK (MakeCredential);\n"
        "             PENDING (mode 0600) is what the verifier keeps\n"
        "  activate   (attester, TPM) TPM2_ActivateCredential: the secret, if this TPM\n"
        "             holds both keys\n"
        "  finish     (verifier) the enrollment record, when the secret is the one\n"
        "             wrapped; PENDING is consumed (renamed to PENDING.used, emptied)\n"
        "Exit 0 done, 1 refused (the check is named), 2 usage, 3 malformed input,\n"
        "4 TPM or I/O error.\n"
        "  --ek-roots DIR          manufacturer roots (PEM or DER files; others there serve\n"
        "                          as intermediates)\n"
        "  --ek-intermediates DIR  more intermediate CA certificates\n"
        "  --check-time            enforce the validity of the EK certificate chain\n"
        "  --lifetime SECONDS      how long the challenge may be answered (default 600)\n"
        "  --counter-key PUB.json  this verifier's counter key (tpmattest counter public):\n"
        "                          the counter must be the one only its authorizations\n"
        "                          increment (request --counter-key), not the older kind\n"
        "                          (unless --legacy-counters); without it only the older\n"
        "                          kind is accepted (docs/rollback.md)\n"
        "  --json                  machine-readable summary on stdout\n";

#define MAX_DOC TPA_ENROLL_JSON_MAX

/* ---- files ---- */

static int slurp(const char *what, const char *path, uint8_t **buf, size_t *len)
{
	int r = read_file(path, MAX_DOC, buf, len);
	if (r == TPA_E_LIMIT) {
		errmsg("enroll: %s %s: larger than %u bytes", what, path, MAX_DOC);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("enroll: %s %s: cannot read: %s", what, path, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

/* As write_file_atomic, but the file stays 0600 (mkstemp's mode): PENDING
 * and RESPONSE hold a secret. */
static int write_private(const char *path, const char *data)
{
	char tmp[PATH_MAX];
	size_t len = strlen(data);
	const char *p = data;
	int fd, e, dfd;
	char dir[PATH_MAX];
	const char *slash;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		e = fsync(dfd);
		close(dfd);
		if (e != 0)
			return -1;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

static int write_public(const char *path, char *doc)
{
	size_t n = strlen(doc);
	int r;
	doc[n] = '\n';
	r = write_file_atomic(path, doc, n + 1);
	doc[n] = 0;
	return r == TPA_OK ? 0 : -1;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* A refusal, once: on stderr, and with --json as {"ok":false,...}. */
static int refused(const char *step, const char *path, int r, const tpa_enroll_verdict *v,
                   bool json)
{
	int rc = exit_for(r);
	errmsg("enroll %s: %s: %s%s%s: %s", step, path, rc == EXIT_NO ? "refused (" : "",
	       rc == EXIT_NO ? v->check : "", rc == EXIT_NO ? ")" : "",
	       v->why[0] ? v->why : tpa_strerror(r));
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "check", json_object_new_string(v->check));
		json_object_object_add(
		        o, "reason", json_object_new_string(v->why[0] ? v->why : tpa_strerror(r)));
		json_object_object_add(o, "error", json_object_new_string(tpa_strerror(r)));
		print_json(o);
	}
	return rc;
}

/* ---- challenge ---- */

static int enroll_challenge(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"ek-roots", required_argument, NULL, 'r'},
	        {"ek-intermediates", required_argument, NULL, 'i'},
	        {"check-time", no_argument, NULL, 'T'},
	        {"lifetime", required_argument, NULL, 'l'},
	        {"counter-key", required_argument, NULL, 'K'},
	        {"legacy-counters", no_argument, NULL, 'L'},
	        {"out", required_argument, NULL, 'o'},
	        {"pending", required_argument, NULL, 'p'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *roots = NULL, *inter = NULL, *out = NULL, *pend = NULL, *reqp, *ckey = NULL;
	bool json = false;
	tpa_enroll_opts eo = {0};
	uint8_t counter_key_name[34];
	tpa_enroll_request req;
	tpa_enroll_challenge ch;
	tpa_enroll_pending *pending = NULL;
	tpa_enroll_verdict v;
	tpa_ekstore *store = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *chdoc = NULL, *pdoc = NULL, why[256] = "";
	int c, r, rc;

	memset(&req, 0, sizeof(req));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': roots = optarg; break;
		case 'i': inter = optarg; break;
		case 'T': eo.check_time = 1; break;
		case 'l': {
			char *end;
			long long x;
			errno = 0;
			x = strtoll(optarg, &end, 10);
			if (errno || *end || x < 1 || x > 7 * 86400)
				return usage_error(
				        usage_text,
				        "enroll challenge: --lifetime must be 1 to 604800 "
				        "seconds");
			eo.lifetime = x;
			break;
		}
		case 'o': out = optarg; break;
		case 'p': pend = optarg; break;
		case 'K': ckey = optarg; break;
		case 'L': eo.allow_legacy_counter = 1; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "enroll challenge: bad option");
		}
	}
	if (optind + 1 != argc)
		return usage_error(usage_text, "enroll challenge: give one REQUEST.json");
	reqp = argv[optind];
	if (!roots || !out || !pend)
		return usage_error(
		        usage_text,
		        "enroll challenge: --ek-roots, --out and --pending are required");
	if (eo.allow_legacy_counter && !ckey)
		return usage_error(usage_text,
		                   "enroll challenge: --legacy-counters goes with --counter-key");
	if (ckey) {
		if ((rc = cli_counter_key_from_file(ckey, counter_key_name)) != EXIT_OK)
			return rc;
		eo.counter_key_name = counter_key_name;
	}
	if ((rc = slurp("request", reqp, &buf, &len)) != EXIT_OK)
		return rc;
	r = tpa_enroll_request_from_json((const char *)buf, len, &req, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("enroll challenge: %s: not an enrollment request: %s", reqp,
		       why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	if (tpa_ekstore_new(&store) != TPA_OK) {
		rc = EXIT_ENV;
		goto done;
	}
	if ((rc = cli_load_ekstore_dir(store, TPA_EKSTORE_ROOT, roots)) != EXIT_OK ||
	    (inter &&
	     (rc = cli_load_ekstore_dir(store, TPA_EKSTORE_INTERMEDIATE, inter)) != EXIT_OK))
		goto done;
	if (!tpa_ekstore_count(store, TPA_EKSTORE_ROOT)) {
		rc = usage_error(usage_text, "enroll challenge: %s holds no self-signed root",
		                 roots);
		goto done;
	}
	if (!(pending = calloc(1, sizeof(*pending)))) {
		rc = EXIT_ENV;
		goto done;
	}
	r = tpa_enroll_challenge_make(&req, store, &eo, &ch, pending, &v);
	if (r != TPA_OK) {
		rc = refused("challenge", reqp, r, &v, json);
		goto done;
	}
	if ((r = tpa_enroll_pending_to_json(pending, &pdoc)) != TPA_OK ||
	    (r = tpa_enroll_challenge_to_json(&ch, &chdoc)) != TPA_OK) {
		errmsg("enroll challenge: %s", tpa_strerror(r));
		rc = exit_for(r);
		goto done;
	}
	/* PENDING first: a challenge whose secret nobody kept is worthless */
	if (write_private(pend, pdoc) != 0) {
		errmsg("enroll challenge: %s: cannot write: %s", pend, strerror(errno));
		rc = EXIT_ENV;
		goto done;
	}
	if (write_public(out, chdoc) != 0) {
		errmsg("enroll challenge: %s: cannot write: %s", out, strerror(errno));
		rc = EXIT_ENV;
		goto done;
	}
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "ek",
		                       json_object_new_string(ch.ek_alg == 0x0023 ? "ecc" : "rsa"));
		json_object_object_add(o, "ek_template",
		                       json_object_new_string(pending->ek_template));
		json_object_object_add(o, "vendor", json_object_new_string(pending->chain.vendor));
		json_object_object_add(o, "model", json_object_new_string(pending->chain.model));
		json_object_object_add(o, "root", json_object_new_string(pending->chain.root));
		json_object_object_add(o, "expires", json_object_new_int64(pending->expires));
		json_object_object_add(o, "out", json_object_new_string(out));
		json_object_object_add(o, "pending", json_object_new_string(pend));
		print_json(o);
	} else {
		printf("challenge written to %s (for the %s EK, %s; %s %s, root %s); pending %s\n",
		       out, ch.ek_alg == 0x0023 ? "ECC" : "RSA", pending->ek_template,
		       pending->chain.vendor[0] ? pending->chain.vendor
		                                : pending->chain.manufacturer,
		       pending->chain.model, pending->chain.root, pend);
	}
	rc = EXIT_OK;
done:
	if (pdoc)
		OPENSSL_cleanse(pdoc, strlen(pdoc));
	free(pdoc);
	free(chdoc);
	if (pending)
		OPENSSL_cleanse(pending, sizeof(*pending));
	free(pending);
	tpa_ekstore_free(&store);
	tpa_enroll_request_clear(&req);
	return rc;
}

/* ---- finish ---- */

/*
 * Claims PENDING for this finish: rename(2) of one directory entry succeeds
 * once, so of two finishes only one gets it.  The claimed copy
 * (PENDING.used) is read and then emptied, so the secret does not stay on
 * disk and a later finish learns that it was used.
 */
static int claim_pending(const char *path, uint8_t **buf, size_t *len)
{
	char used[PATH_MAX];
	int fd, r;
	if (snprintf(used, sizeof(used), "%s.used", path) >= (int)sizeof(used)) {
		errmsg("enroll finish: %s: path too long", path);
		return EXIT_ENV;
	}
	if (rename(path, used) != 0) {
		struct stat st;
		if (errno == ENOENT && stat(used, &st) == 0) {
			errmsg("enroll finish: %s: refused (pending): this challenge was already "
			       "finished (%s exists); a pending challenge is used once",
			       path, used);
			return EXIT_NO;
		}
		errmsg("enroll finish: %s: cannot claim the pending challenge: %s", path,
		       strerror(errno));
		return EXIT_ENV;
	}
	/* Read and emptied through one descriptor of a regular file with one
	 * link: a symlink or a second hard link would keep a copy of the
	 * secret that could be finished again. */
	{
		struct stat st;
		ssize_t got;
		size_t n = 0;
		uint8_t *b = NULL;
		if ((fd = open(used, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_nlink != 1) {
			errmsg("enroll finish: %s: refused (pending): not a regular file with one "
			       "link (a symlink or a hard link could be finished again)",
			       path);
			if (fd >= 0)
				close(fd);
			return EXIT_NO;
		}
		if (st.st_size < 0 || (size_t)st.st_size > MAX_DOC ||
		    !(b = malloc((size_t)st.st_size + 1))) {
			errmsg("enroll finish: %s: %s", path,
			       st.st_size > (off_t)MAX_DOC ? "too large" : "out of memory");
			close(fd);
			return st.st_size > (off_t)MAX_DOC ? EXIT_MALFORMED : EXIT_ENV;
		}
		while (n < (size_t)st.st_size &&
		       (got = read(fd, b + n, (size_t)st.st_size - n)) > 0)
			n += (size_t)got;
		r = n == (size_t)st.st_size ? TPA_OK : TPA_E_IO;
		if (ftruncate(fd, 0) != 0 || fsync(fd) != 0) {
			errmsg("enroll finish: %s: cannot empty the claimed challenge: %s", path,
			       strerror(errno));
			r = TPA_E_IO;
		}
		close(fd);
		if (r != TPA_OK) {
			free(b);
			errmsg("enroll finish: %s: cannot read the pending challenge", path);
			return EXIT_ENV;
		}
		b[n] = 0;
		*buf = b;
		*len = n;
	}
	return EXIT_OK;
}

static int enroll_finish(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *out = NULL, *pend, *respp;
	bool json = false;
	tpa_enroll_response resp;
	tpa_enroll_pending *pending = NULL;
	tpa_enrollment *rec = NULL;
	tpa_enroll_verdict v;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *doc = NULL, why[256] = "", hex[65];
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "enroll finish: bad option");
		}
	}
	if (optind + 2 != argc)
		return usage_error(usage_text,
		                   "enroll finish: give PENDING.json and RESPONSE.json");
	pend = argv[optind];
	respp = argv[optind + 1];
	if (!out)
		return usage_error(usage_text, "enroll finish: --out MACHINE.json is required");
	/* the response first: one garbled in transit does not cost the challenge */
	if ((rc = slurp("response", respp, &buf, &len)) != EXIT_OK)
		return rc;
	r = tpa_enroll_response_from_json((const char *)buf, len, &resp, why, sizeof(why));
	OPENSSL_cleanse(buf, len);
	free(buf);
	buf = NULL;
	if (r != TPA_OK) {
		errmsg("enroll finish: %s: not an enrollment response: %s", respp,
		       why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	if ((rc = claim_pending(pend, &buf, &len)) != EXIT_OK)
		goto done;
	if (!(pending = calloc(1, sizeof(*pending))) || !(rec = calloc(1, sizeof(*rec)))) {
		rc = EXIT_ENV;
		goto done;
	}
	r = tpa_enroll_pending_from_json((const char *)buf, len, pending, why, sizeof(why));
	if (r != TPA_OK) {
		errmsg("enroll finish: %s: not a pending enrollment: %s", pend,
		       why[0] ? why : tpa_strerror(r));
		rc = exit_for(r);
		goto done;
	}
	r = tpa_enroll_finish(pending, &resp, 0, rec, &v);
	if (r != TPA_OK) {
		rc = refused("finish", respp, r, &v, json);
		goto done;
	}
	if ((r = tpa_enrollment_to_json(rec, &doc)) != TPA_OK) {
		errmsg("enroll finish: %s", tpa_strerror(r));
		rc = exit_for(r);
		goto done;
	}
	if (write_public(out, doc) != 0) {
		errmsg("enroll finish: %s: cannot write: %s (the pending challenge is used; "
		       "enroll again)",
		       out, strerror(errno));
		rc = EXIT_ENV;
		goto done;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", rec->machine_id[i]);
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "machine_id", json_object_new_string(hex));
		json_object_object_add(o, "out", json_object_new_string(out));
		print_json(o);
	} else {
		printf("enrolled machine %s (%s %s) into %s\n", hex,
		       rec->chain.vendor[0] ? rec->chain.vendor : rec->chain.manufacturer,
		       rec->chain.model, out);
	}
	rc = EXIT_OK;
done:
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
	free(doc);
	if (pending)
		OPENSSL_cleanse(pending, sizeof(*pending));
	free(pending);
	free(rec);
	OPENSSL_cleanse(&resp, sizeof(resp));
	return rc;
}

/* ---- the attester's steps, in tpmattest-tpm ---- */

int cmd_enroll(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--server", 8) == 0)
			return cmd_enroll_server(argc, argv);
	if (strcmp(argv[1], "challenge") == 0)
		return enroll_challenge(argc - 1, argv + 1);
	if (strcmp(argv[1], "finish") == 0)
		return enroll_finish(argc - 1, argv + 1);
	if (strcmp(argv[1], "request") == 0)
		return cli_exec_tpm("enroll-request", argc - 1, argv + 1);
	if (strcmp(argv[1], "activate") == 0)
		return cli_exec_tpm("enroll-activate", argc - 1, argv + 1);
	return usage_error(usage_text, "enroll: unknown step '%s'", argv[1]);
}
