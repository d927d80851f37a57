/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EK certificates: reading (NV header, padding, PEM, what is refused and
 * where) and chain verification (each reason), on the fixtures of
 * tests/data/ekcert (argv[1], made by its gen.sh).
 *
 * With a second argument, ../shared instead: every leaf of
 * ../shared/ekcerts against roots/ (as roots and as intermediates), with the
 * outcome derived from MANIFEST.json: a TPM 2.0 leaf verifies exactly when
 * the manifest names its issuer chain (chain_cafile) and an issuer key that
 * verifies its signature (signature_verifies_under), and is otherwise an
 * unknown issuer; a TPM 1.2 leaf is out of scope, or malformed when its NV
 * tail is not padding.  Exit 77 (skip) when ../shared is absent.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <tpmattest/enroll.h>
#include <tpmattest/verify.h>

static char dir[4096];

static uint8_t *slurp_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;
	if (!f) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint8_t *slurp(const char *rel, size_t *len)
{
	char p[8192];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return slurp_path(p, len);
}

static tpa_ekcert *parse_ok(const char *rel)
{
	size_t len;
	uint8_t *b = slurp(rel, &len);
	tpa_ekcert *c = NULL;
	char why[256] = "";
	int r = tpa_ekcert_parse(b, len, &c, why, sizeof(why));
	if (r != TPA_OK)
		print_error("%s: %s\n", rel, why);
	assert_int_equal(r, TPA_OK);
	free(b);
	return c;
}

static void add(tpa_ekstore *s, int role, const char *rel)
{
	size_t len;
	uint8_t *b = slurp(rel, &len);
	char why[256] = "";
	int r = tpa_ekstore_add(s, role, b, len, why, sizeof(why));
	if (r != TPA_OK)
		print_error("%s: %s\n", rel, why);
	assert_int_equal(r, TPA_OK);
	free(b);
}

/* the fixtures' trust: the test root, and its intermediates */
static tpa_ekstore *fixture_store(void)
{
	tpa_ekstore *s = NULL;
	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	add(s, TPA_EKSTORE_ROOT, "roots/root.pem");
	add(s, TPA_EKSTORE_INTERMEDIATE, "intermediates/int.der");
	add(s, TPA_EKSTORE_INTERMEDIATE, "intermediates/notca.pem");
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_ROOT), 1);
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_INTERMEDIATE), 2);
	return s;
}

static void test_info(void **state)
{
	tpa_ekcert *c = parse_ok("ek.der");
	const tpa_ekcert_info *in = tpa_ekcert_get_info(c);
	assert_string_equal(in->wrapping, "DER");
	assert_int_equal(in->der_offset, 0);
	assert_true(in->has_san);
	assert_true(in->san_critical);
	assert_string_equal(in->manufacturer, "id:49465800");
	assert_string_equal(in->vendor_id, "IFX");
	assert_string_equal(in->vendor_name, "Infineon");
	assert_string_equal(in->model, "SLB9672");
	assert_string_equal(in->version, "id:000F0011");
	assert_int_equal(in->key, TPA_EKCERT_KEY_ECC);
	assert_int_equal(in->key_bits, 256);
	assert_string_equal(in->key_curve, "P-256");
	assert_string_equal(in->subject, "");
	assert_string_equal(in->issuer, "CN=Test EK Intermediate CA 01,O=Test TPM Vendor,C=DE");
	/* a 24-octet serial, above RFC 5280's 20 */
	assert_int_equal(strlen(in->serial), 48);
	assert_true(in->not_after > in->not_before);
	assert_true(in->not_after > (int64_t)4102444800); /* after 2100 */
	tpa_ekcert_free(&c);
	assert_null(c);

	c = parse_ok("ek-rsa.der");
	in = tpa_ekcert_get_info(c);
	assert_int_equal(in->key, TPA_EKCERT_KEY_RSA);
	assert_int_equal(in->key_bits, 2048);
	assert_null(in->key_curve);
	assert_string_equal(in->vendor_id, "STM");
	assert_string_equal(in->vendor_name, "STMicroelectronics");
	assert_string_equal(in->model, "ST33KTPM2X");
	tpa_ekcert_free(&c);
}

