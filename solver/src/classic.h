// solver/src/classic.h: internals of the classical methods (lbfgs, penalty, auglag, projgrad,
// mma, oc): the common workspace, the table of functions of a method, the private states
// shared by two methods, the L-BFGS engine, state I/O.
#ifndef NCVX_CLASSIC_H
#define NCVX_CLASSIC_H

#include <stddef.h>

#include "ncvx.h"
#include "ncvx_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Contract with solver.c (every method other than NCVX_BFGS_SQP goes through these).          */

typedef struct ncvx_classic ncvx_classic;
typedef struct ncvx_classic_method ncvx_classic_method;

/** Validate the problem and the settings fields of the classical methods (the message names
 *  the bad field), copy them and allocate every workspace. *out = NULL on failure. */
ncvx_status ncvx_classic_create(ncvx_classic **out, const ncvx_problem *p, const ncvx_settings *s);
/** Run the method from x[n] (in: x0, ignored after a state import; out: best point). Fills
 *  info completely. Returns NCVX_OK when the run ended normally (reason in info->term). */
ncvx_status ncvx_classic_solve(ncvx_classic *w, double *x, ncvx_info *info);
/** NULL-safe; also frees a half-built workspace. */
void ncvx_classic_destroy(ncvx_classic *w);
/** Number of doubles of the continuation state. */
size_t ncvx_classic_state_size(const ncvx_classic *w);
/** Write the continuation state into buf[size] (size >= ncvx_classic_state_size). */
ncvx_status ncvx_classic_state_export(const ncvx_classic *w, double *buf, size_t size);
/** Load a state written by ncvx_classic_state_export for the same problem and method; the
 *  next ncvx_classic_solve continues from it exactly. */
