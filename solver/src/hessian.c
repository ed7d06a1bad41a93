// solver/src/hessian.c: full and limited-memory inverse-BFGS approximations H ~ (hess f)^-1
//
// Full memory keeps H dense and applies the rank-two update of the inverse (Nocedal, Wright,
// "Numerical Optimization", eq. 6.17). Limited memory keeps m pairs (s_i, y_i) and applies H
// through the compact representation of Byrd, Nocedal, Schnabel (Math. Prog. 63, 1994,
// eq. 3.1-3.2), so k right-hand sides cost four GEMMs with the n x m pair matrices.
#include "ncvx_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

int ncvx_hess_init(ncvx_hess *h, int n, int m, int kmax, int scaleH0, int single)
{
    memset(h, 0, sizeof *h);
    h->n = n;
    h->m = m;
    h->kmax = kmax;
    h->scaleH0 = scaleH0;
    h->gamma = 1;
    if (m == 0) {
        h->H = calloc((size_t)n * n, sizeof *h->H);
        if (!h->H) return -1;
        for (int i = 0; i < n; i++)
            h->H[(size_t)i * n + i] = 1;
        h->wk = calloc((size_t)n, sizeof *h->wk);
        if (!h->wk) return -1;
        return 0;
    }
    h->single = single;
    if (single) {
        h->Sf = calloc((size_t)n * m, sizeof *h->Sf);
        h->Yf = calloc((size_t)n * m, sizeof *h->Yf);
        h->cb = calloc(2 * (size_t)NCVX_HESS_BLOCK * m, sizeof *h->cb);
        if (!h->Sf || !h->Yf || !h->cb) return -1;
    } else {
        h->S = calloc((size_t)n * m, sizeof *h->S);
        h->Y = calloc((size_t)n * m, sizeof *h->Y);
        if (!h->S || !h->Y) return -1;
    }
    h->SY = calloc((size_t)m * m, sizeof *h->SY);
    h->YY = calloc((size_t)m * m, sizeof *h->YY);
    // A, B, P, T (m x kmax each), two m-vectors for the update
    h->wk = calloc(4 * (size_t)m * kmax + 4 * (size_t)m, sizeof *h->wk);
    h->ord = calloc((size_t)m, sizeof *h->ord);
    if (!h->SY || !h->YY || !h->wk || !h->ord) return -1;
    return 0;
}

int ncvx_hess_auto_single(int n, int m, double lm_mem_max)
{
    return m > 0 && 16.0 * (double)m * (double)n > lm_mem_max;
}

void ncvx_hess_touch(ncvx_hess *h)
{
    const size_t nm = (size_t)h->n * h->m;
    if (h->S) memset(h->S, 0, nm * sizeof *h->S);
    if (h->Y) memset(h->Y, 0, nm * sizeof *h->Y);
    if (h->Sf) memset(h->Sf, 0, nm * sizeof *h->Sf);
    if (h->Yf) memset(h->Yf, 0, nm * sizeof *h->Yf);
}

void ncvx_hess_reset(ncvx_hess *h)
{
    const int n = h->n;
    h->gamma = 1;
    h->scaled = 0;
    h->head = h->count = 0;
    h->updates = h->skipped = 0;
    if (h->m == 0) {
        memset(h->H, 0, (size_t)n * n * sizeof *h->H);
        for (int i = 0; i < n; i++)
            h->H[(size_t)i * n + i] = 1;
    }
}

void ncvx_hess_free(ncvx_hess *h)
{
    free(h->H);
    free(h->S);
    free(h->Y);
    free(h->Sf);
    free(h->Yf);
    free(h->cb);
    free(h->SY);
    free(h->YY);
    free(h->wk);
    free(h->ord);
    memset(h, 0, sizeof *h);
}

/* rows [r0, r0 + b) of the first c columns of Sf and Yf, in double, into cs, cy (ld b) */
static void block_to_double(const ncvx_hess *h, int r0, int b, int c, double *cs, double *cy)
{
    const size_t n = (size_t)h->n;
    for (int j = 0; j < c; j++) {
        const float *sf = h->Sf + (size_t)j * n + r0, *yf = h->Yf + (size_t)j * n + r0;
        double *ds = cs + (size_t)j * b, *dy = cy + (size_t)j * b;
        for (int i = 0; i < b; i++) {
            ds[i] = sf[i];
            dy[i] = yf[i];
        }
    }
}

/* The row block of the first c pairs that starts at row r0, as double column-major matrices
 * *Sb, *Yb with leading dimension b (returned): double pairs are one block, S and Y themselves;
 * single pairs come in blocks of NCVX_HESS_BLOCK rows converted into h->cb. */
static int pair_block(ncvx_hess *h, int r0, int c, const double **Sb, const double **Yb)
{
    const int n = h->n;
    if (!h->single) {
        *Sb = h->S;
        *Yb = h->Y;
        return n;
    }
    double *cs = h->cb, *cy = h->cb + (size_t)NCVX_HESS_BLOCK * h->m;
    int b = n - r0 < NCVX_HESS_BLOCK ? n - r0 : NCVX_HESS_BLOCK;
    block_to_double(h, r0, b, c, cs, cy);
    *Sb = cs;
    *Yb = cy;
    return b;
}

