// tests/h5_craft.h: hostile result files built with the HDF5 C API (no binary files in the
// repository): the root attributes of a topopt result plus one dataset whose declared
// dimensions, layout or type are whatever a test wants. Used by test_app_io.c and by the
// fuzz seed-corpus generator.
#ifndef TESTS_H5_CRAFT_H
#define TESTS_H5_CRAFT_H

#include <string.h>

#include <hdf5.h>

#include "export.h"

/** What h5_craft writes besides the root attributes. */
typedef struct {
    int W, H;            ///< root attributes W and H
    int version;         ///< format_version (1 needs no checksum attribute)
    const char *group;   ///< group of the dataset ("fem", "params", "density", ...)
    const char *dataset; ///< dataset name inside group (NULL: none)
    int rank;            ///< 1 or 2
    hsize_t dims[2];     ///< declared dimensions (may be absurd)
    int chunked;         ///< 1: chunked layout without data (any size is creatable)
    int gzip;            ///< 1: chunked + deflate filter, data written (small dims only)
    int w_as_string;     ///< 1: attribute W is a string instead of an integer
    const char *status;  ///< status attribute as given (may contain a NUL; len status_len)
    size_t status_len;
    int status_vlen; ///< 1: status as a variable-length string
} h5_craft_spec;

static int h5_craft_str_attr(hid_t loc, const char *name, const char *s, size_t len, int vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0;
    if (ok && vlen) {
        ok = H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &s) >= 0;
    } else if (ok) {
        ok = H5Tset_size(t, len ? len : 1) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, len ? s : "") >= 0;
    }
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

static int h5_craft_int_attr(hid_t loc, const char *name, int v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = sp >= 0 &&
             (a = H5Acreate2(loc, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, H5T_NATIVE_INT, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return ok ? 0 : -1;
}

/** Write the file described by s to path. 0 on success. */
static int h5_craft(const char *path, const h5_craft_spec *s)
{
    // The 1.8 file format (superblock 2, checksummed metadata), as app_h5_write writes: the
    // reader refuses older superblocks before any parsing.
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) return -1;
    int ok = h5_craft_str_attr(f, "format", APP_H5_FORMAT, strlen(APP_H5_FORMAT), 0) == 0 &&
             h5_craft_int_attr(f, "format_version", s->version ? s->version : 1) == 0 &&
             h5_craft_int_attr(f, "H", s->H) == 0;
    if (ok && s->w_as_string)
        ok = h5_craft_str_attr(f, "W", "12", 2, 0) == 0;
    else if (ok)
        ok = h5_craft_int_attr(f, "W", s->W) == 0;
    if (ok && s->status)
        ok = h5_craft_str_attr(f, "status", s->status, s->status_len, s->status_vlen) == 0;
    if (ok && s->dataset) {
        hid_t g = H5Gcreate2(f, s->group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t sp = H5Screate_simple(s->rank, s->dims, NULL);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
        ok = g >= 0 && sp >= 0 && dcpl >= 0;
        if (ok && (s->chunked || s->gzip)) {
            hsize_t chunk[2] = {1, 1};
            for (int i = 0; i < s->rank; i++)
                chunk[i] = s->dims[i] < 64 ? s->dims[i] : 64;
            ok = H5Pset_chunk(dcpl, s->rank, chunk) >= 0 &&
                 (!s->gzip || H5Pset_deflate(dcpl, 9) >= 0);
        }
        if (ok)
            ok = (d = H5Dcreate2(g, s->dataset, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
                                 H5P_DEFAULT)) >= 0;
        if (ok && s->gzip) {
            hsize_t n = 1;
            for (int i = 0; i < s->rank; i++)
                n *= s->dims[i];
            double *z = calloc(n, sizeof *z);
            ok = z && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, z) >= 0;
            free(z);
        }
        if (d >= 0) H5Dclose(d);
        if (dcpl >= 0) H5Pclose(dcpl);
        if (sp >= 0) H5Sclose(sp);
        if (g >= 0) H5Gclose(g);
    }
    if (H5Fclose(f) < 0) ok = 0;
    return ok ? 0 : -1;
}

#endif
