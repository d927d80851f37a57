/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoding of event data into named fields (PFP 1.05, 10.4; UEFI 2.10 for
 * EFI_SIGNATURE_LIST (32.4.1), EFI_LOAD_OPTION (3.1.3) and the GPT (5.3)).
 * Decoding reads data only; whether that data is what was measured is
 * tpa_event_digest_check()'s answer, which callers must consult first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "base/hash.h"
#include "base/reader.h"
#include "base/util.h"
#include "decode.h"

/* Caps on decoded output for hostile data (real dbx: ~450 entries). */
#define DECODE_MAX_ITEMS 4096u
/* Signatures in one decoded signature-list variable: as many as a policy
 * judges (a real dbx holds hundreds to tens of thousands). */
#define DECODE_MAX_SIGNATURES 100000u

/* ---- field tree ---- */

tpa_field *tpa_fb_add(tpa_fb *b, tpa_field *parent, const char *name, tpa_field_kind kind)
{
	tpa_field *f, **tail;
	if (b->nomem)
		return NULL;
	if (!(f = calloc(1, sizeof(*f)))) {
		b->nomem = true;
		return NULL;
	}
	f->name = name;
	f->kind = kind;
	if (parent) {
		tail = parent->last_ ? &parent->last_->next : &parent->child;
		*tail = f;
		parent->last_ = f;
	}
	return f;
}

static void set_str(tpa_fb *b, tpa_field *f, char *s)
{
	if (!f || !s) {
		if (!s)
			b->nomem = true;
		free(s);
		return;
	}
	f->str = s;
}

void tpa_fb_str(tpa_fb *b, tpa_field *parent, const char *name, const char *s)
{
	tpa_field *f = tpa_fb_add(b, parent, name, TPA_FIELD_STRING);
	if (f)
		set_str(b, f, strdup(s));
}

void tpa_fb_uint(tpa_fb *b, tpa_field *parent, const char *name, uint64_t v)
{
	tpa_field *f = tpa_fb_add(b, parent, name, TPA_FIELD_UINT);
	if (f)
		f->u = v;
}

static void fb_bytes(tpa_fb *b, tpa_field *parent, const char *name, tpa_field_kind k,
                     const uint8_t *p, size_t n)
{
	tpa_field *f = tpa_fb_add(b, parent, name, k);
	if (!f)
		return;
	if (!(f->bytes = malloc(n ? n : 1))) {
		b->nomem = true;
		return;
	}
	if (n)
		memcpy(f->bytes, p, n);
	f->len = n;
}

void tpa_fb_hex(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *p, size_t n)
{
	fb_bytes(b, parent, name, TPA_FIELD_HEX, p, n);
}

void tpa_fb_guid(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *g)
{
	fb_bytes(b, parent, name, TPA_FIELD_GUID, g, 16);
}

void tpa_fields_free(tpa_field **pf)
{
	tpa_field *f;
	if (!pf)
		return;
	f = *pf;
	while (f) {
		tpa_field *next = f->next;
		tpa_fields_free(&f->child);
		free(f->str);
		free(f->bytes);
		free(f);
		f = next;
	}
	*pf = NULL;
}

