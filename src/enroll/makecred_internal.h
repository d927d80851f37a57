/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: the pieces of software TPM2_MakeCredential, reachable by the unit
 * tests and the benchmark. */
#ifndef TPA_MAKECRED_INTERNAL_H
#define TPA_MAKECRED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include <tpmattest/enroll.h>

/* Longest KDF output we are asked for, in bytes (an HMAC key of SHA-512). */
#define TPA_KDF_MAX_BYTES 128

/*
 * KDFa (TPM 2.0 Part 1, 11.4.10.2): SP 800-108 counter mode with HMAC over
 * [i]_4 || label || 0x00 || contextU || contextV || [bits]_4.  label is a C
 * string; its terminating NUL is part of the input, as the TPM hashes it.
 * bits must be a positive multiple of 8, at most 8 * TPA_KDF_MAX_BYTES.
 */
int tpa_kdfa(uint16_t hash, const uint8_t *key, size_t keylen, const char *label, const uint8_t *u,
             size_t ulen, const uint8_t *v, size_t vlen, size_t bits, uint8_t *out);

/*
 * KDFe (Part 1, 11.4.10.3): SP 800-56A concatenation KDF,
 * H([i]_4 || Z || label || 0x00 || partyUInfo || partyVInfo), same rules.
 */
int tpa_kdfe(uint16_t hash, const uint8_t *z, size_t zlen, const char *label, const uint8_t *u,
             size_t ulen, const uint8_t *v, size_t vlen, size_t bits, uint8_t *out);

/* The EK public area, checked as tpa_credential_ek_check does, decoded. */
int tpa_credential_ek_decode(const uint8_t *ek_public, size_t len, TPMT_PUBLIC *out,
                             const char **template_name, char *why, size_t whylen);

/* tpa_credential_make with the AK given by its Name (nameAlg || digest). */
int tpa_credential_make_name(const uint8_t *ek_public, size_t ek_public_len, const uint8_t *name,
                             size_t name_len, const uint8_t *secret, size_t secret_len,
                             tpa_credential *out, char *why, size_t whylen);

#endif
