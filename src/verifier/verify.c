/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The verification engine (DESIGN.md, "Flow of one attestation", step 4).
 * Order matters: nothing the quote says is read before its signature
 * verified, and no quote field is read before the type says it is a quote
 * (TPM 2.0 Part 2, 10.12.12: TPMS_ATTEST is a union on type).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

#include "ak_internal.h"
#include "attest.h"
#include "base/hash.h"
#include "policy_internal.h"

#define MAX_CHECKS 24
#define REASON_MAX 320

struct check {
	const char *name;
	tpa_check_status status;
	int err;
	char reason[REASON_MAX];
};

struct tpa_result {
	struct check c[MAX_CHECKS];
	size_t n;
	int verdict;
	tpa_state next;
	tpa_pcrs *quoted;
	/* per quoted bank: PCRs >= 8 extended without an event in the log */
	uint16_t uncovered_alg[TPA_MAX_BANKS];
	uint32_t uncovered[TPA_MAX_BANKS];
	size_t n_uncovered;
	/* the checks the log decided (tpa_log_memo): [log_from, log_to) from
	 * the log's replay and rules, [pol_from, pol_to) from the policy;
	 * log_ran: 1 on a log, 2 from a memo */
	size_t log_from, log_to, pol_from, pol_to;
	int log_ran;
};

struct memo_check {
	const char *name; /* a string literal of the engine's */
	tpa_check_status status;
	int err;
	const char *reason; /* in text */
};

struct tpa_log_memo {
	uint8_t key[32];
	size_t n_log, n_pol;
	struct memo_check *c; /* n_log + n_pol, right after the struct, then the text */
	uint16_t uncovered_alg[TPA_MAX_BANKS];
	uint32_t uncovered[TPA_MAX_BANKS];
	size_t n_uncovered;
	size_t size;
};

static void add(tpa_result *r, const char *name, tpa_check_status st, int err, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void add(tpa_result *r, const char *name, tpa_check_status st, int err, const char *fmt, ...)
{
	struct check *c;
	va_list ap;
	if (r->n == MAX_CHECKS) {
		/* a check that cannot be recorded cannot be shown to have passed */
		if (r->verdict == TPA_OK)
			r->verdict = TPA_E_POLICY;
		return;
	}
	c = &r->c[r->n++];
	c->name = name;
	c->status = st;
	c->err = st == TPA_CHECK_PASS || st == TPA_CHECK_SKIPPED ? TPA_OK : err;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	if (c->err != TPA_OK && r->verdict == TPA_OK)
		r->verdict = c->err;
}

static void not_run(tpa_result *r, const char *name, int err, const char *because)
{
	add(r, name, TPA_CHECK_NOT_RUN, err, "not run: %s", because);
}

/* ---- the quote ---- */

/* The (bank, PCR) set claimed by the caller, as one mask per bank. */
static int claimed_mask(const tpa_pcrs *p, uint16_t alg)
{
	uint32_t m = 0;
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
		if (tpa_pcrs_get(p, alg, k, NULL, NULL) == TPA_OK)
			m |= 1u << k;
	return (int)m;
}

/* Part 2, 10.6.2: the signed selection must be exactly what was asked for:
 * same banks, same PCRs, no bank twice, none empty.  Otherwise values of
 * resettable PCRs could be presented as PCR0 and PCR1. */
static int check_selection(tpa_result *res, const TPML_PCR_SELECTION *sel, const tpa_pcrs *pcrs)
{
	char why[REASON_MAX] = "";

	if (sel->count == 0) {
		snprintf(why, sizeof(why), "the quote selects no PCR");
		goto fail;
	}
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		const char *bn = tpa_alg_name(s->hash) ? tpa_alg_name(s->hash) : "an unknown bank";
		uint32_t mask = 0, cm;
		for (unsigned bit = 0; bit < 8u * s->sizeofSelect; bit++) {
			if (!(s->pcrSelect[bit / 8] & (1u << (bit % 8))))
				continue;
			if (bit >= TPA_PCR_COUNT) {
				snprintf(why, sizeof(why),
				         "the quote selects PCR %u of %s, beyond PCR 23", bit, bn);
				goto fail;
			}
			mask |= 1u << bit;
		}
		for (uint32_t j = 0; j < i; j++)
			if (sel->pcrSelections[j].hash == s->hash) {
				snprintf(why, sizeof(why),
				         "the quote lists %s twice in its selection", bn);
				goto fail;
			}
		if (!mask) {
			snprintf(why, sizeof(why), "the quote's selection of %s is empty", bn);
			goto fail;
		}
		cm = (uint32_t)claimed_mask(pcrs, s->hash);
		if (cm != mask) {
			int d = __builtin_ctz(cm ^ mask);
			snprintf(
			        why, sizeof(why),
			        "PCR %d of %s is %s the signed selection but %s the claimed values",
			        d, bn, (mask >> d) & 1 ? "in" : "not in",
			        (cm >> d) & 1 ? "in" : "not in");
			goto fail;
		}
	}
	for (size_t b = 0; b < tpa_pcrs_bank_count(pcrs); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(pcrs, b);
		uint32_t i;
		if (!claimed_mask(pcrs, alg))
			continue;
		for (i = 0; i < sel->count && sel->pcrSelections[i].hash != alg; i++)
			;
		if (i == sel->count) {
			snprintf(why, sizeof(why),
			         "values are claimed for %s but the quote does not cover that bank",
			         tpa_alg_name(alg));
			goto fail;
		}
	}
	add(res, "pcr_selection", TPA_CHECK_PASS, TPA_OK,
	    "the signed selection is exactly the claimed PCRs");
	return TPA_OK;
fail:
	add(res, "pcr_selection", TPA_CHECK_FAIL, TPA_E_SELECTION, "%s", why);
	return TPA_E_SELECTION;
}

