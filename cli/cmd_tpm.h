/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the commands that talk to a TPM (cmd_tpm.c). */
#ifndef TPA_CMD_TPM_H
#define TPA_CMD_TPM_H

#include <tpmattest-tpm/tpm.h>

#include "cli.h"

/* The --tcti line of a usage text whose descriptions start at the column
 * after pad (and indent, for the continuation line). */
#define TCTI_HELP_AT(pad, indent)                                                 \
	"  --tcti SPEC" pad "tpm2-tss TCTI (\"swtpm:host=127.0.0.1,port=2321\", " \
	"\"device:/dev/tpmrm0\");\n" indent                                       \
	"default $TPMATTEST_TCTI, else $TPM2TOOLS_TCTI, else tpm2-tss's default\n"
#define TCTI_HELP TCTI_HELP_AT("    ", "                 ")

/* Connects as DESIGN.md says (--tcti, TPMATTEST_TCTI, TPM2TOOLS_TCTI,
 * default); reports a failure and returns its exit status. */
int tpm_connect(const char *cmd, const char *tcti_opt, tpa_tpm **out);
/* Closes the connection and disarms the watchdog tpm_connect armed. */
void tpm_disconnect(tpa_tpm **tpm);
/* Default limit, in seconds, on a whole command's time with the TPM
 * (TPMATTEST_TIMEOUT overrides it, 0 disables it). */
#define TPM_TIMEOUT_DEFAULT 300
/* Reports a failed library call on tpm and returns the exit status. */
int tpm_report(const char *cmd, tpa_tpm *tpm, int err);
/* "0-9", "0,1,7", "0-7,14": a PCR bitmap.  Returns 0 on a malformed list. */
int parse_pcr_list(const char *s, uint32_t *mask);
/* "0x81000100" or decimal. */
int parse_u32(const char *s, uint32_t *v);
/* 2n lowercase hex digits and a NUL into out. */
void hex_string(const uint8_t *p, size_t n, char *out);
/* "ecc" or "rsa". */
int parse_key_alg(const char *s, uint16_t *alg);

#endif
