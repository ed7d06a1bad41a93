// tests/test_app_strategy.c: the neural-polish strategy: evaluation accounting against a counter
// wrapped around the FE solve itself (ld --wrap), the polish never worse than the neural phase,
// both phases in the outputs, checkpoints and --resume (bit for bit, refusals before any solve)
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "config.h"
#include "export.h"
#include "fem.h"
#include "run.h"
#include "strategy.h"
#include "test_util.h"

#define BENCH TOPOPT_SOURCE_DIR "/" APP_BENCHMARKS_RELPATH

/* Every FE solve of the program goes through fem_model_compliance; the link wraps it
 * (-Wl,--wrap=fem_model_compliance), so this counter knows nothing of the strategy's own. */
static long g_fe_solves = 0;
fem_status __real_fem_model_compliance(fem_model *m, const double *rho, double *c, double *dc);
fem_status __wrap_fem_model_compliance(fem_model *m, const double *rho, double *c, double *dc);
fem_status __wrap_fem_model_compliance(fem_model *m, const double *rho, double *c, double *dc)
{
    g_fe_solves++;
    return __real_fem_model_compliance(m, rho, c, dc);
}

/* A 16 x 8 MBB half-beam, a small CNN, the neural-polish strategy with a budget of 40. */
#define TINY                                                                                       \
    "problem:\n"                                                                                   \
    "  width: 16\n"                                                                                \
    "  height: 8\n"                                                                                \
    "  volfrac: 0.4\n"                                                                             \
    "  supports:\n"                                                                                \
    "    x: [[0, 0, 0, 8]]\n"                                                                      \
    "    y: [[16, 16, 8, 8]]\n"                                                                    \
    "  loads: [[0, 0, 0, 0, 0, -1]]\n"                                                             \
    "parameterization:\n  kind: cnn\n"                                                             \
    "  cnn: {latent_size: 8, dense_channels: 4, resizes: [1, 2, 2], conv_filters: [8, 4, 1], "     \
    "kernel_size: 3}\n"                                                                            \
    "density_map: sigmoid-mean\n"                                                                  \
    "method: {name: lbfgs}\n"                                                                      \
    "budget: {evaluations: 40, iterations: 1000}\nseed: 3\n"                                       \
    "strategy: {kind: neural-polish, neural_fraction: 0.5}\n"

static char g_dir[256];

/* The continuation strategy on the tiny problem: pixel levels at p = 1, 2, 3, 60 evaluations. */
static const char *const CONTINUATION_SETS[4] = {"strategy.kind=continuation", "strategy.p_start=1",
                                                 "strategy.p_levels=3", "budget.evaluations=60"};

/* Run c with options o from a zeroed result and FE-solve counter: through the strategy (its phase
 * details into si) or, with si NULL, through app_run's dispatch. Returns the exit code. */
static int run_counted(const app_config *c, const app_run_opts *o, app_run_result *res,
                       app_strategy_info *si)
{
    memset(res, 0, sizeof *res);
    g_fe_solves = 0;
    return si ? app_strategy_run_info(c, o, res, si) : app_run(c, o, res);
}

/* app_run of c with options o is refused with exit 2 before any FE solve. */
static void assert_refused(const app_config *c, const app_run_opts *o)
{
    app_run_result r;
    g_fe_solves = 0;
    assert_int_equal(app_run(c, o, &r), APP_EXIT_USAGE);
    assert_int_equal(g_fe_solves, 0);
}

/* r = g_dir/result.h5 of the run that gave res; its stored physical density, through a fresh
 * model of c (material.p, filter.radius), gives the reported compliance. */
static void read_result_checked(const app_config *c, const app_run_result *res, app_result *r)
{
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/result.h5", g_dir);
    assert_int_equal(app_h5_read(path, r, err, sizeof err), APP_IO_OK);
    app_chain *ch;
    assert_int_equal(app_chain_create(&ch, c, err, sizeof err), 0);
    double comp;
    assert_int_equal(app_chain_compliance_of(ch, r->rho_physical, &comp), 0);
    assert_close(comp, res->compliance, 1e-9, 0);
    app_chain_destroy(ch);
}

static app_config *load_tiny_sets(int n_sets, const char *const *sets)
{
    app_config *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[1024];
    int rc = app_config_load_string(c, "tiny.yaml", TINY, n_sets, (char *const *)sets, BENCH, err,
                                    sizeof err);
    if (rc) fail_msg("%s", err);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", g_dir);
    return c;
}

static app_config *load_tiny(const char *extra_set)
{
    const char *sets[1] = {extra_set};
    return load_tiny_sets(extra_set ? 1 : 0, sets);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/topopt_strategy_%ld", (long)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) != 0;
}

static void run_accounting(const char *polish)
{
    app_config *c = load_tiny(polish);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log};
    app_run_result res;
    app_strategy_info si;
    assert_int_equal(run_counted(c, &o, &res, &si), APP_EXIT_OK);
    long counted = g_fe_solves;

    /* every FE solve of the optimization counts; the one extra solve is the evaluation of the
     * final design for the outputs, which a single run does too */
    assert_int_equal(counted - 1, res.evals);
    assert_true(res.evals <= c->solver.max_evals);
    assert_int_equal(si.neural_evals + si.polish_evals, res.evals);
    assert_true(si.neural_evals <= (long)(0.5 * 40)); /* the neural share, hand-over included */
    assert_true(si.polish_evals >= 2);                /* the polish did run */

    /* the polish starts from the neural design and keeps its best feasible point */
    assert_true(si.neural_volume <= c->volfrac + 1e-6);
    assert_true(res.compliance <= si.neural_compliance * (1 + 1e-12));
    assert_true(res.volume <= c->volfrac + 1e-6);

    /* the stored physical density, through a fresh fem model, gives the stored compliance */
    app_result r;
    read_result_checked(c, &res, &r);
    assert_close(r.compliance, res.compliance, 1e-12, 0);

    /* the history holds both phases in order, the evaluations cumulative up to the total */
    const app_history *h = &r.history;
    assert_true(h->n_rows > 2);
    assert_int_equal(h->n_extra, 2);
    assert_string_equal(h->extra_names[0], "phase");
    int seen[3] = {0, 0, 0};
    for (int i = 0; i < h->n_rows; i++) {
        int ph = (int)h->extra[2 * i];
        assert_true(ph == 1 || ph == 2);
        seen[ph] = 1;
        if (i > 0) {
            assert_true(h->evaluations[i] >= h->evaluations[i - 1]);
            assert_true(h->iteration[i] > h->iteration[i - 1]);
            assert_true(ph >= (int)h->extra[2 * (i - 1)]);
        }
    }
    assert_true(seen[1] && seen[2]);
    assert_true(h->evaluations[h->n_rows - 1] <= res.evals);
    assert_true(h->evaluations[h->n_rows - 1] > si.neural_evals);
    app_result_free(&r);
    char path[400];
    snprintf(path, sizeof path, "%s/history.csv", g_dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/design.png", g_dir);
    assert_int_equal(access(path, R_OK), 0);
    fclose(log);
    app_config_free(c);
    free(c);
}

