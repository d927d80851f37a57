/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TPM commands (pcrs, init, quote, eventlog extend) run in a separate
 * program, tpmattest-tpm, so that `tpmattest` itself, which verifiers run per
 * attestation, never loads the TPM stack.  It is looked up next to this
 * executable first (a build tree), then in the installed libexec directory.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define HELPER "tpmattest-tpm"

int cli_exec_tpm(const char *cmd, int argc, char **argv)
{
	char self[PATH_MAX], here[PATH_MAX + sizeof(HELPER) + 1];
	const char *paths[2] = {NULL, TPA_LIBEXECDIR "/" HELPER};
	char **nargv;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(here, sizeof(here), "%s/%s", self, HELPER);
			paths[0] = here;
		}
	}
	if (!(nargv = calloc((size_t)argc + 2, sizeof(*nargv)))) {
		errmsg("%s: out of memory", cmd);
		return EXIT_ENV;
	}
	nargv[0] = (char *)(uintptr_t)HELPER;
	nargv[1] = (char *)(uintptr_t)cmd;
	for (int i = 1; i < argc; i++)
		nargv[i + 1] = argv[i];
	for (int i = 0; i < 2; i++)
		if (paths[i] && access(paths[i], X_OK) == 0)
			execv(paths[i], nargv);
	errmsg("%s: cannot run the TPM helper %s (looked in %s and %s): %s", cmd, HELPER,
	       paths[0] ? paths[0] : "(unknown)", paths[1], strerror(errno));
	free(nargv);
	return EXIT_ENV;
}

int cmd_pcrs(int argc, char **argv)
{
	return cli_exec_tpm("pcrs", argc, argv);
}
int cmd_init(int argc, char **argv)
{
	return cli_exec_tpm("init", argc, argv);
}
int cmd_quote(int argc, char **argv)
{
	return cli_exec_tpm("quote", argc, argv);
}
int cmd_eventlog_extend(int argc, char **argv)
{
	return cli_exec_tpm("eventlog-extend", argc, argv);
}
