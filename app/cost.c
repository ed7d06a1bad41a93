// app/cost.c: memory and output-size estimate of a config, checked before any work
#include "cost.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "export.h"

/* Bytes of the FE part per dof and per log2(grid side): the Cholesky factor of a 2-D grid
 * under nested dissection has nnz(L) ~ c ndof log2(side) entries (George 1973: (31/4) N log2 N
 * on a 5-point N x N grid; CHOLMOD's METIS/AMD orderings follow the same law), and the matrix,
 * the filter and the fields are O(ndof). The constant is measured: max RSS of `topopt run`
 * with pixels + OC for one iteration on square grids was 62 MB (128^2), 212 MB (256^2) and
 * 834 MB (512^2) = 32 MB + 172..182 bytes * ndof * log2(side); 180 keeps the estimate within
 * +20 % / +6 % of those (the program itself is the constant APP_COST_BASE). */
#define APP_COST_FE_PER_DOF_LOG 180.0
#define APP_COST_BASE 32e6 ///< the program, its libraries and small buffers

/* Constraints the chain will create (mirrors app/chain.c). */
static int n_constraints(const app_config *c)
{
    int vol = c->volume;
    if (vol == APP_VOL_AUTO)
        vol = c->density_map == APP_MAP_SIGMOID_MEAN || c->solver.method == NCVX_LBFGS
                  ? APP_VOL_NONE
                  : APP_VOL_LE;
    return (vol == APP_VOL_LE || vol == APP_VOL_EQ) + (c->binarity != 0) +
           (c->symmetry != APP_SYM_NONE) + (c->disp_enabled != 0);
}

/* Parameters and bytes of the Hoyer et al. CNN (the architecture of nn.h). */
static void cnn_cost(const app_config *c, double *params, double *bytes)
{
    const nn_hoyer_cnn_settings *s = &c->cnn;
    int res[NN_MAX_BLOCKS];
    int nb = s->n_blocks > 0 && s->n_blocks <= NN_MAX_BLOCKS ? s->n_blocks : 1;
    if (nn_hoyer_cnn_resizes(c->width, c->height, s, res) != NN_OK)
        for (int i = 0; i < nb; i++)
            res[i] = 1;
    double total = 1;
    for (int i = 0; i < nb; i++)
        total *= res[i];
    double h = floor(c->height / total), w = floor(c->width / total);
    if (h < 1) h = 1;
    if (w < 1) w = 1;
    double dc = s->dense_channels, k2 = (double)s->kernel_size * s->kernel_size;
    double p = s->latent_size + s->latent_size * h * w * dc + h * w * dc;
    double acts = h * w * dc, widest = acts;
    double cin = dc;
    for (int i = 0; i < nb; i++) {
        h *= res[i];
        w *= res[i];
        double cout = s->conv_filters[i];
        p += k2 * cin * cout + cout + (s->offset_scale != 0 ? h * w * cout : 0);
        // kept for backward: the activation, the upsampled and normalized inputs, the output
        acts += h * w * (3 * cin + 2 * cout);
        if (h * w * (cin > cout ? cin : cout) > widest) widest = h * w * (cin > cout ? cin : cout);
        cin = cout;
    }
    int mb = s->max_batch > 0 ? s->max_batch : 4;
    *params = p;
    // theta, its gradient and the model's copy; activations; backward buffers for max_batch
    // upstream gradients (two per layer boundary); the im2col chunk
    *bytes = 8 * (3 * p + acts + 2 * mb * widest) + 1024.0 * (s->chunk_kib > 0 ? s->chunk_kib : 0);
}

/* Parameters and bytes of the Fourier MLP. */
static void mlp_cost(const app_config *c, double *params, double *bytes)
{
    const nn_fourier_mlp_settings *s = &c->mlp;
    double ne = (double)c->width * c->height;
    double f = s->fourier ? 2.0 * s->n_fourier : 2.0, in = f, p = 0, acts = ne * f;
    for (int l = 0; l < s->n_layers; l++) {
        p += in * s->width + s->width + (s->batch_norm ? 2.0 * s->width : 0);
        acts += 4 * ne * s->width; // dense out, normalized, activated, and a backward buffer
        in = s->width;
    }
    p += in + 1;
    acts += ne;
    int mb = s->max_batch > 0 ? s->max_batch : 4;
    *params = p;
    *bytes = 8 * (3 * p + acts * (1 + mb / 4.0));
}

