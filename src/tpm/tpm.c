/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The attester's TPM client, on tpm2-tss ESAPI.
 *
 * Resource discipline: there may be no resource manager (bare swtpm, or
 * /dev/tpm0), so every transient object and session created here is flushed
 * before the function that created it returns, whatever happened.
 * Authorizations are passwords (ESYS_TR_PASSWORD), which need no session
 * object: the empty ones of our objects, and the hierarchies' as
 * tpa_tpm_set_auth gave them.  The policy sessions (to use the EK as a
 * parent; to increment the verifier-authorized counter) live only inside
 * the call that needs them.
 *
 * Command references are to TPM 2.0 Library Part 3 (commands) and Part 2
 * (structures), revision 1.59.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <tpmattest-tpm/tpm.h>

#include "verifier/ek.h"
#include "base/hash.h"

struct tpa_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char err[320];
};

/* ---- errors ---- */

static int tpm_errf(tpa_tpm *t, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int tpm_errf(tpa_tpm *t, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

/* The base of a TPM response code: format-one codes without the handle,
 * session or parameter number they blame; 0 for a code not from the TPM. */
static unsigned rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	rc &= 0xFFFF;
	return (rc & TPM2_RC_FMT1) ? (rc & (TPM2_RC_FMT1 | 0x3F)) : (rc & 0xFFF);
}

/* A TPM or TCTI failure of `what`, with the response code decoded.  A TCTI
 * failure means the TPM is unreachable, which deserves plain words. */
static int tpm_fail(tpa_tpm *t, TSS2_RC rc, const char *what)
{
	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
		return tpm_errf(t, TPA_E_TPM, "%s: the TPM does not answer (%s)", what,
		                Tss2_RC_Decode(rc));
	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & 0xFFFF) == TPM2_RC_INITIALIZE)
		return tpm_errf(t, TPA_E_TPM,
		                "%s: the TPM has not been started (TPM2_Startup was never sent; "
		                "tpm2_startup -c does it)",
		                what);
	if (rc_base(rc) == TPM2_RC_BAD_AUTH || rc_base(rc) == TPM2_RC_AUTH_FAIL)
		return tpm_errf(t, TPA_E_TPM,
		                "%s: %s (0x%x): a wrong or missing authorization (the owner's or "
		                "endorsement's, when set: --owner-auth, --endorsement-auth)",
		                what, Tss2_RC_Decode(rc), (unsigned)rc);
	return tpm_errf(t, TPA_E_TPM, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), (unsigned)rc);
}

/* Whether rc is the TPM saying "no such handle" (TPM_RC_HANDLE, any
 * handle/parameter number) or "no such NV index". */
static int rc_is_absent(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	rc &= 0xFFFF;
	return (rc & TPM2_RC_FMT1) && (rc & (TPM2_RC_FMT1 | 0x3F)) == TPM2_RC_HANDLE;
}

const char *tpa_tpm_error(const tpa_tpm *tpm)
{
	return tpm ? tpm->err : "";
}

/* ---- connection ---- */

int tpa_tpm_open(const char *tcti, tpa_tpm **out, char *errbuf, size_t errlen)
{
	tpa_tpm *t;
	TSS2_RC rc;
	const char *shown = tcti ? tcti : "tpm2-tss default";

	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(t = calloc(1, sizeof(*t))))
		return TPA_E_NOMEM;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "cannot reach a TPM through TCTI '%s': %s", shown,
			         Tss2_RC_Decode(rc));
		free(t);
		return TPA_E_TPM;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "cannot initialize ESAPI on TCTI '%s': %s", shown,
			         Tss2_RC_Decode(rc));
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return TPA_E_TPM;
	}
	*out = t;
	return TPA_OK;
}

void tpa_tpm_close(tpa_tpm **tpm)
{
	if (!tpm || !*tpm)
		return;
	Esys_Finalize(&(*tpm)->esys);
	Tss2_TctiLdr_Finalize(&(*tpm)->tcti);
	free(*tpm);
	*tpm = NULL;
}

/* ---- hierarchy authorizations ---- */

static ESYS_TR hierarchy_tr(int which, const char **name)
{
	switch (which) {
	case TPA_HIERARCHY_OWNER: *name = "owner"; return ESYS_TR_RH_OWNER;
	case TPA_HIERARCHY_ENDORSEMENT: *name = "endorsement"; return ESYS_TR_RH_ENDORSEMENT;
	case TPA_HIERARCHY_LOCKOUT: *name = "lockout"; return ESYS_TR_RH_LOCKOUT;
	default: *name = NULL; return ESYS_TR_NONE;
	}
}

/*
 * ESAPI keeps the value with the hierarchy's ESYS_TR and sends it in every
 * password session (ESYS_TR_PASSWORD) authorizing that hierarchy, so
 * NV_DefineSpace and EvictControl (owner), CreatePrimary and PolicySecret
 * (endorsement) below all use it once it is set.
 */
int tpa_tpm_set_auth(tpa_tpm *tpm, int which, const uint8_t *auth, size_t len)
{
	TPM2B_AUTH a;
	const char *name;
	ESYS_TR h = hierarchy_tr(which, &name);
	TSS2_RC rc;

	if (!tpm || h == ESYS_TR_NONE || len > TPA_TPM_MAX_AUTH || (len && !auth))
		return TPA_E_INVALID_ARG;
	memset(&a, 0, sizeof(a));
	a.size = (UINT16)len;
	if (len)
		memcpy(a.buffer, auth, len);
	rc = Esys_TR_SetAuth(tpm->esys, h, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_errf(tpm, TPA_E_TPM, "setting the %s authorization: %s", name,
		                Tss2_RC_Decode(rc));
	return TPA_OK;
}

/* TPM2_HierarchyChangeAuth (Part 3, 24.8), authorized by the current value
 * in a password session.  The new value travels in the clear to the TPM,
 * as every password does. */
int tpa_tpm_change_auth(tpa_tpm *tpm, int which, const uint8_t *auth, size_t len)
{
	TPM2B_AUTH a;
	const char *name;
	ESYS_TR h = hierarchy_tr(which, &name);
	char what[96];
	TSS2_RC rc;
	unsigned base;

	if (!tpm || h == ESYS_TR_NONE || len > TPA_TPM_MAX_AUTH || (len && !auth))
		return TPA_E_INVALID_ARG;
	memset(&a, 0, sizeof(a));
	a.size = (UINT16)len;
	if (len)
		memcpy(a.buffer, auth, len);
	rc = Esys_HierarchyChangeAuth(tpm->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	                              &a);
	/* ESAPI then keeps the new value itself; said again, to not depend on
	 * it */
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TR_SetAuth(tpm->esys, h, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (rc == TSS2_RC_SUCCESS)
		return TPA_OK;
	base = rc_base(rc);
	if (base == TPM2_RC_BAD_AUTH || base == TPM2_RC_AUTH_FAIL)
		return tpm_errf(tpm, TPA_E_TPM,
		                "changing the %s authorization (TPM2_HierarchyChangeAuth): the "
		                "TPM refused the current %s authorization (%s, 0x%x): it is set, "
		                "and not to the value given%s",
		                name, name, Tss2_RC_Decode(rc), (unsigned)rc,
		                which == TPA_HIERARCHY_LOCKOUT
		                        ? "; lockout failures count against the dictionary-attack "
		                          "protection"
		                        : "");
	if (base == TPM2_RC_LOCKOUT)
		return tpm_errf(tpm, TPA_E_TPM,
		                "changing the %s authorization (TPM2_HierarchyChangeAuth): the TPM "
		                "is in dictionary-attack lockout (TPM_RC_LOCKOUT, 0x%x)",
		                name, (unsigned)rc);
	snprintf(what, sizeof(what), "changing the %s authorization (TPM2_HierarchyChangeAuth)",
	         name);
	return tpm_fail(tpm, rc, what);
}

/* ---- capabilities ---- */

/* Allocated banks with their PCR bitmaps (bit i = PCR i). */
static int get_banks(tpa_tpm *t, uint16_t algs[TPA_MAX_BANKS], uint32_t masks[TPA_MAX_BANKS],
                     size_t *n)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = 0;
	TSS2_RC rc;
	size_t k = 0;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS, 0,
	                        1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "reading the allocated PCR banks (TPM2_GetCapability)");
	for (UINT32 i = 0; i < cap->data.assignedPCR.count; i++) {
		const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
		uint32_t m = 0;
		for (unsigned b = 0; b < s->sizeofSelect && b < 3; b++)
			m |= (uint32_t)s->pcrSelect[b] << (8 * b);
		if (!m)
			continue; /* listed but deallocated (swtpm lists every bank) */
		if (k == TPA_MAX_BANKS) {
			Esys_Free(cap);
			return tpm_errf(t, TPA_E_LIMIT, "the TPM reports more than %d PCR banks",
			                TPA_MAX_BANKS);
		}
		algs[k] = s->hash;
		masks[k] = m;
		k++;
	}
	Esys_Free(cap);
	*n = k;
	return TPA_OK;
}

int tpa_tpm_banks(tpa_tpm *tpm, uint16_t algs[TPA_MAX_BANKS], size_t *n)
{
	uint32_t masks[TPA_MAX_BANKS];
	if (!tpm || !algs || !n)
		return TPA_E_INVALID_ARG;
	return get_banks(tpm, algs, masks, n);
}

