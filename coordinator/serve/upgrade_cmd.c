/*
 * coordinator/serve/upgrade_cmd.c — see upgrade_cmd.h.
 */
#include "coordinator/serve/upgrade_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "consensus/members.h"
#include "coordinator/clock.h"
#include "coordinator/ctl/admin_client.h"
#include "coordinator/log.h"
#include "coordinator/serve/commands.h"

#define SERVERS_MAX 32 /* servers of a Raft configuration asked (FO_CONFIG_MAX_PEERS is 9) */

void fo_upgrade_cmd_version(struct fo_serve *s, struct fo_admin_call *call,
                            const struct fo_admin_req *req)
{
    json_t *o = json_object();
    (void)req;
    json_object_set_new(o, "version", json_string(FO_VERSION));
    json_object_set_new(o, "reads_min", json_integer(FO_PROTO_VERSION_MIN));
    json_object_set_new(o, "reads_max", json_integer(FO_PROTO_VERSION));
    json_object_set_new(o, "cluster", json_integer(fo_state_format(fo_node_state(s->node))));
    fo_commands_reply_json(call, o);
}

/* One upgrade-finish: the servers asked, their answers, and the call to answer. Freed
 * when the last client has been freed (refs). */
struct round {
    struct fo_serve *s;
    struct fo_admin_call *call;
    unsigned target;
    int pending; /* clients whose answer has not come */
    int refs;    /* clients not yet freed, + 1 until every call was started */
    size_t n;
    struct {
        char name[FO_NAME_MAX + 1];
        char why[160]; /* empty: it reads target */
    } node[SERVERS_MAX];
    char by[FO_NAME_MAX + 1];
};

struct ask {
    struct fo_admin_client client;
    struct round *r;
    size_t i;
};

static void round_unref(struct round *r)
{
    if (--r->refs == 0)
        free(r);
}

/* Every answer is in: propose, or refuse naming who is behind. */
static void round_decide(struct round *r)
{
    char text[FO_TEXT_MAX];
    size_t used = 0;
    struct fo_cmd cmd = {.type = FO_CMD_FORMAT};
    char ok[96];

    for (size_t i = 0; i < r->n; i++) {
        int k;
        if (r->node[i].why[0] == '\0')
            continue;
        k = snprintf(text + used, sizeof(text) - used, "%s%s: %s", used ? "; " : "",
                     r->node[i].name, r->node[i].why);
        if (k < 0 || (size_t)k >= sizeof(text) - used)
            break; /* cut: still terminated */
        used += (size_t)k;
    }
    if (*r->s->stopping) {
        fo_admin_call_replyf(r->call, FO_REPLY_INTERNAL, "the node is shutting down");
        return;
    }
    if (used > 0) {
        fo_log_warn("upgrade.refused", "format=%u behind=\"%s\"", r->target, text);
        fo_admin_call_replyf(r->call, FO_REPLY_REFUSED,
                             "not every node reads format v%u yet (upgrade them, then run this "
                             "again): %s",
                             r->target, text);
        return;
    }
    cmd.u.format.format = r->target;
    cmd.u.format.by = r->by;
    cmd.u.format.at_ms = fo_clock_wall_ms();
    snprintf(ok, sizeof(ok), "the cluster format is now v%u (it never goes back)", r->target);
    fo_log_info("upgrade.finish", "format=%u by=\"%s\" servers=%zu", r->target, r->by, r->n);
    fo_commands_propose(r->s, r->call, &cmd, ok);
}

static void asked(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                  const char *error)
{
    struct ask *a = c->data;
    struct round *r = a->r;
    char *why = r->node[a->i].why;
    size_t cap = sizeof(r->node[a->i].why);
    json_t *doc = NULL, *max, *ver;

    if (status != 0) {
        snprintf(why, cap, "did not answer (%s)", error);
    } else if (rep->code == FO_REPLY_BAD_REQUEST) {
        /* A release without the `version` verb: 0.1.0 or older, which reads v3 at most. */
        snprintf(why, cap, "does not know `version`: it runs failoverd 0.1.0 or older");
    } else if (rep->code != FO_REPLY_OK || rep->body == NULL ||
               (doc = json_loads(rep->body, 0, NULL)) == NULL) {
        snprintf(why, cap, "answered %s: %s", fo_enum_name(fo_reply_code_names, rep->code),
                 rep->message != NULL ? rep->message : "(no JSON body)");
    } else if (!json_is_integer(max = json_object_get(doc, "reads_max"))) {
        snprintf(why, cap, "answered without reads_max");
    } else if (json_integer_value(max) < (json_int_t)r->target) {
        ver = json_object_get(doc, "version");
        snprintf(why, cap, "reads v%lld at most (failoverd %s)", (long long)json_integer_value(max),
                 json_is_string(ver) ? json_string_value(ver) : "?");
    }
    json_decref(doc);
    if (--r->pending == 0)
        round_decide(r);
}

static void ask_free(struct fo_admin_client *c)
{
    struct ask *a = c->data;
    struct round *r = a->r;
    free(a);
    round_unref(r);
}

void fo_upgrade_cmd_finish(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req)
{
    struct fo_member m[SERVERS_MAX];
    size_t n;
    struct round *r;
    struct fo_admin_req ask = {.cmd = "version", .token = (char *)s->ops->h.admin_token};
    unsigned cur = fo_state_format(fo_node_state(s->node));
    (void)req;

    if (!fo_node_ready(s->node)) {
        fo_commands_not_leader(s, call);
        return;
    }
    if (cur >= FO_PROTO_VERSION) {
        fo_admin_call_replyf(call, FO_REPLY_OK,
                             "the cluster format is already v%u: nothing to finish", cur);
        return;
    }
    n = fo_node_members(s->node, m, SERVERS_MAX);
    if (n == 0 || n > SERVERS_MAX || (r = calloc(1, sizeof(*r))) == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_INTERNAL, "cannot list the Raft configuration");
        return;
    }
    r->s = s;
    r->call = call;
    r->target = FO_PROTO_VERSION;
    r->n = n;
    r->refs = 1;
    r->pending = 1; /* this function's own, dropped once every call has started */
    snprintf(r->by, sizeof(r->by), "%s", fo_admin_call_who(call)->name);
    for (size_t i = 0; i < n; i++) {
        const struct fo_peer *p = fo_config_peer_by_id(s->cfg, m[i].id);
        struct ask *a;

        if (p != NULL)
            snprintf(r->node[i].name, sizeof(r->node[i].name), "%s", p->name);
        else
            snprintf(r->node[i].name, sizeof(r->node[i].name), "server %llu",
                     (unsigned long long)m[i].id);
        if (p == s->cfg->self)
            continue; /* this binary: it reads FO_PROTO_VERSION */
        if (p == NULL) {
            snprintf(r->node[i].why, sizeof(r->node[i].why),
                     "not in this node's config: no admin address to ask");
            continue;
        }
        a = calloc(1, sizeof(*a));
        if (a == NULL) {
            snprintf(r->node[i].why, sizeof(r->node[i].why), "out of memory asking it");
            continue;
        }
        a->r = r;
        a->i = i;
        a->client.data = a;
        r->pending++;
        r->refs++;
        if (fo_admin_client_call(&a->client, s->ops->h.loop, p->admin, &ask, FO_UPGRADE_ASK_MS,
                                 asked, ask_free) != 0) {
            r->pending--;
            r->refs--;
            free(a);
            snprintf(r->node[i].why, sizeof(r->node[i].why), "cannot ask %s", p->admin);
        }
    }
    if (--r->pending == 0)
        round_decide(r);
    round_unref(r);
}
