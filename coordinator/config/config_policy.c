/*
 * coordinator/config/config_policy.c — the policy sections of a node's configuration: decision,
 * checks, feeds, health and alertmanager, and the local http section (config.h has the
 * contract, config.c the YAML walk and the topology these sections refer to).
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
#include <strings.h>

#include "coordinator/config/config_internal.h"
#include "proto/state.h" /* FO_NAME_MAX */

#define MS_DAY  86400000u
#define MS_HOUR 3600000u
#define MS_WEEK (7ull * MS_DAY)

/* ---- scalars ----------------------------------------------------------------------- */

/* A plain true or false. YAML 1.1's yes/no/on/off are refused: a file that means one of
 * them should say so plainly, and a quoted "false" is a string, not a boolean. */
static int get_bool(struct loader *ld, const yaml_node_t *n, const char *path, bool *out)
{
    const char *s = cfg_scalar_text(ld, n, path);
    char q[48];

    if (s == NULL)
        return ld->code;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "true") == 0)
        *out = true;
    else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "false") == 0)
        *out = false;
    else
        return cfg_fail(ld, n, path, "'%s' is not true or false",
                        cfg_quote(s, n->data.scalar.length, q));
    return 0;
}

/* A Prometheus label name: letters, digits and '_', not starting with a digit. */
static int get_label(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_NAME_MAX, out);

    if (rv == 0 && !cfg_is_env_name((const unsigned char *)*out, strlen(*out)))
        return cfg_fail_value(ld, n, path, *out,
                              "is not a label name (letters, digits and '_', not starting with a "
                              "digit)");
    return rv;
}

/* http:// or https://, a host, no spaces (control characters: cfg_scalar_text). */
static int get_url(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_URL_MAX, out);
    const char *rest;

    if (rv != 0)
        return rv;
    if (strncasecmp(*out, "http://", 7) == 0)
        rest = *out + 7;
    else if (strncasecmp(*out, "https://", 8) == 0)
        rest = *out + 8;
    else
        return cfg_fail_value(ld, n, path, *out, "is not an http:// or https:// URL");
    if (rest[0] == '\0' || rest[0] == '/' || rest[0] == ':')
        return cfg_fail_value(ld, n, path, *out, "has no host");
    if (strchr(*out, ' ') != NULL)
        return cfg_fail_value(ld, n, path, *out, "contains a space");
    return 0;
}

static bool is_peer_name(const struct fo_config *cfg, const char *name)
{
    return fo_config_peer_by_name(cfg, name) != NULL;
}

static const struct fo_feed *feed_by_name(const struct fo_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nfeeds; i++)
        if (strcmp(cfg->feeds[i].name, name) == 0)
            return &cfg->feeds[i];
    return NULL;
}

static uint32_t counted_feeds(const struct fo_config *cfg)
{
    uint32_t n = 0;
    for (size_t i = 0; i < cfg->nfeeds; i++)
        n += cfg->feeds[i].count_in_quorum;
    return n;
}

/* ---- feeds ------------------------------------------------------------------------- */

static int parse_feed(struct loader *ld, const yaml_node_t *n, size_t i)
{
    struct fo_config *cfg = ld->cfg;
    struct fo_feed *fd = &cfg->feeds[i];
    struct field f[] = {{"name", true}, {"token_file", true}, {"count_in_quorum", false}};
    char path[PATH_LEN], sub[PATH_LEN];

    cfg_join_index(path, "feeds", i);
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        cfg_get_name(ld, f[0].value, cfg_join(sub, path, "name"), &fd->name) != 0 ||
        cfg_get_string(ld, f[1].value, cfg_join(sub, path, "token_file"), FO_CONFIG_STRING_MAX,
                       &fd->token_file) != 0 ||
        (f[2].value != NULL && get_bool(ld, f[2].value, cfg_join(sub, path, "count_in_quorum"),
                                        &fd->count_in_quorum) != 0))
        return ld->code;
    /* Verdicts are keyed by observer name: a feed named like a node would overwrite that
     * node's verdicts and vote in its place. */
    if (is_peer_name(cfg, fd->name))
        return cfg_fail(ld, f[0].value, cfg_join(sub, path, "name"),
                        "'%s' is a peer's name: a feed cannot speak for a coordinator node",
                        fd->name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(cfg->feeds[j].name, fd->name) == 0)
            return cfg_fail(ld, f[0].value, cfg_join(sub, path, "name"),
                            "'%s' is also feeds[%zu]'s name", fd->name, j);
    return 0;
}

