/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the policy and machine-state readers: whatever they
 * accept must write out and read back in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/policy.h>
#include <tpmattest/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_policy *a = NULL, *b = NULL;
	tpa_state st, st2;
	char *json = NULL, *json2 = NULL, why[200];

	if (tpa_policy_from_json((const char *)data, size, &a, why, sizeof(why)) == TPA_OK) {
		if (tpa_policy_to_json(a, &json) != TPA_OK ||
		    tpa_policy_from_json(json, strlen(json), &b, why, sizeof(why)) != TPA_OK ||
		    tpa_policy_to_json(b, &json2) != TPA_OK || strcmp(json, json2) != 0)
			abort();
		free(json);
		free(json2);
		json = json2 = NULL;
		tpa_policy_free(&a);
		tpa_policy_free(&b);
	}
	if (tpa_state_from_json((const char *)data, size, &st, why, sizeof(why)) == TPA_OK) {
		if (tpa_state_to_json(&st, &json) != TPA_OK ||
		    tpa_state_from_json(json, strlen(json), &st2, why, sizeof(why)) != TPA_OK ||
		    st.clock != st2.clock || st.counter != st2.counter ||
		    st.counter_name_len != st2.counter_name_len)
			abort();
		free(json);
	}
	return 0;
}
