// tests/bench/bench_solver.c: BFGS-SQP overhead per iteration (time outside the callback) with
// limited memory m = 20 and one constraint, against the floor of the same L-BFGS vector
// operations done with BLAS in the same run, and the solver's memory.
//
// Problem: f = 0.5 sum a_i (x_i - b_i)^2 (a_i in [1, 100]), c(x) = mean(x) - 0.3 <= 0: a cheap
// separable callback, so almost all time outside it is the solver's.
// Floor per iteration: the two-loop recursion with m pairs on the k = 2 gradients (grad f and
// grad c; cblas_ddot/daxpy) plus 6 length-n vector operations (trial point, s, y, norms).
// The last full case, n = 7e6, runs with the default lm_single (-1, auto: single pairs there,
// as 16 m n bytes exceed lm_mem_max); "single" shows -1 for it.
// Usage: bench_solver [--quick] [--csv] [--n N]   (median of 5 runs per case; --n N runs only
// that case of the full list)
//        bench_solver --lbfgs [--csv] [--n N] [--m M]: the L-BFGS engine's direction H g alone
// (compact representation and two-loop recursion) at n = 665,000 and 6,600,000 (or N), m = 10
// (or M), with double and with float pairs, against the traffic floor measured in the same
// run: the bytes that must be read (every pair once, 16 m n or 8 m n, plus g) over the memory
// bandwidth of a read-only stream (a dot product over two arrays of 2 x 256 MB, like the pair
// passes) and of a STREAM triad; then whole engine iterations (direction, line search, pair)
// on a separable quadratic without the callback's time, beside the traffic model of an
// iteration (two reads of the pairs, the new pair, 11 vectors of n doubles per trial).
//        bench_solver --mma [--csv] [--n N]: MMA's time per iteration outside the callback (the
// approximation and its subproblem) at n = 65,536 and 262,144 (the pixel designs of 256 x 256
// and 512 x 512; or N) with the box [0, 1] and the volume-like constraint mean(x) <= 0.3, then
// also a weighted mean <= 0.35 (m = 2), against the traffic floor of an iteration measured in
// the same run: 11 + m vectors of n doubles (x, the two previous iterates, the asymptotes, the
// gradient and the constraint rows read; the asymptotes, x and the history written) at the
// bandwidth of a STREAM triad.
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench_util.h"
#include "classic.h" // white-box: the L-BFGS engine
#include "ncvx.h"

#define RUNS 5

typedef struct {
    int n;
    double *a, *b;
    double rss0, rss_max; ///< MB before create, max seen by the monitor
} bench;

static double rss_mb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / 1e6;
}

/* A deterministic scatter of i over [0, 1] (1000 levels): the curvatures and weights. */
static double spread(int i)
{
    return (double)((i * 7919L) % 1000) / 999.0;
}

/* B = {n, a_i = 1 + 99 spread(i), b_i = 0.5 + 0.4 sin(0.001 i)}; 0, or 1 without memory. */
static int bench_init(bench *B, int n)
{
    *B = (bench){n, malloc((size_t)n * sizeof(double)), malloc((size_t)n * sizeof(double)), 0, 0};
    if (!B->a || !B->b) return 1;
    for (int i = 0; i < n; i++) {
        B->a[i] = 1 + 99.0 * spread(i);
        B->b[i] = 0.5 + 0.4 * sin(0.001 * i);
    }
    return 0;
}

static int eval(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                double *Je, void *user)
{
    (void)ce, (void)Je;
    const bench *B = user;
    const int n = B->n;
    double s = 0, m = 0;
    for (int i = 0; i < n; i++) {
        double r = x[i] - B->b[i];
        s += B->a[i] * r * r;
        m += x[i];
        if (g) {
            g[i] = B->a[i] * r;
            Ji[i] = 1.0 / n;
        }
    }
    *f = 0.5 * s;
    ci[0] = m / n - 0.3;
    return 0;
}

static int monitor(const ncvx_iterate *it, void *user)
{
    (void)it;
    bench *B = user;
    double r = rss_mb();
    if (r > B->rss_max) B->rss_max = r;
    return 0;
}

