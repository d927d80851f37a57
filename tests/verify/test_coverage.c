/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the UEFI event log must explain (issue 7, item 16): PCRs 0-7 and every
 * PCR it has events for.  Quoted PCRs 8 and up that it has no events for
 * (IMA's PCR 10, systemd's 11 and 15, DRTM's 17-22, PCR 23) are "not covered
 * by the event log": named in eventlog_replay's reason and in
 * tpa_result_uncovered_pcrs, and refused only by a policy rule.  Also: a
 * certified counter whose NV name has no real nameAlg is refused.
 *
 * Synthetic quotes signed by a software key built as a TPM AK would be, over
 * the real machines' logs and PCR values of ../shared/eventlogs/go-tpm-tools
 * (skipped when that folder is absent) and over small logs built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "logbuild.h"

static EVP_PKEY *key;
static tpa_ak *ak;
static uint8_t nonce[32];
static const char *gtt_dir; /* ../shared/eventlogs/go-tpm-tools */

#define AK_ATTRS                                                                    \
	(TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM | \
	 TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)

static tpa_ak *make_ak(void)
{
	TPM2B_PUBLIC p;
	uint8_t pt[65], buf[sizeof(p)];
	size_t ptlen = 0, off = 0;
	tpa_ak *a = NULL;
	char why[128];
	memset(&p, 0, sizeof(p));
	p.publicArea.type = TPM2_ALG_ECC;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = AK_ATTRS;
	p.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	assert_true(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
	                                            &ptlen));
	assert_int_equal(ptlen, 65);
	p.publicArea.unique.ecc.x.size = 32;
	memcpy(p.publicArea.unique.ecc.x.buffer, pt + 1, 32);
	p.publicArea.unique.ecc.y.size = 32;
	memcpy(p.publicArea.unique.ecc.y.buffer, pt + 33, 32);
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	assert_int_equal(tpa_ak_parse(buf, off, &a, why, sizeof(why)), TPA_OK);
	return a;
}

/* A marshalled, signed TPMS_ATTEST. */
struct signed_attest {
	uint8_t attest[2048];
	size_t attest_len;
	uint8_t sig[256];
	size_t sig_len;
};

static void sign(const TPMS_ATTEST *a, struct signed_attest *out)
{
	TPMT_SIGNATURE s;
	uint8_t der[128];
	size_t derlen = sizeof(der), off = 0;
	const unsigned char *p = der;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	const BIGNUM *r, *ss;

	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(a, out->attest, sizeof(out->attest), &off),
	                 TSS2_RC_SUCCESS);
	out->attest_len = off;
	assert_true(EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, key, NULL));
	assert_true(EVP_DigestSign(c, der, &derlen, out->attest, out->attest_len));
	EVP_MD_CTX_free(c);
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)derlen));
	ECDSA_SIG_get0(es, &r, &ss);
	memset(&s, 0, sizeof(s));
	s.sigAlg = TPM2_ALG_ECDSA;
	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	BN_bn2binpad(r, s.signature.ecdsa.signatureR.buffer, 32);
	BN_bn2binpad(ss, s.signature.ecdsa.signatureS.buffer, 32);
	ECDSA_SIG_free(es);
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, out->sig, sizeof(out->sig), &off),
	                 TSS2_RC_SUCCESS);
	out->sig_len = off;
}

/* A genuine-looking quote of exactly the (bank, PCR) pairs in claimed, in
 * claimed's bank order, with its pcrDigest (SHA-256, the AK's scheme). */
static void quote_of(const tpa_pcrs *claimed, struct signed_attest *out)
{
	TPMS_ATTEST a;
	TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned dl = 32;

	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.extraData.size = sizeof(nonce);
	memcpy(a.extraData.buffer, nonce, sizeof(nonce));
	a.clockInfo.clock = 100000;
	a.clockInfo.resetCount = 5;
	a.clockInfo.safe = TPM2_YES;
	assert_true(EVP_DigestInit_ex2(c, EVP_sha256(), NULL));
	for (size_t b = 0; b < tpa_pcrs_bank_count(claimed); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(claimed, b);
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[sel->count++];
		s->hash = alg;
		s->sizeofSelect = 3;
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_get(claimed, alg, k, &v, &vl) != TPA_OK)
				continue;
			s->pcrSelect[k / 8] |= (uint8_t)(1u << (k % 8));
			assert_true(EVP_DigestUpdate(c, v, vl));
		}
	}
	assert_true(EVP_DigestFinal_ex(c, a.attested.quote.pcrDigest.buffer, &dl));
	a.attested.quote.pcrDigest.size = 32;
	EVP_MD_CTX_free(c);
	sign(&a, out);
}

