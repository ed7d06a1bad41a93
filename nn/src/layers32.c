// nn/src/layers32.c: float kernels of the layers of a float32 network (activations, bilinear
// upsampling, global and batch normalization, offsets, reshape; convolutions in conv32.c).
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

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

// tanh in float: the [13/6] rational minimax approximation on |x| <= 7.90531 used by Eigen's
// generic_fast_tanh_float (tanh rounds to +-1 in float beyond that). Branch-free, so the loop
// vectorizes; its error is a few float ulps (checked against tanh in tests/test_nn.c).
static NN_CLONES void tanh_f(const float *x, float *y, size_t n)
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

static float sigmoid_f(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
}

static void act_forward_f(const nn_layer *L, size_t n, const float *x, float *y)
{
    const float a = (float)L->d.slope;
    switch (L->d.act) {
    case NN_ACT_TANH:
        tanh_f(x, y, n);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid_f(x[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] >= 0.0f ? x[i] : a * x[i];
        break;
    case NN_ACT_SWISH:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * sigmoid_f(x[i]);
        break;
    case NN_ACT_IDENTITY:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    }
}

static NN_CLONES void tanh_backward_f(size_t P, int C, int kb, const float *y, float *dy)
{
    for (size_t p = 0; p < P; p++) {
        const float *yp = y + p * C;
        for (int j = 0; j < kb; j++) {
            float *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++)
                g[c] *= 1.0f - yp[c] * yp[c];
        }
    }
}

static void act_backward_f(const nn_layer *L, size_t P, int C, int kb, const float *x,
                           const float *y, float *dy)
{
    const float a = (float)L->d.slope;
    if (L->d.act == NN_ACT_TANH) {
        tanh_backward_f(P, C, kb, y, dy);
        return;
    }
    for (size_t p = 0; p < P; p++) {
        const float *xp = x + p * C, *yp = y + p * C;
        for (int j = 0; j < kb; j++) {
            float *g = dy + (p * kb + j) * C;
            switch (L->d.act) {
            case NN_ACT_SIGMOID:
                for (int c = 0; c < C; c++)
                    g[c] *= yp[c] * (1.0f - yp[c]);
                break;
            case NN_ACT_LEAKY_RELU:
                for (int c = 0; c < C; c++)
                    g[c] *= xp[c] >= 0.0f ? 1.0f : a;
                break;
            case NN_ACT_SWISH:
                for (int c = 0; c < C; c++) {
                    const float s = sigmoid_f(xp[c]);
                    g[c] *= s + xp[c] * s * (1.0f - s);
                }
                break;
            case NN_ACT_TANH:
            case NN_ACT_IDENTITY:
                break;
            }
        }
    }
}

// Bilinear upsampling (semantics in layers.c), float data, weights from double coordinates.
static void up_coord_f(int o, int f, int n, int *lo, int *hi, float *t)
{
    const double in = ((double)o + 0.5) / (double)f - 0.5;
    const double fl = floor(in);
    *lo = fl < 0.0 ? 0 : (int)fl;
    const int ce = (int)ceil(in);
    *hi = ce > n - 1 ? n - 1 : ce;
    *t = (float)(in - fl);
}

static NN_CLONES void upsample_forward_f(const nn_layer *L, const float *x, float *y)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic;
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        float ty, tx;
        up_coord_f(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            up_coord_f(ox, f, iw, &lx, &hx, &tx);
            const float *a = x + ((size_t)ly * iw + lx) * C, *b = x + ((size_t)ly * iw + hx) * C;
            const float *c = x + ((size_t)hy * iw + lx) * C, *d = x + ((size_t)hy * iw + hx) * C;
            float *o = y + ((size_t)oy * L->ow + ox) * C;
            for (int ch = 0; ch < C; ch++) {
                const float top = a[ch] + (b[ch] - a[ch]) * tx;
                const float bot = c[ch] + (d[ch] - c[ch]) * tx;
                o[ch] = top + (bot - top) * ty;
            }
        }
    }
}

