/*
 * tests/integration/probe_driver.c — runs a prober (coordinator/detect/probe.h) on a loop for a
 * bounded time and prints what it sees as JSON lines on stdout, for test_probes.py.
 *
 *   probe_driver --seconds N --check SPEC [--check SPEC]...
 *
 * SPEC is comma-separated key=value pairs: name, kind (postgres|redis|http), region,
 * critical (0|1), interval, timeout, down, up (ms), host, port, dbname, user,
 * password_file, url, expect, sslmode, sslrootcert, sslcert, sslkey. Lines:
 *
 *   {"type":"start","t":0}
 *   {"type":"result","t":ms,"check":..,"ok":..,"latency_ms":..,"detail":..,"status":..,
 *    "pg":{..} | "redis":{..} | "http_status":..}
 *   {"type":"region","t":ms,"region":..,"status":..,"reason":..}
 *   {"type":"end","t":ms}
 *
 * t is milliseconds since start on the monotonic clock (uv_hrtime), so a test can see
 * whether the loop ever stalled. SIGINT/SIGTERM end the run early. Exit 0, or 2 for a
 * usage error, 1 when the prober cannot start or the loop did not close cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "coordinator/log.h"
#include "coordinator/detect/probe.h"

#define MAX_CHECKS 32

static uint64_t t0;
static uv_timer_t stop_timer;
static uv_signal_t sigint, sigterm;
static struct fo_prober prober;
static int closing;

static long now_ms(void)
{
    return (long)((uv_hrtime() - t0) / 1000000u);
}

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s != NULL) {
        printf("%s\n", s);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

static void on_region(struct fo_prober *p, const char *region, int status, const char *reason)
{
    (void)p;
    emit(json_pack("{s:s, s:I, s:s, s:s, s:s}", "type", "region", "t", (json_int_t)now_ms(),
                   "region", region, "status", fo_status_names[status], "reason", reason));
}

static void on_result(struct fo_prober *p, size_t i, const struct fo_probe_result *r)
{
    const struct fo_probe_spec *s = fo_prober_spec(p, i);
    json_t *o = json_pack("{s:s, s:I, s:s, s:b, s:f, s:s, s:s}", "type", "result", "t",
                          (json_int_t)now_ms(), "check", s->name, "ok", r->ok, "latency_ms",
                          (double)r->latency_us / 1000.0, "detail", r->detail, "status",
                          fo_status_names[fo_prober_check_status(p, i)]);

    if (o == NULL)
        return;
    if (s->kind == FO_PROBE_POSTGRES && r->ok) {
        const struct fo_probe_pg_info *pg = &r->pg;
        json_t *g = json_pack(
            "{s:b, s:b, s:I, s:b, s:I, s:b, s:I, s:b, s:i, s:i, s:b, s:I}", "in_recovery",
            pg->in_recovery, "wal_lsn_known", pg->wal_lsn_known, "wal_lsn", (json_int_t)pg->wal_lsn,
            "lag_bytes_known", pg->lag_bytes_known, "lag_bytes", (json_int_t)pg->lag_bytes,
            "lag_ms_known", pg->lag_ms_known, "lag_ms", (json_int_t)pg->lag_ms,
            "receiver_streaming", pg->receiver_streaming, "standbys", (int)pg->standbys,
            "standbys_streaming", (int)pg->standbys_streaming, "standby_lag_known",
            pg->standby_lag_known, "standby_lag_bytes", (json_int_t)pg->standby_lag_bytes);
        json_object_set_new(o, "pg", g);
    } else if (s->kind == FO_PROBE_REDIS && r->ok) {
        static const char *const roles[] = {"unknown", "master", "replica"};
        json_object_set_new(o, "redis",
                            json_pack("{s:s, s:b, s:I, s:i}", "role", roles[r->redis.role],
                                      "link_up", r->redis.link_up, "offset",
                                      (json_int_t)r->redis.offset, "replicas",
                                      (int)r->redis.replicas));
    } else if (s->kind == FO_PROBE_HTTP) {
        json_object_set_new(o, "http_status", json_integer(r->http_status));
    }
    emit(o);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

static void prober_closed(struct fo_prober *p)
{
    (void)p;
    emit(json_pack("{s:s, s:I}", "type", "end", "t", (json_int_t)now_ms()));
}

static void finish(void)
{
    if (closing++)
        return;
    fo_prober_close(&prober, prober_closed);
    uv_close((uv_handle_t *)&stop_timer, closed);
    uv_close((uv_handle_t *)&sigint, closed);
    uv_close((uv_handle_t *)&sigterm, closed);
}

static void on_stop(uv_timer_t *t)
{
    (void)t;
    finish();
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    finish();
}

/* Parse one --check SPEC into spec; strings point into buf (modified in place). */

