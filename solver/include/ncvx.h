// solver/include/ncvx.h: constrained nonsmooth optimization (BFGS-SQP with steering and
// classical methods), the public API of the `ncvx` library.
//
// Problem:  minimize f(x)  subject to  c_i(x) <= 0 (n_ineq of them),  c_e(x) = 0 (n_eq),
//           x in R^n, f and c possibly nonsmooth and nonconvex.
//
// The library knows nothing of the application: values and gradients come from one combined
// user callback. It allocates all workspace in ncvx_create(); ncvx_solve() does not allocate.
#ifndef NCVX_H
#define NCVX_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NCVX_VERSION "0.1.0"

/** Error status of a library call (the *reason a solve ended* is ncvx_info.term). */
typedef enum {
    NCVX_OK = 0,
    NCVX_ERR_NOMEM = -1,     ///< out of memory
    NCVX_ERR_INVALID = -2,   ///< invalid argument (NULL pointer, bad size, bad problem field)
    NCVX_ERR_SETTINGS = -3,  ///< a settings field is out of range (the message names it)
    NCVX_ERR_CALLBACK = -4,  ///< the evaluation callback failed at the starting point
    NCVX_ERR_NONFINITE = -5, ///< non-finite value at the starting point (x0, f, c or a gradient)
    NCVX_ERR_STATE = -6,     ///< a continuation state does not match this problem/method
} ncvx_status;

/** Human-readable name of a status. Never NULL. */
const char *ncvx_status_str(ncvx_status st);

/** Methods sharing the problem interface and the info struct. */
typedef enum {
    NCVX_BFGS_SQP = 0, ///< BFGS-SQP with steering (Curtis, Mitchell, Overton 2017; GRANSO)
    NCVX_LBFGS,        ///< unconstrained L-BFGS with weak Wolfe line search (constraints ignored)
    NCVX_PENALTY,      ///< quadratic or exact penalty, increasing weight, inner L-BFGS
    NCVX_AUGLAG,       ///< augmented Lagrangian (PHR for inequalities), inner L-BFGS
    NCVX_PROJGRAD,     ///< projected gradient with a user projection and a line search
    NCVX_MMA,          ///< Method of Moving Asymptotes (Svanberg 1987/2002), bounds + inequalities;
                       ///< its subproblem solved exactly through the dual with at most 8
                       ///< inequalities, by the primal-dual interior point with more
    NCVX_OC,           ///< optimality criteria: one linear resource constraint, box, move limit
} ncvx_method;

/** Parse a method name ("bfgs-sqp", "lbfgs", "penalty", "auglag", "projgrad", "mma", "oc").
 *  Returns 0 and sets *m, or -1 if the name is unknown. */
int ncvx_method_parse(const char *name, ncvx_method *m);
/** Name of a method as accepted by ncvx_method_parse. */
const char *ncvx_method_str(ncvx_method m);

/** Why a solve ended. Codes 0..13 follow PyGRANSO/GRANSO one to one; later codes are ours. */
typedef enum {
    NCVX_TERM_STATIONARY = 0,    ///< stationarity <= opt_tol at a feasible point
    NCVX_TERM_REL_TOL = 1,       ///< relative decrease of the penalty function <= rel_tol, feasible
    NCVX_TERM_FVALQUIT = 2,      ///< objective reached fvalquit at a feasible point
    NCVX_TERM_USER_HALT = 3,     ///< the monitor callback asked to stop
    NCVX_TERM_MAXIT = 4,         ///< maxit iterations reached
    NCVX_TERM_CLOCK = 5,         ///< maxclocktime exceeded
    NCVX_TERM_LS_FEASIBLE = 6,   ///< line search bracketed a minimizer but failed (feasible point)
    NCVX_TERM_LS_INFEASIBLE = 7, ///< line search bracketed a minimizer but failed (infeasible)
    NCVX_TERM_LS_UNBOUNDED = 8,  ///< line search could not bracket: f may be unbounded below
    NCVX_TERM_NO_DESCENT = 9,    ///< no descent direction found (all fallbacks exhausted)
    NCVX_TERM_UNUSED_10 = 10,    ///< not used (kept so codes compare with PyGRANSO)
    NCVX_TERM_CALLBACK = 11,     ///< the evaluation callback failed during the run
    NCVX_TERM_QP_FAILED = 12,    ///< a QP failed and no fallback was left
    NCVX_TERM_UNKNOWN = 13,      ///< unknown error
    NCVX_TERM_MAXEVAL = 14,      ///< max_evals function evaluations reached
    NCVX_TERM_STEP_TOL = 15,     ///< step shorter than step_tol (non-GRANSO methods)
    NCVX_TERM_NOT_KKT = 16,      ///< BFGS-SQP: the penalty function is stationary at a feasible
                                 ///< point that is not a KKT point of the problem, even after
                                 ///< 3 restarts (mu restored to mu0, H = I); see kkt_stat
} ncvx_term;

