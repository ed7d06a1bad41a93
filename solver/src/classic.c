// solver/src/classic.c: the classical methods' common workspace, validation, the table of
// methods (each a ncvx_classic_method over its private state), monitor calls, the result and
// the continuation state (common part, then the method's).
#include "classic.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NCVX_STATE_MAGIC 700017.0 ///< first double of every classical state
#define NCVX_LBFGS_LS_MAXIT 20    ///< evaluations per line search when unset (SciPy maxls)

/* the methods by ncvx_method (NULL: not a classical method) */
static const ncvx_classic_method *const methods[] = {
    [NCVX_LBFGS] = &ncvx_method_lbfgs,   [NCVX_PENALTY] = &ncvx_method_penalty,
    [NCVX_AUGLAG] = &ncvx_method_auglag, [NCVX_PROJGRAD] = &ncvx_method_projgrad,
    [NCVX_MMA] = &ncvx_method_mma,       [NCVX_OC] = &ncvx_method_oc,
};
#define N_CLASSIC ((int)(sizeof methods / sizeof methods[0]))

static const ncvx_classic_method *method_of(ncvx_method m)
{
    return (int)m >= 0 && (int)m < N_CLASSIC ? methods[m] : NULL;
}

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

ncvx_status ncvx_classic_engine_init(ncvx_classic *w, ncvx_lbfgs *e, size_t naux)
{
    const int single = w->s.lm_single < 0
                           ? ncvx_lbfgs_auto_single(w->n, w->s.lbfgs_m, w->s.lm_mem_max)
                           : w->s.lm_single;
    if (ncvx_lbfgs_alloc(e, w->n, w->s.lbfgs_m, naux, single) != 0)
        return NCVX_FAIL(NCVX_ERR_NOMEM, "L-BFGS memory (n = %d, m = %d)", w->n, w->s.lbfgs_m);
    e->c1 = w->s.wolfe1;
    e->c2 = NCVX_LBFGS_WOLFE2;
    e->ls_maxit = w->s.linesearch_maxit > 0 ? w->s.linesearch_maxit : NCVX_LBFGS_LS_MAXIT;
    return NCVX_OK;
}

int ncvx_classic_lbfgs_step(ncvx_classic *w, ncvx_lbfgs *e, ncvx_lbfgs_fg fg, int ls_fail)
{
    int rc = ncvx_lbfgs_step(e, fg, w);
    w->ls_evals = e->ls_evals;
    if (rc == NCVX_LS_CALLBACK) return NCVX_TERM_CALLBACK;
    if (rc == NCVX_LS_FAIL) return ls_fail;
    if (rc == NCVX_LS_BUDGET && e->step == 0)
        return NCVX_TERM_MAXEVAL; /* ran out before any decrease: x did not move */
    w->iters++;
    w->last_step = e->step;
    w->stat = e->cur.ginf; /* computed with the slope of the accepted trial */
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
    NCVX_BAD_SETTING(s->maxit < 0, "maxit");
    NCVX_BAD_SETTING(s->max_evals < 0, "max_evals");
    NCVX_BAD_SETTING(!(s->maxclocktime >= 0), "maxclocktime");
    NCVX_BAD_SETTING(!(s->opt_tol >= 0), "opt_tol");
    NCVX_BAD_SETTING(!(s->rel_tol >= 0), "rel_tol");
    NCVX_BAD_SETTING(!(s->step_tol >= 0), "step_tol");
    NCVX_BAD_SETTING(isnan(s->fvalquit), "fvalquit");
    NCVX_BAD_SETTING(!(s->viol_ineq_tol >= 0), "viol_ineq_tol");
    NCVX_BAD_SETTING(!(s->viol_eq_tol >= 0), "viol_eq_tol");
    NCVX_BAD_SETTING(s->print_level < 0 || s->print_level > 2, "print_level");
    NCVX_BAD_SETTING(s->print_frequency < 1, "print_frequency");
    NCVX_BAD_SETTING(s->linesearch_maxit < 0, "linesearch_maxit");
    NCVX_BAD_SETTING(s->lm_single < -1 || s->lm_single > 1, "lm_single");
    NCVX_BAD_SETTING(!(s->lm_mem_max >= 0), "lm_mem_max");
    const ncvx_classic_method *m = method_of(s->method);
    if (!m)
        return NCVX_FAIL(NCVX_ERR_SETTINGS, "settings.method %d is not a classical method",
                         (int)s->method);
    return NCVX_OK;
}

static ncvx_status check_problem(const ncvx_problem *p)
{
    if (p->n <= 0 || p->n_ineq < 0 || p->n_eq < 0 || !p->eval)
        return NCVX_FAIL(NCVX_ERR_INVALID, "problem: need n > 0, n_ineq >= 0, n_eq >= 0, eval");
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
    if ((st = check_problem(p)) != NCVX_OK) return st;
    const ncvx_classic_method *m = method_of(s->method);
    if ((st = m->check(p, s)) != NCVX_OK) return st;

    ncvx_classic *w = calloc(1, sizeof *w);
    if (!w) return NCVX_FAIL(NCVX_ERR_NOMEM, "workspace");
    w->p = *p;
    w->s = *s;
    w->n = p->n;
    w->mi = p->n_ineq;
    w->me = p->n_eq;
    w->log = s->log ? s->log : stdout;
    const size_t n = (size_t)w->n, mi = (size_t)w->mi, me = (size_t)w->me;
    NCVX_ALLOC(w->eg, n);
    NCVX_ALLOC(w->eci, mi);
    NCVX_ALLOC(w->eJi, mi * n);
    NCVX_ALLOC(w->ece, me);
    NCVX_ALLOC(w->eJe, me * n);
    if ((st = ncvx_evaluator_init(&w->ev, p, s, 0)) != NCVX_OK) goto fail;
    w->ev.feas_l1 = 1;
    w->m = m;
    w->ms = calloc(1, m->work_size());
    if (!w->ms) {
        st = NCVX_FAIL(NCVX_ERR_NOMEM, "%s state", m->name);
        goto fail;
    }
    if ((st = m->init(w)) != NCVX_OK) goto fail;
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
    double *arrays[] = {w->eg, w->eci, w->eJi, w->ece, w->eJe};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    if (w->m && w->ms) w->m->fini(w);
    free(w->ms);
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
    ncvx_status st = w->m->solve(w, x, &term);
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
    w->m->state_walk(w, c);
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
    if (w->m->state_ok && !w->m->state_ok(w))
        return NCVX_FAIL(NCVX_ERR_STATE, "corrupt %s state", w->m->name);
    w->resume = 1;
    return NCVX_OK;
}
