// tests/bench/bench_nn.c: hoyer_cnn forward + backward against the machine's single-precision
// GEMM peak measured in the same run (a 2000 x 2000 SGEMM).
//
// usage: bench_nn [--csv] [--runs N] [--k K] [--cases 1..3] [--threads N]
//   Cases 96x32, 256x256, 384x128 (default Hoyer settings). For each: float64 (the library's
//   double path), float32 on the library's own im2col + SGEMM path, and float32 on oneDNN
//   (when built with it). Times are medians of N runs (default 5, after one warm-up).
//   "flops" counts the network's GEMM-shaped work (dense: z^T K, dK = z dy^T, dz = dy K^T;
//   each conv with P pixels and K = k*k*cin taps: Y = A W (P x cout x K), dW = A^T dY
//   (K x k*cout x P), dA = dY W^T (k*P x K x cout)). ratio = (flops / peak) / time, the
//   fraction of the SGEMM peak the network reaches (1.0 = at peak). The peak is the median of
//   the SGEMM runs interleaved with the cases. --threads N sets OpenBLAS (and OpenMP, hence
//   oneDNN) threads; default 1. With one thread every time is process CPU time, so that other
//   processes on a shared machine do not count; with several, wall time.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "bench/bench_util.h"
#include "nn.h"

#ifdef BENCH_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef TOPOPT_HAVE_DNNL
#include <dnnl.h>
#endif

enum { V_F64 = 0, V_F32_OWN, V_F32_DNNL, NV };
static const char *const VNAME[NV] = {"float64", "float32 own", "float32 oneDNN"};

typedef struct {
    int W, H;
    int n_params;
    double flops;           ///< network FLOPs of one forward + backward (GEMM shapes below)
    double fwd[NV], fb[NV]; ///< medians: forward alone, forward + backward (s)
    double rss;             ///< peak RSS after the float64 model ran (MiB)
} bench_case;

// One GEMM shape: C[M x N] = op(A) op(B), inner dimension K.
typedef struct {
    int ta, tb, M, N, K;
} gemm_shape;

// The GEMM shapes the default Hoyer CNN needs on W x H with k upstream gradients.
static int hoyer_gemms(int W, int H, int k, gemm_shape *g)
{
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    int rs[NN_MAX_BLOCKS];
    if (nn_hoyer_cnn_resizes(W, H, &s, rs) != NN_OK) return -1;
    int total = 1;
    for (int b = 0; b < s.n_blocks; b++)
        total *= rs[b];
    int h = H / total, w = W / total, n = 0, cin = s.dense_channels;
    const int F = h * w * s.dense_channels, L = s.latent_size;
    g[n++] = (gemm_shape){0, 0, 1, F, L};     // y = z^T K
    g[n++] = (gemm_shape){0, 0, L, k * F, 1}; // dK = z dy^T
    g[n++] = (gemm_shape){0, 1, k, L, F};     // dz = dy K^T
    for (int b = 0; b < s.n_blocks; b++) {
        h *= rs[b];
        w *= rs[b];
        const int P = h * w, K = s.kernel_size * s.kernel_size * cin, co = s.conv_filters[b];
        g[n++] = (gemm_shape){0, 0, P, co, K};     // Y = A W
        g[n++] = (gemm_shape){1, 0, K, k * co, P}; // dW = A^T dY
        g[n++] = (gemm_shape){0, 1, k * P, K, co}; // dA = dY W^T
        cin = co;
    }
    return n;
}

static double gemm_flops(const gemm_shape *g, int n)
{
    double f = 0;
    for (int i = 0; i < n; i++)
        f += 2.0 * g[i].M * g[i].N * g[i].K;
    return f;
}

// The clock: process CPU time with one thread (robust against other processes on a shared
// machine: time spent descheduled does not count), wall time with several.
static int use_cpu_clock = 1;

static double now(void)
{
    if (!use_cpu_clock) return bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// One n x n x n SGEMM, in FLOP/s: OpenBLAS's (lib 0), or oneDNN's dnnl_sgemm (lib 1; its own
// JIT kernels, independent of the kernel OpenBLAS picked for this CPU).
static double sgemm_once(int lib, int n, float *A, float *B, float *C)
{
    const double t0 = now();
#ifdef TOPOPT_HAVE_DNNL
    if (lib)
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    else
#endif
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C,
                    n);
    (void)lib;
    return 2.0 * n * (double)n * n / (now() - t0);
}

// The machine's SGEMM rate for this sample: the faster of the two libraries.
static double sgemm_peak_once(int n, float *A, float *B, float *C, double *blas, double *dnnl)
{
    *blas = sgemm_once(0, n, A, B, C);
    *dnnl = nn_have_dnnl() ? sgemm_once(1, n, A, B, C) : 0.0;
    return *blas > *dnnl ? *blas : *dnnl;
}

