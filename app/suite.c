// app/suite.c: `topopt suite`: the benchmark problems of problems.json with one method family,
// our compliance beside the paper's, in parallel worker processes
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export.h"
#include "threads.h"

/* A method family of the paper (its reference column) and the config lines that give it. */
typedef struct {
    const char *name;
    int ref; /* APP_REF_* column */
    const char *yaml;
} family;

static const family FAMILIES[] = {
    {"cnn-lbfgs", APP_REF_CNN_LBFGS,
     "parameterization: {kind: cnn}\ndensity_map: sigmoid-mean\nmethod: {name: lbfgs}\n"},
    {"pixel-lbfgs", APP_REF_PIXEL_LBFGS,
     "parameterization: {kind: pixel}\ndensity_map: sigmoid-mean\nmethod: {name: lbfgs}\n"},
    {"pixel-mma", APP_REF_PIXEL_MMA,
     "parameterization: {kind: pixel}\ndensity_map: pixel\nconstraints: {volume: le}\n"
     "method: {name: mma}\n"},
    {"pixel-oc", APP_REF_PIXEL_OC,
     "parameterization: {kind: pixel}\ndensity_map: pixel\nconstraints: {volume: le}\n"
     "method: {name: oc}\n"},
    {"cnn-bfgs-sqp", APP_REF_CNN_LBFGS,
     "parameterization: {kind: cnn}\ndensity_map: sigmoid\nconstraints: {volume: le}\n"
     "method: {name: bfgs-sqp, limited_mem_size: 10, mu0: 0.01, normalize_objective: true}\n"},
};
#define NFAM ((int)(sizeof FAMILIES / sizeof FAMILIES[0]))

/* One result row, as the worker writes it (one line of text per problem). */
typedef struct {
    int done, rc;
    double compliance, volume, violation, time;
    long evals;
    int iters;
} row;

/* Elements of a problem's grid (its cost grows with it). */
static long cells(const app_benchmark *b)
{
    return (long)b->width * b->height;
}

static void row_path(char *buf, size_t len, const char *out, const char *name)
{
    snprintf(buf, len, "%s/%s/suite_row.txt", out, name);
}

/* The row file also names the method family, the budget and the seed, so that --resume only
 * keeps rows of the same suite. */
static int write_row(const char *path, const row *rw, const family *fam, const app_suite_opts *o)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%d %.17g %.17g %.17g %.17g %ld %d %s %d %lu\n", rw->rc, rw->compliance, rw->volume,
            rw->violation, rw->time, rw->evals, rw->iters, fam->name, o->steps, o->seed);
    return fclose(f);
}

/* 0 if path holds a row of this family, budget and seed (rw filled), -1 otherwise. */
static int read_row(const char *path, row *rw, const family *fam, const app_suite_opts *o)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char method[64];
    int st = 0;
    unsigned long seed = 0;
    int k =
        fscanf(f, "%d %lg %lg %lg %lg %ld %d %63s %d %lu", &rw->rc, &rw->compliance, &rw->volume,
               &rw->violation, &rw->time, &rw->evals, &rw->iters, method, &st, &seed);
    fclose(f);
    rw->done = k == 10 && !strcmp(method, fam->name) && st == o->steps && seed == o->seed;
    return rw->done ? 0 : -1;
}

/* Run problem b of the suite into OUT/<name>/ and record its row there (rw gets it too). */
static void run_one(const app_benchmark *b, const family *fam, const app_suite_opts *o,
                    const char *out, row *rw)
{
    memset(rw, 0, sizeof *rw);
    rw->rc = APP_EXIT_FAILED;
    char text[2048], err[2048];
    snprintf(text, sizeof text,
             "problem: {benchmark: %s}\n%sbudget: {evaluations: %d, iterations: %d}\n"
             "seed: %lu\noutputs: {dir: \"%s/%s\", print_frequency: 100}\n",
             b->name, fam->yaml, o->steps, o->steps, o->seed, out, b->name);
    app_config *c = malloc(sizeof *c);
    if (!c) goto record;
    if (app_config_load_string(c, b->name, text, 0, NULL, o->bench_path, err, sizeof err)) {
        fprintf(stderr, "topopt: suite: %s\n", err);
        free(c);
        rw->rc = APP_EXIT_USAGE;
        goto record;
    }
    snprintf(c->name, sizeof c->name, "%s", b->name);
    app_run_opts ro = {.quiet = 1};
    app_run_result res;
    memset(&res, 0, sizeof res);
    rw->rc = app_run(c, &ro, &res);
    free(c);
    rw->done = 1;
    rw->compliance = res.compliance;
    rw->volume = res.volume;
    rw->violation = res.violation;
    rw->time = res.time;
    rw->evals = res.evals;
    rw->iters = res.iters;
record:;
    char p[1300];
    row_path(p, sizeof p, out, b->name);
    write_row(p, rw, fam, o);
    fflush(stdout);
}

