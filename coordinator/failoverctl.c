/*
 * coordinator/failoverctl.c — the admin CLI (DESIGN §9, §13), shaped like bgpctl: one
 * command table drives parsing; a command sends one request, gets one reply, and the
 * reply's JSON body is rendered either as a table for people or as JSON for scripts.
 *
 * Addresses come from -s or FAILOVERCTL_ADDR (comma-separated); they are tried in order
 * until one answers, and a node that is not the leader points us at the leader, which
 * we then ask (at most FOLLOW_MAX hops). The token comes from --token-file or
 * FAILOVERCTL_TOKEN_FILE.
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

#include "coordinator/admin_client.h"
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

#define FOLLOW_MAX 3
#define MAX_ADDRS  16

struct ctl {
    char *addrs[MAX_ADDRS];
    size_t naddrs;
    char token[FO_TOKEN_MAX + 1]; /* secret: wiped before exit */
    bool json;
    unsigned timeout_ms;
};

/* One finished call: the reply, copied out of the client's callback. */
struct result {
    int status; /* 0: a reply arrived */
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

/*
 * Send cmd to the cluster: try each address until one answers; follow not_leader to the
 * leader. On return r holds the last reply (status 0) or why nobody answered.
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
            if (r->status != 0) {
                int k = snprintf(errors + used, sizeof(errors) - used, "%s%s", used ? "; " : "",
                                 r->error);
                if (k > 0 && (size_t)k < sizeof(errors) - used)
                    used += (size_t)k;
                break;
            }
            if (r->code != FO_REPLY_NOT_LEADER || r->leader == NULL)
                return;
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

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "-";
}

static long long jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_json(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2));
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

static void print_operation(const json_t *op)
{
    size_t i;
    json_t *st;

    printf("\noperation %s: %s %s -> %s, epoch %lld, %s\n", jstr(op, "id"), jstr(op, "kind"),
           jstr(op, "from"), jstr(op, "to"), jint(op, "epoch"), jstr(op, "state"));
    printf("  %-3s %-24s %-20s %-8s %8s %11s  %s\n", "#", "STEP", "ACTION", "STATE", "ATTEMPTS",
           "DURATION_MS", "ERROR");
    json_array_foreach(json_object_get(op, "steps"), i, st)
    {
        json_t *dur = json_object_get(st, "duration_ms");
        char d[24] = "-";
        if (json_is_integer(dur))
            snprintf(d, sizeof(d), "%lld", (long long)json_integer_value(dur));
        printf("  %-3zu %-24s %-20s %-8s %8lld %11s  %s\n", i + 1, jstr(st, "name"),
               jstr(st, "action"), jstr(st, "state"), jint(st, "attempts"), d,
               json_is_string(json_object_get(st, "error")) ? jstr(st, "error") : "");
    }
}

static void print_status_table(const json_t *doc)
{
    size_t i;
    json_t *n, *w;
    json_t *op = json_object_get(doc, "operation");

    printf("cluster   %s (answered by %s, term %lld)\n", jstr(doc, "cluster"), jstr(doc, "node"),
           jint(doc, "term"));
    printf("leader    %s\n", json_is_string(json_object_get(doc, "leader"))
                                 ? jstr(doc, "leader")
                                 : "NONE (no quorum reachable)");
    printf("primary   %s (epoch %lld)\n", jstr(doc, "primary"), jint(doc, "epoch"));
    printf("mode      %s", jstr(doc, "mode"));
    if (json_is_string(json_object_get(json_object_get(doc, "mode_detail"), "by")))
        printf(" (by %s: %s)", jstr(json_object_get(doc, "mode_detail"), "by"),
               jstr(json_object_get(doc, "mode_detail"), "reason"));
    printf("\n\n%-12s %-12s %-12s %-10s %-22s %s\n", "NODE", "REGION", "ROLE", "REACHABLE", "RAFT",
           "ADMIN");
    json_array_foreach(json_object_get(doc, "nodes"), i, n)
    {
        json_t *r = json_object_get(n, "reachable");
        printf("%-12s %-12s %-12s %-10s %-22s %s\n", jstr(n, "name"), jstr(n, "region"),
               jstr(n, "role"), json_is_boolean(r) ? (json_is_true(r) ? "yes" : "no") : "?",
               jstr(n, "raft"), jstr(n, "admin"));
    }
    if (json_is_object(json_object_get(doc, "decision"))) {
        const json_t *dec = json_object_get(doc, "decision");
        printf("\ndecision  %s: %s\n",
               json_is_true(json_object_get(dec, "would_fail_over")) ? "WOULD FAIL OVER"
                                                                     : "no failover",
               jstr(dec, "text"));
    }
    if (json_is_true(json_object_get(doc, "self_fenced")))
        printf("fence     this node fenced the primary's servers in its region (no majority)\n");
    if (json_is_object(op))
        print_operation(op);
    else
        printf("\noperation none in flight\n");
    if (json_array_size(json_object_get(doc, "checks")) > 0) {
        json_t *c;
        printf("\n%-18s %-12s %-8s %-4s %s   (as %s sees them)\n", "CHECK", "REGION", "STATUS",
               "CRIT", "DETAIL", jstr(doc, "node"));
        json_array_foreach(json_object_get(doc, "checks"), i, c)
        {
            printf("%-18s %-12s %-8s %-4s %s\n", jstr(c, "name"), jstr(c, "region"),
                   jstr(c, "status"), json_is_true(json_object_get(c, "critical")) ? "yes" : "no",
                   jstr(c, "detail"));
        }
    }
    if (json_array_size(json_object_get(doc, "verdicts")) > 0) {
        json_t *v;
        printf("\n%-16s %-12s %-8s %s\n", "OBSERVER", "REGION", "STATUS", "REASON");
        json_array_foreach(json_object_get(doc, "verdicts"), i, v)
        {
            printf("%-16s %-12s %-8s %s\n", jstr(v, "observer"), jstr(v, "region"),
                   jstr(v, "status"),
                   json_is_string(json_object_get(v, "reason")) ? jstr(v, "reason") : "");
        }
    }
    json_array_foreach(json_object_get(doc, "warnings"), i, w)
    {
        printf("%swarning: %s\n", i == 0 ? "\n" : "", json_string_value(w));
    }
}

/* ---- commands --------------------------------------------------------------------- */

static int report_failure(const struct result *r)
{
    if (r->status != 0) {
        fprintf(stderr, "failoverctl: %s\n", r->error);
        return EXIT_NO_QUORUM;
    }
    fprintf(stderr, "failoverctl: %s: %s\n", fo_enum_name(fo_reply_code_names, r->code),
            r->message != NULL ? r->message : "(no message)");
    return exit_for_code(r->code);
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
    struct result r;
    json_t *doc;
    json_error_t jerr;
    int rc;

    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "failoverctl: status takes no arguments\n");
        return EXIT_USAGE;
    }
    call_cluster(ctl, "status", NULL, 0, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        rc = report_failure(&r);
        result_free(&r);
        return rc;
    }
    doc = json_loads(r.body != NULL ? r.body : "", 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "failoverctl: the node sent a status that is not JSON: %s\n", jerr.text);
        result_free(&r);
        return EXIT_FAILED;
    }
    /* A follower's view is partial: ask the leader it names, if it is reachable. */
    if (strcmp(jstr(doc, "role"), "leader") != 0 &&
        json_is_string(json_object_get(doc, "leader_admin"))) {
        struct ctl one = *ctl;
        struct result lr;
        one.addrs[0] = (char *)jstr(doc, "leader_admin");
        one.naddrs = 1;
        call_one(&one, one.addrs[0], "status", NULL, 0, &lr);
        if (lr.status == 0 && lr.code == FO_REPLY_OK && lr.body != NULL) {
            json_t *ldoc = json_loads(lr.body, 0, &jerr);
            if (ldoc != NULL) {
                json_decref(doc);
                doc = ldoc;
            }
        }
        result_free(&lr);
    }
    if (ctl->json)
        print_json(doc);
    else
        print_status_table(doc);
    /* No leader means no decision can be made: scripts must see that. */
    rc = json_is_string(json_object_get(doc, "leader")) ? EXIT_OK : EXIT_NO_QUORUM;
    json_decref(doc);
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
}

