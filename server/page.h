/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fleet status page (issue 13): server-rendered HTML for an admin's
 * browser, no JavaScript, no external assets, every untrusted string
 * escaped (server/page.c).  The router (handlers.c) has checked the method
 * (GET) and, except for the stylesheet, the admin client certificate.
 */
#ifndef TPA_SERVER_PAGE_H
#define TPA_SERVER_PAGE_H

#include "server.h"

/* GET /  (query: verdict=pass|fail|none, after=ID): every machine */
void srv_page_fleet(srv *s, struct evhttp_request *req);
/* GET /machines/ID: one machine, its history, the PCRs changed between its
 * last good and its current attestation */
void srv_page_machine(srv *s, struct evhttp_request *req, const char *id);
/* An HTML page for a refusal: code, a short title and the reason (both
 * escaped). */
void srv_page_error(srv *s, struct evhttp_request *req, int code, const char *title,
                    const char *reason);
/* GET /style.css: the page's stylesheet (no certificate needed) */
void srv_page_style(srv *s, struct evhttp_request *req);

#endif
