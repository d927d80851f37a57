/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpa_verify_evidence: one verification as a verifier runs it (verify.h).
 * The engine (tpa_verify) checks what it is given; this decides what it is
 * given and what it must insist on, so `tpmattest verify` and the server
 * cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <tpmattest/evidence.h>
#include <tpmattest/verify.h>

#include "policy_internal.h"

int tpa_verify_evidence(const tpa_verification *v, tpa_result **out, char *why, size_t whylen)
{
	const tpa_evidence *ev;
	tpa_eventlog *own_log = NULL;
	uint8_t *ek_from_cert = NULL;
	size_t ek_len = 0, xl;
	const uint8_t *x;
	tpa_verify_input in;
	int r;

	if (!v || !out || !v->evidence || !v->machine || !v->machine->ak || !v->nonce)
		return TPA_E_INVALID_ARG;
	*out = NULL;
	ev = v->evidence;
	memset(&in, 0, sizeof(in));
	in.attest = tpa_evidence_get(ev, TPA_PART_QUOTE_ATTEST, &in.attest_len);
	in.signature = tpa_evidence_get(ev, TPA_PART_QUOTE_SIGNATURE, &in.signature_len);
	in.counter_attest = tpa_evidence_get(ev, TPA_PART_COUNTER_ATTEST, &in.counter_attest_len);
	in.counter_signature =
	        tpa_evidence_get(ev, TPA_PART_COUNTER_SIGNATURE, &in.counter_signature_len);
	in.pcrs = tpa_evidence_pcrs(ev);
	if (!in.attest || !in.signature || !in.pcrs) {
		snprintf(why, whylen, "no quote or PCR values");
		return TPA_E_MALFORMED;
	}
	in.eventlog = v->eventlog;
	x = tpa_evidence_get(ev, TPA_PART_EVENTLOG, &xl);
	if (v->memo && !in.eventlog && !x) {
		/* the log's checks as remembered (verify.h, tpa_log_memo) */
		in.memo = v->memo;
		in.memo_log_sha256 = v->memo_log_sha256;
		in.memo_policy_sha256 = v->memo_policy_sha256;
	}
	if (!in.eventlog && x) {
		tpa_parse_error perr;
		if ((r = tpa_eventlog_parse(x, xl, &own_log, &perr)) != TPA_OK) {
			snprintf(why, whylen, "its event log is malformed at byte offset %zu: %s",
			         perr.offset, perr.reason);
			return r;
		}
		in.eventlog = own_log;
	}
	in.ek_public = v->machine->ek_public;
	in.ek_public_len = v->machine->ek_public_len;
	if (!in.ek_public && (x = tpa_evidence_get(ev, TPA_PART_EK_ECC_CERT, &xl)) != NULL) {
		/* The ECC EK is the AK's parent; the RSA EK is not. */
		r = tpa_ek_public_from_cert(x, xl, &ek_from_cert, &ek_len);
		if (r != TPA_OK && r != TPA_E_UNSUPPORTED) {
			snprintf(why, whylen, "its EK certificate does not decode: %s",
			         tpa_strerror(r));
			tpa_eventlog_free(&own_log);
			return r;
		}
		in.ek_public = ek_from_cert;
		in.ek_public_len = ek_len;
	}
	in.ak = v->machine->ak;
	in.nonce = v->nonce;
	in.nonce_len = v->nonce_len;
	in.previous = v->previous;
	in.policy = v->policy;
	if (v->policy && !in.memo)
		in.require |= TPA_REQUIRE_EVENTLOG;
	if (v->keep_state)
		in.require |= TPA_REQUIRE_COUNTER | TPA_REQUIRE_SIGNER;
	if (v->machine->trust_bare_ak)
		in.require |= TPA_ALLOW_BARE_AK;
	if (v->machine->counter_name) {
		in.require |= TPA_REQUIRE_COUNTER | TPA_REQUIRE_SIGNER;
		in.counter_authorized = v->machine->counter_authorized;
		in.counter_older = !v->machine->counter_authorized;
	}
	r = tpa_verify(&in, out);
	if (*out && v->machine->counter_name) {
		/* the enrollment pinned the counter: another index (one the
		 * machine's operator can reset or redefine) is refused */
		const tpa_state *ns = tpa_result_next_state(*out);
		if (!ns->has_counter)
			tpa_result_add_check(*out, "enrolled_counter", 0, TPA_E_ROLLBACK,
			                     "not run: no certified NV counter was established");
		else if (ns->counter_name_len != v->machine->counter_name_len ||
		         CRYPTO_memcmp(ns->counter_name, v->machine->counter_name,
		                       ns->counter_name_len) != 0)
			tpa_result_add_check(
			        *out, "enrolled_counter", 0, TPA_E_ROLLBACK,
			        "the certified NV index is not the enrolled counter (its "
			        "Name differs from the enrollment record's)");
		else
			tpa_result_add_check(*out, "enrolled_counter", 1, TPA_OK,
			                     "the certified NV index is the enrolled counter");
		r = tpa_result_verdict(*out);
	}
	free(ek_from_cert);
	tpa_eventlog_free(&own_log);
	return r;
}
