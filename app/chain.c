// app/chain.c: the evaluation chain (ARCHITECTURE.md): theta -> nn forward -> logits ->
// density map -> filter -> projection -> fem compliance, and back through the transposes
#include "chain.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fem.h"
#include "ncvx.h"
#include "nn.h"

#define MAXK 8 /* objective + at most 5 constraints (+ slack) */

struct app_chain {
    app_config c;       /* deep copy (app_config_copy) */
    int W, H, ne;       /* ne = W*H */
    int n;              /* variables */
    int n_design;       /* designable elements */
    int *design;        /* [n_design] element index (row-major, top first) of each designable one */
    signed char *fixed; /* [ne] -1 designable, 0 passive void, 1 passive solid */
    nn_model *net;      /* NULL for pixels */
    int n_ineq, n_eq;
    app_con_kind ineq[MAXK];
    double scale; /* objective divisor */
    double disp_sign;
    int disp_dof;

    /* fem */
    fem_model *fem;
    fem_filter *filter; /* NULL when filter.kind is none */
    int ndof, n_cases;

    /* workspaces, sized at create */
    double *z;             /* [ne] logits */
    double *rho;           /* [ne] mapped density (raw) */
    double *rho_f;         /* [ne] filtered */
    double *rho_p;         /* [ne] physical (projected) */
    double *dproj;         /* [ne] d rho_p / d rho_f */
    double *sig;           /* [ne] sigmoid' at z (+b) */
    double *volw;          /* [ne] sigmoid-mean: volume weights, summing to 1 over the design */
    double vol_target;     /* the weighted mean of rho they must reach */
    double *up;            /* [MAXK * ne] upstream gradients w.r.t. rho_p, then rho_f, rho, z */
    double *tmp;           /* [ne] */
    double *dc;            /* [ne] dc/drho_p */
    double *gbuf;          /* [MAXK * n] nn backward output */
    double *lower, *upper; /* [n] pixel map box */
    double *fem_rho;       /* [ne] density in fem's element order */
    double *fem_grad;      /* [ne] */
    double *u;             /* [n_cases * ndof] */
    double *energy;        /* [ne] */
    double *ell;           /* [ndof] displacement functional */
    double *ddisp;         /* [ne] its gradient w.r.t. rho_p */
    double compliance, volume;
    double fem_time, nn_time;
    double map_time; /* density map, filter, projection and their transposes */
    long fem_solves; /* every FE solve of this chain (evaluation accounting) */
};

static clockid_t g_clock = CLOCK_MONOTONIC; /* app_chain_use_cpu_clock */

static double now(void)
{
    struct timespec t;
    clock_gettime(g_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 1;
}

static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* ------------------------------------------------------------------------------------------ */
/* Density maps                                                                                */

/* sigmoid-mean (after Hoyer et al. 2019, topo_physics.sigmoid_with_constrained_mean): rho_e =
 * sigmoid(z_e + b) over the designable elements, b such that the physical volume (the mean of
 * the filtered density over the designable elements, what every method's volume constraint and
 * the reported volume measure) is V. Hoyer's code holds the mean of rho itself at V; after the
 * density filter that volume moves: across the grid's edges (0.4998 for 0.5 on the 96 x 32
 * MBB, 0.4005 for 0.4 on an 80 x 40 cantilever with a void block) and much more next to passive
 * solid, which the filter carries into its neighbours (0.2038 for 0.2 on a 48 x 96 tower under
 * a solid top row). The physical volume is linear in rho, sum_i w_i rho_i + c_solid with
 * w = F^T (1_design / n_design) (volume_weights), so b makes a weighted mean of the sigmoids
 * reach a target; without a density filter (w uniform) or through a projection (not linear)
 * it is Hoyer's mean. Either sum S(b) is increasing in b, with S'(b) = sum_i w_i s_i (1 - s_i):
 * Newton's method from the offset of the weighted mean of z, inside a bracket that surely holds
 * b and shrinks with the sign of every S(b) - V (bisection where a step leaves it), reaches full
 * double precision in a few passes over the elements (bisection took about 60, each costing one
 * sigmoid per element: 6 % of an evaluation). The start depends on z alone, so that a resumed run
 * repeats it bit for bit. */
static double solve_offset(const app_chain *ch, const double *z)
{
    double zmin = INFINITY, zmax = -INFINITY, zbar = 0;
    for (int i = 0; i < ch->n_design; i++) {
        int e = ch->design[i];
        double v = z[e];
        if (v < zmin) zmin = v;
        if (v > zmax) zmax = v;
        zbar += ch->volw[e] * v;
    }
    /* volw sums to 1 over the designable elements: its target is a weighted mean V */
    double V = ch->vol_target;
    double logit = log(V) - log1p(-V);
    double lo = logit - zmax - 1, hi = logit - zmin + 1; /* S(lo) < V < S(hi) */
    double b = logit - zbar;
    if (!(b > lo && b < hi)) b = 0.5 * (lo + hi);
    double zscale = 4 * DBL_EPSILON * fmax(fmax(fabs(zmin), fabs(zmax)), fabs(logit) + 1);
    for (int it = 0; it < 200; it++) {
        double s = 0, d = 0;
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            double si = sigmoid(z[e] + b);
            s += ch->volw[e] * si;
            d += ch->volw[e] * (si * (1 - si));
        }
        if (s > V)
            hi = b;
        else if (s < V)
            lo = b;
        else
            break;
        double nb = b - (s - V) / d;
        if (!(nb > lo && nb < hi)) { /* outside the bracket (or d = 0): bisect */
            nb = 0.5 * (lo + hi);
            if (nb <= lo || nb >= hi) break; /* the bracket cannot shrink any more */
        }
        /* a step below the rounding level of the sigmoids' arguments z + b: done */
        if (fabs(nb - b) <= zscale) {
            b = nb;
            break;
        }
        b = nb;
    }
    return b;
}

