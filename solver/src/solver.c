// solver/src/solver.c: settings defaults and validation, status/term/method strings, and the
// dispatch of create/solve/destroy/state to BFGS-SQP (bfgssqp.c) or the classical methods.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classic.h"
#include "ncvx_internal.h"

/* defaults (PyGRANSO's where the name is PyGRANSO's) */
#define DEF_MAXIT 1000
#define DEF_OPT_TOL 1e-8
#define DEF_KKT_TOL 1e-6 ///< KKT certificate of code 0 (relative, see ncvx.h)
#define DEF_STEP_TOL 1e-12
#define DEF_VIOL_TOL 1e-6
#define DEF_BFGS_DAMPING 1e-4
#define DEF_EVALDIST 1e-4
#define DEF_SAMPLE_MEM 2.5e8
#define DEF_LM_MEM 1e9 ///< double L-BFGS pairs up to 1 GB (n m <= 6.25e7), then single
#define DEF_STEER_MARGIN 1e-6
#define DEF_STEER_MAXIT 10
#define DEF_STEER_C_VIOL 0.1
#define DEF_STEER_C_MU 0.9
#define DEF_RANDOM_ATTEMPTS 5
#define DEF_WOLFE1 1e-4
#define DEF_WOLFE2 0.5

struct ncvx_solver {
    ncvx_method method;
    ncvx_sqp *sqp;
    ncvx_classic *classic;
};

ncvx_status ncvx_report(ncvx_status st, const char *func, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ncvx: %s: ", func);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return st;
}

double ncvx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ncvx_viol_ineq(const double *c, int m)
{
    double v = 0;
    for (int i = 0; i < m; i++)
        v += c[i] > 0 ? c[i] : 0;
    return v;
}

double ncvx_viol_eq(const double *c, int m)
{
    double v = 0;
    for (int i = 0; i < m; i++)
        v += fabs(c[i]);
    return v;
}

const char *ncvx_status_str(ncvx_status st)
{
    switch (st) {
    case NCVX_OK:
        return "ok";
    case NCVX_ERR_NOMEM:
        return "out of memory";
    case NCVX_ERR_INVALID:
        return "invalid argument";
    case NCVX_ERR_SETTINGS:
        return "invalid settings";
    case NCVX_ERR_CALLBACK:
        return "evaluation callback failed at the starting point";
    case NCVX_ERR_NONFINITE:
        return "non-finite value at the starting point";
    case NCVX_ERR_STATE:
        return "continuation state does not match";
    }
    return "unknown status";
}

static const char *const method_names[] = {"bfgs-sqp", "lbfgs", "penalty", "auglag",
                                           "projgrad", "mma",   "oc"};
#define N_METHODS ((int)(sizeof method_names / sizeof method_names[0]))

int ncvx_method_parse(const char *name, ncvx_method *m)
{
    if (!name || !m) return -1;
    for (int i = 0; i < N_METHODS; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *m = (ncvx_method)i;
            return 0;
        }
    return -1;
}

const char *ncvx_method_str(ncvx_method m)
{
    if ((int)m < 0 || (int)m >= N_METHODS) return "unknown";
    return method_names[m];
}