int tpa_tpm_info_get(tpa_tpm *tpm, tpa_tpm_info *info)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = 0;
	TSS2_RC rc;
	tpa_tpm_info r;
	uint32_t vendor1 = 0;

	if (!tpm || !info)
		return TPA_E_INVALID_ARG;
	memset(&r, 0, sizeof(r));
	rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                        TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 8, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, rc, "reading the TPM's fixed properties (TPM2_GetCapability)");
	for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++) {
		TPM2_PT p = cap->data.tpmProperties.tpmProperty[i].property;
		uint32_t v = cap->data.tpmProperties.tpmProperty[i].value;
		char *dst = NULL;
		if (p == TPM2_PT_MANUFACTURER)
			dst = r.manufacturer;
		else if (p >= TPM2_PT_VENDOR_STRING_1 && p <= TPM2_PT_VENDOR_STRING_1 + 3)
			dst = r.vendor + 4 * (p - TPM2_PT_VENDOR_STRING_1);
		else if (p == TPM2_PT_FIRMWARE_VERSION_1)
			r.firmware1 = v;
		else if (p == TPM2_PT_FIRMWARE_VERSION_1 + 1)
			r.firmware2 = v;
		if (p == TPM2_PT_VENDOR_STRING_1)
			vendor1 = v;
		if (dst)
			for (int b = 0; b < 4; b++) {
				char c = (char)(v >> (24 - 8 * b));
				dst[b] = (c >= 0x20 && c < 0x7f) ? c : (c ? '?' : ' ');
			}
	}
	Esys_Free(cap);
	/* trailing blanks and NULs (shown as blanks) are padding */
	for (int i = 3; i >= 0 && r.manufacturer[i] == ' '; i--)
		r.manufacturer[i] = 0;
	for (int i = 15; i >= 0 && (r.vendor[i] == ' ' || !r.vendor[i]); i--)
		r.vendor[i] = 0;
	r.is_simulator = strcmp(r.manufacturer, "IBM") == 0 ||
	                 strcmp(r.manufacturer, "MSFT") == 0 || vendor1 == 0x53572020u; /* "SW  " */
	*info = r;
	return TPA_OK;
}

/* ---- PCRs ---- */

static int selection_empty(const TPML_PCR_SELECTION *s)
{
	for (UINT32 i = 0; i < s->count; i++)
		for (unsigned b = 0; b < s->pcrSelections[i].sizeofSelect; b++)
			if (s->pcrSelections[i].pcrSelect[b])
				return 0;
	return 1;
}

/* Selection of the PCRs in mask in every bank, in the TPM's bank order. */
static void selection_build(TPML_PCR_SELECTION *sel, const uint16_t *algs, const uint32_t *masks,
                            size_t n, uint32_t mask)
{
	memset(sel, 0, sizeof(*sel));
	for (size_t i = 0; i < n; i++) {
		uint32_t m = masks[i] & mask;
		TPMS_PCR_SELECTION *s;
		if (!m)
			continue;
		s = &sel->pcrSelections[sel->count++];
		s->hash = algs[i];
		s->sizeofSelect = 3;
		for (unsigned b = 0; b < 3; b++)
			s->pcrSelect[b] = (uint8_t)(m >> (8 * b));
	}
}

/*
 * Reads every PCR in sel into pcrs.  TPM2_PCR_Read returns at most eight
 * digests (TPML_DIGEST) per call, so this loops, dropping what each answer
 * covered.  *changed is set when pcrUpdateCounter moved between calls.
 */
static int pcr_read_sel(tpa_tpm *t, const TPML_PCR_SELECTION *sel, tpa_pcrs *pcrs, int *changed)
{
	TPML_PCR_SELECTION want = *sel;
	UINT32 first_counter = 0;
	int first = 1;

	*changed = 0;
	while (!selection_empty(&want)) {
		TPML_PCR_SELECTION *got = NULL;
		TPML_DIGEST *vals = NULL;
		UINT32 counter = 0, k = 0;
		int progress = 0, r = TPA_OK;
		TSS2_RC rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want,
		                           &counter, &got, &vals);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(t, rc, "reading PCRs (TPM2_PCR_Read)");
		if (!first && counter != first_counter)
			*changed = 1;
		first = 0;
		first_counter = counter;
		for (UINT32 i = 0; i < got->count && r == TPA_OK; i++) {
			const TPMS_PCR_SELECTION *g = &got->pcrSelections[i];
			TPMS_PCR_SELECTION *w = NULL;
			for (UINT32 j = 0; j < want.count; j++)
				if (want.pcrSelections[j].hash == g->hash)
					w = &want.pcrSelections[j];
			for (unsigned pcr = 0; pcr < 8u * g->sizeofSelect && r == TPA_OK; pcr++) {
				size_t dlen = tpa_alg_digest_size(g->hash);
				if (!(g->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
					continue;
				if (!w || pcr >= 24 ||
				    !(w->pcrSelect[pcr / 8] & (1u << (pcr % 8))) ||
				    k >= vals->count || vals->digests[k].size != dlen || !dlen) {
					r = tpm_errf(t, TPA_E_TPM,
					             "TPM2_PCR_Read answered with values that were "
					             "not asked for");
					break;
				}
				r = tpa_pcrs_set(pcrs, g->hash, pcr, vals->digests[k].buffer, dlen);
				k++;
				w->pcrSelect[pcr / 8] &= (uint8_t) ~(1u << (pcr % 8));
				progress = 1;
			}
		}
		if (r == TPA_OK && (k != vals->count || !progress))
			r = tpm_errf(t, TPA_E_TPM,
			             "TPM2_PCR_Read answered without the values asked for");
		Esys_Free(got);
		Esys_Free(vals);
		if (r != TPA_OK)
			return r;
	}
	return TPA_OK;
}

int tpa_tpm_read_pcrs(tpa_tpm *tpm, uint32_t pcr_mask, tpa_pcrs **out)
{
	uint16_t algs[TPA_MAX_BANKS];
	uint32_t masks[TPA_MAX_BANKS];
	size_t n;
	TPML_PCR_SELECTION sel;
	tpa_pcrs *pcrs = NULL;
	int r, changed;

	if (!tpm || !out)
		return TPA_E_INVALID_ARG;
	if ((r = get_banks(tpm, algs, masks, &n)) != TPA_OK)
		return r;
	selection_build(&sel, algs, masks, n, pcr_mask);
	/* a consistent snapshot: retry if an extend landed between reads */
	for (int attempt = 0; attempt < 3; attempt++) {
		tpa_pcrs_free(&pcrs);
		if ((r = tpa_pcrs_new(&pcrs)) != TPA_OK)
			return r;
		if ((r = pcr_read_sel(tpm, &sel, pcrs, &changed)) != TPA_OK) {
			tpa_pcrs_free(&pcrs);
			return r;
		}
		if (!changed) {
			*out = pcrs;
			return TPA_OK;
		}
	}
	tpa_pcrs_free(&pcrs);
	return tpm_errf(tpm, TPA_E_TPM, "PCRs kept changing while they were being read");
}

int tpa_tpm_extend(tpa_tpm *tpm, unsigned pcr, size_t n, const uint16_t *algs,
                   const uint8_t *const *digests)
{
	TPML_DIGEST_VALUES v;
	TSS2_RC rc;
	char what[64];

	if (!tpm || pcr >= TPA_PCR_COUNT || !n || n > TPM2_NUM_PCR_BANKS || !algs || !digests)
		return TPA_E_INVALID_ARG;
	memset(&v, 0, sizeof(v));
	for (size_t i = 0; i < n; i++) {
		size_t len = tpa_alg_digest_size(algs[i]);
		if (!len || len > sizeof(TPMU_HA))
			return TPA_E_UNSUPPORTED;
		v.digests[i].hashAlg = algs[i];
		memcpy(&v.digests[i].digest, digests[i], len);
	}
	v.count = (UINT32)n;
	rc = Esys_PCR_Extend(tpm->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                     ESYS_TR_NONE, &v);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(what, sizeof(what), "extending PCR%u (TPM2_PCR_Extend)", pcr);
		return tpm_fail(tpm, rc, what);
	}
	return TPA_OK;
}

/* ---- templates ---- */

/* An attestation key: TPM-bound, TPM-generated, and restricted so it signs
 * only TPM-generated structures (no forged TPMS_ATTEST, THREATS.md). */
#define AK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static void ak_template(uint16_t alg, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = alg;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = AK_ATTRS;
	if (alg == TPM2_ALG_RSA) {
		TPMS_RSA_PARMS *r = &p->publicArea.parameters.rsaDetail;
		r->symmetric.algorithm = TPM2_ALG_NULL;
		r->scheme.scheme = TPM2_ALG_RSASSA;
		r->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		r->keyBits = 2048;
	} else {
		TPMS_ECC_PARMS *e = &p->publicArea.parameters.eccDetail;
		e->symmetric.algorithm = TPM2_ALG_NULL;
		e->scheme.scheme = TPM2_ALG_ECDSA;
		e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		e->curveID = TPM2_ECC_NIST_P256;
		e->kdf.scheme = TPM2_ALG_NULL;
	}
}

/* Whether an existing key is an AK as we would have made it.  Compares the
 * fields that matter field by field (the unique part differs per key). */
