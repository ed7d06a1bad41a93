// nn/src/model.c: model building (layer list, parameter layout, workspaces), the two public
// models, initialization, forward/backward over the layer list and the summary.
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

nn_status nn_report_(nn_status st, const char *func, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nn: %s: ", func);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return st;
}

const char *nn_status_str(nn_status st)
{
    switch (st) {
    case NN_OK:
        return "ok";
    case NN_ERR_NOMEM:
        return "out of memory";
    case NN_ERR_INVALID:
        return "invalid argument";
    case NN_ERR_SETTINGS:
        return "invalid settings";
    case NN_ERR_STATE:
        return "backward without a kept forward";
    }
    return "unknown status";
}

static const char *const act_names[] = {"tanh", "sigmoid", "leaky_relu", "swish", "identity"};

int nn_activation_parse(const char *name, nn_activation *a)
{
    if (!name || !a) return -1;
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (strcmp(name, act_names[i]) == 0) {
            *a = (nn_activation)i;
            return 0;
        }
    return -1;
}

const char *nn_activation_str(nn_activation a)
{
    if ((int)a < 0 || (int)a >= (int)(sizeof act_names / sizeof act_names[0])) return "unknown";
    return act_names[a];
}

static const char *const prec_names[] = {"float32", "float64"};

int nn_precision_parse(const char *name, nn_precision *p)
{
    if (!name || !p) return -1;
    for (int i = 0; i < 2; i++)
        if (strcmp(name, prec_names[i]) == 0) {
            *p = (nn_precision)i;
            return 0;
        }
    return -1;
}

const char *nn_precision_str(nn_precision p)
{
    return (int)p >= 0 && (int)p < 2 ? prec_names[p] : "unknown";
}

// ---------------------------------------------------------------------------------------
// Defaults (Hoyer et al. 2019, models.py CNNModel; Fourier-TOuNN main_fourierTOuNN.py)

#define NN_HOYER_LATENT 128
#define NN_HOYER_LATENT_SCALE 1.0
#define NN_HOYER_DENSE_CHANNELS 32
#define NN_HOYER_DENSE_INIT_SCALE 1.0
#define NN_HOYER_KERNEL 5
#define NN_HOYER_CONV_INIT_SCALE 1.0
#define NN_HOYER_OFFSET_SCALE 10.0
#define NN_HOYER_LEAKY_SLOPE 0.2
#define NN_HOYER_NORM_EPS 1e-6
#define NN_DEFAULT_MAX_BATCH 4
#define NN_DEFAULT_CHUNK_KIB 16384

#define NN_MLP_LAYERS 1
#define NN_MLP_WIDTH 20
#define NN_MLP_LEAKY_SLOPE 0.01
#define NN_MLP_BN_EPS 1e-5
#define NN_MLP_FOURIER_TERMS 250
#define NN_MLP_RMIN 4.0
#define NN_MLP_RMAX 10.0
#define NN_MLP_FOURIER_SEED 1234

// TF truncated_normal draws |x| <= 2 stddev; dividing by the stddev of the truncated standard
// normal (0.8796...) restores the requested variance (tf.initializers.VarianceScaling).
#define NN_TRUNC_STD_CORRECTION 0.87962566103423978

void nn_hoyer_cnn_settings_default(nn_hoyer_cnn_settings *s)
{
    static const int resizes[5] = {1, 2, 2, 2, 1};
    static const int filters[5] = {128, 64, 32, 16, 1};
    memset(s, 0, sizeof *s);
    s->latent_size = NN_HOYER_LATENT;
    s->latent_scale = NN_HOYER_LATENT_SCALE;
    s->dense_channels = NN_HOYER_DENSE_CHANNELS;
    s->dense_init_scale = NN_HOYER_DENSE_INIT_SCALE;
    s->n_blocks = 5;
    for (int i = 0; i < 5; i++) {
        s->resizes[i] = resizes[i];
        s->conv_filters[i] = filters[i];
    }
    s->kernel_size = NN_HOYER_KERNEL;
    s->conv_init_scale = NN_HOYER_CONV_INIT_SCALE;
    s->offset_scale = NN_HOYER_OFFSET_SCALE;
    s->activation = NN_ACT_TANH;
    s->leaky_relu_slope = NN_HOYER_LEAKY_SLOPE;
    s->normalization = 1;
    s->norm_eps = NN_HOYER_NORM_EPS;
    s->auto_resize = 1;
    s->max_batch = NN_DEFAULT_MAX_BATCH;
    s->chunk_kib = NN_DEFAULT_CHUNK_KIB;
    s->precision = NN_PREC_FLOAT32;
    s->use_dnnl = 1;
}

void nn_fourier_mlp_settings_default(nn_fourier_mlp_settings *s)
{
    memset(s, 0, sizeof *s);
    s->n_layers = NN_MLP_LAYERS;
    s->width = NN_MLP_WIDTH;
    s->activation = NN_ACT_LEAKY_RELU;
    s->leaky_relu_slope = NN_MLP_LEAKY_SLOPE;
    s->batch_norm = 1;
    s->bn_eps = NN_MLP_BN_EPS;
    s->fourier = 1;
    s->n_fourier = NN_MLP_FOURIER_TERMS;
    s->fourier_rmin = NN_MLP_RMIN;
    s->fourier_rmax = NN_MLP_RMAX;
    s->fourier_seed = NN_MLP_FOURIER_SEED;
    s->max_batch = NN_DEFAULT_MAX_BATCH;
    s->precision = NN_PREC_FLOAT32;
}

static int valid_act(nn_activation a)
{
    return (int)a >= NN_ACT_TANH && (int)a <= NN_ACT_IDENTITY;
}