ncvx_status ncvx_classic_state_import(ncvx_classic *w, const double *buf, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                       */

/* NCVX_FAIL (report "ncvx: func: message" and return the status) and ncvx_now() are the
 * library's, from ncvx_internal.h. */

/* ------------------------------------------------------------------------------------------ */
/* Counted evaluation                                                                           */

/* NCVX_EV_* codes: ncvx_internal.h */

/* ------------------------------------------------------------------------------------------ */
/* L-BFGS engine (method lbfgs, inner solver of penalty and auglag)                             */

/** Value and gradient of the function the engine minimizes, at x[n]. aux[naux] receives
 *  whatever the caller needs kept together with the point (raw objective, constraints...).
 *  Returns an NCVX_EV_* code. */
typedef int (*ncvx_lbfgs_fg)(void *ctx, const double *x, double *f, double *g, double *aux);

enum {
    NCVX_LS_OK = 0,        ///< a step was taken (strong Wolfe, or sufficient decrease at least)
    NCVX_LS_FAIL = 1,      ///< no step with sufficient decrease found
    NCVX_LS_UNBOUNDED = 2, ///< f went to -inf along the direction
    NCVX_LS_CALLBACK = 3,  ///< the callback failed
    NCVX_LS_BUDGET = 4,    ///< evaluation budget exhausted (a decreasing point was kept, if any)
};

/** One point with its value, gradient and aux data (the engine swaps slots, never copies). */
typedef struct {
    double *x, *g, *aux;
    double f;
    double ginf; ///< ||g||_inf, computed with the line-search slope (valid once accepted)
} ncvx_lbfgs_pt;

typedef struct {
    int n, m;          ///< dimension, memory
    size_t naux;       ///< aux doubles per point
    int single;        ///< pairs stored in single precision (Sf, Yf), else double (S, Y)
    double *S, *Y;     ///< [(m+1)*n] double pairs by slot (m + 1 slots: one is free)
    float *Sf, *Yf;    ///< [(m+1)*n] single-precision pairs by slot
    int *ord;          ///< [m+1] slots: ord[0 .. count-1] the pairs oldest to newest, then free
    double *rho;       ///< [m+1] 1/(y's) by slot, of the stored (rounded) vectors
    double *alpha;     ///< [m+1] two-loop scratch
    double *SY, *YY;   ///< [(m+1)^2] by slot: SY[i*(m+1)+j] = s_i'y_j, YY[i*(m+1)+j] = y_i'y_j
    double *cw;        ///< [(m+1)(4 + block)] scratch of the compact representation
    int *stale;        ///< [2(m+1)] 1 if the slot's column of SY and YY is still to compute; list
    int count;         ///< pairs stored
    ncvx_lbfgs_pt cur; ///< current iterate
    ncvx_lbfgs_pt tr;  ///< line-search trial
    ncvx_lbfgs_pt lo;  ///< best line-search point so far
    double *d;         ///< [n] search direction
    double c1, c2;     ///< Wolfe constants
    int ls_maxit;      ///< evaluations per line search
    int ls_evals;      ///< evaluations spent by the last step
    double step;       ///< ||x_k - x_{k-1}||_2 of the last step
} ncvx_lbfgs;

/** Allocate for dimension n, m pairs, naux aux doubles per point, pairs in single precision
 *  if single (products and sums stay in double). Returns 0 or -1 (no memory). */
int ncvx_lbfgs_alloc(ncvx_lbfgs *e, int n, int m, size_t naux, int single);
/** The engine's pair precision for settings.lm_single = -1: 1 (single) if 16 m n bytes exceed
 *  NCVX_LBFGS_SINGLE_BYTES (ncvx.h) or lm_mem_max, else 0. */
int ncvx_lbfgs_auto_single(int n, int m, double lm_mem_max);
/** Store the pair (s, y) as a step would (rounded to the pair precision, kept if s'y >
 *  eps y'y of the stored vectors); returns 1 if kept. Tests and benchmarks. */
int ncvx_lbfgs_push(ncvx_lbfgs *e, const double *s, const double *y);
void ncvx_lbfgs_free(ncvx_lbfgs *e);
/** Forget the stored pairs (the next direction is steepest descent). */
void ncvx_lbfgs_reset(ncvx_lbfgs *e);
/** out[n] = H v, H the L-BFGS inverse Hessian of the stored pairs with H0 = gamma I, gamma =
 *  s'y/y'y of the newest pair, by the compact representation (Byrd, Nocedal & Schnabel 1994,
 *  eq. 3.1): two passes over the pairs instead of the two-loop recursion's four. */
void ncvx_lbfgs_apply(ncvx_lbfgs *e, const double *v, double *out);
/** The same H v by the two-loop recursion (Nocedal & Wright Alg. 7.4, eq. 7.20): the reference
 *  of the compact form in tests and benchmarks. */
void ncvx_lbfgs_apply_twoloop(ncvx_lbfgs *e, const double *v, double *out);
/** One iteration from e->cur: direction, line search, pair update. Returns an NCVX_LS_* code. */
int ncvx_lbfgs_step(ncvx_lbfgs *e, ncvx_lbfgs_fg fg, void *ctx);

/* ------------------------------------------------------------------------------------------ */
/* Continuation state I/O: the walker ncvx_sw of ncvx_internal.h serves size, export, import.  */

/** Walk the engine state: current point, pairs, ring indices. */
void ncvx_lbfgs_state(ncvx_lbfgs *e, ncvx_sw *c);
/** 1 if the ring indices of an imported engine state are in range. */
int ncvx_lbfgs_ring_ok(const ncvx_lbfgs *e);

/* ------------------------------------------------------------------------------------------ */
/* The workspace                                                                                */

struct ncvx_classic {
    ncvx_problem p;
    ncvx_settings s;
    int n, mi, me;
    FILE *log;
    const ncvx_classic_method *m; ///< the method's table of functions
    void *ms;                     ///< its private state (m->work_size bytes, zeroed)

    /* raw evaluation buffers: the callback writes here */
    double ef;
    double *eg;  ///< [n]
    double *eci; ///< [mi]
    double *eJi; ///< [mi*n]
    double *ece; ///< [me]
    double *eJe; ///< [me*n]

    /* the counted evaluation: evals, grad_evals, eval_time, budgets, best point */
    ncvx_evaluator ev;

    /* counters and clocks */
    int iters;
    double setup_time;
    double t0;       ///< monotonic clock at the start of this solve call
    double elapsed0; ///< seconds spent in earlier (resumed-from) runs
    int print_rows;

    int resume; ///< a state was imported: the next solve continues it

    /* shared iteration scalars */
    double fprev, last_step, stat, mu;
    int ls_evals;
};

/* ------------------------------------------------------------------------------------------ */
/* A method: a table of functions over its own private state w->ms                             */

struct ncvx_classic_method {
    const char *name;
    /** Bytes of the private state; classic.c allocates them zeroed into w->ms. */
    size_t (*work_size)(void);
    /** Check the method's settings and what it needs of the problem (the message names the
     *  bad field); the settings every method shares are checked by classic.c. */
    ncvx_status (*check)(const ncvx_problem *p, const ncvx_settings *s);
    /** Allocate the arrays of w->ms (every one, so that solve allocates nothing). */
    ncvx_status (*init)(ncvx_classic *w);
    /** Free them; also after a failed init (the state was zeroed). */
    void (*fini)(ncvx_classic *w);
    /** Run from x (in: x0 unless w->resume; out: untouched, classic.c copies the best point);
     *  NCVX_OK with *term set, or an error at the starting point. */
    ncvx_status (*solve)(ncvx_classic *w, double *x, int *term);
    /** Walk the continuation state of w->ms (after the common part). */
    void (*state_walk)(ncvx_classic *w, ncvx_sw *c);
    /** After an import: 1 if the state read is consistent (NULL: always). */
    int (*state_ok)(const ncvx_classic *w);
};

extern const ncvx_classic_method ncvx_method_lbfgs;    ///< lbfgs.c
extern const ncvx_classic_method ncvx_method_penalty;  ///< penalty.c
extern const ncvx_classic_method ncvx_method_auglag;   ///< penalty.c (merit in auglag.c)
extern const ncvx_classic_method ncvx_method_projgrad; ///< projgrad.c
extern const ncvx_classic_method ncvx_method_mma;      ///< mma.c
extern const ncvx_classic_method ncvx_method_oc;       ///< oc.c

/** Inside a check function: report settings.field and return when cond holds. */
#define NCVX_BAD_SETTING(cond, field)                                                              \
    if (cond) return NCVX_FAIL(NCVX_ERR_SETTINGS, "settings.%s is out of range", field)

#define NCVX_LBFGS_WOLFE2 0.9 ///< curvature constant of the L-BFGS line search (SciPy)

/** Private state of penalty and auglag (penalty.c; auglag.c computes the merit from it). */
typedef struct {
    int auglag;     ///< 1: augmented Lagrangian merit and multiplier updates; 0: penalty
    ncvx_lbfgs eng; ///< the inner solver
    double rho, infeas_prev;
    double smooth; ///< smoothing width of the exact penalty (0 for the quadratic one)
    int outer, inner_k, inner_flag, idle_rounds;
    double *lam; ///< [me] equality multipliers (auglag)
    double *muI; ///< [mi] inequality multipliers (auglag)
    double *wts; ///< [mi + me] merit weights of the constraint gradients
} ncvx_penalty_st;

/** Private state of mma and oc (mma.c, oc.c): the current point with its values and
 *  gradients, the multipliers, the box and the subproblem workspace. */
typedef struct {
    double *mx, *mg, *mci, *mJ; ///< [n], [n] (the gradient of fs f), [mi], [mi*n]
    double mf;
    double *muI;                       ///< [mi] multipliers
    double *tmp;                       ///< [n] scratch
    double *xold1, *xold2, *low, *upp; ///< [n] MMA history and asymptotes (NULL for OC)
    double *lo, *hi;                   ///< [n] bounds
    double *mw;                        ///< subproblem workspace
    size_t mw_size;
    double move; ///< move limit in effect (method default when s.move <= 0)
    double fs;   ///< factor of f in the methods: 1 at the start of a solve, then mma_rescale's
} ncvx_mma_st;

/** Allocate the L-BFGS engine e for w (naux aux doubles per point) with the Wolfe constants
 *  and the line-search length of the settings. */
ncvx_status ncvx_classic_engine_init(ncvx_classic *w, ncvx_lbfgs *e, size_t naux);
/** mma and oc: allocate ncvx_mma_st (subproblem workspace of mw_size doubles, touched now)
 *  and copy the bounds; move is the move limit when settings.move <= 0. */
ncvx_status ncvx_mma_init(ncvx_classic *w, size_t mw_size, double move);
/** Free what ncvx_mma_init and the MMA history allocated. */
void ncvx_mma_fini(ncvx_classic *w);
/** The settings and problem checks shared by mma and oc. */
ncvx_status ncvx_mma_check(const ncvx_problem *p, const ncvx_settings *s);
/** MMA's asymptote update of one variable (also a white-box entry for tests) at outer iteration >=
 * 3 (its values x, xold1, xold2, box width rng, factors incr, decr; *low, *upp in and out). */
void ncvx_mma_asymptotes(double x, double xold1, double xold2, double rng, double incr, double decr,
                         double *low, double *upp);
/** White-box entry for tests: the MMA subproblem with asymptotes low, upp [n], bounds alfa,
 *  beta [n], the approximation p0, q0 [n], P, Q [m*n], b [m] and c_i = c, solved by subsolv's
 *  primal-dual interior point (dual = 0, any m) or through its dual (dual = 1,
 *  m <= 8; lam is the first guess). x [n] and lam [m] out. Returns 0, or -1 (no memory,
 *  or dual with m > 8). */
int ncvx_mma_subsolve(int n, int m, const double *low, const double *upp, const double *alfa,
                      const double *beta, const double *p0, const double *q0, const double *P,
                      const double *Q, const double *b, double c, int dual, double *x, double *lam);

/* shared helpers (classic.c) */
double ncvx_classic_elapsed(const ncvx_classic *w);
/** Evaluate at x: f into w->ef, gradients into w->eg/eJi/eJe if grad, constraints always.
 *  Counts, times, checks finiteness and updates the best point. Returns an NCVX_EV_* code. */
int ncvx_classic_eval(ncvx_classic *w, const double *x, int grad);
/** ||a||_inf of a[n]. */
double ncvx_norm_inf(const double *a, int n);
/** Termination by maxit, max_evals or clock (-1 if none applies). */
int ncvx_classic_limits(const ncvx_classic *w);
enum {
    NCVX_STEP_TAKEN = -1,  ///< x moved and the run goes on
    NCVX_STEP_FAILED = -2, ///< the line search failed, x did not move, the caller decides
};
/** One iteration of the L-BFGS engine e on fg (method lbfgs; inner solver of penalty and
 *  auglag) and what its line-search outcome means for the run. When x moved, the iteration
 *  counts in w->iters, and w->last_step and w->stat = ||grad||_inf are updated. Returns a
 * termination code (NCVX_TERM_*) when the run ends, else NCVX_STEP_TAKEN; a failed line search
 * returns ls_fail, which is a termination code (lbfgs: the run ends) or NCVX_STEP_FAILED (penalty,
 * auglag: the inner round ends instead). */
int ncvx_classic_lbfgs_step(ncvx_classic *w, ncvx_lbfgs *e, ncvx_lbfgs_fg fg, int ls_fail);
/** Print the row of one iterate (merit: the function the step decreases, NaN if it is f
 *  itself) and call the monitor; returns 1 if the monitor halts. */
int ncvx_classic_iterate(ncvx_classic *w, const double *x, double f, double merit, const double *ci,
                         const double *ce);
/** Fill info and copy the best point into x. */
void ncvx_classic_finish(ncvx_classic *w, double *x, ncvx_info *info, int term);

/* helpers shared by two methods */
/** g[n] = grad f + sum_i wi(i) grad c_ineq_i + sum_e we(e) grad c_eq_e from aux = [f, c_ineq,
 *  c_eq, grad f, jac_ineq, jac_eq] (penalty.c); the weights come from a callback. */
void ncvx_merit_grad(const ncvx_classic *w, const double *aux, const double *wts, double *g);
/** Augmented Lagrangian (PHR) merit value and gradient at aux (auglag.c); uses rho, lam and
 *  muI of the ncvx_penalty_st and scratch of mi + me weights in wts. */
void ncvx_auglag_merit(const ncvx_classic *w, const double *aux, double *phi, double *g,
                       double *wts);
/** ||max(c_ineq, -mu/rho)||_inf (complementarity-feasibility of the inequalities). */
double ncvx_auglag_compl(const ncvx_classic *w, const double *aux);
/** First-order multiplier update at aux; returns the infeasibility measure
 *  max(||c_eq||_inf, ||max(c_ineq, -mu/rho)||_inf) measured before the update. */
double ncvx_auglag_update(ncvx_classic *w, const double *aux);
/** MMA/OC: propose the next point xnew[n] from the current one (ncvx_mma_st). 0 or -1. */
typedef int (*ncvx_mma_update_fn)(ncvx_classic *w, double *xnew);
/** The outer loop shared by MMA and OC (mma.c). */
ncvx_status ncvx_mma_loop(ncvx_classic *w, double *x, int *term, ncvx_mma_update_fn update);
/** Make the last evaluation (at x) the current MMA/OC point (and rescale: settings.mma_rescale). */
void ncvx_mma_keep(ncvx_classic *w, const double *x);
/** KKT residual at the current MMA/OC point with its multipliers muI. */
double ncvx_mma_kkt(const ncvx_classic *w);
/** Walk the state shared by MMA and OC (the current point, its data, the multipliers). */
void ncvx_mma_state(ncvx_classic *w, ncvx_sw *c);

#endif