static int ak_check(tpa_tpm *t, const TPMT_PUBLIC *p, uint16_t want_alg, uint32_t handle)
{
	TPM2B_PUBLIC tmpl;
	const char *why = NULL;

	if (p->type != TPM2_ALG_RSA && p->type != TPM2_ALG_ECC)
		why = "it is neither an RSA nor an ECC key";
	else if (want_alg != TPA_KEY_ANY && p->type != want_alg)
		why = p->type == TPM2_ALG_RSA ? "it is an RSA key and an ECC AK was asked for"
		                              : "it is an ECC key and an RSA AK was asked for";
	if (why)
		return tpm_errf(t, TPA_E_TPM,
		                "persistent handle 0x%08x holds a key that is not our AK: %s; not "
		                "replacing it (choose another --ak-handle, or evict it with "
		                "tpm2_evictcontrol)",
		                handle, why);
	ak_template(p->type, &tmpl);
	if (p->nameAlg != TPM2_ALG_SHA256)
		why = "its name algorithm is not SHA-256";
	else if (p->objectAttributes != tmpl.publicArea.objectAttributes)
		why = "its attributes are not "
		      "fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign";
	else if (p->authPolicy.size != 0)
		why = "it has an authorization policy";
	else if (p->type == TPM2_ALG_RSA &&
	         (p->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_NULL ||
	          p->parameters.rsaDetail.scheme.scheme != TPM2_ALG_RSASSA ||
	          p->parameters.rsaDetail.scheme.details.rsassa.hashAlg != TPM2_ALG_SHA256 ||
	          p->parameters.rsaDetail.keyBits != 2048 ||
	          (p->parameters.rsaDetail.exponent != 0 &&
	           p->parameters.rsaDetail.exponent != 65537)))
		why = "it is not an RSA-2048 RSASSA-SHA256 key";
	else if (p->type == TPM2_ALG_ECC &&
	         (p->parameters.eccDetail.symmetric.algorithm != TPM2_ALG_NULL ||
	          p->parameters.eccDetail.scheme.scheme != TPM2_ALG_ECDSA ||
	          p->parameters.eccDetail.scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256 ||
	          p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	          p->parameters.eccDetail.kdf.scheme != TPM2_ALG_NULL))
		why = "it is not an ECC P-256 ECDSA-SHA256 key";
	if (why)
		return tpm_errf(t, TPA_E_TPM,
		                "persistent handle 0x%08x holds a key that is not our AK: %s; not "
		                "replacing it (choose another --ak-handle, or evict it with "
		                "tpm2_evictcontrol)",
		                handle, why);
	return TPA_OK;
}

/* The signing scheme's hash: the TPM computes a quote's pcrDigest with it
 * (Part 3, 18.4.1). */
static uint16_t ak_hash(const TPMT_PUBLIC *p)
{
	return p->type == TPM2_ALG_RSA ? p->parameters.rsaDetail.scheme.details.rsassa.hashAlg
	                               : p->parameters.eccDetail.scheme.details.ecdsa.hashAlg;
}

/* The counter: TPM_NT_COUNTER, 8 bytes; its own (empty) auth and the owner's
 * may read and increment it; no dictionary-attack lockout, since the auth is
 * empty anyway. */
#define NV_ATTRS                                                                             \
	((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
	 TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
/* Attributes that report state rather than what the index was defined with. */
#define NV_STATE_ATTRS (TPMA_NV_WRITTEN | TPMA_NV_READLOCKED | TPMA_NV_WRITELOCKED)

/* ---- objects ---- */

static void flush(tpa_tpm *t, ESYS_TR *tr)
{
	if (*tr != ESYS_TR_NONE)
		(void)Esys_FlushContext(t->esys,
		                        *tr); /* best effort: nothing better to do on failure */
	*tr = ESYS_TR_NONE;
}

static void tr_close(tpa_tpm *t, ESYS_TR *tr)
{
	if (*tr != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, tr);
	*tr = ESYS_TR_NONE;
}

/* Creates an EK from its default template; the caller flushes *ek. */
static int ek_create(tpa_tpm *t, uint16_t alg, ESYS_TR *ek, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION none;
	TSS2_RC rc;

	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&none, 0, sizeof(none));
	tpa_ek_template(alg, &tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                        ESYS_TR_NONE, &sens, &tmpl, &outside, &none, ek, pub, NULL, NULL,
	                        NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc,
		                alg == TPM2_ALG_RSA ? "creating the RSA EK (TPM2_CreatePrimary)"
		                                    : "creating the ECC EK (TPM2_CreatePrimary)");
	return TPA_OK;
}

/* A fresh policy session satisfying the EK's policy (PolicySecret with the
 * endorsement hierarchy's empty auth). */
static int ek_policy_session(tpa_tpm *t, ESYS_TR *sess)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	TSS2_RC rc;

	if (*sess == ESYS_TR_NONE) {
		rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym,
		                           TPM2_ALG_SHA256, sess);
		if (rc != TSS2_RC_SUCCESS) {
			*sess = ESYS_TR_NONE;
			return tpm_fail(t, rc, "starting a policy session (TPM2_StartAuthSession)");
		}
	}
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, *sess, ESYS_TR_PASSWORD,
	                       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "satisfying the EK policy (TPM2_PolicySecret)");
	return TPA_OK;
}

/* Creates an AK under the ECC EK and persists it at handle. */
static int ak_create(tpa_tpm *t, uint16_t alg, uint32_t handle, ESYS_TR *out)
{
	ESYS_TR ek = ESYS_TR_NONE, sess = ESYS_TR_NONE, ak = ESYS_TR_NONE, persisted = ESYS_TR_NONE;
	TPM2B_PUBLIC *ekpub = NULL, *pub = NULL, tmpl;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION none;
	TSS2_RC rc;
	int r;

	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&none, 0, sizeof(none));
	ak_template(alg, &tmpl);

	if ((r = ek_create(t, TPM2_ALG_ECC, &ek, &ekpub)) != TPA_OK)
		goto out;
	if ((r = ek_policy_session(t, &sess)) != TPA_OK)
		goto out;
	rc = Esys_Create(t->esys, ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
	                 &none, &priv, &pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "creating the AK under the EK (TPM2_Create)");
		goto out;
	}
	/* a policy session's digest resets after each use */
	if ((r = ek_policy_session(t, &sess)) != TPA_OK)
		goto out;
	rc = Esys_Load(t->esys, ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &ak);
	if (rc != TSS2_RC_SUCCESS) {
		ak = ESYS_TR_NONE;
		r = tpm_fail(t, rc, "loading the AK (TPM2_Load)");
		goto out;
	}
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                       ESYS_TR_NONE, handle, &persisted);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "making the AK persistent (TPM2_EvictControl)");
		goto out;
	}
	*out = persisted;
	r = TPA_OK;
out:
	flush(t, &ak);
	flush(t, &sess);
	flush(t, &ek);
	Esys_Free(ekpub);
	Esys_Free(pub);
	Esys_Free(priv);
	return r;
}

/* Finds (and checks) or creates the AK; *akpub is the caller's to free. */
static int ak_get(tpa_tpm *t, uint16_t want_alg, uint32_t handle, ESYS_TR *ak, TPM2B_PUBLIC **akpub,
                  int *created)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int r;

	*created = 0;
	if ((handle >> 24) != TPM2_HT_PERSISTENT || handle >= 0x81800000u)
		return tpm_errf(t, TPA_E_INVALID_ARG,
		                "AK handle 0x%08x is not an owner persistent handle "
		                "(0x81000000-0x817FFFFF)",
		                handle);
	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS && !rc_is_absent(rc))
		return tpm_fail(t, rc, "looking for the AK (TPM2_ReadPublic)");
	if (rc != TSS2_RC_SUCCESS) {
		if ((r = ak_create(t, want_alg == TPA_KEY_ANY ? TPA_KEY_ECC : want_alg, handle,
		                   &tr)) != TPA_OK)
			return r;
		*created = 1;
	}
	rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
	                     NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tr_close(t, &tr);
		return tpm_fail(t, rc, "reading the AK's public area (TPM2_ReadPublic)");
	}
	if ((r = ak_check(t, &pub->publicArea, want_alg, handle)) != TPA_OK) {
		Esys_Free(pub);
		tr_close(t, &tr);
		return r;
	}
	*ak = tr;
	*akpub = pub;
	return TPA_OK;
}

/* The verifier-authorized counter (<tpmattest/counterauth.h>): written
 * only through a policy session satisfying its authPolicy, neither with its
 * (empty) auth nor the owner's; read with either, as NV_Certify and PolicyNV
 * need. */
