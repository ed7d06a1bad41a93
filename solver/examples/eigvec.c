// solver/examples/eigvec.c: the leading eigenvector of a symmetric matrix as the
// equality-constrained problem  minimize -x'Ax  subject to  x'x = 1.
//
// A = Q diag(1, 2, ..., N) Q' with Q a Householder reflection, so the answer is known:
// the largest eigenvalue N with eigenvector Q e_N. --check compares with it.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ncvx.h"

enum { N = 30 };

static int eval(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                double *Je, void *user)
{
    (void)ci, (void)Ji;
    const double *A = user;
    double xx = 0;
    *f = 0;
    for (int i = 0; i < N; i++) {
        double ax = 0;
        for (int j = 0; j < N; j++)
            ax += A[i * N + j] * x[j];
        *f -= x[i] * ax;
        xx += x[i] * x[i];
        if (g) {
            g[i] = -2 * ax;
            Je[i] = 2 * x[i];
        }
    }
    ce[0] = xx - 1;
    return 0;
}

int main(int argc, char **argv)
{
    int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    static double A[N * N];
    double v[N], vv = 0;
    for (int i = 0; i < N; i++) {
        v[i] = cos(1.3 * i + 0.2);
        vv += v[i] * v[i];
    }
    // A = Q D Q', Q = I - 2 v v' / v'v (symmetric, orthogonal)
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double a = 0;
            for (int k = 0; k < N; k++) {
                double qik = (i == k) - 2 * v[i] * v[k] / vv;
                double qjk = (j == k) - 2 * v[j] * v[k] / vv;
                a += qik * (k + 1) * qjk;
            }
            A[i * N + j] = a;
        }
    ncvx_problem p = {N, 0, 1, eval, NULL, NULL, NULL, NULL, A};
    ncvx_settings s;
    ncvx_settings_default(&s);
    s.print_level = check ? 0 : 1;
    s.print_frequency = 10;
    s.limited_mem_size = 10;
    ncvx_solver *sv = NULL;
    if (ncvx_create(&sv, &p, &s) != NCVX_OK) return 1;
    // --check: also from a start perturbed by 1e-10 relative (the verdict must not depend on
    // the last bits of the start or of the BLAS kernel)
    int ok = 1;
    for (int pert = 0; pert <= check; pert++) {
        double x[N];
        for (int i = 0; i < N; i++)
            x[i] = 1.0 / sqrt((double)N) * (1 + (pert ? (i % 2 ? -1e-10 : 1e-10) : 0));
        ncvx_info info;
        if (ncvx_solve(sv, x, &info) != NCVX_OK) {
            ncvx_destroy(sv);
            return 1;
        }
        // eigenvector Q e_N and the Rayleigh quotient
        double dot = 0, nrm = 0;
        for (int i = 0; i < N; i++) {
            dot += x[i] * ((i == N - 1) - 2 * v[i] * v[N - 1] / vv);
            nrm += x[i] * x[i];
        }
        printf("eigvec%s: %s, lambda = %.10f (exact %d), |x| = %.10f, |<x, v_max>| = %.10f, "
               "%d iterations, %ld evaluations\n",
               pert ? " (perturbed start)" : "", info.term_msg, -info.f, N, sqrt(nrm), fabs(dot),
               info.iters, info.evals);
        // tolerances: lambda to 1e-6 relative (the constraint holds to viol_eq_tol = 1e-6);
        // the eigen-gap is 1, so the angle to v_max is O(sqrt(1e-6))
        ok = ok && fabs(-info.f - N) <= 1e-6 * N && fabs(nrm - 1) <= 1e-6 && fabs(dot) >= 1 - 1e-5;
    }
    ncvx_destroy(sv);
    if (!check) return 0;
    printf("check: %s\n", ok ? "passed" : "FAILED");
    return ok ? 0 : 1;
}
