/*
 * coordinator/config/config.h — a node's YAML configuration (DESIGN §2, §9).
 *
 * One file per node. Part of it must be identical on every node — the cluster name,
 * peers, regions, sites and initial primary, and the policy: every decision.* value, the
 * checks' critical flags (and which http checks are critical, by name and region), the
 * feeds' names and count_in_quorum, the alertmanager mapping: the "replicated part", whose
 * SHA-256 digest (fo_config.digest) nodes exchange so that diverging configs are reported
 * (a node with another quorum would decide differently). The rest is local: which peer
 * this node is, its data directory, listen addresses, token files, probe timings.
 *
 * The digest hashes a canonical serialization (every field in a fixed order, strings and
 * counts length-prefixed), never the YAML text, so formatting, comments, key order and
 * flow vs block style do not change it. Lists that are sets — regions, peers (by id),
 * sites and vercel_env (by name) — are sorted first, so their order does not count
 * either. Secret file paths (password_file, vercel_env file) are local too: the digest
 * records only whether a password file is set and whether an env value comes from a
 * file, since two nodes may keep the same secret under different paths.
 *
 * Strict: unknown keys, duplicate keys, a value of the wrong kind (a map where a scalar
 * belongs), explicit YAML tags, a quoted number, a number out of range or with a leading
 * zero, and a second YAML document are all errors: a typo must not be silently ignored.
 * Names (cluster, node, peer, region, site) are 1 to FO_NAME_MAX bytes of letters,
 * digits, '.', '_' and '-', as they appear in key=value logs; Vercel variable names are
 * letters, digits and '_', not starting with a digit. Other strings hold no control
 * characters. The loader never opens the secret files, nor checks data_dir: callers do.
 *
 * Secrets are never inline: the file names token and password FILES, and only their
 * paths are kept here. Nothing in this struct is secret, so it may be logged.
 *
 * Errors name the file, the line and the key: "node.yaml:14: peers[1].raft: '10.0.0.1'
 * is not an IPv4 address with a port (libraft 0.15 needs a.b.c.d:port)".
 *
 * Ownership: fo_config_load() fills a caller-owned struct; every string and array in it
 * is owned by that struct and released by fo_config_free(). Not thread-safe to load;
 * read-only afterwards, so any thread may read it.
 *
 * Example (see tests/data/config/ for complete ones):
 *
 *   cluster: bmf001-prod
 *   node:
 *     name: us-east-1                # one of peers[].name
 *     data_dir: /var/lib/failoverd   # raft log and snapshots; must exist
 *   peers:                           # every voting node, the same on every node
 *     - {name: us-east-1, id: 1, region: us-east-1, raft: 10.0.1.10:7301, admin: 10.0.1.10:7401}
 *     - {name: us-west-2, id: 2, region: us-west-2, raft: 10.0.2.10:7301, admin: 10.0.2.10:7401}
 *     - {name: eu-west-1, id: 3, region: eu-west-1, raft: 10.0.3.10:7301, admin: 10.0.3.10:7401}
 *   regions: [us-east-1, us-west-2, eu-west-1]
 *   initial_primary: main
 *   sites:
 *     main:
 *       priority: 1
 *       postgres: {region: us-east-1, host: 10.0.1.20, port: 5432, dbname: app,
 *                  user: failoverd, password_file: /etc/failoverd/pg-main.password}
 *       redis: {region: us-east-1, host: 10.0.1.30, port: 6379}
 *       vercel_env:
 *         DATABASE_URL: {file: /etc/failoverd/db-url-main}   # secret: read from a file
 *         REDIS_HOST: 10.0.1.30                              # plain value
 *       dns_origin: 203.0.113.10
 *     dr:
 *       priority: 2
 *       postgres: {region: eu-west-1, host: 10.0.3.20, port: 5432, dbname: app, user: failoverd}
 *       redis: {region: us-west-2, host: 10.0.2.30, port: 6379}
 *   raft:                            # optional; these are the defaults
 *     election_timeout_ms: 1000
 *     heartbeat_ms: 100
 *     snapshot_threshold: 512
 *     snapshot_trailing: 512
 *     connect_retry_ms: 250
 *     leader_off_primary: true       # move the leader out of the primary's regions
 *   decision:                        # optional; these are the defaults
 *     auto: true                     # false: never fail over automatically
 *     quorum: 2                      # default: a majority of peers
 *     failover_after_ms: 250         # an outage must last this long (after DOWN)
 *     max_lag_bytes: 16777216
 *     max_lag_ms: 3600000
 *     cooldown_ms: 600000
 *     lease_renew_ms: 100            # the write lease (run/lease.h): renew this often,
 *     lease_ms: 600                  # hold a granted round this long (>= 2 x renew),
 *     fence_budget_ms: 150           # fence within this once it lapses;
 *     clock_rate_margin_permille: 20 # clocks run within 1 +- 2 % of real time
 *   checks:                          # optional; the fast profile
 *     interval_ms: 500
 *     timeout_ms: 450
 *     down_after_ms: 500
 *     up_after_ms: 3000
 *     postgres: {critical: true}
 *     redis: {critical: false}
 *     http:
 *       - {name: web-us-east-1, region: us-east-1, url: "https://example.com/health",
 *          expect_status: 200, critical: true, timeout_ms: 2000}
 *   feeds:                           # optional: monitoring systems that report health
 *     - {name: datadog, token_file: /etc/failoverd/feed-datadog.token, count_in_quorum: false}
 *   health: {listen: 127.0.0.1:7501, max_connections: 64}   # optional: no listener
 *   alertmanager: {region_label: region, component_label: component, observer: datadog}
 *   http: {listen: 127.0.0.1:7601, max_connections: 64, timeout_ms: 5000,  # optional: none
 *          tls_cert: /etc/failoverd/http.crt, tls_key: /etc/failoverd/http.key}
 *          # or plain_text: true instead of the two (plain HTTP, said explicitly)
 *   admin:
 *     listen: 127.0.0.1:7401          # optional; default: this node's peers[].admin
 *     token_file: /etc/failoverd/admin.token      # required: full access
 *     read_token_file: /etc/failoverd/read.token  # optional: status/history/report only
 *     tokens_file: /etc/failoverd/tokens  # optional: named operators with roles; then
 *                                         # token_file is for nodes only (serve/tokens.h)
 *     max_connections: 64             # optional
 *     request_timeout_ms: 5000        # optional
 */
