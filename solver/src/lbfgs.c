// solver/src/lbfgs.c: the L-BFGS engine (compact representation of the inverse Hessian, strong
// Wolfe line search by bracketing and cubic zoom) and the unconstrained method NCVX_LBFGS built
// on it.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "classic.h"

int ncvx_lbfgs_alloc(ncvx_lbfgs *e, int n, int m, size_t naux)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    e->m = m;
    e->naux = naux;
    const size_t nn = (size_t)n, mn = (size_t)m * nn, na = naux ? naux : 1;
    e->S = malloc(mn * sizeof *e->S);
    e->Y = malloc(mn * sizeof *e->Y);
    e->rho = calloc((size_t)m, sizeof *e->rho);
    e->alpha = calloc((size_t)m, sizeof *e->alpha);
    e->d = calloc(nn, sizeof *e->d);
    const size_t mm = (size_t)m * (size_t)m;
    e->SY = calloc(mm, sizeof *e->SY);
    e->YY = calloc(mm, sizeof *e->YY);
    e->cw = calloc(5 * (size_t)m, sizeof *e->cw);
    e->stale = calloc(2 * (size_t)m, sizeof *e->stale);
    ncvx_lbfgs_pt *pts[3] = {&e->cur, &e->tr, &e->lo};
    int ok = e->S && e->Y && e->rho && e->alpha && e->d && e->SY && e->YY && e->cw && e->stale;
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
    /* touch the pair storage now, so that its page faults are paid at create time and not
     * during the first m iterations */
    memset(e->S, 0, mn * sizeof *e->S);
    memset(e->Y, 0, mn * sizeof *e->Y);
    return 0;
}

void ncvx_lbfgs_free(ncvx_lbfgs *e)
{
    free(e->S);
    free(e->Y);
    free(e->rho);
    free(e->alpha);
    free(e->d);
    free(e->SY);
    free(e->YY);
    free(e->cw);
    free(e->stale);
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
    e->head = 0;
    e->count = 0;
}

void ncvx_lbfgs_state(ncvx_lbfgs *e, ncvx_sw *c)
{
    const size_t n = (size_t)e->n;
    ncvx_sw_d(c, &e->cur.f);
    ncvx_sw_a(c, e->cur.x, n);
    ncvx_sw_a(c, e->cur.g, n);
    ncvx_sw_a(c, e->cur.aux, e->naux);
    ncvx_sw_i(c, &e->head);
    ncvx_sw_i(c, &e->count);
    ncvx_sw_a(c, e->rho, (size_t)e->m);
    ncvx_sw_a(c, e->S, (size_t)e->m * n);
    ncvx_sw_a(c, e->Y, (size_t)e->m * n);
    ncvx_sw_i(c, &e->ls_evals);
    ncvx_sw_d(c, &e->step);
    /* SY and YY are not part of the state: recomputed by the next apply from the pairs, with
     * the same fixed-order kernel, hence to the same bits */
    if (c->mode == 2)
        for (int i = 0; i < e->m; i++)
            e->stale[i] = 1;
}

/* Vector kernels on BLAS: the L-BFGS iteration is ~4m + 8 passes over n-vectors, and the
 * plain C dot product runs at the floating-point add latency (strict IEEE order). */
static double dot(const double *a, const double *b, int n)
{
    return cblas_ddot(n, a, 1, b, 1);
}

static void axpy(int n, double alpha, const double *x, double *y)
{
    cblas_daxpy(n, alpha, x, 1, y, 1);
}

static void swap_pt(ncvx_lbfgs_pt *a, ncvx_lbfgs_pt *b)
{
    ncvx_lbfgs_pt t = *a;
    *a = *b;
    *b = t;
}

