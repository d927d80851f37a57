/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest counter key|public|authorize: the verifier's side of
 * verifier-authorized counter increments, offline (<tpmattest/counterauth.h>;
 * the server does the same from its store).  No TPM here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

#include "base/util.h"
#include "cli.h"

static const char usage_text[] =
        "usage: tpmattest counter key --out KEY.pem\n"
        "       tpmattest counter public KEY.pem [--out FILE] [--json]\n"
        "       tpmattest counter authorize --key KEY.pem --enrollment RECORD --state STATE\n"
        "                                   --nonce-tpm HEX [--out FILE]\n"
        "\n"
        "The verifier's side of the verifier-authorized NV counter, offline.\n"
        "  key        make a verifier counter key (ECC P-256) in a new file, mode 0600\n"
        "  public     the key as the TPM loads it: {\"public\": base64 TPM2B_PUBLIC,\n"
        "             \"name\": hex}; give FILE to `tpmattest init --counter-key FILE` (each\n"
        "             machine's counter policy is PolicyAuthorize by this key with the\n"
        "             machine's id as policyRef)\n"
        "  authorize  one authorization of one increment for the policy session whose\n"
        "             nonceTPM is HEX (printed by `tpmattest quote --exchange`), for the\n"
        "             machine of RECORD: the first increment when STATE holds no counter\n"
        "             yet, else one allowed only while the counter is the last accepted.\n"
        "             STATE counts it (counter_auths, written under STATE.lock before\n"
        "             the authorization is printed), so `tpmattest verify --state STATE\n"
        "             --update-state` then accepts a counter only within (last, last +\n"
        "             issued].  STATE need not exist yet.\n"
        "See tpmattest-quote(1) and docs/rollback.md.\n";

