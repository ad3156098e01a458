/*
 * coordinator/ctl/output_json.c — failoverctl's --json output for scripts (bgpctl's
 * output_json.c): the node's body as is, or a message as a small document; see
 * ctl_render.h for the exact format. The tables are output_table.c.
 */
#include "coordinator/ctl/ctl_render.h"

int fo_ctl_render_json(FILE *out, const json_t *body, struct fo_error *err)
{
    if (json_dumpf(body, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY) != 0) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "writing the JSON output failed");
        return -1;
    }
    if (fputc('\n', out) == EOF || fflush(out) != 0) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "writing the JSON output failed");
        return -1;
    }
    return 0;
}

int fo_ctl_render_message(FILE *out, const char *message, bool json, struct fo_error *err)
{
    json_t *doc; /* ours: freed below */
    int rc;

    if (!json) {
        if (fprintf(out, "%s\n", message != NULL ? message : "ok") < 0 || fflush(out) != 0) {
            fo_error_set(err, FO_CTL_RENDER_EIO, "writing the output failed");
            return -1;
        }
        return 0;
    }
    doc = json_pack("{s:s, s:s?}", "result", "ok", "message", message);
    if (doc == NULL) {
        fo_error_set(err, FO_CTL_RENDER_ENOMEM, "out of memory");
        return -1;
    }
    rc = fo_ctl_render_json(out, doc, err);
    json_decref(doc);
    return rc;
}
