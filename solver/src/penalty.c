// solver/src/penalty.c: the outer loop shared by NCVX_PENALTY (quadratic or exact l1 penalty
// with a growing weight) and NCVX_AUGLAG (merit and multipliers in auglag.c); the inner solver
// is the L-BFGS engine of lbfgs.c.
#include <math.h>
#include <stdlib.h>

#include "classic.h"

#define NCVX_EXACT_SMOOTH0 0.1 ///< initial smoothing width of the exact penalty

void ncvx_merit_grad(const ncvx_classic *w, const double *aux, const double *wts, double *g)
{
    const int n = w->n, mi = w->mi, me = w->me;
    const double *gf = aux + 1 + mi + me, *J = gf + n; /* jac_ineq then jac_eq, row-major */
    memcpy(g, gf, (size_t)n * sizeof *g);
    for (int i = 0; i < mi + me; i++) {
        const double a = wts[i], *row = J + (size_t)i * n;
        if (a == 0) continue;
        for (int j = 0; j < n; j++)
            g[j] += a * row[j];
    }
}

/* Quadratic: phi = f + rho/2 (sum max(ci,0)^2 + sum ce^2). Exact: phi = f + rho (sum
 * max(ci,0) + sum |ce|), smoothed so that the inner L-BFGS sees a smooth function:
 * max(c,0) ~ (c + sqrt(c^2 + e^2) - e)/2 and |c| ~ sqrt(c^2 + e^2) - e, e = ms->smooth, which
 * the outer loop shrinks tenfold per round (smoothing continuation, e.g. Chen & Mangasarian
 * 1995; Pinar & Zenios 1994): at the smoothed minimizer the violation is O(e) once rho
 * exceeds the multipliers, so e -> 0 recovers the exact penalty's solution. */
static void penalty_merit(const ncvx_classic *w, const double *aux, double *phi, double *g,
                          double *wts)
{
    ncvx_penalty_st *ms = w->ms;
    const int mi = w->mi, me = w->me, ex = w->s.penalty_exact;
    const double rho = ms->rho, e = ms->smooth, *ci = aux + 1, *ce = aux + 1 + mi;
    double p = 0;
    for (int i = 0; i < mi; i++) {
        if (ex) {
            double r = sqrt(ci[i] * ci[i] + e * e);
            p += 0.5 * (ci[i] + r - e);
            wts[i] = r > 0 ? 0.5 * rho * (1 + ci[i] / r) : 0.5 * rho;
        } else {
            double v = ci[i] > 0 ? ci[i] : 0;
            p += 0.5 * v * v;
            wts[i] = rho * v;
        }
    }
    for (int k = 0; k < me; k++) {
        if (ex) {
            double r = sqrt(ce[k] * ce[k] + e * e);
            p += r - e;
            wts[mi + k] = r > 0 ? rho * ce[k] / r : 0;
        } else {
            p += 0.5 * ce[k] * ce[k];
            wts[mi + k] = rho * ce[k];
        }
    }
    *phi = aux[0] + rho * p;
    ncvx_merit_grad(w, aux, wts, g);
}

static void merit(const ncvx_classic *w, const double *aux, double *phi, double *g)
{
    ncvx_penalty_st *ms = w->ms;
    if (ms->auglag)
        ncvx_auglag_merit(w, aux, phi, g, ms->wts);
    else
        penalty_merit(w, aux, phi, g, ms->wts);
}

/* Evaluate the user problem with gradients, keep the raw values in aux, return the merit. */
static int merit_fg(void *ctx, const double *x, double *f, double *g, double *aux)
{
    ncvx_classic *w = ctx;
    const size_t n = (size_t)w->n, mi = (size_t)w->mi, me = (size_t)w->me;
    int r = ncvx_classic_eval(w, x, 1);
    if (r == NCVX_EV_NONFIN) *f = NAN;
    if (r != NCVX_EV_OK) return r;
    double *a = aux;
    *a++ = w->ef;
    memcpy(a, w->eci, mi * sizeof *a);
    a += mi;
    memcpy(a, w->ece, me * sizeof *a);
    a += me;
    memcpy(a, w->eg, n * sizeof *a);
    a += n;
    memcpy(a, w->eJi, mi * n * sizeof *a);
    a += mi * n;
    memcpy(a, w->eJe, me * n * sizeof *a);
    merit(w, aux, f, g);
    return r;
}

static void penalty_state_walk(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_penalty_st *ms = w->ms;
    ncvx_lbfgs_state(&ms->eng, c);
    ncvx_sw_d(c, &ms->rho);
    ncvx_sw_d(c, &ms->infeas_prev);
    ncvx_sw_d(c, &ms->smooth);
    ncvx_sw_i(c, &ms->outer);
    ncvx_sw_i(c, &ms->inner_k);
    ncvx_sw_i(c, &ms->inner_flag);
    ncvx_sw_i(c, &ms->idle_rounds);
    ncvx_sw_a(c, ms->lam, (size_t)w->me);
    ncvx_sw_a(c, ms->muI, (size_t)w->mi);
}

