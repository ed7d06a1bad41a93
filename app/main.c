// app/main.c: the topopt command line (run, check, render, suite, schema)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cost.h"
#include "export.h"
#include "run.h"
#include "threads.h"

static const char *USAGE =
    "usage: topopt <command> [options]\n"
    "\n"
    "Constrained deep-learning topology optimization (compliance minimization on a 2D grid).\n"
    "\n"
    "commands:\n"
    "  run CONFIG     optimize the design described by the YAML config\n"
    "  check CONFIG   validate a config (and its --set overrides) without running\n"
    "  render FILE    redraw a result.h5 as a PNG picture\n"
    "  suite          run the Hoyer et al. 2019 benchmark problems and tabulate the results\n"
    "  schema         print the config reference (configs/README.md) as markdown\n"
    "\n"
    "options:\n"
    "  --version      print the version and exit\n"
    "  --help         this text; `topopt <command> --help` describes a command\n"
    "\n"
    "exit codes: 0 ok, 1 run failed, 2 usage or config error\n";

static const char *RUN_USAGE =
    "usage: topopt run CONFIG [--set key=value]... [--out DIR] [--seed N] [--quiet]\n"
    "                         [--resume DIR] [--threads N]\n"
    "\n"
    "Optimize one design. Writes DIR/design.png, DIR/result.h5 (densities, displacements,\n"
    "parameters, history, resolved config; also the checkpoint), DIR/history.csv and, with\n"
    "outputs.frames_every, DIR/frames/NNNN.png. DIR defaults to outputs.dir or\n"
    "results/<config name>.\n"
    "\n"
    "  --set key=value  override a config key (dotted path, YAML value), repeatable\n"
    "  --out DIR        output folder\n"
    "  --seed N         seed of the initialization (overrides the config's seed)\n"
    "  --quiet          no iteration table, only the summary line\n"
    "  --resume DIR     continue from the checkpoint DIR/result.h5 (same config)\n"
    "  --threads N      BLAS and OpenMP threads (overrides the config key threads; default\n"
    "                   auto = 1; OPENBLAS_NUM_THREADS / OMP_NUM_THREADS still override)\n"
    "\n"
    "SIGINT/SIGTERM/SIGUSR2 stop the run after the current iteration and write the "
    "checkpoint.\n";

static const char *CHECK_USAGE =
    "usage: topopt check CONFIG [--set key=value]...\n"
    "\n"
    "Validate the config; print the resolved config as YAML. Exit 0 if valid, 2 otherwise\n"
    "(message `FILE:LINE:COL: ...`).\n";

static const char *RENDER_USAGE = "usage: topopt render RESULT.h5 [--png FILE] [--scale K]\n"
                                  "\n"
                                  "Redraw the physical density of a result file. FILE defaults "
                                  "to design.png beside RESULT.h5;\n"
                                  "K is pixels per element (default: at least 600 px wide).\n";

