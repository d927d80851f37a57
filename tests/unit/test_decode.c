/* SPDX-License-Identifier: BSD-2-Clause */
/* Decoders of event data (tpa_event_decode), one event type at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "logbuild.h"

/* A parsed one-event log and the event's decoded fields. */
typedef struct one {
	lb *b;
	tpa_eventlog *log;
	tpa_field *f;
} one;

/* No control character and no DEL anywhere in the tree's strings. */
static void assert_clean(const tpa_field *f)
{
	for (; f; f = f->next) {
		if (f->kind == TPA_FIELD_STRING) {
			assert_non_null(f->str);
			for (const char *s = f->str; *s; s++)
				assert_false((unsigned char)*s < 0x20 || *s == 0x7f);
		}
		assert_clean(f->child);
	}
}

static void decode(one *o, uint32_t type, const void *data, size_t len)
{
	tpa_parse_error err;
	o->b = lb_new();
	lb_specid_default(o->b);
	lb_ev2(o->b, 1, type, data, (uint32_t)len);
	assert_int_equal(tpa_eventlog_parse(o->b->buf, o->b->len, &o->log, &err), TPA_OK);
	assert_int_equal(tpa_eventlog_count(o->log), 1);
	o->f = NULL;
	assert_int_equal(tpa_event_decode(tpa_eventlog_get(o->log, 0), &o->f), TPA_OK);
	assert_non_null(o->f);
	assert_int_equal(o->f->kind, TPA_FIELD_OBJECT);
	assert_clean(o->f);
}

static void done(one *o)
{
	tpa_fields_free(&o->f);
	assert_null(o->f);
	tpa_eventlog_free(&o->log);
	free(o->b);
}

static const tpa_field *get(const tpa_field *obj, const char *name, tpa_field_kind kind)
{
	const tpa_field *f = tpa_field_get(obj, name);
	if (!f)
		print_error("no field \"%s\"\n", name);
	assert_non_null(f);
	assert_int_equal(f->kind, kind);
	return f;
}

static void assert_str(const tpa_field *obj, const char *name, const char *want)
{
	const tpa_field *f = get(obj, name, TPA_FIELD_STRING);
	assert_string_equal(f->str, want);
}

static void assert_uint(const tpa_field *obj, const char *name, uint64_t want)
{
	const tpa_field *f = get(obj, name, TPA_FIELD_UINT);
	assert_true(f->u == want);
}

static void assert_hex(const tpa_field *obj, const char *name, const void *want, size_t n)
{
	const tpa_field *f = get(obj, name, TPA_FIELD_HEX);
	assert_int_equal(f->len, n);
	assert_memory_equal(f->bytes, want, n);
}

static void assert_guid(const tpa_field *obj, const char *name, const char *want)
{
	const tpa_field *f = get(obj, name, TPA_FIELD_GUID);
	char s[37];
	assert_int_equal(f->len, 16);
	tpa_guid_to_string(f->bytes, s);
	assert_string_equal(s, want);
}

static size_t nchildren(const tpa_field *f)
{
	size_t n = 0;
	for (const tpa_field *c = f->child; c; c = c->next)
		n++;
	return n;
}

static const tpa_field *nth(const tpa_field *arr, size_t i)
{
	const tpa_field *c = arr->child;
	while (c && i--)
		c = c->next;
	assert_non_null(c);
	return c;
}

/* Only "raw" (and "decode_error" when error is non-NULL). */
static void assert_raw(const one *o, const void *data, size_t len, const char *error)
{
	assert_int_equal(nchildren(o->f), error ? 2 : 1);
	if (error)
		assert_str(o->f, "decode_error", error);
	else
		assert_null(tpa_field_get(o->f, "decode_error"));
	assert_hex(o->f, "raw", data, len);
}

