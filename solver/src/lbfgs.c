// solver/src/lbfgs.c: the L-BFGS engine (compact representation of the inverse Hessian, strong
// Wolfe line search by bracketing and cubic zoom) and the unconstrained method NCVX_LBFGS built
// on it.
#include <math.h>
#include <stdlib.h>

#include "classic.h"

/* Rows per block of the compact form's passes: a block of v (and of a stale y, 64 KB each)
 * stays in L2 while the columns of S and Y stream through it once. Long blocks let the
 * hardware prefetchers follow the 2m streams: bench_solver --lbfgs (m = 10, medians of 2 on a
 * loaded 2-core AMD EPYC) at n = 6.6M float pairs 121 ms with 512 rows, 94 with 4096, 82 with
 * 8192, 75 with 32768; at n = 665k 11.1, 8.9, 7.8, 8.4 ms. */
#define LB_BLOCK 8192

/* The engine's storage: m + 1 pair slots of n elements (double or float), ord[0 .. count-1]
 * the slots of the stored pairs oldest to newest and ord[count .. m] the free ones. A new pair
 * is written into the free slot ord[count] in one pass; when it passes the curvature test it
 * joins the list (and, with m pairs stored, the oldest slot becomes the free one), otherwise it
 * is simply left there. So a pair is computed and written once, never twice. */

int ncvx_lbfgs_alloc(ncvx_lbfgs *e, int n, int m, size_t naux, int single)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    e->m = m;
    e->naux = naux;
    e->single = single != 0;
    const size_t nn = (size_t)n, M = (size_t)m + 1, mn = M * nn, na = naux ? naux : 1;
    const size_t el = e->single ? sizeof(float) : sizeof(double);
    void *S = malloc(mn * el), *Y = malloc(mn * el);
    if (e->single)
        e->Sf = S, e->Yf = Y;
    else
        e->S = S, e->Y = Y;
    e->rho = calloc(M, sizeof *e->rho);
    e->alpha = calloc(M, sizeof *e->alpha);
    e->d = calloc(nn, sizeof *e->d);
    e->SY = calloc(M * M, sizeof *e->SY);
    e->YY = calloc(M * M, sizeof *e->YY);
    e->cw = calloc(4 * M + M * LB_BLOCK, sizeof *e->cw); /* + the stale y blocks */
    e->stale = calloc(2 * M, sizeof *e->stale);
    e->ord = calloc(M, sizeof *e->ord);
    ncvx_lbfgs_pt *pts[3] = {&e->cur, &e->tr, &e->lo};
    int ok = S && Y && e->rho && e->alpha && e->d && e->SY && e->YY && e->cw && e->stale && e->ord;
    for (int k = 0; k < 3; k++) {
        pts[k]->x = calloc(nn, sizeof(double));
        pts[k]->g = calloc(nn, sizeof(double));
        pts[k]->aux = calloc(na, sizeof(double));
        ok = ok && pts[k]->x && pts[k]->g && pts[k]->aux;
    }
    if (!ok) {
        ncvx_lbfgs_free(e);
        return -1;
    }
    for (int k = 0; k <= m; k++)
        e->ord[k] = k;
    /* touch the pair storage now, so that its page faults are paid at create time and not
     * during the first m iterations */
    memset(S, 0, mn * el);
    memset(Y, 0, mn * el);
    return 0;
}

void ncvx_lbfgs_free(ncvx_lbfgs *e)
{
    free(e->S);
    free(e->Y);
    free(e->Sf);
    free(e->Yf);
    free(e->rho);
    free(e->alpha);
    free(e->d);
    free(e->SY);
    free(e->YY);
    free(e->cw);
    free(e->stale);
    free(e->ord);
    ncvx_lbfgs_pt *pts[3] = {&e->cur, &e->tr, &e->lo};
    for (int k = 0; k < 3; k++) {
        free(pts[k]->x);
        free(pts[k]->g);
        free(pts[k]->aux);
    }
    memset(e, 0, sizeof *e);
}