/* Send cmd with args to the cluster (following the leader); on success print the JSON
 * body with print_table (or as JSON with --json), or the node's message. */
static int simple_call(struct ctl *ctl, const char *cmd, struct fo_kv *args, size_t nargs,
                       void (*print_table)(const json_t *doc))
{
    struct result r;

    call_cluster(ctl, cmd, args, nargs, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        int rc = report_failure(&r);
        result_free(&r);
        return rc;
    }
    if (r.body != NULL) {
        json_error_t jerr;
        json_t *doc = json_loads(r.body, 0, &jerr);
        if (doc == NULL) {
            fprintf(stderr, "failoverctl: the node sent a reply that is not JSON: %s\n", jerr.text);
            result_free(&r);
            return EXIT_FAILED;
        }
        if (ctl->json || print_table == NULL)
            print_json(doc);
        else
            print_table(doc);
        json_decref(doc);
    } else if (ctl->json) {
        json_t *doc = json_pack("{s:s, s:s?}", "result", "ok", "message", r.message);
        print_json(doc);
        json_decref(doc);
    } else {
        printf("%s\n", r.message != NULL ? r.message : "ok");
    }
    result_free(&r);
    return EXIT_OK;
}

/* Parse "--reason TEXT" (the only option of pause); returns -1 on anything else. */
static int opt_value(int argc, char **argv, const char *name, const char **out)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < argc) {
            *out = argv[++i];
        } else {
            fprintf(stderr, "failoverctl: unexpected argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int cmd_pause(struct ctl *ctl, int argc, char **argv)
{
    const char *reason = NULL;
    char by[128];
    struct fo_kv args[2];
    size_t n = 0;

    if (opt_value(argc, argv, "--reason", &reason) != 0)
        return EXIT_USAGE;
    requester(by, sizeof(by));
    args[n++] = (struct fo_kv){"by", by};
    if (reason != NULL)
        args[n++] = (struct fo_kv){"reason", (char *)reason};
    return simple_call(ctl, "pause", args, n, NULL);
}

static int cmd_resume(struct ctl *ctl, int argc, char **argv)
{
    char by[128];
    struct fo_kv args[1];

    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "failoverctl: resume takes no arguments\n");
        return EXIT_USAGE;
    }
    requester(by, sizeof(by));
    args[0] = (struct fo_kv){"by", by};
    return simple_call(ctl, "resume", args, 1, NULL);
}