/* A signed NV_Certify of counter value v whose index name is given. */
static void counter_of(uint64_t v, const uint8_t *name, uint16_t name_len,
                       struct signed_attest *out)
{
	TPMS_ATTEST a;
	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_NV;
	a.extraData.size = sizeof(nonce);
	memcpy(a.extraData.buffer, nonce, sizeof(nonce));
	a.attested.nv.indexName.size = name_len;
	memcpy(a.attested.nv.indexName.name, name, name_len);
	a.attested.nv.nvContents.size = 8;
	for (int i = 0; i < 8; i++)
		a.attested.nv.nvContents.buffer[i] = (uint8_t)(v >> (56 - 8 * i));
	sign(&a, out);
}

struct run_opts {
	const tpa_eventlog *log;
	const tpa_policy *policy;
	const struct signed_attest *counter;
	const tpa_state *previous;
};

/* Quotes claimed, verifies, returns the result (the verdict checked to be
 * what tpa_verify returned). */
static tpa_result *verify(const tpa_pcrs *claimed, const struct run_opts *o)
{
	struct signed_attest q;
	tpa_verify_input in;
	tpa_result *res = NULL;
	int r;
	quote_of(claimed, &q);
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.attest = q.attest;
	in.attest_len = q.attest_len;
	in.signature = q.sig;
	in.signature_len = q.sig_len;
	in.pcrs = claimed;
	in.eventlog = o->log;
	in.policy = o->policy;
	in.previous = o->previous;
	if (o->counter) {
		in.counter_attest = o->counter->attest;
		in.counter_attest_len = o->counter->attest_len;
		in.counter_signature = o->counter->sig;
		in.counter_signature_len = o->counter->sig_len;
	}
	r = tpa_verify(&in, &res);
	assert_non_null(res);
	assert_int_equal(tpa_result_verdict(res), r);
	return res;
}

/* The named check has this status and exactly this reason. */
static void check_is(const tpa_result *res, const char *name, tpa_check_status want,
                     const char *reason)
{
	tpa_check_status st;
	const char *why = NULL;
	assert_int_equal(tpa_result_find(res, name, &st, &why), TPA_OK);
	if (st != want || (reason && strcmp(why, reason) != 0))
		fail_msg("%s: status %d (want %d), reason \"%s\"\n  want \"%s\"", name, st, want,
		         why, reason ? reason : "(any)");
}

static void set_fill(tpa_pcrs *p, uint16_t alg, unsigned k, uint8_t fill)
{
	uint8_t v[64];
	memset(v, fill, sizeof(v));
	assert_int_equal(tpa_pcrs_set(p, alg, k, v, tpa_alg_digest_size(alg)), TPA_OK);
}

/* PCR k := extend(reset value, H(what)), as software extending after boot. */
static void set_extended(tpa_pcrs *p, uint16_t alg, unsigned k, const char *what)
{
	uint8_t v[64], d[64];
	size_t n = tpa_alg_digest_size(alg);
	memset(v, k >= 17 && k <= 22 ? 0xff : 0, sizeof(v));
	assert_true(lb_hash(alg, what, strlen(what), d));
	lb_extend(alg, v, n, d);
	assert_int_equal(tpa_pcrs_set(p, alg, k, v, n), TPA_OK);
}

static void flip(tpa_pcrs *p, uint16_t alg, unsigned k)
{
	const uint8_t *v;
	uint8_t w[64];
	size_t vl;
	assert_int_equal(tpa_pcrs_get(p, alg, k, &v, &vl), TPA_OK);
	memcpy(w, v, vl);
	w[0] ^= 1;
	assert_int_equal(tpa_pcrs_set(p, alg, k, w, vl), TPA_OK);
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;
	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0 && n < 64l * 1024 * 1024);
	rewind(f);
	assert_non_null(b = malloc((size_t)n + 1));
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

static uint32_t logged_mask(const tpa_eventlog *log)
{
	uint32_t m = 0;
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		if (tpa_event_type(ev) != TPA_EV_NO_ACTION)
			m |= 1u << tpa_event_pcr(ev);
	}
	return m;
}

/* ---- real machines, all 24 PCRs ---- */

/* The go-tpm-tools machines (six GCE VMs, a bare-metal host, a workstation),
 * PCR values read from their TPMs, quoted over all 24 PCRs of every recorded
 * bank after IMA extended PCR 10 and something PCR 16, DRTM PCRs 17-22 at
 * 0xff..ff, the rest at zero, as a real GCE VM's quote.  glinux-alex is a
 * Boot Guard laptop whose S-CRTM contents event in PCR 0 hashes to a
 * separator's digest (refused by eventlog_rules until the adversarial
 * review of issue 7). */
