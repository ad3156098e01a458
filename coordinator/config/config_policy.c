/*
 * coordinator/config/config_policy.c — the policy sections of a node's configuration: decision,
 * checks, feeds, health and alertmanager, and the local http section (config.h has the
 * contract, config_internal.h the entry points config.c calls, config_schema.h the table
 * reader every section here is read with).
 *
 * Every section is optional and read after regions, peers and sites, so that a check's
 * region and a feed's name are checked against them where the value (and its line) is at
 * hand; feeds are read before decision because they widen the quorum's range.
 *
 * The rules that relate two settings say why in their message, because the operator who
 * meets them is changing a timing during an incident review, not reading this file.
 */
#include <stdlib.h>
#include <string.h>

#include "coordinator/config/config_internal.h"
#include "coordinator/config/config_schema.h"

#define MS_DAY  86400000u
#define MS_HOUR 3600000u
#define MS_WEEK (7ull * MS_DAY)

static uint32_t counted_feeds(const struct fo_config *cfg)
{
    uint32_t n = 0;
    for (size_t i = 0; i < cfg->nfeeds; i++)
        n += cfg->feeds[i].count_in_quorum;
    return n;
}

/* ---- feeds ------------------------------------------------------------------------- */

enum { FEED_NAME, FEED_TOKEN_FILE, FEED_COUNT, FEED_NKEYS };

static const struct cfg_key feed_keys[FEED_NKEYS] = {
    [FEED_NAME] = {"name", CFG_NAME, true, CFG_AT(struct fo_feed, name)},
    [FEED_TOKEN_FILE] = {"token_file", CFG_STRING, true, CFG_AT(struct fo_feed, token_file)},
    [FEED_COUNT] = {"count_in_quorum", CFG_BOOL, false, CFG_AT(struct fo_feed, count_in_quorum)},
};

static int parse_feed(struct loader *ld, const yaml_node_t *n, size_t i)
{
    struct fo_config *cfg = ld->cfg;
    struct fo_feed *fd = &cfg->feeds[i];
    const yaml_node_t *at[FEED_NKEYS];
    char path[PATH_LEN], sub[PATH_LEN];

    cfg_join_index(path, "feeds", i);
    if (cfg_read_map(ld, n, path, feed_keys, FEED_NKEYS, fd, at) != 0)
        return ld->code;
    cfg_join(sub, path, "name");
    /* Verdicts are keyed by observer name: a feed named like a node would overwrite that
     * node's verdicts and vote in its place. */
    if (fo_config_peer_by_name(cfg, fd->name) != NULL)
        return cfg_fail(ld, at[FEED_NAME], sub,
                        "'%s' is a peer's name: a feed cannot speak for a coordinator node",
                        fd->name);
    return cfg_check_unique(ld, at[FEED_NAME], sub, "feeds", cfg->feeds, sizeof(*cfg->feeds),
                            offsetof(struct fo_feed, name), i);
}

static int parse_feeds(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    size_t count;

    if ((cfg->feeds = cfg_list_alloc(ld, n, "feeds", YAML_SEQUENCE_NODE, "feeds", 0,
                                     FO_CONFIG_MAX_FEEDS, sizeof(*cfg->feeds), &count)) == NULL)
        return ld->code;
    for (size_t i = 0; i < count; i++) {
        cfg->nfeeds = i + 1;
        if (parse_feed(ld, cfg_node_at(ld, n->data.sequence.items.start[i]), i) != 0)
            return ld->code;
    }
    return 0;
}

/* ---- decision ---------------------------------------------------------------------- */

/* The quorum counts observers; there are npeers nodes and the feeds that count. */
static int check_quorum(struct loader *ld, const yaml_node_t *at)
{
    const struct fo_config *cfg = ld->cfg;
    uint32_t feeds = counted_feeds(cfg), most = (uint32_t)cfg->npeers + feeds;

    if (cfg->decision.quorum > most)
        return cfg_fail(ld, at, "decision.quorum",
                        "%u is more than the %u observers that count (%zu peers + %u feeds with "
                        "count_in_quorum): no failover could ever start",
                        cfg->decision.quorum, most, cfg->npeers, feeds);
    return 0;
}

