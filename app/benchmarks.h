// app/benchmarks.h: the Hoyer et al. 2019 benchmark problems (problems.json) as plain structs
#ifndef APP_BENCHMARKS_H
#define APP_BENCHMARKS_H

#include <stddef.h>

/** Inclusive rectangle [x0, x1] x [y0, y1] of nodes (supports) or elements (void regions). */
typedef struct {
    int x0, x1, y0, y1;
} app_rect;

/** Inclusive node rectangle where every node carries the nodal force (fx, fy). */
typedef struct {
    int x0, x1, y0, y1;
    double fx, fy;
} app_load_rect;

/** Columns of the reported results, in this order in app_benchmark.typical/.ensemble. */
enum { APP_REF_CNN_LBFGS = 0, APP_REF_PIXEL_LBFGS, APP_REF_PIXEL_MMA, APP_REF_PIXEL_OC, APP_REF_N };

/** One benchmark problem, in the conventions of problems.json: node (ix, iy) with iy = 0 at
 *  the top, node number (H+1)*ix + iy, dofs 2n (x) and 2n+1 (y); element (ex, ey). */
typedef struct {
    char name[96];
    char category[64];
    int width, height;    ///< W, H in elements
    double density;       ///< target volume fraction over the designable elements
    int large;            ///< 1 iff W*H >= 128*256 (the paper's "large" split)
    int mirror_left;      ///< the left edge is a symmetry plane
    int mirror_right;     ///< the right edge is a symmetry plane
    int n_fix_x, n_fix_y; ///< number of node rectangles with x (y) dof fixed
    app_rect *fix_x, *fix_y;
    int n_loads;
    app_load_rect *loads;
    int n_void; ///< passive-void element rectangles (0 = all designable)
    app_rect *void_rects;
    double c0;                  ///< reference compliance of the uniform starting design
    double typical[APP_REF_N];  ///< reported typical (median over seeds) compliance at step 1000
    double ensemble[APP_REF_N]; ///< reported best-of-ensemble compliance at step 1000
    /* checksums from the file, to validate a reader/builder independently */
    int check_n_fixed_dofs;
    long check_sum_fixed_dofs;
    int check_n_loaded_nodes;
    double check_sum_fx, check_sum_fy;
} app_benchmark;

/** Read every problem of problems.json at path. On success returns 0 and sets *out (array of
 *  *n problems, free with app_benchmarks_free). On failure returns -1, *out = NULL, and writes
 *  a message naming the file (and line:column where the parser knows it) into err[errlen]. */
int app_benchmarks_load(const char *path, app_benchmark **out, int *n, char *err, size_t errlen);

/** Free what app_benchmarks_load returned (NULL-safe). */
void app_benchmarks_free(app_benchmark *b, int n);

/** Index of the problem called name in b[n], or -1. */
int app_benchmarks_find(const app_benchmark *b, int n, const char *name);

/** Default location of the repository copy, relative to the source tree. */
#define APP_BENCHMARKS_RELPATH "configs/benchmarks/hoyer2019/problems.json"

#endif