static void test_real_machines_all_pcrs(void **st)
{
	static const char *const machines[] = {
	        "cos-101-amd-sev",
	        "rhel8-uefi",
	        "ubuntu-2104-no-dbx",
	        "ubuntu-2404-amd-sevsnp",
	        "eventlogwithsp800155",
	        "debian-10",
	        "gdc-host",
	        "arch-linux-workstation",
	        "glinux-alex",
	};
	(void)st;
	if (!gtt_dir) {
		print_message("SKIP: ../shared/eventlogs/go-tpm-tools is absent\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		char path[1024], want[512];
		size_t loglen, jlen, nvals = 0, wl = 0;
		uint8_t *logbuf;
		char *js;
		tpa_eventlog *log = NULL;
		tpa_pcrs *exp = NULL, *claimed = NULL;
		tpa_parse_error pe;
		tpa_result *res;
		tpa_policy *pol = NULL;
		uint32_t logged;
		uint16_t last = 0;
		char pj[512], why[256];
		const uint8_t *v10;
		size_t l10;
		struct run_opts o = {.log = NULL};

		snprintf(path, sizeof(path), "%s/%s.bin", gtt_dir, machines[i]);
		assert_non_null(logbuf = slurp(path, &loglen));
		assert_int_equal(tpa_eventlog_parse(logbuf, loglen, &log, &pe), TPA_OK);
		snprintf(path, sizeof(path), "%s/%s.expected.json", gtt_dir, machines[i]);
		assert_non_null(js = slurp(path, &jlen));
		assert_int_equal(tpa_pcrs_from_json(js, jlen, &exp, NULL), TPA_OK);
		logged = logged_mask(log);
		o.log = log;

		assert_int_equal(tpa_pcrs_new(&claimed), TPA_OK);
		for (size_t b = 0; b < tpa_pcrs_bank_count(exp); b++) {
			uint16_t alg = tpa_pcrs_bank_alg(exp, b);
			last = alg;
			for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
				const uint8_t *v;
				size_t vl;
				if (tpa_pcrs_get(exp, alg, k, &v, &vl) == TPA_OK) {
					/* the machine's TPM values are exactly its logged PCRs */
					assert_true(logged >> k & 1);
					assert_int_equal(tpa_pcrs_set(claimed, alg, k, v, vl),
					                 TPA_OK);
					nvals++;
				} else {
					assert_false(logged >> k & 1);
					if (k == 10)
						set_extended(claimed, alg, k, "ima boot_aggregate");
					else if (k == 16)
						set_extended(claimed, alg, k, "debug");
					else
						set_fill(claimed, alg, k,
						         k >= 17 && k <= 22 ? 0xff : 0);
				}
			}
		}
		/* accepted; PCR 10 and 16 named as not covered, in every bank */
		res = verify(claimed, &o);
		for (size_t c = 0; tpa_result_verdict(res) != TPA_OK && c < tpa_result_count(res);
		     c++) {
			const char *cn, *cr;
			tpa_check_status cs;
			assert_int_equal(tpa_result_check(res, c, &cn, &cs, &cr), TPA_OK);
			if (cs == TPA_CHECK_FAIL || cs == TPA_CHECK_NOT_RUN)
				fail_msg("%s refused: %s: %s", machines[i], cn, cr);
		}
		wl = (size_t)snprintf(want, sizeof(want),
		                      "the log replays to all %zu quoted values it covers; not "
		                      "covered by the event log: PCR 10, 16 (",
		                      nvals);
		for (size_t b = 0; b < tpa_pcrs_bank_count(exp); b++)
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%s", b ? ", " : "",
			                       tpa_alg_name(tpa_pcrs_bank_alg(exp, b)));
		snprintf(want + wl, sizeof(want) - wl, ")");
		check_is(res, "eventlog_replay", TPA_CHECK_PASS, want);
		check_is(res, "eventlog_rules", TPA_CHECK_PASS, NULL);
		for (size_t b = 0; b < tpa_pcrs_bank_count(exp); b++)
			assert_int_equal(tpa_result_uncovered_pcrs(res, tpa_pcrs_bank_alg(exp, b)),
			                 1u << 10 | 1u << 16);
		assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA512), 0);
		tpa_result_free(&res);

		/* a policy pinning PCR 10 to its value before IMA: refused there */
		snprintf(pj, sizeof(pj),
		         "{\"version\":%d,\"pcrs\":{\"%s\":[10]},\"pcr_values\":{\"%s\":{\"10\":"
		         "[\"%0*d\"]}}}",
		         TPA_POLICY_VERSION, tpa_alg_name(last), tpa_alg_name(last),
		         (int)(2 * tpa_alg_digest_size(last)), 0);
		assert_int_equal(tpa_policy_from_json(pj, strlen(pj), &pol, why, sizeof(why)),
		                 TPA_OK);
		o.policy = pol;
		res = verify(claimed, &o);
		assert_int_equal(tpa_result_verdict(res), TPA_E_POLICY);
		check_is(res, "eventlog_replay", TPA_CHECK_PASS, want);
		assert_int_equal(tpa_pcrs_get(claimed, last, 10, &v10, &l10), TPA_OK);
		snprintf(want, sizeof(want),
		         "rule pcr_values: PCR 10 (%s) is %02x%02x%02x%02x%02x%02x%02x%02x..., not "
		         "one of the 1 allowed values",
		         tpa_alg_name(last), v10[0], v10[1], v10[2], v10[3], v10[4], v10[5], v10[6],
		         v10[7]);
		check_is(res, "policy_pcr_values", TPA_CHECK_FAIL, want);
		tpa_result_free(&res);
		tpa_policy_free(&pol);
		o.policy = NULL;

		/* PCRs the log covers still replay exactly: PCR 4 and PCR 3 */
		flip(claimed, last, 4);
		res = verify(claimed, &o);
		assert_int_equal(tpa_result_verdict(res), TPA_E_REPLAY);
		snprintf(want, sizeof(want),
		         "the log replays PCR 4 (%s) to a value other than the quoted one",
		         tpa_alg_name(last));
		check_is(res, "eventlog_replay", TPA_CHECK_FAIL, want);
		tpa_result_free(&res);
		flip(claimed, last, 4);
		flip(claimed, last, 3);
		res = verify(claimed, &o);
		assert_int_equal(tpa_result_verdict(res), TPA_E_REPLAY);
		snprintf(want, sizeof(want),
		         "the log replays PCR 3 (%s) to a value other than the quoted one",
		         tpa_alg_name(last));
		check_is(res, "eventlog_replay", TPA_CHECK_FAIL, want);
		tpa_result_free(&res);

		tpa_pcrs_free(&claimed);
		tpa_pcrs_free(&exp);
		tpa_eventlog_free(&log);
		free(js);
		free(logbuf);
	}
}