static int check_pcr_digest(tpa_result *res, const TPMS_QUOTE_INFO *q, const tpa_pcrs *pcrs,
                            uint16_t hash)
{
	const EVP_MD *md = tpa_md(hash);
	EVP_MD_CTX *ctx;
	uint8_t d[TPA_MAX_DIGEST];
	unsigned dl = 0;
	int ok;

	if (!md || !(ctx = EVP_MD_CTX_new())) {
		not_run(res, "pcr_digest", TPA_E_CRYPTO, "cannot hash");
		return TPA_E_CRYPTO;
	}
	/* Part 1, 18.5.2: banks in selection order, PCRs ascending. */
	ok = EVP_DigestInit_ex2(ctx, md, NULL);
	for (uint32_t i = 0; ok && i < q->pcrSelect.count; i++) {
		const TPMS_PCR_SELECTION *s = &q->pcrSelect.pcrSelections[i];
		for (unsigned k = 0; ok && k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t vl;
			if (k / 8 >= s->sizeofSelect || !(s->pcrSelect[k / 8] & (1u << (k % 8))))
				continue;
			ok = tpa_pcrs_get(pcrs, s->hash, k, &v, &vl) == TPA_OK &&
			     EVP_DigestUpdate(ctx, v, vl);
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, d, &dl);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		not_run(res, "pcr_digest", TPA_E_CRYPTO, "cannot hash the PCR values");
		return TPA_E_CRYPTO;
	}
	if (q->pcrDigest.size != dl || CRYPTO_memcmp(q->pcrDigest.buffer, d, dl) != 0) {
		add(res, "pcr_digest", TPA_CHECK_FAIL, TPA_E_PCR,
		    "the claimed PCR values do not hash (%s) to the quote's pcrDigest",
		    tpa_alg_name(hash));
		return TPA_E_PCR;
	}
	add(res, "pcr_digest", TPA_CHECK_PASS, TPA_OK,
	    "the claimed PCR values hash (%s) to the signed pcrDigest", tpa_alg_name(hash));
	return TPA_OK;
}

/* ---- the signer ---- */

/* Part 1, 16: QN(object) = nameAlg || H(QN(parent) || Name(object)); a
 * hierarchy's QN is its handle. */
static int qualified_name(uint16_t alg, const uint8_t *parent_qn, size_t plen, const uint8_t *name,
                          size_t nlen, uint8_t out[static 2 + TPA_MAX_DIGEST], size_t *outlen)
{
	size_t d = tpa_alg_digest_size(alg);
	int r;
	if (!d)
		return TPA_E_UNSUPPORTED;
	out[0] = (uint8_t)(alg >> 8);
	out[1] = (uint8_t)alg;
	if ((r = tpa_hash2(NULL, alg, parent_qn, plen, name, nlen, out + 2)) != TPA_OK)
		return r;
	*outlen = 2 + d;
	return TPA_OK;
}

/* Counters and clock are obfuscated in quotes by keys outside the
 * endorsement and platform hierarchies (Part 1, 36.7), so the AK must sit
 * under the EK.  Returns 1 when the check passed. */
static int check_signer(tpa_result *res, const tpa_verify_input *in, const TPM2B_NAME *signer)
{
	static const uint8_t endorsement[4] = {0x40, 0x00, 0x00, 0x0b}; /* TPM_RH_ENDORSEMENT */
	TPMT_PUBLIC ek;
	uint8_t ekname[2 + 64], qn_ek[2 + 64], qn_ak[2 + 64];
	size_t eklen, qelen, qalen;
	const uint8_t *akname;
	size_t aklen;

	if (!in->ek_public) {
		if (in->previous || (in->require & TPA_REQUIRE_SIGNER))
			not_run(res, "qualified_signer", TPA_E_ROLLBACK,
			        "no EK given: without the AK's place in the endorsement hierarchy "
			        "the clock and "
			        "counters in the quote cannot be trusted");
		else
			add(res, "qualified_signer", TPA_CHECK_SKIPPED, TPA_OK,
			    "no EK given: the AK's hierarchy is not checked");
		return 0;
	}
	if (tpa_ak_name(in->ak, &akname, &aklen) != TPA_OK) {
		not_run(res, "qualified_signer", TPA_E_BAD_SIGNATURE,
		        "the AK was given without its TPM public area");
		return 0;
	}
	if (tpa_public_decode(in->ek_public, in->ek_public_len, &ek) != TPA_OK ||
	    tpa_public_name(&ek, ekname, &eklen) != TPA_OK) {
		add(res, "qualified_signer", TPA_CHECK_FAIL, TPA_E_MALFORMED,
		    "the EK is not a TPM2B_PUBLIC or TPMT_PUBLIC");
		return 0;
	}
	if (qualified_name(ek.nameAlg, endorsement, sizeof(endorsement), ekname, eklen, qn_ek,
	                   &qelen) != TPA_OK ||
	    qualified_name(in->ak->pub.nameAlg, qn_ek, qelen, akname, aklen, qn_ak, &qalen) !=
	            TPA_OK) {
		not_run(res, "qualified_signer", TPA_E_CRYPTO, "cannot compute the qualified name");
		return 0;
	}
	if (signer->size != qalen || CRYPTO_memcmp(signer->name, qn_ak, qalen) != 0) {
		add(res, "qualified_signer", TPA_CHECK_FAIL, TPA_E_BAD_SIGNATURE,
		    "the quote's signer is not this AK under this EK in the endorsement hierarchy "
		    "(its clock and "
		    "counters may be obfuscated)");
		return 0;
	}
	add(res, "qualified_signer", TPA_CHECK_PASS, TPA_OK,
	    "the AK is a child of the EK in the endorsement hierarchy");
	return 1;
}

/* ---- freshness ---- */

