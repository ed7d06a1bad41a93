// tests/test_solver_methods.c: the classical methods of ncvx (lbfgs, penalty, auglag, projgrad,
// mma, oc) and the projections, against published optima (Hock-Schittkowski), closed forms
// and brute force; termination codes, evaluation counting, exact continuation.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classic.h" /* white-box: the L-BFGS engine */
#include "hs_problems.h"
#include "ncvx.h"
#include "test_util.h"

/* ------------------------------------------------------------------------------------------ */
/* Result table, printed at the end of the run (the report quotes it).                          */

typedef struct {
    char problem[24], method[10];
    int iters;
    long evals;
    double err_f, err_x;
    int term;
} row;
static row table[128];
static int nrows;

static void add_row(const char *prob, ncvx_method m, const ncvx_info *info, double err_f,
                    double err_x)
{
    if (nrows >= 128) return;
    row *r = &table[nrows++];
    snprintf(r->problem, sizeof r->problem, "%s", prob);
    snprintf(r->method, sizeof r->method, "%s", ncvx_method_str(m));
    r->iters = info->iters;
    r->evals = info->evals;
    r->err_f = err_f;
    r->err_x = err_x;
    r->term = (int)info->term;
}

/* ------------------------------------------------------------------------------------------ */
/* Problems: one callback per problem; a counter in the user struct checks evaluation counts.   */

typedef struct {
    long calls;
    long fail_after; ///< callback returns 1 from this call on (0 = never)
    int nan_region;  ///< return NaN when x[0] > 1.5 (Rosenbrock)
    int gbad;        ///< > 0: gradient entry gbad - 1 is set to gbad_val (Rosenbrock)
    double gbad_val;
    int n;           ///< dimension for scalable problems
    const double *c; ///< data for the resource problem
    double V;
    int normalized;
    double fscale;      ///< resource: f and its gradient divided by this (0 = not)
    long nan_call;      ///< this call (1-based) returns f = NaN (0 = never)
    ncvx_eval_fn inner; ///< wrapped problem (counted, nan_wrap)
    ncvx_solver *sv;    ///< checkpoint_monitor: the running solver
    double *ckpt;       ///< its state buffer
    size_t ckpt_size;
    int ckpt_iter; ///< export at this iteration
} ctx;

static int count(ctx *u)
{
    u->calls++;
    return u->fail_after > 0 && u->calls >= u->fail_after;
}

/* Rosenbrock (chained), minimum 0 at all ones */
static int rosen(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                 double *Je, void *user)
{
    (void)ci, (void)Ji, (void)ce, (void)Je;
    ctx *u = user;
    if (count(u)) return 1;
    const int n = u->n;
    if (u->nan_region && x[0] > 1.5) {
        *f = NAN;
        return 0;
    }
    *f = 0;
    if (g) memset(g, 0, (size_t)n * sizeof *g);
    for (int i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        *f += 100 * a * a + b * b;
        if (g) {
            g[i] += -400 * x[i] * a - 2 * b;
            g[i + 1] += 200 * a;
        }
    }
    if (g && u->gbad > 0) g[u->gbad - 1] = u->gbad_val;
    return 0;
}

/* Ill-conditioned convex quadratic sum_i 10^(4 i/(n-1)) (x_i - 1)^2 / 2, minimum 0 */
static int quad(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                double *Je, void *user)
{
    (void)ci, (void)Ji, (void)ce, (void)Je;
    ctx *u = user;
    if (count(u)) return 1;
    *f = 0;
    for (int i = 0; i < u->n; i++) {
        double h = pow(10.0, 4.0 * i / (u->n - 1)), d = x[i] - 1;
        *f += 0.5 * h * d * d;
        if (g) g[i] = h * d;
    }
    return 0;
}

/* f = -x0 - x1 (unbounded below) */
static int linear(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                  double *Je, void *user)
{
    (void)ci, (void)Ji, (void)ce, (void)Je;
    count(user);
    *f = -x[0] - x[1];
    if (g) g[0] = g[1] = -1;
    return 0;
}

/* The Hock-Schittkowski problems of hs_problems.h, with the call counted: u->inner is one. */
static int counted(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                   double *Je, void *user)
{
    ctx *u = user;
    count(u);
    return u->inner(x, f, g, ci, Ji, ce, Je, NULL);
}

/* Resource allocation (compliance-like): min sum c_i / x_i s.t. sum x_i <= V (or the
 * normalized sum x_i / V - 1 <= 0), 0.01 <= x <= 1. KKT: x_i = V sqrt(c_i) / sum sqrt(c_j)
 * when that lies inside the box; f* = (sum sqrt c)^2 / V. */
static int resource(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                    double *Je, void *user)
{
    (void)ce, (void)Je;
    ctx *u = user;
    if (count(u)) return 1;
    *f = 0;
    double s = 0;
    for (int i = 0; i < u->n; i++) {
        *f += u->c[i] / x[i];
        s += x[i];
        if (g) {
            g[i] = -u->c[i] / (x[i] * x[i]);
            Ji[i] = u->normalized ? 1 / u->V : 1;
        }
    }
    ci[0] = u->normalized ? s / u->V - 1 : s - u->V;
    if (u->fscale > 0) {
        *f /= u->fscale;
        for (int i = 0; g && i < u->n; i++)
            g[i] /= u->fscale;
    }
    if (u->calls == u->nan_call) *f = NAN;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int n, mi, me;
    ncvx_eval_fn eval;
    double x0[4], xs[4], fs;
    double lo[4], hi[4]; ///< box for MMA (hi <= lo: MMA not applicable)
} hsprob;

static const hsprob HS[] = {
    {"HS6", 2, 0, 1, hs6, {-1.2, 1}, {1, 1}, 0, {0}, {0}},
    {"HS7", 2, 0, 1, hs7, {2, 2}, {0, 1.7320508075688772}, -1.7320508075688772, {0}, {0}},
    {"HS21", 2, 5, 0, hs21, {-1, -1}, {2, 0}, -99.96, {2, -50}, {50, 50}},
    {"HS28", 3, 0, 1, hs28, {-4, 1, 1}, {0.5, -0.5, 0.5}, 0, {0}, {0}},
    {"HS35",
     3,
     4,
     0,
     hs35,
     {0.5, 0.5, 0.5},
     {4.0 / 3, 7.0 / 9, 4.0 / 9},
     1.0 / 9,
     {0, 0, 0},
     {10, 10, 10}},
    {"HS71",
     4,
     9,
     1,
     hs71,
     {1, 5, 5, 1},
     {1, 4.7429994, 3.8211503, 1.3794082},
     17.0140173,
     {0},
     {0}},
    {"HS76",
     4,
     7,
     0,
     hs76,
     {0.5, 0.5, 0.5, 0.5},
     {0.2727273, 2.090909, 0, 0.5454545},
     -4.681818181,
     {0, 0, 0, 0},
     {10, 10, 10, 10}},
};
#define NHS ((int)(sizeof HS / sizeof HS[0]))

static ncvx_settings quiet(ncvx_method m)
{
    ncvx_settings s;
    ncvx_settings_default(&s);
    s.method = m;
    s.print_level = 0;
    return s;
}

static double max_abs_diff(const double *a, const double *b, int n)
{
    double m = 0;
    for (int j = 0; j < n; j++)
        m = fmax(m, fabs(a[j] - b[j]));
    return m;
}

/* Solve HS problem k with method m; check f and x. Published optima are given to ~7-8
 * digits (HS71, HS76), hence the 1e-6 floor of the tolerances. */
static void run_hs(int k, ncvx_method m, double ftol, double xtol)
{
    const hsprob *h = &HS[k];
    ctx u = {.inner = h->eval};
    ncvx_problem p = {.n = h->n, .n_ineq = h->mi, .n_eq = h->me, .eval = counted, .user = &u};
    if (m == NCVX_MMA) {
        p.lower = h->lo;
        p.upper = h->hi;
    }
    ncvx_settings s = quiet(m);
    s.maxit = 5000;
    /* opt_tol 1e-6 for MMA: its KKT residual bottomed out near lam * 1e-7 with subsolv (more than
     * 8 constraints); through the dual it gets lower */
    if (m == NCVX_MMA) s.opt_tol = 1e-6;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    for (int pert = 0; pert < 2; pert++) {
        double x[4];
        memcpy(x, h->x0, sizeof x);
        if (m == NCVX_MMA) /* start inside the box */
            for (int j = 0; j < h->n; j++)
                x[j] = fmin(h->hi[j], fmax(h->lo[j], x[j]));
        /* the same verdict from a start perturbed by 1e-10 relative */
        for (int j = 0; pert && j < h->n; j++) {
            x[j] += (j % 2 ? -1e-10 : 1e-10) * fmax(1, fabs(x[j]));
            if (m == NCVX_MMA) x[j] = fmin(h->hi[j], fmax(h->lo[j], x[j]));
        }
        u.calls = 0;
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        double ef = fabs(info.f - h->fs) / (1 + fabs(h->fs)), ex = max_abs_diff(x, h->xs, h->n);
        if (!pert) add_row(h->name, m, &info, ef, ex);
        if (!(ef <= ftol && ex <= xtol))
            fail_msg("%s/%s: f = %.10g (f* = %.10g), |x - x*| = %.3g, term %d, iters %d", h->name,
                     ncvx_method_str(m), info.f, h->fs, ex, info.term, info.iters);
        assert_true(info.viol_ineq <= s.viol_ineq_tol && info.viol_eq <= s.viol_eq_tol);
        assert_int_equal(info.evals, u.calls);
    }
    ncvx_destroy(sv);
}

/* auglag reaches the KKT point to the inner tolerance 1e-6: f to 1e-6, x to ~1e-5 (the
 * published digits of HS71/HS76). */
static void test_hs_auglag(void **state)
{
    (void)state;
    for (int k = 0; k < NHS; k++)
        run_hs(k, NCVX_AUGLAG, 1e-6, 2e-5);
}

/* Quadratic penalty: the violation is O(|lambda|/rho); it stops once the violation is below
 * 1e-6, so f and x are accurate to O(1e-6 |lambda|) (|lambda| up to ~ 10 here). */
static void test_hs_penalty(void **state)
{
    (void)state;
    for (int k = 0; k < NHS; k++)
        run_hs(k, NCVX_PENALTY, 1e-5, 1e-4);
}

/* Exact l1 penalty, smoothed with a width shrinking to 1e-8 (below the 1e-6 feasibility
 * tolerance): f to 1e-6; x to 5e-4, because the inner L-BFGS ends on line-search failure at
 * the rounding level of the stiff smoothed merit (curvature ~ rho / width), which leaves
 * HS71's flattest direction (f changes by ~1e-8 over 2e-4) under-resolved. */
static void test_hs_penalty_exact(void **state)
{
    (void)state;
    const int ks[] = {0, 1, 2, 3, 4, 5, 6};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        const hsprob *h = &HS[ks[i]];
        ctx u = {.inner = h->eval};
        ncvx_problem p = {.n = h->n, .n_ineq = h->mi, .n_eq = h->me, .eval = counted, .user = &u};
        ncvx_settings s = quiet(NCVX_PENALTY);
        s.penalty_exact = 1;
        s.maxit = 5000;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double x[4];
        memcpy(x, h->x0, sizeof x);
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        double ef = fabs(info.f - h->fs) / (1 + fabs(h->fs)), ex = max_abs_diff(x, h->xs, h->n);
        char name[24];
        snprintf(name, sizeof name, "%s (exact)", h->name);
        add_row(name, NCVX_PENALTY, &info, ef, ex);
        if (!(ef <= 1e-6 && ex <= 5e-4))
            fail_msg("%s: f = %.10g, |x - x*| = %.3g, term %d", name, info.f, ex, info.term);
        ncvx_destroy(sv);
    }
}