/* The write lease (coordinator/run/lease.h): two renewals per lease, so that one lost
 * answer never fences a healthy primary, and a clock-rate margin below 50 %. The attest
 * window W = (lease + fence budget)(1 + rho)/(1 - rho) follows from these; --check-config
 * prints it. */
int cfg_check_lease(struct loader *ld, const yaml_node_t *at)
{
    const struct fo_config_decision *d = &ld->cfg->decision;

    if (d->lease_renew_ms * 2 > d->lease_ms)
        return cfg_fail(ld, at, "decision.lease_renew_ms",
                        "%llu must be at most half of lease_ms %llu: one lost renewal must not "
                        "fence a healthy primary",
                        (unsigned long long)d->lease_renew_ms, (unsigned long long)d->lease_ms);
    return 0;
}

enum {
    DEC_AUTO,
    DEC_QUORUM,
    DEC_FAILOVER_AFTER,
    DEC_MAX_LAG_BYTES,
    DEC_MAX_LAG_MS,
    DEC_COOLDOWN,
    DEC_LEASE_RENEW,
    DEC_LEASE,
    DEC_FENCE_BUDGET,
    DEC_RATE_MARGIN,
    DEC_SELF_FENCE,
    DEC_CLOCK_MARGIN,
    DEC_NKEYS
};

/* quorum has no default here: a majority of peers, which parse_decision sets first. */
#define DEC_AT(f) CFG_AT(struct fo_config_decision, f)
static const struct cfg_key decision_keys[DEC_NKEYS] = {
    [DEC_AUTO] = {"auto", CFG_BOOL, false, DEC_AT(automatic), .dflt = true},
    [DEC_QUORUM] = {"quorum", CFG_UINT, false, DEC_AT(quorum), .min = 1, .max = 1000},
    /* Not a safety margin any more (the write lease is): how long an outage must last
     * before it is worth a failover. */
    [DEC_FAILOVER_AFTER] = {"failover_after_ms", CFG_UINT, false, DEC_AT(failover_after_ms),
                            .max = MS_DAY, .dflt = 250},
    [DEC_MAX_LAG_BYTES] = {"max_lag_bytes", CFG_UINT, false, DEC_AT(max_lag_bytes),
                           .max = UINT64_MAX / 2, .dflt = 16u * 1024u * 1024u},
    [DEC_MAX_LAG_MS] = {"max_lag_ms", CFG_UINT, false, DEC_AT(max_lag_ms), .max = MS_WEEK,
                        .dflt = MS_HOUR},
    [DEC_COOLDOWN] = {"cooldown_ms", CFG_UINT, false, DEC_AT(cooldown_ms), .max = MS_WEEK,
                      .dflt = 600000},
    [DEC_LEASE_RENEW] = {"lease_renew_ms", CFG_UINT, false, DEC_AT(lease_renew_ms), .min = 10,
                         .max = MS_HOUR, .dflt = 100},
    [DEC_LEASE] = {"lease_ms", CFG_UINT, false, DEC_AT(lease_ms), .min = 20, .max = MS_HOUR,
                   .dflt = 600},
    [DEC_FENCE_BUDGET] = {"fence_budget_ms", CFG_UINT, false, DEC_AT(fence_budget_ms), .min = 10,
                          .max = MS_HOUR, .dflt = 150},
    [DEC_RATE_MARGIN] = {"clock_rate_margin_permille", CFG_UINT, false,
                         DEC_AT(clock_rate_margin_permille), .max = 499, .dflt = 20},
    /* The self-fence these tuned is gone: refused below with what replaced them. */
    [DEC_SELF_FENCE] = {"self_fence_after_ms", CFG_UINT, false, DEC_AT(self_fence_after_ms),
                        .max = UINT64_MAX},
    [DEC_CLOCK_MARGIN] = {"clock_margin_ms", CFG_UINT, false, DEC_AT(clock_margin_ms),
                          .max = UINT64_MAX},
};

