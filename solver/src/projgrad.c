// solver/src/projgrad.c: NCVX_PROJGRAD, the spectral projected gradient method (Birgin,
// Martinez & Raydan 2000) with a monotone Armijo search along the projection arc.
#include <math.h>

#include "classic.h"

#define NCVX_PG_LS_MAXIT 40 ///< trials per line search when linesearch_maxit is 0
#define NCVX_PG_AMIN 1e-30  ///< spectral step safeguards (SPG's alpha_min, alpha_max)
#define NCVX_PG_AMAX 1e30

/* The projection: the user's, else the box of problem.lower/upper, else none. */
static int project(ncvx_classic *w, double *x)
{
    if (w->p.project) return w->p.project(x, w->n, w->p.user);
    if (w->p.lower || w->p.upper) ncvx_project_box(x, w->n, w->p.lower, w->p.upper);
    return 0;
}

/* ||P(x - g) - x||_inf, the stationarity measure of SPG; -1 if the projection failed. */
static double pg_stat(ncvx_classic *w)
{
    for (int j = 0; j < w->n; j++)
        w->tmp[j] = w->px[j] - w->pg[j];
    if (project(w, w->tmp) != 0) return -1;
    double m = 0;
    for (int j = 0; j < w->n; j++)
        m = fmax(m, fabs(w->tmp[j] - w->px[j]));
    return m;
}

void ncvx_projgrad_state(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_sw_a(c, w->px, (size_t)w->n);
    ncvx_sw_a(c, w->pg, (size_t)w->n);
    ncvx_sw_a(c, w->mci, (size_t)(w->mi + w->me));
    ncvx_sw_d(c, &w->pf);
    ncvx_sw_d(c, &w->palpha);
}

static void keep_values(ncvx_classic *w)
{
    w->pf = w->ef;
    memcpy(w->mci, w->eci, (size_t)w->mi * sizeof *w->mci);
    memcpy(w->mci + w->mi, w->ece, (size_t)w->me * sizeof *w->mci);
}

ncvx_status ncvx_projgrad_solve(ncvx_classic *w, double *x, int *term)
{
    const ncvx_settings *s = &w->s;
    const int n = w->n;
    const int maxls = s->linesearch_maxit > 0 ? s->linesearch_maxit : NCVX_PG_LS_MAXIT;
    if (!w->resume) {
        memcpy(w->px, x, (size_t)n * sizeof *x);
        if (project(w, w->px) != 0)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the projection failed at the starting point");
        int r = ncvx_classic_eval(w, w->px, 1);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite value at the starting point");
        keep_values(w);
        memcpy(w->pg, w->eg, (size_t)n * sizeof *w->pg);
        w->stat = pg_stat(w);
        if (w->stat < 0)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the projection failed at the starting point");
        w->palpha = s->init_step_size / fmax(w->stat, NCVX_PG_AMIN);
        w->palpha = fmin(NCVX_PG_AMAX, w->palpha);
        if (ncvx_classic_iterate(w, w->px, w->pf, NAN, w->mci, w->mci + w->mi)) {
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
        if (w->pf <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        if (w->iters > 0 && s->rel_tol > 0 &&
            w->fprev - w->pf <= s->rel_tol * fmax(1.0, fmax(fabs(w->fprev), fabs(w->pf)))) {
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
        w->fprev = w->pf;
        double a = w->palpha;
        int ls = 0, done = -1;
        for (;;) {
            for (int j = 0; j < n; j++)
                w->pxt[j] = w->px[j] - a * w->pg[j];
            if (project(w, w->pxt) != 0) {
                done = NCVX_TERM_CALLBACK;
                break;
            }
            double gd = 0;
            for (int j = 0; j < n; j++)
                gd += w->pg[j] * (w->pxt[j] - w->px[j]);
            if (!(gd < 0)) { /* the projected step is not a descent step: rounding level */
                done = NCVX_TERM_LS_FEASIBLE;
                break;
            }
            int r = ncvx_classic_eval(w, w->pxt, 1);
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
            if (r == NCVX_EV_OK && w->ef <= w->pf + s->wolfe1 * gd) break;
            if (ls >= maxls) {
                done = NCVX_TERM_LS_FEASIBLE;
                break;
            }
            /* safeguarded quadratic backtracking on the segment [x, P(x - a g)] */
            double tq = 0.5;
            if (r == NCVX_EV_OK) {
                double den = 2 * (w->ef - w->pf - gd);
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
            double sj = w->pxt[j] - w->px[j];
            sy += sj * (w->eg[j] - w->pg[j]);
            ss += sj * sj;
        }
        double *tx = w->px;
        w->px = w->pxt;
        w->pxt = tx;
        memcpy(w->pg, w->eg, (size_t)n * sizeof *w->pg);
        keep_values(w);
        /* spectral (Barzilai-Borwein) step s's / s'y; on non-positive curvature expand */
        w->palpha =
            sy > 0 ? fmin(NCVX_PG_AMAX, fmax(NCVX_PG_AMIN, ss / sy)) : fmin(NCVX_PG_AMAX, 4 * a);
        w->iters++;
        w->last_step = sqrt(ss);
        w->stat = pg_stat(w);
        if (w->stat < 0) {
            *term = NCVX_TERM_CALLBACK;
            break;
        }
        if (ncvx_classic_iterate(w, w->px, w->pf, NAN, w->mci, w->mci + w->mi)) {
            *term = NCVX_TERM_USER_HALT;
            break;
        }
    }
    return NCVX_OK;
}
