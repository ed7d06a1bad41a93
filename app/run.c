// app/run.c: one optimization run: chain + solver, progress, outputs, checkpoint and resume
#include "run.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "export.h"
#include "ncvx.h"
#include "strategy.h"
#include "threads.h"

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void app_run_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the program at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    /* but not a second SIGTERM: Slurm sends it to every process of a job step, the suite's
     * task processes too, whose rank passes it on as well, and at the time limit twice within
     * milliseconds; it sends SIGKILL when it no longer wants to wait */
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, NULL);
    /* SIGUSR2 as SIGTERM: mpirun passes it on to every rank at once (SIGTERM only after
     * odls_base_sigkill_timeout, and a second one ends mpirun), so batch scripts stop a farm
     * with it */
    sigaction(SIGUSR2, &sa, NULL);
}

int app_run_stop_requested(void)
{
    return g_stop != 0;
}

double app_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Counters stored in the checkpoint (app_checkpoint.counters), in this order. */
enum { CK_ITER = 0, CK_EVALS, CK_ROWS, CK_N_PARAMS, CK_N_INEQ, CK_N_EQ, CK_COUNT };
/* Words: seed, bit pattern of the objective scale, bit pattern of the elapsed time. */
enum { CW_SEED = 0, CW_SCALE, CW_TIME, CW_COUNT };

typedef struct {
    const app_config *c;
    const app_run_opts *o;
    app_chain *ch;
    ncvx_solver *sv;
    int n, n_ineq, n_eq;
    app_history hist;
    double *state; /* [state_size] solver state at the last checkpoint */
    size_t state_size;
    double *theta_ck; /* [n] iterate at the last checkpoint */
    int ck_iter;
    long ck_evals;
    int ck_rows;
    int have_ck;
    double t_offset; /* seconds already spent before a resume */
    double ck_last;  /* app_now() at the start or the end of the last periodic checkpoint */
    double ck_cost;  /* seconds the last one took to write */
    char dir[1024];
    int halted_by_signal;
    int converged;  /* stopped by budget.change_tol */
    double *x_prev; /* [n] previous iterate (change_tol) */
    int monitor_failed;
    char err[4096];
    FILE *log;
    char *identity;         /* app_config_identity(c) */
    uint64_t identity_hash; /* its FNV-1a 64 */
    double *theta;          /* [n] the iterate: start, then the solver's result */
    app_result prev;        /* the checkpoint read by --resume (zero otherwise) */
    ncvx_info info;         /* of the solve */
    double elapsed;         /* wall seconds of the solve, resumed time included */
    int interrupted;        /* the solve was halted by a signal (or halt_after) */
} run_ctx;

uint64_t app_run_dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

double app_run_bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int app_run_halt_due(const app_run_opts *o, long iter)
{
    return g_stop || (o->halt_after > 0 && iter >= o->halt_after);
}

int app_run_identity(const app_config *c, char **keys, uint64_t *hash)
{
    *keys = app_config_identity(c);
    if (!*keys) {
        fprintf(stderr, "topopt: out of memory\n");
        return 1;
    }
    *hash = app_fnv1a64(APP_FNV1A64_INIT, *keys, strlen(*keys));
    return 0;
}

int app_run_checkpoint_due(const app_config *c, long iter, double last, double cost)
{
    if (c->checkpoint_every > 0 && iter % c->checkpoint_every == 0) return 1;
    return c->checkpoint_seconds > 0 && app_now() - last >= fmax(c->checkpoint_seconds, 50 * cost);
}

app_ck_kind app_run_checkpoint_kind(const app_checkpoint *k)
{
    return k->n_counters > 0 && k->counters[0] == APP_CK_STRATEGY_TAG ? APP_CK_STRATEGY
                                                                      : APP_CK_SINGLE;
}

static const char *status_text(int term, int interrupted)
{
    if (interrupted) return "interrupted";
    if (term < 0) return "running"; /* a periodic checkpoint */
    switch (term) {
    case NCVX_TERM_STATIONARY:
    case NCVX_TERM_REL_TOL:
    case NCVX_TERM_FVALQUIT:
        return "converged";
    case NCVX_TERM_MAXIT:
    case NCVX_TERM_CLOCK:
    case NCVX_TERM_MAXEVAL:
        return "budget";
    case NCVX_TERM_USER_HALT:
        return "halted";
    default:
        return "stopped";
    }
}

