// app/strategy.c: neural phase then pixel polish under one FE-evaluation budget, with
// checkpoints and --resume
#include "strategy.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "export.h"
#include "ncvx.h"

/* Counters of a strategy checkpoint (app_checkpoint.counters), in this order. */
enum {
    SK_TAG = 0,     /* APP_CK_STRATEGY_TAG */
    SK_PHASE,       /* 1 neural, 2 + l pixel level l */
    SK_TRIAL,       /* neural trial (phase 1; == neural_restarts: the hand-over is next) */
    SK_RUNNING,     /* 1: the phase's solver state is stored; 0: the phase starts afresh */
    SK_TOTAL,       /* FE solves counted so far */
    SK_PHASE_START, /* FE solves counted when the phase began (before its scale solve) */
    SK_EVALS_BASE,  /* FE solves counted when its solver began */
    SK_ITERS,       /* history iteration of the phase's first row */
    SK_ITERS_TOTAL, /* solver iterations of the finished phases */
    SK_ROWS,        /* history rows */
    SK_N_KEPT,      /* length of the kept trial's parameters (checkpoint/extra) */
    SK_BEST_TRIAL,  /* the kept trial */
    SK_TRIALS_DONE, /* trials finished */
    SK_NEURAL_EVALS,
    SK_COUNT
};
/* Words: bit patterns of doubles (and the seed), in this order. */
enum {
    SW_SEED = 0,
    SW_SCALE,  /* objective scale of the running phase */
    SW_TIME,   /* seconds spent */
    SW_BEST_F, /* the kept trial's compliance and violation */
    SW_BEST_V,
    SW_NEURAL_C, /* the neural design's compliance and volume (phases >= 2) */
    SW_NEURAL_V,
    SW_TRIAL_C, /* 16 words: app_strategy_info.trial_compliance */
    SW_COUNT = SW_TRIAL_C + 16
};

/* The run: what the solver callbacks of a phase, the checkpoints and the phases share. */
typedef struct {
    const app_config *c;
    const app_run_opts *o;
    FILE *log;
    app_chain *ch;    /* chain of the running phase: its FE solves count */
    long ch_base;     /* its solves that do not count (before it ran, output evaluations) */
    long counted;     /* FE solves counted on other chains */
    ncvx_solver *sv;  /* solver of the running (or last) phase */
    int phase;        /* 1 neural, 2 + l pixel level l */
    int trial;        /* neural trial of phase 1 */
    long phase_start; /* FE solves counted when the phase began */
    long evals_base;  /* FE solves counted when its solver began (history offsets) */
    int iters;        /* history iteration of the running phase's first row */
    int iters_total;  /* solver iterations of the finished phases */
    double t0;        /* start on app_now's clock (moved back by the time of a resumed run) */
    double ck_last;   /* app_now() at the start or the end of the last periodic checkpoint */
    double ck_cost;   /* seconds the last one took to write */
    double t_base;    /* seconds before this phase */
    double scale;     /* objective scale of the running phase */
    app_history hist; /* every phase */
    int halted;       /* SIGINT/SIGTERM, or o->halt_after */
    int failed;
    /* what a checkpoint keeps besides the running phase */
    const double *kept; /* [n_kept] the kept trial's parameters (phase 1, trial > 0) */
    int n_kept;
    double best_f, best_v;
    app_strategy_info si;
    /* the output set */
    char dir[1024];
    char method[64]; /* neural-polish-mma, continuation-oc, ... */
    char *identity;  /* app_run_identity */
    uint64_t identity_hash;
    double *state; /* solver state of the last checkpoint */
    size_t state_cap;
    double ck_compliance, ck_volume, ck_grey; /* the design of the last checkpoint */
    long ck_total;
    int ck_iters;
} strat_ctx;

/* FE solves counted so far: every solve of the chains that ran, output evaluations excluded. */
static long strat_total(const strat_ctx *s)
{
    return s->counted + (s->ch ? app_chain_fem_solves(s->ch) - s->ch_base : 0);
}

/* From now on the solves of ch count (NULL: none; before a chain is destroyed). */
static void strat_use(strat_ctx *s, app_chain *ch)
{
    s->counted = strat_total(s);
    s->ch = ch;
    s->ch_base = ch ? app_chain_fem_solves(ch) : 0;
}

/* The fields of ch at p for the outputs: this solve does not count. */
static int strat_fields(strat_ctx *s, app_chain *ch, const double *p, app_chain_fields *fl)
{
    long before = app_chain_fem_solves(ch);
    int rc = app_chain_fields_at(ch, p, fl);
    if (ch == s->ch) s->ch_base += app_chain_fem_solves(ch) - before;
    return rc;
}

static int strat_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                      double *c_eq, double *jac_eq, void *user)
{
    return app_chain_eval(x, f, grad_f, c_ineq, jac_ineq, c_eq, jac_eq, ((strat_ctx *)user)->ch);
}