static void test_strategy_accounting_mma(void **state)
{
    (void)state;
    run_accounting(NULL);
}

static void test_strategy_accounting_oc(void **state)
{
    (void)state;
    run_accounting("strategy.polish_method=oc");
}

/* app_run dispatches to the strategy; --resume of a finished run without a checkpoint is
 * refused before any work */
static void test_strategy_resume_refused(void **state)
{
    (void)state;
    app_config *c = load_tiny(NULL);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log, .resume_dir = g_dir};
    assert_refused(c, &o);

    /* through app_run, the budget holds too (also with a normalized objective) */
    c->normalize_objective = 1;
    app_run_opts o2 = {.quiet = 1, .log = log, .no_outputs = 1};
    app_run_result res;
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o2, &res), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 1, res.evals);
    assert_true(res.evals <= 40);
    fclose(log);
    app_config_free(c);
    free(c);
}

/* stderr of the code between capture_begin and capture_end, as a string (static buffer). */
static int g_saved_stderr = -1;
static FILE *g_capture;
static void capture_begin(void)
{
    fflush(stderr);
    g_capture = tmpfile();
    assert_non_null(g_capture);
    g_saved_stderr = dup(2);
    assert_true(g_saved_stderr >= 0);
    assert_true(dup2(fileno(g_capture), 2) >= 0);
}

static const char *capture_end(void)
{
    static char buf[4096];
    fflush(stderr);
    dup2(g_saved_stderr, 2);
    close(g_saved_stderr);
    rewind(g_capture);
    size_t n = fread(buf, 1, sizeof buf - 1, g_capture);
    buf[n] = 0;
    fclose(g_capture);
    fputs(buf, stderr); /* still visible in the test log */
    return buf;
}

/* As assert_refused, and the message on stderr names what. */
static void assert_refused_saying(const app_config *c, const app_run_opts *o, const char *what)
{
    app_run_result r;
    g_fe_solves = 0;
    capture_begin();
    int rc = app_run(c, o, &r);
    const char *msg = capture_end();
    assert_int_equal(rc, APP_EXIT_USAGE);
    assert_int_equal(g_fe_solves, 0);
    if (!strstr(msg, what)) fail_msg("message \"%s\" lacks \"%s\"", msg, what);
}

static void read_dir(const char *dir, app_result *r)
{
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/result.h5", dir);
    if (app_h5_read(path, r, err, sizeof err) != APP_IO_OK) fail_msg("%s", err);
}

/* Two histories are the same run: every column but the wall time, bit for bit. */
static void assert_same_history(const app_history *a, const app_history *b, const char *tag)
{
    assert_int_equal(a->n_rows, b->n_rows);
    assert_int_equal(a->n_extra, b->n_extra);
    for (int i = 0; i < a->n_rows; i++) {
        if (a->iteration[i] != b->iteration[i] || a->evaluations[i] != b->evaluations[i] ||
            memcmp(&a->objective[i], &b->objective[i], sizeof(double)) ||
            memcmp(&a->violation[i], &b->violation[i], sizeof(double)) ||
            memcmp(&a->step[i], &b->step[i], sizeof(double)) ||
            memcmp(a->extra + (size_t)i * a->n_extra, b->extra + (size_t)i * b->n_extra,
                   sizeof(double) * (size_t)a->n_extra))
            fail_msg("%s: history row %d differs: iteration %lld/%lld evaluations %lld/%lld "
                     "objective %.17g/%.17g",
                     tag, i, (long long)a->iteration[i], (long long)b->iteration[i],
                     (long long)a->evaluations[i], (long long)b->evaluations[i], a->objective[i],
                     b->objective[i]);
    }
}

/* The uninterrupted run of c into DIR/full: its result, info and output set. Every FE solve
 * counts but the evaluations for the outputs: the final set's, and one per checkpoint (every
 * outputs.checkpoint_every iterations, counted over the phases, none at a phase's first). */
static void run_full(app_config *c, const char *tag, app_run_result *ra, app_strategy_info *sa,
                     char *dir, size_t len)
{
    snprintf(dir, len, "%s/full_%s", g_dir, tag);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr};
    g_fe_solves = 0;
    assert_int_equal(app_strategy_run_info(c, &o, ra, sa), APP_EXIT_OK);
    long checkpoints = 0;
    if (c->checkpoint_every > 0) {
        app_result r;
        char path[600], err[512];
        snprintf(path, sizeof path, "%s/result.h5", dir);
        assert_int_equal(app_h5_read(path, &r, err, sizeof err), APP_IO_OK);
        const app_history *h = &r.history;
        for (int i = 1; i < h->n_rows; i++) /* a phase's first row follows its predecessor's */
            if (h->iteration[i] % c->checkpoint_every == 0 &&
                h->extra[2 * i] == h->extra[2 * (i - 1)]) {
                int first = 0; /* a trial's first row */
                for (int k = 1; k < sa->trials && k < 16; k++)
                    first |= h->extra[2 * i] == 1 && h->iteration[i] == sa->trial_first_iter[k];
                checkpoints += !first;
            }
        app_result_free(&r);
        assert_true(checkpoints >= 3);
    }
    assert_int_equal(g_fe_solves - 1 - checkpoints, ra->evals);
}

