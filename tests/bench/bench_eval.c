// tests/bench/bench_eval.c: one evaluation of the whole chain (network, density map and
// filter, FE, solver, other) beside the machine's limit, measured in the same run
//
// For each grid it runs the real chain of app/ (the default config: Hoyer CNN, sigmoid-mean map,
// column-normalized cone filter) under the solver (--method, default lbfgs) for --evals
// evaluations of a benchmark problem of that size, and splits the time per evaluation into
// network (nn forward and backward), map (density map, filter, projection and transposes), FE
// (fem_model_compliance), solver (ncvx's own work: the solve minus the evaluations) and other
// (the rest of the evaluation). Beside it, the limit of one evaluation measured in the same run:
//   network FLOPs (the GEMM formulation of the CNN: forward, plus the two backward GEMMs per
//   layer when the evaluation has a gradient) / SGEMM peak (2000 x 2000 cblas_sgemm, one thread)
//   + FE floor (one cholmod_l_solve2 of every load case with the model's factor where the model
//   reuses factors, a factorization plus that solve where it does not).
// Times are CPU seconds of this thread (the machine is shared; one BLAS/OpenMP thread).
//
// usage: bench_eval [--csv] [--evals N] [--grids 96x32,256x256,128x512] [--method M]
//                   [--reuse auto|off|on]   (fem.reuse of the config)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench/bench_util.h"
#include "chain.h"
#include "config.h"
#include "fem.h"
#include "fem_internal.h" // white-box: the model's matrix, factor and solve workspaces
#include "ncvx.h"
#include "nn.h"
#include "threads.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    app_chain *ch;
    long evals, grads;
    double eval_time;
} ctx;

static int eval_timed(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                      double *c_eq, double *jac_eq, void *user)
{
    ctx *c = user;
    const double t0 = cpu_now();
    int r = app_chain_eval(x, f, grad_f, c_ineq, jac_ineq, c_eq, jac_eq, c->ch);
    c->eval_time += cpu_now() - t0;
    c->evals++;
    if (grad_f) c->grads++;
    return r;
}

/* FLOPs of the Hoyer CNN on W x H in the GEMM formulation (as bench_nn): forward, and the two
 * backward GEMMs per layer for k upstream gradients. */
static void cnn_flops(int W, int H, const nn_hoyer_cnn_settings *s, int k, double *fwd, double *bwd)
{
    int rs[NN_MAX_BLOCKS];
    *fwd = *bwd = 0;
    if (nn_hoyer_cnn_resizes(W, H, s, rs) != NN_OK) return;
    int total = 1;
    for (int b = 0; b < s->n_blocks; b++)
        total *= rs[b];
    double h = H / total, w = W / total, cin = s->dense_channels;
    const double F = h * w * s->dense_channels, L = s->latent_size;
    *fwd += 2 * F * L;
    *bwd += 2 * L * k * F + 2 * k * L * F;
    for (int b = 0; b < s->n_blocks; b++) {
        h *= rs[b];
        w *= rs[b];
        const double P = h * w, K = (double)s->kernel_size * s->kernel_size * cin,
                     co = s->conv_filters[b];
        *fwd += 2 * P * co * K;
        *bwd += 2 * K * k * co * P + 2 * k * P * K * co;
        cin = co;
    }
}

/* Single-thread SGEMM peak (FLOP/s): median of 5 runs of a 2000 x 2000 x 2000 product. */
static double sgemm_peak(void)
{
    const int n = 2000;
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n),
          *C = malloc(sizeof(float) * n * n);
    if (!A || !B || !C) exit(1);
    for (int i = 0; i < n * n; i++)
        A[i] = 1e-3f * (float)(i % 1000), B[i] = 1e-3f * (float)(i % 997);
    double t[5];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
    for (int r = 0; r < 5; r++) {
        const double t0 = cpu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        t[r] = cpu_now() - t0;
    }
    free(A);
    free(B);
    free(C);
    return 2.0 * n * n * n / bench_median(t, 5);
}

