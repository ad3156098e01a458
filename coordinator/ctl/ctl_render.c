/*
 * coordinator/ctl/ctl_render.c — see ctl_render.h: the choice of a table by verb. The verb
 * table (verbs.h) names each verb's renderer; the tables are output_table.c, the --json
 * output output_json.c.
 */
#include "coordinator/ctl/ctl_render.h"

#include "coordinator/ctl/verbs.h"

/* The verb's table renderer, or NULL (unknown verb, or a verb without a table). */
static fo_output_fn table_of(const char *verb)
{
    int id = fo_admin_verb_find(verb);
    return id >= 0 ? fo_ctl_verbs[id].table : NULL;
}

bool fo_ctl_render_has_table(const char *verb)
{
    return table_of(verb) != NULL;
}

int fo_ctl_render_table(FILE *out, const char *verb, const json_t *body, uint64_t now_ms,
                        struct fo_error *err)
{
    fo_output_fn table = table_of(verb);

    if (table == NULL) {
        fo_error_set(err, FO_CTL_RENDER_EVERB, "no table for '%s'", verb != NULL ? verb : "");
        return -1;
    }
    if (!json_is_object(body)) {
        fo_error_set(err, FO_CTL_RENDER_EBODY, "%s: the reply body is not a JSON object", verb);
        return -1;
    }
    if (table(out, verb, body, now_ms) != 0) {
        fo_error_set(err, FO_CTL_RENDER_ENOMEM, "%s: out of memory", verb);
        return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "%s: writing the output failed", verb);
        return -1;
    }
    return 0;
}
