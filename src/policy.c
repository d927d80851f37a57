/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Golden-measurement policy: format (docs/policy.md), learning, merging, and
 * evaluation against quoted PCR values and a log that replayed to them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <tpmattest/policy.h>

#include "policy_internal.h"
#include "reader.h"
#include "util.h"

#define POLICY_MAX_ITEMS 100000u

typedef struct strset {
	char **v;
	char **note; /* parallel; may hold NULLs */
	size_t n, cap;
} strset;

struct bankset {
	uint16_t alg;
	uint32_t mask;           /* pcrs: required PCRs */
	strset v[TPA_PCR_COUNT]; /* pcr_values / events: allowed per PCR */
};

struct tpa_policy {
	struct bankset pcrs[TPA_MAX_BANKS];
	size_t npcrs;
	struct bankset values[TPA_MAX_BANKS];
	size_t nvalues;
	struct bankset events[TPA_MAX_BANKS];
	size_t nevents;
	int has_sb;
	int sb_enabled; /* -1: not ruled */
	int has_pk, has_kek, has_db;
	strset pk, kek, db;
	long long dbx_min; /* -1: not ruled */
};

/* ---- small containers ---- */

static int set_has(const strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

static int set_add(strset *s, const char *x, const char *note)
{
	if (set_has(s, x))
		return TPA_OK;
	if (s->n == POLICY_MAX_ITEMS)
		return TPA_E_LIMIT;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		char **nv = realloc(s->v, nc * sizeof(*nv)), **nn;
		if (!nv)
			return TPA_E_NOMEM;
		s->v = nv;
		if (!(nn = realloc(s->note, nc * sizeof(*nn))))
			return TPA_E_NOMEM;
		s->note = nn;
		s->cap = nc;
	}
	if (!(s->v[s->n] = strdup(x)))
		return TPA_E_NOMEM;
	s->note[s->n] = note ? strdup(note) : NULL;
	s->n++;
	return TPA_OK;
}

static void set_free(strset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i]);
		free(s->note[i]);
	}
	free(s->v);
	free(s->note);
	memset(s, 0, sizeof(*s));
}

static struct bankset *bank_get(struct bankset *b, size_t *n, uint16_t alg, int create)
{
	for (size_t i = 0; i < *n; i++)
		if (b[i].alg == alg)
			return &b[i];
	if (!create || *n == TPA_MAX_BANKS)
		return NULL;
	memset(&b[*n], 0, sizeof(b[*n]));
	b[*n].alg = alg;
	return &b[(*n)++];
}

void tpa_policy_free(tpa_policy **pp)
{
	tpa_policy *p;
	if (!pp || !*pp)
		return;
	p = *pp;
	for (size_t i = 0; i < p->nvalues; i++)
		for (int k = 0; k < TPA_PCR_COUNT; k++)
			set_free(&p->values[i].v[k]);
	for (size_t i = 0; i < p->nevents; i++)
		for (int k = 0; k < TPA_PCR_COUNT; k++)
			set_free(&p->events[i].v[k]);
	set_free(&p->pk);
	set_free(&p->kek);
	set_free(&p->db);
	free(p);
	*pp = NULL;
}

static tpa_policy *policy_alloc(void)
{
	tpa_policy *p = calloc(1, sizeof(*p));
	if (p) {
		p->sb_enabled = -1;
		p->dbx_min = -1;
	}
	return p;
}

static void hexs(const uint8_t *d, size_t n, char *out)
{
	tpa_hex_encode(d, n, out);
}

/* ---- reading the log ---- */

/* Types a policy can judge.  EV_UNUSED and types this library does not
 * know have no business in a ruled PCR: a relabelled event looks like that. */
static int known_type(uint32_t t)
{
	return t != TPA_EV_UNUSED && t != TPA_EV_PREBOOT_CERT && tpa_event_type_name(t) != NULL;
}

static const uint8_t global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                        0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
static const uint8_t imagesec_guid[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                          0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};

enum sbvar { SB_NONE, SB_SECUREBOOT, SB_PK, SB_KEK, SB_DB, SB_DBX };

/* Which secure-boot variable a decoded PCR7 event measures. */
static enum sbvar sb_var(const tpa_field *f)
{
	const tpa_field *g = tpa_field_get(f, "guid"), *n = tpa_field_get(f, "name");
	if (!g || !n || g->kind != TPA_FIELD_GUID || n->kind != TPA_FIELD_STRING)
		return SB_NONE;
	if (memcmp(g->bytes, global_guid, 16) == 0) {
		if (strcmp(n->str, "SecureBoot") == 0)
			return SB_SECUREBOOT;
		if (strcmp(n->str, "PK") == 0)
			return SB_PK;
		if (strcmp(n->str, "KEK") == 0)
			return SB_KEK;
	} else if (memcmp(g->bytes, imagesec_guid, 16) == 0) {
		if (strcmp(n->str, "db") == 0)
			return SB_DB;
		if (strcmp(n->str, "dbx") == 0)
			return SB_DBX;
	}
	return SB_NONE;
}

