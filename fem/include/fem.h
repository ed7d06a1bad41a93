// fem/include/fem.h: 2D Q4 plane-stress finite elements on CHOLMOD: compliance, filters
#ifndef FEM_H
#define FEM_H

/**
 * @file fem.h
 * Structured 2D grids of unit-square bilinear (Q4) plane-stress elements, thickness 1, with
 * modified SIMP stiffness E(rho) = Emin + rho^p (E0 - Emin). One sparse Cholesky (CHOLMOD)
 * factorization per evaluation serves every load case and every adjoint solve.
 *
 * Numbering (the conventions of configs/benchmarks/hoyer2019/problems.json):
 * - Grid of W x H elements; element (ex, ey), 0 <= ex < W, 0 <= ey < H, ey = 0 is the TOP row.
 * - ELEMENT INDEX e = ey * W + ex (row-major, top row first: the C-order ravel of an
 *   (H, W) image). Every per-element array of this API (densities, sensitivities, strain
 *   energies, passive lists, filter inputs/outputs, designable masks) uses this index.
 * - Node (ix, iy), 0 <= ix <= W, 0 <= iy <= H, iy = 0 at the top; node number
 *   n = (H + 1) * ix + iy (column-major); dof 2n is x (positive to the right), dof 2n + 1 is y
 *   (positive DOWNWARD, toward increasing iy). ndof = 2 (W + 1) (H + 1).
 * - Element nodes in the order top-left, top-right, bottom-right, bottom-left, i.e. element
 *   (ex, ey) has nodes (ex, ey), (ex+1, ey), (ex+1, ey+1), (ex, ey+1) and local dofs
 *   [x0 y0 x1 y1 x2 y2 x3 y3] (the element matrix of fem_element_stiffness()).
 *
 * Passive elements: a passive-void element has physical density 0 (E = Emin), a passive-solid
 * element density 1 (E = E0), whatever the caller passes; their sensitivities are 0. Filters
 * have rows only for designable elements (their output is 0 on passive elements, where
 * fem_model_compliance() substitutes the passive value), and columns for every element (the
 * caller passes 0 on passive void and 1 on passive solid as filter input if it wants them to
 * contribute, as the benchmark suite does with 0 on void).
 *
 * Typical chain (benchmark suite): rho_raw -> fem_filter_apply (FEM_FILTER_DENSITY_COLSUM,
 * r = 2) -> rho_phys -> fem_model_compliance -> dc/drho_phys -> fem_filter_apply_transpose ->
 * dc/drho_raw. fem_model_compliance_filtered() does exactly this in one call.
 *
 * Errors: every fallible call returns a fem_status and prints "fem: <function>: <message>" to
 * stderr on failure. Objects are not thread-safe; distinct objects may be used concurrently.
 */

#include <stddef.h>

/** Status codes of every fallible fem call (0 = success, negative = failure). */
typedef enum {
    FEM_OK = 0,            ///< success
    FEM_ERR_NOMEM = -1,    ///< out of memory
    FEM_ERR_INVALID = -2,  ///< invalid argument (sizes, indices, NaN/Inf/negative densities...)
    FEM_ERR_SETTINGS = -3, ///< invalid fem_settings field
    FEM_ERR_NOT_SPD = -4,  ///< stiffness matrix not positive definite: under-supported (mechanism)
    FEM_ERR_CHOLMOD = -5,  ///< CHOLMOD failed for another reason (message has its status)
    FEM_ERR_STATE = -6     ///< call order: no successful fem_model_compliance() yet
} fem_status;

/** Static English name of a status, e.g. "FEM_ERR_NOT_SPD"; never NULL. */
const char *fem_status_str(fem_status s);

/* ------------------------------------------------------------------------------------------ */
/* Numbering helpers (see the file comment)                                                    */

/** Global node number of node (ix, iy) on a grid of height H elements. */
static inline int fem_node(int H, int ix, int iy)
{
    return (H + 1) * ix + iy;
}

/** x dof of node (ix, iy) on a grid of height H. */
static inline int fem_dof_x(int H, int ix, int iy)
{
    return 2 * ((H + 1) * ix + iy);
}

/** y dof (positive downward) of node (ix, iy) on a grid of height H. */
static inline int fem_dof_y(int H, int ix, int iy)
{
    return 2 * ((H + 1) * ix + iy) + 1;
}