static NN_CLONES void upsample_backward_f(const nn_layer *L, int kb, const float *dy, float *dx)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic * kb;
    memset(dx, 0, (size_t)ih * iw * C * sizeof *dx);
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        float ty, tx;
        up_coord_f(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            up_coord_f(ox, f, iw, &lx, &hx, &tx);
            const float wa = (1.0f - tx) * (1.0f - ty), wb = tx * (1.0f - ty);
            const float wc = (1.0f - tx) * ty, wd = tx * ty;
            float *a = dx + ((size_t)ly * iw + lx) * C, *b = dx + ((size_t)ly * iw + hx) * C;
            float *c = dx + ((size_t)hy * iw + lx) * C, *d = dx + ((size_t)hy * iw + hx) * C;
            const float *g = dy + ((size_t)oy * L->ow + ox) * C;
            for (int ch = 0; ch < C; ch++) {
                a[ch] += wa * g[ch];
                b[ch] += wb * g[ch];
                c[ch] += wc * g[ch];
                d[ch] += wd * g[ch];
            }
        }
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

// dx = r (dy - mean(dy) - y mean(dy y)) per upstream (layers.c); the sums in double.
static NN_CLONES void gnorm_backward_f(const nn_layer *L, size_t P, int C, int kb, const float *y,
                                       float *dy)
{
    const double n = (double)(P * C);
    for (int j = 0; j < kb; j++) {
        double s1 = 0.0, s2 = 0.0;
        if (kb == 1) {
            double s[2];
            sums_f(dy, y, 0.0f, P * C, s);
            s1 = s[0];
            s2 = s[1];
        } else
            for (size_t p = 0; p < P; p++) {
                const float *g = dy + (p * kb + j) * C, *yp = y + p * C;
                float b1 = 0.0f, b2 = 0.0f; // one pixel's C terms in float
                for (int c = 0; c < C; c++) {
                    b1 += g[c];
                    b2 += g[c] * yp[c];
                }
                s1 += (double)b1;
                s2 += (double)b2;
            }
        const float m1 = (float)(s1 / n), m2 = (float)(s2 / n), r = (float)L->rstd;
        for (size_t p = 0; p < P; p++) {
            float *g = dy + (p * kb + j) * C;
            const float *yp = y + p * C;
            for (int c = 0; c < C; c++)
                g[c] = r * (g[c] - m1 - yp[c] * m2);
        }
    }
}

static void bn_forward_f(nn_layer *L, const double *theta, size_t P, int C, const float *x,
                         float *y)
{
    const double *gamma = theta + L->poff, *beta = gamma + C;
    double *mean = L->aux, *rstd = L->aux + C;
    for (int c = 0; c < C; c++)
        mean[c] = rstd[c] = 0.0;
    for (size_t p = 0; p < P; p++)
        for (int c = 0; c < C; c++)
            mean[c] += x[p * C + c];
    for (int c = 0; c < C; c++)
        mean[c] /= (double)P;
    for (size_t p = 0; p < P; p++)
        for (int c = 0; c < C; c++) {
            const double d = x[p * C + c] - mean[c];
            rstd[c] += d * d;
        }
    for (int c = 0; c < C; c++)
        rstd[c] = 1.0 / sqrt(rstd[c] / (double)P + L->d.eps);
    for (size_t p = 0; p < P; p++)
        for (int c = 0; c < C; c++)
            y[p * C + c] = (float)(gamma[c] * (x[p * C + c] - mean[c]) * rstd[c] + beta[c]);
}