/* the floor: two-loop recursion on 2 vectors with m pairs + 6 vector operations */
static double floor_time(int n, int m)
{
    double *S = malloc((size_t)n * m * sizeof *S), *Y = malloc((size_t)n * m * sizeof *Y);
    double *q = malloc(2 * (size_t)n * sizeof *q), *x = malloc((size_t)n * sizeof *x);
    double *d = malloc((size_t)n * sizeof *d);
    if (!S || !Y || !q || !x || !d) {
        fprintf(stderr, "bench_solver: out of memory for the floor at n = %d\n", n);
        exit(1);
    }
    for (size_t i = 0; i < (size_t)n * m; i++) {
        S[i] = 1e-3 * (double)(i % 97);
        Y[i] = 2e-3 * (double)(i % 89) + 1e-3;
    }
    for (size_t i = 0; i < 2 * (size_t)n; i++)
        q[i] = 1e-3 * (double)(i % 13);
    for (int i = 0; i < n; i++)
        x[i] = d[i] = 1e-3;
    double t[RUNS], alpha[64], rho[64];
    for (int j = 0; j < m; j++)
        rho[j] = 1.0 / cblas_ddot(n, S + (size_t)j * n, 1, Y + (size_t)j * n, 1);
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now();
        for (int v = 0; v < 2; v++) {
            double *qv = q + (size_t)v * n;
            for (int j = m - 1; j >= 0; j--) {
                alpha[j] = rho[j] * cblas_ddot(n, S + (size_t)j * n, 1, qv, 1);
                cblas_daxpy(n, -alpha[j], Y + (size_t)j * n, 1, qv, 1);
            }
            cblas_dscal(n, 0.5, qv, 1);
            for (int j = 0; j < m; j++) {
                double beta = rho[j] * cblas_ddot(n, Y + (size_t)j * n, 1, qv, 1);
                cblas_daxpy(n, alpha[j] - beta, S + (size_t)j * n, 1, qv, 1);
            }
        }
        cblas_daxpy(n, 1.0, d, 1, x, 1);      // trial point
        cblas_daxpy(n, -1.0, d, 1, x, 1);     // s
        cblas_daxpy(n, -1.0, q, 1, q + n, 1); // y
        volatile double acc =
            cblas_ddot(n, x, 1, d, 1) + cblas_ddot(n, d, 1, d, 1) + cblas_ddot(n, q, 1, q, 1);
        (void)acc;
        t[r] = bench_now() - t0;
    }
    free(S);
    free(Y);
    free(q);
    free(x);
    free(d);
    return bench_median(t, RUNS);
}

/* CPU seconds of this thread: the --lbfgs figures are not inflated by time slices lost to other
 * processes on a shared machine (memory contention still shows) */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Memory bandwidth in bytes/s, median of RUNS: dot (reads 2 arrays) and triad a = b + s c
 * (reads 2, writes 1, and the write allocates: 4 arrays of traffic), arrays of 256 MB. */
static void bandwidth(double *bw_dot, double *bw_triad)
{
    const size_t len = (size_t)32 << 20;
    double *a = malloc(len * sizeof *a), *b = malloc(len * sizeof *b), *c = malloc(len * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_solver: out of memory for the bandwidth arrays\n");
        exit(1);
    }
    for (size_t i = 0; i < len; i++)
        a[i] = 0, b[i] = 1e-3 * (double)(i % 7), c[i] = 1e-3 * (double)(i % 11);
    double td[RUNS], tt[RUNS];
    volatile double sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_now();
        sink += cblas_ddot((int)len, b, 1, c, 1);
        td[r] = cpu_now() - t0;
        t0 = cpu_now();
        for (size_t i = 0; i < len; i++)
            a[i] = b[i] + 0.5 * c[i];
        tt[r] = cpu_now() - t0;
        sink += a[len / 2];
    }
    (void)sink;
    *bw_dot = 2.0 * 8.0 * (double)len / bench_median(td, RUNS);
    *bw_triad = 4.0 * 8.0 * (double)len / bench_median(tt, RUNS);
    free(a);
    free(b);
    free(c);
}

/* f = 0.5 sum a_i x_i^2 for the engine's iteration: the callback's own time is kept apart */
typedef struct {
    int n;
    const double *a;
    double t;
} quad_ctx;

static int quad_fg(void *ctx, const double *x, double *f, double *g, double *aux)
{
    quad_ctx *q = ctx;
    const double t0 = cpu_now();
    double s = 0;
    for (int i = 0; i < q->n; i++) {
        g[i] = q->a[i] * x[i];
        s += g[i] * x[i];
    }
    *f = 0.5 * s;
    aux[0] = *f;
    q->t += cpu_now() - t0;
    return 0;
}

