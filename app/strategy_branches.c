// app/strategy_branches.c: the neural-polish strategy beside a pixel branch (filter-radius
// continuation from the uniform start) under one evaluation budget; the lower design is reported
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "chain.h"
#include "export.h"
#include "strategy.h"

/* Branch 0 is the neural-polish run, branch 1 the pixel run; each in its own folder under the
 * run's, with its own checkpoints. */
enum { BR_NEURAL = 0, BR_PIXEL = 1, BR_N = 2 };
static const char *const BRANCH_NAME[BR_N] = {"neural", "pixel"};
/* The pixel branch's phases in the joined history: its own (2 + level) plus this. */
#define PIXEL_PHASE_OFFSET 10

/* FE solves of the pixel branch: its share of the budget. */
static long pixel_evals(const app_config *c)
{
    return lround(c->strategy_pixel_share * (double)c->solver.max_evals);
}

/* The config of branch b of c, writing into dir/<name>: the neural branch is c without the
 * pixel branch and with the rest of the budget; the pixel branch is a continuation run of the
 * polish method from the uniform start, the filter radius lowered from pixel_r_factor x
 * filter.radius to filter.radius in pixel_levels levels, with its share of the budget. */
static int branch_config(const app_config *c, int b, const char *dir, app_config *bc)
{
    if (app_config_copy(bc, c)) return -1;
    long ne = pixel_evals(c);
    int ni = (int)lround(c->strategy_pixel_share * (double)c->solver.maxit);
    bc->strategy_pixel_share = 0;
    if (b == BR_NEURAL) {
        bc->solver.max_evals = c->solver.max_evals - ne;
        bc->solver.maxit = c->solver.maxit - ni;
    } else {
        bc->strategy = APP_STRATEGY_CONTINUATION;
        bc->strategy_p_start = 0;
        bc->strategy_r_start = c->strategy_pixel_r_factor * c->filter_radius;
        bc->strategy_p_levels = c->strategy_pixel_levels;
        bc->solver.max_evals = ne;
        bc->solver.maxit = ni > 1 ? ni : 1;
        /* it draws no random numbers (uniform start, MMA): its identity leaves the seed out, so
         * that runs of one problem with other seeds can share it (o->pixel_cache_dir) */
        bc->seed = 0;
    }
    int len = snprintf(bc->out_dir, sizeof bc->out_dir, "%s/%s", dir, BRANCH_NAME[b]);
    if (len < 0 || (size_t)len >= sizeof bc->out_dir) {
        app_config_free(bc);
        return 1;
    }
    snprintf(bc->name, sizeof bc->name, "%.100s/%s", c->name, BRANCH_NAME[b]);
    return 0;
}

/* What the folder of a branch holds. */
typedef enum { BS_NONE, BS_RESUMABLE, BS_FINISHED, BS_OTHER } branch_state;

/* The state of branch folder bdir for config bc: a finished result of bc (r keeps it), a
 * checkpoint of bc to continue, a result of another config (or a damaged one: why gets the
 * reason), or nothing. */
static branch_state branch_read(const char *bdir, const app_config *bc, app_result *r, char *why,
                                size_t len)
{
    char p[1200], *keys = NULL;
    uint64_t hash = 0;
    snprintf(p, sizeof p, "%s/result.h5", bdir);
    memset(r, 0, sizeof *r);
    if (access(p, F_OK) != 0) return BS_NONE;
    if (app_run_identity(bc, &keys, &hash)) {
        snprintf(why, len, "out of memory");
        return BS_OTHER;
    }
    free(keys);
    if (app_h5_read(p, r, why, len) != APP_IO_OK) return BS_OTHER;
    if (r->config_hash != hash || !r->status) {
        snprintf(why, len, "%s: made with another config", p);
        return BS_OTHER;
    }
    if (!strcmp(r->status, "running") || !strcmp(r->status, "interrupted")) {
        if (r->checkpoint.present) return BS_RESUMABLE;
    } else if (r->theta && r->history.n_rows > 0) {
        return BS_FINISHED;
    }
    snprintf(why, len, "%s: neither a checkpoint nor a finished result", p);
    return BS_OTHER;
}