static size_t utf16(uint8_t *out, const char *s, int nul)
{
	size_t n = 0;
	for (; *s; s++) {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	}
	if (nul) {
		out[n++] = 0;
		out[n++] = 0;
	}
	return n;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- EV_NO_ACTION ---- */

static void test_no_action(void **state)
{
	static const uint8_t loc[17] = "StartupLocality\0\3";
	static const uint8_t sp[20] = "SP800-155 Event\0\x01\x02\x03\x04";
	static const uint8_t bin[18] = {0x01, 0x02, 0xff};
	one o;
	(void)state;

	decode(&o, TPA_EV_NO_ACTION, loc, sizeof(loc));
	assert_str(o.f, "signature", "StartupLocality");
	assert_uint(o.f, "locality", 3);
	done(&o);

	decode(&o, TPA_EV_NO_ACTION, sp, sizeof(sp));
	assert_int_equal(nchildren(o.f), 2);
	assert_str(o.f, "signature", "SP800-155 Event");
	assert_hex(o.f, "data", sp + 16, 4);
	done(&o);

	/* a StartupLocality of the wrong length is an error of that decoder */
	decode(&o, TPA_EV_NO_ACTION, loc, 16);
	assert_raw(&o, loc, 16, "StartupLocality event is not 17 bytes");
	done(&o);

	/* a TPM 1.2 "Spec ID Event00" in a SHA-1 format log: its signature and
	 * the rest as data */
	{
		static const uint8_t spec00[24] = "Spec ID Event00\0\x01\x00\x00\x00\x02\x01\x02";
		lb *b = lb_new();
		tpa_eventlog *log = NULL;
		tpa_field *f = NULL;
		lb_ev1(b, 0, TPA_EV_NO_ACTION, NULL, spec00, sizeof(spec00));
		assert_int_equal(tpa_eventlog_parse(b->buf, b->len, &log, NULL), TPA_OK);
		assert_int_equal(tpa_eventlog_get_format(log), TPA_EVENTLOG_SHA1);
		assert_int_equal(tpa_event_decode(tpa_eventlog_get(log, 0), &f), TPA_OK);
		assert_str(f, "signature", "Spec ID Event00");
		assert_hex(f, "data", spec00 + 16, 8);
		tpa_fields_free(&f);
		tpa_eventlog_free(&log);
		free(b);
	}

	/* no signature: raw only, not an error */
	decode(&o, TPA_EV_NO_ACTION, bin, sizeof(bin));
	assert_raw(&o, bin, sizeof(bin), NULL);
	done(&o);
}

/* ---- simple types ---- */

static void test_separator(void **state)
{
	static const uint8_t z[4] = {0}, ff[4] = {0xff, 0xff, 0xff, 0xff}, three[3] = {0};
	one o;
	(void)state;
	decode(&o, TPA_EV_SEPARATOR, z, 4);
	assert_int_equal(nchildren(o.f), 1);
	assert_uint(o.f, "value", 0);
	done(&o);
	decode(&o, TPA_EV_SEPARATOR, ff, 4);
	assert_uint(o.f, "value", 0xffffffffu);
	assert_str(o.f, "meaning", "error");
	done(&o);
	decode(&o, TPA_EV_SEPARATOR, three, 3);
	assert_raw(&o, three, 3, "separator data is not 4 bytes");
	done(&o);
}

static void test_crtm_version(void **state)
{
	uint8_t u[32];
	size_t n = utf16(u, "1.0.2", 1);
	one o;
	(void)state;
	decode(&o, TPA_EV_S_CRTM_VERSION, u, n);
	assert_str(o.f, "string", "1.0.2");
	done(&o);
	/* ASCII versions exist too */
	decode(&o, TPA_EV_S_CRTM_VERSION, "GCE Virtual Firmware v1", 23);
	assert_str(o.f, "string", "GCE Virtual Firmware v1");
	done(&o);
}

static void test_post_code(void **state)
{
	uint8_t blob[16];
	one o;
	(void)state;
	put_le(blob, 0xffd00000u, 8);
	put_le(blob + 8, 0x300000u, 8);
	decode(&o, TPA_EV_POST_CODE, blob, 16);
	assert_int_equal(nchildren(o.f), 2);
	assert_uint(o.f, "blob_base", 0xffd00000u);
	assert_uint(o.f, "blob_length", 0x300000u);
	done(&o);
	decode(&o, TPA_EV_POST_CODE, "ACPI DATA", 9);
	assert_str(o.f, "string", "ACPI DATA");
	done(&o);
	/* 7 binary bytes: no decoder, raw */
	decode(&o, TPA_EV_POST_CODE, "\x01\x02\x03\x04\x05\x06\x07", 7);
	assert_raw(&o, "\x01\x02\x03\x04\x05\x06\x07", 7, NULL);
	done(&o);
}

static void test_strings(void **state)
{
	static const char ebs[] = "Exit Boot Services Invocation";
	static const char ipl[] = "grub_cmd: linux /vmlinuz root=/dev/sda1"; /* with NUL */
	one o;
	(void)state;
	decode(&o, TPA_EV_EFI_ACTION, ebs, sizeof(ebs) - 1);
	assert_str(o.f, "string", ebs);
	done(&o);
	decode(&o, TPA_EV_IPL, ipl, sizeof(ipl));
	assert_str(o.f, "string", ipl);
	done(&o);
	decode(&o, TPA_EV_EFI_HCRTM_EVENT, "HCRTM", 5);
	assert_str(o.f, "string", "HCRTM");
	done(&o);
	decode(&o, TPA_EV_OMIT_BOOT_DEVICE_EVENTS, "BOOT ATTEMPTS OMITTED", 21);
	assert_str(o.f, "string", "BOOT ATTEMPTS OMITTED");
	done(&o);
	decode(&o, TPA_EV_COMPACT_HASH, "compact", 7);
	assert_str(o.f, "string", "compact");
	done(&o);
	decode(&o, TPA_EV_ACTION, "Calling INT 19h", 15);
	assert_str(o.f, "string", "Calling INT 19h");
	done(&o);
}

static void test_event_tag(void **state)
{
	uint8_t d[8 + 5];
	one o;
	(void)state;
	put_le(d, 0x1234, 4);
	put_le(d + 4, 5, 4);
	memcpy(d + 8, "\x01\x02\x03\x04\x05", 5);
	decode(&o, TPA_EV_EVENT_TAG, d, sizeof(d));
	assert_uint(o.f, "tagged_event_id", 0x1234);
	assert_hex(o.f, "tagged_event_data", d + 8, 5);
	done(&o);
	/* the tagged size lies */
	put_le(d + 4, 6, 4);
	decode(&o, TPA_EV_EVENT_TAG, d, sizeof(d));
	assert_raw(&o, d, sizeof(d), "TCG_PCClientTaggedEvent size does not match the data");
	done(&o);
}

/* ---- UEFI variables ---- */

static void test_var_secureboot(void **state)
{
	uint8_t v[64];
	const uint8_t one_ = 1;
	size_t n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "SecureBoot", &one_, 1);
	one o;
	(void)state;
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_guid(o.f, "guid", "8be4df61-93ca-11d2-aa0d-00e098032b8c");
	assert_str(o.f, "name", "SecureBoot");
	assert_uint(o.f, "data_length", 1);
	assert_uint(o.f, "value", 1);
	done(&o);
	/* the data length runs past the event */
	v[24] = 2;
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_raw(&o, v, n, "UEFI_VARIABLE_DATA data length runs past the data");
	done(&o);
	/* name length 2^63: must not overflow */
	v[24] = 1;
	put_le(v + 16, 0x8000000000000000ull, 8);
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_raw(&o, v, n, "UEFI_VARIABLE_DATA name length runs past the data");
	done(&o);
}

