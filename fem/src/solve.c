// fem/src/solve.c: one evaluation (scatter, factorize, solve), sensitivities, functionals
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fem_internal.h"

static double young(const fem_model *m, double rho)
{
    return m->Emin + pow(rho, m->penal) * (m->E0 - m->Emin);
}

/* d E / d rho = p rho^(p-1) (E0 - Emin) */
static double dyoung(const fem_model *m, double rho)
{
    return m->penal * pow(rho, m->penal - 1) * (m->E0 - m->Emin);
}

/* a^T KE b for the element dofs d of the fields a, b [ndof] */
static double ke_form(const double *ke, const int d[8], const double *a, const double *b)
{
    double ae[8], be[8], s = 0;
    for (int i = 0; i < 8; i++)
        ae[i] = a[d[i]], be[i] = b[d[i]];
    for (int i = 0; i < 8; i++) {
        double t = 0;
        for (int j = 0; j < 8; j++)
            t += ke[8 * i + j] * be[j];
        s += ae[i] * t;
    }
    return s;
}

/* Give solve2's workspaces the shape its ensure_dense() checks for, so that it reuses them.
 * CHOLMOD's perm()/ptrans() reshape Y in place during a solve, after which ensure_dense
 * (which compares exact dimensions) would free and reallocate it on every call. Shapes from
 * cholmod_solve.c: supernodal Y n x nrhs, E nrhs x maxesize; simplicial Y max(4, nrhs) x n.
 * If a future CHOLMOD wants other shapes it simply reallocates: correctness never depends on
 * this. */
static void shape(cholmod_dense *D, size_t nrow, size_t ncol)
{
    if (D && D->nzmax >= nrow * ncol) D->nrow = nrow, D->ncol = ncol, D->d = nrow;
}

static int solve(fem_model *m, cholmod_dense *B, cholmod_dense **X, cholmod_dense **Y,
                 cholmod_dense **E)
{
    const size_t n = (size_t)m->nfree, nrhs = B->ncol;
    if (m->L->is_super) {
        shape(*Y, n, nrhs);
        shape(*E, nrhs, (size_t)m->L->maxesize);
    } else {
        shape(*Y, nrhs > 4 ? nrhs : 4, n);
    }
    return cholmod_l_solve2(CHOLMOD_A, m->L, B, NULL, X, NULL, Y, E, &m->cc);
}

/* Cost model of the reuse policy. One preconditioned CG iteration reads the factor twice
 * (two triangular solves, 4 lnz flops, bandwidth-bound), multiplies by K from one stored
 * triangle (4 nnz flops) and does about 12 n vector flops; a factorization does fl flops at
 * BLAS-3 speed on large grids, FEM_CG_FLOP_PENALTY times faster per flop than CG. On small
 * grids the factorization is far from BLAS-3 speed, and measured it never costs fewer than
 * FEM_FACT_COST_MIN iterations. Measured with tests/bench/bench_fem_reuse (CPU time, one
 * thread, Xeon with AVX-512, OpenBLAS SkylakeX kernels): factorization / CG iteration = 9.6 at
 * 96x32 and 8.1 at 256x256 (the flop model with penalty 7.2 gives 2 and 8.1). */
#define FEM_CG_FLOP_PENALTY 7.2
#define FEM_FACT_COST_MIN 8.0

double fem_fact_cost_(double fl, double lnz, double nnz_a, double n)
{
    const double it = 4 * lnz + 4 * nnz_a + 12 * n;
    const double f = it > 0 ? fl / (FEM_CG_FLOP_PENALTY * it) : 0;
    return f > FEM_FACT_COST_MIN ? f : FEM_FACT_COST_MIN;
}

