// app/suite.c: `topopt suite`: the benchmark problems of problems.json, each with every chosen
// method and seed (one task per problem x method x seed), in parallel worker processes or as an
// MPI task farm; our typical (median over seeds) and best compliance beside the paper's
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "charts.h"
#include "export.h"
#include "export_internal.h"
#include "strategy.h"
#include "suite_mpi.h"
#include "threads.h"

/* A method family of the paper (its reference column) and the config lines that give it. The
 * one list of the suite's method names: the usage text and the checks read it. */
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
    {"cnn-polish", APP_REF_CNN_LBFGS,
     "parameterization: {kind: cnn}\ndensity_map: sigmoid-mean\nmethod: {name: lbfgs}\n"
     "strategy: {kind: neural-polish, polish_method: mma}\n"},
    {"cnn-polish-pixel", APP_REF_CNN_LBFGS,
     "parameterization: {kind: cnn}\ndensity_map: sigmoid-mean\nmethod: {name: lbfgs}\n"
     "strategy: {kind: neural-polish, polish_method: mma, pixel_share: 0.3}\n"},
    {"cnn-polish-oc", APP_REF_CNN_LBFGS,
     "parameterization: {kind: cnn}\ndensity_map: sigmoid-mean\nmethod: {name: lbfgs}\n"
     "strategy: {kind: neural-polish, polish_method: oc}\n"},
};
#define NFAM ((int)(sizeof FAMILIES / sizeof FAMILIES[0]))
#define MAX_SEEDS 4096
/* Row codes besides the run's exit status (tasks.csv's status column): a task stopped by
 * SIGINT/SIGTERM with its checkpoint ("interrupted"); the row a task writes as it starts, so
 * that one whose process died is told from one never started; and, in the summary only, a task
 * with no row of this run's settings ("not run") and a started one whose folder holds a
 * checkpoint to continue from ("unfinished"; without one: "failed"). Other codes than
 * APP_EXIT_OK are failures. */
#define ROW_INTERRUPTED 130
#define ROW_STARTED 131
#define ROW_NOT_RUN 132
#define ROW_UNFINISHED 133
#define ROW_RUNNING 134 /* the task is held by another live process (task.lock) */

void app_suite_print_methods(FILE *f)
{
    for (int i = 0; i < NFAM; i++)
        fprintf(f, "%s%s", i ? ", " : "", FAMILIES[i].name);
}

/* One result row, as the task writes it (one line of text per task). */
typedef struct {
    int done, rc;
    double compliance, volume, violation, time;
    long evals;
    int iters;
    long to_best4; /* evaluations until a feasible iterate reached the paper's best-of-4 typical
                      compliance (history.csv), -1 = never */
    double grey;   /* grey fraction of the final design (result.h5), NaN if unreadable */
    int imported;  /* a row of another run's tasks.csv (--import): no files of it in DIR */
} row;

/* Progress of one suite call, kept by the process that hands out the tasks (the only one, the
 * parent of the forked workers, or MPI rank 0): after every finished task one line with the
 * tasks done, the time elapsed and the time left, estimated from the grid cells done so far (a
 * task's cost grows with its grid; the largest go first). Serial and with --jobs it also
 * rewrites the report now and then (interim_report), so that a long suite shows its tables as
 * they come. */
typedef struct {
    long tasks, cells;       /* finished in this call */
    long ntodo, total_cells; /* to run in this call */
    double t0;
    int quiet;
    double every;      /* seconds between interim reports, 0 = none */
    double last, cost; /* when the last report was written, and how long it took */
    row *rows;         /* scratch rows of every task for them */
} progress;

/* The suite of one call: problems sel[ns] of b, methods fam[nm], seeds seed[nk]. Task
 * t = (s * nm + m) * nk + k, so that the tasks of one problem and method are adjacent. */
typedef struct {
    const app_suite_opts *o;
    const char *out;
    const app_benchmark *b;
    const int *sel;
    int ns;
    const family *fam[NFAM];
    int nm;
    unsigned long *seed;
    int nk;
    progress *pg; /* NULL: no progress lines */
} suite;

static int task_problem(const suite *su, int t)
{
    return su->sel[t / (su->nm * su->nk)];
}
static const family *task_family(const suite *su, int t)
{
    return su->fam[(t / su->nk) % su->nm];
}
static unsigned long task_seed(const suite *su, int t)
{
    return su->seed[t % su->nk];
}

/* Elements of a problem's grid (its cost grows with it). */
static long cells(const app_benchmark *b)
{
    return (long)b->width * b->height;
}

/* "2 h 05 min", "12 min", "40 s" */
static void duration(char *buf, size_t len, double s)
{
    long m = (long)(s / 60 + 0.5);
    if (s < 90)
        snprintf(buf, len, "%.0f s", s);
    else if (m < 60)
        snprintf(buf, len, "%ld min", m);
    else
        snprintf(buf, len, "%ld h %02ld min", m / 60, m % 60);
}

static void interim_report(const suite *su);

/* Task t has finished: count it, print the progress line, and rewrite the report when it is
 * due. */
static void progress_done(const suite *su, int t)
{
    progress *pg = su->pg;
    if (!pg) return;
    long c = cells(&su->b[task_problem(su, t)]);
    long k = ++pg->tasks;
    long done = pg->cells += c;
    if (!pg->quiet) {
        double el = app_now() - pg->t0;
        char e[32], left[64] = "";
        duration(e, sizeof e, el);
        if (k < pg->ntodo && done > 0) {
            char r[32];
            duration(r, sizeof r, el * (double)(pg->total_cells - done) / (double)done);
            snprintf(left, sizeof left, ", about %s left", r);
        }
        printf("suite: %ld of %ld tasks done in %s%s\n", k, pg->ntodo, e, left);
        fflush(stdout);
    }
    /* not after the last task (the final report follows), and never more than 2 % of the time
     * spent on reports (reading every task's files) */
    double gap = pg->every > 50 * pg->cost ? pg->every : 50 * pg->cost;
    if (pg->every > 0 && k < pg->ntodo && app_now() - pg->last >= gap) interim_report(su);
}

/* OUT/<problem>/<method>/seed<k>: the result directory of task t. */
static void task_dir(char *buf, size_t len, const suite *su, int t)
{
    snprintf(buf, len, "%s/%s/%s/seed%lu", su->out, su->b[task_problem(su, t)].name,
             task_family(su, t)->name, task_seed(su, t));
}

static void row_path(char *buf, size_t len, const suite *su, int t)
{
    char d[1100];
    task_dir(d, sizeof d, su, t);
    snprintf(buf, len, "%s/suite_row.txt", d);
}

/* FNV-1a of the suite's --set overrides (0 without any), recorded in every row. */
static unsigned long long sets_hash(const app_suite_opts *o)
{
    if (o->n_sets == 0) return 0;
    uint64_t h = APP_FNV1A64_INIT;
    for (int i = 0; i < o->n_sets; i++)
        h = app_fnv1a64(h, o->sets[i], strlen(o->sets[i]) + 1);
    return (unsigned long long)h;
}

/* Write the row file of a task. It also names the method family, the budget and the seed, so
 * that --resume only keeps rows of the same task; a row imported from another run's tasks.csv
 * (--import) ends in "imported", its evaluations to best-of-4 and its grey fraction (its folder
 * holds no files to take them from). Written to a temporary file and renamed into place
 * (app_io_file_), so that a process killed while writing leaves no half row. 0, or -1 with the
 * reason in err. */
static int write_row(const char *path, const row *rw, const family *fam, int steps,
                     unsigned long seed, unsigned long long sets, char *err, size_t errlen)
{
    app_io_file_ o;
    if (app_io_create_(&o, path, "w", err, errlen) != APP_IO_OK) return -1;
    fprintf(o.f, "%d %.17g %.17g %.17g %.17g %ld %d %s %d %lu %llx", rw->rc, rw->compliance,
            rw->volume, rw->violation, rw->time, rw->evals, rw->iters, fam->name, steps, seed,
            sets);
    if (rw->imported) fprintf(o.f, " imported %ld %.17g", rw->to_best4, rw->grey);
    fputc('\n', o.f);
    return app_io_finish_(&o, err, errlen) == APP_IO_OK ? 0 : -1;
}

