// tests/test_app.c: the topopt program: config schema and errors, the evaluation chain's
// gradients (central differences), end-to-end runs (top88, HDF5/PNG read back, resume), CLI
#ifndef _GNU_SOURCE
#define _GNU_SOURCE // RTLD_DEFAULT
#endif
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <dlfcn.h>

#include "chain.h"
#include "config.h"
#include "cost.h"
#include "export.h"
#include "run.h"
#include "test_util.h"
#include "threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define BENCH TOPOPT_SOURCE_DIR "/" APP_BENCHMARKS_RELPATH

/* A config that owns nothing yet (app_config_free is a no-op on it). */
static app_config *cfg_new(void)
{
    app_config *c = calloc(1, sizeof *c);
    assert_non_null(c);
    return c;
}

static void cfg_free(app_config *c)
{
    app_config_free(c);
    free(c);
}

/* Load text as config "t.yaml" (releasing what c held); returns the status, message in err. */
static int load(app_config *c, const char *text, int n_sets, const char **sets, char *err)
{
    app_config_free(c);
    return app_config_load_string(c, "t.yaml", text, n_sets, (char *const *)sets, BENCH, err, 1024);
}

#define MBB_SMALL                                                                                  \
    "problem:\n"                                                                                   \
    "  width: 16\n"                                                                                \
    "  height: 8\n"                                                                                \
    "  supports:\n"                                                                                \
    "    x: [[0, 0, 0, 8]]\n"                                                                      \
    "    y: [[16, 16, 8, 8]]\n"                                                                    \
    "  loads: [[0, 0, 0, 0, 0, -1]]\n"

/* ------------------------------------------------------------------------------------------ */
/* Config                                                                                      */

static void test_config_defaults(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    assert_int_equal(load(c, MBB_SMALL, 0, NULL, err), 0);
    assert_int_equal(c->width, 16);
    assert_int_equal(c->height, 8);
    assert_close(c->volfrac, 0.5, 0, 0);
    assert_close(c->E0, 1, 0, 0);
    assert_close(c->Emin, 1e-9, 0, 0);
    assert_close(c->nu, 0.3, 0, 0);
    assert_close(c->penal, 3, 0, 0);
    assert_int_equal(c->filter_kind, APP_FILTER_DENSITY);
    assert_close(c->filter_radius, 2, 0, 0);
    assert_int_equal(c->filter_norm, APP_NORM_COLUMN);
    assert_int_equal(c->param_kind, APP_PARAM_CNN);
    assert_int_equal(c->density_map, APP_MAP_SIGMOID_MEAN);
    assert_int_equal((int)c->solver.method, (int)NCVX_LBFGS);
    assert_int_equal(c->solver.max_evals, 1000);
    assert_int_equal(c->cnn.latent_size, 128); /* the library default, untouched */
    assert_int_equal(c->n_fix_x, 1);
    assert_int_equal(c->fix_x[0].y1, 8);
    assert_int_equal(c->n_cases, 1);
    assert_close(c->loads[0][0].fy, -1, 0, 0);
    assert_string_equal(c->name, "t");
    cfg_free(c);
}

static void test_config_benchmark(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    assert_int_equal(
        load(c, "problem: {benchmark: mbb_beam_96x32_0.5, volfrac: 0.4}\n", 0, NULL, err), 0);
    assert_int_equal(c->width, 96);
    assert_int_equal(c->height, 32);
    assert_close(c->volfrac, 0.4, 0, 0); /* explicit volfrac wins */
    assert_int_equal(c->mirror_left, 1);
    assert_int_equal(c->n_fix_y, 1);
    assert_int_equal(c->fix_y[0].x0, 96);
    cfg_free(c);
}

static void test_config_set_overrides(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    const char *sets[] = {"material.p=4",      "filter.radius=1.5",
                          "method.name=mma",   "parameterization.kind=pixel",
                          "density_map=pixel", "problem.supports.y=[[16,16,0,8]]",
                          "method.lbfgs_m=7",  "seed=42"};
    assert_int_equal(load(c, MBB_SMALL, 8, sets, err), 0);
    assert_close(c->penal, 4, 0, 0);
    assert_close(c->filter_radius, 1.5, 0, 0);
    assert_int_equal((int)c->solver.method, (int)NCVX_MMA);
    assert_int_equal(c->fix_y[0].y0, 0);
    assert_int_equal(c->solver.lbfgs_m, 7);
    assert_int_equal(c->seed, 42);
    cfg_free(c);
}

/* Every documented error: message with the position and the allowed values. */
static void expect_error(const char *text, int n_sets, const char **sets, const char *want1,
                         const char *want2)
{
    app_config *c = cfg_new();
    char err[1024] = "";
    int r = load(c, text, n_sets, sets, err);
    cfg_free(c);
    if (r != 2) fail_msg("expected an error containing '%s', got status %d", want1, r);
    if (!strstr(err, want1)) fail_msg("message '%s' lacks '%s'", err, want1);
    if (want2 && !strstr(err, want2)) fail_msg("message '%s' lacks '%s'", err, want2);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error(MBB_SMALL "  widht: 3\n", 0, NULL, "t.yaml:8:3: unknown key 'problem.widht'",
                 "allowed in problem: benchmark, width, height");
    expect_error(MBB_SMALL "material:\n  nu: abc\n", 0, NULL,
                 "t.yaml:9:7: 'material.nu' must be a finite number", NULL);
    expect_error(MBB_SMALL "material:\n  nu: 0.7\n", 0, NULL,
                 "t.yaml:9:7: 'material.nu' = 0.7 is out of range", "allowed: -0.99 to 0.49");
    expect_error(MBB_SMALL "method: {name: sgd}\n", 0, NULL,
                 "t.yaml:8:16:", "allowed: bfgs-sqp, lbfgs, penalty, auglag, projgrad, mma, oc");
    expect_error(MBB_SMALL "filter:\n  kind: [1]\n", 0, NULL, "t.yaml:9:9: 'filter.kind' must be",
                 NULL);
    expect_error("problem:\n  width: 16\n  height: 8\n  supports:\n    x: [[0, 0, 0, 9]]\n"
                 "  loads: [[0, 0, 0, 0, 0, -1]]\n",
                 0, NULL, "t.yaml:5:5: 'problem.supports.x' entry 1 [0, 0, 0, 9] lies outside",
                 "allowed: x in 0..16, y in 0..8");
    expect_error("problem:\n  width: 16\n  height: 8\n  supports:\n    x: [[0, 0, 0, 8]]\n"
                 "  loads: [[17, 17, 0, 0, 0, -1]]\n",
                 0, NULL, "t.yaml:6:3: 'problem.loads' entry 1", "lies outside");
    expect_error("problem:\n  width: 16\n  height: 8\n  loads: [[0, 0, 0, 0, 0, -1]]\n", 0, NULL,
                 "no supports", NULL);
    expect_error("problem:\n  width: 16\n  height: 8\n  supports:\n    x: [[0, 0, 0, 8]]\n", 0,
                 NULL, "no loads", NULL);
    expect_error(
        "problem:\n  width: 10\n  height: 5\n  supports:\n    x: [[0, 0, 0, 5]]\n"
        "  loads: [[10, 10, 5, 5, 0, -1]]\nparameterization:\n  cnn: {auto_resize: false}\n",
        0, NULL, "t.yaml:2:3: grid 10x5 cannot be taken by the network",
        "divisible by the product");
    expect_error("problem: {benchmark: nope}\n", 0, NULL,
                 "t.yaml:1:11: 'problem.benchmark' = 'nope'", NULL);
    expect_error("problem: {benchmark: mbb_beam_96x32_0.5, width: 3}\n", 0, NULL,
                 "t.yaml:1:42: 'problem.width' cannot be combined with problem.benchmark", NULL);
    expect_error("problem: {benchmark: mbb_beam_96x32_0.5\n", 0, NULL, "t.yaml:2:1: YAML syntax",
                 NULL);
    expect_error(MBB_SMALL "nonsense: 1\n", 0, NULL, "t.yaml:8:1: unknown key 'nonsense'",
                 "allowed: problem, material");
    const char *s1[] = {"material.q=4"};
    expect_error(MBB_SMALL, 1, s1, "--set material.q=4: unknown key 'material.q'",
                 "allowed in material: E0, Emin, nu, p");
    const char *s2[] = {"problem.width=wide"};
    expect_error(MBB_SMALL, 1, s2, "--set problem.width=wide: 'problem.width' must be an integer",
                 NULL);
    const char *s3[] = {"seed"};
    expect_error(MBB_SMALL, 1, s3, "--set seed: expected key=value", NULL);
    expect_error(MBB_SMALL "method: {name: oc}\n", 0, NULL, "t.yaml:8:10: 'method.name' = oc needs",
                 NULL);
    expect_error(MBB_SMALL "material: {E0: 1, Emin: 2}\n", 0, NULL, "'material.Emin' = 2 must be",
                 NULL);
    // pixel densities are bounded: methods that ignore or cannot fold the bounds are refused
    expect_error(MBB_SMALL "parameterization: {kind: pixel}\ndensity_map: pixel\n"
                           "method: {name: penalty}\n",
                 0, NULL, "'method.name' = penalty does not take the [0, 1] bounds",
                 "mma, oc or projgrad");
}

/* Every name list: names unique, parsed back to their value, each with a doc; the lists whose
 * names a library keeps (ncvx methods, nn activations and precisions) cover every value of the
 * library's enum, and the polish methods map to the solver methods of the same names. */
static void test_name_lists(void **state)
{
    (void)state;
    const app_names *lists[] = {
        &app_filter_kind_names,   &app_filter_norm_names, &app_param_kind_names,
        &app_density_map_names,   &app_volume_kind_names, &app_symmetry_names,
        &app_direction_names,     &app_fem_reuse_names,   &app_strategy_kind_names,
        &app_polish_method_names, &app_method_names,      &app_activation_names,
        &app_precision_names};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        const app_names *l = lists[k];
        assert_true(l->n >= 2);
        for (int i = 0; i < l->n; i++) {
            const char *name = app_name_str(l, i);
            assert_string_not_equal(name, "unknown");
            assert_int_equal(app_name_parse(l, name), i);
            assert_non_null(l->v[i].doc);
            assert_true(strlen(l->v[i].doc) > 0);
        }
        assert_string_equal(app_name_str(l, l->n), "unknown");
        assert_string_equal(app_name_str(l, -1), "unknown");
        assert_int_equal(app_name_parse(l, "no-such-name"), -1);
        if (l->lib_name) assert_string_equal(l->lib_name(l->n), "unknown");
    }
    for (int i = 0; i < app_method_names.n; i++) {
        ncvx_method m;
        assert_int_equal(ncvx_method_parse(app_name_str(&app_method_names, i), &m), 0);
        assert_int_equal((int)m, i);
    }
    assert_int_equal((int)app_polish_ncvx_method(APP_POLISH_MMA), (int)NCVX_MMA);
    assert_int_equal((int)app_polish_ncvx_method(APP_POLISH_OC), (int)NCVX_OC);
    assert_string_equal(app_name_str(&app_polish_method_names, APP_POLISH_OC), "oc");
    assert_string_equal(app_name_str(&app_param_kind_names, APP_PARAM_PIXEL), "pixel");
    assert_string_equal(app_name_str(&app_density_map_names, APP_MAP_SIGMOID_MEAN), "sigmoid-mean");
}

