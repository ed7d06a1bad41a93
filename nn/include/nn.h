// nn/include/nn.h: reparameterization networks (Hoyer et al. 2019 CNN, TOuNN-style Fourier MLP)
// with hand-written forward/backward passes over one flat parameter vector, on OpenBLAS.
//
// A model maps a parameter vector theta[n_params] to one logit per element of a W x H grid.
// All workspaces are allocated by the *_create call; nn_model_forward and nn_model_backward
// never allocate. The library is silent except for nn_model_summary and the one-line error
// messages ("nn: <function>: <message>") it writes to stderr when a call fails.
//
// Output layout (both models): logits[e] with e = ey*W + ex, ex in [0, W) the column (x grows
// to the right), ey in [0, H) the row with ey = 0 the TOP row. This is the row-major image
// [H][W] that Hoyer's TF code produces (network output of shape [H, W]).
//
// Random numbers (documented so that the same seed gives the same bits on every IEEE-754
// machine; no libc rand, no libm call whose rounding may differ between libraries):
//   - uniform stream: splitmix64 (Steele, Lea, Flood 2014) with state = seed; each draw
//     advances the state by 0x9E3779B97F4A7C15 and mixes it; u = (x >> 11) * 2^-53 in [0, 1).
//   - standard normal: Marsaglia's polar method on pairs u1, u2 -> v = 2u - 1, accepted when
//     0 < s = v1^2 + v2^2 < 1, returning v1*f then v2*f with f = sqrt(-2 ln(s)/s); ln is the
//     library's own series (frexp reduction + atanh series), sqrt is IEEE (correctly rounded).
//   - truncated normal (TF's truncated_normal): a standard normal redrawn until |x| <= 2.
//   Parameters are drawn in the order they appear in theta (layer by layer), from ONE stream;
//   an orthogonal kernel draws TF's Gaussian matrix a[max][min] in row-major order and
//   orthonormalizes it with modified Gram-Schmidt in plain C (no BLAS), so theta is
//   machine-independent. Logits and gradients go through OpenBLAS (and oneDNN in float32):
//   they are bit-identical run to run on one machine with one BLAS/OpenMP thread, not across
//   CPU kernels or thread counts.
//
// Precision (settings field precision): float32 by default, as the paper's TensorFlow code.
// theta, the logits and the gradients stay double; a float32 network runs every layer after
// the first dense one in float (activations, upsampling, normalizations, offsets, k x k
// convolutions), keeps the normalization statistics and all sums into the parameter gradient
// in double, and runs the dense layer on the latent vector in double (a matrix-vector product
// that reads the double kernel from theta either way). Built with oneDNN (CMake TOPOPT_DNNL,
// libdnnl-dev), the float32 convolutions with more than one output channel run on oneDNN's
// JIT kernels (NHWC activations, weights in the layout oneDNN picks, primitives and a user
// scratchpad created with the model); oneDNN runs on OpenMP and uses omp_get_max_threads()
// threads of the calling thread, i.e. the program's own thread setting.
#ifndef NN_H
#define NN_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status of a library call. */
typedef enum {
    NN_OK = 0,
    NN_ERR_NOMEM = -1,    ///< out of memory
    NN_ERR_INVALID = -2,  ///< invalid argument (NULL pointer, bad size)
    NN_ERR_SETTINGS = -3, ///< a settings field is out of range (the message names it)
    NN_ERR_STATE = -4,    ///< backward without a preceding forward with keep_for_backward != 0
} nn_status;

/** Human-readable name of a status. Never NULL. */
const char *nn_status_str(nn_status st);

/** Element-wise activations. */
typedef enum {
    NN_ACT_TANH = 0,       ///< tanh(x)
    NN_ACT_SIGMOID = 1,    ///< 1 / (1 + exp(-x))
    NN_ACT_LEAKY_RELU = 2, ///< x if x >= 0 else slope*x (settings field leaky_relu_slope)
    NN_ACT_SWISH = 3,      ///< x * sigmoid(x)
    NN_ACT_IDENTITY = 4,   ///< x
} nn_activation;

