// app/config.h: the design config (YAML): typed schema, defaults, validation, --set overrides
//
// One schema table (app/config.c) lists every key with its dotted path, type, default, allowed
// range or values and a doc string. Parsing, defaults, `--set key=value` overrides, validation
// messages and configs/README.md (`topopt schema`) are all generated from that table.
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "benchmarks.h"
#include "ncvx.h"
#include "nn.h"

#define APP_VERSION "0.1.0"

/* Limits of the parser against hostile input (the lists are allocated to the size given). */
#define APP_MAX_RECTS 64   ///< most rectangles per list (supports, passive regions)
#define APP_MAX_LOADS 2048 ///< most load rectangles per load case (the suite needs 1836)
#define APP_MAX_CASES 8    ///< most load cases
#define APP_CONFIG_MAX_BYTES (8 << 20) ///< largest config file (the suite's largest: ~0.1 MB)
#define APP_CONFIG_MAX_DEPTH 64        ///< deepest nesting of [ and { in a config

/** Filter applied to the density (or, for `sensitivity`, to the compliance sensitivity). */
typedef enum { APP_FILTER_DENSITY = 0, APP_FILTER_SENSITIVITY, APP_FILTER_NONE } app_filter_kind;
/** Normalization of the cone filter: rows sum to one (top88) or columns (benchmark suite). */
typedef enum { APP_NORM_ROW = 0, APP_NORM_COLUMN } app_filter_norm;
/** Parameterization of the element logits. */
typedef enum { APP_PARAM_CNN = 0, APP_PARAM_MLP, APP_PARAM_PIXEL } app_param_kind;
/** Map from logits to densities. */
typedef enum { APP_MAP_SIGMOID_MEAN = 0, APP_MAP_SIGMOID, APP_MAP_PIXEL } app_density_map;
/** Volume constraint: none, mean(rho) <= V, mean(rho) = V; auto = none when the density map
 *  is sigmoid-mean (the volume is absorbed), <= otherwise. */
typedef enum { APP_VOL_AUTO = 0, APP_VOL_NONE, APP_VOL_LE, APP_VOL_EQ } app_volume_kind;
/** Mirror symmetry constraint of the physical density. */
typedef enum { APP_SYM_NONE = 0, APP_SYM_X, APP_SYM_Y } app_symmetry;

/** Design strategy (app/strategy.h): one solver run, or a neural phase then a pixel polish. */
typedef enum {
    APP_STRATEGY_SINGLE = 0,
    APP_STRATEGY_NEURAL_POLISH,
    APP_STRATEGY_CONTINUATION
} app_strategy_kind;
/** Method of the polish phase. */
typedef enum { APP_POLISH_MMA = 0, APP_POLISH_OC } app_polish_method;
/** Component of the limited displacement. */
typedef enum { APP_DIR_X = 0, APP_DIR_Y } app_direction;

/** One value of a name list: its name in configs, outputs and messages, and a one-line doc. */
typedef struct {
    const char *name; ///< NULL when the name belongs to a library (app_names.lib_name)
    const char *doc;
} app_name;

/** A name list: the one table of an enum's names. Value i (0 <= i < n) is v[i]; the config
 *  parser, `topopt schema`, the error messages, the identity hash and the outputs all read
 *  it through app_name_str and app_name_parse. */
typedef struct {
    int n;
    const app_name *v;
    const char *(*lib_name)(int i); ///< names kept by a library (ncvx, nn); NULL: v[i].name
} app_names;

extern const app_names app_filter_kind_names;   ///< app_filter_kind
extern const app_names app_filter_norm_names;   ///< app_filter_norm
extern const app_names app_param_kind_names;    ///< app_param_kind
extern const app_names app_density_map_names;   ///< app_density_map
extern const app_names app_volume_kind_names;   ///< app_volume_kind
extern const app_names app_symmetry_names;      ///< app_symmetry
extern const app_names app_direction_names;     ///< app_direction
extern const app_names app_fem_reuse_names;     ///< fem_settings.reuse (auto, off, on)
extern const app_names app_strategy_kind_names; ///< app_strategy_kind
extern const app_names app_polish_method_names; ///< app_polish_method (names of ncvx methods)
extern const app_names app_method_names;        ///< ncvx_method (names of ncvx_method_str)
extern const app_names app_activation_names;    ///< nn_activation (names of nn_activation_str)
extern const app_names app_precision_names;     ///< nn_precision (names of nn_precision_str)