/* Scatter E(rho_e) KE into A->x through the scatter map. */
static void assemble(fem_model *m)
{
    double *Ax = m->A->x;
    memset(Ax, 0, (size_t)(m->nnz + 1) * sizeof *Ax);
    const uint32_t *s = m->smap;
    const double *ke = m->ke36;
    for (int ex = 0; ex < m->W; ex++)
        for (int ey = 0; ey < m->H; ey++, s += FEM_NPAIR) {
            const double E = young(m, m->rho[ey * m->W + ex]);
            for (int q = 0; q < FEM_NPAIR; q++)
                Ax[s[q]] += E * ke[q];
        }
}

/* Numerical factorization of the assembled A; restarts the reuse cycle. */
static fem_status factorize(fem_model *m)
{
    m->factor_valid = 0;
    if (!cholmod_l_factorize(m->A, m->L, &m->cc) || m->cc.status < CHOLMOD_OK ||
        m->cc.status == CHOLMOD_NOT_POSDEF) {
        fem_status st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_factorize");
        return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
    }
    m->factor_valid = 1;
    m->refactor_next = 0;
    m->since_cost = m->fact_cost;
    m->since_evals = 0;
    m->stats.factorizations++;
    return FEM_OK;
}

/* y = A x with A symmetric, one triangle stored (either one: the loop is the same). */
static void symv(const fem_model *m, const double *x, double *y)
{
    const SuiteSparse_long *Ap = m->A->p, *Ai = m->A->i;
    const double *Ax = m->A->x;
    const SuiteSparse_long n = m->nfree;
    memset(y, 0, (size_t)n * sizeof *y);
    for (SuiteSparse_long j = 0; j < n; j++) {
        const double xj = x[j];
        double yj = 0;
        for (SuiteSparse_long k = Ap[j]; k < Ap[j + 1]; k++) {
            const SuiteSparse_long i = Ai[k];
            const double a = Ax[k];
            if (i == j) {
                yj += a * xj;
            } else {
                y[i] += a * xj;
                yj += a * x[i];
            }
        }
        y[j] += yj;
    }
}