static const char *sb_name(enum sbvar v)
{
	static const char *const n[] = {"?", "SecureBoot", "PK", "KEK", "db", "dbx"};
	return n[v];
}

/* Calls fn for each signature's SHA-256 (certificate fingerprint or hash)
 * in a decoded variable; returns how many there were. */
static size_t sig_hashes(const tpa_field *f, int (*fn)(void *, const char *), void *ctx, int *err)
{
	const tpa_field *lists = tpa_field_get(f, "signature_lists");
	size_t n = 0;
	for (const tpa_field *l = lists ? lists->child : NULL; l; l = l->next) {
		const tpa_field *sigs = tpa_field_get(l, "signatures");
		for (const tpa_field *s = sigs ? sigs->child : NULL; s; s = s->next) {
			const tpa_field *h = tpa_field_get(s, "sha256");
			char hex[65];
			n++;
			if (!h || h->kind != TPA_FIELD_HEX || h->len != 32) {
				hex[0] = '\0';
				if (fn && !*err)
					*err = fn(ctx, "");
				continue;
			}
			hexs(h->bytes, 32, hex);
			if (fn && !*err)
				*err = fn(ctx, hex);
		}
	}
	return n;
}

/* Which secure-boot variable ev measures, read straight from
 * UEFI_VARIABLE_DATA's GUID and name (PFP 1.05, 10.4.3) without decoding the
 * signature lists. */
static enum sbvar sb_var_raw(const tpa_event *ev)
{
	static const struct {
		const uint8_t *guid;
		const char *name;
		enum sbvar v;
	} vars[] = {{global_guid, "SecureBoot", SB_SECUREBOOT},
	            {global_guid, "PK", SB_PK},
	            {global_guid, "KEK", SB_KEK},
	            {imagesec_guid, "db", SB_DB},
	            {imagesec_guid, "dbx", SB_DBX}};
	size_t len;
	const uint8_t *d = tpa_event_data(ev, &len);
	uint64_t nlen;
	if (tpa_event_pcr(ev) != 7 || tpa_event_type(ev) != TPA_EV_EFI_VARIABLE_DRIVER_CONFIG ||
	    len < 32)
		return SB_NONE;
	nlen = tpa_le64(d + 16);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		size_t n = strlen(vars[i].name);
		int same = nlen == n && len >= 32 + 2 * n && memcmp(d, vars[i].guid, 16) == 0;
		for (size_t k = 0; same && k < n; k++)
			same = d[32 + 2 * k] == (uint8_t)vars[i].name[k] && d[33 + 2 * k] == 0;
		if (same)
			return vars[i].v;
	}
	return SB_NONE;
}

static int is_sb_event(const tpa_event *ev)
{
	return sb_var_raw(ev) != SB_NONE;
}

/* Entries in a measured signature-list variable (dbx), counted without
 * decoding them; -1 when the lists do not fill the data exactly. */
static long long siglist_entries(const tpa_event *ev)
{
	size_t len;
	const uint8_t *d = tpa_event_data(ev, &len);
	uint64_t nlen, dlen;
	long long n = 0;
	tpa_rd r;
	tpa_rd_init(&r, d, len);
	if (!tpa_rd_skip(&r, 16) || !tpa_rd_u64le(&r, &nlen) || !tpa_rd_u64le(&r, &dlen) ||
	    nlen > tpa_rd_left(&r) / 2 || !tpa_rd_skip(&r, (size_t)nlen * 2) ||
	    dlen != tpa_rd_left(&r))
		return -1;
	while (tpa_rd_left(&r)) {
		uint32_t lsize, hsize, ssize;
		if (!tpa_rd_skip(&r, 16) || !tpa_rd_u32le(&r, &lsize) ||
		    !tpa_rd_u32le(&r, &hsize) || !tpa_rd_u32le(&r, &ssize) || lsize < 28 ||
		    lsize - 28 < hsize || ssize < 16 || (lsize - 28 - hsize) % ssize ||
		    !tpa_rd_skip(&r, lsize - 28))
			return -1;
		n += (lsize - 28 - hsize) / ssize;
	}
	return n;
}

