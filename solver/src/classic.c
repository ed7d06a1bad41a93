// solver/src/classic.c: the classical methods' workspace, validation, dispatch, counted
// evaluation, best-point tracking, iteration table, monitor calls and continuation state.
#include "classic.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NCVX_STATE_MAGIC 700017.0 ///< first double of every classical state
#define NCVX_MOVE_OC 0.2          ///< OC move limit when settings.move <= 0 (top88)
#define NCVX_MOVE_MMA 0.5         ///< MMA move limit when settings.move <= 0 (Svanberg)
#define NCVX_LBFGS_WOLFE2 0.9     ///< curvature constant of the L-BFGS line search (SciPy)
#define NCVX_LBFGS_LS_MAXIT 20    ///< evaluations per line search when unset (SciPy maxls)

double ncvx_classic_elapsed(const ncvx_classic *w)
{
    return w->elapsed0 + (ncvx_now() - w->t0);
}

double ncvx_norm_inf(const double *a, int n)
{
    double m = 0;
    for (int j = 0; j < n; j++)
        m = fabs(a[j]) > m ? fabs(a[j]) : m;
    return m;
}

int ncvx_classic_eval(ncvx_classic *w, const double *x, int grad)
{
    return ncvx_evaluator_eval(&w->ev, x, &w->ef, grad ? w->eg : NULL, w->eci, w->eJi, w->ece,
                               w->eJe);
}

int ncvx_classic_limits(const ncvx_classic *w)
{
    return ncvx_evaluator_budget(&w->ev, w->iters, ncvx_classic_elapsed(w));
}

int ncvx_classic_lbfgs_step(ncvx_classic *w, ncvx_lbfgs_fg fg, int ls_fail)
{
    ncvx_lbfgs *e = &w->eng;
    int rc = ncvx_lbfgs_step(e, fg, w);
    w->ls_evals = e->ls_evals;
    if (rc == NCVX_LS_CALLBACK) return NCVX_TERM_CALLBACK;
    if (rc == NCVX_LS_FAIL) return ls_fail;
    if (rc == NCVX_LS_BUDGET && e->step == 0)
        return NCVX_TERM_MAXEVAL; /* ran out before any decrease: x did not move */
    w->iters++;
    w->inner_k++;
    w->last_step = e->step;
    w->stat = ncvx_norm_inf(e->cur.g, w->n);
    if (rc == NCVX_LS_UNBOUNDED) return NCVX_TERM_LS_UNBOUNDED;
    if (rc == NCVX_LS_BUDGET) return NCVX_TERM_MAXEVAL; /* x moved to the best point found */
    return NCVX_STEP_TAKEN;
}

int ncvx_classic_iterate(ncvx_classic *w, const double *x, double f, double merit, const double *ci,
                         const double *ce)
{
    double vi = ncvx_viol_ineq(ci, w->mi), ve = ncvx_viol_eq(ce, w->me);
    double t = ncvx_classic_elapsed(w);
    if (w->s.print_level >= 1 && (w->iters % w->s.print_frequency == 0)) {
        const ncvx_row r = {.iter = w->iters,
                            .mu = w->mu,
                            .penalty = merit,
                            .f = f,
                            .viol_ineq = vi,
                            .viol_eq = ve,
                            .stat = w->stat,
                            .step = w->last_step,
                            .ls_evals = w->ls_evals,
                            .evals = w->ev.evals,
                            .time = t,
                            .ngrad = -1,
                            .fallback = -1};
        ncvx_table_row(w->log, &w->print_rows, &r);
    }
    if (!w->p.monitor) return 0;
    ncvx_iterate it = {.iter = w->iters,
                       .evals = (int)w->ev.evals,
                       .x = x,
                       .f = f,
                       .c_ineq = w->mi ? ci : NULL,
                       .c_eq = w->me ? ce : NULL,
                       .viol_ineq = vi,
                       .viol_eq = ve,
                       .mu = w->mu,
                       .stat = w->stat,
                       .step = w->last_step,
                       .ls_evals = w->ls_evals,
                       .time = t};
    return w->p.monitor(&it, w->p.user) != 0;
}

