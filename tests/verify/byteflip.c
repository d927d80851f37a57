/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * byteflip ATTEST SIG AK NONCE_HEX_FILE PCRS_JSON: a genuine quote made by a real
 * TPM verifies, and every single-byte change of its attest or its signature
 * (each byte xor 0x01, 0x80 and 0xff) is refused.  Exit 77 (skip) when the
 * files are absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/verify.h>

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(1 << 20);
	if (!f || !b) {
		if (f)
			fclose(f);
		free(b);
		return NULL;
	}
	*len = fread(b, 1, (1 << 20) - 1, f);
	b[*len] = 0;
	fclose(f);
	return b;
}

static int verify(const tpa_ak *ak, const uint8_t *n, size_t nl, const uint8_t *a, size_t al,
                  const uint8_t *s, size_t sl, const tpa_pcrs *p)
{
	tpa_verify_input in;
	tpa_result *res = NULL;
	int r;
	memset(&in, 0, sizeof(in));
	in.ak = ak;
	in.nonce = n;
	in.nonce_len = nl;
	in.attest = a;
	in.attest_len = al;
	in.signature = s;
	in.signature_len = sl;
	in.pcrs = p;
	r = tpa_verify(&in, &res);
	tpa_result_free(&res);
	return r;
}

int main(int argc, char **argv)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	uint8_t *att, *sig, *akb, *pj, *nh, nonce[64];
	size_t al, sl, akl, pl, nl, nhl, tried = 0, accepted = 0;
	tpa_ak *ak = NULL;
	tpa_pcrs *p = NULL;
	char why[160];

	if (argc != 6)
		return 2;
	setenv("TSS2_LOG", "all+NONE", 1);
	if (!(att = slurp(argv[1], &al)) || !(sig = slurp(argv[2], &sl)) ||
	    !(akb = slurp(argv[3], &akl)) || !(nh = slurp(argv[4], &nhl)) ||
	    !(pj = slurp(argv[5], &pl))) {
		printf("SKIP: %s and its companions are absent\n", argv[1]);
		return 77;
	}
	nl = strcspn((char *)nh, " \n") / 2;
	if (nl == 0 || nl > sizeof(nonce))
		return 1;
	for (size_t i = 0; i < nl; i++)
		sscanf((char *)nh + 2 * i, "%2hhx", &nonce[i]);
	free(nh);
	if (tpa_ak_parse(akb, akl, &ak, why, sizeof(why)) != TPA_OK ||
	    tpa_pcrs_from_json((char *)pj, pl, &p, NULL) != TPA_OK) {
		printf("FAIL: inputs do not load\n");
		return 1;
	}
	if (verify(ak, nonce, nl, att, al, sig, sl, p) != TPA_OK) {
		printf("FAIL: the genuine quote does not verify\n");
		return 1;
	}
	for (size_t i = 0; i < al + sl; i++)
		for (size_t f = 0; f < sizeof(flips); f++) {
			uint8_t *buf = i < al ? att : sig;
			size_t k = i < al ? i : i - al;
			buf[k] ^= flips[f];
			if (verify(ak, nonce, nl, att, al, sig, sl, p) == TPA_OK) {
				printf("FAIL: %s byte %zu ^ 0x%02x accepted\n",
				       i < al ? "attest" : "signature", k, flips[f]);
				accepted++;
			}
			buf[k] ^= flips[f];
			tried++;
		}
	printf("%zu passed, %zu failed\n", tried - accepted, accepted);
	tpa_pcrs_free(&p);
	tpa_ak_free(&ak);
	free(att);
	free(sig);
	free(akb);
	free(pj);
	return accepted ? 1 : 0;
}