/** One-line explanation of a termination code. Never NULL. */
const char *ncvx_term_str(ncvx_term t);

/** Evaluate f(x), c_ineq(x) <= 0 and c_eq(x) = 0 at x[n] in one call.
 *  Any output may be NULL (= not requested). Jacobians are row-major:
 *  jac_ineq[i*n + j] = d c_ineq[i] / d x[j] (n_ineq x n), jac_eq likewise (n_eq x n).
 *  When grad_f is NULL, jac_ineq and jac_eq are NULL too (a value-only evaluation).
 *  Return 0, or nonzero to report that the evaluation failed. */
typedef int (*ncvx_eval_fn)(const double *x, double *f, double *grad_f, double *c_ineq,
                            double *jac_ineq, double *c_eq, double *jac_eq, void *user);

/** What the monitor sees after each iteration. Pointers are valid during the call only. */
typedef struct {
    int iter;             ///< iteration number (1-based; 0 = the starting point)
    int evals;            ///< function evaluations so far
    const double *x;      ///< current iterate [n]
    double f;             ///< objective at x
    const double *c_ineq; ///< [n_ineq] inequality values at x (NULL if n_ineq == 0)
    const double *c_eq;   ///< [n_eq] equality values at x (NULL if n_eq == 0)
    double viol_ineq;     ///< ||max(c_ineq, 0)||_1
    double viol_eq;       ///< ||c_eq||_1
    double mu;            ///< penalty parameter (BFGS-SQP), penalty weight (penalty, auglag)
    double stat;          ///< stationarity measure as in ncvx_info.stat (NaN where not computed)
    double step;          ///< ||x_k - x_{k-1}||_2
    int ls_evals;         ///< evaluations spent in this iteration's line search
    double time;          ///< seconds since the solve started
} ncvx_iterate;

/** Return nonzero to halt the solve (term = NCVX_TERM_USER_HALT). */
typedef int (*ncvx_monitor_fn)(const ncvx_iterate *it, void *user);

/** Projection onto the feasible set for NCVX_PROJGRAD: overwrite x[n] with its projection.
 *  Return 0, or nonzero on failure. With problem.lower/upper set the feasible set includes
 *  the box: a projected point outside it counts as a failed projection (reported on stderr;
 *  NCVX_ERR_CALLBACK at x0, NCVX_TERM_CALLBACK later). */
typedef int (*ncvx_project_fn)(double *x, int n, void *user);

/** Most finite bounds BFGS-SQP folds in as inequality constraints (ncvx_problem.lower). */
#define NCVX_MAX_FOLDED_BOUNDS 200

