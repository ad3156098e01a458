/*
 * consensus/tls_pump.c — see tls_pump.h.
 *
 * Three libuv handles: tcp (the peer), pipe (our end of the socketpair; created only
 * once the peer is verified) and timer (handshake limit, then the linger limit while
 * closing). OpenSSL never touches a socket: bytes from tcp go into rbio, SSL_read's
 * output is written to pipe; bytes from pipe go through SSL_write into wbio, which is
 * drained onto tcp. Every uv_write is counted (to_tcp, to_pipe) and reading from the
 * opposite side pauses while a count is above FO_TLS_PUMP_HIGH.
 */
#include "consensus/tls_pump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define READ_CHUNK           (64u * 1024u)
#define TLS_RECORD_HANDSHAKE 0x16 /* first byte of every ClientHello/ServerHello */
#define TLS_RECORD_ALERT     0x15

struct fo_tls_pump {
    struct fo_tls *t;
    struct fo_tls_pump *prev, *next; /* t->pumps: every live pump, for fo_tls_pump_recheck */
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_connect_t connect;
    SSL *ssl;
    BIO *rbio, *wbio; /* network -> SSL, SSL -> network (both owned by ssl) */
    struct fo_tls_pump_opts o;
    char expect[FO_TLS_NAME_MAX];
    char remote[64];
    size_t to_tcp, to_pipe; /* bytes handed to uv_write, not yet written */
    int handles;            /* uv handles not yet closed */
    enum fo_tls_reason verify_reason;
    bool server;
    bool tcp_reading, pipe_reading;
    bool seen_first; /* the first byte from the peer was checked for TLS */
    bool reported;   /* the result callback ran */
    bool open;       /* ... with FO_TLS_OK */
    bool draining;   /* one side ended: close once the other side's queue is written */
    bool closing;    /* handles are being closed */
};

struct pump_write {
    uv_write_t w;
    struct fo_tls_pump *p;
    bool to_tcp;
    size_t len;
    char data[];
};

static int ssl_index = -1; /* ex_data slot pointing from SSL to its pump */

static void pump_drive(struct fo_tls_pump *p);
static void pump_drain(struct fo_tls_pump *p);
static void update_reads(struct fo_tls_pump *p);
static enum fo_tls_reason peer_recheck(struct fo_tls_pump *p, char *detail, size_t len);

/* ---- the context's list of pumps --------------------------------------------------- */

static void link_pump(struct fo_tls_pump *p)
{
    p->prev = NULL;
    p->next = p->t->pumps;
    if (p->next != NULL)
        p->next->prev = p;
    p->t->pumps = p;
}

static void unlink_pump(struct fo_tls_pump *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->t->pumps = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
}

/* ---- closing ----------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    struct fo_tls_pump *p = h->data;

    if (--p->handles > 0)
        return;
    if (p->o.on_end != NULL)
        p->o.on_end(p);
    unlink_pump(p);
    SSL_free(p->ssl);
    free(p);
}

static void pump_close(struct fo_tls_pump *p)
{
    if (p->closing)
        return;
    p->closing = true;
    uv_close((uv_handle_t *)&p->timer, handle_closed);
    uv_close((uv_handle_t *)&p->tcp, handle_closed);
    if (p->open)
        uv_close((uv_handle_t *)&p->pipe, handle_closed);
}

static void linger_expired(uv_timer_t *t)
{
    pump_close(t->data);
}

/* One side is done: close when what is queued towards the other has been written, or
 * after FO_TLS_PUMP_LINGER_MS if it is never read. */
static void pump_drain(struct fo_tls_pump *p)
{
    if (p->closing)
        return;
    if (!p->draining) {
        p->draining = true;
        if (p->tcp_reading)
            uv_read_stop((uv_stream_t *)&p->tcp);
        if (p->pipe_reading)
            uv_read_stop((uv_stream_t *)&p->pipe);
        p->tcp_reading = p->pipe_reading = false;
        uv_timer_start(&p->timer, linger_expired, FO_TLS_PUMP_LINGER_MS, 0);
    }
    if (p->to_tcp == 0 && p->to_pipe == 0)
        pump_close(p);
}

