// app/run.h: one optimization run (chain + solver + outputs) and the benchmark-suite runner
#ifndef APP_RUN_H
#define APP_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "chain.h"
#include "config.h"
#include "export.h"

/** Exit codes of the program. */
enum { APP_EXIT_OK = 0, APP_EXIT_FAILED = 1, APP_EXIT_USAGE = 2 };

/** Options of `topopt run` beyond the config. */
typedef struct {
    const char *resume_dir; ///< continue from DIR/result.h5 (NULL = fresh run)
    int quiet;              ///< no iteration table, only the summary line (and errors)
    int no_outputs;         ///< 1 = write nothing (tests, suite timing)
    FILE *log;              ///< progress output (NULL = stdout)
    int no_resume_hint;     ///< 1 = an interrupted run does not print how to resume it (the
                            ///< suite says how for all its tasks)
    int halt_after;         ///< > 0: behave as if SIGINT arrived after this iteration (tests);
                            ///< a strategy counts the iterations of all its phases (the
                            ///< history's iteration column) and also stops at the start of
                            ///< a trial or level whose first iteration is at or past it
    /** A strategy's pixel branch (which no seed changes) is taken from this folder when a run
     *  with another seed put it there, and put there when this run makes it (the suite:
     *  OUT/<problem>/<method>); NULL = none. */
    const char *pixel_cache_dir;
} app_run_opts;

/** What a finished run reports (also written into result.h5). */
typedef struct {
    double compliance;  ///< final compliance (unnormalized, summed over load cases)
    double volume;      ///< mean physical density over designable elements
    double grey;        ///< grey fraction of the final design (app_grey_fraction), NaN if unknown
    double violation;   ///< total constraint violation at the final point
    long evals;         ///< function evaluations
    int iters;          ///< solver iterations
    double time;        ///< wall seconds of the solve
    int term;           ///< ncvx_term
    int interrupted;    ///< 1 if stopped by SIGINT/SIGTERM
    char out_dir[1024]; ///< where the outputs went ("" if none)
} app_run_result;

/** The solver settings of a run of c: c->solver (method, budget, print frequency) with the
 *  run's log and print level from o, and the seed rule (a nonzero config seed also seeds
 *  the solver's random directions). The one place where a run's ncvx_settings are made. */
void app_run_solver_settings(const app_config *c, const app_run_opts *o, ncvx_settings *s);

/** The folder a run of c with options o writes: o->resume_dir, else c->out_dir, else
 *  results/<name>. */
void app_run_dir(const app_config *c, const app_run_opts *o, char *dir, size_t len);

/** Keep a second process off the folder dir that a `topopt run` is about to write (created
 *  first unless it is a folder to resume): takes dir/run.lock (app_io_lock) and checks that
 *  no suite task runs there (dir/task.lock). Returns the descriptor to hold until the run
 *  ends, -1 where no lock can be taken (the run goes on unguarded), or APP_IO_LOCK_BUSY with
 *  the message on stderr (another process writes dir: the run must not start). */
int app_run_lock_dir(const char *dir, int resume);

/** Run the optimization described by c. Returns APP_EXIT_OK, APP_EXIT_FAILED (run failed, the
 *  message is on stderr) or APP_EXIT_USAGE (bad resume directory). res may be NULL. */
int app_run(const app_config *c, const app_run_opts *o, app_run_result *res);

/** Write DIR/design.png, history.csv and result.h5 of the design fields fl as one set: each
 *  is first written completely as DIR/<name>.new, then all are renamed into place with
 *  result.h5 last (the commit point that --resume, render and the suite read), so a fault
 *  leaves the previous set or none, never a mixed one. res carries the run-specific fields
 *  (theta, status, method, identity, checkpoint); the fields of fl, the history, the config
 *  text and the version are filled in here. Returns 0, or 1 with the message in err. */
int app_outputs_publish(const char *dir, const app_config *c, const app_chain_fields *fl,
                        const app_history *hist, app_result *res, char *err, size_t len);

/** Kinds of checkpoint that result.h5 holds (in its opaque checkpoint section). */
typedef enum {
    APP_CK_SINGLE = 0,  ///< app_run: counters iteration, evaluations, rows, n, n_ineq, n_eq
    APP_CK_STRATEGY = 1 ///< app_strategy_run: counters[0] == APP_CK_STRATEGY_TAG
} app_ck_kind;

/** First counter of a strategy checkpoint ("STRATCK1"); a single run's first counter is its
 *  iteration, far below it. */
#define APP_CK_STRATEGY_TAG INT64_C(0x5354524154434B31)

/** The kind of checkpoint k (k->present). */
app_ck_kind app_run_checkpoint_kind(const app_checkpoint *k);

/** The identity of c that result files carry (app_config_identity) and its FNV-1a 64 hash.
 *  *keys is malloc'd (free it). Returns 0, or 1 with the message on stderr. */
int app_run_identity(const app_config *c, char **keys, uint64_t *hash);

