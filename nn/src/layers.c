// nn/src/layers.c: forward and backward kernels of every layer type (im2col + dgemm convs).
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "nn_internal.h"

// ---------------------------------------------------------------------------------------
// Activations

static double sigmoid(double x)
{
    // Both branches avoid exp overflow; the result is the same function.
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

static void act_forward(const nn_layer *L, size_t n, const double *x, double *y)
{
    const double a = L->d.slope;
    switch (L->d.act) {
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanh(x[i]);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(x[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] >= 0.0 ? x[i] : a * x[i];
        break;
    case NN_ACT_SWISH:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * sigmoid(x[i]);
        break;
    case NN_ACT_IDENTITY:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    }
}

// dy[p][j][c] *= f'(x[p][c]) in place, for kb upstream gradients.
static void act_backward(const nn_layer *L, size_t P, int C, int kb, const double *x,
                         const double *y, double *dy)
{
    const double a = L->d.slope;
    for (size_t p = 0; p < P; p++) {
        const double *xp = x + p * C, *yp = y + p * C;
        for (int j = 0; j < kb; j++) {
            double *g = dy + (p * kb + j) * C;
            switch (L->d.act) {
            case NN_ACT_TANH:
                for (int c = 0; c < C; c++)
                    g[c] *= 1.0 - yp[c] * yp[c];
                break;
            case NN_ACT_SIGMOID:
                for (int c = 0; c < C; c++)
                    g[c] *= yp[c] * (1.0 - yp[c]);
                break;
            case NN_ACT_LEAKY_RELU:
                for (int c = 0; c < C; c++)
                    g[c] *= xp[c] >= 0.0 ? 1.0 : a;
                break;
            case NN_ACT_SWISH:
                for (int c = 0; c < C; c++) {
                    const double s = sigmoid(xp[c]);
                    g[c] *= s + xp[c] * s * (1.0 - s);
                }
                break;
            case NN_ACT_IDENTITY:
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Convolution k x k 'same' (zero padding k/2), channels last, kernel [k][k][cin][cout].

// im2col and its adjoint col2im of the float64 path (conv32.c has the float32 ones).
//
// im2col: rows r0..r0+nr of the im2col matrix, col[(py-r0)*iw + px][(ky*k + kx)*ic + ci],
// zero where the kernel reaches past the image.
// col2im: dx[(q*kb + j)*ic + ci] += dcol[((p - r0*iw)*kb + j)*K + (ky*k + kx)*ic + ci].
#define NN_DEFINE_IM2COL(im2col_name, col2im_name, T)                                              \
    static void im2col_name(const double *x, int ih, int iw, int ic, int k, int r0, int nr,        \
                            T *col)                                                                \
    {                                                                                              \
        const int pad = k / 2;                                                                     \
        const size_t K = (size_t)k * k * ic;                                                       \
        for (int py = r0; py < r0 + nr; py++) {                                                    \
            for (int px = 0; px < iw; px++) {                                                      \
                T *row = col + ((size_t)(py - r0) * iw + px) * K;                                  \
                const int sx0 = px - pad;                                                          \
                const int kx0 = sx0 < 0 ? -sx0 : 0;                                                \
                const int kx1 = iw - sx0 < k ? iw - sx0 : k;                                       \
                for (int ky = 0; ky < k; ky++) {                                                   \
                    const int sy = py + ky - pad;                                                  \
                    T *dst = row + (size_t)ky * k * ic;                                            \
                    if (sy < 0 || sy >= ih) {                                                      \
                        memset(dst, 0, sizeof(T) * k * ic);                                        \
                        continue;                                                                  \
                    }                                                                              \
                    if (kx0 > 0) memset(dst, 0, sizeof(T) * kx0 * ic);                             \
                    memcpy(dst + (size_t)kx0 * ic, x + ((size_t)sy * iw + sx0 + kx0) * ic,         \
                           sizeof(T) * (kx1 - kx0) * ic);                                          \
                    if (kx1 < k) memset(dst + (size_t)kx1 * ic, 0, sizeof(T) * (k - kx1) * ic);    \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void col2im_name(const T *dcol, int ih, int iw, int ic, int k, int r0, int nr, int kb,  \
                            double *dx)                                                            \
    {                                                                                              \
        const int pad = k / 2;                                                                     \
        const size_t K = (size_t)k * k * ic;                                                       \
        for (int py = r0; py < r0 + nr; py++) {                                                    \
            for (int px = 0; px < iw; px++) {                                                      \
                const int sx0 = px - pad;                                                          \
                const int kx0 = sx0 < 0 ? -sx0 : 0;                                                \
                const int kx1 = iw - sx0 < k ? iw - sx0 : k;                                       \
                for (int j = 0; j < kb; j++) {                                                     \
                    const T *row = dcol + (((size_t)(py - r0) * iw + px) * kb + j) * K;            \
                    for (int ky = 0; ky < k; ky++) {                                               \
                        const int sy = py + ky - pad;                                              \
                        if (sy < 0 || sy >= ih) continue;                                          \
                        for (int kx = kx0; kx < kx1; kx++) {                                       \
                            const T *src = row + ((size_t)ky * k + kx) * ic;                       \
                            double *dst = dx + (((size_t)sy * iw + sx0 + kx) * kb + j) * ic;       \
                            for (int ci = 0; ci < ic; ci++)                                        \
                                dst[ci] += (double)src[ci];                                        \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

NN_DEFINE_IM2COL(im2col, col2im, double)

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
    const size_t boff = L->poff + (size_t)K * oc;

    // Bias: db_j[c] = sum_p dy[p][j][c].
    for (int j = 0; j < kb; j++) {
        double *gb = grad + j * gstride + boff;
        memset(gb, 0, (size_t)oc * sizeof *gb);
        for (size_t p = 0; p < P; p++) {
            const double *g = dy + (p * kb + j) * oc;
            for (int c = 0; c < oc; c++)
                gb[c] += g[c];
        }
    }

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
    for (int j = 0; j < kb; j++) {
        double *gw = grad + j * gstride + L->poff;
        for (int r = 0; r < K; r++)
            memcpy(gw + (size_t)r * oc, m->dw + (size_t)r * N + (size_t)j * oc,
                   (size_t)oc * sizeof *gw);
    }
    return dx != NULL;
}

// ---------------------------------------------------------------------------------------
// Bilinear upsampling by an integer factor, TF2 tf.image.resize(bilinear) semantics:
// half-pixel centres, source coordinate (o + 0.5)/f - 0.5, lower index clamped at 0, upper at
// n - 1, weight of the upper sample = coordinate - floor(coordinate).

static void up_coord(int o, int f, int n, int *lo, int *hi, double *t)
{
    const double in = ((double)o + 0.5) / (double)f - 0.5;
    const double fl = floor(in);
    *lo = fl < 0.0 ? 0 : (int)fl;
    const int ce = (int)ceil(in);
    *hi = ce > n - 1 ? n - 1 : ce;
    *t = in - fl;
}

static void upsample_forward(const nn_layer *L, const double *x, double *y)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic;
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        double ty, tx;
        up_coord(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            up_coord(ox, f, iw, &lx, &hx, &tx);
            const double *a = x + ((size_t)ly * iw + lx) * C, *b = x + ((size_t)ly * iw + hx) * C;
            const double *c = x + ((size_t)hy * iw + lx) * C, *d = x + ((size_t)hy * iw + hx) * C;
            double *o = y + ((size_t)oy * L->ow + ox) * C;
            for (int ch = 0; ch < C; ch++) {
                const double top = a[ch] + (b[ch] - a[ch]) * tx;
                const double bot = c[ch] + (d[ch] - c[ch]) * tx;
                o[ch] = top + (bot - top) * ty;
            }
        }
    }
}

static void upsample_backward(const nn_layer *L, int kb, const double *dy, double *dx)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic * kb;
    memset(dx, 0, (size_t)ih * iw * C * sizeof *dx);
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        double ty, tx;
        up_coord(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            up_coord(ox, f, iw, &lx, &hx, &tx);
            const double wa = (1.0 - tx) * (1.0 - ty), wb = tx * (1.0 - ty);
            const double wc = (1.0 - tx) * ty, wd = tx * ty;
            double *a = dx + ((size_t)ly * iw + lx) * C, *b = dx + ((size_t)ly * iw + hx) * C;
            double *c = dx + ((size_t)hy * iw + lx) * C, *d = dx + ((size_t)hy * iw + hx) * C;
            const double *g = dy + ((size_t)oy * L->ow + ox) * C;
            for (int ch = 0; ch < C; ch++) {
                a[ch] += wa * g[ch];
                b[ch] += wb * g[ch];
                c[ch] += wc * g[ch];
                d[ch] += wd * g[ch];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Global normalization (Hoyer's global_normalization: tf.nn.moments over all axes):
// y = (x - mean) / sqrt(var + eps), var the population variance.

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

// dx = r (dy - mean(dy) - y mean(dy y)) per upstream j (exact with eps: d var/dx_i =
// 2 (x_i - mean)/n and (x_i - mean) r^2 = y_i r).
static void gnorm_backward(const nn_layer *L, size_t P, int C, int kb, const double *y, double *dy)
{
    const double n = (double)(P * C);
    for (int j = 0; j < kb; j++) {
        double s1 = 0.0, s2 = 0.0;
        for (size_t p = 0; p < P; p++) {
            const double *g = dy + (p * kb + j) * C, *yp = y + p * C;
            for (int c = 0; c < C; c++) {
                s1 += g[c];
                s2 += g[c] * yp[c];
            }
        }
        s1 /= n;
        s2 /= n;
        for (size_t p = 0; p < P; p++) {
            double *g = dy + (p * kb + j) * C;
            const double *yp = y + p * C;
            for (int c = 0; c < C; c++)
                g[c] = L->rstd * (g[c] - s1 - yp[c] * s2);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Batch normalization over pixels (elements), per channel, learned gamma and beta
// (PyTorch BatchNorm1d in training mode: biased variance).

static void bn_forward(nn_layer *L, const double *theta, size_t P, int C, const double *x,
                       double *y)
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
            y[p * C + c] = gamma[c] * (x[p * C + c] - mean[c]) * rstd[c] + beta[c];
}

static void bn_backward(const nn_layer *L, const double *theta, size_t P, int C, int kb,
                        const double *x, double *dy, double *grad, size_t gstride, int want_dx,
                        double *tmp)
{
    const double *gamma = theta + L->poff;
    const double *mean = L->aux, *rstd = L->aux + C;
    double *s1 = tmp, *s2 = tmp + C;
    for (int j = 0; j < kb; j++) {
        for (int c = 0; c < C; c++)
            s1[c] = s2[c] = 0.0;
        for (size_t p = 0; p < P; p++) {
            const double *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++) {
                s1[c] += g[c];
                s2[c] += g[c] * (x[p * C + c] - mean[c]) * rstd[c];
            }
        }
        double *gg = grad + j * gstride + L->poff;
        for (int c = 0; c < C; c++) {
            gg[c] = s2[c];     // d gamma
            gg[C + c] = s1[c]; // d beta
        }
        if (!want_dx) continue;
        for (size_t p = 0; p < P; p++) {
            double *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++) {
                const double xh = (x[p * C + c] - mean[c]) * rstd[c];
                g[c] = gamma[c] * rstd[c] * (g[c] - s1[c] / (double)P - xh * s2[c] / (double)P);
            }
        }
    }
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
    case NN_L_RESHAPE:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    case NN_L_ACT:
        act_forward(L, n, x, y);
        break;
    case NN_L_UPSAMPLE:
        upsample_forward(L, x, y);
        break;
    case NN_L_GNORM:
        gnorm_forward(L, n, x, y);
        break;
    case NN_L_OFFSET: {
        const double *b = theta + L->poff, s = L->d.scale;
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] + s * b[i];
        break;
    }
    case NN_L_FOURIER:
        fourier_forward(L, P, x, y);
        break;
    case NN_L_BATCHNORM:
        bn_forward(L, theta, P, L->oc, x, y);
        break;
    }
}

int nn_layer_backward(nn_model *m, nn_layer *L, const double *theta, int kb, const double *x,
                      const double *y, double *dy, double *dx, double *grad, size_t gstride)
{
    const size_t Pi = (size_t)L->ih * L->iw, Po = (size_t)L->oh * L->ow;
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
    case NN_L_RESHAPE: {
        if (!dx) return 0;
        if (kb == 1 || L->ic == L->oc)
            return 0; // the batched layout [p][j][c] is unchanged: dx = dy in place
        const size_t n = Pi * L->ic;
        for (size_t i = 0; i < n; i++) {
            const size_t pi = i / L->ic, ci = i % L->ic, po = i / C, co = i % C;
            for (int j = 0; j < kb; j++)
                dx[(pi * kb + j) * L->ic + ci] = dy[(po * kb + j) * C + co];
        }
        return 1;
    }
    case NN_L_ACT:
        if (dx) act_backward(L, Po, C, kb, x, y, dy);
        return 0;
    case NN_L_UPSAMPLE:
        if (!dx) return 0;
        upsample_backward(L, kb, dy, dx);
        return 1;
    case NN_L_GNORM:
        if (dx) gnorm_backward(L, Po, C, kb, y, dy);
        return 0;
    case NN_L_OFFSET: {
        const double s = L->d.scale;
        for (int j = 0; j < kb; j++) {
            double *g = grad + j * gstride + L->poff;
            for (size_t p = 0; p < Po; p++) {
                const double *gy = dy + (p * kb + j) * C;
                for (int c = 0; c < C; c++)
                    g[p * C + c] = s * gy[c];
            }
        }
        return 0; // dx = dy
    }
    case NN_L_FOURIER:
        if (!dx) return 0;
        fourier_backward(L, Po, kb, y, dy, dx);
        return 1;
    case NN_L_BATCHNORM:
        bn_backward(L, theta, Po, C, kb, x, dy, grad, gstride, dx != NULL, m->dw);
        return 0;
    }
    return 0;
}