static const char *SUITE_USAGE =
    "usage: topopt suite [--filter PATTERN] [--methods M,...] [--seeds LIST] [--steps N]\n"
    "                    [--jobs N] [--out DIR] [--small|--large] [--resume] [--report]\n"
    "                    [--list] [--threads N] [--rank-timeout S] [--report-every S]\n"
    "                    [--set key=value]... [--import TASKS.csv]...\n"
    "       mpirun -n N topopt suite ...   (MPI task farm, if built with MPI)\n"
    "\n"
    "Run the problems of configs/benchmarks/hoyer2019/problems.json, each with every method\n"
    "and seed (one task each, results in DIR/<problem>/<method>/seed<k>/), and write\n"
    "DIR/summary.csv, summary.md, tasks.csv, the charts summary.png and summary_best4.png and\n"
    "the contact sheet gallery.png: per problem and method our typical (median over the seeds)\n"
    "and best compliance beside the paper's, and the best of its four methods.\n"
    "DIR defaults to results/suite.\n"
    "\n"
    "  --filter PATTERN  only problems whose name contains PATTERN\n"
    "  --methods M,...   methods (default cnn-lbfgs), from the list below; --method M: one\n"
    "  --steps N         function evaluations per task (default 1000)\n"
    "  --jobs N          tasks run in parallel processes (default 1; not under mpirun)\n"
    "  --seeds LIST      seeds of the network initialization, ranges and lists: 0-9, 0,3,7-9\n"
    "                    (default 0); the paper's typical compliance is a median over seeds\n"
    "  --seed N          the same as --seeds N\n"
    "  --small           only the paper's 62 small problems\n"
    "  --large           only the paper's 54 large problems\n"
    "  --resume          keep the tasks DIR already holds a finished result of (same\n"
    "                    method, seed and --steps) and run only the others\n"
    "  --report          run nothing: write the summary of the finished tasks DIR holds\n"
    "                    (a suite still running or cut short; the others show as not run)\n"
    "  --report-every S  while tasks run, rewrite the report at most every S seconds\n"
    "                    (default 300; less often where writing it takes over 2 % of the\n"
    "                    time; 0: only at the end; not under mpirun)\n"
    "  --list            print the problem names and exit\n"
    "  --threads N       threads of the whole suite, divided among the --jobs workers\n"
    "                    (default: each worker the auto count, 1, at most cores / jobs)\n"
    "  --rank-timeout S  under mpirun: a worker rank silent for S seconds (default 120) is\n"
    "                    taken for dead and its task goes to another rank, from its last\n"
    "                    checkpoint (needs a launcher that keeps the other ranks running:\n"
    "                    mpirun --mca orte_enable_recovery 1, or srun --no-kill)\n"
    "  --set key=value   override a config key of every task (as run --set), repeatable;\n"
    "                    --resume keeps only results made with the same overrides\n"
    "  --import FILE     tasks finished elsewhere (another machine, a folder now gone): the\n"
    "                    ok rows of FILE, the tasks.csv of another suite run, count as\n"
    "                    finished tasks of this one when problem, method, seed, --steps and\n"
    "                    --set overrides match; they are not run and the tables report their\n"
    "                    figures (a finished task in DIR comes first); repeatable, the first\n"
    "                    file with a task wins\n";

static int usage_error(const char *msg, const char *usage)
{
    fprintf(stderr, "topopt: %s\n\n%s", msg, usage);
    return APP_EXIT_USAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* A decimal number lo..hi (strtod: "300", "0.5", "1e-3"), NaN refused. */
static int parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* Shared parsing of CONFIG and --set for run/check. */
typedef struct {
    const char *config;
    char **sets;
    int n_sets;
    const char *out, *resume;
    int quiet, has_seed, threads;
    unsigned long seed;
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a, int is_run, const char *usage)
{
    memset(a, 0, sizeof *a);
    a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
    if (!a->sets) return usage_error("out of memory", usage);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(s, "--set")) {
            if (i + 1 >= argc) return usage_error("--set needs key=value", usage);
            a->sets[a->n_sets++] = argv[++i];
        } else if (!strncmp(s, "--set=", 6)) {
            a->sets[a->n_sets++] = argv[i] + 6;
        } else if (is_run && !strcmp(s, "--out")) {
            if (i + 1 >= argc) return usage_error("--out needs a folder", usage);
            a->out = argv[++i];
        } else if (is_run && !strcmp(s, "--resume")) {
            if (i + 1 >= argc) return usage_error("--resume needs a folder", usage);
            a->resume = argv[++i];
        } else if (is_run && !strcmp(s, "--seed")) {
            long v;
            if (i + 1 >= argc || parse_int(argv[i + 1], 0, 2147483647L, &v))
                return usage_error("--seed needs a non-negative integer", usage);
            a->seed = (unsigned long)v;
            a->has_seed = 1;
            i++;
        } else if (is_run && !strcmp(s, "--threads")) {
            long v;
            if (i + 1 >= argc || parse_int(argv[i + 1], 1, 1024, &v))
                return usage_error("--threads needs an integer 1..1024", usage);
            a->threads = (int)v;
            i++;
        } else if (is_run && !strcmp(s, "--quiet")) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1]) {
            char m[256];
            snprintf(m, sizeof m, "unknown option '%s'", s);
            return usage_error(m, usage);
        } else if (!a->config) {
            a->config = s;
        } else {
            char m[256];
            snprintf(m, sizeof m, "unexpected argument '%s'", s);
            return usage_error(m, usage);
        }
    }
    if (!a->config) return usage_error("missing CONFIG", usage);
    return 0;
}