static void map_forward(app_chain *ch)
{
    const double *z = ch->z;
    double *rho = ch->rho;
    for (int e = 0; e < ch->ne; e++)
        rho[e] = ch->fixed[e] > 0 ? 1.0 : 0.0;
    switch (ch->c.density_map) {
    case APP_MAP_SIGMOID_MEAN: {
        double b = solve_offset(ch, z);
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            double s = sigmoid(z[e] + b);
            rho[e] = s;
            ch->sig[e] = s * (1 - s);
        }
        break;
    }
    case APP_MAP_SIGMOID:
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            double s = sigmoid(z[e]);
            rho[e] = s;
            ch->sig[e] = s * (1 - s);
        }
        break;
    default:
        for (int i = 0; i < ch->n_design; i++)
            rho[ch->design[i]] = z[ch->design[i]];
        break;
    }
}

/* g[ne] = dL/drho (designable entries used) -> dL/dz in place. For sigmoid-mean, the implicit
 * function theorem on sum_i w_i sigmoid(z_i + b) = const gives db/dz_j = -w_j s_j / sum_i w_i s_i
 * with s = sigmoid', so dL/dz_j = s_j (g_j - w_j sum_i s_i g_i / sum_i w_i s_i) (w_i = 1 for
 * Hoyer's mean). */
