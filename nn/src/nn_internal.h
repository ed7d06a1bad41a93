// nn/src/nn_internal.h: layer descriptions, the model struct and the internal builder (also
// used by the white-box layer tests in tests/test_nn.c).
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#define NN_PI 3.14159265358979323846

#define NN_FAIL(st, ...) nn_report_((st), __func__, __VA_ARGS__)
/** Print "nn: func: msg" to stderr and return st. */
nn_status nn_report_(nn_status st, const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

// ---------------------------------------------------------------------------------------
// Deterministic random numbers (documented in nn.h).

typedef struct {
    uint64_t s; ///< splitmix64 state
    int have;   ///< a second polar-method normal is cached
    double next;
} nn_rng;

void nn_rng_seed(nn_rng *r, uint64_t seed);
uint64_t nn_rng_u64(nn_rng *r);
double nn_rng_uniform(nn_rng *r);      ///< [0, 1), 53 bits
double nn_rng_normal(nn_rng *r);       ///< standard normal, Marsaglia polar
double nn_rng_trunc_normal(nn_rng *r); ///< standard normal redrawn until |x| <= 2
double nn_log(double x);               ///< natural log in plain double arithmetic (x > 0)

// ---------------------------------------------------------------------------------------
// Layers. Activations are channels-last images [h][w][c] (row-major, c fastest) of one
// sample. In backward, k_b upstream gradients travel together as [h*w][k_b][c].

typedef enum {
    NN_L_PARAM_INPUT = 0, ///< trainable input tensor (Hoyer's z), no input
    NN_L_CONST_INPUT,     ///< fixed input tensor (copied at build time), no input
    NN_L_CONV,            ///< k x k 'same' convolution with bias (k = 1: a dense layer per pixel)
    NN_L_RESHAPE,         ///< same data, new shape [h][w][c]
    NN_L_ACT,             ///< element-wise activation
    NN_L_UPSAMPLE,        ///< bilinear upsampling by an integer factor (TF2 half-pixel centres)
    NN_L_GNORM,           ///< global normalization (one mean, one variance)
    NN_L_OFFSET,          ///< y = x + scale*b, b of the full input shape
    NN_L_FOURIER,         ///< [cos(2 pi x.B), sin(2 pi x.B)] of 2-channel coordinates
    NN_L_BATCHNORM,       ///< per-channel normalization over all pixels, learned gamma, beta
} nn_layer_type;

typedef enum {
    NN_INIT_ZERO = 0,   ///< all parameters 0
    NN_INIT_NORMAL,     ///< weights N(0, scale^2), bias 0
    NN_INIT_TRUNC,      ///< weights scale * truncated standard normal (|x| <= 2), bias 0
    NN_INIT_ORTHOGONAL, ///< weights scale * orthogonal (TF's tf.initializers.orthogonal), bias 0
} nn_init;

/** What a layer is; the builder infers shapes and parameter offsets. */
typedef struct {
    nn_layer_type type;
    int h, w, c;        ///< PARAM_INPUT / CONST_INPUT shape; RESHAPE target shape
    const double *data; ///< CONST_INPUT values [h][w][c] (copied)
    int k, cout;        ///< CONV kernel size (odd) and output channels
    nn_init init;       ///< PARAM_INPUT / CONV weight initializer
    double init_scale;  ///< stddev, or gain for NN_INIT_ORTHOGONAL
    nn_activation act;  ///< ACT
    double slope;       ///< ACT leaky ReLU slope
    int factor;         ///< UPSAMPLE factor >= 1
    double eps;         ///< GNORM / BATCHNORM epsilon
    double scale;       ///< OFFSET scale
    int n_freq;         ///< FOURIER number of frequencies (2*n_freq outputs)
    double rmin, rmax;  ///< FOURIER length-scale range
    uint64_t seed;      ///< FOURIER frequency seed
    const char *name;   ///< label for the summary (static string), may be NULL
} nn_layer_desc;

typedef struct {
    nn_layer_desc d;
    int ih, iw, ic;    ///< input shape
    int oh, ow, oc;    ///< output shape
    size_t n_params;   ///< trainable parameters of this layer
    size_t poff;       ///< their offset in theta
    int rows_f;        ///< CONV: output rows per im2col chunk in forward
    int rows_b;        ///< CONV: output rows per chunk in backward (max_batch upstreams)
    size_t wf_off;     ///< CONV (float32): offset of its float weights [K][oc] + bias [oc] in m->wf
    int f32;           ///< the layer runs in float (index >= m->fstart)
    void *dnnl;        ///< CONV (float32, oneDNN): primitives and memories (conv32.c), or NULL
    double *aux;       ///< FOURIER: B[2][n_freq]; BATCHNORM: mean[c], rstd[c]; CONST_INPUT: data
    double mean, rstd; ///< GNORM statistics of the last forward
} nn_layer;

typedef enum { NN_KIND_CUSTOM = 0, NN_KIND_HOYER_CNN, NN_KIND_FOURIER_MLP } nn_kind;

struct nn_model {
    nn_kind kind;
    int W, H; ///< grid of the public models (0 for custom)
    int n_layers, cap;
    nn_layer *layers;
    double **act;   ///< act[i+1] = output of layer i (act[0] unused); may alias (RESHAPE)
    int *act_owned; ///< act[i] was allocated (not an alias)
    size_t n_params;
    size_t n_out;    ///< size of the last activation
    int first_param; ///< first layer with parameters; layers before it are constant
    int max_batch;
    size_t chunk_doubles; ///< im2col chunk budget
    double *gbuf[2];      ///< backward ping-pong [max act size * max_batch]
    double *col;          ///< im2col chunk (forward and backward)
    double *dcol;         ///< backward col chunk [rows_b * w * k*k*cin * max_batch]
    double *dw;           ///< conv weight gradients of a batch [k*k*cin][max_batch*cout]
    size_t gbuf_size, col_size, dcol_size, dw_size;
    nn_precision prec; ///< arithmetic (set before nn_build_finish)
    int use_dnnl;      ///< float32 convolutions with oc > 1 on oneDNN (when built with it)
    int fstart;        ///< float32: layers fstart.. run in float (n_layers: none)
    float **actf;      ///< actf[i+1] = float output of layer i >= fstart; actf[fstart] its input
    int *actf_owned;   ///< actf[i] was allocated (not an alias)
    float *gbf[2];     ///< backward ping-pong of the float layers
    float *wf;         ///< float copies of the conv weights and biases (converted in forward)
    float *colf, *dcolf, *dyf, *dwf; ///< float chunks of the im2col path, one upstream's dy
    float *dxf, *dbf; ///< float input gradient of one upstream [max in], bias gradient [max oc]
    void *dnnl_ctx;   ///< oneDNN engine, stream and scratchpad (conv32.c), or NULL
    int built;
    int have_forward;    ///< a forward with keep_for_backward ran since the last build
    const double *theta; ///< theta of that forward (borrowed)
    int resizes[NN_MAX_BLOCKS];
    int n_blocks;
};

/** Start an empty model. max_batch >= 1; chunk_doubles >= 1 (im2col budget). */
nn_status nn_build_begin(nn_model **out, int max_batch, size_t chunk_doubles);
/** Append a layer (shape inference from the previous layer). */
nn_status nn_build_add(nn_model *m, const nn_layer_desc *d);
/** Allocate all workspaces and evaluate the constant prefix. */
nn_status nn_build_finish(nn_model *m);

/** Valid kernel columns [kx0, kx1) of output column px of a k x k 'same' convolution on an
 *  image iw wide. */
static inline void nn_tap_range(int px, int iw, int k, int *kx0, int *kx1)
{
    const int sx0 = px - k / 2;
    *kx0 = sx0 < 0 ? -sx0 : 0;
    *kx1 = iw - sx0 < k ? iw - sx0 : k;
}

/** Zero-initialized description. */
nn_layer_desc nn_layer_desc_zero(nn_layer_type t);

/** Forward of one layer: y = f(x; theta). x is NULL for input layers. */
void nn_layer_forward(nn_model *m, nn_layer *L, const double *theta, const double *x, double *y);
/** Backward of one layer for kb upstreams in the layout [pixel][kb][channel]: writes the
 *  layer's parameter gradients into grad[j*gstride + poff ...] (overwrites) and, when dx is not
 *  NULL, the input gradient either in place into dy (returns 0) or into dx (returns 1). */
int nn_layer_backward(nn_model *m, nn_layer *L, const double *theta, int kb, const double *x,
                      const double *y, double *dy, double *dx, double *grad, size_t gstride);

// ---------------------------------------------------------------------------------------
// float32 convolutions (conv32.c).

/** Vector clones of the hot float loops (the library is built for the baseline x86-64 ISA;
 *  GCC picks the clone for the CPU at load time). Not under sanitizers or other compilers. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

/** Keeps a function out of line where inlining it made GCC compile its hot loop worse
 *  (measured with callgrind). */
#if defined(__GNUC__)
#define NN_NOINLINE __attribute__((noinline))
#else
#define NN_NOINLINE
#endif

/** Set up the float32 state of every conv layer (oneDNN primitives when enabled) once the
 *  float buffers of the model exist. */
nn_status nn_conv32_setup(nn_model *m);
/** Free what nn_conv32_setup created (NULL-safe parts). */
void nn_conv32_teardown(nn_model *m);
/** Forward of a float32 conv layer (weights and bias of theta converted here). */
void nn_conv32_forward(nn_model *m, nn_layer *L, const double *theta, const float *x, float *y);
/** Backward of a float32 conv layer, contract of nn_layer_backward (dx, when not NULL, is
 *  written, never dy in place: returns 1). */
int nn_conv32_backward(nn_model *m, nn_layer *L, int kb, const float *x, const float *dy, float *dx,
                       double *grad, size_t gstride);

/** Forward of one float layer (index >= m->fstart). */
void nn_layer_forward_f(nn_model *m, nn_layer *L, const double *theta, const float *x, float *y);
/** Backward of one float layer, contract of nn_layer_backward. */
int nn_layer_backward_f(nn_model *m, nn_layer *L, const double *theta, int kb, const float *x,
                        const float *y, float *dy, float *dx, double *grad, size_t gstride);

#endif