static void bn_backward_f(const nn_layer *L, const double *theta, size_t P, int C, int kb,
                          const float *x, float *dy, double *grad, size_t gstride, int want_dx,
                          double *tmp)
{
    const double *gamma = theta + L->poff;
    const double *mean = L->aux, *rstd = L->aux + C;
    double *s1 = tmp, *s2 = tmp + C;
    for (int j = 0; j < kb; j++) {
        for (int c = 0; c < C; c++)
            s1[c] = s2[c] = 0.0;
        for (size_t p = 0; p < P; p++) {
            const float *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++) {
                s1[c] += g[c];
                s2[c] += g[c] * (x[p * C + c] - mean[c]) * rstd[c];
            }
        }
        double *gg = grad + j * gstride + L->poff;
        for (int c = 0; c < C; c++) {
            gg[c] = s2[c];
            gg[C + c] = s1[c];
        }
        if (!want_dx) continue;
        for (size_t p = 0; p < P; p++) {
            float *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++) {
                const double xh = (x[p * C + c] - mean[c]) * rstd[c];
                g[c] = (float)(gamma[c] * rstd[c] *
                               (g[c] - s1[c] / (double)P - xh * s2[c] / (double)P));
            }
        }
    }
}

void nn_layer_forward_f(nn_model *m, nn_layer *L, const double *theta, const float *x, float *y)
{
    const size_t n = (size_t)L->oh * L->ow * L->oc;
    switch (L->d.type) {
    case NN_L_CONV:
        nn_conv32_forward(m, L, theta, x, y);
        break;
    case NN_L_RESHAPE:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    case NN_L_ACT:
        act_forward_f(L, n, x, y);
        break;
    case NN_L_UPSAMPLE:
        upsample_forward_f(L, x, y);
        break;
    case NN_L_GNORM:
        gnorm_forward_f(L, n, x, y);
        break;
    case NN_L_OFFSET: {
        const double *b = theta + L->poff, s = L->d.scale;
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] + (float)(s * b[i]);
        break;
    }
    case NN_L_BATCHNORM:
        bn_forward_f(L, theta, (size_t)L->oh * L->ow, L->oc, x, y);
        break;
    default: // input and Fourier layers never run in float (nn_build_finish)
        break;
    }
}

int nn_layer_backward_f(nn_model *m, nn_layer *L, const double *theta, int kb, const float *x,
                        const float *y, float *dy, float *dx, double *grad, size_t gstride)
{
    const size_t Pi = (size_t)L->ih * L->iw, Po = (size_t)L->oh * L->ow;
    const int C = L->oc;
    switch (L->d.type) {
    case NN_L_CONV:
        return nn_conv32_backward(m, L, kb, x, dy, dx, grad, gstride);
    case NN_L_RESHAPE: {
        if (!dx || kb == 1 || L->ic == L->oc) return 0;
        const size_t n = Pi * L->ic;
        for (size_t i = 0; i < n; i++) {
            const size_t pi = i / L->ic, ci = i % L->ic, po = i / C, co = i % C;
            for (int j = 0; j < kb; j++)
                dx[(pi * kb + j) * L->ic + ci] = dy[(po * kb + j) * C + co];
        }
        return 1;
    }
    case NN_L_ACT:
        if (dx) act_backward_f(L, Po, C, kb, x, y, dy);
        return 0;
    case NN_L_UPSAMPLE:
        if (!dx) return 0;
        upsample_backward_f(L, kb, dy, dx);
        return 1;
    case NN_L_GNORM:
        if (dx) gnorm_backward_f(L, Po, C, kb, y, dy);
        return 0;
    case NN_L_OFFSET: {
        const double s = L->d.scale;
        for (int j = 0; j < kb; j++) {
            double *g = grad + j * gstride + L->poff;
            for (size_t p = 0; p < Po; p++) {
                const float *gy = dy + (p * kb + j) * C;
                for (int c = 0; c < C; c++)
                    g[p * C + c] = s * (double)gy[c];
            }
        }
        return 0;
    }
    case NN_L_BATCHNORM:
        bn_backward_f(L, theta, Po, C, kb, x, dy, grad, gstride, dx != NULL, m->dw);
        return 0;
    default:
        return 0;
    }
}
