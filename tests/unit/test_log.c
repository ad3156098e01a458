/*
 * tests/unit/test_log.c — coordinator/log.h: values from the network are escaped so that
 * a line stays one line of key=value pairs, both formats, the journald priorities, the
 * level filter and what the options accept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "coordinator/log.h"

/* The line without its "ts=... " prefix (the clock is not ours to assert). */
static const char *after_ts(const char *line)
{
    const char *p = strstr(line, " level=");
    assert_non_null(p);
    return p + 1;
}

static int reset(void **state)
{
    (void)state;
    fo_log_setup("n1", FO_LOG_INFO);
    fo_log_set_format(FO_LOG_TEXT);
    fo_log_set_journal(false);
    return 0;
}

static void test_text_escapes_remote_values(void **state)
{
    (void)state;
    /* cmd as an admin client could send it: a forged pair, a newline, a second line */
    char *l = fo_log_render(FO_LOG_WARN, "admin.auth", "peer=%s cmd=%s result=%s reason=\"%s\"",
                            "10.0.0.1:5", "x result=ok\nts=forged level=error", "",
                            "said \"no\" \\ then\r\t\x01");
    assert_non_null(l);
    assert_string_equal(after_ts(l), "level=warn node=n1 event=admin.auth peer=10.0.0.1:5 "
                                     "cmd=\"x result=ok\\nts=forged level=error\" result=\"\" "
                                     "reason=\"said \\\"no\\\" \\\\ then\\r\\t\\x01\"\n");
    /* exactly one line */
    assert_ptr_equal(strchr(l, '\n'), l + strlen(l) - 1);
    free(l);
}

static void test_text_bytes_and_fragments(void **state)
{
    (void)state;
    /* valid UTF-8 stays (a bare value outside ASCII is quoted); a byte that is not UTF-8
     * and control bytes become \xNN, in a fragment the code composes too (b=%s%s: the
     * first is not a whole value, so neither is quoted) */
    char *l = fo_log_render(FO_LOG_INFO, "e", "a=%s b=%s%s n=%llu p=%.3s q=%.*s %%", "Zürich",
                            "\xff", " c=\x1b[31m", 18446744073709551615ULL, "abcdef", 2, "xyz");
    assert_non_null(l);
    assert_string_equal(after_ts(l), "level=info node=n1 event=e a=\"Zürich\" b=\\xff "
                                     "c=\\x1b[31m n=18446744073709551615 p=abc q=xy %\n");
    free(l);
    /* overlong and surrogate encodings are not UTF-8 either */
    l = fo_log_render(FO_LOG_INFO, "e", "v=\"%s\"", "\xc0\xaf\xed\xa0\x80");
    assert_non_null(l);
    assert_string_equal(after_ts(l),
                        "level=info node=n1 event=e v=\"\\xc0\\xaf\\xed\\xa0\\x80\"\n");
    free(l);
    /* a NULL string (glibc prints "(null)"; volatile: the compiler must not see it) */
    const char *volatile none = NULL;
    l = fo_log_render(FO_LOG_INFO, "e", "v=%s", none);
    assert_non_null(l);
    assert_string_equal(after_ts(l), "level=info node=n1 event=e v=(null)\n");
    free(l);
}

static void test_text_truncated_line_stays_parseable(void **state)
{
    char *big = malloc(3 * FO_LOG_LINE_MAX);
    char *l;
    size_t n;

    (void)state;
    assert_non_null(big);
    memset(big, '"', 3 * FO_LOG_LINE_MAX - 1);
    big[3 * FO_LOG_LINE_MAX - 1] = '\0';
    l = fo_log_render(FO_LOG_ERROR, "e", "error=\"%s\" after=1", big);
    assert_non_null(l);
    n = strlen(l);
    assert_true(n < FO_LOG_LINE_MAX + 100);
    /* every escape whole, the quote closed, the cut said */
    assert_string_equal(l + n - 19, "\\\"\" truncated=true\n");
    free(l);
    free(big);
}

