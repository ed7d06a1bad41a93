// nn/src/conv32.c: float32 convolutions: oneDNN's JIT kernels (k x k, oc > 1), a direct vector
// kernel for the k x k convolution to one channel, and the library's own im2col + SGEMM path.
//
// Activations and their gradients are float; theta and the parameter gradients are double:
// the weights are converted once per forward, the weight gradients added into double. On the
// library's own paths, sums over all pixels of an image (weight and bias gradients) are formed
// in float over one chunk of rows at most and added up in double, so their rounding error
// stays that of a chunk, not of a 65536-pixel image; oneDNN's backward-weights kernel
// accumulates in float over its own spatial blocking.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn_internal.h"

#ifdef TOPOPT_HAVE_DNNL
#include <dnnl.h>
#endif
#ifdef NN_HAVE_OPENMP
#include <omp.h>
#endif

int nn_have_dnnl(void)
{
#ifdef TOPOPT_HAVE_DNNL
    return 1;
#else
    return 0;
#endif
}

static NN_CLONES void to_float(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

#ifdef TOPOPT_HAVE_DNNL
static NN_CLONES void to_double(double *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}
#endif

// ---------------------------------------------------------------------------------------
// Direct kernel of a k x k 'same' convolution to ONE output channel (Hoyer's last layer:
// 16 -> 1). For one output pixel and one kernel row ky, the valid taps kx0..kx1 read one
// contiguous run of (kx1 - kx0)*ic floats of the input row and of the kernel row, so each step
// is a dot product (forward) or an axpy (backward) of contiguous vectors. GEMM with N = 1
// would run at matrix-vector speed; oneDNN's kernel for this shape reaches 7 GFLOP/s.

static NN_CLONES void axpy_f(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

// One output pixel's sum runs in 16 float lanes over all kernel rows; the lanes are added
// once per pixel.
static NN_CLONES void conv1_forward(const nn_layer *L, const float *x, const float *w, float b,
                                    float *y)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, k = L->d.k, pad = k / 2;
    for (int py = 0; py < ih; py++)
        for (int px = 0; px < iw; px++) {
            int kx0, kx1;
            nn_tap_range(px, iw, k, &kx0, &kx1);
            float acc[16] = {0}, s = b;
            const int len = (kx1 - kx0) * ic;
            for (int ky = 0; ky < k; ky++) {
                const int sy = py + ky - pad;
                if (sy < 0 || sy >= ih) continue;
                const float *xa = x + ((size_t)sy * iw + px - pad + kx0) * ic;
                const float *wa = w + ((size_t)ky * k + kx0) * ic;
                int i = 0;
                for (; i + 16 <= len; i += 16)
                    for (int l = 0; l < 16; l++)
                        acc[l] += xa[i + l] * wa[i + l];
                for (; i < len; i++)
                    s += xa[i] * wa[i];
            }
            for (int l = 0; l < 16; l++)
                s += acc[l];
            y[(size_t)py * iw + px] = s;
        }
}

// 16 float lanes as one GNU C vector (one AVX-512 register), unaligned loads and stores by
// memcpy.
typedef float nn_v16c __attribute__((vector_size(64)));
#define LD16(v, p) memcpy(&(v), (p), sizeof(nn_v16c))
#define ST16(p, v) memcpy((p), &(v), sizeof(nn_v16c))

// Backward when ic is a multiple of 16 (Hoyer's 16 -> 1 layer): every sum runs in a register
// of 16 channels. Weight gradients: for each tap and channel block, one pass over an output
// row, dw_row[tap][c] = sum_px g[px] x[sy][px + kx - pad][c]; input gradients: for each input
// pixel q and channel block, dx[q][c] = sum over taps of g[q - tap] w[tap][c].
static NN_CLONES void conv1_backward_v16(const nn_layer *L, const float *x, const float *w,
                                         const float *g, float *dwrow, double *dw, double *db,
                                         float *dx)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, k = L->d.k, pad = k / 2;
    const int K = k * k * ic, nb = ic / 16;
    for (int i = 0; i < K; i++)
        dw[i] = 0.0;
    *db = 0.0;
    for (int py = 0; py < ih; py++) {
        const float *gr = g + (size_t)py * iw;
        double brow = 0.0;
        for (int px = 0; px < iw; px++)
            brow += gr[px];
        *db += brow;
        memset(dwrow, 0, (size_t)K * sizeof *dwrow);
        for (int ky = 0; ky < k; ky++) {
            const int sy = py + ky - pad;
            if (sy < 0 || sy >= ih) continue;
            for (int kx = 0; kx < k; kx++) {
                // output columns whose tap kx lands inside the row
                const int p0 = pad - kx > 0 ? pad - kx : 0;
                const int p1 = iw + pad - kx < iw ? iw + pad - kx : iw;
                for (int b = 0; b < nb; b++) {
                    nn_v16c acc = {0};
                    const float *xs = x + ((size_t)sy * iw + kx - pad) * ic + 16 * b;
                    for (int px = p0; px < p1; px++) {
                        nn_v16c xv;
                        LD16(xv, xs + (size_t)px * ic);
                        acc += gr[px] * xv;
                    }
                    ST16(dwrow + ((size_t)ky * k + kx) * ic + 16 * b, acc);
                }
            }
        }
        for (int i = 0; i < K; i++)
            dw[i] += (double)dwrow[i];
    }
    if (!dx) return;
    for (int qy = 0; qy < ih; qy++)
        for (int qx = 0; qx < iw; qx++)
            for (int b = 0; b < nb; b++) {
                nn_v16c acc = {0};
                for (int ky = 0; ky < k; ky++) {
                    const int oy = qy - ky + pad;
                    if (oy < 0 || oy >= ih) continue;
                    for (int kx = 0; kx < k; kx++) {
                        const int ox = qx - kx + pad;
                        if (ox < 0 || ox >= iw) continue;
                        nn_v16c wv;
                        LD16(wv, w + ((size_t)ky * k + kx) * ic + 16 * b);
                        acc += g[(size_t)oy * iw + ox] * wv;
                    }
                }
                ST16(dx + ((size_t)qy * iw + qx) * ic + 16 * b, acc);
            }
}