// The settings both public models have.
static nn_status check_common(nn_activation act, double slope, int max_batch, nn_precision prec)
{
    if (!valid_act(act)) return NN_FAIL(NN_ERR_SETTINGS, "activation = %d", (int)act);
    if (!isfinite(slope)) return NN_FAIL(NN_ERR_SETTINGS, "leaky_relu_slope = %g", slope);
    if (max_batch < 1 || max_batch > 1024)
        return NN_FAIL(NN_ERR_SETTINGS, "max_batch = %d not in [1, 1024]", max_batch);
    if (prec != NN_PREC_FLOAT32 && prec != NN_PREC_FLOAT64)
        return NN_FAIL(NN_ERR_SETTINGS, "precision = %d", (int)prec);
    return NN_OK;
}

static nn_status check_hoyer(const nn_hoyer_cnn_settings *s)
{
    if (s->latent_size < 1) return NN_FAIL(NN_ERR_SETTINGS, "latent_size = %d < 1", s->latent_size);
    if (!isfinite(s->latent_scale) || s->latent_scale < 0)
        return NN_FAIL(NN_ERR_SETTINGS, "latent_scale = %g", s->latent_scale);
    if (s->dense_channels < 1)
        return NN_FAIL(NN_ERR_SETTINGS, "dense_channels = %d < 1", s->dense_channels);
    if (!isfinite(s->dense_init_scale))
        return NN_FAIL(NN_ERR_SETTINGS, "dense_init_scale = %g", s->dense_init_scale);
    if (s->n_blocks < 1 || s->n_blocks > NN_MAX_BLOCKS)
        return NN_FAIL(NN_ERR_SETTINGS, "n_blocks = %d not in [1, %d]", s->n_blocks, NN_MAX_BLOCKS);
    for (int i = 0; i < s->n_blocks; i++) {
        if (s->resizes[i] < 1 || s->resizes[i] > 64)
            return NN_FAIL(NN_ERR_SETTINGS, "resizes[%d] = %d not in [1, 64]", i, s->resizes[i]);
        if (s->conv_filters[i] < 1)
            return NN_FAIL(NN_ERR_SETTINGS, "conv_filters[%d] = %d < 1", i, s->conv_filters[i]);
    }
    if (s->conv_filters[s->n_blocks - 1] != 1)
        return NN_FAIL(NN_ERR_SETTINGS, "conv_filters[%d] = %d: the last block must have 1",
                       s->n_blocks - 1, s->conv_filters[s->n_blocks - 1]);
    if (s->kernel_size < 1 || s->kernel_size % 2 == 0 || s->kernel_size > 31)
        return NN_FAIL(NN_ERR_SETTINGS, "kernel_size = %d: must be odd in [1, 31]", s->kernel_size);
    if (!isfinite(s->conv_init_scale) || s->conv_init_scale < 0)
        return NN_FAIL(NN_ERR_SETTINGS, "conv_init_scale = %g", s->conv_init_scale);
    if (!isfinite(s->offset_scale))
        return NN_FAIL(NN_ERR_SETTINGS, "offset_scale = %g", s->offset_scale);
    nn_status st = check_common(s->activation, s->leaky_relu_slope, s->max_batch, s->precision);
    if (st != NN_OK) return st;
    if (s->normalization != 0 && s->normalization != 1)
        return NN_FAIL(NN_ERR_SETTINGS, "normalization = %d (0 or 1)", s->normalization);
    if (!(s->norm_eps > 0) || !isfinite(s->norm_eps))
        return NN_FAIL(NN_ERR_SETTINGS, "norm_eps = %g <= 0", s->norm_eps);
    if (s->chunk_kib < 1) return NN_FAIL(NN_ERR_SETTINGS, "chunk_kib = %d < 1", s->chunk_kib);
    if (s->use_dnnl != 0 && s->use_dnnl != 1)
        return NN_FAIL(NN_ERR_SETTINGS, "use_dnnl = %d (0 or 1)", s->use_dnnl);
    return NN_OK;
}

nn_status nn_hoyer_cnn_resizes(int W, int H, const nn_hoyer_cnn_settings *s, int *resizes_out)
{
    if (!s || !resizes_out) return NN_FAIL(NN_ERR_INVALID, "NULL argument");
    if (W < 1 || H < 1) return NN_FAIL(NN_ERR_INVALID, "grid %d x %d", W, H);
    nn_status st = check_hoyer(s);
    if (st != NN_OK) return st;
    int r[NN_MAX_BLOCKS];
    long total = 1;
    for (int i = 0; i < s->n_blocks; i++) {
        r[i] = s->resizes[i];
        total *= r[i];
    }
    if ((W % total || H % total) && !s->auto_resize)
        return NN_FAIL(NN_ERR_SETTINGS, "grid %d x %d not divisible by prod(resizes) = %ld", W, H,
                       total);
    while (W % total || H % total) {
        int i = 0;
        while (r[i] == 1)
            i++; // total > 1 here, so some factor exceeds 1
        int p = 2;
        while (r[i] % p)
            p++;
        r[i] /= p;
        total /= p;
    }
    memcpy(resizes_out, r, (size_t)s->n_blocks * sizeof *r);
    return NN_OK;
}

