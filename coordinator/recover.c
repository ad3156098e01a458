/*
 * coordinator/recover.c — see recover.h.
 */
#include "coordinator/recover.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "consensus/recover.h"
#include "coordinator/config/addr.h"
#include "coordinator/config/config.h"

/* Whether something (this node's daemon) holds addr: a bind fails with EADDRINUSE. */
static bool address_taken(const char *addr)
{
    struct sockaddr_storage sa;
    uv_loop_t loop;
    uv_tcp_t tcp;
    bool taken;

    if (fo_addr_parse(addr, &sa, NULL) != FO_ADDR_OK)
        return false;
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &tcp);
    taken = uv_tcp_bind(&tcp, (const struct sockaddr *)&sa, 0) == UV_EADDRINUSE ||
            uv_listen((uv_stream_t *)&tcp, 1, NULL) == UV_EADDRINUSE;
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return taken;
}

static const char *role_name(int role)
{
    static const char *const names[] = {"standby", "voter", "spare"};
    return role >= 0 && role <= 2 ? names[role] : "?";
}

/* The survivors named in list (comma-separated peer names) into out; returns how many,
 * or -1 after a message. */
static int parse_survivors(const struct fo_config *cfg, const char *list, struct fo_node_peer *out,
                           size_t cap, FILE *err_out)
{
    char *copy = strdup(list), *save = NULL;
    int n = 0;

    if (copy == NULL)
        return -1;
    for (char *name = strtok_r(copy, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        const struct fo_peer *p = fo_config_peer_by_name(cfg, name);
        if (p == NULL || (size_t)n == cap) {
            fprintf(err_out, "failoverd: --recover: '%s' is not a peer of the config\n", name);
            free(copy);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (out[i].id == p->id) {
                fprintf(err_out, "failoverd: --recover: '%s' is named twice\n", name);
                free(copy);
                return -1;
            }
        }
        out[n++] = (struct fo_node_peer){p->id, p->raft, p->name};
    }
    free(copy);
    return n;
}

int fo_recover_main(const char *config_path, const char *survivors, bool yes_lose_data, FILE *out,
                    FILE *err_out)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    struct fo_node_peer keep[FO_CONFIG_MAX_PEERS];
    struct fo_recover_report rep;
    char dir[4200];
    int n, rc = 2;
    bool self = false;

    if (fo_config_load(config_path, &cfg, &err) != 0) {
        fprintf(err_out, "failoverd: %s\n", err.msg);
        fo_config_free(&cfg);
        return 2;
    }
    n = parse_survivors(&cfg, survivors, keep, FO_CONFIG_MAX_PEERS, err_out);
    for (int i = 0; i < n; i++)
        self |= keep[i].id == cfg.self->id;
    if (n <= 0) {
        goto done;
    } else if (!self) {
        fprintf(err_out, "failoverd: --recover: run it on one of the survivors (%s is not named)\n",
                cfg.self->name);
        goto done;
    }
    if (address_taken(cfg.self->raft)) {
        fprintf(err_out,
                "failoverd: --recover: %s (this node's Raft address) is in use: stop this "
                "node's failoverd first (and every other survivor's)\n",
                cfg.self->raft);
        goto done;
    }
    snprintf(dir, sizeof(dir), "%s/raft", cfg.data_dir);
    if (fo_recover_inspect(dir, cfg.self->id, cfg.self->raft, &rep, &err) != 0) {
        fprintf(err_out, "failoverd: --recover: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    fprintf(out,
            "%s holds term %llu; its log ends at index %llu (term %llu)%s.\n"
            "Its Raft configuration (index %llu):",
            dir, (unsigned long long)rep.term, (unsigned long long)rep.last_index,
            (unsigned long long)rep.last_term, rep.snapshot_index ? ", after a snapshot" : "",
            (unsigned long long)rep.config_index);
    for (size_t i = 0; i < rep.nservers; i++) {
        const struct fo_peer *p = fo_config_peer_by_id(&cfg, rep.servers[i].id);
        fprintf(out, " %s(id %llu, %s)", p != NULL ? p->name : "?",
                (unsigned long long)rep.servers[i].id, role_name(rep.servers[i].role));
    }
    fprintf(out, "\nThe new one: only");
    for (int i = 0; i < n; i++)
        fprintf(out, " %s(id %llu)", keep[i].name, (unsigned long long)keep[i].id);
    fprintf(out,
            ".\nWHAT CAN BE LOST: every entry the old majority committed after index %llu (this "
            "node never\nreceived it: a later failover, pause or verdict), and anything only "
            "the lost nodes stored.\nThe cluster's state becomes what this log holds. The lost "
            "nodes must NEVER start again\nwith their data (they would elect a leader of their "
            "own): wipe them, then add them back\nwith failoverctl members-add.\n",
            (unsigned long long)rep.last_index);
    if (rep.last_index == 0) {
        fprintf(err_out, "failoverd: --recover: %s holds no log: nothing to recover\n", dir);
        goto done;
    }
    if (!yes_lose_data) {
        fprintf(err_out, "failoverd: --recover: nothing was written: run again with "
                         "--yes-lose-data to recover\n");
        goto done;
    }
    if (fo_recover_apply(dir, cfg.self->id, cfg.self->raft, keep, (size_t)n, &err) != 0) {
        fprintf(err_out, "failoverd: --recover: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    fprintf(out,
            "Recovered: the Raft configuration is now the %d survivor(s) named. Copy %s to the "
            "other\nsurvivors (if any), start failoverd as usual (without --recover), then "
            "members-add new nodes.\n",
            n, dir);
    rc = 0;
done:
    fo_config_free(&cfg);
    return rc;
}
