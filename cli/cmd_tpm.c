/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest pcrs | init, and what every TPM command shares: choosing the
 * TCTI, reporting TPM errors once, parsing PCR lists and handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/counterauth.h>

/* the library's strict JSON reader and base64, which tpmattest-tpm links
 * but whose headers are internal */
#include "../src/base/json.h"
#include "../src/base/util.h"
#include "cmd_tpm.h"

/* Shared with cmd_quote.c (they belong in cmd_tpm.h). */
int tpm_load_counter_key(const char *cmd, const char *path, uint8_t name[TPA_COUNTER_NAME_LEN]);
int tpm_counter_machine_policy(const char *cmd, tpa_tpm *tpm,
                               const uint8_t key_name[TPA_COUNTER_NAME_LEN],
                               uint8_t machine_id[TPA_COUNTER_MACHINE_LEN], uint8_t policy[32]);
int tpm_counter_policy_of(const char *cmd, tpa_tpm *tpm, uint32_t index, uint8_t policy[32],
                          bool *found);

/*
 * A TPM that stops answering without closing the connection (a stopped
 * swtpm, a wedged chip) would block ESAPI forever: its synchronous calls
 * retry TSS2_TCTI_RC_TRY_AGAIN without limit.  A watchdog over the whole time
 * we talk to the TPM turns that into exit 4.  Output files are written only
 * after tpm_disconnect, so the watchdog never leaves a partial file behind.
 */