static void format_ms(const json_t *v, char *out, size_t cap)
{
    time_t secs;
    struct tm tm;
    if (!json_is_integer(v)) {
        snprintf(out, cap, "-");
        return;
    }
    secs = (time_t)(json_integer_value(v) / 1000);
    gmtime_r(&secs, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void print_history(const json_t *doc)
{
    size_t i;
    json_t *op, *ev;

    printf("%-40s %-10s %-18s %5s %-9s %-20s %s\n", "OPERATION", "KIND", "FROM -> TO", "EPOCH",
           "RESULT", "STARTED", "ERROR");
    json_array_foreach(json_object_get(doc, "operations"), i, op)
    {
        char route[40], when[32];
        snprintf(route, sizeof(route), "%s -> %s", jstr(op, "from"), jstr(op, "to"));
        format_ms(json_object_get(op, "started_ms"), when, sizeof(when));
        printf("%-40s %-10s %-18s %5lld %-9s %-20s %s\n", jstr(op, "id"), jstr(op, "kind"), route,
               jint(op, "epoch"), jstr(op, "state"), when,
               json_is_string(json_object_get(op, "error")) ? jstr(op, "error") : "");
    }
    if (json_array_size(json_object_get(doc, "operations")) == 0)
        printf("(no finished operation)\n");
    printf("\n%-20s %-10s %-24s %s\n", "EVENT AT", "WHAT", "BY", "TEXT");
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        char when[32];
        format_ms(json_object_get(ev, "at_ms"), when, sizeof(when));
        printf("%-20s %-10s %-24s %s\n", when, jstr(ev, "what"), jstr(ev, "by"),
               json_is_string(json_object_get(ev, "text")) ? jstr(ev, "text") : "");
    }
}

static int cmd_history(struct ctl *ctl, int argc, char **argv)
{
    const char *limit = NULL;
    struct fo_kv args[1];

    if (opt_value(argc, argv, "--limit", &limit) != 0)
        return EXIT_USAGE;
    args[0] = (struct fo_kv){"limit", (char *)limit};
    return simple_call(ctl, "history", args, limit != NULL ? 1 : 0, print_history);
}

static void print_report(const json_t *doc)
{
    const json_t *op = json_object_get(doc, "operation");
    json_t *rto = json_object_get(doc, "rto_ms");

    printf("%s\n", jstr(doc, "timeline"));
    print_operation(op);
    if (json_is_integer(rto))
        printf("\nRTO achieved %.1f s against a target of %.0f s: %s\n",
               (double)json_integer_value(rto) / 1000.0,
               (double)jint(doc, "rto_target_ms") / 1000.0,
               json_integer_value(rto) <= jint(doc, "rto_target_ms") ? "met" : "MISSED");
    else
        printf("\nRTO: the operation has not finished\n");
}

static int cmd_report(struct ctl *ctl, int argc, char **argv)
{
    struct fo_kv args[1];

    if (argc > 1) {
        fprintf(stderr, "failoverctl: report takes at most one operation id\n");
        return EXIT_USAGE;
    }
    args[0] = (struct fo_kv){"id", argc == 1 ? argv[0] : NULL};
    return simple_call(ctl, "report", args, argc == 1 ? 1 : 0, print_report);
}

static void print_dry_run(const json_t *doc)
{
    size_t i;
    json_t *st;

    printf("failover %s -> %s (epoch %lld)%s: %s\n", jstr(doc, "from"), jstr(doc, "to"),
           jint(doc, "epoch"), json_is_true(json_object_get(doc, "force")) ? " --force" : "",
           json_is_true(json_object_get(doc, "would_fail_over")) ? "WOULD RUN" : "REFUSED");
    printf("  %s (%s)\n", jstr(doc, "text"), jstr(doc, "reason"));
    printf("\nplan:\n");
    json_array_foreach(json_object_get(doc, "plan"), i, st)
    {
        printf("  %zu. %-24s %-20s target %-4s timeout %lld ms, %lld attempt(s), on failure %s\n",
               i + 1, jstr(st, "name"), jstr(st, "action"), jstr(st, "target"),
               jint(st, "timeout_ms"), jint(st, "attempts"), jstr(st, "on_failure"));
    }
    printf("\nnothing was changed (--dry-run)\n");
}

/* failover --to SITE [--force] [--dry-run] [--reason TEXT] */
static int cmd_failover(struct ctl *ctl, int argc, char **argv)
{
    struct fo_kv args[6];
    size_t n = 0;
    char by[128];
    bool dry_run = false;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            args[n++] = (struct fo_kv){"to", argv[++i]};
        } else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
            args[n++] = (struct fo_kv){"reason", argv[++i]};
        } else if (strcmp(argv[i], "--force") == 0) {
            args[n++] = (struct fo_kv){"force", "1"};
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            args[n++] = (struct fo_kv){"dry_run", "1"};
            dry_run = true;
        } else {
            fprintf(stderr,
                    "failoverctl: failover: unexpected argument '%s' (usage: failover "
                    "--to SITE [--force] [--dry-run] [--reason TEXT])\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        if (n == 5)
            break;
    }
    requester(by, sizeof(by));
    args[n++] = (struct fo_kv){"by", by};
    return simple_call(ctl, "failover", args, n, dry_run ? print_dry_run : NULL);
}