/* 0 if path holds a row of this family, budget and seed (rw filled), -1 otherwise. */
static int read_row(const char *path, row *rw, const family *fam, int steps, unsigned long seed,
                    unsigned long long sets)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char method[64];
    int st = 0;
    unsigned long sd = 0;
    unsigned long long hs = 0;
    int k = fscanf(f, "%d %lg %lg %lg %lg %ld %d %63s %d %lu %llx", &rw->rc, &rw->compliance,
                   &rw->volume, &rw->violation, &rw->time, &rw->evals, &rw->iters, method, &st, &sd,
                   &hs);
    if (k == 10) hs = 0; /* a row of a version without overrides */
    char tag[16];
    rw->imported = k == 11 && fscanf(f, " %15s %ld %lg", tag, &rw->to_best4, &rw->grey) == 3 &&
                   !strcmp(tag, "imported");
    fclose(f);
    rw->done = k >= 10 && !strcmp(method, fam->name) && st == steps && sd == seed && hs == sets;
    return rw->done ? 0 : -1;
}

/* With --resume, a task whose folder holds the checkpoint of an unfinished solve (a periodic
 * one, status "running", or one taken on SIGINT/SIGTERM, "interrupted") continues from it. */
static int task_resumable(const char *dir, long *evals)
{
    char p[1200], err[1024];
    snprintf(p, sizeof p, "%s/result.h5", dir);
    int ok = 0;
    if (access(p, F_OK) == 0) {
        app_result r;
        memset(&r, 0, sizeof r);
        ok = app_h5_read(p, &r, err, sizeof err) == APP_IO_OK && r.checkpoint.present && r.status &&
             (!strcmp(r.status, "running") || !strcmp(r.status, "interrupted"));
        const app_history *h = &r.history;
        *evals = h->n_rows > 0 ? (long)h->evaluations[h->n_rows - 1] : 0;
        app_result_free(&r);
    }
    /* a strategy with a pixel branch keeps its checkpoints in the branch folders (and writes
     * DIR/result.h5 only at its end) */
    return ok || app_strategy_resumable(dir, evals);
}

/* A running task holds the lock DIR/task.lock (app_io_lock), so that two suites sharing a folder
 * (a second --resume started by mistake, a rank the MPI farm took for dead that still runs,
 * suites on several machines over a shared file system) never write one task at the same time,
 * and --report can tell a task that is running from one whose process died (the kernel drops
 * the lock with the process). Where the file system offers no locks the task runs unguarded. */
static void task_lock_path(char *p, size_t len, const char *dir)
{
    snprintf(p, len, "%s/task.lock", dir);
}

/* 1 if another process holds the lock of the task folder dir, without taking it. */
static int task_running(const char *dir)
{
    char p[1200];
    task_lock_path(p, sizeof p, dir);
    return app_io_lock_held(p);
}

/* Run task t of the suite into its directory and record its row there (rw gets it too). The
 * periodic checkpoint by wall time (outputs.checkpoint_seconds) lets --resume continue a task
 * that was killed instead of starting it over; so does again (the MPI farm hands out once more
 * the task of a rank that died). */
static void run_one(const suite *su, int t, int again, row *rw)
{
    const app_benchmark *b = &su->b[task_problem(su, t)];
    const family *fam = task_family(su, t);
    unsigned long seed = task_seed(su, t);
    const app_suite_opts *o = su->o;
    memset(rw, 0, sizeof *rw);
    rw->rc = APP_EXIT_FAILED;
    char text[2600], err[2048], dir[1100], p[1300];
    task_dir(dir, sizeof dir, su, t);
    row_path(p, sizeof p, su, t);
    char lk[1200];
    task_lock_path(lk, sizeof lk, dir);
    int lock = app_io_lock(lk, 0);
    if (lock == APP_IO_LOCK_BUSY) {
        printf("suite: %s: running in another process; left to it\n", dir);
        fflush(stdout);
        rw->rc = ROW_RUNNING;
        return;
    }
    /* another suite on this folder may have finished it since the to-do list was made */
    if (o->resume && !read_row(p, rw, fam, o->steps, seed, sets_hash(o)) && rw->rc == APP_EXIT_OK) {
        printf("suite: %s: finished by another process\n", dir);
        fflush(stdout);
        if (lock >= 0) close(lock);
        return;
    }
    /* a row of an earlier run must not stand for this one if this one dies */
    memset(rw, 0, sizeof *rw);
    rw->rc = ROW_STARTED;
    if (write_row(p, rw, fam, o->steps, seed, sets_hash(o), err, sizeof err)) remove(p);
    rw->rc = APP_EXIT_FAILED;
    snprintf(text, sizeof text,
             "problem: {benchmark: %s}\n%sbudget: {evaluations: %d, iterations: %d}\n"
             "seed: %lu\noutputs: {dir: \"%s\", print_frequency: 100}\n",
             b->name, fam->yaml, o->steps, o->steps, seed, dir);
    app_config c;
    if (app_config_load_string(&c, b->name, text, o->n_sets, o->sets, o->bench_path, err,
                               sizeof err)) {
        fprintf(stderr, "topopt: suite: %s\n", err);
        rw->rc = APP_EXIT_USAGE;
        goto record;
    }
    snprintf(c.name, sizeof c.name, "%s", b->name);
    /* the seeds of a problem and method share a strategy's pixel branch, which no seed changes */
    char shared[1100];
    snprintf(shared, sizeof shared, "%s/%s/%s", su->out, b->name, fam->name);
    app_run_opts ro = {.quiet = 1, .no_resume_hint = 1, .pixel_cache_dir = shared};
    app_run_result res;
    memset(&res, 0, sizeof res);
    long ck_evals = 0;
    if ((o->resume || again) && task_resumable(dir, &ck_evals)) {
        printf("suite: %s: resuming from its checkpoint (%ld evaluations done)\n", dir, ck_evals);
        fflush(stdout);
        ro.resume_dir = dir;
        rw->rc = app_run(&c, &ro, &res);
        if (rw->rc == APP_EXIT_USAGE) { /* the checkpoint is not this task's (message above) */
            fprintf(stderr, "topopt: suite: %s: starting the task over\n", dir);
            ro.resume_dir = NULL;
            memset(&res, 0, sizeof res);
            rw->rc = app_run(&c, &ro, &res);
        }
    } else {
        rw->rc = app_run(&c, &ro, &res);
    }
    app_config_free(&c);
    rw->done = 1;
    rw->compliance = res.compliance;
    rw->volume = res.volume;
    rw->violation = res.violation;
    rw->time = res.time;
    rw->evals = res.evals;
    if (res.interrupted) rw->rc = ROW_INTERRUPTED;
    rw->iters = res.iters;
record:
    if (write_row(p, rw, fam, o->steps, seed, sets_hash(o), err, sizeof err))
        fprintf(stderr, "topopt: suite: %s\n", err);
    if (lock >= 0) close(lock); /* after the row: a reader never sees it free and unwritten */
    fflush(stdout);
}

/* The MPI farm's task callback. */
static int run_task_cb(int t, int again, void *user)
{
    row rw;
    run_one(user, t, again, &rw);
    return rw.rc == ROW_INTERRUPTED;
}
static int stopping_cb(void)
{
    return app_run_stop_requested();
}
static void task_done_cb(int t, void *user)
{
    progress_done(user, t);
}
static const char *task_name_cb(int t, void *user)
{
    static char d[1100];
    task_dir(d, sizeof d, user, t);
    return d;
}

/* Parse "0-9", "1,3,5", "0-4,7" into seed[*n] (at most max, each <= 2^31-1, no repeats). */
static int parse_seeds(const char *s, unsigned long *seed, int max, int *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *e;
        errno = 0;
        long a = strtol(p, &e, 10), z;
        if (e == p || errno || a < 0 || a > 2147483647L) return -1;
        p = e;
        z = a;
        if (*p == '-') {
            p++;
            z = strtol(p, &e, 10);
            if (e == p || errno || z < a || z > 2147483647L) return -1;
            p = e;
        }
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
        for (long v = a; v <= z; v++) {
            for (int i = 0; i < *n; i++)
                if (seed[i] == (unsigned long)v) return -1;
            if (*n >= max) return -1;
            seed[(*n)++] = (unsigned long)v;
        }
    }
    return *n > 0 ? 0 : -1;
}

