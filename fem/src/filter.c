// fem/src/filter.c: cone density/sensitivity filters (sparse CSR) and the Heaviside projection
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fem_internal.h"

struct fem_filter {
    int W, H, nelem;
    fem_filter_kind kind;
    unsigned char *design; ///< [nelem]
    int *rowptr;           ///< [nelem + 1] CSR of the raw weights, rows of designable elements
    int *col;              ///< [nnz]
    double *w;             ///< [nnz] raw weights max(0, r - dist)
    double *val;           ///< [nnz] normalized weights (the operator F)
    double *wsum;          ///< [nelem] sum of the raw weights of row i over all in-grid j
};

void fem_filter_destroy(fem_filter *f)
{
    if (!f) return;
    free(f->design);
    free(f->rowptr);
    free(f->col);
    free(f->w);
    free(f->val);
    free(f->wsum);
    free(f);
}

int fem_filter_nelem(const fem_filter *f)
{
    return f->nelem;
}

fem_status fem_filter_create(fem_filter **out, int W, int H, fem_filter_kind kind, double radius,
                             const unsigned char *designable)
{
    fem_status st;
    if (!out) return FEM_FAIL(FEM_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (W < 1 || H < 1 || (double)W * H > 1e9)
        return FEM_FAIL(FEM_ERR_INVALID, "grid %d x %d invalid", W, H);
    if (kind != FEM_FILTER_DENSITY_ROWSUM && kind != FEM_FILTER_DENSITY_COLSUM &&
        kind != FEM_FILTER_SENSITIVITY)
        return FEM_FAIL(FEM_ERR_INVALID, "kind = %d is not a fem_filter_kind", (int)kind);
    if (!(isfinite(radius) && radius > 0 && radius < 1000))
        return FEM_FAIL(FEM_ERR_INVALID, "radius = %g must be finite, > 0 and < 1000", radius);

    fem_filter *f = calloc(1, sizeof *f);
    if (!f) return FEM_FAIL(FEM_ERR_NOMEM, "filter");
    f->W = W, f->H = H, f->nelem = W * H, f->kind = kind;
    const size_t ne = (size_t)f->nelem;
    const int R = (int)ceil(radius);
    const size_t maxrow = (size_t)(2 * R + 1) * (size_t)(2 * R + 1);
    f->design = malloc(ne);
    f->rowptr = malloc((ne + 1) * sizeof *f->rowptr);
    f->wsum = calloc(ne, sizeof *f->wsum);
    if (!f->design || !f->rowptr || !f->wsum) {
        st = FEM_FAIL(FEM_ERR_NOMEM, "filter arrays for %d x %d", W, H);
        goto fail;
    }
    for (size_t e = 0; e < ne; e++)
        f->design[e] = designable ? designable[e] != 0 : 1;

    /* count, then fill: row i = (ex, ey) designable, columns j = (ex+dx, ey+dy) in the grid
     * with w = r - sqrt(dx^2 + dy^2) > 0 (zero weights are not stored) */
    size_t nnz = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (int ey = 0; ey < H; ey++)
            for (int ex = 0; ex < W; ex++) {
                const int i = ey * W + ex;
                if (pass) f->rowptr[i] = (int)k;
                double s = 0;
                for (int dy = -R; dy <= R; dy++) {
                    if (ey + dy < 0 || ey + dy >= H) continue;
                    for (int dx = -R; dx <= R; dx++) {
                        if (ex + dx < 0 || ex + dx >= W) continue;
                        const double w = radius - sqrt((double)(dx * dx + dy * dy));
                        if (w <= 0) continue;
                        s += w;
                        if (!f->design[i]) continue;
                        if (pass) f->col[k] = (ey + dy) * W + ex + dx, f->w[k] = w;
                        k++;
                    }
                }
                if (pass) f->wsum[i] = s;
            }
        if (!pass) {
            nnz = k;
            if (nnz > (size_t)2000000000 || nnz > ne * maxrow) {
                st = FEM_FAIL(FEM_ERR_INVALID, "filter too large (%zu entries)", nnz);
                goto fail;
            }
            f->col = malloc((nnz ? nnz : 1) * sizeof *f->col);
            f->w = malloc((nnz ? nnz : 1) * sizeof *f->w);
            f->val = malloc((nnz ? nnz : 1) * sizeof *f->val);
            if (!f->col || !f->w || !f->val) {
                st = FEM_FAIL(FEM_ERR_NOMEM, "filter with %zu entries", nnz);
                goto fail;
            }
        } else {
            f->rowptr[ne] = (int)k;
        }
    }

    /* normalization */
    if (kind == FEM_FILTER_DENSITY_COLSUM) {
        // Hoyer et al. (autograd_lib.normalized_cone_filter_matrix): row i of the raw matrix is
        // scaled by 1 / (sum of column i); column i collects w(k, i) from the designable rows
        // k only. w(k, i) = w(i, k) depends on the offset alone, so the column sum of i is the
        // sum of w over the designable in-grid neighbours of i, which includes i itself
        // (w = r > 0) whenever row i exists.
        for (size_t i = 0; i < ne; i++) {
            if (!f->design[i]) continue;
            double cs = 0;
            for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++)
                if (f->design[f->col[k]]) cs += f->w[k];
            for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++)
                f->val[k] = f->w[k] / cs;
        }
    } else {
        for (size_t i = 0; i < ne; i++)
            for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++)
                f->val[k] = f->w[k] / f->wsum[i];
    }
    *out = f;
    return FEM_OK;