// Weight, bias and (dx != NULL) input gradients of one upstream g[ih*iw]. dwrow[K] is float
// scratch for one output row's partial sums; dw[K] and *db accumulate in double. dx[ih*iw*ic]
// is overwritten (each entry sums at most k*k float terms).
static void conv1_backward(const nn_layer *L, const float *x, const float *w, const float *g,
                           float *dwrow, double *dw, double *db, float *dx)
{
    if (L->ic % 16 == 0) {
        conv1_backward_v16(L, x, w, g, dwrow, dw, db, dx);
        return;
    }
    const int ih = L->ih, iw = L->iw, ic = L->ic, k = L->d.k, pad = k / 2;
    const int K = k * k * ic;
    for (int i = 0; i < K; i++)
        dw[i] = 0.0;
    *db = 0.0;
    if (dx) memset(dx, 0, (size_t)ih * iw * ic * sizeof *dx);
    for (int py = 0; py < ih; py++) {
        memset(dwrow, 0, (size_t)K * sizeof *dwrow);
        double brow = 0.0;
        for (int px = 0; px < iw; px++) {
            const float gp = g[(size_t)py * iw + px];
            brow += gp;
            int kx0, kx1;
            nn_tap_range(px, iw, k, &kx0, &kx1);
            for (int ky = 0; ky < k; ky++) {
                const int sy = py + ky - pad;
                if (sy < 0 || sy >= ih) continue;
                const size_t xo = ((size_t)sy * iw + px - pad + kx0) * ic;
                const size_t wo = ((size_t)ky * k + kx0) * ic;
                axpy_f(dwrow + wo, gp, x + xo, (kx1 - kx0) * ic);
                if (dx) axpy_f(dx + xo, gp, w + wo, (kx1 - kx0) * ic);
            }
        }
        for (int i = 0; i < K; i++)
            dw[i] += (double)dwrow[i];
        *db += brow;
    }
}

// ---------------------------------------------------------------------------------------
// im2col, col2im and the parameter gradients of the library's own path.

#define NN_R float
#define NN_FN(name) name##_f
#include "conv_tmpl.h"

// ---------------------------------------------------------------------------------------
// oneDNN