/** The problem. Copied by ncvx_create (the pointers inside are borrowed, not copied). */
typedef struct {
    int n;                   ///< number of variables (> 0)
    int n_ineq;              ///< number of inequality constraints c_i(x) <= 0 (>= 0)
    int n_eq;                ///< number of equality constraints c_e(x) = 0 (>= 0)
    ncvx_eval_fn eval;       ///< required
    ncvx_monitor_fn monitor; ///< may be NULL
    ncvx_project_fn project; ///< NCVX_PROJGRAD only; may be NULL elsewhere
    /** [n] lower bounds (NULL = all -inf; entries may be -inf). Every method honours them
     *  or refuses them. MMA and OC use the box directly (and require finite bounds); projgrad
     *  projects onto it, or, with problem.project, checks that the projection stays in it.
     *  BFGS-SQP folds each finite bound in as a linear inequality
     *  (lower_i - x_i <= 0, then x_i - upper_i <= 0, by increasing i), placed after the n_ineq
     *  user inequalities: the monitor's c_ineq and ncvx_multipliers then have n_ineq + nb
     *  inequality entries (nb = number of finite bounds, at most NCVX_MAX_FOLDED_BOUNDS,
     *  else NCVX_ERR_SETTINGS). lbfgs, penalty and auglag refuse finite bounds with
     *  NCVX_ERR_SETTINGS (write them as inequality constraints). lower > upper or NaN is
     *  NCVX_ERR_INVALID. */
    const double *lower;
    const double *upper; ///< [n] upper bounds (NULL = all +inf); see lower
    void *user;          ///< handed back unchanged, never dereferenced
} ncvx_problem;

/** All settings; ncvx_settings_default() sets every field. Names and defaults of the
 *  BFGS-SQP fields are PyGRANSO's. */
/** Bytes of double pairs (16 m n, m = lbfgs_m) above which lm_single = -1 stores the pairs of
 *  lbfgs, penalty and auglag in single precision (default 3.2e7: n > 2e5 at m = 10). Below it
 *  the pairs sit in the caches and a direction costs under 3 ms in double, float saving under
 *  1 ms; above it they stream from memory and float pairs save about 40 % of the direction
 *  (n = 665,000, m = 10: 7 ms instead of 16 ms; bench_solver --lbfgs). Every pixel problem of
 *  the benchmark suite stays in double, the CNN (665,345 parameters and more) goes to float:
 *  its gradient is itself computed in float32. */
#define NCVX_LBFGS_SINGLE_BYTES 3.2e7

