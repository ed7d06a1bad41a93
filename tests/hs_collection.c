// tests/hs_collection.c: the Hock-Schittkowski problems and nonsmooth problems of
// hs_collection.h, written from the published statements (HS numbering; g(x) >= 0 of the book
// becomes c(x) = -g(x) <= 0 here, bounds become inequalities)
#include "hs_collection.h"

#include <complex.h>
#include <math.h>
#include <string.h>

typedef double _Complex cplx;

/* One statement per problem over complex numbers: f, c[n_ineq] (<= 0), e[n_eq] (= 0). */
typedef void (*hs_fn)(const cplx *x, cplx *f, cplx *c, cplx *e);
typedef int (*hs_direct_fn)(const double *x, double *f, double *g, double *ci, double *Ji,
                            double *ce, double *Je, void *user);

typedef struct {
    hs_problem p;
    hs_fn fn;
    hs_direct_fn direct;
} hs_entry;

#define HS_PI 3.14159265358979323846
#define X(i) x[(i)-1]
#define BEGIN                                                                                      \
    int k = 0, m = 0;                                                                              \
    (void)k, (void)m, (void)c, (void)e
#define GE(v) c[k++] = -(v) ///< g(x) >= 0
#define LE(v) c[k++] = (v)  ///< c(x) <= 0
#define EQ(v) e[m++] = (v)  ///< h(x) = 0
#define LO(i, v) c[k++] = (v)-X(i)
#define UP(i, v) c[k++] = X(i) - (v)
#define BOX(i, l, u) LO(i, l), UP(i, u)

static cplx sq(cplx z)
{
    return z * z;
}
static cplx cube(cplx z)
{
    return z * z * z;
}
static cplx p4(cplx z)
{
    return sq(sq(z));
}
/* z^p for Re z > 0 (every use below is on a positive base inside the bounds) */
static cplx pw(cplx z, double p)
{
    return cexp(p * clog(z));
}
/* |z| and max(a, b) with the branch chosen on the real part (complex-step friendly) */
static cplx cabs_r(cplx z)
{
    return creal(z) >= 0 ? z : -z;
}
static cplx cmax_r(cplx a, cplx b)
{
    return creal(a) >= creal(b) ? a : b;
}

static cplx rosen(const cplx *x)
{
    return 100 * sq(X(2) - sq(X(1))) + sq(1 - X(1));
}

/* ------------------------------------------------------------------------------------------ */
/* HS 1-24: two variables                                                                       */

static void hs01(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    LO(2, -1.5);
}
static void hs02(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    LO(2, 1.5);
}
static void hs03(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(2) + 1e-5 * sq(X(2) - X(1));
    LO(2, 0);
}
static void hs04(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = cube(X(1) + 1) / 3 + X(2);
    LO(1, 1);
    LO(2, 0);
}
static void hs05(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = csin(X(1) + X(2)) + sq(X(1) - X(2)) - 1.5 * X(1) + 2.5 * X(2) + 1;
    BOX(1, -1.5, 4);
    BOX(2, -3, 3);
}
static void hs06(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(1 - X(1));
    EQ(10 * (X(2) - sq(X(1))));
}
static void hs07(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = clog(1 + sq(X(1))) - X(2);
    EQ(sq(1 + sq(X(1))) + sq(X(2)) - 4);
}
static void hs08(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -1 + 0 * X(1);
    EQ(sq(X(1)) + sq(X(2)) - 25);
    EQ(X(1) * X(2) - 9);
}
static void hs09(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = csin(HS_PI * X(1) / 12) * ccos(HS_PI * X(2) / 16);
    EQ(4 * X(1) - 3 * X(2));
}
static void hs10(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) - X(2);
    GE(-3 * sq(X(1)) + 2 * X(1) * X(2) - sq(X(2)) + 1);
}
static void hs11(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 5) + sq(X(2)) - 25;
    GE(-sq(X(1)) + X(2));
}
static void hs12(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 0.5 * sq(X(1)) + sq(X(2)) - X(1) * X(2) - 7 * X(1) - 7 * X(2);
    GE(25 - 4 * sq(X(1)) - sq(X(2)));
}
static void hs13(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 2) + sq(X(2));
    GE(cube(1 - X(1)) - X(2));
    LO(1, 0);
    LO(2, 0);
}
static void hs14(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 2) + sq(X(2) - 1);
    GE(-0.25 * sq(X(1)) - sq(X(2)) + 1);
    EQ(X(1) - 2 * X(2) + 1);
}
static void hs15(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    GE(X(1) * X(2) - 1);
    GE(X(1) + sq(X(2)));
    UP(1, 0.5);
}
static void hs16(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    GE(X(1) + sq(X(2)));
    GE(sq(X(1)) + X(2));
    BOX(1, -0.5, 0.5);
    UP(2, 1);
}
static void hs17(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    GE(sq(X(2)) - X(1));
    GE(sq(X(1)) - X(2));
    BOX(1, -0.5, 0.5);
    UP(2, 1);
}
static void hs18(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 0.01 * sq(X(1)) + sq(X(2));
    GE(X(1) * X(2) - 25);
    GE(sq(X(1)) + sq(X(2)) - 25);
    BOX(1, 2, 50);
    BOX(2, 0, 50);
}
static void hs19(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = cube(X(1) - 10) + cube(X(2) - 20);
    GE(sq(X(1) - 5) + sq(X(2) - 5) - 100);
    GE(-sq(X(2) - 5) - sq(X(1) - 6) + 82.81);
    BOX(1, 13, 100);
    BOX(2, 0, 100);
}
static void hs20(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = rosen(x);
    GE(X(1) + sq(X(2)));
    GE(sq(X(1)) + X(2));
    GE(sq(X(1)) + sq(X(2)) - 1);
    BOX(1, -0.5, 0.5);
}
static void hs21(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 0.01 * sq(X(1)) + sq(X(2)) - 100;
    GE(10 * X(1) - X(2) - 10);
    BOX(1, 2, 50);
    BOX(2, -50, 50);
}
static void hs22(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 2) + sq(X(2) - 1);
    GE(-X(1) - X(2) + 2);
    GE(-sq(X(1)) + X(2));
}
static void hs23(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1)) + sq(X(2));
    GE(X(1) + X(2) - 1);
    GE(sq(X(1)) + sq(X(2)) - 1);
    GE(9 * sq(X(1)) + sq(X(2)) - 9);
    GE(sq(X(1)) - X(2));
    GE(sq(X(2)) - X(1));
    BOX(1, -50, 50);
    BOX(2, -50, 50);
}
static void hs24(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    const double s3 = sqrt(3.0);
    *f = (sq(X(1) - 3) - 9) * cube(X(2)) / (27 * s3);
    GE(X(1) / s3 - X(2));
    GE(X(1) + s3 * X(2));
    GE(-X(1) - s3 * X(2) + 6);
    LO(1, 0);
    LO(2, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* HS 25-37: three variables                                                                    */

static void hs25(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0;
    for (int i = 1; i <= 99; i++) {
        double u = 25 + pow(-50 * log(0.01 * i), 2.0 / 3.0);
        cplx b = u - X(2);
        if (creal(b) <= 0 || creal(X(1)) == 0) { // outside the domain of the statement
            s = NAN;
            break;
        }
        s += sq(-0.01 * i + cexp(-cexp(X(3) * clog(b)) / X(1)));
    }
    *f = s;
    BOX(1, 0.1, 100);
    BOX(2, 0, 25.6);
    BOX(3, 0, 5);
}
static void hs26(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + p4(X(2) - X(3));
    EQ((1 + sq(X(2))) * X(1) + p4(X(3)) - 3);
}
static void hs27(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 0.01 * sq(X(1) - 1) + sq(X(2) - sq(X(1)));
    EQ(X(1) + sq(X(3)) + 1);
}
static void hs28(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) + X(2)) + sq(X(2) + X(3));
    EQ(X(1) + 2 * X(2) + 3 * X(3) - 1);
}
static void hs29(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1) * X(2) * X(3);
    GE(-sq(X(1)) - 2 * sq(X(2)) - 4 * sq(X(3)) + 48);
}
static void hs30(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1)) + sq(X(2)) + sq(X(3));
    GE(sq(X(1)) + sq(X(2)) - 1);
    BOX(1, 1, 10);
    BOX(2, -10, 10);
    BOX(3, -10, 10);
}
static void hs31(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 9 * sq(X(1)) + sq(X(2)) + 9 * sq(X(3));
    GE(X(1) * X(2) - 1);
    BOX(1, -10, 10);
    BOX(2, 1, 10);
    BOX(3, -10, 1);
}
static void hs32(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) + 3 * X(2) + X(3)) + 4 * sq(X(1) - X(2));
    GE(6 * X(2) + 4 * X(3) - cube(X(1)) - 3);
    for (int j = 1; j <= 3; j++)
        LO(j, 0);
    EQ(1 - X(1) - X(2) - X(3));
}
static void hs33(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = (X(1) - 1) * (X(1) - 2) * (X(1) - 3) + X(3);
    GE(sq(X(3)) - sq(X(2)) - sq(X(1)));
    GE(sq(X(1)) + sq(X(2)) + sq(X(3)) - 4);
    LO(1, 0);
    LO(2, 0);
    BOX(3, 0, 5);
}
static void hs34(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1);
    GE(X(2) - cexp(X(1)));
    GE(X(3) - cexp(X(2)));
    BOX(1, 0, 100);
    BOX(2, 0, 100);
    BOX(3, 0, 10);
}
static void hs35(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 9 - 8 * X(1) - 6 * X(2) - 4 * X(3) + 2 * sq(X(1)) + 2 * sq(X(2)) + sq(X(3)) +
         2 * X(1) * X(2) + 2 * X(1) * X(3);
    GE(3 - X(1) - X(2) - 2 * X(3));
    for (int j = 1; j <= 3; j++)
        LO(j, 0);
}
static void hs36(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1) * X(2) * X(3);
    GE(72 - X(1) - 2 * X(2) - 2 * X(3));
    BOX(1, 0, 20);
    BOX(2, 0, 11);
    BOX(3, 0, 42);
}
static void hs37(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1) * X(2) * X(3);
    GE(72 - X(1) - 2 * X(2) - 2 * X(3));
    GE(X(1) + 2 * X(2) + 2 * X(3));
    for (int j = 1; j <= 3; j++)
        BOX(j, 0, 42);
}