static int strat_project(double *x, int n, void *user)
{
    return app_chain_project(x, n, ((strat_ctx *)user)->ch);
}

/* result.h5, design.png and history.csv of the design p (fields fl; theta = p[n], the
 * parameterization's), written as one set like a single run's (app_outputs_publish), with the
 * config's identity and checkpoint ck (NULL = none). Returns 0 or 1 (message printed). */
static int write_outputs(strat_ctx *s, const double *p, int n, const char *param,
                         const app_chain_fields *fl, int term, const char *status,
                         const app_checkpoint *ck)
{
    char err[1024];
    app_result res;
    memset(&res, 0, sizeof res);
    res.n_params = (size_t)n;
    res.theta = (double *)p;
    res.config_keys = s->identity;
    res.config_hash = s->identity_hash;
    res.status_code = term;
    res.status = (char *)status;
    res.method = s->method;
    res.parameterization = (char *)param;
    if (ck) res.checkpoint = *ck;
    int rc = app_outputs_publish(s->dir, s->c, fl, &s->hist, &res, err, sizeof err);
    if (rc) fprintf(stderr, "topopt: %s\n", err);
    return rc;
}

/* Write the output set of design p of chain ch with the checkpoint of the run's state: the
 * phase, trial and counters, the kept trial, the solver state (running: exported from s->sv,
 * at the iterate the monitor sees) and the history. With o->no_outputs only the design's
 * compliance is taken (for the summary). Returns 0 or 1 (message printed). */
static int strat_checkpoint(strat_ctx *s, app_chain *ch, const double *p, int running, int term,
                            const char *status)
{
    size_t size = running ? ncvx_state_size(s->sv) : 0;
    if (running && !s->o->no_outputs && size > s->state_cap) {
        /* sized once per phase at its first checkpoint, not per iteration */
        double *st = realloc(s->state, sizeof(double) * size);
        if (!st) {
            fprintf(stderr, "topopt: out of memory (solver state)\n");
            return 1;
        }
        s->state = st;
        s->state_cap = size;
    }
    if (running && !s->o->no_outputs && ncvx_state_export(s->sv, s->state, size) != NCVX_OK) {
        fprintf(stderr, "topopt: cannot export the solver state\n");
        return 1;
    }
    s->ck_total = strat_total(s);
    app_chain_fields fl;
    if (strat_fields(s, ch, p, &fl)) {
        fprintf(stderr, "topopt: evaluation of the checkpoint's design failed\n");
        return 1;
    }
    s->ck_compliance = fl.compliance;
    s->ck_volume = fl.volume;
    s->ck_grey = fl.grey;
    if (s->o->no_outputs) return 0;
    const app_config *c = s->c;
    int64_t counters[SK_COUNT];
    uint64_t words[SW_COUNT];
    counters[SK_TAG] = APP_CK_STRATEGY_TAG;
    counters[SK_PHASE] = s->phase;
    counters[SK_TRIAL] = s->trial;
    counters[SK_RUNNING] = running;
    counters[SK_TOTAL] = s->ck_total;
    counters[SK_PHASE_START] = s->phase_start;
    counters[SK_EVALS_BASE] = s->evals_base;
    counters[SK_ITERS] = s->iters;
    counters[SK_ITERS_TOTAL] = s->iters_total;
    counters[SK_ROWS] = s->hist.n_rows;
    counters[SK_N_KEPT] = s->kept ? s->n_kept : 0;
    counters[SK_BEST_TRIAL] = s->si.best_trial;
    counters[SK_TRIALS_DONE] = s->si.trials;
    counters[SK_NEURAL_EVALS] = s->si.neural_evals;
    words[SW_SEED] = (uint64_t)c->seed;
    words[SW_SCALE] = app_run_dbits(s->scale);
    words[SW_TIME] = app_run_dbits(app_now() - s->t0);
    words[SW_BEST_F] = app_run_dbits(s->best_f);
    words[SW_BEST_V] = app_run_dbits(s->best_v);
    words[SW_NEURAL_C] = app_run_dbits(s->si.neural_compliance);
    words[SW_NEURAL_V] = app_run_dbits(s->si.neural_volume);
    for (int i = 0; i < 16; i++)
        words[SW_TRIAL_C + i] = app_run_dbits(s->si.trial_compliance[i]);
    app_checkpoint ck = {.present = 1,
                         .n_counters = SK_COUNT,
                         .counters = counters,
                         .n_words = SW_COUNT,
                         .words = words,
                         .n_solver_state = size,
                         .solver_state = running ? s->state : NULL,
                         .n_extra = s->kept ? (size_t)s->n_kept : 0,
                         .extra = (double *)s->kept};
    const char *param =
        s->phase == 1 ? app_name_str(&app_param_kind_names, c->param_kind) : "pixel";
    return write_outputs(s, p, app_chain_num_params(ch), param, &fl, term, status, &ck);
}