typedef struct {
    ncvx_method method; ///< default NCVX_BFGS_SQP

    /* termination (all methods) */
    int maxit;            ///< 1000
    long max_evals;       ///< maximum function evaluations, 0 = no limit (default 0)
    double maxclocktime;  ///< seconds, 0 = no limit (default 0)
    double opt_tol;       ///< 1e-8
    double kkt_tol;       ///< BFGS-SQP: tolerance of the KKT certificate that code 0 also
                          ///< requires (relative; see ncvx_info.kkt_stat), default 1e-6
    double rel_tol;       ///< 0 (off)
    double step_tol;      ///< 1e-12
    double fvalquit;      ///< -inf (off)
    double viol_ineq_tol; ///< 1e-6
    double viol_eq_tol;   ///< 1e-6

    /* BFGS-SQP */
    double mu0;            ///< 1
    int limited_mem_size;  ///< 0 = full BFGS (n*n doubles); m > 0 = L-BFGS with m pairs
    int lm_single;         ///< precision of the L-BFGS pairs: 0 double, 1 single (float;
                           ///< halves their memory, H is applied with products accumulated
                           ///< in double), -1 (default) auto: double unless the double pairs
                           ///< (16 m n bytes) would exceed lm_mem_max, then single. The same
                           ///< for the pairs of lbfgs, penalty and auglag (m = lbfgs_m), whose
                           ///< auto rule also picks single past NCVX_LBFGS_SINGLE_BYTES.
    double lm_mem_max;     ///< bytes the L-BFGS pairs may take in double precision before
                           ///< lm_single = -1 switches them to single (default 1e9 = 1 GB;
                           ///< >= 0, may be +inf = always double). Only the precision is
                           ///< chosen: m is never reduced (see "Memory" below).
    double bfgs_damping;   ///< 1e-4
    int scaleH0;           ///< 1: scale H0 after the first step (PyGRANSO scaleH0)
    int ngrad;             ///< gradient samples for the stationarity QP; default min(100, 2n, n+10)
                           ///< (0 = that default). Each sample stores x_j and the
                           ///< 1 + n_ineq + n_eq gradients at x_j: (2 + n_ineq + n_eq) * n
                           ///< doubles; the number kept is capped by sample_mem_max.
    double sample_mem_max; ///< bytes for the gradient samples (default 2.5e8 = 250 MB);
                           ///< samples kept = min(ngrad, max(1, sample_mem_max /
                           ///< (8 (2 + n_ineq + n_eq) n))). At n = 7e6 with one constraint
                           ///< one sample (the current point) is kept: the stationarity
                           ///< measure then uses the current gradients only.
    double evaldist;       ///< 1e-4: samples x_j with ||x_k - x_j||_2 <= evaldist are used
    int steering_l1_model; ///< 1
    double steering_ineq_margin; ///< 1e-6; no steering (problems without equalities) while
                                 ///< every c_i < -margin at x and c_i + grad c_i'd <= margin
                                 ///< at the end of the step's linearization (GRANSO: at x only)
    int steering_maxit;          ///< 10
    double steering_c_viol;      ///< 0.1
    double steering_c_mu;        ///< 0.9
    int max_random_attempts;     ///< 5
    int is_backtrack_linesearch; ///< 0 (weak Wolfe); 1 = Armijo backtracking
    double wolfe1;               ///< 1e-4
    double wolfe2;               ///< 0.5
    double init_step_size;       ///< 1
    int linesearch_maxit;        ///< 0 = unbounded by count (step_tol ends it)
    unsigned long seed;          ///< random directions fallback; default 0

    /* L-BFGS (method and inner solver of penalty/auglag) */
    int lbfgs_m; ///< 10 (SciPy's default, as Hoyer et al.)

    /* penalty / augmented Lagrangian */
    int penalty_exact;      ///< 0 = quadratic penalty, 1 = exact (l1) penalty
    double penalty_rho0;    ///< initial penalty weight, default 10
    double penalty_growth;  ///< weight multiplier per outer iteration, default 10
    double penalty_rho_max; ///< 1e10
    int inner_maxit;        ///< inner L-BFGS iterations per outer iteration, default 100
    double inner_tol;       ///< inner gradient tolerance, default 1e-6

    /* MMA / OC */
    double move;        ///< move limit as a fraction of (upper - lower); 0 (default) = the
                        ///< method default: OC 0.2, MMA 0.5
    double oc_eta;      ///< OC damping exponent, 0.5
    double mma_asyinit; ///< 0.5 (Svanberg)
    double mma_asyincr; ///< 1.2
    double mma_asydecr; ///< 0.7
    double mma_raa0;    ///< 1e-5
    double mma_albefa;  ///< 0.1
    double mma_c;       ///< 1000: weight c_i of the artificial variables y_i; it must exceed the
                        ///< multipliers, so scale f to about 1 (Svanberg; mma_rescale does it):
                        ///< a compliance of 1e4 has volume multipliers near 1e5, and unscaled the
                        ///< subproblems keep the constraint violated for good
    int mma_rescale;    ///< MMA and OC: 0 (default) take f as it is; 1 keep it about 1: the
                        ///< methods work with s f, s = 1 / |f| at the start and again whenever
                        ///< |s f| leaves [0.1, 10]. The stationarity test (stat <= opt_tol), the
                        ///< subproblems and mma_c then see f at about 1 all along, as Svanberg
                        ///< asks, where a fixed scale lets them drift with f: a compliance that
                        ///< falls 100x from its start makes opt_tol 100x looser (MMA "converged"
                        ///< while still descending) and one that grows 100x pushes the multipliers
                        ///< past mma_c. For objectives bounded away from 0 (compliance, mass); the
                        ///< reported f and mu are in the units of f.

    /* output */
    /** 0 silent, 1 iteration table (default), 2 debug. The table has the same columns for
     *  every method, the header repeated every 20 rows; "-" where a column does not apply:
     *  iter; mu (BFGS-SQP's penalty parameter, the weight rho of penalty and auglag, the
     *  first multiplier of MMA and OC); penalty (the merit the step decreases: mu f + v for
     *  BFGS-SQP, the penalty or augmented Lagrangian of penalty and auglag); f; ineq viol
     *  ||max(c_ineq, 0)||_1; eq viol ||c_eq||_1; stat (as ncvx_info.stat); step
     *  ||x_k - x_{k-1}||_2; ls (evaluations of the iteration); evals (so far); time (seconds
     *  since the solve started); ngrad (BFGS-SQP: gradients in the stationarity measure);
     *  fb (BFGS-SQP: GRANSO's fallback level of the accepted direction: 0-1 steering with H or
     *  with the identity, 2-3 the unsteered direction with H or the identity, 4 random).
     *  Then one summary line (ncvx_solve). */
    int print_level;
    int print_frequency; ///< print every k-th iteration, default 1
    FILE *log;           ///< NULL = stdout
} ncvx_settings;