static double dot(size_t n, const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Solve A x = b by conjugate gradients preconditioned with M = L L^T, the factor of an
 * earlier matrix, from x0 = 0 (so that b^T x_k -> c from below with error |e_k|_A^2: the
 * compliance error is quadratic in the CG error). Stopping rule: with gamma = r^T M^-1 r and
 * rate q = gamma_k / gamma_(k-1), the remaining energy error sum_(j>k) alpha_j gamma_j
 * (Hestenes-Stiefel) is estimated by alpha_k gamma_k / (1 - q); stop when it is below
 * tol^2 b^T x, i.e. |e|_A <= tol |u|_A. The gradient's error is linear in e, hence the tight
 * default tol 1e-9: the measured gradient error is about tol (tol 1e-7 gave 1.1e-7, 1e-9 gave
 * 1e-9, 1e-10 gave 9.5e-11 on the OC trajectories of test_fem and bench_fem_reuse), 10x inside
 * the 1e-8 asked for; the compliance error ~tol^2 is far inside 1e-10. Each factor 10 of tol
 * costs about 4 iterations (gamma falls about 0.3x per iteration on those trajectories). Returns 0
 * converged, 1 not within max_it iterations or breakdown (A not SPD in finite precision), -1
 * CHOLMOD error. *iters = iterations done. Allocates nothing (solve2 reuses R, Z, Yc, Ec). */
static int pcg(fem_model *m, const double *b, double *x, int max_it, int *iters)
{
    const size_t n = (size_t)m->nfree;
    double *r = m->R->x, *p = m->cg_p, *q = m->cg_q;
    *iters = 0;
    memcpy(r, b, n * sizeof *r);
    memset(x, 0, n * sizeof *x);
    if (dot(n, b, b) == 0) return 0;
    if (!solve(m, m->R, &m->Z, &m->Yc, &m->Ec) || m->cc.status < CHOLMOD_OK) return -1;
    const double *z = m->Z->x;
    memcpy(p, z, n * sizeof *p);
    double gamma = dot(n, r, z);
    const double tol2 = m->tol * m->tol;
    for (int k = 0; k < max_it; k++) {
        symv(m, p, q);
        const double pq = dot(n, p, q);
        if (!(pq > 0) || !(gamma > 0)) return 1;
        const double alpha = gamma / pq;
        for (size_t i = 0; i < n; i++) {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
        }
        *iters = k + 1;
        if (!solve(m, m->R, &m->Z, &m->Yc, &m->Ec) || m->cc.status < CHOLMOD_OK) return -1;
        z = m->Z->x;
        const double gnew = dot(n, r, z), bx = dot(n, b, x), rate = gnew / gamma;
        if (!isfinite(gnew)) return 1;
        if (rate < 1 && alpha * gnew / (1 - rate) <= tol2 * bx) return 0;
        const double beta = gnew / gamma;
        for (size_t i = 0; i < n; i++)
            p[i] = z[i] + beta * p[i];
        gamma = gnew;
    }
    return 1;
}

/* Solve every load case into X: CG with the last factor when the policy allows it, else (or
 * when CG runs past the cost of a factorization) factorize and solve directly.
 * Policy (renewal rule): a cycle is one factorization followed by CG evaluations; its average
 * cost per evaluation A = (F + sum of CG iterations) / evaluations falls as long as the next
 * evaluation costs less than A, so the policy refactors at the next evaluation as soon as an
 * evaluation's CG iterations reach the cycle's average (iterations grow as the design drifts
 * from the factorized one). F = fact_cost, the factorization in CG-iteration units. CG gives
 * up past max(F, min_budget) iterations for all cases (then: refactor now, solve directly). */
static fem_status solve_cases(fem_model *m)
{
    const size_t nf = (size_t)m->nfree;
    m->stats.last_iterations = 0;
    m->stats.last_factored = 0;
    int try_cg = m->reuse && m->factor_valid && !m->refactor_next;
    if (try_cg && m->skip > 0) {
        m->skip--;
        try_cg = 0;
    }
    if (try_cg) {
        int budget = (int)m->fact_cost, used = 0, ok = 1;
        if (budget < m->min_budget * m->n_cases) budget = m->min_budget * m->n_cases;
        for (int k = 0; k < m->n_cases && ok; k++) {
            int it = 0;
            const int rc = pcg(m, (const double *)m->B->x + (size_t)k * nf,
                               (double *)m->X->x + (size_t)k * nf, budget - used, &it);
            used += it;
            m->stats.cg_solves++;
            if (rc < 0) {
                fem_status st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_solve2");
                return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
            }
            if (rc) ok = 0;
        }
        m->stats.cg_iterations += used;
        if (ok) {
            m->backoff = 0;
            m->stats.last_iterations = used;
            m->since_cost += used;
            m->since_evals++;
            if (used >= m->since_cost / m->since_evals) m->refactor_next = 1;
            return FEM_OK;
        }
        m->stats.cg_failures++;
        // back off: skip CG for 1, 2, 4 ... 32 evaluations after consecutive failures, so that
        // a run whose designs change fast (first steps) wastes at most a few CG budgets
        m->backoff = m->backoff ? (m->backoff < 32 ? 2 * m->backoff : 32) : 1;
        m->skip = m->backoff;
    }
    fem_status st = factorize(m);
    if (st != FEM_OK) return st;
    m->since_evals = 1;
    m->stats.last_factored = 1;
    if (!solve(m, m->B, &m->X, &m->Y, &m->E) || m->cc.status < CHOLMOD_OK) {
        st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_solve2");
        return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
    }
    return FEM_OK;
}

fem_status fem_model_compliance(fem_model *m, const double *rho, double *c, double *dc)
{
    if (!m || !rho) return FEM_FAIL(FEM_ERR_INVALID, "model or rho is NULL");
    m->evaluated = 0;
    for (int e = 0; e < m->nelem; e++) {
        const double r = rho[e];
        if (!isfinite(r) || r < 0)
            return FEM_FAIL(FEM_ERR_INVALID,
                            "rho[%d] (element ex %d, ey %d) = %g: densities "
                            "must be finite and >= 0",
                            e, e % m->W, e / m->W, r);
        m->rho[e] = m->passive[e] < 0 ? r : (double)m->passive[e];
    }
    assemble(m);
    fem_status st = solve_cases(m);
    if (st != FEM_OK) return st;

    const size_t nd = (size_t)m->ndof, nf = (size_t)m->nfree;
    const double *X = m->X->x, *Bx = m->B->x;
    double ctot = 0;
    for (int k = 0; k < m->n_cases; k++) {
        double *u = m->u + (size_t)k * nd;
        const double *xk = X + (size_t)k * nf, *bk = Bx + (size_t)k * nf;
        for (size_t d = 0; d < nd; d++)
            u[d] = m->fidx[d] >= 0 ? xk[m->fidx[d]] : 0.0;
        double ck = 0;
        for (size_t i = 0; i < nf; i++)
            ck += bk[i] * xk[i];
        m->ccase[k] = ck;
        ctot += ck;
    }
    if (!isfinite(ctot))
        return FEM_FAIL(FEM_ERR_NOT_SPD,
                        "compliance is %g: the stiffness matrix is numerically "
                        "singular (under-supported structure)",
                        ctot);
    if (dc) {
        int d[8];
        for (int ex = 0; ex < m->W; ex++)
            for (int ey = 0; ey < m->H; ey++) {
                const int e = ey * m->W + ex;
                if (m->passive[e] >= 0) {
                    dc[e] = 0;
                    continue;
                }
                fem_edofs_(m->H, ex, ey, d);
                double ce = 0;
                for (int k = 0; k < m->n_cases; k++) {
                    const double *u = m->u + (size_t)k * nd;
                    ce += ke_form(m->ke, d, u, u);
                }
                dc[e] = -dyoung(m, m->rho[e]) * ce;
            }
    }
    if (c) *c = ctot;
    m->evaluated = 1;
    m->stats.evaluations++;
    return FEM_OK;
}

double fem_model_case_compliance(const fem_model *m, int k)
{
    if (!m || !m->evaluated || k < 0 || k >= m->n_cases) return NAN;
    return m->ccase[k];
}

const double *fem_model_displacement(const fem_model *m, int k)
{
    if (!m || !m->evaluated || k < 0 || k >= m->n_cases) return NULL;
    return m->u + (size_t)k * (size_t)m->ndof;
}

const double *fem_model_density(const fem_model *m)
{
    if (!m || !m->evaluated) return NULL;
    return m->rho;
}

fem_status fem_model_strain_energy(const fem_model *m, int k, double *se)
{
    if (!m || !se) return FEM_FAIL(FEM_ERR_INVALID, "model or se is NULL");
    if (k < -1 || k >= m->n_cases)
        return FEM_FAIL(FEM_ERR_INVALID, "load case %d out of range [-1, %d)", k, m->n_cases);
    if (!m->evaluated) return FEM_FAIL(FEM_ERR_STATE, "no successful evaluation yet");
    const int k0 = k < 0 ? 0 : k, k1 = k < 0 ? m->n_cases : k + 1;
    int d[8];
    for (int ex = 0; ex < m->W; ex++)
        for (int ey = 0; ey < m->H; ey++) {
            const int e = ey * m->W + ex;
            fem_edofs_(m->H, ex, ey, d);
            double ce = 0;
            for (int kk = k0; kk < k1; kk++) {
                const double *u = m->u + (size_t)kk * (size_t)m->ndof;
                ce += ke_form(m->ke, d, u, u);
            }
            se[e] = 0.5 * young(m, m->rho[e]) * ce;
        }
    return FEM_OK;
}

fem_status fem_model_functional(fem_model *m, int k, const double *ell, double *J, double *dJ)
{
    if (!m || !ell) return FEM_FAIL(FEM_ERR_INVALID, "model or ell is NULL");
    if (k < 0 || k >= m->n_cases)
        return FEM_FAIL(FEM_ERR_INVALID, "load case %d out of range [0, %d)", k, m->n_cases);
    if (!m->evaluated) return FEM_FAIL(FEM_ERR_STATE, "no successful fem_model_compliance() yet");
    const size_t nd = (size_t)m->ndof;
    const double *u = m->u + (size_t)k * nd;
    double *bl = m->Bl->x, val = 0;
    for (size_t d = 0; d < nd; d++) {
        if (!isfinite(ell[d]))
            return FEM_FAIL(FEM_ERR_INVALID, "ell[%zu] = %g is not finite", d, ell[d]);
        if (m->fidx[d] >= 0) {
            bl[m->fidx[d]] = ell[d];
            val += ell[d] * u[d];
        }
    }
    if (dJ) {
        // adjoint: K lambda = ell (K symmetric), dJ/drho_e = -lambda_e^T dK_e/drho_e u_e
        // with a reused factor: CG (the factor belongs to an earlier matrix); on failure
        // refactor the current matrix (A still holds it) and solve directly
        int direct = m->stats.last_factored || !m->reuse;
        if (!direct) {
            int it = 0;
            const int budget =
                (int)m->fact_cost > m->min_budget ? (int)m->fact_cost : m->min_budget;
            const int rc = pcg(m, m->Bl->x, m->Xl->x, budget, &it);
            m->stats.cg_solves++;
            m->stats.cg_iterations += it;
            m->since_cost += it;
            if (rc < 0) {
                fem_status st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_solve2");
                return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
            }
            if (rc) {
                m->stats.cg_failures++;
                fem_status st = factorize(m);
                if (st != FEM_OK) return st;
                m->since_evals = 1;
                m->stats.last_factored = 1;
                direct = 1;
            }
        }
        if (direct && (!solve(m, m->Bl, &m->Xl, &m->Yl, &m->El) || m->cc.status < CHOLMOD_OK)) {
            fem_status st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_solve2");
            return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
        }
        const double *xl = m->Xl->x;
        for (size_t d = 0; d < nd; d++)
            m->lam[d] = m->fidx[d] >= 0 ? xl[m->fidx[d]] : 0.0;
        int dd[8];
        for (int ex = 0; ex < m->W; ex++)
            for (int ey = 0; ey < m->H; ey++) {
                const int e = ey * m->W + ex;
                if (m->passive[e] >= 0) {
                    dJ[e] = 0;
                    continue;
                }
                fem_edofs_(m->H, ex, ey, dd);
                dJ[e] = -dyoung(m, m->rho[e]) * ke_form(m->ke, dd, m->lam, u);
            }
    }
    if (J) *J = val;
    return FEM_OK;
}

fem_status fem_model_compliance_filtered(fem_model *m, const fem_filter *f, const double *rho_raw,
                                         double *c, double *dc_raw)
{
    if (!m || !rho_raw) return FEM_FAIL(FEM_ERR_INVALID, "model or rho_raw is NULL");
    if (f && fem_filter_nelem(f) != m->nelem)
        return FEM_FAIL(FEM_ERR_INVALID, "filter has %d elements, model %d", fem_filter_nelem(f),
                        m->nelem);
    fem_status st;
    const double *rp = rho_raw;
    if (f) {
        for (int e = 0; e < m->nelem; e++)
            if (!isfinite(rho_raw[e]))
                return FEM_FAIL(FEM_ERR_INVALID,
                                "rho_raw[%d] (element ex %d, ey %d) = %g is not "
                                "finite",
                                e, e % m->W, e / m->W, rho_raw[e]);
        if ((st = fem_filter_apply(f, rho_raw, m->wrho)) != FEM_OK) return st;
        rp = m->wrho;
    }
    if ((st = fem_model_compliance(m, rp, c, dc_raw ? m->wdc : NULL)) != FEM_OK) return st;
    if (dc_raw) {
        if (f) return fem_filter_apply_transpose(f, m->wdc, dc_raw);
        memcpy(dc_raw, m->wdc, (size_t)m->nelem * sizeof *dc_raw);
    }
    return FEM_OK;
}