static void check_clock(tpa_result *res, const TPMS_CLOCK_INFO *ci, const tpa_state *prev)
{
	res->next.has_clock = 1;
	res->next.clock = ci->clock;
	res->next.reset_count = ci->resetCount;
	res->next.restart_count = ci->restartCount;
	res->next.safe = ci->safe == TPM2_YES;
	if (!prev || !prev->has_clock) {
		add(res, "clock", TPA_CHECK_SKIPPED, TPA_OK,
		    "no previous clock to compare with (first attestation)");
		return;
	}
	if (ci->resetCount < prev->reset_count) {
		add(res, "clock", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "resetCount went back from %u to %u", prev->reset_count, ci->resetCount);
		return;
	}
	if (ci->resetCount == prev->reset_count && ci->restartCount < prev->restart_count) {
		add(res, "clock", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "restartCount went back from %u to %u within one reset", prev->restart_count,
		    ci->restartCount);
		return;
	}
	/* Part 2, 10.11.1: safe is YES only if no greater Clock was ever
	 * reported, so a safe Clock at or below one seen before is a TPM
	 * state brought back from the past. */
	if (ci->safe == TPM2_YES && ci->clock <= prev->clock) {
		add(res, "clock", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "clock %llu ms is not past the last accepted %llu ms, yet the TPM says no "
		    "greater value was ever "
		    "reported",
		    (unsigned long long)ci->clock, (unsigned long long)prev->clock);
		return;
	}
	if (ci->resetCount > prev->reset_count) {
		add(res, "clock", TPA_CHECK_PASS, TPA_OK, "new boot: resetCount %u -> %u",
		    prev->reset_count, ci->resetCount);
		return;
	}
	add(res, "clock", TPA_CHECK_PASS, TPA_OK,
	    "resetCount %u, restartCount %u, clock %llu ms: none went back", ci->resetCount,
	    ci->restartCount, (unsigned long long)ci->clock);
}

/* What the older counter cannot show: said in its check's reason, so that
 * every verdict of such a machine names its weaker rollback check. */
#define WEAK_COUNTER                                                                         \
	" (the older counter: anyone on the machine may increment it, so a rolled-back TPM " \
	"pushed forward is not caught; enroll again for the verifier-authorized counter)"

static void check_counter(tpa_result *res, const tpa_verify_input *in)
{
	TPMS_ATTEST a;
	TPMT_SIGNATURE s;
	char why[REASON_MAX] = "";
	uint64_t v = 0;
	const TPMS_NV_CERTIFY_INFO *nv;
	const tpa_state *prev = in->previous;
	uint16_t name_alg;

	if (!in->counter_attest || !in->counter_signature) {
		if ((in->require & TPA_REQUIRE_COUNTER) || (prev && prev->has_counter))
			not_run(res, "counter", TPA_E_ROLLBACK,
			        "the evidence has no certified NV counter");
		else
			add(res, "counter", TPA_CHECK_SKIPPED, TPA_OK,
			    "no certified NV counter was supplied");
		return;
	}
	if (tpa_attest_decode(in->counter_attest, in->counter_attest_len, &a) != TPA_OK ||
	    tpa_signature_decode(in->counter_signature, in->counter_signature_len, &s) != TPA_OK) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_MALFORMED,
		    "the NV certification does not decode");
		return;
	}
	if (tpa_signature_verify(in->ak->pkey, &in->ak->pin, &s, in->counter_attest,
	                         in->counter_attest_len, why, sizeof(why)) != TPA_OK) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_BAD_SIGNATURE, "NV certification: %s",
		    why);
		return;
	}
	if (a.magic != TPM2_GENERATED_VALUE || a.type != TPM2_ST_ATTEST_NV) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_BAD_SIGNATURE,
		    "the NV certification is not a TPM-generated NV_Certify (magic 0x%08x, type "
		    "0x%04x)",
		    a.magic, a.type);
		return;
	}
	if (a.extraData.size != in->nonce_len ||
	    CRYPTO_memcmp(a.extraData.buffer, in->nonce, in->nonce_len) != 0) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_NONCE,
		    "the NV certification is not over this nonce");
		return;
	}
	nv = &a.attested.nv;
	if (nv->offset != 0 || nv->nvContents.size != 8) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "the NV certification covers %u bytes at offset %u, not a whole 8-byte counter",
		    nv->nvContents.size, nv->offset);
		return;
	}
	/* An NV index name is nameAlg || H(TPMS_NV_PUBLIC) (Part 1, 16).  A
	 * nameAlg of TPM_ALG_NULL or one that is not a known hash names nothing
	 * (a 2-byte "name" would pass a length check): remembered, it would
	 * pin the machine to a counter no TPM can certify again. */
	if (nv->indexName.size < 2) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_MALFORMED,
		    "the certified NV index name is not a name (%u bytes)", nv->indexName.size);
		return;
	}
	name_alg = (uint16_t)(nv->indexName.name[0] << 8 | nv->indexName.name[1]);
	if (!tpa_alg_digest_size(name_alg)) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_MALFORMED,
		    "the certified NV index name's nameAlg 0x%04x is %s", name_alg,
		    name_alg == TPM2_ALG_NULL ? "TPM_ALG_NULL, not a hash algorithm"
		                              : "not a known hash algorithm");
		return;
	}
	if (nv->indexName.size != 2 + tpa_alg_digest_size(name_alg) ||
	    nv->indexName.size > sizeof(res->next.counter_name)) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_MALFORMED,
		    "the certified NV index name is not a name: %u bytes, not 2 + the %zu of a %s "
		    "digest",
		    nv->indexName.size, tpa_alg_digest_size(name_alg), tpa_alg_name(name_alg));
		return;
	}
	for (int i = 0; i < 8; i++)
		v = v << 8 | nv->nvContents.buffer[i];
	if (prev && prev->has_counter &&
	    (nv->indexName.size != prev->counter_name_len ||
	     CRYPTO_memcmp(nv->indexName.name, prev->counter_name, prev->counter_name_len) != 0)) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "the certified NV index is not the machine's counter (its name differs from "
		    "the enrolled one)");
		return;
	}
	res->next.has_counter = 1;
	res->next.counter = v;
	memcpy(res->next.counter_name, nv->indexName.name, nv->indexName.size);
	res->next.counter_name_len = nv->indexName.size;
	res->next.counter_auths = 0;
	if (prev && prev->has_counter && v <= prev->counter) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "NV counter %llu is not greater than the last accepted %llu: replayed or "
		    "rolled-back TPM state",
		    (unsigned long long)v, (unsigned long long)prev->counter);
		return;
	}
	/* Only the verifier's authorizations move this kind of counter, one
	 * step each: above last + those issued since, it was moved without
	 * them (THREATS, rolled back then pushed forward). */
	if (in->counter_authorized && prev && prev->has_counter &&
	    v - prev->counter > prev->counter_auths) {
		add(res, "counter", TPA_CHECK_FAIL, TPA_E_ROLLBACK,
		    "NV counter %llu is above the last accepted %llu plus the %llu increments "
		    "this verifier authorized since: moved without its authorization (rolled-back "
		    "or tampered TPM state)",
		    (unsigned long long)v, (unsigned long long)prev->counter,
		    (unsigned long long)prev->counter_auths);
		return;
	}
	/* the authorizations this counter used up are no longer outstanding;
	 * the others still are (issued for sessions not used yet) */
	if (in->counter_authorized && prev && prev->has_counter)
		res->next.counter_auths = prev->counter_auths - (v - prev->counter);
	if (!prev || !prev->has_counter)
		add(res, "counter", TPA_CHECK_PASS, TPA_OK,
		    "NV counter %llu certified over the nonce (first value seen)%s",
		    (unsigned long long)v, in->counter_older ? WEAK_COUNTER : "");
	else if (in->counter_authorized)
		add(res, "counter", TPA_CHECK_PASS, TPA_OK,
		    "NV counter %llu > last accepted %llu, within the %llu increments this "
		    "verifier authorized since",
		    (unsigned long long)v, (unsigned long long)prev->counter,
		    (unsigned long long)prev->counter_auths);
	else
		add(res, "counter", TPA_CHECK_PASS, TPA_OK,
		    "NV counter %llu > last accepted %llu%s", (unsigned long long)v,
		    (unsigned long long)prev->counter, in->counter_older ? WEAK_COUNTER : "");
}

