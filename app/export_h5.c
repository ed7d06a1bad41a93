// app/export_h5.c: result.h5 (densities, FE fields, parameters, history, config, checkpoint)
// written atomically and read back with the HDF5 C API
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "export_internal.h"

/* HDF5 is thread-safe only when built with --enable-threadsafe (Debian 12's is, other builds
 * may not be), and the automatic error printer we switch off is library state: every entry
 * point holds this lock while it talks to HDF5. */
static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

/* The per-call context: where the message goes, plus the error printer we switched off. */
typedef struct {
    char *err;
    size_t errlen;
    const char *path;
    char group[32];    ///< "density/" etc. once inside a group, "" at the root (for messages)
    size_t budget;     ///< bytes the datasets and strings still to be read may declare in total
    int has_checksum;  ///< the file has a root attribute "checksum"
    uint64_t checksum; ///< its value
    H5E_auto2_t old_fn;
    void *old_data;
} h5ctx;

static void h5_enter(h5ctx *c, const char *path, char *err, size_t errlen)
{
    static int first = 1;
    pthread_mutex_lock(&h5_lock);
    if (first) {
        // After a failed H5Fclose (disk full) HDF5 keeps a half-closed file that its atexit
        // cleanup then dereferences (SIGSEGV at exit). The process releases everything when it
        // ends anyway, so HDF5 gets no atexit hook; H5close() stays available to callers.
        H5dont_atexit();
        first = 0;
    }
    c->err = err;
    c->errlen = errlen;
    c->path = path;
    c->group[0] = '\0';
    c->budget = 0;
    c->has_checksum = 0;
    c->checksum = 0;
    c->old_fn = NULL;
    c->old_data = NULL;
    // Failures are reported through err[] with the HDF5 stack's text; HDF5 must not also print
    // its own trace to stderr.
    H5Eget_auto2(H5E_DEFAULT, &c->old_fn, &c->old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void h5_leave(h5ctx *c)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, c->old_fn, c->old_data);
    pthread_mutex_unlock(&h5_lock);
}

/* H5Ewalk2 callback: the operating system's reason, if an HDF5 error record carries one
 * ("... errno = 28, error message = 'No space left on device', buf = 0x..."). The rest of
 * HDF5's stack text (function names, addresses, internal sizes) means nothing to a user and
 * is not shown. */
static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    char *buf = data;
    (void)n;
    const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (buf[0] == '\0' && p) {
        int code = atoi(p + 8);
        if (code > 0) snprintf(buf, 256, "%s", strerror(code));
    }
    return 0;
}

/* Write "<path>: <what>[: <OS reason>]" into c->err, clear the HDF5 stack, return st. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static app_io_status
h5_fail(h5ctx *c, app_io_status st, const char *fmt, ...)
{
    char what[512], detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    detail[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    if (c->err && c->errlen > 0) {
        if (detail[0])
            snprintf(c->err, c->errlen, "%s: %s: %s", c->path, what, detail);
        else
            snprintf(c->err, c->errlen, "%s: %s", c->path, what);
    }
    return st;
}

/* A file-access property list without HDF5's file locking: files are only ever written under a
 * temporary name and renamed into place, so readers never see a half-written file and the
 * lock only gets in the way (flock fails on some network file systems). -1 on failure. */
static hid_t new_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
        // The 1.8 object-header format (version-2 headers, superblock and B-trees) carries a
        // checksum on every piece of metadata, so HDF5 itself detects damaged metadata instead of
        // parsing it; h5py and every HDF5 >= 1.8 read it.
#if H5_VERSION_GE(1, 10, 2)
    H5F_libver_t low = H5F_LIBVER_V18;
#else
    H5F_libver_t low = H5F_LIBVER_LATEST;
