// solver/src/qp.c: dense strictly convex QP by the Goldfarb-Idnani dual active-set method
//
// Goldfarb, Idnani, "A numerically stable dual method for solving strictly convex quadratic
// programs", Math. Programming 27 (1983) 1-33. The method starts from the unconstrained
// minimizer x = -G^-1 g and adds violated constraints one at a time, keeping the QR-like
// factorization J' N = [R; 0] of the active normals N in the G-metric (J = L^-T Q).
#include "ncvx_internal.h"

#include <math.h>
#include <string.h>

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda,
             int *info);

#define QP_RIDGE_BASE 1e-10 ///< first relative ridge tried for a singular G
#define QP_RIDGE_GROWTH 10. ///< ridge growth per attempt
#define QP_RIDGE_TRIES 9    ///< 1e-10 ... 1e-2 relative
#define QP_PIVOT_REL 1e-10  ///< pivot^2 / G_ii below this = numerically dependent column

size_t ncvx_qp_work_size(int n, int me, int mi)
{
    (void)me;
    // also >= ncvx_qp_box_work_size(n) + 2n: the solver's QP call sites try ncvx_qp_box first
    // and keep its bounds behind its workspace
    return 2 * (size_t)n * n + 11 * (size_t)n + (size_t)mi + 8;
}

size_t ncvx_qp_iwork_size(int n, int me, int mi)
{
    return (size_t)n + (size_t)me + (size_t)mi + 1;
}

int ncvx_qp_factor(int n, const double *G, double *Rinv, double *ridge)
{
    double dmax = 0;
    for (int i = 0; i < n; i++) {
        double gi = G[(size_t)i * n + i];
        if (!isfinite(gi)) return 2;
        if (gi > dmax) dmax = gi;
    }
    double base = QP_RIDGE_BASE * (dmax > 0 ? dmax : 1.0);
    double r = 0;
    for (int k = 0; k <= QP_RIDGE_TRIES; k++) {
        if (k > 0) r = (k == 1) ? base : r * QP_RIDGE_GROWTH;
        memcpy(Rinv, G, (size_t)n * n * sizeof *Rinv);
        for (int i = 0; i < n; i++)
            Rinv[(size_t)i * n + i] += r;
        int info = 0;
        dpotrf_("U", &n, Rinv, &n, &info);
        if (info != 0) continue;
        // a successful Cholesky can still hide a numerically dependent column (a tiny
        // pivot relative to its own diagonal): regularize those as well
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            double p = Rinv[(size_t)i * n + i];
            double gii = G[(size_t)i * n + i] + r;
            if (!(p * p > QP_PIVOT_REL * gii) || !(gii > 0)) ok = 0;
        }
        if (!ok) continue;
        dtrtri_("U", "N", &n, Rinv, &n, &info);
        if (info != 0) continue;
        for (int j = 0; j < n; j++) // clear the strict lower triangle left by LAPACK
            for (int i = j + 1; i < n; i++)
                Rinv[(size_t)j * n + i] = 0;
        if (ridge) *ridge = r;
        return 0;
    }
    return 2;
}

/* Givens rotation zeroing b against a: returns h = hypot(a, b), c = a/h, s = b/h. */
static double givens(double a, double b, double *c, double *s)
{
    double h = hypot(a, b);
    if (h == 0) {
        *c = 1;
        *s = 0;
    } else {
        *c = a / h;
        *s = b / h;
    }
    return h;
}

static void rot_cols(double *J, int n, int i, int j, double c, double s)
{
    double *a = J + (size_t)i * n, *b = J + (size_t)j * n;
    for (int k = 0; k < n; k++) {
        double ta = a[k], tb = b[k];
        a[k] = c * ta + s * tb;
        b[k] = -s * ta + c * tb;
    }
}

int ncvx_qp_solve(int n, const double *G, const double *g, int me, const double *Ce,
                  const double *ce0, int mi, const double *Ci, const double *ci0, double *x,
                  double *lambda, double *fval, double *work, int *iwork)
{
    // factor into the J slot of work, then run the factored solver with J as its own input
    double *J = work;
    if (ncvx_qp_factor(n, G, J, NULL) != 0) return 2;
    int rc =
        ncvx_qp_solve_factored(n, J, g, me, Ce, ce0, mi, Ci, ci0, x, lambda, fval, work, iwork);
    if (rc == 0 && fval) { // the exact objective (the running update loses digits)
        double f = 0;
        for (int j = 0; j < n; j++) {
            double gx = 0;
            for (int i = 0; i < n; i++)
                gx += G[(size_t)j * n + i] * x[i];
            f += x[j] * (0.5 * gx + g[j]);
        }
        *fval = f;
    }
    return rc;
}

