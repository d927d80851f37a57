/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Golden-measurement policy: format (docs/policy.md), learning, merging, and
 * evaluation against quoted PCR values and a log that replayed to them.
 *
 * Every PCR a policy requires quoted is ruled, by its value, by its events,
 * or by either (after a merge); a rule says what must appear as well as
 * what may; a secure-boot variable is judged only when it decodes
 * completely.  Lookups are hashed, so the cost of a rule does not grow with
 * the number of values it allows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <tpmattest/policy.h>

#include "base/hash.h"
#include "base/json.h"
#include "policy_internal.h"
#include "base/reader.h"
#include "base/util.h"

/* Values or events one rule may allow; a policy document is capped at
 * TPA_JSON_MAX anyway, which holds about 240,000 SHA-256 values. */
#define POLICY_MAX_ITEMS 262144u
/* Event types with a minimum count, per PCR. */
#define POLICY_MAX_COUNTS 32u
/* A minimum count larger than any log could satisfy is a typo. */
#define POLICY_MAX_COUNT 200000u

/* ---- digest sets ---- */

/* Digests of one size in insertion order, with an open-addressing index
 * (load at most 1/2), per-digest notes and "required" flags. */
typedef struct dset {
	uint8_t *d;
	char **note;
	uint8_t *req;
	size_t n, cap, dlen;
	uint32_t *slot; /* index + 1; 0 is empty */
	size_t nslot;
} dset;

/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012) under a key drawn once per
 * process: the digests are chosen by whoever wrote the log or the policy,
 * and with an unkeyed hash they could all be made to probe one cluster
 * (99,999 dbx entries made a verify take 11 s).
 */