void ncvx_lbfgs_apply_twoloop(ncvx_lbfgs *e, const double *v, double *out)
{
    const int n = e->n, m = e->m;
    double *d = out;
    for (int j = 0; j < n; j++)
        d[j] = v[j];
    for (int k = 0; k < e->count; k++) {
        int i = (e->head - 1 - k + 2 * m) % m;
        const double *s = e->S + (size_t)i * n, *y = e->Y + (size_t)i * n;
        double a = e->rho[i] * dot(s, d, n);
        e->alpha[i] = a;
        axpy(n, -a, y, d);
    }
    if (e->count > 0) {
        int i = (e->head - 1 + m) % m;
        const double *y = e->Y + (size_t)i * n;
        double gamma = 1.0 / (e->rho[i] * dot(y, y, n));
        cblas_dscal(n, gamma, d, 1);
    }
    for (int k = e->count - 1; k >= 0; k--) {
        int i = (e->head - 1 - k + 2 * m) % m;
        const double *s = e->S + (size_t)i * n, *y = e->Y + (size_t)i * n;
        double b = e->rho[i] * dot(y, d, n);
        axpy(n, e->alpha[i] - b, s, d);
    }
}

/* Rows per block of the compact form's passes: a block of v (and of a stale y) stays in L1
 * while the m columns of S and Y stream through it once. */
#define LB_BLOCK 512

/* Fixed-order dot product of length len <= LB_BLOCK (sixteen interleaved partial sums, then a
 * fixed tree): the same bits for the same vectors wherever it is called, whatever the pointer
 * alignment, so SY and YY recomputed after a state import equal those of an uninterrupted run.
 * Sixteen sums: two independent 8-wide vector chains, enough to hide the add latency. */
static inline double bdot(const double *restrict a, const double *restrict b, int len)
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

/* Both passes are compiled for AVX-512, AVX2 and the baseline: at 16 m n bytes per pass they
 * need ~2 G multiply-adds/s to keep up with memory, more than SSE2 code sustains. ISO C
 * (-std=c11) does not contract a * b + c into FMA, so every clone gives the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define LB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LB_CLONES
#endif

/* Pass 1: a = S'v, b = Y'v over the c filled slots, and the columns S'y_p, Y'y_p of the
 * stale slots p = st[0 .. ns-1] (added to SY, YY, zeroed by the caller). */
LB_CLONES static void lb_pass1(const double *S, const double *Y, int n, int c, int m,
                               const double *v, double *a, double *b, const int *st, int ns,
                               double *SY, double *YY)
{
    for (int r0 = 0; r0 < n; r0 += LB_BLOCK) {
        const int len = n - r0 < LB_BLOCK ? n - r0 : LB_BLOCK;
        for (int i = 0; i < c; i++) {
            const double *s = S + (size_t)i * n + r0, *y = Y + (size_t)i * n + r0;
            a[i] += bdot(s, v + r0, len);
            b[i] += bdot(y, v + r0, len);
            for (int k = 0; k < ns; k++) {
                const double *yp = Y + (size_t)st[k] * n + r0;
                SY[(size_t)i * m + st[k]] += bdot(s, yp, len);
                YY[(size_t)i * m + st[k]] += bdot(y, yp, len);
            }
        }
    }
}

/* Pass 2: out = gam v + sum_i cs_i s_i + cy_i y_i. */
LB_CLONES static void lb_pass2(const double *S, const double *Y, int n, int c, const double *v,
                               double gam, const double *cs, const double *cy, double *out)
{
    for (int r0 = 0; r0 < n; r0 += LB_BLOCK) {
        const int len = n - r0 < LB_BLOCK ? n - r0 : LB_BLOCK;
        double *restrict o = out + r0;
        const double *restrict vv = v + r0;
        for (int j = 0; j < len; j++)
            o[j] = gam * vv[j];
        for (int i = 0; i < c; i++) {
            const double *restrict s = S + (size_t)i * n + r0;
            const double *restrict y = Y + (size_t)i * n + r0;
            const double ci = cs[i], di = cy[i];
            for (int j = 0; j < len; j++)
                o[j] += ci * s[j] + di * y[j];
        }
    }
}

/* s = x1 - x0, y = g1 - g0 (stored if S, Y are not NULL) and pr = (s'y, y'y, s's) in one
 * pass, fixed order (eight partial sums each). */
