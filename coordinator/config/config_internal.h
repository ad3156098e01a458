/*
 * coordinator/config/config_internal.h — private to the config loader: what config.c (the YAML
 * walk, the topology sections, the digest) shares with config_policy.c (decision, checks,
 * feeds, health, alertmanager, http) and config_plan.c (plan). Not for any other file: config.h is
 * the contract.
 *
 * Every helper that reports an error stores it in the loader (ld->code, ld->err) and
 * returns that code, so callers chain them with || and return ld->code. Messages read
 * "file:line: path: what" (see cfg_fail). Strings a helper stores are owned by the
 * config being loaded, which fo_config_free() releases, so no error path frees anything.
 */
#ifndef FO_COORDINATOR_CONFIG_INTERNAL_H
#define FO_COORDINATOR_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "coordinator/config/config.h"

/* Longest key path in messages: "sites.<64>.vercel_env.<64>" and a little more. */
#define PATH_LEN 256

#define NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

struct loader {
    yaml_document_t *doc;
    const char *file; /* names the file in messages */
    struct fo_config *cfg;
    struct fo_error *err; /* may be NULL */
    int code;             /* the fo_config_code of the first error */
};

/* One key of a fixed-schema map; cfg_read_map() fills key and value. */
struct field {
    const char *name;
    bool required;
    yaml_node_t *key;
    yaml_node_t *value;
};

/* The digest's running hash; ok turns false on the first libcrypto failure. */
struct hasher {
    EVP_MD_CTX *ctx;
    bool ok;
};

/* ---- messages (config.c) ---- */
size_t cfg_line_of(const yaml_node_t *n);
const char *cfg_quote(const char *p, size_t n, char out[48]); /* at most 40 bytes, safe */
int cfg_fail(struct loader *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cfg_fail_value(struct loader *ld, const yaml_node_t *at, const char *path, const char *value,
                   const char *what);
int cfg_no_memory(struct loader *ld);
const char *cfg_join(char out[PATH_LEN], const char *path, const char *key);
const char *cfg_join_index(char out[PATH_LEN], const char *path, size_t i);

/* ---- nodes, scalars, maps and lists (config.c) ---- */
yaml_node_t *cfg_node_at(struct loader *ld, int index);
const char *cfg_kind_name(yaml_node_type_t t);
int cfg_expect(struct loader *ld, const yaml_node_t *n, const char *path, yaml_node_type_t t);
const char *cfg_scalar_text(struct loader *ld, const yaml_node_t *n, const char *path);
int cfg_get_string(struct loader *ld, const yaml_node_t *n, const char *path, size_t max,
                   char **out);
int cfg_check_name(struct loader *ld, const yaml_node_t *n, const char *path, const char *s);
int cfg_get_name(struct loader *ld, const yaml_node_t *n, const char *path, char **out);
int cfg_get_host(struct loader *ld, const yaml_node_t *n, const char *path, char **out);
int cfg_get_u64(struct loader *ld, const yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out);
int cfg_get_u32(struct loader *ld, const yaml_node_t *n, const char *path, uint32_t min,
                uint32_t max, uint32_t *out);
int cfg_get_ipv4_port(struct loader *ld, const yaml_node_t *n, const char *path, const char *needs,
                      char **out);
bool cfg_key_is(const yaml_node_t *k, const char *name);
int cfg_check_key(struct loader *ld, const yaml_node_t *k, const char *path);
int cfg_read_map(struct loader *ld, const yaml_node_t *m, const char *path, struct field *f,
                 size_t nf);
size_t cfg_map_size(const yaml_node_t *m);
size_t cfg_seq_size(const yaml_node_t *s);
bool cfg_has_region(const struct fo_config *cfg, const char *name);
int cfg_get_region(struct loader *ld, const yaml_node_t *n, const char *path, char **out);
bool cfg_is_env_name(const unsigned char *s, size_t len);

/* ---- digest (config.c) ---- */
void cfg_put_u64(struct hasher *h, uint64_t v);
void cfg_put_str(struct hasher *h, const char *s);

/* ---- the policy sections (config_policy.c) ---- */

/* Read the optional sections decision, checks, feeds, health and alertmanager (each node
 * NULL when absent: defaults apply) into ld->cfg, after regions, peers and sites. */
int cfg_parse_policy(struct loader *ld, const yaml_node_t *decision, const yaml_node_t *checks,
                     const yaml_node_t *feeds, const yaml_node_t *health,
                     const yaml_node_t *alertmanager);

/* The self-fence timing rule (config_policy.c), reported at `at`. parse_decision runs it;
 * the loader runs it too when there is no decision section but a raft one (a long
 * election timeout can break the rule with the default decision timings). */
int cfg_check_fence_timing(struct loader *ld, const yaml_node_t *at);

/* Read the optional local `http:` section (NULL: no HTTP listener) into ld->cfg->http. */
int cfg_parse_http(struct loader *ld, const yaml_node_t *http);

/* Feed the replicated part of the policy into the digest (see config.h). */
void cfg_put_policy(struct hasher *h, const struct fo_config *cfg);

/* Release what the policy sections own (fo_config_free calls it). */
void cfg_policy_free(struct fo_config *cfg);

/* ---- the plan (config_plan.c) ---- */

/* Read the optional `plan:` section (NULL: the default plan) into ld->cfg->plan. */
int cfg_parse_plan(struct loader *ld, const yaml_node_t *plan);

/* Feed the replicated part of the plan into the digest. */
void cfg_put_plan(struct hasher *h, const struct fo_config *cfg);

#endif
