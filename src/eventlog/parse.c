/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event log parser.  TCG PC Client Platform Firmware Profile 1.05:
 * TCG_PCR_EVENT (10.2.1), TCG_PCR_EVENT2 (10.2.2), TCG_EfiSpecIDEvent
 * (10.4.5.1).  All integers are little-endian.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/reader.h"
#include "internal.h"

#define SHA1_SIZE 20
static const char spec_id_sig[16] = "Spec ID Event03"; /* includes the NUL */

static int fail(tpa_parse_error *err, int code, size_t off, size_t rec, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int fail(tpa_parse_error *err, int code, size_t off, size_t rec, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->offset = off;
		err->event = rec;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char *alg_label(uint16_t alg, char buf[static 16])
{
	const char *n = tpa_alg_name(alg);
	if (n)
		return n;
	snprintf(buf, 16, "alg 0x%04x", alg);
	return buf;
}

/* TCG_EfiSpecIDEvent, which must fill the event data exactly. */
static int parse_spec_id(struct tpa_eventlog *log, tpa_rd *d, tpa_parse_error *err)
{
	uint32_t nalgs;
	uint8_t uintn, vendor_size;
	const uint8_t *sig;

	if (!tpa_rd_bytes(d, 16, &sig) || !tpa_rd_u32le(d, &log->platform_class) ||
	    !tpa_rd_u8(d, &log->spec_minor) || !tpa_rd_u8(d, &log->spec_major) ||
	    !tpa_rd_u8(d, &log->spec_errata) || !tpa_rd_u8(d, &uintn) || !tpa_rd_u32le(d, &nalgs))
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d), 0,
		            "Spec ID event too short for its fixed fields");
	if (uintn != 1 && uintn != 2)
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d) - 5, 0,
		            "Spec ID uintnSize %u is neither 1 nor 2", uintn);
	if (nalgs == 0)
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d) - 4, 0,
		            "Spec ID declares no digest algorithm");
	if (nalgs > TPA_EVENTLOG_MAX_ALGS)
		return fail(err, TPA_E_LIMIT, tpa_rd_offset(d) - 4, 0,
		            "Spec ID declares %u algorithms (at most %u supported)", nalgs,
		            TPA_EVENTLOG_MAX_ALGS);
	for (uint32_t i = 0; i < nalgs; i++) {
		uint16_t alg, size;
		size_t off = tpa_rd_offset(d), known;
		char lb[16];
		if (!tpa_rd_u16le(d, &alg) || !tpa_rd_u16le(d, &size))
			return fail(err, TPA_E_MALFORMED, off, 0,
			            "Spec ID event ends inside algorithm entry %u of %u", i, nalgs);
		known = tpa_alg_digest_size(alg);
		if (known && size != known)
			return fail(err, TPA_E_MALFORMED, off, 0,
			            "Spec ID declares %s with digest size %u (must be %zu)",
			            alg_label(alg, lb), size, known);
		if (size == 0 || size > TPA_MAX_DIGEST)
			return fail(err, TPA_E_MALFORMED, off, 0,
			            "Spec ID declares %s with digest size %u", alg_label(alg, lb),
			            size);
		for (size_t j = 0; j < log->nalgs; j++)
			if (log->alg[j] == alg)
				return fail(err, TPA_E_MALFORMED, off, 0,
				            "Spec ID declares %s twice", alg_label(alg, lb));
		log->alg[log->nalgs] = alg;
		log->alg_size[log->nalgs] = size;
		log->nalgs++;
	}
	if (!tpa_rd_u8(d, &vendor_size))
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d), 0,
		            "Spec ID event ends before vendorInfoSize");
	if (!tpa_rd_skip(d, vendor_size))
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d) - 1, 0,
		            "Spec ID vendorInfoSize %u runs past the event's %zu remaining bytes",
		            vendor_size, tpa_rd_left(d));
	if (tpa_rd_left(d))
		return fail(err, TPA_E_MALFORMED, tpa_rd_offset(d), 0,
		            "%zu bytes left over inside the Spec ID event", tpa_rd_left(d));
	(void)sig;
	return TPA_OK;
}

