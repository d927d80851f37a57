/* SPDX-License-Identifier: BSD-2-Clause */
/* The tpmattest command: one file per subcommand, dispatched from main.c. */
#ifndef TPA_CLI_H
#define TPA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tpmattest/tpmattest.h>

/* Exit statuses (DESIGN.md): the same everywhere. */
enum {
	EXIT_OK = 0,        /* success, or verified */
	EXIT_NO = 1,        /* verification failed, mismatch: a definite "no" */
	EXIT_USAGE = 2,     /* usage error */
	EXIT_MALFORMED = 3, /* malformed input */
	EXIT_ENV = 4,       /* TPM, I/O, network or other environment error */
};

#define DEFAULT_EVENTLOG "/sys/kernel/security/tpm0/binary_bios_measurements"

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

extern const char *progname;

/* Subcommands. */
int cmd_eventlog(int argc, char **argv);
/* Runs the TPM subcommand cmd in tpmattest-tpm (next to this executable,
 * else in libexec) with argv[1..]; returns only on failure (exit status). */
int cli_exec_tpm(const char *cmd, int argc, char **argv);
/* Runs tpmattest-tpm cmd args... (NULL-terminated) as a child process and
 * returns its exit status; EXIT_ENV when it cannot be run or dies of a
 * signal (reported).  The helper reports its own errors on stderr; its
 * stdout goes to /dev/null. */
int cli_run_tpm(const char *cmd, const char *const *args);
/* The same as a coprocess: its stdin and stdout are pipes (*to_child,
 * *from_child, the caller's to close); cli_wait_tpm reaps it and returns
 * its exit status as cli_run_tpm does. */
#include <sys/types.h>
int cli_spawn_tpm(const char *cmd, const char *const *args, pid_t *pid, int *to_child,
                  int *from_child);
int cli_wait_tpm(const char *cmd, pid_t pid);
struct tpa_ekstore;
/* Loads every regular file of dir (sorted, dot files skipped) into store as
 * role (TPA_EKSTORE_*).  A file that does not read as certificates is
 * skipped with a warning naming it: a trust store can only lose anchors
 * that way, never gain one.  EXIT_ENV when dir or a file cannot be read. */
int cli_load_ekstore_dir(struct tpa_ekstore *store, int role, const char *dir);
int cmd_pcrs(int argc, char **argv);
int cmd_quote(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_eventlog_extend(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_ekcert(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_enroll_request(int argc, char **argv);
/* The online protocol (cmd_attest.c, cmd_machines.c, docs/api.md). */
int cmd_enroll_server(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_machines(int argc, char **argv);
/* tpmattest counter (cmd_counter.c): the verifier's side of authorized
 * counter increments, offline */
int cmd_counter(int argc, char **argv);
/* tpmattest result verify (cmd_result.c): a signed attestation result (EAR
 * JWT, <tpmattest/ear.h>) checked offline with the verifier's JWK */
int cmd_result(int argc, char **argv);
/* tpmattest serve (cmd_serve.c; the server is server/serve.h) */
int cmd_serve(int argc, char **argv);
int cmd_enroll_activate(int argc, char **argv);

/* Helpers (util.c). */
/* Prints "tpmattest: <msg>\n" to stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Maps a library error to an exit status. */
int exit_for(int err);
/* Reads a whole file ("-" is stdin), refusing files larger than max bytes.
 * Returns TPA_OK, TPA_E_IO (errno set) or TPA_E_LIMIT. */
int read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes a file atomically: a temporary beside it, fsync, rename. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* Parses hex (optionally 0x-prefixed) into a malloc'd buffer. */
int parse_hex(const char *s, uint8_t **out, size_t *len);
void print_hex(FILE *f, const uint8_t *p, size_t n);
/* Prints usage for the subcommand from its --help text and returns EXIT_USAGE. */
int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shared by verify and policy (cmd_verify.c).  Each reports its own error
 * and returns an exit status. */
struct tpa_ak;
struct tpa_policy;
struct tpa_evidence;
struct tpa_eventlog;
struct tpa_result;
int cli_load_ak(const char *path, struct tpa_ak **ak);
int cli_load_policy(const char *path, struct tpa_policy **p);
int cli_load_evidence(const char *path, struct tpa_evidence **ev, struct tpa_eventlog **log);
void cli_report(const struct tpa_result *res, int verdict, bool json, FILE *out);
/* A state file (verify --state): an exclusive lock on FILE.lock, held
 * until *lockfd is closed (or exit); and its reading, *have false when it
 * does not exist or holds only authorizations issued before a first
 * counter (counter_auths), which is then in *st. */
struct tpa_state;
/* A verifier's counter key document ({"public","name"}: `tpmattest counter
 * public`, GET /v1/counter-key): the key's Name (counter_key_file.c).  Each
 * reports its own error and returns an exit status. */
int cli_counter_key_from_doc(const char *what, const char *doc, size_t len, uint8_t key_name[34]);
int cli_counter_key_from_file(const char *path, uint8_t key_name[34]);
int cli_lock_state(const char *path, int *lockfd);
int cli_load_state(const char *path, struct tpa_state *st, bool *have);

#endif
