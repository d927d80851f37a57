/* SPDX-License-Identifier: BSD-2-Clause */
/* The fleet status page (page.h).  Placeholder until it is written. */
#include "page.h"

void srv_page_fleet(srv *s, struct evhttp_request *req)
{
	srv_reply_error(s, req, 501, "not_implemented", NULL, "the status page is not built yet");
}

void srv_page_machine(srv *s, struct evhttp_request *req, const char *id)
{
	(void)id;
	srv_reply_error(s, req, 501, "not_implemented", NULL, "the status page is not built yet");
}

void srv_page_style(srv *s, struct evhttp_request *req)
{
	srv_reply_text(s, req, 200, "text/css; charset=utf-8", "");
}
