// solver/src/evaluate.c: the one counted evaluation of every method (budget, clock, finite
// checks, folded bounds, best point), the budget test that ends a run, the iteration table
// and the result (ncvx_info) with its summary line.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ncvx_internal.h"

ncvx_status ncvx_evaluator_init(ncvx_evaluator *e, const ncvx_problem *p, const ncvx_settings *s,
                                int fold_bounds)
{
    ncvx_status st = NCVX_OK;
    memset(e, 0, sizeof *e);
    int nb = 0;
    if (fold_bounds)
        for (int i = 0; i < p->n; i++)
            nb += (p->lower && p->lower[i] > -INFINITY) + (p->upper && p->upper[i] < INFINITY);
    e->eval = p->eval;
    e->user = p->user;
    e->lower = p->lower;
    e->upper = p->upper;
    e->n = p->n;
    e->nb = nb;
    e->mi = p->n_ineq + nb;
    e->me = p->n_eq;
    e->max_evals = s->max_evals;
    e->maxit = s->maxit;
    e->maxclocktime = s->maxclocktime;
    e->viol_ineq_tol = s->viol_ineq_tol;
    e->viol_eq_tol = s->viol_eq_tol;
    e->rank_f = 1;
    e->rank_v = 0;
    NCVX_ALLOC(e->xbest, (size_t)p->n);
    NCVX_ALLOC(e->bidx, nb);
    NCVX_ALLOC(e->bsg, nb);
    for (int i = 0, r = 0; i < p->n && nb; i++) {
        if (p->lower && p->lower[i] > -INFINITY) e->bidx[r] = i, e->bsg[r++] = -1;
        if (p->upper && p->upper[i] < INFINITY) e->bidx[r] = i, e->bsg[r++] = 1;
    }
    return NCVX_OK;
fail:
    ncvx_evaluator_free(e);
    return st;
}

void ncvx_evaluator_free(ncvx_evaluator *e)
{
    free(e->xbest);
    free(e->bidx);
    free(e->bsg);
    e->xbest = NULL;
    e->bidx = e->bsg = NULL;
}

void ncvx_evaluator_reset(ncvx_evaluator *e)
{
    e->evals = e->grad_evals = 0;
    e->eval_time = 0;
    e->best_kind = 0;
}

double ncvx_viol_ineq_max(const double *c, int m)
{
    double v = 0;
    for (int i = 0; i < m; i++)
        if (c[i] > v) v = c[i];
    return v;
}

double ncvx_viol_eq_max(const double *c, int m)
{
    double v = 0;
    for (int i = 0; i < m; i++)
        if (fabs(c[i]) > v) v = fabs(c[i]);
    return v;
}

int ncvx_evaluator_feasible(const ncvx_evaluator *e, const double *ci, const double *ce)
{
    if (e->feas_l1)
        return ncvx_viol_ineq(ci, e->mi) <= e->viol_ineq_tol &&
               ncvx_viol_eq(ce, e->me) <= e->viol_eq_tol;
    return ncvx_viol_ineq_max(ci, e->mi) <= e->viol_ineq_tol &&
           ncvx_viol_eq_max(ce, e->me) <= e->viol_eq_tol;
}

/* 1 if a[len] holds no Inf or NaN: eight lanes of sums of a_i * 0 (0 for a finite a_i, NaN
 * otherwise), without an early exit so that the loop vectorizes; it reads every gradient of
 * every evaluation. */
static int all_finite(const double *a, size_t len)
{
    double p[8] = {0};
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        for (int k = 0; k < 8; k++)
            p[k] += a[i + k] * 0.0;
    for (int k = 0; i < len; i++, k++)
        p[k] += a[i] * 0.0;
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7])) == 0;
}

/* the folded bounds at x into c[nb] and, if Gb is non-NULL, their gradients (rows of n) */
static void bound_constraints(const ncvx_evaluator *e, const double *x, double *c, double *Gb)
{
    for (int r = 0; r < e->nb; r++) {
        const int i = e->bidx[r];
        c[r] = e->bsg[r] < 0 ? e->lower[i] - x[i] : x[i] - e->upper[i];
        if (Gb) {
            double *g = Gb + (size_t)r * e->n;
            memset(g, 0, (size_t)e->n * sizeof *g);
            g[i] = e->bsg[r];
        }
    }
}

/* The best point (one rule for every method, see ncvx_evaluator): a feasible point beats any
 * infeasible one; feasible points are ranked by rank_f f + rank_v (v_ineq + v_eq) (BFGS-SQP: mu f +
 * v, the penalty function of the current mu; the other methods: f alone), infeasible ones by the l1
 * violation v_ineq + v_eq, ties by f. */
static void track_best(ncvx_evaluator *e, const double *x, double f, const double *ci,
                       const double *ce)
{
    const double vi = ncvx_viol_ineq(ci, e->mi), ve = ncvx_viol_eq(ce, e->me);
    const int feas = ncvx_evaluator_feasible(e, ci, ce);
    int better = 0;
    if (feas)
        better = e->best_kind < 2 ||
                 e->rank_f * f + e->rank_v * vi + e->rank_v * ve <
                     e->rank_f * e->fbest + e->rank_v * e->vibest + e->rank_v * e->vebest;
    else if (e->best_kind < 2)
        better = e->best_kind == 0 || vi + ve < e->vibest + e->vebest ||
                 (vi + ve == e->vibest + e->vebest && f < e->fbest);
    if (!better) return;
    memcpy(e->xbest, x, (size_t)e->n * sizeof *x);
    e->fbest = f;
    e->vibest = vi;
    e->vebest = ve;
    e->vimax = ncvx_viol_ineq_max(ci, e->mi);
    e->vemax = ncvx_viol_eq_max(ce, e->me);
    e->best_kind = feas ? 2 : 1;
}

