// app/cost.h: what a config will cost before any of it is built: memory (network, FE factor,
// solver) and output sizes, checked against limits.max_memory_gb and the PNG size limit
#ifndef APP_COST_H
#define APP_COST_H

#include <stdio.h>

#include "config.h"

/** Share of physical memory that a run may take when limits.max_memory_gb is 0 (default). */
#define APP_COST_MEMORY_SHARE 0.8

/** Estimated resources of one run of a config (bytes unless stated). */
typedef struct {
    double n_params;     ///< optimization variables n
    int n_constraints;   ///< constraints of the solver (k - 1)
    double nn_bytes;     ///< network parameters, gradients and activations/workspaces
    double fe_bytes;     ///< stiffness matrix, Cholesky factor, filter, fields
    double solver_bytes; ///< solver workspaces (formula of solver/include/ncvx.h)
    double state_bytes;  ///< the solver state a checkpoint copies (ncvx_state_size doubles; the
                         ///< pairs of a single-precision L-BFGS are doubles there)
    double total_bytes;  ///< sum of the above plus the chain's per-element arrays
    double limit_bytes;  ///< limits.max_memory_gb, or its default share of physical memory
    double phys_bytes;   ///< physical memory of this machine (0 if unknown)
    double h5_bytes;     ///< result.h5 (with the solver state)
    double png_w, png_h; ///< design.png in pixels
} app_cost;

/** Estimate the resources of c (nothing is allocated beyond a few bytes). The FE factor uses
 *  the nested-dissection fill law of a 2-D grid, nnz(L) ~ ndof log2(side) (George 1973), with
 *  the constant measured on this program (see cost.c); the network counts its parameters and
 *  per-block activations exactly from the architecture; the solver uses the formula of
 *  solver/include/ncvx.h. */
void app_cost_estimate(const app_config *c, app_cost *e);

/** Print the estimate as a few "# ..." lines (YAML comments) to f. */
void app_cost_print(const app_cost *e, FILE *f);

/** 0 if c fits, else 2 with a message in err naming the estimate and the limit (memory above
 *  limits.max_memory_gb, or a picture side above APP_PNG_MAX_SIDE). e may be NULL. */
int app_cost_check(const app_config *c, app_cost *e, char *err, size_t errlen);

#endif
