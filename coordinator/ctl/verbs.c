/*
 * coordinator/ctl/verbs.c — see verbs.h.
 */
#include "coordinator/ctl/verbs.h"

#include <stdio.h>
#include <string.h>

#define X(c) (1u << (c))
#define READ_EXITS                                                                                 \
    (X(FO_CTL_EXIT_OK) | X(FO_CTL_EXIT_USAGE) | X(FO_CTL_EXIT_NO_QUORUM) | X(FO_CTL_EXIT_AUTH))
#define ADMIN_EXITS (READ_EXITS | X(FO_CTL_EXIT_FAILED))
/* An operation is gated by policy (health, RPO, cooldown, pause): it can be refused. */
#define OP_EXITS (ADMIN_EXITS | X(FO_CTL_EXIT_REFUSED))

const char *const fo_ctl_exit_meaning[FO_CTL_NEXITS] = {
    [FO_CTL_EXIT_OK] = "ok",
    [FO_CTL_EXIT_FAILED] = "the operation failed",
    [FO_CTL_EXIT_USAGE] = "usage error",
    [FO_CTL_EXIT_NO_QUORUM] = "no leader or no quorum reachable",
    [FO_CTL_EXIT_REFUSED] = "refused by policy",
    [FO_CTL_EXIT_AUTH] = "authentication failed (wrong token, token file unreadable)",
};

#define DRY_RUN_HELP "decide and print the plan; change nothing (exit 4: would be refused)"
#define REASON_HELP  "why, recorded in the operation"
/* --wait / --no-wait (ctl_watch.h): failoverctl's own, not sent. */
#define WAIT_OPTS                                                                                  \
    {"wait", NULL, "follow each step; exit with the outcome (default on a terminal)", false,       \
     true},                                                                                        \
    {                                                                                              \
        "no_wait", NULL, "return once it is committed (default when not on a terminal)", false,    \
            true                                                                                   \
    }