static void on_watchdog(int sig)
{
	static const char msg[] = ": the TPM did not answer in time (limit set by "
	                          "TPMATTEST_TIMEOUT, in seconds)\n";
	(void)sig;
	if (write(STDERR_FILENO, progname, strlen(progname)) < 0 ||
	    write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(EXIT_ENV);
	_exit(EXIT_ENV);
}

static void watchdog_arm(void)
{
	const char *env = getenv("TPMATTEST_TIMEOUT");
	uint32_t secs = TPM_TIMEOUT_DEFAULT;
	struct sigaction sa;

	if (env && *env && !parse_u32(env, &secs))
		errmsg("warning: TPMATTEST_TIMEOUT='%s' is not a number of seconds; using %d", env,
		       TPM_TIMEOUT_DEFAULT);
	if (!secs)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_watchdog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
}

void tpm_disconnect(tpa_tpm **tpm)
{
	tpa_tpm_close(tpm);
	alarm(0);
}

/*
 * A hierarchy authorization file: the value as hex (1 to 32 bytes, either
 * case), one line, nothing else.  It is a secret: a file others may read,
 * or that is not a regular file, is refused rather than used.
 */
#define AUTH_FILE_MAX (2 * TPA_TPM_MAX_AUTH + 2)
static int read_auth_file(const char *cmd, const char *path, const char *what,
                          uint8_t out[TPA_TPM_MAX_AUTH], size_t *len)
{
	char buf[AUTH_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t hexlen;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0) {
		errmsg("%s: %s authorization file %s: %s", cmd, what, path, strerror(errno));
		return EXIT_ENV;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		errmsg("%s: %s authorization file %s: not a regular file", cmd, what, path);
		close(fd);
		return EXIT_ENV;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		errmsg("%s: %s authorization file %s: group or others may access it (mode %04o); "
		       "refusing a secret others can read (chmod 600 %s)",
		       cmd, what, path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return EXIT_ENV;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		errmsg("%s: %s authorization file %s: %s", cmd, what, path, strerror(errno));
		return EXIT_ENV;
	}
	hexlen = (size_t)n;
	if (hexlen && buf[hexlen - 1] == '\n')
		hexlen--;
	if ((size_t)n > AUTH_FILE_MAX || hexlen == 0 || hexlen % 2 ||
	    hexlen > 2 * TPA_TPM_MAX_AUTH) {
		OPENSSL_cleanse(buf, sizeof(buf));
		errmsg("%s: %s authorization file %s: not one line of 2 to %d hex digits", cmd,
		       what, path, 2 * TPA_TPM_MAX_AUTH);
		return EXIT_MALFORMED;
	}
	for (size_t i = 0; i < hexlen; i += 2) {
		int v = 0;
		for (size_t j = i; j < i + 2; j++) {
			char ch = buf[j];
			int d = ch >= '0' && ch <= '9'   ? ch - '0'
			        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
			                                 : -1;
			if (d < 0) {
				OPENSSL_cleanse(buf, sizeof(buf));
				OPENSSL_cleanse(out, TPA_TPM_MAX_AUTH);
				errmsg("%s: %s authorization file %s: not one line of hex digits",
				       cmd, what, path);
				return EXIT_MALFORMED;
			}
			v = v << 4 | d;
		}
		out[i / 2] = (uint8_t)v;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	*len = hexlen / 2;
	return EXIT_OK;
}

/* The hierarchy authorizations the command was given (--owner-auth and
 * --endorsement-auth set these variables, over the caller's), told to the
 * connection. */
static const struct {
	const char *env, *what;
	int which;
} auth_envs[] = {
        {"TPMATTEST_OWNER_AUTH_FILE", "owner", TPA_HIERARCHY_OWNER},
        {"TPMATTEST_ENDORSEMENT_AUTH_FILE", "endorsement", TPA_HIERARCHY_ENDORSEMENT},
        {"TPMATTEST_LOCKOUT_AUTH_FILE", "lockout", TPA_HIERARCHY_LOCKOUT},
};

static int apply_auths(const char *cmd, tpa_tpm *tpm)
{
	for (size_t i = 0; i < sizeof(auth_envs) / sizeof(auth_envs[0]); i++) {
		const char *path = getenv(auth_envs[i].env);
		uint8_t v[TPA_TPM_MAX_AUTH];
		size_t len = 0;
		int rc, r;

		if (!path || !*path)
			continue;
		if ((rc = read_auth_file(cmd, path, auth_envs[i].what, v, &len)) != EXIT_OK)
			return rc;
		r = tpa_tpm_set_auth(tpm, auth_envs[i].which, v, len);
		OPENSSL_cleanse(v, sizeof(v));
		if (r != TPA_OK)
			return tpm_report(cmd, tpm, r);
	}
	return EXIT_OK;
}

int tpm_connect(const char *cmd, const char *tcti_opt, tpa_tpm **out)
{
	const char *tcti = tcti_opt;
	char err[512];
	int r;

	if (!tcti || !*tcti)
		tcti = getenv("TPMATTEST_TCTI");
	if (!tcti || !*tcti)
		tcti = getenv("TPM2TOOLS_TCTI");
	if (tcti && !*tcti)
		tcti = NULL;
	/* tpm2-tss logs its own errors to stderr; we report each failure once,
	 * in our words.  TSS2_LOG set by the user still wins. */
	setenv("TSS2_LOG", "all+NONE", 0);
	err[0] = 0;
	watchdog_arm();
	if ((r = tpa_tpm_open(tcti, out, err, sizeof(err))) != TPA_OK) {
		alarm(0);
		errmsg("%s: %s", cmd, err[0] ? err : tpa_strerror(r));
		return exit_for(r);
	}
	if ((r = apply_auths(cmd, *out)) != EXIT_OK) {
		tpm_disconnect(out);
		return r;
	}
	return EXIT_OK;
}

int tpm_report(const char *cmd, tpa_tpm *tpm, int err)
{
	const char *why = tpa_tpm_error(tpm);
	errmsg("%s: %s", cmd, why && *why ? why : tpa_strerror(err));
	return exit_for(err);
}

int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;
	if (!s || !*s || *s == '-')
		return 0;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > UINT32_MAX)
		return 0;
	*v = (uint32_t)x;
	return 1;
}

int parse_pcr_list(const char *s, uint32_t *mask)
{
	uint32_t m = 0;
	const char *p = s;
	if (!s || !*s)
		return 0;
	if (strcmp(s, "all") == 0) {
		*mask = (1u << TPA_PCR_COUNT) - 1;
		return 1;
	}
	while (*p) {
		char *end;
		unsigned long a, b;
		if (*p < '0' || *p > '9')
			return 0;
		a = strtoul(p, &end, 10);
		b = a;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return 0;
			b = strtoul(p, &end, 10);
		}
		if (a >= TPA_PCR_COUNT || b >= TPA_PCR_COUNT || b < a)
			return 0;
		for (unsigned long i = a; i <= b; i++)
			m |= 1u << i;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return 0;
		p = end;
	}
	*mask = m;
	return 1;
}

