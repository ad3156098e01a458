/*
 * coordinator/failoverctl.c — the admin CLI's entry point.
 *
 * For now it only answers --help and --version: the commands arrive with the Raft core
 * and operator issues (see README "Status"). Exit code 2 is a usage error (DESIGN §13).
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: failoverctl [-h|--help] [-V|--version]\n"
                 "       failoverctl [-s ADDR[,ADDR...]] [--token-file F] [--json] COMMAND\n"
                 "                   (commands are not implemented yet)\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("failoverctl %s\n", FO_VERSION);
        return 0;
    }
    usage(stderr);
    return 2;
}