/* drill [--to SITE] */
static int cmd_drill(struct ctl *ctl, int argc, char **argv)
{
    const char *to = NULL;
    struct fo_kv args[2];
    size_t n = 0;
    char by[128];

    if (opt_value(argc, argv, "--to", &to) != 0)
        return EXIT_USAGE;
    requester(by, sizeof(by));
    args[n++] = (struct fo_kv){"by", by};
    if (to != NULL)
        args[n++] = (struct fo_kv){"to", (char *)to};
    return simple_call(ctl, "drill", args, n, NULL);
}

struct command {
    const char *name;
    const char *args;
    const char *help;
    int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct command commands[] = {
    {"status", "", "the cluster: leader, primary site, epoch, nodes, operation, verdicts",
     cmd_status},
    {"history", "[--limit N]", "finished operations and notable events, newest first", cmd_history},
    {"report", "[OPERATION]", "an operation's incident timeline and the RTO achieved", cmd_report},
    {"pause", "[--reason TEXT]", "maintenance: no automatic failover (replicated)", cmd_pause},
    {"resume", "", "automatic failover again", cmd_resume},
    {"failover", "--to SITE [--force] [--dry-run] [--reason TEXT]",
     "operator failover; keeps the health and RPO gates unless --force", cmd_failover},
    {"drill", "[--to SITE]", "run the whole plan in check mode (changes nothing)", cmd_drill},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: failoverctl [-s ADDR[,ADDR...]] [--token-file F] [--json] [--timeout MS]\n"
                 "                   COMMAND [ARGS]\n"
                 "       failoverctl [-h|--help] [-V|--version]\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(out, "\n"
                 "  -s, --server ADDR[,ADDR...]  admin addresses of the nodes (a.b.c.d:port),\n"
                 "                               tried in order; default $FAILOVERCTL_ADDR\n"
                 "      --token-file F           the admin or read-only token; default\n"
                 "                               $FAILOVERCTL_TOKEN_FILE\n"
                 "      --json                   print JSON for scripts instead of a table\n"
                 "      --timeout MS             per request (default 5000)\n"
                 "\n"
                 "A node that is not the leader points failoverctl at the leader, which it then\n"
                 "asks. Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 no leader or\n"
                 "no quorum reachable, 4 refused by policy, 5 authentication failed.\n");
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
    int ch, rc;

    /* '+': stop at the command, so its own options are not taken for ours. */
    while ((ch = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
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
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        struct fo_error err;
        char *list;
        if (strcmp(commands[i].name, argv[optind]) != 0)
            continue;
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
        if (token_file != NULL &&
            fo_secret_read_file(token_file, ctl.token, sizeof(ctl.token), &err) != 0) {
            fprintf(stderr, "failoverctl: token file: %s\n", err.msg);
            free(list);
            return EXIT_USAGE;
        }
        signal(SIGPIPE, SIG_IGN);
        rc = commands[i].run(&ctl, argc - optind - 1, argv + optind + 1);
        fo_secret_wipe(ctl.token, sizeof(ctl.token));
        free(list);
        return rc;
    }
    fprintf(stderr, "failoverctl: unknown command '%s' (see failoverctl --help)\n", argv[optind]);
    return EXIT_USAGE;
}
