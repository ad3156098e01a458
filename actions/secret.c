/*
 * actions/secret.c — see secret.h.
 */
#include "actions/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int fo_secret_read_file(const char *path, char *buf, size_t cap, struct fo_error *err)
{
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd;

    if (path == NULL || cap < 2)
        return fo_error_set(err, 1, "no secret file given");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fo_error_set(err, 1, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fo_error_set(err, 1, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size >= cap) {
        close(fd);
        return fo_error_set(err, 1, "%s: larger than %zu bytes", path, cap - 1);
    }
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return fo_error_set(err, 1, "%s: %s", path, strerror(errno));
        }
        len += (size_t)n;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    if (len == 0)
        return fo_error_set(err, 1, "%s: empty", path);
    if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL)
        return fo_error_set(err, 1, "%s: must hold one line of text", path);
    return 0;
}

static bool sha256(const char *s, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

bool fo_secret_equal(const char *presented, const char *expected)
{
    unsigned char a[32], b[32];

    if (presented == NULL || expected == NULL || presented[0] == '\0' || expected[0] == '\0')
        return false;
    /* Hashing first makes the comparison independent of both lengths. */
    if (!sha256(presented, a) || !sha256(expected, b))
        return false;
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

void fo_secret_wipe(char *buf, size_t cap)
{
    OPENSSL_cleanse(buf, cap);
}