int app_strategy_resumable(const char *dir, long *evals)
{
    int any = 0;
    *evals = 0;
    for (int b = 0; b < BR_N; b++) {
        char p[1200], err[1024];
        snprintf(p, sizeof p, "%s/%s/result.h5", dir, BRANCH_NAME[b]);
        if (access(p, F_OK) != 0) continue;
        app_result r;
        memset(&r, 0, sizeof r);
        if (app_h5_read(p, &r, err, sizeof err) == APP_IO_OK && r.history.n_rows > 0) {
            *evals += (long)r.history.evaluations[r.history.n_rows - 1];
            any = 1;
        }
        app_result_free(&r);
    }
    return any;
}

/* The files of a finished branch folder (result.h5 first: it decides whether one is there). */
static const char *const BRANCH_FILES[] = {"result.h5", "history.csv", "design.png"};
#define N_BRANCH_FILES ((int)(sizeof BRANCH_FILES / sizeof BRANCH_FILES[0]))

/* Copy the files of branch folder from into folder to (each atomically; files from lacks are
 * left out, but result.h5). Returns 0 or -1 with err. */
static int branch_copy(const char *from, const char *to, char *err, size_t len)
{
    for (int i = 0; i < N_BRANCH_FILES; i++) {
        char a[1400], b[1400];
        snprintf(a, sizeof a, "%s/%s", from, BRANCH_FILES[i]);
        snprintf(b, sizeof b, "%s/%s", to, BRANCH_FILES[i]);
        if (i > 0 && access(a, F_OK) != 0) continue;
        if (app_io_copy_file(a, b, err, len) != APP_IO_OK) return -1;
    }
    return 0;
}

/* The shared pixel branch of o->pixel_cache_dir for branch config bc: the folder
 * ROOT/pixel-<hash of its identity and budget> (the identity leaves out the budget) and its
 * lock file. */
static int cache_paths(const char *root, const app_config *bc, char *dir, char *lock, size_t len)
{
    char *keys = NULL;
    uint64_t hash = 0;
    if (app_run_identity(bc, &keys, &hash)) return -1;
    free(keys);
    long budget[2] = {bc->solver.max_evals, bc->solver.maxit};
    hash = app_fnv1a64(hash, budget, sizeof budget);
    snprintf(dir, len, "%s/pixel-%016llx", root, (unsigned long long)hash);
    snprintf(lock, len, "%s/pixel-%016llx.lock", root, (unsigned long long)hash);
    return 0;
}

/* Put the finished branch folder bdir into the shared folder cdir: copied into a temporary
 * folder that is renamed into place, so that a reader sees all of it or none. */
static void cache_publish(const char *bdir, const char *cdir)
{
    char tmp[1300], err[1024];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", cdir, (long)getpid());
    if (app_io_mkdirs(tmp, err, sizeof err) == APP_IO_OK &&
        !branch_copy(bdir, tmp, err, sizeof err) && rename(tmp, cdir) == 0)
        return;
    for (int i = 0; i < N_BRANCH_FILES; i++) { /* another run put it there first, or a fault */
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", tmp, BRANCH_FILES[i]);
        remove(p);
    }
    rmdir(tmp);
}

/* FE solves of a finished branch: its run's count, or (kept from an earlier call) the last
 * evaluation count of its history. */
static long branch_evals(const app_run_result *rr, const app_result *br)
{
    const app_history *h = &br->history;
    if (rr->evals > 0) return rr->evals;
    return h->n_rows > 0 ? (long)h->evaluations[h->n_rows - 1] : 0;
}