static int push_event(struct tpa_eventlog *log, struct tpa_event **out)
{
	if (log->nev == log->cap) {
		size_t ncap = log->cap ? log->cap * 2 : 64;
		struct tpa_event *n;
		if (ncap > TPA_EVENTLOG_MAX_EVENTS)
			ncap = TPA_EVENTLOG_MAX_EVENTS;
		if (!(n = realloc(log->ev, ncap * sizeof(*n))))
			return TPA_E_NOMEM;
		log->ev = n;
		log->cap = ncap;
	}
	*out = &log->ev[log->nev++];
	memset(*out, 0, sizeof(**out));
	return TPA_OK;
}

static int is_spec_id(uint32_t type, const uint8_t *data, uint32_t len)
{
	/* Any "Spec ID EventNN" signature: Event00 (TPM 1.2) or Event03. */
	return type == TPA_EV_NO_ACTION && len >= 16 && memcmp(data, "Spec ID Event", 13) == 0;
}

static int parse_records(struct tpa_eventlog *log, tpa_rd *r, size_t rec, tpa_parse_error *err)
{
	int agile = log->format == TPA_EVENTLOG_CRYPTO_AGILE;

	for (;; rec++) {
		size_t off = tpa_rd_offset(r);
		uint32_t pcr, type, size, count = 1;
		const uint8_t *digest[TPA_EVENTLOG_MAX_ALGS] = {0};
		const uint8_t *data;
		struct tpa_event *ev;
		int ret;

		if (tpa_rd_all_zero(r))
			break; /* end of records, or zero padding */
		if (log->nev >= TPA_EVENTLOG_MAX_EVENTS)
			return fail(err, TPA_E_LIMIT, off, rec, "more than %u events",
			            TPA_EVENTLOG_MAX_EVENTS);
		if (!tpa_rd_u32le(r, &pcr) || !tpa_rd_u32le(r, &type))
			return fail(err, TPA_E_TRUNCATED, off, rec,
			            "record %zu: log ends inside the record header", rec);
		if (!agile) {
			if (!tpa_rd_bytes(r, SHA1_SIZE, &digest[0]))
				return fail(err, TPA_E_TRUNCATED, tpa_rd_offset(r), rec,
				            "record %zu: log ends inside the SHA-1 digest", rec);
		} else {
			size_t coff = tpa_rd_offset(r);
			if (!tpa_rd_u32le(r, &count))
				return fail(err, TPA_E_TRUNCATED, coff, rec,
				            "record %zu: log ends inside the digest count", rec);
			if (count > log->nalgs)
				return fail(err, TPA_E_MALFORMED, coff, rec,
				            "record %zu: digest count %u exceeds the %zu "
				            "algorithms the header declares",
				            rec, count, log->nalgs);
			for (uint32_t i = 0; i < count; i++) {
				size_t aoff = tpa_rd_offset(r), k;
				uint16_t alg;
				char lb[16];
				if (!tpa_rd_u16le(r, &alg))
					return fail(err, TPA_E_TRUNCATED, aoff, rec,
					            "record %zu: log ends inside digest %u", rec,
					            i);
				for (k = 0; k < log->nalgs && log->alg[k] != alg; k++)
					;
				if (k == log->nalgs)
					return fail(err, TPA_E_MALFORMED, aoff, rec,
					            "record %zu: digest algorithm %s is not "
					            "declared in the header",
					            rec, alg_label(alg, lb));
				if (digest[k])
					return fail(err, TPA_E_MALFORMED, aoff, rec,
					            "record %zu: %s digest listed twice", rec,
					            alg_label(alg, lb));
				if (!tpa_rd_bytes(r, log->alg_size[k], &digest[k]))
					return fail(err, TPA_E_TRUNCATED, aoff + 2, rec,
					            "record %zu: log ends inside the %s digest",
					            rec, alg_label(alg, lb));
			}
		}
		size_t soff = tpa_rd_offset(r);
		if (!tpa_rd_u32le(r, &size))
			return fail(err, TPA_E_TRUNCATED, soff, rec,
			            "record %zu: log ends inside the event size", rec);
		if (size > tpa_rd_left(r))
			return fail(
			        err, TPA_E_TRUNCATED, soff, rec,
			        "record %zu: event size %u exceeds the %zu bytes left in the log",
			        rec, size, tpa_rd_left(r));
		if (size > TPA_EVENTLOG_MAX_EVENT_SIZE)
			return fail(err, TPA_E_LIMIT, soff, rec,
			            "record %zu: event size %u exceeds the limit of %u", rec, size,
			            TPA_EVENTLOG_MAX_EVENT_SIZE);
		tpa_rd_bytes(r, size, &data);

		if (type == 0 && size == 0) {
			/* Terminator, as the Linux kernel treats it: what follows
			 * must be padding. */
			if (!tpa_rd_all_zero(r))
				return fail(err, TPA_E_TRAILING, tpa_rd_offset(r), rec,
				            "non-zero bytes after the terminating record %zu", rec);
			break;
		}
		if (type == TPA_EV_NO_ACTION ? (pcr >= TPA_PCR_COUNT && pcr != UINT32_MAX)
		                             : pcr >= TPA_PCR_COUNT)
			return fail(err, TPA_E_MALFORMED, off, rec,
			            "record %zu: PCR index %u out of range for %s", rec, pcr,
			            type == TPA_EV_NO_ACTION ? "EV_NO_ACTION (0-23 or 0xFFFFFFFF)"
			                                     : "a measured event (0-23)");
		if (agile && is_spec_id(type, data, size))
			return fail(
			        err, TPA_E_MALFORMED, off, rec,
			        "record %zu: a second Spec ID event (it must be first and once)",
			        rec);

		if ((ret = push_event(log, &ev)) != TPA_OK)
			return fail(err, ret, off, rec, "out of memory");
		ev->log = log;
		ev->index = log->nev - 1;
		ev->offset = off;
		ev->pcr = pcr;
		ev->type = type;
		ev->data = data;
		ev->data_len = size;
		memcpy(ev->digest, digest, sizeof(digest));
		atomic_init(&ev->check, DIGEST_UNCHECKED);
	}
	log->used = tpa_rd_offset(r);
	return TPA_OK;
}