/* A round of inner L-BFGS iterations ends when ||grad phi||_inf <= inner_tol, after
 * inner_maxit iterations, or when the line search fails. Then:
 *  - penalty: feasible (viol_*_tol) and converged -> stationary; otherwise the weight grows
 *    (if infeasible) by penalty_growth up to penalty_rho_max;
 *  - auglag: feasible, complementary (|max(c_i, -mu_i/rho)| <= viol_ineq_tol) and converged ->
 *    stationary (grad phi is then the gradient of the Lagrangian at the updated multipliers);
 *    otherwise first-order multiplier update, and the weight grows when the infeasibility did
 *    not fall below half its previous value (Birgin & Martinez 2014, Alg. 4.1, tau = 0.5). */
static ncvx_status penalty_solve(ncvx_classic *w, double *x, int *term)
{
    ncvx_penalty_st *ms = w->ms;
    ncvx_lbfgs *e = &ms->eng;
    const ncvx_settings *s = &w->s;
    const int mi = w->mi, al = ms->auglag;
    /* final smoothing width of the exact penalty: well below the feasibility tolerances */
    const double smooth_fin = fmax(1e-12, 1e-2 * fmin(s->viol_ineq_tol, s->viol_eq_tol));
    if (!w->resume) {
        ms->rho = s->penalty_rho0;
        ms->infeas_prev = INFINITY;
        ms->smooth = !al && s->penalty_exact ? NCVX_EXACT_SMOOTH0 : 0;
        ms->outer = ms->inner_k = ms->inner_flag = ms->idle_rounds = 0;
        memset(ms->lam, 0, (size_t)w->me * sizeof *ms->lam);
        memset(ms->muI, 0, (size_t)w->mi * sizeof *ms->muI);
        ncvx_lbfgs_reset(e);
        e->ls_evals = 0;
        e->step = 0;
        memcpy(e->cur.x, x, (size_t)w->n * sizeof *x);
        int r = merit_fg(w, e->cur.x, &e->cur.f, e->cur.g, e->cur.aux);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite value at the starting point");
        w->mu = ms->rho;
        w->stat = e->cur.ginf = ncvx_norm_inf(e->cur.g, w->n);
        const double *a = e->cur.aux;
        if (ncvx_classic_iterate(w, e->cur.x, a[0], e->cur.f, a + 1, a + 1 + mi)) {
            *term = NCVX_TERM_USER_HALT;
            return NCVX_OK;
        }
    }
    for (;;) {
        const double *aux = e->cur.aux, *ci = aux + 1, *ce = aux + 1 + mi;
        const double f = aux[0];
        const int feas =
            ncvx_viol_ineq(ci, mi) <= s->viol_ineq_tol && ncvx_viol_eq(ce, w->me) <= s->viol_eq_tol;
        w->mu = ms->rho;
        w->stat = e->cur.ginf; /* kept by the engine's slope pass and after each merit change */
        if (feas && f <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        const int conv = w->stat <= s->inner_tol;
        if (conv || ms->inner_flag || ms->inner_k >= s->inner_maxit) {
            const int ok = feas && (!al || ncvx_auglag_compl(w, aux) <= s->viol_ineq_tol);
            if (ms->smooth > smooth_fin) {
                /* exact penalty: continue with a sharper smoothing (and a larger weight while
                 * infeasible); the merit changes, so the round is never idle */
                ms->smooth = fmax(smooth_fin, 0.1 * ms->smooth);
                if (!feas) ms->rho = fmin(ms->rho * s->penalty_growth, s->penalty_rho_max);
                ms->outer++;
                ms->inner_k = 0;
                ms->inner_flag = 0;
                ncvx_lbfgs_reset(e);
                merit(w, aux, &e->cur.f, e->cur.g);
                e->cur.ginf = ncvx_norm_inf(e->cur.g, w->n);
                continue;
            }
            if (ok && conv) {
                *term = NCVX_TERM_STATIONARY;
                break;
            }
            ms->idle_rounds = ms->inner_k == 0 ? ms->idle_rounds + 1 : 0;
            if (ms->inner_flag &&
                (ok || ms->idle_rounds >= 3 || (!al && ms->rho >= s->penalty_rho_max))) {
                *term = ok ? NCVX_TERM_LS_FEASIBLE : NCVX_TERM_LS_INFEASIBLE;
                break;
            }
            if (ms->idle_rounds >= 3 || (!al && !feas && conv && ms->rho >= s->penalty_rho_max)) {
                /* the weight is at its maximum (or nothing moves) and still infeasible */
                *term = NCVX_TERM_NO_DESCENT;
                break;
            }
            if (al) {
                double infeas = ncvx_auglag_update(w, aux);
                if (ms->outer > 0 && infeas > 0.5 * ms->infeas_prev)
                    ms->rho = fmin(ms->rho * s->penalty_growth, s->penalty_rho_max);
                ms->infeas_prev = infeas;
            } else if (!feas) {
                ms->rho = fmin(ms->rho * s->penalty_growth, s->penalty_rho_max);
            }
            ms->outer++;
            ms->inner_k = 0;
            ms->inner_flag = 0;
            ncvx_lbfgs_reset(e); /* the merit changed: old pairs describe another function */
            merit(w, aux, &e->cur.f, e->cur.g);
            e->cur.ginf = ncvx_norm_inf(e->cur.g, w->n);
            continue;
        }
        int t = ncvx_classic_limits(w);
        if (t >= 0) {
            *term = t;
            break;
        }
        const int it0 = w->iters;
        t = ncvx_classic_lbfgs_step(w, e, merit_fg, NCVX_STEP_FAILED);
        ms->inner_k += w->iters - it0; /* x moved: one more iteration of this round */
        if (t == NCVX_STEP_FAILED) {
            ms->inner_flag = 1; /* the round ends; the outer update above decides */
            continue;
        }
        if (t >= 0) {
            *term = t;
            break;
        }
        const double *a = e->cur.aux;
        if (ncvx_classic_iterate(w, e->cur.x, a[0], e->cur.f, a + 1, a + 1 + mi)) {
            *term = NCVX_TERM_USER_HALT;
            break;
        }
    }
    return NCVX_OK;
}

static size_t penalty_work_size(void)
{
    return sizeof(ncvx_penalty_st);
}

static ncvx_status penalty_check(const ncvx_problem *p, const ncvx_settings *s)
{
    (void)p; /* bounds are refused by ncvx_create */
    NCVX_BAD_SETTING(!(s->penalty_rho0 > 0) || !isfinite(s->penalty_rho0), "penalty_rho0");
    NCVX_BAD_SETTING(!(s->penalty_growth >= 1) || !isfinite(s->penalty_growth), "penalty_growth");
    NCVX_BAD_SETTING(!(s->penalty_rho_max >= s->penalty_rho0) || !isfinite(s->penalty_rho_max),
                     "penalty_rho_max");
    NCVX_BAD_SETTING(s->inner_maxit < 1, "inner_maxit");
    NCVX_BAD_SETTING(!(s->inner_tol > 0), "inner_tol");
    NCVX_BAD_SETTING(s->lbfgs_m < 1, "lbfgs_m"); /* the inner solver is L-BFGS */
    NCVX_BAD_SETTING(!(s->wolfe1 > 0 && s->wolfe1 < NCVX_LBFGS_WOLFE2), "wolfe1");
    return NCVX_OK;
}

static ncvx_status penalty_init(ncvx_classic *w)
{
    ncvx_status st;
    ncvx_penalty_st *ms = w->ms;
    ms->auglag = w->s.method == NCVX_AUGLAG; /* the table of either method runs this */
    const size_t n = (size_t)w->n, mi = (size_t)w->mi, me = (size_t)w->me;
    /* aux = raw f, c_ineq, c_eq and their gradients: the outer update rebuilds the merit
     * gradient without a new evaluation */
    if ((st = ncvx_classic_engine_init(w, &ms->eng, (1 + mi + me) * (1 + n))) != NCVX_OK) return st;
    NCVX_ALLOC(ms->lam, me);
    NCVX_ALLOC(ms->muI, mi);
    NCVX_ALLOC(ms->wts, mi + me);
    return NCVX_OK;
fail:
    return st; /* penalty_fini frees what was allocated */
}

static void penalty_fini(ncvx_classic *w)
{
    ncvx_penalty_st *ms = w->ms;
    ncvx_lbfgs_free(&ms->eng);
    free(ms->lam);
    free(ms->muI);
    free(ms->wts);
}

static int penalty_state_ok(const ncvx_classic *w)
{
    const ncvx_penalty_st *ms = w->ms;
    return ncvx_lbfgs_ring_ok(&ms->eng);
}

const ncvx_classic_method ncvx_method_penalty = {
    .name = "penalty",
    .work_size = penalty_work_size,
    .check = penalty_check,
    .init = penalty_init,
    .fini = penalty_fini,
    .solve = penalty_solve,
    .state_walk = penalty_state_walk,
    .state_ok = penalty_state_ok,
};
const ncvx_classic_method ncvx_method_auglag = {
    .name = "auglag",
    .work_size = penalty_work_size,
    .check = penalty_check,
    .init = penalty_init,
    .fini = penalty_fini,
    .solve = penalty_solve,
    .state_walk = penalty_state_walk,
    .state_ok = penalty_state_ok,
};
