// solver/src/bfgssqp.c: BFGS-SQP with steering for nonsmooth constrained optimization
//
// Curtis, Mitchell, Overton, "A BFGS-SQP method for nonsmooth, nonconvex, constrained
// optimization and its evaluation using relative minimization profiles", Optim. Methods Softw.
// 32 (2017) 148-181; the algorithm of GRANSO (bfgssqp.m) and PyGRANSO. Penalty function
// phi = mu f + v, v = ||max(c_i, 0)||_1 + ||c_e||_1. Each iteration: a search direction from
// the steering QP (or a fallback), a weak Wolfe line search on phi, a (damped) BFGS update,
// and the stationarity measure from a QP over the gradients sampled near x_k.
//
// Storage of one point: x[n], its gradients G[n x k] (column-major: grad f, grad c_i...,
// grad c_e..., k = 1 + n_ineq + n_eq), f, c_i, c_e. The gradient of phi is G w with the weight
// vector w = (mu, [c_i >= 0], sign(c_e)), so every phi quantity is a GEMV with G.
#include "ncvx_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

/* GRANSO constants that PyGRANSO does not expose as our settings */
#define POSTQP_FALLBACK_LEVEL 2 ///< levels 0-1 are steering (with H, with identity)
#define LAST_FALLBACK_LEVEL 4   ///< random directions
#define LS_REATTEMPTS                                                                              \
    5                        ///< line-search retries with lower mu when not bracketed (GRANSO: 0;
                             ///< phi = mu f + v is unbounded below off the feasible set whenever f
                             ///< falls faster than v grows, e.g. a cubic f, even at a solution)
#define LS_REATTEMPTS_X0 10  ///< ... during the first iteration
#define LS_C_MU 0.5          ///< mu factor of those retries
#define LS_C_MU_X0 0.5       ///< ... during the first iteration
#define UNB_REDIRECTS 6      ///< steering directions recomputed with lower mu when not bracketed
#define UNB_C_MU 0.1         ///< mu factor of each
#define SECANT_LAGRANGIAN 1  ///< steering steps: secant pairs with the QP's equality multipliers
#define POLISH_VIOL 1e-3     ///< code 0 after this share of viol_*_tol is reached ...
#define POLISH_ITERS 10      ///< ... or this many iterations after the first certificate
#define STEER_EXTRA 12       ///< steering trials after steering_maxit ...
#define STEER_EXTRA_C_MU 0.1 ///< ... each lowering mu by this factor
#define LAG_DAMPING 0.2      ///< Powell's damping of the Lagrangian pairs (inverse form)
#define SAMPLE_PASSES 4      ///< sampled-direction attempts: the ring, then 3 fresh draws
/* feasible points (within the tolerances) are ranked by mu f + v: by f alone, a point further
 * out has the lower f (HS072: a point 5e-3 below f* at a violation of 4e-7 beat the last
 * iterate, feasible to 1e-17 and optimal); the exact penalty ranks them by their progress */
#define BEST_BY_PHI 1
#define DIR_DERIV_ONE_SIDED 1 ///< line-search slopes with one-sided terms at c = 0 (dir_deriv)
#define HALT_ON_LS_BRACKET 1  ///< GRANSO default: a feasible bracketed failure ends the run
#define STATE_MAGIC 5120172.0 ///< first double of a BFGS-SQP state
#define MAX_RESTARTS 3        ///< restarts (mu0, H = I) at penalty-stationary non-KKT points
#define RADIUS_SHRINK 10      ///< sampling radius reduction at each such restart
#define RADIUS_MIN 1e-4       ///< ... down to evaldist times this
/* a certificate that leans on other samples: the radius goes down to evaldist times
 * RADIUS_FINAL (at 1e-2 GRANSO's Rosenbrock ended 1e-7 from x*, f 1.1e-6 too high) */
#define RADIUS_FINAL 1e-3
#define NBR_TOL 1e-3 ///< ... when more than this share of its weight is on them

struct ncvx_sqp {
    ncvx_problem p;
    ncvx_settings s;
    FILE *log;
    int n, mi, me, mc, k;
    int nb; ///< finite bounds folded in as inequalities after the user's (index p.n_ineq..)
    int constrained;

    /* current point and trial point (swapped on acceptance) */
    double *x, *G, f, *ci, *ce;
    double *xt, *Gt, ft, *cit, *cet;
    double *w, *wt; ///< [k] penalty-gradient weights at x and at the trial point
    double phi, phit;

    /* search */
    double *HG; ///< [n x k] H G at x (valid while hg_ok)
    int hg_ok;
    double *d;                                      ///< [n] direction, then the step s
    double *y;                                      ///< [n] gradient difference
    double *tmp;                                    ///< [n] H s for damping
    double *K;                                      ///< [k x k] G' H G (or G'G)
    double *Rinv;                                   ///< [mc x mc]
    double *qg, *qy, *qlo, *qCi, *qci0, *Gd, *keep; ///< steering QP data
    double *wl;        ///< [k] (mu, QP multipliers) of the steering direction: the secant pair's
                       ///< weights (gradient difference of mu times the Lagrangian)
    int wl_ok;         ///< wl belongs to this iteration's direction
    double prox_delta; ///< proximal weight of this iteration's steering QPs (0 = none)
    int qwarm;         ///< qy holds the answer of this iteration's last mu trial (warm start)
    double *qwork;
    int *qiwork;

    /* stationarity */
    int nslots, shead, scount;
    double *sx, *sG; ///< ring: [n x nslots], [n k x nslots]
    double *HA;      ///< [n x k nslots] (aliases HG when nslots == 1)
    double *M, *sq, *sy, *sCi, *sci0, *sCe, *sce0, *swork, *sRinv, *sgs, *syp;
    int *siwork, *near;
    double *lb;       ///< [nslots] lower bounds on ||x - x_j|| (triangle inequality), skip test
    double last_step; ///< ||x_k - x_{k-1}|| for the bounds
    double ls_t;
    int last_nsamp;

    ncvx_hess h;
    double mu;
    double stat;   ///< GRANSO's stationarity measure ||H A y|| (the opt_tol test)
    double stat_e; ///< the same y in the Euclidean norm, ||A y|| (reported: H may be far from I)
    /* KKT certificate of the original problem at x (from the last stationarity QP) */
    double *lam;        ///< [mc] multipliers: inequalities, then equalities
    double kkt_res;     ///< ||conv(grad f) + sum lam grad c||_2
    double kkt_comp;    ///< max_i |lam_i c_i| over the inequalities
    double gnorm;       ///< ||grad f(x)||_2 (scale of the stationarity tolerance)
    int mu_restores;    ///< mu raised after a failed restart at a line-search failure
    int restarts;       ///< restarts at penalty-stationary points that were not KKT points
    int ls_restarts;    ///< restarts (H = I) after line-search failures at non-KKT points
    int gs_next;        ///< after a restart: the next step is the gradient-sampling direction
    double radius;      ///< sampling radius: evaldist, divided by RADIUS_SHRINK at each restart
    int stalls;         ///< restarts after which the KKT residual did not halve (MAX_RESTARTS)
    double nbr_w;       ///< share of the certificate's weights on samples other than x
    double kkt_restart; ///< KKT residual at the last restart
    double rel_diff;
    int iter;
    ncvx_evaluator ev; ///< counts, budgets, folded bounds, best point
    double setup_time, t0, elapsed0;
    uint64_t rng;
    int rows;
    int started; ///< the current-point data are valid (a solve ran or a state was imported)
    int resume;  ///< a state was imported: the next solve continues it

    /* the last certified KKT point (code 0), kept while the run polishes its feasibility */
    double *xc, *lamc;
    double fc, vic, vec, vicmax, vecmax, kkt_res_c, kkt_comp_c, stat_e_c;
    int cert;   ///< xc holds a certified point
    int polish; ///< iterations since the first certificate
};

/* ------------------------------------------------------------------------------------------ */

static double elapsed(const ncvx_sqp *w)
{
    return w->elapsed0 + (ncvx_now() - w->t0);
}

/* GRANSO's feasibility test: the largest violation of each kind within its tolerance */
static int feasible(const ncvx_sqp *w, const double *ci, const double *ce)
{
    return ncvx_evaluator_feasible(&w->ev, ci, ce);
}

/* phi = mu f + v and the weights w with grad phi = G w (c_i >= 0 counts as violated) */
static double penalty(const ncvx_sqp *s, double mu, double f, const double *ci, const double *ce,
                      double *wv)
{
    wv[0] = mu;
    for (int i = 0; i < s->mi; i++)
        wv[1 + i] = ci[i] >= 0 ? 1 : 0;
    for (int i = 0; i < s->me; i++)
        wv[1 + s->mi + i] = ce[i] > 0 ? 1 : (ce[i] < 0 ? -1 : 0);
    return mu * f + ncvx_viol_ineq(ci, s->mi) + ncvx_viol_eq(ce, s->me);
}

/* The one-sided directional derivative of phi = mu f + v along d from gd = G'd (f smooth at
 * x): sum_j wv_j gd_j, except that a constraint exactly at zero contributes its one-sided
 * slope, max(gd_i, 0) for c_i = 0 and |gd_e| for c_e = 0, not the weight of the side that
 * penalty() picked (c_i >= 0 counts as violated). At x0 of HS025, on its bound x1 = 100, the
 * Armijo test asked for the decrease of the bound's term along a step into the box, where
 * that term stays 0: every step failed. */
static double dir_deriv(const ncvx_sqp *w, const double *gd, const double *ci, const double *ce,
                        const double *wv)
{
    double g = 0;
    for (int j = 0; j < w->k; j++) {
        const int i = j - 1, e = j - 1 - w->mi;
        if (j >= 1 && i < w->mi && ci[i] == 0)
            g += DIR_DERIV_ONE_SIDED ? fmax(gd[j], 0) : wv[j] * gd[j];
        else if (j > w->mi && ce[e] == 0)
            g += DIR_DERIV_ONE_SIDED ? fabs(gd[j]) : wv[j] * gd[j];
        else
            g += wv[j] * gd[j];
    }
    return g;
}