int tpa_eventlog_parse(const uint8_t *buf, size_t len, tpa_eventlog **out, tpa_parse_error *err)
{
	struct tpa_eventlog *log;
	tpa_rd r;
	uint32_t pcr, type, size;
	const uint8_t *digest, *data;
	size_t rec = 0;
	int ret;

	if ((!buf && len) || !out)
		return fail(err, TPA_E_INVALID_ARG, 0, 0, "invalid argument");
	if (len > TPA_EVENTLOG_MAX_SIZE)
		return fail(err, TPA_E_LIMIT, 0, 0, "log of %zu bytes exceeds the limit of %u", len,
		            TPA_EVENTLOG_MAX_SIZE);
	if (len == 0)
		return fail(err, TPA_E_MALFORMED, 0, 0, "the log is empty");
	if (!(log = calloc(1, sizeof(*log))) || !(log->buf = malloc(len))) {
		free(log);
		return fail(err, TPA_E_NOMEM, 0, 0, "out of memory");
	}
	memcpy(log->buf, buf, len);
	log->len = len;
	tpa_rd_init(&r, log->buf, len);

	/* The first record is always a TCG_PCR_EVENT.  When it is the Spec ID
	 * Event03, the rest are TCG_PCR_EVENT2. */
	if (tpa_rd_u32le(&r, &pcr) && tpa_rd_u32le(&r, &type) &&
	    tpa_rd_bytes(&r, SHA1_SIZE, &digest) && tpa_rd_u32le(&r, &size) &&
	    size <= tpa_rd_left(&r) && type == TPA_EV_NO_ACTION && size >= sizeof(spec_id_sig) &&
	    memcmp(tpa_rd_ptr(&r), spec_id_sig, sizeof(spec_id_sig)) == 0) {
		tpa_rd d;
		tpa_rd_sub(&r, size, &d);
		if (pcr != 0) {
			ret = fail(err, TPA_E_MALFORMED, 0, 0,
			           "Spec ID event in PCR %u (must be 0)", pcr);
			goto bad;
		}
		if ((ret = parse_spec_id(log, &d, err)) != TPA_OK)
			goto bad;
		log->format = TPA_EVENTLOG_CRYPTO_AGILE;
		rec = 1;
	} else {
		tpa_rd_init(&r, log->buf, len);
		log->format = TPA_EVENTLOG_SHA1;
		log->nalgs = 1;
		log->alg[0] = TPA_ALG_SHA1;
		log->alg_size[0] = SHA1_SIZE;
	}
	(void)data;
	ret = parse_records(log, &r, rec, err);
	if (ret != TPA_OK)
		goto bad;
	*out = log;
	return TPA_OK;
bad:
	tpa_eventlog_free(&log);
	return ret;
}