/** Fill s with the defaults listed above. */
void ncvx_settings_default(ncvx_settings *s);

/** Result of a solve, with the same meaning for every method. x, f and the violations are
 *  those of the returned point (see ncvx_solve); when ncvx_solve returns an error (the
 *  starting point failed), term is NCVX_TERM_UNKNOWN, f, the violations, stat and mu are NaN
 *  and x is left as it was. Counts and times add up over the runs that a continuation state
 *  carried on (ncvx_state_import). */
typedef struct {
    ncvx_term term;       ///< why it stopped
    const char *term_msg; ///< ncvx_term_str(term)
    double f;             ///< objective at the returned (best) point
    double viol_ineq;     ///< ||max(c_ineq, 0)||_1 at it (l1 norm)
    double viol_eq;       ///< ||c_eq||_1 at it (l1 norm)
    double viol_ineq_max; ///< max_i max(c_i, 0) at it (BFGS-SQP's feasibility test:
                          ///< feasible means viol_ineq_max <= viol_ineq_tol; see ncvx_solve)
    double viol_eq_max;   ///< max_i |c_e,i| at it (feasible: viol_eq_max <= viol_eq_tol)
    double stat;          ///< last stationarity measure of the method (NaN if none); for
                          ///< BFGS-SQP ||sum_j (y_j0 grad f_j + sum_i y_ji grad c_ij)||_2 of
                          ///< the penalty function over the gradients sampled near x, with
                          ///< y from GRANSO's stationarity QP (GRANSO tests the same sum
                          ///< with H applied against opt_tol; with a badly scaled H that
                          ///< value can be 1e18 at a solution, so it is not reported)
    /** BFGS-SQP: KKT residual of the ORIGINAL problem at the last iterate,
     *  ||g + sum_i lam_i grad c_i||_2, where g is a convex combination of the gradients of f
     *  sampled within evaldist (the plain gradient where f is smooth; the radius is divided
     *  by 10 at each restart below) and lam the multipliers of the stationarity QP divided
     *  by mu (see ncvx_multipliers), one sign per equality across the samples (as in
     *  lam_i times a convex combination of the sampled grad c_i). A certificate that puts
     *  weight on samples other than x (a kink of f or c) and that x alone does not pass
     *  divides the radius by 10 and the run continues, down to evaldist / 1000; x is then
     *  within about that radius of a KKT point. Code 0 (STATIONARY)
     *  requires, besides stat <= opt_tol and feasibility (viol_*_max within viol_*_tol),
     *  kkt_stat <= kkt_tol max(1, ||grad f||_2) and kkt_comp <= kkt_tol max(1, |f|)
     *  (grad f at the last iterate; kkt_tol = 1e-6 by default). The multipliers come from
     *  the stationarity QP solved with H = I (the Euclidean metric) at candidate ends: with
     *  the BFGS H a residual along directions where H is tiny would go unseen.
     *  NaN for the other methods and before the first stationarity QP. */
    double kkt_stat;
    double kkt_comp;   ///< BFGS-SQP: complementarity max_i |lam_i c_i| over the inequalities
    int restarts;      ///< BFGS-SQP: restarts from H = I at points that are not KKT points: when
                       ///< stat <= opt_tol there (also restoring mu0, dividing the sampling
                       ///< radius by 10 and taking the next step along the gradient-sampling
                       ///< direction; at most 3 times, then NCVX_TERM_NOT_KKT) and after a
                       ///< bracketed line-search failure there (then along that direction)
    double mu;         ///< final penalty parameter
    int iters;         ///< iterations done
    long evals;        ///< function evaluations (values-only and with gradients)
    long grad_evals;   ///< evaluations that also computed gradients
    double setup_time; ///< seconds in ncvx_create
    double solve_time; ///< seconds in ncvx_solve (summed over continued runs, as evals)
    double eval_time;  ///< seconds spent inside the callback during ncvx_solve
} ncvx_info;

