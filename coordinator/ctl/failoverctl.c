/*
 * coordinator/ctl/failoverctl.c — the admin CLI (DESIGN §9, §13), shaped like bgpctl: one
 * command table drives parsing; a command sends one request, gets one reply, and the
 * reply's JSON body is rendered either as a table for people or as JSON for scripts
 * (coordinator/ctl/ctl_render.h; this file does the I/O and the parsing, not the tables).
 * `failoverctl VERB --help` and `failoverctl help VERB` print one command's usage, its
 * token and its exit codes, all from the same table.
 *
 * Addresses come from -s or FAILOVERCTL_ADDR (comma-separated); they are tried in order
 * until one answers, and a node that is not the leader points us at the leader, which
 * we then ask (at most FOLLOW_MAX hops). The token comes from --token-file or
 * FAILOVERCTL_TOKEN_FILE; a token file that cannot be read is exit 5, like a wrong token.
 *
 * Exit codes (scripts rely on them): 0 ok, 1 the operation failed, 2 usage error, 3 no
 * leader or no quorum reachable, 4 refused by policy, 5 authentication failed.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "coordinator/ctl/admin_client.h"
#include "coordinator/ctl/ctl_render.h"
#include "coordinator/clock.h"
#include "actions/secret.h"
#include "proto/admin.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_NO_QUORUM = 3,
    EXIT_REFUSED = 4,
    EXIT_AUTH = 5,
};

#define FOLLOW_MAX     3
#define RESULT_UNKNOWN (-2)
#define MAX_ADDRS      16

struct ctl {
    char *addrs[MAX_ADDRS];
    size_t naddrs;
    char token[FO_TOKEN_MAX + 1]; /* secret: wiped before exit */
    bool json;
    unsigned timeout_ms;
};

/* One finished call: the reply, copied out of the client's callback. */
struct result {
    int status; /* 0: a reply arrived; RESULT_UNKNOWN: a change sent, no answer */
    bool sent;  /* the request reached a node's socket (admin_client.h) */
    int code;   /* enum fo_reply_code */
    char *message, *leader, *body;
    char error[1100]; /* room for every address's failure */
};

