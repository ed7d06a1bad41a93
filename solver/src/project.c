// solver/src/project.c: Euclidean projections onto a box and onto a box intersected with a
// mean (volume) constraint, for NCVX_PROJGRAD and direct use.
#include <math.h>

#include "ncvx.h"

void ncvx_project_box(double *x, int n, const double *lower, const double *upper)
{
    for (int j = 0; j < n; j++) {
        if (lower && x[j] < lower[j]) x[j] = lower[j];
        if (upper && x[j] > upper[j]) x[j] = upper[j];
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* mean(clamp(x - tau, lo, hi)), non-increasing in tau */
static double shifted_mean(const double *x, int n, double lo, double hi, double tau)
{
    double s = 0;
    for (int j = 0; j < n; j++)
        s += clamp(x[j] - tau, lo, hi);
    return s / n;
}

/* The KKT conditions of min ||y - x||^2 s.t. lo <= y <= hi, mean(y) = V give
 * y = clamp(x - tau, lo, hi) for one scalar tau (the multiplier of the mean constraint, up to
 * a factor); the mean is continuous and non-increasing in tau, so bisection finds it. For
 * mean(y) <= V the multiplier is >= 0: tau = 0 if the box projection already satisfies it. */
int ncvx_project_box_mean(double *x, int n, double lo, double hi, double V, int equality)
{
    if (!x || n <= 0 || !(lo < hi) || !isfinite(lo) || !isfinite(hi) || !isfinite(V)) return -1;
    if (V < lo || (equality && V > hi)) return -1;
    for (int j = 0; j < n; j++)
        if (!isfinite(x[j])) return -1;
    if (!equality && shifted_mean(x, n, lo, hi, 0) <= V) {
        for (int j = 0; j < n; j++)
            x[j] = clamp(x[j], lo, hi);
        return 0;
    }
    double xmin = x[0], xmax = x[0];
    for (int j = 1; j < n; j++) {
        xmin = fmin(xmin, x[j]);
        xmax = fmax(xmax, x[j]);
    }
    /* at tau = xmin - hi every entry sits at hi (mean hi >= V), at xmax - lo at lo (<= V) */
    double ta = xmin - hi, tb = xmax - lo;
    if (!equality) ta = fmax(ta, 0.0); /* tau >= 0 for the inequality */
    for (int it = 0; it < 200; it++) {
        double tm = 0.5 * (ta + tb);
        if (tm <= ta || tm >= tb) break; /* the interval is down to adjacent doubles */
        if (shifted_mean(x, n, lo, hi, tm) > V)
            ta = tm;
        else
            tb = tm;
    }
    /* Exact tau on the free set of the bracket: sum over free entries of (x - tau) plus the
     * clamped ones equals n V. Fall back to the bracket end if the free set is empty. */
    double tau = tb, sum_fixed = 0, sum_free = 0;
    int nfree = 0;
    double tmid = 0.5 * (ta + tb);
    for (int j = 0; j < n; j++) {
        double v = x[j] - tmid;
        if (v <= lo)
            sum_fixed += lo;
        else if (v >= hi)
            sum_fixed += hi;
        else {
            sum_free += x[j];
            nfree++;
        }
    }
    if (nfree > 0) {
        double t = (sum_free + sum_fixed - (double)n * V) / nfree;
        if (t >= ta - 1e-12 * (1 + fabs(ta)) && t <= tb + 1e-12 * (1 + fabs(tb))) tau = t;
    }
    for (int j = 0; j < n; j++)
        x[j] = clamp(x[j] - tau, lo, hi);
    return 0;
}