/* MMA on the inequality-only problems with their box (KKT residual 1e-8 -> x to ~1e-6). */
static void test_hs_mma(void **state)
{
    (void)state;
    run_hs(4, NCVX_MMA, 1e-6, 1e-5);
    run_hs(6, NCVX_MMA, 1e-6, 2e-5);
    /* HS21's minimum is interior in x2 with a wide box [-50, 50]: MMA's asymptotes stay at
     * least 0.01 (upper - lower) = 1 away, its convex approximation of x2^2 is then too flat
     * and x2 oscillates with an amplitude ~ 0.01 of the range (a property of Svanberg's
     * non-globally-convergent MMA; GCMMA would fix it). Checked to that accuracy only. */
    run_hs(2, NCVX_MMA, 2e-4, 0.2);
}

/* The stationarity residual of x_j in [alfa, beta] for p/(u - x) + q/(x - l) (iu = 1/(u - x),
 * il = 1/(x - l)): the derivative between the bounds, its wrong-signed part at them, relative
 * to the magnitude of its two terms. */
static double sub_stationarity(double x, double alfa, double beta, double iu, double il, double p,
                               double q)
{
    double d = p * iu * iu - q * il * il, r = x > alfa && x < beta ? fabs(d)
                                              : x == alfa          ? fmax(-d, 0)
                                                                   : fmax(d, 0);
    return r / (p * iu * iu + q * il * il);
}

/* A random MMA subproblem of n variables and m constraint rows (P, Q stride n) built as mmasub
 * builds one: asymptotes 0.05-0.5 away from x, bounds from albefa 0.1 and move 0.5, gradients
 * of both signs, raa0 1e-5; row i's Jacobian entries in [0, 1), or in [-0.5, 1.5) where
 * i + kind is odd. gmin, gmax, g0 [m]: the smallest and largest g_i over the bounds (each
 * g_ij is convex: its ends or its stationary point) and g_i at the current point. */
typedef struct {
    double *low, *upp, *alfa, *beta, *p0, *q0, *P, *Q;
} test_sub;

static void random_sub(const test_sub *t, int n, int m, int kind, uint64_t *rng, double *gmin,
                       double *gmax, double *g0)
{
    for (int i = 0; i < m; i++)
        gmin[i] = gmax[i] = g0[i] = 0;
    for (int j = 0; j < n; j++) {
        double xv = 0.05 + 0.9 * test_uniform(rng);
        double dl = 0.05 + 0.45 * test_uniform(rng), du = 0.05 + 0.45 * test_uniform(rng);
        t->low[j] = xv - dl;
        t->upp[j] = xv + du;
        t->alfa[j] = fmax(fmax(t->low[j] + 0.1 * dl, xv - 0.5), 0.0);
        t->beta[j] = fmin(fmin(t->upp[j] - 0.1 * du, xv + 0.5), 1.0);
        double g = 2 * test_uniform(rng) - 1;
        double pg = fmax(g, 0), qg = fmax(-g, 0), pq = 0.001 * (pg + qg) + 1e-5;
        t->p0[j] = (pg + pq) * du * du;
        t->q0[j] = (qg + pq) * dl * dl;
        for (int i = 0; i < m; i++) {
            double J = (i + kind) % 2 ? 2 * test_uniform(rng) - 0.5 : test_uniform(rng);
            double pj = fmax(J, 0), qj = fmax(-J, 0), pqj = 0.001 * (pj + qj) + 1e-5;
            double Pij = (pj + pqj) * du * du, Qij = (qj + pqj) * dl * dl;
            t->P[(size_t)i * n + j] = Pij;
            t->Q[(size_t)i * n + j] = Qij;
            double ga = Pij / (t->upp[j] - t->alfa[j]) + Qij / (t->alfa[j] - t->low[j]);
            double gb = Pij / (t->upp[j] - t->beta[j]) + Qij / (t->beta[j] - t->low[j]);
            double xs = (t->low[j] * sqrt(Pij) + t->upp[j] * sqrt(Qij)) / (sqrt(Pij) + sqrt(Qij));
            xs = fmin(fmax(xs, t->alfa[j]), t->beta[j]);
            gmin[i] += Pij / (t->upp[j] - xs) + Qij / (xs - t->low[j]);
            gmax[i] += fmax(ga, gb);
            g0[i] += Pij / du + Qij / dl;
        }
    }
}

/* At x in the bounds (asserted) with multipliers lam [m]: the largest stationarity residual
 * (relative) over x_j, and per constraint g_i(x) into gx and the magnitude of its terms plus
 * |b_i| into mag. */
static double sub_kkt(const test_sub *t, int n, int m, const double *x, const double *lam,
                      const double *b, double *gx, double *mag)
{
    double worst = 0;
    for (int i = 0; i < m; i++)
        gx[i] = 0, mag[i] = fabs(b[i]);
    for (int j = 0; j < n; j++) {
        assert_true(x[j] >= t->alfa[j] && x[j] <= t->beta[j]);
        double pj = t->p0[j], qj = t->q0[j];
        for (int i = 0; i < m; i++)
            pj += lam[i] * t->P[(size_t)i * n + j], qj += lam[i] * t->Q[(size_t)i * n + j];
        double iu = 1 / (t->upp[j] - x[j]), il = 1 / (x[j] - t->low[j]);
        worst = fmax(worst, sub_stationarity(x[j], t->alfa[j], t->beta[j], iu, il, pj, qj));
        for (int i = 0; i < m; i++) {
            double gij = t->P[(size_t)i * n + j] * iu + t->Q[(size_t)i * n + j] * il;
            gx[i] += gij;
            mag[i] += gij;
        }
    }
    return worst;
}

/* The subproblem's objective at x with artificial variables y [m] (NULL: the least that makes
 * x feasible, max(0, g_i(x) - b_i)). */
static double sub_objective(const test_sub *t, int n, int m, const double *x, const double *y,
                            const double *b, double c)
{
    double W = 0, g[8] = {0};
    for (int j = 0; j < n; j++) {
        double iu = 1 / (t->upp[j] - x[j]), il = 1 / (x[j] - t->low[j]);
        W += t->p0[j] * iu + t->q0[j] * il;
        for (int i = 0; i < m; i++)
            g[i] += t->P[(size_t)i * n + j] * iu + t->Q[(size_t)i * n + j] * il;
    }
    for (int i = 0; i < m; i++) {
        double yi = y ? y[i] : fmax(0, g[i] - b[i]);
        W += c * yi + 0.5 * yi * yi;
    }
    return W;
}

/* MMA's asymptote update of one variable (Svanberg's rule, box width 1, asyincr 1.2, asydecr
 * 0.7), against the values worked out by hand: an oscillating variable's asymptotes close in by
 * 0.7, a monotone one's open by 1.2, and so do those of a variable resting on a bound (its last
 * move zero); the distances stay within [0.01, 10] box widths. */
static void test_mma_asymptotes(void **state)
{
    (void)state;
    static const struct {
        double x, x1, x2, low, upp; /* values, asymptotes before */
        double want_low, want_upp;
    } C[] = {
        {0.45, 0.5, 0.4, 0.3, 0.8, 0.45 - 0.7 * 0.2, 0.45 + 0.7 * 0.3}, /* oscillates */
        {0.55, 0.5, 0.4, 0.3, 0.8, 0.55 - 1.2 * 0.2, 0.55 + 1.2 * 0.3}, /* monotone */
        {0.0, 0.0, 0.1, -0.2, 0.3, -1.2 * 0.2, 1.2 * 0.3},              /* came to rest on 0 */
        {1.0, 1.0, 1.0, 0.9, 1.5, 1.0 - 1.2 * 0.1, 1.0 + 1.2 * 0.5},    /* at rest on 1 */
        {0.6, 0.5, 0.4, -9.0, 0.505, 0.6 - 10, 0.6 + 0.01},             /* both limits */
        {0.5, 0.6, 0.4, 0.595, 9.0, 0.5 - 0.01, 0.5 + 0.7 * 8.4},       /* oscillates, low limit */
    };
    for (size_t t = 0; t < sizeof C / sizeof C[0]; t++) {
        double low = C[t].low, upp = C[t].upp;
        ncvx_mma_asymptotes(C[t].x, C[t].x1, C[t].x2, 1.0, 1.2, 0.7, &low, &upp);
        assert_true(fabs(low - C[t].want_low) <= 1e-15 * (1 + fabs(C[t].want_low)));
        assert_true(fabs(upp - C[t].want_upp) <= 1e-15 * (1 + fabs(C[t].want_upp)));
    }
}

/* MMA's subproblem with one constraint (or none) solved through its dual, against two
 * oracles: its own KKT conditions written out (the Lagrangian's derivative in every x_j:
 * zero between the bounds, signed at them; y = max(0, lam - c); the constraint g(x) - y <= b
 * with complementarity), and subsolv's interior point on the same subproblem. Random
 * subproblems (random_sub) in four regimes: the constraint active, inactive (lam = 0),
 * infeasible inside the bounds (y > 0, lam > c), and no constraint. Tolerances: the KKT
 * residuals are relative to the magnitude of the terms (rounding of sums over n = 400 terms:
 * ~1e-14); subsolv stops at the barrier 1e-7 and is accurate to that order in its objective,
 * less in x where the objective is flat. */
static void test_mma_subproblem_dual(void **state)
{
    (void)state;
    enum { N = 400 };
    static double low[N], upp[N], alfa[N], beta[N], p0[N], q0[N], P[N], Q[N], x[N], xi[N];
    const test_sub t = {low, upp, alfa, beta, p0, q0, P, Q};
    uint64_t rng = 12345;
    const double c = 1000;
    for (int regime = 0; regime < 4; regime++) {
        for (int trial = 0; trial < 5; trial++) {
            const int m = regime < 3;
            double gmin, gmax, g0;
            random_sub(&t, N, 1, trial, &rng, &gmin, &gmax, &g0);
            /* active: b between the smallest g and g at the current point; inactive: above the
             * largest; infeasible: below the smallest */
            double b = regime == 0   ? gmin + (0.2 + 0.1 * trial) * (g0 - gmin)
                       : regime == 1 ? gmax + 1
                                     : gmin - 0.01 * fabs(gmin) - 1e-3;
            double lam = trial * 0.7 * c; /* first guesses on both sides of the root */
            assert_int_equal(
                ncvx_mma_subsolve(N, m, low, upp, alfa, beta, p0, q0, P, Q, &b, c, 1, x, &lam), 0);
            double gx, mag, zero = 0;
            assert_true(sub_kkt(&t, N, 1, x, m ? &lam : &zero, &b, &gx, &mag) <= 1e-12);
            double y = m ? fmax(0, lam - c) : 0, h = gx - y - b;
            if (m) {
                assert_true(lam >= 0);
                assert_true(h <= 1e-12 * (mag + y));
                assert_true(lam == 0 || fabs(h) <= 1e-12 * (mag + y));
            }
            if (regime == 0) assert_true(lam > 0 && lam < c);
            if (regime == 1) assert_true(lam == 0);
            if (regime == 2) assert_true(lam > c);
            /* subsolv on the same subproblem */
            double lami = 0;
            assert_int_equal(
                ncvx_mma_subsolve(N, m, low, upp, alfa, beta, p0, q0, P, Q, &b, c, 0, xi, &lami),
                0);
            double dx = max_abs_diff(x, xi, N), dl = m ? fabs(lam - lami) / (1 + lam) : 0;
            double W = sub_objective(&t, N, m, x, &y, &b, c);
            double Wi = sub_objective(&t, N, m, xi, NULL, &b, c);
            /* the dual's point is at least as good as subsolv's (made feasible by its y), and
             * subsolv is near it: objective within 1e-3, lam within 1e-4 (measured: 2.5e-4
             * and 4.8e-6 at most; its x differs by up to 0.05 where the objective is flat) */
            if (!(W <= Wi + 1e-12 * fabs(W) && Wi - W <= 1e-3 * fabs(W) && dl <= 1e-4))
                fail_msg("regime %d trial %d: subproblem objective %.15g vs subsolv's %.15g, lam "
                         "%.10g vs %.10g, |x - x_subsolv| = %.3g",
                         regime, trial, W, Wi, lam, lami, dx);
        }
    }
}

