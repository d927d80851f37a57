/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EK certificates as real TPMs ship them, and their chains to manufacturer
 * roots.  docs/enrollment.md ("EK certificates") says what each quirk of
 * the shared corpus meets here and why.
 *
 * Reading is ours (the NV wrapping, the DER frame, the TPM attributes);
 * parsing the X.509 structure and validating the path are OpenSSL's
 * (d2i_X509, X509_verify_cert), which accepts what real EK certificates do
 * deliberately: an empty subject with a critical SAN directoryName, RDN SETs
 * out of DER order (it keeps the received bytes for the signature), DEFAULT
 * values written out, serials above 20 octets.  Path validation runs
 * without X509_V_FLAG_PARTIAL_CHAIN: only self-signed certificates given as
 * roots are anchors.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/enroll.h>

struct tpa_ekcert {
	X509 *x;
	uint8_t *der;
	size_t der_len;
	tpa_ekcert_info info;
};

struct tpa_ekstore {
	STACK_OF(X509) * anchors;
	STACK_OF(X509) * intermediates;
};

static void setwhy(char *why, size_t whylen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the last failure, and an empty queue after it: the
 * library leaves nothing behind for a caller to print by accident. */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, len, "%s", r ? r : "unknown reason");
	ERR_clear_error();
	return buf;
}

/* Copies printable ASCII, '?' for every other byte, truncating. */
static void copy_printable(char *dst, size_t cap, const unsigned char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* ---- reading: the NV wrapping and the DER frame ---- */

/*
 * TCG PC Client Specific Implementation Specification for Conventional
 * BIOS (TPM 1.2), 7.4.4 "EK Credential": TCG_PCCLIENT_STORED_CERT is
 * tag 0x1001, certType (0: full certificate), certSize (UINT16, big
 * endian), then TCG_FULL_CERT: tag 0x1002 and the DER.  certSize counts the
 * TCG_FULL_CERT, tag included.  The header without the inner tag (certSize
 * then counting the DER alone) is accepted too.
 */
#define NV_TAG_STORED_CERT 0x1001
#define NV_TAG_FULL_CERT 0x1002
#define NV_CERT_TYPE_FULL 0x00

/* The outer SEQUENCE of the DER at buf[off]: its total length (header
 * included) in *total.  Definite, minimal lengths of up to 3 octets. */
static int der_frame(const uint8_t *buf, size_t len, size_t off, size_t *total, char *why,
                     size_t whylen)
{
	size_t p = off, n = 0, nlen;
	if (len - off < 2) {
		setwhy(why, whylen, "truncated at byte %zu: no DER header", len);
		return TPA_E_TRUNCATED;
	}
	if (buf[p] != 0x30) {
		setwhy(why, whylen, "byte %zu: 0x%02x where a DER SEQUENCE (0x30) must begin", p,
		       buf[p]);
		return TPA_E_MALFORMED;
	}
	p++;
	if (buf[p] < 0x80) {
		n = buf[p++];
	} else {
		nlen = buf[p] & 0x7f;
		if (nlen == 0 || nlen > 3) {
			setwhy(why, whylen, "byte %zu: %s DER length", p,
			       nlen == 0 ? "indefinite (BER)" : "oversized");
			return TPA_E_MALFORMED;
		}
		p++;
		if (len - p < nlen) {
			setwhy(why, whylen, "truncated at byte %zu: in the DER length", len);
			return TPA_E_TRUNCATED;
		}
		for (size_t i = 0; i < nlen; i++)
			n = (n << 8) | buf[p + i];
		if (buf[p] == 0 || n < 0x80) {
			setwhy(why, whylen, "byte %zu: DER length not minimally encoded", p - 1);
			return TPA_E_MALFORMED;
		}
		p += nlen;
	}
	if (n > TPA_EKCERT_MAX_INPUT) {
		setwhy(why, whylen, "byte %zu: certificate of %zu bytes above the cap of %d", off,
		       n, TPA_EKCERT_MAX_INPUT);
		return TPA_E_LIMIT;
	}
	if (len - p < n) {
		setwhy(why, whylen,
		       "truncated: the certificate at byte %zu declares %zu bytes, %zu remain", off,
		       (size_t)(p - off) + n, len - off);
		return TPA_E_TRUNCATED;
	}
	*total = (p - off) + n;
	return TPA_OK;
}

static int starts_pem(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return len - i >= sizeof(tag) - 1 && memcmp(buf + i, tag, sizeof(tag) - 1) == 0;
}

static int has_pem_begin(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	for (size_t i = 0; len >= sizeof(tag) - 1 && i <= len - (sizeof(tag) - 1); i++)
		if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0)
			return 1;
	return 0;
}

/* One PEM CERTIFICATE block, then only whitespace.  *der is malloc'd. */
static int read_pem(const uint8_t *buf, size_t len, uint8_t **der, size_t *der_len, char *why,
                    size_t whylen)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long n = 0;
	char e[120];
	int r = TPA_E_MALFORMED;

	if (!b)
		return TPA_E_NOMEM;
	if (!PEM_read_bio(b, &name, &header, &data, &n)) {
		setwhy(why, whylen, "PEM: %s", ossl_reason(e, sizeof(e)));
		goto out;
	}
	if (strcmp(name, "CERTIFICATE") != 0 || header[0]) {
		setwhy(why, whylen, "PEM: a \"%.40s\" block%s, not a CERTIFICATE", name,
		       header[0] ? " with headers" : "");
		goto out;
	}
	{
		char *rest = NULL;
		long left = BIO_get_mem_data(b, &rest);
		for (long i = 0; i < left; i++)
			if (rest[i] != ' ' && rest[i] != '\t' && rest[i] != '\r' &&
			    rest[i] != '\n') {
				setwhy(why, whylen,
				       "byte %zu: data after the PEM certificate (one "
				       "certificate per input)",
				       len - (size_t)left + (size_t)i);
				r = TPA_E_TRAILING;
				goto out;
			}
	}
	if (n <= 0) {
		setwhy(why, whylen, "PEM: an empty CERTIFICATE block");
		goto out;
	}
	if (!(*der = malloc((size_t)n))) {
		r = TPA_E_NOMEM;
		goto out;
	}
	memcpy(*der, data, (size_t)n);
	*der_len = (size_t)n;
	r = TPA_OK;
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(b);
	return r;
}