#ifdef TOPOPT_HAVE_DNNL

typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    void *scratch;
    size_t scratch_size;
} dnnl_ctx;

typedef struct {
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dnnl_primitive_t r_wfwd, r_wbwd, r_dw; ///< weight reorders, NULL when no reorder is needed
    dnnl_memory_t src, w_user, w_fwd, w_bwd, bias, dst, diff_dst, diff_src, dw_bwd, dw_user,
        diff_bias;
    dnnl_memory_t sp[6]; ///< scratchpads of fwd, bwd_d, bwd_w, r_wfwd, r_wbwd, r_dw
    dnnl_primitive_desc_t pd[6];
} dnnl_conv;

#define DNNL_TRY(call)                                                                             \
    do {                                                                                           \
        const dnnl_status_t s_ = (call);                                                           \
        if (s_ != dnnl_success) {                                                                  \
            st = NN_FAIL(s_ == dnnl_out_of_memory ? NN_ERR_NOMEM : NN_ERR_INVALID,                 \
                         "oneDNN: %s failed (status %d)", #call, (int)s_);                         \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static void dnnl_conv_free(dnnl_conv *c)
{
    if (!c) return;
    dnnl_primitive_t p[] = {c->fwd, c->bwd_d, c->bwd_w, c->r_wfwd, c->r_wbwd, c->r_dw};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (p[i]) dnnl_primitive_destroy(p[i]);
    for (int i = 0; i < 6; i++) {
        if (c->pd[i]) dnnl_primitive_desc_destroy(c->pd[i]);
        if (c->sp[i]) dnnl_memory_destroy(c->sp[i]);
    }
    // w_fwd / w_bwd / dw_bwd may alias w_user / w_fwd / dw_user: destroy each object once.
    dnnl_memory_t mm[] = {c->src,      c->w_user,   c->bias,    c->dst,
                          c->diff_dst, c->diff_src, c->dw_user, c->diff_bias};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
        if (mm[i]) dnnl_memory_destroy(mm[i]);
    if (c->w_fwd && c->w_fwd != c->w_user) dnnl_memory_destroy(c->w_fwd);
    if (c->w_bwd && c->w_bwd != c->w_fwd && c->w_bwd != c->w_user) dnnl_memory_destroy(c->w_bwd);
    if (c->dw_bwd && c->dw_bwd != c->dw_user) dnnl_memory_destroy(c->dw_bwd);
    free(c);
}

static size_t pd_scratch(const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md ? dnnl_memory_desc_get_size(md) : 0;
}

// Memory in the format a primitive chose (`want`): the user memory itself when the formats
// agree, otherwise a new oneDNN-allocated memory and a reorder primitive from -> to.
static nn_status layout_for(dnnl_ctx *x, dnnl_primitive_attr_t attr, dnnl_memory_t user,
                            const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *want,
                            int user_is_src, dnnl_memory_t *out, dnnl_primitive_t *reorder,
                            dnnl_primitive_desc_t *rpd)
{
    nn_status st = NN_OK;
    if (dnnl_memory_desc_equal(user_md, want)) {
        *out = user;
        return NN_OK;
    }
    DNNL_TRY(dnnl_memory_create(out, want, x->eng, DNNL_MEMORY_ALLOCATE));
    if (user_is_src)
        DNNL_TRY(dnnl_reorder_primitive_desc_create(rpd, user_md, x->eng, want, x->eng, attr));
    else
        DNNL_TRY(dnnl_reorder_primitive_desc_create(rpd, want, x->eng, user_md, x->eng, attr));
    DNNL_TRY(dnnl_primitive_create(reorder, *rpd));
fail:
    return st;
}

static nn_status dnnl_conv_create(nn_model *m, nn_layer *L, dnnl_conv **out)
{
    dnnl_ctx *x = m->dnnl_ctx;
    nn_status st = NN_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_conv *c = calloc(1, sizeof *c);
    if (!c) return NN_FAIL(NN_ERR_NOMEM, "oneDNN conv");
    const int k = L->d.k, pad = k / 2;
    const dnnl_dims_t sd = {1, L->ic, L->ih, L->iw}, dd = {1, L->oc, L->oh, L->ow};
    const dnnl_dims_t wd = {L->oc, L->ic, k, k}, bd = {L->oc};
    const dnnl_dims_t strides = {1, 1}, pl = {pad, pad}, pr = {pad, pad};
    dnnl_memory_desc_t src_md, dst_md, w_any, w_user_md, b_md;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32, dnnl_nhwc));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, dnnl_nhwc));
    // Plain weight layouts select reference kernels (orders of magnitude slower): let each
    // primitive choose (format_tag any) and reorder from theta's [k][k][ic][oc] = hwio.
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_user_md, 4, wd, dnnl_f32, dnnl_hwio));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));

    dnnl_convolution_desc_t cd;
    DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                                &src_md, &w_any, &b_md, &dst_md, strides, pl, pr));
    DNNL_TRY(dnnl_primitive_desc_create(&c->pd[0], &cd, attr, x->eng, NULL));
    DNNL_TRY(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_md, &w_any,
                                                      &dst_md, strides, pl, pr));
    DNNL_TRY(dnnl_primitive_desc_create(&c->pd[1], &cd, attr, x->eng, c->pd[0]));
    DNNL_TRY(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_md,
                                                         &w_any, &b_md, &dst_md, strides, pl, pr));
    DNNL_TRY(dnnl_primitive_desc_create(&c->pd[2], &cd, attr, x->eng, c->pd[0]));
    DNNL_TRY(dnnl_primitive_create(&c->fwd, c->pd[0]));
    DNNL_TRY(dnnl_primitive_create(&c->bwd_d, c->pd[1]));
    DNNL_TRY(dnnl_primitive_create(&c->bwd_w, c->pd[2]));

    float *wf = m->wf + L->wf_off;
    const size_t K = (size_t)k * k * L->ic;
    // src, dst, diff_dst and diff_src get their buffers at each call (the layer's activations).
    DNNL_TRY(dnnl_memory_create(&c->src, &src_md, x->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&c->w_user, &w_user_md, x->eng, wf));
    DNNL_TRY(dnnl_memory_create(&c->bias, &b_md, x->eng, wf + K * L->oc));
    DNNL_TRY(dnnl_memory_create(&c->dst, &dst_md, x->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&c->diff_dst, &dst_md, x->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&c->diff_src, &src_md, x->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&c->dw_user, &w_user_md, x->eng, m->dwf));
    DNNL_TRY(dnnl_memory_create(&c->diff_bias, &b_md, x->eng, m->dbf));
    // The primitives expect src / dst exactly as NHWC (no 'any' there), so only the weights
    // may need reorders.
    st = layout_for(x, attr, c->w_user, &w_user_md,
                    dnnl_primitive_desc_query_md(c->pd[0], dnnl_query_weights_md, 0), 1, &c->w_fwd,
                    &c->r_wfwd, &c->pd[3]);
    if (st != NN_OK) goto fail;
    const dnnl_memory_desc_t *wb = dnnl_primitive_desc_query_md(c->pd[1], dnnl_query_weights_md, 0);
    if (c->w_fwd != c->w_user &&
        dnnl_memory_desc_equal(wb,
                               dnnl_primitive_desc_query_md(c->pd[0], dnnl_query_weights_md, 0)))
        c->w_bwd = c->w_fwd; // converted once per forward, shared by backward
    else if ((st = layout_for(x, attr, c->w_user, &w_user_md, wb, 1, &c->w_bwd, &c->r_wbwd,
                              &c->pd[4])) != NN_OK)
        goto fail;
    st = layout_for(x, attr, c->dw_user, &w_user_md,
                    dnnl_primitive_desc_query_md(c->pd[2], dnnl_query_diff_weights_md, 0), 0,
                    &c->dw_bwd, &c->r_dw, &c->pd[5]);
    if (st != NN_OK) goto fail;
    for (int i = 0; i < 6; i++) {
        if (!c->pd[i]) continue;
        const size_t sz = pd_scratch(c->pd[i]);
        if (sz > x->scratch_size) x->scratch_size = sz;
    }
    dnnl_primitive_attr_destroy(attr);
    *out = c;
    return NN_OK;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    dnnl_conv_free(c);
    return st;
}