static int all_finite(const double *a, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* Evaluate at xe into (f, G, ci, ce); G == NULL = values only. The feasible points are ranked
 * by the penalty function of the current mu, not by f alone (see BEST_BY_PHI).
 * Returns NCVX_LSE_OK / _NONFIN, or -1 callback failure, -2 evaluation budget. */
static int evaluate(ncvx_sqp *w, const double *xe, double *f, double *G, double *ci, double *ce)
{
    const size_t n = (size_t)w->n;
    w->ev.rank_f = BEST_BY_PHI ? w->mu : 1;
    w->ev.rank_v = BEST_BY_PHI ? 1 : 0;
    int rc = ncvx_evaluator_eval(&w->ev, xe, f, G, ci, G ? G + n : NULL, ce,
                                 G ? G + n * (size_t)(1 + w->mi) : NULL);
    switch (rc) {
    case NCVX_EV_OK:
        return NCVX_LSE_OK;
    case NCVX_EV_NONFIN:
        return NCVX_LSE_NONFIN;
    case NCVX_EV_FAIL:
        return -1;
    default:
        return -2;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* random directions (last fallback): splitmix64 + Box-Muller, deterministic from the seed    */

static uint64_t rng_next(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unif(uint64_t *st)
{
    return ((double)(rng_next(st) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static void randn(uint64_t *st, double *v, int n)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < n; i += 2) {
        double r = sqrt(-2 * log(rng_unif(st))), a = two_pi * rng_unif(st);
        v[i] = r * cos(a);
        if (i + 1 < n) v[i + 1] = r * sin(a);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* printing                                                                                     */

static void print_row(ncvx_sqp *w, int ls_evals, double step, int fb)
{
    if (w->s.print_level < 1 || w->iter % w->s.print_frequency != 0) return;
    const ncvx_row r = {.iter = w->iter,
                        .mu = w->mu,
                        .penalty = w->phi,
                        .f = w->f,
                        .viol_ineq = ncvx_viol_ineq(w->ci, w->mi),
                        .viol_eq = ncvx_viol_eq(w->ce, w->me),
                        .stat = w->stat_e,
                        .step = step,
                        .ls_evals = ls_evals,
                        .evals = w->ev.evals,
                        .time = elapsed(w),
                        .ngrad = w->last_nsamp,
                        .fallback = fb};
    ncvx_table_row(w->log, &w->rows, &r);
}

static int monitor(ncvx_sqp *w, int ls_evals, double step)
{
    if (!w->p.monitor) return 0;
    ncvx_iterate it;
    it.iter = w->iter;
    it.evals = (int)w->ev.evals;
    it.x = w->x;
    it.f = w->f;
    it.c_ineq = w->mi ? w->ci : NULL;
    it.c_eq = w->me ? w->ce : NULL;
    it.viol_ineq = ncvx_viol_ineq(w->ci, w->mi);
    it.viol_eq = ncvx_viol_eq(w->ce, w->me);
    it.mu = w->mu;
    it.stat = w->stat_e;
    it.step = step;
    it.ls_evals = ls_evals;
    it.time = elapsed(w);
    return w->p.monitor(&it, w->p.user) != 0;
}

/* ------------------------------------------------------------------------------------------ */
/* create / destroy                                                                             */

const double *ncvx_sqp_multipliers(const ncvx_sqp *w)
{
    return w->started && w->mc > 0 ? w->lam : NULL;
}

int ncvx_sqp_nsamples(const ncvx_sqp *w)
{
    return w->nslots;
}

int ncvx_sqp_lm_single(const ncvx_sqp *w)
{
    return w->h.single;
}

void ncvx_sqp_destroy(ncvx_sqp *w)
{
    if (!w) return;
    free(w->x);
    free(w->G);
    free(w->ci);
    free(w->ce);
    free(w->xt);
    free(w->Gt);
    free(w->cit);
    free(w->cet);
    free(w->w);
    free(w->wt);
    free(w->HG);
    free(w->d);
    free(w->y);
    free(w->tmp);
    free(w->K);
    free(w->Rinv);
    free(w->qg);
    free(w->qy);
    free(w->qlo);
    free(w->qCi);
    free(w->qci0);
    free(w->Gd);
    free(w->keep);
    free(w->xc);
    free(w->lamc);
    free(w->wl);
    free(w->qwork);
    free(w->qiwork);
    free(w->sx);
    free(w->sG);
    if (w->HA != w->HG) free(w->HA);
    free(w->M);
    free(w->sq);
    free(w->sy);
    free(w->sCi);
    free(w->sci0);
    free(w->sCe);
    free(w->sce0);
    free(w->swork);
    free(w->sRinv);
    free(w->sgs);
    free(w->syp);
    free(w->siwork);
    free(w->near);
    free(w->lb);
    free(w->lam);
    ncvx_evaluator_free(&w->ev);
    ncvx_hess_free(&w->h);
    free(w);
}

ncvx_status ncvx_sqp_create(ncvx_sqp **out, const ncvx_problem *p, const ncvx_settings *s)
{
    ncvx_status st = NCVX_OK;
    *out = NULL;
    double t0 = ncvx_now();
    ncvx_sqp *w = calloc(1, sizeof *w);
    if (!w) return NCVX_FAIL(NCVX_ERR_NOMEM, "workspace");
    w->p = *p;
    w->s = *s;
    w->log = s->log ? s->log : stdout;
    // bounds: each finite one a linear inequality after the user's (lower_i - x_i <= 0,
    // x_i - upper_i <= 0); ncvx_create refuses more than NCVX_MAX_FOLDED_BOUNDS
    int nb = 0;
    for (int i = 0; i < p->n; i++)
        nb += (p->lower && p->lower[i] > -INFINITY) + (p->upper && p->upper[i] < INFINITY);
    const int n = p->n, mi = p->n_ineq + nb, me = p->n_eq, k = 1 + mi + me, mc = mi + me;
    w->nb = nb;
    w->n = n;
    w->mi = mi;
    w->me = me;
    w->mc = mc;
    w->k = k;
    w->constrained = mc > 0;
    const size_t nk = (size_t)n * k;

    // samples kept: ngrad, capped by the memory budget and the stationarity-QP size
    long ng = s->ngrad > 0 ? s->ngrad : (long)(n + 10 < 2L * n ? n + 10 : 2L * n);
    if (s->ngrad <= 0 && ng > 100) ng = 100;
    double per = 8.0 * (double)n * (double)(1 + 2 * k);
    long capm = (long)(s->sample_mem_max / per);
    if (ng > capm) ng = capm;
    if (ng > NCVX_STAT_QP_MAX / k) ng = NCVX_STAT_QP_MAX / k;
    if (ng < 1) ng = 1;
    w->nslots = (int)ng;

    NCVX_ALLOC(w->x, n);
    NCVX_ALLOC(w->G, nk);
    NCVX_ALLOC(w->ci, mi);
    NCVX_ALLOC(w->ce, me);
    NCVX_ALLOC(w->xt, n);
    NCVX_ALLOC(w->Gt, nk);
    NCVX_ALLOC(w->cit, mi);
    NCVX_ALLOC(w->cet, me);
    NCVX_ALLOC(w->w, k);
    NCVX_ALLOC(w->wt, k);
    NCVX_ALLOC(w->HG, nk);
    NCVX_ALLOC(w->d, n);
    NCVX_ALLOC(w->y, n);
    NCVX_ALLOC(w->tmp, n);
    NCVX_ALLOC(w->K, (size_t)k * k);
    NCVX_ALLOC(w->Rinv, (size_t)mc * mc);
    NCVX_ALLOC(w->qg, mc);
    NCVX_ALLOC(w->qy, mc);
    NCVX_ALLOC(w->qlo, mc);
    NCVX_ALLOC(w->qCi, (size_t)mc * 2 * mc);
    NCVX_ALLOC(w->qci0, 2 * mc);
    NCVX_ALLOC(w->Gd, k);
    NCVX_ALLOC(w->keep, 3 * mc + k); // also the two k-vectors of secant weights (mc >= 1)
    NCVX_ALLOC(w->xc, n);
    NCVX_ALLOC(w->lamc, mc > 0 ? mc : 1);
    NCVX_ALLOC(w->wl, k);
    NCVX_ALLOC(w->qwork, ncvx_qp_work_size(mc, 0, 2 * mc));
    NCVX_ALLOC(w->qiwork, ncvx_qp_iwork_size(mc, 0, 2 * mc));
    NCVX_ALLOC(w->lam, mc);
    if ((st = ncvx_evaluator_init(&w->ev, p, s, 1)) != NCVX_OK) goto fail;
    // one sample = the current point (aliased, nothing stored); more are copied into a ring
    NCVX_ALLOC(w->sx, w->nslots > 1 ? (size_t)n * w->nslots : 0);
    NCVX_ALLOC(w->sG, w->nslots > 1 ? nk * w->nslots : 0);
    if (w->nslots == 1)
        w->HA = w->HG;
    else
        NCVX_ALLOC(w->HA, nk * w->nslots);
    {
        const int N = k * w->nslots;
        NCVX_ALLOC(w->M, (size_t)N * N);
        NCVX_ALLOC(w->sq, N);
        NCVX_ALLOC(w->sy, N);
        NCVX_ALLOC(w->sCi, (size_t)N * 2 * N);
        NCVX_ALLOC(w->sci0, 2 * N);
        NCVX_ALLOC(w->sCe, N);
        NCVX_ALLOC(w->sce0, 1);
        NCVX_ALLOC(w->swork, ncvx_qp_work_size(N, 1, 2 * N));
        NCVX_ALLOC(w->sRinv, (size_t)N * N);
        NCVX_ALLOC(w->sgs, N);
        NCVX_ALLOC(w->syp, N);
        NCVX_ALLOC(w->siwork, ncvx_qp_iwork_size(N, 1, 2 * N));
        NCVX_ALLOC(w->near, w->nslots);
        NCVX_ALLOC(w->lb, w->nslots);
    }
    const int single = s->lm_single < 0
                           ? ncvx_hess_auto_single(n, s->limited_mem_size, s->lm_mem_max)
                           : s->lm_single;
    if (ncvx_hess_init(&w->h, n, s->limited_mem_size, k * w->nslots, s->scaleH0 != 0, single) !=
        0) {
        st = NCVX_FAIL(NCVX_ERR_NOMEM, "inverse Hessian (n = %d, limited_mem_size = %d)", n,
                       s->limited_mem_size);
        goto fail;
    }
    // touch every page now, so that first-touch page faults land in setup_time and not in
    // the iterations (calloc maps zero pages lazily)
    if (w->nslots > 1) {
        memset(w->sx, 0, (size_t)n * w->nslots * sizeof *w->sx);
        memset(w->sG, 0, nk * w->nslots * sizeof *w->sG);
        memset(w->HA, 0, nk * w->nslots * sizeof *w->HA);
    }
    ncvx_hess_touch(&w->h);
    w->rng = (uint64_t)s->seed;
    w->stat = w->stat_e = NAN;
    w->kkt_res = w->kkt_comp = NAN;
    w->setup_time = ncvx_now() - t0;
    *out = w;
    return NCVX_OK;
fail:
    ncvx_sqp_destroy(w);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* steering (GRANSO qpSteeringStrategy) and the stationarity measure (qpTerminationCondition)  */

#define PROX_DELTA 1e-7 ///< proximal weight relative to max diag(G) for a singular G
#define PROX_MAXIT 50   ///< proximal-point iterations
#define PROX_RTOL 1e-13 ///< ... until no multiplier moves by more than this times the largest

/* lo[N], hi[N] from the 2N inequality rows Ci'y >= ci0 if they are [I; -I] (the multiplier
 * boxes of the steering and stationarity QPs); returns 0 for any other structure */
static int box_rows(int N, const double *Ci, const double *ci0, double *lo, double *hi)
{
    for (int r = 0; r < 2 * N; r++) {
        const int v = r < N ? r : r - N;
        const double one = r < N ? 1 : -1, *row = Ci + (size_t)r * N;
        for (int j = 0; j < N; j++)
            if (row[j] != (j == v ? one : 0)) return 0;
    }
    for (int v = 0; v < N; v++) {
        lo[v] = ci0[v];
        hi[v] = -ci0[N + v];
    }
    return 1;
}

/* Convex QP with a possibly singular G (the dual steering and stationarity QPs are singular
 * whenever there are more gradients than variables). G (scratch, overwritten) is factored
 * once; if it is numerically singular, G + delta I is factored instead and the proximal-point
 * iteration y+ = argmin 0.5 y'(G + delta I)y + (g - delta y)'y (Rockafellar 1976) runs from
 * y = 0: every subproblem is well conditioned, the factorization is shared by all of them,
 * and the iterates converge to a minimizer of the singular QP. gs[N], yp[N] are scratch. */
static int qp_robust(int N, int rank_max, double *G, double *Rinv, const double *g, double *gs,
                     double *yp, int me, const double *Ce, const double *ce0, int mi,
                     const double *Ci, const double *ci0, double *y, double *work, int *iwork)
{
    double ridge = 1, dmax = 0;
    // bounds only (+ one equality): ncvx_qp_box solves the semidefinite QP itself, exactly
    // (active set on the free variables, no ridge). The proximal-point iterations below are
    // only the fallback: on a singular G they converge slowly along the eigenvalues near
    // delta (after PROX_MAXIT iterations y still moved by 1e-4..1e-2), and such a y is no
    // certificate: the residual ||A y|| stayed at 1e-5..1e-4 at KKT points (HS052).
    double *lo = work + ncvx_qp_box_work_size(N), *hi = lo + N;
    int box = me <= 1 && mi == 2 * N && box_rows(N, Ci, ci0, lo, hi);
    if (box && ncvx_qp_box(N, G, g, lo, hi, me ? Ce : NULL, me ? ce0[0] : 0, y, iwork, 0, NULL,
                           work, iwork + N) == 0)
        return 0;
    // G = A'HA has rank <= rank_max = n: for N > n the factorization can only end with a
    // ridge, so it is skipped (the fallback below factors when it needs to)
    if (N <= rank_max && ncvx_qp_factor(N, G, Rinv, &ridge) != 0) return 2;
    if (ridge == 0)
        return ncvx_qp_solve_factored(N, Rinv, g, me, Ce, ce0, mi, Ci, ci0, y, NULL, NULL, work,
                                      iwork);
    for (int i = 0; i < N; i++)
        dmax = fmax(dmax, G[(size_t)i * N + i]);
    const double delta = PROX_DELTA * (dmax > 0 ? dmax : 1);
    for (int i = 0; i < N; i++)
        G[(size_t)i * N + i] += delta;
    int factored = 0;
    for (int i = 0; i < N; i++)
        yp[i] = 0;
    int rc = 2;
    for (int it = 0; it < PROX_MAXIT; it++) {
        for (int i = 0; i < N; i++)
            gs[i] = g[i] - delta * yp[i];
        rc = 2;
        if (box)
            rc = ncvx_qp_box(N, G, gs, lo, hi, me ? Ce : NULL, me ? ce0[0] : 0, y, iwork, it > 0,
                             NULL, work, iwork + N);
        if (rc != 0) {
            box = 0;
            if (!factored && ncvx_qp_factor(N, G, Rinv, &ridge) != 0) return 2;
            factored = 1;
            rc = ncvx_qp_solve_factored(N, Rinv, gs, me, Ce, ce0, mi, Ci, ci0, y, NULL, NULL, work,
                                        iwork);
        }
        if (rc != 0) return rc;
        double dy = 0, ym = 0;
        for (int i = 0; i < N; i++) {
            dy = fmax(dy, fabs(y[i] - yp[i]));
            ym = fmax(ym, fabs(y[i]));
            yp[i] = y[i];
        }
        if (dy <= PROX_RTOL * ym) break; // relative: multipliers scale with mu
    }
    return rc;
}

/* predicted violation reduction of the linearized constraints for G'd = gd (k-vector) */
static double pred_reduction(const ncvx_sqp *w, const double *gd, double viol)
{
    double r = viol;
    if (w->s.steering_l1_model) {
        for (int i = 0; i < w->mi; i++) {
            double v = w->ci[i] + gd[1 + i];
            r -= v > 0 ? v : 0;
        }
        for (int i = 0; i < w->me; i++)
            r -= fabs(w->ce[i] + gd[1 + w->mi + i]);
    } else {
        double vi = 0, ve = 0;
        for (int i = 0; i < w->mi; i++) {
            double v = w->ci[i] + gd[1 + i];
            if (v > vi) vi = v;
        }
        for (int i = 0; i < w->me; i++)
            if (fabs(w->ce[i] + gd[1 + w->mi + i]) > ve) ve = fabs(w->ce[i] + gd[1 + w->mi + i]);
        r -= vi + ve;
    }
    return r;
}

/* proximal-point solve of the steering QP with Rinv = chol(Kcc + delta I)^-1 (see qp_robust) */
static int steer_prox(ncvx_sqp *w)
{
    const int mc = w->mc;
    double *gs = w->keep + mc + w->k, *yp = gs + mc;
    for (int i = 0; i < mc; i++)
        yp[i] = 0;
    int rc = 2;
    for (int it = 0; it < PROX_MAXIT; it++) {
        for (int i = 0; i < mc; i++)
            gs[i] = w->qg[i] - w->prox_delta * yp[i];
        // the multiplier box (w->qci0 = lo, w->qlo = hi) on Kcc + delta I (w->M)
        rc = ncvx_qp_box(mc, w->M, gs, w->qci0, w->qlo, NULL, 0, w->qy, w->qiwork, it > 0, NULL,
                         w->qwork, w->qiwork + mc);
        if (rc != 0)
            rc = ncvx_qp_solve_factored(mc, w->Rinv, gs, 0, NULL, NULL, 2 * mc, w->qCi, w->qci0,
                                        w->qy, NULL, NULL, w->qwork, w->qiwork);
        if (rc != 0) return rc;
        double dy = 0, ym = 0;
        for (int i = 0; i < mc; i++) {
            dy = fmax(dy, fabs(w->qy[i] - yp[i]));
            ym = fmax(ym, fabs(w->qy[i]));
            yp[i] = w->qy[i];
        }
        if (dy <= PROX_RTOL * ym) break; // relative: multipliers scale with mu
    }
    return rc;
}

/* solve the dual steering QP for penalty parameter mu with K, Rinv prepared; gd = G'd */
static int steer_qp(ncvx_sqp *w, double mu)
{
    const int mc = w->mc, k = w->k;
    for (int i = 0; i < mc; i++) {
        double c = i < w->mi ? w->ci[i] : w->ce[i - w->mi];
        w->qg[i] = mu * w->K[(size_t)0 * k + 1 + i] - c;
    }
    int rc = 2;
    if (w->prox_delta == 0) { // Kcc = w->M positive definite: ncvx_qp_box, else Goldfarb-Idnani
        rc = ncvx_qp_box(mc, w->M, w->qg, w->qci0, w->qlo, NULL, 0, w->qy, w->qiwork, w->qwarm,
                         NULL, w->qwork, w->qiwork + mc);
        if (rc != 0)
            rc = ncvx_qp_solve_factored(mc, w->Rinv, w->qg, 0, NULL, NULL, 2 * mc, w->qCi, w->qci0,
                                        w->qy, NULL, NULL, w->qwork, w->qiwork);
    } else {
        // a singular Kcc (more constraints than variables): the box QP solves the semidefinite
        // QP itself, exactly; the proximal-point iterations are the fallback. Their fixed
        // count leaves y short along the small eigenvalues of Kcc (HS081 at mu = 4e-7: the
        // step reduced the linearized violation by 1 %, not a descent direction)
        for (int i = 0; i < mc; i++)
            w->M[(size_t)i * mc + i] -= w->prox_delta;
        rc = ncvx_qp_box(mc, w->M, w->qg, w->qci0, w->qlo, NULL, 0, w->qy, w->qiwork, w->qwarm,
                         NULL, w->qwork, w->qiwork + mc);
        for (int i = 0; i < mc; i++)
            w->M[(size_t)i * mc + i] += w->prox_delta;
        if (rc != 0) rc = steer_prox(w);
    }
    if (rc != 0) return rc;
    w->qwarm = 1; // the next mu trial of this iteration starts from this answer
    // G'd = -mu K[:,0] - K[:,1:] y  (no n-vector work per mu trial)
    for (int r = 0; r < k; r++) {
        double acc = -mu * w->K[r];
        for (int j = 0; j < mc; j++)
            acc -= w->K[(size_t)(1 + j) * k + r] * w->qy[j];
        w->Gd[r] = acc;
    }
    return 0;
}

/* steering direction into w->d; may lower w->mu. HGc = H G (level 0) or G (level 1).
 * Returns 0, or nonzero if a QP failed (the caller falls back, as GRANSO does). */
static int steering(ncvx_sqp *w, const double *HGc, double *mu_out)
{
    const int n = w->n, mc = w->mc, k = w->k;
    // K = G' HGc (k x k), symmetrized; its constraint block is factored once for all mu
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, k, n, 1.0, w->G, n, HGc, n, 0.0, w->K,
                k);
    for (int j = 0; j < k; j++)
        for (int i = 0; i < j; i++) {
            double a = 0.5 * (w->K[(size_t)j * k + i] + w->K[(size_t)i * k + j]);
            w->K[(size_t)j * k + i] = w->K[(size_t)i * k + j] = a;
        }
    double *Kcc = w->M; // scratch (mc x mc <= N x N)
    for (int j = 0; j < mc; j++)
        for (int i = 0; i < mc; i++)
            Kcc[(size_t)j * mc + i] = w->K[(size_t)(1 + j) * k + 1 + i];
    // factored once for all mu trials; a singular Kcc (more constraints than variables, or
    // dependent gradients) gets Kcc + delta I and proximal-point iterations (qp_robust)
    double ridge = 0;
    w->prox_delta = 0;
    if (ncvx_qp_factor(mc, Kcc, w->Rinv, &ridge) != 0) return 2;
    if (ridge > 0) {
        double dmax = 0;
        for (int i = 0; i < mc; i++)
            dmax = fmax(dmax, Kcc[(size_t)i * mc + i]);
        w->prox_delta = PROX_DELTA * (dmax > 0 ? dmax : 1);
        for (int i = 0; i < mc; i++)
            Kcc[(size_t)i * mc + i] += w->prox_delta;
        if (ncvx_qp_factor(mc, Kcc, w->Rinv, &ridge) != 0) return 2;
    }
    // box: c_i multipliers in [0, 1], c_e multipliers in [-1, 1], as y >= lo, -y >= -1
    memset(w->qCi, 0, (size_t)mc * 2 * mc * sizeof *w->qCi);
    for (int i = 0; i < mc; i++) {
        w->qCi[(size_t)i * mc + i] = 1;
        w->qci0[i] = i < w->mi ? 0 : -1;
        w->qCi[(size_t)(mc + i) * mc + i] = -1;
        w->qci0[mc + i] = -1;
        w->qlo[i] = 1; // upper end of the box, for ncvx_qp_box
    }
    const double viol = w->s.steering_l1_model
                            ? ncvx_viol_ineq(w->ci, w->mi) + ncvx_viol_eq(w->ce, w->me)
                            : ncvx_viol_ineq_max(w->ci, w->mi) + ncvx_viol_eq_max(w->ce, w->me);
    const double vtol = sqrt(2.220446049250313e-16) * (viol > 1 ? viol : 1);
    const double c_viol = w->s.steering_c_viol;
    double mu = w->mu;
    w->qwarm = 0;
    int rc = steer_qp(w, mu);
    if (rc) return rc;
    double red = pred_reduction(w, w->Gd, viol);
    int done = red >= c_viol * viol - vtol;
    if (!done && w->me == 0 && isfinite(w->s.steering_ineq_margin)) {
        // all inequalities strictly inside, at x and at the end of the step's linearization:
        // no steering. GRANSO looks at x only, and from a strictly feasible x takes a step
        // that leaves the linearized feasible set as it is; with mu too large for the exact
        // penalty the line search then accepts a point far outside (HS093 from its feasible
        // x0: violation 2.4 after the first step, then stuck where the gradient of the
        // violated product constraint vanishes)
        int any = 0;
        const double mg = w->s.steering_ineq_margin;
        for (int i = 0; i < w->mi; i++)
            if (w->ci[i] >= -mg || w->ci[i] + w->Gd[1 + i] > mg) any = 1;
        if (!any) done = 1;
    }
    if (!done) {
        // reference: the feasibility-only direction (mu = 0); qy and Gd get overwritten, so
        // keep the mu-trial answer and restore it if the reference accepts it
        double *keep = w->keep;
        memcpy(keep, w->qy, (size_t)mc * sizeof *keep);
        memcpy(keep + mc, w->Gd, (size_t)k * sizeof *keep);
        if ((rc = steer_qp(w, 0)) != 0) return rc;
        double red_ref = pred_reduction(w, w->Gd, viol);
        if (red >= c_viol * red_ref - vtol) {
            memcpy(w->qy, keep, (size_t)mc * sizeof *keep);
            memcpy(w->Gd, keep + mc, (size_t)k * sizeof *keep);
        } else {
            int ok = 0;
            for (int j = 0; j < w->s.steering_maxit && !ok; j++) {
                mu *= w->s.steering_c_mu;
                if ((rc = steer_qp(w, mu)) != 0) return rc;
                red = pred_reduction(w, w->Gd, viol);
                ok = red >= c_viol * red_ref - vtol;
            }
            // GRANSO's steering_maxit trials lower mu by 0.9^10 = 0.35 at most, nothing
            // against a gradient of f 1e4 times those of the constraints (HS062 from x0 with
            // H = I: the step left the unit box by 200, into the logarithms' wrong side).
            // The multipliers of the steering QP are capped at 1, so mu must fall below about
            // 1 / |lambda|: continue by factors of 10 until the step reduces the linearized
            // violation as required. Only while the step increases the linearized violation
            // (red < 0): a step that reduces it, if by less than asked, keeps its mu (HS074
            // near feasibility: mu fell 0.15 -> 2e-7 and phi no longer saw f)
            const double mu_std = mu;
            const int feas = feasible(w, w->ci, w->ce);
            int extra = 0;
            for (int j = 0; j < STEER_EXTRA && !ok && red < -vtol && feas; j++) {
                mu *= STEER_EXTRA_C_MU;
                extra = 1;
                if ((rc = steer_qp(w, mu)) != 0) return rc;
                red = pred_reduction(w, w->Gd, viol);
                ok = red >= c_viol * red_ref - vtol;
            }
            if (extra && !ok) { // no mu did it: GRANSO's answer (a collapsed mu helps nobody)
                mu = mu_std;
                if ((rc = steer_qp(w, mu)) != 0) return rc;
            }
        }
    }
    // d = -mu HGc[:,0] - HGc[:,1:] y
    double *coef = w->sq;
    coef[0] = -mu;
    for (int j = 0; j < mc; j++)
        coef[1 + j] = -w->qy[j];
    cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, HGc, n, coef, 1, 0.0, w->d, 1);
    for (int j = 0; j < k; j++)
        w->wl[j] = -coef[j];
    w->wl_ok = 1;
    *mu_out = mu;
    return 0;
}

/* push the point xs with gradients Gs into the sample ring */
static void push_sample_at(ncvx_sqp *w, const double *xs, const double *Gs)
{
    const size_t nk = (size_t)w->n * w->k;
    if (w->nslots == 1) { // the only sample is the current point itself: no copy
        w->scount = 1;
        return;
    }
    memcpy(w->sx + (size_t)w->shead * w->n, xs, (size_t)w->n * sizeof *xs);
    w->lb[w->shead] = 0;
    memcpy(w->sG + (size_t)w->shead * nk, Gs, nk * sizeof *Gs);
    w->shead = (w->shead + 1) % w->nslots;
    if (w->scount < w->nslots) w->scount++;
}

/* push the current point into the sample ring */
static void push_sample(ncvx_sqp *w)
{
    push_sample_at(w, w->x, w->G);
}

/* H = I exactly: no update and no scaling since the last reset */
static int h_identity(const ncvx_sqp *w)
{
    return w->h.updates == 0 && w->h.gamma == 1;
}

/* complementarity max_i |lam_i c_i| of the inequalities at x */
static void kkt_comp(ncvx_sqp *w)
{
    double m = 0;
    for (int i = 0; i < w->mi; i++)
        m = fmax(m, fabs(w->lam[i] * w->ci[i]));
    w->kkt_comp = m;
}

/* The KKT certificate of the original problem (documented in ncvx.h, ncvx_info.kkt_stat):
 * stationarity ||conv(grad f) + sum lam grad c||_2 <= kkt_tol max(1, ||grad f||_2),
 * complementarity max |lam_i c_i| <= kkt_tol max(1, |f|); feasibility is tested by
 * converged() itself. */
static int kkt_ok(const ncvx_sqp *w)
{
    const double t = w->s.kkt_tol;
    return w->kkt_res <= t * fmax(1, w->gnorm) && w->kkt_comp <= t * fmax(1, fabs(w->f));
}

/* ||r||_2 of the certificate with multipliers of the original problem. The penalty's QP may
 * weight one equality's gradients at different samples with opposite signs (the l1 term's
 * subgradients on both sides of c_e = 0): sum_a y_a grad c(x_a) then cancels up to the
 * curvature of c times evaldist, which certifies points that are not KKT points (HS6: x
 * 8e-4 from x*, residual 2e-9). The KKT conditions need lambda_i times a convex combination
 * of the sampled gradients of c_i: per equality, the weights of the minority sign are
 * dropped and the others rescaled to the same sum (lambda_i unchanged) before the residual
 * is formed. r = A y on entry (kept); xt is scratch. */
static double kkt_residual(ncvx_sqp *w, int L, const double *r)
{
    const int n = w->n, k = w->k, mi = w->mi;
    const size_t nk = (size_t)n * k;
    int mixed = 0;
    for (int e = 0; e < w->me && !mixed; e++) {
        int pos = 0, neg = 0;
        for (int a = 0; a < L; a++) {
            const double v = w->sy[(size_t)a * k + 1 + mi + e];
            pos |= v > 0;
            neg |= v < 0;
        }
        mixed = pos && neg;
    }
    if (!mixed) return cblas_dnrm2(n, r, 1);
    double *rc = w->xt;
    memcpy(rc, r, (size_t)n * sizeof *rc);
    for (int e = 0; e < w->me; e++) {
        const int c = 1 + mi + e;
        double sp = 0, sn = 0;
        for (int a = 0; a < L; a++) {
            const double v = w->sy[(size_t)a * k + c];
            if (v > 0)
                sp += v;
            else
                sn += v;
        }
        if (!(sp > 0 && sn < 0)) continue;
        const double sum = sp + sn, keep = sum >= 0 ? sp : sn;
        for (int a = 0; a < L; a++) {
            const double v = w->sy[(size_t)a * k + c];
            const double vn = (sum >= 0) == (v > 0) && v != 0 ? v * (sum / keep) : 0;
            const double *Ga = w->nslots == 1 ? w->G : w->sG + (size_t)w->near[a] * nk;
            cblas_daxpy(n, vn - v, Ga + (size_t)c * n, 1, rc, 1);
        }
    }
    return cblas_dnrm2(n, rc, 1);
}

/* stationarity measure at the current point (after push_sample), with the current H */
static double stationarity_ex(ncvx_sqp *w, int identity)
{
    const int n = w->n, k = w->k, mi = w->mi;
    // smooth case first: ||grad phi||
    cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, w->G, n, w->w, 1, 0.0, w->tmp, 1);
    double gn = cblas_dnrm2(n, w->tmp, 1);
    w->last_nsamp = 1;
    w->gnorm = cblas_dnrm2(n, w->G, 1);
    if (gn <= w->s.opt_tol) {
        // grad phi = G w: the multipliers are w[1:] / mu
        for (int i = 0; i < w->mc; i++)
            w->lam[i] = w->w[1 + i] / w->mu;
        w->kkt_res = gn / w->mu;
        w->stat_e = gn;
        kkt_comp(w);
        return gn;
    }
    // samples within evaldist of x (GRANSO measures ||x_k - x_j||)
    // ||x_k - x_j|| >= ||x_{k-1} - x_j|| - ||x_k - x_{k-1}||: samples whose lower bound
    // exceeds evaldist are skipped without an O(n) distance; the selection stays exact
    int L = 0;
    for (int j = 0; j < w->scount; j++) {
        if (w->nslots == 1) {
            w->near[L++] = j;
            continue;
        }
        const double *xj = w->sx + (size_t)j * n;
        if (w->lb[j] > w->radius) continue;
        double dist = 0;
        for (int i = 0; i < n; i++) {
            double t = w->x[i] - xj[i];
            dist += t * t;
        }
        w->lb[j] = sqrt(dist);
        if (w->lb[j] <= w->radius) w->near[L++] = j;
    }
    if (L == 0) return gn; // cannot happen: the current point is in the ring
    w->last_nsamp = L;
    const int N = L * k;
    const size_t nk = (size_t)n * k;
    // HA = H A, A = [G_j], one multi-column apply per sample; M = A' H A
    double *M = w->M;
    for (int attempt = identity; attempt < 2; attempt++) {
        for (int a = 0; a < L; a++) {
            const double *Ga = w->nslots == 1 ? w->G : w->sG + (size_t)w->near[a] * nk;
            if (attempt == 0)
                ncvx_hess_apply(&w->h, k, Ga, w->HA + (size_t)a * nk);
            else
                memcpy(w->HA + (size_t)a * nk, Ga, nk * sizeof *Ga);
        }
        for (int a = 0; a < L; a++) {
            const double *Ga = w->nslots == 1 ? w->G : w->sG + (size_t)w->near[a] * nk;
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, N, n, 1.0, Ga, n, w->HA, n, 0.0,
                        M + (size_t)a * k, N);
        }
        for (int j = 0; j < N; j++)
            for (int i = 0; i < j; i++) {
                double v = 0.5 * (M[(size_t)j * N + i] + M[(size_t)i * N + j]);
                M[(size_t)j * N + i] = M[(size_t)i * N + j] = v;
            }
        // variables per sample: (f weight in [0, mu], sum = mu), c_i in [0,1], c_e in [-1,1];
        // linear term -[0; c_i; c_e] (the f values add a constant)
        memset(w->sCi, 0, (size_t)N * 2 * N * sizeof *w->sCi);
        for (int v = 0; v < N; v++) {
            int c = v % k;
            w->sq[v] = c == 0 ? 0 : -(c <= mi ? w->ci[c - 1] : w->ce[c - 1 - mi]);
            w->sCi[(size_t)v * N + v] = 1;
            w->sci0[v] = (c > mi) ? -1 : 0;
            w->sCi[(size_t)(N + v) * N + v] = -1;
            w->sci0[N + v] = c == 0 ? -w->mu : -1;
            w->sCe[v] = c == 0 ? 1 : 0;
        }
        w->sce0[0] = w->mu;
        int rc = qp_robust(N, n, M, w->sRinv, w->sq, w->sgs, w->syp, 1, w->sCe, w->sce0, 2 * N,
                           w->sCi, w->sci0, w->sy, w->swork, w->siwork);
        if (rc == 0) {
            cblas_dgemv(CblasColMajor, CblasNoTrans, n, N, -1.0, w->HA, n, w->sy, 1, 0.0, w->tmp,
                        1);
            double sv = cblas_dnrm2(n, w->tmp, 1);
            if (w->HA == w->HG) w->hg_ok = 0;
            // the certificate: y per sample = (f weight, c_i, c_e multipliers) of the
            // penalty; divided by mu they are a convex combination of the sampled grad f
            // and the multipliers of the original problem, whose residual is measured in
            // the Euclidean norm (H may have eigenvalues far from 1 near kinks)
            if (attempt == 0 && !h_identity(w)) {
                // multipliers from the H-metric QP certify nothing in the Euclidean norm
                // (H may be tiny along the residual): see certify()
                double *r = w->tmp;
                for (int i = 0; i < n; i++)
                    r[i] = 0;
                for (int a = 0; a < L; a++) {
                    const double *Ga = w->nslots == 1 ? w->G : w->sG + (size_t)w->near[a] * nk;
                    cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, Ga, n,
                                w->sy + (size_t)a * k, 1, 1.0, r, 1);
                }
                // reported: ||A y||_2 (||H A y|| means little to a user when H is badly scaled)
                w->stat_e = cblas_dnrm2(n, r, 1);
                w->kkt_res = NAN;
                return sv;
            }
            for (int i = 0; i < w->mc; i++)
                w->lam[i] = 0;
            double *r = w->tmp;
            for (int i = 0; i < n; i++)
                r[i] = 0;
            for (int a = 0; a < L; a++) {
                const double *Ga = w->nslots == 1 ? w->G : w->sG + (size_t)w->near[a] * nk;
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, Ga, n, w->sy + (size_t)a * k, 1,
                            1.0, r, 1);
                for (int i = 0; i < w->mc; i++)
                    w->lam[i] += w->sy[(size_t)a * k + 1 + i] / w->mu;
            }
            // a QP answer that breaks its own constraints (boxes, f weights summing to mu)
            // certifies nothing: the dual QP here is singular and only solved approximately.
            // The f weights are normalized by their actual sum (a convex combination).
            double wsum = 0, bad = 0;
            for (int v = 0; v < N; v++) {
                const int c = v % k;
                const double hi = c == 0 ? w->mu : 1, lo = c > mi ? -1 : 0;
                if (c == 0) wsum += w->sy[v];
                bad = fmax(bad, fmax(w->sy[v] - hi, lo - w->sy[v]));
            }
            w->stat_e = cblas_dnrm2(n, r, 1);
            {
                const int cur = w->nslots == 1 ? -1 : (w->shead + w->nslots - 1) % w->nslots;
                double wn = 0, wt = 0;
                for (int a = 0; a < L; a++)
                    for (int c = 0; c < k; c++) {
                        const double v = fabs(w->sy[(size_t)a * k + c]);
                        wt += v;
                        if (w->nslots > 1 && w->near[a] != cur) wn += v;
                    }
                w->nbr_w = wt > 0 ? wn / wt : 0;
            }
            if (wsum > 0.5 * w->mu && bad <= 1e-9) {
                for (int i = 0; i < w->mc; i++)
                    w->lam[i] *= w->mu / wsum;
                w->kkt_res = kkt_residual(w, L, r) / wsum;
            } else {
                w->kkt_res = INFINITY;
            }
            kkt_comp(w);
            return sv;
        }
        // GRANSO's first fallback: the identity in place of H
        if (w->s.print_level >= 2)
            fprintf(w->log, "  stationarity QP failed (code %d, %d samples, %s)\n", rc, L,
                    attempt ? "identity" : "H");
    }
    if (w->HA == w->HG) w->hg_ok = 0;
    w->kkt_res = INFINITY;
    w->stat_e = NAN; // no QP answer: nothing to report
    return INFINITY;
}

static double stationarity(ncvx_sqp *w)
{
    return stationarity_ex(w, 0);
}

/* The KKT certificate at x: the stationarity QP in the Euclidean metric (H = I), whose
 * multipliers make w->lam and the residual w->kkt_res. Only at candidate ends (and line-search
 * failures): one more small QP there. Overwrites tmp (and HG when one sample is kept). */
static void certify(ncvx_sqp *w)
{
    (void)stationarity_ex(w, 1);
}

/* Gradient sampling proper (Burke, Lewis, Overton 2005): evaluate the gradients at up to
 * min(n + 1, nslots - 1) points drawn uniformly from the ball of radius evaldist around x and
 * add them to the sample ring, so that the stationarity QP sees every piece of a kink near x
 * (the past iterates alone may miss some). Uses xt/Gt/cit/cet as scratch. Returns 0, or -1
 * callback failure / -2 evaluation budget. */
static int sample_ball(ncvx_sqp *w)
{
    const int n = w->n;
    int m = w->nslots - 1 < n + 1 ? w->nslots - 1 : n + 1;
    for (int j = 0; j < m; j++) {
        randn(&w->rng, w->xt, n);
        const double nr = cblas_dnrm2(n, w->xt, 1);
        if (!(nr > 0)) continue;
        const double r = w->radius * pow(rng_unif(&w->rng), 1.0 / n) / nr;
        for (int i = 0; i < n; i++)
            w->xt[i] = w->x[i] + r * w->xt[i];
        double ft;
        int rc = evaluate(w, w->xt, &ft, w->Gt, w->cit, w->cet);
        if (rc < 0) return rc;
        if (rc != NCVX_LSE_OK) continue;
        push_sample_at(w, w->xt, w->Gt);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* line-search evaluation: trial point x + t d                                                  */

typedef struct {
    ncvx_sqp *w;
    double mu;
    int abort_code; ///< -1 callback, -2 budget
} ls_ctx;

static int ls_eval(void *vctx, double t, int grad, double *phi, double *gtd, int *quit)
{
    ls_ctx *c = vctx;
    ncvx_sqp *w = c->w;
    const int n = w->n;
    for (int i = 0; i < n; i++)
        w->xt[i] = w->x[i] + t * w->d[i];
    int rc = evaluate(w, w->xt, &w->ft, grad ? w->Gt : NULL, w->cit, w->cet);
    if (rc < 0) {
        c->abort_code = rc;
        return NCVX_LSE_ABORT;
    }
    *quit = 0;
    if (rc == NCVX_LSE_NONFIN) return NCVX_LSE_NONFIN;
    w->phit = penalty(w, c->mu, w->ft, w->cit, w->cet, w->wt);
    *phi = w->phit;
    *quit = feasible(w, w->cit, w->cet) && w->ft <= w->s.fvalquit;
    if (grad) {
        cblas_dgemv(CblasColMajor, CblasTrans, n, w->k, 1.0, w->Gt, n, w->d, 1, 0.0, w->Gd, 1);
        *gtd = dir_deriv(w, w->Gd, w->cit, w->cet, w->wt);
        if (!isfinite(*gtd)) return NCVX_LSE_NONFIN;
    }
    return NCVX_LSE_OK;
}

static ncvx_ls_result line_search(ncvx_sqp *w, ls_ctx *c, double gtd0)
{
    ncvx_ls_param lp;
    lp.phi0 = w->phi;
    lp.g0 = gtd0;
    lp.xx = cblas_ddot(w->n, w->x, 1, w->x, 1);
    lp.xd = cblas_ddot(w->n, w->x, 1, w->d, 1);
    lp.dd = cblas_ddot(w->n, w->d, 1, w->d, 1);
    lp.c1 = w->s.wolfe1;
    lp.c2 = w->s.wolfe2;
    lp.t0 = w->s.init_step_size;
    lp.step_tol = w->s.step_tol;
    lp.maxit = w->s.linesearch_maxit;
    lp.backtrack = w->s.is_backtrack_linesearch;
    c->mu = w->mu;
    return ncvx_linesearch_wolfe(&lp, ls_eval, c);
}

/* ------------------------------------------------------------------------------------------ */
/* solve                                                                                        */

/* A step along the gradient-sampling direction with H = I (Burke, Lewis, Overton 2005): the
 * stationarity QP's -A y is the least-norm element of the hull of the gradients sampled near
 * x (with the constraint terms), a descent direction of phi there when x is not (approximately)
 * Clarke stationary. First with the samples in the ring, then with fresh ones drawn from the
 * ball of radius evaldist, again while the direction fails: a piece of a kink that no sample
 * saw can make it an ascent direction (MAXQUAD from x0 = 0, where all 5 pieces meet: 11
 * samples did not suffice). Returns 1 (step found: ls, xt/ft/Gt/... hold the trial point), 0
 * (none), -1 (evaluation failure or budget: *term set). */
static int sampled_step(ncvx_sqp *w, ls_ctx *lc, ncvx_ls_result *ls, ncvx_term *term)
{
    const int n = w->n, k = w->k;
    int have_d = 0;
    for (int pass = 0; pass < SAMPLE_PASSES; pass++) {
        if (pass >= 1) {
            if (w->nslots < 2) break;
            int src = sample_ball(w);
            if (src == 0 && have_d) {
                // the failed direction's own evidence (a bundle method's null step): the
                // gradient at x + (radius / 2) d / |d| belongs to a piece of phi that rises
                // along d, which random samples easily miss (MAXQUAD at 0: the smallest of
                // the 5 pieces is the largest in about 1/32 of the directions)
                const double dn = cblas_dnrm2(n, w->d, 1);
                if (dn > 0) {
                    const double t = 0.5 * w->radius / dn;
                    for (int i = 0; i < n; i++)
                        w->xt[i] = w->x[i] + t * w->d[i];
                    double ft;
                    src = evaluate(w, w->xt, &ft, w->Gt, w->cit, w->cet);
                    if (src == NCVX_LSE_OK) push_sample_at(w, w->xt, w->Gt);
                    if (src > 0) src = 0;
                }
            }
            if (src < 0) {
                *term = src == -2 ? NCVX_TERM_MAXEVAL : NCVX_TERM_CALLBACK;
                return -1;
            }
        }
        const double sn = stationarity(w);
        if (isfinite(sn) && sn > 0) {
            // tmp = A y, the certificate's residual (H = I now): d = -A y
            for (int i = 0; i < n; i++)
                w->d[i] = -w->tmp[i];
            cblas_dgemv(CblasColMajor, CblasTrans, n, k, 1.0, w->G, n, w->d, 1, 0.0, w->Gd, 1);
            const double g2 = dir_deriv(w, w->Gd, w->ci, w->ce, w->w);
            have_d = 1;
            if (g2 < 0) {
                *ls = line_search(w, lc, g2);
                if (ls->fail == 3) {
                    *term = lc->abort_code == -2 ? NCVX_TERM_MAXEVAL : NCVX_TERM_CALLBACK;
                    return -1;
                }
                if (ls->fail == 0) return 1;
            }
        }
    }
    return 0;
}

static void finish(ncvx_sqp *w, double *x, ncvx_info *info, ncvx_term term)
{
    // a certified point was found: the run ends there with code 0, whatever stopped the
    // polishing steps after it (a line-search failure, maxit), unless the user or the callback
    // stopped the run
    const int at_cert = w->cert && term != NCVX_TERM_USER_HALT && term != NCVX_TERM_CALLBACK;
    if (at_cert) term = NCVX_TERM_STATIONARY;
    ncvx_info_fill(info, &w->ev, x, term); // the best point, counts
    if (at_cert) {
        memcpy(x, w->xc, (size_t)w->n * sizeof *x);
        memcpy(w->lam, w->lamc, (size_t)w->mc * sizeof *w->lam);
        w->kkt_res = w->kkt_res_c;
        w->kkt_comp = w->kkt_comp_c;
        w->stat_e = w->stat_e_c;
        info->f = w->fc;
        info->viol_ineq = w->vic;
        info->viol_eq = w->vec;
        info->viol_ineq_max = w->vicmax;
        info->viol_eq_max = w->vecmax;
    }
    // the certificate at the last iterate, in the Euclidean metric (computed during the run
    // only at candidate ends)
    if (w->started && !(w->kkt_res >= 0)) certify(w);
    info->stat = w->stat_e;
    info->kkt_stat = w->kkt_res;
    info->kkt_comp = w->kkt_comp;
    info->restarts = w->restarts + w->ls_restarts;
    info->mu = w->mu;
    info->iters = w->iter;
    info->setup_time = w->setup_time;
    info->solve_time = w->elapsed0;
    if (w->s.print_level >= 1) ncvx_info_print(w->log, NCVX_BFGS_SQP, info);
}

/* x is a certified KKT point: keep it; code 0 once its violation is below POLISH_VIOL times
 * the tolerances. A point that meets the tolerances only just costs f up to lam times the
 * violation (HS015: lam = 700, violation 5e-7 of the tolerance 1e-6, f 3e-4 below f*); near
 * such a point SQP converges fast, so a few more steps usually bring the violation far below
 * the tolerance. The run then ends at the latest certified point, whatever stops it. */
static int stationary_end(ncvx_sqp *w, ncvx_term *term)
{
    memcpy(w->xc, w->x, (size_t)w->n * sizeof *w->x);
    memcpy(w->lamc, w->lam, (size_t)w->mc * sizeof *w->lam);
    w->fc = w->f;
    w->vic = ncvx_viol_ineq(w->ci, w->mi);
    w->vec = ncvx_viol_eq(w->ce, w->me);
    w->vicmax = ncvx_viol_ineq_max(w->ci, w->mi);
    w->vecmax = ncvx_viol_eq_max(w->ce, w->me);
    w->kkt_res_c = w->kkt_res;
    w->kkt_comp_c = w->kkt_comp;
    w->stat_e_c = w->stat_e;
    w->cert = 1;
    if (w->vicmax <= POLISH_VIOL * w->s.viol_ineq_tol &&
        w->vecmax <= POLISH_VIOL * w->s.viol_eq_tol) {
        *term = NCVX_TERM_STATIONARY;
        return 1;
    }
    if (w->s.print_level >= 2)
        fprintf(w->log, "  iter %d: certified KKT point, violation %.2e / %.2e: polishing\n",
                w->iter, w->vicmax, w->vecmax);
    return 0;
}

/* mu for a restart at a non-KKT point: mu0 at most (above, phi may decrease without bound
 * off the feasible set) and 1 / (2 max |lam_i|) at most (the multipliers of the last
 * certificate): the l1 penalty is exact only for mu max |lam_i| < 1 */
static double mu_restore_value(const ncvx_sqp *w)
{
    double lmax = 0;
    for (int i = 0; i < w->mc; i++)
        if (isfinite(w->lam[i])) lmax = fmax(lmax, fabs(w->lam[i]));
    return lmax > 0 ? fmin(w->s.mu0, 0.5 / lmax) : w->s.mu0;
}

static int converged(ncvx_sqp *w, ncvx_term *term)
{
    if (w->cert && ++w->polish > POLISH_ITERS) {
        *term = NCVX_TERM_STATIONARY; // the latest certified point (finish)
        return 1;
    }
    if (!feasible(w, w->ci, w->ce)) return 0;
    if (w->stat <= w->s.opt_tol) {
        if (!h_identity(w)) certify(w);
        if (kkt_ok(w)) {
            // a certificate that leans on gradients sampled up to evaldist away (kinks of f
            // or c) places x within about the radius of a KKT point only (GRANSO's Rosenbrock:
            // 1.3e-5 from x*, f 2e-3 too high): continue with a smaller radius, down to
            // RADIUS_FINAL evaldist, as gradient sampling's epsilon reduction does
            if (w->nbr_w > NBR_TOL && w->radius > w->s.evaldist * RADIUS_FINAL * 1.5) {
                // unless x certifies itself: the QP with the current point only (radius 0)
                const double r0 = w->radius;
                w->radius = 0;
                certify(w);
                w->radius = r0;
                if (kkt_ok(w)) return stationary_end(w, term);
                w->radius /= RADIUS_SHRINK;
                if (w->s.print_level >= 2)
                    fprintf(w->log,
                            "  iter %d: certified with neighbours' gradients: radius %.1e\n",
                            w->iter, w->radius);
                return 0;
            }
            return stationary_end(w, term);
        }
        if (w->cert) return 0; // polishing: no restarts
        // the penalty function is stationary but x is not a KKT point of the problem (mu
        // too small for phi to see f, or H badly scaled near a kink): restore mu0, restart
        // from H = I and continue, as a careful user would; after MAX_RESTARTS say so
        // restarts that keep halving the KKT residual are progress (a badly conditioned
        // problem: heat_source restarted 3 times within 6 iterations while the residual fell
        // from 2e-4 to 6e-5); only the others count towards MAX_RESTARTS
        if (!(w->kkt_res <= 0.5 * w->kkt_restart)) w->stalls++;
        w->kkt_restart = w->kkt_res;
        if (w->stalls > MAX_RESTARTS) {
            *term = NCVX_TERM_NOT_KKT;
            return 1;
        }
        w->restarts++;
        // mu back up, to mu0 at most (above, phi may decrease without bound off the feasible
        // set) and to 1 / (2 max |lam_i|) at most: the l1 penalty is exact only for
        // mu max |lam_i| < 1, and with mu0 = 1 an f falling faster than |c| grows (the
        // Rayleigh quotient, lam = 30) made phi unbounded at the restart (code 8)
        if (w->constrained) {
            const double mu_up = mu_restore_value(w);
            if (w->mu < mu_up) w->mu = mu_up;
        }
        w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
        ncvx_hess_reset(&w->h);
        w->hg_ok = 0;
        w->rel_diff = INFINITY;
        // the next step along the gradient-sampling direction: the steering direction with
        // H = I is the one that led here (a BFGS update across a kink collapses H again)
        w->gs_next = 1;
        // and a smaller sampling radius (gradient sampling's epsilon reduction, Burke, Lewis,
        // Overton 2005): the penalty is stationary over the samples within the radius, which
        // near a curved constraint leaves x up to curvature times radius away from a KKT
        // point (HS6: 8e-4 with evaldist = 1e-4)
        w->radius = fmax(w->radius / RADIUS_SHRINK, w->s.evaldist * RADIUS_MIN);
        if (w->s.print_level >= 2)
            fprintf(w->log,
                    "  iter %d: not a KKT point (residual %.2e, complementarity %.2e): "
                    "restart %d with mu = %.3e, H = I\n",
                    w->iter, w->kkt_res, w->kkt_comp, w->restarts, w->mu);
        return 0;
    }
    if (w->rel_diff <= w->s.rel_tol) {
        *term = NCVX_TERM_REL_TOL;
        return 1;
    }
    if (w->f <= w->s.fvalquit) {
        *term = NCVX_TERM_FVALQUIT;
        return 1;
    }
    return 0;
}

static void swap_ptr(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

ncvx_status ncvx_sqp_solve(ncvx_sqp *w, double *x, ncvx_info *info)
{
    const int n = w->n, k = w->k;
    ncvx_term term = NCVX_TERM_UNKNOWN;
    ncvx_status st = NCVX_OK;
    w->t0 = ncvx_now();
    w->log = w->s.log ? w->s.log : stdout;

    if (!w->resume) {
        w->elapsed0 = 0;
        w->hg_ok = 0;
        ncvx_hess_reset(&w->h); // a fresh run starts from H = I
        w->rng = (uint64_t)w->s.seed;
        if (!all_finite(x, (size_t)n)) {
            st = NCVX_FAIL(NCVX_ERR_NONFINITE, "x0 is not finite");
            goto fail;
        }
        w->iter = 0;
        ncvx_evaluator_reset(&w->ev);
        w->restarts = w->ls_restarts = w->stalls = w->mu_restores = 0;
        w->cert = w->polish = 0;
        w->kkt_restart = INFINITY;
        w->gs_next = 0;
        w->radius = w->s.evaldist;
        w->rows = 0;
        w->shead = w->scount = 0;
        memcpy(w->x, x, (size_t)n * sizeof *x);
        int rc = evaluate(w, w->x, &w->f, w->G, w->ci, w->ce);
        if (rc == -1) st = NCVX_FAIL(NCVX_ERR_CALLBACK, "evaluation failed at x0");
        if (rc == -2) st = NCVX_FAIL(NCVX_ERR_CALLBACK, "max_evals allows no evaluation");
        if (rc == NCVX_LSE_NONFIN)
            st = NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite f, c or gradient at x0");
        if (rc != NCVX_LSE_OK) goto fail;
        w->mu = w->constrained ? w->s.mu0 : 1.0;
        w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
        w->started = 1;
        push_sample(w);
        w->stat = stationarity(w);
        w->rel_diff = INFINITY;
        int halt = monitor(w, 1, 0);
        print_row(w, 0, NAN, -1); // no step, no direction at x0
        if (converged(w, &term)) goto done;
        if (halt) {
            term = NCVX_TERM_USER_HALT;
            goto done;
        }
    } else {
        // continuing an imported state (exported after an iteration, possibly from the
        // monitor): the end-of-iteration tests come first, as in the uninterrupted run
        w->rows = 0;
        w->resume = 0;
        if (converged(w, &term)) goto done;
        if (w->s.max_evals > 0 && w->ev.evals >= w->s.max_evals) {
            term = NCVX_TERM_MAXEVAL;
            goto done;
        }
    }
    const int min_level = w->constrained ? 0 : POSTQP_FALLBACK_LEVEL;
    const int max_level = LAST_FALLBACK_LEVEL;
    ls_ctx lc = {w, w->mu, 0};
    while (w->iter < w->s.maxit) {
        int level = min_level, random_attempts = 0, restarted = 0;
        long evals0 = w->ev.evals;
        double mu_snap = w->mu;
        ncvx_ls_result ls = {0, 0, 0, 0};
        int mu_changed = 0, pre = 0, redirect = 0;
        if (w->gs_next) { // restarted at a non-KKT point: the gradient-sampling step first
            w->gs_next = 0;
            const int r = sampled_step(w, &lc, &ls, &term);
            if (r < 0) goto done;
            if (r == 1) {
                level = POSTQP_FALLBACK_LEVEL;
                pre = 1;
            }
        }
        while (!pre) { // direction attempts of one iteration (fallback loop)
            mu_changed = 0;
            w->wl_ok = 0;
            int bump = 0;
            if (level < POSTQP_FALLBACK_LEVEL) {
                const double *HGc = w->G;
                if (level == 0) {
                    if (!w->hg_ok) {
                        ncvx_hess_apply(&w->h, k, w->G, w->HG);
                        w->hg_ok = 1;
                    }
                    HGc = w->HG;
                }
                double mu_new = w->mu;
                int src = steering(w, HGc, &mu_new);
                if (src != 0) {
                    bump = 1; // GRANSO: a failed steering QP falls back to the next level
                    if (w->s.print_level >= 2)
                        fprintf(w->log, "  iter %d: steering QP failed (level %d, code %d)\n",
                                w->iter + 1, level, src);
                } else if (mu_new != w->mu) {
                    w->mu = mu_new;
                    w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
                    mu_changed = 1;
                }
            } else if (level == 2) {
                if (!w->hg_ok) {
                    ncvx_hess_apply(&w->h, k, w->G, w->HG);
                    w->hg_ok = 1;
                }
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, -1.0, w->HG, n, w->w, 1, 0.0, w->d,
                            1);
            } else if (level == 3) {
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, -1.0, w->G, n, w->w, 1, 0.0, w->d,
                            1);
            } else {
                randn(&w->rng, w->d, n);
                random_attempts++;
            }
            double gtd = NAN;
            if (!bump) {
                cblas_dgemv(CblasColMajor, CblasTrans, n, k, 1.0, w->G, n, w->d, 1, 0.0, w->Gd, 1);
                gtd = dir_deriv(w, w->Gd, w->ci, w->ce, w->w);
                if (!isfinite(gtd))
                    bump = 1;
                else if (gtd > 0 && level == LAST_FALLBACK_LEVEL) {
                    cblas_dscal(n, -1.0, w->d, 1); // random ascent direction: flip it
                    gtd = -gtd;
                }
                if (!(gtd < 0)) bump = 1; // non-descent (linesearch_nondescent_maxit = 0)
                if (bump && w->s.print_level >= 2)
                    fprintf(w->log, "  iter %d: not a descent direction (level %d, %.3e)\n",
                            w->iter + 1, level, gtd);
            }
            if (!bump) {
                ls = line_search(w, &lc, gtd);
                if (ls.fail == 2 && w->constrained) {
                    // retry with lower mu: phi may be unbounded below off the feasible set
                    int tries = w->iter < 1 ? LS_REATTEMPTS_X0 : LS_REATTEMPTS;
                    double cm = w->iter < 1 ? LS_C_MU_X0 : LS_C_MU;
                    for (int j = 0; j < tries && ls.fail == 2; j++) {
                        w->mu *= cm;
                        w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
                        cblas_dgemv(CblasColMajor, CblasTrans, n, k, 1.0, w->G, n, w->d, 1, 0.0,
                                    w->Gd, 1);
                        double g2 = dir_deriv(w, w->Gd, w->ci, w->ce, w->w);
                        if (!(g2 < 0)) break;
                        ls = line_search(w, &lc, g2);
                        if (ls.fail == 0) mu_changed = 1;
                    }
                }
                if (ls.fail == 2 && w->constrained && level < POSTQP_FALLBACK_LEVEL &&
                    redirect < UNB_REDIRECTS) {
                    // still unbounded along d: lowering mu along the same d cannot help when
                    // the direction itself leaves the region where the l1 penalty is exact
                    // (a feasible x0 of a cubic f with H = I: d = -mu grad f runs far outside
                    // the bounds, phi falls without end for every mu). Lower mu and recompute
                    // the steering direction, whose QP then sees the constraints
                    redirect++;
                    mu_snap *= UNB_C_MU;
                    w->mu = mu_snap;
                    w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
                    if (w->s.print_level >= 2)
                        fprintf(w->log, "  iter %d: not bracketed: steering again with mu = %.3e\n",
                                w->iter + 1, w->mu);
                    continue;
                }
                if (ls.fail == 3) {
                    term = lc.abort_code == -2 ? NCVX_TERM_MAXEVAL : NCVX_TERM_CALLBACK;
                    w->mu = mu_snap;
                    w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
                    goto done;
                }
                if (ls.fail == 0) break; // step accepted
            }
            // restore the snapshot (mu, phi at x) and bump the fallback level
            w->mu = mu_snap;
            w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
            int can = level < max_level;
            if (can)
                level++;
            else if (level == LAST_FALLBACK_LEVEL && random_attempts < w->s.max_random_attempts)
                can = 1;
            if (!bump && ls.fail == 1 && !restarted) certify(w);
            if (!bump && ls.fail == 1 && !restarted && !kkt_ok(w)) {
                // a bracketed failure at a point that is not a KKT point: the quasi-Newton
                // model has gone stale (near a kink BFGS learns huge curvature, and the
                // steering direction sees one piece of phi only). Restart from H = I and try
                // the gradient-sampling direction (Burke, Lewis, Overton 2005): the
                // stationarity QP's -A y is the least-norm element of the hull of the
                // gradients sampled near x, a descent direction of phi there when x is not
                // (approximately) Clarke stationary
                restarted = 1;
                ncvx_hess_reset(&w->h);
                w->hg_ok = 0;
                w->ls_restarts++;
                const int accepted = sampled_step(w, &lc, &ls, &term);
                if (accepted < 0) goto done;
                if (accepted) {
                    level = POSTQP_FALLBACK_LEVEL;
                    break;
                }
                if (w->s.print_level >= 2)
                    fprintf(w->log, "  iter %d: restart (H = I, sampled direction) failed\n",
                            w->iter + 1);
                // mu may have collapsed (steering lowers it, nothing raises it): phi = mu f + v
                // is then stationary at non-KKT points of the problem. Raise mu as a restart
                // at a penalty-stationary point does, and steer again from H = I
                if (w->constrained && w->mu_restores < MAX_RESTARTS) {
                    const double mu_up = mu_restore_value(w);
                    if (w->mu < mu_up) {
                        w->mu_restores++;
                        mu_snap = mu_up;
                        w->mu = mu_up;
                        w->phi = penalty(w, w->mu, w->f, w->ci, w->ce, w->w);
                        if (w->s.print_level >= 2)
                            fprintf(w->log, "  iter %d: mu raised to %.3e\n", w->iter + 1, w->mu);
                    }
                }
                level = min_level;
                random_attempts = 0;
                ls.fail = 1;
                continue;
            }
            if (!bump && ls.fail == 1) {
                int feas = feasible(w, w->ci, w->ce);
                if (HALT_ON_LS_BRACKET && feas) {
                    term = NCVX_TERM_LS_FEASIBLE;
                    goto done;
                }
                if (!can) {
                    term = feas ? NCVX_TERM_LS_FEASIBLE : NCVX_TERM_LS_INFEASIBLE;
                    goto done;
                }
            } else if (!bump && ls.fail == 2) {
                term = NCVX_TERM_LS_UNBOUNDED;
                goto done;
            } else if (!can) {
                term = NCVX_TERM_NO_DESCENT;
                goto done;
            }
            if (w->s.print_level >= 2)
                fprintf(w->log, "  iter %d: fallback to level %d\n", w->iter + 1, level);
        }
        // step accepted: phi_prev with the (possibly lowered) mu, s = alpha d, y = Gt wt - G w
        const double phi_prev = w->phi;
        const double alpha = ls.alpha;
        const int lag_pair = level < POSTQP_FALLBACK_LEVEL && w->wl_ok && SECANT_LAGRANGIAN;
        if (lag_pair) {
            // a steering step: the secant pair of mu f + sum_e y_e c_e with the steering QP's
            // equality multipliers y_e (Powell's SQP update): the penalty's own gradient
            // difference jumps by 2 grad c_e whenever an equality changes sign, which is no
            // curvature at all. The inequalities keep the penalty's weights ([c_i >= 0] at
            // each point, as GRANSO): their jump where c_i becomes active is the curvature of
            // the kink that c_i puts in phi, which keeps the steps within the range of the
            // linearization (with the QP's multipliers, 0.01..0.04 for the volume of the CNN
            // design, the steps overshot the constraint and were cut to 1/64 by the line
            // search: compliance 438 instead of 214 after 500 evaluations)
            double *wa = w->keep, *wb = w->keep + k; // weights at the trial point and at x
            for (int j = 0; j < k; j++) {
                const int ineq = j >= 1 && j <= w->mi;
                wa[j] = ineq ? w->wt[j] : w->wl[j];
                wb[j] = ineq ? w->w[j] : w->wl[j];
            }
            cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, w->Gt, n, wa, 1, 0.0, w->y, 1);
            cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, -1.0, w->G, n, wb, 1, 1.0, w->y, 1);
        } else {
            cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1.0, w->Gt, n, w->wt, 1, 0.0, w->y, 1);
            cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, -1.0, w->G, n, w->w, 1, 1.0, w->y, 1);
        }
        swap_ptr(&w->x, &w->xt);
        swap_ptr(&w->G, &w->Gt);
        swap_ptr(&w->ci, &w->cit);
        swap_ptr(&w->ce, &w->cet);
        swap_ptr(&w->w, &w->wt);
        w->f = w->ft;
        w->phi = w->phit;
        w->hg_ok = 0;
        w->rel_diff =
            (mu_changed || phi_prev == 0) ? INFINITY : fabs(w->phi - phi_prev) / fabs(phi_prev);
        w->iter++;
        {
            const double sn = fabs(alpha) * cblas_dnrm2(n, w->d, 1);
            for (int j = 0; j < w->scount && w->nslots > 1; j++)
                w->lb[j] -= sn;
        }
        push_sample(w);
        w->stat = stationarity(w);
        // BFGS update (after the stationarity QP, as GRANSO), Powell-style damping with H s
        double *sv = w->d;
        cblas_dscal(n, alpha, sv, 1);
        const double step = cblas_dnrm2(n, sv, 1);
        double sty = cblas_ddot(n, sv, 1, w->y, 1);
        if (lag_pair && w->h.m == 0) {
            // the Lagrangian's Hessian is indefinite off the tangent space of the active
            // constraints: s'y may be tiny or negative, and the GRANSO damping (threshold
            // 1e-4 s'Hs) let H grow by 1e4 per update (HS078: max diag(G'HG) 3e11, the
            // steering QP lost all accuracy). Powell's damping in the inverse form instead:
            // s'y >= 0.2 y'Hy, with s replaced by theta s + (1 - theta) H y. Full memory
            // only: limited memory rescales H0 by s'y / y'y at every update and forgets old
            // pairs, and there GRANSO's damping did better (the CNN design of
            // configs/method_bfgs_sqp.yaml: compliance 210.5 against 214-217 in 500
            // evaluations)
            ncvx_hess_apply(&w->h, 1, w->y, w->tmp);
            const double yHy = cblas_ddot(n, w->y, 1, w->tmp, 1);
            if (yHy > 0 && sty < LAG_DAMPING * yHy) {
                const double th = (1 - LAG_DAMPING) * yHy / (yHy - sty);
                cblas_dscal(n, th, sv, 1);
                cblas_daxpy(n, 1 - th, w->tmp, 1, sv, 1);
                sty = LAG_DAMPING * yHy;
            }
        } else if (w->s.bfgs_damping > 0) {
            ncvx_hess_apply(&w->h, 1, sv, w->tmp);
            double sHs = cblas_ddot(n, sv, 1, w->tmp, 1);
            if (sty < w->s.bfgs_damping * sHs) {
                double th = (1 - w->s.bfgs_damping) * sHs / (sHs - sty);
                cblas_dscal(n, th, w->y, 1);
                cblas_daxpy(n, 1 - th, w->tmp, 1, w->y, 1);
                sty = th * sty + (1 - th) * sHs;
            }
        }
        int urc = ncvx_hess_update(&w->h, sv, w->y, sty);
        if (urc != 0 && w->s.print_level >= 2)
            fprintf(w->log, "  iter %d: BFGS update skipped (code %d)\n", w->iter, urc);
        const int ls_evals = (int)(w->ev.evals - evals0);
        int halt = monitor(w, ls_evals, step);
        print_row(w, ls_evals, step, level);
        if (converged(w, &term)) goto done;
        if (halt) {
            term = NCVX_TERM_USER_HALT;
            goto done;
        }
        const int budget = ncvx_evaluator_budget(&w->ev, w->iter, elapsed(w));
        if (budget >= 0) {
            term = (ncvx_term)budget;
            goto done;
        }
    }
    term = NCVX_TERM_MAXIT;
