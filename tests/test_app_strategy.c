// tests/test_app_strategy.c: the neural-polish strategy: evaluation accounting against a counter
// wrapped around the FE solve itself (ld --wrap), the polish never worse than the neural phase,
// both phases in the outputs, --resume refused
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
    memset(&res, 0, sizeof res);
    g_fe_solves = 0;
    assert_int_equal(app_strategy_run_info(c, &o, &res, &si), APP_EXIT_OK);
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
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/result.h5", g_dir);
    assert_int_equal(app_h5_read(path, &r, err, sizeof err), APP_IO_OK);
    assert_close(r.compliance, res.compliance, 1e-12, 0);
    app_chain *ch;
    assert_int_equal(app_chain_create(&ch, c, err, sizeof err), 0);
    double comp;
    assert_int_equal(app_chain_compliance_of(ch, r.rho_physical, &comp), 0);
    assert_close(comp, res.compliance, 1e-9, 0);
    app_chain_destroy(ch);

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

/* app_run dispatches to the strategy; --resume is refused before any work */
static void test_strategy_resume_refused(void **state)
{
    (void)state;
    app_config *c = load_tiny(NULL);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log, .resume_dir = g_dir};
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, NULL), APP_EXIT_USAGE);
    assert_int_equal(g_fe_solves, 0);

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
    memset(&res, 0, sizeof res);
    g_fe_solves = 0;
    assert_int_equal(app_strategy_run_info(c, &o, &res, &si), APP_EXIT_OK);
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
    static const char *const sets[] = {"strategy.kind=continuation", "strategy.p_start=1",
                                       "strategy.p_levels=3", "budget.evaluations=60"};
    app_config *c = load_tiny_sets(4, sets);
    FILE *log = tmpfile();
    assert_non_null(log);
    app_run_opts o = {.quiet = 1, .log = log};
    app_run_result res;
    app_strategy_info si;
    memset(&res, 0, sizeof res);
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, &res), APP_EXIT_OK);
    assert_int_equal(g_fe_solves - 1, res.evals); /* the output evaluation does not count */
    assert_true(res.evals <= 60 && res.evals >= 55);
    assert_true(res.volume <= c->volfrac + 1e-6);

    app_result r;
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/result.h5", g_dir);
    assert_int_equal(app_h5_read(path, &r, err, sizeof err), APP_IO_OK);
    assert_string_equal(r.method, "continuation-mma");
    app_chain *ch;
    assert_int_equal(app_chain_create(&ch, c, err, sizeof err), 0); /* material.p = 3 */
    double comp;
    assert_int_equal(app_chain_compliance_of(ch, r.rho_physical, &comp), 0);
    assert_close(comp, res.compliance, 1e-9, 0);
    app_chain_destroy(ch);
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
    g_fe_solves = 0;
    assert_int_equal(app_run(c, &o, NULL), APP_EXIT_USAGE);
    assert_int_equal(g_fe_solves, 0);
    fclose(log);
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

/* The suite's evaluations-to-best-of-4 reader against hand-written histories: columns found by
 * name in any order, infeasible iterates skipped, the first feasible one at or below the target
 * counted, none -> -1. */
static void test_suite_evals_to_reach(void **state)
{
    (void)state;
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/reach", g_dir);
    char err[256];
    assert_int_equal(app_io_mkdirs(dir, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_suite_evals_to_reach(dir, 10), -1); /* no history */
    snprintf(path, sizeof path, "%s/history.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("iteration,violation,objective,step,evaluations,phase\n"
          "0,0,20,nan,1,1\n"
          "1,0.01,9.5,0.1,3,1\n" /* below the target but infeasible */
          "2,0,10.5,0.1,7,1\n"
          "3,5e-7,9.9,0.1,12,2\n" /* feasible within 1e-6, below 10 */
          "4,0,9,0.1,15,2\n",
          f);
    fclose(f);
    assert_int_equal(app_suite_evals_to_reach(dir, 10), 12);
    assert_int_equal(app_suite_evals_to_reach(dir, 9.2), 15);
    assert_int_equal(app_suite_evals_to_reach(dir, 20), 1);
    assert_int_equal(app_suite_evals_to_reach(dir, 8.9), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategy_accounting_mma),
        cmocka_unit_test(test_strategy_accounting_oc),
        cmocka_unit_test(test_strategy_resume_refused),
        cmocka_unit_test(test_strategy_configs_and_suite),
        cmocka_unit_test(test_strategy_continuation),
        cmocka_unit_test(test_strategy_restarts),
        cmocka_unit_test(test_suite_sets),
        cmocka_unit_test(test_suite_evals_to_reach),
    };
    return cmocka_run_group_tests_name("app_strategy", tests, setup, teardown);
}
