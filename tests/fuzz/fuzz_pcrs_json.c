/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the PCR values JSON reader (tpa_pcrs_from_json), which
 * reads user-supplied expected values: anything it accepts must write back
 * out and read back in to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/tpmattest.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t algs[] = {TPA_ALG_SHA1,     TPA_ALG_SHA256,  TPA_ALG_SHA384,
                                TPA_ALG_SHA512,   TPA_ALG_SM3_256, TPA_ALG_SHA3_256,
                                TPA_ALG_SHA3_384, TPA_ALG_SHA3_512};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_pcrs *a = NULL, *b = NULL;
	char *json = NULL;
	size_t unknown = 0;

	if (tpa_pcrs_from_json((const char *)data, size, &a, &unknown) != TPA_OK)
		return 0;
	for (int pretty = 0; pretty < 2; pretty++) {
		if (tpa_pcrs_to_json(a, pretty, &json) != TPA_OK)
			abort();
		if (tpa_pcrs_from_json(json, strlen(json), &b, NULL) != TPA_OK)
			abort();
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
				const uint8_t *va, *vb;
				size_t la, lb;
				int ra = tpa_pcrs_get(a, algs[i], k, &va, &la);
				int rb = tpa_pcrs_get(b, algs[i], k, &vb, &lb);
				if (ra != rb || (ra == TPA_OK && (la != lb || memcmp(va, vb, la))))
					abort();
			}
		tpa_pcrs_free(&b);
		free(json);
		json = NULL;
	}
	tpa_pcrs_free(&a);
	return 0;
}
