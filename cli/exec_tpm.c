/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TPM commands (pcrs, init, quote, eventlog extend) run in a separate
 * program, tpmattest-tpm, so that `tpmattest` itself, which verifiers run per
 * attestation, never loads the TPM stack.  It is looked up next to this
 * executable first (a build tree), then in the installed libexec directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define HELPER "tpmattest-tpm"

/* Where tpmattest-tpm may be: next to this executable, then libexec. */
static void helper_paths(char here[static PATH_MAX + sizeof(HELPER) + 1], const char *paths[2])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	paths[0] = NULL;
	paths[1] = TPA_LIBEXECDIR "/" HELPER;
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(here, PATH_MAX + sizeof(HELPER) + 1, "%s/%s", self, HELPER);
			paths[0] = here;
		}
	}
}

int cli_exec_tpm(const char *cmd, int argc, char **argv)
{
	char here[PATH_MAX + sizeof(HELPER) + 1];
	const char *paths[2];
	char **nargv;

	helper_paths(here, paths);
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

/* The helper's path and argv (HELPER cmd args...): EXIT_OK, or EXIT_ENV
 * reported; *nargv is the caller's to free. */
static int helper_argv(const char *cmd, const char *const *args,
                       char here[static PATH_MAX + sizeof(HELPER) + 1], const char **path,
                       char ***nargv)
{
	const char *paths[2];
	size_t n = 0;

	*path = NULL;
	helper_paths(here, paths);
	for (int i = 0; i < 2 && !*path; i++)
		if (paths[i] && access(paths[i], X_OK) == 0)
			*path = paths[i];
	if (!*path) {
		errmsg("%s: cannot run the TPM helper %s (looked in %s and %s)", cmd, HELPER,
		       paths[0] ? paths[0] : "(unknown)", paths[1]);
		return EXIT_ENV;
	}
	while (args && args[n])
		n++;
	if (!(*nargv = calloc(n + 3, sizeof(**nargv)))) {
		errmsg("%s: out of memory", cmd);
		return EXIT_ENV;
	}
	(*nargv)[0] = (char *)(uintptr_t)HELPER;
	(*nargv)[1] = (char *)(uintptr_t)cmd;
	for (size_t i = 0; i < n; i++)
		(*nargv)[i + 2] = (char *)(uintptr_t)args[i];
	return EXIT_OK;
}

int cli_run_tpm(const char *cmd, const char *const *args)
{
	char here[PATH_MAX + sizeof(HELPER) + 1];
	const char *path;
	char **nargv;
	pid_t pid;
	int st;

	if (helper_argv(cmd, args, here, &path, &nargv) != EXIT_OK)
		return EXIT_ENV;
	fflush(NULL); /* nothing buffered is written twice */
	if ((pid = fork()) < 0) {
		errmsg("%s: cannot start %s: %s", cmd, HELPER, strerror(errno));
		free(nargv);
		return EXIT_ENV;
	}
	if (pid == 0) {
		/* stdout is the caller's (a verdict, --json): the helper's
		 * summaries of the files it wrote are not for the user */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(EXIT_ENV);
		execv(path, nargv);
		errmsg("%s: cannot run the TPM helper %s: %s", cmd, path, strerror(errno));
		_exit(EXIT_ENV);
	}
	free(nargv);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			errmsg("%s: waiting for %s: %s", cmd, HELPER, strerror(errno));
			return EXIT_ENV;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	errmsg("%s: %s %s died of signal %d", cmd, HELPER, cmd, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return EXIT_ENV;
}

int cli_spawn_tpm(const char *cmd, const char *const *args, pid_t *pid, int *to_child,
                  int *from_child)
{
	char here[PATH_MAX + sizeof(HELPER) + 1];
	const char *path;
	char **nargv;
	int in[2] = {-1, -1}, out[2] = {-1, -1};

	if (helper_argv(cmd, args, here, &path, &nargv) != EXIT_OK)
		return EXIT_ENV;
	if (pipe(in) != 0 || pipe(out) != 0 || fcntl(in[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(out[0], F_SETFD, FD_CLOEXEC) != 0) {
		errmsg("%s: cannot make pipes to %s: %s", cmd, HELPER, strerror(errno));
		goto fail;
	}
	fflush(NULL);
	if ((*pid = fork()) < 0) {
		errmsg("%s: cannot start %s: %s", cmd, HELPER, strerror(errno));
		goto fail;
	}
	if (*pid == 0) {
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(EXIT_ENV);
		if (in[0] != STDIN_FILENO)
			close(in[0]);
		if (out[1] != STDOUT_FILENO)
			close(out[1]);
		execv(path, nargv);
		errmsg("%s: cannot run the TPM helper %s: %s", cmd, path, strerror(errno));
		_exit(EXIT_ENV);
	}
	free(nargv);
	close(in[0]);
	close(out[1]);
	*to_child = in[1];
	*from_child = out[0];
	return EXIT_OK;
fail:
	free(nargv);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return EXIT_ENV;
}

int cli_wait_tpm(const char *cmd, pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			errmsg("%s: waiting for %s: %s", cmd, HELPER, strerror(errno));
			return EXIT_ENV;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	errmsg("%s: %s died of signal %d", cmd, HELPER, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
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