/* The same with 2 and 3 constraints (the dual maximized by projected Newton): every
 * constraint active; the first inactive (lam_0 = 0); the last infeasible inside the bounds
 * (y > 0, lam > c). Oracles and tolerances as above; more than MMA_DUAL_MAXM (8) constraints
 * are refused by the dual. */
static void test_mma_subproblem_dual_m(void **state)
{
    (void)state;
    enum { N = 300, MM = 3 };
    static double low[N], upp[N], alfa[N], beta[N], p0[N], q0[N], P[MM * N], Q[MM * N], x[N], xi[N];
    const test_sub t = {low, upp, alfa, beta, p0, q0, P, Q};
    uint64_t rng = 777;
    const double c = 1000;
    for (int m = 2; m <= MM; m++) {
        for (int regime = 0; regime < 3; regime++) {
            for (int trial = 0; trial < 3; trial++) {
                double gmin[MM], gmax[MM], g0[MM], b[MM], lam[MM], lami[MM], gx[MM], mag[MM], y[MM];
                random_sub(&t, N, m, trial, &rng, gmin, gmax, g0);
                for (int i = 0; i < m; i++) {
                    b[i] = gmin[i] + (0.6 + 0.1 * trial) * (g0[i] - gmin[i]);
                    lam[i] = trial * 0.5 * (i + 1);
                }
                if (regime == 1) b[0] = gmax[0] + 1;
                if (regime == 2) b[m - 1] = gmin[m - 1] - 0.01 * fabs(gmin[m - 1]) - 1e-3;
                assert_int_equal(
                    ncvx_mma_subsolve(N, m, low, upp, alfa, beta, p0, q0, P, Q, b, c, 1, x, lam),
                    0);
                assert_true(sub_kkt(&t, N, m, x, lam, b, gx, mag) <= 1e-12);
                for (int i = 0; i < m; i++) {
                    y[i] = fmax(0, lam[i] - c);
                    double h = gx[i] - y[i] - b[i];
                    assert_true(lam[i] >= 0);
                    if (!(h <= 1e-10 * (mag[i] + y[i]) &&
                          (lam[i] == 0 || fabs(h) <= 1e-10 * (mag[i] + y[i]))))
                        fail_msg("m %d regime %d trial %d: constraint %d: h = %.3g (terms %.3g), "
                                 "lam = %.10g",
                                 m, regime, trial, i, h, mag[i] + y[i], lam[i]);
                }
                if (regime == 1) assert_true(lam[0] == 0);
                if (regime == 2) assert_true(lam[m - 1] > c);
                for (int i = 0; i < m; i++)
                    lami[i] = 0;
                assert_int_equal(
                    ncvx_mma_subsolve(N, m, low, upp, alfa, beta, p0, q0, P, Q, b, c, 0, xi, lami),
                    0);
                double W = sub_objective(&t, N, m, x, y, b, c);
                double Wi = sub_objective(&t, N, m, xi, NULL, b, c), dl = 0;
                for (int i = 0; i < m; i++)
                    dl = fmax(dl, fabs(lam[i] - lami[i]) / (1 + lam[i]));
                if (!(W <= Wi + 1e-12 * fabs(W) && Wi - W <= 1e-3 * fabs(W) && dl <= 1e-4))
                    fail_msg("m %d regime %d trial %d: subproblem objective %.15g vs subsolv's "
                             "%.15g, lam differs by %.3g",
                             m, regime, trial, W, Wi, dl);
            }
        }
    }
    /* dual with more than 8 constraints: refused */
    static double b9[9], lam9[9], P9[9 * 2], Q9[9 * 2];
    assert_int_equal(
        ncvx_mma_subsolve(2, 9, low, upp, alfa, beta, p0, q0, P9, Q9, b9, c, 1, x, lam9), -1);
}

/* ------------------------------------------------------------------------------------------ */
/* L-BFGS                                                                                        */

static void run_lbfgs_prec(const char *name, ncvx_eval_fn fn, int n, const double *x0, double xtol,
                           int single)
{
    ctx u = {.n = n};
    ncvx_problem p = {.n = n, .eval = fn, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    s.lm_single = single;
    s.opt_tol = 1e-9;
    s.maxit = 2000;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    double x[64];
    memcpy(x, x0, (size_t)n * sizeof *x);
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    double ex = 0;
    for (int j = 0; j < n; j++)
        ex = fmax(ex, fabs(x[j] - 1));
    add_row(name, NCVX_LBFGS, &info, fabs(info.f), ex);
    assert_int_equal(info.term, NCVX_TERM_STATIONARY);
    assert_true(ex <= xtol);
    assert_int_equal(info.evals, u.calls);
    assert_int_equal(info.grad_evals, u.calls);
    ncvx_destroy(sv);
}

static void run_lbfgs(const char *name, ncvx_eval_fn fn, int n, const double *x0, double xtol)
{
    run_lbfgs_prec(name, fn, n, x0, xtol, -1); /* auto: double pairs at these sizes */
}

/* ||g||_inf <= 1e-9 with Hessian eigenvalues >= ~0.4 (Rosenbrock near 1) or 1 (quad) bounds
 * |x - 1| by ~1e-8. */
static void test_lbfgs_problems(void **state)
{
    (void)state;
    double x0[64];
    x0[0] = -1.2, x0[1] = 1;
    run_lbfgs("Rosenbrock n=2", rosen, 2, x0, 1e-7);
    for (int j = 0; j < 20; j++)
        x0[j] = j % 2 ? 1 : -1.2;
    run_lbfgs("Rosenbrock n=20", rosen, 20, x0, 1e-7);
    for (int j = 0; j < 50; j++)
        x0[j] = 0;
    run_lbfgs("quad cond 1e4 n=50", quad, 50, x0, 1e-8);
}

/* The same problems with single-precision pairs: H is still the inverse BFGS matrix of the
 * stored (rounded) pairs, positive definite, and the gradient stays double, so the run reaches
 * the same stationarity test ||g||_inf <= 1e-9 and the same accuracy. */
static void test_lbfgs_problems_single(void **state)
{
    (void)state;
    double x0[64];
    x0[0] = -1.2, x0[1] = 1;
    run_lbfgs_prec("Rosenbrock n=2 (float pairs)", rosen, 2, x0, 1e-7, 1);
    for (int j = 0; j < 20; j++)
        x0[j] = j % 2 ? 1 : -1.2;
    run_lbfgs_prec("Rosenbrock n=20 (float pairs)", rosen, 20, x0, 1e-7, 1);
    for (int j = 0; j < 50; j++)
        x0[j] = 0;
    run_lbfgs_prec("quad cond 1e4 n=50 (float pairs)", quad, 50, x0, 1e-8, 1);
}

/* Each callback call is one evaluation; the budget is never exceeded. */
static void test_lbfgs_eval_budget(void **state)
{
    (void)state;
    ctx u = {.n = 2};
    ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    s.max_evals = 37;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    double x[2] = {-1.2, 1};
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_MAXEVAL);
    assert_int_equal(u.calls, 37);
    assert_int_equal(info.evals, 37);
    /* the returned point is the best one evaluated */
    double f = NAN;
    rosen(x, &f, NULL, NULL, NULL, NULL, NULL, &u);
    assert_close(f, info.f, 0, 0);
    ncvx_destroy(sv);
}

static int halt_at_3(const ncvx_iterate *it, void *user)
{
    (void)user;
    return it->iter >= 3;
}

static void test_lbfgs_termination(void **state)
{
    (void)state;
    ctx u = {.n = 2};
    ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    ncvx_solver *sv = NULL;
    ncvx_info info;
    double x[2];
    /* maxit */
    s.maxit = 4;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = -1.2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_MAXIT);
    assert_int_equal(info.iters, 4);
    assert_string_equal(info.term_msg, ncvx_term_str(NCVX_TERM_MAXIT));
    ncvx_destroy(sv);
    /* monitor halt */
    s.maxit = 1000;
    p.monitor = halt_at_3;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = -1.2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_USER_HALT);
    assert_int_equal(info.iters, 3);
    ncvx_destroy(sv);
    p.monitor = NULL;
    /* clock: a limit far below one iteration's time */
    s.maxclocktime = 1e-12;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = -1.2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_CLOCK);
    ncvx_destroy(sv);
    s.maxclocktime = 0;
    /* fvalquit */
    s.fvalquit = 1.0;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = -1.2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_FVALQUIT);
    assert_true(info.f <= 1.0);
    ncvx_destroy(sv);
    s.fvalquit = -INFINITY;
    /* unbounded below */
    p.eval = linear;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = x[1] = 0;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_LS_UNBOUNDED);
    ncvx_destroy(sv);
}

/* Callback failure mid-run -> TERM_CALLBACK with the best point so far; at the start ->
 * NCVX_ERR_CALLBACK. NaN inside the region x0 > 1.5 is a "step too long": the solve still
 * converges; NaN at the start -> NCVX_ERR_NONFINITE. */
static void test_lbfgs_failures(void **state)
{
    (void)state;
    ctx u = {.n = 2, .fail_after = 10};
    ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    ncvx_solver *sv = NULL;
    ncvx_info info;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    double x[2] = {-1.2, 1};
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_CALLBACK);
    assert_int_equal(info.evals, 10);
    assert_true(info.f < 24.2); /* better than f(x0) = 24.2 */
    u.calls = 0;
    u.fail_after = 1;
    x[0] = -1.2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_ERR_CALLBACK);
    ncvx_destroy(sv);

    ctx v = {.n = 2, .nan_region = 1};
    p.user = &v;
    s.opt_tol = 1e-8;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    x[0] = 1.45, x[1] = 2.2; /* iterates overshoot into x0 > 1.5 */
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_int_equal(info.term, NCVX_TERM_STATIONARY);
    assert_close(x[0], 1, 0, 1e-6);
    x[0] = 2, x[1] = 1;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_ERR_NONFINITE);
    ncvx_destroy(sv);

    /* a finite f with one Inf or NaN gradient entry, in the vector body or the tail of the
     * finiteness check (n = 21: entries 0 .. 15 in blocks of eight, 16 .. 20 in the tail) */
    const int bad[] = {1, 8, 17, 21};
    const double vals[] = {INFINITY, -INFINITY, NAN};
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < 3; k++) {
            ctx w = {.n = 21, .gbad = bad[b], .gbad_val = vals[k]};
            ncvx_problem q = {.n = 21, .eval = rosen, .user = &w};
            double x21[21] = {0};
            assert_int_equal(ncvx_create(&sv, &q, &s), NCVX_OK);
            assert_int_equal(ncvx_solve(sv, x21, &info), NCVX_ERR_NONFINITE);
            ncvx_destroy(sv);
        }
}