void ncvx_classic_finish(ncvx_classic *w, double *x, ncvx_info *info, int term)
{
    ncvx_info_fill(info, &w->ev, x, (ncvx_term)term); // the best point, counts
    info->stat = w->stat;
    info->mu = w->mu;
    info->iters = w->iters;
    info->setup_time = w->setup_time;
    info->solve_time = ncvx_classic_elapsed(w);
    if (w->s.print_level >= 1) ncvx_info_print(w->log, w->s.method, info);
}

/* ------------------------------------------------------------------------------------------ */
/* Validation and allocation                                                                   */

static ncvx_status check_settings(const ncvx_settings *s)
{
#define BAD(cond, field)                                                                           \
    if (cond) return NCVX_FAIL(NCVX_ERR_SETTINGS, "settings.%s is out of range", field)
    BAD(s->maxit < 0, "maxit");
    BAD(s->max_evals < 0, "max_evals");
    BAD(!(s->maxclocktime >= 0), "maxclocktime");
    BAD(!(s->opt_tol >= 0), "opt_tol");
    BAD(!(s->rel_tol >= 0), "rel_tol");
    BAD(!(s->step_tol >= 0), "step_tol");
    BAD(isnan(s->fvalquit), "fvalquit");
    BAD(!(s->viol_ineq_tol >= 0), "viol_ineq_tol");
    BAD(!(s->viol_eq_tol >= 0), "viol_eq_tol");
    BAD(s->print_level < 0 || s->print_level > 2, "print_level");
    BAD(s->print_frequency < 1, "print_frequency");
    BAD(s->linesearch_maxit < 0, "linesearch_maxit");
    switch (s->method) {
    case NCVX_PENALTY:
    case NCVX_AUGLAG:
        BAD(!(s->penalty_rho0 > 0) || !isfinite(s->penalty_rho0), "penalty_rho0");
        BAD(!(s->penalty_growth >= 1) || !isfinite(s->penalty_growth), "penalty_growth");
        BAD(!(s->penalty_rho_max >= s->penalty_rho0) || !isfinite(s->penalty_rho_max),
            "penalty_rho_max");
        BAD(s->inner_maxit < 1, "inner_maxit");
        BAD(!(s->inner_tol > 0), "inner_tol");
        BAD(s->lbfgs_m < 1, "lbfgs_m"); /* the inner solver is L-BFGS */
        BAD(!(s->wolfe1 > 0 && s->wolfe1 < NCVX_LBFGS_WOLFE2), "wolfe1");
        break;
    case NCVX_LBFGS:
        BAD(s->lbfgs_m < 1, "lbfgs_m");
        BAD(!(s->wolfe1 > 0 && s->wolfe1 < NCVX_LBFGS_WOLFE2), "wolfe1");
        break;
    case NCVX_PROJGRAD:
        BAD(!(s->wolfe1 > 0 && s->wolfe1 < 1), "wolfe1");
        BAD(!(s->init_step_size > 0) || !isfinite(s->init_step_size), "init_step_size");
        break;
    case NCVX_MMA:
        BAD(!(s->move <= 1) || isnan(s->move), "move");
        BAD(!(s->mma_asyinit > 0 && s->mma_asyinit <= 1), "mma_asyinit");
        BAD(!(s->mma_asyincr >= 1) || !isfinite(s->mma_asyincr), "mma_asyincr");
        BAD(!(s->mma_asydecr > 0 && s->mma_asydecr <= 1), "mma_asydecr");
        BAD(!(s->mma_raa0 > 0) || !isfinite(s->mma_raa0), "mma_raa0");
        BAD(!(s->mma_albefa > 0 && s->mma_albefa < 1), "mma_albefa");
        BAD(!(s->mma_c > 0) || !isfinite(s->mma_c), "mma_c");
        BAD(s->mma_c_fixed != 0 && s->mma_c_fixed != 1, "mma_c_fixed");
        break;
    case NCVX_OC:
        BAD(!(s->move <= 1) || isnan(s->move), "move");
        BAD(!(s->oc_eta > 0) || !isfinite(s->oc_eta), "oc_eta");
        break;
    default:
        return NCVX_FAIL(NCVX_ERR_SETTINGS, "settings.method %d is not a classical method",
                         (int)s->method);
    }
#undef BAD
    return NCVX_OK;
}