#define NV_AUTH_ATTRS                                                                          \
	((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_POLICYWRITE | TPMA_NV_AUTHREAD | \
	 TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
#define NV_POLICY_LEN 32

/* Why an existing index is not the counter asked for (NULL when it is). */
static const char *nv_mismatch(const TPMS_NV_PUBLIC *p, const uint8_t *policy)
{
	TPMA_NV want = policy ? NV_AUTH_ATTRS : NV_ATTRS;
	TPMA_NV got = p->attributes & ~NV_STATE_ATTRS;

	if (((p->attributes & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) != TPM2_NT_COUNTER)
		return "it is not a counter (TPM_NT_COUNTER)";
	if (got != want) {
		if (!policy && (got & TPMA_NV_POLICYWRITE))
			return "it is a verifier-authorized counter (policywrite), and the older "
			       "kind was asked for (give the verifier's key, --counter-key)";
		if (policy && got == NV_ATTRS)
			return "it is the older kind of counter (authwrite|ownerwrite), and a "
			       "verifier-authorized one was asked for";
		return policy ? "its attributes are not policywrite|authread|ownerread|no_da"
		              : "its attributes are not "
		                "authread|authwrite|ownerread|ownerwrite|no_da";
	}
	if (p->nameAlg != TPM2_ALG_SHA256)
		return "its name algorithm is not SHA-256";
	if (p->dataSize != 8)
		return "its size is not 8 bytes";
	if (!policy && p->authPolicy.size != 0)
		return "it has an authorization policy";
	if (policy && (p->authPolicy.size != NV_POLICY_LEN ||
	               CRYPTO_memcmp(p->authPolicy.buffer, policy, NV_POLICY_LEN) != 0))
		return "its authPolicy is not the one of the verifier's key given (another "
		       "verifier key, or none)";
	return NULL;
}

/* Finds (and checks) or defines the counter; the verifier-authorized kind
 * when policy (32 bytes) is given. */
static int nv_get(tpa_tpm *t, uint32_t index, const uint8_t *policy, ESYS_TR *nv, int *created)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;
	const char *why = NULL;

	*created = 0;
	if ((index >> 24) != TPM2_HT_NV_INDEX || index >= 0x01400000u)
		return tpm_errf(t, TPA_E_INVALID_ARG,
		                "NV index 0x%08x is not in the owner range 0x01000000-0x013FFFFF",
		                index);
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS && !rc_is_absent(rc))
		return tpm_fail(t, rc, "looking for the NV counter (TPM2_NV_ReadPublic)");
	if (rc != TSS2_RC_SUCCESS) {
		TPM2B_AUTH auth = {.size = 0};
		TPM2B_NV_PUBLIC def = {.nvPublic = {
		                               .nvIndex = index,
		                               .nameAlg = TPM2_ALG_SHA256,
		                               .attributes = policy ? NV_AUTH_ATTRS : NV_ATTRS,
		                               .dataSize = 8,
		                       }};
		if (policy) {
			def.nvPublic.authPolicy.size = NV_POLICY_LEN;
			memcpy(def.nvPublic.authPolicy.buffer, policy, NV_POLICY_LEN);
		}
		rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		                         ESYS_TR_NONE, &auth, &def, &tr);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(t, rc,
			                policy ? "defining the verifier-authorized NV counter "
			                         "(TPM2_NV_DefineSpace)"
			                       : "defining the NV counter (TPM2_NV_DefineSpace)");
		*created = 1;
		*nv = tr;
		return TPA_OK;
	}
	rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tr_close(t, &tr);
		return tpm_fail(t, rc, "reading the NV counter's public area (TPM2_NV_ReadPublic)");
	}
	why = nv_mismatch(&pub->nvPublic, policy);
	Esys_Free(pub);
	if (why) {
		tr_close(t, &tr);
		return tpm_errf(t, TPA_E_TPM,
		                "NV index 0x%08x exists but is not our counter: %s; not touching "
		                "it (choose another --nv-index)",
		                index, why);
	}
	*nv = tr;
	return TPA_OK;
}

static int marshal_public(tpa_tpm *t, const TPM2B_PUBLIC *pub, uint8_t *buf, size_t cap,
                          size_t *len)
{
	size_t off = 0;
	TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, cap, &off);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "marshalling the AK's public area");
	*len = off;
	return TPA_OK;
}

static int provision(tpa_tpm *t, const tpa_provision_opts *opts, tpa_provision_info *info,
                     ESYS_TR *ak_out, TPM2B_PUBLIC **akpub_out, ESYS_TR *nv_out)
{
	tpa_provision_opts o = {0};
	ESYS_TR ak = ESYS_TR_NONE, nv = ESYS_TR_NONE;
	TPM2B_PUBLIC *akpub = NULL;
	TPM2B_NAME *name = NULL;
	tpa_provision_info inf;
	int r, ak_created = 0, nv_created = 0;

	if (opts)
		o = *opts;
	if (!o.ak_handle)
		o.ak_handle = TPA_TPM_DEFAULT_AK_HANDLE;
	if (!o.nv_index)
		o.nv_index =
		        o.counter_policy ? TPA_TPM_DEFAULT_AUTH_NV_INDEX : TPA_TPM_DEFAULT_NV_INDEX;
	if (o.ak_alg != TPA_KEY_ANY && o.ak_alg != TPA_KEY_RSA && o.ak_alg != TPA_KEY_ECC)
		return tpm_errf(t, TPA_E_INVALID_ARG, "unknown AK algorithm 0x%04x", o.ak_alg);

	if ((r = ak_get(t, o.ak_alg, o.ak_handle, &ak, &akpub, &ak_created)) != TPA_OK)
		return r;
	if ((r = nv_get(t, o.nv_index, o.counter_policy, &nv, &nv_created)) != TPA_OK)
		goto fail;
	memset(&inf, 0, sizeof(inf));
	inf.ak_created = ak_created;
	inf.nv_created = nv_created;
	inf.ak_alg = akpub->publicArea.type;
	inf.ak_handle = o.ak_handle;
	inf.nv_index = o.nv_index;
	if ((r = marshal_public(t, akpub, inf.ak_public, sizeof(inf.ak_public),
	                        &inf.ak_public_len)) != TPA_OK)
		goto fail;
	{
		TSS2_RC rc = Esys_TR_GetName(t->esys, ak, &name);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, rc, "computing the AK's name");
			goto fail;
		}
		if (name->size > sizeof(inf.ak_name)) {
			r = tpm_errf(t, TPA_E_TPM, "the AK's name is too long");
			goto fail;
		}
		memcpy(inf.ak_name, name->name, name->size);
		inf.ak_name_len = name->size;
	}
	if (info)
		*info = inf;
	Esys_Free(name);
	if (ak_out)
		*ak_out = ak;
	else
		tr_close(t, &ak);
	if (akpub_out)
		*akpub_out = akpub;
	else
		Esys_Free(akpub);
	if (nv_out)
		*nv_out = nv;
	else
		tr_close(t, &nv);
	return TPA_OK;
fail:
	Esys_Free(name);
	Esys_Free(akpub);
	tr_close(t, &ak);
	tr_close(t, &nv);
	return r;
}

/* QN = nameAlg || H(parentQN || name) (Part 1, 16.6), with SHA-256, the
 * name algorithm of the EK templates and of our AK. */
static int qualify(const uint8_t *parent, size_t plen, const TPM2B_NAME *name, uint8_t out[34])
{
	uint8_t buf[sizeof(TPM2B_NAME) + sizeof(TPMU_NAME)];
	if (plen > sizeof(TPMU_NAME) || name->size > sizeof(TPMU_NAME))
		return TPA_E_INVALID_ARG;
	memcpy(buf, parent, plen);
	memcpy(buf + plen, name->name, name->size);
	out[0] = 0x00;
	out[1] = 0x0B;
	return tpa_hash(TPA_ALG_SHA256, buf, plen + name->size, out + 2);
}

/* Whether qn is the qualified name of a child (name akname) of the default
 * EK of alg, which lives under TPM_RH_ENDORSEMENT. */
static int ak_under_ek(tpa_tpm *t, uint16_t alg, const TPM2B_NAME *akname, const TPM2B_NAME *qn,
                       int *yes)
{
	static const uint8_t endorsement[4] = {0x40, 0x00, 0x00, 0x0B};
	ESYS_TR ek = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *ekname = NULL;
	uint8_t qek[34], qak[34];
	TSS2_RC rc;
	int r;

	if ((r = ek_create(t, alg, &ek, &pub)) != TPA_OK)
		return r;
	rc = Esys_TR_GetName(t->esys, ek, &ekname);
	flush(t, &ek);
	Esys_Free(pub);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "computing the EK's name");
	r = qualify(endorsement, sizeof(endorsement), ekname, qek);
	if (r == TPA_OK)
		r = qualify(qek, sizeof(qek), akname, qak);
	Esys_Free(ekname);
	if (r != TPA_OK)
		return r;
	*yes = qn->size == sizeof(qak) && CRYPTO_memcmp(qn->name, qak, sizeof(qak)) == 0;
	return TPA_OK;
}

/*
 * An AK we did not create this time must still be a child of one of this
 * TPM's default EKs, in the endorsement hierarchy: TPM2_ReadPublic's
 * qualifiedName says who its parents are.  ECC first (where we create it),
 * then RSA (where tpm2_createak does).
 */
static int ak_check_parent(tpa_tpm *t, uint32_t handle)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL, *qn = NULL;
	TSS2_RC rc;
	int r, yes = 0;

	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
		                     &name, &qn);
	tr_close(t, &tr);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "reading the AK's qualified name (TPM2_ReadPublic)");
	r = ak_under_ek(t, TPM2_ALG_ECC, name, qn, &yes);
	if (r == TPA_OK && !yes)
		r = ak_under_ek(t, TPM2_ALG_RSA, name, qn, &yes);
	if (r == TPA_OK && !yes)
		r = tpm_errf(t, TPA_E_TPM,
		             "persistent handle 0x%08x holds a key that is not our AK: it is not a "
		             "child of this TPM's default ECC or RSA EK; not replacing it",
		             handle);
	Esys_Free(pub);
	Esys_Free(name);
	Esys_Free(qn);
	return r;
}

int tpa_tpm_provision(tpa_tpm *tpm, const tpa_provision_opts *opts, tpa_provision_info *info)
{
	tpa_provision_info inf;
	int r;

	if (!tpm)
		return TPA_E_INVALID_ARG;
	if ((r = provision(tpm, opts, &inf, NULL, NULL, NULL)) != TPA_OK)
		return r;
	if (!inf.ak_created && (r = ak_check_parent(tpm, inf.ak_handle)) != TPA_OK)
		return r;
	if (info)
		*info = inf;
	return TPA_OK;
}

