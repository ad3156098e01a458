/*
 * coordinator/log.h — one line per event, key=value pairs, to stderr (DESIGN §9):
 *
 *   ts=2026-11-23T17:01:02.345Z level=info node=us-east-1 event=raft.role role=leader term=3
 *
 * The caller writes the pairs after `event=` as a printf format; strings that may hold
 * spaces go in quotes (`reason="%s"`). Never pass secrets: tokens and passwords are not
 * logged, not even in errors.
 *
 * Escaping (values often come from the network: an admin command, a feed's name, an
 * error text a server sent). Every %s argument is escaped by where it stands in the
 * format, so a value can never forge a pair, a quote or a second line:
 *   - inside a quoted value ("...%s..."): \" \\ \n \r \t, other control bytes and bytes
 *     that are not UTF-8 as \xNN;
 *   - as a whole bare value (right after `=`): written as is when it holds only
 *     printable non-space characters and no '"', '=' or '\'; else quoted and escaped as
 *     above (an empty value becomes "");
 *   - anywhere else (a fragment the code composes): control and non-UTF-8 bytes as \xNN.
 * Numbers need nothing. A line longer than FO_LOG_LINE_MAX is cut, its open quote
 * closed, and ends with ` truncated=true`. So every text line parses as logfmt.
 *
 * Formats: FO_LOG_TEXT (above) or FO_LOG_JSON, one object per line with ts, level, node,
 * event and every pair as a string member (a pair named like one of those four gets a
 * trailing '_'; words that are not pairs go to "msg"):
 *   {"ts":"2026-11-23T17:01:02.345Z","level":"info","node":"us-east-1","event":"raft.role",
 *    "role":"leader","term":"3"}
 *
 * journald: when stderr is the journal (systemd sets JOURNAL_STREAM to its device:inode),
 * every line starts with its syslog priority, <3> error, <4> warn, <6> info, <7> debug
 * (sd-daemon.h's SD_ERR ...), which journald strips and stores as PRIORITY=, so
 * `journalctl -p warning` shows warnings and errors.
 *
 * Settings (node name, minimum level, format, journal) are process-wide, set by main
 * before the loop and any thread start, like syslog's ident. Thread-safe after setup:
 * each line is one write(2).
 */
#ifndef FO_COORDINATOR_LOG_H
#define FO_COORDINATOR_LOG_H

#include <stdbool.h>

enum fo_log_level { FO_LOG_DEBUG = 0, FO_LOG_INFO, FO_LOG_WARN, FO_LOG_ERROR };
enum fo_log_format { FO_LOG_TEXT = 0, FO_LOG_JSON };

/* The longest line (text) before it is cut; a JSON line may be longer (its escapes). */
#define FO_LOG_LINE_MAX 2048

/* Name the node in every line (may be NULL) and drop lines below min. Also looks at
 * JOURNAL_STREAM (fo_log_journal_detect) to decide on priority prefixes. */
void fo_log_setup(const char *node, enum fo_log_level min);

/* Parse "debug", "info", "warn" or "error"; -1 if none of them. */
int fo_log_level_parse(const char *s);

/* Parse "text" or "json"; -1 if neither. */
int fo_log_format_parse(const char *s);
void fo_log_set_format(enum fo_log_format format);

/* True when JOURNAL_STREAM names the file stderr is (systemd's documented test). */
bool fo_log_journal_detect(void);
/* Prefix lines with their priority or not (fo_log_setup sets it from the detection;
 * tests set it themselves). */
void fo_log_set_journal(bool on);

void fo_log(enum fo_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The line fo_log would write (with its '\n'), whatever the minimum level: malloc'd,
 * the caller frees it; NULL when out of memory. For tests. */
char *fo_log_render(enum fo_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define fo_log_debug(...) fo_log(FO_LOG_DEBUG, __VA_ARGS__)
#define fo_log_info(...)  fo_log(FO_LOG_INFO, __VA_ARGS__)
#define fo_log_warn(...)  fo_log(FO_LOG_WARN, __VA_ARGS__)
#define fo_log_error(...) fo_log(FO_LOG_ERROR, __VA_ARGS__)

#endif
