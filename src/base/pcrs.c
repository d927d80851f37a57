/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/tpmattest.h>

#include "json.h"
#include "pcrs_internal.h"
#include "util.h"

struct pcr_bank {
	uint16_t alg;
	uint16_t size;
	uint32_t present;    /* bit i: PCR i has a value */
	uint32_t incomplete; /* bit i: PCR i has events without this bank's digest */
	uint8_t value[TPA_PCR_COUNT][TPA_MAX_DIGEST];
};

struct tpa_pcrs {
	size_t nbanks;
	struct pcr_bank bank[TPA_MAX_BANKS];
};

int tpa_pcrs_new(tpa_pcrs **out)
{
	tpa_pcrs *p;
	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(p = calloc(1, sizeof(*p))))
		return TPA_E_NOMEM;
	*out = p;
	return TPA_OK;
}

void tpa_pcrs_free(tpa_pcrs **pcrs)
{
	if (!pcrs || !*pcrs)
		return;
	free(*pcrs);
	*pcrs = NULL;
}

static const struct pcr_bank *bank_find(const tpa_pcrs *p, uint16_t alg)
{
	for (size_t i = 0; i < p->nbanks; i++)
		if (p->bank[i].alg == alg)
			return &p->bank[i];
	return NULL;
}

static int bank_get(tpa_pcrs *p, uint16_t alg, struct pcr_bank **out)
{
	struct pcr_bank *b = NULL;
	size_t size = tpa_alg_digest_size(alg);
	if (!size)
		return TPA_E_UNSUPPORTED;
	for (size_t i = 0; i < p->nbanks; i++)
		if (p->bank[i].alg == alg)
			b = &p->bank[i];
	if (!b) {
		if (p->nbanks == TPA_MAX_BANKS)
			return TPA_E_LIMIT;
		b = &p->bank[p->nbanks++];
		b->alg = alg;
		b->size = (uint16_t)size;
	}
	*out = b;
	return TPA_OK;
}

int tpa_pcrs_set(tpa_pcrs *p, uint16_t alg, unsigned pcr, const uint8_t *value, size_t len)
{
	struct pcr_bank *b;
	int r;
	if (!p || !value || pcr >= TPA_PCR_COUNT || len != tpa_alg_digest_size(alg))
		return TPA_E_INVALID_ARG;
	if ((r = bank_get(p, alg, &b)) != TPA_OK)
		return r;
	memcpy(b->value[pcr], value, len);
	b->present |= 1u << pcr;
	b->incomplete &= ~(1u << pcr);
	return TPA_OK;
}

int tpa_pcrs_set_incomplete(tpa_pcrs *p, uint16_t alg, unsigned pcr)
{
	struct pcr_bank *b;
	int r;
	if (!p || pcr >= TPA_PCR_COUNT)
		return TPA_E_INVALID_ARG;
	if ((r = bank_get(p, alg, &b)) != TPA_OK)
		return r;
	b->present &= ~(1u << pcr);
	b->incomplete |= 1u << pcr;
	return TPA_OK;
}

int tpa_pcrs_get(const tpa_pcrs *p, uint16_t alg, unsigned pcr, const uint8_t **value, size_t *len)
{
	const struct pcr_bank *b;
	if (!p || pcr >= TPA_PCR_COUNT)
		return TPA_E_INVALID_ARG;
	if (!(b = bank_find(p, alg)) || !(b->present & (1u << pcr)))
		return TPA_E_NOT_FOUND;
	if (value)
		*value = b->value[pcr];
	if (len)
		*len = b->size;
	return TPA_OK;
}

int tpa_pcrs_is_incomplete(const tpa_pcrs *p, uint16_t alg, unsigned pcr)
{
	const struct pcr_bank *b;
	if (!p || pcr >= TPA_PCR_COUNT || !(b = bank_find(p, alg)))
		return 0;
	return (b->incomplete >> pcr) & 1;
}

size_t tpa_pcrs_bank_count(const tpa_pcrs *p)
{
	return p ? p->nbanks : 0;
}

uint16_t tpa_pcrs_bank_alg(const tpa_pcrs *p, size_t i)
{
	return (p && i < p->nbanks) ? p->bank[i].alg : 0;
}