static ncvx_status check_problem(const ncvx_problem *p, ncvx_method m)
{
    if (p->n <= 0 || p->n_ineq < 0 || p->n_eq < 0 || !p->eval)
        return NCVX_FAIL(NCVX_ERR_INVALID, "problem: need n > 0, n_ineq >= 0, n_eq >= 0, eval");
    const char *name = ncvx_method_str(m);
    switch (m) {
    case NCVX_LBFGS:
        if (p->n_ineq || p->n_eq)
            return NCVX_FAIL(NCVX_ERR_INVALID,
                             "lbfgs is unconstrained but the problem has %d inequality and %d "
                             "equality constraints (use penalty or auglag)",
                             p->n_ineq, p->n_eq);
        break;
    case NCVX_PROJGRAD:
        if ((p->n_ineq || p->n_eq) && !p->project)
            return NCVX_FAIL(NCVX_ERR_INVALID,
                             "projgrad handles constraints only through problem.project, "
                             "which is NULL while n_ineq = %d, n_eq = %d",
                             p->n_ineq, p->n_eq);
        break;
    case NCVX_MMA:
    case NCVX_OC:
        if (!p->lower || !p->upper)
            return NCVX_FAIL(NCVX_ERR_INVALID, "%s needs problem.lower and problem.upper", name);
        for (int j = 0; j < p->n; j++)
            if (!(isfinite(p->lower[j]) && isfinite(p->upper[j]) && p->lower[j] < p->upper[j]))
                return NCVX_FAIL(NCVX_ERR_INVALID,
                                 "%s needs finite bounds lower < upper (index %d)", name, j);
        if (p->n_eq)
            return NCVX_FAIL(NCVX_ERR_INVALID, "%s has no equality constraints (n_eq = %d)", name,
                             p->n_eq);
        if (m == NCVX_OC)
            for (int j = 0; j < p->n; j++)
                if (p->lower[j] < 0)
                    return NCVX_FAIL(NCVX_ERR_INVALID,
                                     "oc updates multiplicatively and needs lower >= 0 (index %d)",
                                     j);
        if (m == NCVX_OC && p->n_ineq != 1)
            return NCVX_FAIL(NCVX_ERR_INVALID,
                             "oc needs exactly one linear resource constraint (n_ineq = %d)",
                             p->n_ineq);
        break;
    default:
        break;
    }
    return NCVX_OK;
}