static uint64_t sip_key[2];
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_init(void)
{
	if (RAND_bytes((unsigned char *)sip_key, sizeof(sip_key)) != 1) {
		/* Without randomness the table still works, only unkeyed. */
		sip_key[0] = 0x736f6d6570736575ull;
		sip_key[1] = 0x646f72616e646f6dull;
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t dhash(const uint8_t *d, size_t n)
{
	uint64_t v0, v1, v2, v3, m, b = (uint64_t)n << 56;
	size_t i = 0;
	pthread_once(&sip_once, sip_init);
	v0 = sip_key[0] ^ 0x736f6d6570736575ull;
	v1 = sip_key[1] ^ 0x646f72616e646f6dull;
	v2 = sip_key[0] ^ 0x6c7967656e657261ull;
	v3 = sip_key[1] ^ 0x7465646279746573ull;
	for (; i + 8 <= n; i += 8) {
		m = tpa_le64(d + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < n; k++)
		b |= (uint64_t)d[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static size_t dset_find(const dset *s, const uint8_t *d)
{
	if (!s->nslot)
		return SIZE_MAX;
	for (size_t i = dhash(d, s->dlen) & (s->nslot - 1);; i = (i + 1) & (s->nslot - 1)) {
		uint32_t x = s->slot[i];
		if (!x)
			return SIZE_MAX;
		if (memcmp(s->d + (size_t)(x - 1) * s->dlen, d, s->dlen) == 0)
			return x - 1;
	}
}

static int dset_grow_index(dset *s)
{
	size_t ns = s->nslot ? s->nslot * 2 : 16;
	uint32_t *sl = calloc(ns, sizeof(*sl));
	if (!sl)
		return TPA_E_NOMEM;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = dhash(s->d + k * s->dlen, s->dlen) & (ns - 1);
		while (sl[i])
			i = (i + 1) & (ns - 1);
		sl[i] = (uint32_t)(k + 1);
	}
	free(s->slot);
	s->slot = sl;
	s->nslot = ns;
	return TPA_OK;
}

/* Adds d (dlen bytes, fixed by the first add); an existing digest keeps its
 * note and gains req. */
static int dset_add(dset *s, const uint8_t *d, size_t dlen, const char *note, int req)
{
	size_t at;
	int r;
	if (!s->dlen)
		s->dlen = dlen;
	if (dlen != s->dlen)
		return TPA_E_MALFORMED;
	if ((at = dset_find(s, d)) != SIZE_MAX) {
		s->req[at] |= (uint8_t)(req != 0);
		return TPA_OK;
	}
	if (s->n == POLICY_MAX_ITEMS)
		return TPA_E_LIMIT;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		uint8_t *nd = realloc(s->d, nc * dlen), *nr;
		char **nn;
		if (!nd)
			return TPA_E_NOMEM;
		s->d = nd;
		if (!(nn = realloc(s->note, nc * sizeof(*nn))))
			return TPA_E_NOMEM;
		s->note = nn;
		if (!(nr = realloc(s->req, nc)))
			return TPA_E_NOMEM;
		s->req = nr;
		s->cap = nc;
	}
	if (2 * (s->n + 1) > s->nslot && (r = dset_grow_index(s)) != TPA_OK)
		return r;
	s->note[s->n] = NULL;
	if (note && !(s->note[s->n] = strdup(note)))
		return TPA_E_NOMEM;
	memcpy(s->d + s->n * dlen, d, dlen);
	s->req[s->n] = (uint8_t)(req != 0);
	at = dhash(d, dlen) & (s->nslot - 1);
	while (s->slot[at])
		at = (at + 1) & (s->nslot - 1);
	s->slot[at] = (uint32_t)(s->n + 1);
	s->n++;
	return TPA_OK;
}

static void dset_free(dset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->note[i]);
	free(s->d);
	free(s->note);
	free(s->req);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* dst gains every digest of src; with req_too, src's required flags. */
static int dset_union(dset *dst, const dset *src, int req_too)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = dset_add(dst, src->d + i * src->dlen, src->dlen, src->note[i],
		                 req_too && src->req[i]);
		if (r != TPA_OK)
			return r;
	}
	return TPA_OK;
}

/* ---- the policy ---- */

enum sbvar { SB_SECUREBOOT, SB_PK, SB_KEK, SB_DB, SB_DBX, SB_NVARS, SB_NONE = SB_NVARS };

struct mincount {
	uint32_t type;
	uint32_t min;
};

struct bank {
	uint16_t alg;
	uint32_t required; /* pcrs */
	uint32_t valmask;  /* pcr_values */
	uint32_t evmask;   /* events */
	dset values[TPA_PCR_COUNT];
	dset events[TPA_PCR_COUNT];
};

struct tpa_policy {
	struct bank bank[TPA_MAX_BANKS];
	size_t nbanks;
	struct mincount counts[TPA_PCR_COUNT][POLICY_MAX_COUNTS];
	size_t ncounts[TPA_PCR_COUNT];
	int has_sb;
	/* SecureBoot: 1 on, 0 off, -1 must not be measured.  PK, KEK, db:
	 * allowed entries; dbx: required revocations; listed[v] == 0 means
	 * "must not be measured". */
	int sb_enabled;
	int listed[SB_NVARS];
	dset var[SB_NVARS];
	unsigned may_be_absent; /* bit per enum sbvar */
};

static const char *const sb_names[SB_NVARS] = {"SecureBoot", "PK", "KEK", "db", "dbx"};
static const char *const sb_keys[SB_NVARS] = {"enabled", "pk", "kek", "db", "dbx"};

static struct bank *bank_get(tpa_policy *p, uint16_t alg, int create)
{
	for (size_t i = 0; i < p->nbanks; i++)
		if (p->bank[i].alg == alg)
			return &p->bank[i];
	if (!create || p->nbanks == TPA_MAX_BANKS)
		return NULL;
	memset(&p->bank[p->nbanks], 0, sizeof(p->bank[0]));
	p->bank[p->nbanks].alg = alg;
	return &p->bank[p->nbanks++];
}

static const struct bank *bank_find(const tpa_policy *p, uint16_t alg)
{
	for (size_t i = 0; i < p->nbanks; i++)
		if (p->bank[i].alg == alg)
			return &p->bank[i];
	return NULL;
}

void tpa_policy_free(tpa_policy **pp)
{
	tpa_policy *p;
	if (!pp || !*pp)
		return;
	p = *pp;
	for (size_t i = 0; i < p->nbanks; i++)
		for (int k = 0; k < TPA_PCR_COUNT; k++) {
			dset_free(&p->bank[i].values[k]);
			dset_free(&p->bank[i].events[k]);
		}
	for (int v = 0; v < SB_NVARS; v++)
		dset_free(&p->var[v]);
	free(p);
	*pp = NULL;
}

static tpa_policy *policy_alloc(void)
{
	tpa_policy *p = calloc(1, sizeof(*p));
	if (p)
		p->sb_enabled = -1;
	return p;
}

static uint32_t required_any(const tpa_policy *p)
{
	uint32_t m = 0;
	for (size_t i = 0; i < p->nbanks; i++)
		m |= p->bank[i].required;
	return m;
}

static uint32_t valued_any(const tpa_policy *p)
{
	uint32_t m = 0;
	for (size_t i = 0; i < p->nbanks; i++)
		m |= p->bank[i].valmask;
	return m;
}

static uint32_t evented_any(const tpa_policy *p)
{
	uint32_t m = 0;
	for (size_t i = 0; i < p->nbanks; i++)
		m |= p->bank[i].evmask;
	return m;
}

/* ---- reading the log ---- */

/* Types a policy can judge.  EV_UNUSED and types this library does not
 * know have no business in a ruled PCR: a relabelled event looks like that. */
static int known_type(uint32_t t)
{
	return t != TPA_EV_UNUSED && t != TPA_EV_PREBOOT_CERT && tpa_event_type_name(t) != NULL;
}

/* Events whose presence a learnt rule requires: the separators, the boot
 * applications (PCR 4), the boot loader's commands, command line and files
 * (EV_IPL in PCRs 8, 9, 12), tagged events (systemd's). */
static int presence_type(uint32_t t)
{
	return t == TPA_EV_SEPARATOR || t == TPA_EV_EFI_BOOT_SERVICES_APPLICATION ||
	       t == TPA_EV_IPL || t == TPA_EV_EVENT_TAG;
}

static int type_from_name(const char *name, uint32_t *t)
{
	static const uint32_t ranges[][2] = {
	        {0x0, 0x13}, {0x80000001, 0x80000010}, {0x800000e0, 0x800000e2}};
	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
		for (uint32_t x = ranges[r][0]; x <= ranges[r][1]; x++) {
			const char *n = tpa_event_type_name(x);
			if (n && strcmp(n, name) == 0 && known_type(x)) {
				*t = x;
				return 0;
			}
		}
	return -1;
}

static const uint8_t global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                        0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
static const uint8_t imagesec_guid[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                          0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
/* EFI_CERT_X509_GUID and EFI_CERT_SHA256_GUID (UEFI 2.10, 32.4.1) */
static const uint8_t cert_x509_guid[16] = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                           0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
static const uint8_t cert_sha256_guid[16] = {0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                             0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28};

/* UEFI_VARIABLE_DATA (PFP 1.05, 10.4.3), read from the raw event data. */
struct uvar {
	const uint8_t *guid, *name, *data;
	uint64_t nlen, dlen;
	int whole; /* name and data fill the event data exactly */
};

static int uvar_read(const tpa_event *ev, struct uvar *v)
{
	size_t len;
	const uint8_t *d = tpa_event_data(ev, &len);
	tpa_rd r;
	tpa_rd_init(&r, d, len);
	memset(v, 0, sizeof(*v));
	if (!tpa_rd_bytes(&r, 16, &v->guid) || !tpa_rd_u64le(&r, &v->nlen) ||
	    !tpa_rd_u64le(&r, &v->dlen) || v->nlen > tpa_rd_left(&r) / 2 ||
	    !tpa_rd_bytes(&r, (size_t)v->nlen * 2, &v->name))
		return -1;
	v->data = tpa_rd_ptr(&r);
	v->whole = v->dlen == tpa_rd_left(&r);
	return 0;
}

/*
 * Which secure-boot variable ev measures: an EV_EFI_VARIABLE_DRIVER_CONFIG
 * event in PCR 7 whose raw GUID and UTF-16 name are exactly one of them.
 * Learning and evaluation both use this one function, so a name such as
 * "SecureBoot\0X" is the same (not a secure-boot variable) to both.
 */
static enum sbvar sb_var(const tpa_event *ev, struct uvar *out)
{
	struct uvar v;
	if (tpa_event_pcr(ev) != 7 || tpa_event_type(ev) != TPA_EV_EFI_VARIABLE_DRIVER_CONFIG ||
	    uvar_read(ev, &v) != 0)
		return SB_NONE;
	for (int i = 0; i < SB_NVARS; i++) {
		const char *n = sb_names[i];
		size_t nl = strlen(n);
		int same = v.nlen == nl &&
		           memcmp(v.guid, i <= SB_KEK ? global_guid : imagesec_guid, 16) == 0;
		for (size_t k = 0; same && k < nl; k++)
			same = v.name[2 * k] == (uint8_t)n[k] && v.name[2 * k + 1] == 0;
		if (same) {
			if (out)
				*out = v;
			return (enum sbvar)i;
		}
	}
	return SB_NONE;
}

/* SecureBoot's value: 1 or 0 from its one byte; a variable measured with no
 * data is one the firmware does not have (edk2 measures it so), which is
 * secure boot off (UEFI 2.10, 3.3).  -1: anything else. */
static int secureboot_value(const struct uvar *u)
{
	if (u->dlen == 0)
		return 0;
	if (u->dlen == 1 && u->data[0] <= 1)
		return u->data[0];
	return -1;
}

int tpa_policy_sb_variable(const tpa_event *ev)
{
	return sb_var(ev, NULL) != SB_NONE;
}

/*
 * Walks the EFI_SIGNATURE_LISTs of a variable's data (UEFI 2.10, 32.4.1),
 * calling fn with each entry's identity: the SHA-256 of an X.509
 * certificate's DER, or the hash an EFI_CERT_SHA256 entry holds.  The lists
 * must fill the data exactly, and only those two types (the ones db, dbx,
 * KEK and PK hold on real machines) are judged: anything else, or more than
 * TPA_POLICY_MAX_SIGNATURES entries, is a reason why not, returned.
 */
static const char *siglists(const uint8_t *d, size_t n, int (*fn)(void *, const uint8_t *),
                            void *ctx, size_t *count, int *err)
{
	tpa_rd r;
	size_t c = 0;
	tpa_rd_init(&r, d, n);
	*err = TPA_OK;
	while (tpa_rd_left(&r)) {
		const uint8_t *type;
		uint32_t lsize, hsize, ssize;
		tpa_rd body;
		int x509, sha;
		if (!tpa_rd_bytes(&r, 16, &type) || !tpa_rd_u32le(&r, &lsize) ||
		    !tpa_rd_u32le(&r, &hsize) || !tpa_rd_u32le(&r, &ssize))
			return "an EFI_SIGNATURE_LIST header is truncated";
		if (lsize < 28 || !tpa_rd_sub(&r, lsize - 28, &body))
			return "an EFI_SIGNATURE_LIST's size runs past the data";
		x509 = memcmp(type, cert_x509_guid, 16) == 0;
		sha = memcmp(type, cert_sha256_guid, 16) == 0;
		if (!x509 && !sha)
			return "it holds a signature type other than X.509 and SHA-256, which a "
			       "policy cannot judge";
		if (hsize != 0)
			return "an EFI_SIGNATURE_LIST has a header, which its type does not have";
		if ((sha && ssize != 16 + 32) || (x509 && ssize <= 16) ||
		    tpa_rd_left(&body) % ssize || !tpa_rd_left(&body))
			return "an EFI_SIGNATURE_LIST's signature size does not fit its type or "
			       "its list";
		while (tpa_rd_left(&body)) {
			const uint8_t *s = NULL;
			uint8_t h[32];
			if (++c > TPA_POLICY_MAX_SIGNATURES)
				return "it holds more entries than TPA_POLICY_MAX_SIGNATURES";
			tpa_rd_bytes(&body, ssize, &s);
			if (x509 && tpa_hash(TPA_ALG_SHA256, s + 16, ssize - 16, h) != TPA_OK) {
				*err = TPA_E_CRYPTO;
				return "SHA-256 is not available";
			}
			if (fn && (*err = fn(ctx, x509 ? h : s + 16)) != TPA_OK)
				return "out of memory";
		}
	}
	*count = c;
	return NULL;
}

static int log_has_events(const tpa_eventlog *log, unsigned pcr)
{
	for (size_t i = 0; log && i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		if (tpa_event_pcr(ev) == pcr && tpa_event_type(ev) != TPA_EV_NO_ACTION)
			return 1;
	}
	return 0;
}

/* The value a PCR has after a TPM reset (PC Client PTP: 17-22 are all ones). */
static int at_reset(const uint8_t *v, size_t len, unsigned pcr)
{
	uint8_t want = pcr >= 17 && pcr <= 22 ? 0xff : 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] != want)
			return 0;
	return 1;
}