/* ---------------------------------------------------------------------------------------- */
/* BFGS-SQP: evaluations and memory                                                          */
/*
 * Evaluations. Each line-search trial point x + t d is first evaluated for VALUES ONLY
 * (grad_f, jac_ineq, jac_eq = NULL): the Armijo test needs the penalty value alone. Only where
 * the Armijo condition holds is the same point evaluated again WITH gradients, for the
 * curvature test; the accepted point is always such an evaluation. So an iteration whose
 * first trial is accepted costs one values-only plus one gradient evaluation (both counted in
 * ncvx_info.evals; grad_evals counts the second kind), and a rejected trial never costs a
 * gradient. The limited-memory H is applied to grad f and all constraint gradients at once
 * (compact representation, GEMMs); H G and the factorization of G'HG are reused across all
 * penalty-parameter trials of the steering QP within one iteration.
 *
 * Memory of BFGS-SQP in bytes (k = 1 + n_ineq + n_eq gradients per point, m =
 * limited_mem_size, terms independent of n, all O((k s)^2), left out):
 *   - point data: x, x_trial, best x, d, y, H s:                  8 * 6 n
 *   - gradients at x and at the trial point, H G:                 8 * 3 k n
 *   - inverse Hessian: full (m = 0) 8 n^2; limited 8 * 2 m n with double pairs, 4 * 2 m n
 *     with single pairs. lm_single = -1 (default) picks double if 16 m n <= lm_mem_max
 *     (default 1e9), else single: capped automatically at n m > 6.25e7 (n > 3.1e6 at m = 20).
 *   - gradient samples (stationarity): s copies of (x_j, G_j) and H G_j:
 *     8 (1 + 2k) n s when s > 1, 0 when s = 1 (the only sample is the current point itself),
 *     s = max(1, min(ngrad, floor(sample_mem_max / (8 (1 + 2k) n)), floor(400 / k))):
 *     capped automatically by sample_mem_max (default 250 MB), so at most 250 MB.
 * Total, limited memory: 8 (6 + 3k) n + (16 or 8) m n + 8 (1 + 2k) n [s > 1] s.
 * Example: n = 7e6, one constraint (k = 2), m = 20, default settings: s = 1 (one sample
 * needs 280 MB > 250 MB), 16 m n = 2.24 GB > 1 GB so the pairs are single: 8 * 12 n
 * = 672 MB + 8 m n = 1.12 GB, total 1.79 GB (< 2 GB). With lm_single = 0 the pairs alone
 * would take 2.24 GB. Up to n m = 6.25e7 (n = 3.1e6 at m = 20) the defaults keep double
 * pairs, and results there are those of lm_single = 0 exactly.
 */

typedef struct ncvx_solver ncvx_solver; ///< opaque