int parse_key_alg(const char *s, uint16_t *alg)
{
	if (strcmp(s, "ecc") == 0 || strcmp(s, "ecdsa") == 0)
		*alg = TPA_KEY_ECC;
	else if (strcmp(s, "rsa") == 0 || strcmp(s, "rsassa") == 0)
		*alg = TPA_KEY_RSA;
	else
		return 0;
	return 1;
}

/* ---- the verifier's counter key ---- */

#define COUNTER_KEY_FILE_MAX 16384

/* A PEM public key (SubjectPublicKeyInfo) of P-256, as the TPM2B_PUBLIC the
 * verifier's library makes of it (<tpmattest/counterauth.h>). */
static int pem_to_public(const char *cmd, const char *path, const uint8_t *buf, size_t len,
                         uint8_t *out, size_t cap, size_t *outlen)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIGNUM *x = NULL, *y = NULL;
	TPM2B_PUBLIC pub;
	size_t off = 0;
	int rc = EXIT_MALFORMED;

	BIO_free(b);
	memset(&pub, 0, sizeof(pub));
	if (!k || !EVP_PKEY_is_a(k, "EC") ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, pub.publicArea.unique.ecc.x.buffer, 32) != 32 ||
	    BN_bn2binpad(y, pub.publicArea.unique.ecc.y.buffer, 32) != 32) {
		errmsg("%s: counter key %s: not a PEM EC public key", cmd, path);
		goto out;
	}
	{
		char group[32] = "";
		size_t gl = 0;
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), &gl) ||
		    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
			errmsg("%s: counter key %s: not an ECC NIST P-256 key", cmd, path);
			goto out;
		}
	}
	pub.publicArea.type = TPM2_ALG_ECC;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
	pub.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	pub.publicArea.unique.ecc.x.size = 32;
	pub.publicArea.unique.ecc.y.size = 32;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out, cap, &off) != TSS2_RC_SUCCESS) {
		errmsg("%s: counter key %s: cannot marshal it", cmd, path);
		rc = EXIT_ENV;
		goto out;
	}
	*outlen = off;
	rc = EXIT_OK;
out:
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(k);
	return rc;
}

/*
 * The verifier's counter key, from a file holding its TPM2B_PUBLIC as base64,
 * the JSON `tpmattest counter public` prints, or a PEM public key: its Name
 * (the counter's policy is this machine's: tpm_counter_machine_policy).
 */