/* ------------------------------------------------------------------------------------------ */
/* HS 38-57: four to seven variables                                                            */

static void hs38(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 100 * sq(X(2) - sq(X(1))) + sq(1 - X(1)) + 90 * sq(X(4) - sq(X(3))) + sq(1 - X(3)) +
         10.1 * (sq(X(2) - 1) + sq(X(4) - 1)) + 19.8 * (X(2) - 1) * (X(4) - 1);
    for (int j = 1; j <= 4; j++)
        BOX(j, -10, 10);
}
static void hs39(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1);
    EQ(X(2) - cube(X(1)) - sq(X(3)));
    EQ(sq(X(1)) - X(2) - sq(X(4)));
}
static void hs40(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1) * X(2) * X(3) * X(4);
    EQ(cube(X(1)) + sq(X(2)) - 1);
    EQ(sq(X(1)) * X(4) - X(3));
    EQ(sq(X(4)) - X(2));
}
static void hs41(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 2 - X(1) * X(2) * X(3);
    for (int j = 1; j <= 3; j++)
        BOX(j, 0, 1);
    BOX(4, 0, 2);
    EQ(X(1) + 2 * X(2) + 2 * X(3) - X(4));
}
static void hs42(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 1) + sq(X(2) - 2) + sq(X(3) - 3) + sq(X(4) - 4);
    EQ(X(1) - 2);
    EQ(sq(X(3)) + sq(X(4)) - 2);
}
static void hs43(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1)) + sq(X(2)) + 2 * sq(X(3)) + sq(X(4)) - 5 * X(1) - 5 * X(2) - 21 * X(3) + 7 * X(4);
    GE(8 - sq(X(1)) - sq(X(2)) - sq(X(3)) - sq(X(4)) - X(1) + X(2) - X(3) + X(4));
    GE(10 - sq(X(1)) - 2 * sq(X(2)) - sq(X(3)) - 2 * sq(X(4)) + X(1) + X(4));
    GE(5 - 2 * sq(X(1)) - sq(X(2)) - sq(X(3)) - 2 * X(1) + X(2) + X(4));
}
static void hs44(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) - X(2) - X(3) - X(1) * X(3) + X(1) * X(4) + X(2) * X(3) - X(2) * X(4);
    GE(8 - X(1) - 2 * X(2));
    GE(12 - 4 * X(1) - X(2));
    GE(12 - 3 * X(1) - 4 * X(2));
    GE(8 - 2 * X(3) - X(4));
    GE(8 - X(3) - 2 * X(4));
    GE(5 - X(3) - X(4));
    for (int j = 1; j <= 4; j++)
        LO(j, 0);
}
static void hs45(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 2 - X(1) * X(2) * X(3) * X(4) * X(5) / 120;
    for (int j = 1; j <= 5; j++)
        BOX(j, 0, j);
}
static void hs46(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + sq(X(3) - 1) + p4(X(4) - 1) + cube(sq(X(5) - 1));
    EQ(sq(X(1)) * X(4) + csin(X(4) - X(5)) - 1);
    EQ(X(2) + p4(X(3)) * sq(X(4)) - 2);
}
static void hs47(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + cube(X(2) - X(3)) + p4(X(3) - X(4)) + p4(X(4) - X(5));
    EQ(X(1) + sq(X(2)) + cube(X(3)) - 3);
    EQ(X(2) - sq(X(3)) + X(4) - 1);
    EQ(X(1) * X(5) - 1);
}
static void hs48(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 1) + sq(X(2) - X(3)) + sq(X(4) - X(5));
    EQ(X(1) + X(2) + X(3) + X(4) + X(5) - 5);
    EQ(X(3) - 2 * (X(4) + X(5)) + 3);
}
static void hs49(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + sq(X(3) - 1) + p4(X(4) - 1) + cube(sq(X(5) - 1));
    EQ(X(1) + X(2) + X(3) + 4 * X(4) - 7);
    EQ(X(3) + 5 * X(5) - 6);
}
static void hs50(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + sq(X(2) - X(3)) + p4(X(3) - X(4)) + sq(X(4) - X(5));
    EQ(X(1) + 2 * X(2) + 3 * X(3) - 6);
    EQ(X(2) + 2 * X(3) + 3 * X(4) - 6);
    EQ(X(3) + 2 * X(4) + 3 * X(5) - 6);
}
static cplx f51(const cplx *x)
{
    return sq(X(1) - X(2)) + sq(X(2) + X(3) - 2) + sq(X(4) - 1) + sq(X(5) - 1);
}
static void hs51(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = f51(x);
    EQ(X(1) + 3 * X(2) - 4);
    EQ(X(3) + X(4) - 2 * X(5));
    EQ(X(2) - X(5));
}
static cplx f52(const cplx *x)
{
    return sq(4 * X(1) - X(2)) + sq(X(2) + X(3) - 2) + sq(X(4) - 1) + sq(X(5) - 1);
}
static void hs52(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = f52(x);
    EQ(X(1) + 3 * X(2));
    EQ(X(3) + X(4) - 2 * X(5));
    EQ(X(2) - X(5));
}
static void hs53(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = f51(x);
    EQ(X(1) + 3 * X(2));
    EQ(X(3) + X(4) - 2 * X(5));
    EQ(X(2) - X(5));
    for (int j = 1; j <= 5; j++)
        BOX(j, -10, 10);
}
static void hs55(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) + 2 * X(2) + 4 * X(5) + cexp(X(1) * X(4));
    EQ(X(1) + 2 * X(2) + 5 * X(5) - 6);
    EQ(X(1) + X(2) + X(3) - 3);
    EQ(X(4) + X(5) + X(6) - 2);
    EQ(X(1) + X(4) - 1);
    EQ(X(2) + X(5) - 2);
    EQ(X(3) + X(6) - 2);
    for (int j = 1; j <= 6; j++)
        LO(j, 0);
    UP(1, 1);
    UP(4, 1);
}
static void hs56(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = -X(1) * X(2) * X(3);
    EQ(X(1) - 4.2 * sq(csin(X(4))));
    EQ(X(2) - 4.2 * sq(csin(X(5))));
    EQ(X(3) - 4.2 * sq(csin(X(6))));
    EQ(X(1) + 2 * X(2) + 2 * X(3) - 7.2 * sq(csin(X(7))));
}
static const double hs57_a[44] = {8,  8,  10, 10, 10, 10, 12, 12, 12, 12, 14, 14, 14, 16, 16,
                                  16, 18, 18, 20, 20, 20, 22, 22, 22, 24, 24, 24, 26, 26, 26,
                                  28, 28, 30, 30, 30, 32, 32, 34, 36, 36, 38, 38, 40, 42};
