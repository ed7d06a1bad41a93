// tests/bench/bench_fem_reuse.c: FE factor reuse (CG preconditioned with the last factor) vs a
// fresh factorization per evaluation, on a recorded top88 OC trajectory
//
// For each grid: record an OC run of --steps evaluations (MBB beam, density filter r = 2) with
// fresh factorizations, then replay the densities through a model with reuse on and one with
// reuse off, interleaved step by step (both see the same machine load). Reports the median
// time of a factorization (white-box cholmod_l_factorize on the model's matrix), the measured
// cost of one CG iteration, the policy's model of the factorization cost in CG iterations
// beside the measured one, the factorizations and CG iterations of the reuse run, the largest
// relative compliance error and gradient error (2-norm) against the fresh factorization, and
// the time per evaluation of both (speedup = off / on).
//
// usage: bench_fem_reuse [--csv] [--steps N] [--sizes WxH,...] [--cases K]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "fem.h"
#include "fem_internal.h"
#include "fem_trajectory.h"

/* CPU seconds of this thread: the machine is shared, and waiting in the run queue is not our
 * cost (one thread: OPENBLAS_NUM_THREADS=1 is expected). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--csv] [--steps N] [--sizes WxH,...] [--cases K]\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    int csv = 0, steps = 30, ns = 3, ncase = 1;
    int sizes[16][2] = {{96, 32}, {256, 256}, {128, 512}};
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--csv")) {
            csv = 1;
        } else if (!strcmp(argv[a], "--steps") && a + 1 < argc) {
            steps = atoi(argv[++a]);
            if (steps < 2) return usage(argv[0]);
        } else if (!strcmp(argv[a], "--cases") && a + 1 < argc) {
            ncase = atoi(argv[++a]);
            if (ncase < 1 || ncase > 2) return usage(argv[0]);
        } else if (!strcmp(argv[a], "--sizes") && a + 1 < argc) {
            ns = 0;
            for (char *tok = strtok(argv[++a], ","); tok && ns < 16; tok = strtok(NULL, ",")) {
                if (sscanf(tok, "%dx%d", &sizes[ns][0], &sizes[ns][1]) != 2) return usage(argv[0]);
                ns++;
            }
        } else {
            return usage(argv[0]);
        }
    }
    if (csv)
        printf("grid,nfree,steps,auto_reuse,fact_s,cg_iter_s,fact_cost_model,fact_cost_measured,"
               "factorizations,cg_iterations,cg_failures,max_rel_c,max_rel_grad,off_eval_s,"
               "on_eval_s,speedup\n");
    else
        printf("%-9s %8s %5s %4s %9s %9s %7s %7s %6s %7s %5s %9s %9s %9s %9s %7s\n", "grid",
               "nfree", "steps", "auto", "fact_s", "cgiter_s", "F_mod", "F_meas", "facts", "cg_it",
               "fail", "rel_c", "rel_grad", "off_s", "on_s", "speedup");
    for (int g = 0; g < ns; g++) {
        const int W = sizes[g][0], H = sizes[g][1], n = W * H;
        fem_model *ref = NULL, *on = NULL, *off = NULL, *aut = NULL;
        double *rhos = malloc((size_t)steps * n * sizeof *rhos);
        double *dc0 = malloc((size_t)n * sizeof *dc0), *dc1 = malloc((size_t)n * sizeof *dc1);
        double *toff = malloc((size_t)steps * sizeof *toff), *tf = malloc(5 * sizeof *tf);
        if (!rhos || !dc0 || !dc1 || !toff || !tf ||
            traj_mbb_model(&ref, W, H, FEM_REUSE_OFF, ncase) != FEM_OK ||
            traj_mbb_model(&on, W, H, FEM_REUSE_ON, ncase) != FEM_OK ||
            traj_mbb_model(&off, W, H, FEM_REUSE_OFF, ncase) != FEM_OK ||
            traj_mbb_model(&aut, W, H, FEM_REUSE_AUTO, ncase) != FEM_OK ||
            traj_record(ref, steps, 0.5, rhos)) {
            fprintf(stderr, "bench_fem_reuse: setup of %dx%d failed\n", W, H);
            return 1;
        }
        double max_c = 0, max_g = 0, sum_on = 0, sum_off = 0, cg_time = 0, base = 0;
        int cg_evals = 0;
        long cg_its = 0;
        for (int k = 0; k < steps; k++) {
            const double *rho = rhos + (size_t)k * n;
            double c0, c1;
            double t0 = cpu_now();
            fem_model_compliance(off, rho, &c0, dc0);
            double t1 = cpu_now();
            fem_model_compliance(on, rho, &c1, dc1);
            double t2 = cpu_now();
            toff[k] = t1 - t0;
            sum_off += t1 - t0;
            sum_on += t2 - t1;
            fem_solve_stats s;
            fem_model_solve_stats(on, &s);
            if (!s.last_factored) {
                cg_time += t2 - t1;
                cg_its += s.last_iterations;
                cg_evals++;
            }
            double e2 = 0, n2 = 0;
            for (int e = 0; e < n; e++)
                e2 += (dc1[e] - dc0[e]) * (dc1[e] - dc0[e]), n2 += dc0[e] * dc0[e];
            max_c = fmax(max_c, fabs(c1 - c0) / c0);
            max_g = fmax(max_g, sqrt(e2 / n2));
        }
        for (int r = 0; r < 5; r++) {
            double t0 = cpu_now();
            cholmod_l_factorize(off->A, off->L, &off->cc);
            tf[r] = cpu_now() - t0;
        }
        const double t_fact = bench_median(tf, 5), t_off = bench_median(toff, steps);
        base = t_off - t_fact; // assembly, direct solve, sensitivities
        const double t_iter = cg_its ? (cg_time - cg_evals * base) / (double)cg_its : NAN;
        fem_solve_stats s, sa;
        fem_model_solve_stats(on, &s);
        fem_model_solve_stats(aut, &sa);
        char grid[32];
        snprintf(grid, sizeof grid, "%dx%d", W, H);
        printf(
            csv ? "%s,%d,%d,%d,%.6g,%.6g,%.4g,%.4g,%ld,%ld,%ld,%.3g,%.3g,%.6g,%.6g,%.4g\n"
                : "%-9s %8d %5d %4d %9.3g %9.3g %7.3g %7.3g %6ld %7ld %5ld %9.2g %9.2g %9.4g %9.4g "
                  "%7.3g\n",
            grid, fem_model_nfree(on), steps, sa.reuse, t_fact, t_iter, s.fact_cost,
            t_fact / t_iter, s.factorizations, s.cg_iterations, s.cg_failures, max_c, max_g,
            sum_off / steps, sum_on / steps, sum_off / sum_on);
        fflush(stdout);
        fem_model_destroy(ref);
        fem_model_destroy(on);
        fem_model_destroy(off);
        fem_model_destroy(aut);
        free(rhos);
        free(dc0);
        free(dc1);
        free(toff);
        free(tf);
    }
    return 0;
}