/* A short human note for a learnt event. */
static char *event_note(const tpa_event *ev)
{
	tpa_field *f = NULL;
	const tpa_field *x;
	char buf[512];
	const char *tn = tpa_event_type_name(tpa_event_type(ev));
	snprintf(buf, sizeof(buf), "%s", tn ? tn : "unknown");
	if (tpa_event_decode_ex(ev, TPA_DECODE_NO_X509, &f) == TPA_OK) {
		if ((x = tpa_field_get(f, "string")) && x->kind == TPA_FIELD_STRING)
			snprintf(buf, sizeof(buf), "%s %.400s", tn, x->str);
		else if ((x = tpa_field_get(f, "device_path")) && x->kind == TPA_FIELD_STRING)
			snprintf(buf, sizeof(buf), "%s %.400s", tn, x->str);
		else if ((x = tpa_field_get(f, "name")) && x->kind == TPA_FIELD_STRING)
			snprintf(buf, sizeof(buf), "%s %.400s", tn, x->str);
	}
	tpa_fields_free(&f);
	return strdup(buf);
}

/* The bank event rules use: the strongest one both quoted and in the log. */
static uint16_t rule_bank(const tpa_pcrs *q, const tpa_eventlog *log)
{
	static const uint16_t pref[] = {TPA_ALG_SHA512, TPA_ALG_SHA384, TPA_ALG_SHA256,
	                                TPA_ALG_SHA1};
	for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++) {
		int inq = 0, inlog = 0;
		for (size_t b = 0; b < tpa_pcrs_bank_count(q); b++)
			inq |= tpa_pcrs_bank_alg(q, b) == pref[i];
		for (size_t a = 0; a < tpa_eventlog_alg_count(log); a++)
			inlog |= tpa_eventlog_alg(log, a) == pref[i];
		if (inq && inlog)
			return pref[i];
	}
	return 0;
}

static int count_add(tpa_policy *p, unsigned k, uint32_t type, uint32_t by)
{
	for (size_t i = 0; i < p->ncounts[k]; i++)
		if (p->counts[k][i].type == type) {
			p->counts[k][i].min += by;
			return TPA_OK;
		}
	if (p->ncounts[k] == POLICY_MAX_COUNTS)
		return TPA_E_LIMIT;
	p->counts[k][p->ncounts[k]].type = type;
	p->counts[k][p->ncounts[k]++].min = by;
	return TPA_OK;
}

/* ---- learning ---- */

/* PCRs whose events can be judged one by one: drivers and option ROMs (2),
 * boot applications (4), secure boot (7), boot loader commands and files
 * (8, 9), systemd-boot and stub (12), shim's MOK lists (14). */
static const unsigned event_pcrs[] = {2, 4, 7, 8, 9, 12, 14};

static int is_event_pcr(unsigned k)
{
	for (size_t i = 0; i < sizeof(event_pcrs) / sizeof(event_pcrs[0]); i++)
		if (event_pcrs[i] == k)
			return 1;
	return 0;
}

struct addctx {
	dset *s;
};

static int add_id(void *ctx, const uint8_t *id)
{
	return dset_add(((struct addctx *)ctx)->s, id, 32, NULL, 0);
}

static int learn_secure_boot(tpa_policy *p, const tpa_eventlog *log, char *why, size_t whylen)
{
	int seen[SB_NVARS] = {0};
	p->has_sb = 1;
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		struct uvar u;
		enum sbvar v = sb_var(ev, &u);
		const char *bad;
		size_t n;
		int err;
		if (v == SB_NONE)
			continue;
		if (tpa_event_digest_check(ev) != TPA_DIGEST_VERIFIED) {
			snprintf(why, whylen, "event %zu (%s): its data does not match its digest",
			         i, sb_names[v]);
			return TPA_E_POLICY;
		}
		if (seen[v]++) {
			snprintf(why, whylen, "event %zu: %s is measured twice", i, sb_names[v]);
			return TPA_E_POLICY;
		}
		if (!u.whole) {
			snprintf(why, whylen,
			         "event %zu (%s): the variable's length does not match its data", i,
			         sb_names[v]);
			return TPA_E_POLICY;
		}
		if (v == SB_SECUREBOOT) {
			int on = secureboot_value(&u);
			if (on < 0) {
				snprintf(why, whylen,
				         "event %zu: SecureBoot is not empty or one byte of 0 or 1",
				         i);
				return TPA_E_POLICY;
			}
			p->sb_enabled = on;
			continue;
		}
		{
			struct addctx c = {&p->var[v]};
			p->listed[v] = 1;
			if ((bad = siglists(u.data, (size_t)u.dlen, add_id, &c, &n, &err))) {
				snprintf(why, whylen, "event %zu (%s) cannot be learnt: %s", i,
				         sb_names[v], bad);
				return err != TPA_OK ? err : TPA_E_POLICY;
			}
		}
	}
	return TPA_OK;
}

static int learn_events(tpa_policy *p, struct bank *rb, unsigned k, const tpa_eventlog *log,
                        char *why, size_t whylen)
{
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		uint32_t t = tpa_event_type(ev);
		size_t dl;
		const uint8_t *d;
		char *note;
		int r;
		if (tpa_event_pcr(ev) != k || t == TPA_EV_NO_ACTION)
			continue;
		if (sb_var(ev, NULL) != SB_NONE)
			continue; /* judged by the secure_boot rules */
		if (!known_type(t)) {
			snprintf(why, whylen,
			         "event %zu in PCR %u has type 0x%08x, which a policy cannot judge",
			         i, k, t);
			return TPA_E_POLICY;
		}
		if (!(d = tpa_event_digest(ev, rb->alg, &dl))) {
			snprintf(why, whylen, "event %zu in PCR %u has no %s digest", i, k,
			         tpa_alg_name(rb->alg));
			return TPA_E_POLICY;
		}
		note = event_note(ev);
		r = dset_add(&rb->events[k], d, dl, note, presence_type(t));
		free(note);
		if (r != TPA_OK)
			return r;
		/* Types beyond the table's size are allowed, just not counted. */
		if ((r = count_add(p, k, t, 1)) != TPA_OK && r != TPA_E_LIMIT)
			return r;
	}
	rb->evmask |= 1u << k;
	return TPA_OK;
}

int tpa_policy_learn(const tpa_pcrs *quoted, const tpa_eventlog *log, tpa_policy **out, char *why,
                     size_t whylen)
{
	tpa_policy *p;
	struct bank *rb = NULL;
	uint16_t ralg;
	int r = TPA_OK;

	if (!quoted || !out)
		return TPA_E_INVALID_ARG;
	if (!(p = policy_alloc()))
		return TPA_E_NOMEM;
	ralg = log ? rule_bank(quoted, log) : 0;
	for (size_t b = 0; b < tpa_pcrs_bank_count(quoted); b++) {
		struct bank *bk = bank_get(p, tpa_pcrs_bank_alg(quoted, b), 1);
		if (!bk) {
			r = TPA_E_LIMIT;
			goto bad;
		}
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if (tpa_pcrs_get(quoted, bk->alg, k, NULL, NULL) == TPA_OK)
				bk->required |= 1u << k;
	}
	if (!required_any(p)) {
		snprintf(why, whylen, "the quote covers no PCR");
		r = TPA_E_POLICY;
		goto bad;
	}
	if (ralg)
		rb = bank_get(p, ralg, 0);
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
		if (!(required_any(p) >> k & 1))
			continue;
		/* A PCR is ruled by its events where they can be judged one by
		 * one and the log shows them; every other quoted PCR by its
		 * value, an empty one by its reset value. */
		if (rb && is_event_pcr(k) && (rb->required >> k & 1) && log_has_events(log, k)) {
			if ((r = learn_events(p, rb, k, log, why, whylen)) != TPA_OK)
				goto bad;
			if (k == 7 && (r = learn_secure_boot(p, log, why, whylen)) != TPA_OK)
				goto bad;
			continue;
		}
		for (size_t b = 0; b < p->nbanks; b++) {
			struct bank *bk = &p->bank[b];
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_get(quoted, bk->alg, k, &v, &vl) != TPA_OK)
				continue;
			if ((r = dset_add(&bk->values[k], v, vl, NULL, 0)) != TPA_OK)
				goto bad;
			bk->valmask |= 1u << k;
		}
	}
	*out = p;
	return TPA_OK;
bad:
	tpa_policy_free(&p);
	return r;
}

/* ---- evaluation ---- */

#define WHY_MAX 300

