/*
 * tests/unit/test_decision.c — the failover decision policy (coordinator/decide/decision.h),
 * table-driven.
 *
 * Each row is a scenario in a compact notation, replayed through the real FSM
 * (consensus/fsm.h) so that the state is one the cluster can actually reach — a verdict
 * that flaps gets its since_ms from the FSM, history comes from committed op_begin /
 * op_end — and then the expected decision: kind, target, reason code, a piece of the text
 * and, for a failover, detected_ms.
 *
 * Events, applied in order (times in seconds; "now" too):
 *   OR:S:T      observer O's verdict on region R becomes S (D down, U up, N unknown) at T.
 *               Letters name both nodes and regions: E us-east-1, W us-west-2,
 *               U eu-west-1, A ap-south-1, S sa-east-1; feeds: d datadog (not counted),
 *               p pingdom (count_in_quorum), x a stranger no config names.
 *   pause:BY:WHY  mode paused;  cool:T  cooldown until T
 *   op:K:F>T    an operation (K: a auto, m manual) from F to T, begun and finished
 *   run:K:F>T   the same, begun only: in flight
 *   drill:F     a drill of F, begun and finished
 *   rejoin:F>T  a rejoin of site T while F is primary, begun and succeeded;
 *   rejoin-failed:F>T  the same, failed
 *   digest:N:H  node N reports replicated-config digest H ("ours": the row's config's)
 *   noinit      (first) never initialise;  init:P  initialise with primary P, not main
 * Lags: "dr=48M/1000" (bytes, M = MiB; then ms), "dr=?" unknown, "dr=W" not a replica
 * (its Postgres is not in recovery); a site not listed is unknown too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/fsm.h"
#include "coordinator/config/config.h"
#include "coordinator/decide/decision.h"
#include "coordinator/decide/verdict_clock.h"

/* ---- configurations -------------------------------------------------------------- */

#define PEERS3                                                                                     \
    "cluster: t\n"                                                                                 \
    "node: {name: us-east-1, data_dir: /tmp/x}\n"                                                  \
    "tls: {mode: off}\n"                                                                           \
    "admin: {token_file: /t}\n"                                                                    \
    "peers:\n"                                                                                     \
    "  - {name: us-east-1, id: 1, region: us-east-1, raft: 10.0.0.1:1, admin: 10.0.0.1:2}\n"       \
    "  - {name: us-west-2, id: 2, region: us-west-2, raft: 10.0.0.2:1, admin: 10.0.0.2:2}\n"       \
    "  - {name: eu-west-1, id: 3, region: eu-west-1, raft: 10.0.0.3:1, admin: 10.0.0.3:2}\n"
/* The slow profile's 30 s, so that the rows' times read in seconds. */
#define REGIONS3   "regions: [us-east-1, us-west-2, eu-west-1]\n" DECISION30
#define DECISION30 "decision: {failover_after_ms: 30000}\n"
#define MAIN                                                                                       \
    "  main: {priority: 1, postgres: {region: us-east-1, host: h}, redis: {region: us-east-1, "    \
    "host: h}}\n"
/* The runbook's DR site: Postgres standby in eu-west-1, Redis replica in us-west-2. */
#define DR                                                                                         \
    "  dr: {priority: 2, postgres: {region: eu-west-1, host: h}, redis: {region: us-west-2, "      \
    "host: h}}\n"
#define DATADOG "feeds:\n  - {name: datadog, token_file: /f, count_in_quorum: false}\n"

enum { C3, CFEED, CMULTI, C5, CREDIS, COFF, CONE, NCFG };

static const char *const cfg_text[NCFG] = {
    /* the runbook: 3 nodes, main and dr, a feed that does not count */
    [C3] = PEERS3 REGIONS3 "initial_primary: main\nsites:\n" MAIN DR DATADOG,
    /* + a feed that counts: 4 observers count, quorum 2, majority 3 */
    [CFEED] = PEERS3 REGIONS3 "initial_primary: main\nsites:\n" MAIN DR DATADOG
                              "  - {name: pingdom, token_file: /p, count_in_quorum: true}\n",
    /* several standbys: dr and west tie on priority, zeta is last */
    [CMULTI] = PEERS3 REGIONS3 "initial_primary: main\nsites:\n" MAIN DR
                               "  west: {priority: 2, postgres: {region: us-west-2, host: h}}\n"
                               "  zeta: {priority: 5, postgres: {region: us-west-2, host: h}}\n",
    /* 5 observers, quorum 3 by default */
    [C5] = "cluster: t\n"
           "node: {name: us-east-1, data_dir: /tmp/x}\n"
           "tls: {mode: off}\n"
           "admin: {token_file: /t}\n"
           "peers:\n"
           "  - {name: us-east-1, id: 1, region: us-east-1, raft: 10.0.0.1:1, admin: 10.0.0.1:2}\n"
           "  - {name: us-west-2, id: 2, region: us-west-2, raft: 10.0.0.2:1, admin: 10.0.0.2:2}\n"
           "  - {name: eu-west-1, id: 3, region: eu-west-1, raft: 10.0.0.3:1, admin: 10.0.0.3:2}\n"
           "  - {name: ap-south-1, id: 4, region: ap-south-1, raft: 10.0.0.4:1, admin: "
           "10.0.0.4:2}\n"
           "  - {name: sa-east-1, id: 5, region: sa-east-1, raft: 10.0.0.5:1, admin: 10.0.0.5:2}\n"
           "regions: [us-east-1, us-west-2, eu-west-1, ap-south-1, sa-east-1]\n" DECISION30
           "initial_primary: main\nsites:\n" MAIN DR,
    /* critical Redis, dr primary: dr's critical regions are eu-west-1 AND us-west-2 */
    [CREDIS] = PEERS3 REGIONS3 "initial_primary: dr\nsites:\n" MAIN DR
                               "checks: {redis: {critical: true}}\n",
    [COFF] = PEERS3 "regions: [us-east-1, us-west-2, eu-west-1]\n"
                    "initial_primary: main\nsites:\n" MAIN DR
                    "decision: {auto: false, failover_after_ms: 30000}\n",
    [CONE] = PEERS3 REGIONS3 "initial_primary: main\nsites:\n" MAIN,
};

