/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evidence_roundtrip FILE: reads an evidence document with
 * tpa_evidence_from_json, writes it back with tpa_evidence_to_json, and
 * requires the same bytes (what `tpmattest quote` wrote is what a verifier
 * built on the library reads).  Then it requires that damaged copies are
 * refused: other version, bad base64, missing member, trailing garbage.
 * Exit 0 when all holds, 1 with a message otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpmattest/evidence.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	if (!(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

/* Replaces the first occurrence of from by to; returns a new string or NULL. */
static char *edit(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;
	if (!p || !(out = malloc(strlen(s) + strlen(to) + 1)))
		return NULL;
	snprintf(out, strlen(s) + strlen(to) + 1, "%.*s%s%s", (int)(p - s), s, to,
	         p + strlen(from));
	return out;
}

static int refused(const char *what, char *doc)
{
	tpa_evidence *ev = NULL;
	int r;
	if (!doc) {
		fprintf(stderr, "%s: could not build the damaged copy\n", what);
		return 0;
	}
	r = tpa_evidence_from_json(doc, strlen(doc), &ev);
	free(doc);
	if (r == TPA_OK || ev) {
		fprintf(stderr, "%s: accepted\n", what);
		tpa_evidence_free(&ev);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	size_t len = 0;
	char *doc, *again = NULL, *tail;
	tpa_evidence *ev = NULL;
	int ok = 1;

	if (argc != 2 || !(doc = slurp(argv[1], &len))) {
		fprintf(stderr, "usage: evidence_roundtrip FILE (readable)\n");
		return 1;
	}
	if (tpa_evidence_from_json(doc, len, &ev) != TPA_OK) {
		fprintf(stderr, "%s: refused\n", argv[1]);
		return 1;
	}
	if (tpa_evidence_to_json(ev, 1, &again) != TPA_OK) {
		fprintf(stderr, "%s: cannot write back\n", argv[1]);
		return 1;
	}
	/* quote writes the document and a newline */
	if (strlen(again) + 1 != len || memcmp(again, doc, len - 1) != 0) {
		fprintf(stderr, "%s: round trip changed the document\n", argv[1]);
		ok = 0;
	}
	ok &= refused("version 2", edit(doc, "\"version\":1", "\"version\":2"));
	ok &= refused("bad base64", edit(doc, "\"attest\":\"", "\"attest\":\"!"));
	ok &= refused("missing nonce", edit(doc, "\"nonce\":", "\"nonc\":"));
	ok &= refused("bad hex nonce", edit(doc, "\"nonce\":\"", "\"nonce\":\"zz"));
	if ((tail = malloc(len + 3))) {
		memcpy(tail, doc, len);
		memcpy(tail + len, "{}", 3);
		ok &= refused("trailing data", tail);
	}
	free(again);
	tpa_evidence_free(&ev);
	free(doc);
	return ok ? 0 : 1;
}