/* How many gradient samples BFGS-SQP keeps (its workspace holds 1 + 2k vectors of n per
 * sample, at most sample_mem_max bytes, at most 400 / k samples). */
static double sqp_samples(const ncvx_settings *s, double n, int k)
{
    double ngrad = s->ngrad > 0 ? s->ngrad : fmin(100, n + 10);
    double per = 8 * (1 + 2.0 * k) * n;
    return fmin(ngrad, fmin(floor(s->sample_mem_max / per), floor(400.0 / k)));
}

/* The formula of solver/include/ncvx.h ("Memory of BFGS-SQP") and its analogues. */
static double solver_cost(const ncvx_settings *s, double n, int k)
{
    switch (s->method) {
    case NCVX_BFGS_SQP: {
        double m = s->limited_mem_size, b = 8 * (6 + 3.0 * k) * n;
        if (m <= 0) return b + 8 * n * n; // full BFGS
        int single = s->lm_single == 1 || (s->lm_single == -1 && 16 * m * n > s->lm_mem_max);
        b += (single ? 8 : 16) * m * n;
        double smp = sqp_samples(s, n, k);
        if (smp > 1) b += 8 * (1 + 2.0 * k) * n * smp;
        return b;
    }
    case NCVX_LBFGS:
    case NCVX_PENALTY:
    case NCVX_AUGLAG: {
        const double m = s->lbfgs_m > 0 ? s->lbfgs_m : 10; /* m + 1 pair slots */
        const int single = s->lm_single == 1 ||
                           (s->lm_single == -1 &&
                            (16 * m * n > NCVX_LBFGS_SINGLE_BYTES || 16 * m * n > s->lm_mem_max));
        return 8 * (6 + 3.0 * k) * n + (single ? 8.0 : 16.0) * (m + 1) * n;
    }
    default: // projgrad, MMA, OC: a few dozen vectors of n at most
        return 8 * (16 + 3.0 * k) * n;
    }
}

/* Doubles of ncvx_state_export: the iterate, its gradient and multipliers, the limited-memory
 * pairs (as doubles, whatever precision the engine keeps them in), the gradient samples of
 * BFGS-SQP, the n x n matrix of full BFGS; MMA's and OC's iterates and asymptotes. An upper
 * bound within a few n of ncvx_state_size (tests/test_app.c compares them). */
static double state_cost(const ncvx_settings *s, double n, int k)
{
    switch (s->method) {
    case NCVX_BFGS_SQP: {
        double m = s->limited_mem_size, b = 8 * (4 + 2.0 * k) * n;
        if (m <= 0) return b + 8 * n * n;
        b += 16 * m * n;
        /* the sample set as solver_cost sizes it; the state keeps a point and its k
         * gradients per sample */
        double smp = sqp_samples(s, n, k);
        if (smp > 1) b += 8 * (1.0 + k) * n * smp;
        return b;
    }
    case NCVX_LBFGS:
    case NCVX_PENALTY:
    case NCVX_AUGLAG: {
        const double m = s->lbfgs_m > 0 ? s->lbfgs_m : 10;
        return 8 * (4 + 2.0 * k) * n + 16 * m * n;
    }
    case NCVX_MMA:
        return 8 * (5 + 2.0 * k) * n;
    case NCVX_OC:
        return 8 * (3.0 + k) * n;
    default:
        return 8 * (8 + 2.0 * k) * n;
    }
}

