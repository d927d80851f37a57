/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The attester's side of the online protocol (docs/api.md):
 *   tpmattest enroll --server URL   request -> challenge -> activation
 *   tpmattest attest --server URL   nonce -> quote -> verdict
 * The TPM steps run in tpmattest-tpm as child processes (cli_run_tpm),
 * their files in a private temporary directory (0700, files 0600) that is
 * removed afterwards; the verdict is the server's, printed like `verify`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <tpmattest/enroll.h>
#include <tpmattest/evidence.h>

#include "base/json.h"
#include "cli.h"
#include "http_client.h"

static const char enroll_usage[] =
        "usage: tpmattest enroll --server URL --ca FILE [--name NAME] [--id-file FILE]\n"
        "                        [--json] [--tcti SPEC] [--ak-handle H] [--nv-index I]\n"
        "                        [--timeout SECONDS]\n"
        "\n"
        "Enrolls this machine's TPM with a verifier server (tpmattest serve): sends the\n"
        "enrollment request (EKs, certificates, AK, counter), answers the server's\n"
        "challenge with TPM2_ActivateCredential, and prints the machine id.\n"
        "Exit 0 enrolled, 1 refused (the server's check and reason are printed), 2 usage,\n"
        "3 the server calls a document malformed, 4 TPM, network or server error.\n"
        "  --server URL       https://HOST[:PORT][/PREFIX] (http:// only to 127.0.0.1 or ::1)\n"
        "  --ca FILE          PEM CA certificate(s) the server's certificate must chain to\n"
        "  --name NAME        a name for the machine (1-256 bytes of UTF-8)\n"
        "  --id-file FILE     also write the machine id to FILE (for tpmattest attest)\n"
        "  --json             print {\"machine_id\",\"name\",\"enrolled_at\"}\n"
        "  --tcti SPEC        the TPM (default: $TPMATTEST_TCTI, $TPM2TOOLS_TCTI, tpm2-tss)\n"
        "  --ak-handle H      persistent AK handle (default 0x81000100)\n"
        "  --nv-index I       NV counter index (default 0x01000101 for the counter only\n"
        "                     the server's authorizations increment; 0x01000100 for the\n"
        "                     older kind, with a server that has no counter key)\n"
        "  --timeout SECONDS  per request (default 30)\n";

static const char attest_usage[] =
        "usage: tpmattest attest --server URL --ca FILE (--machine ID | --id-file FILE)\n"
        "                        [--interval SECONDS [--count N]] [--evidence-out FILE]\n"
        "                        [--json] [--tcti SPEC] [--eventlog LOG] [--full-log]\n"
        "                        [--timeout SECONDS]\n"
        "       tpmattest attest --server URL --ca FILE (--machine ID | --id-file FILE)\n"
        "                        --evidence FILE [--json] [--timeout SECONDS]\n"
        "\n"
        "Attests to a verifier server: asks for a nonce, quotes with the TPM, sends the\n"
        "evidence and prints the server's verdict with every check, as tpmattest verify\n"
        "does.  The event log is sent only when the server does not hold it already.\n"
        "Exit 0 verified, 1 not verified or the nonce refused, 2 usage, 3 the server\n"
        "calls the evidence malformed, 4 TPM, network or server (store) error.\n"
        "  --server URL          https://HOST[:PORT][/PREFIX]\n"
        "  --ca FILE             PEM CA certificate(s) the server's certificate must chain to\n"
        "  --machine ID          the machine id (tpmattest enroll --server prints it)\n"
        "  --id-file FILE        read the id from FILE (default $TPMATTEST_ID_FILE)\n"
        "  --interval SECONDS    attest again every SECONDS; after an error, back off\n"
        "                        exponentially (up to 300 s) with random jitter\n"
        "  --count N             stop after N rounds (exit status: the last round's)\n"
        "  --evidence-out FILE   save the evidence (with its event log) of the last round\n"
        "  --evidence FILE       send this evidence document as it is, without a TPM\n"
        "                        (replay tests); no nonce is asked for\n"
        "  --eventlog LOG        the event log to quote with (tpmattest quote --eventlog)\n"
        "  --full-log            always send the event log, never only its SHA-256\n"
        "  --json                print the server's verdict document\n"
        "  --tcti SPEC           the TPM (default: $TPMATTEST_TCTI, $TPM2TOOLS_TCTI, tpm2-tss)\n"
        "  --timeout SECONDS     per request (default 30)\n";

#define MAX_EVIDENCE (128u << 20)
#define BACKOFF_CAP 300

/* ---- shared ---- */

