// nn/src/layers32.c: float kernels of the layers of a float32 network (activations, bilinear
// upsampling, global and batch normalization, offsets, reshape; convolutions in conv32.c).
// Their bodies are those of the double path, in layers_tmpl.h; this file holds what float does
// its own way: tanh as a rational approximation that vectorizes, the sums of the global
// normalization, and vector clones (NN_CLONES) of the hot loops.
//
// What stays double, and why:
//   - normalization statistics (mean, variance, and the two sums of the backward pass) run
//     over a whole image, up to 2 million values at 256 x 256 x 32: a float running sum would
//     carry a relative error up to n u ~ 0.1; in double it is negligible, and the sums cost
//     one pass that the float data feed;
//   - every parameter gradient (offsets, batch-norm gamma and beta, conv weights and biases)
//     is written or summed into the double gradient of theta;
//   - the offsets b are read from the double theta and rounded once per element.
#include <math.h>
#include <string.h>

#include "nn_internal.h"

// tanh in float: the [13/6] rational minimax approximation on |x| <= 7.90531 used by Eigen's
// generic_fast_tanh_float (tanh rounds to +-1 in float beyond that). Branch-free, so the loop
// vectorizes; its error is a few float ulps (checked against tanh in tests/test_nn.c).
static NN_CLONES void tanh_vec_f(const float *x, float *y, size_t n)
{
    const float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f, a5 = 1.48572235717979e-05f,
                a7 = 5.12229709037114e-08f, a9 = -8.60467152213735e-11f,
                a11 = 2.00018790482477e-13f, a13 = -2.76076847742355e-16f;
    const float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f, b4 = 1.18534705686654e-04f,
                b6 = 1.19825839466702e-06f;
    const float clamp = 7.90531110763549805f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        v = v > clamp ? clamp : (v < -clamp ? -clamp : v);
        const float v2 = v * v;
        float p = a13;
        p = p * v2 + a11;
        p = p * v2 + a9;
        p = p * v2 + a7;
        p = p * v2 + a5;
        p = p * v2 + a3;
        p = p * v2 + a1;
        p = p * v;
        float q = b6;
        q = q * v2 + b4;
        q = q * v2 + b2;
        q = q * v2 + b0;
        y[i] = fabsf(x[i]) < 0.0004f ? x[i] : p / q;
    }
}

// Sums over a whole image in double, from float partial sums: 16 lanes (a float reduction
// in a fixed lane order, so that the compiler vectorizes it without reassociating), each lane
// summing 256 terms of one block of 4096 before the block is added in double. The rounding
// error is that of 256-term float sums (~16 u relative in practice), not of n terms.
#define NN_LANES 16
#define NN_BLOCK 4096

// 16 float lanes as one GNU C vector (one AVX-512 register; the compiler splits it on
// narrower ISAs): the lane order is fixed, so the sums are reproducible.
typedef float nn_v16 __attribute__((vector_size(64)));

// Unaligned load of 16 floats (memcpy: no aliasing or alignment assumption).
#define LOAD_V16(v, p) memcpy(&(v), (p), sizeof(nn_v16))

// s[0] = sum a, s[1] = sum a*b (b NULL: sum (a - shift)^2).
static NN_CLONES void sums_f(const float *a, const float *b, float shift, size_t n, double s[2])
{
    s[0] = s[1] = 0.0;
    const nn_v16 sh = {shift, shift, shift, shift, shift, shift, shift, shift,
                       shift, shift, shift, shift, shift, shift, shift, shift};
    for (size_t i0 = 0; i0 < n; i0 += NN_BLOCK) {
        const size_t m = n - i0 < NN_BLOCK ? n - i0 : NN_BLOCK;
        const float *x = a + i0, *y = b ? b + i0 : NULL;
        nn_v16 l0 = {0}, l1 = {0};
        float r0 = 0.0f, r1 = 0.0f;
        size_t i = 0;
        if (y) {
            for (; i + NN_LANES <= m; i += NN_LANES) {
                nn_v16 xv, yv;
                LOAD_V16(xv, x + i);
                LOAD_V16(yv, y + i);
                l0 += xv;
                l1 += xv * yv;
            }
            for (; i < m; i++) {
                r0 += x[i];
                r1 += x[i] * y[i];
            }
        } else {
            for (; i + NN_LANES <= m; i += NN_LANES) {
                nn_v16 d;
                LOAD_V16(d, x + i);
                d -= sh;
                l0 += d;
                l1 += d * d;
            }
            for (; i < m; i++) {
                const float d = x[i] - shift;
                r0 += d;
                r1 += d * d;
            }
        }
        double t0 = r0, t1 = r1;
        for (int l = 0; l < NN_LANES; l++) {
            t0 += (double)l0[l];
            t1 += (double)l1[l];
        }
        s[0] += t0;
        s[1] += t1;
    }
}

static NN_CLONES void affine_f(const float *x, float *y, size_t n, float a, float b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] - a) * b;
}

static void gnorm_forward_f(nn_layer *L, size_t n, const float *x, float *y)
{
    double s[2];
    sums_f(x, NULL, 0.0f, n, s);
    const double mean = s[0] / (double)n;
    // Second pass around the mean (no cancellation); its mean residual s[0] corrects the
    // rounding of mean to float.
    sums_f(x, NULL, (float)mean, n, s);
    const double d = s[0] / (double)n, v = s[1] / (double)n - d * d;
    const double r = 1.0 / sqrt(v + L->d.eps);
    affine_f(x, y, n, (float)mean, (float)r);
    L->mean = mean;
    L->rstd = r;
}

// s1 = sum dy_j, s2 = sum dy_j y in double (layers_tmpl.h): for one upstream, sums_f; for
// several, whose gradients interleave by pixel, each pixel's C terms in float.
static inline void gnorm_sums_f(size_t P, int C, int kb, int j, const float *y, const float *dy,
                                double *s1, double *s2)
{
    if (kb == 1) {
        double s[2];
        sums_f(dy, y, 0.0f, P * C, s);
        *s1 = s[0];
        *s2 = s[1];
        return;
    }
    double a = 0.0, b = 0.0;
    for (size_t p = 0; p < P; p++) {
        const float *g = dy + (p * kb + j) * C, *yp = y + p * C;
        float b1 = 0.0f, b2 = 0.0f;
        for (int c = 0; c < C; c++) {
            b1 += g[c];
            b2 += g[c] * yp[c];
        }
        a += (double)b1;
        b += (double)b2;
    }
    *s1 = a;
    *s2 = b;
}

#define NN_R float
#define NN_FN(name) name##_f
#define NN_KERNEL NN_CLONES
#define NN_EXP expf

#include "layers_tmpl.h"

void nn_layer_forward_f(nn_model *m, nn_layer *L, const double *theta, const float *x, float *y)
{
    // input and Fourier layers never run in float (nn_build_finish)
    if (L->d.type == NN_L_CONV)
        nn_conv32_forward(m, L, theta, x, y);
    else
        layer_forward_shared_f(L, theta, x, y);
}

int nn_layer_backward_f(nn_model *m, nn_layer *L, const double *theta, int kb, const float *x,
                        const float *y, float *dy, float *dx, double *grad, size_t gstride)
{
    if (L->d.type == NN_L_CONV) return nn_conv32_backward(m, L, kb, x, dy, dx, grad, gstride);
    return layer_backward_shared_f(m, L, theta, kb, x, y, dy, dx, grad, gstride);
}
