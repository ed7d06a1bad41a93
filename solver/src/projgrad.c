// solver/src/projgrad.c: NCVX_PROJGRAD, the spectral projected gradient method (Birgin,
// Martinez & Raydan 2000) with a monotone Armijo search along the projection arc.
#include <math.h>
#include <stdlib.h>

#include "classic.h"

#define NCVX_PG_LS_MAXIT 40 ///< trials per line search when linesearch_maxit is 0
#define NCVX_PG_AMIN 1e-30  ///< spectral step safeguards (SPG's alpha_min, alpha_max)
#define NCVX_PG_AMAX 1e30

typedef struct {
    double *px, *pg, *pxt, *pgt; ///< [n] current and trial point/gradient
    double *tmp;                 ///< [n] scratch
    double *mci;                 ///< [mi + me] constraint values at the current point
    double pf, palpha;           ///< f there, spectral step
} projgrad_st;

/* The projection: the user's, else the box of problem.lower/upper, else none. The user's
 * projection is onto the whole feasible set, box included: a point it returns outside
 * lower/upper is a failed projection (reported, never silently kept). */
static int project(ncvx_classic *w, double *x)
{
    const double *lo = w->p.lower, *hi = w->p.upper;
    if (!w->p.project) {
        if (lo || hi) ncvx_project_box(x, w->n, lo, hi);
        return 0;
    }
    int r = w->p.project(x, w->n, w->p.user);
    if (r != 0) return r;
    for (int j = 0; j < w->n && (lo || hi); j++)
        if ((lo && !(x[j] >= lo[j])) || (hi && !(x[j] <= hi[j]))) {
            NCVX_FAIL(NCVX_ERR_INVALID,
                      "problem.project returned x[%d] = %g outside [lower, upper] = [%g, %g]", j,
                      x[j], lo ? lo[j] : -INFINITY, hi ? hi[j] : INFINITY);
            return -1;
        }
    return 0;
}

/* ||P(x - g) - x||_inf, the stationarity measure of SPG; -1 if the projection failed. */
static double pg_stat(ncvx_classic *w)
{
    projgrad_st *ms = w->ms;
    for (int j = 0; j < w->n; j++)
        ms->tmp[j] = ms->px[j] - ms->pg[j];
    if (project(w, ms->tmp) != 0) return -1;
    double m = 0;
    for (int j = 0; j < w->n; j++)
        m = fmax(m, fabs(ms->tmp[j] - ms->px[j]));
    return m;
}

static void projgrad_state_walk(ncvx_classic *w, ncvx_sw *c)
{
    projgrad_st *ms = w->ms;
    ncvx_sw_a(c, ms->px, (size_t)w->n);
    ncvx_sw_a(c, ms->pg, (size_t)w->n);
    ncvx_sw_a(c, ms->mci, (size_t)(w->mi + w->me));
    ncvx_sw_d(c, &ms->pf);
    ncvx_sw_d(c, &ms->palpha);
}

static void keep_values(ncvx_classic *w)
{
    projgrad_st *ms = w->ms;
    ms->pf = w->ef;
    memcpy(ms->mci, w->eci, (size_t)w->mi * sizeof *ms->mci);
    memcpy(ms->mci + w->mi, w->ece, (size_t)w->me * sizeof *ms->mci);
}