const struct fo_ctl_verb fo_ctl_verbs[FO_VERB_COUNT] = {
    [FO_VERB_STATUS] =
        {.summary = "leader, primary site, epoch, nodes, operation, verdicts",
         .about = "The leader's view (failoverctl follows a follower to the leader): nodes, the "
                  "decision\n"
                  "and why, the operation in flight, this node's checks and the committed "
                  "verdicts.\n"
                  "Exit 3 (after printing) when no leader is known: no decision can be made.",
         .exits = READ_EXITS,
         .leader_view = true,
         .table = fo_output_status},
    [FO_VERB_MEMBERS] =
        {.summary = "Raft members as the leader sees them: role, reachable",
         .about = "Every node of the cluster with its region, Raft address, role (leader or "
                  "follower),\n"
                  "whether the leader hears from it and how far it has applied the log. Asked of "
                  "the\n"
                  "leader; without one, the node that answers cannot know reachable and applied "
                  "(?).",
         .exits = READ_EXITS,
         .table = fo_output_members},
    [FO_VERB_HISTORY] =
        {.summary = "finished operations and notable events, newest first",
         .about = "Finished operations (failovers, switchovers, drills) and events (pause, "
                  "resume,\n"
                  "cooldown, rejected commands), newest first, from the leader's replicated state.",
         .exits = READ_EXITS,
         .opts = {{"limit", "N", "at most N operations and N events (default 20)"}},
         .table = fo_output_history},
    [FO_VERB_REPORT] =
        {.summary = "an operation's incident timeline and the RTO achieved",
         .about = "The incident report of one operation (default: the one in flight, else the "
                  "latest):\n"
                  "who asked and why, each step's timing and error, the timeline, the RTO "
                  "achieved\n"
                  "against the plan's target.",
         .exits = READ_EXITS,
         .opts = {{"id", "OPERATION", "an operation id (failoverctl history)", true}},
         .table = fo_output_report},
    [FO_VERB_PAUSE] =
        {.summary = "maintenance: no automatic failover (replicated)",
         .about = "Stop automatic failover on every node until resume; status shows who paused "
                  "(user@host)\n"
                  "and why. Operator failovers and switchovers still run.",
         .exits = ADMIN_EXITS,
         .opts = {{"reason", "TEXT", "why, shown by status and history"}}},
    [FO_VERB_RESUME] =
        {.summary = "automatic failover again",
         .about = "Let the leader fail over automatically again (the cooldown still applies).",
         .exits = ADMIN_EXITS},
    [FO_VERB_FAILOVER] =
        {.summary = "operator failover; health and RPO gates unless --force",
         .about = "Make SITE the primary now, without waiting for the primary to be seen DOWN: "
                  "one\n"
                  "op_begin committed (epoch + 1), then the plan. The target must be healthy and "
                  "within\n"
                  "the RPO gate unless --force; --dry-run prints the decision, the lags and the "
                  "plan.",
         .exits = OP_EXITS,
         .opts = {{"to", "SITE", "the site to promote"},
                  {"force", NULL, "skip the health and RPO gates (may lose data; asks to confirm)"},
                  {"dry_run", NULL, DRY_RUN_HELP},
                  {"reason", "TEXT", REASON_HELP},
                  WAIT_OPTS,
                  {"yes", NULL, "with --force: do not ask to confirm", false, true}},
         .table = fo_output_dry_run},
    [FO_VERB_SWITCHOVER] =
        {.summary = "planned move without data loss (fence, catch up, promote)",
         .about = "The planned, no-data-loss move of the primary to SITE: the old primary is "
                  "fenced, the\n"
                  "target promoted only once it has replayed everything. Refused when SITE is "
                  "unhealthy\n"
                  "or lagging, or when the primary is not seen up (there is no --force); "
                  "--dry-run\n"
                  "prints the decision and the plan.",
         .exits = OP_EXITS,
         .opts = {{"to", "SITE", "the site to move the primary to"},
                  {"dry_run", NULL, DRY_RUN_HELP},
                  {"reason", "TEXT", REASON_HELP},
                  WAIT_OPTS},
         .table = fo_output_dry_run},
    [FO_VERB_DRILL] =
        {.summary = "the whole plan in check mode; changes nothing",
         .about = "The monthly failover simulation: every step of the plan checks its "
                  "credentials and\n"
                  "preconditions against SITE (default: the primary), timed, and changes nothing. "
                  "With\n"
                  "--wait, follow it to its end; else with failoverctl status, then failoverctl "
                  "report.",
         .exits = OP_EXITS,
         .opts = {{"to", "SITE", "the site a failover would promote"}, WAIT_OPTS}},
    [FO_VERB_REJOIN] =
        {.summary = "re-seed a former primary site as a standby of the primary",
         .about = "Bring SITE, the primary before a failover, back as a standby: its Redis "
                  "becomes a replica\n"
                  "of the primary's, its Postgres is re-seeded by its rejoin_command (pg_rewind, "
                  "else a base\n"
                  "backup) and verified streaming. Refused (exit 4) while SITE's servers still "
                  "take writes\n"
                  "(not fenced), for the primary itself, or while an operation runs. Then "
                  "switchover --to SITE.",
         .exits = OP_EXITS,
         .opts = {{"site", "SITE", "the former primary site to re-seed", true},
                  {"reason", "TEXT", REASON_HELP},
                  WAIT_OPTS},
         .timeout_ms = 30000},
    [FO_VERB_MEMBERS_ADD] =
        {.summary = "make a node of the config a Raft voter (also: members add)",
         .about = "NODE (a peer of the leader's config, started without --init on an empty "
                  "data_dir)\n"
                  "joins the Raft configuration: spare, then standby until it has caught up, "
                  "then voter.\n"
                  "Refused while another change is in flight or when the voters the leader "
                  "hears from\n"
                  "would not be a majority; the answer comes once it is a voter (or why not).",
         .exits = OP_EXITS,
         .opts = {{"node", "NODE", "the peer's name in the config", true},
                  {"raft", "ADDR", "its Raft address: must match the leader's config"}},
         .timeout_ms = 90000},
    [FO_VERB_MEMBERS_REMOVE] =
        {.summary = "take a node out of the Raft configuration (also: members remove)",
         .about = "NODE (a peer's name, or the Raft id of a server no config line names) "
                  "loses its vote\n"
                  "(demoted to standby first, so that it knows) and leaves the Raft "
                  "configuration.\n"
                  "Refused for the leader (leadership then moves: run it again), while another "
                  "change is\n"
                  "in flight, and when the reachable voters left would not be a majority.",
         .exits = OP_EXITS,
         .opts = {{"node", "NODE", "the peer's name (or its Raft id)", true}},
         .timeout_ms = 30000},
    [FO_VERB_UPGRADE_FINISH] =
        {.summary = "raise the cluster format once every node runs the new release "
                    "(also: upgrade finish)",
         .about = "The last step of a rolling upgrade (README, Upgrading): the leader asks "
                  "every server\n"
                  "of the Raft configuration which formats its binary reads, and only when all "
                  "read the\n"
                  "newest one commits it as the cluster format; until then every node writes "
                  "what the\n"
                  "previous release reads. Refused, naming each node that is behind, otherwise. "
                  "There\n"
                  "is no way back: a downgrade restores the previous release's snapshot.",
         .exits = OP_EXITS,
         .timeout_ms = 30000},
    /* FO_VERB_PROPOSE, FO_VERB_LEASE, FO_VERB_VERSION: node to node only
     * (fo_admin_verbs[].internal). */
};