/* Stop c at history iteration halt (a stop request, as SIGINT would make it), then resume: the
 * run ends exactly where the uninterrupted one (ra, its outputs in full) ends, and the FE solves
 * of both parts together stay within the budget. Returns whether the checkpoint held a solver
 * state (1: stopped inside a phase, 0: at the start of a trial or level). */
static int check_strategy_resume(app_config *c, const char *tag, int halt, const app_run_result *ra,
                                 const app_strategy_info *sa, const char *full)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/halted_%s", g_dir, tag);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr, .halt_after = halt};
    app_run_result rb, rc;
    app_strategy_info sc;
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_FAILED);
    long solves_b = g_fe_solves;
    assert_int_equal(rb.interrupted, 1);
    assert_true(rb.evals < ra->evals);
    assert_int_equal(solves_b - 1, rb.evals); /* the checkpoint's design: one uncounted solve */
    app_result B;
    read_dir(dir, &B);
    assert_true(B.checkpoint.present);
    assert_string_equal(B.status, "interrupted");
    int running = B.checkpoint.n_solver_state > 0;
    app_result_free(&B);

    app_run_opts o2 = {.quiet = 1, .log = stderr, .resume_dir = dir};
    g_fe_solves = 0;
    assert_int_equal(app_strategy_run_info(c, &o2, &rc, &sc), APP_EXIT_OK);
    long solves_c = g_fe_solves;
    assert_int_equal(rc.interrupted, 0);
    /* the budget holds over the interruption: the solves of both processes, less their two
     * output evaluations, are the run's count, which is the uninterrupted run's */
    assert_int_equal(solves_b + solves_c - 2, rc.evals);
    assert_int_equal(rc.evals, ra->evals);
    assert_true(rc.evals <= c->solver.max_evals);
    assert_int_equal(rc.iters, ra->iters);
    if (memcmp(&rc.compliance, &ra->compliance, sizeof(double)))
        fail_msg("%s: compliance %.17g resumed vs %.17g uninterrupted", tag, rc.compliance,
                 ra->compliance);
    assert_int_equal(sc.neural_evals, sa->neural_evals);
    assert_int_equal(sc.best_trial, sa->best_trial);
    assert_int_equal(sc.trials, sa->trials);
    assert_true(memcmp(&sc.neural_compliance, &sa->neural_compliance, sizeof(double)) == 0);
    for (int k = 0; k < sa->trials && k < 16; k++)
        assert_true(memcmp(&sc.trial_compliance[k], &sa->trial_compliance[k], sizeof(double)) == 0);
    app_result A, C;
    read_dir(full, &A);
    read_dir(dir, &C);
    assert_same_history(&A.history, &C.history, tag);
    assert_true(A.n_params == C.n_params);
    assert_true(memcmp(A.theta, C.theta, sizeof(double) * A.n_params) == 0);
    assert_string_equal(C.status, A.status);
    assert_false(C.checkpoint.present); /* finished, without outputs.keep_state */
    app_result_free(&A);
    app_result_free(&C);
    return running;
}

/* First history iteration of phase ph in the output set of dir (-1 if none). */
static int first_iter_of_phase(const char *dir, int ph)
{
    app_result r;
    read_dir(dir, &r);
    int it = -1;
    for (int i = 0; i < r.history.n_rows && it < 0; i++)
        if ((int)r.history.extra[2 * i] == ph) it = (int)r.history.iteration[i];
    app_result_free(&r);
    return it;
}

/* neural-polish with 3 trials: interrupted inside the first and the second trial, between
 * trials, before the hand-over and inside the polish, each resumed to the uninterrupted end. */
static void test_strategy_resume_neural_polish(void **state)
{
    (void)state;
    app_config *c = load_tiny(NULL);
    assert_int_equal(c->strategy_neural_restarts, 3);
    app_run_result ra;
    app_strategy_info sa;
    char full[400];
    run_full(c, "np", &ra, &sa, full, sizeof full);
    assert_int_equal(sa.trials, 3);
    int t1 = sa.trial_first_iter[1], t2 = sa.trial_first_iter[2];
    int p0 = first_iter_of_phase(full, 2);
    assert_true(t1 >= 4 && t2 >= t1 + 4 && p0 >= t2 + 4);
    assert_true(check_strategy_resume(c, "trial0", 2, &ra, &sa, full));
    assert_true(check_strategy_resume(c, "trial1", t1 + 2, &ra, &sa, full));
    assert_false(check_strategy_resume(c, "between", t2, &ra, &sa, full));
    assert_false(check_strategy_resume(c, "handover", p0, &ra, &sa, full));
    assert_true(check_strategy_resume(c, "polish", p0 + 3, &ra, &sa, full));

    /* a normalized objective: each trial's scale is its own starting compliance */
    c->normalize_objective = 1;
    app_run_result rn;
    app_strategy_info sn;
    char fulln[400];
    run_full(c, "norm", &rn, &sn, fulln, sizeof fulln);
    assert_true(
        check_strategy_resume(c, "norm_trial1", sn.trial_first_iter[1] + 2, &rn, &sn, fulln));
    assert_true(check_strategy_resume(c, "norm_polish", first_iter_of_phase(fulln, 2) + 2, &rn, &sn,
                                      fulln));
    c->normalize_objective = 0;

    /* periodic checkpoints (and their uncounted output solves) change nothing */
    c->checkpoint_every = 3;
    app_run_result rp;
    app_strategy_info sp;
    char dirp[400];
    run_full(c, "every", &rp, &sp, dirp, sizeof dirp);
    assert_int_equal(rp.evals, ra.evals);
    assert_true(memcmp(&rp.compliance, &ra.compliance, sizeof(double)) == 0);
    app_result A, P;
    read_dir(full, &A);
    read_dir(dirp, &P);
    assert_same_history(&A.history, &P.history, "checkpoint_every");
    app_result_free(&A);
    app_result_free(&P);
    c->checkpoint_every = 0;

    /* a resumed run interrupted again resumes again to the same end */
    char dir[400];
    snprintf(dir, sizeof dir, "%s/twice", g_dir);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr, .halt_after = t1 + 1};
    app_run_result rb;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_FAILED);
    o.resume_dir = dir;
    o.halt_after = p0 + 2;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_FAILED);
    o.halt_after = 0;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_OK);
    assert_int_equal(rb.evals, ra.evals);
    assert_true(memcmp(&rb.compliance, &ra.compliance, sizeof(double)) == 0);
    app_config_free(c);
    free(c);
}

