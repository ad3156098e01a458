/*
 * actions/http.c — see http.h: the blocking curl client with deadline, retries,
 * Retry-After, cancel, size cap and TLS rules; error texts of the APIs; URL building.
 * The generic `http` action kind is http_kind.c.
 */
#include "actions/http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "actions/secret.h"
#include "proto/error.h"

#define BACKOFF_MAX_MS 8000u
#define SLEEP_SLICE_MS 50u

static bool global_done;

int fo_http_global_init(void)
{
    if (global_done)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    global_done = true;
    return 0;
}

void fo_http_global_cleanup(void)
{
    if (global_done)
        curl_global_cleanup();
    global_done = false;
}

static bool cancelled(const atomic_int *cancel)
{
    return cancel != NULL && atomic_load(cancel) != 0;
}

int fo_http_sleep(uint64_t ms, uint64_t deadline_ms, const atomic_int *cancel)
{
    uint64_t end = fo_action_now_ms() + ms;

    for (;;) {
        uint64_t now = fo_action_now_ms();
        uint64_t slice;
        struct timespec ts;

        if (cancelled(cancel) || now >= deadline_ms)
            return -1;
        if (now >= end)
            return 0;
        slice = end - now;
        if (slice > SLEEP_SLICE_MS)
            slice = SLEEP_SLICE_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)slice * 1000000L;
        nanosleep(&ts, NULL);
    }
}

/* ---- URLs ------------------------------------------------------------------------ */

static bool loopback_host(const char *host)
{
    char h[64];
    size_t n = strlen(host);
    unsigned char a4[4], a6[16];

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof(h))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (inet_pton(AF_INET, h, a4) == 1)
        return a4[0] == 127;
    if (inet_pton(AF_INET6, h, a6) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        return memcmp(a6, one, sizeof(one)) == 0;
    }
    return false;
}

