// app/strategy.c: neural phase then pixel polish under one FE-evaluation budget
#include "strategy.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "export.h"
#include "ncvx.h"

/* What the solver callbacks of one phase share. */
typedef struct {
    const app_config *c;
    const app_run_opts *o;
    app_chain *ch;    /* chain of the running phase */
    int phase;        /* 1 neural, 2 polish */
    long evals_base;  /* FE solves before this phase (history offsets) */
    int iter_base;    /* iterations before this phase */
    double t_base;    /* seconds before this phase */
    app_history hist; /* both phases */
    int halted;       /* SIGINT/SIGTERM */
    int failed;
} strat_ctx;

static int strat_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                      double *c_eq, double *jac_eq, void *user)
{
    return app_chain_eval(x, f, grad_f, c_ineq, jac_ineq, c_eq, jac_eq, ((strat_ctx *)user)->ch);
}

static int strat_project(double *x, int n, void *user)
{
    return app_chain_project(x, n, ((strat_ctx *)user)->ch);
}

/* One history row per iteration: the compliance (unnormalized, so both phases share units),
 * the evaluations counted over both phases, and the phase. */
static int strat_monitor(const ncvx_iterate *it, void *user)
{
    strat_ctx *s = user;
    double extra[2] = {(double)s->phase, it->stat};
    if (app_history_append(&s->hist, s->iter_base + it->iter, s->evals_base + it->evals,
                           it->f * app_chain_scale(s->ch), NULL, it->viol_ineq + it->viol_eq,
                           it->step, s->t_base + it->time, extra) != APP_IO_OK) {
        s->failed = 1;
        return 1;
    }
    if (it->iter > 0 && app_run_stop_requested()) {
        s->halted = 1;
        return 1;
    }
    return 0;
}

/* Run one phase of config pc on chain ch from x (in: start, out: best point) with at most
 * max_evals FE solves and what is left of the run's time. Returns 0 or 1 (message printed). */
static int run_phase(strat_ctx *s, app_chain *ch, const app_config *pc, long max_evals, double *x,
                     ncvx_info *info)
{
    ncvx_solver *sv = NULL;
    s->ch = ch;
    ncvx_settings st;
    app_run_solver_settings(pc, s->o, &st);
    double max_time = s->c->solver.maxclocktime;
    st.max_evals = max_evals;
    st.maxclocktime = max_time > 0 ? max_time - s->t_base : 0;
    if (max_time > 0 && st.maxclocktime <= 0) st.maxclocktime = 1e-9;
    ncvx_problem p = {.n = app_chain_num_params(ch),
                      .n_ineq = app_chain_num_ineq(ch),
                      .n_eq = app_chain_num_eq(ch),
                      .eval = strat_eval,
                      .monitor = strat_monitor,
                      .project = strat_project,
                      .lower = app_chain_lower(ch),
                      .upper = app_chain_upper(ch),
                      .user = s};
    memset(info, 0, sizeof *info);
    ncvx_status rc = ncvx_create(&sv, &p, &st);
    if (rc == NCVX_OK) rc = ncvx_solve(sv, x, info);
    ncvx_destroy(sv);
    if (rc != NCVX_OK) {
        fprintf(stderr, "topopt: strategy phase %d: solver failed: %s\n", s->phase,
                ncvx_status_str(rc));
        return 1;
    }
    if (s->failed) {
        fprintf(stderr, "topopt: out of memory recording the history\n");
        return 1;
    }
    return 0;
}

/* result.h5, design.png and history.csv of the polished design x (fields of ch at x), written
 * as one set like a single run's (app_outputs_publish), with the config's identity. */
static int write_outputs(const strat_ctx *s, app_chain *ch, const double *x, const char *dir,
                         const app_chain_fields *fl, int term, const char *status)
{
    const app_config *c = s->c;
    char err[1024];
    char *identity = app_config_identity(c);
    if (!identity) {
        fprintf(stderr, "topopt: out of memory\n");
        return 1;
    }
    char method[64]; /* neural-polish-mma, neural-polish-oc */
    snprintf(method, sizeof method, "%s-%s", app_name_str(&app_strategy_kind_names, c->strategy),
             app_name_str(&app_polish_method_names, c->strategy_polish));
    app_result res;
    memset(&res, 0, sizeof res);
    res.n_params = (size_t)app_chain_num_params(ch);
    res.theta = (double *)x;
    res.config_keys = identity;
    res.config_hash = app_fnv1a64(APP_FNV1A64_INIT, identity, strlen(identity));
    res.status_code = term;
    res.status = (char *)status;
    res.method = method;
    res.parameterization = (char *)"pixel"; /* theta holds the polished pixels */
    int rc = app_outputs_publish(dir, c, fl, &s->hist, &res, err, sizeof err);
    free(identity);
    if (rc) fprintf(stderr, "topopt: %s\n", err);
    return rc;
}