/* One history row per iteration: the compliance (unnormalized, so both phases share units),
 * the evaluations counted over both phases, and the phase. A checkpoint every
 * outputs.checkpoint_every iterations (of all phases), and on a stop request. */
static int strat_monitor(const ncvx_iterate *it, void *user)
{
    strat_ctx *s = user;
    double extra[2] = {(double)s->phase, it->stat};
    if (app_history_append(&s->hist, s->iters + it->iter, s->evals_base + it->evals,
                           it->f * app_chain_scale(s->ch), NULL, it->viol_ineq + it->viol_eq,
                           it->step, s->t_base + it->time, extra) != APP_IO_OK) {
        fprintf(stderr, "topopt: out of memory recording the history\n");
        s->failed = 1;
        return 1;
    }
    if (it->iter == 0) return 0;
    long iter = s->iters + it->iter;
    int halt = app_run_halt_due(s->o, iter);
    if (halt || (app_run_checkpoint_due(s->c, iter, s->ck_last, s->ck_cost) && !s->o->no_outputs)) {
        double t = app_now();
        if (strat_checkpoint(s, s->ch, it->x, 1, halt ? (int)NCVX_TERM_USER_HALT : -1,
                             halt ? "interrupted" : "running")) {
            s->failed = 1;
            return 1;
        }
        s->ck_last = app_now();
        s->ck_cost = s->ck_last - t;
        s->ck_iters = s->iters_total + it->iter;
    }
    if (halt) s->halted = 1;
    return halt;
}

/* A stop request at the start of a trial or level (before its first iteration): the
 * checkpoint of that start, design p of ch. Returns 1 if the run stops here (s->halted, or
 * s->failed when the checkpoint could not be written). */
static int strat_stop_at_start(strat_ctx *s, app_chain *ch, const double *p)
{
    if (!app_run_halt_due(s->o, s->iters)) return 0;
    s->phase_start = s->evals_base = strat_total(s); /* set again on resume */
    if (strat_checkpoint(s, ch, p, 0, NCVX_TERM_USER_HALT, "interrupted"))
        s->failed = 1;
    else
        s->halted = 1;
    s->ck_iters = s->iters_total;
    return 1;
}

/* Run one phase of config pc on chain ch from x (in: start, out: best point) with at most
 * max_evals FE solves and what is left of the run's time; with ck, continue the solver state
 * it holds (--resume). Returns 0, 1 (failed) or 2 (the state does not fit; message printed). */
static int run_phase(strat_ctx *s, app_chain *ch, const app_config *pc, long max_evals, double *x,
                     const app_checkpoint *ck, ncvx_info *info)
{
    ncvx_destroy(s->sv);
    s->sv = NULL;
    strat_use(s, ch);
    s->scale = app_chain_scale(ch);
    ncvx_settings st;
    app_run_solver_settings(pc, s->o, &st);
    double max_time = s->c->solver.maxclocktime;
    st.max_evals = max_evals > 0 ? max_evals : 1; /* 0 would mean no limit */
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
    ncvx_status rc = ncvx_create(&s->sv, &p, &st);
    if (rc == NCVX_OK && ck) {
        if (ck->n_solver_state != ncvx_state_size(s->sv) ||
            ncvx_state_import(s->sv, ck->solver_state, ck->n_solver_state) != NCVX_OK) {
            fprintf(stderr, "topopt: --resume: the solver state does not match this config\n");
            return 2;
        }
    }
    if (rc == NCVX_OK) rc = ncvx_solve(s->sv, x, info);
    if (rc != NCVX_OK) {
        fprintf(stderr, "topopt: strategy phase %d: solver failed: %s\n", s->phase,
                ncvx_status_str(rc));
        return 1;
    }
    return s->failed;
}

/* The config of the polish phase: pixels of the same problem, filter, projection and
 * constraints, the volume explicit, the polish method with the schema's default settings
 * (as the suite's pixel-mma and pixel-oc runs) under the run's budget and printing. */
int app_strategy_better(double f, double v, double bf, double bv)
{
    if (isnan(v)) v = INFINITY;
    if (isnan(bv)) bv = INFINITY;
    int fe = v <= APP_STRATEGY_FEASIBLE, bfe = bv <= APP_STRATEGY_FEASIBLE;
    if (fe && bfe) return f < bf;
    if (fe != bfe) return fe;
    return v < bv;
}

int app_strategy_polish_config(const app_config *c, app_config *p)
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

/* The seed of neural trial k of a run with seed `seed`: the run's own for k = 0, else splitmix64
 * of both (distinct runs' trials do not share initializations). */
static unsigned long trial_seed(unsigned long seed, int k)
{
    if (k == 0) return seed;
    uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ull * (uint64_t)k;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (unsigned long)((z ^ (z >> 31)) & 0x7fffffffu);
}