struct eval {
	const tpa_policy *p;
	const tpa_pcrs *q;
	const tpa_eventlog *log;
	tpa_result *res;
	tpa_check_sink sink;
	size_t nvalues, nevents, nevpcrs;
};

static void verdict(struct eval *e, const char *name, int pass, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void verdict(struct eval *e, const char *name, int pass, const char *fmt, ...)
{
	char buf[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->sink(e->res, name, pass, pass ? TPA_OK : TPA_E_POLICY, buf);
}

static int eval_pcrs(struct eval *e)
{
	const tpa_policy *p = e->p;
	for (size_t b = 0; b < p->nbanks; b++)
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if ((p->bank[b].required >> k & 1) &&
			    tpa_pcrs_get(e->q, p->bank[b].alg, k, NULL, NULL) != TPA_OK) {
				verdict(e, "policy_pcrs", 0,
				        "rule pcrs: PCR %u of %s must be quoted but is not", k,
				        tpa_alg_name(p->bank[b].alg));
				return 0;
			}
	verdict(e, "policy_pcrs", 1, "every PCR the policy requires is quoted");
	return 1;
}

/* The value branch of PCR k: its quoted value is allowed in every bank that
 * rules it. */
static int eval_value(struct eval *e, unsigned k, char *why)
{
	for (size_t b = 0; b < e->p->nbanks; b++) {
		const struct bank *bk = &e->p->bank[b];
		const uint8_t *v;
		size_t vl;
		char hex[2 * TPA_MAX_DIGEST + 1];
		if (!(bk->valmask >> k & 1))
			continue;
		if (tpa_pcrs_get(e->q, bk->alg, k, &v, &vl) != TPA_OK) {
			snprintf(why, WHY_MAX, "rule pcr_values: PCR %u (%s) is not quoted", k,
			         tpa_alg_name(bk->alg));
			return 0;
		}
		if (vl != bk->values[k].dlen || dset_find(&bk->values[k], v) == SIZE_MAX) {
			tpa_hex_encode(v, vl, hex);
			snprintf(why, WHY_MAX,
			         "rule pcr_values: PCR %u (%s) is %.16s..., not one of the %zu "
			         "allowed values",
			         k, tpa_alg_name(bk->alg), hex, bk->values[k].n);
			return 0;
		}
	}
	return 1;
}

struct inset {
	const dset *allowed;
	uint8_t *seen; /* dbx: which required revocations were measured */
	uint8_t first_bad[32];
	int bad;
};

/* Measured entries are only looked up, never inserted: what the attacker
 * measured never grows a table. */
static int check_in(void *ctx, const uint8_t *id)
{
	struct inset *c = ctx;
	if (c->seen) {
		size_t at = dset_find(c->allowed, id);
		if (at != SIZE_MAX)
			c->seen[at] = 1;
		return TPA_OK;
	}
	if (dset_find(c->allowed, id) == SIZE_MAX && !c->bad) {
		memcpy(c->first_bad, id, 32);
		c->bad = 1;
	}
	return TPA_OK;
}

/* The secure-boot part of PCR 7's event branch. */
static int eval_secure_boot(struct eval *e, char *why)
{
	const tpa_policy *p = e->p;
	int seen[SB_NVARS] = {0};
	char hex[65];
	for (size_t i = 0; i < tpa_eventlog_count(e->log); i++) {
		const tpa_event *ev = tpa_eventlog_get(e->log, i);
		struct uvar u;
		enum sbvar v = sb_var(ev, &u);
		const char *bad;
		size_t n = 0;
		int err;
		if (v == SB_NONE)
			continue;
		if (tpa_event_digest_check(ev) != TPA_DIGEST_VERIFIED) {
			snprintf(why, WHY_MAX,
			         "event %zu (PCR 7, %s): its data is not what was measured (digest "
			         "mismatch)",
			         i, sb_names[v]);
			return 0;
		}
		if (seen[v]++) {
			snprintf(why, WHY_MAX, "event %zu: %s is measured twice", i, sb_names[v]);
			return 0;
		}
		if ((v == SB_SECUREBOOT && p->sb_enabled < 0) ||
		    (v != SB_SECUREBOOT && !p->listed[v])) {
			snprintf(why, WHY_MAX,
			         "event %zu (PCR 7): %s is measured, but the rule requires it not "
			         "to "
			         "be (it was not on the golden machine)",
			         i, sb_names[v]);
			return 0;
		}
		if (!u.whole) {
			snprintf(why, WHY_MAX,
			         "event %zu (PCR 7, %s): the variable's length does not match its "
			         "data, so it cannot be judged",
			         i, sb_names[v]);
			return 0;
		}
		if (v == SB_SECUREBOOT) {
			int on = secureboot_value(&u);
			if (on < 0) {
				snprintf(
				        why, WHY_MAX,
				        "event %zu (PCR 7, SecureBoot): not empty or one byte of 0 "
				        "or 1, so the state cannot be judged",
				        i);
				return 0;
			}
			if (on != p->sb_enabled) {
				snprintf(why, WHY_MAX,
				         "event %zu (PCR 7, SecureBoot): secure boot is %s, the "
				         "rule "
				         "requires it %s",
				         i, on ? "on" : "off", p->sb_enabled ? "on" : "off");
				return 0;
			}
			continue;
		}
		if (v == SB_DBX) {
			uint8_t *have = calloc(p->var[v].n + 1, 1);
			struct inset c = {&p->var[v], have, {0}, 0};
			size_t missing = SIZE_MAX;
			if (!have) {
				snprintf(why, WHY_MAX, "out of memory");
				return 0;
			}
			bad = siglists(u.data, (size_t)u.dlen, check_in, &c, &n, &err);
			for (size_t j = 0; !bad && j < p->var[v].n && missing == SIZE_MAX; j++)
				if (!have[j])
					missing = j;
			free(have);
			if (bad) {
				snprintf(why, WHY_MAX,
				         "event %zu (PCR 7, dbx) does not decode completely: %s", i,
				         bad);
				return 0;
			}
			if (missing != SIZE_MAX) {
				tpa_hex_encode(p->var[v].d + 32 * missing, 32, hex);
				snprintf(
				        why, WHY_MAX,
				        "event %zu (PCR 7, dbx): revocation %.16s... that the rule "
				        "requires is missing (%zu entries measured, %zu required)",
				        i, hex, n, p->var[v].n);
				return 0;
			}
			continue;
		}
		{
			struct inset c = {&p->var[v], NULL, {0}, 0};
			if ((bad = siglists(u.data, (size_t)u.dlen, check_in, &c, &n, &err))) {
				snprintf(why, WHY_MAX,
				         "event %zu (PCR 7, %s) does not decode completely: %s", i,
				         sb_names[v], bad);
				return 0;
			}
			if (c.bad) {
				tpa_hex_encode(c.first_bad, 32, hex);
				snprintf(why, WHY_MAX,
				         "event %zu (PCR 7, %s): entry %.16s... is not in the "
				         "rule's "
				         "allowed list",
				         i, sb_names[v], hex);
				return 0;
			}
		}
	}
	for (int v = 0; v < SB_NVARS; v++) {
		int ruled = v == SB_SECUREBOOT ? p->sb_enabled >= 0 : p->listed[v];
		if (ruled && !seen[v] && !(p->may_be_absent >> v & 1)) {
			snprintf(why, WHY_MAX,
			         "%s is not measured in PCR 7, and the rule requires it",
			         sb_names[v]);
			return 0;
		}
	}
	return 1;
}

/* The event branch of PCR k: quoted in the rule's banks, explained by the
 * log, every event allowed, every required event and count present, and for
 * PCR 7 the secure-boot variables as secure_boot rules.  *sbfail is set
 * when the secure-boot part is what failed. */
static int eval_events(struct eval *e, unsigned k, char *why, int *sbfail)
{
	const tpa_policy *p = e->p;
	uint32_t have[POLICY_MAX_COUNTS] = {0};
	size_t nev = 0;
	if (!e->log) {
		snprintf(why, WHY_MAX,
		         "rule events: PCR %u is ruled by its events but there is no "
		         "event log",
		         k);
		return 0;
	}
	for (size_t b = 0; b < p->nbanks; b++) {
		const struct bank *bk = &p->bank[b];
		const dset *allowed = &bk->events[k];
		uint8_t *seen;
		const uint8_t *v;
		size_t vl;
		if (!(bk->evmask >> k & 1))
			continue;
		/* The rule's digests count only in a bank the quote covers:
		 * the log's other banks are nobody's word. */
		if (tpa_pcrs_get(e->q, bk->alg, k, &v, &vl) != TPA_OK) {
			snprintf(why, WHY_MAX,
			         "rule events: PCR %u is not quoted in the %s bank the rule uses",
			         k, tpa_alg_name(bk->alg));
			return 0;
		}
		/* PCRs >= 8 need not be in the UEFI log: one ruled by its events
		 * must be, or be untouched. */
		if (!log_has_events(e->log, k) && !at_reset(v, vl, k)) {
			snprintf(why, WHY_MAX,
			         "rule events: PCR %u (%s) was extended, but the event log has no "
			         "events for it (not covered by the event log)",
			         k, tpa_alg_name(bk->alg));
			return 0;
		}
		if (!(seen = calloc(allowed->n + 1, 1))) {
			snprintf(why, WHY_MAX, "out of memory");
			return 0;
		}
		nev = 0;
		memset(have, 0, sizeof(have));
		for (size_t i = 0; i < tpa_eventlog_count(e->log); i++) {
			const tpa_event *ev = tpa_eventlog_get(e->log, i);
			uint32_t t = tpa_event_type(ev);
			const uint8_t *d;
			size_t dl, at;
			char hex[2 * TPA_MAX_DIGEST + 1];
			if (tpa_event_pcr(ev) != k || t == TPA_EV_NO_ACTION)
				continue;
			if (!known_type(t)) {
				snprintf(
				        why, WHY_MAX,
				        "event %zu in PCR %u has type 0x%08x, which no rule allows "
				        "(relabelled?)",
				        i, k, t);
				free(seen);
				return 0;
			}
			if (p->has_sb && sb_var(ev, NULL) != SB_NONE)
				continue;
			if (!(d = tpa_event_digest(ev, bk->alg, &dl))) {
				snprintf(why, WHY_MAX, "event %zu in PCR %u has no %s digest", i, k,
				         tpa_alg_name(bk->alg));
				free(seen);
				return 0;
			}
			if (dl != allowed->dlen || (at = dset_find(allowed, d)) == SIZE_MAX) {
				tpa_hex_encode(d, dl, hex);
				snprintf(why, WHY_MAX,
				         "event %zu (PCR %u, %s, %s %.16s...) is not among the %zu "
				         "events the rule allows for PCR %u",
				         i, k, tpa_event_type_name(t), tpa_alg_name(bk->alg), hex,
				         allowed->n, k);
				free(seen);
				return 0;
			}
			seen[at] = 1;
			nev++;
			for (size_t c = 0; c < p->ncounts[k]; c++)
				have[c] += p->counts[k][c].type == t;
		}
		for (size_t j = 0; j < allowed->n; j++)
			if (allowed->req[j] && !seen[j]) {
				char hex[2 * TPA_MAX_DIGEST + 1];
				tpa_hex_encode(allowed->d + j * allowed->dlen, allowed->dlen, hex);
				snprintf(why, WHY_MAX,
				         "rule events: PCR %u lacks a required event (%s %.16s..., "
				         "%.120s)",
				         k, tpa_alg_name(bk->alg), hex,
				         allowed->note[j] ? allowed->note[j] : "no note");
				free(seen);
				return 0;
			}
		free(seen);
		for (size_t c = 0; c < p->ncounts[k]; c++)
			if (have[c] < p->counts[k][c].min) {
				snprintf(why, WHY_MAX,
				         "rule event_counts: PCR %u has %u %s events, the rule "
				         "requires "
				         "at least %u",
				         k, have[c], tpa_event_type_name(p->counts[k][c].type),
				         p->counts[k][c].min);
				return 0;
			}
	}
	if (k == 7 && p->has_sb && !eval_secure_boot(e, why)) {
		*sbfail = 1;
		return 0;
	}
	e->nevents += nev;
	return 1;
}

void tpa_policy_evaluate(const tpa_policy *p, const tpa_pcrs *quoted, const tpa_eventlog *log,
                         tpa_result *res, tpa_check_sink sink)
{
	struct eval e = {p, quoted, log, res, sink, 0, 0, 0};
	uint32_t vm = valued_any(p), em = evented_any(p), rq = required_any(p);
	int sb_judged = 0;
	if (!eval_pcrs(&e))
		return;
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
		char vwhy[WHY_MAX] = "", ewhy[WHY_MAX] = "";
		int hv = vm >> k & 1, he = em >> k & 1, vok = 0, eok = 0, sbfail = 0;
		if (!(rq >> k & 1))
			continue;
		if (hv)
			vok = eval_value(&e, k, vwhy);
		/* A PCR with both rules passes by either (a merge of a machine
		 * ruled by value with one ruled by events). */
		if (he && !vok)
			eok = eval_events(&e, k, ewhy, &sbfail);
		if (vok) {
			e.nvalues++;
			continue;
		}
		if (eok) {
			e.nevpcrs++;
			sb_judged |= k == 7 && p->has_sb;
			continue;
		}
		if (hv && he)
			verdict(&e, sbfail ? "policy_secure_boot" : "policy_events", 0,
			        "PCR %u is allowed neither by value (%s) nor by its events (%s)", k,
			        vwhy, ewhy);
		else if (hv)
			verdict(&e, "policy_pcr_values", 0, "%s", vwhy);
		else
			verdict(&e, sbfail ? "policy_secure_boot" : "policy_events", 0, "%s", ewhy);
		return;
	}
	if (e.nvalues)
		verdict(&e, "policy_pcr_values", 1, "%zu PCRs have allowed values", e.nvalues);
	if (sb_judged)
		verdict(&e, "policy_secure_boot", 1,
		        "secure boot %s; PK, KEK, db and dbx as the rule requires",
		        p->sb_enabled == 1   ? "on"
		        : p->sb_enabled == 0 ? "off"
		                             : "not measured");
	if (e.nevpcrs)
		verdict(&e, "policy_events", 1,
		        "%zu PCRs are explained by allowed events (%zu events), with every "
		        "required one present",
		        e.nevpcrs, e.nevents);
}

/* ---- JSON ---- */

static struct json_object *hexarr(const dset *s, int with_notes)
{
	struct json_object *a = json_object_new_array_ext((int)s->n);
	char hex[2 * TPA_MAX_DIGEST + 1];
	for (size_t i = 0; a && i < s->n; i++) {
		tpa_hex_encode(s->d + i * s->dlen, s->dlen, hex);
		if (with_notes) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "digest", json_object_new_string(hex));
			if (s->note[i])
				json_object_object_add(o, "note",
				                       json_object_new_string(s->note[i]));
			if (s->req[i])
				json_object_object_add(o, "required", json_object_new_boolean(1));
			json_object_array_add(a, o);
		} else {
			json_object_array_add(a, json_object_new_string(hex));
		}
	}
	return a;
}