/** Name of value i of list l ("unknown" outside 0..n-1). Never NULL. */
const char *app_name_str(const app_names *l, int i);
/** Value of name s in list l, or -1. */
int app_name_parse(const app_names *l, const char *s);
/** The solver method of polish method p (APP_POLISH_MMA: NCVX_MMA, APP_POLISH_OC: NCVX_OC). */
ncvx_method app_polish_ncvx_method(app_polish_method p);

/** A fully resolved config. Every field has a schema entry (see app_config_schema_markdown).
 *  The lists (supports, loads, passive regions) are allocated to the size given and owned by
 *  the config: app_config_free releases them, app_config_copy duplicates them; a plain struct
 *  assignment would share them. */
typedef struct {
    char path[512]; ///< file it came from ("" for defaults only)
    char name[128]; ///< config name: file stem (results/<name>/)

    /* problem */
    char benchmark[96]; ///< "" = the explicit grid below
    int width, height;
    double volfrac;
    int n_fix_x, n_fix_y;
    app_rect *fix_x, *fix_y; ///< [n_fix_x], [n_fix_y]
    int n_cases;             ///< load cases (>= 1 once loads are given; 0 = none)
    int *n_loads;            ///< [n_cases] rectangles per case
    app_load_rect **loads;   ///< [n_cases][n_loads[k]]
    int n_void, n_solid;
    app_rect *void_rects, *solid_rects; ///< [n_void], [n_solid]
    int mirror_left, mirror_right;

    /* material */
    double E0, Emin, nu, penal;
    int fem_reuse; ///< FE factor reuse: 0 auto, 1 off, 2 on (values of fem_settings.reuse)

    /* filter, projection */
    int filter_kind; ///< app_filter_kind
    double filter_radius;
    int filter_norm; ///< app_filter_norm
    int projection;  ///< 1 = Heaviside projection on
    double beta, eta;

    /* parameterization */
    int param_kind; ///< app_param_kind
    int precision;  ///< nn_precision of the cnn and mlp (parameterization.precision)
    nn_hoyer_cnn_settings cnn;
    int cnn_n_resizes, cnn_n_filters; ///< list lengths as given (must equal cnn.n_blocks)
    nn_fourier_mlp_settings mlp;
    double pixel_init; ///< initial pixel value (negative = volfrac)
    int density_map;   ///< app_density_map

    /* constraints */
    int volume;   ///< app_volume_kind
    int binarity; ///< 1 = mean(rho(1-rho)) <= binarity_tol as an inequality (NCVX)
    double binarity_tol;
    int symmetry; ///< app_symmetry, ||rho - mirror(rho)||^2/n <= symmetry_tol
    double symmetry_tol;
    int disp_enabled;  ///< displacement limit at a node
    int disp_node[2];  ///< (ix, iy)
    int disp_dir;      ///< app_direction
    double disp_limit; ///< |u| <= limit, written as sign * u <= limit with sign from the load

    /* method, budget and printing: the one home of every solver setting. method.* are the
     * fields of the same names; budget.evaluations, budget.iterations, budget.time and
     * outputs.print_frequency are max_evals, maxit, maxclocktime and print_frequency.
     * app_run_solver_settings adds what belongs to a run (log, quiet, seed). */
    ncvx_settings solver;
    int normalize_objective; ///< 1 = divide the compliance by its value at the start

    /* budget (beside solver.max_evals, maxit, maxclocktime) */
    double change_tol; ///< stop when max |x_k - x_{k-1}| < change_tol (top88's criterion)

    unsigned long seed;
    int threads; ///< BLAS and OpenMP threads of the run (0 = auto, app_threads_apply)

    /* strategy */
    int strategy;                    ///< app_strategy_kind
    double strategy_neural_fraction; ///< share of budget.evaluations for the neural phase
    int strategy_polish;             ///< app_polish_method
    int strategy_neural_restarts;    ///< neural trials sharing the neural evaluations
    double strategy_p_start;         ///< first SIMP exponent of the pixel phase (0 = material.p)
    int strategy_p_levels;           ///< levels from p_start / r_start to the final values (>= 2)
    double strategy_r_start;         ///< filter radius of the first pixel level (0 = filter.radius)
    double strategy_continuation_fraction; ///< share of the pixel budget below material.p
    double strategy_pixel_share;    ///< neural-polish: budget share of a pixel branch (0 = none)
    double strategy_pixel_r_factor; ///< its first filter radius / filter.radius
    int strategy_pixel_levels;      ///< its filter-radius levels

    /* outputs */
    char out_dir[512]; ///< "" = results/<name>
    int png_scale;
    int frames_every;          ///< 0 = no frames
    int checkpoint_every;      ///< 0 = by time only (and on a signal)
    double checkpoint_seconds; ///< > 0: also after this many wall seconds since the last one
    int keep_state;            ///< 1 = the final result.h5 keeps the solver state (resumable)

    /* limits */
    double max_memory_gb; ///< refuse configs estimated above this (0 = 80 % of physical memory)
} app_config;