/* ---- small logs ---- */

/* A crypto-agile log (sha1, sha256) with one separator in each of PCRs 0-2
 * and 4-7 (none in PCR 3) and an EV_IPL in PCR 9; *vals gets its replay. */
static tpa_eventlog *small_log(lb *b, tpa_pcrs **vals)
{
	static const uint16_t algs[] = {TPA_ALG_SHA1, TPA_ALG_SHA256};
	static const uint8_t sep[4] = {0, 0, 0, 0};
	static const char ipl[] = "grub_cmd: linux /vmlinuz";
	tpa_eventlog *log = NULL;
	tpa_parse_error pe;
	lb_specid_default(b);
	for (unsigned k = 0; k < 8; k++)
		if (k != 3)
			lb_ev2(b, k, TPA_EV_SEPARATOR, sep, sizeof(sep));
	lb_ev2(b, 9, TPA_EV_IPL, ipl, sizeof(ipl) - 1);
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, &pe), TPA_OK);
	assert_int_equal(tpa_pcrs_new(vals), TPA_OK);
	for (size_t a = 0; a < 2; a++) {
		size_t n = tpa_alg_digest_size(algs[a]);
		for (unsigned k = 0; k < 10; k++) {
			uint8_t v[64] = {0}, d[64];
			if (k == 3 || k == 8)
				continue;
			if (k == 9)
				assert_true(lb_hash(algs[a], ipl, sizeof(ipl) - 1, d));
			else
				assert_true(lb_hash(algs[a], sep, sizeof(sep), d));
			lb_extend(algs[a], v, n, d);
			assert_int_equal(tpa_pcrs_set(*vals, algs[a], k, v, n), TPA_OK);
		}
	}
	return log;
}

/* claimed := the sha256 bank (and sha1 if both) of PCRs 0-23: the log's
 * values, everything else at reset. */
static tpa_pcrs *all24(const tpa_pcrs *vals, int both)
{
	tpa_pcrs *p = NULL;
	static const uint16_t algs[] = {TPA_ALG_SHA256, TPA_ALG_SHA1};
	assert_int_equal(tpa_pcrs_new(&p), TPA_OK);
	for (int a = 0; a < (both ? 2 : 1); a++)
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_get(vals, algs[a], k, &v, &vl) == TPA_OK)
				assert_int_equal(tpa_pcrs_set(p, algs[a], k, v, vl), TPA_OK);
			else
				set_fill(p, algs[a], k, k >= 17 && k <= 22 ? 0xff : 0);
		}
	return p;
}

static void test_pcrs_0_7_must_be_explained(void **st)
{
	lb *b = lb_new();
	tpa_pcrs *vals = NULL, *p;
	tpa_eventlog *log = small_log(b, &vals);
	struct run_opts o = {.log = log};
	tpa_result *res;
	(void)st;

	/* PCR 3 without events but at its reset value: nothing to explain */
	p = all24(vals, 0);
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	check_is(res, "eventlog_replay", TPA_CHECK_PASS,
	         "the log replays to all 8 quoted values it covers");
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA256), 0);
	tpa_result_free(&res);

	/* PCR 3 extended, the log silent about it: PCRs 0-7 are the log's */
	set_extended(p, TPA_ALG_SHA256, 3, "an unlogged option ROM");
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_E_REPLAY);
	check_is(res, "eventlog_replay", TPA_CHECK_FAIL,
	         "PCR 3 (sha256) was extended but the log has no event for it");
	tpa_result_free(&res);
	tpa_pcrs_free(&p);

	/* PCR 9 has events: it must replay exactly, like PCRs 0-7 */
	p = all24(vals, 0);
	flip(p, TPA_ALG_SHA256, 9);
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_E_REPLAY);
	check_is(res, "eventlog_replay", TPA_CHECK_FAIL,
	         "the log replays PCR 9 (sha256) to a value other than the quoted one");
	/* what is uncovered is still known when the replay fails elsewhere */
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA256), 0);
	tpa_result_free(&res);
	tpa_pcrs_free(&p);

	tpa_pcrs_free(&vals);
	tpa_eventlog_free(&log);
	free(b);
}

