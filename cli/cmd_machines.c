/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest machines list|show|history|result|result-key|policy|delete: the admin's calls to
 * a verifier server (docs/api.md, "Admin endpoints"), authenticated by a
 * client certificate from the server's --admin-ca.  Text output escapes
 * every string the server sends (a machine name is any UTF-8 an attester
 * chose); --json prints the server's document, which passed the strict
 * reader and so holds no raw control characters.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <tpmattest/ear.h>

#include "cli.h"
#include "http_client.h"

static const char usage_text[] =
        "usage: tpmattest machines list             --server URL --ca F --cert F --key F [--json]\n"
        "       tpmattest machines show ID          ...\n"
        "       tpmattest machines history ID [--limit N] [--before SEQ] ...\n"
        "       tpmattest machines result ID [--nonce HEX] [--out FILE] ...\n"
        "       tpmattest machines result-key [--out FILE] ...\n"
        "       tpmattest machines policy ID FILE [--name NAME] ...\n"
        "       tpmattest machines policy ID --none ...\n"
        "       tpmattest machines delete ID        ...\n"
        "\n"
        "Administers a verifier server (tpmattest serve) with a client certificate from\n"
        "its --admin-ca.  ID is a machine id, or a unique prefix of one (8 or more hex\n"
        "digits).\n"
        "  list       every machine: id, name, last verdict, when, counter\n"
        "  show       one machine: its enrollment (EK chain, AK, counter), last state\n"
        "  history    its verdicts, newest first (--limit 1-1000, default 100;\n"
        "             --before SEQ for older ones)\n"
        "  result     its last verdict as a signed EAR JWT (tpmattest result verify\n"
        "             checks it offline); --nonce HEX (16-64 hex digits) puts a relying\n"
        "             party's nonce into it\n"
        "  result-key the server's public key for results, a JWK\n"
        "  policy     stores FILE (tpmattest policy create) as policy NAME (default\n"
        "             machine-<first 16 hex digits of ID>) and assigns it to the machine;\n"
        "             --none: back to the server's default policy\n"
        "  delete     forgets the machine (it may enroll again); its history stays\n"
        "Exit 0 done, 1 refused (no or another client certificate) or no such machine,\n"
        "2 usage, 3 the server calls the request malformed, 4 network or server error.\n"
        "  --server URL       https://HOST[:PORT][/PREFIX]\n"
        "  --ca FILE          PEM CA certificate(s) the server's certificate must chain to\n"
        "  --cert FILE        the admin's client certificate (PEM)\n"
        "  --key FILE         its private key (PEM)\n"
        "  --json             print the server's JSON answer\n"
        "  --timeout SECONDS  per request (default 30)\n";

#define MAX_POLICY (16u << 20) /* the server's default max_body */

struct mopts {
	struct http_opts ho;
	bool json;
	const char *cmd; /* "machines list" ... */
};

static const char *jstr(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(struct json_object *o, const char *name, long long *out)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return true;
}

static void fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", t);
}

static bool is_hex(const char *s)
{
	return s[0] && strspn(s, "0123456789abcdef") == strlen(s);
}

