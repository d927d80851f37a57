/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-ear [VERDICT.json] [--jwt-out FILE --jwk-out FILE]: microseconds
 * per signed result (tpa_ear_sign: the verdict document read, the claims
 * and the AR4SI vector made, the JWT signed with ES256) and per check of
 * one (tpa_ear_verify: JWK key, signature, every claim), in process; and
 * in the same run the lower bound measured with OpenSSL alone: one P-256
 * ECDSA signature (or verification) over a signing input of the same
 * length.  The verdict document is the file given (a verdict as `tpmattest
 * attest --json` prints it), or a PASS of two banks of 24 PCRs with its 14
 * checks made here.  --jwt-out/--jwk-out write one result and its key, for
 * bench-ear.sh's Python check.  A benchmark, not a test.  Last lines:
 *   ear sign: us=N bound_us=M ratio=R bytes=B
 *   ear sign (parsed document): us=N bound_us=M ratio=R   (the server's path)
 *   ear verify: us=N bound_us=M ratio=R
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <tpmattest/ear.h>

#include "base/json.h"
#include "bench.h"
#include "verifier/ear_internal.h"

#define MEASURE(out, body) BENCH_MEDIAN(out, 1e6, body)

static void die(const char *what)
{
	fprintf(stderr, "bench-ear: %s\n", what);
	exit(1);
}

static const char *const checks[] = {
        "signature",      "nonce",           "pcr_selection", "pcr_digest",
        "clock",          "counter",         "signer",        "ek",
        "eventlog_parse", "eventlog_replay", "policy_pcrs",   "policy_pcr_values",
        "policy_events",  "enrolled_counter"};

/* A PASS under a policy: what the server signs most. */
static char *sample_verdict(void)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	if (!b)
		die("out of memory");
#define ADD(...) (n += (size_t)snprintf(b + n, cap - n, __VA_ARGS__))
	ADD("{\"machine_id\":\"%s\",\"name\":\"bench\",\"verdict\":\"pass\",\"verified\":true,"
	    "\"error\":null,\"recorded\":true,\"seq\":17,\"at\":1796000000,"
	    "\"policy\":{\"name\":\"golden\",\"ruled\":true,\"sha256\":\"%s\"},"
	    "\"counter_kind\":\"authorized\",\"pcrs\":{",
	    "4b79a2b89288b5d52aaea922a4b4f816cde503db879eebe9c6f4ef05e81d251b",
	    "976c684ef7e7885441017197fa2d2b86d0a698bf823a82b30b1f8fc467ffc5d7");
	for (int bank = 0; bank < 2; bank++) {
		ADD("%s\"%s\":{", bank ? "," : "", bank ? "sha256" : "sha1");
		for (int k = 0; k < 24; k++)
			ADD("%s\"%d\":\"%0*d\"", k ? "," : "", k, bank ? 64 : 40, k);
		ADD("}");
	}
	ADD("},\"checks\":[");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		ADD("%s{\"name\":\"%s\",\"status\":\"pass\",\"reason\":\"the check of %s passed "
		    "with every input it needs\"}",
		    i ? "," : "", checks[i], checks[i]);
	ADD("]}");
#undef ADD
	if (n >= cap)
		die("sample verdict too large");
	return b;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		die("cannot write an output file");
}

