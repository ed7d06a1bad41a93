// solver/src/auglag.c: the augmented Lagrangian of NCVX_AUGLAG (Powell-Hestenes-Rockafellar
// form for inequalities) and its multiplier update; the outer loop is in penalty.c.
#include <math.h>

#include "classic.h"

#define NCVX_AL_MULT_MAX 1e20 ///< multiplier safeguard (ALGENCAN's lambda_max / mu_max)

/* L(x) = f + sum_e (lam_e ce + rho/2 ce^2) + rho/2 sum_i (max(0, ci + mu_i/rho)^2 - (mu_i/rho)^2)
 * (Birgin & Martinez, "Practical Augmented Lagrangian Methods", eq. 4.3); the constant
 * -(mu/rho)^2 term makes L = f at a feasible, complementary point. Gradient weights:
 * lam_e + rho ce for equalities, max(0, mu_i + rho ci) for inequalities. */
void ncvx_auglag_merit(const ncvx_classic *w, const double *aux, double *phi, double *g,
                       double *wts)
{
    ncvx_penalty_st *ms = w->ms;
    const int mi = w->mi, me = w->me;
    const double rho = ms->rho, *ci = aux + 1, *ce = aux + 1 + mi;
    double p = aux[0];
    for (int i = 0; i < mi; i++) {
        double sft = ms->muI[i] / rho, v = ci[i] + sft;
        v = v > 0 ? v : 0;
        p += 0.5 * rho * (v * v - sft * sft);
        wts[i] = rho * v;
    }
    for (int k = 0; k < me; k++) {
        p += ms->lam[k] * ce[k] + 0.5 * rho * ce[k] * ce[k];
        wts[mi + k] = ms->lam[k] + rho * ce[k];
    }
    *phi = p;
    ncvx_merit_grad(w, aux, wts, g);
}

double ncvx_auglag_compl(const ncvx_classic *w, const double *aux)
{
    ncvx_penalty_st *ms = w->ms;
    const double *ci = aux + 1;
    double m = 0;
    for (int i = 0; i < w->mi; i++) {
        double v = fabs(fmax(ci[i], -ms->muI[i] / ms->rho));
        m = v > m ? v : m;
    }
    return m;
}

double ncvx_auglag_update(ncvx_classic *w, const double *aux)
{
    ncvx_penalty_st *ms = w->ms;
    const int mi = w->mi, me = w->me;
    const double rho = ms->rho, *ci = aux + 1, *ce = aux + 1 + mi;
    double infeas = ncvx_auglag_compl(w, aux);
    for (int k = 0; k < me; k++) {
        infeas = fmax(infeas, fabs(ce[k]));
        ms->lam[k] = fmax(-NCVX_AL_MULT_MAX, fmin(NCVX_AL_MULT_MAX, ms->lam[k] + rho * ce[k]));
    }
    for (int i = 0; i < mi; i++)
        ms->muI[i] = fmin(NCVX_AL_MULT_MAX, fmax(0.0, ms->muI[i] + rho * ci[i]));
    return infeas;
}
