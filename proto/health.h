/*
 * proto/health.h — health reports pushed by monitoring to any node (DESIGN §5, §8).
 *
 *   feed -> node   {"v":1, "t":"health", "id":42, "observer":"datadog",
 *                   "region":"us-east-1", "component":"postgres", "status":"down",
 *                   "at_ms":1763856000000, "detail":"timeout", "token":"..."}
 *   node -> feed   a reply (proto/admin.h) with the same id: "ok" or an error.
 *
 * A connection may carry any number of reports; each gets exactly one reply.
 *
 * Ownership: a decoded report owns its members; fo_health_free() releases them.
 */
#ifndef FO_PROTO_HEALTH_H
#define FO_PROTO_HEALTH_H

#include "proto/admin.h"

struct fo_health {
    uint64_t id;
    char *observer; /* the feed's name, e.g. "datadog" */
    char *region;
    char *component; /* e.g. "postgres", "redis", "http" */
    int status;      /* enum fo_status */
    uint64_t at_ms;  /* when the monitor saw it */
    char *detail;    /* optional */
    char *token;     /* optional: bearer token; never logged or echoed */
};

enum fo_proto_code fo_health_encode(const struct fo_health *h, struct fo_buf *out,
                                    struct fo_proto_error *err);
enum fo_proto_code fo_health_decode(const uint8_t *payload, size_t len, struct fo_health *h,
                                    struct fo_proto_error *err);
void fo_health_free(struct fo_health *h);

#endif
