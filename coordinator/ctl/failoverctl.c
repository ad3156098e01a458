/*
 * coordinator/ctl/failoverctl.c — the admin CLI (DESIGN §9, §13), shaped like bgpctl: one
 * verb table drives parsing (proto/admin.h's verbs, with the CLI's options, help and
 * renderer in coordinator/ctl/verbs.h); a command sends one request, gets one reply, and
 * the reply's JSON body is rendered either as a table for people or as JSON for scripts
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
#include "coordinator/ctl/ctl_help.h"
#include "coordinator/ctl/ctl_watch.h"
#include "coordinator/clock.h"
#include "coordinator/ctl/verbs.h"
#include "actions/secret.h"
#include "proto/admin.h"

#define FOLLOW_MAX     3
#define RESULT_UNKNOWN (-2)
#define MAX_ADDRS      16
/* --wait: how often the operation's report is fetched, and how long nobody may answer
 * (a leader change) before failoverctl gives up following it. */
#define WAIT_POLL_MS 250
#define WAIT_LOST_MS 30000
/* How long the report may not yet show the operation just committed (a follower that
 * answered lags the leader by a heartbeat). */
#define WAIT_FIND_MS 10000

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
        return FO_CTL_EXIT_OK;
    case FO_REPLY_BAD_REQUEST:
        return FO_CTL_EXIT_USAGE;
    case FO_REPLY_UNAUTHORIZED:
    case FO_REPLY_FORBIDDEN:
        return FO_CTL_EXIT_AUTH;
    case FO_REPLY_NOT_LEADER:
    case FO_REPLY_NO_QUORUM:
    case FO_REPLY_BUSY:
        return FO_CTL_EXIT_NO_QUORUM;
    case FO_REPLY_REFUSED:
        return FO_CTL_EXIT_REFUSED;
    default:
        return FO_CTL_EXIT_FAILED;
    }
}

/* Whether cmd changes the cluster (admin.h): sent again to another node after a timeout,
 * one could run twice (two drills), so its unanswered request is reported, not retried. */
static bool is_change(const char *cmd)
{
    int id = fo_admin_verb_find(cmd);
    return id < 0 || fo_admin_verbs[id].changes_state;
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
        return FO_CTL_EXIT_FAILED;
    }
    return FO_CTL_EXIT_OK;
}

