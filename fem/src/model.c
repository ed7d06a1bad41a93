// fem/src/model.c: model creation: validation, free-dof pattern, symbolic analysis, scatter map
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fem_internal.h"

#ifdef FEM_HAVE_OPENMP
#include <omp.h>
#endif

void fem_settings_default(fem_settings *s)
{
    s->E0 = FEM_E0;
    s->Emin = FEM_EMIN;
    s->nu = FEM_NU;
    s->penal = FEM_PENAL;
    s->factor = FEM_FACTOR_AUTO;
    s->ordering = FEM_ORDER_DEFAULT;
    s->omp_dynamic = 1;
    s->reuse = FEM_REUSE_AUTO;
    s->reuse_tol = FEM_REUSE_TOL;
}

static fem_status settings_check(const fem_settings *s)
{
    if (!(isfinite(s->Emin) && s->Emin > 0))
        return FEM_FAIL(FEM_ERR_SETTINGS, "Emin = %g must be finite and > 0", s->Emin);
    if (!(isfinite(s->E0) && s->E0 > s->Emin))
        return FEM_FAIL(FEM_ERR_SETTINGS, "E0 = %g must be finite and > Emin = %g", s->E0, s->Emin);
    if (!(s->nu > -1 && s->nu < 0.5))
        return FEM_FAIL(FEM_ERR_SETTINGS, "nu = %g must lie in (-1, 0.5)", s->nu);
    if (!(isfinite(s->penal) && s->penal >= 1))
        return FEM_FAIL(FEM_ERR_SETTINGS, "penal = %g must be finite and >= 1", s->penal);
    if (s->factor < FEM_FACTOR_AUTO || s->factor > FEM_FACTOR_SUPERNODAL)
        return FEM_FAIL(FEM_ERR_SETTINGS, "factor = %d is not a FEM_FACTOR_* value", s->factor);
    if (s->ordering < FEM_ORDER_DEFAULT || s->ordering > FEM_ORDER_NESDIS)
        return FEM_FAIL(FEM_ERR_SETTINGS, "ordering = %d is not a FEM_ORDER_* value", s->ordering);
    if (s->reuse < FEM_REUSE_AUTO || s->reuse > FEM_REUSE_ON)
        return FEM_FAIL(FEM_ERR_SETTINGS, "reuse = %d is not a FEM_REUSE_* value", s->reuse);
    if (!(s->reuse_tol > 0 && s->reuse_tol <= 1e-6))
        return FEM_FAIL(FEM_ERR_SETTINGS, "reuse_tol = %g must lie in (0, 1e-6]", s->reuse_tol);
    return FEM_OK;
}

/* The grid is connected and Emin > 0, so K is SPD iff the fixed dofs remove the three rigid
 * motions u = a - w*y, v = b + w*x. A non-zero (a, b, w) survives iff no x dof is fixed, or no
 * y dof is fixed, or (w != 0) every fixed x dof lies on one row y and every fixed y dof on one
 * column x. Exact integer test, no round-off. */
static fem_status rigid_check(const fem_model *m)
{
    int H = m->H, nx = 0, ny = 0, xrow = -1, ycol = -1, xrows = 0, ycols = 0;
    for (int d = 0; d < m->ndof; d++) {
        if (m->fidx[d] >= 0) continue;
        int node = d / 2, ix = node / (H + 1), iy = node % (H + 1);
        if (d % 2 == 0) {
            nx++;
            if (xrow < 0)
                xrow = iy, xrows = 1;
            else if (iy != xrow)
                xrows = 2;
        } else {
            ny++;
            if (ycol < 0)
                ycol = ix, ycols = 1;
            else if (ix != ycol)
                ycols = 2;
        }
    }
    if (nx == 0 && ny == 0)
        return FEM_FAIL(FEM_ERR_NOT_SPD, "no fixed dofs: the structure is a mechanism "
                                         "(all three rigid-body modes are free)");
    if (nx == 0)
        return FEM_FAIL(FEM_ERR_NOT_SPD, "no x dof is fixed: rigid translation in x is free "
                                         "(the structure is under-supported)");
    if (ny == 0)
        return FEM_FAIL(FEM_ERR_NOT_SPD, "no y dof is fixed: rigid translation in y is free "
                                         "(the structure is under-supported)");
    if (xrows < 2 && ycols < 2)
        return FEM_FAIL(FEM_ERR_NOT_SPD, "the fixed dofs leave a rigid rotation free (all fixed x "
                                         "dofs on one row, all fixed y dofs on one column): "
                                         "the structure is under-supported");
    return FEM_OK;
}