/* ---- NV reads (EK certificates) ---- */

/* Whether NV indices exist: one TPM2_GetCapability(TPM_CAP_HANDLES) over the
 * range they share. */
static int nv_present(tpa_tpm *t, uint32_t first, uint32_t count, const uint32_t *which,
                      int *present, size_t n)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = 0;
	TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                                TPM2_CAP_HANDLES, first, count, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "listing NV indices (TPM2_GetCapability)");
	for (size_t i = 0; i < n; i++) {
		present[i] = 0;
		for (UINT32 k = 0; k < cap->data.handles.count; k++)
			if (cap->data.handles.handle[k] == which[i])
				present[i] = 1;
	}
	Esys_Free(cap);
	return TPA_OK;
}

/* Caps the size of an NV blob we are willing to read (EK certs are ~1 KiB;
 * an NV index is at most a few KiB on any TPM). */
#define NV_BLOB_MAX 8192
/* TPM2_NV_Read size per command: 1024 is the common TPM_PT_NV_BUFFER_MAX;
 * a TPM with a smaller buffer answers TPM_RC_VALUE and we halve. */
#define NV_CHUNK 1024

static int nv_read_blob(tpa_tpm *t, uint32_t index, uint8_t **out, size_t *len)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *pub = NULL;
	uint8_t *buf = NULL;
	size_t size, off = 0, chunk = NV_CHUNK;
	char what[96];
	TSS2_RC rc;
	int r = TPA_OK;

	snprintf(what, sizeof(what), "reading NV index 0x%08x", index);
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, what);
	rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, what);
		goto out;
	}
	size = pub->nvPublic.dataSize;
	if (size > NV_BLOB_MAX) {
		r = tpm_errf(t, TPA_E_LIMIT, "NV index 0x%08x holds %zu bytes, more than %d", index,
		             size, NV_BLOB_MAX);
		goto out;
	}
	if (!(buf = malloc(size + 1))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *d = NULL;
		size_t n = size - off < chunk ? size - off : chunk;
		rc = Esys_NV_Read(t->esys, tr, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		                  (UINT16)n, (UINT16)off, &d);
		if (rc != TSS2_RC_SUCCESS && chunk > 256 && (rc & TSS2_RC_LAYER_MASK) == 0) {
			chunk /= 2;
			continue;
		}
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, rc, what);
			goto out;
		}
		if (d->size != n) {
			Esys_Free(d);
			r = tpm_errf(t, TPA_E_TPM, "%s: short read", what);
			goto out;
		}
		memcpy(buf + off, d->buffer, n);
		Esys_Free(d);
		off += n;
	}
	*out = buf;
	*len = size;
	buf = NULL;
out:
	free(buf);
	Esys_Free(pub);
	tr_close(t, &tr);
	return r;
}

int tpa_tpm_ek(tpa_tpm *tpm, uint16_t alg, uint8_t **pub, size_t *pub_len, uint8_t **cert,
               size_t *cert_len)
{
	ESYS_TR ek = ESYS_TR_NONE;
	TPM2B_PUBLIC *p = NULL;
	uint32_t idx = alg == TPA_KEY_RSA ? TPA_TPM_EK_CERT_RSA_INDEX : TPA_TPM_EK_CERT_ECC_INDEX;
	uint8_t *pb = NULL, *cb = NULL;
	size_t plen = 0, clen = 0;
	int present = 0, r;

	if (!tpm || (alg != TPA_KEY_RSA && alg != TPA_KEY_ECC) || !pub || !pub_len)
		return TPA_E_INVALID_ARG;
	if ((r = ek_create(tpm, alg, &ek, &p)) != TPA_OK)
		return r;
	flush(tpm, &ek);
	if (!(pb = malloc(sizeof(TPM2B_PUBLIC)))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	if ((r = marshal_public(tpm, p, pb, sizeof(TPM2B_PUBLIC), &plen)) != TPA_OK)
		goto out;
	if (cert && cert_len) {
		if ((r = nv_present(tpm, idx, 1, &idx, &present, 1)) != TPA_OK)
			goto out;
		if (present && (r = nv_read_blob(tpm, idx, &cb, &clen)) != TPA_OK)
			goto out;
		*cert = cb;
		*cert_len = clen;
		cb = NULL;
	}
	*pub = pb;
	*pub_len = plen;
	pb = NULL;
out:
	free(pb);
	free(cb);
	Esys_Free(p);
	return r;
}

/* ---- credential activation ---- */

/* Whether rc is the TPM refusing the credential itself: its integrity HMAC
 * does not hold (TPM_RC_INTEGRITY: made for another key's Name, or a seed
 * this EK did not encrypt), or the seed does not decrypt or lies off the
 * curve (TPM_RC_VALUE, TPM_RC_ECC_POINT, TPM_RC_SIZE). */
static int rc_is_credential_refused(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER || !(rc & TPM2_RC_FMT1))
		return 0;
	rc &= TPM2_RC_FMT1 | 0x3F;
	return rc == TPM2_RC_INTEGRITY || rc == TPM2_RC_VALUE || rc == TPM2_RC_ECC_POINT ||
	       rc == TPM2_RC_SIZE;
}

int tpa_tpm_activate_credential(tpa_tpm *tpm, uint16_t ek_alg, uint32_t ak_handle,
                                const uint8_t *id_object, size_t id_object_len,
                                const uint8_t *encrypted_secret, size_t encrypted_secret_len,
                                uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
	tpa_tpm *t = tpm;
	ESYS_TR ek = ESYS_TR_NONE, sess = ESYS_TR_NONE, ak = ESYS_TR_NONE;
	TPM2B_PUBLIC *ekpub = NULL;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET es;
	TPM2B_DIGEST *cert = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int r;

	if (!tpm || (ek_alg != TPA_KEY_RSA && ek_alg != TPA_KEY_ECC) || !id_object ||
	    !encrypted_secret || !secret || !secret_len)
		return TPA_E_INVALID_ARG;
	if (!ak_handle)
		ak_handle = TPA_TPM_DEFAULT_AK_HANDLE;
	if ((ak_handle >> 24) != TPM2_HT_PERSISTENT)
		return tpm_errf(t, TPA_E_INVALID_ARG, "AK handle 0x%08x is not a persistent handle",
		                ak_handle);
	/* The challenge comes from the network: exactly one TPM2B each. */
	memset(&blob, 0, sizeof(blob));
	memset(&es, 0, sizeof(es));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(id_object, id_object_len, &off, &blob) !=
	            TSS2_RC_SUCCESS ||
	    off != id_object_len)
		return tpm_errf(t, TPA_E_MALFORMED,
		                "the credential blob is not one TPM2B_ID_OBJECT (%zu bytes)",
		                id_object_len);
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encrypted_secret, encrypted_secret_len, &off,
	                                             &es) != TSS2_RC_SUCCESS ||
	    off != encrypted_secret_len)
		return tpm_errf(t, TPA_E_MALFORMED,
		                "the encrypted seed is not one TPM2B_ENCRYPTED_SECRET (%zu bytes)",
		                encrypted_secret_len);

	rc = Esys_TR_FromTPMPublic(t->esys, ak_handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                           &ak);
	if (rc != TSS2_RC_SUCCESS) {
		ak = ESYS_TR_NONE;
		if (rc_is_absent(rc))
			return tpm_errf(t, TPA_E_TPM, "there is no key at AK handle 0x%08x",
			                ak_handle);
		return tpm_fail(t, rc, "looking for the AK (TPM2_ReadPublic)");
	}
	if ((r = ek_create(t, ek_alg, &ek, &ekpub)) != TPA_OK)
		goto out;
	if ((r = ek_policy_session(t, &sess)) != TPA_OK)
		goto out;
	/* activateHandle (the AK, ADMIN role: its empty password, as the AK
	 * has no adminWithPolicy) and keyHandle (the EK, USER role: its
	 * policy, PolicySecret(TPM_RH_ENDORSEMENT)); Part 3, 12.5 */
	rc = Esys_ActivateCredential(t->esys, ak, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE, &blob,
	                             &es, &cert);
	if (rc != TSS2_RC_SUCCESS) {
		if (rc_is_credential_refused(rc))
			r = tpm_errf(
			        t, TPA_E_TPM,
			        "the TPM refused the credential: it was not made for this TPM's "
			        "%s EK and the key at 0x%08x (TPM2_ActivateCredential: %s, 0x%x)",
			        ek_alg == TPA_KEY_RSA ? "RSA" : "ECC", ak_handle,
			        Tss2_RC_Decode(rc), (unsigned)rc);
		else
			r = tpm_fail(t, rc, "activating the credential (TPM2_ActivateCredential)");
		goto out;
	}
	if (cert->size > secret_cap) {
		r = tpm_errf(t, TPA_E_LIMIT, "the credential's secret is %u bytes, more than %zu",
		             cert->size, secret_cap);
		goto out;
	}
	memcpy(secret, cert->buffer, cert->size);
	*secret_len = cert->size;
	r = TPA_OK;
out:
	if (cert) {
		OPENSSL_cleanse(cert, sizeof(*cert));
		Esys_Free(cert);
	}
	flush(t, &sess);
	flush(t, &ek);
	Esys_Free(ekpub);
	tr_close(t, &ak);
	return r;
}

/* ---- quote ---- */

/* Unmarshals a TPMS_ATTEST and checks what the attester can check itself:
 * genuine magic, the expected type, our nonce. */