static const double hs57_b[44] = {.49, .49, .48, .47, .48, .47, .46, .46, .45, .43, .45,
                                  .43, .43, .44, .43, .43, .46, .45, .42, .42, .43, .41,
                                  .41, .40, .42, .40, .40, .41, .40, .41, .41, .40, .40,
                                  .40, .38, .41, .40, .40, .41, .38, .40, .40, .39, .39};
static void hs57(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0;
    for (int i = 0; i < 44; i++)
        s += sq(hs57_b[i] - X(1) - (0.49 - X(1)) * cexp(-X(2) * (hs57_a[i] - 8)));
    *f = s;
    GE(0.49 * X(2) - X(1) * X(2) - 0.09);
    LO(1, 0.4);
    LO(2, -4);
}

/* ------------------------------------------------------------------------------------------ */
/* HS 60-86                                                                                     */

static void hs60(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 1) + sq(X(1) - X(2)) + p4(X(2) - X(3));
    EQ(X(1) * (1 + sq(X(2))) + p4(X(3)) - 4 - 3 * sqrt(2.0));
    for (int j = 1; j <= 3; j++)
        BOX(j, -10, 10);
}
static void hs61(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 4 * sq(X(1)) + 2 * sq(X(2)) + 2 * sq(X(3)) - 33 * X(1) + 16 * X(2) - 24 * X(3);
    EQ(3 * X(1) - 2 * sq(X(2)) - 7);
    EQ(4 * X(1) - sq(X(3)) - 11);
}
static void hs62(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx a = X(1) + X(2) + X(3) + 0.03, b = 0.09 * X(1) + X(2) + X(3) + 0.03;
    cplx p = X(2) + X(3) + 0.03, q = 0.07 * X(2) + X(3) + 0.03;
    cplx r = X(3) + 0.03, s = 0.13 * X(3) + 0.03;
    *f = -32.174 * (255 * clog(a / b) + 280 * clog(p / q) + 290 * clog(r / s));
    EQ(X(1) + X(2) + X(3) - 1);
    for (int j = 1; j <= 3; j++)
        BOX(j, 0, 1);
}
static void hs63(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 1000 - sq(X(1)) - 2 * sq(X(2)) - sq(X(3)) - X(1) * X(2) - X(1) * X(3);
    EQ(8 * X(1) + 14 * X(2) + 7 * X(3) - 56);
    EQ(sq(X(1)) + sq(X(2)) + sq(X(3)) - 25);
    for (int j = 1; j <= 3; j++)
        LO(j, 0);
}
static void hs64(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 5 * X(1) + 50000 / X(1) + 20 * X(2) + 72000 / X(2) + 10 * X(3) + 144000 / X(3);
    GE(1 - 4 / X(1) - 32 / X(2) - 120 / X(3));
    for (int j = 1; j <= 3; j++)
        LO(j, 1e-5);
}
static void hs65(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - X(2)) + sq(X(1) + X(2) - 10) / 9 + sq(X(3) - 5);
    GE(48 - sq(X(1)) - sq(X(2)) - sq(X(3)));
    BOX(1, -4.5, 4.5);
    BOX(2, -4.5, 4.5);
    BOX(3, -5, 5);
}
static void hs66(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 0.2 * X(3) - 0.8 * X(1);
    GE(X(2) - cexp(X(1)));
    GE(X(3) - cexp(X(2)));
    BOX(1, 0, 100);
    BOX(2, 0, 100);
    BOX(3, 0, 10);
}
static void hs71(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) * X(4) * (X(1) + X(2) + X(3)) + X(3);
    GE(X(1) * X(2) * X(3) * X(4) - 25);
    for (int j = 1; j <= 4; j++)
        BOX(j, 1, 5);
    EQ(sq(X(1)) + sq(X(2)) + sq(X(3)) + sq(X(4)) - 40);
}
static void hs72(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 1 + X(1) + X(2) + X(3) + X(4);
    GE(0.0401 - 4 / X(1) - 2.25 / X(2) - 1 / X(3) - 0.25 / X(4));
    GE(0.010085 - 0.16 / X(1) - 0.36 / X(2) - 0.64 / X(3) - 0.64 / X(4));
    for (int j = 1; j <= 4; j++)
        BOX(j, 0.001, (5 - j) * 1e5);
}
static void hs73(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 24.55 * X(1) + 26.75 * X(2) + 39 * X(3) + 40.5 * X(4);
    GE(2.3 * X(1) + 5.6 * X(2) + 11.1 * X(3) + 1.3 * X(4) - 5);
    GE(12 * X(1) + 11.9 * X(2) + 41.8 * X(3) + 52.1 * X(4) - 21 -
       1.645 * csqrt(0.28 * sq(X(1)) + 0.19 * sq(X(2)) + 20.5 * sq(X(3)) + 0.62 * sq(X(4))));
    for (int j = 1; j <= 4; j++)
        LO(j, 0);
    EQ(X(1) + X(2) + X(3) + X(4) - 1);
}
static void hs74_75(const cplx *x, cplx *f, cplx *c, cplx *e, double a)
{
    BEGIN;
    *f = 3 * X(1) + 1e-6 * cube(X(1)) + 2 * X(2) + (2e-6 / 3) * cube(X(2));
    GE(X(4) - X(3) + a);
    GE(X(3) - X(4) + a);
    BOX(1, 0, 1200);
    BOX(2, 0, 1200);
    BOX(3, -a, a);
    BOX(4, -a, a);
    EQ(1000 * csin(-X(3) - 0.25) + 1000 * csin(-X(4) - 0.25) + 894.8 - X(1));
    EQ(1000 * csin(X(3) - 0.25) + 1000 * csin(X(3) - X(4) - 0.25) + 894.8 - X(2));
    EQ(1000 * csin(X(4) - 0.25) + 1000 * csin(X(4) - X(3) - 0.25) + 1294.8);
}
static void hs74(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    hs74_75(x, f, c, e, 0.55);
}
static void hs75(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    hs74_75(x, f, c, e, 0.48);
}
static void hs76(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1)) + 0.5 * sq(X(2)) + sq(X(3)) + 0.5 * sq(X(4)) - X(1) * X(3) + X(3) * X(4) - X(1) -
         3 * X(2) + X(3) - X(4);
    GE(5 - X(1) - 2 * X(2) - X(3) - X(4));
    GE(4 - 3 * X(1) - X(2) - 2 * X(3) + X(4));
    GE(X(2) + 4 * X(3) - 1.5);
    for (int j = 1; j <= 4; j++)
        LO(j, 0);
}
static void hs77(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 1) + sq(X(1) - X(2)) + sq(X(3) - 1) + p4(X(4) - 1) + cube(sq(X(5) - 1));
    EQ(sq(X(1)) * X(4) + csin(X(4) - X(5)) - 2 * sqrt(2.0));
    EQ(X(2) + p4(X(3)) * sq(X(4)) - 8 - sqrt(2.0));
}
static void hs78(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) * X(2) * X(3) * X(4) * X(5);
    EQ(sq(X(1)) + sq(X(2)) + sq(X(3)) + sq(X(4)) + sq(X(5)) - 10);
    EQ(X(2) * X(3) - 5 * X(4) * X(5));
    EQ(cube(X(1)) + cube(X(2)) + 1);
}
static void hs79(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 1) + sq(X(1) - X(2)) + sq(X(2) - X(3)) + p4(X(3) - X(4)) + p4(X(4) - X(5));
    EQ(X(1) + sq(X(2)) + cube(X(3)) - 2 - 3 * sqrt(2.0));
    EQ(X(2) - sq(X(3)) + X(4) + 2 - 2 * sqrt(2.0));
    EQ(X(1) * X(5) - 2);
}
static void hs80_81(const cplx *x, cplx *f, cplx *c, cplx *e, int p81)
{
    BEGIN;
    *f = cexp(X(1) * X(2) * X(3) * X(4) * X(5));
    if (p81) *f -= 0.5 * sq(cube(X(1)) + cube(X(2)) + 1);
    BOX(1, -2.3, 2.3);
    BOX(2, -2.3, 2.3);
    for (int j = 3; j <= 5; j++)
        BOX(j, -3.2, 3.2);
    EQ(sq(X(1)) + sq(X(2)) + sq(X(3)) + sq(X(4)) + sq(X(5)) - 10);
    EQ(X(2) * X(3) - 5 * X(4) * X(5));
    EQ(cube(X(1)) + cube(X(2)) + 1);
}
static void hs80(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    hs80_81(x, f, c, e, 0);
}
static void hs81(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    hs80_81(x, f, c, e, 1);
}
static void hs83(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 5.3578547 * sq(X(3)) + 0.8356891 * X(1) * X(5) + 37.293239 * X(1) - 40792.141;
    cplx g1 =
        85.334407 + 0.0056858 * X(2) * X(5) + 0.0006262 * X(1) * X(4) - 0.0022053 * X(3) * X(5);
    cplx g2 = 80.51249 + 0.0071317 * X(2) * X(5) + 0.0029955 * X(1) * X(2) + 0.0021813 * sq(X(3));
    cplx g3 =
        9.300961 + 0.0047026 * X(3) * X(5) + 0.0012547 * X(1) * X(3) + 0.0019085 * X(3) * X(4);
    GE(g1);
    GE(92 - g1);
    GE(g2 - 90);
    GE(110 - g2);
    GE(g3 - 20);
    GE(25 - g3);
    BOX(1, 78, 102);
    BOX(2, 33, 45);
    for (int j = 3; j <= 5; j++)
        BOX(j, 27, 45);
}
static const double hs84_a[21] = {
    -24345,    -8720288.849, 150512.5253,  -156.6950325, 476470.3222,  729482.8271, -145421.402,
    2931.1506, -40.427932,   5106.192,     15711.36,     -155011.1084, 4360.53352,  12.9492344,
    10236.884, 13176.786,    -326669.5104, 7390.68412,   -27.8986976,  16643.076,   30988.146};