#endif
    if (H5Pset_libver_bounds(fapl, low, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#if H5_VERSION_GE(1, 10, 7)
    if (H5Pset_file_locking(fapl, 0, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#endif
    return fapl;
}

/* ---------------------------------------------------------------------------------------- */
/* writing                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static app_io_status put_attr(h5ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                              const void *v)
{
    app_io_status st = APP_IO_OK;
    hid_t sp = -1, a = -1;
    if ((sp = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, mtype, v) < 0)
        st = h5_fail(c, APP_IO_ERR_IO, "cannot write attribute %s%s", c->group, name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

static app_io_status put_attr_double(h5ctx *c, hid_t loc, const char *name, double v)
{
    return put_attr(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static app_io_status put_attr_int(h5ctx *c, hid_t loc, const char *name, int v)
{
    return put_attr(c, loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v);
}

static app_io_status put_attr_u64(h5ctx *c, hid_t loc, const char *name, uint64_t v)
{
    return put_attr(c, loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

/* A fixed-length, NUL-padded UTF-8 string type of size max(len, 1) (HDF5 rejects size 0). */
static hid_t str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    if (H5Tset_size(t, len > 0 ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* A string attribute; s == NULL writes nothing. */
static app_io_status put_attr_str(h5ctx *c, hid_t loc, const char *name, const char *s)
{
    if (!s) return APP_IO_OK;
    size_t len = strlen(s);
    app_io_status st = APP_IO_OK;
    hid_t t = str_type(len), sp = -1, a = -1;
    // An empty string is stored as one NUL byte (size 1, NULLPAD), which reads back as "".
    const char *buf = len > 0 ? s : "";
    if (t < 0 || (sp = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(a, t, buf) < 0)
        st = h5_fail(c, APP_IO_ERR_IO, "cannot write attribute %s%s", c->group, name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return st;
}

/* An attribute holding the n strings names[n] as a 1-D fixed-length string array. */
static app_io_status put_attr_names(h5ctx *c, hid_t loc, const char *name, int n,
                                    char *const *names)
{
    if (n <= 0) return APP_IO_OK; // callers write the attribute only for n > 0 columns
    size_t maxlen = 1;
    for (int j = 0; j < n; j++) {
        size_t l = strlen(names[j]);
        if (l > maxlen) maxlen = l;
    }
    char *buf = calloc((size_t)n, maxlen);
    if (!buf)
        return h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for attribute %s%s", c->group, name);
    for (int j = 0; j < n; j++)
        memcpy(buf + (size_t)j * maxlen, names[j], strlen(names[j]));
    app_io_status st = APP_IO_OK;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t t = str_type(maxlen), sp = -1, a = -1;
    if (t < 0 || (sp = H5Screate_simple(1, dims, NULL)) < 0 ||
        (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(a, t, buf) < 0)
        st = h5_fail(c, APP_IO_ERR_IO, "cannot write attribute %s%s", c->group, name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    free(buf);
    return st;
}

/* A rank-1 or rank-2 dataset. Zero-size dimensions are allowed (nothing is written). */
static app_io_status put_data(h5ctx *c, hid_t loc, const char *name, int rank, const hsize_t *dims,
                              hid_t ftype, hid_t mtype, const void *data)
{
    app_io_status st = APP_IO_OK;
    hid_t sp = -1, d = -1;
    hsize_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= dims[i];
    if ((sp = H5Screate_simple(rank, dims, NULL)) < 0 ||
        (d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (count > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        st = h5_fail(c, APP_IO_ERR_IO, "cannot write dataset %s%s", c->group, name);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

static app_io_status put_doubles(h5ctx *c, hid_t loc, const char *name, int rank,
                                 const hsize_t *dims, const double *data)
{
    return put_data(c, loc, name, rank, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data);
}

/* The config text as a scalar fixed-length string dataset. */
static app_io_status put_string_data(h5ctx *c, hid_t loc, const char *name, const char *s)
{
    size_t len = strlen(s);
    app_io_status st = APP_IO_OK;
    hid_t t = str_type(len), sp = -1, d = -1;
    if (t < 0 || (sp = H5Screate(H5S_SCALAR)) < 0 ||
        (d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, len > 0 ? s : "") < 0)
        st = h5_fail(c, APP_IO_ERR_IO, "cannot write dataset %s%s", c->group, name);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return st;
}

static hid_t new_group(h5ctx *c, hid_t loc, const char *name)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) h5_fail(c, APP_IO_ERR_IO, "cannot create group %s", name);
    // Groups are written after everything at the root, so the prefix never needs a reset.
    snprintf(c->group, sizeof c->group, "%s/", name);
    return g;
}

/* Check sizes and pointers of r before anything touches the disk. */
static app_io_status check_result(h5ctx *c, const app_result *r)
{
    if (r->W <= 0 || r->H <= 0 || (long long)r->W * r->H > INT_MAX)
        return h5_fail(c, APP_IO_ERR_INVALID, "bad grid %d x %d", r->W, r->H);
    if (r->displacement &&
        (r->ndof <= 0 || r->n_load_cases <= 0 || (long long)r->ndof * r->n_load_cases > INT_MAX))
        return h5_fail(c, APP_IO_ERR_INVALID, "bad displacement size ndof %d x %d load cases",
                       r->ndof, r->n_load_cases);
    if (r->n_params > 0 && !r->theta)
        return h5_fail(c, APP_IO_ERR_INVALID, "n_params = %zu but theta is NULL", r->n_params);
    const app_history *h = &r->history;
    if (h->n_rows < 0 || h->n_constraints < 0 || h->n_extra < 0)
        return h5_fail(c, APP_IO_ERR_INVALID, "negative history size");
    if ((h->n_constraints > 0 && !h->constraint_names) || (h->n_extra > 0 && !h->extra_names))
        return h5_fail(c, APP_IO_ERR_INVALID, "history column names missing");
    for (int j = 0; j < h->n_constraints; j++)
        if (!h->constraint_names[j])
            return h5_fail(c, APP_IO_ERR_INVALID, "history constraint name %d is NULL", j);
    for (int j = 0; j < h->n_extra; j++)
        if (!h->extra_names[j])
            return h5_fail(c, APP_IO_ERR_INVALID, "history extra name %d is NULL", j);
    if (h->n_rows > 0 &&
        (!h->iteration || !h->evaluations || !h->objective || !h->violation || !h->step ||
         !h->time || (h->n_constraints > 0 && !h->constraints) || (h->n_extra > 0 && !h->extra)))
        return h5_fail(c, APP_IO_ERR_INVALID, "history has %d rows but a column is NULL",
                       h->n_rows);
    const app_checkpoint *k = &r->checkpoint;
    if (k->present &&
        ((k->n_counters > 0 && !k->counters) || (k->n_words > 0 && !k->words) ||
         (k->n_solver_state > 0 && !k->solver_state) || (k->n_extra > 0 && !k->extra)))
        return h5_fail(c, APP_IO_ERR_INVALID, "checkpoint has a count > 0 with a NULL array");
    return APP_IO_OK;
}

static app_io_status write_history(h5ctx *c, hid_t file, const app_history *h)
{
    hid_t g = new_group(c, file, "history");
    if (g < 0) return APP_IO_ERR_IO;
    app_io_status st;
    hsize_t n[1] = {(hsize_t)h->n_rows};
    if ((st = put_data(c, g, "iteration", 1, n, H5T_STD_I64LE, H5T_NATIVE_INT64, h->iteration)) ||
        (st = put_data(c, g, "evaluations", 1, n, H5T_STD_I64LE, H5T_NATIVE_INT64,
                       h->evaluations)) ||
        (st = put_doubles(c, g, "objective", 1, n, h->objective)) ||
        (st = put_doubles(c, g, "violation", 1, n, h->violation)) ||
        (st = put_doubles(c, g, "step", 1, n, h->step)) ||
        (st = put_doubles(c, g, "time", 1, n, h->time)))
        goto done;
    if (h->n_constraints > 0) {
        hsize_t d2[2] = {(hsize_t)h->n_rows, (hsize_t)h->n_constraints};
        if ((st = put_doubles(c, g, "constraints", 2, d2, h->constraints)) ||
            (st = put_attr_names(c, g, "constraint_names", h->n_constraints, h->constraint_names)))
            goto done;
    }
    if (h->n_extra > 0) {
        hsize_t d2[2] = {(hsize_t)h->n_rows, (hsize_t)h->n_extra};
        if ((st = put_doubles(c, g, "extra", 2, d2, h->extra)) ||
            (st = put_attr_names(c, g, "extra_names", h->n_extra, h->extra_names)))
            goto done;
    }
done:
    H5Gclose(g);
    return st;
}

static app_io_status write_checkpoint(h5ctx *c, hid_t file, const app_checkpoint *k)
{
    hid_t g = new_group(c, file, "checkpoint");
    if (g < 0) return APP_IO_ERR_IO;
    app_io_status st;
    hsize_t nc[1] = {k->n_counters}, nw[1] = {k->n_words}, ns[1] = {k->n_solver_state},
            ne[1] = {k->n_extra};
    (void)((st = put_data(c, g, "counters", 1, nc, H5T_STD_I64LE, H5T_NATIVE_INT64, k->counters)) ||
           (st = put_data(c, g, "words", 1, nw, H5T_STD_U64LE, H5T_NATIVE_UINT64, k->words)) ||
           (st = put_doubles(c, g, "solver_state", 1, ns, k->solver_state)) ||
           (st = put_doubles(c, g, "extra", 1, ne, k->extra)));
    H5Gclose(g);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* checksum                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Hash a field: its name (with the NUL), its element count as 8 little-endian bytes, then the
 * n elements of elem bytes each (1, 4 or 8) as little-endian bytes. data may be NULL for a
 * field that is absent: then the count is hashed as all ones. */
static uint64_t hash_field(uint64_t h, const char *name, const void *data, size_t n, size_t elem)
{
    h = app_fnv1a64(h, name, strlen(name) + 1);
    uint64_t cnt = data ? (uint64_t)n : UINT64_MAX;
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(cnt >> (8 * i));
    h = app_fnv1a64(h, b, 8);
    if (!data || n == 0) return h;
    const uint16_t one = 1;
    size_t bytes;
    if (*(const unsigned char *)&one || elem == 1) { // little-endian host: native bytes
        if (app_size_mul(n, elem, &bytes)) return h; // cannot happen for an allocated array
        return app_fnv1a64(h, data, bytes);
    }
    const unsigned char *p = data;
    for (size_t k = 0; k < n; k++, p += elem)
        for (size_t i = elem; i-- > 0;)
            h = app_fnv1a64(h, p + i, 1);
    return h;
}

static uint64_t hash_str(uint64_t h, const char *name, const char *s)
{
    return hash_field(h, name, s, s ? strlen(s) : 0, 1);
}

static uint64_t hash_int(uint64_t h, const char *name, int v)
{
    int32_t x = (int32_t)v;
    return hash_field(h, name, &x, 1, 4);
}

uint64_t app_result_checksum(const app_result *r)
{
    uint64_t h = APP_FNV1A64_INIT;
    size_t wh = 0, nu = 0;
    app_size_mul((size_t)(r->W > 0 ? r->W : 0), (size_t)(r->H > 0 ? r->H : 0), &wh);
    h = hash_int(h, "W", r->W);
    h = hash_int(h, "H", r->H);
    h = hash_field(h, "density/raw", r->rho_raw, wh, 8);
    h = hash_field(h, "density/filtered", r->rho_filtered, wh, 8);
    h = hash_field(h, "density/physical", r->rho_physical, wh, 8);
    if (r->displacement) {
        h = hash_int(h, "ndof", r->ndof);
        h = hash_int(h, "n_load_cases", r->n_load_cases);
        app_size_mul((size_t)r->ndof, (size_t)r->n_load_cases, &nu);
    }
    h = hash_field(h, "fem/displacement", r->displacement, nu, 8);
    h = hash_field(h, "fem/strain_energy", r->strain_energy, wh, 8);
    h = hash_field(h, "params/theta", r->n_params > 0 ? r->theta : NULL, r->n_params, 8);
    const app_history *y = &r->history;
    size_t rows = (size_t)(y->n_rows > 0 ? y->n_rows : 0), nc = 0, ne = 0;
    app_size_mul(rows, (size_t)(y->n_constraints > 0 ? y->n_constraints : 0), &nc);
    app_size_mul(rows, (size_t)(y->n_extra > 0 ? y->n_extra : 0), &ne);
    h = hash_int(h, "history/n_rows", y->n_rows);
    h = hash_int(h, "history/n_constraints", y->n_constraints);
    h = hash_int(h, "history/n_extra", y->n_extra);
    for (int j = 0; y->constraint_names && j < y->n_constraints; j++)
        h = hash_str(h, "history/constraint_names", y->constraint_names[j]);
    for (int j = 0; y->extra_names && j < y->n_extra; j++)
        h = hash_str(h, "history/extra_names", y->extra_names[j]);
    h = hash_field(h, "history/iteration", rows ? y->iteration : NULL, rows, 8);
    h = hash_field(h, "history/evaluations", rows ? y->evaluations : NULL, rows, 8);
    h = hash_field(h, "history/objective", rows ? y->objective : NULL, rows, 8);
    h = hash_field(h, "history/constraints", nc ? y->constraints : NULL, nc, 8);
    h = hash_field(h, "history/violation", rows ? y->violation : NULL, rows, 8);
    h = hash_field(h, "history/step", rows ? y->step : NULL, rows, 8);
    h = hash_field(h, "history/time", rows ? y->time : NULL, rows, 8);
    h = hash_field(h, "history/extra", ne ? y->extra : NULL, ne, 8);
    h = hash_str(h, "config", r->config_text);
    h = hash_str(h, "config_keys", r->config_keys);
    h = hash_field(h, "config_hash", &r->config_hash, 1, 8);
    h = hash_field(h, "compliance", &r->compliance, 1, 8);
    h = hash_field(h, "volume_fraction", &r->volume_fraction, 1, 8);
    h = hash_int(h, "status_code", r->status_code);
    h = hash_str(h, "status", r->status);
    h = hash_str(h, "version", r->version);
    h = hash_field(h, "seed", &r->seed, 1, 8);
    h = hash_str(h, "config_name", r->config_name);
    h = hash_str(h, "method", r->method);
    h = hash_str(h, "parameterization", r->parameterization);
    h = hash_int(h, "mirror_left", r->mirror_left != 0);
    h = hash_int(h, "mirror_right", r->mirror_right != 0);
    const app_checkpoint *k = &r->checkpoint;
    h = hash_int(h, "checkpoint", k->present != 0);
    if (k->present) {
        h = hash_field(h, "checkpoint/counters", k->n_counters ? (const void *)k->counters : "",
                       k->n_counters, 8);
        h = hash_field(h, "checkpoint/words", k->n_words ? (const void *)k->words : "", k->n_words,
                       8);
        h = hash_field(h, "checkpoint/solver_state",
                       k->n_solver_state ? (const void *)k->solver_state : "", k->n_solver_state,
                       8);
        h = hash_field(h, "checkpoint/extra", k->n_extra ? (const void *)k->extra : "", k->n_extra,
                       8);
    }
    return h;
}

/* Everything of r into the open file. */
static app_io_status write_all(h5ctx *c, hid_t f, const app_result *r)
{
    app_io_status st;
    hid_t g = -1;
    if ((st = put_attr_u64(c, f, "checksum", app_result_checksum(r)))) return st;
    if ((st = put_attr_str(c, f, "format", APP_H5_FORMAT)) ||
        (st = put_attr_int(c, f, "format_version", APP_H5_FORMAT_VERSION)) ||
        (st = put_attr_int(c, f, "W", r->W)) || (st = put_attr_int(c, f, "H", r->H)) ||
        (st = put_attr_double(c, f, "compliance", r->compliance)) ||
        (st = put_attr_double(c, f, "volume_fraction", r->volume_fraction)) ||
        (st = put_attr_int(c, f, "status_code", r->status_code)) ||
        (st = put_attr_str(c, f, "status", r->status)) ||
        (st = put_attr_str(c, f, "version", r->version)) ||
        (st = put_attr_u64(c, f, "seed", r->seed)) ||
        (st = put_attr_str(c, f, "config_name", r->config_name)) ||
        (st = put_attr_str(c, f, "method", r->method)) ||
        (st = put_attr_str(c, f, "parameterization", r->parameterization)) ||
        (st = put_attr_int(c, f, "mirror_left", r->mirror_left != 0)) ||
        (st = put_attr_int(c, f, "mirror_right", r->mirror_right != 0)))
        return st;
    if (r->config_text && (st = put_string_data(c, f, "config", r->config_text))) return st;
    if (r->config_keys && (st = put_string_data(c, f, "config_keys", r->config_keys))) return st;
    if (r->config_hash && (st = put_attr_u64(c, f, "config_hash", r->config_hash))) return st;

    // Densities as [H][W] so that h5dump/h5py show the image the right way up (row 0 = top).
    hsize_t img[2] = {(hsize_t)r->H, (hsize_t)r->W};
    if (r->rho_raw || r->rho_filtered || r->rho_physical) {
        if ((g = new_group(c, f, "density")) < 0) return APP_IO_ERR_IO;
        if ((r->rho_raw && (st = put_doubles(c, g, "raw", 2, img, r->rho_raw))) ||
            (r->rho_filtered && (st = put_doubles(c, g, "filtered", 2, img, r->rho_filtered))) ||
            (r->rho_physical && (st = put_doubles(c, g, "physical", 2, img, r->rho_physical))))
            goto done;
        H5Gclose(g);
        g = -1;
    }
    if (r->displacement || r->strain_energy) {
        if ((g = new_group(c, f, "fem")) < 0) return APP_IO_ERR_IO;
        if (r->displacement) {
            hsize_t du[2] = {(hsize_t)r->n_load_cases, (hsize_t)r->ndof};
            if ((st = put_doubles(c, g, "displacement", 2, du, r->displacement))) goto done;
        }
        if (r->strain_energy && (st = put_doubles(c, g, "strain_energy", 2, img, r->strain_energy)))
            goto done;
        H5Gclose(g);
        g = -1;
    }
    if (r->theta && r->n_params > 0) {
        if ((g = new_group(c, f, "params")) < 0) return APP_IO_ERR_IO;
        hsize_t nt[1] = {r->n_params};
        if ((st = put_doubles(c, g, "theta", 1, nt, r->theta))) goto done;
        H5Gclose(g);
        g = -1;
    }
    const app_history *h = &r->history;
    if (h->n_rows > 0 || h->n_constraints > 0 || h->n_extra > 0 || h->iteration)
        if ((st = write_history(c, f, h))) return st;
    if (r->checkpoint.present && (st = write_checkpoint(c, f, &r->checkpoint))) return st;
    return APP_IO_OK;
done:
    if (g >= 0) H5Gclose(g);
    return st;
}

app_io_status app_h5_write(const char *path, const app_result *r, char *err, size_t errlen)
{
    if (!path || !r) return APP_IO_FAIL(APP_IO_ERR_INVALID, "h5 write: NULL path or result");
    h5ctx c;
    h5_enter(&c, path, err, errlen);
    app_io_status st = check_result(&c, r);
    char *tmp = NULL;
    hid_t f = -1, fapl = -1;
    if (st) goto done;
    if (!(tmp = app_io_tmp_name_(path))) {
        st = h5_fail(&c, APP_IO_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((fapl = new_fapl()) < 0) {
        st = h5_fail(&c, APP_IO_ERR_IO, "cannot create a file access property list");
        goto done;
    }
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) {
        st = h5_fail(&c, APP_IO_ERR_IO, "cannot create temporary file %s", tmp);
        goto done;
    }
    st = write_all(&c, f, r);
    herr_t closed = H5Fclose(f);
    f = -1;
    if (!st && closed < 0) st = h5_fail(&c, APP_IO_ERR_IO, "cannot close %s", tmp);
    if (st) {
        remove(tmp);
        goto done;
    }
    st = app_io_commit_(tmp, path, err, errlen);
done:
    if (fapl >= 0) H5Pclose(fapl);
    free(tmp);
    h5_leave(&c);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* reading                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* 1 if the link name exists in loc, 0 if not, -1 on error. */
static int has(hid_t loc, const char *name)
{
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    return e > 0 ? 1 : e == 0 ? 0 : -1;
}

static app_io_status get_attr(h5ctx *c, hid_t loc, const char *name, hid_t mtype, void *v,
                              int required)
{
    htri_t e = H5Aexists(loc, name);
    if (e < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query attribute %s%s", c->group, name);
    if (e == 0)
        return required ? h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s missing", c->group, name)
                        : APP_IO_OK;
    app_io_status st = APP_IO_OK;
    hid_t a = -1, sp = -1, ft = -1;
    H5T_class_t want = H5Tget_class(mtype);
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (sp = H5Aget_space(a)) < 0 ||
        (ft = H5Aget_type(a)) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot open attribute %s%s", c->group, name);
    } else if (H5Tget_class(ft) != want || H5Tget_size(ft) > 8 ||
               H5Sget_simple_extent_npoints(sp) != 1) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: expected one %s", c->group, name,
                     want == H5T_FLOAT ? "floating-point number" : "integer");
    } else if (H5Aread(a, mtype, v) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot read attribute %s%s", c->group, name);
    }
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return st;
}

/* Charge bytes to the read budget (the file's size): 0, or a format error naming the object.
 * A version-2 file stores every dataset and string uncompressed, so together they can never
 * declare more bytes than the file holds; a larger claim is a damaged or forged file, and
 * refusing it before allocating is what keeps a 3 KB file from asking for 16 EiB. */
static app_io_status take_budget(h5ctx *c, const char *kind, const char *name, size_t bytes,
                                 int overflow)
{
    if (overflow)
        return h5_fail(c, APP_IO_ERR_FORMAT,
                       "%s %s%s declares more than 2^64 bytes (damaged or forged file)", kind,
                       c->group, name);
    if (bytes > c->budget)
        return h5_fail(c, APP_IO_ERR_FORMAT,
                       "%s %s%s declares %zu bytes, more than the %zu bytes of the file left to "
                       "hold it (damaged or forged file)",
                       kind, c->group, name, bytes, c->budget);
    c->budget -= bytes;
    return APP_IO_OK;
}

/* After reading a fixed-length string of l bytes into s[l+1]: padding NULs are fine, a NUL
 * followed by other bytes is not (the value would be silently truncated). */
static int has_inner_nul(const char *s, size_t l)
{
    size_t n = strnlen(s, l);
    for (size_t i = n; i < l; i++)
        if (s[i] != '\0') return 1;
    return 0;
}

/* Read the string attribute name (fixed-length or variable-length) into a malloc'd *out.
 * A missing attribute leaves *out NULL. */
static app_io_status get_attr_str(h5ctx *c, hid_t loc, const char *name, char **out)
{
    *out = NULL;
    htri_t e = H5Aexists(loc, name);
    if (e < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query attribute %s%s", c->group, name);
    if (e == 0) return APP_IO_OK;
    app_io_status st = APP_IO_OK;
    hid_t a = -1, ft = -1, mt = -1, sp = -1;
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot open attribute %s%s", c->group, name);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s is not a string", c->group, name);
        goto done;
    }
    // Only fixed-length strings (what app_h5_write stores): a variable-length string would be
    // sized by HDF5 itself from the file, outside the checks here.
    if (H5Tis_variable_str(ft) != 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: expected a fixed-length string",
                     c->group, name);
        goto done;
    }
    // Same character set as the file: HDF5 has no conversion between ASCII and UTF-8.
    size_t l = H5Tget_size(ft);
    // The file's own padding too: a conversion to another padding would stop at a NUL byte
    // and hide what follows it.
    H5T_str_t pad = H5Tget_strpad(ft);
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0 || l == 0 || pad < 0 ||
        H5Tset_size(mt, l) < 0 || H5Tset_strpad(mt, pad) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: bad string type", c->group, name);
        goto done;
    }
    if ((st = take_budget(c, "attribute", name, l, 0))) goto done;
    *out = calloc(l + 1, 1);
    if (*out && H5Aread(a, mt, *out) < 0) {
        free(*out);
        *out = NULL;
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot read attribute %s%s", c->group, name);
        goto done;
    }
    if (*out && has_inner_nul(*out, l)) {
        free(*out);
        *out = NULL;
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: string contains a NUL byte", c->group,
                     name);
        goto done;
    }
    if (!*out)
        st = h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for attribute %s%s", c->group, name);
done:
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return st;
}

/* Read the 1-D fixed-length string array attribute name of exactly n entries into a malloc'd
 * array of n malloc'd strings. */
static app_io_status get_attr_names(h5ctx *c, hid_t loc, const char *name, int n, char ***out)
{
    *out = NULL;
    app_io_status st = APP_IO_OK;
    hid_t a = -1, ft = -1, sp = -1;
    char *buf = NULL, **names = NULL;
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot open attribute %s%s", c->group, name);
        goto done;
    }
    size_t l = H5Tget_size(ft);
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) != 0 || l == 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_npoints(sp) != n) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: expected %d fixed-length strings",
                     c->group, name, n);
        goto done;
    }
    size_t bytes;
    int ovf = app_size_mul((size_t)n, l, &bytes);
    if ((st = take_budget(c, "attribute", name, bytes, ovf))) goto done;
    buf = malloc(bytes);
    names = calloc((size_t)n, sizeof *names);
    if (!buf || !names) {
        st = h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for attribute %s%s", c->group, name);
        goto done;
    }
    if (H5Aread(a, ft, buf) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot read attribute %s%s", c->group, name);
        goto done;
    }
    for (int j = 0; j < n; j++) {
        names[j] = calloc(l + 1, 1);
        if (!names[j]) {
            st = h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for attribute %s%s", c->group, name);
            goto done;
        }
        memcpy(names[j], buf + (size_t)j * l, l); // NUL-padded; calloc'd l+1 ends it
        if (has_inner_nul(names[j], l)) {
            st = h5_fail(c, APP_IO_ERR_FORMAT, "attribute %s%s: name %d contains a NUL byte",
                         c->group, name, j);
            goto done;
        }
    }
    *out = names;
    names = NULL;
done:
    if (names) {
        for (int j = 0; j < n; j++)
            free(names[j]);
        free(names);
    }
    free(buf);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return st;
}

/* Read dataset name, which must have the given rank and dims (dims[i] = 0 in want means "any",
 * and the found size is returned there), into a malloc'd *out of elem bytes per value. A
 * missing dataset leaves *out NULL unless required. Checked before anything is allocated:
 * the rank, each dimension, the byte size (checked multiplication, charged to the read
 * budget), the type class (numbers of mtype's class, at most 8 bytes) and the layout
 * (contiguous or compact, no filters: no decompression bomb). */
static app_io_status get_data(h5ctx *c, hid_t loc, const char *name, int rank, hsize_t *want,
                              hid_t mtype, size_t elem, void **out, int required)
{
    *out = NULL;
    int e = has(loc, name);
    if (e < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query dataset %s%s", c->group, name);
    if (e == 0)
        return required ? h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s missing", c->group, name)
                        : APP_IO_OK;
    app_io_status st = APP_IO_OK;
    hid_t d = -1, sp = -1, ft = -1, dcpl = -1;
    hsize_t dims[2] = {0, 0};
    if ((d = H5Dopen2(loc, name, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        (ft = H5Dget_type(d)) < 0 || (dcpl = H5Dget_create_plist(d)) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot open dataset %s%s", c->group, name);
        goto done;
    }
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd != rank || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: rank %d, expected %d", c->group, name, nd,
                     rank);
        goto done;
    }
    size_t count = 1;
    int ovf = 0;
    for (int i = 0; i < rank; i++) {
        if (want[i] != 0 && dims[i] != want[i]) {
            st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: dimension %d is %llu, expected %llu",
                         c->group, name, i, (unsigned long long)dims[i],
                         (unsigned long long)want[i]);
            goto done;
        }
        want[i] = dims[i];
        ovf |= dims[i] > SIZE_MAX || app_size_mul(count, (size_t)dims[i], &count);
    }
    size_t bytes;
    ovf |= app_size_mul(count, elem, &bytes);
    if ((st = take_budget(c, "dataset", name, bytes, ovf))) goto done;
    H5T_class_t want_class = H5Tget_class(mtype), cls = H5Tget_class(ft);
    if (cls != want_class || H5Tget_size(ft) > 8) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: expected %s", c->group, name,
                     want_class == H5T_FLOAT ? "floating-point numbers" : "integers");
        goto done;
    }
    H5D_layout_t lay = H5Pget_layout(dcpl);
    if ((lay != H5D_CONTIGUOUS && lay != H5D_COMPACT) || H5Pget_nfilters(dcpl) != 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT,
                     "dataset %s%s: expected a contiguous, unfiltered layout (as written here)",
                     c->group, name);
        goto done;
    }
    *out = malloc(count > 0 ? bytes : 1);
    if (!*out) {
        st = h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for dataset %s%s", c->group, name);
        goto done;
    }
    if (count > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        free(*out);
        *out = NULL;
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot read dataset %s%s", c->group, name);
    }
done:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return st;
}