static struct json_object *bank_rules(const tpa_policy *p, int events)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; o && i < p->nbanks; i++) {
		const struct bank *bk = &p->bank[i];
		uint32_t m = events ? bk->evmask : bk->valmask;
		struct json_object *bo;
		if (!m)
			continue;
		bo = json_object_new_object();
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			char key[4];
			if (!(m >> k & 1))
				continue;
			snprintf(key, sizeof(key), "%u", k);
			json_object_object_add(
			        bo, key, hexarr(events ? &bk->events[k] : &bk->values[k], events));
		}
		json_object_object_add(o, tpa_alg_name(bk->alg), bo);
	}
	return o;
}

int tpa_policy_to_json(const tpa_policy *p, char **out)
{
	struct json_object *root = json_object_new_object(), *pcrs = json_object_new_object();
	char *s;
	uint32_t any;
	if (!root || !pcrs) {
		json_object_put(root);
		json_object_put(pcrs);
		return TPA_E_NOMEM;
	}
	json_object_object_add(root, "version", json_object_new_int(TPA_POLICY_VERSION));
	for (size_t b = 0; b < p->nbanks; b++) {
		struct json_object *a;
		if (!p->bank[b].required)
			continue;
		a = json_object_new_array();
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if (p->bank[b].required >> k & 1)
				json_object_array_add(a, json_object_new_int((int)k));
		json_object_object_add(pcrs, tpa_alg_name(p->bank[b].alg), a);
	}
	json_object_object_add(root, "pcrs", pcrs);
	if (valued_any(p))
		json_object_object_add(root, "pcr_values", bank_rules(p, 0));
	if ((any = evented_any(p))) {
		struct json_object *c = NULL;
		json_object_object_add(root, "events", bank_rules(p, 1));
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			struct json_object *ko;
			char key[4];
			if (!p->ncounts[k])
				continue;
			if (!c)
				c = json_object_new_object();
			ko = json_object_new_object();
			for (size_t i = 0; i < p->ncounts[k]; i++)
				json_object_object_add(ko,
				                       tpa_event_type_name(p->counts[k][i].type),
				                       json_object_new_int64(p->counts[k][i].min));
			snprintf(key, sizeof(key), "%u", k);
			json_object_object_add(c, key, ko);
		}
		if (c)
			json_object_object_add(root, "event_counts", c);
	}
	if (p->has_sb) {
		struct json_object *sb = json_object_new_object(), *mba = NULL;
		json_object_object_add(sb, "enabled",
		                       p->sb_enabled < 0 ? NULL
		                                         : json_object_new_boolean(p->sb_enabled));
		for (int v = SB_PK; v < SB_NVARS; v++)
			json_object_object_add(sb, sb_keys[v],
			                       p->listed[v] ? hexarr(&p->var[v], 0) : NULL);
		for (int v = 0; v < SB_NVARS; v++)
			if (p->may_be_absent >> v & 1) {
				if (!mba)
					mba = json_object_new_array();
				json_object_array_add(mba, json_object_new_string(sb_names[v]));
			}
		if (mba)
			json_object_object_add(sb, "may_be_absent", mba);
		json_object_object_add(root, "secure_boot", sb);
	}
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                                        JSON_C_TO_STRING_SPACED));
	json_object_put(root);
	if (!s)
		return TPA_E_NOMEM;
	*out = s;
	return TPA_OK;
}