fail:
    fem_filter_destroy(f);
    return st;
}

fem_status fem_filter_apply(const fem_filter *f, const double *x, double *y)
{
    if (!f || !x || !y) return FEM_FAIL(FEM_ERR_INVALID, "NULL argument");
    if (x == y) return FEM_FAIL(FEM_ERR_INVALID, "x and y must be distinct arrays");
    for (int i = 0; i < f->nelem; i++) {
        if (f->kind == FEM_FILTER_SENSITIVITY) {
            y[i] = f->design[i] ? x[i] : 0.0;
            continue;
        }
        double s = 0;
        for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++)
            s += f->val[k] * x[f->col[k]];
        y[i] = s;
    }
    return FEM_OK;
}

fem_status fem_filter_apply_transpose(const fem_filter *f, const double *y, double *x)
{
    if (!f || !x || !y) return FEM_FAIL(FEM_ERR_INVALID, "NULL argument");
    if (x == y) return FEM_FAIL(FEM_ERR_INVALID, "x and y must be distinct arrays");
    if (f->kind == FEM_FILTER_SENSITIVITY) {
        for (int i = 0; i < f->nelem; i++)
            x[i] = f->design[i] ? y[i] : 0.0;
        return FEM_OK;
    }
    memset(x, 0, (size_t)f->nelem * sizeof *x);
    for (int i = 0; i < f->nelem; i++) {
        const double yi = y[i];
        for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++)
            x[f->col[k]] += f->val[k] * yi;
    }
    return FEM_OK;
}

fem_status fem_filter_sensitivity(const fem_filter *f, const double *x, const double *dc,
                                  double *out)
{
    if (!f || !x || !dc || !out) return FEM_FAIL(FEM_ERR_INVALID, "NULL argument");
    if (out == x || out == dc) return FEM_FAIL(FEM_ERR_INVALID, "out must not alias x or dc");
    // top88 (Andreassen et al. 2011, eq. 13 / line 52): dc_i <- sum_j H_ij x_j dc_j /
    // (max(1e-3, x_i) sum_j H_ij)
    for (int i = 0; i < f->nelem; i++) {
        double s = 0;
        for (int k = f->rowptr[i]; k < f->rowptr[i + 1]; k++) {
            const int j = f->col[k];
            s += f->w[k] * x[j] * dc[j];
        }
        out[i] = f->design[i] ? s / (f->wsum[i] * fmax(1e-3, x[i])) : 0.0;
    }
    return FEM_OK;
}

fem_status fem_projection(int n, double beta, double eta, const double *x, double *y, double *dydx)
{
    if (n < 0 || !x || !y) return FEM_FAIL(FEM_ERR_INVALID, "n = %d or NULL array", n);
    if (!(isfinite(beta) && beta > 0))
        return FEM_FAIL(FEM_ERR_INVALID, "beta = %g must be finite and > 0", beta);
    if (!(eta >= 0 && eta <= 1)) return FEM_FAIL(FEM_ERR_INVALID, "eta = %g not in [0, 1]", eta);
    // Wang, Lazarov & Sigmund 2011, eq. (8)
    const double a = tanh(beta * eta), den = a + tanh(beta * (1 - eta));
    for (int i = 0; i < n; i++) {
        const double t = tanh(beta * (x[i] - eta));
        if (dydx) dydx[i] = beta * (1 - t * t) / den;
        y[i] = (a + t) / den;
    }
    return FEM_OK;
}