/*
 * Finds the DER in buf: bare, behind the NV header, or in PEM.  On success
 * either *owned (PEM, malloc'd) or *off into buf, with *der_len.
 */
static int unwrap(const uint8_t *buf, size_t len, size_t *off, size_t *der_len, uint8_t **owned,
                  char *wrapping, size_t wcap, char *why, size_t whylen)
{
	size_t p = 0, total, hdr_size = 0;
	int r;

	*owned = NULL;
	if (len > TPA_EKCERT_MAX_INPUT) {
		setwhy(why, whylen, "%zu bytes, above the cap of %d", len, TPA_EKCERT_MAX_INPUT);
		return TPA_E_LIMIT;
	}
	if (len == 0) {
		setwhy(why, whylen, "empty input");
		return TPA_E_TRUNCATED;
	}
	if (starts_pem(buf, len)) {
		r = read_pem(buf, len, owned, der_len, why, whylen);
		if (r != TPA_OK)
			return r;
		r = der_frame(*owned, *der_len, 0, &total, why, whylen);
		if (r == TPA_OK && total != *der_len) {
			setwhy(why, whylen, "PEM: %zu bytes after the DER certificate",
			       *der_len - total);
			r = TPA_E_TRAILING;
		}
		if (r != TPA_OK) {
			free(*owned);
			*owned = NULL;
			return r;
		}
		*off = 0;
		snprintf(wrapping, wcap, "PEM");
		return TPA_OK;
	}
	if (buf[0] == (NV_TAG_STORED_CERT >> 8)) {
		unsigned cert_size;
		if (len < 5) {
			setwhy(why, whylen, "truncated at byte %zu: in the TCG NV header", len);
			return TPA_E_TRUNCATED;
		}
		if (buf[1] != (NV_TAG_STORED_CERT & 0xff)) {
			setwhy(why, whylen,
			       "byte 0: 0x%02x%02x is neither a DER certificate nor the TCG NV "
			       "header tag 0x1001",
			       buf[0], buf[1]);
			return TPA_E_MALFORMED;
		}
		if (buf[2] != NV_CERT_TYPE_FULL) {
			setwhy(why, whylen,
			       "byte 2: TCG NV certType %u, only a full certificate (0) is "
			       "supported",
			       buf[2]);
			return TPA_E_MALFORMED;
		}
		cert_size = (unsigned)buf[3] << 8 | buf[4];
		p = 5;
		if (len >= 7 && buf[5] == (NV_TAG_FULL_CERT >> 8) &&
		    buf[6] == (NV_TAG_FULL_CERT & 0xff))
			p = 7;
		hdr_size = p;
		if ((r = der_frame(buf, len, p, &total, why, whylen)) != TPA_OK)
			return r;
		if (cert_size != total + (p - 5)) {
			setwhy(why, whylen,
			       "byte 3: TCG NV certSize %u, but the certificate (with its "
			       "tag) is %zu bytes",
			       cert_size, total + (p - 5));
			return TPA_E_MALFORMED;
		}
	} else if ((r = der_frame(buf, len, 0, &total, why, whylen)) != TPA_OK) {
		return r;
	}
	/* NV indices are often larger than the certificate: erased (ff) or
	 * zeroed (00) bytes after it, one value throughout. */
	if (p + total < len) {
		size_t tail = p + total;
		uint8_t pad = buf[tail];
		for (size_t i = tail; i < len; i++)
			if ((pad != 0x00 && pad != 0xff) || buf[i] != pad) {
				setwhy(why, whylen,
				       "byte %zu: 0x%02x after the certificate (ends at byte %zu) "
				       "is "
				       "not NV padding (a run of 00 or of ff)",
				       i, buf[i], tail);
				return TPA_E_TRAILING;
			}
	}
	*off = p;
	*der_len = total;
	if (hdr_size)
		snprintf(wrapping, wcap, "TCG NV header (%zu bytes)", hdr_size);
	else
		snprintf(wrapping, wcap, "DER");
	if (p + total < len) {
		size_t w = strlen(wrapping);
		snprintf(wrapping + w, wcap - w, ", %zu bytes of %02x padding", len - p - total,
		         buf[p + total]);
	}
	return TPA_OK;
}

/* ---- what the certificate says ---- */

/* TCG Vendor ID Registry (Family 1.2 and 2.0, version 1.06): the
 * tpmManufacturer value is the 4-byte vendor ID. */
static const struct {
	uint32_t id;
	const char *name;
} vendors[] = {
        {0x414D4400, "AMD"},
        {0x414E5400, "Ant Group"},
        {0x41544D4C, "Atmel"},
        {0x4252434D, "Broadcom"},
        {0x4353434F, "Cisco"},
        {0x464C5953, "Flyslice Technologies"},
        {0x524F4343, "Fuzhou Rockchip"},
        {0x474F4F47, "Google"},
        {0x48504900, "HPI"},
        {0x48504500, "HPE"},
        {0x48495349, "Huawei"},
        {0x49424D00, "IBM"},
        {0x49465800, "Infineon"},
        {0x494E5443, "Intel"},
        {0x4C454E00, "Lenovo"},
        {0x4D534654, "Microsoft"},
        {0x4E534D20, "National Semiconductor"},
        {0x4E545A00, "Nationz"},
        {0x4E534700, "NSING"},
        {0x4E544300, "Nuvoton Technology"},
        {0x51434F4D, "Qualcomm"},
        {0x534D5343, "SMSC"},
        {0x53544D20, "STMicroelectronics"},
        {0x534D534E, "Samsung"},
        {0x534E5300, "Sinosun"},
        {0x54584E00, "Texas Instruments"},
        {0x57454300, "Winbond"},
        {0x53454345, "SecEdge"},
        /* swtpm's default tpmManufacturer (IBM's PCI vendor ID) */
        {0x00001014, "IBM (swtpm)"},
};