done:
    w->elapsed0 = elapsed(w);
    finish(w, x, info, term);
    return NCVX_OK;
fail: // no run: the starting point failed (the info of every method's error, see ncvx_solve)
    ncvx_info_fill(info, &w->ev, NULL, NCVX_TERM_UNKNOWN);
    info->setup_time = w->setup_time;
    info->solve_time = elapsed(w);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* continuation state                                                                           */

static void walk(ncvx_sqp *w, ncvx_sw *c)
{
    const int n = w->n, k = w->k;
    double hdr[6] = {STATE_MAGIC, (double)NCVX_BFGS_SQP, n, w->mi, w->me, w->nslots};
    double lm = w->s.limited_mem_size;
    ncvx_sw_a(c, hdr, 6);
    ncvx_sw_d(c, &lm);
    ncvx_sw_i(c, &w->iter);
    ncvx_sw_l(c, &w->ev.evals);
    ncvx_sw_l(c, &w->ev.grad_evals);
    ncvx_sw_d(c, &w->mu);
    ncvx_sw_d(c, &w->phi);
    ncvx_sw_d(c, &w->stat);
    ncvx_sw_d(c, &w->stat_e);
    ncvx_sw_d(c, &w->rel_diff);
    ncvx_sw_d(c, &w->kkt_res);
    ncvx_sw_d(c, &w->kkt_comp);
    ncvx_sw_d(c, &w->gnorm);
    ncvx_sw_i(c, &w->restarts);
    ncvx_sw_i(c, &w->ls_restarts);
    ncvx_sw_i(c, &w->mu_restores);
    ncvx_sw_i(c, &w->gs_next);
    ncvx_sw_d(c, &w->radius);
    ncvx_sw_i(c, &w->stalls);
    ncvx_sw_d(c, &w->nbr_w);
    ncvx_sw_d(c, &w->kkt_restart);
    ncvx_sw_a(c, w->lam, (size_t)w->mc);
    ncvx_sw_d(c, &w->ev.eval_time);
    ncvx_sw_d(c, &w->elapsed0);
    ncvx_sw_u64(c, &w->rng);
    ncvx_sw_a(c, w->x, (size_t)n);
    ncvx_sw_a(c, w->G, (size_t)n * k);
    ncvx_sw_d(c, &w->f);
    ncvx_sw_a(c, w->ci, (size_t)w->mi);
    ncvx_sw_a(c, w->ce, (size_t)w->me);
    ncvx_sw_a(c, w->w, (size_t)k);
    ncvx_sw_a(c, w->ev.xbest, (size_t)n);
    ncvx_sw_d(c, &w->ev.fbest);
    ncvx_sw_d(c, &w->ev.vibest);
    ncvx_sw_d(c, &w->ev.vebest);
    ncvx_sw_d(c, &w->ev.vimax);
    ncvx_sw_d(c, &w->ev.vemax);
    ncvx_sw_i(c, &w->ev.best_kind);
    ncvx_sw_i(c, &w->cert);
    ncvx_sw_i(c, &w->polish);
    ncvx_sw_a(c, w->xc, (size_t)n);
    ncvx_sw_a(c, w->lamc, (size_t)w->mc);
    ncvx_sw_d(c, &w->fc);
    ncvx_sw_d(c, &w->vic);
    ncvx_sw_d(c, &w->vec);
    ncvx_sw_d(c, &w->vicmax);
    ncvx_sw_d(c, &w->vecmax);
    ncvx_sw_d(c, &w->kkt_res_c);
    ncvx_sw_d(c, &w->kkt_comp_c);
    ncvx_sw_d(c, &w->stat_e_c);
    ncvx_sw_i(c, &w->shead);
    ncvx_sw_i(c, &w->scount);
    const size_t ns = w->nslots > 1 ? (size_t)w->nslots : 0;
    ncvx_sw_a(c, w->sx, (size_t)n * ns);
    ncvx_sw_a(c, w->sG, (size_t)n * k * ns);
    ncvx_hess_state(&w->h, c);
}