#define BAD(...)                                    \
	do {                                        \
		snprintf(why, whylen, __VA_ARGS__); \
		return TPA_E_MALFORMED;             \
	} while (0)

/* A digest: lowercase hex of exactly want bytes. */
static int read_hex(struct json_object *x, size_t want, uint8_t *out)
{
	const char *s;
	if (!json_object_is_type(x, json_type_string) ||
	    (size_t)json_object_get_string_len(x) != 2 * want)
		return -1;
	s = json_object_get_string(x);
	for (size_t i = 0; i < 2 * want; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return tpa_hex_decode(s, out, want) == TPA_OK ? 0 : -1;
}

/* A list of digests (or, with notes, of {"digest", "note", "required"}).
 * An empty list is refused unless allow_empty: it would allow nothing, or,
 * read carelessly, anything. */
static int read_list(struct json_object *a, dset *s, size_t want, int with_notes, int allow_empty,
                     const char *what, char *why, size_t whylen)
{
	size_t n;
	if (!json_object_is_type(a, json_type_array))
		BAD("%s: not an array", what);
	n = json_object_array_length(a);
	if (!n && !allow_empty)
		BAD("%s: an empty list allows nothing; leave the PCR out instead", what);
	if (n > POLICY_MAX_ITEMS)
		BAD("%s: more than %u entries", what, POLICY_MAX_ITEMS);
	s->dlen = want;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(a, i), *d = x, *note = NULL;
		int req = 0, r;
		uint8_t bin[TPA_MAX_DIGEST];
		if (with_notes) {
			if (!json_object_is_type(x, json_type_object))
				BAD("%s[%zu]: not an object {\"digest\": hex, ...}", what, i);
			d = NULL;
			json_object_object_foreach (x, key, val) {
				if (strcmp(key, "digest") == 0) {
					d = val;
				} else if (strcmp(key, "note") == 0) {
					if (!json_object_is_type(val, json_type_string))
						BAD("%s[%zu].note: not a string", what, i);
					note = val;
				} else if (strcmp(key, "required") == 0) {
					if (!json_object_is_type(val, json_type_boolean))
						BAD("%s[%zu].required: not a boolean", what, i);
					req = json_object_get_boolean(val);
				} else {
					BAD("%s[%zu]: unknown member \"%s\"", what, i, key);
				}
			}
			if (!d)
				BAD("%s[%zu]: no \"digest\"", what, i);
		}
		if (read_hex(d, want, bin) != 0)
			BAD("%s[%zu]: not %zu bytes of lowercase hex", what, i, want);
		if ((r = dset_add(s, bin, want, note ? json_object_get_string(note) : NULL, req)) !=
		    TPA_OK)
			return r;
	}
	return TPA_OK;
}

static int pcr_key(const char *k, unsigned *pcr)
{
	char *end;
	unsigned long v;
	if (!k[0] || (k[0] == '0' && k[1]) || k[0] < '0' || k[0] > '9')
		return -1;
	v = strtoul(k, &end, 10);
	if (*end || v >= TPA_PCR_COUNT)
		return -1;
	*pcr = (unsigned)v;
	return 0;
}

static int read_bank_rules(tpa_policy *p, struct json_object *o, int events, const char *what,
                           char *why, size_t whylen)
{
	if (!json_object_is_type(o, json_type_object))
		BAD("%s: not an object", what);
	if (!json_object_object_length(o))
		BAD("%s: no bank; leave the member out instead", what);
	json_object_object_foreach (o, bank, pcrs) {
		uint16_t alg;
		struct bank *bk;
		if (tpa_alg_from_name(bank, &alg) != TPA_OK || !tpa_alg_digest_size(alg) ||
		    strcmp(bank, tpa_alg_name(alg)) != 0)
			BAD("%s: unknown bank \"%s\" (banks are named as tpmattest writes them: "
			    "sha1, sha256, ...)",
			    what, bank);
		if (!(bk = bank_get(p, alg, 1)))
			BAD("%s: too many banks", what);
		if (!json_object_is_type(pcrs, json_type_object))
			BAD("%s.%s: not an object", what, bank);
		if (!json_object_object_length(pcrs))
			BAD("%s.%s: no PCR; leave the bank out instead", what, bank);
		json_object_object_foreach (pcrs, key, arr) {
			unsigned k;
			char w[64];
			int r;
			if (pcr_key(key, &k) != 0)
				BAD("%s.%s: \"%s\" is not a PCR index 0-23", what, bank, key);
			snprintf(w, sizeof(w), "%s.%s.%s", what, bank, key);
			if ((r = read_list(arr, events ? &bk->events[k] : &bk->values[k],
			                   tpa_alg_digest_size(alg), events, 0, w, why, whylen)) !=
			    TPA_OK)
				return r;
			if (events)
				bk->evmask |= 1u << k;
			else
				bk->valmask |= 1u << k;
		}
	}
	return TPA_OK;
}

static int read_counts(tpa_policy *p, struct json_object *o, char *why, size_t whylen)
{
	if (!json_object_is_type(o, json_type_object) || !json_object_object_length(o))
		BAD("event_counts: not an object of PCRs");
	json_object_object_foreach (o, key, types) {
		unsigned k;
		if (pcr_key(key, &k) != 0)
			BAD("event_counts: \"%s\" is not a PCR index 0-23", key);
		if (!json_object_is_type(types, json_type_object) ||
		    !json_object_object_length(types))
			BAD("event_counts.%s: not an object of event types", key);
		json_object_object_foreach (types, tn, cnt) {
			uint32_t t;
			int64_t c;
			if (type_from_name(tn, &t) != 0)
				BAD("event_counts.%s: \"%s\" is not an event type a policy judges",
				    key, tn);
			if (!json_object_is_type(cnt, json_type_int) ||
			    (c = json_object_get_int64(cnt)) < 1 || c > POLICY_MAX_COUNT)
				BAD("event_counts.%s.%s: not a count from 1 to %u", key, tn,
				    POLICY_MAX_COUNT);
			for (size_t i = 0; i < p->ncounts[k]; i++)
				if (p->counts[k][i].type == t)
					BAD("event_counts.%s.%s: given twice", key, tn);
			if (count_add(p, k, t, (uint32_t)c) != TPA_OK)
				BAD("event_counts.%s: more than %u event types", key,
				    POLICY_MAX_COUNTS);
		}
	}
	return TPA_OK;
}