/* The output set, in the order it is put in place: result.h5 last, because it is what
 * --resume, render and the suite read, so it is the commit point of the set. */
static const char *const OUT_FILES[3] = {"design.png", "history.csv", "result.h5"};

/* Move the staged set (DIR/<name>.new, each complete and fsynced) into place. The renames
 * need no space; a failure leaves the files not yet renamed as they were. */
static int commit_outputs(const char *dir, char *err, size_t len)
{
    char from[1200], to[1200];
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/%s.new", dir, OUT_FILES[i]);
        snprintf(to, sizeof to, "%s/%s", dir, OUT_FILES[i]);
        if (rename(from, to) != 0) {
            snprintf(err, len, "%s: cannot rename %s into place: %s", dir, from, strerror(errno));
            for (int j = i; j < 3; j++) {
                snprintf(from, sizeof from, "%s/%s.new", dir, OUT_FILES[j]);
                remove(from);
            }
            return 1;
        }
    }
    return 0;
}

/* A staged write failed: remove what was staged and keep the message. */
static int discard_outputs(const char *dir, const char *why, char *err, size_t len)
{
    char p[1200];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s.new", dir, OUT_FILES[i]);
        remove(p);
    }
    snprintf(err, len, "%s (the previous outputs in %s, if any, are unchanged)", why, dir);
    return 1;
}

int app_outputs_publish(const char *dir, const app_config *c, const app_chain_fields *fl,
                        const app_history *hist, app_result *res, char *err, size_t len)
{
    char path[1200], why[1024];
    snprintf(path, sizeof path, "%s/design.png.new", dir);
    if (app_png_write_density(path, fl->rho_physical, fl->W, fl->H, c->png_scale, c->mirror_left,
                              c->mirror_right, why, sizeof why) != APP_IO_OK)
        return discard_outputs(dir, why, err, len);
    snprintf(path, sizeof path, "%s/history.csv.new", dir);
    if (app_history_write_csv(path, hist, why, sizeof why) != APP_IO_OK)
        return discard_outputs(dir, why, err, len);
    char *cfg = app_config_to_string(c);
    if (!cfg) return discard_outputs(dir, "out of memory", err, len);
    res->W = fl->W;
    res->H = fl->H;
    res->rho_raw = (double *)fl->rho_raw;
    res->rho_filtered = (double *)fl->rho_filtered;
    res->rho_physical = (double *)fl->rho_physical;
    res->ndof = fl->displacement ? fl->ndof : 0;
    res->n_load_cases = fl->displacement ? fl->n_cases : 0;
    res->displacement = (double *)fl->displacement;
    res->strain_energy = (double *)fl->strain_energy;
    res->history = *hist;
    res->config_text = cfg;
    res->compliance = fl->compliance;
    res->volume_fraction = fl->volume;
    res->version = (char *)APP_VERSION;
    res->seed = (uint64_t)c->seed;
    res->config_name = (char *)c->name;
    res->mirror_left = c->mirror_left;
    res->mirror_right = c->mirror_right;
    snprintf(path, sizeof path, "%s/result.h5.new", dir);
    app_io_status st = app_h5_write(path, res, why, sizeof why);
    free(cfg);
    res->config_text = NULL;
    if (st != APP_IO_OK) return discard_outputs(dir, why, err, len);
    return commit_outputs(dir, err, len);
}

/* Write design.png, history.csv and result.h5 (with the checkpoint of the last saved state)
 * as one set: each is first written completely under DIR/<name>.new (fsynced), then all are
 * renamed into place with result.h5 last. A fault while writing (disk full, I/O error) leaves
 * the previous set untouched; the set is replaced at every checkpoint too, so the three files
 * always describe the same iterate. */
