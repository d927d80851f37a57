/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A verification result as JSON, the one shape `tpmattest verify --json`
 * and the server answer with: "not_covered" (per quoted bank, PCRs 8-23
 * extended without UEFI log events) and "checks" (name, status, reason, in
 * the order they ran).  Internal: json-c types do not cross the public API.
 */
#ifndef TPA_VERIFIER_RESULT_JSON_H
#define TPA_VERIFIER_RESULT_JSON_H

#include <json-c/json.h>

#include <tpmattest/verify.h>

/* "pass", "fail", "not_run", "skipped" */
const char *tpa_check_status_name(tpa_check_status s);
/* Adds "not_covered" (when any) and "checks" to root.  TPA_OK or TPA_E_NOMEM. */
int tpa_result_json_add(struct json_object *root, const tpa_result *res);

#endif
