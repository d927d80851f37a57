/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest pcrs | init, and what every TPM command shares: choosing the
 * TCTI, reporting TPM errors once, parsing PCR lists and handles.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cmd_tpm.h"

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
        "                      [--no-ek] [--tcti SPEC]\n"
        "\n"
        "Provisions what `quote` needs, idempotently: the AK, a restricted signing key\n"
        "created under the TCG default ECC EK and persisted at the AK handle, and a\n"
        "monotonic NV counter.  Existing objects are checked, never replaced.  Also\n"
        "prints both default EKs (RSA 2048, ECC P-256) and their certificates.\n"
        "Options:\n"
        "  --ak-alg ALG     ecc (ECDSA P-256 SHA-256, default) or rsa (RSASSA 2048 SHA-256);\n"
        "                   an existing AK of the other kind is an error\n"
        "  --ak-handle H    persistent AK handle (default 0x81000100)\n"
        "  --nv-index I     NV counter index (default 0x01000100)\n"
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

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"ak-alg", required_argument, NULL, 'a'},
	        {"ak-handle", required_argument, NULL, 'k'},
	        {"nv-index", required_argument, NULL, 'n'},
	        {"no-ek", no_argument, NULL, 'E'},
	        {"tcti", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
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
		case 'h': fputs(init_usage, stdout); return EXIT_OK;
		default: return usage_error(init_usage, "init: bad option");
		}
	}
	if (optind < argc)
		return usage_error(init_usage, "init: unexpected argument '%s'", argv[optind]);
	if ((rc = tpm_connect("init", tcti, &tpm)) != EXIT_OK)
		return rc;
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
		json_object_object_add(root, "counter", nv);
	} else {
		printf("AK       0x%08x  %s  %s  name %s\n", info.ak_handle,
		       info.ak_alg == TPA_KEY_RSA ? "rsa" : "ecc",
		       info.ak_created ? "created" : "existing", hex);
		printf("counter  0x%08x  %s\n", info.nv_index,
		       info.nv_created ? "created" : "existing");
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
	tpm_disconnect(&tpm);
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