/* The index of a Postgres TLS keyword (actions/pg_ssl.h), or -1. */
static int ssl_key(const char *k)
{
    static const char *const keys[FO_PG_NSSL] = FO_PG_SSL_KEYWORDS;
    for (int i = 0; i < FO_PG_NSSL; i++)
        if (strcmp(k, keys[i]) == 0)
            return i;
    return -1;
}

static int parse_spec(char *buf, struct fo_probe_spec *spec)
{
    char *save = NULL;

    memset(spec, 0, sizeof(*spec));
    spec->interval_ms = 200;
    spec->timeout_ms = 150;
    spec->down_after_ms = 600;
    spec->up_after_ms = 400;
    for (char *kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
        char *v = strchr(kv, '=');
        if (v == NULL)
            return -1;
        *v++ = '\0';
        if (strcmp(kv, "name") == 0)
            spec->name = v;
        else if (strcmp(kv, "kind") == 0) {
            spec->kind = -1;
            for (int k = 0; fo_probe_kind_names[k] != NULL; k++)
                if (strcmp(v, fo_probe_kind_names[k]) == 0)
                    spec->kind = k;
        } else if (strcmp(kv, "region") == 0)
            spec->region = v;
        else if (strcmp(kv, "critical") == 0)
            spec->critical = strcmp(v, "1") == 0;
        else if (strcmp(kv, "interval") == 0)
            spec->interval_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(kv, "timeout") == 0)
            spec->timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(kv, "down") == 0)
            spec->down_after_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(kv, "up") == 0)
            spec->up_after_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(kv, "host") == 0)
            spec->host = v;
        else if (strcmp(kv, "port") == 0)
            spec->port = (uint16_t)strtoul(v, NULL, 10);
        else if (strcmp(kv, "dbname") == 0)
            spec->dbname = v;
        else if (strcmp(kv, "user") == 0)
            spec->user = v;
        else if (strcmp(kv, "password_file") == 0)
            spec->password_file = v;
        else if (strcmp(kv, "url") == 0)
            spec->url = v;
        else if (strcmp(kv, "expect") == 0)
            spec->expect_status = (uint32_t)strtoul(v, NULL, 10);
        else if (ssl_key(kv) >= 0) /* sslmode, sslrootcert, sslcert, sslkey */
            spec->ssl[ssl_key(kv)] = v;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct fo_probe_spec specs[MAX_CHECKS];
    size_t n = 0;
    double seconds = 5;
    struct fo_error err = {0};
    uv_loop_t loop;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc && n < MAX_CHECKS) {
            if (parse_spec(argv[++i], &specs[n++]) != 0) {
                fprintf(stderr, "probe_driver: bad --check\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: probe_driver --seconds N --check SPEC...\n");
            return 2;
        }
    }
    if (n == 0 || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "usage: probe_driver --seconds N (0 < N <= 600) --check SPEC...\n");
        return 2;
    }
    fo_log_setup("probe-driver", getenv("FO_LOG_DEBUG") != NULL ? FO_LOG_DEBUG : FO_LOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    uv_loop_init(&loop);
    t0 = uv_hrtime();
    if (fo_prober_init(&prober, &loop, specs, n, on_region, on_result, &err) != 0) {
        fprintf(stderr, "probe_driver: %s\n", err.msg);
        uv_loop_close(&loop);
        curl_global_cleanup();
        return 1;
    }
    uv_timer_init(&loop, &stop_timer);
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_timer_start(&stop_timer, on_stop, (uint64_t)(seconds * 1000), 0);
    emit(json_pack("{s:s, s:I}", "type", "start", "t", (json_int_t)now_ms()));
    if (fo_prober_start(&prober, &err) != 0) {
        fprintf(stderr, "probe_driver: %s\n", err.msg);
        rc = 1;
        finish();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "probe_driver: handles left open on the loop\n");
        rc = 1;
    }
    curl_global_cleanup();
    return rc;
}