/* The continuation strategy (pixel levels at p = 1, 2, 3): inside a level and between levels. */
static void test_strategy_resume_continuation(void **state)
{
    (void)state;
    app_config *c = load_tiny_sets(4, CONTINUATION_SETS);
    app_run_result ra;
    app_strategy_info sa;
    char full[400];
    run_full(c, "cont", &ra, &sa, full, sizeof full);
    int l1 = first_iter_of_phase(full, 3);
    assert_true(l1 >= 4);
    assert_true(check_strategy_resume(c, "level0", 2, &ra, &sa, full));
    assert_false(check_strategy_resume(c, "level_start", l1, &ra, &sa, full));
    assert_true(check_strategy_resume(c, "level1", l1 + 2, &ra, &sa, full));
    app_config_free(c);
    free(c);
}

/* outputs.keep_state: the finished run keeps its last solver state; --resume with the same
 * budget ends where it ended, with a larger one the polish goes on within it. */
static void test_strategy_keep_state(void **state)
{
    (void)state;
    app_config *c = load_tiny("outputs.keep_state=true");
    app_run_result ra, rb;
    app_strategy_info sa;
    char full[400];
    run_full(c, "keep", &ra, &sa, full, sizeof full);
    app_result A;
    read_dir(full, &A);
    assert_true(A.checkpoint.present);
    assert_true(A.checkpoint.n_solver_state > 0);
    assert_string_equal(A.status, "budget");
    app_result_free(&A);
    app_run_opts o = {.quiet = 1, .log = stderr, .resume_dir = full};
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_OK);
    assert_int_equal(rb.evals, ra.evals);
    assert_int_equal(g_fe_solves, 1); /* only the output evaluation */
    assert_true(memcmp(&rb.compliance, &ra.compliance, sizeof(double)) == 0);
    c->solver.max_evals = 50;
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_OK);
    assert_true(rb.evals > ra.evals && rb.evals <= 50);
    assert_int_equal(g_fe_solves - 1, rb.evals - ra.evals);
    assert_true(rb.compliance <= ra.compliance);
    /* a budget below what the checkpoint used is refused */
    c->solver.max_evals = 30;
    assert_refused(c, &o);
    app_config_free(c);
    free(c);
}

/* Checkpoints that do not belong to the run are refused with exit 2 before any FE solve:
 * damaged, of another config (the key is named), of a single run for a strategy and back. */
static void test_strategy_resume_refusals(void **state)
{
    (void)state;
    app_config *c = load_tiny(NULL);
    char dir[400], path[600], cmd[1400];
    snprintf(dir, sizeof dir, "%s/refuse", g_dir);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr, .halt_after = 5};
    app_run_result r;
    assert_int_equal(app_run(c, &o, &r), APP_EXIT_FAILED);
    app_run_opts ro = {.quiet = 1, .log = stderr, .resume_dir = dir};

    /* another config: the differing key is named */
    app_config *other = load_tiny("strategy.polish_method=oc");
    assert_refused_saying(other, &ro, "strategy.polish_method");
    app_config_free(other);
    free(other);
    c->seed = 4;
    assert_refused(c, &ro);
    c->seed = 3;

    /* the same checkpoint for a single run of the same problem, and a single run's checkpoint
     * for the strategy */
    app_config *single = load_tiny("strategy.kind=single");
    assert_refused_saying(single, &ro, "checkpoint of a design strategy");
    char sdir[400];
    snprintf(sdir, sizeof sdir, "%s/refuse_single", g_dir);
    snprintf(single->out_dir, sizeof single->out_dir, "%s", sdir);
    assert_int_equal(app_run(single, &o, &r), APP_EXIT_FAILED);
    app_run_opts so = {.quiet = 1, .log = stderr, .resume_dir = sdir};
    assert_refused_saying(c, &so, "checkpoint of a single run");
    app_config_free(single);
    free(single);

    /* a damaged byte in the middle of the file */
    snprintf(path, sizeof path, "%s/result.h5", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 4096);
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    int byte = fgetc(f);
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    fputc(byte ^ 0x5a, f);
    fclose(f);
    assert_refused(c, &ro);
    /* a missing one */
    snprintf(cmd, sizeof cmd, "rm -f '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_refused(c, &ro);
    app_config_free(c);
    free(c);
}

