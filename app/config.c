// app/config.c: the config schema table and everything generated from it (parse, defaults,
// --set overrides, validation, YAML dump, markdown reference)
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

_Static_assert(sizeof(ncvx_method) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(nn_activation) == sizeof(int), "enum stored as int");

/* ------------------------------------------------------------------------------------------ */
/* Name lists: one table per enum (index = value)                                              */

#define NAMES(a) ((int)(sizeof(a) / sizeof(a)[0])), (a)

static const app_name filter_v[] = {
    {"density", "cone filter on the density (benchmark suite, top88 ft=2)"},
    {"sensitivity", "top88 ft=1 sensitivity filter (pixel + oc only)"},
    {"none", "no filter"},
};
const app_names app_filter_kind_names = {NAMES(filter_v), NULL};

static const app_name norm_v[] = {
    {"row", "rows sum to one (top88)"},
    {"column", "columns sum to one (benchmark suite)"},
};
const app_names app_filter_norm_names = {NAMES(norm_v), NULL};

static const app_name param_v[] = {
    {"cnn", "Hoyer et al. 2019 network"},
    {"mlp", "TOuNN-style Fourier MLP"},
    {"pixel", "one variable per element"},
};
const app_names app_param_kind_names = {NAMES(param_v), NULL};

static const app_name map_v[] = {
    {"sigmoid-mean", "sigmoid(z + b), b by bisection so the volume after the density filter equals "
                     "volfrac (Hoyer et al. hold the mean before the filter)"},
    {"sigmoid", "plain sigmoid (volume is a solver constraint)"},
    {"pixel", "identity with bounds [0, 1]"},
};
const app_names app_density_map_names = {NAMES(map_v), NULL};

static const app_name vol_v[] = {
    {"auto", "none with density_map sigmoid-mean, le otherwise"},
    {"none", "no volume constraint"},
    {"le", "mean density <= volfrac"},
    {"eq", "mean density = volfrac"},
};
const app_names app_volume_kind_names = {NAMES(vol_v), NULL};

static const app_name sym_v[] = {
    {"none", "no symmetry constraint"},
    {"x", "mirror about the vertical centre line"},
    {"y", "mirror about the horizontal centre line"},
};
const app_names app_symmetry_names = {NAMES(sym_v), NULL};

static const app_name dir_v[] = {
    {"x", "horizontal"},
    {"y", "vertical (y grows downward)"},
};
const app_names app_direction_names = {NAMES(dir_v), NULL};

static const app_name reuse_v[] = {
    /* FEM_REUSE_* order */
    {"auto", "on only for grids large enough that it pays"},
    {"off", "a Cholesky factorization every evaluation"},
    {"on", "conjugate gradients preconditioned with the last Cholesky factor, refactoring only "
           "when CG stops paying"},
};
const app_names app_fem_reuse_names = {NAMES(reuse_v), NULL};

static const app_name strategy_v[] = {
    {"single", "one run of the method above"},
    {"neural-polish",
     "the method above on the parameterization above for neural_fraction of "
     "budget.evaluations, then the remaining evaluations polish the pixels of its density (same "
     "filter, penalty and volfrac, volume <= volfrac explicit) with polish_method; every FE "
     "solve of both phases counts"},
    {"continuation",
     "pixels of polish_method from the uniform start in p_levels levels: the SIMP exponent "
     "raised from p_start to material.p and/or the filter radius lowered from r_start to "
     "filter.radius (the last level, at material.p and filter.radius, with the rest of the "
     "budget); every FE solve counts"},
};
const app_names app_strategy_kind_names = {NAMES(strategy_v), NULL};

/* Names owned by the libraries: the tables here hold the docs, in the libraries' enum order
 * (test_app checks that every library value has one). */
static const char *method_name(int i)
{
    return ncvx_method_str((ncvx_method)i);
}
static const app_name method_v[] = {
    {NULL, "BFGS-SQP with steering (Curtis, Mitchell, Overton 2017; GRANSO)"},
    {NULL, "unconstrained L-BFGS with a weak Wolfe line search"},
    {NULL, "quadratic or exact penalty, increasing weight, inner L-BFGS"},
    {NULL, "augmented Lagrangian (PHR for inequalities), inner L-BFGS"},
    {NULL, "projected gradient with a line search"},
    {NULL, "Method of Moving Asymptotes (Svanberg 1987/2002)"},
    {NULL, "optimality criteria (one volume constraint, move limit)"},
};
const app_names app_method_names = {NAMES(method_v), method_name};

static const ncvx_method polish_methods[] = {NCVX_MMA, NCVX_OC}; /* app_polish_method order */
ncvx_method app_polish_ncvx_method(app_polish_method p)
{
    return polish_methods[p == APP_POLISH_OC ? 1 : 0];
}
static const char *polish_name(int i)
{
    if (i < APP_POLISH_MMA || i > APP_POLISH_OC) return "unknown";
    return ncvx_method_str(app_polish_ncvx_method((app_polish_method)i));
}
static const app_name polish_v[] = {
    {NULL, "Method of Moving Asymptotes"},
    {NULL, "optimality criteria"},
};
const app_names app_polish_method_names = {NAMES(polish_v), polish_name};

static const char *activation_name(int i)
{
    return nn_activation_str((nn_activation)i);
}
static const app_name act_v[] = {
    {NULL, "tanh(x)"},
    {NULL, "1 / (1 + exp(-x))"},
    {NULL, "x if x >= 0, else leaky_relu_slope * x"},
    {NULL, "x * sigmoid(x)"},
    {NULL, "x"},
};
const app_names app_activation_names = {NAMES(act_v), activation_name};

static const char *precision_name(int i)
{
    return nn_precision_str((nn_precision)i);
}
static const app_name prec_v[] = {
    {NULL, "as the paper's TensorFlow code"},
    {NULL, "everything in double (for finite-difference checks)"},
};
const app_names app_precision_names = {NAMES(prec_v), precision_name};
#undef NAMES

const char *app_name_str(const app_names *l, int i)
{
    if (i < 0 || i >= l->n) return "unknown";
    return l->lib_name ? l->lib_name(i) : l->v[i].name;
}

int app_name_parse(const app_names *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(s, app_name_str(l, i))) return i;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* The schema                                                                                  */

typedef enum {
    T_INT,
    T_LONG,
    T_ULONG,
    T_U64,
    T_DOUBLE,
    T_BOOL,
    T_STR,
    T_ENUM,
    T_INTLIST, /* int array, count at aux */
    T_RECTS,   /* app_rect * (allocated to the size given), count at aux */
    T_LOADS,   /* one load case: loads[0], n_loads[0] (allocated) */
    T_CASES,   /* several load cases (allocated) */
    T_NODE,    /* int[2] */
} ktype;

typedef struct {
    const char *path;
    ktype type;
    size_t off;
    size_t aux;             /* string capacity, or offset of a list's count */
    const char *def;        /* default as YAML text; NULL = the library default */
    double min, max;        /* inclusive range for numbers (min > max: no range) */
    const app_names *names; /* the enum's name list (T_ENUM) */
    const char *doc;
} key;

#define OFF(f) offsetof(app_config, f)
#define NORANGE 1, 0
#define BIG 1e300