int fo_ctl_verb_find(int argc, char **argv, int *used)
{
    int id = -1;

    *used = 1;
    if (argc >= 2) {
        char two[2 * FO_CMD_NAME_MAX + 2];
        snprintf(two, sizeof(two), "%s-%s", argv[0], argv[1]);
        id = fo_admin_verb_find(two);
        if (id >= 0)
            *used = 2;
    }
    if (id < 0 && argc >= 1)
        id = fo_admin_verb_find(argv[0]);
    return id >= 0 && !fo_admin_verbs[id].internal ? id : -1;
}

const char *fo_ctl_opt_name(const struct fo_ctl_opt *o, char *buf, size_t cap)
{
    size_t n;

    if (o->operand) {
        snprintf(buf, cap, "%s", o->metavar);
        return buf;
    }
    snprintf(buf, cap, "--%s", o->key);
    for (n = 2; buf[n] != '\0'; n++)
        if (buf[n] == '_')
            buf[n] = '-';
    return buf;
}

const char *fo_ctl_verb_synopsis(enum fo_admin_verb_id id, char *buf, size_t cap)
{
    const struct fo_admin_verb *v = &fo_admin_verbs[id];
    size_t used = 0;

    buf[0] = '\0';
    /* Two passes: options in table order, then operands. */
    for (int operands = 0; operands <= 1; operands++) {
        for (const struct fo_ctl_opt *o = fo_ctl_verbs[id].opts; o->key != NULL; o++) {
            const struct fo_admin_arg *a = fo_admin_verb_arg(v, o->key);
            bool required = a != NULL && a->required;
            char name[FO_CTL_OPT_NAME_MAX];
            int k;

            if (o->operand != (operands == 1))
                continue;
            fo_ctl_opt_name(o, name, sizeof(name));
            k = snprintf(buf + used, cap - used, "%s%s%s%s%s%s", used ? " " : "",
                         required ? "" : "[", name, o->metavar && !o->operand ? " " : "",
                         o->metavar && !o->operand ? o->metavar : "", required ? "" : "]");
            if (k < 0 || (size_t)k >= cap - used)
                return buf; /* cut: snprintf left it terminated */
            used += (size_t)k;
        }
    }
    return buf;
}