/*
 * SIGINT, SIGTERM and SIGHUP end a run between its steps, not inside one:
 * the private directory (which may hold the enrollment secret) is removed
 * first, then the signal is raised again with its default action.  A second
 * signal acts at once (SA_RESETHAND).
 */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* After cleaning up: ends the process as the signal would have. */
static void reraise(void)
{
	if (got_signal)
		raise(got_signal);
}

static bool interrupted(const char *cmd)
{
	if (got_signal)
		errmsg("%s: stopped by signal %d", cmd, (int)got_signal);
	return got_signal != 0;
}

static int parse_uint(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long x;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static bool is_machine_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* A private directory for one run's files, removed by rm_private. */
struct private_dir {
	char path[PATH_MAX];
	char file[4][PATH_MAX];
	int n;
};

static int mk_private(const char *cmd, struct private_dir *d)
{
	const char *tmp = getenv("TMPDIR");
	memset(d, 0, sizeof(*d));
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	if (snprintf(d->path, sizeof(d->path), "%s/tpmattest-%s.XXXXXX", tmp, cmd) >=
	            (int)sizeof(d->path) ||
	    !mkdtemp(d->path)) {
		errmsg("%s: cannot create a private directory in %s: %s", cmd, tmp,
		       strerror(errno));
		d->path[0] = 0;
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static const char *private_file(struct private_dir *d, const char *name)
{
	char *p = d->file[d->n < 4 ? d->n++ : 3];
	size_t dl = strlen(d->path), nl = strlen(name);
	/* mkdtemp's path is short; PATH_MAX holds it and a file name */
	if (dl + 1 + nl >= PATH_MAX)
		nl = PATH_MAX - dl - 2;
	memcpy(p, d->path, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl);
	p[dl + 1 + nl] = 0;
	return p;
}

/* Overwrites what a file held (a secret) before removing it. */
static void shred(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			static const char zero[4096];
			off_t left = st.st_size;
			while (left > 0) {
				ssize_t w = write(fd, zero,
				                  left > (off_t)sizeof(zero) ? sizeof(zero)
				                                             : (size_t)left);
				if (w <= 0)
					break;
				left -= w;
			}
			(void)fsync(fd);
		}
		close(fd);
	}
	unlink(path);
}

static void rm_private(struct private_dir *d)
{
	DIR *dir;
	struct dirent *e;
	if (!d->path[0])
		return;
	for (int i = 0; i < d->n; i++)
		shred(d->file[i]);
	/* what else a helper left here (its atomic-write temporaries after a
	 * failure) is ours too: the directory is private */
	if ((dir = opendir(d->path)) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			char p[PATH_MAX];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name) < (int)sizeof(p))
				shred(p);
		}
		closedir(dir);
	}
	if (rmdir(d->path) != 0)
		errmsg("warning: cannot remove the private directory %s: %s", d->path,
		       strerror(errno));
	d->path[0] = 0;
}