/* Every wrapping yields the same DER. */
static void test_wrappings(void **state)
{
	static const struct {
		const char *file, *wrapping;
		size_t off;
	} cases[] = {
	        {"ek.pem", "PEM", 0},
	        {"ek-ffpad.der", "DER, 100 bytes of ff padding", 0},
	        {"ek-nvheader-ffpad.bin", "TCG NV header (7 bytes), 200 bytes of ff padding", 7},
	        {"ek-nvheader5-00pad.bin", "TCG NV header (5 bytes), 31 bytes of 00 padding", 5},
	};
	size_t dlen;
	uint8_t *der = slurp("ek.der", &dlen);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tpa_ekcert *c = parse_ok(cases[i].file);
		const tpa_ekcert_info *in = tpa_ekcert_get_info(c);
		size_t l = 0;
		const uint8_t *d = tpa_ekcert_der(c, &l);
		assert_string_equal(in->wrapping, cases[i].wrapping);
		assert_int_equal(in->der_offset, cases[i].off);
		assert_int_equal(l, dlen);
		assert_memory_equal(d, der, dlen);
		tpa_ekcert_free(&c);
	}
	free(der);
}

static void expect_refused(const uint8_t *b, size_t len, int want, const char *why_has)
{
	tpa_ekcert *c = (tpa_ekcert *)&c; /* must stay untouched */
	tpa_ekcert *const sentinel = c;
	char why[256] = "";
	int r = tpa_ekcert_parse(b, len, &c, why, sizeof(why));
	if (r != want || (why_has && !strstr(why, why_has)))
		print_error("got %d (%s), want %d with \"%s\"\n", r, why, want,
		            why_has ? why_has : "");
	assert_int_equal(r, want);
	assert_ptr_equal(c, sentinel);
	if (why_has)
		assert_non_null(strstr(why, why_has));
}

static void test_refused(void **state)
{
	/* offsets follow from the size of ek.der, which gen.sh may change */
	size_t len, d;
	uint8_t *b = slurp("ek.der", &len);
	char w[4][80];
	const struct {
		const char *file;
		int err;
		const char *why;
	} cases[] = {
	        {"truncated.der", TPA_E_TRUNCATED, w[0]},
	        {"trailing-junk.der", TPA_E_TRAILING, w[1]},
	        {"mixed-padding.der", TPA_E_TRAILING, w[2]},
	        {"nvheader-badlen.bin", TPA_E_MALFORMED, w[3]},
	};
	d = len;
	free(b);
	snprintf(w[0], sizeof(w[0]), "declares %zu bytes, %zu remain", d, d - 10);
	snprintf(w[1], sizeof(w[1]), "byte %zu: 0x6a", d);
	snprintf(w[2], sizeof(w[2]), "byte %zu: 0x00", d + 2);
	snprintf(w[3], sizeof(w[3]), "certSize %zu", d + 3);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = slurp(cases[i].file, &len);
		expect_refused(b, len, cases[i].err, cases[i].why);
		free(b);
	}
	expect_refused((const uint8_t *)"", 0, TPA_E_TRUNCATED, "empty");
	expect_refused((const uint8_t *)"hello", 5, TPA_E_MALFORMED, "byte 0: 0x68");
	expect_refused((const uint8_t *)"\x30\x80\x00\x00", 4, TPA_E_MALFORMED, "indefinite");
	expect_refused((const uint8_t *)"\x30\x81\x05\x00\x00\x00\x00\x00", 8, TPA_E_MALFORMED,
	               "minimally");
	expect_refused((const uint8_t *)"\x10\x01\x01\x00\x10", 5, TPA_E_MALFORMED, "certType 1");
	expect_refused((const uint8_t *)"\x30\x03\x02\x01\x00", 5, TPA_E_MALFORMED,
	               "not an X.509 certificate");

	/* every cut of the NV-wrapped certificate inside the DER is refused */
	b = slurp("ek-nvheader-ffpad.bin", &len);
	for (size_t cut = 0; cut < 7 + d; cut++) {
		tpa_ekcert *c = NULL;
		int r = tpa_ekcert_parse(b, cut, &c, NULL, 0);
		assert_int_not_equal(r, TPA_OK);
		assert_null(c);
	}
	/* and every cut inside the padding is accepted */
	for (size_t cut = 7 + d; cut <= len; cut++) {
		tpa_ekcert *c = NULL;
		assert_int_equal(tpa_ekcert_parse(b, cut, &c, NULL, 0), TPA_OK);
		tpa_ekcert_free(&c);
	}
	free(b);

	/* above the cap */
	b = calloc(1, TPA_EKCERT_MAX_INPUT + 1);
	assert_non_null(b);
	b[0] = 0x30;
	expect_refused(b, TPA_EKCERT_MAX_INPUT + 1, TPA_E_LIMIT, "cap");
	free(b);

	/* a PEM block that is not a certificate, and data after one */
	expect_refused(
	        (const uint8_t *)"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 56,
	        TPA_E_MALFORMED, "PUBLIC KEY");
	{
		uint8_t *pem = slurp("ek.pem", &len), *two = malloc(2 * len);
		assert_non_null(two);
		memcpy(two, pem, len);
		memcpy(two + len, pem, len);
		expect_refused(two, 2 * len, TPA_E_TRAILING, "after the PEM certificate");
		free(two);
		free(pem);
	}
}