static int pcr_quoted(const tpa_pcrs *q, unsigned pcr)
{
	for (size_t b = 0; b < tpa_pcrs_bank_count(q); b++)
		if (tpa_pcrs_get(q, tpa_pcrs_bank_alg(q, b), pcr, NULL, NULL) == TPA_OK)
			return 1;
	return 0;
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

/* ---- learning ---- */

static const unsigned event_pcrs[] = {2, 4, 7, 8, 9, 12, 14};

static int is_event_pcr(unsigned k)
{
	for (size_t i = 0; i < sizeof(event_pcrs) / sizeof(event_pcrs[0]); i++)
		if (event_pcrs[i] == k)
			return 1;
	return 0;
}

struct addctx {
	strset *s;
};

static int add_hash(void *ctx, const char *hex)
{
	return set_add(((struct addctx *)ctx)->s, hex, NULL);
}

static int learn_secure_boot(tpa_policy *p, const tpa_eventlog *log, char *why, size_t whylen)
{
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		tpa_field *f = NULL;
		enum sbvar v;
		int r = TPA_OK;
		if (tpa_event_pcr(ev) != 7 ||
		    tpa_event_type(ev) != TPA_EV_EFI_VARIABLE_DRIVER_CONFIG)
			continue;
		if ((r = tpa_event_decode_ex(ev, TPA_DECODE_NO_X509, &f)) != TPA_OK)
			return r;
		v = sb_var(f);
		if (v != SB_NONE && tpa_event_digest_check(ev) != TPA_DIGEST_VERIFIED) {
			snprintf(why, whylen, "event %zu (%s): its data does not match its digest",
			         i, sb_name(v));
			tpa_fields_free(&f);
			return TPA_E_POLICY;
		}
		p->has_sb = 1;
		if (v == SB_SECUREBOOT) {
			const tpa_field *val = tpa_field_get(f, "value");
			p->sb_enabled = val && val->kind == TPA_FIELD_UINT && val->u == 1;
		} else if (v == SB_PK || v == SB_KEK || v == SB_DB) {
			struct addctx c = {v == SB_PK ? &p->pk : v == SB_KEK ? &p->kek : &p->db};
			*(v == SB_PK ? &p->has_pk : v == SB_KEK ? &p->has_kek : &p->has_db) = 1;
			sig_hashes(f, add_hash, &c, &r);
		} else if (v == SB_DBX) {
			p->dbx_min = (long long)sig_hashes(f, NULL, NULL, &r);
		}
		tpa_fields_free(&f);
		if (r != TPA_OK)
			return r;
	}
	return TPA_OK;
}

int tpa_policy_learn(const tpa_pcrs *quoted, const tpa_eventlog *log, tpa_policy **out, char *why,
                     size_t whylen)
{
	tpa_policy *p;
	uint16_t ralg;
	int r = TPA_OK;
	char hex[2 * TPA_MAX_DIGEST + 1];

	if (!quoted || !out)
		return TPA_E_INVALID_ARG;
	if (!(p = policy_alloc()))
		return TPA_E_NOMEM;
	ralg = log ? rule_bank(quoted, log) : 0;
	for (size_t b = 0; b < tpa_pcrs_bank_count(quoted); b++) {
		uint16_t alg = tpa_pcrs_bank_alg(quoted, b);
		struct bankset *req = bank_get(p->pcrs, &p->npcrs, alg, 1), *val = NULL;
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const uint8_t *v;
			size_t vl;
			if (tpa_pcrs_get(quoted, alg, k, &v, &vl) != TPA_OK)
				continue;
			req->mask |= 1u << k;
			/* Ruled PCRs are judged event by event, the rest by value. */
			if (ralg && is_event_pcr(k))
				continue;
			if (!val)
				val = bank_get(p->values, &p->nvalues, alg, 1);
			hexs(v, vl, hex);
			if ((r = set_add(&val->v[k], hex, NULL)) != TPA_OK)
				goto bad;
		}
	}
	if (ralg) {
		struct bankset *evs = bank_get(p->events, &p->nevents, ralg, 1);
		if (pcr_quoted(quoted, 7) && (r = learn_secure_boot(p, log, why, whylen)) != TPA_OK)
			goto bad;
		for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
			const tpa_event *ev = tpa_eventlog_get(log, i);
			unsigned k = tpa_event_pcr(ev);
			size_t dl;
			const uint8_t *d;
			char *note;
			if (tpa_event_type(ev) == TPA_EV_NO_ACTION || !is_event_pcr(k) ||
			    !pcr_quoted(quoted, k))
				continue;
			if (is_sb_event(ev))
				continue; /* judged by the secure_boot rules */
			if (!known_type(tpa_event_type(ev))) {
				snprintf(why, whylen,
				         "event %zu in PCR %u has type 0x%08x, which a policy "
				         "cannot judge",
				         i, k, tpa_event_type(ev));
				r = TPA_E_POLICY;
				goto bad;
			}
			if (!(d = tpa_event_digest(ev, ralg, &dl)))
				continue; /* replay already refused logs lacking the bank */
			hexs(d, dl, hex);
			note = event_note(ev);
			r = set_add(&evs->v[k], hex, note);
			free(note);
			if (r != TPA_OK)
				goto bad;
			evs->mask |= 1u << k;
		}
	}
	*out = p;
	return TPA_OK;
bad:
	tpa_policy_free(&p);
	return r;
}