static void hs84(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    const double *a = hs84_a;
    *f = -a[0] - a[1] * X(1) - a[2] * X(1) * X(2) - a[3] * X(1) * X(3) - a[4] * X(1) * X(4) -
         a[5] * X(1) * X(5);
    for (int r = 0; r < 3; r++) {
        const double *b = a + 6 + 5 * r;
        cplx g = b[0] * X(1) + b[1] * X(1) * X(2) + b[2] * X(1) * X(3) + b[3] * X(1) * X(4) +
                 b[4] * X(1) * X(5);
        GE(g);
        GE((r == 2 ? 277200 : 294000) - g);
    }
    BOX(1, 0, 1000);
    BOX(2, 1.2, 2.4);
    BOX(3, 20, 60);
    BOX(4, 9, 9.3);
    BOX(5, 6.5, 7);
}
static const double hs86_e[5] = {-15, -27, -36, -18, -12};
static const double hs86_c[5][5] = {{30, -20, -10, 32, -10},
                                    {-20, 39, -6, -31, 32},
                                    {-10, -6, 10, -6, -10},
                                    {32, -31, -6, 39, -20},
                                    {-10, 32, -10, -20, 30}};
static const double hs86_d[5] = {4, 8, 10, 6, 2};
static const double hs86_a[10][5] = {{-16, 2, 0, 1, 0},    {0, -2, 0, 4, 2},     {-3.5, 0, 2, 0, 0},
                                     {0, -2, 0, -4, -1},   {0, -9, -2, 1, -2.8}, {2, 0, -4, 0, 0},
                                     {-1, -1, -1, -1, -1}, {-1, -2, -3, -2, -1}, {1, 2, 3, 4, 5},
                                     {1, 1, 1, 1, 1}};
static const double hs86_b[10] = {-40, -2, -0.25, -4, -4, -1, -40, -60, 5, 1};
static void hs86(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0;
    for (int j = 0; j < 5; j++) {
        s += hs86_e[j] * x[j] + hs86_d[j] * cube(x[j]);
        for (int i = 0; i < 5; i++)
            s += hs86_c[i][j] * x[i] * x[j];
    }
    *f = s;
    for (int i = 0; i < 10; i++) {
        cplx g = -hs86_b[i];
        for (int j = 0; j < 5; j++)
            g += hs86_a[i][j] * x[j];
        GE(g);
    }
    for (int j = 1; j <= 5; j++)
        LO(j, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* HS 93-113                                                                                    */

static void hs93(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s1 = X(1) + X(2) + X(3), s2 = X(1) + 1.57 * X(2) + X(4);
    *f = 0.0204 * X(1) * X(4) * s1 + 0.0187 * X(2) * X(3) * s2 +
         0.0607 * X(1) * X(4) * sq(X(5)) * s1 + 0.0437 * X(2) * X(3) * sq(X(6)) * s2;
    GE(0.001 * X(1) * X(2) * X(3) * X(4) * X(5) * X(6) - 2.07);
    GE(1 - 0.00062 * X(1) * X(4) * sq(X(5)) * s1 - 0.00058 * X(2) * X(3) * sq(X(6)) * s2);
    for (int j = 1; j <= 6; j++)
        LO(j, 0);
}
static void hs100(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1) - 10) + 5 * sq(X(2) - 12) + p4(X(3)) + 3 * sq(X(4) - 11) + 10 * cube(sq(X(5))) +
         7 * sq(X(6)) + p4(X(7)) - 4 * X(6) * X(7) - 10 * X(6) - 8 * X(7);
    GE(127 - 2 * sq(X(1)) - 3 * p4(X(2)) - X(3) - 4 * sq(X(4)) - 5 * X(5));
    GE(282 - 7 * X(1) - 3 * X(2) - 10 * sq(X(3)) - X(4) + X(5));
    GE(196 - 23 * X(1) - sq(X(2)) - 6 * sq(X(6)) + 8 * X(7));
    GE(-4 * sq(X(1)) - sq(X(2)) + 3 * X(1) * X(2) - 2 * sq(X(3)) - 5 * X(6) + 11 * X(7));
}
static void hs104(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    for (int j = 1; j <= 8; j++)
        if (creal(X(j)) <= 0) { // outside the domain of x^0.67, x^-0.71, x^-1.3
            *f = NAN;
            for (int i = 0; i < 22; i++)
                c[i] = NAN;
            return;
        }
    cplx fx = 0.4 * pw(X(1) / X(7), 0.67) + 0.4 * pw(X(2) / X(8), 0.67) + 10 - X(1) - X(2);
    *f = fx;
    GE(1 - 0.0588 * X(5) * X(7) - 0.1 * X(1));
    GE(1 - 0.0588 * X(6) * X(8) - 0.1 * X(1) - 0.1 * X(2));
    GE(1 - 4 * X(3) / X(5) - 2 * pw(X(3), -0.71) / X(5) - 0.0588 * pw(X(3), -1.3) * X(7));
    GE(1 - 4 * X(4) / X(6) - 2 * pw(X(4), -0.71) / X(6) - 0.0588 * pw(X(4), -1.3) * X(8));
    GE(fx - 0.1);
    GE(4.2 - fx);
    for (int j = 1; j <= 8; j++)
        BOX(j, 0.1, 10);
}
static void hs106(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = X(1) + X(2) + X(3);
    GE(1 - 0.0025 * (X(4) + X(6)));
    GE(1 - 0.0025 * (X(5) + X(7) - X(4)));
    GE(1 - 0.01 * (X(8) - X(5)));
    GE(X(1) * X(6) - 833.33252 * X(4) - 100 * X(1) + 83333.333);
    GE(X(2) * X(7) - 1250 * X(5) - X(2) * X(4) + 1250 * X(4));
    GE(X(3) * X(8) - 1250000 - X(3) * X(5) + 2500 * X(5));
    BOX(1, 100, 10000);
    BOX(2, 1000, 10000);
    BOX(3, 1000, 10000);
    for (int j = 4; j <= 8; j++)
        BOX(j, 10, 1000);
}
static void hs110(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0, p = 1;
    for (int j = 1; j <= 10; j++) {
        if (creal(X(j)) <= 2 || creal(X(j)) >= 10) {
            s = NAN;
            break;
        }
        s += sq(clog(X(j) - 2)) + sq(clog(10 - X(j)));
        p *= X(j);
    }
    *f = creal(s) == creal(s) ? s - pw(p, 0.2) : s;
    for (int j = 1; j <= 10; j++)
        BOX(j, 2.001, 9.999);
}
static const double hs112_c[10] = {-6.089,  -17.164, -34.054, -5.914,  -24.721,
                                   -14.986, -24.1,   -10.708, -26.662, -22.179};