static int write_outputs(run_ctx *r, const double *theta, double compliance_attr, int term,
                         int interrupted, int final)
{
    const app_config *c = r->c;
    app_chain_fields fl;
    (void) final;
    (void)compliance_attr;
    if (app_chain_fields_at(r->ch, theta, &fl)) {
        snprintf(r->err, sizeof r->err, "evaluation of the final design failed");
        return 1;
    }
    app_result res;
    memset(&res, 0, sizeof res);
    res.n_params = (size_t)r->n;
    res.theta = (double *)theta;
    res.config_keys = r->identity;
    res.config_hash = r->identity_hash;
    res.status_code = term;
    res.status = (char *)(r->converged ? "converged" : status_text(term, interrupted));
    res.method = (char *)ncvx_method_str(c->solver.method);
    res.parameterization = (char *)app_name_str(&app_param_kind_names, c->param_kind);
    int64_t counters[CK_COUNT];
    uint64_t words[CW_COUNT];
    if (r->have_ck) {
        counters[CK_ITER] = r->ck_iter;
        counters[CK_EVALS] = r->ck_evals;
        counters[CK_ROWS] = r->ck_rows;
        counters[CK_N_PARAMS] = r->n;
        counters[CK_N_INEQ] = r->n_ineq;
        counters[CK_N_EQ] = r->n_eq;
        words[CW_SEED] = (uint64_t)c->seed;
        words[CW_SCALE] = app_run_dbits(app_chain_scale(r->ch));
        words[CW_TIME] = app_run_dbits(r->t_offset);
        res.checkpoint.present = 1;
        res.checkpoint.n_counters = CK_COUNT;
        res.checkpoint.counters = counters;
        res.checkpoint.n_words = CW_COUNT;
        res.checkpoint.words = words;
        res.checkpoint.n_solver_state = r->state_size;
        res.checkpoint.solver_state = r->state;
        res.checkpoint.n_extra = (size_t)r->n;
        res.checkpoint.extra = r->theta_ck;
    }
    return app_outputs_publish(r->dir, c, &fl, &r->hist, &res, r->err, sizeof r->err);
}

/* The first line of `have` (a stored identity) that differs from `want` (this config's), as a
 * message naming the key and both values. Lines are "key: value" in schema order; a key one
 * side lacks (a program version with other keys) is named too. */