/* A small self-signed certificate, made here. */
static size_t make_cert(uint8_t **der)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	int n;
	assert_non_null(k);
	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_true(X509_set_pubkey(x, k));
	nm = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	                                       (const unsigned char *)"tpmattest db", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, nm));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509(x, der);
	assert_true(n > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)n;
}

/* EFI_CERT_X509_GUID and EFI_CERT_SHA256_GUID (UEFI 2.10, 32.4.1). */
static const uint8_t cert_x509[16] = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                      0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
static const uint8_t cert_sha256[16] = {0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                        0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28};
static const uint8_t owner[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};
#define OWNER_TEXT "44332211-6655-8877-99aa-bbccddeeff00"

static size_t siglist(uint8_t *p, const uint8_t type[16], size_t nsig, size_t sigsize,
                      const uint8_t *const *sigs)
{
	size_t o = 0;
	memcpy(p, type, 16);
	put_le(p + 16, 28 + nsig * (16 + sigsize), 4);
	put_le(p + 20, 0, 4);
	put_le(p + 24, 16 + sigsize, 4);
	o = 28;
	for (size_t i = 0; i < nsig; i++) {
		memcpy(p + o, owner, 16);
		memcpy(p + o + 16, sigs[i], sigsize);
		o += 16 + sigsize;
	}
	return o;
}

static void test_var_db(void **state)
{
	uint8_t *der, fp[32], h1[32], h2[32], lists[4096], v[4200];
	size_t dn = make_cert(&der), n, ln;
	const uint8_t *one_sig[1] = {der};
	const uint8_t *two[2] = {h1, h2};
	const tpa_field *l, *sigs, *s;
	one o;
	(void)state;

	assert_true(dn < 1000);
	lb_hash(TPA_ALG_SHA256, der, dn, fp);
	memset(h1, 0xa1, 32);
	memset(h2, 0xb2, 32);
	ln = siglist(lists, cert_x509, 1, dn, one_sig);
	ln += siglist(lists + ln, cert_sha256, 2, 32, two);
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "db", lists, ln);
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_guid(o.f, "guid", "d719b2cb-3d3a-4596-a3bc-dad00e67656f");
	assert_str(o.f, "name", "db");
	l = get(o.f, "signature_lists", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(l), 2);

	assert_str(nth(l, 0), "type", "x509");
	sigs = get(nth(l, 0), "signatures", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(sigs), 1);
	s = nth(sigs, 0);
	assert_guid(s, "owner", OWNER_TEXT);
	assert_hex(s, "sha256", fp, 32);
	assert_str(s, "subject", "/CN=tpmattest db");
	assert_str(s, "issuer", "/CN=tpmattest db");

	assert_str(nth(l, 1), "type", "sha256");
	sigs = get(nth(l, 1), "signatures", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(sigs), 2);
	assert_guid(nth(sigs, 1), "owner", OWNER_TEXT);
	assert_hex(nth(sigs, 0), "sha256", h1, 32);
	assert_hex(nth(sigs, 1), "sha256", h2, 32);
	done(&o);

	/* a list whose size runs past the variable */
	put_le(lists + 16, 28 + 16 + dn + 1, 4);
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "db", lists, ln);
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_null(tpa_field_get(o.f, "signature_lists"));
	assert_str(o.f, "decode_error",
	           "EFI_SIGNATURE_LIST signature size does not divide the list");
	assert_hex(o.f, "raw", v, n);
	done(&o);

	/* signature size 0 must not divide by zero */
	ln = siglist(lists, cert_sha256, 1, 32, two);
	put_le(lists + 24, 0, 4);
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "dbx", lists, ln);
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_str(o.f, "decode_error",
	           "EFI_SIGNATURE_LIST signature size does not divide the list");
	done(&o);

	/* EV_EFI_VARIABLE_AUTHORITY: one EFI_SIGNATURE_DATA from db */
	memcpy(lists, owner, 16);
	memcpy(lists + 16, der, dn);
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "db", lists, 16 + dn);
	decode(&o, TPA_EV_EFI_VARIABLE_AUTHORITY, v, n);
	assert_str(o.f, "name", "db");
	s = get(o.f, "signature", TPA_FIELD_OBJECT);
	assert_guid(s, "owner", OWNER_TEXT);
	assert_hex(s, "sha256", fp, 32);
	assert_str(s, "subject", "/CN=tpmattest db");
	done(&o);
	OPENSSL_free(der);
}