/** Parse "tanh", "sigmoid", "leaky_relu", "swish", "identity". Returns 0 and sets *a, or -1. */
int nn_activation_parse(const char *name, nn_activation *a);
/** Name of an activation as accepted by nn_activation_parse. Never NULL. */
const char *nn_activation_str(nn_activation a);

/** Arithmetic of a network's forward and backward passes. The parameters theta, the logits
 *  and the gradients are double either way (the conversion happens at the network boundary). */
typedef enum {
    NN_PREC_FLOAT32 = 0, ///< the k x k convolutions and the per-pixel dense layers compute in
                         ///< float (as the paper's TensorFlow code); reductions that need it
                         ///< (normalization statistics, gradient sums into theta) stay double
    NN_PREC_FLOAT64 = 1, ///< everything in double (for finite-difference checks)
} nn_precision;

/** Parse "float32", "float64". Returns 0 and sets *p, or -1. */
int nn_precision_parse(const char *name, nn_precision *p);
/** Name of a precision as accepted by nn_precision_parse. Never NULL. */
const char *nn_precision_str(nn_precision p);

/** 1 when the library was built with oneDNN (CMake option TOPOPT_DNNL): float32 k x k
 *  convolutions with more than one output channel then run on oneDNN's JIT kernels. */
int nn_have_dnnl(void);

/** Largest number of conv blocks of a hoyer_cnn. */
#define NN_MAX_BLOCKS 8

/** Settings of the Hoyer et al. 2019 CNN (google-research/neural-structural-optimization,
 *  models.py, CNNModel). Defaults (nn_hoyer_cnn_settings_default) are those of the paper.
 *
 *  Architecture, with total = prod(resizes), h = H/total, w = W/total:
 *    z[latent_size] (trainable, init N(0, latent_scale^2))
 *    -> dense to h*w*dense_channels with bias (kernel orthogonal, gain
 *       dense_init_scale*sqrt(max(h*w*dense_channels/latent_size, 1)); bias 0)
 *    -> reshape to [h][w][dense_channels] (channels last)
 *    -> for each block i: activation -> bilinear upsample x resizes[i] (TF2 half-pixel
 *       centres) -> global normalization (if normalization) -> kernel_size^2 conv 'same' to
 *       conv_filters[i] channels with bias (kernel truncated normal, variance scaling fan-in:
 *       stddev = sqrt(conv_init_scale/fan_in)/0.87962566103423978, fan_in = k*k*C_in; bias 0)
 *       -> offset y = x + offset_scale*b, b of the full [H_i][W_i][C_i] shape, init 0
 *       (omitted when offset_scale == 0)
 *    -> the single channel of the last block is the logit image [H][W].
 *  Grids not divisible by total: when auto_resize != 0, factors are reduced (see
 *  nn_hoyer_cnn_resizes) instead of failing; when auto_resize == 0 that is NN_ERR_SETTINGS. */
typedef struct {
    int latent_size;                 ///< length of the trainable latent vector z (128)
    double latent_scale;             ///< stddev of the normal init of z (1.0)
    int dense_channels;              ///< channels of the dense output image (32)
    double dense_init_scale;         ///< multiplies the orthogonal-init gain (1.0)
    int n_blocks;                    ///< number of conv blocks, 1..NN_MAX_BLOCKS (5)
    int resizes[NN_MAX_BLOCKS];      ///< integer upsampling factor per block, >= 1 (1,2,2,2,1)
    int conv_filters[NN_MAX_BLOCKS]; ///< output channels per block; last must be 1 (128,64,32,16,1)
    int kernel_size;                 ///< odd conv kernel size k (5)
    double conv_init_scale;          ///< VarianceScaling scale (1.0)
    double offset_scale;             ///< scale of the AddOffset layers, 0 = no offset layers (10)
    nn_activation activation;        ///< activation at the start of every block (NN_ACT_TANH)
    double leaky_relu_slope;         ///< slope for x < 0 when activation is NN_ACT_LEAKY_RELU (0.2)
    int normalization;               ///< 1 = global normalization in every block, 0 = none (1)
    double norm_eps;                 ///< epsilon of the global normalization (1e-6)
    int auto_resize;                 ///< 1 = reduce resizes when W, H are not divisible (1)
    int max_batch;          ///< upstream gradients per BLAS-3 pass in backward; a larger k is
                            ///< processed in groups of max_batch (4). Sizes the workspace.
    int chunk_kib;          ///< im2col chunk budget in KiB (16384): bounds workspace memory
    nn_precision precision; ///< arithmetic of the network (NN_PREC_FLOAT32). In float32 the
                            ///< logits and gradients carry ~1e-6 relative rounding noise
                            ///< (use float64 for finite-difference checks).
    int use_dnnl;           ///< 1 = float32 convolutions on oneDNN when built with it (1); 0 = the
                            ///< library's own im2col + SGEMM path. Ignored in float64.
} nn_hoyer_cnn_settings;

