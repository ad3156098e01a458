/*
 * consensus/tls.h — mutual TLS between failoverd peers (and from failoverctl): one
 * OpenSSL context per process built from the cluster CA, this process's certificate
 * and key (deploy/make-certs), and the typed reasons a peer is refused.
 *
 * Trust model. Every certificate must chain to the cluster CA (no system roots); a
 * node certificate names the node (CN and subjectAltName DNS = the config's node name,
 * OU "node"); an operator certificate says OU "operator". A connection is refused when
 * the peer shows no certificate, one from another CA, one expired or not yet valid, or
 * (when the caller expects a given node) one naming another node, or (when a CRL is
 * configured) one the CA has revoked. TLS 1.3 only.
 *
 * Reload. fo_tls_prepare builds a context from the files as they are now (a rotated
 * certificate, a new CRL) without touching the running one; fo_tls_adopt swaps it in,
 * so new connections use it, and re-verifies every open connection's peer against it:
 * a peer whose certificate is now revoked (or no longer chains to the CA, or expired)
 * is cut at once instead of keeping a Raft link that predates the revocation. Open
 * connections keep the context they were made with (OpenSSL counts references).
 *
 * Refusals are logged by the caller; fo_tls_should_log() rate-limits them per reason,
 * port and peer host, so a misconfigured or hostile peer that reconnects every 100 ms is one line
 * (with a count of what was suppressed) rather than a flood.
 *
 * Ownership: struct fo_tls is caller-allocated; fo_tls_init copies nothing it keeps
 * beyond the SSL_CTX; fo_tls_close frees it after every pump using it has gone. Loop
 * thread only (the rate limiter is not locked).
 */
#ifndef FO_CONSENSUS_TLS_H
#define FO_CONSENSUS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* Why a TLS connection did not open (fo_error.code of fo_tls_init/check too, where the
 * FILE/KEY/CA reasons apply). */
enum fo_tls_reason {
    FO_TLS_OK = 0,
    FO_TLS_NO_CERT,     /* the peer presented no certificate */
    FO_TLS_UNKNOWN_CA,  /* its certificate is not signed by the cluster CA */
    FO_TLS_EXPIRED,     /* expired (or not yet valid) */
    FO_TLS_WRONG_PEER,  /* signed by the CA, but not the node expected there */
    FO_TLS_NOT_TLS,     /* the peer spoke something else (plain text) */
    FO_TLS_HANDSHAKE,   /* any other handshake failure (protocol, alert from the peer) */
    FO_TLS_TIMEOUT,     /* no complete handshake within the time limit */
    FO_TLS_IO,          /* connect failed, connection reset, closed */
    FO_TLS_FILE,        /* config: a file is missing or unreadable or not PEM */
    FO_TLS_KEY,         /* config: the key does not match the certificate */
    FO_TLS_CA_MISMATCH, /* config: our own certificate is not signed by the CA / expired */
    FO_TLS_REVOKED,     /* the CA's CRL (tls.crl) lists the peer's certificate */
    FO_TLS_NREASONS
};

/* A short stable token for logs and tests: "no-cert", "unknown-ca", "expired", ... */
const char *fo_tls_reason_name(enum fo_tls_reason r);

/* What a verified peer is. */
enum fo_tls_role { FO_TLS_ROLE_NONE = 0, FO_TLS_ROLE_NODE, FO_TLS_ROLE_OPERATOR };

#define FO_TLS_NAME_MAX 64

struct fo_tls_peer {
    char name[FO_TLS_NAME_MAX]; /* the certificate's CN */
    enum fo_tls_role role;      /* from its OU */
};

struct fo_tls_files {
    const char *ca;   /* PEM: the cluster CA */
    const char *cert; /* PEM: this process's certificate; may be NULL for a client that
                         only verifies the server (failoverctl without a client cert) */
    const char *key;  /* PEM: its key */
    const char *crl;  /* PEM: the CA's certificate revocation list, or NULL (no check) */
    /* Tests only: skip fo_tls_check_files in fo_tls_init, to present a certificate a
     * real deployment would refuse to start with (what an outsider does). */
    bool unchecked;
};