/* One request; EXIT_OK only for a 2xx answer whose body is JSON (*doc). */
static int call(const struct mopts *o, const char *method, const char *path, const char *body,
                size_t blen, const char *what, struct http_response *resp, struct json_object **doc)
{
	char why[1024];
	int rc = http_request(&o->ho, o->cmd, method, path, NULL, body, body ? blen : 0, resp);
	*doc = NULL;
	if (rc != EXIT_OK)
		return rc;
	if (resp->status < 200 || resp->status > 299) {
		const char *pre = resp->status == 401 ? "refused: the server wants an admin client "
		                                        "certificate: "
		                  : resp->status == 403
		                          ? "refused: the server does not accept this "
		                            "client certificate: "
		                  : resp->status == 404 && strncmp(path, "/v1/machines/", 13) == 0
		                          ? "no such machine: "
		                          : "";
		errmsg("%s: %s: %s%s", o->cmd, what, pre, http_error_text(resp, why, sizeof(why)));
		return http_exit_for_status(resp->status);
	}
	if (!(*doc = http_json(resp))) {
		errmsg("%s: %s: the server's answer is not JSON", o->cmd, what);
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static void print_body(const struct http_response *resp)
{
	fwrite(resp->body, 1, resp->body_len, stdout);
	if (!resp->body_len || resp->body[resp->body_len - 1] != '\n')
		putchar('\n');
}

/* GET /v1/machines: *doc (the caller's to put, also on failure) and its
 * "machines" array. */
static int get_machines(const struct mopts *o, struct http_response *resp, struct json_object **doc,
                        struct json_object **arr)
{
	int rc = call(o, "GET", "/v1/machines", NULL, 0, "GET /v1/machines", resp, doc);
	if (rc != EXIT_OK)
		return rc;
	if (!json_object_object_get_ex(*doc, "machines", arr) ||
	    !json_object_is_type(*arr, json_type_array)) {
		errmsg("%s: GET /v1/machines: no {\"machines\": [...]}", o->cmd);
		return EXIT_ENV;
	}
	return EXIT_OK;
}

/* A full machine id for ID: itself, or the one machine whose id starts
 * with it. */
static int resolve_id(const struct mopts *o, const char *id, char full[static 65])
{
	struct http_response resp;
	struct json_object *doc = NULL, *arr;
	size_t n, hits = 0;
	int rc;
	if (strlen(id) == 64 && is_hex(id)) {
		memcpy(full, id, 65);
		return EXIT_OK;
	}
	if (strlen(id) < 8 || strlen(id) > 64 || !is_hex(id))
		return usage_error(usage_text,
		                   "%s: ID must be a machine id (64 lowercase hex digits) or a "
		                   "prefix of 8 or more",
		                   o->cmd);
	memset(&resp, 0, sizeof(resp));
	if ((rc = get_machines(o, &resp, &doc, &arr)) != EXIT_OK)
		goto out;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		const char *m = jstr(json_object_array_get_idx(arr, i), "machine_id");
		if (m && strlen(m) == 64 && strncmp(m, id, strlen(id)) == 0) {
			if (!hits++)
				memcpy(full, m, 65);
		}
	}
	if (hits != 1) {
		errmsg("%s: %s: %s", o->cmd, id,
		       hits ? "ambiguous: more than one machine id starts with it"
		            : "no such machine");
		rc = EXIT_NO;
	}
out:
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

/* ---- list ---- */

struct row {
	char id[17], name[44], verdict[96], when[40], counter[32];
};

static void fill_row(struct json_object *m, struct row *r)
{
	const char *v = jstr(m, "last_verdict"), *e = jstr(m, "last_error");
	struct json_object *cv;
	long long t;
	/* a name is shown up to 40 bytes (escaped): the table stays a table */
	escape_into(r->name, 41, jstr(m, "name") ?: "-");
	escape_into(r->id, sizeof(r->id), jstr(m, "machine_id") ?: "?");
	if (v && e && strcmp(v, "pass") != 0) {
		char vv[40], ee[40];
		escape_into(vv, sizeof(vv), v);
		escape_into(ee, sizeof(ee), e);
		snprintf(r->verdict, sizeof(r->verdict), "%s (%s)", vv, ee);
	} else {
		escape_into(r->verdict, sizeof(r->verdict), v ?: "-");
	}
	snprintf(r->when, sizeof(r->when), "-");
	if (jint(m, "last_at", &t))
		fmt_time(t, r->when, sizeof(r->when));
	/* json-c's own text of the number: exact for counters above INT64_MAX */
	if (json_object_object_get_ex(m, "counter", &cv) && json_object_is_type(cv, json_type_int))
		snprintf(r->counter, sizeof(r->counter), "%s", json_object_to_json_string(cv));
	else
		snprintf(r->counter, sizeof(r->counter), "-");
}

static int do_list(const struct mopts *o)
{
	struct http_response resp;
	struct json_object *doc = NULL, *arr;
	struct row *rows = NULL;
	int nw = 4, vw = 7, ww = 4;
	size_t n;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if ((rc = get_machines(o, &resp, &doc, &arr)) != EXIT_OK)
		goto out;
	if (o->json) {
		print_body(&resp);
		goto out;
	}
	n = json_object_array_length(arr);
	if (n && !(rows = calloc(n, sizeof(*rows)))) {
		errmsg("%s: out of memory", o->cmd);
		rc = EXIT_ENV;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		fill_row(json_object_array_get_idx(arr, i), &rows[i]);
		if ((int)strlen(rows[i].name) > nw)
			nw = (int)strlen(rows[i].name);
		if ((int)strlen(rows[i].verdict) > vw)
			vw = (int)strlen(rows[i].verdict);
		if ((int)strlen(rows[i].when) > ww)
			ww = (int)strlen(rows[i].when);
	}
	printf("%-16s  %-*s  %-*s  %-*s  %s\n", "ID", nw, "NAME", vw, "VERDICT", ww, "WHEN",
	       "COUNTER");
	for (size_t i = 0; i < n; i++)
		printf("%-16s  %-*s  %-*s  %-*s  %s\n", rows[i].id, nw, rows[i].name, vw,
		       rows[i].verdict, ww, rows[i].when, rows[i].counter);
out:
	free(rows);
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

/* ---- show ---- */

/* Every scalar member, as "path: value", escaped; long strings (public
 * areas in base64) are summarized. */
static void print_flat(const char *prefix, struct json_object *o)
{
	json_object_object_foreach (o, key, val) {
		char path[256], kb[80];
		escape_into(kb, sizeof(kb), key);
		if (snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", kb) >=
		    (int)sizeof(path))
			continue; /* nothing the server sends nests that deep */
		switch (json_object_get_type(val)) {
		case json_type_object: print_flat(path, val); break;
		case json_type_null: printf("  %-34s -\n", path); break;
		case json_type_string: {
			const char *s = json_object_get_string(val);
			size_t l = strlen(s);
			if (l > 120) {
				printf("  %-34s (%zu characters)\n", path, l);
			} else {
				char b[600];
				escape_into(b, sizeof(b), s);
				printf("  %-34s %s\n", path, b);
			}
			break;
		}
		case json_type_array:
			printf("  %-34s (%zu entries)\n", path, json_object_array_length(val));
			break;
		default: {
			char b[100];
			escape_into(b, sizeof(b), json_object_to_json_string(val));
			printf("  %-34s %s\n", path, b);
		}
		}
	}
}

static int do_show(const struct mopts *o, const char *id)
{
	struct http_response resp;
	struct json_object *doc = NULL, *sub;
	char path[128], what[160], b[600], when[40];
	long long t;
	int rc;

	memset(&resp, 0, sizeof(resp));
	snprintf(path, sizeof(path), "/v1/machines/%s", id);
	snprintf(what, sizeof(what), "machine %s", id);
	if ((rc = call(o, "GET", path, NULL, 0, what, &resp, &doc)) != EXIT_OK)
		goto out;
	if (o->json) {
		print_body(&resp);
		goto out;
	}
	escape_into(b, sizeof(b), jstr(doc, "machine_id") ?: id);
	printf("machine      %s\n", b);
	escape_into(b, sizeof(b), jstr(doc, "name") ?: "-");
	printf("name         %s\n", b);
	if (jint(doc, "enrolled_at", &t)) {
		fmt_time(t, when, sizeof(when));
		printf("enrolled     %s\n", when);
	}
	escape_into(b, sizeof(b), jstr(doc, "policy") ?: "(the server's default)");
	printf("policy       %s\n", b);
	escape_into(b, sizeof(b), jstr(doc, "last_verdict") ?: "(none yet)");
	printf("last verdict %s", b);
	if (jstr(doc, "last_error")) {
		escape_into(b, sizeof(b), jstr(doc, "last_error"));
		printf(" (%s)", b);
	}
	if (jint(doc, "last_at", &t)) {
		fmt_time(t, when, sizeof(when));
		printf(" at %s", when);
	}
	if (jint(doc, "last_seq", &t))
		printf(", seq %lld", t);
	putchar('\n');
	if (json_object_object_get_ex(doc, "enrollment", &sub) &&
	    json_object_is_type(sub, json_type_object)) {
		puts("enrollment:");
		print_flat("", sub);
	}
	if (json_object_object_get_ex(doc, "state", &sub) &&
	    json_object_is_type(sub, json_type_object)) {
		puts("last state:");
		print_flat("", sub);
	}
out:
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

/* ---- history ---- */

static int do_history(const struct mopts *o, const char *id, long long limit, long long before)
{
	struct http_response resp;
	struct json_object *doc = NULL, *arr;
	char path[200], what[160];
	size_t n;
	int rc;

	memset(&resp, 0, sizeof(resp));
	snprintf(path, sizeof(path), "/v1/machines/%s/history?limit=%lld", id, limit);
	if (before)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "&before=%lld", before);
	snprintf(what, sizeof(what), "history of machine %s", id);
	if ((rc = call(o, "GET", path, NULL, 0, what, &resp, &doc)) != EXIT_OK)
		goto out;
	if (!json_object_object_get_ex(doc, "history", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		errmsg("%s: %s: no {\"history\": [...]}", o->cmd, what);
		rc = EXIT_ENV;
		goto out;
	}
	if (o->json) {
		print_body(&resp);
		goto out;
	}
	n = json_object_array_length(arr);
	printf("%-8s  %-20s  %-7s  %s\n", "SEQ", "WHEN", "VERDICT", "WHY");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *res, *checks;
		char when[40] = "-", v[40], why[700] = "";
		long long seq = 0, t;
		jint(e, "seq", &seq);
		if (jint(e, "at", &t))
			fmt_time(t, when, sizeof(when));
		escape_into(v, sizeof(v), jstr(e, "verdict") ?: "?");
		if (json_object_object_get_ex(e, "result", &res) &&
		    json_object_object_get_ex(res, "checks", &checks) &&
		    json_object_is_type(checks, json_type_array)) {
			for (size_t k = 0; k < json_object_array_length(checks); k++) {
				struct json_object *c = json_object_array_get_idx(checks, k);
				const char *st = jstr(c, "status");
				if (st && (strcmp(st, "fail") == 0 || strcmp(st, "not_run") == 0)) {
					char a[80], b[600];
					escape_into(a, sizeof(a), jstr(c, "name") ?: "?");
					escape_into(b, sizeof(b), jstr(c, "reason") ?: "");
					snprintf(why, sizeof(why), "%s: %s", a, b);
					break;
				}
			}
		}
		if (!why[0] && jstr(e, "error"))
			escape_into(why, sizeof(why), jstr(e, "error"));
		printf("%-8lld  %-20s  %-7s  %s\n", seq, when, v, why);
	}
out:
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

/* ---- result, result-key ---- */

/* Writes body, with a final newline, to out (whole or not at all: a
 * temporary beside it, then rename; write_file_atomic) or to stdout. */
static int put_out(const struct mopts *o, const char *out, const char *body, size_t len)
{
	int nl = !len || body[len - 1] != '\n';
	if (out) {
		char *buf = malloc(len + 1);
		int r;
		if (!buf) {
			errmsg("%s: out of memory", o->cmd);
			return EXIT_ENV;
		}
		memcpy(buf, body, len);
		buf[len] = '\n';
		r = write_file_atomic(out, buf, len + (size_t)nl);
		free(buf);
		if (r != TPA_OK) {
			errmsg("%s: --out %s: %s", o->cmd, out, strerror(errno));
			return EXIT_ENV;
		}
		return EXIT_OK;
	}
	if (fwrite(body, 1, len, stdout) != len || (nl && fputc('\n', stdout) == EOF) ||
	    fflush(stdout) != 0) {
		errmsg("%s: standard output: %s", o->cmd, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int do_result(const struct mopts *o, const char *id, const char *nonce, const char *out)
{
	struct http_response resp;
	char path[256], why[1024];
	int rc;

	memset(&resp, 0, sizeof(resp));
	if (id)
		snprintf(path, sizeof(path), "/v1/machines/%s/result%s%s", id,
		         nonce ? "?nonce=" : "", nonce ? nonce : "");
	else
		snprintf(path, sizeof(path), "/v1/.well-known/result-key");
	if ((rc = http_request(&o->ho, o->cmd, "GET", path, NULL, NULL, 0, &resp)) != EXIT_OK)
		goto out;
	if (resp.status != 200) {
		errmsg("%s: GET %s: %s%s", o->cmd, path,
		       resp.status == 404 && id ? "no such machine: " : "",
		       http_error_text(&resp, why, sizeof(why)));
		rc = http_exit_for_status(resp.status);
		goto out;
	}
	if (memchr(resp.body, 0, resp.body_len)) {
		errmsg("%s: GET %s: the answer holds a NUL byte", o->cmd, path);
		rc = EXIT_ENV;
		goto out;
	}
	rc = put_out(o, out, resp.body, resp.body_len);
out:
	http_response_clear(&resp);
	return rc;
}

static bool nonce_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= TPA_EAR_NONCE_HEX_MIN && n <= TPA_EAR_NONCE_HEX_MAX && n % 2 == 0 &&
	       strspn(s, "0123456789abcdefABCDEF") == n;
}

/* ---- policy ---- */

static bool policy_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int do_policy(const struct mopts *o, const char *id, const char *file, const char *name,
                     bool none)
{
	struct http_response resp;
	struct json_object *doc = NULL;
	char path[200], what[200], pname[80], body[128];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc, r;

	memset(&resp, 0, sizeof(resp));
	if (!none) {
		if (name)
			snprintf(pname, sizeof(pname), "%s", name);
		else
			snprintf(pname, sizeof(pname), "machine-%.16s", id);
		r = read_file(file, MAX_POLICY, &buf, &len);
		if (r == TPA_E_LIMIT) {
			errmsg("%s: policy %s: larger than %u bytes (the server's max_body)",
			       o->cmd, file, MAX_POLICY);
			return EXIT_MALFORMED;
		}
		if (r != TPA_OK) {
			errmsg("%s: policy %s: cannot read: %s", o->cmd, file, strerror(errno));
			return EXIT_ENV;
		}
		snprintf(path, sizeof(path), "/v1/policies/%s", pname);
		snprintf(what, sizeof(what), "storing %s as policy %s", file, pname);
		rc = call(o, "PUT", path, (const char *)buf, len, what, &resp, &doc);
		free(buf);
		if (rc != EXIT_OK)
			goto out;
		json_object_put(doc);
		doc = NULL;
		http_response_clear(&resp);
		snprintf(body, sizeof(body), "{\"policy\":\"%s\"}", pname);
	} else {
		snprintf(body, sizeof(body), "{\"policy\":null}");
	}
	snprintf(path, sizeof(path), "/v1/machines/%s/policy", id);
	snprintf(what, sizeof(what), "assigning the policy to machine %s", id);
	if ((rc = call(o, "PUT", path, body, strlen(body), what, &resp, &doc)) != EXIT_OK)
		goto out;
	if (o->json)
		print_body(&resp);
	else if (none)
		printf("machine %s: the server's default policy\n", id);
	else
		printf("policy %s stored and assigned to machine %s\n", pname, id);
out:
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

/* ---- delete ---- */

static int do_delete(const struct mopts *o, const char *id)
{
	struct http_response resp;
	struct json_object *doc = NULL;
	char path[128], what[160];
	int rc;
	memset(&resp, 0, sizeof(resp));
	snprintf(path, sizeof(path), "/v1/machines/%s", id);
	snprintf(what, sizeof(what), "deleting machine %s", id);
	if ((rc = call(o, "DELETE", path, NULL, 0, what, &resp, &doc)) != EXIT_OK)
		goto out;
	if (o->json)
		print_body(&resp);
	else
		printf("deleted machine %s\n", id);
out:
	json_object_put(doc);
	http_response_clear(&resp);
	return rc;
}

int cmd_machines(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"server", required_argument, NULL, 's'}, {"ca", required_argument, NULL, 'c'},
	        {"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'K'},
	        {"json", no_argument, NULL, 'j'},         {"limit", required_argument, NULL, 'l'},
	        {"before", required_argument, NULL, 'b'}, {"name", required_argument, NULL, 'N'},
	        {"none", no_argument, NULL, '0'},         {"timeout", required_argument, NULL, 'T'},
	        {"nonce", required_argument, NULL, 'n'},  {"out", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},         {0},
	};
	struct mopts o;
	const char *sub, *name = NULL, *pos[3], *nonce = NULL, *out = NULL;
	char cmd[40], full[65];
	long long limit = 100, before = 0;
	bool none = false, have_limit = false;
	int c, rc, npos = 0;

	memset(&o, 0, sizeof(o));
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "history") != 0 &&
	    strcmp(sub, "policy") != 0 && strcmp(sub, "delete") != 0 &&
	    strcmp(sub, "result") != 0 && strcmp(sub, "result-key") != 0)
		return usage_error(usage_text, "machines: unknown command '%s'", sub);
	snprintf(cmd, sizeof(cmd), "machines %s", sub);
	o.cmd = cmd;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 's': o.ho.url = optarg; break;
		case 'c': o.ho.ca = optarg; break;
		case 'C': o.ho.cert = optarg; break;
		case 'K': o.ho.key = optarg; break;
		case 'j': o.json = true; break;
		case 'l':
			errno = 0;
			limit = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || limit < 1 || limit > 1000)
				return usage_error(usage_text, "%s: --limit must be 1 to 1000",
				                   cmd);
			have_limit = true;
			break;
		case 'b':
			errno = 0;
			before = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || before < 1)
				return usage_error(
				        usage_text,
				        "%s: --before must be a positive sequence number", cmd);
			break;
		case 'N': name = optarg; break;
		case '0': none = true; break;
		case 'n': nonce = optarg; break;
		case 'o': out = optarg; break;
		case 'T': {
			long long x;
			errno = 0;
			x = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || x < 1 || x > 3600)
				return usage_error(usage_text,
				                   "%s: --timeout must be 1 to 3600 seconds", cmd);
			o.ho.timeout = (int)x;
			break;
		}
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return usage_error(usage_text, "%s: bad option", cmd);
		}
	}
	for (; optind < argc; optind++) {
		if (npos == 3)
			return usage_error(usage_text, "%s: unexpected argument '%s'", cmd,
			                   argv[optind]);
		pos[npos++] = argv[optind];
	}
	{
		int want = strcmp(sub, "list") == 0 || strcmp(sub, "result-key") == 0 ? 0
		           : strcmp(sub, "policy") == 0 && !none                      ? 2
		                                                                      : 1;
		if (npos != want)
			return usage_error(usage_text, "%s: %s", cmd,
			                   want == 0   ? "takes no arguments"
			                   : want == 1 ? "give one machine ID"
			                               : "give a machine ID and a policy FILE (or "
			                                 "--none)");
	}
	if ((have_limit || before) && strcmp(sub, "history") != 0)
		return usage_error(usage_text, "%s: --limit and --before are for history", cmd);
	if (nonce && strcmp(sub, "result") != 0)
		return usage_error(usage_text, "%s: --nonce is for result", cmd);
	if (nonce && !nonce_ok(nonce))
		return usage_error(usage_text, "%s: --nonce must be 16 to 64 hex digits, even",
		                   cmd);
	if (out && strcmp(sub, "result") != 0 && strcmp(sub, "result-key") != 0)
		return usage_error(usage_text, "%s: --out is for result and result-key", cmd);
	if ((name || none) && strcmp(sub, "policy") != 0)
		return usage_error(usage_text, "%s: --name and --none are for policy", cmd);
	if (name && none)
		return usage_error(usage_text, "%s: --name names a policy FILE; not with --none",
		                   cmd);
	if (name && !policy_name_ok(name))
		return usage_error(usage_text,
		                   "%s: --name must be 1 to 64 of A-Z a-z 0-9 . _ - (docs/api.md)",
		                   cmd);
	if (!o.ho.url)
		return usage_error(usage_text, "%s: --server URL is required", cmd);
	if (strcmp(sub, "result-key") != 0 && (!o.ho.cert || !o.ho.key))
		return usage_error(
		        usage_text,
		        "%s: --cert and --key (an admin client certificate) are required", cmd);
	if (http_check_opts(&o.ho, cmd) != EXIT_OK) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(sub, "list") == 0)
		return do_list(&o);
	if (strcmp(sub, "result-key") == 0)
		return do_result(&o, NULL, NULL, out);
	if ((rc = resolve_id(&o, pos[0], full)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "show") == 0)
		return do_show(&o, full);
	if (strcmp(sub, "history") == 0)
		return do_history(&o, full, limit, before);
	if (strcmp(sub, "result") == 0)
		return do_result(&o, full, nonce, out);
	if (strcmp(sub, "policy") == 0)
		return do_policy(&o, full, none ? NULL : pos[1], name, none);
	return do_delete(&o, full);
}
