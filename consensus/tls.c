/*
 * consensus/tls.c — see tls.h: the OpenSSL context, the file checks, the reasons.
 */
#include "consensus/tls.h"

#include "consensus/tls_pump.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static const char *const reason_names[FO_TLS_NREASONS] = {
    [FO_TLS_OK] = "ok",
    [FO_TLS_NO_CERT] = "no-cert",
    [FO_TLS_UNKNOWN_CA] = "unknown-ca",
    [FO_TLS_EXPIRED] = "expired",
    [FO_TLS_WRONG_PEER] = "wrong-peer",
    [FO_TLS_NOT_TLS] = "not-tls",
    [FO_TLS_HANDSHAKE] = "handshake",
    [FO_TLS_TIMEOUT] = "timeout",
    [FO_TLS_IO] = "io",
    [FO_TLS_FILE] = "file",
    [FO_TLS_KEY] = "key-mismatch",
    [FO_TLS_CA_MISMATCH] = "not-signed-by-ca",
    [FO_TLS_REVOKED] = "revoked",
};

const char *fo_tls_reason_name(enum fo_tls_reason r)
{
    return (unsigned)r < FO_TLS_NREASONS ? reason_names[r] : "unknown";
}

/* The last OpenSSL error as text, for messages (never parsed). */
static const char *ssl_err_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static X509 *read_cert(const char *path, struct fo_error *err)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (f == NULL) {
        fo_error_set(err, FO_TLS_FILE, "tls: cannot read %s: %m", path);
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL)
        fo_error_set(err, FO_TLS_FILE, "tls: %s holds no PEM certificate", path);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *read_key(const char *path, struct fo_error *err)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    if (f == NULL) {
        fo_error_set(err, FO_TLS_FILE, "tls: cannot read %s: %m", path);
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        fo_error_set(err, FO_TLS_FILE, "tls: %s holds no (unencrypted) PEM private key", path);
    ERR_clear_error();
    return k;
}

static X509_CRL *read_crl(const char *path, struct fo_error *err)
{
    FILE *f = fopen(path, "r");
    X509_CRL *c;

    if (f == NULL) {
        fo_error_set(err, FO_TLS_FILE, "tls: cannot read %s: %m", path);
        return NULL;
    }
    c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    if (c == NULL)
        fo_error_set(err, FO_TLS_FILE, "tls: %s holds no PEM certificate revocation list", path);
    ERR_clear_error();
    return c;
}

/* The CRL must be the CA's and current: OpenSSL refuses EVERY peer once a configured
 * CRL is past its next update, so a stale one is a start-up error, not a surprise. */
static int check_crl(X509 *ca, X509 *cert, const struct fo_tls_files *f, struct fo_error *err)
{
    X509_CRL *crl = read_crl(f->crl, err);
    X509_REVOKED *rev = NULL;
    const ASN1_TIME *next;
    int rv = 0;

    if (crl == NULL)
        return FO_TLS_FILE;
    next = X509_CRL_get0_nextUpdate(crl);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0 ||
        X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
        rv = fo_error_set(err, FO_TLS_CA_MISMATCH, "tls: the CRL %s is not signed by the CA %s",
                          f->crl, f->ca);
    else if (next != NULL && X509_cmp_current_time(next) < 0)
        rv = fo_error_set(err, FO_TLS_FILE,
                          "tls: the CRL %s is past its next update (deploy/make-certs --crl "
                          "issues a new one): every peer would be refused",
                          f->crl);
    else if (cert != NULL && X509_CRL_get0_by_cert(crl, &rev, cert) == 1)
        rv = fo_error_set(err, FO_TLS_REVOKED, "tls: the CRL %s revokes this node's certificate %s",
                          f->crl, f->cert);
    ERR_clear_error();
    X509_CRL_free(crl);
    return rv;
}