/* Device path nodes (UEFI 2.10, 10.3). */
static size_t devpath(uint8_t *p)
{
	size_t o = 0;
	uint8_t path[64];
	size_t pn = utf16(path, "\\EFI\\BOOT\\BOOTX64.EFI", 1);
	/* ACPI PNP0A03 UID 0 */
	memcpy(p + o, "\x02\x01\x0c\x00", 4);
	put_le(p + o + 4, 0x0a0341d0, 4);
	put_le(p + o + 8, 0, 4);
	o += 12;
	/* PCI function 0, device 3 */
	memcpy(p + o, "\x01\x01\x06\x00\x00\x03", 6);
	o += 6;
	/* HD: partition 1, start 0x800, size 0x100000, GPT signature */
	memcpy(p + o, "\x04\x01\x2a\x00", 4);
	put_le(p + o + 4, 1, 4);
	put_le(p + o + 8, 0x800, 8);
	put_le(p + o + 16, 0x100000, 8);
	memcpy(p + o + 24, owner, 16);
	p[o + 40] = 2;
	p[o + 41] = 2;
	o += 42;
	/* file path */
	p[o] = 4;
	p[o + 1] = 4;
	put_le(p + o + 2, 4 + pn, 2);
	memcpy(p + o + 4, path, pn);
	o += 4 + pn;
	memcpy(p + o, "\x7f\xff\x04\x00", 4);
	return o + 4;
}

#define DEVPATH_PREFIX "PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT," OWNER_TEXT ",0x800,0x100000)/"
#define DEVPATH_TEXT DEVPATH_PREFIX "\\EFI\\BOOT\\BOOTX64.EFI"

/*
 * The device path text up to the file node, and the file node's name
 * without its backslashes.  The exact text (UEFI 2.10, 10.6: a file path
 * node is its path name as is) is asserted in test_devpath_file_text, which
 * is left out of the suite: the library writes each backslash twice.
 */
static void assert_devpath(const tpa_field *obj)
{
	const tpa_field *f = get(obj, "device_path", TPA_FIELD_STRING);
	const char *s = f->str;
	char rest[64];
	size_t k = 0;
	assert_int_equal(strncmp(s, DEVPATH_PREFIX, strlen(DEVPATH_PREFIX)), 0);
	for (s += strlen(DEVPATH_PREFIX); *s && k < sizeof(rest) - 1; s++)
		if (*s != '\\')
			rest[k++] = *s;
	rest[k] = '\0';
	assert_string_equal(rest, "EFIBOOTBOOTX64.EFI");
}

static void test_var_boot_option(void **state)
{
	uint8_t opt[256], v[512], dp[128];
	size_t n, o = 0, dpn = devpath(dp);
	const tpa_field *lo;
	one ev;
	(void)state;

	put_le(opt, 1, 4);
	put_le(opt + 4, dpn, 2);
	o = 6 + utf16(opt + 6, "Linux Boot Manager", 1);
	memcpy(opt + o, dp, dpn);
	o += dpn;
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001", opt, o);
	decode(&ev, TPA_EV_EFI_VARIABLE_BOOT, v, n);
	assert_str(ev.f, "name", "Boot0001");
	lo = get(ev.f, "load_option", TPA_FIELD_OBJECT);
	assert_uint(lo, "attributes", 1);
	assert_str(lo, "description", "Linux Boot Manager");
	assert_devpath(lo);
	assert_null(tpa_field_get(lo, "optional_data"));
	done(&ev);

	/* BootOrder */
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "BootOrder", "\x01\x00\x00\x00\x02\x00",
	               6);
	decode(&ev, TPA_EV_EFI_VARIABLE_BOOT, v, n);
	lo = get(ev.f, "boot_order", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(lo), 3);
	assert_true(nth(lo, 0)->u == 1 && nth(lo, 1)->u == 0 && nth(lo, 2)->u == 2);
	done(&ev);

	/* the file path list length runs past the option */
	put_le(opt + 4, dpn + 1, 2);
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001", opt, o);
	decode(&ev, TPA_EV_EFI_VARIABLE_BOOT, v, n);
	assert_raw(&ev, v, n, "EFI_LOAD_OPTION file path list runs past the data");
	done(&ev);
}

