// solver/src/penalty.c: the outer loop shared by NCVX_PENALTY (quadratic or exact l1 penalty
// with a growing weight) and NCVX_AUGLAG (merit and multipliers in auglag.c); the inner solver
// is the L-BFGS engine of lbfgs.c.
#include <math.h>

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
 * max(c,0) ~ (c + sqrt(c^2 + e^2) - e)/2 and |c| ~ sqrt(c^2 + e^2) - e, e = w->smooth, which
 * the outer loop shrinks tenfold per round (smoothing continuation, e.g. Chen & Mangasarian
 * 1995; Pinar & Zenios 1994): at the smoothed minimizer the violation is O(e) once rho
 * exceeds the multipliers, so e -> 0 recovers the exact penalty's solution. */
static void penalty_merit(const ncvx_classic *w, const double *aux, double *phi, double *g,
                          double *wts)
{
    const int mi = w->mi, me = w->me, ex = w->s.penalty_exact;
    const double rho = w->rho, e = w->smooth, *ci = aux + 1, *ce = aux + 1 + mi;
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
    if (w->s.method == NCVX_AUGLAG)
        ncvx_auglag_merit(w, aux, phi, g, w->wts);
    else
        penalty_merit(w, aux, phi, g, w->wts);
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

void ncvx_penalty_state(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_lbfgs_state(&w->eng, c);
    ncvx_sw_d(c, &w->rho);
    ncvx_sw_d(c, &w->infeas_prev);
    ncvx_sw_d(c, &w->smooth);
    ncvx_sw_i(c, &w->outer);
    ncvx_sw_i(c, &w->inner_k);
    ncvx_sw_i(c, &w->inner_flag);
    ncvx_sw_i(c, &w->idle_rounds);
    ncvx_sw_a(c, w->lam, (size_t)w->me);
    ncvx_sw_a(c, w->muI, (size_t)w->mi);
}

/* A round of inner L-BFGS iterations ends when ||grad phi||_inf <= inner_tol, after
 * inner_maxit iterations, or when the line search fails. Then:
 *  - penalty: feasible (viol_*_tol) and converged -> stationary; otherwise the weight grows
 *    (if infeasible) by penalty_growth up to penalty_rho_max;
 *  - auglag: feasible, complementary (|max(c_i, -mu_i/rho)| <= viol_ineq_tol) and converged ->
 *    stationary (grad phi is then the gradient of the Lagrangian at the updated multipliers);
 *    otherwise first-order multiplier update, and the weight grows when the infeasibility did
 *    not fall below half its previous value (Birgin & Martinez 2014, Alg. 4.1, tau = 0.5). */
ncvx_status ncvx_penalty_solve(ncvx_classic *w, double *x, int *term)
{
    ncvx_lbfgs *e = &w->eng;
    const ncvx_settings *s = &w->s;
    const int mi = w->mi, al = s->method == NCVX_AUGLAG;
    /* final smoothing width of the exact penalty: well below the feasibility tolerances */
    const double smooth_fin = fmax(1e-12, 1e-2 * fmin(s->viol_ineq_tol, s->viol_eq_tol));
    if (!w->resume) {
        w->rho = s->penalty_rho0;
        w->infeas_prev = INFINITY;
        w->smooth = !al && s->penalty_exact ? NCVX_EXACT_SMOOTH0 : 0;
        w->outer = w->inner_k = w->inner_flag = w->idle_rounds = 0;
        memset(w->lam, 0, (size_t)w->me * sizeof *w->lam);
        memset(w->muI, 0, (size_t)w->mi * sizeof *w->muI);
        ncvx_lbfgs_reset(e);
        e->ls_evals = 0;
        e->step = 0;
        memcpy(e->cur.x, x, (size_t)w->n * sizeof *x);
        int r = merit_fg(w, e->cur.x, &e->cur.f, e->cur.g, e->cur.aux);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite value at the starting point");
        w->mu = w->rho;
        w->stat = ncvx_norm_inf(e->cur.g, w->n);
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
        w->mu = w->rho;
        w->stat = ncvx_norm_inf(e->cur.g, w->n);
        if (feas && f <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        const int conv = w->stat <= s->inner_tol;
        if (conv || w->inner_flag || w->inner_k >= s->inner_maxit) {
            const int ok = feas && (!al || ncvx_auglag_compl(w, aux) <= s->viol_ineq_tol);
            if (w->smooth > smooth_fin) {
                /* exact penalty: continue with a sharper smoothing (and a larger weight while
                 * infeasible); the merit changes, so the round is never idle */
                w->smooth = fmax(smooth_fin, 0.1 * w->smooth);
                if (!feas) w->rho = fmin(w->rho * s->penalty_growth, s->penalty_rho_max);
                w->outer++;
                w->inner_k = 0;
                w->inner_flag = 0;
                ncvx_lbfgs_reset(e);
                merit(w, aux, &e->cur.f, e->cur.g);
                continue;
            }
            if (ok && conv) {
                *term = NCVX_TERM_STATIONARY;
                break;
            }
            w->idle_rounds = w->inner_k == 0 ? w->idle_rounds + 1 : 0;
            if (w->inner_flag &&
                (ok || w->idle_rounds >= 3 || (!al && w->rho >= s->penalty_rho_max))) {
                *term = ok ? NCVX_TERM_LS_FEASIBLE : NCVX_TERM_LS_INFEASIBLE;
                break;
            }
            if (w->idle_rounds >= 3 || (!al && !feas && conv && w->rho >= s->penalty_rho_max)) {
                /* the weight is at its maximum (or nothing moves) and still infeasible */
                *term = NCVX_TERM_NO_DESCENT;
                break;
            }
            if (al) {
                double infeas = ncvx_auglag_update(w, aux);
                if (w->outer > 0 && infeas > 0.5 * w->infeas_prev)
                    w->rho = fmin(w->rho * s->penalty_growth, s->penalty_rho_max);
                w->infeas_prev = infeas;
            } else if (!feas) {
                w->rho = fmin(w->rho * s->penalty_growth, s->penalty_rho_max);
            }
            w->outer++;
            w->inner_k = 0;
            w->inner_flag = 0;
            ncvx_lbfgs_reset(e); /* the merit changed: old pairs describe another function */
            merit(w, aux, &e->cur.f, e->cur.g);
            continue;
        }
        int t = ncvx_classic_limits(w);
        if (t >= 0) {
            *term = t;
            break;
        }
        t = ncvx_classic_lbfgs_step(w, merit_fg, NCVX_STEP_FAILED);
        if (t == NCVX_STEP_FAILED) {
            w->inner_flag = 1; /* the round ends; the outer update above decides */
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