static int verify_file(const char *rel, const tpa_ekstore *s, const tpa_ekcert_opts *o,
                       tpa_ekcert_verdict *v)
{
	tpa_ekcert *c = parse_ok(rel);
	int r = tpa_ekcert_verify(c, s, o, v);
	tpa_ekcert_free(&c);
	return r;
}

static void test_verify(void **state)
{
	tpa_ekstore *s = fixture_store();
	tpa_ekcert_verdict v;
	static const char *const ok[] = {"ek.der",
	                                 "ek-rsa.der",
	                                 "ek.pem",
	                                 "ek-ffpad.der",
	                                 "ek-nvheader-ffpad.bin",
	                                 "ek-nvheader5-00pad.bin",
	                                 "expired.der"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(verify_file(ok[i], s, NULL, &v), TPA_OK);
		assert_int_equal(v.reason, TPA_EKCERT_VERIFIED);
		assert_int_equal(v.chain_len, 3);
		assert_string_equal(v.chain[0], "");
		assert_string_equal(v.chain[1],
		                    "CN=Test EK Intermediate CA 01,O=Test TPM Vendor,C=DE");
		assert_string_equal(v.chain[2], "CN=Test EK Root CA,O=Test TPM Vendor,C=DE");
		assert_false(v.time_enforced);
	}
	/* validity is reported, not enforced */
	assert_int_equal(verify_file("expired.der", s, NULL, &v), TPA_OK);
	assert_int_equal(v.validity, TPA_EKCERT_TIME_EXPIRED);
	assert_false(v.chain_time_valid);

	assert_int_equal(verify_file("unknown-ca.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);
	assert_int_equal(v.depth, 0);
	assert_non_null(strstr(v.why, "no certificate named \"CN=Other EK Root CA"));

	assert_int_equal(verify_file("self-signed.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_SELF_SIGNED);

	assert_int_equal(verify_file("issuer-not-ca.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_NOT_CA);
	assert_int_equal(v.depth, 1);
	assert_non_null(strstr(v.why, "Test Not A CA"));

	assert_int_equal(verify_file("bad-signature.der", s, NULL, &v), TPA_E_BAD_SIGNATURE);
	assert_int_equal(v.reason, TPA_EKCERT_BAD_SIGNATURE);
	assert_int_equal(v.depth, 0);

	/* SHA-1 signatures are refused wherever they are (security level 1) */
	assert_int_equal(verify_file("sha1-signed.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_WEAK);
	assert_int_equal(v.depth, 0);
	assert_string_equal(tpa_ekcert_reason_name(v.reason), "weak-signature");

	/* CA certificates chain, but are no EK certificates */
	assert_int_equal(verify_file("intermediates/int.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_NOT_EK);
	assert_int_equal(verify_file("roots/root.pem", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_NOT_EK);

	/* a self-signed "EK" given as a root still is no EK certificate */
	add(s, TPA_EKSTORE_ROOT, "self-signed.der");
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_ROOT), 2);
	assert_int_equal(verify_file("self-signed.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_SELF_SIGNED);
	tpa_ekstore_free(&s);
	assert_null(s);
}

static void test_time(void **state)
{
	tpa_ekstore *s = fixture_store();
	tpa_ekcert_verdict v;
	tpa_ekcert_opts o;
	memset(&o, 0, sizeof(o));
	o.check_time = 1;
	assert_int_equal(verify_file("expired.der", s, &o, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_EXPIRED);
	assert_int_equal(v.depth, 0);
	assert_true(v.time_enforced);
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_OK);
	o.at = 946684800; /* 2000-01-01: before every fixture */
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_NOT_YET_VALID);
	o.check_time = 0;
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_OK);
	assert_int_equal(v.validity, TPA_EKCERT_TIME_NOT_YET_VALID);
	o.at = 4102444800; /* 2100: the fixtures run to 2126 */
	o.check_time = 1;
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_OK);
	tpa_ekstore_free(&s);
}

/* Intermediates given with the certificate (evidence, TPM NV), NV-wrapped
 * like the EK certificate; never anchors; no partial chains. */
static void test_chain_blobs(void **state)
{
	tpa_ekstore *s = NULL;
	tpa_ekcert_verdict v;
	tpa_ekcert_opts o;
	size_t len, wlen;
	uint8_t *intd = slurp("intermediates/int.der", &len), *wrapped;
	const uint8_t *chain[1];
	size_t chain_len[1];

	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	add(s, TPA_EKSTORE_ROOT, "roots/root.pem");
	memset(&o, 0, sizeof(o));
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);

	wlen = len + 7 + 16;
	wrapped = malloc(wlen);
	assert_non_null(wrapped);
	memcpy(wrapped, "\x10\x01\x00", 3);
	wrapped[3] = (uint8_t)((len + 2) >> 8);
	wrapped[4] = (uint8_t)(len + 2);
	memcpy(wrapped + 5, "\x10\x02", 2);
	memcpy(wrapped + 7, intd, len);
	memset(wrapped + 7 + len, 0xff, 16);
	chain[0] = wrapped;
	chain_len[0] = wlen;
	o.chain = chain;
	o.chain_len = chain_len;
	o.n_chain = 1;
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_OK);
	assert_int_equal(v.chain_len, 3);
	/* the store is unchanged by it */
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_INTERMEDIATE), 0);

	/* cut inside the DER: an intermediate that does not read is passed
	 * over (it can only lose paths), so the chain is now incomplete */
	chain_len[0] = wlen - 20;
	assert_int_equal(verify_file("ek.der", s, &o, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);
	tpa_ekstore_free(&s);

	/* the intermediate alone, given as a root, is not an anchor */
	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	add(s, TPA_EKSTORE_ROOT, "intermediates/int.der");
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_ROOT), 0);
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_INTERMEDIATE), 1);
	assert_int_equal(verify_file("ek.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);
	/* a self-signed root given as an intermediate is not one either */
	add(s, TPA_EKSTORE_INTERMEDIATE, "roots/root.pem");
	assert_int_equal(verify_file("ek.der", s, NULL, &v), TPA_E_POLICY);
	assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);
	tpa_ekstore_free(&s);
	free(wrapped);
	free(intd);
}

/* Several certificates in one PEM file; duplicates kept once. */
static void test_store_pem(void **state)
{
	tpa_ekstore *s = NULL;
	size_t l1, l2;
	uint8_t *root = slurp("roots/root.pem", &l1), *np = slurp("intermediates/notca.pem", &l2);
	uint8_t *both = malloc(l1 + l2 + l1);
	char why[256] = "";
	assert_non_null(both);
	memcpy(both, root, l1);
	memcpy(both + l1, np, l2);
	memcpy(both + l1 + l2, root, l1);
	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	assert_int_equal(tpa_ekstore_add(s, TPA_EKSTORE_ROOT, both, l1 + l2 + l1, why, sizeof(why)),
	                 TPA_OK);
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_ROOT), 1);
	assert_int_equal(tpa_ekstore_count(s, TPA_EKSTORE_INTERMEDIATE), 1);
	/* text around the blocks, as openssl x509 -text writes bundles */
	{
		static const char pre[] = "subject=CN=Test EK Root CA\nissuer=...\n";
		uint8_t *txt = malloc(sizeof(pre) - 1 + l1);
		tpa_ekstore *s2 = NULL;
		assert_non_null(txt);
		memcpy(txt, pre, sizeof(pre) - 1);
		memcpy(txt + sizeof(pre) - 1, root, l1);
		assert_int_equal(tpa_ekstore_new(&s2), TPA_OK);
		assert_int_equal(tpa_ekstore_add(s2, TPA_EKSTORE_ROOT, txt, sizeof(pre) - 1 + l1,
		                                 why, sizeof(why)),
		                 TPA_OK);
		assert_int_equal(tpa_ekstore_count(s2, TPA_EKSTORE_ROOT), 1);
		tpa_ekstore_free(&s2);
		free(txt);
	}
	/* a damaged block is refused, naming it */
	both[l1 + 40] ^= 0x01;
	assert_int_equal(tpa_ekstore_add(s, TPA_EKSTORE_ROOT, both, l1 + l2, why, sizeof(why)),
	                 TPA_E_MALFORMED);
	assert_non_null(strstr(why, "PEM block 2"));
	assert_int_equal(tpa_ekstore_add(s, 7, both, l1, why, sizeof(why)), TPA_E_INVALID_ARG);
	tpa_ekstore_free(&s);
	free(both);
	free(root);
	free(np);
}

