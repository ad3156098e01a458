/*
 * actions/pg_ssl.h — the TLS settings of a Postgres connection (issue 14): libpq's own
 * keywords, as the config (sites.*.postgres), the plan's step parameters, the probes and
 * the actions all name them. One list, so that each passes what the config holds to
 * libpq as keyword/value pairs (PQconnectStartParams), never formatted into a string.
 *
 *   sslmode      disable, allow, prefer (libpq's default), require, verify-ca, verify-full
 *   sslrootcert  the CA certificate(s) verify-ca and verify-full check the server with
 *   sslcert      a client certificate, for servers that authenticate by certificate
 *   sslkey       its private key (mode 0600, as libpq requires)
 */
#ifndef FO_ACTIONS_PG_SSL_H
#define FO_ACTIONS_PG_SSL_H

enum fo_pg_ssl { FO_PG_SSLMODE = 0, FO_PG_SSLROOTCERT, FO_PG_SSLCERT, FO_PG_SSLKEY, FO_PG_NSSL };

/* Initialiser of a const char *[FO_PG_NSSL]: the keywords, indexed by enum fo_pg_ssl. */
#define FO_PG_SSL_KEYWORDS                                                                         \
    {                                                                                              \
        "sslmode", "sslrootcert", "sslcert", "sslkey"                                              \
    }

/* Initialiser of a NULL-terminated const char *[]: the values sslmode takes. */
#define FO_PG_SSLMODES                                                                             \
    {                                                                                              \
        "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL                  \
    }

#endif
