/*
 * coordinator/daemon_members.c — the daemon's side of Raft membership (consensus/members.h):
 * what a node logs about its standing at start, and how a node that was removed stops
 * for good. Declared in daemon.h ("between daemon.c and its parts").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "consensus/members.h"
#include "coordinator/daemon.h"
#include "coordinator/log.h"

/* The marker file of a removed node, in its Raft directory (libraft ignores files it
 * does not know): emptying the directory to re-add the node removes it too. */
static void removed_marker(const struct fo_config *cfg, char *path, size_t cap)
{
    snprintf(path, cap, "%s/raft/removed", cfg->data_dir);
}

static void mark_removed(struct fo_daemon *d)
{
    char path[4200];
    FILE *f;

    removed_marker(&d->cfg, path, sizeof(path));
    f = fopen(path, "w");
    if (f == NULL) {
        fo_log_warn("raft.removed", "marker=%s error=\"%s\"", path, strerror(errno));
        return;
    }
    fprintf(f,
            "node %s (id %llu) was removed from the Raft configuration.\n"
            "Empty this directory before `failoverctl members-add %s`.\n",
            d->cfg.self->name, (unsigned long long)d->cfg.self->id, d->cfg.self->name);
    fclose(f);
}

int fo_daemon_removed_refuse(struct fo_daemon *d, struct fo_error *err)
{
    char path[4200];

    removed_marker(&d->cfg, path, sizeof(path));
    if (access(path, F_OK) != 0)
        return 0;
    d->exit_code = 2;
    return fo_error_set(err, 2,
                        "node %s was removed from the Raft configuration (%s exists): it "
                        "does not start on that data. To bring it back, empty %s/raft and "
                        "run `failoverctl members-add %s` on the cluster",
                        d->cfg.self->name, path, d->cfg.data_dir, d->cfg.self->name);
}

/* The Raft configuration, not the config file, says who votes (consensus/members.h). A
 * node whose own log says it was removed refuses to run (exit 2: systemd does not restart
 * it), rather than sit as a silent follower nobody talks to. */
int fo_daemon_membership_check(struct fo_daemon *d, const char *dir, struct fo_error *err)
{
    int standing = fo_node_member_standing(&d->node);
    int role = fo_node_member_role(&d->node, d->cfg.self->id);

    if (standing == FO_STANDING_REMOVED) {
        d->exit_code = 2;
        return fo_error_set(err, 2,
                            "node %s (id %llu) is not in the Raft configuration stored in %s: "
                            "it was removed (failoverctl members-remove). To bring it back, "
                            "empty that directory and run `failoverctl members-add %s` on "
                            "the cluster",
                            d->cfg.self->name, (unsigned long long)d->cfg.self->id, dir,
                            d->cfg.self->name);
    }
    if (standing == FO_STANDING_WAITING)
        fo_log_info("raft.membership",
                    "standing=waiting hint=\"not in any Raft configuration "
                    "yet: run `failoverctl members-add %s` on the cluster\"",
                    d->cfg.self->name);
    else if (role != RAFT_VOTER)
        fo_log_info("raft.membership",
                    "standing=member role=%s hint=\"no vote until a "
                    "leader promotes it (failoverctl members-add)\"",
                    fo_member_role_name(role));
    return 0;
}

bool fo_daemon_removed_check(struct fo_daemon *d)
{
    if (d->stopping || !fo_node_member_removed(&d->node))
        return false;
    /* members-remove demoted (or removed) this node: stop for good. The marker keeps a
     * restart on this data from running as a member nobody talks to (libraft 0.15 never
     * tells a removed server); exit 2 so that systemd leaves it down. */
    mark_removed(d);
    fo_log_error("raft.removed", "action=stop reason=\"this node lost its vote: it is being "
                                 "removed from the Raft configuration (failoverctl "
                                 "members-remove)\"");
    fo_daemon_stop(d);
    d->exit_code = 2;
    return true;
}