#define S(f) OFF(solver.f)
static const key KEYS[] = {
    /* problem */
    {"problem.benchmark", T_STR, OFF(benchmark), sizeof(((app_config *)0)->benchmark), "\"\"",
     NORANGE, NULL,
     "name of a problem in configs/benchmarks/hoyer2019/problems.json (e.g. "
     "mbb_beam_96x32_0.5); it sets the grid, supports, loads, passive regions, mirrors and "
     "volfrac (volfrac may still be overridden). Empty: give the grid below."},
    {"problem.width", T_INT, OFF(width), 0, "60", 1, 4096, NULL, "grid width W in elements"},
    {"problem.height", T_INT, OFF(height), 0, "20", 1, 4096, NULL, "grid height H in elements"},
    {"problem.volfrac", T_DOUBLE, OFF(volfrac), 0, "0.5", 0.001, 1.0, NULL,
     "target volume fraction (mean density over the designable elements)"},
    {"problem.supports.x", T_RECTS, OFF(fix_x), OFF(n_fix_x), "[]", NORANGE, NULL,
     "node rectangles [ix0, ix1, iy0, iy1] (inclusive; iy = 0 is the top edge) whose x dof is "
     "fixed"},
    {"problem.supports.y", T_RECTS, OFF(fix_y), OFF(n_fix_y), "[]", NORANGE, NULL,
     "node rectangles whose y dof is fixed"},
    {"problem.loads", T_LOADS, OFF(loads), OFF(n_loads), "[]", NORANGE, NULL,
     "one load case: list of [ix0, ix1, iy0, iy1, fx, fy]; every node of the inclusive node "
     "rectangle carries the force (fx, fy); y grows downward"},
    {"problem.load_cases", T_CASES, OFF(loads), OFF(n_loads), "[]", NORANGE, NULL,
     "several load cases (compliances summed): a list of load lists as in problem.loads; "
     "excludes problem.loads"},
    {"problem.passive_void", T_RECTS, OFF(void_rects), OFF(n_void), "[]", NORANGE, NULL,
     "element rectangles [ex0, ex1, ey0, ey1] forced to density 0"},
    {"problem.passive_solid", T_RECTS, OFF(solid_rects), OFF(n_solid), "[]", NORANGE, NULL,
     "element rectangles forced to density 1"},
    {"problem.mirror_left", T_BOOL, OFF(mirror_left), 0, "false", NORANGE, NULL,
     "the left edge is a symmetry plane (design.png is mirrored there)"},
    {"problem.mirror_right", T_BOOL, OFF(mirror_right), 0, "false", NORANGE, NULL,
     "the right edge is a symmetry plane"},
    /* material */
    {"material.E0", T_DOUBLE, OFF(E0), 0, "1", 1e-12, BIG, NULL, "Young's modulus of solid"},
    {"material.Emin", T_DOUBLE, OFF(Emin), 0, "1e-9", 0, BIG, NULL,
     "Young's modulus of void (modified SIMP, must be < E0)"},
    {"material.nu", T_DOUBLE, OFF(nu), 0, "0.3", -0.99, 0.49, NULL, "Poisson's ratio"},
    {"material.p", T_DOUBLE, OFF(penal), 0, "3", 1, 10, NULL, "SIMP penalization exponent"},
    {"fem.reuse", T_ENUM, OFF(fem_reuse), 0, "auto", NORANGE, &app_fem_reuse_names,
     "how K u = f is solved at each evaluation"},
    /* filter */
    {"filter.kind", T_ENUM, OFF(filter_kind), 0, "density", NORANGE, &app_filter_kind_names,
     "filter of the density (or of the compliance sensitivity)"},
    {"filter.radius", T_DOUBLE, OFF(filter_radius), 0, "2", 0, 100, NULL,
     "cone radius r in elements: weights max(0, r - distance between centres)"},
    {"filter.normalization", T_ENUM, OFF(filter_norm), 0, "column", NORANGE, &app_filter_norm_names,
     "normalization of the cone filter's weights"},
    /* projection */
    {"projection.enabled", T_BOOL, OFF(projection), 0, "false", NORANGE, NULL,
     "Heaviside projection of the filtered density"},
    {"projection.beta", T_DOUBLE, OFF(beta), 0, "1", 1e-6, 1000, NULL, "projection sharpness"},
    {"projection.eta", T_DOUBLE, OFF(eta), 0, "0.5", 0, 1, NULL, "projection threshold"},
    /* parameterization */
    {"parameterization.kind", T_ENUM, OFF(param_kind), 0, "cnn", NORANGE, &app_param_kind_names,
     "what the optimization variables are"},
    {"parameterization.precision", T_ENUM, OFF(precision), 0, "float32", NORANGE,
     &app_precision_names,
     "arithmetic of the cnn and mlp networks (parameters and solver stay double)"},
    {"parameterization.cnn.latent_size", T_INT, OFF(cnn.latent_size), 0, NULL, 1, 100000, NULL,
     "length of the trainable latent vector"},
    {"parameterization.cnn.latent_scale", T_DOUBLE, OFF(cnn.latent_scale), 0, NULL, 0, BIG, NULL,
     "stddev of the latent init"},
    {"parameterization.cnn.dense_channels", T_INT, OFF(cnn.dense_channels), 0, NULL, 1, 4096, NULL,
     "channels of the dense layer's image"},
    {"parameterization.cnn.dense_init_scale", T_DOUBLE, OFF(cnn.dense_init_scale), 0, NULL, 0, BIG,
     NULL, "gain multiplier of the orthogonal dense init"},
    {"parameterization.cnn.resizes", T_INTLIST, OFF(cnn.resizes), OFF(cnn_n_resizes),
     "[1, 2, 2, 2, 1]", 1, 16, NULL,
     "upsampling factor per block (W and H must be divisible by the product unless "
     "auto_resize)"},
    {"parameterization.cnn.conv_filters", T_INTLIST, OFF(cnn.conv_filters), OFF(cnn_n_filters),
     "[128, 64, 32, 16, 1]", 1, 4096, NULL,
     "output channels per block (same length as resizes, last = 1)"},
    {"parameterization.cnn.kernel_size", T_INT, OFF(cnn.kernel_size), 0, NULL, 1, 31, NULL,
     "odd convolution kernel size"},
    {"parameterization.cnn.conv_init_scale", T_DOUBLE, OFF(cnn.conv_init_scale), 0, NULL, 0, BIG,
     NULL, "variance-scaling scale of the conv init"},
    {"parameterization.cnn.offset_scale", T_DOUBLE, OFF(cnn.offset_scale), 0, NULL, 0, BIG, NULL,
     "scale of the per-pixel offset layers (0 = none)"},
    {"parameterization.cnn.activation", T_ENUM, OFF(cnn.activation), 0, NULL, NORANGE,
     &app_activation_names, "activation at the start of each block"},
    {"parameterization.cnn.leaky_relu_slope", T_DOUBLE, OFF(cnn.leaky_relu_slope), 0, NULL, 0, 1,
     NULL, "slope for leaky_relu"},
    {"parameterization.cnn.normalization", T_BOOL, OFF(cnn.normalization), 0, NULL, NORANGE, NULL,
     "global normalization in every block"},
    {"parameterization.cnn.norm_eps", T_DOUBLE, OFF(cnn.norm_eps), 0, NULL, 0, 1, NULL,
     "epsilon of the global normalization"},
    {"parameterization.cnn.auto_resize", T_BOOL, OFF(cnn.auto_resize), 0, NULL, NORANGE, NULL,
     "reduce the upsampling factors for grids not divisible by their product"},
    {"parameterization.mlp.n_layers", T_INT, OFF(mlp.n_layers), 0, NULL, 0, 64, NULL,
     "hidden layers"},
    {"parameterization.mlp.width", T_INT, OFF(mlp.width), 0, NULL, 1, 4096, NULL, "hidden width"},
    {"parameterization.mlp.activation", T_ENUM, OFF(mlp.activation), 0, NULL, NORANGE,
     &app_activation_names, "hidden activation"},
    {"parameterization.mlp.leaky_relu_slope", T_DOUBLE, OFF(mlp.leaky_relu_slope), 0, NULL, 0, 1,
     NULL, "slope for leaky_relu"},
    {"parameterization.mlp.batch_norm", T_BOOL, OFF(mlp.batch_norm), 0, NULL, NORANGE, NULL,
     "batch normalization after each hidden layer"},
    {"parameterization.mlp.bn_eps", T_DOUBLE, OFF(mlp.bn_eps), 0, NULL, 0, 1, NULL,
     "batch normalization epsilon"},
    {"parameterization.mlp.fourier", T_BOOL, OFF(mlp.fourier), 0, NULL, NORANGE, NULL,
     "random Fourier features of the coordinates"},
    {"parameterization.mlp.n_fourier", T_INT, OFF(mlp.n_fourier), 0, NULL, 1, 100000, NULL,
     "number of frequencies"},
    {"parameterization.mlp.fourier_rmin", T_DOUBLE, OFF(mlp.fourier_rmin), 0, NULL, 1e-6, BIG, NULL,
     "smallest length scale (elements)"},
    {"parameterization.mlp.fourier_rmax", T_DOUBLE, OFF(mlp.fourier_rmax), 0, NULL, 1e-6, BIG, NULL,
     "largest length scale (elements)"},
    {"parameterization.mlp.fourier_seed", T_U64, OFF(mlp.fourier_seed), 0, NULL, NORANGE, NULL,
     "seed of the fixed frequencies"},
    {"parameterization.pixel.init", T_DOUBLE, OFF(pixel_init), 0, "-1", -1, 1, NULL,
     "initial pixel value; -1 = volfrac (with density_map pixel) or 0 logits (sigmoid maps)"},
    /* density map */
    {"density_map", T_ENUM, OFF(density_map), 0, "sigmoid-mean", NORANGE, &app_density_map_names,
     "map from the logits z to the densities"},
    /* constraints */
    {"constraints.volume", T_ENUM, OFF(volume), 0, "auto", NORANGE, &app_volume_kind_names,
     "volume constraint of the solver"},
    {"constraints.binarity", T_BOOL, OFF(binarity), 0, "false", NORANGE, NULL,
     "add mean(rho (1 - rho)) <= binarity_tol as an inequality (NCVX)"},
    {"constraints.binarity_tol", T_DOUBLE, OFF(binarity_tol), 0, "0.01", 0, 0.25, NULL,
     "bound of the binarity constraint"},
    {"constraints.symmetry", T_ENUM, OFF(symmetry), 0, "none", NORANGE, &app_symmetry_names,
     "mirror symmetry of the physical density: mean((rho - mirror(rho))^2) <= symmetry_tol"},
    {"constraints.symmetry_tol", T_DOUBLE, OFF(symmetry_tol), 0, "1e-4", 0, 1, NULL,
     "bound of the symmetry constraint"},
    {"constraints.displacement.enabled", T_BOOL, OFF(disp_enabled), 0, "false", NORANGE, NULL,
     "limit the displacement at one node (load case 1)"},
    {"constraints.displacement.node", T_NODE, OFF(disp_node), 0, "[0, 0]", NORANGE, NULL,
     "node [ix, iy]"},
    {"constraints.displacement.dir", T_ENUM, OFF(disp_dir), 0, "y", NORANGE, &app_direction_names,
     "displacement component"},
    {"constraints.displacement.limit", T_DOUBLE, OFF(disp_limit), 0, "1", 0, BIG, NULL,
     "|u| limit: written as s*u <= limit with s the sign of u in the starting design"},
    /* method */
    {"method.name", T_ENUM, S(method), 0, "lbfgs", NORANGE, &app_method_names,
     "optimization method"},
    {"method.normalize_objective", T_BOOL, OFF(normalize_objective), 0, "false", NORANGE, NULL,
     "divide the compliance by its starting value (as NCVX examples do; always with mma)"},
    {"method.opt_tol", T_DOUBLE, S(opt_tol), 0, NULL, 0, BIG, NULL, "stationarity tolerance"},
    {"method.rel_tol", T_DOUBLE, S(rel_tol), 0, NULL, 0, BIG, NULL, "relative decrease tol."},
    {"method.step_tol", T_DOUBLE, S(step_tol), 0, NULL, 0, BIG, NULL, "step length tolerance"},
    {"method.fvalquit", T_DOUBLE, S(fvalquit), 0, NULL, NORANGE, NULL, "stop below this f"},
    {"method.viol_ineq_tol", T_DOUBLE, S(viol_ineq_tol), 0, NULL, 0, BIG, NULL,
     "inequality feasibility tolerance"},
    {"method.viol_eq_tol", T_DOUBLE, S(viol_eq_tol), 0, NULL, 0, BIG, NULL,
     "equality feasibility tolerance"},
    {"method.mu0", T_DOUBLE, S(mu0), 0, NULL, 1e-300, BIG, NULL, "initial penalty parameter"},
    {"method.limited_mem_size", T_INT, S(limited_mem_size), 0, "10", 0, 1000, NULL,
     "BFGS-SQP memory: 0 = full BFGS (n^2 doubles: pixel grids only), m > 0 = m pairs"},
    {"method.lm_single", T_INT, S(lm_single), 0, NULL, -1, 1, NULL,
     "L-BFGS pair precision: -1 auto (float past lm_mem_max; lbfgs, penalty, auglag also "
     "past 32 MB of double pairs), 0 double, 1 float"},
    {"method.lm_mem_max", T_DOUBLE, S(lm_mem_max), 0, NULL, 0, BIG, NULL,
     "bytes the pairs may take in double before auto switches to float"},
    {"method.sample_mem_max", T_DOUBLE, S(sample_mem_max), 0, NULL, 0, BIG, NULL,
     "bytes for the stationarity gradient samples"},
    {"method.bfgs_damping", T_DOUBLE, S(bfgs_damping), 0, NULL, 0, 1, NULL, "BFGS damping"},
    {"method.scaleH0", T_BOOL, S(scaleH0), 0, NULL, NORANGE, NULL, "scale H0 after step 1"},
    {"method.ngrad", T_INT, S(ngrad), 0, NULL, 0, 100000, NULL,
     "gradient samples (0 = min(100, 2n, n+10))"},
    {"method.evaldist", T_DOUBLE, S(evaldist), 0, NULL, 0, BIG, NULL, "sample neighbourhood"},
    {"method.steering_l1_model", T_BOOL, S(steering_l1_model), 0, NULL, NORANGE, NULL,
     "l1 model in steering"},
    {"method.steering_ineq_margin", T_DOUBLE, S(steering_ineq_margin), 0, NULL, 0, BIG, NULL,
     "steering inequality margin"},
    {"method.steering_maxit", T_INT, S(steering_maxit), 0, NULL, 0, 1000, NULL,
     "steering iterations"},
    {"method.steering_c_viol", T_DOUBLE, S(steering_c_viol), 0, NULL, 0, 1, NULL,
     "steering violation factor"},
    {"method.steering_c_mu", T_DOUBLE, S(steering_c_mu), 0, NULL, 0, 1, NULL, "steering mu factor"},
    {"method.max_random_attempts", T_INT, S(max_random_attempts), 0, NULL, 0, 1000, NULL,
     "random direction attempts"},
    {"method.is_backtrack_linesearch", T_BOOL, S(is_backtrack_linesearch), 0, NULL, NORANGE, NULL,
     "Armijo backtracking instead of weak Wolfe"},
    {"method.wolfe1", T_DOUBLE, S(wolfe1), 0, NULL, 0, 1, NULL, "sufficient decrease"},
    {"method.wolfe2", T_DOUBLE, S(wolfe2), 0, NULL, 0, 1, NULL, "curvature condition"},
    {"method.init_step_size", T_DOUBLE, S(init_step_size), 0, NULL, 1e-300, BIG, NULL,
     "first trial step"},
    {"method.linesearch_maxit", T_INT, S(linesearch_maxit), 0, NULL, 0, 100000, NULL,
     "line search evaluations (0 = unbounded)"},
    {"method.lbfgs_m", T_INT, S(lbfgs_m), 0, NULL, 1, 1000, NULL, "L-BFGS memory"},
    {"method.penalty_exact", T_BOOL, S(penalty_exact), 0, NULL, NORANGE, NULL,
     "exact (l1) instead of quadratic penalty"},
    {"method.penalty_rho0", T_DOUBLE, S(penalty_rho0), 0, NULL, 0, BIG, NULL, "initial weight"},
    {"method.penalty_growth", T_DOUBLE, S(penalty_growth), 0, NULL, 1, BIG, NULL,
     "weight growth per outer iteration"},
    {"method.penalty_rho_max", T_DOUBLE, S(penalty_rho_max), 0, NULL, 0, BIG, NULL,
     "largest weight"},
    {"method.inner_maxit", T_INT, S(inner_maxit), 0, NULL, 1, 1000000, NULL,
     "inner L-BFGS iterations per outer iteration"},
    {"method.inner_tol", T_DOUBLE, S(inner_tol), 0, NULL, 0, BIG, NULL, "inner tolerance"},
    {"method.move", T_DOUBLE, S(move), 0, NULL, 0, 1, NULL, "MMA/OC move limit"},
    {"method.oc_eta", T_DOUBLE, S(oc_eta), 0, NULL, 0, 10, NULL, "OC damping exponent"},
    {"method.mma_asyinit", T_DOUBLE, S(mma_asyinit), 0, NULL, 0, 1, NULL, "MMA asyinit"},
    {"method.mma_asyincr", T_DOUBLE, S(mma_asyincr), 0, NULL, 1, 10, NULL, "MMA asyincr"},
    {"method.mma_asydecr", T_DOUBLE, S(mma_asydecr), 0, NULL, 0, 1, NULL, "MMA asydecr"},
    {"method.mma_raa0", T_DOUBLE, S(mma_raa0), 0, NULL, 0, 1, NULL, "MMA raa0"},
    {"method.mma_albefa", T_DOUBLE, S(mma_albefa), 0, NULL, 0, 1, NULL, "MMA albefa"},
    {"method.mma_c", T_DOUBLE, S(mma_c), 0, NULL, 0, BIG, NULL, "MMA weight of y"},
    {"method.mma_rescale", T_BOOL, S(mma_rescale), 0, "true", NORANGE, NULL,
     "MMA/OC: keep the objective about 1 (rescaled whenever it leaves [0.1, 10] of it), so the "
     "stationarity test stays relative to the compliance"},
    {"method.seed", T_ULONG, S(seed), 0, NULL, NORANGE, NULL,
     "seed of the random-direction fallback"},
    /* budget */
    {"budget.evaluations", T_LONG, S(max_evals), 0, "1000", 0, 1e12, NULL,
     "function evaluations (0 = unlimited)"},
    {"budget.iterations", T_INT, S(maxit), 0, "1000", 1, 1e9, NULL, "solver iterations"},
    {"budget.time", T_DOUBLE, S(maxclocktime), 0, "0", 0, BIG, NULL, "seconds (0 = unlimited)"},
    {"budget.change_tol", T_DOUBLE, OFF(change_tol), 0, "0", 0, BIG, NULL,
     "stop when the largest change of a variable in one iteration is below this (top88 uses "
     "0.01 with pixels; 0 = off)"},
    {"seed", T_ULONG, OFF(seed), 0, "0", NORANGE, NULL,
     "seed of the network initialization (same config + seed -> same numbers)"},
    {"threads", T_INT, OFF(threads), 0, "0", 0, 1024, NULL,
     "BLAS and OpenMP threads of the run (0 = auto: 1, measured fastest on every grid; "
     "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS still override)"},
    /* strategy */
    {"strategy.kind", T_ENUM, OFF(strategy), 0, "single", NORANGE, &app_strategy_kind_names,
     "design strategy"},
    {"strategy.neural_fraction", T_DOUBLE, OFF(strategy_neural_fraction), 0, "0.6", 0.01, 0.99,
     NULL, "share of budget.evaluations given to the neural phase (neural-polish)"},
    {"strategy.polish_method", T_ENUM, OFF(strategy_polish), 0, "mma", NORANGE,
     &app_polish_method_names,
     "method of the pixel polish (neural-polish), with its default settings"},
    {"strategy.neural_restarts", T_INT, OFF(strategy_neural_restarts), 0, "3", 1, 100, NULL,
     "neural-polish: trials of the neural phase from different initializations (the run's seed, "
     "then seeds derived from it), sharing its evaluations equally; the best goes on to the "
     "polish"},
    {"strategy.p_start", T_DOUBLE, OFF(strategy_p_start), 0, "0", 0, 10, NULL,
     "SIMP exponent of the first pixel level (continuation, neural-polish; 0 = material.p, "
     "no continuation)"},
    {"strategy.p_levels", T_INT, OFF(strategy_p_levels), 0, "5", 2, 100, NULL,
     "number of pixel levels of a continuation (p_start to material.p, r_start to "
     "filter.radius, evenly spaced)"},
    {"strategy.r_start", T_DOUBLE, OFF(strategy_r_start), 0, "0", 0, 100, NULL,
     "filter radius of the first pixel level (continuation, neural-polish; 0 = filter.radius, "
     "no continuation): a larger radius first, falling to filter.radius at the last level"},
    {"strategy.continuation_fraction", T_DOUBLE, OFF(strategy_continuation_fraction), 0, "0.5",
     0.01, 0.99, NULL,
     "share of the pixel evaluations spent before the last level, split evenly among those "
     "levels"},
    {"strategy.pixel_share", T_DOUBLE, OFF(strategy_pixel_share), 0, "0", 0, 0.9, NULL,
     "neural-polish: share of budget.evaluations for a second branch run after the neural-polish "
     "one: pixels of polish_method from the uniform start, the filter radius lowered from "
     "pixel_r_factor x filter.radius to filter.radius in pixel_levels levels (as kind "
     "continuation); the lower of the two designs is reported (0 = no pixel branch)"},
    {"strategy.pixel_r_factor", T_DOUBLE, OFF(strategy_pixel_r_factor), 0, "2", 1, 20, NULL,
     "first filter radius of the pixel branch, as a multiple of filter.radius (1 = no "
     "continuation)"},
    {"strategy.pixel_levels", T_INT, OFF(strategy_pixel_levels), 0, "3", 2, 100, NULL,
     "filter-radius levels of the pixel branch"},
    /* outputs */
    {"outputs.dir", T_STR, OFF(out_dir), sizeof(((app_config *)0)->out_dir), "\"\"", NORANGE, NULL,
     "output folder (empty = results/<config name>)"},
    {"outputs.png_scale", T_INT, OFF(png_scale), 0, "4", 1, 64, NULL,
     "pixels per element in design.png"},
    {"outputs.frames_every", T_INT, OFF(frames_every), 0, "0", 0, 1000000, NULL,
     "write frames/NNNN.png every k iterations (0 = never)"},
    {"outputs.checkpoint_every", T_INT, OFF(checkpoint_every), 0, "0", 0, 1000000, NULL,
     "write the checkpoint (result.h5) every N iterations (0 = by wall time only, below; a "
     "checkpoint is also written on SIGINT/SIGTERM)"},
    {"outputs.checkpoint_seconds", T_DOUBLE, OFF(checkpoint_seconds), 0, "300", 0, 1e9, NULL,
     "also write it when this many seconds of wall time (and 50 times what the last one took "
     "to write) have passed since the last one, so that a run killed without warning (kill -9, "
     "out of memory, a crash) resumes from there (0 = never)"},
    {"outputs.keep_state", T_BOOL, OFF(keep_state), 0, "false", NORANGE, NULL,
     "keep the solver state in the final result.h5, so that `run --resume` can continue a "
     "finished run with a larger budget (L-BFGS/BFGS memory: about 2*m*n doubles, 106 MB for the "
     "default CNN); periodic and interrupt checkpoints always hold it"},
    {"outputs.print_frequency", T_INT, S(print_frequency), 0, "10", 1, 1000000, NULL,
     "print a solver table row every k iterations"},
    /* limits */
    {"limits.max_memory_gb", T_DOUBLE, OFF(max_memory_gb), 0, "0", 0, BIG, NULL,
     "`check` and `run` refuse (exit 2) a config whose estimated memory (network, FE factor, "
     "solver; printed by `check`) exceeds this many GB (1e9 bytes); 0 = 80 % of physical memory"},
};
#undef S
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

