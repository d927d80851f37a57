/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Golden-measurement policy (docs/policy.md).  Versioned JSON, shared by a
 * fleet: which banks and PCRs must be quoted, allowed whole-PCR values, and
 * event-level rules (secure boot state and keys, allowed boot applications,
 * drivers, boot loader commands, kernel command lines and files), each with
 * several allowed values.  Only events whose digests replay into quoted PCRs
 * are considered, and rules that read event data use only data verified
 * against its digest in every bank.
 */
#ifndef TPMATTEST_POLICY_H
#define TPMATTEST_POLICY_H

#include <tpmattest/eventlog.h>
#include <tpmattest/tpmattest.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPA_POLICY_VERSION 2

/* Entries a measured signature-list variable (PK, KEK, db, dbx) may hold
 * for a policy to judge it; real dbx variables hold hundreds to tens of
 * thousands.  One with more fails the secure-boot check. */
#define TPA_POLICY_MAX_SIGNATURES 100000u

typedef struct tpa_policy tpa_policy;

/* Strict: unknown members, wrong types and bad hex are TPA_E_MALFORMED with
 * the reason in why. */
int tpa_policy_from_json(const char *json, size_t len, tpa_policy **out, char *why, size_t whylen);
int tpa_policy_to_json(const tpa_policy *p, char **out);
void tpa_policy_free(tpa_policy **p);

/*
 * Learns a policy from a known-good machine: the quoted PCR values (as
 * established by tpa_verify) and its event log.  PCRs whose events can be
 * judged one by one (2, 4, 7, 8, 9, 12, 14) get event rules; the other
 * quoted PCRs get their exact values.  Nothing assumes shim, GRUB or a
 * particular kernel: every event of a ruled PCR is learnt as it is.
 */
int tpa_policy_learn(const tpa_pcrs *quoted, const tpa_eventlog *log, tpa_policy **out, char *why,
                     size_t whylen);
/* Combines two policies so that what either accepts is accepted: allowed
 * values are united, dbx minimum lowered; required PCRs are united too, so
 * every rule stays on PCRs the quote must cover.  Fails
 * (TPA_E_POLICY, why) when they disagree on whether secure boot is on. */
int tpa_policy_merge(const tpa_policy *a, const tpa_policy *b, tpa_policy **out, char *why,
                     size_t whylen);

#ifdef __cplusplus
}
#endif

#endif
