/* SPDX-License-Identifier: BSD-2-Clause */
/* What `tpmattest serve` (cli/cmd_serve.c) calls: the options are read and
 * the trust anchors and default policy loaded there; this runs the server. */
#ifndef TPA_SERVER_SERVE_H
#define TPA_SERVER_SERVE_H

#include "server.h"

/*
 * Opens the store, listens, and serves until SIGINT or SIGTERM.  roots and
 * default_policy (may be NULL) are taken over.  Reports on stderr (this is
 * the server's one place to report): "listening on ADDR:PORT" once ready,
 * one line per request unless quiet, and why it stopped.  Returns an exit
 * status: 0 after a signal, 4 when it could not start or the store failed.
 */
int srv_run(const srv_config *cfg, struct tpa_ekstore *roots, struct tpa_policy *default_policy);

#endif
