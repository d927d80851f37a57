"""The fleet status page read as a browser would get it (GET / with the
admin certificate), parsed with html.parser: its rows by machine, each
cell's text by the cell's class, and the rel="next" link."""
import html.parser

from atk import admin, check, fail


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.next, self.cell, self.row = [], None, None, None

    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "tr" and "machine" in (a.get("class") or "").split():
            self.row = {"id": a.get("id", ""), "class": a.get("class"), "cells": {}}
            self.rows.append(self.row)
        elif tag == "td" and self.row is not None:
            self.cell = a.get("class")
            self.row["cells"][self.cell] = ""
        elif tag == "a" and a.get("rel") == "next":
            check(self.next is None, "two next links")
            self.next = a.get("href")

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, d):
        if self.row is not None and self.cell:
            self.row["cells"][self.cell] += d


def page(path):
    r = admin("GET", path)
    check(r.status == 200, f"GET {path}: {r}")
    check(r.headers.get("Content-Type") == "text/html; charset=utf-8", f"GET {path}: {r.headers}")
    p = Page()
    p.feed(r.raw.decode())
    p.close()
    return p


def walk(first, limit=10):
    """Every row of a paged listing, following rel=next (at most limit pages)."""
    rows, sizes, path = [], [], first
    for _ in range(limit):
        p = page(path)
        rows += p.rows
        sizes.append(len(p.rows))
        if not p.next:
            return rows, sizes
        check(p.next.startswith("/?"), f"next link {p.next}")
        path = p.next
    fail(f"more than {limit} pages from {first}")