static int attest_parse(tpa_tpm *t, const TPM2B_ATTEST *a, TPM2_ST type, const uint8_t *nonce,
                        size_t nonce_len, TPMS_ATTEST *out)
{
	size_t off = 0;
	TSS2_RC rc = Tss2_MU_TPMS_ATTEST_Unmarshal(a->attestationData, a->size, &off, out);
	if (rc != TSS2_RC_SUCCESS || off != a->size)
		return tpm_errf(t, TPA_E_TPM,
		                "the TPM returned an attestation that does not parse");
	if (out->magic != TPM2_GENERATED_VALUE || out->type != type ||
	    out->extraData.size != nonce_len ||
	    CRYPTO_memcmp(out->extraData.buffer, nonce, nonce_len) != 0)
		return tpm_errf(
		        t, TPA_E_TPM,
		        "the TPM returned an attestation with the wrong magic, type or nonce");
	return TPA_OK;
}

static int selection_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b)
{
	if (a->count != b->count)
		return 0;
	for (UINT32 i = 0; i < a->count; i++) {
		const TPMS_PCR_SELECTION *x = &a->pcrSelections[i], *y = &b->pcrSelections[i];
		uint8_t xs[TPM2_PCR_SELECT_MAX] = {0}, ys[TPM2_PCR_SELECT_MAX] = {0};
		if (x->hash != y->hash || x->sizeofSelect > TPM2_PCR_SELECT_MAX ||
		    y->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return 0;
		memcpy(xs, x->pcrSelect, x->sizeofSelect);
		memcpy(ys, y->pcrSelect, y->sizeofSelect);
		if (memcmp(xs, ys, sizeof(xs)) != 0)
			return 0;
	}
	return 1;
}

/* H(values in selection order) with the scheme hash, as TPM2_Quote computes
 * pcrDigest (Part 3, 18.4: banks in selection order, PCRs ascending). */
static int pcr_digest(tpa_tpm *t, uint16_t hash, const TPML_PCR_SELECTION *sel,
                      const tpa_pcrs *pcrs, uint8_t *out, size_t *outlen)
{
	const EVP_MD *md = tpa_md(hash);
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if (!md)
		return tpm_errf(t, TPA_E_UNSUPPORTED, "the AK's hash 0x%04x is not available",
		                hash);
	if (!(ctx = EVP_MD_CTX_new()))
		return TPA_E_NOMEM;
	ok = EVP_DigestInit_ex(ctx, md, NULL);
	for (UINT32 i = 0; ok && i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		for (unsigned pcr = 0; ok && pcr < 8u * s->sizeofSelect; pcr++) {
			const uint8_t *v;
			size_t vlen;
			if (!(s->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
				continue;
			if (tpa_pcrs_get(pcrs, s->hash, pcr, &v, &vlen) != TPA_OK) {
				EVP_MD_CTX_free(ctx);
				return tpm_errf(t, TPA_E_TPM, "PCR%u of bank 0x%04x was not read",
				                pcr, s->hash);
			}
			ok = EVP_DigestUpdate(ctx, v, vlen);
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return TPA_E_CRYPTO;
	*outlen = n;
	return TPA_OK;
}

static int marshal_sig(tpa_tpm *t, const TPMT_SIGNATURE *sig, tpa_evidence *ev,
                       tpa_evidence_part part)
{
	uint8_t buf[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, rc, "marshalling a signature");
	return tpa_evidence_set(ev, part, buf, off);
}

/* EK certificates that are present, into the evidence. */
static int ek_certs(tpa_tpm *t, tpa_evidence *ev)
{
	static const uint32_t idx[2] = {TPA_TPM_EK_CERT_RSA_INDEX, TPA_TPM_EK_CERT_ECC_INDEX};
	static const tpa_evidence_part part[2] = {TPA_PART_EK_RSA_CERT, TPA_PART_EK_ECC_CERT};
	int present[2], r;

	if ((r = nv_present(t, idx[0], idx[1] - idx[0] + 1, idx, present, 2)) != TPA_OK)
		return r;
	for (int i = 0; i < 2; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		if (!present[i])
			continue;
		if ((r = nv_read_blob(t, idx[i], &buf, &len)) != TPA_OK)
			return r;
		r = tpa_evidence_set(ev, part[i], buf, len);
		free(buf);
		if (r != TPA_OK)
			return r;
	}
	return TPA_OK;
}

static void set_refused(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void set_refused(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* One TPM2_PolicyNV bound on the counter (Part 3, 23.9): 1 when the TPM
 * refused it (the counter outside it, or unwritten), with the reason in
 * refused; 0 when it holds; negative for any other failure. */
static int policy_nv_bound(tpa_tpm *t, ESYS_TR nv, ESYS_TR sess, uint32_t index, uint64_t bound,
                           TPM2_EO op, char *refused, size_t refused_len)
{
	TPM2B_OPERAND b = {.size = 8};
	const char *rel = op == TPM2_EO_UNSIGNED_GE ? ">=" : "<=";
	char what[96];
	TSS2_RC rc;
	unsigned base;

	for (int i = 0; i < 8; i++)
		b.buffer[i] = (uint8_t)(bound >> (56 - 8 * i));
	rc = Esys_PolicyNV(t->esys, nv, nv, sess, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &b,
	                   0, op);
	if (rc == TSS2_RC_SUCCESS)
		return 0;
	base = rc_base(rc);
	if (base == TPM2_RC_POLICY) {
		set_refused(
		        refused, refused_len,
		        "TPM2_PolicyNV refused counter %s %llu (TPM_RC_POLICY, 0x%x): the counter "
		        "at 0x%08x is %s the verifier's bounds%s",
		        rel, (unsigned long long)bound, (unsigned)rc, index,
		        op == TPM2_EO_UNSIGNED_GE ? "below" : "above",
		        op == TPM2_EO_UNSIGNED_GE ? " (rolled back?)" : "");
		return 1;
	}
	if (base == TPM2_RC_NV_UNINITIALIZED) {
		set_refused(
		        refused, refused_len,
		        "TPM2_PolicyNV refused counter %s %llu (TPM_RC_NV_UNINITIALIZED, 0x%x): "
		        "the counter at 0x%08x was never incremented (deleted and defined "
		        "again?), and the verifier's authorization is not for a first increment",
		        rel, (unsigned long long)bound, (unsigned)rc, index);
		return 1;
	}
	snprintf(what, sizeof(what), "bounding the counter (TPM2_PolicyNV, counter %s %llu)", rel,
	         (unsigned long long)bound);
	return tpm_fail(t, rc, what);
}

/*
 * The verifier-authorized increment (<tpmattest/counterauth.h>): a policy
 * session, the verifier's nonce and authorization for its nonceTPM (ask),
 * then the approved policy in that session, PolicyAuthorize to the index's
 * authPolicy, and TPM2_NV_Increment under it.  qd gets the verifier's
 * nonce.  PolicyAuthorize's policyRef is the authorization's machine id.
 * A TPM that refuses the PolicyNV bounds, or the increment under the
 * authorized policy (TPM_RC_POLICY_FAIL: a first authorization on a counter
 * written already, PolicyNvWritten(NO), or an authorization for another
 * machine's counter policy) is not an error: the counter stays, *refused
 * says why, and the quote goes on.
 */
static int auth_increment(tpa_tpm *t, const tpa_quote_opts *opts, ESYS_TR nv, uint32_t index,
                          TPM2B_DATA *qd, int *incremented, char *refused, size_t refused_len)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	ESYS_TR sess = ESYS_TR_NONE, key = ESYS_TR_NONE;
	TPM2B_NONCE *nt = NULL;
	TPM2B_DIGEST *approved = NULL;
	TPM2B_NAME *keyname = NULL;
	TPM2B_TIMEOUT *timeout = NULL;
	TPMT_TK_AUTH *tkauth = NULL;
	TPMT_TK_VERIFIED *tkver = NULL;
	TPM2B_PUBLIC kpub;
	TPMT_SIGNATURE ssig, psig;
	TPM2B_DIGEST ahash = {.size = 32};
	TPM2B_DIGEST empty_digest = {.size = 0};
	TPM2B_NONCE empty_ref = {.size = 0}, machine_ref = {.size = TPA_COUNTER_MACHINE_LEN};
	uint8_t ahash_in[32 + TPA_COUNTER_MACHINE_LEN];
	tpa_counter_auth auth;
	uint8_t nonce[TPA_EVIDENCE_MAX_NONCE];
	size_t nonce_len = 0, off;
	int have = 0, r, stale;
	TSS2_RC rc;

	memset(&auth, 0, sizeof(auth));
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                           ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
	                           &sess);
	if (rc != TSS2_RC_SUCCESS) {
		sess = ESYS_TR_NONE;
		return tpm_fail(t, rc,
		                "starting the counter's policy session (TPM2_StartAuthSession)");
	}
	rc = Esys_TRSess_GetNonceTPM(t->esys, sess, &nt);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "reading the policy session's nonceTPM");
		goto out;
	}
	r = opts->ask(opts->ask_ctx, nt->buffer, nt->size, nonce, sizeof(nonce), &nonce_len, &auth,
	              &have);
	if (r != TPA_OK) {
		r = tpm_errf(t, r, "the verifier's nonce and authorization could not be had: %s",
		             tpa_strerror(r));
		goto out;
	}
	if (nonce_len < 1 || nonce_len > sizeof(nonce) || nonce_len > sizeof(qd->buffer)) {
		r = tpm_errf(t, TPA_E_INVALID_ARG, "the verifier's nonce is %zu bytes, not 1 to %d",
		             nonce_len, TPA_EVIDENCE_MAX_NONCE);
		goto out;
	}
	qd->size = (UINT16)nonce_len;
	memcpy(qd->buffer, nonce, nonce_len);
	if (!have) {
		r = TPA_OK; /* certified as it is */
		goto out;
	}

	/* The authorization came over the network: each part exactly one
	 * structure. */
	memset(&kpub, 0, sizeof(kpub));
	memset(&ssig, 0, sizeof(ssig));
	memset(&psig, 0, sizeof(psig));
	off = 0;
	if (auth.key_public_len > sizeof(auth.key_public) ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(auth.key_public, auth.key_public_len, &off, &kpub) !=
	            TSS2_RC_SUCCESS ||
	    off != auth.key_public_len) {
		r = tpm_errf(t, TPA_E_MALFORMED,
		             "the counter authorization's key is not one TPM2B_PUBLIC");
		goto out;
	}
	off = 0;
	if (auth.session_sig_len > sizeof(auth.session_sig) ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(auth.session_sig, auth.session_sig_len, &off, &ssig) !=
	            TSS2_RC_SUCCESS ||
	    off != auth.session_sig_len) {
		r = tpm_errf(t, TPA_E_MALFORMED,
		             "the counter authorization's session signature is not one "
		             "TPMT_SIGNATURE");
		goto out;
	}
	off = 0;
	if (auth.policy_sig_len > sizeof(auth.policy_sig) ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(auth.policy_sig, auth.policy_sig_len, &off, &psig) !=
	            TSS2_RC_SUCCESS ||
	    off != auth.policy_sig_len) {
		r = tpm_errf(t, TPA_E_MALFORMED,
		             "the counter authorization's policy signature is not one "
		             "TPMT_SIGNATURE");
		goto out;
	}
	/* Only to word a refusal: the TPM is what checks the nonce. */
	stale = auth.nonce_tpm_len != nt->size ||
	        CRYPTO_memcmp(auth.nonce_tpm, nt->buffer, nt->size) != 0;

	/* In the owner hierarchy: VerifySignature with a key of the NULL
	 * hierarchy yields a NULL ticket, which PolicyAuthorize refuses
	 * (Part 3, 20.1, 23.16). */
	rc = Esys_LoadExternal(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &kpub,
	                       ESYS_TR_RH_OWNER, &key);
	if (rc != TSS2_RC_SUCCESS) {
		key = ESYS_TR_NONE;
		r = tpm_fail(t, rc, "loading the verifier's counter key (TPM2_LoadExternal)");
		goto out;
	}
	rc = Esys_PolicySigned(t->esys, key, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nt,
	                       &empty_digest, &empty_ref, 0, &ssig, &timeout, &tkauth);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc,
		             "the verifier's authorization of this session (TPM2_PolicySigned)");
		if (stale) {
			size_t n = strlen(t->err);
			snprintf(t->err + n, sizeof(t->err) - n,
			         "; it was issued for another session's nonceTPM (replayed or "
			         "stale)");
		}
		goto out;
	}
	rc = Esys_PolicyCommandCode(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                            TPM2_CC_NV_Increment);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "TPM2_PolicyCommandCode(TPM_CC_NV_Increment)");
		goto out;
	}
	if (auth.first) {
		/* the first increment: only while the counter was never written
		 * (Part 3, 23.20; the TPM checks it at NV_Increment) */
		rc = Esys_PolicyNvWritten(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		                          TPM2_NO);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, rc, "TPM2_PolicyNvWritten(NO)");
			goto out;
		}
	} else {
		if ((r = policy_nv_bound(t, nv, sess, index, auth.low, TPM2_EO_UNSIGNED_GE, refused,
		                         refused_len)) != 0 ||
		    (r = policy_nv_bound(t, nv, sess, index, auth.high, TPM2_EO_UNSIGNED_LE,
		                         refused, refused_len)) != 0) {
			if (r == 1)
				r = TPA_OK; /* refused: no increment, the quote goes on */
			goto out;
		}
	}
	rc = Esys_PolicyGetDigest(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                          &approved);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "reading the approved policy (TPM2_PolicyGetDigest)");
		goto out;
	}
	/* aHash of PolicyAuthorize: H(approvedPolicy || policyRef), policyRef
	 * the machine id, with the key's nameAlg (Part 3, 23.16) */
	memcpy(machine_ref.buffer, auth.machine_id, TPA_COUNTER_MACHINE_LEN);
	if (approved->size == 32) {
		memcpy(ahash_in, approved->buffer, 32);
		memcpy(ahash_in + 32, auth.machine_id, TPA_COUNTER_MACHINE_LEN);
	}
	if (approved->size != 32 ||
	    (r = tpa_hash(TPA_ALG_SHA256, ahash_in, sizeof(ahash_in), ahash.buffer)) != TPA_OK) {
		r = tpm_errf(t, TPA_E_TPM, "the session's policy digest is not a SHA-256 digest");
		goto out;
	}
	rc = Esys_VerifySignature(t->esys, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash,
	                          &psig, &tkver);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc,
		             "the verifier's signature of the approved policy "
		             "(TPM2_VerifySignature; the policy the TPM computed is not the one "
		             "signed)");
		goto out;
	}
	rc = Esys_TR_GetName(t->esys, key, &keyname);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "computing the verifier key's name");
		goto out;
	}
	rc = Esys_PolicyAuthorize(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, approved,
	                          &machine_ref, keyname, tkver);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "TPM2_PolicyAuthorize");
		goto out;
	}
	rc = Esys_NV_Increment(t->esys, nv, nv, sess, ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS && rc_base(rc) == TPM2_RC_POLICY_FAIL) {
		/* refused: no increment, the quote goes on.  Which check failed,
		 * only to word it: the policy PolicyAuthorize made, or (first)
		 * PolicyNvWritten(NO) */
		uint8_t pol[32];
		int other = keyname->size != TPA_COUNTER_NAME_LEN ||
		            tpa_counter_policy(keyname->name, auth.machine_id, pol) != TPA_OK ||
		            CRYPTO_memcmp(pol, opts->provision.counter_policy, 32) != 0;
		if (other)
			set_refused(refused, refused_len,
			            "TPM2_NV_Increment refused the authorized policy "
			            "(TPM_RC_POLICY_FAIL, 0x%x): it is not the authPolicy of the "
			            "counter at 0x%08x (an authorization for another machine id, "
			            "or by another key)",
			            (unsigned)rc, index);
		else if (auth.first)
			set_refused(refused, refused_len,
			            "TPM2_NV_Increment refused the first-increment authorization "
			            "(TPM_RC_POLICY_FAIL, 0x%x): the counter at 0x%08x was written "
			            "already (PolicyNvWritten(NO))",
			            (unsigned)rc, index);
		else
			set_refused(refused, refused_len,
			            "TPM2_NV_Increment refused the authorized policy "
			            "(TPM_RC_POLICY_FAIL, 0x%x)",
			            (unsigned)rc);
		r = TPA_OK;
		goto out;
	}
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc,
		             "incrementing the NV counter under the verifier's "
		             "authorization (TPM2_NV_Increment)");
		goto out;
	}
	*incremented = 1;
	r = TPA_OK;