static int parse_feeds(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    size_t count;

    if (cfg_expect(ld, n, "feeds", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(n);
    if (count > FO_CONFIG_MAX_FEEDS)
        return cfg_fail(ld, n, "feeds", "%zu feeds: at most %d", count, FO_CONFIG_MAX_FEEDS);
    cfg->feeds = calloc(count > 0 ? count : 1, sizeof(*cfg->feeds));
    if (cfg->feeds == NULL)
        return cfg_no_memory(ld);
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

/* Self-fencing (DESIGN §5): a primary cut off from the majority must have fenced itself
 * before the majority may promote. The majority cannot commit before cut +
 * failover_after_ms. The cut-off node still counts as in contact until it has missed the
 * leader (or a majority of followers) for one raft.election_timeout_ms, then waits
 * self_fence_after_ms, checked every FO_CONFIG_TICK_MS; its clock may run slower than the
 * majority's by clock_margin_ms over the interval. The sum must stay below
 * failover_after_ms. */
int cfg_check_fence_timing(struct loader *ld, const yaml_node_t *at)
{
    const struct fo_config_decision *d = &ld->cfg->decision;
    const uint64_t et = ld->cfg->raft.election_timeout_ms;

    if (d->self_fence_after_ms + d->clock_margin_ms + et + FO_CONFIG_TICK_MS >=
        d->failover_after_ms)
        return cfg_fail(ld, at, "decision.self_fence_after_ms",
                        "%llu + clock_margin_ms %llu + raft.election_timeout_ms %llu + the %u ms "
                        "check period must be below failover_after_ms %llu: a cut-off primary "
                        "must fence itself before the majority may promote",
                        (unsigned long long)d->self_fence_after_ms,
                        (unsigned long long)d->clock_margin_ms, (unsigned long long)et,
                        FO_CONFIG_TICK_MS, (unsigned long long)d->failover_after_ms);
    return 0;
}

static int parse_decision(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_decision *d = &ld->cfg->decision;
    struct field f[] = {
        {"auto", false},
        {"quorum", false},
        {"failover_after_ms", false},
        {"max_lag_bytes", false},
        {"max_lag_ms", false},
        {"cooldown_ms", false},
        {"self_fence_after_ms", false},
        {"clock_margin_ms", false},
    };

    if (cfg_read_map(ld, n, "decision", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL && get_bool(ld, f[0].value, "decision.auto", &d->automatic) != 0) ||
        (f[1].value != NULL &&
         cfg_get_u32(ld, f[1].value, "decision.quorum", 1, 1000, &d->quorum) != 0) ||
        (f[2].value != NULL && cfg_get_u64(ld, f[2].value, "decision.failover_after_ms", 1000,
                                           MS_DAY, &d->failover_after_ms) != 0) ||
        (f[3].value != NULL && cfg_get_u64(ld, f[3].value, "decision.max_lag_bytes", 0,
                                           UINT64_MAX / 2, &d->max_lag_bytes) != 0) ||
        (f[4].value != NULL &&
         cfg_get_u64(ld, f[4].value, "decision.max_lag_ms", 0, MS_WEEK, &d->max_lag_ms) != 0) ||
        (f[5].value != NULL &&
         cfg_get_u64(ld, f[5].value, "decision.cooldown_ms", 0, MS_WEEK, &d->cooldown_ms) != 0) ||
        (f[6].value != NULL && cfg_get_u64(ld, f[6].value, "decision.self_fence_after_ms", 100,
                                           MS_DAY, &d->self_fence_after_ms) != 0) ||
        (f[7].value != NULL && cfg_get_u64(ld, f[7].value, "decision.clock_margin_ms", 0, MS_HOUR,
                                           &d->clock_margin_ms) != 0))
        return ld->code;
    if (f[1].value != NULL && check_quorum(ld, f[1].value) != 0)
        return ld->code;
    return cfg_check_fence_timing(ld, f[6].value != NULL   ? f[6].value
                                      : f[2].value != NULL ? f[2].value
                                      : f[7].value != NULL ? f[7].value
                                                           : n);
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

/* postgres: {critical: B} / redis: {critical: B}. */
static int parse_component(struct loader *ld, const yaml_node_t *n, const char *path, bool *crit)
{
    struct field f[] = {{"critical", false}};
    char sub[PATH_LEN];

    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL && get_bool(ld, f[0].value, cfg_join(sub, path, "critical"), crit)))
        return ld->code;
    return 0;
}

static int parse_http_check(struct loader *ld, const yaml_node_t *n, size_t i)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    struct fo_check_http *h = &c->http[i];
    struct field f[] = {
        {"name", true},           {"region", true},    {"url", true},
        {"expect_status", false}, {"critical", false}, {"timeout_ms", false},
    };
    char path[PATH_LEN], sub[PATH_LEN];

    cfg_join_index(path, "checks.http", i);
    h->expect_status = 200;
    h->timeout_ms = c->timeout_ms;
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        cfg_get_name(ld, f[0].value, cfg_join(sub, path, "name"), &h->name) != 0 ||
        cfg_get_region(ld, f[1].value, cfg_join(sub, path, "region"), &h->region) != 0 ||
        get_url(ld, f[2].value, cfg_join(sub, path, "url"), &h->url) != 0 ||
        (f[3].value != NULL && cfg_get_u32(ld, f[3].value, cfg_join(sub, path, "expect_status"),
                                           100, 599, &h->expect_status) != 0) ||
        (f[4].value != NULL &&
         get_bool(ld, f[4].value, cfg_join(sub, path, "critical"), &h->critical) != 0) ||
        (f[5].value != NULL && cfg_get_u32(ld, f[5].value, cfg_join(sub, path, "timeout_ms"), 1,
                                           MS_HOUR, &h->timeout_ms) != 0))
        return ld->code;
    if (f[5].value != NULL &&
        check_timeout(ld, f[5].value, cfg_join(sub, path, "timeout_ms"), h->timeout_ms) != 0)
        return ld->code;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->http[j].name, h->name) == 0)
            return cfg_fail(ld, f[0].value, cfg_join(sub, path, "name"),
                            "'%s' is also checks.http[%zu]'s name", h->name, j);
    return 0;
}