/** Validate p and s, copy them, allocate every workspace. *out = NULL on failure. */
ncvx_status ncvx_create(ncvx_solver **out, const ncvx_problem *p, const ncvx_settings *s);

/** Run the method from x[n] (in: x0; out: the best point found, by one rule for every
 *  method: a feasible point beats any infeasible one; feasible points are ranked by f, for
 *  BFGS-SQP by mu f + v with the mu in effect when the newer point was evaluated (within the
 *  tolerances a point further out has the lower f); infeasible points by the l1 violation
 *  v = viol_ineq + viol_eq, ties by f. Feasible means, as in each method's termination test,
 *  viol_ineq_max and viol_eq_max within viol_ineq_tol and viol_eq_tol for BFGS-SQP, and the
 *  l1 violations viol_ineq and viol_eq within them for the other methods). BFGS-SQP: with
 *  code 0 the last certified KKT point (after up to 10 more iterations that reduce its
 *  violation to 1e-3 of the tolerances, whatever ended them). Returns NCVX_OK when the run
 *  ended normally (see info->term), an error status otherwise (info as documented there). */
ncvx_status ncvx_solve(ncvx_solver *sv, double *x, ncvx_info *info);

/** Lagrange multipliers of BFGS-SQP at the last iterate: [n_ineq + nb + n_eq] doubles (nb
 *  folded finite bounds after the user's inequalities: see ncvx_problem.lower),
 *  inequalities first (lam_i >= 0), then equalities; the KKT conditions read
 *  g + sum_i lam_i grad c_i = 0 (residual in ncvx_info.kkt_stat). Taken from the
 *  stationarity QP (GRANSO's termination QP) and divided by mu; within [0, 1/mu] by the exact
 *  penalty. The pointer is owned by the solver and valid until the next ncvx_solve,
 *  ncvx_state_import or ncvx_destroy. NULL for the other methods, for a problem without
 *  constraints, or before the first solve. */
const double *ncvx_multipliers(const ncvx_solver *sv);

/** NULL-safe; frees everything ncvx_create allocated. */
void ncvx_destroy(ncvx_solver *sv);

/** Continuation state: everything needed to continue a run exactly (x, mu, the BFGS matrix or
 *  pairs, the gradient sample set, counters). ncvx_state_size() gives the number of doubles;
 *  ncvx_state_export() writes them into buf[size] after (or during, from the monitor) a solve;
 *  ncvx_state_import() loads them so that the next ncvx_solve continues from there (its x
 *  argument is then ignored on input). */
size_t ncvx_state_size(const ncvx_solver *sv);
ncvx_status ncvx_state_export(const ncvx_solver *sv, double *buf, size_t size);
ncvx_status ncvx_state_import(ncvx_solver *sv, const double *buf, size_t size);

/* ---------------------------------------------------------------------------------------- */
/* Dense convex QP (used by steering and stationarity; public for reuse).                   */

/** Minimize 0.5 x'Gx + g'x subject to Ce' x = ce0 (me equalities, columns of Ce[n x me],
 *  column-major) and Ci' x >= ci0 (mi inequalities, Ci[n x mi] column-major), G symmetric
 *  positive definite (or semidefinite: a tiny ridge is added, see ncvx_qp_factor), n x n
 *  column-major.
 *  Goldfarb-Idnani dual active-set method. work must hold ncvx_qp_work_size(n, me, mi)
 *  doubles, iwork ncvx_qp_iwork_size(n, me, mi) ints. On return x[n] is the solution and,
 *  if lambda is non-NULL, lambda[me + mi] the multipliers (equalities first; the KKT
 *  conditions read G x + g = Ce lambda_e + Ci lambda_i, lambda_i >= 0). Returns 0 on
 *  success, 1 if infeasible, 2 on numerical failure; *fval gets the objective if non-NULL.
 *  No allocation; the inputs are not modified. */
