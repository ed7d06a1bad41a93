// tests/fem_trajectory.h: a real design trajectory through the fem API (top88's OC on an MBB
// beam with a density filter), shared by test_fem's factor-reuse test and bench_fem_reuse
#ifndef TOPOPT_FEM_TRAJECTORY_H
#define TOPOPT_FEM_TRAJECTORY_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fem.h"

/* MBB half beam (top88): x fixed on the left edge, y fixed at the bottom-right node, unit
 * downward load at the top-left node. Fresh factorizations unless reuse says otherwise. */
static inline fem_status traj_mbb_model(fem_model **m, int W, int H, int reuse, int n_cases)
{
    int nfix = (H + 1) + 1;
    int *fix = malloc((size_t)nfix * sizeof *fix);
    fem_point_load pl[2];
    if (!fix) return FEM_ERR_NOMEM;
    for (int iy = 0; iy <= H; iy++)
        fix[iy] = fem_dof_x(H, 0, iy);
    fix[H + 1] = fem_dof_y(H, W, H);
    pl[0] = (fem_point_load){0, fem_dof_y(H, 0, 0), 1.0};
    // second case (if any): a load at the middle of the bottom edge
    pl[1] = (fem_point_load){1, fem_dof_y(H, W / 2, H), 1.0};
    fem_problem p = {.width = W,
                     .height = H,
                     .n_fixed = nfix,
                     .fixed_dofs = fix,
                     .n_cases = n_cases,
                     .n_point_loads = n_cases > 1 ? 2 : 1,
                     .point_loads = pl};
    fem_settings s;
    fem_settings_default(&s);
    s.reuse = reuse;
    fem_status st = fem_model_create(m, &p, &s);
    free(fix);
    return st;
}

/* top88's optimality-criteria update (move 0.2, damping 1/2, bisection on the volume of the
 * filtered density): x in/out [n], dc = dc/dx (filtered back), xphys out [n]. */
static inline void traj_oc_step(const fem_filter *f, int n, double volfrac, double *x,
                                const double *dc, double *xnew, double *xphys)
{
    double l1 = 0, l2 = 1e9;
    while ((l2 - l1) / (l1 + l2) > 1e-3) {
        const double lm = 0.5 * (l1 + l2);
        for (int e = 0; e < n; e++) {
            double v = x[e] * sqrt(fmax(-dc[e], 0) / lm);
            v = fmin(fmin(x[e] + 0.2, 1.0), v);
            v = fmax(fmax(x[e] - 0.2, 0.0), v);
            xnew[e] = v;
        }
        fem_filter_apply(f, xnew, xphys);
        double vol = 0;
        for (int e = 0; e < n; e++)
            vol += xphys[e];
        if (vol > volfrac * n)
            l1 = lm;
        else
            l2 = lm;
    }
    memcpy(x, xnew, (size_t)n * sizeof *x);
}

/* Record n_steps physical densities [n_steps * nelem] of an OC run from the uniform design
 * (step 0 = uniform), evaluated with model m (fresh factorizations expected). 0 or -1. */
static inline int traj_record(fem_model *m, int n_steps, double volfrac, double *rhos)
{
    const int W = fem_model_width(m), H = fem_model_height(m), n = W * H;
    fem_filter *f = NULL;
    double *x = malloc((size_t)n * sizeof *x), *xn = malloc((size_t)n * sizeof *xn);
    double *dc = malloc((size_t)n * sizeof *dc), *dcr = malloc((size_t)n * sizeof *dcr);
    int rc = -1;
    if (!x || !xn || !dc || !dcr) goto out;
    if (fem_filter_create(&f, W, H, FEM_FILTER_DENSITY_ROWSUM, 2.0, NULL) != FEM_OK) goto out;
    for (int e = 0; e < n; e++)
        x[e] = volfrac;
    fem_filter_apply(f, x, rhos);
    for (int k = 0; k < n_steps; k++) {
        double *rho = rhos + (size_t)k * n, c;
        if (fem_model_compliance(m, rho, &c, dc) != FEM_OK) goto out;
        if (k + 1 == n_steps) break;
        fem_filter_apply_transpose(f, dc, dcr);
        traj_oc_step(f, n, volfrac, x, dcr, xn, rho + n);
    }
    rc = 0;
out:
    fem_filter_destroy(f);
    free(x);
    free(xn);
    free(dc);
    free(dcr);
    return rc;
}

#endif
