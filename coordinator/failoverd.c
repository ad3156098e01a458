/*
 * coordinator/failoverd.c — the daemon's entry point: arguments, process set-up, the
 * loop. Everything else lives in the daemon context (daemon.h).
 *
 * Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 1 runtime failure (Raft could not
 * start, the admin port is taken, a token file is unreadable...), 2 usage or
 * configuration error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "coordinator/config/config.h"
#include "coordinator/daemon.h"
#include "coordinator/recover.h"
#include "actions/http.h"
#include "coordinator/log.h"
#include "consensus/tls.h"
#include "coordinator/config/plan_check.h"
#include "coordinator/run/operations.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: failoverd -c node.yaml [--init] [--log-level LEVEL] [--log-format F]\n"
                 "       failoverd -c node.yaml --check-config\n"
                 "       failoverd -c node.yaml --recover NAME[,NAME...] [--yes-lose-data]\n"
                 "       failoverd [-h|--help] [-V|--version]\n"
                 "\n"
                 "failoverd is a Raft-replicated regional failover coordinator: one node per\n"
                 "region agrees on which site is primary and runs the failover plan only\n"
                 "after a majority committed the decision.\n"
                 "\n"
                 "  -c, --config FILE   this node's YAML configuration\n"
                 "      --init          create the cluster: run once on EVERY seed node (all\n"
                 "                      with the same peers) the first time; refused when the\n"
                 "                      data directory already holds a cluster. Never use it to\n"
                 "                      bring back a node that lost its disk: start that node\n"
                 "                      without --init and it rejoins through the leader.\n"
                 "      --check-config  validate the configuration (and the plan's actions and\n"
                 "                      parameters), print its digest, exit\n"
                 "      --recover NAMES after a majority is lost for good, on ONE stopped\n"
                 "                      survivor: make the named survivors (this node among\n"
                 "                      them) the only Raft voters. Prints what can be lost\n"
                 "                      (entries the old majority committed after this log's\n"
                 "                      last one) and writes nothing without --yes-lose-data.\n"
                 "                      Run it once, then start failoverd as usual; wipe the\n"
                 "                      lost nodes and members-add them (README).\n"
                 "      --yes-lose-data with --recover: do it\n"
                 "      --log-level L   debug, info (default), warn or error\n"
                 "      --log-format F  text (default: key=value) or json (one object a line)\n"
                 "\n"
                 "Logs go to stderr, one line per event, values escaped; under systemd with\n"
                 "their journald priority (journalctl -p warning). SIGTERM or SIGINT stops the\n"
                 "node cleanly (Raft flushed and closed). Exit codes: 0 clean stop, 1 runtime\n"
                 "failure, 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},     {"init", no_argument, NULL, 'I'},
        {"check-config", no_argument, NULL, 'C'},     {"log-level", required_argument, NULL, 'L'},
        {"log-format", required_argument, NULL, 'F'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {"recover", required_argument, NULL, 'R'},
        {"yes-lose-data", no_argument, NULL, 'Y'},    {NULL, 0, NULL, 0},
    };
    struct fo_daemon_options opts = {0};
    struct fo_daemon d;
    struct fo_error err = {0};
    uv_loop_t loop;
    bool check = false, yes_lose_data = false;
    const char *recover = NULL;
    int level = FO_LOG_INFO;
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            opts.config_path = optarg;
            break;
        case 'I':
            opts.init = true;
            break;
        case 'C':
            check = true;
            break;
        case 'R':
            recover = optarg;
            break;
        case 'Y':
            yes_lose_data = true;
            break;
        case 'L':
            level = fo_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr,
                        "failoverd: --log-level: '%s' is not debug, info, warn or "
                        "error\n",
                        optarg);
                return 2;
            }
            break;
        case 'F': {
            int format = fo_log_format_parse(optarg);
            if (format < 0) {
                fprintf(stderr, "failoverd: --log-format: '%s' is not text or json\n", optarg);
                return 2;
            }
            fo_log_set_format((enum fo_log_format)format);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("failoverd %s\n", FO_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || opts.config_path == NULL) {
        if (optind != argc)
            fprintf(stderr, "failoverd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (yes_lose_data && recover == NULL) {
        fprintf(stderr, "failoverd: --yes-lose-data goes with --recover\n");
        return 2;
    }
    if (recover != NULL) {
        if (opts.init || check) {
            fprintf(stderr,
                    "failoverd: --recover runs alone (not with --init or --check-config)\n");
            return 2;
        }
        return fo_recover_main(opts.config_path, recover, yes_lose_data, stdout, stderr);
    }
    if (check) {
        struct fo_config cfg;
        if (fo_config_load(opts.config_path, &cfg, &err) != 0 || fo_plan_check(&cfg, &err) != 0 ||
            (cfg.tls.mode == FO_TLS_MODE_ON &&
             fo_tls_check_files(&(struct fo_tls_files){.ca = cfg.tls.ca,
                                                       .cert = cfg.tls.cert,
                                                       .key = cfg.tls.key,
                                                       .crl = cfg.tls.crl},
                                &err) != 0)) {
            fprintf(stderr, "failoverd: %s\n", err.msg);
            fo_config_free(&cfg); /* a failed load leaves it zeroed: safe to free */
            return 2;
        }
        const struct fo_lease_params lp = fo_lease_params_of(&cfg);
        printf("%s: ok, node %s, %zu peers, %zu sites, digest %s\n", opts.config_path,
               cfg.self->name, cfg.npeers, cfg.nsites, cfg.digest);
        printf("tls: %s\n", cfg.tls.mode == FO_TLS_MODE_ON
                                ? "on (certificate, key and CA checked)"
                                : "OFF: raft and admin traffic in plain text");
        /* The write lease's budget (run/lease.h): what the safety argument rests on. */
        printf("write lease: renewed every %u ms, held %u ms from a granted round's send, "
               "fence within %u ms, clock rates within %.1f %%: a lapsed primary is fenced "
               "%u ms after its last granted round; a promote waits until its guardian "
               "confirmed the fence or a majority attests expiry, %llu ms after its last "
               "grant\n",
               lp.renew_ms, lp.lease_ms, lp.fence_budget_ms, lp.rate_margin_permille / 10.0,
               lp.lease_ms + lp.fence_budget_ms, (unsigned long long)fo_lease_attest_ms(&lp));
        fo_config_free(&cfg);
        return 0;
    }

    /* libuv writes to sockets with write(2): a peer that hung up must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* libcurl's global set-up is not thread-safe: once, before any thread starts. */
    if (fo_http_global_init() != 0) {
        fprintf(stderr, "failoverd: libcurl failed to initialise\n");
        return 1;
    }
    fo_log_setup(NULL, (enum fo_log_level)level);
    opts.log_level = level;
    /* libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise, read once at
     * its first use) runs the blocking actions (run/action_job.c) AND raft_uv's disk work:
     * segment preparation and, where the file system has no non-blocking direct I/O,
     * every append. A plan group of four slow actions (a notification waiting out its
     * 60 s timeout beside three others) would hold all four threads and no Raft entry
     * could be persisted meanwhile. 32 threads leave raft_uv room beside any plan; an
     * operator's own setting wins. */
    if (getenv("UV_THREADPOOL_SIZE") == NULL)
        setenv("UV_THREADPOOL_SIZE", "32", 0);
    uv_loop_init(&loop);
    if (fo_daemon_start(&d, &loop, &opts, &err) != 0) {
        /* Logged once, here, where it is handled. */
        fo_log_error("daemon.start", "error=\"%s\"", err.msg);
        fprintf(stderr, "failoverd: %s\n", err.msg);
    } else {
        fo_log_info("daemon.ready", "pid=%ld", (long)uv_os_getpid());
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = d.exit_code;
    fo_daemon_free(&d);
    if (uv_loop_close(&loop) != 0)
        fo_log_warn("daemon.exit", "reason=\"a libuv handle was still open\"");
    return rc;
}