/* The EK public area must hold the certificate's key: the TPM2B_PUBLIC of
 * the default template built from each certificate (tpa_ek_public_from_cert)
 * matches it and no other. */
static void check_key(const char *cert_file, uint8_t *pub, size_t plen, int want)
{
	tpa_ekcert *c = parse_ok(cert_file);
	char why[256] = "";
	int r = tpa_ekcert_key_matches(c, pub, plen, why, sizeof(why));
	if (r != want)
		print_error("%s: got %d (%s), want %d\n", cert_file, r, why, want);
	assert_int_equal(r, want);
	tpa_ekcert_free(&c);
}

static void test_key_matches(void **state)
{
	size_t el, rl, eccl, rsal;
	uint8_t *ecc_der = slurp("ek.der", &el), *rsa_der = slurp("ek-rsa.der", &rl);
	uint8_t *ecc = NULL, *rsa = NULL;
	tpa_ekcert *c;
	char why[256] = "";

	assert_int_equal(tpa_ek_public_from_cert(ecc_der, el, &ecc, &eccl), TPA_OK);
	assert_int_equal(tpa_ek_public_from_cert(rsa_der, rl, &rsa, &rsal), TPA_OK);
	check_key("ek.der", ecc, eccl, TPA_OK);
	check_key("ek-nvheader-ffpad.bin", ecc, eccl, TPA_OK);
	check_key("ek-rsa.der", rsa, rsal, TPA_OK);
	/* the bare TPMT_PUBLIC too */
	check_key("ek.der", ecc + 2, eccl - 2, TPA_OK);
	/* another TPM's EK public, of the other or of the same kind */
	check_key("ek.der", rsa, rsal, TPA_E_MISMATCH);
	check_key("ek-rsa.der", ecc, eccl, TPA_E_MISMATCH);
	check_key("unknown-ca.der", ecc, eccl, TPA_OK); /* same key, other issuer */
	check_key("self-signed.der", ecc, eccl, TPA_E_MISMATCH);
	/* one bit of the point or of the modulus */
	ecc[eccl - 1] ^= 0x01;
	check_key("ek.der", ecc, eccl, TPA_E_MISMATCH);
	ecc[eccl - 1] ^= 0x01;
	rsa[rsal - 1] ^= 0x01;
	check_key("ek-rsa.der", rsa, rsal, TPA_E_MISMATCH);
	rsa[rsal - 1] ^= 0x01;
	/* what does not decode */
	check_key("ek.der", ecc, eccl - 1, TPA_E_MALFORMED);
	check_key("ek.der", ecc, 5, TPA_E_MALFORMED);
	{
		uint8_t *more = malloc(eccl + 1);
		assert_non_null(more);
		memcpy(more, ecc + 2, eccl - 2);
		more[eccl - 2] = 0;
		check_key("ek.der", more, eccl - 1, TPA_E_TRAILING);
		free(more);
	}
	c = parse_ok("ek.der");
	assert_int_equal(tpa_ekcert_key_matches(c, ecc, eccl, why, sizeof(why)), TPA_OK);
	tpa_ekcert_free(&c);
	free(ecc);
	free(rsa);
	free(ecc_der);
	free(rsa_der);
}

