/*
 * tests/unit/test_addr.c — coordinator/config/addr.h, the one "host:port" parser.
 *
 * What is checked: IPv4 and bracketed IPv6 literals (with a zone) parse to the right family,
 * address, port and length; every refusal gives its own typed reason (no port, port 0,
 * over 65535, leading zero, signs, empty host, unbracketed IPv6, bracketed IPv4, host
 * names, garbage, too long) with the output zeroed; the reasons all have text; and
 * fo_addr_format writes what fo_addr_parse reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "coordinator/config/addr.h"

static void test_ipv4(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    char ip[INET_ADDRSTRLEN];

    (void)state;
    assert_int_equal(fo_addr_parse("10.0.2.10:7301", &ss, &len), FO_ADDR_OK);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(in->sin_port), 7301);
    assert_non_null(inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)));
    assert_string_equal(ip, "10.0.2.10");
    assert_int_equal(fo_addr_parse("0.0.0.0:65535", &ss, NULL), FO_ADDR_OK);
    assert_int_equal(ntohs(in->sin_port), 65535);
    assert_int_equal(fo_addr_parse("127.0.0.1:1", &ss, NULL), FO_ADDR_OK);
    assert_int_equal(ntohs(in->sin_port), 1);
}

static void test_ipv6(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    char ip[INET6_ADDRSTRLEN];

    (void)state;
    assert_int_equal(fo_addr_parse("[::1]:7401", &ss, &len), FO_ADDR_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(in6->sin6_port), 7401);
    assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    assert_int_equal(fo_addr_parse("[2001:db8::10]:443", &ss, NULL), FO_ADDR_OK);
    assert_non_null(inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)));
    assert_string_equal(ip, "2001:db8::10");
    assert_int_equal(ntohs(in6->sin6_port), 443);
    assert_int_equal(fo_addr_parse("[::]:7601", &ss, NULL), FO_ADDR_OK);
    assert_true(IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr));
    /* A numeric zone: getaddrinfo takes it without an interface lookup. */
    assert_int_equal(fo_addr_parse("[fe80::1%1]:7401", &ss, NULL), FO_ADDR_OK);
    assert_int_equal(in6->sin6_scope_id, 1);
}

struct bad {
    const char *s;
    enum fo_addr_err want;
};

static void test_refused(void **state)
{
    static const struct bad cases[] = {
        {"", FO_ADDR_EMPTY},
        {"10.0.2.10", FO_ADDR_NO_PORT},
        {"10.0.2.10:", FO_ADDR_NO_PORT},
        {"[::1]", FO_ADDR_NO_PORT},
        {"[::1]7401", FO_ADDR_NO_PORT},
        {"[::1]:", FO_ADDR_NO_PORT},
        {"10.0.2.10:0", FO_ADDR_BAD_PORT},
        {"10.0.2.10:65536", FO_ADDR_BAD_PORT},
        {"10.0.2.10:99999", FO_ADDR_BAD_PORT},
        {"10.0.2.10:073011", FO_ADDR_BAD_PORT},
        {"10.0.2.10:07301", FO_ADDR_BAD_PORT},
        {"10.0.2.10:+80", FO_ADDR_BAD_PORT},
        {"10.0.2.10:-1", FO_ADDR_BAD_PORT},
        {"10.0.2.10:80x", FO_ADDR_BAD_PORT},
        {"10.0.2.10: 80", FO_ADDR_BAD_PORT},
        {":7301", FO_ADDR_NO_HOST},
        {"[]:7301", FO_ADDR_NO_HOST},
        {"::1:7301", FO_ADDR_UNBRACKETED_V6},
        {"2001:db8::1:443", FO_ADDR_UNBRACKETED_V6},
        {"localhost:7401", FO_ADDR_HOSTNAME},
        {"node2.example.com:7301", FO_ADDR_HOSTNAME},
        {"10.0.2:7301", FO_ADDR_BAD_HOST},
        {"10.0.2.256:7301", FO_ADDR_BAD_HOST},
        {"[10.0.2.10]:7301", FO_ADDR_BAD_HOST}, /* brackets are for IPv6 */
        {"[localhost]:7301", FO_ADDR_BAD_HOST},
        {"[::1:7301", FO_ADDR_BAD_HOST},
        {"[::g]:7301", FO_ADDR_BAD_HOST},
        {"10.0.0.1 :80", FO_ADDR_BAD_HOST},
        {"$%^:80", FO_ADDR_BAD_HOST},
    };
    struct sockaddr_storage ss, zero;
    socklen_t len;

    (void)state;
    memset(&zero, 0, sizeof(zero));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&ss, 0xa5, sizeof(ss));
        len = 99;
        enum fo_addr_err got = fo_addr_parse(cases[i].s, &ss, &len);
        if (got != cases[i].want)
            fail_msg("'%s': got %d (%s), want %d (%s)", cases[i].s, got, fo_addr_strerror(got),
                     cases[i].want, fo_addr_strerror(cases[i].want));
        assert_memory_equal(&ss, &zero, sizeof(ss));
        assert_int_equal(len, 0);
    }
    assert_int_equal(fo_addr_parse(NULL, &ss, NULL), FO_ADDR_EMPTY);
}

static void test_too_long(void **state)
{
    char s[FO_ADDR_TEXT_MAX + 8];
    struct sockaddr_storage ss;

    (void)state;
    memset(s, '1', sizeof(s));
    memcpy(s + sizeof(s) - 6, ":7301", 6); /* FO_ADDR_TEXT_MAX + 7 bytes */
    assert_int_equal(fo_addr_parse(s, &ss, NULL), FO_ADDR_TOO_LONG);
}

static void test_messages(void **state)
{
    (void)state;
    /* Every reason has its own text; an unknown value still gets one. */
    for (int e = FO_ADDR_EMPTY; e <= FO_ADDR_BAD_HOST; e++) {
        assert_non_null(fo_addr_strerror((enum fo_addr_err)e));
        for (int f = FO_ADDR_OK; f < e; f++)
            assert_string_not_equal(fo_addr_strerror((enum fo_addr_err)e),
                                    fo_addr_strerror((enum fo_addr_err)f));
    }
    assert_non_null(strstr(fo_addr_strerror(FO_ADDR_HOSTNAME), "host name"));
    assert_string_equal(fo_addr_strerror((enum fo_addr_err)99), "unknown address error");
}

static void test_format_round_trip(void **state)
{
    static const char *const good[] = {"10.0.2.10:7301", "[::1]:7401", "[2001:db8::10]:443"};
    struct sockaddr_storage ss;
    struct sockaddr none = {.sa_family = AF_UNIX};
    char buf[FO_ADDR_TEXT_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(fo_addr_parse(good[i], &ss, NULL), FO_ADDR_OK);
        assert_string_equal(fo_addr_format((const struct sockaddr *)&ss, buf, sizeof(buf)),
                            good[i]);
    }
    assert_string_equal(fo_addr_format(&none, buf, sizeof(buf)), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),     cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refused),  cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_messages), cmocka_unit_test(test_format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