static void decode_manufacturer(tpa_ekcert_info *in)
{
	const char *m = in->manufacturer;
	uint32_t id = 0;
	size_t k = 0;

	if (strncmp(m, "id:", 3) != 0 || strlen(m) != 11)
		return;
	for (size_t i = 3; i < 11; i++) {
		char c = m[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                               : -1;
		if (v < 0)
			return;
		id = id << 4 | (uint32_t)v;
	}
	/* The vendor ID is ASCII, padded with NULs or spaces ("IFX\0") */
	while (k < 4) {
		unsigned char c = (unsigned char)(id >> (24 - 8 * k));
		if (c < 0x21 || c > 0x7e)
			break;
		in->vendor_id[k++] = (char)c;
	}
	for (size_t j = k; j < 4; j++) {
		unsigned char c = (unsigned char)(id >> (24 - 8 * j));
		if (c != 0 && c != ' ')
			k = 0;
	}
	in->vendor_id[k] = '\0';
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
		if (vendors[i].id == id)
			in->vendor_name = vendors[i].name;
}

/* The TPM attributes of the SAN directoryName.  A second SAN, a SAN that
 * does not decode, or an attribute given twice is malformed. */
static int read_san(X509 *x, tpa_ekcert_info *in, char *why, size_t whylen)
{
	static const char *const oids[3] = {"2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"};
	static const char *const names[3] = {"tpmManufacturer", "tpmModel", "tpmVersion"};
	char *dst[3] = {in->manufacturer, in->model, in->version};
	int crit = -1, seen[3] = {0, 0, 0}, r = TPA_OK;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);

	if (!gens) {
		ERR_clear_error();
		if (crit == -1)
			return TPA_OK; /* no SAN */
		setwhy(why, whylen,
		       crit == -2 ? "two subjectAltName extensions"
		                  : "the subjectAltName does not decode");
		return TPA_E_MALFORMED;
	}
	in->san_critical = crit == 1;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		X509_NAME *dn;
		if (g->type != GEN_DIRNAME)
			continue;
		dn = g->d.directoryName;
		for (int j = 0; j < X509_NAME_entry_count(dn); j++) {
			const X509_NAME_ENTRY *ne = X509_NAME_get_entry(dn, j);
			const ASN1_STRING *v = X509_NAME_ENTRY_get_data(ne);
			char oid[40];
			if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(ne), 1) <= 0)
				continue;
			for (int k = 0; k < 3; k++) {
				if (strcmp(oid, oids[k]) != 0)
					continue;
				if (seen[k]++) {
					setwhy(why, whylen, "the subjectAltName names %s twice",
					       names[k]);
					r = TPA_E_MALFORMED;
					goto out;
				}
				copy_printable(dst[k], TPA_EKCERT_ATTR_MAX,
				               ASN1_STRING_get0_data(v),
				               (size_t)ASN1_STRING_length(v));
			}
		}
	}
	in->has_san = seen[0] || seen[1] || seen[2];
	decode_manufacturer(in);
out:
	GENERAL_NAMES_free(gens);
	return r;
}

static void name_text(const X509_NAME *n, char *dst, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;
	dst[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		copy_printable(dst, cap, (const unsigned char *)p, len > 0 ? (size_t)len : 0);
	}
	BIO_free(b);
	ERR_clear_error();
}

static int64_t time_of(const ASN1_TIME *t)
{
	struct tm tm;
	int64_t days, y, m;
	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return 0;
	}
	/* days from civil (proleptic Gregorian), free of time_t's width */
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	y -= m <= 2;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm.tm_mday - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	return days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static int key_info(X509 *x, tpa_ekcert_info *in, char *why, size_t whylen)
{
	X509_PUBKEY *pk = X509_get_X509_PUBKEY(x);
	ASN1_OBJECT *alg = NULL;
	EVP_PKEY *k;

	if (!pk || !X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk)) {
		setwhy(why, whylen, "no SubjectPublicKeyInfo");
		return TPA_E_MALFORMED;
	}
	if (OBJ_obj2nid(alg) == NID_rsaesOaep) {
		in->key = TPA_EKCERT_KEY_RSAES_OAEP;
		return TPA_OK;
	}
	k = X509_get0_pubkey(x);
	ERR_clear_error();
	if (!k)
		return TPA_OK; /* reported as an unknown key; the chain decides */
	if (EVP_PKEY_is_a(k, "RSA")) {
		in->key = TPA_EKCERT_KEY_RSA;
		in->key_bits = (unsigned)EVP_PKEY_get_bits(k);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		char group[64];
		size_t gl = 0;
		in->key = TPA_EKCERT_KEY_ECC;
		in->key_bits = (unsigned)EVP_PKEY_get_bits(k);
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), &gl)) {
			int nid = OBJ_sn2nid(group);
			const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
			in->key_curve = nist                         ? nist
			                : nid == NID_sm2             ? "SM2"
			                : nid == NID_brainpoolP256r1 ? "brainpoolP256r1"
			                                             : "other";
		}
	}
	ERR_clear_error();
	return TPA_OK;
}

static void serial_text(X509 *x, char *dst, size_t cap)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;
	size_t n = s ? (size_t)ASN1_STRING_length(s) : 0, o = 0;
	dst[0] = '\0';
	for (size_t i = 0; d && i < n && o + 3 <= cap; i++, o += 2)
		snprintf(dst + o, cap - o, "%02x", d[i]);
}

void tpa_ekcert_free(tpa_ekcert **cert)
{
	if (!cert || !*cert)
		return;
	X509_free((*cert)->x);
	free((*cert)->der);
	free(*cert);
	*cert = NULL;
}