/** --resume: read DIR/result.h5 into *prev (release with app_result_free, also on failure)
 *  and check, before any work, that it holds a checkpoint of this kind, of the config whose
 *  identity is keys/hash (a differing key is named), on c's grid. path[len] receives the
 *  file's path. Returns APP_EXIT_OK, or APP_EXIT_USAGE with the reason on stderr. */
int app_run_checkpoint_open(const char *dir, const app_config *c, const char *keys, uint64_t hash,
                            app_ck_kind kind, app_result *prev, char *path, size_t len);

/** Append the first rows of from to h (the history up to a checkpoint); the columns must
 *  match. Returns 0, or 1 (columns differ, rows out of range, out of memory). */
int app_run_history_restore(app_history *h, const app_history *from, int rows);

/** The bit pattern of d, and back: checkpoint words keep doubles exactly. */
uint64_t app_run_dbits(double d);
double app_run_bitsd(uint64_t u);

/** 1 when a run's monitor should halt and checkpoint at iteration iter: SIGINT/SIGTERM
 *  arrived (app_run_install_signals) or iter >= o->halt_after > 0. */
int app_run_halt_due(const app_run_opts *o, long iter);

/** 1 when a periodic checkpoint is due after iteration iter (> 0): every
 *  outputs.checkpoint_every iterations, or once outputs.checkpoint_seconds of wall time, and at
 *  least 50 times the time the last checkpoint took to write (cost, seconds), have passed since
 *  it ended at `last` (app_now's clock), so that checkpoints by time take at most 2 % of a run
 *  (a 256 x 256 CNN state is over 1 GB). */
int app_run_checkpoint_due(const app_config *c, long iter, double last, double cost);

/** Install SIGINT/SIGTERM handlers that make the running solve halt and checkpoint. */
void app_run_install_signals(void);

/** 1 once SIGINT/SIGTERM arrived (handlers of app_run_install_signals). */
int app_run_stop_requested(void);

/** Seconds on a monotonic clock (for wall times). */
double app_now(void);

/** Options of `topopt suite`. */
typedef struct {
    const char *filter;     ///< substring of the problem names (NULL = all)
    int steps;              ///< evaluation budget per problem (default 1000)
    int jobs;               ///< parallel processes (default 1)
    const char *out_dir;    ///< default results/suite
    int small_only;         ///< 1 = only the paper's 62 small problems
    int large_only;         ///< 1 = only the paper's 54 large problems
    int report;             ///< 1 = run nothing: write the summary of the tasks OUT holds
    const char *bench_path; ///< problems.json (NULL = app_benchmarks_path())
    const char *seeds;      ///< seeds as ranges and lists, "0-9", "0,3,7-9" (NULL = seed 0)
    const char *methods;    ///< comma-separated methods (NULL = cnn-lbfgs)
    int resume;             ///< 1 = keep the problems OUT already holds a finished row of
    int threads;            ///< threads of the whole suite, divided among the jobs (0 = auto)
    double rank_timeout;    ///< MPI: seconds of silence after which a rank is taken for dead
                            ///< and its task goes to another rank (0 = 120)
    double report_every;    ///< while tasks run (serial and --jobs), rewrite the report at
                            ///< most every this many seconds (0 = 300, < 0 = only at the end)
    int quiet;
    int n_sets;        ///< config overrides of every task (key=value, as `run --set`)
    char *const *sets; ///< n_sets strings; --resume keeps only rows made with the same ones
    /** --import: n_imports paths of tasks.csv files of other suite runs; their ok rows of the
     *  same budget and overrides count as finished tasks of this suite (never run again). */
    int n_imports;
    char *const *imports;
} app_suite_opts;

/** Run the suite: one task per problem x method x seed, each into OUT/<problem>/<method>/
 *  seed<k>/ (result files and suite_row.txt), in o->jobs forked workers, or as an MPI task farm
 *  when started by mpirun with several ranks. Writes OUT/summary.csv, summary.md, tasks.csv,
 *  summary.png and gallery.png. Returns an exit code. */
int app_suite(const app_suite_opts *o);

/** The first evaluation count in DIR/history.csv (columns found by name: evaluations, objective,
 *  violation, phase) at which an iterate with violation <= 1e-6 has an objective at or below
 *  target; -1 if there is none or no readable history. With a phase column, only rows of the
 *  neural phase (1) and of the last level of each branch (the largest phase below 10, the largest
 *  from 10) count: a strategy's earlier pixel levels run at another filter radius or SIMP
 *  exponent. The suite's "evaluations to best-of-4". */
long app_suite_evals_to_reach(const char *dir, double target);

/** 1 if the suite options o select problem b (--filter, --small, --large). */
int app_suite_selects(const app_suite_opts *o, const app_benchmark *b);

/** Print the suite's method names, comma-separated, to f (the one list of them). */
void app_suite_print_methods(FILE *f);

#endif