size_t ncvx_sqp_state_size(const ncvx_sqp *w)
{
    ncvx_sw c = {NULL, 0, 0};
    walk((ncvx_sqp *)w, &c);
    return c.pos;
}

ncvx_status ncvx_sqp_state_export(const ncvx_sqp *w, double *buf, size_t size)
{
    if (!w->started) return NCVX_FAIL(NCVX_ERR_STATE, "no solve has started: nothing to export");
    size_t need = ncvx_sqp_state_size(w);
    if (size < need) return NCVX_FAIL(NCVX_ERR_INVALID, "buffer of %zu < %zu doubles", size, need);
    // the walker only reads in export mode
    ncvx_sw c = {buf, 0, 1};
    walk((ncvx_sqp *)w, &c);
    return NCVX_OK;
}

ncvx_status ncvx_sqp_state_import(ncvx_sqp *w, const double *buf, size_t size)
{
    size_t need = ncvx_sqp_state_size(w);
    if (size < need) return NCVX_FAIL(NCVX_ERR_STATE, "state of %zu < %zu doubles", size, need);
    if (buf[0] != STATE_MAGIC || buf[1] != (double)NCVX_BFGS_SQP || buf[2] != w->n ||
        buf[3] != w->mi || buf[4] != w->me || buf[5] != w->nslots ||
        buf[6] != (double)w->s.limited_mem_size)
        return NCVX_FAIL(NCVX_ERR_STATE, "state does not match this problem and settings");
    ncvx_sw c = {(double *)buf, 0, 2};
    walk(w, &c);
    w->started = 1;
    w->resume = 1;
    for (int j = 0; j < w->nslots; j++)
        w->lb[j] = 0; // distances are recomputed exactly after an import
    w->hg_ok = 0;
    return NCVX_OK;
}