static int cmd_run(int argc, char **argv, int is_run)
{
    run_args a;
    const char *usage = is_run ? RUN_USAGE : CHECK_USAGE;
    int r = parse_run_args(argc, argv, &a, is_run, usage);
    if (r) {
        free(a.sets);
        return r < 0 ? APP_EXIT_OK : r;
    }
    app_config conf, *c = &conf; /* its lists are released by app_config_free */
    char err[2048];
    if (app_config_load(c, a.config, a.n_sets, a.sets, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        free(a.sets);
        return APP_EXIT_USAGE;
    }
    free(a.sets);
    app_cost cost;
    if (app_cost_check(c, &cost, err, sizeof err)) { /* before any work, in check and run */
        fprintf(stderr, "topopt: %s\n", err);
        app_config_free(c);
        return APP_EXIT_USAGE;
    }
    if (!is_run) {
        app_config_write(c, stdout);
        app_cost_print(&cost, stdout);
        fprintf(stderr, "%s: ok\n", a.config);
        app_config_free(c);
        return APP_EXIT_OK;
    }
    if (a.out) snprintf(c->out_dir, sizeof c->out_dir, "%s", a.out);
    if (a.has_seed) c->seed = a.seed;
    if (a.threads) c->threads = a.threads;
    app_run_opts o = {.resume_dir = a.resume, .quiet = a.quiet};
    char dir[1100];
    app_run_dir(c, &o, dir, sizeof dir);
    int lock = app_run_lock_dir(dir, a.resume != NULL);
    if (lock == APP_IO_LOCK_BUSY) {
        app_config_free(c);
        return APP_EXIT_USAGE;
    }
    app_run_install_signals();
    r = app_run(c, &o, NULL);
    if (lock >= 0) close(lock);
    app_config_free(c);
    return r;
}

static int cmd_render(int argc, char **argv)
{
    const char *in = NULL, *png = NULL;
    long scale = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(RENDER_USAGE, stdout);
            return APP_EXIT_OK;
        } else if (!strcmp(argv[i], "--png")) {
            if (i + 1 >= argc) return usage_error("--png needs a file", RENDER_USAGE);
            png = argv[++i];
        } else if (!strcmp(argv[i], "--scale")) {
            if (i + 1 >= argc || parse_int(argv[i + 1], 1, 64, &scale))
                return usage_error("--scale needs an integer 1..64", RENDER_USAGE);
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            char m[256];
            snprintf(m, sizeof m, "unknown option '%s'", argv[i]);
            return usage_error(m, RENDER_USAGE);
        } else if (!in) {
            in = argv[i];
        } else {
            return usage_error("more than one RESULT.h5", RENDER_USAGE);
        }
    }
    if (!in) return usage_error("missing RESULT.h5", RENDER_USAGE);
    char def[1100];
    if (!png) {
        const char *slash = strrchr(in, '/');
        if (slash)
            snprintf(def, sizeof def, "%.*s/design.png", (int)(slash - in), in);
        else
            snprintf(def, sizeof def, "design.png");
        png = def;
    }
    char err[1024];
    app_io_status st = app_result_render_png(in, png, (int)scale, err, sizeof err);
    if (st != APP_IO_OK) {
        fprintf(stderr, "topopt: render: %s\n", err);
        /* a bad input is a usage error; a picture that cannot be written is a failure */
        return st == APP_IO_ERR_IO || st == APP_IO_ERR_NOMEM ? APP_EXIT_FAILED : APP_EXIT_USAGE;
    }
    printf("wrote %s\n", png);
    return APP_EXIT_OK;
}