static nn_status check_mlp(const nn_fourier_mlp_settings *s)
{
    if (s->n_layers < 0 || s->n_layers > 64)
        return NN_FAIL(NN_ERR_SETTINGS, "n_layers = %d not in [0, 64]", s->n_layers);
    if (s->width < 1) return NN_FAIL(NN_ERR_SETTINGS, "width = %d < 1", s->width);
    nn_status st = check_common(s->activation, s->leaky_relu_slope, s->max_batch, s->precision);
    if (st != NN_OK) return st;
    if (s->batch_norm != 0 && s->batch_norm != 1)
        return NN_FAIL(NN_ERR_SETTINGS, "batch_norm = %d (0 or 1)", s->batch_norm);
    if (!(s->bn_eps > 0) || !isfinite(s->bn_eps))
        return NN_FAIL(NN_ERR_SETTINGS, "bn_eps = %g <= 0", s->bn_eps);
    if (s->fourier != 0 && s->fourier != 1)
        return NN_FAIL(NN_ERR_SETTINGS, "fourier = %d (0 or 1)", s->fourier);
    if (s->fourier) {
        if (s->n_fourier < 1) return NN_FAIL(NN_ERR_SETTINGS, "n_fourier = %d < 1", s->n_fourier);
        if (!(s->fourier_rmin > 0) || !(s->fourier_rmax >= s->fourier_rmin) ||
            !isfinite(s->fourier_rmax))
            return NN_FAIL(NN_ERR_SETTINGS, "fourier_rmin = %g, fourier_rmax = %g", s->fourier_rmin,
                           s->fourier_rmax);
    }
    return NN_OK;
}

// ---------------------------------------------------------------------------------------
// Builder

nn_layer_desc nn_layer_desc_zero(nn_layer_type t)
{
    nn_layer_desc d;
    memset(&d, 0, sizeof d);
    d.type = t;
    return d;
}