ncvx_status ncvx_classic_create(ncvx_classic **out, const ncvx_problem *p, const ncvx_settings *s)
{
    ncvx_status st;
    double t = ncvx_now();
    if (!out) return NCVX_FAIL(NCVX_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!p || !s) return NCVX_FAIL(NCVX_ERR_INVALID, "problem or settings is NULL");
    if ((st = check_settings(s)) != NCVX_OK) return st;
    if ((st = check_problem(p, s->method)) != NCVX_OK) return st;

    ncvx_classic *w = calloc(1, sizeof *w);
    if (!w) return NCVX_FAIL(NCVX_ERR_NOMEM, "workspace");
    w->p = *p;
    w->s = *s;
    w->n = p->n;
    w->mi = p->n_ineq;
    w->me = p->n_eq;
    w->log = s->log ? s->log : stdout;
    w->move = s->move > 0 ? s->move : (s->method == NCVX_OC ? NCVX_MOVE_OC : NCVX_MOVE_MMA);
    const size_t n = (size_t)w->n, mi = (size_t)w->mi, me = (size_t)w->me;
    NCVX_ALLOC(w->eg, n);
    NCVX_ALLOC(w->eci, mi);
    NCVX_ALLOC(w->eJi, mi * n);
    NCVX_ALLOC(w->ece, me);
    NCVX_ALLOC(w->eJe, me * n);
    if ((st = ncvx_evaluator_init(&w->ev, p, s, 0)) != NCVX_OK) goto fail;
    w->ev.feas_l1 = 1;
    switch (s->method) {
    case NCVX_LBFGS:
    case NCVX_PENALTY:
    case NCVX_AUGLAG: {
        /* aux = raw f, c_ineq, c_eq and, for the constrained methods, their gradients: the
         * outer update rebuilds the merit gradient without a new evaluation */
        size_t naux = s->method == NCVX_LBFGS ? 1 : (1 + mi + me) * (1 + n);
        if (ncvx_lbfgs_alloc(&w->eng, w->n, s->lbfgs_m, naux) != 0) {
            st = NCVX_FAIL(NCVX_ERR_NOMEM, "L-BFGS memory (n = %d, m = %d)", w->n, s->lbfgs_m);
            goto fail;
        }
        w->eng.c1 = s->wolfe1;
        w->eng.c2 = NCVX_LBFGS_WOLFE2;
        w->eng.ls_maxit = s->linesearch_maxit > 0 ? s->linesearch_maxit : NCVX_LBFGS_LS_MAXIT;
        NCVX_ALLOC(w->lam, me);
        NCVX_ALLOC(w->muI, mi);
        NCVX_ALLOC(w->wts, mi + me);
        break;
    }
    case NCVX_PROJGRAD:
        NCVX_ALLOC(w->px, n);
        NCVX_ALLOC(w->pg, n);
        NCVX_ALLOC(w->pxt, n);
        NCVX_ALLOC(w->pgt, n);
        NCVX_ALLOC(w->tmp, n);
        NCVX_ALLOC(w->mci, mi + me);
        break;
    case NCVX_MMA:
    case NCVX_OC:
        NCVX_ALLOC(w->mx, n);
        NCVX_ALLOC(w->mg, n);
        NCVX_ALLOC(w->mci, mi);
        NCVX_ALLOC(w->mJ, mi * n);
        NCVX_ALLOC(w->muI, mi);
        NCVX_ALLOC(w->tmp, n);
        NCVX_ALLOC(w->lo, n);
        NCVX_ALLOC(w->hi, n);
        memcpy(w->lo, p->lower, n * sizeof *w->lo);
        memcpy(w->hi, p->upper, n * sizeof *w->hi);
        if (s->method == NCVX_MMA) {
            NCVX_ALLOC(w->xold1, n);
            NCVX_ALLOC(w->xold2, n);
            NCVX_ALLOC(w->low, n);
            NCVX_ALLOC(w->upp, n);
            w->mw_size = ncvx_mma_work_size(w->n, w->mi);
        } else {
            w->mw_size = 3 * n; /* OC: x (-df / dc)^eta and the move-limited box */
        }
        NCVX_ALLOC(w->mw, w->mw_size);
        memset(w->mw, 0, w->mw_size * sizeof *w->mw); /* page faults now, not in iteration 1 */
        break;
    default:
        break;
    }
    w->setup_time = ncvx_now() - t;
    *out = w;
    return NCVX_OK;
fail:
    ncvx_classic_destroy(w);
    return st;
}

void ncvx_classic_destroy(ncvx_classic *w)
{
    if (!w) return;
    double *arrays[] = {w->eg, w->eci, w->eJi,   w->ece,   w->eJe, w->lam, w->muI, w->tmp,
                        w->px, w->pg,  w->pxt,   w->pgt,   w->mx,  w->mg,  w->mci, w->mJ,
                        w->lo, w->hi,  w->xold1, w->xold2, w->low, w->upp, w->mw,  w->wts};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    ncvx_lbfgs_free(&w->eng);
    ncvx_evaluator_free(&w->ev);
    free(w);
}

