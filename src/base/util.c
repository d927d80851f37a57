/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <tpmattest/tpmattest.h>

#include "util.h"

void tpa_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tpa_hex_decode(const char *hex, uint8_t *out, size_t len)
{
	if (!hex || strlen(hex) != 2 * len)
		return TPA_E_MALFORMED;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return TPA_E_MALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return TPA_OK;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Base64 as the documents have it (docs/evidence.md): RFC 4648 section 4, standard alphabet,
 * padded, nothing else (no line breaks or spaces), and canonical: the bits
 * the last quantum does not use are zero (RFC 4648 3.5), so one string has
 * one decoding and one byte string one encoding.
 */
int tpa_b64_decode(const char *s, size_t n, size_t max, uint8_t **out, size_t *outlen)
{
	size_t pad = 0, len, o = 0;
	uint8_t *buf;
	if (n % 4)
		return TPA_E_MALFORMED;
	if (n && s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	len = n / 4 * 3 - pad;
	if (len > max)
		return TPA_E_LIMIT;
	if (!(buf = malloc(len + 1)))
		return TPA_E_NOMEM;
	for (size_t i = 0; i < n; i += 4) {
		size_t q = i + 4 == n ? 4 - pad : 4; /* characters that carry data */
		uint32_t w = 0;
		for (size_t k = 0; k < 4; k++) {
			int v = k < q ? b64val((unsigned char)s[i + k]) : 0;
			if (v < 0) {
				free(buf);
				return TPA_E_MALFORMED;
			}
			w = w << 6 | (uint32_t)v;
		}
		if ((q == 2 && (w & 0xffff)) || (q == 3 && (w & 0xff))) {
			free(buf);
			return TPA_E_MALFORMED;
		}
		buf[o++] = (uint8_t)(w >> 16);
		if (q > 2)
			buf[o++] = (uint8_t)(w >> 8);
		if (q > 3)
			buf[o++] = (uint8_t)w;
	}
	*out = buf;
	*outlen = len;
	return TPA_OK;
}

char *tpa_b64_encode(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}