/* The DER and the X509 of buf, for both the EK certificate and the chain. */
static int read_cert(const uint8_t *buf, size_t len, tpa_ekcert *c, char *why, size_t whylen)
{
	size_t off = 0, dlen = 0;
	uint8_t *owned = NULL;
	const unsigned char *p;
	char e[120];
	int r = unwrap(buf, len, &off, &dlen, &owned, c->info.wrapping, sizeof(c->info.wrapping),
	               why, whylen);
	if (r != TPA_OK)
		return r;
	if (owned) {
		c->der = owned;
	} else {
		if (!(c->der = malloc(dlen)))
			return TPA_E_NOMEM;
		memcpy(c->der, buf + off, dlen);
	}
	c->der_len = dlen;
	c->info.der_offset = off;
	c->info.der_len = dlen;
	p = c->der;
	c->x = d2i_X509(NULL, &p, (long)dlen);
	if (!c->x) {
		setwhy(why, whylen, "byte %zu: not an X.509 certificate OpenSSL can read (%s)", off,
		       ossl_reason(e, sizeof(e)));
		return TPA_E_MALFORMED;
	}
	if ((size_t)(p - c->der) != dlen) {
		setwhy(why, whylen,
		       "byte %zu: %zu bytes inside the DER frame after the certificate",
		       off + (size_t)(p - c->der), dlen - (size_t)(p - c->der));
		return TPA_E_MALFORMED;
	}
	return TPA_OK;
}

int tpa_ekcert_parse(const uint8_t *buf, size_t len, tpa_ekcert **out, char *why, size_t whylen)
{
	tpa_ekcert *c;
	tpa_ekcert_info *in;
	int r;

	if (!buf || !out)
		return TPA_E_INVALID_ARG;
	if (!(c = calloc(1, sizeof(*c))))
		return TPA_E_NOMEM;
	in = &c->info;
	if ((r = read_cert(buf, len, c, why, whylen)) != TPA_OK)
		goto fail;
	if ((r = read_san(c->x, in, why, whylen)) != TPA_OK)
		goto fail;
	if ((r = key_info(c->x, in, why, whylen)) != TPA_OK)
		goto fail;
	name_text(X509_get_subject_name(c->x), in->subject, sizeof(in->subject));
	name_text(X509_get_issuer_name(c->x), in->issuer, sizeof(in->issuer));
	serial_text(c->x, in->serial, sizeof(in->serial));
	in->not_before = time_of(X509_get0_notBefore(c->x));
	in->not_after = time_of(X509_get0_notAfter(c->x));
	ERR_clear_error();
	*out = c;
	return TPA_OK;
fail:
	ERR_clear_error();
	tpa_ekcert_free(&c);
	return r;
}

const tpa_ekcert_info *tpa_ekcert_get_info(const tpa_ekcert *cert)
{
	return cert ? &cert->info : NULL;
}

const uint8_t *tpa_ekcert_der(const tpa_ekcert *cert, size_t *len)
{
	if (!cert)
		return NULL;
	if (len)
		*len = cert->der_len;
	return cert->der;
}

/* ---- trust ---- */

int tpa_ekstore_new(tpa_ekstore **out)
{
	tpa_ekstore *s;
	if (!out)
		return TPA_E_INVALID_ARG;
	if (!(s = calloc(1, sizeof(*s))))
		return TPA_E_NOMEM;
	s->anchors = sk_X509_new_null();
	s->intermediates = sk_X509_new_null();
	if (!s->anchors || !s->intermediates) {
		tpa_ekstore_free(&s);
		return TPA_E_NOMEM;
	}
	*out = s;
	return TPA_OK;
}

void tpa_ekstore_free(tpa_ekstore **store)
{
	if (!store || !*store)
		return;
	sk_X509_pop_free((*store)->anchors, X509_free);
	sk_X509_pop_free((*store)->intermediates, X509_free);
	free(*store);
	*store = NULL;
}

size_t tpa_ekstore_count(const tpa_ekstore *store, int role)
{
	if (!store)
		return 0;
	return (size_t)sk_X509_num(role == TPA_EKSTORE_ROOT ? store->anchors
	                                                    : store->intermediates);
}

/* Self-signed: issuer and subject names equal and the certificate's own
 * key verifies its signature. */
static int self_signed(X509 *x)
{
	int r = X509_self_signed(x, 1);
	ERR_clear_error();
	return r == 1;
}

/*
 * CAs whose private keys are public: swtpm's test CAs (its tests/data
 * signkey.pem at two commits, and swtpm-localca-rootca-privkey.pem), which
 * collections of TPM CAs carry.  Anyone can sign an "EK certificate" with
 * them, so they are never a trust anchor nor an intermediate.  SHA-256 of
 * the SubjectPublicKeyInfo.
 */
static const uint8_t published_keys[][32] = {
        {0x36, 0xc3, 0x7e, 0x0c, 0x76, 0x2b, 0x97, 0xca, 0xa3, 0x8f, 0x70,
         0xa7, 0x21, 0x25, 0xcc, 0x78, 0x3f, 0xa2, 0x55, 0x10, 0xae, 0xb5,
         0x27, 0x87, 0x18, 0x7c, 0x7d, 0x35, 0xe0, 0x3a, 0x61, 0x38},
        {0xbe, 0x1e, 0x77, 0x6f, 0x70, 0xfd, 0x2d, 0x97, 0xad, 0xcb, 0x63,
         0x73, 0x0b, 0xe7, 0x00, 0xd7, 0x62, 0x03, 0x4f, 0x43, 0x19, 0xb2,
         0x4c, 0xb3, 0x98, 0xb0, 0x84, 0x4b, 0x48, 0xbe, 0xa3, 0x77},
        {0x34, 0xbd, 0xb2, 0xc5, 0x23, 0x7c, 0x45, 0xcd, 0x20, 0x48, 0x66,
         0xae, 0x0f, 0x7f, 0xb4, 0x66, 0xea, 0x43, 0x6e, 0x60, 0x81, 0xf2,
         0xc2, 0x8c, 0x81, 0xe1, 0xfe, 0x60, 0xcc, 0x9e, 0xc0, 0x6e},
};

static int published_key(X509 *x)
{
	unsigned char *der = NULL;
	uint8_t h[32];
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der), found = 0;
	if (n <= 0)
		return 0;
	if (EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(), NULL))
		for (size_t i = 0; i < sizeof(published_keys) / sizeof(published_keys[0]); i++)
			found |= CRYPTO_memcmp(h, published_keys[i], 32) == 0;
	OPENSSL_free(der);
	return found;
}

