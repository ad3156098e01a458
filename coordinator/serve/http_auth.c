/*
 * coordinator/serve/http_auth.c — see http_auth.h.
 */
#include "coordinator/serve/http_auth.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "actions/secret.h"
#include "coordinator/serve/context.h"
#include "coordinator/serve/tokens.h"
#include "coordinator/log.h"

const char *fo_http_auth_bearer(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

    if (v == NULL || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
        return NULL;
    v += 6;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v != '\0' ? v : NULL;
}

bool fo_http_auth_read(const struct fo_serve *s, const char *token)
{
    struct fo_identity who;
    return fo_tokens_auth(s->tokens, token, &who) && fo_identity_may(&who, FO_ROLE_READ);
}

bool fo_http_auth_any_feed(const struct fo_serve *s, const char *token)
{
    bool any = false;

    for (size_t i = 0; i < s->nfeeds; i++)
        any |= fo_secret_equal(token, s->feeds[i].token);
    return any;
}

const struct fo_health_feed *fo_http_auth_feed(const struct fo_serve *s, const char *name)
{
    for (size_t i = 0; name != NULL && i < s->nfeeds; i++)
        if (s->feeds[i].name != NULL && strcmp(s->feeds[i].name, name) == 0)
            return &s->feeds[i];
    return NULL;
}

/* The client's IP address (either family, the listener may be IPv6), or "?". */
static const char *client_ip(struct MHD_Connection *c, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    snprintf(buf, cap, "?");
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
    return buf;
}

/* One per process (one HTTP API, loop thread only): refusals are logged once per 10 s at
 * most, with the count left out (issue 14), so a client guessing in a loop cannot flood
 * the log. */
static struct fo_auth_limiter refusals = {.interval_ms = 10000};

void fo_http_auth_log(struct MHD_Connection *c, const char *path, const char *why)
{
    unsigned long long left_out = 0;

    if (fo_auth_limiter_admit_now(&refusals, &left_out)) {
        char ip[INET6_ADDRSTRLEN + 1];
        fo_log_warn("http.auth", "path=%s client=%s reason=%s suppressed=%llu", path,
                    client_ip(c, ip, sizeof(ip)), why, left_out);
    }
}
