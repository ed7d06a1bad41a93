// app/export_common.c: status strings, atomic-write helpers, mkdir -p, the iteration history
// and its CSV writer
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "export_internal.h"

const char *app_io_status_str(app_io_status st)
{
    switch (st) {
    case APP_IO_OK:
        return "ok";
    case APP_IO_ERR_NOMEM:
        return "out of memory";
    case APP_IO_ERR_INVALID:
        return "invalid argument";
    case APP_IO_ERR_IO:
        return "file input/output error";
    case APP_IO_ERR_FORMAT:
        return "unexpected file format";
    }
    return "unknown status";
}

int app_size_mul(size_t a, size_t b, size_t *out)
{
    if (__builtin_mul_overflow(a, b, out)) {
        *out = SIZE_MAX;
        return -1;
    }
    return 0;
}

int app_size_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    if (app_size_mul(a, b, &ab)) {
        *out = SIZE_MAX;
        return -1;
    }
    return app_size_mul(ab, c, out);
}

uint64_t app_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

app_io_status app_io_fail_(app_io_status st, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

char *app_io_tmp_name_(const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return NULL;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    return tmp;
}

app_io_status app_io_commit_(const char *tmp, const char *path, char *err, size_t errlen)
{
    // fsync before rename: otherwise a crash right after the rename can leave an empty file
    // under the final name on some file systems (ext4 delalloc), losing the old checkpoint.
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        remove(tmp);
        return APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot sync temporary file: %s", path, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot rename temporary file into place: %s", path,
                           strerror(e));
    }
    // Make the rename itself durable (best effort: the new file is complete either way).
    const char *slash = strrchr(path, '/');
    size_t dn = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(dn + 2);
    if (dir) {
        if (slash) {
            memcpy(dir, path, dn > 0 ? dn : 1); // "/x" -> "/"
            dir[dn > 0 ? dn : 1] = '\0';
        } else {
            strcpy(dir, ".");
        }
        int dfd = open(dir, O_RDONLY);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return APP_IO_OK;
}

app_io_status app_io_create_(app_io_file_ *o, const char *path, const char *mode, char *err,
                             size_t errlen)
{
    o->f = NULL;
    o->path = path;
    o->tmp = app_io_tmp_name_(path);
    if (!o->tmp) return APP_IO_FAIL(APP_IO_ERR_NOMEM, "%s: out of memory", path);
    o->f = fopen(o->tmp, mode);
    if (!o->f) {
        app_io_status st =
            APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot create: %s", o->tmp, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return st;
    }
    return APP_IO_OK;
}

app_io_status app_io_finish_(app_io_file_ *o, char *err, size_t errlen)
{
    int bad = ferror(o->f);
    int e = bad ? EIO : 0; // stdio keeps no errno for an earlier failed write
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    app_io_status st = APP_IO_OK;
    if (bad) {
        remove(o->tmp);
        st = APP_IO_FAIL(APP_IO_ERR_IO, "%s: write failed: %s", o->path, strerror(e));
    } else {
        st = app_io_commit_(o->tmp, o->path, err, errlen);
    }
    free(o->tmp);
    o->tmp = NULL;
    return st;
}

void app_io_abort_(app_io_file_ *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) remove(o->tmp);
    free(o->tmp);
    o->f = NULL;
    o->tmp = NULL;
}

app_io_status app_io_copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    FILE *in = fopen(src, "rb");
    if (!in) return APP_IO_FAIL(APP_IO_ERR_IO, "%s: %s", src, strerror(errno));
    app_io_file_ out;
    app_io_status st = app_io_create_(&out, dst, "wb", err, errlen);
    if (st != APP_IO_OK) {
        fclose(in);
        return st;
    }
    char buf[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0)
        bad = fwrite(buf, 1, n, out.f) != n;
    bad = bad || ferror(in);
    fclose(in);
    if (bad) {
        app_io_abort_(&out);
        return APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot copy %s", dst, src);
    }
    return app_io_finish_(&out, err, errlen);
}