static void test_uncovered_listed(void **st)
{
	lb *b = lb_new();
	tpa_pcrs *vals = NULL, *p;
	tpa_eventlog *log = small_log(b, &vals);
	struct run_opts o = {.log = log};
	tpa_result *res;
	(void)st;

	/* PCR 8 (no events in this log), 10, 11, and a DRTM launch that
	 * reset 17-22 to zero and extended 17; 23 used and reset again */
	p = all24(vals, 1);
	set_extended(p, TPA_ALG_SHA256, 8, "kernel command line");
	set_extended(p, TPA_ALG_SHA256, 10, "ima");
	set_extended(p, TPA_ALG_SHA256, 11, "systemd-stub");
	for (unsigned k = 17; k <= 22; k++)
		set_fill(p, TPA_ALG_SHA256, k, 0);
	set_extended(p, TPA_ALG_SHA1, 10, "ima");
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	check_is(res, "eventlog_replay", TPA_CHECK_PASS,
	         "the log replays to all 16 quoted values it covers; not covered by the "
	         "event log: PCR 8, 10, 11, 17-22 (sha256); PCR 10 (sha1)");
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA256),
	                 1u << 8 | 1u << 10 | 1u << 11 | 0x3fu << 17);
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA1), 1u << 10);
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA384), 0);
	tpa_result_free(&res);

	/* the same set in both banks is listed once; two in a row are not a range */
	set_extended(p, TPA_ALG_SHA1, 8, "kernel command line");
	set_extended(p, TPA_ALG_SHA1, 11, "systemd-stub");
	for (unsigned k = 17; k <= 22; k++)
		set_fill(p, TPA_ALG_SHA1, k, 0);
	set_extended(p, TPA_ALG_SHA1, 23, "app");
	set_extended(p, TPA_ALG_SHA256, 23, "app");
	set_extended(p, TPA_ALG_SHA1, 22, "x");
	set_fill(p, TPA_ALG_SHA1, 17, 0xff);
	set_fill(p, TPA_ALG_SHA256, 17, 0xff);
	set_fill(p, TPA_ALG_SHA256, 18, 0xff);
	set_fill(p, TPA_ALG_SHA1, 18, 0xff);
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	check_is(res, "eventlog_replay", TPA_CHECK_PASS,
	         "the log replays to all 16 quoted values it covers; not covered by the "
	         "event log: PCR 8, 10, 11, 19-23 (sha256, sha1)");
	tpa_result_free(&res);
	tpa_pcrs_free(&p);

	/* without a log, nothing is called uncovered */
	p = all24(vals, 0);
	set_extended(p, TPA_ALG_SHA256, 10, "ima");
	o.log = NULL;
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	check_is(res, "eventlog_replay", TPA_CHECK_SKIPPED, NULL);
	assert_int_equal(tpa_result_uncovered_pcrs(res, TPA_ALG_SHA256), 0);
	assert_int_equal(tpa_result_uncovered_pcrs(NULL, TPA_ALG_SHA256), 0);
	tpa_result_free(&res);
	tpa_pcrs_free(&p);

	tpa_pcrs_free(&vals);
	tpa_eventlog_free(&log);
	free(b);
}

/* Four banks, each a different scatter of PCRs 8-23: the reason stays
 * within its buffer, ends in "..." when cut, and the masks stay whole. */
static void test_uncovered_reason_bounded(void **st)
{
	static const uint16_t algs[] = {TPA_ALG_SHA1, TPA_ALG_SHA256, TPA_ALG_SHA384,
	                                TPA_ALG_SHA512};
	tpa_pcrs *p = NULL;
	lb *b = lb_new();
	tpa_pcrs *vals = NULL;
	tpa_eventlog *log = small_log(b, &vals);
	struct run_opts o = {.log = log};
	tpa_result *res;
	const char *why;
	tpa_check_status s;
	(void)st;
	assert_int_equal(tpa_pcrs_new(&p), TPA_OK);
	for (size_t a = 0; a < 4; a++)
		for (unsigned k = 10; k < TPA_PCR_COUNT; k++) {
			if ((k + a) % 2)
				set_extended(p, algs[a], k, "x");
			else
				set_fill(p, algs[a], k, k >= 17 && k <= 22 ? 0xff : 0);
		}
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	assert_int_equal(tpa_result_find(res, "eventlog_replay", &s, &why), TPA_OK);
	assert_int_equal(s, TPA_CHECK_PASS);
	assert_true(strlen(why) < 320);
	assert_string_equal(why, "the log replays to all 0 quoted values it covers; not covered "
	                         "by the event log: PCR 11, 13, 15, 17, 19, 21, 23 (sha1, "
	                         "sha384); PCR 10, 12, 14, 16, 18, 20, 22 (sha256, sha512)");
	for (size_t a = 0; a < 4; a++)
		assert_int_equal(tpa_result_uncovered_pcrs(res, algs[a]),
		                 a % 2 ? 0x555400u : 0xaaa800u);
	tpa_result_free(&res);
	tpa_pcrs_free(&p);
	tpa_pcrs_free(&vals);
	tpa_eventlog_free(&log);
	free(b);
}