#ifndef FO_COORDINATOR_CONFIG_H
#define FO_COORDINATOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions/pg_ssl.h"
#include "coordinator/config/plan.h"
#include "proto/error.h"

/* Bounds, checked before anything is allocated for them. */
#define FO_CONFIG_FILE_MAX    (1024u * 1024u) /* bytes of YAML */
#define FO_CONFIG_MAX_PEERS   9
#define FO_CONFIG_MAX_REGIONS 32
#define FO_CONFIG_MAX_SITES   64
#define FO_CONFIG_MAX_ENV     64   /* vercel_env entries per site */
#define FO_CONFIG_STRING_MAX  4096 /* paths, hosts, inline values */
#define FO_CONFIG_MAX_FEEDS   16
#define FO_CONFIG_MAX_CHECKS  64 /* checks.http entries */
#define FO_CONFIG_URL_MAX     2048
#define FO_CONFIG_MAX_ARGV    32 /* words of a site's postgres.rejoin_command */

/* fo_error.code of a failed load. */
enum fo_config_code {
    FO_CONFIG_OK = 0,
    FO_CONFIG_EIO = 1,      /* the file cannot be read, or is over FO_CONFIG_FILE_MAX */
    FO_CONFIG_ESYNTAX = 2,  /* not well-formed YAML (libyaml's message and line) */
    FO_CONFIG_EINVALID = 3, /* well-formed YAML that breaks a rule of this file */
    FO_CONFIG_ESYSTEM = 4,  /* out of memory, or libcrypto failed */
    FO_CONFIG_EFROZEN = 5,  /* a reload changes a key that cannot change live
                             * (config_reload.h) */
};

/* A coordinator node (a Raft voter). */
struct fo_peer {
    char *name;   /* also the node's name in logs and status, e.g. "us-east-1" */
    uint64_t id;  /* Raft server id, > 0, unique, never reused */
    char *region; /* one of fo_config.regions */
    char *raft;   /* "a.b.c.d:port": libraft 0.15 takes IPv4 literals only */
    char *admin;  /* "a.b.c.d:port" of its admin endpoint, where followers send clients */
};

struct fo_site_postgres {
    char *region;
    char *host;
    uint16_t port;       /* default 5432 */
    char *dbname;        /* default "postgres" */
    char *user;          /* default "failoverd" */
    char *password_file; /* optional */
    /* TLS (actions/pg_ssl.h, by enum fo_pg_ssl): sslmode, sslrootcert, sslcert, sslkey;
     * NULL: libpq's default. Local (paths), not in the digest. */
    char *ssl[FO_PG_NSSL];
    /* rejoin_command: the program (argv, no shell) postgres.rejoin runs to re-seed this
     * server as a standby of the primary (failoverctl rejoin; deploy/pg-rejoin), e.g.
     * [ssh, db1.us-east-1, /usr/lib/failoverd/pg-rejoin, --pgdata, /var/lib/pg/15/main].
     * Optional (NULL: rejoin cannot re-seed this Postgres); local, not in the digest. */
    char **rejoin_command;
    size_t nrejoin_command; /* 1 to FO_CONFIG_MAX_ARGV */
};

