/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the EK certificate reader: NV header and padding
 * stripping, the DER frame, PEM, X.509 parsing and the SAN's TPM
 * attributes (tpa_ekcert_parse), the trust store reader (tpa_ekstore_add),
 * the EK public area reader (the input as a TPM2B_PUBLIC against the
 * certificate read from it), and a path validation against a store holding
 * the input itself.  Invariants: a certificate read sits inside the input
 * (or came from PEM), its text fields are NUL-terminated printable ASCII,
 * reading its bare DER again gives the same certificate, and a store
 * holding only the certificate never verifies it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/enroll.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_ekcert *c = NULL, *again = NULL;
	tpa_ekstore *s = NULL;
	tpa_ekcert_verdict v;
	char why[TPA_EKCERT_TEXT_MAX];
	const tpa_ekcert_info *in;
	const uint8_t *der;
	size_t dlen = 0;
	int r;

	setenv("TSS2_LOG", "all+NONE", 0); /* tss2-mu logs refused input */
	if (tpa_ekstore_new(&s) != TPA_OK)
		return 0;
	r = tpa_ekstore_add(s, TPA_EKSTORE_ROOT, data, size, why, sizeof(why));
	if (r != TPA_OK && strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	r = tpa_ekcert_parse(data, size, &c, why, sizeof(why));
	if (r != TPA_OK) {
		if (c)
			abort();
		goto out;
	}
	in = tpa_ekcert_get_info(c);
	der = tpa_ekcert_der(c, &dlen);
	if (!der || !dlen)
		abort();
	if (strcmp(in->wrapping, "PEM") != 0 &&
	    (in->der_offset + in->der_len > size || in->der_len != dlen ||
	     memcmp(data + in->der_offset, der, dlen) != 0))
		abort();
	printable(in->wrapping, sizeof(in->wrapping));
	printable(in->manufacturer, sizeof(in->manufacturer));
	printable(in->model, sizeof(in->model));
	printable(in->version, sizeof(in->version));
	printable(in->vendor_id, sizeof(in->vendor_id));
	printable(in->subject, sizeof(in->subject));
	printable(in->issuer, sizeof(in->issuer));
	printable(in->serial, sizeof(in->serial));
	if (tpa_ekcert_parse(der, dlen, &again, NULL, 0) != TPA_OK)
		abort();
	if (strcmp(tpa_ekcert_get_info(again)->issuer, in->issuer) != 0 ||
	    strcmp(tpa_ekcert_get_info(again)->model, in->model) != 0)
		abort();
	/* the input read as an EK public area too */
	why[0] = '\0';
	if (tpa_ekcert_key_matches(c, data, size, why, sizeof(why)) != TPA_OK &&
	    strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	r = tpa_ekcert_verify(c, s, NULL, &v);
	printable(v.why, sizeof(v.why));
	if (v.chain_len > TPA_EKCERT_MAX_CHAIN)
		abort();
	/* a store holding only the certificate never verifies it */
	if (r == TPA_OK)
		abort();
out:
	tpa_ekcert_free(&again);
	tpa_ekcert_free(&c);
	tpa_ekstore_free(&s);
	return 0;
}