/* ---- the event log ---- */

static int initial_is(const uint8_t *v, size_t len, unsigned pcr)
{
	uint8_t want = pcr >= 17 && pcr <= 22 ? 0xff : 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] != want)
			return 0;
	return 1;
}

/* The PCRs the log has events for (EV_NO_ACTION extends nothing). */
static uint32_t logged_pcrs(const tpa_eventlog *log)
{
	uint32_t m = 0;
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint32_t pcr = tpa_event_pcr(ev);
		if (pcr < TPA_PCR_COUNT && tpa_event_type(ev) != TPA_EV_NO_ACTION)
			m |= 1u << pcr;
	}
	return m;
}

/* Appends to a reason being built; on overflow the text ends in "...". */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (*len >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len) {
		if (cap >= 4)
			memcpy(buf + cap - 4, "...", 4);
		*len = cap;
		return;
	}
	*len += (size_t)n;
}

/* "PCR 10, 16, 17-22 (sha1, sha256); PCR 10 (sha384)": banks with the same
 * set share one list, runs of three or more are ranges. */
static void format_uncovered(char *buf, size_t cap, const tpa_result *res)
{
	size_t len = 0;
	uint32_t done = 0;
	buf[0] = '\0';
	for (size_t b = 0; b < res->n_uncovered; b++) {
		uint32_t m = res->uncovered[b];
		const char *sep = "";
		if (!m || (done >> b & 1))
			continue;
		append(buf, cap, &len, "%sPCR ", len ? "; " : "");
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			unsigned e = k;
			if (!(m >> k & 1))
				continue;
			while (e + 1 < TPA_PCR_COUNT && (m >> (e + 1) & 1))
				e++;
			if (e - k >= 2) {
				append(buf, cap, &len, "%s%u-%u", sep, k, e);
			} else {
				append(buf, cap, &len, "%s%u", sep, k);
				if (e > k)
					append(buf, cap, &len, ", %u", e);
			}
			sep = ", ";
			k = e;
		}
		sep = " (";
		for (size_t c = b; c < res->n_uncovered; c++) {
			const char *an = tpa_alg_name(res->uncovered_alg[c]);
			if (res->uncovered[c] != m)
				continue;
			done |= 1u << c;
			append(buf, cap, &len, "%s%s", sep, an ? an : "an unknown bank");
			sep = ", ";
		}
		append(buf, cap, &len, ")");
	}
}

/*
 * The UEFI log must explain PCRs 0-7 (the platform firmware's: PFP 1.05,
 * "PCR Usage") and every PCR it has events for.  PCRs 8 and up without
 * events are extended after ExitBootServices by software that does not
 * write this log (IMA's PCR 10, systemd's PCR 11 and 15, DRTM's 17-22,
 * PCR 23): they are "not covered by the event log", listed in the reason
 * and in the result, and judged by the policy, not here.  A PCR still at
 * its reset value needs no event.
 */
