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
    const int n = w->n;
    const double sc = pow(lam, -w->s.oc_eta), *dc = w->mJ;
    const double *lm = w->mw + n, *um = w->mw + 2 * (size_t)n; /* move-limited box */
    double c = w->mci[0];
    for (int j = 0; j < n; j++) {
        double v = xr[j] * sc; /* xr = +inf where dc_j = 0 and df_j < 0: the bound is free */
        xn[j] = v < lm[j] ? lm[j] : (v > um[j] ? um[j] : v);
        c += dc[j] * (xn[j] - w->mx[j]);
    }
    return c;
}

/* The OC fixed point B_j = -df_j / (lam dc_j) = 1 is the KKT condition df + lam dc = 0; lam is
 * found by bisection (in log scale, since sensitivities have any scale) so that the updated
 * design meets the linearized constraint; x keeps the feasible end of the bracket. */
static int oc_update(ncvx_classic *w, double *xn)
{
    const int n = w->n;
    const double eta = w->s.oc_eta;
    double *xr = w->mw, *lm = w->mw + n, *um = w->mw + 2 * (size_t)n;
    for (int j = 0; j < n; j++) {
        double rng = w->hi[j] - w->lo[j];
        lm[j] = fmax(w->lo[j], w->mx[j] - w->move * rng);
        um[j] = fmin(w->hi[j], w->mx[j] + w->move * rng);
        double dc = w->mJ[j], num = fmax(0.0, -w->mg[j]);
        if (dc < 0) {
            ncvx_report(NCVX_ERR_INVALID, "oc_update",
                        "the resource constraint's gradient is negative at index %d", j);
            return -1; /* -> NCVX_TERM_QP_FAILED */
        }
        double ratio = num == 0 ? 0 : (dc == 0 ? INFINITY : num / dc);
        xr[j] = w->mx[j] * (eta == 0.5 ? sqrt(ratio) : pow(ratio, eta)); /* top88: sqrt */
        if (isnan(xr[j])) xr[j] = 0; /* 0 * inf: a zero design variable stays at its bound */
    }
    double lo = OC_LAM_MIN, hi = OC_LAM_MAX;
    if (oc_trial(w, xr, lo, xn) <= 0) { /* constraint inactive within the move limits */
        w->muI[0] = 0;
        return 0;
    }
    if (oc_trial(w, xr, hi, xn) > 0) { /* infeasible even at the lower move limits */
        w->muI[0] = hi;
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
    w->muI[0] = hi;
    return 0;
}

ncvx_status ncvx_oc_solve(ncvx_classic *w, double *x, int *term)
{
    return ncvx_mma_loop(w, x, term, oc_update);
}