// Scratchpad memories of every primitive on the shared buffer (after it is sized).
static nn_status dnnl_conv_bind_scratch(dnnl_ctx *x, dnnl_conv *c)
{
    nn_status st = NN_OK;
    for (int i = 0; i < 6; i++) {
        if (!c->pd[i]) continue;
        const dnnl_memory_desc_t *md =
            dnnl_primitive_desc_query_md(c->pd[i], dnnl_query_scratchpad_md, 0);
        DNNL_TRY(dnnl_memory_create(&c->sp[i], md, x->eng, x->scratch));
    }
fail:
    return st;
}

static void exec(dnnl_ctx *x, dnnl_primitive_t p, int n, const dnnl_exec_arg_t *a)
{
    // Arguments were validated when the primitives were created on these very memories.
    const dnnl_status_t s = dnnl_primitive_execute(p, x->stream, n, a);
    if (s != dnnl_success) NN_FAIL(NN_ERR_INVALID, "oneDNN execute: status %d", (int)s);
}

// oneDNN's OpenMP kernels split their work for exactly omp_get_max_threads() threads; with
// dynamic adjustment on (omp_set_dynamic(1), which fem/ sets for CHOLMOD) the runtime may hand
// a parallel region fewer threads on a loaded machine, and the missing threads' share (e.g. of
// a weight-gradient reduction) is never computed. Dynamic adjustment is therefore off around
// every oneDNN call and restored afterwards.
static int omp_static_begin(void)
{
#ifdef NN_HAVE_OPENMP
    const int dyn = omp_get_dynamic();
    if (dyn) omp_set_dynamic(0);
    return dyn;
#else
    return 0;
#endif
}

