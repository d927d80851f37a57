/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Whether an event's digests are the hash of its data.  Only then may anything
 * read from the data be trusted: the digest is what the TPM saw, the data is
 * what the firmware chose to write next to it.  Which types define the digest
 * as H(data) follows PFP 1.05, 10.4.1 (Table 9) and what firmware does:
 *
 *  - EV_EFI_VARIABLE_BOOT: edk2 and most firmware hash only VariableData;
 *    PFP 1.05 says the whole UEFI_VARIABLE_DATA.  Both are accepted, so for
 *    such events "verified" covers the variable's contents only: its name
 *    and GUID (Boot0001 or Boot0002) are not measured and must not be
 *    trusted.
 *  - EV_IPL: not defined by PFP.  systemd-boot hashes the whole data.  GRUB
 *    logs "grub_cmd: ", "kernel_cmdline: " (2.04+) or "grub_cmd ",
 *    "grub_kernel_cmdline " (Red Hat) before the string it hashes, with or
 *    without the NUL.  A GRUB file measurement and shim's MokList hash
 *    something not in the log, so no match is "not applicable", not a
 *    mismatch.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "base/hash.h"
#include "base/reader.h"
#include "internal.h"

enum rule {
	RULE_NONE,
	RULE_DATA,     /* H(data) */
	RULE_VAR_BOOT, /* H(data) or H(VariableData) */
	RULE_IPL,      /* H(data) or H(data less its NUL); otherwise not applicable */
};

static enum rule rule_for(uint32_t type)
{
	switch (type) {
	case TPA_EV_SEPARATOR:
	case TPA_EV_ACTION:
	case TPA_EV_EFI_ACTION:
	case TPA_EV_S_CRTM_VERSION:
	case TPA_EV_OMIT_BOOT_DEVICE_EVENTS:
	case TPA_EV_EFI_VARIABLE_DRIVER_CONFIG:
	case TPA_EV_EFI_VARIABLE_BOOT2:
	case TPA_EV_EFI_VARIABLE_AUTHORITY:
	case TPA_EV_EFI_GPT_EVENT:
	case TPA_EV_EFI_GPT_EVENT2: return RULE_DATA;
	case TPA_EV_EFI_VARIABLE_BOOT: return RULE_VAR_BOOT;
	case TPA_EV_IPL: return RULE_IPL;
	default: return RULE_NONE;
	}
}

/* VariableData of a UEFI_VARIABLE_DATA (PFP 1.05, 10.4.3), if well formed. */
static int variable_data(const uint8_t *d, size_t len, const uint8_t **vd, size_t *vlen)
{
	tpa_rd r;
	uint64_t nlen, dlen;
	tpa_rd_init(&r, d, len);
	if (!tpa_rd_skip(&r, 16) || !tpa_rd_u64le(&r, &nlen) || !tpa_rd_u64le(&r, &dlen))
		return -1;
	if (nlen > tpa_rd_left(&r) / 2 || !tpa_rd_skip(&r, (size_t)nlen * 2))
		return -1;
	if (dlen != tpa_rd_left(&r))
		return -1;
	*vd = tpa_rd_ptr(&r);
	*vlen = (size_t)dlen;
	return 0;
}

/* 1 if every computable digest equals H(data), 0 if one differs, -1 if no
 * digest could be computed. */
static int all_match(const struct tpa_eventlog *log, const struct tpa_event *ev,
                     const uint8_t *data, size_t len, tpa_hctx *hc, int *err)
{
	int checked = 0;
	for (size_t a = 0; a < log->nalgs; a++) {
		uint8_t h[TPA_MAX_DIGEST];
		int r;
		if (!ev->digest[a] || !tpa_md(log->alg[a]))
			continue;
		if ((r = tpa_hctx_digest(hc, log->alg[a], data, len, NULL, 0, h)) != TPA_OK) {
			*err = r;
			return 0;
		}
		if (CRYPTO_memcmp(h, ev->digest[a], log->alg_size[a]) != 0)
			return 0;
		checked = 1;
	}
	return checked ? 1 : -1;
}

static int ipl_match(const struct tpa_eventlog *log, const struct tpa_event *ev, tpa_hctx *hc,
                     int *err)
{
	static const char *const prefixes[] = {
	        "",          "grub_cmd: ",          "kernel_cmdline: ", "module_cmdline: ",
	        "grub_cmd ", "grub_kernel_cmdline "};
	size_t n = ev->data_len;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		int m;
		if (n < pl || memcmp(ev->data, prefixes[i], pl) != 0)
			continue;
		if (pl && (m = all_match(log, ev, ev->data + pl, n - pl, hc, err)) != 0)
			return m;
		if (*err == TPA_OK && n > pl && ev->data[n - 1] == 0 &&
		    (m = all_match(log, ev, ev->data + pl, n - pl - 1, hc, err)) != 0)
			return m;
		if (*err != TPA_OK)
			return 0;
	}
	return 0;
}

int tpa_event_check_digest(const struct tpa_eventlog *log, const struct tpa_event *ev, tpa_hctx *hc,
                           uint8_t *check)
{
	enum rule rule = rule_for(ev->type);
	int m, err = TPA_OK;
	const uint8_t *vd;
	size_t vlen;

	*check = TPA_DIGEST_NOT_APPLICABLE;
	if (rule == RULE_NONE)
		return TPA_OK;
	m = all_match(log, ev, ev->data, ev->data_len, hc, &err);
	if (m == 0 && err == TPA_OK && rule == RULE_VAR_BOOT &&
	    variable_data(ev->data, ev->data_len, &vd, &vlen) == 0)
		m = all_match(log, ev, vd, vlen, hc, &err);
	if (m == 0 && err == TPA_OK && rule == RULE_IPL)
		m = ipl_match(log, ev, hc, &err);
	if (err != TPA_OK)
		return err;
	if (m == 1)
		*check = TPA_DIGEST_VERIFIED;
	else if (m == 0 && rule != RULE_IPL)
		*check = TPA_DIGEST_MISMATCH;
	return TPA_OK;
}