#ifdef TPA_EKCERT_NOMEM
/*
 * Allocation failure injection (built as test_ekcert_nomem, with the
 * library's malloc and calloc wrapped): for every N until the call
 * succeeds, the Nth allocation fails, and the call must return
 * TPA_E_NOMEM with its output untouched.  OpenSSL's own allocations are
 * not affected (libcrypto is a shared library).
 */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
static long countdown = -1;
static int injected;
static int fail_now(void)
{
	if (countdown < 0)
		return 0;
	if (countdown-- == 0) {
		injected = 1;
		return 1;
	}
	return 0;
}
void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n)
{
	return fail_now() ? NULL : __real_calloc(k, n);
}

static void test_nomem(void **state)
{
	static const char *const files[] = {"ek.der", "ek.pem", "ek-nvheader-ffpad.bin"};
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		uint8_t *b = slurp(files[f], &len);
		for (long n = 0;; n++) {
			tpa_ekcert *c = (tpa_ekcert *)&n; /* must stay untouched */
			int r;
			injected = 0;
			countdown = n;
			r = tpa_ekcert_parse(b, len, &c, NULL, 0);
			countdown = -1;
			if (!injected) {
				assert_int_equal(r, TPA_OK);
				tpa_ekcert_free(&c);
				break;
			}
			assert_int_equal(r, TPA_E_NOMEM);
			assert_ptr_equal(c, (tpa_ekcert *)&n);
		}
		free(b);
	}
	/* the store, and a verification reading a chain blob */
	{
		tpa_ekstore *s = fixture_store();
		tpa_ekcert *c = parse_ok("ek.der");
		size_t len;
		uint8_t *intd = slurp("intermediates/int.der", &len);
		const uint8_t *chain[1] = {intd};
		size_t chain_len[1] = {len};
		tpa_ekcert_opts o;
		tpa_ekcert_verdict v;
		memset(&o, 0, sizeof(o));
		o.chain = chain;
		o.chain_len = chain_len;
		o.n_chain = 1;
		for (long n = 0;; n++) {
			tpa_ekstore *s2 = (tpa_ekstore *)&n;
			int r;
			injected = 0;
			countdown = n;
			r = tpa_ekstore_new(&s2);
			countdown = -1;
			if (!injected) {
				assert_int_equal(r, TPA_OK);
				tpa_ekstore_free(&s2);
				break;
			}
			assert_int_equal(r, TPA_E_NOMEM);
			assert_ptr_equal(s2, (tpa_ekstore *)&n);
		}
		for (long n = 0;; n++) {
			int r;
			injected = 0;
			countdown = n;
			r = tpa_ekcert_verify(c, s, &o, &v);
			countdown = -1;
			if (!injected) {
				assert_int_equal(r, TPA_OK);
				break;
			}
			assert_int_equal(r, TPA_E_NOMEM);
			assert_int_not_equal(v.reason, TPA_EKCERT_VERIFIED);
		}
		free(intd);
		tpa_ekcert_free(&c);
		tpa_ekstore_free(&s);
	}
}
#endif