static void map_backward(const app_chain *ch, double *g)
{
    switch (ch->c.density_map) {
    case APP_MAP_SIGMOID_MEAN: {
        double ss = 0, sg = 0;
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            ss += ch->volw[e] * ch->sig[e];
            sg += ch->sig[e] * g[e];
        }
        double m = ss > 0 ? sg / ss : 0;
        for (int e = 0; e < ch->ne; e++)
            g[e] = ch->fixed[e] < 0 ? ch->sig[e] * (g[e] - ch->volw[e] * m) : 0;
        break;
    }
    case APP_MAP_SIGMOID:
        for (int e = 0; e < ch->ne; e++)
            g[e] = ch->fixed[e] < 0 ? ch->sig[e] * g[e] : 0;
        break;
    default:
        for (int e = 0; e < ch->ne; e++)
            if (ch->fixed[e] >= 0) g[e] = 0;
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Physics (fem): element order conversion, filter, projection, compliance                     */

static double dot_ell_u(const app_chain *ch, const double *u)
{
    return u[ch->disp_dof];
}

/* Build the fem model and the filter from the config. */
static int phys_create(app_chain *ch, char *err, size_t errlen)
{
    const app_config *c = &ch->c;
    int W = ch->W, H = ch->H;
    int nfix = 0, npl = 0, nvoid = 0, nsolid = 0;
    for (int i = 0; i < c->n_fix_x; i++)
        nfix += (c->fix_x[i].x1 - c->fix_x[i].x0 + 1) * (c->fix_x[i].y1 - c->fix_x[i].y0 + 1);
    for (int i = 0; i < c->n_fix_y; i++)
        nfix += (c->fix_y[i].x1 - c->fix_y[i].x0 + 1) * (c->fix_y[i].y1 - c->fix_y[i].y0 + 1);
    for (int lc = 0; lc < c->n_cases; lc++)
        for (int i = 0; i < c->n_loads[lc]; i++) {
            const app_load_rect *l = &c->loads[lc][i];
            npl += 2 * (l->x1 - l->x0 + 1) * (l->y1 - l->y0 + 1);
        }
    for (int e = 0; e < ch->ne; e++) {
        nvoid += ch->fixed[e] == 0;
        nsolid += ch->fixed[e] == 1;
    }
    int *fixed = malloc(sizeof(int) * (size_t)(nfix + 1));
    fem_point_load *pl = malloc(sizeof *pl * (size_t)(npl + 1));
    int *voids = malloc(sizeof(int) * (size_t)(nvoid + 1));
    int *solids = malloc(sizeof(int) * (size_t)(nsolid + 1));
    int rc = 1;
    if (!fixed || !pl || !voids || !solids) {
        errf(err, errlen, "out of memory building the FE problem");
        goto out;
    }
    nfix = npl = nvoid = nsolid = 0;
    for (int i = 0; i < c->n_fix_x; i++)
        for (int ix = c->fix_x[i].x0; ix <= c->fix_x[i].x1; ix++)
            for (int iy = c->fix_x[i].y0; iy <= c->fix_x[i].y1; iy++)
                fixed[nfix++] = fem_dof_x(H, ix, iy);
    for (int i = 0; i < c->n_fix_y; i++)
        for (int ix = c->fix_y[i].x0; ix <= c->fix_y[i].x1; ix++)
            for (int iy = c->fix_y[i].y0; iy <= c->fix_y[i].y1; iy++)
                fixed[nfix++] = fem_dof_y(H, ix, iy);
    for (int lc = 0; lc < c->n_cases; lc++)
        for (int i = 0; i < c->n_loads[lc]; i++) {
            const app_load_rect *l = &c->loads[lc][i];
            for (int ix = l->x0; ix <= l->x1; ix++)
                for (int iy = l->y0; iy <= l->y1; iy++) {
                    if (l->fx != 0) pl[npl++] = (fem_point_load){lc, fem_dof_x(H, ix, iy), l->fx};
                    if (l->fy != 0) pl[npl++] = (fem_point_load){lc, fem_dof_y(H, ix, iy), l->fy};
                }
        }
    for (int e = 0; e < ch->ne; e++) {
        if (ch->fixed[e] == 0) voids[nvoid++] = e;
        if (ch->fixed[e] == 1) solids[nsolid++] = e;
    }
    fem_problem p = {.width = W,
                     .height = H,
                     .n_fixed = nfix,
                     .fixed_dofs = fixed,
                     .n_cases = c->n_cases,
                     .loads = NULL,
                     .n_point_loads = npl,
                     .point_loads = pl,
                     .n_void = nvoid,
                     .void_elems = voids,
                     .n_solid = nsolid,
                     .solid_elems = solids};
    fem_settings fs;
    fem_settings_default(&fs);
    fs.E0 = c->E0;
    fs.Emin = c->Emin;
    fs.nu = c->nu;
    fs.penal = c->penal;
    fs.reuse = c->fem_reuse; // config names auto/off/on in FEM_REUSE_* order
    fem_status st = fem_model_create(&ch->fem, &p, &fs);
    if (st != FEM_OK) {
        if (st == FEM_ERR_NOT_SPD)
            errf(err, errlen,
                 "the supports leave the structure free to move (a mechanism): fix both "
                 "directions somewhere and prevent rotation (%s)",
                 fem_status_str(st));
        else
            errf(err, errlen, "cannot build the FE model: %s", fem_status_str(st));
        goto out;
    }
    ch->ndof = fem_model_ndof(ch->fem);
    ch->n_cases = fem_model_n_cases(ch->fem);
    if (c->filter_kind != APP_FILTER_NONE) {
        fem_filter_kind k = c->filter_kind == APP_FILTER_SENSITIVITY ? FEM_FILTER_SENSITIVITY
                            : c->filter_norm == APP_NORM_ROW         ? FEM_FILTER_DENSITY_ROWSUM
                                                                     : FEM_FILTER_DENSITY_COLSUM;
        st = fem_filter_create(&ch->filter, W, H, k, c->filter_radius,
                               fem_model_designable(ch->fem));
        if (st != FEM_OK) {
            errf(err, errlen, "cannot build the filter: %s", fem_status_str(st));
            goto out;
        }
    }
    ch->u = calloc((size_t)ch->ndof * (size_t)ch->n_cases, sizeof(double));
    ch->ell = calloc((size_t)ch->ndof, sizeof(double));
    if (!ch->u || !ch->ell) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    if (c->disp_enabled) {
        ch->disp_dof = c->disp_dir == APP_DIR_X ? fem_dof_x(H, c->disp_node[0], c->disp_node[1])
                                                : fem_dof_y(H, c->disp_node[0], c->disp_node[1]);
        ch->ell[ch->disp_dof] = 1.0;
        /* the sign of the displacement in the uniform design fixes which way is limited */
        for (int e = 0; e < ch->ne; e++)
            ch->rho_p[e] = ch->fixed[e] < 0 ? c->volfrac : ch->fixed[e];
        double comp;
        st = fem_model_compliance(ch->fem, ch->rho_p, &comp, NULL);
        if (st != FEM_OK) {
            errf(err, errlen, "the uniform design cannot be analysed: %s", fem_status_str(st));
            goto out;
        }
        double u0 = dot_ell_u(ch, fem_model_displacement(ch->fem, 0));
        ch->disp_sign = u0 < 0 ? -1.0 : 1.0;
        if (u0 == 0) {
            errf(err, errlen,
                 "constraints.displacement: the node's %s displacement is zero in the uniform "
                 "design (a fixed dof?)",
                 app_name_str(&app_direction_names, c->disp_dir));
            goto out;
        }
    }
    rc = 0;
out:
    free(fixed);
    free(pl);
    free(voids);
    free(solids);
    return rc;
}

static void phys_destroy(app_chain *ch)
{
    fem_filter_destroy(ch->filter);
    fem_model_destroy(ch->fem);
}

/* the passive values after a filter or projection (their outputs are constants) */
static void set_passive(const app_chain *ch, double *r)
{
    for (int e = 0; e < ch->ne; e++)
        if (ch->fixed[e] >= 0) r[e] = ch->fixed[e];
}

static void phys_filter(app_chain *ch, const double *in, double *out)
{
    if (!ch->filter || ch->c.filter_kind == APP_FILTER_SENSITIVITY)
        memcpy(out, in, sizeof(double) * (size_t)ch->ne);
    else
        fem_filter_apply(ch->filter, in, out);
    set_passive(ch, out);
}

/* out = F^T g (g on passive entries is dropped: those outputs are constants) */
static void phys_filter_transpose(app_chain *ch, double *g, double *out)
{
    for (int e = 0; e < ch->ne; e++)
        if (ch->fixed[e] >= 0) g[e] = 0;
    if (!ch->filter || ch->c.filter_kind == APP_FILTER_SENSITIVITY)
        memcpy(out, g, sizeof(double) * (size_t)ch->ne);
    else
        fem_filter_apply_transpose(ch->filter, g, out);
}

static void phys_project(app_chain *ch, const double *in, double *out, double *d)
{
    if (ch->c.projection) {
        fem_projection(ch->ne, ch->c.beta, ch->c.eta, in, out, d);
    } else {
        memcpy(out, in, sizeof(double) * (size_t)ch->ne);
        for (int e = 0; e < ch->ne; e++)
            d[e] = 1.0;
    }
    set_passive(ch, out);
}

/* compliance (and dc/drho_p), and the displacement functional (and its gradient) */
static int phys_compliance(app_chain *ch, double *dc, double *comp, double *disp, double *ddisp)
{
    double t0 = now();
    ch->fem_solves++;
    fem_status st = fem_model_compliance(ch->fem, ch->rho_p, comp, dc);
    if (st == FEM_OK && disp) st = fem_model_functional(ch->fem, 0, ch->ell, disp, ddisp);
    ch->fem_time += now() - t0;
    return st != FEM_OK || !isfinite(*comp);
}

static void phys_fields(app_chain *ch)
{
    for (int k = 0; k < ch->n_cases; k++) {
        const double *u = fem_model_displacement(ch->fem, k);
        if (u) memcpy(ch->u + (size_t)k * ch->ndof, u, sizeof(double) * (size_t)ch->ndof);
    }
    if (fem_model_strain_energy(ch->fem, -1, ch->energy) != FEM_OK)
        memset(ch->energy, 0, sizeof(double) * (size_t)ch->ne);
}

/* top88 ft = 1: dc <- H(x dc) / (Hs max(1e-3, x)) on the objective row */
static void phys_sensitivity_filter(app_chain *ch, double *g0)
{
    fem_filter_sensitivity(ch->filter, ch->rho_p, g0, ch->tmp);
    memcpy(g0, ch->tmp, sizeof(double) * (size_t)ch->ne);
}

/* ------------------------------------------------------------------------------------------ */
/* Constraints on the physical density                                                         */

static double mirror_index(const app_chain *ch, int e)
{
    int ex = e % ch->W, ey = e / ch->W;
    if (ch->c.symmetry == APP_SYM_X)
        ex = ch->W - 1 - ex;
    else
        ey = ch->H - 1 - ey;
    return ey * ch->W + ex;
}

/* value of constraint kind k at rho_p; if g != NULL, g[ne] = its gradient w.r.t. rho_p */
static double constraint(app_chain *ch, app_con_kind k, double *g)
{
    const double *r = ch->rho_p;
    double nd = (double)ch->n_design, v = 0;
    if (g) memset(g, 0, sizeof(double) * (size_t)ch->ne);
    switch (k) {
    case APP_CON_VOLUME_LE:
    case APP_CON_VOLUME_EQ:
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            v += r[e];
            if (g) g[e] = 1.0 / nd;
        }
        return v / nd - ch->c.volfrac;
    case APP_CON_BINARITY:
        for (int i = 0; i < ch->n_design; i++) {
            int e = ch->design[i];
            v += r[e] * (1 - r[e]);
            if (g) g[e] = (1 - 2 * r[e]) / nd;
        }
        return v / nd - ch->c.binarity_tol;
    case APP_CON_SYMMETRY:
        /* sum over all elements of (r_e - r_m(e))^2 / ne; d/dr_e = 4 (r_e - r_m(e)) / ne since
         * each pair appears twice */
        for (int e = 0; e < ch->ne; e++) {
            int m = (int)mirror_index(ch, e);
            double d = r[e] - r[m];
            v += d * d;
            if (g) g[e] = 4 * d / ch->ne;
        }
        return v / ch->ne - ch->c.symmetry_tol;
    case APP_CON_DISPLACEMENT:
        return 0; /* computed with the fem adjoint in eval */
    }
    return 0;
}