/* n NULL: no decision section, the defaults (the loader checks the fence timing then). */
static int parse_decision(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_decision *d = &ld->cfg->decision;
    const yaml_node_t *at[DEC_NKEYS];

    d->quorum = (uint32_t)(ld->cfg->npeers / 2 + 1);
    if (cfg_read_map(ld, n, "decision", decision_keys, DEC_NKEYS, d, at) != 0 || n == NULL)
        return ld->code;
    if (at[DEC_QUORUM] != NULL && check_quorum(ld, at[DEC_QUORUM]) != 0)
        return ld->code;
    for (int k = DEC_SELF_FENCE; k <= DEC_CLOCK_MARGIN; k++)
        if (at[k] != NULL)
            return cfg_fail(ld, at[k],
                            k == DEC_SELF_FENCE ? "decision.self_fence_after_ms"
                                                : "decision.clock_margin_ms",
                            "no longer exists: write leases replaced the self-fence (see "
                            "decision.lease_ms, lease_renew_ms, fence_budget_ms and "
                            "clock_rate_margin_permille); remove it");
    return cfg_check_lease(ld, at[DEC_LEASE_RENEW] != NULL ? at[DEC_LEASE_RENEW] : n);
}

/* ---- checks ------------------------------------------------------------------------ */

/* A probe that outlives its interval would overlap the next one of the same check. */
static int check_timeout(struct loader *ld, const yaml_node_t *at, const char *path,
                         uint32_t timeout_ms)
{
    uint32_t interval = ld->cfg->checks.interval_ms;

    if (timeout_ms >= interval)
        return cfg_fail(ld, at, path,
                        "timeout_ms %u must be below interval_ms %u: a probe must end before the "
                        "next one "
                        "starts",
                        timeout_ms, interval);
    return 0;
}

/* checks.postgres / checks.redis: {critical: B} into one bool (its default set before). */
static const struct cfg_key component_keys[] = {
    {"critical", CFG_BOOL, false, 0, sizeof(bool)},
};

enum { HC_NAME, HC_REGION, HC_URL, HC_EXPECT, HC_CRITICAL, HC_TIMEOUT, HC_NKEYS };

/* timeout_ms has no default here: checks.timeout_ms, which parse_http_check sets first. */
#define HC_AT(f) CFG_AT(struct fo_check_http, f)
static const struct cfg_key http_check_keys[HC_NKEYS] = {
    [HC_NAME] = {"name", CFG_NAME, true, HC_AT(name)},
    [HC_REGION] = {"region", CFG_REGION, true, HC_AT(region)},
    [HC_URL] = {"url", CFG_URL, true, HC_AT(url)},
    [HC_EXPECT] = {"expect_status", CFG_UINT, false, HC_AT(expect_status), .min = 100, .max = 599,
                   .dflt = 200},
    [HC_CRITICAL] = {"critical", CFG_BOOL, false, HC_AT(critical)},
    [HC_TIMEOUT] = {"timeout_ms", CFG_UINT, false, HC_AT(timeout_ms), .min = 1, .max = MS_HOUR},
};

static int parse_http_check(struct loader *ld, const yaml_node_t *n, size_t i)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    struct fo_check_http *h = &c->http[i];
    const yaml_node_t *at[HC_NKEYS];
    char path[PATH_LEN], sub[PATH_LEN];

    cfg_join_index(path, "checks.http", i);
    h->timeout_ms = c->timeout_ms;
    if (cfg_read_map(ld, n, path, http_check_keys, HC_NKEYS, h, at) != 0)
        return ld->code;
    if (at[HC_TIMEOUT] != NULL &&
        check_timeout(ld, at[HC_TIMEOUT], cfg_join(sub, path, "timeout_ms"), h->timeout_ms) != 0)
        return ld->code;
    return cfg_check_unique(ld, at[HC_NAME], cfg_join(sub, path, "name"), "checks.http", c->http,
                            sizeof(*c->http), offsetof(struct fo_check_http, name), i);
}

static int parse_http_checks(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    size_t count;

    if ((c->http = cfg_list_alloc(ld, n, "checks.http", YAML_SEQUENCE_NODE, "checks", 0,
                                  FO_CONFIG_MAX_CHECKS, sizeof(*c->http), &count)) == NULL)
        return ld->code;
    for (size_t i = 0; i < count; i++) {
        c->nhttp = i + 1;
        if (parse_http_check(ld, cfg_node_at(ld, n->data.sequence.items.start[i]), i) != 0)
            return ld->code;
    }
    return 0;
}