/* Does the pixel phase continue the SIMP exponent (from strategy.p_start up to material.p) or the
 * filter radius (from strategy.r_start down to filter.radius)? */
static int p_continuation(const app_config *c)
{
    return c->strategy_p_start > 0 && c->strategy_p_start < c->penal;
}

static int r_continuation(const app_config *c)
{
    return c->strategy_r_start > c->filter_radius;
}

/* The value at pixel level l of L of a setting continued from start to end (evenly spaced; the
 * last level, or no continuation: end). */
static double level_value(double start, double end, int continued, int l, int L)
{
    if (!continued || L == 1 || l == L - 1) return end;
    return start + (end - start) * (double)l / (double)(L - 1);
}

static double level_penalty(const app_config *c, int l, int L)
{
    return level_value(c->strategy_p_start, c->penal, p_continuation(c), l, L);
}

static double level_radius(const app_config *c, int l, int L)
{
    return level_value(c->strategy_r_start, c->filter_radius, r_continuation(c), l, L);
}

/* pc at level l of L: its exponent and filter radius */
static void level_settings(app_config *pc, const app_config *c, int l, int L)
{
    pc->penal = level_penalty(c, l, L);
    pc->filter_radius = level_radius(c, l, L);
}

/* --resume: the strategy part of the checks of checkpoint k (read from path by
 * app_run_checkpoint_open), before any chain is built. 0, or 1 with the message printed. */
static int resume_check(const app_config *c, const app_result *prev, const char *path, int levels,
                        long budget)
{
    const app_checkpoint *k = &prev->checkpoint;
    const app_history *h = &prev->history;
    int neural = c->strategy == APP_STRATEGY_NEURAL_POLISH;
    int trials = neural ? c->strategy_neural_restarts : 0;
    const char *bad = NULL;
    char msg[256];
    if (k->n_counters != SK_COUNT || k->n_words != SW_COUNT) {
        bad = "checkpoint/counters or words: wrong length";
    } else {
        const int64_t *n = k->counters;
        int64_t ph = n[SK_PHASE];
        if (k->words[SW_SEED] != (uint64_t)c->seed)
            bad = "checkpoint/words: seed differs from this config's";
        else if (ph < (neural ? 1 : 2) || ph > 1 + levels || n[SK_RUNNING] < 0 ||
                 n[SK_RUNNING] > 1 || n[SK_TRIAL] < 0 || n[SK_TRIAL] > trials ||
                 (ph == 1 && n[SK_RUNNING] && n[SK_TRIAL] == trials))
            bad = "checkpoint/counters: phase, trial or level out of range for this strategy";
        else if (n[SK_PHASE_START] < 0 || n[SK_EVALS_BASE] < n[SK_PHASE_START] ||
                 n[SK_TOTAL] < n[SK_EVALS_BASE] || n[SK_NEURAL_EVALS] < 0 ||
                 n[SK_NEURAL_EVALS] > n[SK_TOTAL] || n[SK_ITERS] < 0 || n[SK_ITERS_TOTAL] < 0 ||
                 n[SK_ITERS] > INT32_MAX / 2 || n[SK_ITERS_TOTAL] > INT32_MAX / 2 ||
                 n[SK_ROWS] < 0 || n[SK_ROWS] > h->n_rows || n[SK_BEST_TRIAL] < 0 ||
                 (trials && n[SK_BEST_TRIAL] >= trials) || n[SK_TRIALS_DONE] < 0 ||
                 n[SK_TRIALS_DONE] > trials)
            bad = "checkpoint/counters: evaluation, iteration or row count out of range";
        else if (n[SK_ROWS] > 0 && (h->n_constraints != 0 || h->n_extra != 2))
            bad = "history: columns differ from a strategy run's";
        else if (n[SK_RUNNING] && !k->n_solver_state)
            bad = "checkpoint/solver_state missing";
        else if (!prev->theta)
            bad = "params/theta missing";
        else if (n[SK_TOTAL] > budget) {
            snprintf(msg, sizeof msg,
                     "the checkpoint has used %lld FE solves, more than budget.evaluations %ld",
                     (long long)n[SK_TOTAL], budget);
            bad = msg;
        }
    }
    if (bad) {
        fprintf(stderr, "topopt: --resume: %s: %s\n", path, bad);
        return 1;
    }
    return 0;
}