static void check_replay(tpa_result *res, const tpa_eventlog *log, const tpa_pcrs *quoted)
{
	tpa_pcrs *rep = NULL;
	size_t compared = 0;
	uint16_t banks[TPA_MAX_BANKS];
	size_t nb = tpa_pcrs_bank_count(quoted);
	uint32_t logged = logged_pcrs(log);
	char list[REASON_MAX - 96];
	int r;

	if (nb > TPA_MAX_BANKS) {
		not_run(res, "eventlog_replay", TPA_E_LIMIT, "more quoted banks than supported");
		return;
	}
	for (size_t b = 0; b < nb; b++) {
		uint16_t alg = tpa_pcrs_bank_alg(quoted, b);
		uint32_t m = 0;
		banks[b] = alg;
		for (unsigned k = 8; k < TPA_PCR_COUNT; k++) {
			const uint8_t *q;
			size_t ql;
			if (!(logged >> k & 1) && tpa_pcrs_get(quoted, alg, k, &q, &ql) == TPA_OK &&
			    !initial_is(q, ql, k))
				m |= 1u << k;
		}
		res->uncovered_alg[b] = alg;
		res->uncovered[b] = m;
	}
	res->n_uncovered = nb;
	r = tpa_eventlog_replay_banks(log, banks, nb, &rep);
	if (r != TPA_OK) {
		not_run(res, "eventlog_replay", r, "the log cannot be replayed");
		return;
	}
	for (size_t b = 0; b < nb; b++) {
		uint16_t alg = banks[b];
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *q, *v;
			size_t ql, vl;
			if (tpa_pcrs_get(quoted, alg, k, &q, &ql) != TPA_OK)
				continue;
			if (!(logged >> k & 1)) {
				if (k >= 8 || initial_is(q, ql, k))
					continue;
				add(res, "eventlog_replay", TPA_CHECK_FAIL, TPA_E_REPLAY,
				    "PCR %u (%s) was extended but the log has no event for it", k,
				    tpa_alg_name(alg));
				goto out;
			}
			if (tpa_pcrs_is_incomplete(rep, alg, k) ||
			    tpa_pcrs_get(rep, alg, k, &v, &vl) != TPA_OK) {
				add(res, "eventlog_replay", TPA_CHECK_FAIL, TPA_E_REPLAY,
				    "the log cannot account for PCR %u in the quoted %s bank: %s",
				    k, tpa_alg_name(alg),
				    tpa_pcrs_is_incomplete(rep, alg, k)
				            ? "some of its events lack a digest in that bank"
				            : "the log has no digests in that bank");
				goto out;
			}
			if (vl != ql || CRYPTO_memcmp(v, q, ql) != 0) {
				add(res, "eventlog_replay", TPA_CHECK_FAIL, TPA_E_REPLAY,
				    "the log replays PCR %u (%s) to a value other than the quoted "
				    "one",
				    k, tpa_alg_name(alg));
				goto out;
			}
			compared++;
		}
	}
	format_uncovered(list, sizeof(list), res);
	add(res, "eventlog_replay", TPA_CHECK_PASS, TPA_OK,
	    "the log replays to all %zu quoted values it covers%s%s", compared,
	    list[0] ? "; not covered by the event log: " : "", list);
out:
	tpa_pcrs_free(&rep);
}

/* Well-known strings whose digests must come with their own event type
 * (PFP 1.05, 10.4.4): otherwise a relabelled event could hide a separator or
 * an action the verifier relies on. */
static const char *const action_strings[] = {
        "Calling EFI Application from Boot Option",
        "Returning from EFI Application from Boot Option",
        "Exit Boot Services Invocation",
        "Exit Boot Services Returned with Success",
        "UEFI Debug Mode",
        "Booting BCV Device",
        "Booting BEV Device",
        "Return via INT 18h",
        "Boot Prior to Internal Debug",
};

#define NSEEN (2 + sizeof(action_strings) / sizeof(action_strings[0]))

/* Digests, per bank of the log, of the two separator values and the
 * action strings: computed once per log, compared with every event. */
struct known_digests {
	uint8_t d[TPA_EVENTLOG_MAX_ALGS][NSEEN][TPA_MAX_DIGEST];
	int ok[TPA_EVENTLOG_MAX_ALGS];
};

static void known_digests_init(struct known_digests *k, const tpa_eventlog *log)
{
	static const uint8_t sep0[4] = {0, 0, 0, 0}, sepf[4] = {0xff, 0xff, 0xff, 0xff};
	for (size_t a = 0; a < tpa_eventlog_alg_count(log) && a < TPA_EVENTLOG_MAX_ALGS; a++) {
		uint16_t alg = tpa_eventlog_alg(log, a);
		k->ok[a] = tpa_md(alg) != NULL && tpa_hash(alg, sep0, 4, k->d[a][0]) == TPA_OK &&
		           tpa_hash(alg, sepf, 4, k->d[a][1]) == TPA_OK;
		for (size_t s = 2; k->ok[a] && s < NSEEN; s++)
			k->ok[a] = tpa_hash(alg, (const uint8_t *)action_strings[s - 2],
			                    strlen(action_strings[s - 2]), k->d[a][s]) == TPA_OK;
	}
}

/* crtm_prefix: every PCR 0 event so far was the S-CRTM's (contents,
 * version, H-CRTM).  There an S-CRTM contents event may hash to anything, a
 * separator's digest included (a Boot Guard machine's FIT entry does);
 * anywhere else it could be a relabelled separator. */
static int relabelled(const tpa_eventlog *log, const struct known_digests *k, const tpa_event *ev,
                      int crtm_prefix, char *why, size_t whylen)
{
	uint32_t type = tpa_event_type(ev);
	for (size_t a = 0; a < tpa_eventlog_alg_count(log) && a < TPA_EVENTLOG_MAX_ALGS; a++) {
		size_t dl;
		const uint8_t *d = tpa_event_digest(ev, tpa_eventlog_alg(log, a), &dl);
		if (!d || !k->ok[a])
			continue;
		uint64_t head, kh;
		memcpy(&head, d, sizeof(head));
		for (size_t s = 0; s < NSEEN; s++) {
			/* The digests are public: a quick look at the first eight
			 * bytes, then the whole comparison for a candidate. */
			memcpy(&kh, k->d[a][s], sizeof(kh));
			if (kh != head || CRYPTO_memcmp(k->d[a][s], d, dl) != 0)
				continue;
			if (s < 2 && type != TPA_EV_SEPARATOR &&
			    !(type == TPA_EV_S_CRTM_CONTENTS && tpa_event_pcr(ev) == 0 &&
			      crtm_prefix)) {
				snprintf(why, whylen, "carries a separator's digest");
				return 1;
			}
			if (s >= 2 && type != TPA_EV_EFI_ACTION && type != TPA_EV_ACTION) {
				snprintf(why, whylen, "carries the digest of the action \"%s\"",
				         action_strings[s - 2]);
				return 1;
			}
		}
	}
	return 0;
}