void ncvx_lbfgs_reset(ncvx_lbfgs *e)
{
    e->count = 0;
}

int ncvx_lbfgs_auto_single(int n, int m, double lm_mem_max)
{
    const double bytes = 16.0 * (double)m * (double)n;
    return bytes > NCVX_LBFGS_SINGLE_BYTES || bytes > lm_mem_max;
}

/* The pair vectors of slot i as doubles into out[n] (state export, two-loop reference). */
static void slot_get(const ncvx_lbfgs *e, int which, int i, double *out)
{
    const size_t n = (size_t)e->n, o = (size_t)i * n;
    if (e->single) {
        const float *p = (which ? e->Yf : e->Sf) + o;
        for (size_t j = 0; j < n; j++)
            out[j] = p[j];
    } else {
        memcpy(out, (which ? e->Y : e->S) + o, n * sizeof *out);
    }
}

/* Walk pair vector `which` (0 s, 1 y) of slot i as n doubles: float pairs are written exactly
 * and read rounded to float (a state of double pairs read by a float engine), so a state is
 * read correctly whatever precision wrote it. */
static void walk_slot(ncvx_lbfgs *e, ncvx_sw *c, int which, int i)
{
    const size_t n = (size_t)e->n, o = (size_t)i * n;
    if (!e->single) {
        ncvx_sw_a(c, (which ? e->Y : e->S) + o, n);
        return;
    }
    float *p = (which ? e->Yf : e->Sf) + o;
    if (c->mode == 1)
        for (size_t j = 0; j < n; j++)
            c->buf[c->pos + j] = p[j];
    else if (c->mode == 2)
        for (size_t j = 0; j < n; j++)
            p[j] = (float)c->buf[c->pos + j];
    c->pos += n;
}

/* The state keeps the layout of a ring of m slots (head = next slot to write): the pairs are
 * written in ring slots 0 .. m-1 with head = count mod m (pair k, oldest first, in ring slot k),
 * and a ring read back lands slot for slot (ring slot r -> storage slot r, the list rebuilt from
 * head and count). */
void ncvx_lbfgs_state(ncvx_lbfgs *e, ncvx_sw *c)
{
    const size_t n = (size_t)e->n;
    const int m = e->m;
    ncvx_sw_d(c, &e->cur.f);
    ncvx_sw_a(c, e->cur.x, n);
    ncvx_sw_a(c, e->cur.g, n);
    ncvx_sw_a(c, e->cur.aux, e->naux);
    int head = m > 0 ? e->count % m : 0, count = e->count;
    ncvx_sw_i(c, &head);
    ncvx_sw_i(c, &count);
    if (c->mode == 2) {
        if (count < 0 || count > m || head < 0 || head >= m) {
            e->count = -1; /* refused by ncvx_lbfgs_ring_ok */
        } else {
            int *used = e->stale + m + 1; /* scratch */
            for (int r = 0; r <= m; r++)
                used[r] = 0;
            for (int k = 0; k < count; k++) {
                e->ord[k] = (head - count + k + 2 * m) % m;
                used[e->ord[k]] = 1;
            }
            for (int r = 0, k = count; r <= m; r++)
                if (!used[r]) e->ord[k++] = r;
            e->count = count;
        }
    }
    /* ring slot r <-> storage slot ord[r] on export; storage slot r on import */
#define RING_SLOT(r) (c->mode == 2 ? (r) : e->ord[r])
    for (int r = 0; r < m; r++)
        ncvx_sw_d(c, &e->rho[RING_SLOT(r)]);
    for (int r = 0; r < m; r++)
        walk_slot(e, c, 0, RING_SLOT(r));
    for (int r = 0; r < m; r++)
        walk_slot(e, c, 1, RING_SLOT(r));
#undef RING_SLOT
    ncvx_sw_i(c, &e->ls_evals);
    ncvx_sw_d(c, &e->step);
    /* SY and YY are not part of the state: recomputed by the next apply from the pairs, with
     * the same fixed-order kernel, hence to the same bits; the point's ||g||_inf too */
    if (c->mode == 2) {
        for (int i = 0; i <= m; i++)
            e->stale[i] = 1;
        e->cur.ginf = ncvx_norm_inf(e->cur.g, e->n);
    }
}

