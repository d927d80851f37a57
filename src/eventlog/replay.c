/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replay: PCR_new = H(PCR_old || digest), per bank (TPM 2.0 Part 1, 17.4;
 * PFP 1.05, 3.3.4).  PCR0's initial value depends on how the platform
 * started: PFP 1.05, 10.4.5.3 (StartupLocality) and 2.3.4 (H-CRTM).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/hash.h"
#include "internal.h"

static const char startup_locality_sig[16] = "StartupLocality"; /* with the NUL */

/* The locality a StartupLocality event records, or -1 if ev is not one. */
static int startup_locality(const struct tpa_event *ev)
{
	if (ev->type != TPA_EV_NO_ACTION || ev->pcr != 0 || ev->data_len != 17 ||
	    memcmp(ev->data, startup_locality_sig, 16) != 0)
		return -1;
	return ev->data[16];
}

int tpa_eventlog_pcr0_locality(const tpa_eventlog *log)
{
	for (size_t i = 0; i < log->nev; i++) {
		const struct tpa_event *ev = &log->ev[i];
		int loc = startup_locality(ev);
		if (loc >= 0)
			return loc;
		if (ev->pcr != 0 || ev->type == TPA_EV_NO_ACTION)
			continue;
		/* The first measurement of PCR0 decides. */
		return ev->type == TPA_EV_EFI_HCRTM_EVENT ? 4 : 0;
	}
	return 0;
}

int tpa_eventlog_replay(const tpa_eventlog *log, tpa_pcrs **out)
{
	return tpa_eventlog_replay_banks(log, NULL, 0, out);
}

/* algs == NULL: every bank this library can compute. */
int tpa_eventlog_replay_banks(const tpa_eventlog *log, const uint16_t *algs, size_t nalgs,
                              tpa_pcrs **out)
{
	uint8_t val[TPA_EVENTLOG_MAX_ALGS][TPA_PCR_COUNT][TPA_MAX_DIGEST];
	uint32_t touched = 0, incomplete[TPA_EVENTLOG_MAX_ALGS] = {0};
	int computable[TPA_EVENTLOG_MAX_ALGS] = {0};
	int loc;
	tpa_hctx hc = {0};
	tpa_pcrs *p = NULL;
	int r;

	if (!log || !out)
		return TPA_E_INVALID_ARG;
	loc = tpa_eventlog_pcr0_locality(log);
	memset(val, 0, sizeof(val));
	for (size_t a = 0; a < log->nalgs; a++) {
		computable[a] = tpa_alg_digest_size(log->alg[a]) && tpa_md(log->alg[a]);
		if (algs) {
			size_t k;
			for (k = 0; k < nalgs && algs[k] != log->alg[a]; k++)
				;
			computable[a] = computable[a] && k < nalgs;
		}
		val[a][0][log->alg_size[a] - 1] = (uint8_t)loc;
	}
	for (size_t i = 0; i < log->nev; i++) {
		const struct tpa_event *ev = &log->ev[i];
		if (ev->type == TPA_EV_NO_ACTION)
			continue;
		touched |= 1u << ev->pcr;
		for (size_t a = 0; a < log->nalgs; a++) {
			uint8_t *v = val[a][ev->pcr];
			if (!computable[a])
				continue;
			if (!ev->digest[a]) {
				incomplete[a] |= 1u << ev->pcr;
				continue;
			}
			r = tpa_hctx_digest(&hc, log->alg[a], v, log->alg_size[a], ev->digest[a],
			                    log->alg_size[a], v);
			if (r != TPA_OK)
				goto out;
		}
	}
	if ((r = tpa_pcrs_new(&p)) != TPA_OK)
		goto out;
	for (size_t a = 0; a < log->nalgs; a++) {
		if (!computable[a])
			continue;
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			if (!(touched & (1u << k)))
				continue;
			r = (incomplete[a] & (1u << k))
			            ? tpa_pcrs_set_incomplete(p, log->alg[a], k)
			            : tpa_pcrs_set(p, log->alg[a], k, val[a][k], log->alg_size[a]);
			if (r != TPA_OK)
				goto out;
		}
	}
	*out = p;
	p = NULL;
	r = TPA_OK;
out:
	tpa_pcrs_free(&p);
	tpa_hctx_free(&hc);
	return r;
}

/*
 * Firmware must log EV_EFI_ACTION "Exit Boot Services Invocation" and
 * "Exit Boot Services Returned with Success" in PCR5 (PFP 1.05, 10.4.4);
 * some do not, though they extend them.  Returns 1 when the log has no such
 * event and appending both to the replayed PCR5 gives exactly `expected`:
 * an explanation for a mismatch, never a reason to accept it.
 */
int tpa_eventlog_ebs_missing(const tpa_eventlog *log, uint16_t alg, const uint8_t *expected,
                             size_t len)
{
	static const char *const ebs[] = {"Exit Boot Services Invocation",
	                                  "Exit Boot Services Returned with Success"};
	tpa_pcrs *p = NULL;
	const uint8_t *v;
	uint8_t cur[TPA_MAX_DIGEST], d[TPA_MAX_DIGEST];
	size_t vlen;
	int ok = 0;

	for (size_t i = 0; i < log->nev; i++) {
		const struct tpa_event *ev = &log->ev[i];
		if (ev->pcr == 5 && ev->type == TPA_EV_EFI_ACTION && ev->data_len >= 12 &&
		    memcmp(ev->data, "Exit Boot Se", 12) == 0)
			return 0;
	}
	if (tpa_eventlog_replay(log, &p) != TPA_OK ||
	    tpa_pcrs_get(p, alg, 5, &v, &vlen) != TPA_OK || vlen != len)
		goto out;
	memcpy(cur, v, len);
	for (size_t i = 0; i < 2; i++)
		if (tpa_hash(alg, (const uint8_t *)ebs[i], strlen(ebs[i]), d) != TPA_OK ||
		    tpa_hash2(NULL, alg, cur, len, d, len, cur) != TPA_OK)
			goto out;
	ok = CRYPTO_memcmp(cur, expected, len) == 0;
out:
	tpa_pcrs_free(&p);
	return ok;
}
