// tests/test_solver_set.c: the public test set (tests/hs_collection.c: statements checked by
// finite differences and at the published solutions; bfgs-sqp run on all of it) and the box QP
// of the steering and stationarity subproblems (ncvx_qp_box) against closed forms and KKT
#include "hs_collection.h"
#include "ncvx.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* the test set                                                                                 */

static void test_set_size_and_counts(void **state)
{
    (void)state;
    const hs_problem *t = hs_collection();
    int nhs = 0, nns = 0;
    for (int i = 0; i < hs_collection_size(); i++) {
        const hs_problem *p = &t[i];
        if (!hs_check_counts(p))
            fail_msg("%s: constraint counts differ from the statement", p->name);
        if (!strncmp(p->name, "HS", 2))
            nhs++;
        else
            nns++;
        assert_true(p->n >= 1 && p->n <= HS_NMAX);
    }
    assert_true(nhs >= 80);
    assert_true(nns >= 4);
}

/* Every gradient and Jacobian row against 4th-order central differences (Richardson) at a
 * point near x0 off the kinks of the nonsmooth problems. */
static void test_set_gradients(void **state)
{
    (void)state;
    const hs_problem *t = hs_collection();
    for (int i = 0; i < hs_collection_size(); i++) {
        const hs_problem *p = &t[i];
        const int n = p->n, mi = p->n_ineq, me = p->n_eq;
        double x[HS_NMAX], f, g[HS_NMAX], ci[HS_MMAX], ce[HS_MMAX];
        static double Ji[HS_MMAX * HS_NMAX], Je[HS_MMAX * HS_NMAX];
        for (int j = 0; j < n; j++)
            x[j] = p->x0[j] * (1 + 0.01 * sin(j + 1.0)) + 0.003 * (j + 1);
        hs_eval(x, &f, g, ci, Ji, ce, Je, (void *)p);
        for (int j = 0; j < n; j++) {
            const double h = 1e-4 * fmax(1, fabs(x[j]));
            double v[4][1 + 2 * HS_MMAX], xs[HS_NMAX];
            const double off[4] = {h, -h, 2 * h, -2 * h};
            for (int s = 0; s < 4; s++) {
                memcpy(xs, x, sizeof xs);
                xs[j] += off[s];
                hs_eval(xs, &v[s][0], NULL, v[s] + 1, NULL, v[s] + 1 + HS_MMAX, NULL, (void *)p);
            }
            for (int r = 0; r < 1 + mi + me; r++) {
                const int slot = r == 0 ? 0 : r <= mi ? r : 1 + HS_MMAX + (r - 1 - mi);
                const double an = r == 0    ? g[j]
                                  : r <= mi ? Ji[(size_t)(r - 1) * n + j]
                                            : Je[(size_t)(r - 1 - mi) * n + j];
                const double val = r == 0 ? f : r <= mi ? ci[r - 1] : ce[r - 1 - mi];
                const double fd =
                    (8 * (v[0][slot] - v[1][slot]) - (v[2][slot] - v[3][slot])) / (12 * h);
                const double tol = 1e-6 * (1 + fabs(an)) + 1e-11 * (1 + fabs(val)) / h;
                if (!(fabs(an - fd) <= tol))
                    fail_msg("%s: d(row %d)/dx%d = %.12g, finite differences %.12g", p->name, r,
                             j + 1, an, fd);
            }
        }
    }
}

/* f(x*) = f* and feasibility at the published solution, to the digits printed there
 * (catches transcription errors of statements, solutions and optimal values). */
static void test_set_published_solutions(void **state)
{
    (void)state;
    const hs_problem *t = hs_collection();
    int checked = 0;
    for (int i = 0; i < hs_collection_size(); i++) {
        const hs_problem *p = &t[i];
        if (!p->has_xstar) continue;
        double f, ci[HS_MMAX], ce[HS_MMAX];
        hs_eval(p->xstar, &f, NULL, ci, NULL, ce, NULL, (void *)p);
        const double tol = (p->xstar_tol + 1e-11) * fmax(1, fabs(p->fstar));
        if (!(fabs(f - p->fstar) <= tol))
            fail_msg("%s: f(x*) = %.12g, published f* = %.12g", p->name, f, p->fstar);
        const double v = hs_violation(p, p->xstar);
        if (!(v <= fmax(1e-12, 1e3 * p->xstar_tol)))
            fail_msg("%s: violation %.3g at the published x*", p->name, v);
        checked++;
    }
    assert_true(checked >= 80);
}