static int read_secure_boot(tpa_policy *p, struct json_object *o, char *why, size_t whylen)
{
	struct json_object *v;
	int r;
	if (!json_object_is_type(o, json_type_object))
		BAD("secure_boot: not an object");
	json_object_object_foreach (o, key, val) {
		int known = strcmp(key, "may_be_absent") == 0;
		for (int i = 0; i < SB_NVARS; i++)
			known |= strcmp(key, sb_keys[i]) == 0;
		if (!known)
			BAD("secure_boot: unknown member \"%s\"", key);
		(void)val;
	}
	/* Each variable is ruled, "null" meaning it must not be measured:
	 * a variable the policy does not mention would be unjudged. */
	for (int i = 0; i < SB_NVARS; i++) {
		char w[32];
		if (!json_object_object_get_ex(o, sb_keys[i], &v))
			BAD("secure_boot.%s is required (null: %s must not be measured)",
			    sb_keys[i], sb_names[i]);
		snprintf(w, sizeof(w), "secure_boot.%s", sb_keys[i]);
		if (i == SB_SECUREBOOT) {
			if (v && !json_object_is_type(v, json_type_boolean))
				BAD("secure_boot.enabled: not a boolean or null");
			p->sb_enabled = v ? json_object_get_boolean(v) : -1;
		} else if (v) {
			if ((r = read_list(v, &p->var[i], 32, 0, 1, w, why, whylen)) != TPA_OK)
				return r;
			p->listed[i] = 1;
		}
	}
	if (json_object_object_get_ex(o, "may_be_absent", &v)) {
		if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v))
			BAD("secure_boot.may_be_absent: not a non-empty array of variable names");
		for (size_t j = 0; j < json_object_array_length(v); j++) {
			struct json_object *x = json_object_array_get_idx(v, j);
			int found = -1;
			for (int i = 0; i < SB_NVARS && json_object_is_type(x, json_type_string);
			     i++)
				if (strcmp(json_object_get_string(x), sb_names[i]) == 0)
					found = i;
			if (found < 0)
				BAD("secure_boot.may_be_absent[%zu]: not one of SecureBoot, PK, "
				    "KEK, "
				    "db, dbx",
				    j);
			if (p->may_be_absent >> found & 1)
				BAD("secure_boot.may_be_absent[%zu]: %s given twice", j,
				    sb_names[found]);
			if (found == SB_SECUREBOOT ? p->sb_enabled < 0 : !p->listed[found])
				BAD("secure_boot.may_be_absent[%zu]: %s is null already (must not "
				    "be measured)",
				    j, sb_names[found]);
			p->may_be_absent |= 1u << found;
		}
	}
	p->has_sb = 1;
	return TPA_OK;
}

static int policy_parse(struct json_object *root, tpa_policy *p, char *why, size_t whylen)
{
	struct json_object *v;
	int r;
	if (!json_object_is_type(root, json_type_object))
		BAD("a policy is a JSON object");
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		BAD("\"version\" must be %d", TPA_POLICY_VERSION);
	if (json_object_get_int64(v) == 1)
		BAD("\"version\" 1 policies could leave measurements unruled; learn this one "
		    "again with `tpmattest policy create` (version %d)",
		    TPA_POLICY_VERSION);
	if (json_object_get_int64(v) != TPA_POLICY_VERSION)
		BAD("\"version\" must be %d", TPA_POLICY_VERSION);
	if (!json_object_object_get_ex(root, "pcrs", &v))
		BAD("\"pcrs\" (the banks and PCRs that must be quoted) is required");
	if (!json_object_is_type(v, json_type_object) || !json_object_object_length(v))
		BAD("pcrs: not an object with at least one bank");
	json_object_object_foreach (v, bank, arr) {
		uint16_t alg;
		struct bank *bk;
		if (tpa_alg_from_name(bank, &alg) != TPA_OK || !tpa_alg_digest_size(alg) ||
		    strcmp(bank, tpa_alg_name(alg)) != 0)
			BAD("pcrs: unknown bank \"%s\" (banks are named as tpmattest writes them: "
			    "sha1, sha256, ...)",
			    bank);
		if (!(bk = bank_get(p, alg, 1)) || !json_object_is_type(arr, json_type_array))
			BAD("pcrs.%s: not an array of PCR indices", bank);
		if (!json_object_array_length(arr))
			BAD("pcrs.%s: no PCR; leave the bank out instead", bank);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *x = json_object_array_get_idx(arr, i);
			int64_t k = json_object_get_int64(x);
			if (!json_object_is_type(x, json_type_int) || k < 0 || k >= TPA_PCR_COUNT)
				BAD("pcrs.%s[%zu]: not a PCR index 0-23", bank, i);
			if (bk->required >> k & 1)
				BAD("pcrs.%s[%zu]: PCR %d given twice", bank, i, (int)k);
			bk->required |= 1u << k;
		}
	}
	json_object_object_foreach (root, key, val) {
		if (strcmp(key, "version") == 0 || strcmp(key, "pcrs") == 0)
			continue;
		if (strcmp(key, "pcr_values") == 0) {
			if ((r = read_bank_rules(p, val, 0, "pcr_values", why, whylen)) != TPA_OK)
				return r;
		} else if (strcmp(key, "events") == 0) {
			if ((r = read_bank_rules(p, val, 1, "events", why, whylen)) != TPA_OK)
				return r;
		} else if (strcmp(key, "event_counts") == 0) {
			if ((r = read_counts(p, val, why, whylen)) != TPA_OK)
				return r;
		} else if (strcmp(key, "secure_boot") == 0) {
			if ((r = read_secure_boot(p, val, why, whylen)) != TPA_OK)
				return r;
		} else {
			BAD("unknown member \"%s\"", key);
		}
	}
	return TPA_OK;
}

/*
 * What makes a policy mean something: every rule is on a (bank, PCR) the
 * quote must cover (a rule on anything else would judge what the quote does
 * not sign), every required PCR is ruled, event counts and secure_boot sit
 * on PCRs ruled by events.
 */
static int policy_check(const tpa_policy *p, char *why, size_t whylen)
{
	uint32_t rq = required_any(p), ruled = valued_any(p) | evented_any(p);
	for (size_t i = 0; i < p->nbanks; i++) {
		const struct bank *bk = &p->bank[i];
		uint32_t off = (bk->valmask | bk->evmask) & ~bk->required;
		if (off) {
			int k = __builtin_ctz(off);
			BAD("%s.%s.%d: PCR %d of %s is not in \"pcrs\", so the quote need not "
			    "cover it",
			    bk->valmask >> k & 1 ? "pcr_values" : "events", tpa_alg_name(bk->alg),
			    k, k, tpa_alg_name(bk->alg));
		}
	}
	if (rq & ~ruled) {
		int k = __builtin_ctz(rq & ~ruled);
		BAD("pcrs: PCR %d must be quoted but no rule judges it (give it pcr_values or "
		    "events)",
		    k);
	}
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
		if (p->ncounts[k] && !(evented_any(p) >> k & 1))
			BAD("event_counts.%u: PCR %u has no events rule", k, k);
	if (p->has_sb && !(evented_any(p) >> 7 & 1))
		BAD("secure_boot: PCR 7 has no events rule, so its other events would be "
		    "unjudged");
	return TPA_OK;
}

int tpa_policy_from_json(const char *json, size_t len, tpa_policy **out, char *why, size_t whylen)
{
	struct json_object *root = NULL;
	tpa_policy *p;
	char jwhy[160] = "";
	int r;
	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if ((r = tpa_json_parse(json, len, &root, jwhy, sizeof(jwhy))) != TPA_OK) {
		snprintf(why, whylen, "%s", jwhy);
		return r;
	}
	if (!(p = policy_alloc())) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	r = policy_parse(root, p, why, whylen);
	if (r == TPA_OK)
		r = policy_check(p, why, whylen);
	json_object_put(root);
	if (r != TPA_OK) {
		tpa_policy_free(&p);
		return r;
	}
	*out = p;
	return TPA_OK;
}

/* ---- merging ---- */

/* Banks of p whose given mask has PCR k and that the merged policy m
 * requires k in. */
static uint32_t banks_with(const tpa_policy *p, const tpa_policy *m, unsigned k, int events)
{
	uint32_t bits = 0;
	for (size_t i = 0; i < p->nbanks; i++) {
		const struct bank *bk = &p->bank[i];
		const struct bank *mb = bank_find(m, bk->alg);
		uint32_t mask = events ? bk->evmask : bk->valmask;
		if ((mask >> k & 1) && mb && (mb->required >> k & 1))
			bits |= 1u << i;
	}
	return bits;
}

/* Bank index of m for p's bank i. */
static struct bank *mbank(tpa_policy *m, const tpa_policy *p, size_t i)
{
	return bank_get(m, p->bank[i].alg, 0);
}

/* Copies one branch (value or events) of PCR k from src, in the banks bits
 * names, into m; with a second source, only banks both have, united. */