/* ------------------------------------------------------------------------------------------ */
/* Parser context                                                                              */

typedef struct {
    app_config *c;
    const char *file;
    char *err;
    size_t errlen;
    int set[NKEYS];                 /* key given explicitly */
    size_t line[NKEYS], col[NKEYS]; /* where (1-based; 0 = from --set) */
    const char *origin;             /* non-NULL: errors refer to this --set string */
    int cases_given, loads_given;   /* entries of problem.load_cases / problem.loads seen */
    yaml_document_t *doc;
} ctx;

static int fail(ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (x->origin)
        snprintf(x->err, x->errlen, "--set %s: %s", x->origin, msg);
    else if (m)
        snprintf(x->err, x->errlen, "%s:%zu:%zu: %s", x->file, m->line + 1, m->column + 1, msg);
    else
        snprintf(x->err, x->errlen, "%s: %s", x->file, msg);
    return 2;
}

static int find_key(const char *path)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(KEYS[i].path, path) == 0) return i;
    return -1;
}

/* Is `prefix` a section (a strict dotted prefix of some key)? */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (int i = 0; i < NKEYS; i++)
        if (strncmp(KEYS[i].path, prefix, n) == 0 && KEYS[i].path[n] == '.') return 1;
    return 0;
}

/* Comma-separated list of the names allowed directly under section `prefix` ("" = top). */
static void allowed_under(const char *prefix, char *buf, size_t len)
{
    size_t n = strlen(prefix);
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < NKEYS; i++) {
        const char *p = KEYS[i].path;
        if (n) {
            if (strncmp(p, prefix, n) != 0 || p[n] != '.') continue;
            p += n + 1;
        }
        size_t l = strcspn(p, ".");
        /* skip if already listed */
        int dup = 0;
        for (int j = 0; j < i && !dup; j++) {
            const char *q = KEYS[j].path;
            if (n) {
                if (strncmp(q, prefix, n) != 0 || q[n] != '.') continue;
                q += n + 1;
            }
            if (strncmp(p, q, l) == 0 && strcspn(q, ".") == l) dup = 1;
        }
        if (dup) continue;
        int w = snprintf(buf + used, len - used, "%s%.*s", used ? ", " : "", (int)l, p);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* The names of list l, comma-separated; with docs != 0, each as "name: doc" separated by
 * "; " (the schema's allowed column). */
static void enum_list(const app_names *l, int docs, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n; i++) {
        int w = docs ? snprintf(buf + used, len - used, "%s%s: %s", i ? "; " : "",
                                app_name_str(l, i), l->v[i].doc)
                     : snprintf(buf + used, len - used, "%s%s", i ? ", " : "", app_name_str(l, i));
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static size_t seq_len(const yaml_node_t *s)
{
    return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

static yaml_node_t *seq_item(ctx *x, const yaml_node_t *s, size_t i)
{
    return yaml_document_get_node(x->doc, s->data.sequence.items.start[i]);
}

static int parse_double(ctx *x, const key *k, const yaml_node_t *n, double *out)
{
    const char *s = scalar(n);
    if (!s) return fail(x, &n->start_mark, "'%s' must be a number", k->path);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* YAML spells infinities .inf / -.inf; only unbounded keys (fvalquit) accept them */
    if (k->min > k->max && (!strcmp(s, ".inf") || !strcmp(s, "-.inf") || !strcmp(s, "+.inf"))) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return fail(x, &n->start_mark, "'%s' must be a finite number, got '%s'", k->path, s);
    *out = v;
    return 0;
}

static int parse_long(ctx *x, const key *k, const yaml_node_t *n, long *out)
{
    const char *s = scalar(n);
    if (!s) return fail(x, &n->start_mark, "'%s' must be an integer", k->path);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return fail(x, &n->start_mark, "'%s' must be an integer, got '%s'", k->path, s);
    *out = v;
    return 0;
}

static int check_range(ctx *x, const key *k, const yaml_node_t *n, double v)
{
    if (k->min <= k->max && (v < k->min || v > k->max)) {
        if (k->max >= BIG)
            return fail(x, &n->start_mark, "'%s' = %g is out of range (allowed: >= %g)", k->path, v,
                        k->min);
        return fail(x, &n->start_mark, "'%s' = %g is out of range (allowed: %g to %g)", k->path, v,
                    k->min, k->max);
    }
    return 0;
}

/* Read a list of integer/number rows of `width` entries. */
static int parse_rows(ctx *x, const key *k, const yaml_node_t *n, int width, int maxrows,
                      double *vals, int *count, int ints)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(x, &n->start_mark, "'%s' must be a list of [%d numbers] rows", k->path, width);
    size_t r = seq_len(n);
    if (r > (size_t)maxrows)
        return fail(x, &n->start_mark, "'%s' has %zu entries (allowed: at most %d)", k->path, r,
                    maxrows);
    for (size_t i = 0; i < r; i++) {
        yaml_node_t *row = seq_item(x, n, i);
        if (!row || row->type != YAML_SEQUENCE_NODE || seq_len(row) != (size_t)width)
            return fail(x, row ? &row->start_mark : &n->start_mark,
                        "each entry of '%s' must be a list of %d numbers", k->path, width);
        for (int j = 0; j < width; j++) {
            yaml_node_t *e = seq_item(x, row, (size_t)j);
            double v;
            if (ints && j < 4) {
                long l;
                if (parse_long(x, k, e, &l)) return 2;
                if (l < INT_MIN || l > INT_MAX) // stored as int (found by fuzzing)
                    return fail(x, &e->start_mark, "'%s' is out of the int range", k->path);
                v = (double)l;
            } else if (parse_double(x, k, e, &v))
                return 2;
            vals[i * (size_t)width + (size_t)j] = v;
        }
    }
    *count = (int)r;
    return 0;
}

/* Read one load list into a new array *out (NULL when empty; the caller owns it). */
static int parse_loads(ctx *x, const key *k, const yaml_node_t *n, app_load_rect **out, int *count)
{
    *out = NULL;
    size_t rows = n->type == YAML_SEQUENCE_NODE ? seq_len(n) : 0;
    if (rows > APP_MAX_LOADS) rows = 0; /* parse_rows reports it */
    double *v = malloc(sizeof(double) * 6 * (rows ? rows : 1));
    int r = 0;
    if (!v) return fail(x, &n->start_mark, "out of memory reading '%s'", k->path);
    if (parse_rows(x, k, n, 6, APP_MAX_LOADS, v, &r, 1)) {
        free(v);
        return 2;
    }
    app_load_rect *l = r ? malloc(sizeof *l * (size_t)r) : NULL;
    if (r && !l) {
        free(v);
        return fail(x, &n->start_mark, "out of memory reading '%s'", k->path);
    }
    for (int i = 0; i < r; i++)
        l[i] = (app_load_rect){(int)v[6 * i],     (int)v[6 * i + 1], (int)v[6 * i + 2],
                               (int)v[6 * i + 3], v[6 * i + 4],      v[6 * i + 5]};
    *out = l;
    *count = r;
    free(v);
    return 0;
}

static void free_loads(app_config *c)
{
    for (int i = 0; c->loads && i < c->n_cases; i++)
        free(c->loads[i]);
    free(c->loads);
    free(c->n_loads);
    c->loads = NULL;
    c->n_loads = NULL;
    c->n_cases = 0;
}

/* Replace the load cases of c by the nc arrays cases[] of counts[] entries, whose ownership
 * passes to c (also on failure, when they are freed). 0, or -1 when out of memory. */
static int replace_loads(app_config *c, int nc, app_load_rect **cases, const int *counts)
{
    free_loads(c);
    if (nc == 0) return 0;
    c->loads = calloc((size_t)nc, sizeof *c->loads);
    c->n_loads = calloc((size_t)nc, sizeof *c->n_loads);
    if (!c->loads || !c->n_loads) {
        for (int i = 0; i < nc; i++)
            free(cases[i]);
        free(c->loads);
        free(c->n_loads);
        c->loads = NULL;
        c->n_loads = NULL;
        return -1;
    }
    for (int i = 0; i < nc; i++) {
        c->loads[i] = cases[i];
        c->n_loads[i] = counts[i];
    }
    c->n_cases = nc;
    return 0;
}

/* *dst = a new copy of src[n] (NULL when n is 0); the old *dst is freed. 0 or -1. */
static int replace_rects(app_rect **dst, int *count, const app_rect *src, int n)
{
    app_rect *a = n > 0 ? malloc(sizeof *a * (size_t)n) : NULL;
    if (n > 0 && !a) return -1;
    if (n > 0) memcpy(a, src, sizeof *a * (size_t)n);
    free(*dst);
    *dst = a;
    *count = n > 0 ? n : 0;
    return 0;
}

/* Store node n into the field of key k. */
static int set_value(ctx *x, int ki, const yaml_node_t *n)
{
    const key *k = &KEYS[ki];
    char *base = (char *)x->c;
    void *f = base + k->off;
    if (k->type != T_RECTS && k->type != T_LOADS && k->type != T_CASES && k->type != T_INTLIST &&
        k->type != T_NODE && n->type != YAML_SCALAR_NODE) {
        const char *what = k->type == T_STR      ? "a string"
                           : k->type == T_BOOL   ? "true or false"
                           : k->type == T_ENUM   ? "one name"
                           : k->type == T_DOUBLE ? "a number"
                                                 : "an integer";
        return fail(x, &n->start_mark, "'%s' must be %s, not a %s", k->path, what,
                    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    }
    switch (k->type) {
    case T_INT:
    case T_LONG:
    case T_ULONG:
    case T_U64: {
        long v;
        if (parse_long(x, k, n, &v) || check_range(x, k, n, (double)v)) return 2;
        if (k->type == T_INT) {
            if (v < -2147483647L || v > 2147483647L)
                return fail(x, &n->start_mark, "'%s' is out of the int range", k->path);
            *(int *)f = (int)v;
        } else if (k->type == T_LONG) {
            *(long *)f = v;
        } else {
            if (v < 0) return fail(x, &n->start_mark, "'%s' must be >= 0", k->path);
            if (k->type == T_ULONG)
                *(unsigned long *)f = (unsigned long)v;
            else
                *(uint64_t *)f = (uint64_t)v;
        }
        return 0;
    }
    case T_DOUBLE: {
        double v;
        if (parse_double(x, k, n, &v) || check_range(x, k, n, v)) return 2;
        *(double *)f = v;
        return 0;
    }
    case T_BOOL: {
        const char *s = scalar(n);
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
            *(int *)f = 1;
        else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
            *(int *)f = 0;
        else
            return fail(x, &n->start_mark, "'%s' must be true or false, got '%s'", k->path, s);
        return 0;
    }
    case T_STR: {
        const char *s = scalar(n);
        if (strlen(s) >= k->aux)
            return fail(x, &n->start_mark, "'%s' is longer than %zu characters", k->path,
                        k->aux - 1);
        strcpy((char *)f, s);
        return 0;
    }
    case T_ENUM: {
        const char *s = scalar(n);
        int i = app_name_parse(k->names, s);
        if (i >= 0) {
            *(int *)f = i;
            return 0;
        }
        char list[256];
        enum_list(k->names, 0, list, sizeof list);
        return fail(x, &n->start_mark, "'%s' has unknown value '%s' (allowed: %s)", k->path, s,
                    list);
    }
    case T_INTLIST: {
        if (n->type != YAML_SEQUENCE_NODE)
            return fail(x, &n->start_mark, "'%s' must be a list of integers", k->path);
        size_t len = seq_len(n);
        if (len < 1 || len > NN_MAX_BLOCKS)
            return fail(x, &n->start_mark, "'%s' must have 1 to %d entries, has %zu", k->path,
                        NN_MAX_BLOCKS, len);
        int *arr = (int *)f;
        for (size_t i = 0; i < len; i++) {
            yaml_node_t *e = seq_item(x, n, i);
            long v;
            if (parse_long(x, k, e, &v) || check_range(x, k, e, (double)v)) return 2;
            if (v < INT_MIN || v > INT_MAX)
                return fail(x, &e->start_mark, "'%s' is out of the int range", k->path);
            arr[i] = (int)v;
        }
        *(int *)(base + k->aux) = (int)len;
        return 0;
    }
    case T_NODE: {
        if (n->type != YAML_SEQUENCE_NODE || seq_len(n) != 2)
            return fail(x, &n->start_mark, "'%s' must be [ix, iy]", k->path);
        int *arr = (int *)f;
        for (size_t i = 0; i < 2; i++) {
            long v;
            yaml_node_t *e = seq_item(x, n, i);
            if (parse_long(x, k, e, &v)) return 2;
            if (v < INT_MIN || v > INT_MAX)
                return fail(x, &e->start_mark, "'%s' is out of the int range", k->path);
            arr[i] = (int)v;
        }
        return 0;
    }
    case T_RECTS: {
        double v[APP_MAX_RECTS * 4];
        app_rect a[APP_MAX_RECTS];
        int r = 0;
        if (parse_rows(x, k, n, 4, APP_MAX_RECTS, v, &r, 1)) return 2;
        for (int i = 0; i < r; i++)
            a[i] =
                (app_rect){(int)v[4 * i], (int)v[4 * i + 1], (int)v[4 * i + 2], (int)v[4 * i + 3]};
        if (replace_rects((app_rect **)f, (int *)(base + k->aux), a, r))
            return fail(x, &n->start_mark, "out of memory reading '%s'", k->path);
        return 0;
    }
    case T_LOADS: {
        app_load_rect *l;
        int cnt;
        if (parse_loads(x, k, n, &l, &cnt)) return 2;
        if (cnt == 0 && x->cases_given > 0) return 0; /* keep the cases */
        /* an empty list leaves no load case (validation reports the missing loads) */
        if (replace_loads(x->c, cnt ? 1 : 0, &l, &cnt))
            return fail(x, &n->start_mark, "out of memory reading '%s'", k->path);
        x->loads_given = cnt;
        return 0;
    }
    case T_CASES: {
        if (n->type != YAML_SEQUENCE_NODE)
            return fail(x, &n->start_mark, "'%s' must be a list of load lists", k->path);
        size_t nc = seq_len(n);
        if (nc > APP_MAX_CASES)
            return fail(x, &n->start_mark, "'%s' has %zu cases (allowed: at most %d)", k->path, nc,
                        APP_MAX_CASES);
        app_load_rect *cases[APP_MAX_CASES] = {NULL};
        int counts[APP_MAX_CASES] = {0};
        for (size_t i = 0; i < nc; i++)
            if (parse_loads(x, k, seq_item(x, n, i), &cases[i], &counts[i])) {
                for (size_t j = 0; j < i; j++)
                    free(cases[j]);
                return 2;
            }
        if (nc > 0 && replace_loads(x->c, (int)nc, cases, counts))
            return fail(x, &n->start_mark, "out of memory reading '%s'", k->path);
        x->cases_given = (int)nc;
        return 0;
    }
    }
    return 2;
}

/* Walk a mapping node under section `prefix`. */
static int walk(ctx *x, const yaml_node_t *map, const char *prefix)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail(x, &map->start_mark, "'%s' must be a mapping of keys",
                    prefix[0] ? prefix : "<top>");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
        const char *ks = scalar(kn);
        if (!ks) return fail(x, &kn->start_mark, "keys must be plain names");
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", ks);
        int ki = find_key(path);
        if (ki >= 0) {
            if (x->set[ki] && !x->origin)
                return fail(x, &kn->start_mark, "'%s' is given twice", path);
            if (set_value(x, ki, vn)) return 2;
            x->set[ki] = 1;
            x->line[ki] = kn->start_mark.line + 1;
            x->col[ki] = kn->start_mark.column + 1;
        } else if (is_section(path)) {
            if (vn->type == YAML_SCALAR_NODE && scalar(vn)[0] == '\0') continue; /* empty */
            if (walk(x, vn, path)) return 2;
        } else {
            char allowed[1024];
            allowed_under(prefix, allowed, sizeof allowed);
            return fail(x, &kn->start_mark, "unknown key '%s' (allowed%s%s: %s)", path,
                        prefix[0] ? " in " : "", prefix, allowed);
        }
    }
    return 0;
}

/* Refuse, before libyaml sees it, flow nesting deeper than APP_CONFIG_MAX_DEPTH: libyaml keeps
 * a simple-key entry per open level and rescans them per token, so 50,000 nested `{a: ` took
 * 21 s. [ and { are counted outside quoted scalars and comments (a [ inside a plain scalar
 * counts too, which only errs on the safe side). 0 or 2. */
static int check_depth(ctx *x, const char *text)
{
    int depth = 0;
    char quote = 0;
    size_t line = 0, col = 0;
    for (const char *p = text; *p; p++, col++) {
        char ch = *p;
        if (ch == '\n') {
            line++;
            col = (size_t)-1;
            if (quote == 0) continue;
        }
        if (quote) {
            if (ch == '\\' && quote == '"' && p[1]) {
                p++;
                col++;
            } else if (ch == quote) {
                quote = 0;
            }
        } else if (ch == '#' && (p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n')) {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        } else if (ch == '[' || ch == '{') {
            if (++depth > APP_CONFIG_MAX_DEPTH) {
                yaml_mark_t m = {(size_t)(p - text), line, col};
                return fail(x, &m, "nesting deeper than %d levels of [ and {",
                            APP_CONFIG_MAX_DEPTH);
            }
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* Parse `text` as one YAML document into doc; 0 or 2 (message in x). */
static int load_doc(ctx *x, const char *text, yaml_document_t *doc)
{
    size_t tlen = strlen(text);
    if (tlen > APP_CONFIG_MAX_BYTES)
        return fail(x, NULL, "larger than %d bytes (not a config)", APP_CONFIG_MAX_BYTES);
    if (check_depth(x, text)) return 2;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return fail(x, NULL, "cannot initialize the parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, tlen);
    if (!yaml_parser_load(&parser, doc)) {
        yaml_mark_t m = parser.problem_mark;
        int r = fail(x, &m, "YAML syntax error: %s", parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        return r;
    }
    yaml_parser_delete(&parser);
    // A "\0" escape puts a NUL inside a scalar, which every C string use would truncate.
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE &&
            strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
            yaml_mark_t m = n->start_mark;
            yaml_document_delete(doc);
            return fail(x, &m, "a NUL byte inside a string is not allowed");
        }
    return 0;
}

/* Apply one default or --set value (YAML text) to key ki. */
static int apply_text(ctx *x, int ki, const char *text)
{
    yaml_document_t doc;
    if (load_doc(x, text, &doc)) return 2;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) { /* empty value: an empty string */
        yaml_document_delete(&doc);
        if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1))
            return fail(x, NULL, "out of memory");
        int id =
            yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"", 0, YAML_PLAIN_SCALAR_STYLE);
        root = id ? yaml_document_get_node(&doc, id) : NULL;
        if (!root) {
            yaml_document_delete(&doc);
            return fail(x, NULL, "out of memory");
        }
    }
    yaml_document_t *saved = x->doc;
    x->doc = &doc;
    int r = set_value(x, ki, root);
    x->doc = saved;
    yaml_document_delete(&doc);
    return r;
}

const char *app_benchmarks_path(void)
{
    const char *env = getenv("TOPOPT_BENCHMARKS");
    if (env && env[0]) return env;
    struct stat st;
    if (stat(APP_BENCHMARKS_RELPATH, &st) == 0) return APP_BENCHMARKS_RELPATH;
#ifdef TOPOPT_SOURCE_DIR
    return TOPOPT_SOURCE_DIR "/" APP_BENCHMARKS_RELPATH;
#else
    return APP_BENCHMARKS_RELPATH;
#endif
}

/* A default that YAML reads as the plain scalar of exactly its own text (a name or a number):
 * stored through set_value from a scalar node built in place, without the parser. */
static int plain_default(const char *t)
{
    if (!((t[0] >= '0' && t[0] <= '9') || (t[0] >= 'a' && t[0] <= 'z') ||
          (t[0] >= 'A' && t[0] <= 'Z') ||
          ((t[0] == '-' || t[0] == '.') && t[1] >= '0' && t[1] <= '9')))
        return 0;
    for (const char *p = t; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '.' || *p == '-' || *p == '+' || *p == '_'))
            return 0;
    return 1;
}

/* The resolved defaults, built once per process from the table and copied by every
 * app_config_default: a config load used to run the YAML parser once per default. */
static app_config defaults_cache;
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

static void build_defaults(void)
{
    app_config *c = &defaults_cache; // static storage: zero already, runs once
    nn_hoyer_cnn_settings_default(&c->cnn);
    nn_fourier_mlp_settings_default(&c->mlp);
    ncvx_settings_default(&c->solver);
    char err[512];
    ctx x = {.c = c, .file = "<defaults>", .err = err, .errlen = sizeof err};
    for (int i = 0; i < NKEYS; i++) {
        const char *d = KEYS[i].def;
        int r = 0;
        if (d && plain_default(d)) {
            yaml_node_t n;
            memset(&n, 0, sizeof n);
            n.type = YAML_SCALAR_NODE;
            n.data.scalar.value = (yaml_char_t *)(uintptr_t)d;
            n.data.scalar.length = strlen(d);
            n.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
            r = set_value(&x, i, &n);
        } else if (d) {
            r = apply_text(&x, i, d);
        }
        if (r) {
            fprintf(stderr, "app: app_config_default: %s\n", err); /* a bug in the table */
            abort();
        }
    }
    c->cnn_n_resizes = c->cnn_n_filters = c->cnn.n_blocks;
    c->normalize_objective = 0;
}

void app_config_default(app_config *c)
{
    if (pthread_once(&defaults_once, build_defaults) != 0) abort();
    memcpy(c, &defaults_cache, sizeof *c);
}

void app_config_free(app_config *c)
{
    if (!c) return;
    free_loads(c);
    free(c->fix_x);
    free(c->fix_y);
    free(c->void_rects);
    free(c->solid_rects);
    c->fix_x = c->fix_y = c->void_rects = c->solid_rects = NULL;
    c->n_fix_x = c->n_fix_y = c->n_void = c->n_solid = 0;
}

int app_config_copy(app_config *dst, const app_config *src)
{
    *dst = *src;
    dst->fix_x = dst->fix_y = dst->void_rects = dst->solid_rects = NULL;
    dst->loads = NULL;
    dst->n_loads = NULL;
    dst->n_cases = 0;
    if (replace_rects(&dst->fix_x, &dst->n_fix_x, src->fix_x, src->n_fix_x) ||
        replace_rects(&dst->fix_y, &dst->n_fix_y, src->fix_y, src->n_fix_y) ||
        replace_rects(&dst->void_rects, &dst->n_void, src->void_rects, src->n_void) ||
        replace_rects(&dst->solid_rects, &dst->n_solid, src->solid_rects, src->n_solid))
        goto fail;
    if (src->n_cases > 0) {
        dst->loads = calloc((size_t)src->n_cases, sizeof *dst->loads);
        dst->n_loads = calloc((size_t)src->n_cases, sizeof *dst->n_loads);
        if (!dst->loads || !dst->n_loads) goto fail;
        dst->n_cases = src->n_cases;
        for (int i = 0; i < src->n_cases; i++) {
            size_t bytes = sizeof **dst->loads * (size_t)src->n_loads[i];
            if (bytes && !(dst->loads[i] = malloc(bytes))) goto fail;
            if (bytes) memcpy(dst->loads[i], src->loads[i], bytes);
            dst->n_loads[i] = src->n_loads[i];
        }
    }
    return 0;
fail:
    app_config_free(dst);
    return -1;
}

int app_config_from_benchmark(app_config *c, const app_benchmark *b)
{
    if (b->n_fix_x > APP_MAX_RECTS || b->n_fix_y > APP_MAX_RECTS || b->n_loads > APP_MAX_LOADS ||
        b->n_void > APP_MAX_RECTS)
        return -1;
    app_load_rect *l = b->n_loads > 0 ? malloc(sizeof *l * (size_t)b->n_loads) : NULL;
    if (b->n_loads > 0 && !l) return -1;
    if (l) memcpy(l, b->loads, sizeof *l * (size_t)b->n_loads);
    int nl = b->n_loads > 0 ? b->n_loads : 0;
    if (replace_loads(c, 1, &l, &nl) || /* takes l */
        replace_rects(&c->fix_x, &c->n_fix_x, b->fix_x, b->n_fix_x) ||
        replace_rects(&c->fix_y, &c->n_fix_y, b->fix_y, b->n_fix_y) ||
        replace_rects(&c->void_rects, &c->n_void, b->void_rects, b->n_void) ||
        replace_rects(&c->solid_rects, &c->n_solid, NULL, 0))
        return -1;
    snprintf(c->benchmark, sizeof c->benchmark, "%s", b->name);
    c->width = b->width;
    c->height = b->height;
    c->volfrac = b->density;
    c->mirror_left = b->mirror_left;
    c->mirror_right = b->mirror_right;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Cross-field validation: returns the offending key (or NULL) and a message.                  */

static int vfail(char *err, size_t len, const char **keyp, const char *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    if (keyp) *keyp = k;
    return 2;
}

static int rect_check(const app_rect *r, int maxx, int maxy, const char *what, int i, char *err,
                      size_t len, const char **keyp, const char *k)
{
    if (r->x0 > r->x1 || r->y0 > r->y1)
        return vfail(err, len, keyp, k,
                     "'%s' entry %d [%d, %d, %d, %d] is empty (need x0 <= x1, "
                     "y0 <= y1)",
                     what, i + 1, r->x0, r->x1, r->y0, r->y1);
    if (r->x0 < 0 || r->x1 > maxx || r->y0 < 0 || r->y1 > maxy)
        return vfail(err, len, keyp, k,
                     "'%s' entry %d [%d, %d, %d, %d] lies outside the grid (allowed: x in 0..%d, "
                     "y in 0..%d)",
                     what, i + 1, r->x0, r->x1, r->y0, r->y1, maxx, maxy);
    return 0;
}

static int validate(const app_config *c, char *err, size_t len, const char **keyp)
{
    int W = c->width, H = c->height;
    if (keyp) *keyp = NULL;
    for (int i = 0; i < c->n_fix_x; i++)
        if (rect_check(&c->fix_x[i], W, H, "problem.supports.x", i, err, len, keyp,
                       "problem.supports.x"))
            return 2;
    for (int i = 0; i < c->n_fix_y; i++)
        if (rect_check(&c->fix_y[i], W, H, "problem.supports.y", i, err, len, keyp,
                       "problem.supports.y"))
            return 2;
    if (c->n_fix_x + c->n_fix_y == 0)
        return vfail(err, len, keyp, "problem.supports.x",
                     "no supports: give problem.supports.x and/or problem.supports.y (or "
                     "problem.benchmark)");
    int nloads = 0;
    for (int lc = 0; lc < c->n_cases; lc++)
        for (int i = 0; i < c->n_loads[lc]; i++) {
            const app_load_rect *l = &c->loads[lc][i];
            app_rect r = {l->x0, l->x1, l->y0, l->y1};
            const char *k = c->n_cases > 1 ? "problem.load_cases" : "problem.loads";
            if (rect_check(&r, W, H, k, i, err, len, keyp, k)) return 2;
            if (l->fx != 0 || l->fy != 0) nloads++;
        }
    if (nloads == 0)
        return vfail(err, len, keyp, "problem.loads",
                     "no loads: give problem.loads or problem.load_cases (or problem.benchmark)");
    for (int i = 0; i < c->n_void; i++)
        if (rect_check(&c->void_rects[i], W - 1, H - 1, "problem.passive_void", i, err, len, keyp,
                       "problem.passive_void"))
            return 2;
    for (int i = 0; i < c->n_solid; i++)
        if (rect_check(&c->solid_rects[i], W - 1, H - 1, "problem.passive_solid", i, err, len, keyp,
                       "problem.passive_solid"))
            return 2;
    if (c->Emin >= c->E0)
        return vfail(err, len, keyp, "material.Emin", "'material.Emin' = %g must be < E0 = %g",
                     c->Emin, c->E0);
    if (c->filter_kind == APP_FILTER_SENSITIVITY && c->param_kind != APP_PARAM_PIXEL)
        return vfail(err, len, keyp, "filter.kind",
                     "'filter.kind' = sensitivity needs parameterization.kind = pixel (it "
                     "modifies the gradient heuristically)");
    if (c->param_kind == APP_PARAM_CNN) {
        if (c->cnn_n_resizes != c->cnn_n_filters)
            return vfail(err, len, keyp, "parameterization.cnn.conv_filters",
                         "'parameterization.cnn.conv_filters' has %d entries but resizes has %d",
                         c->cnn_n_filters, c->cnn_n_resizes);
        if (c->cnn.conv_filters[c->cnn_n_filters - 1] != 1)
            return vfail(err, len, keyp, "parameterization.cnn.conv_filters",
                         "the last entry of 'parameterization.cnn.conv_filters' must be 1");
        if (c->cnn.kernel_size % 2 == 0)
            return vfail(err, len, keyp, "parameterization.cnn.kernel_size",
                         "'parameterization.cnn.kernel_size' must be odd");
        nn_hoyer_cnn_settings s = c->cnn;
        s.n_blocks = c->cnn_n_resizes;
        int rs[NN_MAX_BLOCKS];
        long prod = 1;
        for (int i = 0; i < s.n_blocks; i++)
            prod *= s.resizes[i];
        if (!s.auto_resize && (W % prod != 0 || H % prod != 0))
            return vfail(err, len, keyp, "parameterization.cnn.resizes",
                         "grid %dx%d cannot be taken by the network: width and height must be "
                         "divisible by the product of parameterization.cnn.resizes (%ld), or set "
                         "parameterization.cnn.auto_resize: true",
                         W, H, prod);
        if (nn_hoyer_cnn_resizes(W, H, &s, rs) != NN_OK)
            return vfail(err, len, keyp, "parameterization.cnn.resizes",
                         "grid %dx%d cannot be taken by the network (resizes)", W, H);
    }
    if (c->density_map == APP_MAP_PIXEL && c->param_kind != APP_PARAM_PIXEL)
        return vfail(err, len, keyp, "density_map",
                     "'density_map' = pixel needs parameterization.kind = pixel");
    ncvx_method m = c->solver.method;
    if ((m == NCVX_OC || m == NCVX_MMA) && c->density_map != APP_MAP_PIXEL)
        return vfail(err, len, keyp, "method.name",
                     "'method.name' = %s needs density_map = pixel (box-bounded variables)",
                     ncvx_method_str(m));
    if (c->density_map == APP_MAP_PIXEL &&
        (m == NCVX_LBFGS || m == NCVX_PENALTY || m == NCVX_AUGLAG || m == NCVX_BFGS_SQP))
        return vfail(err, len, keyp, "method.name",
                     "'method.name' = %s does not take the [0, 1] bounds of one variable per "
                     "element (density_map = pixel needs mma, oc or projgrad; or use "
                     "density_map sigmoid)",
                     ncvx_method_str(m));
    if (m == NCVX_OC && (c->binarity || c->symmetry || c->disp_enabled || c->volume == APP_VOL_EQ))
        return vfail(err, len, keyp, "method.name",
                     "'method.name' = oc takes one volume constraint only (allowed constraints: "
                     "volume le)");
    if (c->density_map == APP_MAP_SIGMOID_MEAN &&
        (c->volume == APP_VOL_LE || c->volume == APP_VOL_EQ))
        return vfail(err, len, keyp, "constraints.volume",
                     "'constraints.volume' must be auto or none with density_map sigmoid-mean "
                     "(the map fixes the volume)");
    if (m == NCVX_MMA && c->volume == APP_VOL_EQ)
        return vfail(err, len, keyp, "constraints.volume",
                     "'constraints.volume' = eq is not possible with method mma (allowed: le)");
    if (m == NCVX_PROJGRAD &&
        (c->density_map != APP_MAP_PIXEL || c->filter_kind == APP_FILTER_DENSITY || c->projection ||
         c->binarity || c->symmetry || c->disp_enabled))
        return vfail(err, len, keyp, "method.name",
                     "'method.name' = projgrad projects onto {0 <= x <= 1, mean(x) <= or = "
                     "volfrac}: it needs density_map pixel, filter.kind none, no projection and "
                     "no constraint but the volume");
    if (m == NCVX_LBFGS && (c->binarity || c->symmetry || c->disp_enabled ||
                            (c->density_map != APP_MAP_SIGMOID_MEAN && c->volume != APP_VOL_NONE)))
        return vfail(err, len, keyp, "method.name",
                     "'method.name' = lbfgs is unconstrained: use density_map sigmoid-mean and no "
                     "constraints (or a constrained method: bfgs-sqp, auglag, penalty, mma)");
    if (c->disp_enabled) {
        if (c->disp_node[0] < 0 || c->disp_node[0] > W || c->disp_node[1] < 0 ||
            c->disp_node[1] > H)
            return vfail(err, len, keyp, "constraints.displacement.node",
                         "'constraints.displacement.node' [%d, %d] lies outside the grid "
                         "(allowed: x in 0..%d, y in 0..%d)",
                         c->disp_node[0], c->disp_node[1], W, H);
    }
    if (c->param_kind == APP_PARAM_PIXEL && m == NCVX_BFGS_SQP && c->solver.limited_mem_size == 0 &&
        (long)W * H > 20000)
        return vfail(err, len, keyp, "method.limited_mem_size",
                     "full BFGS (method.limited_mem_size = 0) on %d variables needs too much "
                     "memory (allowed: <= 20000 variables, or limited_mem_size > 0)",
                     W * H);
    if (c->param_kind != APP_PARAM_PIXEL && m == NCVX_BFGS_SQP && c->solver.limited_mem_size == 0)
        return vfail(err, len, keyp, "method.limited_mem_size",
                     "full BFGS (method.limited_mem_size = 0) is not possible with a network "
                     "(allowed: 1..1000)");
    return 0;
}

int app_config_validate(const app_config *c, char *err, size_t errlen)
{
    return validate(c, err, errlen, NULL);
}

/* ------------------------------------------------------------------------------------------ */

static int load_common(app_config *c, const char *name, const char *text, int n_sets,
                       char *const *sets, const char *bench_path, char *err, size_t errlen)
{
    app_config_default(c);
    snprintf(c->path, sizeof c->path, "%s", name);
    {
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        size_t l = strcspn(base, ".");
        if (l >= sizeof c->name) l = sizeof c->name - 1;
        memcpy(c->name, base, l);
        c->name[l] = '\0';
        if (!c->name[0]) strcpy(c->name, "config");
    }
    ctx x = {.c = c, .file = name, .err = err, .errlen = errlen};
    yaml_document_t doc;
    if (load_doc(&x, text, &doc)) return 2;
    x.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int r = root ? walk(&x, root, "") : 0;
    yaml_document_delete(&doc);
    x.doc = NULL;
    if (r) return r;
    /* both given with content: ambiguous (an empty list, as in a dumped config, is fine) */
    if (x.cases_given > 0 && x.loads_given > 0) {
        int k = find_key("problem.load_cases");
        yaml_mark_t m = {0, x.line[k] - 1, x.col[k] - 1};
        return fail(&x, &m, "'problem.load_cases' and 'problem.loads' exclude each other");
    }
    for (int i = 0; i < n_sets; i++) {
        const char *eq = strchr(sets[i], '=');
        x.origin = sets[i];
        if (!eq) return fail(&x, NULL, "expected key=value");
        char path[256];
        size_t l = (size_t)(eq - sets[i]);
        if (l >= sizeof path) return fail(&x, NULL, "key too long");
        memcpy(path, sets[i], l);
        path[l] = '\0';
        int ki = find_key(path);
        if (ki < 0) {
            char allowed[1024];
            /* the deepest existing section of path */
            char sec[256];
            snprintf(sec, sizeof sec, "%s", path);
            char *dot;
            while ((dot = strrchr(sec, '.')) && (*dot = '\0', !is_section(sec))) {
            }
            if (!strchr(path, '.') || !is_section(sec)) sec[0] = '\0';
            allowed_under(sec, allowed, sizeof allowed);
            return fail(&x, NULL, "unknown key '%s' (allowed%s%s: %s)", path, sec[0] ? " in " : "",
                        sec, allowed);
        }
        if (apply_text(&x, ki, eq + 1)) return 2;
        x.set[ki] = 1;
        x.line[ki] = 0;
    }
    x.origin = NULL;

    /* a benchmark supplies the problem */
    if (c->benchmark[0]) {
        static const char *const conflicts[] = {
            "problem.width",        "problem.height",        "problem.supports.x",
            "problem.supports.y",   "problem.loads",         "problem.load_cases",
            "problem.passive_void", "problem.passive_solid", NULL};
        int kb = find_key("problem.benchmark");
        for (int i = 0; conflicts[i]; i++) {
            int k = find_key(conflicts[i]);
            if (x.set[k]) {
                yaml_mark_t m = {0, x.line[k] ? x.line[k] - 1 : 0, x.col[k] ? x.col[k] - 1 : 0};
                return fail(&x, x.line[k] ? &m : NULL,
                            "'%s' cannot be combined with problem.benchmark (the benchmark "
                            "defines the problem; allowed beside it: problem.volfrac)",
                            conflicts[i]);
            }
        }
        app_benchmark *b = NULL;
        int nb = 0;
        char berr[512];
        if (app_benchmarks_load(bench_path ? bench_path : app_benchmarks_path(), &b, &nb, berr,
                                sizeof berr))
            return fail(&x, NULL, "%s", berr);
        int i = app_benchmarks_find(b, nb, c->benchmark);
        if (i < 0) {
            app_benchmarks_free(b, nb);
            yaml_mark_t m = {0, x.line[kb] ? x.line[kb] - 1 : 0, x.col[kb] ? x.col[kb] - 1 : 0};
            return fail(&x, x.line[kb] ? &m : NULL,
                        "'problem.benchmark' = '%s' is not in problems.json (allowed: the "
                        "names listed by `topopt suite --list`, e.g. mbb_beam_96x32_0.5)",
                        c->benchmark);
        }
        double vf = c->volfrac;
        if (app_config_from_benchmark(c, &b[i])) {
            app_benchmarks_free(b, nb);
            return fail(&x, NULL,
                        "benchmark '%s' has more rectangles than a config allows, or memory "
                        "ran out",
                        c->benchmark);
        }
        if (x.set[find_key("problem.volfrac")]) c->volfrac = vf;
        app_benchmarks_free(b, nb);
    }
    if (x.set[find_key("parameterization.cnn.resizes")]) c->cnn.n_blocks = c->cnn_n_resizes;
    c->cnn.precision = c->mlp.precision = (nn_precision)c->precision;

    const char *bad = NULL;
    char msg[768];
    if (validate(c, msg, sizeof msg, &bad)) {
        int k = bad ? find_key(bad) : -1;
        if (k >= 0 && !x.set[k] && x.set[find_key("problem.width")])
            k = find_key("problem.width"); /* e.g. a grid the network cannot take */
        if (k >= 0 && x.set[k] && x.line[k]) {
            yaml_mark_t m = {0, x.line[k] - 1, x.col[k] - 1};
            return fail(&x, &m, "%s", msg);
        }
        if (k >= 0 && x.set[k]) {
            snprintf(err, errlen, "%s: (--set) %s", name, msg);
            return 2;
        }
        int kb = find_key("problem.benchmark");
        if (x.set[kb] && x.line[kb]) {
            yaml_mark_t m = {0, x.line[kb] - 1, x.col[kb] - 1};
            return fail(&x, &m, "%s", msg);
        }
        snprintf(err, errlen, "%s:1:1: %s", name, msg);
        return 2;
    }
    return 0;
}

int app_config_load_string(app_config *c, const char *name, const char *text, int n_sets,
                           char *const *sets, const char *bench_path, char *err, size_t errlen)
{
    int r = load_common(c, name, text, n_sets, sets, bench_path, err, errlen);
    if (r) app_config_free(c);
    return r;
}

int app_config_load(app_config *c, const char *path, int n_sets, char *const *sets,
                    const char *bench_path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno; /* app_config_default may change errno */
        app_config_default(c);
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return 2;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap) break;
        if (cap > APP_CONFIG_MAX_BYTES) {
            free(buf);
            fclose(f);
            app_config_default(c);
            snprintf(err, errlen, "%s: larger than %d bytes (not a config)", path,
                     APP_CONFIG_MAX_BYTES);
            return 2;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        return 2;
    }
    buf[len] = '\0';
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        size_t line = 1, off = (size_t)(nul - buf);
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        free(buf);
        app_config_default(c);
        snprintf(err, errlen, "%s:%zu: a NUL byte (offset %zu) is not allowed in a config", path,
                 line, off);
        return 2;
    }
    int r = load_common(c, path, buf, n_sets, sets, bench_path, err, errlen);
    free(buf);
    if (r) app_config_free(c);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Output: YAML dump and markdown reference                                                    */

static void fmt_value(const app_config *c, const key *k, char *buf, size_t len)
{
    const char *base = (const char *)c;
    const void *f = base + k->off;
    size_t used = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                    \
        if (w_ > 0) used += (size_t)w_ < len - used ? (size_t)w_ : len - used - 1;                 \
    } while (0)
    buf[0] = '\0';
    switch (k->type) {
    case T_INT:
        APPEND("%d", *(const int *)f);
        break;
    case T_LONG:
        APPEND("%ld", *(const long *)f);
        break;
    case T_ULONG:
        APPEND("%lu", *(const unsigned long *)f);
        break;
    case T_U64:
        APPEND("%llu", (unsigned long long)*(const uint64_t *)f);
        break;
    case T_DOUBLE: {
        double v = *(const double *)f;
        if (isinf(v))
            APPEND(v < 0 ? "-.inf" : ".inf");
        else if (v == floor(v) && fabs(v) < 1e15)
            APPEND("%.0f", v);
        else
            APPEND("%.17g", v);
        /* shortest representation that round-trips */
        for (int p = 1; p <= 17 && isfinite(v) && v != floor(v); p++) {
            char t[64];
            snprintf(t, sizeof t, "%.*g", p, v);
            if (strtod(t, NULL) == v) {
                snprintf(buf, len, "%s", t);
                break;
            }
        }
        break;
    }
    case T_BOOL:
        APPEND("%s", *(const int *)f ? "true" : "false");
        break;
    case T_STR:
        /* a dump is a loadable config: the benchmark's problem is written out in full */
        if (k->off == OFF(benchmark) && ((const char *)f)[0])
            APPEND("\"\"  # resolved from benchmark %s", (const char *)f);
        else
            APPEND("\"%s\"", (const char *)f);
        break;
    case T_ENUM:
        APPEND("%s", app_name_str(k->names, *(const int *)f));
        break;
    case T_INTLIST: {
        int n = *(const int *)(base + k->aux);
        APPEND("[");
        for (int i = 0; i < n; i++)
            APPEND("%s%d", i ? ", " : "", ((const int *)f)[i]);
        APPEND("]");
        break;
    }
    case T_NODE:
        APPEND("[%d, %d]", ((const int *)f)[0], ((const int *)f)[1]);
        break;
    case T_RECTS: {
        int n = *(const int *)(base + k->aux);
        const app_rect *r = *(app_rect *const *)f;
        APPEND("[");
        for (int i = 0; i < n; i++)
            APPEND("%s[%d, %d, %d, %d]", i ? ", " : "", r[i].x0, r[i].x1, r[i].y0, r[i].y1);
        APPEND("]");
        break;
    }
    case T_LOADS:
    case T_CASES: {
        int one = k->type == T_LOADS;
        if (one && c->n_cases != 1) {
            APPEND("[]");
            break;
        }
        if (!one && c->n_cases == 1) {
            APPEND("[]");
            break;
        }
        if (!one) APPEND("[");
        for (int lc = 0; lc < c->n_cases; lc++) {
            APPEND("%s[", lc ? ", " : "");
            for (int i = 0; i < c->n_loads[lc]; i++) {
                const app_load_rect *l = &c->loads[lc][i];
                APPEND("%s[%d, %d, %d, %d, %.17g, %.17g]", i ? ", " : "", l->x0, l->x1, l->y0,
                       l->y1, l->fx, l->fy);
            }
            APPEND("]");
        }
        if (!one) APPEND("]");
        break;
    }
    }
#undef APPEND
}

/* Room for the longest value of c: every rectangle of its longest list (~120 chars each). */
static size_t value_room(const app_config *c)
{
    size_t n = (size_t)c->n_fix_x + (size_t)c->n_fix_y + (size_t)c->n_void + (size_t)c->n_solid;
    for (int i = 0; i < c->n_cases; i++)
        n += (size_t)c->n_loads[i];
    return n * 128 + 65536;
}

void app_config_write(const app_config *c, FILE *f)
{
    const char *prev = "";
    size_t vlen = value_room(c);
    char *v = malloc(vlen);
    if (!v) {
        fprintf(f, "# out of memory writing the config\n");
        return;
    }
    for (int i = 0; i < NKEYS; i++) {
        const char *p = KEYS[i].path;
        /* shared leading components with the previous key */
        int depth = 0;
        const char *a = p, *b = prev;
        for (;;) {
            size_t la = strcspn(a, "."), lb = strcspn(b, ".");
            if (a[la] != '.' || b[lb] != '.' || la != lb || strncmp(a, b, la) != 0) break;
            a += la + 1;
            b += lb + 1;
            depth++;
        }
        /* open the new sections */
        for (;;) {
            size_t la = strcspn(a, ".");
            if (a[la] != '.') break;
            fprintf(f, "%*s%.*s:\n", 2 * depth, "", (int)la, a);
            a += la + 1;
            depth++;
        }
        fmt_value(c, &KEYS[i], v, vlen);
        fprintf(f, "%*s%s: %s\n", 2 * depth, "", a, v);
        prev = p;
    }
    free(v);
}

char *app_config_to_string(const app_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    app_config_write(c, f);
    fclose(f);
    return buf;
}

/* Keys that neither define the problem nor the method: the budget (a resumed run may get a
 * larger one), the outputs, resource limits and thread counts. */
static int is_identity_key(const char *path)
{
    static const char *const skip[] = {"budget.", "outputs.", "limits.", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strncmp(path, skip[i], strlen(skip[i]))) return 0;
    const char *last = strrchr(path, '.');
    return strcmp(last ? last + 1 : path, "threads") != 0;
}

char *app_config_identity(const app_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    size_t vlen = value_room(c);
    char *v = malloc(vlen);
    FILE *f = v ? open_memstream(&buf, &len) : NULL;
    if (!f) {
        free(v);
        return NULL;
    }
    for (int i = 0; i < NKEYS; i++) {
        if (!is_identity_key(KEYS[i].path)) continue;
        fmt_value(c, &KEYS[i], v, vlen);
        fprintf(f, "%s: %s\n", KEYS[i].path, v);
    }
    free(v);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *type_name(const key *k)
{
    switch (k->type) {
    case T_INT:
    case T_LONG:
    case T_ULONG:
    case T_U64:
        return "integer";
    case T_DOUBLE:
        return "number";
    case T_BOOL:
        return "bool";
    case T_STR:
        return "string";
    case T_ENUM:
        return "name";
    case T_INTLIST:
        return "list of integers";
    case T_RECTS:
        return "list of [x0, x1, y0, y1]";
    case T_LOADS:
        return "list of [x0, x1, y0, y1, fx, fy]";
    case T_CASES:
        return "list of load lists";
    case T_NODE:
        return "[ix, iy]";
    }
    return "?";
}

void app_config_schema_markdown(FILE *f)
{
    app_config d;
    const app_config *dp = &d;
    app_config_default(&d);
    fprintf(f, "# Config reference\n\n"
               "Generated by `topopt schema` from the schema table in `app/config.c` (do not "
               "edit by hand; a test checks that this file matches). A config is a YAML file; "
               "every key is optional and takes the default shown. Keys are dotted paths: in "
               "YAML write them as nested mappings, on the command line as `--set "
               "section.key=value` (the value is YAML, e.g. `--set "
               "problem.supports.x=[[0,0,0,20]]`).\n\n"
               "Errors are reported as `config.yaml:LINE:COL: message` naming the key and the "
               "allowed values; `topopt check CONFIG` validates without running.\n\n"
               "Conventions (those of the benchmark suite, "
               "`configs/benchmarks/hoyer2019/README.md`): node (ix, iy) with 0 <= ix <= W, "
               "0 <= iy <= H and iy = 0 the top edge; element (ex, ey) with ey = 0 the top "
               "row; forces with y pointing down. Rectangles are inclusive.\n\n"
               "`method.*` fields are those of `ncvx_settings` (solver/include/ncvx.h) and "
               "`parameterization.cnn.*`/`mlp.*` those of `nn_hoyer_cnn_settings` / "
               "`nn_fourier_mlp_settings` (nn/include/nn.h); their defaults are the libraries' "
               "except where the table says otherwise.\n");
    char section[128] = "#";
    for (int i = 0; i < NKEYS; i++) {
        const key *k = &KEYS[i];
        const char *dot = strchr(k->path, '.');
        char sec[128];
        if (dot)
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - k->path), k->path);
        else
            snprintf(sec, sizeof sec, "%s", k->path);
        if (strcmp(sec, section) != 0) {
            snprintf(section, sizeof section, "%s", sec);
            fprintf(f,
                    "\n## %s\n\n| key | type | default | allowed | meaning |\n|---|---|---|---|"
                    "---|\n",
                    sec);
        }
        char v[2048], allowed[1024] = "";
        fmt_value(dp, k, v, sizeof v);
        if (k->type == T_ENUM)
            enum_list(k->names, 1, allowed, sizeof allowed);
        else if (k->min <= k->max) {
            if (k->max >= BIG)
                snprintf(allowed, sizeof allowed, ">= %g", k->min);
            else
                snprintf(allowed, sizeof allowed, "%g to %g", k->min, k->max);
        }
        fprintf(f, "| `%s` | %s | `%s` | %s | %s |\n", k->path, type_name(k), v, allowed, k->doc);
    }
}