/* Parse "cnn-lbfgs,pixel-oc" into fam[*n] (names of FAMILIES, no repeats). */
static int parse_methods(const char *s, const family **fam, int *n)
{
    *n = 0;
    const char *p = s;
    while (1) {
        size_t len = strcspn(p, ",");
        const family *f = NULL;
        for (int i = 0; i < NFAM; i++)
            if (strlen(FAMILIES[i].name) == len && !strncmp(p, FAMILIES[i].name, len))
                f = &FAMILIES[i];
        if (!f) {
            fprintf(stderr, "topopt: suite: unknown method '%.*s' (allowed: ", (int)len, p);
            app_suite_print_methods(stderr);
            fprintf(stderr, ")\n");
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (fam[i] == f) {
                fprintf(stderr, "topopt: suite: method '%s' named twice\n", f->name);
                return -1;
            }
        fam[(*n)++] = f;
        if (!p[len]) break;
        p += len + 1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[n] (sorts v); NaN if n == 0. */
static double median(double *v, int n)
{
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Dispatch order: largest grids first, so that no worker is left with a big task at the end;
 * within a grid size the first seed of every problem first, then the next one (so that the
 * seeds of one problem seldom run at the same time: they share a strategy's pixel branch);
 * then task order. */
static const suite *sort_su;
static int cmp_task(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    long cx = cells(&sort_su->b[task_problem(sort_su, x)]);
    long cy = cells(&sort_su->b[task_problem(sort_su, y)]);
    if (cx != cy) return cx > cy ? -1 : 1;
    int kx = x % sort_su->nk, ky = y % sort_su->nk;
    if (kx != ky) return kx < ky ? -1 : 1;
    return (x > y) - (x < y);
}

/* The tasks one loop runs (the serial loop, or one forked worker): indices into todo, from
 * the pipe fd (a worker) or todo[0 .. ntodo-1] in order (fd < 0); then once more those that
 * another process held when they came up (feed_left): by then that process may have finished
 * a task (reported as such), or died and dropped its lock (a suite killed and restarted at
 * once: the task resumes here from its checkpoint); a task still held stays left to it. */
typedef struct {
    int fd, ntodo, i;
    int *left, nleft, next, again; /* left == NULL (out of memory): nothing is tried again */
} task_feed;

static task_feed feed_open(int fd, int ntodo)
{
    return (task_feed){
        .fd = fd, .ntodo = ntodo, .left = malloc((size_t)(ntodo > 0 ? ntodo : 1) * sizeof(int))};
}

/* The next index into todo in *t; 0 when none is left. */
static int feed_next(task_feed *f, int *t)
{
    if (!f->again) {
        /* one int per write and read: pipe writes of <= PIPE_BUF bytes are atomic */
        if (f->fd >= 0 ? read(f->fd, t, sizeof *t) == (ssize_t)sizeof *t : f->i < f->ntodo) {
            if (f->fd < 0) *t = f->i++;
            return 1;
        }
        f->again = 1;
    }
    if (f->next == f->nleft) return 0;
    *t = f->left[f->next++];
    return 1;
}

/* Task index t was held by another process: try it once more after the others. */
static void feed_left(task_feed *f, int t)
{
    if (!f->again && f->left) f->left[f->nleft++] = t;
}

/* Run the tasks todo[ntodo] (already in dispatch order) in jobs forked workers that take the
 * next task index from a pipe; each writes its own row file and sends the index back on a
 * second pipe when the task is done (for the progress lines). A worker that dies loses its
 * running task, the others take the rest. Returns the number of workers that died, or -1. */
static int run_forked(const suite *su, const int *todo, int ntodo, int jobs)
{
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int queue[2] = {-1, -1}, done[2] = {-1, -1};
    if (!pids || pipe(queue) || pipe(done)) {
        fprintf(stderr, "topopt: suite: cannot start the workers: %s\n", strerror(errno));
        if (queue[0] >= 0) close(queue[0]);
        if (queue[1] >= 0) close(queue[1]);
        free(pids);
        return -1;
    }
    const pid_t parent = getpid();
    for (int j = 0; j < jobs; j++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "topopt: suite: fork: %s\n", strerror(errno));
            jobs = j;
            break;
        }
        if (pid == 0) {
#ifdef __linux__
            /* a suite that is killed takes its workers with it (no orphans left running) */
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
#else
            (void)parent;
#endif
            /* a group of its own, so that Ctrl-C reaches the parent alone, which passes one
             * SIGTERM on (a second signal would end a worker before its checkpoint) */
            setpgid(0, 0);
            close(queue[1]);
            close(done[0]);
            task_feed feed = feed_open(queue[0], ntodo);
            int t;
            while (!app_run_stop_requested() && feed_next(&feed, &t)) {
                row rw;
                run_one(su, todo[t], 0, &rw);
                if (rw.rc == ROW_INTERRUPTED) break; /* not done: no progress line for it */
                if (rw.rc == ROW_RUNNING) {          /* another process runs it */
                    feed_left(&feed, t);
                    continue;
                }
                if (write(done[1], &t, sizeof t) != (ssize_t)sizeof t) {
                    /* the parent is gone: PDEATHSIG ends this worker */
                }
            }
            free(feed.left);
            _exit(0);
        }
        pids[j] = pid;
    }
    close(queue[0]);
    close(done[1]);
    signal(SIGPIPE, SIG_IGN); /* workers that died early: write fails instead of killing us */
    for (int t = 0; t < ntodo && jobs > 0; t++)
        if (write(queue[1], &t, sizeof t) != (ssize_t)sizeof t) break;
    close(queue[1]);
    /* until every worker has ended (each one's end of the pipe closes with it); on SIGINT or
     * SIGTERM, each worker gets one SIGTERM: its task stops with a checkpoint, it takes no
     * other */
    int forwarded = 0;
    for (int t;;) {
        if (app_run_stop_requested() && !forwarded) {
            for (int j = 0; j < jobs; j++)
                kill(pids[j], SIGTERM);
            forwarded = 1;
        }
        ssize_t r = read(done[0], &t, sizeof t);
        if (r < 0 && errno == EINTR) continue;
        if (r == (ssize_t)sizeof t && t >= 0 && t < ntodo)
            progress_done(su, todo[t]);
        else
            break;
    }
    close(done[0]);
    int died = 0;
    for (int j = 0; j < jobs; j++) {
        int status = 0;
        while (waitpid(pids[j], &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status))) {
            fprintf(stderr, "topopt: suite: worker %ld died (%s %d) with its running task\n",
                    (long)pids[j], WIFSIGNALED(status) ? "signal" : "exit status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            died++;
        }
    }
    free(pids);
    return died;
}

/* Shrink a w x h grey picture in place by the smallest integer factor that fits it into
 * maxw x maxh (mean of k x k blocks), so that a sheet of thousands of designs stays small. */
static void shrink_gray(unsigned char *px, int *w, int *h, int maxw, int maxh)
{
    int k = 1;
    while (*w / k > maxw || *h / k > maxh)
        k++;
    if (k == 1) return;
    int W = *w / k, H = *h / k;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned sum = 0;
            for (int j = 0; j < k; j++)
                for (int i = 0; i < k; i++)
                    sum += px[(size_t)(y * k + j) * *w + (x * k + i)];
            px[(size_t)y * W + x] = (unsigned char)((sum + k * k / 2) / (unsigned)(k * k));
        }
    *w = W;
    *h = H;
}

/* The paper's best-of-4 typical compliance of problem p. */
static double best4_of(const app_benchmark *p)
{
    double best4 = p->typical[0];
    for (int r = 1; r < APP_REF_N; r++)
        if (p->typical[r] < best4) best4 = p->typical[r];
    return best4;
}

/* The pictures: the ratio charts (to the paper's same method, and to the best of its four) and
 * the contact sheet of every design. Failures are reported and make the call fail, but the
 * tables are written first. */
static int write_pictures(const suite *su, const row *rows, const double *typ)
{
    int ns = su->ns, nm = su->nm, nt = ns * nm * su->nk, rc = 0;
    char path[1200], err[1024];
    const char **pnames = malloc(sizeof(char *) * (size_t)ns);
    const char **mnames = malloc(sizeof(char *) * (size_t)nm);
    double *ratio = malloc(sizeof(double) * (size_t)ns * (size_t)nm);
    double *ratio4 = malloc(sizeof(double) * (size_t)ns * (size_t)nm);
    unsigned char **px = calloc((size_t)nt, sizeof *px);
    int *w = calloc((size_t)nt, sizeof *w), *h = calloc((size_t)nt, sizeof *h);
    char(*l1)[160] = calloc((size_t)nt, sizeof *l1), (*l2)[160] = calloc((size_t)nt, sizeof *l2);
    const char **lp1 = calloc((size_t)nt, sizeof *lp1), **lp2 = calloc((size_t)nt, sizeof *lp2);
    if (!pnames || !mnames || !ratio || !ratio4 || !px || !w || !h || !l1 || !l2 || !lp1 || !lp2) {
        fprintf(stderr, "topopt: suite: out of memory for the pictures\n");
        rc = -1;
        goto done;
    }
    for (int s = 0; s < ns; s++) {
        const app_benchmark *p = &su->b[su->sel[s]];
        pnames[s] = p->name;
        for (int m = 0; m < nm; m++) {
            ratio[s * nm + m] = typ[s * nm + m] / p->typical[su->fam[m]->ref];
            ratio4[s * nm + m] = typ[s * nm + m] / best4_of(p);
        }
    }
    for (int m = 0; m < nm; m++)
        mnames[m] = su->fam[m]->name;
    static const char *const chart[2] = {"summary.png", "summary_best4.png"};
    static const char *const title[2] = {
        NULL, "our typical compliance / the best of the paper's four typical compliances"};
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/%s", su->out, chart[c]);
        if (app_chart_ratios_png(path, title[c], ns, pnames, nm, mnames, c ? ratio4 : ratio, err,
                                 sizeof err) != APP_IO_OK) {
            fprintf(stderr, "topopt: suite: %s\n", err);
            rc = -1;
        }
    }
    int ng = 0;
    for (int t = 0; t < nt; t++) {
        if (rows[t].rc != APP_EXIT_OK) continue;
        const app_benchmark *p = &su->b[task_problem(su, t)];
        char d[1100];
        task_dir(d, sizeof d, su, t);
        snprintf(path, sizeof path, "%s/design.png", d);
        if (app_png_read_gray(path, &px[ng], &w[ng], &h[ng], err, sizeof err) != APP_IO_OK)
            continue; /* a row without its picture (removed by hand): leave it out */
        shrink_gray(px[ng], &w[ng], &h[ng], 480, 240); /* at most twice the sheet's box */
        snprintf(l1[ng], sizeof l1[ng], "%s", p->name);
        snprintf(l2[ng], sizeof l2[ng], "%s s%lu  %.3fx  (best-of-4 %.3fx)",
                 task_family(su, t)->name, task_seed(su, t),
                 rows[t].compliance / p->typical[task_family(su, t)->ref],
                 rows[t].compliance / best4_of(p));
        lp1[ng] = l1[ng];
        lp2[ng] = l2[ng];
        ng++;
    }
    snprintf(path, sizeof path, "%s/gallery.png", su->out);
    if (app_gallery_png(path, ng, (const unsigned char *const *)px, w, h, lp1, lp2, err,
                        sizeof err) != APP_IO_OK) {
        fprintf(stderr, "topopt: suite: %s\n", err);
        rc = -1;
    }
done:
    if (px)
        for (int t = 0; t < nt; t++)
            free(px[t]);
    free(px);
    free(w);
    free(h);
    free(l1);
    free(l2);
    free(lp1);
    free(lp2);
    free(pnames);
    free(mnames);
    free(ratio);
    free(ratio4);
    return rc;
}

/* Rank 0 (or the only process): read the rows back and write tasks.csv, summary.csv,
 * summary.md and the pictures. */
/* A history row counts as feasible at this volume violation (the mean density above volfrac;
 * the suite's penalty-free methods reach exactly 0, MMA about 1e-8). */
#define TO_BEST4_VIOL 1e-6

/* One row of a history.csv: the columns at ce, co, cv and cp (-1: none) as numbers. */
static void history_row(const char *line, int ce, int co, int cv, int cp, double *e, double *obj,
                        double *viol, double *ph)
{
    *e = *obj = *viol = NAN;
    *ph = 0;
    int col = 0;
    for (const char *p = line; p; col++) {
        if (col == ce) *e = strtod(p, NULL);
        if (col == co) *obj = strtod(p, NULL);
        if (col == cv) *viol = strtod(p, NULL);
        if (col == cp) *ph = strtod(p, NULL);
        p = strchr(p, ',');
        if (p) p++;
    }
}

long app_suite_evals_to_reach(const char *dir, double target)
{
    char path[1300], line[4096];
    snprintf(path, sizeof path, "%s/history.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long found = -1;
    int ce = -1, co = -1, cv = -1, cp = -1;
    if (fgets(line, sizeof line, f)) {
        int col = 0;
        for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), col++) {
            if (!strcmp(tok, "evaluations")) ce = col;
            if (!strcmp(tok, "objective")) co = col;
            if (!strcmp(tok, "violation")) cv = col;
            if (!strcmp(tok, "phase")) cp = col;
        }
    }
    long body = ftell(f);
    double e, obj, viol, ph, last[2] = {0, 0};
    /* a strategy's pixel levels before its last one (phases 2 .. of a branch, the pixel
     * branch's from 12) run at another filter radius or exponent: their objective is not the
     * problem's compliance; the neural phase (1) and each branch's last level are */
    while (cp >= 0 && fgets(line, sizeof line, f)) {
        history_row(line, ce, co, cv, cp, &e, &obj, &viol, &ph);
        if (ph > last[ph >= 10]) last[ph >= 10] = ph;
    }
    if (fseek(f, body, SEEK_SET) != 0) found = -2;
    while (ce >= 0 && co >= 0 && cv >= 0 && found == -1 && fgets(line, sizeof line, f)) {
        history_row(line, ce, co, cv, cp, &e, &obj, &viol, &ph);
        int final = cp < 0 || ph == 1 || ph == last[ph >= 10];
        if (final && obj <= target && viol <= TO_BEST4_VIOL && e >= 0) found = (long)e;
    }
    fclose(f);
    return found < 0 ? -1 : found;
}

