/*
 * proto/health.c — schema of the health report; see health.h.
 */
#include "proto/health.h"

#include <string.h>

#define NAME (FO_F_REQUIRED | FO_F_NONEMPTY)

static const struct fo_field health_fields[] = {
    FO_U64(struct fo_health, id, 0),
    FO_STR(struct fo_health, observer, NAME, FO_NAME_MAX),
    FO_STR(struct fo_health, region, NAME, FO_NAME_MAX),
    FO_STR(struct fo_health, component, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_health, status, 0, fo_status_names),
    FO_U64(struct fo_health, at_ms, 0),
    FO_STR(struct fo_health, detail, FO_F_OPTIONAL, FO_TEXT_MAX),
    FO_STR(struct fo_health, token, FO_F_OPTIONAL, FO_TOKEN_MAX),
};
static const struct fo_schema health_schema = FO_SCHEMA(struct fo_health, health_fields);
static const struct fo_msg_type health_type[] = {{"health", 0, &health_schema}};

enum fo_proto_code fo_health_encode(const struct fo_health *h, struct fo_buf *out,
                                    struct fo_proto_error *err)
{
    return fo_msg_encode(health_type, h, out, err);
}

enum fo_proto_code fo_health_decode(const uint8_t *payload, size_t len, struct fo_health *h,
                                    struct fo_proto_error *err)
{
    int id;
    memset(h, 0, sizeof(*h));
    return fo_msg_decode(health_type, 1, payload, len, &id, h, err);
}

void fo_health_free(struct fo_health *h)
{
    fo_schema_free(&health_schema, h);
}