/* HS112: the 1981 book prints f* = -47.707579 with a solution that is not the minimizer;
 * Schittkowski's 2008 report gives f* = -47.76109026 (without the digits of x*) */
static void hs112(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0, t = 0;
    for (int j = 0; j < 10; j++)
        t += x[j];
    for (int j = 0; j < 10; j++) {
        if (creal(x[j]) <= 0) {
            s = NAN;
            break;
        }
        s += x[j] * (hs112_c[j] + clog(x[j] / t));
    }
    *f = s;
    for (int j = 1; j <= 10; j++)
        LO(j, 1e-6);
    EQ(X(1) + 2 * X(2) + 2 * X(3) + X(6) + X(10) - 2);
    EQ(X(4) + 2 * X(5) + X(6) + X(7) - 1);
    EQ(X(3) + X(7) + X(8) + 2 * X(9) + X(10) - 1);
}
static void hs113(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = sq(X(1)) + sq(X(2)) + X(1) * X(2) - 14 * X(1) - 16 * X(2) + sq(X(3) - 10) +
         4 * sq(X(4) - 5) + sq(X(5) - 3) + 2 * sq(X(6) - 1) + 5 * sq(X(7)) + 7 * sq(X(8) - 11) +
         2 * sq(X(9) - 10) + sq(X(10) - 7) + 45;
    GE(105 - 4 * X(1) - 5 * X(2) + 3 * X(7) - 9 * X(8));
    GE(-10 * X(1) + 8 * X(2) + 17 * X(7) - 2 * X(8));
    GE(8 * X(1) - 2 * X(2) - 5 * X(9) + 2 * X(10) + 12);
    GE(-3 * sq(X(1) - 2) - 4 * sq(X(2) - 3) - 2 * sq(X(3)) + 7 * X(4) + 120);
    GE(-5 * sq(X(1)) - 8 * X(2) - sq(X(3) - 6) + 2 * X(4) + 40);
    GE(-0.5 * sq(X(1) - 8) - 2 * sq(X(2) - 4) - 3 * sq(X(5)) + X(6) + 30);
    GE(-sq(X(1)) - 2 * sq(X(2) - 2) + 2 * X(1) * X(2) - 14 * X(5) + 6 * X(6));
    GE(3 * X(1) - 6 * X(2) - 12 * sq(X(9) - 8) + 7 * X(10));
}

/* ------------------------------------------------------------------------------------------ */
/* nonsmooth problems                                                                           */

/* GRANSO's demo problem (Curtis, Mitchell, Overton 2017, Sec. 6): nonsmooth Rosenbrock with
 * the constraint max(sqrt(2) x1, 2 x2) <= 1. f >= (1 - x1)^2 >= (1 - 1/sqrt 2)^2 on the
 * feasible set, with equality at (1/sqrt 2, 1/2): f* = (1 - 1/sqrt 2)^2. */
static void ns_rosen(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    *f = 8 * cabs_r(sq(X(1)) - X(2)) + sq(1 - X(1));
    LE(cmax_r(sqrt(2.0) * X(1), 2 * X(2)) - 1);
}
/* MAXQ (Haarala, Miettinen, Makela 2004): max_i x_i^2, f* = 0 at 0. */
static void ns_maxq(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx mx = sq(x[0]);
    for (int j = 1; j < 20; j++)
        mx = cmax_r(mx, sq(x[j]));
    *f = mx;
}
/* MAXQUAD (Lemarechal; Kiwiel 1985): max over 5 convex quadratics x'A_k x - b_k'x in R^10,
 * f* = -0.8414083345 */
static double mq_A[5][10][10], mq_b[5][10];
static void maxquad_init(void)
{
    for (int k = 1; k <= 5; k++) {
        for (int i = 1; i <= 10; i++) {
            mq_b[k - 1][i - 1] = exp((double)i / k) * sin((double)i * k);
            for (int j = i + 1; j <= 10; j++) {
                double a = exp((double)i / j) * cos((double)i * j) * sin((double)k);
                mq_A[k - 1][i - 1][j - 1] = mq_A[k - 1][j - 1][i - 1] = a;
            }
        }
        for (int i = 1; i <= 10; i++) {
            double s = i * fabs(sin((double)k)) / 10;
            for (int j = 1; j <= 10; j++)
                if (j != i) s += fabs(mq_A[k - 1][i - 1][j - 1]);
            mq_A[k - 1][i - 1][i - 1] = s;
        }
    }
}
static void ns_maxquad(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx mx = 0;
    for (int q5 = 0; q5 < 5; q5++) {
        cplx q = 0;
        for (int i = 0; i < 10; i++) {
            cplx r = 0;
            for (int j = 0; j < 10; j++)
                r += mq_A[q5][i][j] * x[j];
            q += x[i] * r - mq_b[q5][i] * x[i];
        }
        mx = q5 == 0 ? q : cmax_r(mx, q);
    }
    *f = mx;
}
/* l1 regression min ||A x - b||_1 with A = [I_8; B] (14 x 8), built with a certificate:
 * b = A x* - r with r = [0; r_bot], |B' sign(r_bot)|_inf <= 6 * 0.1 < 1, so s = [-B' sign(r_bot);
 * sign(r_bot)] is a subgradient of ||.||_1 at r with A's = 0: x* is a minimizer (convex
 * problem) and f* = ||r_bot||_1 = sum_i (0.5 + 0.1 i) = 5.1. */
static double l1_B[6][8], l1_b[14];
static void l1reg_init(void)
{
    double xs[8], rb[6];
    for (int j = 0; j < 8; j++)
        xs[j] = 0.25 * (j + 1) - 1;
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 8; j++)
            l1_B[i][j] = 0.1 * cos(1.0 + i + 2.0 * j);
        rb[i] = (i % 2 ? -1 : 1) * (0.5 + 0.1 * (i + 1));
    }
    for (int j = 0; j < 8; j++)
        l1_b[j] = xs[j];
    for (int i = 0; i < 6; i++) {
        double ax = 0;
        for (int j = 0; j < 8; j++)
            ax += l1_B[i][j] * xs[j];
        l1_b[8 + i] = ax - rb[i];
    }
}
static void ns_l1reg(const cplx *x, cplx *f, cplx *c, cplx *e)
{
    BEGIN;
    cplx s = 0;
    for (int j = 0; j < 8; j++)
        s += cabs_r(x[j] - l1_b[j]);
    for (int i = 0; i < 6; i++) {
        cplx r = -l1_b[8 + i];
        for (int j = 0; j < 8; j++)
            r += l1_B[i][j] * x[j];
        s += cabs_r(r);
    }
    *f = s;
}

