/*
 * tests/common/mpbuild.c — see mpbuild.h.
 */
#include "tests/common/mpbuild.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fo_buf mp_build(const char *fmt, ...)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct fo_buf out;
    va_list ap;
    const char *p = fmt;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    va_start(ap, fmt);
    while (*p != '\0') {
        char *end;
        switch (*p) {
        case ' ':
            p++;
            continue;
        case 'M':
            msgpack_pack_map(&pk, strtoul(p + 1, &end, 10));
            p = end;
            continue;
        case 'A':
            msgpack_pack_array(&pk, strtoul(p + 1, &end, 10));
            p = end;
            continue;
        case 's': {
            const char *s = va_arg(ap, const char *);
            msgpack_pack_str(&pk, strlen(s));
            msgpack_pack_str_body(&pk, s, strlen(s));
            break;
        }
        case 'u':
            msgpack_pack_uint64(&pk, va_arg(ap, uint64_t));
            break;
        case 'i':
            msgpack_pack_int64(&pk, va_arg(ap, int64_t));
            break;
        case 'b':
            if (va_arg(ap, int))
                msgpack_pack_true(&pk);
            else
                msgpack_pack_false(&pk);
            break;
        case 'n':
            msgpack_pack_nil(&pk);
            break;
        case 'f':
            msgpack_pack_double(&pk, va_arg(ap, double));
            break;
        case 'x':
            p++;
            while (p[0] != '\0' && p[0] != ' ' && p[1] != '\0') {
                char hex[3] = {p[0], p[1], 0};
                char byte = (char)strtoul(hex, NULL, 16);
                msgpack_sbuffer_write(&sb, &byte, 1);
                p += 2;
            }
            continue;
        default:
            fprintf(stderr, "mp_build: bad format at '%s'\n", p);
            abort();
        }
        p++;
    }
    va_end(ap);
    out.len = sb.size;
    out.data = (uint8_t *)msgpack_sbuffer_release(&sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}