/* Problems that bfgs-sqp solves (|f - f*| <= 1e-6 max(1, |f*|), violation <= 1e-6) on the
 * Prescott, Sandybridge, Haswell, SkylakeX and Cooperlake OpenBLAS kernels, also from x0
 * perturbed by 1e-10 relative (measured with bench_hs and scripts/kernel_matrix.sh). */
static const char *const robust[] = {
    "HS001", "HS002", "HS003", "HS004", "HS005", "HS006", "HS007", "HS008", "HS009", "HS010",
    "HS011", "HS012", "HS014", "HS016", "HS018", "HS019", "HS020", "HS021", "HS022", "HS023",
    "HS024", "HS029", "HS030", "HS031", "HS034", "HS035", "HS038", "HS039", "HS040", "HS041",
    "HS042", "HS043", "HS045", "HS048", "HS051", "HS052", "HS057", "HS061", "HS063", "HS065",
    "HS066", "HS071", "HS074", "HS076", "HS078", "HS079", "HS083", "HS100", "HS110", "NS-EIGMAX",
    "NS-MAXQ",
    // solved on every kernel, also from the perturbed x0, since the exact stationarity QP and
    // the certificate's restarts
    "HS028", "HS047", "HS053", "HS060", "HS064", "HS073", "HS086", "HS113", "NS-L1REG", "NS-ROSEN",
    // solved on every kernel, also from x0 perturbed by +-1e-12..1e-6, since the Lagrangian
    // secant pairs, the exact steering QP, the penalty-ranked best point and the null-step
    // samples
    "HS015", "HS026", "HS027", "HS032", "HS036", "HS037", "HS044", "HS046", "HS049", "HS050",
    "HS056", "HS062", "HS072", "HS075", "HS077", "HS080", "HS081", "HS104", "HS112", "NS-MAXQUAD",
    // since the one-sided line-search slopes at c = 0
    "HS017",
    // since steering at strictly feasible points whose step leaves the linearized feasible set
    "HS093"};

static int solve(const hs_problem *p, double rel_perturb, double *fout, double *vout)
{
    ncvx_settings s;
    ncvx_settings_default(&s);
    s.print_level = 0;
    ncvx_problem q = {
        .n = p->n, .n_ineq = p->n_ineq, .n_eq = p->n_eq, .eval = hs_eval, .user = (void *)p};
    ncvx_solver *sv = NULL;
    double x[HS_NMAX];
    for (int j = 0; j < p->n; j++)
        x[j] = p->x0[j] * (1 + rel_perturb * cos(j + 1.0));
    ncvx_info info;
    if (ncvx_create(&sv, &q, &s) != NCVX_OK) return 0;
    ncvx_status st = ncvx_solve(sv, x, &info);
    ncvx_destroy(sv);
    if (st != NCVX_OK) return 0;
    double ci[HS_MMAX], ce[HS_MMAX];
    hs_eval(x, fout, NULL, ci, NULL, ce, NULL, (void *)p);
    *vout = hs_violation(p, x);
    return fabs(*fout - p->fstar) <= 1e-6 * fmax(1, fabs(p->fstar)) && *vout <= 1e-6;
}

static void test_set_bfgssqp(void **state)
{
    (void)state;
    const hs_problem *t = hs_collection();
    const int np = hs_collection_size();
    int solved = 0;
    char *ok = calloc((size_t)np, 1);
    for (int i = 0; i < np; i++) {
        double f, v;
        ok[i] = (char)solve(&t[i], 0, &f, &v);
        solved += ok[i];
    }
    printf("# bfgs-sqp solved %d of %d problems\n", solved, np);
    int bad = 0;
    for (size_t r = 0; r < sizeof robust / sizeof robust[0]; r++) {
        int found = 0;
        for (int i = 0; i < np; i++) {
            if (strcmp(t[i].name, robust[r])) continue;
            found = 1;
            double f, v;
            if (!ok[i]) {
                printf("# %s: not solved\n", robust[r]);
                bad++;
            } else if (!solve(&t[i], 1e-10, &f, &v)) {
                printf("# %s: not solved from x0 (1 + 1e-10): f = %.10g, viol %.2e\n", robust[r], f,
                       v);
                bad++;
            }
        }
        if (!found) fail_msg("%s: not in the set", robust[r]);
    }
    free(ok);
    assert_int_equal(bad, 0);
    // measured (bench_hs -m bfgs-sqp, unperturbed x0): 85 of 89 on Prescott, Sandybridge,
    // Haswell, SkylakeX and Cooperlake; the 83 above on all five kernels and from x0 perturbed
    // by +-1e-12..1e-6. Not solved: HS013 (the minimizer is a cusp of the feasible set, not a
    // KKT point: within the violation tolerance 1e-6 the cubic constraint allows f 2 % below
    // f*), HS033 (ends at the degenerate KKT point (0, 0, 2), f = -4, not a local minimizer),
    // HS055 (the local minimizer t = 0 of the feasible segment, f = 20/3), HS106 (badly
    // scaled: 1000 iterations do not suffice); HS025 is solved from x0 on its bound x1 = 100
    // only (a start off the bound sees |grad f| = 2e-8), HS084 not from every perturbed x0.
    // Floor: 83, two below the lowest count measured (the margin of the previous floor, for
    // kernels not measured)
    assert_true(solved >= 83);
}