static void omp_static_end(int dyn)
{
#ifdef NN_HAVE_OPENMP
    if (dyn) omp_set_dynamic(1);
#else
    (void)dyn;
#endif
}

static void reorder(dnnl_ctx *x, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to,
                    dnnl_memory_t sp)
{
    const dnnl_exec_arg_t a[] = {
        {DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, sp}};
    exec(x, r, 3, a);
}

static void set_handle(dnnl_memory_t mem, const void *p)
{
    dnnl_memory_set_data_handle(mem, (void *)p); // cannot fail on a CPU memory
}

static void dc_forward(nn_model *m, dnnl_conv *c, const float *src, float *dst)
{
    dnnl_ctx *x = m->dnnl_ctx;
    const int dyn = omp_static_begin();
    set_handle(c->src, src);
    set_handle(c->dst, dst);
    if (c->r_wfwd) reorder(x, c->r_wfwd, c->w_user, c->w_fwd, c->sp[3]);
    const dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, c->src},
                                 {DNNL_ARG_WEIGHTS, c->w_fwd},
                                 {DNNL_ARG_BIAS, c->bias},
                                 {DNNL_ARG_DST, c->dst},
                                 {DNNL_ARG_SCRATCHPAD, c->sp[0]}};
    exec(x, c->fwd, 5, a);
    dnnl_stream_wait(x->stream);
    omp_static_end(dyn);
}

// Weight reorder for backward-data (once per backward call, before the upstream loop).
static void dc_backward_prepare(nn_model *m, dnnl_conv *c)
{
    const int dyn = omp_static_begin();
    if (c->r_wbwd) reorder(m->dnnl_ctx, c->r_wbwd, c->w_user, c->w_bwd, c->sp[4]);
    omp_static_end(dyn);
}