static int store_push(tpa_ekstore *s, int role, X509 *x)
{
	STACK_OF(X509) *sk =
	        role == TPA_EKSTORE_ROOT && self_signed(x) ? s->anchors : s->intermediates;
	/* the same certificate twice is kept once */
	for (int i = 0; i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0) {
			X509_free(x);
			return TPA_OK;
		}
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return TPA_E_NOMEM;
	}
	return TPA_OK;
}

int tpa_ekstore_add(tpa_ekstore *store, int role, const uint8_t *buf, size_t len, char *why,
                    size_t whylen)
{
	char e[120];
	int r = TPA_OK, n = 0;

	if (!store || !buf || (role != TPA_EKSTORE_ROOT && role != TPA_EKSTORE_INTERMEDIATE))
		return TPA_E_INVALID_ARG;
	if (len > TPA_EKCERT_MAX_INPUT * 16) {
		setwhy(why, whylen, "%zu bytes, above the cap of %d", len,
		       TPA_EKCERT_MAX_INPUT * 16);
		return TPA_E_LIMIT;
	}
	/* CA bundles often carry text (openssl x509 -text) around the
	 * blocks, which PEM_read_bio skips; DER starts with 0x30. */
	if (!(len && buf[0] != 0x30 && has_pem_begin(buf, len))) {
		tpa_ekcert tmp;
		memset(&tmp, 0, sizeof(tmp));
		r = read_cert(buf, len, &tmp, why, whylen);
		free(tmp.der);
		if (r != TPA_OK) {
			X509_free(tmp.x);
			return r;
		}
		if (published_key(tmp.x)) {
			setwhy(why, whylen,
			       "a CA whose private key is public (swtpm's test CA), never trusted");
			X509_free(tmp.x);
			return TPA_E_POLICY;
		}
		return store_push(store, role, tmp.x);
	}
	/* PEM: every CERTIFICATE block; other blocks (keys, CRLs) are not
	 * certificates and are refused rather than skipped.  The file is taken
	 * whole or not at all: a bundle refused halfway adds nothing. */
	{
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		STACK_OF(X509) *pend = sk_X509_new_null();
		if (!b || !pend) {
			BIO_free(b);
			sk_X509_free(pend);
			return TPA_E_NOMEM;
		}
		for (;;) {
			char *name = NULL, *header = NULL;
			unsigned char *data = NULL;
			const unsigned char *p;
			long dl = 0;
			X509 *x;
			if (!PEM_read_bio(b, &name, &header, &data, &dl)) {
				unsigned long err = ERR_peek_last_error();
				ERR_clear_error();
				if (n > 0 && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
					break;
				setwhy(why, whylen, "PEM block %d: %s", n + 1,
				       n > 0 ? "does not decode" : "no certificate");
				r = TPA_E_MALFORMED;
				break;
			}
			p = data;
			x = strcmp(name, "CERTIFICATE") == 0 ? d2i_X509(NULL, &p, dl) : NULL;
			if (!x || p != data + dl) {
				setwhy(why, whylen, "PEM block %d (%.40s): %s", n + 1, name,
				       x                             ? "bytes after the certificate"
				       : strcmp(name, "CERTIFICATE") ? "not a certificate"
				                                     : ossl_reason(e, sizeof(e)));
				X509_free(x);
				r = TPA_E_MALFORMED;
			} else if (published_key(x)) {
				setwhy(why, whylen,
				       "PEM block %d: a CA whose private key is public (swtpm's "
				       "test "
				       "CA), never trusted",
				       n + 1);
				X509_free(x);
				r = TPA_E_POLICY;
			} else if (!sk_X509_push(pend, x)) {
				X509_free(x);
				r = TPA_E_NOMEM;
			}
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			if (r != TPA_OK)
				break;
			n++;
		}
		BIO_free(b);
		while (sk_X509_num(pend) > 0) {
			X509 *x = sk_X509_shift(pend);
			if (r == TPA_OK)
				r = store_push(store, role, x);
			else
				X509_free(x);
		}
		sk_X509_free(pend);
	}
	ERR_clear_error();
	return r;
}

/*
 * Whether a leaf says it is an EK certificate (TCG EK Credential Profile
 * 2.x, 3.2): an extended key usage that holds tcg-kp-EKCertificate
 * (2.23.133.8.1), or, with no extended key usage at all, a keyUsage that
 * allows keyEncipherment or keyAgreement (an EK decrypts; it never signs).  A CA that also
 * issues TLS or code-signing certificates for software keys would
 * otherwise vouch for those keys as TPMs.  Every verified leaf of the
 * shared corpus is marked one of the two ways.
 */
static int ek_marked(X509 *x, tpa_ekcert_key key)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	uint32_t ku = X509_get_key_usage(x);
	int found = 0;
	if (eku) {
		ASN1_OBJECT *tcg = OBJ_txt2obj("2.23.133.8.1", 1);
		for (int i = 0; tcg && i < sk_ASN1_OBJECT_num(eku); i++)
			found |= OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), tcg) == 0;
		ASN1_OBJECT_free(tcg);
		EXTENDED_KEY_USAGE_free(eku);
		return found;
	}
	if (ku == UINT32_MAX)
		return 0;
	/* either bit: vendors write keyEncipherment for ECC EKs too */
	(void)key;
	return (ku & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) != 0;
}

/* ---- the path ---- */

const char *tpa_ekcert_reason_name(tpa_ekcert_reason reason)
{
	switch (reason) {
	case TPA_EKCERT_VERIFIED: return "verified";
	case TPA_EKCERT_UNKNOWN_ISSUER: return "unknown-issuer";
	case TPA_EKCERT_SELF_SIGNED: return "self-signed";
	case TPA_EKCERT_BAD_SIGNATURE: return "bad-signature";
	case TPA_EKCERT_NOT_CA: return "not-ca";
	case TPA_EKCERT_EXPIRED: return "expired";
	case TPA_EKCERT_NOT_YET_VALID: return "not-yet-valid";
	case TPA_EKCERT_OUT_OF_SCOPE: return "out-of-scope";
	case TPA_EKCERT_CRITICAL_EXT: return "unhandled-critical-extension";
	case TPA_EKCERT_REFUSED: return "refused";
	case TPA_EKCERT_WEAK: return "weak-signature";
	case TPA_EKCERT_NOT_EK: return "not-an-ek";
	}
	return NULL;
}