out:
	flush(t, &key);
	flush(t, &sess);
	Esys_Free(nt);
	Esys_Free(approved);
	Esys_Free(keyname);
	Esys_Free(timeout);
	Esys_Free(tkauth);
	Esys_Free(tkver);
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return r;
}

int tpa_tpm_quote(tpa_tpm *tpm, const tpa_quote_opts *opts, tpa_evidence **out)
{
	tpa_tpm *t = tpm;
	tpa_provision_info info;
	ESYS_TR ak = ESYS_TR_NONE, nv = ESYS_TR_NONE;
	TPM2B_PUBLIC *akpub = NULL;
	TPM2B_ATTEST *attest = NULL, *cattest = NULL;
	TPMT_SIGNATURE *sig = NULL, *csig = NULL;
	TPMS_ATTEST a;
	TPM2B_DATA qd;
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPML_PCR_SELECTION sel;
	uint16_t algs[TPA_MAX_BANKS];
	uint32_t masks[TPA_MAX_BANKS], mask;
	size_t nbanks;
	tpa_pcrs *pcrs = NULL;
	tpa_evidence *ev = NULL;
	unsigned retries;
	TSS2_RC rc;
	int r, matched = 0, incremented = 0;
	const int authorized = opts && opts->provision.counter_policy;
	char refused[sizeof(t->err)] = "";

	if (!tpm || !opts || !out)
		return TPA_E_INVALID_ARG;
	if (authorized ? !opts->ask
	               : (!opts->nonce || !opts->nonce_len ||
	                  opts->nonce_len > TPA_EVIDENCE_MAX_NONCE ||
	                  opts->nonce_len > sizeof(qd.buffer)))
		return TPA_E_INVALID_ARG;
	mask = opts->pcr_mask ? opts->pcr_mask : 0x3FFu;
	retries = opts->retries ? opts->retries : 3;
	if (mask >> TPA_PCR_COUNT)
		return TPA_E_INVALID_ARG;
	memset(&qd, 0, sizeof(qd));
	if (!authorized) {
		qd.size = (UINT16)opts->nonce_len;
		memcpy(qd.buffer, opts->nonce, opts->nonce_len);
	}

	if ((r = provision(t, &opts->provision, &info, &ak, &akpub, &nv)) != TPA_OK)
		goto out;
	if ((r = tpa_evidence_new(&ev)) != TPA_OK)
		goto out;
	if ((r = get_banks(t, algs, masks, &nbanks)) != TPA_OK)
		goto out;
	selection_build(&sel, algs, masks, nbanks, mask);
	if (!sel.count) {
		r = tpm_errf(t, TPA_E_TPM, "none of the requested PCRs is allocated in any bank");
		goto out;
	}

	/* The counter goes up before the quote, so a verifier that sees this
	 * quote sees a counter value no earlier evidence carried. */
	if (authorized) {
		if ((r = auth_increment(t, opts, nv, info.nv_index, &qd, &incremented, refused,
		                        sizeof(refused))) != TPA_OK)
			goto out;
	} else {
		rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		                       ESYS_TR_NONE);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, rc, "incrementing the NV counter (TPM2_NV_Increment)");
			goto out;
		}
		incremented = 1;
	}

	/* The PCRs can move between our read and the quote (Keylime's race).
	 * Accept a read only when it hashes to the pcrDigest the TPM signed. */
	for (unsigned attempt = 0; attempt < retries && !matched; attempt++) {
		uint8_t dig[TPA_MAX_DIGEST];
		size_t dlen = 0;
		int changed;

		tpa_pcrs_free(&pcrs);
		Esys_Free(attest);
		Esys_Free(sig);
		attest = NULL;
		sig = NULL;
		if ((r = tpa_pcrs_new(&pcrs)) != TPA_OK)
			goto out;
		if ((r = pcr_read_sel(t, &sel, pcrs, &changed)) != TPA_OK)
			goto out;
		rc = Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd,
		                &scheme, &sel, &attest, &sig);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, rc, "quoting (TPM2_Quote)");
			goto out;
		}
		if ((r = attest_parse(t, attest, TPM2_ST_ATTEST_QUOTE, qd.buffer, qd.size, &a)) !=
		    TPA_OK)
			goto out;
		if (!selection_equal(&a.attested.quote.pcrSelect, &sel)) {
			r = tpm_errf(t, TPA_E_TPM,
			             "the TPM quoted another PCR selection than asked");
			goto out;
		}
		if (changed)
			continue;
		if ((r = pcr_digest(t, ak_hash(&akpub->publicArea), &sel, pcrs, dig, &dlen)) !=
		    TPA_OK)
			goto out;
		matched = dlen == a.attested.quote.pcrDigest.size &&
		          CRYPTO_memcmp(dig, a.attested.quote.pcrDigest.buffer, dlen) == 0;
	}
	if (!matched) {
		r = tpm_errf(
		        t, TPA_E_TPM,
		        "PCRs changed between reading and quoting %u times in a row; giving up",
		        retries);
		goto out;
	}

	rc = Esys_NV_Certify(t->esys, ak, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                     &qd, &scheme, 8, 0, &cattest, &csig);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, rc, "certifying the NV counter (TPM2_NV_Certify)");
		if (refused[0]) {
			size_t n = strlen(t->err);
			snprintf(t->err + n, sizeof(t->err) - n, "; before it, %s", refused);
		}
		goto out;
	}
	{
		TPMS_ATTEST c;
		const TPMS_NV_CERTIFY_INFO *ci;
		uint64_t value = 0;
		if ((r = attest_parse(t, cattest, TPM2_ST_ATTEST_NV, qd.buffer, qd.size, &c)) !=
		    TPA_OK)
			goto out;
		ci = &c.attested.nv;
		if (ci->offset != 0 || ci->nvContents.size != 8) {
			r = tpm_errf(t, TPA_E_TPM,
			             "the TPM certified another part of the counter than asked");
			goto out;
		}
		for (int i = 0; i < 8; i++)
			value = value << 8 | ci->nvContents.buffer[i];
		tpa_evidence_set_counter(ev, value);
		if ((r = tpa_evidence_set(ev, TPA_PART_COUNTER_NAME, ci->indexName.name,
		                          ci->indexName.size)) != TPA_OK)
			goto out;
	}

	if ((r = ek_certs(t, ev)) != TPA_OK)
		goto out;

	tpa_evidence_set_handles(ev, info.ak_handle, info.nv_index);
	if ((r = tpa_evidence_set(ev, TPA_PART_NONCE, qd.buffer, qd.size)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_AK_PUBLIC, info.ak_public, info.ak_public_len)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_AK_NAME, info.ak_name, info.ak_name_len)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_QUOTE_ATTEST, attest->attestationData,
	                          attest->size)) ||
	    (r = marshal_sig(t, sig, ev, TPA_PART_QUOTE_SIGNATURE)) ||
	    (r = tpa_evidence_set(ev, TPA_PART_COUNTER_ATTEST, cattest->attestationData,
	                          cattest->size)) ||
	    (r = marshal_sig(t, csig, ev, TPA_PART_COUNTER_SIGNATURE)) ||
	    (r = tpa_evidence_set_pcrs(ev, &pcrs)))
		goto out;
	*out = ev;
	ev = NULL;
	r = TPA_OK;