int app_io_lock(const char *path, int wait)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0) return fd;
    int busy = errno == EWOULDBLOCK;
    close(fd);
    return busy ? APP_IO_LOCK_BUSY : -1;
}

int app_io_lock_held(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* drops the shared lock if it was taken */
    return held;
}

app_io_status app_io_mkdirs(const char *dir, char *err, size_t errlen)
{
    if (!dir || !*dir) return APP_IO_FAIL(APP_IO_ERR_INVALID, "mkdirs: empty directory name");
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p) return APP_IO_FAIL(APP_IO_ERR_NOMEM, "%s: out of memory", dir);
    memcpy(p, dir, n + 1);
    app_io_status st = APP_IO_OK;
    // Create each prefix ending before a '/', then the whole path.
    for (size_t i = 1; i <= n; i++) {
        if (i < n && p[i] != '/') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            break;
        }
        p[i] = c;
    }
    if (st == APP_IO_OK) {
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = APP_IO_FAIL(APP_IO_ERR_IO, "%s: exists and is not a directory", dir);
    }
    free(p);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* history                                                                                  */
/* ---------------------------------------------------------------------------------------- */

enum { APP_HISTORY_DEFAULT_CAPACITY = 64 };

void app_history_free(app_history *h)
{
    if (!h) return;
    for (int j = 0; h->constraint_names && j < h->n_constraints; j++)
        free(h->constraint_names[j]);
    for (int j = 0; h->extra_names && j < h->n_extra; j++)
        free(h->extra_names[j]);
    free(h->constraint_names);
    free(h->extra_names);
    free(h->iteration);
    free(h->evaluations);
    free(h->objective);
    free(h->constraints);
    free(h->violation);
    free(h->step);
    free(h->time);
    free(h->extra);
    memset(h, 0, sizeof *h);
}