/* ---- evaluation ---- */

struct eval {
	tpa_result *res;
	tpa_check_sink sink;
};

static void verdict(struct eval *e, const char *name, int pass, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void verdict(struct eval *e, const char *name, int pass, const char *fmt, ...)
{
	char buf[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->sink(e->res, name, pass, pass ? TPA_OK : TPA_E_POLICY, buf);
}

static int eval_pcrs(struct eval *e, const tpa_policy *p, const tpa_pcrs *q)
{
	for (size_t b = 0; b < p->npcrs; b++)
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if ((p->pcrs[b].mask >> k & 1) &&
			    tpa_pcrs_get(q, p->pcrs[b].alg, k, NULL, NULL) != TPA_OK) {
				verdict(e, "policy_pcrs", 0,
				        "rule pcrs: PCR %u of %s must be quoted but is not", k,
				        tpa_alg_name(p->pcrs[b].alg));
				return 0;
			}
	verdict(e, "policy_pcrs", 1, "every PCR the policy requires is quoted");
	return 1;
}

static int eval_values(struct eval *e, const tpa_policy *p, const tpa_pcrs *q)
{
	size_t n = 0;
	for (size_t b = 0; b < p->nvalues; b++)
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			const strset *allowed = &p->values[b].v[k];
			const uint8_t *v;
			size_t vl;
			char hex[2 * TPA_MAX_DIGEST + 1];
			if (!allowed->n)
				continue;
			if (tpa_pcrs_get(q, p->values[b].alg, k, &v, &vl) != TPA_OK) {
				verdict(e, "policy_pcr_values", 0,
				        "rule pcr_values: PCR %u of %s is not quoted", k,
				        tpa_alg_name(p->values[b].alg));
				return 0;
			}
			hexs(v, vl, hex);
			if (!set_has(allowed, hex)) {
				verdict(e, "policy_pcr_values", 0,
				        "rule pcr_values: PCR %u (%s) is %.16s..., not one of the "
				        "%zu allowed values",
				        k, tpa_alg_name(p->values[b].alg), hex, allowed->n);
				return 0;
			}
			n++;
		}
	if (n)
		verdict(e, "policy_pcr_values", 1, "%zu PCR values are among the allowed ones", n);
	return 1;
}

struct inset {
	const strset *allowed;
	const char *bad;
	char first_bad[65];
};

static int check_in(void *ctx, const char *hex)
{
	struct inset *c = ctx;
	if (!set_has(c->allowed, hex) && !c->first_bad[0])
		snprintf(c->first_bad, sizeof(c->first_bad), "%s", hex[0] ? hex : "(unreadable)");
	return TPA_OK;
}

static int eval_secure_boot(struct eval *e, const tpa_policy *p, const tpa_eventlog *log,
                            const tpa_pcrs *q)
{
	int seen[6] = {0};
	if (!p->has_sb)
		return 1;
	if (!pcr_quoted(q, 7)) {
		verdict(e, "policy_secure_boot", 0, "rule secure_boot: PCR 7 is not quoted");
		return 0;
	}
	for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_get(log, i);
		tpa_field *f = NULL;
		enum sbvar v;
		int ok = 1, err = TPA_OK;
		if ((v = sb_var_raw(ev)) == SB_NONE)
			continue;
		/* dbx is only counted: its hundreds of entries need no tree */
		if (v != SB_DBX && tpa_event_decode_ex(ev, TPA_DECODE_NO_X509, &f) != TPA_OK) {
			verdict(e, "policy_secure_boot", 0, "event %zu: cannot decode", i);
			return 0;
		}
		if (tpa_event_digest_check(ev) != TPA_DIGEST_VERIFIED) {
			verdict(e, "policy_secure_boot", 0,
			        "event %zu (PCR 7, %s): its data is not what was measured (digest "
			        "mismatch)",
			        i, sb_name(v));
			tpa_fields_free(&f);
			return 0;
		}
		if (seen[v]++) {
			verdict(e, "policy_secure_boot", 0, "event %zu: %s measured twice", i,
			        sb_name(v));
			tpa_fields_free(&f);
			return 0;
		}
		if (v == SB_SECUREBOOT && p->sb_enabled >= 0) {
			const tpa_field *val = tpa_field_get(f, "value");
			int on = val && val->kind == TPA_FIELD_UINT && val->u == 1;
			if (on != p->sb_enabled) {
				verdict(e, "policy_secure_boot", 0,
				        "event %zu (PCR 7, SecureBoot): secure boot is %s, rule "
				        "requires it %s",
				        i, on ? "on" : "off", p->sb_enabled ? "on" : "off");
				ok = 0;
			}
		} else if ((v == SB_PK && p->has_pk) || (v == SB_KEK && p->has_kek) ||
		           (v == SB_DB && p->has_db)) {
			struct inset c = {v == SB_PK    ? &p->pk
			                  : v == SB_KEK ? &p->kek
			                                : &p->db,
			                  NULL, ""};
			sig_hashes(f, check_in, &c, &err);
			if (c.first_bad[0]) {
				verdict(e, "policy_secure_boot", 0,
				        "event %zu (PCR 7, %s): entry %.16s... is not in the "
				        "rule's allowed list",
				        i, sb_name(v), c.first_bad);
				ok = 0;
			}
		} else if (v == SB_DBX && p->dbx_min >= 0) {
			long long n = siglist_entries(ev);
			if (n < p->dbx_min) {
				verdict(e, "policy_secure_boot", 0,
				        "event %zu (PCR 7, dbx): %lld revocations, rule requires "
				        "at "
				        "least %lld",
				        i, n, p->dbx_min);
				ok = 0;
			}
		}
		tpa_fields_free(&f);
		if (!ok)
			return 0;
	}
	if ((p->sb_enabled >= 0 && !seen[SB_SECUREBOOT]) || (p->has_pk && !seen[SB_PK]) ||
	    (p->has_kek && !seen[SB_KEK]) || (p->has_db && !seen[SB_DB]) ||
	    (p->dbx_min >= 0 && !seen[SB_DBX])) {
		verdict(e, "policy_secure_boot", 0,
		        "a secure-boot variable the policy rules on was not measured in PCR 7");
		return 0;
	}
	verdict(e, "policy_secure_boot", 1,
	        "secure boot %s; PK, KEK, db and dbx as the rule allows",
	        p->sb_enabled == 1   ? "on"
	        : p->sb_enabled == 0 ? "off"
	                             : "state not ruled");
	return 1;
}