// One upstream dy ([P][oc]): weight gradient to m->dwf (hwio), bias gradient to m->dbf and
// (dx != NULL) the input gradient to dx ([P][ic]); src is the forward's input.
static void dc_backward(nn_model *m, dnnl_conv *c, const float *src, const float *dy, float *dx)
{
    dnnl_ctx *x = m->dnnl_ctx;
    const int want_dx = dx != NULL;
    const int dyn = omp_static_begin();
    set_handle(c->src, src);
    set_handle(c->diff_dst, dy);
    if (dx) set_handle(c->diff_src, dx);
    const dnnl_exec_arg_t aw[] = {{DNNL_ARG_SRC, c->src},
                                  {DNNL_ARG_DIFF_DST, c->diff_dst},
                                  {DNNL_ARG_DIFF_WEIGHTS, c->dw_bwd},
                                  {DNNL_ARG_DIFF_BIAS, c->diff_bias},
                                  {DNNL_ARG_SCRATCHPAD, c->sp[2]}};
    exec(x, c->bwd_w, 5, aw);
    if (c->r_dw) reorder(x, c->r_dw, c->dw_bwd, c->dw_user, c->sp[5]);
    if (want_dx) {
        const dnnl_exec_arg_t ad[] = {{DNNL_ARG_DIFF_DST, c->diff_dst},
                                      {DNNL_ARG_WEIGHTS, c->w_bwd},
                                      {DNNL_ARG_DIFF_SRC, c->diff_src},
                                      {DNNL_ARG_SCRATCHPAD, c->sp[1]}};
        exec(x, c->bwd_d, 4, ad);
    }
    dnnl_stream_wait(x->stream);
    omp_static_end(dyn);
}

#endif // TOPOPT_HAVE_DNNL

// ---------------------------------------------------------------------------------------
// Setup

nn_status nn_conv32_setup(nn_model *m)
{
#ifdef TOPOPT_HAVE_DNNL
    if (!m->use_dnnl) return NN_OK;
    int any = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        if (L->d.type == NN_L_CONV && L->f32 && L->d.k > 1 && L->oc > 1) any = 1;
    }
    if (!any) return NN_OK;
    nn_status st = NN_OK;
    dnnl_ctx *x = calloc(1, sizeof *x);
    if (!x) return NN_FAIL(NN_ERR_NOMEM, "oneDNN context");
    m->dnnl_ctx = x;
    DNNL_TRY(dnnl_engine_create(&x->eng, dnnl_cpu, 0));
    DNNL_TRY(dnnl_stream_create(&x->stream, x->eng, dnnl_stream_default_flags));
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *L = &m->layers[i];
        if (!(L->d.type == NN_L_CONV && L->f32 && L->d.k > 1 && L->oc > 1)) continue;
        dnnl_conv *c = NULL;
        if ((st = dnnl_conv_create(m, L, &c)) != NN_OK) goto fail;
        L->dnnl = c;
    }
    x->scratch = malloc(x->scratch_size ? x->scratch_size : 1);
    if (!x->scratch) return NN_FAIL(NN_ERR_NOMEM, "oneDNN scratchpad [%zu bytes]", x->scratch_size);
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].dnnl && (st = dnnl_conv_bind_scratch(x, m->layers[i].dnnl)) != NN_OK)
            goto fail;
fail:
    return st;
#else
    (void)m;
    return NN_OK;
#endif
}

void nn_conv32_teardown(nn_model *m)
{
#ifdef TOPOPT_HAVE_DNNL
    for (int i = 0; i < m->n_layers; i++) {
        dnnl_conv_free(m->layers[i].dnnl);
        m->layers[i].dnnl = NULL;
    }
    dnnl_ctx *x = m->dnnl_ctx;
    if (x) {
        if (x->stream) dnnl_stream_destroy(x->stream);
        if (x->eng) dnnl_engine_destroy(x->eng);
        free(x->scratch);
        free(x);
    }
    m->dnnl_ctx = NULL;
#else
    (void)m;
#endif
}

// ---------------------------------------------------------------------------------------
// Forward / backward

void nn_conv32_forward(nn_model *m, nn_layer *L, const double *theta, const float *x, float *y)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, oc = L->oc, k = L->d.k;
    const int K = k * k * ic;
    float *wf = m->wf + L->wf_off;
    to_float(wf, theta + L->poff, (size_t)K * oc + oc); // weights and bias are contiguous
    const float *b = wf + (size_t)K * oc;
    if (oc == 1) {
        conv1_forward(L, x, wf, b[0], y);
        return;
    }
#ifdef TOPOPT_HAVE_DNNL
    if (L->dnnl) {
        dc_forward(m, L->dnnl, x, y);
        return;
    }
