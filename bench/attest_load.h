/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * attest-load-gen: a fleet of TPMs emulated in software that enrolls with
 * and attests to `tpmattest serve` over its real HTTPS API (bench/README.md,
 * "Fleet under load").  Nothing here is trusted by the server: every key,
 * certificate and TPM structure goes through the server's own checks.
 */
#ifndef TPA_ATTEST_LOAD_H
#define TPA_ATTEST_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include <tpmattest/evidence.h>
#include <tpmattest/tpmattest.h>

/* Handles as tpmattest uses them (docs/evidence.md, "Defaults"). */
#define AL_AK_HANDLE 0x81000100u
#define AL_NV_INDEX 0x01000100u
#define AL_NAME_LEN 34 /* nameAlg SHA-256 || digest */
#define AL_MAX_PUBLIC 640
/* the appended EV_NO_ACTION event: its 16-byte signature, then the index */
#define AL_SUFFIX_MAX (12 + 16 * (2 + TPA_MAX_DIGEST) + 4 + 24)

/* What every machine of the fleet shares. */
typedef struct al_fleet {
	uint8_t seed[32];
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	const uint8_t *log; /* the base event log */
	size_t log_len;
	int agile; /* crypto-agile log (else SHA-1 format) */
	size_t nalgs;
	uint16_t algs[16], alg_size[16];
	int unique;             /* each machine's log gets its own appended event */
	EVP_MD_CTX *log_prefix; /* SHA-256 over the base log, to be continued */
	TPML_PCR_SELECTION sel; /* what is quoted: PCRs 0-9 in every bank of the log */
	uint8_t pcr_digest[32]; /* H(selected values), the same for every machine */
	uint8_t pcr_val[TPA_MAX_BANKS][10][TPA_MAX_DIGEST];
	size_t nbanks;
	uint64_t epoch_ms; /* clock and counter start from here at each run */
} al_fleet;

/* One emulated TPM. */
typedef struct al_machine {
	uint32_t index;
	EVP_PKEY *ek, *ak;
	uint8_t ek_pub[AL_MAX_PUBLIC]; /* TPM2B_PUBLIC */
	size_t ek_pub_len;
	uint8_t ak_pub[AL_MAX_PUBLIC]; /* TPM2B_PUBLIC */
	size_t ak_pub_len;
	uint8_t ak_name[AL_NAME_LEN], ak_qn[AL_NAME_LEN];
	uint8_t nv_pub[96]; /* TPM2B_NV_PUBLIC */
	size_t nv_pub_len;
	uint8_t nv_name[AL_NAME_LEN]; /* with TPMA_NV_WRITTEN, as NV_Certify shows it */
	uint8_t *ek_cert;             /* DER */
	size_t ek_cert_len;
	char id[65];      /* machine id: SHA-256 of ek_pub */
	char log_sha[65]; /* of this machine's log */
	uint64_t clock;   /* ms */
	uint64_t counter; /* NV counter */
	int enrolled;
} al_machine;

/* ---- attest_load_machine.c ---- */

uint64_t al_now_ms_since_2026(void);
/* The fleet's CA key, from the seed. */
int al_ca_key(const uint8_t seed[static 32], EVP_PKEY **out);
/* A self-signed bench root CA for key. */
int al_ca_cert(EVP_PKEY *key, X509 **out);
/* Reads the log, its banks, the replay and the quoted selection.  Prints
 * why on failure. */
int al_fleet_init(al_fleet *f, const uint8_t *log, size_t log_len, int unique);
void al_fleet_clear(al_fleet *f);
/* Keys, public areas, names, EK certificate and log hash of machine i. */
int al_machine_init(const al_fleet *f, al_machine *m, uint32_t index);
void al_machine_clear(al_machine *m);
/* The bytes appended to the base log for machine m (0 without unique logs). */
size_t al_machine_log_suffix(const al_fleet *f, const al_machine *m, uint8_t *out);
/* The tpmattest-enroll-request document of m (malloc'd). */
int al_machine_request(const al_machine *m, char **out);
/* TPM2_ActivateCredential in software: the challenge document in, the
 * tpmattest-enroll-response document out (malloc'd).  why on failure. */
int al_machine_activate(const al_machine *m, const char *challenge, size_t len, char **out,
                        char *why, size_t whylen);
/* One attestation's evidence over nonce, without the event log: the
 * counter and clock advance, the quote and NV certification are made and
 * signed. */
int al_machine_evidence(const al_fleet *f, al_machine *m, const uint8_t *nonce, size_t nonce_len,
                        struct tpa_evidence **out);
/* Puts m's log into ev; logbuf: scratch of log_len + AL_SUFFIX_MAX bytes. */
int al_machine_set_log(const al_fleet *f, const al_machine *m, struct tpa_evidence *ev,
                       uint8_t *logbuf);

/* ---- attest_load_http.c ---- */

typedef struct al_target {
	char host[64];         /* as given in the URL, also the Host header and the name checked */
	unsigned port;         /* from the URL, unless port_file */
	const char *port_file; /* re-read at each connect */
	SSL_CTX *ctx;
	int timeout_ms;
} al_target;

typedef struct al_conn {
	const al_target *t;
	int fd;
	SSL *ssl;
	double last_used;
	char *buf; /* the response being read */
	size_t cap, len;
} al_conn;

typedef struct al_resp {
	int status;
	const char *body; /* into the connection's buffer, NUL-terminated */
	size_t body_len;
} al_resp;

int al_target_init(al_target *t, const char *url, const char *ca, const char *port_file,
                   int timeout_ms, char *why, size_t whylen);
void al_target_clear(al_target *t);
void al_conn_init(al_conn *c, const al_target *t);
void al_conn_close(al_conn *c);
/*
 * One request on the keep-alive connection (opened when needed).  0 and
 * *r (valid until the next request on c), or -1 with why: a transport
 * error, after which the connection is closed.  hdr: one extra header line
 * without CRLF, or NULL.  retry_stale: a request that may be sent again
 * when a reused connection turns out closed before any answer.
 */
int al_http(al_conn *c, const char *method, const char *path, const char *hdr, const char *body,
            size_t len, int retry_stale, al_resp *r, char *why, size_t whylen);

#endif