static int report_failure(const struct result *r)
{
    if (r->status == RESULT_UNKNOWN) {
        fprintf(stderr, "failoverctl: %s\n", r->error);
        return FO_CTL_EXIT_FAILED;
    }
    if (r->status != 0) {
        fprintf(stderr, "failoverctl: %s\n", r->error);
        return FO_CTL_EXIT_NO_QUORUM;
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
    int rc = FO_CTL_EXIT_OK;

    call_cluster(ctl, cmd, args, nargs, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        rc = report_failure(&r);
    } else if (r.body != NULL) {
        json_t *doc = parse_body(r.body); /* ours: freed below */
        rc = doc != NULL ? print_body(ctl, cmd, doc) : FO_CTL_EXIT_FAILED;
        /* A dry run is a precheck for scripts: "would be refused" is exit 4, as the real
         * request would be. */
        if (rc == FO_CTL_EXIT_OK && json_is_true(json_object_get(doc, "dry_run")) &&
            json_is_false(json_object_get(doc, "would_fail_over")))
            rc = FO_CTL_EXIT_REFUSED;
        json_decref(doc);
    } else {
        struct fo_error err;
        if (fo_ctl_render_message(stdout, r.message, ctl->json, &err) != 0) {
            fprintf(stderr, "failoverctl: %s\n", err.msg);
            rc = FO_CTL_EXIT_FAILED;
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

/* ---- the verbs (verbs.h) ---------------------------------------------------------- */

/* A command line after parsing: value[i] for the verb's opts[i] (a flag: "true"), or
 * NULL when not given. */
struct parsed {
    enum fo_admin_verb_id verb;
    const char *value[FO_VERB_ARGS_MAX];
};

/* The request arguments of a parsed command line: every value given, under its key,
 * and who asks when the verb records it (its FO_ARG_REQUESTER argument). by is the
 * caller's buffer for that; args has room for FO_VERB_ARGS_MAX. Returns the count. */
static size_t request_args(const struct parsed *p, struct fo_kv *args, char *by, size_t bycap)
{
    const struct fo_ctl_opt *opts = fo_ctl_verbs[p->verb].opts;
    size_t n = 0;

    for (size_t i = 0; opts[i].key != NULL; i++)
        if (p->value[i] != NULL && !opts[i].local)
            args[n++] = (struct fo_kv){(char *)opts[i].key, (char *)p->value[i]};
    for (const struct fo_admin_arg *a = fo_admin_verbs[p->verb].args; a->key != NULL; a++) {
        if (a->kind == FO_ARG_REQUESTER && n < FO_VERB_ARGS_MAX) {
            requester(by, bycap);
            args[n++] = (struct fo_kv){(char *)a->key, by};
        }
    }
    return n;
}

static bool answered_by_leader(const json_t *status)
{
    const char *role = json_string_value(json_object_get(status, "role"));
    return role != NULL && strcmp(role, "leader") == 0;
}

/* A verb whose answer is the answering node's own view (status): a follower's is
 * partial, so ask the leader it names, if it is reachable; no leader known is exit 3. */
static int leader_view_call(const struct ctl *ctl, const char *cmd, struct fo_kv *args,
                            size_t nargs)
{
    struct result r; /* owns the reply's strings until result_free */
    json_t *doc;     /* ours: freed below */
    int rc;

    call_cluster(ctl, cmd, args, nargs, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        rc = report_failure(&r);
        result_free(&r);
        return rc;
    }
    doc = parse_body(r.body);
    result_free(&r);
    if (doc == NULL)
        return FO_CTL_EXIT_FAILED;
    if (!answered_by_leader(doc) && json_is_string(json_object_get(doc, "leader_admin"))) {
        struct result lr; /* owns the leader's reply until result_free */
        call_one(ctl, json_string_value(json_object_get(doc, "leader_admin")), cmd, args, nargs,
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
    rc = print_body(ctl, cmd, doc);
    /* No leader means no decision can be made: scripts must see that. */
    if (rc == FO_CTL_EXIT_OK && !json_is_string(json_object_get(doc, "leader")))
        rc = FO_CTL_EXIT_NO_QUORUM;
    json_decref(doc);
    return rc;
}

/* ---- --wait and --force's confirmation (operations) --------------------------------- */

/* The value given for the verb's option key, or NULL (also when the verb has none). */
static const char *given(const struct parsed *p, const char *key)
{
    const struct fo_ctl_opt *opts = fo_ctl_verbs[p->verb].opts;
    for (size_t i = 0; opts[i].key != NULL; i++)
        if (strcmp(opts[i].key, key) == 0)
            return p->value[i];
    return NULL;
}

static bool has_opt(enum fo_admin_verb_id verb, const char *key)
{
    for (const struct fo_ctl_opt *o = fo_ctl_verbs[verb].opts; o->key != NULL; o++)
        if (strcmp(o->key, key) == 0)
            return true;
    return false;
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The operation `report` shows (id NULL: the one in flight, else the latest), as a new
 * reference, or NULL with *answered telling whether a node answered at all. */
static json_t *fetch_operation(const struct ctl *ctl, const char *id, bool *answered)
{
    struct fo_kv arg = {"id", (char *)id};
    struct result r; /* owns the reply's strings until result_free */
    json_t *doc = NULL, *op = NULL;

    call_cluster(ctl, "report", id != NULL ? &arg : NULL, id != NULL ? 1 : 0, &r);
    *answered = r.status == 0;
    if (r.status == 0 && r.code == FO_REPLY_OK && r.body != NULL)
        doc = json_loads(r.body, 0, NULL);
    result_free(&r);
    if (doc != NULL && json_is_object(json_object_get(doc, "operation")))
        op = json_incref(json_object_get(doc, "operation"));
    json_decref(doc);
    return op;
}

/* --force on a terminal: the operator types the target's name (patronictl's --force
 * only skips its prompt; ours skips the gates that protect the data). */
static bool confirmed(const char *to)
{
    char line[128];

    fprintf(stderr,
            "failover --force skips the health and RPO gates: writes not yet replicated to %s "
            "may be lost.\n"
            "Type the target site's name (%s) to go on: ",
            to, to);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, to) == 0;
}

/* Follow the operation our request committed: the newest one that is not `before`, polled
 * until it ends (ctl_watch.h). Not by its requested_by: the node records the name the
 * token authenticated, not what failoverctl claims; and one operation runs at a time, so
 * the one that began after the node accepted our request is ours. Progress goes to
 * stdout, or stderr with --json, which prints the final operation. Returns its exit code. */
static int follow(const struct ctl *ctl, const char *before)
{
    FILE *out = ctl->json ? stderr : stdout;
    struct fo_ctl_watch w;
    char id[FO_NAME_MAX + 1] = "";
    uint64_t last_answer = mono_ms(), start = last_answer;
    json_t *op = NULL; /* ours: the latest report, kept until the next one */
    int rc = FO_CTL_EXIT_FAILED;

    fo_ctl_watch_init(&w);
    for (;;) {
        bool answered;
        json_t *now = fetch_operation(ctl, id[0] != '\0' ? id : NULL, &answered);
        const char *nid = json_string_value(json_object_get(now, "id"));

        if (answered)
            last_answer = mono_ms();
        if (id[0] == '\0' && nid != NULL && strcmp(nid, before) != 0)
            snprintf(id, sizeof(id), "%s", nid);
        if (id[0] != '\0' && now != NULL) {
            json_decref(op);
            op = now;
            now = NULL;
            if (fo_ctl_watch_update(&w, out, op)) {
                rc = fo_ctl_watch_exit(op);
                break;
            }
        }
        json_decref(now);
        fflush(out);
        if (mono_ms() - last_answer > WAIT_LOST_MS ||
            (id[0] == '\0' && mono_ms() - start > WAIT_FIND_MS)) {
            fprintf(stderr,
                    "failoverctl: lost sight of the operation%s%s: it goes on; follow it with "
                    "failoverctl report\n",
                    id[0] ? " " : "", id);
            json_decref(op);
            return FO_CTL_EXIT_NO_QUORUM;
        }
        sleep_ms(WAIT_POLL_MS);
    }
    if (ctl->json) {
        struct fo_error err;
        if (fo_ctl_render_json(stdout, op, &err) != 0)
            rc = FO_CTL_EXIT_FAILED;
    }
    json_decref(op);
    return rc;
}

/* failover, switchover, drill: --force's confirmation, the request, then --wait. */
static int operation_call(const struct ctl *ctl, const struct parsed *p, struct fo_kv *args,
                          size_t nargs)
{
    const char *cmd = fo_admin_verbs[p->verb].name, *to = given(p, "to");
    bool terminal = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    bool wait = given(p, "wait") != NULL || (given(p, "no_wait") == NULL && isatty(STDOUT_FILENO));
    char before[FO_NAME_MAX + 1] = "";
    struct result r; /* owns the reply's strings until result_free */

    if (given(p, "dry_run") != NULL)
        return simple_call(ctl, cmd, args, nargs);
    if (given(p, "force") != NULL && given(p, "yes") == NULL && terminal &&
        !confirmed(to != NULL ? to : "")) {
        fprintf(stderr,
                "failoverctl: %s: not confirmed: nothing was sent (--yes skips the "
                "question)\n",
                cmd);
        return FO_CTL_EXIT_USAGE;
    }
    if (!wait)
        return simple_call(ctl, cmd, args, nargs);
    {
        bool answered;
        json_t *op = fetch_operation(ctl, NULL, &answered); /* ours */
        const char *id = json_string_value(json_object_get(op, "id"));
        snprintf(before, sizeof(before), "%s", id != NULL ? id : "");
        json_decref(op);
    }
    call_cluster(ctl, cmd, args, nargs, &r);
    if (r.status != 0 || r.code != FO_REPLY_OK) {
        int rc = report_failure(&r);
        result_free(&r);
        return rc;
    }
    fprintf(ctl->json ? stderr : stdout, "%s\n", r.message != NULL ? r.message : "ok");
    result_free(&r);
    return follow(ctl, before);
}

/* Run a parsed command against the cluster. */
static int run_command(const struct ctl *ctl, const struct parsed *p)
{
    struct fo_kv args[FO_VERB_ARGS_MAX];
    char by[128];
    size_t n = request_args(p, args, by, sizeof(by));
    const char *cmd = fo_admin_verbs[p->verb].name;

    if (fo_ctl_verbs[p->verb].leader_view)
        return leader_view_call(ctl, cmd, args, n);
    if (has_opt(p->verb, "wait"))
        return operation_call(ctl, p, args, n);
    return simple_call(ctl, cmd, args, n);
}

/* The option of c named by a ("--to" of "--to=dr"; len bytes), or NULL. */
static const struct fo_ctl_opt *find_opt(const struct fo_ctl_verb *c, const char *a, size_t len)
{
    for (const struct fo_ctl_opt *o = c->opts; o->key != NULL; o++) {
        char name[FO_CTL_OPT_NAME_MAX];
        if (!o->operand && strlen(fo_ctl_opt_name(o, name, sizeof(name))) == len &&
            strncmp(name, a, len) == 0)
            return o;
    }
    return NULL;
}

/* The verb's next operand not yet given, or NULL. */
static const struct fo_ctl_opt *free_operand(const struct fo_ctl_verb *c, const struct parsed *p)
{
    for (const struct fo_ctl_opt *o = c->opts; o->key != NULL; o++)
        if (o->operand && p->value[o - c->opts] == NULL)
            return o;
    return NULL;
}

/*
 * Parse a command's own arguments against its table entries. Returns -1 when they are
 * fine, else the exit code to return now: 0 after --help, FO_CTL_EXIT_USAGE after a
 * message.
 */
static int parse_command(enum fo_admin_verb_id id, int argc, char **argv, struct parsed *p)
{
    const struct fo_admin_verb *v = &fo_admin_verbs[id];
    const struct fo_ctl_verb *c = &fo_ctl_verbs[id];

    memset(p, 0, sizeof(*p));
    p->verb = id;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const struct fo_ctl_opt *o;
        char name[FO_CTL_OPT_NAME_MAX];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fo_ctl_help_verb(stdout, id);
            return FO_CTL_EXIT_OK;
        }
        if (a[0] != '-' || a[1] == '\0') {
            o = free_operand(c, p);
            if (o == NULL) {
                fprintf(stderr,
                        "failoverctl: %s: unexpected argument '%s' (see failoverctl %s "
                        "--help)\n",
                        v->name, a, v->name);
                return FO_CTL_EXIT_USAGE;
            }
            p->value[o - c->opts] = a;
            continue;
        }
        o = find_opt(c, a, len);
        if (o == NULL || (o->metavar == NULL && eq != NULL)) {
            fprintf(stderr, "failoverctl: %s: unknown option '%s' (see failoverctl %s --help)\n",
                    v->name, a, v->name);
            return FO_CTL_EXIT_USAGE;
        }
        fo_ctl_opt_name(o, name, sizeof(name));
        if (o->metavar != NULL && eq == NULL && i + 1 >= argc) {
            fprintf(stderr, "failoverctl: %s: option '%s' needs a value (%s %s)\n", v->name, name,
                    name, o->metavar);
            return FO_CTL_EXIT_USAGE;
        }
        p->value[o - c->opts] = o->metavar == NULL ? "true" : eq != NULL ? eq + 1 : argv[++i];
    }
    for (const struct fo_ctl_opt *o = c->opts; o->key != NULL; o++) {
        const struct fo_admin_arg *a = fo_admin_verb_arg(v, o->key);
        if (a != NULL && a->required && p->value[o - c->opts] == NULL) {
            char name[FO_CTL_OPT_NAME_MAX];
            bool valued = o->metavar != NULL && !o->operand; /* "--to SITE", else "NAME" */
            fprintf(stderr, "failoverctl: %s: %s%s%s is required (see failoverctl %s --help)\n",
                    v->name, fo_ctl_opt_name(o, name, sizeof(name)), valued ? " " : "",
                    valued ? o->metavar : "", v->name);
            return FO_CTL_EXIT_USAGE;
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
    int id, used;

    if (argc == 0) {
        fo_ctl_help(stdout);
        return FO_CTL_EXIT_OK;
    }
    id = fo_ctl_verb_find(argc, argv, &used);
    if (argc > used || id < 0) {
        fprintf(stderr, "failoverctl: help: unknown command '%s' (see failoverctl --help)\n",
                argv[argc > used ? used : 0]);
        return FO_CTL_EXIT_USAGE;
    }
    fo_ctl_help_verb(stdout, (enum fo_admin_verb_id)id);
    return FO_CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'}, {"token-file", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"ca", required_argument, NULL, 'A'},     {"cert", required_argument, NULL, 'E'},
        {"key", required_argument, NULL, 'K'},    {NULL, 0, NULL, 0},
    };
    /* TLS (consensus/tls.h): with a CA every call verifies the node's certificate; an
     * operator certificate is optional (the token authenticates the operator). */
    struct fo_tls_files tls_files = {getenv("FAILOVERCTL_CA"), getenv("FAILOVERCTL_CERT"),
                                     getenv("FAILOVERCTL_KEY")};
    struct fo_tls tls = {0};
    struct ctl ctl = {.timeout_ms = 5000};
    const char *token_file = getenv("FAILOVERCTL_TOKEN_FILE");
    char *servers = NULL, *env_addr = getenv("FAILOVERCTL_ADDR");
    char *list; /* ours: the split address list, freed before returning */
    int verb, used;
    bool timeout_given = false;
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
        case 'A':
            tls_files.ca = optarg;
            break;
        case 'E':
            tls_files.cert = optarg;
            break;
        case 'K':
            tls_files.key = optarg;
            break;
        case 't': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end != '\0' || v == 0 || v > 600000) {
                fprintf(stderr, "failoverctl: --timeout: '%s' is not 1..600000 ms\n", optarg);
                return FO_CTL_EXIT_USAGE;
            }
            ctl.timeout_ms = (unsigned)v;
            timeout_given = true;
            break;
        }
        case 'h':
            fo_ctl_help(stdout);
            return FO_CTL_EXIT_OK;
        case 'V':
            printf("failoverctl %s\n", FO_VERSION);
            return FO_CTL_EXIT_OK;
        case ':':
            fprintf(stderr, "failoverctl: option '%s' needs a value (see failoverctl --help)\n",
                    argv[optind - 1]);
            return FO_CTL_EXIT_USAGE;
        default:
            if (optopt != 0)
                fprintf(stderr, "failoverctl: unknown option '-%c' (see failoverctl --help)\n",
                        optopt);
            else
                fprintf(stderr, "failoverctl: unknown option '%s' (see failoverctl --help)\n",
                        argv[optind - 1]);
            return FO_CTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fo_ctl_help(stderr);
        return FO_CTL_EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0)
        return help_command(argc - optind - 1, argv + optind + 1);
    verb = fo_ctl_verb_find(argc - optind, argv + optind, &used);
    if (verb < 0) {
        fprintf(stderr, "failoverctl: unknown command '%s' (see failoverctl --help)\n",
                argv[optind]);
        return FO_CTL_EXIT_USAGE;
    }
    if (!timeout_given && fo_ctl_verbs[verb].timeout_ms > ctl.timeout_ms)
        ctl.timeout_ms = fo_ctl_verbs[verb].timeout_ms;
    rc = parse_command((enum fo_admin_verb_id)verb, argc - optind - used, argv + optind + used, &p);
    if (rc >= 0)
        return rc;
    if (servers == NULL)
        servers = env_addr;
    if (servers == NULL || servers[0] == '\0') {
        fprintf(stderr, "failoverctl: no node address: use -s ADDR or FAILOVERCTL_ADDR\n");
        return FO_CTL_EXIT_USAGE;
    }
    list = strdup(servers);
    if (list == NULL || split_addrs(&ctl, list) != 0) {
        free(list);
        return FO_CTL_EXIT_USAGE;
    }
    /* A token that cannot be read is an authentication failure: the command would be
     * refused (and scripts treat 5 as "fix the credentials"). */
    if (token_file != NULL &&
        fo_secret_read_file(token_file, ctl.token, sizeof(ctl.token), &err) != 0) {
        fprintf(stderr, "failoverctl: token file: %s\n", err.msg);
        free(list);
        return FO_CTL_EXIT_AUTH;
    }
    if (tls_files.ca != NULL && tls_files.ca[0] != '\0') {
        if (fo_tls_init(&tls, &tls_files, ctl.timeout_ms, &err) != 0) {
            fprintf(stderr, "failoverctl: %s\n", err.msg);
            fo_secret_wipe(ctl.token, sizeof(ctl.token));
            free(list);
            return FO_CTL_EXIT_USAGE;
        }
        fo_admin_client_use_tls(&tls);
    }
    signal(SIGPIPE, SIG_IGN);
    rc = run_command(&ctl, &p);
    fo_tls_close(&tls);
    fo_secret_wipe(ctl.token, sizeof(ctl.token));
    free(list);
    return rc;
}
