/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-verify EVIDENCE AK NONCE POLICY [LABEL]: full verifications per
 * second on one core (event log parse with digest checks, tpa_verify with
 * replay, log rules and the policy), and in the same run the lower bound for
 * that work measured with OpenSSL alone: one verification of the quote's
 * signature plus SHA-256 over the log's bytes.  A benchmark, not a test.
 * Last line: "verify: engine_us=N bound_us=M ratio=R".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/evidence.h>
#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "verifier/ak_internal.h"
#include "bench.h"

#define MEASURE(out, body) BENCH_MEDIAN(out, 1e6, body)

int main(int argc, char **argv)
{
	uint8_t *evb, *akb, *pb, *nonce = NULL;
	size_t evl, akl, pl, nl, logl = 0;
	tpa_evidence *ev = NULL;
	tpa_ak *ak = NULL;
	tpa_policy *pol = NULL;
	const uint8_t *logb, *att, *sig;
	size_t attl, sigl;
	TPMT_SIGNATURE ts;
	char why[200];
	double engine_us, bound_sig_us, bound_hash_us;
	int failures = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: bench-verify EVIDENCE AK NONCE_HEX POLICY [LABEL]\n");
		return 2;
	}
	if (!(evb = bench_slurp(argv[1], &evl)) || !(akb = bench_slurp(argv[2], &akl)) ||
	    !(pb = bench_slurp(argv[4], &pl))) {
		fprintf(stderr, "cannot read inputs\n");
		return 4;
	}
	nl = strlen(argv[3]) / 2;
	nonce = malloc(nl);
	for (size_t i = 0; i < nl; i++)
		sscanf(argv[3] + 2 * i, "%2hhx", &nonce[i]);
	if (tpa_evidence_from_json((char *)evb, evl, &ev) != TPA_OK ||
	    tpa_ak_parse(akb, akl, &ak, why, sizeof(why)) ||
	    tpa_policy_from_json((char *)pb, pl, &pol, why, sizeof(why)) != TPA_OK) {
		fprintf(stderr, "bad inputs\n");
		return 3;
	}
	logb = tpa_evidence_get(ev, TPA_PART_EVENTLOG, &logl);
	att = tpa_evidence_get(ev, TPA_PART_QUOTE_ATTEST, &attl);
	sig = tpa_evidence_get(ev, TPA_PART_QUOTE_SIGNATURE, &sigl);
	if (!logb || !att || !sig) {
		fprintf(stderr, "the evidence needs a quote and an event log\n");
		return 3;
	}

	/* The engine: everything a verifier does per attestation once the
	 * evidence is in memory. */
	MEASURE(engine_us, {
		tpa_eventlog *log = NULL;
		tpa_result *res = NULL;
		tpa_verify_input in;
		memset(&in, 0, sizeof(in));
		if (tpa_eventlog_parse(logb, logl, &log, NULL) != TPA_OK)
			failures++;
		in.ak = ak;
		in.nonce = nonce;
		in.nonce_len = nl;
		in.attest = att;
		in.attest_len = attl;
		in.signature = sig;
		in.signature_len = sigl;
		in.pcrs = tpa_evidence_pcrs(ev);
		in.eventlog = log;
		in.policy = pol;
		in.counter_attest =
		        tpa_evidence_get(ev, TPA_PART_COUNTER_ATTEST, &in.counter_attest_len);
		in.counter_signature =
		        tpa_evidence_get(ev, TPA_PART_COUNTER_SIGNATURE, &in.counter_signature_len);
		in.require = TPA_REQUIRE_EVENTLOG;
		if (tpa_verify(&in, &res) != TPA_OK)
			failures++;
		tpa_result_free(&res);
		tpa_eventlog_free(&log);
	});

	/* The bound: OpenSSL verifying the one signature, and SHA-256 over
	 * the log, nothing else. */
	{
		size_t off = 0;
		memset(&ts, 0, sizeof(ts));
		Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, sigl, &off, &ts);
	}
	uint8_t der[600];
	size_t derl = 0;
	const uint8_t *sb;
	if (ts.sigAlg == TPM2_ALG_ECDSA) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *p = der;
		ECDSA_SIG_set0(es,
		               BN_bin2bn(ts.signature.ecdsa.signatureR.buffer,
		                         ts.signature.ecdsa.signatureR.size, NULL),
		               BN_bin2bn(ts.signature.ecdsa.signatureS.buffer,
		                         ts.signature.ecdsa.signatureS.size, NULL));
		derl = (size_t)i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
		sb = der;
	} else {
		sb = ts.signature.rsassa.sig.buffer;
		derl = ts.signature.rsassa.sig.size;
	}
	MEASURE(bound_sig_us, {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		if (EVP_DigestVerifyInit_ex(c, NULL, "SHA256", NULL, NULL, ak->pkey, NULL) <= 0 ||
		    EVP_DigestVerify(c, sb, derl, att, attl) != 1)
			failures++;
		EVP_MD_CTX_free(c);
	});
	MEASURE(bound_hash_us, {
		uint8_t h[32];
		EVP_Digest(logb, logl, h, NULL, EVP_sha256(), NULL);
	});
	double bound = bound_sig_us + bound_hash_us;
	printf("%s: log %zu bytes; engine %.1f us (%.0f verifications/s); bound: signature %.1f us "
	       "+ SHA-256 of the log %.1f us\n",
	       argc > 5 ? argv[5] : "verify", logl, engine_us, 1e6 / engine_us, bound_sig_us,
	       bound_hash_us);
	if (failures)
		printf("WARNING: %d verifications did not pass\n", failures);
	printf("verify: engine_us=%.1f bound_us=%.1f ratio=%.2f\n", engine_us, bound,
	       engine_us / bound);
	tpa_policy_free(&pol);
	tpa_ak_free(&ak);
	tpa_evidence_free(&ev);
	free(evb);
	free(akb);
	free(pb);
	free(nonce);
	return failures ? 1 : 0;
}
