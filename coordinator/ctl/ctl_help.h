/*
 * coordinator/ctl/ctl_help.h — failoverctl's help texts, all derived from the verb table
 * (verbs.h): `failoverctl --help` (every verb, the global options, the exit codes) and
 * `failoverctl VERB --help` / `help VERB` (usage, options, token, exit codes).
 *
 * Pure: writes to the FILE only. Any thread.
 */
#ifndef FO_COORDINATOR_CTL_HELP_H
#define FO_COORDINATOR_CTL_HELP_H

#include <stdio.h>

#include "proto/admin.h"

/* failoverctl --help. */
void fo_ctl_help(FILE *out);

/* failoverctl VERB --help. */
void fo_ctl_help_verb(FILE *out, enum fo_admin_verb_id id);

#endif
