// nn/src/layers.c: forward and backward kernels of every layer type (im2col + dgemm convs).
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "nn_internal.h"

// ---------------------------------------------------------------------------------------
// The kernels of layers_tmpl.h in double, with the two that are double's own: tanh of libm, and
// the plain sums of the global normalization.

#define NN_R double
#define NN_FN(name) name
#define NN_KERNEL
#define NN_EXP exp

static void tanh_vec(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

// Global normalization (layers_tmpl.h): mean, then the variance around it, in one sweep each.
static void gnorm_forward(nn_layer *L, size_t n, const double *x, double *y)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    const double mean = s / (double)n;
    double v = 0.0;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - mean) * (x[i] - mean);
    v /= (double)n;
    const double r = 1.0 / sqrt(v + L->d.eps);
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] - mean) * r;
    L->mean = mean;
    L->rstd = r;
}

static void gnorm_sums(size_t P, int C, int kb, int j, const double *y, const double *dy,
                       double *s1, double *s2)
{
    double a = 0.0, b = 0.0;
    for (size_t p = 0; p < P; p++) {
        const double *g = dy + (p * kb + j) * C, *yp = y + p * C;
        for (int c = 0; c < C; c++) {
            a += g[c];
            b += g[c] * yp[c];
        }
    }
    *s1 = a;
    *s2 = b;
}

#include "layers_tmpl.h"

// ---------------------------------------------------------------------------------------
// Convolution k x k 'same' (zero padding k/2), channels last, kernel [k][k][cin][cout].

#include "conv_tmpl.h"

static void conv_forward(nn_model *m, const nn_layer *L, const double *theta, const double *x,
                         double *y)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, oc = L->oc, k = L->d.k;
    const int K = k * k * ic;
    const size_t P = (size_t)ih * iw;
    const double *Wt = theta + L->poff, *b = Wt + (size_t)K * oc;
    for (size_t p = 0; p < P; p++)
        memcpy(y + p * oc, b, (size_t)oc * sizeof *y);
    if (k == 1) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, oc, ic, 1.0, x, ic, Wt, oc,
                    1.0, y, oc);
        return;
    }
    for (int r0 = 0; r0 < ih; r0 += L->rows_f) {
        const int nr = ih - r0 < L->rows_f ? ih - r0 : L->rows_f;
        im2col(x, ih, iw, ic, k, r0, nr, m->col);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr * iw, oc, K, 1.0, m->col, K, Wt,
                    oc, 1.0, y + (size_t)r0 * iw * oc, oc);
    }
}

static int conv_backward(nn_model *m, const nn_layer *L, const double *theta, int kb,
                         const double *x, const double *dy, double *dx, double *grad,
                         size_t gstride)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, oc = L->oc, k = L->d.k;
    const int K = k * k * ic;
    const size_t P = (size_t)ih * iw;
    const double *Wt = theta + L->poff;

    conv_bias_grad(dy, P, oc, kb, grad, gstride, L->poff + (size_t)K * oc);

    if (k == 1 && P == 1) {
        // Dense layer on a single vector (Hoyer's latent -> image): dW_j = x dy_j^T straight
        // into each gradient row (a scatter through m->dw would double the memory traffic).
        for (int j = 0; j < kb; j++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ic, oc, 1, 1.0, x, 1,
                        dy + (size_t)j * oc, oc, 0.0, grad + j * gstride + L->poff, oc);
        if (dx)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kb, ic, oc, 1.0, dy, oc, Wt, oc,
                        0.0, dx, ic);
        return dx != NULL;
    }

    // One GEMM gives the weight gradients of all kb upstreams: dW[K][kb*oc] = col^T dy, with
    // dy viewed as [P][kb*oc].
    const int N = kb * oc;
    if (k == 1) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, (int)P, 1.0, x, K, dy, N, 0.0,
                    m->dw, N);
        if (dx)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P * kb, ic, oc, 1.0, dy, oc,
                        Wt, oc, 0.0, dx, ic);
    } else {
        memset(m->dw, 0, (size_t)K * N * sizeof *m->dw);
        if (dx) memset(dx, 0, P * kb * ic * sizeof *dx);
        for (int r0 = 0; r0 < ih; r0 += L->rows_b) {
            const int nr = ih - r0 < L->rows_b ? ih - r0 : L->rows_b;
            const double *dyc = dy + (size_t)r0 * iw * N;
            im2col(x, ih, iw, ic, k, r0, nr, m->col);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, nr * iw, 1.0, m->col, K, dyc,
                        N, 1.0, m->dw, N);
            if (dx) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr * iw * kb, K, oc, 1.0, dyc,
                            oc, Wt, oc, 0.0, m->dcol, K);
                col2im(m->dcol, ih, iw, ic, k, r0, nr, kb, dx);
            }
        }
    }
    conv_weight_grad(m->dw, K, oc, kb, grad, gstride, L->poff);
    return dx != NULL;
}