/* The config of the polish phase: pixels of the same problem, filter, projection and
 * constraints, the volume explicit, the polish method with the schema's default settings
 * (as the suite's pixel-mma and pixel-oc runs) under the run's budget and printing. */
static int polish_config(const app_config *c, app_config *p)
{
    app_config d; /* the defaults' solver settings */
    app_config_default(&d);
    if (app_config_copy(p, c)) return -1;
    p->solver = d.solver;
    p->solver.maxit = c->solver.maxit;
    p->solver.max_evals = c->solver.max_evals;
    p->solver.maxclocktime = c->solver.maxclocktime;
    p->solver.print_frequency = c->solver.print_frequency;
    p->solver.method = app_polish_ncvx_method((app_polish_method)c->strategy_polish);
    p->param_kind = APP_PARAM_PIXEL;
    p->density_map = APP_MAP_PIXEL;
    p->pixel_init = -1;
    if (p->volume != APP_VOL_EQ) p->volume = APP_VOL_LE;
    p->normalize_objective = 0;
    p->strategy = APP_STRATEGY_SINGLE;
    return 0;
}

/* The seed of neural trial k > 0 of a run with seed `seed` (splitmix64 of both: distinct runs'
 * trials do not share initializations). */
static unsigned long trial_seed(unsigned long seed, int k)
{
    uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ull * (uint64_t)k;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (unsigned long)((z ^ (z >> 31)) & 0x7fffffffu);
}

/* The SIMP exponent of pixel level l of L (evenly spaced from strategy.p_start to material.p;
 * L == 1: material.p). */
static double level_penalty(const app_config *c, int l, int L)
{
    if (L == 1 || l == L - 1) return c->penal;
    return c->strategy_p_start + (c->penal - c->strategy_p_start) * (double)l / (double)(L - 1);
}