/* A = S'V, B = Y'V over the first c pairs (c x k, ld c) */
static void pairs_t_times(ncvx_hess *h, int c, int k, const double *V, double *A, double *B)
{
    const int n = h->n;
    const double *Sb, *Yb;
    for (int r0 = 0, b; r0 < n; r0 += b) {
        b = pair_block(h, r0, c, &Sb, &Yb);
        double beta = r0 == 0 ? 0.0 : 1.0;
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, k, b, 1.0, Sb, b, V + r0, n, beta,
                    A, c);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, k, b, 1.0, Yb, b, V + r0, n, beta,
                    B, c);
    }
}

/* HV += S A + Y B over the first c pairs */
static void pairs_times_add(ncvx_hess *h, int c, int k, const double *A, const double *B,
                            double *HV)
{
    const int n = h->n;
    const double *Sb, *Yb;
    for (int r0 = 0, b; r0 < n; r0 += b) {
        b = pair_block(h, r0, c, &Sb, &Yb);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, b, k, c, 1.0, Sb, b, A, c, 1.0,
                    HV + r0, n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, b, k, c, 1.0, Yb, b, B, c, 1.0,
                    HV + r0, n);
    }
}

void ncvx_hess_apply(ncvx_hess *h, int k, const double *V, double *HV)
{
    const int n = h->n;
    if (h->m == 0) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, n, 1.0, h->H, n, V, n, 0.0, HV,
                    n);
        return;
    }
    const int m = h->m, c = h->count;
    const size_t nk = (size_t)n * k;
    for (size_t i = 0; i < nk; i++)
        HV[i] = h->gamma * V[i];
    if (c == 0) return;
    // slots 0..c-1 are in use (the ring fills them in order before wrapping)
    double *A = h->wk, *B = A + (size_t)m * k, *P = B + (size_t)m * k, *T = P + (size_t)m * k;
    int *ord = h->ord;
    for (int j = 0; j < c; j++)
        ord[j] = (h->head - c + j + m) % m;
    // A = S'V, B = Y'V in storage order (c x k)
    pairs_t_times(h, c, k, V, A, B);
    const double g = h->gamma;
    for (int col = 0; col < k; col++) {
        double *a = A + (size_t)col * c, *b = B + (size_t)col * c;
        double *pp = P + (size_t)col * c, *tt = T + (size_t)col * c;
        // chronological indices i, j; R_ij = s_i'y_j (i <= j) upper triangular
        // P = R^-1 A (back substitution)
        for (int i = c - 1; i >= 0; i--) {
            double acc = a[ord[i]];
            for (int j = i + 1; j < c; j++)
                acc -= h->SY[ord[i] + (size_t)m * ord[j]] * pp[j];
            pp[i] = acc / h->SY[ord[i] + (size_t)m * ord[i]];
        }
        // T = (D + gamma Y'Y) P - gamma B
        for (int i = 0; i < c; i++) {
            double acc = h->SY[ord[i] + (size_t)m * ord[i]] * pp[i] - g * b[ord[i]];
            for (int j = 0; j < c; j++)
                acc += g * h->YY[ord[i] + (size_t)m * ord[j]] * pp[j];
            tt[i] = acc;
        }
        // Q = R^-T T (forward substitution), stored back into a (storage order), and
        // -gamma P into b (storage order)
        for (int i = 0; i < c; i++) {
            double acc = tt[i];
            for (int j = 0; j < i; j++)
                acc -= h->SY[ord[j] + (size_t)m * ord[i]] * tt[j];
            tt[i] = acc / h->SY[ord[i] + (size_t)m * ord[i]];
        }
        for (int i = 0; i < c; i++) {
            a[ord[i]] = tt[i];
            b[ord[i]] = -g * pp[i];
        }
    }
    // HV = gamma V + S Q - gamma Y P
    pairs_times_add(h, c, k, A, B, HV);
}