int ncvx_qp_solve_factored(int n, const double *Rinv, const double *g, int me, const double *Ce,
                           const double *ce0, int mi, const double *Ci, const double *ci0,
                           double *x, double *lambda, double *fval, double *work, int *iwork)
{
    const size_t nn = (size_t)n * n;
    double *J = work, *R = work + nn, *d = R + nn, *z = d + n, *r = z + n, *u = r + n;
    double *sv = u + n + 1;
    int *A = iwork, *esign = iwork + n, *isact = esign + me;
    const int mtot = me + mi;

    if (J != Rinv) memcpy(J, Rinv, nn * sizeof *J);
    // unconstrained minimizer x = -Rinv Rinv' g, f = g'x / 2
    for (int i = 0; i < n; i++) {
        double acc = 0;
        for (int k = 0; k <= i; k++)
            acc += J[(size_t)i * n + k] * g[k];
        d[i] = acc;
    }
    for (int k = 0; k < n; k++) {
        double acc = 0;
        for (int i = k; i < n; i++)
            acc += J[(size_t)i * n + k] * d[i];
        x[k] = -acc;
    }
    double f = 0;
    for (int k = 0; k < n; k++)
        f += 0.5 * g[k] * x[k];
    for (int i = 0; i < me; i++)
        esign[i] = 1;
    for (int i = 0; i < mi; i++)
        isact[i] = 0;
    int q = 0, eq_next = 0;
    long guard = 50L * (n + mtot) + 100;

    for (;;) {
        // choose the constraint p to add: equalities first, then the most violated inequality
        int p = -1;
        double s = 0;
        const double *np = NULL;
        double bp = 0;
        if (eq_next < me) {
            p = eq_next++;
            np = Ce + (size_t)p * n;
            bp = ce0[p];
            double acc = 0;
            for (int k = 0; k < n; k++)
                acc += np[k] * x[k];
            s = acc - bp;
            esign[p] = s > 0 ? -1 : 1; // Ce'x = b as the inequality sign*(Ce'x - b) >= 0
            s *= esign[p];
        } else {
            double best = 0;
            for (int i = 0; i < mi; i++) {
                if (isact[i]) continue;
                const double *ni = Ci + (size_t)i * n;
                double acc = 0, scale = fabs(ci0[i]), nrm = 0;
                for (int k = 0; k < n; k++) {
                    acc += ni[k] * x[k];
                    scale += fabs(ni[k] * x[k]);
                    nrm += ni[k] * ni[k];
                }
                double si = acc - ci0[i];
                sv[i] = si;
                // violation relative to the rounding level of the terms of n'x - b
                if (si < -1e-12 * (1 + scale) && nrm > 0) {
                    double sc = si / sqrt(nrm);
                    if (sc < best) {
                        best = sc;
                        p = me + i;
                    }
                }
            }
            if (p < 0) break; // every constraint satisfied: optimal
            np = Ci + (size_t)(p - me) * n;
            bp = ci0[p - me];
            s = sv[p - me];
        }
        const double sg = p < me ? (double)esign[p] : 1.0;
        double up = 0; // multiplier of the constraint being added
        double nnorm = 0;
        for (int k = 0; k < n; k++)
            nnorm += np[k] * np[k];
        nnorm = sqrt(nnorm);

        for (;;) {
            if (--guard < 0) return 2;
            // d = J' n_p, z = J2 d2 (primal direction), r = R^-1 d1 (dual direction)
            for (int j = 0; j < n; j++) {
                const double *Jj = J + (size_t)j * n;
                double acc = 0;
                for (int k = 0; k < n; k++)
                    acc += Jj[k] * np[k];
                d[j] = sg * acc;
            }
            double znorm = 0;
            for (int k = 0; k < n; k++)
                z[k] = 0;
            for (int j = q; j < n; j++) {
                const double *Jj = J + (size_t)j * n;
                for (int k = 0; k < n; k++)
                    z[k] += Jj[k] * d[j];
            }
            for (int k = 0; k < n; k++)
                znorm += z[k] * z[k];
            znorm = sqrt(znorm);
            for (int i = q - 1; i >= 0; i--) {
                double acc = d[i];
                for (int k = i + 1; k < q; k++)
                    acc -= R[(size_t)k * n + i] * r[k];
                r[i] = acc / R[(size_t)i * n + i];
            }
            // partial step: the first active inequality whose multiplier reaches zero
            double t1 = INFINITY;
            int l = -1;
            for (int j = 0; j < q; j++) {
                if (A[j] < me || !(r[j] > 0)) continue;
                double tj = u[j] / r[j];
                if (tj < t1) {
                    t1 = tj;
                    l = j;
                }
            }
            // full step: makes constraint p active
            double zn = 0, dd = 0;
            for (int k = 0; k < n; k++)
                zn += z[k] * np[k];
            zn *= sg;
            for (int j = 0; j < n; j++)
                dd += d[j] * d[j];
            // zn = ||d2||^2: n_p is (numerically) in the span of the active normals when its
            // component outside them is below 1e-10 of its length in the G^-1 metric
            double t2 = INFINITY;
            if (znorm > 0 && zn > 1e-20 * dd) t2 = -s / zn;
            if (t2 < 0) t2 = 0;
            if (!isfinite(t1) && !isfinite(t2)) {
                // no primal or dual progress: an equality dependent on the active set and
                // already satisfied is skipped; anything else is infeasible
                if (p < me && fabs(s) <= 1e-9 * (1 + fabs(bp) + nnorm)) break;
                return 1;
            }
            if (!isfinite(t2)) { // dual step only, then drop the blocking constraint
                for (int j = 0; j < q; j++)
                    u[j] -= t1 * r[j];
                up += t1;
            } else {
                double t = t1 < t2 ? t1 : t2;
                for (int k = 0; k < n; k++)
                    x[k] += t * z[k];
                f += t * zn * (0.5 * t + up);
                for (int j = 0; j < q; j++)
                    u[j] -= t * r[j];
                up += t;
                if (t2 <= t1) {
                    // add p: rotate d[q+1..n-1] into d[q], carrying J's columns along
                    for (int i = n - 1; i > q; i--) {
                        double c, sn;
                        d[i - 1] = givens(d[i - 1], d[i], &c, &sn);
                        d[i] = 0;
                        rot_cols(J, n, i - 1, i, c, sn);
                    }
                    for (int i = 0; i <= q; i++)
                        R[(size_t)q * n + i] = d[i];
                    A[q] = p;
                    u[q] = up;
                    q++;
                    if (p >= me) isact[p - me] = 1;
                    break;
                }
                s = 0; // recomputed below after the partial step
            }
            // drop active constraint l and retriangularize R
            if (A[l] >= me) isact[A[l] - me] = 0;
            for (int j = l; j < q - 1; j++) {
                A[j] = A[j + 1];
                u[j] = u[j + 1];
                memcpy(R + (size_t)j * n, R + (size_t)(j + 1) * n, (size_t)n * sizeof *R);
            }
            q--;
            for (int j = l; j < q; j++) {
                double c, sn;
                double h = givens(R[(size_t)j * n + j], R[(size_t)j * n + j + 1], &c, &sn);
                R[(size_t)j * n + j] = h;
                R[(size_t)j * n + j + 1] = 0;
                for (int k = j + 1; k < q; k++) {
                    double a = R[(size_t)k * n + j], b = R[(size_t)k * n + j + 1];
                    R[(size_t)k * n + j] = c * a + sn * b;
                    R[(size_t)k * n + j + 1] = -sn * a + c * b;
                }
                rot_cols(J, n, j, j + 1, c, sn);
            }
            // current violation of p at the new x
            double acc = 0;
            for (int k = 0; k < n; k++)
                acc += np[k] * x[k];
            s = sg * (acc - bp);
        }
    }
    if (lambda) {
        for (int i = 0; i < mtot; i++)
            lambda[i] = 0;
        for (int j = 0; j < q; j++)
            lambda[A[j]] = A[j] < me ? esign[A[j]] * u[j] : u[j];
    }
    if (fval) *fval = f;
    for (int k = 0; k < n; k++)
        if (!isfinite(x[k])) return 2;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* box (+ one equality) QP with a positive semidefinite G: primal active-set method           */
//
// min 0.5 y'Gy + g'y s.t. lo <= y <= hi and e'y = b. The steering and stationarity QPs have
// this form (multipliers in boxes, the objective weights of the gradient samples summing to
// mu), G = A'HA has rank <= n and is singular as soon as there are more gradients than
// variables. A primal active-set method (Nocedal, Wright, Numerical Optimization, Alg. 16.3)
// works on the free variables only, so the many variables sitting at a bound cost nothing
// beyond one column of G each step, and the reduced Hessian Z'G_FF Z (Z: null space of e on
// the free set, one Householder reflection) is decomposed into eigenpairs: a descent direction
// of zero curvature moves to the first bound it meets (the box keeps it finite), otherwise the
// step is the minimizer on the face (pseudo-inverse on the range). No ridge, no proximal
// iterations, finite termination; y and the status of each variable (warm start) in/out.

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);