/* Every bank the library knows, each with its own set: the list is cut
 * with "..." inside the reason buffer; the masks stay exact. */
static void test_uncovered_reason_cut(void **st)
{
	static const uint16_t algs[] = {TPA_ALG_SHA1,     TPA_ALG_SHA256,  TPA_ALG_SHA384,
	                                TPA_ALG_SHA512,   TPA_ALG_SM3_256, TPA_ALG_SHA3_256,
	                                TPA_ALG_SHA3_384, TPA_ALG_SHA3_512};
	static const char prefix[] = "the log replays to all 0 quoted values it covers; not "
	                             "covered by the event log: PCR ";
	lb *b = lb_new();
	tpa_pcrs *vals = NULL, *p = NULL;
	tpa_eventlog *log = small_log(b, &vals);
	struct run_opts o = {.log = log};
	tpa_result *res;
	const char *why;
	tpa_check_status s;
	size_t n;
	(void)st;
	assert_int_equal(tpa_pcrs_new(&p), TPA_OK);
	for (size_t a = 0; a < 8; a++)
		for (unsigned k = 10; k < TPA_PCR_COUNT; k++)
			/* bank a: every other PCR from 10 + a%2, and PCR 10 + a/2 */
			set_fill(p, algs[a], k,
			         ((k - 10 + a) % 2 == 0 || k == 10 + a / 2) ? 0x42
			         : k >= 17 && k <= 22                       ? 0xff
			                                                    : 0);
	res = verify(p, &o);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	assert_int_equal(tpa_result_find(res, "eventlog_replay", &s, &why), TPA_OK);
	assert_int_equal(s, TPA_CHECK_PASS);
	n = strlen(why);
	assert_true(n < 320);
	assert_memory_equal(why, prefix, sizeof(prefix) - 1);
	assert_string_equal(why + n - 3, "...");
	for (size_t a = 0; a < 8; a++) {
		uint32_t m = 1u << (10 + a / 2);
		for (unsigned k = 10; k < TPA_PCR_COUNT; k++)
			if ((k - 10 + a) % 2 == 0)
				m |= 1u << k;
		assert_int_equal(tpa_result_uncovered_pcrs(res, algs[a]), m);
	}
	tpa_result_free(&res);
	tpa_pcrs_free(&p);
	tpa_pcrs_free(&vals);
	tpa_eventlog_free(&log);
	free(b);
}

/* ---- the counter's name ---- */

static void test_counter_name_alg(void **st)
{
	static const struct {
		uint8_t alg[2];
		uint16_t len;
		int want;
		const char *reason;
	} cases[] = {
	        {{0x00, 0x10},
	         2,
	         TPA_E_MALFORMED,
	         "the certified NV index name's nameAlg 0x0010 is TPM_ALG_NULL, not a hash "
	         "algorithm"},
	        {{0x00, 0x10},
	         34,
	         TPA_E_MALFORMED,
	         "the certified NV index name's nameAlg 0x0010 is TPM_ALG_NULL, not a hash "
	         "algorithm"},
	        {{0x12, 0x34},
	         2,
	         TPA_E_MALFORMED,
	         "the certified NV index name's nameAlg 0x1234 is not a known hash algorithm"},
	        {{0x12, 0x34},
	         34,
	         TPA_E_MALFORMED,
	         "the certified NV index name's nameAlg 0x1234 is not a known hash algorithm"},
	        {{0x00, 0x0b},
	         22,
	         TPA_E_MALFORMED,
	         "the certified NV index name is not a name: 22 bytes, not 2 + the 32 of a "
	         "sha256 digest"},
	        {{0x00, 0x0b},
	         1,
	         TPA_E_MALFORMED,
	         "the certified NV index name is not a name (1 bytes)"},
	        {{0x00, 0x0b},
	         34,
	         TPA_OK,
	         "NV counter 7 certified over the nonce (first value seen)"},
	        {{0x00, 0x04},
	         22,
	         TPA_OK,
	         "NV counter 7 certified over the nonce (first value seen)"},
	};
	lb *b = lb_new();
	tpa_pcrs *vals = NULL, *p;
	tpa_eventlog *log = small_log(b, &vals);
	tpa_state prev = {.has_counter = 1, .counter = 3, .counter_name_len = 2};
	(void)st;
	p = all24(vals, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t name[sizeof(((TPM2B_NAME *)0)->name)];
		struct signed_attest c;
		struct run_opts o = {.log = log, .counter = &c};
		tpa_result *res;
		const tpa_state *next;
		memset(name, 0x5a, sizeof(name));
		memcpy(name, cases[i].alg, 2);
		counter_of(7, name, cases[i].len, &c);
		res = verify(p, &o);
		if (tpa_result_verdict(res) != cases[i].want)
			fail_msg("case %zu: verdict %d, want %d", i, tpa_result_verdict(res),
			         cases[i].want);
		check_is(res, "counter", cases[i].want == TPA_OK ? TPA_CHECK_PASS : TPA_CHECK_FAIL,
		         cases[i].reason);
		next = tpa_result_next_state(res);
		if (cases[i].want == TPA_OK) {
			assert_true(next->has_counter);
			assert_int_equal(next->counter_name_len, cases[i].len);
			assert_memory_equal(next->counter_name, name, cases[i].len);
		} else {
			/* nothing of it is remembered */
			assert_false(next->has_counter);
			assert_int_equal(next->counter_name_len, 0);
		}
		tpa_result_free(&res);
		if (cases[i].want == TPA_OK)
			continue;
		/* ... nor when a state already holds such a name (the
		 * qualified_signer check fails first there: no EK given) */
		if (cases[i].len == 2) {
			memcpy(prev.counter_name, name, 2);
			o.previous = &prev;
			res = verify(p, &o);
			assert_int_not_equal(tpa_result_verdict(res), TPA_OK);
			check_is(res, "counter", TPA_CHECK_FAIL, cases[i].reason);
			tpa_result_free(&res);
		}
	}
	tpa_pcrs_free(&p);
	tpa_pcrs_free(&vals);
	tpa_eventlog_free(&log);
	free(b);
}