static double run_model(bench_case *c, int k, int runs, int v)
{
    nn_model *m = NULL;
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    s.precision = v == V_F64 ? NN_PREC_FLOAT64 : NN_PREC_FLOAT32;
    s.use_dnnl = v == V_F32_DNNL;
    if (nn_model_create_hoyer_cnn(&m, c->W, c->H, &s) != NN_OK) exit(1);
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m);
    double *theta = malloc((size_t)np * sizeof *theta), *z = malloc((size_t)no * sizeof *z);
    double *u = malloc((size_t)k * no * sizeof *u), *g = malloc((size_t)k * np * sizeof *g);
    if (!theta || !z || !u || !g) {
        fprintf(stderr, "bench_nn: out of memory\n");
        exit(1);
    }
    nn_model_init_params(m, theta, 0);
    for (size_t i = 0; i < (size_t)k * no; i++)
        u[i] = 1.0 / (double)(1 + i % 7);
    double tf[64], tb[64];
    for (int r = 0; r <= runs; r++) {
        const double t0 = now();
        nn_model_forward(m, theta, z, 0);
        const double t1 = now();
        nn_model_forward(m, theta, z, 1);
        nn_model_backward(m, k, u, g);
        const double t2 = now();
        if (r > 0) {
            tf[r - 1] = t1 - t0;
            tb[r - 1] = t2 - t1;
        }
    }
    c->n_params = np;
    c->fwd[v] = bench_median(tf, runs);
    c->fb[v] = bench_median(tb, runs);
    if (v == V_F64) c->rss = bench_peak_mb();
    double chk = 0; // keeps the work observable
    for (int i = 0; i < no; i++)
        chk += z[i];
    free(theta);
    free(z);
    free(u);
    free(g);
    nn_model_destroy(m);
    return chk;
}

int main(int argc, char **argv)
{
    int csv = 0, runs = 5, k = 1, ncase = 3, threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv"))
            csv = 1;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            ncase = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--csv] [--runs N (1..63)] [--k K] [--cases 1..3] [--threads N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 63 || k < 1 || k > 64 || ncase < 1 || ncase > 3 || threads < 1) {
        fprintf(stderr, "bench_nn: bad arguments\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    use_cpu_clock = threads == 1;
#ifdef BENCH_HAVE_OPENMP
    omp_set_num_threads(threads);
#endif
    const int n = 2000;
    float *A = malloc((size_t)n * n * sizeof *A), *B = malloc((size_t)n * n * sizeof *B);
    float *C = malloc((size_t)n * n * sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "bench_nn: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        A[i] = 1e-3f * (float)(i % 1000);
        B[i] = 1e-3f * (float)(i % 997);
    }
    double peaks[64 * 4], pb[64 * 4], pd[64 * 4];
    int np = 0;
    sgemm_peak_once(n, A, B, C, pb, pd); // warm-up
    bench_case cases[3] = {{.W = 96, .H = 32}, {.W = 256, .H = 256}, {.W = 384, .H = 128}};
    const int nv = nn_have_dnnl() ? NV : NV - 1;
    double chk = 0;
    for (int c = 0; c < ncase; c++) {
        gemm_shape g[3 + 3 * NN_MAX_BLOCKS];
        cases[c].flops = gemm_flops(g, hoyer_gemms(cases[c].W, cases[c].H, k, g));
        for (int v = 0; v < nv; v++) {
            chk += run_model(&cases[c], k, runs, v);
            peaks[np] = sgemm_peak_once(n, A, B, C, pb + np, pd + np);
            np++;
        }
    }
    for (int r = 0; r < runs; r++, np++)
        peaks[np] = sgemm_peak_once(n, A, B, C, pb + np, pd + np);
    const double peak = bench_median(peaks, np);
    const double peak_blas = bench_median(pb, np), peak_dnnl = bench_median(pd, np);
    free(A);
    free(B);
    free(C);
    if (csv)
        printf("case,W,H,params,k,threads,runs,variant,fwd_ms,fwd_bwd_ms,gflop,gflops,"
               "sgemm_peak_gflops,ratio,peak_rss_mb,openblas_sgemm_gflops,dnnl_sgemm_gflops,"
               "openblas_core\n");
    else
        printf("SGEMM %dx%d (medians of %d): OpenBLAS (%s) %.1f, oneDNN %.1f GFLOP/s; peak = the "
               "faster, %d thread(s), %s\n%-9s %-15s %9s %3s "
               "%8s %10s %7s %8s %6s\n",
               n, n, np, openblas_get_corename(), 1e-9 * peak_blas, 1e-9 * peak_dnnl, threads,
               use_cpu_clock ? "process CPU time" : "wall time", "case", "variant", "params", "k",
               "fwd ms", "fwd+bwd ms", "GFLOP", "GFLOP/s", "ratio");
    for (int c = 0; c < ncase; c++) {
        const bench_case *b = &cases[c];
        for (int v = 0; v < nv; v++) {
            const double gfs = 1e-9 * b->flops / b->fb[v], ratio = b->flops / peak / b->fb[v];
            if (csv)
                printf(
                    "%dx%d,%d,%d,%d,%d,%d,%d,%s,%.3f,%.3f,%.3f,%.2f,%.2f,%.3f,%.1f,%.2f,%.2f,%s\n",
                    b->W, b->H, b->W, b->H, b->n_params, k, threads, runs, VNAME[v],
                    1e3 * b->fwd[v], 1e3 * b->fb[v], 1e-9 * b->flops, gfs, 1e-9 * peak, ratio,
                    b->rss, 1e-9 * peak_blas, 1e-9 * peak_dnnl, openblas_get_corename());
            else
                printf("%4dx%-4d %-15s %9d %3d %8.2f %10.2f %7.2f %8.2f %6.2f\n", b->W, b->H,
                       VNAME[v], b->n_params, k, 1e3 * b->fwd[v], 1e3 * b->fb[v], 1e-9 * b->flops,
                       gfs, ratio);
        }
    }
    return chk != chk; // NaN logits fail the run
}