ncvx_status ncvx_classic_solve(ncvx_classic *w, double *x, ncvx_info *info)
{
    if (!w || !x || !info) return NCVX_FAIL(NCVX_ERR_INVALID, "NULL argument");
    memset(info, 0, sizeof *info);
    w->t0 = ncvx_now();
    if (!w->resume) {
        w->iters = 0;
        ncvx_evaluator_reset(&w->ev);
        w->elapsed0 = 0;
        w->fprev = NAN;
        w->last_step = NAN;
        w->stat = NAN;
        w->mu = NAN;
        w->ls_evals = 0;
        w->print_rows = 0;
    }
    int term = NCVX_TERM_UNKNOWN;
    ncvx_status st;
    switch (w->s.method) {
    case NCVX_LBFGS:
        st = ncvx_lbfgs_solve(w, x, &term);
        break;
    case NCVX_PENALTY:
    case NCVX_AUGLAG:
        st = ncvx_penalty_solve(w, x, &term);
        break;
    case NCVX_PROJGRAD:
        st = ncvx_projgrad_solve(w, x, &term);
        break;
    case NCVX_MMA:
        st = ncvx_mma_solve(w, x, &term);
        break;
    case NCVX_OC:
        st = ncvx_oc_solve(w, x, &term);
        break;
    default:
        st = NCVX_FAIL(NCVX_ERR_SETTINGS, "method %d", (int)w->s.method);
    }
    w->resume = 0;
    if (st != NCVX_OK) { // no run: the starting point failed
        ncvx_info_fill(info, &w->ev, NULL, NCVX_TERM_UNKNOWN);
        info->setup_time = w->setup_time;
        info->solve_time = ncvx_classic_elapsed(w);
        return st;
    }
    ncvx_classic_finish(w, x, info, term);
    return NCVX_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Continuation state: [magic, method, n, n_ineq, n_eq, total size] + common + method part     */

static void state_walk(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_sw_i(c, &w->iters);
    ncvx_sw_l(c, &w->ev.evals);
    ncvx_sw_l(c, &w->ev.grad_evals);
    ncvx_sw_d(c, &w->ev.eval_time);
    ncvx_sw_d(c, &w->elapsed0);
    ncvx_sw_i(c, &w->print_rows);
    ncvx_sw_i(c, &w->ev.best_kind);
    ncvx_sw_d(c, &w->ev.fbest);
    ncvx_sw_d(c, &w->ev.vibest);
    ncvx_sw_d(c, &w->ev.vebest);
    ncvx_sw_d(c, &w->ev.vimax);
    ncvx_sw_d(c, &w->ev.vemax);
    ncvx_sw_a(c, w->ev.xbest, (size_t)w->n);
    ncvx_sw_d(c, &w->fprev);
    ncvx_sw_d(c, &w->last_step);
    ncvx_sw_d(c, &w->stat);
    ncvx_sw_d(c, &w->mu);
    ncvx_sw_i(c, &w->ls_evals);
    switch (w->s.method) {
    case NCVX_LBFGS:
        ncvx_lbfgs_state(&w->eng, c);
        break;
    case NCVX_PENALTY:
    case NCVX_AUGLAG:
        ncvx_penalty_state(w, c);
        break;
    case NCVX_PROJGRAD:
        ncvx_projgrad_state(w, c);
        break;
    case NCVX_MMA:
    case NCVX_OC:
        ncvx_mma_state(w, c);
        break;
    default:
        break;
    }
}

#define STATE_HEAD 6

size_t ncvx_classic_state_size(const ncvx_classic *w)
{
    if (!w) return 0;
    ncvx_sw c = {NULL, 0, 0};
    state_walk((ncvx_classic *)w, &c); /* mode 0 only counts: nothing is written */
    return STATE_HEAD + c.pos;
}

ncvx_status ncvx_classic_state_export(const ncvx_classic *w, double *buf, size_t size)
{
    if (!w || !buf) return NCVX_FAIL(NCVX_ERR_INVALID, "NULL argument");
    size_t need = ncvx_classic_state_size(w);
    if (size < need)
        return NCVX_FAIL(NCVX_ERR_INVALID, "buffer of %zu doubles, need %zu", size, need);
    buf[0] = NCVX_STATE_MAGIC;
    buf[1] = (double)w->s.method;
    buf[2] = w->n;
    buf[3] = w->mi;
    buf[4] = w->me;
    buf[5] = (double)need;
    ncvx_sw c = {buf + STATE_HEAD, 0, 1};
    state_walk((ncvx_classic *)w, &c); /* mode 1 reads the workspace only */
    return NCVX_OK;
}

ncvx_status ncvx_classic_state_import(ncvx_classic *w, const double *buf, size_t size)
{
    if (!w || !buf) return NCVX_FAIL(NCVX_ERR_INVALID, "NULL argument");
    size_t need = ncvx_classic_state_size(w);
    if (size < need || buf[0] != NCVX_STATE_MAGIC || buf[1] != (double)w->s.method ||
        buf[2] != w->n || buf[3] != w->mi || buf[4] != w->me || buf[5] != (double)need)
        return NCVX_FAIL(NCVX_ERR_STATE,
                         "state does not match this problem and method (%s, n = %d)",
                         ncvx_method_str(w->s.method), w->n);
    ncvx_sw c = {(double *)buf + STATE_HEAD, 0, 2}; /* mode 2 only reads buf */
    state_walk(w, &c);
    if (w->eng.m > 0 &&
        (w->eng.count < 0 || w->eng.count > w->eng.m || w->eng.head < 0 || w->eng.head >= w->eng.m))
        return NCVX_FAIL(NCVX_ERR_STATE, "corrupt L-BFGS ring in the state");
    w->resume = 1;
    return NCVX_OK;
}