/* The grey fraction (app_grey_fraction) of the physical density in dir/result.h5 over the
 * designable elements of problem b (its passive void regions left out); NaN if unreadable. */
static double design_grey(const char *dir, const app_benchmark *b)
{
    char path[1300], err[512];
    snprintf(path, sizeof path, "%s/result.h5", dir);
    app_result r;
    double grey = NAN;
    if (app_h5_read(path, &r, err, sizeof err) != APP_IO_OK) return NAN;
    int ne = b->width * b->height;
    signed char *fixed = r.W == b->width && r.H == b->height ? malloc((size_t)ne) : NULL;
    if (fixed && r.rho_physical) {
        for (int e = 0; e < ne; e++) {
            int ex = e % b->width, ey = e / b->width;
            fixed[e] = -1;
            for (int i = 0; i < b->n_void; i++) {
                const app_rect *q = &b->void_rects[i];
                if (ex >= q->x0 && ex <= q->x1 && ey >= q->y0 && ey <= q->y1) fixed[e] = 0;
            }
        }
        grey = app_grey_fraction(r.rho_physical, fixed, ne);
    }
    free(fixed);
    app_result_free(&r);
    return grey;
}

/* The status of a task in tasks.csv and its class: 0 ok, 1 not run, 2 interrupted or
 * unfinished (--resume continues it from its checkpoint), 3 failed (every other code). */