static tpa_ekcert_validity validity_at(X509 *x, time_t at)
{
	if (X509_cmp_time(X509_get0_notBefore(x), &at) > 0)
		return TPA_EKCERT_TIME_NOT_YET_VALID;
	if (X509_cmp_time(X509_get0_notAfter(x), &at) < 0)
		return TPA_EKCERT_TIME_EXPIRED;
	return TPA_EKCERT_TIME_VALID;
}

/* Certificates in the pools whose subject is x's issuer name. */
static int count_named(STACK_OF(X509) * sk, X509 *x)
{
	int n = 0;
	for (int i = 0; sk && i < sk_X509_num(sk); i++)
		if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(sk, i)),
		                  X509_get_issuer_name(x)) == 0)
			n++;
	return n;
}

static int refuse(tpa_ekcert_verdict *v, tpa_ekcert_reason reason, int depth, int err,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(tpa_ekcert_verdict *v, tpa_ekcert_reason reason, int depth, int err,
                  const char *fmt, ...)
{
	va_list ap;
	v->reason = reason;
	v->depth = depth;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return err;
}

static void record_chain(tpa_ekcert_verdict *v, STACK_OF(X509) * chain)
{
	v->chain_len = 0;
	for (int i = 0; chain && i < sk_X509_num(chain) && v->chain_len < TPA_EKCERT_MAX_CHAIN; i++)
		name_text(X509_get_subject_name(sk_X509_value(chain, i)), v->chain[v->chain_len++],
		          TPA_EKCERT_TEXT_MAX);
}

static int map_error(tpa_ekcert_verdict *v, X509_STORE_CTX *ctx, STACK_OF(X509) * pool,
                     STACK_OF(X509) * anchors, int64_t at)
{
	int e = X509_STORE_CTX_get_error(ctx), d = X509_STORE_CTX_get_error_depth(ctx);
	X509 *at_cert = X509_STORE_CTX_get_current_cert(ctx);
	const char *s = X509_verify_cert_error_string(e);
	char nm[TPA_EKCERT_TEXT_MAX] = "";
	int named;

	if (at_cert)
		name_text(X509_get_issuer_name(at_cert), nm, sizeof(nm));
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		named = at_cert ? count_named(pool, at_cert) + count_named(anchors, at_cert) : 0;
		if (named)
			return refuse(v, TPA_EKCERT_UNKNOWN_ISSUER, d, TPA_E_POLICY,
			              "unknown issuer at depth %d: %d certificate%s named \"%s\", "
			              "none with its key (authority key identifier or signature)",
			              d, named, named == 1 ? "" : "s", nm);
		return refuse(v, TPA_EKCERT_UNKNOWN_ISSUER, d, TPA_E_POLICY,
		              "unknown issuer at depth %d: no certificate named \"%s\"", d, nm);
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return refuse(v, TPA_EKCERT_SELF_SIGNED, d, TPA_E_POLICY,
		              "self-signed certificate, not issued by a TPM manufacturer");
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return refuse(v, TPA_EKCERT_UNKNOWN_ISSUER, d, TPA_E_POLICY,
		              "unknown issuer: the chain ends at depth %d in a self-signed "
		              "certificate that is not among the roots (\"%s\")",
		              d, nm);
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return refuse(
		        v, TPA_EKCERT_BAD_SIGNATURE, d, TPA_E_BAD_SIGNATURE,
		        "bad signature at depth %d: the key of \"%s\" does not verify it (%s)", d,
		        nm, s);
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		if (at_cert)
			name_text(X509_get_subject_name(at_cert), nm, sizeof(nm));
		return refuse(v, TPA_EKCERT_NOT_CA, d, TPA_E_POLICY,
		              "issuer not a CA at depth %d: \"%s\" (%s)", d, nm, s);
	case X509_V_ERR_CA_MD_TOO_WEAK:
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		return refuse(v, TPA_EKCERT_WEAK, d, TPA_E_POLICY,
		              "weak signature or key at depth %d (%s)", d, s);
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return refuse(v, TPA_EKCERT_EXPIRED, d, TPA_E_POLICY,
		              "expired at depth %d (checked at %lld)", d, (long long)at);
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
		return refuse(v, TPA_EKCERT_NOT_YET_VALID, d, TPA_E_POLICY,
		              "not yet valid at depth %d (checked at %lld)", d, (long long)at);
	case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
		return refuse(v, TPA_EKCERT_CRITICAL_EXT, d, TPA_E_POLICY,
		              "unhandled critical extension at depth %d", d);
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return refuse(v, TPA_EKCERT_REFUSED, d, TPA_E_POLICY,
		              "no chain within %d certificates", TPA_EKCERT_MAX_CHAIN);
	}
	return refuse(v, TPA_EKCERT_REFUSED, d, TPA_E_POLICY, "refused at depth %d: %s (%d)", d, s,
	              e);
}