int ncvx_qp_solve(int n, const double *G, const double *g, int me, const double *Ce,
                  const double *ce0, int mi, const double *Ci, const double *ci0, double *x,
                  double *lambda, double *fval, double *work, int *iwork);
/** Convex QP min 0.5 y'Gy + g'y s.t. lo <= y <= hi and, if e != NULL, e'y = b, for a
 *  symmetric positive *semi*definite G (n x n, column-major, full storage; singular is fine):
 *  primal active-set method on the free variables, no regularization. Above 32 variables the
 *  Cholesky factor of the reduced Hessian is updated as variables enter and leave the free set
 *  (O(m^2) per change, m free variables; a dependent column gives a zero-curvature step to a
 *  bound); faces the updates cannot handle, and smaller QPs, take an eigen-decomposition of the
 *  reduced Hessian. lo[n] <= hi[n] must be finite. y[n] is in/out: with warm != 0
 *  the solve starts from y and status[n] (the result of a previous call, values clamped to the
 *  box); status[n] is out (0 free, 1 at lo, 2 at hi). *lambda_e (may be NULL) gets the
 *  multiplier of the equality (g + Gy - lambda_e e has the signs of the bound multipliers).
 *  work: ncvx_qp_box_work_size(n) doubles, iwork: ncvx_qp_box_iwork_size(n) ints; nothing is
 *  allocated. Returns 0 on success, 1 if the constraints are infeasible, 2 on failure
 *  (iteration limit, LAPACK failure, non-finite data). */
int ncvx_qp_box(int n, const double *G, const double *g, const double *lo, const double *hi,
                const double *e, double b, double *y, int *status, int warm, double *lambda_e,
                double *work, int *iwork);
/** Doubles of work needed by ncvx_qp_box. */
size_t ncvx_qp_box_work_size(int n);
/** Ints of iwork needed by ncvx_qp_box. */
size_t ncvx_qp_box_iwork_size(int n);
/** Doubles of work needed by ncvx_qp_solve / ncvx_qp_solve_factored (>= ncvx_qp_box_work_size). */
size_t ncvx_qp_work_size(int n, int me, int mi);
/** Ints of iwork needed by ncvx_qp_solve / ncvx_qp_solve_factored. */
size_t ncvx_qp_iwork_size(int n, int me, int mi);

/** Factor G[n x n] (column-major, symmetric positive semidefinite) for repeated solves with
 *  the same G: writes Rinv[n x n] (column-major, upper triangular) with G + rI = R'R,
 *  Rinv = R^-1, where the ridge r is 0 if G is numerically positive definite, else the
 *  smallest of 1e-14 * max(1, max diag(G)) * 100^k (k = 0..6) that makes the Cholesky
 *  factorization succeed. Returns 0, or 2 if even the largest ridge fails (G indefinite or
 *  non-finite). *ridge gets r if non-NULL. */
int ncvx_qp_factor(int n, const double *G, double *Rinv, double *ridge);

/** As ncvx_qp_solve, with G given through Rinv from ncvx_qp_factor (the steering QP changes
 *  only g between penalty-parameter trials, so one factorization serves them all). */
int ncvx_qp_solve_factored(int n, const double *Rinv, const double *g, int me, const double *Ce,
                           const double *ce0, int mi, const double *Ci, const double *ci0,
                           double *x, double *lambda, double *fval, double *work, int *iwork);

/* ---------------------------------------------------------------------------------------- */
/* Projections topology optimization needs (for NCVX_PROJGRAD; also usable directly).      */

/** Clamp x[n] into [lower, upper] (either may be NULL = unbounded). */
void ncvx_project_box(double *x, int n, const double *lower, const double *upper);

/** Project x[n] onto {lo <= x <= hi, mean(x) = V} (equality = 1) or mean(x) <= V (0), with
 *  scalar bounds lo < hi, by bisection on the shift. Returns 0, or -1 if infeasible. */
int ncvx_project_box_mean(double *x, int n, double lo, double hi, double V, int equality);

#ifdef __cplusplus
}
#endif

#endif
