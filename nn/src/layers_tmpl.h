// nn/src/layers_tmpl.h: the layer kernels whose body is the same in double (layers.c) and in
// float (layers32.c): activations, bilinear upsampling, the input gradient of the global
// normalization, batch normalization, offsets, reshape. Each of the two files includes it once,
// after defining
//   NN_R         the element type of activations and their gradients (double or float);
//   NN_FN(name)  the name of a kernel in that precision (name in double, name##_f in float);
//   NN_KERNEL    the attributes of the hot element-wise loops (NN_CLONES in float, none in
//                double, whose loops keep the baseline ISA);
//   NN_EXP       exp or expf;
// and, before the include, the kernels that differ between the two precisions:
//   static void NN_FN(tanh_vec)(const NN_R *x, NN_R *y, size_t n);   y = tanh(x)
//   static void NN_FN(gnorm_forward)(nn_layer *L, size_t n, const NN_R *x, NN_R *y);
//   static void NN_FN(gnorm_sums)(size_t P, int C, int kb, int j, const NN_R *y,
//                                 const NN_R *dy, double *s1, double *s2);
//     s1 = sum dy_j, s2 = sum dy_j y over the image, upstream j of kb.
// Statistics, parameter gradients and whatever is read from theta are double in both. The
// integer literals below take the type of the NN_R operand they meet (1 - y is 1.0f - y in
// float), so the float kernels compute in float as written.
//
// It defines the static functions NN_FN(layer_forward_shared) and NN_FN(layer_backward_shared),
// which run the layer types above and leave the others (inputs, conv, Fourier) to the caller.

#if !defined(NN_R) || !defined(NN_FN) || !defined(NN_KERNEL) || !defined(NN_EXP)
#error "define NN_R, NN_FN, NN_KERNEL and NN_EXP before including layers_tmpl.h"
#endif

// ---------------------------------------------------------------------------------------
// Activations

static NN_R NN_FN(sigmoid)(NN_R x)
{
    // Both branches avoid exp overflow; the result is the same function.
    if (x >= 0) return 1 / (1 + NN_EXP(-x));
    const NN_R e = NN_EXP(x);
    return e / (1 + e);
}

static void NN_FN(act_forward)(const nn_layer *L, size_t n, const NN_R *x, NN_R *y)
{
    const NN_R a = (NN_R)L->d.slope;
    switch (L->d.act) {
    case NN_ACT_TANH:
        NN_FN(tanh_vec)(x, y, n);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = NN_FN(sigmoid)(x[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] >= 0 ? x[i] : a * x[i];
        break;
    case NN_ACT_SWISH:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * NN_FN(sigmoid)(x[i]);
        break;
    case NN_ACT_IDENTITY:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    }
}

// tanh' = 1 - y^2 on its own, a loop without branches that vectorizes.
static NN_KERNEL void NN_FN(tanh_backward)(size_t P, int C, int kb, const NN_R *y, NN_R *dy)
{
    for (size_t p = 0; p < P; p++) {
        const NN_R *yp = y + p * C;
        for (int j = 0; j < kb; j++) {
            NN_R *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++)
                g[c] *= 1 - yp[c] * yp[c];
        }
    }
}