static int load_key(const char *path, tpa_counter_key **k)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[200] = "";
	int r = read_file(path, 16384, &buf, &len);
	if (r != TPA_OK) {
		errmsg("counter key %s: cannot read: %s", path,
		       r == TPA_E_LIMIT ? "larger than 16 KiB" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	r = tpa_counter_key_from_pem((const char *)buf, len, k, why, sizeof(why));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (r != TPA_OK) {
		errmsg("counter key %s: %s", path, why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	return EXIT_OK;
}

static int do_key(const char *out)
{
	tpa_counter_key *k = NULL;
	char *pem = NULL;
	int fd, rc = EXIT_ENV;
	size_t n;

	if (!out)
		return usage_error(usage_text, "counter key: --out KEY.pem is required");
	if (tpa_counter_key_generate(&k) != TPA_OK || tpa_counter_key_to_pem(k, &pem) != TPA_OK) {
		errmsg("counter key: cannot make a key (OpenSSL)");
		goto out;
	}
	/* a new file only: an existing key may already be some counter's policy */
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		errmsg("counter key %s: cannot create: %s%s", out, strerror(errno),
		       errno == EEXIST ? " (never overwritten: counters may depend on it)" : "");
		goto out;
	}
	n = strlen(pem);
	if (write(fd, pem, n) != (ssize_t)n || fsync(fd) != 0) {
		errmsg("counter key %s: cannot write: %s", out, strerror(errno));
		close(fd);
		unlink(out);
		goto out;
	}
	if (close(fd) != 0) {
		errmsg("counter key %s: cannot write: %s", out, strerror(errno));
		unlink(out);
		goto out;
	}
	rc = EXIT_OK;
out:
	if (pem)
		OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	tpa_counter_key_free(&k);
	return rc;
}

/* {"public":B64,"name":HEX} of the key. */
static int public_json(const tpa_counter_key *k, char **out)
{
	uint8_t pub[TPA_COUNTER_KEY_PUBLIC_MAX], name[TPA_COUNTER_NAME_LEN];
	char hex[2 * TPA_COUNTER_NAME_LEN + 1], *b64;
	size_t len;
	struct json_object *o;
	int r;

	if ((r = tpa_counter_key_public(k, pub, sizeof(pub), &len, name)) != TPA_OK)
		return r;
	if (!(b64 = tpa_b64_encode(pub, len)))
		return TPA_E_NOMEM;
	o = json_object_new_object();
	json_object_object_add(o, "public", json_object_new_string(b64));
	free(b64);
	tpa_hex_encode(name, sizeof(name), hex);
	json_object_object_add(o, "name", json_object_new_string(hex));
	*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                        JSON_C_TO_STRING_SPACED |
	                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *out ? TPA_OK : TPA_E_NOMEM;
}

static int emit(const char *s, const char *out)
{
	if (!out) {
		puts(s);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_ENV;
	}
	if (write_file_atomic(out, s, strlen(s)) != TPA_OK) {
		errmsg("%s: cannot write: %s", out, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int do_public(const char *path, const char *out)
{
	tpa_counter_key *k = NULL;
	char *s = NULL;
	int rc, r;

	if ((rc = load_key(path, &k)) != EXIT_OK)
		return rc;
	if ((r = public_json(k, &s)) != TPA_OK) {
		errmsg("counter public %s: %s", path, tpa_strerror(r));
		rc = exit_for(r);
	} else {
		rc = emit(s, out);
	}
	free(s);
	tpa_counter_key_free(&k);
	return rc;
}

static int do_authorize(const char *key_path, const char *rec_path, const char *state_path,
                        const char *nonce_hex, const char *out)
{
	tpa_counter_key *k = NULL;
	tpa_enrollment *rec = NULL;
	tpa_counter_auth a;
	tpa_state st;
	uint8_t *buf = NULL, *nonce = NULL;
	size_t len = 0, nlen = 0;
	char why[256] = "", *js = NULL, *sj = NULL;
	bool have = false;
	int rc, r, lockfd = -1;

	if (!key_path || !rec_path || !state_path || !nonce_hex)
		return usage_error(usage_text, "counter authorize: --key, --enrollment, --state "
		                               "and --nonce-tpm are required");
	if (parse_hex(nonce_hex, &nonce, &nlen) != TPA_OK || nlen < TPA_COUNTER_NONCE_MIN ||
	    nlen > TPA_COUNTER_NONCE_MAX) {
		free(nonce);
		return usage_error(usage_text,
		                   "counter authorize: --nonce-tpm: not %d..%d bytes "
		                   "of hex",
		                   TPA_COUNTER_NONCE_MIN, TPA_COUNTER_NONCE_MAX);
	}
	if ((rc = load_key(key_path, &k)) != EXIT_OK)
		goto out;
	rc = EXIT_ENV;
	if ((r = read_file(rec_path, 1u << 20, &buf, &len)) != TPA_OK) {
		errmsg("enrollment record %s: cannot read: %s", rec_path,
		       r == TPA_E_LIMIT ? "too large" : strerror(errno));
		goto out;
	}
	if (!(rec = calloc(1, sizeof(*rec))))
		goto out;
	r = tpa_enrollment_from_json((const char *)buf, len, rec, why, sizeof(why));
	free(buf);
	buf = NULL;
	if (r != TPA_OK) {
		errmsg("enrollment record %s: %s", rec_path, why[0] ? why : tpa_strerror(r));
		rc = exit_for(r);
		goto out;
	}
	if (!rec->counter_authorized) {
		errmsg("enrollment record %s: the machine's counter is the older kind, which "
		       "takes no authorization (enroll it again with the verifier-authorized "
		       "counter)",
		       rec_path);
		rc = EXIT_NO;
		goto out;
	}
	{
		uint8_t pub[TPA_COUNTER_KEY_PUBLIC_MAX], name[TPA_COUNTER_NAME_LEN], pol[32];
		size_t pl;
		if (tpa_counter_key_public(k, pub, sizeof(pub), &pl, name) != TPA_OK ||
		    tpa_counter_policy(name, rec->machine_id, pol) != TPA_OK)
			goto out;
		if (CRYPTO_memcmp(pol, rec->counter_policy, 32) != 0) {
			errmsg("counter key %s is not the key of the machine's counter policy "
			       "(enrollment record %s)",
			       key_path, rec_path);
			rc = EXIT_NO;
			goto out;
		}
	}
	if ((rc = cli_lock_state(state_path, &lockfd)) != EXIT_OK)
		goto out;
	memset(&st, 0, sizeof(st));
	if ((rc = cli_load_state(state_path, &st, &have)) != EXIT_OK)
		goto out;
	rc = EXIT_ENV;
	if (st.counter_auths >= UINT64_MAX - 1) {
		errmsg("state %s: no more authorizations can be counted", state_path);
		goto out;
	}
	/* only while the counter is exactly the last accepted value (as the
	 * server's, server/handlers.c) */
	r = tpa_counter_authorize(k, rec->machine_id, rec->counter_name, rec->counter_name_len,
	                          nonce, nlen, !st.has_counter, st.counter, st.counter, &a);
	if (r != TPA_OK) {
		errmsg("counter authorize: %s", tpa_strerror(r));
		rc = exit_for(r);
		goto out;
	}
	/* counted durably before it leaves: an authorization not counted
	 * would make its increment look unauthorized (a refusal, never a
	 * wrong PASS), one counted and lost only widens the window by one */
	st.counter_auths++;
	if ((r = tpa_state_to_json(&st, &sj)) != TPA_OK ||
	    (r = write_file_atomic(state_path, sj, strlen(sj))) != TPA_OK) {
		errmsg("state %s: cannot write: %s", state_path,
		       r == TPA_E_IO ? strerror(errno) : tpa_strerror(r));
		goto out;
	}
	if ((r = tpa_counter_auth_to_json(&a, &js)) != TPA_OK) {
		errmsg("counter authorize: %s", tpa_strerror(r));
		goto out;
	}
	rc = emit(js, out);
out:
	if (lockfd >= 0)
		close(lockfd);
	free(js);
	free(sj);
	free(nonce);
	free(buf);
	free(rec);
	tpa_counter_key_free(&k);
	return rc;
}

int cmd_counter(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"key", required_argument, NULL, 'k'},
	        {"enrollment", required_argument, NULL, 'E'},
	        {"state", required_argument, NULL, 's'},
	        {"nonce-tpm", required_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {0, 0, 0, 0},
	};
	const char *out = NULL, *key = NULL, *rec = NULL, *state = NULL, *nonce = NULL, *sub;
	int c;

	if (argc < 2)
		return usage_error(usage_text, "counter: key, public or authorize?");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'k': key = optarg; break;
		case 'E': rec = optarg; break;
		case 's': state = optarg; break;
		case 'n': nonce = optarg; break;
		case 'j': break; /* the output is JSON already */
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "counter: unknown option");
		}
	}
	if (strcmp(sub, "key") == 0) {
		if (optind != argc)
			return usage_error(usage_text, "counter key: unexpected %s", argv[optind]);
		return do_key(out);
	}
	if (strcmp(sub, "public") == 0) {
		if (optind + 1 != argc)
			return usage_error(usage_text, "counter public: one KEY.pem");
		return do_public(argv[optind], out);
	}
	if (strcmp(sub, "authorize") == 0) {
		if (optind != argc)
			return usage_error(usage_text, "counter authorize: unexpected %s",
			                   argv[optind]);
		return do_authorize(key, rec, state, nonce, out);
	}
	return usage_error(usage_text, "counter: unknown subcommand \"%s\"", sub);
}
