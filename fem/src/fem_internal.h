// fem/src/fem_internal.h: private structs and helpers of the fem library
#ifndef FEM_INTERNAL_H
#define FEM_INTERNAL_H

#include <stdint.h>

#include <cholmod.h>

#include "fem.h"

/** Print "fem: <func>: <message>" to stderr and return st. */
fem_status fem_report_(fem_status st, const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define FEM_FAIL(st, ...) fem_report_((st), __func__, __VA_ARGS__)

/** Pairs (a, b), a <= b, of the 8 local dofs: 36 entries of one triangle of KE. */
#define FEM_NPAIR 36

struct fem_model {
    int W, H, nelem, ndof, nfree, n_cases;
    double E0, Emin, nu, penal;
    double ke[64];          ///< unit-modulus element matrix
    double ke36[FEM_NPAIR]; ///< ke[a][b] for the pairs in scatter order
    int *fidx;              ///< [ndof] free index of each dof, -1 if fixed
    signed char *passive;   ///< [nelem] -1 designable, 0 void, 1 solid
    unsigned char *design;  ///< [nelem] 1 designable
    double *f;              ///< [n_cases * ndof] full load vectors (fixed entries kept)

    /* CHOLMOD: lower triangle (stype = -1) of the free-dof matrix, analysis, factor */
    cholmod_common cc;
    int cc_started;
    cholmod_sparse *A; ///< nfree x nfree, nzmax = nnz + 1 (last slot = trash for fixed pairs)
    cholmod_factor *L;
    cholmod_dense *B, *X, *Y, *E;     ///< load cases: B, X nfree x n_cases
    cholmod_dense *Bl, *Xl, *Yl, *El; ///< one adjoint right-hand side
    int64_t nnz;                      ///< stored entries of A
    uint32_t *smap; ///< [nelem * 36] value slot of each pair, elements in column-major order
                    ///< (ex outer, ey inner: q = (ex*H + ey)*36 + pair)

    /* factor reuse: CG on K(rho) preconditioned with the factor of an earlier K */
    int reuse;             ///< 1 = reuse factors (settings resolved at create)
    double tol;            ///< CG tolerance (relative energy norm of the error)
    int factor_valid;      ///< 1 once L holds a factor of some earlier matrix
    int refactor_next;     ///< 1 = the policy asks for a factorization at the next evaluation
    int min_budget;        ///< fewest CG iterations per right-hand side before giving up
    int skip, backoff;     ///< evaluations left without CG after a failure; next back-off
    double fact_cost;      ///< one factorization in CG-iteration units (cost model)
    double since_cost;     ///< work since the last factorization, in CG-iteration units
    int since_evals;       ///< evaluations since the last factorization (including it)
    fem_solve_stats stats; ///< counters (fem_model_solve_stats)
    double *cg_p, *cg_q;   ///< [nfree] CG direction and K p
    cholmod_dense *R, *Z, *Yc, *Ec; ///< CG residual (nfree x 1), M^-1 r, solve2 workspaces

    /* results of the last successful evaluation */
    int evaluated;
    double *rho;   ///< [nelem] densities used (passive substituted)
    double *u;     ///< [n_cases * ndof] displacements
    double *ccase; ///< [n_cases] compliance per case
    double *lam;   ///< [ndof] adjoint field for fem_model_functional
    /* workspaces for fem_model_compliance_filtered */
    double *wrho, *wdc; ///< [nelem]
};

/** 8 global dofs of element (ex, ey) in local order [x0 y0 x1 y1 x2 y2 x3 y3]. */
static inline void fem_edofs_(int H, int ex, int ey, int d[8])
{
    int n1 = (H + 1) * ex + ey, n2 = n1 + H + 1, n3 = n2 + 1, n4 = n1 + 1;
    d[0] = 2 * n1, d[1] = 2 * n1 + 1, d[2] = 2 * n2, d[3] = 2 * n2 + 1;
    d[4] = 2 * n3, d[5] = 2 * n3 + 1, d[6] = 2 * n4, d[7] = 2 * n4 + 1;
}

/** Local pair index q -> (a, b), a <= b, in the order used by the scatter map. */
void fem_pairs_(int pa[FEM_NPAIR], int pb[FEM_NPAIR]);

/** Cost of one numerical factorization in preconditioned-CG iterations (the reuse policy's
 *  model) from the analysis' flop count fl, nnz(L) lnz, stored entries of A and order n. */
double fem_fact_cost_(double fl, double lnz, double nnz_a, double n);

/** Map a CHOLMOD status after a call to a fem_status (reported with what = the call). */
fem_status fem_cholmod_status_(const cholmod_common *cc, const char *func, const char *what);

#endif