/** Element index of element (ex, ey) on a grid of width W: ey * W + ex. */
static inline int fem_elem(int W, int ex, int ey)
{
    return ey * W + ex;
}

/* ------------------------------------------------------------------------------------------ */
/* Element matrix                                                                              */

/** The 8x8 plane-stress stiffness matrix of a unit-square Q4 element with Young's modulus E,
 *  Poisson ratio nu and thickness 1 (top88's closed form), row-major ke[8*i + j], local dof
 *  order [x0 y0 x1 y1 x2 y2 x3 y3] for nodes top-left, top-right, bottom-right, bottom-left
 *  (y positive downward). */
void fem_element_stiffness(double E, double nu, double ke[64]);

/* ------------------------------------------------------------------------------------------ */
/* Model: one problem (grid, supports, loads, passive elements, material)                      */

/** Default values of fem_settings (the reference physics of the benchmark suite). */
#define FEM_E0 1.0
#define FEM_EMIN 1e-9
#define FEM_NU 0.3
#define FEM_PENAL 3.0
/** CHOLMOD factorization kind for fem_settings.factor. */
enum { FEM_FACTOR_AUTO = 0, FEM_FACTOR_SIMPLICIAL = 1, FEM_FACTOR_SUPERNODAL = 2 };
/** CHOLMOD fill-reducing ordering for fem_settings.ordering. */
enum { FEM_ORDER_DEFAULT = 0, FEM_ORDER_AMD = 1, FEM_ORDER_METIS = 2, FEM_ORDER_NESDIS = 3 };

/** FE solve strategy for fem_settings.reuse. */
enum {
    FEM_REUSE_AUTO = 0, ///< ON where a factorization costs at least FEM_REUSE_AUTO_MIN_COST
                        ///< CG iterations (large grids), OFF below
    FEM_REUSE_OFF = 1,  ///< factorize every evaluation (direct solve)
    FEM_REUSE_ON = 2    ///< conjugate gradients preconditioned with the last factor
};
/** Default fem_settings.reuse_tol: CG stops when the preconditioned residual norm estimates
 *  the energy-norm error of u below 1e-9 of |u|_K (see fem_model_compliance). */
#define FEM_REUSE_TOL 1e-9
/** FEM_REUSE_AUTO turns reuse on when one factorization costs at least this many CG
 *  iterations (fem_solve_stats.fact_cost, the policy's cost model). Measured (CPU time, one
 *  thread): a factorization costs 8-12 CG iterations from 60x20 to 256x256 (8.1 at 256x256
 *  with OpenBLAS's SkylakeX kernels). On the CNN + L-BFGS trajectory of mbb_beam_96x32 (400
 *  evaluations, reuse on) CG converged in 60 % of the evaluations (6.1 iterations per
 *  evaluation on average) and the FE time was 5 % below fresh factorizations (7.28 vs 7.69 ms);
 *  in the first 20 evaluations of a run CG fails (designs change fast) and reuse costs 20 %
 *  more (128x512); on top88 OC trajectories reuse was 2-3x slower (20-60 iterations per
 *  solve). So auto keeps fresh factorizations on the suite's grids (up to 512x512: model cost
 *  <= 14) and reuses from about 768x768 (model 21, 26 at 1024x1024), where a factorization
 *  outgrows the CG iterations a step needs (extrapolated, not measured). */
#define FEM_REUSE_AUTO_MIN_COST 16.0
/** With FEM_REUSE_ON, CG may take this many iterations per right-hand side before the model
 *  gives up and refactors, even where a factorization costs less (small grids). */
#define FEM_REUSE_ON_MIN_ITERS 60

/** Material and solver settings. Fill with fem_settings_default(), then change fields. */
typedef struct {
    double E0;    ///< Young's modulus of solid material (default FEM_E0 = 1), > Emin
    double Emin;  ///< Young's modulus of void (default FEM_EMIN = 1e-9), > 0 (keeps K SPD)
    double nu;    ///< Poisson ratio (default FEM_NU = 0.3), in (-1, 0.5)
    double penal; ///< SIMP exponent p (default FEM_PENAL = 3), >= 1
    int factor;   ///< FEM_FACTOR_* (default FEM_FACTOR_AUTO: CHOLMOD decides)
    int ordering; ///< FEM_ORDER_* (default FEM_ORDER_DEFAULT: CHOLMOD's own choice)
    /** 1 (default): fem_model_create() calls omp_set_dynamic(1) (PROCESS-WIDE OpenMP setting),
     *  so that CHOLMOD's OpenMP loops, compiled with a fixed 4 threads in Debian's build, use
     *  no more threads than idle cores (libgomp: online cores minus the load average). On a
     *  loaded 2-core machine this made a factorization up to 10x faster. 0: leave OpenMP's
     *  settings alone (OMP_DYNAMIC / OMP_THREAD_LIMIT still apply). */
    int omp_dynamic;
    int reuse;        ///< FEM_REUSE_* (default FEM_REUSE_AUTO)
    double reuse_tol; ///< CG tolerance, relative energy norm (default FEM_REUSE_TOL), in (0, 1e-6]
} fem_settings;

