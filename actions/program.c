/*
 * actions/program.c — see program.h.
 */
/* _GNU_SOURCE (the build defines it): posix_spawn_file_actions_addclosefrom_np, glibc 2.34 */
#include "actions/program.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLICE_MS 100 /* how often the cancel flag is looked at */

/* Keep the last cap - 1 bytes of everything appended. */
struct tail {
    char *buf;
    size_t cap, len;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
    size_t keep = t->cap - 1;

    if (n >= keep) {
        memcpy(t->buf, data + n - keep, keep);
        t->len = keep;
    } else {
        if (t->len + n > keep) {
            size_t drop = t->len + n - keep;
            memmove(t->buf, t->buf + drop, t->len - drop);
            t->len -= drop;
        }
        memcpy(t->buf + t->len, data, n);
        t->len += n;
    }
    t->buf[t->len] = '\0';
}

/* Kill the program's group: SIGTERM, then SIGKILL after the grace, reaping it. */
static void kill_group(pid_t pid, int *status)
{
    uint64_t until = fo_action_now_ms() + FO_PROGRAM_KILL_GRACE_MS;

    kill(-pid, SIGTERM);
    for (;;) {
        struct timespec slice = {0, 20 * 1000 * 1000};
        if (waitpid(pid, status, WNOHANG) == pid)
            break;
        if (fo_action_now_ms() >= until) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        nanosleep(&slice, NULL);
    }
    kill(-pid, SIGKILL); /* what it left behind in its group: the deadline ends it all */
}

enum fo_program_end fo_program_run(const struct fo_action_req *req, char *const argv[],
                                   char *const envp[], int *code, char *tail_buf, size_t tail_cap)
{
    struct tail tail = {tail_buf, tail_cap, 0};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int pipefd[2], status = 0, rv;
    pid_t pid;
    bool open_pipe = true;
    enum fo_program_end end = FO_PROGRAM_EXITED;

    *code = 0;
    tail_buf[0] = '\0';
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        *code = errno;
        return FO_PROGRAM_NOT_STARTED;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    /* A group of its own, so that a timeout ends what it started too (ssh, pg_basebackup);
     * default signal handling, whatever the daemon ignores (SIGPIPE). */
    {
        sigset_t none, dflt;
        sigemptyset(&none);
        sigemptyset(&dflt);
        sigaddset(&dflt, SIGPIPE);
        sigaddset(&dflt, SIGTERM);
        sigaddset(&dflt, SIGINT);
        sigaddset(&dflt, SIGHUP);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dflt);
    }
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    rv = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pipefd[1]);
    if (rv != 0) {
        close(pipefd[0]);
        *code = rv;
        return FO_PROGRAM_NOT_STARTED;
    }
    for (;;) {
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        uint64_t left = fo_action_remaining_ms(req);
        char buf[4096];

        /* Its exit ends the wait, not the end of its output: a server it started may hold
         * the pipe open (a daemon that kept its stdout). */
        if (waitpid(pid, &status, WNOHANG) == pid) {
            ssize_t n;
            fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
            while (open_pipe && (n = read(pipefd[0], buf, sizeof(buf))) > 0)
                tail_add(&tail, buf, (size_t)n);
            break;
        }
        if (fo_action_cancelled(req) || left == 0) {
            end = left == 0 ? FO_PROGRAM_TIMED_OUT : FO_PROGRAM_CANCELLED;
            kill_group(pid, &status);
            break;
        }
        if (!open_pipe) {
            struct timespec slice = {0, 20 * 1000 * 1000};
            nanosleep(&slice, NULL);
            continue;
        }
        rv = poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS);
        if (rv > 0) {
            ssize_t n = read(pipefd[0], buf, sizeof(buf));
            if (n > 0)
                tail_add(&tail, buf, (size_t)n);
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                open_pipe = false;
        } else if (rv < 0 && errno != EINTR) {
            open_pipe = false; /* cannot read it: still wait for its exit */
        }
    }
    close(pipefd[0]);
    for (size_t i = 0; i < tail.len; i++)
        if ((unsigned char)tail_buf[i] < 0x20 && tail_buf[i] != '\n')
            tail_buf[i] = '?';
    if (end != FO_PROGRAM_EXITED)
        return end;
    if (WIFSIGNALED(status)) {
        *code = WTERMSIG(status);
        return FO_PROGRAM_SIGNALED;
    }
    *code = WEXITSTATUS(status);
    return FO_PROGRAM_EXITED;
}