/* ------------------------------------------------------------------------------------------ */
/* ncvx_qp_box                                                                                  */

typedef struct {
    double *w;
    int *iw, *st;
} qp_ws;

/* G = A A' for the N rows of A (n columns each): the Gram matrix of gradient samples. */
static void gram(int N, int n, const double *A, double *G)
{
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            double acc = 0;
            for (int i = 0; i < n; i++)
                acc += A[(size_t)a * n + i] * A[(size_t)b * n + i];
            G[(size_t)b * N + a] = acc;
        }
}

/* The scale of a box QP's KKT residual: max(1, max_j G_jj + |g_j|). */
static double qp_scale(int N, const double *G, const double *g)
{
    double sc = 1;
    for (int j = 0; j < N; j++)
        sc = fmax(sc, G[(size_t)j * N + j] + fabs(g[j]));
    return sc;
}

static qp_ws ws_new(int n)
{
    qp_ws s = {malloc(ncvx_qp_box_work_size(n) * sizeof(double)),
               malloc(ncvx_qp_box_iwork_size(n) * sizeof(int)), malloc((size_t)n * sizeof(int))};
    return s;
}

static void ws_free(qp_ws *s)
{
    free(s->w), free(s->iw), free(s->st);
}

/* largest violation of the KKT conditions of the box QP with equality multiplier nu */
static double kkt_box(int n, const double *G, const double *g, const double *lo, const double *hi,
                      const double *e, double b, const double *y, double nu)
{
    double err = 0, ey = 0;
    for (int a = 0; a < n; a++) {
        double r = g[a] - (e ? nu * e[a] : 0);
        for (int c = 0; c < n; c++)
            r += G[(size_t)c * n + a] * y[c];
        if (y[a] < lo[a] - 1e-14 || y[a] > hi[a] + 1e-14) err = fmax(err, 1);
        if (y[a] > lo[a] && y[a] < hi[a])
            err = fmax(err, fabs(r));
        else if (y[a] == lo[a])
            err = fmax(err, -r);
        else
            err = fmax(err, r);
        if (e) ey += e[a] * y[a];
    }
    if (e) err = fmax(err, fabs(ey - b));
    return err;
}