LB_CLONES static void lb_pair(const double *restrict x1, const double *restrict x0,
                              const double *restrict g1, const double *restrict g0, int n,
                              double *restrict S, double *restrict Y, double pr[3])
{
    double sy[8] = {0}, yy[8] = {0}, ss[8] = {0};
    for (int r0 = 0; r0 < n; r0 += 8) {
        const int len = n - r0 < 8 ? n - r0 : 8;
        for (int k = 0; k < len; k++) {
            const double s = x1[r0 + k] - x0[r0 + k], y = g1[r0 + k] - g0[r0 + k];
            sy[k] += s * y;
            yy[k] += y * y;
            ss[k] += s * s;
        }
        if (S)
            for (int k = 0; k < len; k++) {
                S[r0 + k] = x1[r0 + k] - x0[r0 + k];
                Y[r0 + k] = g1[r0 + k] - g0[r0 + k];
            }
    }
    double *q[3] = {sy, yy, ss};
    for (int j = 0; j < 3; j++)
        pr[j] = ((q[j][0] + q[j][4]) + (q[j][1] + q[j][5])) +
                ((q[j][2] + q[j][6]) + (q[j][3] + q[j][7]));
}

/* Compact representation (Byrd, Nocedal & Schnabel 1994, eq. 3.1), pairs oldest to newest,
 *   H = g I + [S  gY] [R^-T (D + g Y'Y) R^-1   -R^-T] [S' ]
 *                     [-R^-1                       0] [gY']
 * R = upper triangle of S'Y, D its diagonal, g = s'y/y'y of the newest pair. With a = S'v,
 * b = Y'v, t = R^-1 a and u = R^-T ((D + g Y'Y) t - g b):  H v = g v + S u - g Y t.
 * Pass 1 reads every pair once for a and b (and the columns S'y_p, Y'y_p of a pair p stored
 * since the last call: y_p is in the same block), pass 2 reads them once more for the result:
 * 4 m n words against the two-loop recursion's ~10 m n. */
static void apply_signed(ncvx_lbfgs *e, const double *v, double *out, double sign)
{
    const int n = e->n, m = e->m, c = e->count;
    if (c == 0) {
        for (int j = 0; j < n; j++)
            out[j] = sign * v[j];
        return;
    }
    /* the filled slots are 0 .. c-1 (the ring fills from slot 0 after a reset) */
    double *a = e->cw, *b = a + m, *t = b + m, *u = t + m, *sl = u + m;
    int *st = e->stale + m, ns = 0; /* the stale slots, listed */
    for (int i = 0; i < c; i++)
        if (e->stale[i]) {
            st[ns++] = i;
            for (int j = 0; j < c; j++)
                e->SY[(size_t)j * m + i] = e->YY[(size_t)j * m + i] = 0;
        }
    for (int i = 0; i < c; i++)
        a[i] = b[i] = 0;
    lb_pass1(e->S, e->Y, n, c, m, v, a, b, st, ns, e->SY, e->YY);
    for (int k = 0; k < ns; k++) {
        const int p = st[k];
        for (int i = 0; i < c; i++) /* Y'Y is symmetric: mirror the new column */
            e->YY[(size_t)p * m + i] = e->YY[(size_t)i * m + p];
        e->stale[p] = 0;
    }
    /* chronological order: k = 0 oldest .. c-1 newest, slot sl[k] */
    for (int k = 0; k < c; k++)
        sl[k] = (double)((e->head - c + k + 2 * m) % m);
#define SL(k) ((int)sl[k])
#define R_(k, l) e->SY[(size_t)SL(k) * m + SL(l)]
    const int nw = SL(c - 1);
    const double gam = e->SY[(size_t)nw * m + nw] / e->YY[(size_t)nw * m + nw];
    for (int k = c - 1; k >= 0; k--) { /* t = R^-1 a */
        double r = a[SL(k)];
        for (int l = k + 1; l < c; l++)
            r -= R_(k, l) * t[l];
        t[k] = r / R_(k, k);
    }
    for (int k = 0; k < c; k++) { /* z = (D + g Y'Y) t - g b, then u = R^-T z */
        double z = R_(k, k) * t[k], yy = 0;
        for (int l = 0; l < c; l++)
            yy += e->YY[(size_t)SL(k) * m + SL(l)] * t[l];
        z += gam * yy - gam * b[SL(k)];
        for (int l = 0; l < k; l++)
            z -= R_(l, k) * u[l];
        u[k] = z / R_(k, k);
    }
#undef R_
    /* coefficients by slot: out = g v + sum_i cs_i s_i + sum_i cy_i y_i */
    double *cs = a, *cy = b;
    for (int k = 0; k < c; k++) { /* sign = -1 (the direction -H g) flips them exactly */
        cs[SL(k)] = sign * u[k];
        cy[SL(k)] = sign * (-gam * t[k]);
    }
#undef SL
    lb_pass2(e->S, e->Y, n, c, v, sign * gam, cs, cy, out);
}