enum { CHK_INTERVAL, CHK_TIMEOUT, CHK_DOWN, CHK_UP, CHK_POSTGRES, CHK_REDIS, CHK_HTTP, CHK_NKEYS };

#define CHK_AT(f) CFG_AT(struct fo_config_checks, f)
static const struct cfg_key checks_keys[CHK_NKEYS] = {
    /* The fast profile (README "Timing profiles"): a kept connection answers one query per
     * interval, and two failed probes in a row make a check DOWN. The timeout must fit a
     * new connection (about 5 round trips for Postgres: 350 ms at 70 ms RTT) and a loaded
     * machine's scheduling; 180 ms did not (CI saw probes time out at start-up). */
    [CHK_INTERVAL] = {"interval_ms", CFG_UINT, false, CHK_AT(interval_ms), .min = 100,
                      .max = MS_HOUR, .dflt = 500},
    [CHK_TIMEOUT] = {"timeout_ms", CFG_UINT, false, CHK_AT(timeout_ms), .min = 1, .max = MS_HOUR,
                     .dflt = 450},
    [CHK_DOWN] = {"down_after_ms", CFG_UINT, false, CHK_AT(down_after_ms), .max = MS_DAY,
                  .dflt = 500},
    [CHK_UP] = {"up_after_ms", CFG_UINT, false, CHK_AT(up_after_ms), .max = MS_DAY, .dflt = 3000},
    [CHK_POSTGRES] = {"postgres", CFG_NODE, false},
    [CHK_REDIS] = {"redis", CFG_NODE, false},
    [CHK_HTTP] = {"http", CFG_NODE, false},
};

/* n NULL: no checks section, the defaults. */
static int parse_checks(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    const yaml_node_t *at[CHK_NKEYS];

    c->postgres_critical = true; /* a site's Postgres being down is its outage */
    if (cfg_read_map(ld, n, "checks", checks_keys, CHK_NKEYS, c, at) != 0 || n == NULL)
        return ld->code;
    if (check_timeout(ld, at[CHK_TIMEOUT] != NULL ? at[CHK_TIMEOUT] : at[CHK_INTERVAL],
                      at[CHK_TIMEOUT] != NULL ? "checks.timeout_ms" : "checks.interval_ms",
                      c->timeout_ms) != 0 ||
        (at[CHK_POSTGRES] != NULL &&
         cfg_read_map(ld, at[CHK_POSTGRES], "checks.postgres", component_keys,
                      NFIELDS(component_keys), &c->postgres_critical, NULL) != 0) ||
        (at[CHK_REDIS] != NULL &&
         cfg_read_map(ld, at[CHK_REDIS], "checks.redis", component_keys, NFIELDS(component_keys),
                      &c->redis_critical, NULL) != 0) ||
        (at[CHK_HTTP] != NULL && parse_http_checks(ld, at[CHK_HTTP]) != 0))
        return ld->code;
    return 0;
}

/* ---- health, http, alertmanager ---------------------------------------------------- */

static const struct cfg_key health_keys[] = {
    {"listen", CFG_ADDR, false, CFG_AT(struct fo_config_health, listen),
     .why = "the health listener listens on a.b.c.d:port"},
    {"max_connections", CFG_UINT, false, CFG_AT(struct fo_config_health, max_connections), .min = 1,
     .max = 65536, .dflt = 64},
};

/* Local, not in the digest: where this node serves /metrics, /v1/status, /v1/primary and
 * the webhooks. The section's presence turns the listener on; loopback by default. */
enum {
    HTTP_LISTEN,
    HTTP_MAXCONN,
    HTTP_TIMEOUT,
    HTTP_TLS_CERT,
    HTTP_TLS_KEY,
    HTTP_PLAIN,
    HTTP_NKEYS
};