static const struct {
    int rc, cls;
    const char *name;
} ROW_STATUS[] = {{APP_EXIT_OK, 0, "ok"},
                  {ROW_NOT_RUN, 1, "not run"},
                  {ROW_INTERRUPTED, 2, "interrupted"},
                  {ROW_UNFINISHED, 2, "unfinished"},
                  {ROW_RUNNING, 2, "running"}};
static int row_status(int rc, const char **name)
{
    for (size_t i = 0; i < sizeof ROW_STATUS / sizeof ROW_STATUS[0]; i++)
        if (ROW_STATUS[i].rc == rc) {
            if (name) *name = ROW_STATUS[i].name;
            return ROW_STATUS[i].cls;
        }
    if (name) *name = "failed";
    return 3;
}

/* The columns of tasks.csv (its header), one line per task. steps and sets (sets_hash of the --set
 * overrides, in hex) let --import match a row to a task of the same budget and overrides. */
enum {
    TC_NAME,
    TC_METHOD,
    TC_SEED,
    TC_COMPLIANCE,
    TC_VOLUME,
    TC_VIOLATION,
    TC_EVALS,
    TC_ITERS,
    TC_TIME,
    TC_TO_BEST4,
    TC_GREY,
    TC_STEPS,
    TC_SETS,
    TC_STATUS,
    TC_N
};
static const char *const TASKS_COLUMNS[TC_N] = {
    "name",       "method", "seed",           "compliance", "volume", "violation", "evaluations",
    "iterations", "time_s", "evals_to_best4", "grey",       "steps",  "sets",      "status"};

/* Split line (changed in place) at its commas into f[]; returns the number of fields, or
 * max + 1 if there are more than max. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n == max) return max + 1;
        f[n++] = p;
        p = strchr(p, ',');
        if (!p) return n;
        *p = '\0';
    }
}

/* A whole field as a number (NaN only where nan_ok), or -1. */
static int field_num(const char *s, int nan_ok, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    return e == s || *e || errno == ERANGE || (!nan_ok && !isfinite(*v)) ? -1 : 0;
}

/* Take the ok rows of the tasks.csv at path (columns found by name) that belong to tasks of this
 * suite with its budget and overrides into imp[] and into the tasks' folders (suite_row.txt
 * marked imported, so that later calls know them without --import; with the design.png that
 * sits beside path in the suite's layout, <problem>/<method>/seed<k>/, if there is one). Not
 * taken: a task whose folder holds a finished row of its own (*own counts them), or that an
 * earlier file of this call gave (the first file wins). A row the folder holds already as
 * imported is taken without touching the folder (its design stays). *taken counts the rows taken,
 * *other the ok rows of other settings or of tasks not in this suite. Returns 0; -1 with a message
 * naming the file and line; -2 if a task's folder cannot be written (message in err). */
static int import_tasks(const suite *su, const char *path, row *imp, int *taken, int *own,
                        int *other, char *err, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, len, "--import %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], *fld[64];
    int col[TC_N], nh = 0, lineno = 1, rc = -1;
    *taken = *own = *other = 0;
    const char *slash = strrchr(path, '/');
    int base = slash ? (int)(slash - path) : 1; /* the folder of path: its designs */
    const char *from = slash ? path : ".";
    if (!fgets(line, sizeof line, f)) {
        snprintf(err, len, "--import %s: empty, expected the tasks.csv of a suite run", path);
        goto done;
    }
    line[strcspn(line, "\r\n")] = '\0';
    nh = split_fields(line, fld, 63);
    if (nh > 63) {
        snprintf(err, len, "%s:1: more than 63 columns (expected the tasks.csv of a suite run)",
                 path);
        goto done;
    }
    for (int c = 0; c < TC_N; c++) {
        col[c] = -1;
        for (int i = 0; i < nh; i++)
            if (!strcmp(fld[i], TASKS_COLUMNS[c])) col[c] = i;
        if (col[c] < 0) {
            snprintf(err, len,
                     "%s:1: no column '%s' in the header (expected the tasks.csv of a suite run; "
                     "those of versions before --import have no steps and sets columns)",
                     path, TASKS_COLUMNS[c]);
            goto done;
        }
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        if (!line[n] && !feof(f)) {
            snprintf(err, len, "%s:%d: line longer than %zu characters", path, lineno,
                     sizeof line - 2);
            goto done;
        }
        line[n] = '\0';
        if (!n) continue;
        int nf = split_fields(line, fld, 63);
        if (nf != nh) {
            snprintf(err, len, "%s:%d: %d fields, the header has %d", path, lineno, nf, nh);
            goto done;
        }
        if (strcmp(fld[col[TC_STATUS]], "ok")) continue; /* not finished there */
        double v[TC_N] = {0};
        unsigned long long sets = 0;
        for (int c = TC_SEED; c < TC_N; c++) {
            if (c == TC_STATUS) continue;
            const char *x = fld[col[c]];
            char *e;
            errno = 0;
            int bad = c == TC_SETS ? (sets = strtoull(x, &e, 16), e == x || *e || errno != 0)
                                   : field_num(x, c == TC_GREY, &v[c]);
            if (!bad && (c == TC_SEED || c == TC_STEPS || c == TC_EVALS || c == TC_ITERS) &&
                (v[c] != floor(v[c]) || v[c] < 0 || v[c] > 2147483647.0))
                bad = 1;
            if (!bad && c == TC_TO_BEST4 && (v[c] != floor(v[c]) || v[c] < -1)) bad = 1;
            if (bad) {
                snprintf(err, len, "%s:%d: column '%s': '%s' is not %s", path, lineno,
                         TASKS_COLUMNS[c], x,
                         c == TC_SETS ? "a hexadecimal hash" : "a valid number");
                goto done;
            }
        }
        int s = -1, m = -1, k = -1;
        for (int i = 0; i < su->ns && s < 0; i++)
            if (!strcmp(su->b[su->sel[i]].name, fld[col[TC_NAME]])) s = i;
        for (int i = 0; i < su->nm && m < 0; i++)
            if (!strcmp(su->fam[i]->name, fld[col[TC_METHOD]])) m = i;
        for (int i = 0; i < su->nk && k < 0; i++)
            if (su->seed[i] == (unsigned long)v[TC_SEED]) k = i;
        if (s < 0 || m < 0 || k < 0 || (int)v[TC_STEPS] != su->o->steps ||
            sets != sets_hash(su->o)) {
            (*other)++;
            continue;
        }
        int t = (s * su->nm + m) * su->nk + k;
        row *rw = &imp[t], mine;
        if (rw->done) continue;
        char p[1300], d[1100], src[1400], dst[1400];
        row_path(p, sizeof p, su, t);
        const int found = !read_row(p, &mine, su->fam[m], su->o->steps, su->seed[k], sets) &&
                          mine.rc == APP_EXIT_OK;
        if (found && !mine.imported) {
            (*own)++;
            continue;
        }
        /* this very row imported before: taken, its folder left as it is (its design too,
         * which a file without designs beside it must not take away) */
        if (found && mine.compliance == v[TC_COMPLIANCE] && mine.volume == v[TC_VOLUME] &&
            mine.evals == (long)v[TC_EVALS] && mine.iters == (int)v[TC_ITERS]) {
            *rw = mine;
            rw->done = 1;
            (*taken)++;
            continue;
        }
        *rw = (row){.done = 1,
                    .rc = APP_EXIT_OK,
                    .compliance = v[TC_COMPLIANCE],
                    .volume = v[TC_VOLUME],
                    .violation = v[TC_VIOLATION],
                    .time = v[TC_TIME],
                    .evals = (long)v[TC_EVALS],
                    .iters = (int)v[TC_ITERS],
                    .to_best4 = (long)v[TC_TO_BEST4],
                    .grey = v[TC_GREY],
                    .imported = 1};
        if (write_row(p, rw, su->fam[m], su->o->steps, su->seed[k], sets, err, len)) {
            rc = -2;
            goto done;
        }
        task_dir(d, sizeof d, su, t);
        snprintf(src, sizeof src, "%.*s/%s/%s/seed%lu/design.png", base, from, fld[col[TC_NAME]],
                 fld[col[TC_METHOD]], su->seed[k]);
        snprintf(dst, sizeof dst, "%s/design.png", d);
        if (access(src, F_OK) != 0)
            remove(dst); /* no picture of another run stands for this one */
        else if (app_io_copy_file(src, dst, err, len) != APP_IO_OK) {
            rc = -2;
            goto done;
        }
        (*taken)++;
    }
    rc = ferror(f) ? (snprintf(err, len, "--import %s: read error", path), -1) : 0;
done:
    fclose(f);
    return rc;
}