const char *ncvx_term_str(ncvx_term t)
{
    switch (t) {
    case NCVX_TERM_STATIONARY:
        return "converged: stationarity and feasibility tolerances met";
    case NCVX_TERM_REL_TOL:
        return "converged: relative decrease of the penalty function below rel_tol, feasible";
    case NCVX_TERM_FVALQUIT:
        return "target objective fvalquit reached at a feasible point";
    case NCVX_TERM_USER_HALT:
        return "halted by the monitor callback";
    case NCVX_TERM_MAXIT:
        return "maximum number of iterations reached";
    case NCVX_TERM_CLOCK:
        return "maximum clock time reached";
    case NCVX_TERM_LS_FEASIBLE:
        return "line search bracketed a minimizer but failed to satisfy Wolfe conditions at a "
               "feasible point";
    case NCVX_TERM_LS_INFEASIBLE:
        return "line search bracketed a minimizer but failed to satisfy Wolfe conditions at an "
               "infeasible point";
    case NCVX_TERM_LS_UNBOUNDED:
        return "line search could not bracket a minimizer: f may be unbounded below";
    case NCVX_TERM_NO_DESCENT:
        return "failed to find a descent direction";
    case NCVX_TERM_UNUSED_10:
        return "(unused code 10)";
    case NCVX_TERM_CALLBACK:
        return "the evaluation callback failed";
    case NCVX_TERM_QP_FAILED:
        return "a QP solve failed and no fallback was left";
    case NCVX_TERM_UNKNOWN:
        return "unknown error";
    case NCVX_TERM_MAXEVAL:
        return "maximum number of function evaluations reached";
    case NCVX_TERM_NOT_KKT:
        return "penalty function stationary at a feasible point that is not a KKT point "
               "(after restarts)";
    case NCVX_TERM_STEP_TOL:
        return "step shorter than step_tol";
    }
    return "unknown termination code";
}

void ncvx_settings_default(ncvx_settings *s)
{
    memset(s, 0, sizeof *s);
    s->method = NCVX_BFGS_SQP;
    s->maxit = DEF_MAXIT;
    s->max_evals = 0;
    s->maxclocktime = 0;
    s->opt_tol = DEF_OPT_TOL;
    s->kkt_tol = DEF_KKT_TOL;
    s->rel_tol = 0;
    s->step_tol = DEF_STEP_TOL;
    s->fvalquit = -INFINITY;
    s->viol_ineq_tol = DEF_VIOL_TOL;
    s->viol_eq_tol = DEF_VIOL_TOL;

    s->mu0 = 1;
    s->limited_mem_size = 0;
    s->lm_single = -1;
    s->lm_mem_max = DEF_LM_MEM;
    s->bfgs_damping = DEF_BFGS_DAMPING;
    s->scaleH0 = 1;
    s->ngrad = 0;
    s->sample_mem_max = DEF_SAMPLE_MEM;
    s->evaldist = DEF_EVALDIST;
    s->steering_l1_model = 1;
    s->steering_ineq_margin = DEF_STEER_MARGIN;
    s->steering_maxit = DEF_STEER_MAXIT;
    s->steering_c_viol = DEF_STEER_C_VIOL;
    s->steering_c_mu = DEF_STEER_C_MU;
    s->max_random_attempts = DEF_RANDOM_ATTEMPTS;
    s->is_backtrack_linesearch = 0;
    s->wolfe1 = DEF_WOLFE1;
    s->wolfe2 = DEF_WOLFE2;
    s->init_step_size = 1;
    s->linesearch_maxit = 0;
    s->seed = 0;

    s->lbfgs_m = 10;
    s->penalty_exact = 0;
    s->penalty_rho0 = 10;
    s->penalty_growth = 10;
    s->penalty_rho_max = 1e10;
    s->inner_maxit = 100;
    s->inner_tol = 1e-6;

    s->move = 0; // 0 = the method's default (OC 0.2, MMA 0.5)
    s->oc_eta = 0.5;
    s->mma_asyinit = 0.5;
    s->mma_asyincr = 1.2;
    s->mma_asydecr = 0.7;
    s->mma_raa0 = 1e-5;
    s->mma_albefa = 0.1;
    s->mma_c = 1000;
    s->mma_rescale = 0;

    s->print_level = 1;
    s->print_frequency = 1;
    s->log = NULL;
}

