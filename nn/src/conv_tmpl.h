// nn/src/conv_tmpl.h: the parts of the im2col + GEMM convolution (k x k 'same', zero padding
// k/2, channels last) that the double path (layers.c) and the float path's own convolutions
// (conv32.c) share: im2col, its adjoint col2im, and the bias and weight gradients, which are
// double in both. Each file includes it once, after defining NN_R (the element type) and
// NN_FN(name) (the name in that precision), as for layers_tmpl.h.
//
// NN_FN(im2col): rows r0..r0+nr of the im2col matrix, col[(py-r0)*iw + px][(ky*k + kx)*ic + ci],
// zero where the kernel reaches past the image.
// NN_FN(col2im): dx[(q*kb + j)*ic + ci] += dcol[((p - r0*iw)*kb + j)*K + (ky*k + kx)*ic + ci],
// for the kb upstreams of the batched layout.

#if !defined(NN_R) || !defined(NN_FN)
#error "define NN_R and NN_FN before including conv_tmpl.h"
#endif

static void NN_FN(im2col)(const NN_R *x, int ih, int iw, int ic, int k, int r0, int nr, NN_R *col)
{
    const int pad = k / 2;
    const size_t K = (size_t)k * k * ic;
    for (int py = r0; py < r0 + nr; py++) {
        for (int px = 0; px < iw; px++) {
            NN_R *row = col + ((size_t)(py - r0) * iw + px) * K;
            int kx0, kx1;
            nn_tap_range(px, iw, k, &kx0, &kx1);
            const int sx0 = px - pad;
            for (int ky = 0; ky < k; ky++) {
                const int sy = py + ky - pad;
                NN_R *dst = row + (size_t)ky * k * ic;
                if (sy < 0 || sy >= ih) {
                    memset(dst, 0, sizeof(NN_R) * k * ic);
                    continue;
                }
                if (kx0 > 0) memset(dst, 0, sizeof(NN_R) * kx0 * ic);
                memcpy(dst + (size_t)kx0 * ic, x + ((size_t)sy * iw + sx0 + kx0) * ic,
                       sizeof(NN_R) * (kx1 - kx0) * ic);
                if (kx1 < k) memset(dst + (size_t)kx1 * ic, 0, sizeof(NN_R) * (k - kx1) * ic);
            }
        }
    }
}

// Out of line: inlined into the convolutions' backward, GCC 12 compiled its inner loop into
// up to 11% more instructions, depending on the code around it (callgrind).
static NN_NOINLINE void NN_FN(col2im)(const NN_R *dcol, int ih, int iw, int ic, int k, int r0,
                                      int nr, int kb, NN_R *dx)
{
    const int pad = k / 2;
    const size_t K = (size_t)k * k * ic;
    for (int py = r0; py < r0 + nr; py++) {
        for (int px = 0; px < iw; px++) {
            int kx0, kx1;
            nn_tap_range(px, iw, k, &kx0, &kx1);
            const int sx0 = px - pad;
            for (int j = 0; j < kb; j++) {
                const NN_R *row = dcol + (((size_t)(py - r0) * iw + px) * kb + j) * K;
                for (int ky = 0; ky < k; ky++) {
                    const int sy = py + ky - pad;
                    if (sy < 0 || sy >= ih) continue;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const NN_R *src = row + ((size_t)ky * k + kx) * ic;
                        NN_R *dst = dx + (((size_t)sy * iw + sx0 + kx) * kb + j) * ic;
                        for (int ci = 0; ci < ic; ci++)
                            dst[ci] += src[ci];
                    }
                }
            }
        }
    }
}

// Bias gradients of kb upstreams, summed in double: db_j[c] = sum_p dy[p][j][c], written to
// grad[j*gstride + boff + c] (the parameter gradient never overlaps dy: restrict lets the
// inner loop vectorize without a run-time overlap test).
static void NN_FN(conv_bias_grad)(const NN_R *restrict dy, size_t P, int oc, int kb,
                                  double *restrict grad, size_t gstride, size_t boff)
{
    for (int j = 0; j < kb; j++) {
        double *gb = grad + j * gstride + boff;
        memset(gb, 0, (size_t)oc * sizeof *gb);
        for (size_t p = 0; p < P; p++) {
            const NN_R *g = dy + (p * kb + j) * oc;
            for (int c = 0; c < oc; c++)
                gb[c] += (double)g[c];
        }
    }
}

// The weight gradients of kb upstreams, dw[K][kb*oc] (one GEMM for all), copied to the
// gradient row of each: grad[j*gstride + poff + r*oc + c] = dw[r][j*oc + c].
static void NN_FN(conv_weight_grad)(const double *dw, int K, int oc, int kb, double *grad,
                                    size_t gstride, size_t poff)
{
    const size_t N = (size_t)kb * oc;
    for (int j = 0; j < kb; j++) {
        double *gw = grad + j * gstride + poff;
        for (int r = 0; r < K; r++)
            memcpy(gw + (size_t)r * oc, dw + (size_t)r * N + (size_t)j * oc,
                   (size_t)oc * sizeof *gw);
    }
}
