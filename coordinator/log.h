/*
 * coordinator/log.h — one line per event, key=value pairs, to stderr (DESIGN §9):
 *
 *   ts=2026-11-23T17:01:02.345Z level=info node=us-east-1 event=raft.role role=leader term=3
 *
 * The caller writes the pairs after `event=`; strings that may hold spaces go in quotes
 * (`reason="%s"`). A newline inside a value is replaced, so an entry is always one line.
 * Never pass secrets: tokens and passwords are not logged, not even in errors.
 *
 * The node name and minimum level are process-wide (set once by main before the loop
 * starts), the one piece of state that is not in the daemon's context, like syslog's
 * ident. Thread-safe after setup: each line is one write(2).
 */
#ifndef FO_COORDINATOR_LOG_H
#define FO_COORDINATOR_LOG_H

enum fo_log_level { FO_LOG_DEBUG = 0, FO_LOG_INFO, FO_LOG_WARN, FO_LOG_ERROR };

/* Name the node in every line (may be NULL) and drop lines below min. */
void fo_log_setup(const char *node, enum fo_log_level min);

/* Parse "debug", "info", "warn" or "error"; -1 if none of them. */
int fo_log_level_parse(const char *s);

void fo_log(enum fo_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define fo_log_debug(...) fo_log(FO_LOG_DEBUG, __VA_ARGS__)
#define fo_log_info(...)  fo_log(FO_LOG_INFO, __VA_ARGS__)
#define fo_log_warn(...)  fo_log(FO_LOG_WARN, __VA_ARGS__)
#define fo_log_error(...) fo_log(FO_LOG_ERROR, __VA_ARGS__)

#endif