static const char *con_name(app_con_kind k)
{
    switch (k) {
    case APP_CON_VOLUME_LE:
    case APP_CON_VOLUME_EQ:
        return "volume";
    case APP_CON_BINARITY:
        return "binarity";
    case APP_CON_SYMMETRY:
        return "symmetry";
    case APP_CON_DISPLACEMENT:
        return "displacement";
    }
    return "?";
}

/* ------------------------------------------------------------------------------------------ */

/* sigmoid-mean: the weights of the volume it holds, normalized to sum 1 over the designable
 * elements, and the weighted mean they must reach (see solve_offset). With a density filter
 * and no projection, the physical volume: w = F^T (1_design / n_design), target
 * (V - c_solid) / sum w; otherwise Hoyer's mean: w = 1 / n_design, target V. */
static int volume_weights(app_chain *ch, char *err, size_t errlen)
{
    const app_config *c = &ch->c;
    if (c->density_map != APP_MAP_SIGMOID_MEAN) return 0;
    if (!(ch->volw = calloc((size_t)ch->ne, sizeof(double))))
        return errf(err, errlen, "out of memory");
    if (!ch->filter || c->filter_kind == APP_FILTER_SENSITIVITY || c->projection) {
        for (int i = 0; i < ch->n_design; i++)
            ch->volw[ch->design[i]] = 1.0 / ch->n_design;
        ch->vol_target = c->volfrac;
        return 0;
    }
    for (int i = 0; i < ch->n_design; i++)
        ch->tmp[ch->design[i]] = 1.0 / ch->n_design;
    fem_filter_apply_transpose(ch->filter, ch->tmp, ch->volw);
    memset(ch->tmp, 0, sizeof(double) * (size_t)ch->ne);
    double c_solid = 0, sum = 0;
    for (int e = 0; e < ch->ne; e++) {
        if (ch->fixed[e] == 1) c_solid += ch->volw[e];
        if (ch->fixed[e] >= 0) ch->volw[e] = 0;
        sum += ch->volw[e];
    }
    double free_volume = c->volfrac - c_solid;
    if (!(free_volume > 0 && free_volume < sum))
        return errf(err, errlen,
                    "problem.volfrac %g cannot be met by density_map sigmoid-mean: through the "
                    "filter the passive solid regions alone give the designable elements a "
                    "volume of %g, and all of them at density 1 give %g (volfrac must lie "
                    "strictly between)",
                    c->volfrac, c_solid, c_solid + sum);
    for (int e = 0; e < ch->ne; e++)
        ch->volw[e] /= sum;
    ch->vol_target = free_volume / sum;
    return 0;
}

