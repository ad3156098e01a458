/*
 * coordinator/failoverd.c — the failoverd daemon's entry point.
 *
 * For now it only answers --help and --version: the Raft core, probes and the plan
 * executor arrive with their issues (see README "Status").
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: failoverd [-h|--help] [-V|--version]\n"
                 "       failoverd -c node.yaml [--init]   (not implemented yet)\n"
                 "\n"
                 "failoverd is a Raft-replicated regional failover coordinator: one node per\n"
                 "region agrees on which site is primary and runs the failover plan only\n"
                 "after a majority committed the decision.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("failoverd %s\n", FO_VERSION);
        return 0;
    }
    usage(stderr);
    return 2;
}
