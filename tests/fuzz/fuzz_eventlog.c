/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the event log parser: parse, and on success exercise
 * every accessor, replay, digest checks and the decoders.  The seed corpus
 * also runs as an ordinary test through replay_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <tpmattest/eventlog.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks a decoded tree, touching every string so a sanitizer sees bad ones. */
static size_t walk(const tpa_field *f, unsigned depth)
{
	size_t n = 0;
	char g[37];
	for (; f; f = f->next) {
		n++;
		if (f->kind == TPA_FIELD_STRING && f->str)
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

/* An independent replay of one bank with OpenSSL, compared with the
 * library's: values, incomplete marks and which PCRs have values. */
static void check_replay(const tpa_eventlog *log, const tpa_pcrs *pcrs, uint16_t alg,
                         const EVP_MD *md)
{
	uint8_t val[TPA_PCR_COUNT][64] = {{0}}, cat[128];
	int touched[TPA_PCR_COUNT] = {0}, incomplete[TPA_PCR_COUNT] = {0};
	size_t n = (size_t)EVP_MD_get_size(md);
	int declared = 0;

	for (size_t a = 0; a < tpa_eventlog_alg_count(log); a++)
		declared |= tpa_eventlog_alg(log, a) == alg;
	if (!declared)
		return;
	val[0][n - 1] = (uint8_t)tpa_eventlog_pcr0_locality(log);
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint32_t pcr = tpa_event_pcr(ev);
		const uint8_t *d;
		size_t dl = 0;
		if (tpa_event_type(ev) == TPA_EV_NO_ACTION)
			continue;
		if (pcr >= TPA_PCR_COUNT)
			abort();
		touched[pcr] = 1;
		if (!(d = tpa_event_digest(ev, alg, &dl))) {
			incomplete[pcr] = 1;
			continue;
		}
		if (dl != n)
			abort();
		memcpy(cat, val[pcr], n);
		memcpy(cat + n, d, n);
		if (!EVP_Digest(cat, 2 * n, val[pcr], NULL, md, NULL))
			abort();
	}
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
		const uint8_t *v;
		size_t vl;
		int r = tpa_pcrs_get(pcrs, alg, k, &v, &vl);
		if (!touched[k] || incomplete[k]) {
			if (r == TPA_OK || tpa_pcrs_is_incomplete(pcrs, alg, k) != incomplete[k])
				abort();
			continue;
		}
		if (r != TPA_OK || vl != n || memcmp(v, val[k], n) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_eventlog *log = NULL;
	tpa_parse_error err;
	tpa_pcrs *pcrs = NULL;
	uint8_t major, minor, errata;
	volatile size_t sink = 0;

	if (tpa_eventlog_parse(data, size, &log, &err) != TPA_OK) {
		if (log || memchr(err.reason, '\0', sizeof(err.reason)) == NULL)
			abort();
		return 0;
	}
	sink += tpa_eventlog_get_format(log) + tpa_eventlog_size(log);
	if (tpa_eventlog_size(log) > size)
		abort();
	tpa_eventlog_spec_version(log, &major, &minor, &errata);
	sink += tpa_eventlog_platform_class(log) + major + minor + errata;
	for (size_t a = 0; a < tpa_eventlog_alg_count(log); a++)
		sink += tpa_eventlog_alg(log, a) + tpa_eventlog_alg_size(log, a);
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		tpa_field *f = NULL;
		size_t len = 0;
		const uint8_t *p = tpa_event_data(ev, &len);
		if (len && p)
			sink += p[0] + p[len - 1];
		if (tpa_event_index(ev) != i || tpa_event_offset(ev) >= size)
			abort();
		sink += tpa_event_pcr(ev) + tpa_event_type(ev) + tpa_event_digest_check(ev);
		(void)tpa_event_type_name(tpa_event_type(ev));
		for (size_t a = 0; a < tpa_eventlog_alg_count(log); a++) {
			size_t dl = 0;
			const uint8_t *d = tpa_event_digest(ev, tpa_eventlog_alg(log, a), &dl);
			if (d && dl)
				sink += d[dl - 1];
		}
		if (tpa_event_decode(ev, &f) == TPA_OK) {
			sink += walk(f, 0);
			tpa_fields_free(&f);
		}
	}
	if (tpa_eventlog_get(log, tpa_eventlog_count(log)) != NULL)
		abort();
	sink += (size_t)tpa_eventlog_pcr0_locality(log);
	if (tpa_eventlog_replay(log, &pcrs) == TPA_OK) {
		char *json = NULL;
		check_replay(log, pcrs, TPA_ALG_SHA1, EVP_sha1());
		check_replay(log, pcrs, TPA_ALG_SHA256, EVP_sha256());
		for (size_t b = 0; b < tpa_pcrs_bank_count(pcrs); b++) {
			uint16_t alg = tpa_pcrs_bank_alg(pcrs, b);
			for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
				const uint8_t *v;
				size_t vl;
				if (tpa_pcrs_get(pcrs, alg, k, &v, &vl) == TPA_OK) {
					sink += v[0];
					if (k == 5)
						sink += (size_t)tpa_eventlog_ebs_missing(log, alg,
						                                         v, vl);
				}
				sink += (size_t)tpa_pcrs_is_incomplete(pcrs, alg, k);
			}
		}
		if (tpa_pcrs_to_json(pcrs, 0, &json) == TPA_OK)
			free(json);
		tpa_pcrs_free(&pcrs);
	}
	tpa_eventlog_free(&log);
	if (log)
		abort();
	(void)sink;
	return 0;
}
