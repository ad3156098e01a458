/*
 * coordinator/serve/health_server.c — see health_server.h.
 */
#include "coordinator/serve/health_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/secret.h"
#include "coordinator/log.h"
#include "coordinator/serve/tokens.h"

struct fo_health_call {
    struct fo_frame_call *frame;
    uint64_t id;
};

/* Refused reports: one log line per 10 s at most, with a count (loop thread only). */
static struct fo_auth_limiter health_refusals = {.interval_ms = 10000};

static void reply(struct fo_frame_call *fc, uint64_t id, int code, const char *msg)
{
    struct fo_reply rep = {.id = id, .code = code};
    rep.message = (char *)msg;
    fo_frame_call_reply(fc, &rep);
}

static const struct fo_health_feed *feed_of(const struct fo_health_server *s, const char *name)
{
    for (size_t i = 0; name != NULL && i < s->cfg.nfeeds; i++)
        if (strcmp(s->cfg.feeds[i].name, name) == 0)
            return &s->cfg.feeds[i];
    return NULL;
}

static void on_frame(struct fo_frame_server *fs, struct fo_frame_call *fc, const uint8_t *payload,
                     size_t len)
{
    struct fo_health_server *s = fs->data;
    struct fo_proto_error perr;
    struct fo_health report;
    const struct fo_health_feed *feed;
    struct fo_health_call *call;

    if (fo_health_decode(payload, len, &report, &perr) != FO_PROTO_OK) {
        s->rejected++;
        reply(fc, 0, FO_REPLY_BAD_REQUEST, perr.msg);
        return;
    }
    feed = feed_of(s, report.observer);
    /* The same answer for an unknown feed and a wrong token: no feed-name oracle. */
    if (feed == NULL || !fo_secret_equal(report.token, feed->token)) {
        unsigned long long left_out = 0;
        s->rejected++;
        if (fo_auth_limiter_admit_now(&health_refusals, &left_out)) /* issue 14 */
            fo_log_warn("health.auth", "peer=%s observer=%.64s result=%s suppressed=%llu",
                        fo_frame_call_peer(fc), report.observer,
                        feed == NULL ? "unknown-feed" : "wrong-token", left_out);
        reply(fc, report.id, FO_REPLY_UNAUTHORIZED, "not a configured feed, or not its token");
        fo_health_free(&report);
        return;
    }
    call = calloc(1, sizeof(*call));
    if (call == NULL) {
        reply(fc, report.id, FO_REPLY_INTERNAL, "out of memory");
        fo_health_free(&report);
        return;
    }
    call->frame = fc;
    call->id = report.id;
    s->reports++;
    s->handler(s, call, &report);
    fo_health_free(&report);
}

int fo_health_server_start(struct fo_health_server *s, uv_loop_t *loop,
                           const struct fo_health_server_config *cfg, fo_health_handler handler,
                           struct fo_error *err)
{
    struct fo_frame_server_config fc = {
        .name = "health",
        .listen = cfg->listen,
        .max_connections = cfg->max_connections,
        .request_timeout_ms = cfg->request_timeout_ms,
        .max_frame = FO_HEALTH_FRAME_MAX,
        .tls = cfg->tls,
    };
    void *data = s->data;

    memset(s, 0, sizeof(*s));
    s->data = data;
    s->cfg = *cfg;
    s->handler = handler;
    s->frame.data = s;
    return fo_frame_server_start(&s->frame, loop, &fc, on_frame, err);
}

void fo_health_server_set_feeds(struct fo_health_server *s, const struct fo_health_feed *feeds,
                                size_t nfeeds)
{
    s->cfg.feeds = feeds;
    s->cfg.nfeeds = nfeeds;
}

static void frame_closed(struct fo_frame_server *fs)
{
    struct fo_health_server *s = fs->data;
    if (s->close_cb != NULL)
        s->close_cb(s);
}

void fo_health_server_close(struct fo_health_server *s, fo_health_server_close_cb close_cb)
{
    s->close_cb = close_cb;
    fo_frame_server_close(&s->frame, frame_closed);
}

void fo_health_call_reply(struct fo_health_call *call, int code, const char *fmt, ...)
{
    char msg[FO_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply(call->frame, call->id, code, msg);
    free(call);
}