out:
	/* both outputs say what happened to the counter, success or not */
	if (opts->incremented)
		*opts->incremented = incremented;
	if (opts->refused && opts->refused_len)
		snprintf(opts->refused, opts->refused_len, "%s", refused);
	OPENSSL_cleanse(&qd, sizeof(qd));
	tpa_evidence_free(&ev);
	tpa_pcrs_free(&pcrs);
	Esys_Free(attest);
	Esys_Free(sig);
	Esys_Free(cattest);
	Esys_Free(csig);
	Esys_Free(akpub);
	tr_close(t, &ak);
	tr_close(t, &nv);
	return r;
}

/* ---- enrollment ---- */

int tpa_tpm_read_public(tpa_tpm *tpm, uint32_t handle, uint8_t *pub, size_t pub_cap,
                        size_t *pub_len, uint8_t *qn, size_t qn_cap, size_t *qn_len)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_PUBLIC *p = NULL;
	TPM2B_NAME *name = NULL, *q = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int r = TPA_OK;

	if (!tpm || !pub || !pub_len || !qn || !qn_len)
		return TPA_E_INVALID_ARG;
	rc = Esys_TR_FromTPMPublic(tpm->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                           &tr);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ReadPublic(tpm->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p,
		                     &name, &q);
	tr_close(tpm, &tr);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, rc, "reading the AK's public area (TPM2_ReadPublic)");
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(p, pub, pub_cap, &off) != TSS2_RC_SUCCESS ||
	    q->size > qn_cap) {
		r = tpm_errf(tpm, TPA_E_TPM, "the key at 0x%08x is larger than expected", handle);
	} else {
		*pub_len = off;
		memcpy(qn, q->name, q->size);
		*qn_len = q->size;
	}
	Esys_Free(p);
	Esys_Free(name);
	Esys_Free(q);
	return r;
}

int tpa_tpm_nv_public(tpa_tpm *tpm, uint32_t index, uint8_t *pub, size_t cap, size_t *len)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *p = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int r = TPA_OK;

	if (!tpm || !pub || !len)
		return TPA_E_INVALID_ARG;
	rc = Esys_TR_FromTPMPublic(tpm->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_NV_ReadPublic(tpm->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p,
		                        NULL);
	tr_close(tpm, &tr);
	if (rc != TSS2_RC_SUCCESS && rc_is_absent(rc))
		return tpm_errf(tpm, TPA_E_TPM, "there is no NV index 0x%08x (%s, 0x%x)", index,
		                Tss2_RC_Decode(rc), (unsigned)rc);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, rc,
		                "reading the NV counter's public area (TPM2_NV_ReadPublic)");
	if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(p, pub, cap, &off) != TSS2_RC_SUCCESS)
		r = tpm_errf(tpm, TPA_E_TPM, "NV index 0x%08x: public area larger than expected",
		             index);
	else
		*len = off;
	Esys_Free(p);
	return r;
}

int tpa_tpm_ek_chain(tpa_tpm *tpm, uint8_t **blobs, size_t *lens, size_t max, size_t *n)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = 0;
	uint32_t found[TPA_TPM_EK_CHAIN_COUNT];
	size_t nf = 0, got = 0;
	TSS2_RC rc;
	int r = TPA_OK;

	if (!tpm || !blobs || !lens || !n)
		return TPA_E_INVALID_ARG;
	rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                        TPM2_CAP_HANDLES, TPA_TPM_EK_CHAIN_FIRST, TPA_TPM_EK_CHAIN_COUNT,
	                        &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, rc, "listing the EK chain indices (TPM2_GetCapability)");
	for (UINT32 k = 0; k < cap->data.handles.count; k++) {
		uint32_t h = cap->data.handles.handle[k];
		if (h >= TPA_TPM_EK_CHAIN_FIRST &&
		    h < TPA_TPM_EK_CHAIN_FIRST + TPA_TPM_EK_CHAIN_COUNT &&
		    nf < TPA_TPM_EK_CHAIN_COUNT)
			found[nf++] = h;
	}
	Esys_Free(cap);
	if (nf > max)
		return tpm_errf(tpm, TPA_E_LIMIT,
		                "the TPM holds %zu EK chain certificates, more "
		                "than %zu",
		                nf, max);
	for (size_t i = 0; i < nf; i++) {
		if ((r = nv_read_blob(tpm, found[i], &blobs[got], &lens[got])) != TPA_OK) {
			while (got)
				free(blobs[--got]);
			return r;
		}
		got++;
	}
	*n = got;
	return TPA_OK;
}