// ---------------------------------------------------------------------------------------
// Random Fourier features: y[p] = [cos(2 pi x_p.B_f) (f < F), sin(2 pi x_p.B_f) (f < F)].

static void fourier_forward(const nn_layer *L, size_t P, const double *x, double *y)
{
    const int F = L->d.n_freq;
    const double *B0 = L->aux, *B1 = L->aux + F;
    for (size_t p = 0; p < P; p++) {
        const double x0 = x[2 * p], x1 = x[2 * p + 1];
        double *o = y + p * 2 * F;
        for (int f = 0; f < F; f++) {
            const double a = 2.0 * NN_PI * (x0 * B0[f] + x1 * B1[f]);
            o[f] = cos(a);
            o[F + f] = sin(a);
        }
    }
}

static void fourier_backward(const nn_layer *L, size_t P, int kb, const double *y, const double *dy,
                             double *dx)
{
    const int F = L->d.n_freq;
    const double *B0 = L->aux, *B1 = L->aux + F;
    for (size_t p = 0; p < P; p++) {
        const double *yp = y + p * 2 * F;
        for (int j = 0; j < kb; j++) {
            const double *g = dy + (p * kb + j) * 2 * F;
            double d0 = 0.0, d1 = 0.0;
            for (int f = 0; f < F; f++) {
                const double da = -yp[F + f] * g[f] + yp[f] * g[F + f]; // d/da of cos, sin
                d0 += B0[f] * da;
                d1 += B1[f] * da;
            }
            dx[(p * kb + j) * 2] = 2.0 * NN_PI * d0;
            dx[(p * kb + j) * 2 + 1] = 2.0 * NN_PI * d1;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dispatch

void nn_layer_forward(nn_model *m, nn_layer *L, const double *theta, const double *x, double *y)
{
    const size_t P = (size_t)L->oh * L->ow;
    const size_t n = P * L->oc;
    switch (L->d.type) {
    case NN_L_PARAM_INPUT:
        memcpy(y, theta + L->poff, n * sizeof *y);
        break;
    case NN_L_CONST_INPUT:
        memcpy(y, L->aux, n * sizeof *y);
        break;
    case NN_L_CONV:
        conv_forward(m, L, theta, x, y);
        break;
    case NN_L_FOURIER:
        fourier_forward(L, P, x, y);
        break;
    default:
        layer_forward_shared(L, theta, x, y);
        break;
    }
}

int nn_layer_backward(nn_model *m, nn_layer *L, const double *theta, int kb, const double *x,
                      const double *y, double *dy, double *dx, double *grad, size_t gstride)
{
    const size_t Po = (size_t)L->oh * L->ow;
    const int C = L->oc;
    switch (L->d.type) {
    case NN_L_PARAM_INPUT:
        for (int j = 0; j < kb; j++) {
            double *g = grad + j * gstride + L->poff;
            for (size_t p = 0; p < Po; p++)
                memcpy(g + p * C, dy + (p * kb + j) * C, (size_t)C * sizeof *g);
        }
        return 0;
    case NN_L_CONST_INPUT:
        return 0;
    case NN_L_CONV:
        return conv_backward(m, L, theta, kb, x, dy, dx, grad, gstride);
    case NN_L_FOURIER:
        if (!dx) return 0;
        fourier_backward(L, Po, kb, y, dy, dx);
        return 1;
    default:
        return layer_backward_shared(m, L, theta, kb, x, y, dy, dx, grad, gstride);
    }
}