/* Largest eigenvalue of the symmetric 4x4 matrix a (destroyed) by cyclic Jacobi; v = its unit
 * eigenvector. */
static double eig_max4(double a[4][4], double v[4])
{
    double V[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0;
        for (int p = 0; p < 4; p++)
            for (int q = p + 1; q < 4; q++)
                off += a[p][q] * a[p][q];
        if (off < 1e-300) break;
        for (int p = 0; p < 4; p++)
            for (int q = p + 1; q < 4; q++) {
                if (a[p][q] == 0) continue;
                double th = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (int r = 0; r < 4; r++) { // A <- A J (columns p, q)
                    double ap = a[r][p], aq = a[r][q];
                    a[r][p] = cs * ap - sn * aq;
                    a[r][q] = sn * ap + cs * aq;
                }
                for (int r = 0; r < 4; r++) { // A <- J' A (rows p, q)
                    double ap = a[p][r], aq = a[q][r];
                    a[p][r] = cs * ap - sn * aq;
                    a[q][r] = sn * ap + cs * aq;
                }
                for (int r = 0; r < 4; r++) {
                    double vp = V[r][p], vq = V[r][q];
                    V[r][p] = cs * vp - sn * vq;
                    V[r][q] = sn * vp + cs * vq;
                }
            }
    }
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (a[i][i] > a[best][best]) best = i;
    for (int r = 0; r < 4; r++)
        v[r] = V[r][best];
    return a[best][best];
}
/* Eigenvalue optimization: min lambda_max(D + sum_{j<k} x_jk (E_jk + E_kj)), D = diag(1, 1,
 * 0, -1). lambda_max >= max_i D_ii = 1 (Rayleigh quotient at e_i), attained at x = 0, where
 * the largest eigenvalue is double (nonsmooth minimizer): f* = 1. Gradient 2 v_j v_k. */