/* The compliance and constraint violation of a branch's design x through the final pixel chain
 * ch: one output evaluation, not counted (each branch solved this design as it ran it).
 * Returns 0 or 1. */
static int branch_eval(app_chain *ch, const double *x, double *comp, double *viol)
{
    int ni = app_chain_num_ineq(ch), ne = app_chain_num_eq(ch);
    double *cv = malloc(sizeof(double) * (size_t)(ni + ne + 1));
    if (!cv || app_chain_eval(x, comp, NULL, cv, NULL, cv + ni, NULL, ch)) {
        free(cv);
        return 1;
    }
    *viol = 0;
    for (int i = 0; i < ni; i++)
        *viol += cv[i] > 0 ? cv[i] : 0;
    for (int i = 0; i < ne; i++)
        *viol += fabs(cv[ni + i]);
    free(cv);
    return 0;
}

/* The history of both branches as one: the pixel branch's rows after the neural branch's, its
 * iterations, evaluations and times continuing theirs, its phases offset by
 * PIXEL_PHASE_OFFSET. Returns 0 or 1 (columns differ, out of memory). */
static int join_histories(app_history *h, const app_history *a, const app_history *b)
{
    static const char *const extra_names[2] = {"phase", "stationarity"};
    if (a->n_extra != 2 || b->n_extra != 2 || a->n_constraints || b->n_constraints ||
        app_history_init(h, 0, NULL, 2, extra_names, a->n_rows + b->n_rows) != APP_IO_OK)
        return 1;
    for (int i = 0; i < a->n_rows; i++)
        if (app_history_append(h, a->iteration[i], a->evaluations[i], a->objective[i], NULL,
                               a->violation[i], a->step[i], a->time[i], a->extra + 2 * i))
            return 1;
    int64_t it0 = a->n_rows ? a->iteration[a->n_rows - 1] + 1 : 0;
    int64_t ev0 = a->n_rows ? a->evaluations[a->n_rows - 1] : 0;
    double t0 = a->n_rows ? a->time[a->n_rows - 1] : 0;
    for (int i = 0; i < b->n_rows; i++) {
        double extra[2] = {b->extra[2 * i] + PIXEL_PHASE_OFFSET, b->extra[2 * i + 1]};
        if (app_history_append(h, it0 + b->iteration[i], ev0 + b->evaluations[i], b->objective[i],
                               NULL, b->violation[i], b->step[i], t0 + b->time[i], extra))
            return 1;
    }
    return 0;
}