static int read_doc(const char *cmd, const char *what, const char *path, size_t max, uint8_t **buf,
                    size_t *len)
{
	int r = read_file(path, max, buf, len);
	if (r == TPA_E_LIMIT) {
		errmsg("%s: %s %s: larger than %zu bytes", cmd, what, path, max);
		return EXIT_MALFORMED;
	}
	if (r != TPA_OK) {
		errmsg("%s: %s %s: cannot read: %s", cmd, what, path, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

/* Writes data to path with mode 0600, exclusively (a fresh private file). */
static int write_secret(const char *cmd, const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	const char *p = data;
	if (fd < 0)
		goto fail;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0)
		goto fail;
	return EXIT_OK;
fail:
	errmsg("%s: %s: cannot write: %s", cmd, path, strerror(errno));
	return EXIT_ENV;
}

static const char *jstr(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An error answer, reported once; returns its exit status. */
static int answer_error(const char *cmd, const char *what, const struct http_response *resp)
{
	char why[1024];
	errmsg("%s: %s: %s", cmd, what, http_error_text(resp, why, sizeof(why)));
	return http_exit_for_status(resp->status);
}

/* A 2xx answer that is not the document the endpoint gives. */
static int answer_malformed(const char *cmd, const char *what, const char *why)
{
	errmsg("%s: %s: the server's answer is not what docs/api.md says: %s", cmd, what, why);
	return EXIT_ENV;
}

/* ---- enroll --server ---- */

int cmd_enroll_server(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"server", required_argument, NULL, 's'},
	        {"ca", required_argument, NULL, 'c'},
	        {"name", required_argument, NULL, 'N'},
	        {"id-file", required_argument, NULL, 'i'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"ak-handle", required_argument, NULL, 'k'},
	        {"nv-index", required_argument, NULL, 'n'},
	        {"timeout", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct http_opts ho = {0};
	const char *name = NULL, *id_file = NULL, *tcti = NULL, *ak_handle = NULL, *nv_index = NULL;
	bool json = false;
	struct private_dir d;
	const char *reqp, *chp, *respp, *keyp;
	bool have_key = false;
	struct http_response resp;
	struct json_object *ans = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, rlen = 0;
	char *body = NULL, machine_id[65] = "";
	const char *args[14];
	int c, rc, na;
	long long x;

	memset(&resp, 0, sizeof(resp));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': ho.url = optarg; break;
		case 'c': ho.ca = optarg; break;
		case 'N': name = optarg; break;
		case 'i': id_file = optarg; break;
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'k': ak_handle = optarg; break;
		case 'n': nv_index = optarg; break;
		case 'T':
			if (parse_uint(optarg, 1, 3600, &x) != 0)
				return usage_error(enroll_usage,
				                   "enroll: --timeout must be 1 to 3600 seconds");
			ho.timeout = (int)x;
			break;
		case 'h': fputs(enroll_usage, stdout); return EXIT_OK;
		default: return usage_error(enroll_usage, "enroll --server: bad option");
		}
	}
	if (optind < argc)
		return usage_error(enroll_usage, "enroll --server: unexpected argument '%s'",
		                   argv[optind]);
	if (!ho.url)
		return usage_error(enroll_usage, "enroll: --server URL is required");
	if (name && (!name[0] || strlen(name) > 256))
		return usage_error(enroll_usage, "enroll: --name must be 1 to 256 bytes");
	if (http_check_opts(&ho, "enroll") != EXIT_OK) {
		fputs(enroll_usage, stderr);
		return EXIT_USAGE;
	}
	catch_signals();
	if ((rc = mk_private("enroll", &d)) != EXIT_OK)
		return rc;
	reqp = private_file(&d, "request.json");
	chp = private_file(&d, "challenge.json");
	respp = private_file(&d, "response.json");

	/* 0. the server's counter key: the counter is made so that only its
	 * authorizations increment it (a server without one: the older
	 * counter) */
	keyp = private_file(&d, "counter-key.json");
	if ((rc = http_request(&ho, "enroll", "GET", "/v1/counter-key", NULL, NULL, 0, &resp)) !=
	    EXIT_OK)
		goto done;
	if (resp.status == 200) {
		uint8_t kn[34];
		if ((rc = cli_counter_key_from_doc("GET /v1/counter-key", resp.body, resp.body_len,
		                                   kn)) != EXIT_OK ||
		    (rc = write_secret("enroll", keyp, resp.body, resp.body_len)) != EXIT_OK)
			goto done;
		have_key = true;
	} else if (resp.status != 404) {
		rc = answer_error("enroll", "the server gave no counter key", &resp);
		goto done;
	}
	http_response_clear(&resp);

	/* 1. the request, from the TPM */
	na = 0;
	args[na++] = "--out";
	args[na++] = reqp;
	if (have_key) {
		args[na++] = "--counter-key";
		args[na++] = keyp;
	}
	if (tcti) {
		args[na++] = "--tcti";
		args[na++] = tcti;
	}
	if (ak_handle) {
		args[na++] = "--ak-handle";
		args[na++] = ak_handle;
	}
	if (nv_index) {
		args[na++] = "--nv-index";
		args[na++] = nv_index;
	}
	args[na] = NULL;
	if ((rc = cli_run_tpm("enroll-request", args)) != EXIT_OK)
		goto done;
	if (interrupted("enroll")) {
		rc = EXIT_ENV;
		goto done;
	}
	if ((rc = read_doc("enroll", "request", reqp, TPA_ENROLL_JSON_MAX, &buf, &len)) != EXIT_OK)
		goto done;
	{
		/* {"name": ..., "request": <the document as the helper wrote it>} */
		const char *jname = "null";
		struct json_object *ns = name ? json_object_new_string(name) : NULL;
		if (ns)
			jname = json_object_to_json_string_ext(
			        ns, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		size_t bl = strlen(jname) + len + 32;
		if (!(body = malloc(bl))) {
			json_object_put(ns);
			rc = EXIT_ENV;
			goto done;
		}
		rlen = (size_t)snprintf(body, bl, "{\"name\":%s,\"request\":%s}", jname,
		                        (const char *)buf);
		json_object_put(ns);
	}
	free(buf);
	buf = NULL;

	/* 2. the challenge, from the server */
	if ((rc = http_request(&ho, "enroll", "POST", "/v1/enroll", NULL, body, rlen, &resp)) !=
	    EXIT_OK)
		goto done;
	if (resp.status != 200) {
		rc = answer_error("enroll", "the server refused the enrollment request", &resp);
		goto done;
	}
	{
		struct json_object *ch;
		const char *id, *doc;
		if (!(ans = http_json(&resp)) || !(id = jstr(ans, "machine_id")) ||
		    !is_machine_id(id) || !json_object_object_get_ex(ans, "challenge", &ch) ||
		    !json_object_is_type(ch, json_type_object)) {
			rc = answer_malformed("enroll", "POST /v1/enroll",
			                      "no {\"machine_id\": HEX, \"challenge\": {...}}");
			goto done;
		}
		snprintf(machine_id, sizeof(machine_id), "%s", id);
		doc = json_object_to_json_string_ext(ch, JSON_C_TO_STRING_PLAIN |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
		if ((rc = write_secret("enroll", chp, doc, strlen(doc))) != EXIT_OK)
			goto done;
	}
	json_object_put(ans);
	ans = NULL;
	http_response_clear(&resp);

	/* 3. the activation, in the TPM */
	na = 0;
	args[na++] = chp;
	args[na++] = "--out";
	args[na++] = respp;
	if (tcti) {
		args[na++] = "--tcti";
		args[na++] = tcti;
	}
	args[na] = NULL;
	if ((rc = cli_run_tpm("enroll-activate", args)) != EXIT_OK)
		goto done;
	if (interrupted("enroll")) {
		rc = EXIT_ENV;
		goto done;
	}
	if ((rc = read_doc("enroll", "response", respp, TPA_ENROLL_JSON_MAX, &buf, &len)) !=
	    EXIT_OK)
		goto done;

	/* 4. the record, at the server */
	rc = http_request(&ho, "enroll", "POST", "/v1/enroll/activate", NULL, buf, len, &resp);
	OPENSSL_cleanse(buf, len);
	if (rc != EXIT_OK)
		goto done;
	if (resp.status != 200) {
		rc = answer_error("enroll", "the server refused the activation", &resp);
		goto done;
	}
	{
		const char *id;
		struct json_object *nm, *at;
		if (!(ans = http_json(&resp)) || !(id = jstr(ans, "machine_id")) ||
		    !is_machine_id(id) || !json_object_object_get_ex(ans, "name", &nm) ||
		    !json_object_object_get_ex(ans, "enrolled_at", &at) ||
		    !json_object_is_type(at, json_type_int)) {
			rc = answer_malformed("enroll", "POST /v1/enroll/activate",
			                      "no {\"machine_id\", \"name\", \"enrolled_at\"}");
			goto done;
		}
		if (strcmp(id, machine_id) != 0) {
			rc = answer_malformed("enroll", "POST /v1/enroll/activate",
			                      "another machine id than the challenge's");
			goto done;
		}
		if (id_file) {
			char line[66];
			snprintf(line, sizeof(line), "%s\n", id);
			if (write_file_atomic(id_file, line, strlen(line)) != TPA_OK) {
				errmsg("enroll: --id-file %s: cannot write: %s (the machine %s is "
				       "enrolled)",
				       id_file, strerror(errno), id);
				rc = EXIT_ENV;
				goto done;
			}
		}
		if (json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "machine_id", json_object_new_string(id));
			json_object_object_add(o, "name", json_object_get(nm));
			json_object_object_add(o, "enrolled_at", json_object_get(at));
			puts(json_object_to_json_string_ext(
			        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			                   JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			puts(id);
		}
	}
	rc = EXIT_OK;
done:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(body);
	json_object_put(ans);
	http_response_clear(&resp);
	rm_private(&d);
	reraise();
	return rc;
}

/* ---- attest ---- */

struct attest_opts {
	struct http_opts ho;
	const char *machine, *evidence, *evidence_out, *tcti, *eventlog;
	bool json, full_log;
};

static const char *status_word(const char *s)
{
	if (!s)
		return "?";
	if (strcmp(s, "pass") == 0)
		return "pass";
	if (strcmp(s, "fail") == 0)
		return "FAIL";
	if (strcmp(s, "not_run") == 0)
		return "NOT RUN";
	if (strcmp(s, "skipped") == 0)
		return "skipped";
	return "?";
}

/* Prints the server's verdict as tpmattest verify prints its own; returns
 * EXIT_OK only for a verdict "pass" that says verified. */
static int print_verdict(const struct attest_opts *o, const struct http_response *resp,
                         char *summary, size_t slen)
{
	struct json_object *v = http_json(resp), *checks, *verified, *seq;
	const char *verdict;
	bool pass;
	size_t n;

	if (!v || !(verdict = jstr(v, "verdict")) ||
	    !json_object_object_get_ex(v, "checks", &checks) ||
	    !json_object_is_type(checks, json_type_array) ||
	    !json_object_object_get_ex(v, "verified", &verified) ||
	    !json_object_is_type(verified, json_type_boolean)) {
		json_object_put(v);
		return answer_malformed("attest", "the verdict",
		                        "no {\"verdict\", \"verified\", \"checks\": [...]}");
	}
	pass = strcmp(verdict, "pass") == 0 && json_object_get_boolean(verified);
	n = json_object_array_length(checks);
	if (o->json) {
		/* the server's document as it is: it passed the strict reader, so
		 * it holds no raw control characters */
		fwrite(resp->body, 1, resp->body_len, stdout);
		if (!resp->body_len || resp->body[resp->body_len - 1] != '\n')
			putchar('\n');
	} else {
		char a[200], b[800];
		if (pass) {
			puts("VERIFIED");
		} else {
			const char *err = jstr(v, "error");
			bool said = false;
			for (size_t i = 0; i < n && !said; i++) {
				struct json_object *c = json_object_array_get_idx(checks, i);
				const char *st = jstr(c, "status");
				if (st && (strcmp(st, "fail") == 0 || strcmp(st, "not_run") == 0)) {
					escape_into(a, sizeof(a), jstr(c, "name"));
					escape_into(b, sizeof(b), jstr(c, "reason"));
					printf("NOT VERIFIED: %s: %s\n", a, b);
					said = true;
				}
			}
			if (!said) {
				escape_into(a, sizeof(a), err ? err : verdict);
				printf("NOT VERIFIED: %s\n", a);
			}
		}
		for (size_t i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(checks, i);
			escape_into(a, sizeof(a), jstr(c, "name"));
			escape_into(b, sizeof(b), jstr(c, "reason"));
			printf("  %-8s %-18s %s\n", status_word(jstr(c, "status")), a, b);
		}
		if (jstr(v, "note")) {
			escape_into(b, sizeof(b), jstr(v, "note"));
			printf("note: %s\n", b);
		}
	}
	fflush(stdout);
	{
		struct json_object *rec;
		char e[80];
		escape_into(e, sizeof(e), jstr(v, "error") ? jstr(v, "error") : "");
		if (json_object_object_get_ex(v, "seq", &seq) &&
		    json_object_is_type(seq, json_type_int))
			snprintf(summary, slen, "%s%s%s (seq %lld)", pass ? "pass" : "fail",
			         e[0] ? ": " : "", e, (long long)json_object_get_int64(seq));
		else
			snprintf(summary, slen, "%s%s%s%s", pass ? "pass" : "fail",
			         e[0] ? ": " : "", e,
			         json_object_object_get_ex(v, "recorded", &rec) &&
			                         !json_object_get_boolean(rec)
			                 ? " (not recorded)"
			                 : "");
	}
	json_object_put(v);
	return pass ? EXIT_OK : EXIT_NO;
}

/* The evidence document as sent with only the log's hash: the same
 * document with "eventlog": null. */
static char *without_log(const char *doc, size_t len)
{
	struct json_object *root = NULL;
	char *out = NULL;
	if (tpa_json_parse_max(doc, len, MAX_EVIDENCE, 4096, &root, NULL, 0) != TPA_OK || !root)
		return NULL;
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_add(root, "eventlog", NULL) == 0)
		out = strdup(json_object_to_json_string_ext(
		        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

static bool is_eventlog_unknown(const struct http_response *resp)
{
	struct json_object *e;
	const char *code;
	bool r;
	if (resp->status != 409)
		return false;
	e = http_json(resp);
	code = jstr(e, "error");
	r = code && strcmp(code, "eventlog_unknown") == 0;
	json_object_put(e);
	return r;
}

static int send_evidence(const struct attest_opts *o, const char *path, const char *doc, size_t len,
                         const char *log_sha, char *summary, size_t slen)
{
	struct http_response resp;
	char *thin = NULL;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if (log_sha && !(thin = without_log(doc, len))) {
		errmsg("attest: cannot make the evidence without its log (out of memory?)");
		return EXIT_ENV;
	}
	if (thin) {
		const char *hdr[] = {"Tpmattest-Eventlog-Sha256", log_sha, NULL};
		rc = http_request(&o->ho, "attest", "POST", path, hdr, thin, strlen(thin), &resp);
		free(thin);
		if (rc != EXIT_OK)
			return rc;
		if (!is_eventlog_unknown(&resp))
			goto answered;
		/* that answer did not consume the nonce: the same evidence
		 * again, with its log */
		http_response_clear(&resp);
	}
	if ((rc = http_request(&o->ho, "attest", "POST", path, NULL, doc, len, &resp)) != EXIT_OK)
		return rc;
answered:
	if (resp.status == 200)
		rc = print_verdict(o, &resp, summary, slen);
	else if (resp.status == 404)
		rc = answer_error("attest", "no such machine (enroll it first)", &resp);
	else if (resp.status == 403)
		rc = answer_error("attest", "the server refused the evidence", &resp);
	else
		rc = answer_error("attest", "the server did not judge the evidence", &resp);
	if (rc != EXIT_OK && resp.status != 200)
		snprintf(summary, slen, "HTTP %d", resp.status);
	http_response_clear(&resp);
	return rc;
}

/* One line (without its newline) from fd, at most cap - 1 bytes, read a
 * byte at a time so nothing after it is taken: its length, 0 at EOF
 * before any byte, -1 on error or a line too long. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* One round: nonce, quote, send, verdict.  Returns its exit status. */
static int attest_once(const struct attest_opts *o, char *summary, size_t slen)
{
	char path[128], nonce[129] = "", held_sha[65] = "", log_sha[65] = "";
	struct http_response resp;
	struct json_object *ans = NULL;
	struct private_dir d;
	tpa_evidence *ev = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *evp, *args[10];
	int rc, na = 0, to_child = -1, from_child = -1;
	pid_t child = -1;

	snprintf(summary, slen, "error");
	memset(&resp, 0, sizeof(resp));
	d.path[0] = 0;
	d.n = 0;
	if (o->evidence) {
		/* as it is: a replay test wants the server to see exactly these bytes */
		snprintf(path, sizeof(path), "/v1/machines/%s/attest", o->machine);
		if ((rc = read_doc("attest", "evidence", o->evidence, MAX_EVIDENCE, &buf, &len)) !=
		    EXIT_OK)
			return rc;
		rc = send_evidence(o, path, (const char *)buf, len, NULL, summary, slen);
		free(buf);
		return rc;
	}

	/* The quote runs as a coprocess (tpmattest-tpm quote --exchange): it
	 * opens the policy session for the counter's increment and says its
	 * nonceTPM (null for the older counter); the nonce request carries it
	 * and the server's answer, nonce and authorization, goes back. */
	if ((rc = mk_private("attest", &d)) != EXIT_OK)
		goto done;
	evp = private_file(&d, "evidence.json");
	args[na++] = "--exchange";
	args[na++] = "--out";
	args[na++] = evp;
	if (o->tcti) {
		args[na++] = "--tcti";
		args[na++] = o->tcti;
	}
	if (o->eventlog) {
		args[na++] = "--eventlog";
		args[na++] = o->eventlog;
	}
	args[na] = NULL;
	if ((rc = cli_spawn_tpm("quote", args, &child, &to_child, &from_child)) != EXIT_OK)
		goto done;
	{
		char line[512], *reqbody = NULL;
		const char *nt = NULL;
		struct json_object *lo = NULL, *ntv;
		ssize_t got = read_line(from_child, line, sizeof(line));
		if (got <= 0 || tpa_json_parse(line, (size_t)got, &lo, NULL, 0) != TPA_OK ||
		    !json_object_is_type(lo, json_type_object) ||
		    !json_object_object_get_ex(lo, "nonce_tpm", &ntv) ||
		    !(json_object_is_type(ntv, json_type_null) ||
		      json_object_is_type(ntv, json_type_string))) {
			json_object_put(lo);
			close(to_child);
			to_child = -1;
			rc = cli_wait_tpm("attest", child);
			child = -1;
			if (rc == EXIT_OK) {
				errmsg("attest: tpmattest-tpm quote --exchange said no "
				       "{\"nonce_tpm\"}");
				rc = EXIT_ENV;
			}
			goto done;
		}
		if (json_object_is_type(ntv, json_type_string))
			nt = json_object_get_string(ntv);
		if (nt) {
			struct json_object *b = json_object_new_object();
			json_object_object_add(b, "nonce_tpm", json_object_new_string(nt));
			reqbody = strdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
			json_object_put(b);
		}
		json_object_put(lo);
		snprintf(path, sizeof(path), "/v1/machines/%s/nonce", o->machine);
		rc = http_request(&o->ho, "attest", "POST", path, NULL, reqbody,
		                  reqbody ? strlen(reqbody) : 0, &resp);
		free(reqbody);
		if (rc != EXIT_OK)
			goto done;
	}
	if (resp.status != 200) {
		rc = answer_error("attest",
		                  resp.status == 404 ? "no such machine (enroll it first)"
		                                     : "the server gave no nonce",
		                  &resp);
		snprintf(summary, slen, "HTTP %d", resp.status);
		goto done;
	}
	{
		const char *n, *h;
		struct json_object *hv, *au = NULL, *back;
		const char *line;
		if (!(ans = http_json(&resp)) || !(n = jstr(ans, "nonce")) || strlen(n) != 64 ||
		    strspn(n, "0123456789abcdef") != 64 ||
		    !json_object_object_get_ex(ans, "eventlog_sha256", &hv)) {
			rc = answer_malformed("attest", path,
			                      "no {\"nonce\": 64 hex digits, \"eventlog_sha256\"}");
			goto done;
		}
		snprintf(nonce, sizeof(nonce), "%s", n);
		if ((h = jstr(ans, "eventlog_sha256")) && strlen(h) == 64)
			snprintf(held_sha, sizeof(held_sha), "%s", h);
		(void)json_object_object_get_ex(ans, "counter_authorization", &au);
		back = json_object_new_object();
		json_object_object_add(back, "nonce", json_object_new_string(nonce));
		json_object_object_add(back, "counter_authorization", json_object_get(au));
		line = json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN |
		                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
		if (write_all(to_child, line, strlen(line)) != 0 ||
		    write_all(to_child, "\n", 1) != 0) {
			json_object_put(back);
			errmsg("attest: cannot answer tpmattest-tpm quote: %s", strerror(errno));
			rc = EXIT_ENV;
			goto done;
		}
		json_object_put(back);
		close(to_child);
		to_child = -1;
	}
	http_response_clear(&resp);
	rc = cli_wait_tpm("attest", child);
	child = -1;
	if (rc != EXIT_OK)
		goto done;
	if (interrupted("attest")) {
		rc = EXIT_ENV;
		goto done;
	}
	if ((rc = read_doc("attest", "evidence", evp, MAX_EVIDENCE, &buf, &len)) != EXIT_OK)
		goto done;
	{
		char why[200] = "";
		const uint8_t *lb;
		size_t ll = 0;
		int r = tpa_evidence_from_json_why((const char *)buf, len, &ev, why, sizeof(why));
		if (r != TPA_OK) {
			errmsg("attest: the evidence tpmattest-tpm quote wrote is not an evidence "
			       "document: %s",
			       why[0] ? why : tpa_strerror(r));
			rc = exit_for(r);
			goto done;
		}
		if ((lb = tpa_evidence_get(ev, TPA_PART_EVENTLOG, &ll)) != NULL) {
			uint8_t md[32];
			unsigned int mdl = 0;
			if (EVP_Digest(lb, ll, md, &mdl, EVP_sha256(), NULL) != 1 || mdl != 32) {
				errmsg("attest: cannot hash the event log");
				rc = EXIT_ENV;
				goto done;
			}
			hex_of(md, 32, log_sha);
		}
	}
	if (o->evidence_out && write_file_atomic(o->evidence_out, buf, len) != TPA_OK) {
		errmsg("attest: --evidence-out %s: cannot write: %s", o->evidence_out,
		       strerror(errno));
		rc = EXIT_ENV;
		goto done;
	}
	snprintf(path, sizeof(path), "/v1/machines/%s/attest", o->machine);
	rc = send_evidence(o, path, (const char *)buf, len,
	                   !o->full_log && log_sha[0] && strcmp(log_sha, held_sha) == 0 ? log_sha
	                                                                                : NULL,
	                   summary, slen);
done:
	if (to_child >= 0)
		close(to_child); /* the helper's read fails: it stops */
	if (from_child >= 0)
		close(from_child);
	if (child > 0)
		(void)cli_wait_tpm("attest", child);
	tpa_evidence_free(&ev);
	free(buf);
	json_object_put(ans);
	http_response_clear(&resp);
	rm_private(&d);
	return rc;
}

static unsigned rand_below(unsigned n)
{
	unsigned r = 0;
	if (n == 0)
		return 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)time(NULL) ^ (unsigned)getpid();
	return r % n;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !got_signal)
		;
}

static int read_id_file(const char *path, char id[static 65])
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_doc("attest", "--id-file", path, 4096, &buf, &len);
	if (rc != EXIT_OK)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = 0;
	if (!is_machine_id((const char *)buf)) {
		errmsg("attest: --id-file %s: not a machine id (64 lowercase hex digits)", path);
		free(buf);
		return EXIT_MALFORMED;
	}
	memcpy(id, buf, 65);
	free(buf);
	return EXIT_OK;
}

int cmd_attest(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"server", required_argument, NULL, 's'},
	        {"ca", required_argument, NULL, 'c'},
	        {"machine", required_argument, NULL, 'm'},
	        {"id-file", required_argument, NULL, 'i'},
	        {"interval", required_argument, NULL, 'I'},
	        {"count", required_argument, NULL, 'C'},
	        {"evidence-out", required_argument, NULL, 'o'},
	        {"evidence", required_argument, NULL, 'e'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"eventlog", required_argument, NULL, 'l'},
	        {"full-log", no_argument, NULL, 'F'},
	        {"timeout", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct attest_opts o;
	const char *id_file = NULL;
	char idbuf[65];
	long long interval = 0, count = 0, x;
	int c, rc;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.ho.url = optarg; break;
		case 'c': o.ho.ca = optarg; break;
		case 'm': o.machine = optarg; break;
		case 'i': id_file = optarg; break;
		case 'I':
			if (parse_uint(optarg, 1, 86400, &interval) != 0)
				return usage_error(attest_usage,
				                   "attest: --interval must be 1 to 86400 seconds");
			break;
		case 'C':
			if (parse_uint(optarg, 1, 1000000000, &count) != 0)
				return usage_error(attest_usage,
				                   "attest: --count must be a positive number");
			break;
		case 'o': o.evidence_out = optarg; break;
		case 'e': o.evidence = optarg; break;
		case 'j': o.json = true; break;
		case 't': o.tcti = optarg; break;
		case 'l': o.eventlog = optarg; break;
		case 'F': o.full_log = true; break;
		case 'T':
			if (parse_uint(optarg, 1, 3600, &x) != 0)
				return usage_error(attest_usage,
				                   "attest: --timeout must be 1 to 3600 seconds");
			o.ho.timeout = (int)x;
			break;
		case 'h': fputs(attest_usage, stdout); return EXIT_OK;
		default: return usage_error(attest_usage, "attest: bad option");
		}
	}
	if (optind < argc)
		return usage_error(attest_usage, "attest: unexpected argument '%s'", argv[optind]);
	if (!o.ho.url)
		return usage_error(attest_usage, "attest: --server URL is required");
	if (o.machine && id_file)
		return usage_error(attest_usage, "attest: give --machine or --id-file, not both");
	if (count && !interval)
		return usage_error(attest_usage, "attest: --count needs --interval");
	if (o.evidence && (interval || o.evidence_out || o.tcti || o.eventlog || o.full_log))
		return usage_error(attest_usage,
		                   "attest: --evidence sends a document as it is: no --interval, "
		                   "--evidence-out, --tcti, --eventlog or --full-log");
	if (http_check_opts(&o.ho, "attest") != EXIT_OK) {
		fputs(attest_usage, stderr);
		return EXIT_USAGE;
	}
	if (!o.machine && !id_file) {
		const char *env = getenv("TPMATTEST_ID_FILE");
		if (env && env[0])
			id_file = env;
	}
	if (o.machine) {
		if (!is_machine_id(o.machine))
			return usage_error(
			        attest_usage,
			        "attest: --machine must be a machine id (64 lowercase hex "
			        "digits)");
	} else if (id_file) {
		if ((rc = read_id_file(id_file, idbuf)) != EXIT_OK)
			return rc;
		o.machine = idbuf;
	} else {
		return usage_error(attest_usage, "attest: give --machine ID or --id-file FILE (or "
		                                 "set TPMATTEST_ID_FILE)");
	}

	catch_signals();
	if (!interval) {
		char summary[200];
		rc = attest_once(&o, summary, sizeof(summary));
		reraise();
		return rc;
	}
	for (long long round = 1, errors = 0;; round++) {
		char summary[200];
		double delay;
		rc = attest_once(&o, summary, sizeof(summary));
		if (got_signal) {
			errmsg("attest: round %lld: %s (exit %d); stopped by signal %d", round,
			       summary, rc, (int)got_signal);
			reraise();
			return rc;
		}
		if (rc == EXIT_USAGE) {
			/* what the helper or the options got wrong stays wrong */
			errmsg("attest: round %lld: a usage error: stopping", round);
			return rc;
		}
		if (rc == EXIT_OK || rc == EXIT_NO) {
			errors = 0;
			delay = (double)interval;
		} else {
			/* the server or the TPM is in trouble: ask less often, and
			 * not all attesters at the same moment */
			double d = (double)interval;
			errors++;
			for (long long k = 0; k < errors && d < BACKOFF_CAP; k++)
				d *= 2;
			if (d > BACKOFF_CAP && (double)interval < BACKOFF_CAP)
				d = BACKOFF_CAP;
			if (d < (double)interval)
				d = (double)interval;
			delay = d / 2 + (double)rand_below(1000) / 1000.0 * (d / 2);
		}
		if (count && round >= count) {
			errmsg("attest: round %lld of %lld: %s (exit %d)", round, count, summary,
			       rc);
			return rc;
		}
		errmsg("attest: round %lld: %s (exit %d); next in %.1f s", round, summary, rc,
		       delay);
		sleep_s(delay);
		if (got_signal) {
			reraise();
			return rc;
		}
	}
}
