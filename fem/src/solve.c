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

/* Scatter E(rho_e) KE into A->x through the scatter map; factorize. */
static fem_status assemble_factorize(fem_model *m)
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
    if (!cholmod_l_factorize(m->A, m->L, &m->cc) || m->cc.status < CHOLMOD_OK ||
        m->cc.status == CHOLMOD_NOT_POSDEF) {
        fem_status st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_factorize");
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
    fem_status st = assemble_factorize(m);
    if (st != FEM_OK) return st;

    if (!solve(m, m->B, &m->X, &m->Y, &m->E) || m->cc.status < CHOLMOD_OK) {
        st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_solve2");
        return st == FEM_OK ? FEM_ERR_CHOLMOD : st;
    }

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
        if (!solve(m, m->Bl, &m->Xl, &m->Yl, &m->El) || m->cc.status < CHOLMOD_OK) {
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
