/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the evidence reader (tpa_evidence_from_json), which a
 * verifier runs on what the machine sends: whatever it accepts must write out
 * and read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/evidence.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_evidence *a = NULL, *b = NULL;
	char *json = NULL;
	if (tpa_evidence_from_json((const char *)data, size, &a) != TPA_OK)
		return 0;
	if (tpa_evidence_to_json(a, 0, &json) != TPA_OK)
		abort();
	if (tpa_evidence_from_json(json, strlen(json), &b) != TPA_OK)
		abort();
	for (int p = 0; p < TPA_PART_COUNT_; p++) {
		size_t la = 0, lb = 0;
		const uint8_t *x = tpa_evidence_get(a, (tpa_evidence_part)p, &la);
		const uint8_t *y = tpa_evidence_get(b, (tpa_evidence_part)p, &lb);
		if (!x != !y || la != lb || (x && memcmp(x, y, la) != 0))
			abort();
	}
	free(json);
	tpa_evidence_free(&a);
	tpa_evidence_free(&b);
	return 0;
}