static int ns_eig(const double *x, double *f, double *g, double *ci, double *Ji, double *ce,
                  double *Je, void *user)
{
    (void)ci, (void)Ji, (void)ce, (void)Je, (void)user;
    double a[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, -1}}, v[4];
    int t = 0;
    for (int j = 0; j < 4; j++)
        for (int k = j + 1; k < 4; k++, t++)
            a[j][k] = a[k][j] = x[t];
    *f = eig_max4(a, v);
    if (g) {
        t = 0;
        for (int j = 0; j < 4; j++)
            for (int k = j + 1; k < 4; k++, t++)
                g[t] = 2 * v[j] * v[k];
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the table                                                                                    */

#define P(nm, N, MI, ME, F, ...)                                                                   \
    {                                                                                              \
        .p = {.name = nm, .n = N, .n_ineq = MI, .n_eq = ME, __VA_ARGS__}, .fn = F                  \
    }
#define XS(...) .has_xstar = 1, .xstar = {__VA_ARGS__}

static hs_entry hs_table[] = {
    P("HS001", 2, 1, 0, hs01, .x0 = {-2, 1}, .fstar = 0, XS(1, 1)),
    P("HS002", 2, 1, 0, hs02, .x0 = {-2, 1}, .fstar = 0.0504261879, XS(1.224370749, 1.5),
      .xstar_tol = 1e-8),
    P("HS003", 2, 1, 0, hs03, .x0 = {10, 1}, .fstar = 0, XS(0, 0)),
    P("HS004", 2, 2, 0, hs04, .x0 = {1.125, 0.125}, .fstar = 8.0 / 3, XS(1, 0)),
    P("HS005", 2, 4, 0, hs05, .x0 = {0, 0}, .fstar = -0.8660254037844386 - HS_PI / 3,
      XS(0.5 - HS_PI / 3, -0.5 - HS_PI / 3)),
    P("HS006", 2, 0, 1, hs06, .x0 = {-1.2, 1}, .fstar = 0, XS(1, 1)),
    P("HS007", 2, 0, 1, hs07, .x0 = {2, 2}, .fstar = -1.7320508075688772,
      XS(0, 1.7320508075688772)),
    P("HS008", 2, 0, 2, hs08, .x0 = {2, 1}, .fstar = -1, XS(4.601594, 1.955843), .xstar_tol = 1e-6),
    P("HS009", 2, 0, 1, hs09, .x0 = {0, 0}, .fstar = -0.5, XS(-3, -4)),
    P("HS010", 2, 1, 0, hs10, .x0 = {-10, 10}, .fstar = -1, XS(0, 1)),
    P("HS011", 2, 1, 0, hs11, .x0 = {4.9, 0.1}, .fstar = -8.498464223,
      XS(1.2347728250532972, 1.5246639294901005), .xstar_tol = 1e-9),
    P("HS012", 2, 1, 0, hs12, .x0 = {0, 0}, .fstar = -30, XS(2, 3)),
    P("HS013", 2, 3, 0, hs13, .x0 = {-2, -2}, .fstar = 1, XS(1, 0)),
    P("HS014", 2, 1, 1, hs14, .x0 = {2, 2}, .fstar = 1.3934649806878405,
      XS(0.8228756555322954, 0.9114378277661477)),
    P("HS015", 2, 3, 0, hs15, .x0 = {-2, 1}, .fstar = 306.5, XS(0.5, 2)),
    P("HS016", 2, 5, 0, hs16, .x0 = {-2, 1}, .fstar = 0.25, XS(0.5, 0.25)),
    P("HS017", 2, 5, 0, hs17, .x0 = {-2, 1}, .fstar = 1, XS(0, 0)),
    P("HS018", 2, 6, 0, hs18, .x0 = {2, 2}, .fstar = 5, XS(15.811388300841896, 1.5811388300841898)),
    P("HS019", 2, 6, 0, hs19, .x0 = {20.1, 5.84}, .fstar = -6961.81381, XS(14.095, 0.84296079),
      .xstar_tol = 1e-6),
    P("HS020", 2, 5, 0, hs20, .x0 = {-2, 1}, .fstar = 38.19872981077807,
      XS(0.5, 0.8660254037844386)),
    P("HS021", 2, 5, 0, hs21, .x0 = {-1, -1}, .fstar = -99.96, XS(2, 0)),
    P("HS022", 2, 2, 0, hs22, .x0 = {2, 2}, .fstar = 1, XS(1, 1)),
    P("HS023", 2, 9, 0, hs23, .x0 = {3, 1}, .fstar = 2, XS(1, 1)),
    P("HS024", 2, 5, 0, hs24, .x0 = {1, 0.5}, .fstar = -1, XS(3, 1.7320508075688772)),
    P("HS025", 3, 6, 0, hs25, .x0 = {100, 12.5, 3}, .fstar = 0, XS(50, 25, 1.5)),
    P("HS026", 3, 0, 1, hs26, .x0 = {-2.6, 2, 2}, .fstar = 0, XS(1, 1, 1)),
    P("HS027", 3, 0, 1, hs27, .x0 = {2, 2, 2}, .fstar = 0.04, XS(-1, 1, 0)),
    P("HS028", 3, 0, 1, hs28, .x0 = {-4, 1, 1}, .fstar = 0, XS(0.5, -0.5, 0.5)),
    P("HS029", 3, 1, 0, hs29, .x0 = {1, 1, 1}, .fstar = -22.627416997969522,
      XS(4, 2.8284271247461903, 2)),
    P("HS030", 3, 7, 0, hs30, .x0 = {1, 1, 1}, .fstar = 1, XS(1, 0, 0)),
    P("HS031", 3, 7, 0, hs31, .x0 = {1, 1, 1}, .fstar = 6,
      XS(0.5773502691896258, 1.7320508075688772, 0)),
    P("HS032", 3, 4, 1, hs32, .x0 = {0.1, 0.7, 0.2}, .fstar = 1, XS(0, 0, 1)),
    P("HS033", 3, 6, 0, hs33, .x0 = {0, 0, 3}, .fstar = -4.585786437626905,
      XS(0, 1.4142135623730951, 1.4142135623730951)),
    P("HS034", 3, 8, 0, hs34, .x0 = {0, 1.05, 2.9}, .fstar = -0.834032445247956,
      XS(0.834032445247956, 2.302585092994046, 10)),
    P("HS035", 3, 4, 0, hs35, .x0 = {0.5, 0.5, 0.5}, .fstar = 1.0 / 9,
      XS(4.0 / 3, 7.0 / 9, 4.0 / 9)),
    P("HS036", 3, 7, 0, hs36, .x0 = {10, 10, 10}, .fstar = -3300, XS(20, 11, 15)),
    P("HS037", 3, 8, 0, hs37, .x0 = {10, 10, 10}, .fstar = -3456, XS(24, 12, 12)),
    P("HS038", 4, 8, 0, hs38, .x0 = {-3, -1, -3, -1}, .fstar = 0, XS(1, 1, 1, 1)),
    P("HS039", 4, 0, 2, hs39, .x0 = {2, 2, 2, 2}, .fstar = -1, XS(1, 1, 0, 0)),
    P("HS040", 4, 0, 3, hs40, .x0 = {0.8, 0.8, 0.8, 0.8}, .fstar = -0.25,
      XS(0.7937005259840998, 0.7071067811865476, 0.5297315471796477, 0.8408964152537145)),
    P("HS041", 4, 8, 1, hs41, .x0 = {2, 2, 2, 2}, .fstar = 52.0 / 27,
      XS(2.0 / 3, 1.0 / 3, 1.0 / 3, 2)),
    P("HS042", 4, 0, 2, hs42, .x0 = {1, 1, 1, 1}, .fstar = 13.857864376269049,
      XS(2, 2, 0.848528137423857, 1.131370849898476)),
    P("HS043", 4, 3, 0, hs43, .x0 = {0, 0, 0, 0}, .fstar = -44, XS(0, 1, 2, -1)),
    P("HS044", 4, 10, 0, hs44, .x0 = {0, 0, 0, 0}, .fstar = -15, XS(0, 3, 0, 4)),
    P("HS045", 5, 10, 0, hs45, .x0 = {2, 2, 2, 2, 2}, .fstar = 1, XS(1, 2, 3, 4, 5)),
    P("HS046", 5, 0, 2, hs46, .x0 = {0.7071067811865476, 1.75, 0.5, 2, 2}, .fstar = 0,
      XS(1, 1, 1, 1, 1)),
    P("HS047", 5, 0, 3, hs47, .x0 = {2, 1.4142135623730951, -1, 0.5857864376269049, 0.5},
      .fstar = 0, XS(1, 1, 1, 1, 1)),
    P("HS048", 5, 0, 2, hs48, .x0 = {3, 5, -3, 2, -2}, .fstar = 0, XS(1, 1, 1, 1, 1)),
    P("HS049", 5, 0, 2, hs49, .x0 = {10, 7, 2, -3, 0.8}, .fstar = 0, XS(1, 1, 1, 1, 1)),
    P("HS050", 5, 0, 3, hs50, .x0 = {35, -31, 11, 5, -5}, .fstar = 0, XS(1, 1, 1, 1, 1)),
    P("HS051", 5, 0, 3, hs51, .x0 = {2.5, 0.5, 2, -1, 0.5}, .fstar = 0, XS(1, 1, 1, 1, 1)),
    P("HS052", 5, 0, 3, hs52, .x0 = {2, 2, 2, 2, 2}, .fstar = 1859.0 / 349,
      XS(-33.0 / 349, 11.0 / 349, 180.0 / 349, -158.0 / 349, 11.0 / 349)),
    P("HS053", 5, 10, 3, hs53, .x0 = {2, 2, 2, 2, 2}, .fstar = 176.0 / 43,
      XS(-33.0 / 43, 11.0 / 43, 27.0 / 43, -5.0 / 43, 11.0 / 43)),
    P("HS055", 6, 8, 6, hs55, .x0 = {1, 2, 0, 0, 0, 2}, .fstar = 19.0 / 3,
      XS(0, 4.0 / 3, 5.0 / 3, 1, 2.0 / 3, 1.0 / 3)),
    P("HS056", 7, 0, 4, hs56,
      .x0 = {1, 1, 1, 0.5085376699, 0.5085376699, 0.5085376699, 0.9851107833}, .fstar = -3.456,
      XS(2.4, 1.2, 1.2, 0.8570719478, 0.5639426413, 0.5639426413, 1.5707963268), .xstar_tol = 1e-9),
    P("HS057", 2, 3, 0, hs57, .x0 = {0.42, 5}, .fstar = 0.02845966972, XS(0.419952675, 1.284845629),
      .xstar_tol = 1e-7),
    P("HS060", 3, 6, 1, hs60, .x0 = {2, 2, 2}, .fstar = 0.0325682003,
      XS(1.104859024, 1.196674194, 1.535262257), .xstar_tol = 1e-7),
    P("HS061", 3, 0, 2, hs61, .x0 = {0, 0, 0}, .fstar = -143.6461422,
      XS(5.326770157, -2.118998639, 3.210464239), .xstar_tol = 1e-8),
    P("HS062", 3, 6, 1, hs62, .x0 = {0.7, 0.2, 0.1}, .fstar = -26272.51448,
      XS(0.6178126908, 0.328202223, 0.05398508606), .xstar_tol = 1e-8),
    P("HS063", 3, 3, 2, hs63, .x0 = {2, 2, 2}, .fstar = 961.7151721,
      XS(3.512118414, 0.2169881741, 3.552174034), .xstar_tol = 1e-8),
    P("HS064", 3, 4, 0, hs64, .x0 = {1, 1, 1}, .fstar = 6299.842428,
      XS(108.7347175, 85.12613942, 204.3247078), .xstar_tol = 1e-8),
    P("HS065", 3, 7, 0, hs65, .x0 = {-5, 5, 0}, .fstar = 0.9535288567,
      XS(3.650461821, 3.65046168, 4.6204170507), .xstar_tol = 1e-6),
    P("HS066", 3, 8, 0, hs66, .x0 = {0, 1.05, 2.9}, .fstar = 0.5181632741,
      XS(0.1841264879, 1.202167873, 3.327322322), .xstar_tol = 1e-8),
    P("HS071", 4, 9, 1, hs71, .x0 = {1, 5, 5, 1}, .fstar = 17.0140173,
      XS(1, 4.7429994, 3.8211503, 1.3794082), .xstar_tol = 1e-7),
    P("HS072", 4, 10, 0, hs72, .x0 = {1, 1, 1, 1}, .fstar = 727.67937,
      XS(193.4071, 179.5475, 185.0186, 168.7062), .xstar_tol = 1e-6),
    P("HS073", 4, 6, 1, hs73, .x0 = {1, 1, 1, 1}, .fstar = 29.894378,
      XS(0.6355216, 0, 0.3127019, 0.05177655), .xstar_tol = 1e-6),
    P("HS074", 4, 10, 3, hs74, .x0 = {0, 0, 0, 0}, .fstar = 5126.4981,
      XS(679.9453, 1026.067, 0.1188764, -0.3962336), .xstar_tol = 1e-6),
    P("HS075", 4, 10, 3, hs75, .x0 = {0, 0, 0, 0}, .fstar = 5174.4129,
      XS(776.1592, 925.1949, 0.05110879, -0.4288911), .xstar_tol = 1e-6),
    P("HS076", 4, 7, 0, hs76, .x0 = {0.5, 0.5, 0.5, 0.5}, .fstar = -4.681818181818182,
      XS(0.2727273, 2.090909, 0, 0.5454545), .xstar_tol = 1e-6),
    P("HS077", 5, 0, 2, hs77, .x0 = {2, 2, 2, 2, 2}, .fstar = 0.24150513,
      XS(1.166172, 1.182111, 1.380257, 1.506036, 0.6109203), .xstar_tol = 1e-5),
    P("HS078", 5, 0, 3, hs78, .x0 = {-2, 1.5, 2, -1, -1}, .fstar = -2.91970041,
      XS(-1.717143, 1.595709, 1.827247, -0.7636413, -0.7636450), .xstar_tol = 1e-6),
    P("HS079", 5, 0, 3, hs79, .x0 = {2, 2, 2, 2, 2}, .fstar = 0.0787768209,
      XS(1.191127, 1.362603, 1.472818, 1.635017, 1.679081), .xstar_tol = 1e-5),
    P("HS080", 5, 10, 3, hs80, .x0 = {-2, 2, 2, -1, -1}, .fstar = 0.0539498478,
      XS(-1.717143, 1.595709, 1.827247, -0.7636413, -0.7636450), .xstar_tol = 1e-5),
    P("HS081", 5, 10, 3, hs81, .x0 = {-2, 2, 2, -1, -1}, .fstar = 0.0539498478,
      XS(-1.717143, 1.595709, 1.827247, -0.7636413, -0.7636450), .xstar_tol = 1e-5),
    P("HS083", 5, 16, 0, hs83, .x0 = {78, 33, 27, 27, 27}, .fstar = -30665.53867,
      XS(78, 33, 29.99526, 45, 36.77581), .xstar_tol = 1e-7),
    P("HS084", 5, 16, 0, hs84, .x0 = {2.52, 2, 37.5, 9.25, 6.8}, .fstar = -5280335.133,
      XS(4.53743097, 2.4, 60, 9.3, 7), .xstar_tol = 1e-8),
    P("HS086", 5, 15, 0, hs86, .x0 = {0, 0, 0, 0, 1}, .fstar = -32.34867897,
      XS(0.3, 0.33346761, 0.4, 0.42831010, 0.22396487), .xstar_tol = 1e-7),
    P("HS093", 6, 8, 0, hs93, .x0 = {5.54, 4.4, 12.02, 11.82, 0.702, 0.852}, .fstar = 135.075961,
      XS(5.332666, 4.656744, 10.43299, 12.08230, 0.7526074, 0.87865084), .xstar_tol = 1e-6),
    P("HS100", 7, 4, 0, hs100, .x0 = {1, 2, 0, 4, 0, 1, 1}, .fstar = 680.6300573,
      XS(2.330499, 1.951372, -0.4775414, 4.365726, -0.6244870, 1.038131, 1.594227),
      .xstar_tol = 1e-7),
    P("HS104", 8, 22, 0, hs104, .x0 = {6, 3, 0.4, 0.2, 6, 6, 1, 0.5}, .fstar = 3.9511634396,
      XS(6.465114, 2.232709, 0.6673975, 0.5957564, 5.932676, 5.527235, 1.013322, 0.4006682),
      .xstar_tol = 1e-6),
    P("HS106", 8, 22, 0, hs106, .x0 = {5000, 5000, 5000, 200, 350, 150, 225, 425},
      .fstar = 7049.330923,
      XS(579.3167, 1359.943, 5110.071, 182.0174, 295.5985, 217.9799, 286.4162, 395.5979),
      .xstar_tol = 1e-6),
    P("HS110", 10, 20, 0, hs110, .x0 = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, .fstar = -45.77846971,
      XS(9.35025655, 9.35025655, 9.35025655, 9.35025655, 9.35025655, 9.35025655, 9.35025655,
         9.35025655, 9.35025655, 9.35025655),
      .xstar_tol = 1e-8),
    P("HS112", 10, 10, 3, hs112, .x0 = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},
      .fstar = -47.76109026),
    P("HS113", 10, 8, 0, hs113, .x0 = {2, 3, 5, 5, 1, 2, 7, 3, 6, 10}, .fstar = 24.3062091,
      XS(2.171996, 2.363683, 8.773926, 5.095984, 0.9906548, 1.430574, 1.321644, 9.828726, 8.280092,
         8.375927),
      .xstar_tol = 1e-6),
    P("NS-ROSEN", 2, 1, 0, ns_rosen, .x0 = {-1, 1}, .fstar = 0.08578643762690485,
      XS(0.7071067811865476, 0.5), .nonsmooth = 1),
    P("NS-MAXQ", 20, 0, 0, ns_maxq,
      .x0 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -20},
      .fstar = 0, XS(0), .nonsmooth = 1),
    P("NS-MAXQUAD", 10, 0, 0, ns_maxquad, .x0 = {0}, .fstar = -0.8414083345, .nonsmooth = 1),
    P("NS-L1REG", 8, 0, 0, ns_l1reg, .x0 = {0}, .fstar = 5.1,
      XS(-0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1), .nonsmooth = 1),
    {.p = {.name = "NS-EIGMAX",
           .n = 6,
           .x0 = {0.5, -0.3, 0.2, 0.4, -0.1, 0.3},
           .fstar = 1,
           .has_xstar = 1,
           .nonsmooth = 1},
     .direct = ns_eig},
};