static int eval_events(struct eval *e, const tpa_policy *p, const tpa_eventlog *log,
                       const tpa_pcrs *q)
{
	size_t n = 0;
	for (size_t b = 0; b < p->nevents; b++) {
		const struct bankset *bs = &p->events[b];
		for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
			const tpa_event *ev = tpa_eventlog_get(log, i);
			unsigned k = tpa_event_pcr(ev);
			uint32_t t = tpa_event_type(ev);
			const uint8_t *d;
			size_t dl;
			char hex[2 * TPA_MAX_DIGEST + 1];
			if (t == TPA_EV_NO_ACTION || k >= TPA_PCR_COUNT || !(bs->mask >> k & 1))
				continue;
			if (!known_type(t)) {
				verdict(e, "policy_events", 0,
				        "event %zu in PCR %u has type 0x%08x, which no rule allows "
				        "(relabelled?)",
				        i, k, t);
				return 0;
			}
			if (p->has_sb && is_sb_event(ev))
				continue;
			/* The rule's digests count only in a bank the quote
			 * covers: the log's other banks are nobody's word. */
			if (tpa_pcrs_get(q, bs->alg, k, NULL, NULL) != TPA_OK) {
				verdict(e, "policy_events", 0,
				        "rule events: PCR %u is not quoted in the %s bank the rule "
				        "uses",
				        k, tpa_alg_name(bs->alg));
				return 0;
			}
			if (!(d = tpa_event_digest(ev, bs->alg, &dl))) {
				verdict(e, "policy_events", 0,
				        "event %zu in PCR %u has no %s digest", i, k,
				        tpa_alg_name(bs->alg));
				return 0;
			}
			hexs(d, dl, hex);
			if (!set_has(&bs->v[k], hex)) {
				const char *tn = tpa_event_type_name(t);
				verdict(e, "policy_events", 0,
				        "event %zu (PCR %u, %s, %s %.16s...) is not among the %zu "
				        "events the rule allows for PCR %u",
				        i, k, tn, tpa_alg_name(bs->alg), hex, bs->v[k].n, k);
				return 0;
			}
			n++;
		}
	}
	if (p->nevents)
		verdict(e, "policy_events", 1, "all %zu events of the ruled PCRs are allowed", n);
	return 1;
}

void tpa_policy_evaluate(const tpa_policy *p, const tpa_pcrs *quoted, const tpa_eventlog *log,
                         tpa_result *res, tpa_check_sink sink)
{
	struct eval e = {res, sink};
	if (!eval_pcrs(&e, p, quoted) || !eval_values(&e, p, quoted))
		return;
	if ((p->has_sb || p->nevents) && !log) {
		verdict(&e, "policy_events", 0,
		        "the policy has event rules but there is no event log");
		return;
	}
	if (log && eval_secure_boot(&e, p, log, quoted))
		eval_events(&e, p, log, quoted);
}

/* ---- JSON ---- */

static struct json_object *strarr(const strset *s, int with_notes)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < s->n; i++) {
		if (with_notes) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "digest", json_object_new_string(s->v[i]));
			if (s->note[i])
				json_object_object_add(o, "note",
				                       json_object_new_string(s->note[i]));
			json_object_array_add(a, o);
		} else {
			json_object_array_add(a, json_object_new_string(s->v[i]));
		}
	}
	return a;
}