static void report(struct fo_tls_pump *p, enum fo_tls_reason status, int fd, const char *detail)
{
    struct fo_tls_pump_result res = {.status = status, .fd = fd, .remote = p->remote};

    if (p->reported)
        return;
    p->reported = true;
    res.detail = detail != NULL ? detail : "";
    if (status == FO_TLS_OK) {
        X509 *x = SSL_get0_peer_certificate(p->ssl);
        X509_NAME *subj = x != NULL ? X509_get_subject_name(x) : NULL;
        char ou[32] = "";
        if (subj != NULL) {
            X509_NAME_get_text_by_NID(subj, NID_commonName, res.peer.name, sizeof(res.peer.name));
            X509_NAME_get_text_by_NID(subj, NID_organizationalUnitName, ou, sizeof(ou));
        }
        res.peer.role = strcmp(ou, "node") == 0       ? FO_TLS_ROLE_NODE
                        : strcmp(ou, "operator") == 0 ? FO_TLS_ROLE_OPERATOR
                                                      : FO_TLS_ROLE_NONE;
    }
    p->o.cb(p, &res);
}

/* Refuse before the result: tell the user, send what TLS has to say (an alert naming
 * the problem), then close. */
static void pump_fail(struct fo_tls_pump *p, enum fo_tls_reason why, const char *detail)
{
    report(p, why, -1, detail);
    pump_drain(p);
}

/* ---- writing ----------------------------------------------------------------------- */

static void write_done(uv_write_t *w, int status)
{
    struct pump_write *pw = (struct pump_write *)w;
    struct fo_tls_pump *p = pw->p;
    bool was_high;

    if (pw->to_tcp) {
        was_high = p->to_tcp > FO_TLS_PUMP_HIGH;
        p->to_tcp -= pw->len;
    } else {
        was_high = p->to_pipe > FO_TLS_PUMP_HIGH;
        p->to_pipe -= pw->len;
    }
    free(pw);
    if (p->closing)
        return;
    if (status != 0) {
        pump_close(p); /* a side is gone: nothing more can be delivered */
        return;
    }
    if (p->draining) {
        pump_drain(p);
        return;
    }
    if (!was_high)
        return;
    /* Below the mark again: resume what was paused (records may wait in OpenSSL). */
    if (p->open)
        pump_drive(p);
    else
        update_reads(p);
}

static int queue_write(struct fo_tls_pump *p, bool to_tcp, const void *data, size_t len)
{
    struct pump_write *pw = malloc(sizeof(*pw) + len);
    uv_buf_t b;

    if (pw == NULL)
        return UV_ENOMEM;
    pw->p = p;
    pw->to_tcp = to_tcp;
    pw->len = len;
    memcpy(pw->data, data, len);
    b = uv_buf_init(pw->data, (unsigned)len);
    if (uv_write(&pw->w, to_tcp ? (uv_stream_t *)&p->tcp : (uv_stream_t *)&p->pipe, &b, 1,
                 write_done) != 0) {
        free(pw);
        return UV_EPIPE;
    }
    if (to_tcp)
        p->to_tcp += len;
    else
        p->to_pipe += len;
    return 0;
}

/* Move whatever OpenSSL wrote into wbio onto the TCP socket. */
static int flush_wbio(struct fo_tls_pump *p)
{
    char buf[16384];
    int n;

    while ((n = BIO_read(p->wbio, buf, sizeof(buf))) > 0)
        if (queue_write(p, true, buf, (size_t)n) != 0)
            return -1;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(READ_CHUNK);
    buf->len = buf->base != NULL ? READ_CHUNK : 0;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Start or stop the two reads according to the queues: read from the peer only while
 * the user's side is below the mark, and vice versa. */
static void update_reads(struct fo_tls_pump *p)
{
    bool want_tcp = !p->draining && !p->closing && p->to_pipe <= FO_TLS_PUMP_HIGH;
    bool want_pipe = p->open && !p->draining && !p->closing && p->to_tcp <= FO_TLS_PUMP_HIGH;

    if (want_tcp != p->tcp_reading) {
        if (want_tcp)
            want_tcp = uv_read_start((uv_stream_t *)&p->tcp, alloc_cb, tcp_read) == 0;
        else
            uv_read_stop((uv_stream_t *)&p->tcp);
        p->tcp_reading = want_tcp;
    }
    if (want_pipe != p->pipe_reading) {
        if (want_pipe)
            want_pipe = uv_read_start((uv_stream_t *)&p->pipe, alloc_cb, pipe_read) == 0;
        else
            uv_read_stop((uv_stream_t *)&p->pipe);
        p->pipe_reading = want_pipe;
    }
}

/* Map what the verify callback saw to a reason; the first failure wins. */
static enum fo_tls_reason verify_reason(int code)
{
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return FO_TLS_EXPIRED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
        return FO_TLS_WRONG_PEER;
    case X509_V_ERR_CERT_REVOKED:
        return FO_TLS_REVOKED;
    default:
        return FO_TLS_UNKNOWN_CA;
    }
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct fo_tls_pump *p = SSL_get_ex_data(ssl, ssl_index);

    if (!ok && p != NULL && p->verify_reason == FO_TLS_OK)
        p->verify_reason = verify_reason(X509_STORE_CTX_get_error(xs));
    return ok;
}