static void test_settings_and_problem_errors(void **state)
{
    (void)state;
    ctx u = {.n = 2};
    ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    ncvx_solver *sv = (ncvx_solver *)&u;
    s.lbfgs_m = 0;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_ERR_SETTINGS);
    assert_null(sv);
    s = quiet(NCVX_MMA);
    s.mma_albefa = 1.5;
    p.lower = HS[4].lo;
    p.upper = HS[4].hi;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_ERR_SETTINGS);
    s = quiet(NCVX_PENALTY);
    s.penalty_growth = 0.5;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_ERR_SETTINGS);
    /* lbfgs refuses constraints */
    ncvx_problem q = {.n = 2, .n_eq = 1, .eval = hs6};
    s = quiet(NCVX_LBFGS);
    assert_int_equal(ncvx_create(&sv, &q, &s), NCVX_ERR_INVALID);
    /* projgrad needs a projection for constraints */
    s = quiet(NCVX_PROJGRAD);
    assert_int_equal(ncvx_create(&sv, &q, &s), NCVX_ERR_INVALID);
    /* MMA needs bounds and no equalities; OC one constraint and lower >= 0 */
    ncvx_problem r = {.n = 3, .n_ineq = 4, .eval = hs35};
    s = quiet(NCVX_MMA);
    assert_int_equal(ncvx_create(&sv, &r, &s), NCVX_ERR_INVALID);
    r.lower = HS[4].lo;
    r.upper = HS[4].hi;
    s = quiet(NCVX_OC);
    assert_int_equal(ncvx_create(&sv, &r, &s), NCVX_ERR_INVALID);
    q.lower = HS[2].lo; /* has a negative entry */
    q.upper = HS[2].hi;
    q.n_eq = 0;
    q.n_ineq = 1;
    assert_int_equal(ncvx_create(&sv, &q, &s), NCVX_ERR_INVALID);
    ncvx_destroy(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Continuation: K1 iterations, export, import into a fresh solver, continue to K: x, f and   */
/* the evaluation count are bit-identical to an uninterrupted run of K iterations.             */

static void resume_check(ncvx_problem p, ncvx_settings s, const double *x0, int k1, int k)
{
    const int n = p.n;
    double xa[64], xb[64];
    ncvx_info ia, ib;
    ncvx_solver *a = NULL, *b = NULL, *c = NULL;
    s.maxit = k;
    assert_int_equal(ncvx_create(&a, &p, &s), NCVX_OK);
    memcpy(xa, x0, (size_t)n * sizeof *xa);
    assert_int_equal(ncvx_solve(a, xa, &ia), NCVX_OK);
    s.maxit = k1;
    assert_int_equal(ncvx_create(&b, &p, &s), NCVX_OK);
    memcpy(xb, x0, (size_t)n * sizeof *xb);
    assert_int_equal(ncvx_solve(b, xb, &ib), NCVX_OK);
    if (ib.term != NCVX_TERM_MAXIT)
        fail_msg("%s: the first part ended with term %d after %d iterations",
                 ncvx_method_str(s.method), ib.term, ib.iters);
    size_t sz = ncvx_state_size(b);
    assert_true(sz > 0);
    double *buf = malloc(sz * sizeof *buf);
    assert_non_null(buf);
    assert_int_equal(ncvx_state_export(b, buf, sz), NCVX_OK);
    s.maxit = k;
    assert_int_equal(ncvx_create(&c, &p, &s), NCVX_OK);
    assert_int_equal(ncvx_state_import(c, buf, sz - 1), NCVX_ERR_STATE);
    assert_int_equal(ncvx_state_import(c, buf, sz), NCVX_OK);
    for (int j = 0; j < n; j++)
        xb[j] = 1e300; /* ignored after an import */
    assert_int_equal(ncvx_solve(c, xb, &ib), NCVX_OK);
    assert_memory_equal(xa, xb, (size_t)n * sizeof *xa);
    assert_memory_equal(&ia.f, &ib.f, sizeof ia.f);
    assert_int_equal(ia.evals, ib.evals);
    assert_int_equal(ia.iters, ib.iters);
    assert_int_equal(ia.term, ib.term);
    free(buf);
    ncvx_destroy(a);
    ncvx_destroy(b);
    ncvx_destroy(c);
}

static const double RC[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* The application's checkpoint: export the state from inside the monitor, keep running. */
static int checkpoint_monitor(const ncvx_iterate *it, void *user)
{
    ctx *u = user;
    if (it->iter == u->ckpt_iter)
        assert_int_equal(ncvx_state_export(u->sv, u->ckpt, u->ckpt_size), NCVX_OK);
    return 0;
}

/* A checkpoint taken by the monitor at iteration 9 and resumed in a fresh solver ends exactly
 * where the run that wrote it ended. */
static void test_resume_from_monitor(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        const ncvx_method m = k ? NCVX_MMA : NCVX_LBFGS;
        double lo[12], hi[12], x0[12], xa[12], xb[12];
        /* MMA from the lower bounds with mma_rescale: f falls 2600x and is rescaled before
         * and after the checkpoint (the scale is part of the state) */
        for (int j = 0; j < 12; j++)
            lo[j] = 1e-4, hi[j] = 1, x0[j] = k ? 1e-4 : (j % 2 ? 1 : -1.2);
        ctx u = {.n = 12, .c = RC, .V = 3, .ckpt_iter = 9};
        ncvx_problem p = {.n = 12,
                          .n_ineq = k,
                          .eval = k ? resource : rosen,
                          .monitor = checkpoint_monitor,
                          .lower = k ? lo : NULL, // lbfgs refuses bounds
                          .upper = k ? hi : NULL,
                          .user = &u};
        ncvx_settings s = quiet(m);
        s.maxit = 14;
        s.mma_rescale = k;
        ncvx_info ia, ib;
        assert_int_equal(ncvx_create(&u.sv, &p, &s), NCVX_OK);
        u.ckpt_size = ncvx_state_size(u.sv);
        u.ckpt = malloc(u.ckpt_size * sizeof *u.ckpt);
        assert_non_null(u.ckpt);
        memcpy(xa, x0, sizeof xa);
        assert_int_equal(ncvx_solve(u.sv, xa, &ia), NCVX_OK);
        assert_int_equal(ia.term, NCVX_TERM_MAXIT);
        ncvx_solver *b = NULL;
        p.monitor = NULL;
        assert_int_equal(ncvx_create(&b, &p, &s), NCVX_OK);
        assert_int_equal(ncvx_state_import(b, u.ckpt, u.ckpt_size), NCVX_OK);
        for (int j = 0; j < 12; j++)
            xb[j] = 1e300; /* ignored after an import */
        assert_int_equal(ncvx_solve(b, xb, &ib), NCVX_OK);
        assert_memory_equal(xa, xb, sizeof xa);
        assert_int_equal(ia.evals, ib.evals);
        assert_int_equal(ia.iters, ib.iters);
        free(u.ckpt);
        ncvx_destroy(u.sv);
        ncvx_destroy(b);
    }
}

static void test_resume(void **state)
{
    (void)state;
    ctx u = {.n = 10};
    double x0[10];
    for (int j = 0; j < 10; j++)
        x0[j] = j % 2 ? 1 : -1.2;
    ncvx_problem p = {.n = 10, .eval = rosen, .user = &u};
    resume_check(p, quiet(NCVX_LBFGS), x0, 13, 40);
    ncvx_settings sf = quiet(NCVX_LBFGS); /* float pairs resume exactly too */
    sf.lm_single = 1;
    resume_check(p, sf, x0, 13, 40);
    /* penalty and auglag across outer iterations (inner_maxit 5 forces several) */
    ctx v = {.inner = hs71};
    ncvx_problem q = {.n = 4, .n_ineq = 9, .n_eq = 1, .eval = counted, .user = &v};
    ncvx_settings s = quiet(NCVX_AUGLAG);
    s.inner_maxit = 5;
    resume_check(q, s, HS[5].x0, 12, 30);
    s.method = NCVX_PENALTY;
    resume_check(q, s, HS[5].x0, 12, 30);
    /* MMA and OC on the resource problem */
    ctx r = {.n = 12, .c = RC, .V = 3};
    double lo[12], hi[12], xr[12];
    for (int j = 0; j < 12; j++)
        lo[j] = 0.01, hi[j] = 1, xr[j] = 0.25;
    ncvx_problem m = {.n = 12, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &r};
    resume_check(m, quiet(NCVX_MMA), xr, 4, 15);
    for (int j = 0; j < 12; j++)
        xr[j] = 0.9; /* infeasible start: OC needs several move-limited steps */
    resume_check(m, quiet(NCVX_OC), xr, 2, 6);
    /* projgrad on the box */
    ncvx_problem g = {.n = 10, .eval = rosen, .user = &u};
    double l2[10], h2[10];
    for (int j = 0; j < 10; j++)
        l2[j] = -2, h2[j] = 0.8;
    g.lower = l2;
    g.upper = h2;
    resume_check(g, quiet(NCVX_PROJGRAD), x0, 7, 25);
}

/* ------------------------------------------------------------------------------------------ */
/* MMA / OC on the resource problem: closed-form KKT solution.                                 */

static void run_resource(ncvx_method m, int normalized, double tol)
{
    enum { N = 12 };
    ctx u = {.n = N, .c = RC, .V = 3, .normalized = normalized};
    double lo[N], hi[N], x[N], xs[N], ssum = 0;
    for (int j = 0; j < N; j++) {
        lo[j] = 0.01, hi[j] = 1, x[j] = m == NCVX_OC ? 0.9 : 0.25;
        ssum += sqrt(RC[j]);
    }
    for (int j = 0; j < N; j++)
        xs[j] = u.V * sqrt(RC[j]) / ssum; /* all within [0.01, 1] */
    double fs = ssum * ssum / u.V;
    ncvx_problem p = {.n = N, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &u};
    ncvx_settings s = quiet(m);
    s.opt_tol = m == NCVX_MMA ? 1e-6 : 1e-9; /* MMA: see run_hs */
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    double ef = fabs(info.f - fs) / fs, ex = max_abs_diff(x, xs, N);
    add_row(normalized ? "resource (normalized)" : "resource", m, &info, ef, ex);
    if (!(ef <= tol && ex <= tol))
        fail_msg("%s: f = %.12g vs %.12g, |x - x*| = %.3g, term %d, iters %d", ncvx_method_str(m),
                 info.f, fs, ex, info.term, info.iters);
    assert_true(info.viol_ineq <= 1e-6);
    assert_true(info.term == NCVX_TERM_STATIONARY || info.term == NCVX_TERM_STEP_TOL);
    ncvx_destroy(sv);
}

/* OC's fixed point is exact for this separable problem (x_new = sqrt(c/lam)); the bisection
 * gives lam to 1e-13 relative. MMA: KKT residual 1e-9. */
static void test_resource_oc_mma(void **state)
{
    (void)state;
    run_resource(NCVX_OC, 0, 1e-9);
    run_resource(NCVX_OC, 1, 1e-9);
    run_resource(NCVX_MMA, 0, 1e-7);
    run_resource(NCVX_MMA, 1, 1e-7);
}

/* settings.mma_rescale on the resource problem started at its lower bounds 1e-4, with f divided
 * by f(x0) as the application does: f falls from 1 to 1 / 2600. The stop is a KKT residual
 * <= opt_tol (1e-6 for MMA, as run_resource) on the objective the method sees. Rescaled to about
 * 1, whose Hessian diagonal 2 c_j / x_j^3 / f is >= 2 at the solution, that puts x within
 * opt_tol / 2 of x*; at the fixed scale the Hessian is 2600x smaller and the same test passes
 * 2600x farther away: MMA stops there as STATIONARY, 8.7e-4 from x* (rescaled 2.5e-7). OC's
 * fixed point is exact on this separable problem whatever the scale (run_resource): it must
 * reach x* both ways. */
static void test_mma_rescale(void **state)
{
    (void)state;
    enum { N = 12 };
    const ncvx_method ms[] = {NCVX_MMA, NCVX_OC};
    for (int k = 0; k < 4; k++) {
        const ncvx_method m = ms[k / 2];
        const int on = k % 2;
        double lo[N], hi[N], x[N], xs[N], ssum = 0, f0 = 0;
        for (int j = 0; j < N; j++) {
            lo[j] = x[j] = 1e-4, hi[j] = 1;
            ssum += sqrt(RC[j]);
            f0 += RC[j] / x[j];
        }
        ctx u = {.n = N, .c = RC, .V = 3, .fscale = f0};
        for (int j = 0; j < N; j++)
            xs[j] = u.V * sqrt(RC[j]) / ssum;
        const double fopt = ssum * ssum / u.V / f0; /* f* / f(x0) */
        ncvx_problem p = {
            .n = N, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &u};
        ncvx_settings s = quiet(m);
        s.opt_tol = m == NCVX_MMA ? 1e-6 : 1e-9; /* as run_resource */
        s.mma_rescale = on;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        const double ef = fabs(info.f - fopt) / fopt, ex = max_abs_diff(x, xs, N);
        assert_int_equal(info.term, NCVX_TERM_STATIONARY);
        assert_true(info.viol_ineq <= 1e-6);
        if (on && !(ef <= 1e-10 && ex <= s.opt_tol))
            fail_msg("%s, rescaled: f = %.12g vs %.12g, |x - x*| = %.3g after %d iterations",
                     ncvx_method_str(m), info.f, fopt, ex, info.iters);
        /* the volume multiplier in the units of f: c_j / x_j^2 / f(x0) = (sum sqrt c / V)^2 / f0 */
        const double lam = ssum * ssum / (u.V * u.V) / f0;
        if (on && !(fabs(info.mu - lam) <= 1e-5 * lam))
            fail_msg("%s, rescaled: mu = %.12g vs %.12g", ncvx_method_str(m), info.mu, lam);
        if (!on && m == NCVX_OC && !(ef <= 1e-10 && ex <= s.opt_tol))
            fail_msg("oc, fixed scale: |x - x*| = %.3g", ex);
        if (!on && m == NCVX_MMA && !(ex > 100 * s.opt_tol)) /* what the rescale removes */
            fail_msg("%s, fixed scale: |x - x*| = %.3g already (the test lost its point)",
                     ncvx_method_str(m), ex);
        ncvx_destroy(sv);
    }
}

/* OC's move limit: the first step moves no variable by more than move * (hi - lo). */
static int first_step_check(const ncvx_iterate *it, void *user)
{
    double *x0 = user;
    if (it->iter == 1) {
        double m = 0;
        for (int j = 0; j < 12; j++)
            m = fmax(m, fabs(it->x[j] - x0[j]));
        x0[12] = m;
    }
    return 0;
}

static int resource_m(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                      double *Je, void *user)
{
    static ctx u = {.n = 12, .c = RC, .V = 3};
    (void)user;
    return resource(x, f, g, ci, Ji, ce, Je, &u);
}

static void test_oc_move_limit(void **state)
{
    (void)state;
    double lo[12], hi[12], x[12], rec[13];
    for (int j = 0; j < 12; j++)
        lo[j] = 0, hi[j] = 1, x[j] = rec[j] = 0.25;
    rec[12] = -1;
    ncvx_problem p = {.n = 12,
                      .n_ineq = 1,
                      .eval = resource_m,
                      .monitor = first_step_check,
                      .lower = lo,
                      .upper = hi,
                      .user = rec};
    ncvx_settings s = quiet(NCVX_OC);
    s.maxit = 1;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    assert_true(rec[12] > 0.1 && rec[12] <= 0.2 + 1e-15); /* default move 0.2 is reached */
    ncvx_destroy(sv);
}

/* ------------------------------------------------------------------------------------------ */
/* projgrad                                                                                     */

typedef struct {
    double V;
} proj_ctx;

static int proj_mean_le(double *x, int n, void *user)
{
    /* user is the ctx of the resource problem: sum x <= V -> mean <= V / n, box [0.01, 1] */
    ctx *u = user;
    return ncvx_project_box_mean(x, n, 0.01, 1, u->V / n, 0);
}

static void test_projgrad(void **state)
{
    (void)state;
    /* resource allocation through the volume projection: same closed form as above */
    enum { N = 12 };
    ctx u = {.n = N, .c = RC, .V = 3};
    double x[N], xs[N], ssum = 0;
    for (int j = 0; j < N; j++) {
        x[j] = 0.5;
        ssum += sqrt(RC[j]);
    }
    for (int j = 0; j < N; j++)
        xs[j] = u.V * sqrt(RC[j]) / ssum;
    ncvx_problem p = {.n = N, .n_ineq = 1, .eval = resource, .project = proj_mean_le, .user = &u};
    ncvx_settings s = quiet(NCVX_PROJGRAD);
    s.opt_tol = 1e-10;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    double fs = ssum * ssum / u.V, ef = fabs(info.f - fs) / fs, ex = max_abs_diff(x, xs, N);
    add_row("resource (projection)", NCVX_PROJGRAD, &info, ef, ex);
    /* near x* the projected step runs along the active volume face, where g'd is second
     * order: Armijo may fail at the rounding level before stat <= 1e-10 (term 6) */
    assert_true(info.term == NCVX_TERM_STATIONARY || info.term == NCVX_TERM_LS_FEASIBLE);
    assert_true(ex <= 1e-8);
    assert_int_equal(info.evals, u.calls);
    ncvx_destroy(sv);

    /* box-constrained Rosenbrock with the box of problem.lower/upper: x* = (0.8, 0.64) is
     * where the bound x0 <= 0.8 is active (f increases towards the free minimizer (1,1)). */
    ctx r = {.n = 2};
    double lo[2] = {-2, -2}, hi[2] = {0.8, 2}, y[2] = {-1.2, 1};
    ncvx_problem q = {.n = 2, .eval = rosen, .lower = lo, .upper = hi, .user = &r};
    s.opt_tol = 1e-9;
    s.maxit = 20000;
    assert_int_equal(ncvx_create(&sv, &q, &s), NCVX_OK);
    assert_int_equal(ncvx_solve(sv, y, &info), NCVX_OK);
    double ys[2] = {0.8, 0.64};
    add_row("Rosenbrock box", NCVX_PROJGRAD, &info, fabs(info.f - 0.04), max_abs_diff(y, ys, 2));
    assert_int_equal(info.term, NCVX_TERM_STATIONARY);
    assert_true(max_abs_diff(y, ys, 2) <= 1e-8);
    ncvx_destroy(sv);
}

/* ------------------------------------------------------------------------------------------ */
/* L-BFGS engine (white-box): the secant condition H y_k = s_k for the newest pair, symmetry  */
/* and positive definiteness of H, on a convex quadratic.                                     */

typedef struct {
    double A[36];
} quad6;

static int quad6_fg(void *data, const double *x, double *f, double *g, double *aux)
{
    const quad6 *q = data; /* f = x'Ax/2 - b'x, b_i = i + 1 */
    *f = 0;
    for (int i = 0; i < 6; i++) {
        double ax = 0;
        for (int j = 0; j < 6; j++)
            ax += q->A[6 * i + j] * x[j];
        g[i] = ax - (i + 1);
        *f += 0.5 * x[i] * ax - (i + 1) * x[i];
    }
    aux[0] = *f;
    return NCVX_EV_OK;
}

static void test_lbfgs_engine_secant(void **state)
{
    (void)state;
    uint64_t seed = 7;
    quad6 q;
    double B[36];
    for (int k = 0; k < 36; k++)
        B[k] = test_uniform(&seed) - 0.5;
    for (int i = 0; i < 6; i++) /* A = B'B + diag(0.1, ..., 10^...) : SPD, cond ~ 1e3 */
        for (int j = 0; j < 6; j++) {
            double a = 0;
            for (int k = 0; k < 6; k++)
                a += B[6 * k + i] * B[6 * k + j];
            q.A[6 * i + j] = a + (i == j ? pow(10.0, i - 2.0) : 0);
        }
    ncvx_lbfgs e;
    assert_int_equal(ncvx_lbfgs_alloc(&e, 6, 3, 1, 0), 0);
    e.c1 = 1e-4;
    e.c2 = 0.9;
    e.ls_maxit = 20;
    memset(e.cur.x, 0, 6 * sizeof(double));
    quad6_fg(&q, e.cur.x, &e.cur.f, e.cur.g, e.cur.aux);
    for (int it = 0; it < 8; it++) {
        double f0 = e.cur.f, x0[6], g0[6];
        memcpy(x0, e.cur.x, sizeof x0);
        memcpy(g0, e.cur.g, sizeof g0);
        assert_int_equal(ncvx_lbfgs_step(&e, quad6_fg, &q), NCVX_LS_OK);
        assert_true(e.cur.f < f0);
        /* the newest pair is this step's (s, y) and H maps y to s */
        double sv[6], yv[6], hy[6];
        for (int j = 0; j < 6; j++) {
            sv[j] = e.cur.x[j] - x0[j];
            yv[j] = e.cur.g[j] - g0[j];
        }
        ncvx_lbfgs_apply(&e, yv, hy);
        for (int j = 0; j < 6; j++) /* two-loop rounding: a few ulps times cond(H) ~ 1e3 */
            assert_close(hy[j], sv[j], 1e-9, 1e-12 * (1 + fabs(sv[0])));
        /* symmetric and positive definite: u'Hv = v'Hu, v'Hv > 0 */
        double u[6], v[6], hu[6], hv[6], uhv = 0, vhu = 0, vhv = 0;
        for (int j = 0; j < 6; j++)
            u[j] = test_uniform(&seed) - 0.5, v[j] = test_uniform(&seed) - 0.5;
        ncvx_lbfgs_apply(&e, u, hu);
        ncvx_lbfgs_apply(&e, v, hv);
        for (int j = 0; j < 6; j++)
            uhv += u[j] * hv[j], vhu += v[j] * hu[j], vhv += v[j] * hv[j];
        assert_close(uhv, vhu, 1e-10, 1e-14);
        assert_true(vhv > 0);
    }
    ncvx_lbfgs_free(&e);
}

/* Store the pair (s, y) in the engine as accept() does. */
static void lbfgs_push(ncvx_lbfgs *e, const double *s, const double *y)
{
    assert_int_equal(ncvx_lbfgs_push(e, s, y), 1);
}

static double rel_diff(const double *a, const double *b, int n)
{
    double num = 0, den = 0;
    for (int j = 0; j < n; j++)
        num += (a[j] - b[j]) * (a[j] - b[j]), den += b[j] * b[j];
    return sqrt(num / den);
}

/* The compact representation equals the two-loop recursion and the dense BFGS inverse built
 * from the same pairs (independent oracle: H <- (I - r s y')H(I - r y s') + r s s' from
 * H0 = gamma I), through the ring's wrap-around, at lengths that are not multiples of the
 * block; recomputing S'Y and Y'Y from scratch (as after a state import) gives the same bits. */
static void test_lbfgs_compact(void **state)
{
    (void)state;
    uint64_t seed = 11;
    const int ns[] = {37, 1500}, m = 5;
    for (int c = 0; c < 2; c++) {
        const int n = ns[c];
        ncvx_lbfgs e;
        assert_int_equal(ncvx_lbfgs_alloc(&e, n, m, 1, 0), 0);
        double *s = malloc(n * sizeof *s), *y = malloc(n * sizeof *y), *v = malloc(n * sizeof *v);
        double *h1 = malloc(n * sizeof *h1), *h2 = malloc(n * sizeof *h2);
        double *h3 = malloc(n * sizeof *h3), *dg = malloc(n * sizeof *dg);
        assert_non_null(h3);
        for (int j = 0; j < n; j++) /* y = diag(dg) s + noise: s'y > 0, curvatures 1..1000 */
            dg[j] = pow(10.0, 3.0 * test_uniform(&seed));
        double *Sh = malloc((size_t)(m + 4) * n * sizeof *Sh),
               *Yh = malloc((size_t)(m + 4) * n * sizeof *Yh);
        for (int k = 0; k < m + 4; k++) { /* 9 pairs: the ring wraps */
            for (int j = 0; j < n; j++) {
                s[j] = test_uniform(&seed) - 0.5;
                y[j] = dg[j] * s[j] + 0.1 * (test_uniform(&seed) - 0.5);
            }
            double sy = 0;
            for (int j = 0; j < n; j++)
                sy += s[j] * y[j];
            assert_true(sy > 0);
            memcpy(Sh + (size_t)k * n, s, n * sizeof *s);
            memcpy(Yh + (size_t)k * n, y, n * sizeof *y);
            lbfgs_push(&e, s, y);
            for (int j = 0; j < n; j++)
                v[j] = test_uniform(&seed) - 0.5;
            ncvx_lbfgs_apply(&e, v, h1);
            ncvx_lbfgs_apply_twoloop(&e, v, h2);
            /* both are O(m) dot products and updates in double: a few hundred ulps of
             * cond(H) <= 1e3 stays far below 1e-12 */
            assert_true(rel_diff(h1, h2, n) < 1e-12);
            /* S'Y and Y'Y recomputed from scratch: the same bits */
            for (int i = 0; i <= m; i++)
                e.stale[i] = 1;
            ncvx_lbfgs_apply(&e, v, h3);
            assert_memory_equal(h1, h3, n * sizeof *h1);
            /* H maps the newest y to the newest s (secant equation) */
            ncvx_lbfgs_apply(&e, y, h3);
            assert_true(rel_diff(h3, s, n) < 1e-12);
        }
        if (n <= 64) { /* dense oracle from the last m pairs */
            double *H = calloc((size_t)n * n, sizeof *H), *T = calloc((size_t)n * n, sizeof *T);
            const double *sl = Sh + (size_t)(m + 3) * n, *yl = Yh + (size_t)(m + 3) * n;
            double sy = 0, yy = 0;
            for (int j = 0; j < n; j++)
                sy += sl[j] * yl[j], yy += yl[j] * yl[j];
            for (int j = 0; j < n; j++)
                H[(size_t)j * n + j] = sy / yy;
            for (int k = 4; k < m + 4; k++) {
                const double *sk = Sh + (size_t)k * n, *yk = Yh + (size_t)k * n;
                double r = 0;
                for (int j = 0; j < n; j++)
                    r += sk[j] * yk[j];
                r = 1 / r;
                /* T = H (I - r y s') */
                for (int i = 0; i < n; i++) {
                    double hy = 0;
                    for (int j = 0; j < n; j++)
                        hy += H[(size_t)i * n + j] * yk[j];
                    for (int j = 0; j < n; j++)
                        T[(size_t)i * n + j] = H[(size_t)i * n + j] - r * hy * sk[j];
                }
                /* H = (I - r s y') T + r s s' */
                for (int j = 0; j < n; j++) {
                    double yt = 0;
                    for (int i = 0; i < n; i++)
                        yt += yk[i] * T[(size_t)i * n + j];
                    for (int i = 0; i < n; i++)
                        H[(size_t)i * n + j] =
                            T[(size_t)i * n + j] - r * sk[i] * yt + r * sk[i] * sk[j];
                }
            }
            for (int i = 0; i < n; i++) {
                double a = 0;
                for (int j = 0; j < n; j++)
                    a += H[(size_t)i * n + j] * v[j];
                h2[i] = a;
            }
            ncvx_lbfgs_apply(&e, v, h1);
            assert_true(rel_diff(h1, h2, n) < 1e-10);
            free(H);
            free(T);
        }
        free(s), free(y), free(v), free(h1), free(h2), free(h3), free(dg), free(Sh), free(Yh);
        ncvx_lbfgs_free(&e);
    }
}

/* Dense BFGS matrices of the pairs (s_k, y_k), k = 0 .. np-1 (oldest first, ld n), from the
 * newest pair's scaling g = s'y/y'y: the inverse H (H0 = g I, H <- (I - r s y')H(I - r y s') +
 * r s s') and the direct B (B0 = I/g, B <- B - B s s'B/(s'Bs) + y y'/(y's)). Independent of the
 * engine: plain triple loops. */
static void dense_bfgs(int n, int np, const double *S, const double *Y, double *H, double *B,
                       double *T)
{
    const double *sl = S + (size_t)(np - 1) * n, *yl = Y + (size_t)(np - 1) * n;
    double sy = 0, yy = 0;
    for (int j = 0; j < n; j++)
        sy += sl[j] * yl[j], yy += yl[j] * yl[j];
    memset(H, 0, (size_t)n * n * sizeof *H);
    memset(B, 0, (size_t)n * n * sizeof *B);
    for (int j = 0; j < n; j++)
        H[(size_t)j * n + j] = sy / yy, B[(size_t)j * n + j] = yy / sy;
    for (int k = 0; k < np; k++) {
        const double *sk = S + (size_t)k * n, *yk = Y + (size_t)k * n;
        double r = 0;
        for (int j = 0; j < n; j++)
            r += sk[j] * yk[j];
        r = 1 / r;
        for (int i = 0; i < n; i++) { /* T = H (I - r y s') */
            double hy = 0;
            for (int j = 0; j < n; j++)
                hy += H[(size_t)i * n + j] * yk[j];
            for (int j = 0; j < n; j++)
                T[(size_t)i * n + j] = H[(size_t)i * n + j] - r * hy * sk[j];
        }
        for (int j = 0; j < n; j++) { /* H = (I - r s y') T + r s s' */
            double yt = 0;
            for (int i = 0; i < n; i++)
                yt += yk[i] * T[(size_t)i * n + j];
            for (int i = 0; i < n; i++)
                H[(size_t)i * n + j] = T[(size_t)i * n + j] - r * sk[i] * yt + r * sk[i] * sk[j];
        }
        double *bs = T, sbs = 0; /* B s, s'B s */
        for (int i = 0; i < n; i++) {
            double a = 0;
            for (int j = 0; j < n; j++)
                a += B[(size_t)i * n + j] * sk[j];
            bs[i] = a;
            sbs += sk[i] * a;
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                B[(size_t)i * n + j] += -bs[i] * bs[j] / sbs + r * yk[i] * yk[j];
    }
}

static double frob(const double *A, int n)
{
    double a = 0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        a += A[i] * A[i];
    return sqrt(a);
}

/* Single-precision pairs (float storage, double products): the engine applies exactly the
 * inverse BFGS matrix of the rounded pairs, and differs from the double engine by no more than
 * the rounding of the pairs propagated through H. Pairs as in test_lbfgs_compact (curvatures
 * 1 .. 1000 and noise), m = 5, 9 pairs (the storage wraps), n = 37 and 1500 (several blocks).
 *  - against the dense oracle built (in double) from the float-rounded pairs: the compact form
 *    in double, bounded by 1e-9 as the double engine on its own pairs is by 1e-10 (a wrong
 *    pair, slot or sign gives O(1));
 *  - against the two-loop recursion on the same float pairs: 1e-12, as in double;
 *  - against the double engine: each pair element carries a relative error u = 2^-24; to first
 *    order H (a product of m factors I - r y s' and their transposes around H0 = g I, each with
 *    ||dF|| <~ 4 u ||F||) moves by at most ~ 2 (2m + 1) 4 u kappa relative, kappa = ||H||_F
 *    ||B||_F (B = H^-1, the direct BFGS matrix: the Frobenius condition number bounds the 2-norm
 *    one from above). The test allows 8 (2m + 1) u kappa and requires that bound to be < 0.5, so
 *    that it can fail; the observed difference is reported. */
static void test_lbfgs_single_pairs(void **state)
{
    (void)state;
    uint64_t seed = 23;
    const int ns[] = {37, 1500}, m = 5, np = m + 4;
    const double u = 5.960464477539063e-08; /* 2^-24 */
    for (int c = 0; c < 2; c++) {
        const int n = ns[c];
        ncvx_lbfgs ef, ed;
        assert_int_equal(ncvx_lbfgs_alloc(&ef, n, m, 1, 1), 0);
        assert_int_equal(ncvx_lbfgs_alloc(&ed, n, m, 1, 0), 0);
        assert_true(ef.single && !ed.single);
        double *S = malloc((size_t)np * n * sizeof *S), *Y = malloc((size_t)np * n * sizeof *Y);
        double *Sr = malloc((size_t)np * n * sizeof *Sr), *Yr = malloc((size_t)np * n * sizeof *Yr);
        double *v = malloc(n * sizeof *v), *hf = malloc(n * sizeof *hf),
               *hd = malloc(n * sizeof *hd);
        double *h2 = malloc(n * sizeof *h2), *dg = malloc(n * sizeof *dg);
        assert_true(S && Y && Sr && Yr && v && hf && hd && h2 && dg);
        for (int j = 0; j < n; j++)
            dg[j] = pow(10.0, 3.0 * test_uniform(&seed));
        for (int k = 0; k < np; k++) {
            double *s = S + (size_t)k * n, *y = Y + (size_t)k * n;
            for (int j = 0; j < n; j++) {
                s[j] = test_uniform(&seed) - 0.5;
                y[j] = dg[j] * s[j] + 0.1 * (test_uniform(&seed) - 0.5);
                Sr[(size_t)k * n + j] = (float)s[j];
                Yr[(size_t)k * n + j] = (float)y[j];
            }
            assert_int_equal(ncvx_lbfgs_push(&ef, s, y), 1);
            assert_int_equal(ncvx_lbfgs_push(&ed, s, y), 1);
            for (int j = 0; j < n; j++)
                v[j] = test_uniform(&seed) - 0.5;
            ncvx_lbfgs_apply(&ef, v, hf);
            ncvx_lbfgs_apply_twoloop(&ef, v, h2);
            assert_true(rel_diff(hf, h2, n) < 1e-12);
            /* S'Y and Y'Y of the float pairs recomputed from scratch: the same bits */
            for (int i = 0; i <= m; i++)
                ef.stale[i] = 1;
            ncvx_lbfgs_apply(&ef, v, h2);
            assert_memory_equal(hf, h2, n * sizeof *hf);
            /* secant equation of the stored (rounded) newest pair */
            ncvx_lbfgs_apply(&ef, Yr + (size_t)k * n, h2);
            assert_true(rel_diff(h2, Sr + (size_t)k * n, n) < 1e-12);
        }
        ncvx_lbfgs_apply(&ef, v, hf);
        ncvx_lbfgs_apply(&ed, v, hd);
        const double dfd = rel_diff(hf, hd, n);
        double *H = malloc((size_t)n * n * sizeof *H), *B = malloc((size_t)n * n * sizeof *B);
        double *T = malloc((size_t)n * n * sizeof *T);
        assert_true(H && B && T);
        /* oracle of the rounded pairs (the last m) */
        dense_bfgs(n, m, Sr + (size_t)4 * n, Yr + (size_t)4 * n, H, B, T);
        for (int i = 0; i < n; i++) {
            double a = 0;
            for (int j = 0; j < n; j++)
                a += H[(size_t)i * n + j] * v[j];
            h2[i] = a;
        }
        const double dor = rel_diff(hf, h2, n);
        const double kappa = frob(H, n) * frob(B, n);
        const double bound = 8.0 * (2 * m + 1) * u * kappa;
        print_message("float pairs n = %d: |Hv - oracle| / |oracle| = %.2e, float vs double "
                      "%.2e, bound 8 (2m+1) u kappa_F = %.2e (kappa_F = %.3g)\n",
                      n, dor, dfd, bound, kappa);
        assert_true(dor < 1e-9);
        assert_true(bound < 0.5);
        assert_true(dfd <= bound);
        assert_true(dfd > 0); /* the pairs were rounded: the engines differ */
        free(H), free(B), free(T);
        free(S), free(Y), free(Sr), free(Yr), free(v), free(hf), free(hd), free(h2), free(dg);
        ncvx_lbfgs_free(&ef);
        ncvx_lbfgs_free(&ed);
    }
}

/* A continuation state written with one pair precision and read with the other: the pairs go
 * through the state as doubles, so a float state read by a double engine is exact (its export
 * is the same buffer, bit for bit) and a double state read by a float engine is rounded to
 * float; either run then continues to the minimum. A float state resumed in float is exact
 * (test_resume). */
static void test_lbfgs_state_precision(void **state)
{
    (void)state;
    ctx u = {.n = 10};
    double x0[10], x[10];
    for (int j = 0; j < 10; j++)
        x0[j] = j % 2 ? 1 : -1.2;
    ncvx_problem p = {.n = 10, .eval = rosen, .user = &u};
    for (int from = 0; from < 2; from++) {
        ncvx_settings s = quiet(NCVX_LBFGS);
        s.lm_single = from;
        s.maxit = 15;
        ncvx_solver *a = NULL, *b = NULL;
        ncvx_info ia, ib;
        assert_int_equal(ncvx_create(&a, &p, &s), NCVX_OK);
        memcpy(x, x0, sizeof x);
        assert_int_equal(ncvx_solve(a, x, &ia), NCVX_OK);
        assert_int_equal(ia.term, NCVX_TERM_MAXIT);
        const size_t sz = ncvx_state_size(a);
        double *buf = malloc(sz * sizeof *buf), *buf2 = malloc(sz * sizeof *buf2);
        assert_true(buf && buf2);
        assert_int_equal(ncvx_state_export(a, buf, sz), NCVX_OK);
        s.lm_single = !from;
        s.maxit = 2000;
        s.opt_tol = 1e-9;
        assert_int_equal(ncvx_create(&b, &p, &s), NCVX_OK);
        assert_int_equal(ncvx_state_size(b), sz); /* one layout for both precisions */
        assert_int_equal(ncvx_state_import(b, buf, sz), NCVX_OK);
        assert_int_equal(ncvx_state_export(b, buf2, sz), NCVX_OK);
        size_t diff = 0;
        for (size_t i = 0; i < sz; i++)
            diff += memcmp(&buf[i], &buf2[i], sizeof *buf) != 0;
        if (from == 1) {
            assert_int_equal(diff, 0); /* float values are exact in double */
        } else {
            assert_true(diff > 0); /* the double pairs were rounded, nothing else */
            for (size_t i = 0; i < sz; i++)
                assert_true(memcmp(&buf[i], &buf2[i], sizeof *buf) == 0 || /* NaN fields */
                            fabs(buf2[i] - buf[i]) <= 6e-8 * fabs(buf[i]));
        }
        assert_int_equal(ncvx_solve(b, x, &ib), NCVX_OK);
        assert_int_equal(ib.term, NCVX_TERM_STATIONARY);
        for (int j = 0; j < 10; j++)
            assert_true(fabs(x[j] - 1) < 1e-7);
        free(buf), free(buf2);
        ncvx_destroy(a);
        ncvx_destroy(b);
    }
}

/* Callback failure mid-run for the other methods: TERM_CALLBACK, the count stops exactly at
 * the failing call, and the returned point is the best one seen (feasible here). */
static void test_failures_other_methods(void **state)
{
    (void)state;
    const ncvx_method ms[] = {NCVX_PENALTY, NCVX_AUGLAG, NCVX_PROJGRAD, NCVX_MMA, NCVX_OC};
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
        ctx u = {.n = 12, .c = RC, .V = 3, .fail_after = 6};
        double lo[12], hi[12], x[12];
        for (int j = 0; j < 12; j++)
            lo[j] = 0.01, hi[j] = 1, x[j] = ms[k] == NCVX_OC ? 0.9 : 0.2; /* OC: 5 steps */
        ncvx_problem p = {
            .n = 12, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &u};
        if (ms[k] == NCVX_PENALTY || ms[k] == NCVX_AUGLAG) p.lower = p.upper = NULL; // refused
        if (ms[k] == NCVX_PROJGRAD) p.project = proj_mean_le;
        ncvx_settings s = quiet(ms[k]);
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        if (info.term != NCVX_TERM_CALLBACK)
            fail_msg("%s: term %d", ncvx_method_str(ms[k]), info.term);
        assert_int_equal(info.evals, 6);
        assert_int_equal(u.calls, 6);
        assert_true(info.viol_ineq <= 1e-6 && info.f <= 390.0); /* f(x0) = 78 / 0.2 */
        ncvx_destroy(sv);
    }
}

/* Any problem, with f = NaN at call nan_call. */
static int nan_wrap(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                    double *Je, void *user)
{
    ctx *u = user;
    count(u);
    int r = u->inner(x, f, g, ci, Ji, ce, Je, NULL);
    if (u->calls == u->nan_call) *f = NAN;
    return r;
}

/* A NaN objective in the middle of a run (the 3rd call) is a "step too long": every method
 * backs off and still reaches the solution (penalty/auglag on HS35, which has no bounds
 * issue; the others on the resource problem). */
static void test_nan_other_methods(void **state)
{
    (void)state;
    const ncvx_method ms[] = {NCVX_PROJGRAD, NCVX_MMA, NCVX_OC};
    for (int k = 0; k < 2; k++) {
        ctx u = {.nan_call = 3, .inner = hs35};
        ncvx_problem p = {.n = 3, .n_ineq = 4, .eval = nan_wrap, .user = &u};
        ncvx_settings s = quiet(k ? NCVX_AUGLAG : NCVX_PENALTY);
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double x[3] = {0.5, 0.5, 0.5};
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        assert_true(u.calls > 3);
        /* the tolerances of test_hs_auglag / test_hs_penalty */
        const double ex = max_abs_diff(x, HS[4].xs, 3);
        if (!(ex <= (k ? 2e-5 : 1e-4)))
            fail_msg("%s after a NaN: |x - x*| = %.3g, term %d", ncvx_method_str(s.method), ex,
                     info.term);
        ncvx_destroy(sv);
    }
    double ssum = 0;
    for (int j = 0; j < 12; j++)
        ssum += sqrt(RC[j]);
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
        ctx u = {.n = 12, .c = RC, .V = 3, .nan_call = 3};
        double lo[12], hi[12], x[12];
        for (int j = 0; j < 12; j++)
            lo[j] = 0.01, hi[j] = 1, x[j] = ms[k] == NCVX_OC ? 0.9 : 0.25;
        ncvx_problem p = {
            .n = 12, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &u};
        if (ms[k] == NCVX_PROJGRAD) p.project = proj_mean_le;
        ncvx_settings s = quiet(ms[k]);
        s.opt_tol = 1e-6;
        s.maxit = 3000;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        assert_true(u.calls > 3); /* the NaN was seen and the run went on */
        double ex = 0;
        for (int j = 0; j < 12; j++)
            ex = fmax(ex, fabs(x[j] - u.V * sqrt(RC[j]) / ssum));
        if (!(ex <= 1e-5 && isfinite(info.f)))
            fail_msg("%s: |x - x*| = %.3g, term %d", ncvx_method_str(ms[k]), ex, info.term);
        ncvx_destroy(sv);
    }
}

