/*
 * coordinator/ctl/verbs.h — failoverctl's side of the admin verbs (DESIGN §9, §13). The
 * verbs themselves (name, token role, whether they change the cluster, their request
 * arguments) are proto/admin.h's fo_admin_verbs, which the server dispatches on too;
 * this table adds, per verb and indexed by the same enum fo_admin_verb_id, what only
 * the CLI needs: how each argument is given on the command line, the help texts, the
 * exit codes, and the renderer of the reply body. Parsing, `--help`, `help VERB`, the
 * usage list and the choice of renderer all read it; nothing else spells a verb.
 *
 * Option names are the argument keys with "--" and '-' for '_' ("dry_run" is
 * --dry-run); whether an option is required or a flag is the argument's (admin.h).
 * Usage lines are derived from the options (fo_ctl_verb_synopsis). A few options are the
 * CLI's own (local: --wait, --no-wait, --yes) and are not request arguments.
 *
 * A verb named "members-add" may also be typed as two words, "members add"
 * (fo_ctl_verb_find).
 *
 * Constant data and pure functions; any thread.
 */
#ifndef FO_COORDINATOR_CTL_VERBS_H
#define FO_COORDINATOR_CTL_VERBS_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/ctl/output.h"
#include "proto/admin.h"

/* failoverctl's exit codes; scripts rely on them (DESIGN §13). */
enum fo_ctl_exit {
    FO_CTL_EXIT_OK = 0,
    FO_CTL_EXIT_FAILED = 1,    /* the operation failed */
    FO_CTL_EXIT_USAGE = 2,     /* usage error */
    FO_CTL_EXIT_NO_QUORUM = 3, /* no leader or no quorum reachable */
    FO_CTL_EXIT_REFUSED = 4,   /* refused by policy */
    FO_CTL_EXIT_AUTH = 5,      /* authentication failed */
    FO_CTL_NEXITS
};

/* What each exit code means, for help texts. */
extern const char *const fo_ctl_exit_meaning[FO_CTL_NEXITS];

/* How the CLI offers one request argument of the verb. */
struct fo_ctl_opt {
    const char *key;     /* the argument it fills (fo_admin_verb_arg(verb, key)) */
    const char *metavar; /* "SITE", "N"; NULL for a flag */
    const char *help;    /* one line */
    bool operand;        /* a positional argument (report's OPERATION), not --key */
    bool local;          /* failoverctl's own (--wait, --yes): never sent to the node */
};

#define FO_CTL_OPT_NAME_MAX 32

struct fo_ctl_verb {
    const char *summary; /* one line, for failoverctl --help */
    const char *about;   /* two to four lines, for failoverctl VERB --help */
    unsigned exits;      /* 1 << code for each exit code the verb can return */
    /* The answering node's own view is partial when it is a follower: ask the leader it
     * names; and no leader known is exit 3 (status). */
    bool leader_view;
    /* Every argument but the requester, which the CLI fills in itself; ends with {NULL}. */
    const struct fo_ctl_opt opts[FO_VERB_ARGS_MAX + 1];
    fo_output_fn table; /* the table for people, or NULL: --json output always */
    /* The reply comes only once a change has run its course (a new server catching up):
     * failoverctl waits this long unless --timeout says otherwise. 0: the default. */
    unsigned timeout_ms;
};

/* Indexed by enum fo_admin_verb_id; internal verbs have an empty entry. */
extern const struct fo_ctl_verb fo_ctl_verbs[FO_VERB_COUNT];

/* The verb failoverctl offers for the words argv[0] (and argv[1]: "members add" is
 * members-add), or -1 (also for internal verbs); *used says how many words it took. */
int fo_ctl_verb_find(int argc, char **argv, int *used);

/* The option's name, "--dry-run", in buf (FO_CTL_OPT_NAME_MAX bytes); returns buf. For
 * an operand, its metavar. */
const char *fo_ctl_opt_name(const struct fo_ctl_opt *o, char *buf, size_t cap);

/* The verb's usage after its name: "--to SITE [--force] [--dry-run] [--reason TEXT]"
 * (in table order, required options bare and optional ones bracketed, operands last;
 * "" for none).
 * Written to buf (cap bytes, cut if too small); returns buf. */
const char *fo_ctl_verb_synopsis(enum fo_admin_verb_id id, char *buf, size_t cap);

#endif
