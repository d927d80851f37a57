/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one way the library reads a JSON document: strictly (RFC 8259), so
 * that tpmattest and any other reader of the same bytes see the same data.
 */
#ifndef TPA_JSON_H
#define TPA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/*
 * Parses exactly len bytes (need not be NUL-terminated) as one RFC 8259
 * JSON value, optionally surrounded by whitespace (space, tab, CR, LF), and
 * nothing else.  Refused as TPA_E_MALFORMED: comments, trailing commas,
 * single quotes, bare words other than true/false/null, NaN and Infinity,
 * leading zeros, "1." and ".5", a byte-order mark, raw control characters
 * in strings, escapes other than RFC 8259's, lone surrogates, text that is
 * not UTF-8 (overlongs, encoded surrogates and code points above U+10FFFF
 * included), a NUL anywhere (raw, or \u0000 in a string or a name) so that
 * every string in *out is a C string whose strlen is its length, and a
 * member name used twice in one object (compared decoded: "a" and "\u0061"
 * are the same name).  Refused as TPA_E_LIMIT: more than TPA_JSON_MAX
 * bytes, a value nested deeper than TPA_JSON_MAX_DEPTH (the document is
 * depth 1), integers outside [INT64_MIN, UINT64_MAX] and other numbers that
 * are not finite as a double (json-c would change them).  TPA_OK and *out
 * (the caller's to put; NULL for the document "null", as json-c has it),
 * or the error with the reason in why (if non-NULL), which starts with
 * "byte N:" naming the offset of the offending byte (why is empty for
 * TPA_E_NOMEM and TPA_E_INVALID_ARG).  *out is untouched on failure.  The
 * text is checked by a bounded, non-recursive scanner before json-c builds
 * the tree, so json-c only ever sees text that passed.
 */
int tpa_json_parse(const char *json, size_t len, struct json_object **out, char *why,
                   size_t whylen);
/* Values (scalars and containers) a document may hold: json-c spends
 * 100-270 bytes of memory on each, so this, not the size, bounds the tree.
 * The largest policy (262,144 events of three members) needs 1.05 million. */
#define TPA_JSON_MAX_VALUES 1200000u

/* The same with other caps: max bytes (never above INT32_MAX) and
 * max_values values (evidence: a 64 MiB event log in base64, in a document
 * of a few dozen values). */
int tpa_json_parse_max(const char *json, size_t len, size_t max, size_t max_values,
                       struct json_object **out, char *why, size_t whylen);

/*
 * Hex as the documents carry it (docs/evidence.md): exactly 2 * outlen
 * lowercase digits in hex[0..hexlen), no prefix, decoded into out.
 * TPA_E_MALFORMED otherwise, with out possibly partly written.
 */
int tpa_json_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);

#endif
