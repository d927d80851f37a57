/* SPDX-License-Identifier: BSD-2-Clause */
/* tpmattest-tpm: the TPM commands, run by `tpmattest` (see exec_tpm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd commands[] = {
        {"pcrs", cmd_pcrs, NULL},
        {"init", cmd_init, NULL},
        {"quote", cmd_quote, NULL},
        {"eventlog-extend", cmd_eventlog_extend, NULL},
        {"enroll-request", cmd_enroll_request, NULL},
        {"enroll-activate", cmd_enroll_activate, NULL},
};

int main(int argc, char **argv)
{
	/* tpm2-tss logs to stderr from inside its libraries; errors are
	 * reported here, once, with the input they concern.  TSS2_LOG set by
	 * the user still wins. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].run(argc - 1, argv + 1);
	errmsg("tpmattest-tpm runs the TPM commands of tpmattest; use `tpmattest "
	       "pcrs|init|quote|eventlog extend`");
	return EXIT_USAGE;
}
