// tests/hs_problems.h: Hock-Schittkowski test problems with known optima, as ncvx callbacks
// (user is unused), shared by the solver tests; inline so that a test may use a subset.
#ifndef TOPOPT_HS_PROBLEMS_H
#define TOPOPT_HS_PROBLEMS_H

#include <math.h>
#include <string.h>

/* HS6: min (1-x1)^2 s.t. 10(x2 - x1^2) = 0; f* = 0 at (1, 1) */
static inline int hs6(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                      double *Je, void *user)
{
    (void)user;
    (void)ci, (void)Ji;
    *f = (1 - x[0]) * (1 - x[0]);
    ce[0] = 10 * (x[1] - x[0] * x[0]);
    if (g) {
        g[0] = -2 * (1 - x[0]);
        g[1] = 0;
        Je[0] = -20 * x[0];
        Je[1] = 10;
    }
    return 0;
}

/* HS7: min log(1+x1^2) - x2 s.t. (1+x1^2)^2 + x2^2 - 4 = 0; f* = -sqrt(3) at (0, sqrt(3)) */
static inline int hs7(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                      double *Je, void *user)
{
    (void)user;
    (void)ci, (void)Ji;
    double q = 1 + x[0] * x[0];
    *f = log(q) - x[1];
    ce[0] = q * q + x[1] * x[1] - 4;
    if (g) {
        g[0] = 2 * x[0] / q;
        g[1] = -1;
        Je[0] = 4 * q * x[0];
        Je[1] = 2 * x[1];
    }
    return 0;
}

/* HS21: min 0.01 x1^2 + x2^2 - 100 s.t. 10 x1 - x2 >= 10, 2 <= x1 <= 50, -50 <= x2 <= 50;
 * f* = -99.96 at (2, 0). Bounds are also written as inequalities (for penalty/auglag). */
static inline int hs21(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                       double *Je, void *user)
{
    (void)user;
    (void)ce, (void)Je;
    *f = 0.01 * x[0] * x[0] + x[1] * x[1] - 100;
    ci[0] = 10 - 10 * x[0] + x[1];
    ci[1] = 2 - x[0];
    ci[2] = x[0] - 50;
    ci[3] = -50 - x[1];
    ci[4] = x[1] - 50;
    if (g) {
        g[0] = 0.02 * x[0];
        g[1] = 2 * x[1];
        const double J[10] = {-10, 1, -1, 0, 1, 0, 0, -1, 0, 1};
        memcpy(Ji, J, sizeof J);
    }
    return 0;
}

/* HS35: min 9 - 8x1 - 6x2 - 4x3 + 2x1^2 + 2x2^2 + x3^2 + 2x1x2 + 2x1x3
 * s.t. x1 + x2 + 2x3 <= 3, x >= 0; f* = 1/9 at (4/3, 7/9, 4/9) */
static inline int hs35(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                       double *Je, void *user)
{
    (void)user;
    (void)ce, (void)Je;
    const double a = x[0], b = x[1], c = x[2];
    *f = 9 - 8 * a - 6 * b - 4 * c + 2 * a * a + 2 * b * b + c * c + 2 * a * b + 2 * a * c;
    ci[0] = a + b + 2 * c - 3;
    for (int j = 0; j < 3; j++)
        ci[1 + j] = -x[j];
    if (g) {
        g[0] = -8 + 4 * a + 2 * b + 2 * c;
        g[1] = -6 + 4 * b + 2 * a;
        g[2] = -4 + 2 * c + 2 * a;
        memset(Ji, 0, 12 * sizeof *Ji);
        Ji[0] = 1, Ji[1] = 1, Ji[2] = 2;
        for (int j = 0; j < 3; j++)
            Ji[3 * (1 + j) + j] = -1;
    }
    return 0;
}

/* HS71: min x1 x4 (x1+x2+x3) + x3 s.t. x1x2x3x4 >= 25, sum x^2 = 40, 1 <= x <= 5;
 * f* = 17.0140173 at (1, 4.7429994, 3.8211503, 1.3794082) */
static inline int hs71(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                       double *Je, void *user)
{
    (void)user;
    const double a = x[0], b = x[1], c = x[2], d = x[3];
    *f = a * d * (a + b + c) + c;
    ci[0] = 25 - a * b * c * d;
    for (int j = 0; j < 4; j++) {
        ci[1 + j] = 1 - x[j];
        ci[5 + j] = x[j] - 5;
    }
    ce[0] = a * a + b * b + c * c + d * d - 40;
    if (g) {
        g[0] = d * (2 * a + b + c);
        g[1] = a * d;
        g[2] = a * d + 1;
        g[3] = a * (a + b + c);
        memset(Ji, 0, 36 * sizeof *Ji);
        Ji[0] = -b * c * d, Ji[1] = -a * c * d, Ji[2] = -a * b * d, Ji[3] = -a * b * c;
        for (int j = 0; j < 4; j++) {
            Ji[4 * (1 + j) + j] = -1;
            Ji[4 * (5 + j) + j] = 1;
            Je[j] = 2 * x[j];
        }
    }
    return 0;
}

/* HS76: min x1^2 + 0.5x2^2 + x3^2 + 0.5x4^2 - x1x3 + x3x4 - x1 - 3x2 + x3 - x4
 * s.t. x1 + 2x2 + x3 + x4 <= 5, 3x1 + x2 + 2x3 - x4 <= 4, x2 + 4x3 >= 1.5, x >= 0;
 * f* = -4.681818181 at (0.2727273, 2.090909, 0, 0.5454545) */
static inline int hs76(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                       double *Je, void *user)
{
    (void)user;
    (void)ce, (void)Je;
    const double a = x[0], b = x[1], c = x[2], d = x[3];
    *f = a * a + 0.5 * b * b + c * c + 0.5 * d * d - a * c + c * d - a - 3 * b + c - d;
    ci[0] = a + 2 * b + c + d - 5;
    ci[1] = 3 * a + b + 2 * c - d - 4;
    ci[2] = 1.5 - b - 4 * c;
    for (int j = 0; j < 4; j++)
        ci[3 + j] = -x[j];
    if (g) {
        g[0] = 2 * a - c - 1;
        g[1] = b - 3;
        g[2] = 2 * c - a + d + 1;
        g[3] = d + c - 1;
        const double J[12] = {1, 2, 1, 1, 3, 1, 2, -1, 0, -1, -4, 0};
        memcpy(Ji, J, sizeof J);
        memset(Ji + 12, 0, 16 * sizeof *Ji);
        for (int j = 0; j < 4; j++)
            Ji[4 * (3 + j) + j] = -1;
    }
    return 0;
}

/* HS28: min (x1+x2)^2 + (x2+x3)^2 s.t. x1 + 2x2 + 3x3 = 1; f* = 0 at (0.5, -0.5, 0.5) */
static inline int hs28(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                       double *Je, void *user)
{
    (void)user;
    (void)ci, (void)Ji;
    double p = x[0] + x[1], q = x[1] + x[2];
    *f = p * p + q * q;
    ce[0] = x[0] + 2 * x[1] + 3 * x[2] - 1;
    if (g) {
        g[0] = 2 * p;
        g[1] = 2 * p + 2 * q;
        g[2] = 2 * q;
        Je[0] = 1, Je[1] = 2, Je[2] = 3;
    }
    return 0;
}

#endif