/* The shipped configs of the strategy load; the suite runs it as a method, within its steps. */
static void test_strategy_configs_and_suite(void **state)
{
    (void)state;
    static const char *const names[] = {"cantilever_hole", "bridge_deck"};
    for (int i = 0; i < 2; i++) {
        char path[512], err[1024];
        snprintf(path, sizeof path, "%s/configs/own/%s.yaml", TOPOPT_SOURCE_DIR, names[i]);
        app_config *c = malloc(sizeof *c);
        assert_non_null(c);
        if (app_config_load(c, path, 0, NULL, BENCH, err, sizeof err))
            fail_msg("%s: %s", names[i], err);
        assert_int_equal(c->strategy, APP_STRATEGY_NEURAL_POLISH);
        app_config_free(c);
        free(c);
    }
    char out[400];
    snprintf(out, sizeof out, "%s/suite", g_dir);
    app_suite_opts so = {.filter = "pure_bending_moment_32x64",
                         .methods = "cnn-polish,cnn-polish-oc",
                         .steps = 8,
                         .jobs = 1,
                         .out_dir = out,
                         .small_only = 1,
                         .bench_path = BENCH,
                         .quiet = 1};
    g_fe_solves = 0;
    assert_int_equal(app_suite(&so), APP_EXIT_OK);
    /* two tasks of at most 8 solves each, plus one output evaluation each */
    assert_true(g_fe_solves <= 2 * (8 + 1));
    assert_true(g_fe_solves >= 2 * 5);
    char path[600];
    snprintf(path, sizeof path, "%s/tasks.csv", out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int rows = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "cnn-polish")) {
            rows++;
            assert_non_null(strstr(line, ",ok"));
        }
    fclose(f);
    assert_int_equal(rows, 2);

    /* cnn-polish-pixel: both branches within the task's 40 steps (each branch's output
     * evaluation, the choice's two and the reported design's are not counted) */
    so.methods = "cnn-polish-pixel";
    so.steps = 40;
    g_fe_solves = 0;
    assert_int_equal(app_suite(&so), APP_EXIT_OK);
    assert_true(g_fe_solves <= 40 + 5 && g_fe_solves >= 30);
    snprintf(path, sizeof path, "%s/pure_bending_moment_32x64_0.15/cnn-polish-pixel/seed0/pixel",
             out);
    assert_int_equal(access(path, F_OK), 0);
}

/* Neural restarts: three trials share the neural evaluations, every FE solve counts, the best
 * trial's design is the one handed over, and the trials differ (their own initializations). */
static void test_strategy_restarts(void **state)
{
    (void)state;
    static const char *const sets[] = {"strategy.neural_restarts=3"};
    app_config *c = load_tiny_sets(1, sets);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log};
    app_run_result res;
    app_strategy_info si;
    assert_int_equal(run_counted(c, &o, &res, &si), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 1, res.evals);
    assert_true(res.evals <= 40);
    assert_int_equal(si.neural_evals + si.polish_evals, res.evals);
    assert_true(si.neural_evals <= 20 && si.neural_evals >= 18);
    assert_int_equal(si.trials, 3);
    double lo = INFINITY;
    for (int k = 0; k < 3; k++) {
        assert_true(isfinite(si.trial_compliance[k]));
        if (si.trial_compliance[k] < lo) lo = si.trial_compliance[k];
        for (int j = 0; j < k; j++)
            assert_true(si.trial_compliance[j] != si.trial_compliance[k]);
    }
    /* the hand-over evaluation of the kept point reproduces the best trial's compliance */
    assert_close(si.trial_compliance[si.best_trial], lo, 0, 0);
    assert_close(si.neural_compliance, lo, 1e-9, 0);
    assert_true(res.compliance <= si.neural_compliance * (1 + 1e-12));
    /* trial 0 is the run's own seed: its compliance is that of one trial with a third of the
     * neural budget */
    app_config *c1 = load_tiny(NULL);
    c1->strategy_neural_restarts = 1;
    c1->strategy_neural_fraction = 7.0 / 40; /* 7 solves: trial 0's share, 20 * 1 / 3 = 6, + 1 */
    app_strategy_info s1;
    assert_int_equal(app_strategy_run_info(c1, &o, &res, &s1), APP_EXIT_OK);
    assert_close(s1.trial_compliance[0], si.trial_compliance[0], 1e-9, 0);
    fclose(log);
    app_config_free(c1);
    free(c1);
    app_config_free(c);
    free(c);
}

/* The continuation strategy: pixels from the uniform start at p = 1, 2, 3; every FE solve
 * counts, the levels run in order within the budget, the reported compliance is the design's at
 * material.p (through a fresh model), and a p_start above material.p is refused. */
static void test_strategy_continuation(void **state)
{
    (void)state;
    app_config *c = load_tiny_sets(4, CONTINUATION_SETS);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log};
    app_run_result res;
    app_strategy_info si;
    assert_int_equal(run_counted(c, &o, &res, NULL), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 1, res.evals); /* the output evaluation does not count */
    assert_true(res.evals <= 60 && res.evals >= 55);
    assert_true(res.volume <= c->volfrac + 1e-6);

    app_result r;
    read_result_checked(c, &res, &r); /* at material.p = 3 */
    assert_string_equal(r.method, "continuation-mma");
    /* levels 1..3 are phases 2..4, in order; each got its share (25 % of the 60 below p) */
    const app_history *h = &r.history;
    int rows[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < h->n_rows; i++) {
        int ph = (int)h->extra[2 * i];
        assert_true(ph >= 2 && ph <= 4);
        rows[ph]++;
        if (i > 0) assert_true(ph >= (int)h->extra[2 * (i - 1)]);
    }
    assert_true(rows[2] >= 5 && rows[3] >= 5 && rows[4] >= 5);
    app_result_free(&r);

    /* the same through app_strategy_run_info: no neural phase */
    g_fe_solves = 0;
    assert_int_equal(app_strategy_run_info(c, &o, &res, &si), APP_EXIT_OK);
    assert_int_equal(si.neural_evals, 0);
    assert_int_equal(si.polish_evals, res.evals);

    c->strategy_p_start = 3.5; /* above material.p */
    assert_refused(c, &o);
    fclose(log);
    app_config_free(c);
    free(c);
}

/* Filter-radius continuation (strategy.r_start): pixel levels at r = 4, 3, 2 (filter.radius),
 * logged in that order; the reported design is filtered at filter.radius (its physical density
 * is F_2 of its pixels, not F_4), its compliance is that density's; an r_start below
 * filter.radius is refused. */
