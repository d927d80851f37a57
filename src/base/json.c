/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Strict JSON reading (see json.h).  json-c 0.16 builds the tree, but even
 * in its strict mode it takes single quotes, "1.", lone surrogates, overlong
 * and surrogate UTF-8, clamps integers it cannot hold and keeps the last of
 * duplicate members.  So a scanner of our own first checks the text against
 * the RFC 8259 grammar and the rules json.h lists, and json-c only ever sees
 * text that passed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/tpmattest.h>

#include "json.h"
#include "util.h"

/* A member name as decoded: in the input when it had no escapes, else in
 * the arena.  at is where its opening quote is, for the error text. */
struct key {
	const char *p;
	size_t len;
	size_t at;
};

struct scan {
	const unsigned char *s;
	size_t n, i;
	char *why;
	size_t whylen;
	struct key *keys; /* names of the members of every open object */
	size_t nkeys, capkeys;
	char *arena; /* decoded names with escapes; never longer than the text */
	size_t arenalen;
	struct {
		char close;     /* '}' or ']' */
		size_t keybase; /* first of this object's names in keys */
	} stack[TPA_JSON_MAX_DEPTH];
	size_t depth;      /* open containers */
	size_t values;     /* seen so far */
	size_t max_values; /* json-c spends 100-270 bytes of memory on each */
};

