/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fleet status page (page.h, docs/status-page.md): HTML made on the
 * server from the store, for an admin's browser.  No JavaScript, no
 * external assets, no forms that write: it only reads.  Everything that
 * comes from a machine or the store (names, reasons, which may hold an
 * event log's strings, check names, policy names, hex) goes through
 * put_text, the one escaping function; only this file's literals are
 * written raw.  The headers forbid scripts, frames and other origins
 * (CSP default-src 'none'), so even an escaping mistake could not run one.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <json-c/json.h>

#include <tpmattest/verify.h>

#include "base/json.h"
#include "page.h"
#include "server.h"

enum {
	FLEET_ROWS = 100,  /* machines shown on one page */
	FLEET_SCAN = 2048, /* machines read for one page with a filter */
	LIST_PAGE = 256,   /* machines read from the store at once */
	HISTORY_ROWS = 100,
	PCR_MAX = 24,
};

enum verdict_filter { F_ALL, F_PASS, F_FAIL, F_NONE };

/* ---- the page being written ---- */

typedef struct html {
	char *p;
	size_t n, cap;
	int oom;
} html;

static void grow(html *h, size_t more)
{
	size_t cap;
	char *p;
	if (h->oom || h->n + more + 1 <= h->cap)
		return;
	cap = h->cap ? h->cap : 8192;
	while (cap < h->n + more + 1)
		cap *= 2;
	if (!(p = realloc(h->p, cap))) {
		h->oom = 1;
		return;
	}
	h->p = p;
	h->cap = cap;
}

static void put_raw(html *h, const char *s, size_t n)
{
	grow(h, n);
	if (h->oom)
		return;
	memcpy(h->p + h->n, s, n);
	h->n += n;
	h->p[h->n] = 0;
}

/* This file's own markup: never a string from a machine or the store. */
static void put(html *h, const char *lit)
{
	put_raw(h, lit, strlen(lit));
}

/* Numbers and this file's own markup around them. */
static void putf(html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(html *h, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int k;
	va_start(ap, fmt);
	k = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(buf)) {
		h->oom = 1;
		return;
	}
	put_raw(h, buf, (size_t)k);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static uint32_t utf8_decode(const unsigned char *s, size_t k)
{
	if (k == 2)
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	if (k == 3)
		return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

/* Characters that are invisible, control, or change the direction or the
 * lines of the text around them (Unicode Cc, Cf, Zl, Zp outside ASCII, the
 * fillers and the variation selectors): shown escaped, so that no name
 * looks like another and no reason reorders its cell. */
static int hidden_char(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x34f || c == 0x61c ||
	       (c >= 0x600 && c <= 0x605) || c == 0x6dd || c == 0x70f ||
	       (c >= 0x890 && c <= 0x891) || c == 0x8e2 || c == 0x110bd || c == 0x110cd ||
	       (c >= 0x13430 && c <= 0x1343f) || (c >= 0x1bca0 && c <= 0x1bca3) ||
	       (c >= 0x115f && c <= 0x1160) || (c >= 0x17b4 && c <= 0x17b5) ||
	       (c >= 0x180b && c <= 0x180f) || (c >= 0x200b && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) || c == 0x3164 ||
	       (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff || c == 0xffa0 ||
	       (c >= 0xfff0 && c <= 0xfffb) || (c >= 0x1d173 && c <= 0x1d17a) ||
	       (c >= 0xe0000 && c <= 0xe0fff);
}

/*
 * Untrusted text, as text in an element or in a quoted attribute: & < > "
 * ' become character references.  Control bytes and bytes that are not
 * UTF-8 are shown as \xNN, invisible and direction-changing characters as
 * \u{XXXX}; in an element each in a <span class="esc"> (styled apart), so
 * that a stored backslash followed by "x01" never looks like the byte 0x01.
 * What the page shows is what was stored, and nothing in it is markup.
 * spans 0: inside an attribute or the title, where no element may be.
 */
static void put_text_in(html *h, const char *s, int spans)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t k = 0;
		char esc[16];
		switch (u[i]) {
		case '&':
			put(h, "&amp;");
			i++;
			continue;
		case '<':
			put(h, "&lt;");
			i++;
			continue;
		case '>':
			put(h, "&gt;");
			i++;
			continue;
		case '"':
			put(h, "&quot;");
			i++;
			continue;
		case '\'':
			put(h, "&#39;");
			i++;
			continue;
		default: break;
		}
		if (u[i] >= 0x20 && u[i] < 0x7f) {
			put_raw(h, s + i, 1);
			i++;
			continue;
		}
		if (u[i] >= 0x80 && (k = utf8_len(u + i, n - i)) != 0 &&
		    !hidden_char(utf8_decode(u + i, k))) {
			put_raw(h, s + i, k);
			i += k;
			continue;
		}
		if (k)
			snprintf(esc, sizeof(esc), "\\u{%04X}", (unsigned)utf8_decode(u + i, k));
		else
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
		if (spans)
			put(h, "<span class=\"esc\">");
		put(h, esc);
		if (spans)
			put(h, "</span>");
		i += k ? k : 1;
	}
}

static void put_text(html *h, const char *s)
{
	put_text_in(h, s, 1);
}

/* The same inside a quoted attribute value or the title. */
static void put_attr(html *h, const char *s)
{
	put_text_in(h, s, 0);
}

/* A machine id from the store is 64 lowercase hex digits, unless something
 * else wrote the store: then it is shown as text and linked nowhere. */
static int id_ok(const char *id)
{
	char tmp[STORE_ID_HEX];
	return srv_parse_machine_id(id, strlen(id), tmp) == 0;
}

static void put_time(html *h, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char iso[32], shown[32];
	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm) ||
	    !strftime(shown, sizeof(shown), "%Y-%m-%d %H:%M:%S UTC", &tm))
		return;
	putf(h, "<time datetime=\"%s\">%s</time>", iso, shown);
}