/* What the peer's alert (received during the handshake) said about us. */
static enum fo_tls_reason alert_reason(int lib_reason)
{
    switch (lib_reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return FO_TLS_NO_CERT;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        return FO_TLS_UNKNOWN_CA;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return FO_TLS_EXPIRED;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        return FO_TLS_REVOKED;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
        return FO_TLS_NOT_TLS;
    default:
        return FO_TLS_HANDSHAKE;
    }
}

static void handshake_failed(struct fo_tls_pump *p)
{
    unsigned long e = ERR_peek_error();
    enum fo_tls_reason why = p->verify_reason;
    char detail[200];

    if (why == FO_TLS_OK)
        why = alert_reason(ERR_GET_REASON(e));
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    else
        snprintf(detail, sizeof(detail), "handshake failed");
    ERR_clear_error();
    flush_wbio(p); /* the alert, so the peer learns why */
    pump_fail(p, why, detail);
}

static bool is_node_cert(X509 *x)
{
    char ou[32] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationalUnitName, ou, sizeof(ou));
    return strcmp(ou, "node") == 0;
}

static void handshake_done(struct fo_tls_pump *p)
{
    X509 *x = SSL_get0_peer_certificate(p->ssl);
    int fds[2];

    uv_timer_stop(&p->timer);
    /* An admin server lets operators come without a client certificate (their token
     * authenticates them); everywhere else OpenSSL has already refused that. */
    if (x == NULL && !(p->server && p->o.optional_client_cert)) {
        pump_fail(p, FO_TLS_NO_CERT, "the peer presented no certificate");
        return;
    }
    if (p->expect[0] != '\0' && !is_node_cert(x)) {
        pump_fail(p, FO_TLS_WRONG_PEER, "the certificate names the node but is not a node's");
        return;
    }
    /* A handshake that began before a reload verified with the old context: verify
     * again with the current one, so a peer revoked meanwhile never gets through. */
    if (SSL_get_SSL_CTX(p->ssl) != p->t->ctx) {
        char detail[160];
        enum fo_tls_reason why = peer_recheck(p, detail, sizeof(detail));
        if (why != FO_TLS_OK) {
            pump_fail(p, why, detail);
            return;
        }
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        pump_fail(p, FO_TLS_IO, strerror(errno));
        return;
    }
    uv_pipe_init(p->loop, &p->pipe, 0);
    p->pipe.data = p;
    p->handles++;
    p->open = true; /* from here pump_close closes the pipe handle too */
    if (uv_pipe_open(&p->pipe, fds[0]) != 0) {
        close(fds[0]);
        close(fds[1]);
        pump_fail(p, FO_TLS_IO, "cannot open the local stream");
        return;
    }
    report(p, FO_TLS_OK, fds[1], NULL);
}