/** Fill c with the schema defaults (library defaults for nn/ncvx fields). c is overwritten
 *  (not freed first); the defaults own no lists. */
void app_config_default(app_config *c);

/** Release the lists c owns and empty them (c itself is the caller's). NULL-safe; a config
 *  that owns no lists (defaults, a failed load) may be freed too. */
void app_config_free(app_config *c);

/** Deep copy: dst (overwritten, not freed first) gets src's values and its own copies of the
 *  lists. Returns 0, or -1 when out of memory (dst then owns nothing). */
int app_config_copy(app_config *dst, const app_config *src);

/** Read a YAML config file, apply the `--set` overrides (n_sets strings "key=value") and
 *  validate everything. c is overwritten (not freed first); release it with app_config_free.
 *  Returns 0, or 2 with a message "FILE:LINE:COL: message" in err[errlen] (c then owns no
 *  lists). bench_path: problems.json (NULL = app_benchmarks_path). */
int app_config_load(app_config *c, const char *path, int n_sets, char *const *sets,
                    const char *bench_path, char *err, size_t errlen);

/** Same as app_config_load but from a string (the file name `name` is used in messages). */
int app_config_load_string(app_config *c, const char *name, const char *text, int n_sets,
                           char *const *sets, const char *bench_path, char *err, size_t errlen);

/** Write the resolved config as YAML (every key) to f. */
void app_config_write(const app_config *c, FILE *f);

/** Write the resolved config as YAML into a malloc'd string (caller frees), NULL on failure. */
char *app_config_to_string(const app_config *c);

/** The keys that define the problem and the method, one "dotted.path: value" line each in
 *  schema order (every key except budget.*, outputs.*, limits.* and thread counts), as a
 *  malloc'd string (caller frees; NULL when out of memory). A checkpoint stores it with its
 *  FNV-1a hash, and --resume refuses a config whose lines differ, naming the key. */
char *app_config_identity(const app_config *c);

/** Write the markdown reference of every key (configs/README.md is this output). */
void app_config_schema_markdown(FILE *f);

/** Path of problems.json: $TOPOPT_BENCHMARKS, ./configs/benchmarks/..., or the source tree. */
const char *app_benchmarks_path(void);

/** Fill the problem fields of c from benchmark b (grid, supports, loads, passive, mirrors,
 *  volfrac), replacing c's lists. Returns 0, or -1 if b has more rectangles than a config
 *  allows (APP_MAX_RECTS, APP_MAX_LOADS) or memory runs out. */
int app_config_from_benchmark(app_config *c, const app_benchmark *b);

/** Cross-field validation (grid, supports, loads, network shapes...). Returns 0 or 2 with a
 *  message in err (without file position). Used by app_config_load and by the suite. */
int app_config_validate(const app_config *c, char *err, size_t errlen);

#endif
