/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal layout of a parsed event log, shared by parse, replay and decode. */
#ifndef TPA_EVENTLOG_INTERNAL_H
#define TPA_EVENTLOG_INTERNAL_H

#include <stdatomic.h>

#include <tpmattest/eventlog.h>

struct tpa_event {
	const struct tpa_eventlog *log;
	size_t index;
	size_t offset;
	uint32_t pcr;
	uint32_t type;
	const uint8_t *data;
	uint32_t data_len;
	/* digest[i] belongs to the log's algorithm i; NULL when absent */
	const uint8_t *digest[TPA_EVENTLOG_MAX_ALGS];
	/* tpa_digest_check, or DIGEST_UNCHECKED until first asked: most callers
	 * read the data of few events, and hashing all of it is most of a
	 * parse's cost */
	_Atomic uint8_t check;
};

struct tpa_eventlog {
	uint8_t *buf;
	size_t len;
	size_t used;
	tpa_eventlog_format format;
	size_t nalgs;
	uint16_t alg[TPA_EVENTLOG_MAX_ALGS];
	uint16_t alg_size[TPA_EVENTLOG_MAX_ALGS];
	uint32_t platform_class;
	uint8_t spec_major, spec_minor, spec_errata;
	struct tpa_event *ev;
	size_t nev;
	size_t cap;
};

#define DIGEST_UNCHECKED 0xff

struct tpa_hctx;
/* Computes the tpa_digest_check of ev from its type and data (digest.c). */
int tpa_event_check_digest(const struct tpa_eventlog *log, const struct tpa_event *ev,
                           struct tpa_hctx *h, uint8_t *check);

#endif
