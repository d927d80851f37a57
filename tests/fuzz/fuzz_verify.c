/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for what a verifier reads from the network besides JSON:
 * AK public areas (TPM2B_PUBLIC, TPMT_PUBLIC, SPKI) and quotes.  The input is
 * split by two length bytes into an attestation and a signature, checked by
 * the engine against a fixed RSA AK and nonce; the whole input is also read
 * as an AK.  Nothing may crash, and nothing here can be forged into a "yes".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An RSA-2048 restricted signing key (TPM2B_PUBLIC) made on swtpm. */
static const uint8_t ak_pub[] = {
#include "fuzz_verify_ak.inc"
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tpa_ak *ak;
	static const uint8_t nonce[16] = {0x52, 0x21, 0x9c, 0xe3, 0x16, 0xf0, 0x10, 0xa6,
	                                  0xfc, 0xf2, 0x6c, 0x83, 0x17, 0xf9, 0x82, 0xf0};
	tpa_ak *other = NULL;
	tpa_pcrs *pcrs = NULL;
	tpa_result *res = NULL;
	tpa_verify_input in;
	char why[200];
	size_t alen;
	uint8_t v[32];

	if (!ak && tpa_ak_parse(ak_pub, sizeof(ak_pub), &ak, why, sizeof(why)) != TPA_OK)
		abort();
	if (tpa_ak_parse(data, size, &other, why, sizeof(why)) == TPA_OK) {
		const uint8_t *name;
		size_t nl;
		(void)tpa_ak_check(other, why, sizeof(why));
		(void)tpa_ak_name(other, &name, &nl);
		tpa_ak_free(&other);
	}
	if (size < 2)
		return 0;
	alen = (size_t)data[0] << 8 | data[1];
	if (alen > size - 2)
		return 0;
	if (tpa_pcrs_new(&pcrs) != TPA_OK)
		abort();
	for (unsigned k = 0; k < 3; k++) {
		memset(v, (int)k, sizeof(v));
		tpa_pcrs_set(pcrs, TPA_ALG_SHA256, k, v, sizeof(v));
	}
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.attest = data + 2;
	in.attest_len = alen;
	in.signature = data + 2 + alen;
	in.signature_len = size - 2 - alen;
	in.pcrs = pcrs;
	/* Only a genuine signature by the AK could pass; the fuzzer has none
	 * over values of its choosing. */
	if (tpa_verify(&in, &res) == TPA_OK && alen > 0) {
		tpa_check_status st;
		if (tpa_result_find(res, "signature", &st, NULL) != TPA_OK || st != TPA_CHECK_PASS)
			abort();
	}
	tpa_result_free(&res);
	tpa_pcrs_free(&pcrs);
	return 0;
}