static void check_log_rules(tpa_result *res, const tpa_eventlog *log, const tpa_pcrs *quoted)
{
	unsigned seps[8] = {0};
	int sep_seen7 = 0, pcr0_measured = 0, crtm_prefix = 1;
	char why[160];
	struct known_digests known; /* 11 KiB: fine on the stack, freed on every return */
	uint32_t logged = logged_pcrs(log);

	memset(&known, 0, sizeof(known));
	known_digests_init(&known, log);

	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint32_t pcr = tpa_event_pcr(ev), type = tpa_event_type(ev);
		size_t dlen;
		const uint8_t *data = tpa_event_data(ev, &dlen);
		const char *tn =
		        tpa_event_type_name(type) ? tpa_event_type_name(type) : "an unknown type";

		if (type == TPA_EV_NO_ACTION) {
			if (dlen >= 16 && memcmp(data, "StartupLocality", 16) == 0 &&
			    (pcr != 0 || pcr0_measured)) {
				add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
				    "event %zu: StartupLocality %s (it may only set PCR0's initial "
				    "value)",
				    i, pcr != 0 ? "outside PCR0" : "after PCR0 was extended");
				return;
			}
			continue;
		}
		if (relabelled(log, &known, ev, crtm_prefix, why, sizeof(why))) {
			add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
			    "event %zu (PCR %u, %s) %s", i, pcr, tn, why);
			return;
		}
		if (type == TPA_EV_EFI_HCRTM_EVENT && (pcr != 0 || pcr0_measured)) {
			add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
			    "event %zu: an H-CRTM event that is not PCR0's first measurement", i);
			return;
		}
		if (pcr == 0)
			pcr0_measured = 1;
		if (pcr == 0 && type != TPA_EV_S_CRTM_CONTENTS && type != TPA_EV_S_CRTM_VERSION &&
		    type != TPA_EV_EFI_HCRTM_EVENT)
			crtm_prefix = 0;
		if (type == TPA_EV_SEPARATOR && pcr < 8) {
			if (++seps[pcr] > 1) {
				add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
				    "event %zu: a second separator in PCR %u", i, pcr);
				return;
			}
			if (pcr == 7)
				sep_seen7 = 1;
		}
		/* Only the variables secure boot is judged by: shim measures its
		 * own (MokList, SbatLevel) after the separator. */
		if (pcr == 7 && sep_seen7 && type == TPA_EV_EFI_VARIABLE_DRIVER_CONFIG &&
		    tpa_policy_sb_variable(ev)) {
			add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
			    "event %zu: a secure-boot variable (SecureBoot, PK, KEK, db or dbx) "
			    "measured after PCR7's separator",
			    i);
			return;
		}
	}
	for (unsigned k = 0; k < 8; k++) {
		int quotedk = 0;
		for (size_t b = 0; b < tpa_pcrs_bank_count(quoted); b++)
			quotedk |= tpa_pcrs_get(quoted, tpa_pcrs_bank_alg(quoted, b), k, NULL,
			                        NULL) == TPA_OK;
		if (quotedk && (logged >> k & 1) && seps[k] == 0) {
			add(res, "eventlog_rules", TPA_CHECK_FAIL, TPA_E_REPLAY,
			    "PCR %u has events but no separator: the log stops before the boot "
			    "loader",
			    k);
			return;
		}
	}
	add(res, "eventlog_rules", TPA_CHECK_PASS, TPA_OK,
	    "event types agree with their digests; one separator per PCR 0-7; PCR0's start and "
	    "PCR7's order are as "
	    "the platform firmware profile requires");
}

/* ---- the whole ---- */

/* ---- the log's checks, remembered (verify.h, tpa_log_memo) ---- */