static void result_free(struct result *r)
{
    free(r->message);
    free(r->leader);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void call_cb(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                    const char *error)
{
    struct result *r = c->data;
    r->status = status;
    r->sent = c->sent;
    if (status != 0) {
        snprintf(r->error, sizeof(r->error), "%s", error);
        return;
    }
    r->code = rep->code;
    r->message = dup_or_null(rep->message);
    r->leader = dup_or_null(rep->leader);
    r->body = dup_or_null(rep->body);
}

/* One request to one address, run to completion on a private loop. */
static void call_one(const struct ctl *ctl, const char *addr, const char *cmd, struct fo_kv *args,
                     size_t nargs, struct result *r)
{
    uv_loop_t loop;
    struct fo_admin_client c;
    struct fo_admin_req req = {0};

    memset(r, 0, sizeof(*r));
    req.id = (uint64_t)time(NULL);
    req.cmd = (char *)cmd;
    req.token = ctl->token[0] != '\0' ? (char *)ctl->token : NULL;
    req.args = args;
    req.nargs = nargs;
    uv_loop_init(&loop);
    memset(&c, 0, sizeof(c));
    c.data = r;
    if (fo_admin_client_call(&c, &loop, addr, &req, ctl->timeout_ms, call_cb, NULL) != 0) {
        r->status = -1;
        snprintf(r->error, sizeof(r->error), "%s: not an address of the form a.b.c.d:port", addr);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static int exit_for_code(int code)
{
    switch (code) {
    case FO_REPLY_OK:
        return EXIT_OK;
    case FO_REPLY_BAD_REQUEST:
        return EXIT_USAGE;
    case FO_REPLY_UNAUTHORIZED:
    case FO_REPLY_FORBIDDEN:
        return EXIT_AUTH;
    case FO_REPLY_NOT_LEADER:
    case FO_REPLY_NO_QUORUM:
    case FO_REPLY_BUSY:
        return EXIT_NO_QUORUM;
    case FO_REPLY_REFUSED:
        return EXIT_REFUSED;
    default:
        return EXIT_FAILED;
    }
}

/* Commands that change the cluster. Sent again to another node after a timeout, one
 * could run twice (two drills), so their unanswered request is reported, not retried. */
static bool is_change(const char *cmd)
{
    static const char *const changes[] = {"pause",      "resume", "failover",
                                          "switchover", "drill",  NULL};
    for (size_t i = 0; changes[i] != NULL; i++)
        if (strcmp(cmd, changes[i]) == 0)
            return true;
    return false;
}

/*
 * Send cmd to the cluster: try each address until one answers; follow not_leader to the
 * leader. On return r holds the last reply (status 0) or why nobody answered. A change
 * that reached a node and got no answer stops there (status RESULT_UNKNOWN).
 */
static void call_cluster(const struct ctl *ctl, const char *cmd, struct fo_kv *args, size_t nargs,
                         struct result *r)
{
    char errors[1024] = "";
    size_t used = 0;

    for (size_t i = 0; i < ctl->naddrs; i++) {
        char addr[64];
        snprintf(addr, sizeof(addr), "%s", ctl->addrs[i]);
        for (int hop = 0; hop <= FOLLOW_MAX; hop++) {
            call_one(ctl, addr, cmd, args, nargs, r);
            if (r->status != 0 && r->sent && is_change(cmd)) {
                char why[sizeof(r->error)];
                snprintf(why, sizeof(why), "%s", r->error);
                snprintf(r->error, sizeof(r->error),
                         "%.600s: no answer after the request was sent: it may or may not have "
                         "been carried out; check `failoverctl status` before retrying",
                         why);
                r->status = RESULT_UNKNOWN;
                return;
            }
            if (r->status != 0) {
                int k = snprintf(errors + used, sizeof(errors) - used, "%s%s", used ? "; " : "",
                                 r->error);
                if (k > 0 && (size_t)k < sizeof(errors) - used)
                    used += (size_t)k;
                break;
            }
            if (r->code != FO_REPLY_NOT_LEADER || r->leader == NULL || hop == FOLLOW_MAX)
                return; /* an answer, or the last redirect: report it (not_leader: exit 3) */
            snprintf(addr, sizeof(addr), "%s", r->leader);
            result_free(r);
        }
        if (r->status == 0)
            return; /* followed too many hops: report the last answer */
    }
    r->status = -1;
    snprintf(r->error, sizeof(r->error), "no node answered (%s)",
             errors[0] ? errors : "no addresses");
}

/* ---- output ----------------------------------------------------------------------- */

/* Print a reply body: JSON for --json, else verb's table (ctl_render.h). */
static int print_body(const struct ctl *ctl, const char *verb, const json_t *doc)
{
    struct fo_error err;
    int rc;

    if (ctl->json || !fo_ctl_render_has_table(verb))
        rc = fo_ctl_render_json(stdout, doc, &err);
    else
        rc = fo_ctl_render_table(stdout, verb, doc, fo_clock_wall_ms(), &err);
    if (rc != 0) {
        fprintf(stderr, "failoverctl: %s\n", err.msg);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

static int report_failure(const struct result *r)
{
    if (r->status == RESULT_UNKNOWN) {
        fprintf(stderr, "failoverctl: %s\n", r->error);
        return EXIT_FAILED;
    }
    if (r->status != 0) {
        fprintf(stderr, "failoverctl: %s\n", r->error);
        return EXIT_NO_QUORUM;
    }
    fprintf(stderr, "failoverctl: %s: %s\n", fo_enum_name(fo_reply_code_names, r->code),
            r->message != NULL ? r->message : "(no message)");
    return exit_for_code(r->code);
}

/* Parse a reply body; NULL (and a message) when it is not JSON. The caller owns it. */
static json_t *parse_body(const char *body)
{
    json_error_t jerr;
    json_t *doc = json_loads(body != NULL ? body : "", 0, &jerr);
    if (doc == NULL)
        fprintf(stderr, "failoverctl: the node sent a reply that is not JSON: %s\n", jerr.text);
    return doc;
}

/* Send cmd with args to the cluster (following the leader); on success print the JSON
 * body (table or --json), or the node's message. */
static int simple_call(const struct ctl *ctl, const char *cmd, struct fo_kv *args, size_t nargs)
{
    struct result r; /* owns the reply's strings until result_free */
    int rc = EXIT_OK;

    call_cluster(ctl, cmd, args, nargs, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        rc = report_failure(&r);
    } else if (r.body != NULL) {
        json_t *doc = parse_body(r.body); /* ours: freed below */
        rc = doc != NULL ? print_body(ctl, cmd, doc) : EXIT_FAILED;
        /* A dry run is a precheck for scripts: "would be refused" is exit 4, as the real
         * request would be. */
        if (rc == EXIT_OK && json_is_true(json_object_get(doc, "dry_run")) &&
            json_is_false(json_object_get(doc, "would_fail_over")))
            rc = EXIT_REFUSED;
        json_decref(doc);
    } else {
        struct fo_error err;
        if (fo_ctl_render_message(stdout, r.message, ctl->json, &err) != 0) {
            fprintf(stderr, "failoverctl: %s\n", err.msg);
            rc = EXIT_FAILED;
        }
    }
    result_free(&r);
    return rc;
}

/* Who asks, for the replicated log ("paused by alice@ops-1"): user and host. */
static void requester(char *out, size_t cap)
{
    char host[64] = "?";
    const char *user = getenv("USER");
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(out, cap, "%s@%s", user != NULL && user[0] != '\0' ? user : "unknown", host);
    /* The replicated log keeps at most FO_NAME_MAX bytes of it, and only whole characters:
     * a cut in the middle of one would make the request itself invalid. */
    fo_utf8_cut(out, cap - 1 < FO_NAME_MAX ? cap - 1 : FO_NAME_MAX);
}

/* ---- the command table ------------------------------------------------------------ */

#define MAX_OPTS 4

struct opt_spec {
    const char *name; /* "--to" */
    const char *arg;  /* "SITE", or NULL for a flag */
    const char *help;
    bool required;
};

/* A command line after parsing: value[i] for opts[i] (a flag: "true"), or NULL. */
struct parsed {
    const char *value[MAX_OPTS];
    const char *operand; /* report's OPERATION */
};

struct command {
    const char *name;
    const char *synopsis; /* options and operands, for usage lines */
    const char *summary;  /* one line, for failoverctl --help */
    const char *about;    /* two or three lines, for failoverctl VERB --help */
    bool admin;           /* needs the admin token (else the read-only one is enough) */
    unsigned exits;       /* 1 << code for each exit code the command can return */
    const struct opt_spec opts[MAX_OPTS + 1]; /* ends with {NULL} */
    const char *operand;                      /* a positional argument, or NULL */
    int (*run)(const struct ctl *ctl, const struct parsed *p);
};

static bool answered_by_leader(const json_t *status)
{
    const char *role = json_string_value(json_object_get(status, "role"));
    return role != NULL && strcmp(role, "leader") == 0;
}

static int cmd_status(const struct ctl *ctl, const struct parsed *p)
{
    struct result r; /* owns the reply's strings until result_free */
    json_t *doc;     /* ours: freed below */
    int rc;

    (void)p;
    call_cluster(ctl, "status", NULL, 0, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        rc = report_failure(&r);
        result_free(&r);
        return rc;
    }
    doc = parse_body(r.body);
    result_free(&r);
    if (doc == NULL)
        return EXIT_FAILED;
    /* A follower's view is partial: ask the leader it names, if it is reachable. */
    if (!answered_by_leader(doc) && json_is_string(json_object_get(doc, "leader_admin"))) {
        struct result lr; /* owns the leader's reply until result_free */
        call_one(ctl, json_string_value(json_object_get(doc, "leader_admin")), "status", NULL, 0,
                 &lr);
        if (lr.status == 0 && lr.code == FO_REPLY_OK && lr.body != NULL) {
            json_error_t jerr;
            json_t *ldoc = json_loads(lr.body, 0, &jerr); /* ours: replaces doc */
            if (ldoc != NULL) {
                json_decref(doc);
                doc = ldoc;
            }
        }
        result_free(&lr);
    }
    rc = print_body(ctl, "status", doc);
    /* No leader means no decision can be made: scripts must see that. */
    if (rc == EXIT_OK && !json_is_string(json_object_get(doc, "leader")))
        rc = EXIT_NO_QUORUM;
    json_decref(doc);
    return rc;
}

static int cmd_history(const struct ctl *ctl, const struct parsed *p)
{
    struct fo_kv args[1] = {{"limit", (char *)p->value[0]}};
    return simple_call(ctl, "history", args, p->value[0] != NULL ? 1 : 0);
}

static int cmd_report(const struct ctl *ctl, const struct parsed *p)
{
    struct fo_kv args[1] = {{"id", (char *)p->operand}};
    return simple_call(ctl, "report", args, p->operand != NULL ? 1 : 0);
}

static int cmd_members(const struct ctl *ctl, const struct parsed *p)
{
    (void)p;
    return simple_call(ctl, "members", NULL, 0);
}

static int cmd_pause(const struct ctl *ctl, const struct parsed *p)
{
    char by[128];
    struct fo_kv args[2] = {{"by", by}, {"reason", (char *)p->value[0]}};

    requester(by, sizeof(by));
    return simple_call(ctl, "pause", args, p->value[0] != NULL ? 2 : 1);
}

static int cmd_resume(const struct ctl *ctl, const struct parsed *p)
{
    char by[128];
    struct fo_kv args[1] = {{"by", by}};

    (void)p;
    requester(by, sizeof(by));
    return simple_call(ctl, "resume", args, 1);
}

/* Append the options that are set as admin arguments named key[i]; then "by". */
static int send_with(const struct ctl *ctl, const char *cmd, const struct parsed *p,
                     const char *const key[MAX_OPTS])
{
    struct fo_kv args[MAX_OPTS + 1];
    size_t n = 0;
    char by[128];

    for (size_t i = 0; i < MAX_OPTS; i++)
        if (key[i] != NULL && p->value[i] != NULL)
            args[n++] = (struct fo_kv){(char *)key[i], (char *)p->value[i]};
    requester(by, sizeof(by));
    args[n++] = (struct fo_kv){"by", by};
    return simple_call(ctl, cmd, args, n);
}

static int cmd_failover(const struct ctl *ctl, const struct parsed *p)
{
    static const char *const key[MAX_OPTS] = {"to", "force", "dry_run", "reason"};
    return send_with(ctl, "failover", p, key);
}

static int cmd_switchover(const struct ctl *ctl, const struct parsed *p)
{
    static const char *const key[MAX_OPTS] = {"to", "dry_run", "reason", NULL};
    return send_with(ctl, "switchover", p, key);
}

static int cmd_drill(const struct ctl *ctl, const struct parsed *p)
{
    static const char *const key[MAX_OPTS] = {"to", NULL, NULL, NULL};
    return send_with(ctl, "drill", p, key);
}

#define X(c)        (1u << (c))
#define READ_EXITS  (X(EXIT_OK) | X(EXIT_USAGE) | X(EXIT_NO_QUORUM) | X(EXIT_AUTH))
#define ADMIN_EXITS (X(EXIT_OK) | X(EXIT_FAILED) | X(EXIT_USAGE) | X(EXIT_NO_QUORUM) | X(EXIT_AUTH))
#define OP_EXITS    (ADMIN_EXITS | X(EXIT_REFUSED))

static const struct command commands[] = {
    {"status",
     "",
     "leader, primary site, epoch, nodes, operation, verdicts",
     "The leader's view (failoverctl follows a follower to the leader): nodes, the decision\n"
     "and why, the operation in flight, this node's checks and the committed verdicts.\n"
     "Exit 3 (after printing) when no leader is known: no decision can be made.",
     false,
     READ_EXITS,
     {{NULL}},
     NULL,
     cmd_status},
    {"members",
     "",
     "Raft members as the leader sees them: role, reachable",
     "Every node of the cluster with its region, Raft address, role (leader or follower),\n"
     "whether the leader hears from it and how far it has applied the log. Asked of the\n"
     "leader; without one, the node that answers cannot know reachable and applied (?).",
     false,
     READ_EXITS,
     {{NULL}},
     NULL,
     cmd_members},
    {"history",
     "[--limit N]",
     "finished operations and notable events, newest first",
     "Finished operations (failovers, switchovers, drills) and events (pause, resume,\n"
     "cooldown, rejected commands), newest first, from the leader's replicated state.",
     false,
     READ_EXITS,
     {{"--limit", "N", "at most N operations and N events (default 20)", false}, {NULL}},
     NULL,
     cmd_history},
    {"report",
     "[OPERATION]",
     "an operation's incident timeline and the RTO achieved",
     "The incident report of one operation (default: the one in flight, else the latest):\n"
     "who asked and why, each step's timing and error, the timeline, the RTO achieved\n"
     "against the plan's target.",
     false,
     READ_EXITS,
     {{NULL}},
     "OPERATION",
     cmd_report},
    {"pause",
     "[--reason TEXT]",
     "maintenance: no automatic failover (replicated)",
     "Stop automatic failover on every node until resume; status shows who paused (user@host)\n"
     "and why. Operator failovers and switchovers still run.",
     true,
     ADMIN_EXITS,
     {{"--reason", "TEXT", "why, shown by status and history", false}, {NULL}},
     NULL,
     cmd_pause},
    {"resume",
     "",
     "automatic failover again",
     "Let the leader fail over automatically again (the cooldown still applies).",
     true,
     ADMIN_EXITS,
     {{NULL}},
     NULL,
     cmd_resume},
    {"failover",
     "--to SITE [--force] [--dry-run] [--reason TEXT]",
     "operator failover; health and RPO gates unless --force",
     "Make SITE the primary now, without waiting for the primary to be seen DOWN: one\n"
     "op_begin committed (epoch + 1), then the plan. The target must be healthy and within\n"
     "the RPO gate unless --force; --dry-run prints the decision, the lags and the plan.",
     true,
     OP_EXITS,
     {{"--to", "SITE", "the site to promote", true},
      {"--force", NULL, "skip the health and RPO gates (may lose data)", false},
      {"--dry-run", NULL, "decide and print the plan; change nothing (exit 4: would be refused)",
       false},
      {"--reason", "TEXT", "why, recorded in the operation", false},
      {NULL}},
     NULL,
     cmd_failover},
    {"switchover",
     "--to SITE [--dry-run] [--reason TEXT]",
     "planned move without data loss (fence, catch up, promote)",
     "The planned, no-data-loss move of the primary to SITE: the old primary is fenced, the\n"
     "target promoted only once it has replayed everything. Refused when SITE is unhealthy\n"
     "or lagging, or when the primary is not seen up (there is no --force); --dry-run\n"
     "prints the decision and the plan.",
     true,
     OP_EXITS,
     {{"--to", "SITE", "the site to move the primary to", true},
      {"--dry-run", NULL, "decide and print the plan; change nothing (exit 4: would be refused)",
       false},
      {"--reason", "TEXT", "why, recorded in the operation", false},
      {NULL}},
     NULL,
     cmd_switchover},
    {"drill",
     "[--to SITE]",
     "the whole plan in check mode; changes nothing",
     "The monthly failover simulation: every step of the plan checks its credentials and\n"
     "preconditions against SITE (default: the primary), timed, and changes nothing. Follow\n"
     "it with failoverctl status, then failoverctl report.",
     true,
     OP_EXITS,
     {{"--to", "SITE", "the site a failover would promote", false}, {NULL}},
     NULL,
     cmd_drill},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *const exit_meaning[] = {
    "ok",
    "the operation failed",
    "usage error",
    "no leader or no quorum reachable",
    "refused by policy",
    "authentication failed (wrong token, token file unreadable)",
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void command_help(FILE *out, const struct command *c)
{
    fprintf(out, "usage: failoverctl [GLOBAL OPTIONS] %s%s%s\n\n%s\n", c->name,
            c->synopsis[0] ? " " : "", c->synopsis, c->about);
    if (c->opts[0].name != NULL || c->operand != NULL)
        fprintf(out, "\noptions:\n");
    if (c->operand != NULL)
        fprintf(out, "  %-22s %s\n", c->operand, "an operation id (failoverctl history)");
    for (const struct opt_spec *o = c->opts; o->name != NULL; o++) {
        char lhs[48];
        snprintf(lhs, sizeof(lhs), "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-22s %s%s\n", lhs, o->help, o->required ? " (required)" : "");
    }
    fprintf(out, "  %-22s %s\n", "-h, --help", "this help");
    fprintf(out, "\ntoken: %s\nexit codes:\n",
            c->admin ? "the admin token (FAILOVERCTL_TOKEN_FILE)"
                     : "the read-only or the admin token");
    for (int code = 0; code <= EXIT_AUTH; code++)
        if (c->exits & X(code))
            fprintf(out, "  %d  %s%s\n", code, exit_meaning[code],
                    code == EXIT_AUTH && c->admin ? ", or the read-only token" : "");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: failoverctl [-s ADDR[,ADDR...]] [--token-file F] [--json] [--timeout MS]\n"
                 "                   COMMAND [ARGS]\n"
                 "       failoverctl COMMAND --help | help COMMAND\n"
                 "       failoverctl [-h|--help] [-V|--version]\n"
                 "\n"
                 "commands (and the token they need):\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-11s %-5s  %s\n", commands[i].name, commands[i].admin ? "admin" : "read",
                commands[i].summary);
    fprintf(out, "\n"
                 "  -s, --server ADDR[,ADDR...]  admin addresses of the nodes (a.b.c.d:port),\n"
                 "                               tried in order; default $FAILOVERCTL_ADDR\n"
                 "      --token-file F           the admin or read-only token; default\n"
                 "                               $FAILOVERCTL_TOKEN_FILE\n"
                 "      --json                   print JSON for scripts instead of a table\n"
                 "      --timeout MS             per request (default 5000)\n"
                 "\n"
                 "A node that is not the leader points failoverctl at the leader, which it then\n"
                 "asks. read: the read-only or the admin token; admin: the admin token only.\n"
                 "Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 no leader or no\n"
                 "quorum reachable, 4 refused by policy, 5 authentication failed.\n");
}

/*
 * Parse a command's own arguments against its table entry. Returns -1 when they are
 * fine, else the exit code to return now: 0 after --help, EXIT_USAGE after a message.
 */
static int parse_command(const struct command *c, int argc, char **argv, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const struct opt_spec *o = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            command_help(stdout, c);
            return EXIT_OK;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (c->operand == NULL || p->operand != NULL) {
                fprintf(stderr,
                        "failoverctl: %s: unexpected argument '%s' (see failoverctl %s "
                        "--help)\n",
                        c->name, a, c->name);
                return EXIT_USAGE;
            }
            p->operand = a;
            continue;
        }
        for (size_t k = 0; c->opts[k].name != NULL && o == NULL; k++)
            if (strlen(c->opts[k].name) == len && strncmp(c->opts[k].name, a, len) == 0)
                o = &c->opts[k];
        if (o == NULL || (o->arg == NULL && eq != NULL)) {
            fprintf(stderr, "failoverctl: %s: unknown option '%s' (see failoverctl %s --help)\n",
                    c->name, a, c->name);
            return EXIT_USAGE;
        }
        if (o->arg != NULL && eq == NULL && i + 1 >= argc) {
            fprintf(stderr, "failoverctl: %s: option '%s' needs a value (%s %s)\n", c->name,
                    o->name, o->name, o->arg);
            return EXIT_USAGE;
        }
        p->value[o - c->opts] = o->arg == NULL ? "true" : eq != NULL ? eq + 1 : argv[++i];
    }
    for (size_t k = 0; c->opts[k].name != NULL; k++) {
        if (c->opts[k].required && p->value[k] == NULL) {
            fprintf(stderr, "failoverctl: %s: %s %s is required (see failoverctl %s --help)\n",
                    c->name, c->opts[k].name, c->opts[k].arg, c->name);
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int split_addrs(struct ctl *ctl, char *list)
{
    char *save = NULL;
    for (char *a = strtok_r(list, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
        if (ctl->naddrs == MAX_ADDRS) {
            fprintf(stderr, "failoverctl: at most %d addresses\n", MAX_ADDRS);
            return -1;
        }
        ctl->addrs[ctl->naddrs++] = a;
    }
    return 0;
}

/* failoverctl help [COMMAND] */
static int help_command(int argc, char **argv)
{
    const struct command *c;

    if (argc == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    c = find_command(argv[0]);
    if (argc > 1 || c == NULL) {
        fprintf(stderr, "failoverctl: help: unknown command '%s' (see failoverctl --help)\n",
                argv[argc > 1 ? 1 : 0]);
        return EXIT_USAGE;
    }
    command_help(stdout, c);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"token-file", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct ctl ctl = {.timeout_ms = 5000};
    const char *token_file = getenv("FAILOVERCTL_TOKEN_FILE");
    char *servers = NULL, *env_addr = getenv("FAILOVERCTL_ADDR");
    char *list; /* ours: the split address list, freed before returning */
    const struct command *c;
    struct parsed p;
    struct fo_error err;
    int ch, rc;

    /* '+': stop at the command, so its own options are not taken for ours; ':': report
     * a missing value as ':' so that we name the option ourselves. */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:s:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            servers = optarg;
            break;
        case 'T':
            token_file = optarg;
            break;
        case 'j':
            ctl.json = true;
            break;
        case 't': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end != '\0' || v == 0 || v > 600000) {
                fprintf(stderr, "failoverctl: --timeout: '%s' is not 1..600000 ms\n", optarg);
                return EXIT_USAGE;
            }
            ctl.timeout_ms = (unsigned)v;
            break;
        }
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("failoverctl %s\n", FO_VERSION);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "failoverctl: option '%s' needs a value (see failoverctl --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            if (optopt != 0)
                fprintf(stderr, "failoverctl: unknown option '-%c' (see failoverctl --help)\n",
                        optopt);
            else
                fprintf(stderr, "failoverctl: unknown option '%s' (see failoverctl --help)\n",
                        argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0)
        return help_command(argc - optind - 1, argv + optind + 1);
    c = find_command(argv[optind]);
    if (c == NULL) {
        fprintf(stderr, "failoverctl: unknown command '%s' (see failoverctl --help)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    rc = parse_command(c, argc - optind - 1, argv + optind + 1, &p);
    if (rc >= 0)
        return rc;
    if (servers == NULL)
        servers = env_addr;
    if (servers == NULL || servers[0] == '\0') {
        fprintf(stderr, "failoverctl: no node address: use -s ADDR or FAILOVERCTL_ADDR\n");
        return EXIT_USAGE;
    }
    list = strdup(servers);
    if (list == NULL || split_addrs(&ctl, list) != 0) {
        free(list);
        return EXIT_USAGE;
    }
    /* A token that cannot be read is an authentication failure: the command would be
     * refused (and scripts treat 5 as "fix the credentials"). */
    if (token_file != NULL &&
        fo_secret_read_file(token_file, ctl.token, sizeof(ctl.token), &err) != 0) {
        fprintf(stderr, "failoverctl: token file: %s\n", err.msg);
        free(list);
        return EXIT_AUTH;
    }
    signal(SIGPIPE, SIG_IGN);
    rc = c->run(&ctl, &p);
    fo_secret_wipe(ctl.token, sizeof(ctl.token));
    free(list);
    return rc;
}