/* Verify cert against the CA alone (no system roots), now. */
static int verify_against(X509 *ca, X509 *cert, const char *cert_path, const char *ca_path,
                          struct fo_error *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    int ok = 0, code = 0;

    if (store != NULL && vc != NULL && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(vc, store, cert, NULL) == 1) {
        ok = X509_verify_cert(vc) == 1;
        code = X509_STORE_CTX_get_error(vc);
    }
    X509_STORE_CTX_free(vc);
    X509_STORE_free(store);
    ERR_clear_error();
    if (ok)
        return 0;
    return fo_error_set(err, FO_TLS_CA_MISMATCH, "tls: %s does not verify against the CA %s: %s",
                        cert_path, ca_path, X509_verify_cert_error_string(code));
}

int fo_tls_check_files(const struct fo_tls_files *f, struct fo_error *err)
{
    X509 *ca, *cert = NULL;
    EVP_PKEY *key = NULL;
    int rv = 0;

    if (f->ca == NULL)
        return fo_error_set(err, FO_TLS_FILE, "tls: no CA file (tls.ca)");
    if ((f->cert == NULL) != (f->key == NULL))
        return fo_error_set(err, FO_TLS_FILE,
                            "tls: a certificate needs its key (tls.cert and "
                            "tls.key go together)");
    if ((ca = read_cert(f->ca, err)) == NULL)
        return FO_TLS_FILE;
    if (f->cert != NULL) {
        if ((cert = read_cert(f->cert, err)) == NULL || (key = read_key(f->key, err)) == NULL)
            rv = FO_TLS_FILE;
        else if (X509_check_private_key(cert, key) != 1)
            rv = fo_error_set(err, FO_TLS_KEY, "tls: the key %s does not match the certificate %s",
                              f->key, f->cert);
        else
            rv = verify_against(ca, cert, f->cert, f->ca, err);
    }
    if (rv == 0 && f->crl != NULL)
        rv = check_crl(ca, cert, f, err);
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    X509_free(ca);
    return rv;
}

/* When t's files run out: our certificate's notAfter, the CRL's nextUpdate (0: none). */
static void read_expiry(struct fo_tls *t, SSL_CTX *ctx)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    struct tm tm;

    t->cert_not_after = t->crl_next_update = 0;
    if (cert != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
        t->cert_not_after = (int64_t)timegm(&tm);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
        const ASN1_TIME *next = crl != NULL ? X509_CRL_get0_nextUpdate(crl) : NULL;
        if (next != NULL && ASN1_TIME_to_tm(next, &tm) == 1)
            t->crl_next_update = (int64_t)timegm(&tm);
    }
}

/* A context from files already checked: the CA (and CRL) to verify peers with, our
 * certificate and key to present. */
static int ctx_build(const struct fo_tls_files *f, SSL_CTX **out, struct fo_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    X509_CRL *crl = NULL;
    char e[256];
    int rv;

    if (ctx == NULL)
        return fo_error_set(err, FO_TLS_FILE, "tls: %s", ssl_err_text(e, sizeof(e)));
    /* Both ends are failoverd: no reason to negotiate anything older. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1 ||
        (f->cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1 ||
                             SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1))) {
        rv = fo_error_set(err, FO_TLS_FILE, "tls: %s", ssl_err_text(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return rv;
    }
    if (f->crl != NULL) {
        /* The leaf only: our CA is a root, there is no intermediate to check. */
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        if ((crl = read_crl(f->crl, err)) == NULL) {
            SSL_CTX_free(ctx);
            return FO_TLS_FILE;
        }
        /* On the store (what fo_tls_pump_recheck verifies with) and on the context's
         * parameters (what each SSL copies at SSL_new). */
        rv = X509_STORE_add_crl(store, crl) == 1 &&
             X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) == 1 &&
             X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK) == 1;
        X509_CRL_free(crl); /* the store holds its own reference */
        if (!rv) {
            rv = fo_error_set(err, FO_TLS_FILE, "tls: %s: %s", f->crl, ssl_err_text(e, sizeof(e)));
            SSL_CTX_free(ctx);
            return rv;
        }
    }
    /* Peers must prove themselves; the pump sets the per-connection details. No
     * session resumption: every connection verifies a certificate. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    *out = ctx;
    return 0;
}

int fo_tls_init(struct fo_tls *t, const struct fo_tls_files *f, unsigned handshake_timeout_ms,
                struct fo_error *err)
{
    SSL_CTX *ctx = NULL;
    int rv;

    {
        /* keep the owner's hook: it may be set before init */
        fo_tls_refused_fn fn = t->on_refused;
        void *data = t->on_refused_data;
        uint64_t (*now)(void) = t->now_ms;
        memset(t, 0, sizeof(*t));
        t->on_refused = fn;
        t->on_refused_data = data;
        t->now_ms = now;
    }
    if (!f->unchecked && (rv = fo_tls_check_files(f, err)) != 0)
        return rv;
    if ((rv = ctx_build(f, &ctx, err)) != 0)
        return rv;
    t->ctx = ctx;
    read_expiry(t, ctx);
    t->has_cert = f->cert != NULL;
    t->handshake_timeout_ms = handshake_timeout_ms != 0 ? handshake_timeout_ms : 5000;
    return 0;
}

