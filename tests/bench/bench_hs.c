// tests/bench/bench_hs.c: the public test set (tests/hs_collection.c) with bfgs-sqp, auglag and
// penalty at default settings: per problem and method, solved (|f - f*| <= 1e-6 max(1, |f*|)
// and max-norm violation <= 1e-6), evaluations, evaluations with gradients, time; totals.
//
// usage: bench_hs [-m bfgs-sqp,auglag,penalty] [-p NAME] [-q]   (-q: totals only)
#include "bench_util.h"
#include "hs_collection.h"
#include "ncvx.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SOLVED_FTOL 1e-6 ///< |f - f*| <= SOLVED_FTOL * max(1, |f*|)
#define SOLVED_VTOL 1e-6 ///< max(max c_i^+, max |c_e|) <= SOLVED_VTOL

typedef struct {
    int solved, term;
    double f, viol, time;
    long evals, grad_evals;
} run_result;

static int run(const hs_problem *p, ncvx_method m, run_result *r)
{
    ncvx_settings s;
    ncvx_settings_default(&s);
    s.method = m;
    s.print_level = 0;
    ncvx_problem q = {
        .n = p->n, .n_ineq = p->n_ineq, .n_eq = p->n_eq, .eval = hs_eval, .user = (void *)p};
    ncvx_solver *sv = NULL;
    double x[HS_NMAX];
    memcpy(x, p->x0, sizeof x);
    ncvx_info info;
    memset(r, 0, sizeof *r);
    double t0 = bench_now();
    ncvx_status st = ncvx_create(&sv, &q, &s);
    if (st == NCVX_OK) st = ncvx_solve(sv, x, &info);
    r->time = bench_now() - t0;
    ncvx_destroy(sv);
    if (st != NCVX_OK) {
        r->term = -100 + (int)st;
        r->f = r->viol = NAN;
        return 0;
    }
    double g[HS_NMAX];
    (void)g;
    hs_eval(x, &r->f, NULL, (double[HS_MMAX]){0}, NULL, (double[HS_MMAX]){0}, NULL, (void *)p);
    r->viol = hs_violation(p, x);
    r->term = (int)info.term;
    r->evals = info.evals;
    r->grad_evals = info.grad_evals;
    r->solved =
        fabs(r->f - p->fstar) <= SOLVED_FTOL * fmax(1, fabs(p->fstar)) && r->viol <= SOLVED_VTOL;
    return 1;
}

int main(int argc, char **argv)
{
    const char *methods = "bfgs-sqp,auglag,penalty", *only = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            methods = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "-q"))
            quiet = 1;
        else {
            fprintf(stderr, "usage: %s [-m bfgs-sqp,auglag,penalty] [-p NAME] [-q]\n", argv[0]);
            return 2;
        }
    }
    ncvx_method ms[8];
    int nm = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", methods);
    for (char *tok = strtok(buf, ","); tok && nm < 8; tok = strtok(NULL, ",")) {
        if (ncvx_method_parse(tok, &ms[nm]) != 0) {
            fprintf(stderr, "bench_hs: unknown method '%s'\n", tok);
            return 2;
        }
        nm++;
    }
    const hs_problem *t = hs_collection();
    const int np = hs_collection_size();
    int solved[8] = {0}, count = 0;
    long ev[8] = {0}, gev[8] = {0};
    double tt[8] = {0};
    if (!quiet) {
        printf("%-11s %3s %3s %3s", "problem", "n", "mi", "me");
        for (int k = 0; k < nm; k++)
            printf(" | %-8s %2s %3s %6s %6s %8s", ncvx_method_str(ms[k]), "ok", "tc", "evals",
                   "grads", "time[s]");
        printf("\n");
    }
    for (int i = 0; i < np; i++) {
        const hs_problem *p = &t[i];
        if (only && strcmp(only, p->name)) continue;
        count++;
        if (!quiet) printf("%-11s %3d %3d %3d", p->name, p->n, p->n_ineq, p->n_eq);
        for (int k = 0; k < nm; k++) {
            run_result r;
            run(p, ms[k], &r);
            solved[k] += r.solved;
            ev[k] += r.evals;
            gev[k] += r.grad_evals;
            tt[k] += r.time;
            if (!quiet)
                printf(" | %-8s %2s %3d %6ld %6ld %8.4f", "", r.solved ? "y" : "n", r.term, r.evals,
                       r.grad_evals, r.time);
            if (!quiet && !r.solved && only)
                printf(" (f = %.10g vs %.10g, viol %.2e)", r.f, p->fstar, r.viol);
        }
        if (!quiet) printf("\n");
        fflush(stdout);
    }
    printf("total %d problems (|f - f*| <= %g max(1,|f*|), violation <= %g)\n", count, SOLVED_FTOL,
           SOLVED_VTOL);
    for (int k = 0; k < nm; k++)
        printf("  %-8s solved %3d / %d = %5.1f %%   evals %7ld  grads %7ld  time %.3f s\n",
               ncvx_method_str(ms[k]), solved[k], count, 100.0 * solved[k] / (count ? count : 1),
               ev[k], gev[k], tt[k]);
    return 0;
}