static const struct cfg_key http_keys[HTTP_NKEYS] = {
    [HTTP_LISTEN] = {"listen", CFG_ADDR, false, CFG_AT(struct fo_config_http, listen),
                     .why = "the HTTP API listens on a.b.c.d:port", .dflt_str = "127.0.0.1:7601"},
    [HTTP_MAXCONN] = {"max_connections", CFG_UINT, false,
                      CFG_AT(struct fo_config_http, max_connections), .min = 1, .max = 65536,
                      .dflt = 64},
    [HTTP_TIMEOUT] = {"timeout_ms", CFG_UINT, false, CFG_AT(struct fo_config_http, timeout_ms),
                      .min = 1000, .max = MS_HOUR, .dflt = 5000},
    /* HTTPS (issue 14): PEM files; plain HTTP only when plain_text says so. */
    [HTTP_TLS_CERT] = {"tls_cert", CFG_STRING, false, CFG_AT(struct fo_config_http, tls_cert)},
    [HTTP_TLS_KEY] = {"tls_key", CFG_STRING, false, CFG_AT(struct fo_config_http, tls_key)},
    [HTTP_PLAIN] = {"plain_text", CFG_BOOL, false, CFG_AT(struct fo_config_http, plain_text)},
};

int cfg_parse_http(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_http *h = &ld->cfg->http;
    const yaml_node_t *at[HTTP_NKEYS];

    if (cfg_read_map(ld, n, "http", http_keys, HTTP_NKEYS, h, at) != 0)
        return ld->code;
    if ((h->tls_cert == NULL) != (h->tls_key == NULL))
        return cfg_fail(ld, at[HTTP_TLS_CERT] != NULL ? at[HTTP_TLS_CERT] : at[HTTP_TLS_KEY],
                        h->tls_cert != NULL ? "http.tls_key" : "http.tls_cert",
                        "tls_cert and tls_key go together");
    if (h->tls_cert != NULL && h->plain_text)
        return cfg_fail(ld, at[HTTP_PLAIN], "http.plain_text",
                        "true with tls_cert: choose HTTPS or plain text");
    if (h->tls_cert == NULL && !h->plain_text)
        return cfg_fail(ld, n, "http",
                        "give tls_cert and tls_key for HTTPS, or plain_text: true to serve "
                        "tokens and status unencrypted (loopback, or behind a TLS proxy)");
    return 0;
}

enum { AM_REGION_LABEL, AM_COMPONENT_LABEL, AM_OBSERVER, AM_NKEYS };

#define AM_AT(f) CFG_AT(struct fo_config_alertmanager, f)
static const struct cfg_key alertmanager_keys[AM_NKEYS] = {
    [AM_REGION_LABEL] = {"region_label", CFG_LABEL, false, AM_AT(region_label),
                         .dflt_str = "region"},
    [AM_COMPONENT_LABEL] = {"component_label", CFG_LABEL, false, AM_AT(component_label),
                            .dflt_str = "component"},
    [AM_OBSERVER] = {"observer", CFG_NAME, false, AM_AT(observer), .dflt_str = "alertmanager"},
};

/* n NULL: no alertmanager section, the defaults (and no feed needed). */
static int parse_alertmanager(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_alertmanager *a = &ld->cfg->alertmanager;
    const yaml_node_t *at[AM_NKEYS];

    if (cfg_read_map(ld, n, "alertmanager", alertmanager_keys, AM_NKEYS, a, at) != 0 || n == NULL)
        return ld->code;
    /* Its alerts are reports of one observer: the feed of that name says how the webhook
     * authenticates (its token) and whether those reports count in the quorum. */
    for (size_t i = 0; i < ld->cfg->nfeeds; i++)
        if (strcmp(ld->cfg->feeds[i].name, a->observer) == 0)
            return 0;
    return cfg_fail(ld, at[AM_OBSERVER] != NULL ? at[AM_OBSERVER] : n, "alertmanager.observer",
                    "'%s' is not one of feeds (its token authenticates the webhook, its "
                    "count_in_quorum says whether alerts are evidence)",
                    a->observer);
}

/* ---- the sections together --------------------------------------------------------- */

