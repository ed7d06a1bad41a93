// tests/app_hoyer.c: the neural reparameterization of Hoyer et al. 2019 end to end: the CNN
// on the suite's mbb_beam_96x32_0.5 reaches the paper's typical CNN compliance (206.454, the
// median over seeds after 1000 steps) within 5% in at most 1000 evaluations, with L-BFGS +
// sigmoid-mean (Hoyer) and with BFGS-SQP + explicit volume constraint (NCVX). A separate
// ctest entry because it takes tens of seconds.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "config.h"
#include "run.h"
#include "test_util.h"

#define PAPER_TYPICAL_CNN 206.454

static void run_config(const char *config, int n_sets, const char **sets, double *compliance,
                       long *evals)
{
    app_config *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[1024], path[512];
    snprintf(path, sizeof path, "%s/configs/%s", TOPOPT_SOURCE_DIR, config);
    if (app_config_load(c, path, n_sets, (char *const *)sets,
                        TOPOPT_SOURCE_DIR "/" APP_BENCHMARKS_RELPATH, err, sizeof err))
        fail_msg("%s", err);
    app_run_opts o = {.quiet = 1, .no_outputs = 1, .log = stderr};
    app_run_result r;
    assert_int_equal(app_run(c, &o, &r), APP_EXIT_OK);
    *compliance = r.compliance;
    *evals = r.evals;
    fprintf(stderr,
            "%s: c = %.4f (%.4fx the paper's typical CNN result) in %ld evaluations, "
            "%.1f s\n",
            config, r.compliance, r.compliance / PAPER_TYPICAL_CNN, r.evals, r.time);
    app_config_free(c);
    free(c);
}

/* 300 evaluations (<= the paper's 1000) keep the test short; the CNN gets within 1% of the
 * paper in ~60 (measured), so 5% at 300 has a wide margin yet fails on a broken chain. */
static void test_cnn_lbfgs(void **state)
{
    (void)state;
    const char *sets[] = {"budget.evaluations=300", "budget.iterations=300",
                          "strategy.kind=single"}; /* the CNN alone, without the polish */
    double c;
    long ev;
    run_config("default.yaml", 3, sets, &c, &ev);
    assert_true(ev <= 1000);
    assert_close(c, PAPER_TYPICAL_CNN, 0.05, 0);
}

static void test_cnn_bfgs_sqp(void **state)
{
    (void)state;
    /* 500 evaluations: c = 211.9 at 300 (measured), so 5% at 500 has margin */
    const char *sets[] = {"budget.evaluations=500", "budget.iterations=500"};
    double c;
    long ev;
    run_config("method_bfgs_sqp.yaml", 2, sets, &c, &ev);
    assert_true(ev <= 1000);
    assert_close(c, PAPER_TYPICAL_CNN, 0.05, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_lbfgs),
        cmocka_unit_test(test_cnn_bfgs_sqp),
    };
    return cmocka_run_group_tests_name("app_hoyer", tests, NULL, NULL);
}