static int merge_branch(tpa_policy *m, const tpa_policy *a, uint32_t abits, const tpa_policy *b,
                        uint32_t bbits, unsigned k, int events, char *why, size_t whylen)
{
	size_t done = 0;
	for (size_t i = 0; i < a->nbanks; i++) {
		const struct bank *ab = &a->bank[i];
		const struct bank *bb = NULL;
		struct bank *mb;
		dset *dst;
		int r;
		if (!(abits >> i & 1))
			continue;
		if (b) {
			for (size_t j = 0; j < b->nbanks; j++)
				if ((bbits >> j & 1) && b->bank[j].alg == ab->alg)
					bb = &b->bank[j];
			if (!bb)
				continue;
		}
		mb = mbank(m, a, i);
		dst = events ? &mb->events[k] : &mb->values[k];
		if ((r = dset_union(dst, events ? &ab->events[k] : &ab->values[k], !b)) != TPA_OK)
			return r;
		if (bb) {
			const dset *x = events ? &ab->events[k] : &ab->values[k];
			const dset *y = events ? &bb->events[k] : &bb->values[k];
			if ((r = dset_union(dst, y, 0)) != TPA_OK)
				return r;
			/* A requirement stays only where both inputs have it. */
			for (size_t j = 0; events && j < dst->n; j++) {
				size_t ia = dset_find(x, dst->d + j * dst->dlen);
				size_t ib = dset_find(y, dst->d + j * dst->dlen);
				dst->req[j] = ia != SIZE_MAX && ib != SIZE_MAX && x->req[ia] &&
				              y->req[ib];
			}
		}
		if (events)
			mb->evmask |= 1u << k;
		else
			mb->valmask |= 1u << k;
		done++;
	}
	if (!done) {
		snprintf(why, whylen,
		         "PCR %u is ruled by %s in different banks in the two policies, so no "
		         "one rule accepts both",
		         k, events ? "events" : "value");
		return TPA_E_POLICY;
	}
	return TPA_OK;
}

static void merge_counts(tpa_policy *m, const tpa_policy *a, const tpa_policy *b, unsigned k)
{
	for (size_t i = 0; i < a->ncounts[k]; i++) {
		uint32_t t = a->counts[k][i].type, min = a->counts[k][i].min;
		int inb = !b;
		for (size_t j = 0; b && j < b->ncounts[k]; j++)
			if (b->counts[k][j].type == t) {
				inb = 1;
				if (b->counts[k][j].min < min)
					min = b->counts[k][j].min;
			}
		if (inb)
			count_add(m, k, t, min);
	}
}

static void copy_sb(tpa_policy *m, const tpa_policy *a)
{
	m->has_sb = 1;
	m->sb_enabled = a->sb_enabled;
	m->may_be_absent = a->may_be_absent;
	memcpy(m->listed, a->listed, sizeof(m->listed));
}

static int merge_sb(tpa_policy *m, const tpa_policy *a, const tpa_policy *b, char *why,
                    size_t whylen)
{
	int r;
	if (!b) {
		copy_sb(m, a);
		for (int v = SB_PK; v < SB_NVARS; v++)
			if (a->listed[v] && (r = dset_union(&m->var[v], &a->var[v], 0)) != TPA_OK)
				return r;
		return TPA_OK;
	}
	m->has_sb = 1;
	m->may_be_absent = a->may_be_absent | b->may_be_absent;
	/* SecureBoot: on and off cannot both be accepted by one rule (refused
	 * before); measured and unmeasured can, with may_be_absent. */
	if (a->sb_enabled >= 0 && b->sb_enabled >= 0 && a->sb_enabled != b->sb_enabled) {
		snprintf(why, whylen, "one policy requires secure boot on, the other off");
		return TPA_E_POLICY;
	}
	m->sb_enabled = a->sb_enabled >= 0 ? a->sb_enabled : b->sb_enabled;
	if ((a->sb_enabled < 0) != (b->sb_enabled < 0))
		m->may_be_absent |= 1u << SB_SECUREBOOT;
	for (int v = SB_PK; v < SB_NVARS; v++) {
		m->listed[v] = a->listed[v] || b->listed[v];
		if (a->listed[v] != b->listed[v])
			m->may_be_absent |= 1u << v;
		if (v != SB_DBX) {
			if ((a->listed[v] && (r = dset_union(&m->var[v], &a->var[v], 0))) ||
			    (b->listed[v] && (r = dset_union(&m->var[v], &b->var[v], 0))))
				return r;
		} else if (a->listed[v] && b->listed[v]) {
			/* dbx: what both require */
			for (size_t j = 0; j < a->var[v].n; j++)
				if (dset_find(&b->var[v], a->var[v].d + 32 * j) != SIZE_MAX &&
				    (r = dset_add(&m->var[v], a->var[v].d + 32 * j, 32, NULL, 0)))
					return r;
		} else if ((r = dset_union(&m->var[v], a->listed[v] ? &a->var[v] : &b->var[v],
		                           0)) != TPA_OK) {
			return r;
		}
	}
	return TPA_OK;
}

/*
 * For PCR k, the events branch of src alone (the other input rules k by
 * value only), or of both (united; requirements and counts where both have
 * them), with PCR 7's secure_boot.
 */
static int merge_events(tpa_policy *m, const tpa_policy *a, const tpa_policy *b, unsigned k,
                        char *why, size_t whylen)
{
	uint32_t abits = banks_with(a, m, k, 1), bbits = b ? banks_with(b, m, k, 1) : 0;
	int r;
	if (b && a->has_sb != b->has_sb && k == 7) {
		snprintf(why, whylen,
		         "PCR 7: one policy judges the secure-boot variables by their content "
		         "(secure_boot), the other by their digests (events); learn both with "
		         "`policy create`");
		return TPA_E_POLICY;
	}
	if ((r = merge_branch(m, a, abits, b, bbits, k, 1, why, whylen)) != TPA_OK)
		return r;
	merge_counts(m, a, b, k);
	if (k == 7 && a->has_sb)
		return merge_sb(m, a, b, why, whylen);
	return TPA_OK;
}

int tpa_policy_merge(const tpa_policy *a, const tpa_policy *b, tpa_policy **out, char *why,
                     size_t whylen)
{
	tpa_policy *m;
	int r = TPA_OK;
	if (!a || !b || !out)
		return TPA_E_INVALID_ARG;
	if (a->has_sb && b->has_sb && a->sb_enabled >= 0 && b->sb_enabled >= 0 &&
	    a->sb_enabled != b->sb_enabled) {
		snprintf(why, whylen, "one policy requires secure boot on, the other off");
		return TPA_E_POLICY;
	}
	if (!(m = policy_alloc()))
		return TPA_E_NOMEM;
	/* Required PCRs: what both require.  A PCR only one of them requires
	 * is one the other's machines need not quote, so no rule on it can
	 * stand. */
	for (size_t i = 0; i < a->nbanks; i++) {
		const struct bank *bb = bank_find(b, a->bank[i].alg);
		uint32_t both = bb ? a->bank[i].required & bb->required : 0;
		struct bank *mb;
		if (!both)
			continue;
		if (!(mb = bank_get(m, a->bank[i].alg, 1))) {
			r = TPA_E_LIMIT;
			goto bad;
		}
		mb->required = both;
	}
	if (!required_any(m)) {
		snprintf(why, whylen, "the policies have no required PCR in common");
		r = TPA_E_POLICY;
		goto bad;
	}
	for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
		uint32_t av = banks_with(a, m, k, 0), ae = banks_with(a, m, k, 1);
		uint32_t bv = banks_with(b, m, k, 0), be = banks_with(b, m, k, 1);
		if (!(required_any(m) >> k & 1))
			continue;
		if ((!av && !ae) || (!bv && !be)) {
			snprintf(why, whylen,
			         "PCR %u: one policy rules it only in banks the other does not "
			         "require",
			         k);
			r = TPA_E_POLICY;
			goto bad;
		}
		/* Each branch is kept: a PCR passes by either. */
		if (av && bv)
			r = merge_branch(m, a, av, b, bv, k, 0, why, whylen);
		else if (av || bv)
			r = merge_branch(m, av ? a : b, av ? av : bv, NULL, 0, k, 0, why, whylen);
		if (r != TPA_OK)
			goto bad;
		if (ae && be)
			r = merge_events(m, a, b, k, why, whylen);
		else if (ae || be)
			r = merge_events(m, ae ? a : b, NULL, k, why, whylen);
		if (r != TPA_OK)
			goto bad;
	}
	if ((r = policy_check(m, why, whylen)) != TPA_OK) {
		r = TPA_E_POLICY;
		goto bad;
	}
	*out = m;
	return TPA_OK;
bad:
	tpa_policy_free(&m);
	return r;
}
