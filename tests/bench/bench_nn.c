// tests/bench/bench_nn.c: hoyer_cnn forward+backward time against the bare GEMMs of the same
// convolutions and dense layer (direct cblas_dgemm calls with the same shapes, same run).
//
// usage: bench_nn [--csv] [--runs N] [--k K] [--max WxH]
//   Cases 96x32, 192x64, 384x128 (default Hoyer settings). Times are medians of N runs
//   (default 7, after one warm-up). "gemm" is the sum over the network's layers of:
//   dense: z^T K (1 x 128 x F), dK = z dy^T (128 x k*F, inner 1), dz = dy K^T;
//   conv (im2col shapes, P pixels, K = k*k*cin): Y = A W (P x cout x K),
//   dW = A^T dY (K x k*cout x P), dA = dY W^T (k*P x K x cout).
//   Peak memory is getrusage's max RSS right after each case's model runs (cases in
//   increasing size, before any bare-GEMM buffer is allocated). "single" is fwd+bwd with
//   conv_single = 1 (float GEMMs in the 5x5 convs); its ratio is to the same double GEMMs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "bench/bench_util.h"
#include "nn.h"

typedef struct {
    int W, H;
    int n_params;
    double fwd, fb, gemm, flops, peak;
    double fb_single; ///< fwd+bwd with conv_single = 1
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

static double time_gemms(const gemm_shape *g, int n, int runs)
{
    size_t amax = 1, bmax = 1, cmax = 1;
    for (int i = 0; i < n; i++) {
        const size_t a = (size_t)g[i].M * g[i].K, b = (size_t)g[i].K * g[i].N,
                     c = (size_t)g[i].M * g[i].N;
        amax = a > amax ? a : amax;
        bmax = b > bmax ? b : bmax;
        cmax = c > cmax ? c : cmax;
    }
    double *A = malloc(amax * sizeof *A), *B = malloc(bmax * sizeof *B);
    double *C = malloc(cmax * sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "bench_nn: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < amax; i++)
        A[i] = 1e-3 * (double)(i % 1000);
    for (size_t i = 0; i < bmax; i++)
        B[i] = 1e-3 * (double)(i % 997);
    double t[64];
    for (int r = 0; r <= runs; r++) { // r = 0 is the warm-up
        const double t0 = bench_now();
        for (int i = 0; i < n; i++) {
            const int lda = g[i].ta ? g[i].M : g[i].K, ldb = g[i].tb ? g[i].K : g[i].N;
            cblas_dgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans,
                        g[i].tb ? CblasTrans : CblasNoTrans, g[i].M, g[i].N, g[i].K, 1.0, A, lda, B,
                        ldb, 0.0, C, g[i].N);
        }
        if (r > 0) t[r - 1] = bench_now() - t0;
    }
    free(A);
    free(B);
    free(C);
    return bench_median(t, runs);
}

static void run_model(bench_case *c, int k, int runs, int single)
{
    nn_model *m = NULL;
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    s.precision = single ? NN_PREC_FLOAT32 : NN_PREC_FLOAT64;
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
        const double t0 = bench_now();
        nn_model_forward(m, theta, z, 0);
        const double t1 = bench_now();
        nn_model_forward(m, theta, z, 1);
        nn_model_backward(m, k, u, g);
        const double t2 = bench_now();
        if (r > 0) {
            tf[r - 1] = t1 - t0;
            tb[r - 1] = t2 - t1;
        }
    }
    if (single) {
        c->fb_single = bench_median(tb, runs);
    } else {
        c->n_params = np;
        c->fwd = bench_median(tf, runs);
        c->fb = bench_median(tb, runs);
        c->peak = bench_peak_mb();
    }
    free(theta);
    free(z);
    free(u);
    free(g);
    nn_model_destroy(m);
}

int main(int argc, char **argv)
{
    int csv = 0, runs = 7, k = 1, ncase = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv"))
            csv = 1;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            ncase = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--csv] [--runs N (5..63)] [--k K] [--cases 1..3]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 63 || k < 1 || k > 64 || ncase < 1 || ncase > 3) {
        fprintf(stderr, "bench_nn: bad arguments\n");
        return 2;
    }
    bench_case cases[3] = {{.W = 96, .H = 32}, {.W = 192, .H = 64}, {.W = 384, .H = 128}};
    for (int c = 0; c < ncase; c++)
        run_model(&cases[c], k, runs, 0);
    for (int c = 0; c < ncase; c++)
        run_model(&cases[c], k, runs, 1);
    for (int c = 0; c < ncase; c++) {
        gemm_shape g[3 + 3 * NN_MAX_BLOCKS];
        const int n = hoyer_gemms(cases[c].W, cases[c].H, k, g);
        cases[c].flops = gemm_flops(g, n);
        cases[c].gemm = time_gemms(g, n, runs);
    }
    if (csv)
        printf("case,W,H,params,k,threads,runs,fwd_ms,fwd_bwd_ms,gemm_ms,ratio,gflops_model,"
               "gflops_gemm,peak_rss_mb,fwd_bwd_single_ms,ratio_single\n");
    else
        printf("%-9s %9s %3s %8s %10s %9s %6s %9s %9s %9s %10s %7s\n", "case", "params", "k",
               "fwd ms", "fwd+bwd ms", "gemm ms", "ratio", "GF/s nn", "GF/s gemm", "peak MB",
               "single ms", "ratio s");
    for (int c = 0; c < ncase; c++) {
        const bench_case *b = &cases[c];
        const double ratio = b->fb / b->gemm;
        if (csv)
            printf("%dx%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.2f,%.2f,%.1f,%.3f,%.3f\n", b->W,
                   b->H, b->W, b->H, b->n_params, k, openblas_get_num_threads(), runs, 1e3 * b->fwd,
                   1e3 * b->fb, 1e3 * b->gemm, ratio, 1e-9 * b->flops / b->fb,
                   1e-9 * b->flops / b->gemm, b->peak, 1e3 * b->fb_single, b->fb_single / b->gemm);
        else
            printf("%4dx%-4d %9d %3d %8.2f %10.2f %9.2f %6.2f %9.2f %9.2f %9.1f %10.2f %7.2f\n",
                   b->W, b->H, b->n_params, k, 1e3 * b->fwd, 1e3 * b->fb, 1e3 * b->gemm, ratio,
                   1e-9 * b->flops / b->fb, 1e-9 * b->flops / b->gemm, b->peak, 1e3 * b->fb_single,
                   b->fb_single / b->gemm);
    }
    return 0;
}