/* ---- the shared corpus ---- */

static struct json_object *member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* Whether the manifest says the file has bytes after the DER that are not
 * 00/ff padding ("trailing N bytes after DER (values: [17])"). */
static int tail_not_padding(struct json_object *row)
{
	struct json_object *w = member(row, "as_found_wrapping");
	for (size_t i = 0; w && i < json_object_array_length(w); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(w, i));
		const char *v = strstr(s, "values: [");
		if (strncmp(s, "trailing", 8) != 0 || !v)
			continue;
		if (strcmp(v, "values: [255])") != 0 && strcmp(v, "values: [0])") != 0 &&
		    strcmp(v, "values: [0, 255])") != 0)
			return 1;
	}
	return 0;
}

static tpa_ekstore *corpus_store(void)
{
	char p[8192];
	struct dirent **ents = NULL;
	tpa_ekstore *s = NULL;
	int n, skipped = 0;
	snprintf(p, sizeof(p), "%s/ekcerts/roots", dir);
	n = scandir(p, &ents, NULL, alphasort);
	assert_true(n > 0);
	assert_int_equal(tpa_ekstore_new(&s), TPA_OK);
	for (int i = 0; i < n; i++) {
		char f[8192 + 512];
		size_t len;
		uint8_t *b;
		if (ents[i]->d_name[0] != '.') {
			snprintf(f, sizeof(f), "%s/%s", p, ents[i]->d_name);
			b = slurp_path(f, &len);
			char why[200] = "";
			int r = tpa_ekstore_add(s, TPA_EKSTORE_ROOT, b, len, why, sizeof(why));
			if (r != TPA_OK) {
				/* the STM intermediate OpenSSL cannot parse, and swtpm's
				 * test CAs, whose private keys are published */
				if (strncmp(ents[i]->d_name, "swtpm-", 6) == 0) {
					assert_int_equal(r, TPA_E_POLICY);
					assert_non_null(strstr(why, "private key is public"));
				} else {
					assert_non_null(
					        strstr(ents[i]->d_name, "nonminimal-serial"));
				}
				skipped++;
			}
			free(b);
		}
		free(ents[i]);
	}
	free(ents);
	assert_int_equal(skipped, 4);
	return s;
}

