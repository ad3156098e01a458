/*
 * coordinator/ctl/addr.h — the "a.b.c.d:port" addresses of the framed endpoints (admin,
 * health feed): parsed the same way by the client that dials them (admin_client.h) and
 * by the server that listens on them (serve/frame_server.h), so that what one accepts
 * the other does too. Part of fo_ctl, the client side, which the daemon links as well;
 * it needs libuv only.
 *
 * Pure; any thread.
 */
#ifndef FO_COORDINATOR_CTL_ADDR_H
#define FO_COORDINATOR_CTL_ADDR_H

#include <netinet/in.h>

/* Parse "a.b.c.d:port" into out (libraft 0.15 and our listeners take IPv4 literals).
 * Returns 0, or -1 (out unspecified) for NULL, no port, port 0 or > 65535, or a host
 * that is not a dotted-quad literal. */
int fo_addr_parse(const char *s, struct sockaddr_in *out);

#endif