/* Strict decimal PCR index: "0".."23", no sign, no leading zeros. */
static int parse_pcr_key(const char *k, unsigned *pcr)
{
	unsigned v = 0;
	size_t n = strlen(k);
	if (n == 0 || n > 2 || (n == 2 && k[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (k[i] < '0' || k[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(k[i] - '0');
	}
	if (v >= TPA_PCR_COUNT)
		return -1;
	*pcr = v;
	return 0;
}

int tpa_pcrs_from_object(struct json_object *obj, unsigned flags, tpa_pcrs **out,
                         size_t *unknown_banks)
{
	int strict = !!(flags & TPA_PCRS_STRICT);
	tpa_pcrs *p = NULL;
	size_t unknown = 0, nseen = 0;
	uint16_t seen[TPA_MAX_BANKS];
	int r;

	if (!json_object_is_type(obj, json_type_object) || !out)
		return TPA_E_MALFORMED;
	if ((r = tpa_pcrs_new(&p)) != TPA_OK)
		return r;
	r = TPA_E_MALFORMED;
	json_object_object_foreach (obj, bank, vals) {
		uint16_t alg;
		size_t dsize;
		if (!json_object_is_type(vals, json_type_object)) {
			if (flags & TPA_PCRS_BARE)
				continue; /* bare form: tolerate sibling metadata */
			goto out;
		}
		if (tpa_alg_from_name(bank, &alg) != TPA_OK) {
			unknown++;
			continue;
		}
		if (strict && strcmp(bank, tpa_alg_name(alg)) != 0)
			goto out;
		/* two spellings of one bank: which values would count? */
		for (size_t i = 0; i < nseen; i++)
			if (seen[i] == alg)
				goto out;
		if (nseen == TPA_MAX_BANKS) {
			r = TPA_E_LIMIT;
			goto out;
		}
		seen[nseen++] = alg;
		dsize = tpa_alg_digest_size(alg);
		json_object_object_foreach (vals, key, v) {
			unsigned pcr;
			uint8_t d[TPA_MAX_DIGEST];
			const char *hex;
			size_t hlen;
			if (parse_pcr_key(key, &pcr) != 0 ||
			    !json_object_is_type(v, json_type_string))
				goto out;
			hex = json_object_get_string(v);
			hlen = (size_t)json_object_get_string_len(v);
			if (strict) {
				if (tpa_json_hex_decode(hex, hlen, d, dsize) != TPA_OK)
					goto out;
			} else {
				if (hlen >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
					hex += 2;
				if (tpa_hex_decode(hex, d, dsize) != TPA_OK)
					goto out;
			}
			if (tpa_pcrs_set(p, alg, pcr, d, dsize) != TPA_OK)
				goto out;
		}
	}
	if (unknown_banks)
		*unknown_banks = unknown;
	*out = p;
	p = NULL;
	r = TPA_OK;
out:
	tpa_pcrs_free(&p);
	return r;
}

int tpa_pcrs_from_json(const char *json, size_t len, tpa_pcrs **out, size_t *unknown_banks)
{
	struct json_object *root = NULL, *inner = NULL;
	int r;

	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if ((r = tpa_json_parse(json, len, &root, NULL, 0)) != TPA_OK)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return TPA_E_MALFORMED;
	}
	/* json-c NULLs the output when the key is absent: look up into a
	 * temporary. */
	if (json_object_object_get_ex(root, "pcrs", &inner))
		r = json_object_is_type(inner, json_type_object)
		            ? tpa_pcrs_from_object(inner, 0, out, unknown_banks)
		            : TPA_E_MALFORMED;
	else
		r = tpa_pcrs_from_object(root, TPA_PCRS_BARE, out, unknown_banks);
	json_object_put(root);
	return r;
}

int tpa_pcrs_to_json(const tpa_pcrs *p, int pretty, char **out)
{
	struct json_object *root, *pcrs, *inc = NULL;
	char *s;
	if (!p || !out)
		return TPA_E_INVALID_ARG;
	if (!(root = json_object_new_object()) || !(pcrs = json_object_new_object())) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	json_object_object_add(root, "pcrs", pcrs);
	for (size_t i = 0; i < p->nbanks; i++) {
		const struct pcr_bank *b = &p->bank[i];
		struct json_object *bo = json_object_new_object();
		if (!bo)
			goto nomem;
		json_object_object_add(pcrs, tpa_alg_name(b->alg), bo);
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			char key[4], hex[2 * TPA_MAX_DIGEST + 1];
			if (!(b->present & (1u << k)))
				continue;
			snprintf(key, sizeof(key), "%u", k);
			tpa_hex_encode(b->value[k], b->size, hex);
			json_object_object_add(bo, key, json_object_new_string(hex));
		}
		if (b->incomplete) {
			struct json_object *arr = json_object_new_array();
			if (!arr)
				goto nomem;
			if (!inc) {
				if (!(inc = json_object_new_object())) {
					json_object_put(arr);
					goto nomem;
				}
				json_object_object_add(root, "incomplete", inc);
			}
			json_object_object_add(inc, tpa_alg_name(b->alg), arr);
			for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
				if (b->incomplete & (1u << k))
					json_object_array_add(arr, json_object_new_int((int)k));
		}
	}
	s = strdup(json_object_to_json_string_ext(root, pretty ? JSON_C_TO_STRING_PRETTY |
	                                                                 JSON_C_TO_STRING_SPACED
	                                                       : JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	if (!s)
		return TPA_E_NOMEM;
	*out = s;
	return TPA_OK;
nomem:
	json_object_put(root);
	return TPA_E_NOMEM;
}
