/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-makecred [EK_RSA.pub EK_ECC.pub]: nanoseconds per software
 * MakeCredential (tpa_credential_make_name, EK checks included) to an RSA
 * 2048 and an ECC P-256 EK, in process, and in the same run the lower
 * bound measured with OpenSSL alone: one RSA-OAEP encryption, or one P-256
 * key generation plus ECDH.  EK publics (TPM2B_PUBLIC, as tpm2_createek -u
 * writes them) are read from the files given, or made here from keys
 * generated for the run.  A benchmark, not a test.  Last lines:
 * "makecred rsa: ns=N bound_ns=M ratio=R", the same for ecc.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <tpmattest/enroll.h>

#include "enroll/makecred_internal.h"
#include "verifier/attest.h"
#include "verifier/ek.h"
#include "bench.h"

#define MEASURE(out, body) BENCH_MEDIAN(out, 1e9, body)

static void die(const char *what)
{
	fprintf(stderr, "bench-makecred: %s\n", what);
	exit(1);
}

/* An EK public area from a default template around a key made here. */
static size_t make_ek(uint16_t alg, uint8_t *buf, size_t cap)
{
	TPM2B_PUBLIC p;
	EVP_PKEY *k;
	size_t off = 0;
	tpa_ek_template(alg, &p);
	if (alg == TPM2_ALG_RSA) {
		BIGNUM *n = NULL;
		if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n))
			die("RSA key generation");
		BN_bn2binpad(n, p.publicArea.unique.rsa.buffer, 256);
		BN_free(n);
	} else {
		BIGNUM *x = NULL, *y = NULL;
		if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
			die("EC key generation");
		BN_bn2binpad(x, p.publicArea.unique.ecc.x.buffer, 32);
		BN_bn2binpad(y, p.publicArea.unique.ecc.y.buffer, 32);
		BN_free(x);
		BN_free(y);
	}
	EVP_PKEY_free(k);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, cap, &off) != TSS2_RC_SUCCESS)
		die("marshalling");
	return off;
}

/* The work no MakeCredential can skip, with OpenSSL alone. */
static void bound_rsa(EVP_PKEY *pk, const uint8_t *seed)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	uint8_t out[256];
	size_t n = sizeof(out);
	if (!c || EVP_PKEY_encrypt_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA256", NULL) <= 0 ||
	    EVP_PKEY_encrypt(c, out, &n, seed, 32) <= 0)
		die("RSA-OAEP");
	EVP_PKEY_CTX_free(c);
}

static void bound_ecc(EVP_PKEY *pk)
{
	EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_CTX *c = e ? EVP_PKEY_CTX_new_from_pkey(NULL, e, NULL) : NULL;
	uint8_t z[32];
	size_t n = sizeof(z);
	if (!c || EVP_PKEY_derive_init(c) <= 0 || EVP_PKEY_derive_set_peer(c, pk) <= 0 ||
	    EVP_PKEY_derive(c, z, &n) <= 0)
		die("ECDH");
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(e);
}

int main(int argc, char **argv)
{
	static const uint8_t name[34] = {0x00, 0x0b, 0x42};
	uint8_t secret[32] = {1}, seed[32] = {2};
	const char *label[2] = {"rsa", "ecc"};

	if (argc != 1 && argc != 3)
		die("usage: bench-makecred [EK_RSA.pub EK_ECC.pub]");
	setenv("TSS2_LOG", "all+NONE", 0);
	for (int k = 0; k < 2; k++) {
		uint8_t gen[sizeof(TPM2B_PUBLIC)], *ek = gen;
		size_t eklen;
		TPMT_PUBLIC pub;
		EVP_PKEY *pk = NULL;
		tpa_credential c;
		char why[256] = "";
		double ns, bound;

		if (argc == 3) {
			if (!(ek = bench_slurp(argv[1 + k], &eklen)))
				die("cannot read an EK public");
		} else {
			eklen = make_ek(k ? TPM2_ALG_ECC : TPM2_ALG_RSA, gen, sizeof(gen));
		}
		if (tpa_credential_ek_decode(ek, eklen, &pub, NULL, why, sizeof(why)) != TPA_OK ||
		    pub.type != (k ? TPM2_ALG_ECC : TPM2_ALG_RSA))
			die(why[0] ? why : "the EK public is not of the expected type");
		if (tpa_public_to_pkey(&pub, &pk) != TPA_OK)
			die("EK key");
		MEASURE(ns, {
			if (tpa_credential_make_name(ek, eklen, name, sizeof(name), secret,
			                             sizeof(secret), &c, why,
			                             sizeof(why)) != TPA_OK)
				die(why);
		});
		if (k)
			MEASURE(bound, bound_ecc(pk));
		else
			MEASURE(bound, bound_rsa(pk, seed));
		printf("makecred %s: ns=%.0f bound_ns=%.0f ratio=%.2f (%.0f credentials/s on one "
		       "core)\n",
		       label[k], ns, bound, ns / bound, 1e9 / ns);
		EVP_PKEY_free(pk);
		if (ek != gen)
			free(ek);
	}
	return 0;
}