/* app_config_copy is deep: the copy outlives its source and writes the same config; the
 * struct itself stays small (the lists are allocated to the size given). */
static void test_config_copy_free(void **state)
{
    (void)state;
    assert_true(sizeof(app_config) < 4096);
    app_config *a = cfg_new(), *b = cfg_new();
    char err[1024];
    if (load(a,
             "problem:\n  width: 16\n  height: 8\n"
             "  supports: {x: [[0, 0, 0, 8]], y: [[16, 16, 8, 8]]}\n"
             "  passive_void: [[0, 1, 0, 1]]\n  passive_solid: [[2, 3, 0, 1]]\n"
             "  load_cases: [[[0, 0, 0, 0, 0, -1]], [], [[1, 1, 0, 0, 1, 0]]]\n",
             0, NULL, err))
        fail_msg("%s", err);
    assert_int_equal(a->n_cases, 3);
    assert_int_equal(a->n_loads[1], 0);
    char *t1 = app_config_to_string(a);
    assert_non_null(t1);
    assert_int_equal(app_config_copy(b, a), 0);
    assert_true(b->loads != a->loads && b->fix_x != a->fix_x && b->void_rects != a->void_rects);
    cfg_free(a); /* b must not share anything with a (ASan checks the reads below) */
    char *t2 = app_config_to_string(b);
    assert_non_null(t2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    cfg_free(b);
}

static void test_config_dump_roundtrip(void **state)
{
    (void)state;
    app_config *a = cfg_new(), *b = cfg_new();
    char err[1024];
    if (load(a,
             "problem: {benchmark: l_shape_0.2_64x64_0.4}\n"
             "method: {name: bfgs-sqp}\ndensity_map: sigmoid\n",
             0, NULL, err))
        fail_msg("%s", err);
    char *t1 = app_config_to_string(a);
    assert_non_null(t1);
    if (load(b, t1, 0, NULL, err)) fail_msg("dump does not load back: %s\n%s", err, t1);
    char *t2 = app_config_to_string(b);
    assert_non_null(t2);
    /* the first dump names the benchmark in a comment; otherwise identical */
    const char *note = "  # resolved from benchmark l_shape_0.2_64x64_0.4";
    char *at = strstr(t1, note);
    assert_non_null(at);
    memmove(at, at + strlen(note), strlen(at + strlen(note)) + 1);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    cfg_free(a);
    cfg_free(b);
}

/* configs/README.md is the output of `topopt schema`. */
static void test_config_readme_in_sync(void **state)
{
    (void)state;
    char *gen = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&gen, &len);
    assert_non_null(f);
    app_config_schema_markdown(f);
    fclose(f);
    FILE *r = fopen(TOPOPT_SOURCE_DIR "/configs/README.md", "rb");
    if (!r) fail_msg("configs/README.md missing: run  build/topopt schema > configs/README.md");
    char *file = calloc(len + 2, 1);
    assert_non_null(file);
    size_t got = fread(file, 1, len + 1, r);
    fclose(r);
    if (got != len || memcmp(file, gen, len) != 0)
        fail_msg("configs/README.md is out of date: run  build/topopt schema > configs/README.md");
    free(file);
    free(gen);
}

/* Every config in configs/ passes validation. */
static void test_config_shipped(void **state)
{
    (void)state;
    static const char *const names[] = {
        "default",         "top88_mbb_60x20",   "top88_mbb_60x20_density",
        "mbb_beam_192x64", "cantilever",        "l_shape",
        "bridge",          "multi_load",        "method_bfgs_sqp",
        "method_lbfgs",    "method_penalty",    "method_auglag",
        "method_projgrad", "method_mma",        "method_oc",
        "mlp_mbb",         "displacement_limit"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512], err[1024];
        snprintf(path, sizeof path, "%s/configs/%s.yaml", TOPOPT_SOURCE_DIR, names[i]);
        app_config *c = cfg_new();
        if (app_config_load(c, path, 0, NULL, BENCH, err, sizeof err))
            fail_msg("%s: %s", names[i], err);
        cfg_free(c);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Chain gradients by central differences                                                      */

static uint64_t rng_state = 12345;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

/* For each function (objective, constraints), compare grad . d with the central difference
 * of the value along d. The chain is smooth (sigmoid, cone filter, tanh projection, SIMP, a
 * linear solve), so the O(h^2) truncation error with h = 1e-5 on O(1) parameters is ~1e-9
 * relative; FE round-off is ~1e-12 / h. 1e-5 relative leaves a wide margin yet catches any
 * wrong term (those show up at the 1e-1..1e-3 level). */
static void check_chain_gradient(const char *text)
{
    app_config *c = cfg_new();
    char err[1024];
    if (load(c, text, 0, NULL, err)) fail_msg("%s", err);
    app_chain *ch;
    if (app_chain_create(&ch, c, err, sizeof err)) fail_msg("%s", err);
    int n = app_chain_num_params(ch), mi = app_chain_num_ineq(ch), me = app_chain_num_eq(ch);
    int k = 1 + mi + me;
    double *x = malloc(sizeof(double) * n), *xp = malloc(sizeof(double) * n),
           *d = malloc(sizeof(double) * n), *g = malloc(sizeof(double) * n * k);
    assert_non_null(x);
    assert_non_null(g);
    assert_int_equal(app_chain_init_params(ch, x), 0);
    /* move away from the symmetric start so every term is active */
    for (int i = 0; i < n; i++)
        x[i] += 0.3 * (urand() - 0.5);
    app_chain_set_scale(ch, 7.0); /* a normalized objective */
    double f, ci[8], ce[8];
    assert_int_equal(app_chain_eval(x, &f, g, ci, mi ? g + n : NULL, ce,
                                    me ? g + (size_t)n * (1 + mi) : NULL, ch),
                     0);
    for (int trial = 0; trial < 2; trial++) {
        double norm = 0;
        for (int i = 0; i < n; i++) {
            d[i] = urand() - 0.5;
            norm += d[i] * d[i];
        }
        for (int i = 0; i < n; i++)
            d[i] /= sqrt(norm);
        double h = 1e-5, vp[8], vm[8];
        for (int s = 0; s < 2; s++) {
            double *v = s ? vm : vp;
            for (int i = 0; i < n; i++)
                xp[i] = x[i] + (s ? -h : h) * d[i];
            double cip[8], cep[8];
            assert_int_equal(app_chain_eval(xp, &v[0], NULL, cip, NULL, cep, NULL, ch), 0);
            for (int j = 0; j < mi; j++)
                v[1 + j] = cip[j];
            for (int j = 0; j < me; j++)
                v[1 + mi + j] = cep[j];
        }
        for (int j = 0; j < k; j++) {
            double an = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                an += g[(size_t)j * n + i] * d[i];
                mag += fabs(g[(size_t)j * n + i] * d[i]);
            }
            double fd = (vp[j] - vm[j]) / (2 * h);
            if (!(fabs(an - fd) <= 1e-5 * mag + 1e-12))
                fail_msg("function %d (%s): analytic %.12g vs central difference %.12g", j,
                         j == 0 ? "objective"
                                : app_chain_con_name(ch, j <= mi ? j - 1 : j - 1 - mi, j > mi),
                         an, fd);
        }
    }
    /* value-only and full evaluations agree */
    double f2;
    assert_int_equal(app_chain_eval(x, &f2, NULL, NULL, NULL, NULL, NULL, ch), 0);
    assert_close(f2, f, 1e-14, 0);
    free(x);
    free(xp);
    free(d);
    free(g);
    app_chain_destroy(ch);
    cfg_free(c);
}

static void test_chain_gradient_cnn(void **state)
{
    (void)state;
    check_chain_gradient(MBB_SMALL
                         "  volfrac: 0.4\n"
                         "  passive_void: [[10, 12, 0, 2]]\n"
                         "filter: {kind: density, radius: 1.5, normalization: row}\n"
                         "projection: {enabled: true, beta: 2, eta: 0.5}\n"
                         "parameterization:\n  kind: cnn\n  precision: float64\n"
                         "  cnn: {latent_size: 8, dense_channels: 4, resizes: [1, 2, 2], "
                         "conv_filters: [8, 4, 1], kernel_size: 3}\n"
                         "density_map: sigmoid\n"
                         "constraints: {volume: le, binarity: true, symmetry: x, "
                         "displacement: {enabled: true, node: [0, 0], dir: y, limit: 50}}\n"
                         "method: {name: bfgs-sqp}\n");
}

static void test_chain_gradient_sigmoid_mean(void **state)
{
    (void)state;
    /* Hoyer's map (bisection offset, implicit-function gradient), two load cases, passive
     * solid and void, the suite's column-normalized filter */
    check_chain_gradient("problem:\n  width: 12\n  height: 8\n  volfrac: 0.35\n"
                         "  supports: {x: [[0, 0, 0, 8]], y: [[0, 0, 0, 8]]}\n"
                         "  load_cases: [[[12, 12, 8, 8, 0, 1]], [[12, 12, 0, 0, 0.5, -1]]]\n"
                         "  passive_solid: [[0, 1, 3, 4]]\n  passive_void: [[6, 8, 3, 5]]\n"
                         "parameterization: {kind: pixel}\n"
                         "density_map: sigmoid-mean\n"
                         "method: {name: lbfgs}\n");
    check_chain_gradient("problem:\n  width: 12\n  height: 8\n  volfrac: 0.35\n"
                         "  supports: {x: [[0, 0, 0, 8]], y: [[0, 0, 0, 8]]}\n"
                         "  loads: [[12, 12, 8, 8, 0, 1]]\n"
                         "parameterization:\n  kind: mlp\n  precision: float64\n"
                         "  mlp: {n_fourier: 8, width: 6}\n"
                         "density_map: sigmoid-mean\nmethod: {name: lbfgs}\n");
}