static ncvx_status check_settings(const ncvx_settings *s)
{
#define BAD(cond, field)                                                                           \
    if (cond) return NCVX_FAIL(NCVX_ERR_SETTINGS, "settings.%s is out of range", field)
    BAD((int)s->method < 0 || (int)s->method >= N_METHODS, "method");
    BAD(s->maxit < 0, "maxit");
    BAD(s->max_evals < 0, "max_evals");
    BAD(!(s->maxclocktime >= 0), "maxclocktime");
    BAD(!(s->opt_tol >= 0), "opt_tol");
    BAD(!(s->kkt_tol >= 0), "kkt_tol");
    BAD(!(s->rel_tol >= 0), "rel_tol");
    BAD(!(s->step_tol >= 0) || !isfinite(s->step_tol), "step_tol");
    BAD(isnan(s->fvalquit), "fvalquit");
    BAD(!(s->viol_ineq_tol >= 0), "viol_ineq_tol");
    BAD(!(s->viol_eq_tol >= 0), "viol_eq_tol");
    BAD(s->print_level < 0 || s->print_level > 2, "print_level");
    BAD(s->print_frequency < 1, "print_frequency");
    if (s->method != NCVX_BFGS_SQP) return NCVX_OK;
    BAD(!(s->mu0 > 0) || !isfinite(s->mu0), "mu0");
    BAD(s->limited_mem_size < 0, "limited_mem_size");
    BAD(s->lm_single < -1 || s->lm_single > 1, "lm_single");
    BAD(!(s->lm_mem_max >= 0), "lm_mem_max");
    BAD(!(s->bfgs_damping >= 0 && s->bfgs_damping < 1), "bfgs_damping");
    BAD(s->ngrad < 0, "ngrad");
    BAD(!(s->sample_mem_max >= 0), "sample_mem_max");
    BAD(!(s->evaldist >= 0), "evaldist");
    BAD(!(s->steering_ineq_margin >= 0), "steering_ineq_margin");
    BAD(s->steering_maxit < 0, "steering_maxit");
    BAD(!(s->steering_c_viol > 0 && s->steering_c_viol < 1), "steering_c_viol");
    BAD(!(s->steering_c_mu > 0 && s->steering_c_mu < 1), "steering_c_mu");
    BAD(s->max_random_attempts < 0, "max_random_attempts");
    BAD(!(s->wolfe1 > 0 && s->wolfe1 < 0.5), "wolfe1");
    BAD(!(s->wolfe2 > s->wolfe1 && s->wolfe2 < 1), "wolfe2");
    BAD(!(s->init_step_size > 0) || !isfinite(s->init_step_size), "init_step_size");
    BAD(s->linesearch_maxit < 0, "linesearch_maxit");
#undef BAD
    return NCVX_OK;
}

static ncvx_status check_problem(const ncvx_problem *p)
{
    if (p->n <= 0) return NCVX_FAIL(NCVX_ERR_INVALID, "problem.n = %d must be > 0", p->n);
    if (p->n_ineq < 0 || p->n_eq < 0)
        return NCVX_FAIL(NCVX_ERR_INVALID, "problem.n_ineq = %d, n_eq = %d must be >= 0", p->n_ineq,
                         p->n_eq);
    if (!p->eval) return NCVX_FAIL(NCVX_ERR_INVALID, "problem.eval is NULL");
    return NCVX_OK;
}

/* Bounds: BFGS-SQP folds them in as inequalities, MMA/OC/projgrad use them as their box;
 * lbfgs, penalty and auglag would silently ignore them, so they refuse them. */