void app_cost_estimate(const app_config *c, app_cost *e)
{
    memset(e, 0, sizeof *e);
    double W = c->width, H = c->height, ne = W * H;
    double nodes = (W + 1) * (H + 1), ndof = 2 * nodes;
    double n = ne, nn = 0;
    if (c->param_kind == APP_PARAM_CNN)
        cnn_cost(c, &n, &nn);
    else if (c->param_kind == APP_PARAM_MLP)
        mlp_cost(c, &n, &nn);
    e->n_params = n;
    e->n_constraints = n_constraints(c);
    int k = 1 + e->n_constraints;
    e->nn_bytes = nn;
    double side = sqrt(nodes);
    e->fe_bytes = APP_COST_FE_PER_DOF_LOG * ndof * (log2(side) > 1 ? log2(side) : 1) +
                  8.0 * ndof * (c->n_cases > 1 ? c->n_cases - 1 : 0);
    e->solver_bytes = solver_cost(&c->solver, n, k);
    e->state_bytes = state_cost(&c->solver, n, k);
    // the chain's element arrays (z, rho, filtered, projected, gradients, ...): ~12 per element;
    // the checkpoint's copy of the solver state (touched at the first checkpoint)
    e->total_bytes =
        APP_COST_BASE + e->nn_bytes + e->fe_bytes + e->solver_bytes + e->state_bytes + 8 * 12 * ne;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    e->phys_bytes = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
    e->limit_bytes = c->max_memory_gb > 0 ? c->max_memory_gb * 1e9
                     : e->phys_bytes > 0  ? APP_COST_MEMORY_SHARE * e->phys_bytes
                                          : HUGE_VAL;
    // result.h5: densities, strain energy, displacements, theta, checkpoint (theta and the
    // solver state: at most the solver's vectors), history rows, config text
    double rows = fmin(c->solver.maxit + 2.0, 1e5);
    e->h5_bytes =
        8 * (4 * ne + ndof * c->n_cases + 2 * n) + e->state_bytes + 8 * rows * (8 + k) + 4e5;
    double scale = c->png_scale > 0 ? c->png_scale : 1;
    e->png_w = scale * W * (1 + (c->mirror_left != 0) + (c->mirror_right != 0));
    e->png_h = scale * H;
}

void app_cost_print(const app_cost *e, FILE *f)
{
    fprintf(f,
            "# estimate: memory %.3g GB (network %.3g GB for %.0f parameters, FE %.3g GB, solver "
            "%.3g GB; limit %.3g GB), result.h5 %.3g MB, design.png %.0f x %.0f pixels\n",
            e->total_bytes / 1e9, e->nn_bytes / 1e9, e->n_params, e->fe_bytes / 1e9,
            e->solver_bytes / 1e9, e->limit_bytes / 1e9, e->h5_bytes / 1e6, e->png_w, e->png_h);
}

int app_cost_check(const app_config *c, app_cost *est, char *err, size_t errlen)
{
    app_cost local;
    app_cost *e = est ? est : &local;
    app_cost_estimate(c, e);
    if (e->total_bytes > e->limit_bytes) {
        char lim[160];
        if (c->max_memory_gb > 0)
            snprintf(lim, sizeof lim, "limits.max_memory_gb = %g", c->max_memory_gb);
        else
            snprintf(lim, sizeof lim,
                     "the default limit %.3g GB (%.0f %% of this machine's %.3g GB; raise it "
                     "with limits.max_memory_gb)",
                     e->limit_bytes / 1e9, 100 * APP_COST_MEMORY_SHARE, e->phys_bytes / 1e9);
        snprintf(err, errlen,
                 "%s: the run needs about %.3g GB of memory (network %.3g GB for %.0f parameters, "
                 "FE factor %.3g GB, solver %.3g GB), more than %s",
                 c->path[0] ? c->path : "config", e->total_bytes / 1e9, e->nn_bytes / 1e9,
                 e->n_params, e->fe_bytes / 1e9, e->solver_bytes / 1e9, lim);
        return 2;
    }
    if (e->png_w > APP_PNG_MAX_SIDE || e->png_h > APP_PNG_MAX_SIDE) {
        snprintf(err, errlen,
                 "%s: design.png would be %.0f x %.0f pixels (outputs.png_scale = %d), more "
                 "than %d a side; lower outputs.png_scale",
                 c->path[0] ? c->path : "config", e->png_w, e->png_h, c->png_scale,
                 APP_PNG_MAX_SIDE);
        return 2;
    }
    return 0;
}