/* Run OpenSSL over what has arrived: the handshake, then records to the user. */
static void pump_drive(struct fo_tls_pump *p)
{
    char buf[16384];
    int n;

    if (p->closing || (p->reported && !p->open))
        return;
    if (!SSL_is_init_finished(p->ssl)) {
        n = SSL_do_handshake(p->ssl);
        if (flush_wbio(p) != 0) {
            pump_fail(p, FO_TLS_IO, "cannot write to the peer");
            return;
        }
        if (n != 1) {
            int e = SSL_get_error(p->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                update_reads(p);
            else
                handshake_failed(p);
            return;
        }
        handshake_done(p);
        if (!p->open || p->closing || p->draining)
            return;
    }
    while (!p->draining && p->to_pipe <= FO_TLS_PUMP_HIGH) {
        n = SSL_read(p->ssl, buf, sizeof(buf));
        if (n > 0) {
            if (queue_write(p, false, buf, (size_t)n) != 0) {
                pump_drain(p);
                return;
            }
            continue;
        }
        if (SSL_get_error(p->ssl, n) != SSL_ERROR_WANT_READ) {
            /* close_notify or a broken stream: the peer is done. */
            ERR_clear_error();
            flush_wbio(p);
            pump_drain(p);
            return;
        }
        break;
    }
    if (flush_wbio(p) != 0) {
        pump_drain(p);
        return;
    }
    update_reads(p);
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fo_tls_pump *p = s->data;

    if (nread < 0) {
        free(buf->base);
        if (!p->reported)
            pump_fail(p, FO_TLS_IO,
                      nread == UV_EOF ? "the peer closed during the handshake"
                                      : uv_strerror((int)nread));
        else
            pump_drain(p);
        return;
    }
    if (nread > 0 && !p->seen_first) {
        unsigned char b = (unsigned char)buf->base[0];
        p->seen_first = true;
        if (b != TLS_RECORD_HANDSHAKE && b != TLS_RECORD_ALERT) {
            free(buf->base);
            if (p->server && p->o.plain_reply != NULL)
                queue_write(p, true, p->o.plain_reply, p->o.plain_reply_len);
            pump_fail(p, FO_TLS_NOT_TLS,
                      p->server ? "the client does not speak TLS"
                                : "the server does not speak TLS (is its tls.mode off?)");
            return;
        }
    }
    if (nread > 0 && BIO_write(p->rbio, buf->base, (int)nread) != (int)nread) {
        free(buf->base);
        pump_fail(p, FO_TLS_IO, "out of memory");
        return;
    }
    free(buf->base);
    pump_drive(p);
}

static void pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fo_tls_pump *p = s->data;

    if (nread < 0) {
        free(buf->base);
        /* The user is done: say so to the peer (close_notify), then close. */
        SSL_shutdown(p->ssl);
        ERR_clear_error();
        flush_wbio(p);
        pump_drain(p);
        return;
    }
    /* A memory BIO never blocks: SSL_write takes it all (in records of 16 KiB). */
    for (ssize_t off = 0; off < nread;) {
        int n = SSL_write(p->ssl, buf->base + off, (int)(nread - off));
        if (n <= 0) {
            free(buf->base);
            ERR_clear_error();
            pump_drain(p);
            return;
        }
        off += n;
    }
    free(buf->base);
    if (flush_wbio(p) != 0) {
        pump_drain(p);
        return;
    }
    update_reads(p);
}

/* ---- starting ---------------------------------------------------------------------- */

static void handshake_expired(uv_timer_t *t)
{
    struct fo_tls_pump *p = t->data;
    pump_fail(p, FO_TLS_TIMEOUT, "no TLS handshake within the time limit");
}

static struct fo_tls_pump *pump_new(struct fo_tls *t, uv_loop_t *loop, bool server,
                                    const struct fo_tls_pump_opts *o)
{
    struct fo_tls_pump *p;

    if (ssl_index < 0)
        ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (ssl_index < 0 || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->t = t;
    p->loop = loop;
    p->o = *o;
    p->server = server;
    snprintf(p->remote, sizeof(p->remote), "?");
    if (o->expect != NULL)
        snprintf(p->expect, sizeof(p->expect), "%s", o->expect);
    p->o.expect = NULL; /* the caller's string is not kept */
    p->ssl = SSL_new(t->ctx);
    p->rbio = BIO_new(BIO_s_mem());
    p->wbio = BIO_new(BIO_s_mem());
    if (p->ssl == NULL || p->rbio == NULL || p->wbio == NULL) {
        SSL_free(p->ssl);
        BIO_free(p->rbio);
        BIO_free(p->wbio);
        free(p);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(p->ssl, p->rbio, p->wbio);
    SSL_set_ex_data(p->ssl, ssl_index, p);
    /* A server without `expect` (the admin port) lets operators come without a client
     * certificate: their token authenticates them. Raft servers require one. */
    SSL_set_verify(p->ssl,
                   server && o->optional_client_cert
                       ? SSL_VERIFY_PEER
                       : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                   verify_cb);
    if (p->expect[0] != '\0')
        SSL_set1_host(p->ssl, p->expect); /* checked against subjectAltName DNS */
    if (server)
        SSL_set_accept_state(p->ssl);
    else
        SSL_set_connect_state(p->ssl);
    uv_tcp_init(loop, &p->tcp);
    uv_timer_init(loop, &p->timer);
    p->tcp.data = p->timer.data = p->connect.data = p;
    p->handles = 2;
    uv_timer_start(&p->timer, handshake_expired, t->handshake_timeout_ms, 0);
    link_pump(p);
    return p;
}

static void set_remote(struct fo_tls_pump *p, const struct sockaddr *sa)
{
    char host[64] = "?";

    if (sa->sa_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)sa, host, sizeof(host));
        snprintf(p->remote, sizeof(p->remote), "%s:%u", host,
                 ntohs(((const struct sockaddr_in *)sa)->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)sa, host, sizeof(host));
        snprintf(p->remote, sizeof(p->remote), "[%s]:%u", host,
                 ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
    }
}

int fo_tls_pump_accept(struct fo_tls *t, uv_loop_t *loop, uv_stream_t *listener,
                       const struct fo_tls_pump_opts *o, struct fo_tls_pump **out)
{
    struct fo_tls_pump *p = pump_new(t, loop, true, o);
    struct sockaddr_storage ss;
    int len = sizeof(ss), rv;

    if (p == NULL)
        return UV_ENOMEM;
    if ((rv = uv_accept(listener, (uv_stream_t *)&p->tcp)) != 0) {
        p->reported = true; /* the caller hears the error code, not the callback */
        p->o.on_end = NULL;
        pump_close(p);
        return rv;
    }
    if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len) == 0)
        set_remote(p, (struct sockaddr *)&ss);
    uv_tcp_nodelay(&p->tcp, 1);
    update_reads(p);
    if (out != NULL)
        *out = p;
    return 0;
}