int tpa_ekcert_verify(const tpa_ekcert *cert, const tpa_ekstore *store, const tpa_ekcert_opts *opts,
                      tpa_ekcert_verdict *v)
{
	static const tpa_ekcert_opts none;
	X509_STORE *xs = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *pool = NULL;
	X509_VERIFY_PARAM *param;
	int64_t at;
	int r;

	if (!v)
		return TPA_E_INVALID_ARG;
	memset(v, 0, sizeof(*v));
	if (!cert || !store) {
		refuse(v, TPA_EKCERT_REFUSED, 0, TPA_E_INVALID_ARG, "no certificate or no store");
		return TPA_E_INVALID_ARG;
	}
	if (!opts)
		opts = &none;
	at = opts->at ? opts->at : (int64_t)time(NULL);
	v->time_enforced = !!opts->check_time;
	v->validity = validity_at(cert->x, (time_t)at);

	/* TPM 1.2 EKs are RSAES-OAEP keys: credential activation as this
	 * library does it (TPM 2.0) cannot reach them. */
	if (cert->info.key == TPA_EKCERT_KEY_RSAES_OAEP)
		return refuse(v, TPA_EKCERT_OUT_OF_SCOPE, 0, TPA_E_POLICY,
		              "TPM 1.2 EK certificate (RSAES-OAEP key), out of scope");
	/* An issuing CA's certificate chains too; its key is no TPM's. */
	if ((X509_get_extension_flags(cert->x) & EXFLAG_CA) || X509_check_ca(cert->x) != 0)
		return refuse(v, TPA_EKCERT_NOT_EK, 0, TPA_E_POLICY,
		              "a CA certificate (basicConstraints cA TRUE), not an EK certificate");
	if (cert->info.key == TPA_EKCERT_KEY_UNKNOWN)
		return refuse(v, TPA_EKCERT_REFUSED, 0, TPA_E_POLICY,
		              "the certificate's key is neither RSA nor ECC");
	if (!ek_marked(cert->x, cert->info.key))
		return refuse(v, TPA_EKCERT_NOT_EK, 0, TPA_E_POLICY,
		              "not marked as an EK certificate: no tcg-kp-EKCertificate extended "
		              "key usage, nor (without one) a keyUsage of keyEncipherment or "
		              "keyAgreement");

	r = TPA_E_NOMEM;
	if (!(pool = sk_X509_dup(store->intermediates)))
		goto out;
	for (size_t i = 0; i < opts->n_chain; i++) {
		tpa_ekcert tmp;
		char why[TPA_EKCERT_TEXT_MAX] = "";
		memset(&tmp, 0, sizeof(tmp));
		if (!opts->chain || !opts->chain_len || !opts->chain[i]) {
			r = refuse(v, TPA_EKCERT_REFUSED, 0, TPA_E_INVALID_ARG,
			           "chain entry %zu missing", i);
			goto out;
		}
		r = read_cert(opts->chain[i], opts->chain_len[i], &tmp, why, sizeof(why));
		free(tmp.der);
		if (r == TPA_E_NOMEM) {
			X509_free(tmp.x);
			goto out;
		}
		if (r != TPA_OK) {
			/* an intermediate that does not read can only lose paths
			 * (a TPM's NV chain may hold one OpenSSL cannot parse) */
			X509_free(tmp.x);
			r = TPA_OK;
			continue;
		}
		/* the pool borrows store's certificates; these it owns until
		 * the end (freed below through the stack of extras) */
		if (!sk_X509_push(pool, tmp.x)) {
			X509_free(tmp.x);
			r = TPA_E_NOMEM;
			goto out;
		}
	}
	if (!(xs = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new()))
		goto out;
	if (!X509_STORE_CTX_init(ctx, xs, cert->x, pool)) {
		r = TPA_E_CRYPTO;
		goto out;
	}
	/* anchors searched as a stack: no per-verification store to build */
	X509_STORE_CTX_set0_trusted_stack(ctx, store->anchors);
	param = X509_STORE_CTX_get0_param(ctx);
	/* depth counts the intermediates: leaf + depth + anchor */
	X509_VERIFY_PARAM_set_depth(param, TPA_EKCERT_MAX_CHAIN - 2);
	/* Security level 1 (80 bits): refuses SHA-1 (and MD5) signatures and
	 * RSA keys under 1024 bits anywhere in the chain.  Only TPM 1.2 era
	 * CAs sign with SHA-1, and those chains are out of scope. */
	X509_VERIFY_PARAM_set_auth_level(param, 1);
	if (opts->check_time)
		X509_VERIFY_PARAM_set_time(param, (time_t)at);
	else
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);

	if (X509_verify_cert(ctx) == 1) {
		STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
		record_chain(v, chain);
		if (sk_X509_num(chain) < 2) {
			/* the certificate is itself an anchor: an EK cannot sign */
			r = refuse(
			        v, TPA_EKCERT_SELF_SIGNED, 0, TPA_E_POLICY,
			        "self-signed certificate given as a root, not an EK certificate");
			goto out;
		}
		/* OpenSSL counts policyConstraints and inhibitAnyPolicy as
		 * handled, but processes policies only with
		 * X509_V_FLAG_POLICY_CHECK, which leaks memory in OpenSSL 3.0 on
		 * such chains; no EK chain needs them, so a critical one is an
		 * extension nothing here handles. */
		for (int i = 0; i < sk_X509_num(chain); i++) {
			X509 *c = sk_X509_value(chain, i);
			static const int nids[] = {NID_policy_constraints, NID_inhibit_any_policy};
			for (size_t j = 0; j < 2; j++) {
				int at_ext = X509_get_ext_by_NID(c, nids[j], -1);
				if (at_ext >= 0 &&
				    X509_EXTENSION_get_critical(X509_get_ext(c, at_ext))) {
					r = refuse(v, TPA_EKCERT_CRITICAL_EXT, i, TPA_E_POLICY,
					           "a critical %s, which this verifier does not "
					           "process",
					           OBJ_nid2ln(nids[j]));
					goto out;
				}
			}
		}
		v->chain_time_valid = 1;
		for (int i = 0; i < sk_X509_num(chain); i++)
			if (validity_at(sk_X509_value(chain, i), (time_t)at) !=
			    TPA_EKCERT_TIME_VALID)
				v->chain_time_valid = 0;
		v->reason = TPA_EKCERT_VERIFIED;
		snprintf(v->why, sizeof(v->why), "chains to \"%s\"", v->chain[v->chain_len - 1]);
		r = TPA_OK;
	} else {
		record_chain(v, X509_STORE_CTX_get0_chain(ctx));
		r = map_error(v, ctx, pool, store->anchors, at);
	}
out:
	if (r == TPA_E_NOMEM && !v->why[0])
		refuse(v, TPA_EKCERT_REFUSED, 0, TPA_E_NOMEM, "out of memory");
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(xs);
	if (pool) {
		/* free only the extras, which follow store's intermediates */
		for (int i = sk_X509_num(store->intermediates); i < sk_X509_num(pool); i++)
			X509_free(sk_X509_value(pool, i));
		sk_X509_free(pool);
	}
	return r;
}