/* sigmoid-mean's volume for random logits (2 units wide) on a 16 x 8 MBB with volfrac 0.3 */
static double sigmoid_mean_volume(const char *extra, double spread, char *err, size_t errlen)
{
    char text[1024];
    snprintf(text, sizeof text, MBB_SMALL "  volfrac: 0.3\n%sparameterization: {kind: pixel}\n",
             extra);
    app_config *c = cfg_new();
    if (load(c, text, 0, NULL, err)) fail_msg("%s", err);
    app_chain *ch;
    double volume = NAN;
    if (app_chain_create(&ch, c, err, errlen) == 0) {
        int n = app_chain_num_params(ch);
        double *x = malloc(sizeof(double) * n);
        assert_non_null(x);
        for (int i = 0; i < n; i++)
            x[i] = spread * (urand() - 0.5);
        app_chain_fields fl;
        assert_int_equal(app_chain_fields_at(ch, x, &fl), 0);
        volume = fl.volume;
        free(x);
        app_chain_destroy(ch);
    }
    cfg_free(c);
    return volume;
}

/* The offset of sigmoid-mean gives exactly the target volume (Newton in a bracket to full
 * precision, 1e-12 leaves room for the sums' rounding): the mean of the densities without a
 * filter, also for logits all equal (spread 0) and for logits of +-100, where every sigmoid is
 * a step and Newton's steps leave the bracket (bisection takes over); and
 * the physical volume (after the density filter) with one: on the bare grid, where the filter
 * moves volume across the edges, and with passive solid regions, which the filter would carry
 * into their neighbours (here 0.3 -> 0.35 with Hoyer's mean of the unfiltered densities). */
static void test_chain_sigmoid_mean_volume(void **state)
{
    (void)state;
    char err[1024];
    const double spreads[4] = {4, 0, 40, 200};
    for (int k = 0; k < 4; k++)
        assert_close(sigmoid_mean_volume("filter: {kind: none}\n", spreads[k], err, sizeof err),
                     0.3, 1e-12, 0);
    const char *solid = "  passive_solid: [[0, 15, 0, 0], [6, 7, 3, 7]]\n";
    char extra[512];
    for (int k = 0; k < 4; k++) {
        snprintf(extra, sizeof extra, "%sfilter: {kind: density, radius: 2, normalization: %s}\n",
                 k / 2 ? solid : "", k % 2 ? "column" : "row");
        assert_close(sigmoid_mean_volume(extra, 4, err, sizeof err), 0.3, 1e-12, 0);
    }
    /* the same densities through a projection keep Hoyer's mean (the volume is not linear) */
    snprintf(extra, sizeof extra, "%sprojection: {enabled: true, beta: 4, eta: 0.5}\n", solid);
    double v = sigmoid_mean_volume(extra, 4, err, sizeof err);
    assert_true(isfinite(v) && fabs(v - 0.3) > 1e-6);
    /* solid all around two designable elements: the filter alone exceeds volfrac */
    double bad = sigmoid_mean_volume("  passive_solid: [[0, 15, 0, 3], [0, 15, 5, 7], [0, 6, 4, "
                                     "4], [9, 15, 4, 4]]\n",
                                     4, err, sizeof err);
    assert_true(isnan(bad));
    assert_non_null(strstr(err, "problem.volfrac 0.3 cannot be met"));
}

/* When a periodic checkpoint is due: by iterations, and by wall time, at least 50 times what
 * the last one took to write (so that they cost at most 2 % of a run). */
static void test_checkpoint_due(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    if (load(c, MBB_SMALL, 0, NULL, err)) fail_msg("%s", err);
    double now = app_now();
    assert_int_equal(c->checkpoint_every, 0); /* by default: every 300 s, whatever the count */
    assert_close(c->checkpoint_seconds, 300, 0, 0);
    assert_false(app_run_checkpoint_due(c, 7, now - 200, 0));
    assert_true(app_run_checkpoint_due(c, 7, now - 301, 0));
    c->checkpoint_seconds = 0;
    assert_false(app_run_checkpoint_due(c, 7, now - 1e6, 0)); /* both off */
    c->checkpoint_every = 7;
    assert_true(app_run_checkpoint_due(c, 14, now, 0));
    assert_false(app_run_checkpoint_due(c, 15, now - 1e6, 0));
    c->checkpoint_seconds = 10;
    assert_true(app_run_checkpoint_due(c, 15, now - 11, 0.1));
    assert_false(app_run_checkpoint_due(c, 15, now - 5, 0.1));
    assert_false(app_run_checkpoint_due(c, 15, now - 11, 1.0)); /* 50 x 1 s: not before 50 s */
    assert_true(app_run_checkpoint_due(c, 15, now - 51, 1.0));
    cfg_free(c);
}

/* The grey fraction counts the designable densities strictly between 0.1 and 0.9. */
static void test_grey_fraction(void **state)
{
    (void)state;
    const double rho[8] = {0, 0.1, 0.1000001, 0.5, 0.8999999, 0.9, 1, 0.3};
    const signed char fixed[8] = {-1, -1, -1, -1, -1, -1, -1, 0};
    assert_close(app_grey_fraction(rho, NULL, 8), 4.0 / 8, 0, 0);
    assert_close(app_grey_fraction(rho, fixed, 8), 3.0 / 7, 0, 0);
    const signed char all_fixed[2] = {0, 1};
    assert_true(isnan(app_grey_fraction(rho, all_fixed, 2)));
}

/* Every small benchmark problem, built from problems.json through the config and the chain,
 * gives the suite's starting compliance c0 (uniform design, cone filter r = 2 with column
 * sums, SIMP p = 3) to 1e-8 relative: the reference was computed with SuperLU, another direct
 * solver, so the agreement is limited by the conditioning of the slender beams (1.1e-9 on
 * mbb_beam_384x64; a wrong load or support changes c0 by percents). This
 * checks the config -> fem translation of supports, loads (up to hundreds of rectangles),
 * passive regions and the density map. */
static void test_chain_benchmark_c0(void **state)
{
    (void)state;
    app_benchmark *b;
    int nb;
    char err[1024];
    if (app_benchmarks_load(BENCH, &b, &nb, err, sizeof err)) fail_msg("%s", err);
    app_config *c = cfg_new();
    int checked = 0;
    double worst = 0;
    for (int i = 0; i < nb; i++) {
        if (b[i].large) continue;
        char text[256];
        snprintf(text, sizeof text, "problem: {benchmark: %s}\nparameterization: {kind: pixel}\n",
                 b[i].name);
        if (load(c, text, 0, NULL, err)) fail_msg("%s: %s", b[i].name, err);
        app_chain *ch;
        if (app_chain_create(&ch, c, err, sizeof err)) fail_msg("%s: %s", b[i].name, err);
        int n = app_chain_num_params(ch);
        double *x = malloc(sizeof(double) * n), f;
        assert_non_null(x);
        assert_int_equal(app_chain_init_params(ch, x), 0);
        assert_int_equal(app_chain_eval(x, &f, NULL, NULL, NULL, NULL, NULL, ch), 0);
        double rel = fabs(f - b[i].c0) / b[i].c0;
        if (rel > worst) worst = rel;
        if (!(rel <= 1e-8)) fail_msg("%s: c0 = %.17g, reference %.17g", b[i].name, f, b[i].c0);
        free(x);
        app_chain_destroy(ch);
        checked++;
    }
    assert_int_equal(checked, 62);
    fprintf(stderr, "62 small problems: largest relative c0 difference %.2e\n", worst);
    /* the largest load table of the suite survives a dump and reload */
    if (load(c, "problem: {benchmark: staircase_128x512_0.15}\n", 0, NULL, err))
        fail_msg("%s", err);
    assert_int_equal(c->n_loads[0], 1836);
    char *t = app_config_to_string(c);
    assert_non_null(t);
    app_config *c2 = cfg_new();
    if (load(c2, t, 0, NULL, err)) fail_msg("reload: %s", err);
    assert_int_equal(c2->n_loads[0], 1836);
    assert_true(c2->loads[0][1835].fy == c->loads[0][1835].fy);
    free(t);
    cfg_free(c2);
    cfg_free(c);
    app_benchmarks_free(b, nb);
}

/* ------------------------------------------------------------------------------------------ */
/* End to end                                                                                  */

static char tmp_root[256];

static void make_tmp(void)
{
    if (tmp_root[0]) return;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/topopt_test_app_XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
}

/* Pixels + MMA on a problem with a compliance of about 1e3 (paper's MMA: 1236.1 after 1000
 * evaluations): its volume multiplier, about p c / volfrac ~ 7e3, exceeds MMA's weight of the
 * artificial variable (1000), so unscaled the subproblems keep the volume violated and the run
 * reports its starting design (7123 after 40 evaluations). The app divides the compliance by its
 * starting value for MMA: 1258 after 40 evaluations, feasible. */
static void test_mma_compliance_units(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    const char *text = "problem: {benchmark: mbb_beam_192x32_0.5}\n"
                       "parameterization: {kind: pixel}\ndensity_map: pixel\n"
                       "constraints: {volume: le}\nmethod: {name: mma}\n"
                       "budget: {evaluations: 40, iterations: 40}\n";
    if (load(c, text, 0, NULL, err)) fail_msg("%s", err);
    app_run_opts o = {.quiet = 1, .no_outputs = 1, .log = stderr};
    app_run_result res;
    assert_int_equal(app_run(c, &o, &res), APP_EXIT_OK);
    fprintf(stderr, "mma on mbb_beam_192x32_0.5: c = %.2f after %ld evaluations\n", res.compliance,
            res.evals);
    assert_true(res.violation <= 1e-6);
    assert_true(res.compliance < 1.1 * 1236.1);
    cfg_free(c);
}

/* top88 (Andreassen et al. 2011) on the 60 x 20 half MBB beam, OC, stop when the largest
 * change < 0.01. The published compliances are for rmin = 0.04 nelx = 2.4: c = 216.81 with
 * the sensitivity filter (ft = 1) and c = 233.71 with the density filter (ft = 2). OC is
 * deterministic, so the remaining gap is the stopping point and round-off; 1% as the brief
 * asks (we measure 0.02% and 0.00%). */
static void run_top88(const char *config, double published)
{
    app_config *c = cfg_new();
    char err[1024];
    char path[512];
    snprintf(path, sizeof path, "%s/configs/%s", TOPOPT_SOURCE_DIR, config);
    if (app_config_load(c, path, 0, NULL, BENCH, err, sizeof err)) fail_msg("%s", err);
    app_run_opts o = {.quiet = 1, .no_outputs = 1, .log = stderr};
    app_run_result res;
    assert_int_equal(app_run(c, &o, &res), APP_EXIT_OK);
    fprintf(stderr, "%s: c = %.4f after %d iterations (published %.2f)\n", config, res.compliance,
            res.iters, published);
    assert_close(res.compliance, published, 0.01, 0);
    assert_close(res.volume, 0.5, 1e-3, 0);
    cfg_free(c);
}

static void test_top88_mbb(void **state)
{
    (void)state;
    run_top88("top88_mbb_60x20.yaml", 216.81);
    run_top88("top88_mbb_60x20_density.yaml", 233.71);
}

static int read_result(const char *dir, app_result *r)
{
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/result.h5", dir);
    return app_h5_read(path, r, err, sizeof err) != APP_IO_OK;
}