static void test_strategy_filter_continuation(void **state)
{
    (void)state;
    static const char *const sets[4] = {"strategy.kind=continuation", "strategy.r_start=4",
                                        "strategy.p_levels=3", "budget.evaluations=60"};
    app_config *c = load_tiny_sets(4, sets);
    assert_true(c->filter_radius == 2);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.log = log};
    app_run_result res;
    assert_int_equal(run_counted(c, &o, &res, NULL), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 1, res.evals);
    assert_true(res.evals <= 60 && res.evals >= 55);
    char text[8192];
    rewind(log);
    size_t len = fread(text, 1, sizeof text - 1, log);
    text[len] = 0;
    const char *l1 = strstr(text, "level 1 (p = 3, r = 4)"),
               *l2 = strstr(text, "level 2 (p = 3, r = 3)"),
               *l3 = strstr(text, "level 3 (p = 3, r = 2)");
    assert_non_null(l1);
    assert_non_null(l2);
    assert_non_null(l3);
    assert_true(l1 < l2 && l2 < l3);

    app_result r;
    read_result_checked(c, &res, &r); /* at filter.radius = 2 */
    const int n = c->width * c->height;
    assert_int_equal((int)r.n_params, n);
    double *y = malloc(sizeof(double) * (size_t)n);
    assert_non_null(y);
    double diff[2];
    for (int k = 0; k < 2; k++) { /* k = 0: filter.radius 2, k = 1: r_start 4 */
        fem_filter *f;
        assert_int_equal(fem_filter_create(&f, c->width, c->height, FEM_FILTER_DENSITY_COLSUM,
                                           k ? 4.0 : 2.0, NULL),
                         FEM_OK);
        assert_int_equal(fem_filter_apply(f, r.theta, y), FEM_OK);
        diff[k] = 0;
        for (int i = 0; i < n; i++)
            diff[k] = fmax(diff[k], fabs(y[i] - r.rho_physical[i]));
        fem_filter_destroy(f);
    }
    assert_true(diff[0] <= 1e-12); /* the filter matrix applied again: rounding only */
    assert_true(diff[1] > 1e-3);
    free(y);
    app_result_free(&r);

    c->strategy_r_start = 1.5; /* below filter.radius */
    assert_refused(c, &o);
    fclose(log);
    app_config_free(c);
    free(c);
}

/* First history row of the pixel branch in a joined history (phase >= 12), -1 if none. */
static int first_pixel_row(const app_history *h)
{
    for (int i = 0; i < h->n_rows; i++)
        if (h->extra[2 * i] >= 12) return i;
    return -1;
}

/* strategy.pixel_share: the neural-polish branch (56 of 80 evaluations) and the pixel branch
 * (filter radius 4 -> 2, 24) run as strategies of their own in DIR/neural and DIR/pixel; the
 * lower design is reported (through a fresh model), every FE solve counts, the joined history
 * holds both branches; a stop inside either branch resumes to the uninterrupted end. */
static void test_strategy_branches(void **state)
{
    (void)state;
    static const char *const sets[2] = {"strategy.pixel_share=0.3", "budget.evaluations=80"};
    app_config *c = load_tiny_sets(2, sets);
    char full[sizeof c->out_dir];
    snprintf(full, sizeof full, "%s", c->out_dir);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result ra;
    app_strategy_info sa;
    assert_int_equal(run_counted(c, &o, &ra, &sa), APP_EXIT_OK);
    /* the budget's shares; uncounted: each branch's output evaluation, both designs through the
     * final chain for the choice and the reported design's fields */
    assert_true(sa.branch_evals[0] <= 56 && sa.branch_evals[0] >= 50);
    assert_true(sa.branch_evals[1] <= 24 && sa.branch_evals[1] >= 20);
    assert_int_equal(ra.evals, sa.branch_evals[0] + sa.branch_evals[1]);
    assert_int_equal(g_fe_solves - 5, ra.evals);
    assert_int_equal(sa.branch_won, sa.branch_compliance[1] < sa.branch_compliance[0]);
    assert_true(ra.compliance == fmin(sa.branch_compliance[0], sa.branch_compliance[1]));
    app_result r, A, B;
    read_result_checked(c, &ra, &r);
    char bdir[sizeof full + 8];
    snprintf(bdir, sizeof bdir, "%s/neural", full);
    read_dir(bdir, &A);
    snprintf(bdir, sizeof bdir, "%s/pixel", full);
    read_dir(bdir, &B);
    /* each branch's own result is the design the choice saw */
    assert_close(A.compliance, sa.branch_compliance[0], 1e-12, 0);
    assert_close(B.compliance, sa.branch_compliance[1], 1e-12, 0);
    assert_true(memcmp(r.theta, sa.branch_won ? B.theta : A.theta, sizeof(double) * r.n_params) ==
                0);
    /* the joined history: the neural rows as they are, then the pixel rows continuing them */
    const app_history *h = &r.history, *ha = &A.history, *hb = &B.history;
    assert_int_equal(h->n_rows, ha->n_rows + hb->n_rows);
    int p0 = first_pixel_row(h);
    assert_int_equal(p0, ha->n_rows);
    for (int i = 0; i < hb->n_rows; i++) {
        assert_true(h->extra[2 * (p0 + i)] == hb->extra[2 * i] + 10);
        assert_int_equal(h->evaluations[p0 + i],
                         ha->evaluations[ha->n_rows - 1] + hb->evaluations[i]);
        assert_true(h->objective[p0 + i] == hb->objective[i]);
    }
    for (int i = 1; i < h->n_rows; i++)
        assert_true(h->iteration[i] > h->iteration[i - 1] &&
                    h->evaluations[i] >= h->evaluations[i - 1]);
    assert_true(h->evaluations[h->n_rows - 1] <= 80);
    int halts[2] = {4, (int)h->iteration[p0] + 3}; /* inside the neural and the pixel branch */
    app_result_free(&A);
    app_result_free(&B);

    for (int k = 0; k < 2; k++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/branches_halted%d", g_dir, k);
        snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
        app_run_opts oh = {.quiet = 1, .log = stderr, .halt_after = halts[k]};
        app_run_result rb, rc;
        assert_int_equal(app_run(c, &oh, &rb), APP_EXIT_FAILED);
        assert_int_equal(rb.interrupted, 1);
        assert_true(rb.evals < ra.evals && rb.evals > (k ? sa.branch_evals[0] : 0));
        long ev = 0;
        assert_int_equal(app_strategy_resumable(dir, &ev), 1); /* what suite --resume asks */
        assert_true(ev > 0);
        app_run_opts orr = {.quiet = 1, .log = stderr, .resume_dir = dir};
        for (int again = 0; k == 0 && again < 2; again++) {
            /* resumed and stopped again in the pixel branch, the neural branch finished in this
             * call and then kept from the last: both branches' evaluations count */
            orr.halt_after = halts[1] + 2 * again;
            assert_int_equal(app_run(c, &orr, &rc), APP_EXIT_FAILED);
            assert_int_equal(rc.interrupted, 1);
            assert_true(rc.evals > sa.branch_evals[0] && rc.evals < ra.evals);
        }
        orr.halt_after = 0;
        assert_int_equal(app_run(c, &orr, &rc), APP_EXIT_OK);
        assert_int_equal(rc.evals, ra.evals);
        if (memcmp(&rc.compliance, &ra.compliance, sizeof(double)))
            fail_msg("branches, halt %d: compliance %.17g resumed vs %.17g uninterrupted", halts[k],
                     rc.compliance, ra.compliance);
        app_result C;
        read_dir(dir, &C);
        assert_same_history(&r.history, &C.history, "branches");
        assert_true(memcmp(C.theta, r.theta, sizeof(double) * r.n_params) == 0);
        app_result_free(&C);
    }
    app_result_free(&r);

    /* --resume refused before any solve: branch folders of another config (material.p), or
     * none at all */
    app_run_opts orr = {.quiet = 1, .log = stderr};
    char rdir[400];
    snprintf(rdir, sizeof rdir, "%s/branches_halted1", g_dir);
    orr.resume_dir = rdir;
    c->penal = 3.5;
    assert_refused(c, &orr);
    c->penal = 3;
    snprintf(rdir, sizeof rdir, "%s/branches_none", g_dir);
    assert_refused(c, &orr);

    /* refused before any solve: a pixel branch too small for its levels, or beside a kind other
     * than neural-polish */
    snprintf(c->out_dir, sizeof c->out_dir, "%s", full);
    c->strategy_pixel_share = 0.1; /* 8 evaluations < 5 + 2 x 3 */
    assert_refused(c, &o);
    c->strategy_pixel_share = 0.3;
    c->strategy = APP_STRATEGY_CONTINUATION;
    assert_refused(c, &o);
    app_config_free(c);
    free(c);
}