/* Infeasible: x1 <= -1 and x1 >= 1, min |x|^2. Every x1 in [-1, 1] has violation 2 (the
 * least possible); among those the best point is the one of lowest f, near 0. The methods
 * must say "infeasible" (line search failed at an infeasible point, or no descent). */
static int infeasible(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                      double *Je, void *user)
{
    (void)ce, (void)Je;
    count(user);
    *f = x[0] * x[0] + x[1] * x[1];
    ci[0] = x[0] + 1;
    ci[1] = 1 - x[0];
    if (g) {
        g[0] = 2 * x[0], g[1] = 2 * x[1];
        Ji[0] = 1, Ji[1] = 0, Ji[2] = -1, Ji[3] = 0;
    }
    return 0;
}

static void test_infeasible(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        ctx u = {0};
        ncvx_problem p = {.n = 2, .n_ineq = 2, .eval = infeasible, .user = &u};
        ncvx_settings s = quiet(k ? NCVX_AUGLAG : NCVX_PENALTY);
        s.maxit = 3000;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double x[2] = {3, 3};
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        assert_true(info.term == NCVX_TERM_LS_INFEASIBLE || info.term == NCVX_TERM_NO_DESCENT);
        assert_close(info.viol_ineq, 2, 1e-12, 0);
        assert_true(fabs(x[0]) <= 1e-6 && fabs(x[1]) <= 1e-6);
        ncvx_destroy(sv);
    }
}