#define SMALL_RUN                                                                                  \
    MBB_SMALL "  volfrac: 0.4\nparameterization:\n  kind: cnn\n"                                   \
              "  cnn: {latent_size: 8, dense_channels: 4, resizes: [1, 2, 2], conv_filters: [8, "  \
              "4, 1], kernel_size: 3}\n"                                                           \
              "method: {name: lbfgs}\nbudget: {evaluations: 40, iterations: 25}\nseed: 3\n"

/* result.h5 and design.png read back; the stored physical density through fem again gives
 * the stored compliance. */
static void test_outputs_roundtrip(void **state)
{
    (void)state;
    make_tmp();
    app_config *c = cfg_new();
    char err[1024], dir[512];
    if (load(c, SMALL_RUN "outputs: {png_scale: 3}\n", 0, NULL, err)) fail_msg("%s", err);
    snprintf(dir, sizeof dir, "%s/roundtrip", tmp_root);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result res;
    assert_int_equal(app_run(c, &o, &res), APP_EXIT_OK);
    app_result r;
    assert_int_equal(read_result(dir, &r), 0);
    assert_int_equal(r.W, 16);
    assert_int_equal(r.H, 8);
    assert_close(r.compliance, res.compliance, 1e-15, 0);
    assert_non_null(r.rho_physical);
    assert_non_null(r.theta);
    assert_non_null(r.config_text);
    assert_true(r.history.n_rows >= 2);
    app_chain *ch;
    if (app_chain_create(&ch, c, err, sizeof err)) fail_msg("%s", err);
    double comp;
    assert_int_equal(app_chain_compliance_of(ch, r.rho_physical, &comp), 0);
    /* the same density through the same FE model: identical up to the solver's round-off */
    assert_close(comp, r.compliance, 1e-10, 0);
    /* the stored config loads back to the same config */
    app_config *c2 = cfg_new();
    if (load(c2, r.config_text, 0, NULL, err)) fail_msg("stored config: %s", err);
    assert_int_equal(c2->width, 16);
    cfg_free(c2);
    app_chain_destroy(ch);
    app_result_free(&r);

    char png[600];
    snprintf(png, sizeof png, "%s/design.png", dir);
    unsigned char *px;
    int w, h;
    assert_int_equal(app_png_read_gray(png, &px, &w, &h, err, sizeof err), APP_IO_OK);
    assert_int_equal(w, 16 * 3);
    assert_int_equal(h, 8 * 3);
    free(px);
    cfg_free(c);
}

/* An interrupted run resumed from its checkpoint ends exactly where an uninterrupted one does
 * (bit for bit: the solver state, the parameters and the counters are restored exactly). */
static void check_resume(const char *text, const char *tag)
{
    make_tmp();
    app_config *c = cfg_new();
    char err[1024], a[512], b[512];
    if (load(c, text, 0, NULL, err)) fail_msg("%s", err);
    snprintf(a, sizeof a, "%s/full_%s", tmp_root, tag);
    snprintf(b, sizeof b, "%s/halted_%s", tmp_root, tag);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result ra, rb, rc;
    snprintf(c->out_dir, sizeof c->out_dir, "%s", a);
    assert_int_equal(app_run(c, &o, &ra), APP_EXIT_OK);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", b);
    o.halt_after = 7;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_FAILED);
    assert_int_equal(rb.interrupted, 1);
    o.halt_after = 0;
    o.resume_dir = b;
    assert_int_equal(app_run(c, &o, &rc), APP_EXIT_OK);
    app_result A, B;
    assert_int_equal(read_result(a, &A), 0);
    assert_int_equal(read_result(b, &B), 0);
    assert_int_equal(ra.evals, rc.evals);
    assert_int_equal(ra.iters, rc.iters);
    assert_true(A.n_params == B.n_params);
    for (size_t i = 0; i < A.n_params; i++)
        if (A.theta[i] != B.theta[i])
            fail_msg("%s: theta[%zu] differs: %.17g vs %.17g", tag, i, A.theta[i], B.theta[i]);
    if (ra.compliance != rc.compliance)
        fail_msg("%s: compliance %.17g vs %.17g", tag, ra.compliance, rc.compliance);
    assert_int_equal(A.history.n_rows, B.history.n_rows);
    /* a finished run keeps no solver state by default, so it cannot be resumed */
    assert_false(A.checkpoint.present);
    app_result_free(&A);
    app_result_free(&B);
    o.resume_dir = a;
    assert_int_equal(app_run(c, &o, &rc), APP_EXIT_USAGE);
    o.resume_dir = b;
    /* a checkpoint of another config is refused with a usage error */
    c->seed = 99;
    assert_int_equal(app_run(c, &o, &rc), APP_EXIT_USAGE);
    cfg_free(c);
}

/* With outputs.keep_state a finished run continues with a larger budget to exactly where one
 * run with that budget ends; the final file holds the state (and is refused without it). */
static void test_keep_state_continues(void **state)
{
    (void)state;
    make_tmp();
    app_config *c = cfg_new();
    char err[1024], a[512], b[512];
    if (load(c, SMALL_RUN "outputs: {keep_state: true}\n", 0, NULL, err)) fail_msg("%s", err);
    snprintf(a, sizeof a, "%s/keep_full", tmp_root);
    snprintf(b, sizeof b, "%s/keep_short", tmp_root);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result ra, rb;
    snprintf(c->out_dir, sizeof c->out_dir, "%s", a);
    assert_int_equal(app_run(c, &o, &ra), APP_EXIT_OK);
    int full_iters = c->solver.maxit;
    c->solver.maxit = 10;
    snprintf(c->out_dir, sizeof c->out_dir, "%s", b);
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_OK);
    assert_int_equal(rb.iters, 10);
    app_result B;
    assert_int_equal(read_result(b, &B), 0);
    assert_true(B.checkpoint.present);
    app_result_free(&B);
    c->solver.maxit = full_iters;
    o.resume_dir = b;
    assert_int_equal(app_run(c, &o, &rb), APP_EXIT_OK);
    assert_int_equal(ra.iters, rb.iters);
    assert_int_equal(ra.evals, rb.evals);
    if (ra.compliance != rb.compliance)
        fail_msg("compliance %.17g (one run) vs %.17g (continued)", ra.compliance, rb.compliance);
    cfg_free(c);
}

static void test_resume_equals_uninterrupted(void **state)
{
    (void)state;
    check_resume(SMALL_RUN, "lbfgs");
    check_resume(MBB_SMALL "  volfrac: 0.4\nparameterization: {kind: pixel}\ndensity_map: sigmoid\n"
                           "constraints: {volume: le}\nmethod: {name: bfgs-sqp, limited_mem_size: "
                           "0}\nbudget: {evaluations: 80, iterations: 20}\n",
                 "bfgs_sqp");
    check_resume(MBB_SMALL "  volfrac: 0.4\nparameterization: {kind: pixel}\ndensity_map: pixel\n"
                           "method: {name: mma}\nbudget: {evaluations: 30, iterations: 20}\n",
                 "mma");
}

/* Same config and seed -> the same numbers. */
static void test_reproducible(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    if (load(c, SMALL_RUN, 0, NULL, err)) fail_msg("%s", err);
    app_run_opts o = {.quiet = 1, .no_outputs = 1, .log = stderr};
    app_run_result r1, r2;
    assert_int_equal(app_run(c, &o, &r1), APP_EXIT_OK);
    assert_int_equal(app_run(c, &o, &r2), APP_EXIT_OK);
    assert_true(r1.compliance == r2.compliance);
    assert_int_equal(r1.evals, r2.evals);
    cfg_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) fail_msg("cannot run: %s", cmd);
    return WEXITSTATUS(st);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Inode of path (a file rewritten atomically gets a new one). */
static ino_t inode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

/* stderr of the last command holds text */
static void assert_file_has(const char *path, const char *text)
{
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    b[n] = '\0';
    if (!strstr((char *)b, text)) fail_msg("%s lacks \"%s\": %s", path, text, (char *)b);
    free(b);
}

/* --resume refuses a checkpoint of another problem or method and names the key; a larger
 * budget is accepted. */
static void test_resume_other_problem(void **state)
{
    (void)state;
    make_tmp();
    const char *exe = TOPOPT_EXE;
    char cfg[600], dir[600], errf[600];
    snprintf(cfg, sizeof cfg, "%s/guard.yaml", tmp_root);
    snprintf(dir, sizeof dir, "%s/guard", tmp_root);
    snprintf(errf, sizeof errf, "%s/guard.err", tmp_root);
    write_file(cfg, SMALL_RUN "outputs: {keep_state: true}\n");
    assert_int_equal(
        sh("%s run %s --out %s --quiet --set budget.iterations=4 > /dev/null", exe, cfg, dir), 0);
    static const char *const sets[][2] = {
        {"problem.volfrac=0.3", "problem.volfrac is 0.4 in the checkpoint but 0.3 here"},
        {"material.E0=2", "material.E0"},
        {"filter.radius=3", "filter.radius"},
        {"problem.loads=[[0,0,0,0,0,-2]]", "problem.loads"},
        {"method.name=mma", "method.name"},
        {"parameterization.cnn.kernel_size=5", "parameterization.cnn.kernel_size"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        int rc = sh("%s run %s --resume %s --quiet --set budget.iterations=6 --set '%s' 2> %s", exe,
                    cfg, dir, sets[i][0], errf);
        if (rc != 2) fail_msg("--set %s: exit %d, expected 2", sets[i][0], rc);
        assert_file_has(errf, sets[i][1]);
    }
    // budget and outputs may change
    assert_int_equal(sh("%s run %s --resume %s --quiet --set budget.iterations=6 --set "
                        "budget.evaluations=100 --set outputs.png_scale=2 > /dev/null",
                        exe, cfg, dir),
                     0);
}

/* Damaged checkpoints: every copy with one damaged byte either is refused (exit 2) or, when
 * the damage hit bytes that carry no value, resumes from exactly the stored data. None may
 * crash (under the sanitizers a memory error aborts the child). */
static void test_resume_damaged(void **state)
{
    (void)state;
    make_tmp();
    app_config *c = cfg_new();
    char err[1024], dir[512], h5[600], cdir[512], ch5[600];
    if (load(c, SMALL_RUN "outputs: {keep_state: true}\n", 0, NULL, err)) fail_msg("%s", err);
    c->solver.maxit = 4;
    snprintf(dir, sizeof dir, "%s/dmg", tmp_root);
    snprintf(cdir, sizeof cdir, "%s/dmg_copy", tmp_root);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    app_run_opts o = {.quiet = 1, .log = stderr};
    app_run_result rr;
    assert_int_equal(app_run(c, &o, &rr), APP_EXIT_OK);
    snprintf(h5, sizeof h5, "%s/result.h5", dir);
    snprintf(ch5, sizeof ch5, "%s/result.h5", cdir);
    app_result ref;
    assert_int_equal(app_h5_read(h5, &ref, err, sizeof err), APP_IO_OK);
    uint64_t want = app_result_checksum(&ref);
    app_result_free(&ref);
    size_t n;
    unsigned char *bytes = test_read_file(h5, &n);
    assert_int_equal(mkdir(cdir, 0700), 0);
    int refused = 0, resumed = 0;
    size_t step = n / 97 > 0 ? n / 97 : 1;
    // the first pass writes an undamaged copy, which must resume (exit 0)
    for (size_t off = SIZE_MAX; off == SIZE_MAX || off < n;
         off = off == SIZE_MAX ? 0 : off + step) {
        FILE *f = fopen(ch5, "wb");
        assert_non_null(f);
        if (off != SIZE_MAX) bytes[off] ^= 0xFF;
        assert_int_equal(fwrite(bytes, 1, n, f), n);
        if (off != SIZE_MAX) bytes[off] ^= 0xFF;
        fclose(f);
        // In a child ending with _exit: HDF5 1.10 leaks a cache entry on every damaged header
        // it refuses, which would otherwise be charged to this program by LeakSanitizer.
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            app_result r;
            int same = 0;
            if (app_h5_read(ch5, &r, err, sizeof err) == APP_IO_OK) {
                same = app_result_checksum(&r) == want;
                app_result_free(&r);
            }
            app_run_opts oc = {.quiet = 1, .log = stderr, .resume_dir = cdir, .no_outputs = 1};
            FILE *null = freopen("/dev/null", "w", stderr);
            (void)null;
            int rc = app_run(c, &oc, NULL);
            _exit(rc == APP_EXIT_OK ? (same ? 0 : 3) : rc == APP_EXIT_USAGE ? 2 : 4);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status)) fail_msg("offset %zu: the resume crashed", off);
        int code = WEXITSTATUS(status);
        if (code == 3) fail_msg("offset %zu: resumed from damaged data", off);
        if (code != 0 && code != 2) fail_msg("offset %zu: exit %d", off, code);
        if (off == SIZE_MAX) {
            if (code != 0) fail_msg("the undamaged copy did not resume (exit %d)", code);
            continue;
        }
        code == 0 ? resumed++ : refused++;
    }
    print_message("damaged checkpoints: %d refused, %d resumed from unchanged data\n", refused,
                  resumed);
    assert_true(refused > resumed);
    free(bytes);
    cfg_free(c);
}