int tpa_log_memo_key(const uint8_t log_sha256[32], const uint8_t *policy_sha256,
                     const tpa_pcrs *pcrs, uint8_t key[32])
{
	static const char label[] = "tpmattest log memo v1";
	EVP_MD_CTX *ctx;
	uint8_t flag = policy_sha256 ? 1 : 0;
	int ok;

	if (!log_sha256 || !pcrs || !key)
		return TPA_E_INVALID_ARG;
	if (!(ctx = EVP_MD_CTX_new()))
		return TPA_E_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, label, sizeof(label)) && EVP_DigestUpdate(ctx, log_sha256, 32) &&
	     EVP_DigestUpdate(ctx, &flag, 1) && (!flag || EVP_DigestUpdate(ctx, policy_sha256, 32));
	for (size_t b = 0; ok && b < tpa_pcrs_bank_count(pcrs); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(pcrs, b);
		uint8_t h[2] = {(uint8_t)(alg >> 8), (uint8_t)alg};
		ok = EVP_DigestUpdate(ctx, h, 2);
		for (unsigned k = 0; ok && k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t vl;
			uint8_t kl[2];
			if (tpa_pcrs_get(pcrs, alg, k, &v, &vl) != TPA_OK)
				continue;
			kl[0] = (uint8_t)k;
			kl[1] = (uint8_t)vl;
			ok = EVP_DigestUpdate(ctx, kl, 2) && EVP_DigestUpdate(ctx, v, vl);
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, key, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? TPA_OK : TPA_E_CRYPTO;
}

void tpa_log_memo_free(tpa_log_memo **memo)
{
	if (!memo || !*memo)
		return;
	free(*memo);
	*memo = NULL;
}

size_t tpa_log_memo_size(const tpa_log_memo *memo)
{
	return memo ? memo->size : 0;
}

/* The log's checks from the memo, when it is this verification's. */
static void apply_memo_log(tpa_result *res, const tpa_verify_input *in)
{
	const tpa_log_memo *m = in->memo;
	uint8_t key[32];

	if (!in->memo_log_sha256 || (in->policy != NULL) != (in->memo_policy_sha256 != NULL) ||
	    tpa_log_memo_key(in->memo_log_sha256, in->memo_policy_sha256, in->pcrs, key) !=
	            TPA_OK ||
	    CRYPTO_memcmp(key, m->key, sizeof(key)) != 0) {
		not_run(res, "eventlog_replay", TPA_E_REPLAY,
		        "the log's checks remembered are for another log, policy or PCR values");
		return;
	}
	for (size_t i = 0; i < m->n_log; i++)
		add(res, m->c[i].name, m->c[i].status, m->c[i].err, "%s", m->c[i].reason);
	res->n_uncovered = m->n_uncovered;
	memcpy(res->uncovered_alg, m->uncovered_alg, sizeof(res->uncovered_alg));
	memcpy(res->uncovered, m->uncovered, sizeof(res->uncovered));
	res->log_ran = 2;
}

int tpa_result_memo(const tpa_result *res, const uint8_t log_sha256[32],
                    const uint8_t *policy_sha256, const tpa_pcrs *pcrs, tpa_log_memo **out)
{
	size_t text = 0, n_log, n_pol;
	tpa_log_memo *m;
	char *t;

	if (!res || !log_sha256 || !pcrs || !out)
		return TPA_E_INVALID_ARG;
	if (res->verdict != TPA_OK || !res->log_ran || res->log_to < res->log_from ||
	    res->pol_to < res->pol_from || res->pol_from != res->log_to || res->pol_to > res->n)
		return TPA_E_POLICY;
	n_log = res->log_to - res->log_from;
	n_pol = res->pol_to - res->pol_from;
	for (size_t i = res->log_from; i < res->pol_to; i++)
		text += strlen(res->c[i].reason) + 1;
	if (!(m = calloc(1, sizeof(*m) + (n_log + n_pol) * sizeof(*m->c) + text)))
		return TPA_E_NOMEM;
	m->c = (struct memo_check *)(m + 1);
	if (tpa_log_memo_key(log_sha256, policy_sha256, pcrs, m->key) != TPA_OK) {
		free(m);
		return TPA_E_CRYPTO;
	}
	m->n_log = n_log;
	m->n_pol = n_pol;
	t = (char *)(m->c + n_log + n_pol);
	for (size_t i = 0; i < n_log + n_pol; i++) {
		const struct check *c = &res->c[res->log_from + i];
		size_t l = strlen(c->reason) + 1;
		memcpy(t, c->reason, l);
		m->c[i].name = c->name;
		m->c[i].status = c->status;
		m->c[i].err = c->err;
		m->c[i].reason = t;
		t += l;
	}
	m->n_uncovered = res->n_uncovered;
	memcpy(m->uncovered_alg, res->uncovered_alg, sizeof(m->uncovered_alg));
	memcpy(m->uncovered, res->uncovered, sizeof(m->uncovered));
	m->size = sizeof(*m) + (n_log + n_pol) * sizeof(*m->c) + text;
	*out = m;
	return TPA_OK;
}

int tpa_verify(const tpa_verify_input *in, tpa_result **out)
{
	tpa_result *res;
	TPMS_ATTEST a;
	TPMT_SIGNATURE s;
	char why[REASON_MAX] = "";
	int r;

	if (!in || !out || !in->ak || !in->nonce || !in->nonce_len || in->nonce_len > 64 ||
	    !in->attest || !in->signature || !in->pcrs)
		return TPA_E_INVALID_ARG;
	if (!(res = calloc(1, sizeof(*res))))
		return TPA_E_NOMEM;
	res->verdict = TPA_OK;

	/* The signed bytes. */
	if ((r = tpa_attest_decode(in->attest, in->attest_len, &a)) != TPA_OK) {
		add(res, "decode", TPA_CHECK_FAIL, r,
		    "the attestation does not decode as a TPMS_ATTEST (%s)", tpa_strerror(r));
		goto done;
	}
	if ((r = tpa_signature_decode(in->signature, in->signature_len, &s)) != TPA_OK) {
		add(res, "decode", TPA_CHECK_FAIL, r,
		    "the signature does not decode as a TPMT_SIGNATURE (%s)", tpa_strerror(r));
		goto done;
	}
	/* The key. */
	r = tpa_ak_check(in->ak, why, sizeof(why));
	if (r == TPA_OK)
		add(res, "ak", TPA_CHECK_PASS, TPA_OK,
		    "restricted signing key: fixedTPM, fixedParent, sensitiveDataOrigin, not "
		    "decrypt");
	else if (r == TPA_E_NOT_FOUND && (in->require & TPA_ALLOW_BARE_AK))
		add(res, "ak", TPA_CHECK_SKIPPED, TPA_OK,
		    "the AK was given as a bare public key: its TPM attributes are not known here; "
		    "the caller vouches that enrollment proved it a restricted TPM key");
	else if (r == TPA_E_NOT_FOUND)
		not_run(res, "ak", TPA_E_POLICY,
		        "the AK was given as a bare public key, so nothing shows it is a "
		        "restricted TPM "
		        "key (any key could have signed this): give its TPM2B_PUBLIC");
	else
		add(res, "ak", TPA_CHECK_FAIL, TPA_E_POLICY, "%s", why);

	if ((r = tpa_signature_verify(in->ak->pkey, &in->ak->pin, &s, in->attest, in->attest_len,
	                              why, sizeof(why))) != TPA_OK) {
		add(res, "signature", TPA_CHECK_FAIL, r, "%s", why);
		goto done;
	}
	add(res, "signature", TPA_CHECK_PASS, TPA_OK, "signed by the AK (%s)",
	    tpa_alg_name(in->ak->pin.hash));

	if (a.magic != TPM2_GENERATED_VALUE) {
		add(res, "magic", TPA_CHECK_FAIL, TPA_E_BAD_SIGNATURE,
		    "magic is 0x%08x, not TPM_GENERATED_VALUE: the TPM did not produce these bytes "
		    "itself",
		    a.magic);
		goto done;
	}
	add(res, "magic", TPA_CHECK_PASS, TPA_OK, "TPM_GENERATED_VALUE");
	if (a.type != TPM2_ST_ATTEST_QUOTE) {
		add(res, "type", TPA_CHECK_FAIL, TPA_E_BAD_SIGNATURE,
		    "the attestation is of type 0x%04x, not a quote (TPM_ST_ATTEST_QUOTE)", a.type);
		goto done;
	}
	add(res, "type", TPA_CHECK_PASS, TPA_OK, "TPM_ST_ATTEST_QUOTE");
	if (a.extraData.size != in->nonce_len ||
	    CRYPTO_memcmp(a.extraData.buffer, in->nonce, in->nonce_len) != 0)
		add(res, "nonce", TPA_CHECK_FAIL, TPA_E_NONCE,
		    "the quote is not over this verifier's nonce");
	else
		add(res, "nonce", TPA_CHECK_PASS, TPA_OK,
		    "the quote is over this verifier's nonce");
	if (check_selection(res, &a.attested.quote.pcrSelect, in->pcrs) == TPA_OK &&
	    check_pcr_digest(res, &a.attested.quote, in->pcrs, in->ak->pin.hash) == TPA_OK) {
		if (tpa_pcrs_new(&res->quoted) == TPA_OK) {
			for (size_t b = 0; b < tpa_pcrs_bank_count(in->pcrs); b++)
				for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
					uint16_t alg = tpa_pcrs_bank_alg(in->pcrs, b);
					const uint8_t *v;
					size_t vl;
					if (tpa_pcrs_get(in->pcrs, alg, k, &v, &vl) == TPA_OK)
						tpa_pcrs_set(res->quoted, alg, k, v, vl);
				}
		}
	}
	check_signer(res, in, &a.qualifiedSigner);
	check_clock(res, &a.clockInfo, in->previous);
	check_counter(res, in);

	res->log_from = res->n;
	if (in->memo && res->quoted) {
		apply_memo_log(res, in);
	} else if (in->eventlog && res->quoted) {
		check_replay(res, in->eventlog, res->quoted);
		check_log_rules(res, in->eventlog, res->quoted);
		res->log_ran = 1;
	} else if (in->eventlog || in->memo) {
		not_run(res, "eventlog_replay", TPA_E_PCR,
		        "the quoted PCR values were not established");
	} else if (in->require & TPA_REQUIRE_EVENTLOG) {
		not_run(res, "eventlog_replay", TPA_E_REPLAY, "the evidence has no event log");
	} else {
		add(res, "eventlog_replay", TPA_CHECK_SKIPPED, TPA_OK,
		    "no event log supplied: the quoted values are verified, not explained");
	}
	res->log_to = res->pol_from = res->n;

	if (in->policy) {
		if (!res->quoted)
			not_run(res, "policy", TPA_E_POLICY,
			        "the quoted PCR values were not established");
		else if (res->verdict != TPA_OK)
			not_run(res, "policy", TPA_E_POLICY, "an earlier check failed");
		else if (res->log_ran == 2)
			for (size_t i = 0; i < in->memo->n_pol; i++) {
				const struct memo_check *m = &in->memo->c[in->memo->n_log + i];
				add(res, m->name, m->status, m->err, "%s", m->reason);
			}
		else
			tpa_policy_evaluate(in->policy, res->quoted, in->eventlog, res,
			                    tpa_result_add_check);
	}
	res->pol_to = res->n;
done:
	*out = res;
	return res->verdict;
}