static void swap_pt(ncvx_lbfgs_pt *a, ncvx_lbfgs_pt *b)
{
    ncvx_lbfgs_pt t = *a;
    *a = *b;
    *b = t;
}

/* p'q of slot vectors in double (two-loop reference) */
static double slot_dot(const ncvx_lbfgs *e, int which, int i, const double *v)
{
    const size_t n = (size_t)e->n, o = (size_t)i * n;
    double r = 0;
    if (e->single) {
        const float *p = (which ? e->Yf : e->Sf) + o;
        for (size_t j = 0; j < n; j++)
            r += (double)p[j] * v[j];
    } else {
        const double *p = (which ? e->Y : e->S) + o;
        for (size_t j = 0; j < n; j++)
            r += p[j] * v[j];
    }
    return r;
}

static void slot_axpy(const ncvx_lbfgs *e, int which, int i, double a, double *d)
{
    const size_t n = (size_t)e->n, o = (size_t)i * n;
    if (e->single) {
        const float *p = (which ? e->Yf : e->Sf) + o;
        for (size_t j = 0; j < n; j++)
            d[j] += a * (double)p[j];
    } else {
        const double *p = (which ? e->Y : e->S) + o;
        for (size_t j = 0; j < n; j++)
            d[j] += a * p[j];
    }
}

void ncvx_lbfgs_apply_twoloop(ncvx_lbfgs *e, const double *v, double *out)
{
    const int n = e->n, c = e->count;
    double *d = out;
    for (int j = 0; j < n; j++)
        d[j] = v[j];
    for (int k = c - 1; k >= 0; k--) { /* newest to oldest */
        const int i = e->ord[k];
        double a = e->rho[i] * slot_dot(e, 0, i, d);
        e->alpha[i] = a;
        slot_axpy(e, 1, i, -a, d);
    }
    if (c > 0) {
        const int i = e->ord[c - 1];
        double yy = 0, sy = 0;
        const size_t nn = (size_t)n;
        double *tmp = e->d; /* scratch: the engine's direction is not in use here */
        slot_get(e, 1, i, tmp);
        for (size_t j = 0; j < nn; j++)
            yy += tmp[j] * tmp[j];
        sy = slot_dot(e, 0, i, tmp);
        const double gamma = sy / yy;
        for (int j = 0; j < n; j++)
            d[j] *= gamma;
    }
    for (int k = 0; k < c; k++) {
        const int i = e->ord[k];
        double b = e->rho[i] * slot_dot(e, 1, i, d);
        slot_axpy(e, 0, i, e->alpha[i] - b, d);
    }
}

/* Fixed-order dot product of length len <= LB_BLOCK (sixteen interleaved partial sums, then a
 * fixed tree): the same bits for the same vectors wherever it is called, whatever the pointer
 * alignment, so SY and YY recomputed after a state import equal those of an uninterrupted run.
 * Sixteen sums: two independent 8-wide vector chains, enough to hide the add latency. */