#define PIXEL_OC_64x32                                                                             \
    "problem:\n  width: 64\n  height: 32\n  supports: {x: [[0, 0, 0, 32]], y: [[64, 64, 32, "      \
    "32]]}\n  loads: [[0, 0, 0, 0, 0, -1]]\nparameterization: {kind: pixel}\ndensity_map: "        \
    "pixel\nmethod: {name: oc}\nbudget: {iterations: 3}\n"

/* No file of DIR is named *.new or *.tmp (staged outputs are cleaned up after a fault). */
static void assert_no_staged(const char *dir)
{
    assert_int_equal(sh("ls -a %s | grep -q -e '\\.new' -e '\\.tmp'", dir), 1);
}

/* Faults while writing: a full disk at every fill level gives exit 0 with a complete new set
 * or exit 1 with one clear line and the previous set unchanged (never a crash, never a mixed
 * set); unwritable output paths give exit 1. The disk is a 512 KB tmpfs (skipped with a
 * message where mounting is not permitted). */
static void test_disk_full(void **state)
{
    (void)state;
    make_tmp();
    const char *exe = TOPOPT_EXE;
    char cfg[600], mnt[600], out[700], errf[600], keep[600];
    snprintf(cfg, sizeof cfg, "%s/full.yaml", tmp_root);
    snprintf(errf, sizeof errf, "%s/full.err", tmp_root);
    write_file(cfg, PIXEL_OC_64x32);

    // unwritable paths: below a regular file, and in /proc
    snprintf(out, sizeof out, "%s/sub", cfg);
    assert_int_equal(sh("%s run %s --out %s --quiet 2> %s", exe, cfg, out, errf), 1);
    assert_file_has(errf, "Not a directory");
    assert_int_equal(sh("%s run %s --out /proc/topopt_no_such/x --quiet 2> %s", exe, cfg, errf), 1);
    assert_file_has(errf, "/proc/topopt_no_such");
    // render: a missing input is a usage error (2), an unwritable picture a failure (1)
    snprintf(out, sizeof out, "%s/render_src", tmp_root);
    assert_int_equal(sh("%s run %s --out %s --quiet > /dev/null", exe, cfg, out), 0);
    assert_int_equal(sh("%s render %s/no_such.h5 2> %s", exe, out, errf), 2);
    // a missing config names the reason (the first config load of a process said "Success")
    assert_int_equal(sh("%s check %s/no_such.yaml 2> %s", exe, out, errf), 2);
    assert_file_has(errf, "cannot open: No such file or directory");
    assert_int_equal(
        sh("%s render %s/result.h5 --png /proc/topopt_no_such.png 2> %s", exe, out, errf), 1);
    assert_file_has(errf, "topopt_no_such.png");

    snprintf(mnt, sizeof mnt, "%s/tmpfs", tmp_root);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (sh("mount -t tmpfs -o size=512k tmpfs %s 2> /dev/null", mnt) != 0) {
        print_message("disk-full test skipped: cannot mount a tmpfs here (needs root)\n");
        return;
    }
    snprintf(out, sizeof out, "%s/r", mnt);
    snprintf(keep, sizeof keep, "%s/kept", tmp_root);
    // a complete first set (131 KB result.h5), kept aside to compare with
    assert_int_equal(sh("%s run %s --out %s --quiet > /dev/null", exe, cfg, out), 0);
    assert_int_equal(sh("cp -r %s %s", out, keep), 0);
    int failed = 0, ok = 0;
    for (int fill = 0; fill <= 320; fill += 40) {
        // fill KB of the remaining space taken, then a run whose set is larger (96 x 32)
        assert_int_equal(sh("rm -f %s/filler; dd if=/dev/zero of=%s/filler bs=1k count=%d "
                            "2> /dev/null; true",
                            mnt, mnt, fill),
                         0);
        int rc = sh("%s run %s --out %s --quiet --set problem.width=96 --set "
                    "'problem.supports.y=[[96,96,32,32]]' > /dev/null 2> %s",
                    exe, cfg, out, errf);
        if (rc != 0 && rc != 1) fail_msg("fill %d KB: exit %d (a crash?)", fill, rc);
        assert_no_staged(out);
        if (rc == 1) {
            failed++;
            assert_file_has(errf, "No space left on device");
            assert_file_has(errf, "unchanged");
            assert_int_equal(sh("test $(wc -l < %s) -eq 1", errf), 0); // one line
            assert_int_equal(sh("! grep -q -e 0x -e H5 %s", errf), 0); // no HDF5 internals
            for (int i = 0; i < 3; i++) {
                static const char *const names[] = {"design.png", "history.csv", "result.h5"};
                assert_int_equal(sh("cmp -s %s/%s %s/%s", keep, names[i], out, names[i]), 0);
            }
        } else {
            ok++;
            char h5[800];
            app_result r;
            char err[1024];
            snprintf(h5, sizeof h5, "%s/result.h5", out);
            assert_int_equal(app_h5_read(h5, &r, err, sizeof err), APP_IO_OK);
            assert_int_equal(r.W, 96);
            app_result_free(&r);
            assert_int_equal(sh("rm -rf %s && cp -r %s %s", keep, out, keep), 0);
        }
    }
    print_message("disk full: %d runs refused cleanly, %d fitted\n", failed, ok);
    assert_true(failed > 0);
    assert_int_equal(sh("umount %s", mnt), 0);
}

/* Hostile YAML: deep nesting fails fast (it took 21 s / 9 s), NUL bytes and oversized files
 * are refused with a message. */
static void test_config_hostile_yaml(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    size_t n = 50000;
    char *deep = malloc(4 * n + 1), *brk = malloc(n + 1);
    assert_non_null(deep);
    assert_non_null(brk);
    for (size_t i = 0; i < n; i++)
        memcpy(deep + 4 * i, "{a: ", 4);
    deep[4 * n] = '\0';
    memset(brk, '[', n);
    brk[n] = '\0';
    double t0 = app_now();
    assert_int_equal(load(c, deep, 0, NULL, err), 2);
    assert_non_null(strstr(err, "nesting deeper than"));
    assert_int_equal(load(c, brk, 0, NULL, err), 2);
    assert_non_null(strstr(err, "nesting deeper than"));
    double dt = app_now() - t0;
    if (dt > 2.0) fail_msg("deep nesting took %.2f s to refuse", dt);
    // 64 levels are still fine (a list of lists of lists is as deep as configs go: 3)
    assert_int_equal(load(c, MBB_SMALL "  passive_void: [[0, 1, 0, 1]]\n", 0, NULL, err), 0);
    free(deep);
    free(brk);
    // a NUL byte from a "\0" escape, and a raw one in a file
    assert_int_equal(load(c, "problem:\n  benchmark: \"mbb\\0x\"\n", 0, NULL, err), 2);
    assert_non_null(strstr(err, "NUL"));
    make_tmp();
    char path[600];
    snprintf(path, sizeof path, "%s/nul.yaml", tmp_root);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("problem:\n  benchmark: \"mbb\0x\"\n", 1, 31, f);
    fclose(f);
    app_config_free(c);
    assert_int_equal(app_config_load(c, path, 0, NULL, BENCH, err, sizeof err), 2);
    assert_non_null(strstr(err, "NUL byte"));
    // a file above the size cap
    snprintf(path, sizeof path, "%s/huge.yaml", tmp_root);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < APP_CONFIG_MAX_BYTES / 64 + 1; i++)
        fputs("# a comment line that pads the file to well past the size cap..\n", f);
    fclose(f);
    assert_int_equal(app_config_load(c, path, 0, NULL, BENCH, err, sizeof err), 2);
    assert_non_null(strstr(err, "larger than"));
    // integers of rectangles, loads and nodes beyond int (found by fuzzing: the conversion to
    // int was undefined behaviour)
    static const char *const wide[][2] = {
        {"problem:\n  supports:\n    y: [[0, 0, 0, 34444444444444442]]\n", "problem.supports.y"},
        {"problem:\n  loads: [[1, 2, -3000000000, 0, 0, 1]]\n", "problem.loads"},
        {"constraints:\n  displacement:\n    node: [0, 2147483648]\n",
         "constraints.displacement.node"},
    };
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        assert_int_equal(load(c, wide[i][0], 0, NULL, err), 2);
        assert_non_null(strstr(err, wide[i][1]));
        assert_non_null(strstr(err, "out of the int range"));
    }
    cfg_free(c);
}