int cfg_parse_policy(struct loader *ld, const yaml_node_t *decision, const yaml_node_t *checks,
                     const yaml_node_t *feeds, const yaml_node_t *health,
                     const yaml_node_t *alertmanager)
{
    if ((feeds != NULL && parse_feeds(ld, feeds) != 0) || parse_decision(ld, decision) != 0 ||
        parse_checks(ld, checks) != 0 ||
        cfg_read_map(ld, health, "health", health_keys, NFIELDS(health_keys), &ld->cfg->health,
                     NULL) != 0 ||
        parse_alertmanager(ld, alertmanager) != 0)
        return ld->code;
    return 0;
}

/* ---- digest ------------------------------------------------------------------------ */

/* What every node must agree on to decide alike: every decision value; which checks are
 * critical (a region's verdict depends on them); the feeds and whether they count; the
 * alertmanager mapping. Not: probe timings, URLs, token files, listen addresses. Sets
 * (critical http checks, feeds) are sorted by name so their order does not count. */
void cfg_put_policy(struct hasher *h, const struct fo_config *cfg)
{
    const struct fo_config_decision *d = &cfg->decision;
    const struct fo_check_http *checks[FO_CONFIG_MAX_CHECKS] = {NULL};
    const struct fo_feed *feeds[FO_CONFIG_MAX_FEEDS] = {NULL};
    size_t ncrit = 0;

    cfg_put_str(h, "decision");
    cfg_put_u64(h, d->automatic);
    cfg_put_u64(h, d->quorum);
    cfg_put_u64(h, d->failover_after_ms);
    cfg_put_u64(h, d->max_lag_bytes);
    cfg_put_u64(h, d->max_lag_ms);
    cfg_put_u64(h, d->cooldown_ms);
    cfg_put_u64(h, d->lease_renew_ms);
    cfg_put_u64(h, d->lease_ms);
    cfg_put_u64(h, d->fence_budget_ms);
    cfg_put_u64(h, d->clock_rate_margin_permille);

    cfg_put_str(h, "checks");
    cfg_put_u64(h, cfg->checks.postgres_critical);
    cfg_put_u64(h, cfg->checks.redis_critical);
    for (size_t i = 0; i < cfg->checks.nhttp; i++)
        if (cfg->checks.http[i].critical)
            checks[ncrit++] = &cfg->checks.http[i];
    cfg_sort_by_name((const void **)checks, ncrit);
    cfg_put_u64(h, ncrit);
    for (size_t i = 0; i < ncrit; i++) {
        cfg_put_str(h, checks[i]->name);
        cfg_put_str(h, checks[i]->region);
    }

    cfg_put_str(h, "feeds");
    for (size_t i = 0; i < cfg->nfeeds; i++)
        feeds[i] = &cfg->feeds[i];
    cfg_sort_by_name((const void **)feeds, cfg->nfeeds);
    cfg_put_u64(h, cfg->nfeeds);
    for (size_t i = 0; i < cfg->nfeeds; i++) {
        cfg_put_str(h, feeds[i]->name);
        cfg_put_u64(h, feeds[i]->count_in_quorum);
    }

    cfg_put_str(h, "alertmanager");
    cfg_put_str(h, cfg->alertmanager.region_label);
    cfg_put_str(h, cfg->alertmanager.component_label);
    cfg_put_str(h, cfg->alertmanager.observer);
}

/* ---- release ----------------------------------------------------------------------- */

void cfg_policy_free(struct fo_config *cfg)
{
    for (size_t i = 0; i < cfg->checks.nhttp; i++) {
        free(cfg->checks.http[i].name);
        free(cfg->checks.http[i].region);
        free(cfg->checks.http[i].url);
    }
    free(cfg->checks.http);
    for (size_t i = 0; i < cfg->nfeeds; i++) {
        free(cfg->feeds[i].name);
        free(cfg->feeds[i].token_file);
    }
    free(cfg->feeds);
    free(cfg->health.listen);
    free(cfg->http.listen);
    free(cfg->http.tls_cert);
    free(cfg->http.tls_key);
    free(cfg->alertmanager.region_label);
    free(cfg->alertmanager.component_label);
    free(cfg->alertmanager.observer);
}