/** Set every field of *s to its default. */
void fem_settings_default(fem_settings *s);

/** A nodal force component: load case `load_case` gets `value` added at dof `dof`. */
typedef struct {
    int load_case; ///< 0 <= load_case < fem_problem.n_cases
    int dof;       ///< 0 <= dof < ndof
    double value;  ///< force (y positive downward)
} fem_point_load;

/** Transparent problem description, borrowed by fem_model_create() (deep-copied there).
 *  Forces on fixed dofs are allowed and have no effect (they do no work). */
typedef struct {
    int width;  ///< W, number of elements along x (>= 1)
    int height; ///< H, number of elements along y (>= 1)

    int n_fixed;           ///< number of entries of fixed_dofs (duplicates allowed)
    const int *fixed_dofs; ///< [n_fixed] dofs held at 0

    int n_cases;         ///< number of load cases (>= 1); compliances are summed over cases
    const double *loads; ///< [n_cases * ndof] dense forces, case k at loads[k*ndof]; NULL = 0
    int n_point_loads;   ///< number of entries of point_loads (added to loads)
    const fem_point_load *point_loads; ///< [n_point_loads]; may be NULL if n_point_loads = 0

    int n_void;             ///< number of passive-void elements
    const int *void_elems;  ///< [n_void] element indices (ey*W + ex) forced to density 0
    int n_solid;            ///< number of passive-solid elements
    const int *solid_elems; ///< [n_solid] element indices forced to density 1
} fem_problem;

/** Opaque model: sparsity pattern, CHOLMOD symbolic analysis, scatter map, factor, loads and
 *  every workspace, all built by fem_model_create(). The fill-reducing ordering is baked into
 *  the free-dof numbering, so CHOLMOD factorizes the stored triangle in place (no permuted
 *  copy per call). */
typedef struct fem_model fem_model;

/** Build a model. Validates p and s (NULL s = defaults), deep-copies what it keeps, builds the
 *  free-dof matrix pattern (one triangle), the fill-reducing symbolic analysis and the
 *  element-entry -> value-slot scatter map. Fails with FEM_ERR_NOT_SPD when the fixed dofs
 *  leave a rigid-body mode free (no supports, only one direction fixed, or a free rotation),
 *  FEM_ERR_INVALID for bad sizes/indices (an element or dof out of range, an element both
 *  void and solid, non-finite loads), FEM_ERR_SETTINGS for bad settings. On failure *out = NULL.
 */
fem_status fem_model_create(fem_model **out, const fem_problem *p, const fem_settings *s);

/** Free everything of a model; NULL is a no-op. */
void fem_model_destroy(fem_model *m);

/** Grid width W. */
int fem_model_width(const fem_model *m);
/** Grid height H. */
int fem_model_height(const fem_model *m);
/** Number of elements W*H. */
int fem_model_nelem(const fem_model *m);
/** Number of dofs 2 (W+1) (H+1) (fixed ones included). */
int fem_model_ndof(const fem_model *m);
/** Number of free (unconstrained) dofs = order of the factorized matrix. */
int fem_model_nfree(const fem_model *m);
/** Number of load cases. */
int fem_model_n_cases(const fem_model *m);

/** Designable mask [nelem]: 1 for designable elements, 0 for passive (void or solid). Owned by
 *  the model, valid until fem_model_destroy(); pass it to fem_filter_create(). */
const unsigned char *fem_model_designable(const fem_model *m);

/** Passive kind per element [nelem]: -1 designable, 0 passive void, 1 passive solid. Owned by
 *  the model, valid until fem_model_destroy(). */
const signed char *fem_model_passive(const fem_model *m);