static char **copy_names(int n, const char *const *names)
{
    char **out = calloc((size_t)n > 0 ? (size_t)n : 1, sizeof *out);
    if (!out) return NULL;
    for (int j = 0; j < n; j++) {
        size_t len = strlen(names[j]);
        out[j] = malloc(len + 1);
        if (!out[j]) {
            for (int k = 0; k < j; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
        memcpy(out[j], names[j], len + 1);
    }
    return out;
}

/* Grow every column array of h to cap rows (cap > h->capacity). */
static app_io_status history_grow(app_history *h, int cap)
{
    size_t c = (size_t)cap;
#define GROW(field, width)                                                                         \
    do {                                                                                           \
        size_t bytes_;                                                                             \
        if (app_size_mul3(c, (size_t)(width), sizeof *h->field, &bytes_)) return APP_IO_ERR_NOMEM; \
        void *p_ = realloc(h->field, bytes_ > 0 ? bytes_ : 1);                                     \
        if (!p_) return APP_IO_ERR_NOMEM;                                                          \
        h->field = p_;                                                                             \
    } while (0)
    GROW(iteration, 1);
    GROW(evaluations, 1);
    GROW(objective, 1);
    GROW(constraints, h->n_constraints);
    GROW(violation, 1);
    GROW(step, 1);
    GROW(time, 1);
    GROW(extra, h->n_extra);
#undef GROW
    h->capacity = cap;
    return APP_IO_OK;
}

app_io_status app_history_init(app_history *h, int n_constraints,
                               const char *const *constraint_names, int n_extra,
                               const char *const *extra_names, int capacity)
{
    if (!h) return APP_IO_ERR_INVALID;
    memset(h, 0, sizeof *h);
    if (n_constraints < 0 || n_extra < 0 || capacity < 0) return APP_IO_ERR_INVALID;
    if ((n_constraints > 0 && !constraint_names) || (n_extra > 0 && !extra_names))
        return APP_IO_ERR_INVALID;
    for (int j = 0; j < n_constraints; j++)
        if (!constraint_names[j]) return APP_IO_ERR_INVALID;
    for (int j = 0; j < n_extra; j++)
        if (!extra_names[j]) return APP_IO_ERR_INVALID;
    h->constraint_names = copy_names(n_constraints, constraint_names);
    if (!h->constraint_names) goto nomem;
    h->n_constraints = n_constraints;
    h->extra_names = copy_names(n_extra, extra_names);
    if (!h->extra_names) goto nomem;
    h->n_extra = n_extra;
    if (history_grow(h, capacity > 0 ? capacity : APP_HISTORY_DEFAULT_CAPACITY) != APP_IO_OK)
        goto nomem;
    return APP_IO_OK;
nomem:
    app_history_free(h);
    return APP_IO_ERR_NOMEM;
}

app_io_status app_history_append(app_history *h, int64_t iteration, int64_t evaluations,
                                 double objective, const double *constraints, double violation,
                                 double step, double time, const double *extra)
{
    if (!h || (h->n_constraints > 0 && !constraints) || (h->n_extra > 0 && !extra))
        return APP_IO_ERR_INVALID;
    if (h->n_rows == h->capacity) {
        if (h->capacity > (1 << 29)) return APP_IO_ERR_NOMEM;
        int cap = h->capacity > 0 ? 2 * h->capacity : APP_HISTORY_DEFAULT_CAPACITY;
        app_io_status st = history_grow(h, cap);
        if (st != APP_IO_OK) return st;
    }
    size_t r = (size_t)h->n_rows;
    h->iteration[r] = iteration;
    h->evaluations[r] = evaluations;
    h->objective[r] = objective;
    if (h->n_constraints > 0)
        memcpy(h->constraints + r * (size_t)h->n_constraints, constraints,
               (size_t)h->n_constraints * sizeof *constraints);
    h->violation[r] = violation;
    h->step[r] = step;
    h->time[r] = time;
    if (h->n_extra > 0)
        memcpy(h->extra + r * (size_t)h->n_extra, extra, (size_t)h->n_extra * sizeof *extra);
    h->n_rows++;
    return APP_IO_OK;
}

void app_history_truncate(app_history *h, int n_rows)
{
    if (h && n_rows >= 0 && n_rows < h->n_rows) h->n_rows = n_rows;
}

/* A CSV field needs quoting when it holds a separator, quote or line break (RFC 4180). */
static void csv_name(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

app_io_status app_history_write_csv(const char *path, const app_history *h, char *err,
                                    size_t errlen)
{
    if (!path || !h) return APP_IO_FAIL(APP_IO_ERR_INVALID, "history csv: NULL argument");
    if (h->n_rows < 0 || h->n_constraints < 0 || h->n_extra < 0)
        return APP_IO_FAIL(APP_IO_ERR_INVALID, "%s: negative history size", path);
    app_io_file_ o;
    app_io_status st = app_io_create_(&o, path, "w", err, errlen);
    if (st != APP_IO_OK) return st;
    FILE *f = o.f;
    fputs("iteration,evaluations,objective", f);
    for (int j = 0; j < h->n_constraints; j++) {
        fputc(',', f);
        csv_name(f, h->constraint_names[j]);
    }
    fputs(",violation,step,time", f);
    for (int j = 0; j < h->n_extra; j++) {
        fputc(',', f);
        csv_name(f, h->extra_names[j]);
    }
    fputc('\n', f);
    for (int r = 0; r < h->n_rows; r++) {
        size_t rr = (size_t)r;
        fprintf(f, "%lld,%lld,%.17g", (long long)h->iteration[rr], (long long)h->evaluations[rr],
                h->objective[rr]);
        for (int j = 0; j < h->n_constraints; j++)
            fprintf(f, ",%.17g", h->constraints[rr * (size_t)h->n_constraints + (size_t)j]);
        fprintf(f, ",%.17g,%.17g,%.17g", h->violation[rr], h->step[rr], h->time[rr]);
        for (int j = 0; j < h->n_extra; j++)
            fprintf(f, ",%.17g", h->extra[rr * (size_t)h->n_extra + (size_t)j]);
        fputc('\n', f);
    }
    return app_io_finish_(&o, err, errlen);
}