/* max_evals is exact for the constrained methods too. */
static void test_eval_budget_other_methods(void **state)
{
    (void)state;
    const ncvx_method ms[] = {NCVX_PENALTY, NCVX_AUGLAG, NCVX_PROJGRAD, NCVX_MMA, NCVX_OC};
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
        ctx u = {.n = 12, .c = RC, .V = 3};
        double lo[12], hi[12], x[12];
        for (int j = 0; j < 12; j++)
            lo[j] = 0.01, hi[j] = 1, x[j] = 0.9;
        ncvx_problem p = {
            .n = 12, .n_ineq = 1, .eval = resource, .lower = lo, .upper = hi, .user = &u};
        if (ms[k] == NCVX_PENALTY || ms[k] == NCVX_AUGLAG) p.lower = p.upper = NULL; // refused
        if (ms[k] == NCVX_PROJGRAD) p.project = proj_mean_le;
        ncvx_settings s = quiet(ms[k]);
        s.max_evals = 4;
        s.opt_tol = 0;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        assert_int_equal(info.term, NCVX_TERM_MAXEVAL);
        assert_int_equal(u.calls, 4);
        assert_int_equal(info.evals, 4);
        ncvx_destroy(sv);
    }
}

/* The iteration table goes to settings.log with a header and one row per iteration. */
static void test_print_table(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    ctx u = {.n = 2};
    ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
    ncvx_settings s = quiet(NCVX_LBFGS);
    s.print_level = 1;
    s.log = f;
    s.maxit = 5;
    ncvx_solver *sv = NULL;
    assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
    double x[2] = {-1.2, 1};
    ncvx_info info;
    assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
    rewind(f);
    char line[256];
    int rows = 0, header = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "iter") && strstr(line, "ineq viol")) header++;
        int it;
        if (sscanf(line, "%d", &it) == 1) rows++;
    }
    fclose(f);
    assert_int_equal(header, 1);
    assert_int_equal(rows, 6); /* iterations 0..5 */
    ncvx_destroy(sv);
}

