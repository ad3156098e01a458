/*
 * coordinator/ctl/ctl_help.c — see ctl_help.h.
 */
#include "coordinator/ctl/ctl_help.h"

#include <stdio.h>

#include "coordinator/ctl/verbs.h"

void fo_ctl_help_verb(FILE *out, enum fo_admin_verb_id id)
{
    const struct fo_admin_verb *v = &fo_admin_verbs[id];
    const struct fo_ctl_verb *c = &fo_ctl_verbs[id];
    char synopsis[160];

    fo_ctl_verb_synopsis(id, synopsis, sizeof(synopsis));
    fprintf(out, "usage: failoverctl [GLOBAL OPTIONS] %s%s%s\n\n%s\n", v->name,
            synopsis[0] ? " " : "", synopsis, c->about);
    if (c->opts[0].key != NULL)
        fprintf(out, "\noptions:\n");
    /* Operands first, then options, in table order. */
    for (int operands = 1; operands >= 0; operands--) {
        for (const struct fo_ctl_opt *o = c->opts; o->key != NULL; o++) {
            const struct fo_admin_arg *a = fo_admin_verb_arg(v, o->key);
            char name[FO_CTL_OPT_NAME_MAX], lhs[48];

            if (o->operand != (operands == 1))
                continue;
            fo_ctl_opt_name(o, name, sizeof(name));
            snprintf(lhs, sizeof(lhs), "%s%s%s", name, o->metavar && !o->operand ? " " : "",
                     o->metavar && !o->operand ? o->metavar : "");
            fprintf(out, "  %-22s %s%s\n", lhs, o->help,
                    !o->operand && a != NULL && a->required ? " (required)" : "");
        }
    }
    fprintf(out, "  %-22s %s\n", "-h, --help", "this help");
    fprintf(out, "\ntoken: %s\nexit codes:\n",
            v->role != FO_ROLE_READ
                ? (v->role == FO_ROLE_OPERATE
                       ? "one with the operate or admin role, or the admin token"
                       : "one with the admin role, or the admin token")
                : "any operator's (role read, operate or admin), or the read-only token");
    for (int code = 0; code < FO_CTL_NEXITS; code++)
        if (c->exits & (1u << code))
            fprintf(out, "  %d  %s%s\n", code, fo_ctl_exit_meaning[code],
                    code == FO_CTL_EXIT_AUTH && v->role != FO_ROLE_READ
                        ? ", or the token's role is too low"
                        : "");
}

void fo_ctl_help(FILE *out)
{
    fprintf(out, "usage: failoverctl [-s ADDR[,ADDR...]] [--token-file F] [--json] [--timeout MS]\n"
                 "                   COMMAND [ARGS]\n"
                 "       failoverctl COMMAND --help | help COMMAND\n"
                 "       failoverctl [-h|--help] [-V|--version]\n"
                 "\n"
                 "commands (and the role their token needs):\n");
    for (int id = 0; id < FO_VERB_COUNT; id++)
        if (!fo_admin_verbs[id].internal)
            fprintf(out, "  %-14s %-7s  %s\n", fo_admin_verbs[id].name,
                    fo_admin_role_names[fo_admin_verbs[id].role], fo_ctl_verbs[id].summary);
    fprintf(out,
            "\n"
            "  -s, --server ADDR[,ADDR...]  admin addresses of the nodes (a.b.c.d:port),\n"
            "                               tried in order; default $FAILOVERCTL_ADDR\n"
            "      --token-file F           your token (or the admin or read-only token); default\n"
            "                               $FAILOVERCTL_TOKEN_FILE\n"
            "      --json                   print JSON for scripts instead of a table\n"
            "      --timeout MS             per request (default 5000)\n"
            "      --ca F                   verify the nodes' TLS certificates with this\n"
            "                               cluster CA (and talk TLS); $FAILOVERCTL_CA\n"
            "      --cert F --key F         an operator certificate (deploy/make-certs\n"
            "                               --operator); $FAILOVERCTL_CERT, _KEY\n"
            "\n"
            "A node that is not the leader points failoverctl at the leader, which it then\n"
            "asks. A token's role (admin.tokens_file) is read, operate or admin, each allowing\n"
            "what the ones before it do; the admin token has them all unless a tokens file\n"
            "is configured, the read-only token has read.\n"
            "Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 no leader or no\n"
            "quorum reachable, 4 refused by policy, 5 authentication failed.\n");
}
