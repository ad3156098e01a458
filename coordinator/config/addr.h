/*
 * coordinator/config/addr.h — the one parser of "host:port" listen and dial addresses.
 *
 *   "a.b.c.d:port"   an IPv4 literal
 *   "[v6]:port"      an IPv6 literal in brackets (a zone is allowed: "[fe80::1%eth0]:7401")
 *
 * Hosts are numeric only (getaddrinfo with AI_NUMERICHOST): a host name is refused with
 * FO_ADDR_HOSTNAME, never resolved, because a listener or a peer that moves when DNS
 * changes is not something a failover coordinator should do quietly. The port is
 * decimal, 1 to 65535, without a sign or leading zeros (so "7301" is written one way).
 *
 * It lives in config/ (the lowest coordinator layer) so that the config loader, the
 * listeners (serve/) and the clients (ctl/) share it without a dependency circle.
 *
 * Pure: no allocation, no I/O, any thread.
 */
#ifndef FO_COORDINATOR_ADDR_H
#define FO_COORDINATOR_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Longest address text accepted: a bracketed IPv6 literal with a zone, and a port. */
#define FO_ADDR_TEXT_MAX 96

/* Why an address was refused; fo_addr_strerror names each for people. */
enum fo_addr_err {
    FO_ADDR_OK = 0,
    FO_ADDR_EMPTY,          /* NULL or "" */
    FO_ADDR_TOO_LONG,       /* over FO_ADDR_TEXT_MAX bytes */
    FO_ADDR_NO_PORT,        /* no ":port" at the end */
    FO_ADDR_BAD_PORT,       /* not 1..65535 in plain decimal */
    FO_ADDR_NO_HOST,        /* ":7301", "[]:7301" */
    FO_ADDR_UNBRACKETED_V6, /* "::1:7301": an IPv6 literal needs brackets */
    FO_ADDR_HOSTNAME,       /* "node2:7301": names are not resolved */
    FO_ADDR_BAD_HOST,       /* neither an IPv4 nor (in brackets) an IPv6 literal */
};

/* Parse s into *out (its family AF_INET or AF_INET6, the port set) and, when len is not
 * NULL, the size of that sockaddr in *len. Returns FO_ADDR_OK, or the reason with *out
 * zeroed. */
enum fo_addr_err fo_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);

/* A short phrase for err ("no port", "a host name, not an IP address", ...); static. */
const char *fo_addr_strerror(enum fo_addr_err err);

/* Write sa as text that fo_addr_parse reads back ("10.0.0.1:7401", "[::1]:7401"; an IPv6
 * zone is not written) into
 * buf; "?" for a family other than IPv4 and IPv6. Returns buf. */
char *fo_addr_format(const struct sockaddr *sa, char *buf, size_t cap);

#endif
