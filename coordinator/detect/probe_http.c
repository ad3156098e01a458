/*
 * coordinator/detect/probe_http.c — the http check (probe.h): libcurl's multi interface driven
 * by the loop ("multi_socket" style).
 *
 *   CURLMOPT_SOCKETFUNCTION  curl says which sockets to watch for what: one uv_poll_t per
 *                            socket (curl_multi_assign keeps it with the socket), closed
 *                            at CURL_POLL_REMOVE — before curl closes the socket, so
 *                            epoll never holds a stale fd;
 *   CURLMOPT_TIMERFUNCTION   curl's single timeout: one uv timer. Never act inside that
 *                            callback (curl forbids re-entering): the timer fires from
 *                            the loop, even for a timeout of 0;
 *   curl_multi_socket_action on socket events and on the timer, then
 *   curl_multi_info_read     for the transfers that ended.
 *
 * One easy handle per probe: GET, no redirects, http/https only, CURLOPT_TIMEOUT_MS =
 * the check's timeout, NOSIGNAL (threads, and the threaded resolver), the body counted
 * and discarded, the transfer stopped after 64 KiB of it (the status is known by then).
 * libcurl keeps connections in the multi's cache between probes.
 *
 * curl_global_init() is the program's job (probe.h).
 */
#include "coordinator/detect/probe_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define HTTP_BODY_MAX (64u * 1024u)

struct http_sock {
    uv_poll_t poll; /* first: probe_handle_close frees the whole block */
    curl_socket_t fd;
    struct fo_prober *p;
};

static void check_done(struct fo_prober *p);

static void on_sock_event(uv_poll_t *h, int status, int events)
{
    struct http_sock *hs = h->data;
    struct fo_prober *p = hs->p;
    int flags = 0, running = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(p->curl_multi, hs->fd, flags, &running);
    check_done(p);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct fo_prober *p = userp;
    struct http_sock *hs = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (hs != NULL) {
            uv_poll_stop(&hs->poll);
            probe_handle_close(p, (uv_handle_t *)&hs->poll, true);
        }
        return 0;
    }
    if (hs == NULL) {
        hs = calloc(1, sizeof(*hs));
        if (hs == NULL)
            return -1;
        if (uv_poll_init_socket(p->loop, &hs->poll, s) != 0) {
            free(hs);
            return -1;
        }
        hs->poll.data = hs;
        hs->fd = s;
        hs->p = p;
        curl_multi_assign(p->curl_multi, s, hs);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&hs->poll, events, on_sock_event) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct fo_prober *p = t->data;
    int running = 0;

    curl_multi_socket_action(p->curl_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(p);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct fo_prober *p = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&p->curl_timer);
    else
        uv_timer_start(&p->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct fo_probe_check *c = userdata;
    size_t n = size * nmemb;

    (void)ptr;
    c->http.body += n;
    return c->http.body > HTTP_BODY_MAX ? 0 : n; /* 0: curl stops (CURLE_WRITE_ERROR) */
}

/* Transfers that ended: compare the status, end their probes. The owner's callbacks may
 * close the prober: stop reading then. */
static void check_done(struct fo_prober *p)
{
    CURLMsg *msg;
    int left = 0;

    while (!p->closing && p->curl_multi != NULL &&
           (msg = curl_multi_info_read(p->curl_multi, &left)) != NULL) {
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        struct fo_probe_check *c = NULL;
        long code = 0;
        char err[sizeof(c->http.errbuf)];

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        snprintf(err, sizeof(err), "%s",
                 c->http.errbuf[0] != '\0' ? c->http.errbuf : curl_easy_strerror(res));
        curl_multi_remove_handle(p->curl_multi, easy);
        curl_easy_cleanup(easy);
        c->http.easy = NULL;
        c->cur.http_status = code;
        if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && c->http.body > HTTP_BODY_MAX))
            probe_finish(c, false, "GET: %s", err);
        else if (code != (long)c->spec.expect_status)
            probe_finish(c, false, "HTTP %ld, expected %u", code, c->spec.expect_status);
        else
            probe_finish(c, true, "HTTP %ld", code);
    }
}

int probe_http_init(struct fo_prober *p, struct fo_error *err)
{
    CURLM *m = curl_multi_init();

    if (m == NULL)
        return fo_error_set(err, FO_PROBE_ENOMEM, "prober: curl_multi_init failed");
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, p);
    p->curl_multi = m;
    return 0;
}

void probe_http_start(struct fo_probe_check *c)
{
    struct fo_prober *p = c->p;
    CURL *e = curl_easy_init();
    char ua[64];

    if (e == NULL) {
        probe_finish(c, false, "GET: curl_easy_init failed");
        return;
    }
    snprintf(ua, sizeof(ua), "failoverd-probe/%s", FO_VERSION);
    c->http.body = 0;
    c->http.errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, c->spec.url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->http.errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->spec.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->spec.timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
    if (curl_multi_add_handle(p->curl_multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        probe_finish(c, false, "GET: curl_multi_add_handle failed");
        return;
    }
    c->http.easy = e; /* curl's timer (0 ms) starts the transfer from the loop */
}

void probe_http_abort(struct fo_probe_check *c)
{
    if (c->http.easy == NULL)
        return;
    curl_multi_remove_handle(c->p->curl_multi, c->http.easy);
    curl_easy_cleanup(c->http.easy);
    c->http.easy = NULL;
}

void probe_http_close(struct fo_prober *p)
{
    if (p->curl_multi == NULL)
        return;
    curl_multi_cleanup(p->curl_multi); /* may report CURL_POLL_REMOVE for cached sockets */
    p->curl_multi = NULL;
    uv_timer_stop(&p->curl_timer);
}