static int finite_vec(const double *a, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

int ncvx_hess_update(ncvx_hess *h, const double *s, const double *y, double sty)
{
    const int n = h->n;
    if (!(sty > 0)) {
        h->skipped++;
        return 2;
    }
    if (!finite_vec(s, n) || !finite_vec(y, n) || !isfinite(sty)) {
        h->skipped++;
        return 3;
    }
    const double yy = cblas_ddot(n, y, 1, y, 1);
    const double rho = 1.0 / sty;
    if (h->m == 0) {
        double *H = h->H, *Hy = h->wk;
        if (h->scaleH0 && !h->scaled) {
            // GRANSO: H0 is scaled once, at the first update, by s'y / y'y
            double gam = sty / yy;
            if (isfinite(gam) && gam > 0) cblas_dscal(n * n, gam, H, 1);
            h->scaled = 1;
        }
        cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1.0, H, n, y, 1, 0.0, Hy, 1);
        double yHy = cblas_ddot(n, y, 1, Hy, 1);
        // H+ = H - rho (s Hy' + Hy s') + (rho^2 y'Hy + rho) s s'
        double cs = rho * rho * yHy + rho;
        for (int j = 0; j < n; j++) {
            double *Hj = H + (size_t)j * n;
            const double sj = s[j], hyj = Hy[j];
            for (int i = 0; i < n; i++)
                Hj[i] += -rho * (s[i] * hyj + Hy[i] * sj) + cs * s[i] * sj;
        }
        h->updates++;
        return 0;
    }
    const int m = h->m;
    const int slot = h->head;
    double *sy = h->wk + 4 * (size_t)m * h->kmax, *ys = sy + m, *yy2 = ys + m;
    if (!h->single) {
        if (h->scaleH0) {
            double gam = sty / yy;
            if (isfinite(gam) && gam > 0) h->gamma = gam;
        }
        memcpy(h->S + (size_t)slot * n, s, (size_t)n * sizeof *s);
        memcpy(h->Y + (size_t)slot * n, y, (size_t)n * sizeof *y);
        // S'y_new (column slot of SY), Y's_new (row slot of SY), Y'y_new (YY)
        cblas_dgemv(CblasColMajor, CblasTrans, n, m, 1.0, h->S, n, y, 1, 0.0, sy, 1);
        cblas_dgemv(CblasColMajor, CblasTrans, n, m, 1.0, h->Y, n, s, 1, 0.0, ys, 1);
        cblas_dgemv(CblasColMajor, CblasTrans, n, m, 1.0, h->Y, n, y, 1, 0.0, yy2, 1);
    } else {
        // the pair as it will be stored (rounded) must still have positive curvature
        double str = 0, yyr = 0;
        for (int i = 0; i < n; i++) {
            double sr = (float)s[i], yr = (float)y[i];
            str += sr * yr;
            yyr += yr * yr;
        }
        if (!(str > 0)) {
            h->skipped++;
            return 2;
        }
        if (h->scaleH0) {
            double gam = str / yyr;
            if (isfinite(gam) && gam > 0) h->gamma = gam;
        }
        float *sf = h->Sf + (size_t)slot * n, *yf = h->Yf + (size_t)slot * n;
        for (int i = 0; i < n; i++) {
            sf[i] = (float)s[i];
            yf[i] = (float)y[i];
        }
        // the products from the rounded pairs, block by block
        for (int i = 0; i < m; i++)
            sy[i] = ys[i] = yy2[i] = 0;
        const double *Sb, *Yb;
        for (int r0 = 0, b; r0 < n; r0 += b) {
            b = pair_block(h, r0, m, &Sb, &Yb);
            const double *sb = Sb + (size_t)slot * b, *yb = Yb + (size_t)slot * b;
            cblas_dgemv(CblasColMajor, CblasTrans, b, m, 1.0, Sb, b, yb, 1, 1.0, sy, 1);
            cblas_dgemv(CblasColMajor, CblasTrans, b, m, 1.0, Yb, b, sb, 1, 1.0, ys, 1);
            cblas_dgemv(CblasColMajor, CblasTrans, b, m, 1.0, Yb, b, yb, 1, 1.0, yy2, 1);
        }
    }

    for (int i = 0; i < m; i++) {
        h->SY[i + (size_t)m * slot] = sy[i];
        h->SY[slot + (size_t)m * i] = ys[i];
        h->YY[i + (size_t)m * slot] = yy2[i];
        h->YY[slot + (size_t)m * i] = yy2[i];
    }
    h->head = (slot + 1) % m;
    if (h->count < m) h->count++;
    h->updates++;
    return 0;
}

/* floats travel as doubles (exact both ways) */
static void walk_floats(ncvx_sw *c, float *a, size_t len)
{
    if (c->mode == 1)
        for (size_t i = 0; i < len; i++)
            c->buf[c->pos + i] = a[i];
    else if (c->mode == 2)
        for (size_t i = 0; i < len; i++)
            a[i] = (float)c->buf[c->pos + i];
    c->pos += len;
}

void ncvx_hess_state(ncvx_hess *h, ncvx_sw *c)
{
    ncvx_sw_i(c, &h->scaled);
    ncvx_sw_d(c, &h->gamma);
    ncvx_sw_l(c, &h->updates);
    ncvx_sw_l(c, &h->skipped);
    if (h->m == 0) {
        ncvx_sw_a(c, h->H, (size_t)h->n * h->n);
        return;
    }
    ncvx_sw_i(c, &h->head);
    ncvx_sw_i(c, &h->count);
    if (h->single) {
        walk_floats(c, h->Sf, (size_t)h->n * h->m);
        walk_floats(c, h->Yf, (size_t)h->n * h->m);
    } else {
        ncvx_sw_a(c, h->S, (size_t)h->n * h->m);
        ncvx_sw_a(c, h->Y, (size_t)h->n * h->m);
    }
    ncvx_sw_a(c, h->SY, (size_t)h->m * h->m);
    ncvx_sw_a(c, h->YY, (size_t)h->m * h->m);
}
