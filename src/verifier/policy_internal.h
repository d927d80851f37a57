/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TPA_POLICY_INTERNAL_H
#define TPA_POLICY_INTERNAL_H

#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

typedef void (*tpa_check_sink)(tpa_result *res, const char *name, int pass, int err,
                               const char *reason);
void tpa_result_add_check(tpa_result *res, const char *name, int pass, int err, const char *reason);

/* Adds one "policy" check per rule group to res through sink. */
void tpa_policy_evaluate(const tpa_policy *p, const tpa_pcrs *quoted, const tpa_eventlog *log,
                         tpa_result *res, tpa_check_sink sink);

/* Whether ev is one of PCR 7's secure-boot variables (SecureBoot, PK, KEK,
 * db, dbx), by its raw GUID and UTF-16 name: the one test the policy and
 * the log rules share. */
int tpa_policy_sb_variable(const tpa_event *ev);

#endif