int tpm_load_counter_key(const char *cmd, const char *path, uint8_t name[TPA_COUNTER_NAME_LEN])
{
	uint8_t *buf = NULL, pub[TPA_COUNTER_KEY_PUBLIC_MAX];
	size_t len = 0, plen = 0, a, z;
	char why[200] = "";
	int r, rc;

	r = read_file(path, COUNTER_KEY_FILE_MAX, &buf, &len);
	if (r != TPA_OK) {
		errmsg("%s: counter key %s: %s", cmd, path,
		       r == TPA_E_LIMIT ? "larger than 16 KiB" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	for (a = 0; a < len && strchr(" \t\r\n", buf[a]); a++)
		;
	for (z = len; z > a && strchr(" \t\r\n", buf[z - 1]); z--)
		;
	if (z - a >= 10 && memcmp(buf + a, "-----BEGIN", 10) == 0) {
		rc = pem_to_public(cmd, path, buf, len, pub, sizeof(pub), &plen);
	} else if (z > a && buf[a] == '{') {
		/* `tpmattest counter public`'s document, read as the attester
		 * reads GET /v1/counter-key (counter_key_file.c) */
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "%s: counter key %s", cmd, path);
		rc = cli_counter_key_from_doc(what, (const char *)buf, len, name);
		free(buf);
		return rc;
	} else {
		uint8_t *p = NULL;
		rc = EXIT_OK;
		if (tpa_b64_decode((const char *)buf + a, z - a, sizeof(pub), &p, &plen) !=
		    TPA_OK) {
			errmsg("%s: counter key %s: neither base64 of a TPM2B_PUBLIC, nor the "
			       "JSON of `tpmattest counter public`, nor a PEM public key",
			       cmd, path);
			rc = EXIT_MALFORMED;
		} else {
			memcpy(pub, p, plen);
		}
		free(p);
	}
	free(buf);
	if (rc != EXIT_OK)
		return rc;
	if ((r = tpa_counter_key_public_check(pub, plen, name, why, sizeof(why))) != TPA_OK) {
		errmsg("%s: counter key %s: %s", cmd, path, why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	return EXIT_OK;
}

/* This machine's id (SHA-256 of its ECC EK's TPM2B_PUBLIC, the TCG default
 * template L-2) and, when key_name is given, the authPolicy of its
 * verifier-authorized counter for that key: PolicyAuthorize(key,
 * policyRef = machine id). */
int tpm_counter_machine_policy(const char *cmd, tpa_tpm *tpm,
                               const uint8_t key_name[TPA_COUNTER_NAME_LEN],
                               uint8_t machine_id[TPA_COUNTER_MACHINE_LEN], uint8_t policy[32])
{
	uint8_t *pub = NULL;
	size_t len = 0;
	int r;

	if ((r = tpa_tpm_ek(tpm, TPA_KEY_ECC, &pub, &len, NULL, NULL)) != TPA_OK)
		return tpm_report(cmd, tpm, r);
	r = tpa_counter_machine_id(pub, len, machine_id);
	free(pub);
	if (r == TPA_OK && key_name)
		r = tpa_counter_policy(key_name, machine_id, policy);
	if (r != TPA_OK) {
		errmsg("%s: the machine's counter policy: %s", cmd, tpa_strerror(r));
		return exit_for(r);
	}
	return EXIT_OK;
}

/* The authPolicy of a verifier-authorized counter at index, if there is
 * one (*found); an index there of the older kind is not one. */
int tpm_counter_policy_of(const char *cmd, tpa_tpm *tpm, uint32_t index, uint8_t policy[32],
                          bool *found)
{
	uint8_t buf[sizeof(TPM2B_NV_PUBLIC)];
	TPM2B_NV_PUBLIC p;
	size_t len = 0, off = 0;
	int r;

	*found = false;
	if ((r = tpa_tpm_nv_public(tpm, index, buf, sizeof(buf), &len)) != TPA_OK) {
		/* tpa_tpm_nv_public's words for an index that is not there */
		if (strncmp(tpa_tpm_error(tpm), "there is no NV index", 20) == 0)
			return EXIT_OK;
		return tpm_report(cmd, tpm, r);
	}
	memset(&p, 0, sizeof(p));
	if (Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(buf, len, &off, &p) != TSS2_RC_SUCCESS ||
	    off != len) {
		errmsg("%s: NV index 0x%08x: its public area does not parse", cmd, index);
		return EXIT_ENV;
	}
	if ((p.nvPublic.attributes & TPMA_NV_POLICYWRITE) && p.nvPublic.authPolicy.size == 32) {
		memcpy(policy, p.nvPublic.authPolicy.buffer, 32);
		*found = true;
	}
	return EXIT_OK;
}

/* ---- pcrs ---- */

static const char pcrs_usage[] =
        "usage: tpmattest pcrs [--json] [--pcrs LIST] [--tcti SPEC]\n"
        "\n"
        "Reads PCR values from the TPM, in every allocated bank.\n"
        "Options:\n"
        "  --json         {\"pcrs\":{\"sha256\":{\"0\":\"hex\",...},...}}, as `eventlog replay "
        "--json`\n"
        "  --pcrs LIST    PCRs to read: \"0-9\", \"0,2,4-7\", \"all\" (default all)\n" TCTI_HELP
        "  -h, --help     this text\n";

int cmd_pcrs(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"pcrs", required_argument, NULL, 'p'},
	        {"tcti", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *tcti = NULL;
	uint32_t mask = (1u << TPA_PCR_COUNT) - 1;
	bool json = false;
	tpa_tpm *tpm = NULL;
	tpa_pcrs *pcrs = NULL;
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'p':
			if (!parse_pcr_list(optarg, &mask))
				return usage_error(pcrs_usage, "pcrs: bad PCR list '%s'", optarg);
			break;
		case 'h': fputs(pcrs_usage, stdout); return EXIT_OK;
		default: return usage_error(pcrs_usage, "pcrs: bad option");
		}
	}
	if (optind < argc)
		return usage_error(pcrs_usage, "pcrs: unexpected argument '%s'", argv[optind]);
	if ((rc = tpm_connect("pcrs", tcti, &tpm)) != EXIT_OK)
		return rc;
	if ((r = tpa_tpm_read_pcrs(tpm, mask, &pcrs)) != TPA_OK) {
		rc = tpm_report("pcrs", tpm, r);
		tpm_disconnect(&tpm);
		return rc;
	}
	tpm_disconnect(&tpm);
	if (json) {
		char *s = NULL;
		if ((r = tpa_pcrs_to_json(pcrs, 1, &s)) != TPA_OK) {
			tpa_pcrs_free(&pcrs);
			errmsg("pcrs: %s", tpa_strerror(r));
			return exit_for(r);
		}
		puts(s);
		free(s);
	} else {
		for (size_t b = 0; b < tpa_pcrs_bank_count(pcrs); b++) {
			uint16_t alg = tpa_pcrs_bank_alg(pcrs, b);
			const char *name = tpa_alg_name(alg);
			if (name)
				printf("%s:\n", name);
			else
				printf("0x%04x:\n", alg);
			for (unsigned i = 0; i < TPA_PCR_COUNT; i++) {
				const uint8_t *v;
				size_t len;
				if (tpa_pcrs_get(pcrs, alg, i, &v, &len) != TPA_OK)
					continue;
				printf("  %2u: ", i);
				print_hex(stdout, v, len);
				putchar('\n');
			}
		}
	}
	tpa_pcrs_free(&pcrs);
	return EXIT_OK;
}

/* ---- init ---- */

static const char init_usage[] =
        "usage: tpmattest init [--json] [--ak-alg ecc|rsa] [--ak-handle H] [--nv-index I]\n"
        "                      [--counter-key PUB] [--no-ek] [--tcti SPEC]\n"
        "                      [--owner-auth FILE] [--endorsement-auth FILE]\n"
        "                      [--lockout-auth FILE] [--set-owner-auth FILE]\n"
        "                      [--set-endorsement-auth FILE] [--set-lockout-auth FILE]\n"
        "\n"
        "Provisions what `quote` needs, idempotently: the AK, a restricted signing key\n"
        "created under the TCG default ECC EK and persisted at the AK handle, and a\n"
        "monotonic NV counter.  Existing objects are checked, never replaced.  Also\n"
        "prints both default EKs (RSA 2048, ECC P-256) and their certificates.\n"
        "Options:\n"
        "  --ak-alg ALG     ecc (ECDSA P-256 SHA-256, default) or rsa (RSASSA 2048 SHA-256);\n"
        "                   an existing AK of the other kind is an error\n"
        "  --ak-handle H    persistent AK handle (default 0x81000100)\n"
        "  --nv-index I     NV counter index (default 0x01000100, with --counter-key\n"
        "                   0x01000101)\n"
        "  --counter-key PUB  the verifier-authorized counter, for the verifier key in PUB\n"
        "                   (`tpmattest counter public` JSON, base64 TPM2B_PUBLIC, or PEM)\n"
        "  --owner-auth FILE, --endorsement-auth FILE, --lockout-auth FILE\n"
        "                   current hierarchy authorizations (hex, one line, mode 0600;\n"
        "                   default $TPMATTEST_OWNER_AUTH_FILE, ..._ENDORSEMENT_..., "
        "..._LOCKOUT_...)\n"
        "  --set-owner-auth FILE, --set-endorsement-auth FILE, --set-lockout-auth FILE\n"
        "                   make a random 32-byte authorization, write it to the new FILE\n"
        "                   (never overwritten), then set it in the TPM\n"
        "  --no-ek          skip the EKs (creating the RSA EK can take seconds)\n"
        "  --json           machine-readable output\n" TCTI_HELP_AT(
                "      ", "                   ") "  -h, --help       this text\n";

static char *b64(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

static void json_add_b64(struct json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = p ? b64(p, n) : NULL;
	json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
	free(s);
}

static const char *const hierarchy_names[3] = {"owner", "endorsement", "lockout"};
static const int hierarchy_ids[3] = {TPA_HIERARCHY_OWNER, TPA_HIERARCHY_ENDORSEMENT,
                                     TPA_HIERARCHY_LOCKOUT};

/* fsync of the directory holding path, so that a new file's name survives
 * a crash as well as its content */
static int sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, r;
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * --set-*-auth: a new random value, durably in a new file (0600) before the
 * TPM has it, so that the value the TPM holds is never one nobody knows; the
 * file goes again when the TPM refuses the change.
 */
static int set_hierarchy_auth(tpa_tpm *tpm, int i, const char *path)
{
	uint8_t v[TPA_TPM_MAX_AUTH];
	char hex[2 * TPA_TPM_MAX_AUTH + 2];
	int fd, r, rc = EXIT_ENV;

	if (RAND_bytes(v, sizeof(v)) != 1) {
		errmsg("init: cannot make a random %s authorization (OpenSSL RAND_bytes)",
		       hierarchy_names[i]);
		return EXIT_ENV;
	}
	hex_string(v, sizeof(v), hex);
	hex[2 * sizeof(v)] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		errmsg("init: %s: cannot create the %s authorization file: %s%s", path,
		       hierarchy_names[i], strerror(errno),
		       errno == EEXIST ? " (never overwritten)" : "");
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, hex, sizeof(hex) - 1) != (ssize_t)sizeof(hex) - 1 ||
	    fsync(fd) != 0) {
		errmsg("init: %s: cannot write the %s authorization file: %s", path,
		       hierarchy_names[i], strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) != 0 || sync_dir_of(path) != 0) {
		errmsg("init: %s: cannot write the %s authorization file: %s", path,
		       hierarchy_names[i], strerror(errno));
		unlink(path);
		goto out;
	}
	if ((r = tpa_tpm_change_auth(tpm, hierarchy_ids[i], v, sizeof(v))) != TPA_OK) {
		rc = tpm_report("init", tpm, r);
		if (unlink(path) != 0)
			errmsg("init: %s: cannot remove it again: %s (it holds a value the TPM "
			       "does not)",
			       path, strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	OPENSSL_cleanse(v, sizeof(v));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"ak-alg", required_argument, NULL, 'a'},
	        {"ak-handle", required_argument, NULL, 'k'},
	        {"nv-index", required_argument, NULL, 'n'},
	        {"no-ek", no_argument, NULL, 'E'},
	        {"tcti", required_argument, NULL, 't'},
	        {"counter-key", required_argument, NULL, 'K'},
	        {"owner-auth", required_argument, NULL, 'O'},
	        {"endorsement-auth", required_argument, NULL, 'D'},
	        {"lockout-auth", required_argument, NULL, 'L'},
	        {"set-owner-auth", required_argument, NULL, '1'},
	        {"set-endorsement-auth", required_argument, NULL, '2'},
	        {"set-lockout-auth", required_argument, NULL, '3'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *set_path[3] = {NULL, NULL, NULL}, *counter_key = NULL;
	uint8_t policy[32], key_name[TPA_COUNTER_NAME_LEN], machine_id[TPA_COUNTER_MACHINE_LEN];
	bool set_done[3] = {false, false, false};
	tpa_provision_opts po = {0};
	tpa_provision_info info;
	const char *tcti = NULL;
	bool json = false, ek = true;
	tpa_tpm *tpm = NULL;
	struct json_object *root = NULL, *eks = NULL;
	int c, r, rc;
	char hex[2 * sizeof(info.ak_name) + 1];

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'E': ek = false; break;
		case 'a':
			if (!parse_key_alg(optarg, &po.ak_alg))
				return usage_error(init_usage,
				                   "init: --ak-alg must be ecc or rsa, not '%s'",
				                   optarg);
			break;
		case 'k':
			if (!parse_u32(optarg, &po.ak_handle))
				return usage_error(init_usage, "init: bad --ak-handle '%s'",
				                   optarg);
			break;
		case 'n':
			if (!parse_u32(optarg, &po.nv_index))
				return usage_error(init_usage, "init: bad --nv-index '%s'", optarg);
			break;
		case 'K': counter_key = optarg; break;
		/* read by tpm_connect, like the variables they stand for */
		case 'O': setenv("TPMATTEST_OWNER_AUTH_FILE", optarg, 1); break;
		case 'D': setenv("TPMATTEST_ENDORSEMENT_AUTH_FILE", optarg, 1); break;
		case 'L': setenv("TPMATTEST_LOCKOUT_AUTH_FILE", optarg, 1); break;
		case '1':
		case '2':
		case '3': set_path[c - '1'] = optarg; break;
		case 'h': fputs(init_usage, stdout); return EXIT_OK;
		default: return usage_error(init_usage, "init: bad option");
		}
	}
	if (optind < argc)
		return usage_error(init_usage, "init: unexpected argument '%s'", argv[optind]);
	/* new authorization files only: checked before the TPM is touched */
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (!set_path[i])
			continue;
		for (int j = 0; j < i; j++)
			if (set_path[j] && strcmp(set_path[i], set_path[j]) == 0)
				return usage_error(init_usage,
				                   "init: one file %s for two authorizations",
				                   set_path[i]);
		if (lstat(set_path[i], &st) == 0) {
			errmsg("init: %s exists; an authorization file is never overwritten (it "
			       "may hold the TPM's current value)",
			       set_path[i]);
			return EXIT_ENV;
		}
		if (errno != ENOENT) {
			errmsg("init: %s: %s", set_path[i], strerror(errno));
			return EXIT_ENV;
		}
	}
	if (counter_key && (rc = tpm_load_counter_key("init", counter_key, key_name)) != EXIT_OK)
		return rc;
	if ((rc = tpm_connect("init", tcti, &tpm)) != EXIT_OK)
		return rc;
	/* the counter's policy is this machine's: its ECC EK first */
	if (counter_key) {
		if ((rc = tpm_counter_machine_policy("init", tpm, key_name, machine_id, policy)) !=
		    EXIT_OK) {
			tpm_disconnect(&tpm);
			return rc;
		}
		po.counter_policy = policy;
	}
	if ((r = tpa_tpm_provision(tpm, &po, &info)) != TPA_OK) {
		rc = tpm_report("init", tpm, r);
		tpm_disconnect(&tpm);
		return rc;
	}
	hex_string(info.ak_name, info.ak_name_len, hex);
	if (json) {
		root = json_object_new_object();
		char h[16];
		struct json_object *ak = json_object_new_object(), *nv = json_object_new_object();
		snprintf(h, sizeof(h), "0x%08x", info.ak_handle);
		json_object_object_add(ak, "handle", json_object_new_string(h));
		json_object_object_add(
		        ak, "alg",
		        json_object_new_string(info.ak_alg == TPA_KEY_RSA ? "rsa" : "ecc"));
		json_object_object_add(ak, "created", json_object_new_boolean(info.ak_created));
		json_object_object_add(ak, "name", json_object_new_string(hex));
		json_add_b64(ak, "public", info.ak_public, info.ak_public_len);
		json_object_object_add(root, "ak", ak);
		snprintf(h, sizeof(h), "0x%08x", info.nv_index);
		json_object_object_add(nv, "index", json_object_new_string(h));
		json_object_object_add(nv, "created", json_object_new_boolean(info.nv_created));
		json_object_object_add(nv, "authorized",
		                       json_object_new_boolean(counter_key != NULL));
		if (counter_key) {
			char ph[65];
			hex_string(policy, 32, ph);
			json_object_object_add(nv, "policy", json_object_new_string(ph));
		}
		json_object_object_add(root, "counter", nv);
	} else {
		printf("AK       0x%08x  %s  %s  name %s\n", info.ak_handle,
		       info.ak_alg == TPA_KEY_RSA ? "rsa" : "ecc",
		       info.ak_created ? "created" : "existing", hex);
		printf("counter  0x%08x  %s%s\n", info.nv_index,
		       info.nv_created ? "created" : "existing",
		       counter_key ? "  verifier-authorized" : "");
	}
	if (ek) {
		static const struct {
			uint16_t alg;
			const char *name;
		} k[] = {{TPA_KEY_RSA, "rsa"}, {TPA_KEY_ECC, "ecc"}};
		if (json)
			eks = json_object_new_object();
		for (size_t i = 0; i < 2; i++) {
			uint8_t *pub = NULL, *cert = NULL;
			size_t plen = 0, clen = 0;
			if ((r = tpa_tpm_ek(tpm, k[i].alg, &pub, &plen, &cert, &clen)) != TPA_OK) {
				rc = tpm_report("init", tpm, r);
				json_object_put(eks);
				json_object_put(root);
				tpm_disconnect(&tpm);
				return rc;
			}
			if (json) {
				struct json_object *e = json_object_new_object();
				json_add_b64(e, "public", pub, plen);
				json_add_b64(e, "certificate", cert, clen);
				json_object_object_add(eks, k[i].name, e);
			} else {
				printf("EK %s   %s\n", k[i].name,
				       cert ? "certificate present" : "no certificate in NV");
			}
			free(pub);
			free(cert);
		}
		if (json)
			json_object_object_add(root, "ek", eks);
	}
	/* last, once everything else worked: a failed init leaves the
	 * authorizations as they were */
	for (int i = 0; i < 3; i++) {
		if (!set_path[i])
			continue;
		if ((rc = set_hierarchy_auth(tpm, i, set_path[i])) != EXIT_OK) {
			for (int j = 0; j < i; j++)
				if (set_done[j])
					errmsg("init: the %s authorization was changed, and is in "
					       "%s",
					       hierarchy_names[j], set_path[j]);
			json_object_put(root);
			tpm_disconnect(&tpm);
			return rc;
		}
		set_done[i] = true;
	}
	tpm_disconnect(&tpm);
	if (json && (set_path[0] || set_path[1] || set_path[2])) {
		struct json_object *a = json_object_new_object();
		for (int i = 0; i < 3; i++)
			if (set_path[i])
				json_object_object_add(a, hierarchy_names[i],
				                       json_object_new_string(set_path[i]));
		json_object_object_add(root, "authorizations_set", a);
	} else if (!json) {
		for (int i = 0; i < 3; i++)
			if (set_path[i])
				printf("%-11s authorization set, in %s\n", hierarchy_names[i],
				       set_path[i]);
	}
	if (json) {
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                  JSON_C_TO_STRING_SPACED |
		                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	return EXIT_OK;
}

void hex_string(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}