static app_io_status get_doubles(h5ctx *c, hid_t loc, const char *name, int rank, hsize_t *want,
                                 double **out, int required)
{
    return get_data(c, loc, name, rank, want, H5T_NATIVE_DOUBLE, sizeof(double), (void **)out,
                    required);
}

/* The config: a scalar string dataset, fixed- or variable-length. */
static app_io_status get_string_data(h5ctx *c, hid_t loc, const char *name, char **out)
{
    *out = NULL;
    int e = has(loc, name);
    if (e < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query dataset %s%s", c->group, name);
    if (e == 0) return APP_IO_OK;
    app_io_status st = APP_IO_OK;
    hid_t d = -1, ft = -1, mt = -1, sp = -1;
    if ((d = H5Dopen2(loc, name, H5P_DEFAULT)) < 0 || (ft = H5Dget_type(d)) < 0 ||
        (sp = H5Dget_space(d)) < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(ft)) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot open dataset %s%s", c->group, name);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s is not a string", c->group, name);
        goto done;
    }
    if (H5Tis_variable_str(ft) != 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: expected a fixed-length string", c->group,
                     name);
        goto done;
    }
    size_t l = H5Tget_size(ft);
    H5T_str_t pad = H5Tget_strpad(ft);
    if (l == 0 || pad < 0 || H5Tset_size(mt, l) < 0 || H5Tset_strpad(mt, pad) < 0) {
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: bad string type", c->group, name);
        goto done;
    }
    if ((st = take_budget(c, "dataset", name, l, 0))) goto done;
    if ((*out = calloc(l + 1, 1)) && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        free(*out);
        *out = NULL;
        st = h5_fail(c, APP_IO_ERR_FORMAT, "cannot read dataset %s%s", c->group, name);
        goto done;
    }
    if (*out && has_inner_nul(*out, l)) {
        free(*out);
        *out = NULL;
        st = h5_fail(c, APP_IO_ERR_FORMAT, "dataset %s%s: string contains a NUL byte", c->group,
                     name);
        goto done;
    }
    if (!*out) st = h5_fail(c, APP_IO_ERR_NOMEM, "out of memory for dataset %s%s", c->group, name);