void app_chain_destroy(app_chain *ch)
{
    if (!ch) return;
    nn_model_destroy(ch->net);
    phys_destroy(ch);
    free(ch->design);
    free(ch->fixed);
    free(ch->z);
    free(ch->rho);
    free(ch->rho_f);
    free(ch->rho_p);
    free(ch->dproj);
    free(ch->sig);
    free(ch->volw);
    free(ch->up);
    free(ch->tmp);
    free(ch->dc);
    free(ch->gbuf);
    free(ch->lower);
    free(ch->upper);
    free(ch->fem_rho);
    free(ch->fem_grad);
    free(ch->u);
    free(ch->energy);
    free(ch->ell);
    free(ch->ddisp);
    app_config_free(&ch->c);
    free(ch);
}

static int in_rect(const app_rect *r, int x, int y)
{
    return x >= r->x0 && x <= r->x1 && y >= r->y0 && y <= r->y1;
}

int app_chain_create(app_chain **out, const app_config *c, char *err, size_t errlen)
{
    *out = NULL;
    app_chain *ch = calloc(1, sizeof *ch);
    if (!ch) return errf(err, errlen, "out of memory");
    if (app_config_copy(&ch->c, c)) {
        free(ch);
        return errf(err, errlen, "out of memory");
    }
    ch->W = c->width;
    ch->H = c->height;
    ch->ne = ch->W * ch->H;
    ch->scale = 1;
    size_t ne = (size_t)ch->ne;
    ch->fixed = malloc(ne);
    ch->design = malloc(ne * sizeof *ch->design);
    if (!ch->fixed || !ch->design) goto nomem;
    for (int ey = 0; ey < ch->H; ey++)
        for (int ex = 0; ex < ch->W; ex++) {
            int e = ey * ch->W + ex, f = -1;
            for (int i = 0; i < c->n_void; i++)
                if (in_rect(&c->void_rects[i], ex, ey)) f = 0;
            for (int i = 0; i < c->n_solid; i++)
                if (in_rect(&c->solid_rects[i], ex, ey)) f = 1;
            ch->fixed[e] = (signed char)f;
            if (f < 0) ch->design[ch->n_design++] = e;
        }
    if (ch->n_design == 0) {
        app_chain_destroy(ch);
        return errf(err, errlen, "no designable element (everything is passive)");
    }

    /* parameterization */
    if (c->param_kind == APP_PARAM_CNN) {
        nn_hoyer_cnn_settings s = c->cnn;
        nn_status st = nn_model_create_hoyer_cnn(&ch->net, ch->W, ch->H, &s);
        if (st != NN_OK) {
            app_chain_destroy(ch);
            return errf(err, errlen, "cannot build the CNN: %s", nn_status_str(st));
        }
    } else if (c->param_kind == APP_PARAM_MLP) {
        nn_status st = nn_model_create_fourier_mlp(&ch->net, ch->W, ch->H, &c->mlp);
        if (st != NN_OK) {
            app_chain_destroy(ch);
            return errf(err, errlen, "cannot build the MLP: %s", nn_status_str(st));
        }
    }
    ch->n = ch->net ? nn_model_num_params(ch->net) : ch->n_design;

    /* constraints */
    int vol = c->volume;
    if (vol == APP_VOL_AUTO)
        vol = c->density_map == APP_MAP_SIGMOID_MEAN || c->solver.method == NCVX_LBFGS
                  ? APP_VOL_NONE
                  : APP_VOL_LE;
    if (vol == APP_VOL_LE) ch->ineq[ch->n_ineq++] = APP_CON_VOLUME_LE;
    if (c->binarity) ch->ineq[ch->n_ineq++] = APP_CON_BINARITY;
    if (c->symmetry != APP_SYM_NONE) ch->ineq[ch->n_ineq++] = APP_CON_SYMMETRY;
    if (c->disp_enabled) ch->ineq[ch->n_ineq++] = APP_CON_DISPLACEMENT;
    ch->n_eq = vol == APP_VOL_EQ ? 1 : 0;
    int k = 1 + ch->n_ineq + ch->n_eq;

    ch->z = calloc(ne, sizeof(double));
    ch->rho = calloc(ne, sizeof(double));
    ch->rho_f = calloc(ne, sizeof(double));
    ch->rho_p = calloc(ne, sizeof(double));
    ch->dproj = calloc(ne, sizeof(double));
    ch->sig = calloc(ne, sizeof(double));
    ch->up = calloc(ne * (size_t)k, sizeof(double));
    ch->tmp = calloc(ne, sizeof(double));
    ch->dc = calloc(ne, sizeof(double));
    ch->fem_rho = calloc(ne, sizeof(double));
    ch->fem_grad = calloc(ne, sizeof(double));
    ch->energy = calloc(ne, sizeof(double));
    ch->ddisp = calloc(ne, sizeof(double));
    if (ch->net) ch->gbuf = calloc((size_t)ch->n * (size_t)k, sizeof(double));
    if (!ch->z || !ch->rho || !ch->rho_f || !ch->rho_p || !ch->dproj || !ch->sig || !ch->up ||
        !ch->tmp || !ch->dc || !ch->fem_rho || !ch->fem_grad || !ch->energy || !ch->ddisp ||
        (ch->net && !ch->gbuf))
        goto nomem;
    if (c->density_map == APP_MAP_PIXEL) {
        ch->lower = calloc((size_t)ch->n, sizeof(double));
        ch->upper = malloc((size_t)ch->n * sizeof(double));
        if (!ch->lower || !ch->upper) goto nomem;
        for (int i = 0; i < ch->n; i++)
            ch->upper[i] = 1.0;
    }
    if (phys_create(ch, err, errlen) || volume_weights(ch, err, errlen)) {
        app_chain_destroy(ch);
        return 1;
    }
    *out = ch;
    return 0;
nomem:
    app_chain_destroy(ch);
    return errf(err, errlen, "out of memory building the evaluation chain");
}