int app_strategy_run_info(const app_config *c, const app_run_opts *o, app_run_result *res,
                          app_strategy_info *info)
{
    strat_ctx s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.o = o;
    FILE *log = o->log ? o->log : stdout;
    s.log = log;
    int rc = APP_EXIT_FAILED;
    app_chain *ch1 = NULL, *ch2 = NULL, *chk = NULL;
    app_config polish, *pc = NULL;
    double *theta = NULL, *theta_trial = NULL, *x = NULL;
    char err[1024], path[1200];
    app_result prev;
    memset(&prev, 0, sizeof prev);
    const app_checkpoint *ck = NULL; /* the checkpoint of --resume */
    const char *kind = app_name_str(&app_strategy_kind_names, c->strategy);
    int neural = c->strategy == APP_STRATEGY_NEURAL_POLISH;
    s.best_f = s.best_v = INFINITY;

    if (c->strategy_pixel_share > 0) return app_strategy_branches_run(c, o, res, info);
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
    if (c->strategy_r_start > 0 && c->strategy_r_start < c->filter_radius) {
        fprintf(stderr,
                "topopt: strategy.r_start %g is below filter.radius %g: the continuation lowers "
                "the radius to filter.radius (allowed: r_start >= filter.radius, or 0 for none)\n",
                c->strategy_r_start, c->filter_radius);
        return APP_EXIT_USAGE;
    }
    int levels = p_continuation(c) || r_continuation(c) ? c->strategy_p_levels : 1;
    if (c->solver.max_evals < 5 + 2 * levels) {
        fprintf(stderr,
                "topopt: strategy.kind %s needs budget.evaluations >= %d (it splits the "
                "evaluations between its %d phases)\n",
                kind, 5 + 2 * levels, levels + neural);
        return APP_EXIT_USAGE;
    }
    if (c->frames_every > 0)
        fprintf(stderr,
                "topopt: warning: strategy.kind %s writes no frames (outputs.frames_every "
                "ignored)\n",
                kind);
    app_run_dir(c, o, s.dir, sizeof s.dir);
    snprintf(s.method, sizeof s.method, "%s-%s", kind,
             app_name_str(&app_polish_method_names, c->strategy_polish));
    if (app_run_identity(c, &s.identity, &s.identity_hash)) goto done;
    long budget = c->solver.max_evals;
    if (o->resume_dir) { /* the checkpoint is checked before anything is built or solved */
        rc = app_run_checkpoint_open(o->resume_dir, c, s.identity, s.identity_hash, APP_CK_STRATEGY,
                                     &prev, path, sizeof path);
        if (rc == APP_EXIT_OK && resume_check(c, &prev, path, levels, budget)) rc = APP_EXIT_USAGE;
        if (rc != APP_EXIT_OK) goto done;
        rc = APP_EXIT_FAILED;
        ck = &prev.checkpoint;
    }

    if (app_strategy_polish_config(c, &polish)) {
        fprintf(stderr, "topopt: out of memory\n");
        goto done;
    }
    pc = &polish;
    level_settings(pc, c, 0, levels);
    if ((neural && app_chain_create(&ch1, c, err, sizeof err)) ||
        app_chain_create(&ch2, pc, err, sizeof err)) {
        fprintf(stderr, "topopt: %s\n", err);
        goto done;
    }
    int ch2_level = 0; /* the level whose exponent ch2 has */
    strat_ctx fin;     /* s at the start of the last level that ran */
    memset(&fin, 0, sizeof fin);
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

    /* where the run starts: the beginning, or the checkpoint's phase (a solver state to
     * continue, or the start of a trial or level) */
    int k0 = 0, l0 = 0, resume_running = 0;
    if (ck) {
        const int64_t *n = ck->counters;
        int ph = (int)n[SK_PHASE];
        int kept = ph == 1 && n[SK_TRIAL] > 0;
        if (prev.n_params != (size_t)(ph == 1 ? n1 : n2) ||
            ck->n_extra != (size_t)(kept ? n1 : 0) || n[SK_N_KEPT] != (kept ? n1 : 0)) {
            fprintf(stderr,
                    "topopt: --resume: %s: params/theta or checkpoint/extra: parameter count "
                    "differs from this config's\n",
                    path);
            rc = APP_EXIT_USAGE;
            goto done;
        }
        s.phase = ph;
        s.trial = (int)n[SK_TRIAL];
        s.counted = n[SK_TOTAL];
        s.phase_start = n[SK_PHASE_START];
        s.evals_base = n[SK_EVALS_BASE];
        s.iters = (int)n[SK_ITERS];
        s.iters_total = (int)n[SK_ITERS_TOTAL];
        s.si.best_trial = (int)n[SK_BEST_TRIAL];
        s.si.trials = (int)n[SK_TRIALS_DONE];
        s.si.neural_evals = n[SK_NEURAL_EVALS];
        s.scale = app_run_bitsd(ck->words[SW_SCALE]);
        s.best_f = app_run_bitsd(ck->words[SW_BEST_F]);
        s.best_v = app_run_bitsd(ck->words[SW_BEST_V]);
        s.si.neural_compliance = app_run_bitsd(ck->words[SW_NEURAL_C]);
        s.si.neural_volume = app_run_bitsd(ck->words[SW_NEURAL_V]);
        for (int i = 0; i < 16; i++)
            s.si.trial_compliance[i] = app_run_bitsd(ck->words[SW_TRIAL_C + i]);
        if (app_run_history_restore(&s.hist, &prev.history, (int)n[SK_ROWS])) {
            fprintf(stderr, "topopt: out of memory\n");
            goto done;
        }
        if (kept) memcpy(theta, ck->extra, sizeof(double) * (size_t)n1);
        resume_running = (int)n[SK_RUNNING];
        if (ph == 1) {
            k0 = s.trial;
            if (resume_running) /* ignored by the solver, which continues its state */
                memcpy(k0 ? theta_trial : theta, prev.theta, sizeof(double) * (size_t)n1);
        } else {
            k0 = c->strategy_neural_restarts; /* the neural phase is over */
            l0 = ph - 2;
            memcpy(x, prev.theta, sizeof(double) * (size_t)n2);
        }
        s.t0 = app_now() - app_run_bitsd(ck->words[SW_TIME]);
    } else {
        if (app_chain_init_params(neural ? ch1 : ch2, neural ? theta : x)) {
            fprintf(stderr, "topopt: parameter initialization failed\n");
            goto done;
        }
    }
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
            fprintf(log,
                    " at p = %g .. %g, filter radius %g .. %g in %d levels (%ld evaluations "
                    "each before the last)",
                    level_penalty(c, 0, levels), c->penal, level_radius(c, 0, levels),
                    c->filter_radius, levels, n_below);
        fprintf(log, " for the rest of %ld -> %s\n", budget,
                o->no_outputs ? "(no outputs)" : s.dir);
        if (ck)
            fprintf(log, "resuming %s at phase %d%s %d, iteration %d (%ld evaluations)\n", s.dir,
                    s.phase, s.phase == 1 ? " trial" : " level",
                    s.phase == 1 ? s.trial + 1 : s.phase - 1, s.iters, s.counted);
        fflush(log);
    }
    if (!o->no_outputs && app_io_mkdirs(s.dir, err, sizeof err) != APP_IO_OK) {
        fprintf(stderr, "topopt: %s\n", err);
        goto done;
    }
    if (!ck) s.t0 = app_now();
    s.ck_last = app_now();
    ncvx_info i1, i2;
    memset(&i1, 0, sizeof i1);
    memset(&i2, 0, sizeof i2);
    ncvx_info *last = &i1;
    app_chain_fields fl;
    app_strategy_info *si = &s.si;
    int pr;

    if (neural && k0 <= c->strategy_neural_restarts && (!ck || s.phase == 1)) {
        /* phase 1: the neural (or given) parameterization, in strategy.neural_restarts trials
         * from different initializations that share its evaluations (the normalization solves
         * count); the best trial's point goes on */
        int trials = c->strategy_neural_restarts;
        for (int k = k0; k < trials; k++) {
            int resumed = ck && resume_running && k == k0;
            s.phase = 1;
            s.trial = k;
            s.kept = k > 0 ? theta : NULL;
            s.n_kept = n1;
            if (k > 0 && !(ck && k == k0) && strat_stop_at_start(&s, ch1, theta)) goto stopped;
            chk = ch1;
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
                if (!resumed && app_chain_init_params(chk, th)) {
                    fprintf(stderr, "topopt: parameter initialization failed\n");
                    goto done;
                }
            }
            strat_use(&s, chk);
            if (resumed) {
                app_chain_set_scale(chk, s.scale);
            } else {
                s.phase_start = strat_total(&s);
                if (c->normalize_objective) {
                    double f0;
                    if (app_chain_eval(th, &f0, NULL, NULL, NULL, NULL, NULL, chk)) {
                        fprintf(stderr, "topopt: the starting design cannot be evaluated\n");
                        goto done;
                    }
                    app_chain_set_scale(chk, f0);
                }
                s.evals_base = strat_total(&s);
            }
            s.t_base = app_now() - s.t0;
            if (k < 16) si->trial_first_iter[k] = s.iters;
            /* trial k ends at its share of the neural evaluations; one solve of the last share
             * is kept for the hand-over below */
            long end = k == trials - 1 ? n_neural - 1 : n_neural * (k + 1) / trials;
            ncvx_info ik;
            pr = run_phase(&s, chk, c, end - s.evals_base, th, resumed ? ck : NULL, &ik);
            if (pr) {
                rc = pr == 2 ? APP_EXIT_USAGE : APP_EXIT_FAILED;
                goto done;
            }
            if (s.halted) goto stopped;
            s.iters += ik.iters + 1;
            s.iters_total += ik.iters;
            double f = ik.f * app_chain_scale(chk), v = ik.viol_ineq + ik.viol_eq;
            if (!isfinite(v)) v = INFINITY;
            if (!o->quiet && trials > 1)
                fprintf(log, "neural trial %d of %d (seed %lu): compliance %.6g  violation %.2e\n",
                        k + 1, trials, trial_seed(c->seed, k), f, v);
            int better = k == 0 || app_strategy_better(f, v, s.best_f, s.best_v);
            if (k < 16) si->trial_compliance[k] = f;
            si->trials = k + 1;
            if (better) {
                si->best_trial = k;
                s.best_f = f;
                s.best_v = v;
                i1 = ik;
                if (k > 0) { /* the trial's chain and point replace the kept ones */
                    app_chain *tmp = ch1;
                    ch1 = chk;
                    chk = tmp;
                    double *tt = theta;
                    theta = theta_trial;
                    theta_trial = tt;
                }
            }
            if (k > 0) {
                if (s.ch == chk) strat_use(&s, NULL);
                app_chain_destroy(chk);
            }
            chk = NULL;
        }

        /* hand-over: the raw density of phase 1's best point starts the pixels; this solve also
         * gives the neural design's compliance, and counts */
        s.trial = trials;
        s.kept = theta;
        if (!(ck && s.phase == 1 && k0 == trials) && strat_stop_at_start(&s, ch1, theta))
            goto stopped;
        strat_use(&s, ch1);
        if (app_chain_fields_at(ch1, theta, &fl)) {
            fprintf(stderr, "topopt: evaluation of the neural design failed\n");
            goto done;
        }
        si->neural_compliance = fl.compliance;
        si->neural_volume = fl.volume;
        si->neural_evals = strat_total(&s);
        if (app_chain_pixels_from_density(ch2, fl.rho_raw, x)) {
            fprintf(stderr, "topopt: the polish phase is not a pixel chain\n");
            goto done;
        }
        if (!o->quiet)
            fprintf(log, "neural phase: compliance %.6g  volume %.4f  %ld evaluations; polishing\n",
                    si->neural_compliance, si->neural_volume, si->neural_evals);
    }
    s.kept = NULL;
    s.trial = 0;

    /* pixel levels with what is left of the budget; each sees f = compliance / its value at the
     * level's start: O(1), so that MMA's weight of the artificial variables (mma_c = 1000)
     * exceeds the volume multiplier (about c / volfrac unscaled) and the polish is driven back
     * to volfrac when the neural design exceeds it (measured: unscaled, MMA settled 0.8 % above
     * volfrac on bridge_deck) */
    for (int l = l0; l < levels; l++) {
        int resumed = ck && resume_running && s.phase == 2 + l && l == l0;
        int entry = ck && s.phase == 2 + l && l == l0; /* the checkpoint's own start */
        if (ch2_level != l) {
            if (s.ch == ch2) strat_use(&s, NULL);
            app_chain_destroy(ch2);
            ch2 = NULL;
            level_settings(pc, c, l, levels);
            if (app_chain_create(&ch2, pc, err, sizeof err)) {
                fprintf(stderr, "topopt: %s\n", err);
                goto done;
            }
            ch2_level = l;
        }
        s.phase = 2 + l;
        if (!resumed) s.phase_start = strat_total(&s);
        long end = l == levels - 1 ? budget : s.phase_start + n_below;
        if (!resumed && end - s.phase_start < 2) break;
        if (!entry && strat_stop_at_start(&s, ch2, x)) goto stopped;
        strat_use(&s, ch2);
        if (resumed) {
            app_chain_set_scale(ch2, s.scale);
        } else {
            double scale = si->neural_compliance;
            if (!neural || levels > 1) { /* the level's starting compliance: one counted solve */
                app_chain_set_scale(ch2, 1);
                if (app_chain_eval(x, &scale, NULL, NULL, NULL, NULL, NULL, ch2) || !(scale > 0)) {
                    fprintf(stderr,
                            "topopt: the design at the start of level %d cannot be evaluated\n",
                            l + 1);
                    goto done;
                }
            }
            app_chain_set_scale(ch2, scale);
            s.evals_base = strat_total(&s);
        }
        s.t_base = app_now() - s.t0;
        pr = run_phase(&s, ch2, pc, end - s.evals_base, x, resumed ? ck : NULL, &i2);
        if (pr) {
            rc = pr == 2 ? APP_EXIT_USAGE : APP_EXIT_FAILED;
            goto done;
        }
        if (s.halted) goto stopped;
        fin = s; /* the level's counters, for outputs.keep_state */
        s.iters += i2.iters + 1;
        s.iters_total += i2.iters;
        last = &i2;
        if (!o->quiet && levels > 1)
            fprintf(log, "level %d (p = %g, r = %g): compliance %.6g after %ld evaluations\n",
                    l + 1, pc->penal, pc->filter_radius, i2.f * s.scale, strat_total(&s));
    }
    si->polish_evals = strat_total(&s) - si->neural_evals;
    si->fem_solves = strat_total(&s);
    double elapsed = app_now() - s.t0;
    if (pc->penal != c->penal || pc->filter_radius != c->filter_radius) {
        /* cut short before the last level: report at material.p and filter.radius */
        if (s.ch == ch2) strat_use(&s, NULL);
        app_chain_destroy(ch2);
        ch2 = NULL;
        level_settings(pc, c, levels - 1, levels);
        if (app_chain_create(&ch2, pc, err, sizeof err)) {
            fprintf(stderr, "topopt: %s\n", err);
            goto done;
        }
    }

    /* the reported design: the last level's pixels (the polish starts from the neural design and
     * keeps its best feasible point, so without continuation it is never worse than a feasible
     * neural design) */
    double viol = last->viol_ineq + last->viol_eq;
    if (!isfinite(viol)) viol = 0;
    const char *status = "budget";
    if (last->term != NCVX_TERM_MAXEVAL && last->term != NCVX_TERM_MAXIT &&
        last->term != NCVX_TERM_CLOCK)
        status = "converged";
    if (c->keep_state && !o->no_outputs) {
        /* the last level's final solver state: a later --resume continues the polish (e.g.
         * with a larger budget) */
        s.phase = fin.phase;
        s.phase_start = fin.phase_start;
        s.evals_base = fin.evals_base;
        s.iters = fin.iters;
        s.iters_total = fin.iters_total;
        s.scale = fin.scale;
        if (strat_checkpoint(&s, ch2, x, 1, last->term, status)) goto done;
        fl.compliance = s.ck_compliance;
        fl.volume = s.ck_volume;
        fl.grey = s.ck_grey;
        s.iters_total = fin.iters_total + i2.iters;
    } else {
        if (strat_fields(&s, ch2, x, &fl)) {
            fprintf(stderr, "topopt: evaluation of the final design failed\n");
            goto done;
        }
        if (!o->no_outputs && write_outputs(&s, x, n2, "pixel", &fl, last->term, status, NULL))
            goto done;
    }
    fprintf(log,
            "%s: compliance %.6g  volume %.4f  grey %.1f %%  violation %.2e  evaluations %ld  "
            "iterations %d  time %.2f s  (%s: %s",
            c->name, fl.compliance, fl.volume, 100 * fl.grey, viol, si->fem_solves, s.iters_total,
            elapsed, kind, status);
    if (neural)
        fprintf(log, "; neural %.6g after %ld evaluations", si->neural_compliance,
                si->neural_evals);
    fprintf(log, ")%s%s\n", o->no_outputs ? "" : "  -> ", o->no_outputs ? "" : s.dir);
    if (res) {
        res->compliance = fl.compliance;
        res->volume = fl.volume;
        res->grey = fl.grey;
        res->violation = viol;
        res->evals = si->fem_solves;
        res->iters = s.iters_total;
        res->time = elapsed;
        res->term = last->term;
        res->interrupted = 0;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : s.dir);
    }
    if (info) *info = *si;
    rc = APP_EXIT_OK;
    goto done;

