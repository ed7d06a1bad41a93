// solver/src/mma.c: NCVX_MMA, the Method of Moving Asymptotes (Svanberg 1987; the 2002/2007
// "mmasub" update of asymptotes and move limits) with its subproblem solved by the
// primal-dual interior point method of Svanberg's "subsolv" (more than 8 constraints), or
// exactly through its dual (as the dual methods of Svanberg 1987 and of TopOpt in PETSc): a
// root in one multiplier for at most one constraint (a volume), projected Newton for 2 to 8;
// ten to twenty times cheaper, and free of subsolv's absolute barrier 1e-7.
// Constants a0 = 1, a_i = 0, c_i = settings.mma_c, d_i = 1 (Svanberg's standard form).
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "classic.h"

#define MMA_A0 1.0       ///< a0 of the standard form
#define MMA_D 1.0        ///< d_i of the standard form
#define MMA_EPSIMIN 1e-7 ///< subsolv's final barrier parameter
#define MMA_DUAL_MAXM 8  ///< constraints up to which the subproblem is solved through its dual

/* Workspace layout inside ms->mw: n-vectors then m-vectors then m x n and m x m blocks. */
enum { NV = 21, MV = 19 };
static size_t mma_work_doubles(int n, int m)
{
    size_t nn = (size_t)n, mm = (size_t)m;
    return NV * nn + MV * mm + 3 * mm * nn + mm * mm + 8;
}

typedef struct {
    int n, m;
    const double *low, *upp; /* asymptotes */
    double *alfa, *beta, *p0, *q0, *P, *Q, *b, *c;
    double *x, *xsi, *eta, *y, *lam, *mu, *s, z, zet;
    double *dx, *dxsi, *deta, *dy, *dlam, *dmu, *ds, dz, dzet;
    double *xo, *xsio, *etao, *yo, *lamo, *muo, *so;
    double *delx, *diagx, *dely, *dellam, *diagy, *diaglamyi, *gvec, *GG, *A, *plam, *qlam;
    double *iux, *ixl, *ixa, *ibx; /* 1/(upp-x), 1/(x-low), 1/(x-alfa), 1/(beta-x) */
} mma_sub;

static void sub_layout(mma_sub *S, double *wk, int n, int m)
{
    S->n = n;
    S->m = m;
    double **nv[NV] = {&S->alfa,  &S->beta, &S->p0,   &S->q0,  &S->x,    &S->xsi,  &S->eta,
                       &S->dx,    &S->dxsi, &S->deta, &S->xo,  &S->xsio, &S->etao, &S->delx,
                       &S->diagx, &S->plam, &S->qlam, &S->iux, &S->ixl,  &S->ixa,  &S->ibx};
    double **mv[MV] = {&S->b,    &S->c,      &S->y,     &S->lam,       &S->mu,   &S->s,   &S->dy,
                       &S->dlam, &S->dmu,    &S->ds,    &S->yo,        &S->lamo, &S->muo, &S->so,
                       &S->dely, &S->dellam, &S->diagy, &S->diaglamyi, &S->gvec};
    for (int k = 0; k < NV; k++, wk += n)
        *nv[k] = wk;
    for (int k = 0; k < MV; k++, wk += m)
        *mv[k] = wk;
    S->P = wk;
    wk += (size_t)m * n;
    S->Q = wk;
    wk += (size_t)m * n;
    S->GG = wk;
    wk += (size_t)m * n;
    S->A = wk;
}

/* plam = p0 + P'lam, qlam = q0 + Q'lam, gvec = P/(u-x) + Q/(x-l) at the current x; also the
 * reciprocals iux, ixl (divisions dominate the cost of subsolv, so each is done once). */
static void sub_duals(mma_sub *S)
{
    const int n = S->n, m = S->m;
    for (int j = 0; j < n; j++) {
        S->plam[j] = S->p0[j];
        S->qlam[j] = S->q0[j];
        S->iux[j] = 1.0 / (S->upp[j] - S->x[j]);
        S->ixl[j] = 1.0 / (S->x[j] - S->low[j]);
    }
    for (int i = 0; i < m; i++) {
        const double *Pi = S->P + (size_t)i * n, *Qi = S->Q + (size_t)i * n;
        double g = 0;
        for (int j = 0; j < n; j++) {
            S->plam[j] += Pi[j] * S->lam[i];
            S->qlam[j] += Qi[j] * S->lam[i];
            g += Pi[j] * S->iux[j] + Qi[j] * S->ixl[j];
        }
        S->gvec[i] = g;
    }
}

/* Residual of the perturbed KKT system of the subproblem (subsolv's residu); returns the
 * 2-norm, *rmax gets the inf-norm. */
static double sub_residual(mma_sub *S, double epsi, double *rmax)
{
    const int n = S->n, m = S->m;
    sub_duals(S);
    double s2 = 0, mx = 0;
#define ACC(v)                                                                                     \
    do {                                                                                           \
        double v_ = (v);                                                                           \
        s2 += v_ * v_;                                                                             \
        double a_ = fabs(v_);                                                                      \
        mx = a_ > mx ? a_ : mx; /* NaN-blind like fmax; inline */                                  \
    } while (0)
    for (int j = 0; j < n; j++) {
        double iux = S->iux[j], ixl = S->ixl[j];
        ACC(S->plam[j] * iux * iux - S->qlam[j] * ixl * ixl - S->xsi[j] + S->eta[j]);
        ACC(S->xsi[j] * (S->x[j] - S->alfa[j]) - epsi);
        ACC(S->eta[j] * (S->beta[j] - S->x[j]) - epsi);
    }
    for (int i = 0; i < m; i++) {
        ACC(S->c[i] + MMA_D * S->y[i] - S->mu[i] - S->lam[i]);
        ACC(S->gvec[i] - S->y[i] + S->s[i] - S->b[i]);
        ACC(S->mu[i] * S->y[i] - epsi);
        ACC(S->lam[i] * S->s[i] - epsi);
    }
    ACC(MMA_A0 - S->zet);
    ACC(S->zet * S->z - epsi);
#undef ACC
    *rmax = mx;
    return sqrt(s2);
}

