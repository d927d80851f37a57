/* SPDX-License-Identifier: BSD-2-Clause */
/* TPM commands: placeholder until the attester lands (issue 3). */
#include "cli.h"

static int not_yet(const char *what)
{
	errmsg("%s: the TPM client is not built into this version yet", what);
	return EXIT_ENV;
}

int cmd_pcrs(int argc, char **argv) { (void)argc; (void)argv; return not_yet("pcrs"); }
int cmd_init(int argc, char **argv) { (void)argc; (void)argv; return not_yet("init"); }
int cmd_quote(int argc, char **argv) { (void)argc; (void)argv; return not_yet("quote"); }
int cmd_eventlog_extend(int argc, char **argv) { (void)argc; (void)argv; return not_yet("eventlog extend"); }