/* The cost estimate: parameter counts equal the built network's (CNN and MLP), the solver
 * term reproduces the worked example of ncvx.h, and check/run refuse what cannot run before
 * any work. */
static int no_eval(const double *x, double *f, double *g, double *ci, double *gci, double *ce,
                   double *gce, void *user)
{
    (void)x, (void)f, (void)g, (void)ci, (void)gci, (void)ce, (void)gce, (void)user;
    return 1;
}

static void test_cost_check(void **state)
{
    (void)state;
    app_config *c = cfg_new();
    char err[1024];
    app_cost e;
    static const char *const nets[] = {
        SMALL_RUN,
        MBB_SMALL "parameterization:\n  kind: mlp\n  mlp: {n_fourier: 8, width: 6, n_layers: 2}\n",
        MBB_SMALL "parameterization: {kind: pixel}\ndensity_map: pixel\nmethod: {name: oc}\n",
    };
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        if (load(c, nets[i], 0, NULL, err)) fail_msg("%s", err);
        app_chain *ch;
        if (app_chain_create(&ch, c, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(app_cost_check(c, &e, err, sizeof err), 0);
        assert_true(e.n_params == (double)app_chain_num_params(ch));
        assert_int_equal(e.n_constraints, app_chain_num_ineq(ch) + app_chain_num_eq(ch));
        app_chain_destroy(ch);
    }
    // the checkpoint's copy of the solver state (in the memory estimate and result.h5's size):
    // against ncvx_state_size of a solver made for the config
    static const char *const states[] = {
        "method: {name: lbfgs}\n",    "method: {name: lbfgs, lm_single: 1}\n",
        "method: {name: auglag}\n",   "method: {name: bfgs-sqp, limited_mem_size: 10}\n",
        "method: {name: bfgs-sqp}\n", "method: {name: mma}\n",
        "method: {name: oc}\n",
    };
    for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 MBB_SMALL "parameterization: {kind: pixel}\ndensity_map: %s\n%s",
                 strstr(states[i], "mma") || strstr(states[i], "oc") ? "pixel"
                 : strstr(states[i], "lbfgs")                        ? "sigmoid-mean"
                                                                     : "sigmoid",
                 states[i]);
        if (load(c, text, 0, NULL, err)) fail_msg("%s", err);
        app_cost_estimate(c, &e);
        ncvx_settings s;
        app_run_opts ro = {.quiet = 1};
        app_run_solver_settings(c, &ro, &s);
        double lo[128], hi[128];
        assert_true(e.n_params <= 128);
        for (int j = 0; j < 128; j++)
            lo[j] = 0, hi[j] = 1;
        ncvx_problem p = {.n = (int)e.n_params,
                          .n_ineq = e.n_constraints,
                          .eval = no_eval,
                          .lower = c->density_map == APP_MAP_PIXEL ? lo : NULL,
                          .upper = c->density_map == APP_MAP_PIXEL ? hi : NULL};
        ncvx_solver *sv;
        assert_int_equal(ncvx_create(&sv, &p, &s), NCVX_OK);
        double got = 8.0 * (double)ncvx_state_size(sv);
        ncvx_destroy(sv);
        /* an upper bound, and not a loose one (n = 128 here: a few n of counters and scalars) */
        if (!(e.state_bytes >= got && e.state_bytes <= 1.25 * got))
            fail_msg("%sstate %.0f bytes, estimate %.0f", states[i], got, e.state_bytes);
    }
    // ncvx.h: n = 7e6, one constraint (k = 2), m = 20, default settings -> 1.79 GB
    if (load(c, MBB_SMALL "method: {name: bfgs-sqp, limited_mem_size: 20}\n", 0, NULL, err))
        fail_msg("%s", err);
    c->param_kind = APP_PARAM_PIXEL;
    c->density_map = APP_MAP_SIGMOID;
    c->volume = APP_VOL_LE;
    app_config big = *c;
    big.width = 7000;
    big.height = 1000;
    app_cost_estimate(&big, &e);
    assert_close(e.solver_bytes, 1.792e9, 1e-3, 0);

    // a 4096 x 4096 CNN: refused (with the estimate and the limit), accepted with a high limit
    if (load(c, SMALL_RUN, 2, (const char *[]){"problem.width=4096", "problem.height=4096"}, err))
        fail_msg("%s", err);
    assert_int_equal(app_cost_check(c, &e, err, sizeof err), 2);
    assert_non_null(strstr(err, "GB of memory"));
    assert_non_null(strstr(err, "limit"));
    c->max_memory_gb = 1e6;
    assert_int_equal(app_cost_check(c, &e, err, sizeof err), 0);
    // design.png larger than the writer accepts
    if (load(c, SMALL_RUN, 3,
             (const char *[]){"outputs.png_scale=64", "problem.width=1024", "problem.height=512"},
             err))
        fail_msg("%s", err);
    assert_int_equal(app_cost_check(c, &e, err, sizeof err), 2);
    assert_non_null(strstr(err, "design.png would be 65536 x 32768"));
    cfg_free(c);

    // the program: check and run both refuse with exit 2 before any work (no output folder)
    make_tmp();
    char cfg[600], out[600];
    snprintf(cfg, sizeof cfg, "%s/cost.yaml", tmp_root);
    snprintf(out, sizeof out, "%s/cost_out", tmp_root);
    write_file(cfg, SMALL_RUN);
    const char *exe = TOPOPT_EXE;
    assert_int_equal(sh("%s check %s --set outputs.png_scale=64 --set problem.width=1024 --set "
                        "problem.height=512 > /dev/null 2>&1",
                        exe, cfg),
                     2);
    assert_int_equal(sh("%s run %s --out %s --set problem.width=4096 --set problem.height=4096 "
                        "> /dev/null 2>&1",
                        exe, cfg, out),
                     2);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    assert_int_equal(sh("%s check %s | grep -q '^# estimate: memory'", exe, cfg), 0);
}

/* `topopt suite --resume` on the two 96x32 problems with pixels + OC; the inode of h5 after. */
static ino_t resumed_suite(const char *exe, const char *args, const char *h5)
{
    assert_int_equal(sh("%s suite --filter _96x32 --method pixel-oc %s --jobs 2 --quiet --resume "
                        "--out %s/suite >/dev/null 2>&1",
                        exe, args, tmp_root),
                     0);
    return inode_of(h5);
}