static void test_image_load(void **state)
{
	uint8_t d[256], dp[128];
	size_t dpn = devpath(dp);
	one o;
	(void)state;
	put_le(d, 0x7e5c4018, 8);
	put_le(d + 8, 0x15e668, 8);
	put_le(d + 16, 0, 8);
	put_le(d + 24, dpn, 8);
	memcpy(d + 32, dp, dpn);
	decode(&o, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, d, 32 + dpn);
	assert_uint(o.f, "image_location", 0x7e5c4018);
	assert_uint(o.f, "image_length", 0x15e668);
	assert_uint(o.f, "link_time_address", 0);
	assert_devpath(o.f);
	done(&o);
	/* a truncated device path: decoded as far as it goes */
	put_le(d + 24, dpn - 8, 8);
	decode(&o, TPA_EV_EFI_BOOT_SERVICES_DRIVER, d, 32 + dpn - 8);
	assert_str(o.f, "device_path",
	           "PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT," OWNER_TEXT ",0x800,0x100000)/<malformed>");
	done(&o);
	/* the device path length runs past the data */
	put_le(d + 24, 0xffffffffffffffffull, 8);
	decode(&o, TPA_EV_EFI_RUNTIME_SERVICES_DRIVER, d, 32 + dpn);
	assert_raw(&o, d, 32 + dpn, "device path length runs past the data");
	done(&o);
	/* too short for the fixed fields */
	decode(&o, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, d, 10);
	assert_raw(&o, d, 10, "UEFI_IMAGE_LOAD_EVENT truncated");
	done(&o);
}

/* UEFI paths keep their backslashes: "\EFI\BOOT\BOOTX64.EFI" reads as written. */
static void test_devpath_file_text(void **state)
{
	uint8_t d[256], dp[128];
	size_t dpn = devpath(dp);
	one o;
	(void)state;
	put_le(d, 0x7e5c4018, 8);
	put_le(d + 8, 0x15e668, 8);
	put_le(d + 16, 0, 8);
	put_le(d + 24, dpn, 8);
	memcpy(d + 32, dp, dpn);
	decode(&o, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, d, 32 + dpn);
	assert_str(o.f, "device_path", DEVPATH_TEXT);
	done(&o);
}

/* The device path text of an image load event whose path is `dp`. */
static void assert_devpath_text(const uint8_t *dp, size_t n, const char *want)
{
	uint8_t d[512];
	one o;
	assert_true(n <= sizeof(d) - 32);
	memset(d, 0, 32);
	put_le(d + 24, n, 8);
	memcpy(d + 32, dp, n);
	decode(&o, TPA_EV_EFI_BOOT_SERVICES_DRIVER, d, 32 + n);
	assert_str(o.f, "device_path", want);
	done(&o);
}

/* Device path nodes (UEFI 2.10, 10.3), one at a time, then as a list. */
static void test_devpath_nodes(void **state)
{
	static const struct {
		const char *node; /* type, subtype, length, data */
		size_t len;
		const char *text;
	} nodes[] = {
	        {"\x01\x01\x06\x00\x02\x1f", 6, "Pci(0x1f,0x2)"},
	        {"\x02\x01\x0c\x00\xd0\x41\x08\x0a\x01\x00\x00\x00", 12, "PcieRoot(0x1)"},
	        {"\x02\x01\x0c\x00\x01\x02\x03\x04\x05\x00\x00\x00", 12, "Acpi(0x04030201,0x5)"},
	        {"\x03\x02\x08\x00\x01\x00\x02\x00", 8, "Scsi(0x1,0x2)"},
	        {"\x03\x05\x06\x00\x03\x00", 6, "USB(0x3,0x0)"},
	        {"\x03\x12\x0a\x00\x01\x00\xff\xff\x00\x00", 10, "Sata(0x1,0xffff,0x0)"},
	        {"\x03\x17\x10\x00\x01\x00\x00\x00\x00\x11\x22\x33\x44\x55\x66\x77", 16,
	         "NVMe(0x1,00-11-22-33-44-55-66-77)"},
	        {"\x04\x01\x2a\x00\x02\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
	         "\x00\x00\x10\x00\x00\x00\x00\x00\x78\x56\x34\x12\x00\x00\x00\x00"
	         "\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01",
	         42, "HD(2,MBR,0x12345678,0x800,0x100000)"},
	        {"\x04\x02\x18\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"
	         "\x20\x00\x00\x00\x00\x00\x00\x00",
	         24, "CDROM(0x1,0x10,0x20)"},
	        {"\x04\x06\x14\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00",
	         20, "FvFile(" OWNER_TEXT ")"},
	        {"\x04\x07\x14\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00",
	         20, "Fv(" OWNER_TEXT ")"},
	        {"\x04\x08\x18\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00"
	         "\xff\x1f\x00\x00\x00\x00\x00\x00",
	         24, "Offset(0x1000,0x1fff)"},
	        {"\x01\x04\x16\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00"
	         "\xab\xcd",
	         22, "VenHw(" OWNER_TEXT ",abcd)"},
	        {"\x05\x01\x06\x00\xca\xfe", 6, "Path(5,1,cafe)"},
	        /* a node too short for its type */
	        {"\x01\x01\x05\x00\x02", 5, "<malformed>"},
	        /* a node length below the 4-byte header */
	        {"\x01\x01\x03\x00", 4, "<malformed>"},
	        /* a node length one past its bytes: it takes the end node's first
	         * byte, and what is left of that is not a node */
	        {"\x01\x01\x07\x00\x02\x1f", 6, "Pci(0x1f,0x2)/<malformed>"},
	};
	uint8_t dp[512];
	size_t n = 0;
	char want[1024] = "";
	(void)state;

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		memcpy(dp, nodes[i].node, nodes[i].len);
		memcpy(dp + nodes[i].len, "\x7f\xff\x04\x00", 4);
		assert_devpath_text(dp, nodes[i].len + 4, nodes[i].text);
	}
	/* the well-formed ones in one path: joined by '/' */
	for (size_t i = 0; i < 14; i++) {
		memcpy(dp + n, nodes[i].node, nodes[i].len);
		n += nodes[i].len;
		strcat(want, i ? "/" : "");
		strcat(want, nodes[i].text);
	}
	memcpy(dp + n, "\x7f\xff\x04\x00", 4);
	assert_devpath_text(dp, n + 4, want);
	/* two instances, split by an end-of-instance node */
	memcpy(dp, nodes[0].node, 6);
	memcpy(dp + 6, "\x7f\x01\x04\x00", 4);
	memcpy(dp + 10, nodes[4].node, 6);
	memcpy(dp + 16, "\x7f\xff\x04\x00", 4);
	assert_devpath_text(dp, 20, "Pci(0x1f,0x2),USB(0x3,0x0)");
	/* nothing after the end node is read */
	memcpy(dp, "\x7f\xff\x04\x00\x01\x01\x06\x00\x02\x1f", 10);
	assert_devpath_text(dp, 10, "");
	/* a file path with a control character */
	n = utf16(dp + 4, "EFI/x\ny.efi", 1);
	memcpy(dp, "\x04\x04", 2);
	put_le(dp + 2, 4 + n, 2);
	assert_devpath_text(dp, 4 + n, "EFI/x\\x0ay.efi");
}