static fem_status problem_check(const fem_problem *p)
{
    if (p->width < 1 || p->height < 1)
        return FEM_FAIL(FEM_ERR_INVALID, "grid %d x %d: width and height must be >= 1", p->width,
                        p->height);
    // ndof = 2 (W+1)(H+1) and nelem * 36 must fit the int / uint32 indices used internally.
    if ((double)(p->width + 1.0) * (p->height + 1.0) * 2.0 > (double)INT_MAX / 2 ||
        (double)p->width * p->height * FEM_NPAIR > (double)UINT32_MAX / 2)
        return FEM_FAIL(FEM_ERR_INVALID, "grid %d x %d is too large", p->width, p->height);
    if (p->n_fixed < 0 || (p->n_fixed > 0 && !p->fixed_dofs))
        return FEM_FAIL(FEM_ERR_INVALID, "n_fixed = %d with fixed_dofs %s", p->n_fixed,
                        p->fixed_dofs ? "set" : "NULL");
    if (p->n_cases < 1) return FEM_FAIL(FEM_ERR_INVALID, "n_cases = %d must be >= 1", p->n_cases);
    if (p->n_point_loads < 0 || (p->n_point_loads > 0 && !p->point_loads))
        return FEM_FAIL(FEM_ERR_INVALID, "n_point_loads = %d with point_loads %s", p->n_point_loads,
                        p->point_loads ? "set" : "NULL");
    if (p->n_void < 0 || (p->n_void > 0 && !p->void_elems))
        return FEM_FAIL(FEM_ERR_INVALID, "n_void = %d with void_elems NULL", p->n_void);
    if (p->n_solid < 0 || (p->n_solid > 0 && !p->solid_elems))
        return FEM_FAIL(FEM_ERR_INVALID, "n_solid = %d with solid_elems NULL", p->n_solid);
    return FEM_OK;
}

void fem_model_destroy(fem_model *m)
{
    if (!m) return;
    if (m->cc_started) {
        cholmod_l_free_sparse(&m->A, &m->cc);
        cholmod_l_free_factor(&m->L, &m->cc);
        cholmod_l_free_dense(&m->B, &m->cc);
        cholmod_l_free_dense(&m->X, &m->cc);
        cholmod_l_free_dense(&m->Y, &m->cc);
        cholmod_l_free_dense(&m->E, &m->cc);
        cholmod_l_free_dense(&m->Bl, &m->cc);
        cholmod_l_free_dense(&m->Xl, &m->cc);
        cholmod_l_free_dense(&m->Yl, &m->cc);
        cholmod_l_free_dense(&m->El, &m->cc);
        cholmod_l_free_dense(&m->R, &m->cc);
        cholmod_l_free_dense(&m->Z, &m->cc);
        cholmod_l_free_dense(&m->Yc, &m->cc);
        cholmod_l_free_dense(&m->Ec, &m->cc);
        cholmod_l_finish(&m->cc);
    }
    free(m->fidx);
    free(m->passive);
    free(m->design);
    free(m->f);
    free(m->smap);
    free(m->rho);
    free(m->u);
    free(m->ccase);
    free(m->lam);
    free(m->wrho);
    free(m->wdc);
    free(m->cg_p);
    free(m->cg_q);
    free(m);
}

/* Pattern of one triangle (stype < 0: lower, > 0: upper) of the free-dof matrix, with the
 * free dofs numbered by m->fidx. Two nodes share an element iff they are at most one apart in
 * ix and in iy (every grid cell is an element, passive ones included), so column J (free dof d
 * at node (ix, iy)) holds the free dofs of the 3x3 node neighbourhood on its side of the
 * diagonal. Rows are sorted within each column (insertion sort of <= 18 entries). */