int app_suite(const app_suite_opts *o)
{
    const family *fam = &FAMILIES[0];
    if (o->method) {
        fam = NULL;
        for (int i = 0; i < NFAM; i++)
            if (!strcmp(o->method, FAMILIES[i].name)) fam = &FAMILIES[i];
        if (!fam) {
            fprintf(stderr, "topopt: suite: unknown --method '%s' (allowed:", o->method);
            for (int i = 0; i < NFAM; i++)
                fprintf(stderr, " %s", FAMILIES[i].name);
            fprintf(stderr, ")\n");
            return APP_EXIT_USAGE;
        }
    }
    const char *out = o->out_dir ? o->out_dir : "results/suite";
    app_benchmark *b = NULL;
    int nb = 0;
    char err[1024];
    const char *bp = o->bench_path ? o->bench_path : app_benchmarks_path();
    if (app_benchmarks_load(bp, &b, &nb, err, sizeof err)) {
        fprintf(stderr, "topopt: suite: %s\n", err);
        return APP_EXIT_USAGE;
    }
    int *sel = malloc(sizeof(int) * (size_t)(nb ? nb : 1));
    row *rows = calloc((size_t)(nb ? nb : 1), sizeof *rows);
    int ns = 0, rc = APP_EXIT_OK;
    if (!sel || !rows) {
        rc = APP_EXIT_FAILED;
        goto done;
    }
    for (int i = 0; i < nb; i++)
        if ((!o->filter || strstr(b[i].name, o->filter)) && (!o->small_only || !b[i].large))
            sel[ns++] = i;
    if (ns == 0) {
        fprintf(stderr, "topopt: suite: no problem matches '%s'\n", o->filter ? o->filter : "");
        rc = APP_EXIT_USAGE;
        goto done;
    }
    for (int s = 0; s < ns; s++) {
        char d[1200];
        snprintf(d, sizeof d, "%s/%s", out, b[sel[s]].name);
        if (app_io_mkdirs(d, err, sizeof err) != APP_IO_OK) {
            fprintf(stderr, "topopt: suite: %s\n", err);
            rc = APP_EXIT_FAILED;
            goto done;
        }
    }
    /* with --resume, problems whose row of this family and budget says "ok" are kept */
    int *todo = malloc(sizeof(int) * (size_t)(ns > 0 ? ns : 1));
    int ntodo = 0;
    if (!todo) {
        rc = APP_EXIT_FAILED;
        goto done;
    }
    for (int s = 0; s < ns; s++) {
        char p[1300];
        row_path(p, sizeof p, out, b[sel[s]].name);
        if (o->resume && !read_row(p, &rows[s], fam, o) && rows[s].rc == APP_EXIT_OK) continue;
        memset(&rows[s], 0, sizeof rows[s]);
        todo[ntodo++] = s;
    }
    if (o->resume && !o->quiet)
        printf("suite: %d of %d problems already done in %s, %d to run\n", ns - ntodo, ns, out,
               ntodo);
    int jobs = o->jobs > 1 ? o->jobs : 1;
    if (jobs > ntodo) jobs = ntodo > 0 ? ntodo : 1;
    /* the workers share the cores (or --threads) without oversubscription */
    app_threads_limit(o->threads > 0 ? 0 : app_threads_cores() / jobs,
                      o->threads > 0 ? (o->threads / jobs > 0 ? o->threads / jobs : 1) : 0);
    fflush(NULL);
    double wall0 = app_now();
    if (jobs == 1) {
        for (int t = 0; t < ntodo; t++) {
            int s = todo[t];
            run_one(&b[sel[s]], fam, o, out, &rows[s]);
        }
    } else {
        /* the workers take the next problem from a pipe of to-do indices (largest grids first,
         * so that no worker is left with a big problem at the end); each writes one row file
         * per problem, the parent reads them back in problem order (so the table never
         * depends on timing) */
        for (int t = 1; t < ntodo; t++) /* insertion sort by grid size, stable */
            for (int u = t; u > 0 && cells(&b[sel[todo[u]]]) > cells(&b[sel[todo[u - 1]]]); u--) {
                int tmp = todo[u];
                todo[u] = todo[u - 1];
                todo[u - 1] = tmp;
            }
        pid_t *pids = calloc((size_t)jobs, sizeof *pids);
        int queue[2] = {-1, -1};
        if (!pids || pipe(queue)) {
            fprintf(stderr, "topopt: suite: cannot start the workers: %s\n", strerror(errno));
            free(pids);
            free(todo);
            rc = APP_EXIT_FAILED;
            goto done;
        }
        for (int j = 0; j < jobs; j++) {
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "topopt: suite: fork: %s\n", strerror(errno));
                jobs = j;
                break;
            }
            if (pid == 0) {
                close(queue[1]);
                int t;
                /* one int per write and read: pipe writes of <= PIPE_BUF bytes are atomic */
                while (read(queue[0], &t, sizeof t) == (ssize_t)sizeof t) {
                    row rw;
                    run_one(&b[sel[todo[t]]], fam, o, out, &rw);
                }
                _exit(0);
            }
            pids[j] = pid;
        }
        close(queue[0]);
        signal(SIGPIPE, SIG_IGN); /* workers that died early: write fails instead of killing us */
        for (int t = 0; t < ntodo && jobs > 0; t++)
            if (write(queue[1], &t, sizeof t) != (ssize_t)sizeof t) break;
        close(queue[1]);
        for (int j = 0; j < jobs; j++) {
            int status;
            while (waitpid(pids[j], &status, 0) < 0 && errno == EINTR) {
            }
        }
        free(pids);
        for (int t = 0; t < ntodo; t++) {
            int s = todo[t];
            char p[1300];
            row_path(p, sizeof p, out, b[sel[s]].name);
            if (read_row(p, &rows[s], fam, o)) rows[s].rc = APP_EXIT_FAILED;
        }
    }
    double wall = app_now() - wall0;
    free(todo);

    /* tables */
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.csv", out);
    FILE *csv = fopen(path, "w");
    snprintf(path, sizeof path, "%s/summary.md", out);
    FILE *md = fopen(path, "w");
    if (!csv || !md) {
        fprintf(stderr, "topopt: suite: cannot write %s: %s\n", path, strerror(errno));
        if (csv) fclose(csv);
        if (md) fclose(md);
        rc = APP_EXIT_FAILED;
        goto done;
    }
    fprintf(csv,
            "name,width,height,volfrac,method,c0,compliance,paper_typical,paper_best,"
            "ratio_typical,ratio_best,volume,violation,evaluations,iterations,time_s,status\n");
    fprintf(md, "| problem | ours | paper typical | paper best | ours/typical | evals | time (s) "
                "|\n|---|---:|---:|---:|---:|---:|---:|\n");
    int n100 = 0, n102 = 0, nok = 0;
    double total = 0;
    for (int s = 0; s < ns; s++) {
        const app_benchmark *p = &b[sel[s]];
        const row *rw = &rows[s];
        double typ = p->typical[fam->ref], best = p->ensemble[fam->ref];
        double rt = rw->compliance / typ, rb = rw->compliance / best;
        int ok = rw->rc == APP_EXIT_OK;
        total += rw->time;
        if (ok) {
            nok++;
            if (rt <= 1.00) n100++;
            if (rt <= 1.02) n102++;
        }
        fprintf(csv,
                "%s,%d,%d,%.17g,%s,%.17g,%.17g,%.17g,%.17g,%.6f,%.6f,%.6f,%.3e,%ld,%d,%.3f,%s\n",
                p->name, p->width, p->height, p->density, fam->name, p->c0, rw->compliance, typ,
                best, rt, rb, rw->volume, rw->violation, rw->evals, rw->iters, rw->time,
                ok ? "ok" : "failed");
        fprintf(md, "| %s | %.3f | %.3f | %.3f | %.3f | %ld | %.1f |\n", p->name, rw->compliance,
                typ, best, rt, rw->evals, rw->time);
        if (!ok) rc = APP_EXIT_FAILED;
    }
    fprintf(
        md,
        "\n%d problems, method %s, %d evaluations each, seed %lu: %d ran, %d reach <= 1.00x and %d "
        "reach <= 1.02x the paper's typical compliance; total solve time %.1f s (sum over "
        "the problems; this call: %d run in %.1f s wall with %d jobs).\n",
        ns, fam->name, o->steps, o->seed, nok, n100, n102, total, ntodo, wall, jobs);
    fclose(csv);
    fclose(md);
    printf("suite: %d problems (%s): %d <= 1.00x, %d <= 1.02x paper typical; %.1f s; wrote "
           "%s/summary.csv and %s/summary.md\n",
           ns, fam->name, n100, n102, total, out, out);
done:
    free(sel);
    free(rows);
    app_benchmarks_free(b, nb);
    return rc;
}