static int bench_lbfgs(int csv, int only, int m)
{
    double bwd, bwt;
    bandwidth(&bwd, &bwt);
    const int ns[] = {665000, 6600000};
    if (csv)
        printf("n,m,pairs,bw_dot_gbs,bw_triad_gbs,floor_ms,compact_ms,twoloop_ms,compact_ratio,"
               "twoloop_ratio,iter_ms,iter_model_ms,iter_ratio\n");
    else
        printf("bandwidth: dot %.2f GB/s, triad %.2f GB/s (one thread, 256 MB arrays)\n"
               "%9s %3s %6s %9s %11s %11s %14s %14s %9s %10s %11s\n",
               1e-9 * bwd, 1e-9 * bwt, "n", "m", "pairs", "floor ms", "compact ms", "two-loop ms",
               "compact/floor", "two-loop/floor", "iter ms", "model ms", "iter/floor");
    for (int c = 0; c < 2 || (only > 0 && c < 1); c++) {
        const int n = only > 0 ? only : ns[c];
        for (int single = 0; single < 2; single++) {
            ncvx_lbfgs e;
            if (ncvx_lbfgs_alloc(&e, n, m, 1, single)) {
                fprintf(stderr, "bench_solver: out of memory for the pairs at n = %d\n", n);
                return 1;
            }
            double *g = malloc((size_t)n * sizeof *g), *d = malloc((size_t)n * sizeof *d);
            double *S = malloc((size_t)n * sizeof *S), *Y = malloc((size_t)n * sizeof *Y);
            if (!g || !d || !S || !Y) return 1;
            for (int k = 0; k < m + 3; k++) { /* wrap the ring; y = diag(a) s, a in [1, 100] */
                for (int i = 0; i < n; i++) {
                    S[i] = 1e-3 * sin(0.001 * i + k);
                    Y[i] = (1 + 99.0 * spread(i)) * S[i];
                }
                ncvx_lbfgs_push(&e, S, Y);
                ncvx_lbfgs_apply(&e, Y, d); /* as in a run: one direction per new pair */
            }
            for (int i = 0; i < n; i++)
                g[i] = cos(0.002 * i);
            double tc[RUNS], tl[RUNS];
            for (int r = 0; r < RUNS; r++) {
                /* a run stores one pair per direction: the newest column of S'Y, Y'Y is
                 * computed in the same pass */
                e.stale[e.ord[e.count - 1]] = 1;
                double t0 = cpu_now();
                ncvx_lbfgs_apply(&e, g, d);
                tc[r] = cpu_now() - t0;
                tl[r] = NAN;
                if (!single) { /* the reference, double pairs only (BLAS) */
                    t0 = cpu_now();
                    ncvx_lbfgs_apply_twoloop(&e, g, d);
                    tl[r] = cpu_now() - t0;
                }
            }
            /* whole iterations of the engine (direction, one trial of the line search, the
             * pair) on f = 0.5 sum a_i x_i^2, curvatures a_i in [1, 100], the callback's time
             * taken out; traffic model: two reads of the pairs, the new pair written, and 11
             * vectors of n doubles (g twice, x, d, trial x, trial g and d, x, x_old, g, g_old) */
            double *a = S;
            for (int i = 0; i < n; i++)
                a[i] = 1 + 99.0 * spread(i);
            quad_ctx q = {.n = n, .a = a};
            e.c1 = 1e-4;
            e.c2 = 0.9;
            e.ls_maxit = 20;
            ncvx_lbfgs_reset(&e);
            for (int i = 0; i < n; i++)
                e.cur.x[i] = sin(0.003 * i);
            quad_fg(&q, e.cur.x, &e.cur.f, e.cur.g, e.cur.aux);
            for (int k = 0; k < m + 2; k++) /* fill the memory */
                ncvx_lbfgs_step(&e, quad_fg, &q);
            const int iters = 8;
            long evals = 0;
            q.t = 0;
            double t0 = cpu_now();
            for (int k = 0; k < iters; k++) {
                ncvx_lbfgs_step(&e, quad_fg, &q);
                evals += e.ls_evals;
            }
            const double it_s = (cpu_now() - t0 - q.t) / iters;
            const double el = single ? 4.0 : 8.0;
            const double floor_s = (2 * el * m * n + 8.0 * n) / bwd;
            const double model_s =
                (4 * el * m * n + 2 * el * n + 8.0 * 11 * n * (double)evals / iters) / bwd;
            const double c_ms = 1e3 * bench_median(tc, RUNS), l_ms = 1e3 * bench_median(tl, RUNS);
            const char *pr = single ? "float" : "double";
            if (csv)
                printf("%d,%d,%s,%.3f,%.3f,%.4f,%.4f,%.4f,%.2f,%.2f,%.4f,%.4f,%.2f\n", n, m, pr,
                       1e-9 * bwd, 1e-9 * bwt, 1e3 * floor_s, c_ms, l_ms, c_ms / (1e3 * floor_s),
                       l_ms / (1e3 * floor_s), 1e3 * it_s, 1e3 * model_s, it_s / floor_s);
            else
                printf("%9d %3d %6s %9.3f %11.3f %11.3f %14.2f %14.2f %9.3f %10.3f %11.2f\n", n, m,
                       pr, 1e3 * floor_s, c_ms, l_ms, c_ms / (1e3 * floor_s),
                       l_ms / (1e3 * floor_s), 1e3 * it_s, 1e3 * model_s, it_s / floor_s);
            fflush(stdout);
            free(g);
            free(d);
            free(S);
            free(Y);
            ncvx_lbfgs_free(&e);
        }
    }
    return 0;
}