static int parse_http_checks(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    size_t count;

    if (cfg_expect(ld, n, "checks.http", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(n);
    if (count > FO_CONFIG_MAX_CHECKS)
        return cfg_fail(ld, n, "checks.http", "%zu checks: at most %d", count,
                        FO_CONFIG_MAX_CHECKS);
    c->http = calloc(count > 0 ? count : 1, sizeof(*c->http));
    if (c->http == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < count; i++) {
        c->nhttp = i + 1;
        if (parse_http_check(ld, cfg_node_at(ld, n->data.sequence.items.start[i]), i) != 0)
            return ld->code;
    }
    return 0;
}

static int parse_checks(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_checks *c = &ld->cfg->checks;
    struct field f[] = {
        {"interval_ms", false}, {"timeout_ms", false}, {"down_after_ms", false},
        {"up_after_ms", false}, {"postgres", false},   {"redis", false},
        {"http", false},
    };

    if (cfg_read_map(ld, n, "checks", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL &&
         cfg_get_u32(ld, f[0].value, "checks.interval_ms", 100, MS_HOUR, &c->interval_ms) != 0) ||
        (f[1].value != NULL &&
         cfg_get_u32(ld, f[1].value, "checks.timeout_ms", 1, MS_HOUR, &c->timeout_ms) != 0) ||
        (f[2].value != NULL &&
         cfg_get_u32(ld, f[2].value, "checks.down_after_ms", 0, MS_DAY, &c->down_after_ms) != 0) ||
        (f[3].value != NULL &&
         cfg_get_u32(ld, f[3].value, "checks.up_after_ms", 0, MS_DAY, &c->up_after_ms) != 0))
        return ld->code;
    if (check_timeout(ld, f[1].value != NULL ? f[1].value : f[0].value,
                      f[1].value != NULL ? "checks.timeout_ms" : "checks.interval_ms",
                      c->timeout_ms) != 0 ||
        (f[4].value != NULL &&
         parse_component(ld, f[4].value, "checks.postgres", &c->postgres_critical) != 0) ||
        (f[5].value != NULL &&
         parse_component(ld, f[5].value, "checks.redis", &c->redis_critical) != 0) ||
        (f[6].value != NULL && parse_http_checks(ld, f[6].value) != 0))
        return ld->code;
    return 0;
}

/* ---- health, alertmanager ---------------------------------------------------------- */

static int parse_health(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_health *h = &ld->cfg->health;
    struct field f[] = {{"listen", false}, {"max_connections", false}};

    if (cfg_read_map(ld, n, "health", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL &&
         cfg_get_ipv4_port(ld, f[0].value, "health.listen",
                           "the health listener listens on a.b.c.d:port", &h->listen) != 0) ||
        (f[1].value != NULL &&
         cfg_get_u32(ld, f[1].value, "health.max_connections", 1, 65536, &h->max_connections) != 0))
        return ld->code;
    return 0;
}

static int set_default(struct loader *ld, char **out, const char *dflt)
{
    if (*out == NULL && (*out = strdup(dflt)) == NULL)
        return cfg_no_memory(ld);
    return 0;
}

/* Local, not in the digest: where this node serves /metrics, /v1/status, /v1/primary and
 * the webhooks. The section's presence turns the listener on; loopback by default. */
int cfg_parse_http(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_http *h = &ld->cfg->http;
    struct field f[] = {{"listen", false}, {"max_connections", false}, {"timeout_ms", false}};

    h->max_connections = 64;
    h->timeout_ms = 5000;
    if (cfg_read_map(ld, n, "http", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL &&
         cfg_get_ipv4_port(ld, f[0].value, "http.listen", "the HTTP API listens on a.b.c.d:port",
                           &h->listen) != 0) ||
        (f[1].value != NULL &&
         cfg_get_u32(ld, f[1].value, "http.max_connections", 1, 65536, &h->max_connections) != 0) ||
        (f[2].value != NULL &&
         cfg_get_u32(ld, f[2].value, "http.timeout_ms", 1000, MS_HOUR, &h->timeout_ms) != 0) ||
        set_default(ld, &h->listen, "127.0.0.1:7601") != 0)
        return ld->code;
    return 0;
}

static int parse_alertmanager(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_alertmanager *a = &ld->cfg->alertmanager;
    struct field f[] = {{"region_label", false}, {"component_label", false}, {"observer", false}};

    if (cfg_read_map(ld, n, "alertmanager", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL &&
         get_label(ld, f[0].value, "alertmanager.region_label", &a->region_label) != 0) ||
        (f[1].value != NULL &&
         get_label(ld, f[1].value, "alertmanager.component_label", &a->component_label) != 0) ||
        (f[2].value != NULL &&
         cfg_get_name(ld, f[2].value, "alertmanager.observer", &a->observer) != 0) ||
        set_default(ld, &a->observer, "alertmanager") != 0)
        return ld->code;
    /* Its alerts are reports of one observer: the feed of that name says how the webhook
     * authenticates (its token) and whether those reports count in the quorum. */
    if (feed_by_name(ld->cfg, a->observer) == NULL)
        return cfg_fail(ld, f[2].value != NULL ? f[2].value : n, "alertmanager.observer",
                        "'%s' is not one of feeds (its token authenticates the webhook, its "
                        "count_in_quorum says whether alerts are evidence)",
                        a->observer);
    return 0;
}

/* ---- the sections together --------------------------------------------------------- */

static void set_defaults(struct fo_config *cfg)
{
    cfg->decision = (struct fo_config_decision){
        .automatic = true,
        .quorum = (uint32_t)(cfg->npeers / 2 + 1),
        .failover_after_ms = 30000,
        .max_lag_bytes = 16u * 1024u * 1024u,
        .max_lag_ms = MS_HOUR,
        .cooldown_ms = 600000,
        .self_fence_after_ms = 10000,
        .clock_margin_ms = 2000,
    };
    cfg->checks.interval_ms = 5000;
    cfg->checks.timeout_ms = 2000;
    cfg->checks.down_after_ms = 15000;
    cfg->checks.up_after_ms = 10000;
    cfg->checks.postgres_critical = true;
    cfg->checks.redis_critical = false;
    cfg->health.max_connections = 64;
}

int cfg_parse_policy(struct loader *ld, const yaml_node_t *decision, const yaml_node_t *checks,
                     const yaml_node_t *feeds, const yaml_node_t *health,
                     const yaml_node_t *alertmanager)
{
    struct fo_config_alertmanager *a = &ld->cfg->alertmanager;

    set_defaults(ld->cfg);
    if ((feeds != NULL && parse_feeds(ld, feeds) != 0) ||
        (decision != NULL && parse_decision(ld, decision) != 0) ||
        (checks != NULL && parse_checks(ld, checks) != 0) ||
        (health != NULL && parse_health(ld, health) != 0) ||
        (alertmanager != NULL && parse_alertmanager(ld, alertmanager) != 0))
        return ld->code;
    if (set_default(ld, &a->region_label, "region") != 0 ||
        set_default(ld, &a->component_label, "component") != 0 ||
        set_default(ld, &a->observer, "alertmanager") != 0)
        return ld->code;
    return 0;
}

/* ---- digest ------------------------------------------------------------------------ */

static int cmp_check(const void *a, const void *b)
{
    const struct fo_check_http *x = *(const struct fo_check_http *const *)a;
    const struct fo_check_http *y = *(const struct fo_check_http *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_feed(const void *a, const void *b)
{
    const struct fo_feed *x = *(const struct fo_feed *const *)a;
    const struct fo_feed *y = *(const struct fo_feed *const *)b;
    return strcmp(x->name, y->name);
}

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
    cfg_put_u64(h, d->self_fence_after_ms);
    cfg_put_u64(h, d->clock_margin_ms);

    cfg_put_str(h, "checks");
    cfg_put_u64(h, cfg->checks.postgres_critical);
    cfg_put_u64(h, cfg->checks.redis_critical);
    for (size_t i = 0; i < cfg->checks.nhttp; i++)
        if (cfg->checks.http[i].critical)
            checks[ncrit++] = &cfg->checks.http[i];
    qsort(checks, ncrit, sizeof(checks[0]), cmp_check);
    cfg_put_u64(h, ncrit);
    for (size_t i = 0; i < ncrit; i++) {
        cfg_put_str(h, checks[i]->name);
        cfg_put_str(h, checks[i]->region);
    }

    cfg_put_str(h, "feeds");
    for (size_t i = 0; i < cfg->nfeeds; i++)
        feeds[i] = &cfg->feeds[i];
    qsort(feeds, cfg->nfeeds, sizeof(feeds[0]), cmp_feed);
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
    free(cfg->alertmanager.region_label);
    free(cfg->alertmanager.component_label);
    free(cfg->alertmanager.observer);
}