/* ---- log rules on real machines' shapes (adversarial review, issue 7) ---- */

struct lev {
	uint32_t pcr, type;
	const void *data;
	size_t len;
};

/* Verifies a log of these events (crypto-agile, sha1 + sha256) under a
 * quote of PCRs 0-9 with the values the log replays to. */
static tpa_result *verify_events(const struct lev *evs, size_t n)
{
	lb *b = lb_new();
	tpa_eventlog *log = NULL;
	tpa_parse_error pe;
	tpa_pcrs *rep = NULL, *claimed = NULL;
	struct run_opts o;
	tpa_result *res;
	lb_specid_default(b);
	for (size_t i = 0; i < n; i++)
		lb_ev2(b, evs[i].pcr, evs[i].type, evs[i].data, evs[i].len);
	assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, &pe), TPA_OK);
	assert_int_equal(tpa_eventlog_replay(log, &rep), TPA_OK);
	assert_int_equal(tpa_pcrs_new(&claimed), TPA_OK);
	for (size_t a = 0; a < 2; a++) {
		uint16_t alg = a ? TPA_ALG_SHA256 : TPA_ALG_SHA1;
		for (unsigned k = 0; k < 10; k++) {
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_get(rep, alg, k, &v, &vl) == TPA_OK)
				assert_int_equal(tpa_pcrs_set(claimed, alg, k, v, vl), TPA_OK);
			else
				set_fill(claimed, alg, k, 0);
		}
	}
	memset(&o, 0, sizeof(o));
	o.log = log;
	res = verify(claimed, &o);
	tpa_pcrs_free(&claimed);
	tpa_pcrs_free(&rep);
	tpa_eventlog_free(&log);
	free(b);
	return res;
}

/* UEFI_VARIABLE_DATA for a variable of this GUID and ASCII name. */
static size_t uvar(uint8_t *out, const uint8_t guid[16], const char *name, const void *data,
                   size_t dlen)
{
	size_t nl = strlen(name), off = 32;
	memcpy(out, guid, 16);
	for (int i = 0; i < 8; i++) {
		out[16 + i] = (uint8_t)((uint64_t)nl >> (8 * i));
		out[24 + i] = (uint8_t)((uint64_t)dlen >> (8 * i));
	}
	for (size_t i = 0; i < nl; i++) {
		out[off++] = (uint8_t)name[i];
		out[off++] = 0;
	}
	memcpy(out + off, data, dlen);
	return off + dlen;
}

