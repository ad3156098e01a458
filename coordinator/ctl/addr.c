/*
 * coordinator/ctl/addr.c — see addr.h.
 */
#include "coordinator/ctl/addr.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

int fo_addr_parse(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = s != NULL ? strrchr(s, ':') : NULL;
    char *end;
    unsigned long port;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port == 0 || port > 65535)
        return -1;
    return uv_ip4_addr(host, (int)port, out) == 0 ? 0 : -1;
}