static void test_cli_exit_codes(void **state)
{
    (void)state;
    make_tmp();
    const char *exe = TOPOPT_EXE;
    char good[600], bad[600], sing[600], out[600];
    snprintf(good, sizeof good, "%s/good.yaml", tmp_root);
    snprintf(bad, sizeof bad, "%s/bad.yaml", tmp_root);
    snprintf(sing, sizeof sing, "%s/singular.yaml", tmp_root);
    snprintf(out, sizeof out, "%s/cli", tmp_root);
    write_file(good, SMALL_RUN);
    write_file(bad, MBB_SMALL "material: {nu: 2}\n");
    /* x supports only: the structure can move vertically (a mechanism) -> the run fails */
    write_file(sing, "problem:\n  width: 8\n  height: 4\n  supports: {x: [[0, 0, 0, 4]]}\n"
                     "  loads: [[8, 8, 4, 4, 0, -1]]\nparameterization: {kind: pixel}\n");
    const char *q = ">/dev/null 2>&1";
    assert_int_equal(sh("%s --version %s", exe, q), 0);
    assert_int_equal(sh("%s --help %s", exe, q), 0);
    assert_int_equal(sh("%s %s", exe, q), 2);
    assert_int_equal(sh("%s frobnicate %s", exe, q), 2);
    for (int i = 0; i < 5; i++) {
        static const char *const cmds[] = {"run", "check", "render", "suite", "schema"};
        assert_int_equal(sh("%s %s --help %s", exe, cmds[i], q), 0);
    }
    assert_int_equal(sh("%s run %s", exe, q), 2);
    assert_int_equal(sh("%s run %s/missing.yaml %s", exe, tmp_root, q), 2);
    assert_int_equal(sh("%s check %s %s", exe, bad, q), 2);
    assert_int_equal(sh("%s run %s --out %s/never %s", exe, bad, tmp_root, q), 2);
    struct stat st;
    char never[700];
    snprintf(never, sizeof never, "%s/never", tmp_root);
    assert_int_equal(stat(never, &st), -1); /* nothing written on a config error */
    assert_int_equal(sh("%s check %s %s", exe, good, q), 0);
    assert_int_equal(sh("%s check %s --set material.q=1 %s", exe, good, q), 2);
    assert_int_equal(sh("%s run %s --bogus %s", exe, good, q), 2);
    assert_int_equal(sh("%s run %s --quiet --set budget.evaluations=6 --set budget.iterations=4 "
                        "--out %s %s",
                        exe, good, out, q),
                     0);
    assert_int_equal(sh("%s run %s --quiet --out %s/sing %s", exe, sing, tmp_root, q), 1);
    assert_int_equal(sh("%s render %s/result.h5 --png %s/r.png --scale 2 %s", exe, out, out, q), 0);
    assert_int_equal(sh("%s render %s/nothing.h5 %s", exe, tmp_root, q), 2);
    assert_int_equal(sh("%s suite --method nope %s", exe, q), 2);
    assert_int_equal(sh("%s suite --methods pixel-oc,nope %s", exe, q), 2);
    assert_int_equal(sh("%s suite --methods pixel-oc,pixel-oc %s", exe, q), 2);
    assert_int_equal(sh("%s suite --seeds 3-1 %s", exe, q), 2);
    assert_int_equal(sh("%s suite --seeds 0,x %s", exe, q), 2);
    assert_int_equal(sh("%s suite --seeds 1,0-2 %s", exe, q), 2);
    /* srun's tasks without an MPI job among them (srun --mpi=none): each would run the whole
     * suite, so each refuses before writing anything */
    assert_int_equal(sh("SLURM_STEP_NUM_TASKS=3 %s suite --filter hoop_32x64 --steps 3 --out "
                        "%s/alone %s",
                        exe, tmp_root, q),
                     1);
    char alone[700];
    snprintf(alone, sizeof alone, "%s/alone", tmp_root);
    assert_int_equal(stat(alone, &st), -1);
    /* the last of --method/--methods and of --seed/--seeds wins (as a batch script's extra
     * arguments expect), none is dropped silently */
    assert_int_equal(sh("%s suite --filter hoop_32x64 --methods pixel-oc --method pixel-mma "
                        "--seeds 0-3 --seed 2 --steps 3 --quiet --out %s/last %s",
                        exe, tmp_root, q),
                     0);
    assert_int_equal(sh("test -d %s/last/hoop_32x64_0.25/pixel-mma/seed2 && test \"$(ls "
                        "%s/last/hoop_32x64_0.25 | wc -l)\" -eq 1 && test \"$(ls "
                        "%s/last/hoop_32x64_0.25/pixel-mma | wc -l)\" -eq 1",
                        tmp_root, tmp_root, tmp_root),
                     0);
    assert_int_equal(sh("%s suite --list --filter mbb_beam_96 %s", exe, q), 0);
    assert_int_equal(sh("%s suite --list --small --large %s", exe, q), 2);
    /* --large: the paper's 54 large problems only; of the five MBB beams one is large */
    assert_int_equal(sh("test \"$(%s suite --list --large --filter mbb_beam_)\" = "
                        "mbb_beam_384x128_0.3",
                        exe),
                     0);
    assert_int_equal(sh("test \"$(%s suite --list --large | wc -l)\" -eq 54", exe), 0);
    /* the suite runner with two worker processes on two small problems */
    assert_int_equal(sh("%s suite --filter _96x32 --method pixel-oc --steps 3 --jobs 2 --quiet "
                        "--out %s/suite %s",
                        exe, tmp_root, q),
                     0);
    char csv[700], line[1024];
    snprintf(csv, sizeof csv, "%s/suite/summary.csv", tmp_root);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    int rows = 0, mbb = 0, cant = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        if (!strncmp(line, "mbb_beam_96x32_0.5,", 19)) mbb = rows;
        if (!strncmp(line, "cantilever_beam_full_96x32_0.4,", 31)) cant = rows;
        if (rows > 1 && !strstr(line, ",ok\n")) fail_msg("suite row not ok: %s", line);
    }
    fclose(f);
    assert_int_equal(rows, 3);
    assert_int_equal(mbb, 2); /* problems.json order, whatever the workers' timing */
    assert_int_equal(cant, 3);
    /* --resume keeps the finished problems (their result.h5 is not rewritten: same inode)
     * and reruns the one whose row is gone; another budget or seed reruns everything */
    char h5m[700], h5c[700], rowc[700];
    snprintf(h5m, sizeof h5m, "%s/suite/mbb_beam_96x32_0.5/pixel-oc/seed0/result.h5", tmp_root);
    snprintf(h5c, sizeof h5c, "%s/suite/cantilever_beam_full_96x32_0.4/pixel-oc/seed0/result.h5",
             tmp_root);
    snprintf(rowc, sizeof rowc,
             "%s/suite/cantilever_beam_full_96x32_0.4/pixel-oc/seed0/suite_row.txt", tmp_root);
    ino_t i0 = inode_of(h5m);
    /* --report with a seed that never ran: its tasks are "not run", the problems "partial" */
    assert_int_equal(sh("%s suite --filter _96x32 --method pixel-oc --steps 3 --seeds 0-1 "
                        "--report --quiet --out %s/suite %s",
                        exe, tmp_root, q),
                     0);
    char tcsv[700];
    snprintf(tcsv, sizeof tcsv, "%s/suite/tasks.csv", tmp_root);
    f = fopen(tcsv, "r");
    assert_non_null(f);
    int notrun = 0, partial = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, ",pixel-oc,1,") && strstr(line, ",not run\n")) notrun++;
    fclose(f);
    f = fopen(csv, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        partial += strstr(line, ",partial\n") != NULL;
    fclose(f);
    assert_int_equal(notrun, 2);
    assert_int_equal(partial, 2);
    /* a task whose process died: the row it wrote as it started (code 131) is all it left */
    f = fopen(rowc, "r");
    assert_non_null(f);
    char rowline[512];
    assert_non_null(fgets(rowline, sizeof rowline, f));
    fclose(f);
    f = fopen(rowc, "w");
    assert_non_null(f);
    fprintf(f, "131%s", strchr(rowline, ' '));
    fclose(f);
    assert_int_equal(unlink(h5c), 0);
    /* --report runs nothing, exits 0 and lists the dead task as failed */
    assert_int_equal(sh("%s suite --filter _96x32 --method pixel-oc --steps 3 --report --quiet "
                        "--out %s/suite %s",
                        exe, tmp_root, q),
                     0);
    assert_int_equal(access(h5c, F_OK), -1);
    f = fopen(csv, "r");
    assert_non_null(f);
    int ok = 0, failed = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "mbb_beam_96x32_0.5,", 19) && strstr(line, ",ok\n")) ok++;
        if (!strncmp(line, "cantilever_beam_full_96x32_0.4,", 31) && strstr(line, ",failed\n"))
            failed++;
    }
    fclose(f);
    assert_int_equal(ok, 1);
    assert_int_equal(failed, 1);
    assert_true(resumed_suite(exe, "--steps 3", h5m) == i0);
    (void)inode_of(h5c); /* the cantilever ran again: its result.h5 is back */
    ino_t i1 = resumed_suite(exe, "--steps 4", h5m);
    assert_true(i1 != i0);
    assert_true(resumed_suite(exe, "--steps 4", h5m) == i1);
    /* another seed is another task in its own directory: seed 0's result stays */
    assert_true(resumed_suite(exe, "--steps 4 --seed 1", h5m) == i1);
    char h5s1[700];
    snprintf(h5s1, sizeof h5s1, "%s/suite/mbb_beam_96x32_0.5/pixel-oc/seed1/result.h5", tmp_root);
    (void)inode_of(h5s1);
    f = fopen(csv, "r");
    assert_non_null(f);
    rows = 0;
    while (fgets(line, sizeof line, f))
        if (++rows > 1 && !strstr(line, ",ok\n")) fail_msg("suite row: %s", line);
    fclose(f);
    assert_int_equal(rows, 3);
    char png[700];
    snprintf(png, sizeof png, "%s/r.png", out);
    unsigned char *px;
    int w, h;
    char err[512];
    assert_int_equal(app_png_read_gray(png, &px, &w, &h, err, sizeof err), APP_IO_OK);
    assert_int_equal(w, 16 * 2);
    assert_int_equal(h, 8 * 2);
    free(px);
}

/* Field k (0-based) of a CSV line (no quoted fields in the suite's files). */
static void csv_field(const char *line, int k, char *out, size_t len)
{
    for (int i = 0; i < k && line; i++) {
        line = strchr(line, ',');
        if (line) line++;
    }
    if (!line) fail_msg("CSV line too short");
    size_t n = strcspn(line, ",\n");
    if (n >= len) n = len - 1;
    memcpy(out, line, n);
    out[n] = '\0';
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Hold an exclusive flock on path (as another process's run or report would); the descriptor. */
static int hold_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666); /* not held by the commands */
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    return fd;
}

/* 1 once path exists (and holds text, unless text is NULL), polling for up to a minute (a loaded
 * machine, a sanitizer build); 0 if it never does. */
static int wait_for_file(const char *path, const char *text)
{
    for (int i = 0; i < 6000; i++) {
        if (access(path, F_OK) == 0) {
            if (!text) return 1;
            size_t n = 0;
            unsigned char *b = test_read_file(path, &n);
            b[n] = '\0';
            int has = strstr((char *)b, text) != NULL;
            free(b);
            if (has) return 1;
        }
        usleep(10000);
    }
    return 0;
}

/* Two processes never write one folder: `topopt run` refuses (exit 2, before writing anything)
 * a folder whose run.lock another run holds, or whose task.lock a suite task holds, and runs
 * once the lock is free; a suite report waits for another process's report (report.lock),
 * says so, and writes once it is free. */
static void test_folder_locks(void **state)
{
    (void)state;
    make_tmp();
    char cfg[600], dir[600], lk[700], log[700], h5[700];
    snprintf(cfg, sizeof cfg, "%s/locked.yaml", tmp_root);
    snprintf(dir, sizeof dir, "%s/locked", tmp_root);
    snprintf(log, sizeof log, "%s/locked.log", tmp_root);
    snprintf(h5, sizeof h5, "%s/result.h5", dir);
    write_file(cfg, PIXEL_OC_64x32);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(lk, sizeof lk, "%s/run.lock", dir);
    int fd = hold_lock(lk);
    assert_int_equal(sh("%s run %s --out %s --quiet >%s 2>&1", TOPOPT_EXE, cfg, dir, log), 2);
    assert_file_has(log, "another process is writing this folder (a run holds");
    assert_file_has(log, lk);
    assert_int_equal(access(h5, F_OK), -1); /* refused before any work */
    close(fd);
    assert_int_equal(sh("%s run %s --out %s --quiet >%s 2>&1", TOPOPT_EXE, cfg, dir, log), 0);
    assert_int_equal(access(h5, F_OK), 0);
    /* a suite task running in the folder keeps a resume off it too */
    snprintf(lk, sizeof lk, "%s/task.lock", dir);
    fd = hold_lock(lk);
    assert_int_equal(sh("%s run %s --resume %s --quiet >%s 2>&1", TOPOPT_EXE, cfg, dir, log), 2);
    assert_file_has(log, "(a suite task holds");
    close(fd);

    char sdir[600], summary[700], rc[700];
    snprintf(sdir, sizeof sdir, "%s/locked_suite", tmp_root);
    snprintf(summary, sizeof summary, "%s/summary.csv", sdir);
    snprintf(rc, sizeof rc, "%s/report.rc", tmp_root);
    assert_int_equal(mkdir(sdir, 0777), 0);
    snprintf(lk, sizeof lk, "%s/report.lock", sdir);
    fd = hold_lock(lk);
    /* in the background, its exit code into report.rc at the end */
    assert_int_equal(sh("(%s suite --filter mbb_beam_96x32 --methods pixel-oc --out %s --report "
                        ">%s 2>&1; echo $? >%s.new && mv %s.new %s) &",
                        TOPOPT_EXE, sdir, log, rc, rc, rc),
                     0);
    assert_true(wait_for_file(log, "waiting for another process to finish writing the report"));
    assert_int_equal(access(summary, F_OK), -1); /* it waits */
    close(fd);
    assert_true(wait_for_file(rc, NULL));
    assert_file_has(rc, "0\n"); /* a report of what is there: no task has run */
    assert_int_equal(access(summary, F_OK), 0);
}

/* While tasks run the suite rewrites its report (--report-every): after the first task with a
 * tiny interval (then no more often than 50 times the report's own cost allows), never after
 * the last (the final report follows), never with 0. */
static void test_suite_interim_report(void **state)
{
    (void)state;
    make_tmp();
    char dir[600], log[700];
    snprintf(log, sizeof log, "%s/interim.log", tmp_root);
    const char *args = "--filter pure_bending_moment_32x64 --methods pixel-oc --seeds 0-2 "
                       "--steps 20";
    snprintf(dir, sizeof dir, "%s/interim", tmp_root);
    assert_int_equal(
        sh("%s suite %s --report-every 0.001 --out %s >%s 2>&1", TOPOPT_EXE, args, dir, log), 0);
    assert_file_has(log, "suite: report updated: 1 of 3 tasks ok (");
    assert_int_equal(sh("grep -q 'report updated: 3 of 3' %s", log), 1);
    assert_file_has(log, "suite: 3 tasks, "); /* and the final report */
    snprintf(dir, sizeof dir, "%s/interim0", tmp_root);
    assert_int_equal(
        sh("%s suite %s --report-every 0 --out %s >%s 2>&1", TOPOPT_EXE, args, dir, log), 0);
    assert_int_equal(sh("grep -q 'report updated' %s", log), 1);
    assert_int_equal(sh("%s suite %s --report-every 1e9 %s", TOPOPT_EXE, args, ">/dev/null 2>&1"),
                     2);
}

