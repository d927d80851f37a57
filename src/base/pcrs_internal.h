/* SPDX-License-Identifier: BSD-2-Clause */
/* PCR values read from a JSON tree that another reader already holds. */
#ifndef TPA_PCRS_INTERNAL_H
#define TPA_PCRS_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include <tpmattest/tpmattest.h>

/* Bank names exactly as tpa_alg_name writes them, values in lowercase hex
 * without a prefix (evidence, docs/evidence.md).  Without it (user files,
 * tpa_pcrs_from_json) names match as tpa_alg_from_name does and values may
 * be uppercase or 0x-prefixed. */
#define TPA_PCRS_STRICT 1u
/* Members that are not objects are skipped, not malformed (the bare form of
 * tpa_pcrs_from_json, whose siblings may be metadata). */
#define TPA_PCRS_BARE 2u

/*
 * obj is the bank -> PCR -> hex object ({"sha256":{"0":"hex",...},...}), as
 * read by tpa_json_parse.  Values must be exactly the bank's digest size; a
 * bank named twice (say "sha256" and "SHA-256") is malformed; unknown banks
 * are skipped and counted in *unknown_banks if non-NULL.
 */
int tpa_pcrs_from_object(struct json_object *obj, unsigned flags, tpa_pcrs **out,
                         size_t *unknown_banks);

#endif