static void test_gpt(void **state)
{
	uint8_t d[92 + 8 + 2 * 128] = {0};
	const tpa_field *parts, *p;
	one o;
	(void)state;
	memcpy(d, "EFI PART", 8);
	put_le(d + 8, 0x10000, 4);
	put_le(d + 12, 92, 4);
	memcpy(d + 56, owner, 16);
	put_le(d + 80, 128, 4);
	put_le(d + 84, 128, 4);
	put_le(d + 92, 2, 8);
	for (int i = 0; i < 2; i++) {
		uint8_t *e = d + 100 + 128 * i;
		memcpy(e, cert_sha256, 16);
		memcpy(e + 16, owner, 16);
		e[16] = (uint8_t)i;
		put_le(e + 32, 2048 + 100 * (uint64_t)i, 8);
		put_le(e + 40, 2047 + 100 * (uint64_t)(i + 1), 8);
		put_le(e + 48, 1ull << 63, 8);
		utf16(e + 56, i ? "root" : "EFI System Partition", 0);
	}
	decode(&o, TPA_EV_EFI_GPT_EVENT, d, sizeof(d));
	assert_guid(o.f, "disk_guid", OWNER_TEXT);
	parts = get(o.f, "partitions", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(parts), 2);
	p = nth(parts, 1);
	assert_guid(p, "type_guid", "c1c41626-504c-4092-aca9-41f936934328");
	assert_guid(p, "unique_guid", "44332201-6655-8877-99aa-bbccddeeff00");
	assert_uint(p, "first_lba", 2148);
	assert_uint(p, "last_lba", 2247);
	assert_uint(p, "attributes", 1ull << 63);
	assert_str(p, "name", "root");
	assert_str(nth(parts, 0), "name", "EFI System Partition");
	done(&o);
	/* one partition more than the data holds */
	put_le(d + 92, 3, 8);
	decode(&o, TPA_EV_EFI_GPT_EVENT, d, sizeof(d));
	assert_raw(&o, d, sizeof(d), "partition entries do not fit the data");
	done(&o);
	/* a bad signature */
	put_le(d + 92, 2, 8);
	d[0] = 'X';
	decode(&o, TPA_EV_EFI_GPT_EVENT, d, sizeof(d));
	assert_raw(&o, d, sizeof(d), "GPT header signature is not \"EFI PART\"");
	done(&o);
}

static void test_blobs(void **state)
{
	uint8_t d[64];
	one o;
	(void)state;
	put_le(d, 0x820000, 8);
	put_le(d + 8, 0xe0000, 8);
	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, d, 16);
	assert_uint(o.f, "blob_base", 0x820000);
	assert_uint(o.f, "blob_length", 0xe0000);
	done(&o);
	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, d, 17);
	assert_raw(&o, d, 17, "bytes left over after the blob");
	done(&o);

	d[0] = 8;
	memcpy(d + 1, "Fv(1234)", 8);
	put_le(d + 9, 0xffc00000u, 8);
	put_le(d + 17, 0x400000, 8);
	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, d, 25);
	assert_str(o.f, "description", "Fv(1234)");
	assert_uint(o.f, "blob_base", 0xffc00000u);
	assert_uint(o.f, "blob_length", 0x400000);
	done(&o);
	d[0] = 30; /* description runs past the data */
	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, d, 25);
	assert_raw(&o, d, 25, "blob description runs past the data");
	done(&o);
}