/* --methods x --seeds: one task each (tasks.csv), and per method the typical compliance is the
 * median of that method's seeds, the best their minimum, beside the paper's columns of
 * problems.json; the pictures decode. */
static void test_suite_seeds_methods(void **state)
{
    (void)state;
    make_tmp();
    const char *pb = "pure_bending_moment_32x64_0.15";
    assert_int_equal(sh("%s suite --filter %s --methods cnn-lbfgs,pixel-oc --seeds 0-1,5,7 "
                        "--steps 3 --jobs 2 --quiet --out %s/seeds >/dev/null 2>&1",
                        TOPOPT_EXE, pb, tmp_root),
                     0);
    char path[700], line[2048], f[128];
    snprintf(path, sizeof path, "%s/seeds/tasks.csv", tmp_root);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    double c[2][4], grey[2][4];
    int nc[2] = {0, 0}, rows = 0;
    static const char *const seeds[4] = {"0", "1", "5", "7"};
    assert_non_null(fgets(line, sizeof line, fp));
    while (fgets(line, sizeof line, fp)) {
        rows++;
        csv_field(line, 1, f, sizeof f);
        int m = !strcmp(f, "pixel-oc");
        if (!m && strcmp(f, "cnn-lbfgs")) fail_msg("method %s", f);
        csv_field(line, 2, f, sizeof f);
        assert_string_equal(f, seeds[nc[m]]); /* task order: problem, method, seed */
        csv_field(line, 3, f, sizeof f);
        c[m][nc[m]] = strtod(f, NULL);
        /* the grey fraction: the design's, counted here from result.h5 (no passive region) */
        char h5[800], err5[512];
        snprintf(h5, sizeof h5, "%s/seeds/%s/%s/seed%s/result.h5", tmp_root, pb,
                 m ? "pixel-oc" : "cnn-lbfgs", seeds[nc[m]]);
        app_result r;
        assert_int_equal(app_h5_read(h5, &r, err5, sizeof err5), APP_IO_OK);
        int ngrey = 0;
        for (int e = 0; e < r.W * r.H; e++)
            ngrey += r.rho_physical[e] > 0.1 && r.rho_physical[e] < 0.9;
        grey[m][nc[m]] = (double)ngrey / (r.W * r.H);
        csv_field(line, 10, f, sizeof f);
        assert_close(strtod(f, NULL), grey[m][nc[m]], 0, 6e-5); /* printed with 4 decimals */
        app_result_free(&r);
        nc[m]++;
        assert_non_null(strstr(line, ",ok\n"));
    }
    fclose(fp);
    assert_int_equal(rows, 8);
    assert_true(c[0][0] != c[0][1]); /* the network seed matters */
    app_benchmark *b;
    int nb;
    char err[512];
    assert_int_equal(app_benchmarks_load(BENCH, &b, &nb, err, sizeof err), 0);
    int ib = app_benchmarks_find(b, nb, pb);
    assert_true(ib >= 0);
    double best4 = b[ib].typical[0];
    for (int r = 1; r < APP_REF_N; r++)
        best4 = fmin(best4, b[ib].typical[r]);
    snprintf(path, sizeof path, "%s/seeds/summary.csv", tmp_root);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    static const int ref[2] = {APP_REF_CNN_LBFGS, APP_REF_PIXEL_OC};
    for (int m = 0; m < 2; m++) {
        assert_non_null(fgets(line, sizeof line, fp));
        qsort(c[m], 4, sizeof c[m][0], cmp_dbl);
        csv_field(line, 8, f, sizeof f);
        assert_close(strtod(f, NULL), 0.5 * (c[m][1] + c[m][2]), 1e-15, 0);
        csv_field(line, 9, f, sizeof f);
        assert_close(strtod(f, NULL), c[m][0], 1e-15, 0);
        csv_field(line, 10, f, sizeof f);
        assert_close(strtod(f, NULL), b[ib].typical[ref[m]], 1e-15, 0);
        csv_field(line, 11, f, sizeof f);
        assert_close(strtod(f, NULL), b[ib].ensemble[ref[m]], 1e-15, 0);
        csv_field(line, 12, f, sizeof f);
        assert_close(strtod(f, NULL), best4, 1e-15, 0);
        qsort(grey[m], 4, sizeof grey[m][0], cmp_dbl);
        csv_field(line, 18, f, sizeof f);
        assert_close(strtod(f, NULL), 0.5 * (grey[m][1] + grey[m][2]), 0, 6e-5);
    }
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    app_benchmarks_free(b, nb);
    /* the counts per method are in summary.md; the pictures decode */
    snprintf(path, sizeof path, "%s/seeds/summary.md", tmp_root);
    fp = fopen(path, "r");
    assert_non_null(fp);
    int counts = 0;
    while (fgets(line, sizeof line, fp))
        counts += !strncmp(line, "| cnn-lbfgs | 1 |", 17) || !strncmp(line, "| pixel-oc | 1 |", 16);
    fclose(fp);
    assert_int_equal(counts, 2);
    static const char *const pics[3] = {"summary.png", "summary_best4.png", "gallery.png"};
    for (int i = 0; i < 3; i++) {
        unsigned char *px;
        int w, h;
        snprintf(path, sizeof path, "%s/seeds/%s", tmp_root, pics[i]);
        assert_int_equal(app_png_read_gray(path, &px, &w, &h, err, sizeof err), APP_IO_OK);
        assert_true(w >= 300 && h >= 100 && w <= 4000 && h <= 4000);
        free(px);
    }
}

static int cleanup(void **state)
{
    (void)state;
    if (tmp_root[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    }
    return 0;
}

#ifdef _OPENMP
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);

/* With one thread a parallel region is called directly (app_threads_region_inline): no
 * libgomp team, so omp_get_level() stays 0 inside; libraries loaded by the program (CHOLMOD)
 * find the program's GOMP_parallel; worksharing, single, barrier and tasks inside still do
 * every iteration once. With two threads the region is libgomp's: a team of two at level 1. */
static void threads_region_checks(void)
{
    void *found = dlsym(RTLD_DEFAULT, "GOMP_parallel");
    void (*ours)(void (*)(void *), void *, unsigned, unsigned) = GOMP_parallel;
    assert_memory_equal(&found, &ours, sizeof found);
    app_threads_apply(1, 100, NULL);
    assert_true(app_threads_region_inline(4));
    int level = -1, team = 0, hits[1000] = {0}, singles = 0, tasks = 0;
#pragma omp parallel num_threads(4)
    {
        level = omp_get_level();
        team = omp_get_num_threads();
#pragma omp for schedule(dynamic, 7)
        for (int i = 0; i < 1000; i++)
            hits[i]++;
#pragma omp single
        singles++;
#pragma omp barrier
#pragma omp task
        tasks++;
#pragma omp taskwait
    }
    assert_int_equal(level, 0);
    assert_int_equal(team, 1);
    assert_int_equal(singles, 1);
    assert_int_equal(tasks, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hits[i], 1);
    int dyn = omp_get_dynamic();
    omp_set_dynamic(0);
    app_threads_apply(2, 100, NULL);
    assert_false(app_threads_region_inline(2));
    int sum = 0;
#pragma omp parallel num_threads(2) reduction(+ : sum)
    {
        sum += 1;
#pragma omp master
        level = omp_get_level();
    }
    assert_int_equal(sum, 2);
    assert_int_equal(level, 1);
    omp_set_dynamic(dyn);
    app_threads_apply(1, 100, NULL);
}
#endif

/* threads: the environment overrides the program's choice; without it the program sets the
 * count it asked for (requested, forced by the suite's division, or auto capped). */
static void test_threads(void **state)
{
    (void)state;
    app_threads_info ti;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    app_threads_apply(1, 100, &ti);
    assert_int_equal(ti.blas_env, 1);
    assert_int_equal(ti.blas, 1);
    unsetenv("OPENBLAS_NUM_THREADS");
    unsetenv("GOTO_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    app_threads_apply(1, 100, &ti);
    assert_int_equal(ti.blas_env, 0);
    assert_int_equal(ti.omp_env, 0);
    assert_int_equal(ti.blas, 1);
    assert_int_equal(ti.omp, 1);
#ifdef _OPENMP
    {
        int team = 0, dyn = omp_get_dynamic();
        omp_set_dynamic(0); // else a loaded machine alone could give one thread
#pragma omp parallel num_threads(4)
        {
#pragma omp master
            team = omp_get_num_threads();
        }
        omp_set_dynamic(dyn);
        assert_int_equal(team, 1); // a num_threads clause (as CHOLMOD's) gets one thread too
    }
    threads_region_checks();
#endif
    assert_int_equal(app_threads_auto(256 * 256), 1);
    assert_true(app_threads_cores() >= 1);
    app_threads_limit(1, 0); // the suite with as many jobs as cores
    app_threads_apply(0, 256 * 256, &ti);
    assert_int_equal(ti.blas, 1);
    app_threads_limit(0, 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 1); // as ctest runs every test
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_benchmark),
        cmocka_unit_test(test_config_set_overrides),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_name_lists),
        cmocka_unit_test(test_config_copy_free),
        cmocka_unit_test(test_config_dump_roundtrip),
        cmocka_unit_test(test_config_readme_in_sync),
        cmocka_unit_test(test_config_shipped),
        cmocka_unit_test(test_chain_gradient_cnn),
        cmocka_unit_test(test_chain_gradient_sigmoid_mean),
        cmocka_unit_test(test_chain_sigmoid_mean_volume),
        cmocka_unit_test(test_grey_fraction),
        cmocka_unit_test(test_checkpoint_due),
        cmocka_unit_test(test_chain_benchmark_c0),
        cmocka_unit_test(test_top88_mbb),
        cmocka_unit_test(test_mma_compliance_units),
        cmocka_unit_test(test_outputs_roundtrip),
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_resume_other_problem),
        cmocka_unit_test(test_resume_damaged),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_config_hostile_yaml),
        cmocka_unit_test(test_cost_check),
        cmocka_unit_test(test_keep_state_continues),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_cli_exit_codes),
        cmocka_unit_test(test_suite_seeds_methods),
        cmocka_unit_test(test_folder_locks),
        cmocka_unit_test(test_suite_interim_report),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("app", tests, NULL, cleanup);
}