static struct json_object *banksets(const struct bankset *b, size_t n, int with_notes)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; o && i < n; i++) {
		struct json_object *bo = json_object_new_object();
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			char key[4];
			if (!b[i].v[k].n)
				continue;
			snprintf(key, sizeof(key), "%u", k);
			json_object_object_add(bo, key, strarr(&b[i].v[k], with_notes));
		}
		json_object_object_add(o, tpa_alg_name(b[i].alg), bo);
	}
	return o;
}

int tpa_policy_to_json(const tpa_policy *p, char **out)
{
	struct json_object *root = json_object_new_object(), *pcrs = json_object_new_object();
	char *s;
	if (!root || !pcrs) {
		json_object_put(root);
		json_object_put(pcrs);
		return TPA_E_NOMEM;
	}
	json_object_object_add(root, "version", json_object_new_int(TPA_POLICY_VERSION));
	for (size_t b = 0; b < p->npcrs; b++) {
		struct json_object *a = json_object_new_array();
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++)
			if (p->pcrs[b].mask >> k & 1)
				json_object_array_add(a, json_object_new_int((int)k));
		json_object_object_add(pcrs, tpa_alg_name(p->pcrs[b].alg), a);
	}
	json_object_object_add(root, "pcrs", pcrs);
	if (p->nvalues)
		json_object_object_add(root, "pcr_values", banksets(p->values, p->nvalues, 0));
	if (p->has_sb) {
		struct json_object *sb = json_object_new_object();
		if (p->sb_enabled >= 0)
			json_object_object_add(sb, "enabled",
			                       json_object_new_boolean(p->sb_enabled));
		if (p->has_pk)
			json_object_object_add(sb, "pk", strarr(&p->pk, 0));
		if (p->has_kek)
			json_object_object_add(sb, "kek", strarr(&p->kek, 0));
		if (p->has_db)
			json_object_object_add(sb, "db", strarr(&p->db, 0));
		if (p->dbx_min >= 0)
			json_object_object_add(sb, "dbx_min_entries",
			                       json_object_new_int64(p->dbx_min));
		json_object_object_add(root, "secure_boot", sb);
	}
	if (p->nevents)
		json_object_object_add(root, "events", banksets(p->events, p->nevents, 1));
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

