// tests/bench/bench_fem.c: one fem evaluation vs CHOLMOD's bare factorize + solve
//
// For MBB-like problems (left edge x fixed, bottom-right node y fixed, unit load at the top-left
// node) it times one full fem_model_compliance() (scatter + factorize + solve + sensitivity)
// against cholmod_l_factorize + cholmod_l_solve2 on the same matrix and analysis, reports the
// median of --runs runs of each (interleaved, so both see the same machine load), their ratio
// and the process's peak resident memory so far (getrusage ru_maxrss).
//
// usage: bench_fem [--csv] [--quick] [--sizes WxH,WxH...] [--runs N] [--ordering
//                  default|amd|metis|nesdis] [--factor auto|simplicial|supernodal]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench_util.h"
#include "fem.h"
#include "fem_internal.h" // white-box: the model's CHOLMOD matrix, factor and workspaces

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--csv] [--quick] [--sizes WxH,...] [--runs N] "
            "[--ordering default|amd|metis|nesdis] [--factor auto|simplicial|supernodal]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    int csv = 0, runs = 5, ns = 4;
    int sizes[16][2] = {{96, 32}, {384, 128}, {512, 512}, {1024, 1024}};
    fem_settings st;
    fem_settings_default(&st);
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--csv")) {
            csv = 1;
        } else if (!strcmp(argv[a], "--quick")) {
            ns = 2;
        } else if (!strcmp(argv[a], "--runs") && a + 1 < argc) {
            runs = atoi(argv[++a]);
            if (runs < 1) return usage(argv[0]);
        } else if (!strcmp(argv[a], "--sizes") && a + 1 < argc) {
            ns = 0;
            for (char *tok = strtok(argv[++a], ","); tok && ns < 16; tok = strtok(NULL, ",")) {
                if (sscanf(tok, "%dx%d", &sizes[ns][0], &sizes[ns][1]) != 2) return usage(argv[0]);
                ns++;
            }
        } else if (!strcmp(argv[a], "--ordering") && a + 1 < argc) {
            const char *o = argv[++a];
            st.ordering = !strcmp(o, "amd")      ? FEM_ORDER_AMD
                          : !strcmp(o, "metis")  ? FEM_ORDER_METIS
                          : !strcmp(o, "nesdis") ? FEM_ORDER_NESDIS
                                                 : FEM_ORDER_DEFAULT;
        } else if (!strcmp(argv[a], "--factor") && a + 1 < argc) {
            const char *f = argv[++a];
            st.factor = !strcmp(f, "simplicial")   ? FEM_FACTOR_SIMPLICIAL
                        : !strcmp(f, "supernodal") ? FEM_FACTOR_SUPERNODAL
                                                   : FEM_FACTOR_AUTO;
        } else {
            return usage(argv[0]);
        }
    }
    if (csv)
        printf("case,W,H,nfree,nnz_A,nnz_L,flops,create_s,eval_s,bare_s,ratio,maxrss_mb,runs\n");
    else
        printf("%-10s %9s %10s %11s %9s %9s %9s %7s %10s\n", "grid", "nfree", "nnz(L)", "flops",
               "create s", "eval s", "bare s", "ratio", "maxrss MB");

    for (int s = 0; s < ns; s++) {
        const int W = sizes[s][0], H = sizes[s][1];
        int *fixed = malloc((size_t)(H + 2) * sizeof *fixed), nf = 0;
        if (!fixed) return 1;
        for (int iy = 0; iy <= H; iy++)
            fixed[nf++] = fem_dof_x(H, 0, iy);
        fixed[nf++] = fem_dof_y(H, W, H);
        fem_point_load pl = {0, fem_dof_y(H, 0, 0), -1.0};
        fem_problem p = {.width = W,
                         .height = H,
                         .n_fixed = nf,
                         .fixed_dofs = fixed,
                         .n_cases = 1,
                         .n_point_loads = 1,
                         .point_loads = &pl};
        fem_model *m = NULL;
        const double t0 = bench_now();
        if (fem_model_create(&m, &p, &st) != FEM_OK) return 1;
        const double t_create = bench_now() - t0;
        const size_t ne = (size_t)W * H;
        double *rho = malloc(ne * sizeof *rho), *dc = malloc(ne * sizeof *dc), c;
        double *te = malloc((size_t)runs * sizeof *te), *tb = malloc((size_t)runs * sizeof *tb);
        if (!rho || !dc || !te || !tb) return 1;
        for (size_t e = 0; e < ne; e++)
            rho[e] = 0.5;
        // warm-up: first touch of the factor's memory and of CHOLMOD's workspaces
        if (fem_model_compliance(m, rho, &c, dc) != FEM_OK) return 1;
        for (int r = 0; r < runs; r++) {
            double t = bench_now();
            if (fem_model_compliance(m, rho, &c, dc) != FEM_OK) return 1;
            te[r] = bench_now() - t;
            // the floor: CHOLMOD alone on the very same matrix values, analysis and workspaces
            t = bench_now();
            if (!cholmod_l_factorize(m->A, m->L, &m->cc) ||
                !cholmod_l_solve2(CHOLMOD_A, m->L, m->B, NULL, &m->X, NULL, &m->Y, &m->E, &m->cc))
                return 1;
            tb[r] = bench_now() - t;
        }
        const double me = bench_median(te, runs), mb = bench_median(tb, runs);
        const double lnz = m->cc.lnz, fl = m->cc.fl;
        if (csv)
            printf("%dx%d,%d,%d,%d,%ld,%.0f,%.0f,%.4f,%.5f,%.5f,%.3f,%.1f,%d\n", W, H, W, H,
                   m->nfree, (long)m->nnz, lnz, fl, t_create, me, mb, me / mb, bench_peak_mb(),
                   runs);
        else {
            char name[32];
            snprintf(name, sizeof name, "%dx%d", W, H);
            printf("%-10s %9d %10.3g %11.3g %9.3f %9.4f %9.4f %7.3f %10.1f\n", name, m->nfree, lnz,
                   fl, t_create, me, mb, me / mb, bench_peak_mb());
        }
        fflush(stdout);
        free(rho);
        free(dc);
        free(te);
        free(tb);
        free(fixed);
        fem_model_destroy(m);
    }
    return 0;
}
