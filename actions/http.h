/*
 * actions/http.h — the blocking HTTP client every SaaS action uses (DESIGN §7), and the
 * generic `http` action kind (fo_action_http in kinds.h).
 *
 * One call, fo_http_request(), is one logical request: it may make several attempts.
 *   - Timeouts come from the caller's deadline: every attempt's total timeout is what is
 *     left until deadline_ms, its connect timeout at most FO_HTTP_CONNECT_MS of that.
 *   - Retries (see retry_on): 429 and 420 (rate limited), 5xx, connections that failed
 *     before the request was sent, and (for idempotent requests) timeouts and broken
 *     answers. Back-off doubles from backoff_ms (default 250 ms, at most 8 s); a
 *     server's Retry-After (seconds or an HTTP date) replaces it when longer. A wait
 *     that would end past the deadline is not started: the last answer is returned with
 *     retry_after_ms set, so the step's own retry policy can take over.
 *   - The cancel flag is checked between attempts, during waits and during a transfer
 *     (polled every 50 ms), so a cancelled request returns within ~50 ms.
 *   - TLS: peer and host verification are always on. Plain http:// is accepted only
 *     for a loopback host (127.0.0.0/8, ::1, localhost): the fake servers of the tests
 *     and a local cluster. Redirects are never followed (an Authorization header must
 *     not travel to another host). Only http and https are allowed at all.
 *   - Responses larger than max_bytes (default 1 MiB) are an error (FO_HTTP_ETOOBIG).
 *
 * Secrets. `auth` (the whole Authorization value, e.g. "Bearer <token>"), header values,
 * bodies and, when url_secret is set, the URL's path are secrets: they never appear in
 * resp->error or any other text this module writes, and the copies this module makes
 * are wiped before they are freed. Query strings are never shown in messages either.
 * fo_http_redact() removes a secret from text an API echoed back (defence in depth).
 *
 * Threading. fo_http_global_init() must be called ONCE from main, before any thread is
 * started: curl_global_init() is not thread-safe. After that fo_http_request() may be
 * called from any number of threads at once (each call has its own curl easy handle)
 * and blocks: call it from the thread pool, never from the event loop.
 *
 * Ownership: the request and what it points to belong to the caller (the json body is
 * only read); the response's body and json belong to the response until
 * fo_http_resp_free().
 */
#ifndef FO_ACTIONS_HTTP_H
#define FO_ACTIONS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "actions/action.h"

#define FO_HTTP_MAX_RESPONSE (1024u * 1024u) /* default response size cap */
#define FO_HTTP_CONNECT_MS   10000u          /* longest connect timeout of one attempt */
#define FO_HTTP_URL_MAX      2048u           /* longest URL fo_http_url builds */

/* What fo_http_request may retry (retry_on; 0 means FO_HTTP_RETRY_ALL). */
enum {
    FO_HTTP_RETRY_RATE = 1 << 0,    /* 429, 420: the server refused, nothing happened */
    FO_HTTP_RETRY_CONNECT = 1 << 1, /* no connection: the request was never sent */
    FO_HTTP_RETRY_5XX = 1 << 2,     /* a server error: may have been partly processed */
    FO_HTTP_RETRY_TIMEOUT = 1 << 3, /* timeout / broken answer: outcome unknown */
    FO_HTTP_RETRY_ALL = 0xf,        /* for idempotent requests */
    FO_HTTP_RETRY_SAFE = FO_HTTP_RETRY_RATE | FO_HTTP_RETRY_CONNECT, /* non-idempotent */
};

/* fo_http_request's result: 0 = an HTTP answer (any status; see resp->status). */
enum fo_http_rc {
    FO_HTTP_OK = 0,
    FO_HTTP_ETRANSPORT = -1, /* no answer: connect failure, timeout, TLS error, ... */
    FO_HTTP_ECANCELLED = -2, /* *cancel became non-zero */
    FO_HTTP_EDEADLINE = -3,  /* the deadline passed (before or during an attempt) */
    FO_HTTP_ETOOBIG = -4,    /* the answer exceeded max_bytes */
    FO_HTTP_EINVAL = -5,     /* bad request: URL refused (scheme, host), no memory, ... */
};

struct fo_http_header {
    const char *name;
    const char *value; /* treated as a secret */
};

