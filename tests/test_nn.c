// tests/test_nn.c: nn library tests: hand-computed layer cases, central finite differences of
// every layer and both models, parameter counts, determinism, error paths.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "nn_internal.h"

#ifdef TEST_HAVE_OPENMP
#include <omp.h>
#endif
#include "test_util.h"

// ---------------------------------------------------------------------------------------
// Helpers

static void fill_uniform(double *x, size_t n, double lo, double hi, uint64_t *st)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * test_uniform(st);
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Central finite differences of L_j(theta) = u_j . logits(theta) for j < k against
 * nn_model_backward, on the parameters idx[0..nidx) (all when idx is NULL). Returns the worst
 * over j of max_i |g_ji - fd_ji| / max_i |fd_ji| (norm-wise relative error).
 * Step h = 1e-5: truncation error O(h^2 |L'''|) ~ 1e-10, rounding O(eps |L| / h) ~ 1e-11, both
 * far below the 1e-6 tolerance on gradients of order 1. */
static double fd_error(nn_model *m, double *theta, int k, const double *u, const int *idx, int nidx,
                       double h)
{
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m);
    double *g = malloc((size_t)k * np * sizeof *g);
    double *z = malloc((size_t)no * sizeof *z);
    double *fd = malloc((size_t)k * nidx * sizeof *fd);
    assert_non_null(g);
    assert_non_null(z);
    assert_non_null(fd);
    assert_int_equal(nn_model_forward(m, theta, z, 1), NN_OK);
    assert_int_equal(nn_model_backward(m, k, u, g), NN_OK);
    for (int t = 0; t < nidx; t++) {
        const int i = idx ? idx[t] : t;
        const double t0 = theta[i];
        theta[i] = t0 + h;
        assert_int_equal(nn_model_forward(m, theta, z, 0), NN_OK);
        double lp[64];
        for (int j = 0; j < k; j++)
            lp[j] = dot(u + (size_t)j * no, z, (size_t)no);
        theta[i] = t0 - h;
        assert_int_equal(nn_model_forward(m, theta, z, 0), NN_OK);
        for (int j = 0; j < k; j++)
            fd[j * nidx + t] = (lp[j] - dot(u + (size_t)j * no, z, (size_t)no)) / (2 * h);
        theta[i] = t0;
    }
    double worst = 0.0;
    for (int j = 0; j < k; j++) {
        double num = 0.0, den = 0.0;
        for (int t = 0; t < nidx; t++) {
            const int i = idx ? idx[t] : t;
            const double d = fabs(g[(size_t)j * np + i] - fd[j * nidx + t]);
            num = d > num ? d : num;
            den = fabs(fd[j * nidx + t]) > den ? fabs(fd[j * nidx + t]) : den;
        }
        assert_true(den > 0.0); // a test whose gradient vanishes cannot fail: refuse it
        worst = num / den > worst ? num / den : worst;
    }
    free(g);
    free(z);
    free(fd);
    return worst;
}

/* Model = trainable input [h][w][c] followed by the given layers; FD over all parameters
 * (input and layer parameters) with k = 3 upstreams, max_batch 2 (so groups are exercised). */
static void layer_fd(int h, int w, int c, const nn_layer_desc *layers, int nl, double lo, double hi,
                     size_t chunk, const char *what)
{
    nn_model *m = NULL;
    assert_int_equal(nn_build_begin(&m, 2, chunk), NN_OK);
    nn_layer_desc in = nn_layer_desc_zero(NN_L_PARAM_INPUT);
    in.h = h;
    in.w = w;
    in.c = c;
    assert_int_equal(nn_build_add(m, &in), NN_OK);
    for (int i = 0; i < nl; i++)
        assert_int_equal(nn_build_add(m, &layers[i]), NN_OK);
    assert_int_equal(nn_build_finish(m), NN_OK);
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m), k = 3;
    double *theta = malloc((size_t)np * sizeof *theta);
    double *u = malloc((size_t)k * no * sizeof *u);
    uint64_t st = 42 + (uint64_t)layers[0].type;
    fill_uniform(theta, (size_t)np, lo, hi, &st);
    // Keep the input of kinked activations away from the kink (|x| >= 0.05 >> h).
    for (int i = 0; i < np; i++)
        if (fabs(theta[i]) < 0.05) theta[i] = theta[i] < 0 ? -0.05 - theta[i] : 0.05 + theta[i];
    fill_uniform(u, (size_t)k * no, -1.0, 1.0, &st);
    const double err = fd_error(m, theta, k, u, NULL, np, 1e-5);
    print_message("  %-28s params %5d outputs %5d  rel err %.2e\n", what, np, no, err);
    assert_true(err <= 1e-6);
    free(theta);
    free(u);
    nn_model_destroy(m);
}

// ---------------------------------------------------------------------------------------
// Random numbers

static void test_rng_golden(void **state)
{
    (void)state;
    nn_rng r;
    nn_rng_seed(&r, 0);
    // splitmix64 reference output for seed 0 (Vigna's splitmix64.c).
    assert_true(nn_rng_u64(&r) == 0xE220A8397B1DCDAFull);
    assert_true(nn_rng_u64(&r) == 0x6E789E6AA1B965F4ull);
    // The own logarithm agrees with libm to a few ulps.
    uint64_t s = 7;
    for (int i = 0; i < 1000; i++) {
        const double x = exp(-40.0 + 80.0 * test_uniform(&s));
        assert_close(nn_log(x), log(x), 4e-16, 1e-300);
    }
    assert_close(nn_log(1.0), 0.0, 0.0, 0.0);
    // Normals: sample mean and variance of 20000 draws (std errors 0.007 and 0.01).
    nn_rng_seed(&r, 123);
    double m1 = 0, m2 = 0, mt = 0;
    for (int i = 0; i < 20000; i++) {
        const double z = nn_rng_normal(&r), t = nn_rng_trunc_normal(&r);
        m1 += z;
        m2 += z * z;
        assert_true(fabs(t) <= 2.0);
        mt += t * t;
    }
    assert_close(m1 / 20000, 0.0, 0.0, 0.03);
    assert_close(m2 / 20000, 1.0, 0.0, 0.04);
    // Variance of the standard normal truncated to [-2, 2]: 0.87962566103423978^2 = 0.7737.
    assert_close(mt / 20000, 0.87962566103423978 * 0.87962566103423978, 0.0, 0.03);
}

// ---------------------------------------------------------------------------------------
// Hand-computed cases

static void run_single_layer(int h, int w, int c, const nn_layer_desc *d, const double *x,
                             double *y, int ny)
{
    nn_model *m = NULL;
    assert_int_equal(nn_build_begin(&m, 1, 1 << 16), NN_OK);
    nn_layer_desc in = nn_layer_desc_zero(NN_L_PARAM_INPUT);
    in.h = h;
    in.w = w;
    in.c = c;
    assert_int_equal(nn_build_add(m, &in), NN_OK);
    assert_int_equal(nn_build_add(m, d), NN_OK);
    assert_int_equal(nn_build_finish(m), NN_OK);
    assert_int_equal(nn_model_num_outputs(m), ny);
    assert_int_equal(nn_model_forward(m, x, y, 0), NN_OK);
    nn_model_destroy(m);
}

static void test_upsample_hand(void **state)
{
    (void)state;
    // 2 x 2 -> 4 x 4 (TF2 half-pixel): source coordinates -0.25, 0.25, 0.75, 1.25 give the
    // 1D weights x0 | .75 x0 + .25 x1 | .25 x0 + .75 x1 | x1 (edges clamped).
    const double x[4] = {1, 2, 3, 4};
    const double want[16] = {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5,
                             2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0};
    double y[16];
    nn_layer_desc d = nn_layer_desc_zero(NN_L_UPSAMPLE);
    d.factor = 2;
    run_single_layer(2, 2, 1, &d, x, y, 16);
    for (int i = 0; i < 16; i++)
        assert_close(y[i], want[i], 1e-15, 0.0);
    // 1 x 2 -> 3 x 6 with factor 3: coordinates -1/3, 0, 1/3, 2/3, 1, 4/3 give
    // x0, x0, 2/3 x0 + 1/3 x1, 1/3 x0 + 2/3 x1, x1, x1; with x = (0, 3): 0 0 1 2 3 3.
    const double x2[2] = {0, 3};
    const double row[6] = {0, 0, 1, 2, 3, 3};
    double y2[18];
    d.factor = 3;
    run_single_layer(1, 2, 1, &d, x2, y2, 18);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 6; i++)
            assert_close(y2[r * 6 + i], row[i], 1e-15, 1e-15);
    // Channels are interpolated independently: 1 x 1 x 2 -> constant 2 x 2 x 2.
    const double x3[2] = {5, -7};
    double y3[8];
    d.factor = 2;
    run_single_layer(1, 1, 2, &d, x3, y3, 8);
    for (int i = 0; i < 4; i++) {
        assert_close(y3[2 * i], 5.0, 0.0, 0.0);
        assert_close(y3[2 * i + 1], -7.0, 0.0, 0.0);
    }
}

static void test_gnorm_hand(void **state)
{
    (void)state;
    // x = 1 2 3 4 (2 x 1 x 2): mean 2.5, population variance 1.25.
    const double x[4] = {1, 2, 3, 4};
    double y[4];
    nn_layer_desc d = nn_layer_desc_zero(NN_L_GNORM);
    d.eps = 1e-6;
    run_single_layer(2, 1, 2, &d, x, y, 4);
    const double r = 1.0 / sqrt(1.25 + 1e-6);
    for (int i = 0; i < 4; i++)
        assert_close(y[i], (x[i] - 2.5) * r, 1e-15, 0.0);
    // Batch norm: per channel over pixels. Channel 0: 1, 3 (mean 2, var 1); channel 1: 2, 4.
    nn_layer_desc b = nn_layer_desc_zero(NN_L_BATCHNORM);
    b.eps = 1e-5;
    nn_model *m = NULL;
    assert_int_equal(nn_build_begin(&m, 1, 1024), NN_OK);
    nn_layer_desc in = nn_layer_desc_zero(NN_L_PARAM_INPUT);
    in.h = 2;
    in.w = 1;
    in.c = 2;
    assert_int_equal(nn_build_add(m, &in), NN_OK);
    assert_int_equal(nn_build_add(m, &b), NN_OK);
    assert_int_equal(nn_build_finish(m), NN_OK);
    const double th[8] = {1, 2, 3, 4, /*gamma*/ 2, 3, /*beta*/ 0.5, -1};
    assert_int_equal(nn_model_forward(m, th, y, 0), NN_OK);
    const double rb = 1.0 / sqrt(1.0 + 1e-5);
    assert_close(y[0], 2 * (-1) * rb + 0.5, 1e-15, 0.0);
    assert_close(y[1], 3 * (-1) * rb - 1.0, 1e-15, 0.0);
    assert_close(y[2], 2 * (+1) * rb + 0.5, 1e-15, 0.0);
    assert_close(y[3], 3 * (+1) * rb - 1.0, 1e-15, 0.0);
    nn_model_destroy(m);
}

static void test_conv_hand(void **state)
{
    (void)state;
    // 3 x 3 single-channel conv with all-ones kernel, bias 0.5, on a 3 x 3 image 1..9 with zero
    // padding: centre = 45, corner (0,0) = 1+2+4+5 = 12, edge (0,1) = 1+2+3+4+5+6 = 21.
    nn_layer_desc d = nn_layer_desc_zero(NN_L_CONV);
    d.k = 3;
    d.cout = 1;
    double th[9 + 9 + 1];
    for (int i = 0; i < 9; i++)
        th[i] = i + 1;
    for (int i = 0; i < 9; i++)
        th[9 + i] = 1.0;
    th[18] = 0.5;
    double y[9];
    run_single_layer(3, 3, 1, &d, th, y, 9);
    const double want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    for (int i = 0; i < 9; i++)
        assert_close(y[i], want[i] + 0.5, 1e-15, 0.0);
    // Kernel layout [ky][kx][cin][cout]: a kernel with one 1 at (ky=0, kx=2) picks the pixel
    // up-right: y(py, px) = x(py - 1, px + 1).
    for (int i = 0; i < 9; i++)
        th[9 + i] = 0.0;
    th[9 + 2] = 1.0;
    th[18] = 0.0;
    run_single_layer(3, 3, 1, &d, th, y, 9);
    const double want2[9] = {0, 0, 0, 2, 3, 0, 5, 6, 0};
    for (int i = 0; i < 9; i++)
        assert_close(y[i], want2[i], 0.0, 0.0);
}

static void test_conv_direct(void **state)
{
    (void)state;
    // Multi-channel conv against the defining sum (Keras Conv2D 'same', cross-correlation,
    // kernel [ky][kx][cin][cout]): y[py][px][co] = b[co] +
    //   sum_{ky,kx,ci} x[py+ky-2][px+kx-2][ci] W[ky][kx][ci][co] (zero outside), k = 5.
    enum { H = 5, W = 7, CI = 3, CO = 4, K = 5 };
    const int nw = K * K * CI * CO;
    double th[H * W * CI + K * K * CI * CO + CO], y[H * W * CO];
    uint64_t st = 17;
    fill_uniform(th, sizeof th / sizeof th[0], -1, 1, &st);
    const double *x = th, *Wk = th + H * W * CI, *b = Wk + nw;
    for (int chunk = 0; chunk < 2; chunk++) {
        nn_model *m = NULL;
        assert_int_equal(nn_build_begin(&m, 1, chunk ? 200 : 1 << 16), NN_OK);
        nn_layer_desc in = nn_layer_desc_zero(NN_L_PARAM_INPUT), d = nn_layer_desc_zero(NN_L_CONV);
        in.h = H;
        in.w = W;
        in.c = CI;
        d.k = K;
        d.cout = CO;
        assert_int_equal(nn_build_add(m, &in), NN_OK);
        assert_int_equal(nn_build_add(m, &d), NN_OK);
        assert_int_equal(nn_build_finish(m), NN_OK);
        assert_int_equal(nn_model_forward(m, th, y, 0), NN_OK);
        nn_model_destroy(m);
        for (int py = 0; py < H; py++)
            for (int px = 0; px < W; px++)
                for (int co = 0; co < CO; co++) {
                    double s = b[co];
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            for (int ci = 0; ci < CI; ci++) {
                                const int sy = py + ky - 2, sx = px + kx - 2;
                                if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                                s += x[(sy * W + sx) * CI + ci] *
                                     Wk[((ky * K + kx) * CI + ci) * CO + co];
                            }
                    // Different summation order: 1e-13 relative to sums of ~75 O(1) terms.
                    assert_close(y[(py * W + px) * CO + co], s, 1e-13, 1e-13);
                }
    }
}

// ---------------------------------------------------------------------------------------
// Layer gradient tests (central finite differences)

static void test_fd_dense(void **state)
{
    (void)state;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_CONV);
    d.k = 1;
    d.cout = 7;
    layer_fd(1, 1, 5, &d, 1, -1, 1, 1 << 16, "dense (vector input)");
    d.cout = 3;
    layer_fd(3, 4, 5, &d, 1, -1, 1, 1 << 16, "dense per pixel (1x1 conv)");
}

static void test_fd_conv(void **state)
{
    (void)state;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_CONV);
    d.k = 3;
    d.cout = 4;
    layer_fd(5, 6, 3, &d, 1, -1, 1, 1 << 16, "conv 3x3");
    d.k = 5;
    d.cout = 2;
    // A chunk budget of 80 doubles forces one output row per im2col chunk.
    layer_fd(6, 4, 2, &d, 1, -1, 1, 80, "conv 5x5 (chunked im2col)");
    layer_fd(3, 2, 2, &d, 1, -1, 1, 1 << 16, "conv 5x5 on a 3x2 image");
}

static void test_fd_reshape(void **state)
{
    (void)state;
    // reshape alone is linear; put a dense after it so parameters exist beyond the input.
    nn_layer_desc d[2] = {nn_layer_desc_zero(NN_L_RESHAPE), nn_layer_desc_zero(NN_L_CONV)};
    d[0].h = 2;
    d[0].w = 3;
    d[0].c = 2;
    d[1].k = 3;
    d[1].cout = 2;
    layer_fd(1, 1, 12, d, 2, -1, 1, 1 << 16, "reshape 1x1x12 -> 2x3x2 + conv");
}

static void test_fd_activations(void **state)
{
    (void)state;
    const nn_activation acts[5] = {NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_LEAKY_RELU, NN_ACT_SWISH,
                                   NN_ACT_IDENTITY};
    for (int a = 0; a < 5; a++) {
        nn_layer_desc d = nn_layer_desc_zero(NN_L_ACT);
        d.act = acts[a];
        d.slope = 0.2;
        char what[64];
        snprintf(what, sizeof what, "activation %s", nn_activation_str(acts[a]));
        layer_fd(3, 2, 3, &d, 1, -2, 2, 1 << 16, what);
    }
}

static void test_fd_upsample(void **state)
{
    (void)state;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_UPSAMPLE);
    d.factor = 2;
    layer_fd(3, 4, 2, &d, 1, -1, 1, 1 << 16, "upsample x2");
    d.factor = 3;
    layer_fd(2, 3, 1, &d, 1, -1, 1, 1 << 16, "upsample x3");
}

static void test_fd_norms(void **state)
{
    (void)state;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_GNORM);
    d.eps = 1e-6;
    layer_fd(3, 4, 2, &d, 1, -1, 1, 1 << 16, "global normalization");
    nn_layer_desc b = nn_layer_desc_zero(NN_L_BATCHNORM);
    b.eps = 1e-5;
    layer_fd(5, 2, 3, &b, 1, -1, 1, 1 << 16, "batch normalization");
}

static void test_fd_offset_fourier(void **state)
{
    (void)state;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_OFFSET);
    d.scale = 10.0;
    layer_fd(2, 3, 2, &d, 1, -1, 1, 1 << 16, "offset x10");
    nn_layer_desc f = nn_layer_desc_zero(NN_L_FOURIER);
    f.n_freq = 5;
    f.rmin = 0.5;
    f.rmax = 2.0;
    f.seed = 9;
    layer_fd(3, 2, 2, &f, 1, -1, 1, 1 << 16, "fourier features");
}

// ---------------------------------------------------------------------------------------
// Models

static int hoyer_expected_params(int W, int H, const nn_hoyer_cnn_settings *s, const int *rs)
{
    // Independent count from the architecture (Hoyer et al. models.py):
    // z + dense (kernel + bias) + per block conv (k*k*cin*cout + cout) + offset (H_i*W_i*cout).
    int total = 1;
    for (int b = 0; b < s->n_blocks; b++)
        total *= rs[b];
    int h = H / total, w = W / total;
    long n = s->latent_size;
    long F = (long)h * w * s->dense_channels;
    n += (long)s->latent_size * F + F;
    int cin = s->dense_channels;
    for (int b = 0; b < s->n_blocks; b++) {
        h *= rs[b];
        w *= rs[b];
        const int co = s->conv_filters[b];
        n += (long)s->kernel_size * s->kernel_size * cin * co + co;
        if (s->offset_scale != 0) n += (long)h * w * co;
        cin = co;
    }
    return (int)n;
}

static void test_param_counts(void **state)
{
    (void)state;
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    const struct {
        int W, H;
        int resizes[5];
        int count; // summed by hand (block by block) for the report; 0 = formula only
    } cases[] = {
        {96, 32, {1, 2, 2, 2, 1}, 665345},    {192, 64, {1, 2, 2, 2, 1}, 1545473},
        {256, 256, {1, 2, 2, 2, 1}, 6630657}, {60, 20, {1, 1, 2, 2, 1}, 725969},
        {7, 5, {1, 1, 1, 1, 1}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rs[NN_MAX_BLOCKS];
        assert_int_equal(nn_hoyer_cnn_resizes(cases[c].W, cases[c].H, &s, rs), NN_OK);
        for (int b = 0; b < 5; b++)
            assert_int_equal(rs[b], cases[c].resizes[b]);
        nn_model *m = NULL;
        assert_int_equal(nn_model_create_hoyer_cnn(&m, cases[c].W, cases[c].H, &s), NN_OK);
        const int want = hoyer_expected_params(cases[c].W, cases[c].H, &s, rs);
        assert_int_equal(nn_model_num_params(m), want);
        if (cases[c].count) assert_int_equal(want, cases[c].count);
        assert_int_equal(nn_model_num_outputs(m), cases[c].W * cases[c].H);
        print_message("  hoyer_cnn %3d x %3d: resizes (%d,%d,%d,%d,%d), %d parameters\n",
                      cases[c].W, cases[c].H, rs[0], rs[1], rs[2], rs[3], rs[4], want);
        nn_model_destroy(m);
    }
    // Shapes of the 96 x 32 model: dense image 4 x 12 x 32, conv outputs per block.
    {
        nn_model *m = NULL;
        assert_int_equal(nn_model_create_hoyer_cnn(&m, 96, 32, &s), NN_OK);
        const int want[5][3] = {{4, 12, 128}, {8, 24, 64}, {16, 48, 32}, {32, 96, 16}, {32, 96, 1}};
        int b = 0;
        for (int i = 0; i < m->n_layers; i++) {
            const nn_layer *L = &m->layers[i];
            if (L->d.type == NN_L_RESHAPE) {
                assert_int_equal(L->oh, 4);
                assert_int_equal(L->ow, 12);
                assert_int_equal(L->oc, 32);
            }
            if (L->d.type != NN_L_CONV || L->d.k != 5) continue;
            assert_true(b < 5);
            assert_int_equal(L->oh, want[b][0]);
            assert_int_equal(L->ow, want[b][1]);
            assert_int_equal(L->oc, want[b][2]);
            b++;
        }
        assert_int_equal(b, 5);
        nn_model_destroy(m);
    }
    s.auto_resize = 0;
    int rs[NN_MAX_BLOCKS];
    assert_int_equal(nn_hoyer_cnn_resizes(60, 20, &s, rs), NN_ERR_SETTINGS);

    // Fourier MLP: (2F*N + N + 2N) + (L-1)(N*N + 3N) + (N + 1).
    nn_fourier_mlp_settings f;
    nn_fourier_mlp_settings_default(&f);
    f.n_layers = 3;
    nn_model *m = NULL;
    assert_int_equal(nn_model_create_fourier_mlp(&m, 60, 30, &f), NN_OK);
    const int N = f.width, in = 2 * f.n_fourier;
    assert_int_equal(nn_model_num_params(m), in * N + 3 * N + 2 * (N * N + 3 * N) + N + 1);
    assert_int_equal(nn_model_num_outputs(m), 1800);
    nn_model_destroy(m);
    // No hidden layer, no Fourier features: logit = a x + b y + c (3 parameters).
    f.n_layers = 0;
    f.fourier = 0;
    assert_int_equal(nn_model_create_fourier_mlp(&m, 4, 3, &f), NN_OK);
    assert_int_equal(nn_model_num_params(m), 3);
    const double th[3] = {2.0, -1.0, 0.25};
    double z[12];
    assert_int_equal(nn_model_forward(m, th, z, 0), NN_OK);
    // Element (ex, ey) has centre (ex + 0.5, (H - 1 - ey) + 0.5), ey = 0 the top row.
    for (int ey = 0; ey < 3; ey++)
        for (int ex = 0; ex < 4; ex++)
            assert_close(z[ey * 4 + ex], 2.0 * (ex + 0.5) - (2 - ey + 0.5) + 0.25, 1e-15, 0.0);
    nn_model_destroy(m);
}

static void small_hoyer_settings(nn_hoyer_cnn_settings *s)
{
    nn_hoyer_cnn_settings_default(s);
    s->latent_size = 6;
    s->dense_channels = 3;
    s->conv_filters[0] = 5;
    s->conv_filters[1] = 4;
    s->conv_filters[2] = 3;
    s->conv_filters[3] = 2;
    s->max_batch = 2;
    s->precision = NN_PREC_FLOAT64; // finite differences need double
}

// Perturb every parameter (zero-initialized offsets and biases too) so that no term of the
// gradient is trivially zero.
static void random_theta(const nn_model *m, double *theta, uint64_t seed, double amp)
{
    const int np = nn_model_num_params(m);
    assert_int_equal(nn_model_init_params(m, theta, seed), NN_OK);
    uint64_t st = seed * 7 + 1;
    for (int i = 0; i < np; i++)
        theta[i] += amp * (2 * test_uniform(&st) - 1);
}

static void test_fd_hoyer_small(void **state)
{
    (void)state;
    nn_hoyer_cnn_settings s;
    small_hoyer_settings(&s);
    nn_model *m = NULL;
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 16, 8, &s), NN_OK);
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m), k = 3;
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)k * no * sizeof *u);
    random_theta(m, theta, 5, 0.1);
    uint64_t st = 77;
    fill_uniform(u, (size_t)k * no, -1, 1, &st);
    const double err = fd_error(m, theta, k, u, NULL, np, 1e-5);
    print_message("  hoyer_cnn 16x8 (small channels), all %d params: rel err %.2e\n", np, err);
    assert_true(err <= 1e-6);
    free(theta);
    free(u);
    nn_model_destroy(m);
}

static void test_fd_hoyer_default(void **state)
{
    (void)state;
    // Default architecture (128 latent, 32 dense channels, filters 128..1) on 24 x 16:
    // resizes reduce to (1,1,1,2,1) -> dense image 12 x 8. FD on 300 random parameters that
    // cover every layer (indices spread over theta).
    nn_model *m = NULL;
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    s.precision = NN_PREC_FLOAT64;
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 24, 16, &s), NN_OK);
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m), k = 2;
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)k * no * sizeof *u);
    random_theta(m, theta, 11, 0.02);
    uint64_t st = 99;
    fill_uniform(u, (size_t)k * no, -1, 1, &st);
    enum { NI = 300 };
    int idx[NI];
    for (int t = 0; t < NI; t++)
        idx[t] = (int)((double)np * (t + test_uniform(&st)) / NI);
    const double err = fd_error(m, theta, k, u, idx, NI, 1e-5);
    print_message("  hoyer_cnn 24x16 (default channels, %d params), 300 params: rel err %.2e\n", np,
                  err);
    assert_true(err <= 1e-6);
    free(theta);
    free(u);
    nn_model_destroy(m);
}

static void test_fd_mlp(void **state)
{
    (void)state;
    const nn_activation acts[2] = {NN_ACT_SWISH, NN_ACT_LEAKY_RELU};
    for (int a = 0; a < 2; a++) {
        for (int fourier = 0; fourier <= 1; fourier++) {
            nn_fourier_mlp_settings s;
            nn_fourier_mlp_settings_default(&s);
            s.n_layers = 2;
            s.width = 6;
            s.n_fourier = 5;
            s.fourier = fourier;
            s.activation = acts[a];
            s.max_batch = 2;
            s.precision = NN_PREC_FLOAT64;
            nn_model *m = NULL;
            assert_int_equal(nn_model_create_fourier_mlp(&m, 9, 5, &s), NN_OK);
            const int np = nn_model_num_params(m), no = nn_model_num_outputs(m), k = 3;
            double *theta = malloc((size_t)np * sizeof *theta);
            double *u = malloc((size_t)k * no * sizeof *u);
            random_theta(m, theta, 3, 0.3);
            uint64_t st = 5;
            fill_uniform(u, (size_t)k * no, -1, 1, &st);
            // Step 1e-6 for the leaky ReLU: a kink crossing needs a pre-activation within
            // ~1e-6 of 0 among 45*6*2 of them; with this seed there is none (the test would
            // fail loudly otherwise, not pass silently).
            const double err = fd_error(m, theta, k, u, NULL, np, a == 1 ? 1e-6 : 1e-5);
            print_message("  fourier_mlp 9x5 %s fourier=%d, %d params: rel err %.2e\n",
                          nn_activation_str(acts[a]), fourier, np, err);
            assert_true(err <= 1e-6);
            free(theta);
            free(u);
            nn_model_destroy(m);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Batching, state, determinism, initialization

static void test_batched_backward(void **state)
{
    (void)state;
    nn_hoyer_cnn_settings s;
    small_hoyer_settings(&s);
    s.max_batch = 2;
    nn_model *m = NULL;
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 16, 8, &s), NN_OK);
    const int np = nn_model_num_params(m), no = nn_model_num_outputs(m), k = 5;
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)k * no * sizeof *u);
    double *g = malloc((size_t)k * np * sizeof *g), *g1 = malloc((size_t)np * sizeof *g1);
    double *z = malloc((size_t)no * sizeof *z);
    random_theta(m, theta, 8, 0.1);
    uint64_t st = 3;
    fill_uniform(u, (size_t)k * no, -1, 1, &st);
    // Backward before any kept forward, and after a value-only forward: NN_ERR_STATE.
    assert_int_equal(nn_model_backward(m, 1, u, g), NN_ERR_STATE);
    assert_int_equal(nn_model_forward(m, theta, z, 0), NN_OK);
    assert_int_equal(nn_model_backward(m, 1, u, g), NN_ERR_STATE);
    assert_int_equal(nn_model_forward(m, theta, z, 1), NN_OK);
    assert_int_equal(nn_model_backward(m, k, u, g), NN_OK); // groups of 2, 2, 1
    // Each row equals a separate k = 1 backward after the same forward (backward repeatable).
    // GEMMs of other shapes may round differently: 1e-12 relative to the row's largest entry.
    for (int j = 0; j < k; j++) {
        assert_int_equal(nn_model_backward(m, 1, u + (size_t)j * no, g1), NN_OK);
        double mx = 0;
        for (int i = 0; i < np; i++)
            mx = fabs(g1[i]) > mx ? fabs(g1[i]) : mx;
        for (int i = 0; i < np; i++)
            assert_close(g[(size_t)j * np + i], g1[i], 0.0, 1e-12 * mx);
    }
    assert_int_equal(nn_model_backward(m, 0, u, g), NN_ERR_INVALID);
    free(theta);
    free(u);
    free(g);
    free(g1);
    free(z);
    nn_model_destroy(m);
}

static void test_determinism(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        nn_model *a = NULL, *b = NULL;
        if (kind == 0) {
            assert_int_equal(nn_model_create_hoyer_cnn(&a, 48, 16, NULL), NN_OK);
            assert_int_equal(nn_model_create_hoyer_cnn(&b, 48, 16, NULL), NN_OK);
        } else {
            assert_int_equal(nn_model_create_fourier_mlp(&a, 30, 10, NULL), NN_OK);
            assert_int_equal(nn_model_create_fourier_mlp(&b, 30, 10, NULL), NN_OK);
        }
        const int np = nn_model_num_params(a), no = nn_model_num_outputs(a);
        double *ta = malloc((size_t)np * sizeof *ta), *tb = malloc((size_t)np * sizeof *tb);
        double *za = malloc((size_t)no * sizeof *za), *zb = malloc((size_t)no * sizeof *zb);
        assert_int_equal(nn_model_init_params(a, ta, 2024), NN_OK);
        assert_int_equal(nn_model_init_params(b, tb, 2024), NN_OK);
        assert_memory_equal(ta, tb, (size_t)np * sizeof *ta);
        assert_int_equal(nn_model_forward(a, ta, za, 1), NN_OK);
        assert_int_equal(nn_model_forward(b, tb, zb, 0), NN_OK);
        assert_memory_equal(za, zb, (size_t)no * sizeof *za);
        double sd = 0;
        for (int e = 0; e < no; e++)
            sd += za[e] * za[e];
        assert_true(sd > 0); // the network output is not trivially zero
        assert_int_equal(nn_model_init_params(b, tb, 2025), NN_OK);
        assert_memory_not_equal(ta, tb, (size_t)np * sizeof *ta);
        free(ta);
        free(tb);
        free(za);
        free(zb);
        nn_model_destroy(a);
        nn_model_destroy(b);
    }
}

static void test_init_hoyer(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        // 96 x 32: dense kernel 128 x 1536 (orthonormal rows); 8 x 8: 128 x 32 (orthonormal
        // columns, the other branch of TF's orthogonal initializer).
        const int W = big ? 96 : 8, H = big ? 32 : 8;
        nn_model *m = NULL;
        assert_int_equal(nn_model_create_hoyer_cnn(&m, W, H, NULL), NN_OK);
        const int np = nn_model_num_params(m);
        double *t = malloc((size_t)np * sizeof *t);
        assert_int_equal(nn_model_init_params(m, t, 1), NN_OK);
        const nn_layer *L = &m->layers[1];
        const int rows = L->ic, cols = L->oc;
        const double gain = sqrt(cols / 128.0 > 1 ? cols / 128.0 : 1);
        const double *K = t + L->poff;
        if (rows < cols) {
            for (int a = 0; a < rows; a += 7)
                for (int b = 0; b < rows; b += 5)
                    assert_close(dot(K + (size_t)a * cols, K + (size_t)b * cols, (size_t)cols),
                                 a == b ? gain * gain : 0.0, 0.0, 1e-12 * gain * gain);
        } else {
            for (int a = 0; a < cols; a++)
                for (int b = 0; b < cols; b++) {
                    double s = 0;
                    for (int r = 0; r < rows; r++)
                        s += K[(size_t)r * cols + a] * K[(size_t)r * cols + b];
                    assert_close(s, a == b ? gain * gain : 0.0, 0.0, 1e-12);
                }
        }
        // Dense bias zero; latent ~ N(0, 1); conv kernels truncated normal with
        // std sqrt(1/fan_in), |w| <= 2 sqrt(1/fan_in)/0.8796; conv bias and offsets zero.
        for (int c = 0; c < cols; c++)
            assert_true(K[(size_t)rows * cols + c] == 0.0);
        for (int i = 0; i < m->n_layers; i++) {
            const nn_layer *C = &m->layers[i];
            if (C->d.type == NN_L_OFFSET)
                for (size_t p = 0; p < C->n_params; p++)
                    assert_true(t[C->poff + p] == 0.0);
            if (C->d.type != NN_L_CONV || C->d.k == 1) continue;
            const size_t nw = (size_t)C->d.k * C->d.k * C->ic * C->oc;
            const double sd = sqrt(1.0 / (C->d.k * C->d.k * C->ic)) / 0.87962566103423978;
            double v = 0;
            for (size_t p = 0; p < nw; p++) {
                assert_true(fabs(t[C->poff + p]) <= 2 * sd);
                v += t[C->poff + p] * t[C->poff + p];
            }
            if (nw >= 10000) // variance of the truncated normal: (0.8796 sd)^2 = 1/fan_in
                assert_close(v / nw, 1.0 / (C->d.k * C->d.k * C->ic), 0.05, 0.0);
            for (int c = 0; c < C->oc; c++)
                assert_true(t[C->poff + nw + c] == 0.0);
        }
        free(t);
        nn_model_destroy(m);
    }
}

static void test_errors_and_summary(void **state)
{
    (void)state;
    nn_model_destroy(NULL);
    assert_string_equal(nn_status_str(NN_OK), "ok");
    assert_string_equal(nn_status_str(NN_ERR_SETTINGS), "invalid settings");
    nn_activation a;
    assert_int_equal(nn_activation_parse("swish", &a), 0);
    assert_int_equal(a, NN_ACT_SWISH);
    assert_int_equal(nn_activation_parse("relu6", &a), -1);
    nn_model *m = (nn_model *)1;
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    s.kernel_size = 4;
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 96, 32, &s), NN_ERR_SETTINGS);
    assert_null(m);
    nn_hoyer_cnn_settings_default(&s);
    s.conv_filters[4] = 2;
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 96, 32, &s), NN_ERR_SETTINGS);
    assert_int_equal(nn_model_create_hoyer_cnn(&m, 0, 32, NULL), NN_ERR_INVALID);
    assert_int_equal(nn_model_create_hoyer_cnn(NULL, 96, 32, NULL), NN_ERR_INVALID);
    nn_fourier_mlp_settings f;
    nn_fourier_mlp_settings_default(&f);
    f.fourier_rmax = 1.0; // < rmin
    assert_int_equal(nn_model_create_fourier_mlp(&m, 10, 10, &f), NN_ERR_SETTINGS);
    nn_fourier_mlp_settings_default(&f);
    f.bn_eps = 0;
    assert_int_equal(nn_model_create_fourier_mlp(&m, 10, 10, &f), NN_ERR_SETTINGS);

    assert_int_equal(nn_model_create_hoyer_cnn(&m, 96, 32, NULL), NN_OK);
    FILE *tf = tmpfile();
    assert_non_null(tf);
    nn_model_summary(m, tf);
    rewind(tf);
    char buf[8192];
    const size_t n = fread(buf, 1, sizeof buf - 1, tf);
    buf[n] = 0;
    fclose(tf);
    assert_non_null(strstr(buf, "upsampling factors (1,2,2,2,1)"));
    assert_non_null(strstr(buf, "total parameters: 665345"));
    assert_non_null(strstr(buf, "conv 5x5"));
    assert_int_equal(nn_model_forward(m, NULL, NULL, 0), NN_ERR_INVALID);
    nn_model_destroy(m);
}

// ---------------------------------------------------------------------------------------
// float32 against float64
//
// Tolerances. float's unit roundoff is u = 2^-24 = 6e-8. A conv output or a weight-gradient
// entry is a sum of n products of float-rounded values: its error is at most ~n u times the
// sum of the magnitudes (the worst case), typically sqrt(n) u (rounding errors of random
// sign). The norm-wise relative errors below (max |float32 - float64| / max |float64|) are
// therefore held to a per-layer bound n_max u with n_max the longest sum in the test (taps
// K = k*k*cin, or the pixels of a weight-gradient sum), and for a whole network to the sum of
// those over its depth.

/* max_i |a_i - b_i| / max_i |b_i| over each of k rows of length n; the worst row. */
static double rel_diff_rows(const double *a, const double *b, int k, size_t n)
{
    double worst = 0.0;
    for (int j = 0; j < k; j++) {
        double num = 0.0, den = 0.0;
        for (size_t i = 0; i < n; i++) {
            num = fmax(num, fabs(a[(size_t)j * n + i] - b[(size_t)j * n + i]));
            den = fmax(den, fabs(b[(size_t)j * n + i]));
        }
        assert_true(den > 0.0);
        worst = fmax(worst, num / den);
    }
    return worst;
}

/* Central differences (step h) of L_j = u_j . logits of the double model md at theta on the
 * parameters idx[0..nidx) (all when idx is NULL): fd[j*nidx + t]. */
static void fd_values(nn_model *md, double *theta, int k, const double *u, const int *idx, int nidx,
                      double h, double *fd)
{
    const int no = nn_model_num_outputs(md);
    double *z = malloc((size_t)no * sizeof *z);
    assert_non_null(z);
    for (int t = 0; t < nidx; t++) {
        const int i = idx ? idx[t] : t;
        const double t0 = theta[i];
        double lp[64];
        theta[i] = t0 + h;
        assert_int_equal(nn_model_forward(md, theta, z, 0), NN_OK);
        for (int j = 0; j < k; j++)
            lp[j] = dot(u + (size_t)j * no, z, (size_t)no);
        theta[i] = t0 - h;
        assert_int_equal(nn_model_forward(md, theta, z, 0), NN_OK);
        for (int j = 0; j < k; j++)
            fd[(size_t)j * nidx + t] = (lp[j] - dot(u + (size_t)j * no, z, (size_t)no)) / (2 * h);
        theta[i] = t0;
    }
    free(z);
}

/* Logits and k gradients of model m at theta. */
static void run_model(nn_model *m, const double *theta, int k, const double *u, double *z,
                      double *g)
{
    assert_int_equal(nn_model_forward(m, theta, z, 1), NN_OK);
    assert_int_equal(nn_model_backward(m, k, u, g), NN_OK);
}

/* Compare the float32 model mf with the float64 model md (same layout) at theta: logits,
 * gradients, and the float32 gradient against central differences of md on idx (all when NULL).
 * Returns the three norm-wise relative errors in err[3]. */
/* float32 model mf against float64 model md (logits, gradients) and against central
 * differences of md on the parameters idx (all when NULL); fd_ref holds those differences
 * when already computed for md (k x nidx), else NULL. */
static void compare_f32(nn_model *md, nn_model *mf, double *theta, int k, const double *u,
                        const int *idx, int nidx, const double *fd_ref, double err[3])
{
    const int np = nn_model_num_params(md), no = nn_model_num_outputs(md);
    assert_int_equal(nn_model_num_params(mf), np);
    double *zd = malloc((size_t)no * sizeof *zd), *zf = malloc((size_t)no * sizeof *zf);
    double *gd = malloc((size_t)k * np * sizeof *gd), *gf = malloc((size_t)k * np * sizeof *gf);
    double *fd = malloc((size_t)k * nidx * sizeof *fd), *gs = malloc((size_t)k * nidx * sizeof *gs);
    assert_true(zd && zf && gd && gf && fd && gs);
    run_model(md, theta, k, u, zd, gd);
    run_model(mf, theta, k, u, zf, gf);
    err[0] = rel_diff_rows(zf, zd, 1, (size_t)no);
    err[1] = rel_diff_rows(gf, gd, k, (size_t)np);
    if (fd_ref)
        memcpy(fd, fd_ref, (size_t)k * nidx * sizeof *fd);
    else
        fd_values(md, theta, k, u, idx, nidx, 1e-5, fd);
    for (int j = 0; j < k; j++)
        for (int t = 0; t < nidx; t++)
            gs[(size_t)j * nidx + t] = gf[(size_t)j * np + (idx ? idx[t] : t)];
    err[2] = rel_diff_rows(gs, fd, k, (size_t)nidx);
    assert_true(err[1] > 0.0); // the float path really ran (float64 would agree to the bit)
    free(zd);
    free(zf);
    free(gd);
    free(gf);
    free(fd);
    free(gs);
}

/* One layer after a trainable input [h][w][c], built in float64 and in float32 (use_dnnl). */
static void layer_f32(int h, int w, int c, const nn_layer_desc *d, int use_dnnl, size_t chunk,
                      double amp, double tol, const char *what)
{
    nn_model *m[2] = {NULL, NULL};
    for (int p = 0; p < 2; p++) {
        assert_int_equal(nn_build_begin(&m[p], 2, chunk), NN_OK);
        m[p]->prec = p ? NN_PREC_FLOAT32 : NN_PREC_FLOAT64;
        m[p]->use_dnnl = use_dnnl;
        nn_layer_desc in = nn_layer_desc_zero(NN_L_PARAM_INPUT);
        in.h = h;
        in.w = w;
        in.c = c;
        assert_int_equal(nn_build_add(m[p], &in), NN_OK);
        assert_int_equal(nn_build_add(m[p], d), NN_OK);
        assert_int_equal(nn_build_finish(m[p]), NN_OK);
    }
    assert_int_equal(m[1]->layers[1].f32, 1);
    assert_int_equal(m[1]->layers[1].dnnl != NULL,
                     use_dnnl && nn_have_dnnl() && d->k > 1 && d->cout > 1);
    const int np = nn_model_num_params(m[0]), no = nn_model_num_outputs(m[0]), k = 3;
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)k * no * sizeof *u);
    uint64_t st = 1234;
    fill_uniform(theta, (size_t)np, -amp, amp, &st);
    // Keep kinked activations' inputs away from the kink (|x| >= 0.05 >> the FD step).
    for (int i = 0; i < np; i++)
        if (fabs(theta[i]) < 0.05) theta[i] = theta[i] < 0 ? -0.05 - theta[i] : 0.05 + theta[i];
    fill_uniform(u, (size_t)k * no, -1, 1, &st);
    double err[3];
    compare_f32(m[0], m[1], theta, k, u, NULL, np, NULL, err);
    print_message("  float32 %-30s logits %.1e grad %.1e vs fd %.1e (tol %.0e)\n", what, err[0],
                  err[1], err[2], tol);
    assert_true(err[0] <= tol);
    assert_true(err[1] <= tol);
    assert_true(err[2] <= tol + 1e-7); // + the FD error of the double model (<= 1e-7 above)
    free(theta);
    free(u);
    nn_model_destroy(m[0]);
    nn_model_destroy(m[1]);
}

static void test_f32_layers(void **state)
{
    (void)state;
    const double u = 0x1p-24;
    for (int dn = 0; dn <= nn_have_dnnl(); dn++) {
        nn_layer_desc d = nn_layer_desc_zero(NN_L_CONV);
        // Tolerance n u, n the longest sum (taps K = k*k*cin or pixels P of a weight gradient).
        // 5x5 conv 8 -> 6 on 12 x 10: sums of K = 200 taps, weight gradients of 120 pixels;
        // the own path in chunks of one row (chunk = one im2col row).
        d.k = 5;
        d.cout = 6;
        layer_f32(10, 12, 8, &d, dn, dn ? 1 << 20 : 12 * 200, 1, 200 * u,
                  dn ? "conv 5x5 8->6 (oneDNN)" : "conv 5x5 8->6 (im2col, chunked)");
        // 5x5 conv 16 -> 1 (the direct kernel in both builds): K = 400.
        d.cout = 1;
        layer_f32(10, 12, 16, &d, dn, 1 << 20, 1, 400 * u, "conv 5x5 16->1 (direct)");
        layer_f32(10, 12, 5, &d, dn, 1 << 20, 1, 125 * u, "conv 5x5 5->1 (direct, any cin)");
        // 3x3 conv on a 3 x 2 image: every output pixel touches the border.
        d.k = 3;
        d.cout = 3;
        layer_f32(2, 3, 4, &d, dn, 1 << 20, 1, 36 * u, "conv 3x3 on 3x2 (border)");
        // per-pixel dense (the MLP's layers): K = 7, weight gradients over 36 pixels.
        d.k = 1;
        d.cout = 5;
        layer_f32(6, 6, 7, &d, dn, 1 << 20, 1, 36 * u, "dense per pixel 7->5");
    }
    // Element-wise layers: a few roundings per value (tanh's rational approximation: a few
    // ulps) -> 16 u; inputs in [-9, 9] cover tanh's clamp at 7.9 and its small-x branch is
    // met by the FD steps.
    static const char *const an[] = {"tanh", "sigmoid", "leaky_relu", "swish", "identity"};
    for (int a = 0; a <= NN_ACT_IDENTITY; a++) {
        nn_layer_desc d = nn_layer_desc_zero(NN_L_ACT);
        d.act = (nn_activation)a;
        d.slope = 0.2;
        char what[64];
        snprintf(what, sizeof what, "activation %s", an[a]);
        layer_f32(3, 4, 3, &d, 0, 1 << 20, a == NN_ACT_TANH ? 9 : 3, 16 * u, what);
    }
    nn_layer_desc d = nn_layer_desc_zero(NN_L_UPSAMPLE);
    d.factor = 2;
    layer_f32(3, 4, 3, &d, 0, 1 << 20, 1, 16 * u, "upsample x2");
    d = nn_layer_desc_zero(NN_L_OFFSET);
    d.scale = 10;
    layer_f32(3, 4, 3, &d, 0, 1 << 20, 1, 16 * u, "offset x10");
    // Normalizations: statistics over n = 36 values in double, then a few float roundings per
    // value; their backward sums 36 float products per upstream: 36 u.
    d = nn_layer_desc_zero(NN_L_GNORM);
    d.eps = 1e-6;
    layer_f32(3, 4, 3, &d, 0, 1 << 20, 1, 36 * u, "global normalization");
    d = nn_layer_desc_zero(NN_L_BATCHNORM);
    d.eps = 1e-5;
    layer_f32(3, 4, 3, &d, 0, 1 << 20, 1, 36 * u, "batch normalization");
}

static void test_f32_hoyer(void **state)
{
    (void)state;
    // The default architecture (filters 128, 64, 32, 16, 1; K up to 25*128 = 3200 taps) on
    // 24 x 16 and 48 x 16, float32 on both paths against float64 and against central
    // differences of float64 on 300 parameters spread over every layer. Five conv layers of
    // sums of at most 3200 taps: sum_l K_l u ~ (800 + 3200 + 1600 + 800 + 400) u = 4e-4 is
    // the bound for the logits and gradients (observed: ~1e-6 to 1e-5).
    const double tol = 6800 * 0x1p-24;
    for (int sz = 0; sz < 2; sz++) {
        nn_hoyer_cnn_settings s;
        nn_hoyer_cnn_settings_default(&s);
        const int W = sz ? 48 : 24, H = 16;
        nn_model *md = NULL;
        s.precision = NN_PREC_FLOAT64;
        assert_int_equal(nn_model_create_hoyer_cnn(&md, W, H, &s), NN_OK);
        const int np = nn_model_num_params(md), no = nn_model_num_outputs(md), k = 2;
        double *theta = malloc((size_t)np * sizeof *theta);
        double *u = malloc((size_t)k * no * sizeof *u);
        random_theta(md, theta, 21, 0.02);
        uint64_t st = 4;
        fill_uniform(u, (size_t)k * no, -1, 1, &st);
        enum { NI = 300 };
        int idx[NI];
        for (int t = 0; t < NI; t++)
            idx[t] = (int)((double)np * (t + test_uniform(&st)) / NI);
        // the central differences of float64, shared by both float32 paths
        double *fd = malloc((size_t)k * NI * sizeof *fd);
        assert_true(theta && u && fd);
        fd_values(md, theta, k, u, idx, NI, 1e-5, fd);
        for (int dn = 0; dn <= nn_have_dnnl(); dn++) {
            nn_model *mf = NULL;
            s.precision = NN_PREC_FLOAT32;
            s.use_dnnl = dn;
            s.chunk_kib = 64; // several im2col chunks per conv on the own path
            assert_int_equal(nn_model_create_hoyer_cnn(&mf, W, H, &s), NN_OK);
            double err[3];
            compare_f32(md, mf, theta, k, u, idx, NI, fd, err);
            print_message("  float32 hoyer_cnn %dx%d %s: logits %.1e grad %.1e vs fd %.1e "
                          "(tol %.0e)\n",
                          W, H, dn ? "oneDNN" : "im2col", err[0], err[1], err[2], tol);
            assert_true(err[0] <= tol);
            assert_true(err[1] <= tol);
            assert_true(err[2] <= tol + 1e-6);
            if (dn) {
                // oneDNN against the library's own float32 path directly: each is within tol
                // of float64, so within 2 tol of each other.
                nn_model *mo = NULL;
                s.use_dnnl = 0;
                assert_int_equal(nn_model_create_hoyer_cnn(&mo, W, H, &s), NN_OK);
                double *za = malloc((size_t)no * sizeof *za), *zb = malloc((size_t)no * sizeof *zb);
                double *ga = malloc((size_t)k * np * sizeof *ga);
                double *gb = malloc((size_t)k * np * sizeof *gb);
                assert_true(za && zb && ga && gb);
                run_model(mf, theta, k, u, za, ga);
                run_model(mo, theta, k, u, zb, gb);
                const double ez = rel_diff_rows(za, zb, 1, (size_t)no);
                const double eg = rel_diff_rows(ga, gb, k, (size_t)np);
                print_message("  float32 hoyer_cnn %dx%d oneDNN vs im2col: logits %.1e grad %.1e\n",
                              W, H, ez, eg);
                assert_true(ez <= 2 * tol && eg <= 2 * tol);
                free(za);
                free(zb);
                free(ga);
                free(gb);
                nn_model_destroy(mo);
            }
            nn_model_destroy(mf);
        }
        free(fd);
        free(theta);
        free(u);
        nn_model_destroy(md);
    }
}

// The program's settings around the network: two OpenMP threads with dynamic adjustment on
// (fem/ enables it for CHOLMOD). oneDNN's kernels must still get every thread they split
// their work for (conv32.c turns the adjustment off around them); a loaded machine is where a
// missing thread showed, as garbage weight gradients.
static void test_f32_omp_dynamic(void **state)
{
    (void)state;
#ifdef TEST_HAVE_OPENMP
    if (!nn_have_dnnl()) skip();
    const int dyn = omp_get_dynamic(), nt = omp_get_max_threads();
    omp_set_num_threads(2);
    omp_set_dynamic(1);
    nn_hoyer_cnn_settings s;
    nn_hoyer_cnn_settings_default(&s);
    nn_model *md = NULL, *mf = NULL;
    s.precision = NN_PREC_FLOAT64;
    assert_int_equal(nn_model_create_hoyer_cnn(&md, 48, 16, &s), NN_OK);
    s.precision = NN_PREC_FLOAT32;
    assert_int_equal(nn_model_create_hoyer_cnn(&mf, 48, 16, &s), NN_OK);
    const int np = nn_model_num_params(md), no = nn_model_num_outputs(md);
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)no * sizeof *u);
    random_theta(md, theta, 9, 0.02);
    uint64_t st = 8;
    fill_uniform(u, (size_t)no, -1, 1, &st);
    int idx[50];
    for (int t = 0; t < 50; t++)
        idx[t] = (int)((double)np * (t + test_uniform(&st)) / 50);
    double err[3];
    compare_f32(md, mf, theta, 1, u, idx, 50, NULL, err);
    assert_int_equal(omp_get_dynamic(), 1); // restored after the oneDNN calls
    print_message("  float32 oneDNN, 2 threads, dynamic on: logits %.1e grad %.1e\n", err[0],
                  err[1]);
    assert_true(err[0] <= 6800 * 0x1p-24 && err[1] <= 6800 * 0x1p-24);
    free(theta);
    free(u);
    nn_model_destroy(md);
    nn_model_destroy(mf);
    omp_set_dynamic(dyn);
    omp_set_num_threads(nt);
#else
    skip();
#endif
}

static void test_f32_mlp(void **state)
{
    (void)state;
    // The default Fourier MLP (500 features -> 20 -> 1) on 30 x 20: the first dense layer
    // sums K = 500 terms, its weight gradients 600 pixels: bound (500 + 600 + 20) u.
    const double tol = 1120 * 0x1p-24;
    nn_fourier_mlp_settings s;
    nn_fourier_mlp_settings_default(&s);
    nn_model *md = NULL, *mf = NULL;
    s.precision = NN_PREC_FLOAT64;
    assert_int_equal(nn_model_create_fourier_mlp(&md, 30, 20, &s), NN_OK);
    s.precision = NN_PREC_FLOAT32;
    assert_int_equal(nn_model_create_fourier_mlp(&mf, 30, 20, &s), NN_OK);
    const int np = nn_model_num_params(md), no = nn_model_num_outputs(md), k = 2;
    double *theta = malloc((size_t)np * sizeof *theta), *u = malloc((size_t)k * no * sizeof *u);
    random_theta(md, theta, 5, 0.1);
    uint64_t st = 6;
    fill_uniform(u, (size_t)k * no, -1, 1, &st);
    enum { NI = 200 };
    int idx[NI];
    for (int t = 0; t < NI; t++)
        idx[t] = (int)((double)np * (t + test_uniform(&st)) / NI);
    double err[3];
    compare_f32(md, mf, theta, k, u, idx, NI, NULL, err);
    print_message("  float32 fourier_mlp 30x20: logits %.1e grad %.1e vs fd %.1e (tol %.0e)\n",
                  err[0], err[1], err[2], tol);
    assert_true(err[0] <= tol);
    assert_true(err[1] <= tol);
    assert_true(err[2] <= tol + 1e-6);
    free(theta);
    free(u);
    nn_model_destroy(md);
    nn_model_destroy(mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_golden),       cmocka_unit_test(test_upsample_hand),
        cmocka_unit_test(test_gnorm_hand),       cmocka_unit_test(test_conv_hand),
        cmocka_unit_test(test_conv_direct),      cmocka_unit_test(test_fd_dense),
        cmocka_unit_test(test_fd_conv),          cmocka_unit_test(test_fd_reshape),
        cmocka_unit_test(test_fd_activations),   cmocka_unit_test(test_fd_upsample),
        cmocka_unit_test(test_fd_norms),         cmocka_unit_test(test_fd_offset_fourier),
        cmocka_unit_test(test_param_counts),     cmocka_unit_test(test_fd_hoyer_small),
        cmocka_unit_test(test_fd_hoyer_default), cmocka_unit_test(test_fd_mlp),
        cmocka_unit_test(test_batched_backward), cmocka_unit_test(test_f32_layers),
        cmocka_unit_test(test_f32_hoyer),        cmocka_unit_test(test_f32_mlp),
        cmocka_unit_test(test_f32_omp_dynamic),  cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_init_hoyer),       cmocka_unit_test(test_errors_and_summary),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
