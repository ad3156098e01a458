/*
 * coordinator/recover.h — `failoverd -c node.yaml --recover NAME[,NAME...]
 * [--yes-lose-data]`: the majority-loss recovery (consensus/recover.h) as an operator
 * runs it, on one stopped survivor.
 *
 * It loads the config, refuses unless every NAME is a peer and this node is one of them,
 * refuses while this node runs (its Raft port is taken), and prints what the data
 * directory holds and what can be lost: every entry committed by the old majority after
 * this log's last one, and the voters that are dropped. Without --yes-lose-data it stops
 * there (exit 2: nothing written). With it, the Raft configuration becomes exactly the
 * named survivors (raft_recover) and the operator starts failoverd as usual. Run it once.
 *
 * Output on out (the report), errors on err_out. Returns the exit code: 0 recovered, 1 the
 * recovery failed, 2 refused or a usage/configuration error.
 */
#ifndef FO_COORDINATOR_RECOVER_H
#define FO_COORDINATOR_RECOVER_H

#include <stdbool.h>
#include <stdio.h>

int fo_recover_main(const char *config_path, const char *survivors, bool yes_lose_data, FILE *out,
                    FILE *err_out);

#endif
