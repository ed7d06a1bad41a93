// solver/src/ncvx_internal.h: internals of the BFGS-SQP core (inverse-Hessian approximations,
// weak Wolfe line search, the BFGS-SQP workspace) and of the dispatch in solver.c.
#ifndef NCVX_INTERNAL_H
#define NCVX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ncvx.h"

/** Print "ncvx: func: message" to stderr and return st. */
ncvx_status ncvx_report(ncvx_status st, const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define NCVX_FAIL(st, ...) ncvx_report((st), __func__, __VA_ARGS__)

/** Inside a create function with a local `ncvx_status st` and a `fail:` label: calloc count
 *  elements (at least one) into ptr, or report NCVX_ERR_NOMEM naming the array and jump. */
#define NCVX_ALLOC(ptr, count)                                                                     \
    do {                                                                                           \
        size_t cnt_ = (size_t)(count);                                                             \
        (ptr) = calloc(cnt_ ? cnt_ : 1, sizeof *(ptr));                                            \
        if (!(ptr)) {                                                                              \
            st = NCVX_FAIL(NCVX_ERR_NOMEM, "%s[%zu]", #ptr, cnt_);                                 \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/** Monotonic clock in seconds. */
double ncvx_now(void);

/** Constraint violations ||max(c, 0)||_1 and ||c||_1 of c[m]. */
double ncvx_viol_ineq(const double *c, int m);
double ncvx_viol_eq(const double *c, int m);

/** Largest violations max_i max(c_i, 0) and max_i |c_i| of c[m] (the feasibility test). */
double ncvx_viol_ineq_max(const double *c, int m);
double ncvx_viol_eq_max(const double *c, int m);

/* ------------------------------------------------------------------------------------------ */
/* The counted evaluation of every method (evaluate.c)                                          */

enum {
    NCVX_EV_OK = 0,     ///< evaluated, every requested value finite
    NCVX_EV_FAIL = 1,   ///< the callback returned nonzero
    NCVX_EV_BUDGET = 2, ///< max_evals reached: the callback was NOT called
    NCVX_EV_NONFIN = 3, ///< evaluated, but a requested value is NaN or infinite
};

/** Counts, times and checks every evaluation of a run, folds finite bounds in as inequalities
 *  (BFGS-SQP) and keeps the best point. One rule for every method: a point is feasible when
 *  its violations are within viol_ineq_tol and viol_eq_tol, in the max norm (BFGS-SQP: the
 *  norm of its termination test, GRANSO's) or, with feas_l1, in the l1 norm (the classical
 *  methods: with the max norm, points whose l1 violation exceeds the tolerance would win by
 *  their lower f: HS023, HS024, HS039, HS045 of the test set then end unsolved by penalty,
 *  HS039 by auglag, with the same iterations); a feasible point beats
 *  any infeasible one; feasible points are ranked by rank_f f + rank_v v (v the l1 violation;
 *  BFGS-SQP sets rank_f = mu, rank_v = 1 before each evaluation: its penalty function; the
 *  other methods keep rank_f = 1, rank_v = 0: f alone); infeasible points by v, ties by f.
 *  The best point is decided by the values: a non-finite gradient does not disqualify it. */
typedef struct {
    ncvx_eval_fn eval;
    void *user;
    const double *lower, *upper; ///< [n] the problem's bounds (borrowed)
    int n, mi, me;               ///< mi counts the folded bounds (after the callback's n_ineq)
    int nb;                      ///< finite bounds folded in as inequalities (0 unless asked)
    int *bidx;                   ///< [nb] variable of each folded bound
    int *bsg;                    ///< [nb] -1: lower_i - x_i <= 0, +1: x_i - upper_i <= 0
    long max_evals;              ///< settings.max_evals (0 = none)
    int maxit;                   ///< settings.maxit
    double maxclocktime;         ///< settings.maxclocktime (0 = none)
    double viol_ineq_tol, viol_eq_tol;
    int feas_l1;           ///< feasibility in the l1 norm (else the max norm)
    double rank_f, rank_v; ///< weights of the feasible points' ranking (see above)
    long evals, grad_evals;
    double eval_time; ///< seconds inside the callback
    /* best point */
    double *xbest;                ///< [n]
    double fbest, vibest, vebest; ///< f and l1 violations there
    double vimax, vemax;          ///< max-norm violations there
    int best_kind;                ///< 0 none, 1 infeasible, 2 feasible
} ncvx_evaluator;

/** Copy what the evaluation needs from p and s and allocate; fold_bounds: fold every finite
 *  bound of p in as an inequality. On failure everything is freed. */
ncvx_status ncvx_evaluator_init(ncvx_evaluator *e, const ncvx_problem *p, const ncvx_settings *s,
                                int fold_bounds);
void ncvx_evaluator_free(ncvx_evaluator *e);
/** A fresh run: no evaluations, no best point. */
void ncvx_evaluator_reset(ncvx_evaluator *e);
/** Evaluate at x: f, ci[mi], ce[me] always; the gradient g[n] and the Jacobians Ji[mi*n],
 *  Je[me*n] (rows of n) when g is non-NULL. Counts, times, checks the budget (before the call)
 *  and finiteness, and updates the best point. Returns an NCVX_EV_* code. */
int ncvx_evaluator_eval(ncvx_evaluator *e, const double *x, double *f, double *g, double *ci,
                        double *Ji, double *ce, double *Je);
/** 1 if ci[mi], ce[me] meet the feasibility test of the best-point rule. */
int ncvx_evaluator_feasible(const ncvx_evaluator *e, const double *ci, const double *ce);
/** The budget that ends a run after an iteration, in this order: max_evals (NCVX_TERM_MAXEVAL),
 *  maxclocktime (NCVX_TERM_CLOCK, elapsed in seconds), maxit (NCVX_TERM_MAXIT); -1 if none. */
int ncvx_evaluator_budget(const ncvx_evaluator *e, int iters, double elapsed);

/** One row of the iteration table, the same columns for every method (documented at
 *  ncvx_settings.print_level). NaN prints "-", as do ngrad < 0 and fallback < 0. */
typedef struct {
    int iter;
    double mu;        ///< BFGS-SQP's penalty parameter, penalty/auglag's rho, MMA/OC's multiplier
    double penalty;   ///< the merit the step decreases (BFGS-SQP mu f + v; penalty, auglag)
    double f;         ///< objective
    double viol_ineq; ///< ||max(c_ineq, 0)||_1
    double viol_eq;   ///< ||c_eq||_1
    double stat;      ///< the method's stationarity measure (ncvx_info.stat)
    double step;      ///< ||x_k - x_{k-1}||_2
    int ls_evals;     ///< evaluations of this iteration's line search
    long evals;       ///< evaluations so far
    double time;      ///< seconds since the solve started
    int ngrad;        ///< BFGS-SQP: gradients in the stationarity measure
    int fallback;     ///< BFGS-SQP: fallback level of the accepted direction
} ncvx_row;

/** Print one row into f, preceded by the header every 20 rows (*rows counts the rows printed). */
void ncvx_table_row(FILE *f, int *rows, const ncvx_row *r);

/** The part of ncvx_info every method fills the same way: term and term_msg; x, f and the
 *  violations of the best point (x == NULL or no best point: f and the violations NaN and x
 *  left as it is); evals, grad_evals, eval_time; stat, kkt_stat, kkt_comp and mu NaN, the
 *  other fields 0, for the method to set. */
void ncvx_info_fill(ncvx_info *info, const ncvx_evaluator *e, double *x, ncvx_term term);
/** The one summary line after the table: method, reason, code, f, violations (l1), the KKT
 *  residual where the method computes it, iterations, evaluations. */
void ncvx_info_print(FILE *f, ncvx_method m, const ncvx_info *info);

/* ------------------------------------------------------------------------------------------ */
/* Continuation-state walker: one routine serves size (mode 0), export (1) and import (2).     */

typedef struct {
    double *buf;
    size_t pos;
    int mode;
} ncvx_sw;

static inline void ncvx_sw_a(ncvx_sw *c, double *a, size_t len)
{
    if (len && c->mode == 1)
        memcpy(c->buf + c->pos, a, len * sizeof *a);
    else if (len && c->mode == 2)
        memcpy(a, c->buf + c->pos, len * sizeof *a);
    c->pos += len;
}
static inline void ncvx_sw_d(ncvx_sw *c, double *v)
{
    ncvx_sw_a(c, v, 1);
}
static inline void ncvx_sw_i(ncvx_sw *c, int *v)
{
    double d = (double)*v;
    ncvx_sw_a(c, &d, 1);
    if (c->mode == 2) *v = (int)d;
}
static inline void ncvx_sw_l(ncvx_sw *c, long *v)
{
    double d = (double)*v;
    ncvx_sw_a(c, &d, 1);
    if (c->mode == 2) *v = (long)d;
}
static inline void ncvx_sw_u64(ncvx_sw *c, uint64_t *v)
{
    double d[2] = {(double)(*v >> 32), (double)(*v & 0xffffffffu)};
    ncvx_sw_a(c, d, 2);
    if (c->mode == 2) *v = ((uint64_t)d[0] << 32) | (uint64_t)d[1];
}

/* ------------------------------------------------------------------------------------------ */
/* Inverse-Hessian approximation H (hessian.c)                                                  */

typedef struct {
    int n;          ///< dimension
    int m;          ///< 0 = full (dense n x n), else the number of stored pairs
    int kmax;       ///< most columns applied at once
    int scaleH0;    ///< scale H0 by s'y / y'y (full: at the first update; limited: every update)
    int scaled;     ///< full memory: the first-update scaling was done
    double gamma;   ///< limited memory: H0 = gamma I
    double *H;      ///< [n*n] full memory
    double *S, *Y;  ///< [n*m] limited memory, column slot j = pair stored there
    int single;     ///< limited memory: pairs stored in single precision (Sf, Yf)
    float *Sf, *Yf; ///< [n*m] single-precision pairs
    double *cb;     ///< [2 * NCVX_HESS_BLOCK * m] row block of S and Y converted to double
    double *SY;     ///< [m*m] SY[i + m*j] = s_i' y_j over storage slots
    double *YY;     ///< [m*m] y_i' y_j
    int head;       ///< next slot to write
    int count;      ///< pairs stored
    long updates;   ///< accepted updates
    long skipped;   ///< rejected update requests (s'y <= 0 or non-finite)
    double *wk;     ///< small workspace
    int *ord;       ///< [m] chronological order -> slot
} ncvx_hess;

/** Allocate for dimension n, memory m (0 = full), up to kmax columns per apply, pairs in single
 *  precision if single (limited memory only; products are accumulated in double block by
 *  block, and the small matrices are formed from the rounded pairs, so the compact form is
 *  exactly the inverse BFGS matrix of the stored pairs). H = I.
 *  Returns 0 or -1 (out of memory). */
int ncvx_hess_init(ncvx_hess *h, int n, int m, int kmax, int scaleH0, int single);
/** The pair precision for settings.lm_single = -1: 1 (single) if m > 0 and the double pairs,
 *  16 m n bytes, exceed lm_mem_max, else 0 (double). */
int ncvx_hess_auto_single(int n, int m, double lm_mem_max);
/** Rows per block when single-precision pairs are converted for the GEMMs. */
#define NCVX_HESS_BLOCK 2048
void ncvx_hess_free(ncvx_hess *h);
/** Write every page of the pair storage once (first-touch faults at setup, not in solve). */
void ncvx_hess_touch(ncvx_hess *h);
/** Back to H = I (no pairs, no scaling). */
void ncvx_hess_reset(ncvx_hess *h);
/** HV[n x k] = H V[n x k] (column-major, leading dimension n); HV must not alias V; k <= kmax.
 *  Limited memory uses the compact representation (Byrd, Nocedal, Schnabel 1994, eq. 3.2 for
 *  H): four GEMMs with the stored pairs for all k columns at once. */
void ncvx_hess_apply(ncvx_hess *h, int k, const double *V, double *HV);
/** BFGS update with the pair (s, y), sty = s'y. Returns 0 (updated), 2 (s'y <= 0: skipped),
 *  3 (non-finite: skipped). */
int ncvx_hess_update(ncvx_hess *h, const double *s, const double *y, double sty);
/** Walk the state (H or the pairs). */
void ncvx_hess_state(ncvx_hess *h, ncvx_sw *c);

/* ------------------------------------------------------------------------------------------ */
/* Weak Wolfe line search (linesearch.c), Lewis-Overton bracketing/bisection as in GRANSO.     */

enum {
    NCVX_LSE_OK = 0,     ///< evaluated, finite
    NCVX_LSE_NONFIN = 1, ///< evaluated, a requested value is NaN/Inf (step too long)
    NCVX_LSE_ABORT = 2,  ///< callback failure or evaluation budget: stop the solve
};

/** Evaluate the merit function at x0 + t d. grad = 0: value only; grad = 1: value and the
 *  directional derivative *gtd = grad phi(x0 + t d)' d. *quit = 1 if the point is feasible
 *  with f <= fvalquit. Returns an NCVX_LSE_* code. */
typedef int (*ncvx_ls_eval_fn)(void *ctx, double t, int grad, double *phi, double *gtd, int *quit);

typedef struct {
    double phi0;     ///< merit value at x0
    double g0;       ///< directional derivative at x0 (< 0)
    double xx;       ///< x0'x0
    double xd;       ///< x0'd
    double dd;       ///< d'd
    double c1, c2;   ///< Armijo and curvature constants
    double t0;       ///< initial step
    double step_tol; ///< the bracket [alpha, beta] is shorter than step_tol ||x||/||d||: stop
    int maxit;       ///< evaluations (0 = unbounded)
    int backtrack;   ///< 1 = Armijo backtracking only
} ncvx_ls_param;

typedef struct {
    double alpha; ///< accepted step (valid when fail == 0)
    double phi;   ///< merit value there
    int fail;     ///< 0 ok, 1 bracketed but no weak Wolfe point, 2 never bracketed, 3 abort
    int evals;    ///< callback evaluations spent (values-only and gradient ones)
} ncvx_ls_result;

/** Run the line search. On success the last evaluation made was the gradient evaluation at
 *  the accepted step, so the caller's trial buffers hold that point. */
ncvx_ls_result ncvx_linesearch_wolfe(const ncvx_ls_param *p, ncvx_ls_eval_fn fn, void *ctx);

/* ------------------------------------------------------------------------------------------ */
/* BFGS-SQP (bfgssqp.c)                                                                         */

typedef struct ncvx_sqp ncvx_sqp;

/** Validate (the caller validated the settings), copy, allocate. *out = NULL on failure. */
ncvx_status ncvx_sqp_create(ncvx_sqp **out, const ncvx_problem *p, const ncvx_settings *s);
ncvx_status ncvx_sqp_solve(ncvx_sqp *w, double *x, ncvx_info *info);
void ncvx_sqp_destroy(ncvx_sqp *w);
size_t ncvx_sqp_state_size(const ncvx_sqp *w);
ncvx_status ncvx_sqp_state_export(const ncvx_sqp *w, double *buf, size_t size);
ncvx_status ncvx_sqp_state_import(ncvx_sqp *w, const double *buf, size_t size);
/** Number of gradient samples kept (after the sample_mem_max and QP-size caps). */
int ncvx_sqp_nsamples(const ncvx_sqp *w);
/** Multipliers [n_ineq + n_eq] of the last stationarity QP (NULL before any solve). */
const double *ncvx_sqp_multipliers(const ncvx_sqp *w);
/** 1 if the L-BFGS pairs are stored in single precision (after the lm_single = -1 rule). */
int ncvx_sqp_lm_single(const ncvx_sqp *w);

/** Largest stationarity-QP dimension (samples x (1 + n_ineq + n_eq)); caps the samples kept. */
#define NCVX_STAT_QP_MAX 400

#endif