/* Returns APP_EXIT_FAILED when a file cannot be written; *missing gets the number of
 * problem x method pairs without a finished result for every seed. */
static int write_summary(const suite *su, row *rows, int ntodo, double wall, const char *how,
                         int *missing, int interim)
{
    int ns = su->ns, nm = su->nm, nk = su->nk, nt = ns * nm * nk, rc = APP_EXIT_OK;
    const char *out = su->out;
    int steps = su->o->steps;
    for (int t = 0; t < nt; t++) {
        char p[1300];
        row_path(p, sizeof p, su, t);
        if (read_row(p, &rows[t], task_family(su, t), steps, task_seed(su, t), sets_hash(su->o))) {
            memset(&rows[t], 0, sizeof rows[t]);
            rows[t].rc = ROW_NOT_RUN;
        }
        /* still running, or its process died; a folder with a checkpoint but no row is one of
         * an earlier version, which wrote no row as a task started */
        if (rows[t].rc == ROW_STARTED || rows[t].rc == ROW_NOT_RUN) {
            char d[1100];
            task_dir(d, sizeof d, su, t);
            long ev = 0;
            int live = rows[t].rc == ROW_STARTED && task_running(d);
            if (task_resumable(d, &ev) || live) {
                rows[t].rc = live ? ROW_RUNNING : ROW_UNFINISHED;
                rows[t].evals = ev;
            } else if (rows[t].rc == ROW_STARTED) {
                rows[t].rc = APP_EXIT_FAILED;
            }
        }
        if (rows[t].rc == APP_EXIT_OK && rows[t].imported) continue; /* figures in its row */
        rows[t].to_best4 = -1;
        rows[t].grey = NAN;
        if (rows[t].rc == APP_EXIT_OK) {
            char d[1100];
            task_dir(d, sizeof d, su, t);
            const app_benchmark *pb = &su->b[task_problem(su, t)];
            rows[t].to_best4 = app_suite_evals_to_reach(d, best4_of(pb));
            rows[t].grey = design_grey(d, pb);
        }
    }
    double *typ = malloc(sizeof(double) * (size_t)ns * (size_t)nm);
    double *v = malloc(sizeof(double) * 3 * (size_t)nk);
    /* each file goes to <name>.tmp and is renamed into place once complete: a report cut off
       (or a full disk) leaves the previous summary whole */
    static const char *const names[3] = {"summary.csv", "summary.md", "tasks.csv"};
    char path[3][1200], err[1400];
    app_io_file_ o[3] = {{0}};
    if (!typ || !v) {
        rc = APP_EXIT_FAILED;
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", out, names[i]);
        if (app_io_create_(&o[i], path[i], "w", err, sizeof err) != APP_IO_OK) {
            fprintf(stderr, "topopt: suite: %s\n", err);
            rc = APP_EXIT_FAILED;
            goto done;
        }
    }
    FILE *csv = o[0].f, *md = o[1].f, *tcsv = o[2].f;
    int ntask[4] = {0}, nimp = 0; /* tasks by class (row_status); imported ones */
    /* the budget and the overrides' hash (sets_hash) let --import match rows to tasks */
    for (int c = 0; c < TC_N; c++)
        fprintf(tcsv, "%s%c", TASKS_COLUMNS[c], c + 1 < TC_N ? ',' : '\n');
    for (int t = 0; t < nt; t++) {
        const row *rw = &rows[t];
        const char *status;
        ntask[row_status(rw->rc, &status)]++;
        nimp += rw->imported;
        fprintf(tcsv, "%s,%s,%lu,%.17g,%.6f,%.3e,%ld,%d,%.3f,%ld,%.4f,%d,%llx,%s\n",
                su->b[task_problem(su, t)].name, task_family(su, t)->name, task_seed(su, t),
                rw->compliance, rw->volume, rw->violation, rw->evals, rw->iters, rw->time,
                rw->to_best4, rw->grey, steps, sets_hash(su->o), status);
    }
    fprintf(csv, "name,width,height,volfrac,method,seeds,seeds_ok,c0,typical,best,paper_typical,"
                 "paper_best,paper_best4_typical,ratio_typical,ratio_best,ratio_best4,time_s,"
                 "evals_to_best4,grey,status\n");
    fprintf(md, "| problem | method | seeds | ours typical | ours best | paper typical | paper "
                "best | paper best-of-4 typical | typical/paper | typical/best-of-4 | evaluations "
                "to best-of-4 | grey |\n"
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    int n100[NFAM] = {0}, n102[NFAM] = {0}, nb4[NFAM] = {0}, nbest[NFAM] = {0}, nok[NFAM] = {0};
    int nb4_102[NFAM] = {0}, nb4_105[NFAM] = {0}; /* typical <= 1.02x, > 1.05x best-of-4 */
    double total = 0;
    for (int s = 0; s < ns; s++) {
        const app_benchmark *p = &su->b[su->sel[s]];
        double best4 = best4_of(p);
        for (int m = 0; m < nm; m++) {
            const family *fam = su->fam[m];
            int n = 0, cls[4] = {0};
            double time = 0, best = NAN;
            for (int k = 0; k < nk; k++) {
                const row *rw = &rows[(s * nm + m) * nk + k];
                cls[row_status(rw->rc, NULL)]++;
                time += rw->time;
                if (rw->rc != APP_EXIT_OK) continue;
                v[n++] = rw->compliance;
                if (!(rw->compliance >= best)) best = rw->compliance;
            }
            /* evaluations to reach best-of-4: the median over the seeds, a seed that never
             * reached it counting as infinitely many (so the median is "never" when most did
             * not) */
            int nr = 0;
            for (int k = 0; k < nk; k++) {
                const row *rw = &rows[(s * nm + m) * nk + k];
                if (rw->rc == APP_EXIT_OK)
                    v[n + nr++] = rw->to_best4 >= 0 ? (double)rw->to_best4 : INFINITY;
            }
            double reach = median(v + n, nr);
            int ng = 0; /* the grey fraction: median over the seeds that have it */
            for (int k = 0; k < nk; k++) {
                const row *rw = &rows[(s * nm + m) * nk + k];
                if (rw->rc == APP_EXIT_OK && isfinite(rw->grey)) v[n + nr + ng++] = rw->grey;
            }
            double grey = median(v + n + nr, ng);
            char reach_s[32] = "";
            if (nr > 0 && isfinite(reach))
                snprintf(reach_s, sizeof reach_s, "%.0f", reach);
            else if (nr > 0)
                snprintf(reach_s, sizeof reach_s, "never");
            total += time;
            double ty = median(v, n);
            typ[s * nm + m] = ty;
            double pt = p->typical[fam->ref], pb = p->ensemble[fam->ref];
            int ok = n == nk;
            /* a failed seed fails the pair; else one still to finish leaves it unfinished */
            const char *pair = ok       ? "ok"
                               : cls[3] ? "failed"
                               : cls[2] ? "unfinished"
                               : n > 0  ? "partial"
                                        : "not run";
            if (ok) {
                nok[m]++;
                if (ty <= pt) n100[m]++;
                if (ty <= 1.02 * pt) n102[m]++;
                if (ty <= best4) nb4[m]++;
                if (ty <= 1.02 * best4) nb4_102[m]++;
                if (ty > 1.05 * best4) nb4_105[m]++;
                if (best <= pb) nbest[m]++;
            } else {
                (*missing)++;
            }
            fprintf(csv,
                    "%s,%d,%d,%.17g,%s,%d,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.6f,%.6f,%.6f,"
                    "%.3f,%s,%.4f,%s\n",
                    p->name, p->width, p->height, p->density, fam->name, nk, n, p->c0, ty, best, pt,
                    pb, best4, ty / pt, best / pb, ty / best4, time, reach_s, grey, pair);
            if (n > 0)
                fprintf(md,
                        "| %s | %s | %d/%d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s "
                        "| %.1f %% |\n",
                        p->name, fam->name, n, nk, ty, best, pt, pb, best4, ty / pt, ty / best4,
                        reach_s, 100 * grey);
            else
                fprintf(md, "| %s | %s | 0/%d | %s | | %.3f | %.3f | %.3f | | | | |\n", p->name,
                        fam->name, nk, pair, pt, pb, best4);
        }
    }
    char seeds[64];
    if (nk == 1)
        snprintf(seeds, sizeof seeds, "seed %lu", su->seed[0]);
    else
        snprintf(seeds, sizeof seeds, "%d seeds (%lu..%lu)", nk, su->seed[0], su->seed[nk - 1]);
    fprintf(md,
            "\n%d problems x %d methods x %s, %d evaluations each. Typical = median over the "
            "seeds, best = the lowest; the paper's are of the same method, its best-of-4 is the "
            "lowest typical of its four methods. Evaluations to best-of-4: the first FE "
            "evaluation at which a feasible iterate of the run (history.csv) was at or below the "
            "paper's best-of-4 typical compliance, median over the seeds (\"never\" when half or "
            "more of the "
            "seeds did not get there). Grey: the share of the designable elements whose physical "
            "density lies strictly between %g and %g, median over the seeds.\n\n"
            "| method | problems ran | typical <= paper typical | <= 1.02x | typical <= paper "
            "best-of-4 typical | <= 1.02x best-of-4 | > 1.05x best-of-4 | best <= paper best "
            "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
            ns, nm, seeds, steps, APP_GREY_LO, APP_GREY_HI);
    for (int m = 0; m < nm; m++)
        fprintf(md, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", su->fam[m]->name, nok[m],
                n100[m], n102[m], nb4[m], nb4_102[m], nb4_105[m], nbest[m]);
    fprintf(md,
            "\nTasks: %d ok (%d of them imported from another run's tasks.csv), %d not run, %d "
            "interrupted, unfinished or still running (--resume continues them from their "
            "checkpoints), %d failed. Total solve time %.1f s (sum over the tasks); this call "
            "ran %d tasks in %.1f s wall (%s).\n",
            ntask[0], nimp, ntask[1], ntask[2], ntask[3], total, ntodo, wall, how);
    if (ntask[0] < nt && !interim)
        printf("suite: of %d tasks %d ok, %d not run, %d interrupted, unfinished or running, "
               "%d failed\n",
               nt, ntask[0], ntask[1], ntask[2], ntask[3]);
    for (int m = 0; m < nm && !interim; m++)
        printf("suite: %s: %d of %d problems ran; typical <= paper typical %d (<= 1.02x %d), "
               "<= paper best-of-4 %d\n",
               su->fam[m]->name, nok[m], ns, n100[m], n102[m], nb4[m]);
    for (int i = 0; i < 3; i++)
        if (app_io_finish_(&o[i], err, sizeof err) != APP_IO_OK) {
            fprintf(stderr, "topopt: suite: %s\n", err);
            rc = APP_EXIT_FAILED;
        }
    if (write_pictures(su, rows, typ)) rc = APP_EXIT_FAILED;
    if (rc == APP_EXIT_OK && interim && !su->o->quiet)
        printf("suite: report updated: %d of %d tasks ok (%s/summary.md)\n", ntask[0], nt, out);
    else if (rc == APP_EXIT_OK && !interim)
        printf("suite: %d tasks, %.1f s solve time, %.1f s wall (%s); wrote %s/summary.csv, "
               "summary.md, tasks.csv, summary.png, summary_best4.png, gallery.png\n",
               nt, total, wall, how, out);
done:
    for (int i = 0; i < 3; i++)
        app_io_abort_(&o[i]); /* no-op for a file finished or never opened */
    free(typ);
    free(v);
    return rc;
}

/* The report's files are written by one process at a time (a suite ending while --report runs
 * beside it, two suites sharing a folder): each takes DIR/report.lock, waiting for another
 * process's report to end. Returns the descriptor to close, or -1 (unguarded, no locks). */
static int report_lock(const char *out)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/report.lock", out);
    int fd = app_io_lock(p, 0);
    if (fd == APP_IO_LOCK_BUSY) {
        printf("suite: waiting for another process to finish writing the report of %s\n", out);
        fflush(stdout);
        fd = app_io_lock(p, 1);
    }
    return fd;
}