/** One evaluation: scatter E(rho) into the matrix, solve every load case and form
 *  the compliance c = sum_k f_k^T u_k and (if dc != NULL) its exact sensitivity
 *  dc[e] = -p rho_e^(p-1) (E0 - Emin) sum_k u_ke^T KE u_ke (adjoint; compliance is
 *  self-adjoint, no extra solve), 0 on passive elements. fem allocates nothing here; the
 *  only allocation is CHOLMOD's own update buffer inside a supernodal cholmod_l_factorize
 *  (allocated and freed per call by cholmod_l_super_numeric; none with a simplicial factor).
 *  Solve: with reuse off, factorize and solve directly. With reuse (fem_settings.reuse), CG
 *  preconditioned with the last factor, stopped when the estimated energy-norm error is below
 *  reuse_tol |u|_K (compliance within ~reuse_tol^2, gradient within ~reuse_tol relative of a
 *  fresh factorization); the model refactors when CG would cost more than a factorization,
 *  when an evaluation's CG iterations reach the average cost per evaluation since the last
 *  factorization (renewal rule), or after CG failed (with a back-off). fem_model_solve_stats()
 *  counts the work. The first evaluation always factorizes.
 *  @param rho physical densities [nelem] (element index e = ey*W + ex); values on passive
 *         elements are ignored (replaced by 0 / 1) but must still be finite. Every value must
 *         be finite and >= 0 (values > 1 are allowed: the column-sum filter can produce them).
 *  @param c   out: compliance (summed over load cases); may be NULL
 *  @param dc  out: [nelem] dc/drho, or NULL (not requested)
 *  @return FEM_OK; FEM_ERR_INVALID naming the first bad element (NaN/Inf/negative);
 *          FEM_ERR_NOT_SPD if CHOLMOD finds the matrix not positive definite. */
fem_status fem_model_compliance(fem_model *m, const double *rho, double *c, double *dc);

/** Work counters of the linear solves (fem_model_solve_stats). */
typedef struct {
    long evaluations;    ///< successful fem_model_compliance() calls
    long factorizations; ///< numerical Cholesky factorizations
    long cg_solves;      ///< right-hand sides solved by preconditioned CG (cases and adjoints)
    long cg_iterations;  ///< CG iterations in all (each: one K product, two triangular solves)
    long cg_failures;    ///< CG runs abandoned (budget or breakdown) for a refactorization
    int last_iterations; ///< CG iterations of the last evaluation (0 if it factorized)
    int last_factored;   ///< 1 if the last evaluation factorized
    int reuse;           ///< 1 if the model reuses factors (reuse on, or auto and large enough)
    double fact_cost;    ///< cost of one factorization in CG iterations (the policy's model)
} fem_solve_stats;

/** Copy the work counters of m into *st. */
void fem_model_solve_stats(const fem_model *m, fem_solve_stats *st);

/** Compliance of load case k (0 <= k < n_cases) at the last successful evaluation, or NaN. */
double fem_model_case_compliance(const fem_model *m, int k);

/** Displacement field of load case k [ndof] (0 on fixed dofs) from the last successful
 *  evaluation. Owned by the model; valid until the next fem_model_compliance*() call or
 *  fem_model_destroy(). NULL if k is out of range or nothing was evaluated yet. */
const double *fem_model_displacement(const fem_model *m, int k);

/** Physical densities [nelem] used by the last successful evaluation (passive values
 *  substituted). Owned by the model, valid as fem_model_displacement(); NULL before. */
const double *fem_model_density(const fem_model *m);

/** Per-element strain energy of the last evaluation into se[nelem]:
 *  se[e] = 1/2 E(rho_e) u_e^T KE u_e for load case k, or summed over all cases if k = -1.
 *  The sum over elements is c_k / 2. FEM_ERR_STATE before the first evaluation. */
fem_status fem_model_strain_energy(const fem_model *m, int k, double *se);

/** Linear response J = ell^T u_k of load case k at the last successful evaluation (e.g. ell =
 *  unit vector at a dof: that displacement) and, if dJ != NULL, its sensitivity
 *  dJ[e] = -p rho_e^(p-1) (E0 - Emin) lambda_e^T KE u_ke with K lambda = ell (one extra solve
 *  with the existing factor, or CG preconditioned with it when the last evaluation reused an
 *  older factor; no allocation); 0 on passive elements.
 *  @param ell [ndof] weights; entries on fixed dofs are ignored (u = 0 there)
 *  @param J   out: value (may be NULL); @param dJ out: [nelem] or NULL
 *  @return FEM_ERR_STATE before the first successful fem_model_compliance(). */