static void test_handoff(void **state)
{
	uint8_t d[64];
	const tpa_field *t;
	one o;
	(void)state;
	put_le(d, 1, 8);
	memcpy(d + 8, owner, 16);
	put_le(d + 24, 0x7fb7e000, 8);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES, d, 32);
	t = get(o.f, "tables", TPA_FIELD_ARRAY);
	assert_int_equal(nchildren(t), 1);
	assert_guid(nth(t, 0), "guid", OWNER_TEXT);
	assert_uint(nth(t, 0), "address", 0x7fb7e000);
	done(&o);
	put_le(d, 2, 8);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES, d, 32);
	assert_raw(&o, d, 32, "table count does not match the data");
	done(&o);

	d[0] = 9;
	memcpy(d + 1, "SMBIOS30", 9); /* with its NUL */
	put_le(d + 10, 1, 8);
	memcpy(d + 18, owner, 16);
	put_le(d + 34, 0x1234, 8);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES2, d, 42);
	assert_str(o.f, "description", "SMBIOS30");
	t = get(o.f, "tables", TPA_FIELD_ARRAY);
	assert_uint(nth(t, 0), "address", 0x1234);
	done(&o);
}

/* ---- fall-backs ---- */

static void test_unknown_type(void **state)
{
	one o;
	(void)state;
	decode(&o, 0x12345, "anything", 8);
	assert_raw(&o, "anything", 8, NULL);
	assert_string_equal(nth(o.f, 0)->name, "raw");
	done(&o);
	/* an empty event */
	decode(&o, TPA_EV_EFI_SPDM_FIRMWARE_BLOB, "", 0);
	assert_raw(&o, "", 0, NULL);
	done(&o);
}

static void test_escapes(void **state)
{
	static const char ipl[] = "evil\nline\r\tx";
	uint8_t v[128], name[32];
	size_t n;
	const uint8_t one_ = 1;
	one o;
	(void)state;

	/* IPL text with newline, CR and tab */
	decode(&o, TPA_EV_IPL, ipl, sizeof(ipl) - 1);
	assert_str(o.f, "string", "evil\\x0aline\\x0d\\x09x");
	done(&o);

	/* UTF-16 CRTM version with a newline and DEL (an ESC makes it raw) */
	n = utf16(name, "v2\nx\x7f", 1);
	decode(&o, TPA_EV_S_CRTM_VERSION, name, n);
	assert_str(o.f, "string", "v2\\x0ax\\x7f");
	done(&o);
	n = utf16(name, "v\x1b[2J", 1);
	decode(&o, TPA_EV_S_CRTM_VERSION, name, n);
	assert_raw(&o, name, n, NULL);
	done(&o);

	/* a variable name with ESC */
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid,
	               "Sec\x1b"
	               "ureBoot",
	               &one_, 1);
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_str(o.f, "name", "Sec\\x1bureBoot");
	done(&o);

	/* ESC in an EFI_ACTION: no decoder accepts it, raw */
	decode(&o, TPA_EV_EFI_ACTION,
	       "a\x1b"
	       "b",
	       3);
	assert_raw(&o,
	           "a\x1b"
	           "b",
	           3, NULL);
	done(&o);
}