int ncvx_evaluator_eval(ncvx_evaluator *e, const double *x, double *f, double *g, double *ci,
                        double *Ji, double *ce, double *Je)
{
    const int n = e->n, mi = e->mi, me = e->me, miu = mi - e->nb;
    if (e->max_evals > 0 && e->evals >= e->max_evals) return NCVX_EV_BUDGET;
    const double t = ncvx_now();
    *f = NAN;
    int rc = e->eval(x, f, g, miu ? ci : NULL, g && miu ? Ji : NULL, me ? ce : NULL,
                     g && me ? Je : NULL, e->user);
    if (e->nb) bound_constraints(e, x, ci + miu, g ? Ji + (size_t)n * miu : NULL);
    e->eval_time += ncvx_now() - t;
    e->evals++;
    if (g) e->grad_evals++;
    if (rc != 0) return NCVX_EV_FAIL;
    if (!isfinite(*f) || !all_finite(ci, (size_t)mi) || !all_finite(ce, (size_t)me))
        return NCVX_EV_NONFIN;
    track_best(e, x, *f, ci, ce); // the values decide; a non-finite gradient does not matter
    if (g && (!all_finite(g, (size_t)n) || !all_finite(Ji, (size_t)mi * n) ||
              !all_finite(Je, (size_t)me * n)))
        return NCVX_EV_NONFIN;
    return NCVX_EV_OK;
}

int ncvx_evaluator_budget(const ncvx_evaluator *e, int iters, double elapsed)
{
    if (e->max_evals > 0 && e->evals >= e->max_evals) return NCVX_TERM_MAXEVAL;
    if (e->maxclocktime > 0 && elapsed >= e->maxclocktime) return NCVX_TERM_CLOCK;
    if (iters >= e->maxit) return NCVX_TERM_MAXIT;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* The iteration table (STYLE.md: one header printer, one row printer, header every 20 rows;
 * columns documented at ncvx_settings.print_level). NaN or a negative count prints "-".      */

#define TABLE_HEADER_EVERY 20

static void table_header(FILE *f)
{
    fprintf(f, "%5s | %9s | %12s | %12s | %9s | %9s | %9s | %9s | %4s | %8s | %8s | %5s | %2s\n",
            "iter", "mu", "penalty", "f", "ineq viol", "eq viol", "stat", "step", "ls", "evals",
            "time", "ngrad", "fb");
}

/* "%*.*e" of v, or "-" right-aligned in the same width when v is NaN */
static void table_num(FILE *f, int width, int prec, double v)
{
    if (isnan(v))
        fprintf(f, "%*s | ", width, "-");
    else
        fprintf(f, "%*.*e | ", width, prec, v);
}

void ncvx_table_row(FILE *f, int *rows, const ncvx_row *r)
{
    if (*rows % TABLE_HEADER_EVERY == 0) table_header(f);
    (*rows)++;
    fprintf(f, "%5d | ", r->iter);
    table_num(f, 9, 3, r->mu);
    table_num(f, 12, 5, r->penalty);
    table_num(f, 12, 5, r->f);
    table_num(f, 9, 2, r->viol_ineq);
    table_num(f, 9, 2, r->viol_eq);
    table_num(f, 9, 2, r->stat);
    table_num(f, 9, 2, r->step);
    fprintf(f, "%4d | %8ld | %8.2f | ", r->ls_evals, r->evals, r->time);
    if (r->ngrad >= 0)
        fprintf(f, "%5d | ", r->ngrad);
    else
        fprintf(f, "%5s | ", "-");
    if (r->fallback >= 0)
        fprintf(f, "%2d\n", r->fallback);
    else
        fprintf(f, "%2s\n", "-");
}

/* ------------------------------------------------------------------------------------------ */
/* The result                                                                                   */

void ncvx_info_fill(ncvx_info *info, const ncvx_evaluator *e, double *x, ncvx_term term)
{
    memset(info, 0, sizeof *info);
    info->term = term;
    info->term_msg = ncvx_term_str(term);
    const int best = x && e->best_kind > 0;
    if (best) memcpy(x, e->xbest, (size_t)e->n * sizeof *x);
    info->f = best ? e->fbest : NAN;
    info->viol_ineq = best ? e->vibest : NAN;
    info->viol_eq = best ? e->vebest : NAN;
    info->viol_ineq_max = best ? e->vimax : NAN;
    info->viol_eq_max = best ? e->vemax : NAN;
    info->stat = info->kkt_stat = info->kkt_comp = info->mu = NAN;
    info->evals = e->evals;
    info->grad_evals = e->grad_evals;
    info->eval_time = e->eval_time;
}

void ncvx_info_print(FILE *f, ncvx_method m, const ncvx_info *info)
{
    fprintf(f, "%s: %s (code %d): f = %.10e, viol = %.3e / %.3e", ncvx_method_str(m),
            info->term_msg, (int)info->term, info->f, info->viol_ineq, info->viol_eq);
    if (!isnan(info->kkt_stat)) fprintf(f, ", KKT residual %.2e", info->kkt_stat);
    fprintf(f, ", %d iters, %ld evals\n", info->iters, info->evals);
}