/* One core for every method: the same iteration table (header, fixed width, one summary line
 * naming the method) and the same ncvx_info when the starting point fails (term unknown, f and
 * the violations NaN, x left as it was, the one evaluation counted). */
static void test_one_core(void **state)
{
    (void)state;
    const ncvx_method ms[] = {NCVX_BFGS_SQP, NCVX_LBFGS, NCVX_PENALTY, NCVX_PROJGRAD};
    char header0[512] = "";
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
        ctx u = {.n = 2};
        ncvx_problem p = {.n = 2, .eval = rosen, .user = &u};
        ncvx_settings s = quiet(ms[k]);
        FILE *f = tmpfile();
        assert_non_null(f);
        s.print_level = 1;
        s.log = f;
        s.maxit = 3;
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double x[2] = {-1.2, 1};
        ncvx_info info;
        assert_int_equal(ncvx_solve(sv, x, &info), NCVX_OK);
        assert_int_equal(info.term, NCVX_TERM_MAXIT);
        rewind(f);
        char line[512], header[512] = "";
        int rows = 0, summaries = 0;
        size_t width = 0;
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, " iter |", 7) == 0) {
                assert_int_equal(header[0], 0); // one header for 4 rows
                strcpy(header, line);
                width = strlen(line);
            } else if (strchr(line, '|')) {
                rows++;
                assert_int_equal(strlen(line), width); // the header's width
            } else if (strncmp(line, ncvx_method_str(ms[k]), strlen(ncvx_method_str(ms[k]))) == 0) {
                summaries++;
            }
        }
        fclose(f);
        assert_int_equal(rows, 4); // iterations 0..3
        assert_int_equal(summaries, 1);
        if (k == 0)
            strcpy(header0, header);
        else
            assert_string_equal(header, header0);
        ncvx_destroy(sv);

        /* the callback fails at x0 */
        ctx v = {.n = 2, .fail_after = 1};
        p.user = &v;
        s.print_level = 0;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double y[2] = {-1.2, 1};
        memset(&info, 0xff, sizeof info);
        assert_int_equal(ncvx_solve(sv, y, &info), NCVX_ERR_CALLBACK);
        assert_int_equal(info.term, NCVX_TERM_UNKNOWN);
        assert_true(isnan(info.f) && isnan(info.viol_ineq) && isnan(info.viol_eq_max));
        assert_true(isnan(info.stat) && isnan(info.mu));
        assert_true(y[0] == -1.2 && y[1] == 1);
        assert_int_equal(info.evals, 1);
        assert_int_equal(info.iters, 0);
        ncvx_destroy(sv);
    }
}