int fo_http_url_check(const char *url, char *err, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (u == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if (url == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, cap, "not a valid absolute URL");
    } else if (strcasecmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcasecmp(scheme, "http") == 0 && loopback_host(host)) {
        rc = 0; /* the fake servers and a local cluster: never leaves the machine */
    } else if (strcasecmp(scheme, "http") == 0) {
        snprintf(err, cap, "plain http:// is allowed only to a loopback host; use https://");
    } else {
        snprintf(err, cap, "only https:// URLs are allowed");
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

const char *fo_http_url_for_log(const char *url, bool path_secret, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

    snprintf(out, cap, "(invalid URL)");
    if (u != NULL && url != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        snprintf(out, cap, "%s://%s%s%s%s", scheme, host, port != NULL ? ":" : "",
                 port != NULL ? port : "", path_secret ? "/..." : (path != NULL ? path : "/"));
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

static void url_put(struct fo_http_url *u, const char *s, size_t n)
{
    if (u->overflow || u->len + n >= sizeof(u->buf)) {
        u->overflow = true;
        return;
    }
    memcpy(u->buf + u->len, s, n);
    u->len += n;
    u->buf[u->len] = '\0';
}

static void url_encoded(struct fo_http_url *u, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            url_put(u, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            url_put(u, e, 3);
        }
    }
}

void fo_http_url_init(struct fo_http_url *u, const char *base)
{
    size_t n = strlen(base);
    memset(u, 0, sizeof(*u));
    while (n > 0 && base[n - 1] == '/')
        n--;
    url_put(u, base, n);
    u->query = memchr(base, '?', n) != NULL;
}

void fo_http_url_path(struct fo_http_url *u, const char *literal)
{
    url_put(u, literal, strlen(literal));
}

void fo_http_url_segment(struct fo_http_url *u, const char *value)
{
    url_put(u, "/", 1);
    url_encoded(u, value);
}

void fo_http_url_query(struct fo_http_url *u, const char *name, const char *value)
{
    if (value == NULL)
        return;
    url_put(u, u->query ? "&" : "?", 1);
    u->query = true;
    url_encoded(u, name);
    url_put(u, "=", 1);
    url_encoded(u, value);
}

/* ---- one request ------------------------------------------------------------------ */

struct body_buf {
    char *data;
    size_t len, cap, max;
    bool too_big, oom;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct body_buf *b = ud;
    size_t add = size * n;

    if (b->len + add > b->max) {
        b->too_big = true;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        char *d;
        while (cap < b->len + add + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL) {
            b->oom = true;
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One transfer on its own multi handle, so that cancel is seen within SLEEP_SLICE_MS
 * (curl's progress callback runs only about once a second while a server is silent).
 * curl enforces the handle's timeouts as with curl_easy_perform. */
static CURLcode perform(CURLM *m, CURL *h, const atomic_int *cancel)
{
    CURLcode cc = CURLE_OK;
    CURLMsg *msg;
    bool finished = false;
    int running = 1, queued;

    if (curl_multi_add_handle(m, h) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    for (;;) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (running == 0) {
            finished = true;
            break;
        }
        if (cancelled(cancel)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_poll(m, NULL, 0, SLEEP_SLICE_MS, NULL) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
    }
    while (finished && (msg = curl_multi_info_read(m, &queued)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
            cc = msg->data.result;
    curl_multi_remove_handle(m, h);
    return cc;
}

static void body_wipe_free(struct body_buf *b)
{
    if (b->data != NULL)
        fo_secret_wipe(b->data, b->cap);
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static void slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i != NULL; i = i->next)
        fo_secret_wipe(i->data, strlen(i->data));
    curl_slist_free_all(l);
}

static struct curl_slist *add_header(struct curl_slist *l, bool *ok, const char *name,
                                     const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    struct curl_slist *r;

    if (line == NULL) {
        *ok = false;
        return l;
    }
    snprintf(line, n, "%s: %s", name, value);
    r = curl_slist_append(l, line);
    fo_secret_wipe(line, n);
    free(line);
    if (r == NULL) {
        *ok = false;
        return l;
    }
    return r;
}

static struct curl_slist *build_headers(const struct fo_http_req *req, bool has_body, bool *ok)
{
    struct curl_slist *l = NULL;
    bool have_ct = false;

    *ok = true;
    for (size_t i = 0; i < req->nheaders; i++)
        have_ct = have_ct || strcasecmp(req->headers[i].name, "Content-Type") == 0;
    l = add_header(l, ok, "Accept", "application/json");
    l = add_header(l, ok, "Expect", ""); /* no 100-continue round trip */
    if (has_body && !have_ct)
        l = add_header(l, ok, "Content-Type",
                       req->json == NULL && req->content_type != NULL ? req->content_type
                                                                      : "application/json");
    if (req->auth != NULL)
        l = add_header(l, ok, "Authorization", req->auth);
    for (size_t i = 0; i < req->nheaders; i++)
        l = add_header(l, ok, req->headers[i].name, req->headers[i].value);
    return l;
}

enum failure_class { CLASS_NONE, CLASS_RATE, CLASS_5XX, CLASS_CONNECT, CLASS_TIMEOUT, CLASS_FATAL };

static enum failure_class classify_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CLASS_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return CLASS_TIMEOUT;
    default:
        return CLASS_FATAL; /* TLS verification, protocol errors: retrying will not help */
    }
}

static unsigned class_bit(enum failure_class c)
{
    switch (c) {
    case CLASS_RATE:
        return FO_HTTP_RETRY_RATE;
    case CLASS_5XX:
        return FO_HTTP_RETRY_5XX;
    case CLASS_CONNECT:
        return FO_HTTP_RETRY_CONNECT;
    case CLASS_TIMEOUT:
        return FO_HTTP_RETRY_TIMEOUT;
    default:
        return 0;
    }
}

/* Options that stay the same for every attempt. */
static int setup_handle(CURL *h, const struct fo_http_req *req, const char *method,
                        const char *body, size_t body_len, struct curl_slist *hdrs, char *errbuf)
{
    CURLcode cc = CURLE_OK;

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_USERAGENT, "failoverd/" FO_VERSION);
    SETOPT(CURLOPT_HTTPHEADER, hdrs);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    if (strcmp(method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
    }
#undef SETOPT
    return cc == CURLE_OK ? 0 : -1;
}

static void keep_answer(struct fo_http_resp *resp, struct body_buf *b)
{
    if (resp->body != NULL)
        fo_secret_wipe(resp->body, resp->len);
    free(resp->body);
    json_decref(resp->json);
    resp->body = b->data;
    resp->len = b->len;
    resp->json = NULL;
    b->data = NULL;
    b->len = b->cap = 0;
}

int fo_http_request(const struct fo_http_req *req, struct fo_http_resp *resp)
{
    const char *method = req->method != NULL ? req->method : "GET";
    uint64_t deadline = req->deadline_ms != 0 ? req->deadline_ms : fo_action_now_ms() + 30000;
    unsigned retry_on = req->retry_on != 0 ? req->retry_on : FO_HTTP_RETRY_ALL;
    unsigned max_attempts = req->max_attempts != 0 ? req->max_attempts : 5;
    uint64_t backoff = req->backoff_ms != 0 ? req->backoff_ms : 250;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct body_buf b = {.max = req->max_bytes != 0 ? req->max_bytes : FO_HTTP_MAX_RESPONSE};
    char *json_body = NULL;
    const char *body = req->body;
    size_t body_len = req->body_len;
    struct curl_slist *hdrs = NULL;
    CURLM *m = NULL;
    CURL *h = NULL;
    bool ok;
    int rc = FO_HTTP_EINVAL;

    memset(resp, 0, sizeof(*resp));
    if (fo_http_url_check(req->url, resp->error, sizeof(resp->error)) != 0)
        return FO_HTTP_EINVAL;
    if (req->json != NULL) {
        json_body = json_dumps(req->json, JSON_COMPACT);
        if (json_body == NULL) {
            snprintf(resp->error, sizeof(resp->error), "cannot encode the JSON body");
            return FO_HTTP_EINVAL;
        }
        body = json_body;
        body_len = strlen(json_body);
    }
    hdrs = build_headers(req, body != NULL, &ok);
    h = curl_easy_init();
    m = curl_multi_init();
    if (!ok || h == NULL || m == NULL) {
        snprintf(resp->error, sizeof(resp->error), "out of memory");
        goto out;
    }
    if (setup_handle(h, req, method, body, body_len, hdrs, errbuf) != 0 ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK) {
        snprintf(resp->error, sizeof(resp->error), "cannot set up the request");
        goto out;
    }

    for (unsigned k = 1;; k++) {
        uint64_t now = fo_action_now_ms(), left, wait;
        enum failure_class cls = CLASS_NONE;
        CURLcode cc;

        if (cancelled(req->cancel)) {
            snprintf(resp->error, sizeof(resp->error), "cancelled");
            rc = FO_HTTP_ECANCELLED;
            goto out;
        }
        if (now >= deadline) {
            snprintf(resp->error, sizeof(resp->error), "deadline passed");
            rc = FO_HTTP_EDEADLINE;
            goto out;
        }
        left = deadline - now;
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(left < FO_HTTP_CONNECT_MS ? left : FO_HTTP_CONNECT_MS));
        body_wipe_free(&b);
        b.max = req->max_bytes != 0 ? req->max_bytes : FO_HTTP_MAX_RESPONSE;
        errbuf[0] = '\0';
        resp->attempts = k;
        cc = perform(m, h, req->cancel);

        if (cc == CURLE_OK) {
            curl_off_t ra = -1;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
            resp->retry_after_ms = 0;
            if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
                resp->retry_after_ms = (uint64_t)ra * 1000u;
            keep_answer(resp, &b);
            if (resp->status == 429 || resp->status == 420)
                cls = CLASS_RATE;
            else if (resp->status >= 500)
                cls = CLASS_5XX;
            rc = FO_HTTP_OK;
        } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
            snprintf(resp->error, sizeof(resp->error), "cancelled");
            rc = FO_HTTP_ECANCELLED;
            goto out;
        } else if (b.too_big) {
            snprintf(resp->error, sizeof(resp->error), "the answer is larger than %zu bytes",
                     b.max);
            rc = FO_HTTP_ETOOBIG;
            goto out;
        } else if (cc == CURLE_OPERATION_TIMEDOUT && fo_action_now_ms() + 20 >= deadline) {
            /* The attempt's timeout is the time left (curl may fire a millisecond early). */
            snprintf(resp->error, sizeof(resp->error),
                     "no answer within the deadline (%llu ms, attempt %u)",
                     (unsigned long long)left, k);
            rc = FO_HTTP_EDEADLINE;
            goto out;
        } else {
            cls = classify_curl(cc);
            /* curl fills errbuf during the transfer (CURLOPT_ERRORBUFFER). */
            // cppcheck-suppress knownConditionTrueFalse
            const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
            snprintf(resp->error, sizeof(resp->error), "%.200s (attempt %u)", why, k);
            rc = FO_HTTP_ETRANSPORT;
        }
        if (cls == CLASS_NONE || (class_bit(cls) & retry_on) == 0 || k >= max_attempts)
            goto out;
        wait = backoff << (k - 1 < 6 ? k - 1 : 6);
        if (wait > BACKOFF_MAX_MS)
            wait = BACKOFF_MAX_MS;
        if (resp->retry_after_ms > wait)
            wait = resp->retry_after_ms; /* the server's word wins when it asks for longer */
        if (fo_action_now_ms() + wait >= deadline)
            goto out; /* the last answer stands; the step's retry policy may take over */
        now = fo_action_now_ms();
        if (fo_http_sleep(wait, deadline, req->cancel) != 0) {
            snprintf(resp->error, sizeof(resp->error),
                     cancelled(req->cancel) ? "cancelled" : "deadline passed");
            rc = cancelled(req->cancel) ? FO_HTTP_ECANCELLED : FO_HTTP_EDEADLINE;
            goto out;
        }
        resp->waited_ms += fo_action_now_ms() - now;
    }
out:
    if (rc == FO_HTTP_OK && resp->body != NULL && resp->len > 0)
        resp->json = json_loadb(resp->body, resp->len, 0, NULL);
    if (rc != FO_HTTP_OK && req->url_secret) {
        /* curl's messages name the host only, but make sure the secret path never shows. */
        const char *p = strstr(req->url, "://");
        p = p != NULL ? strchr(p + 3, '/') : NULL;
        if (p != NULL && strlen(p) > 1)
            fo_http_redact(resp->error, p);
    }
    body_wipe_free(&b);
    if (json_body != NULL) {
        fo_secret_wipe(json_body, strlen(json_body));
        free(json_body);
    }
    slist_wipe_free(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    if (m != NULL)
        curl_multi_cleanup(m);
    return rc;
}

void fo_http_resp_free(struct fo_http_resp *resp)
{
    if (resp->body != NULL)
        fo_secret_wipe(resp->body, resp->len);
    free(resp->body);
    json_decref(resp->json);
    resp->body = NULL;
    resp->json = NULL;
    resp->len = 0;
}

/* ---- error texts ------------------------------------------------------------------- */

const char *fo_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

void fo_json_wipe(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_string(j)) {
        /* jansson owns the bytes; overwriting them in place keeps its length right. */
        fo_secret_wipe((char *)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            fo_json_wipe(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            fo_json_wipe(v);
        }
    }
}

/* Append printable text to out (quoted through fo_error_quote). */
static void put_text(char *out, size_t cap, const char *sep, const char *text)
{
    char q[160];
    size_t n = strlen(out);

    if (text == NULL || text[0] == '\0' || n + 1 >= cap)
        return;
    fo_error_quote(text, strlen(text), q, sizeof(q));
    snprintf(out + n, cap - n, "%s%s", n > 0 ? sep : "", q);
}

static void put_code(char *out, size_t cap, const json_t *code)
{
    if (json_is_integer(code)) {
        char num[32];
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(code));
        put_text(out, cap, "; ", num);
    } else {
        put_text(out, cap, "; ", json_string_value(code));
    }
}

const char *fo_http_api_error(const struct fo_http_resp *resp, char *out, size_t cap)
{
    const json_t *j = resp->json;

    out[0] = '\0';
    if (cap < 16)
        return out;
    if (json_is_object(j)) {
        const json_t *e = json_object_get(j, "error");
        if (json_is_object(e)) { /* Vercel */
            put_code(out, cap, json_object_get(e, "code"));
            put_text(out, cap, " ", fo_json_str(e, "message"));
            put_text(out, cap, " ", fo_json_str(e, "envVarKey"));
        } else if (json_is_string(e)) { /* Statuspage's other shape */
            put_text(out, cap, " ", json_string_value(e));
        }
        e = json_object_get(j, "errors");
        for (size_t i = 0; json_is_array(e) && i < json_array_size(e) && i < 2; i++) {
            const json_t *it = json_array_get(e, i);
            if (json_is_object(it)) { /* Cloudflare */
                put_code(out, cap, json_object_get(it, "code"));
                put_text(out, cap, " ", fo_json_str(it, "message"));
            } else { /* PagerDuty */
                put_text(out, cap, out[0] != '\0' ? "; " : "", fo_json_str(j, "status"));
                put_text(out, cap, ": ", fo_json_str(j, "message"));
                put_text(out, cap, ": ", json_string_value(it));
            }
        }
        if (out[0] == '\0')
            put_text(out, cap, " ", fo_json_str(j, "message"));
    }
    if (out[0] == '\0' && resp->json == NULL && resp->body != NULL) /* Slack: plain text */
        fo_error_quote(resp->body, resp->len, out, cap < 128 ? cap : 128);
    return out;
}

void fo_http_redact(char *text, const char *secret)
{
    size_t n = secret != NULL ? strlen(secret) : 0;
    char *p;

    if (n < 4)
        return;
    while ((p = strstr(text, secret)) != NULL) {
        memcpy(p, "****", 4);
        memmove(p + 4, p + n, strlen(p + n) + 1);
    }
}

int fo_http_fail(struct fo_action_result *res, const char *what, int rc,
                 const struct fo_http_resp *resp)
{
    char api[200];
    int status;

    if (rc != FO_HTTP_OK)
        return fo_action_set(res, rc == FO_HTTP_EINVAL ? FO_ACTION_REFUSED : FO_ACTION_FAILED,
                             "%s: %s", what, resp->error);
    fo_http_api_error(resp, api, sizeof(api));
    res->retry_after_ms = resp->retry_after_ms;
    status = resp->status == 429 || resp->status == 420 || resp->status >= 500 ? FO_ACTION_FAILED
                                                                               : FO_ACTION_REFUSED;
    return fo_action_set(
        res, status, "%s: %sHTTP %ld%s%s%s", what,
        resp->status == 401 || resp->status == 403 ? "authentication failed: " : "", resp->status,
        api[0] != '\0' ? ": " : "", api, resp->attempts > 1 ? " (after retries)" : "");
}