int main(int argc, char **argv)
{
	const char *vpath = NULL, *jwt_out = NULL, *jwk_out = NULL;
	tpa_result_key *key = NULL;
	tpa_result_pub *pub = NULL;
	char *verdict, *jwk = NULL, *jwt = NULL, why[256];
	size_t vlen, jlen;
	double us_sign, us_sign_doc, us_verify, bound_sign, bound_verify;
	struct json_object *doc = NULL;
	EVP_PKEY *ok = NULL;
	unsigned char sig[80];
	size_t siglen = 0;
	const char *dot;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--jwt-out") == 0 && i + 1 < argc)
			jwt_out = argv[++i];
		else if (strcmp(argv[i], "--jwk-out") == 0 && i + 1 < argc)
			jwk_out = argv[++i];
		else if (argv[i][0] != '-' && !vpath)
			vpath = argv[i];
		else {
			fprintf(stderr,
			        "usage: bench-ear [VERDICT.json] [--jwt-out F --jwk-out F]\n");
			return 2;
		}
	}
	if (vpath) {
		uint8_t *raw = bench_slurp(vpath, &vlen);
		if (!raw)
			die("cannot read the verdict document");
		verdict = (char *)raw;
	} else {
		verdict = sample_verdict();
		vlen = strlen(verdict);
	}
	if (tpa_result_key_generate(&key) != TPA_OK || tpa_result_key_jwk(key, &jwk) != TPA_OK ||
	    tpa_result_pub_from_jwk(jwk, strlen(jwk), &pub, why, sizeof(why)) != TPA_OK)
		die("result key");

	tpa_ear_input in = {verdict,
	                    vlen,
	                    "4b79a2b89288b5d52aaea922a4b4f816cde503db879eebe9c6f4ef05e81d251b",
	                    1796000005,
	                    "00112233445566778899aabbccddeeff",
	                    "tpmattest bench",
	                    "tpmattest"};
	if (tpa_ear_sign(key, &in, &jwt, why, sizeof(why)) != TPA_OK) {
		fprintf(stderr, "bench-ear: tpa_ear_sign: %s\n", why);
		return 1;
	}
	jlen = strlen(jwt);
	{
		tpa_ear_claims c;
		if (tpa_ear_verify(pub, jwt, jlen, &c, why, sizeof(why)) != TPA_OK) {
			fprintf(stderr, "bench-ear: tpa_ear_verify: %s\n", why);
			return 1;
		}
		printf("bench-ear: a %zu-byte verdict document gives a %zu-byte JWT, ear.status "
		       "%s\n",
		       vlen, jlen, tpa_ear_status_name(c.status));
		tpa_ear_claims_clear(&c);
	}
	if (jwt_out)
		write_file(jwt_out, jwt);
	if (jwk_out)
		write_file(jwk_out, jwk);

	MEASURE(us_sign, {
		char *j = NULL;
		if (tpa_ear_sign(key, &in, &j, why, sizeof(why)) != TPA_OK)
			die("tpa_ear_sign");
		free(j);
	});
	/* the server's path: the document it built, signed without being
	 * written and read back */
	if (tpa_json_parse(verdict, vlen, &doc, why, sizeof(why)) != TPA_OK)
		die("the verdict document is not JSON");
	MEASURE(us_sign_doc, {
		char *j = NULL;
		if (tpa_ear_sign_doc(key, &in, doc, &j, why, sizeof(why)) != TPA_OK)
			die("tpa_ear_sign_doc");
		free(j);
	});
	json_object_put(doc);
	MEASURE(us_verify, {
		tpa_ear_claims c;
		if (tpa_ear_verify(pub, jwt, jlen, &c, why, sizeof(why)) != TPA_OK)
			die("tpa_ear_verify");
		tpa_ear_claims_clear(&c);
	});

	/* the bound: ECDSA P-256 over SHA-256 of the same signing input
	 * (header.payload), with OpenSSL's one-shot calls */
	if (!(ok = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
		die("EC key generation");
	dot = strrchr(jwt, '.');
	size_t ilen = (size_t)(dot - jwt);
	MEASURE(bound_sign, {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		siglen = sizeof(sig);
		if (!m || EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, ok) != 1 ||
		    EVP_DigestSign(m, sig, &siglen, (const unsigned char *)jwt, ilen) != 1)
			die("EVP_DigestSign");
		EVP_MD_CTX_free(m);
	});
	MEASURE(bound_verify, {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		if (!m || EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, ok) != 1 ||
		    EVP_DigestVerify(m, sig, siglen, (const unsigned char *)jwt, ilen) != 1)
			die("EVP_DigestVerify");
		EVP_MD_CTX_free(m);
	});
	printf("ear sign: us=%.1f bound_us=%.1f ratio=%.2f bytes=%zu\n", us_sign, bound_sign,
	       us_sign / bound_sign, jlen);
	printf("ear sign (parsed document): us=%.1f bound_us=%.1f ratio=%.2f\n", us_sign_doc,
	       bound_sign, us_sign_doc / bound_sign);
	printf("ear verify: us=%.1f bound_us=%.1f ratio=%.2f\n", us_verify, bound_verify,
	       us_verify / bound_verify);
	EVP_PKEY_free(ok);
	free(jwt);
	free(jwk);
	free(verdict);
	tpa_result_pub_free(&pub);
	tpa_result_key_free(&key);
	return 0;
}