static int suite_args(int argc, char **argv, char **sets, char **imports)
{
    app_suite_opts o = {.steps = 1000, .jobs = 1};
    int list = 0;
    o.sets = sets;
    o.imports = imports;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        long v;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(SUITE_USAGE, stdout);
            fputs("\nmethods: ", stdout);
            app_suite_print_methods(stdout);
            fputs("\n", stdout);
            return APP_EXIT_OK;
        } else if (!strcmp(s, "--filter") && i + 1 < argc) {
            o.filter = argv[++i];
        } else if ((!strcmp(s, "--method") || !strcmp(s, "--methods")) && i + 1 < argc) {
            /* one option under two names, so that the last one given wins, as with the others */
            o.methods = argv[++i];
        } else if (!strcmp(s, "--seeds") && i + 1 < argc) {
            o.seeds = argv[++i];
        } else if (!strcmp(s, "--out") && i + 1 < argc) {
            o.out_dir = argv[++i];
        } else if (!strcmp(s, "--steps") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 100000000L, &v))
                return usage_error("--steps needs a positive integer", SUITE_USAGE);
            o.steps = (int)v;
        } else if (!strcmp(s, "--jobs") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 256, &v))
                return usage_error("--jobs needs an integer 1..256", SUITE_USAGE);
            o.jobs = (int)v;
        } else if (!strcmp(s, "--threads") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 1024, &v))
                return usage_error("--threads needs an integer 1..1024", SUITE_USAGE);
            o.threads = (int)v;
        } else if (!strcmp(s, "--report-every") && i + 1 < argc) {
            double sec;
            if (parse_seconds(argv[++i], 0, 86400, &sec))
                return usage_error("--report-every needs seconds, a number 0..86400", SUITE_USAGE);
            o.report_every = sec > 0 ? sec : -1;
        } else if (!strcmp(s, "--rank-timeout") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 86400, &v))
                return usage_error("--rank-timeout needs seconds, an integer 1..86400",
                                   SUITE_USAGE);
            o.rank_timeout = (double)v;
        } else if (!strcmp(s, "--seed") && i + 1 < argc) {
            if (parse_int(argv[++i], 0, 2147483647L, &v))
                return usage_error("--seed needs a non-negative integer", SUITE_USAGE);
            o.seeds = argv[i]; /* the last of --seed and --seeds wins */
        } else if (!strcmp(s, "--small")) {
            o.small_only = 1;
        } else if (!strcmp(s, "--large")) {
            o.large_only = 1;
        } else if (!strcmp(s, "--report")) {
            o.report = 1;
        } else if (!strcmp(s, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(s, "--quiet")) {
            o.quiet = 1;
        } else if (!strcmp(s, "--set") && i + 1 < argc) {
            sets[o.n_sets++] = argv[++i];
        } else if (!strncmp(s, "--set=", 6)) {
            sets[o.n_sets++] = argv[i] + 6;
        } else if (!strcmp(s, "--import") && i + 1 < argc) {
            imports[o.n_imports++] = argv[++i];
        } else if (!strcmp(s, "--list")) {
            list = 1;
        } else {
            char m[256];
            snprintf(m, sizeof m, "unknown or incomplete option '%s'", s);
            return usage_error(m, SUITE_USAGE);
        }
    }
    if (o.small_only && o.large_only)
        return usage_error("--small and --large exclude each other", SUITE_USAGE);
    if (list) {
        app_benchmark *b;
        int n;
        char err[1024];
        if (app_benchmarks_load(app_benchmarks_path(), &b, &n, err, sizeof err)) {
            fprintf(stderr, "topopt: %s\n", err);
            return APP_EXIT_USAGE;
        }
        for (int i = 0; i < n; i++)
            if (app_suite_selects(&o, &b[i])) printf("%s\n", b[i].name);
        app_benchmarks_free(b, n);
        return APP_EXIT_OK;
    }
    return app_suite(&o);
}

static int cmd_suite(int argc, char **argv)
{
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    char **imports = calloc((size_t)argc + 1, sizeof *imports);
    int rc = sets && imports ? suite_args(argc, argv, sets, imports)
                             : usage_error("out of memory", SUITE_USAGE);
    free(sets);
    free(imports);
    return rc;
}

int main(int argc, char **argv)
{
    app_blas_kernel_fix(argv); // OpenBLAS's fast kernels on CPUs it does not know (threads.h)
    if (argc < 2) return usage_error("missing command", USAGE);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("topopt %s (ncvx %s)\n", APP_VERSION, NCVX_VERSION);
        return APP_EXIT_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return APP_EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2, 1);
    if (!strcmp(cmd, "check")) return cmd_run(argc - 2, argv + 2, 0);
    if (!strcmp(cmd, "render")) return cmd_render(argc - 2, argv + 2);
    if (!strcmp(cmd, "suite")) return cmd_suite(argc - 2, argv + 2);
    if (!strcmp(cmd, "schema")) {
        if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            puts("usage: topopt schema\n\nPrint the config reference (configs/README.md).");
            return APP_EXIT_OK;
        }
        app_config_schema_markdown(stdout);
        return APP_EXIT_OK;
    }
    char m[256];
    snprintf(m, sizeof m, "unknown command '%s'", cmd);
    return usage_error(m, USAGE);
}