static void test_real_log_shapes(void **st)
{
	static const uint8_t zero4[4] = {0};
	static const uint8_t shim_guid[16] = {0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43,
	                                      0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23};
	static const uint8_t imagesec_guid[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	                                          0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
	uint8_t mok[64], db[64];
	size_t mokl = uvar(mok, shim_guid, "MokList", "\x01\x02", 2);
	size_t dbl = uvar(db, imagesec_guid, "db", "", 0);
	struct lev evs[12];
	size_t n;
	tpa_result *res;
	(void)st;

	/* A Boot Guard machine (glinux-alex): PCR 0's S-CRTM contents hash
	 * to H(00000000), a separator's digest, before PCR 0's separator */
	n = 0;
	evs[n++] = (struct lev){0, TPA_EV_S_CRTM_CONTENTS, zero4, 4};
	for (unsigned k = 0; k < 8; k++)
		evs[n++] = (struct lev){k, TPA_EV_SEPARATOR, zero4, 4};
	res = verify_events(evs, n);
	check_is(res, "eventlog_rules", TPA_CHECK_PASS, NULL);
	assert_int_equal(tpa_result_verdict(res), TPA_OK);
	tpa_result_free(&res);

	/* ... but not after PCR 0's separator, nor as another type elsewhere */
	evs[0] = (struct lev){0, TPA_EV_SEPARATOR, zero4, 4};
	evs[1] = (struct lev){0, TPA_EV_S_CRTM_CONTENTS, zero4, 4};
	res = verify_events(evs, n);
	check_is(res, "eventlog_rules", TPA_CHECK_FAIL,
	         "event 1 (PCR 0, EV_S_CRTM_CONTENTS) carries a separator's digest");
	tpa_result_free(&res);
	evs[0] = (struct lev){4, TPA_EV_EFI_ACTION, zero4, 4};
	evs[1] = (struct lev){0, TPA_EV_SEPARATOR, zero4, 4};
	res = verify_events(evs, n);
	check_is(res, "eventlog_rules", TPA_CHECK_FAIL,
	         "event 0 (PCR 4, EV_EFI_ACTION) carries a separator's digest");
	tpa_result_free(&res);

	/* ... nor once PCR 0 has measured something that is not the S-CRTM's:
	 * there it could be PCR 0's real separator, relabelled, with a new
	 * one extended after boot (second adversarial review) */
	evs[0] = (struct lev){0, TPA_EV_S_CRTM_VERSION, "v1", 2};
	evs[1] = (struct lev){0, TPA_EV_POST_CODE, "post", 4};
	evs[2] = (struct lev){0, TPA_EV_S_CRTM_CONTENTS, zero4, 4};
	evs[3] = (struct lev){0, TPA_EV_POST_CODE, "after boot", 10};
	evs[4] = (struct lev){0, TPA_EV_SEPARATOR, zero4, 4};
	for (unsigned k = 1; k < 8; k++)
		evs[4 + k] = (struct lev){k, TPA_EV_SEPARATOR, zero4, 4};
	res = verify_events(evs, 12);
	check_is(res, "eventlog_rules", TPA_CHECK_FAIL,
	         "event 2 (PCR 0, EV_S_CRTM_CONTENTS) carries a separator's digest");
	tpa_result_free(&res);
	/* the S-CRTM's own events first, then the FIT entry: still fine */
	evs[1] = (struct lev){0, TPA_EV_S_CRTM_CONTENTS, "fit", 3};
	evs[3] = (struct lev){0, TPA_EV_POST_CODE, "post", 4};
	res = verify_events(evs, 12);
	check_is(res, "eventlog_rules", TPA_CHECK_PASS, NULL);
	tpa_result_free(&res);

	/* shim measures MokList after PCR 7's separator (ibmtss deb1) */
	n = 0;
	for (unsigned k = 0; k < 8; k++)
		evs[n++] = (struct lev){k, TPA_EV_SEPARATOR, zero4, 4};
	evs[n++] = (struct lev){7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, mok, mokl};
	res = verify_events(evs, n);
	check_is(res, "eventlog_rules", TPA_CHECK_PASS, NULL);
	tpa_result_free(&res);
	/* a secure-boot variable there is still refused */
	evs[n - 1] = (struct lev){7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, db, dbl};
	res = verify_events(evs, n);
	check_is(res, "eventlog_rules", TPA_CHECK_FAIL,
	         "event 8: a secure-boot variable (SecureBoot, PK, KEK, db or dbx) measured after "
	         "PCR7's separator");
	tpa_result_free(&res);
}

static int setup(void **st)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	(void)st;
	if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_CTX_set_group_name(c, "P-256") <= 0 ||
	    EVP_PKEY_keygen(c, &key) <= 0)
		return -1;
	EVP_PKEY_CTX_free(c);
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0x30 + i);
	ak = make_ak();
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	tpa_ak_free(&ak);
	EVP_PKEY_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	char probe[1024];
	FILE *f;
	/* tss2-mu logs refused input to stderr; the test expects refusals. */
	setenv("TSS2_LOG", "all+NONE", 1);
	if (argc > 1) {
		snprintf(probe, sizeof(probe), "%s/cos-101-amd-sev.bin", argv[1]);
		if ((f = fopen(probe, "rb"))) {
			fclose(f);
			gtt_dir = argv[1];
		}
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_real_machines_all_pcrs),
	        cmocka_unit_test(test_pcrs_0_7_must_be_explained),
	        cmocka_unit_test(test_uncovered_listed),
	        cmocka_unit_test(test_uncovered_reason_bounded),
	        cmocka_unit_test(test_uncovered_reason_cut),
	        cmocka_unit_test(test_counter_name_alg),
	        cmocka_unit_test(test_real_log_shapes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