static cholmod_sparse *pattern(fem_model *m, int stype, const int *jdof)
{
    const int W = m->W, H = m->H;
    cholmod_sparse *A = NULL;
    for (int pass = 0; pass < 2; pass++) {
        SuiteSparse_long *Ap = pass ? A->p : NULL, *Ai = pass ? A->i : NULL;
        SuiteSparse_long k = 0;
        for (int J = 0; J < m->nfree; J++) {
            const int d = jdof[J], node = d / 2, ix = node / (H + 1), iy = node % (H + 1);
            const SuiteSparse_long k0 = k;
            if (pass) Ap[J] = k;
            for (int jx = ix - 1; jx <= ix + 1; jx++) {
                if (jx < 0 || jx > W) continue;
                for (int jy = iy - 1; jy <= iy + 1; jy++) {
                    if (jy < 0 || jy > H) continue;
                    for (int c = 0; c < 2; c++) {
                        const int I = m->fidx[2 * ((H + 1) * jx + jy) + c];
                        if (I < 0 || (stype < 0 ? I < J : I > J)) continue;
                        if (pass) {
                            SuiteSparse_long q = k;
                            for (; q > k0 && Ai[q - 1] > I; q--)
                                Ai[q] = Ai[q - 1];
                            Ai[q] = I;
                        }
                        k++;
                    }
                }
            }
        }
        if (!pass) {
            if (k + 1 > (SuiteSparse_long)UINT32_MAX) {
                FEM_FAIL(FEM_ERR_INVALID,
                         "matrix has %ld entries, too many for the 32-bit "
                         "scatter map",
                         (long)k);
                return NULL;
            }
            // one extra slot: the trash entry that pairs touching a fixed dof scatter into
            A = cholmod_l_allocate_sparse(m->nfree, m->nfree, k + 1, 1, 1, stype, CHOLMOD_REAL,
                                          &m->cc);
            if (!A) {
                fem_cholmod_status_(&m->cc, __func__, "cholmod_l_allocate_sparse");
                return NULL;
            }
        } else {
            Ap[m->nfree] = k;
        }
    }
    return A;
}

/* jdof[J] = dof of free index J under the current m->fidx */
static void free_dofs(const fem_model *m, int *jdof)
{
    for (int d = 0; d < m->ndof; d++)
        if (m->fidx[d] >= 0) jdof[m->fidx[d]] = d;
}

/* Fill-reducing ordering computed ONCE, then baked into the free-dof numbering: CHOLMOD's
 * factorize copies and permutes A on every call unless the factor has the natural ordering
 * and A is stored as the lower triangle (supernodal) or upper triangle (simplicial)
 * (cholmod_factorize.c). So: (1) analyze the matrix in dof order with the requested method;
 * (2) renumber the free dofs by its permutation (which includes the etree postorder);
 * (3) build the renumbered matrix in the triangle the factor kind reads directly and analyze
 * it with the natural ordering. Fill and supernodes are those of (1). */