static void test_qp_box_closed_forms(void **state)
{
    (void)state;
    qp_ws s = ws_new(3);
    // diagonal G: the clamped unconstrained minimizer
    {
        const double G[9] = {2, 0, 0, 0, 4, 0, 0, 0, 1}, g[3] = {-4, 2, -0.5};
        const double lo[3] = {0, 0, -1}, hi[3] = {1, 1, 1};
        double y[3], nu;
        assert_int_equal(ncvx_qp_box(3, G, g, lo, hi, NULL, 0, y, s.st, 0, &nu, s.w, s.iw), 0);
        assert_close(y[0], 1, 0, 1e-15);   // -g/G = 2 clamped to 1
        assert_close(y[1], 0, 0, 1e-15);   // -0.5 clamped to 0
        assert_close(y[2], 0.5, 0, 1e-14); // interior
        assert_int_equal(s.st[0], 2);
        assert_int_equal(s.st[1], 1);
        assert_int_equal(s.st[2], 0);
    }
    // rank one G = a a' on the simplex: min 0.5 (a'y)^2, a = (1, 2, 3): y = e1, f = 0.5
    {
        const double a[3] = {1, 2, 3}, g[3] = {0, 0, 0}, lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
        const double e[3] = {1, 1, 1};
        double G[9], y[3], nu;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                G[j * 3 + i] = a[i] * a[j];
        assert_int_equal(ncvx_qp_box(3, G, g, lo, hi, e, 1, y, s.st, 0, &nu, s.w, s.iw), 0);
        assert_close(y[0], 1, 0, 1e-14);
        assert_close(y[1], 0, 0, 1e-14);
        assert_close(y[2], 0, 0, 1e-14);
        assert_close(nu, 1, 0, 1e-13); // g + Gy - nu e = a (a'y) - nu e, >= 0 off the support
        assert_true(kkt_box(3, G, g, lo, hi, e, 1, y, nu) <= 1e-13);
    }
    // G = 0 (a linear program on the box, fully degenerate): y = (lo1, hi2, anything)
    {
        const double G[9] = {0}, g[3] = {1, -1, 0}, lo[3] = {-1, -2, -3}, hi[3] = {1, 2, 3};
        double y[3];
        assert_int_equal(ncvx_qp_box(3, G, g, lo, hi, NULL, 0, y, s.st, 0, NULL, s.w, s.iw), 0);
        assert_close(y[0], -1, 0, 0);
        assert_close(y[1], 2, 0, 0);
        assert_true(y[2] >= -3 && y[2] <= 3);
    }
    // infeasible equality: e'y = 5 with y in [0, 1]^3
    {
        const double G[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, g[3] = {0}, lo[3] = {0, 0, 0};
        const double hi[3] = {1, 1, 1}, e[3] = {1, 1, 1};
        double y[3];
        assert_int_equal(ncvx_qp_box(3, G, g, lo, hi, e, 5, y, s.st, 0, NULL, s.w, s.iw), 1);
    }
    ws_free(&s);
}

/* Random stationarity-like QPs (G = A'A of rank n < N, weights of f summing to mu, multiplier
 * boxes): KKT to 1e-12 relative, cold and warm started after a change of g; with G + I
 * (positive definite) the objective equals Goldfarb-Idnani's. */
static void test_qp_box_random(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int rep = 0; rep < 45; rep++) { // the last 15 larger: 7 above the fast path threshold
        const int n = 2 + rep % 6, k = 1 + rep % 7, L = rep < 30 ? 1 + rep % 5 : 6 + rep % 5;
        const int N = k * L;
        double *A = malloc((size_t)n * N * sizeof *A), *G = malloc((size_t)N * N * sizeof *G);
        double *g = malloc((size_t)N * 8), *lo = malloc((size_t)N * 8), *hi = malloc((size_t)N * 8);
        double *e = malloc((size_t)N * 8), *y = malloc((size_t)N * 8), *y2 = malloc((size_t)N * 8);
        for (int j = 0; j < N; j++) {
            for (int i = 0; i < n; i++)
                A[(size_t)j * n + i] = 2 * test_uniform(&seed) - 1;
            const int c = j % k;
            e[j] = c == 0;
            lo[j] = c == 0 ? 0 : (c % 2 ? 0 : -1);
            hi[j] = c == 0 ? 0.7 : 1;
            g[j] = c == 0 ? 0 : test_uniform(&seed) - 0.6;
        }
        gram(N, n, A, G);
        qp_ws s = ws_new(N);
        double nu, sc = qp_scale(N, G, g);
        assert_int_equal(ncvx_qp_box(N, G, g, lo, hi, e, 0.7, y, s.st, 0, &nu, s.w, s.iw), 0);
        assert_true(kkt_box(N, G, g, lo, hi, e, 0.7, y, nu) <= 1e-12 * sc);
        // warm start after a change of the linear term (as the proximal iterations do)
        for (int j = 0; j < N; j++)
            g[j] += 1e-3 * (test_uniform(&seed) - 0.5);
        assert_int_equal(ncvx_qp_box(N, G, g, lo, hi, e, 0.7, y, s.st, 1, &nu, s.w, s.iw), 0);
        assert_true(kkt_box(N, G, g, lo, hi, e, 0.7, y, nu) <= 1e-12 * sc);
        // strictly convex: the same objective as Goldfarb-Idnani with the bounds as rows
        for (int j = 0; j < N; j++)
            G[(size_t)j * N + j] += 1;
        assert_int_equal(ncvx_qp_box(N, G, g, lo, hi, e, 0.7, y, s.st, 0, &nu, s.w, s.iw), 0);
        double *Ci = calloc((size_t)2 * N * N, 8), *ci0 = malloc((size_t)2 * N * 8);
        for (int v = 0; v < N; v++) {
            Ci[(size_t)v * N + v] = 1;
            ci0[v] = lo[v];
            Ci[(size_t)(N + v) * N + v] = -1;
            ci0[N + v] = -hi[v];
        }
        double *wk = malloc(ncvx_qp_work_size(N, 1, 2 * N) * 8);
        int *iw = malloc(ncvx_qp_iwork_size(N, 1, 2 * N) * sizeof *iw);
        const double b = 0.7;
        double f1 = 0, f2 = 0;
        assert_int_equal(ncvx_qp_solve(N, G, g, 1, e, &b, 2 * N, Ci, ci0, y2, NULL, &f2, wk, iw),
                         0);
        for (int a = 0; a < N; a++) {
            double gy = 0;
            for (int c = 0; c < N; c++)
                gy += G[(size_t)c * N + a] * y[c];
            f1 += y[a] * (0.5 * gy + g[a]);
        }
        assert_close(f1, f2, 1e-10, 1e-12);
        free(Ci), free(ci0), free(wk), free(iw);
        ws_free(&s);
        free(A), free(G), free(g), free(lo), free(hi), free(e), free(y), free(y2);
    }
}