done:
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return st;
}

/* Open group name of loc if it exists: *g = id, or -1 when absent. */
static app_io_status open_group(h5ctx *c, hid_t loc, const char *name, hid_t *g)
{
    *g = -1;
    int e = has(loc, name);
    if (e < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query group %s", name);
    if (e == 0) return APP_IO_OK;
    if ((*g = H5Gopen2(loc, name, H5P_DEFAULT)) < 0)
        return h5_fail(c, APP_IO_ERR_FORMAT, "cannot open group %s", name);
    // Groups are read after everything at the root, so the prefix never needs a reset.
    snprintf(c->group, sizeof c->group, "%s/", name);
    return APP_IO_OK;
}

static app_io_status read_history(h5ctx *c, hid_t g, app_history *h)
{
    app_io_status st;
    hsize_t n[1] = {0};
    int64_t *iteration = NULL;
    if ((st = get_data(c, g, "iteration", 1, n, H5T_NATIVE_INT64, sizeof(int64_t),
                       (void **)&iteration, 1)))
        return st;
    if (n[0] > INT_MAX / 2) {
        free(iteration);
        return h5_fail(c, APP_IO_ERR_FORMAT, "history: %llu rows", (unsigned long long)n[0]);
    }
    int rows = (int)n[0];
    h->n_rows = rows;
    h->capacity = rows;
    h->iteration = iteration;
    hsize_t d2[2] = {n[0], 0};
    if ((st = get_data(c, g, "evaluations", 1, n, H5T_NATIVE_INT64, sizeof(int64_t),
                       (void **)&h->evaluations, 1)) ||
        (st = get_doubles(c, g, "objective", 1, n, &h->objective, 1)) ||
        (st = get_doubles(c, g, "violation", 1, n, &h->violation, 1)) ||
        (st = get_doubles(c, g, "step", 1, n, &h->step, 1)) ||
        (st = get_doubles(c, g, "time", 1, n, &h->time, 1)) ||
        (st = get_doubles(c, g, "constraints", 2, d2, &h->constraints, 0)))
        return st;
    if (h->constraints) {
        if (d2[1] > INT_MAX) return h5_fail(c, APP_IO_ERR_FORMAT, "history: too many columns");
        int nc = (int)d2[1];
        if ((st = get_attr_names(c, g, "constraint_names", nc, &h->constraint_names))) return st;
        h->n_constraints = nc;
    }
    d2[0] = n[0];
    d2[1] = 0;
    if ((st = get_doubles(c, g, "extra", 2, d2, &h->extra, 0))) return st;
    if (h->extra) {
        if (d2[1] > INT_MAX) return h5_fail(c, APP_IO_ERR_FORMAT, "history: too many columns");
        int ne = (int)d2[1];
        if ((st = get_attr_names(c, g, "extra_names", ne, &h->extra_names))) return st;
        h->n_extra = ne;
    }
    return APP_IO_OK;
}

static app_io_status read_checkpoint(h5ctx *c, hid_t g, app_checkpoint *k)
{
    app_io_status st;
    hsize_t n[1];
    k->present = 1;
    n[0] = 0;
    if ((st = get_data(c, g, "counters", 1, n, H5T_NATIVE_INT64, sizeof(int64_t),
                       (void **)&k->counters, 1)))
        return st;
    k->n_counters = (size_t)n[0];
    n[0] = 0;
    if ((st = get_data(c, g, "words", 1, n, H5T_NATIVE_UINT64, sizeof(uint64_t), (void **)&k->words,
                       1)))
        return st;
    k->n_words = (size_t)n[0];
    n[0] = 0;
    if ((st = get_doubles(c, g, "solver_state", 1, n, &k->solver_state, 1))) return st;
    k->n_solver_state = (size_t)n[0];
    n[0] = 0;
    if ((st = get_doubles(c, g, "extra", 1, n, &k->extra, 1))) return st;
    k->n_extra = (size_t)n[0];
    return APP_IO_OK;
}

static app_io_status read_all(h5ctx *c, hid_t f, app_result *r, int *versionp)
{
    app_io_status st;
    char *format = NULL;
    int version = 0;
    if ((st = get_attr_str(c, f, "format", &format))) return st;
    int ok = format && strcmp(format, APP_H5_FORMAT) == 0;
    free(format);
    if (!ok)
        return h5_fail(c, APP_IO_ERR_FORMAT, "not a %s file (root attribute format)",
                       APP_H5_FORMAT);
    if ((st = get_attr(c, f, "format_version", H5T_NATIVE_INT, &version, 1))) return st;
    if (version < 1 || version > APP_H5_FORMAT_VERSION)
        return h5_fail(c, APP_IO_ERR_FORMAT, "format_version %d not supported (this program: %d)",
                       version, APP_H5_FORMAT_VERSION);
    *versionp = version;
    htri_t hc = H5Aexists(f, "checksum");
    if (hc < 0) return h5_fail(c, APP_IO_ERR_FORMAT, "cannot query attribute checksum");
    c->has_checksum = hc > 0;
    if (hc > 0 && (st = get_attr(c, f, "checksum", H5T_NATIVE_UINT64, &c->checksum, 1))) return st;
    if ((st = get_attr(c, f, "W", H5T_NATIVE_INT, &r->W, 1)) ||
        (st = get_attr(c, f, "H", H5T_NATIVE_INT, &r->H, 1)))
        return st;
    if (r->W <= 0 || r->H <= 0 || (long long)r->W * r->H > INT_MAX)
        return h5_fail(c, APP_IO_ERR_FORMAT, "bad grid %d x %d", r->W, r->H);
    if ((st = get_attr(c, f, "compliance", H5T_NATIVE_DOUBLE, &r->compliance, 0)) ||
        (st = get_attr(c, f, "volume_fraction", H5T_NATIVE_DOUBLE, &r->volume_fraction, 0)) ||
        (st = get_attr(c, f, "status_code", H5T_NATIVE_INT, &r->status_code, 0)) ||
        (st = get_attr_str(c, f, "status", &r->status)) ||
        (st = get_attr_str(c, f, "version", &r->version)) ||
        (st = get_attr(c, f, "seed", H5T_NATIVE_UINT64, &r->seed, 0)) ||
        (st = get_attr_str(c, f, "config_name", &r->config_name)) ||
        (st = get_attr_str(c, f, "method", &r->method)) ||
        (st = get_attr_str(c, f, "parameterization", &r->parameterization)) ||
        (st = get_attr(c, f, "mirror_left", H5T_NATIVE_INT, &r->mirror_left, 0)) ||
        (st = get_attr(c, f, "mirror_right", H5T_NATIVE_INT, &r->mirror_right, 0)) ||
        (st = get_string_data(c, f, "config", &r->config_text)) ||
        (st = get_string_data(c, f, "config_keys", &r->config_keys)) ||
        (st = get_attr(c, f, "config_hash", H5T_NATIVE_UINT64, &r->config_hash, 0)))
        return st;

    hid_t g = -1;
    hsize_t img[2] = {(hsize_t)r->H, (hsize_t)r->W};
    if ((st = open_group(c, f, "density", &g))) return st;
    if (g >= 0) {
        (void)((st = get_doubles(c, g, "raw", 2, img, &r->rho_raw, 0)) ||
               (st = get_doubles(c, g, "filtered", 2, img, &r->rho_filtered, 0)) ||
               (st = get_doubles(c, g, "physical", 2, img, &r->rho_physical, 0)));
        H5Gclose(g);
        if (st) return st;
    }
    if ((st = open_group(c, f, "fem", &g))) return st;
    if (g >= 0) {
        // One displacement field per load case, 2 dofs per node of the (W+1) x (H+1) grid.
        hsize_t du[2] = {0, 2 * ((hsize_t)r->W + 1) * ((hsize_t)r->H + 1)};
        st = get_doubles(c, g, "displacement", 2, du, &r->displacement, 0);
        if (!st && r->displacement) {
            if (du[0] == 0 || du[0] > APP_H5_MAX_LOAD_CASES || du[1] > INT_MAX)
                st = h5_fail(c, APP_IO_ERR_FORMAT,
                             "dataset fem/displacement: %llu load cases, expected 1 to %d",
                             (unsigned long long)du[0], APP_H5_MAX_LOAD_CASES);
            r->n_load_cases = (int)du[0];
            r->ndof = (int)du[1];
        }
        if (!st) st = get_doubles(c, g, "strain_energy", 2, img, &r->strain_energy, 0);
        H5Gclose(g);
        if (st) return st;
    }
    if ((st = open_group(c, f, "params", &g))) return st;
    if (g >= 0) {
        hsize_t nt[1] = {0};
        st = get_doubles(c, g, "theta", 1, nt, &r->theta, 0);
        if (r->theta) r->n_params = (size_t)nt[0];
        H5Gclose(g);
        if (st) return st;
    }
    if ((st = open_group(c, f, "history", &g))) return st;
    if (g >= 0) {
        st = read_history(c, g, &r->history);
        H5Gclose(g);
        if (st) return st;
    }
    if ((st = open_group(c, f, "checkpoint", &g))) return st;
    if (g >= 0) {
        st = read_checkpoint(c, g, &r->checkpoint);
        H5Gclose(g);
        if (st) return st;
    }
    return APP_IO_OK;
}

static const unsigned char h5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* The version of the HDF5 superblock of the file at path (the byte after the 8-byte signature,
 * which HDF5 looks for at offset 0, 512, 1024, 2048, ...), or -1 if there is none. */
static int superblock_version(const char *path, long long size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int version = -1;
    for (long long off = 0; off + 9 <= size && version < 0; off = off ? 2 * off : 512) {
        unsigned char b[9];
        if (fseek(f, (long)off, SEEK_SET) != 0 || fread(b, 1, 9, f) != 9) break;
        if (memcmp(b, h5_signature, 8) == 0) version = b[8];
    }
    fclose(f);
    return version;
}

/* superblock_version of a file image in memory. */
static int superblock_version_image(const unsigned char *image, size_t size)
{
    for (size_t off = 0; size >= 9 && off <= size - 9; off = off ? 2 * off : 512)
        if (memcmp(image + off, h5_signature, 8) == 0) return image[off + 8];
    return -1;
}

/* The one validating reader behind app_h5_read and app_h5_read_image: name is the path of the
 * file, or (image != NULL) only the name its messages use while the file is read from image. */
static app_io_status read_file(const char *name, const void *image, size_t size, int sbv,
                               app_result *r, char *err, size_t errlen)
{
    // HDF5 parses the metadata of a version-0/1 superblock file without any checksum, and
    // HDF5 1.10 has memory errors on damaged metadata of that kind (found by fuzzing:
    // heap-buffer-overflow in H5O__attr_exists). From superblock version 2 on every piece of
    // metadata is checksummed and HDF5 refuses damage before parsing it; app_h5_write writes
    // version 2 (the 1.8 format), so only checksummed files are read.
    if (sbv < 0) return APP_IO_FAIL(APP_IO_ERR_FORMAT, "%s: not an HDF5 file", name);
    if (sbv < 2)
        return APP_IO_FAIL(APP_IO_ERR_FORMAT,
                           "%s: HDF5 file format without metadata checksums (superblock version "
                           "%d; topopt writes version 2 or later); a trusted file can be "
                           "converted with `h5repack -L IN OUT`",
                           name, sbv);
    h5ctx c;
    h5_enter(&c, name, err, errlen);
    app_io_status st;
    hid_t fapl = -1, f = -1;
    if (!image) {
#if H5_VERSION_GE(1, 12, 0)
        htri_t is = H5Fis_accessible(name, H5P_DEFAULT); // H5Fis_hdf5 is deprecated from 1.12 on
#else
        htri_t is = H5Fis_hdf5(name);
#endif
        if (is <= 0) {
            st = h5_fail(&c, APP_IO_ERR_FORMAT, "not an HDF5 file");
            goto done;
        }
    }
    fapl = new_fapl();
    // An image is opened with the in-memory driver, without a backing file; HDF5 reads it from
    // a copy of the buffer.
    if (fapl >= 0 && image &&
        (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
         H5Pset_file_image(fapl, (void *)(uintptr_t)image, size) < 0)) {
        H5Pclose(fapl);
        fapl = -1;
    }
    if (fapl < 0) {
        st = h5_fail(&c, APP_IO_ERR_IO, "cannot create a file access property list");
        goto done;
    }
    // The in-memory driver refuses an image whose name exists as a file; it gets a name that
    // cannot exist (the messages keep name).
    f = H5Fopen(image ? "/dev/null/topopt-image.h5" : name, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        st = h5_fail(&c, APP_IO_ERR_FORMAT, "cannot open as HDF5");
        goto done;
    }
    // Everything the datasets and strings declare must fit in the file (see take_budget).
    c.budget = size;
    int version = 0;
    st = read_all(&c, f, r, &version);
    if (H5Fclose(f) < 0 && !st) st = h5_fail(&c, APP_IO_ERR_IO, "cannot close");
    if (!st && version >= 2) {
        c.group[0] = '\0';
        uint64_t stored = 0, got = app_result_checksum(r);
        stored = c.checksum; // read by read_all

        if (!c.has_checksum)
            st = h5_fail(&c, APP_IO_ERR_FORMAT, "attribute checksum missing (format_version %d)",
                         version);
        else if (stored != got)
            st = h5_fail(&c, APP_IO_ERR_FORMAT,
                         "data checksum mismatch (stored %016llx, computed %016llx): the file is "
                         "damaged",
                         (unsigned long long)stored, (unsigned long long)got);
    }
done:
    h5_leave(&c);
    if (st) app_result_free(r);
    return st;
}

app_io_status app_h5_read(const char *path, app_result *r, char *err, size_t errlen)
{
    if (r) memset(r, 0, sizeof *r);
    if (!path || !r) return APP_IO_FAIL(APP_IO_ERR_INVALID, "h5 read: NULL path or result");
    // A clear message for the common case, before HDF5's less direct one.
    struct stat sb;
    if (stat(path, &sb) != 0)
        return APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return APP_IO_FAIL(APP_IO_ERR_IO, "%s: not a regular file", path);
    int sbv = superblock_version(path, (long long)sb.st_size);
    return read_file(path, NULL, (size_t)sb.st_size, sbv, r, err, errlen);
}

app_io_status app_h5_read_image(const char *name, const void *image, size_t size, app_result *r,
                                char *err, size_t errlen)
{
    if (r) memset(r, 0, sizeof *r);
    if (!name || (!image && size) || !r)
        return APP_IO_FAIL(APP_IO_ERR_INVALID, "h5 read: NULL name, image or result");
    int sbv = image ? superblock_version_image(image, size) : -1;
    return read_file(name, image, size, sbv, r, err, errlen);
}

void app_result_free(app_result *r)
{
    if (!r) return;
    free(r->rho_raw);
    free(r->rho_filtered);
    free(r->rho_physical);
    free(r->displacement);
    free(r->strain_energy);
    free(r->theta);
    app_history_free(&r->history);
    free(r->config_text);
    free(r->config_keys);
    free(r->status);
    free(r->version);
    free(r->config_name);
    free(r->method);
    free(r->parameterization);
    free(r->checkpoint.counters);
    free(r->checkpoint.words);
    free(r->checkpoint.solver_state);
    free(r->checkpoint.extra);
    memset(r, 0, sizeof *r);
}

app_io_status app_result_render_png(const char *h5_path, const char *png_path, int scale, char *err,
                                    size_t errlen)
{
    if (!h5_path || !png_path) return APP_IO_FAIL(APP_IO_ERR_INVALID, "render: NULL path");
    app_result r;
    app_io_status st = app_h5_read(h5_path, &r, err, errlen);
    // Whatever keeps the input from being read is the caller's input (missing, damaged,
    // foreign); APP_IO_ERR_IO is then left to mean the picture could not be written.
    if (st) return st == APP_IO_ERR_NOMEM ? st : APP_IO_ERR_FORMAT;
    if (!r.rho_physical) {
        st = APP_IO_FAIL(APP_IO_ERR_FORMAT, "%s: no density/physical dataset", h5_path);
    } else {
        st = app_png_write_density(png_path, r.rho_physical, r.W, r.H, scale, r.mirror_left,
                                   r.mirror_right, err, errlen);
    }
    app_result_free(&r);
    return st;
}