static ncvx_status check_bounds(const ncvx_problem *p, ncvx_method m)
{
    long nb = 0;
    for (int i = 0; i < p->n; i++)
        nb += (p->lower && p->lower[i] > -INFINITY) + (p->upper && p->upper[i] < INFINITY);
    if (!nb) return NCVX_OK;
    for (int i = 0; i < p->n; i++) {
        const double lo = p->lower ? p->lower[i] : -INFINITY;
        const double hi = p->upper ? p->upper[i] : INFINITY;
        if (isnan(lo) || isnan(hi) || lo > hi)
            return NCVX_FAIL(NCVX_ERR_INVALID, "problem.lower[%d] = %g > upper[%d] = %g (or NaN)",
                             i, lo, i, hi);
    }
    if (m == NCVX_LBFGS || m == NCVX_PENALTY || m == NCVX_AUGLAG)
        return NCVX_FAIL(NCVX_ERR_SETTINGS,
                         "method %s does not take bounds (problem.lower/upper are set): write "
                         "them as inequality constraints, or use bfgs-sqp, mma, oc or projgrad",
                         ncvx_method_str(m));
    if (m == NCVX_BFGS_SQP && nb > NCVX_MAX_FOLDED_BOUNDS)
        return NCVX_FAIL(NCVX_ERR_SETTINGS,
                         "method bfgs-sqp folds finite bounds in as inequalities, at most %d "
                         "(every constraint enters its dense QPs); %ld are set: use mma, oc or "
                         "projgrad, or a bounded parameterization",
                         NCVX_MAX_FOLDED_BOUNDS, nb);
    return NCVX_OK;
}

ncvx_status ncvx_create(ncvx_solver **out, const ncvx_problem *p, const ncvx_settings *s)
{
    if (!out) return NCVX_FAIL(NCVX_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!p || !s) return NCVX_FAIL(NCVX_ERR_INVALID, "problem or settings is NULL");
    ncvx_status st = check_settings(s);
    if (st != NCVX_OK) return st;
    if (s->method == NCVX_BFGS_SQP && (st = check_problem(p)) != NCVX_OK) return st;
    if ((st = check_bounds(p, s->method)) != NCVX_OK) return st;
    ncvx_solver *sv = calloc(1, sizeof *sv);
    if (!sv) return NCVX_FAIL(NCVX_ERR_NOMEM, "solver");
    sv->method = s->method;
    if (s->method == NCVX_BFGS_SQP)
        st = ncvx_sqp_create(&sv->sqp, p, s);
    else
        st = ncvx_classic_create(&sv->classic, p, s);
    if (st != NCVX_OK) {
        ncvx_destroy(sv);
        return st;
    }
    *out = sv;
    return NCVX_OK;
}

const double *ncvx_multipliers(const ncvx_solver *sv)
{
    if (!sv || sv->method != NCVX_BFGS_SQP || !sv->sqp) return NULL;
    return ncvx_sqp_multipliers(sv->sqp);
}

ncvx_status ncvx_solve(ncvx_solver *sv, double *x, ncvx_info *info)
{
    if (!sv || !x || !info) return NCVX_FAIL(NCVX_ERR_INVALID, "solver, x or info is NULL");
    if (sv->method == NCVX_BFGS_SQP) return ncvx_sqp_solve(sv->sqp, x, info);
    return ncvx_classic_solve(sv->classic, x, info);
}

void ncvx_destroy(ncvx_solver *sv)
{
    if (!sv) return;
    ncvx_sqp_destroy(sv->sqp);
    ncvx_classic_destroy(sv->classic);
    free(sv);
}

size_t ncvx_state_size(const ncvx_solver *sv)
{
    if (!sv) return 0;
    if (sv->method == NCVX_BFGS_SQP) return ncvx_sqp_state_size(sv->sqp);
    return ncvx_classic_state_size(sv->classic);
}

ncvx_status ncvx_state_export(const ncvx_solver *sv, double *buf, size_t size)
{
    if (!sv || !buf) return NCVX_FAIL(NCVX_ERR_INVALID, "solver or buf is NULL");
    if (sv->method == NCVX_BFGS_SQP) return ncvx_sqp_state_export(sv->sqp, buf, size);
    return ncvx_classic_state_export(sv->classic, buf, size);
}

ncvx_status ncvx_state_import(ncvx_solver *sv, const double *buf, size_t size)
{
    if (!sv || !buf) return NCVX_FAIL(NCVX_ERR_INVALID, "solver or buf is NULL");
    if (sv->method == NCVX_BFGS_SQP) return ncvx_sqp_state_import(sv->sqp, buf, size);
    return ncvx_classic_state_import(sv->classic, buf, size);
}