/* ncvx_qp_box on the structure of the stationarity QP near a kink: the samples' gradients are
 * a few distinct vectors moved by 1e-5 (near-dependent columns, N up to 150 >> rank n), which
 * drives the factor updates of the reduced Hessian through zero-curvature directions and
 * pivot changes; each answer certified by the KKT conditions to 1e-10 relative, cold and
 * warm-started. */
static void test_qp_box_clustered(void **state)
{
    (void)state;
    uint64_t seed = 11;
    for (int rep = 0; rep < 12; rep++) {
        const int n = 3 + rep % 6, k = 1 + (rep % 4) + 1, L = 10 + 5 * (rep % 5), N = k * L;
        double *B = malloc((size_t)n * (k + 3) * sizeof *B), *A = malloc((size_t)n * N * 8);
        double *G = malloc((size_t)N * N * 8), *g = malloc((size_t)N * 8);
        double *lo = malloc((size_t)N * 8), *hi = malloc((size_t)N * 8), *e = malloc((size_t)N * 8);
        double *y = malloc((size_t)N * 8), *cv = malloc((size_t)k * 8);
        for (int j = 0; j < n * (k + 3); j++)
            B[j] = 2 * test_uniform(&seed) - 1;
        for (int c = 1; c < k; c++)
            cv[c] = c % 2 ? 1e-5 * (test_uniform(&seed) - 0.5) : -test_uniform(&seed);
        for (int a = 0; a < L; a++) {
            const int piece = (int)(3 * test_uniform(&seed)) % 3;
            for (int c = 0; c < k; c++) {
                const int j = a * k + c;
                const double *src = B + (size_t)n * (c == 0 ? piece : 3 + c);
                for (int i = 0; i < n; i++)
                    A[(size_t)j * n + i] = src[i] + 1e-5 * (test_uniform(&seed) - 0.5);
                e[j] = c == 0;
                lo[j] = c == 0 ? 0 : (c % 3 == 0 ? -1 : 0);
                hi[j] = c == 0 ? 0.5 : 1;
                g[j] = c == 0 ? 0 : -cv[c];
            }
        }
        gram(N, n, A, G);
        qp_ws s = ws_new(N);
        double nu, sc = qp_scale(N, G, g);
        assert_int_equal(ncvx_qp_box(N, G, g, lo, hi, e, 0.5, y, s.st, 0, &nu, s.w, s.iw), 0);
        assert_true(kkt_box(N, G, g, lo, hi, e, 0.5, y, nu) <= 1e-10 * sc);
        for (int j = 0; j < N; j++)
            g[j] += 1e-6 * (test_uniform(&seed) - 0.5);
        assert_int_equal(ncvx_qp_box(N, G, g, lo, hi, e, 0.5, y, s.st, 1, &nu, s.w, s.iw), 0);
        assert_true(kkt_box(N, G, g, lo, hi, e, 0.5, y, nu) <= 1e-10 * sc);
        ws_free(&s);
        free(B), free(A), free(G), free(g), free(lo), free(hi), free(e), free(y), free(cv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_size_and_counts),
        cmocka_unit_test(test_set_gradients),
        cmocka_unit_test(test_set_published_solutions),
        cmocka_unit_test(test_qp_box_closed_forms),
        cmocka_unit_test(test_qp_box_random),
        cmocka_unit_test(test_qp_box_clustered),
        cmocka_unit_test(test_set_bfgssqp),
    };
    return cmocka_run_group_tests_name("solver_set", tests, NULL, NULL);
}
