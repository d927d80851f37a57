/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd commands[] = {
        {"eventlog", cmd_eventlog, "show, replay, check (and extend into a TPM) a UEFI event log"},
        {"pcrs", cmd_pcrs, "read PCR values from the TPM"},
        {"init", cmd_init, "provision the EK, AK and NV counter (idempotent)"},
        {"quote", cmd_quote, "produce an evidence document for a verifier's nonce"},
        {"verify", cmd_verify, "verify a quote or an evidence document, offline"},
        {"policy", cmd_policy, "learn (create) and merge golden-measurement policies"},
        {"ekcert", cmd_ekcert, "verify EK certificates against manufacturer roots"},
        {"enroll", cmd_enroll,
         "bind the AK to a genuine TPM: request, challenge, activate, finish; or --server"},
        {"counter", cmd_counter,
         "the verifier's counter key and its authorizations of counter increments, offline"},
        {"attest", cmd_attest, "attest to a verifier server: nonce, quote, verdict"},
        {"machines", cmd_machines, "administer a verifier server's machines and policies"},
        {"result", cmd_result, "check a signed attestation result (EAR JWT) offline"},
        {"serve", cmd_serve, "run the verifier server (HTTPS API, SQLite store)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [ARGS...]\n\ncommands:\n", progname);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nEvery command takes --help and --json.  Exit status: 0 success or verified,\n"
	           "1 verification failed or mismatch, 2 usage error, 3 malformed input,\n"
	           "4 TPM, I/O or other environment error.  See tpmattest(1).\n");
}

int main(int argc, char **argv)
{
	/* tpm2-tss logs to stderr from inside its libraries; errors are
	 * reported here, once, with the input they concern.  TSS2_LOG set by
	 * the user still wins. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tpmattest %s\n", TPA_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	errmsg("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