#define BOX_FREE 0
#define BOX_LO 1
#define BOX_HI 2
#define BOX_EIG_REL 1e-12  ///< eigenvalues below this times the largest |G_jj| count as zero
#define BOX_STEP_REL 1e-15 ///< steps below this (relative to |y|) count as none
#define BOX_MULT_REL 1e-12 ///< multipliers above -this * gradient scale count as nonnegative
/* QPs up to this size take the general loop only: a few microseconds either way (bench_qp),
 * and the steering QPs (one variable per constraint) keep the general loop's arithmetic, on
 * whose last bits the verdicts of some ill-conditioned runs depend (the heat-source example
 * ends 2e-5 instead of 6e-7 above its optimum under two BLAS kernels when the steering QP
 * takes the fast path; its answers agree to rounding) */
#define BOX_FAST_MIN 32

size_t ncvx_qp_box_work_size(int n)
{
    return 2 * (size_t)n * n + 9 * (size_t)n + 8;
}

size_t ncvx_qp_box_iwork_size(int n)
{
    return 2 * (size_t)n + 1;
}

/* Householder vector v of e_F (length nf): H = I - 2 v v'/(v'v), H e_F = alpha e_1. */
static double box_house(int nf, const double *ef, double *v)
{
    double nrm = 0;
    for (int i = 0; i < nf; i++) {
        v[i] = ef[i];
        nrm += ef[i] * ef[i];
    }
    nrm = sqrt(nrm);
    v[0] += v[0] >= 0 ? nrm : -nrm;
    double vv = 0;
    for (int i = 0; i < nf; i++)
        vv += v[i] * v[i];
    return vv;
}