/* The rule by which a strategy picks a trial or a branch: MMA's violations of about 1e-8 count
 * as feasible (the choice of multistory_building_32x64 seed 1 once took the pixel branch,
 * 40.907 with violation 1.8e-8, over the neural one, 40.383 with 2e-8); beyond 1e-6 the less
 * infeasible wins. */
static void test_strategy_better(void **state)
{
    (void)state;
    assert_true(app_strategy_better(40.383, 2e-8, 40.907, 1.76e-8));
    assert_false(app_strategy_better(40.907, 1.76e-8, 40.383, 2e-8));
    assert_true(app_strategy_better(40.907, 0, 40.986, 3.6e-9));
    assert_false(app_strategy_better(40.907, 0, 40.907, 0)); /* ties keep the first */
    assert_true(app_strategy_better(50, 1e-6, 40, 2e-6));    /* feasible before infeasible */
    assert_false(app_strategy_better(40, 2e-6, 50, 1e-6));
    assert_true(app_strategy_better(40, 1e-3, 30, 2e-3)); /* the less infeasible */
    assert_false(app_strategy_better(30, NAN, 40, 1e-3));
    assert_true(app_strategy_better(30, 1e-3, 40, NAN));
    assert_true(app_strategy_better(30, 1e-3, 20, INFINITY));
}

/* The pixel branch shared by the seeds of one problem (o->pixel_cache_dir): a run with another
 * seed takes it instead of solving it, and ends bit for bit where a run that solves it ends;
 * a branch of other settings is not taken. */
static void test_strategy_branches_shared(void **state)
{
    (void)state;
    static const char *const sets[3] = {"strategy.pixel_share=0.3", "budget.evaluations=80",
                                        "seed=1"};
    app_config *c = load_tiny_sets(3, sets);
    char cache[400];
    snprintf(cache, sizeof cache, "%s/shared", g_dir);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result ra, rb;
    app_strategy_info sa, sb;
    /* seed 2 alone: the reference */
    c->seed = 2;
    snprintf(c->out_dir, sizeof c->out_dir, "%s/alone2", g_dir);
    assert_int_equal(run_counted(c, &o, &ra, &sa), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 5, ra.evals);
    /* seed 1 solves its pixel branch and puts it into the shared folder */
    char err[256];
    assert_int_equal(app_io_mkdirs(cache, err, sizeof err), APP_IO_OK);
    o.pixel_cache_dir = cache;
    c->seed = 1;
    snprintf(c->out_dir, sizeof c->out_dir, "%s/shared1", g_dir);
    assert_int_equal(run_counted(c, &o, &rb, &sb), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 5, rb.evals);
    assert_true(sb.branch_compliance[1] == sa.branch_compliance[1]); /* no seed changes it */
    /* seed 2 takes it: no FE solve of the pixel branch (nor its output evaluation), the same
     * evaluations counted, the same design as alone */
    c->seed = 2;
    snprintf(c->out_dir, sizeof c->out_dir, "%s/shared2", g_dir);
    assert_int_equal(run_counted(c, &o, &rb, &sb), APP_EXIT_OK);
    assert_int_equal(g_fe_solves, sb.branch_evals[0] + 4);
    assert_int_equal(rb.evals, ra.evals);
    assert_int_equal(sb.branch_evals[1], sa.branch_evals[1]);
    if (memcmp(&rb.compliance, &ra.compliance, sizeof(double)))
        fail_msg("shared pixel branch: compliance %.17g vs %.17g alone", rb.compliance,
                 ra.compliance);
    app_result A, B;
    read_dir(c->out_dir, &B);
    snprintf(c->out_dir, sizeof c->out_dir, "%s/alone2", g_dir);
    read_dir(c->out_dir, &A);
    assert_same_history(&A.history, &B.history, "shared pixel branch");
    assert_true(memcmp(A.theta, B.theta, sizeof(double) * A.n_params) == 0);
    app_result_free(&A);
    app_result_free(&B);
    /* another pixel branch (its first filter radius) is solved, not taken */
    c->strategy_pixel_r_factor = 1.5;
    snprintf(c->out_dir, sizeof c->out_dir, "%s/shared2r", g_dir);
    assert_int_equal(run_counted(c, &o, &rb, &sb), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 5, rb.evals);
    app_config_free(c);
    free(c);
}

