/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the TCG default EK templates, shared by the TPM client (which
 * creates EKs from them) and the verifier (which rebuilds an EK's public
 * area from its certificate to compute names). */
#ifndef TPA_EK_H
#define TPA_EK_H

#include <tss2/tss2_tpm2_types.h>

/* Templates L-1 (RSA 2048) and L-2 (ECC NIST P-256), TCG EK Credential
 * Profile 2.0, B.3.3 and B.3.4, with an empty unique field of the right size. */
void tpa_ek_template(uint16_t alg, TPM2B_PUBLIC *p);

#endif