const tpa_field *tpa_field_get(const tpa_field *obj, const char *name)
{
	if (!obj)
		return NULL;
	for (const tpa_field *f = obj->child; f; f = f->next)
		if (f->name && strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

void tpa_guid_to_string(const uint8_t g[static 16], char out[static 37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
	         g[13], g[14], g[15]);
}

/* ---- text ---- */

static size_t put_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Control characters would let a log forge lines in someone's terminal or
 * log file: they are shown as \xNN. */
static size_t put_safe(char *o, uint32_t c)
{
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
		return (size_t)snprintf(o, 5, "\\x%02x", c);
	return put_utf8(o, c);
}

char *tpa_utf16_to_utf8(const uint8_t *p, size_t nbytes)
{
	size_t n = nbytes / 2, o = 0;
	char *s = malloc(n * 6 + 1); /* worst case: \x00-style escape or 4-byte UTF-8 per unit */
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = tpa_le16(p + 2 * i);
		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			uint32_t c2 = tpa_le16(p + 2 * i + 2);
			if (c2 >= 0xdc00 && c2 < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		o += put_safe(s + o, c);
	}
	s[o] = '\0';
	return s;
}

char *tpa_ascii_sanitize(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 4 + 1);
	size_t o = 0;
	if (!s)
		return NULL;
	for (size_t i = 0; i < n && p[i]; i++) {
		if (p[i] >= 0x80)
			o += (size_t)snprintf(s + o, 5, "\\x%02x", p[i]);
		else
			o += put_safe(s + o, p[i]);
	}
	s[o] = '\0';
	return s;
}

static void fb_take(tpa_fb *b, tpa_field *parent, const char *name, char *s)
{
	tpa_field *f;
	if (!s) {
		b->nomem = true;
		return;
	}
	if (!(f = tpa_fb_add(b, parent, name, TPA_FIELD_STRING))) {
		free(s);
		return;
	}
	f->str = s;
}

static void fb_ascii(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *p, size_t n)
{
	fb_take(b, parent, name, tpa_ascii_sanitize(p, n));
}

static void fb_utf16(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *p, size_t n)
{
	fb_take(b, parent, name, tpa_utf16_to_utf8(p, n));
}

static bool printable_ascii(const uint8_t *p, size_t n)
{
	size_t i;
	if (n == 0)
		return false;
	for (i = 0; i < n && p[i]; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
				return false;
	for (; i < n; i++) /* only NULs may follow the text */
		if (p[i])
			return false;
	return true;
}

/* UTF-16LE text of ASCII characters, as firmware and systemd-boot write it:
 * at least one character, then only NULs. */
static bool looks_utf16(const uint8_t *p, size_t n)
{
	size_t i;
	if (n < 2 || n % 2)
		return false;
	for (i = 0; i + 1 < n; i += 2) {
		if (p[i + 1] != 0)
			return false;
		if (p[i] == 0)
			break;
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return false;
	}
	if (i == 0)
		return false;
	for (; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void fb_text(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *p, size_t n)
{
	if (looks_utf16(p, n) && !printable_ascii(p, n))
		fb_utf16(b, parent, name, p, n);
	else
		fb_ascii(b, parent, name, p, n);
}

/* ---- EFI GUIDs (UEFI 2.10 and PFP 1.05) ---- */

#define GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                                            \
	{                                                                                        \
		(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, (b)&0xff, \
		        ((b) >> 8) & 0xff, (c)&0xff, ((c) >> 8) & 0xff, d0, d1, d2, d3, d4, d5,  \
		        d6, d7                                                                   \
	}

static const uint8_t cert_x509_guid[16] =
        GUID(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
static const uint8_t cert_sha256_guid[16] =
        GUID(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28);

static const struct {
	uint8_t guid[16];
	const char *name;
} sig_types[] = {
        {GUID(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28),
         "sha256"},
        {GUID(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72), "x509"},
        {GUID(0x3c5766e8, 0x269c, 0x4e34, 0xaa, 0x14, 0xed, 0x77, 0x6e, 0x85, 0xb3, 0xb6),
         "rsa2048"},
        {GUID(0x826ca512, 0xcf10, 0x4ac9, 0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd), "sha1"},
        {GUID(0x0b6e5233, 0xa65c, 0x44c9, 0x94, 0x07, 0xd9, 0xab, 0x83, 0xbf, 0xc8, 0xbd),
         "sha224"},
        {GUID(0xff3e5307, 0x9fd0, 0x48c9, 0x85, 0xf1, 0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01),
         "sha384"},
        {GUID(0x093e0fae, 0xa6c4, 0x4f50, 0x9f, 0x1b, 0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a),
         "sha512"},
        {GUID(0x3bd2a492, 0x96c0, 0x4079, 0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed),
         "x509_sha256"},
        {GUID(0x7076876e, 0x80c2, 0x4ee6, 0xaa, 0xd2, 0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b),
         "x509_sha384"},
        {GUID(0x446dbf63, 0x2502, 0x4cda, 0xbc, 0xfa, 0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d),
         "x509_sha512"},
};

static const char *sig_type_name(const uint8_t *g)
{
	for (size_t i = 0; i < sizeof(sig_types) / sizeof(sig_types[0]); i++)
		if (memcmp(sig_types[i].guid, g, 16) == 0)
			return sig_types[i].name;
	return NULL;
}

/* Fields of one X.509 certificate: its SHA-256 fingerprint, subject and
 * issuer when OpenSSL can read it. */
static void fb_x509(tpa_fb *b, tpa_field *obj, const uint8_t *der, size_t n)
{
	uint8_t fp[32];
	const unsigned char *q = der;
	X509 *x;
	if (tpa_hash(TPA_ALG_SHA256, der, n, fp) == TPA_OK)
		tpa_fb_hex(b, obj, "sha256", fp, sizeof(fp));
	if (b->flags & TPA_DECODE_NO_X509)
		return;
	if ((x = d2i_X509(NULL, &q, (long)n)) != NULL && q == der + n) {
		char buf[512];
		X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
		fb_ascii(b, obj, "subject", (const uint8_t *)buf, strlen(buf));
		X509_NAME_oneline(X509_get_issuer_name(x), buf, sizeof(buf));
		fb_ascii(b, obj, "issuer", (const uint8_t *)buf, strlen(buf));
	} else {
		tpa_fb_str(b, obj, "x509_error", "not a DER certificate");
	}
	X509_free(x);
}

/* EFI_SIGNATURE_DATA: owner GUID, then the signature (hash or certificate). */
static void fb_sigdata(tpa_fb *b, tpa_field *obj, const uint8_t *type, const uint8_t *p, size_t n)
{
	tpa_fb_guid(b, obj, "owner", p);
	if (memcmp(type, cert_x509_guid, 16) == 0)
		fb_x509(b, obj, p + 16, n - 16);
	else
		tpa_fb_hex(b, obj, memcmp(type, cert_sha256_guid, 16) == 0 ? "sha256" : "data",
		           p + 16, n - 16);
}

/* A sequence of EFI_SIGNATURE_LISTs (the contents of PK, KEK, db, dbx). */
static const char *decode_siglists(tpa_fb *b, tpa_field *parent, const uint8_t *p, size_t n)
{
	tpa_field *lists = tpa_fb_add(b, parent, "signature_lists", TPA_FIELD_ARRAY);
	tpa_rd r;
	size_t items = 0;

	tpa_rd_init(&r, p, n);
	while (tpa_rd_left(&r)) {
		const uint8_t *type;
		uint32_t lsize, hsize, ssize;
		tpa_rd body;
		tpa_field *l, *sigs;
		const char *tn;

		if (!tpa_rd_bytes(&r, 16, &type) || !tpa_rd_u32le(&r, &lsize) ||
		    !tpa_rd_u32le(&r, &hsize) || !tpa_rd_u32le(&r, &ssize))
			return "EFI_SIGNATURE_LIST header truncated";
		if (lsize < 28 || !tpa_rd_sub(&r, lsize - 28, &body))
			return "EFI_SIGNATURE_LIST size does not fit the data";
		if (!tpa_rd_skip(&body, hsize))
			return "EFI_SIGNATURE_LIST header size does not fit the list";
		if (ssize < 16 || tpa_rd_left(&body) % ssize)
			return "EFI_SIGNATURE_LIST signature size does not divide the list";
		l = tpa_fb_add(b, lists, NULL, TPA_FIELD_OBJECT);
		if ((tn = sig_type_name(type)))
			tpa_fb_str(b, l, "type", tn);
		else
			tpa_fb_guid(b, l, "type", type);
		sigs = tpa_fb_add(b, l, "signatures", TPA_FIELD_ARRAY);
		while (tpa_rd_left(&body)) {
			const uint8_t *s = NULL;
			if (++items > DECODE_MAX_SIGNATURES)
				return "more signatures than the decoder's cap (100000)";
			tpa_rd_bytes(&body, ssize, &s);
			fb_sigdata(b, tpa_fb_add(b, sigs, NULL, TPA_FIELD_OBJECT), type, s, ssize);
			if (b->nomem)
				return NULL;
		}
	}
	return NULL;
}

/* EFI_LOAD_OPTION (Boot####). */
static const char *decode_load_option(tpa_fb *b, tpa_field *parent, const uint8_t *p, size_t n)
{
	tpa_rd r;
	uint32_t attr;
	uint16_t fplen;
	const uint8_t *desc, *fp;
	size_t dlen = 0;
	tpa_field *o = tpa_fb_add(b, parent, "load_option", TPA_FIELD_OBJECT);

	tpa_rd_init(&r, p, n);
	if (!tpa_rd_u32le(&r, &attr) || !tpa_rd_u16le(&r, &fplen))
		return "EFI_LOAD_OPTION truncated";
	desc = tpa_rd_ptr(&r);
	for (;; dlen += 2) {
		if (dlen + 2 > tpa_rd_left(&r))
			return "EFI_LOAD_OPTION description not terminated";
		if (desc[dlen] == 0 && desc[dlen + 1] == 0)
			break;
	}
	tpa_rd_skip(&r, dlen + 2);
	if (!tpa_rd_bytes(&r, fplen, &fp))
		return "EFI_LOAD_OPTION file path list runs past the data";
	tpa_fb_uint(b, o, "attributes", attr);
	fb_utf16(b, o, "description", desc, dlen);
	fb_take(b, o, "device_path", tpa_devpath_to_text(fp, fplen));
	if (tpa_rd_left(&r))
		tpa_fb_hex(b, o, "optional_data", tpa_rd_ptr(&r), tpa_rd_left(&r));
	return NULL;
}

static bool name_is(const char *name, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(name, *set) == 0)
			return true;
	return false;
}

/* UEFI_VARIABLE_DATA (PFP 1.05, 10.4.3). */
static const char *decode_variable(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	static const char *const siglist_vars[] = {"PK",         "KEK",        "db",
	                                           "dbx",        "dbt",        "dbr",
	                                           "MokList",    "MokListX",   "MokListTrusted",
	                                           "PKDefault",  "KEKDefault", "dbDefault",
	                                           "dbxDefault", NULL};
	tpa_rd r;
	const uint8_t *guid, *name, *data;
	uint64_t nlen, dlen;
	char *vname;
	const char *why = NULL;

	tpa_rd_init(&r, ev->data, ev->data_len);
	if (!tpa_rd_bytes(&r, 16, &guid) || !tpa_rd_u64le(&r, &nlen) || !tpa_rd_u64le(&r, &dlen))
		return "UEFI_VARIABLE_DATA header truncated";
	if (nlen > tpa_rd_left(&r) / 2 || !tpa_rd_bytes(&r, (size_t)nlen * 2, &name))
		return "UEFI_VARIABLE_DATA name length runs past the data";
	if (dlen > tpa_rd_left(&r) || !tpa_rd_bytes(&r, (size_t)dlen, &data))
		return "UEFI_VARIABLE_DATA data length runs past the data";
	if (tpa_rd_left(&r))
		return "bytes left over after UEFI_VARIABLE_DATA";
	tpa_fb_guid(b, obj, "guid", guid);
	if (!(vname = tpa_utf16_to_utf8(name, (size_t)nlen * 2))) {
		b->nomem = true;
		return NULL;
	}
	/* The field gets a copy: vname is read below whatever happens to it. */
	tpa_fb_str(b, obj, "name", vname);
	tpa_fb_uint(b, obj, "data_length", dlen);
	if (ev->type == TPA_EV_EFI_VARIABLE_AUTHORITY) {
		/* One EFI_SIGNATURE_DATA: the db entry that authorised an image
		 * (PFP 1.05, 10.4.3 and 3.3.4.8); shim logs other shapes too. */
		if (dlen > 16 && strcmp(vname, "db") == 0 && data[16] == 0x30)
			fb_sigdata(b, tpa_fb_add(b, obj, "signature", TPA_FIELD_OBJECT),
			           cert_x509_guid, data, (size_t)dlen);
		else
			tpa_fb_hex(b, obj, "data", data, (size_t)dlen);
	} else if (name_is(vname, siglist_vars)) {
		why = decode_siglists(b, obj, data, (size_t)dlen);
	} else if (strncmp(vname, "Boot", 4) == 0 && strlen(vname) == 8 &&
	           strspn(vname + 4, "0123456789ABCDEF") == 4) {
		why = decode_load_option(b, obj, data, (size_t)dlen);
	} else if (strcmp(vname, "BootOrder") == 0 && dlen % 2 == 0) {
		tpa_field *a = tpa_fb_add(b, obj, "boot_order", TPA_FIELD_ARRAY);
		for (size_t i = 0; i < dlen && i / 2 < DECODE_MAX_ITEMS; i += 2)
			tpa_fb_uint(b, a, NULL, tpa_le16(data + i));
	} else if (dlen == 1) {
		tpa_fb_uint(b, obj, "value", data[0]);
	} else {
		tpa_fb_hex(b, obj, "data", data, (size_t)dlen);
	}
	free(vname);
	return why;
}

/* UEFI_IMAGE_LOAD_EVENT (PFP 1.05, 10.4.4). */
static const char *decode_image(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	tpa_rd r;
	uint64_t loc, len, link, dplen;
	const uint8_t *dp;
	tpa_rd_init(&r, ev->data, ev->data_len);
	if (!tpa_rd_u64le(&r, &loc) || !tpa_rd_u64le(&r, &len) || !tpa_rd_u64le(&r, &link) ||
	    !tpa_rd_u64le(&r, &dplen))
		return "UEFI_IMAGE_LOAD_EVENT truncated";
	if (dplen > tpa_rd_left(&r) || !tpa_rd_bytes(&r, (size_t)dplen, &dp))
		return "device path length runs past the data";
	tpa_fb_uint(b, obj, "image_location", loc);
	tpa_fb_uint(b, obj, "image_length", len);
	tpa_fb_uint(b, obj, "link_time_address", link);
	fb_take(b, obj, "device_path", tpa_devpath_to_text(dp, (size_t)dplen));
	return NULL;
}

/* UEFI_GPT_DATA (PFP 1.05, 10.4.6; UEFI 2.10, 5.3.2-5.3.3). */
static const char *decode_gpt(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	tpa_rd r, hdr;
	uint32_t hsize, esize;
	uint64_t count;
	const uint8_t *sig, *disk;
	tpa_field *parts;

	tpa_rd_init(&r, ev->data, ev->data_len);
	if (ev->data_len < 92)
		return "UEFI_GPT_DATA shorter than a partition table header";
	hsize = tpa_le32(ev->data + 12);
	if (hsize < 92 || !tpa_rd_sub(&r, hsize, &hdr))
		return "GPT header size does not fit the data";
	tpa_rd_bytes(&hdr, 8, &sig);
	if (memcmp(sig, "EFI PART", 8) != 0)
		return "GPT header signature is not \"EFI PART\"";
	esize = tpa_le32(ev->data + 84);
	disk = ev->data + 56;
	if (!tpa_rd_u64le(&r, &count))
		return "UEFI_GPT_DATA partition count truncated";
	if (esize < 128 || count > tpa_rd_left(&r) / esize || count > DECODE_MAX_ITEMS)
		return "partition entries do not fit the data";
	tpa_fb_guid(b, obj, "disk_guid", disk);
	parts = tpa_fb_add(b, obj, "partitions", TPA_FIELD_ARRAY);
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = NULL;
		tpa_field *p;
		tpa_rd_bytes(&r, esize, &e);
		p = tpa_fb_add(b, parts, NULL, TPA_FIELD_OBJECT);
		tpa_fb_guid(b, p, "type_guid", e);
		tpa_fb_guid(b, p, "unique_guid", e + 16);
		tpa_fb_uint(b, p, "first_lba", tpa_le64(e + 32));
		tpa_fb_uint(b, p, "last_lba", tpa_le64(e + 40));
		tpa_fb_uint(b, p, "attributes", tpa_le64(e + 48));
		fb_utf16(b, p, "name", e + 56, 72);
	}
	if (tpa_rd_left(&r))
		return "bytes left over after the partition entries";
	return NULL;
}

/* UEFI_PLATFORM_FIRMWARE_BLOB(2) (PFP 1.05, 10.4.2). */
static const char *decode_blob(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev, bool v2)
{
	tpa_rd r;
	uint64_t base, len;
	tpa_rd_init(&r, ev->data, ev->data_len);
	if (v2) {
		uint8_t dlen;
		const uint8_t *d;
		if (!tpa_rd_u8(&r, &dlen) || !tpa_rd_bytes(&r, dlen, &d))
			return "blob description runs past the data";
		fb_ascii(b, obj, "description", d, dlen);
	}
	if (!tpa_rd_u64le(&r, &base) || !tpa_rd_u64le(&r, &len))
		return "UEFI_PLATFORM_FIRMWARE_BLOB truncated";
	if (tpa_rd_left(&r))
		return "bytes left over after the blob";
	tpa_fb_uint(b, obj, "blob_base", base);
	tpa_fb_uint(b, obj, "blob_length", len);
	return NULL;
}

/* UEFI_HANDOFF_TABLE_POINTERS(2) (PFP 1.05, 10.4.2). */
static const char *decode_handoff(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev, bool v2)
{
	tpa_rd r;
	uint64_t count;
	tpa_field *tables;
	tpa_rd_init(&r, ev->data, ev->data_len);
	if (v2) {
		uint8_t dlen;
		const uint8_t *d;
		if (!tpa_rd_u8(&r, &dlen) || !tpa_rd_bytes(&r, dlen, &d))
			return "table description runs past the data";
		fb_ascii(b, obj, "description", d, dlen);
	}
	if (!tpa_rd_u64le(&r, &count))
		return "table count truncated";
	if (count != tpa_rd_left(&r) / 24 || tpa_rd_left(&r) % 24)
		return "table count does not match the data";
	tables = tpa_fb_add(b, obj, "tables", TPA_FIELD_ARRAY);
	for (uint64_t i = 0; i < count && i < DECODE_MAX_ITEMS; i++) {
		const uint8_t *t = NULL;
		tpa_field *o;
		tpa_rd_bytes(&r, 24, &t);
		o = tpa_fb_add(b, tables, NULL, TPA_FIELD_OBJECT);
		tpa_fb_guid(b, o, "guid", t);
		tpa_fb_uint(b, o, "address", tpa_le64(t + 16));
	}
	return NULL;
}

/* EV_NO_ACTION payloads, told apart by a 16-byte signature (PFP 1.05, 10.4.5). */
static const char *decode_no_action(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	const uint8_t *d = ev->data;
	size_t n = ev->data_len, sl;
	if (n < 16 || !printable_ascii(d, 16))
		return "no_signature";
	for (sl = 0; sl < 16 && d[sl]; sl++)
		;
	fb_ascii(b, obj, "signature", d, sl);
	if (memcmp(d, "StartupLocality", 16) == 0) {
		if (n != 17)
			return "StartupLocality event is not 17 bytes";
		tpa_fb_uint(b, obj, "locality", d[16]);
		return NULL;
	}
	if (n > 16)
		tpa_fb_hex(b, obj, "data", d + 16, n - 16);
	return NULL;
}

static const char *decode_post_code(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	if (ev->data_len == 16)
		return decode_blob(b, obj, ev, false);
	if (printable_ascii(ev->data, ev->data_len)) {
		fb_ascii(b, obj, "string", ev->data, ev->data_len);
		return NULL;
	}
	return "no_decoder";
}

static const char *decode_type(tpa_fb *b, tpa_field *obj, const struct tpa_event *ev)
{
	switch (ev->type) {
	case TPA_EV_NO_ACTION: return decode_no_action(b, obj, ev);
	case TPA_EV_SEPARATOR:
		if (ev->data_len != 4)
			return "separator data is not 4 bytes";
		tpa_fb_uint(b, obj, "value", tpa_le32(ev->data));
		if (tpa_le32(ev->data) == 0xffffffff)
			tpa_fb_str(b, obj, "meaning", "error");
		return NULL;
	case TPA_EV_ACTION:
	case TPA_EV_EFI_ACTION:
	case TPA_EV_OMIT_BOOT_DEVICE_EVENTS:
	case TPA_EV_EFI_HCRTM_EVENT:
		if (!printable_ascii(ev->data, ev->data_len))
			return "no_decoder";
		fb_ascii(b, obj, "string", ev->data, ev->data_len);
		return NULL;
	case TPA_EV_IPL:
	case TPA_EV_S_CRTM_VERSION:
	case TPA_EV_COMPACT_HASH:
		if (!printable_ascii(ev->data, ev->data_len) &&
		    !looks_utf16(ev->data, ev->data_len))
			return "no_decoder";
		fb_text(b, obj, "string", ev->data, ev->data_len);
		return NULL;
	case TPA_EV_POST_CODE:
	case TPA_EV_POST_CODE2:
	case TPA_EV_S_CRTM_CONTENTS: return decode_post_code(b, obj, ev);
	case TPA_EV_EVENT_TAG: {
		tpa_rd r;
		uint32_t id, sz;
		const uint8_t *d;
		tpa_rd_init(&r, ev->data, ev->data_len);
		if (!tpa_rd_u32le(&r, &id) || !tpa_rd_u32le(&r, &sz) || !tpa_rd_bytes(&r, sz, &d) ||
		    tpa_rd_left(&r))
			return "TCG_PCClientTaggedEvent size does not match the data";
		tpa_fb_uint(b, obj, "tagged_event_id", id);
		tpa_fb_hex(b, obj, "tagged_event_data", d, sz);
		return NULL;
	}
	case TPA_EV_EFI_VARIABLE_DRIVER_CONFIG:
	case TPA_EV_EFI_VARIABLE_BOOT:
	case TPA_EV_EFI_VARIABLE_BOOT2:
	case TPA_EV_EFI_VARIABLE_AUTHORITY: return decode_variable(b, obj, ev);
	case TPA_EV_EFI_BOOT_SERVICES_APPLICATION:
	case TPA_EV_EFI_BOOT_SERVICES_DRIVER:
	case TPA_EV_EFI_RUNTIME_SERVICES_DRIVER: return decode_image(b, obj, ev);
	case TPA_EV_EFI_GPT_EVENT:
	case TPA_EV_EFI_GPT_EVENT2: return decode_gpt(b, obj, ev);
	case TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB: return decode_blob(b, obj, ev, false);
	case TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2: return decode_blob(b, obj, ev, true);
	case TPA_EV_EFI_HANDOFF_TABLES: return decode_handoff(b, obj, ev, false);
	case TPA_EV_EFI_HANDOFF_TABLES2: return decode_handoff(b, obj, ev, true);
	default: return "no_decoder";
	}
}

int tpa_event_decode(const tpa_event *ev, tpa_field **out)
{
	return tpa_event_decode_ex(ev, 0, out);
}

int tpa_event_decode_ex(const tpa_event *ev, unsigned flags, tpa_field **out)
{
	tpa_fb b = {.flags = flags};
	tpa_field *obj;
	const char *why;

	if (!ev || !out)
		return TPA_E_INVALID_ARG;
	if (!(obj = tpa_fb_add(&b, NULL, NULL, TPA_FIELD_OBJECT)))
		return TPA_E_NOMEM;
	why = decode_type(&b, obj, ev);
	if (why && !b.nomem) {
		/* Start again from nothing so no half-decoded field is left. */
		tpa_fields_free(&obj->child);
		obj->last_ = NULL;
		if (strcmp(why, "no_decoder") != 0 && strcmp(why, "no_signature") != 0)
			tpa_fb_str(&b, obj, "decode_error", why);
		tpa_fb_hex(&b, obj, "raw", ev->data, ev->data_len);
	}
	if (b.nomem) {
		tpa_fields_free(&obj);
		return TPA_E_NOMEM;
	}
	*out = obj;
	return TPA_OK;
}

const char *tpa_event_type_name(uint32_t type)
{
	static const struct {
		uint32_t type;
		const char *name;
	} names[] = {
	        {TPA_EV_PREBOOT_CERT, "EV_PREBOOT_CERT"},
	        {TPA_EV_POST_CODE, "EV_POST_CODE"},
	        {TPA_EV_UNUSED, "EV_UNUSED"},
	        {TPA_EV_NO_ACTION, "EV_NO_ACTION"},
	        {TPA_EV_SEPARATOR, "EV_SEPARATOR"},
	        {TPA_EV_ACTION, "EV_ACTION"},
	        {TPA_EV_EVENT_TAG, "EV_EVENT_TAG"},
	        {TPA_EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS"},
	        {TPA_EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION"},
	        {TPA_EV_CPU_MICROCODE, "EV_CPU_MICROCODE"},
	        {TPA_EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS"},
	        {TPA_EV_TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES"},
	        {TPA_EV_COMPACT_HASH, "EV_COMPACT_HASH"},
	        {TPA_EV_IPL, "EV_IPL"},
	        {TPA_EV_IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA"},
	        {TPA_EV_NONHOST_CODE, "EV_NONHOST_CODE"},
	        {TPA_EV_NONHOST_CONFIG, "EV_NONHOST_CONFIG"},
	        {TPA_EV_NONHOST_INFO, "EV_NONHOST_INFO"},
	        {TPA_EV_OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS"},
	        {TPA_EV_POST_CODE2, "EV_POST_CODE2"},
	        {TPA_EV_EFI_EVENT_BASE, "EV_EFI_EVENT_BASE"},
	        {TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
	        {TPA_EV_EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT"},
	        {TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION"},
	        {TPA_EV_EFI_BOOT_SERVICES_DRIVER, "EV_EFI_BOOT_SERVICES_DRIVER"},
	        {TPA_EV_EFI_RUNTIME_SERVICES_DRIVER, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
	        {TPA_EV_EFI_GPT_EVENT, "EV_EFI_GPT_EVENT"},
	        {TPA_EV_EFI_ACTION, "EV_EFI_ACTION"},
	        {TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
	        {TPA_EV_EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES"},
	        {TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
	        {TPA_EV_EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2"},
	        {TPA_EV_EFI_VARIABLE_BOOT2, "EV_EFI_VARIABLE_BOOT2"},
	        {TPA_EV_EFI_GPT_EVENT2, "EV_EFI_GPT_EVENT2"},
	        {TPA_EV_EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT"},
	        {TPA_EV_EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY"},
	        {TPA_EV_EFI_SPDM_FIRMWARE_BLOB, "EV_EFI_SPDM_FIRMWARE_BLOB"},
	        {TPA_EV_EFI_SPDM_FIRMWARE_CONFIG, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	return NULL;
}