struct fo_http_req {
    const char *method; /* "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"; NULL = GET */
    const char *url;    /* absolute http(s) URL (see above for http://) */
    bool url_secret;    /* the URL's path is a secret (a Slack webhook): never shown */
    const char *auth;   /* Authorization header value, or NULL; a secret */
    const struct fo_http_header *headers;
    size_t nheaders;
    json_t *json;             /* JSON body (sent compact, Content-Type: application/json) */
    const char *body;         /* or a raw body (ignored when json is set) */
    size_t body_len;          /*   its length */
    const char *content_type; /*   its type; NULL = application/json */
    uint64_t deadline_ms;     /* CLOCK_MONOTONIC ms (fo_action_now_ms); 0 = now + 30 s */
    const atomic_int *cancel; /* may be NULL */
    unsigned retry_on;        /* FO_HTTP_RETRY_* bits; 0 = FO_HTTP_RETRY_ALL */
    unsigned max_attempts;    /* 0 = 5 */
    uint64_t backoff_ms;      /* first back-off; 0 = 250 */
    size_t max_bytes;         /* response cap; 0 = FO_HTTP_MAX_RESPONSE */
};

struct fo_http_resp {
    long status;             /* the last answer's HTTP status; 0 when there was none */
    char *body;              /* the last answer's body, NUL-terminated (owned), or NULL */
    size_t len;              /*   its length */
    json_t *json;            /* the body parsed as JSON, or NULL (not JSON / empty) */
    uint64_t retry_after_ms; /* the last Retry-After the server sent; 0 if none */
    unsigned attempts;       /* attempts made */
    uint64_t waited_ms;      /* time spent waiting between attempts */
    char error[256];         /* for rc != FO_HTTP_OK: what went wrong (no secrets) */
};

/* Once, from main, before threads start (see above). Returns 0 or -1. Calling it again
 * is harmless. fo_http_global_cleanup() at exit, after every thread has stopped. */
int fo_http_global_init(void);
void fo_http_global_cleanup(void);

/* Make req (with retries as above) and fill resp (zeroed first). Returns enum fo_http_rc.
 * resp must be freed with fo_http_resp_free() whatever the result. Blocking. */
int fo_http_request(const struct fo_http_req *req, struct fo_http_resp *resp);
void fo_http_resp_free(struct fo_http_resp *resp);

/* The API's error in resp, as short printable text for a detail: Vercel
 * {"error":{code,message}}, Cloudflare {"errors":[{code,message}]}, PagerDuty
 * {status,message,errors[]}, Statuspage {"message"} / {"error"}, or a plain-text body
 * (Slack). Writes "" when there is none. Returns out. */
const char *fo_http_api_error(const struct fo_http_resp *resp, char *out, size_t cap);

/* Replace every occurrence of secret (when at least 4 characters) in text by "****". */
void fo_http_redact(char *text, const char *secret);

/* 0 when url may be fetched (https://, or http:// to a loopback host); else -1 with
 * the reason in err. */
int fo_http_url_check(const char *url, char *err, size_t cap);

/* url for messages: scheme://host[:port]/path without the query; with path_secret the
 * path becomes "/…". Returns out. */
const char *fo_http_url_for_log(const char *url, bool path_secret, char *out, size_t cap);

/* ---- URL building (each piece percent-encoded where it must be) ---------------- */

struct fo_http_url {
    char buf[FO_HTTP_URL_MAX];
    size_t len;
    bool overflow; /* the URL did not fit: refuse the request */
    bool query;    /* a '?' was written */
};

/* Start with base (a trailing '/' is dropped), then literal path text ("/v13/deployments"),
 * an encoded path segment ("/" + value), an encoded query parameter (skipped when value
 * is NULL). */
void fo_http_url_init(struct fo_http_url *u, const char *base);
void fo_http_url_path(struct fo_http_url *u, const char *literal);
void fo_http_url_segment(struct fo_http_url *u, const char *value);
void fo_http_url_query(struct fo_http_url *u, const char *name, const char *value);

/* ---- for the action kinds --------------------------------------------------------- */

/* Set res from a request that did not give the wanted answer: FAILED for no answer, a
 * timeout, 429/420 or 5xx (with res->retry_after_ms from the server); REFUSED for any
 * other status (bad credentials, bad parameters). what names the call ("vercel: GET
 * env"); the API's own error text follows. Returns res->status. */
int fo_http_fail(struct fo_action_result *res, const char *what, int rc,
                 const struct fo_http_resp *resp);

/* Sleep ms (bounded by the deadline), waking every 50 ms to check cancel. Returns 0, or
 * -1 when cancelled or the deadline passed. */
int fo_http_sleep(uint64_t ms, uint64_t deadline_ms, const atomic_int *cancel);

/* The string member key of obj, or NULL. */
const char *fo_json_str(const json_t *obj, const char *key);

/* Overwrite every string inside j (a request body that held secrets) before it is freed:
 * jansson keeps its own copies. */
void fo_json_wipe(json_t *j);

#endif