#endif
    for (int r0 = 0; r0 < ih; r0 += L->rows_f) {
        const int nr = ih - r0 < L->rows_f ? ih - r0 : L->rows_f;
        const float *A = x + (size_t)r0 * iw * ic;
        if (k > 1) {
            im2col_f(x, ih, iw, ic, k, r0, nr, m->colf);
            A = m->colf;
        }
        float *yc = y + (size_t)r0 * iw * oc;
        for (size_t p = 0; p < (size_t)nr * iw; p++)
            memcpy(yc + p * oc, b, (size_t)oc * sizeof *yc);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr * iw, oc, K, 1.0f, A, K, wf, oc,
                    1.0f, yc, oc);
    }
}

// Upstream j of kb in the batched layout [p][kb][C]: gathered into dst[P][C].
static void gather(const float *src, size_t P, int C, int kb, int j, float *dst)
{
    for (size_t p = 0; p < P; p++)
        memcpy(dst + p * C, src + (p * kb + j) * C, (size_t)C * sizeof *dst);
}

static void scatter(const float *src, size_t P, int C, int kb, int j, float *dst)
{
    for (size_t p = 0; p < P; p++)
        memcpy(dst + (p * kb + j) * C, src + p * C, (size_t)C * sizeof *dst);
}

int nn_conv32_backward(nn_model *m, nn_layer *L, int kb, const float *x, const float *dy, float *dx,
                       double *grad, size_t gstride)
{
    const int ih = L->ih, iw = L->iw, ic = L->ic, oc = L->oc, k = L->d.k;
    const int K = k * k * ic, N = kb * oc;
    const size_t P = (size_t)ih * iw;
    const float *wf = m->wf + L->wf_off;
    if (oc == 1 || L->dnnl) {
        // One upstream at a time ([P][oc] contiguous; kb = 1 needs no copies).
        for (int j = 0; j < kb; j++) {
            const float *g = dy;
            float *dxj = dx && kb == 1 ? dx : (dx ? m->dxf : NULL);
            if (kb > 1) {
                gather(dy, P, oc, kb, j, m->dyf);
                g = m->dyf;
            }
            double *gr = grad + j * gstride + L->poff;
            if (oc == 1) {
                conv1_backward(L, x, wf, g, m->dwf, gr, gr + K, dxj);
            } else {
#ifdef TOPOPT_HAVE_DNNL
                if (j == 0) dc_backward_prepare(m, L->dnnl);
                dc_backward(m, L->dnnl, x, g, dxj);
                to_double(gr, m->dwf, (size_t)K * oc);
                to_double(gr + (size_t)K * oc, m->dbf, (size_t)oc);
#endif
            }
            if (dx && kb > 1) scatter(m->dxf, P, ic, kb, j, dx);
        }
        return dx != NULL;
    }
    conv_bias_grad_f(dy, P, oc, kb, grad, gstride, L->poff + (size_t)K * oc);
    memset(m->dw, 0, (size_t)K * N * sizeof *m->dw);
    if (dx && k > 1) memset(dx, 0, P * kb * ic * sizeof *dx);
    for (int r0 = 0; r0 < ih; r0 += L->rows_b) {
        const int nr = ih - r0 < L->rows_b ? ih - r0 : L->rows_b;
        const float *dyc = dy + (size_t)r0 * iw * N;
        const float *A = x + (size_t)r0 * iw * ic;
        if (k > 1) {
            im2col_f(x, ih, iw, ic, k, r0, nr, m->colf);
            A = m->colf;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, nr * iw, 1.0f, A, K, dyc, N,
                    0.0f, m->dwf, N);
        for (size_t i = 0; i < (size_t)K * N; i++)
            m->dw[i] += (double)m->dwf[i]; // chunk sums in float, the image sum in double
        if (dx && k > 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr * iw * kb, K, oc, 1.0f, dyc, oc,
                        wf, oc, 0.0f, m->dcolf, K);
            col2im_f(m->dcolf, ih, iw, ic, k, r0, nr, kb, dx);
        } else if (dx) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr * iw * kb, ic, oc, 1.0f, dyc,
                        oc, wf, oc, 0.0f, dx + (size_t)r0 * iw * kb * ic, ic);
        }
    }
    conv_weight_grad_f(m->dw, K, oc, kb, grad, gstride, L->poff);
    return dx != NULL;
}
