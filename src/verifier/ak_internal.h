/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TPA_AK_INTERNAL_H
#define TPA_AK_INTERNAL_H

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"

struct tpa_ak {
	int has_public;
	TPMT_PUBLIC pub;
	uint8_t name[2 + 64];
	size_t name_len;
	EVP_PKEY *pkey;
	tpa_sigpin pin;
};

#endif