static void test_journal_priorities(void **state)
{
    static const struct {
        enum fo_log_level level;
        const char *prefix;
    } cases[] = {
        {FO_LOG_DEBUG, "<7>"}, {FO_LOG_INFO, "<6>"}, {FO_LOG_WARN, "<4>"}, {FO_LOG_ERROR, "<3>"}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *l;
        fo_log_set_journal(true);
        l = fo_log_render(cases[i].level, "e", "k=v");
        assert_non_null(l);
        assert_memory_equal(l, cases[i].prefix, 3);
        assert_memory_equal(l + 3, "ts=", 3);
        free(l);
        fo_log_set_journal(false);
        l = fo_log_render(cases[i].level, "e", "k=v");
        assert_non_null(l);
        assert_memory_equal(l, "ts=", 3);
        free(l);
    }
}

static void test_journal_detect(void **state)
{
    struct stat st;
    char v[64];

    (void)state;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    unsetenv("JOURNAL_STREAM");
    assert_false(fo_log_journal_detect());
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    assert_true(fo_log_journal_detect());
    /* inherited by a process whose stderr goes elsewhere: not the journal */
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", v, 1);
    assert_false(fo_log_journal_detect());
    setenv("JOURNAL_STREAM", "garbage", 1);
    assert_false(fo_log_journal_detect());
    unsetenv("JOURNAL_STREAM");
}

static void test_json(void **state)
{
    json_error_t err;
    json_t *o;
    char *l;

    (void)state;
    fo_log_set_format(FO_LOG_JSON);
    fo_log_set_journal(true);
    l = fo_log_render(FO_LOG_WARN, "admin.auth",
                      "peer=%s cmd=%s event=%s reason=\"%s\" n=%u bad=\"%s\" loose words", "p",
                      "x\nforged=1", "mine", "a \"b\" \\ c\x01", 7u, "\xff");
    assert_non_null(l);
    assert_memory_equal(l, "<4>{", 4);
    assert_ptr_equal(strchr(l, '\n'), l + strlen(l) - 1);
    o = json_loads(l + 3, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "node")), "n1");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "admin.auth");
    assert_non_null(json_string_value(json_object_get(o, "ts")));
    assert_string_equal(json_string_value(json_object_get(o, "peer")), "p");
    /* the value, decoded: its newline is a newline, and no "forged" member */
    assert_string_equal(json_string_value(json_object_get(o, "cmd")), "x\nforged=1");
    assert_null(json_object_get(o, "forged"));
    /* a pair named like one of the line's own keys keeps its value under key_ */
    assert_string_equal(json_string_value(json_object_get(o, "event_")), "mine");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "a \"b\" \\ c\x01");
    assert_string_equal(json_string_value(json_object_get(o, "n")), "7");
    /* a byte that is not UTF-8 cannot be in a JSON string: its escape, as text */
    assert_string_equal(json_string_value(json_object_get(o, "bad")), "\\xff");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "loose words");
    json_decref(o);
    /* ASCII only on the wire */
    for (const unsigned char *p = (const unsigned char *)l; *p != '\0'; p++)
        assert_true(*p < 0x80);
    free(l);
}

static void test_level_filter_writes_to_stderr(void **state)
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    char buf[512] = "";
    size_t n;

    (void)state;
    assert_non_null(f);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
    fo_log_setup("n1", FO_LOG_WARN);
    fo_log_info("below", "k=%d", 1);
    fo_log_warn("at", "k=%d", 2);
    fo_log_error("above", "k=%s", "three words");
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_null(strstr(buf, "event=below"));
    assert_non_null(strstr(buf, "level=warn node=n1 event=at k=2\n"));
    assert_non_null(strstr(buf, "level=error node=n1 event=above k=\"three words\"\n"));
}

static void test_parse_options(void **state)
{
    (void)state;
    assert_int_equal(fo_log_format_parse("text"), FO_LOG_TEXT);
    assert_int_equal(fo_log_format_parse("json"), FO_LOG_JSON);
    assert_int_equal(fo_log_format_parse("JSON"), -1);
    assert_int_equal(fo_log_format_parse(""), -1);
    assert_int_equal(fo_log_level_parse("warn"), FO_LOG_WARN);
    assert_int_equal(fo_log_level_parse("warning"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text_escapes_remote_values, reset),
        cmocka_unit_test_setup(test_text_bytes_and_fragments, reset),
        cmocka_unit_test_setup(test_text_truncated_line_stays_parseable, reset),
        cmocka_unit_test_setup(test_journal_priorities, reset),
        cmocka_unit_test_setup(test_journal_detect, reset),
        cmocka_unit_test_setup(test_json, reset),
        cmocka_unit_test_setup(test_level_filter_writes_to_stderr, reset),
        cmocka_unit_test_setup(test_parse_options, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
