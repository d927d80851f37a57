/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one way the library reads a JSON document: strictly (RFC 8259), so
 * that tpmattest and any other reader of the same bytes see the same data.
 */
#ifndef TPA_JSON_H
#define TPA_JSON_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Parses exactly len bytes (not NUL-terminated; whitespace may surround the
 * one value) as a JSON document under TPA_JSON_MAX and TPA_JSON_MAX_DEPTH.
 * Refused: comments, trailing commas, single quotes, anything json-c's
 * lenient mode takes; a NUL anywhere (raw, or \u0000 in a string or a key),
 * so every string in *out is a C string whose strlen is its length;
 * duplicate member names (readers would disagree on which one counts);
 * text that is not UTF-8.  TPA_OK and *out (the caller's to put), or
 * TPA_E_MALFORMED / TPA_E_LIMIT / TPA_E_NOMEM with the reason in why, which
 * names the byte offset where one is known.  *out is untouched on failure.
 */
int tpa_json_parse(const char *json, size_t len, struct json_object **out, char *why,
                   size_t whylen);

#endif