static fem_status analyze(fem_model *m, const fem_settings *s)
{
    fem_status st = FEM_OK;
    int *jdof = malloc((size_t)m->nfree * sizeof *jdof);
    if (!jdof) return FEM_FAIL(FEM_ERR_NOMEM, "free-dof list of %d", m->nfree);
    cholmod_sparse *A0 = NULL;
    cholmod_factor *L0 = NULL;
    cholmod_common *cc = &m->cc;

    free_dofs(m, jdof);
    if (!(A0 = pattern(m, -1, jdof))) {
        st = FEM_ERR_NOMEM;
        goto done;
    }
    cc->supernodal = s->factor == FEM_FACTOR_SIMPLICIAL   ? CHOLMOD_SIMPLICIAL
                     : s->factor == FEM_FACTOR_SUPERNODAL ? CHOLMOD_SUPERNODAL
                                                          : CHOLMOD_AUTO;
    if (s->ordering != FEM_ORDER_DEFAULT) {
        cc->nmethods = 1;
        cc->method[0].ordering = s->ordering == FEM_ORDER_AMD     ? CHOLMOD_AMD
                                 : s->ordering == FEM_ORDER_METIS ? CHOLMOD_METIS
                                                                  : CHOLMOD_NESDIS;
    }
    L0 = cholmod_l_analyze(A0, cc);
    if (!L0 || cc->status < CHOLMOD_OK) {
        st = fem_cholmod_status_(cc, __func__, "cholmod_l_analyze");
        if (st == FEM_OK) st = FEM_ERR_CHOLMOD;
        goto done;
    }
    const int super = L0->is_super != 0;
    const SuiteSparse_long *P = L0->Perm;
    for (int J = 0; J < m->nfree; J++)
        m->fidx[jdof[P[J]]] = J; // new index of old free P[J]
    cholmod_l_free_factor(&L0, cc);
    cholmod_l_free_sparse(&A0, cc);

    free_dofs(m, jdof);
    m->A = pattern(m, super ? -1 : 1, jdof);
    if (!m->A) {
        st = FEM_ERR_NOMEM;
        goto done;
    }
    m->nnz = (int64_t)((SuiteSparse_long *)m->A->p)[m->nfree];
    cc->nmethods = 1;
    cc->method[0].ordering = CHOLMOD_NATURAL;
    cc->postorder = 0;
    cc->supernodal = super ? CHOLMOD_SUPERNODAL : CHOLMOD_SIMPLICIAL;
    m->L = cholmod_l_analyze(m->A, cc);
    if (!m->L || cc->status < CHOLMOD_OK) {
        st = fem_cholmod_status_(cc, __func__, "cholmod_l_analyze (natural)");
        if (st == FEM_OK) st = FEM_ERR_CHOLMOD;
        goto done;
    }
    if (m->L->ordering != CHOLMOD_NATURAL || (m->L->is_super != 0) != super) {
        st = FEM_FAIL(FEM_ERR_CHOLMOD, "CHOLMOD did not keep the precomputed ordering");
        goto done;
    }
done:
    cholmod_l_free_factor(&L0, cc);
    cholmod_l_free_sparse(&A0, cc);
    free(jdof);
    return st;
}

/* Slot of every (element, pair) in A->x; pairs with a fixed dof go to the trash slot nnz. */
static void build_scatter_map(fem_model *m)
{
    int pa[FEM_NPAIR], pb[FEM_NPAIR], d[8];
    fem_pairs_(pa, pb);
    const SuiteSparse_long *Ap = m->A->p, *Ai = m->A->i;
    const int lower = m->A->stype < 0;
    uint32_t *s = m->smap;
    for (int ex = 0; ex < m->W; ex++)
        for (int ey = 0; ey < m->H; ey++) {
            fem_edofs_(m->H, ex, ey, d);
            for (int q = 0; q < FEM_NPAIR; q++) {
                const int I = m->fidx[d[pa[q]]], J = m->fidx[d[pb[q]]];
                uint32_t slot = (uint32_t)m->nnz;
                if (I >= 0 && J >= 0) {
                    const int lo = I < J ? I : J, hi = I < J ? J : I;
                    const int row = lower ? hi : lo, col = lower ? lo : hi;
                    for (SuiteSparse_long k = Ap[col]; k < Ap[col + 1]; k++)
                        if (Ai[k] == row) {
                            slot = (uint32_t)k;
                            break;
                        }
                }
                *s++ = slot;
            }
        }
}