int app_chain_num_params(const app_chain *ch)
{
    return ch->n;
}
int app_chain_num_ineq(const app_chain *ch)
{
    return ch->n_ineq;
}
int app_chain_num_eq(const app_chain *ch)
{
    return ch->n_eq;
}
const char *app_chain_con_name(const app_chain *ch, int i, int eq)
{
    if (eq) return i == 0 && ch->n_eq ? "volume" : "?";
    return i >= 0 && i < ch->n_ineq ? con_name(ch->ineq[i]) : "?";
}
const double *app_chain_lower(const app_chain *ch)
{
    return ch->lower;
}
const double *app_chain_upper(const app_chain *ch)
{
    return ch->upper;
}
void app_chain_set_scale(app_chain *ch, double scale)
{
    ch->scale = scale > 0 && isfinite(scale) ? scale : 1;
}
double app_chain_scale(const app_chain *ch)
{
    return ch->scale;
}
void app_chain_times(const app_chain *ch, double *fem_time, double *nn_time)
{
    if (fem_time) *fem_time = ch->fem_time;
    if (nn_time) *nn_time = ch->nn_time;
}

double app_chain_map_time(const app_chain *ch)
{
    return ch->map_time;
}

void app_chain_use_cpu_clock(int on)
{
    g_clock = on ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
}