/* A projection that ignores the box [0.01, 1] of the problem (it projects onto [0, 2]). */
static int proj_mean_wide(double *x, int n, void *user)
{
    ctx *u = user;
    return ncvx_project_box_mean(x, n, 0, 2, u->V / n, 0);
}

/* projgrad honours problem.lower/upper also with problem.project: a projected point outside
 * the box ends the run as a failed projection instead of being kept. */
static void test_projgrad_bounds_checked(void **state)
{
    (void)state;
    for (int wide = 0; wide < 2; wide++) {
        ctx u = {.n = 12, .c = RC, .V = 3};
        double lo[12], hi[12], x[12];
        for (int j = 0; j < 12; j++)
            lo[j] = 0.01, hi[j] = 1, x[j] = 0.2;
        ncvx_problem p = {.n = 12,
                          .n_ineq = 1,
                          .eval = resource,
                          .lower = lo,
                          .upper = hi,
                          .project = wide ? proj_mean_wide : proj_mean_le,
                          .user = &u};
        ncvx_settings s = quiet(NCVX_PROJGRAD);
        ncvx_solver *sv = NULL;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        ncvx_info info;
        ncvx_status st = ncvx_solve(sv, x, &info);
        if (wide) {
            assert_true(st == NCVX_ERR_CALLBACK ||
                        (st == NCVX_OK && info.term == NCVX_TERM_CALLBACK));
        } else {
            assert_int_equal(st, NCVX_OK);
            assert_true(info.term != NCVX_TERM_CALLBACK);
        }
        if (st == NCVX_OK) /* the returned point is in the box either way */
            for (int j = 0; j < 12; j++)
                assert_true(x[j] >= lo[j] && x[j] <= hi[j]);
        ncvx_destroy(sv);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Projections                                                                                  */

static void test_project_box(void **state)
{
    (void)state;
    double x[4] = {-3, 0.5, 7, 2}, lo[4] = {-1, -1, -1, -1}, hi[4] = {1, 1, 1, 3};
    ncvx_project_box(x, 4, lo, hi);
    assert_close(x[0], -1, 0, 0);
    assert_close(x[1], 0.5, 0, 0);
    assert_close(x[2], 1, 0, 0);
    assert_close(x[3], 2, 0, 0);
    ncvx_project_box(x, 4, NULL, NULL); /* no bounds: unchanged */
    assert_close(x[0], -1, 0, 0);
}

/* KKT of the projection: y = clamp(x - tau) with one tau, mean(y) = V (or <= V with tau >= 0
 * and tau (mean - V) = 0); and no random feasible point is closer to x (brute force). */
static void test_project_box_mean(void **state)
{
    (void)state;
    uint64_t seed = 42;
    enum { N = 37 };
    for (int trial = 0; trial < 200; trial++) {
        int eq = trial % 2;
        double x[N], y[N], lo = -0.5 + 0.5 * test_uniform(&seed),
                           hi = lo + 0.2 + test_uniform(&seed);
        double V = lo + (hi - lo) * test_uniform(&seed);
        for (int j = 0; j < N; j++)
            x[j] = y[j] = -2 + 4 * test_uniform(&seed);
        assert_int_equal(ncvx_project_box_mean(y, N, lo, hi, V, eq), 0);
        double mean = 0, tau = NAN;
        for (int j = 0; j < N; j++) {
            assert_true(y[j] >= lo && y[j] <= hi);
            mean += y[j] / N;
            if (y[j] > lo && y[j] < hi) {
                if (isnan(tau)) tau = x[j] - y[j];
                assert_close(x[j] - y[j], tau, 0, 1e-12); /* one shift on the free set */
            }
        }
        if (eq)
            assert_close(mean, V, 0, 1e-13);
        else
            assert_true(mean <= V + 1e-13);
        if (!isnan(tau)) {
            if (!eq) assert_true(tau >= -1e-13 && (tau <= 1e-13 || fabs(mean - V) <= 1e-13));
            for (int j = 0; j < N; j++) { /* clamped entries lie on the right side of tau */
                if (y[j] == lo) assert_true(x[j] - lo <= tau + 1e-12);
                if (y[j] == hi) assert_true(x[j] - hi >= tau - 1e-12);
            }
        }
        double dy = 0;
        for (int j = 0; j < N; j++)
            dy += (y[j] - x[j]) * (y[j] - x[j]);
        for (int k = 0; k < 50; k++) { /* random feasible points: z = y + mean-zero perturbation */
            double z[N], zm = 0, dz = 0;
            for (int j = 0; j < N; j++) {
                z[j] = y[j] + 0.1 * (test_uniform(&seed) - 0.5);
                zm += z[j] / N;
            }
            for (int j = 0; j < N; j++)
                z[j] -= zm - mean;
            int ok = 1;
            for (int j = 0; j < N; j++)
                ok = ok && z[j] >= lo && z[j] <= hi;
            if (!ok) continue;
            for (int j = 0; j < N; j++)
                dz += (z[j] - x[j]) * (z[j] - x[j]);
            assert_true(dy <= dz + 1e-12);
        }
    }
    /* infeasible targets */
    double x[3] = {0, 0, 0};
    assert_int_equal(ncvx_project_box_mean(x, 3, 0, 1, 1.5, 1), -1);
    assert_int_equal(ncvx_project_box_mean(x, 3, 0, 1, -0.1, 0), -1);
    assert_int_equal(ncvx_project_box_mean(x, 3, 0, 1, 1.5, 0), 0); /* <= with V > hi: box */
}

/* ------------------------------------------------------------------------------------------ */

static int print_table(void **state)
{
    (void)state;
    printf("\n| problem | method | iters | evals | |f - f*|/(1+|f*|) | |x - x*|_inf | term |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nrows; i++)
        printf("| %s | %s | %d | %ld | %.1e | %.1e | %d |\n", table[i].problem, table[i].method,
               table[i].iters, table[i].evals, table[i].err_f, table[i].err_x, table[i].term);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lbfgs_problems),
        cmocka_unit_test(test_lbfgs_problems_single),
        cmocka_unit_test(test_lbfgs_single_pairs),
        cmocka_unit_test(test_lbfgs_state_precision),
        cmocka_unit_test(test_lbfgs_compact),
        cmocka_unit_test(test_lbfgs_eval_budget),
        cmocka_unit_test(test_lbfgs_termination),
        cmocka_unit_test(test_lbfgs_failures),
        cmocka_unit_test(test_settings_and_problem_errors),
        cmocka_unit_test(test_hs_auglag),
        cmocka_unit_test(test_hs_penalty),
        cmocka_unit_test(test_hs_penalty_exact),
        cmocka_unit_test(test_hs_mma),
        cmocka_unit_test(test_resource_oc_mma),
        cmocka_unit_test(test_mma_rescale),
        cmocka_unit_test(test_mma_asymptotes),
        cmocka_unit_test(test_mma_subproblem_dual),
        cmocka_unit_test(test_mma_subproblem_dual_m),
        cmocka_unit_test(test_oc_move_limit),
        cmocka_unit_test(test_projgrad),
        cmocka_unit_test(test_project_box),
        cmocka_unit_test(test_project_box_mean),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_resume_from_monitor),
        cmocka_unit_test(test_lbfgs_engine_secant),
        cmocka_unit_test(test_failures_other_methods),
        cmocka_unit_test(test_nan_other_methods),
        cmocka_unit_test(test_infeasible),
        cmocka_unit_test(test_eval_budget_other_methods),
        cmocka_unit_test(test_print_table),
        cmocka_unit_test(test_one_core),
        cmocka_unit_test(test_projgrad_bounds_checked),
    };
    return cmocka_run_group_tests_name("solver_methods", tests, NULL, print_table);
}