int app_strategy_run_info(const app_config *c, const app_run_opts *o, app_run_result *res,
                          app_strategy_info *info)
{
    strat_ctx s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.o = o;
    FILE *log = o->log ? o->log : stdout;
    int rc = APP_EXIT_FAILED;
    app_chain *ch1 = NULL, *ch2 = NULL;
    app_config polish, *pc = NULL;
    double *theta = NULL, *theta_trial = NULL, *x = NULL;
    char err[1024], dir[1024];
    app_strategy_info si;
    memset(&si, 0, sizeof si);
    const char *kind = app_name_str(&app_strategy_kind_names, c->strategy);
    int neural = c->strategy == APP_STRATEGY_NEURAL_POLISH;

    if (o->resume_dir) {
        fprintf(stderr,
                "topopt: --resume: strategy.kind %s keeps no checkpoint; run it again "
                "from the start (or resume a strategy.kind: single run)\n",
                kind);
        return APP_EXIT_USAGE;
    }
    if (c->strategy != APP_STRATEGY_NEURAL_POLISH && c->strategy != APP_STRATEGY_CONTINUATION) {
        fprintf(stderr, "topopt: unknown strategy %d\n", c->strategy);
        return APP_EXIT_FAILED;
    }
    if (c->strategy_p_start > c->penal) {
        fprintf(stderr,
                "topopt: strategy.p_start %g is above material.p %g: the continuation raises the "
                "exponent to material.p (allowed: 0 < p_start <= material.p, or 0 for none)\n",
                c->strategy_p_start, c->penal);
        return APP_EXIT_USAGE;
    }
    int levels =
        c->strategy_p_start > 0 && c->strategy_p_start < c->penal ? c->strategy_p_levels : 1;
    if (c->solver.max_evals < 5 + 2 * levels) {
        fprintf(stderr,
                "topopt: strategy.kind %s needs budget.evaluations >= %d (it splits the "
                "evaluations between its %d phases)\n",
                kind, 5 + 2 * levels, levels + neural);
        return APP_EXIT_USAGE;
    }
    if (c->keep_state || c->checkpoint_every > 0 || c->frames_every > 0)
        fprintf(stderr,
                "topopt: warning: strategy.kind %s writes no checkpoints or frames "
                "(outputs.keep_state, checkpoint_every, frames_every ignored)\n",
                kind);
    if (c->out_dir[0])
        snprintf(dir, sizeof dir, "%s", c->out_dir);
    else
        snprintf(dir, sizeof dir, "results/%s", c->name);

    if (polish_config(c, &polish)) {
        fprintf(stderr, "topopt: out of memory\n");
        goto done;
    }
    pc = &polish;
    pc->penal = level_penalty(c, 0, levels);
    if ((neural && app_chain_create(&ch1, c, err, sizeof err)) ||
        app_chain_create(&ch2, pc, err, sizeof err)) {
        fprintf(stderr, "topopt: %s\n", err);
        goto done;
    }
    int n1 = neural ? app_chain_num_params(ch1) : 1, n2 = app_chain_num_params(ch2);
    theta = malloc(sizeof(double) * (size_t)n1);
    theta_trial = malloc(sizeof(double) * (size_t)n1);
    x = malloc(sizeof(double) * (size_t)n2);
    static const char *const extra_names[2] = {"phase", "stationarity"};
    int cap = c->solver.maxit + 4 * (levels + 1);
    if (cap > 100000) cap = 100000;
    if (!theta || !theta_trial || !x ||
        app_history_init(&s.hist, 0, NULL, 2, extra_names, cap) != APP_IO_OK) {
        fprintf(stderr, "topopt: out of memory\n");
        goto done;
    }
    if (app_chain_init_params(neural ? ch1 : ch2, neural ? theta : x)) {
        fprintf(stderr, "topopt: parameter initialization failed\n");
        goto done;
    }
    long budget = c->solver.max_evals;
    long n_neural = 0;
    if (neural) {
        n_neural = (long)floor(c->strategy_neural_fraction * (double)budget);
        if (n_neural < 3) n_neural = 3;
        if (n_neural > budget - 2 * levels) n_neural = budget - 2 * levels;
    }
    long n_below = (long)floor(c->strategy_continuation_fraction * (double)(budget - n_neural) /
                               (double)(levels > 1 ? levels - 1 : 1));
    if (n_below < 2) n_below = 2;
    if (!o->quiet) {
        fprintf(log, "%s: %dx%d grid, volfrac %.3g, %s: ", c->name, c->width, c->height, c->volfrac,
                kind);
        if (neural)
            fprintf(log, "%s parameterization (%d variables) with %s for %ld evaluations, then ",
                    app_name_str(&app_param_kind_names, c->param_kind), n1,
                    ncvx_method_str(c->solver.method), n_neural);
        fprintf(log, "pixel %s", ncvx_method_str(pc->solver.method));
        if (levels > 1)
            fprintf(log, " at p = %g .. %g in %d levels (%ld evaluations each below %g)",
                    level_penalty(c, 0, levels), c->penal, levels, n_below, c->penal);
        fprintf(log, " for the rest of %ld -> %s\n", budget, o->no_outputs ? "(no outputs)" : dir);
        fflush(log);
    }
    if (!o->no_outputs && app_io_mkdirs(dir, err, sizeof err) != APP_IO_OK) {
        fprintf(stderr, "topopt: %s\n", err);
        goto done;
    }
    double t0 = app_now();
    ncvx_info i1, i2;
    memset(&i1, 0, sizeof i1);
    memset(&i2, 0, sizeof i2);
    ncvx_info *last = &i1;
    app_chain_fields fl;
    long used = 0;                  /* FE solves of finished phases */
    int iters = 0, iters_total = 0; /* history offset; the phases' iterations */

    if (neural) {
        /* phase 1: the neural (or given) parameterization, in strategy.neural_restarts trials
         * from different initializations that share its evaluations (the normalization solves
         * count); the best trial's point goes on */
        s.phase = 1;
        int trials = c->strategy_neural_restarts;
        double best_f = INFINITY, best_v = INFINITY;
        for (int k = 0; k < trials && !s.halted; k++) {
            app_chain *chk = ch1;
            double *th = theta;
            if (k > 0) { /* a fresh network and initialization (trial 0 is the run's own seed) */
                app_config tc;
                if (app_config_copy(&tc, c)) {
                    fprintf(stderr, "topopt: out of memory\n");
                    goto done;
                }
                tc.seed = trial_seed(c->seed, k);
                chk = NULL;
                int bad = app_chain_create(&chk, &tc, err, sizeof err);
                app_config_free(&tc);
                if (bad) {
                    fprintf(stderr, "topopt: %s\n", err);
                    goto done;
                }
                th = theta_trial;
                if (app_chain_init_params(chk, th)) {
                    fprintf(stderr, "topopt: parameter initialization failed\n");
                    app_chain_destroy(chk);
                    goto done;
                }
            }
            if (c->normalize_objective) {
                double f0;
                if (app_chain_eval(th, &f0, NULL, NULL, NULL, NULL, NULL, chk)) {
                    fprintf(stderr, "topopt: the starting design cannot be evaluated\n");
                    if (chk != ch1) app_chain_destroy(chk);
                    goto done;
                }
                app_chain_set_scale(chk, f0);
            }
            s.evals_base =
                used + app_chain_fem_solves(ch1) + (k > 0 ? app_chain_fem_solves(chk) : 0);
            s.iter_base = iters;
            s.t_base = app_now() - t0;
            /* trial k ends at its share of the neural evaluations; one solve of the last share
             * is kept for the hand-over below */
            long end = k == trials - 1 ? n_neural - 1 : n_neural * (k + 1) / trials;
            ncvx_info ik;
            if (run_phase(&s, chk, c, end - s.evals_base, th, &ik)) {
                if (chk != ch1) app_chain_destroy(chk);
                goto done;
            }
            iters += ik.iters + 1;
            iters_total += ik.iters;
            double f = ik.f * app_chain_scale(chk), v = ik.viol_ineq + ik.viol_eq;
            if (!isfinite(v)) v = INFINITY;
            if (!o->quiet && trials > 1)
                fprintf(log, "neural trial %d of %d (seed %lu): compliance %.6g  violation %.2e\n",
                        k + 1, trials, k ? trial_seed(c->seed, k) : c->seed, f, v);
            /* the better trial: the less infeasible one beyond 1e-9, then the lower compliance */
            int better = k == 0 || (v > 1e-9 || best_v > 1e-9 ? v < best_v : f < best_f);
            if (k < 16) si.trial_compliance[k] = f;
            si.trials = k + 1;
            if (better) si.best_trial = k;
            if (k > 0) used += app_chain_fem_solves(chk);
            if (better) {
                best_f = f;
                best_v = v;
                i1 = ik;
                if (k > 0) { /* the trial's chain and point replace the kept ones */
                    used += app_chain_fem_solves(ch1) - app_chain_fem_solves(chk);
                    app_chain *tmp = ch1;
                    ch1 = chk;
                    chk = tmp;
                    double *tt = theta;
                    theta = theta_trial;
                    theta_trial = tt;
                }
            }
            if (k > 0) app_chain_destroy(chk);
        }

        /* hand-over: the raw density of phase 1's best point starts the pixels; this solve also
         * gives the neural design's compliance, and counts */
        if (app_chain_fields_at(ch1, theta, &fl)) {
            fprintf(stderr, "topopt: evaluation of the neural design failed\n");
            goto done;
        }
        si.neural_compliance = fl.compliance;
        si.neural_volume = fl.volume;
        si.neural_evals = used = used + app_chain_fem_solves(ch1);
        if (app_chain_pixels_from_density(ch2, fl.rho_raw, x)) {
            fprintf(stderr, "topopt: the polish phase is not a pixel chain\n");
            goto done;
        }
        if (!o->quiet)
            fprintf(log, "neural phase: compliance %.6g  volume %.4f  %ld evaluations; polishing\n",
                    si.neural_compliance, si.neural_volume, si.neural_evals);
    }

    /* pixel levels with what is left of the budget; each sees f = compliance / its value at the
     * level's start: O(1), so that MMA's weight of the artificial variables (mma_c = 1000)
     * exceeds the volume multiplier (about c / volfrac unscaled) and the polish is driven back
     * to volfrac when the neural design exceeds it (measured: unscaled, MMA settled 0.8 % above
     * volfrac on bridge_deck) */
    for (int l = 0; l < levels && !s.halted; l++) {
        if (l > 0) {
            used += app_chain_fem_solves(ch2);
            app_chain_destroy(ch2);
            ch2 = NULL;
            pc->penal = level_penalty(c, l, levels);
            if (app_chain_create(&ch2, pc, err, sizeof err)) {
                fprintf(stderr, "topopt: %s\n", err);
                goto done;
            }
        }
        long end = l == levels - 1 ? budget : used + n_below;
        if (end - used < 2) break;
        double scale = si.neural_compliance;
        if (!neural || levels > 1) { /* the level's starting compliance: one counted solve */
            app_chain_set_scale(ch2, 1);
            if (app_chain_eval(x, &scale, NULL, NULL, NULL, NULL, NULL, ch2) || !(scale > 0)) {
                fprintf(stderr, "topopt: the design at the start of level %d cannot be evaluated\n",
                        l + 1);
                goto done;
            }
        }
        app_chain_set_scale(ch2, scale);
        s.phase = 2 + l;
        s.evals_base = used;
        s.iter_base = iters;
        s.t_base = app_now() - t0;
        if (run_phase(&s, ch2, pc, end - used - app_chain_fem_solves(ch2), x, &i2)) goto done;
        iters += i2.iters + 1;
        iters_total += i2.iters;
        last = &i2;
        if (!o->quiet && levels > 1)
            fprintf(log, "level %d (p = %g): compliance %.6g after %ld evaluations\n", l + 1,
                    pc->penal, i2.f * scale, used + app_chain_fem_solves(ch2));
    }
    si.polish_evals = used + app_chain_fem_solves(ch2) - si.neural_evals;
    si.fem_solves = si.neural_evals + si.polish_evals;
    double elapsed = app_now() - t0;
    if (pc->penal != c->penal) { /* cut short below material.p: report at material.p */
        app_chain_destroy(ch2);
        ch2 = NULL;
        pc->penal = c->penal;
        if (app_chain_create(&ch2, pc, err, sizeof err)) {
            fprintf(stderr, "topopt: %s\n", err);
            goto done;
        }
    }

    /* the reported design: the last level's pixels (the polish starts from the neural design and
     * keeps its best feasible point, so without continuation it is never worse than a feasible
     * neural design) */
    if (app_chain_fields_at(ch2, x, &fl)) {
        fprintf(stderr, "topopt: evaluation of the final design failed\n");
        goto done;
    }
    double viol = last->viol_ineq + last->viol_eq;
    if (!isfinite(viol)) viol = 0;
    const char *status = s.halted ? "interrupted" : "budget";
    if (!s.halted && last->term != NCVX_TERM_MAXEVAL && last->term != NCVX_TERM_MAXIT &&
        last->term != NCVX_TERM_CLOCK)
        status = "converged";
    if (!o->no_outputs && write_outputs(&s, ch2, x, dir, &fl, last->term, status)) goto done;
    fprintf(log,
            "%s: compliance %.6g  volume %.4f  violation %.2e  evaluations %ld  iterations %d  "
            "time %.2f s  (%s: %s",
            c->name, fl.compliance, fl.volume, viol, si.fem_solves, iters_total, elapsed, kind,
            status);
    if (neural)
        fprintf(log, "; neural %.6g after %ld evaluations", si.neural_compliance, si.neural_evals);
    fprintf(log, ")%s%s\n", o->no_outputs ? "" : "  -> ", o->no_outputs ? "" : dir);
    if (s.halted) fprintf(log, "interrupted: the %s strategy cannot resume; run it again\n", kind);
    if (res) {
        res->compliance = fl.compliance;
        res->volume = fl.volume;
        res->violation = viol;
        res->evals = si.fem_solves;
        res->iters = iters_total;
        res->time = elapsed;
        res->term = last->term;
        res->interrupted = s.halted;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : dir);
    }
    if (info) *info = si;
    rc = s.halted ? APP_EXIT_FAILED : APP_EXIT_OK;
done:
    app_chain_destroy(ch1);
    app_chain_destroy(ch2);
    app_history_free(&s.hist);
    app_config_free(pc);
    free(theta);
    free(theta_trial);
    free(x);
    return rc;
}

int app_strategy_run(const app_config *c, const app_run_opts *o, app_run_result *res)
{
    return app_strategy_run_info(c, o, res, NULL);
}