struct fem_model *app_chain_fem(const app_chain *ch)
{
    return ch->fem;
}

int app_chain_init_params(app_chain *ch, double *theta)
{
    if (ch->net) return nn_model_init_params(ch->net, theta, (uint64_t)ch->c.seed) != NN_OK;
    double v = ch->c.pixel_init;
    if (v < 0) {
        /* pixels: the uniform design (Hoyer's pixel baselines start from volfrac); with a
         * sigmoid map, the logit whose sigmoid is volfrac (sigmoid-mean finds it anyway) */
        if (ch->c.density_map == APP_MAP_PIXEL)
            v = ch->c.volfrac;
        else
            v = log(ch->c.volfrac) - log1p(-ch->c.volfrac);
    }
    for (int i = 0; i < ch->n; i++)
        theta[i] = v;
    return 0;
}

/* theta -> z (logits over the whole grid; passive entries unused) */
static int forward_params(app_chain *ch, const double *theta, int keep)
{
    if (ch->net) {
        double t0 = now();
        nn_status st = nn_model_forward(ch->net, theta, ch->z, keep);
        ch->nn_time += now() - t0;
        if (st != NN_OK) return 1;
    } else {
        for (int i = 0; i < ch->n_design; i++)
            ch->z[ch->design[i]] = theta[i];
    }
    for (int i = 0; i < ch->n_design; i++)
        if (!isfinite(ch->z[ch->design[i]])) return 1;
    return 0;
}

/* Run the forward chain up to rho_p. */
static int forward_density(app_chain *ch, const double *theta, int keep)
{
    if (forward_params(ch, theta, keep)) return 1;
    const double t0 = now();
    map_forward(ch);
    phys_filter(ch, ch->rho, ch->rho_f);
    phys_project(ch, ch->rho_f, ch->rho_p, ch->dproj);
    ch->map_time += now() - t0;
    return 0;
}

/* Take g[ne] = dL/drho_p back to dL/dz (in place). */
static void density_backward(app_chain *ch, double *g)
{
    const double t0 = now();
    for (int e = 0; e < ch->ne; e++)
        g[e] *= ch->dproj[e];
    phys_filter_transpose(ch, g, ch->tmp);
    memcpy(g, ch->tmp, sizeof(double) * (size_t)ch->ne);
    map_backward(ch, g);
    ch->map_time += now() - t0;
}

