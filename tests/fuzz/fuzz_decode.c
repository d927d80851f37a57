/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the event data decoders: the first byte picks an
 * event type, the rest is that event's data, wrapped in a one-record SHA-1
 * format log so it goes through the public API (parse, digest check,
 * decode).  Reaches the decoders without having to forge a whole log.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/eventlog.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t types[] = {
        TPA_EV_POST_CODE,
        TPA_EV_NO_ACTION,
        TPA_EV_SEPARATOR,
        TPA_EV_ACTION,
        TPA_EV_EVENT_TAG,
        TPA_EV_S_CRTM_CONTENTS,
        TPA_EV_S_CRTM_VERSION,
        TPA_EV_COMPACT_HASH,
        TPA_EV_IPL,
        TPA_EV_OMIT_BOOT_DEVICE_EVENTS,
        TPA_EV_POST_CODE2,
        TPA_EV_EFI_VARIABLE_DRIVER_CONFIG,
        TPA_EV_EFI_VARIABLE_BOOT,
        TPA_EV_EFI_BOOT_SERVICES_APPLICATION,
        TPA_EV_EFI_BOOT_SERVICES_DRIVER,
        TPA_EV_EFI_RUNTIME_SERVICES_DRIVER,
        TPA_EV_EFI_GPT_EVENT,
        TPA_EV_EFI_ACTION,
        TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB,
        TPA_EV_EFI_HANDOFF_TABLES,
        TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2,
        TPA_EV_EFI_HANDOFF_TABLES2,
        TPA_EV_EFI_VARIABLE_BOOT2,
        TPA_EV_EFI_GPT_EVENT2,
        TPA_EV_EFI_HCRTM_EVENT,
        TPA_EV_EFI_VARIABLE_AUTHORITY,
        TPA_EV_EFI_SPDM_FIRMWARE_BLOB,
        0x12345678,
};

static size_t walk(const tpa_field *f, unsigned depth)
{
	size_t n = 0;
	char g[37];
	for (; f; f = f->next) {
		n++;
		if (f->kind == TPA_FIELD_STRING)
			n += strlen(f->str);
		else if (f->kind == TPA_FIELD_GUID && f->len == 16)
			tpa_guid_to_string(f->bytes, g);
		else if (f->kind == TPA_FIELD_HEX && f->len)
			n += f->bytes[f->len - 1];
		if (depth < 64)
			n += walk(f->child, depth + 1);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *log_bytes;
	size_t dlen, len;
	uint32_t type;
	tpa_eventlog *log = NULL;
	tpa_field *f = NULL;
	volatile size_t sink;

	if (size < 1 || size > 1u << 20)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	dlen = size - 1;
	len = 32 + dlen;
	if (!(log_bytes = calloc(1, len)))
		return 0;
	/* TCG_PCR_EVENT: PCR 1, type, a non-zero SHA-1 digest, size, data */
	log_bytes[0] = 1;
	memcpy(log_bytes + 4,
	       &(uint8_t[4]){(uint8_t)type, (uint8_t)(type >> 8), (uint8_t)(type >> 16),
	                     (uint8_t)(type >> 24)},
	       4);
	memset(log_bytes + 8, 0xa5, 20);
	log_bytes[28] = (uint8_t)dlen;
	log_bytes[29] = (uint8_t)(dlen >> 8);
	log_bytes[30] = (uint8_t)(dlen >> 16);
	log_bytes[31] = (uint8_t)(dlen >> 24);
	if (dlen)
		memcpy(log_bytes + 32, data + 1, dlen);
	if (tpa_eventlog_parse(log_bytes, len, &log, NULL) == TPA_OK) {
		/* a spec-ID-looking NO_ACTION makes this a different log; only
		 * a one-record log is of interest here */
		if (tpa_eventlog_count(log) == 1 &&
		    tpa_event_decode(tpa_eventlog_get(log, 0), &f) == TPA_OK) {
			sink = walk(f, 0);
			(void)sink;
			tpa_fields_free(&f);
		}
		tpa_eventlog_free(&log);
	}
	free(log_bytes);
	return 0;
}