/* ---- the EK public area against the certificate ---- */

/* TPM2B_PUBLIC, or a bare TPMT_PUBLIC, every byte consumed. */
static int read_public(const uint8_t *buf, size_t len, TPMT_PUBLIC *p, char *why, size_t whylen)
{
	TPM2B_PUBLIC b;
	size_t off = 0;
	memset(&b, 0, sizeof(b));
	if (len >= 2 && (size_t)(buf[0] << 8 | buf[1]) == len - 2) {
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &b) == TSS2_RC_SUCCESS &&
		    off == len) {
			*p = b.publicArea;
			return TPA_OK;
		}
	}
	off = 0;
	if (Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, len, &off, p) != TSS2_RC_SUCCESS) {
		setwhy(why, whylen,
		       "the EK public area is neither a TPM2B_PUBLIC nor a TPMT_PUBLIC");
		return TPA_E_MALFORMED;
	}
	if (off != len) {
		setwhy(why, whylen, "%zu bytes after the EK public area (TPMT_PUBLIC)", len - off);
		return TPA_E_TRAILING;
	}
	return TPA_OK;
}

static int rsa_matches(EVP_PKEY *k, const TPMT_PUBLIC *p, char *why, size_t whylen)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t mod[TPM2_MAX_RSA_KEY_BYTES];
	size_t size = p->unique.rsa.size;
	unsigned long want_e =
	        p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
	int r = TPA_E_MISMATCH;

	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e)) {
		setwhy(why, whylen, "the certificate's RSA key does not decode");
		r = TPA_E_CRYPTO;
	} else if (size == 0 || size > sizeof(mod) || (size_t)BN_num_bytes(n) != size ||
	           BN_bn2binpad(n, mod, (int)size) != (int)size ||
	           CRYPTO_memcmp(mod, p->unique.rsa.buffer, size) != 0) {
		setwhy(why, whylen,
		       "the EK public area's RSA modulus (%zu bytes) is not the certificate's",
		       size);
	} else if (!BN_is_word(e, want_e)) {
		setwhy(why, whylen, "the EK public area's RSA exponent is not the certificate's");
	} else {
		r = TPA_OK;
	}
	BN_free(n);
	BN_free(e);
	return r;
}

static int ecc_matches(EVP_PKEY *k, const TPMT_PUBLIC *p, char *why, size_t whylen)
{
	static const struct {
		uint16_t curve;
		const char *group;
		size_t bytes;
	} curves[] = {
	        {TPM2_ECC_NIST_P256, "prime256v1", 32},
	        {TPM2_ECC_NIST_P384, "secp384r1", 48},
	        {TPM2_ECC_NIST_P521, "secp521r1", 66},
	};
	uint8_t pt[1 + 2 * 66];
	size_t n = 0;
	char group[64];

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].curve == p->parameters.eccDetail.curveID) {
			n = curves[i].bytes;
			if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
			                                    sizeof(group), NULL) ||
			    strcmp(group, curves[i].group) != 0) {
				setwhy(why, whylen,
				       "the EK public area's curve is not the certificate's");
				return TPA_E_MISMATCH;
			}
		}
	if (!n) {
		setwhy(why, whylen,
		       "the EK public area's curve 0x%04x is not NIST P-256, P-384 or P-521",
		       p->parameters.eccDetail.curveID);
		return TPA_E_MISMATCH;
	}
	{
		/* by coordinates: a certificate may carry the point compressed */
		BIGNUM *bx = NULL, *by = NULL;
		int ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
		         EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
		         BN_bn2binpad(bx, pt + 1, (int)n) == (int)n &&
		         BN_bn2binpad(by, pt + 1 + n, (int)n) == (int)n;
		BN_free(bx);
		BN_free(by);
		if (!ok) {
			setwhy(why, whylen, "the certificate's EC point does not decode");
			return TPA_E_MALFORMED;
		}
	}
	if (p->unique.ecc.x.size != n || p->unique.ecc.y.size != n ||
	    CRYPTO_memcmp(pt + 1, p->unique.ecc.x.buffer, n) != 0 ||
	    CRYPTO_memcmp(pt + 1 + n, p->unique.ecc.y.buffer, n) != 0) {
		setwhy(why, whylen, "the EK public area's ECC point is not the certificate's");
		return TPA_E_MISMATCH;
	}
	return TPA_OK;
}

int tpa_ekcert_key_matches(const tpa_ekcert *cert, const uint8_t *ek_public, size_t len, char *why,
                           size_t whylen)
{
	TPMT_PUBLIC p;
	EVP_PKEY *k;
	int r;

	if (!cert || !ek_public)
		return TPA_E_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	if ((r = read_public(ek_public, len, &p, why, whylen)) != TPA_OK)
		return r;
	if (cert->info.key == TPA_EKCERT_KEY_RSAES_OAEP) {
		setwhy(why, whylen, "TPM 1.2 EK certificate (RSAES-OAEP key), out of scope");
		return TPA_E_UNSUPPORTED;
	}
	k = X509_get0_pubkey(cert->x);
	ERR_clear_error();
	if (p.type == TPM2_ALG_RSA && cert->info.key == TPA_EKCERT_KEY_RSA && k)
		r = rsa_matches(k, &p, why, whylen);
	else if (p.type == TPM2_ALG_ECC && cert->info.key == TPA_EKCERT_KEY_ECC && k)
		r = ecc_matches(k, &p, why, whylen);
	else {
		setwhy(why, whylen, "the EK public area is a %s key, the certificate's is %s",
		       p.type == TPM2_ALG_RSA   ? "RSA"
		       : p.type == TPM2_ALG_ECC ? "ECC"
		                                : "non-RSA/ECC",
		       cert->info.key == TPA_EKCERT_KEY_RSA   ? "RSA"
		       : cert->info.key == TPA_EKCERT_KEY_ECC ? "ECC"
		                                              : "of another kind");
		r = TPA_E_MISMATCH;
	}
	ERR_clear_error();
	return r;
}