int fo_tls_prepare(const struct fo_tls *t, const struct fo_tls_files *f, void **next,
                   struct fo_error *err)
{
    SSL_CTX *ctx = NULL;
    int rv;

    *next = NULL;
    /* A process that presents a certificate keeps presenting one: dropping it would
     * turn every peer's verification of us into a refusal. */
    if (t->has_cert && f->cert == NULL)
        return fo_error_set(err, FO_TLS_FILE, "tls: a reload cannot drop the certificate");
    if ((rv = fo_tls_check_files(f, err)) != 0 || (rv = ctx_build(f, &ctx, err)) != 0)
        return rv;
    *next = ctx;
    return 0;
}

unsigned fo_tls_adopt(struct fo_tls *t, void *next)
{
    SSL_CTX_free(t->ctx); /* live SSLs hold their own reference to it */
    t->ctx = next;
    read_expiry(t, next);
    return fo_tls_pump_recheck(t);
}

void fo_tls_discard(void *next)
{
    SSL_CTX_free(next);
}

void fo_tls_close(struct fo_tls *t)
{
    SSL_CTX_free(t->ctx);
    t->ctx = NULL;
}

bool fo_tls_should_log(struct fo_tls *t, enum fo_tls_reason reason, const char *host,
                       uint64_t now_ms, unsigned *suppressed)
{
    size_t oldest = 0;

    for (size_t i = 0; i < FO_TLS_LOG_SLOTS; i++) {
        if (t->log[i].last_ms != 0 && t->log[i].reason == reason &&
            strcmp(t->log[i].host, host) == 0) {
            if (now_ms - t->log[i].last_ms < FO_TLS_LOG_EVERY_MS) {
                t->log[i].suppressed++;
                return false;
            }
            *suppressed = t->log[i].suppressed;
            t->log[i].suppressed = 0;
            t->log[i].last_ms = now_ms;
            return true;
        }
        if (t->log[i].last_ms < t->log[oldest].last_ms)
            oldest = i;
    }
    /* A new (reason, host): take the slot logged longest ago. Losing its count only
     * means one extra line later. */
    t->log[oldest].last_ms = now_ms != 0 ? now_ms : 1;
    t->log[oldest].reason = reason;
    t->log[oldest].suppressed = 0;
    snprintf(t->log[oldest].host, sizeof(t->log[oldest].host), "%s", host);
    *suppressed = 0;
    return true;
}

void fo_tls_refused(struct fo_tls *t, const char *where, const char *remote,
                    enum fo_tls_reason reason, const char *detail)
{
    char key[48];
    const char *colon = strrchr(remote, ':');
    size_t n = colon != NULL ? (size_t)(colon - remote) : strlen(remote);
    uint64_t now = t->now_ms != NULL ? t->now_ms() : uv_hrtime() / 1000000u;
    unsigned suppressed = 0;

    /* The client's port changes with every reconnect: limit per listener and host. */
    snprintf(key, sizeof(key), "%s/%.*s", where, (int)(n < 40 ? n : 40), remote);
    if (t->on_refused != NULL && fo_tls_should_log(t, reason, key, now, &suppressed))
        t->on_refused(t->on_refused_data, where, remote, reason, detail, suppressed);
}