static ncvx_status projgrad_solve(ncvx_classic *w, double *x, int *term)
{
    projgrad_st *ms = w->ms;
    const ncvx_settings *s = &w->s;
    const int n = w->n;
    const int maxls = s->linesearch_maxit > 0 ? s->linesearch_maxit : NCVX_PG_LS_MAXIT;
    if (!w->resume) {
        memcpy(ms->px, x, (size_t)n * sizeof *x);
        if (project(w, ms->px) != 0)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the projection failed at the starting point");
        int r = ncvx_classic_eval(w, ms->px, 1);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite value at the starting point");
        keep_values(w);
        memcpy(ms->pg, w->eg, (size_t)n * sizeof *ms->pg);
        w->stat = pg_stat(w);
        if (w->stat < 0)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the projection failed at the starting point");
        ms->palpha = s->init_step_size / fmax(w->stat, NCVX_PG_AMIN);
        ms->palpha = fmin(NCVX_PG_AMAX, ms->palpha);
        if (ncvx_classic_iterate(w, ms->px, ms->pf, NAN, ms->mci, ms->mci + w->mi)) {
            *term = NCVX_TERM_USER_HALT;
            return NCVX_OK;
        }
    }
    for (;;) {
        int t;
        if (w->stat <= s->opt_tol) {
            *term = NCVX_TERM_STATIONARY;
            break;
        }
        if (ms->pf <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        if (w->iters > 0 && s->rel_tol > 0 &&
            w->fprev - ms->pf <= s->rel_tol * fmax(1.0, fmax(fabs(w->fprev), fabs(ms->pf)))) {
            *term = NCVX_TERM_REL_TOL;
            break;
        }
        if (w->iters > 0 && w->last_step <= s->step_tol) {
            *term = NCVX_TERM_STEP_TOL;
            break;
        }
        if ((t = ncvx_classic_limits(w)) >= 0) {
            *term = t;
            break;
        }
        w->fprev = ms->pf;
        double a = ms->palpha;
        int ls = 0, done = -1;
        for (;;) {
            for (int j = 0; j < n; j++)
                ms->pxt[j] = ms->px[j] - a * ms->pg[j];
            if (project(w, ms->pxt) != 0) {
                done = NCVX_TERM_CALLBACK;
                break;
            }
            double gd = 0;
            for (int j = 0; j < n; j++)
                gd += ms->pg[j] * (ms->pxt[j] - ms->px[j]);
            if (!(gd < 0)) { /* the projected step is not a descent step: rounding level */
                done = NCVX_TERM_LS_FEASIBLE;
                break;
            }
            int r = ncvx_classic_eval(w, ms->pxt, 1);
            if (r == NCVX_EV_BUDGET) {
                done = NCVX_TERM_MAXEVAL;
                break;
            }
            ls++;
            if (r == NCVX_EV_FAIL) {
                done = NCVX_TERM_CALLBACK;
                break;
            }
            /* Armijo along the arc: f(P(x - a g)) <= f(x) + sigma g'(P(x - a g) - x) */
            if (r == NCVX_EV_OK && w->ef <= ms->pf + s->wolfe1 * gd) break;
            if (ls >= maxls) {
                done = NCVX_TERM_LS_FEASIBLE;
                break;
            }
            /* safeguarded quadratic backtracking on the segment [x, P(x - a g)] */
            double tq = 0.5;
            if (r == NCVX_EV_OK) {
                double den = 2 * (w->ef - ms->pf - gd);
                tq = den > 0 ? -gd / den : 0.5;
                tq = fmin(0.5, fmax(0.1, tq));
            }
            a *= tq;
        }
        w->ls_evals = ls;
        if (done >= 0) {
            *term = done;
            break;
        }
        double sy = 0, ss = 0;
        for (int j = 0; j < n; j++) {
            double sj = ms->pxt[j] - ms->px[j];
            sy += sj * (w->eg[j] - ms->pg[j]);
            ss += sj * sj;
        }
        double *tx = ms->px;
        ms->px = ms->pxt;
        ms->pxt = tx;
        memcpy(ms->pg, w->eg, (size_t)n * sizeof *ms->pg);
        keep_values(w);
        /* spectral (Barzilai-Borwein) step s's / s'y; on non-positive curvature expand */
        ms->palpha =
            sy > 0 ? fmin(NCVX_PG_AMAX, fmax(NCVX_PG_AMIN, ss / sy)) : fmin(NCVX_PG_AMAX, 4 * a);
        w->iters++;
        w->last_step = sqrt(ss);
        w->stat = pg_stat(w);
        if (w->stat < 0) {
            *term = NCVX_TERM_CALLBACK;
            break;
        }
        if (ncvx_classic_iterate(w, ms->px, ms->pf, NAN, ms->mci, ms->mci + w->mi)) {
            *term = NCVX_TERM_USER_HALT;
            break;
        }
    }
    return NCVX_OK;
}

static size_t projgrad_work_size(void)
{
    return sizeof(projgrad_st);
}

static ncvx_status projgrad_check(const ncvx_problem *p, const ncvx_settings *s)
{
    NCVX_BAD_SETTING(!(s->wolfe1 > 0 && s->wolfe1 < 1), "wolfe1");
    NCVX_BAD_SETTING(!(s->init_step_size > 0) || !isfinite(s->init_step_size), "init_step_size");
    if ((p->n_ineq || p->n_eq) && !p->project)
        return NCVX_FAIL(NCVX_ERR_INVALID,
                         "projgrad handles constraints only through problem.project, "
                         "which is NULL while n_ineq = %d, n_eq = %d",
                         p->n_ineq, p->n_eq);
    return NCVX_OK;
}

static ncvx_status projgrad_init(ncvx_classic *w)
{
    ncvx_status st;
    projgrad_st *ms = w->ms;
    const size_t n = (size_t)w->n;
    NCVX_ALLOC(ms->px, n);
    NCVX_ALLOC(ms->pg, n);
    NCVX_ALLOC(ms->pxt, n);
    NCVX_ALLOC(ms->pgt, n);
    NCVX_ALLOC(ms->tmp, n);
    NCVX_ALLOC(ms->mci, (size_t)(w->mi + w->me));
    return NCVX_OK;
fail:
    return st; /* projgrad_fini frees what was allocated */
}

static void projgrad_fini(ncvx_classic *w)
{
    projgrad_st *ms = w->ms;
    double *arrays[] = {ms->px, ms->pg, ms->pxt, ms->pgt, ms->tmp, ms->mci};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
}

const ncvx_classic_method ncvx_method_projgrad = {
    .name = "projgrad",
    .work_size = projgrad_work_size,
    .check = projgrad_check,
    .init = projgrad_init,
    .fini = projgrad_fini,
    .solve = projgrad_solve,
    .state_walk = projgrad_state_walk,
    .state_ok = NULL,
};