/** Fill *s with the defaults listed in nn_hoyer_cnn_settings. */
void nn_hoyer_cnn_settings_default(nn_hoyer_cnn_settings *s);

/** The upsampling factors that nn_model_create_hoyer_cnn will use for a W x H grid.
 *  If W and H are divisible by prod(s->resizes) these are s->resizes. Otherwise (auto_resize)
 *  the earliest block whose factor is > 1 has its factor divided by its smallest prime factor,
 *  repeatedly, until W and H are both divisible by the product (all ones always is), e.g.
 *  60 x 20 with (1,2,2,2,1) -> (1,1,2,2,1). resizes_out must hold s->n_blocks ints.
 *  Returns NN_ERR_SETTINGS when auto_resize is 0 and the grid is not divisible. */
nn_status nn_hoyer_cnn_resizes(int W, int H, const nn_hoyer_cnn_settings *s, int *resizes_out);

/** Settings of the TOuNN-style coordinate MLP (Chandrasekhar & Suresh 2021, TOuNN and
 *  Fourier-TOuNN). Defaults follow Fourier-TOuNN's example (1 layer of 20, LeakyReLU, batch
 *  normalization, 250 Fourier terms with radii 4..10 elements).
 *
 *  Architecture: element-centre coordinates x = ex + 0.5, y = (H - 1 - ey) + 0.5 (element
 *  units, y up, origin at the bottom-left corner of the grid)
 *    -> if fourier: features [cos(2 pi (x,y).B), sin(2 pi (x,y).B)], B[2][n_fourier] fixed
 *       (not trained) from fourier_seed with entries random sign * U(1/(2 r_max), 1/(2 r_min))
 *    -> n_layers times: dense to width (weights Xavier normal, stddev sqrt(2/(fan_in+fan_out)),
 *       bias 0) -> batch normalization over the W*H elements (if batch_norm; biased variance,
 *       eps bn_eps, learned gamma (init 1) and beta (init 0)) -> activation
 *    -> dense to 1 logit per element (Xavier normal, bias 0).
 *  B is drawn from its own splitmix64 stream seeded with fourier_seed, entry by entry in
 *  row-major order: one uniform u for the sign (u < 0.5 -> -1), then one for the magnitude.
 *  The output is the raw logit (TOuNN's 0.01 + sigmoid density map belongs to the caller). */
typedef struct {
    int n_layers;             ///< hidden layers L >= 0 (1)
    int width;                ///< hidden width N (20)
    nn_activation activation; ///< hidden activation (NN_ACT_LEAKY_RELU)
    double leaky_relu_slope;  ///< (0.01, PyTorch's default)
    int batch_norm;           ///< 1 = batch normalization after each hidden dense (1)
    double bn_eps;            ///< (1e-5, PyTorch's default)
    int fourier;              ///< 1 = random Fourier features of the coordinates (1)
    int n_fourier;            ///< number of frequencies; 2*n_fourier features (250)
    double fourier_rmin;      ///< smallest length scale in elements (4)
    double fourier_rmax;      ///< largest length scale in elements (10)
    uint64_t fourier_seed;    ///< seed of the fixed frequencies B (1234)
    int max_batch;            ///< upstream gradients per BLAS-3 pass in backward (4)
    nn_precision precision;   ///< arithmetic of the dense layers (NN_PREC_FLOAT32)
} nn_fourier_mlp_settings;