static void connected(uv_connect_t *req, int status)
{
    struct fo_tls_pump *p = req->data;

    if (p->closing || p->reported)
        return;
    if (status != 0) {
        pump_fail(p, FO_TLS_IO, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&p->tcp, 1);
    pump_drive(p); /* writes the ClientHello, starts reading */
}

int fo_tls_pump_connect(struct fo_tls *t, uv_loop_t *loop, const struct sockaddr *addr,
                        const struct fo_tls_pump_opts *o, struct fo_tls_pump **out)
{
    struct fo_tls_pump *p = pump_new(t, loop, false, o);
    int rv;

    if (p == NULL)
        return UV_ENOMEM;
    set_remote(p, addr);
    if ((rv = uv_tcp_connect(&p->connect, &p->tcp, addr, connected)) != 0) {
        p->reported = true;
        p->o.on_end = NULL;
        pump_close(p);
        return rv;
    }
    if (out != NULL)
        *out = p;
    return 0;
}

void fo_tls_pump_abort(struct fo_tls_pump *p)
{
    if (p->closing)
        return;
    if (!p->reported)
        report(p, FO_TLS_IO, -1, "aborted");
    pump_close(p);
}

void *fo_tls_pump_data(const struct fo_tls_pump *p)
{
    return p->o.data;
}

bool fo_tls_pump_open(const struct fo_tls_pump *p)
{
    return p->open;
}

void fo_tls_pump_queued(const struct fo_tls_pump *p, size_t *to_peer, size_t *to_user)
{
    *to_peer = p->to_tcp;
    *to_user = p->to_pipe;
}

/* Verify an open connection's peer again, against the context's store as it is now. A
 * peer that showed no certificate (an operator on the admin port, who proved itself
 * with a token) has nothing to re-verify. The name was checked at the handshake and
 * a certificate cannot change it. */
static enum fo_tls_reason peer_recheck(struct fo_tls_pump *p, char *detail, size_t len)
{
    X509 *leaf = SSL_get0_peer_certificate(p->ssl);
    X509_STORE_CTX *vc;
    enum fo_tls_reason why = FO_TLS_OK;

    if (leaf == NULL)
        return FO_TLS_OK;
    vc = X509_STORE_CTX_new();
    if (vc == NULL || X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(p->t->ctx), leaf,
                                          SSL_get_peer_cert_chain(p->ssl)) != 1) {
        /* Out of memory: keeping a verified connection is the lesser harm; the next
         * reconnect verifies it in full. */
        X509_STORE_CTX_free(vc);
        ERR_clear_error();
        return FO_TLS_OK;
    }
    if (X509_verify_cert(vc) != 1) {
        int code = X509_STORE_CTX_get_error(vc);
        why = verify_reason(code);
        snprintf(detail, len, "verified again after a reload: %s",
                 X509_verify_cert_error_string(code));
    }
    X509_STORE_CTX_free(vc);
    ERR_clear_error();
    return why;
}

unsigned fo_tls_pump_recheck(struct fo_tls *t)
{
    unsigned cut = 0;
    char detail[160];

    for (struct fo_tls_pump *p = t->pumps, *next; p != NULL; p = next) {
        enum fo_tls_reason why;
        next = p->next; /* abort only starts closing: p stays linked until its handles close */
        if (!p->open || p->closing)
            continue;
        if ((why = peer_recheck(p, detail, sizeof(detail))) == FO_TLS_OK)
            continue;
        fo_tls_refused(t, "reload", p->remote, why, detail);
        fo_tls_pump_abort(p);
        cut++;
    }
    return cut;
}