static void test_corpus(void **state)
{
	char p[8192];
	struct json_object *m, *files;
	tpa_ekstore *s = corpus_store();
	size_t leaves = 0, verified = 0, unknown = 0, oos = 0, malformed = 0;

	snprintf(p, sizeof(p), "%s/ekcerts/MANIFEST.json", dir);
	m = json_object_from_file(p);
	assert_non_null(m);
	files = member(m, "files");
	assert_non_null(files);
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		struct json_object *row = json_object_array_get_idx(files, i);
		const char *file = json_object_get_string(member(row, "file"));
		const char *family, *key, *issuer;
		struct json_object *chainf, *sigs;
		tpa_ekcert *c = NULL;
		tpa_ekcert_verdict v;
		char f[8192], why[256] = "";
		uint8_t *b;
		size_t len;
		int r;
		if (strncmp(file, "leaves/", 7) != 0)
			continue;
		leaves++;
		family = json_object_get_string(member(row, "tpm_family"));
		key = json_object_get_string(member(row, "key"));
		issuer = json_object_get_string(member(row, "issuer"));
		chainf = member(row, "chain_cafile");
		sigs = member(row, "signature_verifies_under");
		snprintf(f, sizeof(f), "%s/ekcerts/%s", dir, file);
		b = slurp_path(f, &len);
		r = tpa_ekcert_parse(b, len, &c, why, sizeof(why));
		free(b);
		if (tail_not_padding(row)) {
			if (r != TPA_E_TRAILING)
				print_error("%s: want TPA_E_TRAILING, got %d\n", file, r);
			assert_int_equal(r, TPA_E_TRAILING);
			malformed++;
			continue;
		}
		if (r != TPA_OK)
			print_error("%s: %s\n", file, why);
		assert_int_equal(r, TPA_OK);
		assert_string_equal(tpa_ekcert_get_info(c)->issuer, issuer);
		r = tpa_ekcert_verify(c, s, NULL, &v);
		if (strcmp(family, "1.2") == 0) {
			assert_string_equal(key, "rsa2048-oaep-spki");
			assert_int_equal(tpa_ekcert_get_info(c)->key, TPA_EKCERT_KEY_RSAES_OAEP);
			assert_int_equal(r, TPA_E_POLICY);
			assert_int_equal(v.reason, TPA_EKCERT_OUT_OF_SCOPE);
			assert_string_equal(
			        v.why, "TPM 1.2 EK certificate (RSAES-OAEP key), out of scope");
			oos++;
		} else {
			const tpa_ekcert_info *in = tpa_ekcert_get_info(c);
			int want = json_object_array_length(chainf) > 0 &&
			           json_object_array_length(sigs) > 0;
			assert_string_equal(family, "2.0");
			if (strcmp(key, "rsa2048") == 0) {
				assert_int_equal(in->key, TPA_EKCERT_KEY_RSA);
				assert_int_equal(in->key_bits, 2048);
			} else {
				assert_string_equal(key, "ecc-p256");
				assert_int_equal(in->key, TPA_EKCERT_KEY_ECC);
				assert_string_equal(in->key_curve, "P-256");
			}
			/* OpenSSL's verdict in the manifest agrees for TPM 2.0 */
			assert_int_equal(json_object_get_boolean(
			                         member(member(row, "openssl_verify"), "ok")),
			                 want);
			if ((r == TPA_OK) != want)
				print_error("%s: want %s, got %s\n", file,
				            want ? "verified" : "refused", v.why);
			if (want) {
				assert_int_equal(r, TPA_OK);
				assert_true(v.chain_len >= 2);
				assert_string_equal(v.chain[1], issuer);
				{
					size_t dl, pl;
					const uint8_t *d = tpa_ekcert_der(c, &dl);
					uint8_t *pub = NULL;
					assert_int_equal(tpa_ek_public_from_cert(d, dl, &pub, &pl),
					                 TPA_OK);
					assert_int_equal(
					        tpa_ekcert_key_matches(c, pub, pl, NULL, 0),
					        TPA_OK);
					free(pub);
				}
				verified++;
			} else {
				assert_int_equal(r, TPA_E_POLICY);
				assert_int_equal(v.reason, TPA_EKCERT_UNKNOWN_ISSUER);
				/* a name found but no key: say so */
				/* (swtpm's CAs are refused, so their names are not found) */
				assert_non_null(strstr(
				        v.why, json_object_array_length(chainf) &&
				                               strncmp(file, "leaves/swtpm-", 13)
				                       ? "none with its key"
				                       : "no certificate named"));
				unknown++;
			}
		}
		tpa_ekcert_free(&c);
	}
	/* the corpus as the closing note counts it (docs/enrollment.md) */
	assert_int_equal(leaves, 19);
	assert_int_equal(verified, 10);
	assert_int_equal(unknown, 4);
	assert_int_equal(oos, 4);
	assert_int_equal(malformed, 1);
	json_object_put(m);
	tpa_ekstore_free(&s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest fixtures[] = {
	        cmocka_unit_test(test_info),      cmocka_unit_test(test_wrappings),
	        cmocka_unit_test(test_refused),   cmocka_unit_test(test_verify),
	        cmocka_unit_test(test_time),      cmocka_unit_test(test_chain_blobs),
	        cmocka_unit_test(test_store_pem), cmocka_unit_test(test_key_matches),
#ifdef TPA_EKCERT_NOMEM
	        cmocka_unit_test(test_nomem),
#endif
	};
	const struct CMUnitTest shared[] = {
	        cmocka_unit_test(test_corpus),
	};
	struct stat st;
	setenv("TSS2_LOG", "all+NONE", 0); /* tss2-mu logs refused input */
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR [SHARED_DIR]\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[argc > 2 ? 2 : 1]);
	if (argc > 2) {
		char p[8192];
		snprintf(p, sizeof(p), "%s/ekcerts/MANIFEST.json", dir);
		if (stat(p, &st) != 0) {
			printf("SKIP: %s is absent (the shared test data sits beside the "
			       "repository)\n",
			       p);
			return 77;
		}
		return cmocka_run_group_tests(shared, NULL, NULL);
	}
	return cmocka_run_group_tests(fixtures, NULL, NULL);
}