int app_chain_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                   double *c_eq, double *jac_eq, void *user)
{
    app_chain *ch = user;
    int grad = grad_f != NULL;
    int need_disp = 0;
    for (int i = 0; i < ch->n_ineq; i++)
        if (ch->ineq[i] == APP_CON_DISPLACEMENT) need_disp = 1;
    if (forward_density(ch, x, grad)) return 1;
    double comp, disp = 0;
    if (phys_compliance(ch, grad ? ch->dc : NULL, &comp, need_disp ? &disp : NULL,
                        need_disp && grad ? ch->ddisp : NULL))
        return 1;
    ch->compliance = comp;
    ch->volume = constraint(ch, APP_CON_VOLUME_LE, NULL) + ch->c.volfrac;
    if (f) *f = comp / ch->scale;

    /* rows of the upstream matrix: 0 objective, then inequalities, then the equality */
    size_t ne = (size_t)ch->ne;
    int k = 0;
    if (grad) {
        double *g0 = ch->up;
        for (size_t e = 0; e < ne; e++)
            g0[e] = ch->dc[e] / ch->scale;
        k = 1;
    }
    for (int i = 0; i < ch->n_ineq; i++) {
        double *g = grad ? ch->up + ne * (size_t)k : NULL;
        double v;
        if (ch->ineq[i] == APP_CON_DISPLACEMENT) {
            /* s u_d / limit - 1 <= 0: scaled to O(1) like the other constraints */
            v = ch->disp_sign * disp / ch->c.disp_limit - 1;
            if (g)
                for (size_t e = 0; e < ne; e++)
                    g[e] = ch->disp_sign * ch->ddisp[e] / ch->c.disp_limit;
        } else {
            v = constraint(ch, ch->ineq[i], g);
        }
        if (c_ineq) c_ineq[i] = v;
        if (grad) k++;
    }
    if (ch->n_eq) {
        double *g = grad ? ch->up + ne * (size_t)k : NULL;
        double v = constraint(ch, APP_CON_VOLUME_EQ, g);
        if (c_eq) c_eq[0] = v;
        if (grad) k++;
    }
    if (!grad) return 0;

    /* sensitivity filter (top88 ft = 1) modifies the objective gradient heuristically */
    if (ch->c.filter_kind == APP_FILTER_SENSITIVITY) phys_sensitivity_filter(ch, ch->up);

    for (int j = 0; j < k; j++) {
        double *g = ch->up + ne * (size_t)j;
        if (ch->c.filter_kind == APP_FILTER_SENSITIVITY && j == 0) {
            map_backward(ch, g); /* the filter is already in the heuristic */
            continue;
        }
        density_backward(ch, g);
    }

    double *rows[MAXK] = {0};
    rows[0] = grad_f;
    for (int i = 0; i < ch->n_ineq; i++)
        rows[1 + i] = jac_ineq ? jac_ineq + (size_t)i * ch->n : NULL;
    if (ch->n_eq) rows[1 + ch->n_ineq] = jac_eq;
    size_t n = (size_t)ch->n;
    if (ch->net) {
        double t0 = now();
        nn_status st = nn_model_backward(ch->net, k, ch->up, ch->gbuf);
        ch->nn_time += now() - t0;
        if (st != NN_OK) return 1;
        for (int j = 0; j < k; j++)
            if (rows[j]) memcpy(rows[j], ch->gbuf + n * (size_t)j, n * sizeof(double));
    } else {
        for (int j = 0; j < k; j++)
            if (rows[j])
                for (int i = 0; i < ch->n_design; i++)
                    rows[j][i] = ch->up[ne * (size_t)j + (size_t)ch->design[i]];
    }
    return 0;
}

int app_chain_project(double *x, int n, void *user)
{
    app_chain *ch = user;
    if (ch->c.density_map != APP_MAP_PIXEL || ch->c.filter_kind == APP_FILTER_DENSITY ||
        ch->c.projection) {
        /* the volume acts on the filtered density: project on the box only, the solver's
         * constraint handling takes care of the volume */
        ncvx_project_box(x, n, ch->lower, ch->upper);
        return 0;
    }
    int eq = ch->n_eq > 0;
    if (ch->n_eq == 0 && (ch->n_ineq == 0 || ch->ineq[0] != APP_CON_VOLUME_LE)) {
        ncvx_project_box(x, n, ch->lower, ch->upper);
        return 0;
    }
    return ncvx_project_box_mean(x, n, 0.0, 1.0, ch->c.volfrac, eq) != 0;
}

int app_chain_fields_at(app_chain *ch, const double *theta, app_chain_fields *out)
{
    if (forward_density(ch, theta, 0)) return 1;
    double comp;
    if (phys_compliance(ch, NULL, &comp, NULL, NULL)) return 1;
    phys_fields(ch);
    ch->compliance = comp;
    ch->volume = constraint(ch, APP_CON_VOLUME_LE, NULL) + ch->c.volfrac;
    out->W = ch->W;
    out->H = ch->H;
    out->ndof = ch->ndof;
    out->n_cases = ch->n_cases;
    out->rho_raw = ch->rho;
    out->rho_filtered = ch->rho_f;
    out->rho_physical = ch->rho_p;
    out->displacement = ch->u;
    out->strain_energy = ch->energy;
    out->compliance = comp;
    out->volume = ch->volume;
    out->grey = app_grey_fraction(ch->rho_p, ch->fixed, ch->ne);
    return 0;
}

double app_grey_fraction(const double *rho, const signed char *fixed, int ne)
{
    long n = 0, grey = 0;
    for (int e = 0; e < ne; e++) {
        if (fixed && fixed[e] >= 0) continue;
        n++;
        grey += rho[e] > APP_GREY_LO && rho[e] < APP_GREY_HI;
    }
    return n ? (double)grey / (double)n : NAN;
}

int app_chain_compliance_of(app_chain *ch, const double *rho_physical, double *compliance)
{
    memcpy(ch->rho_p, rho_physical, sizeof(double) * (size_t)ch->ne);
    return phys_compliance(ch, NULL, compliance, NULL, NULL);
}

long app_chain_fem_solves(const app_chain *ch)
{
    return ch->fem_solves;
}

int app_chain_pixels_from_density(const app_chain *ch, const double *rho, double *x)
{
    if (ch->net || ch->c.density_map != APP_MAP_PIXEL) return 1;
    for (int i = 0; i < ch->n_design; i++) {
        double v = rho[ch->design[i]];
        x[i] = v < ch->lower[i] ? ch->lower[i] : v > ch->upper[i] ? ch->upper[i] : v;
    }
    return 0;
}