static int fail(struct scan *sc, int err, size_t at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int fail(struct scan *sc, int err, size_t at, const char *fmt, ...)
{
	va_list ap;
	int k;
	if (!sc->why || !sc->whylen)
		return err;
	k = snprintf(sc->why, sc->whylen, "byte %zu: ", at);
	if (k >= 0 && (size_t)k < sc->whylen) {
		va_start(ap, fmt);
		vsnprintf(sc->why + k, sc->whylen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
	                         sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

/* Names what a byte that cannot start a value or follow one is likely to be
 * an attempt at, for the error text. */
static int unexpected(struct scan *sc, const char *wanted)
{
	unsigned char c;
	if (sc->i == sc->n)
		return fail(sc, TPA_E_MALFORMED, sc->i, "unexpected end, expected %s", wanted);
	c = sc->s[sc->i];
	if (c == '\'')
		return fail(sc, TPA_E_MALFORMED, sc->i, "single quote, expected %s", wanted);
	if (c == '/')
		return fail(sc, TPA_E_MALFORMED, sc->i, "comment, expected %s", wanted);
	if (c == '\0')
		return fail(sc, TPA_E_MALFORMED, sc->i, "NUL byte, expected %s", wanted);
	if (c >= 0x21 && c < 0x7f)
		return fail(sc, TPA_E_MALFORMED, sc->i, "unexpected '%c', expected %s", c, wanted);
	return fail(sc, TPA_E_MALFORMED, sc->i, "unexpected byte 0x%02x, expected %s", c, wanted);
}

static int hex4(const unsigned char *p, unsigned *v)
{
	unsigned r = 0;
	for (int k = 0; k < 4; k++) {
		unsigned char c = p[k];
		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= c - '0';
		else if (c >= 'a' && c <= 'f')
			r |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			r |= c - 'A' + 10;
		else
			return -1;
	}
	*v = r;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return need;
}

/* One string from its opening quote; *escaped tells whether it held any
 * escape (its decoded form then differs from its bytes). */
static int scan_string(struct scan *sc, int *escaped)
{
	const unsigned char *s = sc->s;
	size_t start = sc->i++;
	*escaped = 0;
	for (;;) {
		unsigned char c;
		if (sc->i == sc->n)
			return fail(sc, TPA_E_MALFORMED, start, "string not terminated");
		c = s[sc->i];
		if (c == '"') {
			sc->i++;
			return TPA_OK;
		}
		if (c < 0x20)
			return fail(sc, TPA_E_MALFORMED, sc->i,
			            c ? "control character 0x%02x in a string"
			              : "NUL byte in a string",
			            c);
		if (c >= 0x80) {
			size_t k = utf8_len(s + sc->i, sc->n - sc->i);
			if (!k)
				return fail(sc, TPA_E_MALFORMED, sc->i, "not UTF-8");
			sc->i += k;
			continue;
		}
		if (c != '\\') {
			sc->i++;
			continue;
		}
		*escaped = 1;
		if (sc->i + 1 == sc->n)
			return fail(sc, TPA_E_MALFORMED, start, "string not terminated");
		c = s[sc->i + 1];
		if (c == 'u') {
			unsigned v, w;
			if (sc->n - sc->i < 6 || hex4(s + sc->i + 2, &v))
				return fail(sc, TPA_E_MALFORMED, sc->i,
				            "\\u not followed by four hex digits");
			if (v == 0)
				return fail(sc, TPA_E_MALFORMED, sc->i, "\\u0000 in a string");
			if (v >= 0xdc00 && v <= 0xdfff)
				return fail(sc, TPA_E_MALFORMED, sc->i,
				            "lone low surrogate \\u%04x", v);
			if (v >= 0xd800 && v <= 0xdbff) {
				if (sc->n - sc->i < 12 || s[sc->i + 6] != '\\' ||
				    s[sc->i + 7] != 'u' || hex4(s + sc->i + 8, &w) || w < 0xdc00 ||
				    w > 0xdfff)
					return fail(sc, TPA_E_MALFORMED, sc->i,
					            "lone high surrogate \\u%04x", v);
				sc->i += 6;
			}
			sc->i += 6;
			continue;
		}
		if (!strchr("\"\\/bfnrt", c) || c == '\0')
			return fail(sc, TPA_E_MALFORMED, sc->i, "bad escape in a string");
		sc->i += 2;
	}
}

/* Decodes the already checked string at p (after its opening quote) up to
 * its closing quote into out; returns the decoded length. */
static size_t decode_string(const unsigned char *p, char *out)
{
	size_t o = 0;
	for (;;) {
		unsigned v, w;
		if (*p == '"')
			return o;
		if (*p != '\\') {
			out[o++] = (char)*p++;
			continue;
		}
		switch (p[1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': break;
		default: out[o++] = (char)p[1]; break;
		}
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		hex4(p + 2, &v);
		p += 6;
		if (v >= 0xd800 && v <= 0xdbff) {
			hex4(p + 2, &w);
			p += 6;
			v = 0x10000 + ((v - 0xd800) << 10) + (w - 0xdc00);
		}
		if (v < 0x80) {
			out[o++] = (char)v;
		} else if (v < 0x800) {
			out[o++] = (char)(0xc0 | v >> 6);
			out[o++] = (char)(0x80 | (v & 0x3f));
		} else if (v < 0x10000) {
			out[o++] = (char)(0xe0 | v >> 12);
			out[o++] = (char)(0x80 | (v >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (v & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | v >> 18);
			out[o++] = (char)(0x80 | (v >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (v >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (v & 0x3f));
		}
	}
}

/* A member name: checked, decoded and remembered for the duplicate check. */
static int scan_key(struct scan *sc)
{
	size_t start = sc->i;
	int escaped, r;
	struct key *k;
	if (sc->i == sc->n || sc->s[sc->i] != '"')
		return unexpected(sc, "a member name in double quotes");
	if ((r = scan_string(sc, &escaped)) != TPA_OK)
		return r;
	if (sc->nkeys == sc->capkeys) {
		size_t cap = sc->capkeys ? 2 * sc->capkeys : 64;
		struct key *nk;
		/* at most one name per three bytes of text, far below SIZE_MAX */
		if (cap > SIZE_MAX / sizeof(*nk) || !(nk = realloc(sc->keys, cap * sizeof(*nk))))
			return TPA_E_NOMEM;
		sc->keys = nk;
		sc->capkeys = cap;
	}
	k = &sc->keys[sc->nkeys++];
	k->at = start;
	if (!escaped) {
		k->p = (const char *)sc->s + start + 1;
		k->len = sc->i - start - 2;
		return TPA_OK;
	}
	/* Decoded text is never longer than the text, so one arena of the
	 * document's size holds every name, and pointers into it stay put. */
	if (!sc->arena && !(sc->arena = malloc(sc->n)))
		return TPA_E_NOMEM;
	k->p = sc->arena + sc->arenalen;
	k->len = decode_string(sc->s + start + 1, sc->arena + sc->arenalen);
	sc->arenalen += k->len;
	return TPA_OK;
}

static int key_cmp(const void *a_, const void *b_)
{
	const struct key *a = a_, *b = b_;
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

/* The object whose names start at keys[base] has closed: any name twice? */
static int check_dups(struct scan *sc, size_t base)
{
	size_t m = sc->nkeys - base;
	struct key *k;
	if (m == 0) /* sc->keys may still be NULL: no pointer arithmetic on it */
		return TPA_OK;
	k = sc->keys + base;
	if (m > 1)
		qsort(k, m, sizeof(*k), key_cmp);
	for (size_t j = 1; j < m; j++)
		if (k[j].len == k[j - 1].len && memcmp(k[j].p, k[j - 1].p, k[j].len) == 0)
			return fail(sc, TPA_E_MALFORMED, k[j].at,
			            "member name already used at byte %zu", k[j - 1].at);
	sc->nkeys = base;
	return TPA_OK;
}

/*
 * A number, with the limits of what json-c holds without changing it:
 * integers in [INT64_MIN, UINT64_MAX] (json-c clamps others), and other
 * numbers that are finite as doubles (json-c takes 1e400 as infinity).
 */
static int scan_number(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t start = sc->i, ds, nd, fz = 0;
	int neg = 0, real = 0, intzero;
	long long e10, ex = 0;
	if (s[sc->i] == '-') {
		neg = 1;
		sc->i++;
	}
	ds = sc->i;
	if (sc->i == sc->n || s[sc->i] < '0' || s[sc->i] > '9')
		return fail(sc, TPA_E_MALFORMED, start, "number without digits");
	if (s[sc->i] == '0' && sc->i + 1 < sc->n && s[sc->i + 1] >= '0' && s[sc->i + 1] <= '9')
		return fail(sc, TPA_E_MALFORMED, start, "number with a leading zero");
	while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
		sc->i++;
	nd = sc->i - ds;
	intzero = s[ds] == '0';
	if (sc->i < sc->n && s[sc->i] == '.') {
		size_t f = ++sc->i;
		real = 1;
		while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
			sc->i++;
		if (sc->i == f)
			return fail(sc, TPA_E_MALFORMED, start, "number with no digit after '.'");
		while (f + fz < sc->i && s[f + fz] == '0')
			fz++;
		if (f + fz == sc->i)
			fz = SIZE_MAX; /* the fraction is all zeros */
	}
	if (sc->i < sc->n && (s[sc->i] == 'e' || s[sc->i] == 'E')) {
		int eneg = 0;
		size_t f;
		real = 1;
		sc->i++;
		if (sc->i < sc->n && (s[sc->i] == '+' || s[sc->i] == '-'))
			eneg = s[sc->i++] == '-';
		f = sc->i;
		while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9') {
			if (ex < 1000000000)
				ex = ex * 10 + (s[sc->i] - '0');
			sc->i++;
		}
		if (sc->i == f)
			return fail(sc, TPA_E_MALFORMED, start, "number with an empty exponent");
		if (eneg)
			ex = -ex;
	}
	if (!real) {
		static const char max_pos[] = "18446744073709551615",
		                  max_neg[] = "9223372036854775808";
		const char *m = neg ? max_neg : max_pos;
		size_t ml = strlen(m);
		if (nd > ml || (nd == ml && memcmp(s + ds, m, ml) > 0))
			return fail(sc, TPA_E_LIMIT, start, "integer out of range");
		return TPA_OK;
	}
	/* The value is 0.d... * 10^e10; below 10^308 it is finite for sure,
	 * the rare rest goes through strtod as json-c will. */
	if (!intzero)
		e10 = (long long)nd + ex;
	else if (fz == SIZE_MAX)
		return TPA_OK; /* zero */
	else
		e10 = ex - (long long)fz;
	if (e10 >= 309) {
		size_t l = sc->i - start;
		char *copy = malloc(l + 1);
		double d;
		if (!copy)
			return TPA_E_NOMEM;
		memcpy(copy, s + start, l);
		copy[l] = '\0';
		d = strtod(copy, NULL);
		free(copy);
		if (!isfinite(d))
			return fail(sc, TPA_E_LIMIT, start, "number out of range");
	}
	return TPA_OK;
}

static int scan_literal(struct scan *sc)
{
	static const char *const words[] = {"true", "false", "null"};
	for (size_t w = 0; w < 3; w++) {
		size_t l = strlen(words[w]);
		if (sc->n - sc->i >= l && memcmp(sc->s + sc->i, words[w], l) == 0) {
			sc->i += l;
			return TPA_OK;
		}
	}
	return fail(sc, TPA_E_MALFORMED, sc->i, "bare word (only true, false and null are)");
}

/* One value, iteratively: the explicit stack is the only nesting. */
static int scan_document(struct scan *sc)
{
	int r, escaped;
	unsigned char c;

	skip_ws(sc);
value:
	if (sc->depth + 1 > TPA_JSON_MAX_DEPTH)
		return fail(sc, TPA_E_LIMIT, sc->i, "nested deeper than %d", TPA_JSON_MAX_DEPTH);
	if (++sc->values > sc->max_values)
		return fail(sc, TPA_E_LIMIT, sc->i, "more than %zu values", sc->max_values);
	if (sc->i == sc->n)
		return unexpected(sc, "a value");
	c = sc->s[sc->i];
	if (c == '{' || c == '[') {
		sc->stack[sc->depth].close = c == '{' ? '}' : ']';
		sc->stack[sc->depth].keybase = sc->nkeys;
		sc->depth++;
		sc->i++;
		skip_ws(sc);
		if (sc->i < sc->n && sc->s[sc->i] == sc->stack[sc->depth - 1].close)
			goto close;
		if (c == '[')
			goto value;
		goto member;
	}
	if (c == '"')
		r = scan_string(sc, &escaped);
	else if (c == '-' || (c >= '0' && c <= '9'))
		r = scan_number(sc);
	else if (c >= 'a' && c <= 'z')
		r = scan_literal(sc);
	else if (c == 'N' || c == 'I')
		r = fail(sc, TPA_E_MALFORMED, sc->i, "NaN and Infinity are not JSON numbers");
	else
		r = unexpected(sc, "a value");
	if (r != TPA_OK)
		return r;

next:
	skip_ws(sc);
	if (sc->depth == 0) {
		if (sc->i != sc->n)
			return fail(sc, TPA_E_MALFORMED, sc->i, "data after the JSON document");
		return TPA_OK;
	}
	if (sc->i < sc->n && sc->s[sc->i] == sc->stack[sc->depth - 1].close)
		goto close;
	if (sc->i == sc->n || sc->s[sc->i] != ',')
		return unexpected(sc, sc->stack[sc->depth - 1].close == '}' ? "',' or '}'"
		                                                            : "',' or ']'");
	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && (sc->s[sc->i] == '}' || sc->s[sc->i] == ']'))
		return fail(sc, TPA_E_MALFORMED, sc->i, "trailing comma");
	if (sc->stack[sc->depth - 1].close == ']')
		goto value;
member:
	if ((r = scan_key(sc)) != TPA_OK)
		return r;
	skip_ws(sc);
	if (sc->i == sc->n || sc->s[sc->i] != ':')
		return unexpected(sc, "':'");
	sc->i++;
	skip_ws(sc);
	goto value;

close:
	sc->i++;
	sc->depth--;
	if (sc->stack[sc->depth].close == '}' &&
	    (r = check_dups(sc, sc->stack[sc->depth].keybase)) != TPA_OK)
		return r;
	goto next;
}

int tpa_json_parse(const char *json, size_t len, struct json_object **out, char *why, size_t whylen)
{
	return tpa_json_parse_max(json, len, TPA_JSON_MAX, TPA_JSON_MAX_VALUES, out, why, whylen);
}

int tpa_json_parse_max(const char *json, size_t len, size_t max, size_t max_values,
                       struct json_object **out, char *why, size_t whylen)
{
	struct scan sc = {.s = (const unsigned char *)json,
	                  .n = len,
	                  .why = why,
	                  .whylen = whylen,
	                  .max_values = max_values};
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error err;
	size_t end;
	int r;

	if (why && whylen)
		why[0] = '\0';
	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if (len > max || len > INT32_MAX)
		return fail(&sc, TPA_E_LIMIT, max, "larger than %zu bytes", max);
	r = scan_document(&sc);
	free(sc.keys);
	free(sc.arena);
	if (r != TPA_OK)
		return r;

	if (!(tok = json_tokener_new_ex(TPA_JSON_MAX_DEPTH)))
		return TPA_E_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	errno = 0;
	root = json_tokener_parse_ex(tok, json, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* a scalar document ends where the text does: json-c waits for more */
	if (err == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, " ", 1);
		err = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);
	if (err != json_tokener_success) {
		json_object_put(root);
		/* json-c has no error code for a failed allocation; anything
		 * else is a difference between the two readers (a bug here),
		 * refused all the same */
		if (errno == ENOMEM)
			return TPA_E_NOMEM;
		return fail(&sc, TPA_E_MALFORMED, end, "json-c refused what the scanner took: %s",
		            json_tokener_error_desc(err));
	}
	/* out of memory, json-c 0.16 may answer success with no tree; only the
	 * document "null" is really that */
	if (!root && errno == ENOMEM)
		return TPA_E_NOMEM;
	*out = root;
	return TPA_OK;
}

int tpa_json_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
	if (!hex || hexlen != 2 * outlen || hexlen / 2 != outlen)
		return TPA_E_MALFORMED;
	for (size_t i = 0; i < hexlen; i++) {
		char c = hex[i];
		unsigned v;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else
			return TPA_E_MALFORMED;
		if (i % 2)
			out[i / 2] = (uint8_t)(out[i / 2] << 4 | v);
		else
			out[i / 2] = (uint8_t)v;
	}
	return TPA_OK;
}