/* A digest or certificate hash: lowercase hex of a known digest size. */
static int valid_hex(const char *s, size_t want)
{
	size_t n = strlen(s);
	if (want ? n != 2 * want : (n != 40 && n != 64 && n != 96 && n != 128))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int read_strarr(struct json_object *a, strset *s, size_t want, int with_notes,
                       const char *what, char *why, size_t whylen)
{
	if (!json_object_is_type(a, json_type_array))
		BAD("%s: not an array", what);
	/* An empty list would allow nothing, or, read carelessly, anything. */
	if (json_object_array_length(a) == 0 && with_notes >= 0)
		BAD("%s: an empty list allows nothing; leave the PCR out instead", what);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i), *d = x, *note = NULL;
		int r;
		if (with_notes > 0 && json_object_is_type(x, json_type_object)) {
			json_object_object_foreach (x, key, val) {
				if (strcmp(key, "digest") == 0)
					d = val;
				else if (strcmp(key, "note") == 0 &&
				         json_object_is_type(val, json_type_string))
					note = val;
				else
					BAD("%s[%zu]: unknown member \"%s\"", what, i, key);
			}
		}
		if (!json_object_is_type(d, json_type_string) ||
		    !valid_hex(json_object_get_string(d), want))
			BAD("%s[%zu]: not a lowercase hex digest of the right size", what, i);
		if ((r = set_add(s, json_object_get_string(d),
		                 note ? json_object_get_string(note) : NULL)) != TPA_OK)
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

static int read_banksets(struct json_object *o, struct bankset *b, size_t *n, int with_notes,
                         const char *what, char *why, size_t whylen)
{
	if (!json_object_is_type(o, json_type_object))
		BAD("%s: not an object", what);
	json_object_object_foreach (o, bank, pcrs) {
		uint16_t alg;
		struct bankset *bs;
		if (tpa_alg_from_name(bank, &alg) != TPA_OK)
			BAD("%s: unknown bank \"%s\"", what, bank);
		if (!(bs = bank_get(b, n, alg, 1)))
			BAD("%s: too many banks", what);
		if (!json_object_is_type(pcrs, json_type_object))
			BAD("%s.%s: not an object", what, bank);
		json_object_object_foreach (pcrs, key, arr) {
			unsigned k;
			char w[64];
			int r;
			if (pcr_key(key, &k) != 0)
				BAD("%s.%s: \"%s\" is not a PCR index 0-23", what, bank, key);
			snprintf(w, sizeof(w), "%s.%s.%s", what, bank, key);
			if ((r = read_strarr(arr, &bs->v[k],
			                     with_notes ? 0 : tpa_alg_digest_size(alg), with_notes,
			                     w, why, whylen)) != TPA_OK)
				return r;
			bs->mask |= 1u << k;
		}
	}
	return TPA_OK;
}

static int policy_parse(struct json_object *root, tpa_policy *p, char *why, size_t whylen)
{
	struct json_object *v;
	int r;
	if (!json_object_is_type(root, json_type_object))
		BAD("a policy is a JSON object");
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int(v) != TPA_POLICY_VERSION)
		BAD("\"version\" must be %d", TPA_POLICY_VERSION);
	if (!json_object_object_get_ex(root, "pcrs", &v))
		BAD("\"pcrs\" (the banks and PCRs that must be quoted) is required");
	json_object_object_foreach (root, key, val) {
		if (strcmp(key, "version") == 0)
			continue;
		if (strcmp(key, "pcrs") == 0) {
			if (!json_object_is_type(val, json_type_object))
				BAD("pcrs: not an object");
			json_object_object_foreach (val, bank, arr) {
				uint16_t alg;
				struct bankset *bs;
				if (tpa_alg_from_name(bank, &alg) != TPA_OK)
					BAD("pcrs: unknown bank \"%s\"", bank);
				if (!(bs = bank_get(p->pcrs, &p->npcrs, alg, 1)) ||
				    !json_object_is_type(arr, json_type_array))
					BAD("pcrs.%s: not an array of PCR indices", bank);
				for (size_t i = 0; i < json_object_array_length(arr); i++) {
					struct json_object *x = json_object_array_get_idx(arr, i);
					int k = json_object_get_int(x);
					if (!json_object_is_type(x, json_type_int) || k < 0 ||
					    k >= TPA_PCR_COUNT)
						BAD("pcrs.%s[%zu]: not a PCR index 0-23", bank, i);
					bs->mask |= 1u << k;
				}
			}
		} else if (strcmp(key, "pcr_values") == 0) {
			if ((r = read_banksets(val, p->values, &p->nvalues, 0, "pcr_values", why,
			                       whylen)) != TPA_OK)
				return r;
		} else if (strcmp(key, "events") == 0) {
			if ((r = read_banksets(val, p->events, &p->nevents, 1, "events", why,
			                       whylen)) != TPA_OK)
				return r;
		} else if (strcmp(key, "secure_boot") == 0) {
			if (!json_object_is_type(val, json_type_object))
				BAD("secure_boot: not an object");
			p->has_sb = 1;
			json_object_object_foreach (val, sk, sv) {
				if (strcmp(sk, "enabled") == 0) {
					if (!json_object_is_type(sv, json_type_boolean))
						BAD("secure_boot.enabled: not a boolean");
					p->sb_enabled = json_object_get_boolean(sv);
				} else if (strcmp(sk, "pk") == 0 || strcmp(sk, "kek") == 0 ||
				           strcmp(sk, "db") == 0) {
					strset *s = sk[0] == 'p'   ? &p->pk
					            : sk[0] == 'k' ? &p->kek
					                           : &p->db;
					char w[32];
					*(sk[0] == 'p'   ? &p->has_pk
					  : sk[0] == 'k' ? &p->has_kek
					                 : &p->has_db) = 1;
					snprintf(w, sizeof(w), "secure_boot.%s", sk);
					if ((r = read_strarr(sv, s, 32, 0, w, why, whylen)) !=
					    TPA_OK)
						return r;
				} else if (strcmp(sk, "dbx_min_entries") == 0) {
					if (!json_object_is_type(sv, json_type_int) ||
					    json_object_get_int64(sv) < 0)
						BAD("secure_boot.dbx_min_entries: not a "
						    "non-negative integer");
					p->dbx_min = json_object_get_int64(sv);
				} else {
					BAD("secure_boot: unknown member \"%s\"", sk);
				}
			}
		} else {
			BAD("unknown member \"%s\"", key);
		}
	}
	return TPA_OK;
}

/* Every value or event rule must be on a (bank, PCR) the policy requires
 * quoted: a rule on anything else would judge what the quote does not sign. */
static int rules_within_pcrs(const tpa_policy *p, char *why, size_t whylen)
{
	const struct {
		const struct bankset *b;
		size_t n;
		const char *what;
	} sets[] = {{p->values, p->nvalues, "pcr_values"}, {p->events, p->nevents, "events"}};
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < sets[s].n; i++) {
			const struct bankset *b = &sets[s].b[i];
			uint32_t req = 0;
			for (size_t j = 0; j < p->npcrs; j++)
				if (p->pcrs[j].alg == b->alg)
					req = p->pcrs[j].mask;
			if (b->mask & ~req) {
				int k = __builtin_ctz(b->mask & ~req);
				BAD("%s.%s.%d: PCR %d of %s is not in \"pcrs\", so the quote need "
				    "not cover it",
				    sets[s].what, tpa_alg_name(b->alg), k, k, tpa_alg_name(b->alg));
			}
		}
	return TPA_OK;
}

