/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal helpers shared by the library's modules. */
#ifndef TPA_UTIL_H
#define TPA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Caps on JSON documents the library reads. */
#define TPA_JSON_MAX (16u * 1024 * 1024)
#define TPA_JSON_MAX_DEPTH 32

/* Writes 2*len lowercase hex digits and a NUL. */
void tpa_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly len bytes from exactly 2*len hex digits. */
int tpa_hex_decode(const char *hex, uint8_t *out, size_t len);

/* Canonical padded RFC 4648 base64 of exactly n characters (not
 * NUL-terminated), at most max bytes, into a malloc'd buffer (NUL after the
 * bytes); TPA_E_MALFORMED, TPA_E_LIMIT or TPA_E_NOMEM otherwise. */
int tpa_b64_decode(const char *s, size_t n, size_t max, uint8_t **out, size_t *outlen);
/* A malloc'd NUL-terminated encoding, or NULL. */
char *tpa_b64_encode(const uint8_t *p, size_t n);

#endif