#define FO_TLS_LOG_SLOTS 32

struct fo_tls_pump; /* consensus/tls_pump.h */

/* How a process logs a refused peer (set by its owner; consensus/ has no logger).
 * where: "raft", "admin"; suppressed: refusals of the same kind not logged since. */
typedef void (*fo_tls_refused_fn)(void *data, const char *where, const char *remote,
                                  enum fo_tls_reason reason, const char *detail,
                                  unsigned suppressed);

struct fo_tls {
    fo_tls_refused_fn on_refused; /* may be NULL */
    void *on_refused_data;
    uint64_t (*now_ms)(void); /* clock for the rate limit; NULL: uv_hrtime */
    /* private */
    void *ctx;                 /* SSL_CTX * (void: keep OpenSSL out of the users' includes) */
    struct fo_tls_pump *pumps; /* every live pump made with this fo_tls (tls_pump.c) */
    /* public, read-only: when the files in use run out, Unix seconds (0: no such file).
     * For metrics and alerts: a certificate or CRL that runs out stops the cluster. */
    int64_t cert_not_after;  /* this process's certificate */
    int64_t crl_next_update; /* the CRL's next update */
    bool has_cert;
    unsigned handshake_timeout_ms;
    struct {
        uint64_t last_ms;
        unsigned suppressed;
        enum fo_tls_reason reason;
        char host[48];
    } log[FO_TLS_LOG_SLOTS];
};

/*
 * Check the files as a deployment would need them: each readable PEM, the key matching
 * the certificate, the certificate signed by the CA and valid now, the CRL (if any)
 * signed by the CA, not past its next update and not listing our own certificate.
 * Returns 0 or a reason (FO_TLS_FILE, FO_TLS_KEY, FO_TLS_CA_MISMATCH, FO_TLS_REVOKED)
 * with err naming the file and the problem. Used by fo_tls_init, fo_tls_prepare and
 * --check-config.
 */
int fo_tls_check_files(const struct fo_tls_files *f, struct fo_error *err);

/* Build the context (after fo_tls_check_files). handshake_timeout_ms 0: 5000. */
int fo_tls_init(struct fo_tls *t, const struct fo_tls_files *f, unsigned handshake_timeout_ms,
                struct fo_error *err);
void fo_tls_close(struct fo_tls *t);

/*
 * Reload, in two steps so that a caller reloading several parts can fail before
 * changing any: fo_tls_prepare checks the files and builds a context into *next (an
 * opaque SSL_CTX *; nothing running changes); then either fo_tls_adopt(t, next), which
 * takes it, frees the old one (connections made with it keep their reference) and cuts
 * every open connection whose peer no longer verifies (reported through on_refused with
 * where "reload"; returns how many were cut), or fo_tls_discard(next).
 */
int fo_tls_prepare(const struct fo_tls *t, const struct fo_tls_files *f, void **next,
                   struct fo_error *err);
unsigned fo_tls_adopt(struct fo_tls *t, void *next);
void fo_tls_discard(void *next);

/*
 * Rate limit for refusal logs: true when a refusal for (reason, host) should be logged
 * now (at most once per FO_TLS_LOG_EVERY_MS for each), and then *suppressed is how many
 * were not logged since the last line.
 */
#define FO_TLS_LOG_EVERY_MS 60000u
bool fo_tls_should_log(struct fo_tls *t, enum fo_tls_reason reason, const char *host,
                       uint64_t now_ms, unsigned *suppressed);

/* Report a refused peer through on_refused, rate-limited with fo_tls_should_log (per
 * reason, `where` and host: remote without its port). */
void fo_tls_refused(struct fo_tls *t, const char *where, const char *remote,
                    enum fo_tls_reason reason, const char *detail);

#endif