void ncvx_lbfgs_apply(ncvx_lbfgs *e, const double *v, double *out)
{
    apply_signed(e, v, out, 1.0);
}

/* d = -H g */
static void direction(ncvx_lbfgs *e)
{
    apply_signed(e, e->cur.g, e->d, -1.0);
}

/* Move to the point p (a line-search slot): store the pair (s, y) if the curvature s'y is
 * safely positive (SciPy's test s'y > eps y'y), then make p the current point. */
static void accept(ncvx_lbfgs *e, ncvx_lbfgs_pt *p)
{
    const int n = e->n;
    /* one pass for s, y and their products, straight into the next ring slot; when the slot
     * holds the oldest pair, a first pass computes the products only, as the pair must stay
     * if the test fails */
    double *Sh = e->S + (size_t)e->head * n, *Yh = e->Y + (size_t)e->head * n, pr[3];
    const int full = e->count == e->m;
    lb_pair(p->x, e->cur.x, p->g, e->cur.g, n, full ? NULL : Sh, full ? NULL : Yh, pr);
    const double sy = pr[0], yy = pr[1], ss = pr[2];
    if (sy > 2.220446049250313e-16 * yy && sy > 0) {
        if (full) lb_pair(p->x, e->cur.x, p->g, e->cur.g, n, Sh, Yh, pr);
        e->rho[e->head] = 1.0 / sy;
        e->stale[e->head] = 1;
        e->head = (e->head + 1) % e->m;
        if (e->count < e->m) e->count++;
    }
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

int ncvx_lbfgs_step(ncvx_lbfgs *e, ncvx_lbfgs_fg fg, void *ctx)
{
    const int n = e->n;
    e->ls_evals = 0;
    e->step = 0;
    if (e->count > 0)
        direction(e);
    else
        for (int j = 0; j < n; j++)
            e->d[j] = -e->cur.g[j];
    double dphi0 = dot(e->cur.g, e->d, n);
    if (!(dphi0 < 0)) {
        /* rounding made -Hg an ascent direction: restart from steepest descent */
        ncvx_lbfgs_reset(e);
        for (int j = 0; j < n; j++)
            e->d[j] = -e->cur.g[j];
        dphi0 = dot(e->cur.g, e->d, n);
        if (!(dphi0 < 0)) return NCVX_LS_FAIL;
    }
    /* first step after a reset has unit length in x (SciPy's L-BFGS-B: 1/||d||) */
    double a = 1;
    if (e->count == 0) {
        double dn = sqrt(dot(e->d, e->d, n));
        a = dn > 1e-10 ? 1.0 / dn : 1e10;
    }
    const double f0 = e->cur.f;
    double a_lo = 0, f_lo = f0, dp_lo = dphi0;
    double a_hi = 0, f_hi = 0, dp_hi = 0;
    int lo_set = 0, brk = 0, hi_fin = 1, rc = -1;
    for (int it = 0; it < e->ls_maxit; it++) {
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
            double dp = dot(e->tr.g, e->d, n);
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
    return e->m <= 0 || (e->count >= 0 && e->count <= e->m && e->head >= 0 && e->head < e->m);
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
        w->stat = ncvx_norm_inf(e->cur.g, w->n);
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