void tpa_eventlog_free(tpa_eventlog **plog)
{
	if (!plog || !*plog)
		return;
	free((*plog)->ev);
	free((*plog)->buf);
	free(*plog);
	*plog = NULL;
}

tpa_eventlog_format tpa_eventlog_get_format(const tpa_eventlog *log)
{
	return log->format;
}
size_t tpa_eventlog_size(const tpa_eventlog *log)
{
	return log->used;
}
size_t tpa_eventlog_count(const tpa_eventlog *log)
{
	return log->nev;
}

const tpa_event *tpa_eventlog_get(const tpa_eventlog *log, size_t i)
{
	return i < log->nev ? &log->ev[i] : NULL;
}

size_t tpa_eventlog_alg_count(const tpa_eventlog *log)
{
	return log->nalgs;
}
uint16_t tpa_eventlog_alg(const tpa_eventlog *log, size_t i)
{
	return i < log->nalgs ? log->alg[i] : 0;
}
uint16_t tpa_eventlog_alg_size(const tpa_eventlog *log, size_t i)
{
	return i < log->nalgs ? log->alg_size[i] : 0;
}
uint32_t tpa_eventlog_platform_class(const tpa_eventlog *log)
{
	return log->platform_class;
}

void tpa_eventlog_spec_version(const tpa_eventlog *log, uint8_t *major, uint8_t *minor,
                               uint8_t *errata)
{
	if (major)
		*major = log->spec_major;
	if (minor)
		*minor = log->spec_minor;
	if (errata)
		*errata = log->spec_errata;
}

size_t tpa_event_index(const tpa_event *ev)
{
	return ev->index;
}
size_t tpa_event_offset(const tpa_event *ev)
{
	return ev->offset;
}
uint32_t tpa_event_pcr(const tpa_event *ev)
{
	return ev->pcr;
}
uint32_t tpa_event_type(const tpa_event *ev)
{
	return ev->type;
}
/* Computed on first use and kept: the result never changes, so threads that
 * race on the first call store the same value. */
static tpa_digest_check check_with(const tpa_event *ev, tpa_hctx *hc)
{
	uint8_t c = atomic_load(&ev->check);
	if (c != DIGEST_UNCHECKED)
		return (tpa_digest_check)c;
	/* A hash that cannot be computed verifies nothing: fail closed. */
	if (tpa_event_check_digest(ev->log, ev, hc, &c) != TPA_OK)
		c = TPA_DIGEST_MISMATCH;
	/* The events live in the log's heap array; only the API is const. */
	atomic_store((_Atomic uint8_t *)(uintptr_t)&ev->check, c);
	return (tpa_digest_check)c;
}

void tpa_eventlog_check_digests(const tpa_eventlog *log)
{
	tpa_hctx hc = {0};
	for (size_t i = 0; i < log->nev; i++)
		check_with(&log->ev[i], &hc);
	tpa_hctx_free(&hc);
}

tpa_digest_check tpa_event_digest_check(const tpa_event *ev)
{
	tpa_hctx hc = {0};
	tpa_digest_check c = check_with(ev, &hc);
	tpa_hctx_free(&hc);
	return c;
}

const uint8_t *tpa_event_data(const tpa_event *ev, size_t *len)
{
	if (len)
		*len = ev->data_len;
	return ev->data;
}

const uint8_t *tpa_event_digest(const tpa_event *ev, uint16_t alg, size_t *len)
{
	const struct tpa_eventlog *log = ev->log;
	for (size_t i = 0; i < log->nalgs; i++) {
		if (log->alg[i] != alg)
			continue;
		if (ev->digest[i] && len)
			*len = log->alg_size[i];
		return ev->digest[i];
	}
	return NULL;
}