/** Fill *s with the defaults listed in nn_fourier_mlp_settings. */
void nn_fourier_mlp_settings_default(nn_fourier_mlp_settings *s);

/** Opaque network: layer list, parameter layout, workspaces. A model is not thread-safe
 *  (forward/backward write its workspaces); use one model per thread. */
typedef struct nn_model nn_model;

/** Build the Hoyer et al. CNN for a W x H element grid. *out is set to NULL first and to the
 *  new model on success. s is copied (NULL = defaults). All memory is allocated here.
 *
 *  theta layout (in this order, each block row-major):
 *    z[latent] | dense kernel [latent][h*w*C0] | dense bias [h*w*C0] |
 *    per block i: conv kernel [k][k][C_in][C_out] | conv bias [C_out] |
 *                 offset [H_i][W_i][C_out] (absent when offset_scale == 0)
 *  with C0 = dense_channels, H_i x W_i the image size after block i's upsampling.
 *  Errors: NN_ERR_INVALID (W or H < 1, out NULL), NN_ERR_SETTINGS, NN_ERR_NOMEM. */
nn_status nn_model_create_hoyer_cnn(nn_model **out, int W, int H, const nn_hoyer_cnn_settings *s);

/** Build the coordinate MLP for a W x H element grid (see nn_fourier_mlp_settings).
 *  theta layout: per hidden layer l: kernel [in_l][width] | bias [width] |
 *  (if batch_norm) gamma [width] | beta [width]; then output kernel [width or in][1] |
 *  output bias [1]; in_0 = 2*n_fourier with Fourier features, else 2 (x, y).
 *  Errors as nn_model_create_hoyer_cnn. */
nn_status nn_model_create_fourier_mlp(nn_model **out, int W, int H,
                                      const nn_fourier_mlp_settings *s);

/** Free a model and all its workspaces. NULL is allowed. */
void nn_model_destroy(nn_model *m);

/** Number of trainable parameters (length of theta and of each gradient row). */
int nn_model_num_params(const nn_model *m);

/** Number of outputs: W*H logits. */
int nn_model_num_outputs(const nn_model *m);

/** Write the deterministic initial parameters for `seed` into theta[n_params] (generator and
 *  per-layer initializers in the file header and the settings comments). Same seed -> same
 *  bits on every machine. Errors: NN_ERR_INVALID (NULL), NN_ERR_NOMEM (the orthogonal init
 *  of a hoyer_cnn allocates a temporary matrix when h*w*dense_channels <= latent_size, i.e.
 *  on tiny grids; otherwise it works in place and nothing after create allocates). */
nn_status nn_model_init_params(const nn_model *m, double *theta, uint64_t seed);

/** Forward pass: logits[W*H] (layout in the file header) from theta[n_params].
 *  keep_for_backward != 0 keeps what nn_model_backward needs; the model then remembers the
 *  theta POINTER: theta must stay alive and unchanged until the last backward call that
 *  follows. keep_for_backward == 0 is a value-only evaluation: it overwrites the kept state,
 *  so a following backward returns NN_ERR_STATE until the next kept forward. Never allocates.
 *  Errors: NN_ERR_INVALID (NULL argument). */
nn_status nn_model_forward(nn_model *m, const double *theta, double *logits, int keep_for_backward);

/** Backward pass after a forward with keep_for_backward != 0; may be called any number of
 *  times after one forward. Takes k >= 1 upstream gradients at once,
 *  upstream[j*W*H + e] = dL_j/dlogits[e], and OVERWRITES grad[j*n_params + p] = dL_j/dtheta[p]
 *  for j in [0, k). The k passes share each layer's GEMMs (batched up to max_batch at a time).
 *  Never allocates. Errors: NN_ERR_INVALID, NN_ERR_STATE. */
nn_status nn_model_backward(nn_model *m, int k, const double *upstream, double *grad);

/** Print a per-layer table (layer, output shape, parameter offset, parameter count) and the
 *  total parameter count to f (NULL = stdout). */
void nn_model_summary(const nn_model *m, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