static void head(html *h, const char *title_lit, const char *title_text)
{
	put(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<link rel=\"stylesheet\" href=\"/style.css\">\n<title>");
	put(h, title_lit);
	if (title_text)
		put_attr(h, title_text);
	put(h, "</title>\n</head>\n<body>\n<header><a class=\"home\" href=\"/\">tpmattest</a> "
	       "<span class=\"what\">fleet status</span></header>\n<main>\n");
}

static void foot(html *h)
{
	put(h, "</main>\n<footer>tpmattest " TPA_VERSION
	       " &middot; times in UTC &middot; <a href=\"/v1/.well-known/result-key\">result "
	       "key</a></footer>\n</body>\n</html>\n");
}

static void send_page(srv *s, struct evhttp_request *req, int code, html *h)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	if (h->oom) {
		free(h->p);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	evhttp_add_header(oh, "Content-Security-Policy",
	                  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
	                  "form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	srv_reply_text(s, req, code, "text/html; charset=utf-8", h->p ? h->p : "");
	free(h->p);
}

void srv_page_error(srv *s, struct evhttp_request *req, int code, const char *title,
                    const char *reason)
{
	html h = {0};
	head(&h, "tpmattest: ", title);
	put(&h, "<h1>");
	put_text(&h, title);
	put(&h, "</h1>\n<p class=\"error\">");
	put_text(&h, reason);
	put(&h, "</p>\n<p><a href=\"/\">The fleet</a></p>\n");
	foot(&h);
	send_page(s, req, code, &h);
}

static void page_store_error(srv *s, struct evhttp_request *req, const char *why)
{
	char reason[640];
	snprintf(reason, sizeof(reason), "the store failed: %s", why);
	srv_page_error(s, req, 503, "store unavailable", reason);
}

/* ---- what the store holds, read for a page ---- */

static const char *verdict_class(const char *v)
{
	if (strcmp(v, "pass") == 0)
		return "pass";
	if (strcmp(v, "fail") == 0)
		return "fail";
	return "none";
}

static const char *verdict_shown(const char *v)
{
	if (strcmp(v, "pass") == 0)
		return "PASS";
	if (strcmp(v, "fail") == 0)
		return "FAIL";
	return "none";
}

/* The verdict document of a history row, parsed (NULL when it is not an
 * object). */
static struct json_object *row_doc(const store_verdict *v)
{
	struct json_object *o = NULL;
	if (!v->result_json ||
	    tpa_json_parse(v->result_json, strlen(v->result_json), &o, NULL, 0) != TPA_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *doc_str(struct json_object *doc, const char *key)
{
	struct json_object *v;
	if (doc && json_object_object_get_ex(doc, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* The failed check and its reason of a row: the document's first failed
 * check, or the row's error when the document has none. */
static void put_check_cells(html *h, const char *verdict, const store_verdict *v)
{
	struct json_object *doc = v ? row_doc(v) : NULL;
	const char *check = doc_str(doc, "failed_check"), *reason = doc_str(doc, "reason");
	put(h, "<td class=\"check\">");
	if (strcmp(verdict, "fail") == 0 && check)
		put_text(h, check);
	put(h, "</td><td class=\"reason\">");
	if (strcmp(verdict, "fail") == 0) {
		if (reason)
			put_text(h, reason);
		else if (v && v->error[0])
			put_text(h, v->error);
	}
	put(h, "</td>");
	json_object_put(doc);
}

/* ---- GET / ---- */

static int filter_keeps(enum verdict_filter f, const store_machine *m)
{
	switch (f) {
	case F_PASS: return strcmp(m->last_verdict, "pass") == 0;
	case F_FAIL: return strcmp(m->last_verdict, "fail") == 0;
	case F_NONE: return m->last_verdict[0] == 0;
	default: return 1;
	}
}

static const char *filter_query(enum verdict_filter f)
{
	switch (f) {
	case F_PASS: return "verdict=pass";
	case F_FAIL: return "verdict=fail";
	case F_NONE: return "verdict=none";
	default: return NULL;
	}
}

static void put_filter_nav(html *h, enum verdict_filter f)
{
	static const struct {
		enum verdict_filter f;
		const char *href, *label;
	} links[] = {{F_ALL, "/", "all"},
	             {F_PASS, "/?verdict=pass", "PASS"},
	             {F_FAIL, "/?verdict=fail", "FAIL"},
	             {F_NONE, "/?verdict=none", "no verdict yet"}};
	put(h, "<nav class=\"filter\">Show: ");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		putf(h, "<a href=\"%s\"%s>%s</a> ", links[i].href,
		     links[i].f == f ? " class=\"current\"" : "", links[i].label);
	put(h, "</nav>\n");
}

/* One machine's row; why is set and -1 returned when the store failed. */
static int put_machine_row(srv *s, html *h, const store_machine *m, char *why, size_t whylen)
{
	const char *cls = verdict_class(m->last_verdict);
	store_verdict v;
	size_t n = 0;
	int have = 0;
	tpa_state st;
	char swhy[128];

	memset(&v, 0, sizeof(v));
	/* the reason of a FAIL is in its history row (the machine's last
	 * verdict exactly: rows of an earlier enrollment stay) */
	if (strcmp(m->last_verdict, "fail") == 0 && m->last_seq > 0) {
		if (store_history(s->st, m->id, m->last_seq + 1, 1, &v, &n, why, whylen) != TPA_OK)
			return -1;
		have = n == 1 && v.seq == m->last_seq;
		if (n == 1 && !have)
			store_verdict_clear(&v);
	}
	if (id_ok(m->id))
		putf(h, "<tr class=\"machine verdict-%s\" id=\"m-%s\"><td class=\"name\">", cls,
		     m->id);
	else
		putf(h, "<tr class=\"machine verdict-%s corrupt\"><td class=\"name\">", cls);
	if (m->has_name)
		put_text(h, m->name);
	else
		put(h, "<span class=\"none\">&mdash;</span>");
	if (id_ok(m->id)) {
		putf(h,
		     "</td><td class=\"id\"><a href=\"/machines/%s\" title=\"%s\">%.16s&hellip;</a>"
		     "</td>",
		     m->id, m->id, m->id);
	} else {
		put(h, "</td><td class=\"id\">");
		put_text(h, m->id);
		put(h, " <span class=\"error\">(not a machine id: something else wrote the "
		       "store)</span></td>");
	}
	putf(h, "<td class=\"verdict\">%s</td><td class=\"at\">", verdict_shown(m->last_verdict));
	if (m->last_verdict[0])
		put_time(h, m->last_at);
	put(h, "</td>");
	if (have) {
		put_check_cells(h, m->last_verdict, &v);
		store_verdict_clear(&v);
	} else if (strcmp(m->last_verdict, "fail") == 0) {
		put(h, "<td class=\"check\"></td><td class=\"reason\">");
		put_text(h, m->last_error);
		put(h, "</td>");
	} else {
		put(h, "<td class=\"check\"></td><td class=\"reason\"></td>");
	}
	put(h, "<td class=\"counter\">");
	if (m->state_json && tpa_state_from_json(m->state_json, strlen(m->state_json), &st, swhy,
	                                         sizeof(swhy)) == TPA_OK) {
		if (st.has_counter)
			putf(h, "%" PRIu64, st.counter);
		put(h, "</td><td class=\"resets\">");
		if (st.has_clock)
			putf(h, "%" PRIu32, st.reset_count);
	} else {
		put(h, "</td><td class=\"resets\">");
	}
	put(h, "</td><td class=\"policy\">");
	if (m->policy[0])
		put_text(h, m->policy);
	else
		put(h, s->default_policy ? "<span class=\"none\">default</span>"
		                         : "<span class=\"none\">none</span>");
	put(h, "</td></tr>\n");
	return 0;
}

void srv_page_fleet(srv *s, struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	store_machine *list;
	char after[STORE_ID_HEX], why[512] = "", last[STORE_ID_HEX] = "";
	int vf, shown = 0, more = 0;
	size_t scanned = 0, n = 0;
	enum verdict_filter f;
	html h = {0};

	if (srv_parse_page_query(u ? evhttp_uri_get_query(u) : NULL, &vf, after) != 0) {
		srv_page_error(
		        s, req, 400, "bad query",
		        "query: only verdict=pass, verdict=fail or verdict=none and after=ID "
		        "(a machine id, 64 lowercase hex digits) are understood, each once");
		return;
	}
	f = (enum verdict_filter)vf;
	if (!(list = calloc(LIST_PAGE, sizeof(*list)))) {
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	head(&h, "tpmattest: fleet", NULL);
	put(&h, "<h1>Fleet</h1>\n");
	put_filter_nav(&h, f);
	put(&h, "<table id=\"fleet\">\n<thead><tr><th>Name</th><th>Machine</th><th>Verdict</th>"
	        "<th>When</th><th>Failed check</th><th>Why</th><th>Counter</th><th>Resets</th>"
	        "<th>Policy</th></tr></thead>\n<tbody>\n");
	/* bounded: at most FLEET_ROWS shown and FLEET_SCAN read; the rest is
	 * behind the next link */
	while (!more && scanned < FLEET_SCAN) {
		size_t i;
		if (store_machine_list(s->st, after, LIST_PAGE, list, &n, why, sizeof(why)) !=
		    TPA_OK) {
			free(list);
			free(h.p);
			page_store_error(s, req, why);
			return;
		}
		for (i = 0; i < n; i++) {
			if (shown == FLEET_ROWS || scanned == FLEET_SCAN) {
				more = 1;
				break;
			}
			scanned++;
			snprintf(last, sizeof(last), "%s", list[i].id);
			if (!filter_keeps(f, &list[i]))
				continue;
			if (put_machine_row(s, &h, &list[i], why, sizeof(why)) != 0) {
				for (size_t j = 0; j < n; j++)
					store_machine_clear(&list[j]);
				free(list);
				free(h.p);
				page_store_error(s, req, why);
				return;
			}
			shown++;
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s", list[n - 1].id);
		for (size_t j = 0; j < n; j++)
			store_machine_clear(&list[j]);
		if (n < LIST_PAGE || i < n)
			break;
	}
	/* the scan's end reached on a full read: a Next link only when a
	 * machine follows (one more read of one) */
	if (!more && n == LIST_PAGE && scanned == FLEET_SCAN) {
		if (store_machine_list(s->st, after, 1, list, &n, why, sizeof(why)) != TPA_OK) {
			free(list);
			free(h.p);
			page_store_error(s, req, why);
			return;
		}
		more = n == 1;
		if (n == 1)
			store_machine_clear(&list[0]);
	}
	free(list);
	put(&h, "</tbody>\n</table>\n");
	if (!shown)
		put(&h, "<p class=\"empty\">No machine here.</p>\n");
	putf(&h, "<p class=\"count\">%d machine%s shown.", shown, shown == 1 ? "" : "s");
	if (more) {
		const char *fq = filter_query(f);
		putf(&h, " <a rel=\"next\" href=\"/?%s%safter=", fq ? fq : "", fq ? "&amp;" : "");
		put_attr(&h, last);
		put(&h, "\">Next</a>");
	}
	put(&h, "</p>\n");
	foot(&h);
	send_page(s, req, 200, &h);
}

/* ---- GET /machines/ID ---- */

/* The quoted PCR values of a verdict document: pcrs.BANK.N as hex, NULL
 * when absent. */
static const char *pcr_hex(struct json_object *doc, const char *bank, unsigned k)
{
	struct json_object *pcrs, *b, *v;
	char key[4];
	snprintf(key, sizeof(key), "%u", k);
	if (!doc || !json_object_object_get_ex(doc, "pcrs", &pcrs) ||
	    !json_object_object_get_ex(pcrs, bank, &b) || !json_object_object_get_ex(b, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void put_pcr_picture(html *h, struct json_object *now, int64_t now_seq,
                            struct json_object *good, int64_t good_seq)
{
	struct json_object *pcrs;
	int changes = 0;
	putf(h,
	     "<p class=\"pcr-note\">The PCRs quoted in attestation %" PRId64
	     " (now) against those of attestation %" PRId64
	     " (the last PASS): <span class=\"pcr changed\">changed</span> "
	     "<span class=\"pcr same\">the same</span> "
	     "<span class=\"pcr absent\">not quoted in one of them</span>.</p>\n",
	     now_seq, good_seq);
	if (!json_object_object_get_ex(now, "pcrs", &pcrs) ||
	    !json_object_is_type(pcrs, json_type_object))
		return;
	json_object_object_foreach (pcrs, bank, bv) {
		(void)bv;
		put(h, "<table class=\"pcr-grid\" data-bank=\"");
		put_attr(h, bank);
		put(h, "\"><caption>");
		put_text(h, bank);
		put(h, "</caption>\n<tr>");
		for (unsigned k = 0; k < PCR_MAX; k++) {
			const char *a = pcr_hex(good, bank, k), *b = pcr_hex(now, bank, k);
			const char *cls = !a || !b            ? "absent"
			                  : strcmp(a, b) == 0 ? "same"
			                                      : "changed";
			if (k == PCR_MAX / 2)
				put(h, "</tr>\n<tr>");
			putf(h, "<td class=\"pcr %s\" id=\"pcr-", cls);
			put_attr(h, bank);
			putf(h, "-%u\" title=\"PCR %u: %s\">%u</td>", k, k, cls, k);
			changes += a && b && strcmp(a, b) != 0;
		}
		put(h, "</tr>\n</table>\n");
	}
	if (!changes) {
		put(h, "<p id=\"pcr-same\">No quoted PCR changed.</p>\n");
		return;
	}
	put(h, "<table id=\"pcr-changes\">\n<thead><tr><th>Bank</th><th>PCR</th><th>At the last "
	       "PASS</th><th>Now</th></tr></thead>\n<tbody>\n");
	json_object_object_foreach (pcrs, bank2, bv2) {
		(void)bv2;
		for (unsigned k = 0; k < PCR_MAX; k++) {
			const char *a = pcr_hex(good, bank2, k), *b = pcr_hex(now, bank2, k);
			if (!a || !b || strcmp(a, b) == 0)
				continue;
			put(h, "<tr><td class=\"bank\">");
			put_text(h, bank2);
			putf(h, "</td><td class=\"pcr\">%u</td><td class=\"good\">", k);
			put_text(h, a);
			put(h, "</td><td class=\"now\">");
			put_text(h, b);
			put(h, "</td></tr>\n");
		}
	}
	put(h, "</tbody>\n</table>\n");
}

static void put_dl(html *h, const char *term, const char *text)
{
	putf(h, "<dt>%s</dt><dd>", term);
	if (text)
		put_text(h, text);
	else
		put(h, "<span class=\"none\">&mdash;</span>");
	put(h, "</dd>\n");
}

void srv_page_machine(srv *s, struct evhttp_request *req, const char *id)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u ? evhttp_uri_get_query(u) : NULL;
	store_machine m;
	store_verdict *rows;
	size_t n = 0, good = HISTORY_ROWS;
	char why[512] = "", num[32];
	tpa_state st;
	int has_st;
	html h = {0};
	int r;

	if (q && *q) {
		srv_page_error(s, req, 400, "bad query", "query: a machine's page takes none");
		return;
	}
	memset(&m, 0, sizeof(m));
	r = store_machine_get_light(s->st, id, &m, why, sizeof(why));
	if (r == TPA_E_NOT_FOUND) {
		char reason[160];
		snprintf(reason, sizeof(reason), "no machine %s is enrolled", id);
		srv_page_error(s, req, 404, "no such machine", reason);
		return;
	}
	if (r != TPA_OK) {
		page_store_error(s, req, why);
		return;
	}
	if (!(rows = calloc(HISTORY_ROWS, sizeof(*rows)))) {
		store_machine_clear(&m);
		srv_reply_error(s, req, 500, "nomem", NULL, "out of memory");
		return;
	}
	if (store_history(s->st, id, 0, HISTORY_ROWS, rows, &n, why, sizeof(why)) != TPA_OK) {
		store_machine_clear(&m);
		free(rows);
		page_store_error(s, req, why);
		return;
	}
	has_st = m.state_json && tpa_state_from_json(m.state_json, strlen(m.state_json), &st, why,
	                                             sizeof(why)) == TPA_OK;
	snprintf(num, sizeof(num), "%.16s", id);
	head(&h, "tpmattest: machine ", m.has_name ? m.name : num);
	putf(&h, "<h1 class=\"verdict-%s\">", verdict_class(m.last_verdict));
	if (m.has_name)
		put_text(&h, m.name);
	else
		putf(&h, "Machine %.16s&hellip;", id);
	putf(&h, " <span class=\"badge\">%s</span></h1>\n<dl id=\"summary\">\n",
	     verdict_shown(m.last_verdict));
	put_dl(&h, "Name", m.has_name ? m.name : NULL);
	put_dl(&h, "Machine id", id);
	put(&h, "<dt>Enrolled</dt><dd>");
	put_time(&h, m.enrolled_at);
	put(&h, "</dd>\n");
	put_dl(&h, "Policy",
	       m.policy[0]         ? m.policy
	       : s->default_policy ? "(default)"
	                           : "none: nothing judges what was booted");
	putf(&h, "<dt>Last verdict</dt><dd class=\"verdict-%s\">%s ", verdict_class(m.last_verdict),
	     verdict_shown(m.last_verdict));
	if (m.last_verdict[0])
		put_time(&h, m.last_at);
	put(&h, "</dd>\n");
	snprintf(num, sizeof(num), "%" PRIu64, has_st ? st.counter : 0);
	put_dl(&h, "Counter", has_st && st.has_counter ? num : NULL);
	snprintf(num, sizeof(num), "%" PRIu32, has_st ? st.reset_count : 0);
	put_dl(&h, "Reset count", has_st && st.has_clock ? num : NULL);
	if (n && rows[0].seq == m.last_seq) {
		/* what GET /v1/machines/ID/result signs now */
		struct json_object *last = row_doc(&rows[0]);
		int still = last ? srv_policy_still_rules(s, &m, last, why, sizeof(why)) : 1;
		json_object_put(last);
		if (still == 0)
			put(&h,
			    "<dt>Signed result</dt><dd id=\"policy-changed\" class=\"error\">none: "
			    "the policy that ruled the last verdict has changed since, until the "
			    "machine attests again</dd>\n");
		else if (still < 0)
			put(&h,
			    "<dt>Signed result</dt><dd class=\"error\">unknown: the store did not "
			    "give the machine's policy</dd>\n");
	}
	put(&h, "</dl>\n");
	putf(&h,
	     "<p class=\"links\"><a href=\"/v1/machines/%s/history\">history as JSON</a> "
	     "&middot; <a href=\"/v1/machines/%s/result\">signed result (EAR)</a></p>\n",
	     id, id);

	/* the PCRs: the newest row against the last PASS before it */
	put(&h, "<section id=\"pcrs\">\n<h2>PCRs since the last PASS</h2>\n");
	/* rows of an earlier enrollment of the same EK are not compared */
	for (size_t i = 0; i < n && rows[i].at >= m.enrolled_at; i++)
		if (strcmp(rows[i].verdict, "pass") == 0) {
			good = i;
			break;
		}
	if (n == 0 || rows[0].at < m.enrolled_at) {
		put(&h, "<p id=\"pcr-none\">No attestation since this enrollment.</p>\n");
	} else if (good == HISTORY_ROWS || good >= n) {
		putf(&h,
		     "<p id=\"pcr-none\">No PASS among the last %zu attestations: nothing to "
		     "compare with.</p>\n",
		     n);
	} else if (good == 0) {
		put(&h,
		    "<p id=\"pcr-none\">The newest attestation is the last PASS: nothing changed "
		    "since.</p>\n");
	} else {
		struct json_object *now = row_doc(&rows[0]), *g = row_doc(&rows[good]);
		struct json_object *tmp;
		if (!now || !g || !json_object_object_get_ex(now, "pcrs", &tmp) ||
		    !json_object_object_get_ex(g, "pcrs", &tmp))
			putf(&h,
			     "<p id=\"pcr-none\">Attestation %" PRId64 " or %" PRId64
			     " was recorded without its PCR values (by an older version): nothing "
			     "to compare.</p>\n",
			     rows[0].seq, rows[good].seq);
		else
			put_pcr_picture(&h, now, rows[0].seq, g, rows[good].seq);
		json_object_put(now);
		json_object_put(g);
	}
	put(&h, "</section>\n");

	putf(&h,
	     "<section>\n<h2>History</h2>\n<p class=\"count\">The newest %zu attestation%s%s."
	     "</p>\n",
	     n, n == 1 ? "" : "s",
	     n == HISTORY_ROWS ? " (the JSON history goes further back)" : "");
	put(&h, "<table id=\"history\">\n<thead><tr><th>#</th><th>When</th><th>Verdict</th>"
	        "<th>Failed check</th><th>Why</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const char *cls = verdict_class(rows[i].verdict);
		putf(&h,
		     "<tr class=\"verdict-%s%s\" id=\"seq-%" PRId64 "\"><td class=\"seq\">%" PRId64
		     "</td><td class=\"at\">",
		     cls, rows[i].at < m.enrolled_at ? " earlier" : "", rows[i].seq, rows[i].seq);
		put_time(&h, rows[i].at);
		putf(&h, "</td><td class=\"verdict\">%s</td>", verdict_shown(rows[i].verdict));
		put_check_cells(&h, rows[i].verdict, &rows[i]);
		put(&h, "</tr>\n");
		store_verdict_clear(&rows[i]);
	}
	put(&h, "</tbody>\n</table>\n</section>\n");
	free(rows);
	store_machine_clear(&m);
	foot(&h);
	send_page(s, req, 200, &h);
}

/* ---- GET /style.css ---- */

static const char style_css[] =
        "body{font:14px/1.4 \"DejaVu Sans\",sans-serif;margin:0;color:#1b1b1b;background:#fafafa}"
        "header{background:#23303d;color:#fff;padding:.6em 1.2em}"
        "header a.home{color:#fff;font-weight:bold;text-decoration:none;margin-right:.6em}"
        "header .what{color:#c8d3dd}"
        "main{padding:1em 1.2em}footer{padding:1em 1.2em;color:#666;font-size:12px}"
        "h1{font-size:20px;margin:.2em 0 .6em}h2{font-size:16px;margin:1.2em 0 .4em}"
        "table{border-collapse:collapse;background:#fff}"
        "th,td{border:1px solid #d6d6d6;padding:.3em .5em;text-align:left;vertical-align:top}"
        "th{background:#eef1f4}"
        "td.reason{max-width:40em;word-break:break-word;font-family:\"DejaVu Sans "
        "Mono\",monospace;font-size:12px}"
        "td.id,td.good,td.now{font-family:\"DejaVu Sans Mono\",monospace;font-size:12px}"
        "td.good,td.now{word-break:break-all}"
        "tr.verdict-pass td.verdict,dd.verdict-pass{color:#0b6b1f;font-weight:bold}"
        "tr.verdict-fail td.verdict,dd.verdict-fail{color:#a40e0e;font-weight:bold}"
        "tr.verdict-fail{background:#fdecec}tr.verdict-none td.verdict{color:#666}"
        "tr.earlier{color:#777}"
        "h1 .badge{font-size:13px;padding:.1em .5em;border-radius:3px;background:#666;"
        "color:#fff;vertical-align:middle}"
        "h1.verdict-pass .badge{background:#0b6b1f}h1.verdict-fail .badge{background:#a40e0e}"
        "nav.filter{margin:.4em 0 .8em}nav.filter a{margin-right:.6em}"
        "nav.filter a.current{font-weight:bold;text-decoration:none;color:#1b1b1b}"
        "dl#summary{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
        "dl#summary dt{font-weight:bold}dl#summary dd{margin:0}"
        "table.pcr-grid{margin:.4em 0}table.pcr-grid caption{text-align:left;font-weight:bold}"
        "table.pcr-grid td{width:2.2em;text-align:center;font-family:monospace}"
        ".pcr.same{background:#e3f3e6}.pcr.changed{background:#f6c1c1;font-weight:bold}"
        ".pcr.absent{background:#eee;color:#999}"
        "span.pcr{padding:0 .4em;border:1px solid #d6d6d6}"
        ".none{color:#888}.error{color:#a40e0e}"
        "span.esc{background:#fff3c4;border:1px solid #e0c060;border-radius:2px;padding:0 1px;"
        "font-family:\"DejaVu Sans Mono\",monospace;font-size:11px}\n";

void srv_page_style(srv *s, struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Content-Type-Options",
	                  "nosniff");
	srv_reply_text(s, req, 200, "text/css; charset=utf-8", style_css);
}
