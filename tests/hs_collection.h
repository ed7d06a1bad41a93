// tests/hs_collection.h: a public test set for the constrained solvers: problems of the
// Hock-Schittkowski collection (Hock, Schittkowski, "Test Examples for Nonlinear Programming
// Codes", LNEMS 187, Springer 1981; the same statements, starting points and optimal values are
// in Schittkowski's 2008 report) and nonsmooth problems in the spirit of GRANSO/PyGRANSO's
// examples, each with its published (or constructed, certified) optimal value.
#ifndef TOPOPT_HS_COLLECTION_H
#define TOPOPT_HS_COLLECTION_H

#define HS_NMAX 20 ///< largest n in the set
#define HS_MMAX 40 ///< largest number of inequality (or equality) constraints in the set

/** One problem: minimize f(x) s.t. c_i(x) <= 0, c_e(x) = 0. Simple bounds of the published
 *  statement are part of the inequalities (lo - x_j <= 0, x_j - up <= 0), so that every method
 *  sees them. */
typedef struct {
    const char *name;      ///< "HS071", "NS-..." for the nonsmooth ones
    int n, n_ineq, n_eq;   ///< sizes; n_ineq counts the bounds too
    double x0[HS_NMAX];    ///< published starting point
    double fstar;          ///< published optimal value
    int has_xstar;         ///< 1 if xstar holds the published solution
    double xstar[HS_NMAX]; ///< published solution (to the printed digits)
    double xstar_tol;      ///< relative accuracy of f(xstar) vs fstar implied by those digits
    int nonsmooth;         ///< 1 if f or c are nonsmooth at the solution
    const void *impl;      ///< private: the problem's evaluation
} hs_problem;

/** The table (hs_collection_size() entries), built on the first call; not thread-safe on that
 *  first call. */
const hs_problem *hs_collection(void);
int hs_collection_size(void);

/** ncvx_eval_fn for a problem of the table: user = (const hs_problem *). Gradients are exact
 *  to rounding (complex-step differentiation of one statement of each problem, Squire and
 *  Trapp 1998, or hand-written for the eigenvalue problem). Returns 0. */
int hs_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
            double *c_eq, double *jac_eq, void *user);

/** 1 if the statement of p writes exactly n_ineq inequalities and n_eq equalities at x0. */
int hs_check_counts(const hs_problem *p);

/** max(max_i c_i(x)^+, max_j |c_e,j(x)|) at x (evaluates the problem once). */
double hs_violation(const hs_problem *p, const double *x);

#endif
