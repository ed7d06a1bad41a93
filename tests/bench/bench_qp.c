// tests/bench/bench_qp.c: the steering and stationarity QPs of BFGS-SQP on random well-posed
// instances of the sizes the solver meets (n variables, mc constraints, L gradient samples):
// time per solve of ncvx_qp_box (primal active set on the semidefinite G) and of the
// Goldfarb-Idnani path with proximal-point iterations that the solver used before, each result
// certified by the KKT conditions (stationarity with the returned multiplier, bound signs,
// feasibility) and the two objectives compared.
//
// A second table runs realistic stationarity and steering QPs (gradient samples within a radius
// of 1e-4 around a point where f = max of smooth pieces and constraints are active, near a KKT
// point, in the metric of an ill-conditioned diagonal H, as bfgs-sqp builds them; fixed seed)
// at the sizes of the issue (up to 100 samples, up to 20 constraints, N = L (1 + mc) <= 400):
// time of one cold ncvx_qp_box solve, of a warm-started re-solve of a neighbouring QP (the
// linear term moved by 1e-6, as between the mu trials of the steering QP), and their ratios to
// two limits measured in the same run: forming the N x N Gram matrix A'HA (dsyrk) and one
// dense Cholesky (dpotrf) of it.
//
// usage: bench_qp [reps]      both tables (the Goldfarb-Idnani column takes minutes)
//        bench_qp -r [reps]   the realistic table only
#include "bench_util.h"
#include "ncvx.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 12345;
static double unif(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

typedef struct {
    int N, has_e;
    double *G, *g, *lo, *hi, *e, b;
} qp;

/* stationarity-like (L samples of k = 1 + mc gradients in R^n, weights of f summing to mu) or
 * steering-like (L = 0: only the mc constraint multipliers, no equality) */
static void make(qp *q, int n, int mc, int L)
{
    const int k = 1 + mc, N = L > 0 ? L * k : mc;
    q->N = N;
    q->has_e = L > 0;
    double *A = malloc((size_t)n * N * sizeof *A);
    q->G = malloc((size_t)N * N * sizeof *q->G);
    q->g = malloc((size_t)N * sizeof *q->g);
    q->lo = malloc((size_t)N * sizeof *q->lo);
    q->hi = malloc((size_t)N * sizeof *q->hi);
    q->e = malloc((size_t)N * sizeof *q->e);
    const double mu = 0.5;
    const int mi = mc / 2 + 1 > mc ? mc : mc / 2 + 1;
    for (int j = 0; j < N; j++) {
        int c = L > 0 ? j % k : j + 1; // 0 = objective gradient, 1..mi inequality, rest equality
        for (int i = 0; i < n; i++)
            A[(size_t)j * n + i] = 2 * unif() - 1 + (c == 0 ? 0.5 : 0);
        q->e[j] = c == 0 ? 1 : 0;
        q->lo[j] = c == 0 ? 0 : c <= mi ? 0 : -1;
        q->hi[j] = c == 0 ? mu : 1;
        q->g[j] = c == 0 ? 0 : -(unif() - 0.3); // -c(x): some violated, some satisfied
    }
    q->b = mu;
    for (int a = 0; a < N; a++)
        for (int bb = 0; bb < N; bb++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += A[(size_t)a * n + i] * A[(size_t)bb * n + i];
            q->G[(size_t)bb * N + a] = s;
        }
    free(A);
}

static void qp_free(qp *q)
{
    free(q->G), free(q->g), free(q->lo), free(q->hi), free(q->e);
}

void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* Realistic QP (see the head of the file). Stationarity (L >= 1): L samples of k = 1 + mc
 * gradients in R^n; f = max of np pieces whose gradients a_q make a KKT point with the active
 * constraints (sum_q w_q a_q + sum_i lam_i b_i = 0), each sample on a random piece, every
 * gradient moved by 1e-4 (the sampling radius times the curvature); c_i: the first half active
 * (|c| <= 1e-4), the other inequalities inactive (c in [-1, -0.1]); equality constraints
 * after mi = mc / 2 + 1 inequalities, active. Steering (L = 0): the mc constraint gradients
 * at the point, linear term mu K_0c - c. Gradients are scaled by H^1/2 = diag(h), h_i
 * log-uniform in [1e-3, 1]. The scaled A (n x N) goes to *Aout for the Gram limit. */
static void make_real(qp *q, int n, int mc, int L, double **Aout)
{
    const int k = 1 + mc, N = L > 0 ? L * k : mc, mi = mc / 2 + 1 > mc ? mc : mc / 2 + 1;
    const int np = n < 3 ? n : 3;
    const double r = 1e-4, mu = 0.5;
    q->N = N;
    q->has_e = L > 0;
    q->G = malloc((size_t)N * N * sizeof *q->G);
    q->g = malloc((size_t)N * sizeof *q->g);
    q->lo = malloc((size_t)N * sizeof *q->lo);
    q->hi = malloc((size_t)N * sizeof *q->hi);
    q->e = malloc((size_t)N * sizeof *q->e);
    double *b = malloc((size_t)n * (mc + np) * sizeof *b), *h = malloc((size_t)n * sizeof *h);
    double *c = malloc((size_t)mc * sizeof *c), *A = malloc((size_t)n * N * sizeof *A);
    double *a = b + (size_t)n * mc;
    for (int i = 0; i < n; i++)
        h[i] = pow(10, -3 * unif());
    for (int j = 0; j < n * mc; j++)
        b[j] = gauss();
    for (int i = 0; i < mc; i++)
        c[i] = i < mi / 2 + 1 || i >= mi ? r * (2 * unif() - 1) : -(0.1 + 0.9 * unif());
    // a_q = -sum over active lam_i b_i + v_q with sum_q v_q = 0 (equal weights w_q)
    for (int i = 0; i < n; i++) {
        double base = 0, vs = 0;
        for (int ci = 0; ci < mc; ci++)
            if (c[ci] > -0.05) base -= 0.3 * (1 + unif()) * b[(size_t)ci * n + i];
        for (int pq = 0; pq < np; pq++) {
            double v = pq < np - 1 ? gauss() : -vs;
            vs += v;
            a[(size_t)pq * n + i] = base + v;
        }
    }
    const int S = L > 0 ? L : 1;
    for (int s = 0; s < S; s++) {
        const int pq = (int)(unif() * np) % np;
        for (int cc = 0; cc < (L > 0 ? k : mc); cc++) {
            const int v = L > 0 ? s * k + cc : cc, con = L > 0 ? cc - 1 : cc; // con < 0: f
            const double *src = con < 0 ? a + (size_t)pq * n : b + (size_t)con * n;
            for (int i = 0; i < n; i++)
                A[(size_t)v * n + i] = h[i] * (src[i] + r * gauss());
            const double cv = con < 0 ? 0 : c[con] + r * r * gauss();
            q->e[v] = con < 0 ? 1 : 0;
            q->lo[v] = con < 0 ? 0 : con < mi ? 0 : -1;
            q->hi[v] = con < 0 ? mu : 1;
            q->g[v] = -cv;
        }
    }
    q->b = mu;
    if (L == 0) { // steering: linear term mu K_0c - c with the f gradient of piece 0
        for (int v = 0; v < N; v++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += h[i] * a[i] * A[(size_t)v * n + i];
            q->g[v] += mu * s;
        }
    }
    for (int x = 0; x < N; x++)
        for (int y = 0; y < N; y++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += A[(size_t)x * n + i] * A[(size_t)y * n + i];
            q->G[(size_t)y * N + x] = s;
        }
    free(b), free(h), free(c);
    *Aout = A;
}

static double objective(const qp *q, const double *y)
{
    double f = 0;
    for (int a = 0; a < q->N; a++) {
        double gy = 0;
        for (int bb = 0; bb < q->N; bb++)
            gy += q->G[(size_t)bb * q->N + a] * y[bb];
        f += y[a] * (0.5 * gy + q->g[a]);
    }
    return f;
}

/* largest KKT violation (scaled): r = Gy + g - nu e; |r_j| on free variables, the wrong sign
 * at a bound, bound and equality violation */
static double kkt(const qp *q, const double *y, double nu)
{
    const int N = q->N;
    double err = 0, sc = 1, es = 0;
    for (int a = 0; a < N; a++) {
        double r = q->g[a] - (q->has_e ? nu * q->e[a] : 0);
        for (int bb = 0; bb < N; bb++)
            r += q->G[(size_t)bb * N + a] * y[bb];
        sc = fmax(sc, fabs(q->g[a]) + fabs(q->G[(size_t)a * N + a]));
        const double tol = 1e-9 * (q->hi[a] - q->lo[a]);
        if (y[a] < q->lo[a] - tol || y[a] > q->hi[a] + tol) err = fmax(err, 1);
        if (y[a] > q->lo[a] + tol && y[a] < q->hi[a] - tol)
            err = fmax(err, fabs(r));
        else if (y[a] <= q->lo[a] + tol)
            err = fmax(err, -r);
        else
            err = fmax(err, r);
        es += q->has_e ? q->e[a] * y[a] : 0;
    }
    if (q->has_e) err = fmax(err, fabs(es - q->b));
    return err / sc;
}

/* the previous path: Goldfarb-Idnani on G + delta I with proximal-point iterations (as
 * bfgssqp.c's qp_robust), bounds as 2N inequality rows */
/* A proximal-point iteration has settled when y moved by at most 1e-13 of its size; yp <- y. */
static int prox_settled(int N, const double *y, double *yp)
{
    double dy = 0, ym = 1;
    for (int i = 0; i < N; i++) {
        dy = fmax(dy, fabs(y[i] - yp[i]));
        ym = fmax(ym, fabs(y[i]));
        yp[i] = y[i];
    }
    return dy <= 1e-13 * ym;
}

static int solve_gi(const qp *q, double *y, double *Ci, double *ci0, double *Rinv, double *Gs,
                    double *gs, double *yp, double *work, int *iwork)
{
    const int N = q->N;
    memset(Ci, 0, (size_t)2 * N * N * sizeof *Ci);
    for (int v = 0; v < N; v++) {
        Ci[(size_t)v * N + v] = 1;
        ci0[v] = q->lo[v];
        Ci[(size_t)(N + v) * N + v] = -1;
        ci0[N + v] = -q->hi[v];
    }
    memcpy(Gs, q->G, (size_t)N * N * sizeof *Gs);
    double ridge = 0, dmax = 0;
    if (ncvx_qp_factor(N, Gs, Rinv, &ridge) != 0) return 2;
    const int me = q->has_e;
    const double b = q->b;
    if (ridge == 0)
        return ncvx_qp_solve_factored(N, Rinv, q->g, me, q->e, &b, 2 * N, Ci, ci0, y, NULL, NULL,
                                      work, iwork);
    for (int i = 0; i < N; i++)
        dmax = fmax(dmax, Gs[(size_t)i * N + i]);
    const double delta = 1e-7 * (dmax > 0 ? dmax : 1);
    for (int i = 0; i < N; i++)
        Gs[(size_t)i * N + i] += delta;
    if (ncvx_qp_factor(N, Gs, Rinv, &ridge) != 0) return 2;
    memset(yp, 0, (size_t)N * sizeof *yp);
    int rc = 2;
    for (int it = 0; it < 50; it++) {
        for (int i = 0; i < N; i++)
            gs[i] = q->g[i] - delta * yp[i];
        rc = ncvx_qp_solve_factored(N, Rinv, gs, me, q->e, &b, 2 * N, Ci, ci0, y, NULL, NULL, work,
                                    iwork);
        if (rc != 0) return rc;
        if (prox_settled(N, y, yp)) break;
    }
    return rc;
}

/* the path the solver takes (bfgssqp.c qp_robust): the same proximal-point iterations on
 * G + delta I, each subproblem by ncvx_qp_box warm-started from the previous one */
static int solve_box_prox(const qp *q, double *y, double *Gs, double *gs, double *yp, int *status,
                          double *work, int *iwork)
{
    const int N = q->N;
    memcpy(Gs, q->G, (size_t)N * N * sizeof *Gs);
    double dmax = 0;
    for (int i = 0; i < N; i++)
        dmax = fmax(dmax, Gs[(size_t)i * N + i]);
    const double delta = 1e-7 * (dmax > 0 ? dmax : 1);
    for (int i = 0; i < N; i++)
        Gs[(size_t)i * N + i] += delta;
    memset(yp, 0, (size_t)N * sizeof *yp);
    int rc = 2;
    for (int it = 0; it < 50; it++) {
        for (int i = 0; i < N; i++)
            gs[i] = q->g[i] - delta * yp[i];
        rc = ncvx_qp_box(N, Gs, gs, q->lo, q->hi, q->has_e ? q->e : NULL, q->b, y, status, it > 0,
                         NULL, work, iwork);
        if (rc != 0) return rc;
        if (prox_settled(N, y, yp)) break;
    }
    return rc;
}

/* the realistic table; returns the number of solves without a KKT certificate */
static int real_table(int reps)
{
    // (n, mc, L): steering (L = 0) and stationarity QPs; default samples min(100, 2n, n + 10)
    // capped by 400 / (1 + mc)
    const int cases[][3] = {{5, 13, 0},  {5, 20, 0},   {100, 20, 0},  {5, 13, 10},   {5, 16, 10},
                            {5, 20, 10}, {20, 20, 19}, {100, 3, 100}, {100, 20, 19}, {50, 1, 100}};
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    printf("\nrealistic QPs (samples within 1e-4 of a nonsmooth near-KKT point, diagonal H)\n");
    printf("%5s %4s %4s %5s | %9s %9s | %9s %9s | %7s %7s %7s | %5s %8s\n", "n", "mc", "L", "N",
           "cold [ms]", "warm [ms]", "gram [ms]", "chol [ms]", "cold/gr", "cold/ch", "warm/gr",
           "free", "kkt");
    int bad = 0;
    rng = 4242;
    for (int ci = 0; ci < nc; ci++) {
        const int n = cases[ci][0], mc = cases[ci][1], L = cases[ci][2];
        double tc[64], tw[64], tgr[64], tch[64], kk = 0;
        int N = 0, r = reps < 64 ? reps : 64, nfree = 0;
        for (int rep = 0; rep < r; rep++) {
            qp q;
            double *A = NULL;
            make_real(&q, n, mc, L, &A);
            N = q.N;
            double *y = calloc((size_t)N, sizeof *y), *C = malloc((size_t)N * N * sizeof *C);
            double *work = malloc(ncvx_qp_box_work_size(N) * sizeof *work);
            int *iwork = malloc(ncvx_qp_box_iwork_size(N) * sizeof *iwork);
            int *status = malloc((size_t)N * sizeof *status);
            double nu = 0, one = 1, zero = 0;
            // limits: the Gram matrix A'A (dsyrk, upper) and its Cholesky (+ I: G is singular)
            double t0 = bench_now();
            dsyrk_("U", "T", &N, &n, &one, A, &n, &zero, C, &N);
            tgr[rep] = bench_now() - t0;
            for (int i = 0; i < N; i++)
                C[(size_t)i * N + i] += 1;
            int info = 0;
            t0 = bench_now();
            dpotrf_("U", &N, C, &N, &info);
            tch[rep] = bench_now() - t0;
            t0 = bench_now();
            int rc = ncvx_qp_box(N, q.G, q.g, q.lo, q.hi, q.has_e ? q.e : NULL, q.b, y, status, 0,
                                 &nu, work, iwork);
            tc[rep] = bench_now() - t0;
            if (rc != 0) bad++;
            kk = fmax(kk, kkt(&q, y, nu));
            nfree = 0;
            for (int j = 0; j < N; j++)
                nfree += y[j] > q.lo[j] && y[j] < q.hi[j];
            // the neighbouring QP, warm-started from this solution
            for (int j = 0; j < N; j++)
                q.g[j] += 1e-6 * (2 * unif() - 1) * (1 + fabs(q.g[j]));
            t0 = bench_now();
            rc = ncvx_qp_box(N, q.G, q.g, q.lo, q.hi, q.has_e ? q.e : NULL, q.b, y, status, 1, &nu,
                             work, iwork);
            tw[rep] = bench_now() - t0;
            if (rc != 0) bad++;
            kk = fmax(kk, kkt(&q, y, nu));
            free(y), free(C), free(work), free(iwork), free(status), free(A);
            qp_free(&q);
        }
        const double c = bench_median(tc, r), w = bench_median(tw, r);
        const double gr = bench_median(tgr, r), ch = bench_median(tch, r);
        printf("%5d %4d %4d %5d | %9.4f %9.4f | %9.4f %9.4f | %7.1f %7.1f %7.1f | %5d %8.1e\n", n,
               mc, L, N, 1e3 * c, 1e3 * w, 1e3 * gr, 1e3 * ch, c / gr, c / ch, w / gr, nfree, kk);
        if (kk > 1e-10) bad++;
        fflush(stdout);
    }
    if (bad) printf("FAILED: %d realistic QP solves without a KKT certificate (1e-10)\n", bad);
    return bad;
}

int main(int argc, char **argv)
{
    int real_only = argc > 1 && strcmp(argv[1], "-r") == 0;
    if (real_only) argc--, argv++;
    const int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (real_only) return real_table(reps) ? 1 : 0;
    // (n, mc, L): steering QPs (L = 0) and stationarity QPs up to L (1 + mc) <= 400
    const int cases[][3] = {{5, 13, 0},  {5, 20, 0},  {50, 20, 0},  {5, 13, 1},   {5, 16, 10},
                            {5, 20, 19}, {10, 3, 20}, {20, 1, 100}, {100, 3, 100}};
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    printf("%5s %4s %4s %5s | %10s %13s %12s | %9s %9s | %12s\n", "n", "mc", "L", "N", "box [ms]",
           "box+prox [ms]", "GI+prox [ms]", "kkt box", "kkt GI", "f_box - f_GI");
    int bad = 0;
    for (int ci = 0; ci < nc; ci++) {
        const int n = cases[ci][0], mc = cases[ci][1], L = cases[ci][2];
        double tb[64], tp[64], tg[64], kb = 0, kg = 0, df = -INFINITY;
        int N = 0, r = reps < 64 ? reps : 64;
        for (int rep = 0; rep < r; rep++) {
            qp q;
            make(&q, n, mc, L);
            N = q.N;
            double *y = calloc((size_t)N, sizeof *y), *y2 = calloc((size_t)N, sizeof *y2);
            double *work = malloc(ncvx_qp_box_work_size(N) * sizeof *work);
            int *iwork = malloc(ncvx_qp_box_iwork_size(N) * sizeof *iwork);
            int *status = malloc((size_t)N * sizeof *status);
            double nu = 0;
            double t0 = bench_now();
            int rc = ncvx_qp_box(N, q.G, q.g, q.lo, q.hi, q.has_e ? q.e : NULL, q.b, y, status, 0,
                                 &nu, work, iwork);
            tb[rep] = bench_now() - t0;
            if (rc != 0) bad++;
            kb = fmax(kb, kkt(&q, y, nu));
            // the solver's path: proximal iterations, ncvx_qp_box warm-started
            {
                double *y3 = malloc((size_t)N * 8), *Gs = malloc((size_t)N * N * 8);
                double *gs = malloc((size_t)N * 8), *yp = malloc((size_t)N * 8);
                t0 = bench_now();
                if (solve_box_prox(&q, y3, Gs, gs, yp, status, work, iwork) != 0) bad++;
                tp[rep] = bench_now() - t0;
                free(y3), free(Gs), free(gs), free(yp);
            }
            // previous path
            double *Ci = malloc((size_t)2 * N * N * sizeof *Ci), *ci0 = malloc(2 * (size_t)N * 8);
            double *Rinv = malloc((size_t)N * N * 8), *Gs = malloc((size_t)N * N * 8);
            double *gs = malloc((size_t)N * 8), *yp = malloc((size_t)N * 8);
            double *w2 = malloc(ncvx_qp_work_size(N, 1, 2 * N) * 8);
            int *iw2 = malloc(ncvx_qp_iwork_size(N, 1, 2 * N) * sizeof *iw2);
            t0 = bench_now();
            int rc2 = solve_gi(&q, y2, Ci, ci0, Rinv, Gs, gs, yp, w2, iw2);
            tg[rep] = bench_now() - t0;
            if (rc2 == 0) {
                // the GI answer has no multiplier: take the best nu for its KKT residual
                // from the free variables (least squares)
                double num = 0, den = 0;
                for (int a = 0; a < N; a++) {
                    if (!q.has_e || y2[a] <= q.lo[a] + 1e-9 || y2[a] >= q.hi[a] - 1e-9) continue;
                    double rr = q.g[a];
                    for (int bb = 0; bb < N; bb++)
                        rr += q.G[(size_t)bb * N + a] * y2[bb];
                    num += rr * q.e[a];
                    den += q.e[a] * q.e[a];
                }
                kg = fmax(kg, kkt(&q, y2, den > 0 ? num / den : 0));
                df = fmax(df, objective(&q, y) - objective(&q, y2));
            }
            free(Ci), free(ci0), free(Rinv), free(Gs), free(gs), free(yp), free(w2), free(iw2);
            free(y), free(y2), free(work), free(iwork), free(status);
            qp_free(&q);
        }
        printf("%5d %4d %4d %5d | %10.4f %13.4f %12.3f | %9.1e %9.1e | %12.2e\n", n, mc, L, N,
               1e3 * bench_median(tb, r), 1e3 * bench_median(tp, r), 1e3 * bench_median(tg, r), kb,
               kg, df);
        if (kb > 1e-8) bad++;
        fflush(stdout);
    }
    if (bad) printf("FAILED: %d box QP solves without a KKT certificate (1e-8)\n", bad);
    bad += real_table(reps);
    return bad ? 1 : 0;
}
