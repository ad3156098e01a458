/*
 * coordinator/serve/tokens.c — see tokens.h.
 */
#include "coordinator/serve/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "coordinator/log.h"

static const char *const shared_names[] = {"admin-token", "read-token", NULL};

static bool sha256(const char *s, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > FO_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@'))
            return false;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The next field of [*p, end) (spaces and tabs separate), or NULL at the line's end. */
static const char *field(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *f;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    f = s;
    while (s < end && *s != ' ' && *s != '\t')
        s++;
    *p = s;
    *len = (size_t)(s - f);
    return *len > 0 ? f : NULL;
}

/* One line with a token into tok. Returns 0 or -1 with err ("file:line: what"). */
static int parse_line(const char *line, const char *end, const char *file, size_t lineno,
                      struct fo_token *tok, struct fo_error *err)
{
    const char *p = line, *name, *role, *secret;
    size_t nlen, rlen, slen, extra;
    char rbuf[16];
    int r;

    name = field(&p, end, &nlen);
    role = field(&p, end, &rlen);
    secret = field(&p, end, &slen);
    if (role == NULL || secret == NULL || field(&p, end, &extra) != NULL)
        return fo_error_set(err, 1, "%s:%zu: expected three fields: name role token", file, lineno);
    if (!name_ok(name, nlen))
        return fo_error_set(err, 1, "%s:%zu: name: 1 to %d letters, digits, '.', '_', '-' or '@'",
                            file, lineno, FO_NAME_MAX);
    memcpy(tok->who.name, name, nlen);
    tok->who.name[nlen] = '\0';
    for (int i = 0; shared_names[i] != NULL; i++)
        if (strcmp(tok->who.name, shared_names[i]) == 0)
            return fo_error_set(err, 1, "%s:%zu: name: '%s' is reserved for the shared token", file,
                                lineno, shared_names[i]);
    snprintf(rbuf, sizeof(rbuf), "%.*s", (int)(rlen < sizeof(rbuf) ? rlen : sizeof(rbuf) - 1),
             role);
    r = rlen < sizeof(rbuf) ? fo_admin_role_find(rbuf) : -1;
    if (r < 0 || r == FO_ROLE_NODE)
        return fo_error_set(err, 1, "%s:%zu: role: expected read, operate or admin", file, lineno);
    tok->who.grants = fo_admin_role_grants((enum fo_admin_role)r);
    if (slen > 7 && memcmp(secret, "sha256:", 7) == 0) {
        if (slen != 7 + 64)
            return fo_error_set(err, 1, "%s:%zu: token: sha256: needs 64 hex digits", file, lineno);
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval(secret[7 + 2 * i]), lo = hexval(secret[8 + 2 * i]);
            if (hi < 0 || lo < 0)
                return fo_error_set(err, 1, "%s:%zu: token: sha256: needs 64 hex digits", file,
                                    lineno);
            tok->hash[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    if (slen > FO_TOKEN_MAX)
        return fo_error_set(err, 1, "%s:%zu: token: longer than %d bytes", file, lineno,
                            FO_TOKEN_MAX);
    if (!sha256(secret, slen, tok->hash))
        return fo_error_set(err, 1, "%s:%zu: libcrypto cannot hash", file, lineno);
    return 0;
}

int fo_tokens_parse(const char *text, size_t len, const char *file, struct fo_token **out,
                    size_t *n, struct fo_error *err)
{
    const char *p = text, *end = text + len;
    struct fo_token *list = NULL;
    size_t count = 0, lineno = 0;

    *out = NULL;
    *n = 0;
    if (memchr(text, '\0', len) != NULL)
        return fo_error_set(err, 1, "%s: holds a NUL byte", file);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *q = p;
        const char *line_end = eol != NULL ? eol : end, *first;
        size_t skip;

        lineno++;
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        first = field(&q, line_end, &skip);
        if (first != NULL && *first != '#') {
            struct fo_token *grown;
            if (count == FO_TOKENS_MAX) {
                free(list);
                return fo_error_set(err, 1, "%s:%zu: more than %d tokens", file, lineno,
                                    FO_TOKENS_MAX);
            }
            grown = realloc(list, (count + 1) * sizeof(*list));
            if (grown == NULL) {
                free(list);
                return fo_error_set(err, 1, "%s: out of memory", file);
            }
            list = grown;
            memset(&list[count], 0, sizeof(list[count]));
            if (parse_line(p, line_end, file, lineno, &list[count], err) != 0) {
                free(list);
                return 1;
            }
            for (size_t i = 0; i < count; i++) {
                bool same_name = strcmp(list[i].who.name, list[count].who.name) == 0;
                if (same_name || memcmp(list[i].hash, list[count].hash, 32) == 0) {
                    fo_error_set(err, 1, "%s:%zu: %s as line of '%s'", file, lineno,
                                 same_name ? "the same name" : "the same token", list[i].who.name);
                    free(list);
                    return 1;
                }
            }
            count++;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    *out = list;
    *n = count;
    return 0;
}

/* Read and parse path; st is its stat at the open. */
static int load_file(const char *path, struct fo_token **out, size_t *n, struct stat *st,
                     struct fo_error *err)
{
    char *text;
    size_t len = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rv;

    if (fd < 0)
        return fo_error_set(err, 1, "%s: %s", path, strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return fo_error_set(err, 1, "%s: not a regular file", path);
    }
    if ((size_t)st->st_size > FO_TOKENS_FILE_MAX) {
        close(fd);
        return fo_error_set(err, 1, "%s: larger than %u bytes", path, FO_TOKENS_FILE_MAX);
    }
    text = malloc(FO_TOKENS_FILE_MAX + 1);
    if (text == NULL) {
        close(fd);
        return fo_error_set(err, 1, "%s: out of memory", path);
    }
    while (len < FO_TOKENS_FILE_MAX && (r = read(fd, text + len, FO_TOKENS_FILE_MAX - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fo_error_set(err, 1, "%s: %s", path, strerror(errno));
            OPENSSL_cleanse(text, len);
            free(text);
            close(fd);
            return 1;
        }
        len += (size_t)r;
    }
    close(fd);
    rv = fo_tokens_parse(text, len, path, out, n, err);
    OPENSSL_cleanse(text, len); /* plain tokens may be in it */
    free(text);
    return rv;
}

static void remember(struct fo_tokens *t, const struct stat *st)
{
    t->mtime = st->st_mtim;
    t->size = st->st_size;
    t->ino = st->st_ino;
}

int fo_tokens_init(struct fo_tokens *t, const char *path, struct fo_error *err)
{
    struct stat st;

    memset(t, 0, sizeof(*t));
    if (path == NULL)
        return 0;
    if ((t->path = strdup(path)) == NULL)
        return fo_error_set(err, 1, "out of memory");
    if (load_file(path, &t->list, &t->n, &st, err) != 0) {
        free(t->path);
        t->path = NULL;
        return 1;
    }
    remember(t, &st);
    return 0;
}

int fo_tokens_add_shared(struct fo_tokens *t, const char *name, unsigned grants, const char *token,
                         struct fo_error *err)
{
    struct fo_token *tok;

    if (t->nshared == FO_TOKENS_SHARED)
        return fo_error_set(err, 1, "too many shared tokens");
    if (token == NULL || token[0] == '\0' || name == NULL || strlen(name) > FO_NAME_MAX)
        return fo_error_set(err, 1, "shared token '%s': empty", name != NULL ? name : "");
    tok = &t->shared[t->nshared];
    memset(tok, 0, sizeof(*tok));
    snprintf(tok->who.name, sizeof(tok->who.name), "%s", name);
    tok->who.grants = grants;
    if (!sha256(token, strlen(token), tok->hash))
        return fo_error_set(err, 1, "libcrypto cannot hash");
    for (size_t i = 0; i < t->nshared; i++)
        if (CRYPTO_memcmp(t->shared[i].hash, tok->hash, 32) == 0 ||
            strcmp(t->shared[i].who.name, name) == 0)
            return fo_error_set(err, 1, "shared token '%s': the same as '%s'", name,
                                t->shared[i].who.name);
    for (size_t i = 0; i < t->n; i++)
        if (CRYPTO_memcmp(t->list[i].hash, tok->hash, 32) == 0)
            return fo_error_set(err, 1, "%s: '%s' has the token of %s", t->path,
                                t->list[i].who.name, name);
    t->nshared++;
    return 0;
}

int fo_tokens_reload(struct fo_tokens *t, struct fo_error *err)
{
    struct fo_token *list;
    size_t n;
    struct stat st;

    if (t->path == NULL)
        return 0;
    if (load_file(t->path, &list, &n, &st, err) != 0) {
        /* Remembered even so: the broken file is reported once, not on every request. */
        if (stat(t->path, &st) == 0)
            remember(t, &st);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t->nshared; j++)
            if (CRYPTO_memcmp(list[i].hash, t->shared[j].hash, 32) == 0) {
                fo_error_set(err, 1, "%s: '%s' has the token of %s", t->path, list[i].who.name,
                             t->shared[j].who.name);
                free(list);
                remember(t, &st);
                return 1;
            }
    if (t->list != NULL)
        OPENSSL_cleanse(t->list, t->n * sizeof(*t->list));
    free(t->list);
    t->list = list;
    t->n = n;
    remember(t, &st);
    fo_log_info("tokens.reload", "file=%s count=%zu", t->path, n);
    return 0;
}

/* Re-read the file when it changed on disk (an editor's rename too: the inode). */
static void reload_if_changed(struct fo_tokens *t)
{
    struct stat st;
    struct fo_error err;

    if (t->path == NULL || stat(t->path, &st) != 0)
        return; /* gone for now: keep what we have (a rename in progress) */
    if (st.st_mtim.tv_sec == t->mtime.tv_sec && st.st_mtim.tv_nsec == t->mtime.tv_nsec &&
        st.st_size == t->size && st.st_ino == t->ino)
        return;
    if (fo_tokens_reload(t, &err) != 0)
        fo_log_error("tokens.reload", "result=kept-previous error=\"%s\"", err.msg);
}

/* Compare h with every entry of list, always all of them. */
static const struct fo_token *match(const struct fo_token *list, size_t n,
                                    const unsigned char h[32], const struct fo_token *found)
{
    for (size_t i = 0; i < n; i++) {
        bool eq = CRYPTO_memcmp(list[i].hash, h, 32) == 0;
        found = eq ? &list[i] : found;
    }
    return found;
}

bool fo_tokens_auth(struct fo_tokens *t, const char *presented, struct fo_identity *out)
{
    unsigned char h[32];
    const struct fo_token *found = NULL;
    size_t len;

    memset(out, 0, sizeof(*out));
    reload_if_changed(t);
    if (presented == NULL || presented[0] == '\0')
        return false;
    len = strnlen(presented, FO_TOKEN_MAX + 1);
    if (len > FO_TOKEN_MAX || !sha256(presented, len, h))
        return false;
    found = match(t->list, t->n, h, found);
    found = match(t->shared, t->nshared, h, found);
    OPENSSL_cleanse(h, sizeof(h));
    if (found == NULL)
        return false;
    *out = found->who;
    return true;
}

bool fo_identity_may(const struct fo_identity *who, enum fo_admin_role role)
{
    return who != NULL && role < FO_ROLE_COUNT && (who->grants & (1u << role)) != 0;
}

void fo_tokens_free(struct fo_tokens *t)
{
    if (t->list != NULL)
        OPENSSL_cleanse(t->list, t->n * sizeof(*t->list));
    free(t->list);
    free(t->path);
    OPENSSL_cleanse(t->shared, sizeof(t->shared));
    memset(t, 0, sizeof(*t));
}

bool fo_auth_limiter_admit_now(struct fo_auth_limiter *l, unsigned long long *suppressed)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return fo_auth_limiter_admit(l, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u,
                                 suppressed);
}

bool fo_auth_limiter_admit(struct fo_auth_limiter *l, uint64_t now_ms,
                           unsigned long long *suppressed)
{
    uint64_t interval = l->interval_ms != 0 ? l->interval_ms : 10000;

    if (l->last_ms != 0 && now_ms - l->last_ms < interval) {
        l->suppressed++;
        return false;
    }
    l->last_ms = now_ms != 0 ? now_ms : 1;
    *suppressed = l->suppressed;
    l->suppressed = 0;
    return true;
}