/* Cholesky solve of the SPD m x m system A x = b in place (b overwritten). 0 or -1. */
static int chol_solve(double *A, double *b, int m)
{
    for (int k = 0; k < m; k++) {
        double d = A[(size_t)k * m + k];
        for (int p = 0; p < k; p++)
            d -= A[(size_t)k * m + p] * A[(size_t)k * m + p];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        A[(size_t)k * m + k] = d;
        for (int i = k + 1; i < m; i++) {
            double v = A[(size_t)i * m + k];
            for (int p = 0; p < k; p++)
                v -= A[(size_t)i * m + p] * A[(size_t)k * m + p];
            A[(size_t)i * m + k] = v / d;
        }
    }
    for (int i = 0; i < m; i++) {
        double v = b[i];
        for (int p = 0; p < i; p++)
            v -= A[(size_t)i * m + p] * b[p];
        b[i] = v / A[(size_t)i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) {
        double v = b[i];
        for (int p = i + 1; p < m; p++)
            v -= A[(size_t)p * m + i] * b[p];
        b[i] = v / A[(size_t)i * m + i];
    }
    return 0;
}

/* Svanberg's subsolv: primal-dual Newton on the perturbed KKT conditions of the MMA
 * subproblem, barrier epsi = 1, 0.1, ... down to 1e-7, with a_i = 0 (so z decouples and the
 * reduced system in lam is m x m SPD). */
static void subsolv(mma_sub *S)
{
    const int n = S->n, m = S->m;
    for (int j = 0; j < n; j++) {
        S->x[j] = 0.5 * (S->alfa[j] + S->beta[j]);
        S->xsi[j] = fmax(1.0, 1.0 / (S->x[j] - S->alfa[j]));
        S->eta[j] = fmax(1.0, 1.0 / (S->beta[j] - S->x[j]));
    }
    for (int i = 0; i < m; i++) {
        S->y[i] = S->lam[i] = S->s[i] = 1;
        S->mu[i] = fmax(1.0, 0.5 * S->c[i]);
    }
    S->z = S->zet = 1;
    double epsi = 1;
    while (epsi > MMA_EPSIMIN) {
        double rmax, rnorm = sub_residual(S, epsi, &rmax);
        for (int ittt = 0; rmax > 0.9 * epsi && ittt < 200; ittt++) {
            /* plam, qlam, gvec, iux, ixl: of the current point, from its residual */
            /* diagx holds the inverse of subsolv's diagx from here on */
            for (int j = 0; j < n; j++) {
                double iux = S->iux[j], ixl = S->ixl[j], iux2 = iux * iux, ixl2 = ixl * ixl;
                double ixa = 1.0 / (S->x[j] - S->alfa[j]), ibx = 1.0 / (S->beta[j] - S->x[j]);
                S->ixa[j] = ixa;
                S->ibx[j] = ibx;
                S->delx[j] = S->plam[j] * iux2 - S->qlam[j] * ixl2 - epsi * ixa + epsi * ibx;
                S->diagx[j] = 1.0 / (2 * (S->plam[j] * iux2 * iux + S->qlam[j] * ixl2 * ixl) +
                                     S->xsi[j] * ixa + S->eta[j] * ibx);
            }
            for (int i = 0; i < m; i++) {
                const double *Pi = S->P + (size_t)i * n, *Qi = S->Q + (size_t)i * n;
                double *Gi = S->GG + (size_t)i * n;
                for (int j = 0; j < n; j++)
                    Gi[j] = Pi[j] * S->iux[j] * S->iux[j] - Qi[j] * S->ixl[j] * S->ixl[j];
                S->dely[i] = S->c[i] + MMA_D * S->y[i] - S->lam[i] - epsi / S->y[i];
                S->dellam[i] = S->gvec[i] - S->y[i] - S->b[i] + epsi / S->lam[i];
                S->diagy[i] = MMA_D + S->mu[i] / S->y[i];
                S->diaglamyi[i] = S->s[i] / S->lam[i] + 1.0 / S->diagy[i];
            }
            /* blam = dellam + dely/diagy - GG (delx/diagx); Alam = diag + GG D^-1 GG' */
            for (int i = 0; i < m; i++) {
                const double *Gi = S->GG + (size_t)i * n;
                double v = S->dellam[i] + S->dely[i] / S->diagy[i];
                for (int j = 0; j < n; j++)
                    v -= Gi[j] * S->delx[j] * S->diagx[j];
                S->dlam[i] = v;
                for (int k = 0; k <= i; k++) {
                    const double *Gk = S->GG + (size_t)k * n;
                    double a = 0;
                    for (int j = 0; j < n; j++)
                        a += Gi[j] * Gk[j] * S->diagx[j];
                    S->A[(size_t)i * m + k] = S->A[(size_t)k * m + i] = a;
                }
                S->A[(size_t)i * m + i] += S->diaglamyi[i];
            }
            if (m > 0 && chol_solve(S->A, S->dlam, m) != 0) return; /* keep the last iterate */
            double delz = MMA_A0 - epsi / S->z;
            S->dz = -delz * S->z / S->zet;
            for (int j = 0; j < n; j++) {
                double gd = 0;
                for (int i = 0; i < m; i++)
                    gd += S->GG[(size_t)i * n + j] * S->dlam[i];
                S->dx[j] = -(S->delx[j] + gd) * S->diagx[j];
                double ixa = S->ixa[j], ibx = S->ibx[j];
                S->dxsi[j] = -S->xsi[j] + epsi * ixa - S->xsi[j] * S->dx[j] * ixa;
                S->deta[j] = -S->eta[j] + epsi * ibx + S->eta[j] * S->dx[j] * ibx;
            }
            for (int i = 0; i < m; i++) {
                S->dy[i] = -S->dely[i] / S->diagy[i] + S->dlam[i] / S->diagy[i];
                S->dmu[i] = -S->mu[i] + epsi / S->y[i] - S->mu[i] * S->dy[i] / S->y[i];
                S->ds[i] = -S->s[i] + epsi / S->lam[i] - S->s[i] * S->dlam[i] / S->lam[i];
            }
            S->dzet = -S->zet + epsi / S->z - S->zet * S->dz / S->z;
            /* fraction to the boundary 1/1.01 (STM: an inlined max) */
#define STM(v)                                                                                     \
    do {                                                                                           \
        double v_ = (v);                                                                           \
        stm = v_ > stm ? v_ : stm;                                                                 \
    } while (0)
            double stm = 1;
            STM(-1.01 * S->dz / S->z);
            STM(-1.01 * S->dzet / S->zet);
            for (int i = 0; i < m; i++) {
                STM(-1.01 * S->dy[i] / S->y[i]);
                STM(-1.01 * S->dlam[i] / S->lam[i]);
                STM(-1.01 * S->dmu[i] / S->mu[i]);
                STM(-1.01 * S->ds[i] / S->s[i]);
            }
            for (int j = 0; j < n; j++) {
                STM(-1.01 * S->dxsi[j] / S->xsi[j]);
                STM(-1.01 * S->deta[j] / S->eta[j]);
                STM(-1.01 * S->dx[j] * S->ixa[j]);
                STM(1.01 * S->dx[j] * S->ibx[j]);
            }
#undef STM
            double steg = 1.0 / stm;
            memcpy(S->xo, S->x, (size_t)n * sizeof *S->x);
            memcpy(S->xsio, S->xsi, (size_t)n * sizeof *S->x);
            memcpy(S->etao, S->eta, (size_t)n * sizeof *S->x);
            memcpy(S->yo, S->y, (size_t)m * sizeof *S->x);
            memcpy(S->lamo, S->lam, (size_t)m * sizeof *S->x);
            memcpy(S->muo, S->mu, (size_t)m * sizeof *S->x);
            memcpy(S->so, S->s, (size_t)m * sizeof *S->x);
            const double zo = S->z, zeto = S->zet;
            double resinew = 2 * rnorm;
            for (int itto = 0; resinew > rnorm && itto < 50; itto++) {
                for (int j = 0; j < n; j++) {
                    S->x[j] = S->xo[j] + steg * S->dx[j];
                    S->xsi[j] = S->xsio[j] + steg * S->dxsi[j];
                    S->eta[j] = S->etao[j] + steg * S->deta[j];
                }
                for (int i = 0; i < m; i++) {
                    S->y[i] = S->yo[i] + steg * S->dy[i];
                    S->lam[i] = S->lamo[i] + steg * S->dlam[i];
                    S->mu[i] = S->muo[i] + steg * S->dmu[i];
                    S->s[i] = S->so[i] + steg * S->ds[i];
                }
                S->z = zo + steg * S->dz;
                S->zet = zeto + steg * S->dzet;
                resinew = sub_residual(S, epsi, &rmax);
                steg /= 2;
            }
            rnorm = resinew;
        }
        epsi *= 0.1;
    }
}

/* The minimizer of p/(u - x) + q/(x - l) on [alfa_j, beta_j] (sp = sqrt(p), sq = sqrt(q)):
 * the stationary point clipped (the function is convex on (l, u)); *inner = 1 where it is not
 * clipped. */
static inline double sub_x(const mma_sub *S, int j, double sp, double sq, int *inner)
{
    const double x = (S->low[j] * sp + S->upp[j] * sq) / (sp + sq);
    *inner = 0;
    if (x <= S->alfa[j]) return S->alfa[j];
    if (x >= S->beta[j]) return S->beta[j];
    *inner = 1;
    return x;
}

/* m <= 1: the subproblem's dual is one-dimensional. For a multiplier lam >= 0 every x_j
 * minimizes p_j/(u_j - x) + q_j/(x - l_j), p = p0 + lam P, q = q0 + lam Q, on [alfa_j,
 * beta_j]: the stationary point (l sqrt(p) + u sqrt(q)) / (sqrt(p) + sqrt(q)) clipped (the
 * function is convex on (l, u)); y = max(0, lam - c) (d = 1) and z = 0 (a_1 = 0). The dual's
 * derivative h(lam) = g(x(lam)) - y(lam) - b is continuous and nonincreasing: the optimal lam
 * is 0 when h(0) <= 0, else the root of h. dual1_h sets x = x(lam) and returns h, its
 * derivative in *dh and the sum of the magnitudes of its terms in *mag (for the tolerance).
 * dx_j/dlam = (u - l)(Q p - P q) / (2 sqrt(p q) (sqrt(p) + sqrt(q))^2) where x_j is not
 * clipped. m = 0: x = x(0). */
static double dual1_h(mma_sub *S, double lam, double *dh, double *mag)
{
    const int n = S->n, m = S->m;
    double gsum = 0, d = 0; /* g(x), and h's derivative */
    for (int j = 0; j < n; j++) {
        const double Pj = m ? S->P[j] : 0, Qj = m ? S->Q[j] : 0, l = S->low[j], u = S->upp[j];
        const double pj = S->p0[j] + lam * Pj, qj = S->q0[j] + lam * Qj;
        const double sp = sqrt(pj), sq = sqrt(qj), w = sp + sq;
        int inner;
        const double x = S->x[j] = sub_x(S, j, sp, sq, &inner);
        const double dx = inner ? (u - l) * (Qj * pj - Pj * qj) / (2 * sp * sq * w * w) : 0;
        const double iu = 1.0 / (u - x), il = 1.0 / (x - l);
        gsum += Pj * iu + Qj * il;
        d += (Pj * iu * iu - Qj * il * il) * dx;
    }
    if (m == 0) return *dh = *mag = 0;
    const double y = fmax(0.0, lam - S->c[0]);
    *dh = d - (lam > S->c[0]);
    *mag = gsum + fabs(S->b[0]) + y; /* every term of g is positive */
    return gsum - y - S->b[0];
}

/* The root of dual1_h (or lam = 0) by Newton's method kept inside a bracket [lo, hi] of the
 * root: a step that would leave it, or one after a step that did not halve |h|, bisects
 * instead (while hi is unknown: doubles lam). S->lam[0] holds the first guess (the previous
 * iteration's multiplier) and gets the result, S->x the minimizer at it. Stops at |h| <= 1e-12 of
 * the magnitude of its terms (the rounding of the sum over n is about sqrt(n) eps of it) or a
 * bracket 4 eps wide. */
static void dual1(mma_sub *S)
{
    double d, mag;
    if (S->m == 0) {
        dual1_h(S, 0, &d, &mag);
        return;
    }
    double lam = S->lam[0] > 0 && isfinite(S->lam[0]) ? S->lam[0] : 0;
    double lo = 0, hi = INFINITY, hprev = INFINITY;
    int zero_done = 0; /* h(0) > 0 is known */
    for (int it = 0; it < 400; it++) {
        const double h = dual1_h(S, lam, &d, &mag);
        if (h == 0 || fabs(h) <= 1e-12 * mag) break;
        if (h < 0) {
            if (lam == 0) break; /* the constraint is inactive: lam = 0 */
            hi = lam;
        } else {
            lo = lam;
            if (lam == 0) zero_done = 1;
        }
        if (isfinite(hi) && hi - lo <= 4 * DBL_EPSILON * hi) break;
        double next = lam - h / d; /* Newton (d < 0 where x moves; else inf or NaN) */
        const int slow = fabs(h) > 0.5 * hprev;
        hprev = fabs(h);
        if (h < 0 && !zero_done && !(next > 0)) {
            next = 0; /* is the constraint inactive? */
        } else if (!(next > lo && next < hi) || slow) {
            next = isfinite(hi) ? 0.5 * (lo + hi) : fmax(2 * lam, 1.0);
            hprev = INFINITY;
        }
        lam = next;
    }
    S->lam[0] = lam;
}

/* 2 <= m <= MMA_DUAL_MAXM: the same dual in m multipliers, concave and once continuously
 * differentiable, maximized over lam >= 0 by a projected Newton method. dualm_eval sets x =
 * x(lam) and returns the dual value D(lam) = sum_j (p_j/(u_j - x_j) + q_j/(x_j - l_j))
 * - sum_i (y_i^2/2 + lam_i b_i), its gradient g_i = g_i(x) - y_i - b_i, its Hessian H
 * (m x m, negative semidefinite: H_ik = -sum_j g'_ij g'_kj / L''_j over the x_j that are not
 * clipped, L'' the second derivative of x_j's Lagrangian term, minus 1 on the diagonal where
 * lam_i > c_i) and the magnitude of each gradient's terms. */
static double dualm_eval(mma_sub *S, const double *lam, double *g, double *H, double *mag)
{
    const int n = S->n, m = S->m;
    double D = 0, gp[MMA_DUAL_MAXM];
    for (int i = 0; i < m; i++) {
        g[i] = 0;
        for (int k = 0; k < m; k++)
            H[i * m + k] = 0;
    }
    for (int j = 0; j < n; j++) {
        double pj = S->p0[j], qj = S->q0[j];
        for (int i = 0; i < m; i++) {
            pj += lam[i] * S->P[(size_t)i * n + j];
            qj += lam[i] * S->Q[(size_t)i * n + j];
        }
        int inner;
        const double x = S->x[j] = sub_x(S, j, sqrt(pj), sqrt(qj), &inner);
        const double iu = 1.0 / (S->upp[j] - x), il = 1.0 / (x - S->low[j]);
        D += pj * iu + qj * il;
        for (int i = 0; i < m; i++) {
            const double Pij = S->P[(size_t)i * n + j], Qij = S->Q[(size_t)i * n + j];
            g[i] += Pij * iu + Qij * il;
            gp[i] = Pij * iu * iu - Qij * il * il;
        }
        if (!inner) continue;
        const double r = 0.5 / (pj * iu * iu * iu + qj * il * il * il);
        for (int i = 0; i < m; i++)
            for (int k = 0; k <= i; k++)
                H[i * m + k] -= gp[i] * gp[k] * r;
    }
    for (int i = 0; i < m; i++) {
        const double y = fmax(0.0, lam[i] - S->c[i]);
        mag[i] = g[i] + (fabs(S->b[i]) + y); /* every term of g_i(x) is positive */
        g[i] -= y + S->b[i];
        D -= 0.5 * y * y + lam[i] * S->b[i];
        if (lam[i] > S->c[i]) H[i * m + i] -= 1;
        for (int k = 0; k < i; k++)
            H[k * m + i] = H[i * m + k];
    }
    return D;
}

/* The largest |projected gradient| of the dual relative to its terms' magnitude (lam_i = 0
 * with g_i < 0 is optimal in i); free[i] (if given) = 0 for those, else 1. */
static double dualm_pg(const double *lam, const double *g, const double *mag, int m, int *free)
{
    double r = 0;
    for (int i = 0; i < m; i++) {
        const int fr = lam[i] > 0 || g[i] > 0;
        if (free) free[i] = fr;
        r = fmax(r, (fr ? fabs(g[i]) : 0) / fmax(mag[i], DBL_MIN));
    }
    return r;
}

/* Projected Newton (Bertsekas 1982) on the dual from the first guess S->lam: the Newton step
 * in the multipliers that are free (positive, or with an ascent direction), projected on
 * lam >= 0 and halved until D rises by 1e-4 of the predicted rise; where the free Hessian is
 * zero (every x_j clipped, D linear) a steepest-ascent step of 1 + max lam instead; no step
 * longer than 2 (1 + max lam). Near the optimum D's rise drowns in its rounding: a step that
 * does not lower D by more than that and lowers the projected gradient is taken. Stops at a
 * projected gradient of 1e-12 of the magnitude of its terms, or when no step helps. S->lam gets the
 * result, S->x x(lam). */
static void dualm(mma_sub *S)
{
    enum { M = MMA_DUAL_MAXM };
    const int m = S->m;
    double lam[M], g[M], H[M * M], mag[M], lt[M], gt[M], Ht[M * M], magt[M], d[M], A[M * M];
    int free[M], idx[M];
    for (int i = 0; i < m; i++)
        lam[i] = S->lam[i] > 0 && isfinite(S->lam[i]) ? S->lam[i] : 0;
    double D = dualm_eval(S, lam, g, H, mag);
    for (int it = 0; it < 200; it++) {
        const double pg = dualm_pg(lam, g, mag, m, free);
        if (pg <= 1e-12) break;
        int nf = 0;
        for (int i = 0; i < m; i++) {
            d[i] = 0;
            if (free[i]) idx[nf++] = i;
        }
        double dmax = 0, lmax = 0, gmax = 0;
        for (int a = 0; a < nf; a++) {
            for (int b = 0; b < nf; b++)
                A[a * nf + b] = -H[idx[a] * m + idx[b]];
            dmax = fmax(dmax, A[a * nf + a]);
            lt[a] = g[idx[a]];
            gmax = fmax(gmax, fabs(g[idx[a]]));
        }
        for (int i = 0; i < m; i++)
            lmax = fmax(lmax, lam[i]);
        for (int a = 0; a < nf; a++)
            A[a * nf + a] += 1e-12 * dmax;
        if (dmax > 0 && chol_solve(A, lt, nf) == 0) {
            for (int a = 0; a < nf; a++)
                d[idx[a]] = lt[a];
        } else {
            for (int a = 0; a < nf; a++)
                d[idx[a]] = g[idx[a]] / gmax * (1 + lmax);
        }
        /* at most 2 (1 + max lam) per step: where nearly every x_j is clipped the Hessian is
         * nearly zero and the Newton step would be huge (lam then at most triples a step) */
        double dm = 0;
        for (int i = 0; i < m; i++)
            dm = fmax(dm, fabs(d[i]));
        if (dm > 2 * (1 + lmax))
            for (int i = 0; i < m; i++)
                d[i] *= 2 * (1 + lmax) / dm;
        double t = 1, Dt = 0;
        int ok = 0;
        for (int ls = 0; ls < 60 && !ok; ls++, t *= 0.5) {
            double pred = 0;
            for (int i = 0; i < m; i++) {
                lt[i] = fmax(0.0, lam[i] + t * d[i]);
                pred += g[i] * (lt[i] - lam[i]);
            }
            Dt = dualm_eval(S, lt, gt, Ht, magt);
            ok = Dt >= D + 1e-4 * pred ||
                 (Dt >= D - 64 * DBL_EPSILON * fabs(D) && dualm_pg(lt, gt, magt, m, NULL) < pg);
        }
        if (!ok) {
            dualm_eval(S, lam, g, H, mag); /* x back at lam */
            break;
        }
        memcpy(lam, lt, sizeof(double) * (size_t)m);
        memcpy(g, gt, sizeof(double) * (size_t)m);
        memcpy(H, Ht, sizeof(double) * (size_t)(m * m));
        memcpy(mag, magt, sizeof(double) * (size_t)m);
        D = Dt;
    }
    memcpy(S->lam, lam, sizeof(double) * (size_t)m);
}

/* The subproblem S through its dual (dual != 0, m <= MMA_DUAL_MAXM; lam0 [m] the first guess)
 * or by subsolv: S->x and S->lam. */
static void sub_solve(mma_sub *S, const double *lam0, int dual)
{
    if (!dual) {
        subsolv(S);
        return;
    }
    memcpy(S->lam, lam0, (size_t)S->m * sizeof *S->lam);
    if (S->m <= 1)
        dual1(S);
    else
        dualm(S);
}

/* Svanberg's asymptote update of one variable at its outer iteration k >= 3 (x, xold1, xold2
 * its last three values, rng = xmax - xmin; *low, *upp the asymptotes of the step before, updated
 * in place): closer by asydecr when its last two moves have opposite signs (it oscillates), else
 * farther by asyincr, kept between 0.01 rng and 10 rng of x. A variable that did not move counts
 * as one that does not oscillate: the exact subproblem (sub_solve) puts variables exactly on a
 * bound of [alfa, beta], where Svanberg's interior point leaves them a little inside and so
 * moves them a little each iteration; keeping such a variable's asymptotes (a factor 1, his
 * rule for a zero product) left it stiff, and the pixel runs of the suite's 62 small problems
 * ended higher (README, "MMA's asymptotes"). */
void ncvx_mma_asymptotes(double x, double xold1, double xold2, double rng, double incr, double decr,
                         double *low, double *upp)
{
    const double fac = (x - xold1) * (xold1 - xold2) < 0 ? decr : incr;
    double lw = x - fac * (xold1 - *low), up = x + fac * (*upp - xold1);
    *low = fmin(fmax(lw, x - 10 * rng), x - 0.01 * rng);
    *upp = fmax(fmin(up, x + 10 * rng), x + 0.01 * rng);
}

/* One mmasub step from ms->mx (values and gradients in ms->mf, mg, mci, mJ) at outer iteration
 * k (1-based): asymptotes, move limits, approximation, subproblem. New x into xnew[n]; the
 * subproblem's multipliers into ms->muI. */
static void mmasub(ncvx_classic *w, int k, double *xnew)
{
    ncvx_mma_st *ms = w->ms;
    const int n = w->n, m = w->mi;
    const ncvx_settings *st = &w->s;
    mma_sub S;
    sub_layout(&S, ms->mw, n, m);
    const double *xv = ms->mx, *xmin = ms->lo, *xmax = ms->hi;
    for (int j = 0; j < n; j++) {
        double rng = xmax[j] - xmin[j];
        if (k <= 2) {
            ms->low[j] = xv[j] - st->mma_asyinit * rng;
            ms->upp[j] = xv[j] + st->mma_asyinit * rng;
        } else {
            ncvx_mma_asymptotes(xv[j], ms->xold1[j], ms->xold2[j], rng, st->mma_asyincr,
                                st->mma_asydecr, &ms->low[j], &ms->upp[j]);
        }
        double lw = ms->low[j], up = ms->upp[j];
        S.alfa[j] = fmax(fmax(lw + st->mma_albefa * (xv[j] - lw), xv[j] - ms->move * rng), xmin[j]);
        S.beta[j] = fmin(fmin(up - st->mma_albefa * (up - xv[j]), xv[j] + ms->move * rng), xmax[j]);
        double xmamiinv = 1.0 / fmax(rng, 1e-5);
        double ux1 = up - xv[j], xl1 = xv[j] - lw;
        double p = fmax(ms->mg[j], 0), q = fmax(-ms->mg[j], 0);
        double pq = 0.001 * (p + q) + st->mma_raa0 * xmamiinv;
        S.p0[j] = (p + pq) * ux1 * ux1;
        S.q0[j] = (q + pq) * xl1 * xl1;
    }
    for (int i = 0; i < m; i++) {
        const double *Ji = ms->mJ + (size_t)i * n;
        double *Pi = S.P + (size_t)i * n, *Qi = S.Q + (size_t)i * n, bi = 0;
        for (int j = 0; j < n; j++) {
            double rng = xmax[j] - xmin[j], xmamiinv = 1.0 / fmax(rng, 1e-5);
            double ux1 = ms->upp[j] - xv[j], xl1 = xv[j] - ms->low[j];
            double p = fmax(Ji[j], 0), q = fmax(-Ji[j], 0);
            double pq = 0.001 * (p + q) + st->mma_raa0 * xmamiinv;
            Pi[j] = (p + pq) * ux1 * ux1;
            Qi[j] = (q + pq) * xl1 * xl1;
            bi += Pi[j] / ux1 + Qi[j] / xl1;
        }
        S.b[i] = bi - ms->mci[i];
        S.c[i] = st->mma_c; /* must exceed the multiplier of constraint i: see ncvx.h */
    }
    S.low = ms->low;
    S.upp = ms->upp;
    sub_solve(&S, ms->muI, m <= MMA_DUAL_MAXM);
    memcpy(xnew, S.x, (size_t)n * sizeof *xnew);
    memcpy(ms->muI, S.lam, (size_t)m * sizeof *ms->muI);
}

int ncvx_mma_subsolve(int n, int m, const double *low, const double *upp, const double *alfa,
                      const double *beta, const double *p0, const double *q0, const double *P,
                      const double *Q, const double *b, double c, int dual, double *x, double *lam)
{
    if (dual && m > MMA_DUAL_MAXM) return -1;
    double *wk = calloc(mma_work_doubles(n, m), sizeof *wk);
    if (!wk) return -1;
    mma_sub S;
    sub_layout(&S, wk, n, m);
    const size_t nb = (size_t)n * sizeof(double), mnb = (size_t)m * nb;
    memcpy(S.alfa, alfa, nb);
    memcpy(S.beta, beta, nb);
    memcpy(S.p0, p0, nb);
    memcpy(S.q0, q0, nb);
    memcpy(S.P, P, mnb);
    memcpy(S.Q, Q, mnb);
    memcpy(S.b, b, (size_t)m * sizeof *b);
    for (int i = 0; i < m; i++)
        S.c[i] = c;
    S.low = low;
    S.upp = upp;
    sub_solve(&S, lam, dual);
    memcpy(x, S.x, nb);
    memcpy(lam, S.lam, (size_t)m * sizeof *lam);
    free(wk);
    return 0;
}

void ncvx_mma_state(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_mma_st *ms = w->ms;
    const size_t n = (size_t)w->n, mi = (size_t)w->mi;
    ncvx_sw_a(c, ms->mx, n);
    ncvx_sw_a(c, ms->mg, n);
    ncvx_sw_a(c, ms->mci, mi);
    ncvx_sw_a(c, ms->mJ, mi * n);
    ncvx_sw_d(c, &ms->mf);
    ncvx_sw_a(c, ms->muI, mi);
    ncvx_sw_d(c, &ms->fs);
}

static void mma_state_walk(ncvx_classic *w, ncvx_sw *c)
{
    ncvx_mma_st *ms = w->ms;
    const size_t n = (size_t)w->n;
    ncvx_mma_state(w, c);
    ncvx_sw_a(c, ms->xold1, n);
    ncvx_sw_a(c, ms->xold2, n);
    ncvx_sw_a(c, ms->low, n);
    ncvx_sw_a(c, ms->upp, n);
}

/* settings.mma_rescale: s = 1 / |f| when |s f| is outside [0.1, 10] (at the start: whenever
 * f is not about 1 already); the multipliers of s f follow s. */
static void rescale(ncvx_classic *w)
{
    ncvx_mma_st *ms = w->ms;
    const double a = fabs(ms->fs * ms->mf);
    if (!w->s.mma_rescale || (a >= 0.1 && a <= 10) || !(a > 0) || !isfinite(a)) return;
    for (int i = 0; i < w->mi; i++)
        ms->muI[i] /= a;
    ms->fs /= a;
}

/* Keep the values and gradients of the last evaluation as the current point's; the objective's
 * gradient as that of s f, after the rescale. */
void ncvx_mma_keep(ncvx_classic *w, const double *x)
{
    ncvx_mma_st *ms = w->ms;
    const size_t n = (size_t)w->n, mi = (size_t)w->mi;
    if (x != ms->mx) memcpy(ms->mx, x, n * sizeof *x);
    memcpy(ms->mci, w->eci, mi * sizeof *ms->mci);
    memcpy(ms->mJ, w->eJi, mi * n * sizeof *ms->mJ);
    ms->mf = w->ef;
    rescale(w);
    for (size_t j = 0; j < n; j++)
        ms->mg[j] = ms->fs * w->eg[j];
}

/* KKT residual of the original problem (its objective times ms->fs) with multipliers ms->muI:
 * the projected gradient of the Lagrangian on the box, and the complementarity |lam_i c_i|. */
double ncvx_mma_kkt(const ncvx_classic *w)
{
    ncvx_mma_st *ms = w->ms;
    const int n = w->n, m = w->mi;
    double r = 0;
    for (int j = 0; j < n; j++) {
        double gl = ms->mg[j];
        for (int i = 0; i < m; i++)
            gl += ms->muI[i] * ms->mJ[(size_t)i * n + j];
        double pj = fmin(ms->hi[j], fmax(ms->lo[j], ms->mx[j] - gl));
        r = fmax(r, fabs(ms->mx[j] - pj));
    }
    for (int i = 0; i < m; i++)
        r = fmax(r, fabs(ms->muI[i] * ms->mci[i]));
    return r;
}

/* The loop shared by MMA and OC: update(w, xnew) proposes the next point. */
ncvx_status ncvx_mma_loop(ncvx_classic *w, double *x, int *term, ncvx_mma_update_fn update)
{
    ncvx_mma_st *ms = w->ms;
    const ncvx_settings *s = &w->s;
    const int n = w->n, mi = w->mi;
    if (!w->resume) {
        for (int j = 0; j < n; j++)
            ms->mx[j] = fmin(ms->hi[j], fmax(ms->lo[j], x[j]));
        int r = ncvx_classic_eval(w, ms->mx, 1);
        if (r == NCVX_EV_FAIL)
            return NCVX_FAIL(NCVX_ERR_CALLBACK, "the callback failed at the starting point");
        if (r == NCVX_EV_NONFIN)
            return NCVX_FAIL(NCVX_ERR_NONFINITE, "non-finite value at the starting point");
        ms->fs = 1; /* a new solve: not the scale where the last one ended */
        memset(ms->muI, 0, (size_t)mi * sizeof *ms->muI);
        ncvx_mma_keep(w, ms->mx);
        if (ms->xold1) {
            memcpy(ms->xold1, ms->mx, (size_t)n * sizeof *x);
            memcpy(ms->xold2, ms->mx, (size_t)n * sizeof *x);
        }
        if (ncvx_classic_iterate(w, ms->mx, ms->mf, NAN, ms->mci, NULL)) {
            *term = NCVX_TERM_USER_HALT;
            return NCVX_OK;
        }
    }
    for (;;) {
        const int feas = ncvx_viol_ineq(ms->mci, mi) <= s->viol_ineq_tol;
        int t;
        if (feas && w->iters > 0 && w->stat <= s->opt_tol) {
            *term = NCVX_TERM_STATIONARY;
            break;
        }
        if (feas && ms->mf <= s->fvalquit) {
            *term = NCVX_TERM_FVALQUIT;
            break;
        }
        if (feas && w->iters > 0 && s->rel_tol > 0 &&
            fabs(w->fprev - ms->mf) <= s->rel_tol * fmax(1.0, fmax(fabs(w->fprev), fabs(ms->mf)))) {
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
        double *xn = ms->tmp;
        if (update(w, xn) != 0) {
            *term = NCVX_TERM_QP_FAILED;
            break;
        }
        /* a non-finite value at the proposal: halve the step towards the current point */
        int r = NCVX_EV_NONFIN, tries = 0;
        w->ls_evals = 0;
        for (; tries < 30; tries++) {
            r = ncvx_classic_eval(w, xn, 1);
            if (r != NCVX_EV_BUDGET) w->ls_evals++;
            if (r != NCVX_EV_NONFIN) break;
            for (int j = 0; j < n; j++)
                xn[j] = 0.5 * (xn[j] + ms->mx[j]);
        }
        if (r == NCVX_EV_BUDGET) {
            *term = NCVX_TERM_MAXEVAL;
            break;
        }
        if (r == NCVX_EV_FAIL) {
            *term = NCVX_TERM_CALLBACK;
            break;
        }
        if (r == NCVX_EV_NONFIN) {
            *term = NCVX_TERM_LS_INFEASIBLE;
            break;
        }
        double ss = 0;
        for (int j = 0; j < n; j++)
            ss += (xn[j] - ms->mx[j]) * (xn[j] - ms->mx[j]);
        if (ms->xold1) {
            memcpy(ms->xold2, ms->xold1, (size_t)n * sizeof *x);
            memcpy(ms->xold1, ms->mx, (size_t)n * sizeof *x);
        }
        w->fprev = ms->mf;
        ncvx_mma_keep(w, xn);
        w->iters++;
        w->last_step = sqrt(ss);
        w->stat = ncvx_mma_kkt(w);
        w->mu = mi ? ms->muI[0] / ms->fs : NAN;
        if (ncvx_classic_iterate(w, ms->mx, ms->mf, NAN, ms->mci, NULL)) {
            *term = NCVX_TERM_USER_HALT;
            break;
        }
    }
    return NCVX_OK;
}

static int mma_update(ncvx_classic *w, double *xnew)
{
    mmasub(w, w->iters + 1, xnew);
    for (int j = 0; j < w->n; j++)
        if (!isfinite(xnew[j])) return -1;
    return 0;
}

static ncvx_status mma_solve(ncvx_classic *w, double *x, int *term)
{
    return ncvx_mma_loop(w, x, term, mma_update);
}

/* ------------------------------------------------------------------------------------------ */
/* The method tables' parts shared with OC, and MMA's table                                    */

#define NCVX_MOVE_MMA 0.5 ///< MMA move limit when settings.move <= 0 (Svanberg)

ncvx_status ncvx_mma_check(const ncvx_problem *p, const ncvx_settings *s)
{
    const char *name = ncvx_method_str(s->method);
    NCVX_BAD_SETTING(!(s->move <= 1) || isnan(s->move), "move");
    if (!p->lower || !p->upper)
        return NCVX_FAIL(NCVX_ERR_INVALID, "%s needs problem.lower and problem.upper", name);
    for (int j = 0; j < p->n; j++)
        if (!(isfinite(p->lower[j]) && isfinite(p->upper[j]) && p->lower[j] < p->upper[j]))
            return NCVX_FAIL(NCVX_ERR_INVALID, "%s needs finite bounds lower < upper (index %d)",
                             name, j);
    if (p->n_eq)
        return NCVX_FAIL(NCVX_ERR_INVALID, "%s has no equality constraints (n_eq = %d)", name,
                         p->n_eq);
    return NCVX_OK;
}

ncvx_status ncvx_mma_init(ncvx_classic *w, size_t mw_size, double move)
{
    ncvx_status st;
    ncvx_mma_st *ms = w->ms;
    const size_t n = (size_t)w->n, mi = (size_t)w->mi;
    NCVX_ALLOC(ms->mx, n);
    NCVX_ALLOC(ms->mg, n);
    NCVX_ALLOC(ms->mci, mi);
    NCVX_ALLOC(ms->mJ, mi * n);
    NCVX_ALLOC(ms->muI, mi);
    NCVX_ALLOC(ms->tmp, n);
    NCVX_ALLOC(ms->lo, n);
    NCVX_ALLOC(ms->hi, n);
    memcpy(ms->lo, w->p.lower, n * sizeof *ms->lo);
    memcpy(ms->hi, w->p.upper, n * sizeof *ms->hi);
    ms->mw_size = mw_size;
    NCVX_ALLOC(ms->mw, mw_size);
    memset(ms->mw, 0, mw_size * sizeof *ms->mw); /* page faults now, not in iteration 1 */
    ms->move = w->s.move > 0 ? w->s.move : move;
    return NCVX_OK;
fail:
    return st; /* ncvx_mma_fini frees what was allocated */
}

void ncvx_mma_fini(ncvx_classic *w)
{
    ncvx_mma_st *ms = w->ms;
    double *arrays[] = {ms->mx, ms->mg, ms->mci,   ms->mJ,    ms->muI, ms->tmp, ms->lo,
                        ms->hi, ms->mw, ms->xold1, ms->xold2, ms->low, ms->upp};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
}

static size_t mma_work_size(void)
{
    return sizeof(ncvx_mma_st);
}

static ncvx_status mma_check(const ncvx_problem *p, const ncvx_settings *s)
{
    NCVX_BAD_SETTING(!(s->mma_asyinit > 0 && s->mma_asyinit <= 1), "mma_asyinit");
    NCVX_BAD_SETTING(!(s->mma_asyincr >= 1) || !isfinite(s->mma_asyincr), "mma_asyincr");
    NCVX_BAD_SETTING(!(s->mma_asydecr > 0 && s->mma_asydecr <= 1), "mma_asydecr");
    NCVX_BAD_SETTING(!(s->mma_raa0 > 0) || !isfinite(s->mma_raa0), "mma_raa0");
    NCVX_BAD_SETTING(!(s->mma_albefa > 0 && s->mma_albefa < 1), "mma_albefa");
    NCVX_BAD_SETTING(!(s->mma_c > 0) || !isfinite(s->mma_c), "mma_c");
    NCVX_BAD_SETTING(s->mma_rescale != 0 && s->mma_rescale != 1, "mma_rescale");
    return ncvx_mma_check(p, s);
}

static ncvx_status mma_init(ncvx_classic *w)
{
    ncvx_status st;
    ncvx_mma_st *ms = w->ms;
    const size_t n = (size_t)w->n;
    if ((st = ncvx_mma_init(w, mma_work_doubles(w->n, w->mi), NCVX_MOVE_MMA)) != NCVX_OK) return st;
    NCVX_ALLOC(ms->xold1, n);
    NCVX_ALLOC(ms->xold2, n);
    NCVX_ALLOC(ms->low, n);
    NCVX_ALLOC(ms->upp, n);
    return NCVX_OK;
fail:
    return st;
}

const ncvx_classic_method ncvx_method_mma = {
    .name = "mma",
    .work_size = mma_work_size,
    .check = mma_check,
    .init = mma_init,
    .fini = ncvx_mma_fini,
    .solve = mma_solve,
    .state_walk = mma_state_walk,
    .state_ok = NULL,
};