fem_status fem_model_create(fem_model **out, const fem_problem *p, const fem_settings *s)
{
    fem_status st;
    fem_settings def;
    if (!out) return FEM_FAIL(FEM_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!p) return FEM_FAIL(FEM_ERR_INVALID, "problem is NULL");
    if (!s) {
        fem_settings_default(&def);
        s = &def;
    }
    if ((st = settings_check(s)) != FEM_OK) return st;
    if ((st = problem_check(p)) != FEM_OK) return st;

    fem_model *m = calloc(1, sizeof *m);
    if (!m) return FEM_FAIL(FEM_ERR_NOMEM, "model");
    m->W = p->width;
    m->H = p->height;
    m->nelem = m->W * m->H;
    m->ndof = 2 * (m->W + 1) * (m->H + 1);
    m->n_cases = p->n_cases;
    m->E0 = s->E0;
    m->Emin = s->Emin;
    m->nu = s->nu;
    m->penal = s->penal;
    fem_element_stiffness(1.0, m->nu, m->ke);
    {
        int pa[FEM_NPAIR], pb[FEM_NPAIR];
        fem_pairs_(pa, pb);
        for (int q = 0; q < FEM_NPAIR; q++)
            m->ke36[q] = m->ke[8 * pa[q] + pb[q]];
    }
    const size_t ne = (size_t)m->nelem, nd = (size_t)m->ndof, nc = (size_t)m->n_cases;
    m->fidx = malloc(nd * sizeof *m->fidx);
    m->passive = malloc(ne);
    m->design = malloc(ne);
    m->f = calloc(nc * nd, sizeof *m->f);
    m->rho = calloc(ne, sizeof *m->rho);
    m->u = calloc(nc * nd, sizeof *m->u);
    m->ccase = calloc(nc, sizeof *m->ccase);
    m->lam = calloc(nd, sizeof *m->lam);
    m->wrho = calloc(ne, sizeof *m->wrho);
    m->wdc = calloc(ne, sizeof *m->wdc);
    m->smap = malloc(ne * FEM_NPAIR * sizeof *m->smap);
    if (!m->fidx || !m->passive || !m->design || !m->f || !m->rho || !m->u || !m->ccase ||
        !m->lam || !m->wrho || !m->wdc || !m->smap) {
        st = FEM_FAIL(FEM_ERR_NOMEM, "workspaces for a %d x %d grid", m->W, m->H);
        goto fail;
    }

    /* fixed dofs, passive elements, loads */
    for (int d = 0; d < m->ndof; d++)
        m->fidx[d] = 0;
    for (int i = 0; i < p->n_fixed; i++) {
        int d = p->fixed_dofs[i];
        if (d < 0 || d >= m->ndof) {
            st = FEM_FAIL(FEM_ERR_INVALID, "fixed_dofs[%d] = %d out of range [0, %d)", i, d,
                          m->ndof);
            goto fail;
        }
        m->fidx[d] = -1;
    }
    m->nfree = 0;
    for (int d = 0; d < m->ndof; d++)
        if (m->fidx[d] == 0) m->fidx[d] = m->nfree++;
    if ((st = rigid_check(m)) != FEM_OK) goto fail;

    memset(m->passive, -1, ne);
    for (int i = 0; i < p->n_void + p->n_solid; i++) {
        int is_void = i < p->n_void;
        int e = is_void ? p->void_elems[i] : p->solid_elems[i - p->n_void];
        if (e < 0 || e >= m->nelem) {
            st = FEM_FAIL(FEM_ERR_INVALID, "%s[%d] = %d out of range [0, %d)",
                          is_void ? "void_elems" : "solid_elems", is_void ? i : i - p->n_void, e,
                          m->nelem);
            goto fail;
        }
        if (m->passive[e] == (is_void ? 1 : 0)) {
            st = FEM_FAIL(FEM_ERR_INVALID,
                          "element %d (ex %d, ey %d) is both passive void and "
                          "passive solid",
                          e, e % m->W, e / m->W);
            goto fail;
        }
        m->passive[e] = (signed char)(is_void ? 0 : 1);
    }
    for (size_t e = 0; e < ne; e++)
        m->design[e] = m->passive[e] < 0;

    if (p->loads)
        for (size_t i = 0; i < nc * nd; i++) {
            if (!isfinite(p->loads[i])) {
                st = FEM_FAIL(FEM_ERR_INVALID, "loads[%zu] (case %zu, dof %zu) is not finite", i,
                              i / nd, i % nd);
                goto fail;
            }
            m->f[i] = p->loads[i];
        }
    for (int i = 0; i < p->n_point_loads; i++) {
        const fem_point_load *pl = &p->point_loads[i];
        if (pl->load_case < 0 || pl->load_case >= m->n_cases || pl->dof < 0 || pl->dof >= m->ndof ||
            !isfinite(pl->value)) {
            st = FEM_FAIL(FEM_ERR_INVALID,
                          "point_loads[%d] = (case %d, dof %d, %g) invalid "
                          "(%d cases, %d dofs)",
                          i, pl->load_case, pl->dof, pl->value, m->n_cases, m->ndof);
            goto fail;
        }
        m->f[(size_t)pl->load_case * nd + (size_t)pl->dof] += pl->value;
    }

    /* CHOLMOD */
#ifdef FEM_HAVE_OPENMP
    if (s->omp_dynamic) omp_set_dynamic(1);
#endif
    if (!cholmod_l_start(&m->cc)) {
        st = FEM_FAIL(FEM_ERR_CHOLMOD, "cholmod_l_start failed");
        goto fail;
    }
    m->cc_started = 1;
    m->cc.print = 0; // problems surface as fem_status
    if ((st = analyze(m, s)) != FEM_OK) goto fail;
    build_scatter_map(m);
    m->fact_cost = fem_fact_cost_(m->cc.fl, m->cc.lnz, (double)m->nnz, (double)m->nfree);
    m->reuse = s->reuse == FEM_REUSE_ON ||
               (s->reuse == FEM_REUSE_AUTO && m->fact_cost >= FEM_REUSE_AUTO_MIN_COST);
    m->tol = s->reuse_tol;
    // forced on: CG gets FEM_REUSE_ON_MIN_ITERS per right-hand side even where one
    // factorization is cheaper (tests, small grids); auto: at most the factorization's cost
    m->min_budget = s->reuse == FEM_REUSE_ON ? FEM_REUSE_ON_MIN_ITERS : 2;
    m->stats.reuse = m->reuse;
    m->stats.fact_cost = m->fact_cost;

    /* dense right-hand sides and solve workspaces, reused by every evaluation */
    m->B = cholmod_l_zeros(m->nfree, nc, CHOLMOD_REAL, &m->cc);
    m->Bl = cholmod_l_zeros(m->nfree, 1, CHOLMOD_REAL, &m->cc);
    m->X = cholmod_l_zeros(m->nfree, nc, CHOLMOD_REAL, &m->cc);
    m->Xl = cholmod_l_zeros(m->nfree, 1, CHOLMOD_REAL, &m->cc);
    m->R = cholmod_l_zeros(m->nfree, 1, CHOLMOD_REAL, &m->cc);
    m->Z = cholmod_l_zeros(m->nfree, 1, CHOLMOD_REAL, &m->cc);
    m->cg_p = malloc((size_t)m->nfree * sizeof *m->cg_p);
    m->cg_q = malloc((size_t)m->nfree * sizeof *m->cg_q);
    if (!m->cg_p || !m->cg_q) {
        st = FEM_FAIL(FEM_ERR_NOMEM, "CG workspaces of %d", m->nfree);
        goto fail;
    }
    if (!m->B || !m->Bl || !m->X || !m->Xl || !m->R || !m->Z) {
        st = fem_cholmod_status_(&m->cc, __func__, "cholmod_l_zeros");
        if (st == FEM_OK) st = FEM_ERR_NOMEM;
        goto fail;
    }
    {
        double *Bx = m->B->x;
        for (size_t k = 0; k < nc; k++)
            for (size_t d = 0; d < nd; d++)
                if (m->fidx[d] >= 0)
                    Bx[k * (size_t)m->nfree + (size_t)m->fidx[d]] = m->f[k * nd + d];
    }
    *out = m;
    return FEM_OK;
fail:
    fem_model_destroy(m);
    return st;
}

void fem_model_solve_stats(const fem_model *m, fem_solve_stats *st)
{
    *st = m->stats;
}

int fem_model_width(const fem_model *m)
{
    return m->W;
}

int fem_model_height(const fem_model *m)
{
    return m->H;
}

int fem_model_nelem(const fem_model *m)
{
    return m->nelem;
}

int fem_model_ndof(const fem_model *m)
{
    return m->ndof;
}

int fem_model_nfree(const fem_model *m)
{
    return m->nfree;
}

int fem_model_n_cases(const fem_model *m)
{
    return m->n_cases;
}

const unsigned char *fem_model_designable(const fem_model *m)
{
    return m->design;
}

const signed char *fem_model_passive(const fem_model *m)
{
    return m->passive;
}