/* suite --set: the overrides reach every task, and --resume keeps only rows made with the same
 * overrides. */
static void test_suite_sets(void **state)
{
    (void)state;
    char out[400];
    snprintf(out, sizeof out, "%s/suite_sets", g_dir);
    static char *const sets[] = {"strategy.polish_method=oc"};
    app_suite_opts so = {.filter = "pure_bending_moment_32x64",
                         .methods = "cnn-polish",
                         .steps = 8,
                         .jobs = 1,
                         .out_dir = out,
                         .small_only = 1,
                         .bench_path = BENCH,
                         .quiet = 1,
                         .n_sets = 1,
                         .sets = sets};
    g_fe_solves = 0;
    assert_int_equal(app_suite(&so), APP_EXIT_OK);
    assert_true(g_fe_solves >= 5);
    char path[700], err[512];
    snprintf(path, sizeof path, "%s/pure_bending_moment_32x64_0.15/cnn-polish/seed0/result.h5",
             out);
    app_result r;
    assert_int_equal(app_h5_read(path, &r, err, sizeof err), APP_IO_OK);
    assert_string_equal(r.method, "neural-polish-oc"); /* the override took effect */
    app_result_free(&r);

    so.resume = 1; /* same overrides: nothing to run */
    g_fe_solves = 0;
    assert_int_equal(app_suite(&so), APP_EXIT_OK);
    assert_int_equal(g_fe_solves, 0);
    so.n_sets = 0; /* other overrides: the task runs again */
    so.sets = NULL;
    assert_int_equal(app_suite(&so), APP_EXIT_OK);
    assert_true(g_fe_solves >= 5);

    static char *const bad[] = {"strategy.p_levels=1"}; /* refused once, before any task */
    so.n_sets = 1;
    so.sets = bad;
    so.resume = 0;
    g_fe_solves = 0;
    assert_int_equal(app_suite(&so), APP_EXIT_USAGE);
    assert_int_equal(g_fe_solves, 0);
}

/* A file of the given text. */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* The suite's evaluations-to-best-of-4 reader against hand-written histories: columns found by
 * name in any order, infeasible iterates skipped, the first feasible one at or below the target
 * counted, none -> -1; rows of pixel levels at other settings than the problem's skipped. */
static void test_suite_evals_to_reach(void **state)
{
    (void)state;
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/reach", g_dir);
    char err[256];
    assert_int_equal(app_io_mkdirs(dir, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_suite_evals_to_reach(dir, 10), -1); /* no history */
    snprintf(path, sizeof path, "%s/history.csv", dir);
    write_text(path, "iteration,violation,objective,step,evaluations,phase\n"
                     "0,0,20,nan,1,1\n"
                     "1,0.01,9.5,0.1,3,1\n" /* below the target but infeasible */
                     "2,0,10.5,0.1,7,1\n"
                     "3,5e-7,9.9,0.1,12,2\n" /* feasible within 1e-6, below 10 */
                     "4,0,9,0.1,15,2\n");
    assert_int_equal(app_suite_evals_to_reach(dir, 10), 12);
    assert_int_equal(app_suite_evals_to_reach(dir, 9.2), 15);
    assert_int_equal(app_suite_evals_to_reach(dir, 20), 1);
    assert_int_equal(app_suite_evals_to_reach(dir, 8.9), -1);

    /* a strategy with continued levels and a pixel branch: only the neural phase (1) and the
     * last level of each branch (3 of 2-3, 14 of 12-14) are at the problem's own settings */
    write_text(path, "evaluations,objective,violation,phase\n"
                     "1,30,0,1\n"
                     "5,8,0,2\n" /* polish level 1 of 2: below the target, not counted */
                     "9,11,0,3\n"
                     "12,9.5,0,3\n"
                     "20,7,0,12\n" /* the pixel branch's first two levels: not counted */
                     "25,7,0,13\n"
                     "30,9,0,14\n"
                     "33,8.5,0,14\n");
    assert_int_equal(app_suite_evals_to_reach(dir, 10), 12);
    assert_int_equal(app_suite_evals_to_reach(dir, 9.2), 30);
    assert_int_equal(app_suite_evals_to_reach(dir, 8.6), 33);
    assert_int_equal(app_suite_evals_to_reach(dir, 40), 1);
    assert_int_equal(app_suite_evals_to_reach(dir, 8), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategy_accounting_mma),
        cmocka_unit_test(test_strategy_accounting_oc),
        cmocka_unit_test(test_strategy_resume_refused),
        cmocka_unit_test(test_strategy_resume_neural_polish),
        cmocka_unit_test(test_strategy_resume_continuation),
        cmocka_unit_test(test_strategy_keep_state),
        cmocka_unit_test(test_strategy_resume_refusals),
        cmocka_unit_test(test_strategy_configs_and_suite),
        cmocka_unit_test(test_strategy_continuation),
        cmocka_unit_test(test_strategy_filter_continuation),
        cmocka_unit_test(test_strategy_branches),
        cmocka_unit_test(test_strategy_branches_shared),
        cmocka_unit_test(test_strategy_better),
        cmocka_unit_test(test_strategy_restarts),
        cmocka_unit_test(test_suite_sets),
        cmocka_unit_test(test_suite_evals_to_reach),
    };
    return cmocka_run_group_tests_name("app_strategy", tests, setup, teardown);
}
