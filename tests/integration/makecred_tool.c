/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * makecred_tool: the library's credential activation, for test-makecred.sh
 * (until the enroll subcommands exist).  Credential files are in
 * tpm2-tools' format (tpm2_makecredential -o, tpm2_activatecredential -i):
 * magic 0xBADCC0DE and version 1, 4 bytes each, big-endian, then the
 * TPM2B_ID_OBJECT and the TPM2B_ENCRYPTED_SECRET.
 *
 *   makecred_tool make EK.pub AK.pub SECRET OUT.cred   (no TPM)
 *   makecred_tool activate rsa|ecc AK_HANDLE IN.cred OUT.secret
 *   makecred_tool ekpub rsa|ecc OUT.pub               (our EK reader)
 *   makecred_tool check EXPECTED GOT
 *
 * The TPM is $TPMATTEST_TCTI.  Exit statuses are the CLI's: 0 done, 1 the
 * secrets differ, 2 usage, 3 malformed input, 4 TPM or I/O; the reason goes
 * to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest-tpm/tpm.h>
#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

#define MAX_FILE 65536

static int exit_for(int r)
{
	return (int)tpa_err_classify(r);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(MAX_FILE);
	size_t n;
	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		fprintf(stderr, "makecred_tool: cannot read %s\n", path);
		exit(4);
	}
	n = fread(buf, 1, MAX_FILE, f);
	fclose(f);
	*len = n;
	return buf;
}

static void spill(const char *path, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                  const uint8_t *c, size_t clen)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    (clen && fwrite(c, 1, clen, f) != clen) || fclose(f) != 0) {
		fprintf(stderr, "makecred_tool: cannot write %s\n", path);
		exit(4);
	}
}

static const uint8_t header[8] = {0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1};

static int cmd_make(char **argv)
{
	size_t eklen, aklen, slen;
	uint8_t *ek = slurp(argv[0], &eklen), *akpub = slurp(argv[1], &aklen);
	uint8_t *secret = slurp(argv[2], &slen);
	tpa_credential c;
	tpa_ak *ak = NULL;
	char why[256] = "";
	int r;

	if ((r = tpa_ak_parse(akpub, aklen, &ak, why, sizeof(why))) != TPA_OK)
		fprintf(stderr, "makecred_tool: %s: %s\n", argv[1], why);
	else if ((r = tpa_credential_make(ek, eklen, ak, secret, slen, &c, why, sizeof(why))) !=
	         TPA_OK)
		fprintf(stderr, "makecred_tool: %s (%s)\n", why, tpa_strerror(r));
	else
		spill(argv[3], header, sizeof(header), c.id_object, c.id_object_len,
		      c.encrypted_secret, c.encrypted_secret_len);
	tpa_ak_free(&ak);
	free(ek);
	free(akpub);
	free(secret);
	return exit_for(r);
}

static int alg_of(const char *s)
{
	if (strcmp(s, "rsa") == 0)
		return TPA_KEY_RSA;
	if (strcmp(s, "ecc") == 0)
		return TPA_KEY_ECC;
	fprintf(stderr, "makecred_tool: key type %s is neither rsa nor ecc\n", s);
	exit(2);
}

/* The two TPM2Bs of a credential file, by their own sizes. */
static int split(const uint8_t *buf, size_t len, size_t *idlen)
{
	size_t n;
	if (len < sizeof(header) + 4 || memcmp(buf, header, sizeof(header)) != 0)
		return 0;
	n = (size_t)(buf[8] << 8 | buf[9]) + 2;
	if (sizeof(header) + n + 2 > len)
		return 0;
	*idlen = n;
	return 1;
}

static int cmd_activate(char **argv)
{
	uint16_t alg = (uint16_t)alg_of(argv[0]);
	uint32_t handle = (uint32_t)strtoul(argv[1], NULL, 0);
	size_t len, idlen, slen = 0;
	uint8_t *buf = slurp(argv[2], &len), secret[TPA_TPM_MAX_CREDENTIAL];
	char err[256] = "";
	tpa_tpm *tpm = NULL;
	int r;

	if (!split(buf, len, &idlen)) {
		fprintf(stderr, "makecred_tool: %s is not a tpm2-tools credential file\n", argv[2]);
		free(buf);
		return 3;
	}
	if ((r = tpa_tpm_open(getenv("TPMATTEST_TCTI"), &tpm, err, sizeof(err))) != TPA_OK) {
		fprintf(stderr, "makecred_tool: %s\n", err);
		free(buf);
		return exit_for(r);
	}
	r = tpa_tpm_activate_credential(tpm, alg, handle, buf + sizeof(header), idlen,
	                                buf + sizeof(header) + idlen, len - sizeof(header) - idlen,
	                                secret, sizeof(secret), &slen);
	if (r != TPA_OK)
		fprintf(stderr, "makecred_tool: %s\n", tpa_tpm_error(tpm));
	else
		spill(argv[3], secret, slen, NULL, 0, NULL, 0);
	tpa_tpm_close(&tpm);
	free(buf);
	return exit_for(r);
}

static int cmd_ekpub(char **argv)
{
	uint16_t alg = (uint16_t)alg_of(argv[0]);
	uint8_t *pub = NULL;
	size_t len = 0;
	char err[256] = "";
	tpa_tpm *tpm = NULL;
	int r;

	if ((r = tpa_tpm_open(getenv("TPMATTEST_TCTI"), &tpm, err, sizeof(err))) != TPA_OK) {
		fprintf(stderr, "makecred_tool: %s\n", err);
		return exit_for(r);
	}
	if ((r = tpa_tpm_ek(tpm, alg, &pub, &len, NULL, NULL)) != TPA_OK)
		fprintf(stderr, "makecred_tool: %s\n", tpa_tpm_error(tpm));
	else
		spill(argv[1], pub, len, NULL, 0, NULL, 0);
	tpa_tpm_close(&tpm);
	free(pub);
	return exit_for(r);
}

static int cmd_check(char **argv)
{
	size_t elen, glen;
	uint8_t *e = slurp(argv[0], &elen), *g = slurp(argv[1], &glen);
	int r = tpa_credential_check(e, elen, g, glen);
	free(e);
	free(g);
	if (r != TPA_OK)
		fprintf(stderr, "makecred_tool: the secret differs\n");
	return exit_for(r);
}

int main(int argc, char **argv)
{
	setenv("TSS2_LOG", "all+NONE", 0);
	if (argc == 6 && strcmp(argv[1], "make") == 0)
		return cmd_make(argv + 2);
	if (argc == 6 && strcmp(argv[1], "activate") == 0)
		return cmd_activate(argv + 2);
	if (argc == 4 && strcmp(argv[1], "ekpub") == 0)
		return cmd_ekpub(argv + 2);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv + 2);
	fprintf(stderr, "usage: makecred_tool make EK.pub AK.pub SECRET OUT.cred\n"
	                "       makecred_tool activate rsa|ecc AK_HANDLE IN.cred OUT.secret\n"
	                "       makecred_tool ekpub rsa|ecc OUT.pub\n"
	                "       makecred_tool check EXPECTED GOT\n");
	return 2;
}