nn_status nn_build_begin(nn_model **out, int max_batch, size_t chunk_doubles)
{
    if (!out) return NN_FAIL(NN_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (max_batch < 1 || chunk_doubles < 1)
        return NN_FAIL(NN_ERR_INVALID, "max_batch = %d, chunk = %zu", max_batch, chunk_doubles);
    nn_model *m = calloc(1, sizeof *m);
    if (!m) return NN_FAIL(NN_ERR_NOMEM, "model");
    m->max_batch = max_batch;
    m->chunk_doubles = chunk_doubles;
    m->prec = NN_PREC_FLOAT64; // the public models set their own
    *out = m;
    return NN_OK;
}

static const char *type_name(nn_layer_type t)
{
    static const char *const names[] = {"param_input", "const_input", "conv",  "reshape",
                                        "activation",  "upsample",    "gnorm", "offset",
                                        "fourier",     "batchnorm"};
    return names[t];
}

nn_status nn_build_add(nn_model *m, const nn_layer_desc *d)
{
    if (!m || !d || m->built)
        return NN_FAIL(NN_ERR_INVALID, "NULL model/desc or model already built");
    const int is_input = d->type == NN_L_PARAM_INPUT || d->type == NN_L_CONST_INPUT;
    if (is_input != (m->n_layers == 0))
        return NN_FAIL(NN_ERR_INVALID, "input layers come first and only first");
    if (m->n_layers == m->cap) {
        const int cap = m->cap ? 2 * m->cap : 16;
        nn_layer *nl = realloc(m->layers, (size_t)cap * sizeof *nl);
        if (!nl) return NN_FAIL(NN_ERR_NOMEM, "layers[%d]", cap);
        m->layers = nl;
        m->cap = cap;
    }
    nn_layer L;
    memset(&L, 0, sizeof L);
    L.d = *d;
    L.d.data = NULL;
    if (!is_input) {
        const nn_layer *prev = &m->layers[m->n_layers - 1];
        L.ih = prev->oh;
        L.iw = prev->ow;
        L.ic = prev->oc;
    }
    L.oh = L.ih;
    L.ow = L.iw;
    L.oc = L.ic;
    const size_t in_size = (size_t)L.ih * L.iw * L.ic;
    switch (d->type) {
    case NN_L_PARAM_INPUT:
    case NN_L_CONST_INPUT:
    case NN_L_RESHAPE:
        if (d->h < 1 || d->w < 1 || d->c < 1)
            return NN_FAIL(NN_ERR_INVALID, "%s shape %d x %d x %d", type_name(d->type), d->h, d->w,
                           d->c);
        L.oh = d->h;
        L.ow = d->w;
        L.oc = d->c;
        if (d->type == NN_L_RESHAPE && (size_t)d->h * d->w * d->c != in_size)
            return NN_FAIL(NN_ERR_INVALID, "reshape of %zu values to %d x %d x %d", in_size, d->h,
                           d->w, d->c);
        if (d->type == NN_L_PARAM_INPUT) L.n_params = (size_t)d->h * d->w * d->c;
        if (d->type == NN_L_CONST_INPUT) {
            if (!d->data) return NN_FAIL(NN_ERR_INVALID, "const_input without data");
            const size_t n = (size_t)d->h * d->w * d->c;
            L.aux = malloc(n * sizeof *L.aux);
            if (!L.aux) return NN_FAIL(NN_ERR_NOMEM, "const_input[%zu]", n);
            memcpy(L.aux, d->data, n * sizeof *L.aux);
        }
        break;
    case NN_L_CONV:
        if (d->k < 1 || d->k % 2 == 0 || d->cout < 1)
            return NN_FAIL(NN_ERR_INVALID, "conv k = %d, cout = %d", d->k, d->cout);
        L.oc = d->cout;
        L.n_params = (size_t)d->k * d->k * L.ic * d->cout + (size_t)d->cout;
        break;
    case NN_L_ACT:
        if (!valid_act(d->act)) return NN_FAIL(NN_ERR_INVALID, "activation %d", (int)d->act);
        break;
    case NN_L_UPSAMPLE:
        if (d->factor < 1) return NN_FAIL(NN_ERR_INVALID, "upsample factor %d", d->factor);
        L.oh = L.ih * d->factor;
        L.ow = L.iw * d->factor;
        break;
    case NN_L_GNORM:
        if (!(d->eps > 0)) return NN_FAIL(NN_ERR_INVALID, "gnorm eps %g", d->eps);
        break;
    case NN_L_OFFSET:
        L.n_params = in_size;
        break;
    case NN_L_FOURIER: {
        if (L.ic != 2 || d->n_freq < 1 || !(d->rmin > 0) || !(d->rmax >= d->rmin))
            return NN_FAIL(NN_ERR_INVALID,
                           "fourier: %d input channels (need 2), n_freq %d, "
                           "radii %g..%g",
                           L.ic, d->n_freq, d->rmin, d->rmax);
        L.oc = 2 * d->n_freq;
        L.aux = malloc((size_t)2 * d->n_freq * sizeof *L.aux);
        if (!L.aux) return NN_FAIL(NN_ERR_NOMEM, "fourier B[2][%d]", d->n_freq);
        // Fourier-TOuNN: B[i][f] = random sign * U(1/(2 r_max), 1/(2 r_min)), fixed.
        nn_rng r;
        nn_rng_seed(&r, d->seed);
        const double lo = 1.0 / (2.0 * d->rmax), hi = 1.0 / (2.0 * d->rmin);
        for (int i = 0; i < 2 * d->n_freq; i++) {
            const double sign = nn_rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
            L.aux[i] = sign * (lo + (hi - lo) * nn_rng_uniform(&r));
        }
        break;
    }
    case NN_L_BATCHNORM:
        if (!(d->eps > 0)) return NN_FAIL(NN_ERR_INVALID, "batchnorm eps %g", d->eps);
        L.n_params = 2 * (size_t)L.oc;
        L.aux = malloc((size_t)2 * L.oc * sizeof *L.aux);
        if (!L.aux) return NN_FAIL(NN_ERR_NOMEM, "batchnorm stats[%d]", 2 * L.oc);
        break;
    }
    L.poff = m->n_params;
    m->n_params += L.n_params;
    if (m->n_params > INT_MAX) {
        free(L.aux);
        return NN_FAIL(NN_ERR_INVALID, "more than INT_MAX parameters");
    }
    m->layers[m->n_layers++] = L;
    return NN_OK;
}

static size_t layer_out_size(const nn_layer *L)
{
    return (size_t)L->oh * L->ow * L->oc;
}

static size_t layer_in_size(const nn_layer *L)
{
    return (size_t)L->ih * L->iw * L->ic;
}

// The float part's input: the double output of the layer before it, rounded.
static void float_input(nn_model *m)
{
    const int fs = m->fstart;
    const double *x = m->act[fs];
    for (size_t i = 0; i < layer_in_size(&m->layers[fs]); i++)
        m->actf[fs][i] = (float)x[i];
}

// Layers that run in double in a float32 model: inputs, Fourier features (both constant or
// copied from theta) and the dense layer on one vector (Hoyer's latent -> image: a
// matrix-vector product bound by reading the double kernel from theta, which a float copy
// would have to read as well). Everything after the last of them runs in float.
static int double_only(const nn_layer *L)
{
    return L->d.type == NN_L_PARAM_INPUT || L->d.type == NN_L_CONST_INPUT ||
           L->d.type == NN_L_FOURIER || (L->d.type == NN_L_CONV && L->ih * L->iw == 1);
}

nn_status nn_build_finish(nn_model *m)
{
    if (!m || m->built || m->n_layers == 0)
        return NN_FAIL(NN_ERR_INVALID, "empty or already built model");
    const int n = m->n_layers;
    const int mb = m->max_batch;
    m->act = calloc((size_t)n + 1, sizeof *m->act);
    m->act_owned = calloc((size_t)n + 1, sizeof *m->act_owned);
    m->actf = calloc((size_t)n + 1, sizeof *m->actf);
    m->actf_owned = calloc((size_t)n + 1, sizeof *m->actf_owned);
    if (!m->act || !m->act_owned || !m->actf || !m->actf_owned)
        return NN_FAIL(NN_ERR_NOMEM, "activation table");
    m->first_param = n;
    for (int i = 0; i < n; i++)
        if (m->layers[i].n_params > 0) {
            m->first_param = i;
            break;
        }
    // The float part starts after the last double-only layer, and never inside the constant
    // prefix (evaluated once in double below).
    m->fstart = n;
    if (m->prec == NN_PREC_FLOAT32) {
        int last = -1;
        for (int i = 0; i < n; i++)
            if (double_only(&m->layers[i])) last = i;
        m->fstart = last + 1 > m->first_param ? last + 1 : m->first_param;
    }
    const int fs = m->fstart;
    size_t gmax = 1, gfmax = 1, colmax = 1, dcolmax = 1, dwmax = 1, wfmax = 1, dyfmax = 1;
    size_t dxfmax = 1, dbfmax = 1, coldmax = 1, dcoldmax = 1;
    if (fs < n) {
        m->actf[fs] = malloc(layer_in_size(&m->layers[fs]) * sizeof(float));
        if (!m->actf[fs]) return NN_FAIL(NN_ERR_NOMEM, "float input of layer %d", fs);
        m->actf_owned[fs] = 1;
        // the double gradient of the float part's input
        if (fs > m->first_param) gmax = layer_in_size(&m->layers[fs]) * mb;
    }
    for (int i = 0; i < n; i++) {
        nn_layer *L = &m->layers[i];
        L->f32 = i >= fs;
        const size_t in = layer_in_size(L), out = layer_out_size(L);
        const size_t big = (out > in ? out : in) * mb;
        if (L->f32) {
            if (L->d.type == NN_L_RESHAPE) {
                m->actf[i + 1] = m->actf[i];
            } else {
                m->actf[i + 1] = malloc(out * sizeof(float));
                if (!m->actf[i + 1]) return NN_FAIL(NN_ERR_NOMEM, "activation %d [%zu]", i, out);
                m->actf_owned[i + 1] = 1;
            }
            if (big > gfmax) gfmax = big;
        } else {
            if (L->d.type == NN_L_RESHAPE) {
                m->act[i + 1] = m->act[i];
            } else {
                m->act[i + 1] = malloc(out * sizeof(double));
                if (!m->act[i + 1]) return NN_FAIL(NN_ERR_NOMEM, "activation %d [%zu]", i, out);
                m->act_owned[i + 1] = 1;
            }
            if (i >= m->first_param && big > gmax) gmax = big;
        }
        if (L->d.type == NN_L_CONV) {
            const size_t K = (size_t)L->d.k * L->d.k * L->ic;
            const size_t row = (size_t)L->iw * K;
            size_t rf = m->chunk_doubles / row, rb = m->chunk_doubles / (row * mb);
            rf = rf < 1 ? 1 : (rf > (size_t)L->ih ? (size_t)L->ih : rf);
            rb = rb < 1 ? 1 : (rb > (size_t)L->ih ? (size_t)L->ih : rb);
            L->rows_f = (int)rf;
            L->rows_b = (int)rb;
            if (L->d.k > 1) {
                if (rf * row > colmax) colmax = rf * row;
                if (rb * row * mb > dcolmax) dcolmax = rb * row * mb;
                if (!L->f32 && rf * row > coldmax) coldmax = rf * row;
                if (!L->f32 && rb * row * mb > dcoldmax) dcoldmax = rb * row * mb;
            }
            if (K * mb * L->oc > dwmax) dwmax = K * mb * L->oc;
            if (L->f32) {
                L->wf_off = wfmax;
                wfmax += K * L->oc + L->oc;
                if (out > dyfmax) dyfmax = out;
                if (in > dxfmax) dxfmax = in;
                if ((size_t)L->oc > dbfmax) dbfmax = (size_t)L->oc;
            }
        }
        if (L->d.type == NN_L_BATCHNORM && 2 * (size_t)L->oc > dwmax) dwmax = 2 * (size_t)L->oc;
    }
    m->gbuf_size = gmax;
    m->col_size = coldmax;
    m->dcol_size = dcoldmax;
    m->dw_size = dwmax;
    m->gbuf[0] = malloc(gmax * sizeof(double));
    m->gbuf[1] = malloc(gmax * sizeof(double));
    m->dw = malloc(dwmax * sizeof(double));
    if (!m->gbuf[0] || !m->gbuf[1] || !m->dw)
        return NN_FAIL(NN_ERR_NOMEM, "workspaces (%zu + %zu doubles)", 2 * gmax, dwmax);
    if (fs < n) {
        m->gbf[0] = malloc(gfmax * sizeof(float));
        m->gbf[1] = malloc(gfmax * sizeof(float));
        m->wf = malloc(wfmax * sizeof(float));
        m->colf = malloc(colmax * sizeof(float));
        m->dcolf = malloc(dcolmax * sizeof(float));
        m->dyf = malloc(dyfmax * sizeof(float));
        m->dwf = malloc(dwmax * sizeof(float));
        m->dxf = malloc(dxfmax * sizeof(float));
        m->dbf = malloc(dbfmax * sizeof(float));
        if (!m->gbf[0] || !m->gbf[1] || !m->wf || !m->colf || !m->dcolf || !m->dyf || !m->dwf ||
            !m->dxf || !m->dbf)
            return NN_FAIL(NN_ERR_NOMEM, "float32 workspaces");
        nn_status st = nn_conv32_setup(m);
        if (st != NN_OK) return st;
    }
    m->col = malloc(coldmax * sizeof(double));
    m->dcol = malloc(dcoldmax * sizeof(double));
    if (!m->col || !m->dcol)
        return NN_FAIL(NN_ERR_NOMEM, "im2col workspaces (%zu + %zu doubles)", coldmax, dcoldmax);
    m->n_out = layer_out_size(&m->layers[n - 1]);
    // The constant prefix (coordinates, Fourier features) is evaluated once, here; a float
    // part that starts right after it gets its float input once, too.
    for (int i = 0; i < m->first_param; i++)
        nn_layer_forward(m, &m->layers[i], NULL, m->act[i], m->act[i + 1]);
    if (fs < n && fs == m->first_param && fs > 0) float_input(m);
    m->built = 1;
    return NN_OK;
}

void nn_model_destroy(nn_model *m)
{
    if (!m) return;
    if (m->layers) nn_conv32_teardown(m);
    for (int i = 0; i < m->n_layers; i++)
        free(m->layers[i].aux);
    if (m->act && m->act_owned)
        for (int i = 0; i <= m->n_layers; i++)
            if (m->act_owned[i]) free(m->act[i]);
    if (m->actf && m->actf_owned)
        for (int i = 0; i <= m->n_layers; i++)
            if (m->actf_owned[i]) free(m->actf[i]);
    free(m->act);
    free(m->act_owned);
    free(m->actf);
    free(m->actf_owned);
    free(m->gbf[0]);
    free(m->gbf[1]);
    free(m->layers);
    free(m->gbuf[0]);
    free(m->gbuf[1]);
    free(m->col);
    free(m->dcol);
    free(m->dw);
    free(m->wf);
    free(m->colf);
    free(m->dcolf);
    free(m->dyf);
    free(m->dwf);
    free(m->dxf);
    free(m->dbf);
    free(m);
}

// ---------------------------------------------------------------------------------------
// Public models

// The steps both public models share. model_begin starts the build of a W x H model of the
// given kind. model_finish ends it with st, the status of the layers added in between: if all
// went well it finishes the build and hands m to *out, otherwise (or if nn_build_finish fails)
// it destroys m and returns the failure.
static nn_status model_begin(nn_model **m, nn_kind kind, int W, int H, int max_batch,
                             size_t chunk_doubles)
{
    nn_status st = nn_build_begin(m, max_batch, chunk_doubles);
    if (st != NN_OK) return st;
    (*m)->kind = kind;
    (*m)->W = W;
    (*m)->H = H;
    return NN_OK;
}

static nn_status model_finish(nn_model **out, nn_model *m, nn_status st)
{
    if (st == NN_OK) st = nn_build_finish(m);
    if (st != NN_OK) {
        nn_model_destroy(m);
        return st;
    }
    *out = m;
    return NN_OK;
}

// The activation after each hidden layer of both models.
static nn_status add_act(nn_model *m, nn_activation act, double slope)
{
    nn_layer_desc d = nn_layer_desc_zero(NN_L_ACT);
    d.act = act;
    d.slope = slope;
    return nn_build_add(m, &d);
}

nn_status nn_model_create_hoyer_cnn(nn_model **out, int W, int H, const nn_hoyer_cnn_settings *s)
{
    if (!out) return NN_FAIL(NN_ERR_INVALID, "out is NULL");
    *out = NULL;
    nn_hoyer_cnn_settings def;
    if (!s) {
        nn_hoyer_cnn_settings_default(&def);
        s = &def;
    }
    int rs[NN_MAX_BLOCKS];
    nn_status st = nn_hoyer_cnn_resizes(W, H, s, rs);
    if (st != NN_OK) return st;
    int total = 1;
    for (int i = 0; i < s->n_blocks; i++)
        total *= rs[i];
    const int h = H / total, w = W / total, C0 = s->dense_channels, L = s->latent_size;
    const double F = (double)h * w * C0;
    if (F > INT_MAX / 2) return NN_FAIL(NN_ERR_SETTINGS, "dense output %g too large", F);
    nn_model *m = NULL;
    st = model_begin(&m, NN_KIND_HOYER_CNN, W, H, s->max_batch,
                     (size_t)s->chunk_kib * 1024 / sizeof(double));
    if (st != NN_OK) return st;
    m->n_blocks = s->n_blocks;
    memcpy(m->resizes, rs, sizeof rs);
    m->prec = s->precision;
    m->use_dnnl = s->use_dnnl;

    nn_layer_desc d = nn_layer_desc_zero(NN_L_PARAM_INPUT);
    d.h = d.w = 1;
    d.c = L;
    d.init = NN_INIT_NORMAL;
    d.init_scale = s->latent_scale;
    d.name = "latent z";
    if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
    d = nn_layer_desc_zero(NN_L_CONV);
    d.k = 1;
    d.cout = (int)F;
    d.init = NN_INIT_ORTHOGONAL;
    // models.py: orthogonal(dense_init_scale * sqrt(max(filters / latent_size, 1))).
    d.init_scale = s->dense_init_scale * sqrt(F / L > 1.0 ? F / L : 1.0);
    d.name = "dense";
    if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
    d = nn_layer_desc_zero(NN_L_RESHAPE);
    d.h = h;
    d.w = w;
    d.c = C0;
    d.name = "reshape";
    if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
    int cin = C0;
    for (int b = 0; b < s->n_blocks; b++) {
        if ((st = add_act(m, s->activation, s->leaky_relu_slope)) != NN_OK) goto done;
        if (rs[b] > 1) {
            d = nn_layer_desc_zero(NN_L_UPSAMPLE);
            d.factor = rs[b];
            if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        }
        if (s->normalization) {
            d = nn_layer_desc_zero(NN_L_GNORM);
            d.eps = s->norm_eps;
            if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        }
        d = nn_layer_desc_zero(NN_L_CONV);
        d.k = s->kernel_size;
        d.cout = s->conv_filters[b];
        d.init = NN_INIT_TRUNC;
        const double fan_in = (double)s->kernel_size * s->kernel_size * cin;
        d.init_scale = sqrt(s->conv_init_scale / fan_in) / NN_TRUNC_STD_CORRECTION;
        if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        cin = s->conv_filters[b];
        if (s->offset_scale != 0.0) {
            d = nn_layer_desc_zero(NN_L_OFFSET);
            d.scale = s->offset_scale;
            if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        }
    }
done:
    return model_finish(out, m, st);
}

nn_status nn_model_create_fourier_mlp(nn_model **out, int W, int H,
                                      const nn_fourier_mlp_settings *s)
{
    if (!out) return NN_FAIL(NN_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (W < 1 || H < 1) return NN_FAIL(NN_ERR_INVALID, "grid %d x %d", W, H);
    nn_fourier_mlp_settings def;
    if (!s) {
        nn_fourier_mlp_settings_default(&def);
        s = &def;
    }
    nn_status st = check_mlp(s);
    if (st != NN_OK) return st;
    const size_t P = (size_t)W * H;
    double *xy = malloc(2 * P * sizeof *xy);
    if (!xy) return NN_FAIL(NN_ERR_NOMEM, "coordinates[%zu]", 2 * P);
    // Element centres in element units, y up, origin at the bottom-left corner.
    for (int ey = 0; ey < H; ey++)
        for (int ex = 0; ex < W; ex++) {
            xy[2 * ((size_t)ey * W + ex)] = ex + 0.5;
            xy[2 * ((size_t)ey * W + ex) + 1] = (H - 1 - ey) + 0.5;
        }
    nn_model *m = NULL;
    st = model_begin(&m, NN_KIND_FOURIER_MLP, W, H, s->max_batch,
                     (size_t)NN_DEFAULT_CHUNK_KIB * 1024 / sizeof(double));
    if (st != NN_OK) {
        free(xy);
        return st;
    }
    m->prec = s->precision;
    nn_layer_desc d = nn_layer_desc_zero(NN_L_CONST_INPUT);
    d.h = H;
    d.w = W;
    d.c = 2;
    d.data = xy;
    d.name = "coordinates";
    st = nn_build_add(m, &d);
    free(xy);
    if (st != NN_OK) goto done;
    int cin = 2;
    if (s->fourier) {
        d = nn_layer_desc_zero(NN_L_FOURIER);
        d.n_freq = s->n_fourier;
        d.rmin = s->fourier_rmin;
        d.rmax = s->fourier_rmax;
        d.seed = s->fourier_seed;
        if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        cin = 2 * s->n_fourier;
    }
    for (int l = 0; l <= s->n_layers; l++) {
        const int last = l == s->n_layers;
        const int cout = last ? 1 : s->width;
        d = nn_layer_desc_zero(NN_L_CONV);
        d.k = 1;
        d.cout = cout;
        d.init = NN_INIT_NORMAL;
        d.init_scale = sqrt(2.0 / (double)(cin + cout)); // Xavier (Glorot) normal, gain 1
        d.name = last ? "dense (logit)" : "dense";
        if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        cin = cout;
        if (last) break;
        if (s->batch_norm) {
            d = nn_layer_desc_zero(NN_L_BATCHNORM);
            d.eps = s->bn_eps;
            if ((st = nn_build_add(m, &d)) != NN_OK) goto done;
        }
        if ((st = add_act(m, s->activation, s->leaky_relu_slope)) != NN_OK) goto done;
    }
done:
    return model_finish(out, m, st);
}

int nn_model_num_params(const nn_model *m)
{
    return m ? (int)m->n_params : 0;
}

int nn_model_num_outputs(const nn_model *m)
{
    return m ? (int)m->n_out : 0;
}

// ---------------------------------------------------------------------------------------
// Initialization

// Modified Gram-Schmidt on the n rows (length len) of a: gives the Q of a QR factorization
// with a positive diagonal of R, i.e. exactly TF's orthogonal initializer (qr, then
// q *= sign(diag(r))). The Gaussian matrices here are well conditioned (cond ~ 1.2 for
// 128 x 1536), so one MGS sweep is orthogonal to ~1e-15.
static void mgs_rows(double *a, int n, size_t len)
{
    for (int j = 0; j < n; j++) {
        double *aj = a + (size_t)j * len;
        for (int i = 0; i < j; i++) {
            const double *ai = a + (size_t)i * len;
            double r = 0.0;
            for (size_t t = 0; t < len; t++)
                r += ai[t] * aj[t];
            for (size_t t = 0; t < len; t++)
                aj[t] -= r * ai[t];
        }
        double nrm = 0.0;
        for (size_t t = 0; t < len; t++)
            nrm += aj[t] * aj[t];
        nrm = sqrt(nrm);
        for (size_t t = 0; t < len; t++)
            aj[t] /= nrm;
    }
}

// TF tf.initializers.orthogonal for a kernel [rows][cols]: a = normal(max, min) drawn in
// row-major order; q from QR(a) with positive diag(r); kernel = gain * (q^T if rows < cols
// else q).
static nn_status init_orthogonal(nn_rng *r, double *K, int rows, int cols, double gain)
{
    const int mm = rows > cols ? rows : cols, nn_ = rows > cols ? cols : rows;
    double *at = K; // a^T [nn_][mm]; for rows < cols it is the kernel itself
    if (rows >= cols) {
        at = malloc((size_t)mm * nn_ * sizeof *at);
        if (!at) return NN_FAIL(NN_ERR_NOMEM, "orthogonal init [%d x %d]", mm, nn_);
    }
    for (int i = 0; i < mm; i++)
        for (int j = 0; j < nn_; j++)
            at[(size_t)j * mm + i] = nn_rng_normal(r);
    mgs_rows(at, nn_, (size_t)mm);
    if (rows < cols) {
        for (size_t t = 0; t < (size_t)mm * nn_; t++)
            K[t] *= gain;
    } else {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                K[(size_t)i * cols + j] = gain * at[(size_t)j * mm + i];
        free(at);
    }
    return NN_OK;
}

nn_status nn_model_init_params(const nn_model *m, double *theta, uint64_t seed)
{
    if (!m || !theta) return NN_FAIL(NN_ERR_INVALID, "NULL argument");
    nn_rng r;
    nn_rng_seed(&r, seed);
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        double *t = theta + L->poff;
        switch (L->d.type) {
        case NN_L_PARAM_INPUT:
            for (size_t p = 0; p < L->n_params; p++)
                t[p] = L->d.init == NN_INIT_ZERO ? 0.0 : L->d.init_scale * nn_rng_normal(&r);
            break;
        case NN_L_CONV: {
            const int rows = L->d.k * L->d.k * L->ic, cols = L->oc;
            const size_t nw = (size_t)rows * cols;
            switch (L->d.init) {
            case NN_INIT_ZERO:
                memset(t, 0, nw * sizeof *t);
                break;
            case NN_INIT_NORMAL:
                for (size_t p = 0; p < nw; p++)
                    t[p] = L->d.init_scale * nn_rng_normal(&r);
                break;
            case NN_INIT_TRUNC:
                for (size_t p = 0; p < nw; p++)
                    t[p] = L->d.init_scale * nn_rng_trunc_normal(&r);
                break;
            case NN_INIT_ORTHOGONAL: {
                nn_status st = init_orthogonal(&r, t, rows, cols, L->d.init_scale);
                if (st != NN_OK) return st;
                break;
            }
            }
            memset(t + nw, 0, (size_t)cols * sizeof *t); // bias 0
            break;
        }
        case NN_L_OFFSET:
            memset(t, 0, L->n_params * sizeof *t);
            break;
        case NN_L_BATCHNORM:
            for (int c = 0; c < L->oc; c++) {
                t[c] = 1.0;         // gamma
                t[L->oc + c] = 0.0; // beta
            }
            break;
        default:
            break;
        }
    }
    return NN_OK;
}

// ---------------------------------------------------------------------------------------
// Forward / backward

nn_status nn_model_forward(nn_model *m, const double *theta, double *logits, int keep_for_backward)
{
    if (!m || !theta || !logits) return NN_FAIL(NN_ERR_INVALID, "NULL argument");
    if (!m->built) return NN_FAIL(NN_ERR_INVALID, "model not built");
    const int n = m->n_layers, fs = m->fstart;
    m->have_forward = 0;
    for (int i = m->first_param; i < fs; i++)
        nn_layer_forward(m, &m->layers[i], theta, m->act[i], m->act[i + 1]);
    if (fs < n) {
        if (fs > m->first_param) float_input(m);
        for (int i = fs; i < n; i++)
            nn_layer_forward_f(m, &m->layers[i], theta, m->actf[i], m->actf[i + 1]);
        for (size_t e = 0; e < m->n_out; e++)
            logits[e] = (double)m->actf[n][e];
    } else {
        memcpy(logits, m->act[n], m->n_out * sizeof *logits);
    }
    m->have_forward = keep_for_backward != 0;
    m->theta = m->have_forward ? theta : NULL;
    return NN_OK;
}

nn_status nn_model_backward(nn_model *m, int k, const double *upstream, double *grad)
{
    if (!m || !upstream || !grad || k < 1)
        return NN_FAIL(NN_ERR_INVALID, "NULL argument or k = %d < 1", k);
    if (!m->built || !m->have_forward)
        return NN_FAIL(NN_ERR_STATE, "no forward with keep_for_backward since the last "
                                     "value-only forward");
    const int n = m->n_layers, fs = m->fstart;
    const nn_layer *last = &m->layers[n - 1];
    const size_t P = (size_t)last->oh * last->ow;
    const int C = last->oc;
    for (int j0 = 0; j0 < k; j0 += m->max_batch) {
        const int kb = k - j0 < m->max_batch ? k - j0 : m->max_batch;
        double *g = grad + (size_t)j0 * m->n_params;
        double *cur = m->gbuf[0], *oth = m->gbuf[1];
        int i = n - 1;
        if (fs < n) {
            // float part: upstreams rounded to float, layers n-1 .. fs in float
            float *cf = m->gbf[0], *of = m->gbf[1];
            for (int j = 0; j < kb; j++) {
                const double *u = upstream + (size_t)(j0 + j) * m->n_out;
                for (size_t p = 0; p < P; p++)
                    for (int c = 0; c < C; c++)
                        cf[(p * kb + j) * C + c] = (float)u[p * C + c];
            }
            for (; i >= fs && i >= m->first_param; i--) {
                const int want_dx = i > m->first_param;
                if (nn_layer_backward_f(m, &m->layers[i], m->theta, kb, m->actf[i], m->actf[i + 1],
                                        cf, want_dx ? of : NULL, g, m->n_params)) {
                    float *t = cf;
                    cf = of;
                    of = t;
                }
            }
            if (i >= m->first_param) {
                // the gradient of the float part's input, [p][kb][c], back to double
                const size_t ni = layer_in_size(&m->layers[fs]) * kb;
                for (size_t t = 0; t < ni; t++)
                    cur[t] = (double)cf[t];
            }
        } else {
            for (int j = 0; j < kb; j++) {
                const double *u = upstream + (size_t)(j0 + j) * m->n_out;
                for (size_t p = 0; p < P; p++)
                    memcpy(cur + (p * kb + j) * C, u + p * C, (size_t)C * sizeof *cur);
            }
        }
        for (; i >= m->first_param; i--) {
            const int want_dx = i > m->first_param;
            if (nn_layer_backward(m, &m->layers[i], m->theta, kb, m->act[i], m->act[i + 1], cur,
                                  want_dx ? oth : NULL, g, m->n_params)) {
                double *t = cur;
                cur = oth;
                oth = t;
            }
        }
    }
    return NN_OK;
}

// ---------------------------------------------------------------------------------------
// Summary

void nn_model_summary(const nn_model *m, FILE *f)
{
    if (!f) f = stdout;
    if (!m) {
        fprintf(f, "nn: (no model)\n");
        return;
    }
    if (m->kind == NN_KIND_HOYER_CNN) {
        fprintf(f, "hoyer_cnn %d x %d, upsampling factors (", m->W, m->H);
        for (int b = 0; b < m->n_blocks; b++)
            fprintf(f, "%s%d", b ? "," : "", m->resizes[b]);
        fprintf(f, "), %s%s\n", nn_precision_str(m->prec),
                m->dnnl_ctx ? " (oneDNN convolutions)" : "");
    } else if (m->kind == NN_KIND_FOURIER_MLP) {
        fprintf(f, "fourier_mlp %d x %d, %s\n", m->W, m->H, nn_precision_str(m->prec));
    }
    fprintf(f, "%3s  %-14s %-22s %10s %10s\n", "#", "layer", "output [h x w x c]", "offset",
            "params");
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        char shape[64], name[64];
        snprintf(shape, sizeof shape, "%d x %d x %d", L->oh, L->ow, L->oc);
        switch (L->d.type) {
        case NN_L_CONV:
            if (L->d.k == 1)
                snprintf(name, sizeof name, "dense");
            else
                snprintf(name, sizeof name, "conv %dx%d", L->d.k, L->d.k);
            break;
        case NN_L_ACT:
            snprintf(name, sizeof name, "%s", nn_activation_str(L->d.act));
            break;
        case NN_L_UPSAMPLE:
            snprintf(name, sizeof name, "upsample x%d", L->d.factor);
            break;
        case NN_L_OFFSET:
            snprintf(name, sizeof name, "offset x%g", L->d.scale);
            break;
        default:
            snprintf(name, sizeof name, "%s", L->d.name ? L->d.name : type_name(L->d.type));
            break;
        }
        fprintf(f, "%3d  %-14s %-22s %10zu %10zu\n", i, name, shape, L->poff, L->n_params);
    }
    fprintf(f, "total parameters: %zu, outputs: %zu\n", m->n_params, m->n_out);
}
