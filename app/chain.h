// app/chain.h: the evaluation chain theta -> nn -> density map -> filter -> projection -> fem,
// and its exact transpose for the objective and every constraint
#ifndef APP_CHAIN_H
#define APP_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/** Opaque chain: fem model, network, filter, every workspace (allocated once at create). */
typedef struct app_chain app_chain;

/** Constraint kinds, in the order they appear in c_ineq (all but APP_CON_VOLUME_EQ). */
typedef enum {
    APP_CON_VOLUME_LE = 0, ///< mean(rho) - volfrac <= 0
    APP_CON_BINARITY,      ///< mean(rho (1 - rho)) - tol <= 0
    APP_CON_SYMMETRY,      ///< mean((rho - mirror rho)^2) - tol <= 0
    APP_CON_DISPLACEMENT,  ///< s u_d / limit - 1 <= 0
    APP_CON_VOLUME_EQ,     ///< mean(rho) - volfrac = 0 (the only equality)
} app_con_kind;

/** Build everything for config c (validated; deep-copied, so c may go after the call).
 *  Returns 0, or 1 with a message in err. */
int app_chain_create(app_chain **out, const app_config *c, char *err, size_t errlen);

/** NULL-safe. */
void app_chain_destroy(app_chain *ch);

/** Number of optimization variables. */
int app_chain_num_params(const app_chain *ch);
/** Number of inequality / equality constraints. */
int app_chain_num_ineq(const app_chain *ch);
int app_chain_num_eq(const app_chain *ch);
/** Name of inequality i (or equality i when eq != 0), e.g. "volume". */
const char *app_chain_con_name(const app_chain *ch, int i, int eq);

/** Deterministic starting point theta[n] for the config's seed. Returns 0 or 1. */
int app_chain_init_params(app_chain *ch, double *theta);

/** Box bounds of the variables (pixel density map only; NULL otherwise), arrays of n. */
const double *app_chain_lower(const app_chain *ch);
const double *app_chain_upper(const app_chain *ch);

/** Set the objective scale: f = compliance / scale (1 = unnormalized). */
void app_chain_set_scale(app_chain *ch, double scale);
double app_chain_scale(const app_chain *ch);

/** The ncvx_eval_fn of the chain (user = the chain). Value-only when grad_f is NULL. */
int app_chain_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                   double *c_eq, double *jac_eq, void *user);

/** Projection for NCVX_PROJGRAD (box [0,1] intersected with the volume constraint). */
int app_chain_project(double *x, int n, void *user);

/** Fields of the last evaluation (valid until the next one). Arrays of W*H, row-major with
 *  the top row first (rho[ey*W + ex]); displacement [n_cases * ndof]. */
typedef struct {
    int W, H, ndof, n_cases;
    const double *rho_raw, *rho_filtered, *rho_physical;
    const double *displacement;  ///< NULL if not available
    const double *strain_energy; ///< NULL if not available
    double compliance;           ///< unnormalized, summed over load cases
    double volume;               ///< mean physical density over designable elements
    double grey;                 ///< app_grey_fraction of the physical density
} app_chain_fields;

/** Grey densities: a physical density strictly between these is neither void nor solid. */
#define APP_GREY_LO 0.1
#define APP_GREY_HI 0.9

/** Grey fraction of a design: the share of the designable elements (fixed[e] < 0; every
 *  element when fixed is NULL) whose density rho[e] lies strictly between APP_GREY_LO and
 *  APP_GREY_HI. 0 for a black-and-white design, 1 when every element is grey; NaN when no
 *  element is designable. */
double app_grey_fraction(const double *rho, const signed char *fixed, int ne);

/** Evaluate at theta (value only, plus displacement and strain energy) and expose fields. */
int app_chain_fields_at(app_chain *ch, const double *theta, app_chain_fields *out);

/** Compliance of a given physical density rho[W*H] (row-major, top row first), through the
 *  same fem model: used to verify a stored result. Returns 0 or 1. */
int app_chain_compliance_of(app_chain *ch, const double *rho_physical, double *compliance);

/** FE solves (compliance evaluations) done by this chain so far, counted at the solve itself:
 *  solver evaluations, value-only trials and fields_at/compliance_of calls alike. */
long app_chain_fem_solves(const app_chain *ch);

/** Pixel variables x[n] of a pixel chain (density map pixel) whose raw density equals
 *  rho[W*H] (row-major, top row first) on the designable elements, clipped to the box. Returns
 *  0, or 1 if the chain is not a pixel chain. */
int app_chain_pixels_from_density(const app_chain *ch, const double *rho, double *x);

/** Seconds spent in fem and nn so far. */
void app_chain_times(const app_chain *ch, double *fem_time, double *nn_time);

/** Seconds spent so far in the density map, filter, projection and their transposes. */
double app_chain_map_time(const app_chain *ch);

/** Benchmarks: time the chain's parts in CPU seconds of the calling thread (on = 1, for a
 *  shared machine with one BLAS thread) instead of wall seconds (0, the default). Process-wide. */
void app_chain_use_cpu_clock(int on);

struct fem_model;
/** The chain's fem model (for benchmarks and tests; owned by the chain). */
struct fem_model *app_chain_fem(const app_chain *ch);

#endif