/* FE floor with the model's current factor: median of 5 (factorization +) solve of every load
 * case (the factor L then holds the factor of the current matrix A; no harm to the run). */
static double fe_floor(fem_model *m, int with_factor)
{
    double t[5];
    for (int r = 0; r < 5; r++) {
        const double t0 = cpu_now();
        if (with_factor) cholmod_l_factorize(m->A, m->L, &m->cc);
        cholmod_l_solve2(CHOLMOD_A, m->L, m->B, NULL, &m->X, NULL, &m->Y, &m->E, &m->cc);
        t[r] = cpu_now() - t0;
    }
    return bench_median(t, 5);
}

static const char *problem_of(int W, int H)
{
    if (W == 96 && H == 32) return "mbb_beam_96x32_0.5";
    if (W == 256 && H == 256) return "michell_centered_below_256x256_0.12";
    if (W == 128 && H == 512) return "multistory_building_128x512_0.25";
    return NULL;
}

static int usage(const char *p)
{
    fprintf(stderr,
            "usage: %s [--csv] [--evals N] [--grids WxH,...] [--method M] [--reuse auto|off|on]\n"
            "grids: 96x32, 256x256, 128x512\n",
            p);
    return 2;
}

int main(int argc, char **argv)
{
    app_blas_kernel_fix(argv); // the kernels topopt itself runs with (threads.h)
    int csv = 0, evals = 30, ng = 3;
    int grids[8][2] = {{96, 32}, {256, 256}, {128, 512}};
    const char *method = "lbfgs", *reuse = "auto";
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--csv")) {
            csv = 1;
        } else if (!strcmp(argv[a], "--evals") && a + 1 < argc) {
            evals = atoi(argv[++a]);
            if (evals < 2) return usage(argv[0]);
        } else if (!strcmp(argv[a], "--reuse") && a + 1 < argc) {
            reuse = argv[++a];
        } else if (!strcmp(argv[a], "--method") && a + 1 < argc) {
            method = argv[++a];
        } else if (!strcmp(argv[a], "--grids") && a + 1 < argc) {
            ng = 0;
            for (char *tok = strtok(argv[++a], ","); tok && ng < 8; tok = strtok(NULL, ",")) {
                if (sscanf(tok, "%dx%d", &grids[ng][0], &grids[ng][1]) != 2 ||
                    !problem_of(grids[ng][0], grids[ng][1]))
                    return usage(argv[0]);
                ng++;
            }
        } else {
            return usage(argv[0]);
        }
    }
    app_threads_info ti;
    app_threads_apply(1, 0, &ti);
    app_chain_use_cpu_clock(1);
    const double peak = sgemm_peak();
    if (csv)
        printf("grid,problem,method,evals,grads,threads,eval_s,nn_s,map_s,fe_s,solver_s,other_s,"
               "solver_pct,net_gflop,sgemm_gflops,net_limit_s,fe_floor_s,fe_reuse,fe_fact_cost,"
               "factorizations,cg_iters_per_eval,limit_s,ratio\n");
    else
        printf("SGEMM peak %.1f GFLOP/s (2000x2000, one thread); BLAS threads %d%s\n", 1e-9 * peak,
               ti.blas, ti.blas_env ? " (from the environment)" : "");
    for (int g = 0; g < ng; g++) {
        const int W = grids[g][0], H = grids[g][1];
        const char *name = problem_of(W, H);
        char text[512], err[2048];
        snprintf(text, sizeof text,
                 "problem: {benchmark: %s}\nparameterization: {kind: cnn}\n"
                 "method: {name: %s}\nbudget: {evaluations: %d, iterations: %d}\n"
                 "fem: {reuse: %s}\n",
                 name, method, evals, evals, reuse);
        app_config *c = malloc(sizeof *c);
        app_chain *ch = NULL;
        if (!c || app_config_load_string(c, name, text, 0, NULL, NULL, err, sizeof err) ||
            app_chain_create(&ch, c, err, sizeof err)) {
            fprintf(stderr, "bench_eval: %s: %s\n", name, err);
            return 1;
        }
        const int n = app_chain_num_params(ch);
        double *theta = malloc((size_t)n * sizeof *theta);
        if (!theta || app_chain_init_params(ch, theta)) return 1;
        ctx x = {.ch = ch};
        ncvx_settings s = c->solver; /* with the budget of the config */
        s.print_level = 0;
        ncvx_problem p = {.n = n,
                          .n_ineq = app_chain_num_ineq(ch),
                          .n_eq = app_chain_num_eq(ch),
                          .eval = eval_timed,
                          .lower = app_chain_lower(ch),
                          .upper = app_chain_upper(ch),
                          .user = &x};
        ncvx_solver *sv = NULL;
        ncvx_info info;
        if (ncvx_create(&sv, &p, &s) != NCVX_OK) return 1;
        const double t0 = cpu_now();
        ncvx_solve(sv, theta, &info);
        const double total = cpu_now() - t0;
        ncvx_destroy(sv);
        double fem_t, nn_t;
        app_chain_times(ch, &fem_t, &nn_t);
        const double map_t = app_chain_map_time(ch), ne = (double)x.evals;
        fem_model *m = app_chain_fem(ch);
        fem_solve_stats st;
        fem_model_solve_stats(m, &st);
        const int k = 1 + p.n_ineq + p.n_eq;
        double ffwd, fbwd;
        cnn_flops(W, H, &c->cnn, k, &ffwd, &fbwd);
        const double flops = (ffwd * ne + fbwd * (double)x.grads) / ne;
        const double floor_s = fe_floor(m, !st.reuse);
        const double eval_s = total / ne, net_s = flops / peak, limit = net_s + floor_s;
        const double solver_s = (total - x.eval_time) / ne;
        const double other_s = (x.eval_time - fem_t - nn_t - map_t) / ne;
        char grid[32];
        snprintf(grid, sizeof grid, "%dx%d", W, H);
        const double cg_per = (double)st.cg_iterations / ne;
        if (csv)
            printf("%s,%s,%s,%ld,%ld,%d,%.5g,%.5g,%.5g,%.5g,%.5g,%.5g,%.3g,%.5g,%.4g,%.5g,%.5g,%d,"
                   "%.3g,%ld,%.3g,%.5g,%.4g\n",
                   grid, name, method, x.evals, x.grads, ti.blas, eval_s, nn_t / ne, map_t / ne,
                   fem_t / ne, solver_s, other_s, 100 * solver_s / eval_s, 1e-9 * flops,
                   1e-9 * peak, net_s, floor_s, st.reuse, st.fact_cost, st.factorizations, cg_per,
                   limit, eval_s / limit);
        else
            printf("%-8s %-36s %s: %ld evals (%ld with gradient), eval %.4g s = nn %.4g + map "
                   "%.4g + FE %.4g + solver %.4g (%.2g %%) + other %.4g; limit %.4g s = net %.4g "
                   "GFLOP / peak (%.4g s) + FE floor %.4g s (%s); ratio %.3g; FE: %ld "
                   "factorizations, %.3g CG iterations per evaluation\n",
                   grid, name, method, x.evals, x.grads, eval_s, nn_t / ne, map_t / ne, fem_t / ne,
                   solver_s, 100 * solver_s / eval_s, other_s, limit, 1e-9 * flops, net_s, floor_s,
                   st.reuse ? "solve" : "factorize + solve", eval_s / limit, st.factorizations,
                   cg_per);
        fflush(stdout);
        free(theta);
        app_chain_destroy(ch);
        app_config_free(c);
        free(c);
    }
    return 0;
}