static struct fo_config cfgs[NCFG];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NCFG; i++) {
        struct fo_error err = {0};
        if (fo_config_load_buffer("t.yaml", cfg_text[i], strlen(cfg_text[i]), &cfgs[i], &err) !=
            0) {
            fprintf(stderr, "config %d: %s\n", i, err.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NCFG; i++)
        fo_config_free(&cfgs[i]);
    return 0;
}

/* ---- replaying events through the FSM --------------------------------------------- */

static const char *alias(char c)
{
    switch (c) {
    case 'E':
        return "us-east-1";
    case 'W':
        return "us-west-2";
    case 'U':
        return "eu-west-1";
    case 'A':
        return "ap-south-1";
    case 'S':
        return "sa-east-1";
    case 'd':
        return "datadog";
    case 'p':
        return "pingdom";
    case 'x':
        return "stranger";
    default:
        fail_msg("unknown alias '%c'", c);
    }
    return NULL;
}

static void apply_ok(struct fo_fsm *f, struct fo_cmd *cmd, const char *tok)
{
    fo_fsm_apply(f, cmd);
    if (f->last.outcome != FO_FSM_APPLIED)
        fail_msg("event '%s' rejected by the FSM: %s", tok, f->last.msg);
}

static int op_kind(char k)
{
    return k == 'a' ? FO_OP_AUTO : k == 'm' ? FO_OP_MANUAL : FO_OP_DRILL;
}

/* op:K:F>T / run:K:F>T / drill:F / rejoin:F>T (ending with result) */
static void apply_op(struct fo_fsm *f, const char *tok, int kind, const char *from, const char *to,
                     bool finish, int result)
{
    struct fo_cmd c = {.type = FO_CMD_OP_BEGIN};
    char id[32];
    bool drill = !fo_op_kind_moves_primary(kind);
    uint64_t epoch = drill ? f->state.epoch : f->state.epoch + 1;

    snprintf(id, sizeof(id), "%s-%llu-%zu", drill ? "drill" : "op", (unsigned long long)epoch,
             f->state.nhistory);
    if (!drill)
        snprintf(id, sizeof(id), "op-%llu", (unsigned long long)epoch);
    c.u.op_begin = (struct fo_cmd_op_begin){
        .id = id,
        .kind = kind,
        .from = (char *)from,
        .to = (char *)to,
        .reason = "test",
        .requested_by = "test",
        .epoch = epoch,
        .at_ms = 1,
    };
    apply_ok(f, &c, tok);
    if (!finish)
        return;
    c = (struct fo_cmd){.type = FO_CMD_OP_END};
    c.u.op_end = (struct fo_cmd_op_end){.op_id = id, .epoch = epoch, .result = result, .at_ms = 2};
    apply_ok(f, &c, tok);
}

/* What "digest:N:ours" reports: the digest of the row's config (set by decide()). */
static char *digest_ours = "";

static void apply_event(struct fo_fsm *f, const char *tok)
{
    struct fo_cmd c = {0};
    char a[64], b[64], k;
    unsigned long long t;

    if (strncmp(tok, "pause:", 6) == 0 && sscanf(tok, "pause:%63[^:]:%63s", a, b) == 2) {
        c.type = FO_CMD_MODE;
        c.u.mode = (struct fo_cmd_mode){FO_MODE_PAUSED, a, b, 3};
    } else if (sscanf(tok, "cool:%llu", &t) == 1) {
        c.type = FO_CMD_COOLDOWN;
        c.u.cooldown = (struct fo_cmd_cooldown){t * 1000, "test", 3};
    } else if (sscanf(tok, "op:%c:%63[^>]>%63s", &k, a, b) == 3) {
        apply_op(f, tok, op_kind(k), a, b, true, FO_RESULT_SUCCEEDED);
        return;
    } else if (sscanf(tok, "run:%c:%63[^>]>%63s", &k, a, b) == 3) {
        apply_op(f, tok, op_kind(k), a, b, false, FO_RESULT_SUCCEEDED);
        return;
    } else if (sscanf(tok, "digest:%63[^:]:%63s", a, b) == 2) {
        c.type = FO_CMD_DIGEST;
        c.u.digest = (struct fo_cmd_digest){a, strcmp(b, "ours") == 0 ? digest_ours : b, 3};
    } else if (sscanf(tok, "drill:%63s", a) == 1) {
        apply_op(f, tok, FO_OP_DRILL, a, a, true, FO_RESULT_SUCCEEDED);
        return;
    } else if (sscanf(tok, "rejoin:%63[^>]>%63s", a, b) == 2) {
        apply_op(f, tok, FO_OP_REJOIN, a, b, true, FO_RESULT_SUCCEEDED);
        return;
    } else if (sscanf(tok, "rejoin-failed:%63[^>]>%63s", a, b) == 2) {
        apply_op(f, tok, FO_OP_REJOIN, a, b, true, FO_RESULT_FAILED);
        return;
    } else if (strlen(tok) >= 6 && tok[2] == ':' && tok[4] == ':') {
        static const char st[] = "NUD"; /* unknown, up, down: enum fo_status order */
        c.type = FO_CMD_VERDICT;
        c.u.verdict = (struct fo_cmd_verdict){
            .observer = (char *)alias(tok[0]),
            .region = (char *)alias(tok[1]),
            .status = (int)(strchr(st, tok[3]) - st),
            .at_ms = strtoull(tok + 5, NULL, 10) * 1000,
        };
        assert_non_null(strchr(st, tok[3]));
    } else {
        fail_msg("bad event '%s'", tok);
    }
    apply_ok(f, &c, tok);
}

static void replay(struct fo_fsm *f, const char *events)
{
    char buf[1024], *save = NULL;
    const char *primary = "main";

    fo_fsm_init(f);
    snprintf(buf, sizeof(buf), "%s", events != NULL ? events : "");
    if (strncmp(buf, "init:", 5) == 0)
        primary = events + 5; /* up to the first space, below */
    if (strncmp(buf, "noinit", 6) != 0) {
        char p[64];
        struct fo_cmd c = {.type = FO_CMD_INIT};
        sscanf(primary, "%63s", p);
        c.u.init = (struct fo_cmd_init){"t", p, 0};
        apply_ok(f, &c, "init");
    }
    for (char *tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
        if (strcmp(tok, "noinit") != 0 && strncmp(tok, "init:", 5) != 0)
            apply_event(f, tok);
}

/* "dr=48M/1000 west=?" */
struct lags {
    char names[8][64];
    struct fo_site_lag l[8];
    size_t n;
};

static void parse_lags(struct lags *lg, const char *text)
{
    char buf[256], *save = NULL;

    memset(lg, 0, sizeof(*lg));
    snprintf(buf, sizeof(buf), "%s", text != NULL ? text : "");
    for (char *tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        struct fo_site_lag *l = &lg->l[lg->n];
        char *eq = strchr(tok, '='), *end;

        assert_non_null(eq);
        *eq = '\0';
        snprintf(lg->names[lg->n], 64, "%s", tok);
        l->site = lg->names[lg->n];
        if (strcmp(eq + 1, "W") == 0) {
            l->not_replica = true; /* its Postgres takes writes: not in recovery */
        } else if (strcmp(eq + 1, "?") != 0) {
            l->known = true;
            l->bytes = strtoull(eq + 1, &end, 10);
            if (*end == 'M') {
                l->bytes *= 1024 * 1024;
                end++;
            }
            assert_int_equal(*end, '/');
            l->ms = strtoull(end + 1, NULL, 10);
        }
        lg->n++;
    }
}

/* ---- the table ----------------------------------------------------------------------- */

enum { AUTO = 0, MANUAL, FORCED, SWITCH };
#define N FO_DECISION_NONE
#define F FO_DECISION_FAILOVER

/* Frequently used pieces. */
#define MAIN_DOWN "WE:D:10 UE:D:10 " /* us-west-2 and eu-west-1 see us-east-1 DOWN since 10 */
#define DR_UP     "EU:U:0 WU:U:0 UU:U:0 "
#define MAIN_UP   "EE:U:0 WE:U:0 UE:U:0 "

struct row {
    const char *name;
    int cfg;
    const char *events;
    const char *lags;
    unsigned now_s;
    const char *stale; /* alias letters; "!W": us-west-2 is outside the Raft configuration
                        * (removed: failoverctl members), which also makes it stale */
    int mode;          /* AUTO, MANUAL, FORCED, SWITCH (switchover) */
    const char *to;    /* manual target */
    /* expected */
    int kind;
    const char *target;
    int reason;
    const char *text;    /* a piece of the text, or NULL */
    unsigned detected_s; /* FAILOVER: detected_ms / 1000 */
};

static const struct row rows[] = {
    /* rule 1: the quorum */
    {"quorum met", C3, MAIN_DOWN DR_UP, "dr=1M/1000", 100, NULL, AUTO, NULL, F, "dr",
     FO_REASON_FAILOVER, "seen DOWN by 2 of 3 observers (quorum 2) for 90 s: failing over to dr",
     10},
    {"exactly quorum, exactly failover_after_ms", C3, "WE:D:70 UE:D:70 " DR_UP, "dr=0/0", 100, NULL,
     AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 70},
    {"quorum from different first-seen times: detected = earliest", C3, "WE:D:20 UE:D:5 " DR_UP,
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 5},
    {"one short of quorum", C3, "WE:D:10 " DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_PRIMARY_NOT_DOWN, "primary main is seen DOWN by 1 of 3 observers (quorum 2)", 0},
    {"no verdicts at all", C3, "", "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_PRIMARY_NOT_DOWN, "seen DOWN by 0 of 3 observers", 0},
    {"quorum DOWN, one of them too recently", C3, "WE:D:10 UE:D:71 " DR_UP, "dr=0/0", 100, NULL,
     AUTO, NULL, N, NULL, FO_REASON_DOWN_TOO_SHORT,
     "seen DOWN by 2 of 3 observers (quorum 2), 1 of them for failover_after_ms 30 s (failover "
     "in 1 s unless it recovers)",
     0},
    {"flapping: DOWN, UP, DOWN again restarts the clock", C3,
     "WE:D:0 UE:D:0 UE:U:50 UE:D:90 " DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_DOWN_TOO_SHORT, "failover in 20 s", 0},
    {"flapping settled: DOWN again long enough", C3, "WE:D:0 UE:D:0 UE:U:50 UE:D:60 " DR_UP,
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 0},
    {"UNKNOWN is not DOWN", C3, "WE:D:10 UE:N:10 " DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_PRIMARY_NOT_DOWN, "by 1 of 3 observers", 0},
    {"P's own node seeing its region UP does not veto a quorum", C3, MAIN_DOWN "EE:U:0 " DR_UP,
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"a feed that does not count is not evidence", C3, "WE:D:10 dE:D:10 " DR_UP, "dr=0/0", 100,
     NULL, AUTO, NULL, N, NULL, FO_REASON_PRIMARY_NOT_DOWN, "by 1 of 3 observers (quorum 2)", 0},
    {"a feed with count_in_quorum is", CFEED, "WE:D:10 pE:D:10 " DR_UP, "dr=0/0", 100, NULL, AUTO,
     NULL, F, "dr", FO_REASON_FAILOVER, "by 2 of 4 observers (quorum 2)", 10},
    {"an observer nobody configured is ignored", C3, "WE:D:10 xE:D:10 " DR_UP, "dr=0/0", 100, NULL,
     AUTO, NULL, N, NULL, FO_REASON_PRIMARY_NOT_DOWN, "by 1 of 3", 0},
    {"a stale observer's DOWN is not counted", C3, MAIN_DOWN DR_UP, "dr=0/0", 100, "U", AUTO, NULL,
     N, NULL, FO_REASON_PRIMARY_NOT_DOWN, "by 1 of 3", 0},
    {"5 observers: 3 of 5 is the quorum", C5, "WE:D:10 UE:D:10 AE:D:10 UU:U:0 AU:U:0 SU:U:0",
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, "by 3 of 5 observers (quorum 3)",
     10},
    {"5 observers: 2 of 5 is not", C5, "WE:D:10 UE:D:10 UU:U:0 AU:U:0 SU:U:0", "dr=0/0", 100, NULL,
     AUTO, NULL, N, NULL, FO_REASON_PRIMARY_NOT_DOWN, "by 2 of 5 observers (quorum 3)", 0},
    {"5 observers: dr UP for 2 of 5 is not a majority", C5, "WE:D:10 UE:D:10 AE:D:10 UU:U:0 AU:U:0",
     "dr=0/0", 100, NULL, AUTO, NULL, N, NULL, FO_REASON_STANDBY_UNHEALTHY,
     "dr is seen healthy by 2 of 5 observers (majority 3)", 0},

    /* a site in two regions (critical Redis; dr primary: Postgres eu-west-1, Redis
     * us-west-2): DOWN when any critical region is DOWN */
    {"two-region primary: its Redis region DOWN is enough", CREDIS,
     "init:dr WW:D:10 UW:D:10 EU:U:0 WU:U:0 UU:U:0 " MAIN_UP, "main=0/0", 100, NULL, AUTO, NULL, F,
     "main", FO_REASON_FAILOVER, NULL, 10},
    {"two-region primary: different regions DOWN for different observers", CREDIS,
     "init:dr WW:D:10 UU:D:20 " MAIN_UP, "main=0/0", 100, NULL, AUTO, NULL, F, "main",
     FO_REASON_FAILOVER, NULL, 10},
    {"two-region target: UP in one region, unknown in the other, is not healthy", CREDIS,
     "init:main " MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_STANDBY_UNHEALTHY, "dr is seen healthy by 0 of 3", 0},
    {"non-critical Redis: dr's us-west-2 DOWN does not matter", C3,
     MAIN_DOWN DR_UP "EW:D:0 WW:D:0 UW:D:0", "dr=0/0", 100, NULL, AUTO, NULL, F, "dr",
     FO_REASON_FAILOVER, NULL, 10},

    /* rule 3: the target's health */
    {"target seen healthy by 1 of 3", C3, MAIN_DOWN "EU:U:0 WU:D:0 UU:N:0", "dr=0/0", 100, NULL,
     AUTO, NULL, N, NULL, FO_REASON_STANDBY_UNHEALTHY,
     "dr is seen healthy by 1 of 3 observers (majority 2)", 0},
    {"target seen healthy by exactly a majority", C3, MAIN_DOWN "WU:U:0 UU:U:0", "dr=0/0", 100,
     NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"no standby site configured", CONE, MAIN_DOWN, "", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_NO_STANDBY, "no standby site: main is the only site", 0},

    /* rule 4: the RPO gate */
    {"lag over max_lag_bytes", C3, MAIN_DOWN DR_UP, "dr=48M/1000", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_LAG_BYTES, "dr's lag 48 MiB exceeds max_lag_bytes 16 MiB (RPO gate)", 0},
    {"lag exactly max_lag_bytes passes", C3, MAIN_DOWN DR_UP, "dr=16M/0", 100, NULL, AUTO, NULL, F,
     "dr", FO_REASON_FAILOVER, "lag 16 MiB", 10},
    {"lag over max_lag_ms", C3, MAIN_DOWN DR_UP, "dr=0/3600001", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_LAG_MS, "dr's lag 61 min exceeds max_lag_ms 1 h (RPO gate)", 0},
    {"lag unknown", C3, MAIN_DOWN DR_UP, "dr=?", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_LAG_UNKNOWN, "dr's replication lag is unknown (RPO gate)", 0},
    {"lag never measured", C3, MAIN_DOWN DR_UP, "", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_LAG_UNKNOWN, NULL, 0},

    /* mode, cooldown, in flight, initialisation, configuration */
    {"a peer on another config", C3, MAIN_DOWN DR_UP "digest:us-west-2:0badc0de", "dr=0/0", 100,
     NULL, AUTO, NULL, N, NULL, FO_REASON_CONFIG_MISMATCH,
     "node us-west-2 runs another configuration (digest 0badc0de", 0},
    {"every peer on this config", C3, MAIN_DOWN DR_UP "digest:us-west-2:ours digest:eu-west-1:ours",
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"a mismatch agreed later", C3,
     MAIN_DOWN DR_UP "digest:us-west-2:0badc0de digest:us-west-2:ours", "dr=0/0", 100, NULL, AUTO,
     NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"a digest from a name that is not a peer", C3, MAIN_DOWN DR_UP "digest:gone:0badc0de",
     "dr=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    /* A peer removed from the Raft configuration whose line is still in the configs: its
     * last digest stays in the state and must not hold automatic failover back (the two
     * members' verdicts still make the quorum). */
    {"a digest from a peer outside the Raft configuration", C3,
     MAIN_DOWN DR_UP "digest:us-east-1:0badc0de", "dr=0/0", 100, "!E", AUTO, NULL, F, "dr",
     FO_REASON_FAILOVER, NULL, 10},
    {"... the same digest from a member blocks", C3, MAIN_DOWN DR_UP "digest:us-east-1:0badc0de",
     "dr=0/0", 100, "E", AUTO, NULL, N, NULL, FO_REASON_CONFIG_MISMATCH, NULL, 0},
    {"manual: a config mismatch is for the automatic path", C3,
     MAIN_UP DR_UP "digest:us-west-2:0badc0de", "dr=0/0", 100, NULL, MANUAL, "dr", F, "dr",
     FO_REASON_FAILOVER, NULL, 0},
    {"paused", C3, MAIN_DOWN DR_UP "pause:alice:maintenance", "dr=0/0", 100, NULL, AUTO, NULL, N,
     NULL, FO_REASON_PAUSED, "paused by alice: maintenance", 0},
    {"cooldown: before its end", C3, MAIN_DOWN DR_UP "cool:520", "dr=0/0", 100, NULL, AUTO, NULL, N,
     NULL, FO_REASON_COOLDOWN, "cooldown for 420 s more", 0},
    {"cooldown: at its end", C3, MAIN_DOWN DR_UP "cool:100", "dr=0/0", 100, NULL, AUTO, NULL, F,
     "dr", FO_REASON_FAILOVER, NULL, 10},
    {"operation in flight", C3, MAIN_DOWN DR_UP "run:m:main>dr", "dr=0/0", 100, NULL, AUTO, NULL, N,
     NULL, FO_REASON_IN_FLIGHT, "operation op-1 in flight (main -> dr)", 0},
    {"uninitialised", C3, "noinit " MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_UNINITIALIZED, "not initialised", 0},
    {"primary unknown to this config", C3, "init:gone " MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, AUTO,
     NULL, N, NULL, FO_REASON_UNKNOWN_PRIMARY, "'gone' is not in this node's configuration", 0},
    {"decision.auto: false", COFF, MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_AUTO_OFF, "decision.auto: false", 0},

    /* rule 2: never fail back */
    {"no fail back to the site we failed away from", C3, "op:a:main>dr WU:D:10 UU:D:10 " MAIN_UP,
     "main=0/0", 100, NULL, AUTO, NULL, N, NULL, FO_REASON_FAIL_BACK,
     "main was the primary until op-1: fail back is never automatic", 0},
    {"a drill since does not re-admit it", C3, "op:a:main>dr drill:dr WU:D:10 UU:D:10 " MAIN_UP,
     "main=0/0", 100, NULL, AUTO, NULL, N, NULL, FO_REASON_FAIL_BACK, NULL, 0},
    {"a rejoin of it since re-admits it: judged on its merits", C3,
     "op:a:main>dr rejoin:dr>main WU:D:10 UU:D:10 " MAIN_UP, "main=0/0", 100, NULL, AUTO, NULL, F,
     "main", FO_REASON_FAILOVER, NULL, 10},
    {"... and the RPO gate still applies to it", C3,
     "op:a:main>dr rejoin:dr>main WU:D:10 UU:D:10 " MAIN_UP, "main=W", 100, NULL, AUTO, NULL, N,
     NULL, FO_REASON_NOT_REPLICA, "failoverctl rejoin main", 0},
    {"a failed rejoin does not re-admit it", C3,
     "op:a:main>dr rejoin-failed:dr>main WU:D:10 UU:D:10 " MAIN_UP, "main=0/0", 100, NULL, AUTO,
     NULL, N, NULL, FO_REASON_FAIL_BACK, "re-seed it with failoverctl rejoin main", 0},
    {"a move after the rejoin makes it count no more", C3,
     "op:a:main>dr rejoin:dr>main op:m:dr>main op:a:main>dr WU:D:10 UU:D:10 " MAIN_UP, "main=0/0",
     100, NULL, AUTO, NULL, N, NULL, FO_REASON_FAIL_BACK, "until op-3", 0},
    {"after an operator moved back, the other site is the excluded one", C3,
     "op:a:main>dr op:m:dr>main " MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, AUTO, NULL, N, NULL,
     FO_REASON_FAIL_BACK, "dr was the primary until op-2", 0},
    {"fail back excluded, another site qualifies", CMULTI,
     "op:a:main>dr WU:D:10 UU:D:10 " MAIN_UP "EW:U:0 WW:U:0 UW:U:0", "main=0/0 west=0/0 zeta=0/0",
     100, NULL, AUTO, NULL, F, "west", FO_REASON_FAILOVER, NULL, 10},

    /* several candidates: priority, then lag, then name */
    {"same priority: lower lag wins", CMULTI, MAIN_DOWN DR_UP "EW:U:0 WW:U:0 UW:U:0",
     "dr=5M/0 west=1M/0 zeta=0/0", 100, NULL, AUTO, NULL, F, "west", FO_REASON_FAILOVER, NULL, 10},
    {"same priority and lag: name", CMULTI, MAIN_DOWN DR_UP "EW:U:0 WW:U:0 UW:U:0",
     "dr=1M/0 west=1M/0 zeta=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"priority before lag", CMULTI, MAIN_DOWN DR_UP "EW:U:0 WW:U:0 UW:U:0",
     "dr=5M/0 west=? zeta=0/0", 100, NULL, AUTO, NULL, F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"preferred ones refused: the next qualifies", CMULTI, MAIN_DOWN DR_UP "EW:U:0 WW:U:0 UW:U:0",
     "dr=48M/0 west=? zeta=0/0", 100, NULL, AUTO, NULL, F, "zeta", FO_REASON_FAILOVER, NULL, 10},
    {"none qualifies: the most preferred one's reason", CMULTI,
     MAIN_DOWN DR_UP "EW:U:0 WW:U:0 UW:U:0", "dr=48M/0 west=? zeta=?", 100, NULL, AUTO, NULL, N,
     NULL, FO_REASON_LAG_BYTES, "dr's lag 48 MiB", 0},

    /* manual requests */
    {"manual: no outage needed", C3, MAIN_UP DR_UP, "dr=0/0", 100, NULL, MANUAL, "dr", F, "dr",
     FO_REASON_FAILOVER, "operator failover main -> dr", 0},
    {"manual: pause and cooldown are for the automatic path", C3,
     MAIN_UP DR_UP "pause:bob:window cool:900", "dr=0/0", 100, NULL, MANUAL, "dr", F, "dr",
     FO_REASON_FAILOVER, NULL, 0},
    {"manual: keeps detected_ms when a quorum saw the outage", C3, MAIN_DOWN DR_UP, "dr=0/0", 100,
     NULL, MANUAL, "dr", F, "dr", FO_REASON_FAILOVER, NULL, 10},
    {"manual: RPO gate", C3, MAIN_UP DR_UP, "dr=48M/0", 100, NULL, MANUAL, "dr", N, NULL,
     FO_REASON_LAG_BYTES, "exceeds max_lag_bytes", 0},
    {"manual --force: RPO gate skipped", C3, MAIN_UP DR_UP, "dr=48M/0", 100, NULL, FORCED, "dr", F,
     "dr", FO_REASON_FAILOVER, "forced", 0},
    {"manual --force: unknown lag too", C3, MAIN_UP DR_UP, "dr=?", 100, NULL, FORCED, "dr", F, "dr",
     FO_REASON_FAILOVER, NULL, 0},
    {"manual: unhealthy target", C3, MAIN_UP, "dr=0/0", 100, NULL, MANUAL, "dr", N, NULL,
     FO_REASON_STANDBY_UNHEALTHY, "dr is seen healthy by 0 of 3", 0},
    {"manual --force: unhealthy target", C3, MAIN_UP, "dr=0/0", 100, NULL, FORCED, "dr", F, "dr",
     FO_REASON_FAILOVER, NULL, 0},
    {"manual: same site", C3, MAIN_UP DR_UP, "dr=0/0", 100, NULL, FORCED, "main", N, NULL,
     FO_REASON_SAME_SITE, "main is already the primary", 0},
    {"manual: unknown site", C3, MAIN_UP DR_UP, "dr=0/0", 100, NULL, FORCED, "nope", N, NULL,
     FO_REASON_UNKNOWN_SITE, "no site named 'nope'", 0},
    {"manual: in flight", C3, DR_UP "run:a:main>dr", "dr=0/0", 100, NULL, FORCED, "main", N, NULL,
     FO_REASON_IN_FLIGHT, "operation op-1 in flight", 0},
    {"manual: uninitialised", C3, "noinit", "dr=0/0", 100, NULL, FORCED, "dr", N, NULL,
     FO_REASON_UNINITIALIZED, NULL, 0},
    {"manual: fail back is the operator's call", C3, "op:a:main>dr " MAIN_UP, "main=0/0", 100, NULL,
     MANUAL, "main", F, "main", FO_REASON_FAILOVER, NULL, 0},
    /* Issue 13 (4): the old primary, not re-seeded, takes writes of its own: promoting it
     * would drop everything dr took since. Refused, whatever its "lag" looks like. */
    {"manual: fail back onto a server that is no replica", C3, "op:a:main>dr " MAIN_UP, "main=W",
     100, NULL, MANUAL, "main", N, NULL, FO_REASON_NOT_REPLICA, "main's Postgres is not a replica",
     0},
    {"manual --force: no replica, the operator's call", C3, "op:a:main>dr " MAIN_UP, "main=W", 100,
     NULL, FORCED, "main", F, "main", FO_REASON_FAILOVER, NULL, 0},

    /* switchover: the planned move needs the old primary up, and has no --force */
    {"switchover: both up, caught up", C3, MAIN_UP DR_UP, "dr=0/0", 100, NULL, SWITCH, "dr", F,
     "dr", FO_REASON_FAILOVER, "switchover main -> dr: fence main", 0},
    {"switchover: primary down is failover's job", C3, MAIN_DOWN DR_UP, "dr=0/0", 100, NULL, SWITCH,
     "dr", N, NULL, FO_REASON_PRIMARY_NOT_UP, "seen UP by 0 of 3 observers (majority 2)", 0},
    {"switchover: primary seen up by a bare majority", C3, "EE:U:0 WE:U:0 UE:D:10 " DR_UP, "dr=0/0",
     100, NULL, SWITCH, "dr", F, "dr", FO_REASON_FAILOVER, NULL, 0},
    {"switchover: a stale observer does not count as up", C3, "EE:U:0 WE:U:0 " DR_UP, "dr=0/0", 100,
     "W", SWITCH, "dr", N, NULL, FO_REASON_PRIMARY_NOT_UP, "seen UP by 1 of 3", 0},
    {"switchover: RPO gate, no force", C3, MAIN_UP DR_UP, "dr=48M/0", 100, NULL, SWITCH, "dr", N,
     NULL, FO_REASON_LAG_BYTES, "exceeds max_lag_bytes", 0},
    {"switchover: unhealthy target", C3, MAIN_UP, "dr=0/0", 100, NULL, SWITCH, "dr", N, NULL,
     FO_REASON_STANDBY_UNHEALTHY, NULL, 0},
    {"switchover: back onto a server that is no replica", C3, "op:a:main>dr " MAIN_UP DR_UP,
     "main=W", 100, NULL, SWITCH, "main", N, NULL, FO_REASON_NOT_REPLICA, "re-seed it", 0},
    {"switchover: pause is for the automatic path", C3, MAIN_UP DR_UP "pause:bob:window cool:900",
     "dr=0/0", 100, NULL, SWITCH, "dr", F, "dr", FO_REASON_FAILOVER, NULL, 0},
    {"switchover: same site", C3, MAIN_UP DR_UP, "dr=0/0", 100, NULL, SWITCH, "main", N, NULL,
     FO_REASON_SAME_SITE, NULL, 0},
    {"switchover: in flight", C3, MAIN_UP DR_UP "run:m:main>dr", "dr=0/0", 100, NULL, SWITCH,
     "main", N, NULL, FO_REASON_IN_FLIGHT, NULL, 0},
};

static void decide(const struct row *r, struct fo_fsm *f, struct lags *lg, const char **stale,
                   struct fo_decision *d)
{
    struct fo_decision_input in;
    size_t nstale = 0, noutside = 0;
    static const char *outside[8];

    digest_ours = cfgs[r->cfg].digest;
    replay(f, r->events);
    parse_lags(lg, r->lags);
    for (const char *s = r->stale; s != NULL && *s != '\0'; s++) {
        if (*s == '!' && s[1] != '\0')
            outside[noutside++] = alias(*++s);
        stale[nstale++] = alias(*s);
    }
    in = (struct fo_decision_input){
        &f->state, &cfgs[r->cfg], (uint64_t)r->now_s * 1000, lg->l, lg->n, stale, nstale};
    in.outside = outside;
    in.noutside = noutside;
    if (r->mode == AUTO)
        fo_decision_auto(&in, d);
    else if (r->mode == SWITCH)
        fo_decision_switchover(&in, r->to, d);
    else
        fo_decision_manual(&in, r->to, r->mode == FORCED, d);
}

static bool row_ok(const struct row *r, const struct fo_decision *d)
{
    if ((int)d->kind != r->kind || (int)d->reason != r->reason)
        return false;
    if (r->text != NULL && strstr(d->text, r->text) == NULL)
        return false;
    if (r->kind == F) {
        if (strcmp(d->to, r->target) != 0 || d->detected_ms != (uint64_t)r->detected_s * 1000)
            return false;
        if (d->op_kind != (r->mode == AUTO     ? FO_OP_AUTO
                           : r->mode == SWITCH ? FO_OP_SWITCHOVER
                                               : FO_OP_MANUAL) ||
            d->force != (r->mode == FORCED))
            return false;
    }
    return true;
}

static void test_rows(void **state)
{
    size_t bad = 0, n = sizeof(rows) / sizeof(rows[0]);
    (void)state;

    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct fo_fsm f;
        struct lags lg;
        const char *stale[8];
        struct fo_decision d;

        decide(r, &f, &lg, stale, &d);
        if (!row_ok(r, &d)) {
            print_error(
                "rows[%zu] %s:\n  got      %s %s -> %s detected %llu: %s\n"
                "  expected %s %s -> %s detected %u: %s\n",
                i, r->name, d.kind == F ? "FAILOVER" : "NONE", fo_decision_reason_names[d.reason],
                d.to, (unsigned long long)d.detected_ms / 1000, d.text,
                r->kind == F ? "FAILOVER" : "NONE", fo_decision_reason_names[r->reason],
                r->target != NULL ? r->target : "", r->detected_s, r->text != NULL ? r->text : "");
            bad++;
        }
        fo_fsm_close(&f);
    }
    print_message("%zu decision rows, %zu wrong\n", n, bad);
    assert_int_equal(bad, 0);
}

/* ---- the decision as a command ------------------------------------------------------- */

/* A FAILOVER names epoch + 1 and op-<epoch>; committed once it moves the primary, and the
 * same decision proposed again (a retry, a second leader with the same view) is refused
 * by the FSM: at most one failover per epoch. */
static void test_commit_once_per_epoch(void **state)
{
    const struct row r = {"",         CMULTI, "op:a:main>dr WU:D:10 UU:D:10 EW:U:0 WW:U:0 UW:U:0",
                          "west=0/0", 100,    NULL,
                          AUTO,       NULL,   F,
                          "west",     0,      NULL,
                          10};
    struct fo_fsm f;
    struct lags lg;
    const char *stale[8];
    struct fo_decision d;
    struct fo_cmd c = {.type = FO_CMD_OP_BEGIN};
    (void)state;

    decide(&r, &f, &lg, stale, &d);
    assert_int_equal(d.kind, FO_DECISION_FAILOVER);
    assert_string_equal(d.from, "dr");
    assert_string_equal(d.to, "west");
    assert_int_equal(d.epoch, 2);
    assert_string_equal(d.op_id, "op-2");
    c.u.op_begin = (struct fo_cmd_op_begin){
        .id = d.op_id,
        .kind = d.op_kind,
        .from = d.from,
        .to = d.to,
        .reason = d.text,
        .requested_by = "us-east-1",
        .epoch = d.epoch,
        .detected_ms = d.detected_ms,
        .at_ms = 100000,
    };
    fo_fsm_apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_string_equal(f.state.primary, "west");
    fo_fsm_apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_REJECTED);
    fo_fsm_close(&f);
}

/* ---- evidence and explanation -------------------------------------------------------- */

static const struct fo_decision_observer *observer(const struct fo_decision *d, const char *n)
{
    for (size_t i = 0; i < d->nobservers; i++)
        if (strcmp(d->observers[i].name, n) == 0)
            return &d->observers[i];
    return NULL;
}

static void test_evidence(void **state)
{
    const struct row r = {.cfg = C3,
                          .events = "WE:D:10 UE:D:80 dE:D:5 xE:D:1 EE:U:0 " DR_UP,
                          .lags = "dr=?",
                          .now_s = 100};
    struct fo_fsm f;
    struct lags lg;
    const char *stale[8];
    struct fo_decision d;
    const struct fo_decision_observer *o;
    (void)state;

    decide(&r, &f, &lg, stale, &d);
    assert_int_equal(d.quorum, 2);
    assert_int_equal(d.counted, 3);
    assert_int_equal(d.down, 2);
    assert_int_equal(d.held, 1);
    assert_int_equal(d.nobservers, 5); /* 3 peers, datadog, the stranger */
    o = observer(&d, "us-west-2");
    assert_true(o->counted && o->held && o->status == FO_STATUS_DOWN);
    assert_int_equal(o->since_ms, 10000);
    assert_string_equal(o->region, "us-east-1");
    o = observer(&d, "eu-west-1");
    assert_true(o->counted && !o->held);
    o = observer(&d, "us-east-1");
    assert_int_equal(o->status, FO_STATUS_UP);
    o = observer(&d, "datadog");
    assert_true(!o->counted && !o->held && o->status == FO_STATUS_DOWN);
    o = observer(&d, "stranger");
    assert_true(!o->counted && o->status == FO_STATUS_DOWN);
    assert_int_equal(d.ncandidates, 1);
    assert_string_equal(d.candidates[0].site, "dr");
    assert_int_equal(d.candidates[0].healthy, 3);
    assert_int_equal(d.candidates[0].reason, FO_REASON_LAG_UNKNOWN);
    assert_false(d.candidates[0].lag_known);
    fo_fsm_close(&f);
}

/* explain: the same decision, every blocker in the text. */
static void test_explain(void **state)
{
    const struct row r = {.cfg = C3,
                          .events = "WE:D:10 pause:alice:maintenance cool:520 " DR_UP,
                          .lags = "dr=?",
                          .now_s = 100};
    struct fo_fsm f;
    struct lags lg;
    const char *stale[8];
    struct fo_decision d, e;
    struct fo_decision_input in;
    (void)state;

    decide(&r, &f, &lg, stale, &d);
    in = (struct fo_decision_input){&f.state, &cfgs[C3], 100000, lg.l, lg.n, NULL, 0};
    fo_decision_explain(&in, &e);
    assert_int_equal(d.kind, FO_DECISION_NONE);
    assert_int_equal(e.kind, FO_DECISION_NONE);
    assert_int_equal(d.reason, FO_REASON_PAUSED);
    assert_int_equal(e.reason, FO_REASON_PAUSED);
    assert_string_equal(d.text, "paused by alice: maintenance");
    assert_string_equal(e.text, "paused by alice: maintenance; cooldown for 420 s more; primary "
                                "main is seen DOWN by 1 of 3 observers (quorum 2); dr's "
                                "replication lag is unknown (RPO gate)");
    fo_fsm_close(&f);

    /* Nothing blocks: explain says what the leader is about to do. */
    replay(&f, MAIN_DOWN DR_UP);
    in = (struct fo_decision_input){&f.state, &cfgs[C3], 100000, NULL, 0, NULL, 0};
    fo_decision_explain(&in, &e);
    assert_int_equal(e.reason, FO_REASON_LAG_UNKNOWN);
    parse_lags(&lg, "dr=1M/1500");
    in.lags = lg.l;
    in.nlags = lg.n;
    fo_decision_explain(&in, &e);
    assert_int_equal(e.kind, FO_DECISION_FAILOVER);
    assert_string_equal(e.text, "primary main seen DOWN by 2 of 3 observers (quorum 2) for 90 s: "
                                "failing over to dr (priority 2, lag 1 MiB, 2 s)");
    fo_fsm_close(&f);
}

static void test_site_view(void **state)
{
    struct fo_fsm f;
    uint64_t since = 1;
    const struct fo_site *dr = fo_config_site(&cfgs[CREDIS], "dr");
    (void)state;

    replay(&f, "init:dr WU:U:0 WW:D:30 UU:D:20 UW:D:40 EU:U:0 EW:N:0");
    assert_int_equal(fo_decision_site_view(&f.state, &cfgs[CREDIS], dr, "us-west-2", &since),
                     FO_STATUS_DOWN);
    assert_int_equal(since, 30000);
    /* both critical regions DOWN: since the earlier */
    assert_int_equal(fo_decision_site_view(&f.state, &cfgs[CREDIS], dr, "eu-west-1", &since),
                     FO_STATUS_DOWN);
    assert_int_equal(since, 20000);
    /* UP and UNKNOWN: UNKNOWN */
    assert_int_equal(fo_decision_site_view(&f.state, &cfgs[CREDIS], dr, "us-east-1", &since),
                     FO_STATUS_UNKNOWN);
    assert_int_equal(since, 0);
    assert_int_equal(fo_decision_site_view(&f.state, &cfgs[CREDIS], dr, "nobody", NULL),
                     FO_STATUS_UNKNOWN);
    /* non-critical Redis: only eu-west-1 counts */
    assert_int_equal(fo_decision_site_view(&f.state, &cfgs[C3], fo_config_site(&cfgs[C3], "dr"),
                                           "us-west-2", NULL),
                     FO_STATUS_UP);
    fo_fsm_close(&f);
}

static void test_reason_names(void **state)
{
    (void)state;
    for (int i = 0; i < FO_REASON_COUNT; i++) {
        assert_non_null(fo_decision_reason_names[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(fo_decision_reason_names[i], fo_decision_reason_names[j]);
    }
    assert_null(fo_decision_reason_names[FO_REASON_COUNT]);
}

/* ---- durations on the leader's own clock (issue 13, 5) ------------------------------ */

struct seen_clock {
    uint64_t seen_ms; /* cppcheck-suppress unusedStructMember ; read through the void * */
};

static uint64_t seen_at(const void *ctx, const struct fo_verdict *v)
{
    (void)v;
    return ((const struct seen_clock *)ctx)->seen_ms;
}

/* An observer's wall clock says its DOWN is 90 s old (stepped, skewed): the leader counts
 * from when it saw the row itself, on its monotonic clock, and waits failover_after_ms. */
static void test_held_on_own_clock(void **state)
{
    struct fo_fsm f;
    struct fo_decision d;
    struct lags lg;
    struct seen_clock clk = {.seen_ms = 5000};
    struct fo_decision_input in;
    (void)state;

    replay(&f, MAIN_DOWN DR_UP);
    parse_lags(&lg, "dr=0/0");
    in = (struct fo_decision_input){&f.state, &cfgs[C3], 100000, lg.l, lg.n, NULL, 0};
    in.local_since = seen_at;
    in.local_ctx = &clk;
    in.mono_now_ms = 5000 + 29999; /* 30 s is C3's failover_after_ms */
    fo_decision_auto(&in, &d);
    assert_int_equal(d.kind, FO_DECISION_NONE);
    assert_int_equal(d.reason, FO_REASON_DOWN_TOO_SHORT);
    assert_non_null(strstr(d.text, "failover in 1 ms unless it recovers"));
    in.mono_now_ms = 5000 + 30000;
    fo_decision_auto(&in, &d);
    assert_int_equal(d.kind, FO_DECISION_FAILOVER);
    /* the report's detection time stays the observers' (wall clock, for people) */
    assert_int_equal(d.detected_ms, 10000);
    /* a clock that reads earlier than the row was seen (never negative) */
    in.mono_now_ms = 4000;
    fo_decision_auto(&in, &d);
    assert_int_equal(d.reason, FO_REASON_DOWN_TOO_SHORT);
    fo_fsm_close(&f);
}

/* The daemon's clock for it (decide/verdict_clock.h): first seen, kept while unchanged,
 * restarted by a change of status or stamp. */
static void test_verdict_clock(void **state)
{
    struct fo_fsm f;
    struct fo_verdict_clock c = {0};
    const struct fo_verdict *v;
    (void)state;

    replay(&f, "WE:D:10 UE:D:10");
    fo_verdict_clock_update(&c, &f.state, 5000);
    v = &f.state.verdicts[0];
    assert_int_equal(fo_verdict_clock_since(&c, v), 5000);
    fo_verdict_clock_update(&c, &f.state, 9000); /* unchanged: still seen at 5000 */
    assert_int_equal(fo_verdict_clock_since(&c, &f.state.verdicts[0]), 5000);
    apply_event(&f, "WE:U:20"); /* a change restarts it */
    apply_event(&f, "WE:D:30");
    fo_verdict_clock_update(&c, &f.state, 12000);
    for (size_t i = 0; i < f.state.nverdicts; i++) {
        const struct fo_verdict *r = &f.state.verdicts[i];
        bool changed = strcmp(r->observer, "us-west-2") == 0;
        assert_int_equal(fo_verdict_clock_since(&c, r), changed ? 12000 : 5000);
    }
    fo_verdict_clock_free(&c);
    fo_fsm_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_on_own_clock),
        cmocka_unit_test(test_verdict_clock),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_commit_once_per_epoch),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_site_view),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
