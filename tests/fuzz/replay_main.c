/*
 * tests/fuzz/replay_main.c — a main() for fuzz harnesses in builds without libFuzzer:
 * runs LLVMFuzzerTestOneInput on every regular file in the directories (or files) given,
 * plus every prefix of each file (truncation is the commonest malformation). Exits 1 if
 * no input was found, so an empty corpus cannot pass silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return 0;
    }
    fclose(f);
    for (long k = 0; k <= n; k++) {
        /* A fresh copy of each prefix, so ASan sees reads past its end. */
        uint8_t *p = malloc(k > 0 ? (size_t)k : 1);
        if (p == NULL)
            break;
        memcpy(p, buf, (size_t)k);
        LLVMFuzzerTestOneInput(p, (size_t)k);
        free(p);
    }
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;
        if (stat(argv[i], &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            files += run_file(argv[i]);
            continue;
        }
        d = opendir(argv[i]);
        while (d != NULL && (e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                files += run_file(path);
        }
        if (d != NULL)
            closedir(d);
    }
    printf("replayed %d inputs and all their prefixes\n", files);
    return files > 0 ? 0 : 1;
}
