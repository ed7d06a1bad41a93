// app/suite_mpi.h: the suite's MPI task farm (stubs that report "no MPI" when built without it)
#ifndef APP_SUITE_MPI_H
#define APP_SUITE_MPI_H

/** If this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, or srun
 *  with PMI/PMIx) with more than one rank, initialize MPI, set *rank and *size and return 1.
 *  Otherwise return 0 (a launch with one rank initializes and finalizes MPI at once, so that
 *  the serial runner with forked workers keeps working), or -1 if MPI_Init failed (message on
 *  stderr). Built without MPI: always 0. */
int app_mpi_start(int *rank, int *size);

/** The largest of rc over all ranks (each rank learns whether any set-up failed). Built
 *  without MPI or not started by a launcher: rc. Collective. */
int app_mpi_agree(int rc);

/** Threads for each worker rank: the cores of this node divided by the worker ranks on it
 *  (ranks of MPI_COMM_TYPE_SHARED, without rank 0, which only coordinates), at least 1, and at
 *  most OPENBLAS_NUM_THREADS or OMP_NUM_THREADS if the environment sets them. Collective. */
int app_mpi_threads_per_rank(void);

/** Set the BLAS and OpenMP threads of this process. */
void app_mpi_set_threads(int n);

/** What the farm runs, and how it reports. */
typedef struct {
    /** Run task (in a forked child on a worker rank); again = 1 when the task was handed out
     *  before to a rank that died (continue from its checkpoint). Returns 0 when the task ended,
     *  1 when it stopped early on a stop request (its checkpoint written). */
    int (*run)(int task, int again, void *user);
    /** The task's name for messages (may be NULL: the index only; used before the next call). */
    const char *(*name)(int task, void *user);
    /** Called on rank 0 for every task that ended normally (may be NULL). */
    void (*done)(int task, void *user);
    /** 1 once this process was asked to stop (SIGINT, SIGTERM); may be NULL. */
    int (*stopping)(void);
    void *user;
    /** Seconds of silence after which a worker rank is taken for dead (<= 0: 120). */
    double rank_timeout;
} app_mpi_tasks;

/** The farm. On rank 0, order[n] are task indices in dispatch order: rank 0 hands them out one
 *  at a time to the first rank that asks (dynamic scheduling) and returns when every other rank
 *  has been told to stop; rank 0 runs no task itself and waits with short sleeps, so that it
 *  costs no core. On the other ranks order and n are ignored: each runs every index it receives
 *  in a forked child process that calls tk->run and never MPI, so that a task that dies (a
 *  signal, the OOM killer) costs only itself: the rank reports it to rank 0 with its next
 *  request and goes on. Rank 0 prints one line on stderr per lost task and calls tk->done for
 *  every task that ended normally.
 *  While a task runs, its rank sends rank 0 a heartbeat every min(rank_timeout / 4, 10) s. A
 *  rank silent for rank_timeout seconds is taken for dead (its process or node died, and the
 *  launcher let the others go on: see app_mpi_ranks_survive): rank 0 says so on stderr and
 *  hands its task to the next rank that asks, with again = 1. Every rank then leaves without
 *  MPI_Finalize, which would wait for the dead one. Rank 0 beats to the workers that wait for
 *  the end; a worker that hears nothing from rank 0 for rank_timeout while it waits for it
 *  stops (returns -1) instead of waiting forever.
 *  A stop request (tk->stopping; SIGTERM from mpirun, from Slurm at the time limit, from
 *  scancel): a worker passes one SIGTERM to its running task's process (which stops with a
 *  checkpoint) and takes no other task; rank 0 hands out no other task once it got the request
 *  itself; the farm returns when every worker stopped.
 *  Returns, on rank 0, the number of tasks lost (process died, or no rank left to run them;
 *  not the tasks left undone by a stop request), on the other ranks 0; -1 on an MPI error.
 *  Collective. */
int app_mpi_farm(const int *order, int n, const app_mpi_tasks *tk);

/** Whether the launcher keeps the other ranks running when one dies: 1 for Open MPI's mpirun
 *  with `--mca orte_enable_recovery 1`, 0 for Open MPI without it (a rank that dies ends the
 *  job), -1 when unknown (not Open MPI: e.g. Slurm's srun, whose --no-kill does the same). */
int app_mpi_ranks_survive(void);

/** MPI_Finalize if app_mpi_start initialized MPI (no-op otherwise). */
void app_mpi_finish(void);

#endif
