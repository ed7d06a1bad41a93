// solver/src/linesearch.c: weak Wolfe line search for nonsmooth functions
//
// Lewis, Overton, "Nonsmooth optimization via quasi-Newton methods", Math. Prog. 141 (2013),
// Alg. 4.6 (bracketing by doubling, then bisection), with GRANSO's stopping rules: at most
// max(10, round(log2(1e5/||d||))) doublings, and stop once the bracket [alpha, beta] is shorter
// than step_tol ||x0 + alpha d|| / ||d||. Non-finite values count as "step too long" (beta = t).
//
// Evaluations: every trial point is first evaluated for VALUES ONLY (the Armijo test needs
// phi alone). Only where the Armijo condition holds is the point evaluated again with
// gradients, for the curvature test; the accepted point is therefore always such a gradient
// evaluation. A step rejected by Armijo never costs a gradient.
#include "ncvx_internal.h"

#include <math.h>

ncvx_ls_result ncvx_linesearch_wolfe(const ncvx_ls_param *p, ncvx_ls_eval_fn fn, void *ctx)
{
    ncvx_ls_result res = {0, p->phi0, 0, 0};
    const double dnorm = sqrt(p->dd);
    double alpha = 0, beta = INFINITY, t = p->t0;
    int nexpand = 0;
    const double nexp_d = round(log2(1e5 / dnorm));
    const int nexpandmax = nexp_d > 10 ? (nexp_d < 1e4 ? (int)nexp_d : 10000) : 10;
    for (;;) {
        double xa2 = p->xx + 2 * alpha * p->xd + alpha * alpha * p->dd;
        double xa = sqrt(xa2 > 0 ? xa2 : 0);
        if (!((beta - alpha) > xa / dnorm * p->step_tol)) break;
        if (p->maxit > 0 && res.evals >= p->maxit) break;
        double phi = NAN, gtd = NAN;
        int quit = 0;
        int rc = fn(ctx, t, 0, &phi, NULL, &quit);
        res.evals++;
        if (rc == NCVX_LSE_ABORT) {
            res.fail = 3;
            return res;
        }
        int too_long = rc == NCVX_LSE_NONFIN || !(phi < p->phi0 + p->c1 * t * p->g0);
        if (!too_long || (rc == NCVX_LSE_OK && quit)) {
            // Armijo holds (or fvalquit reached at a feasible point): now the gradient
            rc = fn(ctx, t, 1, &phi, &gtd, &quit);
            res.evals++;
            if (rc == NCVX_LSE_ABORT) {
                res.fail = 3;
                return res;
            }
            if (rc == NCVX_LSE_OK && (quit || p->backtrack || gtd > p->c2 * p->g0)) {
                res.alpha = t;
                res.phi = phi;
                res.fail = 0;
                return res;
            }
            if (rc == NCVX_LSE_NONFIN)
                beta = t; // non-finite gradient: treat as too long
            else if (!too_long)
                alpha = t; // curvature fails: not far enough
            else
                beta = t;
        } else {
            beta = t;
        }
        if (beta < INFINITY)
            t = 0.5 * (alpha + beta);
        else if (nexpand < nexpandmax) {
            nexpand++;
            t = 2 * alpha;
        } else
            break;
    }
    res.fail = beta < INFINITY ? 1 : 2;
    return res;
}