int app_strategy_branches_run(const app_config *c, const app_run_opts *o, app_run_result *res,
                              app_strategy_info *info)
{
    FILE *log = o->log ? o->log : stdout;
    char dir[1024], err[2048];
    if (o->resume_dir)
        snprintf(dir, sizeof dir, "%s", o->resume_dir);
    else if (c->out_dir[0])
        snprintf(dir, sizeof dir, "%s", c->out_dir);
    else
        snprintf(dir, sizeof dir, "results/%s", c->name);
    long ne = pixel_evals(c);
    if (c->strategy != APP_STRATEGY_NEURAL_POLISH) {
        fprintf(stderr,
                "topopt: strategy.pixel_share %g: a pixel branch runs beside strategy.kind "
                "neural-polish only (here %s; 0 = no pixel branch)\n",
                c->strategy_pixel_share, app_name_str(&app_strategy_kind_names, c->strategy));
        return APP_EXIT_USAGE;
    }
    if (ne < 5 + 2 * c->strategy_pixel_levels || c->solver.max_evals - ne < 11) {
        fprintf(stderr,
                "topopt: strategy.pixel_share %g of budget.evaluations %ld: the pixel branch needs "
                "at least %d evaluations (5 + 2 x strategy.pixel_levels), the neural branch at "
                "least 11\n",
                c->strategy_pixel_share, c->solver.max_evals, 5 + 2 * c->strategy_pixel_levels);
        return APP_EXIT_USAGE;
    }
    int rc = APP_EXIT_FAILED;
    app_config bc[BR_N];
    app_result br[BR_N];
    app_run_result rr[BR_N];
    app_strategy_info bi;
    memset(bc, 0, sizeof bc);
    memset(br, 0, sizeof br);
    memset(rr, 0, sizeof rr);
    memset(&bi, 0, sizeof bi);
    app_chain *ch = NULL;
    app_history hist;
    memset(&hist, 0, sizeof hist);
    int cache_fd = -1; /* the lock of the shared pixel branch while this run takes or makes it */
    for (int b = 0; b < BR_N; b++) {
        int bad = branch_config(c, b, dir, &bc[b]);
        if (bad) {
            if (bad < 0)
                fprintf(stderr, "topopt: out of memory\n");
            else
                fprintf(stderr, "topopt: output folder name too long: %s\n", dir);
            for (int k = 0; k < b; k++)
                app_config_free(&bc[k]);
            return APP_EXIT_FAILED;
        }
    }
    if (!o->quiet) {
        fprintf(log,
                "%s: neural-polish branch (%ld evaluations) beside a pixel branch (%ld: pixel "
                "%s, filter radius %g .. %g in %d levels); the lower design is reported -> %s\n",
                c->name, bc[BR_NEURAL].solver.max_evals, ne,
                app_name_str(&app_polish_method_names, c->strategy_polish),
                bc[BR_PIXEL].strategy_r_start, c->filter_radius, c->strategy_pixel_levels,
                o->no_outputs ? "(no outputs)" : dir);
        fflush(log);
    }
    /* --resume: both branch folders are checked before anything is solved; a finished branch
     * is kept, one with a checkpoint continues, one not begun starts */
    branch_state st[BR_N] = {BS_NONE, BS_NONE};
    if (o->resume_dir) {
        for (int b = 0; b < BR_N; b++) {
            char bdir[1100];
            snprintf(bdir, sizeof bdir, "%s/%s", dir, BRANCH_NAME[b]);
            st[b] = branch_read(bdir, &bc[b], &br[b], err, sizeof err);
            if (st[b] == BS_OTHER) {
                fprintf(stderr, "topopt: --resume: %s\n", err);
                rc = APP_EXIT_USAGE;
                goto done;
            }
        }
        if (st[BR_NEURAL] == BS_NONE) {
            fprintf(stderr, "topopt: --resume: %s/%s holds no checkpoint of this run\n", dir,
                    BRANCH_NAME[BR_NEURAL]);
            rc = APP_EXIT_USAGE;
            goto done;
        }
    }
    long it_before = 0;  /* history iterations of the neural branch (halt_after counts on) */
    long done_evals = 0; /* FE solves of the finished neural branch */
    char cdir[1100] = "", clock[1100] = "";
    int taken = 0; /* the pixel branch came from the shared folder (no time spent on it here) */
    for (int b = 0; b < BR_N; b++) {
        char bdir[1100];
        snprintf(bdir, sizeof bdir, "%s/%s", dir, BRANCH_NAME[b]);
        /* the pixel branch of another seed of this problem, if it is in the shared folder (one
         * run at a time makes it: the others wait for it rather than make it too) */
        if (b == BR_PIXEL && st[b] != BS_FINISHED && o->pixel_cache_dir && !o->no_outputs &&
            !cache_paths(o->pixel_cache_dir, &bc[b], cdir, clock, sizeof cdir)) {
            cache_fd = open(clock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
            while (cache_fd >= 0 && flock(cache_fd, LOCK_EX) != 0 && errno == EINTR &&
                   !app_run_stop_requested()) {
            }
            app_result cr;
            if (branch_read(cdir, &bc[b], &cr, err, sizeof err) == BS_FINISHED) {
                if (app_io_mkdirs(bdir, err, sizeof err) != APP_IO_OK ||
                    branch_copy(cdir, bdir, err, sizeof err)) {
                    app_result_free(&cr);
                    fprintf(stderr, "topopt: %s\n", err);
                    goto done;
                }
                app_result_free(&br[b]);
                br[b] = cr;
                st[b] = BS_FINISHED;
                taken = 1;
                if (!o->quiet)
                    fprintf(log, "%s branch: the same for every seed, taken from %s\n",
                            BRANCH_NAME[b], cdir);
                close(cache_fd);
                cache_fd = -1;
            } else {
                app_result_free(&cr);
            }
        }
        if (st[b] != BS_FINISHED) {
            app_result_free(&br[b]);
            app_run_opts bo = *o;
            bo.resume_dir = st[b] == BS_RESUMABLE ? bdir : NULL;
            bo.no_resume_hint = 1;
            if (o->halt_after > 0)
                bo.halt_after = o->halt_after > it_before ? (int)(o->halt_after - it_before) : 1;
            int brc = app_strategy_run_info(&bc[b], &bo, &rr[b], b == BR_NEURAL ? &bi : NULL);
            if (rr[b].interrupted) {
                if (res) {
                    *res = rr[b];
                    res->evals += b == BR_PIXEL ? done_evals : 0;
                    snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : dir);
                }
                if (!o->no_outputs && !o->no_resume_hint)
                    fprintf(log, "interrupted: continue with  topopt run %s --resume %s\n",
                            c->path[0] ? c->path : "CONFIG", dir);
                if (info) *info = bi;
                goto done;
            }
            if (brc != APP_EXIT_OK) {
                rc = brc;
                goto done;
            }
            if (!o->no_outputs) {
                char p[1200];
                snprintf(p, sizeof p, "%s/result.h5", bdir);
                if (app_h5_read(p, &br[b], err, sizeof err) != APP_IO_OK) {
                    fprintf(stderr, "topopt: %s\n", err);
                    goto done;
                }
                if (b == BR_PIXEL && cdir[0]) {
                    cache_publish(bdir, cdir);
                    if (cache_fd >= 0) close(cache_fd);
                    cache_fd = -1;
                }
            }
        } else if (!o->quiet) {
            fprintf(log, "%s branch: finished in %s (compliance %.6g)\n", BRANCH_NAME[b], bdir,
                    br[b].compliance);
        }
        const app_history *h = &br[b].history;
        if (h->n_rows > 0) it_before = (long)h->iteration[h->n_rows - 1] + 1;
        done_evals = branch_evals(&rr[b], &br[b]);
    }

    /* the choice (app_strategy_better): the lower compliance between feasible designs, else the
     * less infeasible; both through the pixel chain of the final settings */
    app_config pc;
    if (app_strategy_polish_config(c, &pc)) {
        fprintf(stderr, "topopt: out of memory\n");
        goto done;
    }
    int bad = app_chain_create(&ch, &pc, err, sizeof err);
    app_config_free(&pc);
    if (bad) {
        fprintf(stderr, "topopt: %s\n", err);
        goto done;
    }
    int win = BR_NEURAL;
    double comp[BR_N] = {0}, vol[BR_N] = {0}, viol[BR_N] = {0}, grey[BR_N] = {NAN, NAN};
    app_chain_fields fl;
    for (int b = 0; b < BR_N; b++) {
        if (o->no_outputs) { /* the runs' own figures */
            comp[b] = rr[b].compliance;
            vol[b] = rr[b].volume;
            viol[b] = rr[b].violation;
            grey[b] = rr[b].grey;
        } else if (br[b].n_params != (size_t)app_chain_num_params(ch) ||
                   branch_eval(ch, br[b].theta, &comp[b], &viol[b])) {
            fprintf(stderr, "topopt: the design of the %s branch cannot be evaluated\n",
                    BRANCH_NAME[b]);
            goto done;
        }
        if (!(viol[b] >= 0)) viol[b] = INFINITY;
    }
    if (app_strategy_better(comp[BR_PIXEL], viol[BR_PIXEL], comp[BR_NEURAL], viol[BR_NEURAL]))
        win = BR_PIXEL;
    long evals[BR_N];
    for (int b = 0; b < BR_N; b++)
        evals[b] = branch_evals(&rr[b], &br[b]);
    const char *status = "budget";
    if (!o->no_outputs) {
        if (join_histories(&hist, &br[BR_NEURAL].history, &br[BR_PIXEL].history)) {
            fprintf(stderr, "topopt: the branches' histories cannot be joined\n");
            goto done;
        }
        if (app_chain_fields_at(ch, br[win].theta, &fl)) {
            fprintf(stderr, "topopt: evaluation of the final design failed\n");
            goto done;
        }
        vol[win] = fl.volume;
        grey[win] = fl.grey;
        if (br[win].status) status = br[win].status;
        char *keys = NULL;
        uint64_t hash = 0;
        if (app_run_identity(c, &keys, &hash)) goto done;
        char method[96];
        snprintf(method, sizeof method, "neural-polish-%s+pixel",
                 app_name_str(&app_polish_method_names, c->strategy_polish));
        app_result out;
        memset(&out, 0, sizeof out);
        out.n_params = br[win].n_params;
        out.theta = br[win].theta;
        out.config_keys = keys;
        out.config_hash = hash;
        out.status_code = br[win].status_code;
        out.status = (char *)status;
        out.method = method;
        out.parameterization = (char *)"pixel";
        bad = app_outputs_publish(dir, c, &fl, &hist, &out, err, sizeof err);
        free(keys);
        if (bad) {
            fprintf(stderr, "topopt: %s\n", err);
            goto done;
        }
    }
    for (int b = 0; b < BR_N; b++)
        if (br[b].history.n_rows > 0 && rr[b].time == 0 && !(b == BR_PIXEL && taken))
            rr[b].time = br[b].history.time[br[b].history.n_rows - 1];
    int iters = hist.n_rows > 0 ? (int)hist.iteration[hist.n_rows - 1] : rr[0].iters + rr[1].iters;
    fprintf(log,
            "%s: compliance %.6g  volume %.4f  grey %.1f %%  violation %.2e  evaluations %ld  "
            "iterations %d  time %.2f s  (neural-polish beside pixels: the %s branch; neural "
            "%.6g, pixel %.6g)%s%s\n",
            c->name, comp[win], vol[win], 100 * grey[win], viol[win],
            evals[BR_NEURAL] + evals[BR_PIXEL], iters, rr[0].time + rr[1].time, BRANCH_NAME[win],
            comp[BR_NEURAL], comp[BR_PIXEL], o->no_outputs ? "" : "  -> ",
            o->no_outputs ? "" : dir);
    if (res) {
        memset(res, 0, sizeof *res);
        res->compliance = comp[win];
        res->volume = vol[win];
        res->grey = grey[win];
        res->violation = viol[win];
        res->evals = evals[BR_NEURAL] + evals[BR_PIXEL];
        res->iters = iters;
        res->time = rr[0].time + rr[1].time;
        res->term = rr[win].term;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", o->no_outputs ? "" : dir);
    }
    if (info) {
        *info = bi;
        info->fem_solves = evals[BR_NEURAL] + evals[BR_PIXEL];
        info->branch_won = win;
        info->branch_compliance[0] = comp[0];
        info->branch_compliance[1] = comp[1];
        info->branch_evals[0] = evals[0];
        info->branch_evals[1] = evals[1];
    }
    rc = APP_EXIT_OK;
done:
    if (cache_fd >= 0) close(cache_fd);
    app_chain_destroy(ch);
    app_history_free(&hist);
    for (int b = 0; b < BR_N; b++) {
        app_result_free(&br[b]);
        app_config_free(&bc[b]);
    }
    return rc;
}
