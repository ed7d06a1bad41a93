// solver/src/oc.c: NCVX_OC, the optimality-criteria update of topology optimization (as in
// top88, Andreassen et al. 2011) for one linear resource constraint, box bounds, move limit.
#include <math.h>

#include "classic.h"

#define OC_LAM_MIN 1e-300 ///< bracket limits of the multiplier search
#define OC_LAM_MAX 1e300

/* x_j(lam) = clamp(x_j (max(0, -df_j) / (lam dc_j))^eta, move box) = clamp(xr_j lam^-eta);
 * returns the linearized constraint c + dc'(x(lam) - x) (exact for a linear constraint). */
static double oc_trial(const ncvx_classic *w, const double *xr, double lam, double *xn)
{
    ncvx_mma_st *ms = w->ms;
    const int n = w->n;
    const double sc = pow(lam, -w->s.oc_eta), *dc = ms->mJ;
    const double *lm = ms->mw + n, *um = ms->mw + 2 * (size_t)n; /* move-limited box */
    double c = ms->mci[0];
    for (int j = 0; j < n; j++) {
        double v = xr[j] * sc; /* xr = +inf where dc_j = 0 and df_j < 0: the bound is free */
        xn[j] = v < lm[j] ? lm[j] : (v > um[j] ? um[j] : v);
        c += dc[j] * (xn[j] - ms->mx[j]);
    }
    return c;
}

/* The OC fixed point B_j = -df_j / (lam dc_j) = 1 is the KKT condition df + lam dc = 0; lam is
 * found by bisection (in log scale, since sensitivities have any scale) so that the updated
 * design meets the linearized constraint; x keeps the feasible end of the bracket. */
static int oc_update(ncvx_classic *w, double *xn)
{
    ncvx_mma_st *ms = w->ms;
    const int n = w->n;
    const double eta = w->s.oc_eta;
    double *xr = ms->mw, *lm = ms->mw + n, *um = ms->mw + 2 * (size_t)n;
    for (int j = 0; j < n; j++) {
        double rng = ms->hi[j] - ms->lo[j];
        lm[j] = fmax(ms->lo[j], ms->mx[j] - ms->move * rng);
        um[j] = fmin(ms->hi[j], ms->mx[j] + ms->move * rng);
        double dc = ms->mJ[j], num = fmax(0.0, -ms->mg[j]);
        if (dc < 0) {
            ncvx_report(NCVX_ERR_INVALID, "oc_update",
                        "the resource constraint's gradient is negative at index %d", j);
            return -1; /* -> NCVX_TERM_QP_FAILED */
        }
        double ratio = num == 0 ? 0 : (dc == 0 ? INFINITY : num / dc);
        xr[j] = ms->mx[j] * (eta == 0.5 ? sqrt(ratio) : pow(ratio, eta)); /* top88: sqrt */
        if (isnan(xr[j])) xr[j] = 0; /* 0 * inf: a zero design variable stays at its bound */
    }
    double lo = OC_LAM_MIN, hi = OC_LAM_MAX;
    if (oc_trial(w, xr, lo, xn) <= 0) { /* constraint inactive within the move limits */
        ms->muI[0] = 0;
        return 0;
    }
    if (oc_trial(w, xr, hi, xn) > 0) { /* infeasible even at the lower move limits */
        ms->muI[0] = hi;
        return 0;
    }
    /* bracket around 1 by decades, then bisect the logarithm */
    double l1 = 1;
    if (oc_trial(w, xr, l1, xn) > 0) {
        lo = l1;
        while (hi > 10 * lo && oc_trial(w, xr, lo * 10, xn) > 0)
            lo *= 10;
        hi = fmin(hi, lo * 10);
    } else {
        hi = l1;
        while (hi > 10 * lo && oc_trial(w, xr, hi / 10, xn) <= 0)
            hi /= 10;
        lo = fmax(lo, hi / 10);
    }
    for (int it = 0; it < 200 && hi > lo * (1 + 1e-13); it++) {
        double mid = sqrt(lo) * sqrt(hi);
        if (!(mid > lo && mid < hi)) break;
        if (oc_trial(w, xr, mid, xn) > 0)
            lo = mid;
        else
            hi = mid;
    }
    oc_trial(w, xr, hi, xn);
    ms->muI[0] = hi;
    return 0;
}

static ncvx_status oc_solve(ncvx_classic *w, double *x, int *term)
{
    return ncvx_mma_loop(w, x, term, oc_update);
}

#define NCVX_MOVE_OC 0.2 ///< OC move limit when settings.move <= 0 (top88)

static size_t oc_work_size(void)
{
    return sizeof(ncvx_mma_st);
}

static ncvx_status oc_check(const ncvx_problem *p, const ncvx_settings *s)
{
    ncvx_status st;
    NCVX_BAD_SETTING(!(s->oc_eta > 0) || !isfinite(s->oc_eta), "oc_eta");
    if ((st = ncvx_mma_check(p, s)) != NCVX_OK) return st;
    for (int j = 0; j < p->n; j++)
        if (p->lower[j] < 0)
            return NCVX_FAIL(NCVX_ERR_INVALID,
                             "oc updates multiplicatively and needs lower >= 0 (index %d)", j);
    if (p->n_ineq != 1)
        return NCVX_FAIL(NCVX_ERR_INVALID,
                         "oc needs exactly one linear resource constraint (n_ineq = %d)",
                         p->n_ineq);
    return NCVX_OK;
}

static ncvx_status oc_init(ncvx_classic *w)
{
    /* workspace: x (-df / dc)^eta and the move-limited box */
    return ncvx_mma_init(w, 3 * (size_t)w->n, NCVX_MOVE_OC);
}

const ncvx_classic_method ncvx_method_oc = {
    .name = "oc",
    .work_size = oc_work_size,
    .check = oc_check,
    .init = oc_init,
    .fini = ncvx_mma_fini,
    .solve = oc_solve,
    .state_walk = ncvx_mma_state,
    .state_ok = NULL,
};