static inline double lb_bdot(const double *restrict a, const double *restrict b, int len)
{
    double p[16] = {0};
    int i = 0;
    for (; i + 16 <= len; i += 16)
        for (int k = 0; k < 16; k++)
            p[k] += a[i + k] * b[i + k];
    for (int k = 0; i < len; i++, k++)
        p[k] += a[i] * b[i];
    for (int k = 0; k < 8; k++)
        p[k] += p[k + 8];
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

/* The passes are compiled for AVX-512, AVX2 and the baseline: at 16 m n bytes per pass (8 m n
 * with float pairs) they need ~2 G multiply-adds/s to keep up with memory, more than SSE2 code
 * sustains. ISO C (-std=c11) does not contract a * b + c into FMA, so every clone gives the
 * same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define LB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LB_CLONES
#endif

/* GNU C: the kernels are written on four-lane double vectors (one ymm, or two xmm in the
 * baseline clone); other compilers get the same sums in plain C. */
#if defined(__GNUC__)
#define LB_INLINE static inline __attribute__((always_inline)) /* into each clone */
#define LB_VEC 1
typedef double lb_v4 __attribute__((vector_size(32)));
typedef float lb_f4 __attribute__((vector_size(16)));
#define lb_ldp_d(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define lb_ldp_f(dst, p)                                                                           \
    do {                                                                                           \
        lb_f4 lb_t_;                                                                               \
        memcpy(&lb_t_, (p), sizeof lb_t_);                                                         \
        (dst) = __builtin_convertvector(lb_t_, lb_v4);                                             \
    } while (0)
#endif

#ifndef LB_INLINE
#define LB_INLINE static inline
#endif

#define LB_T double
#define LB_SFX d
#include "lbfgs_kern.h"
#undef LB_T
#undef LB_SFX
#define LB_T float
#define LB_SFX f
#include "lbfgs_kern.h"
#undef LB_T
#undef LB_SFX

/* g'd (fixed order: eight partial sums, then a fixed tree) and ||g||_inf in one pass: the
 * slope of a line-search trial and, should it be accepted, its stationarity measure. */
LB_CLONES static double lb_dot_inf(const double *restrict g, const double *restrict d, int n,
                                   double *ginf)
{
    double p[8] = {0}, mx = 0;
    for (int r0 = 0; r0 < n; r0 += 8) {
        const int len = n - r0 < 8 ? n - r0 : 8;
        for (int k = 0; k < len; k++) {
            const double a = fabs(g[r0 + k]);
            p[k] += g[r0 + k] * d[r0 + k];
            mx = a > mx ? a : mx;
        }
    }
    *ginf = mx;
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

/* Compact representation (Byrd, Nocedal & Schnabel 1994, eq. 3.1), pairs oldest to newest,
 *   H = g I + [S  gY] [R^-T (D + g Y'Y) R^-1   -R^-T] [S' ]
 *                     [-R^-1                       0] [gY']
 * R = upper triangle of S'Y, D its diagonal, g = s'y/y'y of the newest pair. With a = S'v,
 * b = Y'v, t = R^-1 a and u = R^-T ((D + g Y'Y) t - g b):  H v = g v + S u - g Y t.
 * Pass 1 reads every pair once for a and b (and the columns S'y_p, Y'y_p of a pair p stored
 * since the last call: y_p is in the same block), pass 2 reads them once more for the result:
 * 4 m n words against the two-loop recursion's ~10 m n. Float pairs enter the products
 * converted exactly, so H is the inverse BFGS matrix of the stored (rounded) pairs.
 * out = sign H v; returns v'out; if xt is not NULL also xt = x + out. */
static double apply_signed(ncvx_lbfgs *e, const double *v, double *out, double sign,
                           const double *x, double *xt)
{
    const int n = e->n, c = e->count, ld = e->m + 1;
    const int *ord = e->ord;
    if (c == 0) {
        double vo = 0;
        for (int j = 0; j < n; j++)
            out[j] = sign * v[j];
        for (int r0 = 0; r0 < n; r0 += LB_BLOCK)
            vo += lb_bdot(v + r0, out + r0, n - r0 < LB_BLOCK ? n - r0 : LB_BLOCK);
        if (xt)
            for (int j = 0; j < n; j++)
                xt[j] = x[j] + out[j];
        return vo;
    }
    double *a = e->cw, *b = a + ld, *t = b + ld, *u = t + ld;
    int *st = e->stale + ld, ns = 0; /* the stale slots, listed */
    for (int k = 0; k < c; k++) {
        const int i = ord[k];
        a[i] = b[i] = 0;
        if (e->stale[i]) {
            st[ns++] = i;
            for (int l = 0; l < c; l++)
                e->SY[(size_t)ord[l] * ld + i] = e->YY[(size_t)ord[l] * ld + i] = 0;
        }
    }
    if (e->single)
        lb_pass1_f(e->Sf, e->Yf, n, ord, c, ld, v, a, b, st, ns, e->SY, e->YY, u + ld);
    else
        lb_pass1_d(e->S, e->Y, n, ord, c, ld, v, a, b, st, ns, e->SY, e->YY, u + ld);
    for (int q = 0; q < ns; q++) {
        const int p = st[q];
        for (int l = 0; l < c; l++) /* Y'Y is symmetric: mirror the new column */
            e->YY[(size_t)p * ld + ord[l]] = e->YY[(size_t)ord[l] * ld + p];
        e->stale[p] = 0;
    }
#define R_(k, l) e->SY[(size_t)ord[k] * ld + ord[l]]
    const int nw = ord[c - 1];
    const double gam = e->SY[(size_t)nw * ld + nw] / e->YY[(size_t)nw * ld + nw];
    for (int k = c - 1; k >= 0; k--) { /* t = R^-1 a */
        double r = a[ord[k]];
        for (int l = k + 1; l < c; l++)
            r -= R_(k, l) * t[l];
        t[k] = r / R_(k, k);
    }
    for (int k = 0; k < c; k++) { /* z = (D + g Y'Y) t - g b, then u = R^-T z */
        double z = R_(k, k) * t[k], yy = 0;
        for (int l = 0; l < c; l++)
            yy += e->YY[(size_t)ord[k] * ld + ord[l]] * t[l];
        z += gam * yy - gam * b[ord[k]];
        for (int l = 0; l < k; l++)
            z -= R_(l, k) * u[l];
        u[k] = z / R_(k, k);
    }
#undef R_
    /* coefficients by slot: out = g v + sum_i cs_i s_i + sum_i cy_i y_i */
    double *cs = a, *cy = b;
    for (int k = 0; k < c; k++) { /* sign = -1 (the direction -H g) flips them exactly */
        cs[ord[k]] = sign * u[k];
        cy[ord[k]] = sign * (-gam * t[k]);
    }
    if (e->single) return lb_pass2_f(e->Sf, e->Yf, n, ord, c, v, sign * gam, cs, cy, out, x, xt);
    return lb_pass2_d(e->S, e->Y, n, ord, c, v, sign * gam, cs, cy, out, x, xt);
}

void ncvx_lbfgs_apply(ncvx_lbfgs *e, const double *v, double *out)
{
    apply_signed(e, v, out, 1.0, NULL, NULL);
}

/* Write the pair (x1 - x0, g1 - g0) into the free slot ord[count] (rounded to the pair type)
 * and keep it if its curvature s'y is safely positive (SciPy's test s'y > eps y'y, on the
 * stored vectors). Returns 1 if kept; *ss = s's. */
static int store_pair(ncvx_lbfgs *e, const double *x1, const double *x0, const double *g1,
                      const double *g0, double *ss)
{
    const int n = e->n, m = e->m, i = e->ord[e->count];
    const size_t o = (size_t)i * n;
    double pr[3];
    if (e->single)
        lb_pair_f(x1, x0, g1, g0, n, e->Sf + o, e->Yf + o, pr);
    else
        lb_pair_d(x1, x0, g1, g0, n, e->S + o, e->Y + o, pr);
    const double sy = pr[0], yy = pr[1];
    *ss = pr[2];
    if (!(sy > 2.220446049250313e-16 * yy && sy > 0)) return 0;
    e->rho[i] = 1.0 / sy;
    e->stale[i] = 1;
    if (e->count < m) {
        e->count++;
    } else { /* the oldest slot becomes the free one */
        const int old = e->ord[0];
        memmove(e->ord, e->ord + 1, (size_t)m * sizeof *e->ord);
        e->ord[m] = old;
    }
    return 1;
}

int ncvx_lbfgs_push(ncvx_lbfgs *e, const double *s, const double *y)
{
    /* x1 - x0 with x0 = 0 is s itself: the same pass as accept() */
    double *zero = e->d, ss;
    memset(zero, 0, (size_t)e->n * sizeof *zero);
    return store_pair(e, s, zero, y, zero, &ss);
}

/* Move to the point p (a line-search slot): store the pair, then make p the current point. */
static void accept(ncvx_lbfgs *e, ncvx_lbfgs_pt *p)
{
    double ss;
    store_pair(e, p->x, e->cur.x, p->g, e->cur.g, &ss);
    e->step = sqrt(ss);
    swap_pt(&e->cur, p);
}

/* Minimizer of the cubic interpolating (a, fa, da) and (b, fb, db) (Nocedal & Wright eq.
 * 3.59), clamped to the middle 80% of the interval (so a stiff direction shrinks the
 * interval tenfold per trial); bisection when the cubic has no minimizer. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db)
{
    double lo = a < b ? a : b, hi = a < b ? b : a, w = hi - lo;
    double d1 = da + db - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    double t = 0.5 * (a + b);
    if (disc >= 0 && isfinite(disc)) {
        double d2 = (b > a ? 1.0 : -1.0) * sqrt(disc);
        double den = db - da + 2 * d2;
        if (den != 0) {
            double c = b - (b - a) * (db + d2 - d1) / den;
            if (isfinite(c)) t = fmin(hi - 0.1 * w, fmax(lo + 0.1 * w, c));
        }
    }
    return t;
}

/* Memory traffic of one iteration with c pairs and one trial (n-vectors; a pair element is 8 or
 * 4 bytes): pass 1 reads the 2c pair vectors and g; pass 2 reads them again with g and x and
 * writes d and the first trial point x + d (g'd comes with it); the slope pass reads the trial
 * g and d (and gives ||g||_inf); the pair pass reads x, x_old, g, g_old and writes s and y once
 * into the free slot. So 4c pair vectors + 13 vectors of doubles, against 4c + 21 before the
 * passes were fused (separate g'd, trial point, norm, and a second pair pass when the memory
 * was full). Each further trial adds 5 (x + a d, its slope). The evaluator adds 3 (finiteness
 * check of g, the copy of an improving x). */
int ncvx_lbfgs_step(ncvx_lbfgs *e, ncvx_lbfgs_fg fg, void *ctx)
{
    const int n = e->n;
    e->ls_evals = 0;
    e->step = 0;
    /* d = -H g with g'd and the first trial x + d (step 1 when pairs are stored) in the same
     * pass; steepest descent -g (scaled below) when there are none */
    int pre = e->count > 0;
    double dphi0 = apply_signed(e, e->cur.g, e->d, -1.0, e->cur.x, pre ? e->tr.x : NULL);
    if (!(dphi0 < 0)) {
        /* rounding made -Hg an ascent direction: restart from steepest descent */
        ncvx_lbfgs_reset(e);
        pre = 0;
        dphi0 = apply_signed(e, e->cur.g, e->d, -1.0, NULL, NULL);
        if (!(dphi0 < 0)) return NCVX_LS_FAIL;
    }
    /* first step after a reset has unit length in x (SciPy's L-BFGS-B: 1/||d||; d = -g, so
     * ||d||^2 = -g'd) */
    double a = 1;
    if (e->count == 0) {
        double dn = sqrt(-dphi0);
        a = dn > 1e-10 ? 1.0 / dn : 1e10;
    }
    const double f0 = e->cur.f;
    double a_lo = 0, f_lo = f0, dp_lo = dphi0;
    double a_hi = 0, f_hi = 0, dp_hi = 0;
    int lo_set = 0, brk = 0, hi_fin = 1, rc = -1;
    for (int it = 0; it < e->ls_maxit; it++) {
        if (!(it == 0 && pre))
            for (int j = 0; j < n; j++)
                e->tr.x[j] = e->cur.x[j] + a * e->d[j];
        int r = fg(ctx, e->tr.x, &e->tr.f, e->tr.g, e->tr.aux);
        if (r == NCVX_EV_BUDGET) {
            rc = NCVX_LS_BUDGET;
            break;
        }
        e->ls_evals++;
        if (r == NCVX_EV_FAIL) return NCVX_LS_CALLBACK;
        if (r == NCVX_EV_NONFIN || !isfinite(e->tr.f)) {
            /* non-finite value: the step was too long (bracket with an infinite end) */
            a_hi = a;
            brk = 1;
            hi_fin = 0;
        } else {
            double dp = lb_dot_inf(e->tr.g, e->d, n, &e->tr.ginf);
            if (e->tr.f > f0 + e->c1 * a * dphi0 || e->tr.f >= f_lo) {
                a_hi = a;
                f_hi = e->tr.f;
                dp_hi = dp;
                hi_fin = 1;
                brk = 1;
            } else {
                if (fabs(dp) <= -e->c2 * dphi0) { /* strong Wolfe conditions hold */
                    accept(e, &e->tr);
                    return NCVX_LS_OK;
                }
                if (brk ? dp * (a_hi - a_lo) >= 0 : dp >= 0) {
                    a_hi = a_lo;
                    f_hi = f_lo;
                    dp_hi = dp_lo;
                    hi_fin = 1;
                    brk = 1;
                }
                a_lo = a;
                f_lo = e->tr.f;
                dp_lo = dp;
                swap_pt(&e->tr, &e->lo);
                lo_set = 1;
                if (!brk && f_lo <= -1e300) {
                    rc = NCVX_LS_UNBOUNDED;
                    break;
                }
            }
        }
        if (!brk) {
            a = 4 * a_lo; /* extrapolate */
            if (a > 1e30) {
                rc = NCVX_LS_UNBOUNDED;
                break;
            }
        } else {
            double wdt = fabs(a_hi - a_lo);
            if (wdt <= 1e-15 * (a_lo > a_hi ? a_lo : a_hi)) break; /* interval collapsed */
            a = hi_fin ? cubic_step(a_lo, f_lo, dp_lo, a_hi, f_hi, dp_hi)
                       : a_lo + 0.5 * (a_hi - a_lo);
        }
    }
    /* still extrapolating after ls_maxit trials: the step grew by 4^(ls_maxit - 1) and f kept
     * decreasing with a slope that does not flatten: report f as unbounded below */
    if (rc < 0 && !brk && lo_set) rc = NCVX_LS_UNBOUNDED;
    /* out of evaluations, or no strong Wolfe point: keep the best point with sufficient
     * decrease, if any (its gradient is known) */
    if (lo_set) {
        accept(e, &e->lo);
        return rc >= 0 ? rc : NCVX_LS_OK;
    }
    return rc == NCVX_LS_BUDGET ? NCVX_LS_BUDGET : NCVX_LS_FAIL;
}

/* ------------------------------------------------------------------------------------------ */
/* Method NCVX_LBFGS                                                                           */

typedef struct {
    ncvx_lbfgs eng;
} lbfgs_st;

int ncvx_lbfgs_ring_ok(const ncvx_lbfgs *e)
{
    return e->m <= 0 || (e->count >= 0 && e->count <= e->m);
}

static int plain_fg(void *ctx, const double *x, double *f, double *g, double *aux)
{
    ncvx_classic *w = ctx;
    double *eg = w->eg;
    w->eg = g; /* the callback writes the gradient straight into the engine's slot */
    int r = ncvx_classic_eval(w, x, 1);
    w->eg = eg;
    *f = r == NCVX_EV_OK ? w->ef : NAN;
    aux[0] = *f;
    return r;
}

static ncvx_status lbfgs_solve(ncvx_classic *w, double *x, int *term)
{
    lbfgs_st *ms = w->ms;
    ncvx_lbfgs *e = &ms->eng;
    const ncvx_settings *s = &w->s;
    if (!w->resume) {
        ncvx_lbfgs_reset(e);
        e->ls_evals = 0;
        e->step = 0;
        memcpy(e->cur.x, x, (size_t)w->n * sizeof *x);
        int r = plain_fg(w, e->cur.x, &e->cur.f, e->cur.g, e->cur.aux);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite f or gradient at the starting point");
        if (r == NCVX_EV_BUDGET)
            return NCVX_FAIL(NCVX_ERR_SETTINGS, "max_evals leaves no evaluation");
        w->stat = e->cur.ginf = ncvx_norm_inf(e->cur.g, w->n);
        if (ncvx_classic_iterate(w, e->cur.x, e->cur.f, NAN, NULL, NULL)) {
            *term = NCVX_TERM_USER_HALT;
            return NCVX_OK;
        }
    }
    for (;;) {
        const double f = e->cur.f;
        int t;
        if (w->stat <= s->opt_tol) {
            *term = NCVX_TERM_STATIONARY;
            break;
        }
        if (f <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        if (w->iters > 0 && s->rel_tol > 0 &&
            w->fprev - f <= s->rel_tol * fmax(1.0, fmax(fabs(w->fprev), fabs(f)))) {
            *term = NCVX_TERM_REL_TOL;
            break;
        }
        if (w->iters > 0 && w->last_step <= s->step_tol) {
            *term = NCVX_TERM_STEP_TOL;
            break;
        }
        if ((t = ncvx_classic_limits(w)) >= 0) {
            *term = t;
            break;
        }
        w->fprev = f;
        /* unconstrained: a failed line search ends the run (no penalty round to restart) */
        if ((t = ncvx_classic_lbfgs_step(w, e, plain_fg, NCVX_TERM_LS_FEASIBLE)) >= 0) {
            *term = t;
            break;
        }
        if (ncvx_classic_iterate(w, e->cur.x, e->cur.f, NAN, NULL, NULL)) {
            *term = NCVX_TERM_USER_HALT;
            break;
        }
    }
    return NCVX_OK;
}

static size_t lbfgs_work_size(void)
{
    return sizeof(lbfgs_st);
}

static ncvx_status lbfgs_check(const ncvx_problem *p, const ncvx_settings *s)
{
    NCVX_BAD_SETTING(s->lbfgs_m < 1, "lbfgs_m");
    NCVX_BAD_SETTING(!(s->wolfe1 > 0 && s->wolfe1 < NCVX_LBFGS_WOLFE2), "wolfe1");
    if (p->n_ineq || p->n_eq)
        return NCVX_FAIL(NCVX_ERR_INVALID,
                         "lbfgs is unconstrained but the problem has %d inequality and %d "
                         "equality constraints (use penalty or auglag)",
                         p->n_ineq, p->n_eq);
    return NCVX_OK;
}

static ncvx_status lbfgs_init(ncvx_classic *w)
{
    lbfgs_st *ms = w->ms;
    return ncvx_classic_engine_init(w, &ms->eng, 1); /* aux = the raw f */
}

static void lbfgs_fini(ncvx_classic *w)
{
    lbfgs_st *ms = w->ms;
    ncvx_lbfgs_free(&ms->eng);
}

static void lbfgs_state_walk(ncvx_classic *w, ncvx_sw *c)
{
    lbfgs_st *ms = w->ms;
    ncvx_lbfgs_state(&ms->eng, c);
}

static int lbfgs_state_ok(const ncvx_classic *w)
{
    const lbfgs_st *ms = w->ms;
    return ncvx_lbfgs_ring_ok(&ms->eng);
}

const ncvx_classic_method ncvx_method_lbfgs = {
    .name = "lbfgs",
    .work_size = lbfgs_work_size,
    .check = lbfgs_check,
    .init = lbfgs_init,
    .fini = lbfgs_fini,
    .solve = lbfgs_solve,
    .state_walk = lbfgs_state_walk,
    .state_ok = lbfgs_state_ok,
};