stopped:
    /* SIGINT/SIGTERM (or o->halt_after): the checkpoint just written is the output set */
    if (s.failed) goto done;
    elapsed = app_now() - s.t0;
    fprintf(log,
            "%s: compliance %.6g  volume %.4f  evaluations %ld  iterations %d  time %.2f s  (%s: "
            "interrupted in %s %d)%s%s\n",
            c->name, s.ck_compliance, s.ck_volume, s.ck_total, s.ck_iters, elapsed, kind,
            s.phase == 1 ? "neural trial" : "pixel level", s.phase == 1 ? s.trial + 1 : s.phase - 1,
            o->no_outputs ? "" : "  -> ", o->no_outputs ? "" : s.dir);
    if (!o->no_outputs && !o->no_resume_hint)
        fprintf(log, "interrupted: continue with  topopt run %s --resume %s\n",
                c->path[0] ? c->path : "CONFIG", s.dir);
    if (res) {
        res->compliance = s.ck_compliance;
        res->volume = s.ck_volume;
        res->grey = s.ck_grey;
        res->violation = NAN;
        res->evals = s.ck_total;
        res->iters = s.ck_iters;
        res->time = elapsed;
        res->term = NCVX_TERM_USER_HALT;
        res->interrupted = 1;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : s.dir);
    }
    if (info) *info = *si;
done:
    ncvx_destroy(s.sv);
    if (chk != ch1) app_chain_destroy(chk);
    app_chain_destroy(ch1);
    app_chain_destroy(ch2);
    app_history_free(&s.hist);
    app_result_free(&prev);
    app_config_free(pc);
    free(s.identity);
    free(s.state);
    free(theta);
    free(theta_trial);
    free(x);
    return rc;
}

int app_strategy_run(const app_config *c, const app_run_opts *o, app_run_result *res)
{
    return app_strategy_run_info(c, o, res, NULL);
}