/* Each decoder's refusal of data too short for its fixed fields. */
static void test_decode_errors(void **state)
{
	uint8_t gpt[92 + 8 + 128 + 1] = {0}, v[128] = {0}, siglist[20] = {0};
	size_t n;
	one o;
	(void)state;

	/* UEFI_VARIABLE_DATA shorter than GUID and two lengths */
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, 31);
	assert_raw(&o, v, 31, "UEFI_VARIABLE_DATA header truncated");
	done(&o);
	/* db holding 20 bytes: not even one EFI_SIGNATURE_LIST header */
	n = lb_vardata(v, sizeof(v), lb_efi_imgsec_guid, "db", siglist, sizeof(siglist));
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_raw(&o, v, n, "EFI_SIGNATURE_LIST header truncated");
	done(&o);
	/* Boot0001 of three bytes */
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001", "\x01\x00\x00", 3);
	decode(&o, TPA_EV_EFI_VARIABLE_BOOT, v, n);
	assert_raw(&o, v, n, "EFI_LOAD_OPTION truncated");
	done(&o);
	/* Boot0001 whose description never ends */
	n = lb_vardata(v, sizeof(v), lb_efi_global_guid, "Boot0001",
	               "\x01\x00\x00\x00\x00\x00X\x00Y", 9);
	decode(&o, TPA_EV_EFI_VARIABLE_BOOT, v, n);
	assert_raw(&o, v, n, "EFI_LOAD_OPTION description not terminated");
	done(&o);

	/* GPT: shorter than a header, no partition count, one byte left over */
	memcpy(gpt, "EFI PART", 8);
	put_le(gpt + 12, 92, 4);
	put_le(gpt + 84, 128, 4);
	decode(&o, TPA_EV_EFI_GPT_EVENT, gpt, 91);
	assert_raw(&o, gpt, 91, "UEFI_GPT_DATA shorter than a partition table header");
	done(&o);
	decode(&o, TPA_EV_EFI_GPT_EVENT, gpt, 92);
	assert_raw(&o, gpt, 92, "UEFI_GPT_DATA partition count truncated");
	done(&o);
	put_le(gpt + 92, 1, 8);
	decode(&o, TPA_EV_EFI_GPT_EVENT, gpt, sizeof(gpt));
	assert_raw(&o, gpt, sizeof(gpt), "bytes left over after the partition entries");
	done(&o);
	/* a header size past the data, and entries smaller than 128 bytes */
	put_le(gpt + 12, sizeof(gpt) + 1, 4);
	decode(&o, TPA_EV_EFI_GPT_EVENT2, gpt, sizeof(gpt));
	assert_raw(&o, gpt, sizeof(gpt), "GPT header size does not fit the data");
	done(&o);
	put_le(gpt + 12, 92, 4);
	put_le(gpt + 84, 64, 4);
	decode(&o, TPA_EV_EFI_GPT_EVENT, gpt, sizeof(gpt) - 1);
	assert_raw(&o, gpt, sizeof(gpt) - 1, "partition entries do not fit the data");
	done(&o);

	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, gpt, 15);
	assert_raw(&o, gpt, 15, "UEFI_PLATFORM_FIRMWARE_BLOB truncated");
	done(&o);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES2,
	       "\x09"
	       "abc",
	       4);
	assert_raw(&o,
	           "\x09"
	           "abc",
	           4, "table description runs past the data");
	done(&o);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES, gpt, 7);
	assert_raw(&o, gpt, 7, "table count truncated");
	done(&o);
	decode(&o, TPA_EV_EFI_HANDOFF_TABLES, "", 0);
	assert_raw(&o, "", 0, "table count truncated");
	done(&o);
}

/* UTF-16: surrogate pairs become one 4-byte UTF-8 sequence, lone surrogates
 * U+FFFD; bytes above 0x7f in ASCII fields are escaped. */
static void test_unicode(void **state)
{
	/* "a", U+1F600 as a pair, a lone high surrogate then "b", a lone low
	 * surrogate, a high surrogate as the last unit */
	static const uint8_t name16[] = {'a', 0, 0x3d, 0xd8, 0x00, 0xde, 0x3d, 0xd8,
	                                 'b', 0, 0x00, 0xdc, 0xe9, 0x00, 0x3d, 0xd8};
	uint8_t v[128], d[32];
	size_t n;
	one o;
	(void)state;

	/* a UEFI_VARIABLE_DATA with that name (8 UTF-16 units) */
	memcpy(v, lb_efi_global_guid, 16);
	put_le(v + 16, 8, 8);
	put_le(v + 24, 1, 8);
	memcpy(v + 32, name16, sizeof(name16));
	v[32 + sizeof(name16)] = 1;
	n = 32 + sizeof(name16) + 1;
	decode(&o, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	assert_str(o.f, "name",
	           "a\xf0\x9f\x98\x80"
	           "\xef\xbf\xbd"
	           "b\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd");
	assert_uint(o.f, "value", 1);
	done(&o);

	/* BLOB2 description with bytes above 0x7f and a DEL */
	d[0] = 5;
	memcpy(d + 1, "\xff\x80z\x7fy", 5);
	memset(d + 6, 0, 16);
	decode(&o, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, d, 22);
	assert_str(o.f, "description", "\\xff\\x80z\\x7fy");
	done(&o);
}

static void test_args(void **state)
{
	tpa_field *f = (tpa_field *)(uintptr_t)1;
	(void)state;
	assert_int_equal(tpa_event_decode(NULL, &f), TPA_E_INVALID_ARG);
	assert_ptr_equal(f, (tpa_field *)(uintptr_t)1);
	assert_null(tpa_field_get(NULL, "x"));
	tpa_fields_free(NULL);
	assert_string_equal(tpa_event_type_name(TPA_EV_EFI_GPT_EVENT), "EV_EFI_GPT_EVENT");
	assert_null(tpa_event_type_name(0x12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_no_action),
	        cmocka_unit_test(test_separator),
	        cmocka_unit_test(test_crtm_version),
	        cmocka_unit_test(test_post_code),
	        cmocka_unit_test(test_strings),
	        cmocka_unit_test(test_event_tag),
	        cmocka_unit_test(test_var_secureboot),
	        cmocka_unit_test(test_var_db),
	        cmocka_unit_test(test_var_boot_option),
	        cmocka_unit_test(test_image_load),
	        cmocka_unit_test(test_devpath_file_text),
	        cmocka_unit_test(test_devpath_nodes),
	        cmocka_unit_test(test_gpt),
	        cmocka_unit_test(test_blobs),
	        cmocka_unit_test(test_handoff),
	        cmocka_unit_test(test_unknown_type),
	        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_decode_errors),
	        cmocka_unit_test(test_unicode),
	        cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