/* x <- H x */
static void box_house_apply(int nf, const double *v, double vv, double *x)
{
    double s = 0;
    for (int i = 0; i < nf; i++)
        s += v[i] * x[i];
    s *= 2 / vv;
    for (int i = 0; i < nf; i++)
        x[i] -= s * v[i];
}

/* u = -A^-1 rg by Cholesky of the m x m matrix A (left intact; the factor goes to Lf, m x m)
 * when every pivot is clearly positive (pivot^2 above 1e-8 of its diagonal and above tol);
 * returns 0 if not (then the caller takes the eigen path). */
static int box_chol_step(int m, const double *A, const double *rg, double tol, double *Lf,
                         double *u)
{
    for (int j = 0; j < m; j++) {
        for (int i = j; i < m; i++) {
            double acc = A[(size_t)j * m + i];
            for (int k = 0; k < j; k++)
                acc -= Lf[(size_t)k * m + i] * Lf[(size_t)k * m + j];
            if (i == j) {
                if (!(acc > tol) || !(acc > 1e-8 * A[(size_t)j * m + j])) return 0;
                Lf[(size_t)j * m + j] = sqrt(acc);
            } else {
                Lf[(size_t)j * m + i] = acc / Lf[(size_t)j * m + j];
            }
        }
    }
    for (int i = 0; i < m; i++) { // L z = -rg
        double acc = -rg[i];
        for (int k = 0; k < i; k++)
            acc -= Lf[(size_t)k * m + i] * u[k];
        u[i] = acc / Lf[(size_t)i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) { // L' u = z
        double acc = u[i];
        for (int k = i + 1; k < m; k++)
            acc -= Lf[(size_t)i * m + k] * u[k];
        u[i] = acc / Lf[(size_t)i * m + i];
    }
    return 1;
}

/* ---- fast path: the same active-set method with the free set in release order and one
 * fixed elimination basis, so that the Cholesky factor R of the reduced Hessian is updated
 * (a column appended by bordering, a column deleted by Givens rotations, O(m^2)) instead of
 * recomputed. With the equality, one free variable j0 with e_j0 != 0 (the pivot) is
 * eliminated: y_j0 = (b - sum e_j y_j) / e_j0, so the reduced coordinates are the other free
 * variables Z and the basis vectors are e_j - (e_j / e_j0) e_j0. A released variable whose
 * column is dependent on the face (zero pivot) gives the direction of zero curvature from
 * the factor (R v = -w); the step then runs to the first bound (Fletcher's inertia-
 * controlling method), which keeps the factor nonsingular. Anything else (a new face that
 * is not clearly positive definite, a tiny curvature that is not zero) hands y and status
 * back to the general loop below, which handles it with eigenpairs. */

typedef struct {
    int n, m, j0; ///< size, |Z|, pivot (-1: no equality)
    const double *G, *e;
    double *R; ///< [m x m] upper, column-major with leading dimension n
    int *Z;    ///< [m] reduced coordinates in release order
} box_fac;

static double box_c(const box_fac *f, int j)
{
    return f->j0 >= 0 ? f->e[j] / f->e[f->j0] : 0;
}

/* element (i, j) of the reduced Hessian in the elimination basis */
static double box_kel(const box_fac *f, int i, int j)
{
    const int n = f->n;
    double v = f->G[(size_t)i * n + j];
    if (f->j0 >= 0) {
        const int p = f->j0;
        const double ci = box_c(f, i), cj = box_c(f, j);
        v += -ci * f->G[(size_t)p * n + j] - cj * f->G[(size_t)i * n + p] +
             ci * cj * f->G[(size_t)p * n + p];
    }
    return v;
}

/* append variable j: w = R'^-1 K(Z, j), d = K(j, j) - w'w. Returns 1 and grows the factor if
 * the curvature d is positive (above the threshold of zero eigenvalues of the general loop),
 * else 0 (w[m] and *d kept for the null direction). A small d makes R ill-conditioned; the
 * loop below repeats the Newton step on a face until it is negligible (iterative
 * refinement with a fresh gradient), so the face minimizers stay accurate. */
static int box_fac_add(box_fac *f, int j, double tol, double *w, double *d)
{
    const int n = f->n, m = f->m;
    double *Rc = f->R + (size_t)m * n;
    for (int i = 0; i < m; i++) {
        double acc = box_kel(f, f->Z[i], j);
        const double *Ri = f->R + (size_t)i * n;
        for (int l = 0; l < i; l++)
            acc -= Ri[l] * w[l];
        w[i] = acc / Ri[i];
    }
    const double kd = box_kel(f, j, j);
    double dd = kd;
    for (int i = 0; i < m; i++)
        dd -= w[i] * w[i];
    *d = dd;
    if (!(dd > tol)) return 0;
    for (int i = 0; i < m; i++)
        Rc[i] = w[i];
    Rc[m] = sqrt(dd);
    f->Z[m] = j;
    f->m = m + 1;
    return 1;
}

/* delete reduced coordinate at position l (Givens rotations on the rows of R) */
static void box_fac_del(box_fac *f, int l)
{
    const int n = f->n;
    for (int j = l; j < f->m - 1; j++) {
        f->Z[j] = f->Z[j + 1];
        memcpy(f->R + (size_t)j * n, f->R + (size_t)(j + 1) * n, (size_t)(j + 2) * sizeof *f->R);
    }
    f->m--;
    for (int j = l; j < f->m; j++) { // column j has a subdiagonal entry at row j + 1
        double *Rj = f->R + (size_t)j * n, c, sn;
        Rj[j] = givens(Rj[j], Rj[j + 1], &c, &sn);
        Rj[j + 1] = 0;
        for (int k = j + 1; k < f->m; k++) {
            double *Rk = f->R + (size_t)k * n, a = Rk[j], b2 = Rk[j + 1];
            Rk[j] = c * a + sn * b2;
            Rk[j + 1] = -sn * a + c * b2;
        }
    }
}

/* refactor from scratch over the current Z; 0 if a pivot is not clearly positive */
static int box_fac_build(box_fac *f, double tol, double *w)
{
    const int m = f->m;
    double d;
    f->m = 0;
    for (int i = 0; i < m; i++)
        if (!box_fac_add(f, f->Z[i], tol, w, &d)) return 0;
    return 1;
}

/* the pivot left the free set: the free variable of Z with the largest |e_j| takes its place
 * (refactor), else the old pivot stays forced free (no other variable moves it) */
static int box_fac_repivot(box_fac *f, int *status, double tol, double *w)
{
    int best = -1;
    for (int i = 0; i < f->m; i++)
        if (f->e[f->Z[i]] != 0 && (best < 0 || fabs(f->e[f->Z[i]]) > fabs(f->e[f->Z[best]])))
            best = i;
    if (best < 0) {
        status[f->j0] = BOX_FREE;
        return 1;
    }
    f->j0 = f->Z[best];
    for (int i = best; i < f->m - 1; i++)
        f->Z[i] = f->Z[i + 1];
    f->m--;
    return box_fac_build(f, tol, w);
}

/* Returns 0 solved (*nu set), 1 hand over to the general loop, 2 failure. grad = Gy + g. */
static int box_fast(int n, const double *G, const double *lo, const double *hi, const double *e,
                    double *y, int *status, double *grad, double gscale, double tol, long *it,
                    long maxit, double *nu_out, double *R, double *rg, double *u, double *w,
                    double *pf, int *Z, int *Q)
{
    box_fac f = {.n = n, .m = 0, .j0 = -1, .G = G, .e = e, .R = R, .Z = Z};
    if (e) {
        for (int j = 0; j < n; j++)
            if (e[j] != 0 && status[j] == BOX_FREE && (f.j0 < 0 || fabs(e[j]) > fabs(e[f.j0])))
                f.j0 = j;
        if (f.j0 < 0) { // a variable at a bound is freed: the equality keeps it where it is
            for (int j = 0; j < n; j++)
                if (e[j] != 0 && (f.j0 < 0 || fabs(e[j]) > fabs(e[f.j0]))) f.j0 = j;
            if (f.j0 < 0) return 1;
            status[f.j0] = BOX_FREE;
        }
    }
    // the free variables of a warm start enter the factor one by one (queue Q); one whose
    // column is dependent on those before it is moved to a bound along the direction of zero
    // curvature first, as a released one
    int nq = 0, qh = 0;
    for (int j = 0; j < n; j++)
        if (status[j] == BOX_FREE && j != f.j0) Q[nq++] = j;
    int pending = -1; // released variable whose column is dependent on the face
    double dpend = 0;
    // a budget of its own: a degenerate face that cycles goes to the general loop
    for (const long stop = *it + maxit / 2; *it < stop; ++*it) {
        if (pending < 0 && qh < nq) {
            const int j = Q[qh++];
            if (!box_fac_add(&f, j, tol, w, &dpend)) pending = j;
            continue;
        }
        const int m = f.m, j0 = f.j0;
        int has_null = 0;
        double slope = 0;
        // reduced gradient and step: Newton on the face, or the null direction of pending
        for (int i = 0; i < m; i++)
            rg[i] = grad[Z[i]] - box_c(&f, Z[i]) * (j0 >= 0 ? grad[j0] : 0);
        if (pending >= 0) {
            if (dpend > tol) return 1;         // small positive curvature: the eigen path decides
            for (int i = m - 1; i >= 0; i--) { // R v = -w
                double acc = -w[i];
                for (int k = i + 1; k < m; k++)
                    acc -= R[(size_t)k * n + i] * u[k];
                u[i] = acc / R[(size_t)i * n + i];
            }
            slope = grad[pending] - box_c(&f, pending) * (j0 >= 0 ? grad[j0] : 0);
            for (int i = 0; i < m; i++)
                slope += rg[i] * u[i];
            // no slope (a warm-start variable at a face minimizer): either way is descent
            const double sg = slope < 0 || !(fabs(slope) > 1e-13 * gscale) ? 1 : -1;
            for (int i = 0; i < m; i++)
                u[i] *= sg;
            u[m] = sg;
            Z[m] = pending; // the direction's last coordinate (not in the factor)
            has_null = 1;
        } else {
            for (int i = 0; i < m; i++) { // R' z = -rg
                double acc = -rg[i];
                const double *Ri = R + (size_t)i * n;
                for (int l = 0; l < i; l++)
                    acc -= Ri[l] * u[l];
                u[i] = acc / Ri[i];
            }
            for (int i = m - 1; i >= 0; i--) { // R u = z
                double acc = u[i];
                for (int k = i + 1; k < m; k++)
                    acc -= R[(size_t)k * n + i] * u[k];
                u[i] = acc / R[(size_t)i * n + i];
            }
        }
        const int mm = m + has_null; // coordinates of the direction (Z, then pending)
        double pj0 = 0, pmax = 0, ymax = 0;
        for (int i = 0; i < mm; i++) {
            pj0 -= box_c(&f, Z[i]) * u[i];
            pmax = fmax(pmax, fabs(u[i]));
            ymax = fmax(ymax, fabs(y[Z[i]]));
        }
        if (j0 >= 0) {
            pmax = fmax(pmax, fabs(pj0));
            ymax = fmax(ymax, fabs(y[j0]));
        }
        if (has_null || pmax > BOX_STEP_REL * (1 + ymax)) {
            double alpha = has_null ? INFINITY : 1;
            int blk = -2; // -1: the pivot, else position in Z (mm - 1: pending)
            for (int i = -1; i < mm; i++) {
                const int j = i < 0 ? j0 : Z[i];
                if (j < 0) continue;
                const double pi = i < 0 ? pj0 : u[i];
                double t = INFINITY;
                if (pi < 0)
                    t = (lo[j] - y[j]) / pi;
                else if (pi > 0)
                    t = (hi[j] - y[j]) / pi;
                if (t < 0) t = 0;
                if (t < alpha) {
                    alpha = t;
                    blk = i;
                }
            }
            if (!isfinite(alpha)) return 2;
            for (int i = -1; i < mm; i++) {
                const int j = i < 0 ? j0 : Z[i];
                if (j < 0) continue;
                const double pi = i < 0 ? pj0 : u[i];
                pf[i + 1] = pi;
                y[j] += alpha * pi;
            }
            for (int i = -1; i < mm; i++) { // grad += alpha G p, column by column
                const int j = i < 0 ? j0 : Z[i];
                const double a = alpha * pf[i + 1];
                if (j < 0 || a == 0) continue;
                const double *Gj = G + (size_t)j * n;
                for (int r = 0; r < n; r++)
                    grad[r] += a * Gj[r];
            }
            if (blk > -2) {
                const int j = blk < 0 ? j0 : Z[blk];
                const double pi = blk < 0 ? pj0 : u[blk];
                y[j] = pi < 0 ? lo[j] : hi[j];
                status[j] = pi < 0 ? BOX_LO : BOX_HI;
                if (has_null && blk == mm - 1) { // the released variable crossed its box
                    pending = -1;
                    continue;
                }
                if (blk < 0 && pending >= 0 && e[pending] != 0) {
                    // the dependent variable takes the pivot's place (same Z, new basis)
                    f.j0 = pending;
                    pending = -1;
                    if (!box_fac_build(&f, tol, w)) return 1;
                    continue;
                }
                if (blk < 0) {
                    if (!box_fac_repivot(&f, status, tol, w)) return 1;
                } else {
                    box_fac_del(&f, blk);
                }
                if (pending >= 0) {
                    const int jp = pending;
                    pending = -1;
                    if (jp == f.j0) continue; // became the pivot in the refactor
                    if (!box_fac_add(&f, jp, tol, w, &dpend)) pending = jp;
                }
                continue;
            }
            if (has_null) return 2; // unreachable: alpha is finite
        }
        // minimizer on this face: equality multiplier (least squares on the free variables),
        // then release the bound with the most negative multiplier
        double nu = 0;
        if (e) {
            double num = 0, den = 0;
            for (int j = 0; j < n; j++)
                if (status[j] == BOX_FREE) {
                    num += e[j] * grad[j];
                    den += e[j] * e[j];
                }
            nu = den > 0 ? num / den : 0;
        }
        double worst = -BOX_MULT_REL * gscale;
        int rel = -1;
        for (int j = 0; j < n; j++) {
            if (status[j] == BOX_FREE || lo[j] == hi[j]) continue;
            double mj = grad[j] - (e ? nu * e[j] : 0);
            double v = status[j] == BOX_LO ? mj : -mj;
            if (v < worst) {
                worst = v;
                rel = j;
            }
        }
        if (rel < 0) {
            *nu_out = nu;
            return 0;
        }
        status[rel] = BOX_FREE;
        if (!box_fac_add(&f, rel, tol, w, &dpend)) pending = rel;
    }
    return 1;
}

int ncvx_qp_box(int n, const double *G, const double *g, const double *lo, const double *hi,
                const double *e, double b, double *y, int *status, int warm, double *lambda_e,
                double *work, int *iwork)
{
    double *grad = work, *p = grad + n, *c = p + n, *ev = c + n, *hv = ev + n, *ef = hv + n;
    double *A = ef + n, *T = A + (size_t)n * n, *dwork = T + (size_t)n * n;
    const int ldw = 3 * n + 2;
    int *F = iwork;
    double gscale = 0, dmax = 0;
    for (int j = 0; j < n; j++) {
        if (!(lo[j] <= hi[j])) return 1;
        dmax = fmax(dmax, fabs(G[(size_t)j * n + j]));
    }
    // a feasible start: y (warm) or the vertex y = lo (the free set grows from nothing, so
    // the reduced Hessians stay small), then e'y = b restored greedily
    for (int j = 0; j < n; j++) {
        double v = warm ? y[j] : lo[j];
        y[j] = v < lo[j] ? lo[j] : v > hi[j] ? hi[j] : v;
        if (!warm) status[j] = BOX_FREE;
    }
    if (e) {
        double r = b;
        for (int j = 0; j < n; j++)
            r -= e[j] * y[j];
        for (int j = 0; j < n && r != 0; j++) {
            if (e[j] == 0) continue;
            double t = y[j] + r / e[j];
            t = t < lo[j] ? lo[j] : t > hi[j] ? hi[j] : t;
            r -= e[j] * (t - y[j]);
            y[j] = t;
        }
        double sc = fabs(b);
        for (int j = 0; j < n; j++)
            sc += fabs(e[j] * y[j]);
        if (fabs(r) > 1e-12 * (1 + sc)) return 1;
    }
    for (int j = 0; j < n; j++) {
        if (y[j] == lo[j])
            status[j] = BOX_LO;
        else if (y[j] == hi[j])
            status[j] = BOX_HI;
        else
            status[j] = BOX_FREE;
    }
    for (int i = 0; i < n; i++) {
        grad[i] = g[i];
        gscale = fmax(gscale, fabs(g[i]));
    }
    for (int j = 0; j < n; j++) // most multipliers are 0 at a solution: skip those columns
        if (y[j] != 0)
            for (int i = 0; i < n; i++)
                grad[i] += G[(size_t)j * n + i] * y[j];
    gscale += dmax * 1;
    const double eig_tol = BOX_EIG_REL * (dmax > 0 ? dmax : 1);
    const long maxit = 20L * n + 100;
    double nu = 0;
    long it = 0;
    if (n > BOX_FAST_MIN) {
        int rc = box_fast(n, G, lo, hi, e, y, status, grad, gscale, eig_tol, &it, maxit, &nu, A, c,
                          ev, hv, T, iwork + n, iwork);
        if (rc == 0) {
            if (lambda_e) *lambda_e = nu;
            for (int j = 0; j < n; j++)
                if (!isfinite(y[j])) return 2;
            return 0;
        }
        if (rc == 2) return 2;
    }
    for (; it < maxit; it++) {
        // free set; an equality needs a free variable of its own (one at a bound is freed:
        // the equality keeps it where it is)
        int nf = 0, ne = 0;
        for (int j = 0; j < n; j++)
            if (status[j] == BOX_FREE) {
                F[nf++] = j;
                if (e && e[j] != 0) ne++;
            }
        if (e && ne == 0) {
            int jb = -1;
            for (int j = 0; j < n; j++)
                if (e[j] != 0 && (jb < 0 || fabs(e[j]) > fabs(e[jb]))) jb = j;
            if (jb >= 0) {
                status[jb] = BOX_FREE;
                F[nf++] = jb;
                ne = 1;
            }
        }
        const int useq = e && ne > 0;
        const int m = useq ? nf - 1 : nf; // dimension of the reduced space
        double pmax = 0;
        if (m > 0) {
            double vv = 1;
            if (useq) {
                for (int a = 0; a < nf; a++)
                    ef[a] = e[F[a]];
                vv = box_house(nf, ef, hv);
            }
            // T = G_FF, then A = H' G_FF H (rows/cols 1.. for the reduced Hessian)
            for (int bb = 0; bb < nf; bb++)
                for (int a = 0; a < nf; a++)
                    T[(size_t)bb * nf + a] = G[(size_t)F[bb] * n + F[a]];
            if (useq) {
                for (int bb = 0; bb < nf; bb++) // columns: H G
                    box_house_apply(nf, hv, vv, T + (size_t)bb * nf);
                for (int a = 0; a < nf; a++) { // rows: (H G) H
                    for (int bb = 0; bb < nf; bb++)
                        c[bb] = T[(size_t)bb * nf + a];
                    box_house_apply(nf, hv, vv, c);
                    for (int bb = 0; bb < nf; bb++)
                        T[(size_t)bb * nf + a] = c[bb];
                }
            }
            const int off = useq ? 1 : 0;
            for (int bb = 0; bb < m; bb++)
                for (int a = 0; a < m; a++)
                    A[(size_t)bb * m + a] = T[(size_t)(bb + off) * nf + a + off];
            // reduced gradient rg = (H grad_F)[off:]
            for (int a = 0; a < nf; a++)
                p[a] = grad[F[a]];
            if (useq) box_house_apply(nf, hv, vv, p);
            double gmax = 0;
            for (int a = 0; a < m; a++)
                gmax = fmax(gmax, fabs(p[a + off]));
            int has_null = 0;
            double *u = T; // T is free again
            // the common case, a clearly positive definite reduced Hessian: Newton step by
            // Cholesky (A is kept for the eigen path below)
            if (box_chol_step(m, A, p + off, eig_tol, T, c)) {
                memcpy(u, c, (size_t)m * sizeof *u);
                goto step;
            }
            int info = 0;
            dsyev_("V", "U", &m, A, &m, ev, dwork, &ldw, &info);
            if (info != 0) return 2;
            // coordinates c = V' rg
            for (int k = 0; k < m; k++) {
                double acc = 0;
                for (int a = 0; a < m; a++)
                    acc += A[(size_t)k * m + a] * p[a + off];
                c[k] = acc;
                if (ev[k] <= eig_tol && fabs(acc) > 1e-13 * (gscale + gmax)) has_null = 1;
            }
            // u = -sum over null c_k v_k (zero curvature descent), else -sum c_k/ev_k v_k
            for (int a = 0; a < m; a++)
                u[a] = 0;
            for (int k = 0; k < m; k++) {
                double coef;
                if (has_null)
                    coef = ev[k] <= eig_tol ? -c[k] : 0;
                else
                    coef = ev[k] > eig_tol ? -c[k] / ev[k] : 0;
                if (coef == 0) continue;
                for (int a = 0; a < m; a++)
                    u[a] += coef * A[(size_t)k * m + a];
            }
        step:
            // p_F = H [0; u]
            if (useq) {
                p[0] = 0;
                for (int a = 0; a < m; a++)
                    p[a + 1] = u[a];
                box_house_apply(nf, hv, vv, p);
            } else {
                for (int a = 0; a < m; a++)
                    p[a] = u[a];
            }
            double ymax = 0;
            for (int a = 0; a < nf; a++) {
                pmax = fmax(pmax, fabs(p[a]));
                ymax = fmax(ymax, fabs(y[F[a]]));
            }
            if (pmax > BOX_STEP_REL * (1 + ymax)) {
                // ratio test against the bounds of the free variables
                double alpha = has_null ? INFINITY : 1;
                int blk = -1;
                for (int a = 0; a < nf; a++) {
                    const int j = F[a];
                    double t = INFINITY;
                    if (p[a] < 0)
                        t = (lo[j] - y[j]) / p[a];
                    else if (p[a] > 0)
                        t = (hi[j] - y[j]) / p[a];
                    if (t < 0) t = 0;
                    if (t < alpha) {
                        alpha = t;
                        blk = a;
                    }
                }
                if (!isfinite(alpha)) return 2; // cannot happen with finite bounds
                for (int a = 0; a < nf; a++)
                    y[F[a]] += alpha * p[a];
                for (int i = 0; i < n; i++) {
                    double acc = 0;
                    for (int a = 0; a < nf; a++)
                        acc += G[(size_t)F[a] * n + i] * p[a];
                    grad[i] += alpha * acc;
                }
                if (blk >= 0) {
                    const int j = F[blk];
                    if (p[blk] < 0) {
                        y[j] = lo[j];
                        status[j] = BOX_LO;
                    } else {
                        y[j] = hi[j];
                        status[j] = BOX_HI;
                    }
                }
                if (blk >= 0 || has_null) continue;
            }
        }
        // minimizer on this face: multiplier of the equality (least squares on the free
        // variables), then the bound multipliers; release the most negative one
        nu = 0;
        if (e) {
            double num = 0, den = 0;
            for (int a = 0; a < nf; a++) {
                num += e[F[a]] * grad[F[a]];
                den += e[F[a]] * e[F[a]];
            }
            nu = den > 0 ? num / den : 0;
        }
        double worst = -BOX_MULT_REL * gscale;
        int rel = -1;
        for (int j = 0; j < n; j++) {
            if (status[j] == BOX_FREE || lo[j] == hi[j]) continue;
            double mj = grad[j] - (e ? nu * e[j] : 0); // >= 0 at LO, <= 0 at HI
            double v = status[j] == BOX_LO ? mj : -mj;
            if (v < worst) {
                worst = v;
                rel = j;
            }
        }
        if (rel < 0) {
            if (lambda_e) *lambda_e = nu;
            for (int j = 0; j < n; j++)
                if (!isfinite(y[j])) return 2;
            return 0;
        }
        status[rel] = BOX_FREE;
    }
    return 2;
}