void tpa_result_add_check(tpa_result *res, const char *name, int pass, int err, const char *reason)
{
	add(res, name, pass ? TPA_CHECK_PASS : TPA_CHECK_FAIL, err, "%s", reason);
}

void tpa_result_free(tpa_result **pres)
{
	if (!pres || !*pres)
		return;
	tpa_pcrs_free(&(*pres)->quoted);
	free(*pres);
	*pres = NULL;
}

int tpa_result_verdict(const tpa_result *res)
{
	return res->verdict;
}
size_t tpa_result_count(const tpa_result *res)
{
	return res->n;
}

int tpa_result_check(const tpa_result *res, size_t i, const char **name, tpa_check_status *status,
                     const char **reason)
{
	if (!res || i >= res->n)
		return TPA_E_NOT_FOUND;
	if (name)
		*name = res->c[i].name;
	if (status)
		*status = res->c[i].status;
	if (reason)
		*reason = res->c[i].reason;
	return TPA_OK;
}

int tpa_result_find(const tpa_result *res, const char *name, tpa_check_status *status,
                    const char **reason)
{
	for (size_t i = 0; res && i < res->n; i++)
		if (strcmp(res->c[i].name, name) == 0)
			return tpa_result_check(res, i, NULL, status, reason);
	return TPA_E_NOT_FOUND;
}

const tpa_state *tpa_result_next_state(const tpa_result *res)
{
	return &res->next;
}
const tpa_pcrs *tpa_result_quoted_pcrs(const tpa_result *res)
{
	return res->quoted;
}

uint32_t tpa_result_uncovered_pcrs(const tpa_result *res, uint16_t alg)
{
	for (size_t b = 0; res && b < res->n_uncovered; b++)
		if (res->uncovered_alg[b] == alg)
			return res->uncovered[b];
	return 0;
}