// dy[p][j][c] *= f'(x[p][c]) in place, for kb upstream gradients.
static void NN_FN(act_backward)(const nn_layer *L, size_t P, int C, int kb, const NN_R *x,
                                const NN_R *y, NN_R *dy)
{
    const NN_R a = (NN_R)L->d.slope;
    if (L->d.act == NN_ACT_TANH) {
        NN_FN(tanh_backward)(P, C, kb, y, dy);
        return;
    }
    for (size_t p = 0; p < P; p++) {
        const NN_R *xp = x + p * C, *yp = y + p * C;
        for (int j = 0; j < kb; j++) {
            NN_R *g = dy + (p * kb + j) * C;
            switch (L->d.act) {
            case NN_ACT_SIGMOID:
                for (int c = 0; c < C; c++)
                    g[c] *= yp[c] * (1 - yp[c]);
                break;
            case NN_ACT_LEAKY_RELU:
                for (int c = 0; c < C; c++)
                    g[c] *= xp[c] >= 0 ? 1 : a;
                break;
            case NN_ACT_SWISH:
                for (int c = 0; c < C; c++) {
                    const NN_R s = NN_FN(sigmoid)(xp[c]);
                    g[c] *= s + xp[c] * s * (1 - s);
                }
                break;
            case NN_ACT_TANH:
            case NN_ACT_IDENTITY:
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bilinear upsampling by an integer factor, TF2 tf.image.resize(bilinear) semantics:
// half-pixel centres, source coordinate (o + 0.5)/f - 0.5, lower index clamped at 0, upper at
// n - 1, weight of the upper sample = coordinate - floor(coordinate). The coordinates are
// double in both precisions; the weight is rounded once.

static void NN_FN(up_coord)(int o, int f, int n, int *lo, int *hi, NN_R *t)
{
    const double in = ((double)o + 0.5) / (double)f - 0.5;
    const double fl = floor(in);
    *lo = fl < 0.0 ? 0 : (int)fl;
    const int ce = (int)ceil(in);
    *hi = ce > n - 1 ? n - 1 : ce;
    *t = (NN_R)(in - fl);
}

static NN_KERNEL void NN_FN(upsample_forward)(const nn_layer *L, const NN_R *x, NN_R *y)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic;
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        NN_R ty, tx;
        NN_FN(up_coord)(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            NN_FN(up_coord)(ox, f, iw, &lx, &hx, &tx);
            const NN_R *a = x + ((size_t)ly * iw + lx) * C, *b = x + ((size_t)ly * iw + hx) * C;
            const NN_R *c = x + ((size_t)hy * iw + lx) * C, *d = x + ((size_t)hy * iw + hx) * C;
            NN_R *o = y + ((size_t)oy * L->ow + ox) * C;
            for (int ch = 0; ch < C; ch++) {
                const NN_R top = a[ch] + (b[ch] - a[ch]) * tx;
                const NN_R bot = c[ch] + (d[ch] - c[ch]) * tx;
                o[ch] = top + (bot - top) * ty;
            }
        }
    }
}

static NN_KERNEL void NN_FN(upsample_backward)(const nn_layer *L, int kb, const NN_R *dy, NN_R *dx)
{
    const int f = L->d.factor, ih = L->ih, iw = L->iw, C = L->ic * kb;
    memset(dx, 0, (size_t)ih * iw * C * sizeof *dx);
    for (int oy = 0; oy < L->oh; oy++) {
        int ly, hy, lx, hx;
        NN_R ty, tx;
        NN_FN(up_coord)(oy, f, ih, &ly, &hy, &ty);
        for (int ox = 0; ox < L->ow; ox++) {
            NN_FN(up_coord)(ox, f, iw, &lx, &hx, &tx);
            const NN_R wa = (1 - tx) * (1 - ty), wb = tx * (1 - ty);
            const NN_R wc = (1 - tx) * ty, wd = tx * ty;
            NN_R *a = dx + ((size_t)ly * iw + lx) * C, *b = dx + ((size_t)ly * iw + hx) * C;
            NN_R *c = dx + ((size_t)hy * iw + lx) * C, *d = dx + ((size_t)hy * iw + hx) * C;
            const NN_R *g = dy + ((size_t)oy * L->ow + ox) * C;
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
// y = (x - mean) / sqrt(var + eps), var the population variance; forward in
// NN_FN(gnorm_forward).
//
// dx = r (dy - mean(dy) - y mean(dy y)) per upstream j (exact with eps: d var/dx_i =
// 2 (x_i - mean)/n and (x_i - mean) r^2 = y_i r); the two means in double, then rounded.
static NN_KERNEL void NN_FN(gnorm_backward)(const nn_layer *L, size_t P, int C, int kb,
                                            const NN_R *y, NN_R *dy)
{
    const double n = (double)(P * C);
    for (int j = 0; j < kb; j++) {
        double s1, s2;
        NN_FN(gnorm_sums)(P, C, kb, j, y, dy, &s1, &s2);
        const NN_R m1 = (NN_R)(s1 / n), m2 = (NN_R)(s2 / n), r = (NN_R)L->rstd;
        for (size_t p = 0; p < P; p++) {
            NN_R *g = dy + (p * kb + j) * C;
            const NN_R *yp = y + p * C;
            for (int c = 0; c < C; c++)
                g[c] = r * (g[c] - m1 - yp[c] * m2);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Batch normalization over pixels (elements), per channel, learned gamma and beta
// (PyTorch BatchNorm1d in training mode: biased variance). Statistics, gamma and beta double.

static void NN_FN(bn_forward)(nn_layer *L, const double *theta, size_t P, int C, const NN_R *x,
                              NN_R *y)
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
            y[p * C + c] = (NN_R)(gamma[c] * (x[p * C + c] - mean[c]) * rstd[c] + beta[c]);
}

static void NN_FN(bn_backward)(const nn_layer *L, const double *theta, size_t P, int C, int kb,
                               const NN_R *x, NN_R *dy, double *grad, size_t gstride, int want_dx,
                               double *tmp)
{
    const double *gamma = theta + L->poff;
    const double *mean = L->aux, *rstd = L->aux + C;
    double *s1 = tmp, *s2 = tmp + C;
    for (int j = 0; j < kb; j++) {
        for (int c = 0; c < C; c++)
            s1[c] = s2[c] = 0.0;
        for (size_t p = 0; p < P; p++) {
            const NN_R *g = dy + (p * kb + j) * C;
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
            NN_R *g = dy + (p * kb + j) * C;
            for (int c = 0; c < C; c++) {
                const double xh = (x[p * C + c] - mean[c]) * rstd[c];
                g[c] = (NN_R)(gamma[c] * rstd[c] *
                              (g[c] - s1[c] / (double)P - xh * s2[c] / (double)P));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dispatch of the layer types above (contracts of nn_layer_forward and nn_layer_backward);
// the other types are the caller's.

static void NN_FN(layer_forward_shared)(nn_layer *L, const double *theta, const NN_R *x, NN_R *y)
{
    const size_t n = (size_t)L->oh * L->ow * L->oc;
    switch (L->d.type) {
    case NN_L_RESHAPE:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    case NN_L_ACT:
        NN_FN(act_forward)(L, n, x, y);
        break;
    case NN_L_UPSAMPLE:
        NN_FN(upsample_forward)(L, x, y);
        break;
    case NN_L_GNORM:
        NN_FN(gnorm_forward)(L, n, x, y);
        break;
    case NN_L_OFFSET: { // b is read from the double theta and rounded once per element
        const double *b = theta + L->poff, s = L->d.scale;
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] + (NN_R)(s * b[i]);
        break;
    }
    case NN_L_BATCHNORM:
        NN_FN(bn_forward)(L, theta, (size_t)L->oh * L->ow, L->oc, x, y);
        break;
    default:
        break;
    }
}

static int NN_FN(layer_backward_shared)(nn_model *m, nn_layer *L, const double *theta, int kb,
                                        const NN_R *x, const NN_R *y, NN_R *dy, NN_R *dx,
                                        double *grad, size_t gstride)
{
    const size_t Pi = (size_t)L->ih * L->iw, Po = (size_t)L->oh * L->ow;
    const int C = L->oc;
    switch (L->d.type) {
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
        if (dx) NN_FN(act_backward)(L, Po, C, kb, x, y, dy);
        return 0;
    case NN_L_UPSAMPLE:
        if (!dx) return 0;
        NN_FN(upsample_backward)(L, kb, dy, dx);
        return 1;
    case NN_L_GNORM:
        if (dx) NN_FN(gnorm_backward)(L, Po, C, kb, y, dy);
        return 0;
    case NN_L_OFFSET: {
        const double s = L->d.scale;
        for (int j = 0; j < kb; j++) {
            double *g = grad + j * gstride + L->poff;
            for (size_t p = 0; p < Po; p++) {
                const NN_R *gy = dy + (p * kb + j) * C;
                for (int c = 0; c < C; c++)
                    g[p * C + c] = s * (double)gy[c];
            }
        }
        return 0; // dx = dy
    }
    case NN_L_BATCHNORM:
        NN_FN(bn_backward)(L, theta, Po, C, kb, x, dy, grad, gstride, dx != NULL, m->dw);
        return 0;
    default:
        return 0;
    }
}