fem_status fem_model_functional(fem_model *m, int k, const double *ell, double *J, double *dJ);

/* ------------------------------------------------------------------------------------------ */
/* Filters: linear operators on element fields (index e = ey*W + ex)                           */

/** Filter kinds. Weights w(i, j) = max(0, r - |c_i - c_j|) between element centres. */
typedef enum {
    /** Density filter, rows normalized by their own sums (top88, ft = 2):
     *  F[i][j] = w(i,j) / sum_j' w(i,j') over every in-grid element j'. */
    FEM_FILTER_DENSITY_ROWSUM = 0,
    /** Density filter of the benchmark suite (Hoyer et al. 2019, cone_filter): row i is
     *  scaled by the COLUMN sum of column i over designable rows:
     *  F[i][j] = w(i,j) / sum_{k designable} w(k,i). A field constant on designable elements
     *  and 0 elsewhere is a fixed point; the mean is not preserved in general. */
    FEM_FILTER_DENSITY_COLSUM = 1,
    /** top88 sensitivity filter (ft = 1): apply/apply_transpose are the identity on
     *  designable elements; use fem_filter_sensitivity() on the gradient. */
    FEM_FILTER_SENSITIVITY = 2
} fem_filter_kind;

/** Opaque filter (sparse CSR matrix, built once). */
typedef struct fem_filter fem_filter;

/** Build a filter for a W x H grid.
 *  @param radius r > 0 (in element widths; r <= 1 gives the identity)
 *  @param designable [W*H] 1 = designable (gets a row), 0 = passive (row of zeros); NULL = all
 *         designable. Copied. fem_model_designable() gives the model's mask. */
fem_status fem_filter_create(fem_filter **out, int W, int H, fem_filter_kind kind, double radius,
                             const unsigned char *designable);

/** Free a filter; NULL is a no-op. */
void fem_filter_destroy(fem_filter *f);

/** Number of elements W*H the filter acts on. */
int fem_filter_nelem(const fem_filter *f);

/** y = F x, x and y [nelem], distinct arrays. Output is 0 on non-designable elements. */
fem_status fem_filter_apply(const fem_filter *f, const double *x, double *y);

/** x = F^T y, x and y [nelem], distinct arrays (the chain rule: dJ/dx = F^T dJ/dy). */
fem_status fem_filter_apply_transpose(const fem_filter *f, const double *y, double *x);

/** top88 sensitivity filter (ft = 1), any filter kind (uses the raw weights w):
 *  out[i] = sum_j w(i,j) x_j dc_j / (max(1e-3, x_i) sum_j w(i,j)) on designable i, 0
 *  elsewhere. A heuristic, not a derivative. x, dc, out [nelem]; out distinct from the inputs. */
fem_status fem_filter_sensitivity(const fem_filter *f, const double *x, const double *dc,
                                  double *out);

/** Compliance of a raw (unfiltered) design: rho_phys = F rho_raw, c = fem_model_compliance,
 *  dc_raw = F^T dc/drho_phys (if dc_raw != NULL). Uses the model's workspaces (no allocation);
 *  the physical density is then available from fem_model_density(). f may be NULL (identity).
 *  @param rho_raw [nelem]; @param c out (may be NULL); @param dc_raw [nelem] out or NULL. */
fem_status fem_model_compliance_filtered(fem_model *m, const fem_filter *f, const double *rho_raw,
                                         double *c, double *dc_raw);

/* ------------------------------------------------------------------------------------------ */
/* Heaviside projection (Wang, Lazarov, Sigmund 2011, tanh form)                               */

/** y_i = (tanh(beta eta) + tanh(beta (x_i - eta))) / (tanh(beta eta) + tanh(beta (1 - eta)))
 *  and, if dydx != NULL, its derivative dydx_i = beta (1 - tanh^2(beta (x_i - eta))) / denom
 *  (elementwise; chain rule: dJ/dx_i = dydx_i dJ/dy_i). x, y, dydx [n]; y may alias x.
 *  @param beta > 0 (sharpness); @param eta in [0, 1] (threshold). */
fem_status fem_projection(int n, double beta, double eta, const double *x, double *y, double *dydx);

#endif