int tpa_policy_from_json(const char *json, size_t len, tpa_policy **out, char *why, size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *root;
	tpa_policy *p;
	int r;
	if (!json || !out)
		return TPA_E_INVALID_ARG;
	if (len > TPA_JSON_MAX) {
		snprintf(why, whylen, "larger than %u bytes", TPA_JSON_MAX);
		return TPA_E_LIMIT;
	}
	if (!(tok = json_tokener_new_ex(TPA_JSON_MAX_DEPTH)))
		return TPA_E_NOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(why, whylen, "not JSON: %s",
		         json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(root);
		json_tokener_free(tok);
		return TPA_E_MALFORMED;
	}
	json_tokener_free(tok);
	if (!(p = policy_alloc())) {
		json_object_put(root);
		return TPA_E_NOMEM;
	}
	r = policy_parse(root, p, why, whylen);
	if (r == TPA_OK)
		r = rules_within_pcrs(p, why, whylen);
	json_object_put(root);
	if (r != TPA_OK) {
		tpa_policy_free(&p);
		return r;
	}
	*out = p;
	return TPA_OK;
}

/* ---- merging ---- */

static int union_sets(strset *dst, const strset *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = set_add(dst, src->v[i], src->note[i]);
		if (r != TPA_OK)
			return r;
	}
	return TPA_OK;
}

static int union_banks(struct bankset *dst, size_t *dn, const struct bankset *src, size_t sn)
{
	for (size_t b = 0; b < sn; b++) {
		struct bankset *d = bank_get(dst, dn, src[b].alg, 1);
		if (!d)
			return TPA_E_LIMIT;
		d->mask |= src[b].mask;
		for (unsigned k = 0; k < TPA_PCR_COUNT; k++) {
			int r = union_sets(&d->v[k], &src[b].v[k]);
			if (r != TPA_OK)
				return r;
		}
	}
	return TPA_OK;
}

int tpa_policy_merge(const tpa_policy *a, const tpa_policy *b, tpa_policy **out, char *why,
                     size_t whylen)
{
	tpa_policy *p;
	int r;
	if (!a || !b || !out)
		return TPA_E_INVALID_ARG;
	if (a->has_sb && b->has_sb && a->sb_enabled >= 0 && b->sb_enabled >= 0 &&
	    a->sb_enabled != b->sb_enabled) {
		snprintf(why, whylen, "one policy requires secure boot on, the other off");
		return TPA_E_POLICY;
	}
	if (!(p = policy_alloc()))
		return TPA_E_NOMEM;
	/* Required PCRs: what either requires, so that every rule stays on
	 * PCRs the quote must cover (a fleet quotes the same selection). */
	if ((r = union_banks(p->pcrs, &p->npcrs, a->pcrs, a->npcrs)) != TPA_OK ||
	    (r = union_banks(p->pcrs, &p->npcrs, b->pcrs, b->npcrs)) != TPA_OK)
		goto bad;
	if ((r = union_banks(p->values, &p->nvalues, a->values, a->nvalues)) != TPA_OK ||
	    (r = union_banks(p->values, &p->nvalues, b->values, b->nvalues)) != TPA_OK ||
	    (r = union_banks(p->events, &p->nevents, a->events, a->nevents)) != TPA_OK ||
	    (r = union_banks(p->events, &p->nevents, b->events, b->nevents)) != TPA_OK)
		goto bad;
	/* A rule only one side has would refuse the other side's machines,
	 * unless that side simply did not measure it: keep rules both have. */
	p->has_sb = a->has_sb && b->has_sb;
	if (p->has_sb) {
		p->sb_enabled = a->sb_enabled == b->sb_enabled ? a->sb_enabled : -1;
		p->has_pk = a->has_pk && b->has_pk;
		p->has_kek = a->has_kek && b->has_kek;
		p->has_db = a->has_db && b->has_db;
		if ((p->has_pk &&
		     ((r = union_sets(&p->pk, &a->pk)) || (r = union_sets(&p->pk, &b->pk)))) ||
		    (p->has_kek &&
		     ((r = union_sets(&p->kek, &a->kek)) || (r = union_sets(&p->kek, &b->kek)))) ||
		    (p->has_db &&
		     ((r = union_sets(&p->db, &a->db)) || (r = union_sets(&p->db, &b->db)))))
			goto bad;
		p->dbx_min = a->dbx_min < 0 || b->dbx_min < 0 ? -1
		             : a->dbx_min < b->dbx_min        ? a->dbx_min
		                                              : b->dbx_min;
	}
	*out = p;
	return TPA_OK;
bad:
	tpa_policy_free(&p);
	return r;
}