struct fo_site_redis {
    char *region;
    char *host;
    uint16_t port;       /* default 6379 */
    char *password_file; /* optional */
};

/* A Vercel environment variable this site sets: exactly one of value / value_file. */
struct fo_env_var {
    char *name;
    char *value;      /* inline (not secret), or NULL */
    char *value_file; /* a file holding the (secret) value, or NULL */
};

/* A site: where each component lives when this site is primary (DESIGN §2). */
struct fo_site {
    char *name;
    uint32_t priority;                 /* lower is preferred as a failover target; default 100 */
    struct fo_site_postgres *postgres; /* NULL: no Postgres in this site */
    struct fo_site_redis *redis;       /* NULL: no Redis */
    struct fo_env_var *vercel_env;     /* optional */
    size_t nvercel_env;
    char *dns_origin; /* optional: origin the DNS record points to */
};

struct fo_config_raft {
    uint32_t election_timeout_ms; /* default 1000; >= 100 */
    uint32_t heartbeat_ms;        /* default 100; < election_timeout_ms */
    uint32_t snapshot_threshold;  /* default 512 */
    uint32_t snapshot_trailing;   /* default 512 */
    uint32_t connect_retry_ms;    /* default 250 */
    bool leader_off_primary;      /* default true: run/placement.h */
};

struct fo_config_admin {
    char *listen;                /* "a.b.c.d:port"; default: self->admin */
    char *token_file;            /* required */
    char *read_token_file;       /* optional */
    char *tokens_file;           /* optional: operators by name (serve/tokens.h); when set,
                                  * token_file is the nodes' credential only */
    uint32_t max_connections;    /* default 64 */
    uint32_t request_timeout_ms; /* default 5000 */
};

/* tls: mutual TLS between nodes (Raft and admin ports) and for failoverctl
 * (consensus/tls.h). Local, not replicated: each node names its own files. mode on
 * needs ca, cert and key; off is plain text and must be written explicitly. */
enum fo_tls_mode { FO_TLS_MODE_UNSET = 0, FO_TLS_MODE_ON, FO_TLS_MODE_OFF };
struct fo_config_tls {
    uint32_t mode; /* enum fo_tls_mode */
    char *ca;      /* PEM: the cluster CA */
    char *cert;    /* PEM: this node's certificate (deploy/make-certs) */
    char *key;     /* PEM: its key */
    char *crl;     /* PEM: the CA's revocation list (deploy/make-certs --revoke), or NULL */
};

/* decision: the automatic failover policy (coordinator/decide/decision.h). Replicated: a node
 * with another quorum or threshold would decide differently. */
struct fo_config_decision {
    bool automatic;             /* "auto"; default true. false: never decide automatically
                                 * (operators still can); unlike pause, not replicated state */
    uint32_t quorum;            /* observers needed; default: a majority of peers;
                                 * 1 to npeers + feeds counted in the quorum */
    uint64_t failover_after_ms; /* each of them holds the primary DOWN this long; 30000 */
    uint64_t max_lag_bytes;     /* RPO gate; default 16 MiB */
    uint64_t max_lag_ms;        /* RPO gate; default 3600000 (the runbook's 1 h) */
    uint64_t cooldown_ms;       /* no automatic failover this long after one; 600000 */
    /* The write lease (coordinator/run/lease.h), monotonic milliseconds: */
    uint64_t lease_renew_ms;             /* a renewal round this often; default 100 */
    uint64_t lease_ms;                   /* a granted round holds this long; default 600;
                                          * at least 2 x lease_renew_ms */
    uint64_t fence_budget_ms;            /* a lapsed guardian fences within; default 150 */
    uint64_t clock_rate_margin_permille; /* clocks' rate within 1 +- this; default 20 (2 %) */
    uint64_t self_fence_after_ms;        /* gone (refused when set): only read to say so */
    uint64_t clock_margin_ms;            /* gone (refused when set) */
};

/* The daemon's housekeeping period: self-fencing is checked this often, so a fence may
 * start up to this late; the fence-timing rule counts it. */
#define FO_CONFIG_TICK_MS 500

