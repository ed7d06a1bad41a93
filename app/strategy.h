// app/strategy.h: design strategies that chain several solver runs under one evaluation budget
#ifndef APP_STRATEGY_H
#define APP_STRATEGY_H

#include "config.h"
#include "run.h"

/** Outcome of each phase of a strategy run (for tests and reports). */
typedef struct {
    double neural_compliance; ///< compliance of the neural phase's design (its best point)
    double neural_volume;     ///< its mean physical density
    long neural_evals;        ///< FE solves of the neural phase (with the hand-over evaluation)
    long polish_evals;        ///< FE solves of the polish phase
    long fem_solves;          ///< FE solves counted at the solve, both phases, output excluded
    int trials;               ///< neural trials run (strategy.neural_restarts unless interrupted)
    int best_trial;           ///< the one that went on (0-based)
    double trial_compliance[16]; ///< the best compliance of each of the first 16 trials
    int trial_first_iter[16];    ///< history iteration of each trial's first row (of those run)
    /* with strategy.pixel_share > 0 (the fields above are the neural branch's) */
    int branch_won;              ///< the reported branch: 0 neural-polish, 1 pixel
    double branch_compliance[2]; ///< each branch's final design
    long branch_evals[2];        ///< each branch's FE solves
} app_strategy_info;

/** Run the strategy c->strategy (not APP_STRATEGY_SINGLE; app_run dispatches here).
 *
 *  neural-polish: phase 1 runs c's method on c's parameterization with at most
 *  floor(strategy.neural_fraction * budget.evaluations) FE solves (the hand-over included),
 * split evenly among strategy.neural_restarts trials from different initializations (trial 0
 * with the run's seed); the best trial's (least infeasible, then lowest compliance) best point's
 * raw density (before the filter) becomes the start of phase 2, a pixel run of
 * strategy.polish_method (density map pixel, the same filter, projection, penalty and constraints,
 * volume <= volfrac explicit) with every remaining FE solve of budget.evaluations. The polish
 * minimizes the compliance divided by the neural design's and keeps its best feasible point, so
 * the result is never above a feasible neural design. Every FE solve counts (line-search trials,
 * the normalization and the hand-over evaluation); only the evaluation that writes the outputs does
 * not, as in a single run. Writes result.h5 (the polished pixels as theta, the history of all
 * phases with a "phase" column), design.png and history.csv.
 *
 * Checkpoints: on SIGINT/SIGTERM (or o->halt_after), every outputs.checkpoint_every iterations
 * (counted over the phases) and, with outputs.keep_state, at the end, result.h5 holds a
 * checkpoint of kind APP_CK_STRATEGY (app_run_checkpoint_kind): the phase, trial or level, the
 * FE solves counted so far, the running phase's solver state and objective scale, the kept
 * trial's parameters (checkpoint/extra) and compliance, the trial compliances and the history;
 * its design and theta are the running phase's point (or, at the start of a trial, the kept
 * trial's). A stop request between phases checkpoints the start of the next trial or level.
 * The evaluation of a checkpoint's design does not count. o->resume_dir continues from
 * DIR/result.h5, checked before anything is solved (APP_EXIT_USAGE: damaged, another config,
 * a single run's checkpoint), and ends bit for bit where the uninterrupted run ends; a
 * keep_state checkpoint continues the last level's solver with what a larger budget leaves.
 * An interrupted run returns APP_EXIT_FAILED. Returns an exit code like app_run; info may be
 * NULL. */
int app_strategy_run_info(const app_config *c, const app_run_opts *o, app_run_result *res,
                          app_strategy_info *info);

/** strategy.pixel_share > 0 (app_strategy_run_info dispatches here): two branches under the one
 *  budget, each a strategy run of its own in its folder DIR/neural and DIR/pixel (with its
 *  checkpoints): the neural-polish run of c with the budget's other share, then a continuation
 *  run of pixels (polish_method from the uniform start, filter radius from
 *  strategy.pixel_r_factor x filter.radius down to filter.radius in strategy.pixel_levels levels)
 *  with round(pixel_share x budget.evaluations). Both designs are evaluated through the pixel
 *  chain of the final settings (output evaluations, not counted: each branch solved its design
 *  as it ran); the better by app_strategy_better is reported in DIR
 *  (theta = its pixels; the history of both, the pixel branch's rows after the neural ones with
 *  iterations, evaluations and times continued and phases + 10). o->resume_dir continues: a
 *  finished branch of the same config is kept, a branch with a checkpoint continues from it;
 *  o->halt_after counts the iterations of both (the joined history's). An interruption in a
 *  branch returns its checkpoint's figures (interrupted = 1). */
int app_strategy_branches_run(const app_config *c, const app_run_opts *o, app_run_result *res,
                              app_strategy_info *info);

/** A design whose constraint violation (the sum of the positive parts) is at most this counts as
 *  feasible when a strategy compares designs: MMA ends its runs with violations of about 1e-8,
 *  which change a compliance by far less than the differences the choice is about. */
#define APP_STRATEGY_FEASIBLE 1e-6

/** 1 if the design (f, v) (compliance, violation) is better than (bf, bv): between two feasible
 *  ones (APP_STRATEGY_FEASIBLE) the lower compliance, a feasible one before an infeasible one,
 *  between infeasible ones the less infeasible. NaN violations count as infeasible. */
int app_strategy_better(double f, double v, double bf, double bv);

/** 1 if DIR holds a branch folder of app_strategy_branches_run with a result file (finished or
 *  a checkpoint); *evals gets the evaluations of their histories. */
int app_strategy_resumable(const char *dir, long *evals);

/** The config of a pixel polish of c: pixels of the same problem, filter, projection, penalty
 *  and constraints (volume <= volfrac explicit unless equal), strategy.polish_method with the
 *  schema's default settings under c's budget. Release with app_config_free. 0, or -1 (out of
 *  memory). */
int app_strategy_polish_config(const app_config *c, app_config *p);

/** app_strategy_run_info without the phase details. */
int app_strategy_run(const app_config *c, const app_run_opts *o, app_run_result *res);

#endif