static void identity_diff(const char *have, const char *want, char *msg, size_t len)
{
    const char *a = have, *b = want;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        size_t ka = strcspn(a, ":"), kb = strcspn(b, ":");
        if (ka > la) ka = la;
        if (kb > lb) kb = lb;
        if (la != lb || strncmp(a, b, la) != 0) {
            if (ka == kb && strncmp(a, b, ka) == 0) {
                int vl = (int)(la - ka > 2 ? la - ka - 2 : 0),
                    wl = (int)(lb - kb > 2 ? lb - kb - 2 : 0);
                snprintf(msg, len, "%.*s is %.*s%s in the checkpoint but %.*s%s here", (int)ka, a,
                         vl > 200 ? 200 : vl, a + ka + 2, vl > 200 ? "..." : "",
                         wl > 200 ? 200 : wl, b + kb + 2, wl > 200 ? "..." : "");
            } else if (*a) {
                snprintf(msg, len, "key %.*s of the checkpoint is not set the same way here",
                         (int)ka, a);
            } else {
                snprintf(msg, len, "key %.*s is not in the checkpoint", (int)kb, b);
            }
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    snprintf(msg, len, "the config hash differs");
}

/* What a checkpoint of each kind is called in messages. */
static const char *kind_text(app_ck_kind kind)
{
    return kind == APP_CK_STRATEGY ? "a design strategy (strategy.kind other than single)"
                                   : "a single run (strategy.kind: single)";
}

int app_run_checkpoint_open(const char *dir, const app_config *c, const char *keys, uint64_t hash,
                            app_ck_kind kind, app_result *prev, char *path, size_t len)
{
    char err[1024], msg[1024];
    snprintf(path, len, "%s/result.h5", dir);
    if (app_h5_read(path, prev, err, sizeof err) != APP_IO_OK) {
        fprintf(stderr, "topopt: --resume: %s\n", err);
        return APP_EXIT_USAGE;
    }
    const app_checkpoint *k = &prev->checkpoint;
    if (!prev->config_keys || !prev->config_hash) {
        fprintf(stderr,
                "topopt: --resume: %s has no config hash (written by an older topopt); "
                "start a fresh run\n",
                path);
        return APP_EXIT_USAGE;
    }
    if (prev->config_hash !=
        app_fnv1a64(APP_FNV1A64_INIT, prev->config_keys, strlen(prev->config_keys))) {
        fprintf(stderr, "topopt: --resume: %s: config_hash does not match config_keys\n", path);
        return APP_EXIT_USAGE;
    }
    if (k->present && app_run_checkpoint_kind(k) != kind) {
        fprintf(stderr,
                "topopt: --resume: %s is a checkpoint of %s, but this config is %s; resume it "
                "with the config it was written with\n",
                path, kind_text(app_run_checkpoint_kind(k)), kind_text(kind));
        return APP_EXIT_USAGE;
    }
    if (prev->config_hash != hash || strcmp(prev->config_keys, keys) != 0) {
        identity_diff(prev->config_keys, keys, msg, sizeof msg);
        fprintf(stderr,
                "topopt: --resume: %s is a checkpoint of another problem or method: %s (only "
                "budget.*, outputs.* and limits.* may change on resume)\n",
                path, msg);
        return APP_EXIT_USAGE;
    }
    if (!k->present) {
        fprintf(stderr,
                "topopt: --resume: %s holds no checkpoint (a finished run keeps the solver "
                "state only with outputs.keep_state: true)\n",
                path);
        return APP_EXIT_USAGE;
    }
    if (prev->W != c->width || prev->H != c->height) {
        fprintf(stderr,
                "topopt: --resume: %s: root attributes W, H differ from this config's grid\n",
                path);
        return APP_EXIT_USAGE;
    }
    return APP_EXIT_OK;
}

int app_run_history_restore(app_history *h, const app_history *from, int rows)
{
    int nc = from->n_constraints;
    if (rows <= 0) return 0;
    if (rows > from->n_rows || nc != h->n_constraints || from->n_extra != h->n_extra) return 1;
    for (int i = 0; i < rows; i++)
        if (app_history_append(h, from->iteration[i], from->evaluations[i], from->objective[i],
                               nc ? from->constraints + (size_t)i * nc : NULL, from->violation[i],
                               from->step[i], from->time[i],
                               from->n_extra ? from->extra + (size_t)i * from->n_extra : NULL) !=
            APP_IO_OK)
            return 1;
    return 0;
}

/* The single-run part of the checks of a checkpoint prev (read from path, already found to be
 * one of this config by app_run_checkpoint_open). 0, or 1 with a message printed. */
static int resume_check(const run_ctx *r, const app_result *prev, const char *path)
{
    const app_config *c = r->c;
    const app_checkpoint *k = &prev->checkpoint;
    const app_history *h = &prev->history;
    int nc = r->n_ineq + r->n_eq;
    const char *bad = NULL;
    if (k->n_counters != CK_COUNT || k->n_words != CW_COUNT)
        bad = "checkpoint/counters or words: wrong length";
    else if (k->counters[CK_N_PARAMS] != r->n || k->n_extra != (size_t)r->n)
        bad = "checkpoint/extra: parameter count differs from this config's";
    else if (k->counters[CK_N_INEQ] != r->n_ineq || k->counters[CK_N_EQ] != r->n_eq)
        bad = "checkpoint/counters: constraint counts differ from this config's";
    else if (k->words[CW_SEED] != (uint64_t)c->seed)
        bad = "checkpoint/words: seed differs from this config's";
    else if (prev->theta && prev->n_params != (size_t)r->n)
        bad = "params/theta: parameter count differs from this config's";
    else if (k->counters[CK_ITER] < 0 || k->counters[CK_EVALS] < 0 || k->counters[CK_ROWS] < 0 ||
             k->counters[CK_ROWS] > h->n_rows)
        bad = "checkpoint/counters: iteration, evaluation or row count out of range";
    else if (h->n_rows > 0 && (h->n_constraints != nc || h->n_extra != 2))
        bad = "history: columns differ from this config's constraints";
    if (bad) {
        fprintf(stderr, "topopt: --resume: %s: %s\n", path, bad);
        return 1;
    }
    return 0;
}

/* Save the solver state at the current iterate (called from the monitor). */
static int save_state(run_ctx *r, const ncvx_iterate *it)
{
    if (ncvx_state_export(r->sv, r->state, r->state_size) != NCVX_OK) return 1;
    memcpy(r->theta_ck, it->x, sizeof(double) * (size_t)r->n);
    r->ck_iter = it->iter;
    r->ck_evals = it->evals;
    r->ck_rows = r->hist.n_rows;
    r->have_ck = 1;
    return 0;
}

static int monitor(const ncvx_iterate *it, void *user)
{
    run_ctx *r = user;
    const app_config *c = r->c;
    double viol = it->viol_ineq + it->viol_eq;
    double cons[16];
    int nc = r->n_ineq + r->n_eq;
    for (int i = 0; i < r->n_ineq && i < 16; i++)
        cons[i] = it->c_ineq ? it->c_ineq[i] : NAN;
    for (int i = 0; i < r->n_eq && r->n_ineq + i < 16; i++)
        cons[r->n_ineq + i] = it->c_eq ? it->c_eq[i] : NAN;
    double extra[2] = {it->mu, it->stat};
    /* the objective column is the compliance in its own units, whether or not the solver sees
     * it divided by a scale (method.normalize_objective, mma) */
    double f = it->f * app_chain_scale(r->ch);
    if (app_history_append(&r->hist, it->iter, it->evals, f, nc ? cons : NULL, viol, it->step,
                           it->time + r->t_offset, extra) != APP_IO_OK) {
        r->monitor_failed = 1;
        snprintf(r->err, sizeof r->err, "out of memory recording the history");
        return 1;
    }
    if (c->change_tol > 0) {
        double change = 0;
        for (int i = 0; i < r->n && it->iter > 0; i++) {
            double d = fabs(it->x[i] - r->x_prev[i]);
            if (d > change) change = d;
        }
        memcpy(r->x_prev, it->x, sizeof(double) * (size_t)r->n);
        if (it->iter > 0 && change < c->change_tol) {
            r->converged = 1;
            return 1;
        }
    }
    if (it->iter == 0) return 0;
    int halt = app_run_halt_due(r->o, it->iter);
    int ck = app_run_checkpoint_due(c, it->iter, r->ck_last, r->ck_cost);
    if ((halt || ck) && !r->o->no_outputs) {
        double t = app_now();
        if (save_state(r, it)) {
            r->monitor_failed = 1;
            snprintf(r->err, sizeof r->err, "cannot export the solver state");
            return 1;
        }
        if (write_outputs(r, it->x, it->f, halt ? (int)NCVX_TERM_USER_HALT : -1, halt, 0)) {
            r->monitor_failed = 1;
            return 1;
        }
        r->ck_last = app_now();
        r->ck_cost = r->ck_last - t;
    } else if (halt && r->o->no_outputs) {
        save_state(r, it);
    }
    if (c->frames_every > 0 && it->iter % c->frames_every == 0 && !r->o->no_outputs) {
        app_chain_fields fl;
        char path[1200], err[1024];
        if (app_chain_fields_at(r->ch, it->x, &fl) == 0) {
            snprintf(path, sizeof path, "%s/frames/%04d.png", r->dir, it->iter / c->frames_every);
            if (app_png_write_density(path, fl.rho_physical, fl.W, fl.H, c->png_scale,
                                      c->mirror_left, c->mirror_right, err,
                                      sizeof err) != APP_IO_OK)
                fprintf(stderr, "topopt: warning: %s\n", err);
        }
    }
    if (halt) {
        r->halted_by_signal = 1;
        return 1;
    }
    return 0;
}

/* The solver hands one `user` to every callback: the run context, which forwards to the chain. */
static int run_eval(const double *x, double *f, double *grad_f, double *c_ineq, double *jac_ineq,
                    double *c_eq, double *jac_eq, void *user)
{
    return app_chain_eval(x, f, grad_f, c_ineq, jac_ineq, c_eq, jac_eq, ((run_ctx *)user)->ch);
}

static int run_project(double *x, int n, void *user)
{
    return app_chain_project(x, n, ((run_ctx *)user)->ch);
}

void app_run_solver_settings(const app_config *c, const app_run_opts *o, ncvx_settings *s)
{
    *s = c->solver;
    s->print_level = o->quiet ? 0 : 1;
    s->log = o->log ? o->log : stdout;
    if (c->seed) s->seed = c->seed;
}

void app_run_dir(const app_config *c, const app_run_opts *o, char *dir, size_t len)
{
    if (o->resume_dir)
        snprintf(dir, len, "%s", o->resume_dir);
    else if (c->out_dir[0])
        snprintf(dir, len, "%s", c->out_dir);
    else
        snprintf(dir, len, "results/%s", c->name);
}

int app_run_lock_dir(const char *dir, int resume)
{
    char p[1200], err[1300];
    if (!resume && app_io_mkdirs(dir, err, sizeof err) != APP_IO_OK) return -1; /* said later */
    snprintf(p, sizeof p, "%s/task.lock", dir);
    int held = app_io_lock_held(p), fd = APP_IO_LOCK_BUSY;
    if (!held) {
        snprintf(p, sizeof p, "%s/run.lock", dir);
        fd = app_io_lock(p, 0);
    }
    if (fd == APP_IO_LOCK_BUSY)
        fprintf(stderr,
                "topopt: %s: another process is writing this folder (%s holds %s); let it "
                "end or stop it, or give this run another folder with --out\n",
                dir, held ? "a suite task" : "a run", p);
    return fd;
}

/* The stages of app_run. Each returns APP_EXIT_OK to go on, or the exit code with the message
 * already on stderr; run_free releases whatever the stages built. */

/* Output folder, config identity, chain, iterate buffers and the starting point. */
static int run_build(run_ctx *r)
{
    const app_config *c = r->c;
    const app_run_opts *o = r->o;
    char err[1024];
    app_run_dir(c, o, r->dir, sizeof r->dir);

    if (app_run_identity(c, &r->identity, &r->identity_hash)) return APP_EXIT_FAILED;
    if (app_chain_create(&r->ch, c, err, sizeof err)) {
        fprintf(stderr, "topopt: %s\n", err);
        return APP_EXIT_FAILED;
    }
    r->n = app_chain_num_params(r->ch);
    r->n_ineq = app_chain_num_ineq(r->ch);
    r->n_eq = app_chain_num_eq(r->ch);
    r->theta = malloc(sizeof(double) * (size_t)r->n);
    r->theta_ck = malloc(sizeof(double) * (size_t)r->n);
    r->x_prev = calloc((size_t)r->n, sizeof(double));
    if (!r->theta || !r->theta_ck || !r->x_prev) {
        fprintf(stderr, "topopt: out of memory (%d parameters)\n", r->n);
        return APP_EXIT_FAILED;
    }
    if (app_chain_init_params(r->ch, r->theta)) {
        fprintf(stderr, "topopt: parameter initialization failed\n");
        return APP_EXIT_FAILED;
    }
    return APP_EXIT_OK;
}

/* --resume: read the checkpoint into r->prev and check that it belongs to this config, first,
 * so that a bad folder is reported before any work (APP_EXIT_USAGE). Then the objective scale:
 * the checkpoint's, or the compliance at the start (NCVX normalizes by it). */
static int run_load(run_ctx *r)
{
    const app_run_opts *o = r->o;
    if (o->resume_dir) {
        char path[1200];
        int rc = app_run_checkpoint_open(o->resume_dir, r->c, r->identity, r->identity_hash,
                                         APP_CK_SINGLE, &r->prev, path, sizeof path);
        if (rc != APP_EXIT_OK) return rc;
        if (resume_check(r, &r->prev, path)) return APP_EXIT_USAGE;
    }
    /* MMA always: the weight of its artificial variables (mma_c = 1000) must exceed the
     * multipliers, and a volume multiplier is about p c / volfrac in units of the compliance
     * (1e4 to 1e5 for compliances of 1e3 to 1e4, where MMA never became feasible) */
    if (r->c->normalize_objective || r->c->solver.method == NCVX_MMA) {
        if (o->resume_dir) {
            app_chain_set_scale(r->ch, app_run_bitsd(r->prev.checkpoint.words[CW_SCALE]));
        } else {
            double f0;
            if (app_chain_eval(r->theta, &f0, NULL, NULL, NULL, NULL, NULL, r->ch)) {
                fprintf(stderr, "topopt: the starting design cannot be evaluated\n");
                return APP_EXIT_FAILED;
            }
            app_chain_set_scale(r->ch, f0);
        }
    }
    return APP_EXIT_OK;
}

/* The history, the solver and its state buffer; on --resume the solver state, the iterate,
 * the history up to the checkpoint and the time already spent are restored from r->prev. */
static int run_setup_solver(run_ctx *r)
{
    const app_config *c = r->c;
    const app_run_opts *o = r->o;
    const char *names[16];
    int nc = r->n_ineq + r->n_eq;
    for (int i = 0; i < r->n_ineq; i++)
        names[i] = app_chain_con_name(r->ch, i, 0);
    for (int i = 0; i < r->n_eq; i++)
        names[r->n_ineq + i] = app_chain_con_name(r->ch, i, 1);
    static const char *const extra_names[2] = {"mu", "stationarity"};
    int cap = c->solver.maxit + 2;
    if (cap > 100000) cap = 100000;
    if (app_history_init(&r->hist, nc, nc ? names : NULL, 2, extra_names, cap) != APP_IO_OK) {
        fprintf(stderr, "topopt: out of memory\n");
        return APP_EXIT_FAILED;
    }

    ncvx_settings s;
    app_run_solver_settings(c, o, &s);
    ncvx_problem p = {.n = r->n,
                      .n_ineq = r->n_ineq,
                      .n_eq = r->n_eq,
                      .eval = run_eval,
                      .monitor = monitor,
                      .project = run_project,
                      .lower = app_chain_lower(r->ch),
                      .upper = app_chain_upper(r->ch),
                      .user = r};
    ncvx_status st = ncvx_create(&r->sv, &p, &s);
    if (st != NCVX_OK) {
        fprintf(stderr, "topopt: solver setup failed: %s\n", ncvx_status_str(st));
        return APP_EXIT_FAILED;
    }
    r->state_size = ncvx_state_size(r->sv);
    r->state = malloc(sizeof(double) * (r->state_size ? r->state_size : 1));
    if (!r->state) {
        fprintf(stderr, "topopt: out of memory (solver state)\n");
        return APP_EXIT_FAILED;
    }
    if (!o->resume_dir) return APP_EXIT_OK;

    const app_checkpoint *k = &r->prev.checkpoint;
    if (k->n_solver_state != r->state_size ||
        ncvx_state_import(r->sv, k->solver_state, k->n_solver_state) != NCVX_OK) {
        fprintf(stderr, "topopt: --resume: the solver state does not match this config\n");
        return APP_EXIT_USAGE;
    }
    memcpy(r->theta, k->extra, sizeof(double) * (size_t)r->n);
    memcpy(r->x_prev, r->theta, sizeof(double) * (size_t)r->n);
    /* history up to the checkpoint */
    const app_history *h = &r->prev.history;
    int rows = (int)k->counters[CK_ROWS];
    if (app_run_history_restore(&r->hist, h, rows)) {
        fprintf(stderr, "topopt: out of memory\n");
        return APP_EXIT_FAILED;
    }
    r->t_offset = h->n_rows ? h->time[rows > 0 ? rows - 1 : 0] : 0;
    if (!o->quiet)
        fprintf(r->log, "resuming %s at iteration %lld (%lld evaluations)\n", r->dir,
                (long long)k->counters[CK_ITER], (long long)k->counters[CK_EVALS]);
    return APP_EXIT_OK;
}

/* The banner line (unless quiet) and the output folders (DIR, DIR/frames). */
static int run_prepare_outputs(run_ctx *r)
{
    const app_config *c = r->c;
    const app_run_opts *o = r->o;
    char err[1024];
    if (!o->quiet) {
        char budget[64];
        if (c->solver.max_evals > 0)
            snprintf(budget, sizeof budget, "%ld evaluations", c->solver.max_evals);
        else
            snprintf(budget, sizeof budget, "%d iterations", c->solver.maxit);
        fprintf(r->log,
                "%s: %dx%d grid, volfrac %.3g, %s parameterization (%d variables), %s, %d "
                "inequality and %d equality constraints, budget %s -> %s\n",
                c->name, c->width, c->height, c->volfrac,
                app_name_str(&app_param_kind_names, c->param_kind), r->n,
                ncvx_method_str(c->solver.method), r->n_ineq, r->n_eq, budget,
                o->no_outputs ? "(no outputs)" : r->dir);
        fflush(r->log);
    }
    if (!o->no_outputs && app_io_mkdirs(r->dir, err, sizeof err) != APP_IO_OK) {
        fprintf(stderr, "topopt: %s\n", err);
        return APP_EXIT_FAILED;
    }
    if (!o->no_outputs && c->frames_every > 0) {
        char fdir[1200];
        snprintf(fdir, sizeof fdir, "%s/frames", r->dir);
        if (app_io_mkdirs(fdir, err, sizeof err) != APP_IO_OK) {
            fprintf(stderr, "topopt: %s\n", err);
            return APP_EXIT_FAILED;
        }
    }
    return APP_EXIT_OK;
}

/* Solve from r->theta (the result comes back there), then settle what the final result.h5
 * keeps: nothing of the solver for a finished run (unless outputs.keep_state), the final
 * state with keep_state, and for an interrupted run the checkpoint the monitor took, whose
 * iterate becomes r->theta. */
static int run_optimize(run_ctx *r)
{
    memset(&r->info, 0, sizeof r->info);
    double t0 = app_now();
    r->ck_last = t0;
    ncvx_status st = ncvx_solve(r->sv, r->theta, &r->info);
    r->elapsed = app_now() - t0 + r->t_offset;
    if (st != NCVX_OK) {
        fprintf(stderr, "topopt: solver failed: %s\n", ncvx_status_str(st));
        return APP_EXIT_FAILED;
    }
    if (r->monitor_failed) {
        fprintf(stderr, "topopt: %s\n", r->err);
        return APP_EXIT_FAILED;
    }
    r->interrupted = r->halted_by_signal;
    if (!r->interrupted && !r->c->keep_state) {
        /* a finished run: the result without the solver state (outputs.keep_state keeps it) */
        r->have_ck = 0;
    } else if (!r->interrupted) {
        /* the final state: a later --resume continues from here (e.g. with a larger budget) */
        ncvx_state_export(r->sv, r->state, r->state_size);
        memcpy(r->theta_ck, r->theta, sizeof(double) * (size_t)r->n);
        r->ck_iter = r->info.iters;
        r->ck_evals = r->info.evals;
        r->ck_rows = r->hist.n_rows;
        r->have_ck = 1;
    } else {
        /* continue from the checkpoint taken in the monitor (the iterate it saw) */
        memcpy(r->theta, r->theta_ck, sizeof(double) * (size_t)r->n);
    }
    r->t_offset = r->elapsed;
    return APP_EXIT_OK;
}

/* The final design: the output set (unless no_outputs), the summary line, the resume hint of
 * an interrupted run, and res. APP_EXIT_OK, or APP_EXIT_FAILED when interrupted. */
static int run_publish(run_ctx *r, app_run_result *res)
{
    const app_config *c = r->c;
    const app_run_opts *o = r->o;
    const ncvx_info *info = &r->info;
    app_chain_fields fl;
    if (app_chain_fields_at(r->ch, r->theta, &fl)) {
        fprintf(stderr, "topopt: evaluation of the final design failed\n");
        return APP_EXIT_FAILED;
    }
    double comp = fl.compliance, vol = fl.volume;
    double viol = info->viol_ineq + info->viol_eq;
    if (!o->no_outputs && write_outputs(r, r->theta, comp, info->term, r->interrupted, 1)) {
        fprintf(stderr, "topopt: %s\n", r->err);
        return APP_EXIT_FAILED;
    }
    fprintf(r->log,
            "%s: compliance %.6g  volume %.4f  grey %.1f %%  violation %.2e  evaluations %ld  "
            "iterations %d  time %.2f s  (%s: %s)%s%s\n",
            c->name, comp, vol, 100 * fl.grey, viol, info->evals, info->iters, r->elapsed,
            r->converged ? "converged" : status_text(info->term, r->interrupted),
            r->converged ? "largest variable change below budget.change_tol"
                         : (info->term_msg ? info->term_msg : ""),
            o->no_outputs ? "" : "  -> ", o->no_outputs ? "" : r->dir);
    if (r->interrupted && !o->no_resume_hint)
        fprintf(r->log, "interrupted: continue with  topopt run %s --resume %s\n",
                c->path[0] ? c->path : "CONFIG", r->dir);
    if (res) {
        res->compliance = comp;
        res->volume = vol;
        res->grey = fl.grey;
        res->violation = viol;
        res->evals = info->evals;
        res->iters = info->iters;
        res->time = r->elapsed;
        res->term = info->term;
        res->interrupted = r->interrupted;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : r->dir);
    }
    return r->interrupted ? APP_EXIT_FAILED : APP_EXIT_OK;
}

static void run_free(run_ctx *r)
{
    ncvx_destroy(r->sv);
    app_chain_destroy(r->ch);
    app_history_free(&r->hist);
    app_result_free(&r->prev);
    free(r->state);
    free(r->theta_ck);
    free(r->x_prev);
    free(r->identity);
    free(r->theta);
}

int app_run(const app_config *c, const app_run_opts *o, app_run_result *res)
{
    /* a stop request stays: the suite runs no task after one */
    app_threads_apply(c->threads, c->width * c->height, NULL);
    if (c->strategy != APP_STRATEGY_SINGLE) return app_strategy_run(c, o, res);
    run_ctx r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.o = o;
    r.log = o->log ? o->log : stdout;
    int rc = run_build(&r);
    if (rc == APP_EXIT_OK) rc = run_load(&r);
    if (rc == APP_EXIT_OK) rc = run_setup_solver(&r);
    if (rc == APP_EXIT_OK) rc = run_prepare_outputs(&r);
    if (rc == APP_EXIT_OK) rc = run_optimize(&r);
    if (rc == APP_EXIT_OK) rc = run_publish(&r, res);
    run_free(&r);
    return rc;
}
