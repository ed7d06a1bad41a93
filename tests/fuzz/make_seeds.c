// tests/fuzz/make_seeds.c: writes the result-file seed corpus into DIR: small valid result
// files (every group, with and without a checkpoint) and the hostile shapes of h5_craft.h
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "h5_craft.h"

static int write_valid(const char *dir, const char *name, int W, int H, int checkpoint)
{
    size_t ne = (size_t)W * H, ndof = 2 * (size_t)(W + 1) * (H + 1);
    double *rho = calloc(ne, sizeof *rho), *u = calloc(ndof, sizeof *u);
    double theta[5] = {0.1, -0.2, 0.3, 0.4, 0.5}, state[7] = {1, 2, 3, 4, 5, 6, 7};
    int64_t counters[3] = {3, 7, 2};
    uint64_t words[2] = {42, 0x3ff0000000000000ULL};
    if (!rho || !u) return 1;
    for (size_t i = 0; i < ne; i++)
        rho[i] = (double)i / (double)ne;
    app_result r;
    memset(&r, 0, sizeof r);
    r.W = W;
    r.H = H;
    r.rho_physical = rho;
    r.rho_raw = rho;
    r.displacement = u;
    r.ndof = (int)ndof;
    r.n_load_cases = 1;
    r.theta = theta;
    r.n_params = 5;
    r.config_text = "problem: {width: 4, height: 3}\n";
    r.config_keys = "problem.width: 4\n";
    r.config_hash = app_fnv1a64(APP_FNV1A64_INIT, r.config_keys, strlen(r.config_keys));
    r.status = "budget";
    r.method = "lbfgs";
    const char *cn[1] = {"volume"}, *en[2] = {"mu", "stationarity"};
    double cons[1] = {0.1}, extra[2] = {1, 2};
    app_history_init(&r.history, 1, cn, 2, en, 4);
    app_history_append(&r.history, 0, 1, 10.0, cons, 0.1, 0, 0.01, extra);
    app_history_append(&r.history, 1, 3, 9.0, cons, 0.05, 0.5, 0.02, extra);
    if (checkpoint) {
        r.checkpoint.present = 1;
        r.checkpoint.n_counters = 3;
        r.checkpoint.counters = counters;
        r.checkpoint.n_words = 2;
        r.checkpoint.words = words;
        r.checkpoint.n_solver_state = 7;
        r.checkpoint.solver_state = state;
        r.checkpoint.n_extra = 5;
        r.checkpoint.extra = theta;
    }
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    app_io_status st = app_h5_write(path, &r, err, sizeof err);
    if (st) fprintf(stderr, "%s\n", err);
    app_history_free(&r.history);
    free(rho);
    free(u);
    return st != APP_IO_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int bad = write_valid(dir, "valid_ck.h5", 4, 3, 1) + write_valid(dir, "valid.h5", 3, 2, 0);
    h5_craft_spec specs[] = {
        {4, 3, 1, "fem", "displacement", 2, {1ull << 21, 1ull << 40}, 1, 0, 0, NULL, 0, 0},
        {4, 3, 1, "params", "theta", 1, {1ull << 30, 0}, 1, 0, 0, NULL, 0, 0},
        {4, 3, 1, "density", "physical", 2, {3, 4}, 0, 1, 0, NULL, 0, 0},
        {4, 3, 1, NULL, NULL, 0, {0, 0}, 0, 0, 1, "ok\0evil", 7, 0},
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/crafted%zu.h5", dir, i);
        bad += h5_craft(path, &specs[i]) != 0;
    }
    return bad ? 1 : 0;
}