/* The report of the tasks finished so far, written while the others run (progress_done). */
static void interim_report(const suite *su)
{
    progress *pg = su->pg;
    double t0 = app_now();
    int missing = 0, lock = report_lock(su->out);
    write_summary(su, pg->rows, (int)pg->tasks, t0 - pg->t0, "the suite still running", &missing,
                  1);
    if (lock >= 0) close(lock);
    pg->last = app_now();
    pg->cost = pg->last - t0;
}

int app_suite_selects(const app_suite_opts *o, const app_benchmark *b)
{
    return (!o->filter || strstr(b->name, o->filter)) && (!o->small_only || !b->large) &&
           (!o->large_only || b->large);
}

int app_suite(const app_suite_opts *o)
{
    int rank = 0, nranks = 1;
    int mpi = app_mpi_start(&rank, &nranks);
    if (mpi < 0) return APP_EXIT_FAILED;
    /* every failure of the set-up jumps to agree, where all ranks learn of it (a rank that left
     * alone would leave the others waiting for it forever) */
    suite su = {.o = o, .out = o->out_dir ? o->out_dir : "results/suite"};
    app_benchmark *b = NULL;
    int nb = 0, rc = APP_EXIT_OK, *sel = NULL, *todo = NULL, nt = 0, ntodo = 0, lost = 0;
    row *rows = NULL, *imp = NULL;
    su.seed = malloc(sizeof(unsigned long) * MAX_SEEDS);
    char err[1024];
    if (!su.seed) {
        rc = APP_EXIT_FAILED;
        goto agree;
    }
    if (o->seeds) {
        if (parse_seeds(o->seeds, su.seed, MAX_SEEDS, &su.nk)) {
            fprintf(stderr,
                    "topopt: suite: --seeds '%s': expected ranges and lists of distinct "
                    "non-negative integers such as 0-9 or 0,3,7-9 (at most %d)\n",
                    o->seeds, MAX_SEEDS);
            rc = APP_EXIT_USAGE;
            goto agree;
        }
    } else {
        su.seed[0] = 0;
        su.nk = 1;
    }
    const char *methods = o->methods ? o->methods : FAMILIES[0].name;
    if (parse_methods(methods, su.fam, &su.nm)) {
        rc = APP_EXIT_USAGE;
        goto agree;
    }
    const char *bp = o->bench_path ? o->bench_path : app_benchmarks_path();
    if (app_benchmarks_load(bp, &b, &nb, err, sizeof err)) {
        fprintf(stderr, "topopt: suite: %s\n", err);
        rc = APP_EXIT_USAGE;
        goto agree;
    }
    su.b = b;
    sel = malloc(sizeof(int) * (size_t)(nb ? nb : 1));
    if (!sel) {
        rc = APP_EXIT_FAILED;
        goto agree;
    }
    for (int i = 0; i < nb; i++)
        if (app_suite_selects(o, &b[i])) sel[su.ns++] = i;
    su.sel = sel;
    if (su.ns == 0) {
        fprintf(stderr, "topopt: suite: no problem matches '%s'\n", o->filter ? o->filter : "");
        rc = APP_EXIT_USAGE;
        goto agree;
    }
    if (o->n_sets > 0) { /* a bad override fails here once, not in every task */
        for (int m = 0; m < su.nm && rc == APP_EXIT_OK; m++) {
            char text[1024];
            app_config c;
            snprintf(text, sizeof text, "problem: {benchmark: %s}\n%s", b[sel[0]].name,
                     su.fam[m]->yaml);
            if (app_config_load_string(&c, "--set", text, o->n_sets, o->sets, bp, err,
                                       sizeof err)) {
                fprintf(stderr, "topopt: suite: %s\n", err);
                rc = APP_EXIT_USAGE;
            } else {
                app_config_free(&c);
            }
        }
        if (rc != APP_EXIT_OK) goto agree;
    }
    nt = su.ns * su.nm * su.nk;
    rows = calloc((size_t)nt, sizeof *rows);
    todo = malloc(sizeof(int) * (size_t)nt);
    if (!rows || !todo) {
        rc = APP_EXIT_FAILED;
        goto agree;
    }
    /* rank 0 makes the directories and the to-do list; with MPI the other ranks wait for it */
    if (rank == 0) {
        for (int t = 0; t < nt; t++) {
            char d[1100];
            task_dir(d, sizeof d, &su, t);
            if (app_io_mkdirs(d, err, sizeof err) != APP_IO_OK) {
                fprintf(stderr, "topopt: suite: %s\n", err);
                rc = APP_EXIT_FAILED;
                break;
            }
        }
        /* tasks finished elsewhere (--import) */
        if (o->n_imports > 0 && rc == APP_EXIT_OK && !(imp = calloc((size_t)nt, sizeof *imp)))
            rc = APP_EXIT_FAILED;
        for (int i = 0; i < o->n_imports && rc == APP_EXIT_OK; i++) {
            int taken, own, other,
                bad = import_tasks(&su, o->imports[i], imp, &taken, &own, &other, err, sizeof err);
            if (bad) {
                fprintf(stderr, "topopt: suite: %s\n", err);
                rc = bad == -2 ? APP_EXIT_FAILED : APP_EXIT_USAGE;
            } else if (!o->quiet) {
                printf("suite: %s: %d finished task%s of this suite imported, %d kept from %s "
                       "(its own finished rows come first); %d other finished row%s (other "
                       "problems, methods, seeds, --steps or --set) left out\n",
                       o->imports[i], taken, taken == 1 ? "" : "s", own, su.out, other,
                       other == 1 ? "" : "s");
            }
        }
        int nimp = 0;
        /* with --resume, tasks whose row of this family, budget and seed says "ok" are kept;
         * those imported in this call are never run */
        for (int t = 0; t < nt && rc == APP_EXIT_OK; t++) {
            char p[1300];
            row_path(p, sizeof p, &su, t);
            if (o->report) continue; /* --report: the summary of what is on disk */
            if (o->resume &&
                !read_row(p, &rows[t], task_family(&su, t), o->steps, task_seed(&su, t),
                          sets_hash(o)) &&
                rows[t].rc == APP_EXIT_OK)
                continue;
            if (imp && imp[t].done) {
                nimp++;
                continue;
            }
            todo[ntodo++] = t;
        }
        if (nimp > 0 && !o->quiet && rc == APP_EXIT_OK)
            printf("suite: %d imported task%s not run here\n", nimp, nimp == 1 ? "" : "s");
        sort_su = &su;
        qsort(todo, (size_t)ntodo, sizeof *todo, cmp_task);
        if (o->resume && !o->quiet && rc == APP_EXIT_OK)
            printf("suite: %d of %d tasks already done in %s, %d to run\n", nt - ntodo, nt, su.out,
                   ntodo);
    }
agree:
    if (mpi) rc = app_mpi_agree(rc);
    if (rc != APP_EXIT_OK) goto done;
    fflush(NULL);
    double wall0 = app_now();
    char how[96];
    progress pg = {.ntodo = ntodo, .t0 = wall0, .quiet = o->quiet, .last = wall0};
    for (int i = 0; i < ntodo; i++)
        pg.total_cells += cells(&su.b[task_problem(&su, todo[i])]);
    /* interim reports: not under MPI, where rank 0 must keep answering the ranks */
    pg.every = o->report_every < 0 || mpi || ntodo < 2 ? 0
               : o->report_every > 0                   ? o->report_every
                                                       : 300;
    if (pg.every > 0 && !(pg.rows = calloc((size_t)nt, sizeof *pg.rows))) pg.every = 0;
    su.pg = &pg;
    if (mpi) {
        /* rank 0 only hands out tasks (see suite_mpi.h); the others run them */
        int threads = app_mpi_threads_per_rank();
        app_mpi_set_threads(threads);
        app_threads_limit(0, threads); /* every run of this rank keeps them */
        if (rank == 0 && !o->quiet) {
            printf("suite: MPI task farm, %d worker ranks, %d thread(s) each, %d tasks\n",
                   nranks - 1, threads, ntodo);
            if (app_mpi_ranks_survive() == 0)
                printf("suite: a rank that dies ends this Open MPI job (its tasks continue from "
                       "their checkpoints on --resume); with `mpirun --mca "
                       "orte_enable_recovery 1` the other ranks run them\n");
        }
        fflush(NULL);
        /* SIGTERM (mpirun passes Ctrl-C on as SIGTERM after odls_base_sigkill_timeout, Slurm
         * sends it at the time limit): running tasks stop with a checkpoint, no other starts */
        if (!o->report) app_run_install_signals();
        const app_mpi_tasks tk = {.run = run_task_cb,
                                  .name = task_name_cb,
                                  .done = task_done_cb,
                                  .stopping = stopping_cb,
                                  .user = &su,
                                  .rank_timeout = o->rank_timeout};
        if ((lost = app_mpi_farm(todo, ntodo, &tk)) < 0) rc = APP_EXIT_FAILED;
        snprintf(how, sizeof how, "MPI, %d worker ranks x %d thread%s", nranks - 1, threads,
                 threads > 1 ? "s" : "");
    } else {
        int jobs = o->jobs > 1 ? o->jobs : 1;
        if (jobs > ntodo) jobs = ntodo > 0 ? ntodo : 1;
        /* the workers share the cores (or --threads) without oversubscription */
        app_threads_limit(o->threads > 0 ? 0 : app_threads_cores() / jobs,
                          o->threads > 0 ? (o->threads / jobs > 0 ? o->threads / jobs : 1) : 0);
        if (!o->report) app_run_install_signals(); /* Ctrl-C: checkpoint, no other task */
        if (jobs == 1) {
            task_feed feed = feed_open(-1, ntodo);
            for (int i; !app_run_stop_requested() && feed_next(&feed, &i);) {
                const int t = todo[i];
                run_one(&su, t, 0, &rows[t]);
                if (rows[t].rc == ROW_RUNNING)
                    feed_left(&feed, i);
                else if (rows[t].rc != ROW_INTERRUPTED)
                    progress_done(&su, t);
            }
            free(feed.left);
        } else if ((lost = run_forked(&su, todo, ntodo, jobs)) < 0) {
            rc = APP_EXIT_FAILED;
        }
        snprintf(how, sizeof how, "%d job%s", jobs, jobs > 1 ? "s" : "");
    }
    double wall = app_now() - wall0;
    su.pg = NULL;
    free(pg.rows);
    /* the tables never depend on timing: the rows are read back in task order */
    if (rank == 0 && rc == APP_EXIT_OK) {
        int missing = 0, lock = report_lock(su.out);
        rc = write_summary(&su, rows, ntodo, wall, how, &missing, 0);
        if (lock >= 0) close(lock);
        /* a failed task fails the suite; a report of a suite still running or cut short is
         * what it says */
        if (missing && rc == APP_EXIT_OK && !o->report) rc = APP_EXIT_FAILED;
    }
    if (lost > 0) {
        printf("suite: %d task%s lost (process died, see above); --resume reruns %s\n", lost,
               lost > 1 ? "s" : "", lost > 1 ? "them" : "it");
        rc = APP_EXIT_FAILED;
    }
    if (rank == 0 && app_run_stop_requested()) {
        printf("suite: interrupted; --resume runs the unfinished tasks, each from its "
               "checkpoint\n");
        rc = APP_EXIT_FAILED;
    }
done:
    free(sel);
    free(rows);
    free(imp);
    free(todo);
    free(su.seed);
    app_benchmarks_free(b, nb);
    if (mpi) app_mpi_finish();
    return rc;
}
