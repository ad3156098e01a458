/*
 * coordinator/config/addr.c — see addr.h.
 */
#include "coordinator/config/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const addr_errors[] = {
    [FO_ADDR_OK] = "ok",
    [FO_ADDR_EMPTY] = "empty",
    [FO_ADDR_TOO_LONG] = "too long",
    [FO_ADDR_NO_PORT] = "no port (host:port or [v6]:port)",
    [FO_ADDR_BAD_PORT] = "port is not 1 to 65535",
    [FO_ADDR_NO_HOST] = "no host before the port",
    [FO_ADDR_UNBRACKETED_V6] = "an IPv6 address needs brackets: [v6]:port",
    [FO_ADDR_HOSTNAME] = "a host name, not an IP address (names are not resolved)",
    [FO_ADDR_BAD_HOST] = "not an IPv4 or IPv6 address",
};

const char *fo_addr_strerror(enum fo_addr_err err)
{
    if ((size_t)err >= sizeof(addr_errors) / sizeof(addr_errors[0]))
        return "unknown address error";
    return addr_errors[err];
}

/* "1".."65535", digits only, no leading zero. */
static bool parse_port(const char *s, unsigned *port)
{
    unsigned long v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 5 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *port = (unsigned)v;
    return true;
}

/* Letters, digits, dots and dashes with at least one letter: a name, so the error can say
 * so instead of "not an address". (An IPv4 literal has no letter.) */
static bool looks_like_name(const char *h)
{
    bool letter = false;

    for (; *h != '\0'; h++) {
        if ((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z'))
            letter = true;
        else if (!((*h >= '0' && *h <= '9') || *h == '.' || *h == '-'))
            return false;
    }
    return letter;
}

/* Split s into host (brackets removed) and port text. */
static enum fo_addr_err split(const char *s, char *host, size_t cap, const char **port,
                              bool *bracketed)
{
    const char *colon, *end;

    *bracketed = s[0] == '[';
    if (*bracketed) {
        end = strchr(s, ']');
        if (end == NULL)
            return FO_ADDR_BAD_HOST;
        if (end[1] != ':')
            return FO_ADDR_NO_PORT;
        colon = end + 1;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return FO_ADDR_NO_PORT;
        end = colon;
        if (memchr(s, ':', (size_t)(colon - s)) != NULL)
            return FO_ADDR_UNBRACKETED_V6;
    }
    if (end == s)
        return FO_ADDR_NO_HOST;
    if ((size_t)(end - s) >= cap)
        return FO_ADDR_TOO_LONG;
    memcpy(host, s, (size_t)(end - s));
    host[end - s] = '\0';
    *port = colon + 1;
    return FO_ADDR_OK;
}

enum fo_addr_err fo_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
    char host[FO_ADDR_TEXT_MAX + 1];
    const char *port_text;
    struct addrinfo hints, *res = NULL;
    enum fo_addr_err err;
    unsigned port = 0;
    bool bracketed;

    memset(out, 0, sizeof(*out));
    if (len != NULL)
        *len = 0;
    if (s == NULL || s[0] == '\0')
        return FO_ADDR_EMPTY;
    if (strlen(s) > FO_ADDR_TEXT_MAX)
        return FO_ADDR_TOO_LONG;
    if ((err = split(s, host, sizeof(host), &port_text, &bracketed)) != FO_ADDR_OK)
        return err;
    if (!parse_port(port_text, &port))
        return port_text[0] == '\0' ? FO_ADDR_NO_PORT : FO_ADDR_BAD_PORT;
    memset(&hints, 0, sizeof(hints));
    /* The brackets decide the family: "[1.2.3.4]:80" and "::1:80" are both refused. */
    hints.ai_family = bracketed ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    /* glibc's getaddrinfo takes inet_aton's forms too ("10.0.2" is 10.0.0.2, "0x7f.1" is
     * 127.0.0.1): an IPv4 host must also be the dotted quad inet_pton reads, so an address
     * is written one way only. */
    if ((!bracketed && inet_pton(AF_INET, host, &(struct in_addr){0}) != 1) ||
        getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        if (res != NULL)
            freeaddrinfo(res);
        return !bracketed && looks_like_name(host) ? FO_ADDR_HOSTNAME : FO_ADDR_BAD_HOST;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    if (len != NULL)
        *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    return FO_ADDR_OK;
}

char *fo_addr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}