#define HS_COUNT ((int)(sizeof hs_table / sizeof hs_table[0]))
static hs_problem hs_public[HS_COUNT];
static int hs_ready;

const hs_problem *hs_collection(void)
{
    if (!hs_ready) {
        maxquad_init();
        l1reg_init();
        for (int i = 0; i < HS_COUNT; i++) {
            hs_public[i] = hs_table[i].p;
            hs_public[i].impl = &hs_table[i];
        }
        hs_ready = 1;
    }
    return hs_public;
}

int hs_collection_size(void)
{
    return HS_COUNT;
}

int hs_eval(const double *x, double *f, double *g, double *ci, double *Ji, double *ce, double *Je,
            void *user)
{
    const hs_problem *p = user;
    const hs_entry *en = p->impl;
    if (en->direct) return en->direct(x, f, g, ci, Ji, ce, Je, user);
    const int n = p->n, mi = p->n_ineq, me = p->n_eq;
    cplx xc[HS_NMAX], fc, cc[HS_MMAX], ec[HS_MMAX];
    for (int j = 0; j < n; j++)
        xc[j] = x[j];
    en->fn(xc, &fc, cc, ec);
    *f = creal(fc);
    for (int i = 0; i < mi; i++)
        ci[i] = creal(cc[i]);
    for (int i = 0; i < me; i++)
        ce[i] = creal(ec[i]);
    if (!g) return 0;
    // complex step: f(x + i h e_j) = f(x) + i h df/dx_j + O(h^2), with no cancellation, so a
    // tiny h gives the derivative to rounding
    const double h = 1e-30;
    for (int j = 0; j < n; j++) {
        xc[j] = x[j] + h * I;
        en->fn(xc, &fc, cc, ec);
        xc[j] = x[j];
        g[j] = cimag(fc) / h;
        for (int i = 0; i < mi; i++)
            Ji[(size_t)i * n + j] = cimag(cc[i]) / h;
        for (int i = 0; i < me; i++)
            Je[(size_t)i * n + j] = cimag(ec[i]) / h;
    }
    return 0;
}

int hs_check_counts(const hs_problem *p)
{
    const hs_entry *en = p->impl;
    if (en->direct) return p->n_ineq == 0 && p->n_eq == 0;
    cplx xc[HS_NMAX], fc = NAN, cc[HS_MMAX + 1], ec[HS_MMAX + 1];
    const double mark = -1234.5;
    for (int j = 0; j < p->n; j++)
        xc[j] = p->x0[j];
    for (int i = 0; i <= HS_MMAX; i++)
        cc[i] = ec[i] = mark;
    en->fn(xc, &fc, cc, ec);
    for (int i = 0; i <= HS_MMAX; i++) {
        if ((creal(cc[i]) == mark) != (i >= p->n_ineq)) return 0;
        if ((creal(ec[i]) == mark) != (i >= p->n_eq)) return 0;
    }
    return 1;
}

double hs_violation(const hs_problem *p, const double *x)
{
    double f, ci[HS_MMAX], ce[HS_MMAX], v = 0;
    hs_eval(x, &f, NULL, ci, NULL, ce, NULL, (void *)p);
    for (int i = 0; i < p->n_ineq; i++)
        v = fmax(v, ci[i]);
    for (int i = 0; i < p->n_eq; i++)
        v = fmax(v, fabs(ce[i]));
    return v;
}