/* eval() with a second constraint: a weighted mean, sum w_i x_i / n - 0.35 <= 0, w in [0.5, 1.5] */
static int eval2(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                 double *Je, void *user)
{
    const bench *B = user;
    const int n = B->n;
    if (eval(x, f, g, ci, Ji, ce, Je, user)) return 1;
    double s = 0;
    for (int i = 0; i < n; i++) {
        const double w = 0.5 + spread(i);
        s += w * x[i];
        if (g) Ji[(size_t)n + (size_t)i] = w / n;
    }
    ci[1] = s / n - 0.35;
    return 0;
}

/* MMA on the separable problem of eval() (or eval2()) with the box [0, 1]: time outside the
 * callback */
static int bench_mma(int csv, int only)
{
    double bwd, bwt;
    bandwidth(&bwd, &bwt);
    const int ns[] = {65536, 262144}, iters = 30;
    if (csv)
        printf("n,constraints,iters,bw_triad_gbs,floor_ms,iter_ms,ratio,eval_ms\n");
    else
        printf("bandwidth: triad %.2f GB/s (one thread, 256 MB arrays)\n%9s %3s %5s %9s %9s %9s "
               "%9s\n",
               1e-9 * bwt, "n", "m", "iters", "floor ms", "iter ms", "ratio", "eval ms");
    for (int c = 0; c < 4 && !(only > 0 && c > 1); c++) {
        const int n = only > 0 ? only : ns[c / 2], mc = 1 + c % 2;
        bench B;
        double *x = malloc((size_t)n * sizeof *x), *lo = malloc((size_t)n * sizeof *lo);
        double *hi = malloc((size_t)n * sizeof *hi);
        if (bench_init(&B, n) || !x || !lo || !hi) return 1;
        for (int i = 0; i < n; i++)
            lo[i] = 0, hi[i] = 1;
        ncvx_problem p = {n, mc, 0, mc == 1 ? eval : eval2, NULL, NULL, NULL, NULL, &B};
        p.lower = lo;
        p.upper = hi;
        ncvx_settings s;
        ncvx_settings_default(&s);
        s.method = NCVX_MMA;
        s.print_level = 0;
        s.maxit = iters;
        s.opt_tol = 0;
        double it[RUNS], ev[RUNS];
        for (int r = 0; r < RUNS; r++) {
            for (int i = 0; i < n; i++)
                x[i] = 0.3;
            ncvx_solver *sv = NULL;
            ncvx_info info;
            if (ncvx_create(&sv, &p, &s) != NCVX_OK || ncvx_solve(sv, x, &info) != NCVX_OK)
                return 1;
            ncvx_destroy(sv);
            it[r] = 1e3 * (info.solve_time - info.eval_time) / info.iters;
            ev[r] = 1e3 * info.eval_time / info.iters;
        }
        const double floor_ms = 1e3 * (11 + mc) * 8.0 * n / bwt;
        const double im = bench_median(it, RUNS), em = bench_median(ev, RUNS);
        if (csv)
            printf("%d,%d,%d,%.3f,%.4f,%.4f,%.1f,%.4f\n", n, mc, iters, 1e-9 * bwt, floor_ms, im,
                   im / floor_ms, em);
        else
            printf("%9d %3d %5d %9.4f %9.3f %9.1f %9.3f\n", n, mc, iters, floor_ms, im,
                   im / floor_ms, em);
        fflush(stdout);
        free(B.a);
        free(B.b);
        free(x);
        free(lo);
        free(hi);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, csv = 0, only = 0, lbfgs = 0, mma = 0, lm = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (strcmp(argv[i], "--lbfgs") == 0)
            lbfgs = 1;
        else if (strcmp(argv[i], "--mma") == 0)
            mma = 1;
        else if (strcmp(argv[i], "--m") == 0 && i + 1 < argc)
            lm = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--quick] [--csv] [--n N] | --lbfgs [--csv] [--n N] [--m M] | "
                    "--mma [--csv] [--n N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (lbfgs) return bench_lbfgs(csv, only, lm > 0 ? lm : 10);
    if (mma) return bench_mma(csv, only);
    const int m = 20;
    struct {
        int n, single;
    } cases_full[] = {{10000, 0}, {1000000, 0}, {1000000, 1}, {7000000, -1}},
      cases_quick[] = {{10000, 0}, {100000, 0}, {100000, 1}};
    int ncase = quick ? 3 : 4;
    const int maxit = quick ? 25 : 25;
    if (csv)
        printf("n,m,lm_single,iters,overhead_ms_per_iter,floor_ms_per_iter,ratio,"
               "eval_ms_per_iter,solver_mb,peak_rss_mb\n");
    else
        printf("%9s %3s %6s %5s %14s %11s %7s %10s %10s %10s\n", "n", "m", "single", "iters",
               "overhead ms/it", "floor ms/it", "ratio", "eval ms/it", "solver MB", "peak MB");
    for (int c = 0; c < ncase; c++) {
        const int n = quick ? cases_quick[c].n : cases_full[c].n;
        const int single = quick ? cases_quick[c].single : cases_full[c].single;
        if (only > 0 && (quick || n != only)) continue;
        bench B;
        double *x = malloc((size_t)n * sizeof *x);
        if (bench_init(&B, n) || !x) return 1;
        ncvx_problem p = {n, 1, 0, eval, monitor, NULL, NULL, NULL, &B};
        ncvx_settings s;
        ncvx_settings_default(&s);
        s.print_level = 0;
        s.limited_mem_size = m;
        if (single >= 0) s.lm_single = single; // else the default (auto)
        s.maxit = maxit;
        s.opt_tol = 0;
        double ov[RUNS], ev[RUNS], mem[RUNS];
        int iters = 0;
        for (int r = 0; r < RUNS; r++) {
            for (int i = 0; i < n; i++)
                x[i] = 0;
            B.rss0 = rss_mb();
            B.rss_max = B.rss0;
            ncvx_solver *sv = NULL;
            ncvx_info info;
            if (ncvx_create(&sv, &p, &s) != NCVX_OK || ncvx_solve(sv, x, &info) != NCVX_OK)
                return 1;
            ncvx_destroy(sv);
            iters = info.iters;
            ov[r] = 1e3 * (info.solve_time - info.eval_time) / info.iters;
            ev[r] = 1e3 * info.eval_time / info.iters;
            mem[r] = B.rss_max - B.rss0;
        }
        double fl = 1e3 * floor_time(n, m);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double peak = (double)ru.ru_maxrss / 1e3;
        double o = bench_median(ov, RUNS), e = bench_median(ev, RUNS), mb = bench_median(mem, RUNS);
        if (csv)
            printf("%d,%d,%d,%d,%.4f,%.4f,%.2f,%.4f,%.1f,%.1f\n", n, m, single, iters, o, fl,
                   o / fl, e, mb, peak);
        else
            printf("%9d %3d %6d %5d %14.4f %11.4f %7.2f %10.4f %10.1f %10.1f\n", n, m, single,
                   iters, o, fl, o / fl, e, mb, peak);
        fflush(stdout);
        free(B.a);
        free(B.b);
        free(x);
    }
    return 0;
}