/* checks.http[]: an extra health URL probed in one region. */
struct fo_check_http {
    char *name;             /* unique among checks.http */
    char *region;           /* one of regions */
    char *url;              /* http:// or https:// */
    uint32_t expect_status; /* default 200 */
    bool critical;          /* DOWN makes the region DOWN; default false */
    uint32_t timeout_ms;    /* default checks.timeout_ms; < checks.interval_ms */
};

/* checks: what every node probes (DESIGN §5). The critical flags are replicated; timings
 * are local tuning. */
struct fo_config_checks {
    uint32_t interval_ms;   /* default 5000 */
    uint32_t timeout_ms;    /* default 2000; < interval_ms */
    uint32_t down_after_ms; /* a check is DOWN after failing this long; default 15000 */
    uint32_t up_after_ms;   /* and UP after succeeding this long; default 10000 */
    bool postgres_critical; /* each site's Postgres check; default true */
    bool redis_critical;    /* each site's Redis check; default false */
    struct fo_check_http *http;
    size_t nhttp;
};

/* feeds[]: a monitoring system that pushes health reports as an observer. */
struct fo_feed {
    char *name;           /* the observer name its reports carry; not a peer's name */
    char *token_file;     /* its bearer token (local: not in the digest) */
    bool count_in_quorum; /* default false: shown, never evidence */
};

/* health: the health-feed listener (local). */
struct fo_config_health {
    char *listen;             /* "a.b.c.d:port", or NULL: no listener (the default) */
    uint32_t max_connections; /* default 64 */
};

/* http: the HTTP API (coordinator/serve/http_api.h), local. Absent: no listener. */
struct fo_config_http {
    char *listen;             /* "a.b.c.d:port"; NULL when the section is absent; when the
                               * section omits it, 127.0.0.1:7601 */
    uint32_t max_connections; /* default 64 */
    uint32_t timeout_ms;      /* idle connections are cut after this; default 5000; whole
                               * seconds (libmicrohttpd's granularity): rounded up */
    char *tls_cert;           /* PEM certificate (chain) for HTTPS, or NULL */
    char *tls_key;            /* its PEM private key; set together with tls_cert */
    bool plain_text;          /* serve plain HTTP: required when tls_cert is not set */
};

/* alertmanager: how POST /v1/alertmanager maps alert labels (replicated). */
struct fo_config_alertmanager {
    char *region_label;    /* default "region" */
    char *component_label; /* default "component" */
    char *observer;        /* default "alertmanager"; when the section is written, one of
                            * feeds (its token, its count_in_quorum) */
};

struct fo_config {
    char *path; /* the file it was loaded from */
    char *cluster;
    char *node_name;
    char *data_dir;
    const struct fo_peer *self; /* points into peers */
    struct fo_peer *peers;
    size_t npeers; /* odd: 1, 3, 5, 7 or 9 */
    char **regions;
    size_t nregions;
    struct fo_site *sites;
    size_t nsites;
    char *initial_primary; /* a site name */
    struct fo_config_raft raft;
    struct fo_config_admin admin;
    struct fo_config_decision decision;
    struct fo_config_checks checks;
    struct fo_feed *feeds; /* optional */
    size_t nfeeds;
    struct fo_config_health health;
    struct fo_config_http http;
    struct fo_config_tls tls;                   /* mode UNSET when the file has no tls section */
    struct fo_config_alertmanager alertmanager; /* strings always set (defaults) */
    struct fo_plan plan; /* the failover plan (config_plan.c); a default when not written */
    char digest[65];     /* hex SHA-256 of the replicated part (see above) */
};

/* Load and validate path into cfg (overwritten). Returns 0, or an fo_config_code with
 * err->msg naming file, line and key ("node.yaml:14: peers[1].raft: ..."). On error cfg
 * holds nothing to free. */
int fo_config_load(const char *path, struct fo_config *cfg, struct fo_error *err);

/* The same from len bytes of YAML at data (not NUL-terminated; not kept). name stands
 * for the file in messages and in cfg->path. fo_config_load reads the file and calls
 * this; tests and the fuzz target call it directly. */
int fo_config_load_buffer(const char *name, const char *data, size_t len, struct fo_config *cfg,
                          struct fo_error *err);

/* Release everything cfg owns and zero it. */
void fo_config_free(struct fo_config *cfg);

/* Lookups; NULL when absent. */
const struct fo_site *fo_config_site(const struct fo_config *cfg, const char *name);
const struct fo_peer *fo_config_peer_by_id(const struct fo_config *cfg, uint64_t id);
const struct fo_peer *fo_config_peer_by_name(const struct fo_config *cfg, const char *name);

#endif
