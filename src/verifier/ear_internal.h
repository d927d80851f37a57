/* SPDX-License-Identifier: BSD-2-Clause */
/* What the server calls besides include/tpmattest/ear.h. */
#ifndef TPA_EAR_INTERNAL_H
#define TPA_EAR_INTERNAL_H

#include <json-c/json.h>

#include <tpmattest/ear.h>

/*
 * tpa_ear_sign for a verdict document the caller built itself and holds
 * parsed (the server's own, just made): the same checks of doc and the
 * same result, without the document serialized and read again.
 * in->verdict_json is ignored; doc NULL: no verdict yet.
 */
int tpa_ear_sign_doc(const tpa_result_key *k, const tpa_ear_input *in, struct json_object *doc,
                     char **jwt, char *why, size_t whylen);

#endif
